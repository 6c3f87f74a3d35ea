"""A report as a print-ready A4 PDF (fpdf2) in Noto Sans CJK TC: tables laid out to fit, charts drawn by kaleido
through Chromium; a chart that can't be drawn leaves a note instead."""
from __future__ import annotations

import importlib.util
import io
import re
import shutil
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from ..present import format_kind, join_bar, t
from ._model import Report, Section

__all__ = ["FONT_DIRS", "CHART_PX", "FontNotFound", "chart_unavailable", "to_pdf"]

FONT_DIRS: tuple[Path, ...] = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
_FONT_FILES = ("NotoSansCJK-Regular.ttc", "NotoSansCJK-Bold.ttc")
_TC = 3  # index of Noto Sans CJK TC in the .ttc collections (JP, KR, SC, TC, HK, ...)
CHART_PX = (1000, 430)
CHART_TIMEOUT_SECONDS = 60.0


class FontNotFound(FileNotFoundError):
    """No Noto Sans CJK font to write Traditional Chinese into the PDF; the message names the package."""


@lru_cache(maxsize=4)
def _cjk_fonts(dirs: tuple[Path, ...]) -> tuple[Path, Path]:
    found: dict[str, Path] = {}
    for d in dirs:
        if d.is_dir():
            for name in _FONT_FILES:
                if name not in found:
                    hit = next(iter(sorted(d.rglob(name))), None)
                    if hit:
                        found[name] = hit
    if _FONT_FILES[0] not in found:
        raise FontNotFound(f"no Noto Sans CJK TC font ({_FONT_FILES[0]}) under {', '.join(map(str, dirs))}: "
                           "install the Debian package fonts-noto-cjk (apt-get install fonts-noto-cjk)")
    regular = found[_FONT_FILES[0]]
    return regular, found.get(_FONT_FILES[1], regular)  # without the bold file, headers are regular weight


def _find_browser() -> str | None:
    """The Chromium kaleido would launch, or None."""
    try:
        from choreographer.browsers.chromium import Chromium  # kaleido's own finder, so we agree with it
        return Chromium.find_browser(skip_local=False)
    except Exception:  # noqa: BLE001 - a changed private API must not break reports: fall back to PATH
        return next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p), None)


_kaleido_lock = threading.Lock()
_kaleido_broken: str | None = None  # set once the renderer hung: later PDFs skip charts at once


def chart_unavailable(lang: str = "en") -> str | None:
    """Why charts can't be drawn here (no kaleido, no Chromium, renderer failed), or None when they can."""
    if importlib.util.find_spec("kaleido") is None:
        return t("chart.no_kaleido", lang)
    if _find_browser() is None:
        return t("chart.no_browser", lang)
    return _kaleido_broken


def _chart_png(fig: go.Figure) -> bytes:
    """The figure as PNG through kaleido's shared Chromium (started once per process, ~2 s, then ~0.15 s a chart)."""
    global _kaleido_broken
    import kaleido

    # The sync server answers calls in order through one queue: two threads at once could swap results.
    if not _kaleido_lock.acquire(timeout=CHART_TIMEOUT_SECONDS):
        raise RuntimeError("another chart export is still running")
    try:
        kaleido.start_sync_server(mathjax=False, silence_warnings=True)  # mathjax=False: no CDN fetch
        box: dict[str, Any] = {}

        def run() -> None:
            try:
                box["png"] = kaleido.calc_fig_sync(fig.to_dict(), opts=dict(format="png", width=CHART_PX[0],
                                                                             height=CHART_PX[1], scale=2))
            except BaseException as exc:  # noqa: BLE001 - handed back to the caller below
                box["error"] = exc

        # If Chromium dies at start, the server thread ends and the call would wait forever: bound it.
        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join(CHART_TIMEOUT_SECONDS)
        if worker.is_alive():
            _kaleido_broken = f"the chart renderer did not answer within {CHART_TIMEOUT_SECONDS:g} s"
            raise RuntimeError(_kaleido_broken)
        if "error" in box:
            raise box["error"]
        return box["png"]
    finally:
        _kaleido_lock.release()


def _numeric(kind: str) -> bool:
    return kind not in ("text", "date", "datetime")


_PORTRAIT_WIDTH, _LANDSCAPE_WIDTH = 180.0, 267.0  # A4 less 15 mm margins, mm
_TALL_ROW = 0.45  # a grid row taller than this share of a page reads better as a record


@dataclass
class _Layout:
    orientation: str
    widths: list[float]
    aligns: list[str]
    font_size: float
    records: bool  # one block per row (header: value) instead of a grid
    lead: float  # height of the header and first row: kept on the page of the section's title


_PAD = 4.0  # cell padding both sides and fpdf2's cell margin


def _widest(pdf: Any, texts: Iterable[str]) -> float:
    return max([pdf.get_string_width(x) for x in texts] + [0.0])


def _measure(pdf: Any, headers: list[str], rows: list[list[str]], numeric: list[bool], size: float) -> tuple[list[float], list[float]]:
    """Each column's natural width (no wrapping) and its narrowest (numbers whole, words whole) at a type size."""
    natural, minimum = [], []
    for j, h in enumerate(headers):
        pdf.set_font("cjk", "", size)
        lines = [line for row in rows for line in row[j].splitlines()]
        w = _widest(pdf, lines)
        word = min(_widest(pdf, (x for line in lines for x in line.split())), 30)  # CJK runs have no spaces: cap them
        pdf.set_font("cjk", "B", size)
        hw, hword = _widest(pdf, [h]), min(_widest(pdf, h.split()), 30)
        if numeric[j]:
            # a header wraps over lines above its numbers, but a number never wraps
            nat = max(w, min(hw, max(hword, w)), 8) + _PAD
            natural.append(nat)
            minimum.append(nat)
        else:
            natural.append(min(max(w, hw, 8), 75) + _PAD)
            minimum.append(max(word, hword, 8) + _PAD)
    return natural, minimum


def _fit(pdf: Any, headers: list[str], rows: list[list[str]], numeric: list[bool]) -> tuple[str, float, list[float]]:
    """Orientation, type size and column widths: portrait if it fits, else smaller type, else landscape."""
    choice = None
    for orientation, size in (("P", 8.0), ("P", 7.0), ("L", 8.0), ("L", 7.0), ("L", 6.5)):
        avail = _PORTRAIT_WIDTH if orientation == "P" else _LANDSCAPE_WIDTH
        natural, minimum = _measure(pdf, headers, rows, numeric, size)
        if sum(minimum) <= avail:
            choice = orientation, size, avail, natural, minimum
            break
    if choice is None:
        natural, minimum = _measure(pdf, headers, rows, numeric, 6.5)
        choice = "L", 6.5, _LANDSCAPE_WIDTH, natural, minimum
    orientation, size, avail, natural, minimum = choice
    if sum(natural) <= avail:
        return orientation, size, natural
    if sum(minimum) <= avail:
        # give the text columns back what is left, in proportion to how much more they would use
        slack = sum(n - m for n, m in zip(natural, minimum))
        share = (avail - sum(minimum)) / slack if slack else 0.0
        return orientation, size, [m + (n - m) * share for n, m in zip(natural, minimum)]
    return orientation, size, [m * avail / sum(minimum) for m in minimum]


def _layout_table(pdf: Any, headers: list[str], rows: list[list[str]], numeric: list[bool], wrap: Any) -> _Layout:
    """Column widths from the text as drawn: numbers never wrap, words don't break; portrait if it fits, else
    smaller type, else landscape; rows too tall for a page become records."""
    orientation, size, widths = _fit(pdf, headers, rows, numeric)
    # fpdf2 can't split one table row over two pages: measure the tallest row with the widths chosen
    pdf.set_font("cjk", "", size)
    line_height = size * 0.5
    page_height = (297.0 if orientation == "P" else 210.0) - 30

    def height(cells: list[str]) -> float:
        lines = max(len(pdf.multi_cell(max(w - _PAD, 1), line_height, text, dry_run=True, output="LINES", wrapmode=wrap))
                    for w, text in zip(widths, cells))
        return lines * line_height + 1.6

    heights = [height(row) for row in rows]
    records = max(heights) > _TALL_ROW * page_height
    pdf.set_font("cjk", "B", size)
    lead = height(headers) + heights[0] if not records else 30.0
    return _Layout("P" if records else orientation, widths, ["RIGHT" if n else "LEFT" for n in numeric], size, records,
                   lead)


# Line breaks as Chinese typesetting has them: no line starts with closing punctuation, none ends with an opening one
# (or a sign that belongs to the number after it).
_NO_BREAK_BEFORE = frozenset("。，、；：！？）」』〉》】%％,.;:!?)]}")
_NO_BREAK_AFTER = frozenset("（「『〈《【([{$＄≥≤<>=")
_TOKEN = re.compile(r"[!-~]+ *| +|.")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")  # a Latin word or number with the spaces after it, a run of spaces, any character


def _broken(pdf: Any, text: str, width: float) -> str:
    """text with a line break wherever it wraps in `width` mm at the current font: between any two Chinese characters,
    Latin words and numbers whole (NT$37,527,500), a number with the Chinese word after it (10 月, 2 名), no line
    starting with 。 or ending with （ or ≥. fpdf2 breaks only
    at spaces ("WORD"), so a Chinese run after a short number moved whole to the next line and left "10" alone on one."""
    out = []
    for para in text.split("\n"):
        pieces: list[str] = []
        for tok in _TOKEN.findall(para):
            last = pieces[-1].rstrip()[-1:] if pieces else ""
            if pieces and (tok[0] in _NO_BREAK_BEFORE or last in _NO_BREAK_AFTER
                           or (last.isdigit() and _CJK.match(tok))):  # a number keeps its unit: 10 月, 2 名, 3 件
                pieces[-1] += tok
            else:
                pieces.append(tok)
        line = ""
        for piece in pieces:
            if line.strip() and pdf.get_string_width((line + piece).rstrip()) > width:
                out.append(line.rstrip())
                line = piece.lstrip()
            else:
                line += piece
        out.append(line.rstrip())
    return "\n".join(out)


def _text_width(pdf: Any, w: float) -> float:
    """The room for text in a multi_cell w mm wide (0: to the right margin), a hair less so fpdf2 never re-wraps."""
    return (w or pdf.w - pdf.r_margin - pdf.x) - 2 * pdf.c_margin - 0.01


def _paragraph(pdf: Any, text: str, size: float = 9.5, color: tuple[int, int, int] = (0, 0, 0)) -> None:
    pdf.set_font("cjk", "", size)
    pdf.set_text_color(*color)
    pdf.multi_cell(0, size * 0.52, _broken(pdf, text, _text_width(pdf, 0)), wrapmode=_wrap(), align="L",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0)
    pdf.ln(1.2)


def _wrap() -> Any:
    from fpdf.enums import WrapMode

    # WORD keeps "NT$37,527,500" whole and still breaks a run of Chinese (no spaces) between characters
    return WrapMode.WORD


def _grid(pdf: Any, headers: list[str], rows: list[list[str]], aligns: list[list[str]], lay: _Layout) -> None:
    from fpdf.enums import TableCellFillMode
    from fpdf.fonts import FontFace

    pdf.set_font("cjk", "", lay.font_size)
    with pdf.table(width=sum(lay.widths), col_widths=lay.widths, text_align=lay.aligns, align="LEFT",
                   headings_style=FontFace(emphasis="BOLD", fill_color=(221, 235, 247)),
                   cell_fill_color=(246, 248, 250), cell_fill_mode=TableCellFillMode.ROWS,
                   line_height=lay.font_size * 0.5, padding=(0.8, 1.2), wrapmode=_wrap(),
                   borders_layout="HORIZONTAL_LINES", repeat_headings=1) as table:
        table.row(headers)
        for cells, cell_aligns in zip(rows, aligns):
            row = table.row()
            for text, align in zip(cells, cell_aligns):
                row.cell(text, align=align)
    pdf.ln(2)


def _record(pdf: Any, headers: list[str], row: list[str], label_w: float) -> None:
    """One row as header: value lines that may run over a page break."""
    wrap = _wrap()
    pdf.set_draw_color(180, 190, 200)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + pdf.epw, pdf.get_y())
    pdf.ln(1.5)
    for h, text in zip(headers, row):
        pdf.set_font("cjk", "B", 8.5)
        if pdf.will_page_break(9):
            pdf.add_page(orientation=pdf.cur_orientation)
        y, page_no = pdf.get_y(), pdf.page_no()
        pdf.multi_cell(label_w, 4.4, h, wrapmode=wrap, align="L", new_x="RIGHT", new_y="TOP")
        label_bottom = y + 4.4 * len(pdf.multi_cell(label_w, 4.4, h, wrapmode=wrap, dry_run=True, output="LINES"))
        pdf.set_font("cjk", "", 8.5)
        pdf.multi_cell(0, 4.4, _broken(pdf, text, _text_width(pdf, 0)), wrapmode=wrap, align="L", new_x="LMARGIN",
                       new_y="NEXT")
        if pdf.page_no() == page_no and pdf.get_y() < label_bottom:  # a label longer than its value
            pdf.set_y(label_bottom)
        pdf.ln(0.8)
    pdf.ln(1.5)


def _records(pdf: Any, headers: list[str], rows: list[list[str]]) -> None:
    # header: value blocks, for rows too tall for a grid
    pdf.set_font("cjk", "B", 8.5)
    label_w = min(max(pdf.get_string_width(h) for h in headers) + 4, 45)
    for row in rows:
        _record(pdf, headers, row, label_w)


@dataclass
class _Table:
    headers: list[str]
    rows: list[list[str]]
    aligns: list[list[str]]
    layout: _Layout


def _table(pdf: Any, s: Section, lang: str) -> _Table | None:
    """The section's table as text, laid out; None without rows."""
    if s.table is None or not len(s.table.columns) or not len(s.table):
        return None
    headers = [str(c) for c in s.table.columns]
    values = list(s.table.itertuples(index=False, name=None))
    rows = [[format_kind(v, s.kind(headers[j], r), lang) for j, v in enumerate(vs)] for r, vs in enumerate(values)]
    # numbers right-aligned cell by cell: a measures table mixes a text row into number columns
    aligns = [["RIGHT" if _numeric(s.kind(h, r)) and not isinstance(v, str) else "LEFT" for h, v in zip(headers, vs)]
              for r, vs in enumerate(values)]
    numeric = [all(_numeric(s.kind(h, r)) or rows[r][j] == "—" for r in range(len(rows))) for j, h in enumerate(headers)]
    return _Table(headers, rows, aligns, _layout_table(pdf, headers, rows, numeric, _wrap()))


def _chart(pdf: Any, fig: go.Figure, reason: str | None, lang: str) -> None:
    png = None
    if reason is None:
        try:
            png = _chart_png(fig)
        except Exception as exc:  # noqa: BLE001 - a chart must not cost the whole report
            reason = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
    if png is None:
        _paragraph(pdf, t("chart.missing", lang, reason=reason), 9.5, (192, 57, 43))
        return
    w = min(pdf.epw, 180)
    h = w * CHART_PX[1] / CHART_PX[0]
    if pdf.will_page_break(h):
        pdf.add_page(orientation=pdf.cur_orientation)
    pdf.image(io.BytesIO(png), x=pdf.l_margin, w=w, h=h)
    pdf.ln(3)


def _section(pdf: Any, s: Section, lang: str, no_charts: str | None) -> None:
    table = _table(pdf, s, lang)
    current = getattr(pdf.cur_orientation, "value", pdf.cur_orientation)  # fpdf2 gives an enum
    orientation = table.layout.orientation if table else current
    # keep the title, its paragraphs and the table's first row together
    pdf.set_font("cjk", "", 9.5)
    lead = 10 + sum(pdf.multi_cell(0, 9.5 * 0.52, _broken(pdf, p, _text_width(pdf, 0)), wrapmode=_wrap(), dry_run=True,
                                   output="HEIGHT") + 1.2
                    for p in s.paragraphs) + (table.layout.lead if table else 0)
    if orientation != current or pdf.will_page_break(max(lead, 30)):
        pdf.add_page(orientation=orientation)
    pdf.set_font("cjk", "B", 13)
    pdf.set_text_color(31, 78, 121)
    pdf.multi_cell(0, 8, s.title, wrapmode=_wrap(), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0)
    for p in s.paragraphs:
        _paragraph(pdf, p)
    if table is not None:
        if table.layout.records:
            _records(pdf, table.headers, table.rows)
        else:
            _grid(pdf, table.headers, table.rows, table.aligns, table.layout)
    elif s.table is not None:
        _paragraph(pdf, t("no_rows", lang), 9, (110, 110, 110))
    if s.chart is not None:
        _chart(pdf, s.chart, no_charts, lang)
    pdf.ln(3)


def _new_pdf(report: Report) -> Any:
    """An A4 document with the CJK font, metadata, and a footer: report and period left, page n of nb right."""
    from fpdf import FPDF

    regular, bold = _cjk_fonts(FONT_DIRS)
    lang = report.lang
    footer_left = join_bar([report.title, report.period], lang)

    class Pdf(FPDF):
        def footer(self) -> None:
            self.set_y(-11)
            self.set_font("cjk", "", 7.5)
            self.set_text_color(120)
            half = self.epw / 2
            self.cell(half, 5, footer_left, align="L")
            self.cell(half, 5, t("report.page", lang, n=self.page_no(), nb="{nb}"), align="R")

    pdf = Pdf(orientation="P", unit="mm", format="A4")
    pdf.set_margins(15, 14, 15)
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_font("cjk", "", str(regular), collection_font_number=_TC)
    pdf.add_font("cjk", "B", str(bold), collection_font_number=_TC)
    for font in pdf.fonts.values():  # the embedded subsets keep the font's own bounding boxes: recomputing them ran
        font.ttfont.recalcBBoxes = False  # every CJK outline used through fontTools, half of a report's PDF time
    pdf.set_title(f"{report.title} {report.period}")
    pdf.set_lang(lang)
    pdf.set_creator("kpi.reports")
    return pdf


def to_pdf(report: Report) -> bytes:
    """The report as a print-ready A4 PDF in Noto Sans CJK TC, tables and charts; a chart that can't be drawn leaves a note."""
    pdf = _new_pdf(report)
    pdf.add_page()
    pdf.set_font("cjk", "B", 20)
    pdf.cell(0, 11, report.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", "", 12)
    pdf.cell(0, 7, report.period, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    for m in report.meta:
        _paragraph(pdf, m, 8.5, (90, 90, 90))
    pdf.ln(2)
    no_charts = chart_unavailable(report.lang)
    for s in report.sections:
        _section(pdf, s, report.lang, no_charts)
    return bytes(pdf.output())
