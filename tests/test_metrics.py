"""Every contact, survey and complaint KPI on a few literal rows, the expected values worked out by hand."""
from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from kpi import metrics
from helpers import db_with




def contact(cid, at, answered, wait, talk=None, hold=None, acw=None, transferred=None, fcr=None, team="T1", channel="phone", queue="q1", agent="A1"):
    return dict(contact_id=cid, arrived_at=at, answered=answered, wait_seconds=wait, talk_seconds=talk, hold_seconds=hold,
                acw_seconds=acw, transferred=transferred, resolved_first_contact=fcr, team=team, channel=channel,
                queue=queue, agent_id=agent if answered else None)


# Week 2026-W47 (Mon 16 - Sun 22 Nov 2026).
CONTACTS = [
    contact("c1", "2026-11-16 09:00", True, 10, 100, 20, 30, False, True),   # within 20 s
    contact("c2", "2026-11-16 10:00", True, 20, 200, 0, 40, True, False),    # exactly 20 s counts as within
    contact("c3", "2026-11-17 11:00", True, 50, 300, 60, 0, False, None),    # too slow; FCR unknown
    contact("c4", "2026-11-17 12:00", False, 3),                              # short abandon (< 5 s)
    contact("c5", "2026-11-18 13:00", False, 40),                             # real abandon
    contact("c6", "2026-11-18 14:00", False, 5, team="T2"),                   # 5 s is not short (< 5 only)
    contact("c7", "2026-11-19 15:00", True, 15, 120, 0, 0, False, True, team="T2", channel="chat", queue="q2", agent="A2"),
]
W47 = (date(2026, 11, 16), date(2026, 11, 22))


def one(con, start=W47[0], end=W47[1], **kw) -> pd.Series:
    return metrics.compute_kpis(con, start, end, **kw).iloc[0]


def test_volume_counts():
    r = one(db_with(contacts=CONTACTS))
    assert (r.offered, r.answered, r.abandoned, r.short_abandoned) == (7, 4, 3, 1)


def test_short_abandons_leave_the_service_level_and_abandon_rate_denominators():
    r = one(db_with(contacts=CONTACTS))
    # Denominator: 7 offered - 1 short abandon = 6. Within 20 s: c1, c2, c7 = 3 -> 3/6.
    assert r.service_level == pytest.approx(3 / 6)
    # Abandoned 3 - short 1 = 2 (c5, c6) over 6.
    assert r.abandon_rate == pytest.approx(2 / 6)


def test_speed_and_handle_time_are_ratios_of_sums_over_answered():
    r = one(db_with(contacts=CONTACTS))
    # ASA: waits of answered 10 + 20 + 50 + 15 = 95 over 4.
    assert r.asa_seconds == pytest.approx(95 / 4)
    # AHT: (100+20+30) + (200+0+40) + (300+60+0) + (120+0+0) = 150 + 240 + 360 + 120 = 870 over 4.
    assert r.aht_seconds == pytest.approx(870 / 4)


def test_transfer_and_first_contact_resolution_rates():
    r = one(db_with(contacts=CONTACTS))
    assert r.transfer_rate == pytest.approx(1 / 4)  # c2 of 4 answered
    # FCR known for c1, c2, c7 (c3 unknown): resolved c1, c7 -> 2/3.
    assert r.fcr_rate == pytest.approx(2 / 3)


def test_filters_on_team_and_channel():
    con = db_with(contacts=CONTACTS)
    t2 = one(con, team="T2")
    # T2: c6 (abandoned at 5 s, not short) and c7 (answered in 15 s): SL 1/2.
    assert (t2.offered, t2.service_level) == (2, pytest.approx(0.5))
    chat = one(con, channel="chat")
    assert (chat.offered, chat.service_level, chat.asa_seconds) == (1, 1.0, 15.0)


def test_an_empty_group_has_no_values_not_zero():
    r = one(db_with(contacts=CONTACTS), date(2026, 1, 1), date(2026, 1, 31))
    assert r.drop("key").isna().all()
    r = one(db_with(contacts=CONTACTS), team="nobody")
    assert r.drop("key").isna().all()


def test_a_zero_denominator_gives_no_value():
    # Only a short abandon: offered - short = 0, so neither service level nor abandon rate has a value.
    r = one(db_with(contacts=[contact("x", "2026-11-16 09:00", False, 2)]))
    assert r.offered == 1 and pd.isna(r.service_level) and pd.isna(r.abandon_rate) and pd.isna(r.asa_seconds)


def test_by_week_covers_every_week_and_a_week_spanning_two_months_stays_one_week():
    # 2026-W49 runs Mon 30 Nov - Sun 6 Dec: one contact on each side of the month end.
    con = db_with(contacts=CONTACTS + [contact("n1", "2026-11-30 09:00", True, 5), contact("d1", "2026-12-06 23:00", True, 30)])
    by_week = metrics.compute_kpis(con, date(2026, 11, 16), date(2026, 12, 6), "week").set_index("key")
    assert list(by_week.index) == ["2026-W47", "2026-W48", "2026-W49"]
    assert by_week.loc["2026-W49", "offered"] == 2 and by_week.loc["2026-W49", "service_level"] == 0.5
    # W48 holds no data at all: an empty group has no values, not zeros.
    assert by_week.loc["2026-W48"].isna().all()
    by_month = metrics.compute_kpis(con, date(2026, 11, 16), date(2026, 12, 6), "month").set_index("key")
    assert by_month.loc["2026-11", "offered"] == 8 and by_month.loc["2026-12", "offered"] == 1


def test_iso_week_keys_use_the_iso_year():
    con = db_with(contacts=[contact("y", "2027-01-01 09:00", True, 5)])  # a Friday in ISO week 2026-W53
    assert metrics.compute_kpis(con, date(2027, 1, 1), date(2027, 1, 1), "week").key.tolist() == ["2026-W53"]


def test_by_day_and_by_dimension():
    con = db_with(contacts=CONTACTS)
    by_day = metrics.compute_kpis(con, *W47, "day").set_index("key")
    assert len(by_day) == 7 and by_day.loc["2026-11-16", "offered"] == 2 and pd.isna(by_day.loc["2026-11-22", "offered"])
    by_team = metrics.compute_kpis(con, *W47, "team").set_index("key")
    assert by_team.loc["T1", "offered"] == 5 and by_team.loc["T2", "offered"] == 2
    by_agent = metrics.compute_kpis(con, *W47, "agent").set_index("key")
    # Abandoned contacts have no agent: they form their own group (key None), so agents' numbers stay clean.
    assert by_agent.loc["A1", "answered"] == 3 and by_agent.loc["A2", "answered"] == 1
    assert by_agent.index[-1] is None and by_agent.iloc[-1].offered == 3


SURVEYS = [
    dict(survey_id="s1", responded_at="2026-11-16 10:00", contact_id="c1", csat=5, nps=10, ces=6),
    dict(survey_id="s2", responded_at="2026-11-17 10:00", contact_id="c7", csat=4, nps=9, ces=None),
    dict(survey_id="s3", responded_at="2026-11-18 10:00", contact_id="c2", csat=2, nps=3, ces=2),
    dict(survey_id="s4", responded_at="2026-11-18 11:00", contact_id=None, team="T2", csat=None, nps=7, ces=4),
]


def test_survey_kpis():
    r = one(db_with(contacts=CONTACTS, surveys=SURVEYS))
    assert r.survey_responses == 4
    assert r.csat == pytest.approx(2 / 3)  # csat >= 4: s1, s2 of the 3 with a csat
    assert r.csat_mean == pytest.approx((5 + 4 + 2) / 3)
    # nps of 4 responses: promoters s1, s2 (2), detractors s3 (1), passive s4: 100 x (2 - 1) / 4 = 25.
    assert r.nps == pytest.approx(25.0)
    assert r.ces_mean == pytest.approx((6 + 2 + 4) / 3)


def test_survey_team_comes_from_the_linked_contact_when_absent():
    by_team = metrics.compute_kpis(db_with(contacts=CONTACTS, surveys=SURVEYS), *W47, "team").set_index("key")
    # s1, s3 via contacts c1, c2 (T1); s2 via c7 (T2); s4 says T2 itself.
    assert by_team.loc["T1", "survey_responses"] == 2 and by_team.loc["T2", "survey_responses"] == 2
    by_channel = metrics.compute_kpis(db_with(contacts=CONTACTS, surveys=SURVEYS), *W47, "channel").set_index("key")
    assert by_channel.loc["chat", "survey_responses"] == 1  # s2 via its chat contact


COMPLAINTS = [
    # Resolved in 20 h, due in 24 h (sla_hours): in time. Reopened once.
    dict(complaint_id="k1", opened_at="2026-11-16 10:00", resolved_at="2026-11-17 06:00", sla_hours=24, reopened_count=1, escalated=False, team="T1", category="billing"),
    # No due_at, no sla_hours: due 72 h after opening (19 Nov 10:00); resolved 20 Nov 10:00, late.
    dict(complaint_id="k2", opened_at="2026-11-16 10:00", resolved_at="2026-11-20 10:00", reopened_count=0, escalated=True, team="T1", category="billing"),
    # due_at given: 18 Nov 12:00; still open at the end of the week, so past due.
    dict(complaint_id="k3", opened_at="2026-11-17 12:00", due_at="2026-11-18 12:00", escalated=False, team="T2", category="wait"),
    # Opened before the range, still open: counts in the backlog but not in the range's complaints.
    dict(complaint_id="k0", opened_at="2026-11-02 08:00", sla_hours=240, escalated=False, team="T1", category="wait"),
    # Opened in the range, resolved the week after: resolved as the data stands, open at the end of W47.
    dict(complaint_id="k4", opened_at="2026-11-21 08:00", resolved_at="2026-11-24 08:00", sla_hours=120, reopened_count=0, escalated=False, team="T1", category="wait"),
]


def test_complaint_kpis():
    r = one(db_with(contacts=CONTACTS, complaints=COMPLAINTS))
    assert r.complaints == 4  # k1-k4 opened in W47
    assert r.complaints_per_1000 == pytest.approx(1000 * 4 / 4)  # 4 answered contacts
    assert r.complaint_resolution_rate == pytest.approx(3 / 4)  # k1, k2, k4 resolved
    # In time: k1 (20 h of 24), k4 (72 h of 120); k2 late (96 h of the default 72) -> 2/3.
    assert r.complaint_sla_rate == pytest.approx(2 / 3)
    assert r.median_resolution_hours == pytest.approx(72.0)  # 20, 72, 96 h
    assert r.reopen_rate == pytest.approx(1 / 3)
    assert r.escalation_rate == pytest.approx(1 / 4)
    # Open at the end of Sun 22 Nov: k0, k3, k4 (resolved only on 24 Nov).
    assert r.open_complaints == 3
    # k0 is due 2 Nov 08:00 + 240 h = 12 Nov 08:00: past due; k3 past due (18 Nov); k4 due 26 Nov: not yet.
    assert r.open_complaints_past_due == 2


def test_complaint_without_due_date_uses_the_default_sla_setting():
    con = db_with(complaints=[COMPLAINTS[1]])
    assert one(con).complaint_sla_rate == 0.0  # 96 h > 72 h default
    assert one(con, settings={"default_sla_hours": 100}).complaint_sla_rate == 1.0


def test_backlog_by_week_is_taken_at_each_week_end():
    con = db_with(contacts=CONTACTS, complaints=COMPLAINTS)
    weeks = metrics.compute_kpis(con, date(2026, 11, 9), date(2026, 11, 29), "week").set_index("key")
    # End of W46 (15 Nov): only k0. End of W47: k0, k3, k4. End of W48 (29 Nov): k0, k3 (k4 resolved 24 Nov).
    assert weeks.open_complaints.tolist() == [1, 3, 2]


def test_complaints_by_category_only_carry_complaint_kpis():
    by_cat = metrics.compute_kpis(db_with(contacts=CONTACTS, complaints=COMPLAINTS), *W47, "category").set_index("key")
    assert by_cat.loc["billing", "complaints"] == 2 and by_cat.loc["wait", "complaints"] == 2
    assert pd.isna(by_cat.loc["billing", "offered"])


def test_thresholds_are_settings():
    con = db_with(contacts=CONTACTS)
    # With a 50 s threshold c3 also counts: 4/6. With short abandons under 10 s, c4 and c6 are both short, so the
    # denominator is 7 - 2 = 5 and the 3 answered within 20 s give 3/5.
    assert one(con, settings={"service_level_seconds": 50}).service_level == pytest.approx(4 / 6)
    assert one(con, settings={"short_abandon_seconds": 10}).service_level == pytest.approx(3 / 5)


def test_status_follows_direction_target_and_band():
    cat = metrics.load_catalog()
    sl, aht = cat["service_level"], cat["aht_seconds"]  # 0.80 +- 0.05 higher; 360 +- 60 lower
    assert [metrics.status(sl, v) for v in (0.80, 0.76, 0.74, None)] == ["good", "warning", "bad", None]
    assert [metrics.status(aht, v) for v in (300, 400, 421)] == ["good", "warning", "bad"]
    # A team's own target (targets.yaml: 技術支援組 AHT 420 s).
    assert metrics.status(aht, 430, "技術支援組") == "warning" and metrics.status(aht, 430) == "bad"
    assert metrics.status(cat["offered"], 100) is None  # no direction of good


def test_change_against_the_previous_period_of_the_same_length():
    con = db_with(contacts=CONTACTS + [contact("p1", "2026-11-10 09:00", True, 30), contact("p2", "2026-11-11 09:00", True, 10)])
    s = metrics.kpi_status(con, *W47)
    # Previous 7 days (9-15 Nov): p1 late, p2 in time -> SL 1/2; this week 3/6 -> change 0.
    assert s["service_level"].previous == 0.5 and s["service_level"].change == pytest.approx(0.0)
    assert s["offered"].value == 7 and s["offered"].previous == 2 and s["offered"].change == 5
    assert s["service_level"].status == "bad" and s["service_level"].target == 0.80


def test_every_catalog_kpi_has_both_languages_and_a_computation():
    cat = metrics.load_catalog()
    assert len(cat.kpis) == 32
    computed = metrics.compute_kpis(db_with(contacts=CONTACTS), *W47).columns.drop("key")
    budget_ids = {k.id for k in cat.of("budget")}
    assert set(computed) | budget_ids == set(cat.kpis)


def test_format_values():
    cat = metrics.load_catalog()
    assert metrics.format_value(cat["service_level"], 0.8123) == "81.2%"
    assert metrics.format_value(cat["aht_seconds"], 185.4) == "3:05"
    assert metrics.format_value(cat["nps"], 32.0) == "+32"
    assert metrics.format_value(cat["cost_per_contact"], 1234567.4) == "NT$1,234,567"
    assert metrics.format_value(cat["csat"], None) == "—"


def test_group_status_uses_each_groups_team_target():
    con = db_with(contacts=[contact("a", "2026-11-16 09:00", True, 5, 400, 0, 0, team="技術支援組", agent="X"),
                            contact("b", "2026-11-16 09:00", True, 5, 400, 0, 0, team="帳務服務組", agent="Y")])
    by_team = metrics.group_status(con, *W47, "team")
    # AHT 400 s: under the tech team's 420 s target (good), over the center's 360 s + 60 band? 400 <= 420: warning.
    assert by_team["技術支援組"]["aht_seconds"].status == "good"
    assert by_team["帳務服務組"]["aht_seconds"].status == "warning"
    by_agent = metrics.group_status(con, *W47, "agent", team_of=metrics.agent_teams(con, *W47))
    assert by_agent["X"]["aht_seconds"].target == 420 and by_agent["Y"]["aht_seconds"].target == 360


def test_by_weekday_hour_for_the_heat_map():
    hm = metrics.compute_kpis(db_with(contacts=CONTACTS), *W47, "weekday_hour").set_index("key")
    # Monday 16 Nov: c1 at 09:00 and c2 at 10:00; Thursday 19 Nov 15:00: c7.
    assert hm.loc["1-09", "offered"] == 1 and hm.loc["1-10", "service_level"] == 1.0 and hm.loc["4-15", "offered"] == 1
    assert pd.isna(hm.loc["1-09", "open_complaints"])


def test_each_channel_can_have_its_own_service_level_threshold():
    con = db_with(contacts=[contact("p", "2026-11-16 09:00", True, 30),  # phone, 30 s: late against 20 s
                            contact("e", "2026-11-16 09:00", True, 3600, channel="email")])  # e-mail, 1 h
    by_channel = {"email": 86400}
    assert one(con, settings={"service_level_seconds_by_channel": {}}).service_level == 0.0
    # Phone still on 20 s (late); e-mail on its own 24 h (in time): 1 / 2.
    assert one(con, settings={"service_level_seconds_by_channel": by_channel}).service_level == 0.5
    assert one(con, channel="email", settings={"service_level_seconds_by_channel": by_channel}).service_level == 1.0


def test_a_channel_target_applies_under_that_channel_filter():
    cat = metrics.load_catalog()
    asa = cat["asa_seconds"]  # targets.yaml: 30 s, e-mail 14,400 s (4 h)
    assert asa.target_for() == (30, 15) and asa.target_for(channel="email") == (14400, 7200)
    assert metrics.status(asa, 3600, channel="email") == "good" and metrics.status(asa, 3600) == "bad"
    con = db_with(contacts=[contact("e", "2026-11-16 09:00", True, 3600, channel="email")])
    s = metrics.kpi_status(con, *W47, channel="email")
    assert s["asa_seconds"].target == 14400 and s["asa_seconds"].status == "good"
