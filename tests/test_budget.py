"""Budget against actual on literal rows, worked out by hand."""
from __future__ import annotations

import json
from datetime import date

import duckdb
import pandas as pd
import pytest

from kpi import cli, metrics, reports, store


def db_with_budget(rows, contacts=()):
    con = duckdb.connect()
    store.migrate(con)
    for period, cc, line, kind, b, a in rows:
        con.execute("INSERT INTO budget VALUES (?, ?, ?, ?, ?, ?, 1, 1)", [period, cc, line, kind, b, a])
    for cid, at, answered in contacts:
        con.execute("INSERT INTO contacts (contact_id, arrived_at, answered, import_id, created_import_id) VALUES (?, ?, ?, 1, 1)",
                    [cid, at, answered])
    return con


# Overtime: 100k budget a month; actuals Jan 150k, Feb 130k, Mar not closed. Revenue: 200k a month, actual 180k, 210k.
ROWS = [
    ("2026-01-01", "OPS", "overtime", "cost", 100_000, 150_000),
    ("2026-02-01", "OPS", "overtime", "cost", 100_000, 130_000),
    ("2026-03-01", "OPS", "overtime", "cost", 100_000, None),
    ("2026-01-01", "MGT", "chargeback", "revenue", 200_000, 180_000),
    ("2026-02-01", "MGT", "chargeback", "revenue", 200_000, 210_000),
    ("2026-03-01", "MGT", "chargeback", "revenue", 200_000, None),
    ("2026-01-01", "MGT", "pilot", "cost", 0, 5_000),
    ("2026-02-01", "MGT", "pilot", "cost", 0, 0),
    ("2026-03-01", "MGT", "pilot", "cost", 0, None),
    ("2025-12-01", "OPS", "overtime", "cost", 999_999, 999_999),  # another year: ignored
]
CONTACTS = [("a", "2026-01-10 10:00", True), ("b", "2026-02-10 10:00", True), ("c", "2026-02-11 10:00", False),
            ("d", "2026-03-02 10:00", True)]


def lines(report):
    return {r["line"]: r for r in report.lines.to_dict("records")}


def test_through_defaults_to_the_last_month_with_actuals():
    report = metrics.budget_report(db_with_budget(ROWS), 2026)
    assert report.through == date(2026, 2, 1)


def test_a_cost_line_over_budget():
    ot = lines(metrics.budget_report(db_with_budget(ROWS), 2026))["overtime"]
    # YTD Jan-Feb: budget 200k, actual 280k, variance +80k = +40% of |200k|: unfavourable for a cost.
    assert (ot["budget_ytd"], ot["actual_ytd"], ot["variance_ytd"]) == (200_000, 280_000, 80_000)
    assert ot["variance_pct_ytd"] == pytest.approx(0.40)
    assert ot["favourable"] is False
    # Month (Feb): 100k vs 130k.
    assert (ot["budget_month"], ot["actual_month"], ot["variance_month"]) == (100_000, 130_000, 30_000)
    # |40%| >= 5% and |80k| >= 50k.
    assert ot["needs_improvement_report"] is True
    # Full year 300k (3 months budgeted); latest estimate 280k + March's 100k; run rate 280k / 2 months x the 3 months
    # the budget covers.
    assert (ot["full_year_budget"], ot["latest_estimate"], ot["run_rate"]) == (300_000, 380_000, 420_000)


def test_a_revenue_line_sign_is_the_other_way_round():
    rev = lines(metrics.budget_report(db_with_budget(ROWS), 2026))["chargeback"]
    # Actual 390k vs 400k: variance -10k = -2.5%, unfavourable for revenue (below budget).
    assert rev["variance_ytd"] == -10_000 and rev["variance_pct_ytd"] == pytest.approx(-0.025)
    assert rev["favourable"] is False
    # Feb alone: +10k, above budget, which for revenue is good.
    assert rev["variance_month"] == 10_000
    feb = lines(metrics.budget_report(db_with_budget(ROWS), 2026, through=date(2026, 1, 1)))["chargeback"]
    assert feb["variance_ytd"] == -20_000 and feb["favourable"] is False
    over = db_with_budget([("2026-01-01", "MGT", "chargeback", "revenue", 200_000, 260_000)])
    assert lines(metrics.budget_report(over, 2026))["chargeback"]["favourable"] is True


def test_a_budget_of_zero_gives_no_variance_percent():
    pilot = lines(metrics.budget_report(db_with_budget(ROWS), 2026))["pilot"]
    assert pilot["variance_ytd"] == 5_000 and pd.isna(pilot["variance_pct_ytd"])
    assert pilot["needs_improvement_report"] is False


def test_improvement_report_thresholds_are_settings():
    con = db_with_budget(ROWS)
    loose = metrics.budget_report(con, 2026, settings={"improvement_report_min_amount": 100_000,
                                                        "improvement_report_min_pct": 0.5})
    assert lines(loose)["overtime"]["needs_improvement_report"] is False  # 80k < 100k and 40% < 50%
    by_pct = metrics.budget_report(con, 2026, settings={"improvement_report_min_amount": 100_000})
    assert lines(by_pct)["overtime"]["needs_improvement_report"] is True  # 80k < 100k, but 40% >= 5%


def test_a_line_needs_an_improvement_report_on_either_threshold():
    # Amount alone: 2M budget, +60k = 3% < 5% but 60k >= 50k.
    # Percent alone: 100k budget, +10k = 10% >= 5%, 10k < 50k. Neither: 1M budget, +10k = 1%, 10k < 50k.
    con = db_with_budget([("2026-01-01", "OPS", "big", "cost", 2_000_000, 2_060_000),
                          ("2026-01-01", "OPS", "small", "cost", 100_000, 110_000),
                          ("2026-01-01", "OPS", "calm", "cost", 1_000_000, 1_010_000)])
    flags = {k: v["needs_improvement_report"] for k, v in lines(metrics.budget_report(con, 2026)).items()}
    assert flags == {"big": True, "small": True, "calm": False}


def test_a_recurring_variance_is_reforecast_in_the_latest_estimate():
    # Budget 100 a month Jan-Apr. "up": actuals 120, 130, 110 (over in each of the last 3 months): the remaining
    # April is reforecast at 100 x 360 / 300 = 120 -> LE 480. "mixed": 120, 90, 110 (signs +,-,+): LE = 320 + 100.
    # "short": only 2 booked months over budget: not enough to call it recurring -> 250 + 200 = 450.
    rows = [(f"2026-{m:02d}-01", "OPS", "up", "cost", 100, a) for m, a in ((1, 120), (2, 130), (3, 110), (4, None))]
    rows += [(f"2026-{m:02d}-01", "OPS", "mixed", "cost", 100, a) for m, a in ((1, 120), (2, 90), (3, 110), (4, None))]
    rows += [(f"2026-{m:02d}-01", "MGT", "short", "cost", 100, a) for m, a in ((2, 120), (3, 130), (4, None), (5, None))]
    report = metrics.budget_report(db_with_budget(rows), 2026)
    got = {k: (v["latest_estimate"], v["reforecast"]) for k, v in lines(report).items()}
    assert got == {"up": (480, True), "mixed": (420, False), "short": (450, False)}
    # The total's outlook is the sum of its lines': 480 + 420 + 450, and it says a line was reforecast.
    assert report.total["latest_estimate"] == 1350 and report.total["reforecast"] is True


def test_totals_are_over_cost_lines_and_cost_per_contact_uses_the_same_months():
    report = metrics.budget_report(db_with_budget(ROWS, CONTACTS), 2026)
    # Cost lines: overtime + pilot. Budget YTD 200k + 0, actual 280k + 5k.
    assert (report.total["budget_ytd"], report.total["actual_ytd"], report.total["variance_ytd"]) == (200_000, 285_000, 85_000)
    assert report.revenue_total["actual_ytd"] == 390_000
    # Answered Jan-Feb: a and b (c abandoned, d is March) -> 285k / 2.
    assert report.answered_ytd == 2 and report.cost_per_contact == pytest.approx(142_500)


def test_budgeted_cost_per_contact_of_the_year_to_date_and_its_status():
    report = metrics.budget_report(db_with_budget(ROWS, CONTACTS), 2026)
    # No drivers: the cost budget of the closed months (Jan, Feb: 100k + 0 each) over the contacts they answered
    # (a in Jan, b in Feb): 200k / 2. March (d answered) is not closed.
    assert report.budget_per_contact == pytest.approx(100_000)
    # 142,500 against 100,000: +42.5%, past the 5% of the improvement-report rule.
    assert metrics.unit_cost_status(report.cost_per_contact, report.budget_per_contact) == "bad"
    # Through January alone: 100k / 1.
    assert metrics.budget_report(db_with_budget(ROWS, CONTACTS), 2026, date(2026, 1, 1)).budget_per_contact == 100_000
    # The share alone judges a contact's cost (NT$4 over is not measured against the rule's NT$50,000).
    assert [metrics.unit_cost_status(a, 100) for a in (104, 105, 100, 95)] == ["warning", "bad", "good", "good"]
    assert metrics.unit_cost_status(None, 100) is None and metrics.unit_cost_status(100, None) is None
    # No contact answered in a closed month and no drivers: no budgeted cost per contact.
    assert metrics.budget_report(db_with_budget(ROWS), 2026).budget_per_contact is None


def test_actual_and_budgeted_cost_per_contact_cover_the_same_months_and_lines():
    def cpc(rows, contacts, through=None):
        r = metrics.budget_report(db_with_budget(rows, contacts), 2026, through)
        return r.cost_per_contact, r.budget_per_contact, r.answered_ytd

    def answered(month, n):
        return [(f"{month}-{i}", f"2026-{month[-2:]}-10 10:00", True) for i in range(n)]
    jan, feb, mar = answered("m01", 100), answered("m02", 100), answered("m03", 200)
    wages = [("2026-01-01", "OPS", "wages", "cost", 100_000, 100_000),
             ("2026-02-01", "OPS", "wages", "cost", 100_000, 100_000)]
    # A month not closed yet (February: no actual) before the month viewed (March): neither its contacts nor its budget
    # count. Jan 100k / 100 and Mar 200k / 200 -> 1,000 actual; budget 100k + 100k over the same 300 -> 666.67.
    gap = [wages[0], ("2026-02-01", "OPS", "wages", "cost", 100_000, None),
           ("2026-03-01", "OPS", "wages", "cost", 100_000, 200_000)]
    assert cpc(gap, jan + feb + mar) == (1_000, pytest.approx(200_000 / 300), 300)
    # A line with no actual in a closed month (rent) is left out of the budget, as the budget to date leaves it out:
    # 200k / 200 against 200k / 200 (was 300k / 200 = 1,500, "33% under").
    rent = [("2026-01-01", "OPS", "rent", "cost", 50_000, None), ("2026-02-01", "OPS", "rent", "cost", 50_000, None)]
    assert cpc(wages + rent, jan + feb) == (1_000, 1_000, 200)
    # A closed month without contacts and without drivers: no like-for-like budget per contact.
    assert cpc(wages, feb) == (2_000, None, 100)
    # A budget from September beside actuals all year, or a budget of 0: none either (no division by it).
    late = [(f"2026-{m:02d}-01", "OPS", "wages", "cost", None if m < 9 else 100_000, 100_000) for m in range(1, 10)]
    assert cpc(late, jan + feb)[1] is None
    assert cpc([("2026-01-01", "OPS", "wages", "cost", 0, 100_000)], jan) == (1_000, None, 100)


def test_a_budget_from_september_says_it_covers_four_months():
    rows = [(f"2026-{m:02d}-01", "OPS", "overtime", "cost", 100_000, 90_000 if m < 11 else None) for m in range(9, 13)]
    report = metrics.budget_report(db_with_budget(rows), 2026)
    assert report.budget_months == (9, 10, 11, 12)
    # the run rate is over those 4 months: 180k / 2 elapsed x 4; the full-year budget is theirs, 400k
    assert (report.total["run_rate"], report.total["full_year_budget"]) == (360_000, 400_000)
    assert metrics.budget_coverage(report, "zh-TW") == (
        "2026 年的預算只涵蓋 9 月至 12 月（4 個月）：全年預算、最新預估與年化實際數都只計這些月份，其餘月份沒有預算可比。")
    assert metrics.budget_coverage(report, "en").startswith("The 2026 budget covers Sep to Dec only (4 months): ")
    # the performance report's summary says it too
    summary = reports.performance_report(db_with_budget(rows), date(2026, 10, 1)).section("summary").paragraphs
    assert metrics.budget_coverage(report, "zh-TW") in summary
    # months apart are listed; a whole year says nothing
    gaps = metrics.budget_report(db_with_budget([r for r in rows if r[0] != "2026-10-01"]), 2026)
    assert metrics.budget_coverage(gaps, "zh-TW").startswith("2026 年的預算只涵蓋 9 月、11 月、12 月（3 個月）")
    assert metrics.budget_coverage(metrics.budget_report(db_with_budget(ROWS), 2025), "zh-TW").startswith(
        "2025 年的預算只涵蓋 12 月（1 個月）")
    whole = [(f"2026-{m:02d}-01", "OPS", "overtime", "cost", 1, 1) for m in range(1, 13)]
    assert metrics.budget_coverage(metrics.budget_report(db_with_budget(whole), 2026), "zh-TW") is None


def test_a_year_without_actuals_has_no_through_and_no_values():
    report = metrics.budget_report(db_with_budget([("2027-01-01", "OPS", "overtime", "cost", 100_000, None)]), 2027)
    assert report.through is None and report.cost_per_contact is None
    ot = lines(report)["overtime"]
    assert pd.isna(ot["actual_ytd"]) and pd.isna(ot["variance_ytd"]) and ot["full_year_budget"] == 100_000


def test_budget_cli_json(tmp_path, capsys):
    db = tmp_path / "b.duckdb"
    with store.open_db(db) as con:
        for period, cc, line, kind, b, a in ROWS:
            con.execute("INSERT INTO budget VALUES (?, ?, ?, ?, ?, ?, 1, 1)", [period, cc, line, kind, b, a])
    capsys.readouterr()
    code = cli.main(["budget", "--year", "2026", "--json", "--db", str(db)])  # in this process: see test_cli.py
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    assert doc["year"] == 2026 and doc["through"] == "2026-02" and doc["cost_per_contact"] is None
    assert doc["budget_per_contact"] is None and doc["budget_months"] == [1, 2, 3]
    assert cli.main(["budget", "--year", "2026", "--db", str(db)]) == 0  # the text says the budget's months too
    assert capsys.readouterr().out.splitlines()[1].startswith("The 2026 budget covers Jan to Mar only (3 months): ")
    ot = next(x for x in doc["lines"] if x["line"] == "overtime")
    assert set(ot) >= {"cost_center", "line", "line_type", "budget_month", "actual_month", "variance_month", "budget_ytd",
                       "actual_ytd", "variance_ytd", "variance_pct_ytd", "favourable", "needs_improvement_report",
                       "full_year_budget", "latest_estimate"}
    assert (ot["variance_ytd"], ot["variance_pct_ytd"], ot["favourable"], ot["needs_improvement_report"]) == (80000, 0.4, False, True)


def test_monthly_series_with_cost_per_contact():
    m = metrics.monthly(db_with_budget(ROWS, CONTACTS), 2026).set_index("month")
    # Cost lines Jan: budget 100k + 0, actual 150k + 5k; 1 answered (a) -> 155k per contact.
    assert (m.loc["2026-01", "budget"], m.loc["2026-01", "actual"], m.loc["2026-01", "answered"]) == (100_000, 155_000, 1)
    assert m.loc["2026-01", "cost_per_contact"] == 155_000 and m.loc["2026-01", "budget_per_contact"] == 100_000
    # March: no actual yet (not closed): neither actual nor budgeted cost per contact, though d was answered.
    assert pd.isna(m.loc["2026-03", "actual"]) and pd.isna(m.loc["2026-03", "budget_per_contact"])
    assert m.loc["2026-03", "answered"] == 1
    assert metrics.years(db_with_budget(ROWS)) == [2026, 2025]


def test_run_rate_counts_the_months_that_have_actuals_over_the_months_the_budget_covers():
    # A year whose budget and data start in November: 2 months elapsed, not 12, and a 2-month budget year, so the run
    # rate is the actual itself (it was x12, three to six times the full-year budget it sits beside).
    con = db_with_budget([("2025-11-01", "OPS", "x", "cost", 100, 120), ("2025-12-01", "OPS", "x", "cost", 100, 80)])
    x = lines(metrics.budget_report(con, 2025))["x"]
    assert (x["run_rate"], x["full_year_budget"]) == ((120 + 80) / 2 * 2, 200)
    # A 12-month budget with two months booked: the pace of those two over twelve.
    year = [(f"2026-{m:02d}-01", "OPS", "x", "cost", 100, {1: 120, 2: 80}.get(m)) for m in range(1, 13)]
    assert lines(metrics.budget_report(db_with_budget(year), 2026))["x"]["run_rate"] == (120 + 80) / 2 * 12


def test_year_to_date_budget_covers_the_same_months_as_the_actual():
    # Jan and Feb budgeted; Feb's actual not booked yet for this line: YTD compares January only.
    con = db_with_budget([("2026-01-01", "OPS", "x", "cost", 100, 90), ("2026-02-01", "OPS", "x", "cost", 100, None),
                          ("2026-02-01", "OPS", "y", "cost", 50, 55)])
    x = lines(metrics.budget_report(con, 2026))["x"]
    assert (x["budget_ytd"], x["actual_ytd"], x["variance_ytd"]) == (100, 90, -10)
    # Latest estimate: January's actual plus February's budget (not booked) = 190.
    assert x["latest_estimate"] == 190 and metrics.months_with_actuals(con, 2026) == [1, 2]


def test_each_variance_cell_takes_the_colour_of_its_own_sign():
    # Jan under budget, Feb over: the month (Feb) is unfavourable for the cost line even though the year to date
    # (-20 + 5 = -15) is favourable. Revenue the other way round.
    con = db_with_budget([("2026-01-01", "OPS", "pay", "cost", 100, 80), ("2026-02-01", "OPS", "pay", "cost", 100, 105),
                          ("2026-01-01", "MGT", "fee", "revenue", 100, 90), ("2026-02-01", "MGT", "fee", "revenue", 100, 130)])
    report = metrics.budget_report(con, 2026)
    st = metrics.variance_status(report.lines).set_axis(report.lines["line"]).to_dict("index")
    assert st["pay"] == {"variance_month": "bad", "variance_ytd": "good", "variance_pct_ytd": "good", "favourable": "good"}
    assert st["fee"] == {"variance_month": "good", "variance_ytd": "good", "variance_pct_ytd": "good", "favourable": "good"}
    # revenue YTD: 220 vs 200 (+20) favourable; a line with no actual yet has no colour
    none = metrics.variance_status(metrics.budget_report(db_with_budget(
        [("2026-01-01", "OPS", "x", "cost", 100, 90), ("2026-01-01", "OPS", "y", "cost", 100, None)]), 2026).lines)
    assert none.iloc[1].isna().all()


def test_an_overspend_below_the_improvement_report_rule_is_a_warning_not_red():
    # The rule: 5% of the budget or NT$50,000. "lic" NT$39 over a NT$100,000 budget (0.04%) in October and the year to
    # date: amber; "ot" NT$47,300 over NT$100,000 (47.3%): red, and flagged; an underspend stays green.
    con = db_with_budget([("2026-10-01", "OPS", "lic", "cost", 100_000, 100_039),
                          ("2026-10-01", "OPS", "ot", "cost", 100_000, 147_300),
                          ("2026-10-01", "OPS", "rent", "cost", 100_000, 99_000)])
    report = metrics.budget_report(con, 2026)
    st = metrics.variance_status(report.lines).set_axis(report.lines["line"]).to_dict("index")
    assert st["lic"] == {"variance_month": "warning", "variance_ytd": "warning", "variance_pct_ytd": "warning",
                         "favourable": "warning"}
    assert st["ot"] == {"variance_month": "bad", "variance_ytd": "bad", "variance_pct_ytd": "bad", "favourable": "bad"}
    assert set(st["rent"].values()) == {"good"}
    # a month's overspend of NT$50,000 on a large budget (NT$2,000,000: 2.5%) is material by the amount: red
    big = metrics.budget_report(db_with_budget([("2026-10-01", "OPS", "pay", "cost", 2_000_000, 2_050_000)]), 2026)
    assert metrics.variance_status(big.lines).iloc[0]["variance_month"] == "bad"


def test_the_total_outlook_keeps_lines_without_actuals_when_another_is_reforecast():
    # "up" is reforecast to 480 (see above); "new" has 150 a month budgeted Jan-Apr and no actual yet: it adds its
    # whole 600 of budget, so the cost total's outlook is 480 + 600 = 1,080.
    rows = [(f"2026-{m:02d}-01", "OPS", "up", "cost", 100, a) for m, a in ((1, 120), (2, 130), (3, 110), (4, None))]
    rows += [(f"2026-{m:02d}-01", "OPS", "new", "cost", 150, None) for m in (1, 2, 3, 4)]
    report = metrics.budget_report(db_with_budget(rows), 2026)
    assert pd.isna(lines(report)["new"]["latest_estimate"])
    assert report.total["latest_estimate"] == 1080 and report.total["reforecast"] is True


def test_answered_by_month_is_read_from_the_contacts_rollup(tmp_path):
    """The budget's answered contacts per month come from the contacts' rollup, as every page's counts (a year of raw
    contacts is a scan of every row: 2-3 s at 100M, three times per budget page): equal to raw rows as imported, and
    following the rollup's daily sums when they are changed by hand."""
    from kpi import imports
    db = tmp_path / "b.duckdb"
    pd.DataFrame({"contact_id": ["a", "b", "c", "d", "e"],
                  "arrived_at": ["2026-01-10 10:00:00", "2026-02-10 10:00:00", "2026-02-11 10:00:00",
                                 "2026-03-02 10:00:00", "2025-12-31 23:00:00"],
                  "channel": "phone", "queue": "q1", "team": "A", "agent_id": "a1",
                  "answered": ["Y", "Y", "N", "Y", "Y"]}).to_csv(tmp_path / "c.csv", index=False)
    imports.import_file("contacts", tmp_path / "c.csv", db=db)
    with store.open_db(db, read_only=True) as con:
        # 2025-12-31 (e) is another year; c was not answered
        assert metrics.answered_by_month(con, 2026) == {date(2026, 1, 1): 1, date(2026, 2, 1): 1, date(2026, 3, 1): 1}
    with store.open_db(db) as con:
        con.execute("UPDATE rollup_contacts_teams_days SET answered = 7 WHERE __hour = '2026-02-10'")
    with store.open_db(db, read_only=True) as con:
        assert metrics.answered_by_month(con, 2026)[date(2026, 2, 1)] == 7
