"""Workforce measures (kpi.metrics._workforce) on a hand-worked fixture of three agents over two half hours, the
staffing week, and the import of agent_states and schedule files (words, rejects)."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pandas as pd
import pytest

from kpi import imports, metrics, store
from kpi.auth.access import Scope

from helpers import db_with, rows


def _state(agent, state, start, end, team="T1"):
    return {"agent_id": agent, "state": state, "started_at": f"2026-11-16 {start}:00", "ended_at": f"2026-11-16 {end}:00",
            "team": team}


def _sched(agent, activity, start, end, team="T1"):
    return {"agent_id": agent, "activity": activity, "starts_at": f"2026-11-16 {start}:00",
            "ends_at": f"2026-11-16 {end}:00", "team": team}


STATES = [
    # A1: 10 min available, 15 on a contact, 5 after-call work | 15 break, 15 available
    _state("A1", "available", "09:00", "09:10"), _state("A1", "on_contact", "09:10", "09:25"),
    _state("A1", "after_call_work", "09:25", "09:30"), _state("A1", "break", "09:30", "09:45"),
    _state("A1", "available", "09:45", "10:00"),
    # A2: logs in at 09:15; 25 min available, then 20 on a contact (crossing into the second half hour)
    _state("A2", "offline", "09:00", "09:15"), _state("A2", "available", "09:15", "09:40"),
    _state("A2", "on_contact", "09:40", "10:00"),
    # A3, another team: in training the whole hour
    _state("A3", "training", "09:00", "10:00", team="T2"),
]
SCHEDULE = [
    _sched("A1", "available", "09:00", "09:30"), _sched("A1", "break", "09:30", "09:45"),
    _sched("A1", "available", "09:45", "10:00"),
    _sched("A2", "available", "09:00", "10:00"),
    _sched("A3", "training", "09:00", "09:30", team="T2"), _sched("A3", "meeting", "09:30", "10:00", team="T2"),
]
START, END = datetime(2026, 11, 16, 9), datetime(2026, 11, 16, 10)


@pytest.fixture
def con():
    return db_with(agent_states=STATES, schedule=SCHEDULE)


def test_staffed_agents_are_productive_agent_seconds_over_the_interval(con):
    frame = metrics.staffed_agents(con, START, END, 30)
    # 09:00: A1 30 min + A2 15 min (09:15-09:30) = 45 min / 30 = 1.5; 09:30: A1 15 min (09:45-10:00) + A2 30 = 1.5
    assert frame["interval_start"].dt.strftime("%H:%M").tolist() == ["09:00", "09:30"]
    assert frame["staffed"].tolist() == [1.5, 1.5]
    # one hour: 90 agent-minutes / 60 = 1.5
    assert metrics.staffed_agents(con, START, END, 60)["staffed"].tolist() == [1.5]
    assert metrics.staffed_agents(con, START, END, 30, team="T2").empty  # A3 trained: not staffed


def test_staffed_for_a_channel_counts_its_states_and_blended_ones():
    """A1 on phone 09:00-09:30, A2 on chat 09:00-09:30, A3 blended (no channel) 09:00-09:15: staffed for phone is A1 +
    A3's quarter hour = 45 min / 30 = 1.5, for chat 1.5, for every channel 75 / 30 = 2.5; the week says it counted blended agents."""
    states = [{**_state("A1", "available", "09:00", "09:30"), "channel": "phone"},
              {**_state("A2", "on_contact", "09:00", "09:30"), "channel": "chat"},
              {**_state("A3", "available", "09:00", "09:15"), "channel": None}]
    con = db_with(agent_states=states)
    assert metrics.staffed_agents(con, START, END, 30, channel="phone")["staffed"].tolist() == [1.5]
    assert metrics.staffed_agents(con, START, END, 30, channel="chat")["staffed"].tolist() == [1.5]
    assert metrics.staffed_agents(con, START, END, 30, channel="email")["staffed"].tolist() == [0.5]
    assert metrics.staffed_agents(con, START, END, 30)["staffed"].tolist() == [2.5]
    week = metrics.staffing_week(con, date(2026, 11, 16), 30, channel="phone")
    assert week.grid["staffed"].tolist() == [1.5] and week.staffed_blended
    assert metrics.staffing_jsonable(week)["staffed_includes_blended"] is True
    assert any("未標示管道" in line for line in metrics.staffing_lines(week, "zh-TW"))
    con.execute("UPDATE agent_states SET channel = 'phone' WHERE agent_id = 'A3'")
    week = metrics.staffing_week(con, date(2026, 11, 16), 30, channel="phone")
    assert week.grid["staffed"].tolist() == [1.5] and not week.staffed_blended
    assert not any("未標示管道" in line for line in metrics.staffing_lines(week, "zh-TW"))


def test_occupancy_adherence_and_shrinkage_worked_by_hand(con):
    s = metrics.workforce_summary(con, START, END)
    # handling: A1 15 + 5, A2 20 = 40 min; available: A1 10 + 15, A2 25 = 50 min -> 40 / 90
    assert s.occupancy == pytest.approx(40 / 90) and s.occupancy_hours == pytest.approx(1.5)
    # scheduled: A1 60, A2 60, A3 60 = 180 min. In the activity: A1 30 + 15 (break) + 15 = 60; A2 45 (not the 15
    # offline); A3 30 (training as scheduled, then training instead of the meeting) -> 135 / 180
    assert s.adherence == pytest.approx(0.75) and s.scheduled_hours == pytest.approx(3.0)
    # paid = scheduled 180 min; available for contacts 90 min -> (180 - 90) / 180
    assert (s.shrinkage, s.paid_from) == (pytest.approx(0.5), "schedule")


def test_without_a_schedule_paid_time_is_logged_in_time():
    s = metrics.workforce_summary(db_with(agent_states=STATES), START, END)
    # logged in (not offline): A1 60 + A2 45 + A3 60 = 165 min; productive 90 -> 75 / 165; no adherence
    assert (s.shrinkage, s.paid_from, s.adherence) == (pytest.approx(75 / 165), "logged_in", None)


def test_a_team_scope_sees_only_its_agents(con):
    scope = Scope(role="supervisor", teams=("T2",))
    s = metrics.workforce_summary(con, START, END, scope=scope)
    # A3 only: no productive time, 60 scheduled minutes, 30 of them as scheduled
    assert (s.occupancy, s.adherence, s.shrinkage) == (None, pytest.approx(0.5), pytest.approx(1.0))


def test_staffing_week_sets_erlang_c_beside_the_staffed_agents(con):
    # 20 phone calls between 09:00 and 09:30 of Monday 2026-11-16, each 180 s of handling, 15 answered within 20 s
    for i in range(20):
        con.execute("INSERT INTO contacts (contact_id, arrived_at, channel, direction, answered, answered_at, wait_seconds,"
                    " talk_seconds, hold_seconds, acw_seconds, import_id, created_import_id) VALUES (?, ?, 'phone',"
                    " 'inbound', true, ?, ?, 150, 0, 30, 1, 1)",
                    [f"c{i}", datetime(2026, 11, 16, 9, i), datetime(2026, 11, 16, 9, i), 5 if i < 15 else 60])
    week = metrics.staffing_week(con, date(2026, 11, 16), 30)
    first = week.grid.iloc[0]
    # A = 20 x 180 / 1800 = 2 Erlangs: 80% in 20 s needs 4 agents (3 give 0.602, 4 give 0.861); 1.5 staffed -> gap -2.5
    assert (first["offered"], first["aht_seconds"], first["required"], first["staffed"], first["gap"]) == (20, 180, 4, 1.5, -2.5)
    assert first["service_level"] == 0.75 and pd_isna(first["predicted_sl"])  # 1 whole agent < 2 Erlangs: no prediction
    # ... said so on the page and in the CLI, not "—" (no data)
    frame, _, _ = metrics.staffing_table(week, "zh-TW")
    assert frame.iloc[0]["依上線人力預估的服務水準"] == "人力不足（上線少於話務量）"
    assert pd_isna(frame.iloc[1]["依上線人力預估的服務水準"])  # no call: nothing to predict
    assert "預估 人力不足（上線少於話務量）" in metrics.staffing_lines(week, "zh-TW")[-1]
    assert week.sl_target == 0.8 and week.threshold_seconds == 20
    # 09:30-10:00: agents staffed, no call: offered 0 (not unknown); a phone complaint at 03:00 is no staffing interval
    second = week.grid.iloc[1]
    assert (str(second["interval_start"]), second["offered"], second["staffed"]) == ("2026-11-16 09:30:00", 0, 1.5)
    con.execute("INSERT INTO complaints (complaint_id, opened_at, channel, import_id, created_import_id) "
                "VALUES ('k1', '2026-11-16 03:00:00', 'phone', 1, 1)")
    assert len(metrics.staffing_week(con, date(2026, 11, 16), 30).grid) == len(week.grid) == 2
    assert week.shrinkage == pytest.approx(0.5)  # the week's measured shrinkage
    # peak 4 agents -> 4 / 0.5 = 8 FTE; 4 agents x 0.5 h = 2 agent-hours -> 4 scheduled hours
    assert (week.peak_required, week.peak_fte, week.required_agent_hours, week.scheduled_fte_hours) == (4, 8, 2.0, 4.0)
    more = metrics.staffing_week(con, date(2026, 11, 16), 30, what_if=metrics.WhatIf(volume_pct=100, shrinkage=0.3))
    # 40 calls -> A = 4: 80% in 20 s needs 7 agents (6 give 0.772, 7 give 0.903); 7 / 0.7 = 10 FTE
    assert (more.grid.iloc[0]["what_if_required"], more.peak_fte) == (7, 10)
    assert more.grid.iloc[0]["required"] == 4  # the base column stays at the target
    # the page's what-if: the same week from the one already read, without a query
    for w in (metrics.WhatIf(volume_pct=100, shrinkage=0.3), metrics.WhatIf(aht_seconds=-60, sl_target=0.9), metrics.WhatIf()):
        tried, read = metrics.with_what_if(week, w), metrics.staffing_week(con, date(2026, 11, 16), 30, what_if=w)
        pd.testing.assert_frame_equal(tried.grid, read.grid)
        assert replace(tried, grid=None) == replace(read, grid=None)
    # No budget drivers: no cost, and the plan says what would give one
    assert (week.labour_rate, week.labour_cost, week.labour_missing) == (None, None, "no_rate")
    assert "預算時薪" in metrics.staffing_plan_text(week, "zh-TW")
    # November's drivers: regular pay at NT$300/h (two lines, hours-weighted: 100 h x 280 + 300 h x 306.67 -> 300),
    # overtime at NT$420/h (not what scheduled hours cost): the 4 scheduled hours cost 4 x 300 = NT$1,200
    con.execute("INSERT INTO budget_drivers (period, cost_center, line, pay, budget_hours, budget_rate, import_id, "
                "created_import_id) VALUES ('2026-11-01', 'C1', '人員薪資', 'regular', 100, 280, 1, 1), "
                "('2026-11-01', 'C2', '人員薪資', 'regular', 300, 920 / 3, 1, 1), "
                "('2026-11-01', 'C1', '加班費', 'overtime', 50, 420, 1, 1)")
    costed = metrics.staffing_week(con, date(2026, 11, 16), 30)
    assert costed.labour_rate == pytest.approx(300) and costed.labour_cost == pytest.approx(1200)
    assert "NT$1,200" in metrics.staffing_plan_text(costed, "en") and "NT$300" in metrics.staffing_plan_text(costed, "en")
    # A supervisor does not see the budget: the hours, not their cost
    supervisor = metrics.staffing_week(con, date(2026, 11, 16), 30, scope=Scope("supervisor", frozenset({"T1"})))
    assert (supervisor.labour_cost, supervisor.labour_missing) == (None, "scope")


def _calls(con, day: int, hour: int, n: int) -> None:
    for i in range(n):
        at = datetime(2026, 11, day, hour, i)
        con.execute("INSERT INTO contacts (contact_id, arrived_at, channel, direction, answered, answered_at, wait_seconds,"
                    " talk_seconds, hold_seconds, acw_seconds, import_id, created_import_id) VALUES (?, ?, 'phone',"
                    " 'inbound', true, ?, 5, 150, 0, 30, 1, 1)", [f"c{day}-{hour}-{i}", at, at])


def test_an_interval_with_contacts_and_nobody_logged_in_is_short_and_a_week_without_states_says_so(con):
    # The fixture's states cover Monday 09:00-10:00 of W47. Calls at 11:00 (no agent logged in): 0 staffed, short by
    # all 4 Erlang C requires (it was an unknown "—", neither short nor staffed, and the page said every interval was
    # staffed to the need). A week before the states began: not "no states imported" and no interval judged.
    _calls(con, 16, 9, 20)
    _calls(con, 16, 11, 20)
    week = metrics.staffing_week(con, date(2026, 11, 16), 30)
    eleven = week.grid[week.grid["interval_start"] == datetime(2026, 11, 16, 11)].iloc[0]
    assert (eleven["offered"], eleven["required"], eleven["staffed"], eleven["gap"]) == (20, 4, 0, -4)
    assert week.has_states and metrics.gap_status(eleven["gap"]) == "bad"
    assert sum(metrics.intervals_to_review(week)) == 2  # 09:00 (1.5 staffed of 4) and 11:00
    _calls(con, 9, 9, 20)  # W46: contacts, no state
    earlier = metrics.staffing_week(con, date(2026, 11, 9), 30)
    assert not earlier.has_states and earlier.states_imported
    assert earlier.grid["staffed"].isna().all() and not any(metrics.intervals_to_review(earlier))
    assert "本週（此組別）沒有專員狀態資料" in "\n".join(metrics.staffing_lines(earlier, "zh-TW"))
    fresh = db_with()
    _calls(fresh, 16, 9, 20)
    none = metrics.staffing_week(fresh, date(2026, 11, 16), 30)
    assert not none.has_states and not none.states_imported
    assert "尚未匯入「專員狀態」資料" in "\n".join(metrics.staffing_lines(none, "zh-TW"))


def test_an_interval_staffed_to_the_need_that_missed_its_service_level_is_listed_too(con):
    # 09:30-10:00: 1.5 staffed; 2 calls of 180 s are 0.2 Erlangs -> 1 agent required: the gap is +0.5 (green). Both
    # waited 60 s: 0% within 20 s, red against 80% (band 5 points). The grid opened on short intervals only and hid it.
    for i in range(2):
        at = datetime(2026, 11, 16, 9, 35 + i)
        con.execute("INSERT INTO contacts (contact_id, arrived_at, channel, direction, answered, answered_at, wait_seconds,"
                    " talk_seconds, hold_seconds, acw_seconds, import_id, created_import_id) VALUES (?, ?, 'phone',"
                    " 'inbound', true, ?, 60, 150, 0, 30, 1, 1)", [f"slow{i}", at, at])
    week = metrics.staffing_week(con, date(2026, 11, 16), 30)
    row = week.grid[week.grid["interval_start"] == datetime(2026, 11, 16, 9, 30)].index[0]
    assert (week.grid.loc[row, "required"], week.grid.loc[row, "staffed"], week.grid.loc[row, "service_level"]) == (1, 1.5, 0)
    assert metrics.gap_status(week.grid.loc[row, "gap"]) == "good" and metrics.sl_statuses(week)[row] == "bad"
    assert metrics.intervals_to_review(week)[row]
    _, _, statuses = metrics.staffing_table(week, "zh-TW")
    assert statuses.iloc[row]["服務水準"] == "bad"  # coloured in the grid as the tiles colour it
    assert pd.isna(statuses.iloc[0]["服務水準"])  # 09:00: no contact, no service level to judge


def test_a_fractional_number_of_agents_is_predicted_between_the_whole_numbers_around_it():
    # 10:00-10:30: four agents available, one from 10:06: (3 x 30 + 24) / 30 = 3.8 staffed. 15 calls of 393 + 30 =
    # 423 s: 15 x 423 / 1800 = 3.525 Erlangs. 3 agents hold no steady state (3 < 3.525: nothing answered in time in
    # the long run), 4 do: the prediction is 0.2 x 0 + 0.8 x SL(4). It said 人力不足 (floor(3.8) = 3 <= 3.525).
    states = [_state(a, "available", "10:00", "10:30") for a in ("B1", "B2", "B3")] + [_state("B4", "available", "10:06", "10:30")]
    con = db_with(agent_states=states)
    for i in range(15):
        at = datetime(2026, 11, 16, 10, i)
        con.execute("INSERT INTO contacts (contact_id, arrived_at, channel, direction, answered, answered_at, wait_seconds,"
                    " talk_seconds, hold_seconds, acw_seconds, import_id, created_import_id) VALUES (?, ?, 'phone',"
                    " 'inbound', true, ?, 5, 393, 0, 30, 1, 1)", [f"f{i}", at, at])
    row = metrics.staffing_week(con, date(2026, 11, 16), 30).grid.iloc[0]
    assert row["staffed"] == pytest.approx(3.8) and row["aht_seconds"] == 423
    a = 15 * 423 / 1800
    assert row["predicted_sl"] == pytest.approx(0.8 * metrics.service_level(4, a, 423, 20))
    frame, _, _ = metrics.staffing_table(metrics.staffing_week(con, date(2026, 11, 16), 30), "zh-TW")
    assert frame.iloc[0]["依上線人力預估的服務水準"] != "人力不足（上線少於話務量）"


@pytest.mark.parametrize("gap, status", [(0.0, "good"), (-0.04, "good"), (-0.06, "warning"), (-1.0, "warning"),
                                         (-1.04, "warning"), (-1.06, "bad"), (None, None)])
def test_a_gap_is_judged_as_it_is_shown_to_a_tenth_of_an_agent(gap, status):
    # 3.95 agents staffed against 4 required is shown +0.0 (number() drops the minus of a zero): it was amber
    assert metrics.gap_status(gap) == status


def pd_isna(v) -> bool:
    import pandas as pd
    return bool(pd.isna(v))


def test_agent_states_import_reads_export_words_and_rejects_bad_rows(db, write):
    path = write("states.csv", "agent_id,state,started_at,ended_at\n"
                               "A1,Ready,2026-11-16 09:00:00,2026-11-16 09:10:00\n"
                               "A1,通話中,2026-11-16 09:10:00,2026-11-16 09:25:00\n"
                               "A1,ACW,2026-11-16 09:20:00,2026-11-16 09:30:00\n"
                               "A2,Lunch,2026-11-16 09:00:00,2026-11-16 08:00:00\n"
                               "A2,午休,2026-11-16 12:00:00,2026-11-16 13:00:00\n")
    r = imports.import_file("agent_states", path, None, db=db)
    assert (r.inserted, r.rejected) == (3, 2)
    assert rows(db, "SELECT agent_id, state FROM agent_states ORDER BY agent_id, started_at") == [
        ("A1", "available"), ("A1", "on_contact"), ("A2", "break")]
    reasons = dict(zip(r.rejects["row_number"], r.rejects["reason"]))
    assert reasons[4].startswith("overlaps the same agent's earlier row in the file (which ends at 2026-11-16 09:25:00")
    assert reasons[5].startswith("ends before it starts")
    with store.open_db(db) as con:  # undo takes the rows out again
        imports.undo_import(con, r.import_id)
        assert con.execute("SELECT count(*) FROM agent_states").fetchone()[0] == 0


def test_schedule_import(db, write):
    path = write("schedule.csv", "agent_id,activity,starts_at,ends_at,team\n"
                                 "A1,phone,2026-11-16 09:00:00,2026-11-16 12:00:00,T1\n"
                                 "A1,休息,2026-11-16 12:00:00,2026-11-16 13:00:00,T1\n")
    r = imports.import_file("schedule", path, None, db=db)
    assert (r.inserted, r.rejected) == (2, 0)
    assert rows(db, "SELECT activity FROM schedule ORDER BY starts_at") == [("available",), ("break",)]


def test_the_sample_agents_are_on_a_contact_whenever_they_answer_one(sample_db):
    # Every answered contact of the sample's 8 workforce weeks (2026-09-28 .. 2026-11-22) with some talk time falls in
    # an on_contact state of its own agent: the states are built from the contacts.
    missing = rows(sample_db, """
        SELECT count(*) FROM contacts c WHERE answered AND agent_id IS NOT NULL AND talk_seconds >= 1
          AND answered_at >= '2026-09-28' AND answered_at < '2026-11-23'
          AND NOT EXISTS (SELECT 1 FROM agent_states s WHERE s.agent_id = c.agent_id AND s.state = 'on_contact'
                          AND s.started_at <= c.answered_at AND s.ended_at > c.answered_at)""")
    assert missing == [(0,)]
    assert rows(sample_db, "SELECT min(started_at)::DATE::VARCHAR, max(ended_at)::DATE::VARCHAR FROM agent_states") == [
        ("2026-09-28", "2026-11-23")]  # an e-mail answered late on the 22nd ends after midnight


def test_cli_staffing_json_on_the_sample(sample_db, capsys):
    from kpi import cli
    assert cli.main(["staffing", "--week", "2026-W47", "--interval", "60", "--db", str(sample_db), "--json"]) == 0
    import json
    doc = json.loads(capsys.readouterr().out)
    first = doc["intervals"][0]
    # Monday 08:00-09:00: 31 phone calls at 475.9 s -> A = 4.10 Erlangs -> 7 agents for 80% in 20 s; 15 staffed
    assert (doc["week"], first["start"], first["offered"], first["required"], first["staffed"]) == (
        "2026-W47", "2026-11-16 08:00", 31, 7, 15.0)
    assert first["required"] == metrics.erlang_staffing(31, 3600, first["aht_seconds"], 0.8, 20).agents
    assert doc["paid_from"] == "schedule" and doc["peak_fte"] >= doc["peak_required"]


def test_cli_staffing_bad_week_is_one_line(capsys):
    from kpi import cli
    assert cli.main(["staffing", "--week", "47", "--json"]) == 2
    assert capsys.readouterr().err.strip() == "error: --week '47': expected an ISO week such as 2026-W47"
