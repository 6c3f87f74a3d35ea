"""A report as plain data: ordered sections, each a title, paragraphs, maybe a table (raw values plus each column's
kind, see kpi.present.format_kind) and a chart. The xlsx and PDF writers only render it."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
import plotly.graph_objects as go

from ..present import NUMBER_FORMATS

__all__ = ["Section", "Report", "UNIT_KIND", "signed"]

UNIT_KIND = {"fraction": "fraction", "seconds": "seconds", "hours": "hours", "count": "count", "score": "score",
             "per_1000": "per_1000", "nps": "nps", "ntd": "ntd"}


def signed(kind: str) -> str:
    """The signed kind of a change of a value of this kind."""
    # a change of a rate is in percentage points, not a relative %
    return "+pp" if kind == "fraction" else ("+" + kind if "+" + kind in NUMBER_FORMATS else kind)


@dataclass
class Section:
    """One part of a report: a title, paragraphs, optionally a table (and a chart drawn from the same data)."""

    key: str  # stable id, the same in both languages
    title: str
    sheet: str  # xlsx sheet name
    paragraphs: list[str] = field(default_factory=list)
    table: pd.DataFrame | None = None
    kinds: dict[str, str] = field(default_factory=dict)  # column -> kind (see format_kind); absent = text
    row_kinds: list[str] | None = None  # for columns of kind "row" / "+row": each row's own kind (a KPI's unit)
    chart: go.Figure | None = None

    def kind(self, column: str, row: int) -> str:
        """The kind of one cell: the column's, or the row's for columns of kind row/+row."""
        k = self.kinds.get(column, "text")
        if k in ("row", "+row"):
            base = (self.row_kinds or [])[row] if self.row_kinds else "text"
            return signed(base) if k == "+row" else base
        return k


@dataclass
class Report:
    """A report as data: what it is, its period, and its sections in order."""

    kind: str  # performance | service
    lang: str
    title: str
    period: str
    meta: list[str]
    sections: list[Section]
    generated_at: datetime

    def section(self, key: str) -> Section:
        """The section with this key."""
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(f"no section {key!r} in this report")
