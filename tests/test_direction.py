"""A contact's direction: inbound KPIs count inbound contacts (and callbacks) once each; outbound calls and transfer
legs are never offered; old files get the column; unknown words are rejects naming the accepted ones."""
from __future__ import annotations

import json
from datetime import date

import duckdb
import pandas as pd
import pytest

from helpers import db_with
from kpi import cli, imports, metrics, store

W47 = (date(2026, 11, 16), date(2026, 11, 22))

# Ten phone contacts of week 2026-W47, as an export spells their direction. Handle time = talk + hold + acw.
CSV = """contact_id,arrived_at,direction,answered,wait_seconds,talk_seconds,hold_seconds,acw_seconds,transferred,resolved_first_contact,agent_id
c01,2026-11-16 09:00,IB,Y,10,100,20,30,N,Y,A1
c02,2026-11-16 09:10,進線,Y,25,200,0,40,Y,N,A1
c03,2026-11-16 09:20,inbound,Y,15,300,60,0,N,,A2
c04,2026-11-16 09:30,,N,3,,,,,,
c05,2026-11-16 09:40,In,N,40,,,,,,
c06,2026-11-16 09:50,Inbound,Y,50,120,0,0,N,Y,A2
c07,2026-11-16 10:00,OB,Y,,90,0,30,N,Y,A1
c08,2026-11-16 10:05,外撥,N,,,,,,,A1
c09,2026-11-16 09:12,Transfer,Y,8,180,0,20,N,,A2
c10,2026-11-16 11:00,回撥,Y,1800,60,0,20,N,Y,A2
"""
# c01-c06 inbound (c04 blank: the default), c07-c08 outbound, c09 the leg of c02 transferred to A2, c10 a callback
# answered 30 min after the customer asked for it.


@pytest.fixture
def fixture_db(db, write):
    r = imports.import_file("contacts", write("calls.csv", CSV), db=db)
    assert (r.inserted, r.rejected) == (10, 0)
    return db


def kpis(db, by=None, **kw) -> pd.DataFrame:
    with store.open_db(db, read_only=True) as con:
        return metrics.compute_kpis(con, *W47, by, **kw)


def test_every_spelling_is_stored_as_its_direction(fixture_db):
    with store.open_db(fixture_db, read_only=True) as con:
        stored = dict(con.execute("SELECT contact_id, direction FROM contacts").fetchall())
    assert stored == {"c01": "inbound", "c02": "inbound", "c03": "inbound", "c04": "inbound", "c05": "inbound",
                      "c06": "inbound", "c07": "outbound", "c08": "outbound", "c09": "transfer", "c10": "callback"}


def test_outbound_calls_and_transfer_legs_are_never_offered(fixture_db):
    r = kpis(fixture_db).iloc[0]
    # offered: c01-c06 inbound + c10 callback = 7 (not c07, c08 outbound; not c09, the leg of c02: offered once)
    # answered: c01, c02, c03, c06, c10 = 5; abandoned: c04, c05 (c08's unanswered outbound call is no abandon)
    assert (r.offered, r.answered, r.abandoned, r.short_abandoned, r.outbound) == (7, 5, 2, 1, 2)


def test_queue_measures_count_inbound_contacts_only(fixture_db):
    r = kpis(fixture_db).iloc[0]
    # Inbound c01-c06 less the short abandon c04 = 5; answered within 20 s: c01 (10 s), c03 (15 s) -> 2/5.
    # c09's 8 s (a transfer leg) and c10's 1,800 s (a callback) are in neither part.
    assert r.service_level == pytest.approx(2 / 5)
    assert r.abandon_rate == pytest.approx(1 / 5)  # c05 (abandoned, not short) over 5
    # ASA: c01 10 + c02 25 + c03 15 + c06 50 = 100 over 4 (with the callback it would be 1,900 / 5 = 380 s)
    assert r.asa_seconds == pytest.approx(25.0)


def test_handle_time_counts_transfer_legs_and_callbacks_but_not_outbound_calls(fixture_db):
    r = kpis(fixture_db).iloc[0]
    # c01 150 + c02 240 + c03 360 + c06 120 + c09 200 (the transfer leg) + c10 80 (the callback) = 1,150 over 6;
    # c07's 120 s outbound call is not counted.
    assert r.aht_seconds == pytest.approx(1150 / 6)
    assert r.talk_seconds_mean == pytest.approx((100 + 200 + 300 + 120 + 180 + 60) / 6)
    # transferred: c02 of the 5 answered (the leg c09 is not counted again); FCR: c01, c06, c10 of c01, c02, c06, c10
    assert r.transfer_rate == pytest.approx(1 / 5)
    assert r.fcr_rate == pytest.approx(3 / 4)
    by_agent = kpis(fixture_db, "agent").set_index("key")
    # A1: c01 150 + c02 240 = 390 over 2 (c07 outbound left out); A2: c03 360 + c06 120 + c09 200 + c10 80 over 4
    assert by_agent.loc["A1", "aht_seconds"] == pytest.approx(195.0)
    assert by_agent.loc["A2", "aht_seconds"] == pytest.approx(190.0)
    assert (by_agent.loc["A1", "answered"], by_agent.loc["A2", "answered"]) == (2, 3)  # c09 was answered as c02
    assert (by_agent.loc["A1", "outbound"], by_agent.loc["A2", "outbound"]) == (2, 0)


def test_by_direction_reports_callbacks_and_legs_separately(fixture_db, capsys):
    capsys.readouterr()
    code = cli.main(["kpis", "--from", "2026-11-16", "--to", "2026-11-22", "--by", "direction", "--json",
                     "--db", str(fixture_db)])
    out, err = capsys.readouterr()
    assert code == 0, err
    rows = {r["key"]: r["kpis"] for r in json.loads(out)["rows"]}
    assert list(rows) == ["callback", "inbound", "outbound", "transfer"]
    assert (rows["inbound"]["offered"], rows["inbound"]["answered"], rows["inbound"]["service_level"]) == (6, 4, 0.4)
    assert (rows["callback"]["offered"], rows["callback"]["answered"], rows["callback"]["aht_seconds"]) == (1, 1, 80.0)
    assert rows["callback"]["service_level"] is None and rows["callback"]["asa_seconds"] is None  # no queue wait
    assert (rows["transfer"]["offered"], rows["transfer"]["aht_seconds"]) == (0, 200.0)
    assert (rows["outbound"]["offered"], rows["outbound"]["outbound"], rows["outbound"]["aht_seconds"]) == (0, 2, None)


def test_a_group_with_inbound_phone_and_outbound_chat_still_has_a_service_level():
    # Blending is about the channels contacts waited in: an outbound chat did not wait in a queue.
    con = db_with(contacts=[
        dict(contact_id="p1", arrived_at="2026-11-16 09:00", channel="phone", answered=True, wait_seconds=10),
        dict(contact_id="p2", arrived_at="2026-11-16 09:05", channel="phone", answered=True, wait_seconds=30),
        dict(contact_id="o1", arrived_at="2026-11-16 09:10", channel="chat", direction="outbound", answered=True),
    ])
    r = metrics.compute_kpis(con, *W47).iloc[0]
    assert (r.offered, r.service_level) == (2, 0.5)  # p1 within 20 s of p1, p2


def test_outbound_e_mails_are_no_responses_and_no_backlog():
    con = db_with(contacts=[
        # Mon 16 Nov 10:00 + 4 business hours = 14:00: answered at 11:00, in time
        dict(contact_id="e1", arrived_at="2026-11-16 10:00", channel="email", answered=True,
             answered_at="2026-11-16 11:00"),
        # an e-mail the center sent: no reply is owed
        dict(contact_id="e2", arrived_at="2026-11-16 10:00", channel="email", direction="outbound", answered=False),
        dict(contact_id="p1", arrived_at="2026-11-20 09:00", channel="phone", answered=True, wait_seconds=5),
    ])
    r = metrics.compute_kpis(con, *W47, channel="email").iloc[0]
    assert (r.offered, r.outbound, r.unanswered_backlog, r.response_within_target_rate) == (1, 1, 0, 1.0)


def test_cost_per_contact_divides_by_the_contacts_answered_as_the_kpi_counts_them():
    def answered(cid, direction):
        return dict(contact_id=cid, arrived_at="2026-11-16 09:00", direction=direction, answered=True)
    con = db_with(
        contacts=[answered("i1", "inbound"), answered("i2", "inbound"), answered("i3", None), answered("cb", "callback"),
                  answered("ob", "outbound"), answered("tl", "transfer")],
        budget=[dict(period="2026-11-01", cost_center="CENTER", line="wages", line_type="cost", budget=1000.0,
                     actual=900.0)])
    # answered: i1, i2, i3 (no direction: inbound), cb = 4; not ob (outbound) nor tl (a transfer leg)
    report = metrics.budget_report(con, 2026)
    assert (report.answered_ytd, report.cost_per_contact) == (4, 225.0)
    month = metrics.monthly(con, 2026).set_index("month").loc["2026-11"]
    assert (month.answered, month.cost_per_contact) == (4, 225.0)


@pytest.mark.parametrize("word, direction", [
    ("in", "inbound"), ("IB", "inbound"), ("INBOUND", "inbound"), ("進線", "inbound"), ("out", "outbound"),
    ("ob", "outbound"), ("OUTBOUND", "outbound"), ("外撥", "outbound"), ("ＯＢ", "outbound"), ("TRANSFER", "transfer"),
    ("轉接", "transfer"), ("CALLBACK", "callback"), ("Call-back", "callback"), ("回撥", "callback"),
])
def test_common_words_for_a_direction_are_read(word, direction):
    c = store.CONTACTS.column("direction")
    parsed = imports.parse_column(pd.Series([word]), "enum", choices=c.choices, words=c.words, column=c.name)
    assert parsed.values.tolist() == [direction] and parsed.errors.isna().all()


def test_an_unknown_direction_is_a_reject_naming_the_value_and_the_accepted_ones(db, write):
    csv = "contact_id,arrived_at,direction\nk1,2026-11-16 09:00,OB\nk2,2026-11-16 09:05,sideways\n"
    r = imports.import_file("contacts", write("calls.csv", csv), db=db)
    assert (r.inserted, r.rejected) == (1, 1)
    with store.open_db(db, read_only=True) as con:
        rejects = imports.rejected_rows(con, r.import_id)
    assert rejects[["row_number", "column_name", "value"]].values.tolist() == [[3, "direction", "sideways"]]
    assert rejects.reason[0] == (
        "unknown direction 'sideways' (expected one of: Inbound (inbound, in, IB, incoming, 進線, 來電, 撥入), "
        "Outbound (outbound, out, OB, outgoing, 外撥, 撥出, 去電), Transfer (transfer, transferred, xfer, 轉接), "
        "Callback (callback, 回撥, 回電))")
    zh = imports.readable_rejects(rejects, "zh-TW", ("column_name", "reason")).values.tolist()
    assert zh == [["聯絡方向", "無法辨識聯絡方向「sideways」（應為下列之一：進線（inbound、in、IB、incoming、進線、來電、撥入）、"
                          "外撥（outbound、out、OB、outgoing、外撥、撥出、去電）、轉接（transfer、transferred、xfer、轉接）、"
                          "回撥（callback、回撥、回電））"]]


def test_a_re_import_without_the_column_keeps_the_stored_direction(fixture_db, write):
    r = imports.import_file("contacts", write("again.csv", "contact_id,arrived_at\nc07,2026-11-16 10:00\n"), db=fixture_db)
    assert (r.updated, r.unchanged) == (0, 1)
    with store.open_db(fixture_db, read_only=True) as con:
        assert con.execute("SELECT direction FROM contacts WHERE contact_id = 'c07'").fetchone() == ("outbound",)


def test_a_version_6_file_gets_the_direction_column_with_every_contact_inbound(db, write):
    con = duckdb.connect(str(db))
    store.migrate(con, target=6)
    for table in ("contacts", "contacts_history"):  # as version 6 of the code made it
        con.execute(f"ALTER TABLE {table} DROP COLUMN direction")
    con.execute("INSERT INTO contacts (contact_id, arrived_at, channel, answered, wait_seconds, import_id, "
                "created_import_id) VALUES ('old1', '2026-11-16 09:00', 'phone', true, 12, 1, 1)")
    con.execute("INSERT INTO contacts_history (contact_id, arrived_at, channel, answered, import_id, created_import_id, "
                "replaced_by_import_id) VALUES ('old1', '2026-11-16 09:00', 'phone', false, 1, 1, 2)")
    con.close()
    with store.open_db(db, read_only=True) as con:  # a reader upgrades it too
        assert store.schema_version(con) == store.SCHEMA_VERSION == 12
        assert con.execute("SELECT direction FROM contacts").fetchall() == [("inbound",)]
        assert con.execute("SELECT direction FROM contacts_history").fetchall() == [("inbound",)]
    imports.import_file("contacts", write("c.csv", "contact_id,arrived_at,direction,answered\n"
                                                   "new1,2026-11-16 10:00,外撥,Y\n"), db=db)
    r = kpis(db).iloc[0]
    assert (r.offered, r.answered, r.outbound) == (1, 1, 1)  # old1 inbound and answered; new1 outbound


def test_a_direction_header_is_suggested():
    assert imports.suggest_mapping(["來電編號", "進線時間", "通話方向"], "contacts").columns["direction"] == ["通話方向"]
