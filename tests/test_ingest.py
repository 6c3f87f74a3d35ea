"""Import: files in, rows and rejects out, all or nothing."""
from __future__ import annotations

import duckdb
import openpyxl
import pytest

from kpi import imports, store
from helpers import rows, snapshot

CONTACTS_HEADER = "contact_id,arrived_at,channel,team,agent_id,answered,answered_at,wait_seconds,talk_seconds,hold_seconds,acw_seconds,transferred,resolved_first_contact,customer_id\n"






def test_canonical_csv_lands_with_parsed_values(db, write):
    f = write("c.csv", CONTACTS_HEADER +
              "c1,2026-11-16 09:00:00,phone,T1,A1,Y,2026-11-16 09:00:12,12,100,5,20,N,Y,CU1\n"
              "c2,2026-11-16 09:01:00,,T1,,N,,3,,,,,,CU2\n")
    r = imports.import_file("contacts", f, db=db)
    assert (r.rows_read, r.inserted, r.updated, r.rejected) == (2, 2, 0, 0)
    got = rows(db, "SELECT contact_id, channel, answered, wait_seconds, talk_seconds, transferred FROM contacts ORDER BY 1")
    # c2 has no channel: the default 'phone' applies; no transferred value stays unknown (NULL).
    assert got == [("c1", "phone", True, 12.0, 100.0, False), ("c2", "phone", False, 3.0, None, None)]


def test_answered_and_wait_are_derived_from_timestamps_when_absent(db, write):
    f = write("c.csv", "contact_id,arrived_at,answered_at,abandoned_at\n"
              "a,2026-11-16 09:00:00,2026-11-16 09:00:45,\n"
              "b,2026-11-16 09:00:00,,2026-11-16 09:01:30\n")
    imports.import_file("contacts", f, db=db)
    # a: answered 45 s after arrival; b: never answered, hung up after 90 s.
    assert rows(db, "SELECT contact_id, answered, wait_seconds FROM contacts ORDER BY 1") == [("a", True, 45.0), ("b", False, 90.0)]


def test_big5_file_with_chinese_headers_and_mapping(db, write, tmp_path):
    f = write("big5.csv", "來電編號,進線時間,等候秒數,是否接通\nX1,2026/11/16 09:00,20,是\nX2,2026/11/16 09:05,7,否\n", "cp950")
    m = write("m.yaml", "dataset: contacts\ncolumns:\n  contact_id: 來電編號\n  arrived_at: 進線時間\n"
              "  wait_seconds: 等候秒數\n  answered: 是否接通\n")
    r = imports.import_file("contacts", f, m, db=db)
    assert r.inserted == 2
    assert rows(db, "SELECT contact_id, arrived_at::VARCHAR, wait_seconds, answered FROM contacts ORDER BY 1") == [
        ("X1", "2026-11-16 09:00:00", 20.0, True), ("X2", "2026-11-16 09:05:00", 7.0, False)]


def test_utf8_bom_header_is_recognised(db, write):
    f = write("bom.csv", "\ufeffsurvey_id,responded_at,csat\ns1,2026-11-16 10:00,5\n", "utf-8")
    r = imports.import_file("surveys", f, db=db)
    assert r.inserted == 1 and rows(db, "SELECT survey_id, csat FROM surveys") == [("s1", 5)]


def test_roc_date_and_time_columns_joined_through_the_mapping(db, write):
    f = write("cp.csv", "案件編號,開案日期,開案時間,結案日期,結案時間\nP1,115/11/20,14:05,115/11/21,09:30\nP2,115/11/21,08:00,,\n")
    m = write("m.yaml", "dataset: complaints\ncolumns:\n  complaint_id: 案件編號\n  opened_at: [開案日期, 開案時間]\n"
              "  resolved_at: [結案日期, 結案時間]\n")
    imports.import_file("complaints", f, m, db=db)
    # 115/11/20 is ROC year 115 = 2026; P2 is still open.
    assert rows(db, "SELECT complaint_id, opened_at::VARCHAR, resolved_at::VARCHAR FROM complaints ORDER BY 1") == [
        ("P1", "2026-11-20 14:05:00", "2026-11-21 09:30:00"), ("P2", "2026-11-21 08:00:00", None)]


def test_day_first_column_decided_from_its_data(db, write):
    f = write("c.csv", "contact_id,arrived_at\nd1,25/11/2026 10:00\nd2,03/11/2026 10:00\n")
    imports.import_file("contacts", f, db=db)
    # 25 can't be a month, so 03/11 is 3 November.
    assert rows(db, "SELECT arrived_at::DATE::VARCHAR FROM contacts ORDER BY contact_id") == [("2026-11-25",), ("2026-11-03",)]


def test_hhmmss_and_declared_duration_units(db, write):
    f = write("c.csv", "contact_id,arrived_at,talk,hold,acw\nh1,2026-11-16 09:00,0:04:10,90000,2\n")
    m = write("m.yaml", "dataset: contacts\ncolumns: {contact_id: contact_id, arrived_at: arrived_at, talk_seconds: talk, "
              "hold_seconds: hold, acw_seconds: acw}\noptions: {duration_unit: ms}\n")
    imports.import_file("contacts", f, m, db=db)
    # 0:04:10 = 250 s whatever the unit; 90000 ms = 90 s; 2 ms = 0.002 s.
    assert rows(db, "SELECT talk_seconds, hold_seconds, acw_seconds FROM contacts") == [(250.0, 90.0, 0.002)]


def test_mapping_defaults_values_and_header_matching_ignore_case_and_spaces(db, write):
    f = write("c.csv", "Call ID,Start Time,Media\nk1,2026-11-16 09:00,Voice\nk2,2026-11-16 09:00,Web Chat\n")
    m = write("m.yaml", "dataset: contacts\ncolumns:\n  contact_id: call id\n  arrived_at: STARTTIME\n  channel: media\n"
              "options:\n  defaults: {queue: general}\n  values:\n    channel: {voice: phone, web chat: chat}\n")
    imports.import_file("contacts", f, m, db=db)
    assert rows(db, "SELECT contact_id, channel, queue FROM contacts ORDER BY 1") == [("k1", "phone", "general"), ("k2", "chat", "general")]


def test_rejected_rows_are_kept_with_file_row_column_and_reason(db, write):
    f = write("bad.csv", "survey_id,responded_at,csat,nps,ces\n"
              "s1,2026-11-16 10:00,5,9,2\n"   # row 2: fine
              "s2,,4,8,1\n"                   # row 3: missing required responded_at
              "s3,2026-11-16 10:00,6,8,1\n"   # row 4: csat out of range
              "s4,yesterday,3,x,1\n"          # row 5: two problems
              "s1,2026-11-16 11:00,1,0,7\n")  # row 6: duplicate id of row 2
    r = imports.import_file("surveys", f, db=db)
    assert (r.rows_read, r.inserted, r.rejected) == (5, 1, 4)
    got = rows(db, "SELECT file_name, row_number, column_name, reason FROM rejected_rows ORDER BY row_number, column_name")
    assert [(g[1], g[2]) for g in got] == [(3, "responded_at"), (4, "csat"), (5, "nps"), (5, "responded_at"), (6, "survey_id")]
    assert all(g[0] == "bad.csv" for g in got)
    reasons = {(g[1], g[2]): g[3] for g in got}
    assert reasons[(3, "responded_at")].startswith("missing required value")
    assert "out of range" in reasons[(4, "csat")] and "1-5" in reasons[(4, "csat")]
    assert "'yesterday'" in reasons[(5, "responded_at")]
    assert reasons[(6, "survey_id")] == "duplicate Survey ID 's1' in the file (first on row 2)"
    assert rows(db, "SELECT rows_read, inserted, rejected FROM imports") == [(5, 1, 4)]


def test_resolved_before_opened_and_answered_before_arrived_are_rejected(db, write):
    f = write("cp.csv", "complaint_id,opened_at,resolved_at\nq1,2026-11-16 10:00,2026-11-16 09:00\nq2,2026-11-16 10:00,2026-11-17 10:00\n")
    r = imports.import_file("complaints", f, db=db)
    assert r.rejected == 1 and "resolved before opened" in r.rejects.reason[0]
    f2 = write("c.csv", "contact_id,arrived_at,answered_at\nz,2026-11-16 10:00,2026-11-16 09:59\n")
    r2 = imports.import_file("contacts", f2, db=db)
    assert r2.rejected == 1 and r2.rejects.column_name[0] == "answered_at"


def test_resolution_hours_gives_resolved_at(db, write):
    f = write("cp.csv", "complaint_id,opened_at,resolution_hours,sla_hours\nq1,2026-11-16 10:00,26.5,24\n")
    imports.import_file("complaints", f, db=db)
    # 10:00 + 26.5 h = next day 12:30.
    assert rows(db, "SELECT resolved_at::VARCHAR, sla_hours FROM complaints") == [("2026-11-17 12:30:00", 24.0)]


def test_reimport_is_idempotent_and_a_changed_row_is_updated_not_duplicated(db, write):
    body = "c1,2026-11-16 09:00:00,phone,T1,A1,Y,2026-11-16 09:00:12,12,100,5,20,N,Y,CU1\n"
    f = write("c.csv", CONTACTS_HEADER + body)
    imports.import_file("contacts", f, db=db)
    again = imports.import_file("contacts", f, db=db)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 1)
    f2 = write("c2.csv", CONTACTS_HEADER + body.replace(",100,", ",130,") +
               "c9,2026-11-16 09:30:00,chat,T1,A2,Y,2026-11-16 09:30:05,5,60,0,10,N,Y,CU9\n")
    third = imports.import_file("contacts", f2, db=db)
    assert (third.inserted, third.updated, third.unchanged) == (1, 1, 0)
    assert rows(db, "SELECT contact_id, talk_seconds FROM contacts ORDER BY 1") == [("c1", 130.0), ("c9", 60.0)]
    # The replaced version is kept for undo.
    assert rows(db, "SELECT contact_id, talk_seconds, replaced_by_import_id FROM contacts_history") == [("c1", 100.0, third.import_id)]


def test_customer_id_is_stored_only_as_a_keyed_hash(db, write, tmp_path):
    f = write("c.csv", "contact_id,arrived_at,customer_id\na,2026-11-16 09:00,CU123\nb,2026-11-16 09:00,CU123\nc,2026-11-16,CU999\nd,bad,CU555\n")
    imports.import_file("contacts", f, db=db)
    got = [h for (h,) in rows(db, "SELECT customer_id FROM contacts ORDER BY contact_id")]
    assert got[0] == got[1] != got[2] and "CU123" not in got[0] and len(got[0]) == 32
    # Not even the rejected row keeps the raw id.
    assert "CU555" not in rows(db, "SELECT raw FROM rejected_rows")[0][0]
    other = tmp_path / "other.duckdb"
    imports.import_file("contacts", f, db=other)
    assert rows(other, "SELECT customer_id FROM contacts WHERE contact_id = 'a'")[0][0] != got[0]  # a secret per database


@pytest.mark.parametrize("name, text, mapping, message", [
    ("c.csv", "call,when\n1,2026-11-16\n", None, "required column 'contact_id' is missing"),
    ("c.csv", "contact_id,arrived_at\n1,2026-11-16\n", "dataset: contacts\ncolumns: {contact_id: callid}\n",
     "the mapping says contact_id: 'callid', but the file has no such column"),
    ("c.csv", "", None, "the file is empty"),
    ("c.xlsx", "this is not a workbook", None, "not a readable Excel workbook"),
    ("c.csv", "contact_id,arrived_at\n1,2026-11-16\n", "dataset: contacts\ncolumns: {nonsense: x}\n",
     "columns.nonsense: not a column of contacts"),
    ("c.csv", "contact_id,arrived_at\n1,2026-11-16\n", "dataset: contacts\noptions: {date_order: dym}\n",
     "options.date_order: expected one of auto, dmy, mdy, ymd"),
])
def test_fatal_problems_name_the_file_and_leave_the_database_exactly_as_it_was(db, write, name, text, mapping, message):
    imports.import_file("contacts", write("ok.csv", "contact_id,arrived_at\nok1,2026-11-16 09:00\n"), db=db)
    before = snapshot(db)
    f = write(name, text)
    m = write("m.yaml", mapping) if mapping else None
    with pytest.raises(imports.FatalImportError) as err:
        imports.import_file("contacts", f, m, db=db)
    assert message in str(err.value)
    assert str(err.value).startswith(("c.csv", "c.xlsx", str(m)))
    assert snapshot(db) == before


def test_unknown_dataset_is_fatal(db, write):
    with pytest.raises(imports.FatalImportError, match="unknown dataset 'calls'"):
        imports.import_file("calls", write("c.csv", "a\n1\n"), db=db)


class FailingAt:
    """A connection whose cursors fail on the statement that contains `marker`, as a full disk would."""

    def __init__(self, con, marker):
        self.con, self.marker = con, marker

    def cursor(self):
        real, marker = self.con.cursor(), self.marker

        class Cursor:
            def __getattr__(self, name):
                return getattr(real, name)

            def execute(self, sql, *args):
                if marker in sql:
                    raise duckdb.IOException("disk full")
                return real.execute(sql, *args)
        return Cursor()

    def execute(self, *args):
        return self.con.execute(*args)


def test_a_failure_while_writing_rolls_back_everything(db, write):
    imports.import_file("contacts", write("ok.csv", "contact_id,arrived_at\nok1,2026-11-16 09:00\n"), db=db)
    before = snapshot(db)
    prep = imports.prepare("contacts", write("c.csv", "contact_id,arrived_at,customer_id\nn1,2026-11-16,CU1\nn2,bad,CU2\n"))
    # The last statement of the transaction fails: the import row, its reject and n1 were already written.
    with store.open_db(db) as con, pytest.raises(duckdb.IOException, match="disk full"):
        imports.write(FailingAt(con, "UPDATE imports SET"), prep)
    assert snapshot(db) == before


def test_xlsx_first_sheet_or_named_sheet(db, tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "notes"
    wb.active.append(["nothing here"])
    ws = wb.create_sheet("calls")
    ws.append(["contact_id", "arrived_at", "wait_seconds"])
    from datetime import datetime
    ws.append(["x1", datetime(2026, 11, 16, 9, 0, 5), 12])
    path = tmp_path / "book.xlsx"
    wb.save(path)
    m = tmp_path / "m.yaml"
    m.write_text("dataset: contacts\noptions: {sheet: calls}\n")
    r = imports.import_file("contacts", path, m, db=db)
    assert r.inserted == 1
    assert rows(db, "SELECT contact_id, arrived_at::VARCHAR, wait_seconds FROM contacts") == [("x1", "2026-11-16 09:00:05", 12.0)]
    with pytest.raises(imports.FatalImportError, match="required column 'contact_id' is missing"):
        imports.import_file("contacts", path, db=db)  # first sheet holds no calls


def test_budget_with_months_as_columns(db, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["成本中心", "科目", "類型", "項目", "2026-01", "2026-02"])
    ws.append(["營運", "加班費", "成本", "預算", 100000, 100000])
    ws.append(["營運", "加班費", "成本", "實際", 150000, None])
    ws.append(["營運", "計費收入", "收入", "預算", "NT$200,000", 200000])
    ws.append(["營運", "電信費", "成本", "預算", "abc", 5000])
    path = tmp_path / "b.xlsx"
    wb.save(path)
    m = tmp_path / "m.yaml"
    m.write_text("dataset: budget\ncolumns: {cost_center: 成本中心, line: 科目, line_type: 類型, measure: 項目}\n"
                 "options:\n  values:\n    line_type: {成本: cost, 收入: revenue}\n    measure: {預算: budget, 實際: actual}\n",
                 encoding="utf-8")
    r = imports.import_file("budget", path, m, db=db)
    # 4 sheet rows; the 電信費 row has an unreadable amount, so none of its months land.
    assert (r.rows_read, r.inserted, r.rejected) == (4, 4, 1)
    assert r.rejects.row_number.tolist() == [5] and r.rejects.column_name.tolist() == ["2026-01"]
    assert rows(db, "SELECT period::VARCHAR, line, line_type, budget, actual FROM budget ORDER BY line, period") == [
        ("2026-01-01", "加班費", "cost", 100000.0, 150000.0), ("2026-02-01", "加班費", "cost", 100000.0, None),
        ("2026-01-01", "計費收入", "revenue", 200000.0, None), ("2026-02-01", "計費收入", "revenue", 200000.0, None)]


def test_budget_long_layout_with_default_cost_center(db, write):
    f = write("b.csv", "period,line,budget,actual\n2026-03,telecom,\"50,000\",NT$52000\n")
    imports.import_file("budget", f, db=db)
    assert rows(db, "SELECT period::VARCHAR, cost_center, line, line_type, budget, actual FROM budget") == [
        ("2026-03-01", "CENTER", "telecom", "cost", 50000.0, 52000.0)]


def test_an_actuals_only_file_keeps_the_budget_already_there(db, write):
    imports.import_file("budget", write("b.csv", "period,line,budget\n2026-03,telecom,50000\n"), db=db)
    r = imports.import_file("budget", write("a.csv", "period,line,actual\n2026-03,telecom,51000\n"), db=db)
    assert r.updated == 1
    assert rows(db, "SELECT budget, actual FROM budget") == [(50000.0, 51000.0)]


def test_ingesting_every_sample_file_again_changes_no_row_count(sample_db, tmp_path):
    import shutil

    db = tmp_path / "demo.duckdb"
    shutil.copy(sample_db, db)
    with store.open_db(db, read_only=True) as con:
        before = store.row_counts(con)
    for dataset, path, mapping in imports.sample_files():
        r = imports.import_file(dataset, path, mapping, db=db)
        assert (r.inserted, r.updated, r.rejected) == (0, 0, 0), r.summary()
    with store.open_db(db, read_only=True) as con:
        assert store.row_counts(con) == before
    # 300,000 contacts, 42,674 surveys, 4,408 complaints and 9 lines x 16 months of budget in the sample.
    # and 8 weeks of agent states (84,221) and schedule (6,742); the budget's drivers: 2026 x (人員薪資, 加班費).
    assert before == {"contacts": 300_000, "surveys": 42_674, "complaints": 4_408, "budget": 144, "budget_drivers": 24,
                      "agent_states": 84_221, "schedule": 6_742}


def test_a_budget_line_twice_in_a_months_as_columns_sheet_is_rejected(db, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["科目", "項目", "2026-01"])
    ws.append(["電信費", "budget", 100])
    ws.append(["電信費", "budget", 999])  # the same line and measure again
    path = tmp_path / "b.xlsx"
    wb.save(path)
    m = imports.parse_mapping({"dataset": "budget", "columns": {"line": "科目", "measure": "項目"}})
    r = imports.import_file("budget", path, m, db=db)
    assert r.rejected == 1 and r.rejects.row_number.tolist() == [3]
    assert r.rejects.reason[0] == "duplicate budget line '電信費' (CENTER, budget, 2026-01) in the file"
    assert rows(db, "SELECT line, budget FROM budget") == [("電信費", 100.0)]


def test_row_numbers_count_blank_lines_as_a_spreadsheet_shows_them(db, write):
    # Row 1 header, row 2 blank, row 3 fine, row 4 blank, row 5 bad.
    f = write("c.csv", "contact_id,arrived_at\n\nok,2026-11-20 10:00\n\nbad,someday\n")
    r = imports.import_file("contacts", f, db=db)
    assert (r.rows_read, r.inserted, r.rejected) == (2, 1, 1)
    assert r.rejects.row_number.tolist() == [5]


def wide_budget(tmp_path, rows, name="b.xlsx"):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["成本中心", "科目", "類型", "項目", "2026-09", "2026-10"])
    for r in rows:
        ws.append(r)
    path = tmp_path / name
    wb.save(path)
    m = tmp_path / "m.yaml"
    m.write_text("dataset: budget\ncolumns: {cost_center: 成本中心, line: 科目, line_type: 類型, measure: 項目}\n"
                 "options:\n  values:\n    line_type: {成本: cost, 收入: revenue}\n    measure: {預算: budget, 實際: actual}\n",
                 encoding="utf-8")
    return path, m


def test_a_rejected_sheet_row_changes_nothing_of_its_line(db, tmp_path):
    path, m = wide_budget(tmp_path, [["OPS", "薪資", "成本", "預算", 100, 100], ["OPS", "薪資", "成本", "實際", 90, 95]])
    imports.import_file("budget", path, m, db=db)
    # The actual row again, with Sep changed and Oct unreadable: the whole row is rejected, nothing of it lands.
    path2, _ = wide_budget(tmp_path, [["OPS", "薪資", "成本", "預算", 100, 100], ["OPS", "薪資", "成本", "實際", 80, "abc"]], "b2.xlsx")
    r = imports.import_file("budget", path2, m, db=db)
    assert r.rejected == 1 and r.rejects.row_number.tolist() == [3]
    assert rows(db, "SELECT period::VARCHAR, actual FROM budget ORDER BY period") == [("2026-09-01", 90.0), ("2026-10-01", 95.0)]


def test_a_budget_only_sheet_keeps_the_stored_actuals_and_line_type(db, tmp_path, write):
    path, m = wide_budget(tmp_path, [["MGT", "計費收入", "收入", "預算", 200, 200], ["MGT", "計費收入", "收入", "實際", 190, 210]])
    imports.import_file("budget", path, m, db=db)
    path2, _ = wide_budget(tmp_path, [["MGT", "計費收入", "收入", "預算", 250, 250]], "b2.xlsx")
    r = imports.import_file("budget", path2, m, db=db)
    assert r.updated == 2
    # A long file without a line_type column: the default (cost) is for new rows only.
    imports.import_file("budget", write("a.csv", "period,cost_center,line,actual\n2026-10,MGT,計費收入,205\n"), db=db)
    assert rows(db, "SELECT period::VARCHAR, line_type, budget, actual FROM budget ORDER BY period") == [
        ("2026-09-01", "revenue", 250.0, 190.0), ("2026-10-01", "revenue", 250.0, 205.0)]


def test_a_reimport_without_answered_columns_keeps_the_stored_answered_and_channel(db, write):
    imports.import_file("contacts", write("c.csv", "contact_id,arrived_at,channel,answered,talk_seconds\nx,2026-11-20 10:00,chat,Y,239\n"), db=db)
    r = imports.import_file("contacts", write("d.csv", "contact_id,arrived_at,talk_seconds\nx,2026-11-20 10:00,240\n"), db=db)
    assert r.updated == 1
    assert rows(db, "SELECT channel, answered, talk_seconds FROM contacts") == [("chat", True, 240.0)]
    # A new contact from the same file still gets the defaults: phone, not answered.
    imports.import_file("contacts", write("e.csv", "contact_id,arrived_at\ny,2026-11-20 11:00\n"), db=db)
    assert rows(db, "SELECT channel, answered FROM contacts WHERE contact_id = 'y'") == [("phone", False)]


def test_xlsx_text_like_na_is_a_value_to_check_not_an_empty_cell(db, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["period", "line", "actual", "actual"])  # a repeated header is numbered, not fatal
    ws.append(["2026-09", "電信費", "N/A", 5])
    path = tmp_path / "na.xlsx"
    wb.save(path)
    r = imports.import_file("budget", path, db=db)
    assert r.rejected == 1 and "'N/A'" in r.rejects.reason[0]


def test_rejected_rows_keep_only_the_columns_the_import_reads(db, write):
    f = write("c.csv", "contact_id,arrived_at,National ID\nx,never,A223456789\n")
    r = imports.import_file("contacts", f, db=db)
    assert "A223456789" not in r.rejects.raw[0] and "A223456789" not in rows(db, "SELECT raw FROM rejected_rows")[0][0]
