"""Pages draw their plotly figures with ECharts (kpi.present.echarts_option): the same values, lines and colours."""
from __future__ import annotations

import re

import plotly.graph_objects as go
import pytest
from plotly.subplots import make_subplots

from kpi import present
from kpi.present import echarts_option, svg_chart
from helpers import chart_values as values, read_svg_chart


def test_subplots_become_grids_with_their_titles_and_lines_on_shared_categories():
    fig = make_subplots(rows=1, cols=2, subplot_titles=["服務水準", "放棄率"])
    fig.add_trace(go.Scatter(x=["W1", "W2", "W3"], y=[80.0, None, 75.5], mode="lines+markers",
                             line=dict(color="#2e86c1"), hovertemplate="%{x}: %{y:.1f}<extra></extra>"), row=1, col=1)
    # a target line over two of the weeks only: on the shared category axis it has no value for W3
    fig.add_trace(go.Scatter(x=["W1", "W2"], y=[80, 80], mode="lines", line=dict(dash="dash", color="#c0392b")), row=1, col=1)
    fig.add_trace(go.Scatter(x=["W1", "W2", "W3"], y=[4.0, 5.0, 6.0], mode="lines", line=dict(dash="dot")), row=1, col=2)
    fig.update_layout(height=400)
    option = echarts_option(fig)
    assert len(option["grid"]) == 2 and [a["data"] for a in option["xAxis"]] == [["W1", "W2", "W3"]] * 2
    data, target, right = option["series"]
    assert values(data) == [80.0, None, 75.5] and data["showSymbol"] and data["lineStyle"]["color"] == "#2e86c1"
    # the hovertemplate filled for each point, as plotly shows it; items placed by their category
    assert [d[2] for d in data["data"]] == ["W1: 80.0", "W2: ", "W3: 75.5"] and data["tooltip"] == {"formatter": "{@[2]}"}
    assert data["encode"] == {"x": 0, "y": 1} and option["tooltip"]["trigger"] == "item"
    assert values(target) == [80, 80, None] and target["lineStyle"]["type"] == "dashed" and not target["showSymbol"]
    assert (right["xAxisIndex"], right["yAxisIndex"], right["lineStyle"]["type"]) == (1, 1, "dotted")
    assert [t["text"] for t in option["title"]] == ["服務水準", "放棄率"]
    assert option["animation"] is False and present.figure_height(fig) == 400


def test_bars_keep_their_colours_stacks_and_labels():
    fig = go.Figure([go.Bar(x=[1, 2, 3], y=[5, 0, 7], marker_color=["#c0392b", "#2e86c1", "#2e86c1"], name="未逾期"),
                     go.Bar(x=[1, 2, 3], y=[1, 2, 3], name="已逾期", text=["a", "b", "c"], textposition="outside")])
    fig.update_layout(barmode="stack", legend=dict(orientation="h"), yaxis_tickprefix="NT$", yaxis_title="件數")
    option = echarts_option(fig)
    first, second = option["series"]
    assert option["xAxis"][0]["data"] == ["1", "2", "3"]  # categories as text, as plotly labels them
    assert values(first) == [5, 0, 7] and [d["itemStyle"]["color"] for d in first["data"]] == ["#c0392b", "#2e86c1", "#2e86c1"]
    assert first["stack"] == second["stack"]
    assert [d["label"]["formatter"] for d in second["data"]] == ["a", "b", "c"]
    assert option["legend"]["bottom"] == 0  # horizontal legend below, as plotly's orientation="h"
    y = option["yAxis"][0]
    assert y["axisLabel"]["formatter"] == "NT${value}" and y["name"] == "件數" and y["scale"] is False  # bars stand on 0


def test_heat_map_cells_scale_and_tooltip():
    fig = go.Figure(go.Heatmap(z=[[1.0, None], [3.26, 4.0]], x=[8, 9], y=["週一", "週二"], colorscale="Blues", zmin=0,
                               zmax=10, hovertemplate="%{y} %{x}:00 · %{z:.1f}%<extra></extra>"))
    fig.update_layout(yaxis=dict(autorange="reversed"))
    option = echarts_option(fig)
    series = option["series"][0]
    # [x, y, value, hover text]; the empty cell is left out
    assert series["data"] == [["8", "週一", 1.0, "週一 8:00 · 1.0%"], ["8", "週二", 3.26, "週二 8:00 · 3.3%"],
                              ["9", "週二", 4.0, "週二 9:00 · 4.0%"]]
    assert series["tooltip"]["formatter"] == "{@[3]}" and option["visualMap"][0]["dimension"] == 2
    assert option["xAxis"][0]["data"] == ["8", "9"] and option["yAxis"][0] == {"type": "category", "gridIndex": 0,
                                                                             "data": ["週一", "週二"], "inverse": True}
    scale = option["visualMap"][0]
    assert (scale["min"], scale["max"]) == (0, 10) and scale["inRange"]["color"][0] == "rgb(247,251,255)"  # Blues' lightest
    assert scale["text"] == ["10", "0"]  # the scale's ends, high first
    # a rate's scale says its unit at both ends (the service level's 40-100 read as bare numbers)
    fig.update_traces(colorbar=dict(ticksuffix="%"))
    assert echarts_option(fig)["visualMap"][0]["text"] == ["10%", "0%"]


def test_funnel_names_its_stages_with_the_share_of_the_first():
    fig = go.Figure(go.Funnel(y=["開立", "已結案", "時限內結案"], x=[55, 43, 41], textinfo="value+percent initial"))
    series = echarts_option(fig)["series"][0]
    assert [d["label"]["formatter"] for d in series["data"]] == ["開立  55 (100%)", "已結案  43 (78%)", "時限內結案  41 (75%)"]
    assert series["sort"] == "none" and series["itemStyle"]["color"] == present.PALETTE["actual"]


def test_waterfall_steps_stand_on_the_running_total():
    fig = go.Figure(go.Waterfall(x=["預算", "人事", "電信", "實際"], measure=["absolute", "relative", "relative", "total"],
                                 y=[100, 5, -3, 0], customdata=["NT$100", "+NT$5", "-NT$3", "NT$102"],
                                 hovertemplate="%{x}: %{customdata}<extra></extra>", increasing=dict(marker_color="#c0392b"),
                                 decreasing=dict(marker_color="#27ae60"), totals=dict(marker_color="#2e86c1")))
    fig.update_layout(yaxis_range=[90, 110])
    base, shown = echarts_option(fig)["series"]
    # 100; +5 from 100 to 105; -3 from 105 down to 102; the total 102
    assert values(base) == [0, 100, 102, 0] and base["itemStyle"]["color"] == "transparent"
    assert values(shown) == [100, 5, 3, 102]
    assert [d["itemStyle"]["color"] for d in shown["data"]] == ["#2e86c1", "#c0392b", "#27ae60", "#2e86c1"]
    assert [d["value"][2] for d in shown["data"]] == ["預算: NT$100", "人事: +NT$5", "電信: -NT$3", "實際: NT$102"]


def test_budget_waterfall_steps_take_their_status_colours_and_say_them():
    fig = present.budget_waterfall(("預算", 100), [("人事", 5), ("電信", -3), ("加班", 2), ("房租", 1)], "實際", "zh-TW",
                                   statuses=["bad", "good", "warning", None])
    base, shown = echarts_option(fig)["series"]
    # over budget and material red, under green, over but below the threshold amber, no status grey; totals blue
    assert [d["itemStyle"]["color"] for d in shown["data"]] == [
        present.PALETTE["actual"], "#c0392b", "#27ae60", "#f0a030", present.PALETTE["muted"], present.PALETTE["actual"]]
    assert [d["value"][2] for d in shown["data"]][1:5] == [
        "人事: +NT$5（不利，需改善報告）", "電信: -NT$3（有利）", "加班: +NT$2（不利，未達改善報告門檻）", "房租: +NT$1"]
    # without statuses, by direction as before
    plain = echarts_option(present.budget_waterfall(("預算", 100), [("人事", 2)], "實際", "zh-TW"))["series"][1]
    assert plain["data"][1]["itemStyle"]["color"] == present.PALETTE["bad"]
    assert plain["data"][1]["value"][2] == "人事: +NT$2"


def test_a_reference_line_on_the_second_axis_is_marked_on_its_series():
    fig = present.pareto(["A", "B"], [3, 1], [75.0, 100.0], [True, False], "件數", "累積占比", "zh-TW", height=300)
    option = echarts_option(fig)
    vital, other, cumulative = option["series"]
    assert cumulative["yAxisIndex"] == 1 and option["yAxis"][1]["position"] == "right"
    assert cumulative["markLine"]["data"] == [{"yAxis": 80, "lineStyle": {"type": "dotted", "color": present.PALETTE["guide"]}}]
    assert option["yAxis"][1]["axisLabel"]["formatter"] == "{value}%" and option["yAxis"][1]["interval"] == 20


def test_a_chart_it_cannot_draw_is_refused():
    with pytest.raises(present.NotConvertible):
        echarts_option(go.Figure(go.Pie(labels=["a"], values=[1])))


def test_month_bars_keep_their_axis_title_the_legend_above_and_the_money_in_the_hover():
    fig = present.budget_vs_actual(["2026-01", "2026-02"], [3_146_250, 3_146_250], [3_184_436, None], "預算", "實際",
                                   "zh-TW", title="每月預算與實際")
    option = echarts_option(fig)
    assert option["xAxis"][0]["data"] == ["2026年1月", "2026年2月"] and option["yAxis"][0]["name"] == "NT$（萬）"
    assert option["legend"] == {"top": 0, "right": 0, "type": "scroll"}  # above the plot, beside the title
    budget, actual = option["series"]
    assert values(budget) == [314.625, 314.625]  # NT$3,146,250 in 萬
    assert budget["data"][0][2] == "2026年1月: NT$314.6 萬" and values(actual) == [318.4436, None]


def test_category_labels_that_would_overlap_are_turned_and_short_ones_stay_level():
    """The budget waterfall's ten cost lines (four Chinese characters each, about 650 px side by side) overlapped in a
    half-page chart; five short labels fit."""
    lines = ["人員薪資", "加班費", "委外服務", "電信費", "主管薪資", "場地設施", "教育訓練", "軟體授權"]
    fig = present.budget_waterfall(("累計預算", 3129e4), [(n, 1e4) for n in lines], "累計實際", "zh-TW")
    label = echarts_option(fig)["xAxis"][0]["axisLabel"]
    assert label == {"interval": 0, "rotate": 30}
    short = echarts_option(go.Figure(go.Bar(x=["一", "二", "三", "四", "五"], y=[1, 2, 3, 4, 5])))
    assert "rotate" not in short["xAxis"][0]["axisLabel"]


def test_a_paretos_legend_names_each_colour_and_its_hover_rounds_the_share():
    # 3 of 11 complaints is 27.2727...%: the hover says 27.3%, not 27.2727; the vital few blue, the useful many grey,
    # each named in the legend (one "件數" series coloured two ways had a blue legend swatch beside red and grey bars);
    # a bar's hover in words with its unit.
    fig = present.pareto(["問題未解決", "帳務爭議", "其他"], [3, 5, 3], [27.272727, 72.727272, 100.0], [True, True, False],
                         "件數", "累積占比", "zh-TW", height=300)
    html = svg_chart(echarts_option(fig), 300)
    chart = read_svg_chart(html)
    vital, other, cumulative = chart["series"]
    # blue, not red: red means off target (status) on every page
    assert (vital["name"], vital["lineStyle"]["color"], vital["data"]) == ("關鍵少數", present.PALETTE["actual"], [3, 5, 0])
    assert (other["name"], other["lineStyle"]["color"], other["data"]) == ("次要多數", present.PALETTE["muted"], [0, 0, 3])
    assert vital["hovers"] == ["問題未解決：3 件（關鍵少數）", "帳務爭議：5 件（關鍵少數）"]  # the stacked zero: no bar
    assert cumulative["hovers"] == ["問題未解決：27.3%", "帳務爭議：72.7%", "其他：100.0%"]
    assert chart["yAxis"][0]["name"] == "件數"
    legend = re.findall(r'background:([^;]+);display:inline-block"></span>([^<]+)</span>', html)
    assert legend == [(present.PALETTE["actual"], "關鍵少數"), (present.PALETTE["muted"], "次要多數"),
                      (present.PALETTE["line"], "累積占比")]
    # every category in the vital few (one category, say): no empty "useful many" in the legend
    alone = read_svg_chart(svg_chart(echarts_option(present.pareto(["帳務爭議"], [4], [100.0], [True], "Count",
                                                                    "Cumulative", "en", height=300)), 300))
    assert [s["name"] for s in alone["series"]] == ["Vital few", "Cumulative"]
    assert alone["series"][0]["hovers"] == ["帳務爭議: 4 complaints (Vital few)"]


def test_a_rates_heat_map_is_coloured_by_status_against_its_target():
    # service level 80% with a band of 5 points: green from 80, amber from 75, red below (a red-to-green gradient drew
    # 77.6% fairly green beside a tile judging it 注意)
    scale = present.status_colorscale(80, 5, 40, 100, step=5)
    shades = present.STATUS_SHADES
    assert [round(p, 4) for p, _ in scale] == [round(i / 12, 4) for i in range(13)]
    assert [c for _, c in scale] == [shades["bad"]] * 7 + [shades["warning"]] + [shades["good"]] * 5  # 40..70, 75, 80..
    assert present.status_colorscale(80, 5, 40, 100)[37] == [37 / 60, shades["warning"]]  # 77% at the default step
