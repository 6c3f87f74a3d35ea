"""Plotly figures from plain frames, for the pages and the PDF reports alike (no streamlit here).

One palette: a chart drawn on a page and in a report carries the same colours. One unit per axis, named on the
axis: durations in the seconds, minutes or hours their values call for, NT$ in 萬 (zh-TW) or millions (en) as on the
tiles, months as 2026年1月 / Jan 2026; hover texts are the values as the formatter writes them, unit and all.
"""
from __future__ import annotations

import copy
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ._format import (DURATION_SCALES, duration_scale, format_unit, is_missing, money, money_scale,
                      money_short, month_label, unit_name)
from ._messages import colon, t

__all__ = ["count_axis", "PALETTE", "STATUS_SHADES", "status_colorscale", "TrendPanel", "figure", "hline", "vline", "print_layout", "budget_vs_actual", "budget_waterfall",
           "cost_per_contact_lines", "variance_bars", "trend_line", "trend_grid", "pareto"]

PALETTE = {
    "budget": "#aab7b8",  # plan: a quiet grey
    "actual": "#2e86c1",  # what happened; also the one series of a single-series chart
    "good": "#27ae60",
    "bad": "#c0392b",  # off target, unfavourable, past due, target lines
    "muted": "#95a5a6",
    "line": "#2c3e50",
    "guide": "#7f8c8d",  # thresholds and reference lines
    "light": "#85c1e9",
}


def print_layout(fig: go.Figure, title: str) -> go.Figure:
    """The figure laid out for a printed report: title, white template, the CJK font, legend below."""
    # The CJK font by name: Chromium finds it through fontconfig (fonts-noto-cjk), else Chinese renders as boxes.
    fig.update_layout(title=title, template="plotly_white", font=dict(family="Noto Sans CJK TC, Noto Sans CJK, sans-serif", size=13),
                      margin=dict(l=60, r=30, t=60, b=50), legend=dict(orientation="h", y=-0.15))
    return fig


def _merged(*layouts: dict[str, Any]) -> dict[str, Any]:
    """Layouts merged as successive update_layout calls would: nested dicts key by key, the later one winning."""
    out: dict[str, Any] = {}
    for layout in layouts:
        for key, value in layout.items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = _merged(out[key], value)
            else:
                out[key] = value
    return out


def figure(data: Any, *layouts: dict[str, Any], lines: Sequence[dict[str, Any]] = ()) -> go.Figure:
    """A figure made in one call: its traces, its layouts merged (later ones win, as update_layout would) and its
    reference lines (hline / vline below). Plotly still checks every property; building in one piece instead of
    go.Figure + update_layout + add_hline costs a third as much (a page draws up to nine charts per run)."""
    layout = _merged(*layouts)
    if lines:
        layout["shapes"] = [*layout.get("shapes", ()), *lines]
    return go.Figure(data=data, layout=layout)


STATUS_SHADES = {"good": "#27ae60", "warning": "#f0a030", "bad": "#c0392b"}


def status_colorscale(target: float, band: float, low: float, high: float, step: float = 1,
                      pale: float = 0.0) -> list[list[Any]]:
    """A heat map's colour scale for a higher-is-better rate in percent, by status: green from the target up, amber
    within the band below it, red further below (a continuous red-to-green scale read 77.6% as fairly green beside a
    tile judging it 注意). Colours at every `step` from low to high: a boundary blends over one step. pale (0-1)
    mixes each colour with that share of white: the same scale for cells too small to judge."""
    marks = [low + i * step for i in range(int(round((high - low) / step)) + 1)]
    shade = [_paler(STATUS_SHADES["good" if v >= target else "warning" if v >= target - band else "bad"], pale)
             for v in marks]
    return [[i / (len(marks) - 1), c] for i, c in enumerate(shade)]


def _paler(colour: str, share: float) -> str:
    """#rrggbb mixed with share of white."""
    if not share:
        return colour
    rgb = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(c + (255 - c) * share):02x}" for c in rgb)


def count_axis(top: float, **axis: Any) -> dict[str, Any]:
    """A count axis (complaints, responses) from 0 with whole-number ticks, about five of them: 1, 2, 5, 10, 20... apart,
    never 2.5 complaints."""
    top = float(top) if top is not None and not is_missing(top) and math.isfinite(float(top)) else 0.0
    raw = max(top, 1.0) / 5
    power = 10 ** max(0, math.floor(math.log10(raw)))
    step = next(m * power for m in (1, 2, 5, 10) if raw <= m * power)
    return dict(tick0=0, dtick=int(step), rangemode="tozero", **axis)


def hline(y: float, *, yref: str = "y", **line: Any) -> dict[str, Any]:
    """A horizontal reference line across the plot, as fig.add_hline makes it."""
    return dict(type="line", xref="x domain", x0=0, x1=1, yref=yref, y0=y, y1=y, line=line)


def vline(x: float, *, xref: str = "x", **line: Any) -> dict[str, Any]:
    """A vertical reference line from bottom to top, as fig.add_vline makes it."""
    return dict(type="line", xref=xref, x0=x, x1=x, yref="y domain", y0=0, y1=1, line=line)


def _scaled(values: Sequence, divisor: float) -> list[float | None]:
    return [None if is_missing(v) else float(v) / divisor for v in values]


def _month_axis(months: Sequence, lang: str, layout: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """Months ("2026-01") as category labels in the reader's language (plotly's own date ticks are English); the
    legend above the plot unless layout places it, so the labels (rotated on a narrow chart) have the room below."""
    layout.setdefault("legend", dict(orientation="h", yanchor="bottom", y=1.02, xanchor="right", x=1))
    return [month_label(m, lang) for m in months], dict(type="category", automargin=True)


def budget_vs_actual(months: Sequence, budget: Sequence, actual: Sequence, budget_name: str, actual_name: str,
                     lang: str, **layout: Any) -> go.Figure:
    """Monthly budget and actual NT$ as grouped bars, in 萬 or millions as the tiles show them; layout (title,
    height...) applied in the same call."""
    divisor, title = money_scale(lang)
    x, xaxis = _month_axis(months, lang, layout)
    traces = [go.Bar(x=x, y=_scaled(values, divisor), name=name, marker_color=PALETTE[key],
                     customdata=[money_short(None if is_missing(v) else float(v), lang) for v in values],
                     hovertemplate="%{x}: %{customdata}")
              for key, name, values in (("budget", budget_name, budget), ("actual", actual_name, actual))]
    layout.setdefault("barmode", "group")
    return figure(traces, dict(xaxis=xaxis, yaxis=dict(title=title, tickformat=",~g", automargin=True)), layout)


def budget_waterfall(start: tuple[str, float], steps: Sequence[tuple[str, float]], end_label: str, lang: str,
                     statuses: Sequence[str | None] | None = None, **layout: Any) -> go.Figure:
    """From the budget to the actual: the start total, each line's variance (red over, green under) and the end
    total, in 萬 or millions. statuses (one per step: good, warning, bad or None) colour the steps as the budget
    lines' table colours their variances instead, and the hover says it: an overspend below the improvement-report
    threshold is amber, not the red of one that needs a report (plotly's own waterfall has a colour per direction
    only: the colours go in the trace's meta, which the ECharts translation draws). The axis holds every running
    total (a step may climb past both ends); it starts near them when the steps are a few percent of the totals (they
    vanish on a zero-based axis), at zero when they are larger (a budget of 1.31M beside an actual of 1.93M looked a
    tenth of it on an axis from 1.3M)."""
    divisor, title = money_scale(lang)
    total = start[1] + sum(v for _, v in steps)
    trace = go.Waterfall(
        x=[start[0], *[name for name, _ in steps], end_label],
        measure=["absolute", *["relative"] * len(steps), "total"],
        y=[start[1] / divisor, *[v / divisor for _, v in steps], 0],
        customdata=[money_short(start[1], lang),
                    *[money(v, signed=True) + ("" if statuses is None or not statuses[i]
                                               else t(f"waterfall.status.{statuses[i]}", lang))
                      for i, (_, v) in enumerate(steps)], money_short(total, lang)],
        hovertemplate="%{x}: %{customdata}<extra></extra>",
        increasing=dict(marker_color=PALETTE["bad"]), decreasing=dict(marker_color=PALETTE["good"]),
        totals=dict(marker_color=PALETTE["actual"]),
        meta=None if statuses is None else {
            "step_colours": [STATUS_SHADES.get(s or "", PALETTE["muted"]) for s in statuses]})
    running = [start[1]]
    for _, v in steps:
        running.append(running[-1] + v)
    low, high = min(running) / divisor, max(running) / divisor
    near = low > 0 and (high - low) / high < 0.2
    span = [low * 0.97, high * 1.01] if near else [min(low, 0), high * 1.05]
    return figure([trace], dict(yaxis=dict(title=title, tickformat=",~g", automargin=True,
                                          range=span if high > 0 else None), showlegend=False), layout)


def cost_per_contact_lines(months: Sequence, budget: Sequence, actual: Sequence, budget_name: str, actual_name: str,
                           lang: str, **layout: Any) -> go.Figure:
    """Cost per contact by month, budgeted (dashed) and actual, on an axis from zero (a cut axis exaggerates)."""
    x, xaxis = _month_axis(months, lang, layout)
    traces = [go.Scatter(x=x, y=_scaled(values, 1), name=name, mode="lines+markers", line=line,
                         customdata=[None if is_missing(v) else money(float(v), decimals=1) for v in values],
                         hovertemplate="%{x}: %{customdata}")
              for name, values, line in ((budget_name, budget, dict(dash="dash", color=PALETTE["guide"])),
                                         (actual_name, actual, dict(color=PALETTE["actual"])))]
    return figure(traces, dict(xaxis=xaxis, yaxis=dict(title=t("axis.cost_per_contact", lang), rangemode="tozero",
                                                       automargin=True)), layout)


def variance_bars(labels: Sequence[str], variance_pct: Sequence[float], statuses: Sequence[str | None],
                  texts: Sequence[str], threshold: float) -> go.Figure:
    """Variance % by line as horizontal bars coloured by each line's status as the budget table colours it (green
    favourable, red unfavourable and material, amber unfavourable below the report threshold: kpi.metrics.
    variance_status), with the report threshold at +-threshold."""
    xs = [float(v) * 100 for v in variance_pct]
    colours = {"good": PALETTE["good"], "warning": STATUS_SHADES["warning"], "bad": PALETTE["bad"]}
    bars = go.Bar(y=list(labels), x=xs, orientation="h",
                  marker_color=[colours.get(s or "", PALETTE["muted"]) for s in statuses],
                  text=list(texts), textposition="outside", cliponaxis=False)
    span = [0.0, *xs]
    pad = max(5.0, (max(span) - min(span)) * 0.12)  # room for the labels outside the bars
    return figure([bars], dict(xaxis=dict(ticksuffix="%", range=[min(span) - pad, max(span) + pad]), showlegend=False),
                  lines=[vline(x, dash="dot", color=PALETTE["guide"]) for x in (-threshold * 100, threshold * 100)])


def trend_line(x: Sequence, y_pct: Sequence[float], name: str, target_pct: float | None, target_name: str) -> go.Figure:
    """One rate over time in %, with its target as a dashed line."""
    fig = go.Figure(go.Scatter(x=x, y=y_pct, mode="lines+markers", name=name, line=dict(color=PALETTE["actual"], width=3)))
    if target_pct is not None:
        fig.add_hline(y=target_pct, line_dash="dash", line_color=PALETTE["bad"], annotation_text=target_name,
                      annotation_position="top left")
    fig.update_layout(yaxis=dict(ticksuffix="%"), showlegend=False)
    return fig


@dataclass(frozen=True)
class TrendPanel:
    """One KPI of a trend grid: its name and unit (a KPI unit), a value per bucket, its target, and the natural
    process limits (lower, upper) of the weeks before, all in the KPI's own unit (fractions 0-1, seconds...)."""

    title: str
    unit: str
    values: Sequence[float | None]
    target: float | None = None
    limits: tuple[float, float] | None = None


# What a value in a unit can be: a rate stays within 0-100 %, a count or a time is never below 0.
_FLOOR = {"fraction": 0.0, "seconds": 0.0, "hours": 0.0, "count": 0.0, "score": 0.0, "per_1000": 0.0, "nps": -100.0}


def _panel_scale(p: TrendPanel) -> tuple[str, float]:
    """(kind the axis shows, divisor): fractions in %, durations in the one unit their values call for."""
    if p.unit == "fraction":
        return "fraction", 0.01
    if p.unit == "seconds":
        scale = duration_scale([*p.values, p.target, *(p.limits or ())])
        return scale, DURATION_SCALES[scale]
    return p.unit, 1.0


@functools.lru_cache(maxsize=64)
def _grid_layout(rows: int, cols: int, n: int) -> dict[str, Any]:
    """make_subplots' axes, domains and title annotations for n panels on rows x cols (its layout as plain data;
    computing it takes ~50 ms, so once per shape)."""
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[str(i) for i in range(n)], vertical_spacing=0.18,
                        horizontal_spacing=0.07)
    return fig.layout.to_plotly_json()


def trend_grid(x: Sequence[str], panels: Sequence[TrendPanel], lang: str, *, cols: int, target_name: str,
               limits_name: str | None = None, **layout: Any) -> go.Figure:
    """Small multiples of KPIs over the same buckets: each with its target (dashed red) and natural process limits
    (dotted), its unit on its y axis, the values in the hover as the tiles write them.

    Built as plain data and handed to plotly in one piece without its per-property validation (the same figure
    through make_subplots and add_trace took ~180 ms for 12 panels, most of a page's server time; this ~15 ms);
    tests/test_present.py reads the result back."""
    x = list(x)
    rows = -(-len(panels) // cols)
    base = copy.deepcopy(_grid_layout(rows, cols, len(panels)))
    for note, p in zip(base["annotations"], panels):
        note["text"] = p.title
    traces: list[dict[str, Any]] = []

    def line(y: float, name: str, style: dict[str, Any], unit: str, axes: dict[str, str], divisor: float) -> None:
        traces.append(dict(type="scatter", x=x, y=[y / divisor] * len(x), mode="lines", line=style, name=name,
                           showlegend=False, hovertemplate=f"{name}: {format_unit(y, unit, lang)}<extra></extra>", **axes))

    for i, p in enumerate(panels):
        suffix = "" if i == 0 else str(i + 1)
        axes = {"xaxis": f"x{suffix}", "yaxis": f"y{suffix}"}
        kind, divisor = _panel_scale(p)
        traces.append(dict(type="scatter", x=x, y=_scaled(p.values, divisor), mode="lines+markers", name=p.title,
                           showlegend=False, line=dict(color=PALETTE["actual"]),  # colour means status, so the data is neutral
                           customdata=[format_unit(v, p.unit, lang) for v in p.values],
                           hovertemplate="%{x}: %{customdata}<extra></extra>", **axes))
        if p.limits is not None and limits_name:
            low = max(p.limits[0], _FLOOR[p.unit]) if p.unit in _FLOOR else p.limits[0]
            high = min(p.limits[1], 1.0) if p.unit == "fraction" else p.limits[1]
            for edge in (low, high):
                line(edge, limits_name, dict(dash="dot", color=PALETTE["guide"], width=1), p.unit, axes, divisor)
        if p.target is not None:
            line(p.target, target_name, dict(dash="dash", color=PALETTE["bad"], width=1.5), p.unit, axes, divisor)
        base[f"yaxis{suffix}"].update(title=dict(text=unit_name(kind, lang), font=dict(size=10)), automargin=True)
    for key in base:
        if key.startswith("xaxis"):
            base[key].update(tickangle=-45, tickfont=dict(size=9))
    fig = go.Figure(data=traces, layout=base, _validate=False)  # plotly's own check: tests build the same figure validated
    if layout:
        fig.update_layout(**layout)
    return fig


def pareto(categories: Sequence[str], counts: Sequence[float], cumulative_pct: Sequence[float], vital: Sequence[bool],
           count_name: str, cumulative_name: str, lang: str, **layout: Any) -> go.Figure:
    """Complaint categories most first with the cumulative share and its 80% line; layout (title, height...) applied
    in the same call. The vital few (blue: red means status) and the useful many (grey) are two series, so the legend
    says what each colour is (a group with no category is left out); the count is the left axis' title; hovers in words with units."""
    vital, counts, categories = [bool(v) for v in vital], list(counts), list(categories)
    groups = []
    for name, colour, keep in ((t("col.vital_few", lang), PALETTE["actual"], True),
                               (t("chart.useful_many", lang), PALETTE["muted"], False)):
        ys = [c if v == keep else 0 for c, v in zip(counts, vital)]
        if any(ys):
            groups.append(go.Bar(x=categories, y=ys, name=name, marker_color=colour,
                                 customdata=[t("chart.pareto_hover", lang, category=c, n=int(n), group=name)
                                             for c, n in zip(categories, ys)],
                                 hovertemplate="%{customdata}<extra></extra>"))
    return figure([
        *groups,
        go.Scatter(x=categories, y=cumulative_pct, name=cumulative_name, yaxis="y2", mode="lines+markers",
                   line=dict(color=PALETTE["line"]), customdata=[f"{c}{colon(lang)}{p:.1f}%" for c, p in
                                                                zip(categories, cumulative_pct)],
                   hovertemplate="%{customdata}<extra></extra>"),
    ], layout, dict(barmode="stack", yaxis=count_axis(max(counts, default=0), title=count_name),
                    yaxis2=dict(overlaying="y", side="right", range=[0, 105], ticksuffix="%", tickmode="array",
                                tickvals=[0, 20, 40, 60, 80, 100], showgrid=False)),
        lines=[hline(80, yref="y2", dash="dot", color=PALETTE["guide"])])
