"""Pages, reports and the CLI survive any number that is in the database: inf, -inf, NaN and 1e308 written straight
into a copy of the sample (an older import, or SQL by hand; an import now rejects them). Such a number reads as
unknown, exactly as if the cell were empty."""
from __future__ import annotations

import io
import json
import re
import shutil
from datetime import date
from pathlib import Path

import duckdb
import openpyxl
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from kpi import cli, metrics, present, reports, store
from helpers import db_with, html_tables, tiles

ROOT = Path(__file__).resolve().parent.parent
W47 = (date(2026, 11, 16), date(2026, 11, 22))
BAD = ["'inf'::DOUBLE", "'-inf'::DOUBLE", "'nan'::DOUBLE", "1e308"]
# (table, key columns, numeric columns, rows chosen): rows of the default week and month, so every page meets them.
TARGETS = [
    ("contacts", ["contact_id"], ["wait_seconds", "talk_seconds", "hold_seconds", "acw_seconds"],
     "channel = 'phone' AND answered AND arrived_at >= '2026-11-16' AND arrived_at < '2026-11-23'"),
    ("complaints", ["complaint_id"], ["sla_hours"], "opened_at >= '2026-11-01'"),
    ("budget", ["period", "cost_center", "line"], ["budget", "actual"], "period >= '2026-01-01' AND actual IS NOT NULL"),
]


def _plant(path: Path, bad: bool) -> None:
    """Eight rows of each target get one of BAD in two numeric columns (bad), or NULL there (the same rows)."""
    con = duckdb.connect(str(path))
    try:
        for table, key, columns, where in TARGETS:
            keys = con.execute(f"SELECT {', '.join(key)} FROM {table} WHERE {where} ORDER BY ALL LIMIT 8").fetchall()
            for i, k in enumerate(keys):
                cols = {columns[i % len(columns)], columns[(i + 1) % len(columns)]}
                sets = ", ".join(f"{c} = {BAD[(i + j) % 4] if bad else 'NULL'}" for j, c in enumerate(sorted(cols)))
                con.execute(f"UPDATE {table} SET {sets} WHERE {' AND '.join(f'{c} = ?' for c in key)}", list(k))
    finally:
        con.close()


@pytest.fixture(scope="module")
def dbs(sample_db, tmp_path_factory) -> dict[str, Path]:
    """{"bad": the sample with inf/-inf/NaN/1e308 planted, "null": the same cells empty instead}."""
    out = {}
    for name in ("bad", "null"):
        path = tmp_path_factory.mktemp(name) / "kpi.duckdb"
        shutil.copy(sample_db, path)
        _plant(path, name == "bad")
        out[name] = path
    return out


@pytest.fixture(scope="module", autouse=True)
def _fresh_caches():
    st.cache_resource.clear()
    st.cache_data.clear()


def render(db: Path, page: str, monkeypatch, **state) -> AppTest:
    """The page with every section drawn (the print view): each of its values read from the planted database."""
    monkeypatch.setenv("KPI_DB", str(db))
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=90)
    for k, v in {"print_view": True, **state}.items():
        at.session_state[k] = v
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def shown(at: AppTest) -> dict:
    """What a page shows in numbers: its tiles, and its tables' cells."""
    return {"tiles": [(m.label, m.value, m.delta) for m in tiles(at)],
            "tables": [df.value.astype(str).values.tolist() for df in [*at.table, *at.dataframe]]
            + [df.values.tolist() for df in html_tables(at)]}  # the pages' tables are HTML (show_table)


PAGES = ["pages/weekly.py", "pages/quality.py", "pages/trainer.py", "pages/budget.py", "pages/import_data.py",
         "pages/data_status.py", "pages/glossary.py"]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_and_shows_a_planted_value_as_an_empty_cell(dbs, page, monkeypatch):
    bad = render(dbs["bad"], page, monkeypatch)
    null = render(dbs["null"], page, monkeypatch)
    assert shown(bad) == shown(null)
    assert page in ("pages/trainer.py", "pages/import_data.py", "pages/glossary.py") or shown(bad)["tiles"]
    shown_text = [str(x).lower() for m in tiles(bad) for x in (m.value, m.delta, m.note, *m.lines)]
    assert not [x for x in shown_text if "inf" in x or "nan" in x]


def test_the_weekly_page_in_english_and_all_channels_renders(dbs, monkeypatch):
    render(dbs["bad"], "pages/weekly.py", monkeypatch, lang="en", channel="__all__")


def test_kpis_of_a_week_are_those_of_the_empty_cells(dbs):
    got = {}
    for name, path in dbs.items():
        with store.open_db(path, read_only=True) as con:
            got[name] = metrics.compute_kpis(con, *W47, "agent", channel="phone").to_dict("records")
    assert got["bad"] == got["null"]


@pytest.mark.parametrize("args", [["kpis", "--from", "2026-11-16", "--to", "2026-11-22"],
                                  ["kpis", "--from", "2026-11-16", "--to", "2026-11-22", "--by", "agent"],
                                  ["budget", "--year", "2026"]])
def test_the_cli_prints_valid_json_and_tables(dbs, args, capsys):
    def no_constant(name):
        raise AssertionError(f"{name} in the JSON")

    for extra in ([], ["--json"]):
        capsys.readouterr()
        assert cli.main([*args, *extra, "--db", str(dbs["bad"])]) == 0
        out = capsys.readouterr().out
        if extra:
            json.loads(out, parse_constant=no_constant)  # Infinity, -Infinity and NaN are not JSON
        assert not re.search(r"\b(inf|infinity|nan)\b", out, re.IGNORECASE)


def test_both_reports_build_as_xlsx_and_pdf(dbs):
    with duckdb.connect(str(dbs["bad"]), read_only=True) as con:
        built = [reports.performance_report(con, date(2026, 10, 1)), reports.service_report(con, *W47)]
    for report in built:
        book = openpyxl.load_workbook(io.BytesIO(reports.to_xlsx(report)))
        cells = [str(c.value) for ws in book for row in ws.iter_rows() for c in row if c.value is not None]
        assert not [c for c in cells if c.lower() in ("inf", "-inf", "nan")]
        try:
            assert reports.to_pdf(report)[:4] == b"%PDF"
        except reports.FontNotFound as exc:
            pytest.skip(str(exc))


def test_checked_sql_reads_a_number_outside_its_column_s_range_as_null():
    con = db_with(contacts=[{"contact_id": c, "arrived_at": "2026-11-16 09:00", "talk_seconds": v}
                            for c, v in [("a", 100.0), ("b", float("inf")), ("c", float("nan")), ("d", 604801.0),
                                         ("e", -1.0), ("f", 604800.0)]])
    # 100 and 604,800 (7 days, the limit) are read; inf, NaN, beyond 7 days and below 0 are unknown
    got = con.execute(store.checked_sql("SELECT contact_id, talk_seconds FROM contacts ORDER BY 1")).fetchall()
    assert got == [("a", 100.0), ("b", None), ("c", None), ("d", None), ("e", None), ("f", 604800.0)]
    # a query with its own WITH gets the checked tables beside its own
    assert con.execute(store.checked_sql("WITH t AS (SELECT sum(talk_seconds) AS s FROM contacts) SELECT s FROM t")
                       ).fetchone() == (604900.0,)
    # only the tables a query names are checked: DuckDB binds every CTE of a statement, named or not
    sql = store.checked_sql("SELECT count(*) FROM complaints c JOIN budget_drivers d ON true")
    assert [t for t in ("contacts", "surveys", "complaints", "budget", "budget_drivers")
            if f"{t} AS NOT MATERIALIZED" in sql] == ["complaints", "budget_drivers"]
    assert store.checked_sql("SELECT 1 AS one") == "SELECT 1 AS one"
    assert "contacts AS NOT MATERIALIZED" in store.checked_sql("SELECT count(*) FROM Contacts")  # names ignore case


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_formatters_show_a_dash_for_a_value_that_is_not_finite(value):
    for text in (present.duration(value, "zh-TW"), present.number(value), present.money(value),
                 present.percent(value), present.hours(value, "en"), present.pp(value, "en"),
                 present.format_kind(value, "seconds"), present.format_kind(value, "+fraction"),
                 present.format_unit(value, "ntd"), present.money_short(value, "zh-TW")):
        assert text == present.MISSING
