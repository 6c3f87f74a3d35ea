"""Business-hours deadlines for deferred channels, on Taiwan's calendar (holidays.TW), worked out by hand."""
from __future__ import annotations

import pandas as pd
import pytest

from kpi.metrics import BusinessCalendar, business_deadline, business_seconds, parse_opening, taiwan_calendar

TW = taiwan_calendar(years=range(2025, 2027))  # office hours, Monday to Friday 09:00-18:00


def deadline(arrived: str, hours: float = 4, cal: BusinessCalendar = TW) -> str:
    return str(business_deadline(pd.Series([pd.Timestamp(arrived)]), hours, cal)[0])


def test_four_business_hours_within_one_day():
    assert deadline("2026-11-18 10:15") == "2026-11-18 14:15:00"


def test_the_weekend_does_not_count():
    # Friday 17:00: 1 h on Friday, then Monday 09:00 + 3 h
    assert deadline("2026-11-20 17:00") == "2026-11-23 12:00:00"
    # arrived on Saturday: the clock starts at Monday's opening
    assert deadline("2026-11-21 10:00") == "2026-11-23 13:00:00"
    # arrived before opening and after closing on a weekday
    assert deadline("2026-11-18 07:30") == "2026-11-18 13:00:00"
    assert deadline("2026-11-18 19:00") == "2026-11-19 13:00:00"


def test_a_national_holiday_does_not_count():
    # Thursday 2026-10-08 16:00: 2 h on Thursday; Friday 10-09 is National Day observed (10-10 is a Saturday);
    # the weekend; Monday 10-12 09:00 + 2 h
    assert deadline("2026-10-08 16:00") == "2026-10-12 11:00:00"


def test_a_make_up_workday_counts():
    # Friday 2025-02-07 17:00: 1 h; Saturday 2025-02-08 is a make-up workday (補班): 09:00 + 3 h
    assert deadline("2025-02-07 17:00") == "2025-02-08 12:00:00"
    # and its bridge day off, Monday 2025-01-27, is closed: Friday 01-24 17:00 + 4 h runs into the Lunar New Year
    # holidays (01-27 to 01-31) and lands on Monday 02-03 at 12:00
    assert deadline("2025-01-24 17:00") == "2025-02-03 12:00:00"


def test_deadlines_are_vectorised_and_keep_missing_values():
    out = business_deadline(pd.Series([pd.Timestamp("2026-11-20 17:00"), pd.NaT, pd.Timestamp("2026-11-18 10:00")]), 4, TW)
    assert [str(x) for x in out] == ["2026-11-23 12:00:00", "NaT", "2026-11-18 14:00:00"]


def test_a_24_hour_target_spans_three_working_days():
    # Wednesday 12:00 + 24 business hours: 6 h Wed, 9 h Thu, 9 h Fri = 24 -> Friday 18:00 (the close itself)
    assert deadline("2026-11-18 12:00", 24) == "2026-11-20 18:00:00"


def test_business_seconds_between_two_moments():
    s = pd.Series([pd.Timestamp("2026-11-20 17:00"), pd.Timestamp("2026-11-18 10:00"), pd.Timestamp("2026-11-18 10:00")])
    e = pd.Series([pd.Timestamp("2026-11-23 10:00"), pd.Timestamp("2026-11-18 09:00"), pd.NaT])
    out = business_seconds(s, e, TW)
    assert out[0] == 7200 and out[1] == 0 and pd.isna(out[2])  # 1 h Friday + 1 h Monday


def test_opening_hours_are_checked_with_readable_messages():
    assert parse_opening({"mon-fri": "09:00-18:00", "sat": "09:00-12:00"})[5] == (pd.Timestamp("09:00").time(),
                                                                              pd.Timestamp("12:00").time())
    with pytest.raises(ValueError, match="'funday' is not a weekday"):
        parse_opening({"funday": "09:00-18:00"})
    with pytest.raises(ValueError, match="closes before it opens"):
        parse_opening({"mon": "18:00-09:00"})
    with pytest.raises(ValueError, match="above 0"):
        business_deadline(pd.Series([pd.Timestamp("2026-11-18 10:00")]), 0, TW)


def test_deadlines_in_sql_equal_the_python_ones():
    import duckdb
    import numpy as np
    from datetime import date

    from kpi.metrics import DEADLINE_SQL, calendar_table

    rng = np.random.default_rng(7)
    arrived = pd.to_datetime("2025-01-01") + pd.to_timedelta(rng.integers(0, 600 * 86400, 500), unit="s")
    frame = pd.DataFrame({"contact_id": range(500), "arrived_at": arrived,
                          "channel": np.where(rng.random(500) < 0.5, "email", "phone")})
    frame.loc[0, ["arrived_at", "channel"]] = [pd.Timestamp("2025-02-07 17:00"), "email"]  # the 補班 case above
    con = duckdb.connect()
    con.register("contacts", frame)
    con.register("cal", calendar_table({"email": TW}, {"email": 4}, date(2025, 1, 1), date(2026, 9, 1)))
    out = con.execute(DEADLINE_SQL.format(at="arrived_at", source="SELECT * FROM contacts", calendar="cal")
                      + " ORDER BY contact_id").df()
    email = (out["channel"] == "email").to_numpy()
    expected = business_deadline(frame["arrived_at"], 4, TW)
    assert (out["__deadline"][email].to_numpy() == expected[email].to_numpy()).all()
    assert out["__deadline"][~email].isna().all()  # phone is not a deferred channel: no deadline
    assert str(out["__deadline"][0]) == "2025-02-08 12:00:00"
