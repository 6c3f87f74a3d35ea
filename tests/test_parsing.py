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
