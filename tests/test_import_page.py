"""The import page: upload, mapping pre-filled, preview with parsed values and rejects, commit, undo."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from helpers import html_tables, tiles, workbook
from kpi import imports, metrics, store

ROOT = Path(__file__).resolve().parent.parent
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# A vendor's export: other headers, day-first dates (25/11 proves it), hh:mm:ss talk time, Yes/No answered.
# Two rows in 2026-W47; the third has an unreadable time and the fourth a negative wait: both rejected.
VENDOR = ("Call ID,Start Time,Agent Name,Queue,Wait (sec),Talk Time,Answered?\n"
          "V-1,20/11/2026 10:15:00,A001,billing,12,00:04:30,Yes\n"
          "V-2,21/11/2026 11:00:00,,billing,95,,No\n"
          "V-3,25/11/2026 25:61:00,A002,billing,5,00:01:00,Yes\n"
          "V-4,21/11/2026 12:00:00,A003,billing,-4,00:02:00,Yes\n")


# The page needs a database that holds data (the app fills an empty one with the whole sample, about 12 s); none of
# these tests depends on the sample's figures, so a few literal contacts do. They reach Sunday 22 Nov, which makes
# 2026-W47 the latest complete week, the one the weekly page opens on: three contacts in it.
SMALL = ("contact_id,arrived_at,channel,answered,wait_seconds\n"
         "s1,2026-11-09 09:00,phone,Y,5\n"
         "s2,2026-11-16 09:00,phone,Y,10\n"
         "s3,2026-11-18 10:00,chat,N,40\n"
         "s4,2026-11-22 21:00,phone,Y,30\n")


@pytest.fixture(scope="module")
def small_db(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("small")
    (folder / "contacts.csv").write_text(SMALL, encoding="utf-8")
    imports.import_file("contacts", folder / "contacts.csv", db=folder / "small.duckdb")
    return folder / "small.duckdb"


@pytest.fixture
def db(small_db, tmp_path, monkeypatch):
    path = tmp_path / "copy.duckdb"
    shutil.copy(small_db, path)
    monkeypatch.setenv("KPI_DB", str(path))
    st.cache_resource.clear()
    st.cache_data.clear()
    return path


def offered_w47(db: Path) -> int:
    with store.open_db(db, read_only=True) as con:
        return metrics.week_summary(con).offered


def weekly_volume(lang: str = "zh-TW") -> str:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=90)
    at.session_state["channel"] = "__all__"
    at.run()
    return next(m.value for m in tiles(at) if m.label == "進線")


def import_page(**state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    for k, v in state.items():
        at.session_state[k] = v
    at.switch_page("pages/import_data.py")
    at.run()
    return at


def test_upload_map_preview_commit_and_undo(db):
    before = weekly_volume()
    assert before == "3" == str(offered_w47(db))
    at = import_page()
    at.file_uploader(key="imp_file").set_value(("vendor.csv", VENDOR.encode("utf-8"), "text/csv")).run()
    assert not at.exception, [e.message for e in at.exception]
    assert next(s for s in at.selectbox if s.label == "資料集").value == "contacts"  # guessed from the headers
    # each canonical column by its Chinese name (the id shows in English mode only)
    picked = {m.label.rstrip(" *"): m.value for m in at.multiselect}
    assert picked["進線編號"] == ["Call ID"] and picked["進線時間"] == ["Start Time"]
    assert picked["專員姓名"] == ["Agent Name"] and picked["等候時間（秒）"] == ["Wait (sec)"]
    assert picked["通話時間（秒）"] == ["Talk Time"] and picked["佇列"] == ["Queue"]

    next(b for b in at.button if b.label == "預覽").click().run()
    assert not at.exception, [e.message for e in at.exception]
    counts = next(i.value for i in at.info if "讀取" in i.value)
    assert counts == "讀取 4 列：將新增 2、更新 0、不變 0、拒收 2"
    rows = at.dataframe[0].value.set_index("進線編號")
    assert "**前 2 列（寫入後的樣子）**" in [m.value for m in at.markdown]  # the 2 to be written, not "前 20 列"
    assert str(rows.loc["V-1", "進線時間"]) == "2026-11-20 10:15:00"  # day-first, decided from 25/11
    assert rows.loc["V-1", "通話時間（秒）"] == 270.0 and bool(rows.loc["V-1", "是否接通"]) is True
    assert rows.loc["V-1", "管道"] == "電話"  # the default channel, in words
    rejects = at.dataframe[1].value
    assert list(rejects.columns) == ["列號", "欄位", "值", "原因"]
    assert list(rejects["列號"]) == [4, 5] and list(rejects["欄位"]) == ["進線時間", "等候時間（秒）"]
    assert rejects["原因"].iloc[0].startswith("無法讀取「25/11/2026 25:61:00」（應為日期時間")
    assert rejects["原因"].iloc[1] == "時間長度為負值「-4」（應為 0 以上）"

    next(b for b in at.button if b.label == "寫入資料庫").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("完成：讀取 4、新增 2" in s.value and "vendor.csv，進線紀錄" in s.value for s in at.success)
    # the undo box, open after an import, offers the import just written, named with its file, dataset and counts
    assert at.toggle(key="imp_undo_open").value is True
    pick = at.selectbox(key="imp_pick")
    assert pick.value == max(map(int, html_tables(at)[-1]["匯入編號"]))  # the newest import, not the one picked before
    assert pick.format_func(pick.value) == f"#{pick.value} · vendor.csv（進線紀錄，新增 2、更新 0）"
    after = weekly_volume()
    assert int(after.replace(",", "")) == int(before.replace(",", "")) + 2

    # Undo the import just made: the weekly numbers go back. A new visit shows the history, the undo behind a switch.
    at = import_page()
    assert not any(s.key == "imp_pick" for s in at.selectbox) and at.toggle(key="imp_undo_open").value is False
    assert at.toggle(key="imp_undo_open").label == "復原匯入或下載其拒收列"
    at.toggle(key="imp_undo_open").set_value(True).run()
    latest = at.selectbox(key="imp_pick").value
    # the confirmation is a whole sentence where it wraps (a check box's label was cut to one line: "新增的列會刪…")
    warning = next(w.value for w in at.warning if "確定要復原" in w.value)
    assert warning.replace("\\", "") == (f"確定要復原 #{latest} · vendor.csv（進線紀錄，新增 2、更新 0）？"
                                          "新增的列會刪除、更新的列會還原。")
    assert at.checkbox(key=f"imp_confirm_{latest}").label == "我確定要復原這次匯入"
    at.checkbox(key=f"imp_confirm_{latest}").check().run()
    at.button(key=f"imp_undo_{latest}").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("已復原" in s.value and "刪除 2 列" in s.value for s in at.success)
    history = html_tables(at)[-1].set_index("匯入編號")
    assert history.loc[str(latest), "復原時間"] != "—"  # the history shows the undo in the same click
    # the import just undone stays chosen, and says so: nothing to confirm or click again (a second click gave an
    # English "was already undone" on the zh-TW page)
    assert not any(c.key == f"imp_confirm_{latest}" for c in at.checkbox)
    assert not any(b.key == f"imp_undo_{latest}" for b in at.button)
    assert [i.value for i in at.info if i.value.startswith(f"匯入 #{latest} 已於 ")][0].endswith(" 復原，無需再復原。")
    assert weekly_volume() == before


def test_big5_file_with_chinese_headers_is_pre_filled(db):
    big5 = "來電編號,通話日期,通話時間,等候時間,通話秒數,是否接通,專員,組別\nB-1,115/11/20,10:15,12,270,是,A001,帳務服務組\n"
    at = import_page()
    at.file_uploader(key="imp_file").set_value(("匯出.csv", big5.encode("cp950"), "text/csv")).run()
    assert not at.exception, [e.message for e in at.exception]
    assert "判斷為 Big5（繁體中文 Windows、CP950）" in [c.value for c in at.caption]  # which one "automatic" chose
    picked = {m.label.rstrip(" *"): m.value for m in at.multiselect}
    assert picked["進線編號"] == ["來電編號"] and picked["進線時間"] == ["通話日期", "通話時間"]
    assert picked["等候時間（秒）"] == ["等候時間"] and picked["通話時間（秒）"] == ["通話秒數"]
    assert picked["是否接通"] == ["是否接通"] and picked["專員"] == ["專員"] and picked["組別"] == ["組別"]
    next(b for b in at.button if b.label == "預覽").click().run()
    rows = at.dataframe[0].value
    assert str(rows["進線時間"].iloc[0]) == "2026-11-20 10:15:00"  # ROC 115 = 2026, date + time joined


def test_a_constant_for_a_column_the_file_lacks(db):
    chat = "Call ID,Start Time\nC-1,2026-11-20 10:00:00\n"
    at = import_page()
    at.file_uploader(key="imp_file").set_value(("chat.csv", chat.encode("utf-8"), "text/csv")).run()
    assert "判斷為 UTF-8（萬國碼）" in [c.value for c in at.caption]
    next(ti for ti in at.text_input if ti.label == "管道 固定值").input("chat").run()
    next(b for b in at.button if b.label == "預覽").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert list(at.dataframe[0].value["管道"]) == ["文字客服"]  # stored as chat, read in words


def test_the_decimal_mark_is_guessed_and_can_be_chosen(db):
    # A semicolon file with a decimal comma (12,5): guessed, so 12.5 s; with the point chosen, 12,5 is unreadable.
    semi = "Call ID;Start Time;Wait (sec)\nD-1;2026-11-20 10:00:00;12,5\n"
    at = import_page()
    at.file_uploader(key="imp_file").set_value(("semi.csv", semi.encode("utf-8"), "text/csv")).run()
    decimal = next(s for s in at.selectbox if s.label == "小數點符號")
    assert decimal.value == "auto" and decimal.format_func(",") == "逗號（1.234,5）"
    next(b for b in at.button if b.label == "預覽").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert list(at.dataframe[0].value["等候時間（秒）"]) == [12.5]
    decimal.set_value(".").run()
    next(b for b in at.button if b.label == "預覽").click().run()
    assert next(i.value for i in at.info if "讀取" in i.value) == "讀取 1 列：將新增 0、更新 0、不變 0、拒收 1"


FIXTURES = ROOT / "tests" / "fixtures" / "presets"


def upload(at: AppTest, path: Path) -> AppTest:
    at.file_uploader(key="imp_file").set_value((path.name, path.read_bytes(), "text/csv")).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def picks(at: AppTest) -> dict[str, list[str]]:
    return {m.label.rstrip(" *"): m.value for m in at.multiselect}


def preview_counts(at: AppTest) -> str:
    next(b for b in at.button if b.label == "預覽").click().run()
    assert not at.exception, [e.message for e in at.exception]
    return next(i.value for i in at.info if i.value.startswith("讀取"))


def test_a_five9_call_log_is_recognised_applied_and_can_be_mapped_by_hand(db):
    five9 = FIXTURES / "five9.csv"
    toggle = f"imp_preset_{hashlib.sha256(five9.read_bytes()).hexdigest()[:16]}_contacts"
    at = upload(import_page(), five9)
    assert at.info[0].value == "偵測到 Five9 通話紀錄報表匯出格式（預設格式第 1 版），已套用於下方的欄位對應。"
    assert next(s for s in at.selectbox if s.label == "資料集").value == "contacts"
    # The preset's mapping in the selects; its hh:mm:ss unit; answered worked out from the agent's name.
    got = picks(at)
    assert got["進線編號"] == ["CALL ID"] and got["進線時間"] == ["TIMESTAMP"] and got["佇列"] == ["CAMPAIGN"]
    assert got["等候時間（秒）"] == ["QUEUE WAIT TIME"] and got["是否接通"] == []
    assert next(s for s in at.selectbox if s.label == "時間長度單位").value == "hms"
    assert "由其他欄位推算：是否接通：「AGENT NAME」有值為是" in [c.value for c in at.caption]
    assert preview_counts(at) == "讀取 17 列：將新增 16、更新 0、不變 0、拒收 1"
    stored = at.dataframe[0].value.set_index("進線編號")
    assert stored.loc["300001", "通話時間（秒）"] == 240.0 and bool(stored.loc["300003", "是否接通"]) is False
    rejects = at.dataframe[1].value
    assert list(rejects["原因"]) == ["無法讀取「4:99」（應為 時:分:秒 或 分:秒，例如 00:04:30）"]

    # Switched off: the columns suggested from the header words, no derived column, durations as plain seconds.
    at.toggle(key=toggle).set_value(False).run()
    assert not at.exception, [e.message for e in at.exception]
    assert not any(c.value.startswith("由其他欄位推算") for c in at.caption)
    assert next(s for s in at.selectbox if s.label == "時間長度單位").value == "s"

    at.toggle(key=toggle).set_value(True).run()
    preview_counts(at)
    next(b for b in at.button if b.label == "寫入資料庫").click().run()
    assert any("完成：讀取 17、新增 16" in s.value for s in at.success)
    with store.open_db(db, read_only=True) as con:
        options = con.execute("SELECT options FROM imports ORDER BY import_id DESC LIMIT 1").fetchone()[0]
    assert '"mapping": "preset five9 v1"' in options


def use_presets(tmp_path: Path, monkeypatch) -> None:
    from kpi.imports import _presets

    for f in [*imports.PRESET_DIR.glob("*.yaml"), *(FIXTURES / "page").glob("*.yaml")]:
        shutil.copy(f, tmp_path / f.name)
    monkeypatch.setattr(_presets, "PRESET_DIR", tmp_path)


def test_a_surveys_export_is_recognised_and_its_repeats_superseded(db, tmp_path, monkeypatch):
    use_presets(tmp_path, monkeypatch)
    responses = ("回覆編號,提交時間,來電編號,整體滿意度,最後修改時間\n"
                 "R1,2026-11-20 10:00,V-1,3,2026-11-20 10:05\n"
                 "R2,2026-11-20 11:00,,5,2026-11-20 11:01\n"
                 "R1,2026-11-20 10:00,V-1,4,2026-11-20 12:30\n"   # R1 edited later: this version is kept
                 "R3,2026-11-21 09:00,,9,2026-11-21 09:00\n")     # a score out of 1-5: rejected
    (tmp_path / "回覆.csv").write_text(responses, encoding="utf-8")
    at = upload(import_page(), tmp_path / "回覆.csv")
    assert at.info[0].value == "偵測到 測試問卷平台 的匯出格式（預設格式第 3 版），已套用於下方的欄位對應。"
    assert next(s for s in at.selectbox if s.label == "資料集").value == "surveys"
    assert picks(at)["滿意度分數（1–5）"] == ["整體滿意度"]
    assert "同一筆紀錄在檔案中出現多次時，保留「最後修改時間」最新的版本，較舊的版本不匯入。" in [c.value for c in at.caption]
    # 4 rows: R1 twice (the later kept), R2; R3 rejected; the older R1 superseded, not a reject.
    assert preview_counts(at) == "讀取 4 列：將新增 2、更新 0、不變 0、拒收 1"
    assert "另有 1 列是檔案中同一筆紀錄的較舊版本，未匯入（保留最新版本，不算拒收）。" in [c.value for c in at.caption]
    stored = at.dataframe[0].value.set_index("問卷編號")
    assert stored.loc["R1", "滿意度分數（1–5）"] == 4


def test_a_complaints_export_is_recognised_with_a_derived_column(db, tmp_path, monkeypatch):
    use_presets(tmp_path, monkeypatch)
    cases = ("案件編號,立案時間,結案時間,案件類別,處理層級\n"
             "C-1,2026-11-16 09:00,2026-11-17 09:00,帳務,專員\n"
             "C-2,2026-11-16 10:00,,服務態度,主管\n"
             "C-3,2026-11-17 11:00,2026-11-18 15:00,網路,經理\n")
    (tmp_path / "客訴.csv").write_text(cases, encoding="utf-8")
    at = upload(import_page(), tmp_path / "客訴.csv")
    assert at.info[0].value == "偵測到 測試客訴系統 的匯出格式（預設格式第 1 版），已套用於下方的欄位對應。"
    assert next(s for s in at.selectbox if s.label == "資料集").value == "complaints"
    assert "由其他欄位推算：是否升級：「處理層級」為 主管、經理 時為是" in [c.value for c in at.caption]
    assert preview_counts(at) == "讀取 3 列：將新增 3、更新 0、不變 0、拒收 0"
    stored = at.dataframe[0].value.set_index("客訴編號")
    assert [bool(stored.loc[c, "是否升級"]) for c in ("C-1", "C-2", "C-3")] == [False, True, True]
def test_a_finance_workbook_of_two_sheets_is_read_whole_previewed_with_its_warning_and_committed(db, tmp_path):
    # Two cost-center sheets under a title (2026, 千元); 營運部's 合計 is 1 千元 off in March: a warning, not a reject.
    path = workbook(tmp_path / "預算.xlsx", {
        "營運部": [["2026年度預算（單位：千元）"], ["科目", "1月", "2月", "3月"], ["人員薪資", 1234, 1234, 1234],
                   ["電信費", 56, 56, 56], ["合計", 1290, 1290, 1291]],
        "管理部": [["2026年度預算（單位：千元）"], ["科目", "1月", "2月", "3月"], ["主管薪資", 432, 432, 432]],
    }, merged={"營運部": ["A1:D1"], "管理部": ["A1:D1"]})
    at = import_page()
    at.file_uploader(key="imp_file").set_value(("預算.xlsx", path.read_bytes(), XLSX)).run()
    assert not at.exception, [e.message for e in at.exception]
    assert next(s for s in at.selectbox if s.label == "資料集").value == "budget"
    assert "編碼" not in [s.label for s in at.selectbox]  # a workbook has no text encoding to choose
    sheet = next(s for s in at.selectbox if s.label == "工作表")
    assert sheet.format_func(sheet.value) == "（全部工作表）"  # a budget workbook is read whole
    next(b for b in at.button if b.label == "預覽").click().run()
    assert not at.exception, [e.message for e in at.exception]
    # 4 sheet rows (3 lines and the total); 3 lines x 3 months
    assert next(i.value for i in at.info if "讀取" in i.value) == "讀取 4 列：將新增 9、更新 0、不變 0、拒收 0"
    assert at.warning[0].value == "1 則提醒：資料照常匯入，請核對下列各項"
    warned = next(d.value for d in at.dataframe if "原因" in d.value.columns)
    assert list(warned.columns) == ["工作表", "列號", "欄位", "原因"]
    assert warned.iloc[0, :3].tolist() == ["營運部", 5, "2026-03"]
    assert "合計列為 NT$1,291,000，各科目加總為 NT$1,290,000" in warned.iloc[0, 3]
    next(b for b in at.button if b.label == "寫入資料庫").click().run()
    assert not at.exception, [e.message for e in at.exception]
    with store.open_db(db, read_only=True) as con:
        assert con.execute("SELECT cost_center, sum(budget) FROM budget GROUP BY ALL ORDER BY ALL").fetchall() == [
            ("營運部", 3_870_000.0), ("管理部", 1_296_000.0)]  # (1,234 + 56) x 3 and 432 x 3 千元
# Contact records as JSON lines: nested fields, UTC times with and without their Z, a line cut short.
RECORDS = ('{"ContactId": "j1", "InitiationTimestamp": "2026-11-20T01:00:00Z", '
           '"Agent": {"Username": "A001", "ConnectedToAgentTimestamp": "2026-11-20T01:00:12Z"}, "Queue": {"Name": "billing"}}\n'
           '{"ContactId": "j2", "InitiationTimestamp": "2026-11-20 17:30:00", "Queue": {"Name": "billing"}}\n'
           '{"ContactId": "j3", "InitiationTimestamp": "2026-11-20T02:\n')


def test_a_json_lines_export_with_its_dotted_fields_and_time_zone(db):
    at = import_page()
    at.file_uploader(key="imp_file").set_value(("ctr.jsonl", RECORDS.encode("utf-8"), "application/x-ndjson")).run()
    assert not at.exception, [e.message for e in at.exception]
    assert next(s for s in at.selectbox if s.label == "資料集").value == "contacts"
    picked = {m.label.rstrip(" *"): m.value for m in at.multiselect}
    assert picked["進線編號"] == ["ContactId"] and picked["進線時間"] == ["InitiationTimestamp"]
    assert picked["接通時間"] == ["Agent.ConnectedToAgentTimestamp"] and picked["佇列"] == ["Queue.Name"]
    # the export writes times without an offset in UTC: 17:30 UTC is 01:30 the next day in Taipei
    next(ti for ti in at.text_input if ti.label == "未標示時區的時間所屬時區").input("UTC").run()
    next(b for b in at.button if b.label == "預覽").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert next(i.value for i in at.info if "讀取" in i.value) == "讀取 3 列：將新增 2、更新 0、不變 0、拒收 1"
    rows = at.dataframe[0].value.set_index("進線編號")
    assert str(rows.loc["j1", "進線時間"]) == "2026-11-20 09:00:00" and rows.loc["j1", "等候時間（秒）"] == 12.0
    assert str(rows.loc["j2", "進線時間"]) == "2026-11-21 01:30:00"
    rejects = at.dataframe[1].value
    assert list(rejects["列號"]) == [3]  # the third record, cut where its line ends (column 59)
    assert rejects["原因"].iloc[0] == "不是有效的 JSON：從第 3 行第 59 個字元起無法解讀（整筆資料不匯入）"
    next(b for b in at.button if b.label == "寫入資料庫").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("完成：讀取 3、新增 2" in s.value for s in at.success)


def test_formula_looking_cells_are_rejected_rows_not_a_traceback(db):
    # the corpus file: =1+2, =NOW(), =TRUE(), -, =SUM(...) where a number, a time or yes/no is wanted; text elsewhere
    formulas = (ROOT / "tests" / "corpus" / "contacts_formulas.csv").read_bytes()
    at = import_page()
    at.file_uploader(key="imp_file").set_value(("formulas.csv", formulas, "text/csv")).run()
    assert not at.exception, [e.message for e in at.exception]
    next(b for b in at.button if b.label == "預覽").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert next(i.value for i in at.info if "讀取" in i.value) == "讀取 8 列：將新增 3、更新 0、不變 0、拒收 5"
    rejects = at.dataframe[1].value
    assert list(rejects["列號"]) == [2, 3, 4, 5, 5, 7]
    assert list(rejects["值"]) == ["=1+2", "=NOW()", "=TRUE()", "-", "=SUM(A1:A3)", "=SUM(1,2)"]
    next(b for b in at.button if b.label == "寫入資料庫").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("完成：讀取 8、新增 3" in s.value for s in at.success)



def test_a_surveycake_download_is_recognised_its_questions_found_by_their_words(db, tmp_path):
    from test_presets_helpdesk import SURVEYCAKE_HEADERS, surveycake_xlsx

    path = surveycake_xlsx(tmp_path / "客服滿意度調查.xlsx")
    at = import_page()
    at.file_uploader(key="imp_file").set_value((path.name, path.read_bytes(), "application/vnd.ms-excel")).run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.info[0].value == "偵測到 SurveyCake 問卷填答明細（Excel）匯出格式（預設格式第 1 版），已套用於下方的欄位對應。"
    assert next(s for s in at.selectbox if s.label == "資料集").value == "surveys"
    # The question columns found by their words fill the selects like the named ones.
    got = picks(at)
    assert got["問卷編號"] == ["序號"] and got["滿意度分數（1–5）"] == [SURVEYCAKE_HEADERS[2]]
    assert got["推薦分數（0–10）"] == [SURVEYCAKE_HEADERS[3]] and got["意見"] == [SURVEYCAKE_HEADERS[4]]
    assert preview_counts(at) == "讀取 12 列：將新增 12、更新 0、不變 0、拒收 0"
def test_amazon_connect_records_are_recognised_with_their_zone_derived_columns_and_repeats(db):
    at = upload(import_page(), FIXTURES / "amazon_connect.jsonl")
    assert at.info[0].value == "偵測到 Amazon Connect 聯絡紀錄串流匯出格式（預設格式第 1 版），已套用於下方的欄位對應。"
    got = picks(at)
    assert got["進線編號"] == ["ContactId"] and got["等候時間（秒）"] == ["Queue.Duration"]
    assert next(ti for ti in at.text_input if ti.label == "未標示時區的時間所屬時區").value == "UTC"
    captions = [c.value for c in at.caption]
    assert ("由其他欄位推算：是否接通：「Agent.ConnectedToAgentTimestamp」有值為是、是否轉接：「NextContactId」有值為是"
            in captions)
    # 16 records, c02 three times: the latest of its copies kept, the two others superseded (tests/test_presets_...).
    assert preview_counts(at) == "讀取 16 列：將新增 14、更新 0、不變 0、拒收 0"
    assert "另有 2 列是檔案中同一筆紀錄的較舊版本，未匯入（保留最新版本，不算拒收）。" in [c.value for c in at.caption]
    stored = at.dataframe[0].value.set_index("進線編號")
    assert str(stored.loc["c0000006-0000-4000-8000-000000000006", "進線時間"]) == "2026-11-17 01:30:00"  # 17:30 UTC


def test_avaya_cms_records_show_their_time_and_direction_rules_in_words(db):
    at = upload(import_page(), FIXTURES / "avaya_cms.csv")
    assert at.info[0].value == "偵測到 Avaya CMS 通話紀錄匯出格式（預設格式第 1 版），已套用於下方的欄位對應。"
    assert ("由其他欄位推算：進線時間：「SEGSTART」自 1970-01-01（UTC）起的秒數換算的時間、是否接通：「DISPOSITION」為 2 時為是、"
            "聯絡方向：「ORIGLOGIN」空白時為進線；「SEGMENT」為 1 時為外撥；其他為轉接") in [c.value for c in at.caption]
    assert preview_counts(at) == "讀取 11 列：將新增 11、更新 0、不變 0、拒收 0"
    stored = at.dataframe[0].value.set_index("進線編號")
    assert str(stored.loc["900005 1", "進線時間"]) == "2026-11-17 00:45:00"  # 1794847500 s = 16:45 UTC


def test_a_budget_workbook_s_drivers_sheet_is_previewed_and_committed_with_it(db, tmp_path):
    # The drivers sheet is known by its name (營運假設); its second row has a rate that is no number.
    path = workbook(tmp_path / "預算.xlsx", {
        "2026預算": [["科目", "1月", "2月"], ["加班費", 200_000, 160_000]],
        "營運假設": [["月份", "科目", "工時別", "預算來電量", "預算工時", "預算時薪", "實際工時"],
                     ["2026-01", "加班費", "加班", 1000, 500, 400, 660], ["2026-02", "加班費", "加班", 1000, 400, "四百", 2]]})
    at = import_page()
    at.file_uploader(key="imp_file").set_value(("預算.xlsx", path.read_bytes(), XLSX)).run()
    assert next(s for s in at.selectbox if s.label == "資料集").value == "budget"
    drivers = next(s for s in at.selectbox if s.label == "驅動因子工作表")
    assert drivers.value is None and drivers.format_func(drivers.value) == "（依工作表名稱：驅動因子、營運假設）"
    assert drivers.options[1:] == ["2026預算", "營運假設"]  # or any sheet, picked by hand
    next(b for b in at.button if b.label == "預覽").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert "預算驅動因子：讀取 2 列，將新增 1、更新 0、不變 0、拒收 1" in [i.value for i in at.info]
    rejected = next(d.value for d in at.dataframe if "原因" in d.value.columns and len(d.value) == 1)
    assert rejected.iloc[0, :2].tolist() == [3, "預算時薪（NT$／小時）"]  # the row and the column, in words
    next(b for b in at.button if b.label == "寫入資料庫").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("預算驅動因子" in s.value and "新增 1" in s.value for s in at.success)
    with store.open_db(db, read_only=True) as con:
        assert con.execute("SELECT line, pay, budget_rate FROM budget_drivers").fetchall() == [("加班費", "overtime", 400.0)]


def test_a_file_that_cant_be_imported_is_said_in_chinese(db):
    # "required column 'arrived_at' is missing for contacts; ... (map it with --mapping)" was the zh-TW page's error
    at = import_page()
    at.file_uploader(key="imp_file").set_value(("no_time.csv", b"contact_id,channel\nx1,phone\n", "text/csv")).run()
    at.selectbox(key=next(s.key for s in at.selectbox if s.label == "資料集")).set_value("contacts").run()
    next(b for b in at.button if b.label == "預覽").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert [e.value for e in at.error] == [
        "無法匯入「no_time.csv」：進線紀錄必填的「進線時間」沒有對應到檔案中的欄位，未寫入任何資料。"
        "請在上方「欄位對應」為它選擇檔案的欄位（檔案的欄位：contact_id, channel）。"]
    # a reason without Chinese words of its own: a sentence, and the technical reason folded away
    at = import_page()
    at.file_uploader(key="imp_file").set_value(("empty.csv", b"\n\n", "text/csv")).run()
    assert not at.exception
    assert [e.value for e in at.error] == ["無法匯入「empty.csv」：檔案是空的（第一列應為欄位名稱），未寫入任何資料。"]
