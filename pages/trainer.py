"""Trainer page: a team's or agent's weak KPIs -> behaviour indicators, knowledge and skills, coaching actions."""
import dataclasses

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from kpi import competency, metrics, present
from kpi.metrics import load_catalog
from kpi.present import colon, join_list, person
from ui.access import can, current_scope, require
from ui.data import query
from ui.frame import current_filters
from ui.i18n import fmt, fmt_change, kpi_label, lang, t
from ui.widgets import (chart, competency_map, page_table, pick, print_view, reset, sections, show_table,
                        table_downloads)

cat = load_catalog()
cmap = competency_map()
f = current_filters()
require("coach")
st.title(t("page.trainer"))
st.caption(t("trainer.intro"))
if f is None:
    st.info(t("no_data"))
    st.stop()

weeks = {"period.week": None, "period.4w": 4, "period.13w": 13}  # the sidebar's period, or weeks to its end
c1, c2 = st.columns([3, 2])  # two rows: in English the period's three buttons need more than a quarter of the page
c3, c4 = st.columns([3, 2])
choice = c1.segmented_control(t("period.label"), list(weeks), format_func=t, default="period.week", key="trainer_period")
span = weeks[choice or "period.week"]
start, end = metrics.span(f.period, span)
period = f"{start} – {end}"
kind = c2.segmented_control(t("trainer.kind"), ["team", "agent"], format_func=lambda k: t(f"trainer.kind.{k}"),
                            default="team", key="trainer_kind") or "team"
filters = {"channel": f.channel, "queue": f.queue}
teams = query(metrics.group_status, start, end, "team", **filters)
team_names = [k for k in teams if k is not None and f.team in (None, k)]  # the sidebar's team, when one is chosen
if not team_names:
    st.info(t("trainer.nobody"))
    st.stop()
# The sidebar's 全部 at team level is the whole centre, first (the page said 組別：全部 over the first team's
# numbers); an agent is judged against their own team, so the agent level picks a team.
CENTRE = ""
centre_label = t("mine.centre") if current_scope().teams is None else t("trainer.all_teams")  # a supervisor of two
if kind == "team" and f.team is None:
    team_names = [CENTRE, *team_names]
team = pick(c3, t("col.team"), team_names, "trainer_team",  # a team no longer offered (the sidebar's changed): the first
            format_func=lambda k: centre_label if k == CENTRE else k) or None
if kind == "team":
    # judged as the weekly page's tiles judge the team (a week or month against its 12 before: XmR), so "getting
    # worse" here is the tiles' "worse" (the team table's pass compares with the period before only)
    # and a span of weeks' maturing complaint rates over the weeks already judged, as the quality page shows them
    settled = query(metrics.settled_status, start, end, team=team, **filters)
    who, values, peers = team or centre_label, settled.status, None
    if settled.shifted:
        st.caption(t("trainer.shifted", kpis=join_list((kpi_label(cat[k]) for k in settled.shifted), lang()),
                     start=settled.over[0], end=settled.over[1]))
    if f.channel is None:  # a blend of channels: KPIs with a target per channel are not judged (as the weekly tiles)
        values = metrics.unjudged_blend({team: values}, query(metrics.channels_in, start, end, team=team, queue=f.queue),
                                        cat)[team]
    who_label = who
else:
    drill = query(metrics.weekly_agents, start, end, team=team, **filters)  # one call: agents, their teams and names
    team_of, agents, shown_names = drill.team_of, drill.agents, drill.names
    names = sorted(k for k in agents if k is not None and team_of.get(k) == team)  # the chosen team's agents only
    if not names:
        st.info(t("trainer.nobody"))
        st.stop()
    # the agent most in need first: most KPIs worse than the team's beyond noise, then the largest gap (A017's AHT
    # 5.7 bands worse sat seventh in id order, behind agents with nothing to coach)
    worse = dict(competency.agents_by_need({a: agents[a] for a in names}, cat, team=team, peers=teams[team]))
    names = list(worse)
    if st.session_state.get("trainer_agent") not in names:  # a team change: start on its agent most in need
        reset("trainer_agent", names[0])
    who = c4.selectbox(t("col.agent"), names, key="trainer_agent", placeholder=t("select.placeholder"),
                       format_func=lambda a: t("trainer.agent_weak_n", agent=person(a, shown_names.get(a)),
                                               n=worse[a]), help=t("trainer.agent_order"))
    values, who_label = agents[who], person(who, shown_names.get(who))
    # an agent is judged against their own team
    peers = teams[team]
    st.caption(t("trainer.agent_note"))
st.caption(t("period.range", start=start, end=end))

# ---- weak KPIs
# a team against its targets; an agent against their team (what the heading and the all-clear say)
heading = t("trainer.weak") if peers is None else t("trainer.weak_agent")
st.subheader(heading)
weak = competency.weak_kpis(values, cat, team=team, peers=peers)
if weak.empty:
    st.success(t("trainer.none_weak", who=who_label) if peers is None else t("trainer.none_weak_agent", who=who_label)
               + (t("trainer.see_weekly") if peers is not None and can("supervise") else ""))  # a page they can open
    st.stop()  # nothing to coach: no indicators, no plan
weak_frame = pd.DataFrame({
    t("trainer.col.kpi"): [kpi_label(cat[k]) for k in weak["id"]],
    t("col.value"): [fmt(cat[k], v) for k, v in zip(weak["id"], weak["value"])],
    t("trainer.col.reference"): [t(f"trainer.vs.{w}", value=fmt(cat[k], v))
                                 for k, v, w in zip(weak["id"], weak["reference"], weak["compared_with"])],
    t("col.n"): [None if n is None or n != n else n for n in weak["n"]],
    t("col.interval"): [t("tile.interval_short", low=fmt(cat[k], iv[0]), high=fmt(cat[k], iv[1]))
                        if isinstance(iv, tuple) else "—" for k, iv in zip(weak["id"], weak["interval"])],
    # an agent's KPI is worse than the team's, not off a target (talk time has none): said so, not 未達標
    t("trainer.col.status"): [t(f"trainer.vs_team.{s}") if w == "team" else t(f"status.{s}")
                              for s, w in zip(weak["status"], weak["compared_with"])],
    t("trainer.col.gap"): [float(g) for g in weak["gap_bands"]],
    t("trainer.col.change"): [fmt_change(cat[k], c) or "—" for k, c in zip(weak["id"], weak["change"])],
    t("trainer.col.worsening"): [bool(w) for w in weak["worsening"]]})
# named for the team the page shows (全部 for the whole centre), the team once; an agent by id and name
show_table(page_table(weak_frame, [t("page.trainer"), heading, *([who_label] if kind == "agent" else [])],
                      t("period.range", start=start, end=end), f"{start}–{end}", dataclasses.replace(f, team=team), kinds={t("col.n"): "count", t("trainer.col.gap"): "decimal",
                                                  t("trainer.col.worsening"): "bool"}),
           "trainer_weak")

# ---- the details, one section at a time: a tab each, only the open one drawn (the print view shows them all)
lg = lang()
ranked_tab, heat_tab, plan_tab = sections([t("trainer.ranked"), t("trainer.heatmap_short"), t("trainer.export_short")],
                                          key="trainer_section")

# ---- ranked behaviour indicators with what to coach
if ranked_tab[0]:
    with ranked_tab[1]:
        ranked = competency.rank_weak_competencies(cmap, values, cat, team=team, peers=peers)
        for r in ranked.head(5).to_dict("records"):
            ind = cmap.indicator(r["indicator"])
            task = cmap.task(r["task"])
            worst = weak.set_index("id").loc[r["kpis"][0]]  # the score in words: its largest gap
            parts = [f":gray[{task.caption(lg)}] · " + t("trainer.why", score=r["score"], severity=r["severity"],
                                                         coverage=r["coverage"], n=len(r["kpis"])),
                     t("trainer.largest", kpi=kpi_label(cat[r["kpis"][0]]), value=fmt(cat[r["kpis"][0]], worst["value"]),
                       gap=present.format_gap(worst["value"] - worst["reference"], cat[r["kpis"][0]].unit,
                                              fmt(cat[r["kpis"][0]], worst["reference"]), worst["compared_with"], lg))]
            if r["weight"] < 1:
                parts.append(f":gray[:small[{t('trainer.process', weight=r['weight'])}]]")
            parts += [f"**{t('trainer.kpis')}**{colon(lg)}" + join_list(
                          (f"{kpi_label(cat[k])} {fmt(cat[k], values[k].value)}" for k in r["kpis"]), lg),
                      f"**{t('competency.knowledge')}**{colon(lg)}" + join_list(
                          (cmap.item(c).caption(lg) for c in r["knowledge"]), lg),
                      f"**{t('competency.skills')}**{colon(lg)}" + join_list(
                          (cmap.item(c).caption(lg) for c in r["skills"]), lg),
                      f"**{t('competency.coaching')}**\n\n"
                      + "\n".join(f"- {a}" for a in {"zh-TW": r["coaching_zh"], "en": r["coaching_en"]}[lg][:6])]
            if measures := cmap.measures_for(ind.code):  # the staffing page's measures evidence it too (P2.1.2)
                parts.append(":gray[:small[" + t("trainer.staffing_measures", page=t("page.staffing"), measures=join_list(
                    (t(f"staffing.measure.{m.kpi_id}") for m in measures), lg)) + "]]")
            # One Markdown block per indicator: every element costs a new visit's browser time (docs/benchmarks.md)
            # every one open in the print view: indicators 3-5 printed as their titles only
            with st.expander(f"{r['rank']}. **{ind.code}** {ind.label(lg)}", expanded=r["rank"] <= 2 or print_view()):
                st.markdown("\n\n".join(parts))


# ---- team x task heat map
if heat_tab[0]:
    with heat_tab[1]:
        st.markdown(f"**{t('trainer.heatmap')}**")
        matrix = competency.task_gap_matrix(cmap, {k: v for k, v in teams.items() if k is not None}, cat)
        chart(present.figure([go.Heatmap(z=matrix.to_numpy(), x=[f"{c} {cmap.task(c).label(lg)}" for c in matrix.columns],
                                         y=list(matrix.index), colorscale="Reds", zmin=0,
                                         colorbar=dict(title=dict(text=t("trainer.col.gap"))),
                                         hovertemplate="%{y} · %{x}: %{z:.1f}<extra></extra>")],
                             dict(height=320, margin=dict(l=10, r=10, t=10, b=10), xaxis=dict(tickangle=-30))))
        st.caption(t("trainer.heatmap_help"))

# ---- export the plan as the team's performance record
if plan_tab[0]:
    with plan_tab[1]:
        st.markdown(f"**{t('trainer.export')}**")
        plan = competency.coaching_plan(cmap, who_label, period, values, lg, cat, team=team, peers=peers)
        # The plan is the performance record (O3.3.1), with its own workbook: a title row, wide wrapped text columns.
        plan_table = present.Table(plan, name=(t("page.trainer"), t("plan.sheet"), who, f"{start}–{end}"))
        show_table(plan_table, "plan", downloads=False)
        table_downloads(plan_table, "plan", xlsx=lambda: competency.plan_to_xlsx(plan), csv=lambda: competency.plan_to_csv(plan))
