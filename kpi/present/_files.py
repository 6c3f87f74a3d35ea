"""Spreadsheet export: cells no spreadsheet runs as a formula, CSV that Excel in Taiwan opens, a formatted xlsx."""
from __future__ import annotations

import datetime as dt
import io
import math
import numbers
import unicodedata
from collections.abc import Mapping
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

__all__ = ["FORMULA_PREFIXES", "safe_cell", "frame_to_csv", "frame_to_xlsx"]

# Excel, LibreOffice and Google Sheets start a formula on these; tab and CR are on OWASP's CSV-injection list,
# and the full-width forms because an East Asian Excel may read ＝ as =.
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
_MIN_WIDTH, _MAX_WIDTH = 6, 60


def safe_cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula, with a leading ' so it stays text; anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _plain(value: Any) -> Any:
    """A cell as a plain Python value: None for missing, lists as lines, numpy numbers as int/float."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (list, tuple)):
        return "\n".join("" if v is None else str(v) for v in value)
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        f = float(value)
        return None if math.isnan(f) else f
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, (str, dt.date, dt.time)):
        return value
    return str(value)


def _cell(value: Any) -> Any:
    """A cell ready to write: plain, without the control characters xlsx refuses, and formula-safe."""
    value = _plain(value)
    if isinstance(value, str):
        value = safe_cell(ILLEGAL_CHARACTERS_RE.sub("", value))
    return value


def frame_to_csv(df: pd.DataFrame) -> bytes:
    """The frame as CSV bytes: UTF-8 with BOM (Excel in Taiwan then reads it as UTF-8), CRLF, formula-safe cells."""
    out = pd.DataFrame([[_cell(v) for v in row] for row in df.itertuples(index=False, name=None)],
                       columns=[_cell(c) for c in df.columns], dtype=object)
    return out.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def _display_width(text: str) -> int:
    """Columns a line takes on screen: CJK and full-width characters count 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _column_width(header: str, values: list[Any]) -> float:
    lines = [header] + [line for v in values if v is not None for line in str(v).splitlines()]
    return float(min(max(max(_display_width(x) for x in lines) + 2, _MIN_WIDTH), _MAX_WIDTH))


def frame_to_xlsx(df: pd.DataFrame, title: str | None = None, sheet: str = "Sheet1",
                  widths: Mapping[str, float] | None = None, number_formats: Mapping[str, str] | None = None) -> bytes:
    """The frame as an xlsx: optional merged title row, bold header, wrapped text, numbers as numbers, formula-safe.

    ``widths`` and ``number_formats`` (e.g. "0.00") are keyed by column name; widths default to the content's.
    """
    wb = Workbook()
    ws = wb.active
    ws.title = ILLEGAL_CHARACTERS_RE.sub("", "".join(c for c in sheet if c not in "[]:*?/\\"))[:31] or "Sheet1"
    ncols = max(len(df.columns), 1)
    row = 1
    if title:
        ws.cell(row=1, column=1, value=_cell(title)).font = Font(bold=True, size=13)
        ws.cell(row=1, column=1).alignment = Alignment(wrap_text=True, vertical="center")
        if ncols > 1:
            ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=ncols)
        ws.row_dimensions[1].height = 36
        row = 2
    header_row = row
    fill = PatternFill("solid", fgColor="DDEBF7")
    for j, name in enumerate(df.columns, start=1):
        c = ws.cell(row=header_row, column=j, value=_cell(str(name)))
        c.font = Font(bold=True)
        c.fill = fill
        c.alignment = Alignment(wrap_text=True, vertical="center")
    top = Alignment(wrap_text=True, vertical="top")
    formats = [(number_formats or {}).get(str(name)) for name in df.columns]
    columns: list[list[Any]] = [[] for _ in df.columns]
    for i, values in enumerate(df.itertuples(index=False, name=None), start=header_row + 1):
        for j, v in enumerate(values, start=1):
            v = _cell(v)
            if v == "":
                v = None
            c = ws.cell(row=i, column=j, value=v)
            c.alignment = top
            if formats[j - 1] and isinstance(v, (int, float)) and not isinstance(v, bool):
                c.number_format = formats[j - 1]
            columns[j - 1].append(v)
    for j, name in enumerate(df.columns, start=1):
        width = (widths or {}).get(str(name)) or _column_width(str(name), columns[j - 1])
        ws.column_dimensions[get_column_letter(j)].width = width
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    if len(df.columns):
        ws.auto_filter.ref = f"A{header_row}:{get_column_letter(ncols)}{header_row + max(len(df), 1)}"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
