"""The staffing page (pages/staffing.py) on the sample, through AppTest: what it shows is what kpi.metrics gives."""
from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from kpi import imports, metrics, store
from helpers import html_tables, svg_charts, tiles

ROOT = Path(__file__).resolve().parent.parent
W47 = date(2026, 11, 16)


@pytest.fixture(scope="module", autouse=True)
def _fresh_caches():
    st.cache_resource.clear()
    st.cache_data.clear()


def run(db, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=90)
    for k, v in state.items():
        at.session_state[k] = v
    at.switch_page("pages/staffing.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _served(tmp_path, monkeypatch, write, **files: str) -> Path:
    """A database of its own holding these files (dataset -> CSV text), the one the dashboard reads."""
    db = tmp_path / "own.duckdb"
    for dataset, text in files.items():
        imports.import_file(dataset, write(f"{dataset}.csv", text), db=db)
    monkeypatch.setenv("KPI_DB", str(db))
    st.cache_data.clear()
    return db


def _week(db, **kw) -> metrics.StaffingWeek:
    with store.open_db(db, read_only=True) as con:
        return metrics.staffing_week(con, W47, 30, **kw)


@pytest.mark.parametrize("lang", ["zh-TW", "en"])
def test_the_page_shows_the_weeks_measures_chart_and_grid(sample_db, monkeypatch, lang):
    monkeypatch.setenv("KPI_DB", str(sample_db))
    at = run(sample_db, lang=lang)
    week = _week(sample_db)
    assert at.title[0].value == ("人力配置" if lang == "zh-TW" else "Staffing")
    measures = metrics.staffing_measures(week, lang)
    assert {m.label: m.value for m in tiles(at)} == {label: value for label, value, _ in measures}
    # the hours each is worked out on, under its value (it wrapped onto a second line beside it at 1,500 px)
    unit = "小時" if lang == "zh-TW" else "h"
    assert [m.lines for m in tiles(at)] == [[("計算基礎 " if lang == "zh-TW" else "Over ") + hours]
                                           for _, _, hours in measures] and all(unit in h for _, _, h in measures)
    spec = svg_charts(at)[0]
    # required and staffed on every 30 minutes from the first interval to the last: the grid leaves out an interval
    # with neither contacts nor agents (313 of 320 in the sample's W47), the chart draws it as 0 (time stays even)
    first, last = week.grid["interval_start"].min(), week.grid["interval_start"].max()
    steps = int((last - first).total_seconds() // 1800) + 1
    assert len(week.grid) < steps and spec["xAxis"][0]["data"][0] == metrics.interval_label(first, lang)
    assert len(spec["series"]) == 2 and all(len(s["data"]) == steps for s in spec["series"])
    drawn = dict(zip(spec["xAxis"][0]["data"], spec["series"][0]["data"]))
    assert [drawn[metrics.interval_label(d, lang)] for d in week.grid["interval_start"]] == list(week.grid["required"])
    assert sum(spec["series"][0]["data"]) == week.grid["required"].sum()  # the added intervals are zeros
    # the grid opens on the intervals staffed below Erlang C's need (the sample's W47: 7 of 313) or below the service
    # level's target (80%) beyond doubt: 73 intervals with contacts were under 80%, but in 50 of them the 95% Wilson
    # interval of so few calls still reaches 80% (3 of 4 answered in time: 75%, interval 30%-95%); the 23
    # whose interval lies wholly below 80% are listed, every one on request
    required = metrics.staffing_table(week, lang)[0].columns[3]
    z = 1.959963984540054

    def upper(x: float, n: float) -> float:  # the Wilson interval's upper end, written out
        p = x / n
        return (p + z * z / (2 * n) + z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (1 + z * z / n)
    g = week.grid
    below = (g["offered"] > 0) & (g["service_level"] < 0.80)
    missed = [bool(b) and upper(float(x), float(n)) < 0.80 for b, x, n in zip(below, g["sl_num"].fillna(0), g["sl_den"])]
    short = g[(g["staffed"] < g["required"]).fillna(False) | pd.Series(missed, index=g.index)]
    assert (g["staffed"] < g["required"]).sum() == 7 and below.sum() == 73 and sum(missed) == 23
    assert len(short) == 30 and len(g) == 313
    grid = html_tables(at)[0]
    assert list(grid[required]) == [f"{n:,}" for n in short["required"]]
    assert list(grid.index if grid.index.name else grid.iloc[:, 0]) == [metrics.interval_label(d, lang)
                                                                        for d in short["interval_start"]]
    said = ("上線人力少於所需、或服務水準未達目標的 30 個時段（共 313 個時段；下載檔含全部時段）。" if lang == "zh-TW"
            else "The 30 intervals staffed below the need or below the service level target (of 313; the downloads "
                 "hold every interval).")
    assert said in [c.value for c in at.caption]
    assert at.toggle(key="staffing_every").label == ("顯示全部 313 個時段" if lang == "zh-TW" else "Show every interval (313)")
    grid = html_tables(run(sample_db, lang=lang, staffing_every=True))[0]  # (a click on it, in a new session)
    assert len(grid) == len(week.grid)
    assert list(grid[required]) == [f"{n:,}" for n in week.grid["required"]]
    # the what-if is behind a switch, off on a new visit: no number box, and the grid is the week as it was
    assert at.toggle(key="wi_open").value is False and not at.number_input
    assert ("下方時段表為本週實際情形" if lang == "zh-TW" else "The grid below is the week as it was") in " ".join(
        c.value for c in at.caption)
    assert not any(m.value.startswith(("尖峰時段需", "The peak interval needs")) for m in at.markdown)
    # switched on, the box starts at the week's own shrinkage (to a tenth of a point: 7.5, not 7) and target: its
    # plan is the week's
    at = run(sample_db, lang=lang, wi_open=True)
    assert at.number_input(key="wi_shrinkage").value == round(week.shrinkage * 100, 1)
    plans = [m.value for m in at.markdown if m.value == metrics.staffing_plan_text(
        _week(sample_db, what_if=metrics.WhatIf(0.0, 0.0, round(week.shrinkage * 100, 1) / 100, 0.8)), lang)]
    assert plans


def test_the_what_if_box_recomputes_agents_and_hours(sample_db, monkeypatch):
    monkeypatch.setenv("KPI_DB", str(sample_db))
    at = run(sample_db)
    at.toggle(key="wi_open").set_value(True).run()  # the switch, as a supervisor turns it on
    at.switch_page("pages/budget.py").run()  # another page and back: the switch is as it was left
    at.switch_page("pages/staffing.py").run()
    assert at.toggle(key="wi_open").value is True and len(at.number_input) == 4
    at.number_input(key="wi_volume").set_value(20).run()
    at.number_input(key="wi_shrinkage").set_value(30.5).run()
    tried = _week(sample_db, what_if=metrics.WhatIf(20.0, 0.0, 0.305, 0.8))
    assert any(m.value == metrics.staffing_plan_text(tried, "zh-TW") for m in at.markdown)
    base = _week(sample_db)
    assert tried.peak_required > base.peak_required  # 20% more calls need more agents at the peak
    # the grid's what-if columns follow the boxes (every interval shown); the switch turned off again: no box, no
    # what-if column (情境 beside no what-if), the week as it was
    at.toggle(key="staffing_every").set_value(True).run()
    grid = html_tables(at)[0]
    assert list(grid["情境所需人力（人）"]) == [f"{n:,}" for n in tried.grid["what_if_required"]]
    assert list(grid["情境排班人力（人）"]) == [f"{n:,}" for n in tried.grid["what_if_fte"]]
    assert list(grid["情境所需人力（人）"]) != [f"{n:,}" for n in base.grid["what_if_required"]]
    at.toggle(key="wi_open").set_value(False).run()
    assert not at.exception and not at.number_input
    grid = html_tables(at)[0]
    assert not [c for c in grid.columns if c.startswith("情境")]
    assert len(grid.columns) == 1 + len(metrics.STAFFING_COLUMNS) - 2  # the time and 7 of the 9
    assert list(grid["所需人力（人）"]) == [f"{n:,}" for n in base.grid["required"]]


def test_without_agent_states_the_page_says_what_would_appear(tmp_path, monkeypatch, write):
    db = _served(tmp_path, monkeypatch, write, contacts="contact_id,arrived_at,channel,answered_at,talk_seconds,"
                 "acw_seconds\nc1,2026-11-16 09:00:00,phone,2026-11-16 09:00:05,150,30\n"
                 "c2,2026-11-16 09:10:00,phone,2026-11-16 09:10:30,150,30\n")
    at = run(db)
    assert any(i.value.startswith("尚未匯入「專員狀態」資料") for i in at.info)
    spec = svg_charts(at)[0]
    # only Erlang C's line: 2 calls x 180 s in 30 min = 0.2 Erlangs -> 1 agent (80% within 20 s)
    assert len(spec["series"]) == 1 and [v for v in spec["series"][0]["data"] if v] == [1]
    assert not tiles(at)  # no occupancy, adherence or shrinkage without states


def test_the_page_says_which_week_of_a_month_it_shows_and_that_a_queue_does_not_apply(sample_db, monkeypatch):
    # Staffing is a week's: for October 2026 its last whole ISO week, said; a queue filter has no
    # effect (agent states have no queue), said once instead of silently showing the whole channel's.
    monkeypatch.setenv("KPI_DB", str(sample_db))
    at = run(sample_db, period_kind="month", month="2026-10-01", queue="billing")
    captions = [c.value for c in at.caption]
    # its last whole week inside October: W43 (19-25 Oct); W44 ran into November
    assert "人力配置以週為單位：2026 年 10 月 顯示其最後一週 2026-W43。" in captions
    assert any(c.startswith("佇列篩選（帳務）不適用於本頁") for c in captions)
    plain = [c.value for c in run(sample_db).caption]
    assert not any(c.startswith(("人力配置以週為單位", "佇列篩選")) for c in plain)


def test_a_what_if_value_out_of_range_is_said_in_words_and_nothing_is_computed_from_it(sample_db, monkeypatch):
    # A shrinkage of 100%: Streamlit turned the box red with "Number is outside the allowed range" in a tooltip, in
    # English, and the sentence below kept the previous result as if it applied.
    monkeypatch.setenv("KPI_DB", str(sample_db))
    at = run(sample_db, wi_open=True)
    at.number_input(key="wi_shrinkage").set_value(30.5).run()
    assert any(m.value.startswith("尖峰時段需") and "30.5%" in m.value for m in at.markdown)
    at.number_input(key="wi_shrinkage").set_value(100.0).run()
    assert not at.exception
    assert [e.value for e in at.error] == ["「人力耗損率（%）」請輸入 0 到 80 之間的數值；情境模擬未套用，下方為本週實際情形。"]
    assert not any(m.value.startswith("尖峰時段需") for m in at.markdown)  # no plan from a value not taken


def test_a_week_staffed_to_the_need_in_every_interval_says_so_instead_of_an_empty_grid(tmp_path, monkeypatch, write):
    # Two calls at 09:00 answered in 5 s (100% within 20 s; 0.2 Erlangs -> 1 agent), two agents available all the
    # half hour: nothing short, nothing missed: said, the grid a switch away.
    db = _served(tmp_path, monkeypatch, write, contacts="contact_id,arrived_at,channel,answered_at,wait_seconds,"
                 "talk_seconds,acw_seconds\nc1,2026-11-16 09:00:00,phone,2026-11-16 09:00:05,5,150,30\n"
                 "c2,2026-11-16 09:10:00,phone,2026-11-16 09:10:05,5,150,30\n",
                 agent_states="agent_id,state,started_at,ended_at\n"
                 "A1,available,2026-11-16 09:00:00,2026-11-16 09:30:00\n"
                 "A2,available,2026-11-16 09:00:00,2026-11-16 09:30:00\n")
    at = run(db)
    assert [s.value for s in at.success] == ["本週 1 個時段的上線人力都達到所需人力，服務水準也都達到目標（下載檔含全部時段）。"]
    assert not html_tables(at)
    assert len(html_tables(run(db, staffing_every=True))[0]) == 1


def test_a_week_before_the_agent_states_began_says_so_and_judges_no_interval(sample_db, monkeypatch):
    # The sample's agent states begin 2026-09-28: W38 has contacts and no state. The page said 本週 196 個時段的上線
    # 人力都達到所需人力 in green, of intervals where nobody's staffing was known.
    monkeypatch.setenv("KPI_DB", str(sample_db))
    with store.open_db(sample_db, read_only=True) as con:
        week = metrics.staffing_week(con, date(2026, 9, 14), 30)
        assert con.execute("SELECT min(started_at)::DATE::VARCHAR FROM agent_states").fetchone()[0] == "2026-09-28"
    assert not week.has_states and week.states_imported and len(week.grid) == 196
    at = run(sample_db, week="2026-09-14")
    assert [i.value for i in at.info][0].startswith("本週（此組別）沒有專員狀態資料")
    assert not at.success and not tiles(at)
    assert sorted(g.key for g in at.get("toggle")) == ["print_view", "wi_open"]  # no grid switch
    assert len(html_tables(at)[0]) == 196  # every interval's required agents, none judged


@pytest.mark.parametrize("start, end, latest, monday", [
    (date(2026, 11, 16), date(2026, 11, 22), date(2026, 11, 16), date(2026, 11, 16)),  # a week: its own
    (date(2026, 7, 1), date(2026, 9, 30), date(2026, 11, 16), date(2026, 9, 21)),  # Q3 ends on a Wednesday: W39
    (date(2026, 10, 1), date(2026, 10, 31), date(2026, 11, 16), date(2026, 10, 19)),  # Saturday 31 Oct: W43
    (date(2026, 11, 1), date(2026, 11, 30), date(2026, 11, 16), date(2026, 11, 16)),  # past the data: its last week
    (date(2026, 11, 18), date(2026, 11, 20), date(2026, 11, 16), date(2026, 11, 16)),  # three days: their week
    (date(2026, 11, 1), date(2026, 11, 30), date(2026, 10, 19), date(2026, 10, 26)),  # no data: its first week
    (date(2026, 11, 16), date(2026, 11, 22), date(2026, 11, 9), date(2026, 11, 16)),  # a week chosen: as it is
])
def test_the_week_a_period_shows_is_its_last_whole_week_with_data(start, end, latest, monday):
    assert metrics.staffing_monday(start, end, latest) == monday
