"""A page's row of KPI tiles as one block of static HTML, and that block read back.

One block, not a Streamlit element per tile: every element a new visit receives costs its browser time (a metric, its
container and its note three each), and the weekly page's 13 tiles as one block took 0.2x the floor off its new visit
(docs/benchmarks.md, browser). The tile looks like st.metric: its name with the definition behind an ⓘ, the value,
the change with an arrow coloured by whether it is better or worse (grey within noise), what the change is against,
then small lines (status badge and target, n and interval, each channel's value). A value too wide for its tile
wraps (27.7%（1,947.2 小時） on the staffing page) rather than being cut with an ellipsis."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

__all__ = ["Tile", "tiles_html", "read_tiles", "badge_html", "bold_html", "TILE_CSS"]

# Status colours of a badge: text and background (the same hues as the tables' cells, kpi.present._export.STATUS_HEX).
_BADGE = {"good": ("#1b6e33", "#d7f0dd"), "warning": ("#8a5300", "#fde9c8"), "bad": ("#a8231a", "#f9d4d2")}
_GREY = ("#51565e", "#ececec")
_TONE = {"good": "#1b8a3a", "warning": "#8a5300", "bad": "#c0392b"}  # warning: the amber badge's text colour

TILE_CSS = """
div.kpi-tiles {display: grid; gap: 1rem; margin-bottom: 1rem}
div.kpi-tile {min-width: 0; line-height: 1.4; font-size: 0.875rem; container-type: inline-size}
div.kpi-tile.boxed {border: 1px solid rgba(49, 51, 63, 0.2); border-radius: 0.5rem; padding: calc(1em - 1px)}
div.kpi-tile .kpi-label {color: rgb(49, 51, 63); margin-bottom: 0.25rem}
div.kpi-tile .kpi-help {color: rgba(49, 51, 63, 0.6); cursor: help; margin-left: 0.25rem}
div.kpi-tile .kpi-value {font-size: clamp(1.25rem, 14cqi, 2.25rem); line-height: 1.2; overflow-wrap: break-word;
  word-break: keep-all; padding-bottom: 0.25rem}
div.kpi-tile .kpi-unit {white-space: nowrap}
div.kpi-tile .kpi-delta {margin-bottom: 0.25rem}
div.kpi-tile .kpi-note {color: rgba(49, 51, 63, 0.6)}
div.kpi-tile .kpi-line {margin-top: 0.25rem}
div.kpi-tile .kpi-small {font-size: 0.8rem; color: rgba(49, 51, 63, 0.6)}
span.kpi-badge {border-radius: 0.25rem; padding: 0 0.375rem; font-size: 0.8rem; white-space: nowrap}
"""


@dataclass(frozen=True)
class Tile:
    """One tile. tone colours the change: good, bad, warning (amber: an overspend too small to need a report), or None
    (grey: within noise, or no better direction). lines are
    HTML already escaped (badge_html, bold_html); small lines are drawn small and grey."""
    label: str
    value: str
    help: str | None = None
    delta: str | None = None
    tone: str | None = None
    note: str | None = None
    lines: tuple[str, ...] = field(default_factory=tuple)
    small: tuple[str, ...] = field(default_factory=tuple)


def badge_html(status: str | None, text: str) -> str:
    """A status as a small coloured label (達標 green, 注意 orange, 未達標 red, anything else grey)."""
    fg, bg = _BADGE.get(status or "", _GREY)
    return (f'<span class="kpi-badge" data-status="{html.escape(status or "")}" style="color: {fg}; background: {bg}">'
            f"{html.escape(text)}</span>")


def bold_html(text: str) -> str:
    """Text escaped for HTML, its **…** in bold (the message catalog's one piece of Markdown in a tile's lines)."""
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(text))


def _arrow(delta: str) -> str:
    number = re.search(r"[-+]?\d+(?:[.,:]\d+)*", delta)
    if number is None or not re.search(r"[1-9]", number.group()):
        return ""
    return "▼ " if delta.lstrip().startswith("-") or number.group().startswith("-") else "▲ "  # -NT$62,100 too


def _tile(tile: Tile, boxed: bool) -> str:
    parts = [f'<div class="kpi-label">{html.escape(tile.label)}']
    if tile.help:
        help_text = html.escape(tile.help)
        parts.append(f'<span class="kpi-help" title="{help_text}" aria-label="{help_text}">ⓘ</span>')
    head, _, unit = tile.value.rpartition(" ")  # the unit after the number stays whole: "15.70 件/千通" broke at "/"
    value = f'{html.escape(head)} <span class="kpi-unit">{html.escape(unit)}</span>' if head else html.escape(tile.value)
    parts.append(f'</div><div class="kpi-value">{value}</div>')
    if tile.delta or tile.note:
        parts.append('<div class="kpi-delta">')
        if tile.delta:
            colour = _TONE.get(tile.tone or "", _GREY[0])
            parts.append(f'<span class="kpi-change" data-tone="{tile.tone or "off"}" style="color: {colour}">'
                         f"{_arrow(tile.delta)}{html.escape(tile.delta)}</span> ")
        if tile.note:
            parts.append(f'<span class="kpi-note">{html.escape(tile.note)}</span>')
        parts.append("</div>")
    parts += [f'<div class="kpi-line">{line}</div>' for line in tile.lines]
    parts += [f'<div class="kpi-line kpi-small">{line}</div>' for line in tile.small]
    return f'<div class="kpi-tile{" boxed" if boxed else ""}">{"".join(parts)}</div>'


def tiles_html(tiles: list[Tile], columns: int | None = None, boxed: bool = True) -> str:
    """Tiles in a grid of `columns` equal columns (default: all in one row), in one block."""
    n = columns or max(len(tiles), 1)
    return (f"<style>{TILE_CSS}</style>"  # with the block: a page opened before the dashboard's frame ran has it too
            f'<div class="kpi-tiles" style="grid-template-columns: repeat({n}, minmax(0, 1fr))">'
            + "".join(_tile(x, boxed) for x in tiles) + "</div>")


class _Reader(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tiles: list[dict] = []
        self.stack: list[str | None] = []  # the tile part each open element belongs to

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        part = next((c for c in ("kpi-label", "kpi-value", "kpi-change", "kpi-note", "kpi-line") if c in cls), None)
        if "kpi-tile" in cls:
            self.tiles.append({"label": "", "value": "", "help": None, "delta": None, "tone": None, "note": None,
                               "lines": [], "badges": []})
        elif "kpi-help" in cls:
            self.tiles[-1]["help"] = a.get("title")
            part = "skip"
        elif "kpi-badge" in cls:
            self.tiles[-1]["badges"].append(a.get("data-status") or None)
        if part == "kpi-change":
            self.tiles[-1]["delta"], self.tiles[-1]["tone"] = "", a.get("data-tone")
        elif part == "kpi-note":
            self.tiles[-1]["note"] = ""
        elif part == "kpi-line":
            self.tiles[-1]["lines"].append("")
        self.stack.append(part or (self.stack[-1] if self.stack else None))

    def handle_endtag(self, tag):
        if self.stack:
            self.stack.pop()

    def handle_data(self, data):
        part = self.stack[-1] if self.stack else None
        if part is None or part == "skip" or not self.tiles:
            return
        tile = self.tiles[-1]
        if part == "kpi-label":
            tile["label"] += data
        elif part == "kpi-value":
            tile["value"] += data
        elif part == "kpi-change":
            tile["delta"] += data
        elif part == "kpi-note":
            tile["note"] += data
        elif part == "kpi-line":
            tile["lines"][-1] += data


def read_tiles(block: str) -> list[dict]:
    """The tiles of a block written by tiles_html, as a reader sees them: label, value, help, delta (its arrow
    dropped), tone, note, lines (text) and the statuses of their badges. For checks (tests, benchmarks)."""
    reader = _Reader()
    reader.feed(block)
    for tile in reader.tiles:
        tile["label"] = tile["label"].strip()
        if tile["delta"] is not None:
            tile["delta"] = tile["delta"].lstrip("▲▼ ").strip()
        tile["lines"] = [" ".join(x.split()) for x in tile["lines"]]
    return reader.tiles
