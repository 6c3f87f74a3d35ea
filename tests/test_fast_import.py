"""The fast path (DuckDB parses the cells it can) and the Python path give the same import: the same stored rows, the
same rejects with the same reasons, row numbers and columns, the same counts."""
from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

from kpi import imports, open_db
from kpi.imports import _fast

ROOT = Path(__file__).resolve().parent.parent

HEADER = ("contact_id,arrived_at,channel,direction,team,agent_id,answered,answered_at,wait_seconds,talk_seconds,"
          "transferred,customer_id\n")
# Rows 2-22 of a contacts file: good rows the SQL reads, good rows only the Python parsers read, and each kind of bad
# value. The comment gives the row number and what the Python path makes of it.
MIXED = HEADER + (
    "c01,2026-11-16 09:00:00,phone,inbound,T1,A1,Y,2026-11-16 09:00:12,12,100,N,CU1\n"    # 2 fine (SQL)
    "c02,2026-11-16 09:01:00,,,T1,,N,,3,,,CU2\n"                                           # 3 fine: defaults
    "c03,115/11/16 09:02:00,chat,IB,T1,A2,是,,40,,否,CU1\n"                               # 4 fine: ROC year (Python)
    "c04,2026/11/16 下午 2:05,phone,inbound,T2,A3,Yes,,7,00:04:30,N,CU3\n"                # 5 fine: 下午, hh:mm:ss
    "c05,yesterday,phone,inbound,T2,A3,Y,,7,10,N,CU3\n"                                   # 6 unreadable_timestamp
    "c06,2026-02-30 10:00:00,phone,inbound,T2,A3,Y,,7,10,N,CU3\n"                          # 7 unreadable_timestamp
    "c07,2026-11-16 10:00:00,phone,inbound,T2,A3,Y,,abc,10,N,CU3\n"                        # 8 unreadable_duration
    "c08,2026-11-16 10:00:00,phone,inbound,T2,A3,Y,,-5,10,N,CU3\n"                         # 9 negative_duration
    "c09,2026-11-16 10:00:00,phone,inbound,T2,A3,Y,,99999999,10,N,CU3\n"                   # 10 too_long
    "c10,2026-11-16 10:00:00,phone,inbound,T2,A3,maybe,,7,10,N,CU3\n"                      # 11 unreadable_bool
    "c11,2026-11-16 10:00:00,fax,inbound,T2,A3,Y,,7,10,N,CU3\n"                            # 12 fine: channel is text
    "c12,2026-11-16 10:00:00,phone,sideways,T2,A3,Y,,7,10,N,CU3\n"                         # 13 unknown_choice
    ",2026-11-16 10:00:00,phone,inbound,T2,A3,Y,,7,10,N,CU3\n"                             # 14 missing_required
    "c14,2026-11-16 10:00:00,phone,inbound,T2,A3,Y,2026-11-16 09:59:00,7,10,N,CU3\n"       # 15 answered_before_arrived
    "c01,2026-11-16 11:00:00,phone,inbound,T2,A3,Y,,7,10,N,CU3\n"                          # 16 duplicate_key (row 2)
    "Total,,,,,,,,300,,,\n"                                                                # 17 total_row
    "c17,2026-11-16 10:00:00,phone,inbound,T2,#N/A,Y,,7,10,N,CU3\n"                        # 18 spreadsheet_error
    " c18 ,２０２６-11-16 10:00:00,PHONE,Outbound,T2,A3,y,,７,10,n,CU3\n"                  # 19 fine: spaces, full width
    ",,,,,,,,,,,\n"                                                                        # 20 empty: not read
    "c20,2026-11-16 10:00:00,phone,inbound,T2,A3,N,,,10,N,CU3\n"                           # 21 fine: no wait
    "c21,2026-11-16 10:00:00,phone,inbound,T2,A3,Y,2026-11-16 10:00:30,,10,N,CU3\n")       # 22 fine: wait derived


def both(dataset: str, path, mapping=None, monkeypatch=None):
    """(the fast path's Prepared, the Python path's) for one file."""
    fast = imports.prepare(dataset, path, mapping)
    monkeypatch.setattr(_fast, "ENABLED", False)
    slow = imports.prepare(dataset, path, mapping)
    monkeypatch.setattr(_fast, "ENABLED", True)
    return fast, slow


def assert_same(fast, slow) -> None:
    assert slow.staged is None
    pd.testing.assert_frame_equal(fast.stage, slow.stage)
    pd.testing.assert_frame_equal(fast.rejects, slow.rejects)
    pd.testing.assert_frame_equal(fast.warnings, slow.warnings)
    assert (fast.rows_read, fast.supplied, fast.rules, fast.options, fast.ignored_columns) == (
        slow.rows_read, slow.supplied, slow.rules, slow.options, slow.ignored_columns)


def test_mixed_good_and_bad_rows_give_the_same_stage_and_rejects(write, monkeypatch):
    fast, slow = both("contacts", write("mixed.csv", MIXED), monkeypatch=monkeypatch)
    assert fast.staged is not None  # the fast path was taken, its odd rows handed to the Python parsers
    assert_same(fast, slow)
    # 21 rows less the empty row 20; twelve rejected, as the comments above say
    assert fast.rows_read == 20
    assert [(r.row_number, r.column_name, r.reason_code) for r in fast.rejects.itertuples()] == [
        (6, "arrived_at", "unreadable_timestamp"), (7, "arrived_at", "unreadable_timestamp"),
        (8, "wait_seconds", "unreadable_duration"), (9, "wait_seconds", "negative_duration"),
        (10, "wait_seconds", "too_long"), (11, "answered", "unreadable_bool"),
        (13, "direction", "unknown_choice"), (14, "contact_id", "missing_required"),
        (15, "answered_at", "answered_before_arrived"), (16, "contact_id", "duplicate_key"),
        (17, "contact_id", "total_row"), (18, "agent_id", "spreadsheet_error")]
    assert json.loads(fast.rejects.loc[fast.rejects["row_number"] == 16, "reason_params"].iloc[0])["first_row"] == 2
    stage = fast.stage.set_index("contact_id")
    # c03: ROC 115 = 2026; c04: 下午 2:05 = 14:05, talk 00:04:30 = 270 s; c18 trimmed, full-width digits read;
    # c21: no wait written, answered 30 s after arrival.
    assert str(stage.loc["c03", "arrived_at"]) == "2026-11-16 09:02:00" and stage.loc["c03", "direction"] == "inbound"
    assert str(stage.loc["c04", "arrived_at"]) == "2026-11-16 14:05:00" and stage.loc["c04", "talk_seconds"] == 270.0
    assert (str(stage.loc["c18", "arrived_at"]), stage.loc["c18", "wait_seconds"], stage.loc["c18", "direction"]) == (
        "2026-11-16 10:00:00", 7.0, "outbound")
    assert stage.loc["c21", "wait_seconds"] == 30.0 and pd.isna(stage.loc["c20", "wait_seconds"])
    assert list(stage.index) == ["c01", "c02", "c03", "c04", "c11", "c18", "c20", "c21"]


def test_mixed_rows_land_in_the_database_the_same(write, tmp_path, monkeypatch):
    f = write("mixed.csv", MIXED)
    stored = {}
    for fast in (True, False):
        monkeypatch.setattr(_fast, "ENABLED", fast)
        db = tmp_path / f"{fast}.duckdb"
        r = imports.import_file("contacts", f, db=db, run_by="t")
        assert (r.rows_read, r.inserted, r.rejected) == (20, 8, 12)
        with open_db(db, read_only=True) as con:
            table = con.execute("SELECT * EXCLUDE (import_id, created_import_id) FROM contacts ORDER BY contact_id").df()
            rejects = con.execute("SELECT * EXCLUDE (import_id) FROM rejected_rows ORDER BY row_number, column_name").df()
        stored[fast] = (table, rejects)
    fast_table, slow_table = stored[True][0], stored[False][0]
    pd.testing.assert_frame_equal(fast_table.drop(columns="customer_id"), slow_table.drop(columns="customer_id"))
    # the same customers are the same hash within each database: c01 and c03 are CU1
    for table in (fast_table, slow_table):
        ids = table.set_index("contact_id")["customer_id"]
        assert ids["c01"] == ids["c03"] != ids["c02"]
    # a rejected row's cells keep the customer id hashed too, with its database's key
    fast_rejects, slow_rejects = (stored[f][1].assign(raw=[json.dumps({**json.loads(r), "customer_id": None})
                                                          for r in stored[f][1]["raw"]]) for f in (True, False))
    pd.testing.assert_frame_equal(fast_rejects, slow_rejects)
    assert json.loads(stored[True][1]["raw"][0])["customer_id"] not in ("CU3", None)



def test_a_fast_import_over_stored_rows_updates_the_matched_one_and_inserts_the_rest(write, tmp_path):
    db = tmp_path / "u.duckdb"
    first = imports.import_file("contacts", write("first.csv", HEADER + "c01,2026-11-16 09:00:00,phone,inbound,T1,A1,Y,,5,1,N,CU1\n"),
                                db=db)
    assert first.inserted == 1  # no key matched: inserted without the anti-join
    r = imports.import_file("contacts", write("mixed.csv", MIXED), db=db)
    # the 8 valid rows of MIXED: c01 (stored with wait 5, the file's 12) is updated, the other seven inserted
    assert (r.inserted, r.updated, r.unchanged, r.rejected) == (7, 1, 0, 12)
    with open_db(db, read_only=True) as con:
        assert con.execute("SELECT count(*), count(DISTINCT contact_id) FROM contacts").fetchone() == (8, 8)
        assert con.execute("SELECT wait_seconds FROM contacts WHERE contact_id = 'c01'").fetchone()[0] == 12
        assert con.execute("SELECT wait_seconds FROM contacts_history WHERE contact_id = 'c01'").fetchall() == [(5,)]
        ids = dict(con.execute("SELECT contact_id, customer_id FROM contacts").fetchall())
    assert ids["c01"] == ids["c03"] not in ("CU1", None)  # both CU1, hashed through the temp table _hashes

def test_preview_of_the_fast_path_shows_what_the_python_path_does(write, tmp_path, monkeypatch):
    f = write("mixed.csv", MIXED)
    db = tmp_path / "p.duckdb"
    imports.import_file("contacts", write("first.csv", HEADER + "c01,2026-11-16 09:00:00,phone,inbound,T1,A1,Y,,5,1,N,CU1\n"),
                        db=db)
    fast, slow = both("contacts", f, monkeypatch=monkeypatch)
    with open_db(db) as con:
        a, b = imports.preview(con, fast, rows=5), imports.preview(con, slow, rows=5)
    # c01 is stored with wait 5: the file's 12 updates it; seven new rows
    assert (a.inserted, a.updated, a.unchanged, a.rejected) == (b.inserted, b.updated, b.unchanged, b.rejected) == (7, 1, 0, 12)
    pd.testing.assert_frame_equal(a.rows, b.rows)


def test_big5_file_takes_the_python_path_with_the_same_result(write, monkeypatch):
    f = write("big5.csv", "contact_id,arrived_at,team,wait_seconds,answered\nX1,2026-11-16 09:00:00,客服一組,20,是\n"
              "X2,2026-11-16 09:05:00,客服二組,abc,否\n", "cp950")
    fast, slow = both("contacts", f, monkeypatch=monkeypatch)
    assert fast.staged is None  # DuckDB reads no Big5: the whole file goes through pandas
    assert_same(fast, slow)
    assert fast.stage["team"].tolist() == ["客服一組"] and fast.rejects["row_number"].tolist() == [3]


def test_a_column_only_python_reads_sends_every_row_there_with_the_same_result(write, monkeypatch):
    # talk_seconds in hh:mm:ss on every row: no row is SQL's, and the result is the Python path's
    f = write("hms.csv", "contact_id,arrived_at,talk_seconds\n" + "".join(
        f"k{i},2026-11-16 09:{i:02d}:00,00:0{i % 10}:30\n" for i in range(30)) + "k30,2026-11-16 10:00:00,1:99\n")
    fast, slow = both("contacts", f, monkeypatch=monkeypatch)
    assert fast.staged is not None and fast.staged.rows == 30
    assert_same(fast, slow)
    assert fast.stage["talk_seconds"].tolist()[:3] == [30.0, 90.0, 150.0]  # 00:00:30, 00:01:30, 00:02:30
    assert [(r.row_number, r.reason_code) for r in fast.rejects.itertuples()] == [(32, "unreadable_duration")]


def test_quoted_line_breaks_send_the_file_to_the_python_path(write, monkeypatch):
    # A quoted cell over two lines: DuckDB's row positions would no longer be the file's lines, so the whole file is
    # the Python path's (row numbers in messages stay right)
    f = write("q.csv", 'contact_id,arrived_at,agent_name,wait_seconds\na,2026-11-16 09:00:00,"Wang\nDa",5\n'
              "b,2026-11-16 09:00:00,Lin,x\n")
    fast, slow = both("contacts", f, monkeypatch=monkeypatch)
    assert fast.staged is None
    assert_same(fast, slow)
    assert fast.rejects["row_number"].tolist() == [3]  # b is the third record (a spreadsheet shows a/Wang Da in one row)


def test_the_parse_keeps_the_files_order_and_a_plan_that_might_not_sends_the_file_to_the_python_path(
        write, monkeypatch):
    """Table parsed's rowids are the rows' positions only while DuckDB's plan is the file read, values computed row by
    row and an ordered insert. `x IN (...)` of five or more constants becomes a join, after which 50 of the sample's
    300,000 contacts landed last: the words are matched with CASE (_one_of), and a plan with anything else is not
    run (the whole file is the Python path's, with the same result)."""
    f = write("mixed.csv", MIXED)
    plans = []
    real = _fast._in_file_order
    monkeypatch.setattr(_fast, "_in_file_order", lambda con, sql: plans.append(real(con, sql)) or plans[-1])
    fast, slow = both("contacts", f, monkeypatch=monkeypatch)
    assert plans == [True] and fast.staged is not None
    assert_same(fast, slow)

    def one_of_in(text, words):  # the IN list the CASE replaced
        return f"{text} IN ({', '.join(_fast._sql_text(w) for w in words)})"
    monkeypatch.setattr(_fast, "_one_of", one_of_in)
    plans.clear()
    fast, slow = both("contacts", f, monkeypatch=monkeypatch)
    assert plans == [False] and fast.staged is None
    assert_same(fast, slow)


def test_on_one_thread_the_plan_is_an_ordered_insert_too_and_the_fast_path_is_taken(write, monkeypatch):
    """A machine (or container) of one core: DuckDB plans CREATE_TABLE_AS instead of BATCH_CREATE_TABLE_AS, which on
    one thread inserts the rows as they come."""
    f = write("mixed.csv", MIXED)
    real, plans = _fast._in_file_order, []

    def on_one_thread(con, statement):
        con.execute("SET threads = 1")
        plans.append(con.execute(f"EXPLAIN (FORMAT json) {statement}").fetchall()[0][1])
        return real(con, statement)
    monkeypatch.setattr(_fast, "_in_file_order", on_one_thread)
    fast, slow = both("contacts", f, monkeypatch=monkeypatch)
    assert '"CREATE_TABLE_AS"' in plans[0] and fast.staged is not None
    assert_same(fast, slow)


def test_headers_named_like_the_sqls_own_columns_change_nothing(write, monkeypatch):
    """The file's columns are named by position in SQL (__c0, __c1, ...): a header __ok, __cells, __v_team or __c0
    (columns the mapping does not use) is just another column."""
    head = HEADER.rstrip("\n") + ",__ok,__cells,__v_team,__c0\n"
    rows = [line + ",x,y,z,w" for line in MIXED.splitlines()[1:]]
    f = write("odd.csv", head + "\n".join(rows) + "\n")
    fast, slow = both("contacts", f, monkeypatch=monkeypatch)
    assert fast.staged is not None
    assert_same(fast, slow)
    assert fast.stage["team"].tolist()[:2] == ["T1", "T1"]


@pytest.mark.parametrize("words", [["y", "yes", "1", "t", "true", "on"], ["是", "有"], []], ids=["six", "two", "none"])
def test_one_of_matches_the_words_exactly_and_null_as_no_match(words):
    import duckdb

    values = ["y", "Y", "yes ", "on", "是", "不是", "", None, "tru", "true"]
    con = duckdb.connect()
    got = [con.execute(f"SELECT {_fast._one_of('v', words)} FROM (SELECT $v::VARCHAR AS v)", {"v": v}).fetchone()[0]
           for v in values]
    assert got == [v in words for v in values]


def test_rows_only_python_reads_keep_their_place_among_many_rows_sql_reads(write, monkeypatch):
    """120,000 rows (DuckDB reads and inserts them on several threads), every 997th with a ROC date only the Python
    path reads and every 1,009th with a bad wait: the same stored rows in the same order, and the rejects' row numbers,
    as the Python path's."""
    lines = []
    for i in range(120_000):
        day = "115/11/16" if i % 997 == 0 else "2026-11-16"
        wait = "abc" if i % 1009 == 0 else str(i % 600)
        lines.append(f"k{i:06d},{day} {i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d},phone,inbound,T{i % 7},"
                     f"A{i % 50},{'Y' if i % 3 else 'no'},,{wait},{i % 300},{'是' if i % 5 else 'N'},CU{i % 900}\n")
    f = write("many.csv", HEADER + "".join(lines))
    fast, slow = both("contacts", f, monkeypatch=monkeypatch)
    assert fast.staged is not None
    assert_same(fast, slow)
    assert len(fast.stage) == 120_000 - 119  # 119 bad waits (i = 0, 1009, ..., 119071)
    ids = fast.stage["contact_id"].tolist()  # k000000 rejected: k000997, a ROC date, is the 997th stored
    assert ids[:2] == ["k000001", "k000002"] and ids[995:998] == ["k000996", "k000997", "k000998"]
    assert fast.stage["arrived_at"].iloc[996] == pd.Timestamp("2026-11-16 00:16:37")  # 115/11/16 read by Python
    assert fast.rejects["row_number"].tolist()[:2] == [2, 1011]  # k000000 and k001009: row = i + 2


def test_surveys_with_bad_scores_give_the_same_result(write, monkeypatch):
    f = write("s.csv", "survey_id,responded_at,csat,nps,ces\n"
              "s1,2026-11-16 10:00:00,5,9,2\n"     # 2 fine (SQL)
              "s2,2026-11-16 10:00:00,6,8,1\n"     # 3 csat above 5
              "s3,2026-11-16 10:00:00,4.5,8,1\n"   # 4 not a whole number
              "s4,2026-11-16 10:00:00,３,10,1\n"   # 5 fine: full-width 3 (Python)
              "s1,2026-11-16 11:00:00,1,0,7\n")    # 6 repeated id
    fast, slow = both("surveys", f, monkeypatch=monkeypatch)
    assert fast.staged is not None
    assert_same(fast, slow)
    assert fast.stage["csat"].tolist() == [5, 3]
    assert [(r.row_number, r.column_name, r.reason_code) for r in fast.rejects.itertuples()] == [
        (3, "csat", "out_of_range"), (4, "csat", "unreadable_int"), (6, "survey_id", "duplicate_key")]


@pytest.mark.parametrize("sample", ["contacts.csv.gz", "surveys.csv"])
def test_sample_files_give_the_same_stage(sample, monkeypatch):
    path = imports.SAMPLE_DIR / sample
    dataset = sample.split(".")[0]
    fast, slow = both(dataset, path, monkeypatch=monkeypatch)
    assert fast.staged is not None
    assert_same(fast, slow)


class _Recording:
    """A connection that notes the SQL it runs."""

    def __init__(self, con, said: list[str]):
        self.con, self.said = con, said

    def execute(self, sql, *a):
        self.said.append(sql)
        return self.con.execute(sql, *a)


def test_a_gz_is_gunzipped_for_duckdb_to_read_on_every_core_and_the_copy_removed(tmp_path, monkeypatch):
    gz = tmp_path / "c.csv.gz"
    gz.write_bytes(gzip.compress(MIXED.encode("utf-8")))
    said, left, real = [], [], _fast._read_parsed

    def read_parsed(con, source, headers, work, parse):
        n = real(_Recording(con, said), source, headers, work, parse)
        left.append(sorted(p.name for p in work.iterdir()))
        return n

    monkeypatch.setattr(_fast, "_read_parsed", read_parsed)
    fast, slow = both("contacts", gz, monkeypatch=monkeypatch)
    assert fast.staged is not None
    assert_same(fast, slow)
    assert "text.csv" in said[0] and "compression='none'" in said[0] and "c.csv.gz" not in said[0]
    assert "text.csv" not in left[0]  # the copy is gone once DuckDB has read it


def test_a_gz_holding_more_text_than_its_checks_measured_takes_the_python_path(tmp_path, monkeypatch):
    """A file replaced between the checks and the read: the copy stops at the size the checks allowed."""
    gz = tmp_path / "c.csv.gz"
    gz.write_bytes(gzip.compress(MIXED.encode("utf-8")))
    real, results = _fast._read_parsed, []

    def read_parsed(con, source, headers, work, parse):
        source.text_bytes = 100  # as if the checks had seen a 100-byte file
        results.append(real(con, source, headers, work, parse))
        return results[-1]

    monkeypatch.setattr(_fast, "_read_parsed", read_parsed)
    fast, slow = both("contacts", gz, monkeypatch=monkeypatch)
    assert results == [None] and fast.staged is None
    assert_same(fast, slow)


@pytest.mark.parametrize("key", [bytes(range(32)), b"k", bytes(range(64)), bytes(range(200)) * 2],
                         ids=["32 bytes", "1 byte", "one block", "longer than a block"])
def test_customer_ids_hashed_in_sql_equal_pythons_hmac_byte_for_byte(key):
    import hashlib
    import hmac
    import random

    import duckdb

    rng = random.Random(17)
    ids = ["", "CU0928625", "客戶-王小明", "a'b\"c", "x" * 300, "😀", " lead and trail "] + [
        "".join(rng.choice("abcXYZ0189-_ 林志明é") for _ in range(rng.randint(1, 40))) for _ in range(2000)]
    with duckdb.connect() as con:
        con.register("ids_df", pd.DataFrame({"id": ids}))
        got = [r[0] for r in con.execute(f"SELECT {_fast.pseudonym_sql('id', key)} FROM ids_df").fetchall()]
    # hmac.new is the definition; pseudonym() is what the Python path stores
    want = [hmac.new(key, v.encode("utf-8"), hashlib.sha256).hexdigest()[:32] for v in ids]
    assert got == want == [_fast.pseudonym(v, key) for v in ids]
    assert len(set(got)) == len(set(ids))


def test_total_rows_in_full_width_chinese_or_plural_words_are_found_and_ids_that_merely_look_alike_are_not(write, monkeypatch):
    # total_level only looks at cells that could name a total (non-ASCII, or holding "total"): each kind still found
    text = HEADER + (
        "c01,2026-11-16 09:00:00,phone,inbound,T1,A1,Y,,12,100,N,CU1\n"        # 2 fine
        "ＴＯＴＡＬ,,,,,,,,300,,,\n"                                            # 3 total_row: full width, NFKC
        "營運部 小計,,,,,,,,300,,,\n"                                           # 4 total_row: a Chinese subtotal
        "Grand Totals:,,,,,,,,300,,,\n"                                         # 5 total_row: plural, colon
        "TOTALLY-7,2026-11-16 10:00:00,phone,inbound,T1,A1,Y,,7,10,N,CU3\n"    # 6 fine: holds "total", names none
        "C-合計X,2026-11-16 10:00:00,phone,inbound,T1,A1,Y,,7,10,N,CU3\n")     # 7 fine: 合計 inside, not at an end
    fast, slow = both("contacts", write("totals.csv", text), monkeypatch=monkeypatch)
    assert_same(fast, slow)
    assert [(r.row_number, r.reason_code) for r in fast.rejects.itertuples()] == [
        (3, "total_row"), (4, "total_row"), (5, "total_row")]
    assert sorted(fast.stage["contact_id"]) == ["C-合計X", "TOTALLY-7", "c01"]


def test_a_killed_imports_stage_is_removed_by_the_next_import_and_a_running_ones_is_kept(write, tmp_path, monkeypatch):
    # A process killed (kill -9) while it held a prepared import: no cleanup ran, its stage stays in the temp
    # directory (a 10M-row file's is about a gigabyte). The next import removes it, whichever path it takes; a live
    # process's is kept.
    temp = tmp_path / "temp"
    temp.mkdir()
    csv = write("c.csv", MIXED)
    killed = subprocess.run(
        [sys.executable, "-c", "import os, signal, sys; from kpi import imports; "
         f"p = imports.prepare('contacts', {str(csv)!r}); print(os.getpid(), p.staged.path, flush=True); "
         "os.kill(os.getpid(), signal.SIGKILL)"],
        cwd=ROOT, env={**os.environ, "TMPDIR": str(temp)}, capture_output=True, text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    pid, stage = killed.stdout.split(maxsplit=1)
    stage = Path(stage.strip())
    assert stage.is_file() and stage.parent.parent == temp
    assert stage.parent.name.startswith(f"{_fast.WORK_PREFIX}{pid}-{_fast.WORK_SPACE}-")
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    kept = imports.prepare("contacts", csv)  # this process's, held until written
    assert kept.staged.path.parent.name.startswith(f"{_fast.WORK_PREFIX}{os.getpid()}-{_fast.WORK_SPACE}-")
    assert not stage.parent.exists()  # removed before the next import made its own
    monkeypatch.setattr(_fast, "ENABLED", False)  # the Python path (an xlsx, a Big5 file) sweeps too
    again = temp / f"{_fast.WORK_PREFIX}{pid}-{_fast.WORK_SPACE}-left"
    again.mkdir()
    assert imports.prepare("contacts", csv).staged is None and not again.exists()
    result = imports.import_file("contacts", csv, db=tmp_path / "kpi.duckdb")
    assert result.inserted == 8 and kept.staged.path.is_file()


def test_the_sweep_removes_only_directories_no_running_process_holds(tmp_path):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead, here = int(gone.stdout), _fast.WORK_SPACE
    elsewhere = "0123abcd" if here != "0123abcd" else "0123abce"  # a container sharing the directory, its own pids
    p = _fast.WORK_PREFIX
    now = time.time()
    ages = {f"{p}{dead}-{here}-abc": 0,  # its process has ended: removed
            f"{p}{os.getpid()}-{here}-abc": 5, f"{p}{os.getppid()}-{here}-abc": 5,  # running: kept, whatever the age
            f"{p}{dead}-{elsewhere}-new": 0.5,  # another namespace's: can't be asked about, kept for a day
            f"{p}{dead}-{elsewhere}-old": 2,  # ... then removed
            f"{p}x1y2z3q4": 2, f"{p}k9m8n7p6": 0.5,  # named before names held the process: by age
            f"{p}99999999999999999999-{here}-abc": 0,  # no process can have that id: removed
            "other-import-1-abc": 9}  # not ours
    for name, age_days in ages.items():
        d = tmp_path / name
        (d / "spill").mkdir(parents=True)
        (d / "stage.duckdb").write_bytes(b"x")
        os.utime(d, (now - age_days * 86400, now - age_days * 86400))
    (tmp_path / f"{p}{dead}-{here}-file").write_bytes(b"not a directory")
    removed = _fast.sweep_work_dirs(tmp_path, now=now)
    assert sorted(d.name for d in removed) == sorted([
        f"{p}{dead}-{here}-abc", f"{p}{dead}-{elsewhere}-old", f"{p}x1y2z3q4", f"{p}99999999999999999999-{here}-abc"])
    assert sorted(d.name for d in tmp_path.iterdir()) == sorted([
        f"{p}{os.getpid()}-{here}-abc", f"{p}{os.getppid()}-{here}-abc", f"{p}{dead}-{elsewhere}-new", f"{p}k9m8n7p6",
        "other-import-1-abc", f"{p}{dead}-{here}-file"])
    assert _fast.sweep_work_dirs(tmp_path / "missing") == []
