"""What the weekly supervisor page shows, as data: tile KPIs, group tables with statuses, the needs-attention list."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import duckdb
import pandas as pd

from ..auth.access import Scope
from ._catalog import Catalog, Kpi, load_catalog
from ._engine import agent_teams_and_names, bucket_keys, compute_kpis, side_by_side
from ._judge import (KpiValue, _num, cell_status, group_records, group_status, history_of, judged, judged_groups,
                     kpi_status, period_row, with_cutoffs, without_status)
from ._overview import WeekSummary, filtered_by, summary_of
from ._periods import Period, trend_window

# The KPIs of the weekly page's tiles, group tables and trend charts: catalog.yaml `views`.
TILE_KPIS = load_catalog().views["weekly_tiles"]
DEFERRED_TILE_KPIS = load_catalog().views["weekly_tiles_deferred"]  # e-mail: response within target, backlog
TABLE_KPIS = load_catalog().views["weekly_table"]
DEFERRED_TABLE_KPIS = load_catalog().views["weekly_table_deferred"]  # e-mail: its own measures, not the queue's
TREND_KPIS = load_catalog().views["weekly_trend"]
AGENT_TABLE_KPIS = load_catalog().views["weekly_agent_table"]  # what an agent controls
HEATMAP_KPIS = ("offered", "service_level")  # the weekday x hour heat maps
AGENT_KPIS = tuple(dict.fromkeys([*AGENT_TABLE_KPIS, *TILE_KPIS]))  # judged per agent: the table and the attention list
# What weekly_view computes: the KPIs of the tiles (either set), the team table (either set), the trend charts, the
# volumes and the short abandons' note. None reads the complaints' raw rows (their median resolution time) or the
# complaint backlog, so at 10M contacts its complaint passes come from their rollup and the backlog's are not made.
WEEKLY_KPIS = tuple(dict.fromkeys([*TILE_KPIS, *DEFERRED_TILE_KPIS, *TABLE_KPIS, *DEFERRED_TABLE_KPIS, *TREND_KPIS,
                                   *HEATMAP_KPIS, "offered", "answered", "abandoned", "short_abandoned",
                                   "survey_responses", "complaints"]))


def status_table(groups: dict[Any, dict[str, KpiValue]], kpi_ids: tuple[str, ...] = TABLE_KPIS,
                 with_n: tuple[str, ...] = (), keep_none: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(values, statuses): one row per group (index = group key), one column per KPI; a KPI of with_n is followed by
    its sample size, column "<id>__n" (status None), e.g. the survey responses behind CSAT. The contacts of no group
    (key None) are left out, unless keep_none: then they are the last row (a team table adds up to the tiles)."""
    keys = [k for k in groups if k is not None] + ([None] if keep_none and None in groups else [])
    values, statuses = {}, {}
    for kid in kpi_ids:
        values[kid] = [groups[k][kid].value for k in keys]
        statuses[kid] = [groups[k][kid].status for k in keys]
        if kid in with_n:
            values[f"{kid}__n"] = [groups[k][kid].n for k in keys]
            statuses[f"{kid}__n"] = [None] * len(keys)
    index = pd.Index(keys, dtype=object)  # None stays None (a str index would make it NaN)
    return pd.DataFrame(values, index=index, dtype="Float64"), pd.DataFrame(statuses, index=index, dtype=object)


def sort_rows(values: pd.DataFrame, statuses: pd.DataFrame, by: str | None = None,
              catalog: Catalog | None = None) -> pd.Index:
    """The order to show a status table's rows in: by None, most KPIs off target first; by a KPI id, its worst values
    first (lowest when higher is better, highest when lower is better; largest first for a KPI with no better side,
    e.g. contacts answered), rows without a value last. Ties keep the table's order."""
    if by is None:
        return statuses.eq("bad").sum(axis=1).sort_values(ascending=False, kind="stable").index
    column = values[by].astype("float64")
    if (catalog or load_catalog()).kpis[by].better != "higher":
        column = -column
    return column.sort_values(ascending=True, kind="stable", na_position="last").index


def attention(groups: dict[Any, dict[str, KpiValue]], kpi_ids: tuple[str, ...] = TILE_KPIS,
              catalog: Catalog | None = None, min_offered: int = 1) -> list[dict[str, Any]]:
    """Groups with KPIs off target (status bad), worst first: [{"key", "kpis": [ids, worst first], "gaps", "score"}].

    How far off is measured in warning bands past the target, so seconds and percentages compare.
    """
    catalog = catalog or load_catalog()
    out = []
    for key, kv in groups.items():
        if key is None or (kv.get("offered") and (kv["offered"].value or 0) < min_offered and kv["offered"].value is not None):
            continue
        bad = []
        for kid in kpi_ids:
            v = kv[kid]
            if v.status != "bad":
                continue
            k = catalog[kid]
            scale = v.band or k.target_for(None)[1] or abs(v.target) or 1.0
            if k.better == "near":
                gap = abs(v.value - v.target) / scale
            else:
                gap = (v.target - v.value if k.better == "higher" else v.value - v.target) / scale
            bad.append((gap, kid))
        if bad:
            bad.sort(reverse=True)
            out.append({"key": key, "kpis": [kid for _, kid in bad], "gaps": [g for g, _ in bad],
                        "score": sum(g for g, _ in bad)})
    return sorted(out, key=lambda d: -d["score"])


def weekday_hour_grid(frame: pd.DataFrame, kpi_id: str, scale: float = 1.0) -> list[list[float | None]]:
    """7 x 24 values (Monday first, hour 0-23) of a KPI from compute_kpis(..., by="weekday_hour"); None where empty."""
    grid: list[list[float | None]] = [[None] * 24 for _ in range(7)]
    for key, v in zip(frame["key"], frame[kpi_id]):
        if key is None or pd.isna(v):
            continue
        day, hour = int(key[0]), int(key[2:])
        grid[day - 1][hour] = float(v) * scale
    return grid


def weekday_hour_statuses(frame: pd.DataFrame, kpi: Kpi, target: float | None,
                          band: float | None) -> list[list[str | None]]:
    """7 x 24 statuses (as weekday_hour_grid) of a ratio KPI's hours from compute_kpis(..., by="weekday_hour",
    stats=True): each hour judged on its own contacts (cell_status: uncertain when its 95% interval holds the target,
    as an hour of 4 calls at 75% does); None where empty."""
    grid: list[list[str | None]] = [[None] * 24 for _ in range(7)]
    for key, num, den in zip(frame["key"], frame[f"{kpi.id}__num"], frame[f"{kpi.id}__den"]):
        if key is None or pd.isna(den):
            continue
        grid[int(key[0]) - 1][int(key[2:])] = cell_status(kpi, float(0 if pd.isna(num) else num), float(den), target,
                                                           band)
    return grid


def unjudged_blend(groups: dict[Any, dict[str, KpiValue]], channels: Any,
                   catalog: Catalog | None = None) -> dict[Any, dict[str, KpiValue]]:
    """The groups' KPIs over a blend of channels (no channel chosen) as the tiles show them: a KPI judged one channel
    at a time (Kpi.per_channel: real-time measures, AHT with its target per channel) keeps its value but has no
    status when the data holds more than one channel, since each channel has its own target (a team's AHT over calls,
    chats and e-mails was flagged against the phone's 7 minutes). One channel in the data: judged as it is."""
    blended = blended_kpis(channels, catalog)
    if not blended:
        return groups
    return {key: {k: without_status(v) if k in blended else v for k, v in row.items()} for key, row in groups.items()}


def blended_kpis(channels: Any, catalog: Catalog | None = None) -> set[str]:
    """The KPIs unjudged_blend leaves without a status over data of these channels: none for one channel."""
    if len([c for c in channels if c is not None]) <= 1:
        return set()
    return {k for k, kpi in (catalog or load_catalog()).kpis.items() if kpi.per_channel}


def channels_in(con: duckdb.DuckDBPyConnection, start: date, end: date, *, team: str | None = None,
                queue: str | None = None, scope: Scope | None = None) -> list[str]:
    """The channels with contacts in the range (within the team, queue and scope)."""
    frame = compute_kpis(con, start, end, "channel", team=team, queue=queue, scope=scope, kpis=["offered"])
    return [c for c, n in zip(frame["key"], frame["offered"]) if c is not None and n]


@dataclass(frozen=True)
class WeeklyView:
    """What the weekly page shows of a period but the agent table."""

    summary: WeekSummary  # the volumes
    status: dict[str, KpiValue]  # the tiles: kpi_status of the period (WEEKLY_KPIS, as every field)
    per_channel: dict[Any, dict[str, KpiValue]]  # group_status by channel (empty when a channel is chosen)
    trend: pd.DataFrame  # compute_kpis of the 12 weeks (months) ending with the period's, by week (month)
    baseline: pd.DataFrame  # the 12 before those, whose spread sets the natural process limits
    heatmap: pd.DataFrame  # compute_kpis of the period by weekday_hour, HEATMAP_KPIS only
    teams: dict[Any, dict[str, KpiValue]]  # group_status by team


def weekly_view(con: duckdb.DuckDBPyConnection, period: Period, *, team: str | None = None,
                channel: str | None = None, queue: str | None = None, scope: Scope | None = None) -> WeeklyView:
    """The weekly page's figures in one call: the data's cut-offs read once for every pass, and for a week or month the
    tiles, the volumes, the trend and the baseline all taken from one pass over their 13 buckets (the period is the last,
    the one before it its previous period, the 12 before it the baseline and its history): the same numbers as
    kpi_status, week_summary and two compute_kpis calls, from one pass instead of six."""
    catalog = load_catalog()
    settings = with_cutoffs(con, catalog)
    filters = dict(team=team, channel=channel, queue=queue)
    kw = dict(filters, catalog=catalog, settings=settings, scope=scope, kpis=WEEKLY_KPIS)
    grain, first, last, base_first, base_last = trend_window(period)
    buckets = bucket_keys(base_first, last, grain)
    # The buckets, the channel and team tables and the heat map side by side (each runs its datasets' passes so too)
    frame, per_channel, teams, heatmap = side_by_side([
        lambda: compute_kpis(con, base_first, last, grain, stats=True, **kw),
        lambda: {} if channel else group_status(con, period.start, period.end, "channel", **kw),
        lambda: group_status(con, period.start, period.end, "team", **kw),
        lambda: compute_kpis(con, period.start, period.end, "weekday_hour", stats=True, **{**kw, "kpis": HEATMAP_KPIS})])
    plain = frame[[c for c in frame.columns if "__" not in c]]  # as compute_kpis gives them without stats

    def rows(a: date, b: date) -> pd.DataFrame:
        return plain[plain["key"].isin([k for k, _, _ in bucket_keys(a, b, grain)])].reset_index(drop=True)
    trend, baseline = rows(first, last), rows(base_first, base_last)
    if period.kind == grain and buckets[-1][1:] == (period.start, period.end + timedelta(days=1)):
        # the period is the last bucket: its row, the one before (its previous period), the baseline (its history)
        by_key = {r["key"]: r for r in frame.to_dict("records")}
        now = counted(catalog, period_row(by_key[buckets[-1][0]]), filters)
        status = judged(catalog, settings, now, by_key[buckets[-2][0]], history_of(baseline), period.end, team, channel)
    else:  # a quarter or a range of days: kpi_status's own passes
        now = compute_kpis(con, period.start, period.end, **kw).iloc[0].to_dict()
        status = kpi_status(con, period.start, period.end, **kw)
    return WeeklyView(
        summary=summary_of(con, now, period.start, period.end, **filters), status=status, per_channel=per_channel,
        trend=trend, baseline=baseline, heatmap=heatmap,
        teams=unjudged_blend(teams, per_channel, catalog))  # the team table and the attention list as the tiles judge


def counted(catalog: Catalog, row: dict[str, Any], filters: dict[str, str | None]) -> dict[str, Any]:
    """A period's row with its counts as the page's volumes give them (summary_of): 0 where nothing of the dataset was
    in the period, none only where a filter names a dimension the dataset lacks (complaints have no queue). From a
    pass over the page's KPIs only, a team whose one row was a complaint still open had no counts at all."""
    return {**row, **{k.id: 0.0 for k in catalog.kpis.values()
                      if k.unit == "count" and k.id in row and _num(row[k.id]) is None and k.dataset in catalog.datasets
                      and filtered_by(catalog.datasets[k.dataset], filters)}}


@dataclass(frozen=True)
class WeeklyAgents:
    """The weekly page's agent table of one team (or all): each agent's judged KPIs, team and name."""

    agents: dict[Any, dict[str, KpiValue]]
    team_of: dict[str, str]
    names: dict[str, str]


def weekly_agents(con: duckdb.DuckDBPyConnection, start: date, end: date, *, team: str | None = None,
                  channel: str | None = None, queue: str | None = None, scope: Scope | None = None) -> WeeklyAgents:
    """group_status by agent of a team's agents (their team's targets), with agent_teams and agent_names, in one call:
    the KPIs of the agent table and of the attention list (AGENT_KPIS) only."""
    catalog = load_catalog()
    settings = with_cutoffs(con, catalog)
    # The agents' teams and names, their rows and the channels side by side; judged once their teams are known
    (team_of, names), records, channels = side_by_side([
        lambda: agent_teams_and_names(con, start, end, scope=scope),
        lambda: group_records(con, start, end, "agent", team=team, channel=channel, queue=queue, catalog=catalog,
                              settings=settings, scope=scope, kpis=AGENT_KPIS),
        lambda: None if channel else channels_in(con, start, end, team=team, queue=queue, scope=scope)])
    # A blend of channels: judged per channel or not at all, as the tiles (unjudged_blend's KPIs given no status)
    agents = judged_groups(catalog, settings, records, "agent", end, team, channel, team_of,
                           unjudged=() if channel is not None else blended_kpis(channels, catalog))
    return WeeklyAgents(agents, team_of, names)
