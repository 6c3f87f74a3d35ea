"""Contact, survey and complaint KPIs for a date range, at any grain, in DuckDB: one SQL pass per dataset."""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from ..auth.access import Scope
from ..store import checked_sql
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


def format_keys(keys: pd.Series, by: str | None) -> pd.Series:
    """Native group keys as the result spells them: 2026-11-16, 2026-W47 (ISO week, ISO year), 2026-11, 1-09."""
    if by in ("day", "week", "month"):
        t = pd.to_datetime(keys)
        if by == "week":
            iso = t.dt.isocalendar()
            return pd.Series([f"{y}-W{w:02d}" for y, w in zip(iso["year"], iso["week"])], index=keys.index, dtype=object)
        return pd.Series(t.dt.strftime("%Y-%m-%d" if by == "day" else "%Y-%m"), index=keys.index).astype(object)
    if by in ("interval_30", "interval_60"):
        return pd.Series(pd.to_datetime(keys).dt.strftime("%Y-%m-%d %H:%M"), index=keys.index).astype(object)
    if by == "weekday_hour":
        k = keys.astype("int64")
        return pd.Series([f"{d}-{h:02d}" for d, h in zip(k // 100, k % 100)], index=keys.index, dtype=object)
    return keys.astype(object)


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


def _aggregates(kpis: list[Kpi]) -> list[str]:
    cols = ["count(*) AS __n"]
    for k in kpis:
        if k.sql:
            cols.append(f"({k.sql}) AS \"{k.id}\"")
        else:
            cols.append(f"({k.num}) AS \"{k.id}__num\"")
            cols.append(f"({k.den}) AS \"{k.id}__den\"")
        if k.ss:
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


def _dataset_frame(cur: duckdb.DuckDBPyConnection, ds: Dataset, kpis: list[Kpi], start: date, end: date,
                   by: str | None, filters: dict[str, str | None], settings: dict[str, Any],
                   scope: Scope | None = None, rollup: str | None = None) -> pd.DataFrame | None:
    """One pass over one dataset: every KPI of it, per group, of the rows within the scope. None when the grouping
    or a filter doesn't apply."""
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
    if ds.snapshot is not None:
        if by in CYCLES:
            return None  # a backlog is a snapshot at an end time, not spread over hours of the week
        return _snapshot_frame(cur, kpis, ds, start, end, by, clauses, values)
    summed = _rollup.summed(kpis) if rollup and by not in _FINER_THAN_HOUR else kpis
    if summed and len(summed) < len(kpis) and _rollup.usable(cur, ds.name, rollup):  # a median: raw rows beside
        rest = [k for k in kpis if k not in summed]
        frame = _dataset_frame(cur, ds, summed, start, end, by, filters, settings, scope, rollup)
        return frame.merge(_dataset_frame(cur, ds, rest, start, end, by, filters, settings, scope).drop(columns="__n"),
                           on="key", how="outer")
    key = _NATIVE_KEY.get(by) or (dims[by] if by else "NULL")
    aggregates = _aggregates(kpis)
    if "__realtime" in ds.columns:  # how many real-time channels a group holds: two or more are never blended
        aggregates += ["min(channel) FILTER (WHERE __realtime) AS __rt_min", "max(channel) FILTER (WHERE __realtime) AS __rt_max"]
    rows = _rows_sql(cur, ds, kpis, clauses)
    where = " AND ".join(clauses) or "true"
    sql = f"SELECT {key} AS key, {', '.join(aggregates)} FROM ({rows}) WHERE {where} GROUP BY ALL"
    table = (_rollup.usable(cur, ds.name, rollup)
             if rollup and by not in _FINER_THAN_HOUR and _rollup.additive(kpis) else None)
    if table is not None:
        sql = _from_rollup(cur, table, sql, key, where, aggregates, values)
    return _keyed(cur.execute(sql, _params(sql, values)).df(), by)


def _from_rollup(cur: duckdb.DuckDBPyConnection, table: str, raw_sql: str, key: str, where: str,
                 aggregates: list[str], values: dict[str, Any]) -> str:
    """The same aggregate answered from the rollup's hourly sums, and from raw rows for the hours from the first one
    whose cut-off measures are not settled (values["split"]; the raw SQL then reads [split, end))."""
    start, end = datetime.combine(values["start"], time()), datetime.combine(values["end"], time())
    split = _rollup.first_unsettled(cur, table, start, end, values["cutoff"]) or end
    values["split"] = max(split, start)
    merged = _rollup.merged(aggregates)
    rolled = (f"SELECT {key} AS key, {merged} FROM (SELECT *, __hour AS __t FROM {table} "
              f"WHERE __hour >= $start AND __hour < $split) WHERE {where} GROUP BY ALL")
    if values["split"] >= end:
        return rolled
    raw = raw_sql.replace("$start", "$split")
    return f"SELECT key, {merged} FROM ({rolled} UNION ALL BY NAME {raw}) GROUP BY ALL"


def _keyed(frame: pd.DataFrame, by: str | None) -> pd.DataFrame:
    """The aggregated frame with its keys formatted, and the real-time channel count from the channels' min and max."""
    frame["key"] = format_keys(frame["key"], by)
    if "__rt_min" in frame:
        lo, hi = frame.pop("__rt_min"), frame.pop("__rt_max")
        frame["__realtime_channels"] = lo.notna().astype("int64") + (lo.notna() & (lo != hi)).astype("int64")
    return frame


def _rows_sql(cur: duckdb.DuckDBPyConnection, ds: Dataset, kpis: list[Kpi], clauses: list[str],
              calendar: str = "__business_calendar") -> str:
    """SQL of the dataset's rows in [$start, $end) with only the columns the KPIs, the declared columns, the dimensions
    and the conditions use; deadlines (DEADLINE_SQL) joined to the deferred channels' rows only."""
    source = checked_sql(ds.source)
    used = " ".join([s for k in kpis for s in (k.sql, k.num, k.den, k.ss) if s] + list(ds.columns.values())
                    + list(ds.dimensions.values()) + clauses + [ds.time, ds.deadline_from or "", "channel"])
    names = set(re.findall(r"[A-Za-z_]\w*", used))
    stored = [d[0] for d in cur.execute(f"SELECT * FROM ({source}) LIMIT 0").description]
    cols = ", ".join(c for c in stored if c in names)
    extra = "".join(f", {sql} AS {name}" for name, sql in ds.columns.items())
    base = (f"SELECT {cols}, {ds.time} AS __t{extra} FROM ({source}) "
            f"WHERE {ds.time} >= $start AND {ds.time} < $end")
    if not ds.deadline_from or "__deadline" not in names:
        return base
    deferred = "list_contains($deferred_channels, channel)"
    timed = DEADLINE_SQL.format(at=ds.deadline_from, source=f"SELECT * FROM ({base}) WHERE {deferred}",
                                calendar=calendar)
    return (f"SELECT *, NULL::TIMESTAMP AS __deadline FROM ({base}) WHERE NOT coalesce({deferred}, false) "
            f"UNION ALL BY NAME ({timed})")


def _snapshot_frame(cur, kpis, ds, start, end, by, clauses, values) -> pd.DataFrame:
    """The rows that hold at the end of each bucket (or of the range) by the dataset's snapshot condition."""
    if by in TIME_GRAINS:
        ends = [(k, min(nxt, end + timedelta(days=1))) for k, _, nxt in bucket_keys(start, end, by)]
    else:
        ends = [(None, end + timedelta(days=1))]
    frame = pd.DataFrame({"__bucket": [k for k, _ in ends], "__as_of": pd.to_datetime([e for _, e in ends])})
    cur.register("__as_of_df", frame)
    key = "__bucket" if by in TIME_GRAINS else (ds.dimensions[by] if by else "NULL")
    rows = f"SELECT r.*, b.__bucket, b.__as_of FROM __as_of_df b, ({ds.rows}) r"
    where = " AND ".join([ds.snapshot, *clauses])
    sql = f"SELECT {key} AS key, {', '.join(_aggregates(kpis))} FROM ({rows}) WHERE {where} GROUP BY ALL"
    try:
        return cur.execute(sql, _params(sql, values)).df()
    finally:
        cur.unregister("__as_of_df")


def data_cutoffs(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The latest timestamp imported per dataset: what "as the data stands" means for maturity and deadlines."""
    with con.cursor() as cur:
        contacts, surveys, complaints = cur.execute(
            "SELECT (SELECT greatest(max(arrived_at), max(answered_at)) FROM contacts), (SELECT max(responded_at) FROM surveys), "
            "(SELECT greatest(max(opened_at), max(resolved_at)) FROM complaints)").fetchone()
    return {"contacts": contacts, "surveys": surveys, "complaints": complaints}


@lru_cache(maxsize=8)
def _calendar(spec: tuple[tuple[str, str], ...], first_year: int, last_year: int):
    return taiwan_calendar(dict(spec), range(first_year, last_year + 1))


def _register_calendar(cur: duckdb.DuckDBPyConnection, start: date, end: date, settings: dict[str, Any]) -> None:
    """Business days of each deferred channel around the range, for the contacts' deadlines (DEADLINE_SQL)."""
    hours = settings.get("response_target_hours_by_channel") or {}
    spec = settings.get("business_hours") or {}
    calendars = {ch: _calendar(tuple(sorted((spec.get(ch) or {"mon-fri": "09:00-18:00"}).items())),
                               start.year - 1, end.year + 2) for ch in hours}
    cur.register("__business_calendar", calendar_table(calendars, hours, start, end))


def compute_kpis(con: duckdb.DuckDBPyConnection, start: date, end: date, by: str | None = None, *,
                 team: str | None = None, channel: str | None = None, queue: str | None = None,
                 catalog: Catalog | None = None, settings: dict[str, Any] | None = None,
                 stats: bool = False, scope: Scope | None = None, rollup: bool = True) -> pd.DataFrame:
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
    """
    if by is not None and by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}, got {by!r}")
    if by == "agent":
        require(scope, "agent_rows")
    catalog = catalog or load_catalog()
    settings = {**catalog.settings, **(settings or {})}
    settings.setdefault("__cutoffs", data_cutoffs(con))
    filters = {"team": team, "channel": channel, "queue": queue}
    cur = con.cursor()  # cursor per call: a shared connection is not thread-safe
    parts: list[pd.DataFrame] = []
    not_applicable: list[str] = []
    try:
        _register_calendar(cur, start, end, settings)
        for dataset in ("contacts", "surveys", "complaints", "backlog"):
            kpis = catalog.of(dataset)
            fp = _rollup.fingerprint(catalog, settings, dataset) if rollup and dataset in _rollup.ROLLUP_DATASETS else None
            frame = _dataset_frame(cur, catalog.datasets[dataset], kpis, start, end, by, filters, settings, scope, fp)
            if frame is None:
                not_applicable += [k.id for k in kpis]
            else:
                parts.append(_kpi_values(frame, kpis, stats))
    finally:
        cur.close()
    result = _aligned(parts, _result_index(parts, start, end, by), catalog)
    for kid in not_applicable:
        result[kid] = pd.NA
    for k in catalog.of("derived"):
        result[k.id] = _derived(k.formula, result)
    _mask(result, catalog, settings, start, end, by, channel)
    ids = [k.id for k in catalog.kpis.values() if k.id in result]
    extra = [c for c in result.columns if "__" in c and not c.startswith("__")] if stats else []
    result = result[ids + extra].reset_index()
    result["key"] = pd.Series([None if pd.isna(k) else k for k in result["key"]], dtype=object)  # one spelling of "no team/agent/..."
    return result


def _kpi_values(frame: pd.DataFrame, kpis: list[Kpi], stats: bool = False) -> pd.DataFrame:
    """One dataset's aggregates as KPI values by group key (with the group's row count __n, and with stats the sums).
    Vectorised on the few aggregated rows: arrays first, one frame at the end."""
    def floats(col: str) -> np.ndarray:
        return frame[col].to_numpy(dtype="float64", na_value=np.nan) if col in frame else np.full(len(frame), np.nan)

    cols: dict[str, Any] = {"key": frame["key"].astype(object), "__n": frame["__n"].to_numpy()}
    if "__realtime_channels" in frame:
        cols["__realtime_channels"] = frame["__realtime_channels"].to_numpy()
    empty = floats("__n") == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in kpis:
            if k.sql:
                v = floats(k.id)
            else:
                num, den = floats(f"{k.id}__num"), floats(f"{k.id}__den")
                v = np.where(den == 0, np.nan, num / den)
                if stats:
                    cols[f"{k.id}__num"], cols[f"{k.id}__den"] = num, den
            if stats and k.ss:
                cols[f"{k.id}__ss"] = floats(f"{k.id}__ss")
            cols[k.id] = v if k.unit == "count" else np.where(empty, np.nan, v)
    out = pd.DataFrame({c: pd.array(v, dtype="Float64") if isinstance(v, np.ndarray) and v.dtype == "float64" else v
                        for c, v in cols.items()})
    return out.set_index("key")


def matures_on(kpi: Kpi, end: date, settings: dict[str, Any]) -> date | None:
    """The day a maturing KPI of a range ending `end` gets its value; None for a KPI that does not mature."""
    if not kpi.matures:
        return None
    return end + timedelta(days=int(settings[kpi.matures]) + 1)


def _bucket_ends(index: pd.Index, start: date, end: date, by: str | None) -> list[date]:
    if by in TIME_GRAINS:
        ends = {k: min(nxt - timedelta(days=1), end) for k, _, nxt in bucket_keys(start, end, by)}
        return [ends.get(k, end) for k in index]
    return [end] * len(index)


def _mask(result: pd.DataFrame, catalog: Catalog, settings: dict[str, Any], start: date, end: date,
          by: str | None, channel: str | None) -> None:
    """No value where a KPI would mislead: blended real-time channels, queue measures per agent, immature ranges."""
    realtime = set(settings.get("realtime_channels") or ())
    if by == "channel":
        single = pd.Series([k in realtime for k in result.index], index=result.index)
    elif channel is not None:
        single = pd.Series(channel in realtime, index=result.index)
    else:  # no channel named: a group holding one real-time channel still has one real-time value
        single = result.get("__realtime_channels", pd.Series(0, index=result.index)).fillna(0) <= 1
    ends = _bucket_ends(result.index, start, end, by)
    for k in catalog.kpis.values():
        if k.id not in result:
            continue
        if k.scope == "realtime":
            result[k.id] = result[k.id].astype("Float64").where(single)
        if not k.agent and by == "agent":
            result[k.id] = pd.NA
        if k.matures:
            cutoff = settings["__cutoffs"].get("complaints" if k.dataset == "backlog" else k.dataset)
            ok = [cutoff is not None and pd.Timestamp(matures_on(k, e, settings)) <= pd.Timestamp(cutoff) for e in ends]
            result[k.id] = result[k.id].astype("Float64").where(pd.Series(ok, index=result.index))


def _result_index(parts: list[pd.DataFrame], start: date, end: date, by: str | None) -> pd.Index:
    """Every bucket of a time grain; else the groups with rows in any dataset, sorted, "none" (None) last."""
    if by in TIME_GRAINS:
        return pd.Index([k for k, _, _ in bucket_keys(start, end, by)], name="key", dtype=object)
    if not by:
        return pd.Index([None], name="key", dtype=object)
    keys = pd.Index([], dtype=object)
    for p in parts:
        keys = keys.union(p.index[p["__n"] > 0].dropna())
    index = pd.Index(sorted(keys, key=str), name="key", dtype=object)
    if any((p.index.isna() & (p["__n"] > 0)).any() for p in parts):
        index = index.append(pd.Index([None], dtype=object)).rename("key")
    return index


def _aligned(parts: list[pd.DataFrame], index: pd.Index, catalog: Catalog) -> pd.DataFrame:
    """The datasets' KPI values side by side on one index."""
    present = np.zeros(len(index), dtype=bool)
    frames = []
    for p in parts:
        aligned = p[~p.index.duplicated()].reindex(index)
        present |= (aligned["__n"].fillna(0) > 0).to_numpy()
        frames.append(aligned.drop(columns="__n"))
    result = pd.concat(frames, axis=1) if frames else pd.DataFrame(index=index)
    result = result.loc[:, ~result.columns.duplicated(keep="last")]
    present = pd.Series(present, index=index)
    # Counts are 0 where the group has data in some dataset, NA where the whole group is empty.
    for k in catalog.kpis.values():
        if k.id in result and k.unit == "count":
            result[k.id] = result[k.id].astype("Float64").where(~present | result[k.id].notna(), 0).mask(~present)
    return result


def _derived(formula: str, frame: pd.DataFrame) -> pd.Series:
    """A formula of other KPIs (e.g. 1000 * complaints / answered); NA where a divisor is 0 or missing."""
    env = {c: frame[c].astype("Float64") for c in frame.columns}
    m = re.fullmatch(r"\s*([\d.]+)\s*\*\s*(\w+)\s*/\s*(\w+)\s*", formula)
    if not m:
        raise ValueError(f"unsupported derived formula {formula!r}")
    factor, a, b = float(m.group(1)), env[m.group(2)], env[m.group(3)]
    return (factor * a / b).mask(b == 0)


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


def _agent_rows(con: duckdb.DuckDBPyConnection, select: str, start: date, end: date, scope: Scope | None,
                *clauses: str) -> list[tuple]:
    """(agent_id, select) per agent of the contacts in the range within the scope (refused to a role without agent rows)."""
    where = ["agent_id IS NOT NULL", "arrived_at >= $start", "arrived_at < $end", *clauses,
             *row_clauses(scope, SOURCES["contacts"].dimensions, "agent")]
    sql = f"SELECT agent_id, {select} FROM contacts WHERE {' AND '.join(where)} GROUP BY agent_id"
    values = {"start": start, "end": end + timedelta(days=1), **scope_values(scope)}
    with con.cursor() as cur:
        return cur.execute(sql, _params(sql, values)).fetchall()


def agent_names(con: duckdb.DuckDBPyConnection, start: date, end: date, *, scope: Scope | None = None) -> dict[str, str]:
    """Each agent's display name in the range, where the contacts carry one (the latest name, should it change)."""
    return dict(_agent_rows(con, "arg_max(agent_name, arrived_at)", start, end, scope, "agent_name IS NOT NULL"))


def agent_teams(con: duckdb.DuckDBPyConnection, start: date, end: date, *, scope: Scope | None = None) -> dict[str, str]:
    """Each agent's team in the range (the team of most of their answered contacts)."""
    return dict(_agent_rows(con, "mode(team)", start, end, scope))
