"""weekly_view: the weekly page's figures from fewer passes, the same numbers as the functions they stand in for."""
from __future__ import annotations

import pandas as pd
import pytest
from helpers import db_with

from kpi import metrics, store
from kpi.metrics import Period


def contact(cid, at, answered, wait, team="T1"):
    return dict(contact_id=cid, arrived_at=at, answered=answered, wait_seconds=wait, talk_seconds=100 if answered else None,
                team=team, channel="phone", queue="q1", agent_id="A1" if answered else None)


def test_the_week_is_the_last_bucket_the_one_before_its_previous_and_the_twelve_before_its_baseline():
    con = db_with(contacts=[
        contact("a", "2026-11-16 09:00", True, 10), contact("b", "2026-11-17 09:00", True, 30),  # W47: 2 answered
        contact("c", "2026-11-18 09:00", False, 40, team="T2"),                                   # W47: 1 abandoned
        contact("d", "2026-11-10 09:00", True, 10),                                               # W46: 1
        contact("e", "2026-08-25 09:00", True, 10),                        # W35: in the baseline, not in the trend
    ])
    v = metrics.weekly_view(con, Period("week", pd.Timestamp("2026-11-16").date(), pd.Timestamp("2026-11-22").date(), True))
    assert (v.summary.offered, v.summary.answered, v.summary.abandoned) == (3, 2, 1)
    assert v.status["offered"].value == 3 and v.status["offered"].previous == 1  # W47 against W46
    assert list(v.trend["key"]) == [f"2026-W{w}" for w in range(36, 48)]  # the 12 weeks ending with W47
    assert list(v.baseline["key"]) == [f"2026-W{w}" for w in range(35, 47)]  # the 12 weeks before W47
    assert list(v.trend["offered"].iloc[-2:]) == [1, 3] and v.baseline["offered"].iloc[0] == 1  # W46, W47; W35
    assert v.teams["T1"]["offered"].value == 2 and v.teams["T2"]["offered"].value == 1
    assert list(v.per_channel) == ["phone"] and v.per_channel["phone"]["answered"].value == 2


@pytest.mark.parametrize("kind", ["week", "month", "quarter"])
def test_weekly_view_gives_what_kpi_status_week_summary_and_compute_kpis_give(sample_db, kind):
    with store.open_db(sample_db, read_only=True) as con:
        for period, kw in [(metrics.periods(con, kind)[0], {"channel": "phone"}), (metrics.periods(con, kind)[1], {"team": "技術支援組"})]:
            v = metrics.weekly_view(con, period, **kw)
            grain, first, last, base_first, base_last = metrics.trend_window(period)
            # the page's KPIs only (WEEKLY_KPIS). A bucket with none of their rows has no counts (a quarter's month
            # after the data's end: no bar at 0), where a pass over every KPI gave it 0 for the complaints still open
            shown = ["key", *(k for k in metrics.load_catalog().kpis if k in metrics.WEEKLY_KPIS)]
            assert list(v.trend.columns) == shown and len(shown) == len(metrics.WEEKLY_KPIS) + 1
            page = dict(kw, kpis=metrics.WEEKLY_KPIS)
            pd.testing.assert_frame_equal(v.trend, metrics.compute_kpis(con, first, last, grain, **page))
            pd.testing.assert_frame_equal(v.baseline, metrics.compute_kpis(con, base_first, base_last, grain, **page))
            every = metrics.compute_kpis(con, first, last, grain, **kw)
            had = (every["offered"].fillna(0) > 0).to_numpy()  # the buckets with contacts: as every KPI's pass
            pd.testing.assert_frame_equal(v.trend[had].reset_index(drop=True), every[shown][had].reset_index(drop=True))
            assert had.sum() >= 3
            # the heat maps' two KPIs only, the same cells; an hour holding only a complaint is now empty like every
            # hour without a contact (a pass over every dataset gave it offered 0)
            every = metrics.compute_kpis(con, period.start, period.end, "weekday_hour", **kw)
            # with the service level's numerator and denominator: each hour is judged on its own calls
            assert list(v.heatmap.columns) == ["key", "offered", "service_level", "service_level__num",
                                               "service_level__den"]
            for kid in ("offered", "service_level"):
                new, old = metrics.weekday_hour_grid(v.heatmap, kid), metrics.weekday_hour_grid(every, kid)
                cells = [(a, b) for row_new, row_old in zip(new, old) for a, b in zip(row_new, row_old)]
                assert all(a == b or (a is None and b == 0) for a, b in cells)
                # (service level has no value where phone and chat blend: the team's heat map without a channel)
                assert any(a is not None for a, _ in cells) or (kid == "service_level" and "channel" not in kw)
            def page_kpis(status):
                return {k: s for k, s in status.items() if k in metrics.WEEKLY_KPIS}
            assert v.status == page_kpis(metrics.kpi_status(con, period.start, period.end, **kw))
            assert set(v.status) == set(metrics.WEEKLY_KPIS)
            assert v.summary == metrics.week_summary(con, period.start, end=period.end, **kw)
            assert v.per_channel == ({} if "channel" in kw else {ch: page_kpis(row) for ch, row in metrics.group_status(
                con, period.start, period.end, "channel", **kw).items()})
            teams = {team: page_kpis(row) for team, row in
                     metrics.group_status(con, period.start, period.end, "team", **kw).items()}
            # no channel chosen (the sample has calls, chats and e-mails): a KPI with a target per channel is not
            # judged over the blend, as the tiles (unjudged_blend); one channel chosen: group_status's verdicts
            assert v.teams == (teams if "channel" in kw else metrics.unjudged_blend(teams, v.per_channel))
            if "channel" not in kw:
                assert {row["aht_seconds"].status for row in v.teams.values()} == {None}
                assert any(row["aht_seconds"].status for row in teams.values())  # what group_status alone says


def test_weekly_agents_gives_what_group_status_agent_teams_and_agent_names_give(sample_db):
    with store.open_db(sample_db, read_only=True) as con:
        period = metrics.periods(con, "week")[0]
        a = metrics.weekly_agents(con, period.start, period.end, team="技術支援組", channel="phone")
        team_of = metrics.agent_teams(con, period.start, period.end)
        assert a.team_of == team_of and a.names == metrics.agent_names(con, period.start, period.end)
        # Judged on the agent table's and the attention list's KPIs only, each exactly as a pass over every KPI judges it
        every = metrics.group_status(con, period.start, period.end, "agent", team="技術支援組", channel="phone",
                                     team_of=team_of)
        shown = set(metrics.AGENT_TABLE_KPIS) | set(metrics.TILE_KPIS)
        assert a.agents == {agent: {k: v for k, v in kv.items() if k in shown} for agent, kv in every.items()}
        assert all(set(kv) == shown for kv in a.agents.values())
        assert len(a.agents) > 3 and len(every[next(iter(every))]) > len(shown)
        # No channel chosen, calls and chats in the data: the per-channel KPIs judged with no status, as unjudged_blend
        # leaves group_status's (judged_groups gives them none rather than dropping it after)
        blend = metrics.weekly_agents(con, period.start, period.end, team="技術支援組")
        channels = metrics.channels_in(con, period.start, period.end, team="技術支援組")
        every = metrics.unjudged_blend(metrics.group_status(con, period.start, period.end, "agent", team="技術支援組",
                                                            team_of=team_of), channels)
        assert len(channels) > 1
        assert blend.agents == {agent: {k: v for k, v in kv.items() if k in shown} for agent, kv in every.items()}
        assert any(v.status is None and v.value is not None for kv in blend.agents.values() for v in kv.values())
        assert any(v.status is not None for kv in blend.agents.values() for v in kv.values())


def test_sort_rows_worst_first_by_the_kpis_better_side():
    """Three agents by hand: A off target twice, B once, C never; B has the longest AHT and the lowest FCR, C no AHT."""
    values = pd.DataFrame({"answered": [10, 30, 20], "aht_seconds": [300.0, 480.0, None], "fcr_rate": [0.8, 0.6, 0.9]},
                          index=["A", "B", "C"], dtype="Float64")
    statuses = pd.DataFrame({"answered": [None] * 3, "aht_seconds": ["bad", "bad", None],
                             "fcr_rate": ["bad", "ok", "good"]}, index=["A", "B", "C"], dtype=object)
    assert list(metrics.sort_rows(values, statuses)) == ["A", "B", "C"]  # 2, 1, 0 KPIs off target
    assert list(metrics.sort_rows(values, statuses, "aht_seconds")) == ["B", "A", "C"]  # lower is better; no value last
    assert list(metrics.sort_rows(values, statuses, "fcr_rate")) == ["B", "A", "C"]  # higher is better: 0.6 first
    assert list(metrics.sort_rows(values, statuses, "answered")) == ["B", "C", "A"]  # no better side: largest first


def complaint(cid, opened, resolved, team):
    return dict(complaint_id=cid, opened_at=opened, resolved_at=resolved, team=team, channel="phone", category="billing")


def week_without_complaints():
    """W47 (2026-11-16..22): T1 has calls and no complaint; T2 has one. W46: T1 has one, resolved. Complaints stored to
    2026-12-10, so the week's complaint rates have matured."""
    return db_with(
        contacts=[contact("a", "2026-11-16 09:00", True, 10), contact("b", "2026-11-10 09:00", True, 10),
                  contact("c", "2026-11-17 09:00", True, 10, team="T2")],
        complaints=[complaint("k1", "2026-11-10 10:00", "2026-11-10 12:00", "T1"),
                    complaint("k2", "2026-11-17 10:00", "2026-11-17 12:00", "T2"),
                    complaint("k3", "2026-12-10 10:00", None, "T2")])


def test_a_week_without_complaints_has_its_complaint_rates_n_0_in_the_tiles_as_in_kpi_status():
    # A rate's n is its denominator: 0 complaints in T1's week. kpi_status's pass over the week alone always said 0;
    # the weekly page's tiles, taken from the week's bucket of a grouped pass, said None (no n) until the bucket's
    # row was read as the week's own pass gives it (metrics.period_row).
    con = week_without_complaints()
    week = Period("week", pd.Timestamp("2026-11-16").date(), pd.Timestamp("2026-11-22").date(), True)
    status = metrics.kpi_status(con, week.start, week.end, team="T1")
    assert status["complaints"].value == 0 and status["complaints"].previous == 1
    assert status["complaint_resolution_rate"].value is None and status["complaint_resolution_rate"].n == 0
    assert status["complaint_resolution_rate"].previous == 1.0  # W46: its one complaint resolved
    assert metrics.weekly_view(con, week, team="T1").status == {k: v for k, v in status.items()
                                                                 if k in metrics.WEEKLY_KPIS}
    assert metrics.kpi_status(con, week.start, week.end, team="T2")["complaint_resolution_rate"].n == 1


def statements(monkeypatch, con) -> list[str]:
    """The SQL of every statement run on con's connections (its cursors included) from now on."""
    seen = []
    execute = type(con).execute

    def counted(self, sql, *args, **kwargs):
        seen.append(sql)
        return execute(self, sql, *args, **kwargs)
    monkeypatch.setattr(type(con), "execute", counted)
    return seen


def test_kpi_status_of_a_week_reads_each_dataset_once(monkeypatch):
    # The week, the week before and the 12 before it from one grouped pass per dataset (contacts, surveys,
    # complaints, the complaint backlog): not a pass over the week and another over its history.
    con = week_without_complaints()
    week = (pd.Timestamp("2026-11-16").date(), pd.Timestamp("2026-11-22").date())
    metrics.kpi_status(con, *week, team="T1")  # the data's cut-offs and the rollup's state read once
    seen = statements(monkeypatch, con)
    first = metrics.kpi_status(con, *week, team="T1")
    passes = [s for s in seen if "GROUP BY" in s]
    assert len(passes) == 4, passes
    monkeypatch.undo()
    assert first == metrics.kpi_status(con, *week, team="T1")


def test_weekly_view_makes_no_pass_the_page_does_not_show(monkeypatch):
    # The weekly page shows no complaint backlog and no median resolution time: weekly_view computes neither, so it
    # makes no backlog snapshot and can read complaints from their rollup.
    con = week_without_complaints()
    week = Period("week", pd.Timestamp("2026-11-16").date(), pd.Timestamp("2026-11-22").date(), True)
    seen = statements(monkeypatch, con)
    v = metrics.weekly_view(con, week)
    assert seen and not [s for s in seen if "__as_of" in s or "median(" in s]
    assert "open_complaints" not in v.status and "median_resolution_hours" not in v.status
    assert v.status["complaints"].value == 1 and v.teams["T1"]["complaints"].value == 0


def test_a_team_whose_only_row_is_a_complaint_still_open_has_the_counts_its_volumes_show():
    # W47: T1 has no contact, survey or complaint opened; a complaint it opened in W46 is still open (the backlog, which
    # the weekly page does not read). Its tiles count 0 calls and 0 complaints, as its volumes do, not "no data";
    # with a queue chosen complaints say nothing (they have no queue).
    con = db_with(contacts=[contact("a", "2026-11-10 09:00", True, 10), contact("b", "2026-11-17 09:00", True, 10, team="T2")],
                  complaints=[complaint("k1", "2026-11-10 10:00", None, "T1")])
    week = Period("week", pd.Timestamp("2026-11-16").date(), pd.Timestamp("2026-11-22").date(), True)
    v = metrics.weekly_view(con, week, team="T1")
    assert (v.summary.offered, v.summary.complaints) == (0, 0)
    assert (v.status["offered"].value, v.status["offered"].previous, v.status["complaints"].value) == (0, 1, 0)
    assert v.status["service_level"].value is None  # no call: no rate
    q = metrics.weekly_view(con, week, team="T1", queue="q1")
    assert q.status["offered"].value == 0 and q.status["complaints"].value is None and q.summary.complaints is None
