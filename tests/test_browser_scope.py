"""Real browser, within a user's scope (issue 15): a supervisor of 技術支援組 sees only that team in every filter, table
and export; finance sees no agent row and no comment.

The app is served as the sign-in leaves it: st.session_state["scope"] holds the user's Scope. A test-only entry
script (written to a temporary folder, never shipped) puts a Scope there before it runs dashboard.py, so no switch in
the product can grant a scope. Marked `browser` (see tests/test_browser.py for Chromium and how pages are waited for).
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from test_browser import _filters, _no_errors, _settle, _start, browser, playwright  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parent.parent
TECH, OTHERS = "技術支援組", ("帳務服務組", "會員服務組")
TECH_AGENTS = {f"A{i:03d}" for i in range(11, 21)}
AGENT_ID = re.compile(r"\bA\d{3}\b")

pytestmark = pytest.mark.browser

_ENTRY = """\
import runpy, sys
sys.path.insert(0, {root!r})
import streamlit as st
from kpi.auth.access import Scope
st.session_state.setdefault("scope", Scope({role!r}, {teams!r}, {agent_id!r}, user="browser-test"))
runpy.run_path({dashboard!r}, run_name="__main__")
"""


def _serve_as(db: Path, folder: Path, role: str, teams: frozenset[str] | None, agent_id: str | None = None):
    """The dashboard served with this scope in every session; (process, url)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pages").symlink_to(ROOT / "pages")  # st.Page paths are relative to the entry script
    entry = folder / "app.py"
    entry.write_text(_ENTRY.format(root=str(ROOT), role=role, teams=teams, agent_id=agent_id, dashboard=str(ROOT / "dashboard.py")),
                     encoding="utf-8")
    return _start(db, script=entry)


@pytest.fixture(scope="module")
def supervisor(sample_copy, tmp_path_factory):
    proc, url = _serve_as(sample_copy, tmp_path_factory.mktemp("supervisor"), "supervisor", frozenset({TECH}))
    yield url
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def finance(sample_copy, tmp_path_factory):
    proc, url = _serve_as(sample_copy, tmp_path_factory.mktemp("finance"), "finance", None)
    yield url
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def agent(sample_copy, tmp_path_factory):
    proc, url = _serve_as(sample_copy, tmp_path_factory.mktemp("agent"), "agent", frozenset({TECH}), "A017")
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def _visit(browser, url: str):  # noqa: F811
    page = browser.new_page(viewport={"width": 1500, "height": 2400})
    page.set_default_timeout(90_000)  # a loaded 2-core machine renders slowly; waiting is not failing
    page.goto(url)
    _settle(page)
    return page


def _go(page, title: str) -> None:
    """Open a page by its link in the sidebar (inside the session, as a user would)."""
    page.locator('[data-testid="stSidebarNav"] a', has_text=title).click()
    _settle(page)


def _print_view(page) -> None:
    """Every section of every page at once (the print view stays on while the session moves between pages)."""
    page.locator('[data-testid="stSidebar"] label:has-text("列印檢視")').click()
    _settle(page)


def _nav(page) -> list[str]:
    """The pages the sidebar links to, by title (each link's text starts with its icon's name: a ligature)."""
    return [x.strip().splitlines()[-1] for x in page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()]


def _downloads(page, label: str) -> list[list[list[str]]]:
    """Every CSV the page offers under `label`, downloaded through the browser and read back."""
    out = []
    buttons = page.locator('[data-testid="stDownloadButton"] button:visible', has_text=label)  # each has a hidden twin
    for i in range(buttons.count()):
        with page.expect_download() as caught:
            buttons.nth(i).click()
        out.append(list(csv.reader(io.StringIO(Path(caught.value.path()).read_text(encoding="utf-8-sig")))))
    return out


def _select_options(page, label: str) -> list[str]:
    """The choices a sidebar select box offers, as its open list shows them."""
    _filters(page).locator('[data-testid="stSelectbox"]', has_text=label).click()
    page.wait_for_selector('[role="option"]')
    options = page.locator('[role="option"]').all_inner_texts()
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")  # and the filter panel
    return [o.strip() for o in options]


def test_a_supervisor_of_one_team_sees_only_that_team_in_every_filter_table_and_export(supervisor, browser):  # noqa: F811
    page = _visit(browser, supervisor)
    assert _nav(page) == ["每週績效", "服務品質 (T4.3)", "人力配置", "職能輔導", "指標說明"]  # no budget, import or data status
    assert _select_options(page, "組別") == [TECH]
    _print_view(page)
    for title in ("每週績效", "服務品質 (T4.3)", "人力配置", "職能輔導"):
        if title != "每週績效":
            _go(page, title)
        _no_errors(page)
        body = page.inner_text("body")
        assert not any(team in body for team in OTHERS), title
        assert set(AGENT_ID.findall(body)) <= TECH_AGENTS, title
        tables = _downloads(page, "下載 CSV")  # the team and agent tables, the comments, the coaching plan
        assert tables, title
        for table in tables:
            text = "\n".join(",".join(r) for r in table)
            assert not any(team in text for team in OTHERS), (title, table[0])
            assert set(AGENT_ID.findall(text)) <= TECH_AGENTS, (title, table[0])
        if title == "每週績效":
            assert [r[0] for r in tables[0][1:]] == [TECH]
            assert {r[0].split()[0] for r in tables[1][1:]} == TECH_AGENTS
    page.close()


def test_finance_sees_no_agent_row_and_no_comment(finance, browser):  # noqa: F811
    page = _visit(browser, finance)
    assert _nav(page) == ["每週績效", "服務品質 (T4.3)", "人力配置", "預算執行 (T2.2)", "指標說明"]
    _print_view(page)
    body = page.inner_text("body")
    assert "專員明細不在您的角色可檢視範圍內" in body and not AGENT_ID.findall(body)
    assert page.locator("table.kpi-table").count() == 1  # the team table only
    (teams,) = _downloads(page, "下載 CSV")
    assert [r[0] for r in teams[1:]] == ["帳務服務組", TECH, "會員服務組"]
    _go(page, "服務品質 (T4.3)")
    _no_errors(page)
    body = page.inner_text("body")
    assert "顧客意見不在您的角色可檢視範圍內，因此未顯示。" in body and not AGENT_ID.findall(body)
    assert _downloads(page, "下載 CSV") == []  # the comments table is the page's only table
    page.close()


def test_a_crafted_address_never_widens_a_supervisors_view(supervisor, browser):  # noqa: F811
    page = _visit(browser, supervisor + "/budget")  # a page the navigation does not list
    body = page.inner_text("body")
    assert "預算執行" not in page.locator("h1").first.inner_text() and "NT$" not in body
    # said in the page's language, on the role's first page: not Streamlit's English "Page not found" dialog
    assert "這個網址是「預算執行 (T2.2)」頁，「主管」角色無法開啟；以下改為顯示「每週績效」。" in body
    assert "Page not found" not in body and not page.locator('[role="dialog"]').count()
    page.close()
    page = _visit(browser, supervisor + "/budget")  # the server's later visits resolve the address by its name
    assert "以下改為顯示「每週績效」" in page.inner_text("body") and not page.locator('[role="dialog"]').count()
    page.close()
    page = _visit(browser, supervisor + "/?team=帳務服務組&scope=admin")  # query parameters the app never reads
    body = page.inner_text("body")
    assert not any(team in body for team in OTHERS) and _nav(page)[-1] == "指標說明" and len(_nav(page)) == 5
    page.close()


def test_an_agent_sees_their_own_numbers_beside_their_team_and_the_centre_in_both_languages(agent, browser):  # noqa: F811
    from test_browser import SHOTS
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = _visit(browser, agent)
    assert _nav(page) == ["我的績效", "指標說明"]
    for lang, title, centre in (("zh-TW", "我的績效", "全中心"), ("en", "My performance", None)):
        if lang == "en":
            page.locator('[data-testid="stSidebar"] button:has-text("English")').click()
            _settle(page)
        _no_errors(page)
        assert title in page.locator("h1").first.inner_text()
        page.screenshot(path=str(SHOTS / f"mine.{lang}.png"))
        body = page.inner_text("body")
        assert set(AGENT_ID.findall(body)) <= {"A017"} and not any(team in body for team in OTHERS)
        if lang == "zh-TW":  # the table is a canvas: read its rows from the download, as the agent would
            (table,) = _downloads(page, "下載 CSV")
            assert [r[0] for r in table[1:]] == ["A017 邱美玲", TECH, centre]
            _settle(page)  # a download reruns the page
    page.close()
