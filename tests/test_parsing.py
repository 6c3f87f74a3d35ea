"""Each parsing rule real exports need, on literal values worked out by hand."""
import json
from datetime import datetime

import pandas as pd
import pytest

from kpi import imports


def reason(cell: str) -> dict:
    """A bad cell's reason: its message code and parameters (kept as JSON beside the cell)."""
    return json.loads(cell)


def ts(values, order="auto"):
    return imports.parse_timestamp(pd.Series(values, dtype=object), order)


@pytest.mark.parametrize("text, expected", [
    ("2026-11-26 14:30:05", datetime(2026, 11, 26, 14, 30, 5)),
    ("2026-11-26T14:30:05", datetime(2026, 11, 26, 14, 30, 5)),
    ("2026/11/26 14:30", datetime(2026, 11, 26, 14, 30)),
    ("2026.11.26", datetime(2026, 11, 26)),
    ("2026/3/4 下午 2:05", datetime(2026, 3, 4, 14, 5)),
    ("2026/3/4 12:05 AM", datetime(2026, 3, 4, 0, 5)),
    ("2026年11月26日 08:00", datetime(2026, 11, 26, 8, 0)),
    ("２０２６－１１－２６", datetime(2026, 11, 26)),  # full-width digits and dash
    ("2026-11-26T06:30:00Z", datetime(2026, 11, 26, 14, 30)),  # UTC -> Taipei (+8 h)
    ("2026-11-26 14:30:00.250", datetime(2026, 11, 26, 14, 30, 0, 250000)),
    ("16-Nov-2026 2:05 PM", datetime(2026, 11, 16, 14, 5)),  # English month names
    ("Nov 16, 2026 09:30", datetime(2026, 11, 16, 9, 30)),
    ("16 November 2026", datetime(2026, 11, 16)),
])
def test_timestamp_forms(text, expected):
    assert ts([text]).values[0] == pd.Timestamp(expected)


@pytest.mark.parametrize("text, expected", [
    ("115/11/26", datetime(2026, 11, 26)),  # ROC year 115 + 1911 = 2026
    ("114/09/01 08:15", datetime(2025, 9, 1, 8, 15)),
    ("民國115年1月2日", datetime(2026, 1, 2)),
])
def test_roc_years_add_1911(text, expected):
    assert ts([text]).values[0] == pd.Timestamp(expected)


def test_a_first_field_above_12_makes_the_whole_column_day_first():
    # 13/02 can only be 13 February, so 01/02 in the same column is 1 February, not 2 January.
    got = ts(["13/02/2026 10:00", "01/02/2026"]).values.tolist()
    assert got == [pd.Timestamp(2026, 2, 13, 10), pd.Timestamp(2026, 2, 1)]


def test_a_second_field_above_12_makes_the_column_month_first():
    got = ts(["02/13/2026", "01/02/2026"]).values.tolist()
    assert got == [pd.Timestamp(2026, 2, 13), pd.Timestamp(2026, 1, 2)]


def test_undecidable_columns_follow_date_order_default_month_first():
    assert ts(["01/02/2026"]).values[0] == pd.Timestamp(2026, 1, 2)
    assert ts(["01/02/2026"], "dmy").values[0] == pd.Timestamp(2026, 2, 1)


def test_unreadable_timestamps_are_errors_and_empty_cells_are_not():
    p = ts(["not a date", "", None, "2026-13-01", "2026-02-30"])
    assert p.values.isna().all()
    assert p.errors.notna().tolist() == [True, False, False, True, True]
    assert reason(p.errors[0]) == {"code": "unreadable_timestamp", "value": "not a date"}


@pytest.mark.parametrize("text, unit, seconds", [
    ("12", "s", 12.0),
    ("1500", "ms", 1.5),
    ("2.5", "min", 150.0),
    ("1:02:03", "s", 3723.0),  # 1 h 2 min 3 s
    ("02:30", "s", 150.0),  # mm:ss
    ("25:00:00", "s", 90000.0),  # hours may pass 24
    ("1,200", "s", 1200.0),
])
def test_durations(text, unit, seconds):
    assert imports.parse_duration(pd.Series([text], dtype=object), unit).values[0] == seconds


def test_negative_duration_is_an_error():
    p = imports.parse_duration(pd.Series(["-5", "-0:10"], dtype=object))
    assert p.values.isna().all()
    assert [reason(e) for e in p.errors] == [{"code": "negative_duration", "value": "-5"},
                                             {"code": "negative_duration", "value": "-0:10"}]


@pytest.mark.parametrize("text, value", [
    ("Y", True), ("n", False), ("Yes", True), ("NO", False), ("TRUE", True), ("false", False),
    ("1", True), ("0", False), ("是", True), ("否", False),
])
def test_booleans(text, value):
    assert imports.parse_bool(pd.Series([text], dtype=object)).values[0] == value


def test_unknown_boolean_is_an_error():
    p = imports.parse_bool(pd.Series(["maybe"], dtype=object))
    assert pd.isna(p.values[0]) and reason(p.errors[0]) == {"code": "unreadable_bool", "value": "maybe"}


@pytest.mark.parametrize("text, amount", [
    ("1,234,567", 1234567.0), ("NT$1,234", 1234.0), ("NT$ 50,000", 50000.0), ("1,000 元", 1000.0),
    ("(2,500)", -2500.0), ("-300", -300.0), ("12.5", 12.5),
])
def test_amounts(text, amount):
    assert imports.parse_amount(pd.Series([text], dtype=object)).values[0] == amount


def test_scores_out_of_range_or_fractional_are_errors():
    p = imports.parse_int(pd.Series(["5", "6", "0", "3.5"], dtype=object), 1, 5)
    assert p.values[0] == 5
    assert p.values[1:].isna().all()
    assert reason(p.errors[1]) == {"code": "out_of_range", "value": "6", "lo": 1, "hi": 5}
    assert imports.reason_text("out_of_range", reason(p.errors[1]), "en") == "out of range: 6 (expected 1-5)"
    assert reason(p.errors[3]) == {"code": "unreadable_int", "value": "3.5"}


@pytest.mark.parametrize("text, month", [
    ("2026-11", "2026-11-01"), ("2026/03", "2026-03-01"), ("2026-03-01", "2026-03-01"), ("115/03", "2026-03-01"),
    ("2026年1月", "2026-01-01"), ("Nov-26", "2026-11-01"), ("November 2026", "2026-11-01"), ("11/2026", "2026-11-01"),
])
def test_months(text, month):
    assert imports.parse_month_text(text) == pd.Timestamp(month)


# ----------------------------------------------------------------------------------------------- ranges, decimal marks

def codes(p) -> list:
    """Each cell's reason code, None where the cell is fine."""
    return [None if pd.isna(e) else reason(e)["code"] for e in p.errors]


def test_durations_beyond_seven_days_or_not_finite_are_rejected_with_the_limit():
    # 604,800 s = 7 days is the last duration accepted; inf, Infinity and 1e400 (beyond float) are beyond it too.
    p = imports.parse_duration(pd.Series(["604800", "604801", "1e12", "inf", "Infinity", "1e400", "-inf"], dtype=object))
    assert p.values.tolist()[0] == 604800.0 and p.values[1:].isna().all()
    assert codes(p) == [None, "too_long", "too_long", "too_long", "too_long", "too_long", "negative_duration"]
    assert reason(p.errors[2]) == {"code": "too_long", "value": "1e12", "hi": 604800.0, "kind": "duration"}
    # in ms the limit holds after the unit: 604,800,001 ms is 604,800.001 s
    assert codes(imports.parse_duration(pd.Series(["604800001"], dtype=object), "ms")) == ["too_long"]


@pytest.mark.parametrize("text", ["1:99", "0:60", "1:60:00", "2:00:75"])
def test_minutes_and_seconds_of_60_or_more_are_not_a_duration(text):
    p = imports.parse_duration(pd.Series([text], dtype=object))
    assert pd.isna(p.values[0]) and codes(p) == ["unreadable_duration"]


def test_minutes_may_pass_60_when_no_hours_are_written():
    assert imports.parse_duration(pd.Series(["90:30"], dtype=object)).values[0] == 5430.0  # 90 min 30 s


def test_hours_follow_the_column_range():
    # complaints' hours columns allow a year (8,784 h); the kind's default is 7 days (168 h)
    p = imports.parse_hours(pd.Series(["8784", "8784.5", "inf", "-1"], dtype=object), 0, 8784)
    assert p.values.tolist()[:1] == [8784.0] and codes(p) == [None, "too_long", "too_long", "negative_hours"]
    assert codes(imports.parse_hours(pd.Series(["168", "169"], dtype=object))) == [None, "too_long"]


def test_amounts_beyond_ten_trillion_or_not_finite_are_rejected():
    p = imports.parse_amount(pd.Series(["10,000,000,000,000", "1e14", "-1e14", "inf", "1e309", "nan"], dtype=object))
    assert p.values[0] == 1e13 and p.values[1:].isna().all()
    assert codes(p) == [None] + ["amount_out_of_range"] * 4 + ["unreadable_amount"]


def test_counts_beyond_the_integer_type_are_out_of_range_not_a_crash():
    # reopened_count is an INTEGER column: 3,000,000,000 does not fit (2,147,483,647 does)
    p = imports.parse_int(pd.Series(["2147483647", "3000000000", "inf", "-1"], dtype=object), 0)
    assert p.values[0] == 2147483647 and p.values[1:].isna().all()
    assert codes(p) == [None, "out_of_range", "out_of_range", "out_of_range"]
    assert imports.reason_text("out_of_range", reason(p.errors[1]), "en") == "out of range: 3000000000 (expected 0-2,147,483,647)"


@pytest.mark.parametrize("text, decimal, value", [
    ("300,5", ",", 300.5), ("1.234,56", ",", 1234.56), ("1.234.567", ",", 1234567.0), ("0,25", ",", 0.25),
    ("1,234.56", ".", 1234.56), ("1,234", ".", 1234.0), ("1,234", ",", 1.234), ("NT$1.234,5", ",", 1234.5),
])
def test_amounts_read_with_the_file_s_decimal_mark(text, decimal, value):
    assert imports.parse_amount(pd.Series([text], dtype=object), decimal=decimal).values[0] == value


@pytest.mark.parametrize("text, decimal", [("300,5", "."), ("1,23,4", "."), ("1.234,56", "."), ("1.5", ","),
                                           ("12.34.5", ",")])
def test_a_separator_out_of_place_is_unreadable_not_another_number(text, decimal):
    # 300,5 in a file with decimal points was read as 3005; a point in a decimal-comma file groups thousands only
    p = imports.parse_amount(pd.Series([text], dtype=object), decimal=decimal)
    assert pd.isna(p.values[0]) and codes(p) == ["unreadable_amount"]


def test_durations_and_hours_with_a_decimal_comma():
    assert imports.parse_duration(pd.Series(["12,5", "1:02,5"], dtype=object), decimal=",").values.tolist() == [12.5, 62.5]
    assert imports.parse_hours(pd.Series(["2,25"], dtype=object), decimal=",").values[0] == 2.25
