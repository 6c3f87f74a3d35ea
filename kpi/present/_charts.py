"""Plotly figures from plain frames, for the pages and the PDF reports alike (no streamlit here).

One palette: a chart drawn on a page and in a report carries the same colours.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

__all__ = ["PALETTE", "print_layout", "budget_vs_actual", "variance_bars", "trend_line", "pareto"]

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


def budget_vs_actual(months: Sequence, budget: Sequence, actual: Sequence, budget_name: str, actual_name: str,
                     **layout: Any) -> go.Figure:
    """Monthly budget and actual as grouped bars; layout (title, height...) applied in the same call."""
    fig = go.Figure([go.Bar(x=months, y=budget, name=budget_name, marker_color=PALETTE["budget"]),
                     go.Bar(x=months, y=actual, name=actual_name, marker_color=PALETTE["actual"])])
    layout.setdefault("barmode", "group")
    fig.update_layout(**layout)
    return fig


def variance_bars(labels: Sequence[str], variance_pct: Sequence[float], favourable: Sequence[bool], texts: Sequence[str],
                  threshold: float) -> go.Figure:
    """Variance % by line as horizontal bars (green favourable, red not) with the report threshold at +-threshold."""
    xs = [float(v) * 100 for v in variance_pct]
    fig = go.Figure(go.Bar(y=list(labels), x=xs, orientation="h",
                           marker_color=[PALETTE["good"] if f else PALETTE["bad"] for f in favourable],
                           text=list(texts), textposition="outside", cliponaxis=False))
    for x in (-threshold * 100, threshold * 100):
        fig.add_vline(x=x, line_dash="dot", line_color=PALETTE["guide"])
    span = [0.0, *xs]
    pad = max(5.0, (max(span) - min(span)) * 0.12)  # room for the labels outside the bars
    fig.update_layout(xaxis=dict(ticksuffix="%", range=[min(span) - pad, max(span) + pad]), showlegend=False)
    return fig


def trend_line(x: Sequence, y_pct: Sequence[float], name: str, target_pct: float | None, target_name: str) -> go.Figure:
    """One rate over time in %, with its target as a dashed line."""
    fig = go.Figure(go.Scatter(x=x, y=y_pct, mode="lines+markers", name=name, line=dict(color=PALETTE["actual"], width=3)))
    if target_pct is not None:
        fig.add_hline(y=target_pct, line_dash="dash", line_color=PALETTE["bad"], annotation_text=target_name,
                      annotation_position="top left")
    fig.update_layout(yaxis=dict(ticksuffix="%"), showlegend=False)
    return fig


def pareto(categories: Sequence[str], counts: Sequence[float], cumulative_pct: Sequence[float], vital: Sequence[bool],
           count_name: str, cumulative_name: str, **layout: Any) -> go.Figure:
    """Complaint categories most first (the vital few in red) with the cumulative share and its 80% line; layout
    (title, height...) applied in the same call."""
    fig = go.Figure([
        go.Bar(x=categories, y=counts, name=count_name, marker_color=[PALETTE["bad"] if v else PALETTE["muted"] for v in vital]),
        go.Scatter(x=categories, y=cumulative_pct, name=cumulative_name, yaxis="y2", mode="lines+markers",
                   line=dict(color=PALETTE["line"])),
    ])
    fig.add_hline(y=80, line_dash="dot", yref="y2", line_color=PALETTE["guide"])
    fig.update_layout(**layout, yaxis2=dict(overlaying="y", side="right", range=[0, 105], ticksuffix="%", tickmode="array",
                                  tickvals=[0, 20, 40, 60, 80, 100], showgrid=False))
    return fig
