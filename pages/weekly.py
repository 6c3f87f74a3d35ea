"""Weekly supervisor page: how did the teams do last week, who needs attention, and why."""
import html
from dataclasses import replace


import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from kpi import competency, metrics, present
from kpi.metrics import load_catalog
from kpi.present import colon, join_list, value_label
from ui.access import can, require
from ui.data import query
from ui.frame import current_filters
from ui.i18n import fmt, kpi_label, lang, t
from ui.widgets import (SHOWN_ROWS, chart, competency_map, kpi_tile, page_table, pick, print_view, sections, show_table,
                        show_tiles, status_badge_md)

cat = load_catalog()
f = current_filters()
require("supervise")
# The menu says 每週績效 (what supervisors open it for); the title says the period chosen: 每月績效 over a month
st.title(t("page.weekly") if f is None or f.period.kind == "week" else t(f"weekly.title.{f.period.kind}"))
if f is None:
    st.info(t("no_data"))
    st.stop()

view = query(metrics.weekly_view, f.period, **f.kw)  # one call: tiles, volumes, trends, heat map, teams
summary = view.summary
# Contacts written by other means than an import (SQL, an older tool) have no import to name: the period alone
st.caption(f.span() + ("" if summary.last_import_at is None else " · " + t(
    "last_import", when=f"{summary.last_import_at:%Y-%m-%d %H:%M}", file=summary.last_import_file)))
if not f.period.complete:  # the current week or month: its figures will still move
    st.warning(t("period.incomplete_note", last=query(metrics.data_cutoffs)["contacts"].date()))

# ---- the week's volumes (all channels and filters as chosen); the abandoned count says how many of them the rate
# leaves out (63 abandoned beside a rate of 4.3% of 1,176 did not reconcile: 13 were short abandons)
short = view.status["short_abandoned"].value if "short_abandoned" in view.status else None
short_line = (html.escape(t("weekly.short_abandoned", n=int(short), seconds=cat.settings["short_abandon_seconds"])),) \
    if short and summary.abandoned is not None else ()
show_tiles([present.Tile(t(key), "—" if value is None else f"{value:,}",
                         small=short_line if key == "vol.abandoned" else ())
            for key, value in [("vol.offered", summary.offered), ("vol.answered", summary.answered),
                               ("vol.abandoned", summary.abandoned), ("vol.surveys", summary.surveys),
                               ("vol.complaints", summary.complaints)]], boxed=False)
if None in (summary.offered, summary.surveys, summary.complaints):
    st.caption(t("weekly.filter_na"))

# ---- tiles
st.subheader(t("weekly.tiles"))
status_now = view.status
# With no channel chosen, service level, speed of answer and abandonment are shown per real-time channel.
per_channel = view.per_channel
realtime = [ch for ch in cat.settings.get("realtime_channels", ()) if ch in per_channel]


def channels_of(k) -> list[str]:
    """The channels a KPI judged per channel is shown for when no channel is chosen."""
    return realtime if k.scope == "realtime" else [ch for ch in per_channel if ch in k.channel_targets or ch in realtime]


deferred = cat.settings.get("response_target_hours_by_channel") or {}
shown = metrics.DEFERRED_TILE_KPIS if f.channel in deferred else metrics.TILE_KPIS
show_tiles([kpi_tile(cat[kid], status_now[kid], vs=metrics.previous_label(f.period, lang()),
                     by_channel={ch: per_channel[ch][kid] for ch in channels_of(cat[kid])} if cat[kid].per_channel else None)
            for kid in shown], 4)
for ch in (c for c in deferred if c in per_channel):  # no channel chosen: the deferred channels' own measures
    rate, backlog = per_channel[ch]["response_within_target_rate"], per_channel[ch]["unanswered_backlog"]
    st.caption(t("tile.deferred", channel=value_label("channel", ch, lang()), hours=f"{deferred[ch]:g}",
                 rate=fmt(cat["response_within_target_rate"], rate.value), backlog=fmt(cat["unanswered_backlog"], backlog.value)))

# ---- the details, one section at a time: a tab each, only the open one drawn (the print view shows them all)
attention_tab, tables_tab, trends_tab, heat_tab = sections(
    [t("weekly.attention"), t("weekly.teams_agents"), t("weekly.trends_section"), t("weekly.heatmap")],
    key="weekly_section", headed=(True, True, False, True))

teams = view.teams
# e-mail's team table holds its own measures, as its tiles do (it showed service level, speed of answer and
# abandonment, all "—", and neither the response rate nor the backlog)
# Contacts of no team (a file without one, a call abandoned before it reached a team): their own last row, so the
# table adds up to the tiles
team_values, team_status = metrics.status_table(teams, metrics.DEFERRED_TABLE_KPIS if f.channel in deferred
                                                else metrics.TABLE_KPIS, keep_none=True)
agents: dict = {}
team_of: dict = {}
names: dict = {}
# Which team's agents: the sidebar's team, else the one picked in the tables' section (kept while another is open)
picked = None if f.team else st.session_state.get("drill_team")
drill_team = f.team or (picked if picked in team_values.index else None)
agent_rows = can("agent_rows")  # finance: team level only
in_period = len(query(metrics.agent_teams_and_names, f.start, f.end)[0]) if drill_team is None and agent_rows else 0
many = in_period > SHOWN_ROWS  # thousands of agents (a centre of many teams): one team's at a time
if agent_rows and not many:
    drill = query(metrics.weekly_agents, f.start, f.end, **{**f.kw, "team": drill_team})
    agents, team_of, names = drill.agents, drill.team_of, drill.names


def status_table(values: pd.DataFrame, statuses: pd.DataFrame, label: str, name: str, filters,
                 counts: dict[str, str] | None = None, labels: dict | None = None, texts: dict[str, str] | None = None):
    """The page's table of KPI values by group, under the KPIs' names, for the grid, print and downloads; counts
    names the sample-size columns (n, uncoloured), labels the row keys as shown (an agent's id and name), texts the
    columns of words (an agent's team)."""
    counts, texts = counts or {}, texts or {}
    headers = {k: texts.get(k) or counts.get(k) or kpi_label(cat[k]) for k in values.columns}
    # each row key as shown (pandas' rename can't map None, the row of no team)
    shown = values.rename(columns=headers).set_axis(pd.Index([(labels or {}).get(k, k) for k in values.index]))
    shown.index.name = label
    kinds = {headers[k]: "count" if k in counts else present.unit_kind(cat[k].unit) for k in values.columns
             if k not in texts}
    return page_table(shown, [t("page.weekly"), name], f.span(),
                      f.period.key, filters, kinds=kinds, statuses=statuses.rename(columns=headers).set_axis(shown.index))


# ---- team and agent tables, coloured by status, team -> agents
if tables_tab[0]:
    with tables_tab[1]:
        st.subheader(t("weekly.teams"))
        show_table(status_table(team_values, team_status, t("col.team"), t("weekly.teams"), f,
                                labels={None: t("none_team")}), "team_table")
        if f.channel is None and len(per_channel) > 1:  # as the tiles: a blend of channels is not judged per channel
            st.caption(t("weekly.blend_uncoloured"))
        if not agent_rows:  # finance: team level only
            st.caption(t("access.no_agent_rows"))
        else:
            if not f.team:  # a picker, not a row selection, so the team table keeps its status colours; none chosen at
                # first, a team not in this period forgotten, the choice kept while another section is open
                pick(st, t("weekly.pick_team"), [k for k in team_values.index if k is not None], "drill_team", index=None,
                     persist_state="page")
            if many:
                st.info(t("weekly.pick_team_first", n=f"{in_period:,}"))
            else:
                st.subheader(t("weekly.agents_of", team=drill_team) if drill_team else t("weekly.agents"))
                agent_values, agent_status = metrics.status_table(agents, metrics.AGENT_TABLE_KPIS, with_n=("csat",))
                by = st.selectbox(t("weekly.sort_by"), [None, *metrics.AGENT_TABLE_KPIS], key="agent_sort",
                                  placeholder=t("select.placeholder"), persist_state="page",
                                  format_func=lambda k: t("weekly.sort_off_target") if k is None else kpi_label(cat[k]))
                order = metrics.sort_rows(agent_values, agent_status, by)  # most off target, or the chosen KPI's worst
                agent_values, agent_status = agent_values.loc[order], agent_status.loc[order]
                if not drill_team:  # every team's agents: each row says whose
                    agent_values.insert(0, "team", [team_of.get(a) or t("none_team") for a in agent_values.index])
                    agent_status.insert(0, "team", None)
                show_table(status_table(agent_values, agent_status, t("col.agent"), t("weekly.agents"),
                                        replace(f, team=drill_team), {"csat__n": t("col.responses")},
                                        {a: present.person(a, names.get(a)) for a in agent_values.index},
                                        {"team": t("col.team")}),
                           "agent_table")
                st.caption(t("weekly.agents_note"))

# ---- 12-week trends with target lines
if trends_tab[0]:
    with trends_tab[1]:
        st.subheader(t("weekly.trends_month") if f.period.kind in ("month", "quarter") else t("weekly.trends"))
        trend = view.trend
        # The 12 weeks (months) before the chosen one set each KPI's natural process limits (XmR); only a value
        # outside them is news.
        baseline = view.baseline

        def panel(kid: str) -> present.TrendPanel:
            xmr = metrics.xmr_limits([None if pd.isna(v) else float(v) for v in baseline[kid]])
            return present.TrendPanel(kpi_label(cat[kid]), cat[kid].unit, list(trend[kid]),
                                      cat[kid].target_for(f.team, f.channel)[0],
                                      None if xmr is None else (xmr.lower, xmr.upper))

        fig = present.trend_grid(trend["key"], [panel(kid) for kid in metrics.TREND_KPIS], lang(), cols=4,
                                 target_name=t("weekly.target_line"), limits_name=t("weekly.limits"), height=520,
                                 margin=dict(l=10, r=10, t=40, b=10))
        chart(fig)
        kind = f.period.kind if f.period.kind in ("week", "month") else "other"
        st.caption((t("weekly.limits_help_month") if f.period.kind in ("month", "quarter") else t("weekly.limits_help"))
                   + " " + t(f"weekly.change_help.{kind}")
                   + ("" if f.channel in cat.settings.get("realtime_channels", ()) else " " + t("weekly.no_blend")))

# ---- day-of-week x hour heat maps
if heat_tab[0]:
    with heat_tab[1]:
        hm = view.heatmap
        days = [t(f"weekday.{d}") for d in range(1, 8)]
        offered = metrics.weekday_hour_grid(hm, "offered")
        # the hours with contacts on some day, first to last (a centre open 08-22 left a third of the axis empty)
        busy = [h for h in range(24) if any(row[h] for row in offered)] or [0, 23]
        hours = list(range(busy[0], busy[-1] + 1))

        def crop(grid: list[list]) -> list[list] | None:
            return None if grid is None else [row[hours[0]:hours[-1] + 1] for row in grid]
        # a cell's service level with the contacts behind it (4 calls at 75% is not a full hour at 75%)
        contacts = [[t("weekly.heat_n", n=f"{n:,.0f}") if n else "" for n in row] for row in offered]
        # service level coloured by status against its target (green at it, amber within the band, red below), as
        # the tiles judge it; volumes in one blue
        target, band = cat["service_level"].target_for(f.team, f.channel)
        scale = (lambda pale: present.status_colorscale(target * 100, band * 100, 40, 100, pale=pale)
                 if target is not None else "Blues")
        # An hour's service level is judged on its own calls, as a tile is (metrics.cell_status): an hour whose 95%
        # interval still holds the target (3 of 4 in time: 30%-95%) is drawn pale, its hover says 不確定; only the
        # rest are coloured with conviction. Without a target: volumes' blue.
        sl = metrics.weekday_hour_grid(hm, "service_level", 100)
        statuses = (metrics.weekday_hour_statuses(hm, cat["service_level"], target, band) if target is not None
                    else [[None] * 24 for _ in range(7)])
        unsure = [[v if s == "uncertain" else None for v, s in zip(vs, ss)] for vs, ss in zip(sl, statuses)]
        sure = [[None if s == "uncertain" else v for v, s in zip(vs, ss)] for vs, ss in zip(sl, statuses)]
        layers = {"offered": [(offered, "Blues", "%{z:.0f}", None)],
                  "service_level": [(sure, scale(0.0), "%{z:.0f}%%{customdata}", contacts)]}
        if any(v is not None for row in unsure for v in row):
            layers["service_level"].append((unsure, scale(0.65), "%{z:.0f}%%{customdata}" + t("weekly.heat_unsure"),
                                            contacts))
        for col, kid in zip(st.columns(2), ("offered", "service_level")):
            rate = kid == "service_level"
            heat = present.figure(
                [go.Heatmap(z=crop(z), x=hours, y=days, customdata=crop(custom), colorscale=colours, showscale=i == 0,
                            zmin=40 if rate else None, zmax=100 if rate else None,
                            colorbar=dict(title=dict(text=present.unit_name(cat[kid].unit, lang())),
                                          ticksuffix="%" if rate else ""),  # the scale's ends: 40%-100%
                            hovertemplate=f"%{{y}} %{{x}}:00 · {fmt_s}<extra></extra>")
                 for i, (z, colours, fmt_s, custom) in enumerate(layers[kid])],
                dict(title=kpi_label(cat[kid]), height=320, margin=dict(l=10, r=10, t=40, b=10),
                     xaxis=dict(title=t("col.hour")), yaxis=dict(autorange="reversed")))
            chart(heat, col)
        if len(layers["service_level"]) > 1:
            st.caption(t("weekly.heat_pale"))

# ---- needs attention, with the behaviour indicators each off-target KPI evidences
if attention_tab[0]:
    with attention_tab[1]:
        flagged = metrics.attention(teams) + metrics.attention(agents)
        if not flagged:
            st.success(t("weekly.attention_none"))
        SHOWN = 12
        lines, flagged_kpis = [], {}
        for item in flagged[:SHOWN]:
            who = item["key"] if item["key"] in teams else \
                f"{present.person(item['key'], names.get(item['key']))} ({team_of.get(item['key']) or t('trainer.no_team')})"
            values = teams.get(item["key"]) or agents.get(item["key"])
            parts = [t("weekly.attention_kpi", kpi=kpi_label(cat[k]), value=fmt(cat[k], values[k].value),
                       gap=present.format_gap(values[k].value - values[k].target, cat[k].unit,
                                              fmt(cat[k], values[k].target), "target", lang()))
                     for k in item["kpis"]]  # most off first (in bands), each said in its own unit
            lines.append(f"{status_badge_md('bad')} **{who}**{colon(lang())}" + join_list(parts, lang()))
            flagged_kpis.update(dict.fromkeys(item["kpis"]))
        # One Markdown block and one expander (each off-target KPI's indicators once), not a line and an expander per
        # team or agent: every element costs a new visit's browser time (docs/benchmarks.md, browser).
        if lines:
            st.markdown("\n\n".join(lines))
            if len(flagged) > SHOWN:  # under the list it continues, above the indicators' expander
                st.caption(t("weekly.attention_more", n=len(flagged) - SHOWN))
            with st.expander(t("weekly.attention_indicators"), expanded=print_view()):  # printed open
                st.markdown("\n\n".join(
                    f"**{kpi_label(cat[k])}**{colon(lang())}"
                    + join_list((f"{i.code} {i.label(lang())}"
                                 for i in competency.indicators_for_kpi(competency_map(), k)), lang())
                    for k in flagged_kpis))
        if many:
            st.caption(t("weekly.attention_teams_only"))
