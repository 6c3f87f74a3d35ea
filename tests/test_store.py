"""The database file: where it lives, upgrades that keep data, and sharing it with a running dashboard."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from helpers import db_with
from kpi import imports, metrics, store

ROOT = Path(__file__).resolve().parent.parent


def test_db_path_is_flag_then_environment_then_default(monkeypatch, tmp_path):
    monkeypatch.delenv("KPI_DB", raising=False)
    assert store.resolve_db_path() == ROOT / "data" / "kpi.duckdb"
    monkeypatch.setenv("KPI_DB", str(tmp_path / "env.duckdb"))
    assert store.resolve_db_path() == tmp_path / "env.duckdb"
    assert store.resolve_db_path(tmp_path / "flag.duckdb") == tmp_path / "flag.duckdb"


def test_new_file_gets_the_current_schema_version(db):
    with store.open_db(db) as con:
        assert store.schema_version(con) == store.SCHEMA_VERSION == 11


def test_an_older_file_is_upgraded_without_losing_data(db, write):
    con = duckdb.connect(str(db))
    store.migrate(con, target=1)  # a file as version 1 of the code left it
    con.execute("INSERT INTO contacts (contact_id, arrived_at, channel, answered, import_id, created_import_id) "
                "VALUES ('old1', '2026-01-05 10:00', 'phone', false, 1, 1)")
    con.close()
    with store.open_db(db, read_only=True) as con:  # even a reader upgrades it
        assert store.schema_version(con) == store.SCHEMA_VERSION
        assert con.execute("SELECT contact_id FROM contacts").fetchall() == [("old1",)]
        assert con.execute("SELECT count(*) FROM contacts_history").fetchone() == (0,)
    r = imports.import_file("contacts", write("c.csv", "contact_id,arrived_at\nold1,2026-01-05 10:00\nnew1,2026-01-06 10:00\n"), db=db)
    assert (r.inserted, r.updated, r.unchanged) == (1, 0, 1)


def test_a_version_4_file_gets_the_agent_name_column(db, write):
    con = duckdb.connect(str(db))
    store.migrate(con, target=4)
    for table in ("contacts", "contacts_history"):  # as version 4 of the code made it
        con.execute(f"ALTER TABLE {table} DROP COLUMN agent_name")
    con.close()
    csv = "contact_id,arrived_at,agent_id,agent_name\nc1,2026-11-16 10:00,A017,邱美玲\n"
    imports.import_file("contacts", write("c.csv", csv), db=db)
    with store.open_db(db, read_only=True) as con:
        assert store.schema_version(con) == store.SCHEMA_VERSION  # upgraded to the current version
        assert metrics.agent_names(con, date(2026, 11, 16), date(2026, 11, 22)) == {"A017": "邱美玲"}


def test_a_version_9_file_gets_the_agent_states_channel_column(db, write):
    con = duckdb.connect(str(db))
    store.migrate(con, target=9)
    for table in ("agent_states", "agent_states_history"):  # as version 9 of the code made it
        con.execute(f"ALTER TABLE {table} DROP COLUMN channel")
    con.close()
    csv = "agent_id,state,started_at,ended_at,channel\nA1,available,2026-11-16 09:00,2026-11-16 09:30,phone\n"
    imports.import_file("agent_states", write("s.csv", csv), db=db)
    with store.open_db(db, read_only=True) as con:
        assert store.schema_version(con) == store.SCHEMA_VERSION
        assert con.execute("SELECT agent_id, channel FROM agent_states").fetchall() == [("A1", "phone")]


def _stored_as(db: Path, table: str, column: str) -> set[str]:
    """How DuckDB stored a column's values in the file (its segments' compression), after a checkpoint."""
    con = duckdb.connect(str(db))
    try:
        con.execute("CHECKPOINT")
        return {c for (c,) in con.execute(f"SELECT DISTINCT compression FROM pragma_storage_info('{table}') "
                                          "WHERE column_name = ? AND segment_type = 'VARCHAR'", [column]).fetchall()}
    finally:
        con.close()


def test_text_keys_are_stored_uncompressed(db, write):
    # 2,000 ids of one pattern: DuckDB would store them as DICT_FSST, whose rows an undo reads back one at a time
    ids = "".join(f"C25090100{i:05d},2026-11-16 09:00\n" for i in range(2000))
    imports.import_file("contacts", write("c.csv", "contact_id,arrived_at\n" + ids), db=db)
    imports.import_file("budget", write("b.csv", "period,cost_center,line,budget\n2026-03,CS,telecom,50000\n"), db=db)
    assert _stored_as(db, "contacts", "contact_id") == {"Uncompressed"}
    assert _stored_as(db, "budget", "cost_center") == _stored_as(db, "budget", "line") == {"Uncompressed"}
    with store.open_db(db, read_only=True) as con:  # every dataset's text keys so declared; its history as DuckDB chooses
        made = dict(con.execute("SELECT table_name, sql FROM duckdb_tables()").fetchall())
    declared = {t for t, sql in made.items() if "USING COMPRESSION" in sql}
    assert declared == {"contacts", "surveys", "complaints", "budget", "agent_states", "schedule", "budget_drivers"}
    assert "agent_id VARCHAR USING COMPRESSION Uncompressed" in made["schedule"]
    assert "period DATE USING" not in made["budget"] and "line VARCHAR USING COMPRESSION Uncompressed" in made["budget"]


def test_a_file_from_newer_code_is_refused(db):
    with store.open_db(db) as con:
        con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(RuntimeError, match="newer than this code"):
        with store.open_db(db):
            pass


def _hold(db: Path, seconds: float, read_only: bool) -> subprocess.Popen:
    """Another process (a dashboard, a second import) that holds the file for a while."""
    code = textwrap.dedent(f"""
        import duckdb, sys, time
        con = duckdb.connect({str(db)!r}, read_only={read_only})
        print("held", flush=True)
        time.sleep({seconds})
        con.close()
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


@pytest.mark.parametrize("read_only", [True, False], ids=["reader-holds-it", "writer-holds-it"])
def test_ingest_waits_while_another_process_holds_the_file(db, write, read_only):
    imports.import_file("contacts", write("a.csv", "contact_id,arrived_at\na,2026-11-16\n"), db=db)
    holder = _hold(db, 1.0, read_only)  # a second process: DuckDB's file lock is between processes
    t0 = time.monotonic()
    r = imports.import_file("contacts", write("b.csv", "contact_id,arrived_at\nb,2026-11-16\n"), db=db, wait=20)
    holder.wait()
    assert r.inserted == 1 and time.monotonic() - t0 >= 0.5  # it had to wait for the holder to let go
    with store.open_db(db, read_only=True) as con:
        assert store.row_counts(con)["contacts"] == 2


def test_ingest_gives_up_with_a_clear_message_and_nothing_lost(db, write):
    imports.import_file("contacts", write("a.csv", "contact_id,arrived_at\na,2026-11-16\n"), db=db)
    holder = _hold(db, 4, read_only=False)
    try:
        with pytest.raises(store.DatabaseBusy, match=r"in use by process \d+ and stayed locked for 0.5 s; nothing was changed"):
            imports.import_file("contacts", write("b.csv", "contact_id,arrived_at\nb,2026-11-16\n"), db=db, wait=0.5)
    finally:
        holder.kill()
        holder.wait()
    with store.open_db(db, read_only=True) as con:
        assert store.row_counts(con)["contacts"] == 1


def test_data_version_moves_with_each_import(db, write):
    with store.open_db(db) as con:
        v0 = store.data_version(con)
    imports.import_file("contacts", write("a.csv", "contact_id,arrived_at\na,2026-11-16\n"), db=db)
    with store.open_db(db, read_only=True) as con:
        v1 = store.data_version(con)
    assert v0[0] == 0 and v1[0] == 1 and v1 != v0


def test_dataset_status_gives_rows_dates_and_the_last_import_in_effect():
    con = db_with(contacts=[{"contact_id": "a", "arrived_at": "2026-11-16 23:59:00", "channel": "phone", "answered": True},
                            {"contact_id": "b", "arrived_at": "2026-11-02 08:00:00", "channel": "phone", "answered": True},
                            {"contact_id": "c", "arrived_at": "2026-11-20 10:00:00", "channel": "chat", "answered": False}],
                  budget=[{"period": "2026-01-01", "cost_center": "X", "line": "電信費", "line_type": "cost", "budget": 1.0},
                          {"period": "2026-03-01", "cost_center": "X", "line": "電信費", "line_type": "cost", "budget": 2.0}])
    history = [(1, "contacts", "c1.csv", "2026-11-21 09:00:00", None), (2, "contacts", "c2.csv", "2026-11-22 09:00:00", None),
               (3, "contacts", "c3.csv", "2026-11-23 09:00:00", "2026-11-23 10:00:00"),  # undone: not in effect
               (4, "budget", "b.xlsx", "2026-02-01 12:30:00", None)]
    for i, ds, f, done, undone in history:
        con.execute("INSERT INTO imports (import_id, dataset, file_name, source, started_at, finished_at, rows_read, inserted,"
                    " updated, unchanged, rejected, undone_at) VALUES (?, ?, ?, 'cli', ?, ?, 1, 1, 0, 0, 0, ?)",
                    [i, ds, f, done, done, undone])
    got = {s.dataset: s for s in store.dataset_status(con)}
    # contacts: 3 rows from 2 Nov to 20 Nov (a timestamp counts as its day); import 3 was undone, so 2 is the last
    c = got["contacts"]
    assert (c.rows, c.first, c.last, c.period_kind) == (3, date(2026, 11, 2), date(2026, 11, 20), "timestamp")
    assert (c.last_import_at, c.last_import_file) == (datetime(2026, 11, 22, 9, 0), "c2.csv")
    # budget: two months, January to March, shown as months
    b = got["budget"]
    assert (b.rows, b.first, b.last, b.period_kind, b.last_import_file) == (2, date(2026, 1, 1), date(2026, 3, 1), "month", "b.xlsx")
    # nothing imported: no rows, no dates, no import
    s = got["surveys"]
    assert (s.rows, s.first, s.last, s.last_import_at, s.last_import_file) == (0, None, None, None, None)


def test_a_workbooks_companion_sheet_shows_the_workbooks_import(db):
    # The budget drivers come in with the budget workbook (one import, dataset budget): the data status page said
    # "24 筆 ... 尚未匯入" for them.
    imports.load_sample_data(db, datasets=["budget"])
    with store.open_db(db, read_only=True) as con:
        got = {s.dataset: s for s in store.dataset_status(con)}
    assert got["budget_drivers"].rows == 24
    assert got["budget_drivers"].last_import_file == got["budget"].last_import_file == "budget.xlsx"
    assert got["budget_drivers"].last_import_at == got["budget"].last_import_at is not None
def test_the_file_stamp_moves_with_a_write_and_not_with_a_read(db, write):
    with store.open_db(db):
        pass
    before = store.file_stamp(db)
    with store.open_db(db, read_only=True) as con:
        store.row_counts(con)
    assert store.file_stamp(db) == before  # a reader leaves the file as it was
    imports.import_file("contacts", write("a.csv", "contact_id,arrived_at\na,2026-11-16\n"), db=db)
    assert store.file_stamp(db) != before
    assert store.file_stamp(db.with_name("missing.duckdb")) == (None, None)


def test_read_only_connections_take_the_read_memory_limit_and_writable_ones_do_not(db, monkeypatch):
    monkeypatch.delenv("KPI_READ_MEMORY_LIMIT", raising=False)
    with store.open_db(db) as con:  # DuckDB's default, 80% of RAM: more than a gigabyte on any machine we run on
        writable = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    with store.open_db(db, read_only=True) as con:
        assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "953.6 MiB"  # 1GB = 10^9 bytes
        with store.open_db(db, read_only=True) as again:  # one configuration per file and process: a second open works
            assert again.execute("SELECT count(*) FROM contacts").fetchone()[0] == 0
    assert writable != "953.6 MiB" and writable.endswith("GiB")
    monkeypatch.setenv("KPI_READ_MEMORY_LIMIT", "64MB")
    with store.open_db(db, read_only=True) as con:
        assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "61.0 MiB"  # 64 * 10^6 / 2^20
    monkeypatch.setenv("KPI_WRITE_MEMORY_LIMIT", "4GB")  # a shared machine's imports: set apart from the readers'
    with store.open_db(db) as con:
        assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "3.7 GiB"  # 4 * 10^9 / 2^30


def test_an_import_is_not_bound_by_the_read_memory_limit(db, write, monkeypatch):
    # 16 MB is too little for this import's write transaction (it fails with an out-of-memory error when the writer
    # gets it); a dashboard reading with that limit in the same process must not pass it on to the import.
    monkeypatch.setenv("KPI_READ_MEMORY_LIMIT", "16MB")
    rows = "".join(f"c{i:07d}{'x' * 40},2026-11-{16 + i % 7} {i % 24:02d}:00:00,phone,T{i % 5},A{i % 50},Y,{i % 90}\n"
                   for i in range(200_000))
    csv = write("big.csv", "contact_id,arrived_at,channel,team,agent_id,answered,wait_seconds\n" + rows)
    with store.open_db(db) as con:
        pass
    with store.open_db(db, read_only=True) as con:
        assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "15.2 MiB"
    assert imports.import_file("contacts", csv, db=db).inserted == 200_000
    with store.open_db(db, read_only=True) as con:
        assert con.execute("SELECT count(*), count(DISTINCT team) FROM contacts").fetchone() == (200_000, 5)
