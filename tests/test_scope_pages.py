"""Pages within the signed-in user's scope (issue 15 item 4), through AppTest with st.session_state["scope"] set as
the sign-in sets it: the navigation, every filter, table, chart and download of a supervisor of 技術支援組 hold that
team only; finance sees no agent row and no comment; a page the role may not open says so and shows nothing.

Counts worked out by hand on the sample (plain SQL on the contacts table, see tests/test_scope.py): in 2026-W47 the
技術支援組 took 1176 phone contacts, by agents A011-A020; the week's three teams are 帳務服務組, 技術支援組, 會員服務組.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import date
from pathlib import Path

import openpyxl
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from kpi import competency, metrics, store
from kpi.metrics import load_catalog
from kpi.auth.access import ROLES, Scope
from test_table_exports import downloads  # noqa: F401  (the fixture: every download a run offers)
from ui.access import OWN
from ui.i18n import kpi_label
from ui.frame import PAGES, pages_for
from helpers import html_tables, svg_charts, tiles

ROOT = Path(__file__).resolve().parent.parent
W47 = (date(2026, 11, 16), date(2026, 11, 22))
TECH, OTHER, THIRD = "技術支援組", "帳務服務組", "會員服務組"
TECH_AGENTS = {f"A{i:03d}" for i in range(11, 21)}
SUPERVISOR = Scope("supervisor", frozenset({TECH}), user="lin")
FINANCE = Scope("finance", user="chen")
AGENT_ID = re.compile(r"\bA\d{3}\b")


@pytest.fixture(scope="module", autouse=True)
def _fresh_caches():
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture
def app(sample_copy, monkeypatch, downloads):  # noqa: F811
    monkeypatch.setenv("KPI_DB", str(sample_copy))  # a download writes its audit event

    def run(scope, page: str | None = None, **state) -> tuple[AppTest, dict[str, tuple[str, bytes]]]:
        """The page as the scope sees it, every section drawn (the print view): nothing out of scope in any of them."""
        at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=90)
        at.session_state["scope"] = scope
        for k, v in {"print_view": True, **state}.items():
            at.session_state[k] = v
        if page:
            at.switch_page(page)
        at.run()
        assert not at.exception, [e.message for e in at.exception]
        files = {}
        for b in at.get("download_button"):
            name, build = downloads[b.proto.deferred_file_id]
            files[b.proto.id.rsplit("-", 1)[-1]] = (name, build())
        return at, files
    return run


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def first_column(data: bytes) -> list[str]:
    return [r[0] for r in read_csv(data)[1:]]


def texts(at: AppTest) -> str:
    return "\n".join([e.value for kind in ("markdown", "caption", "info", "subheader", "title") for e in at.get(kind)]
                     + [x for m in tiles(at) for x in (m.label, m.value, *m.lines)])


def test_the_navigation_lists_only_the_pages_a_role_may_open():
    def names(role, teams=None):
        return [path.removeprefix("pages/").removesuffix(".py") for _, path, *_ in pages_for(Scope(role, teams))]
    assert names("admin") == [p[1][6:-3] for p in PAGES if p[1] != "pages/mine.py"]  # an admin has no agent id
    assert names("supervisor", frozenset({TECH})) == ["weekly", "quality", "staffing", "trainer", "glossary"]
    assert names("finance") == ["weekly", "quality", "staffing", "budget", "glossary"]
    assert names("trainer", frozenset({TECH})) == ["trainer", "glossary"]
    assert names("agent", frozenset({TECH})) == ["glossary"]  # an account linked to no agent: nothing of its own
    assert [p[1] for p in pages_for(Scope("agent", frozenset({TECH}), "A017"))] == ["pages/mine.py", "pages/glossary.py"]
    assert {p[4] for p in PAGES} - {None, OWN} <= set(ROLES["admin"])  # every page needs something a role declares


def test_a_supervisor_sees_only_their_team_on_the_weekly_page_and_its_downloads(app):
    at, files = app(SUPERVISOR)
    team = at.selectbox(key="team")
    assert team.options == [TECH] and team.value == TECH  # no "all": one team is all they reach
    assert {m.label: m.value for m in tiles(at)}["進線"] == "1,176"
    team_table, agent_table = html_tables(at)
    assert list(team_table["組別"]) == [TECH]
    assert {label.split()[0] for label in agent_table["專員"]} == TECH_AGENTS
    heat = svg_charts(at)[1]  # offered by weekday x hour
    assert sum(point[2] for point in heat["series"][0]["data"]) == 1176
    assert set(AGENT_ID.findall(texts(at))) <= TECH_AGENTS  # the needs-attention list
    assert first_column(files["team_table_csv"][1]) == [TECH]
    assert {a.split()[0] for a in first_column(files["agent_table_csv"][1])} == TECH_AGENTS
    ws = openpyxl.load_workbook(io.BytesIO(files["agent_table_xlsx"][1])).active
    assert "可檢視範圍：技術支援組" in ws["A1"].value.splitlines()
    assert files["team_table_csv"][0] == "每週績效_組別績效_2026-W47_技術支援組_電話.csv"


def test_a_crafted_team_in_the_session_never_widens_a_supervisors_view(app):
    at, files = app(SUPERVISOR, team=OTHER)
    assert at.selectbox(key="team").value == TECH
    assert list(html_tables(at)[0]["組別"]) == [TECH]
    assert OTHER not in texts(at) and first_column(files["team_table_csv"][1]) == [TECH]


def test_a_supervisors_quality_page_holds_their_teams_comments_only(app, sample_db):
    at, files = app(SUPERVISOR, page="pages/quality.py")
    with store.open_db(sample_db, read_only=True) as con:
        theirs = metrics.low_score_comments(con, *W47, channel="phone", scope=SUPERVISOR)
        everyone = metrics.low_score_comments(con, *W47, channel="phone")
    assert 0 < len(theirs) < len(everyone)  # the page would show more without the scope
    comments = html_tables(at)[0]
    assert len(comments) == len(theirs) and set(comments["組別"]) == {TECH}
    assert {a.split()[0] for a in comments["專員"]} <= TECH_AGENTS  # "A011 許雅雯": the id first
    rows = read_csv(files["quality_comments_csv"][1])
    assert rows[0][1] == "組別" and {r[1] for r in rows[1:]} == {TECH}


def test_a_supervisors_coaching_page_lists_their_team_and_agents_only(app):
    at, files = app(SUPERVISOR, page="pages/trainer.py")
    assert at.segmented_control(key="trainer_team").options == [TECH]
    heat = svg_charts(at)[0]
    assert heat["yAxis"][0]["data"] == [TECH]
    assert {r[0] for r in read_csv(files["plan_csv"][1])[1:]} <= {TECH}
    # the weak KPIs' download names the team once (it said 技術支援組 twice)
    assert files["trainer_weak_xlsx"][0] == "職能輔導_未達標與需注意的-KPI_2026-11-16-2026-11-22_技術支援組_電話.xlsx"
    at, files = app(SUPERVISOR, page="pages/trainer.py", trainer_kind="agent")
    assert {o.split()[0] for o in at.selectbox(key="trainer_agent").options} == TECH_AGENTS  # "A011 許雅雯"


def test_coaching_with_every_team_in_the_sidebar_starts_on_the_whole_centre(app):
    # The sidebar's 組別：全部 started the page on the first team, under a sidebar that said 全部. At team level it is
    # now the whole centre, first (a team is a click away); the downloads name 組別：全部 over the centre's rows.
    at, files = app(Scope("admin"), page="pages/trainer.py")
    picker = at.segmented_control(key="trainer_team")
    assert picker.value == "" and picker.options[:2] == ["全中心", OTHER]
    with store.open_db(store.resolve_db_path(), read_only=True) as con:
        centre = metrics.settled_status(con, date(2026, 11, 16), date(2026, 11, 22), channel="phone").status
    weak = competency.weak_kpis(centre, load_catalog())
    shown = html_tables(at)[0]
    assert list(shown["KPI"]) == [kpi_label(load_catalog()[k]) for k in weak["id"]] and len(shown) > 0
    assert files["trainer_weak_xlsx"][0] == "職能輔導_未達標與需注意的-KPI_2026-11-16-2026-11-22_電話.xlsx"
    title = openpyxl.load_workbook(io.BytesIO(files["trainer_weak_xlsx"][1])).active["A1"].value.splitlines()
    assert title[:3] == ["職能輔導｜未達標與需注意的 KPI", "2026-11-16 至 2026-11-22", "篩選條件：組別：全部、管道：電話、佇列：全部"]
    # a team picked is named; the agent level needs a team (an agent is judged against their own), so it starts on one
    at, files = app(Scope("admin"), page="pages/trainer.py", trainer_team=OTHER)
    assert files["trainer_weak_xlsx"][0] == "職能輔導_未達標與需注意的-KPI_2026-11-16-2026-11-22_帳務服務組_電話.xlsx"
    at, files = app(Scope("admin"), page="pages/trainer.py", trainer_kind="agent")
    assert at.segmented_control(key="trainer_team").value == OTHER and "" not in at.segmented_control(key="trainer_team").options
    # a supervisor of two teams: their teams together, not "the whole centre"
    at, files = app(Scope("supervisor", frozenset({TECH, OTHER}), user="wu"), page="pages/trainer.py")
    assert at.segmented_control(key="trainer_team").options == ["所轄各組合計", OTHER, TECH]


@pytest.mark.parametrize("page, says", [
    ("pages/budget.py", "「主管」角色無法檢視預算；請由左側選單選擇可用的頁面，或洽系統管理者。"),
    ("pages/import_data.py", "只有系統管理者可以匯入資料與檢視資料狀態；「主管」角色請由左側選單選擇可用的頁面。"),
    ("pages/data_status.py", "只有系統管理者可以匯入資料與檢視資料狀態；「主管」角色請由左側選單選擇可用的頁面。")])
def test_a_page_the_role_may_not_open_says_so_and_shows_nothing(app, page, says):
    # as a URL typed by hand would: the navigation does not list it, and the page itself refuses
    at, files = app(SUPERVISOR, page=page)
    assert [t.value for t in at.title] == ["無權限檢視"] and [i.value for i in at.info] == [says]
    assert not tiles(at) and not html_tables(at) and not files and not at.get("file_uploader")


def test_finance_sees_team_level_numbers_and_no_agent_row(app):
    at, files = app(FINANCE)
    assert at.selectbox(key="team").options == ["全部", OTHER, TECH, THIRD]
    assert len(html_tables(at)) == 1 and list(html_tables(at)[0]["組別"]) == [OTHER, TECH, THIRD]
    assert not AGENT_ID.findall(texts(at))  # nor in the needs-attention list
    assert "專員明細不在您的角色可檢視範圍內，這裡只顯示組別層級的數字。" in texts(at)
    assert set(files) == {"team_table_xlsx", "team_table_csv"}
    assert not AGENT_ID.findall(files["team_table_csv"][1].decode("utf-8-sig"))


def test_finance_sees_no_comment_on_the_quality_page(app):
    at, files = app(FINANCE, page="pages/quality.py")
    assert not html_tables(at) and not any(k.startswith("quality_comments") for k in files)
    assert [i.value for i in at.info] == ["顧客意見不在您的角色可檢視範圍內，因此未顯示。"]


def test_a_session_scope_that_is_not_a_scope_shows_no_number(app):
    at, _ = app("admin")  # only a Scope counts
    assert [e.value for e in at.error] == ["這個工作階段的使用者資料無法辨識，因此不顯示任何數字；請重新整理頁面後再登入一次。"]
    assert not tiles(at) and not html_tables(at)


def test_an_agent_sees_their_own_numbers_beside_their_team_and_the_centre_only(app):
    # phone contacts answered in W47 (plain SQL): A017 88, 技術支援組 1113, the centre 3504
    at, files = app(Scope("agent", frozenset({TECH}), "A017", user="chiu"))
    assert [t.value for t in at.title] == ["我的績效"]  # their default page
    table = html_tables(at)[0]
    assert table.iloc[:, 0].tolist() == ["A017 邱美玲", TECH, "全中心"] and table["接通量"].tolist() == ["88", "1,113", "3,504"]
    assert set(AGENT_ID.findall(texts(at))) <= {"A017"}
    assert [r[0] for r in read_csv(files["mine_table_csv"][1])[1:]] == ["A017 邱美玲", TECH, "全中心"]


def test_an_agent_is_offered_no_team_filter_and_told_when_they_have_no_contacts(app):
    # The agent's page is their own team's and the centre's whatever a team filter says: it listed every team.
    at, _ = app(Scope("agent", frozenset({TECH}), "A017", user="chiu"))
    assert [s.key for s in at.selectbox] == ["week", "channel", "queue"]
    assert "組別" not in "\n".join(m.value for m in at.sidebar.markdown)
    # An agent id with no contacts (a new hire's account): whose and which period, not "no data for these filters"
    at, _ = app(Scope("agent", frozenset({TECH}), "A999", user="new"))
    assert [e.value for e in at.info] == [
        "2026-W47（管道：電話、佇列：全部）沒有專員代號 A999 處理的進線，所以沒有您的數字。請在「篩選條件」選擇其他期間或管道；"
        "若一直沒有，請洽系統管理者確認您的帳號連結的專員代號。"]
    assert not html_tables(at) and not at.exception


def test_the_streamlit_internals_the_refused_address_message_reads_are_there():
    # ui.frame._refused_address reads Streamlit's page intent (1.67); were these renamed at an upgrade, it would fall
    # back silently to Streamlit's English "Page not found" dialog: this fails first.
    from streamlit.runtime.pages_manager import PagesManager

    assert {"intended_page_script_hash", "intended_page_name", "set_script_intent"} <= set(dir(PagesManager))
    from streamlit.navigation.page import StreamlitPage

    assert isinstance(StreamlitPage.url_path, property) and isinstance(StreamlitPage._script_hash, property)


def test_a_trainer_is_not_sent_to_a_page_they_cannot_open(app):
    # A011 is worse than their team on nothing beyond noise (tests/test_pages.py); the all-clear pointed a trainer,
    # whose menu has no weekly page, to 「每週績效」的專員表
    at, _ = app(Scope("trainer", frozenset({TECH}), user="trn"), page="pages/trainer.py", trainer_kind="agent",
                trainer_agent="A011")
    assert [s.value for s in at.success] == ["A011 許雅雯 在此期間沒有比所屬組別差且超出雜訊的 KPI。"]
