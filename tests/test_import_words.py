"""What an import tells a person, in their language: why a row was rejected (a message code with parameters, kept
so in the database), the value recodes of a mapping, and the canonical columns of a preview."""
from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest

from helpers import rows
from kpi import imports, present, store

# Row 2 is fine; each later row has one problem, worked out by hand.
FILE = ("contact_id,arrived_at,answered_at,wait_seconds\n"
        "a,2026-11-16 10:00,2026-11-16 10:01,12\n"  # row 2
        "b,never,,5\n"  # row 3: arrived_at unreadable
        "c,2026-11-16 10:00,2026-11-16 09:59,3\n"  # row 4: answered a minute before it arrived
        "d,2026-11-16 11:00,,-4\n"  # row 5: a negative wait
        "a,2026-11-16 12:00,,1\n")  # row 6: contact a again (first on row 2)

EXPECTED = {
    "zh-TW": (["列號", "欄位", "值", "原因"], [
        [3, "進線時間", "never", "無法讀取「never」（應為日期時間，例如 2026-11-26 14:30:00、26/11/2026 14:30、11/26/2026、"
                                 "115/11/26 或 26-Nov-2026）"],
        [4, "接通時間", "2026-11-16 09:59:00", "接通時間早於進線時間"],
        [5, "等候時間（秒）", "-4", "時間長度為負值「-4」（應為 0 以上）"],
        [6, "進線編號", "a", "檔案中進線編號「a」重複（第一次出現在第 2 列）"]]),
    "en": (["Row", "Column", "Value", "Reason"], [
        [3, "Arrived at", "never", "could not read 'never' (expected a date/time such as 2026-11-26 14:30:00, 26/11/2026 "
                                   "14:30, 11/26/2026, 115/11/26 or 26-Nov-2026)"],
        [4, "Answered at", "2026-11-16 09:59:00", "answered_at is before arrived_at"],
        [5, "Wait (s)", "-4", "negative duration '-4' (expected 0 or more)"],
        [6, "Contact ID", "a", "duplicate Contact ID 'a' in the file (first on row 2)"]]),
}
READ = ("row_number", "column_name", "value", "reason")


@pytest.mark.parametrize("lang", ["zh-TW", "en"])
def test_rejects_are_codes_read_in_either_language(write, lang):
    prep = imports.prepare("contacts", write("c.csv", FILE))
    assert list(prep.rejects["reason_code"]) == ["unreadable_timestamp", "answered_before_arrived", "negative_duration",
                                                 "duplicate_key"]
    assert json.loads(prep.rejects["reason_params"][3]) == {"column": "contact_id", "value": "a", "first_row": 2}
    headings, expected = EXPECTED[lang]
    shown = imports.readable_rejects(prep.rejects, lang, READ)
    assert list(shown.columns) == headings and shown.values.tolist() == expected


def test_the_database_keeps_the_code_and_reads_back_in_either_language(db, write):
    imports.import_file("contacts", write("c.csv", FILE), db=db)
    assert rows(db, "SELECT row_number, reason_code, reason_params FROM rejected_rows WHERE row_number = 5") == [
        (5, "negative_duration", '{"value": "-4"}')]
    with store.open_db(db, read_only=True) as con:
        stored = imports.rejected_rows(con, 1)
    # the English words (what `python -m kpi rejects` prints), and the same rows in Chinese for the page's download
    assert list(stored["reason"]) == [r[3] for r in EXPECTED["en"][1]]
    assert imports.readable_rejects(stored, "zh-TW", READ).values.tolist() == EXPECTED["zh-TW"][1]
    assert list(imports.readable_rejects(stored, "zh-TW").columns) == ["檔案", "列號", "欄位", "值", "原因", "原始資料"]


def test_a_reason_stored_before_codes_were_kept_reads_as_it_was_written(db):
    con = duckdb.connect(str(db))
    store.migrate(con, target=5)  # a file as version 5 of the code left it: reasons as English text only
    con.execute("INSERT INTO rejected_rows VALUES (7, 'old.csv', 3, 'csat', '9', 'out of range: 9 (expected 1-5)', '{}')")
    con.close()
    with store.open_db(db, read_only=True) as con:  # upgraded on the way
        stored = imports.rejected_rows(con, 7)
    assert stored["reason"].tolist() == ["out of range: 9 (expected 1-5)"]
    shown = imports.readable_rejects(stored, "zh-TW", READ)
    assert shown.values.tolist() == [[3, "滿意度分數（1–5）", "9", "out of range: 9 (expected 1-5)"]]


# Parameters as the parsers and checks give them, for every code: each must read in both languages.
PARAMS = {
    "unreadable_timestamp": {"value": "x"}, "unreadable_month": {"value": "x"},
    "unreadable_duration": {"value": "x", "unit": "ms"}, "unreadable_hms": {"value": "270"},
    "negative_duration": {"value": "-1"},
    "unreadable_hours": {"value": "x"}, "negative_hours": {"value": "-1"}, "unreadable_bool": {"value": "x"},
    "unreadable_amount": {"value": "x"}, "unreadable_int": {"value": "x"}, "unreadable_number": {"value": "x"}, "unreadable_fraction": {"value": "x"}, "out_of_range": {"value": "6", "lo": 1, "hi": 5},
    "below_minimum": {"value": "-1", "lo": 0}, "unreadable_enum": {"value": "x", "choices": ["cost", "revenue"]},
    "missing_required": {"kind": "timestamp"}, "answered_before_arrived": {}, "abandoned_before_arrived": {},
    "resolved_before_opened": {}, "due_before_opened": {},
    "duplicate_key": {"column": "survey_id", "value": "s1", "first_row": 2},
    "duplicate_budget_line": {"line": "電信費", "cost_center": "CENTER", "measure": "budget", "period": "2026-01"},
    "too_long": {"value": "1e12", "hi": 604800.0, "kind": "duration"},
    "amount_out_of_range": {"value": "inf", "hi": 1e13, "kind": "amount"},
    "wrong_field_count": {"fields": 5, "expected": 4}, "spreadsheet_error": {"value": "#N/A"},
    "formula_without_value": {"value": "=SUM(B2:B9)"},
    "total_mismatch": {"label": "小計", "period": "2026-10", "measure": "budget", "total_amount": 55.0,
                       "lines_amount": 50.0},
    "unknown_choice": {"value": "sideways", "column": "direction",
                       "words": {"inbound": ["inbound", "IB"], "outbound": ["outbound", "外撥"]}},
    "sheet_summary": {"sheet": "彙總"}, "sheet_empty": {"sheet": "工作表2"}, "sheet_no_header": {"sheet": "說明"},
    "invalid_json": {"line": 3, "char": 43, "problem": "Expecting ',' delimiter"}, "not_a_record": {},
    "total_row": {"label": "合計"}, "ended_before_started": {}, "overlapping_state": {"until": "2026-11-16 09:30:00"},
}


def test_every_reason_reads_in_both_languages():
    assert set(PARAMS) == set(imports.REASON_CODES)
    zh = {code: imports.reason_text(code, p, "zh-TW") for code, p in PARAMS.items()}
    en = {code: imports.reason_text(code, p, "en") for code, p in PARAMS.items()}
    # the words some parameters stand for are put in the reader's language
    assert zh["unreadable_duration"] == "無法讀取「x」（應為數字，單位毫秒，或 時:分:秒）"
    assert en["unreadable_duration"] == "could not read 'x' (expected seconds as a number (unit: ms) or hh:mm:ss)"
    assert zh["unreadable_hms"] == "無法讀取「270」（應為 時:分:秒 或 分:秒，例如 00:04:30）"
    assert zh["out_of_range"] == "超出範圍：6（應介於 1 至 5）" and en["below_minimum"] == "out of range: -1 (expected 0 or more)"
    assert zh["missing_required"] == "必填欄位空白（應為日期時間）"
    assert en["missing_required"] == "missing required value (expected a date and time)"
    assert zh["unreadable_enum"] == "無法讀取「x」（應為下列之一：cost、revenue）"
    # with its column, each choice in the reader's words beside what the file may say
    line_type = {"value": "x", "column": "line_type", "choices": ["cost", "revenue"]}
    assert imports.reason_text("unreadable_enum", line_type, "zh-TW") == "無法讀取「x」（應為下列之一：成本（cost）、收入（revenue））"
    assert imports.reason_text("unreadable_enum", line_type, "en") == "could not read 'x' (expected one of: Cost (cost), Revenue (revenue))"
    assert zh["duplicate_key"] == "檔案中問卷編號「s1」重複（第一次出現在第 2 列）"
    assert zh["duplicate_budget_line"] == "檔案中預算科目「電信費」重複（CENTER、預算、2026-01）"
    assert en["duplicate_budget_line"] == "duplicate budget line '電信費' (CENTER, budget, 2026-01) in the file"
    # a range's end carries its unit: 604,800 s is 168 hours; money in NT$
    assert zh["too_long"] == "時間長度超出範圍：「1e12」（應不超過 168 小時）"
    assert en["too_long"] == "duration out of range: '1e12' (expected at most 168 h)"
    assert zh["total_mismatch"] == ("合計列「小計」與其涵蓋的各科目加總不符：2026-10 預算合計列為 NT$55，"
                                    "各科目加總為 NT$50（合計列不匯入，各科目照常匯入；請核對）")
    assert zh["sheet_no_header"] == ("工作表「說明」找不到標題列（月份或欄位名稱），未匯入；要匯入請在對應檔的 options.sheets "
                                     "列出它")
    assert en["amount_out_of_range"] == "amount 'inf' out of range (expected within ±NT$10,000,000,000,000)"
    # each choice by its name in the reader's language, with the spellings read as it
    assert zh["unknown_choice"] == "無法辨識聯絡方向「sideways」（應為下列之一：進線（inbound、IB）、外撥（outbound、外撥））"
    assert en["unknown_choice"] == ("unknown direction 'sideways' (expected one of: Inbound (inbound, IB), "
                                    "Outbound (outbound, 外撥))")
    # json's own words (English) only in English; the place in the file in both
    assert zh["invalid_json"] == "不是有效的 JSON：從第 3 行第 43 個字元起無法解讀（整筆資料不匯入）"
    assert en["invalid_json"] == ("not valid JSON: unreadable from line 3, column 43 (Expecting ',' delimiter; the record "
                                  "is not imported)")
    assert zh["total_row"] == "報表的合計列（「合計」），不是一筆紀錄，不匯入"
    assert en["total_row"] == "a totals row of the report ('合計'), not a record; not imported"


def test_value_recodes_are_summed_up_in_words():
    values = {"answered": {"answered": "Y", "connected": "Y", "放棄": "N"}, "channel": {"電話": "phone", "線上文字": "chat"}}
    assert imports.describe_recodes(values, "contacts", "zh-TW") == "是否接通（3 種寫法 → 是、否）、管道（2 種寫法 → 電話、文字客服）"
    assert imports.describe_recodes(values, "contacts", "en") == "Answered (3 spellings -> yes, no), Channel (2 spellings -> Phone, Chat)"
    # A spelling recoded to nothing (Five9's "[None]" agent) reads as blank.
    assert imports.describe_recodes({"agent_id": {"[None]": ""}}, "contacts", "zh-TW") == "專員（1 種寫法 → 空白）"


def test_derived_columns_are_described_in_words():
    options = imports.Options(derive={"answered": {"not": "Abandon"}, "escalated": {"in": {"Level": ["主管", "經理"]}},
                                      "wait_seconds": {"seconds_between": ["Queued", "Connected"]}})
    assert imports.describe_derived(options, "zh-TW") == ("是否接通：「Abandon」的相反、是否升級：「Level」為 主管、經理 時為是、"
                                                          "等候時間（秒）：「Queued」到「Connected」的秒數")
    assert imports.describe_derived(options, "en") == ("Answered: the opposite of Abandon, Escalated: yes when Level is "
                                                       "主管, 經理, Wait (s): seconds from Queued to Connected")


def test_a_preview_reads_with_column_names_and_coded_values_in_words():
    frame = pd.DataFrame({"contact_id": ["V-1"], "channel": ["phone"], "queue": ["tech"], "wait_seconds": [12.0]})
    shown = present.readable_fields(frame, "zh-TW")
    assert shown.columns.tolist() == ["進線編號", "管道", "佇列", "等候時間（秒）"]
    assert shown.iloc[0].tolist() == ["V-1", "電話", "技術支援", 12.0]
