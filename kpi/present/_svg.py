"""An ECharts option (kpi.present.echarts_option) drawn as static SVG, for the pages (no streamlit here).

A page shows a chart as an SVG image inside HTML: no chart component, no script bundle for the browser to load and
evaluate in a new session, nothing drawn by script (docs/benchmarks.md, browser). The chart is still built once, in
plotly, for the pages and the PDF reports alike, and translated to the ECharts option; this draws that option:
category x axes, value or category y axes (a second one on the right), line, bar (grouped, stacked, transparent
waterfall bases), heat map and funnel series, reference lines, titles, subplot titles, legends and a heat map's colour
scale.

Horizontal positions are percentages of the chart's width, so it fills its column as the ECharts chart did; vertical
ones are pixels of the figure's height (a chart grows below it when its x labels need the room). st.html keeps HTML
only, so the SVG is an <img> (a data URL); over it, a transparent box per point, bar, cell and reference line carries
its hover text as a title the browser shows. Each series is a <g class="series"> with data-index, data-type,
data-name, data-x-axis, data-y-axis, data-dash, data-color, data-symbol and data-values (its values as drawn, JSON);
each x axis (and a category y axis) a <g> with data-categories: what a test reads back (tests/helpers.svg_charts).
"""
from __future__ import annotations

import json
import math
import re
import unicodedata
from html import escape
from typing import Any

from ._charts import PALETTE
from ._echarts import NotConvertible

__all__ = ["svg_chart"]

LEFT_PX, RIGHT_PX = 56, 8  # room outside a grid that starts at 0 % or ends at 100 %: tick labels, axis names
_COLOURS = [PALETTE["actual"], PALETTE["bad"], PALETTE["good"], PALETTE["muted"], "#f39c12", "#8e44ad", PALETTE["line"]]
_DASHES = {"dashed": "6 4", "dotted": "2 3", "solid": None}
_AXIS_TEXT, _TITLE_TEXT, _LINE = "#6e7079", "#333333", "#e0e6f1"
# Steps between the x labels shown when not all fit: 30-minute or hourly intervals then show round hours, days days.
_LABEL_STEPS = (1, 2, 3, 4, 6, 8, 12, 24, 48, 96, 168, 336)
_URL_ESCAPES = str.maketrans({"%": "%25", "#": "%23", "&": "%26", "'": "%27"})


def _attr(v: Any) -> str:
    return escape(str(v), quote=True)


def _json(v: Any) -> str:
    return _attr(json.dumps(v, ensure_ascii=False, separators=(",", ":")))


def _pct(v: Any) -> float:
    """ECharts' "12.5%" as 12.5; a pixel count is not used for grids here."""
    return float(str(v).rstrip("%"))


def _text_px(text: str, size: float) -> float:
    """About how wide a label is: a Chinese character a full em, others about half."""
    return sum(size if unicodedata.east_asian_width(ch) in "WF" else size * 0.58 for ch in text)


def _rgb(colour: str) -> tuple[float, float, float]:
    if colour.startswith("#"):
        h = colour[1:]
        h = "".join(c * 2 for c in h) if len(h) == 3 else h
        return tuple(int(h[i:i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]
    parts = re.findall(r"[\d.]+", colour)
    return float(parts[0]), float(parts[1]), float(parts[2])


def _mix(colours: list[str], share: float) -> str:
    """The colour at `share` (0-1) along a scale of colours, low to high."""
    share = min(1.0, max(0.0, share))
    pos = share * (len(colours) - 1)
    i = min(int(pos), len(colours) - 2) if len(colours) > 1 else 0
    if len(colours) == 1:
        return colours[0]
    a, b, f = _rgb(colours[i]), _rgb(colours[i + 1]), pos - i
    return "#{:02x}{:02x}{:02x}".format(*(round(x + (y - x) * f) for x, y in zip(a, b)))


def _nice_step(span: float, ticks: int = 5) -> float:
    raw = span / ticks if span > 0 else 1.0
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * power:
            return m * power
    return 10 * power


def _tick_text(v: float, step: float, formatter: str | None) -> str:
    decimals = next(d for d in range(7) if abs(round(step, d) - step) < 1e-9 or d == 6)
    text = f"{v:,.{decimals}f}"
    if text.lstrip("-").strip("0.,") == "":
        text = text.lstrip("-")
    return formatter.replace("{value}", text) if formatter else text


def _name_gap(widest_label: float, name_size: float) -> float:
    """How far from its axis a value axis' turned name is centred: past the widest tick label."""
    return widest_label + 10 + name_size * 0.6


def _point(d: Any) -> tuple[Any, Any, str | None, dict]:
    """(x category or None, y, hover text or None, the item's own options) of a series data item."""
    extra = {}
    if isinstance(d, dict):
        extra, d = d, d.get("value")
    if isinstance(d, list):
        return d[0], d[1], (d[2] if len(d) > 2 else None), extra
    return None, d, None, extra


class _Chart:
    def __init__(self, option: dict, height: int, width_px: int):
        self.o, self.h, self.w_px = option, height, width_px
        self.out: list[str] = []
        self.x_axes, self.y_axes, self.grids = option.get("xAxis") or [], option.get("yAxis") or [], option.get("grid") or []
        self.series = option.get("series") or []
        self.scales: dict[int, tuple[float, float]] = {}
        self.hits: list[str] = []
        # a value axis on the right (a pareto's cumulative %) labels outside the plot: room for it
        self.right_px = 44 if any(a.get("position") == "right" for a in self.y_axes) else RIGHT_PX
        self.left_px = LEFT_PX  # svg() sets it once the value axes' scales (their labels' widths) are fitted

    def _left_room(self) -> int:
        """Pixels left of the plots: the default, or what a category y axis' names (a heat map's teams) or the first
        turned x labels reach out to, up to 160."""
        need = float(LEFT_PX)
        for a in self.y_axes:
            if a.get("type") == "category" and a.get("position") != "right":
                size = (a.get("axisLabel") or {}).get("fontSize") or 12
                need = max(need, max((_text_px(str(c), size) for c in a.get("data") or []), default=0) + 12
                           + (20 if a.get("name") else 0))
        for a in self.x_axes:
            label = a.get("axisLabel") or {}
            if label.get("rotate") and a.get("data"):
                need = max(need, _text_px(str(a["data"][0]), label.get("fontSize") or 12)
                           * math.cos(math.radians(abs(label["rotate"]))))
        for yi, a in enumerate(self.y_axes):  # a left value axis' name beside its widest tick label (after _fit_scales)
            grid = self.grids[a.get("gridIndex", 0)] if self.grids else None
            if a.get("type") == "category" or a.get("position") == "right" or not a.get("name") or yi not in self.scales \
                    or grid is None or _pct(grid["left"]) > 1:
                continue
            name_size = (a.get("nameTextStyle") or {}).get("fontSize") or 12
            need = max(need, _name_gap(self._widest_tick(yi), name_size) + name_size * 0.6 + 4)  # its far edge
        return min(160, math.ceil(need))

    def _widest_tick(self, yi: int) -> float:
        """How wide a value axis' widest tick label is, in px."""
        axis = self.y_axes[yi]
        label = axis.get("axisLabel") or {}
        step = axis["_step"]
        return max((_text_px(_tick_text(v, step if abs(v / step - round(v / step)) < 1e-6 else step / 10,
                                         label.get("formatter")), label.get("fontSize") or 12)
                    for v in self._ticks(yi)), default=0.0)

    # ---- coordinates: x in % of the width, y in px
    def _grid_box(self, gi: int) -> tuple[float, float, float, float]:
        g = self.grids[gi]
        return _pct(g["left"]), 100 - _pct(g["right"]), float(g["top"]), float(g["top"]) + float(g["height"])

    def _x_of(self, xi: int, index: int, band_share: float = 0.5) -> float:
        x0, x1, _, _ = self._grid_box(self.x_axes[xi].get("gridIndex", 0))
        n = max(1, len(self.x_axes[xi].get("data") or []))
        return x0 + (x1 - x0) * (index + band_share) / n

    def _band(self, xi: int) -> float:
        x0, x1, _, _ = self._grid_box(self.x_axes[xi].get("gridIndex", 0))
        return (x1 - x0) / max(1, len(self.x_axes[xi].get("data") or []))

    def _y_of(self, yi: int, value: float) -> float:
        axis = self.y_axes[yi]
        _, _, top, bottom = self._grid_box(axis.get("gridIndex", 0))
        low, high = self.scales[yi]
        share = (value - low) / (high - low) if high > low else 0.5
        if axis.get("inverse"):
            share = 1 - share
        return bottom - share * (bottom - top)

    def _y_cat(self, yi: int, label: Any) -> tuple[float, float]:
        """(top, height) px of a category's row on a category y axis (the first category at the bottom, as in
        ECharts, unless the axis is inverse)."""
        axis = self.y_axes[yi]
        _, _, top, bottom = self._grid_box(axis.get("gridIndex", 0))
        cats = [str(c) for c in axis.get("data") or []]
        n = max(1, len(cats))
        i = cats.index(str(label)) if str(label) in cats else 0
        row = (bottom - top) / n
        return (top + i * row if axis.get("inverse") else bottom - (i + 1) * row), row

    # ---- value axes
    def _categories(self, s: dict) -> list[str]:
        return [str(c) for c in self.x_axes[s.get("xAxisIndex", 0)].get("data") or []]

    def _aligned(self, s: dict) -> list[tuple[Any, str | None, dict]]:
        """The series' (y, hover, item options) per category of its x axis."""
        cats = self._categories(s)
        out: list[tuple[Any, str | None, dict]] = [(None, None, {})] * len(cats)
        for i, d in enumerate(s.get("data") or []):
            x, y, text, extra = _point(d)
            j = cats.index(str(x)) if x is not None and str(x) in cats else i
            if j < len(out):
                out[j] = (y, text, extra)
        return out

    def _stacked(self) -> dict[int, list[tuple[float, float]]]:
        """For each bar series (by index), each category's (base, top) once the stacks are piled."""
        piles: dict[tuple, list[float]] = {}
        out: dict[int, list[tuple[float, float]]] = {}
        for si, s in enumerate(self.series):
            if s.get("type") != "bar":
                continue
            values = [y for y, _, _ in self._aligned(s)]
            key = (s.get("xAxisIndex", 0), s.get("yAxisIndex", 0), s.get("stack") or f"own-{si}")
            pile = piles.setdefault(key, [0.0] * len(values))
            spans = []
            for i, y in enumerate(values):
                base = pile[i] if i < len(pile) else 0.0
                top = base + (y or 0.0)
                if s.get("stack") and i < len(pile):
                    pile[i] = top
                spans.append((base, top))
            out[si] = spans
        return out

    def _fit_scales(self, stacked: dict[int, list[tuple[float, float]]]) -> None:
        for yi, axis in enumerate(self.y_axes):
            if axis.get("type") == "category":
                continue
            values: list[float] = []
            bars = False
            for si, s in enumerate(self.series):
                if s.get("yAxisIndex", 0) != yi or s.get("type") not in ("line", "bar"):
                    continue
                if s["type"] == "bar":
                    bars = True
                    values += [v for span in stacked[si] for v in span]
                else:
                    values += [y for y, _, _ in self._aligned(s) if isinstance(y, (int, float))]
                values += [m["yAxis"] for m in (s.get("markLine") or {}).get("data", []) if "yAxis" in m]
            values = [float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
            low, high = (min(values), max(values)) if values else (0.0, 1.0)
            if not axis.get("scale") or bars:
                low, high = min(low, 0.0), max(high, 0.0)
            if high == low == 0.0 and (bars or not axis.get("scale")):  # nothing to show (no open complaints): 0 up,
                high = 1.0  # not -1 to 1
            elif high == low:
                pad = abs(high) * 0.1 or 1.0
                low, high = low - pad, high + pad
            if axis.get("min") is not None:
                low = float(axis["min"])
            if axis.get("max") is not None:
                high = float(axis["max"])
            step = float(axis.get("interval") or _nice_step(high - low))
            if axis.get("min") is None:
                low = math.floor(low / step + 1e-9) * step
            if axis.get("max") is None:
                high = math.ceil(high / step - 1e-9) * step
            self.scales[yi] = (low, high)
            axis["_step"] = step

    # ---- drawing
    def _text(self, x: float, y: float, text: str, *, size: float = 12, anchor: str = "middle", colour: str = _AXIS_TEXT,
              rotate: float = 0, bold: bool = False, dx: float = 0) -> None:
        style = f' font-size="{size:g}"' if size != 12 else ""
        style += f' fill="{colour}"' if colour != _AXIS_TEXT else ""
        style += f' text-anchor="{anchor}"' if anchor != "middle" else ""
        style += ' font-weight="bold"' if bold else ""
        body = escape(text)
        if rotate:  # turned about its own anchor: a nested svg puts the origin there
            self.out.append(f'<svg x="{x:.2f}%" y="{y:.1f}" width="1" height="1" style="overflow:visible">'
                            f'<text transform="rotate({-rotate:g})"{style}>{body}</text></svg>')
        else:
            shift = f' dx="{dx:g}"' if dx else ""
            self.out.append(f'<text x="{x:.2f}%" y="{y:.1f}"{shift}{style}>{body}</text>')

    def _line(self, x1: float, y1: float, x2: float, y2: float, colour: str, width: float = 1,
              dash: str | None = None) -> str:
        d = f' stroke-dasharray="{dash}"' if dash else ""
        w = f' stroke-width="{width:g}"' if width != 1 else ""
        return f'<line x1="{x1:.2f}%" y1="{y1:.1f}" x2="{x2:.2f}%" y2="{y2:.1f}" stroke="{colour}"{w}{d}/>'

    def _path(self, xi: int, xy: list[tuple[float, float] | None], colour: str, width: float, dash: str | None,
              stepped: bool) -> None:
        """A series' line as one path (a week of 30-minute intervals is 336 points: one element, not 336 lines), in
        a nested SVG whose x runs 0-100 across the chart's width and y in px; the stroke keeps its width and dashes in
        px however wide the chart is drawn. Stepped (plotly's shape "hv"), each value holds across its category's
        band, as a staffed interval does, and the line steps at the band's edge. A missing value breaks the line."""
        half = self._band(xi) / 2
        parts: list[str] = []
        previous = None
        for p in xy:
            if p is None:
                previous = None
                continue
            x, y = p
            if stepped:
                parts.append(f"M{x - half:.3f} {y:.1f}" if previous is None else f"V{y:.1f}")
                parts.append(f"H{x + half:.3f}")
            else:
                parts.append(f"{'M' if previous is None else 'L'}{x:.3f} {y:.1f}")
            previous = p
        if not parts:
            return
        d = f' stroke-dasharray="{dash}"' if dash else ""
        w = f' stroke-width="{width:g}"' if width != 1 else ""
        self.out.append(f'<svg width="100%" height="{self.h}" viewBox="0 0 100 {self.h}" preserveAspectRatio="none" '
                        f'style="overflow:visible"><path d="{"".join(parts)}" fill="none" stroke="{colour}"{w}{d} '
                        f'vector-effect="non-scaling-stroke" stroke-linejoin="round"/></svg>')

    def _ticks(self, yi: int) -> list[float]:
        """A value axis' ticks: its ends and the multiples of its step between them."""
        low, high = self.scales[yi]
        step = self.y_axes[yi]["_step"]
        inner = [k * step for k in range(math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9) + 1)]
        return sorted({low, high, *(round(v, 9) for v in inner if low - step * 1e-6 <= v <= high + step * 1e-6)})

    def _below(self) -> int:
        """Pixels below the figure's height that the lowest charts' x labels and axis names need (plotly's
        automargin): a chart grows rather than cuts them off."""
        need = 0.0
        for a in self.x_axes:
            g = self.grids[a.get("gridIndex", 0)]
            label = a.get("axisLabel") or {}
            size = label.get("fontSize") or 12
            longest = max((_text_px(str(c), size) for c in a.get("data") or []), default=0.0)
            text = longest * math.sin(math.radians(abs(label["rotate"]))) + 12 if label.get("rotate") else size + 10
            if a.get("name"):
                text = max(text, (a.get("nameGap") or 30) + 10)
            need = max(need, float(g["top"]) + float(g["height"]) + text)
        legend = 28 if "bottom" in (self.o.get("legend") or {}) else 0
        return max(0, math.ceil(need + legend - self.h))

    def _axes(self) -> None:
        for gi in range(len(self.grids)):
            self.out.append(f'<g class="grid" data-grid="{gi}">')
            for yi, axis in enumerate(self.y_axes):
                if axis.get("gridIndex", 0) == gi and axis.get("type") != "category" and \
                        (axis.get("splitLine") or {}).get("show", True) and yi in self.scales:
                    x0, x1, _, _ = self._grid_box(gi)
                    for v in self._ticks(yi):
                        y = self._y_of(yi, v)
                        self.out.append(self._line(x0, y, x1, y, _LINE))
            self.out.append("</g>")
        for yi, axis in enumerate(self.y_axes):
            x0, x1, top, bottom = self._grid_box(axis.get("gridIndex", 0))
            right = axis.get("position") == "right"
            label = axis.get("axisLabel") or {}
            size = label.get("fontSize") or 12
            edge, anchor, nudge = (x1, "start", 6) if right else (x0, "end", -6)
            if axis.get("type") == "category":
                self.out.append(f'<g class="y-axis" data-axis="{yi}" data-categories="{_json([str(c) for c in axis.get("data") or []])}">')
                for c in axis.get("data") or []:
                    row_top, row = self._y_cat(yi, c)
                    self._at_px(edge, nudge, row_top + row / 2, str(c), size, anchor)
                self.out.append("</g>")
            widest = max((_text_px(str(c), size) for c in axis.get("data") or []), default=0.0)
            if axis.get("type") != "category" and yi in self.scales:
                low, high = self.scales[yi]
                step = axis["_step"]
                for v in self._ticks(yi):
                    if (v == low and label.get("showMinLabel") is False) or (v == high and label.get("showMaxLabel") is False):
                        continue
                    text = _tick_text(v, step if abs(v / step - round(v / step)) < 1e-6 else step / 10, label.get("formatter"))
                    widest = max(widest, _text_px(text, size))
                    self._at_px(edge, nudge, self._y_of(yi, v), text, size, anchor)
            if axis.get("name"):
                name_size = (axis.get("nameTextStyle") or {}).get("fontSize") or 12
                gap = round(_name_gap(widest, name_size))  # beside the tick labels, not in the next chart's room
                self.out.append(f'<svg class="y-name" data-axis="{yi}" x="{edge:.2f}%" y="{(top + bottom) / 2:.1f}" '
                                f'width="1" height="1" style="overflow:visible"><text x="{gap if right else -gap}" '
                                f'transform="rotate(-90 {gap if right else -gap} 0)" font-size="{name_size:g}" '
                                f'fill="{_AXIS_TEXT}" text-anchor="middle" dominant-baseline="middle">'
                                f'{escape(str(axis["name"]))}</text></svg>')
        for xi, axis in enumerate(self.x_axes):
            x0, x1, _, bottom = self._grid_box(axis.get("gridIndex", 0))
            cats = [str(c) for c in axis.get("data") or []]
            label = axis.get("axisLabel") or {}
            size = label.get("fontSize") or 12
            rotate = label.get("rotate") or 0
            self.out.append(f'<g class="x-axis" data-axis="{xi}" data-type="{_attr(axis.get("type", "category"))}" '
                            f'data-categories="{_json(cats)}">')
            self.out.append(self._line(x0, bottom, x1, bottom, _AXIS_TEXT))
            every = 1
            if label.get("interval") != 0 and cats:  # skip labels that would overlap, as ECharts does
                room = self.w_px * (x1 - x0) / 100 / len(cats)
                # turned labels lie parallel: one needs a line's height across them, size / sin(angle) along the axis
                need = (size * 1.3 / math.sin(math.radians(min(90, abs(rotate)))) if rotate
                        else max(_text_px(c, size) for c in cats) + 6)
                every = math.ceil(need / max(room, 1))
                # a round step (a time axis' labels then fall on round hours: every 6 hours of 30-minute intervals)
                every = next((n for n in _LABEL_STEPS if n >= every), every)
            for i, c in enumerate(cats):
                if i % every:
                    continue
                x = self._x_of(xi, i)
                if rotate:
                    self._text(x, bottom + 8, c, size=size, anchor="end", rotate=rotate)
                else:
                    self._text(x, bottom + 6 + size * 0.6, c, size=size)
            self.out.append("</g>")
            if axis.get("name"):
                gap = axis.get("nameGap") or 30
                self._text((x0 + x1) / 2, bottom + gap, str(axis["name"]), size=(axis.get("nameTextStyle") or {}).get("fontSize") or 12)

    def _at_px(self, x_pct: float, dx: float, y: float, text: str, size: float, anchor: str) -> None:
        """Text a few pixels beside a percentage position (tick labels beside their axis)."""
        self._text(x_pct, y, text, size=size, anchor=anchor, dx=dx)

    def _hit(self, si: int, x: float, y: float, width: float | None, height: float, text: str) -> None:
        """A transparent box over a point, bar or cell whose title the browser shows on hover (an <img> has none)."""
        left = f"calc({x:.2f}% - {height / 2:g}px);width:{height:g}px" if width is None else f"{x:.2f}%;width:{width:.2f}%"
        self.hits.append(f'<i data-series="{si}" title="{_attr(text)}" style="left:{left};top:{y:.1f}px;'
                         f'height:{height:.1f}px"></i>')

    def _open_series(self, si: int, s: dict, colour: str, values: list) -> None:
        line = s.get("lineStyle") or {}
        attrs = {"data-index": si, "data-type": s.get("type"), "data-name": s.get("name") or "", "data-x-axis": s.get("xAxisIndex", 0),
                 "data-y-axis": s.get("yAxisIndex", 0), "data-dash": line.get("type") or "solid", "data-color": colour,
                 "data-symbol": int(bool(s.get("showSymbol", True)))}
        self.out.append('<g class="series" ' + " ".join(f'{k}="{_attr(v)}"' for k, v in attrs.items())
                        + f' data-values="{_json(values)}">')

    def _draw_line(self, si: int, s: dict) -> None:
        xi, yi = s.get("xAxisIndex", 0), s.get("yAxisIndex", 0)
        style = s.get("lineStyle") or {}
        colour = style.get("color") or (s.get("itemStyle") or {}).get("color") or _COLOURS[si % len(_COLOURS)]
        points = self._aligned(s)
        symbols = bool(s.get("showSymbol", True))
        self._open_series(si, s, colour, [y for y, _, _ in points])
        width = style.get("width", 2)
        dash = _DASHES.get(style.get("type") or "solid")
        xy = [(self._x_of(xi, i), self._y_of(yi, float(y))) if isinstance(y, (int, float)) else None
              for i, (y, _, _) in enumerate(points)]
        if width:
            self._path(xi, xy, colour, width, dash, stepped=s.get("step") == "end")
        level = {y for y, _, _ in points if y is not None}
        if not symbols and len(level) == 1 and any(xy) and points[0][1]:  # a reference line: its hover along it
            ends = [p for p in xy if p]
            self._hit(si, ends[0][0], ends[0][1] - 4, ends[-1][0] - ends[0][0], 8, points[0][1])
        if symbols:
            cats = self._categories(s)
            for i, (p, (y, text, _)) in enumerate(zip(xy, points)):
                if p:
                    self.out.append(f'<circle cx="{p[0]:.2f}%" cy="{p[1]:.1f}" r="3.5" fill="#ffffff" stroke="{colour}" '
                                    f'stroke-width="2"/>')
                    self._hit(si, p[0], p[1] - 7, None, 14, text or f"{cats[i]}: {y:g}")
        self._mark_lines(s, xi, yi)
        self.out.append("</g>")

    def _mark_lines(self, s: dict, xi: int, yi: int) -> None:
        x0, x1, top, bottom = self._grid_box(self.x_axes[xi].get("gridIndex", 0))
        for m in (s.get("markLine") or {}).get("data", []):
            style = m.get("lineStyle") or {}
            colour, dash, width = style.get("color") or PALETTE["guide"], _DASHES.get(style.get("type") or "dashed"), style.get("width", 1)
            if "yAxis" in m:
                y = self._y_of(yi, float(m["yAxis"]))
                self.out.append(f'<g class="mark" data-y="{m["yAxis"]}">' + self._line(x0, y, x1, y, colour, width, dash) + "</g>")
            elif "xAxis" in m:
                cats = self._categories(s)
                x = self._x_of(xi, cats.index(str(m["xAxis"]))) if str(m["xAxis"]) in cats else x0
                self.out.append(self._line(x, top, x, bottom, colour, width, dash))

    def _draw_bars(self, stacked: dict[int, list[tuple[float, float]]]) -> None:
        slots: dict[int, list] = {}  # x axis -> its bar slots (a stack or a lone series), in order
        for si, s in enumerate(self.series):
            if s.get("type") == "bar":
                key = s.get("stack") or f"own-{si}"
                slots.setdefault(s.get("xAxisIndex", 0), [])
                if key not in slots[s.get("xAxisIndex", 0)]:
                    slots[s.get("xAxisIndex", 0)].append(key)
        for si, s in enumerate(self.series):
            if s.get("type") != "bar":
                continue
            xi, yi = s.get("xAxisIndex", 0), s.get("yAxisIndex", 0)
            group = slots[xi]
            slot = group.index(s.get("stack") or f"own-{si}")
            band = self._band(xi)
            width = band * 0.7 / len(group)
            colour = (s.get("itemStyle") or {}).get("color") or _COLOURS[si % len(_COLOURS)]
            points = self._aligned(s)
            self._open_series(si, s, colour, [y for y, _, _ in points])
            cats = self._categories(s)
            if colour != "transparent":
                for i, ((y, text, extra), (base, top)) in enumerate(zip(points, stacked[si])):
                    if not isinstance(y, (int, float)) or (y == 0 and s.get("stack")):  # no hairline on a stack
                        continue
                    fill = (extra.get("itemStyle") or {}).get("color") or colour
                    if fill == "transparent":
                        continue
                    x = self._x_of(xi, i, 0) + band * 0.15 + slot * width
                    low, high = self.scales[yi]
                    ya, yb = (self._y_of(yi, min(high, max(low, v))) for v in (base, top))  # clipped to the range
                    hover = text or f"{cats[i]}: {y:g}" + (f" ({s['name']})" if s.get("name") else "")
                    self.out.append(f'<rect x="{x:.2f}%" y="{min(ya, yb):.1f}" width="{width:.2f}%" '
                                    f'height="{max(abs(ya - yb), 0.5):.1f}" fill="{fill}"/>')
                    self._hit(si, x, min(ya, yb), width, max(abs(ya - yb), 4), hover)
                    label = extra.get("label") or {}
                    if label.get("show"):
                        inside = label.get("position") == "inside"
                        self._text(x + width / 2, (ya + yb) / 2 if inside else min(ya, yb) - 8, str(label.get("formatter", y)),
                                   size=11, colour="#ffffff" if inside else _TITLE_TEXT)
            self._mark_lines(s, xi, yi)
            self.out.append("</g>")

    def _draw_heatmap(self, si: int, s: dict) -> None:
        xi, yi = s.get("xAxisIndex", 0), s.get("yAxisIndex", 0)
        vm = next((v for v in self.o.get("visualMap") or [] if v.get("seriesIndex") == si), None) or {}
        colours = (vm.get("inRange") or {}).get("color") or [PALETTE["light"], PALETTE["actual"]]
        low, high = float(vm.get("min", 0)), float(vm.get("max", 1))
        cells = s.get("data") or []
        self._open_series(si, s, colours[-1], [c[:3] for c in cells])
        cats = self._categories(s)
        band = self._band(xi)
        for c in cells:
            x, y, v = c[0], c[1], c[2]
            if str(x) not in cats:
                continue
            row_top, row = self._y_cat(yi, y)
            fill = _mix(colours, (float(v) - low) / (high - low) if high > low else 0.5)
            hover = c[3] if len(c) > 3 else f"{y} {x}: {v:g}"
            left = self._x_of(xi, cats.index(str(x)), 0)
            self.out.append(f'<rect x="{left:.2f}%" y="{row_top:.1f}" width="{band:.2f}%" height="{row:.1f}" '
                            f'fill="{fill}" stroke="#ffffff" stroke-width="0.5"/>')
            self._hit(si, left, row_top, band, row, str(hover))
        self.out.append("</g>")
        if vm.get("show") is False:  # a layer over another heat map (its pale cells) shares that one's scale
            return
        # the colour scale at the right edge, high at the top
        _, _, top, bottom = self._grid_box(self.x_axes[xi].get("gridIndex", 0))
        steps = 16
        span = (bottom - top) / steps
        for k in range(steps):
            self.out.append(f'<rect x="97%" y="{top + k * span:.1f}" width="2%" height="{span + 0.5:.1f}" '
                            f'fill="{_mix(colours, 1 - (k + 0.5) / steps)}"/>')
        text = vm.get("text") or [f"{high:g}", f"{low:g}"]
        self._text(98, max(top - 8, 6), str(text[0]), size=11)  # above the scale, inside the image
        self._text(98, bottom + 10, str(text[1]), size=11)

    def _draw_funnel(self, si: int, s: dict) -> None:
        data = s.get("data") or []
        top, bottom = float(s.get("top", 0)), self.h - float(s.get("bottom", 0))
        left, width = _pct(s.get("left", "10%")), _pct(s.get("width", "80%"))
        least = _pct(s.get("minSize", "0%")) / 100
        values = [d.get("value") for d in data]
        most = max([v for v in values if v] or [1])
        colour = (s.get("itemStyle") or {}).get("color") or PALETTE["actual"]
        self._open_series(si, s, colour, values)
        gap = float(s.get("gap", 0))
        row = (bottom - top - gap * (len(data) - 1)) / max(1, len(data))
        for i, d in enumerate(data):
            share = max(least, (d.get("value") or 0) / most)
            w = width * share
            y = top + i * (row + gap)
            label = (d.get("label") or {}).get("formatter") or d.get("name") or ""
            self.out.append(f'<rect x="{left + (width - w) / 2:.2f}%" y="{y:.1f}" width="{w:.2f}%" height="{row:.1f}" '
                            f'fill="{colour}"/>')
            self._hit(si, left + (width - w) / 2, y, w, row, label)
            self._text(left + width / 2, y + row / 2, label, size=12, colour=_TITLE_TEXT if share < 0.3 else "#ffffff")
        self.out.append("</g>")

    def _titles(self) -> None:
        for title in self.o.get("title") or []:
            style = title.get("textStyle") or {}
            size = style.get("fontSize") or 15
            left = title.get("left", 0)
            centred = title.get("textAlign") == "center"
            x = _pct(left) if isinstance(left, str) else 0.0
            self.out.append(f'<text class="title" x="{x:.2f}%" y="{float(title.get("top", 0)) + size * 0.8:.1f}" '
                            f'font-size="{size:g}" fill="{_TITLE_TEXT}" text-anchor="{"middle" if centred else "start"}"'
                            f'{" font-weight=" + chr(34) + "bold" + chr(34) if style.get("fontWeight") == "bold" else ""}>'
                            f"{escape(str(title.get('text', '')))}</text>")

    def _legend(self) -> str:
        legend = self.o.get("legend")
        if not legend:
            return ""
        entries: dict[str, str] = {}
        for si, s in enumerate(self.series):
            name = s.get("name")
            colour = (s.get("lineStyle") or {}).get("color") or (s.get("itemStyle") or {}).get("color") or _COLOURS[si % len(_COLOURS)]
            if name and colour != "transparent":
                entries.setdefault(name, colour)
        if "bottom" in legend:
            place = "bottom:0;left:0;right:0;justify-content:center"
        elif legend.get("orient") == "vertical":
            place = f"top:{legend.get('top', 0)}px;right:0;flex-direction:column"
        else:
            place = "top:0;right:0"
        items = "".join(f'<span style="display:inline-flex;align-items:center;gap:4px">'
                        f'<span style="width:14px;height:8px;background:{c};display:inline-block"></span>{escape(n)}</span>'
                        for n, c in entries.items())
        return (f'<div class="kpi-legend" style="position:absolute;{place};display:flex;gap:12px;font-size:12px;'
                f'color:{_AXIS_TEXT}">{items}</div>')

    def svg(self) -> str:
        stacked = self._stacked()
        self._fit_scales(stacked)
        self.left_px = self._left_room()
        self._titles()
        if self.grids:
            self._axes()
        self._draw_bars(stacked)  # lines over bars (a pareto's cumulative line)
        for si, s in enumerate(self.series):
            kind = s.get("type")
            if kind == "line":
                self._draw_line(si, s)
            elif kind == "heatmap":
                self._draw_heatmap(si, s)
            elif kind == "funnel":
                self._draw_funnel(si, s)
            elif kind != "bar":
                raise NotConvertible(f"no SVG drawing for {kind!r} series")
        titles = [t.get("text") for t in self.o.get("title") or [] if t.get("text")]
        self.h += self._below()
        # text defaults (a label is 12 px, grey, centred on its point) inherited from the root: fewer bytes per label
        svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" height="{self.h}" font-family="Noto Sans CJK TC, '
               f'Noto Sans CJK, sans-serif" font-size="12" fill="{_AXIS_TEXT}" text-anchor="middle" '
               f'dominant-baseline="middle"><svg x="{self.left_px}" height="{self.h}" width="calc(100% - '
               f'{self.left_px + self.right_px}px)" style="overflow:visible">{"".join(self.out)}</svg></svg>')
        # An image: st.html keeps HTML only (its sanitiser drops inline <svg>), and an <img> costs no script at all.
        # Percent-encoded only what a data URL in a single-quoted attribute cannot hold raw; the browser does the rest.
        src = "data:image/svg+xml;charset=utf-8," + svg.translate(_URL_ESCAPES)
        return (f'<div class="kpi-chart" style="position:relative;height:{self.h}px">'
                f"<img src='{src}' alt=\"{_attr(titles[0] if titles else '')}\" "
                f'style="width:100%;height:{self.h}px;display:block">'
                f'<div class="kpi-hits" style="position:absolute;top:0;left:{self.left_px}px;right:{self.right_px}px;'
                f'height:{self.h}px">{"".join(self.hits)}</div>{self._legend()}</div>')


def svg_chart(option: dict[str, Any], height: int, width_px: int = 1100) -> str:
    """The chart an ECharts option describes, as an HTML block holding one inline SVG `height` pixels tall that fills
    its column's width; width_px is about how wide it will be (to skip x labels that would overlap)."""
    return _Chart(option, height, width_px).svg()
