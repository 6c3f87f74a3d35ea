"""My numbers: an agent's own KPIs beside their team's and the centre's, against target; nothing of a colleague."""
import streamlit as st

from kpi import competency, metrics, present
from kpi.metrics import load_catalog
from kpi.present import join_list
from ui.access import OWN, current_scope, require
from ui.data import query
from ui.frame import current_filters
from ui.i18n import fmt, kpi_label, lang, t
from ui.widgets import page_table, show_table

cat = load_catalog()
f = current_filters()
require(OWN)
st.title(t("page.mine"))
if f is None:
    st.info(t("no_data"))
    st.stop()
me = current_scope().agent_id
st.caption(f.span() + " · " + t("mine.intro"))
# kpi narrows each of these to what an agent may see: their own row, their team's, the centre's
filters = {"channel": f.channel, "queue": f.queue}
drill = query(metrics.weekly_agents, f.start, f.end, **filters)  # one call: the agent rows, their teams and names
team_of, mine, names = drill.team_of, drill.agents, drill.names
if me not in mine:  # said with whose and which period, and what to try
    st.info(t("mine.no_rows", agent=me, period=f.label, filters=join_list(f.parts(), lang())))
    st.stop()
team = team_of.get(me)
team_status = query(metrics.kpi_status, f.start, f.end, team=team, **filters) if team else None
centre = query(metrics.kpi_status, f.start, f.end, **filters)
groups = {present.person(me, names.get(me)): mine[me], **({team: team_status} if team else {}), t("mine.centre"): centre}
values, statuses = metrics.status_table(groups, metrics.AGENT_TABLE_KPIS)
headers = {k: kpi_label(cat[k]) for k in values.columns}
shown = values.rename(columns=headers)
shown.index.name = t("mine.who")
show_table(page_table(shown, [t("page.mine")], f.span(), f.period.key, f,
                      kinds={headers[k]: present.unit_kind(cat[k].unit) for k in values.columns},
                      statuses=statuses.rename(columns=headers).set_axis(shown.index)), "mine_table")

# ---- where they differ from their team beyond noise: what to work on first
st.subheader(t("mine.work_on"))
weak = competency.weak_kpis(mine[me], cat, team=team, peers=team_status) if team_status else None
if weak is None or weak.empty:
    st.success(t("mine.none_weak"))
else:
    for kid, value, reference in zip(weak["id"], weak["value"], weak["reference"]):
        st.markdown(f"- **{kpi_label(cat[kid])}** {fmt(cat[kid], value)} · "
                    + t("trainer.vs.team", value=fmt(cat[kid], reference)))
st.caption(t("trainer.agent_note"))
