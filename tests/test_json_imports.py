"""JSON and JSON lines exports (issue 14 item 2): records read a batch at a time, nested fields as dotted headers
(Agent.Username), list items numbered (participants.1.userId); a line that is not valid JSON, or not an object, is a
rejected row; the same limits and atomicity as CSV."""
from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from kpi import imports, metrics, store
from kpi.imports._json import flatten
from helpers import rows, snapshot

# Amazon Connect contact records as Kinesis Firehose writes them: UTC timestamps, durations in seconds, nested
# Agent/Queue objects (none for a contact no agent answered). c5 arrives 17:30 UTC on the 16th: 01:30 on the 17th
# in Taipei. Line 6 was cut short; line 7 is no object.
CONNECT = [
    {"ContactId": "c1", "Channel": "VOICE", "InitiationTimestamp": "2026-11-16T01:00:00Z",
     "Agent": {"Username": "amy", "ConnectedToAgentTimestamp": "2026-11-16T01:00:15Z", "AgentInteractionDuration": 300,
               "CustomerHoldDuration": 0, "AfterContactWorkDuration": 60},
     "Queue": {"Name": "Billing", "Duration": 15}},
    {"ContactId": "c2", "Channel": "VOICE", "InitiationTimestamp": "2026-11-16T01:10:00Z",
     "Agent": {"Username": "bob", "ConnectedToAgentTimestamp": "2026-11-16T01:10:30Z", "AgentInteractionDuration": 200,
               "CustomerHoldDuration": 20, "AfterContactWorkDuration": 40},
     "Queue": {"Name": "Billing", "Duration": 30}},
    {"ContactId": "c3", "Channel": "VOICE", "InitiationTimestamp": "2026-11-16T01:20:00Z",
     "Queue": {"Name": "Billing", "Duration": 50}},
    {"ContactId": "c4", "Channel": "CHAT", "InitiationTimestamp": "2026-11-16T02:00:00Z",
     "Agent": {"Username": "amy", "ConnectedToAgentTimestamp": "2026-11-16T02:00:10Z", "AgentInteractionDuration": 600,
               "AfterContactWorkDuration": 0},
     "Queue": {"Name": "Chat", "Duration": 10}},
    {"ContactId": "c5", "Channel": "VOICE", "InitiationTimestamp": "2026-11-16T17:30:00Z", "Agent": None,
     "Queue": {"Name": "Billing", "Duration": 5}, "MediaStreams": [{"Type": "AUDIO"}]},
]
CONNECT[4]["Agent"] = {"Username": "amy", "ConnectedToAgentTimestamp": "2026-11-16T17:30:05Z",
                       "AgentInteractionDuration": 100, "AfterContactWorkDuration": 20}
CONNECT_LINES = "\n".join(json.dumps(r) for r in CONNECT) + '\n{"ContactId": "c6", "Channel": "VOICE", "Init\n"c7"\n'
CONNECT_MAPPING = {
    "dataset": "contacts",
    "columns": {"contact_id": "ContactId", "arrived_at": "InitiationTimestamp", "channel": "Channel",
                "queue": "Queue.Name", "agent_id": "Agent.Username", "answered_at": "Agent.ConnectedToAgentTimestamp",
                "wait_seconds": "Queue.Duration", "talk_seconds": "Agent.AgentInteractionDuration",
                "hold_seconds": "Agent.CustomerHoldDuration", "acw_seconds": "Agent.AfterContactWorkDuration"},
    "options": {"values": {"channel": {"VOICE": "phone", "CHAT": "chat"}}},
}


def connect_mapping() -> imports.Mapping:
    return imports.parse_mapping(CONNECT_MAPPING)


def week_kpis(db: Path, channel: str) -> dict:
    with store.open_db(db, read_only=True) as con:
        return metrics.compute_kpis(con, date(2026, 11, 16), date(2026, 11, 22), channel=channel).iloc[0].to_dict()


def test_connect_records_as_json_lines_give_the_weeks_kpis(write, db):
    result = imports.import_file("contacts", write("ctr.jsonl", CONNECT_LINES), connect_mapping(), db=db)
    assert (result.rows_read, result.inserted, result.rejected) == (7, 5, 2)
    phone = week_kpis(db, "phone")
    # phone: c1, c2, c3, c5 offered; c3 (no Agent) not answered after 50 s in the queue
    assert (phone["offered"], phone["answered"], phone["abandoned"]) == (4, 3, 1)
    # within 20 s: c1 (15 s) and c5 (5 s) of 4 offered (no short abandon)
    assert phone["service_level"] == pytest.approx(2 / 4)
    # speed of answer (15 + 30 + 5) / 3; handle time (300+0+60 + 200+20+40 + 100+20) / 3
    assert phone["asa_seconds"] == pytest.approx(50 / 3)
    assert phone["aht_seconds"] == pytest.approx(740 / 3)
    chat = week_kpis(db, "chat")
    assert (chat["offered"], chat["answered"], chat["aht_seconds"]) == (1, 1, 600)
    assert rows(db, "SELECT contact_id, arrived_at::VARCHAR, agent_id, queue FROM contacts ORDER BY 1") == [
        ("c1", "2026-11-16 09:00:00", "amy", "Billing"), ("c2", "2026-11-16 09:10:00", "bob", "Billing"),
        ("c3", "2026-11-16 09:20:00", None, "Billing"), ("c4", "2026-11-16 10:00:00", "amy", "Chat"),
        ("c5", "2026-11-17 01:30:00", "amy", "Billing")]  # 17:30 UTC is the next day in Taipei
    # the cut line and the value that is no object are rows 6 and 7 (a record's number), kept with their text
    rejects = result.rejects
    assert list(rejects["row_number"]) == [6, 7]
    assert list(rejects["reason_code"]) == ["invalid_json", "not_a_record"]
    assert list(rejects["value"]) == ['{"ContactId": "c6", "Channel": "VOICE", "Init', '"c7"']
    assert json.loads(rejects["reason_params"].iloc[0]) == {"line": 6, "char": 46,
                                                            "problem": "Invalid control character at"}
    assert rows(db, "SELECT row_number, reason_code FROM rejected_rows ORDER BY 1") == [(6, "invalid_json"),
                                                                                        (7, "not_a_record")]


def test_gzipped_json_lines_read_as_the_plain_file(tmp_path, write):
    plain = imports.prepare("contacts", write("ctr.jsonl", CONNECT_LINES), connect_mapping())
    gz = tmp_path / "ctr.jsonl.gz"
    gz.write_bytes(gzip.compress(CONNECT_LINES.encode("utf-8")))
    zipped = imports.prepare("contacts", gz, connect_mapping())
    pd.testing.assert_frame_equal(zipped.stage, plain.stage)
    assert len(zipped.stage) == 5 and list(zipped.rejects["row_number"]) == [6, 7]
    assert zipped.file_sha256 != plain.file_sha256  # the file as it is on disk


def test_one_record_at_a_time_gives_what_the_whole_file_gives(write, monkeypatch):
    path = write("ctr.jsonl", CONNECT_LINES)
    whole = imports.prepare("contacts", path, connect_mapping())
    from kpi.imports import _read
    monkeypatch.setattr(_read, "BATCH_ROWS", (1, 1))
    single = imports.prepare("contacts", path, connect_mapping())
    pd.testing.assert_frame_equal(single.stage, whole.stage)
    pd.testing.assert_frame_equal(single.rejects, whole.rejects)


def test_records_run_together_without_line_breaks_are_records(write):
    # Firehose concatenates records into one S3 object with no separator: one line, three records, the second broken
    run_on = (json.dumps({"ContactId": "a", "InitiationTimestamp": "2026-11-16T01:00:00Z"})
              + '{"ContactId": "b", "InitiationTimestamp": }'
              + json.dumps({"ContactId": "c", "InitiationTimestamp": "2026-11-16T02:00:00Z"}))
    mapping = imports.parse_mapping({"columns": {"contact_id": "ContactId", "arrived_at": "InitiationTimestamp"}})
    for name in ("firehose.jsonl", "firehose.json"):  # a .json file of records one after another reads the same
        prep = imports.prepare("contacts", write(name, run_on), mapping)
        assert prep.stage["contact_id"].tolist() == ["a", "c"]
        assert prep.stage["arrived_at"].astype(str).tolist() == ["2026-11-16 09:00:00", "2026-11-16 10:00:00"]
        assert prep.rejects[["row_number", "value", "reason_code"]].values.tolist() == [
            [2, '{"ContactId": "b", "InitiationTimestamp": }', "invalid_json"]]


def test_windows_line_breaks_are_line_breaks(write):
    # a line cut short in a file saved with CR LF: the record's text without the CR, the next line read
    text = '{"ContactId": "a", "InitiationTimestamp": "2026-11-16T01:00:00Z"}\r\n{"ContactId": "b",\r\n' \
           '{"ContactId": "c", "InitiationTimestamp": "2026-11-16T02:00:00Z"}\r\n'
    mapping = imports.parse_mapping({"columns": {"contact_id": "ContactId", "arrived_at": "InitiationTimestamp"}})
    prep = imports.prepare("contacts", write("crlf.jsonl", text), mapping)
    assert prep.stage["contact_id"].tolist() == ["a", "c"]
    assert prep.rejects[["row_number", "value"]].values.tolist() == [[2, '{"ContactId": "b",']]


# Genesys Cloud conversation details: an object holding the records beside a count; participants is a list
# (customer first, then the agent), each with sessions and segments.
GENESYS = {"conversations": [
    {"conversationId": "g1", "conversationStart": "2026-11-16T01:00:00.000Z",
     "participants": [{"purpose": "customer", "sessions": [{"mediaType": "voice"}]},
                      {"purpose": "agent", "userId": "u-9",
                       "sessions": [{"mediaType": "voice", "segments": [{"segmentStart": "2026-11-16T01:00:20.000Z"}]}]}]},
    {"conversationId": "g2", "conversationStart": "2026-11-16T02:00:00.000Z",
     "participants": [{"purpose": "customer", "sessions": [{"mediaType": "chat"}]}]},
], "totalHits": 2}
GENESYS_MAPPING = {"columns": {"contact_id": "conversationId", "arrived_at": "conversationStart",
                               "channel": "participants.0.sessions.0.mediaType", "agent_id": "participants.1.userId",
                               "answered_at": "participants.1.sessions.0.segments.0.segmentStart"},
                   "options": {"values": {"channel": {"voice": "phone"}}}}


def test_a_json_document_holding_its_records_with_list_items_numbered(write, db):
    path = write("conversations.json", json.dumps(GENESYS, indent=2))
    headers, sheets = imports.file_headers(str(path))
    assert sheets == [] and "totalHits" not in headers  # the count beside the records is no field of theirs
    assert headers == ["conversationId", "conversationStart", "participants.0.purpose",
                       "participants.0.sessions.0.mediaType", "participants.1.purpose", "participants.1.userId",
                       "participants.1.sessions.0.mediaType", "participants.1.sessions.0.segments.0.segmentStart"]
    result = imports.import_file("contacts", path, imports.parse_mapping(GENESYS_MAPPING), db=db)
    assert (result.rows_read, result.inserted, result.rejected) == (2, 2, 0)
    # g2 has no second participant: no agent, not answered; g1 answered 20 s after it started
    assert rows(db, "SELECT contact_id, arrived_at::VARCHAR, channel, agent_id, answered, wait_seconds "
                    "FROM contacts ORDER BY 1") == [("g1", "2026-11-16 09:00:00", "phone", "u-9", True, 20.0),
                                                     ("g2", "2026-11-16 10:00:00", "chat", None, False, None)]


@pytest.mark.parametrize("name, document", [
    ("array.json", [{"id": "a", "at": "2026-11-16 09:00"}, {"id": "b", "at": "2026-11-16 09:01"}]),
    ("holder.json", {"total": 2, "entities": [{"id": "a", "at": "2026-11-16 09:00"}, {"id": "b", "at": "2026-11-16 09:01"}],
                     "next": None}),
    ("one.json", {"id": "a", "at": "2026-11-16 09:00", "tags": [{"k": 1}], "detail": {"x": 1}}),
])
def test_what_a_json_document_holds(write, name, document):
    # an array of records; an object holding one beside plain values; any other object is one record
    mapping = imports.parse_mapping({"columns": {"contact_id": "id", "arrived_at": "at"}})
    prep = imports.prepare("contacts", write(name, json.dumps(document)), mapping)
    assert prep.stage["contact_id"].tolist() == (["a"] if name == "one.json" else ["a", "b"])


def test_an_object_holding_records_is_read_member_by_member_past_the_record_limit(write):
    # 400 records of ~100 bytes: 40 KiB, over a 2 KiB record limit, is no record but a holder of records
    holder = {"conversations": [{"id": f"r{i:03d}", "at": "2026-11-16 09:00", "pad": "x" * 60} for i in range(400)],
              "totalHits": 400}
    mapping = imports.parse_mapping({"columns": {"contact_id": "id", "arrived_at": "at"}, "options": {"max_line_kib": 2}})
    prep = imports.prepare("contacts", write("big.json", json.dumps(holder)), mapping)
    assert len(prep.stage) == 400 and prep.stage["contact_id"].iloc[-1] == "r399"
    # one object of 40 KiB that holds anything else is a record over the limit
    holder["aggregations"] = {"n": 400}
    with pytest.raises(imports.FatalImportError, match=r"^big.json: record 1 \(from line 1\) is longer than the limit "
                                                        r"of 2 KiB \(options.max_line_kib\)"):
        imports.prepare("contacts", write("big.json", json.dumps(holder)), mapping)


def test_a_record_without_an_object_has_empty_values_there(write):
    # no Agent at all in any record (every contact abandoned): the mapping's Agent.* fields are empty, not an error
    abandoned = "\n".join(json.dumps(r) for r in [
        {"ContactId": "x1", "Channel": "VOICE", "InitiationTimestamp": "2026-11-16T01:00:00Z", "Queue": {"Duration": 8}},
        {"ContactId": "x2", "Channel": "VOICE", "InitiationTimestamp": "2026-11-16T01:05:00Z", "Agent": None}])
    prep = imports.prepare("contacts", write("night.jsonl", abandoned), connect_mapping())
    assert prep.stage[["contact_id", "agent_id", "answered", "wait_seconds"]].astype(object).where(
        prep.stage[["contact_id", "agent_id", "answered", "wait_seconds"]].notna(), None).values.tolist() == [
        ["x1", None, False, 8.0], ["x2", None, False, None]]
    # a file holding none of the mapping's fields is not the export the mapping reads: one message
    with pytest.raises(imports.FatalImportError, match=r"^other.jsonl: the mapping says contact_id: 'ContactId', but "
                                                        r"the file has no such column; its columns are: id, at$"):
        imports.prepare("contacts", write("other.jsonl", '{"id": 1, "at": "2026-11-16"}'), connect_mapping())


def test_values_as_text_cells():
    flat = flatten({"n": 3, "x": 1.5, "big": 1e400, "t": True, "f": False, "none": None, "empty": "",
                                   "obj": {}, "list": ["a", {"b": 0}], "deep": {"er": {"est": "z"}}})
    assert flat == {"n": "3", "x": "1.5", "big": "inf", "t": "true", "f": "false", "none": None, "empty": None,
                    "list.0": "a", "list.1.b": "0", "deep.er.est": "z"}


@pytest.mark.parametrize("name, text, options, message", [
    ("long.jsonl", json.dumps({"id": "x" * 3000}), {"max_line_kib": 2},
     "long.jsonl: record 1 (from line 1) is longer than the limit of 2 KiB (options.max_line_kib); is it a JSON-lines file?"),
    ("wide.jsonl", json.dumps({f"f{i}": i for i in range(5)}), {"max_fields": 4},
     "wide.jsonl: its records hold more than 4 different fields, the limit (options.max_fields): f0, f1, f2, f3, f4"),
    ("big.jsonl", (json.dumps({"id": "y" * 1000}) + "\n") * 1100, {"max_mib": 1},
     "big.jsonl: more than 1 MiB of text, the limit (options.max_mib); split the file or raise the limit"),
    ("empty.json", "  \n", {}, "empty.json: the file is empty (expected JSON records)"),
    ("none.json", "[]", {}, "none.json: no records in the file (expected JSON objects, one per contact, survey, "
                            "complaint or budget line)"),
    ("csv.json", "id,at\n1,2\n", {}, "csv.json: not JSON (line 1, column 1 starts with 'id,at\\n1,2\\n')"),
    ("latin1.jsonl", '{"id": "caf\xe9"}', {}, "latin1.jsonl: cannot decode as UTF-8 (invalid continuation byte at "
                                               "byte 12); JSON is UTF-8 text"),
])
def test_a_file_over_a_limit_or_not_json_is_refused_whole(write, db, name, text, options, message):
    imports.import_file("contacts", write("seed.csv", "contact_id,arrived_at\nseed,2026-11-16 09:00\n"), db=db)
    before = snapshot(db)
    path = write(name, text, encoding="latin-1" if name.startswith("latin1") else "utf-8")
    mapping = imports.parse_mapping({"columns": {"contact_id": "id"}, "options": options})
    with pytest.raises(imports.FatalImportError) as err:
        imports.import_file("contacts", path, mapping, db=db)
    assert str(err.value).startswith(message)
    assert snapshot(db) == before


def test_dotted_headers_are_guessed_and_mapped():
    headers = ["ContactId", "Channel", "InitiationTimestamp", "Agent.Username", "Agent.ConnectedToAgentTimestamp",
               "Agent.AgentInteractionDuration", "Agent.CustomerHoldDuration", "Agent.AfterContactWorkDuration",
               "Agent.HierarchyGroups.Level1.GroupName", "Queue.Name", "Queue.Duration", "AWSAccountId"]
    assert imports.guess_dataset(headers)[0] == "contacts"
    # a path by its last names: Queue.Duration is the queue's duration (the wait), not the call's
    assert imports.suggest_mapping(headers, "contacts").columns == {
        "contact_id": ["ContactId"], "arrived_at": ["InitiationTimestamp"], "channel": ["Channel"],
        "queue": ["Queue.Name"], "team": ["Agent.HierarchyGroups.Level1.GroupName"], "agent_name": ["Agent.Username"],
        "answered_at": ["Agent.ConnectedToAgentTimestamp"], "wait_seconds": ["Queue.Duration"],
        "talk_seconds": ["Agent.AgentInteractionDuration"], "hold_seconds": ["Agent.CustomerHoldDuration"],
        "acw_seconds": ["Agent.AfterContactWorkDuration"]}
