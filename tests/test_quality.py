"""The service-quality page's data (kpi.quality) and comment masking (kpi.privacy), on literal rows worked out by hand."""
from __future__ import annotations

import re
from datetime import date

import duckdb
import pandas as pd
import pytest

from kpi import metrics
from kpi.metrics import mask_pii
from helpers import db_with




W47 = (date(2026, 11, 16), date(2026, 11, 22))  # Mon 16 - Sun 22 Nov 2026

CONTACTS = [
    dict(contact_id="c1", arrived_at="2026-11-16 09:00", answered=True, team="T1", agent_id="A1", channel="phone", queue="q1"),
    dict(contact_id="c2", arrived_at="2026-11-17 09:00", answered=True, team="T2", agent_id="A2", channel="chat", queue="q2"),
]
SURVEYS = [
    dict(survey_id="s1", responded_at="2026-11-16 10:00", contact_id="c1", csat=5, nps=10, ces=7, comment="服務很好"),
    dict(survey_id="s2", responded_at="2026-11-16 11:00", contact_id="c1", csat=1, nps=0, ces=1, comment="請回電 0912-345-678"),
    dict(survey_id="s3", responded_at="2026-11-17 10:00", contact_id="c2", csat=2, nps=6, comment="等太久，回信到 amy@example.com"),
    # No contact: team and agent are the survey's own, and it has no channel or queue.
    dict(survey_id="s4", responded_at="2026-11-18 10:00", team="T2", agent_id="A9", csat=2, nps=7, ces=4, comment="   "),
    # A survey about a contact counts as its contact's: team T2 (not its own T1), channel chat, queue q2, week W47.
    dict(survey_id="s5", responded_at="2026-11-19 10:00", contact_id="c2", team="T1", csat=3, nps=9, ces=5, comment="普通"),
    dict(survey_id="s6", responded_at="2026-11-23 10:00", contact_id="c1", csat=4, nps=8, ces=6),  # answered in W48: W47's
    dict(survey_id="s7", responded_at="2026-11-24 10:00", contact_id="c2", nps=5, ces=2),  # answered in W48, no csat
    dict(survey_id="s8", responded_at="2026-11-25 10:00", team="T1", csat=4, nps=10, ces=7),  # unlinked: W48's
]


def complaint(cid, opened, resolved=None, *, team="T1", channel="phone", category="billing", **kw):
    return dict(complaint_id=cid, opened_at=opened, resolved_at=resolved, team=team, channel=channel, category=category, **kw)


COMPLAINTS = [
    complaint("k1", "2026-11-16 10:00", "2026-11-16 13:00", sla_hours=24),                   # 3 h: in time
    complaint("k2", "2026-11-16 10:00", "2026-11-17 10:00", sla_hours=24),                   # exactly 24 h: in time
    complaint("k3", "2026-11-17 08:00", "2026-11-20 08:00", category="wait"),                # 72 h, default SLA 72 h: in time
    complaint("k4", "2026-11-18 09:00", "2026-11-24 09:00", due_at="2026-11-20 09:00",       # 144 h: late; open on 22 Nov
              team="T2", channel="chat", category="wait"),
    complaint("k5", "2026-11-19 12:00", sla_hours=24, team="T2", channel="chat", category="wait"),  # open, due 20 Nov 12:00
    complaint("k6", "2026-11-22 20:00", sla_hours=72),                                       # open, due 25 Nov
    complaint("k7", "2026-11-01 08:00", sla_hours=120, category=None),                       # before W47; open, due 6 Nov
    complaint("k8", "2026-11-20 09:00", "2026-11-21 01:00", sla_hours=24, category="service"),  # 16 h: in time
    complaint("k9", "2026-11-10 10:00", "2026-11-25 10:00", sla_hours=72, category="wait"),  # before W47; open on 22 Nov
    complaint("k10", "2026-11-20 00:00", sla_hours=120, category=None),                      # open, due 25 Nov
]


def survey_db() -> duckdb.DuckDBPyConnection:
    return db_with(contacts=CONTACTS, surveys=SURVEYS)


def complaint_db() -> duckdb.DuckDBPyConnection:
    return db_with(contacts=CONTACTS, complaints=COMPLAINTS)


# --- score_distribution ---------------------------------------------------------------------------------------------

def test_score_distribution_lists_every_possible_value_with_zeros():
    con = survey_db()
    csat = metrics.score_distribution(con, *W47)
    # W47 (contacts' week): s1..s7. csat 5, 1, 2, 2, 3, 4 (s7 none) -> 1:1, 2:2, 3:1, 4:1, 5:1 of 6.
    assert csat.score.tolist() == [1, 2, 3, 4, 5]
    assert csat.responses.tolist() == [1, 2, 1, 1, 1]
    assert csat.share.tolist() == pytest.approx([1 / 6, 2 / 6, 1 / 6, 1 / 6, 1 / 6])
    nps = metrics.score_distribution(con, *W47, "nps")
    # nps 10, 0, 6, 7, 9, 8, 5: one each; the other four values 0.
    assert nps.score.tolist() == list(range(11))
    assert nps.responses.tolist() == [1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]
    ces = metrics.score_distribution(con, *W47, "ces")
    # ces 7, 1, (none), 4, 5, 6, 2: six responses with a ces, so the share is of 6.
    assert ces.score.tolist() == list(range(1, 8))
    assert ces.responses.tolist() == [1, 1, 0, 1, 1, 1, 1] and ces.share.iloc[0] == pytest.approx(1 / 6)


def test_score_distribution_filters_like_compute_kpis():
    con = survey_db()
    # T1: s1, s2, s6 via contact c1 -> csat 5, 1, 4 (s5 is about c2, a T2 contact, whatever its own team says).
    assert metrics.score_distribution(con, *W47, team="T1").responses.tolist() == [1, 0, 0, 1, 1]
    # chat / q2 (contact c2): s3, s5, s7 -> csat 2, 3 (s7 none); s4 has no contact, so no channel.
    for kw in ({"channel": "chat"}, {"queue": "q2"}):
        assert metrics.score_distribution(con, *W47, **kw).responses.tolist() == [0, 1, 1, 0, 0]
    assert metrics.score_distribution(con, *W47, team="T1").responses.sum() == metrics.compute_kpis(
        con, *W47, team="T1").survey_responses.iloc[0]


def test_score_distribution_of_an_empty_range_has_zero_counts_and_no_shares():
    frame = metrics.score_distribution(survey_db(), date(2026, 1, 1), date(2026, 1, 31))
    assert frame.responses.tolist() == [0] * 5 and frame.share.isna().all()


def test_score_distribution_takes_only_known_scores():
    with pytest.raises(ValueError, match="csat, nps, ces"):
        metrics.score_distribution(survey_db(), *W47, "csat; DROP TABLE surveys")


# --- survey_trend -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("grain", ["day", "week", "month"])
@pytest.mark.parametrize("filters", [{}, {"team": "T1"}, {"channel": "chat"}, {"queue": "q1"}])
def test_survey_trend_equals_compute_kpis(grain, filters):
    con = survey_db()
    start, end = date(2026, 11, 16), date(2026, 11, 29)
    trend = metrics.survey_trend(con, start, end, grain, **filters)
    kpis = metrics.compute_kpis(con, start, end, grain, **filters)
    assert trend.bucket.tolist() == kpis.key.tolist()
    pd.testing.assert_frame_equal(trend[list(metrics.SURVEY_KPIS)], kpis[list(metrics.SURVEY_KPIS)])


def test_survey_trend_by_week_worked_by_hand():
    trend = metrics.survey_trend(survey_db(), date(2026, 11, 16), date(2026, 11, 29)).set_index("bucket")
    assert trend.index.tolist() == ["2026-W47", "2026-W48"]
    assert trend.bucket_start.tolist() == [pd.Timestamp("2026-11-16"), pd.Timestamp("2026-11-23")]
    w47, w48 = trend.loc["2026-W47"], trend.loc["2026-W48"]
    # W47 holds s1..s7 (s6 and s7 were answered in W48 about W47 contacts): csat 4+ of 6 = s1, s6 -> 2/6; mean 17/6;
    # nps 10, 0, 6, 7, 9, 8, 5: 2 promoters, 3 detractors of 7 -> -14.29; ces 7, 1, 4, 5, 6, 2 -> 25/6.
    assert (w47.survey_responses, w47.csat, w47.csat_mean, w47.nps, w47.ces_mean) == pytest.approx(
        (7, 2 / 6, 17 / 6, -100 / 7, 25 / 6))
    # W48: only s8, unlinked, in the week it was answered (csat 4, nps 10, ces 7).
    assert (w48.survey_responses, w48.csat, w48.csat_mean, w48.nps, w48.ces_mean) == (1, 1.0, 4.0, 100.0, 7.0)


# --- complaint_funnel -------------------------------------------------------------------------------------------------

def test_complaint_funnel_opened_resolved_in_time():
    funnel = metrics.complaint_funnel(complaint_db(), *W47).set_index("stage")
    # Opened in W47: k1-k6, k8, k10 = 8. Resolved (as the data stands, k4 on 24 Nov): k1-k4, k8 = 5.
    # In time: k1 (3 h of 24), k2 (24 h of 24: on the due time counts), k3 (72 h of the default 72), k8 -> 4; k4 late.
    assert funnel.complaints.tolist() == [8, 5, 4]
    assert funnel.share_of_opened.tolist() == pytest.approx([1.0, 5 / 8, 4 / 8])


def test_complaint_funnel_matches_the_complaint_kpis():
    con = complaint_db()
    funnel = metrics.complaint_funnel(con, *W47).complaints.tolist()
    # Matured with no waiting days: the complaints' cut-off is k9's resolution, 25 Nov 10:00.
    k = metrics.compute_kpis(con, *W47, settings={"complaint_resolution_days": 0}).iloc[0]
    assert funnel[0] == k.complaints
    assert funnel[1] / funnel[0] == pytest.approx(k.complaint_resolution_rate)
    # In time over resolved plus open past due at the cut-off: k5 (due 20 Nov) and k10 (due 25 Nov 00:00), not k6
    # (due 25 Nov 20:00) -> 4 / (5 + 2).
    assert funnel[2] / (funnel[1] + 2) == pytest.approx(k.complaint_sla_rate)


def test_complaint_funnel_uses_the_default_sla_setting_and_filters():
    con = complaint_db()
    # With a 48 h default, k3 (72 h, no due time of its own) is late.
    assert metrics.complaint_funnel(con, *W47, settings={"default_sla_hours": 48}).complaints.tolist() == [8, 5, 3]
    # chat: k4 (resolved late) and k5 (open).
    assert metrics.complaint_funnel(con, *W47, channel="chat").complaints.tolist() == [2, 1, 0]
    # Complaints have no queue: a queue filter leaves none, and shares of nothing have no value.
    none = metrics.complaint_funnel(con, *W47, queue="q1")
    assert none.complaints.tolist() == [0, 0, 0] and none.share_of_opened.isna().all()


# --- resolution_time_distribution -------------------------------------------------------------------------------------

def test_resolution_time_bands_hold_their_upper_edge():
    frame = metrics.resolution_time_distribution(complaint_db(), *W47)
    assert frame.band.tolist() == ["≤4", "4-8", "8-24", "24-48", "48-72", "72-120", ">120"]
    assert frame.band.cat.ordered
    # k1 3 h -> ≤4; k8 16 h and k2 exactly 24 h -> 8-24; k3 exactly 72 h -> 48-72; k4 144 h -> >120.
    # k5, k6, k10 are open; k7, k9 were opened before W47.
    assert frame.complaints.tolist() == [1, 0, 2, 0, 1, 0, 1]
    assert frame.share.sum() == pytest.approx(1.0) and frame.share.iloc[2] == pytest.approx(2 / 5)
    assert frame.hours_from.tolist() == [0, 4, 8, 24, 48, 72, 120] and pd.isna(frame.hours_to.iloc[-1])


def test_resolution_time_distribution_filters():
    con = complaint_db()
    assert metrics.resolution_time_distribution(con, *W47, team="T2").complaints.tolist() == [0, 0, 0, 0, 0, 0, 1]  # k4
    assert metrics.resolution_time_distribution(con, *W47, queue="q1").complaints.sum() == 0


# --- open_backlog_by_age ----------------------------------------------------------------------------------------------

def test_open_backlog_by_age_at_the_end_of_the_day():
    frame = metrics.open_backlog_by_age(complaint_db(), W47[1])
    # Open at 23 Nov 00:00, with age and due time:
    #   k6  4 h       -> ≤1   (due 25 Nov)
    #   k10 3.0 days  -> 1-3  (exactly 3 days: a band holds its upper edge; due 25 Nov)
    #   k5  3.5 days  -> 3-7  past due (20 Nov 12:00)
    #   k4  4.6 days  -> 3-7  past due (20 Nov 09:00); resolved only on 24 Nov
    #   k9  12.6 days -> 7-14 past due (13 Nov 10:00); resolved only on 25 Nov
    #   k7  21.7 days -> >14  past due (6 Nov 08:00)
    # k1, k2, k3, k8 were resolved by then.
    assert frame.band.tolist() == ["≤1", "1-3", "3-7", "7-14", ">14"]
    assert frame.open_complaints.tolist() == [1, 1, 2, 1, 1]
    assert frame.open_complaints_past_due.tolist() == [0, 0, 2, 1, 1]


@pytest.mark.parametrize("day", [date(2026, 11, 15), date(2026, 11, 19), date(2026, 11, 22), date(2026, 11, 30)])
@pytest.mark.parametrize("filters", [{}, {"team": "T2"}, {"channel": "phone"}])
def test_open_backlog_adds_up_to_the_open_complaint_kpis(day, filters):
    con = complaint_db()
    frame = metrics.open_backlog_by_age(con, day, **filters)
    k = metrics.compute_kpis(con, day, day, **filters).iloc[0].fillna(0)  # compute_kpis: NA where a group is empty
    assert frame.open_complaints.sum() == k.open_complaints
    assert frame.open_complaints_past_due.sum() == k.open_complaints_past_due


def test_open_backlog_by_age_of_a_team_and_with_a_queue_filter():
    con = complaint_db()
    assert metrics.open_backlog_by_age(con, W47[1], team="T2").open_complaints.tolist() == [0, 0, 2, 0, 0]  # k4, k5
    none = metrics.open_backlog_by_age(con, W47[1], queue="q1")
    assert none.open_complaints.tolist() == [0] * 5 and none.open_complaints_past_due.tolist() == [0] * 5


# --- category_pareto --------------------------------------------------------------------------------------------------

def test_category_pareto_most_first_with_cumulative_share():
    frame = metrics.category_pareto(complaint_db(), *W47)
    # W47: billing k1, k2, k6 = 3; wait k3, k4, k5 = 3; service k8 = 1; no category k10 = 1 (k7, k9 are older).
    # Ties: by name, no category last.
    assert frame.category.tolist() == ["billing", "wait", "service", None]
    assert frame.complaints.tolist() == [3, 3, 1, 1]
    assert frame.share.tolist() == pytest.approx([3 / 8, 3 / 8, 1 / 8, 1 / 8])
    assert frame.cumulative_share.tolist() == pytest.approx([3 / 8, 6 / 8, 7 / 8, 1.0])
    # Vital few: the categories before 80% is reached, and the one that crosses it (service: 75% -> 87.5%).
    assert frame.vital_few.tolist() == [True, True, True, False]


def test_category_pareto_matches_compute_kpis_by_category_and_filters():
    con = complaint_db()
    frame = metrics.category_pareto(con, *W47)
    by_cat = metrics.compute_kpis(con, *W47, "category")
    assert dict(zip(frame.category, frame.complaints)) == dict(zip(by_cat.key, by_cat.complaints))
    assert metrics.category_pareto(con, *W47, team="T2").complaints.tolist() == [2]  # wait: k4, k5
    assert metrics.category_pareto(con, *W47, queue="q1").empty


# --- low_score_comments -----------------------------------------------------------------------------------------------

def test_low_score_comments_newest_first_masked():
    frame = metrics.low_score_comments(survey_db(), *W47)
    # csat <= 2 with a comment: s3 (17 Nov), s2 (16 Nov); s4's comment is blank.
    assert frame.columns.tolist() == ["responded_at", "team", "agent_id", "csat", "nps", "ces", "comment"]
    assert frame.comment.tolist() == ["等太久，回信到 [電子郵件]", "請回電 [電話]"]
    # Team and agent from the linked contacts c2 and c1; s3 has no ces.
    assert frame.team.tolist() == ["T2", "T1"] and frame.agent_id.tolist() == ["A2", "A1"]
    assert frame.csat.tolist() == [2, 1] and pd.isna(frame.ces.iloc[0])
    assert frame.responded_at.iloc[0] == pd.Timestamp("2026-11-17 10:00")


def test_low_score_comments_threshold_limit_and_filters():
    con = survey_db()
    assert metrics.low_score_comments(con, *W47, max_csat=1).comment.tolist() == ["請回電 [電話]"]  # s2
    assert metrics.low_score_comments(con, *W47, max_csat=3).comment.tolist()[0] == "普通"  # s5 is the newest
    assert len(metrics.low_score_comments(con, *W47, limit=1)) == 1
    assert metrics.low_score_comments(con, *W47, team="T1").comment.tolist() == ["請回電 [電話]"]
    assert metrics.low_score_comments(con, *W47, channel="chat").comment.tolist() == ["等太久，回信到 [電子郵件]"]


# --- mask_pii ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, masked", [
    ("請回電 0912-345-678", "請回電 [電話]"),
    ("我的電話是0912345678", "我的電話是[電話]"),
    ("0912 345 678 謝謝", "[電話] 謝謝"),
    ("+886 912 345 678", "[電話]"),
    ("+886-912-345-678", "[電話]"),
    ("0912.345.678", "[電話]"),
    ("電話０９１２３４５６７８。", "電話[電話]。"),  # full-width digits
    ("公司電話(02)2345-6789", "公司電話[電話]"),
    ("（02）2345-6789", "[電話]"),
    ("02-2345-6789 轉 123 找我", "[電話] 找我"),
    ("02 2345 6789", "[電話]"),
    ("03-123-4567", "[電話]"),
    ("(037)123456", "[電話]"),
    ("+886 2 2345 6789", "[電話]"),
    ("結果請回覆到 ebwteid24@example.com.tw", "結果請回覆到 [電子郵件]"),
    ("信箱 Amy.Lin+cs@mail.example.org，謝謝", "信箱 [電子郵件]，謝謝"),
    ("身分證字號 H273134219 可以查詢", "身分證字號 [身分證] 可以查詢"),
    ("我的身分證是R215105395，請查明", "我的身分證是[身分證]，請查明"),
    ("居留證 A800000014", "居留證 [身分證]"),  # new format: letter + 8/9 + 8 digits
    ("居留證 A912345678", "居留證 [身分證]"),
    ("舊居留證 AB12345678", "舊居留證 [身分證]"),
    ("卡號 4111 1111 1111 1111 被盜刷", "卡號 [卡號] 被盜刷"),
    ("卡號4111-1111-1111-1111", "卡號[卡號]"),
    ("卡號 4111111111111111", "卡號 [卡號]"),
    ("AMEX 3782 822463 10005", "AMEX [卡號]"),
    ("打 0912345678 或寄 a@b.co", "打 [電話] 或寄 [電子郵件]"),
])
def test_mask_pii_masks(text, masked):
    assert mask_pii(text) == masked


def test_mask_pii_speaks_the_readers_language():
    # An English page showed "說明不清楚，申請人 [身分證]": the comment is data, the mask is the app's own word
    text = "請回電 0912-345-678 或寄 a.b@example.com，身分證 H273134219，卡號 4111 1111 1111 1111"
    assert mask_pii(text, "en") == "請回電 [phone] 或寄 [e-mail]，身分證 [ID number]，卡號 [card number]"
    assert mask_pii(text) == "請回電 [電話] 或寄 [電子郵件]，身分證 [身分證]，卡號 [卡號]"


@pytest.mark.parametrize("text", [
    "訂單金額1200元，退款還沒收到",
    "2026/11/20 打來的",
    "2026-11-20 14:30 等了 30 分鐘",
    "2026.11.20",
    "訂單編號 20261120001",  # 11 digits: neither a phone nor a card
    "NT$12,000 扣了兩次",
    "0800-080-123 客服專線打不通",  # toll-free: the company's, not a person's
    "第2次來電，等了5分鐘",
    "請在 09:00-18:00 回電",
    "型號 X12345678",
    "服務很好，謝謝",
    "",
])
def test_mask_pii_leaves_ordinary_text_alone(text):
    assert mask_pii(text) == text


# --- sample data ------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sample(sample_db):
    con = duckdb.connect(str(sample_db), read_only=True)
    yield con
    con.close()


LEFT_UNMASKED = re.compile(r"09\d{2}-?\d{3}-?\d{3}|@|[A-Z][12]\d{8}")  # what the generator writes, read independently


@pytest.mark.parametrize("start", [date(2026, 9, 1), date(2025, 9, 1)])
def test_sample_low_score_comments_leave_no_personal_data(sample, start):
    frame = metrics.low_score_comments(sample, start, date(2026, 11, 22), limit=100_000)
    # A survey counts in its contact's period (an unlinked one in its own): read independently of the engine.
    raw = sample.execute("SELECT count(*) FROM surveys s LEFT JOIN contacts c USING (contact_id) WHERE s.csat <= 2 "
                         "AND s.comment <> '' AND coalesce(c.arrived_at, s.responded_at) >= ? "
                         "AND coalesce(c.arrived_at, s.responded_at) < '2026-11-23'", [start]).fetchone()[0]
    assert len(frame) == raw
    assert not frame.comment.str.contains(LEFT_UNMASKED).any()
    # The generator puts personal data in about 1% of low-score comments: 6 since 1 Sep 2026, 25 in the whole file.
    tokens = frame.comment.str.count(r"\[(?:電話|電子郵件|身分證)\]").sum()
    assert tokens == (6 if start == date(2026, 9, 1) else 25)


def test_sample_quality_numbers_add_up_to_the_kpis(sample):
    start, end = date(2026, 9, 1), date(2026, 11, 8)  # ends more than 7 days before the data's cut-off: matured
    k = metrics.compute_kpis(sample, start, end).iloc[0]
    funnel = metrics.complaint_funnel(sample, start, end).complaints.tolist()
    # Open past due at the cut-off (22 Nov 20:03), among the range's complaints, read independently.
    open_late = sample.execute(
        "SELECT count(*) FROM complaints WHERE opened_at >= ? AND opened_at < ? AND resolved_at IS NULL AND "
        "coalesce(due_at, opened_at + to_seconds(sla_hours * 3600.0), opened_at + INTERVAL 72 HOUR) <= "
        "(SELECT greatest(max(opened_at), max(resolved_at)) FROM complaints)", [start, date(2026, 11, 9)]).fetchone()[0]
    assert funnel[0] == k.complaints and funnel[2] / (funnel[1] + open_late) == pytest.approx(k.complaint_sla_rate)
    assert metrics.resolution_time_distribution(sample, start, end).complaints.sum() == funnel[1]
    assert metrics.category_pareto(sample, start, end).complaints.sum() == k.complaints
    backlog = metrics.open_backlog_by_age(sample, end)
    assert (backlog.open_complaints.sum(), backlog.open_complaints_past_due.sum()) == (
        k.open_complaints, k.open_complaints_past_due)
    assert metrics.score_distribution(sample, start, end).responses.sum() <= k.survey_responses


def test_the_low_score_comment_count_is_all_of_them_where_the_list_stops_at_its_limit(sample):
    con = sample
    listed = metrics.low_score_comments(con, date(2026, 11, 16), date(2026, 11, 22), limit=5, channel="phone")
    every = metrics.low_score_comments(con, date(2026, 11, 16), date(2026, 11, 22), channel="phone")
    count = metrics.low_score_comment_count(con, date(2026, 11, 16), date(2026, 11, 22), channel="phone")
    assert len(listed) == 5 and count == len(every) > 5
