"""The presets amazon_connect, amazon_connect_csv, genesys_cloud, cisco_uccx and avaya_cms: each fixture, written from
the vendor's field names, imports with no mapping file (the preset recognised and named) and gives the KPIs worked out
by hand for week 2026-W47 (Mon 16 - Sun 22 Nov 2026, Taipei) on the phone channel; a file forced into the wrong preset
is refused naming what it lacks."""
from __future__ import annotations

import pytest

from helpers import rows
from test_presets import FIVE9, FIXTURES, kpi, kpis  # noqa: F401  (kpi is a fixture)

CONNECT = FIXTURES / "amazon_connect.jsonl"
CONNECT_CSV = FIXTURES / "amazon_connect_csv.csv"
GENESYS = FIXTURES / "genesys_cloud.csv"
UCCX = FIXTURES / "cisco_uccx.csv"
AVAYA = FIXTURES / "avaya_cms.csv"


def ingest(kpi, path, db) -> list[str]:
    code, out, err = kpi("ingest", "contacts", path, "--db", db)
    assert code == 0, err
    return out.splitlines()


# The same fourteen Amazon Connect contacts, as streamed contact records and as a contact search download. Times are
# UTC; Taipei is 8 h ahead.
#   c01 inbound, 12 s in queue, talk 300 + hold 30 + ACW 60 = 390      c02 inbound, 8 s, 200 + 0 + 45 = 245
#   c03 inbound, abandoned after 45 s                                  c04 inbound, abandoned after 3 s (short)
#   c05 inbound, 25 s (over 20 s), 420 + 60 + 30 = 510                 c06 Mon 17:30 UTC = Tue 01:30: 15 s, 200
#   c07 Sun 15 Nov 16:30 UTC = Mon 16 Nov 00:30, in the week: 5 s, 240
#   c08 Sun 22 Nov 16:30 UTC = Mon 23 Nov 00:30, after the week
#   c09 OUTBOUND: not offered, not in handle time                      c10 inbound, 18 s, 120; transferred (NextContactId)
#   c11 TRANSFER leg of c10: not offered, its 300 + 20 + 40 = 360 is handle time
#   c12 a chat (API): another channel                                  c13 inbound, exactly 20 s, 260 + 0 + 40 = 300
#   c14 inbound, abandoned after 70 s
# Phone inbound in the week: c01-c07, c10, c13, c14 = 10 offered; answered c01 c02 c05 c06 c07 c10 c13 = 7; abandoned
# c03 c04 c14 = 3, c04 short. Within 20 s: 12, 8, 15, 5, 18, 20 (not 25) = 6 of 10 - 1 = 9 -> 0.6667.
# ASA (12 + 8 + 25 + 15 + 5 + 18 + 20) / 7 = 103 / 7 = 14.7143 s. AHT (390 + 245 + 510 + 200 + 240 + 120 + 300 + 360
# for c11) / 8 = 2365 / 8 = 295.625 s. Transferred: c10 of 7 answered = 0.1429.
CONNECT_KPIS = {"offered": 10, "answered": 7, "abandoned": 3, "service_level": 0.6667, "asa_seconds": 14.7143,
                "aht_seconds": 295.625, "transfer_rate": 0.1429, "outbound": 1}


def test_amazon_connect_records_import_with_the_latest_of_each_repeated_record(kpi, db):
    out = ingest(kpi, CONNECT, db)
    assert out[0] == ("using preset amazon_connect (v1): Amazon Connect contact record stream (Kinesis Data Firehose to "
                      "S3), JSON lines")
    # 16 records on 15 lines (two run together on one, as Firehose writes them): c02 delivered three times; the two
    # older copies are superseded, not rejected.
    assert "read 16, inserted 14, updated 0, unchanged 0, rejected 0" in out[1] and "superseded 2" in out[1]
    assert kpis(db, "phone") == CONNECT_KPIS
    # c02's copies had ACW 20 (first in the file), 45 (LastUpdateTimestamp 02:04:20, the latest) and 0 (last in the
    # file): the latest is kept, whatever its place.
    assert rows(db, "SELECT acw_seconds FROM contacts WHERE contact_id LIKE 'c0000002%'") == [(45.0,)]
    # UTC to Taipei: c06 and c07 change day; the direction words and channels recoded; the agent by user name.
    assert rows(db, "SELECT right(contact_id, 2), arrived_at::VARCHAR, direction, channel, agent_id, queue FROM contacts "
                    "WHERE right(contact_id, 2) IN ('06', '07', '09', '11', '12') ORDER BY 1") == [
        ("06", "2026-11-17 01:30:00", "inbound", "phone", "amy.lin", "一般客服"),
        ("07", "2026-11-16 00:30:00", "inbound", "phone", "ben.chen", "一般客服"),
        ("09", "2026-11-18 13:00:00", "outbound", "phone", "ben.chen", "一般客服"),
        ("11", "2026-11-18 14:02:20", "transfer", "phone", "cara.wu", "一般客服"),
        ("12", "2026-11-19 12:00:00", "inbound", "chat", "amy.lin", "線上文字")]
    # An abandoned record has "Agent": null: no agent, not answered, its wait kept.
    assert rows(db, "SELECT answered, agent_id, wait_seconds, talk_seconds FROM contacts WHERE contact_id LIKE "
                    "'c0000003%'") == [(False, None, 45.0, None)]


def test_the_connect_contact_search_download_gives_the_same_kpis(kpi, db):
    out = ingest(kpi, CONNECT_CSV, db)
    assert out[0].startswith("using preset amazon_connect_csv (v1): Amazon Connect contact search download, CSV")
    assert "read 14, inserted 14, updated 0, unchanged 0, rejected 0" in out[1]
    assert kpis(db, "phone") == CONNECT_KPIS
    assert rows(db, "SELECT arrived_at::VARCHAR, direction, talk_seconds FROM contacts WHERE contact_id LIKE "
                    "'c0000011%'") == [("2026-11-18 14:02:20", "transfer", 300.0)]  # 00:05:00


CSV_CASES = [
    # Genesys Cloud: one row per conversation, Date in the centre's time. Phone (voice, and the callback) in the week:
    #   g01 9 s, 240 + 0 + 30 = 270    g02 abandoned 62 s    g03 21 s, 180 + 15 + 45 = 240    g04 abandoned 4 s (short)
    #   g05 20 s, 420 + 60 + 60 = 540, transferred    g06 outbound    g08 3.5 s, 200 + 0 + 30 = 230
    #   g09 a callback (Inbound/Outbound): offered and answered, 150 + 0 + 15 = 165, not in the queue measures
    #   g10 abandoned 30 s    g11 Sun 23:50, 12 s, 300    (g07 a chat; g12 Mon 23 Nov 00:10, after the week)
    # Offered: 8 inbound + 1 callback = 9; answered g01 g03 g05 g08 g09 g11 = 6; abandoned g02 g04 g10 = 3.
    # Within 20 s (inbound): 9, 20, 3.5, 12 (not 21) = 4 of 8 - 1 short = 7 -> 0.5714. ASA (9 + 21 + 20 + 3.5 + 12) / 5
    # = 13.1 s. AHT (270 + 240 + 540 + 230 + 165 + 300) / 6 = 1745 / 6 = 290.8333 s. Transferred g05 of 6: 0.1667.
    # Abandoned YES is not answered (read as answered directly it was inverted); durations in ms; the words recoded.
    pytest.param(
        GENESYS, "genesys_cloud (v1): Genesys Cloud Interactions view export (Performance workspace), CSV", 12,
        {"offered": 9, "answered": 6, "abandoned": 3, "service_level": 0.5714, "asa_seconds": 13.1,
         "aht_seconds": 290.8333, "transfer_rate": 0.1667, "outbound": 1},
        "SELECT right(contact_id, 2), answered, wait_seconds, hold_seconds, direction, channel FROM contacts "
        "WHERE right(contact_id, 2) IN ('02', '05', '07', '09') ORDER BY 1",
        [("02", False, 62.0, None, "inbound", "phone"), ("05", True, 20.0, 60.0, "inbound", "phone"),
         ("07", True, 35.0, 0.0, "inbound", "chat"), ("09", True, 95.0, 0.0, "callback", "phone")],
        id="genesys_cloud"),
    # Cisco UCCX: a leg is nodeID + sessionID + sessionSeqNum; startDateTime in UTC. Phone legs in the Taipei week:
    #   1001 10 s, 300 + 0 + 30 = 330     1002 abandoned (disposition 1) after 50 s    1003 22 s, 240 + 20 + 40 = 300
    #   1004 abandoned after 2 s (short)  1005 Mon 16:30 UTC = Tue 00:30, 8 s, 200 + 0 + 20 = 220
    #   1006 leg 0: 15 s, 180 + 30 + 30 = 240; leg 1 (contactType 5, transfer in): 420, handle time only
    #   1007 outbound preview (6)   1008 20 s, 260 + 0 + 40 = 300   1009 abandoned 35 s
    #   (1010 Sun 22 Nov 16:10 UTC = Mon 23 Nov 00:10, after the week)
    # Offered 8; answered (disposition 2) 1001 1003 1005 1006 1008 = 5; abandoned 3, one short. Within 20 s: 10, 8,
    # 15, 20 (not 22) = 4 / 7 = 0.5714. ASA (10 + 22 + 8 + 15 + 20) / 5 = 15 s. AHT (330 + 300 + 220 + 240 + 300 +
    # 420) / 6 = 1810 / 6 = 301.6667 s. No transfer flag in these tables: the rate reads 0.
    pytest.param(
        UCCX, "cisco_uccx (v1): Cisco Unified CCX contact call detail extract from db_cra", 11,
        {"offered": 8, "answered": 5, "abandoned": 3, "service_level": 0.5714, "asa_seconds": 15.0,
         "aht_seconds": 301.6667, "transfer_rate": 0.0, "outbound": 1},
        "SELECT contact_id, arrived_at::VARCHAR, direction, agent_id, agent_name FROM contacts WHERE "
        "contact_id BETWEEN '1 70001005' AND '1 70001007 9' ORDER BY 1",
        [("1 70001005 0", "2026-11-17 00:30:00", "inbound", "cara.wu", "Cara Wu"),
         ("1 70001006 0", "2026-11-18 14:00:00", "inbound", "amy.lin", "Amy Lin"),
         ("1 70001006 1", "2026-11-18 14:03:30", "transfer", "cara.wu", "Cara Wu"),
         ("1 70001007 0", "2026-11-18 15:00:00", "outbound", "ben.chen", "Ben Chen")],
        id="cisco_uccx"),
    # Avaya CMS: a segment is CALLID + SEGMENT; SEGSTART is seconds since 1970 UTC (1794790800 = Mon 16 Nov 01:00 UTC,
    # 09:00 in Taipei). Direction: no ORIGLOGIN inbound; an agent's first segment outbound (900007); a later one the
    # transfer leg (900006 segment 2). DISPOSITION 2 answered, 3 abandoned; DISPTIME the wait.
    #   900001 14 s, 280 + 0 + 20 = 300    900002 abandoned 40 s    900003 30 s, 200 + 10 + 30 = 240
    #   900004 abandoned 4 s (short)       900005 16:45 UTC = Tue 00:45, 6 s, 150 + 0 + 15 = 165
    #   900006 12 s, 100; its segment 2: 400 + 30 + 50 = 480, handle time only    900008 20 s, 330 + 0 + 30 = 360
    #   900009 abandoned 35 s    (900010 Sun 22 Nov 16:20 UTC = Mon 23 Nov 00:20, after the week)
    # Offered 8, answered 5, abandoned 3 (one short). Within 20 s: 14, 6, 12, 20 (not 30) = 4 / 7 = 0.5714.
    # ASA (14 + 30 + 6 + 12 + 20) / 5 = 16.4 s. AHT (300 + 240 + 165 + 100 + 360 + 480) / 6 = 1645 / 6 = 274.1667 s.
    pytest.param(
        AVAYA, "avaya_cms (v1): Avaya CMS call record export (External Call History", 11,
        {"offered": 8, "answered": 5, "abandoned": 3, "service_level": 0.5714, "asa_seconds": 16.4,
         "aht_seconds": 274.1667, "transfer_rate": 0.0, "outbound": 1},
        "SELECT contact_id, arrived_at::VARCHAR, direction, answered, queue FROM contacts WHERE "
        "contact_id IN ('900005 1', '900006 2', '900007 1') ORDER BY 1",
        [("900005 1", "2026-11-17 00:45:00", "inbound", True, "10"),
         ("900006 2", "2026-11-18 14:01:50", "transfer", True, "11"),
         ("900007 1", "2026-11-18 15:00:00", "outbound", False, None)],
        id="avaya_cms"),
]


@pytest.mark.parametrize("path, using, read, expected, sql, stored", CSV_CASES)
def test_a_csv_export_imports_with_no_mapping_file_and_gives_its_kpis(kpi, db, path, using, read, expected, sql,
                                                                      stored):
    out = ingest(kpi, path, db)
    assert out[0].startswith(f"using preset {using}")
    assert f"read {read}, inserted {read}, updated 0, unchanged 0, rejected 0" in out[1]
    assert kpis(db, "phone") == expected
    assert rows(db, sql) == stored


@pytest.mark.parametrize("path, preset, message", [
    # Five9's ABANDONED is Genesys's Abandoned (headers compare ignoring case): the other four are missing.
    (FIVE9, "genesys_cloud", "five9.csv: not a Genesys Cloud Interactions view export (Performance workspace), CSV: "
                             "genesys_cloud expects Conversation ID, Media Type, Users - Interacted, Abandoned, "
                             "Total Talk; missing: Conversation ID, Media Type, Users - Interacted, Total Talk"),
    (GENESYS, "cisco_uccx", "genesys_cloud.csv: not a Cisco Unified CCX contact call detail extract from db_cra "
                            "(ContactCallDetail with its queue and agent rows), CSV: cisco_uccx expects sessionID, "
                            "sessionSeqNum, contactType, contactDisposition, startDateTime; missing: sessionID, "
                            "sessionSeqNum, contactType, contactDisposition, startDateTime"),
    # The download's Contact ID, Channel, Initiation method and Initiation timestamp are the records' ContactId, ...
    # once case and spaces are ignored: two of the six are missing.
    (CONNECT_CSV, "amazon_connect", "amazon_connect_csv.csv: not an Amazon Connect contact record stream (Kinesis Data Firehose to S3), "
                                    "JSON lines: amazon_connect expects ContactId, Channel, InitiationMethod, "
                                    "InitiationTimestamp, LastUpdateTimestamp, AWSContactTraceRecordFormatVersion; "
                                    "missing: LastUpdateTimestamp, AWSContactTraceRecordFormatVersion"),
])
def test_a_file_forced_into_the_wrong_preset_is_refused_naming_what_it_lacks(kpi, db, path, preset, message):
    code, out, err = kpi("ingest", "contacts", path, "--preset", preset, "--db", db)
    assert code == 2 and out == "" and err.startswith(f"error: {message}")
    assert not db.exists()
