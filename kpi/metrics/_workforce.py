"""Workforce measures from agent_states and schedule (T2.1 P2.1.2): staffed agents per interval, occupancy, schedule
adherence, shrinkage; and the staffing week: Erlang C's required agents beside the agents staffed, per interval."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
import pandas as pd

from ..auth.access import Scope
from ..present import colon, duration, hours, money, percent, t, value_label
from ._budget import budgeted_hourly_rate
from ._catalog import Catalog, load_catalog
from ._judge import cell_status
from ._engine import compute_kpis, data_cutoffs
from ._erlang import ErlangError, erlang_staffing, fte, service_level, traffic
from ._scope import OutOfScope, row_clauses, scope_values

__all__ = ["STAFFING_MEASURES", "PRODUCTIVE_STATES", "HANDLING_STATES", "INTERVAL_MINUTES", "WorkforceSummary", "StaffingWeek", "WhatIf",
           "staffed_agents", "workforce_summary", "staffing_week", "with_what_if", "has_workforce_data", "staffing_jsonable",
           "staffing_lines", "staffing_measures", "WHAT_IF_RANGES", "what_if_outside", "staffing_plan_text", "GRID_COLUMNS", "interval_label", "gap_status", "staffing_table",
           "staffing_series"]

# The grid's columns after its interval_start, in the order the page, the CLI and the JSON show them.
GRID_COLUMNS = ("offered", "aht_seconds", "service_level", "required", "staffed", "gap", "predicted_sl",
                "what_if_required", "what_if_fte")

# Logged in and able to take or handling a contact: what staffed agents, occupancy and shrinkage count.
PRODUCTIVE_STATES = ("available", "on_contact", "after_call_work")
HANDLING_STATES = ("on_contact", "after_call_work")
INTERVAL_MINUTES = (30, 60)
# The staffing page's measures, by the ids competency_map.yaml's measure_links use (they are not catalog KPIs).
STAFFING_MEASURES = ("required_agents", "staffed_agents", "occupancy", "schedule_adherence", "shrinkage")


def _scoped(scope: Scope | None, team: str | None, alias: str = "") -> tuple[str, dict[str, Any]]:
    """The WHERE conditions (and their values) keeping a workforce table's rows to the team filter and the scope."""
    clauses = row_clauses(scope, {"team": f"{alias}team", "agent": f"{alias}agent_id"}, None, team)
    values: dict[str, Any] = {**scope_values(scope)} if clauses else {}
    if team is not None:
        clauses.append(f"{alias}team = $team")
        values["team"] = team
    return "".join(f" AND {c}" for c in clauses), values


def _run(con: duckdb.DuckDBPyConnection, sql: str, values: dict[str, Any]) -> pd.DataFrame:
    cur = con.cursor()  # a cursor per call: a shared connection is not thread-safe
    return cur.execute(sql, {k: v for k, v in values.items() if f"${k}" in sql}).df()


def has_workforce_data(con: duckdb.DuckDBPyConnection) -> dict[str, bool]:
    """Whether agent_states and schedule hold any row."""
    return {name: bool(con.cursor().execute(f"SELECT count(*) > 0 FROM {name}").fetchone()[0])
            for name in ("agent_states", "schedule")}


def staffed_agents(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime, interval_minutes: int = 30, *,
                   team: str | None = None, scope: Scope | None = None, channel: str | None = None) -> pd.DataFrame:
    """Per interval of [start, end) that has any: interval_start, staffed = agent-seconds available, on a contact or in
    after-call work / the interval's seconds (the average number of agents staffed). channel: only the states staffed
    for it and those with no channel (blended agents, counted for every channel); None: every state."""
    if interval_minutes not in INTERVAL_MINUTES:
        raise ValueError(f"interval must be one of {INTERVAL_MINUTES} minutes, got {interval_minutes}")
    where, values = _scoped(scope, team)
    if channel is not None:
        where += " AND coalesce(channel = $channel, true)"
        values["channel"] = channel
    sql = f"""
        WITH s AS (SELECT greatest(started_at, $start) AS a, least(ended_at, $end) AS b FROM agent_states
                   WHERE started_at < $end AND ended_at > $start AND state IN {PRODUCTIVE_STATES}{where}),
        cut AS (SELECT a, b, unnest(generate_series(time_bucket(to_minutes($m), a), b - INTERVAL 1 MICROSECOND,
                                                    to_minutes($m))) AS i FROM s WHERE b > a)
        SELECT i AS interval_start,
               sum(epoch(least(b, i + to_minutes($m)) - greatest(a, i))) / ($m * 60) AS staffed
        FROM cut GROUP BY i ORDER BY i"""
    return _run(con, sql, {**values, "start": start, "end": end, "m": interval_minutes})


@dataclass(frozen=True)
class WorkforceSummary:
    """Occupancy, adherence and shrinkage over a range, each with the hours behind it (its n)."""
    occupancy: float | None  # (on_contact + after_call_work) / (on_contact + after_call_work + available)
    occupancy_hours: float  # the denominator, hours
    adherence: float | None  # hours in the scheduled activity / scheduled hours
    scheduled_hours: float
    shrinkage: float | None  # (paid - available for contacts) / paid
    paid_hours: float
    productive_hours: float  # available + on_contact + after_call_work
    paid_from: str  # "schedule" or "logged_in" (no schedule in the range)


def workforce_summary(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime, *, team: str | None = None,
                      scope: Scope | None = None) -> WorkforceSummary:
    """Occupancy, schedule adherence and shrinkage over [start, end) (DOMAIN "Staffing"). Paid time is the scheduled
    time (every activity but offline), or the logged-in time (every state but offline) where there is no schedule."""
    where, values = _scoped(scope, team)
    values = {**values, "start": start, "end": end}
    clip = "epoch(least({e}, $end) - greatest({s}, $start))"
    states = _run(con, f"""
        SELECT state, sum({clip.format(s='started_at', e='ended_at')}) AS seconds FROM agent_states
        WHERE started_at < $end AND ended_at > $start AND ended_at > started_at{where} GROUP BY state""", values)
    by_state = dict(zip(states["state"], states["seconds"].astype(float)))
    scheduled = _run(con, f"""
        SELECT coalesce(sum({clip.format(s='starts_at', e='ends_at')}), 0) AS seconds FROM schedule
        WHERE starts_at < $end AND ends_at > $start AND ends_at > starts_at AND activity <> 'offline'{where}""",
                     values)["seconds"].iloc[0]
    sched_where = _scoped(scope, team, "sc.")[0]
    # Time in the scheduled activity: taking contacts (available) is kept by any productive state.
    matched = _run(con, f"""
        SELECT coalesce(sum(epoch(least(st.ended_at, sc.ends_at, $end) - greatest(st.started_at, sc.starts_at, $start))), 0)
               AS seconds
        FROM schedule sc JOIN agent_states st ON st.agent_id = sc.agent_id
             AND st.started_at < sc.ends_at AND st.ended_at > sc.starts_at
        WHERE sc.starts_at < $end AND sc.ends_at > $start AND sc.activity <> 'offline'
              AND st.started_at < $end AND st.ended_at > $start
              AND (st.state = sc.activity OR (sc.activity = 'available' AND st.state IN {PRODUCTIVE_STATES})){sched_where}""",
                   values)["seconds"].iloc[0]
    handling = sum(by_state.get(s, 0.0) for s in HANDLING_STATES)
    productive = handling + by_state.get("available", 0.0)
    logged_in = sum(v for s, v in by_state.items() if s != "offline")
    scheduled = float(scheduled or 0)
    paid, paid_from = (scheduled, "schedule") if scheduled > 0 else (logged_in, "logged_in")
    return WorkforceSummary(
        occupancy=handling / productive if productive else None, occupancy_hours=productive / 3600,
        adherence=float(matched) / scheduled if scheduled else None, scheduled_hours=scheduled / 3600,
        shrinkage=(paid - productive) / paid if paid else None, paid_hours=paid / 3600,
        productive_hours=productive / 3600, paid_from=paid_from)


@dataclass(frozen=True)
class WhatIf:
    """Changes to try on the week: volume in percent (+10 = 10% more), AHT in seconds, shrinkage (None: the week's
    measured shrinkage), service-level target (None: the target in targets.yaml)."""
    volume_pct: float = 0.0
    aht_seconds: float = 0.0
    shrinkage: float | None = None
    sl_target: float | None = None

    @property
    def changed(self) -> bool:
        return self != WhatIf()


# What the what-if accepts, as its boxes take them (percent, seconds): beyond these Erlang C answers nothing useful
# (no shrinkage of 100%, no target of 100%, no negative volume). name -> (lowest, highest).
WHAT_IF_RANGES = {"volume": (-50.0, 200.0), "aht": (-300.0, 600.0), "shrinkage": (0.0, 80.0), "sl": (50.0, 99.0)}


def what_if_outside(**given: float) -> list[str]:
    """The names of WHAT_IF_RANGES whose given value is outside its range (the page says which and keeps the week)."""
    return [k for k, v in given.items() if not WHAT_IF_RANGES[k][0] <= v <= WHAT_IF_RANGES[k][1]]


@dataclass(frozen=True)
class StaffingWeek:
    """A week per interval: offered, AHT, service level achieved; Erlang C's required agents at the target and the
    service level it predicts for the agents staffed; the what-if's required agents and FTE."""
    week_start: date
    interval_minutes: int
    channel: str
    sl_target: float  # the channel's target (targets.yaml); the what-if may try another
    threshold_seconds: float
    grid: pd.DataFrame  # one row per interval with contacts or staff (columns: see staffing_week)
    summary: WorkforceSummary
    shrinkage: float  # the one FTE uses: the what-if's, else the week's measured, else 0
    peak_required: int
    peak_fte: int
    required_agent_hours: float  # sum over intervals of required agents x interval hours
    scheduled_fte_hours: float  # those hours grossed up for shrinkage: the hours to schedule
    has_states: bool  # agent states cover this week (for the team, channel and scope asked): staffed is known
    has_schedule: bool
    what_if: WhatIf = field(default_factory=WhatIf)
    # Whether the week's staffed agents include states with no channel (blended agents, who may be on other channels)
    staffed_blended: bool = False
    sl_band: float = 0.0  # the target's warning band (an interval's service level is judged as the tiles judge it)
    # Whether any agent states were imported at all (has_states False with this True: none for this week or team)
    states_imported: bool = False
    # The scheduled hours at the budgeted regular hourly rate of the week's month (budget drivers): rate, cost; or why
    # not: "no_rate" (no drivers with a rate that month) or "scope" (the role does not see the budget).
    labour_rate: float | None = None
    labour_cost: float | None = None
    labour_missing: str | None = None


def _labour_rate(con: duckdb.DuckDBPyConnection, month_of: date, scope: Scope | None) -> tuple[float | None, str | None]:
    """The budgeted regular hourly rate of the month the week starts in, or (None, why)."""
    try:
        rates = budgeted_hourly_rate(con, month_of.year, month_of.month, scope=scope)
    except OutOfScope:
        return None, "scope"
    if rates is None or rates[0] is None:
        return None, "no_rate"
    return float(rates[0]), None


def _sl_target(cat: Catalog, settings: dict[str, Any], channel: str, team: str | None) -> tuple[float, float]:
    target = cat["service_level"].target_for(team, channel)[0]
    seconds = (settings.get("service_level_seconds_by_channel") or {}).get(channel, settings.get("service_level_seconds", 20))
    return float(target), float(seconds)


def staffing_week(con: duckdb.DuckDBPyConnection, week_start: date, interval_minutes: int = 30, *,
                  channel: str = "phone", team: str | None = None, what_if: WhatIf | None = None,
                  catalog: Catalog | None = None, scope: Scope | None = None) -> StaffingWeek:
    """The staffing page and `python -m kpi staffing`: for the ISO week starting week_start, per interval, offered,
    aht_seconds, service_level (achieved), required (Erlang C at the channel's target), staffed (from agent_states),
    gap (staffed - required), predicted_sl (Erlang C for the staffed number; None when staffed <= traffic), and
    what_if_required / what_if_fte under what_if."""
    if interval_minutes not in INTERVAL_MINUTES:
        raise ValueError(f"interval must be one of {INTERVAL_MINUTES} minutes, got {interval_minutes}")
    cat = catalog or load_catalog()
    what_if = what_if or WhatIf()
    settings = {**cat.settings, "__cutoffs": data_cutoffs(con)}
    sl_target, seconds = _sl_target(cat, settings, channel, team)
    end_day = week_start + timedelta(days=6)
    # Only the contact measures the grid shows: no survey, complaint or backlog pass (the surveys' join of the
    # contacts alone cost seconds at 100M), and no interval that holds only a complaint
    frame = compute_kpis(con, week_start, end_day, f"interval_{interval_minutes}", team=team, channel=channel,
                         catalog=cat, settings=settings, scope=scope, kpis=("offered", "aht_seconds", "service_level"),
                         stats=True)  # the service level's numerator and denominator: how sure each interval's is
    frame = frame[frame["key"].notna()]
    contacts = pd.DataFrame({"interval_start": pd.to_datetime(frame["key"]),
                             "offered": frame["offered"].astype("Float64"),
                             "aht_seconds": frame["aht_seconds"].astype("Float64"),
                             "service_level": frame["service_level"].astype("Float64"),
                             "sl_num": frame["service_level__num"].astype("Float64"),
                             "sl_den": frame["service_level__den"].astype("Float64")})
    start, end = datetime.combine(week_start, datetime.min.time()), datetime.combine(end_day + timedelta(days=1), datetime.min.time())
    staffed = staffed_agents(con, start, end, interval_minutes, team=team, scope=scope, channel=channel)
    grid = contacts.merge(staffed, on="interval_start", how="outer").sort_values("interval_start").reset_index(drop=True)
    grid["offered"] = grid["offered"].fillna(0)  # an interval with agents staffed and no contact was offered none
    summary = workforce_summary(con, start, end, team=team, scope=scope)
    present = has_workforce_data(con)
    in_week = bool(present["agent_states"]) and bool(grid["staffed"].notna().any())
    if in_week:  # the states cover the week: an interval with contacts and no agent logged in had 0 staffed (short),
        grid["staffed"] = grid["staffed"].astype("Float64").fillna(0.0)  # not an unknown that counted as no gap
    rate, missing = _labour_rate(con, week_start, scope)
    measured = StaffingWeek(week_start, interval_minutes, channel, sl_target, seconds, grid, summary, 0.0, 0, 0, 0.0, 0.0,
                            has_states=in_week, has_schedule=present["schedule"], labour_rate=rate,
                            labour_missing=missing, staffed_blended=_blended(con, start, end, team, scope),
                            states_imported=bool(present["agent_states"]),
                            sl_band=float(cat["service_level"].target_for(team, channel)[1] or 0.0))
    return with_what_if(measured, what_if)


def with_what_if(week: StaffingWeek, what_if: WhatIf) -> StaffingWeek:
    """The week under a what-if, without reading the database again: Erlang C's required agents at the channel's
    target and the service level it predicts for the agents staffed, per interval, and the what-if's required agents,
    FTE, hours and their labour cost (what the staffing page recomputes as its what-if inputs change)."""
    grid = week.grid[["interval_start", "offered", "aht_seconds", "service_level", "sl_num", "sl_den", "staffed"]].copy()
    sl_target, seconds = week.sl_target, week.threshold_seconds
    shrinkage = what_if.shrinkage if what_if.shrinkage is not None else (week.summary.shrinkage or 0.0)
    if not 0 <= shrinkage < 1:
        raise ErlangError("shrinkage_range", shrinkage=shrinkage)
    target = what_if.sl_target if what_if.sl_target is not None else sl_target
    seconds_each = week.interval_minutes * 60
    rows = []
    for r in grid.itertuples(index=False):
        offered = 0.0 if pd.isna(r.offered) else float(r.offered)
        aht = None if pd.isna(r.aht_seconds) or r.aht_seconds <= 0 else float(r.aht_seconds)
        req = pred = wi_req = None
        if aht is not None:
            req = erlang_staffing(offered, seconds_each, aht, sl_target, seconds).agents
            a = traffic(offered, aht, seconds_each)
            if not pd.isna(r.staffed) and r.staffed > a and offered > 0:
                # staffed is an average over the interval (3.8 agents): Erlang C between the whole numbers around it,
                # weighted by the fraction (0.2 of the time 3, 0.8 of it 4; a number no more than the traffic in
                # Erlangs answers nothing in time). Taking the 3 alone said 人力不足 of 3.8 agents for 3.5 Erlangs.
                n = math.floor(r.staffed + 1e-9)
                part = float(r.staffed) - n if float(r.staffed) - n > 1e-9 else 0.0
                pred = ((1 - part) * (service_level(n, a, aht, seconds) if n > a else 0.0)
                        + (part * service_level(n + 1, a, aht, seconds) if part else 0.0))
            wi_aht = aht + what_if.aht_seconds
            wi_req = erlang_staffing(offered * (1 + what_if.volume_pct / 100), seconds_each, wi_aht, target,
                                     seconds).agents if wi_aht > 0 else None
        elif offered == 0:
            req = wi_req = 0
        rows.append((req, pred, wi_req))
    grid["required"] = pd.array([x[0] for x in rows], dtype="Int64")
    grid["predicted_sl"] = pd.array([x[1] for x in rows], dtype="Float64")
    grid["what_if_required"] = pd.array([x[2] for x in rows], dtype="Int64")
    grid["gap"] = grid["staffed"].astype("Float64") - grid["required"].astype("Float64")
    grid["what_if_fte"] = pd.array([None if pd.isna(n) else fte(int(n), shrinkage) for n in grid["what_if_required"]],
                                   dtype="Int64")
    wi = grid["what_if_required"].dropna()
    hours = float(wi.sum()) * week.interval_minutes / 60
    scheduled = hours / (1 - shrinkage)  # the agents' hours grossed up for shrinkage: the hours to schedule
    rate = week.labour_rate
    return replace(week, grid=grid, shrinkage=shrinkage, peak_required=int(wi.max()) if len(wi) else 0,
                   peak_fte=fte(int(wi.max()), shrinkage) if len(wi) else 0, required_agent_hours=hours,
                   scheduled_fte_hours=scheduled, what_if=what_if,
                   labour_cost=None if rate is None else scheduled * rate)


def _blended(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime, team: str | None,
             scope: Scope | None) -> bool:
    """Whether any productive agent state in [start, end) has no channel (counted as staffed for every channel)."""
    where, values = _scoped(scope, team)
    sql = (f"SELECT count(*) > 0 FROM agent_states WHERE started_at < $end AND ended_at > $start AND channel IS NULL "
           f"AND state IN {PRODUCTIVE_STATES}{where}")
    return bool(_run(con, sql, {**values, "start": start, "end": end}).iloc[0, 0])


def staffing_jsonable(week: StaffingWeek) -> dict[str, Any]:
    """What `python -m kpi staffing --json` prints: the week, its targets and measures, and every interval."""
    s = week.summary
    wi = week.what_if
    intervals = []
    for r in week.grid.to_dict("records"):
        intervals.append({"start": f"{r['interval_start']:%Y-%m-%d %H:%M}",
                          **{c: (None if pd.isna(r[c]) else (int(r[c]) if c in ("offered", "required", "what_if_required",
                                                                                 "what_if_fte") else float(r[c])))
                             for c in GRID_COLUMNS}})
    iso = week.week_start.isocalendar()
    return {"week": f"{iso.year}-W{iso.week:02d}", "interval_minutes": week.interval_minutes, "channel": week.channel,
            "sl_target": week.sl_target, "threshold_seconds": week.threshold_seconds,
            "occupancy": s.occupancy, "occupancy_hours": s.occupancy_hours, "adherence": s.adherence,
            "scheduled_hours": s.scheduled_hours, "shrinkage_measured": s.shrinkage, "paid_hours": s.paid_hours,
            "paid_from": s.paid_from,
            "what_if": {"volume_pct": wi.volume_pct, "aht_change_seconds": wi.aht_seconds, "shrinkage": week.shrinkage,
                        "sl_target": wi.sl_target if wi.sl_target is not None else week.sl_target},
            "peak_required": week.peak_required, "peak_fte": week.peak_fte,
            "required_agent_hours": week.required_agent_hours, "scheduled_fte_hours": week.scheduled_fte_hours,
            "labour_rate": week.labour_rate, "labour_cost": week.labour_cost,
            "has_agent_states": week.has_states, "has_schedule": week.has_schedule,
            "staffed_includes_blended": week.staffed_blended, "intervals": intervals}


def staffing_measures(week: StaffingWeek, lang: str) -> list[tuple[str, str, str]]:
    """(label, value, the hours it is worked out on) of occupancy, adherence and shrinkage for the week, as the page
    (the hours under the value) and the CLI (in brackets) say them."""
    s = week.summary
    return [(t("staffing.occupancy", lang), percent(s.occupancy), hours(s.occupancy_hours, lang)),
            (t("staffing.adherence", lang), percent(s.adherence), hours(s.scheduled_hours, lang)),
            (t("staffing.shrinkage", lang), percent(s.shrinkage), hours(s.paid_hours, lang))]


def staffing_plan_text(week: StaffingWeek, lang: str) -> str:
    """The what-if's answer in one sentence: peak agents and FTE, and the week's agent-hours to schedule."""
    plan = t("staffing.plan", lang, agents=week.peak_required, fte=week.peak_fte, shrinkage=percent(week.shrinkage),
             hours=hours(week.required_agent_hours, lang), fte_hours=hours(week.scheduled_fte_hours, lang))
    if week.labour_cost is None:
        return plan + t(f"staffing.cost.{week.labour_missing}", lang)
    return plan + t("staffing.cost", lang, rate=money(week.labour_rate), fte_hours=hours(week.scheduled_fte_hours, lang),
                    cost=money(week.labour_cost))


def staffing_lines(week: StaffingWeek, lang: str) -> list[str]:
    """The CLI's readable text: the week, its measures, the plan, and each interval with contacts."""
    iso = week.week_start.isocalendar()
    out = [t("staffing.cli_head", lang, week=f"{iso.year}-W{iso.week:02d}", minutes=week.interval_minutes,
             channel=value_label("channel", week.channel, lang),
             target=percent(week.sl_target), seconds=f"{week.threshold_seconds:g}")]
    if not week.has_states:
        out.append(t("staffing.no_states_week", lang) if week.states_imported else t("staffing.no_states", lang))
    elif week.staffed_blended:
        out.append(t("staffing.blended", lang, channel=value_label("channel", week.channel, lang)))
    out += [f"  {label}{colon(lang)}" + t("staffing.with_hours", lang, value=value, hours=basis)
            for label, value, basis in staffing_measures(week, lang)]
    out.append(staffing_plan_text(week, lang))
    for r in week.grid.itertuples(index=False):
        if pd.isna(r.offered) or r.offered == 0:
            continue
        out.append("  " + t("staffing.cli_row", lang, start=interval_label(r.interval_start, lang), offered=int(r.offered),
                             aht=duration(r.aht_seconds, lang), required="—" if pd.isna(r.required) else int(r.required),
                             staffed="—" if pd.isna(r.staffed) else f"{r.staffed:.1f}",
                             sl=percent(None if pd.isna(r.service_level) else r.service_level),
                             predicted=_predicted(r, lang)))
    return out


def _understaffed(r: Any) -> bool:
    """Staff present, calls and their handling time known, but no more whole agents than the traffic in Erlangs: Erlang C
    has no steady state there (the queue only grows), so no service level is predicted; the interval is short."""
    return (pd.isna(r.predicted_sl) and not pd.isna(r.staffed) and r.staffed > 0 and not pd.isna(r.offered)
            and r.offered > 0 and not pd.isna(r.aht_seconds))


def _predicted(r: Any, lang: str) -> str:
    return t("staffing.understaffed", lang) if _understaffed(r) else percent(
        None if pd.isna(r.predicted_sl) else r.predicted_sl)


def interval_label(start: Any, lang: str) -> str:
    """An interval as the grid and the chart name it: 週一 11-16 09:30 / Mon 11-16 09:30."""
    return f"{t(f'weekday.{start.isoweekday()}', lang)} {start:%m-%d %H:%M}"


def staffing_series(week: StaffingWeek) -> pd.DataFrame:
    """The chart's required and staffed agents on every interval from the week's first to its last, indexed by start:
    the grid leaves out an interval with neither contacts nor agents, the chart has it as 0 (its axis stays even time,
    and a stepped line does not hold the interval before across it)."""
    g = week.grid.set_index("interval_start")
    every = pd.date_range(g.index.min(), g.index.max(), freq=f"{week.interval_minutes}min") if len(g) else g.index[:0]
    return pd.DataFrame({"required": g["required"].astype("Float64").reindex(every).fillna(0),
                         "staffed": g["staffed"].astype("Float64").reindex(every).fillna(0).round(1)}, index=every)


def gap_status(gap: Any) -> str | None:
    """A gap's status colour: good when staffed meets the need, warning when short by up to one agent, bad beyond."""
    if gap is None or pd.isna(gap):
        return None
    gap = round(float(gap), 1)  # judged as shown: 3.95 agents staffed against 4 required reads +0.0, not short
    return "good" if gap >= 0 else ("warning" if gap >= -1 else "bad")


def staffing_monday(period_start: date, period_end: date, latest_complete: date | None) -> date:
    """The week the staffing page shows for a period: a week's own Monday; for a month, quarter or range, its last
    whole ISO week inside it (Q3 to 30 Sep: W39, 21-27 Sep; W40 ran four days into October), no later than the
    latest week the contacts cover whole (November to the 30th, with contacts to the 22nd: W47)."""
    own = period_start - timedelta(days=period_start.weekday())  # the Monday of the week the period starts in
    sunday = period_end - timedelta(days=(period_end.weekday() + 1) % 7)  # the last Sunday on or before the end
    monday = max(sunday - timedelta(days=6), own)  # a range shorter than a week: its own week
    if latest_complete is not None and monday > latest_complete:
        monday = max(latest_complete, own)  # never before the period's first week (a week chosen is shown as it is)
    return monday


def sl_statuses(week: StaffingWeek) -> list[str | None]:
    """Per row of staffing_table: the interval's service level against the channel's target and band, judged as
    the heat map's hours (metrics.cell_status): uncertain when its 95% interval holds the target (one call missed of
    1 is not a red interval); None without contacts."""
    kpi = load_catalog()["service_level"]
    return [None if pd.isna(v) or pd.isna(d) else cell_status(kpi, float(n), float(d), week.sl_target, week.sl_band)
            for v, n, d in zip(week.grid["service_level"], week.grid["sl_num"].fillna(0), week.grid["sl_den"])]


def intervals_to_review(week: StaffingWeek) -> list[bool]:
    """Per row of staffing_table: the intervals to look at first: fewer agents staffed than Erlang C required (the gap
    amber or red), or a service level settled below the target (amber or red by sl_statuses; not one whose 95%
    interval still holds the target) whatever the agents staffed (agents logged in but on other channels or work):
    30 of the sample's W47 313, 23 of them for their service level."""
    return [gap_status(g) in ("warning", "bad") or s in ("warning", "bad")
            for g, s in zip(week.grid["gap"], sl_statuses(week))]


WHAT_IF_COLUMNS = ("what_if_required", "what_if_fte")


def staffing_table(week: StaffingWeek, lang: str, catalog: Catalog | None = None, *,
                   what_if: bool = True) -> tuple[pd.DataFrame, dict[str, str], pd.DataFrame]:
    """(frame, kinds, statuses) of the page's grid: one row per interval with contacts or staff, headed in lang; the
    gap column in its status colour. what_if=False: without the what-if's columns (the page's what-if switched off:
    a 情境 column beside no what-if read as one the reader had not asked for)."""
    cat = catalog or load_catalog()
    g = week.grid
    columns = [c for c in GRID_COLUMNS if what_if or c not in WHAT_IF_COLUMNS]
    heads = {c: t(f"staffing.col.{c}", lang) if c not in ("offered", "aht_seconds", "service_level")
             else cat[c].text("label", lang) for c in GRID_COLUMNS}
    index = pd.Index([interval_label(d, lang) for d in g["interval_start"]], name=t("staffing.col.time", lang))
    frame = pd.DataFrame({heads[c]: g[c].to_numpy() for c in columns}, index=index)
    short = [_understaffed(r) for r in g.itertuples(index=False)]  # said, not "—" (which reads as no data)
    frame[heads["predicted_sl"]] = [t("staffing.understaffed", lang) if u else v
                                    for u, v in zip(short, frame[heads["predicted_sl"]].astype(object))]
    kinds = {heads["offered"]: "count", heads["aht_seconds"]: "seconds", heads["service_level"]: "fraction",
             heads["required"]: "count", heads["staffed"]: "decimal", heads["gap"]: "+decimal",
             heads["predicted_sl"]: "fraction", **{heads[c]: "count" for c in WHAT_IF_COLUMNS if c in columns}}
    statuses = pd.DataFrame(None, index=frame.index, columns=frame.columns, dtype=object)
    statuses[heads["gap"]] = [gap_status(v) for v in g["gap"]]
    statuses[heads["service_level"]] = sl_statuses(week)
    return frame, kinds, statuses
