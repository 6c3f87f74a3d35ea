"""Who may see what, enforced in kpi (issue 15 item 4): every query function a page calls and every export built from
them, called with a user's Scope on the sample data. Counts were worked out by hand with plain SQL on the sample's
tables (week 2026-W47, 2026-11-16..22), independent of the engine:

    SELECT team, count(*), count(*) FILTER (WHERE answered) FROM contacts WHERE arrived_at in W47 GROUP BY team
      -> 帳務服務組 1998 / 1921, 技術支援組 1725 / 1646, 會員服務組 1575 / 1481 (5298 in all); 10 agents each,
         技術支援組's are A011-A020; A011 answered 120
    surveys counted in W47 (a linked one in its contact's week and team) -> 技術支援組 228, 228 with a CSAT;
      17 of them with CSAT <= 2 and a comment
    complaints opened in W47 -> 技術支援組 45 (32 resolved since, 5 categories); open at the end of W47: 16 of 28
"""
from __future__ import annotations

import io
import shutil
from datetime import date

import openpyxl
import pytest

from kpi import competency, metrics, reports, store
from kpi.auth.access import Scope
from kpi.metrics import OutOfScope

W47 = (date(2026, 11, 16), date(2026, 11, 22))
TECH = "技術支援組"
OTHER = "帳務服務組"
TECH_AGENTS = {f"A{i:03d}" for i in range(11, 21)}
SUPERVISOR = Scope("supervisor", frozenset({TECH}), user="lin")
FINANCE = Scope("finance", user="chen")
TRAINER = Scope("trainer", frozenset({TECH}), user="wu")
AGENT = Scope("agent", frozenset({TECH}), agent_id="A011", user="hsu")


@pytest.fixture(scope="module")
def con(sample_db):
    with store.open_db(sample_db, read_only=True) as c:
        yield c


def keys(frame) -> list:
    return [k for k in frame["key"] if k is not None]


def test_a_supervisors_scope_keeps_their_teams_rows_at_every_grain(con):
    assert metrics.compute_kpis(con, *W47)["offered"][0] == 5298  # unscoped: the centre
    by_team = metrics.compute_kpis(con, *W47, "team", scope=SUPERVISOR)
    assert keys(by_team) == [TECH] and by_team["offered"][0] == 1725
    assert metrics.compute_kpis(con, *W47, scope=SUPERVISOR)["offered"][0] == 1725  # "all" is all of theirs
    by_agent = metrics.compute_kpis(con, *W47, "agent", scope=SUPERVISOR)
    assert set(keys(by_agent)) == TECH_AGENTS and by_agent["answered"].sum() == 1646
    # the heat map's grain, a time grain, channels and complaint categories: the same rows, spread differently
    assert metrics.compute_kpis(con, *W47, "weekday_hour", scope=SUPERVISOR)["offered"].sum() == 1725
    assert metrics.compute_kpis(con, *W47, "day", scope=SUPERVISOR)["offered"].sum() == 1725
    assert metrics.compute_kpis(con, *W47, "channel", scope=SUPERVISOR)["offered"].sum() == 1725
    by_category = metrics.compute_kpis(con, *W47, "category", scope=SUPERVISOR)
    assert by_category["complaints"].sum() == 45 and (by_category["complaints"] > 0).sum() == 5


def test_a_team_outside_the_scope_gives_nothing_of_it(con):
    crafted = metrics.compute_kpis(con, *W47, team=OTHER, scope=SUPERVISOR).iloc[0]
    assert crafted[["offered", "answered", "survey_responses", "complaints", "open_complaints"]].isna().all()
    assert keys(metrics.compute_kpis(con, *W47, "team", team=OTHER, scope=SUPERVISOR)) == []
    assert keys(metrics.compute_kpis(con, *W47, "agent", team=OTHER, scope=SUPERVISOR)) == []
    assert metrics.kpi_status(con, *W47, team=OTHER, scope=SUPERVISOR)["offered"].value is None
    assert metrics.group_status(con, *W47, "team", team=OTHER, scope=SUPERVISOR) == {}
    assert metrics.week_summary(con, W47[0], team=OTHER, scope=SUPERVISOR).offered == 0
    assert metrics.complaint_funnel(con, *W47, team=OTHER, scope=SUPERVISOR)["complaints"].tolist() == [0, 0, 0]
    assert metrics.score_distribution(con, *W47, team=OTHER, scope=SUPERVISOR)["responses"].sum() == 0
    assert metrics.resolution_time_distribution(con, *W47, team=OTHER, scope=SUPERVISOR)["complaints"].sum() == 0
    assert metrics.open_backlog_by_age(con, W47[1], team=OTHER, scope=SUPERVISOR)["open_complaints"].sum() == 0
    assert metrics.category_pareto(con, *W47, team=OTHER, scope=SUPERVISOR).empty
    assert metrics.low_score_comments(con, *W47, team=OTHER, scope=SUPERVISOR).empty
    assert metrics.survey_trend(con, *W47, team=OTHER, scope=SUPERVISOR)["survey_responses"].isna().all()


def test_a_team_name_in_a_scope_is_bound_never_spliced_into_the_sql(con):
    crafted = Scope("supervisor", frozenset({"x' OR true OR team <> '"}))
    assert metrics.compute_kpis(con, *W47, "team", scope=crafted).empty
    assert metrics.dimension_values(con, scope=crafted)["team"] == []


def test_status_summary_and_filter_lists_within_a_supervisors_scope(con):
    assert metrics.kpi_status(con, *W47, scope=SUPERVISOR)["offered"].value == 1725
    assert list(metrics.group_status(con, *W47, "team", scope=SUPERVISOR)) == [TECH]
    summary = metrics.week_summary(con, W47[0], scope=SUPERVISOR)
    assert (summary.offered, summary.answered, summary.surveys, summary.complaints) == (1725, 1646, 228, 45)
    dims = metrics.dimension_values(con, scope=SUPERVISOR)
    assert dims["team"] == [TECH] and dims["queue"] == ["general", "tech"]  # the queues the team's contacts came in by
    assert metrics.agent_teams(con, *W47, scope=SUPERVISOR) == {a: TECH for a in TECH_AGENTS}
    assert set(metrics.agent_names(con, *W47, scope=SUPERVISOR)) == TECH_AGENTS


def test_quality_breakdowns_within_a_supervisors_scope(con):
    assert metrics.score_distribution(con, *W47, "csat", scope=SUPERVISOR)["responses"].sum() == 228
    assert metrics.survey_trend(con, *W47, scope=SUPERVISOR)["survey_responses"].tolist() == [228]
    assert metrics.complaint_funnel(con, *W47, scope=SUPERVISOR)["complaints"][0] == 45
    assert metrics.resolution_time_distribution(con, *W47, scope=SUPERVISOR)["complaints"].sum() == 32
    assert metrics.open_backlog_by_age(con, W47[1], scope=SUPERVISOR)["open_complaints"].sum() == 16  # of 28
    pareto = metrics.category_pareto(con, *W47, scope=SUPERVISOR)
    assert pareto["complaints"].sum() == 45 and len(pareto) == 5
    comments = metrics.low_score_comments(con, *W47, scope=SUPERVISOR)
    assert len(comments) == 17 and set(comments["team"]) == {TECH} and set(comments["agent_id"]) <= TECH_AGENTS


def test_finance_is_refused_agent_rows_and_shown_no_comment(con):
    for call in (lambda: metrics.compute_kpis(con, *W47, "agent", scope=FINANCE),
                 lambda: metrics.group_status(con, *W47, "agent", scope=FINANCE),
                 lambda: metrics.agent_teams(con, *W47, scope=FINANCE),
                 lambda: metrics.agent_names(con, *W47, scope=FINANCE)):
        with pytest.raises(OutOfScope, match="'finance' may not see agent-level rows") as refused:
            call()
        assert refused.value.what == "agent_rows"
    assert metrics.low_score_comments(con, *W47, scope=FINANCE).empty  # 31 in the week for everyone else
    assert len(metrics.low_score_comments(con, *W47)) == 31
    # team level stays: every team, the centre's total
    assert keys(metrics.compute_kpis(con, *W47, "team", scope=FINANCE)) == ["帳務服務組", TECH, "會員服務組"]
    assert metrics.kpi_status(con, *W47, scope=FINANCE)["offered"].value == 5298
    assert metrics.budget_report(con, 2026, scope=FINANCE).year == 2026


@pytest.mark.parametrize("scope", [SUPERVISOR, TRAINER, AGENT], ids=lambda s: s.role)
def test_the_budget_is_refused_to_a_role_without_it(con, scope):
    calls = [lambda: metrics.budget_report(con, 2026, scope=scope), lambda: metrics.years(con, scope=scope),
             lambda: metrics.monthly(con, 2026, scope=scope), lambda: metrics.months_with_actuals(con, 2026, scope=scope),
             lambda: metrics.last_actual_month(con, 2026, scope=scope),
             lambda: competency.list_reports(con, 2026, scope=scope),
             lambda: competency.get_report(con, 2026, "客服營運部", "加班費", scope=scope),
             lambda: reports.performance_report(con, date(2026, 10, 1), scope=scope)]
    for call in calls:
        with pytest.raises(OutOfScope, match="may not see the budget"):
            call()


def test_saving_an_improvement_report_is_refused_to_a_role_without_the_budget(sample_db, tmp_path):
    db = tmp_path / "copy.duckdb"
    shutil.copy(sample_db, db)
    report = competency.ImprovementReport(2026, "客服營運部", "加班費", date(2026, 10, 1), "peak", "timing", "hire",
                                          "Lin", date(2026, 12, 31), -100000.0)
    with store.open_db(db) as c:
        with pytest.raises(OutOfScope):
            competency.save_report(c, report, scope=SUPERVISOR)
        assert competency.list_reports(c, 2026).empty
        competency.save_report(c, report, scope=FINANCE)
        assert competency.list_reports(c, 2026, scope=FINANCE)["line"].tolist() == ["加班費"]


def test_an_agent_sees_their_own_row_their_teams_and_the_centres(con):
    mine = metrics.compute_kpis(con, *W47, "agent", scope=AGENT)
    assert keys(mine) == ["A011"] and mine["answered"][0] == 120
    team = metrics.compute_kpis(con, *W47, "team", scope=AGENT)
    assert keys(team) == [TECH] and team["answered"][0] == 1646
    assert metrics.compute_kpis(con, *W47, scope=AGENT)["answered"][0] == 1921 + 1646 + 1481  # the centre, to compare
    assert metrics.compute_kpis(con, *W47, team=OTHER, scope=AGENT)["answered"].isna().all()  # not another team
    assert metrics.agent_teams(con, *W47, scope=AGENT) == {"A011": TECH}
    assert metrics.dimension_values(con, scope=AGENT)["team"] == [TECH]
    assert metrics.low_score_comments(con, *W47, scope=AGENT).empty


def test_a_trainer_reaches_their_teams_agents_and_no_comment(con):
    assert set(metrics.group_status(con, *W47, "agent", scope=TRAINER)) - {None} == TECH_AGENTS  # None: unanswered
    assert list(metrics.group_status(con, *W47, "team", scope=TRAINER)) == [TECH]
    assert metrics.low_score_comments(con, *W47, scope=TRAINER).empty


def _section(report, key):
    return next(s for s in report.sections if s.key == key)


def test_the_service_report_holds_the_supervisors_team_only(con):
    report = reports.service_report(con, *W47, scope=SUPERVISOR)
    assert "範圍：技術支援組" in report.meta
    by_team = _section(report, "by_team").table
    assert by_team.iloc[:, 0].tolist() == [TECH]
    assert _section(report, "satisfaction").table.iloc[0, 2] == 228  # survey responses, the team's
    comments = _section(report, "comments")
    assert set(comments.table["組別"]) == {TECH} and set(comments.table["專員"]) <= TECH_AGENTS
    assert comments.paragraphs == ["最新 15 則，共 17 則；電話、電子郵件、身分證及卡號已遮蔽。"]
    wb = openpyxl.load_workbook(io.BytesIO(reports.to_xlsx(report)))  # the export: every sheet
    cells = {c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert not {OTHER, "會員服務組"} & cells and TECH in cells


def test_the_service_report_for_finance_leaves_comments_out(con):
    report = reports.service_report(con, *W47, lang="en", scope=FINANCE)
    comments, problems = _section(report, "comments"), _section(report, "problems")
    assert comments.table.empty and problems.table.empty
    left_out = "Customer comments are outside what the reader's role can see, so they are left out."
    assert comments.paragraphs == [left_out] and left_out in problems.paragraphs
    assert _section(report, "by_team").table.iloc[:, 0].tolist() == ["帳務服務組", TECH, "會員服務組"]
