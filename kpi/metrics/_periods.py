"""The periods a supervisor looks at: an ISO week, a calendar month, a quarter, or any range of days.

A period is complete when the contact data reaches its last day; an incomplete one (the current week or month) is
marked so, and pages say its figures will still move.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from ..present import t

KINDS = ("week", "month", "quarter", "range")


@dataclass(frozen=True)
class Period:
    kind: str  # one of KINDS
    start: date
    end: date  # inclusive
    complete: bool  # the contact data reaches the end's day

    @property
    def key(self) -> str:
        """2026-W47, 2026-11, 2026-Q4, or 2026-11-01_2026-11-20: stable, for file names and widget values."""
        if self.kind == "week":
            iso = self.start.isocalendar()
            return f"{iso.year}-W{iso.week:02d}"
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start}_{self.end}"

    def label(self, lang: str) -> str:
        """As the sidebar and captions name it: 2026-W47 / 2026 年 11 月 / 2026 年第 4 季 / 2026-11-01 至 2026-11-20,
        with （未完整） / (incomplete) while the data does not reach its end."""
        if self.kind == "week":
            text = self.key
        elif self.kind == "month":
            text = t("period.month_label", lang, year=self.start.year, month=self.start.month, name=f"{self.start:%b}")
        elif self.kind == "quarter":
            text = t("period.quarter_label", lang, year=self.start.year, q=(self.start.month - 1) // 3 + 1)
        else:
            text = t("period.range", lang, start=self.start, end=self.end)
        return text if self.complete else text + t("period.incomplete", lang)


def _last_day(con: duckdb.DuckDBPyConnection) -> tuple[date | None, date | None]:
    with con.cursor() as cur:
        return cur.execute("SELECT min(arrived_at)::DATE, max(arrived_at)::DATE FROM contacts").fetchone()


def _first_of(kind: str, d: date) -> date:
    if kind == "week":
        return d - timedelta(days=d.weekday())
    if kind == "month":
        return d.replace(day=1)
    return date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)


def _next(kind: str, start: date) -> date:
    if kind == "week":
        return start + timedelta(days=7)
    months = 1 if kind == "month" else 3
    y, m = divmod(start.month - 1 + months, 12)
    return date(start.year + y, m + 1, 1)


def periods(con: duckdb.DuckDBPyConnection, kind: str) -> list[Period]:
    """Every week, month or quarter the contacts touch, newest first, each marked complete or not."""
    if kind not in KINDS[:3]:
        raise ValueError(f"period kind {kind!r}: expected one of {', '.join(KINDS[:3])}")
    first, last = _last_day(con)
    if last is None:
        return []
    out, start = [], _first_of(kind, first)
    while start <= last:
        end = _next(kind, start) - timedelta(days=1)
        out.append(Period(kind, start, end, end <= last))
        start = _next(kind, start)
    return out[::-1]


def custom_period(con: duckdb.DuckDBPyConnection, start: date, end: date) -> Period:
    """Any range of days (start <= end), complete when the data reaches its end."""
    if end < start:
        raise ValueError(f"range {start} – {end}: the end is before the start")
    last = _last_day(con)[1]
    return Period("range", start, end, last is not None and end <= last)


def default_period(choices: list[Period]) -> Period | None:
    """The latest complete period, else the latest."""
    return next((p for p in choices if p.complete), choices[0] if choices else None)


def _previous(kind: str, start: date) -> date:
    if kind == "week":
        return start - timedelta(days=7)
    return _first_of("month", start - timedelta(days=1))


def trend_window(period: Period, buckets: int = 12) -> tuple[str, date, date, date, date]:
    """(grain, first, last, baseline first, baseline last): the weeks (months, for a month or quarter) ending with the
    one that holds the period's end, and as many before that one, whose spread sets the natural process limits
    (XmR) it is judged against."""
    grain = "month" if period.kind in ("month", "quarter") else "week"
    last_start = _first_of(grain, period.end)
    first = base_first = last_start
    for _ in range(buckets - 1):
        first = _previous(grain, first)
    for _ in range(buckets):
        base_first = _previous(grain, base_first)
    return grain, first, _next(grain, last_start) - timedelta(days=1), base_first, last_start - timedelta(days=1)


def previous_label(period: Period, lang: str) -> str:
    """What a change is against: 較前一週 / 較上個月 / 較上一季 / 較前 20 天."""
    if period.kind == "range":
        return t("tile.vs_prev_days", lang, days=(period.end - period.start).days + 1)
    return t(f"tile.vs_prev_{period.kind}", lang)


def span(period: Period, weeks: int | None) -> tuple[date, date]:
    """The period itself (weeks None), or the given number of weeks ending on its last day."""
    if weeks is None:
        return period.start, period.end
    return period.end - timedelta(weeks=weeks) + timedelta(days=1), period.end
