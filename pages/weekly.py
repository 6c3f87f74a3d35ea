"""Weekly supervisor page: how did the teams do last week, who needs attention, and why."""
from dataclasses import replace
from datetime import timedelta

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from kpi import competency, metrics, present
from kpi.metrics import load_catalog
from kpi.present import colon, join_list, value_label
from ui.data import query
from ui.frame import current_filters
from ui.i18n import fmt, kpi_label, lang, t
from ui.widgets import competency_map, kpi_tile, page_table, show_table, status_badge

cat = load_catalog()
f = current_filters()
st.title(t("page.weekly"))
if f is None:
    st.info(t("no_data"))
    st.stop()

summary = query(metrics.week_summary, f.week_start, **f.kw)
st.caption(t("week.range", week=f.week, start=f.week_start, end=f.week_end) + " · " +
           t("last_import", when=f"{summary.last_import_at:%Y-%m-%d %H:%M}", file=summary.last_import_file))

# ---- the week's volumes (all channels and filters as chosen)
for col, (key, value) in zip(st.columns(5), [("vol.offered", summary.offered), ("vol.answered", summary.answered),
                                             ("vol.abandoned", summary.abandoned), ("vol.surveys", summary.surveys),
                                             ("vol.complaints", summary.complaints)]):
    col.metric(t(key), "—" if value is None else f"{value:,}")
if None in (summary.offered, summary.surveys, summary.complaints):
    st.caption(t("weekly.filter_na"))

# ---- tiles
st.subheader(t("weekly.tiles"))
status_now = query(metrics.kpi_status, f.week_start, f.week_end, **f.kw)
# With no channel chosen, service level, speed of answer and abandonment are shown per real-time channel.
per_channel = {} if f.channel else query(metrics.group_status, f.week_start, f.week_end, "channel", team=f.team,
                                          queue=f.queue)
realtime = [ch for ch in cat.settings.get("realtime_channels", ()) if ch in per_channel]
deferred = cat.settings.get("response_target_hours_by_channel") or {}
shown = metrics.DEFERRED_TILE_KPIS if f.channel in deferred else metrics.TILE_KPIS
for row in (shown[:4], shown[4:]):
    for col, kid in zip(st.columns(4), row):
        with col:
            kpi_tile(cat[kid], status_now[kid], vs=t("tile.vs_prev"),
                     by_channel={ch: per_channel[ch][kid] for ch in realtime} if cat[kid].scope else None)
for ch in (c for c in deferred if c in per_channel):  # no channel chosen: the deferred channels' own measures
    rate, backlog = per_channel[ch]["response_within_target_rate"], per_channel[ch]["unanswered_backlog"]
    st.caption(t("tile.deferred", channel=value_label("channel", ch, lang()), hours=f"{deferred[ch]:g}",
                 rate=fmt(cat["response_within_target_rate"], rate.value), backlog=fmt(cat["unanswered_backlog"], backlog.value)))

# ---- 12-week trends with target lines
st.subheader(t("weekly.trends"))
trend = query(metrics.compute_kpis, f.week_start - timedelta(weeks=11), f.week_end, "week", **f.kw)
# The 12 weeks before the chosen one set each KPI's natural process limits (XmR); only a week outside them is news.
baseline = query(metrics.compute_kpis, f.week_start - timedelta(weeks=12), f.week_start - timedelta(days=1), "week",
                 **f.kw)
fig = make_subplots(rows=2, cols=4, subplot_titles=[kpi_label(cat[k]) for k in metrics.TREND_KPIS],
                    vertical_spacing=0.18, horizontal_spacing=0.06)
for i, kid in enumerate(metrics.TREND_KPIS):
    k = cat[kid]
    scale = 100 if k.unit == "fraction" else (1 / 60 if k.unit == "seconds" else 1)
    y = [None if pd.isna(v) else float(v) * scale for v in trend[kid]]
    r, c = i // 4 + 1, i % 4 + 1
    fig.add_trace(go.Scatter(x=list(trend["key"]), y=y, mode="lines+markers", name=kpi_label(k), showlegend=False,
                             line=dict(color=present.PALETTE["actual"]),  # colour means status, so the data is neutral
                             hovertemplate="%{x}: %{y:.1f}<extra></extra>"), row=r, col=c)
    limits = metrics.xmr_limits([None if pd.isna(v) else float(v) for v in baseline[kid]])
    if limits is not None:  # a rate cannot leave 0-100 %, nor a count or a time go below 0
        low = max(limits.lower, -100 if k.unit == "nps" else 0) if k.unit in ("fraction", "seconds", "count", "score", "nps") else limits.lower
        high = min(limits.upper, 1) if k.unit == "fraction" else limits.upper
        for edge in (low, high):
            fig.add_trace(go.Scatter(x=list(trend["key"]), y=[edge * scale] * len(trend), mode="lines",
                                     line=dict(dash="dot", color="#7f8c8d", width=1), name=t("weekly.limits"),
                                     showlegend=False, hovertemplate=t("weekly.limits") + ": %{y:.1f}<extra></extra>"),
                          row=r, col=c)
    target = k.target_for(f.team, f.channel)[0]
    if target is not None:  # a trace, not add_hline: hlines on subplots cost ~15 ms each
        fig.add_trace(go.Scatter(x=list(trend["key"]), y=[target * scale] * len(trend), mode="lines",
                                 line=dict(dash="dash", color="#c0392b", width=1.5), name=t("weekly.target_line"),
                                 showlegend=False, hovertemplate=t("weekly.target_line") + ": %{y:.1f}<extra></extra>"),
                      row=r, col=c)
fig.update_layout(height=520, margin=dict(l=10, r=10, t=40, b=10))
fig.update_xaxes(tickangle=-45, tickfont=dict(size=9))
st.plotly_chart(fig, width="stretch")
st.caption("% · " + t("weekly.minutes") + " (ASA, AHT) · " + t("weekly.limits_help")
           + ("" if f.channel in cat.settings.get("realtime_channels", ()) else " " + t("weekly.no_blend")))

# ---- day-of-week x hour heat maps
st.subheader(t("weekly.heatmap"))
hm = query(metrics.compute_kpis, f.week_start, f.week_end, "weekday_hour", **f.kw)
days = [t(f"weekday.{d}") for d in range(1, 8)]
hours = list(range(24))
cols = st.columns(2)
for col, (kid, fmt_s, scale) in zip(cols, [("offered", "%{z:.0f}", 1), ("service_level", "%{z:.0f}%", 100)]):
    title = kpi_label(cat[kid])
    heat = go.Figure(go.Heatmap(z=metrics.weekday_hour_grid(hm, kid, scale), x=hours, y=days, colorscale="Blues" if kid == "offered" else "RdYlGn",
                                zmin=None if kid == "offered" else 40, zmax=None if kid == "offered" else 100,
                                hovertemplate=f"%{{y}} %{{x}}:00 · {fmt_s}<extra></extra>"))
    heat.update_layout(title=title, height=320, margin=dict(l=10, r=10, t=40, b=10),
                       xaxis_title=t("col.hour"), yaxis=dict(autorange="reversed"))
    col.plotly_chart(heat, width="stretch")


# ---- team and agent tables, coloured by status, team -> agents
def status_table(values: pd.DataFrame, statuses: pd.DataFrame, label: str, name: str, filters):
    """The page's table of KPI values by group, under the KPIs' names, for the grid, print and downloads."""
    kpis = {k: kpi_label(cat[k]) for k in values.columns}
    shown = values.rename(columns=kpis)
    shown.index.name = label
    return page_table(shown, [t("page.weekly"), name], t("week.range", week=f.week, start=f.week_start, end=f.week_end),
                      f.week, filters, kinds={kpis[k]: present.unit_kind(cat[k].unit) for k in kpis},
                      statuses=statuses.rename(columns=kpis).set_axis(shown.index))


st.subheader(t("weekly.teams"))
teams = query(metrics.group_status, f.week_start, f.week_end, "team", **f.kw)
team_values, team_status = metrics.status_table(teams)
picked = show_table(status_table(team_values, team_status, t("col.team"), t("weekly.teams"), f), "team_table",
                    on_select="rerun", selection_mode="single-row")
st.caption(t("weekly.pick_team"))
rows = picked.selection.rows if picked is not None else []
drill_team = team_values.index[rows[0]] if rows else f.team

team_of = query(metrics.agent_teams, f.week_start, f.week_end)
agents = query(metrics.group_status, f.week_start, f.week_end, "agent",
               **{**f.kw, "team": drill_team}, team_of=team_of)
st.subheader(t("weekly.agents_of", team=drill_team) if drill_team else t("weekly.agents"))
agent_values, agent_status = metrics.status_table(agents, metrics.AGENT_TABLE_KPIS)  # what an agent controls
show_table(status_table(agent_values, agent_status, t("col.agent"), t("weekly.agents"), replace(f, team=drill_team)),
           "agent_table", height=35 * (len(agent_values) + 1) + 3)  # every agent, no inner scrolling

# ---- needs attention, with the behaviour indicators each off-target KPI evidences
st.subheader(t("weekly.attention"))
flagged = metrics.attention(teams) + metrics.attention(agents)
if not flagged:
    st.success(t("weekly.attention_none"))
SHOWN = 12
for item in flagged[:SHOWN]:
    who = item["key"] if item["key"] in teams else f"{item['key']} ({team_of.get(item['key']) or t('trainer.no_team')})"
    values = teams.get(item["key"]) or agents.get(item["key"])
    parts = [t("weekly.attention_kpi", kpi=kpi_label(cat[k]), value=fmt(cat[k], values[k].value),
               target=fmt(cat[k], values[k].target), gap=g) for k, g in zip(item["kpis"], item["gaps"])]
    st.markdown(f"{status_badge('bad')} **{who}**{colon(lang())}" + join_list(parts, lang()))
    with st.expander(t("weekly.attention_indicators")):
        for k in item["kpis"]:
            inds = competency.indicators_for_kpi(competency_map(), k)
            st.markdown(f"**{kpi_label(cat[k])}**{colon(lang())}" + join_list((f"{i.code} {i.label(lang())}" for i in inds), lang()))
if len(flagged) > SHOWN:
    st.caption(t("weekly.attention_more", n=len(flagged) - SHOWN))
