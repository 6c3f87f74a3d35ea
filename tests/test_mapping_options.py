"""The mapping options presets need, open to any mapping file: a duration unit per column (hh:mm:ss among them), columns
derived from other fields, and the latest version of a record kept when an export repeats it."""
from __future__ import annotations

import json

import pytest

from kpi import imports
from helpers import rows


def mapping(write, options: str, columns: str = "contact_id: Id, arrived_at: Start") -> object:
    return write("m.yaml", f"dataset: contacts\ncolumns: {{{columns}}}\noptions:\n{options}")


def test_a_duration_unit_per_column_with_a_default(db, write):
    f = write("c.csv", "Id,Start,Talk,Hold,Acw,Wait\nh1,2026-11-16 09:00,250000,00:01:30,2,7\n")
    m = mapping(write, "  duration_unit: {default: min, talk_seconds: ms, hold_seconds: hms}\n",
                "contact_id: Id, arrived_at: Start, talk_seconds: Talk, hold_seconds: Hold, acw_seconds: Acw, "
                "wait_seconds: Wait")
    imports.import_file("contacts", f, m, db=db)
    # talk 250000 ms = 250 s; hold 00:01:30 = 90 s; acw and wait in the default unit, minutes: 120 s and 420 s.
    assert rows(db, "SELECT talk_seconds, hold_seconds, acw_seconds, wait_seconds FROM contacts") == [
        (250.0, 90.0, 120.0, 420.0)]


def test_unit_hms_reads_hh_mm_ss_only_and_rejects_a_bare_number(db, write):
    f = write("c.csv", "Id,Start,Talk\nh1,2026-11-16 09:00,00:04:30\nh2,2026-11-16 09:01,270\nh3,2026-11-16 09:02,4:30\n")
    m = mapping(write, "  duration_unit: hms\n", "contact_id: Id, arrived_at: Start, talk_seconds: Talk")
    r = imports.import_file("contacts", f, m, db=db)
    # 00:04:30 and 4:30 are 270 s; a bare 270 could be seconds or minutes: the unit says it is no duration.
    assert rows(db, "SELECT contact_id, talk_seconds FROM contacts ORDER BY 1") == [("h1", 270.0), ("h3", 270.0)]
    assert list(r.rejects["reason"]) == ["could not read '270' (expected hh:mm:ss or mm:ss, such as 00:04:30)"]
    assert imports.reason_text(r.rejects["reason_code"][0], r.rejects["reason_params"][0], "zh-TW") == \
        "無法讀取「270」（應為 時:分:秒 或 分:秒，例如 00:04:30）"


@pytest.mark.parametrize("rule, expected", [
    # The field Agent holds a name on rows a and c, nothing on b and d.
    ("{present: Agent}", [True, False, True, False]),
    ("{absent: Agent}", [False, True, False, True]),
    # Abandoned is YES on b and d: answered is its negation (read directly, it would be inverted).
    ("{not: Abandoned}", [True, False, True, False]),
    # Outcome is one of the values, in any case; anything else (an empty cell too) is false.
    ("{in: {Outcome: [Handled, transferred]}}", [True, False, True, False]),
])
def test_a_true_false_column_derived_from_another_field(db, write, rule, expected):
    f = write("c.csv", "Id,Start,Agent,Abandoned,Outcome\n"
              "a,2026-11-16 09:00,王小明,NO,handled\nb,2026-11-16 09:01,,YES,Abandon\n"
              "c,2026-11-16 09:02,林怡君,No,TRANSFERRED\nd,2026-11-16 09:03,,Yes,\n")
    r = imports.import_file("contacts", f, mapping(write, f"  derive:\n    answered: {rule}\n"), db=db)
    assert r.rejected == 0
    assert [a for (a,) in rows(db, "SELECT answered FROM contacts ORDER BY contact_id")] == expected
    # The fields a derived column reads are read, not left over.
    assert r.ignored_columns == [c for c in ("Agent", "Abandoned", "Outcome") if c not in rule]


def test_a_derived_value_is_checked_like_a_mapped_one(db, write):
    f = write("c.csv", "Id,Start,Abandoned,Queued,Answered\n"
              "a,2026-11-16 09:00,N,2026-11-16 09:00:05,2026-11-16 09:00:35\n"
              "b,2026-11-16 09:01,maybe,2026-11-16 09:01:00,2026-11-16 09:01:10\n"
              "c,2026-11-16 09:02,N,2026-11-16 09:02:30,2026-11-16 09:02:00\n"
              "d,2026-11-16 09:03,Y,2026-11-16 09:03:00,\n"
              "e,2026-11-16 09:04,N,26/13/2026 09:04,2026-11-16 09:04:09\n")
    m = mapping(write, "  derive:\n    answered: {not: Abandoned}\n    wait_seconds: {seconds_between: [Queued, Answered]}\n")
    r = imports.import_file("contacts", f, m, db=db)
    # a: answered after 30 s in the queue; d: abandoned, no answer time, so no wait.
    assert rows(db, "SELECT contact_id, answered, wait_seconds FROM contacts ORDER BY 1") == [("a", True, 30.0),
                                                                                               ("d", False, None)]
    got = sorted(zip(r.rejects["row_number"], r.rejects["column_name"], r.rejects["reason"]))
    assert got == [
        (3, "answered", "could not read 'maybe' (expected Y/N, Yes/No, TRUE/FALSE, 1/0 or 是/否)"),
        (4, "wait_seconds", "negative duration '-30' (expected 0 or more)"),  # answered 30 s before it queued
        (6, "wait_seconds", "could not read '26/13/2026 09:04' (expected a date/time such as 2026-11-26 14:30:00, "
                            "26/11/2026 14:30, 11/26/2026, 115/11/26 or 26-Nov-2026)"),
    ]


def test_a_derive_field_the_file_lacks_is_fatal_naming_the_mapping_the_field_and_the_headers(db, write):
    f = write("c.csv", "Id,Start,Agent\na,2026-11-16 09:00,A1\n")
    m = mapping(write, "  derive:\n    answered: {present: Agent.ConnectedToAgentTimestamp}\n")
    with pytest.raises(imports.FatalImportError) as e:
        imports.import_file("contacts", f, m, db=db)
    assert str(e.value) == (f"c.csv: {m}: options.derive.answered reads 'Agent.ConnectedToAgentTimestamp', but the "
                            "file has no such column; its columns are: Id, Start, Agent")
    assert not db.exists()  # nothing written, not even the file


@pytest.mark.parametrize("options, message", [
    ("  derive: {answered: {present: [A, B]}}\n", "options.derive: expected canonical column: {rule: field}"),
    ("  derive: {answered: {maybe: A}}\n",
     "the rule one of present, absent, not, in, seconds_between, epoch_seconds, case"),
    ("  derive: {arrived_at: {epoch_seconds: [A, B]}}\n", "options.derive: expected canonical column"),
    ("  derive: {answered: {epoch_seconds: A}}\n",
     "options.derive.answered: epoch_seconds gives a date-time column, but answered is a true/false column"),
    # A case's branches: {when: condition, then: value}, an else only last; conditions are the true/false rules.
    ("  derive: {direction: {case: []}}\n", "options.derive: expected canonical column"),
    ("  derive: {direction: {case: [{else: outbound}, {when: {present: A}, then: inbound}]}}\n",
     "options.derive: expected canonical column"),
    ("  derive: {direction: {case: [{when: {seconds_between: [A, B]}, then: inbound}]}}\n",
     "options.derive: expected canonical column"),
    ("  derive: {direction: {case: [{when: {present: A}, then: [inbound]}]}}\n",
     "options.derive: expected canonical column"),
    ("  derive: {direction: {case: [{when: {present: A}}]}}\n", "options.derive: expected canonical column"),
    ("  derive: {answered: {in: {A: {x: y}}}}\n", "options.derive: expected canonical column"),
    ("  derive: {wait_seconds: {seconds_between: [A]}}\n", "options.derive: expected canonical column"),
    ("  derive: {colour: {present: A}}\n", "options.derive.colour: not a column of contacts"),
    ("  derive: {answered: {seconds_between: [A, B]}}\n",
     "options.derive.answered: seconds_between gives a duration column, but answered is a true/false column"),
    ("  derive: {wait_seconds: {present: A}}\n",
     "options.derive.wait_seconds: present gives a true/false column, but wait_seconds is a duration column"),
    ("  dedupe: {newest: Updated}\n", "options.dedupe: expected {latest: field}"),
    ("  duration_unit: {talk_seconds: hours}\n",
     "options.duration_unit: expected one of s, ms, min, hms, or per column {default: s, talk_seconds: ms}"),
    ("  duration_unit: {answered: ms}\n",
     "options.duration_unit.answered: not a duration column of contacts; expected default or one of: acw_seconds"),
])
def test_a_bad_derive_dedupe_or_unit_option_is_refused_naming_the_key(db, write, options, message):
    f = write("c.csv", "Id,Start,A,B\na,2026-11-16 09:00,1,2\n")
    with pytest.raises(imports.FatalImportError, match="m.yaml: ") as e:
        imports.import_file("contacts", f, mapping(write, options), db=db)
    assert message in str(e.value)


def test_a_time_written_as_seconds_since_1970_is_read_as_utc(db, write):
    # Avaya CMS writes SEGSTART as seconds since 1970-01-01 UTC: 1794790800 is 2026-11-16 01:00:00 UTC, 09:00 in
    # Taipei; 1794847500 is 16:45 UTC, already Tuesday 17 November (00:45) in Taipei.
    f = write("c.csv", "Id,SEGSTART\na,1794790800\nb,1794847500\nc,2026-11-18 10:30:00\nd,-5\ne,soon\n")
    m = mapping(write, "  derive: {arrived_at: {epoch_seconds: SEGSTART}}\n", "contact_id: Id")
    r = imports.import_file("contacts", f, m, db=db)
    # A cell already written as a date and time (an export that converted it) is read as one, like a mapped column.
    assert rows(db, "SELECT contact_id, arrived_at::VARCHAR FROM contacts ORDER BY 1") == [
        ("a", "2026-11-16 09:00:00"), ("b", "2026-11-17 00:45:00"), ("c", "2026-11-18 10:30:00")]
    # Seconds before 1970, or no time at all: rejected with the value as written.
    assert [(row, col, value) for row, col, value in r.rejects[["row_number", "column_name", "value"]].itertuples(
        index=False)] == [(5, "arrived_at", "-5"), (6, "arrived_at", "soon")]


def test_a_case_gives_the_value_of_the_first_condition_that_holds(db, write):
    # Avaya CMS: a segment no agent originated is inbound; an agent's first segment an outbound call; an agent's later
    # segment the transfer leg.
    f = write("c.csv", "Id,Start,ORIGLOGIN,SEGMENT,Abandoned\n"
              "a,2026-11-16 09:00,,1,NO\nb,2026-11-16 09:01,1002,1,NO\nc,2026-11-16 09:02,1001,2,YES\n"
              "d,2026-11-16 09:03,,2,no\n")
    m = mapping(write, "  derive:\n    direction:\n      case:\n        - {when: {absent: ORIGLOGIN}, then: inbound}\n"
                "        - {when: {in: {SEGMENT: [1]}}, then: outbound}\n        - {else: transfer}\n"
                "    transferred:\n      case:\n        - {when: {not: Abandoned}, then: 'N'}\n")
    r = imports.import_file("contacts", f, m, db=db)
    assert r.rejected == 0
    # transferred: N where Abandoned reads no (a, b, d); no branch holds for c and there is no else: empty.
    assert rows(db, "SELECT contact_id, direction, transferred FROM contacts ORDER BY 1") == [
        ("a", "inbound", False), ("b", "outbound", False), ("c", "transfer", None), ("d", "inbound", False)]
    assert imports.describe_derived(imports.load_mapping(m).options, "zh-TW") == (
        "聯絡方向：「ORIGLOGIN」空白時為進線；「SEGMENT」為 1 時為外撥；其他為轉接、是否轉接：「Abandoned」為否時為N")
    assert imports.describe_derived(imports.load_mapping(m).options, "en").startswith(
        "Direction: Inbound when ORIGLOGIN is empty; Outbound when SEGMENT is 1; Transfer otherwise")


def test_a_case_value_is_checked_like_a_mapped_one(db, write):
    f = write("c.csv", "Id,Start,Kind\na,2026-11-16 09:00,x\nb,2026-11-16 09:01,y\n")
    m = mapping(write, "  derive:\n    direction:\n      case:\n        - {when: {in: {Kind: [x]}}, then: sideways}\n"
                "        - {else: outbound}\n")
    r = imports.import_file("contacts", f, m, db=db)
    assert rows(db, "SELECT contact_id, direction FROM contacts") == [("b", "outbound")]
    assert list(r.rejects["column_name"]) == ["direction"] and "'sideways'" in r.rejects["reason"][0]


def test_a_column_read_and_derived_at_once_is_refused(db, write):
    f = write("c.csv", "Id,Start,A\na,2026-11-16 09:00,1\n")
    m = mapping(write, "  derive: {answered: {present: A}}\n", "contact_id: Id, arrived_at: Start, answered: A")
    with pytest.raises(imports.FatalImportError, match="columns.answered and options.derive.answered: both give the "
                                                       "column; it is read from the file or derived, not both"):
        imports.import_file("contacts", f, m, db=db)


STREAM = ("Id,Start,Talk,Updated\n"
          "a,2026-11-16 09:00,100,2026-11-16T01:00:05Z\n"   # row 2: a, first version
          "b,2026-11-16 09:01,50,2026-11-16T01:01:00Z\n"    # row 3: b, the later of b's two versions
          "a,2026-11-16 09:00,180,2026-11-16T01:09:00Z\n"   # row 4: a, the latest version
          "b,2026-11-16 09:01,40,2026-11-16T01:00:30Z\n"    # row 5: b, older, written after
          "a,2026-11-16 09:00,150,2026-11-16T01:05:00Z\n"   # row 6: a, a middle version
          "c,2026-11-16 09:02,10,\n"                        # row 7: c, no update time: the earliest
          "c,2026-11-16 09:02,20,2026-11-16T01:02:00Z\n"    # row 8: c
          "d,2026-11-16 09:03,30,2026-11-16T01:03:00Z\n"    # row 9: d, twice with the same time: the later row
          "d,2026-11-16 09:03,35,2026-11-16T01:03:00Z\n"    # row 10
          "e,2026-11-16 09:04,60,last tuesday\n")           # row 11: an update time that is no time: rejected


def test_dedupe_keeps_the_latest_version_of_a_record_and_counts_the_others(db, write):
    f = write("stream.csv", STREAM)
    m = mapping(write, "  dedupe: {latest: Updated}\n", "contact_id: Id, arrived_at: Start, talk_seconds: Talk")
    prep = imports.prepare("contacts", f, imports.load_mapping(m))  # what a preview shows, before anything is written
    assert (prep.rows_read, len(prep.stage), prep.superseded) == (10, 4, 5)
    r = imports.import_file("contacts", f, m, db=db)
    assert rows(db, "SELECT contact_id, talk_seconds FROM contacts ORDER BY 1") == [
        ("a", 180.0), ("b", 50.0), ("c", 20.0), ("d", 35.0)]
    # 10 rows read = 4 inserted + 5 superseded (older versions, no rejects) + 1 rejected.
    assert (r.inserted, r.rejected, r.superseded) == (4, 1, 5)
    assert r.summary() == ("stream.csv -> contacts: read 10, inserted 4, updated 0, unchanged 0, rejected 1, "
                           "superseded 5 (older versions of a record in the file) (import #1)")
    assert list(zip(r.rejects["row_number"], r.rejects["column_name"])) == [(11, "Updated")]
    assert r.rejects["reason"][0].startswith("could not read 'last tuesday' (expected a date/time")
    (options,), = rows(db, "SELECT options FROM imports")
    assert json.loads(options)["superseded"] == 5 and json.loads(options)["dedupe"] == {"latest": "Updated"}


def test_without_dedupe_a_repeated_key_is_still_a_reject(db, write):
    f = write("stream.csv", STREAM)
    m = mapping(write, "  date_order: dmy\n", "contact_id: Id, arrived_at: Start, talk_seconds: Talk")
    r = imports.import_file("contacts", f, m, db=db)
    # The first row of each key is kept; the 5 later ones are duplicates. Updated is not read: row 11 is fine.
    assert (r.inserted, r.rejected, r.superseded) == (5, 5, 0)
    assert rows(db, "SELECT talk_seconds FROM contacts WHERE contact_id = 'a'") == [(100.0,)]
