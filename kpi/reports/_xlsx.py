"""A report as an xlsx: one sheet per section, built with kpi.present's xlsx primitives (header style, widths,
number formats, formula-safe cells)."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd

from ..present import (
    NUMBER_FORMATS,
    column_width,
    display_width,
    excel_format,
    excel_value,
    format_kind,
    join_bar,
    sheet_name,
    style_header,
    workbook_bytes,
    write_cell,
)
from ._model import Report, Section

if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.styles import Font

__all__ = ["to_xlsx"]

_MIN_WIDTH, _MAX_WIDTH, _HEADER_CAP = 8, 50, 24
# openpyxl is imported where a workbook is made, as kpi.present's downloads do: importing it took 0.12 s of the budget
# page's first run, which offers a report's download without making one.


def _widths(s: Section, table: pd.DataFrame, columns: list[str], lang: str) -> list[float]:
    """Widths from what a reader sees: the formatted value, CJK counted double; one wide column for text only."""
    widths = [column_width(col, [format_kind(v, s.kind(col, r), lang) for r, v in enumerate(table.iloc[:, j])],
                           _MIN_WIDTH, _MAX_WIDTH, _HEADER_CAP) for j, col in enumerate(columns)]
    return widths or [100.0]


def _line(ws, row: int, text: str, span: int, span_width: float, font: Font | None = None) -> None:
    """One line of text across the table's columns."""
    from openpyxl.styles import Alignment
    c = write_cell(ws, row, 1, text)
    c.alignment = Alignment(wrap_text=True, vertical="top")
    if font:
        c.font = font
    if span > 1:
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=span)
    # merged wrapped cells don't grow by themselves: estimate the lines the text needs
    n = max(1, math.ceil(display_width(text) * 1.1 / max(span_width, 1)))
    ws.row_dimensions[row].height = max(15 * n, 18 if font and font.size and font.size > 12 else 15)


def _table(ws, s: Section, table: pd.DataFrame, columns: list[str], header_row: int, lang: str) -> None:
    from openpyxl.styles import Alignment
    wrap_top = Alignment(wrap_text=True, vertical="top")
    style_header(ws, header_row, columns)
    for r, values in enumerate(table.itertuples(index=False, name=None)):
        for j, v in enumerate(values, start=1):
            kind = s.kind(columns[j - 1], r)
            points = kind == "+pp"  # a change of a rate: in points, with its unit (Excel's % reads as relative)
            c = write_cell(ws, header_row + 1 + r, j, excel_value(v, kind) if points else v)
            c.alignment = wrap_top
            fmt = excel_format(kind, lang) if points else NUMBER_FORMATS.get(kind)
            if fmt and not isinstance(c.value, str) and c.value is not None:
                c.number_format = fmt
    if len(columns):
        ws.freeze_panes = ws.cell(row=header_row + 1, column=1)


def _sheet(wb: Workbook, report: Report, s: Section, used: set[str], first: bool) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    ws = wb.create_sheet(sheet_name(s.sheet or s.title, used, default="Sheet"))
    table = s.table if s.table is not None else pd.DataFrame()
    columns = [str(c) for c in table.columns]
    widths = _widths(s, table, columns, report.lang)
    span = max(len(widths), 1)
    span_width = sum(widths) if len(widths) > 1 else max(widths[0], 100.0)
    grey = Font(color="666666")
    lines = [(s.title, Font(bold=True, size=13)), (join_bar([report.title, report.period], report.lang), grey)]
    lines += [(m, grey) for m in report.meta] if first else []
    lines += [(p, None) for p in s.paragraphs]
    for row, (text, font) in enumerate(lines, start=1):
        _line(ws, row, text, span, span_width, font)
    if s.table is not None:
        _table(ws, s, table, columns, len(lines) + 2, report.lang)
    for j, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = w


def to_xlsx(report: Report) -> bytes:
    """The report as an xlsx: one sheet per section, title row, bold header, real numbers with number formats."""
    from openpyxl import Workbook
    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for i, s in enumerate(report.sections):
        _sheet(wb, report, s, used, i == 0)
    return workbook_bytes(wb)
