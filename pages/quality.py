"""Service quality (T4.3, P4.3.1-P4.3.4): satisfaction, complaints and their resolution, low-score comments."""
from datetime import timedelta

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from kpi import metrics, present, reports
from kpi.metrics import load_catalog
from ui.data import query, read
from ui.frame import current_filters
from ui.i18n import kpi_label, lang, t
from ui.widgets import competency_map, kpi_tile, page_table, report_downloads, show_table

cat = load_catalog()
f = current_filters()
st.title(t("page.quality"))
if f is None:
    st.info(t("no_data"))
    st.stop()

weeks = {"period.week": 1, "period.4w": 4, "period.13w": 13}
choice = st.segmented_control(t("period.label"), list(weeks), format_func=t, default="period.week", key="quality_period")
span = weeks[choice or "period.week"]
start, end = f.week_end - timedelta(weeks=span) + timedelta(days=1), f.week_end
st.caption(t("period.range", start=start, end=end) + f" · {f.week}")
status = query(metrics.kpi_status, start, end, **f.kw)


def tiles(ids: tuple[str, ...]) -> None:
    for col, kid in zip(st.columns(len(ids)), ids):
        with col:
            kpi_tile(cat[kid], status[kid])


def bar(x, y, title: str, y_title: str, colour: str = "#2e86c1", text=None) -> go.Figure:
    fig = go.Figure(go.Bar(x=x, y=y, marker_color=colour, text=text, textposition="outside"))
    fig.update_layout(title=title, height=300, margin=dict(l=10, r=10, t=40, b=10), yaxis_title=y_title)
    return fig


# ---- satisfaction (P4.3.1)
st.subheader(t("quality.satisfaction"))
tiles(("csat", "csat_mean", "nps", "ces_mean", "survey_responses"))

trend = query(metrics.survey_trend, f.week_end - timedelta(weeks=13) + timedelta(days=1), f.week_end, "week", **f.kw)
fig = make_subplots(rows=1, cols=3, subplot_titles=[kpi_label(cat[k]) for k in ("csat", "nps", "ces_mean")])
for i, kid in enumerate(("csat", "nps", "ces_mean"), start=1):
    k = cat[kid]
    scale = 100 if k.unit == "fraction" else 1
    fig.add_trace(go.Scatter(x=trend["bucket"], y=trend[kid].astype(float) * scale, mode="lines+markers",
                             line=dict(color=present.PALETTE["actual"]),  # colour means status only
                             showlegend=False, hovertemplate="%{x}: %{y:.1f}<extra></extra>"), row=1, col=i)
    target = k.target_for(f.team, f.channel)[0]
    if target is not None:
        fig.add_trace(go.Scatter(x=trend["bucket"], y=[target * scale] * len(trend), mode="lines", showlegend=False,
                                 line=dict(dash="dash", color="#c0392b", width=1.5),
                                 hovertemplate=t("weekly.target_line") + ": %{y:.1f}<extra></extra>"), row=1, col=i)
fig.update_layout(title=t("quality.trend"), height=340, margin=dict(l=10, r=10, t=60, b=10))
fig.update_xaxes(tickangle=-45, tickfont=dict(size=9))
st.plotly_chart(fig, width="stretch")

st.markdown(f"**{t('quality.distributions')}**")
for col, score in zip(st.columns(3), ("csat", "nps", "ces")):
    dist = query(metrics.score_distribution, start, end, score, **f.kw)
    colours = ["#c0392b" if (score == "nps" and s <= 6) or (score == "csat" and s <= 2) else "#2e86c1" for s in dist["score"]]
    col.plotly_chart(bar(dist["score"].astype(str), dist["responses"], t(f"scale.{score}"), t("quality.responses"),
                         colours), width="stretch")

# ---- complaints (P4.3.2)
st.subheader(t("quality.complaints"))
tiles(("complaints", "complaints_per_1000", "complaint_resolution_rate", "complaint_sla_rate", "median_resolution_hours"))
tiles(("reopen_rate", "escalation_rate", "open_complaints", "open_complaints_past_due"))

c1, c2 = st.columns(2)
funnel = query(metrics.complaint_funnel, start, end, **f.kw)
c1.plotly_chart(go.Figure(go.Funnel(y=[t(f"quality.stage.{s}") for s in funnel["stage"]], x=funnel["complaints"],
                                    textinfo="value+percent initial")).update_layout(
    title=t("quality.funnel"), height=300, margin=dict(l=10, r=10, t=40, b=10)), width="stretch")
res = query(metrics.resolution_time_distribution, start, end, **f.kw)
c2.plotly_chart(bar(res["band"].astype(str), res["complaints"], t("quality.resolution"), t("quality.count")), width="stretch")

c3, c4 = st.columns(2)
backlog = query(metrics.open_backlog_by_age, end, **f.kw)
fig = go.Figure([
    go.Bar(x=backlog["band"].astype(str), y=backlog["open_complaints"] - backlog["open_complaints_past_due"],
           name=t("quality.backlog_open"), marker_color="#85c1e9"),
    go.Bar(x=backlog["band"].astype(str), y=backlog["open_complaints_past_due"], name=t("quality.backlog_past_due"),
           marker_color="#c0392b"),
])
fig.update_layout(barmode="stack", title=t("quality.backlog"), height=320, margin=dict(l=10, r=10, t=40, b=10),
                  legend=dict(orientation="h"))
c3.plotly_chart(fig, width="stretch")

pareto = query(metrics.category_pareto, start, end, **f.kw)
fig = present.pareto(pareto["category"], pareto["complaints"], pareto["cumulative_share"].astype(float) * 100,
                     pareto["vital_few"], t("quality.count"), t("col.cumulative"), title=t("quality.pareto"), height=320,
                     margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h"))
c4.plotly_chart(fig, width="stretch")

# ---- what customers said (P4.3.3)
st.subheader(t("quality.comments"))
comments = query(metrics.low_score_comments, start, end, **f.kw)
if comments.empty:
    st.info(t("quality.no_comments"))
else:
    labels = {"responded_at": t("quality.col.responded_at"), "team": t("col.team"), "agent_id": t("col.agent"),
              "csat": t("scale.csat"), "nps": t("scale.nps"), "ces": t("scale.ces"), "comment": t("quality.col.comment")}
    show_table(page_table(comments, [t("page.quality"), t("quality.comments_short")],
                          t("period.range", start=start, end=end), f"{start}–{end}", f, kinds={"responded_at": "datetime", "csat": "int", "nps": "int", "ces": "int"},
                          labels=labels),
               "quality_comments", hide_index=True,
               column_config={"comment": st.column_config.TextColumn(labels["comment"], width="large")})

# ---- the standard's behaviour indicators this page evidences
st.subheader(t("quality.competency"))
cmap = competency_map()
for code in ("P4.3.1", "P4.3.2", "P4.3.3", "P4.3.4"):
    st.markdown(f"**{code}** {cmap.indicator(code).label(lang())}")

# ---- the customer service report (O4.3.1) of this period
st.subheader(t("report.service"))
report_downloads(f"service_{start}_{end}_{f.team}_{lang()}",
                 lambda: read(reports.service_report, start, end, lang(), team=f.team),
                 f"customer_service_report_{start}_{end}_{lang()}")
