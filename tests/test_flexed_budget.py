"""The flexed budget and the labour variance split (volume, efficiency, rate), worked out by hand."""
from __future__ import annotations

import json
import random
from datetime import date
from decimal import Decimal

import duckdb
import pytest

from kpi import cli, imports, metrics, store
from helpers import workbook


def test_the_issue_example_splits_into_volume_efficiency_and_rate():
    # Budget 100,000 contacts x 0.12 h x NT$300 = 3,600,000; actual 110,000 contacts, 14,080 h at NT$310 = 4,364,800.
    s = metrics.split_variance(3_600_000, 4_364_800, 110_000, "0.12", 14_080, 300, budget_contacts=100_000)
    assert s.flexed_budget == 3_960_000  # 110,000 x 0.12 x 300
    assert s.volume == 360_000  # 3,960,000 - 3,600,000
    assert s.efficiency == 264_000  # (14,080 - 13,200) x 300
    assert s.rate == 140_800  # 4,364,800 - 14,080 x 300
    assert s.variance == s.volume + s.efficiency + s.rate == 764_800
    assert s.volume_pct == pytest.approx(0.10)  # 110,000 / 100,000 - 1
    assert s.hours_per_contact == pytest.approx((0.12, 0.128))  # 14,080 / 110,000
    assert s.hourly_rate == pytest.approx((300, 310))


def test_the_parts_sum_to_the_variance_exactly_on_random_inputs():
    rng = random.Random(16)
    for _ in range(2000):
        budget = Decimal(rng.randrange(0, 10**9)) / 100  # cents too
        actual = Decimal(rng.randrange(0, 10**9)) / 100
        contacts = rng.randrange(1, 500_000)
        hours_per_contact = rng.uniform(0.001, 0.5)
        hours = rng.uniform(0, 100_000)
        rate = rng.uniform(150, 900)
        s = metrics.split_variance(budget, actual, contacts, hours_per_contact, hours, rate)
        assert s.volume + s.efficiency + s.rate == actual - budget  # Decimal: no float drift
        assert s.flexed_budget == s.flexed_budget.to_integral_value()  # whole NT$, rounded once


def db_with(budget_rows, driver_rows, contacts=()):
    con = duckdb.connect()
    store.migrate(con)
    for period, line, b, a in budget_rows:
        con.execute("INSERT INTO budget VALUES (?, 'OPS', ?, 'cost', ?, ?, 1, 1)", [period, line, b, a])
    for d in driver_rows:
        cols = ", ".join(d)
        con.execute(f"INSERT INTO budget_drivers ({cols}, cost_center, import_id, created_import_id) "
                    f"VALUES ({', '.join('?' * len(d))}, 'OPS', 1, 1)", list(d.values()))
    for i, (at, answered) in enumerate(contacts):
        con.execute("INSERT INTO contacts (contact_id, arrived_at, answered, direction, import_id, created_import_id) "
                    "VALUES (?, ?, ?, 'inbound', 1, 1)", [f"c{i}", at, answered])
    return con


# Overtime, two closed months and a third without an actual:
#   Jan: budget 1,000 contacts x 0.5 h x NT$400 = 200,000; actual 1,200 contacts (drivers), 660 h, cost 270,600.
#        flexed 1,200 x 0.5 x 400 = 240,000 -> volume +40,000; efficiency (660 - 600) x 400 = +24,000;
#        rate 270,600 - 264,000 = +6,600; total +70,600.
#   Feb: budget 400 h / 1,000 contacts = 0.4 h per contact x NT$400 = 160,000; actual contacts from the contacts
#        data: 3 answered of 4 -> flexed 3 x 0.4 x 400 = 480 -> volume -159,520;
#        actual 2 h, cost 850: efficiency (2 - 1.2) x 400 = +320; rate 850 - 800 = +50; total -159,150.
OT_BUDGET = [("2026-01-01", "加班費", 200_000, 270_600), ("2026-02-01", "加班費", 160_000, 850),
             ("2026-03-01", "加班費", 160_000, None)]
OT_DRIVERS = [
    {"period": "2026-01-01", "line": "加班費", "pay": "overtime", "budget_contacts": 1000, "budget_hours_per_contact": 0.5,
     "budget_rate": 400, "actual_contacts": 1200, "actual_hours": 660},
    {"period": "2026-02-01", "line": "加班費", "pay": "overtime", "budget_contacts": 1000, "budget_hours": 400,
     "budget_rate": 400, "actual_hours": 2},
    {"period": "2026-03-01", "line": "加班費", "pay": "overtime", "budget_contacts": 1000, "budget_hours": 400,
     "budget_rate": 400},
]
FEB_CONTACTS = [("2026-02-02 10:00", True), ("2026-02-03 10:00", True), ("2026-02-04 10:00", True),
                ("2026-02-05 10:00", False)]


def test_year_to_date_sums_the_months_and_equals_variance_ytd():
    con = db_with(OT_BUDGET, OT_DRIVERS, FEB_CONTACTS)
    report = metrics.budget_report(con, 2026)
    s = report.splits[("OPS", "加班費")]
    assert s.flexed_budget == 240_000 + 480
    assert (s.volume, s.efficiency, s.rate) == (40_000 - 159_520, 24_000 + 320, 6_600 + 50)
    line = report.lines.iloc[0]
    assert line.variance_ytd == 70_600 - 159_150
    assert float(s.volume + s.efficiency + s.rate) == line.variance_ytd
    assert report.total_split.volume == s.volume  # the only cost line


def test_a_month_without_drivers_leaves_the_line_without_a_split():
    con = db_with(OT_BUDGET, OT_DRIVERS[:1], FEB_CONTACTS)  # February has an actual but no drivers
    report = metrics.budget_report(con, 2026)
    assert report.splits == {} and report.total_split is None
    one_month = metrics.budget_report(con, 2026, through=date(2026, 1, 1))
    assert one_month.splits[("OPS", "加班費")].volume == 40_000


def test_hours_per_contact_from_aht_occupancy_and_shrinkage():
    # AHT 360 s = 0.1 h, occupancy 0.8, shrinkage 0.2 -> 0.1 / (0.8 x 0.8) = 0.15625 h per contact.
    drivers = [{"period": "2026-01-01", "line": "人員薪資", "pay": "regular", "budget_aht_seconds": 360,
                "budget_occupancy": 0.8, "budget_shrinkage": 0.2, "budget_rate": 320, "actual_contacts": 1000,
                "actual_hours": 150}]
    con = db_with([("2026-01-01", "人員薪資", 40_000, 48_000)], drivers)
    s = metrics.budget_report(con, 2026).splits[("OPS", "人員薪資")]
    assert s.flexed_budget == 50_000  # 1,000 x 0.15625 x 320
    assert (s.volume, s.efficiency, s.rate) == (10_000, -2_000, 0)  # (150 - 156.25) x 320; 48,000 - 150 x 320


def test_budgeted_hourly_rate_per_pay_type():
    drivers = [dict(OT_DRIVERS[0]), {"period": "2026-01-01", "line": "人員薪資", "pay": "regular", "budget_rate": 300,
                                     "budget_hours": 5000}]
    con = db_with([], drivers)
    assert metrics.budgeted_hourly_rate(con, 2026, 1) == (300, 400)
    assert metrics.budgeted_hourly_rate(con, 2026, 5) is None


def test_cli_budget_json_adds_the_split_to_each_line(tmp_path, capsys, monkeypatch):
    path = tmp_path / "kpi.duckdb"
    src = db_with(OT_BUDGET + [("2026-01-01", "電信費", 100, 90), ("2026-02-01", "電信費", 100, 95)], OT_DRIVERS,
                  FEB_CONTACTS)
    src.execute(f"ATTACH '{path}' AS f")
    src.execute("COPY FROM DATABASE memory TO f")
    src.execute("DETACH f")
    assert cli.main(["budget", "--year", "2026", "--json", "--db", str(path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    by_line = {r["line"]: r for r in doc["lines"]}
    assert by_line["電信費"]["variance_split"] is None  # no drivers
    split = by_line["加班費"]["variance_split"]
    assert split == {"volume": -119_520, "efficiency": 24_320, "rate": 6_650, "flexed_budget": 240_480}
    assert split["volume"] + split["efficiency"] + split["rate"] == by_line["加班費"]["variance_ytd"] == -88_550


def test_budgeted_cost_per_contact_divides_by_the_budgeted_contacts():
    con = db_with(OT_BUDGET, OT_DRIVERS, FEB_CONTACTS)
    m = metrics.monthly(con, 2026).set_index("month")
    assert m.loc["2026-01", "budget_per_contact"] == 200  # 200,000 / 1,000 budgeted (not / 0 answered)
    assert m.loc["2026-02", "budget_per_contact"] == 160  # 160,000 / 1,000 budgeted (not / 3 answered)
    assert m.loc["2026-03", "budgeted_contacts"] == 1000 and m.loc["2026-03", "budget_per_contact"] != m.loc["2026-03", "budget_per_contact"]  # no actual: none (NaN)


def test_the_year_to_date_budgeted_cost_per_contact_sums_budgets_and_planned_contacts():
    con = db_with(OT_BUDGET, OT_DRIVERS, FEB_CONTACTS)
    # Jan and Feb closed: (200,000 + 160,000) / (1,000 + 1,000) budgeted contacts; March has no actual.
    assert metrics.budget_report(con, 2026).budget_per_contact == 180
    assert metrics.budget_report(con, 2026, date(2026, 1, 1)).budget_per_contact == 200
    # Drivers in January only: February divides by the 3 contacts it answered: 360,000 / 1,003.
    jan_only = db_with(OT_BUDGET, OT_DRIVERS[:1], FEB_CONTACTS)
    assert metrics.budget_report(jan_only, 2026).budget_per_contact == pytest.approx(360_000 / 1003)


BUDGET_SHEET = [["科目", "1月", "2月"], ["加班費", 200_000, 160_000]]
DRIVERS_SHEET = [["月份", "科目", "工時別", "預算來電量", "預算工時", "預算時薪", "實際來電量", "實際工時"],
                 ["2026-01", "加班費", "加班", 1000, 500, 400, 1200, 660],
                 ["2026-02", "加班費", "OT", 1000, 400, "NT$400", 900, "三百"]]  # row 3: unreadable hours


def test_a_workbook_drivers_sheet_lands_with_the_budget_and_undo_removes_both(tmp_path):
    path = workbook(tmp_path / "預算.xlsx", {"2026預算": BUDGET_SHEET, "驅動因子": DRIVERS_SHEET})
    db = tmp_path / "kpi.duckdb"
    result = imports.import_file("budget", path, db=db)
    drivers = result.companions[0]
    assert (result.inserted, drivers.dataset, drivers.inserted, drivers.rejected) == (2, "budget_drivers", 1, 1)
    reject = drivers.rejects.iloc[0]
    # named by file and sheet, row and column, with what was expected
    assert (drivers.file_name, reject.row_number, reject.column_name) == ("預算.xlsx [驅動因子]", 3, "actual_hours")
    assert "expected a number of hours" in reject.reason
    with store.open_db(db) as con:
        row = con.execute("SELECT period, cost_center, pay, budget_contacts, budget_hours, budget_rate, actual_hours, "
                          "import_id FROM budget_drivers").fetchall()
        assert row == [(date(2026, 1, 1), "CENTER", "overtime", 1000, 500.0, 400.0, 660.0, result.import_id)]
        assert con.execute("SELECT count(*) FROM rejected_rows WHERE file_name = '預算.xlsx [驅動因子]'").fetchone() == (1,)
        # Both datasets went in under one import; its undo takes both out.
        imports.undo_import(con, result.import_id)
        assert con.execute("SELECT (SELECT count(*) FROM budget), (SELECT count(*) FROM budget_drivers)").fetchone() == (0, 0)


def test_a_drivers_sheet_named_in_the_mapping(tmp_path):
    path = workbook(tmp_path / "b.xlsx", {"預算": BUDGET_SHEET, "Plan": DRIVERS_SHEET[:2]})
    mapping = imports.Mapping(options=imports.Options(year=2026, drivers_sheet="Plan"))
    result = imports.import_file("budget", path, mapping, db=tmp_path / "kpi.duckdb")
    assert [(c.dataset, c.inserted) for c in result.companions] == [("budget_drivers", 1)]
    with pytest.raises(imports.FatalImportError, match="no sheet named 'Nope'"):
        imports.import_file("budget", path, imports.Mapping(options=imports.Options(year=2026, drivers_sheet="Nope")),
                            db=tmp_path / "kpi.duckdb")


def test_the_sample_overtime_overspend_is_explained_by_the_bridge(sample_db):
    with store.open_db(sample_db, read_only=True) as con:
        report = metrics.budget_report(con, 2026)
    line = report.lines.set_index("line").loc["加班費"]
    s = report.splits[("客服營運部", "加班費")]
    assert line.variance_ytd == float(s.volume + s.efficiency + s.rate) == 621_364
    # most of it volume and efficiency, some rate
    assert s.volume > 0 and s.efficiency > 0 and 0 < s.rate < (s.volume + s.efficiency) / 4


def test_long_budget_rows_carry_their_drivers_beside_the_amounts(tmp_path, write):
    # One row per month and line; the telecom row has no driver value: no drivers row for it.
    path = write("budget.csv", "月份,成本中心,科目,預算,實際,預算來電量,預算工時,預算時薪,實際工時\n"
                               "2026-01,OPS,加班費,200000,270600,1000,500,400,660\n"
                               "2026-01,OPS,電信費,100,90,,,,\n"
                               "2026-02,OPS,加班費,160000,850,1000,400,400,-2\n")  # row 4: negative hours
    result = imports.import_file("budget", path, db=tmp_path / "kpi.duckdb")
    drivers = result.companions[0]
    assert (result.inserted, result.ignored_columns) == (3, [])  # the driver columns went to the drivers
    assert (drivers.inserted, drivers.rejected, drivers.rejects.iloc[0].row_number) == (1, 1, 4)
    with store.open_db(tmp_path / "kpi.duckdb", read_only=True) as con:
        assert con.execute("SELECT period, line, budget_contacts, budget_hours, budget_rate, actual_hours "
                           "FROM budget_drivers").fetchall() == [(date(2026, 1, 1), "加班費", 1000, 500.0, 400.0, 660.0)]
