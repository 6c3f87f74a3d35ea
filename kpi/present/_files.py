"""Spreadsheet export: cells no spreadsheet runs as a formula, CSV that Excel in Taiwan opens, a formatted xlsx."""
from __future__ import annotations

import datetime as dt
import io
import math
import numbers
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

import pandas as pd

# openpyxl is imported where a workbook is made: it took 0.16 s of every dashboard start, for a download.
# Characters an xlsx cell can't hold, as openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE has them.
ILLEGAL_CHARACTERS_RE = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")

__all__ = ["FORMULA_PREFIXES", "HEADER_FILL", "NUMBER_FORMATS", "safe_cell", "xlsx_cell", "write_cell", "display_width", "column_width", "sheet_name",
           "style_header", "workbook_bytes", "frame_to_csv", "frame_to_xlsx"]

# Excel, LibreOffice and Google Sheets start a formula on these; tab and CR are on OWASP's CSV-injection list,
# and the full-width forms because an East Asian Excel may read ＝ as =.
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
_MIN_WIDTH, _MAX_WIDTH = 6, 60
HEADER_FILL = "DDEBF7"  # the header row's light blue

# Excel number formats per kind (see kpi.present.format_kind); a leading + is the signed form for variances and changes.
NUMBER_FORMATS: dict[str, str] = {
    "ntd": "#,##0", "+ntd": "+#,##0;-#,##0;0",
    "cost": "#,##0.0",  # NT$ per contact: a dollar amount where the decimal matters
    "count": "#,##0", "+count": "+#,##0;-#,##0;0",
    "fraction": "0.0%", "+fraction": "+0.0%;-0.0%;0.0%",  # a change in points: excel_format, with its unit
    "hours": "0.0", "+hours": "+0.0;-0.0;0.0",
    "seconds": "#,##0", "+seconds": "+#,##0;-#,##0;0",
    # a duration in one unit (kpi.present.duration_scale): whole seconds, minutes and hours to a tenth
    "s": "#,##0", "+s": "+#,##0;-#,##0;0", "min": "0.0", "+min": "+0.0;-0.0;0.0", "h": "0.0", "+h": "+0.0;-0.0;0.0",
    "score": "0.00", "+score": "+0.00;-0.00;0.00", "per_1000": "0.00", "+per_1000": "+0.00;-0.00;0.00",
    "nps": "+0;-0;0", "+nps": "+0;-0;0",
    "int": "0", "decimal": "0.0", "+decimal": "+0.0;-0.0;0.0",
    "date": "yyyy-mm-dd", "datetime": "yyyy-mm-dd hh:mm",
}


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


def _clean(value: Any) -> Any:
    """A cell's value plain, without the control characters xlsx refuses."""
    value = _plain(value)
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def xlsx_cell(value: Any) -> Any:
    """A CSV cell ready to write: plain, without control characters, formula-safe with a leading ' (a CSV has no
    other way to say "text"). A workbook's cells go through write_cell."""
    value = _clean(value)
    return safe_cell(value) if isinstance(value, str) else value


def write_cell(ws: Any, row: int, column: int, value: Any) -> Any:
    """Write a value into a worksheet cell; returns the cell. Text that a spreadsheet would run as a formula is
    stored as text with Excel's quote prefix (the cell style's "'", not a character of the value), so
    "+40 秒" reads as +40 秒, not '+40 秒, and "=1+1" stays text."""
    value = _clean(value)
    c = ws.cell(row=row, column=column)
    c.value = value
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        c.data_type = "s"  # openpyxl takes a leading = for a formula
        c.quotePrefix = True
    return c


# A signed number as our formats write it (+66, -21,391, -5.3%): a spreadsheet reads it as a number, never a formula.
_PLAIN_NUMBER = re.compile(r"[+-]?\d[\d,]*(\.\d+)?%?")


def _cell(value: Any, plain_numbers: bool) -> Any:
    """xlsx_cell, except that with plain_numbers a formatted number keeps its bare sign (a table's own values; not
    for text people typed, where +886... is a phone number to keep as text)."""
    if plain_numbers and isinstance(value, str) and _PLAIN_NUMBER.fullmatch(value):
        return value
    return xlsx_cell(value)


def frame_to_csv(df: pd.DataFrame, plain_numbers: bool = False) -> bytes:
    """The frame as CSV bytes: UTF-8 with BOM (Excel in Taiwan then reads it as UTF-8), CRLF, formula-safe cells
    (see _cell for plain_numbers)."""
    out = pd.DataFrame([[_cell(v, plain_numbers) for v in row] for row in df.itertuples(index=False, name=None)],
                       columns=[xlsx_cell(c) for c in df.columns], dtype=object)
    return out.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def display_width(text: str) -> int:
    """Columns a line takes on screen: CJK and full-width characters count 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def column_width(header: str, texts: list[str], minimum: float = _MIN_WIDTH, maximum: float = _MAX_WIDTH,
                 header_cap: float | None = None) -> float:
    """A column's width from its widest line (header capped at header_cap), plus 2, within minimum..maximum."""
    longest = max([display_width(line) for x in texts for line in x.splitlines()] + [0])
    head = display_width(header) if header_cap is None else min(display_width(header), header_cap)
    return float(max(min(max(longest, head) + 2, maximum), minimum))


def sheet_name(name: str, used: set[str] | None = None, default: str = "Sheet1") -> str:
    """A name Excel accepts (31 characters, none of []:*?/\\), made unique against used (which it extends)."""
    base = ILLEGAL_CHARACTERS_RE.sub("", "".join(c for c in name if c not in "[]:*?/\\"))[:31] or default
    out, i = base, 2
    while used is not None and out.lower() in used:
        suffix = f" {i}"
        out, i = base[:31 - len(suffix)] + suffix, i + 1
    if used is not None:
        used.add(out.lower())
    return out


def style_header(ws: Any, row: int, columns: list[str]) -> None:
    """The header row: bold on the light-blue fill, wrapped, formula-safe."""
    from openpyxl.styles import Alignment, Font, PatternFill
    for j, name in enumerate(columns, start=1):
        c = write_cell(ws, row, j, str(name))
        c.font, c.fill = Font(bold=True), PatternFill("solid", fgColor=HEADER_FILL)
        c.alignment = Alignment(wrap_text=True, vertical="center")


def workbook_bytes(wb: Any) -> bytes:
    """The workbook as xlsx bytes."""
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _css_style(cell: Any, css: str) -> None:
    """The few declarations a status style uses (background-color, color, font-weight: bold) onto a cell."""
    from openpyxl.styles import Font, PatternFill
    rules = dict(part.split(":", 1) for part in css.split(";") if ":" in part)
    rules = {k.strip(): v.strip().lstrip("#") for k, v in rules.items()}
    if "background-color" in rules:
        cell.fill = PatternFill("solid", fgColor=rules["background-color"].upper())
    if "color" in rules or rules.get("font-weight") == "bold":
        cell.font = Font(bold=rules.get("font-weight") == "bold", color=rules.get("color", "000000").upper())


def frame_to_xlsx(df: pd.DataFrame, title: str | None = None, sheet: str = "Sheet1",
                  widths: Mapping[str, float] | None = None, number_formats: Mapping[str, str] | None = None,
                  styles: pd.DataFrame | None = None) -> bytes:
    """The frame as an xlsx: optional merged title row, bold header, wrapped text, numbers as numbers, formula-safe
    (write_cell: text that starts like a formula is text with Excel's quote prefix, nothing added to it).

    ``widths`` and ``number_formats`` (e.g. "0.00") are keyed by column name; widths default to the content's. A title
    may run over several lines. ``styles``, the frame's shape, holds a CSS declaration per cell (as a pandas Styler
    takes it: background-color, color, font-weight: bold), so a workbook keeps a page's status colours.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    wb = Workbook()
    ws = wb.active
    ws.title = sheet_name(sheet)
    ncols = max(len(df.columns), 1)
    row = 1
    if title:
        write_cell(ws, 1, 1, title).font = Font(bold=True, size=13)
        ws.cell(row=1, column=1).alignment = Alignment(wrap_text=True, vertical="center")
        if ncols > 1:
            ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=ncols)
        ws.row_dimensions[1].height = max(36, 17 * (title.count("\n") + 1))
        row = 2
    header_row = row
    style_header(ws, header_row, [str(name) for name in df.columns])
    top = Alignment(wrap_text=True, vertical="top")
    formats = [(number_formats or {}).get(str(name)) for name in df.columns]
    columns: list[list[Any]] = [[] for _ in df.columns]
    for i, values in enumerate(df.itertuples(index=False, name=None), start=header_row + 1):
        for j, v in enumerate(values, start=1):
            v = _clean(v)
            if v == "":
                v = None
            c = write_cell(ws, i, j, v)
            c.alignment = top
            if formats[j - 1] and isinstance(v, (int, float, dt.date)) and not isinstance(v, bool):
                c.number_format = formats[j - 1]
            if styles is not None and styles.iat[i - header_row - 1, j - 1]:
                _css_style(c, styles.iat[i - header_row - 1, j - 1])
            columns[j - 1].append(v)
    for j, name in enumerate(df.columns, start=1):
        width = (widths or {}).get(str(name)) or column_width(str(name), [str(v) for v in columns[j - 1] if v is not None])
        ws.column_dimensions[get_column_letter(j)].width = width
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    if len(df.columns):
        ws.auto_filter.ref = f"A{header_row}:{get_column_letter(ncols)}{header_row + max(len(df), 1)}"
    return workbook_bytes(wb)
