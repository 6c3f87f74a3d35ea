"""Service quality (customer service report, iCAP T4.3): the survey and complaint breakdowns behind the quality page.

Every function filters like `compute_kpis` (team, channel, queue; surveys take team/agent from the linked contact
when empty and channel/queue from it; complaints have no queue, so a queue filter leaves them no rows) and reads the
same rows and due time (catalog.yaml `datasets`, `kpi.metrics.SOURCES`). Complaint counts reuse the catalog's KPI expressions, so the funnel
and the backlog add up to `complaints`, `complaint_resolution_rate`, `complaint_sla_rate`, `open_complaints` and
`open_complaints_past_due`. Bands hold their upper edge: "8-24" h is (8, 24], so a case closed at exactly 24 h
counts with those that met a 24 h SLA.

The funnel and the category Pareto add up the complaints rollup's hourly sums (kpi.metrics._rollup) when it was built
with the settings given: the same numbers, without reading every complaint. The rest reads raw rows: score
distributions and resolution-time bands need counts per score or band the rollup does not hold, the backlog is a
snapshot at a moment (not a sum over hours), comments are rows.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import duckdb
import pandas as pd

from ..auth.access import Scope
from ._catalog import load_catalog
from ._engine import SOURCES, TIME_GRAINS, _params, _where, backlog_as_of, bucket_keys, compute_kpis
from ._privacy import mask_pii
from . import _rollup
from ._scope import may_see_comments, row_clauses, scope_values

SCORES = load_catalog().scores  # every possible value of each score, inclusive (catalog.yaml `scores`)
SURVEY_KPIS = load_catalog().views["survey"]
COMPLAINT_KPIS = load_catalog().views["complaint"]
FUNNEL_STAGES = ("opened", "resolved", "resolved_in_time")
RESOLUTION_BANDS = (("≤4", 0, 4), ("4-8", 4, 8), ("8-24", 8, 24), ("24-48", 24, 48), ("48-72", 48, 72),
                    ("72-120", 72, 120), (">120", 120, None))  # label, hours from, hours to
AGE_BANDS = (("≤1", 0, 1), ("1-3", 1, 3), ("3-7", 3, 7), ("7-14", 7, 14), (">14", 14, None))  # label, days
PARETO_LINE = 0.8


def _rows(dataset: str, time_clauses: list[str], filters: dict[str, str | None], scope: Scope | None) -> str:
    """SQL of a dataset's rows within the scope that pass the time clauses and filters; a filter the dataset lacks
    leaves no rows.

    A snapshot dataset (backlog) gives its rows as of the bound $as_of, with that moment as __as_of."""
    ds = SOURCES[dataset]
    where = _conditions(dataset, time_clauses, filters, scope)
    rows = ds.rows
    if ds.snapshot is not None:
        rows = f"SELECT *, $as_of::TIMESTAMP AS __as_of FROM ({rows})"
        where = [ds.snapshot, *where]
    return f"SELECT * FROM ({rows}) WHERE {' AND '.join(where)}"


def _conditions(dataset: str, time_clauses: list[str], filters: dict[str, str | None],
                scope: Scope | None) -> list[str]:
    ds = SOURCES[dataset]
    clauses, applies = _where(ds.dimensions, filters)
    clauses += row_clauses(scope, ds.dimensions, None, filters.get("team"))
    return [*time_clauses, *clauses] if applies else ["false"]


def _summed_rows(con: duckdb.DuckDBPyConnection, dataset: str, filters: dict[str, str | None], scope: Scope | None,
                 settings: dict[str, Any] | None = None) -> str | None:
    """SQL of the dataset's rollup rows of the hours in [$start, $end) within the scope and filters (columns named as
    its KPIs' aggregates), or None when no rollup was built with these settings (read raw rows then)."""
    cat = load_catalog()
    with con.cursor() as cur:
        table = _rollup.usable(cur, dataset, _rollup.fingerprint(cat, {**cat.settings, **(settings or {})}, dataset))
    where = _conditions(dataset, ["__hour >= $start", "__hour < $end"], filters, scope)
    return None if table is None else f"SELECT * FROM {table} WHERE {' AND '.join(where)}"


def _query(con: duckdb.DuckDBPyConnection, sql: str, values: dict[str, Any]) -> pd.DataFrame:
    cur = con.cursor()  # cursor per call: a shared connection is not thread-safe
    try:
        return cur.execute(sql, _params(sql, values)).df()
    finally:
        cur.close()


def _values(start: date | None, end: date, filters: dict[str, str | None], scope: Scope | None,
            settings: dict[str, Any] | None = None) -> dict[str, Any]:
    return {**load_catalog().settings, **(settings or {}), **{k: v for k, v in filters.items() if v is not None},
            **scope_values(scope), "start": start, "end": end + timedelta(days=1)}


def _band_case(expr: str, bands: tuple[tuple[str, float, float | None], ...]) -> tuple[str, dict[str, float]]:
    """CASE giving the index of the band holding expr (bands hold their upper edge), with the edges as parameters."""
    edges = {f"edge{i}": hi for i, (_, _, hi) in enumerate(bands) if hi is not None}
    whens = " ".join(f"WHEN {expr} <= ${name} THEN {i}" for i, name in enumerate(edges))
    return f"CASE {whens} ELSE {len(bands) - 1} END", edges


def _banded(bands: tuple[tuple[str, float, float | None], ...], unit: str, counts: pd.DataFrame) -> pd.DataFrame:
    """One row per band in order (label as an ordered category, edges), with the counts joined on band index."""
    labels = [label for label, _, _ in bands]
    frame = pd.DataFrame({
        "band": pd.Categorical(labels, categories=labels, ordered=True),
        f"{unit}_from": [lo for _, lo, _ in bands],
        f"{unit}_to": pd.array([hi for _, _, hi in bands], dtype="Float64"),
    })
    return pd.concat([frame, counts.drop(columns="__band").reset_index(drop=True)], axis=1)


def score_distribution(con: duckdb.DuckDBPyConnection, start: date, end: date, score: str = "csat", *,
                       team: str | None = None, channel: str | None = None, queue: str | None = None,
                       scope: Scope | None = None) -> pd.DataFrame:
    """Responses and their share for every possible value of one score (csat 1-5, nps 0-10, ces 1-7), 0 where none."""
    if score not in SCORES:
        raise ValueError(f"score must be one of {', '.join(SCORES)}, got {score!r}")
    filters = {"team": team, "channel": channel, "queue": queue}
    rows = _rows("surveys", ["__t >= $start", "__t < $end"], filters, scope)
    sql = (f"WITH g AS (SELECT {score} AS v, count(*) AS n FROM ({rows}) WHERE {score} IS NOT NULL GROUP BY 1) "
           "SELECT r.range::INTEGER AS score, coalesce(g.n, 0) AS responses, "
           "coalesce(g.n, 0) / nullif(sum(coalesce(g.n, 0)) OVER (), 0) AS share "
           "FROM range($lo, $hi) r LEFT JOIN g ON g.v = r.range ORDER BY r.range")
    lo, hi = SCORES[score]
    frame = _query(con, sql, {**_values(start, end, filters, scope), "lo": lo, "hi": hi + 1})
    return frame.astype({"share": "Float64"})


def survey_trend(con: duckdb.DuckDBPyConnection, start: date, end: date, grain: str = "week", *,
                 team: str | None = None, channel: str | None = None, queue: str | None = None,
                 scope: Scope | None = None) -> pd.DataFrame:
    """Per day/week/month bucket: survey_responses, csat, csat_mean, nps and ces_mean exactly as compute_kpis gives them."""
    if grain not in TIME_GRAINS:
        raise ValueError(f"grain must be one of {', '.join(TIME_GRAINS)}, got {grain!r}")
    # Only the survey KPIs: no contact, complaint or backlog pass for the other columns of compute_kpis's frame.
    kpis = compute_kpis(con, start, end, grain, team=team, channel=channel, queue=queue, scope=scope, kpis=SURVEY_KPIS)
    out = kpis[["key", *SURVEY_KPIS]].rename(columns={"key": "bucket"})
    first_day = {key: first for key, first, _ in bucket_keys(start, end, grain)}
    out.insert(1, "bucket_start", pd.to_datetime(out["bucket"].map(first_day)))
    return out


def complaint_funnel(con: duckdb.DuckDBPyConnection, start: date, end: date, *, team: str | None = None,
                     channel: str | None = None, queue: str | None = None,
                     settings: dict[str, Any] | None = None, scope: Scope | None = None,
                     rollup: bool = True) -> pd.DataFrame:
    """Complaints opened in the range, of those resolved (as the data stands), of those resolved by their due time.
    rollup=False: from raw rows always (the same numbers)."""
    cat = load_catalog()
    filters = {"team": team, "channel": channel, "queue": queue}
    summed = _summed_rows(con, "complaints", filters, scope, settings) if rollup else None
    if summed is not None:
        sql = ("SELECT coalesce(sum(complaints), 0) AS opened, coalesce(sum(complaint_resolution_rate__num), 0) AS "
               f"resolved, coalesce(sum(complaint_sla_rate__num), 0) AS resolved_in_time FROM ({summed})")
    else:
        rows = _rows("complaints", ["__t >= $start", "__t < $end"], filters, scope)
        sql = (f"SELECT {cat['complaints'].sql} AS opened, {cat['complaint_resolution_rate'].num} AS resolved, "
               f"{cat['complaint_sla_rate'].num} AS resolved_in_time FROM ({rows})")
    counts = _query(con, sql, _values(start, end, filters, scope, settings)).iloc[0]
    complaints = [int(counts[s]) for s in FUNNEL_STAGES]
    opened = complaints[0]
    return pd.DataFrame({
        "stage": list(FUNNEL_STAGES),
        "complaints": complaints,
        "share_of_opened": pd.array([c / opened if opened else None for c in complaints], dtype="Float64"),
    })


def resolution_time_distribution(con: duckdb.DuckDBPyConnection, start: date, end: date, *, team: str | None = None,
                                 channel: str | None = None, queue: str | None = None,
                                 scope: Scope | None = None) -> pd.DataFrame:
    """Resolved complaints opened in the range by hours to resolve, in bands ≤4, 4-8, 8-24, 24-48, 48-72, 72-120, >120."""
    filters = {"team": team, "channel": channel, "queue": queue}
    rows = _rows("complaints", ["__t >= $start", "__t < $end", "resolved_at IS NOT NULL"], filters, scope)
    case, edges = _band_case("epoch(resolved_at - opened_at) / 3600.0", RESOLUTION_BANDS)
    sql = (f"WITH g AS (SELECT {case} AS __band, count(*) AS n FROM ({rows}) GROUP BY 1) "
           "SELECT r.range AS __band, coalesce(g.n, 0) AS complaints, "
           "coalesce(g.n, 0) / nullif(sum(coalesce(g.n, 0)) OVER (), 0) AS share "
           "FROM range($bands) r LEFT JOIN g ON g.__band = r.range ORDER BY r.range")
    counts = _query(con, sql, {**_values(start, end, filters, scope), **edges, "bands": len(RESOLUTION_BANDS)})
    return _banded(RESOLUTION_BANDS, "hours", counts.astype({"share": "Float64"}))


def open_backlog_by_age(con: duckdb.DuckDBPyConnection, as_of_end: date, *, team: str | None = None,
                        channel: str | None = None, queue: str | None = None,
                        settings: dict[str, Any] | None = None, scope: Scope | None = None) -> pd.DataFrame:
    """Complaints open at the end of the day as_of_end (or at the data's cut-off, when earlier: backlog_as_of), by days since opened (≤1, 1-3, 3-7, 7-14, >14), and how many are past due."""
    cat = load_catalog()
    filters = {"team": team, "channel": channel, "queue": queue}
    # The same rows and expressions as the open_complaints KPIs: __as_of is the midnight after as_of_end.
    rows = _rows("backlog", [], filters, scope)
    case, edges = _band_case("epoch(__as_of - __t) / 86400.0", AGE_BANDS)
    sql = (f"WITH g AS (SELECT {case} AS __band, {cat['open_complaints'].sql} AS n, "
           f"{cat['open_complaints_past_due'].sql} AS past_due FROM ({rows}) GROUP BY 1) "
           "SELECT r.range AS __band, coalesce(g.n, 0) AS open_complaints, "
           "coalesce(g.past_due, 0) AS open_complaints_past_due "
           "FROM range($bands) r LEFT JOIN g ON g.__band = r.range ORDER BY r.range")
    as_of = backlog_as_of(con, as_of_end)  # the midnight after, or the data's cut-off when it stops before
    values = {**_values(None, as_of_end, filters, scope, settings), **edges, "bands": len(AGE_BANDS), "as_of": as_of}
    return _banded(AGE_BANDS, "days", _query(con, sql, values))


def category_pareto(con: duckdb.DuckDBPyConnection, start: date, end: date, *, team: str | None = None,
                    channel: str | None = None, queue: str | None = None,
                    scope: Scope | None = None, rollup: bool = True) -> pd.DataFrame:
    """Complaints opened in the range by category, most first, with share, cumulative share and the vital few up to 80%.
    rollup=False: from raw rows always (the same numbers)."""
    cat = load_catalog()
    filters = {"team": team, "channel": channel, "queue": queue}
    summed = _summed_rows(con, "complaints", filters, scope) if rollup else None
    counted = (f"SELECT category, sum(complaints)::BIGINT AS complaints FROM ({summed}) GROUP BY category"
               if summed else
               f"SELECT category, {cat['complaints'].sql} AS complaints FROM "
               f"({_rows('complaints', ['__t >= $start', '__t < $end'], filters, scope)}) GROUP BY category")
    order = "complaints DESC, category NULLS LAST"
    sql = (f"WITH g AS ({counted}), "
           f"c AS (SELECT *, sum(complaints) OVER (ORDER BY {order} ROWS UNBOUNDED PRECEDING) AS running, "
           "sum(complaints) OVER () AS total FROM g) "
           "SELECT category, complaints, complaints / total AS share, running / total AS cumulative_share, "
           f"running - complaints < $line * total AS vital_few FROM c ORDER BY {order}")
    frame = _query(con, sql, {**_values(start, end, filters, scope), "line": PARETO_LINE})
    frame["category"] = pd.Series([None if pd.isna(c) else c for c in frame["category"]], dtype=object)  # as compute_kpis keys
    return frame.astype({"share": "Float64", "cumulative_share": "Float64", "vital_few": bool})


def low_score_comment_count(con: duckdb.DuckDBPyConnection, start: date, end: date, max_csat: int = 2, *,
                            team: str | None = None, channel: str | None = None, queue: str | None = None,
                            scope: Scope | None = None) -> int:
    """How many surveys low_score_comments would list without its limit (csat <= max_csat, with a comment); 0 for a
    role without comments."""
    filters = {"team": team, "channel": channel, "queue": queue}
    shown = [] if may_see_comments(scope) else ["false"]
    rows = _rows("surveys", ["__t >= $start", "__t < $end", "csat <= $max_csat", "trim(comment) <> ''", *shown], filters,
                 scope)
    frame = _query(con, f"SELECT count(*) AS n FROM ({rows})", {**_values(start, end, filters, scope),
                                                                 "max_csat": int(max_csat)})
    return int(frame["n"].iloc[0])


def low_score_comments(con: duckdb.DuckDBPyConnection, start: date, end: date, max_csat: int = 2, limit: int = 200, *,
                       team: str | None = None, channel: str | None = None, queue: str | None = None,
                       scope: Scope | None = None, lang: str = "zh-TW") -> pd.DataFrame:
    """Newest comments of surveys with csat <= max_csat, personal data masked in lang's words (responded_at, team,
    agent_id, scores, comment); none for a role without comments."""
    if int(limit) < 0:
        raise ValueError(f"limit must be >= 0, got {limit!r}")
    filters = {"team": team, "channel": channel, "queue": queue}
    # Left out, not refused, for a role without comments: the page and the report say so.
    shown = [] if may_see_comments(scope) else ["false"]
    rows = _rows("surveys", ["__t >= $start", "__t < $end", "csat <= $max_csat", "trim(comment) <> ''", *shown], filters,
                 scope)
    sql = (f"SELECT responded_at, team, agent_id, csat, nps, ces, comment FROM ({rows}) "
           "ORDER BY responded_at DESC, survey_id DESC LIMIT $limit")
    frame = _query(con, sql, {**_values(start, end, filters, scope), "max_csat": int(max_csat), "limit": int(limit)})
    frame["comment"] = frame["comment"].map(lambda c: mask_pii(c, lang))
    return frame.astype({"csat": "Int64", "nps": "Int64", "ces": "Int64"})
