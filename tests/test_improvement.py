"""Improvement reports: saved, updated in place, listed, validated."""
import io
from datetime import date, datetime

import duckdb
import openpyxl
import pytest

from kpi import competency, present, store


def report(**kw):
    base = dict(year=2026, cost_center="客服營運部", line="加班費", through=date(2026, 10, 1),
                root_cause="新人比例高，處理時間長", nature="permanent", action="排班調整與新人輔導",
                owner="王經理", due_date=date(2026, 12, 31), full_year_effect=-120000.0)
    return competency.ImprovementReport(**{**base, **kw})


@pytest.fixture
def con():
    c = duckdb.connect()
    store.migrate(c)
    return c


def test_save_then_update_the_same_line_in_place(con):
    rid = competency.save_report(con, report(), updated_by="tester")
    again = competency.save_report(con, report(status="in_progress", action="加開晚班"), updated_by="tester")
    assert rid == again
    listed = competency.list_reports(con, 2026)
    assert len(listed) == 1 and listed.status[0] == "in_progress" and listed.action[0] == "加開晚班"
    got = competency.get_report(con, 2026, "客服營運部", "加班費")
    assert got.full_year_effect == -120000.0 and got.due_date == date(2026, 12, 31) and got.owner == "王經理"
    assert competency.get_report(con, 2026, "客服營運部", "電信費") is None


@pytest.mark.parametrize("fields, value, message, empty", [
    (("root_cause",), " ", "root_cause: required", ("root_cause",)),
    (("owner",), "", "owner: required", ("owner",)),
    (("root_cause", "action", "owner"), "", "root_cause, action, owner: required", ("root_cause", "action", "owner")),
    (("nature",), "forever", "nature: expected one of permanent, timing", ()),
    (("status",), "closed", "status: expected one of open, in_progress, done", ()),
])
def test_invalid_reports_are_refused_with_the_field_named(con, fields, value, message, empty):
    with pytest.raises(competency.ReportError, match=message) as refused:
        competency.save_report(con, report(**{f: value for f in fields}))
    assert refused.value.fields == empty  # every required field left empty, all at once
    assert competency.list_reports(con, 2026).empty


def test_saving_a_report_moves_the_data_version(con):
    before = store.data_version(con)
    competency.save_report(con, report())
    assert store.data_version(con) != before


@pytest.mark.parametrize("lang, headings, row", [
    ("zh-TW", ["成本中心", "科目", "狀態", "負責人", "完成期限", "根本原因", "改善行動", "性質", "對全年影響", "最後更新", "更新者"],
     ["客服營運部", "加班費", "進行中", "王經理", "2026-12-31", "新人比例高，處理時間長", "排班調整與新人輔導", "永久性差異",
      "-NT$120,000", "2026-11-30 14:05", "系統管理員"]),
    ("en", ["Cost center", "Line", "Status", "Owner", "Due date", "Root cause", "Action", "Nature", "Full-year effect",
            "Last changed", "Changed by"],
     ["客服營運部", "加班費", "In progress", "王經理", "2026-12-31", "新人比例高，處理時間長", "排班調整與新人輔導", "Permanent",
      "-NT$120,000", "2026-11-30 14:05", "System administrator"]),
])
def test_saved_reports_read_with_headings_words_and_dates(con, lang, headings, row):
    competency.save_report(con, report(status="in_progress"), updated_by="root")
    con.execute("UPDATE improvement_reports SET updated_at = TIMESTAMP '2026-11-30 14:05:31'")
    table = competency.reports_table(competency.list_reports(con, 2026), lang)
    # status and nature in words, not open/permanent; the due date as a date, not 2026-12-31 00:00:00; the effect
    # with its unit; the change to the minute; the OS user root as the administrator it is
    shown = present.table_text(table, lang)
    assert list(shown.columns) == headings and shown.iloc[0].tolist() == row
    # a download keeps the values: the effect a number (it was the text '-NT$120,000, apostrophe and all), the dates
    ws = openpyxl.load_workbook(io.BytesIO(present.table_to_xlsx(table, lang))).active
    cells = {h.value: c for h, c in zip(ws[1], ws[2])}
    effect = next(c for h, c in cells.items() if h.startswith(headings[8]))
    assert effect.value == -120_000 and effect.data_type == "n" and "NT$" in next(h for h in cells if h.startswith(headings[8]))
    assert cells[headings[4]].value == datetime(2026, 12, 31) and cells[headings[4]].number_format == "yyyy-mm-dd"
    assert cells[headings[9]].value == datetime(2026, 11, 30, 14, 5, 31)
