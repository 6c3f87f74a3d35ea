"""The database file: where it lives, upgrades that keep data, and sharing it with a running dashboard."""
from __future__ import annotations

import re
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
        assert store.schema_version(con) == store.SCHEMA_VERSION == 12


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


def test_a_new_file_keeps_keys_unique_without_an_index(db, write):
    # The import keeps each key once (kpi.store _table_ddl): no PRIMARY KEY index to slow its inserts and undos
    with store.open_db(db) as con:
        made = dict(con.execute("SELECT table_name, sql FROM duckdb_tables()").fetchall())
        keyed = {t for t, in con.execute("SELECT DISTINCT table_name FROM duckdb_constraints() WHERE constraint_type IN "
                                         "('PRIMARY KEY', 'UNIQUE')").fetchall()}
    datasets = {"contacts", "surveys", "complaints", "budget", "agent_states", "schedule", "budget_drivers"}
    assert "meta" in keyed  # (the query sees a key where there is one)
    assert datasets <= set(made) and not (datasets | {f"{d}_history" for d in datasets}) & keyed
    assert "contact_id VARCHAR NOT NULL" in made["contacts"] and "agent_id VARCHAR NOT NULL" in made["agent_states"]
    a = "contact_id,arrived_at,channel\nc1,2026-11-16 09:00,phone\nc2,2026-11-16 09:05,phone\n"
    b = "contact_id,arrived_at,channel\nc2,2026-11-16 09:05,chat\nc3,2026-11-16 09:10,phone\nc2,2026-11-16 09:06,email\n"
    first = imports.import_file("contacts", write("a.csv", a), db=db)
    second = imports.import_file("contacts", write("b.csv", b), db=db)  # c2 updated once, its repeat rejected
    assert (first.inserted, second.inserted, second.updated, second.rejected) == (2, 1, 1, 1)
    with store.open_db(db, read_only=True) as con:
        assert con.execute("SELECT contact_id, channel FROM contacts ORDER BY 1").fetchall() == [
            ("c1", "phone"), ("c2", "chat"), ("c3", "phone")]
    with store.open_db(db) as con:
        imports.undo_import(con, second.import_id)
        assert con.execute("SELECT contact_id, channel FROM contacts ORDER BY 1").fetchall() == [
            ("c1", "phone"), ("c2", "phone")]


def _with_old_keys(db: Path) -> None:
    """Give every dataset's table the PRIMARY KEY a file made before 2026-12-03 had (text keys stored uncompressed, as
    the last version before did), and record the file as schema version 11."""
    con = duckdb.connect(str(db))
    try:
        for name, ds in store.DATASETS.items():
            sql = con.execute("SELECT sql FROM duckdb_tables() WHERE table_name = ?", [name]).fetchone()[0]
            keyed = sql.rstrip().rstrip(";")[:-1] + f", PRIMARY KEY ({', '.join(ds.key)}))"
            for k in ds.key:
                keyed = re.sub(rf"\b({k} VARCHAR)( NOT NULL)?", r"\1 USING COMPRESSION uncompressed", keyed)
            con.execute(f"ALTER TABLE {name} RENAME TO {name}_old")
            con.execute(keyed)
            con.execute(f"INSERT INTO {name} SELECT * FROM {name}_old")
            con.execute(f"DROP TABLE {name}_old")
        con.execute("UPDATE meta SET value = '11' WHERE key = 'schema_version'")
    finally:
        con.close()


def test_an_older_file_loses_its_key_indexes_and_keeps_its_rows(db, write):
    a = "contact_id,arrived_at,channel\n" + "".join(f"c{i},2026-11-16 09:{i:02d},phone\n" for i in range(30))
    imports.import_file("contacts", write("a.csv", a), db=db)
    imports.import_file("surveys", write("s.csv", "survey_id,contact_id,responded_at,csat\n"
                                                  "s1,c3,2026-11-16 10:00,5\ns2,c7,2026-11-16 10:05,2\n"), db=db)
    imports.import_file("agent_states", write("g.csv", "agent_id,state,started_at,ended_at\n"
                                                       "A1,available,2026-11-16 09:00,2026-11-16 10:00\n"), db=db)
    with store.open_db(db, read_only=True) as con:
        before = {t: con.execute(f"SELECT * FROM {t}").fetchall() for t in store.DATASETS}
    _with_old_keys(db)
    con = duckdb.connect(str(db))
    assert {t for t, in con.execute("SELECT table_name FROM duckdb_constraints() WHERE constraint_type = "
                                    "'PRIMARY KEY'").fetchall()} >= set(store.DATASETS)  # the old file, as it was
    con.close()
    with store.open_db(db) as con:  # the upgrade
        assert store.schema_version(con) == store.SCHEMA_VERSION
        assert not con.execute("SELECT count(*) FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY' "
                               "AND table_name IN (SELECT unnest(?))", [list(store.DATASETS)]).fetchone()[0]
        assert {t: con.execute(f"SELECT * FROM {t}").fetchall() for t in store.DATASETS} == before  # rows, order
        made = dict(con.execute("SELECT table_name, sql FROM duckdb_tables()").fetchall())
        assert "contact_id VARCHAR NOT NULL" in made["contacts"] and "USING COMPRESSION" not in made["contacts"]
        assert "agent_id VARCHAR NOT NULL" in made["agent_states"] and "started_at TIMESTAMP NOT NULL" in made["agent_states"]
        assert "contact_team VARCHAR" in made["surveys"]  # the columns a later step added, kept
    r = imports.import_file("contacts", write("b.csv", "contact_id,arrived_at,channel\nc3,2026-11-16 09:03,chat\n"), db=db)
    assert (r.inserted, r.updated) == (0, 1)
    with store.open_db(db) as con:
        imports.undo_import(con, r.import_id)
        assert con.execute("SELECT count(*), count(DISTINCT contact_id) FROM contacts").fetchone() == (30, 30)
        assert con.execute("SELECT channel FROM contacts WHERE contact_id = 'c3'").fetchone() == ("phone",)


# A dataset with a rollup (contacts) and one without (agent_states: there nothing else conflicts, and without the lock
# both imports committed, 80 rows for 60 keys)
_AT_ONCE = {
    "contacts": ("contact_id,arrived_at\n", lambda i: f"c{i},2026-11-16 09:{i:02d}\n", "contact_id"),
    "agent_states": ("agent_id,state,started_at,ended_at\n",
                     lambda i: f"A{i},available,2026-11-16 09:00,2026-11-16 10:00\n", "agent_id"),
}


@pytest.mark.parametrize("dataset", list(_AT_ONCE))
def test_two_imports_at_once_store_each_key_once(db, write, monkeypatch, dataset):
    # Two people import overlapping files at the same moment from one dashboard process: the second waits for the
    # first's COMMIT (kpi.store write_transaction), then finds its rows stored. Each import, once it has compared its rows with
    # the stored ones, waits up to a second for the other to have compared too: without the lock both would, and both
    # would insert keys 20-39.
    import threading
    from kpi.imports import _write
    compared = threading.Barrier(2, timeout=1)

    def compare_then_wait(*args, **kwargs):
        out = compare(*args, **kwargs)
        try:
            compared.wait()
        except threading.BrokenBarrierError:  # the other import waits for the lock: this one goes on alone
            pass
        return out

    compare = _write.stage_and_compare
    monkeypatch.setattr(_write, "stage_and_compare", compare_then_wait)
    header, row, key = _AT_ONCE[dataset]
    imports.import_file(dataset, write("0.csv", header + row(0)), db=db)
    files = [write(f"{n}.csv", header + "".join(row(i) for i in ids)) for n, ids in (("x", range(1, 40)),
                                                                                    ("y", range(20, 60)))]
    results, errors = [], []

    def run(path):
        try:
            with store.open_db(db) as con:  # one process: both connections share DuckDB's one database instance
                results.append(imports.write(con, imports.prepare(dataset, path)))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    with store.open_db(db) as holder:  # kept open so that both threads' opens share the instance, as a dashboard's do
        threads = [threading.Thread(target=run, args=(p,)) for p in files]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert not errors
        assert sorted((r.inserted, r.unchanged) for r in results) in ([(20, 20), (39, 0)], [(19, 20), (40, 0)])
        assert holder.execute(f"SELECT count(*), count(DISTINCT {key}) FROM {dataset}").fetchone() == (60, 60)


def test_a_key_stored_twice_by_sql_stops_the_import_that_matches_it(db, write):
    # No index refuses a second row of a key written by SQL; an import matching that key stops before writing, where it
    # would have updated both rows and made its undo restore one version into both
    imports.import_file("contacts", write("a.csv", "contact_id,arrived_at,channel\nc1,2026-11-16 09:00,phone\n"
                                                   "c2,2026-11-16 09:05,phone\n"), db=db)
    with store.open_db(db) as con:
        con.execute("INSERT INTO contacts (contact_id, arrived_at, channel, answered, import_id, created_import_id) "
                    "VALUES ('c1', '2026-11-16 09:30', 'chat', false, 1, 1)")
    held = "contacts holds 1 of the imported file's keys in more than one row"
    with pytest.raises(store.StoreError, match=held) as refused:
        imports.import_file("contacts", write("b.csv", "contact_id,arrived_at,channel\nc1,2026-11-16 09:00,email\n"),
                            db=db)
    assert (refused.value.code, refused.value.path) == ("repeated_keys", str(db))  # the page says it in zh-TW
    with store.open_db(db, read_only=True) as con:
        assert con.execute("SELECT contact_id, channel FROM contacts ORDER BY 1, 2").fetchall() == [
            ("c1", "chat"), ("c1", "phone"), ("c2", "phone")]
        assert con.execute("SELECT count(*) FROM imports").fetchone()[0] == 1


def test_two_threads_opening_an_old_file_at_once_both_get_it_upgraded(db, write):
    import threading
    imports.import_file("contacts", write("a.csv", "contact_id,arrived_at\nc1,2026-11-16 09:00\n"), db=db)
    _with_old_keys(db)
    versions, errors, go = [], [], threading.Barrier(2)

    def open_it():
        try:
            go.wait()
            with store.open_db(db) as con:
                versions.append(store.schema_version(con))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors and versions == [store.SCHEMA_VERSION] * 2


def test_a_repeated_key_that_got_past_prepare_writes_nothing(db, write, monkeypatch):
    # The check in place of the index: should prepare ever keep a key twice, the import stops before writing
    from kpi.imports import _prepare
    monkeypatch.setattr(_prepare, "_drop_duplicate_keys",
                        lambda values, key: (values, _prepare.pd.DataFrame(columns=_prepare._LOCATED_COLUMNS)))
    path = write("r.csv", "contact_id,arrived_at\nc1,2026-11-16 09:00\nc1,2026-11-16 09:05\nc2,2026-11-16 09:06\n")
    with pytest.raises(RuntimeError, match="1 contacts rows repeat a key"):
        with store.open_db(db) as con:
            imports.write(con, imports.prepare("contacts", path))
    with store.open_db(db, read_only=True) as con:
        assert store.row_counts(con)["contacts"] == 0
        assert con.execute("SELECT count(*) FROM imports").fetchone()[0] == 0


def test_connections_draw_no_progress_bar(db):
    # DuckDB drew its progress bar into the CLI's output for a statement over 2 s (kpi backup of 10M contacts). Asked
    # in a process of its own: under pytest's capture DuckDB leaves the bar off by itself.
    with store.open_db(db):
        pass
    code = textwrap.dedent(f"""
        from kpi import store
        setting = "SELECT current_setting('enable_progress_bar')"
        for read_only in (False, True):
            with store.open_db({str(db)!r}, read_only=read_only) as con:
                print(con.execute(setting).fetchone()[0], con.cursor().execute(setting).fetchone()[0])
        import duckdb
        print(duckdb.connect().execute(setting).fetchone()[0])  # DuckDB's own default there
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.split() == ["False", "False", "False", "False", "True"]


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
