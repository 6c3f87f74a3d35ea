"""A page's table out of the page: Excel and CSV downloads with readable headers, units and formatted values, named for
what they hold; a static table for print. Unit tests on a two-row table worked out by hand, then the weekly page."""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import streamlit as st
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from kpi import metrics, present, store

ROOT = Path(__file__).resolve().parent.parent
W47 = (date(2026, 11, 16), date(2026, 11, 22))
DURATION_ZH = '[<0.000694444][s] "秒";[<0.0416666][m] "分" ss "秒";[h] "小時" mm "分"'
DURATION_EN = '[<0.000694444][s] "s";[<0.0416666][m] "min" ss "s";[h] "h" mm "min"'


def teams(lang: str = "zh-TW") -> present.Table:
    """Two teams as the weekly page holds them: raw values under the readers' headers, a status per cell."""
    h = {"zh-TW": ["組別", "服務水準", "平均處理時間", "累計差異", "淨推薦值", "備註"],
         "en": ["Team", "Service level", "Average handle time", "Variance YTD", "NPS", "Note"]}[lang]
    frame = pd.DataFrame({h[1]: [0.7868852459016393, None], h[2]: [425.0, 13953.0], h[3]: [1234567.4, -21391.0],
                          h[4]: [66.0, -5.0], h[5]: ["=1+1", "+886 2 1234"]}, index=pd.Index(["甲組", "乙組"], name=h[0]))
    statuses = pd.DataFrame({h[1]: ["good", None], h[2]: [None, "warning"], h[3]: ["bad", None], h[4]: [None, None],
                             h[5]: [None, "flag"]}, index=frame.index, dtype=object)
    return present.Table(frame, kinds={h[1]: "fraction", h[2]: "seconds", h[3]: "money", h[4]: "nps"}, statuses=statuses,
                         title="每週績效｜組別績效", context=("2026-W47：2026-11-16 至 2026-11-22", "篩選條件：管道：電話"),
                         name=("每週績效", "組別績效", "2026-W47", "電話"))


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM: Excel in Taiwan then reads UTF-8, not Big5
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))


def test_csv_has_the_readers_headers_and_the_pages_values():
    data = present.table_to_csv(teams(), "zh-TW")
    assert b"\r\n" in data  # CRLF, as Excel writes CSV
    header, first, second = read_csv(data)
    # The amount's unit moves to its header: "-NT$21,391" would start like a formula, "-21,391" is a number.
    assert header == ["組別", "服務水準", "平均處理時間", "累計差異（NT$）", "淨推薦值", "備註"]
    # 0.78688... -> 78.7%; 1,234,567.4 -> 1,234,567; NPS with its sign; a formula neutralised with a leading '
    assert first == ["甲組", "78.7%", present.format_kind(425.0, "seconds", "zh-TW"), "1,234,567", "+66", "'=1+1"]
    # missing -> —; a signed number stays bare (a spreadsheet reads -5 and -21,391 as numbers); a phone number is text
    assert second == ["乙組", "—", present.format_kind(13953.0, "seconds", "zh-TW"), "-21,391", "-5", "'+886 2 1234"]
    assert read_csv(present.table_to_csv(teams("en"), "en"))[0] == [
        "Team", "Service level", "Average handle time", "Variance YTD (NT$)", "NPS", "Note"]


def test_xlsx_has_a_title_row_headers_numbers_with_formats_and_status_colours():
    ws = openpyxl.load_workbook(io.BytesIO(present.table_to_xlsx(teams(), "zh-TW"))).active
    assert ws["A1"].value == "每週績效｜組別績效\n2026-W47：2026-11-16 至 2026-11-22\n篩選條件：管道：電話"
    assert "A1:F1" in {str(r) for r in ws.merged_cells.ranges}
    assert [c.value for c in ws[2]] == ["組別", "服務水準", "平均處理時間", "累計差異（NT$）", "淨推薦值", "備註"]
    b3, c3, d3, e3, f3 = ws["B3"], ws["C3"], ws["D3"], ws["E3"], ws["F3"]
    assert (b3.value, b3.number_format) == (0.7868852459016393, "0.0%")  # a number Excel shows as 78.7%
    # 425 s is kept as Excel time (425 / 86,400 days, read back as a timedelta): shown 7 分 05 秒 by the second
    # section; 13,953 s is 3 h 52 min 33 s, shown 3 小時 52 分 by the third.
    assert (c3.value, c3.number_format) == (timedelta(seconds=425), DURATION_ZH)
    assert ws["C4"].value == timedelta(seconds=13953)
    assert (d3.value, d3.number_format, ws["D4"].value) == (1234567.4, "#,##0", -21391)
    assert (e3.value, e3.number_format, ws["E4"].value) == (66, "+0;-0;0", -5)
    # text that starts like a formula stays text: Excel's quote prefix, nothing added to the value (a visible ' was)
    assert f3.value == "=1+1" and ws["F4"].value == "+886 2 1234"
    assert {c.data_type for c in (f3, ws["F4"])} == {"s"} and f3.quotePrefix and ws["F4"].quotePrefix
    assert ws["B4"].value is None  # missing: an empty cell, not "—" or "None"
    fills = {c: ws[c].fill.fgColor.rgb[-6:] for c in ("B3", "D3", "C4") if ws[c].fill.fill_type}
    assert fills == {"B3": "D7F0DD", "D3": "F9D4D2", "C4": "FDE9C8"}  # good, bad, warning
    assert ws["F4"].font.bold and ws["F4"].font.color.rgb[-6:] == "C0392B"  # a flag: bold red
    assert ws.freeze_panes == "A3"


def test_xlsx_in_english_has_english_headers_and_unit_words():
    ws = openpyxl.load_workbook(io.BytesIO(present.table_to_xlsx(teams("en"), "en"))).active
    assert ws["D2"].value == "Variance YTD (NT$)" and ws["C3"].number_format == DURATION_EN


@pytest.mark.parametrize("kind, lang, fmt", [
    ("seconds", "zh-TW", DURATION_ZH),
    ("+seconds", "zh-TW", None),  # a negative time shows as #### in Excel: written as text
    ("hours", "zh-TW", '0.0 "小時"'),
    ("+hours", "en", '+0.0 "h";-0.0 "h";0.0 "h"'),
    ("+pp", "en", '+0.0 "pp";-0.0 "pp";0.0 "pp"'),  # a change of a rate in points (as 2.1), not a relative %
    ("+pp", "zh-TW", '+0.0 "個百分點";-0.0 "個百分點";0.0 "個百分點"'),
    ("fraction", "en", "0.0%"),
    ("text", "en", None),
])
def test_excel_format_carries_the_unit(kind, lang, fmt):
    assert present.excel_format(kind, lang) == fmt


def test_a_change_of_a_rate_is_written_in_points_with_its_unit():
    # -0.023 is 2.3 points down (78.1% from 80.4%): "-2.3 個百分點" as on the page, a number that sums; "-2.3%" would
    # read as a relative change
    frame = pd.DataFrame({"服務水準": [0.781, 0.5], "較前週": [-0.023, None]}, index=pd.Index(["甲組", "乙組"], name="組別"))
    table = present.Table(frame, kinds={"服務水準": "fraction", "較前週": "+pp"})
    ws = openpyxl.load_workbook(io.BytesIO(present.table_to_xlsx(table, "zh-TW"))).active
    assert [c.value for c in ws[1]] == ["組別", "服務水準", "較前週"]  # no title given: the header first
    assert ws["C2"].value == pytest.approx(-2.3) and ws["C2"].number_format == '+0.0 "個百分點";-0.0 "個百分點";0.0 "個百分點"'
    assert ws["B2"].value == pytest.approx(0.781) and ws["B2"].number_format == "0.0%"
    assert ws["C3"].value is None
    assert present.table_text(table, "zh-TW")["較前週"].tolist() == ["-2.3 個百分點", "—"]
    assert present.excel_value("n/a", "+pp") == "n/a" and present.excel_value(float("nan"), "+pp") is None  # not x100


def test_print_table_has_every_cell_as_on_the_page_with_its_colour():
    html = present.table_to_html(teams(), "zh-TW")
    assert html.startswith('<table class="kpi-table"><thead><tr><th>組別</th><th class="num">服務水準</th>')
    assert '<td class="nw">甲組</td><td class="num" style="background-color: #d7f0dd">78.7%</td>' in html
    assert '<td class="num">—</td>' in html and '<td class="num">-NT$21,391</td>' in html  # the page's money
    assert '<td class="nw" style="font-weight: bold; color: #c0392b">+886 2 1234</td>' in html
    assert html.count("<tr>") == 3  # header and both rows
    escaped = present.table_to_html(present.Table(pd.DataFrame({"a": ["<b>x</b> & y\nwraps, being longer than 24"]})), "en")
    assert "<td>&lt;b&gt;x&lt;/b&gt; &amp; y<br>wraps, being longer than 24</td>" in escaped  # a long text: no nw class


def test_a_tables_columns_can_be_split_keeping_statuses():
    part = teams().select(["服務水準"])
    assert list(part.frame.columns) == ["服務水準"] and part.statuses.loc["甲組", "服務水準"] == "good"
    assert part.kinds == {"服務水準": "fraction"} and part.name == teams().name


@pytest.mark.parametrize("value, lang, text", [(True, "zh-TW", "是"), (False, "en", "no"), (None, "en", "—")])
def test_a_yes_no_cell_is_a_word(value, lang, text):
    assert present.cell_text(value, "bool", lang) == text


@pytest.mark.parametrize("parts, ext, name", [
    (["每週績效", "組別績效", "2026-W47", "技術支援組", "電話"], "xlsx", "每週績效_組別績效_2026-W47_技術支援組_電話.xlsx"),
    (["每週績效", "組別績效", "2026-W47"], "csv", "每週績效_組別績效_2026-W47.csv"),  # no filter set
    (["Weekly performance", "Teams", "2026-W47", "Phone"], "xlsx", "Weekly-performance_Teams_2026-W47_Phone.xlsx"),
    (["預算執行 (T2.2)", "各科目預算執行", "2026-10"], "xlsx", "預算執行_各科目預算執行_2026-10.xlsx"),  # no task code
    (["a/b:c*?\"<>|", None, "", "x_y", "2026-11-16 – 2026-11-22"], "csv", "a-b-c_x-y_2026-11-16-2026-11-22.csv"),
    ([None, "..."], "csv", "export.csv"),
])
def test_file_names_hold_what_when_and_the_filters_in_safe_characters(parts, ext, name):
    assert present.export_file_name(parts, ext) == name


def test_plain_numbers_keep_their_sign_only_when_asked():
    frame = pd.DataFrame({"a": ["+66", "-21,391", "-5.3%", "+886 2 1234", "=1+1", "-1+2"]})
    rows = [r[0] for r in read_csv(present.frame_to_csv(frame, plain_numbers=True))[1:]]
    assert rows == ["+66", "-21,391", "-5.3%", "'+886 2 1234", "'=1+1", "'-1+2"]
    assert read_csv(present.frame_to_csv(frame))[1][0] == "'+66"  # the coaching plan's and rejects' CSVs: as before


# ---- the weekly page: the buttons under each table, what they hold, and the print view

@pytest.fixture(scope="module", autouse=True)
def _fresh_caches():
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture
def downloads(monkeypatch) -> dict:
    """Every download a run offers, built on click (deferred): file id -> (file name, build)."""
    offered = {}
    add = MediaFileManager.add_deferred

    def record(self, build, mimetype, coordinates, file_name=None, **kw):
        file_id = add(self, build, mimetype, coordinates, file_name, **kw)
        offered[file_id] = (file_name, build)
        return file_id
    monkeypatch.setattr(MediaFileManager, "add_deferred", record)
    return offered


@pytest.fixture
def weekly(sample_copy, monkeypatch, downloads):
    monkeypatch.setenv("KPI_DB", str(sample_copy))  # a download writes its audit event

    def run(**state) -> tuple[AppTest, dict[str, tuple[str, bytes]]]:
        at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=90)
        for k, v in state.items():
            at.session_state[k] = v
        at.run()
        assert not at.exception, [e.message for e in at.exception]
        files = {}
        for b in at.get("download_button"):
            name, build = downloads[b.proto.deferred_file_id]
            files[b.proto.id.rsplit("-", 1)[-1]] = (b.proto.label, name, build())
        return at, files
    return run


def test_weekly_tables_offer_excel_and_csv_named_for_week_and_filters(weekly):
    _, files = weekly(weekly_section="組別與專員")
    assert {k: v[:2] for k, v in files.items()} == {
        "team_table_xlsx": ("下載 Excel", "每週績效_組別績效_2026-W47_電話.xlsx"),
        "team_table_csv": ("下載 CSV", "每週績效_組別績效_2026-W47_電話.csv"),
        "agent_table_xlsx": ("下載 Excel", "每週績效_專員績效_2026-W47_電話.xlsx"),
        "agent_table_csv": ("下載 CSV", "每週績效_專員績效_2026-W47_電話.csv")}
    with store.open_db(store.resolve_db_path(), read_only=True) as con:
        g = metrics.group_status(con, *W47, "team", channel="phone")
    csat = g["技術支援組"]["csat"].value
    rows = {r[0]: r for r in read_csv(files["team_table_csv"][2])}
    assert rows["組別"][9] == "顧客滿意度" and rows["技術支援組"][9] == f"{csat * 100:.1f}%"
    ws = openpyxl.load_workbook(io.BytesIO(files["team_table_xlsx"][2])).active
    assert ws["A1"].value.splitlines()[:3] == ["每週績效｜組別績效", "2026-W47：2026-11-16 至 2026-11-22",
                                             "篩選條件：組別：全部、管道：電話、佇列：全部"]
    row = next(r for r in ws.iter_rows(min_row=3) if r[0].value == "技術支援組")
    assert row[9].value == pytest.approx(csat) and row[9].number_format == "0.0%"


def test_a_team_filter_and_english_name_the_files_in_english(weekly):
    _, files = weekly(team="技術支援組", lang="en", weekly_section="Teams and agents")
    assert files["agent_table_csv"][:2] == ("Download CSV", "Weekly-performance_Agents_2026-W47_技術支援組_Phone.csv")
    assert read_csv(files["agent_table_csv"][2])[0][:3] == ["Agent", "Contacts answered", "Average handle time"]


def test_print_view_draws_every_row_as_a_static_table(weekly):
    at, files = weekly(print_view=True)
    assert len(at.dataframe) == 0  # no canvas grid: it would print only what is scrolled into view
    tables = [h.proto.body for h in at.get("html") if h.proto.body.startswith('<table class="kpi-table">')]
    with store.open_db(store.resolve_db_path(), read_only=True) as con:
        agents = [a for a in metrics.group_status(con, *W47, "agent", channel="phone") if a is not None]
    assert len(tables) == 2 and tables[1].count("<tr>") == 1 + len(agents) == 31  # header + 30 agents
    assert all(f'<td class="nw">{a} ' in tables[1] for a in agents)  # "A017 邱美玲": the id and the name
    assert "team_table_xlsx" in files  # the downloads stay


def test_a_static_tables_text_cells_show_as_written_and_numbers_as_formatted():
    # The pages' tables are HTML (table_to_html): a comment "<b>1. *late*</b> a_b" must show as written, not as markup
    frame = pd.DataFrame({"comment": ["<b>1. *late*</b> a_b", None], "day": [date(2026, 11, 16), None],
                          "rate": [0.8123, None], "n": [1234, 5]})
    body = present.table_to_html(present.Table(frame, {"day": "date", "rate": "fraction", "n": "count"}), "en")
    assert "<b>" not in body.replace("<tbody>", "") and "&lt;b&gt;1. *late*&lt;/b&gt; a_b" in body
    shown = present.html_table_frame(body)  # read back as the reader sees it
    assert shown.iloc[0].tolist() == ["<b>1. *late*</b> a_b", "2026-11-16", "81.2%", "1,234"]
    assert shown.iloc[1].tolist() == ["—", "—", "—", "5"]
    assert present.html_table_frame("<p>no table</p>") is None


def _long_table_page(print_view: bool):
    import pandas as pd
    import streamlit as st

    from kpi import present
    from ui import widgets

    st.session_state["print_view"] = print_view
    frame = pd.DataFrame({"answered": range(600)}, index=pd.Index([f"A{i:03d}" for i in range(600)], name="agent"))
    widgets.show_table(present.Table(frame, kinds={"answered": "count"}), "long", downloads=False)


@pytest.mark.parametrize("print_view", [False, True])
def test_a_very_long_table_shows_its_first_rows_and_says_so(print_view):
    """600 agents: the page draws the first 500 (worst first where sorted so) and says the downloads and the print
    view hold all 600; the print view draws all 600."""
    from helpers import html_tables

    at = AppTest.from_function(_long_table_page, args=(print_view,)).run()
    assert not at.exception
    (shown,) = html_tables(at)
    assert len(shown) == (600 if print_view else 500)
    assert shown.iloc[0].tolist() == ["A000", "0"] and shown.iloc[-1, 0] == ("A599" if print_view else "A499")
    captions = [c.value for c in at.caption]
    assert captions == ([] if print_view else ["此處顯示前 500 列，共 600 列；下載的 Excel／CSV 與列印檢視包含全部。"])
