"""How a KPI value should be read: against its target, with its n and 95% interval, credible or not, maturing or
not, and whether it changed beyond noise since the previous period. Pages, reports, the CLI and the coaching ranking
all judge through here."""
from __future__ import annotations

import gc
import math
import os
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, NamedTuple

import duckdb
import numpy as np
import pandas as pd

from ..auth.access import Scope
from ._catalog import Catalog, Kpi, load_catalog, status_against
from ._engine import (DIMENSIONS, _compute, _compute_ranges, data_cutoffs, derived_parts, kpi_records, last_matured_end,
                      matures_on)
from ._stats import Z95, poisson_interval, two_proportion_z, wilson_interval, xmr_limits


class KpiValue(NamedTuple):
    """One KPI of one group as people should read it. A named tuple, not a dataclass: a table of 1,700 agents makes
    22,000 of them, which as frozen dataclasses (an object and its dict each) took 21 ms to make at 100M contacts
    against 4.5, and gave the cycle collector three objects each to walk instead of two."""

    id: str
    value: float | None
    target: float | None
    status: str | None  # good / warning / bad; uncertain when n is small or the interval holds the target
    previous: float | None
    change: float | None
    band: float | None = None  # the warning band that goes with target (team's, channel's or the center's)
    n: float | None = None  # the denominator of a rate or mean (responses, contacts, complaints)
    interval: tuple[float, float] | None = None  # 95%: Wilson for a rate, normal for a mean or NPS
    trend: str | None = None  # worse / better beyond noise (XmR limits or a 95% test; near: off / towards the target), steady, or None
    matures_on: date | None = None  # set while a maturing KPI has no value yet
    se: float | None = None  # standard error of the value (for comparing an agent with their team)


_new_value = tuple.__new__  # _new_value(KpiValue, its 12 fields): KpiValue(...) without __new__'s keyword handling


def without_status(v: KpiValue) -> KpiValue:
    """The value with no status (a table of thousands of agents over a blend of channels drops the status of half its
    values)."""
    return v if v.status is None else v._replace(status=None)


def previous_range(start: date, end: date) -> tuple[date, date]:
    """The period before [start, end]: the previous calendar month for a calendar month, the previous calendar quarter
    for a calendar quarter (the one the sidebar offers: 2026 Q2 before Q3, not the 92 days before it), else the
    same length."""
    whole_months = start.day == 1 and (end + timedelta(days=1)).day == 1
    if whole_months and (end - start).days < 31:
        last = start - timedelta(days=1)
        return last.replace(day=1), last
    if whole_months and start.month % 3 == 1 and 89 <= (end - start).days <= 91:
        last = start - timedelta(days=1)
        return last.replace(month=last.month - 2, day=1), last
    days = (end - start).days + 1
    return start - timedelta(days=days), start - timedelta(days=1)


def _num(x: Any) -> float | None:
    if type(x) is float:  # most values (compute_kpis' rows): NaN where missing
        return None if x != x else x
    return None if x is None or x is pd.NA or (isinstance(x, float) and x != x) else float(x)


_COLUMNS: dict[str, tuple[str, str, str]] = {}  # KPI id -> its __num, __den and __ss columns' names


def _columns_of(k: Kpi) -> tuple[str, str, str]:
    names = _COLUMNS.get(k.id)
    if names is None:
        names = _COLUMNS[k.id] = (f"{k.id}__num", f"{k.id}__den", f"{k.id}__ss")
    return names


def _spread(k: Kpi, row: Mapping[str, Any]) -> tuple[float | None, float | None, float | None]:
    """(n, mean, variance of one row's value) of a ratio KPI; variance None when the KPI has no spread."""
    num_col, den_col, ss_col = _columns_of(k)
    num, den = _num(row.get(num_col)), _num(row.get(den_col))
    if num is None or not den:
        return den, None, None
    mean = num / den
    if k.unit == "fraction":
        return den, mean, mean * (1 - mean)
    ss = _num(row.get(ss_col))
    return den, mean, None if ss is None else max(ss / den - mean * mean, 0.0)


def _interval(k: Kpi, row: Mapping[str, Any], spread: tuple | None = None) -> tuple[float, float] | None:
    n, mean, var = spread or _spread(k, row)
    if mean is None or var is None:
        return None
    if k.unit == "fraction":
        return wilson_interval(_num(row[_columns_of(k)[0]]), n)
    half = Z95 * math.sqrt(var / n)
    return mean - half, mean + half


WORSENING_MIN_BANDS = 0.5  # without a 12-period history, a change must also be at least this many bands to count


def _direction(k: Kpi, up: bool) -> str:
    return "better" if up == (k.better == "higher") else "worse"


def _trend(k: Kpi, now: Mapping[str, Any], before: Mapping[str, Any], history: list[float | None] | None,
           band: float | None, spread: tuple | None = None, target: float | None = None,
           whole: bool = True) -> str | None:
    """worse / better only beyond noise, steady when not, None when it can't be judged.

    With the 12 periods before (history): outside their XmR natural process limits. Otherwise: beyond a 95% test
    against the previous period (two proportions for a rate, two means for a mean or NPS, two Poisson counts for a
    count: only a flow of a period the data covers whole, `whole`) and by half a band at
    least, since a large n makes tiny moves 'significant' though week-to-week variation is larger. A KPI good near
    its target (escalation rate) is judged for noise the same way; beyond noise it is better when it came nearer the
    target than where it stood (the limits' centre line, or the previous period in the 95% test) by half a band at
    least, worse when it went as much further off, and not called either way when it swung across the target (None)."""
    if k.better not in ("higher", "lower", "near") or (k.better == "near" and target is None):
        return None
    value = _num(now.get(k.id))

    def moved(up: bool, stood: float | None) -> str | None:
        if k.better != "near":
            return _direction(k, up)
        if stood is None:
            return None
        nearer = abs(stood - target) - abs(value - target)
        if abs(nearer) < WORSENING_MIN_BANDS * (band or 0.0) or nearer == 0:
            return None  # as far off as before, on the other side: a change, neither better nor worse
        return "better" if nearer > 0 else "worse"

    limits = xmr_limits(history) if history else None
    if value is not None and limits is not None and limits.points >= 6:
        verdict = limits.judge(value)
        return "steady" if verdict == "within" else moved(verdict == "above", limits.centre)
    if k.unit == "count":  # a count of a period the data covers whole (complaints opened): two Poisson counts,
        c0 = _num(before.get(k.id))  # z = (c1 - c0) / sqrt(c1 + c0). It had no test, so 600 against 621 complaints
        if not whole or value is None or c0 is None or value + c0 <= 0:  # read as a real fall beside rates in noise
            return None
        z = (value - c0) / math.sqrt(value + c0)
        if abs(z) <= Z95 or (band and abs(value - c0) < WORSENING_MIN_BANDS * band):
            return "steady"
        return moved(z > 0, c0)
    n1, m1, v1 = spread or _spread(k, now)
    n0, m0, v0 = _spread(k, before)
    if m1 is None or m0 is None or v1 is None or v0 is None:
        return None
    if k.unit == "fraction":
        num_col = _columns_of(k)[0]
        z = two_proportion_z(_num(now[num_col]), n1, _num(before[num_col]), n0)
    else:
        se = math.sqrt(v1 / n1 + v0 / n0)
        z = None if se == 0 else (m1 - m0) / se
    if z is None or abs(z) <= Z95 or (band and abs(m1 - m0) < WORSENING_MIN_BANDS * band):
        return "steady"
    return moved(z > 0, m0)


@dataclass(frozen=True)
class _Rule:
    """What judging a KPI takes that is the same for every group of a period (the catalog's KPI, the period's end and
    the settings): worked out once for a table of thousands of agents, not once per agent."""

    k: Kpi
    min_n: float | None  # settings.min_n of its dataset
    whole: bool  # _flow_counted: a count the data covers to the period's end
    matures_on: date | None  # when a maturing KPI gets its value


def _rule(k: Kpi, end: date, settings: Mapping[str, Any]) -> _Rule:
    return _Rule(k, (settings.get("min_n") or {}).get("complaints" if k.dataset == "backlog" else k.dataset),
                 _flow_counted(k, end, settings), matures_on(k, end, settings) if k.matures else None)


def judge(k: Kpi, now: Mapping[str, Any], before: Mapping[str, Any], end: date, team: str | None,
          channel: str | None, settings: Mapping[str, Any], history: list[float | None] | None = None,
          target_band: tuple[float | None, float | None] | None = None) -> KpiValue:
    """One KPI of one group as people should read it: value, target, credible status, n, interval, real change.

    A good/warning/bad status needs at least settings.min_n of its dataset behind it and an interval that leaves
    the target out; otherwise it is 'uncertain' (grey). A maturing KPI has no value and says when it matures."""
    return _judged(_rule(k, end, settings), now, before, team, channel, history, target_band)


def _judged(rule: _Rule, now: Mapping[str, Any], before: Mapping[str, Any], team: str | None, channel: str | None,
            history: list[float | None] | None = None,
            target_band: tuple[float | None, float | None] | None = None) -> KpiValue:
    """judge() with what does not change from group to group worked out beforehand (rule)."""
    k = rule.k
    v, p = _num(now.get(k.id)), _num(before.get(k.id))
    target, band = target_band or k.target_for(team, channel)  # target_band: looked up once per group by a caller
    spread = _spread(k, now)
    n, _, var = spread
    interval = _interval(k, now, spread) if v is not None else None
    if k.counted and v is not None:  # a rate of a count (15.70 per 1,000 of 55 complaints): the count's spread
        n, interval = _counted_interval(k, now)
    st = status_against(k, v, target, band)
    min_n = rule.min_n
    small = n is not None and min_n is not None and n < min_n
    if st in ("good", "warning", "bad") and (small or _unclear(k, st, interval, target, band)):
        st = "uncertain"
    if v is None:
        return KpiValue(k.id, v, target, st, p, None, band, n, interval, None, rule.matures_on, None)
    return KpiValue(k.id, v, target, st, p, None if p is None else v - p, band, n, interval,
                      _trend(k, now, before, history, band, spread, target, rule.whole), None,
                      math.sqrt(var / n) if var is not None and n else None)


def _judged_many(rule: _Rule, now: Mapping[str, np.ndarray | None], before: Mapping[str, np.ndarray | None],
                 target_bands: list[tuple[float | None, float | None]], status: bool = True) -> list[KpiValue]:
    """_judged of one KPI for many groups at once, without history (group_status): now and before map a column to
    its values per group (NaN: missing; before aligned on now's groups), target_bands each group's (target, band).
    status False: every status None (without_status of each), the rest the same.
    The same arithmetic in the same order on whole columns, so each group's KpiValue equals _judged's, field for field
    (tests/test_judge_many.py); the status, read from the value as it is shown, and a count's interval stay per group."""
    k = rule.k
    size = len(target_bands)
    blank = np.full(size, np.nan)

    def column(of: Mapping[str, np.ndarray | None], name: str | None) -> np.ndarray:
        values = of.get(name) if name else None
        return blank if values is None else np.asarray(values, dtype="float64")

    num_col, den_col, ss_col = _columns_of(k)
    v, p = column(now, k.id), column(before, k.id)
    has_v = ~np.isnan(v)
    target = np.array([np.nan if t is None else t for t, _ in target_bands], dtype="float64")
    band = np.array([np.nan if b is None else b for _, b in target_bands], dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        spread_now = _spread_many(k, column(now, num_col), column(now, den_col), column(now, ss_col))
        spread_before = _spread_many(k, column(before, num_col), column(before, den_col), column(before, ss_col))
        num1, n1, mean1, var1 = spread_now
        has_iv = has_v & ~np.isnan(mean1) & ~np.isnan(var1)
        if k.unit == "fraction":
            refused = np.flatnonzero(has_iv & ~((num1 >= 0) & (num1 <= n1)))  # as wilson_interval refuses them
            if len(refused):
                raise ValueError(f"successes must lie in 0..n, got {num1[refused[0]]} of {n1[refused[0]]}")
            low, high = _wilson_many(num1, n1)
        else:
            half = Z95 * np.sqrt(var1 / n1)
            low, high = mean1 - half, mean1 + half
        trend = _trend_many(rule, v, p, target, band, spread_now, spread_before)
        se = np.sqrt(var1 / n1)
    n = n1.copy()
    counted: dict[int, tuple] = {}
    if k.counted:  # a rate of a count: the count's n and Poisson interval, group by group (few such KPIs)
        exposure = derived_parts(k.formula)[2]
        for i in np.flatnonzero(has_v).tolist():
            counted[i] = _counted_interval(k, {k.counted: _value_at(now, k.counted, i),
                                               exposure: _value_at(now, exposure, i)})
    out = []
    values, previous, ns = v.tolist(), p.tolist(), n.tolist()
    lows, highs, ses = low.tolist(), high.tolist(), se.tolist()
    with_interval, with_variance = has_iv.tolist(), (~np.isnan(var1)).tolist()
    kid, min_n, matures = k.id, rule.min_n, rule.matures_on
    for i, (t, b) in enumerate(target_bands):
        value, before_value, size_n = values[i], previous[i], ns[i]
        if before_value != before_value:
            before_value = None
        if size_n != size_n:
            size_n = None
        interval = (lows[i], highs[i]) if with_interval[i] else None
        if counted and i in counted:
            size_n, interval = counted[i]
        if value != value:  # no value: nothing to judge
            out.append(_new_value(KpiValue, (kid, None, t, None, before_value, None, b, size_n, None, None, matures,
                                             None)))
            continue
        st = status_against(k, value, t, b) if status else None
        if st is not None and (
                (size_n is not None and min_n is not None and size_n < min_n) or _unclear(k, st, interval, t, b)):
            st = "uncertain"
        se = None
        if with_variance[i] and size_n:  # a variance, and an n that is not 0
            se = math.sqrt(var1[i] / size_n) if counted and i in counted else ses[i]
        out.append(_new_value(KpiValue, (kid, value, t, st, before_value,
                                         None if before_value is None else value - before_value, b, size_n, interval,
                                         trend[i], None, se)))
    return out


def _value_at(columns: Mapping[str, np.ndarray | None], name: str, i: int) -> float:
    values = columns.get(name)
    return float("nan") if values is None else float(values[i])


def _spread_many(k: Kpi, num: np.ndarray, den: np.ndarray, ss: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """_spread over a column: (num, n, mean, variance), NaN where _spread gives None."""
    ok = ~np.isnan(num) & ~np.isnan(den) & (den != 0)
    mean = np.where(ok, num / den, np.nan)
    if k.unit == "fraction":
        var = mean * (1 - mean)
    else:
        spread = ss / den - mean * mean
        var = np.where(ok & ~np.isnan(ss), np.where(0.0 > spread, 0.0, spread), np.nan)  # max(spread, 0.0): -0.0 kept
    return num, den, mean, var


def _wilson_many(successes: np.ndarray, n: np.ndarray, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """wilson_interval over columns (NaN where n is 0 or missing)."""
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    low, high = centre - half, centre + half
    return np.where(low > 0.0, low, 0.0), np.where(high < 1.0, high, 1.0)  # max(0.0, low), min(1.0, high) exactly


def _trend_many(rule: _Rule, v: np.ndarray, p: np.ndarray, target: np.ndarray, band: np.ndarray,
                spread_now: tuple[np.ndarray, ...], spread_before: tuple[np.ndarray, ...]) -> list[str | None]:
    """_trend without history over columns (the value, the one before, target and band per group, and the spreads
    _spread_many gives now and before): worse / better / steady per group, None where it can't be judged."""
    k = rule.k
    size = len(v)
    num1, n1, m1, v1 = spread_now
    num0, n0, m0, v0 = spread_before
    if k.better not in ("higher", "lower", "near"):
        return [None] * size
    band_set = ~np.isnan(band) & (band != 0)  # `band and ...`
    if k.unit == "count":
        judged = (v + p > 0) if rule.whole else np.zeros(size, dtype=bool)
        judged &= ~np.isnan(v) & ~np.isnan(p)
        z = (v - p) / np.sqrt(v + p)
        steady = (np.abs(z) <= Z95) | (band_set & (np.abs(v - p) < WORSENING_MIN_BANDS * band))
        stood = p
    else:
        judged = ~np.isnan(m1) & ~np.isnan(m0) & ~np.isnan(v1) & ~np.isnan(v0)
        if k.unit == "fraction":
            pooled = (num1 + num0) / (n1 + n0)
            tested = (n1 > 0) & (n0 > 0) & (pooled != 0.0) & (pooled != 1.0)
            z = (num1 / n1 - num0 / n0) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
        else:
            se = np.sqrt(v1 / n1 + v0 / n0)
            tested = se != 0
            z = (m1 - m0) / se
        steady = ~tested | (np.abs(z) <= Z95) | (band_set & (np.abs(m1 - m0) < WORSENING_MIN_BANDS * band))
        stood = m0
    up = z > 0
    if k.better == "near":
        nearer = np.abs(stood - target) - np.abs(v - target)
        band_or_0 = np.where(np.isnan(band), 0.0, band)
        unmoved = (np.abs(nearer) < WORSENING_MIN_BANDS * band_or_0) | (nearer == 0)
        moved = np.where(unmoved, None, np.where(nearer > 0, "better", "worse"))
        judged &= ~np.isnan(target)
    else:
        moved = np.where(up == (k.better == "higher"), "better", "worse")
    verdict = np.where(steady, "steady", moved).tolist()
    return [verdict[i] if judged[i] else None for i in range(size)]


def _counted_interval(k: Kpi, row: Mapping[str, Any]) -> tuple[float | None, tuple[float, float] | None]:
    """(n, 95% interval) of a derived rate of a count (scale x count / exposure: 1000 x complaints / answered): the
    count, and the count's Poisson interval at scale / exposure (55 complaints over 3,504 answered, 15.70 per 1,000:
    12.06 to 20.43). A zero count has one too: 0 to 3.84 complaints' worth (0 of 5 answered is not a settled 0.00)."""
    scale, _, exposure = derived_parts(k.formula)
    count, per = _num(row.get(k.counted)), _num(row.get(exposure))
    if count is None or count < 0 or not per:
        return count, None
    low, high = poisson_interval(count)
    return count, (scale * low / per, scale * high / per)


def _flow_counted(k: Kpi, end: date, settings: Mapping[str, Any]) -> bool:
    """Whether a count can be set against the period before as two Poisson counts: a flow (complaints opened; not a
    backlog, whose snapshots share most of their items, nor a count at the data's cut-off) over a period the data
    covers to its end (November to the 30th with complaints to the 22nd would read 22 days against 30 as better)."""
    if k.unit != "count" or k.dataset == "backlog" or "$cutoff" in (k.sql or ""):
        return False
    cutoff = (settings.get("__cutoffs") or {}).get(k.dataset)
    return cutoff is not None and pd.Timestamp(cutoff).date() >= end  # the data reaches the period's last day


def _unclear(k: Kpi, st: str, interval: tuple[float, float] | None, target: float | None,
             band: float | None) -> bool:
    """The interval does not settle the status: it holds the target (one-sided KPIs), or, for a KPI with a band on
    both sides, it is not wholly inside the band (good) or wholly outside it (warning, bad)."""
    if interval is None or target is None:
        return False
    if k.better != "near":
        return interval[0] <= target <= interval[1]
    lo, hi = target - (band or 0.0), target + (band or 0.0)
    inside = lo <= interval[0] and interval[1] <= hi
    outside = interval[1] < lo or interval[0] > hi
    return not inside if st == "good" else not outside


def cell_status(k: Kpi, num: float | None, den: float | None, target: float | None,
                band: float | None) -> str | None:
    """A small cell's proportion (an hour of a heat map, a half-hour of the staffing grid: num of den contacts)
    judged as the tiles judge theirs, without their minimum n: good / warning / bad only when its 95% Wilson interval
    settles it (_unclear), else uncertain; None without contacts. An hour of 4 calls at 75% against a target of 80%
    (interval 30%-95%) is uncertain, not amber; 100 calls at 60% (50%-69%) is bad."""
    if not den or num is None or den != den or num != num:
        return None
    st = status_against(k, num / den, target, band)
    if st in ("good", "warning", "bad") and _unclear(k, st, wilson_interval(num, den), target, band):
        return "uncertain"
    return st


def with_cutoffs(con: duckdb.DuckDBPyConnection, catalog: Catalog) -> dict[str, Any]:
    """The catalog's settings with the data's cut-offs (the latest timestamps imported), for compute_kpis."""
    return {**catalog.settings, "__cutoffs": data_cutoffs(con)}


def kpi_status(con: duckdb.DuckDBPyConnection, start: date, end: date, *, team: str | None = None,
               channel: str | None = None, queue: str | None = None, catalog: Catalog | None = None,
               scope: Scope | None = None, settings: dict[str, Any] | None = None,
               kpis: Iterable[str] | None = None) -> dict[str, KpiValue]:
    """Each KPI's value, target, status, n, interval and change against the previous period of the same length,
    over the rows within the scope. settings: the catalog's with the data's cut-offs (read once by a caller making
    several passes); None reads them. kpis: only these (compute_kpis' kpis)."""
    catalog = catalog or load_catalog()
    settings = settings or with_cutoffs(con, catalog)
    kw = dict(team=team, channel=channel, queue=queue, catalog=catalog, settings=settings, stats=True, scope=scope,
              kpis=kpis)
    grain = _history_grain(start, end)
    if grain is None:  # a range of days: the same number of days before, no history
        now = kpi_records(con, start, end, **kw)[0]
        before = kpi_records(con, *previous_range(start, end), **kw)[0]
        return judged(catalog, settings, now, before, {}, end, team, channel)
    # An ISO week or calendar month and the 12 before it (the history, whose last is the previous range) from one
    # grouped pass: the range is its last bucket. Half the statements of a pass for the range and one for the 12.
    first = start - timedelta(weeks=12) if grain == "week" else date(start.year - 1, start.month, 1)
    rows = kpi_records(con, first, end, grain, **kw)
    history = {k.id: [_num(r[k.id]) for r in rows[:-1]] for k in catalog.kpis.values() if k.id in rows[-1]}
    return judged(catalog, settings, period_row(rows[-1]), rows[-2], history, end, team, channel)


def period_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A bucket's row (compute_kpis by week or month, stats=True) as the pass over its range alone gives it: a ratio's
    n (its __den) 0 where the bucket holds no rows of its dataset, as a count over no rows is, not missing."""
    return {c: 0.0 if c.endswith("__den") and _num(v) is None else v for c, v in row.items()}


@dataclass(frozen=True)
class SettledStatus:
    """kpi_status of a range, where each maturing KPI a span of weeks has no value for yet is taken over `over`."""

    status: dict[str, KpiValue]
    matures_on: date | None = None  # when the range's own maturing KPIs get their value (None: none is waiting)
    over: tuple[date, date] | None = None  # the span the maturing KPIs in `shifted` are of
    shifted: tuple[str, ...] = ()  # in the catalog's order


def settled_status(con: duckdb.DuckDBPyConnection, start: date, end: date, *, team: str | None = None,
                   channel: str | None = None, queue: str | None = None, catalog: Catalog | None = None,
                   scope: Scope | None = None) -> SettledStatus:
    """kpi_status of the range; for a span of two or more whole ISO weeks ending in weeks not yet judged (近 13 週 to
    last week: every complaint rate maturing), each maturing KPI over the span of as many weeks ending on the last
    Sunday whose rates have matured in the data. A single week or a month keeps its own 成熟中 and date. What the
    quality page's tiles and the customer service report both show."""
    catalog = catalog or load_catalog()
    settings = with_cutoffs(con, catalog)
    kw = dict(team=team, channel=channel, queue=queue, catalog=catalog, scope=scope, settings=settings)
    status = kpi_status(con, start, end, **kw)
    weeks = (end - start).days + 1
    waiting = [k for k, v in status.items() if v.matures_on is not None]
    own = max((status[k].matures_on for k in waiting), default=None)
    if not waiting or start.weekday() != 0 or weeks % 7 or weeks < 14:
        return SettledStatus(status, own)
    ends = [last_matured_end(catalog[k], settings) for k in waiting]
    if None in ends:
        return SettledStatus(status, own)
    last = min(ends)
    last -= timedelta(days=(last.weekday() + 1) % 7)  # back to the Sunday that ends its ISO week
    first = last - (end - start)
    earlier = kpi_status(con, first, last, **kw)
    shifted = tuple(k for k in waiting if earlier[k].value is not None)
    if not shifted:
        return SettledStatus(status, own)
    return SettledStatus({k: earlier[k] if k in shifted else v for k, v in status.items()}, own, (first, last), shifted)


def _history_grain(start: date, end: date) -> str | None:
    """"week" for an ISO week, "month" for a calendar month (ranges judged against their 12 before, XmR), else None."""
    if start.weekday() == 0 and (end - start).days == 6:
        return "week"
    if start.day == 1 and (end + timedelta(days=1)).day == 1 and (end - start).days < 31:
        return "month"
    return None


def judged(catalog: Catalog, settings: Mapping[str, Any], now: Mapping[str, Any], before: Mapping[str, Any],
           history: dict[str, list], end: date, team: str | None, channel: str | None) -> dict[str, KpiValue]:
    """Each KPI of a range's row (compute_kpis with stats=True) judged against the previous range's row and the
    history before it (kpi_status's rows, or the same buckets taken from a longer grouped pass)."""
    return {k.id: judge(k, now, before, end, team, channel, settings, history.get(k.id))
            for k in catalog.kpis.values() if k.id in now}


def history_of(frame: pd.DataFrame) -> dict[str, list]:
    """Each KPI's values in a frame of buckets (compute_kpis by week or month), for XmR limits."""
    return {c: [_num(v) for v in frame[c]] for c in frame.columns if c != "key"}


def group_status(con: duckdb.DuckDBPyConnection, start: date, end: date, by: str, *, team: str | None = None,
                 channel: str | None = None, queue: str | None = None, catalog: Catalog | None = None,
                 team_of: dict[Any, str] | None = None, scope: Scope | None = None,
                 settings: dict[str, Any] | None = None, kpis: Iterable[str] | None = None
                 ) -> dict[Any, dict[str, KpiValue]]:
    """kpi_status for every group of a dimension (team, agent, ...) within the scope: value, target, status, n,
    change vs before.

    team_of maps a group key to its team so per-team targets apply (a team key is its own team). kpis: only these
    (compute_kpis' kpis): thousands of agents are judged on what is shown of them, not on every KPI.
    """
    catalog = catalog or load_catalog()
    settings = settings or with_cutoffs(con, catalog)
    records = group_records(con, start, end, by, team=team, channel=channel, queue=queue, catalog=catalog,
                            settings=settings, scope=scope, kpis=kpis)
    return judged_groups(catalog, settings, records, by, end, team, channel, team_of)


def group_records(con: duckdb.DuckDBPyConnection, start: date, end: date, by: str, *, catalog: Catalog,
                  settings: dict[str, Any], **kw: Any) -> list[tuple[list, dict[str, np.ndarray | None]]]:
    """What group_status judges: the groups' keys and columns (stats=True; NaN where missing, None for a column with
    no value at all) of the range before [start, end] and of the range: one pass per dataset grouped by the range and
    a dimension (team, agent, ...), one per range otherwise."""
    ranges = [previous_range(start, end), (start, end)]
    if by not in DIMENSIONS:  # one row per range
        return [_compute(con, a, b, by, catalog=catalog, settings=settings, stats=True, **kw) for a, b in ranges]
    return _compute_ranges(con, ranges, by, catalog=catalog, settings=settings, stats=True, **kw)


def judged_groups(catalog: Catalog, settings: Mapping[str, Any], records: list[tuple[list, dict]], by: str,
                  end: date, team: str | None, channel: str | None, team_of: dict[Any, str] | None = None,
                  unjudged: Collection[str] = ()) -> dict[Any, dict[str, KpiValue]]:
    """group_status of its group_records: each group's KPIs judged against its row of the range before, a KPI at a
    time over every group (_judged_many: what _judged gives each group). unjudged: KPIs given no status (a blend of
    channels, _weekly.blended_kpis), as without_status would leave them."""
    (earlier_keys, earlier), (keys, now) = records
    if not keys:
        return {}
    at = {key: i for i, key in enumerate(earlier_keys)}
    rows = np.array([at.get(key, -1) for key in keys], dtype="int64")  # each group's row before; -1: none
    missing = rows < 0
    before: dict[str, np.ndarray | None] = {}
    for c, values in earlier.items():
        if values is not None and len(values):
            aligned = np.asarray(values, dtype="float64")[np.maximum(rows, 0)]
            aligned[missing] = np.nan
            before[c] = aligned
    teams = [key if by == "team" else (team_of or {}).get(key, team) for key in keys]
    channels = [key if by == "channel" else channel for key in keys]
    out: dict[Any, dict[str, KpiValue]] = {key: {} for key in keys}
    with _collector_paused():
        for k in catalog.kpis.values():
            if k.id not in now:
                continue
            looked_up: dict[tuple, tuple] = {}  # (team, channel) -> (target, band): 1,700 agents share a few teams
            bands = [looked_up.get(tc) or looked_up.setdefault(tc, k.target_for(*tc)) for tc in zip(teams, channels)]
            for key, value in zip(keys, _judged_many(_rule(k, end, settings), now, before, bands, k.id not in unjudged)):
                out[key][k.id] = value
    return out


_PAUSES = threading.Lock()
_paused = [0, False]  # tables being judged now (threads of a page, sessions); whether the collector was on before


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector held off while a table's values are made (gc.disable), and on again once the last
    table being judged in any thread is done, if it was on before the first: the 22,000 values of 1,700 agents, none
    of them garbage, would set it walking every object of the process several times, about a third of judging them."""
    with _PAUSES:
        if _paused[0] == 0:
            _paused[1] = gc.isenabled()
            gc.disable()
        _paused[0] += 1
    try:
        yield
    finally:
        with _PAUSES:
            _paused[0] -= 1
            if _paused[0] == 0 and _paused[1]:
                gc.enable()


def _forget_pauses() -> None:
    """In a forked process: the threads judging tables in the parent are not there (one may have held the lock), so
    their pauses end here; the collector on again if it was on before the first."""
    global _PAUSES
    _PAUSES = threading.Lock()
    if _paused[0] and _paused[1]:
        gc.enable()
    _paused[:] = [0, False]


os.register_at_fork(after_in_child=_forget_pauses)


def stats_jsonable(row: Mapping[str, Any], ids: list[str], catalog: Catalog, end: date,
                   settings: Mapping[str, Any]) -> dict[str, Any]:
    """Beside a row's KPIs (compute_kpis with stats=True): each rate's n, its 95% interval, and when maturing ones mature."""
    n, interval, maturing = {}, {}, {}
    for kid in ids:
        k = catalog[kid]
        has_value = _num(row.get(kid)) is not None
        size = _spread(k, row)[0] if k.num and has_value else None
        if size is not None:
            n[kid] = int(size) if float(size).is_integer() else round(size, 4)
        iv = _interval(k, row) if has_value else None
        if iv is not None:
            interval[kid] = [round(iv[0], 4), round(iv[1], 4)]
        if k.matures and not has_value:
            maturing[kid] = matures_on(k, end, settings).isoformat()
    return {"n": n, "interval": interval, "maturing": maturing}
