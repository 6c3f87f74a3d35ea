"""Contact, survey and complaint KPIs for a date range, at any grain, in DuckDB: one SQL pass per dataset."""
from __future__ import annotations

import os
import re
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from ..auth.access import Scope
from ..store import checked_sql, file_stamp
from ._calendar import DEADLINE_SQL, calendar_table, taiwan_calendar
from ._catalog import Catalog, Dataset, Kpi, load_catalog
from . import _rollup
from ._scope import require, row_clauses, scope_values

TIME_GRAINS = ("day", "week", "month")
# weekday_hour: key "1-09" = Monday 09:00-09:59 (ISO weekday 1-7); interval_30 / interval_60: key "2026-11-16 09:30",
# each half hour or hour of the range (the staffing page's intervals)
CYCLES = ("weekday_hour", "interval_30", "interval_60")
FILTERS = ("team", "channel", "queue")
# Where each dataset's rows come from, its time column, dimensions and extra columns: catalog.yaml `datasets`.
SOURCES: dict[str, Dataset] = load_catalog().datasets
DIMENSIONS = tuple(dict.fromkeys(d for ds in SOURCES.values() for d in ds.dimensions))  # team, agent, ..., category
GROUPINGS = TIME_GRAINS + DIMENSIONS + CYCLES

# Groups are formed on native values (a truncated timestamp, weekday x 100 + hour) and the few keys are formatted
# after aggregation (format_keys): formatting every row's key costs more than the aggregate itself.
_NATIVE_KEY = {
    "day": "date_trunc('day', __t)",
    "week": "date_trunc('week', __t)",  # the Monday of the ISO week
    "month": "date_trunc('month', __t)",
    "weekday_hour": "isodow(__t) * 100 + hour(__t)",  # ISO weekday 1-7, hour 0-23
    "interval_30": "time_bucket(INTERVAL 30 MINUTE, __t)",
    "interval_60": "date_trunc('hour', __t)",
}
# Grains finer than the rollup's hour: always from raw rows.
_FINER_THAN_HOUR = ("interval_30",)


def format_keys(keys: np.ndarray | list, by: str | None) -> list:
    """Native group keys as the result spells them: 2026-11-16, 2026-W47 (ISO week, ISO year), 2026-11, 1-09.
    Vectorised over the few aggregated keys (pandas' isocalendar alone cost more than a one-week aggregate)."""
    if by in ("day", "week", "month", "interval_30", "interval_60"):
        t = np.asarray(keys, dtype="datetime64[us]")
        if by == "week":
            thursday = t.astype("datetime64[D]") + 3  # an ISO week belongs to the year of its Thursday
            year = thursday.astype("datetime64[Y]")
            week = (thursday - year.astype("datetime64[D]")).astype("int64") // 7 + 1
            return [f"{y}-W{w:02d}" for y, w in zip(year.astype("int64") + 1970, week)]
        unit = {"day": "D", "month": "M"}.get(by, "m")
        return [s.replace("T", " ") for s in np.datetime_as_string(t, unit=unit)]
    if by == "weekday_hour":
        return [f"{k // 100}-{k % 100:02d}" for k in np.asarray(keys, dtype="int64").tolist()]
    return list(keys)


def bucket_keys(start: date, end: date, grain: str) -> list[tuple[str, date, date]]:
    """(key, first day, day after) of every day/ISO week/month bucket touching [start, end]."""
    out = []
    if grain == "day":
        d = start
        while d <= end:
            out.append((d.isoformat(), d, d + timedelta(days=1)))
            d += timedelta(days=1)
    elif grain == "week":
        d = start - timedelta(days=start.weekday())
        while d <= end:
            iso = d.isocalendar()
            out.append((f"{iso.year}-W{iso.week:02d}", d, d + timedelta(days=7)))
            d += timedelta(days=7)
    elif grain == "month":
        d = start.replace(day=1)
        while d <= end:
            nxt = (d.replace(day=28) + timedelta(days=4)).replace(day=1)
            out.append((f"{d:%Y-%m}", d, nxt))
            d = nxt
    return out


def _params(sql: str, values: dict[str, Any]) -> dict[str, Any]:
    """Only the parameters the statement uses (DuckDB refuses extras); a mapping binds as a DuckDB MAP."""
    return {k: _bindable(values[k]) for k in set(re.findall(r"\$(\w+)", sql))}


def _bindable(value: Any) -> Any:
    if isinstance(value, dict):  # DuckDB reads {"key": [...], "value": [...]} as a MAP, even an empty one
        return {"key": [str(k) for k in value], "value": [float(v) for v in value.values()]}
    if isinstance(value, tuple):  # a list of names (channels) binds as a LIST
        return list(value)
    return value


def _aggregates(kpis: list[Kpi], ss: bool = True) -> list[str]:
    """Each KPI's aggregates ("expr AS name"): its value, or numerator and denominator, and with ss its sum of squares
    (only stats read them: a statement costs DuckDB about 0.1 ms per aggregate to bind and plan)."""
    cols = ["count(*) AS __n"]
    for k in kpis:
        if k.sql:
            cols.append(f"({k.sql}) AS \"{k.id}\"")
        else:
            cols.append(f"({k.num}) AS \"{k.id}__num\"")
            cols.append(f"({k.den}) AS \"{k.id}__den\"")
        if k.ss and ss:
            cols.append(f"({k.ss}) AS \"{k.id}__ss\"")
    return cols


def _where(dims: dict[str, str], filters: dict[str, str | None]) -> tuple[list[str], bool]:
    """Filter clauses, and False when a filter names a dimension the dataset lacks (it then has no values)."""
    clauses = []
    for f, v in filters.items():
        if v is None:
            continue
        if f not in dims:
            return [], False
        clauses.append(f"{dims[f]} = ${f}")
    return clauses, True


@dataclass
class _Part:
    """One dataset's aggregate: group keys as the result spells them, rows per group, and per column a float array
    (NaN: missing) of KPI values and, with stats, their sums."""
    keys: list
    n: np.ndarray
    values: dict[str, np.ndarray]
    realtime_channels: np.ndarray | None = None


def _floats(column: Any) -> np.ndarray:
    """A fetched column as float64 with NaN where it is NULL (a column without NULLs comes as a plain array: no masked
    array made for it, which cost 20-30 us a column, 1,400 columns in a page's agent table)."""
    if not isinstance(column, np.ma.MaskedArray):
        return np.asarray(column, dtype="float64")
    values = np.ma.getdata(column).astype("float64")
    values[np.ma.getmaskarray(column)] = np.nan
    return values


def _objects(column: Any) -> list:
    """A fetched column as Python values with None where it is NULL."""
    if not isinstance(column, np.ma.MaskedArray):
        return np.asarray(column).tolist()
    mask = np.ma.getmaskarray(column)
    return [None if missing else v for v, missing in zip(np.ma.getdata(column).tolist(), mask.tolist())]


def _dataset_frame(cur: duckdb.DuckDBPyConnection, ds: Dataset, kpis: list[Kpi], start: date, end: date,
                   by: str | None, filters: dict[str, str | None], settings: dict[str, Any],
                   scope: Scope | None = None, rollup: str | None = None, stats: bool = False,
                   stamp: tuple | None = None) -> _Part | None:
    """One pass over one dataset: every KPI of it, per group, of the rows within the scope. None when the grouping
    or a filter doesn't apply."""
    parts = _dataset_parts(cur, ds, kpis, start, end, by, filters, settings, scope, rollup, stats, stamp)
    return None if parts is None else parts[0]


def _dataset_parts(cur: duckdb.DuckDBPyConnection, ds: Dataset, kpis: list[Kpi], start: date, end: date,
                   by: str | None, filters: dict[str, str | None], settings: dict[str, Any],
                   scope: Scope | None = None, rollup: str | None = None, stats: bool = False,
                   stamp: tuple | None = None, splits: tuple[date, ...] = ()) -> list[_Part] | None:
    """_dataset_frame's pass, or with splits (the first days of the later ones of contiguous ranges covering
    [start, end], by a dimension) one part per range from the same statement, grouped by the range too."""
    dims = ds.dimensions
    if by in DIMENSIONS and by not in dims:
        return None
    clauses, applies = _where(dims, filters)
    if not applies:
        return None
    clauses += row_clauses(scope, dims, by, filters.get("team"))
    values: dict[str, Any] = {**settings, **{k: v for k, v in filters.items() if v is not None}, **scope_values(scope),
                              "start": start, "end": end + timedelta(days=1),
                              "cutoff": settings["__cutoffs"].get(ds.rows_of or ds.name),
                              "deferred_channels": sorted(settings.get("response_target_hours_by_channel") or {})}
    if splits and by not in dims:
        raise ValueError("several ranges in one pass are grouped by a dimension only")
    values.update({f"__split{i}": datetime.combine(d, time()) for i, d in enumerate(splits)})
    period = " + ".join(f"(__t >= $__split{i})::INTEGER" for i in range(len(splits))) or "0"
    if ds.snapshot is not None:
        if by in CYCLES:
            return None  # a backlog is a snapshot at an end time, not spread over hours of the week
        sql = _snapshot_sql(kpis, ds, start, end, by, clauses, values, stats, splits)
        return [_kpi_values(f, _objects(f["key"]), kpis, stats) for f in _by_period(cur, sql, values, splits)]
    key = _NATIVE_KEY.get(by) or (dims[by] if by else "NULL")
    aggregates = _aggregates(kpis, ss=stats)
    if "__realtime" in ds.columns:  # how many real-time channels a group holds: two or more are never blended
        aggregates += ["min(channel) FILTER (WHERE __realtime) AS __rt_min", "max(channel) FILTER (WHERE __realtime) AS __rt_max"]
    rows = _rows_sql(ds, kpis, clauses)
    where = " AND ".join(clauses) or "true"
    if splits:
        aggregates = [f"{period} AS __period", *aggregates]
    sql = f"SELECT {key} AS key, {', '.join(aggregates)} FROM ({rows}) WHERE {where} GROUP BY ALL"
    agent = dims.get("agent")
    table = (summed_table(cur, stamp, ds.name, rollup, agent=agent is not None and bool(
                 re.search(rf"\b{agent}\b", f"{key} {where}")), daily=by not in CYCLES)
             if rollup and by not in _FINER_THAN_HOUR and _rollup.additive(kpis) else None)
    if table is not None:
        sql = _from_rollup(cur, table, sql, key, where, aggregates, values, stamp)
    if _CALENDAR_VIEW in sql:  # deadlines read from raw rows: the business calendar (not when the rollup answers all)
        _register_calendar(cur, start, end, settings)
    return [_part(fetched, by, kpis, stats) for fetched in _by_period(cur, sql, values, splits)]


def summed_table(cur: duckdb.DuckDBPyConnection, stamp: tuple | None, dataset: str, fp: str, *, agent: bool,
                 daily: bool) -> str | None:
    """The coarsest table of the dataset's rollup that answers a query (without the agent unless it names the agent,
    per day unless it groups by hour of the week), or None when the rollup was not built with these settings (fp)
    from the rows now stored: read raw rows then. Kept per database stamp."""
    table = _usable(cur, stamp, dataset, fp)
    if table is None:
        return None
    return _rollup.table_for(_derived_of(cur, stamp, table), table, agent, daily)


def _usable(cur: duckdb.DuckDBPyConnection, stamp: tuple | None, dataset: str, fp: str) -> str | None:
    """The dataset's rollup table when it was built with these settings (fp) from the rows now stored (kept per
    database stamp), else None."""
    return _kept(stamp, ("usable", dataset, fp), lambda: _rollup.usable(cur, dataset, fp))


def _derived_of(cur: duckdb.DuckDBPyConnection, stamp: tuple | None, table: str) -> frozenset[str]:
    """The tables kept beside a rollup table (kept per database stamp)."""
    return _kept(stamp, ("derived", table), lambda: _rollup.derived_tables(cur, table))


def _by_period(cur: duckdb.DuckDBPyConnection, sql: str, values: dict[str, Any],
               splits: tuple[date, ...]) -> list[dict[str, Any]]:
    """The statement's fetched columns, one dict per range (its rows' __period) when there are splits."""
    fetched = cur.execute(sql, _params(sql, values)).fetchnumpy()
    if not splits:
        return [fetched]
    period = np.ma.getdata(fetched.pop("__period")).astype("int64")
    return [{c: v[period == i] for c, v in fetched.items()} for i in range(len(splits) + 1)]


def _part(fetched: dict[str, Any], by: str | None, kpis: list[Kpi], stats: bool) -> _Part:
    if by is None:
        keys = [None] * len(fetched["__n"])
    elif by in TIME_GRAINS or by in CYCLES:
        keys = format_keys(np.ma.getdata(fetched["key"]), by)
    else:
        keys = _objects(fetched["key"])
    part = _kpi_values(fetched, keys, kpis, stats)
    if "__rt_min" in fetched:  # real-time channels per group from their min and max: 0, 1, or 2 meaning "several"
        lo, hi = _objects(fetched["__rt_min"]), _objects(fetched["__rt_max"])
        part.realtime_channels = np.array([0 if a is None else 1 + (a != b) for a, b in zip(lo, hi)], dtype="float64")
    return part


def _rollup_for(kpis: list[Kpi], fp: str | None) -> str | None:
    """The rollup a dataset's pass reads (fp; None: raw rows). A rollup holds sums only: when some KPI asked is no sum
    (a median), its raw rows are read anyway, and the same pass over them computes the sums too. One statement
    instead of a rollup pass and a raw one beside it: each costs DuckDB a few ms however few its rows (at 10M contacts
    a week's 2,300 complaints took 6 ms from raw rows, 14 ms as the two passes)."""
    return fp if _rollup.summed(kpis) == kpis else None


def _from_rollup(cur: duckdb.DuckDBPyConnection, table: str, raw_sql: str, key: str, where: str,
                 aggregates: list[str], values: dict[str, Any], stamp: tuple | None = None) -> str:
    """The same aggregate answered from the rollup's hourly sums, and from raw rows for the hours from the first one
    whose cut-off measures are not settled (values["split"]; the raw SQL then reads [split, end))."""
    start, end = datetime.combine(values["start"], time()), datetime.combine(values["end"], time())
    split = _kept(stamp, ("unsettled", table, start, end, values["cutoff"]),
                  lambda: _rollup.first_unsettled(cur, table, start, end, values["cutoff"])) or end
    values["split"] = max(split, start)
    keys = [a for a in aggregates if a.endswith(" AS __period")]  # a range number is a group key, not a sum
    merged = _rollup.merged([a for a in aggregates if a not in keys])
    hour = lambda sql: re.sub(r"\b__t\b", "__hour", sql)  # the rollup's time is its hour: no subquery to rename it
    rolled = (f"SELECT {hour(key)} AS key, {''.join(hour(k) + ', ' for k in keys)}{merged} FROM {table} "
              f"WHERE __hour >= $start AND __hour < $split AND {hour(where)} GROUP BY ALL")
    if values["split"] >= end:
        return rolled
    raw = raw_sql.replace("$start", "$split")
    return f"SELECT key, {'__period, ' if keys else ''}{merged} FROM ({rolled} UNION ALL BY NAME {raw}) GROUP BY ALL"


def _rows_sql(ds: Dataset, kpis: list[Kpi], clauses: list[str], calendar: str = "__business_calendar") -> str:
    """SQL of the dataset's rows in [$start, $end) with only the columns the KPIs, the declared columns, the dimensions
    and the conditions use (picked by name when the statement binds: no query of the schema first); deadlines
    (DEADLINE_SQL) joined to the deferred channels' rows only."""
    source = checked_sql(ds.source)
    used = " ".join([s for k in kpis for s in (k.sql, k.num, k.den, k.ss) if s] + list(ds.columns.values())
                    + list(ds.dimensions.values()) + clauses + [ds.time, ds.deadline_from or "", "channel"])
    names = set(re.findall(r"[A-Za-z_]\w*", used))
    wanted = ", ".join(f"'{n}'" for n in sorted(names))
    extra = "".join(f", {sql} AS {name}" for name, sql in ds.columns.items())
    base = (f"SELECT COLUMNS(lambda c: list_contains([{wanted}], c)), {ds.time} AS __t{extra} FROM ({source}) "
            f"WHERE {ds.time} >= $start AND {ds.time} < $end")
    if not ds.deadline_from or "__deadline" not in names:
        return base
    deferred = "list_contains($deferred_channels, channel)"
    timed = DEADLINE_SQL.format(at=ds.deadline_from, source=f"SELECT * FROM ({base}) WHERE {deferred}",
                                calendar=calendar)
    return (f"SELECT *, NULL::TIMESTAMP AS __deadline FROM ({base}) WHERE NOT coalesce({deferred}, false) "
            f"UNION ALL BY NAME ({timed})")


def snapshot_moment(end: datetime, cutoff: Any) -> datetime:
    """When a snapshot (the complaint backlog) ending at `end` is taken: then, or just after the data's cut-off when
    the data stops before it. A range past the data's end (this month, to 11-30, with complaints to 11-22 20:03)
    counted at its midnight would call past due the complaints due after the data's end (16 past due against 7)."""
    if cutoff is None or pd.isna(cutoff):
        return end
    return min(end, pd.Timestamp(cutoff).to_pydatetime() + timedelta(microseconds=1))


def backlog_as_of(con: duckdb.DuckDBPyConnection, end: date) -> datetime:
    """When the complaints open at the end of a range ending on `end` are counted (snapshot_moment): the midnight after
    that day, or just after the complaints' cut-off when the data stops before it."""
    return snapshot_moment(datetime.combine(end + timedelta(days=1), time()), data_cutoffs(con).get("complaints"))


def backlog_cut_off(con: duckdb.DuckDBPyConnection, end: date) -> datetime | None:
    """The complaints' cut-off when the backlog of a range ending on `end` is counted at it (the data stops before the
    range's last midnight), else None: what a page or report says the count is "as of"."""
    at = backlog_as_of(con, end)
    return None if at == datetime.combine(end + timedelta(days=1), time()) else at - timedelta(microseconds=1)


def _snapshot_sql(kpis, ds, start, end, by, clauses, values, stats, splits=()) -> str:
    """The rows that hold at the end of each bucket (or of the range, or of each range with splits: its __period)
    by the dataset's snapshot condition; the bucket ends are bound as lists ($__buckets, $__as_of)."""
    if by in TIME_GRAINS:
        ends = [(k, min(nxt, end + timedelta(days=1))) for k, _, nxt in bucket_keys(start, end, by)]
    elif splits:
        ends = [(str(i), e) for i, e in enumerate([*splits, end + timedelta(days=1)])]
    else:
        ends = [(None, end + timedelta(days=1))]
    values["__buckets"] = [k for k, _ in ends]
    values["__as_of"] = [snapshot_moment(datetime.combine(e, time()), values.get("cutoff")) for _, e in ends]
    values["first_as_of"], values["last_as_of"] = min(values["__as_of"]), max(values["__as_of"])
    key = "__bucket" if by in TIME_GRAINS else (ds.dimensions[by] if by else "NULL")
    buckets = "SELECT unnest($__buckets::VARCHAR[]) AS __bucket, unnest($__as_of::TIMESTAMP[]) AS __as_of"
    where = " AND ".join([ds.snapshot, *([ds.held_between] if ds.held_between else []), *clauses])
    if ds.deadline_from or any(re.search(rf"\b{name}\b", where) for name in ds.columns):
        rows = f"SELECT r.*, b.__bucket, b.__as_of FROM ({buckets}) b, ({ds.rows}) r"
    else:  # the declared columns (a due time) of the rows held only, not of every row ever stored: 7 ms -> 4 at 10M
        extra = "".join(f", {sql} AS {name}" for name, sql in ds.columns.items())
        held = (f"SELECT r.*, b.__bucket, b.__as_of FROM ({buckets}) b, "
                f"(SELECT *, {ds.time} AS __t FROM ({checked_sql(ds.source)})) r WHERE {where}")
        rows, where = f"SELECT *{extra} FROM ({held})", "true"
    period = "__bucket::INTEGER AS __period, " if splits else ""
    return (f"SELECT {key} AS key, {period}{', '.join(_aggregates(kpis, ss=stats))} FROM ({rows}) WHERE {where} "
            "GROUP BY ALL")


# Answers that depend on the stored data only (cut-offs, which rollup is usable, where it stops being settled), kept
# per database file while its stamp (size and mtime of the file and its WAL, kpi.store.file_stamp) stays: every
# committed write moves it, and compute_kpis reads through a cursor, which sees committed data only.
_FILES: "weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, str | None]" = weakref.WeakKeyDictionary()
_STAMPED: dict[tuple, Any] = {}


def _stamp(con: duckdb.DuckDBPyConnection) -> tuple | None:
    """The connection's database file and its stamp; None for an in-memory database (nothing is kept)."""
    try:
        path = _FILES[con]
    except KeyError:
        with con.cursor() as cur:
            path = cur.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()[0][0]
        _FILES[con] = path
    return None if not path else (path, file_stamp(path))


def _kept(stamp: tuple | None, key: tuple, compute: Any) -> Any:
    """compute() once per database stamp and key."""
    if stamp is None:
        return compute()
    full = (stamp, *key)
    value = _STAMPED.get(full, _STAMPED)  # the dict itself: not kept yet (None is a kept answer)
    if value is _STAMPED:  # the datasets' passes run side by side: the value returned is this call's, whatever
        value = compute()  # another thread kept or cleared meanwhile
        if len(_STAMPED) > 4096:
            _STAMPED.clear()
        _STAMPED[full] = value
    return value


def data_cutoffs(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The latest timestamp imported per dataset: what "as the data stands" means for maturity and deadlines."""
    return dict(_kept(_stamp(con), ("cutoffs",), lambda: _read_cutoffs(con)))


def _read_cutoffs(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    with con.cursor() as cur:
        contacts, surveys, complaints = cur.execute(
            "SELECT (SELECT greatest(max(arrived_at), max(answered_at)) FROM contacts), (SELECT max(responded_at) FROM surveys), "
            "(SELECT greatest(max(opened_at), max(resolved_at)) FROM complaints)").fetchone()
    return {"contacts": contacts, "surveys": surveys, "complaints": complaints}


@lru_cache(maxsize=8)
def _calendar(spec: tuple[tuple[str, str], ...], first_year: int, last_year: int):
    return taiwan_calendar(dict(spec), range(first_year, last_year + 1))


_CALENDAR_VIEW = "__business_calendar"


@lru_cache(maxsize=32)
def _calendar_frame(hours: tuple[tuple[str, float], ...], spec: tuple[tuple[str, tuple], ...], start: date,
                    end: date) -> pd.DataFrame:
    """The deferred channels' business days around [start, end]: it depends on settings only, so built once."""
    opening = dict(spec)
    calendars = {ch: _calendar(opening.get(ch) or (("mon-fri", "09:00-18:00"),), start.year - 1, end.year + 2)
                 for ch, _ in hours}
    return calendar_table(calendars, dict(hours), start, end)


def _register_calendar(cur: duckdb.DuckDBPyConnection, start: date, end: date, settings: dict[str, Any]) -> None:
    """Business days of each deferred channel around the range, for the contacts' deadlines (DEADLINE_SQL)."""
    hours = settings.get("response_target_hours_by_channel") or {}
    spec = settings.get("business_hours") or {}
    frame = _calendar_frame(tuple((ch, float(h)) for ch, h in hours.items()),
                            tuple((ch, tuple(sorted((spec.get(ch) or {}).items()))) for ch in hours if spec.get(ch)),
                            start, end)
    cur.register(_CALENDAR_VIEW, frame)


def compute_kpis(con: duckdb.DuckDBPyConnection, start: date, end: date, by: str | None = None, *,
                 team: str | None = None, channel: str | None = None, queue: str | None = None,
                 catalog: Catalog | None = None, settings: dict[str, Any] | None = None,
                 stats: bool = False, scope: Scope | None = None, rollup: bool = True,
                 kpis: Iterable[str] | None = None) -> pd.DataFrame:
    """Every contact, survey and complaint KPI for [start, end] (both inclusive), one row per group.

    by: None (one row, key None), day, week (ISO, e.g. 2026-W47), month, team, agent, channel, queue, direction or
    category.
    Ratios are sums over the group; a zero denominator or an empty group gives NA, never 0. A real-time measure
    (service level, speed of answer, abandonment) has no value for a group holding two real-time channels; a queue
    measure none at agent grain; a maturing complaint measure none until its range has matured (see _mask).
    stats=True adds each ratio's `<id>__num`, `<id>__den` (its n) and `<id>__ss` columns, for intervals and tests.
    scope: only the rows the user may see (kpi.metrics._scope); None: every row. Agent grain is refused to a role
    without agent-level rows (OutOfScope).
    rollup: answer a dataset from its rollup (kpi.metrics._rollup) when it was built with these settings (the same
    numbers); False: always from raw rows.
    kpis: only these KPIs (ids; a derived one brings the ones it is computed from): only their aggregates are computed,
    only the datasets they read are queried, and a count is 0 rather than NA where the group has rows in one of those
    datasets.
    """
    keys, columns = _compute(con, start, end, by, team=team, channel=channel, queue=queue, catalog=catalog,
                             settings=settings, stats=stats, scope=scope, rollup=rollup, kpis=kpis)
    out = {"key": pd.Series(keys, dtype=object)}  # one spelling of "no team/agent/...": None
    for c, v in columns.items():
        out[c] = pd.Series([pd.NA] * len(keys), dtype=object) if v is None else pd.array(v, dtype="Float64")
    return pd.DataFrame(out)


def kpi_records(con: duckdb.DuckDBPyConnection, start: date, end: date, by: str | None = None,
                **kw: Any) -> list[dict[str, Any]]:
    """compute_kpis' rows as dicts (its arguments), each value a float, NaN where missing, without the DataFrame: what
    judging reads row by row (building the frame and reading it back cost more than the rollup's queries)."""
    return kpi_records_of_ranges(con, [(start, end)], by, **kw)[0]


def kpi_records_of_ranges(con: duckdb.DuckDBPyConnection, ranges: list[tuple[date, date]], by: str | None = None,
                          **kw: Any) -> list[list[dict[str, Any]]]:
    """kpi_records of each of several ranges that follow each other day after day (a range and the one before it),
    from one statement per dataset when grouped by a dimension (team, agent, channel, ...)."""
    if len(ranges) > 1 and by not in DIMENSIONS:  # one ungrouped row per range, even an empty one: a call each
        return [kpi_records(con, a, b, by, **kw) for a, b in ranges]
    out = []
    for keys, columns in _compute_ranges(con, ranges, by, **kw):
        lists = {c: [float("nan")] * len(keys) if v is None else v.tolist() for c, v in columns.items()}
        out.append([dict(zip(["key", *lists], row)) for row in zip(keys, *lists.values())])
    return out


def _compute(con: duckdb.DuckDBPyConnection, start: date, end: date, by: str | None = None,
             **kw: Any) -> tuple[list, dict[str, np.ndarray | None]]:
    """compute_kpis' keys and columns in its order, each a float array (NaN: missing), None for a column with no value
    at all (a dataset that does not apply, a queue measure per agent)."""
    return _compute_ranges(con, [(start, end)], by, **kw)[0]


def _compute_ranges(con: duckdb.DuckDBPyConnection, ranges: list[tuple[date, date]], by: str | None = None, *,
                    team: str | None = None, channel: str | None = None, queue: str | None = None,
                    catalog: Catalog | None = None, settings: dict[str, Any] | None = None,
                    stats: bool = False, scope: Scope | None = None, rollup: bool = True,
                    kpis: Iterable[str] | None = None) -> list[tuple[list, dict[str, np.ndarray | None]]]:
    """_compute of each of several contiguous ranges (each ending the day before the next starts), grouped by a
    dimension, from one statement per dataset grouped by range and group: what compute_kpis of each gives."""
    if by is not None and by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}, got {by!r}")
    if any(b0 + timedelta(days=1) != a1 for (_, b0), (a1, _) in zip(ranges, ranges[1:])):
        raise ValueError(f"ranges must follow each other day after day, got {ranges}")
    if by == "agent":
        require(scope, "agent_rows")
    catalog = catalog or load_catalog()
    settings = {**catalog.settings, **(settings or {})}
    wanted = _wanted(catalog, kpis)
    stamp = _stamp(con)
    if "__cutoffs" not in settings:
        settings["__cutoffs"] = data_cutoffs(con)
    filters = {"team": team, "channel": channel, "queue": queue}
    splits = tuple(a for a, _ in ranges[1:])
    start, end = ranges[0][0], ranges[-1][1]
    passes = []  # (its KPIs, the pass) per dataset asked for
    for dataset in ("contacts", "surveys", "complaints", "backlog"):
        of = [k for k in catalog.of(dataset) if wanted is None or k.id in wanted]  # the aggregates asked for only
        if not of:
            continue
        fp = _rollup.fingerprint(catalog, settings, dataset) if rollup and dataset in _rollup.ROLLUP_DATASETS else None
        args = (catalog.datasets[dataset], of, start, end, by, filters, settings, scope, _rollup_for(of, fp), stats,
                stamp, splits)
        passes.append((of, lambda args=args: _on_own_cursor(con, _dataset_parts, *args)))
    parts: list[list[_Part]] = [[] for _ in ranges]
    not_applicable: list[str] = []
    for (of, _), got in zip(passes, side_by_side([run for _, run in passes])):
        if got is None:
            not_applicable += [k.id for k in of]
        else:
            for mine, part in zip(parts, got):
                mine.append(part)
    return [_columns(p, not_applicable, wanted, catalog, settings, a, b, by, channel, stats)
            for p, (a, b) in zip(parts, ranges)]


def _on_own_cursor(con: duckdb.DuckDBPyConnection, fn: Any, *args: Any) -> Any:
    """fn(cursor, *args) on a cursor of its own (a connection is not thread-safe; a cursor is its own connection to
    the same database, and what a pass registers on it, the business calendar, stays its own)."""
    cur = con.cursor()
    try:
        return fn(cur, *args)
    finally:
        cur.close()


_POOL_THREADS = 8
_POOL: tuple[ThreadPoolExecutor, threading.BoundedSemaphore] | None = None
_POOL_LOCK = threading.Lock()


def _forget_pool() -> None:
    """In a forked process: the parent's pool threads are not there (its lock may have been held by one of them)."""
    global _POOL, _POOL_LOCK
    _POOL, _POOL_LOCK = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)


def _pool() -> tuple[ThreadPoolExecutor, threading.BoundedSemaphore]:
    """The process's pool and its free threads (made at first use, and anew in a forked process: _forget_pool)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = (ThreadPoolExecutor(max_workers=_POOL_THREADS, thread_name_prefix="kpi-pass"),
                     threading.BoundedSemaphore(_POOL_THREADS))
        return _POOL


def side_by_side(calls: list[Any]) -> list[Any]:
    """Each call's result, in order, the calls run at the same time: the caller's thread runs the first, threads of a
    pool the others. A dataset's pass spends most of its time in DuckDB (parsing, binding and planning its SQL take
    more than reading a rollup), which lets go of Python's lock, so the passes of a page query overlap on the cores
    instead of queueing: a week's tiles at 10M contacts, 4 statements, 14 ms one after the other, 9 ms side by side.
    A call goes to the pool only while one of its threads is free for it, else the caller's thread runs it too: a call
    may itself run calls side by side (a page's queries, each of its passes) and never waits for one that has no
    thread. The pool is the process's own: a forked process (a benchmark's workers) starts one of its own."""
    if len(calls) < 2:
        return [call() for call in calls]
    pool, free = _pool()

    def released(call: Any) -> Any:
        try:
            return call()
        finally:
            free.release()
    futures = {}
    try:
        for i, call in enumerate(calls[1:], 1):
            if free.acquire(blocking=False):
                try:
                    futures[i] = pool.submit(released, call)
                except RuntimeError:  # the interpreter is shutting down: no new threads, the caller's runs it
                    free.release()
        here = {i: call() for i, call in enumerate(calls) if i not in futures}
    finally:  # every call ends before the caller goes on (an error in one of its own included)
        wait(futures.values())
    return [futures[i].result() if i in futures else here[i] for i in range(len(calls))]


def _columns(parts: list[_Part], not_applicable: list[str], wanted: set[str] | None, catalog: Catalog,
             settings: dict[str, Any], start: date, end: date, by: str | None, channel: str | None,
             stats: bool) -> tuple[list, dict[str, np.ndarray | None]]:
    """One range's keys and columns from its datasets' parts: aligned on the result's keys, derived KPIs, masks."""
    keys = _result_index(parts, start, end, by)
    columns, realtime_channels = _aligned(parts, keys, catalog)
    blank = set()  # columns with no value at all, as object NA (a dataset that does not apply, a queue measure per agent)
    for kid in not_applicable:
        columns[kid] = np.full(len(keys), np.nan)
        blank.add(kid)
    for k in catalog.of("derived"):
        if wanted is None or k.id in wanted:
            columns[k.id] = _derived(k.formula, columns)
            blank.discard(k.id)
    _mask(columns, blank, realtime_channels, keys, catalog, settings, start, end, by, channel)
    ids = [k.id for k in catalog.kpis.values() if k.id in columns and (wanted is None or k.id in wanted)]
    extra = [c for c in columns if "__" in c and not c.startswith("__")
             and (wanted is None or c.split("__")[0] in wanted)] if stats else []
    return keys, {c: None if c in blank else columns[c] for c in ids + extra}


def _wanted(catalog: Catalog, kpis: Iterable[str] | None) -> set[str] | None:
    """The KPI ids asked for with those their derived ones are computed from; None: every KPI."""
    if kpis is None:
        return None
    wanted = set(kpis)
    unknown = wanted - set(catalog.kpis)
    if unknown:
        raise ValueError(f"unknown KPIs {sorted(unknown)}; expected ids of the catalog")
    for k in catalog.of("derived"):
        if k.id in wanted:
            wanted |= set(re.findall(r"[A-Za-z_]\w*", k.formula))
    return wanted


def _kpi_values(fetched: dict[str, Any], keys: list, kpis: list[Kpi], stats: bool = False) -> _Part:
    """One dataset's aggregates as KPI values by group key (with the group's row count, and with stats the sums)."""
    def floats(col: str) -> np.ndarray:
        return _floats(fetched[col]) if col in fetched else np.full(len(keys), np.nan)

    n = floats("__n")
    empty = n == 0
    values: dict[str, np.ndarray] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in kpis:
            if k.sql:
                v = floats(k.id)
            else:
                num, den = floats(f"{k.id}__num"), floats(f"{k.id}__den")
                v = np.where(den == 0, np.nan, num / den)
                if stats:
                    values[f"{k.id}__num"], values[f"{k.id}__den"] = num, den
            if stats and k.ss:
                values[f"{k.id}__ss"] = floats(f"{k.id}__ss")
            values[k.id] = v if k.unit == "count" else np.where(empty, np.nan, v)
    return _Part(keys, n, values)


def matures_on(kpi: Kpi, end: date, settings: dict[str, Any]) -> date | None:
    """The day a maturing KPI of a range ending `end` gets its value; None for a KPI that does not mature."""
    if not kpi.matures:
        return None
    return end + timedelta(days=int(settings[kpi.matures]) + 1)


def maturity_cutoff(kpi: Kpi, settings: dict[str, Any]) -> Any:
    """The data's cut-off a maturing KPI waits for: its dataset's latest timestamp (the backlog's: the complaints')."""
    return settings["__cutoffs"].get("complaints" if kpi.dataset == "backlog" else kpi.dataset)


def matured(kpi: Kpi, end: date, settings: dict[str, Any]) -> bool:
    """Whether a maturing KPI of a range ending `end` has its value, the data as it stands."""
    cutoff = maturity_cutoff(kpi, settings)
    return cutoff is not None and pd.Timestamp(matures_on(kpi, end, settings)) <= pd.Timestamp(cutoff)


def last_matured_end(kpi: Kpi, settings: dict[str, Any]) -> date | None:
    """The latest day a range of a maturing KPI may end on and have its value (matured), None without data."""
    cutoff = maturity_cutoff(kpi, settings)
    if cutoff is None:
        return None
    return pd.Timestamp(cutoff).date() - timedelta(days=int(settings[kpi.matures]) + 1)  # matures_on(it) <= cutoff


def _bucket_ends(keys: list, start: date, end: date, by: str | None) -> list[date]:
    if by in TIME_GRAINS:
        ends = {k: min(nxt - timedelta(days=1), end) for k, _, nxt in bucket_keys(start, end, by)}
        return [ends.get(k, end) for k in keys]
    return [end] * len(keys)


def _mask(columns: dict[str, np.ndarray], blank: set[str], realtime_channels: np.ndarray, keys: list,
          catalog: Catalog, settings: dict[str, Any], start: date, end: date, by: str | None,
          channel: str | None) -> None:
    """No value where a KPI would mislead: blended real-time channels, queue measures per agent, immature ranges."""
    realtime = set(settings.get("realtime_channels") or ())
    if by == "channel":
        single = np.array([k in realtime for k in keys], dtype=bool)
    elif channel is not None:
        single = np.full(len(keys), channel in realtime)
    else:  # no channel named: a group holding one real-time channel still has one real-time value
        single = np.nan_to_num(realtime_channels, nan=0.0) <= 1
    ends = _bucket_ends(keys, start, end, by)
    for k in catalog.kpis.values():
        if k.id not in columns:
            continue
        if k.scope == "realtime":
            columns[k.id] = np.where(single, columns[k.id], np.nan)
            blank.discard(k.id)
        if not k.agent and by == "agent":
            columns[k.id] = np.full(len(keys), np.nan)
            blank.add(k.id)
        if k.matures:
            ripe = {e: matured(k, e, settings) for e in set(ends)}  # per bucket end: 168 weekday hours share one
            ok = np.array([ripe[e] for e in ends], dtype=bool)
            columns[k.id] = np.where(ok, columns[k.id], np.nan)
            blank.discard(k.id)


def _result_index(parts: list[_Part], start: date, end: date, by: str | None) -> list:
    """Every bucket of a time grain; else the groups with rows in any dataset, sorted, "none" (None) last."""
    if by in TIME_GRAINS:
        return [k for k, _, _ in bucket_keys(start, end, by)]
    if not by:
        return [None]
    seen = {k for p in parts for k, n in zip(p.keys, p.n.tolist()) if n > 0}
    keys = sorted((k for k in seen if k is not None), key=str)
    return keys + [None] if None in seen else keys


def _aligned(parts: list[_Part], keys: list, catalog: Catalog) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The datasets' KPI values side by side on the result's keys, and each key's real-time channel count."""
    at = {k: i for i, k in enumerate(keys)}
    present = np.zeros(len(keys), dtype=bool)
    realtime_channels = np.full(len(keys), np.nan)
    columns: dict[str, np.ndarray] = {}
    for p in parts:
        where = np.array([at.get(k, -1) for k in p.keys], dtype="int64")
        rows = np.flatnonzero(where >= 0)
        rows = rows[np.unique(where[rows], return_index=True)[1]]  # a key twice: its first row, as reindex keeps
        to = where[rows]

        def placed(v: np.ndarray) -> np.ndarray:
            out = np.full(len(keys), np.nan)
            out[to] = v[rows]
            return out

        present |= placed(p.n) > 0
        if p.realtime_channels is not None:
            realtime_channels = placed(p.realtime_channels)
        for c, v in p.values.items():
            columns.pop(c, None)  # the last dataset's column wins, in its place
            columns[c] = placed(v)
    # Counts are 0 where the group has data in some dataset, NA where the whole group is empty.
    for k in catalog.kpis.values():
        if k.id in columns and k.unit == "count":
            v = columns[k.id]
            columns[k.id] = np.where(present, np.where(np.isnan(v), 0.0, v), np.nan)
    return columns, realtime_channels


def derived_parts(formula: str) -> tuple[float, str, str]:
    """(scale, numerator, denominator) of a derived formula: 1000 * complaints / answered -> (1000, complaints,
    answered); the one form the engine computes."""
    m = re.fullmatch(r"\s*([\d.]+)\s*\*\s*(\w+)\s*/\s*(\w+)\s*", formula)
    if not m:
        raise ValueError(f"unsupported derived formula {formula!r}")
    return float(m.group(1)), m.group(2), m.group(3)


def _derived(formula: str, columns: dict[str, np.ndarray]) -> np.ndarray:
    """A formula of other KPIs (e.g. 1000 * complaints / answered); NA where a divisor is 0 or missing."""
    scale, num, den = derived_parts(formula)
    factor, a, b = scale, columns[num], columns[den]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b == 0, np.nan, factor * a / b)


def to_jsonable(value: Any) -> Any:
    """NA/NaN -> None, numpy numbers -> float, rounded to 4 decimals for fractions' sake."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    try:
        return round(float(value), 4)
    except (TypeError, ValueError):
        return value


def kpis_jsonable(row: pd.Series, ids: list[str], catalog: Catalog) -> dict[str, Any]:
    """One result row as JSON values: counts as integers, the rest rounded to 4 decimals, missing as None."""
    out = {}
    for k in ids:
        v = to_jsonable(row[k])
        out[k] = int(v) if v is not None and catalog[k].unit == "count" else v
    return out


def _agent_rows(con: duckdb.DuckDBPyConnection, start: date, end: date, scope: Scope | None,
                rollup: bool) -> dict[str, list]:
    """The contacts in the range within the scope (refused to a role without agent rows) per agent, team and name, as
    columns: agent_id, team and agent_name (None where missing), contacts, and latest, the latest arrival in
    microseconds. From the contacts' per-day agent table when their rollup is usable (exact for the rows now stored),
    else from the raw rows. Fetched as columns: at 100M contacts a week's 5,000 agents as tuples with their arrival
    times took 11-13 ms against 3-6."""
    values = {"start": start, "end": end + timedelta(days=1), **scope_values(scope)}
    with con.cursor() as cur:
        table = _agents_table(con, cur) if rollup else None
        source, t, n, last = ("contacts", "arrived_at", "count(*)", "max(arrived_at)") if table is None else \
            (table, "__hour", "sum(__n)", "max(__last)")
        where = ["agent_id IS NOT NULL", f"{t} >= $start", f"{t} < $end",
                 *row_clauses(scope, SOURCES["contacts"].dimensions, "agent")]
        sql = (f"SELECT agent_id, team, agent_name, {n}::BIGINT AS contacts, epoch_us({last}) AS latest FROM {source} "
               f"WHERE {' AND '.join(where)} GROUP BY ALL")
        return {c: _objects(v) for c, v in cur.execute(sql, _params(sql, values)).fetchnumpy().items()}


def _agents_table(con: duckdb.DuckDBPyConnection, cur: duckdb.DuckDBPyConnection) -> str | None:
    """The contacts' per-day agent table (kpi.metrics._rollup AGENTS_SQL) when their rollup is usable, else None."""
    catalog = load_catalog()
    stamp = _stamp(con)
    table = _usable(cur, stamp, "contacts", _rollup.fingerprint(catalog, catalog.settings, "contacts"))
    name = None if table is None else f"{table}{_rollup.AGENTS_SUFFIX}"
    return name if name is not None and name in _derived_of(cur, stamp, table) else None


def agent_names(con: duckdb.DuckDBPyConnection, start: date, end: date, *, scope: Scope | None = None) -> dict[str, str]:
    """Each agent's display name in the range, where the contacts carry one (the latest name, should it change)."""
    return agent_teams_and_names(con, start, end, scope=scope)[1]


def agent_teams(con: duckdb.DuckDBPyConnection, start: date, end: date, *, scope: Scope | None = None) -> dict[str, str]:
    """Each agent's team in the range (the team of most of their contacts)."""
    return agent_teams_and_names(con, start, end, scope=scope)[0]


def agent_teams_and_names(con: duckdb.DuckDBPyConnection, start: date, end: date, *, scope: Scope | None = None,
                          rollup: bool = True) -> tuple[dict[str, str], dict[str, str]]:
    """agent_teams and agent_names from one pass over the range's contacts per agent, team and name (from the contacts'
    rollup when it is usable: rollup=False reads the raw rows). An agent's team is the one of most of their contacts
    (a tie: the one they worked in last, then the last by name; None when none of them has a team); their name the
    one their latest contact carries (a tie: the last by name). An agent of one team and one name (nearly every one)
    has one row, taken as it is; only the rows of the others (several teams, names, or contacts with and without a
    name) are chosen from."""
    rows = _agent_rows(con, start, end, scope, rollup)
    agents = rows["agent_id"]
    team_of = dict(zip(agents, rows["team"]))
    several = set() if len(team_of) == len(agents) else {a for a, times in Counter(agents).items() if times > 1}
    names = {a: name for a, name in zip(agents, rows["agent_name"]) if name is not None}  # several rows: see below
    counts: dict[str, dict[str, list]] = {}  # agent -> team -> [contacts, latest arrival]
    latest: dict[str, tuple] = {}  # agent -> (latest arrival, name)
    columns = (rows[c] for c in ("agent_id", "team", "agent_name", "contacts", "latest"))
    rows_of_several = [row for row in zip(*columns) if row[0] in several] if several else []
    for agent, team, name, n, last in rows_of_several:
        teams = counts.setdefault(agent, {})
        if team is not None:
            seen = teams.setdefault(team, [0, last])
            seen[0] += n
            seen[1] = max(seen[1], last)
        if name is not None and (agent not in latest or (last, name) > latest[agent]):
            latest[agent] = (last, name)
    team_of.update({a: max(teams, key=lambda t: (teams[t][0], teams[t][1], t)) if teams else None
                    for a, teams in counts.items()})
    names.update({a: name for a, (_, name) in latest.items()})
    return team_of, names
