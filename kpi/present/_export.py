"""A table as a page shows it, out of the page: Excel and CSV downloads, a static HTML table for print, file names.

A Table holds raw values (fractions 0-1, seconds, NT$) under the headers a reader reads, each column's kind (see
kpi.present.format_kind) and optionally each cell's status. Every rendering formats a value the same way: the page's
grid, the printed table and the CSV as text, the workbook as a number with the number format that shows the same.
"""
from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ._files import NUMBER_FORMATS, column_width, display_width, frame_to_csv, frame_to_xlsx
from ._format import MISSING, format_kind, is_missing
from ._messages import paren, t

__all__ = ["Table", "STATUS_HEX", "status_css", "cell_text", "excel_format", "table_text", "table_to_csv",
           "table_to_xlsx", "table_to_html", "export_file_name"]

# Colour means status, on the page, in print and in a workbook alike.
STATUS_HEX = {"good": "#d7f0dd", "warning": "#fde9c8", "bad": "#f9d4d2", "uncertain": "#ececec", None: "#ffffff"}
_FLAG_CSS = "font-weight: bold; color: #c0392b"  # a cell that asks for action (a line needing an improvement report)
_TEXT_KINDS = ("text", "bool", "date", "datetime")
_SECONDS_PER_DAY = 86400  # Excel keeps time in days
_SHORT = 24  # a text column no wider than this (CJK counted double) stays on one line in print


@dataclass(frozen=True)
class Table:
    """A table as a page shows it: raw values, each column's kind, optional cell statuses, and what it is."""

    frame: pd.DataFrame  # a named index is the table's first column (e.g. the team)
    kinds: Mapping[str, str] = field(default_factory=dict)  # column -> kind; absent = text
    statuses: pd.DataFrame | None = None  # the frame's shape: good / warning / bad / uncertain / flag / None per cell
    labels: Mapping[str, str] = field(default_factory=dict)  # column -> header, where the frame keeps a column id
    title: str = ""  # what: page and table
    context: tuple[str, ...] = ()  # when, which filters: one line each
    name: tuple[str, ...] = ()  # the download's file name in parts: what, period, the filters that are set

    def select(self, columns: Sequence[str]) -> Table:
        """The same table with only these columns (the index stays)."""
        columns = list(columns)
        return Table(self.frame[columns], {c: k for c, k in self.kinds.items() if c in columns},
                     None if self.statuses is None else self.statuses[columns], self.labels, self.title, self.context,
                     self.name)

    def head(self, n: int) -> Table:
        """The same table with its first n rows (a page shows those of a very long one; downloads hold every row)."""
        return Table(self.frame.head(n), self.kinds, None if self.statuses is None else self.statuses.head(n),
                     self.labels, self.title, self.context, self.name)

    def where(self, keep: Sequence[bool]) -> Table:
        """The same table with the rows keep marks (a page shows those; its downloads hold every row)."""
        mask = list(keep)
        return Table(self.frame[mask], self.kinds, None if self.statuses is None else self.statuses[mask], self.labels,
                     self.title, self.context, self.name)

    def kind(self, column: str) -> str:
        """A column's kind (text when not declared)."""
        return self.kinds.get(column, "text")

    def header(self, column: str) -> str:
        """A column's header as a reader reads it."""
        return self.labels.get(column, str(column))


def status_css(status: str | None) -> str:
    """A cell's status as a CSS declaration: its status colour, or bold red for a flag; "" for none."""
    if status == "flag":
        return _FLAG_CSS
    return f"background-color: {STATUS_HEX[status]}" if isinstance(status, str) and status in STATUS_HEX else ""


def cell_text(value: Any, kind: str, lang: str) -> str:
    """One cell as the page shows it: 81.2%, NT$1,234, 是/否 (yes/no); — when missing."""
    if isinstance(value, bool):
        return t("report.yes" if value else "report.no", lang)
    return format_kind(value, "text" if kind == "bool" else kind, lang)


def excel_value(value: Any, kind: str) -> Any:
    """A value as a workbook cell of this kind holds it for excel_format: a duration in days, a change of a rate in
    percentage points; None when missing; text as it is."""
    if is_missing(value):
        return None
    if isinstance(value, str):
        return value
    base = kind.lstrip("+")
    if base == "seconds":
        return value / _SECONDS_PER_DAY
    if base == "pp":
        return value * 100
    return value


def excel_format(kind: str, lang: str) -> str | None:
    """The Excel number format that shows a value of this kind as the page does, unit included; None: write text.

    Durations go in as days (Excel's time), so they add up, each shown on the scale it needs (14 秒, 7 分 05 秒,
    3 小時 52 分); a signed one has no Excel form (a negative time shows as ####). A change in percentage points goes
    in as points (excel_value: 0.021 as 2.1), shown with its unit: Excel's % would read as a relative change."""
    signed, base = kind.startswith("+"), kind.lstrip("+")
    if base == "hours":
        unit = t("unit.hours", lang)
        return f'+0.0 "{unit}";-0.0 "{unit}";0.0 "{unit}"' if signed else f'0.0 "{unit}"'
    if base == "seconds":
        return None if signed else t("export.duration_format", lang)
    if base == "pp":
        unit = t("unit.pp", lang)
        return f'+0.0 "{unit}";-0.0 "{unit}";0.0 "{unit}"'
    if base == "money":
        return None
    if base in ("score_unit", "per_1000_unit"):  # 4.26 分, 12.93 件/千通: the number stays a number, its unit shown
        after = t(f"unit_after.{base.removesuffix('_unit')}", lang)
        suffix = f'"{after}"' if after else ""
        return f"+0.00{suffix};-0.00{suffix};0.00{suffix}" if signed else f"0.00{suffix}"
    return NUMBER_FORMATS.get(kind)


def _flat(table: Table) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The frame (and statuses) with a named index as the first column."""
    frame, statuses = table.frame, table.statuses
    if frame.index.name is None:
        return frame.reset_index(drop=True), None if statuses is None else statuses.reset_index(drop=True)
    frame = frame.reset_index()
    if statuses is not None:
        statuses = statuses.reset_index(drop=True)
        statuses.insert(0, frame.columns[0], None)
    return frame, statuses


def _columns(table: Table, frame: pd.DataFrame, lang: str, export: bool) -> list[tuple[str, str, str]]:
    """(column, header, kind) of each column. In a download an amount carries NT$ in its header, not its cells:
    "-NT$1,234" would start like a formula in a CSV, "-1,234" is a number to any spreadsheet."""
    out = []
    for c in frame.columns:
        header, kind = table.header(c), table.kind(c)
        if export and kind.lstrip("+") == "money":
            header, kind = paren(header, t("unit.ntd", lang), lang), kind.replace("money", "ntd")
        out.append((c, header, kind))
    return out


def table_text(table: Table, lang: str, export: bool = False) -> pd.DataFrame:
    """Every cell as text, as the page shows it (export: as the downloads write it), under the readers' headers."""
    frame, _ = _flat(table)
    return pd.DataFrame({h: [cell_text(v, k, lang) for v in frame[c]] for c, h, k in _columns(table, frame, lang, export)},
                        dtype=object)


def table_to_csv(table: Table, lang: str) -> bytes:
    """The table as CSV: readable headers, values formatted as on the page, UTF-8 with BOM (Excel in Taiwan reads it);
    a number is written so a spreadsheet reads it as one, text that looks like a formula is neutralised."""
    return frame_to_csv(table_text(table, lang, export=True), plain_numbers=True)


def table_to_xlsx(table: Table, lang: str) -> bytes:
    """The table as a workbook: a title row (what, when, filters), readable headers, numbers as numbers with the
    number format that shows them as on the page (%, durations, units), status colours."""
    frame, statuses = _flat(table)
    text = table_text(table, lang, export=True)
    values, formats = {}, {}
    for c, header, kind in _columns(table, frame, lang, export=True):
        fmt = excel_format(kind, lang)
        if fmt is None:  # text, or a value with no Excel form: as the page writes it
            values[header] = list(text[header])
            continue
        values[header] = [excel_value(v, kind) for v in frame[c]]
        formats[header] = fmt
    out = pd.DataFrame(values, columns=list(text.columns), dtype=object)
    widths = {h: column_width(h, [x for x in text[h] if x != MISSING], header_cap=24) for h in text.columns}
    styles = None if statuses is None else statuses.map(status_css).set_axis(out.columns, axis=1)
    title = "\n".join(x for x in (table.title, *table.context) if x) or None
    return frame_to_xlsx(out, title, sheet=table.title or "Sheet1", widths=widths, number_formats=formats,
                         styles=styles)


def table_to_html(table: Table, lang: str) -> str:
    """The table as a static HTML table (class kpi-table) for print: every row and column, values and status colours
    as on the page, numbers right-aligned."""
    frame, statuses = _flat(table)
    text = table_text(table, lang)
    numeric = [table.kind(c) not in _TEXT_KINDS for c in frame.columns]
    # numbers and short texts (a name, a date) stay on one line; long texts wrap
    num = ' class="num"'
    classes = [num if n else ' class="nw"' if max(map(display_width, text[h]), default=0) <= _SHORT else ""
               for h, n in zip(text.columns, numeric)]
    head = "".join(f"<th{num if n else ''}>{html.escape(h)}</th>" for h, n in zip(text.columns, numeric))
    rows = []
    for i in range(len(text)):
        cells = []
        for j, n in enumerate(numeric):
            css = status_css(statuses.iat[i, j]) if statuses is not None else ""
            attrs = classes[j] + (f' style="{css}"' if css else "")
            cells.append(f"<td{attrs}>{html.escape(text.iat[i, j]).replace(chr(10), '<br>')}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f'<table class="kpi-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


_UNSAFE = re.compile(r"[^\w.\-]+")  # letters of any script, digits, . - stay
_CODE = re.compile(r"\s*\([TPO]\d+(?:\.\d+)*\)")  # a page title's task code: 預算執行 (T2.2)


def export_file_name(parts: Iterable[str | None], ext: str, limit: int = 120) -> str:
    """每週績效_組別績效_2026-W47_技術支援組.xlsx: the parts that are set, joined by _; a title's task code left out,
    anything but letters, digits and . - replaced by -, so every operating system and mail program keeps the name."""
    cleaned = [_UNSAFE.sub("-", _CODE.sub("", p).replace("_", "-")).strip("-.") for p in parts if p]
    stem = "_".join(p for p in cleaned if p)[:limit].rstrip("-._") or "export"
    return f"{stem}.{ext}"


class _Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = []
        elif tag == "br" and self.cell is not None:
            self.cell.append("\n")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append("".join(self.cell))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def html_table_frame(body: str) -> pd.DataFrame | None:
    """A table drawn by table_to_html read back as its reader sees it (the header row as columns, each cell's text),
    for the checks of tests and benchmarks; None when body holds no such table."""
    if 'class="kpi-table"' not in body:
        return None
    parser = _Cells()
    parser.feed(body)
    head, *rows = parser.rows
    return pd.DataFrame(rows, columns=head)
