"""Staffing (T2.1 P2.1.2): per interval of the week, Erlang C's required agents beside the agents staffed, and a
what-if for the agents and hours a change of volume, handle time, shrinkage or target would need."""
import html

import plotly.graph_objects as go
import streamlit as st

from kpi import metrics, present
from kpi.metrics import load_catalog
from kpi.present import value_label
from ui.access import require
from ui.data import query
from ui.frame import current_filters
from ui.i18n import lang, t
from ui.widgets import chart, page_table, print_view, show_table, show_tiles, table_downloads

cat = load_catalog()
f = current_filters()
require("supervise")
st.title(t("page.staffing"))
if f is None:
    st.info(t("no_data"))
    st.stop()

channel = f.channel or "phone"
if channel not in (cat.settings.get("realtime_channels") or ()):
    st.info(t("staffing.not_realtime"))
    st.stop()
# the chosen week; of a month or quarter its last whole week inside it, no later than the data's last whole week
monday = metrics.staffing_monday(f.start, f.end, query(metrics.latest_complete_week))
minutes = st.segmented_control(t("staffing.interval"), metrics.INTERVAL_MINUTES, default=30, key="staffing_interval",
                               format_func=lambda m: t("staffing.minutes", m=m)) or 30

week = query(metrics.staffing_week, monday, minutes, channel=channel, team=f.team)
st.caption(metrics.iso_week_label(monday) + " · " + t("staffing.intro", channel=value_label("channel", channel, lang()),
                                                      target=present.percent(week.sl_target),
                                                      seconds=f"{week.threshold_seconds:g}"))
if f.period.kind != "week":  # staffing is planned a week at a time: a month's or quarter's last week, said
    st.caption(t("staffing.last_week", week=metrics.iso_week_label(monday), period=f.label))
if f.queue:  # the agents' states have no queue: the page is the channel's (and team's) as a whole, said once
    st.caption(t("staffing.no_queue", queue=value_label("queue", f.queue, lang())))
if not week.has_states:  # none imported, or none for this week or team (the states began later, say)
    st.info(t("staffing.no_states_week") if week.states_imported else t("staffing.no_states"))

# ---- the week's occupancy, adherence and shrinkage, each with the hours behind it
if week.has_states:
    show_tiles([present.Tile(label, value, small=(html.escape(t("staffing.basis", hours=basis)),))
                for label, value, basis in metrics.staffing_measures(week, lang())], 3, boxed=False)
    st.caption(t("staffing.measures_help") + (" " + t("staffing.paid_logged_in") if week.summary.paid_from == "logged_in"
                                               else ""))

# ---- required against staffed, interval by interval
grid = week.grid
if not grid["offered"].fillna(0).gt(0).any():
    st.info(t("staffing.no_contacts"))
    st.stop()
st.subheader(t("staffing.chart"))
series = metrics.staffing_series(week)  # every interval on the axis, one without contacts or agents as 0
x = [metrics.interval_label(d, lang()) for d in series.index]
lines = [go.Scatter(x=x, y=list(series["required"]), name=t("staffing.col.required"), mode="lines",
                    line=dict(color=present.PALETTE["line"], shape="hv"))]  # dark: red means status
if week.has_states:
    lines.append(go.Scatter(x=x, y=list(series["staffed"]),
                            name=t("staffing.col.staffed"), mode="lines", line=dict(color="#2e86c1", shape="hv")))
chart(present.figure(lines, dict(height=340, margin=dict(l=10, r=10, t=30, b=10), yaxis=dict(title=t("staffing.agents")),
                                 legend=dict(orientation="h", y=1.12))))

# ---- what-if: volume, handle time, shrinkage and target -> agents and hours, behind a switch. Its four number boxes
# cost a new visit of the page a dozen more script files to fetch and run in the browser (docs/benchmarks.md); the
# switch stays as it was left for the rest of the session.
st.subheader(t("staffing.whatif"))
tried = week
trying = st.toggle(t("staffing.whatif_open"), key="wi_open", persist_state="session")
if trying:
    c1, c2, c3, c4 = st.columns(4)
    # No bounds on the boxes: Streamlit says a value beyond them in English, in a tooltip, and keeps the last result
    # shown; the page says it in words and shows the week as it was (metrics.WHAT_IF_RANGES).
    labels = {"volume": t("staffing.whatif.volume"), "aht": t("staffing.whatif.aht"),
              "shrinkage": t("staffing.whatif.shrinkage"), "sl": t("staffing.whatif.sl")}
    volume = c1.number_input(labels["volume"], value=0, step=5, key="wi_volume")
    aht = c2.number_input(labels["aht"], value=0, step=10, key="wi_aht")
    shrinkage = c3.number_input(labels["shrinkage"], value=min(80.0, round(week.shrinkage * 100, 1)), step=0.5,
                                format="%.1f", key="wi_shrinkage")  # 7.5%, not 7
    target = c4.number_input(labels["sl"], value=min(99, max(50, int(round(week.sl_target * 100)))), step=1,
                             key="wi_sl")
    outside = metrics.what_if_outside(volume=volume, aht=aht, shrinkage=shrinkage, sl=target)
    for name in outside:
        lo, hi = metrics.WHAT_IF_RANGES[name]
        st.error(t("staffing.whatif.outside", field=labels[name], lo=f"{lo:g}", hi=f"{hi:g}"))
    if not outside:
        tried = metrics.with_what_if(week, metrics.WhatIf(float(volume), float(aht), shrinkage / 100, target / 100))
        st.markdown(metrics.staffing_plan_text(tried, lang()))  # Erlang C on the week already read: no query
else:
    st.caption(t("staffing.whatif_closed"))

# ---- the grid: each interval, the gap and the service level in their status colours. The intervals to look at first
# (short of agents, or below the service level's band: where did the week go wrong?), every interval on request, in
# the print view and in the downloads: a week has about 300 (docs/benchmarks.md)
st.subheader(t("staffing.grid"))
frame, kinds, statuses = metrics.staffing_table(tried, lang(), cat, what_if=trying)  # off: no what-if columns
table = page_table(frame, [t("page.staffing"), t("staffing.grid")], metrics.iso_week_label(monday),
                   metrics.iso_week_label(monday), f, kinds=kinds, statuses=statuses)
review = metrics.intervals_to_review(week)
every = (not week.has_states or print_view()
         or st.toggle(t("staffing.every_interval", n=f"{len(frame):,}"), key="staffing_every"))
if every:
    show_table(table, "staffing_grid")
elif any(review):
    st.caption(t("staffing.short_only", n=sum(review), total=f"{len(frame):,}"))
    show_table(table.where(review), "staffing_grid", downloads=False)
    table_downloads(table, "staffing_grid")
else:
    st.success(t("staffing.none_short", total=f"{len(frame):,}"))
    table_downloads(table, "staffing_grid")
if week.has_states:
    st.caption(t("staffing.predicted_help"))
    st.caption(t("staffing.gap_help") + (" " + t("staffing.blended", channel=value_label("channel", channel, lang()))
                                         if week.staffed_blended else ""))
