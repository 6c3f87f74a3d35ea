"""The presets zendesk_talk, zendesk_tickets, freshdesk, freshdesk_email and surveycake: each fixture (tests/fixtures/
presets/, written from the vendor's documented field names) imports with no mapping file, its preset recognised by its
headers, and gives the figures worked out by hand below. The week is 2026-11-16 (Mon) to 2026-11-22 in Taipei; the
exports' UTC times are 8 hours behind."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import openpyxl
import pytest

from kpi import imports, metrics
from helpers import rows

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "presets"
WEEK = (date(2026, 11, 16), date(2026, 11, 22))


def ingest(dataset: str, path: Path, db: Path):
    """Import a file as `python -m kpi ingest DATASET FILE` does with no --mapping: the preset its headers match."""
    mapping, preset = imports.choose_mapping(dataset, path)
    result = imports.import_file(dataset, path, mapping, db=db)
    return preset, result


def week_kpis(db: Path, **filters) -> dict:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return metrics.compute_kpis(con, *WEEK, **filters).iloc[0].to_dict()
    finally:
        con.close()


# --------------------------------------------------------------------------------------------------- zendesk_talk

def test_zendesk_talk_calls_give_the_weeks_contact_kpis(db):
    preset, result = ingest("contacts", FIXTURES / "zendesk_talk.json", db)
    assert preset.name == "zendesk_talk"
    # 14 records: call 9008 twice (its first copy, before wrap-up, has no wrap_up_time); the later updated_at is kept.
    assert (result.rows_read, result.inserted, len(result.rejects)) == (14, 13, 0)
    assert rows(db, "SELECT acw_seconds FROM contacts WHERE contact_id = '9008'") == [(30.0,)]
    # UTC to Taipei: 9011 at 2026-11-15T16:10Z is Monday 00:10, in the week; 9012 at 2026-11-22T16:30Z is the next
    # Monday 00:30, out of it; 9008 at 2026-11-16T17:30Z is Tuesday 01:30.
    assert rows(db, "SELECT contact_id, arrived_at::VARCHAR FROM contacts WHERE contact_id IN ('9008', '9011', '9012')"
                    " ORDER BY 1") == [("9008", "2026-11-17 01:30:00"), ("9011", "2026-11-16 00:10:00"),
                                       ("9012", "2026-11-23 00:30:00")]
    k = week_kpis(db)
    # Inbound in the week: 9011 9001 9002 9003 9004 9005 9007 9008 9009 9010 9013 = 11 (9006 is outbound).
    assert k["offered"] == 11
    # Answered (an agent_id): 9011 9001 9002 9007 (abandoned on hold, after an agent took it) 9008 9010 9013 = 7.
    assert k["answered"] == 7
    # Not answered: 9003 (queue, 48 s) 9004 (queue, 3 s) 9005 (IVR, 0 s) 9009 (voicemail, 25 s); 9004 and 9005 waited
    # under 5 s: short abandons.
    assert (k["abandoned"], k["short_abandoned"]) == (4, 2)
    # Answered within 20 s: 9011 (9) 9001 (12) 9007 (18) 9008 (6) 9010 (20) = 5, over 11 - 2 short = 9.
    assert k["service_level"] == pytest.approx(5 / 9)
    assert k["abandon_rate"] == pytest.approx(2 / 9)
    # Waits of the answered: 9 + 12 + 35 + 18 + 6 + 20 + 60 = 160 s over 7.
    assert k["asa_seconds"] == pytest.approx(160 / 7)
    # Talk + hold + wrap-up of the answered: 120 + 315 + 240 + 150 + 330 + 240 + 570 = 1,965 s over 7 (the outbound
    # 9006 is no inbound contact handled).
    assert k["aht_seconds"] == pytest.approx(1965 / 7)


# ------------------------------------------------------------------------------------------------ zendesk_tickets

def test_zendesk_ratings_give_zendesks_own_satisfaction_score_as_csat(db):
    preset, result = ingest("surveys", FIXTURES / "zendesk_tickets.json", db)
    assert preset.name == "zendesk_tickets"
    # 14 records: rating 7005 twice (bad, then changed to good: the later updated_at is kept); 7013 is still
    # "offered", no response: rejected, its score named.
    assert (result.rows_read, result.inserted) == (14, 12)
    assert [(r.column_name, r.value) for r in result.rejects.itertuples()] == [("csat", "offered")]
    assert rows(db, "SELECT csat, comment FROM surveys WHERE survey_id = '7005'") == [(5, "後來有回電，解決了")]
    k = week_kpis(db)
    # In the week (Taipei): 7012 (2026-11-15T16:01Z = Monday 00:01) 7001 7002 7003 7004 7005 7006 7007 7008 7009
    # (Saturday 16:30Z = Sunday 00:30) = 10; 7010 (Sunday 23:59 before) and 7011 (Monday 00:05 after) are out.
    assert k["survey_responses"] == 10
    # good: 7012 7001 7002 7004 7005 7006 7008 7009 = 8, bad: 7003 7007 = 2. Zendesk's score good / (good + bad) =
    # 8 / 10, the same as the share of csat 4-5.
    assert k["csat"] == pytest.approx(0.8)
    assert k["csat_mean"] == pytest.approx((8 * 5 + 2 * 1) / 10)


# ---------------------------------------------------------------------------------------------------- freshdesk

def test_freshdesk_tickets_as_complaints_give_the_resolution_figures(db):
    preset, result = ingest("complaints", FIXTURES / "freshdesk.csv", db)
    assert preset.name == "freshdesk"
    assert (result.rows_read, result.inserted, len(result.rejects)) == (12, 12, 0)
    assert rows(db, "SELECT channel, count(*) FROM complaints GROUP BY 1 ORDER BY 1") == [
        ("chat", 1), ("email", 7), ("phone", 2), ("web", 2)]
    k = week_kpis(db)
    # Opened in the week: 101 102 103 104 105 112 106 107 108 = 9 (109 the Sunday before, 111 and 110 after). The data
    # reach 2026-11-30 09:00 (110 opened): the week has matured (7 days after 2026-11-22).
    assert k["complaints"] == 9
    # Resolved: all but 104 (Pending) and 112 (Open) = 7.
    assert k["complaint_resolution_rate"] == pytest.approx(7 / 9)
    # Within 7 days of opening: the 7 resolved less 105 (192 h) = 6.
    assert k["complaints_resolved_within_days"] == pytest.approx(6 / 9)
    # By Due by Time: 101 103 106 107 108 = 5; late: 102 (due 11-19 14:00, resolved 11-20 10:00) and 105; open past
    # due at the cut-off: 104 and 112. 5 / (7 + 2).
    assert k["complaint_sla_rate"] == pytest.approx(5 / 9)
    # Hours to resolve: 106 20, 103 24, 101 30, 108 36, 107 49, 102 92, 105 192: median 36.
    assert k["median_resolution_hours"] == pytest.approx(36)


def test_freshdesk_tickets_as_email_contacts_give_the_response_within_target(db):
    preset, result = ingest("contacts", FIXTURES / "freshdesk.csv", db)
    assert preset.name == "freshdesk_email"
    assert (result.inserted, len(result.rejects)) == (12, 0)
    k = week_kpis(db, channel="email")
    # E-mail (Email, Portal, Feedback Widget) in the week: 101 103 104 112 106 107 = 6; answered (an initial response):
    # all but 112.
    assert (k["offered"], k["answered"]) == (6, 5)
    # Within 4 business hours (Mon-Fri 09:00-18:00): 101 2 h, 104 3 h, 106 1.5 h, 107 (Saturday: the clock starts
    # Monday 09:00; answered 09:30) yes; 103 6.5 h no; 112 unanswered, due Friday 12:00 (1 h Thursday + 3 h): a miss.
    assert k["response_within_target_rate"] == pytest.approx(4 / 6)
    assert k["unanswered_backlog"] == 1


# --------------------------------------------------------------------------------------------------- surveycake

SURVEYCAKE_HEADERS = ["序號", "填答時間", "1. 請問您對本次客服人員的服務滿意度？", "2. 您有多大可能推薦我們給親友？（0-10 分）",
                      "3. 其他建議或意見"]
SURVEYCAKE_ROWS = [
    [1, "2026-11-15 23:50:00", "非常滿意", 10, None],  # the Sunday before the week
    [2, "2026-11-16 09:12:33", "非常滿意", 10, "很快就解決了"],
    [3, "2026-11-16 14:03:10", "滿意", 9, None],
    [4, "2026-11-17 10:45:00", 5, 9, None],  # a scale written as its number
    [5, "2026-11-17 16:20:00", "普通", 8, "等候有點久"],
    [6, "2026-11-18 11:11:11", "滿意", 7, None],
    [7, "2026-11-19 09:30:00", "不滿意", 6, "轉接太多次"],
    [8, "2026-11-19 15:45:00", "非常滿意", None, None],  # the recommendation question skipped
    [9, "2026-11-20 13:00:00", "滿意", 3, None],
    [10, "2026-11-21 10:10:10", "非常不滿意", 5, "問題沒有解決"],
    [11, "2026-11-22 20:00:00", "非常滿意", 9, None],
    [12, "2026-11-23 00:10:00", "滿意", 10, None],  # the Monday after
]


def surveycake_xlsx(path: Path, headers: list[str] = SURVEYCAKE_HEADERS) -> Path:
    """A SurveyCake download as the preset reads it: 序號, 填答時間, then a column per question headed by its text."""
    wb = openpyxl.Workbook()
    wb.active.append(headers)
    for r in SURVEYCAKE_ROWS:
        wb.active.append(r)
    wb.save(path)
    return path


def test_surveycake_responses_give_csat_and_nps_from_the_questions_found_by_their_words(db, tmp_path):
    preset, result = ingest("surveys", surveycake_xlsx(tmp_path / "客服滿意度調查.xlsx"), db)
    assert preset.name == "surveycake"
    assert (result.rows_read, result.inserted, len(result.rejects)) == (12, 12, 0)
    assert rows(db, "SELECT survey_id, csat, nps, comment FROM surveys WHERE survey_id IN ('4', '7', '8') ORDER BY 1") \
        == [("4", 5, 9, None), ("7", 2, 6, "轉接太多次"), ("8", 5, None, None)]
    k = week_kpis(db)
    assert k["survey_responses"] == 10  # 2 to 11
    # csat 5: 2 4 8 11; 4: 3 6 9; 3: 5; 2: 7; 1: 10. 7 of 10 gave 4 or 5; the mean (4 x 5 + 3 x 4 + 3 + 2 + 1) / 10.
    assert k["csat"] == pytest.approx(0.7)
    assert k["csat_mean"] == pytest.approx(3.8)
    # Recommendation of the 9 who answered it: 10 9 9 9 promoters, 8 7 passive, 6 3 5 detractors: 100 x (4 - 3) / 9.
    assert k["nps"] == pytest.approx(100 / 9)


def test_two_satisfaction_questions_stop_the_import_naming_both(db, tmp_path):
    headers = SURVEYCAKE_HEADERS[:4] + ["3. 您對等候時間的滿意度？"]
    path = surveycake_xlsx(tmp_path / "two.xlsx", headers)
    with pytest.raises(imports.FatalImportError) as err:
        imports.choose_mapping("surveys", path)
    assert str(err.value) == (
        "two.xlsx: preset surveycake reads csat from the header holding 滿意, and 2 do: 1. 請問您對本次客服人員的服務滿意度？, "
        "3. 您對等候時間的滿意度？; give a mapping file (--mapping) that names the one to read")
    # The import page fills the selects with what is certain and leaves csat for the user to pick.
    mapping = imports.applied(imports.load_presets()["surveycake"], headers)
    assert "csat" not in mapping.columns and mapping.columns["nps"] == [headers[3]]


FIND_PRESET = """preset:
  name: p
  version: 1
  vendor: Test
  export: "a survey"
  docs: ["https://example.com/fields"]
  detect: [Id]
  find: {find}
dataset: surveys
columns: {{survey_id: Id, responded_at: At}}
"""


@pytest.mark.parametrize("find, message", [
    ("{csat: 滿意}", "preset.find: expected column: [words its header holds], got a mapping"),
    ("{csat: []}", "preset.find: expected column: [words its header holds], got a mapping"),
    ("{score: [滿意]}", "preset.find.score: not a column of surveys; expected one of: agent_id, ces, comment, "
                       "contact_id, csat, nps, responded_at, survey_id, team"),
    ("{survey_id: [編號]}", "preset.find.survey_id: the column is read from columns (or derived) already"),
])
def test_a_bad_find_block_is_refused_naming_the_key(tmp_path, find, message):
    (tmp_path / "p.yaml").write_text(FIND_PRESET.format(find=find), encoding="utf-8")
    with pytest.raises(imports.FatalImportError) as err:
        imports.load_presets(tmp_path)
    assert str(err.value).startswith(str(tmp_path / "p.yaml")) and message in str(err.value)
