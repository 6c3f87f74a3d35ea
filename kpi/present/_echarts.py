"""A plotly figure as an Apache ECharts option, for the pages (no streamlit here).

Every chart is built once, as a plotly figure; the PDF reports draw those with kaleido. A page draws them with ECharts:
Streamlit's plotly.js bundle (4.7 MB) is loaded and evaluated by every new browser session and draws slowly, ECharts
(1.2 MB) draws the same charts in a fraction of the time (docs/benchmarks.md, browser). Only what the dashboard's
figures use is translated: line, bar, heatmap, funnel and waterfall traces, subplot grids, a second y axis, horizontal
and vertical reference lines, titles, axis titles, tick prefixes and suffixes, ranges and legends. A trace or shape it
does not know raises NotConvertible, so a new kind of chart fails in the page tests instead of drawing wrong.
"""
from __future__ import annotations

import base64
import math
import re
import unicodedata
from typing import Any

import numpy as np
import plotly.colors
import plotly.graph_objects as go

from ._charts import PALETTE

__all__ = ["NotConvertible", "echarts_option", "figure_height"]

DEFAULT_HEIGHT = 450  # plotly's
_TITLE_PX, _SUBTITLE_PX, _LEGEND_PX, _AXIS_TITLE_PX, _PAD_PX = 34, 26, 30, 20, 12
_DASH = {"dash": "dashed", "longdash": "dashed", "dashdot": "dashed", "dot": "dotted", "solid": "solid", None: "solid"}
_FORMAT = re.compile(r"%\{(?P<var>[a-z]+)(?:\[(?P<index>\d+)\])?(?::(?P<fmt>[^}]*))?\}")


class NotConvertible(ValueError):
    """The figure holds something the ECharts translation does not know."""


def figure_height(fig: go.Figure) -> int:
    """The figure's height in pixels (plotly's default when unset)."""
    return int(fig.layout.height or DEFAULT_HEIGHT)


def echarts_option(fig: go.Figure) -> dict[str, Any]:
    """The ECharts option that draws `fig`: the same series, colours, reference lines, titles and axes."""
    # The figure's own plain dicts, read and never written: to_plotly_json() would deep-copy them and encode every
    # array as base64 first, a third of a page's chart time; _array reads numpy arrays, lists and base64 alike.
    return _Translation(fig._data, fig._layout).option()  # noqa: SLF001  (plotly pinned in requirements.txt)


# ---------------------------------------------------------------- values

def _get(d: dict | None, path: str, default: Any = None) -> Any:
    """d["a"]["b"] for "a.b", or default where a level is missing."""
    for key in path.split("."):
        if not isinstance(d, dict) or key not in d:
            return default
        d = d[key]
    return d


def _array(v: Any) -> Any:
    """A plotly array as numpy or a list: plotly 7 sends numbers as typed base64 ({"dtype", "bdata", "shape"})."""
    if isinstance(v, dict) and "bdata" in v:
        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
        shape = v.get("shape")
        return a.reshape([int(n) for n in str(shape).split(",")]) if shape else a
    return v


def _plain(v: Any) -> Any:
    """A JSON value: numpy scalars to Python, NaN and None to None."""
    if v is None:
        return None
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def _values(v: Any) -> list:
    v = _array(v)
    return [] if v is None else [_plain(x) for x in v]


def _label(v: Any) -> str:
    v = _plain(v)
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return "" if v is None else str(v)


def _number(v: Any, fmt: str | None) -> str:
    """A value as plotly's hover writes it for a d3 format we use (".1f", ",.0f"); anything else as text."""
    if v is None:
        return ""
    m = re.fullmatch(r"(,)?\.(\d+)f", fmt or "")
    if m and isinstance(v, (int, float)):
        return f"{v:{',' if m.group(1) else ''}.{m.group(2)}f}"
    return _label(v)


def _hover(template: str, point: dict[str, Any]) -> str:
    """A hovertemplate filled for one point (%{x}, %{y:.1f}, %{customdata}, %{customdata[0]}), as plotly shows it."""
    def fill(m: re.Match) -> str:
        v = point.get(m.group("var"))
        if m.group("index") is not None and isinstance(v, (list, tuple)):
            v = v[int(m.group("index"))]
        return _number(_plain(v), m.group("fmt"))
    return _FORMAT.sub(fill, template.split("<extra>")[0])


def _hover_texts(trace: dict, n: int, xs: list[str], ys: list) -> list[str] | None:
    """Each point's hover text from the trace's hovertemplate, or None when it has none."""
    template = trace.get("hovertemplate")
    if not template:
        return None
    custom = _values(trace.get("customdata")) if trace.get("customdata") is not None else [None] * n
    return [_hover(template, {"x": x, "y": y, "customdata": c}) for x, y, c in zip(xs, ys, custom)]


def _colours(scale: Any) -> list[str]:
    """A plotly colour scale (a name or [[position, colour], ...]) as its colours, low to high."""
    steps = plotly.colors.get_colorscale(scale) if isinstance(scale, str) else scale
    return [c for _, c in steps]


def _crowded(labels: list[str], share: float) -> bool:
    """Would category labels overlap side by side? Plotly turns them then; ECharts would drop every other one.

    About 7 px per half-width character, two for a Chinese one, and a gap between labels, in a plotting area about
    440 px wide (half a page at 1,500 px, less the value axis)."""
    width = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for lab in labels for ch in lab) + 2 * len(labels)
    return len(labels) > 4 and width * 7 > share * 440


# ---------------------------------------------------------------- the translation

class _Translation:
    def __init__(self, data: list[dict], layout: dict):
        self.data, self.layout = data, layout
        self.height = int(layout.get("height") or DEFAULT_HEIGHT)
        self.series: list[dict] = []
        self.x_ids: list[str] = []  # axis references in order of first use: "x", "x2", ...
        self.y_ids: list[str] = []
        self.x_cats: dict[str, list[str]] = {}  # x axis -> its categories, in order of first appearance
        self.y_cats: dict[str, list[str]] = {}  # y axes of heat maps
        self.visual_maps: list[dict] = []
        self.item_tooltip = False
        self.named = 0

    # ---- axes
    def _layout_axis(self, ref: str) -> dict:
        """layout.xaxis2 for reference "x2"."""
        return self.layout.get(f"{ref[0]}axis{ref[1:]}") or {}

    def _x(self, ref: str | None) -> int:
        ref = ref or "x"
        if ref not in self.x_ids:
            self.x_ids.append(ref)
            self.x_cats[ref] = []
        return self.x_ids.index(ref)

    def _y(self, ref: str | None) -> int:
        ref = ref or "y"
        if ref not in self.y_ids:
            self.y_ids.append(ref)
        return self.y_ids.index(ref)

    def _categories(self, ref: str | None, xs: Any) -> list[str]:
        labels = [_label(x) for x in _values(xs)]
        known = self.x_cats[ref or "x"]
        known.extend(lab for lab in dict.fromkeys(labels) if lab not in known)
        return labels

    # ---- the option
    def option(self) -> dict[str, Any]:
        for trace in self.data:
            handler = getattr(self, f"_{trace.get('type', 'scatter')}", None)
            if handler is None:
                raise NotConvertible(f"no ECharts translation for plotly {trace.get('type')!r} traces")
            handler(trace)
        self._reference_lines()
        for s in self.series:  # series on a category axis, aligned to all its categories once every trace is read
            if "_x" in s:
                by_x = dict(zip(s.pop("_x"), s["data"]))
                s["data"] = [by_x.get(c) for c in self.x_cats[s.pop("_xref")]]
        option: dict[str, Any] = {"animation": False, "series": self.series, **self._grids_and_axes()}
        titles = self._titles()
        if titles:
            option["title"] = titles
        if self.visual_maps:
            option["visualMap"] = self.visual_maps
        option["tooltip"] = {"trigger": "item" if self.item_tooltip else "axis", "confine": True}
        if self._legend_shown():
            if self._legend_above():
                option["legend"] = {"top": 0, "right": 0, "type": "scroll"}
            elif self._legend_below():
                option["legend"] = {"bottom": 0, "type": "scroll"}
            else:
                option["legend"] = {"right": 0, "top": _TITLE_PX, "orient": "vertical"}
        return option

    def _series(self, trace: dict, kind: str) -> dict[str, Any]:
        """A series on the trace's axes, named for the legend and the tooltip."""
        s: dict[str, Any] = {"type": kind, "xAxisIndex": self._x(trace.get("xaxis")), "yAxisIndex": self._y(trace.get("yaxis"))}
        if trace.get("name"):
            s["name"] = trace["name"]
            if trace.get("showlegend") is not False:
                self.named += 1
        return s

    def _points(self, s: dict, trace: dict, xs: list[str], data: list, hover_ys: list | None = None) -> None:
        """The series' data: values aligned on the categories later; or, when the trace has a hovertemplate, items
        [x, y, hover text] (ECharts places them by category name) and a tooltip that shows the text."""
        ys = hover_ys if hover_ys is not None else [d["value"] if isinstance(d, dict) else d for d in data]
        texts = _hover_texts(trace, len(xs), xs, ys)
        if texts is None:
            s.update(data=data, _x=xs, _xref=trace.get("xaxis") or "x")
            return
        s["data"] = [({**d, "value": [x, d["value"], text]} if isinstance(d, dict) else [x, d, text])
                     for x, d, text in zip(xs, data, texts)]
        s["encode"] = {"x": 0, "y": 1}
        s["tooltip"] = {"formatter": "{@[2]}"}
        self.item_tooltip = True

    def _scatter(self, trace: dict) -> None:
        s = self._series(trace, "line")
        mode = trace.get("mode") or "lines+markers"
        line = {"type": _DASH.get(_get(trace, "line.dash"), "dashed")}
        colour = _get(trace, "line.color") or (_get(trace, "marker.color") if isinstance(_get(trace, "marker.color"), str) else None)
        if colour:
            line["color"] = colour
            s["itemStyle"] = {"color": colour}
        if _get(trace, "line.width") is not None:
            line["width"] = _get(trace, "line.width")
        if "lines" not in mode:
            line["width"] = 0
        s.update(lineStyle=line, showSymbol="markers" in mode)
        if _get(trace, "line.shape") == "hv":  # a value that holds until the next (agents per interval)
            s["step"] = "end"
        self._points(s, trace, self._categories(trace.get("xaxis"), trace.get("x")), _values(trace.get("y")))
        self.series.append(s)

    def _bar(self, trace: dict) -> None:
        if trace.get("orientation") == "h":
            raise NotConvertible("horizontal bars are not translated")
        s = self._series(trace, "bar")
        xs = self._categories(trace.get("xaxis"), trace.get("x"))
        data: list = _values(trace.get("y"))
        colour = _get(trace, "marker.color")
        if isinstance(colour, str):
            s["itemStyle"] = {"color": colour}
        elif colour is not None:  # a colour per bar
            data = [{"value": y, "itemStyle": {"color": c}} for y, c in zip(data, _values(colour))]
        text = trace.get("text")
        if text is not None and not isinstance(text, str):  # plotly writes a bar's text only when it is given
            position = "top" if trace.get("textposition") == "outside" else "inside"
            data = [(d if isinstance(d, dict) else {"value": d}) | {"label": {"show": True, "position": position, "formatter": str(t)}}
                    for d, t in zip(data, _values(text))]
        if self.layout.get("barmode") == "stack":
            s["stack"] = f"stack-{trace.get('xaxis') or 'x'}"
        self._points(s, trace, xs, data)
        self.series.append(s)

    def _heatmap(self, trace: dict) -> None:
        s = self._series(trace, "heatmap")
        z = _array(trace.get("z"))
        template = trace.get("hovertemplate")
        xs = [_label(x) for x in (_values(trace["x"]) if trace.get("x") is not None else range(len(z[0])))]
        ys = [_label(y) for y in (_values(trace["y"]) if trace.get("y") is not None else range(len(z)))]
        self.x_cats[self.x_ids[s["xAxisIndex"]]] = xs
        self.y_cats[self.y_ids[s["yAxisIndex"]]] = ys
        custom = _array(trace.get("customdata"))
        cells = []  # [x, y, value(, hover text)]: category labels, which a tooltip template can read
        for j, row in enumerate(z):
            for i, v in enumerate(row):
                v = _plain(v)
                if v is None:
                    continue
                cell = [xs[i], ys[j], v]
                if template:
                    c = custom[j][i] if custom is not None else None
                    cell.append(_hover(template, {"x": xs[i], "y": ys[j], "z": v, "customdata": c}))
                cells.append(cell)
        s["data"] = cells
        values = [c[2] for c in cells]
        low = _plain(trace.get("zmin")) if trace.get("zmin") is not None else min(values, default=0)
        high = _plain(trace.get("zmax")) if trace.get("zmax") is not None else max(values, default=1)
        self.visual_maps.append({"type": "continuous", "min": low, "max": high, "seriesIndex": len(self.series),
                                 "show": trace.get("showscale") is not False,  # a second layer shares the first's
                                 "dimension": 2, "calculable": False, "orient": "vertical", "right": 0,
                                 "top": "middle", "itemHeight": max(60, self.height - 140),
                                 "text": [f"{_get(trace, 'colorbar.tickprefix') or ''}{_label(round(v, 1))}"
                                          f"{_get(trace, 'colorbar.ticksuffix') or ''}" for v in (high, low)],
                                 "inRange": {"color": _colours(trace.get("colorscale") or "Plasma")}})
        if template:
            s["tooltip"] = {"formatter": "{@[3]}"}
        self.item_tooltip = True
        self.series.append(s)

    def _funnel(self, trace: dict) -> None:
        values, stages = _values(trace.get("x")), [_label(y) for y in _values(trace.get("y"))]
        first = values[0] if values and values[0] else None
        data = []
        for stage, v in zip(stages, values):  # plotly names the stages on an axis beside the funnel; here inside it
            label = f"{stage}  " + (f"{v:,}" if v is not None else "—")
            if "percent initial" in (trace.get("textinfo") or "") and first and v is not None:
                label += f" ({v / first:.0%})"
            data.append({"name": stage, "value": v, "label": {"formatter": label}})
        colour = _get(trace, "marker.color")
        self.series.append({"type": "funnel", "sort": "none", "data": data, "top": self._top_px(), "bottom": _PAD_PX,
                            "left": "10%", "width": "80%", "minSize": "8%", "gap": 2,
                            "itemStyle": {"color": colour if isinstance(colour, str) else PALETTE["actual"]},
                            "label": {"show": True, "position": "inside"}})
        self.item_tooltip = True

    def _waterfall(self, trace: dict) -> None:
        """Stacked bars on an invisible base: each step runs from the running total to the next."""
        x_index, y_index = self._x(trace.get("xaxis")), self._y(trace.get("yaxis"))
        xs = self._categories(trace.get("xaxis"), trace.get("x"))
        total, base, shown, colours = 0.0, [], [], []
        steps = _values(trace.get("y"))
        step_colours = iter(_get(trace, "meta.step_colours") or ())  # one per relative step: by status, not direction
        for measure, v in zip(_values(trace.get("measure")), steps):
            v = v or 0.0
            if measure == "relative":
                start, total = total, total + v
                colour = next(step_colours, None) or _get(
                    trace, "increasing.marker.color" if v >= 0 else "decreasing.marker.color")
            else:  # "absolute" sets the total, "total" shows it
                start, total = 0.0, (v if measure == "absolute" else total)
                colour = _get(trace, "totals.marker.color")
            base.append(min(start, total))
            shown.append(abs(total - start))
            colours.append(colour)
        common = {"type": "bar", "stack": f"waterfall-{trace.get('xaxis') or 'x'}", "xAxisIndex": x_index,
                  "yAxisIndex": y_index}
        self.series.append(common | {"data": base, "_x": xs, "_xref": trace.get("xaxis") or "x", "silent": True,
                                     "itemStyle": {"color": "transparent"}, "emphasis": {"disabled": True},
                                     "tooltip": {"show": False}})
        steps_shown = dict(common)
        self._points(steps_shown, trace, xs, [{"value": v, "itemStyle": {"color": c}} if c else v
                                             for v, c in zip(shown, colours)], hover_ys=steps)
        self.series.append(steps_shown)

    # ---- reference lines (add_hline / add_vline)
    def _reference_lines(self) -> None:
        for shape in self.layout.get("shapes") or ():
            if shape.get("type") != "line":
                raise NotConvertible(f"no ECharts translation for {shape.get('type')!r} shapes")
            xref, yref = shape.get("xref") or "x", shape.get("yref") or "y"
            line = {"type": _DASH.get(_get(shape, "line.dash"), "dashed"), "color": _get(shape, "line.color") or PALETTE["guide"]}
            if _get(shape, "line.width") is not None:
                line["width"] = _get(shape, "line.width")
            if shape.get("y0") == shape.get("y1") and ("domain" in xref or xref == "paper"):  # across the plot
                target, mark = self._series_on(y=yref.split()[0]), {"yAxis": _plain(shape["y0"])}
            elif shape.get("x0") == shape.get("x1") and ("domain" in yref or yref == "paper"):  # top to bottom
                target, mark = self._series_on(x=xref.split()[0]), {"xAxis": _label(shape["x0"])}
            else:
                raise NotConvertible("only horizontal and vertical reference lines are translated")
            target.setdefault("markLine", {"symbol": "none", "silent": True, "label": {"show": False}, "data": []})
            target["markLine"]["data"].append(mark | {"lineStyle": line})

    def _series_on(self, *, x: str | None = None, y: str | None = None) -> dict:
        for s in self.series:
            if "xAxisIndex" in s and (y is None or self.y_ids[s["yAxisIndex"]] == y) and (
                    x is None or self.x_ids[s["xAxisIndex"]] == x):
                return s
        raise NotConvertible(f"a reference line on an axis without series ({x or y})")

    # ---- layout
    def _top_px(self) -> int:
        """Where the plotting area starts: below the padding and the figure's title (a legend above shares its row)."""
        above = self._legend_shown() and self._legend_above()
        return _PAD_PX + (_TITLE_PX if _get(self.layout, "title.text") or above else 0)

    def _bottom_px(self) -> int:
        legend = _LEGEND_PX if self._legend_shown() and self._legend_below() else 0
        titled = any(_get(self._layout_axis(ref), "title.text") for ref in self.x_ids)
        return _PAD_PX + legend + (_AXIS_TITLE_PX if titled else 0)

    def _subplot_titles(self) -> list[dict]:
        return [a for a in self.layout.get("annotations") or ()
                if a.get("xref") == "paper" and a.get("yref") == "paper" and a.get("text")]

    def _legend_shown(self) -> bool:
        shown = self.layout.get("showlegend")
        return shown is not False and (self.named >= 2 or (shown is True and self.named >= 1))

    def _legend_below(self) -> bool:
        return _get(self.layout, "legend.orientation") == "h" and not self._legend_above()

    def _legend_above(self) -> bool:
        """A horizontal legend placed above the plot (y >= 1), beside the title."""
        return _get(self.layout, "legend.orientation") == "h" and (_get(self.layout, "legend.y") or 0) >= 1

    def _domains(self, x_ref: str) -> tuple[list, list]:
        """The (x, y) domains, 0-1 of the plotting area, of the subplot whose x axis is x_ref."""
        xa = self._layout_axis(x_ref)
        anchor = xa.get("anchor") if xa.get("anchor") not in (None, "free") else "y" + x_ref[1:]
        return xa.get("domain") or [0, 1], self._layout_axis(anchor).get("domain") or [0, 1]

    def _grids_and_axes(self) -> dict[str, Any]:
        if not self.x_ids:  # a funnel has no axes
            return {}
        top = self._top_px()
        plot = self.height - top - self._bottom_px()
        sub = _SUBTITLE_PX if self._subplot_titles() else 0  # room above each grid for its subplot title
        right = 8 if self.visual_maps else 0  # room for a heat map's colour scale
        grids, x_axes, y_axes = [], [], []
        for ref in self.x_ids:
            (x0, x1), (y0, y1) = self._domains(ref)
            # As in plotly, tick labels and axis titles go into the margins and the spacing between subplots.
            grids.append({"left": f"{x0 * 100:.1f}%", "right": f"{(1 - x1) * 100 + right:.1f}%",
                          "top": round(top + (1 - y1) * plot + sub), "height": round((y1 - y0) * plot - sub)})
            axis = {"type": "category", "gridIndex": len(grids) - 1, "data": self.x_cats[ref],
                    **self._axis_style(self._layout_axis(ref), vertical=False)}
            label = axis.setdefault("axisLabel", {})
            if "rotate" not in label and _crowded(self.x_cats[ref], x1 - x0):
                label["rotate"] = 30
            if len(self.x_cats[ref]) <= 16:  # plotly labels every category; ECharts would skip some
                label["interval"] = 0
            x_axes.append(axis)
        for ref in self.y_ids:
            ya = self._layout_axis(ref)
            base = ya.get("overlaying") if ya.get("overlaying") not in (None, "free") else ref
            base_axis = self._layout_axis(base)
            x_ref = base_axis.get("anchor") if base_axis.get("anchor") not in (None, "free") else "x" + base[1:]
            grid = self.x_ids.index(x_ref) if x_ref in self.x_ids else 0
            if ref in self.y_cats:
                axis = {"type": "category", "gridIndex": grid, "data": self.y_cats[ref]}
            else:
                bars = any(s["type"] == "bar" and self.y_ids[s["yAxisIndex"]] == ref for s in self.series)
                # plotly's autorange fits lines to their data; bars stand on zero
                axis = {"type": "value", "gridIndex": grid, "scale": not bars and ya.get("rangemode") != "tozero"}
            if ya.get("side") == "right":
                axis["position"] = "right"
            axis.update(self._axis_style(ya, vertical=True))
            if ya.get("overlaying"):
                axis.setdefault("splitLine", {"show": False})
            y_axes.append(axis)
        return {"grid": grids, "xAxis": x_axes, "yAxis": y_axes}

    @staticmethod
    def _axis_style(a: dict, vertical: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        label: dict[str, Any] = {}
        if a.get("tickangle") is not None:
            label["rotate"] = -a["tickangle"]
        if _get(a, "tickfont.size"):
            label["fontSize"] = _get(a, "tickfont.size")
        if a.get("tickprefix") or a.get("ticksuffix"):
            label["formatter"] = f"{a.get('tickprefix') or ''}{{value}}{a.get('ticksuffix') or ''}"
        if _get(a, "title.text"):
            out.update(name=_get(a, "title.text"), nameLocation="middle", nameGap=48 if vertical else 30,
                       nameRotate=90 if vertical else 0)
            if _get(a, "title.font.size"):
                out["nameTextStyle"] = {"fontSize": _get(a, "title.font.size")}
        if a.get("range") is not None:  # plotly labels round ticks inside a range; ECharts would also label its ends
            low, high = _values(a["range"])
            out.update(min=low, max=high)
            label.update(showMinLabel=False, showMaxLabel=False)
        if a.get("rangemode") == "tozero":
            out["min"] = 0
        if a.get("autorange") == "reversed":
            out["inverse"] = True
        if a.get("showgrid") is False:
            out["splitLine"] = {"show": False}
        if isinstance(a.get("dtick"), (int, float)) and not isinstance(a.get("dtick"), bool):  # count_axis: ticks
            out["interval"] = float(a["dtick"])  # a fixed step apart (whole numbers)
        ticks = _values(a.get("tickvals"))
        steps = {round(b - a_, 9) for a_, b in zip(ticks, ticks[1:])}
        if len(steps) == 1:  # evenly spaced tick values: the same interval
            out["interval"] = steps.pop()
        if label:
            out["axisLabel"] = label
        return out

    def _titles(self) -> list[dict[str, Any]]:
        titles = []
        if _get(self.layout, "title.text"):
            titles.append({"text": _get(self.layout, "title.text"), "left": 0, "top": 0,
                           "textStyle": {"fontSize": 15, "fontWeight": "bold"}})
        top = self._top_px()
        plot = self.height - top - self._bottom_px()
        for a in self._subplot_titles():
            titles.append({"text": a["text"], "left": f"{a['x'] * 100:.1f}%", "textAlign": "center",
                           "top": round(top + (1 - a["y"]) * plot), "textStyle": {"fontSize": 13}})
        return titles
