"""Every page renders on the sample data, reacts to the sidebar, and shows what the kpi functions compute."""
from __future__ import annotations

import base64
import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from kpi import metrics, store
from kpi.metrics import format_value, load_catalog

ROOT = Path(__file__).resolve().parent.parent
W47 = (date(2026, 11, 16), date(2026, 11, 22))
W46 = (date(2026, 11, 9), date(2026, 11, 15))


@pytest.fixture(scope="module", autouse=True)
def _fresh_caches():
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture
def app(sample_db, monkeypatch):
    # No cache clearing per test: the pages' cached queries are keyed by database path and data version, every test
    # here reads the same unchanged sample file, and a result one test computed serves the next (as it serves the
    # next visitor of the dashboard). Recomputing them each time made this module several times slower.
    monkeypatch.setenv("KPI_DB", str(sample_db))

    def run(page: str | None = None, **state) -> AppTest:
        at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=90)
        for k, v in state.items():
            at.session_state[k] = v
        if page:
            at.switch_page(page)  # before the first run: pages are found by file name
        at.run()
        assert not at.exception, [e.message for e in at.exception]
        return at
    return run


VOLUMES = {"進線", "接通", "放棄", "問卷回覆", "客訴", "Offered", "Answered", "Abandoned", "Surveys received", "Complaints received"}


def array(v) -> list:
    """A plotly array as a list: plotly 7 sends numbers as typed base64 ({"dtype", "bdata"})."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"]).tolist()
    return list(v)


def tiles(at: AppTest) -> dict[str, str]:
    """The KPI tiles (not the volume row above them)."""
    return {m.label: m.value for m in at.metric if m.label not in VOLUMES}


def expected_tiles(lang: str, start, end, **filters) -> dict[str, str]:
    cat = load_catalog()
    with store.open_db(store.resolve_db_path(), read_only=True) as con:
        s = metrics.kpi_status(con, start, end, **filters)
    return {cat[k].label[lang]: format_value(cat[k], s[k].value, lang)
            for k in ("service_level", "asa_seconds", "aht_seconds", "abandon_rate", "fcr_rate", "csat", "nps", "complaints")}


def test_weekly_page_defaults_to_the_latest_complete_week_on_phone(app):
    at = app()
    assert at.selectbox(key="week").value == "2026-11-16" and at.selectbox(key="channel").value == "phone"
    assert tiles(at) == expected_tiles("zh-TW", *W47, channel="phone")
    assert at.title[0].value == "每週績效"


def test_changing_the_week_team_or_language_changes_what_is_shown(app):
    # AppTest drops entry-script sidebar widgets from its tree after a rerun under st.navigation, so each
    # choice is a fresh session with the sidebar's state set, as a user's click would leave it.
    latest = tiles(app())
    w46 = tiles(app(week="2026-11-09"))
    assert w46 == expected_tiles("zh-TW", *W46, channel="phone") != latest
    tech = tiles(app(week="2026-11-09", team="技術支援組"))
    assert tech == expected_tiles("zh-TW", *W46, channel="phone", team="技術支援組") != w46
    at = app(week="2026-11-09", team="技術支援組", lang="en")
    assert tiles(at) == expected_tiles("en", *W46, channel="phone", team="技術支援組")
    assert at.title[0].value == "Weekly performance"
    assert "2026-W46: 2026-11-09 to 2026-11-15" in at.caption[0].value


def test_weekly_charts_have_twelve_weeks_with_target_lines(app):
    at = app()
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    first = spec["data"][0]
    assert first["x"][0] == "2026-W36" and first["x"][-1] == "2026-W47" and len(first["x"]) == 12
    targets = [tr for tr in spec["data"] if tr.get("line", {}).get("dash") == "dash"]
    assert len(targets) == 8 and array(targets[0]["y"])[0] == 80.0  # service level target 80 %
    # XmR limits from the 12 weeks before W47 (W35-W46), worked out from the same weekly values
    limits = [tr for tr in spec["data"] if tr.get("line", {}).get("dash") == "dot"]
    assert len(limits) == 2 * 8
    with store.open_db(store.resolve_db_path(), read_only=True) as con:
        base = metrics.compute_kpis(con, date(2026, 8, 24), date(2026, 11, 15), "week", channel="phone")
    assert len(base) == 12
    lim = metrics.xmr_limits([float(v) for v in base["service_level"]])
    assert array(limits[0]["y"])[0] == pytest.approx(lim.lower * 100) and array(limits[1]["y"])[0] == pytest.approx(lim.upper * 100)


def test_team_table_and_attention_list(app):
    at = app()
    teams = at.dataframe[0].value
    assert set(teams.index) == {"帳務服務組", "技術支援組", "會員服務組"}
    with store.open_db(store.resolve_db_path(), read_only=True) as con:
        g = metrics.group_status(con, *W47, "team", channel="phone")
    assert teams.loc["技術支援組", "顧客滿意度"] == pytest.approx(g["技術支援組"]["csat"].value)
    assert any("技術支援組" in m.value for m in at.markdown)
    # each off-target KPI is named with its value, target and how far off, and its indicators are one click away
    line = next(m.value for m in at.markdown if "**技術支援組**" in m.value)
    aht = g["技術支援組"]["aht_seconds"]
    cat = load_catalog()
    assert f"平均處理時間 {format_value(cat['aht_seconds'], aht.value)}（目標 7:00，超出" in line
    assert any(e.label == "各指標對應的職能行為指標" for e in at.expander)


PAGES = {"pages/weekly.py": ("每週績效", "Weekly performance"), "pages/quality.py": ("服務品質 (T4.3)", "Service quality (T4.3)"),
         "pages/trainer.py": ("職能輔導", "Competency coaching"), "pages/budget.py": ("預算執行 (T2.2)", "Budget execution (T2.2)"),
         "pages/import_data.py": ("匯入資料", "Import data"), "pages/data_status.py": ("資料狀態", "Data status"),
         "pages/glossary.py": ("指標說明", "KPI glossary")}


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("lang", ["zh-TW", "en"])
def test_every_page_renders_in_both_languages(app, page, lang):
    at = app(page, lang=lang)
    assert at.title[0].value == PAGES[page][0 if lang == "zh-TW" else 1]


def test_quality_page_shows_the_kpi_and_quality_functions_numbers(app):
    from kpi import metrics

    at = app("pages/quality.py")
    cat = load_catalog()
    got = tiles(at)
    with store.open_db(store.resolve_db_path(), read_only=True) as con:
        s = metrics.kpi_status(con, *W47, channel="phone")
        pareto = metrics.category_pareto(con, *W47, channel="phone")
        comments = metrics.low_score_comments(con, *W47, channel="phone")
    for kid in ("csat", "nps", "ces_mean", "complaints", "complaint_sla_rate", "open_complaints_past_due"):
        assert got[cat[kid].label["zh-TW"]] == format_value(cat[kid], s[kid].value, "zh-TW")
    traces = [tr for c in at.get("plotly_chart") for tr in json.loads(c.proto.spec)["data"]]
    bars = [tr for tr in traces if tr.get("type") == "bar" and array(tr["x"]) == list(pareto["category"])]
    assert bars and array(bars[0]["y"]) == list(pareto["complaints"])
    shown = at.dataframe[0].value
    assert list(shown["comment"]) == list(comments["comment"])


def test_quality_period_choice_widens_the_range(app):
    at13 = app("pages/quality.py", quality_period="period.13w")
    assert "2026-08-24 至 2026-11-22" in at13.caption[0].value


def test_trainer_page_ranks_the_tech_teams_indicators_as_the_ranking_does(app):
    import io

    import openpyxl

    from kpi import competency

    at = app("pages/trainer.py", trainer_team="技術支援組")
    top = [e.label for e in at.expander][:5]
    cmap = competency.load_competency_map()
    with store.open_db(store.resolve_db_path(), read_only=True) as con:
        values = metrics.group_status(con, *W47, "team", channel="phone")["技術支援組"]
    ranked = competency.rank_weak_competencies(cmap, values, team="技術支援組")
    assert [label.split("**")[1] for label in top] == list(ranked["indicator"][:5])
    # P4.3.1 (review satisfaction) is the manager's own process: it still ranks, at half weight
    assert ranked.set_index("indicator").loc["P4.3.1", "weight"] == 0.5
    # each score in words: the first indicator's largest gap, value against target
    first_kpi = ranked.iloc[0]["kpis"][0]
    label = load_catalog()[first_kpi].label["zh-TW"]
    assert any(m.value.startswith(f"最大差距：{label} ") and "目標" in m.value for m in at.markdown)
    plan = at.dataframe[-1].value
    assert list(plan["行為指標代碼"]) == list(ranked["indicator"][:5])
    # The exported workbook is built from the same plan, with each indicator's full text.
    frame = competency.coaching_plan(cmap, "技術支援組", "2026-11-16 – 2026-11-22", values, "zh-TW", team="技術支援組")
    ws = openpyxl.load_workbook(io.BytesIO(competency.plan_to_xlsx(frame))).active
    cells = [c for row in ws.iter_rows(values_only=True) for c in row if c]
    first = ranked.iloc[0]["indicator"]
    assert first in cells and cmap.indicator(first).text.zh_tw in cells


def test_trainer_page_for_an_agent_in_english(app):
    at = app("pages/trainer.py", trainer_kind="agent", trainer_agent="A017", lang="en")
    assert at.title[0].value == "Competency coaching"
    weak = at.dataframe[0].value
    # A017 is built with long handle times: handle time and its parts, and nothing else, are worse than the team's
    assert weak["KPI"].iloc[0] == "Average handle time"
    assert set(weak["KPI"]) <= {"Average handle time", "Average talk time", "Average hold time", "Average after-call work"}
    assert weak["Compared with"].iloc[0].startswith("team ")  # an agent is judged against their own team


def test_budget_page_totals_equal_the_budget_report(app):
    from kpi import metrics

    at = app("pages/budget.py")
    with store.open_db(store.resolve_db_path(), read_only=True) as con:
        report = metrics.budget_report(con, 2026)
    tiles_shown = {m.label: m.value for m in at.metric}
    # The cost-line totals of the report, in 萬 (NT$10,000) as the tiles show them.
    assert tiles_shown["年初至今 · 實際"] == f"NT${report.total['actual_ytd'] / 1e4:,.1f} 萬"
    assert tiles_shown["當月 · 實際"] == f"NT${report.total['actual_month'] / 1e4:,.1f} 萬"
    assert tiles_shown["最新預估"] == f"NT${report.total['latest_estimate'] / 1e4:,.1f} 萬"
    # The lines in two grids that each fit the page: the month and year to date, then the outlook with the flags.
    lines, outlook = (at.dataframe[i].value.set_index("科目") for i in (0, 1))
    assert lines.loc["加班費", "累計差異"] == report.lines.set_index("line").loc["加班費", "variance_ytd"]
    assert "⚑" in outlook.loc["加班費", "改善報告"] and outlook.loc["人員薪資", "改善報告"] == ""
    assert outlook.loc["加班費", "最新預估"] == report.lines.set_index("line").loc["加班費", "latest_estimate"]


def test_improvement_report_form_saves_and_lists_it(sample_db, tmp_path, monkeypatch):
    import shutil

    from kpi import competency

    db = tmp_path / "copy.duckdb"
    shutil.copy(sample_db, db)
    monkeypatch.setenv("KPI_DB", str(db))  # a new path: nothing cached for the sample file applies to it
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=90)
    at.switch_page("pages/budget.py")
    at.run()
    assert at.selectbox(key="ir_line").value == ("客服營運部", "加班費")
    at.text_area[0].input("新人比例高，處理時間長，晚班人力不足")
    at.text_area[1].input("=HYPERLINK(\"http://x\") 調整排班、加開晚班")
    at.text_input[0].input("王經理")
    at.button[0].click()
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("已儲存" in s.value for s in at.success)
    with store.open_db(db, read_only=True) as con:
        saved = competency.get_report(con, 2026, "客服營運部", "加班費")
    assert saved.owner == "王經理" and saved.nature == "permanent" and saved.status == "open"
    overview = next(d.value for d in at.dataframe if list(d.value.columns) == ["成本中心", "科目", "累計差異", "狀態"])
    overview = overview.set_index("科目")
    assert overview.loc["加班費", "狀態"] == "待處理" and overview.loc["教育訓練", "狀態"] == "尚無改善報告"

    # The page's performance report carries the saved improvement report.
    next(b for b in at.button if b.label == "產生報告").click().run()
    assert not at.exception, [e.message for e in at.exception]
    import io

    import openpyxl

    from kpi import reports

    with store.open_db(db, read_only=True) as con:
        report = reports.performance_report(con, date(2026, 10, 1), "zh-TW")
    book = openpyxl.load_workbook(io.BytesIO(reports.to_xlsx(report)))
    cells = [str(c) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row if c is not None]
    assert "新人比例高，處理時間長，晚班人力不足" in cells and "王經理" in cells
    # The action began with "=": neutralised, so no spreadsheet runs it.
    assert "'=HYPERLINK(\"http://x\") 調整排班、加開晚班" in cells


def test_trainer_page_with_filters_that_match_nobody(app):
    at = app("pages/trainer.py", team="會員服務組", queue="tech", trainer_kind="agent")
    assert any("沒有資料" in i.value for i in at.info)


def test_budget_page_offers_only_months_with_actuals(app):
    at = app("pages/budget.py", budget_year=2025)
    assert at.selectbox(key="budget_month").options == ["2025-09", "2025-10", "2025-11", "2025-12"]


def test_every_page_shows_the_data_cut_off_and_real_time_tiles_per_channel(app):
    # The sample's latest contact time is an e-mail answered 2026-11-23 10:11; the latest complaint time 2026-11-22 20:03.
    at = app("pages/weekly.py", channel="__all__")
    cut = [c.value for c in at.sidebar.caption if "資料截止" in c.value]
    assert cut and "進線 2026-11-23 10:11" in cut[0] and "客訴 2026-11-22 20:03" in cut[0]
    # No channel chosen: service level is not blended; the tile lists phone and chat, each with its own value.
    with store.open_db(store.resolve_db_path(), read_only=True) as con:
        by_channel = metrics.group_status(con, *W47, "channel")
    text = " ".join(m.value for m in at.markdown)
    sl = load_catalog()["service_level"]
    for ch, name in (("phone", "電話"), ("chat", "文字客服")):
        assert f"{name} **{format_value(sl, by_channel[ch]['service_level'].value)}**" in text
    assert tiles(at)["服務水準"] == "—"


def test_the_weekly_page_on_e_mail_shows_its_response_target_and_backlog(app):
    at = app("pages/weekly.py", channel="email")
    with store.open_db(store.resolve_db_path(), read_only=True) as con:
        s = metrics.kpi_status(con, *W47, channel="email")
    cat = load_catalog()
    assert tiles(at)["時限內回覆率"] == format_value(cat["response_within_target_rate"], s["response_within_target_rate"].value)
    assert tiles(at)["未回覆積壓"] == "0" and "服務水準" not in tiles(at)  # every e-mail answered by the cut-off
    everything = app("pages/weekly.py", channel="__all__")
    assert any("電子郵件：4 個上班小時內回覆 88.0%，未回覆積壓 0 件。" == c.value for c in everything.caption)


def test_the_glossary_lists_every_kpi_with_its_filled_definition_and_indicators(app):
    at = app("pages/glossary.py")
    table = at.table[0].value
    cat = load_catalog()
    assert list(table.index) == [k.label["zh-TW"] for k in cat.kpis.values()]  # all 38, in catalog order
    sl = table.loc["服務水準"]
    assert "等候 20 秒內" in sl["定義"] and sl["單位"] == "%" and sl["方向"] == "越高越好"
    assert sl["目標"] == "80.0%（警示區間 ±5.0%）" and sl["對應行為指標（BAS1499-003v4）"].startswith("P1.2.1 ")
    assert table.loc["客訴升級率", "方向"] == "接近目標最好（上下皆有區間）"
    assert not table.apply(lambda col: col.astype(str).str.contains(r"\$[a-z_]|service_level|None")).any().any()
    assert table.loc["每通成本", "單位"] == "NT$"
    en = app("pages/glossary.py", lang="en").table[0].value
    assert en.loc["Service level", "Direction"] == "Higher is better"


def test_import_history_reads_in_chinese(app):
    at = app("pages/data_status.py")
    history = at.dataframe[0].value
    assert set(history["dataset"]) <= {"進線紀錄", "滿意度調查", "客訴案件", "預算與實際"}
    assert set(history["source"]) == {"範例資料"} and set(history["undone_at"]) == {"—"}
    assert not history.astype(str).isin(["None", "contacts", "budget", "sample"]).any().any()


def test_trend_lines_are_neutral(app):
    # Colour means status: the data lines are all the one neutral colour (red only for target lines).
    at = app()
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    data_lines = [tr for tr in spec["data"] if tr.get("mode") == "lines+markers"]
    assert len(data_lines) == 8 and {tr["line"]["color"] for tr in data_lines} == {"#2e86c1"}


def test_a_filter_that_does_not_apply_says_so_instead_of_zero(app):
    at = app("pages/weekly.py", queue="billing")
    volumes = {m.label: m.value for m in at.metric if m.label in VOLUMES}
    assert volumes["客訴"] == "—" and volumes["進線"] != "—"  # complaints have no queue
    assert any("不適用" in c.value for c in at.caption)
    assert "contacts.csv.gz" in app().caption[0].value  # the week's caption names the last contacts import
