"""kpi.present.svg_chart: an ECharts option drawn as a static SVG image, read back through tests/helpers.read_svg_chart."""
from __future__ import annotations

import re

import plotly.graph_objects as go
import pytest

from kpi.present import echarts_option, svg_chart
from helpers import read_svg_chart

SVG = "{http://www.w3.org/2000/svg}"


def drawn(fig: go.Figure, height: int = 300) -> dict:
    return read_svg_chart(svg_chart(echarts_option(fig), height))


def rects(series: dict) -> list[tuple[float, float]]:
    """Each bar's or cell's (top, bottom) in pixels."""
    return [(float(r.get("y")), float(r.get("y")) + float(r.get("height"))) for r in series["element"].iter(f"{SVG}rect")]


def test_bars_stand_on_one_baseline_and_reach_their_values():
    chart = drawn(go.Figure(go.Bar(x=["a", "b"], y=[1, 3])).update_layout(height=300))
    (bar,) = chart["series"]
    assert chart["xAxis"] == [{"type": "category", "data": ["a", "b"]}] and bar["data"] == [1, 3]
    (top_a, base_a), (top_b, base_b) = rects(bar)
    # the axis runs 0-3 (ticks 0, 1, 2, 3): bar b is the whole plot height, bar a a third of it
    assert base_a == base_b and (base_a - top_a) * 3 == pytest.approx(base_b - top_b)
    ticks = [t.text for t in chart["svg"].iter(f"{SVG}text") if re.fullmatch(r"\d", t.text or "")]
    assert ticks == ["0", "1", "2", "3"]


def test_stacked_bars_pile_up():
    fig = go.Figure([go.Bar(x=["a", "b"], y=[1, 2], name="open"), go.Bar(x=["a", "b"], y=[3, 4], name="past due")])
    first, second = drawn(fig.update_layout(barmode="stack", height=300))["series"]
    for (top1, base1), (top2, base2) in zip(rects(first), rects(second)):
        assert base2 == pytest.approx(top1) and base1 > top1 > top2  # the second stands on the first
    # the piles are 1+3 and 2+4 units tall, in the same pixels per unit
    (a1, a0), (b1, b0) = rects(first)
    (a3, _), (b3, _) = rects(second)
    assert (a0 - a3) / 4 == pytest.approx((b0 - b3) / 6)


def test_points_and_reference_lines_carry_their_hover_texts():
    fig = go.Figure([go.Scatter(x=["W1", "W2"], y=[70, 90], mode="lines+markers", hovertemplate="%{x}: %{y}%<extra></extra>"),
                     go.Scatter(x=["W1", "W2"], y=[80, 80], mode="lines", line=dict(dash="dash", color="#c0392b"),
                                hovertemplate="目標: 80%<extra></extra>")])
    data, target = drawn(fig)["series"]
    assert data["hovers"] == ["W1: 70%", "W2: 90%"] and data["showSymbol"]
    assert target["hovers"] == ["目標: 80%"] and target["lineStyle"] == {"type": "dashed", "color": "#c0392b"}
    assert target["data"] == [80, 80] and not target["showSymbol"]


def test_heat_map_cells_take_their_colour_from_the_scale():
    fig = go.Figure(go.Heatmap(z=[[0, 5, 10]], x=["0", "1", "2"], y=["一"], zmin=0, zmax=10,
                               colorscale=[[0, "#000000"], [1, "#ffffff"]]))
    (heat,) = drawn(fig)["series"]
    assert heat["data"] == [["0", "一", 0], ["1", "一", 5], ["2", "一", 10]]
    # 5 of 0-10 is half way from black to white: 127.5 rounds to 128 (0x80)
    assert [r.get("fill") for r in heat["element"].iter(f"{SVG}rect")] == ["#000000", "#808080", "#ffffff"]


def test_text_that_a_data_url_or_attribute_cannot_hold_raw_reads_back_unchanged():
    odd = "A&B <x> 100% #1 'q\" 客訴"
    html = svg_chart(echarts_option(go.Figure(go.Bar(x=[odd, "b"], y=[1, 2]))), 300)
    src = re.search(r"<img src='([^']*)'", html).group(1)
    assert not set("&#'") & set(src.removeprefix("data:image/svg+xml;charset=utf-8,"))
    assert read_svg_chart(html)["xAxis"][0]["data"] == [odd, "b"]


def test_a_heat_maps_long_row_names_get_their_room_left_of_the_plot():
    fig = go.Figure(go.Heatmap(z=[[1, 2]], x=["a", "b"], y=["帳務服務組"]))
    inner = next(e for e in drawn(fig)["svg"] if e.tag == f"{SVG}svg")  # the plots' own area
    assert inner.get("x") == "72"  # five Chinese characters of 12 px and 12 px beside the axis; 56 by default
    short = next(e for e in drawn(go.Figure(go.Heatmap(z=[[1, 2]], x=["a", "b"], y=["一"])))["svg"] if e.tag == f"{SVG}svg")
    assert short.get("x") == "56"


def x_labels(chart: dict) -> list[str]:
    """The x axis' labels drawn (turned ones sit in their own nested svg)."""
    (axis,) = [g for g in chart["svg"].iter(f"{SVG}g") if g.get("class") == "x-axis"]
    return [t.text for t in axis.iter(f"{SVG}text")]


def test_turned_x_labels_are_thinned_so_they_do_not_overlap():
    # A week of 30-minute intervals (336) across a full-width chart (drawn for 1,100 px): 3.27 px each. Labels
    # turned 30 degrees lie parallel, a line (12 px x 1.3 = 15.6 px) apart across them, so 15.6 / sin 30 = 31.2 px
    # along the axis: every 9.5 labels, rounded up to a round step, 12 (every 6 hours: 00:00, 06:00 ...). It was
    # every 5th (15.6 px along the axis: overlapping, at 02:30, 05:00 ...).
    labels = [f"週{'一二三四五六日'[i // 48]} 11-{16 + i // 48} {i % 48 // 2:02d}:{i % 2 * 30:02d}" for i in range(336)]
    chart = drawn(go.Figure(go.Scatter(x=labels, y=list(range(336)), mode="lines")).update_layout(
        height=340, margin=dict(l=10, r=10, t=30, b=10)))
    shown = x_labels(chart)
    assert shown[:3] == ["週一 11-16 00:00", "週一 11-16 06:00", "週一 11-16 12:00"] and len(shown) == 28


def test_a_value_axis_name_gets_its_room_left_of_the_tick_labels():
    # "3,150" in 12 px is about 35 px wide; the name's line beside it at 10 px, 14.4 px tall and 4 to spare: 64 px,
    # more than the 56 px left of the plot by default, which cut the name "NT$（萬）" in half.
    fig = go.Figure(go.Bar(x=["a", "b"], y=[3100, 3150])).update_layout(yaxis=dict(title="NT$（萬）", range=[3050, 3200]),
                                                                          height=300)
    chart = drawn(fig)
    inner = next(e for e in chart["svg"] if e.tag == f"{SVG}svg")
    assert chart["yAxis"][0]["name"] == "NT$（萬）" and int(inner.get("x")) == 64
    assert next(e for e in drawn(go.Figure(go.Bar(x=["a"], y=[3])))["svg"] if e.tag == f"{SVG}svg").get("x") == "56"


def test_an_all_zero_chart_runs_from_zero_up_and_draws_no_bar():
    # Nothing open: the axis runs 0-1, not -1 to 1 (a count below zero), and a zero is no hairline on the baseline.
    fig = go.Figure([go.Bar(x=["≤1", "1-3"], y=[0, 0], name="未逾期"), go.Bar(x=["≤1", "1-3"], y=[0, 0], name="已逾期")])
    chart = drawn(fig.update_layout(barmode="stack", height=300))
    ticks = [t.text for t in chart["svg"].iter(f"{SVG}text") if re.fullmatch(r"-?[\d.]+", t.text or "")]
    assert float(ticks[0]) == 0 and float(ticks[-1]) == 1 and not any(t.startswith("-") for t in ticks)
    assert all(rects(s) == [] for s in chart["series"])
    # a zero on top of a stack draws nothing either: 5 open and 0 past due is one bar
    fig = go.Figure([go.Bar(x=["≤1"], y=[5]), go.Bar(x=["≤1"], y=[0])]).update_layout(barmode="stack", height=300)
    first, second = drawn(fig)["series"]
    assert len(rects(first)) == 1 and rects(second) == []
    # a zero of a lone series keeps its bar's hover ("4-8 小時：0 件" is worth reading)
    (lone,) = drawn(go.Figure(go.Bar(x=["4-8", "8-24"], y=[0, 2], customdata=["4-8 小時：0 件", "8-24 小時：2 件"],
                                     hovertemplate="%{customdata}<extra></extra>")))["series"]
    assert lone["hovers"] == ["4-8 小時：0 件", "8-24 小時：2 件"]


@pytest.mark.parametrize("counts, step, ticks", [
    ([12, 4, 1], 5, ["0", "5", "10", "15"]),  # a free axis put ticks 2.5 complaints apart here
    ([3, 1], 1, ["0", "1", "2", "3"]),
    ([55, 20], 20, ["0", "20", "40", "60"]),
])
def test_a_count_axis_ticks_whole_numbers_from_zero(counts, step, ticks):
    from kpi import present
    fig = present.pareto([f"c{i}" for i in range(len(counts))], counts, [50.0] * len(counts), [True] * len(counts),
                         "件數", "累積占比", "zh-TW", height=300)
    assert fig.layout.yaxis.dtick == step and fig.layout.yaxis.tick0 == 0  # plotly (the PDF) and the page alike
    chart = drawn(fig)
    left = [t.text for t in chart["svg"].iter(f"{SVG}text") if re.fullmatch(r"[\d.,]+", t.text or "")
            and t.get("text-anchor") == "end"]
    assert left == ticks


def test_a_count_axis_over_no_count_ticks_ones():
    import pandas as pd

    from kpi import present
    for top in (float("nan"), pd.NA, None, 0):  # an empty week's max() is NaN
        assert present.count_axis(top)["dtick"] == 1


def _path_points(series: dict) -> list[tuple[str, list[float]]]:
    """A line series' one path, as (command, numbers) pairs."""
    (path,) = series["element"].iter(f"{SVG}path")
    return [(c, [float(n) for n in args.split()]) for c, args in re.findall(r"([MLHV])([^MLHV]*)", path.get("d"))]


def test_a_long_line_is_one_path_and_a_gap_breaks_it():
    # 336 half-hours: one path element, not 335 lines (the staffing chart was 645 <line>s and 79 KB of SVG)
    chart = drawn(go.Figure(go.Scatter(x=[str(i) for i in range(336)], y=[i % 7 for i in range(336)], mode="lines")))
    (line,) = chart["series"]
    assert len(list(line["element"].iter(f"{SVG}path"))) == 1 and not list(line["element"].iter(f"{SVG}line"))
    commands = _path_points(line)
    assert [c for c, _ in commands] == ["M"] + ["L"] * 335
    (path,) = line["element"].iter(f"{SVG}path")
    assert path.get("vector-effect") == "non-scaling-stroke" and path.get("fill") == "none"
    # a missing value: the line stops at "b" and starts again at "d"
    (gap,) = drawn(go.Figure(go.Scatter(x=list("abcd"), y=[1, 2, None, 3], mode="lines")))["series"]
    assert [c for c, _ in _path_points(gap)] == ["M", "L", "M"]


def test_a_stepped_line_holds_each_value_across_its_band():
    # plotly's shape "hv" (agents per interval): 4 bands, each value level across its own band, a step at each edge
    chart = drawn(go.Figure(go.Scatter(x=list("abcd"), y=[2, 4, 4, 1], mode="lines", line=dict(shape="hv"))))
    (line,) = chart["series"]
    commands = _path_points(line)
    assert [c for c, _ in commands] == ["M", "H", "V", "H", "V", "H", "V", "H"]
    (x0, y_a), ends = commands[0][1], [args[0] for c, args in commands if c == "H"]
    band = (ends[-1] - x0) / 4
    assert ends == pytest.approx([x0 + band, x0 + 2 * band, x0 + 3 * band, x0 + 4 * band])
    levels = [y_a] + [args[0] for c, args in commands if c == "V"]
    # y grows downwards: 4 is twice as far above the baseline (the axis runs from 0) as 2, 1 half as far
    base = levels[0] + (levels[0] - levels[1])  # 2 below 4 by as much as 0 below 2
    assert (base - levels[1]) == pytest.approx(2 * (base - levels[0])) and levels[2] == levels[1]
    assert (base - levels[3]) == pytest.approx((base - levels[0]) / 2)
