"""Contact, survey and complaint KPIs for a date range, at any grain, in DuckDB: one SQL pass per dataset."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import duckdb
import pandas as pd

from ._catalog import Catalog, Dataset, Kpi, load_catalog, status

TIME_GRAINS = ("day", "week", "month")
CYCLES = ("weekday_hour",)  # key "1-09" = Monday 09:00-09:59 (ISO weekday 1-7)
FILTERS = ("team", "channel", "queue")
# Where each dataset's rows come from, its time column, dimensions and extra columns: catalog.yaml `datasets`.
SOURCES: dict[str, Dataset] = load_catalog().datasets
DIMENSIONS = tuple(dict.fromkeys(d for ds in SOURCES.values() for d in ds.dimensions))  # team, agent, ..., category
GROUPINGS = TIME_GRAINS + DIMENSIONS + CYCLES

_TIME_KEY = {
    "day": "strftime(__t, '%Y-%m-%d')",
    "week": "strftime(__t, '%G-W%V')",  # ISO week, Monday first, ISO year
    "month": "strftime(__t, '%Y-%m')",
    "weekday_hour": "strftime(__t, '%u-%H')",
}


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
    return value


def _aggregates(kpis: list[Kpi]) -> list[str]:
    cols = ["count(*) AS __n"]
    for k in kpis:
        if k.sql:
            cols.append(f"({k.sql}) AS \"{k.id}\"")
        else:
            cols.append(f"({k.num}) AS \"{k.id}__num\"")
            cols.append(f"({k.den}) AS \"{k.id}__den\"")
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
                   by: str | None, filters: dict[str, str | None], settings: dict[str, Any]) -> pd.DataFrame | None:
    """One pass over one dataset: every KPI of it, per group. None when the grouping or a filter doesn't apply."""
    dims = ds.dimensions
    if by in DIMENSIONS and by not in dims:
        return None
    clauses, applies = _where(dims, filters)
    if not applies:
        return None
    values: dict[str, Any] = {**settings, **{k: v for k, v in filters.items() if v is not None},
                              "start": start, "end": end + timedelta(days=1)}
    if ds.snapshot is not None:
        if by in CYCLES:
            return None  # a backlog is a snapshot at an end time, not spread over hours of the week
        return _snapshot_frame(cur, kpis, ds, start, end, by, clauses, values)
    key = _TIME_KEY.get(by) or (dims[by] if by else "NULL")
    where = " AND ".join(["__t >= $start", "__t < $end", *clauses])
    sql = (f"SELECT {key} AS key, {', '.join(_aggregates(kpis))} FROM ({ds.rows}) WHERE {where} GROUP BY ALL")
    return cur.execute(sql, _params(sql, values)).df()


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


def compute_kpis(con: duckdb.DuckDBPyConnection, start: date, end: date, by: str | None = None, *,
                 team: str | None = None, channel: str | None = None, queue: str | None = None,
                 catalog: Catalog | None = None, settings: dict[str, Any] | None = None) -> pd.DataFrame:
    """Every contact, survey and complaint KPI for [start, end] (both inclusive), one row per group.

    by: None (one row, key None), day, week (ISO, e.g. 2026-W47), month, team, agent, channel, queue or category.
    Ratios are sums over the group; a zero denominator or an empty group gives NA, never 0.
    """
    if by is not None and by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}, got {by!r}")
    catalog = catalog or load_catalog()
    settings = {**catalog.settings, **(settings or {})}
    filters = {"team": team, "channel": channel, "queue": queue}
    cur = con.cursor()  # cursor per call: a shared connection is not thread-safe
    parts: list[pd.DataFrame] = []
    not_applicable: list[str] = []
    try:
        for dataset in ("contacts", "surveys", "complaints", "backlog"):
            kpis = catalog.of(dataset)
            frame = _dataset_frame(cur, catalog.datasets[dataset], kpis, start, end, by, filters, settings)
            if frame is None:
                not_applicable += [k.id for k in kpis]
            else:
                parts.append(_kpi_values(frame, kpis))
    finally:
        cur.close()
    result = _aligned(parts, _result_index(parts, start, end, by), catalog)
    for kid in not_applicable:
        result[kid] = pd.NA
    for k in catalog.of("derived"):
        result[k.id] = _derived(k.formula, result)
    result = result[[k.id for k in catalog.kpis.values() if k.id in result]].reset_index()
    result["key"] = pd.Series([None if pd.isna(k) else k for k in result["key"]], dtype=object)  # one spelling of "no team/agent/..."
    return result


def _kpi_values(frame: pd.DataFrame, kpis: list[Kpi]) -> pd.DataFrame:
    """One dataset's aggregates as KPI values by group key (with the group's row count __n)."""
    out = pd.DataFrame({"key": frame["key"].astype(object), "__n": frame["__n"]})
    n = frame["__n"]
    for k in kpis:
        if k.sql:
            v = frame.get(k.id, pd.Series(dtype="float64")).astype("Float64")
        else:
            num = frame[f"{k.id}__num"].astype("Float64")
            den = frame[f"{k.id}__den"].astype("Float64")
            v = (num / den).mask(den == 0)
        out[k.id] = v if k.unit == "count" else v.mask(n == 0)
    return out.set_index("key")


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
    result = pd.DataFrame(index=index)
    present = pd.Series(False, index=index)
    for p in parts:
        p = p[~p.index.duplicated()]
        aligned = p.reindex(index)
        present |= aligned["__n"].fillna(0) > 0
        for col in p.columns.drop("__n"):
            result[col] = aligned[col]
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


@dataclass(frozen=True)
class KpiValue:
    id: str
    value: float | None
    target: float | None
    status: str | None
    previous: float | None
    change: float | None
    band: float | None = None  # the warning band that goes with target (team's, channel's or the center's)


def previous_range(start: date, end: date) -> tuple[date, date]:
    """The period of the same length just before [start, end]."""
    days = (end - start).days + 1
    return start - timedelta(days=days), start - timedelta(days=1)


def kpi_status(con: duckdb.DuckDBPyConnection, start: date, end: date, *, team: str | None = None,
               channel: str | None = None, queue: str | None = None, catalog: Catalog | None = None) -> dict[str, KpiValue]:
    """Each KPI's value, target, status, and change against the previous period of the same length."""
    catalog = catalog or load_catalog()
    now = compute_kpis(con, start, end, team=team, channel=channel, queue=queue, catalog=catalog).iloc[0]
    p_start, p_end = previous_range(start, end)
    before = compute_kpis(con, p_start, p_end, team=team, channel=channel, queue=queue, catalog=catalog).iloc[0]
    out = {}
    for kid in now.index.drop("key"):
        k = catalog[kid]
        v = None if pd.isna(now[kid]) else float(now[kid])
        p = None if pd.isna(before[kid]) else float(before[kid])
        target, band = k.target_for(team, channel)
        out[kid] = KpiValue(kid, v, target, status(k, v, team, channel), p,
                            None if v is None or p is None else v - p, band)
    return out


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


def _values(frame: pd.DataFrame) -> dict[Any, dict[str, float | None]]:
    out = {}
    for _, r in frame.iterrows():
        out[r["key"]] = {k: (None if pd.isna(r[k]) else float(r[k])) for k in frame.columns if k != "key"}
    return out


def group_status(con: duckdb.DuckDBPyConnection, start: date, end: date, by: str, *, team: str | None = None,
                 channel: str | None = None, queue: str | None = None, catalog: Catalog | None = None,
                 team_of: dict[Any, str] | None = None) -> dict[Any, dict[str, KpiValue]]:
    """kpi_status for every group of a dimension (team, agent, ...): value, target, status, change vs the previous period.

    team_of maps a group key to its team so per-team targets apply (a team key is its own team).
    """
    catalog = catalog or load_catalog()
    now = _values(compute_kpis(con, start, end, by, team=team, channel=channel, queue=queue, catalog=catalog))
    p_start, p_end = previous_range(start, end)
    before = _values(compute_kpis(con, p_start, p_end, by, team=team, channel=channel, queue=queue, catalog=catalog))
    out: dict[Any, dict[str, KpiValue]] = {}
    for key, values in now.items():
        grp_team = key if by == "team" else (team_of or {}).get(key, team)
        grp_channel = key if by == "channel" else channel
        prev = before.get(key, {})
        row = {}
        for kid, v in values.items():
            p = prev.get(kid)
            k = catalog[kid]
            target, band = k.target_for(grp_team, grp_channel)
            row[kid] = KpiValue(kid, v, target, status(k, v, grp_team, grp_channel), p,
                                None if v is None or p is None else v - p, band)
        out[key] = row
    return out


def agent_teams(con: duckdb.DuckDBPyConnection, start: date, end: date) -> dict[str, str]:
    """Each agent's team in the range (the team of most of their answered contacts)."""
    with con.cursor() as cur:
        rows = cur.execute(
            "SELECT agent_id, mode(team) FROM contacts WHERE agent_id IS NOT NULL AND arrived_at >= ? AND arrived_at < ? "
            "GROUP BY agent_id", [start, end + timedelta(days=1)]).fetchall()
    return {a: t for a, t in rows}
