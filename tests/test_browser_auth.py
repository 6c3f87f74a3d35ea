"""Sign-in in a real browser (Chromium): an anonymous visitor of every page URL sees the sign-in form and no number;
sign-in lands on the page asked for, sign-out ends it; five wrong passwords lock the account; company sign-in (OIDC)
against a provider on 127.0.0.1 lets a mapped person in and refuses an unmapped one; with no user the app runs
without sign-in, bound to localhost; `python -m kpi audit` lists the sign-ins and the import made here.

Marked `browser` (pytest -m browser), like tests/test_browser.py, whose server and browser set-up this reuses."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from oidc_provider import OidcProvider
from test_browser import (PAGES, ROOT, SHOTS, nav_index, _no_errors, _section, _settle, _start, browser,  # noqa: F401
                          playwright)  # noqa: F401  (fixtures)
from test_browser_scope import AGENT_ID, OTHERS, TECH, TECH_AGENTS, _downloads, _nav, _select_options

from kpi import auth, store

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"


def _stop(proc) -> None:
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def users_db(sample_db, tmp_path_factory) -> Path:
    """The sample with three accounts: an administrator, a supervisor and a trainer of 技術支援組."""
    db = tmp_path_factory.mktemp("users") / "kpi.duckdb"
    shutil.copy(sample_db, db)
    with store.open_db(db) as con:
        auth.add_user(con, "boss", "admin", PASSWORD, auth.AuthSettings(), by="test")
        auth.add_user(con, "mei", "supervisor", PASSWORD, auth.AuthSettings(), teams=["技術支援組"], by="test")
        auth.add_user(con, "ann", "trainer", PASSWORD, auth.AuthSettings(), teams=["技術支援組"], by="test")
    return db


@pytest.fixture(scope="module")
def signed_server(users_db):
    proc, url = _start(users_db)
    yield url
    _stop(proc)


def _visit(browser, url: str):
    page = browser.new_page(viewport={"width": 1500, "height": 2400})
    page.set_default_timeout(90_000)  # a loaded 2-core machine renders slowly; waiting is not failing
    page.goto(url)
    _settle(page)
    return page


def _sign_in(page, name: str, password: str) -> None:
    page.get_by_label("帳號").fill(name)
    page.get_by_label("密碼", exact=True).fill(password)
    page.get_by_role("button", name="登入", exact=True).click()


def _signed_in(page, name: str) -> None:
    """Sign in with the right password and wait until the page the sign-in opened is drawn."""
    _sign_in(page, name, PASSWORD)
    page.wait_for_selector("text=已登入：")
    _settle(page)


@pytest.mark.parametrize("path, zh, en, shot", PAGES)
def test_an_anonymous_visitor_of_every_page_url_sees_the_sign_in_form_and_no_number(signed_server, browser,
                                                                                   path, zh, en, shot):
    page = _visit(browser, f"{signed_server}/{path}")
    assert page.locator("h1").first.inner_text() == "登入"
    for hidden in ("stTable", "stDataFrame", "stEChartsChart", "stSidebarNav", "stPopover", "stSelectbox", "stTabs",
                   "stDownloadButton"):
        assert page.locator(f'[data-testid="{hidden}"]').count() == 0, hidden
    assert page.locator("table.kpi-table, div.kpi-tile").count() == 0  # the pages' tables and tiles (ui.widgets)
    body = page.inner_text("body")
    assert zh not in body and "%" not in body and "NT$" not in body
    if not path:
        page.screenshot(path=str(SHOTS / "sign_in.zh-TW.png"))
    page.close()


def test_sign_in_opens_the_page_asked_for_and_sign_out_ends_the_session(signed_server, browser):
    page = _visit(browser, f"{signed_server}/quality")
    _signed_in(page, "mei")
    assert "服務品質" in page.locator("h1").first.inner_text()  # the URL's page, now shown
    sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
    assert "已登入：mei（主管）" in sidebar
    _no_errors(page)
    page.screenshot(path=str(SHOTS / "signed_in.zh-TW.png"))
    page.get_by_role("button", name="登出").click()
    page.wait_for_selector("text=已登出。")
    assert page.locator("h1").first.inner_text() == "登入"
    assert page.locator('div.kpi-tile').count() == 0
    page.reload()  # a new visit after the sign-out: still the form
    _settle(page)
    assert page.locator("h1").first.inner_text() == "登入"
    page.close()


def test_a_signed_in_supervisor_sees_only_their_teams_pages_filters_and_rows(signed_server, browser):
    """The sign-in puts the user's Scope where ui.access reads it: the scope enforcement applies to signed-in users."""
    page = _visit(browser, f"{signed_server}/mine")  # listed for nobody before a sign-in, yet the form is shown
    assert page.locator("h1").first.inner_text() == "登入" and page.locator('div.kpi-tile').count() == 0
    page.goto(signed_server)
    _settle(page)
    _signed_in(page, "mei")
    assert _nav(page) == ["每週績效", "服務品質 (T4.3)", "人力配置", "職能輔導", "指標說明"]  # no budget, import or data status
    assert _select_options(page, "組別") == [TECH]
    body = page.inner_text("body")
    assert "每週績效" in page.locator("h1").first.inner_text() and not any(team in body for team in OTHERS)
    assert AGENT_ID.findall(body) and set(AGENT_ID.findall(body)) <= TECH_AGENTS
    _section(page, "組別與專員")
    body = page.inner_text("body")
    assert not any(team in body for team in OTHERS) and set(AGENT_ID.findall(body)) <= TECH_AGENTS
    (teams, agents, *_) = _downloads(page, "下載 CSV")
    assert [r[0] for r in teams[1:]] == [TECH] and {r[0].split()[0] for r in agents[1:]} == TECH_AGENTS
    _no_errors(page)
    page.goto(f"{signed_server}/budget")  # a new session by its address: the form, then not the budget
    _settle(page)
    _signed_in(page, "mei")
    assert "預算執行" not in page.locator("h1").first.inner_text() and "NT$" not in page.inner_text("body")
    page.close()


def test_five_wrong_passwords_lock_the_account_with_a_clear_message(signed_server, browser, users_db):
    page = _visit(browser, signed_server)
    for left in (4, 3, 2, 1):
        _sign_in(page, "boss", "not the password")
        page.wait_for_selector(f"text=再錯 {left} 次")
    _sign_in(page, "boss", "not the password")
    page.wait_for_selector("text=這個帳號已鎖定")
    message = page.locator('[data-testid="stAlertContentError"]').inner_text()
    assert message.startswith("這個帳號已鎖定：連續 5 次登入失敗。請於 ") and message.endswith("後再試，或請系統管理者重設密碼。")
    page.screenshot(path=str(SHOTS / "sign_in.locked.zh-TW.png"))
    _sign_in(page, "boss", PASSWORD)  # the right password while locked
    page.wait_for_timeout(1500)
    _settle(page)
    assert page.locator("h1").first.inner_text() == "登入" and page.locator('div.kpi-tile').count() == 0
    with store.open_db(users_db) as con:  # the administrator lifts it for the tests after this one
        auth.reset_password(con, "boss", PASSWORD, auth.AuthSettings(), by="test")
    page.close()


def test_audit_lists_the_sign_ins_the_download_and_the_import_made_here_with_their_users(signed_server, browser,
                                                                                         users_db, tmp_path):
    page = _visit(browser, signed_server)
    _sign_in(page, "boss", PASSWORD)
    page.wait_for_selector('div.kpi-tile')
    _settle(page)
    _section(page, "組別與專員")
    with page.expect_download() as caught:
        page.locator('[data-testid="stDownloadButton"] button:has-text("下載 CSV")').first.click()
    downloaded = caught.value.suggested_filename
    page.locator('[data-testid="stSidebarNav"] a').nth(nav_index("import_data")).click()  # 匯入資料
    _settle(page)
    export = tmp_path / "第47週.csv"
    export.write_text("contact_id,arrived_at,answered_at,team\nAUD-1,2026-11-20 10:15,2026-11-20 10:15:12,技術支援組\n",
                      encoding="utf-8")
    with page.expect_file_chooser() as chooser:
        page.locator('[data-testid="stFileUploaderDropzone"] button').first.click()
    chooser.value.set_files(str(export))
    page.wait_for_selector("text=依欄位判斷為：進線紀錄")
    _settle(page)
    page.get_by_role("button", name="預覽").click()
    page.wait_for_selector("text=將新增 1")
    page.get_by_role("button", name="寫入資料庫").click()
    page.wait_for_selector("text=完成：讀取 1、新增 1")
    page.close()
    done = subprocess.run([sys.executable, "-m", "kpi", "audit", "--json", "--limit", "200", "--db", str(users_db)],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    events = [(e["user"], e["action"], e["target"]) for e in json.loads(done.stdout)]
    assert ("boss", "sign_in", "boss") in events and ("boss", "export", downloaded) in events
    imported = next(e for e in json.loads(done.stdout) if e["action"] == "import" and e["user"] == "boss")
    assert imported["detail"]["file"] == "第47週.csv" and imported["detail"]["inserted"] == 1
    readable = subprocess.run([sys.executable, "-m", "kpi", "audit", "--user", "boss", "--db", str(users_db)],
                              cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "第47週.csv（進線紀錄）：讀取 1、新增 1" in readable and "登入" in readable


def test_with_no_user_the_readme_command_runs_without_sign_in_on_localhost_only(sample_db, browser, tmp_path):
    db = tmp_path / "kpi.duckdb"
    shutil.copy(sample_db, db)
    proc, url = _start(db, address=None)  # the address .streamlit/config.toml sets, as `streamlit run dashboard.py`
    try:
        port = int(url.rsplit(":", 1)[1])
        assert _listening(port) == {"127.0.0.1"}  # nobody else on the network reaches it
        page = _visit(browser, url)
        assert page.locator("h1").first.inner_text() == "每週績效" and page.locator('div.kpi-tile').count()
        assert "單人模式：不需登入，只有這台電腦能開啟。" in page.locator('[data-testid="stSidebar"]').inner_text()
        page.close()
    finally:
        _stop(proc)


def _listening(port: int) -> set[str]:
    """The local addresses a process listens on at port, from /proc/net/tcp and tcp6 (state 0A: LISTEN)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                if len(address) == 8:
                    found.add(".".join(str(int(address[i:i + 2], 16)) for i in (6, 4, 2, 0)))
                else:
                    found.add("::" if set(address) == {"0"} else address)
    return found


@pytest.fixture(scope="module")
def company_server(sample_db, tmp_path_factory):
    """The app with company sign-in configured against a provider on 127.0.0.1, and access.yaml naming one person
    (and a group); no local account."""
    folder = tmp_path_factory.mktemp("oidc")
    db = folder / "kpi.duckdb"
    shutil.copy(sample_db, db)
    (folder / "access.yaml").write_text("oidc:\n  emails:\n    mei.lin@example.com: {role: supervisor, teams: [技術支援組]}\n"
                                        "  groups:\n    kpi-finance: {role: finance}\n", encoding="utf-8")
    with OidcProvider("kpi-dashboard", "test-client-secret", groups={"kim@example.com": ["kpi-finance"]}) as idp:
        (folder / "secrets.toml").write_text(
            "[auth]\n"
            'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
            'cookie_secret = "a long random cookie secret for the test run"\n'
            'client_id = "kpi-dashboard"\n'
            'client_secret = "test-client-secret"\n'
            f'server_metadata_url = "{idp.metadata_url}"\n', encoding="utf-8")
        proc, url = _start(db, "--secrets.files", str(folder / "secrets.toml"))
        yield url, idp, db
        _stop(proc)


def _company_sign_in(browser, url: str, email: str):
    context = browser.new_context(viewport={"width": 1500, "height": 2400})
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto(url)
    _settle(page)
    page.get_by_role("button", name="以公司帳號登入").click()
    page.wait_for_selector("text=Test company sign-in")  # the provider's own page
    page.fill('input[name="login_email"]', email)
    page.click('button[type="submit"]')
    page.wait_for_url(f"{url}/**")
    _settle(page)
    return context, page


def test_company_sign_in_lets_a_mapped_person_in(company_server, browser):
    url, idp, db = company_server
    context, page = _company_sign_in(browser, url, "mei.lin@example.com")
    page.wait_for_selector('div.kpi-tile')
    _settle(page)
    assert "已登入：mei.lin@example.com（主管）" in page.locator('[data-testid="stSidebar"]').inner_text()
    assert page.locator("h1").first.inner_text() == "每週績效"
    _no_errors(page)
    assert "mei.lin@example.com" in idp.issued
    with store.open_db(db, read_only=True) as con:
        assert auth.audit_log(con, user="mei.lin@example.com")["action"].tolist() == ["sign_in"]
    context.close()


def test_company_sign_in_refuses_an_unmapped_person(company_server, browser):
    url, idp, db = company_server
    context, page = _company_sign_in(browser, url, "stranger@example.com")
    page.wait_for_selector("text=尚未開通使用權限")
    body = page.inner_text("body")
    assert "請洽系統管理者" in body and "stranger@example.com" in body
    assert page.locator('div.kpi-tile').count() == 0 and page.locator('[data-testid="stSidebarNav"]').count() == 0
    page.screenshot(path=str(SHOTS / "sign_in.unmapped.zh-TW.png"))
    with store.open_db(db, read_only=True) as con:
        assert auth.audit_log(con, user="stranger@example.com")["action"].tolist() == ["access_refused"]
    context.close()


def test_a_sign_in_lands_on_the_roles_first_page_without_a_word_about_another_page(signed_server, browser):
    # A trainer signing in at "/" was told 這個網址是「每週績效」頁…無法開啟 (the sign-in form runs under the default
    # page), and after an agent signed out of /mine the next user read that an agent had used the tab. The notice is
    # for a typed address only; here the role's first page opens, with no notice and no "Page not found" dialog.
    page = _visit(browser, signed_server)
    _signed_in(page, "ann")
    assert page.locator("h1").first.inner_text().startswith("職能輔導")
    assert "這個網址是" not in page.inner_text("body") and not page.locator('[role="dialog"]').count()
    page.get_by_role("button", name="登出").click()
    page.wait_for_selector("text=已登出。")
    page.close()
    page = _visit(browser, f"{signed_server}/quality")  # mei's page, then ann signs in on the same tab
    _signed_in(page, "mei")
    page.get_by_role("button", name="登出").click()
    page.wait_for_selector("text=已登出。")
    _signed_in(page, "ann")
    assert page.locator("h1").first.inner_text().startswith("職能輔導")
    body = page.inner_text("body")
    assert "這個網址是" not in body and "服務品質" not in page.locator("h1").first.inner_text()
    assert not page.locator('[role="dialog"]').count() and "Page not found" not in body
    page.close()


def test_a_bookmark_of_a_page_the_role_may_not_open_is_said_after_the_sign_in(signed_server, browser):
    # A trainer's bookmark of /budget: the sign-in form, then the trainer's first page, and it landed there silently.
    page = _visit(browser, f"{signed_server}/budget")
    _signed_in(page, "ann")
    assert page.locator("h1").first.inner_text().startswith("職能輔導")
    assert "這個網址是「預算執行 (T2.2)」頁，「訓練人員」角色無法開啟；以下改為顯示「職能輔導」。" in page.inner_text("body")
    assert not page.locator('[role="dialog"]').count()
    page.close()

