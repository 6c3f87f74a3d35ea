"""Service quality (T4.3, P4.3.1-P4.3.4): satisfaction, complaints and their resolution, low-score comments."""
from datetime import timedelta

import plotly.graph_objects as go
import streamlit as st

from kpi import metrics, present, reports
from kpi.metrics import load_catalog
from ui.access import can, require
from ui.data import query, read
from ui.frame import current_filters
from ui.i18n import kpi_label, lang, t
from ui.widgets import (chart, competency_map, kpi_tile, page_table, report_downloads, sections, show_table,
                        show_tiles)

cat = load_catalog()
f = current_filters()
require("supervise")
st.title(t("page.quality"))
if f is None:
    st.info(t("no_data"))
    st.stop()

weeks = {"period.week": None, "period.4w": 4, "period.13w": 13}  # the sidebar's period, or weeks to its end
choice = st.segmented_control(t("period.label"), list(weeks), format_func=t, default="period.week", key="quality_period")
span = weeks[choice or "period.week"]
start, end = metrics.span(f.period, span)
st.caption(t("period.range", start=start, end=end) + f" · {f.label}")
# 近 4／13 週 ending in weeks not yet judged: each complaint rate over as many weeks to the last judged one, said on it
settled = query(metrics.settled_status, start, end, **f.kw)
status = settled.status


cut = query(metrics.backlog_cut_off, end)  # the open complaints: at the range's last midnight, or the data's cut-off
as_of_line = t("quality.as_of_cutoff", at=f"{cut:%Y-%m-%d %H:%M}") if cut else t("quality.as_of", date=end)


# what a change is against, as the weekly page says it (a change of 近 13 週 said no base)
vs = metrics.previous_label(f.period, lang()) if span is None else t("tile.vs_prev_weeks", weeks=span)


def tile(kid: str):
    if kid in settled.shifted:
        return kpi_tile(cat[kid], status[kid], vs=vs,
                        over=t("quality.matured_over", start=settled.over[0], end=settled.over[1]))
    if cat[kid].dataset == "backlog":  # counted at the range's end, where the resolution rates count resolutions up to
        return kpi_tile(cat[kid], status[kid], vs=vs, over=as_of_line)  # now: a past quarter's 100% beside 8 open
    return kpi_tile(cat[kid], status[kid], vs=vs)


def tiles(ids: tuple[str, ...], columns: int = 5) -> None:
    show_tiles([tile(kid) for kid in ids], columns)


def bar(x, y, title: str, y_title: str, colour: str = "#2e86c1", text=None, x_title: str | None = None,
        hovers=None) -> go.Figure:
    # automargin: the axis titles clear the tick labels; hovers: each bar's hover in words, with its units
    return present.figure([go.Bar(x=x, y=y, marker_color=colour, text=text, textposition="outside", customdata=hovers,
                                  hovertemplate=None if hovers is None else "%{customdata}<extra></extra>")],
                          dict(title=title, height=300, margin=dict(l=10, r=10, t=40, b=10),
                               xaxis=dict(title=x_title, automargin=True),
                               yaxis=present.count_axis(max(y, default=0), title=y_title, automargin=True)))


# ---- the period's tiles: satisfaction (P4.3.1), complaints and their handling (P4.3.2)
st.subheader(t("quality.satisfaction"))
tiles(("csat", "csat_mean", "nps", "ces_mean", "survey_responses"))
st.subheader(t("quality.complaints"))
tiles(("complaints", "complaints_per_1000", "complaint_resolution_rate", "complaint_sla_rate", "median_resolution_hours",
       "reopen_rate", "escalation_rate", "open_complaints", "open_complaints_past_due"))

# ---- the details, one section at a time: a tab each, only the open one drawn (the print view shows them all)
trend_tab, complaints_tab, comments_tab, report_tab = sections(
    [t("quality.trend_section"), t("quality.complaints_section"), t("quality.comments_short"), t("report.service")],
    key="quality_section")

if trend_tab[0]:
    with trend_tab[1]:
        trend = query(metrics.survey_trend, f.end - timedelta(weeks=13) + timedelta(days=1), f.end, "week", **f.kw)
        panels = [present.TrendPanel(kpi_label(cat[k]), cat[k].unit, list(trend[k]), cat[k].target_for(f.team, f.channel)[0])
                  for k in ("csat", "nps", "ces_mean")]
        fig = present.trend_grid(trend["bucket"], panels, lang(), cols=3, target_name=t("weekly.target_line"),
                                 title=t("quality.trend"), height=340, margin=dict(l=10, r=10, t=60, b=10))
        chart(fig)
        st.markdown(f"**{t('quality.distributions')}**")
        for col, score in zip(st.columns(3), ("csat", "nps", "ces")):
            dist = query(metrics.score_distribution, start, end, score, **f.kw)
            colours = ["#c0392b" if (score == "nps" and s <= 6) or (score == "csat" and s <= 2) else "#2e86c1"
                       for s in dist["score"]]
            chart(bar(dist["score"].astype(str), dist["responses"], t(f"scale.{score}"), t("quality.responses"), colours,
                      hovers=[t("quality.hover.score", score=s, n=int(n)) for s, n in zip(dist["score"], dist["responses"])]),
                  col)

if complaints_tab[0]:
    with complaints_tab[1]:
        c1, c2 = st.columns(2)
        funnel = query(metrics.complaint_funnel, start, end, **f.kw)
        chart(present.figure([go.Funnel(y=[t(f"quality.stage.{s}") for s in funnel["stage"]], x=funnel["complaints"],
                                        textinfo="value+percent initial")],
                             dict(title=t("quality.funnel"), height=300, margin=dict(l=10, r=10, t=40, b=10))), c1)
        if settled.matures_on is not None:  # the period's rates wait to mature; the funnel is the count so far: say so
            c1.caption(t("quality.funnel_so_far", date=settled.matures_on) if not settled.shifted else t(
                "quality.funnel_so_far_shifted", date=settled.matures_on, start=settled.over[0], end=settled.over[1]))
        res = query(metrics.resolution_time_distribution, start, end, **f.kw)
        chart(bar(res["band"].astype(str), res["complaints"], t("quality.resolution"), t("quality.count"),
                  x_title=present.unit_name("h", lang()),  # the bands are hours to resolve
                  hovers=[t("quality.hover.hours", band=b, n=int(n)) for b, n in zip(res["band"], res["complaints"])]), c2)

        c3, c4 = st.columns(2)
        backlog = query(metrics.open_backlog_by_age, end, **f.kw)
        if not backlog["open_complaints"].sum():  # nothing open: said, not an empty chart on an axis of -1 to 1
            c3.markdown(f"**{t('quality.backlog')}**")
            c3.info(t("quality.backlog_none", date=end))
        else:
            def aged(counts, state: str, colour: str) -> go.Bar:  # open complaints by age, the hover in words
                return go.Bar(x=backlog["band"].astype(str), y=counts, name=state,
                              customdata=[t("quality.hover.age", band=b, n=int(n), state=state)
                                          for b, n in zip(backlog["band"], counts)],
                              hovertemplate="%{customdata}<extra></extra>", marker_color=colour)
            chart(present.figure([
                aged(backlog["open_complaints"] - backlog["open_complaints_past_due"], t("quality.backlog_open"), "#85c1e9"),
                aged(backlog["open_complaints_past_due"], t("quality.backlog_past_due"), "#c0392b"),
            ], dict(barmode="stack", title=t("quality.backlog"), height=320, margin=dict(l=10, r=10, t=40, b=10),
                    legend=dict(orientation="h"), xaxis=dict(title=t("col.age_days"), automargin=True),
                    yaxis=present.count_axis(backlog["open_complaints"].max(), title=t("quality.count"),
                                             automargin=True))), c3)

        pareto = query(metrics.category_pareto, start, end, **f.kw)
        fig = present.pareto(pareto["category"], pareto["complaints"], pareto["cumulative_share"].astype(float) * 100,
                             pareto["vital_few"], t("quality.count"), t("col.cumulative"), lang(), title=t("quality.pareto"),
                             height=320, margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h"))
        chart(fig, c4)

# ---- what customers said (P4.3.3)
if comments_tab[0]:
    with comments_tab[1]:
        st.caption(t("quality.comments"))
        comments = query(metrics.low_score_comments, start, end, **f.kw, lang=lang())
        if not can("comments"):  # left out for this role, not "none"
            st.info(t("access.no_comments"))
        elif comments.empty:
            st.info(t("quality.no_comments"))
        else:
            # how many low scores there were: only those with a comment are listed (23 of 42 read as all of them)
            dist = query(metrics.score_distribution, start, end, "csat", **f.kw)
            low = int(dist.loc[dist["score"] <= 2, "responses"].sum())
            commented = query(metrics.low_score_comment_count, start, end, **f.kw)  # the list stops at its newest 200
            st.caption(t("quality.comments_of", low=f"{low:,}", n=f"{commented:,}")
                       + (t("quality.comments_newest", n=f"{len(comments):,}") if len(comments) < commented else ""))
            names = query(metrics.agent_names, start, end)  # A021 徐婉婷, as the weekly page names an agent
            comments = comments.assign(agent_id=[a if a is None or a != a else present.person(a, names.get(a))
                                                 for a in comments["agent_id"]])
            labels = {"responded_at": t("quality.col.responded_at"), "team": t("col.team"), "agent_id": t("col.agent"),
                      "csat": t("scale.csat"), "nps": t("scale.nps"), "ces": t("scale.ces"),
                      "comment": t("quality.col.comment")}
            show_table(page_table(comments, [t("page.quality"), t("quality.comments_short")],
                                  t("period.range", start=start, end=end), f"{start}–{end}", f,
                                  kinds={"responded_at": "datetime", "csat": "int", "nps": "int", "ces": "int"},
                                  labels=labels),
                       "quality_comments")

# ---- the customer service report (O4.3.1) of this period, and the standard's behaviour indicators this page evidences
if report_tab[0]:
    with report_tab[1]:
        report_downloads(f"service_{start}_{end}_{f.team}_{f.channel}_{f.queue}_{lang()}",
                         lambda: read(reports.service_report, start, end, lang(), **f.kw),
                         [t("report.title.service"), str(start), str(end), f.team,
                          f.channel and present.value_label("channel", f.channel, lang()), f.queue])
        st.markdown(f"**{t('quality.competency')}**")
        cmap = competency_map()
        st.markdown("\n\n".join(f"**{code}** {cmap.indicator(code).label(lang())}"
                                  for code in ("P4.3.1", "P4.3.2", "P4.3.3", "P4.3.4")))
