"""Periods beside the ISO week: months, quarters and any range, each marked complete or not."""
from __future__ import annotations

from datetime import date

import pytest

from kpi import metrics
from helpers import db_with


def contacts(*days: str) -> list[dict]:
    return [dict(contact_id=f"c{i}", arrived_at=f"{d} 10:00", channel="phone", answered=False) for i, d in enumerate(days)]


# Data from Tuesday 2026-09-29 (ISO W40, Q3) to Wednesday 2026-11-18 (W47, mid-November).
CON = db_with(contacts=contacts("2026-09-29", "2026-10-15", "2026-11-18"))


def test_weeks_months_and_quarters_the_data_touches_newest_first():
    weeks = metrics.periods(CON, "week")
    assert [w.key for w in weeks[:2]] == ["2026-W47", "2026-W46"] and weeks[-1].key == "2026-W40" and len(weeks) == 8
    assert weeks[0].start == date(2026, 11, 16) and weeks[0].end == date(2026, 11, 22)
    # the data stops on Wednesday 18 November: W47 and November are not over, W46 and October are
    assert not weeks[0].complete and weeks[1].complete
    months = metrics.periods(CON, "month")
    assert [(m.key, m.start, m.end, m.complete) for m in months] == [
        ("2026-11", date(2026, 11, 1), date(2026, 11, 30), False),
        ("2026-10", date(2026, 10, 1), date(2026, 10, 31), True),
        ("2026-09", date(2026, 9, 1), date(2026, 9, 30), True)]
    quarters = metrics.periods(CON, "quarter")
    assert [(q.key, q.start, q.end, q.complete) for q in quarters] == [
        ("2026-Q4", date(2026, 10, 1), date(2026, 12, 31), False), ("2026-Q3", date(2026, 7, 1), date(2026, 9, 30), True)]
    assert metrics.default_period(months).key == "2026-10"  # the latest complete one
    assert metrics.periods(db_with(), "month") == []


def test_labels_say_which_period_and_that_it_is_incomplete_in_both_languages():
    nov, oct_ = metrics.periods(CON, "month")[:2]
    assert nov.label("zh-TW") == "2026 年 11 月（未完整）" and nov.label("en") == "Nov 2026 (incomplete)"
    assert oct_.label("zh-TW") == "2026 年 10 月"
    q4 = metrics.periods(CON, "quarter")[0]
    assert q4.label("zh-TW") == "2026 年第 4 季（未完整）" and q4.label("en") == "Q4 2026 (incomplete)"
    r = metrics.custom_period(CON, date(2026, 10, 5), date(2026, 10, 20))
    assert r.complete and r.label("zh-TW") == "2026-10-05 至 2026-10-20" and r.key == "2026-10-05_2026-10-20"
    assert not metrics.custom_period(CON, date(2026, 11, 1), date(2026, 11, 20)).complete
    with pytest.raises(ValueError, match="before the start"):
        metrics.custom_period(CON, date(2026, 10, 20), date(2026, 10, 5))


def test_trend_window_and_spans():
    w46 = metrics.periods(CON, "week")[1]
    # weekly trend W35-W46, limits from the 12 weeks before W46 (W34-W45)
    assert metrics.trend_window(w46) == ("week", date(2026, 8, 24), date(2026, 11, 15), date(2026, 8, 17),
                                         date(2026, 11, 8))
    oct_ = metrics.periods(CON, "month")[1]
    # monthly trend Nov 2025 - Oct 2026, limits from Oct 2025 - Sep 2026
    assert metrics.trend_window(oct_) == ("month", date(2025, 11, 1), date(2026, 10, 31), date(2025, 10, 1),
                                          date(2026, 9, 30))
    q3 = metrics.periods(CON, "quarter")[1]
    assert metrics.trend_window(q3)[:3] == ("month", date(2025, 10, 1), date(2026, 9, 30))
    assert metrics.span(oct_, None) == (date(2026, 10, 1), date(2026, 10, 31))
    assert metrics.span(oct_, 4) == (date(2026, 10, 4), date(2026, 10, 31))
    assert metrics.previous_label(oct_, "zh-TW") == "較上個月"
    assert metrics.previous_label(metrics.custom_period(CON, date(2026, 10, 5), date(2026, 10, 20)), "en") == \
        "vs the 16 days before"
