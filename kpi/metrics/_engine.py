"""Contact, survey and complaint KPIs for a date range, at any grain, in DuckDB: one SQL pass per dataset."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from datetime import date, timedelta
from collections.abc import Mapping
from typing import Any

import duckdb
import pandas as pd

from ._calendar import DEADLINE_SQL, calendar_table, taiwan_calendar
from ._catalog import Catalog, Kpi, load_catalog, status
from ._stats import Z95, two_proportion_z, wilson_interval

TIME_GRAINS = ("day", "week", "month")
DIMENSIONS = ("team", "agent", "channel", "queue", "category")
CYCLES = ("weekday_hour",)  # key "1-09" = Monday 09:00-09:59 (ISO weekday 1-7)
GROUPINGS = TIME_GRAINS + DIMENSIONS + CYCLES
FILTERS = ("team", "channel", "queue")

# Each dataset as rows with the same column names for time and dimensions.
_DUE = "coalesce(due_at, opened_at + to_seconds(sla_hours * 3600.0), opened_at + to_seconds($default_sla_hours * 3600.0))"
SOURCES = {
    "contacts": ("arrived_at", "SELECT *, arrived_at AS __t, list_contains($realtime_channels, channel) AS __realtime, "
                 "list_contains($deferred_channels, channel) AS __deferred FROM contacts",
                 {"team": "team", "agent": "agent_id", "channel": "channel", "queue": "queue"}),
    # A survey about a contact counts in the contact's period, team, agent and channel; an unlinked one in the
    # period it was answered, with its own team and agent.
    "surveys": ("responded_at",
                "SELECT s.survey_id, s.csat, s.nps, s.ces, s.comment, coalesce(c.arrived_at, s.responded_at) AS __t, "
                "coalesce(c.team, s.team) AS team, coalesce(c.agent_id, s.agent_id) AS agent_id, c.channel, c.queue "
                "FROM surveys s LEFT JOIN contacts c ON c.contact_id = s.contact_id",
                {"team": "team", "agent": "agent_id", "channel": "channel", "queue": "queue"}),
    "complaints": ("opened_at", f"SELECT *, opened_at AS __t, {_DUE} AS __due FROM complaints",
                   {"team": "team", "agent": "agent_id", "channel": "channel", "category": "category"}),
}
SOURCES["backlog"] = SOURCES["complaints"]

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
    """Only the parameters the statement uses (DuckDB refuses extras)."""
    return {k: values[k] for k in set(re.findall(r"\$(\w+)", sql))}


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


def _dataset_frame(cur: duckdb.DuckDBPyConnection, dataset: str, kpis: list[Kpi], start: date, end: date,
                   by: str | None, filters: dict[str, str | None], settings: dict[str, Any]) -> pd.DataFrame | None:
    """One pass over one dataset: every KPI of it, per group. None when the grouping or a filter doesn't apply."""
    _, source, dims = SOURCES[dataset]
    if by in DIMENSIONS and by not in dims:
        return None
    clauses, applies = _where(dims, filters)
    if not applies:
        return None
    values: dict[str, Any] = {**settings, **{k: v for k, v in filters.items() if v is not None},
                              "start": start, "end": end + timedelta(days=1), "cutoff": settings["__cutoffs"].get(dataset),
                              "deferred_channels": sorted(settings.get("response_target_hours_by_channel") or {})}
    if dataset == "contacts":
        source = DEADLINE_SQL.format(at="arrived_at", source=source, calendar="__business_calendar")
    if dataset == "backlog":
        if by in CYCLES:
            return None  # a backlog is a snapshot at an end time, not spread over hours of the week
        return _backlog_frame(cur, kpis, source, dims, start, end, by, clauses, values)
    key = _TIME_KEY.get(by) or (dims[by] if by else "NULL")
    where = " AND ".join(["__t >= $start", "__t < $end", *clauses])
    aggregates = _aggregates(kpis)
    if dataset == "contacts":  # how many real-time channels a group holds: two or more are never blended
        aggregates.append("count(DISTINCT channel) FILTER (WHERE __realtime) AS __realtime_channels")
    sql = (f"SELECT {key} AS key, {', '.join(aggregates)} FROM ({source}) WHERE {where} GROUP BY ALL")
    sql = _per_channel_threshold(sql, settings, values)
    return cur.execute(sql, _params(sql, values)).df()


def _per_channel_threshold(sql: str, settings: dict[str, Any], values: dict[str, Any]) -> str:
    """Each contact judged against its own channel's service-level threshold (settings), the default elsewhere."""
    by_channel = settings.get("service_level_seconds_by_channel") or {}
    if not by_channel or "$service_level_seconds" not in sql:
        return sql
    whens = []
    for i, (channel, seconds) in enumerate(sorted(by_channel.items())):
        values[f"sl_channel_{i}"], values[f"sl_seconds_{i}"] = channel, float(seconds)
        whens.append(f"WHEN $sl_channel_{i} THEN $sl_seconds_{i}")
    case = f"(CASE channel {' '.join(whens)} ELSE $service_level_seconds END)"
    return re.sub(r"\$service_level_seconds\b", lambda _: case, sql)


def _backlog_frame(cur, kpis, source, dims, start, end, by, clauses, values) -> pd.DataFrame:
    """Complaints open at the end of each bucket (or of the range), whenever they were opened."""
    if by in TIME_GRAINS:
        ends = [(k, min(nxt, end + timedelta(days=1))) for k, _, nxt in bucket_keys(start, end, by)]
    else:
        ends = [(None, end + timedelta(days=1))]
    frame = pd.DataFrame({"key": [k for k, _ in ends], "__as_of": pd.to_datetime([e for _, e in ends])})
    cur.register("__as_of_df", frame)
    key = "b.key" if by in TIME_GRAINS else (dims[by] if by else "NULL")
    where = " AND ".join(["c.__t < b.__as_of", "(c.resolved_at IS NULL OR c.resolved_at >= b.__as_of)", *clauses])
    aggs = [a.replace("__as_of", "b.__as_of") for a in _aggregates(kpis)]
    sql = f"SELECT {key} AS key, {', '.join(aggs)} FROM __as_of_df b, ({source}) c WHERE {where} GROUP BY ALL"
    try:
        return cur.execute(sql, _params(sql, values)).df()
    finally:
        cur.unregister("__as_of_df")


def data_cutoffs(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The latest timestamp imported per dataset: what "as the data stands" means for maturity and deadlines."""
    with con.cursor() as cur:
        contacts, surveys, complaints = cur.execute(
            "SELECT (SELECT max(arrived_at) FROM contacts), (SELECT max(responded_at) FROM surveys), "
            "(SELECT greatest(max(opened_at), max(resolved_at)) FROM complaints)").fetchone()
    return {"contacts": contacts, "surveys": surveys, "complaints": complaints, "backlog": complaints}


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
                 stats: bool = False) -> pd.DataFrame:
    """Every contact, survey and complaint KPI for [start, end] (both inclusive), one row per group.

    by: None (one row, key None), day, week (ISO, e.g. 2026-W47), month, team, agent, channel, queue or category.
    Ratios are sums over the group; a zero denominator or an empty group gives NA, never 0. A real-time measure
    (service level, speed of answer, abandonment) has a value only for one real-time channel; a queue measure none
    at agent grain; a maturing complaint measure none until its range has matured. stats=True adds each ratio's
    `<id>__num`, `<id>__den` (its n) and `<id>__ss` columns, for intervals and tests of change.
    """
    if by is not None and by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}, got {by!r}")
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
            frame = _dataset_frame(cur, dataset, kpis, start, end, by, filters, settings)
            if frame is None:
                not_applicable += [k.id for k in kpis]
                continue
            parts.append(_kpi_columns(frame, kpis, stats).set_index("key"))
    finally:
        cur.close()
    result = _combine(parts, start, end, by, catalog)
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


def _kpi_columns(frame: pd.DataFrame, kpis: list[Kpi], stats: bool) -> pd.DataFrame:
    """Each KPI's value from its aggregate or ratio of sums (and, with stats, the sums themselves)."""
    out = pd.DataFrame({"key": frame["key"].astype(object), "__n": frame["__n"]})
    if "__realtime_channels" in frame:
        out["__realtime_channels"] = frame["__realtime_channels"]
    n = frame["__n"]
    for k in kpis:
        if k.sql:
            v = frame.get(k.id, pd.Series(dtype="float64")).astype("Float64")
        else:
            num = frame[f"{k.id}__num"].astype("Float64")
            den = frame[f"{k.id}__den"].astype("Float64")
            v = (num / den).mask(den == 0)
            if stats:
                out[f"{k.id}__num"], out[f"{k.id}__den"] = num, den
        if stats and k.ss:
            out[f"{k.id}__ss"] = frame[f"{k.id}__ss"].astype("Float64")
        out[k.id] = v if k.unit == "count" else v.mask(n == 0)
    return out


def _combine(parts: list[pd.DataFrame], start: date, end: date, by: str | None, catalog: Catalog) -> pd.DataFrame:
    """The datasets' results side by side on one index of groups (every time bucket, or every group with data)."""
    if by in TIME_GRAINS:
        index = pd.Index([k for k, _, _ in bucket_keys(start, end, by)], name="key", dtype=object)
    else:
        keys = pd.Index([], dtype=object)
        for p in parts:
            keys = keys.union(p.index[p["__n"] > 0].dropna()) if by else pd.Index([None], dtype=object)
        index = pd.Index(sorted(keys, key=str) if by else [None], name="key", dtype=object)
        if by:
            nulls = any((p.index.isna() & (p["__n"] > 0)).any() for p in parts)
            if nulls:
                index = index.append(pd.Index([None], dtype=object)).rename("key")
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
            cutoff = settings["__cutoffs"].get(k.dataset)
            ok = [cutoff is not None and pd.Timestamp(matures_on(k, e, settings)) <= pd.Timestamp(cutoff) for e in ends]
            result[k.id] = result[k.id].astype("Float64").where(pd.Series(ok, index=result.index))


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
    status: str | None  # good / warning / bad; uncertain when n is small or the interval holds the target
    previous: float | None
    change: float | None
    band: float | None = None  # the warning band that goes with target (team's, channel's or the center's)
    n: float | None = None  # the denominator of a rate or mean (responses, contacts, complaints)
    interval: tuple[float, float] | None = None  # 95%: Wilson for a rate, normal for a mean or NPS
    trend: str | None = None  # worse / better beyond noise (95% test against the previous period), steady, or None
    matures_on: date | None = None  # set while a maturing KPI has no value yet
    se: float | None = None  # standard error of the value (for comparing an agent with their team)


def previous_range(start: date, end: date) -> tuple[date, date]:
    """The period of the same length just before [start, end]."""
    days = (end - start).days + 1
    return start - timedelta(days=days), start - timedelta(days=1)


def _spread(k: Kpi, row: Mapping[str, Any]) -> tuple[float | None, float | None, float | None]:
    """(n, mean, variance of one row's value) of a ratio KPI; variance None when the KPI has no spread."""
    num, den = _num(row.get(f"{k.id}__num")), _num(row.get(f"{k.id}__den"))
    if num is None or not den:
        return den, None, None
    mean = num / den
    if k.unit == "fraction":
        return den, mean, mean * (1 - mean)
    ss = _num(row.get(f"{k.id}__ss"))
    return den, mean, None if ss is None else max(ss / den - mean * mean, 0.0)


def _num(x: Any) -> float | None:
    return None if x is None or x is pd.NA or (isinstance(x, float) and x != x) else float(x)


def _interval(k: Kpi, row: Mapping[str, Any]) -> tuple[float, float] | None:
    n, mean, var = _spread(k, row)
    if mean is None or var is None:
        return None
    if k.unit == "fraction":
        return wilson_interval(_num(row[f"{k.id}__num"]), n)
    half = Z95 * (var / n) ** 0.5
    return mean - half, mean + half


def _trend(k: Kpi, now: Mapping[str, Any], before: Mapping[str, Any]) -> str | None:
    """worse / better when the change is beyond noise at 95%, steady when not, None when it can't be tested."""
    if k.better not in ("higher", "lower", "near"):
        return None
    n1, m1, v1 = _spread(k, now)
    n0, m0, v0 = _spread(k, before)
    if m1 is None or m0 is None or v1 is None or v0 is None:
        return None
    if k.unit == "fraction":
        z = two_proportion_z(_num(now[f"{k.id}__num"]), n1, _num(before[f"{k.id}__num"]), n0)
    else:
        se = (v1 / n1 + v0 / n0) ** 0.5
        z = None if se == 0 else (m1 - m0) / se
    if z is None or abs(z) <= Z95:
        return "steady"
    if k.better == "near":
        return None  # closer to or further from the target: judged by status, not by direction
    return "better" if (z > 0) == (k.better == "higher") else "worse"


def judge(k: Kpi, now: Mapping[str, Any], before: Mapping[str, Any], end: date, team: str | None,
          channel: str | None, settings: Mapping[str, Any]) -> KpiValue:
    """One KPI of one group as people should read it: value, target, credible status, n, interval, real change."""
    v, p = _num(now.get(k.id)), _num(before.get(k.id))
    target, band = k.target_for(team, channel)
    n, _, var = _spread(k, now)
    interval = _interval(k, now) if v is not None else None
    se = (var / n) ** 0.5 if v is not None and var is not None and n else None
    st = status(k, v, team, channel)
    min_n = (settings.get("min_n") or {}).get("complaints" if k.dataset == "backlog" else k.dataset)
    small = n is not None and min_n is not None and n < min_n
    holds_target = interval is not None and target is not None and interval[0] <= target <= interval[1]
    if st in ("good", "warning", "bad") and (small or holds_target):
        st = "uncertain"
    maturing = matures_on(k, end, settings) if v is None and k.matures else None
    return KpiValue(k.id, v, target, st, p, None if v is None or p is None else v - p, band, n, interval,
                    _trend(k, now, before) if v is not None else None, maturing, se)


def kpi_status(con: duckdb.DuckDBPyConnection, start: date, end: date, *, team: str | None = None,
               channel: str | None = None, queue: str | None = None, catalog: Catalog | None = None) -> dict[str, KpiValue]:
    """Each KPI's value, target, status, n, interval and change against the previous period of the same length."""
    catalog = catalog or load_catalog()
    settings = {**catalog.settings, "__cutoffs": data_cutoffs(con)}
    kw = dict(team=team, channel=channel, queue=queue, catalog=catalog, settings=settings, stats=True)
    now = compute_kpis(con, start, end, **kw).iloc[0].to_dict()
    before = compute_kpis(con, *previous_range(start, end), **kw).iloc[0].to_dict()
    return {k.id: judge(k, now, before, end, team, channel, settings)
            for k in catalog.kpis.values() if k.id in now}


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


def stats_jsonable(row: Mapping[str, Any], ids: list[str], catalog: Catalog, end: date,
                   settings: Mapping[str, Any]) -> dict[str, Any]:
    """Beside a row's KPIs (compute_kpis with stats=True): each rate's n, its 95% interval, and when maturing ones mature."""
    n, interval, maturing = {}, {}, {}
    for kid in ids:
        k = catalog[kid]
        size = _spread(k, row)[0] if k.num and _num(row.get(kid)) is not None else None
        if size is not None:
            n[kid] = int(size) if float(size).is_integer() else round(size, 4)
        iv = _interval(k, row) if _num(row.get(kid)) is not None else None
        if iv is not None:
            interval[kid] = [round(iv[0], 4), round(iv[1], 4)]
        if k.matures and _num(row.get(kid)) is None:
            maturing[kid] = matures_on(k, end, settings).isoformat()
    return {"n": n, "interval": interval, "maturing": maturing}


def group_status(con: duckdb.DuckDBPyConnection, start: date, end: date, by: str, *, team: str | None = None,
                 channel: str | None = None, queue: str | None = None, catalog: Catalog | None = None,
                 team_of: dict[Any, str] | None = None) -> dict[Any, dict[str, KpiValue]]:
    """kpi_status for every group of a dimension (team, agent, ...): value, target, status, n, change vs the previous period.

    team_of maps a group key to its team so per-team targets apply (a team key is its own team).
    """
    catalog = catalog or load_catalog()
    settings = {**catalog.settings, "__cutoffs": data_cutoffs(con)}
    kw = dict(team=team, channel=channel, queue=queue, catalog=catalog, settings=settings, stats=True)
    now = {r["key"]: r for r in compute_kpis(con, start, end, by, **kw).to_dict("records")}
    before = {r["key"]: r for r in compute_kpis(con, *previous_range(start, end), by, **kw).to_dict("records")}
    out: dict[Any, dict[str, KpiValue]] = {}
    for key, row in now.items():
        grp_team = key if by == "team" else (team_of or {}).get(key, team)
        grp_channel = key if by == "channel" else channel
        out[key] = {k.id: judge(k, row, before.get(key, {}), end, grp_team, grp_channel, settings)
                    for k in catalog.kpis.values() if k.id in row}
    return out


def agent_teams(con: duckdb.DuckDBPyConnection, start: date, end: date) -> dict[str, str]:
    """Each agent's team in the range (the team of most of their answered contacts)."""
    with con.cursor() as cur:
        rows = cur.execute(
            "SELECT agent_id, mode(team) FROM contacts WHERE agent_id IS NOT NULL AND arrived_at >= ? AND arrived_at < ? "
            "GROUP BY agent_id", [start, end + timedelta(days=1)]).fetchall()
    return {a: t for a, t in rows}
