"""The sign-in as pages draw it (AppTest): the form before any page once a user exists, lock-out and idle messages,
name, role and sign-out in the sidebar, company sign-in (st.user) mapped by access.yaml, the single-user mode's banner,
and who imported or downloaded what."""
from __future__ import annotations

import shutil
import stat
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from kpi import auth, imports, store
from kpi.auth.access import Scope
from kpi.present import value_label
from helpers import html_tables, tiles

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"
# A page as the entry script frames it: the gate first, then numbers only when it lets the visitor through. (AppTest
# re-runs only the page script of a multipage app after its first run, so the interactions use this one-page app;
# dashboard.py's own gate is checked on its first run below and in the browser tests.)
GATE = """
import streamlit as st
import ui.auth
{patch}
gate = ui.auth.sign_in_gate()
gate.draw()
if gate.open:
    st.title("KPI")
    st.metric("進線", "3,710")
    {after}
"""
OIDC = {"auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "a cookie secret long enough",
                 "client_id": "kpi", "client_secret": "not used here",
                 "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}}


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = tmp_path / "kpi.duckdb"
    (tmp_path / "c.csv").write_text("contact_id,arrived_at,team\nc1,2026-11-16 09:00,技術支援組\n", encoding="utf-8")
    imports.import_file("contacts", tmp_path / "c.csv", db=path)  # some data: the dashboard loads no sample into it
    with store.open_db(path) as con:
        auth.add_user(con, "mei", "supervisor", PASSWORD, auth.AuthSettings(), teams=["技術支援組"], by="root")
    monkeypatch.setenv("KPI_DB", str(path))
    monkeypatch.delenv("KPI_ACCESS", raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()
    return path


def gate(patch: str = "", after: str = "") -> AppTest:
    at = AppTest.from_string(GATE.format(patch=patch, after=after), default_timeout=60)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def sign_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="auth_name").input(name)
    at.text_input(key="auth_password").input(password)
    at.button[-1].click().run()  # the form's submit button, below the company sign-in buttons
    assert not at.exception, [e.message for e in at.exception]
    return at


def events(db: Path) -> list[tuple]:
    """(user, action) of the audit events after the fixture's import (1) and its user (2), oldest first."""
    with store.open_db(db, read_only=True) as con:
        return con.execute("SELECT user_name, action FROM audit_log WHERE event_id > 2 ORDER BY event_id").fetchall()


def test_signing_in_shows_the_page_with_the_users_name_role_and_sign_out(db):
    at = gate()
    assert [t.value for t in at.title] == ["登入"] and not at.metric
    sign_in(at, "mei", "wrong password!")
    assert [e.value for e in at.error] == ["帳號或密碼錯誤。再錯 4 次，這個帳號將鎖定 15 分鐘。"] and not at.metric
    sign_in(at, "mei", PASSWORD)
    assert [t.value for t in at.title] == ["KPI"] and at.metric[0].value == "3,710"
    assert at.session_state["scope"] == Scope("supervisor", frozenset({"技術支援組"}), None, "mei")
    assert [m.value for m in at.sidebar.markdown] == ["已登入：**mei**（主管）"]
    at.sidebar.button(key="auth_sign_out").click().run()
    assert [t.value for t in at.title] == ["登入"] and not at.metric
    assert [i.value for i in at.info] == ["已登出。"] and "scope" not in at.session_state
    assert events(db) == [("mei", "sign_in_failed"), ("mei", "sign_in"), ("mei", "sign_out")]


def test_signing_out_leaves_nothing_typed_or_chosen_for_the_next_user_but_the_language(db):
    # Widgets that keep their value for the session (an unsaved improvement report, the sidebar's filters) would have
    # shown one user's draft and choices to whoever signed in next on the same tab; the audit log would then have
    # named the second user for the first one's text.
    with store.open_db(db) as con:
        auth.add_user(con, "lin", "supervisor", PASSWORD, auth.AuthSettings(), teams=["技術支援組"], by="root")
    at = sign_in(gate(after='st.text_area("根本原因", key="ir_x_root", persist_state="session")'), "mei", PASSWORD)
    at.text_area(key="ir_x_root").input("mei 的草稿").run()
    at.session_state["team"] = "技術支援組"
    at.session_state["lang"] = "en"
    at.run()
    assert at.text_area(key="ir_x_root").value == "mei 的草稿"
    at.sidebar.button(key="auth_sign_out").click().run()
    assert "team" not in at.session_state and "ir_x_root" not in at.session_state
    assert at.session_state["lang"] == "en"  # the tab's language stays
    sign_in(at, "lin", PASSWORD)
    assert at.text_area(key="ir_x_root").value == "" and at.session_state["scope"].user == "lin"


def test_five_wrong_passwords_lock_the_account_with_a_clear_message(db):
    at = gate()
    for left in (4, 3, 2, 1):
        assert sign_in(at, "mei", "wrong password!").error[0].value == \
            f"帳號或密碼錯誤。再錯 {left} 次，這個帳號將鎖定 15 分鐘。"
    message = sign_in(at, "mei", "wrong password!").error[0].value
    with store.open_db(db, read_only=True) as con:
        until, = con.execute("SELECT locked_until FROM sign_in_failures WHERE name = 'mei'").fetchone()
    assert message == f"這個帳號已鎖定：連續 5 次登入失敗。請於 {until:%Y-%m-%d %H:%M} 後再試，或請系統管理者重設密碼。"
    assert sign_in(at, "mei", PASSWORD).error[0].value == message and not at.metric  # the right one waits too


def test_an_empty_name_or_password_is_asked_for_without_counting_a_failure(db):
    at = sign_in(gate(), "mei", "")
    assert [e.value for e in at.error] == ["請輸入帳號與密碼。"]
    assert events(db) == []


def test_an_idle_session_is_signed_out_with_a_message(db):
    at = sign_in(gate(), "mei", PASSWORD)
    at.session_state["_auth_seen"] = datetime.now() - timedelta(minutes=29)
    at.run()
    assert at.metric  # 29 minutes: still signed in
    at.session_state["_auth_seen"] = datetime.now() - timedelta(minutes=31)
    at.run()
    assert [t.value for t in at.title] == ["登入"] and not at.metric
    assert [i.value for i in at.info] == ["閒置超過 30 分鐘，已自動登出；請重新登入。"]
    assert events(db)[-1] == ("mei", "session_expired")


def test_the_idle_time_and_lock_out_come_from_access_yaml(db):
    (db.parent / "access.yaml").write_text("idle_minutes: 5\nmax_failures: 3\nlock_minutes: 60\n", encoding="utf-8")
    at = sign_in(gate(), "mei", "wrong password!")
    assert at.error[0].value == "帳號或密碼錯誤。再錯 2 次，這個帳號將鎖定 60 分鐘。"
    sign_in(at, "mei", PASSWORD)
    at.session_state["_auth_seen"] = datetime.now() - timedelta(minutes=6)
    at.run()
    assert [i.value for i in at.info] == ["閒置超過 5 分鐘，已自動登出；請重新登入。"]


def test_a_disabled_or_changed_account_applies_at_the_next_page_run(db):
    at = sign_in(gate(), "mei", PASSWORD)
    with store.open_db(db) as con:
        auth.set_role(con, "mei", "trainer", ["帳務服務組"], by="root")
    at.run()
    assert at.session_state["scope"] == Scope("trainer", frozenset({"帳務服務組"}), None, "mei")
    with store.open_db(db) as con:
        auth.set_disabled(con, "mei", True, by="root")
    at.run()
    assert [t.value for t in at.title] == ["登入"] and not at.metric and "scope" not in at.session_state


def test_a_broken_access_yaml_shows_why_and_no_page(db):
    (db.parent / "access.yaml").write_text("idle_minutes: soon\n", encoding="utf-8")
    at = gate()
    assert not at.metric and not at.text_input
    assert at.error[0].value.startswith("存取設定檔有誤，因此暫停登入；請系統管理者修正：")
    assert "idle_minutes must be a positive number, found 'soon'" in at.error[0].value


def test_with_a_user_the_dashboard_shows_the_sign_in_form_and_no_number(sample_db, tmp_path, monkeypatch):
    db = tmp_path / "kpi.duckdb"
    shutil.copy(sample_db, db)
    with store.open_db(db) as con:
        auth.add_user(con, "mei", "admin", PASSWORD, auth.AuthSettings())
    monkeypatch.setenv("KPI_DB", str(db))
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["登入"] and [c.value for c in at.caption] == [
        "本儀表板含有專員績效與顧客意見等個人資料，請先登入。"]
    assert not tiles(at) and not html_tables(at) and not at.table and not at.dataframe and not at.selectbox  # no number, no table, no filter
    assert [ti.label for ti in at.text_input] == ["帳號", "密碼"]


def test_with_no_user_the_dashboard_opens_with_the_single_user_banner(sample_db, tmp_path, monkeypatch):
    db = tmp_path / "kpi.duckdb"
    shutil.copy(sample_db, db)
    monkeypatch.setenv("KPI_DB", str(db))
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["channel"] = "__all__"
    at.run()
    assert not at.exception and at.title[0].value == "每週績效" and tiles(at)
    assert at.sidebar.caption[0].value == ("單人模式：不需登入，只有這台電腦能開啟。要與同事共用，請先在命令列執行 "
                                           "`python -m kpi users add` 建立使用者（見說明文件的「多人使用」）。")


def test_with_no_user_a_visitor_from_another_computer_sees_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("KPI_DB", str(tmp_path / "none.duckdb"))  # no file: no user
    at = gate(patch='ui.auth._client_ip = lambda: "192.0.2.7"')
    assert not at.metric and at.error[0].value.startswith("本儀表板尚未建立使用者，只能在執行它的電腦上開啟。")
    at = gate(patch='ui.auth._client_ip = lambda: "::ffff:127.0.0.1"')  # this computer over IPv6
    assert at.metric


def company(db: Path, user: dict) -> AppTest:
    (db.parent / "access.yaml").write_text(
        "oidc:\n  emails:\n    Mei.Lin@example.com: {role: supervisor, teams: [技術支援組]}\n"
        "  groups:\n    kpi-finance: {role: finance}\n", encoding="utf-8")
    at = AppTest.from_string(GATE.format(patch="", after=""), default_timeout=60)
    at.secrets = OIDC
    at.user = user
    return at.run()


def test_company_sign_in_maps_the_person_by_email_or_group(db):
    at = company(db, {"is_logged_in": True, "email": "mei.lin@example.com", "sub": "1"})
    assert not at.exception and at.metric
    assert at.session_state["scope"] == Scope("supervisor", frozenset({"技術支援組"}), None, "mei.lin@example.com")
    assert [m.value for m in at.sidebar.markdown] == ["已登入：**mei\\.lin@example\\.com**（主管）"]
    at.run()
    assert events(db) == [("mei.lin@example.com", "sign_in")]  # once a session, not once a page run
    at = company(db, {"is_logged_in": True, "email": "kim@example.com", "groups": ["staff", "kpi-finance"]})
    assert at.session_state["scope"] == Scope("finance", None, None, "kim@example.com")


def test_an_unmapped_company_account_sees_only_ask_your_administrator(db):
    at = company(db, {"is_logged_in": True, "email": "stranger@example.com", "groups": ["staff"]})
    assert not at.exception and not at.metric and not at.text_input
    assert [t.value for t in at.title] == ["尚未開通使用權限"]
    assert at.warning[0].value == ("您已用公司帳號 stranger@example.com 登入，但這個帳號尚未獲得本儀表板的使用權限。"
                                   "請洽系統管理者，將您的電子郵件或群組加入存取設定。")
    at.run()
    assert events(db) == [("stranger@example.com", "access_refused")]  # once
    assert [b.label for b in at.button] == ["登出"]


def test_before_company_sign_in_the_form_offers_it_beside_the_local_accounts(db):
    at = company(db, {"is_logged_in": False})
    assert [b.label for b in at.button] == ["以公司帳號登入", "登入"] and not at.metric
    assert "或以本機帳號登入：" in [c.value for c in at.caption]


def test_a_download_names_its_user_in_the_audit_log(db):
    at = gate(patch='import streamlit as st\nfrom kpi.auth.access import Scope\n'
                    'st.session_state["scope"], st.session_state["_auth_method"] = Scope("admin", user="mei"), "local"\n'
                    'import datetime\nst.session_state["_auth_seen"] = datetime.datetime.now()',
              after='st.code(ui.auth.audited(lambda: b"a,b", "每週績效_組別績效_2026-W47.csv")().decode())')
    assert at.code[0].value == "a,b"
    with store.open_db(db, read_only=True) as con:
        log = auth.audit_log(con, action="export")
    assert log[["user_name", "target"]].values.tolist() == [["mei", "每週績效_組別績效_2026-W47.csv"]]


VENDOR = "contact_id,arrived_at,answered_at,team\nv1,2026-11-20 10:15,2026-11-20 10:15:12,技術支援組\n"


def test_the_import_page_records_the_signed_in_user_and_keeps_the_upload_private(db):
    at = AppTest.from_file(str(ROOT / "pages" / "import_data.py"), default_timeout=120)
    at.session_state["scope"] = Scope("admin", user="mei")
    at.run()
    at.file_uploader(key="imp_file").set_value(("week.csv", VENDOR.encode("utf-8"), "text/csv")).run()
    uploads = sorted(imports_dir().glob("*_week.csv"))
    assert uploads and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in uploads)
    assert stat.S_IMODE(imports_dir().stat().st_mode) == 0o700
    next(b for b in at.button if b.label == "預覽").click().run()
    next(b for b in at.button if b.label == "寫入資料庫").click().run()
    assert not at.exception, [e.message for e in at.exception]
    with store.open_db(db, read_only=True) as con:
        assert imports.import_history(con, 1)["run_by"].tolist() == ["mei"]
    assert events(db)[-1] == ("mei", "import")


def imports_dir() -> Path:
    import tempfile
    return Path(tempfile.gettempdir()) / "kpi_uploads"


def test_the_data_status_page_shows_administrators_the_audit_log(db):
    with store.open_db(db) as con:
        auth.sign_in(con, "mei", "wrong password!", auth.AuthSettings())
    at = AppTest.from_file(str(ROOT / "pages" / "data_status.py"), default_timeout=60)
    at.session_state["scope"] = Scope("admin", user="boss")
    at.run()
    assert not at.exception and at.subheader[-1].value == "稽核紀錄"
    shown = html_tables(at)[-1]  # newest first: the failed sign-in, the user, the fixture's import
    assert shown[["使用者", "動作", "內容", "來源"]].values.tolist() == [
        ["mei", "登入失敗", "mei：帳號或密碼錯誤", "儀表板"], ["系統管理員", "新增使用者", "mei：主管，技術支援組", "命令列"],
        [value_label("run_by", auth.os_user(), "zh-TW"), "匯入", "#1 c.csv（進線紀錄）：讀取 1、新增 1、更新 0、拒收 0", "命令列"]]
    with store.open_db(db) as con:  # an event in another process's way: the data version does not move, the file does
        auth.sign_in(con, "mei", "another wrong one", auth.AuthSettings())
    at.run()
    assert [r[:2] for r in html_tables(at)[-1][["使用者", "動作"]].values.tolist()] == [
        ["mei", "登入失敗"], ["mei", "登入失敗"], ["系統管理員", "新增使用者"], [value_label("run_by", auth.os_user(), "zh-TW"), "匯入"]]
    at = AppTest.from_file(str(ROOT / "pages" / "data_status.py"), default_timeout=60)
    at.session_state["scope"] = Scope("finance", user="fin")
    at.run()
    assert "稽核紀錄" not in [s.value for s in at.subheader]


@pytest.mark.parametrize("page", ["pages/weekly.py", "pages/budget.py", "pages/glossary.py"])
def test_a_page_run_without_the_entry_scripts_sign_in_shows_nothing_once_users_exist(db, page):
    """A page script run alone (as Streamlit's pages/-folder mode ran a bookmarked URL on a new server): with accounts
    in the file and nobody signed in, the session's scope is no one's, not everything."""
    at = AppTest.from_file(str(ROOT / page), default_timeout=60).run()
    assert not at.exception, [e.message for e in at.exception]
    assert [i.value for i in at.info] == ["本儀表板含有專員績效與顧客意見等個人資料，請先登入。"]
    assert not at.title and not at.dataframe and not at.get("html")  # no page title, table or tile
