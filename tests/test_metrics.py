"""Every contact, survey and complaint KPI on a few literal rows, the expected values worked out by hand."""
from __future__ import annotations

from datetime import date, datetime, timedelta

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
    r = one(db_with(contacts=CONTACTS), channel="phone")
    # Phone: c1-c6, 6 offered - 1 short abandon (c4) = 5. Within 20 s: c1, c2 -> 2/5.
    assert r.service_level == pytest.approx(2 / 5)
    # Abandoned 3 - short 1 = 2 (c5, c6) over 5.
    assert r.abandon_rate == pytest.approx(2 / 5)


def test_real_time_measures_are_never_blended_across_channels():
    con = db_with(contacts=CONTACTS)
    blended = one(con)
    assert pd.isna(blended.service_level) and pd.isna(blended.asa_seconds) and pd.isna(blended.abandon_rate)
    assert blended.offered == 7 and blended.aht_seconds == pytest.approx(870 / 4)  # volumes and handle time add up
    by_channel = metrics.compute_kpis(con, *W47, "channel").set_index("key")
    assert by_channel.loc["phone", "service_level"] == pytest.approx(2 / 5)
    assert by_channel.loc["chat", "service_level"] == 1.0  # c7, 15 s


def test_speed_and_handle_time_are_ratios_of_sums_over_answered():
    r = one(db_with(contacts=CONTACTS), channel="phone")
    # ASA on phone: waits of answered c1-c3, 10 + 20 + 50 = 80 over 3.
    assert r.asa_seconds == pytest.approx(80 / 3)
    r = one(db_with(contacts=CONTACTS))
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
    # T2: c6 (phone, abandoned at 5 s, not short) and c7 (chat, answered in 15 s): two channels, no blended SL.
    assert t2.offered == 2 and pd.isna(t2.service_level)
    assert one(con, team="T2", channel="phone").service_level == 0.0  # c6 alone: 0 of 1
    chat = one(con, channel="chat")
    assert (chat.offered, chat.service_level, chat.asa_seconds) == (1, 1.0, 15.0)


def test_an_empty_group_has_no_values_not_zero():
    r = one(db_with(contacts=CONTACTS), date(2026, 1, 1), date(2026, 1, 31))
    assert r.drop("key").isna().all()
    r = one(db_with(contacts=CONTACTS), team="nobody")
    assert r.drop("key").isna().all()


def test_a_zero_denominator_gives_no_value():
    # Only a short abandon: offered - short = 0, so neither service level nor abandon rate has a value.
    r = one(db_with(contacts=[contact("x", "2026-11-16 09:00", False, 2)]), channel="phone")
    assert r.offered == 1 and pd.isna(r.service_level) and pd.isna(r.abandon_rate) and pd.isna(r.asa_seconds)


def test_by_week_covers_every_week_and_a_week_spanning_two_months_stays_one_week():
    # 2026-W49 runs Mon 30 Nov - Sun 6 Dec: one contact on each side of the month end.
    con = db_with(contacts=CONTACTS + [contact("n1", "2026-11-30 09:00", True, 5), contact("d1", "2026-12-06 23:00", True, 30)])
    by_week = metrics.compute_kpis(con, date(2026, 11, 16), date(2026, 12, 6), "week", channel="phone").set_index("key")
    assert list(by_week.index) == ["2026-W47", "2026-W48", "2026-W49"]
    assert by_week.loc["2026-W49", "offered"] == 2 and by_week.loc["2026-W49", "service_level"] == 0.5
    # W48 holds no data at all: an empty group has no values, not zeros.
    assert by_week.loc["2026-W48"].isna().all()
    by_month = metrics.compute_kpis(con, date(2026, 11, 16), date(2026, 12, 6), "month").set_index("key")
    assert by_month.loc["2026-11", "offered"] == 8 and by_month.loc["2026-12", "offered"] == 1
    assert by_week.loc["2026-W47", "offered"] == 6  # the phone filter: c7 (chat) left out


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
    assert by_agent.index[-1] is None and by_agent.iloc[-1].answered == 0
    # Offered, service level, speed of answer and abandonment are queue measures: no value per agent.
    assert by_agent[["offered", "service_level", "asa_seconds", "abandon_rate"]].isna().all().all()
    assert by_agent.loc["A1", "aht_seconds"] == pytest.approx(750 / 3)  # what an agent controls stays


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
# Opened on 30 Nov: it moves the complaints' data cut-off to 30 Nov 09:00, so W47 (ends 22 Nov) has matured
# (22 Nov + 7 days + 1 = 30 Nov 00:00). Without it the cut-off is k4's resolution, 24 Nov 08:00: still maturing.
LATER = dict(complaint_id="k9", opened_at="2026-11-30 09:00", escalated=False, team="T1", category="wait")


def test_week_summary_counts_contacts_surveys_and_complaints_of_the_week():
    # CONTACTS: 7 offered, 4 answered (c1, c2, c3, c7), 3 abandoned (c4-c6); SURVEYS s1-s4; k1-k4 opened in W47 (k0
    # before it). Team T2: c6, c7 offered, c7 answered, c6 abandoned; s2 (c7's) and s4; k3. A queue filter says
    # nothing of complaints (they have no queue): None.
    con = db_with(contacts=CONTACTS, surveys=SURVEYS, complaints=COMPLAINTS)
    s = metrics.week_summary(con, W47[0])
    assert (s.offered, s.answered, s.abandoned, s.surveys, s.complaints) == (7, 4, 3, 4, 4)
    t2 = metrics.week_summary(con, W47[0], team="T2")
    assert (t2.offered, t2.answered, t2.abandoned, t2.surveys, t2.complaints) == (2, 1, 1, 2, 1)
    assert metrics.week_summary(con, W47[0], queue="q2").complaints is None


def test_complaint_kpis():
    r = one(db_with(contacts=CONTACTS, complaints=COMPLAINTS + [LATER]))
    assert r.complaints == 4  # k1-k4 opened in W47
    assert r.complaints_per_1000 == pytest.approx(1000 * 4 / 4)  # 4 answered contacts
    assert r.complaint_resolution_rate == pytest.approx(3 / 4)  # k1, k2, k4 resolved
    # In time: k1 (20 h of 24), k4 (72 h of 120); k2 late (96 h of the default 72); k3 still open and past its due
    # time (18 Nov) at the cut-off: a miss too -> 2/4.
    assert r.complaint_sla_rate == pytest.approx(2 / 4)
    # Resolved within 7 days of opening: k1 (20 h), k2 (4 days), k4 (3 days); k3 open -> 3/4.
    assert r.complaints_resolved_within_days == pytest.approx(3 / 4)
    assert r.median_resolution_hours == pytest.approx(72.0)  # 20, 72, 96 h
    assert r.reopen_rate == pytest.approx(1 / 3)
    assert r.escalation_rate == pytest.approx(1 / 4)
    # Open at the end of Sun 22 Nov: k0, k3, k4 (resolved only on 24 Nov).
    assert r.open_complaints == 3
    # k0 is due 2 Nov 08:00 + 240 h = 12 Nov 08:00: past due; k3 past due (18 Nov); k4 due 26 Nov: not yet.
    assert r.open_complaints_past_due == 2


def test_complaint_rates_mature_a_week_after_the_range():
    immature = one(db_with(complaints=COMPLAINTS))  # data to 24 Nov 08:00: W47 matures on 30 Nov
    assert immature.complaints == 4 and immature.open_complaints == 3  # counts are final at once
    for kid in ("complaint_resolution_rate", "complaints_resolved_within_days", "complaint_sla_rate",
                "median_resolution_hours", "reopen_rate"):
        assert pd.isna(immature[kid]), kid
    s = metrics.kpi_status(db_with(complaints=COMPLAINTS), *W47)
    assert s["complaints_resolved_within_days"].value is None
    assert s["complaints_resolved_within_days"].matures_on == date(2026, 11, 30)
    assert s["complaints_resolved_within_days"].status is None  # maturing is neither good nor bad
    assert s["complaints"].matures_on is None


def test_complaint_without_due_date_uses_the_default_sla_setting():
    con = db_with(complaints=[COMPLAINTS[1], LATER])
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
    # Phone. With a 50 s threshold c3 also counts: 3/5. With short abandons under 10 s, c4 and c6 are both short, so
    # the denominator is 6 - 2 = 4 and the 2 answered within 20 s give 2/4.
    assert one(con, channel="phone", settings={"service_level_seconds": 50}).service_level == pytest.approx(3 / 5)
    assert one(con, channel="phone", settings={"short_abandon_seconds": 10}).service_level == pytest.approx(2 / 4)


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
    s = metrics.kpi_status(con, *W47, channel="phone")
    # Previous 7 days (9-15 Nov): p1 late, p2 in time -> SL 1/2; this week on phone 2/5 -> change -0.1.
    assert s["service_level"].previous == 0.5 and s["service_level"].change == pytest.approx(-0.1)
    assert s["offered"].value == 6 and s["offered"].previous == 2 and s["offered"].change == 4
    # 40% is far below 80%, but on 5 contacts (fewer than 30) no colour is earned: uncertain, with n shown.
    assert s["service_level"].status == "uncertain" and s["service_level"].target == 0.80 and s["service_level"].n == 5
    # 2/5 against 1/2 is noise: pooled .4286, se = sqrt(.2449 x (1/5 + 1/2)) = .414, z = -.24 -> steady.
    assert s["service_level"].trend == "steady"


def test_every_catalog_kpi_has_both_languages_and_a_computation():
    cat = metrics.load_catalog()
    assert len(cat.kpis) == 43  # with the labour bridge: flexed budget, volume, efficiency and rate variances
    computed = metrics.compute_kpis(db_with(contacts=CONTACTS), *W47).columns.drop("key")
    budget_ids = {k.id for k in cat.of("budget")}
    assert set(computed) | budget_ids == set(cat.kpis)


def test_format_values():
    cat = metrics.load_catalog()
    assert metrics.format_value(cat["service_level"], 0.8123) == "81.2%"
    assert metrics.format_value(cat["aht_seconds"], 185.4) == "3 分 05 秒"  # 3 x 60 + 5.4, to the second
    assert metrics.format_value(cat["aht_seconds"], 185.4, "en") == "3 min 05 s"
    assert metrics.format_value(cat["complaints_per_1000"], 14.3707) == "14.37 件/千通"  # a rate on its own: its unit
    assert metrics.format_value(cat["csat_mean"], 4.256) == "4.26 分" and metrics.format_value(cat["csat_mean"], 4.256, "en") == "4.26 pts"
    assert metrics.format_value(cat["nps"], 32.0) == "+32"
    assert metrics.format_value(cat["cost_per_contact"], 1234567.4) == "NT$1,234,567"
    assert metrics.format_value(cat["csat"], None) == "—"


def test_group_status_uses_each_groups_team_target():
    # 30 contacts each (the minimum for a colour), every one 400 s: the interval is 400 s wide of nothing.
    con = db_with(contacts=[contact(f"{a}{i}", "2026-11-16 09:00", True, 5, 400, 0, 0, team=team, agent=a)
                            for a, team in (("X", "技術支援組"), ("Y", "帳務服務組")) for i in range(30)])
    by_team = metrics.group_status(con, *W47, "team")
    # AHT 400 s: under the tech team's 420 s target (good), over the center's 360 s + 60 band? 400 <= 420: warning.
    assert by_team["技術支援組"]["aht_seconds"].status == "good"
    assert by_team["帳務服務組"]["aht_seconds"].status == "warning"
    by_agent = metrics.group_status(con, *W47, "agent", team_of=metrics.agent_teams(con, *W47))
    assert by_agent["X"]["aht_seconds"].target == 420 and by_agent["Y"]["aht_seconds"].target == 360


def test_with_no_channel_chosen_a_kpi_with_a_target_per_channel_is_not_judged_over_a_blend():
    # Team T1: 30 calls of 500 s and 30 chats of 500 s (AHT 500 s on both). Over the blend, AHT 500 s against the
    # centre's (the phone's) 360 s + 60 band would be "bad", though chats are on their 600 s target: the tiles show no
    # status for that blend, and so do the team and agent tables and the attention list (unjudged_blend). With calls
    # only in the data, the blend is the phone's: judged as before.
    both = db_with(contacts=[contact(f"{ch}{i}", "2026-11-16 09:00", True, 5, 500, 0, 0, channel=ch)
                             for ch in ("phone", "chat") for i in range(30)])
    assert metrics.channels_in(both, *W47) == ["chat", "phone"]
    teams = metrics.group_status(both, *W47, "team")
    assert teams["T1"]["aht_seconds"].status == "bad"  # what group_status alone says of the blend
    plain = metrics.unjudged_blend(teams, metrics.channels_in(both, *W47))
    assert plain["T1"]["aht_seconds"].status is None and plain["T1"]["aht_seconds"].value == 500
    assert plain["T1"]["fcr_rate"] == teams["T1"]["fcr_rate"]  # one target for every channel: judged as it is
    agents = metrics.weekly_agents(both, *W47)
    assert agents.agents["A1"]["aht_seconds"].status is None and agents.agents["A1"]["aht_seconds"].value == 500
    assert metrics.weekly_agents(both, *W47, channel="phone").agents["A1"]["aht_seconds"].status == "bad"
    calls = db_with(contacts=[contact(f"p{i}", "2026-11-16 09:00", True, 5, 500, 0, 0) for i in range(30)])
    assert metrics.channels_in(calls, *W47) == ["phone"]
    assert metrics.weekly_agents(calls, *W47).agents["A1"]["aht_seconds"].status == "bad"


def test_by_weekday_hour_for_the_heat_map():
    hm = metrics.compute_kpis(db_with(contacts=CONTACTS), *W47, "weekday_hour", channel="phone").set_index("key")
    # Monday 16 Nov: c1 at 09:00 and c2 at 10:00; Thursday 19 Nov 15:00: c7.
    assert hm.loc["1-09", "offered"] == 1 and hm.loc["1-10", "service_level"] == 1.0 and "4-15" not in hm.index
    assert pd.isna(hm.loc["1-09", "open_complaints"])


def test_each_channel_can_have_its_own_service_level_threshold():
    con = db_with(contacts=[contact("p", "2026-11-16 09:00", True, 30),  # phone, 30 s: late against 20 s
                            contact("c", "2026-11-16 09:00", True, 30, channel="chat")])  # chat, 30 s: in time on 60 s
    by_channel = metrics.compute_kpis(con, *W47, "channel").set_index("key")
    assert by_channel.loc["phone", "service_level"] == 0.0 and by_channel.loc["chat", "service_level"] == 1.0
    assert one(con, channel="chat", settings={"service_level_seconds_by_channel": {}}).service_level == 0.0


def test_a_channel_target_applies_under_that_channel_filter():
    cat = metrics.load_catalog()
    asa = cat["asa_seconds"]  # targets.yaml: 30 s, chat 45 s
    assert asa.target_for() == (30, 15) and asa.target_for(channel="chat") == (45, 15)
    assert metrics.status(asa, 40, channel="chat") == "good" and metrics.status(asa, 40) == "warning"


def test_each_channel_is_judged_on_its_own_handle_time_target():
    aht = metrics.load_catalog()["aht_seconds"]  # targets.yaml: 360 s (a call), chat 600 s, e-mail 540 s; 技術支援組 420 s
    assert aht.per_channel and aht.target_for(channel="email") == (540, 120) and aht.target_for(channel="phone") == (360, 60)
    # a channel's target wins over a team's: a technical e-mail is an e-mail; a technical call keeps its team's 420 s
    assert aht.target_for("技術支援組", "email") == (540, 120) and aht.target_for("技術支援組", "phone") == (420, 60)
    # 640 s was judged against the call target (280 s over: bad); against e-mail's 540 s it is 100 s over, within a band
    assert metrics.status(aht, 640, channel="email") == "warning" and metrics.status(aht, 640) == "bad"
    assert metrics.status(aht, 530, channel="email") == "good"


def test_e_mail_has_no_speed_of_answer_but_a_response_target():
    con = db_with(contacts=[contact("e", "2026-11-16 09:00", True, 3600, channel="email")])
    r = one(con, channel="email")
    assert pd.isna(r.asa_seconds) and pd.isna(r.service_level) and pd.isna(r.abandon_rate)


def test_e_mail_response_within_four_business_hours():
    # Office hours Mon-Fri 09:00-18:00, Taiwan's calendar; target 4 business hours (targets.yaml).
    mails = [
        # Fri 20 Nov 17:00 -> deadline Mon 23 Nov 12:00. Answered Mon 11:30: in time, over a weekend.
        contact("m1", "2026-11-20 17:00", True, None, channel="email") | {"answered_at": "2026-11-23 11:30"},
        # Wed 18 Nov 10:00 -> 14:00 the same day. Answered 15:00: late.
        contact("m2", "2026-11-18 10:00", True, None, channel="email") | {"answered_at": "2026-11-18 15:00"},
        # Thu 8 Oct 16:00 -> Fri 9 Oct is National Day observed: deadline Mon 12 Oct 11:00. Answered Mon 10:00: in time.
        contact("m3", "2026-10-08 16:00", True, None, channel="email") | {"answered_at": "2026-10-12 10:00"},
        # Sun 22 Nov 20:00 -> Mon 23 Nov 13:00, after the data's cut-off (the last arrival: Mon 23 Nov 12:30, the
        # phone call below): not judged yet, and unanswered at the cut-off: in the backlog.
        contact("m4", "2026-11-22 20:00", False, None, channel="email"),
        # Thu 19 Nov 09:00 -> 13:00; never answered: a miss, and in the backlog.
        contact("m5", "2026-11-19 09:00", False, None, channel="email"),
    ]
    con = db_with(contacts=mails + [contact("p", "2026-11-23 12:30", True, 10)])
    w47 = one(con, channel="email")
    assert w47.response_within_target_rate == pytest.approx(1 / 3)  # m1 in time; m2 late; m5 missed; m4 not yet due
    assert w47.unanswered_backlog == 2  # m4, m5
    assert pd.isna(w47.asa_seconds)
    october = one(con, date(2026, 10, 5), date(2026, 10, 11), channel="email")
    assert october.response_within_target_rate == 1.0  # m3: the holiday does not count
    by_channel = metrics.compute_kpis(con, W47[0], date(2026, 11, 23), "channel").set_index("key")
    assert pd.isna(by_channel.loc["phone", "response_within_target_rate"])  # phone has no deadline
    assert by_channel.loc["email", "response_within_target_rate"] == pytest.approx(1 / 3)


def test_a_make_up_workday_counts_toward_the_response_deadline():
    # Fri 7 Feb 2025 17:00: 1 h on Friday; Sat 8 Feb 2025 was a make-up workday (補班): deadline Sat 12:00.
    mails = [contact("s1", "2025-02-07 17:00", True, None, channel="email") | {"answered_at": "2025-02-08 11:59"},
             contact("s2", "2025-02-07 17:30", True, None, channel="email") | {"answered_at": "2025-02-10 09:00"},
             contact("z", "2025-03-01 09:00", True, 5)]  # later data: both deadlines have passed
    r = one(db_with(contacts=mails), date(2025, 2, 3), date(2025, 2, 9), channel="email")
    # s1 in time (12:00 deadline); s2's deadline is Sat 12:30 and it was answered on Monday: late -> 1/2.
    assert r.response_within_target_rate == pytest.approx(1 / 2)


def test_a_survey_counts_in_its_contacts_week_team_agent_and_channel():
    # c1 (W47, T1, A1, phone) was surveyed the week after; an unlinked survey counts in the week it was answered.
    con = db_with(contacts=CONTACTS, surveys=[
        dict(survey_id="late", responded_at="2026-11-24 10:00", contact_id="c1", csat=5, team="T9", agent_id="Z"),
        dict(survey_id="loose", responded_at="2026-11-25 10:00", csat=1, team="T2")])
    weeks = metrics.compute_kpis(con, date(2026, 11, 16), date(2026, 11, 29), "week").set_index("key")
    assert weeks.loc["2026-W47", "survey_responses"] == 1 and weeks.loc["2026-W47", "csat"] == 1.0
    assert weeks.loc["2026-W48", "survey_responses"] == 1 and weeks.loc["2026-W48", "csat"] == 0.0
    teams = metrics.compute_kpis(con, date(2026, 11, 16), date(2026, 11, 29), "team").set_index("key")
    assert teams.loc["T1", "survey_responses"] == 1 and "T9" not in teams.index  # the contact's team, not the survey's
    assert one(con, date(2026, 11, 16), date(2026, 11, 29), channel="phone").survey_responses == 1


def test_every_rate_carries_its_n_and_a_95_percent_interval():
    # 5 surveys, 4 satisfied: CSAT 80%, Wilson 95% interval 37.6%-96.4%, which holds the 85% target: uncertain.
    surveys = [dict(survey_id=f"s{i}", responded_at="2026-11-17 10:00", csat=c, nps=n)
               for i, (c, n) in enumerate([(5, 10), (4, 9), (5, 8), (4, 10), (2, 3)])]
    s = metrics.kpi_status(db_with(surveys=surveys), *W47)
    csat = s["csat"]
    assert (csat.value, csat.n, csat.status) == (0.8, 5, "uncertain")
    assert csat.interval == pytest.approx((0.3755, 0.9638), abs=1e-4)
    # Mean CSAT 4.0 (20 / 5); squares 25+16+25+16+4 = 86 -> variance 86/5 - 16 = 1.2; half-width 1.96 x sqrt(1.2/5)
    assert s["csat_mean"].interval == pytest.approx((4 - 1.959964 * (1.2 / 5) ** 0.5, 4 + 1.959964 * (1.2 / 5) ** 0.5))
    # NPS: 3 promoters, 1 passive, 1 detractor -> +40; each response +100/0/-100: var = (3+1) x 10000 / 5 - 1600
    nps = s["nps"]
    assert nps.value == pytest.approx(40) and nps.n == 5
    assert nps.interval == pytest.approx((40 - 1.959964 * (6400 / 5) ** 0.5, 40 + 1.959964 * (6400 / 5) ** 0.5))
    assert s["offered"].n is None and s["offered"].interval is None  # counts are not samples


def test_json_output_carries_n_intervals_and_maturity_beside_the_kpis(tmp_path, capsys):
    import json

    from kpi import store
    from kpi.cli import main

    db = tmp_path / "k.duckdb"
    with store.open_db(db) as con:
        for c in CONTACTS:
            con.execute(f"INSERT INTO contacts ({', '.join(c)}, import_id, created_import_id) "
                        f"VALUES ({', '.join('?' * len(c))}, 1, 1)", list(c.values()))
        for k in COMPLAINTS:
            con.execute(f"INSERT INTO complaints ({', '.join(k)}, import_id, created_import_id) "
                        f"VALUES ({', '.join('?' * len(k))}, 1, 1)", list(k.values()))
    assert main(["kpis", "--db", str(db), "--from", "2026-11-16", "--to", "2026-11-22", "--by", "channel", "--json"]) == 0
    rows = {r["key"]: r for r in json.loads(capsys.readouterr().out)["rows"]}
    phone = rows["phone"]
    assert phone["kpis"]["service_level"] == 0.4 and phone["n"]["service_level"] == 5  # 2 of 5 (c4 short)
    assert phone["interval"]["service_level"] == pytest.approx([0.1176, 0.7693], abs=1e-4)  # Wilson 2/5
    # ASA 80/3 s over waits 10, 20, 50: squares 3,000 / 3 - 26.67² = 288.9 s²; 1.96 x sqrt(288.9 / 3) = 19.23 s
    assert phone["interval"]["asa_seconds"] == pytest.approx([7.4334, 45.8999], abs=1e-4)
    assert main(["kpis", "--db", str(db), "--from", "2026-11-16", "--to", "2026-11-22", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["kpis"]["service_level"] is None and "service_level" not in doc["n"]  # blended: no value, no n
    assert doc["maturing"]["complaint_sla_rate"] == "2026-11-30"  # complaints' cut-off is 24 Nov


def test_every_definition_reads_with_its_settings_filled_in():
    # The tooltip is the app's glossary: no $placeholder may be left (Streamlit would render it as maths).
    cat = metrics.load_catalog()
    for k in cat.kpis.values():
        for lang in ("zh-TW", "en"):
            text = k.text("definition", lang, cat.settings)
            assert "$" not in text, (k.id, lang, text)
    sl = cat["service_level"].text("definition", "zh-TW", cat.settings)
    assert "等候 20 秒內" in sl and "文字客服 60 秒" in sl and "即時管道（電話、文字客服）" in sl  # no code ids on zh-TW
    assert "(Phone, Chat)" in cat["service_level"].text("definition", "en", cat.settings)
    # the rate within days says its 7 are the centre's own setting and 15 the legal limit (they read as contradicting)
    within = cat["complaints_resolved_within_days"].text("definition", "zh-TW", cat.settings)
    assert "開立後 7 天內結案" in within and "天數由本中心自訂（法定上限為 15 日" in within



def test_no_deferred_channel_means_no_deadlines_and_no_crash():
    # A centre without e-mail (or a targets.yaml that names no deferred channel): every KPI still computes.
    con = db_with(contacts=CONTACTS)
    r = one(con, settings={"response_target_hours_by_channel": {}})
    assert r.offered == 7 and pd.isna(r.response_within_target_rate) and r.unanswered_backlog == 0
    s = metrics.kpi_status(con, *W47)
    assert s["offered"].value == 7


def test_a_two_sided_kpi_on_target_is_good_not_uncertain():
    # Escalation: target 10%, band 5% either side. 100 of 1,000 escalated: Wilson 8.3%-12.0%, inside 5-15%: good.
    # 13 of 100: 13%, interval 7.8%-21.0% reaches past 15%: uncertain. 300 of 1,000: 30% (27.2-32.9%), all outside: bad.
    def status(escalated, n):
        rows = [dict(complaint_id=f"e{i}", opened_at="2026-11-16 10:00", escalated=i < escalated, team="T1")
                for i in range(n)] + [LATER]
        return metrics.kpi_status(db_with(complaints=rows), *W47)["escalation_rate"]
    assert status(100, 1000).status == "good"
    assert status(13, 100).status == "uncertain"
    assert status(300, 1000).status == "bad"


def test_a_two_sided_kpis_change_is_judged_against_noise_and_by_its_distance_from_the_target():
    # Escalation: target 10%, good near it. No 12-week history here, so a change is the 95% two-proportion test.
    # W46 1 of 45 (2.2%) -> W47 5 of 55 (9.1%): pooled 6%, se 0.0477, z = 1.44: within noise (the tile says so).
    # 10 -> 30 of 100: z = 3.54, further from 10%: worse; 30 -> 10: better; 10 -> 0 of 100: z = -3.24, and 0% is
    # further from the target than 10% (too few escalations): worse.
    def rows(monday, escalated, n):
        return [dict(complaint_id=f"{monday}-{i}", opened_at=f"{monday} 10:00", escalated=i < escalated, team="T1")
                for i in range(n)]

    def trend(before, now):
        con = db_with(complaints=rows("2026-11-09", *before) + rows("2026-11-16", *now) + [LATER])
        return metrics.kpi_status(con, *W47)["escalation_rate"].trend
    assert trend((1, 45), (5, 55)) == "steady"
    assert trend((10, 100), (30, 100)) == "worse"
    assert trend((30, 100), (10, 100)) == "better"
    assert trend((10, 100), (0, 100)) == "worse"
    # 2% -> 17%: beyond noise (z = 3.62), but as far off the target on the other side (8 points, then 7: less than half
    # a 5-point band nearer): a change, neither better nor worse (no verdict, so no colour)
    assert trend((2, 100), (17, 100)) is None


def test_a_two_sided_kpi_with_a_history_is_judged_against_where_it_usually_stands():
    # Eleven weeks W35-W45 of 100 complaints, escalations alternating 23 and 27 (centre 25%, mean moving range 4
    # points, limits 25 +- 10.64 = 14.4%-35.6%); none in W46, so there is no previous week. W47 at 10%, on target:
    # below the limits and 15 points nearer the target than the centre line: better. History alternating 8 and 12
    # (centre 10%, limits -0.6%-20.6%): W47 at 25% is above them and 15 points further off: worse; at 5%: within.
    def week(monday, escalated):
        return [dict(complaint_id=f"{monday}-{i}", opened_at=f"{monday} 10:00", escalated=i < escalated, team="T1")
                for i in range(100)]
    mondays = [(pd.Timestamp("2026-08-24") + pd.Timedelta(weeks=i)).date().isoformat() for i in range(11)]

    def trend(a, b, now):
        rows = [c for i, m in enumerate(mondays) for c in week(m, a if i % 2 == 0 else b)] + week("2026-11-16", now)
        return metrics.kpi_status(db_with(complaints=rows + [LATER]), *W47)["escalation_rate"].trend
    assert trend(23, 27, 10) == "better"
    assert trend(8, 12, 25) == "worse"
    assert trend(8, 12, 5) == "steady"


def test_worse_means_outside_the_xmr_limits_of_the_12_weeks_before():
    # 12 baseline weeks (W35-W46) of 100 phone contacts, service level alternating 80% and 90%: mean 85%, mean moving
    # range 10 points, limits 85 +- 26.6 = 58.4%-111.6%. W47 at 70% on 100 contacts: a two-proportion test against
    # W46's 90% would call it worse (z = -3.5), but it is within the weeks' own variation: steady. At 50%: worse.
    def week(monday, within):
        return [contact(f"{monday}-{i}", f"{monday} 10:00", True, 10 if i < within else 60) for i in range(100)]
    mondays = [(pd.Timestamp("2026-08-24") + pd.Timedelta(weeks=i)).date().isoformat() for i in range(12)]
    base = [c for i, m in enumerate(mondays) for c in week(m, 80 if i % 2 == 0 else 90)]
    steady = metrics.kpi_status(db_with(contacts=base + week("2026-11-16", 70)), *W47, channel="phone")
    assert steady["service_level"].value == 0.7 and steady["service_level"].trend == "steady"
    worse = metrics.kpi_status(db_with(contacts=base + week("2026-11-16", 50)), *W47, channel="phone")
    assert worse["service_level"].trend == "worse"


def test_kpi_status_of_a_week_takes_the_week_before_and_the_history_from_one_grouped_pass():
    # The same 12 weeks as above (W35-W46: 80%, 90%, ... so W46, the week before, at 90%) and W47 at 70%: previous 0.9,
    # change -0.2; the history is the 12 weeks' values; every KPI equals what the three separate ranges give.
    def week(monday, within):
        return [contact(f"{monday}-{i}", f"{monday} 10:00", True, 10 if i < within else 60) for i in range(100)]
    mondays = [(pd.Timestamp("2026-08-24") + pd.Timedelta(weeks=i)).date().isoformat() for i in range(12)]
    con = db_with(contacts=[c for i, m in enumerate(mondays) for c in week(m, 80 if i % 2 == 0 else 90)]
                  + week("2026-11-16", 70), complaints=COMPLAINTS)
    s = metrics.kpi_status(con, *W47, channel="phone")
    assert (s["service_level"].value, s["service_level"].previous) == (0.7, 0.9)
    assert s["service_level"].change == pytest.approx(-0.2)
    assert s["offered"].value == 100 and s["offered"].previous == 100
    assert_same_as_separate_ranges(con, *W47, channel="phone")


def test_kpi_status_of_a_month_takes_the_month_before_and_the_history_from_one_grouped_pass(sample_db):
    from kpi.store import open_db
    with open_db(sample_db, read_only=True) as con:
        assert_same_as_separate_ranges(con, date(2026, 10, 1), date(2026, 10, 31))
        assert_same_as_separate_ranges(con, *W47, team="技術支援組")
        assert_same_as_separate_ranges(con, date(2026, 11, 2), date(2026, 11, 15))  # two weeks: no history


def assert_same_as_separate_ranges(con, start, end, **filters):
    """kpi_status equals judging the range's, the previous range's and (a week or month) the 12 buckets' before it
    compute_kpis, each asked alone."""
    from datetime import timedelta
    from kpi.metrics._judge import history_of, judged, with_cutoffs
    cat = metrics.load_catalog()
    settings = with_cutoffs(con, cat)
    kw = dict(filters, catalog=cat, settings=settings, stats=True)
    now = metrics.compute_kpis(con, start, end, **kw).iloc[0].to_dict()
    before = metrics.compute_kpis(con, *metrics.previous_range(start, end), **kw).iloc[0].to_dict()
    history = {}
    if (end - start).days == 6:
        history = history_of(metrics.compute_kpis(con, start - timedelta(weeks=12), start - timedelta(days=1), "week",
                                                  **{**kw, "stats": False}))
    elif start.day == 1 and (end - start).days < 31:
        history = history_of(metrics.compute_kpis(con, date(start.year - 1, start.month, 1), start - timedelta(days=1),
                                                  "month", **{**kw, "stats": False}))
    expected = judged(cat, settings, now, before, history, end, filters.get("team"), filters.get("channel"))
    got = metrics.kpi_status(con, start, end, **filters)
    assert got.keys() == expected.keys()
    for kid, e in expected.items():
        for field, want in e._asdict().items():  # the same up to the order of float sums (rollup or raw rows)
            have = getattr(got[kid], field)
            if isinstance(want, (float, tuple)):
                assert have == pytest.approx(want, rel=1e-12, abs=1e-12), (kid, field)
            else:
                assert have == want, (kid, field)



def test_a_calendar_month_is_compared_with_the_previous_calendar_month():
    # October (31 days) against September (30 days), not against the 31 days before (31 Aug - 30 Sep).
    assert metrics.previous_range(date(2026, 10, 1), date(2026, 10, 31)) == (date(2026, 9, 1), date(2026, 9, 30))
    assert metrics.previous_range(date(2026, 3, 1), date(2026, 3, 31)) == (date(2026, 2, 1), date(2026, 2, 28))
    assert metrics.previous_range(*W47) == (date(2026, 11, 9), date(2026, 11, 15))  # a week: the week before
    assert metrics.previous_range(date(2026, 10, 5), date(2026, 10, 31)) == (date(2026, 9, 8), date(2026, 10, 4))


@pytest.mark.parametrize("cutoff, last", [(datetime(2026, 11, 22, 20, 3), date(2026, 11, 14)),
                                          (datetime(2026, 11, 22, 0, 0), date(2026, 11, 14)),
                                          (datetime(2026, 11, 21, 23, 59), date(2026, 11, 13))])
def test_the_last_range_end_a_maturing_rate_has_its_value_for(cutoff, last):
    # complaint rates mature 7 days after their range: a range ending on day e has its value from e + 8 at 00:00
    from kpi.metrics._engine import last_matured_end, matured

    cat = metrics.load_catalog()
    settings = {**cat.settings, "__cutoffs": {"complaints": cutoff}}
    kpi = cat["complaint_resolution_rate"]
    assert last_matured_end(kpi, settings) == last
    assert matured(kpi, last, settings) and not matured(kpi, last + timedelta(days=1), settings)


def test_a_quarter_is_compared_with_the_quarter_before(sample_db):
    # 2026 Q3 was compared with the 92 days before it (2026-03-31 and Q2: 技術支援組's complaints 312 against 306), while
    # the sidebar's previous quarter, Q2, showed 301. The whole centre's, by plain counts on the sample: Q2 903, Q3 896.
    from kpi import store

    assert metrics.previous_range(date(2026, 7, 1), date(2026, 9, 30)) == (date(2026, 4, 1), date(2026, 6, 30))
    assert metrics.previous_range(date(2026, 1, 1), date(2026, 3, 31)) == (date(2025, 10, 1), date(2025, 12, 31))
    assert metrics.previous_range(date(2026, 7, 2), date(2026, 9, 30)) == (date(2026, 4, 2), date(2026, 7, 1))  # 91 days
    with store.open_db(sample_db, read_only=True) as con:
        q2, q3 = (con.execute("SELECT count(*) FROM complaints WHERE opened_at >= ? AND opened_at < ?", [a, b]).fetchone()[0]
                  for a, b in ((date(2026, 4, 1), date(2026, 7, 1)), (date(2026, 7, 1), date(2026, 10, 1))))
        complaints = metrics.kpi_status(con, date(2026, 7, 1), date(2026, 9, 30))["complaints"]
    assert (q2, q3) == (903, 896) and (complaints.previous, complaints.value, complaints.change) == (903, 896, -7)
