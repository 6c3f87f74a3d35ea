"""Business hours in Taiwan: opening hours per weekday, national holidays and make-up workdays (補班) from the
maintained `holidays` package, and vectorised deadlines ("4 business hours after arrival") for deferred channels."""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time, timedelta

import holidays
import numpy as np
import pandas as pd

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
OFFICE_HOURS = {"mon-fri": "09:00-18:00"}


def _clock(text: str) -> time:
    hh, mm = text.strip().split(":")
    return time(int(hh), int(mm)) if hh != "24" else time(23, 59, 59, 999999)


def parse_opening(spec: Mapping[str, str]) -> dict[int, tuple[time, time]]:
    """{"mon-fri": "09:00-18:00", "sat": "09:00-12:00"} -> {0: (09:00, 18:00), ..., 5: (09:00, 12:00)}."""
    out: dict[int, tuple[time, time]] = {}
    for days, hours in spec.items():
        first, _, last = str(days).lower().partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise ValueError(f"business hours: {days!r} is not a weekday or range such as mon-fri")
        a, b = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        try:
            opens, closes = (_clock(x) for x in str(hours).split("-"))
        except ValueError:
            raise ValueError(f"business hours: {hours!r} for {days} is not HH:MM-HH:MM") from None
        if closes <= opens:
            raise ValueError(f"business hours: {hours!r} for {days} closes before it opens")
        for d in range(a, b + 1):
            out[d] = (opens, closes)
    return out


@dataclass(frozen=True)
class BusinessCalendar:
    """When the office works: opening hours per weekday (0 = Monday), closed days, and make-up workdays."""
    opening: Mapping[int, tuple[time, time]]
    closed: frozenset[date] = frozenset()
    makeup: frozenset[date] = frozenset()

    def hours_on(self, day: date) -> tuple[time, time] | None:
        """Opening hours of one day; a make-up workday keeps Monday's hours."""
        if day in self.makeup:
            return self.opening.get(0) or next(iter(self.opening.values()), None)
        if day in self.closed:
            return None
        return self.opening.get(day.weekday())


def taiwan_calendar(opening: Mapping[str, str] | None = None, years: range | None = None) -> BusinessCalendar:
    """Taiwan's national holidays and make-up workdays (holidays.TW) with the given opening hours (default office hours)."""
    years = years or range(2015, date.today().year + 3)
    tw = holidays.country_holidays("TW", years=list(years))
    return BusinessCalendar(parse_opening(opening or OFFICE_HOURS), frozenset(tw.keys()),
                            frozenset(getattr(tw, "weekend_workdays", ())))


def _day_table(cal: BusinessCalendar, first: date, last: date) -> pd.DataFrame:
    days = pd.date_range(first, last, freq="D")
    opens = np.zeros(len(days))
    lengths = np.zeros(len(days))
    for i, day in enumerate(days.date):
        hours = cal.hours_on(day)
        if hours:
            start = hours[0].hour * 3600 + hours[0].minute * 60
            end = hours[1].hour * 3600 + hours[1].minute * 60 + hours[1].second + hours[1].microsecond / 1e6
            opens[i], lengths[i] = start, end - start
    before = np.concatenate([[0.0], np.cumsum(lengths)[:-1]])
    return pd.DataFrame({"day": days, "open": opens, "length": lengths, "before": before})


def _span(cal: BusinessCalendar, stamps: pd.Series, hours: float) -> tuple[date, date]:
    first = stamps.min().date()
    shortest = min(((c.hour - o.hour) * 60 + c.minute - o.minute) / 60 for o, c in cal.opening.values())
    # Enough days to find every deadline: the hours at the shortest opening, weekends and a long holiday on top.
    reach = math.ceil(hours / max(shortest, 0.25) * 7 / max(len(cal.opening), 1)) + 21
    return first, stamps.max().date() + timedelta(days=reach)


def _elapsed(table: pd.DataFrame, first: date, stamps: pd.Series) -> np.ndarray:
    """Business seconds from the table's first day to each timestamp."""
    idx = ((stamps.dt.normalize() - pd.Timestamp(first)).dt.days).to_numpy()
    within = (stamps - stamps.dt.normalize()).dt.total_seconds().to_numpy() - table["open"].to_numpy()[idx]
    return table["before"].to_numpy()[idx] + np.clip(within, 0, table["length"].to_numpy()[idx])


def business_deadline(arrived: pd.Series, hours: float, cal: BusinessCalendar) -> pd.Series:
    """The moment `hours` business hours after each arrival (an arrival outside hours starts at the next opening)."""
    if not hours > 0:
        raise ValueError(f"business hours to a deadline must be above 0, got {hours}")
    stamps = pd.to_datetime(arrived)
    out = pd.Series(pd.NaT, index=arrived.index, dtype="datetime64[us]")
    ok = stamps.notna()
    if not ok.any():
        return out
    first, last = _span(cal, stamps[ok], hours)
    table = _day_table(cal, first, last)
    target = _elapsed(table, first, stamps[ok]) + hours * 3600
    ends = (table["before"] + table["length"]).to_numpy()
    day = np.searchsorted(ends, target, side="left")
    if (day >= len(table)).any():
        raise ValueError("business hours: no opening hours found after some arrivals (is every day closed?)")
    offset = table["open"].to_numpy()[day] + target - table["before"].to_numpy()[day]
    out[ok] = (table["day"].to_numpy()[day] + pd.to_timedelta(offset, unit="s")).astype("datetime64[us]")
    return out


def business_seconds(start: pd.Series, end: pd.Series, cal: BusinessCalendar) -> pd.Series:
    """Business seconds between two timestamps per row (0 when end is before start; null when either is missing)."""
    s, e = pd.to_datetime(start), pd.to_datetime(end)
    out = pd.Series(np.nan, index=start.index, dtype="float64")
    ok = s.notna() & e.notna()
    if not ok.any():
        return out
    both = pd.concat([s[ok], e[ok]])
    first, last = both.min().date(), both.max().date()
    table = _day_table(cal, first, last)
    out[ok] = np.maximum(_elapsed(table, first, e[ok]) - _elapsed(table, first, s[ok]), 0.0)
    return out


CALENDAR_COLUMNS = ["channel", "day", "open_s", "length", "before", "ends", "target_s"]


def calendar_table(calendars: Mapping[str, BusinessCalendar], hours: Mapping[str, float], first: date,
                   last: date) -> pd.DataFrame:
    """Per deferred channel and day: opening second, open length, business seconds before the day, and the target.

    The engine joins it to contacts to find each contact's deadline in SQL (see DEADLINE_SQL)."""
    parts = []
    for channel, cal in calendars.items():
        reach = _span(cal, pd.Series([pd.Timestamp(last)]), float(hours[channel]))[1]
        table = _day_table(cal, first, reach)
        table["ends"] = table["before"] + table["length"]
        parts.append(table.assign(channel=channel, day=table["day"].dt.date, open_s=table["open"],
                                  target_s=float(hours[channel]) * 3600))
    if not parts:  # no deferred channel: an empty table that still has its types (DuckDB binds on them)
        return pd.DataFrame({"channel": pd.Series(dtype=object), "day": pd.Series(dtype="datetime64[s]"),
                             **{c: pd.Series(dtype="float64") for c in CALENDAR_COLUMNS[2:]}})
    return pd.concat(parts, ignore_index=True)[CALENDAR_COLUMNS]


# Each deferred contact's deadline: business seconds elapsed at arrival (its day's row) plus the channel's target,
# then the first open day whose cumulative business seconds reach that (ASOF join on open days only).
DEADLINE_SQL = """
SELECT x.* EXCLUDE (__target), CASE WHEN x.__target IS NOT NULL THEN
         o.day + to_microseconds(round((o.open_s + x.__target - o.before) * 1e6)::BIGINT) END AS __deadline
FROM (SELECT c.*, cal.before + least(greatest(epoch(c.{at}) - epoch(c.{at}::DATE::TIMESTAMP) - cal.open_s, 0),
                                     cal.length) + cal.target_s AS __target
      FROM ({source}) c LEFT JOIN {calendar} cal ON cal.channel = c.channel AND cal.day = c.{at}::DATE) x
ASOF LEFT JOIN (SELECT * FROM {calendar} WHERE length > 0) o ON x.channel = o.channel AND x.__target <= o.ends
"""
