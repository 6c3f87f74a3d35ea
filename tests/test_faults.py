"""A sick database file fails politely: one line naming the file and what to do, exit 2, the file unchanged; the
dashboard reads a read-only file; `kpi check` finds planted damage; `kpi backup` and the documented restore round-trip.

The read-only and full-disk cases use a real small tmpfs (mount needs root, as .ci/run has); elsewhere they skip
with the reason shown.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from kpi import imports, metrics, store
from kpi.imports import _fast

ROOT = Path(__file__).resolve().parent.parent
BLOCK, HEADER = 262_144, 3 * 4096  # DuckDB's storage: three 4 KiB headers, then 256 KiB blocks

CSV = "contact_id,arrived_at,channel,answered,wait_seconds\n" + "".join(
    f"c{i},2026-11-16 09:{i % 60:02d}:00,phone,Y,{i % 50}\n" for i in range(200))


def kpi(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kpi", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})}, timeout=300)


def one_line_error(r: subprocess.CompletedProcess, path: Path, *words: str) -> None:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and "Exception" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(path) in lines[0], r.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def small_db(tmp_path, write) -> Path:
    db = tmp_path / "small.duckdb"
    imports.import_file("contacts", write("c.csv", CSV), db=db)
    return db


def bad_files(tmp_path: Path, small_db: Path) -> dict[str, Path]:
    zero = tmp_path / "zero.duckdb"
    zero.write_bytes(b"\0" * 300_000)
    truncated = tmp_path / "truncated.duckdb"
    truncated.write_bytes(small_db.read_bytes()[: small_db.stat().st_size // 3])
    lite = tmp_path / "lite.duckdb"
    with sqlite3.connect(lite) as s:
        s.execute("CREATE TABLE contacts (contact_id TEXT)")
    foreign = tmp_path / "foreign.duckdb"
    duckdb.connect(str(foreign)).execute("CREATE TABLE x AS SELECT 1 AS a").close()
    return {"damaged": zero, "truncated": truncated, "sqlite": lite, "foreign": foreign}


@pytest.mark.parametrize("command", [["status"], ["imports"], ["kpis", "--from", "2026-11-16", "--to", "2026-11-22"],
                                     ["ingest", "contacts", "FILE"], ["check"]])
def test_a_damaged_truncated_sqlite_or_foreign_file_is_one_line_and_unchanged(tmp_path, small_db, write, command):
    csv = write("more.csv", CSV)
    for kind, path in bad_files(tmp_path, small_db).items():
        before = digest(path)
        r = kpi(*[str(csv) if a == "FILE" else a for a in command], "--db", str(path))
        expected = "not this dashboard's database" if kind == "foreign" else "not a usable DuckDB database"
        if command == ["check"] and kind == "foreign":  # check reads any DuckDB file: it is sound, just not ours
            assert r.returncode == 0 and "x" in r.stdout and "1 rows ok" in r.stdout
        else:  # a writer never adds our schema to someone else's DuckDB file either
            one_line_error(r, path, expected)
        assert "extension" not in r.stderr.lower()  # DuckDB never tried to load the sqlite scanner
        assert digest(path) == before, kind


def test_check_finds_damage_planted_in_a_copy_of_the_sample(sample_db, tmp_path):
    copy = tmp_path / "sample.duckdb"
    shutil.copy(sample_db, copy)
    assert kpi("check", "--db", str(copy)).returncode == 0
    with store.open_db(copy, read_only=True) as con:  # a block the contacts table keeps its rows in
        used = sorted({b for (b,) in con.execute("SELECT block_id FROM pragma_storage_info('contacts') "
                                                  "WHERE block_id >= 0").fetchall()})
    with open(copy, "r+b") as f:  # 64 bytes of garbage in the middle of it, as a failing disk might leave
        f.seek(HEADER + used[len(used) // 2] * BLOCK + BLOCK // 2)
        f.write(b"\xa5" * 64)
    assert kpi("status", "--db", str(copy)).returncode == 0  # unnoticed by anything that does not read that block
    r = kpi("check", "--db", str(copy))
    assert r.returncode == 2 and "checksum" in r.stdout
    assert [line.split()[0] for line in r.stdout.splitlines() if "DAMAGED" in line] == ["contacts"]
    assert r.stderr.startswith(f"error: {copy}: damaged") and "Traceback" not in r.stderr
    # the tables it could read are listed as ok, so the damage is located
    assert r.stdout.count("rows ok") >= 5


def test_backup_and_the_documented_restore_round_trip(sample_db, tmp_path):
    live = tmp_path / "live.duckdb"
    shutil.copy(sample_db, live)
    r = kpi("backup", str(tmp_path / "backups"), "--db", str(live))
    assert r.returncode == 0, r.stderr
    copy = next((tmp_path / "backups").glob("kpi-*.duckdb"))
    assert str(copy) in r.stdout and not list((tmp_path / "backups").glob("*.partial"))
    # docs/operations.md: check the copy, then copy it over the database file
    assert kpi("check", "--db", str(copy)).returncode == 0
    live.write_bytes(b"\0" * 1000)  # the live file is lost
    shutil.copy(copy, live)
    with store.open_db(sample_db, read_only=True) as a, store.open_db(live, read_only=True) as b:
        assert store.row_counts(a) == store.row_counts(b)
        week = (date(2026, 11, 16), date(2026, 11, 22))
        ka, kb = metrics.compute_kpis(a, *week, "team"), metrics.compute_kpis(b, *week, "team")
        assert ka.equals(kb)
        last = a.execute("SELECT max(import_id) FROM imports").fetchone()[0]
    # the import id sequence carries on after the restore: the next import does not reuse an id
    r2 = imports.import_file("contacts", _csv(tmp_path), db=live)
    assert r2.import_id == last + 1


def _csv(tmp_path: Path) -> Path:
    p = tmp_path / "later.csv"
    p.write_text("contact_id,arrived_at\nlate1,2026-11-20 10:00\n")
    return p


def test_a_rollback_error_never_hides_the_error_that_ended_the_transaction():
    con = duckdb.connect()  # after an I/O error DuckDB has no transaction left: a plain ROLLBACK raises
    with pytest.raises(duckdb.TransactionException, match="no transaction is active"):
        con.execute("ROLLBACK")
    store.rollback(con)  # store.rollback does not, so the caller's own error is the one reported


# ---- real read-only and full file systems (tmpfs; needs root)
@contextmanager
def tmpfs(path: Path, size: str):
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.decode().strip() or 'not root'}): the read-only and "
                    "full-disk cases need it")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def test_a_read_only_disk_is_read_by_the_dashboard_and_the_read_commands(sample_db, tmp_path, monkeypatch):
    with tmpfs(tmp_path / "ro", "200m") as d:
        db = d / "kpi.duckdb"
        shutil.copy(sample_db, db)
        subprocess.run(["mount", "-o", "remount,ro", str(d)], check=True)
        assert kpi("status", "--db", str(db)).returncode == 0
        r = kpi("kpis", "--from", "2026-11-16", "--to", "2026-11-22", "--json", "--db", str(db))
        assert r.returncode == 0 and '"offered"' in r.stdout
        r = kpi("ingest", "contacts", str(_csv(tmp_path)), "--db", str(db))
        one_line_error(r, db, "can't be written")
        # every page of the dashboard on the read-only file
        monkeypatch.setenv("KPI_DB", str(db))
        from ui import data
        data._prepared.clear()
        for page in ("pages/weekly.py", "pages/quality.py", "pages/budget.py", "pages/trainer.py",
                     "pages/import_data.py", "pages/data_status.py", "pages/glossary.py"):
            at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
            at.switch_page(page)
            at.run()
            assert not at.exception, (page, [e.message for e in at.exception])
            assert not at.error, (page, [e.value for e in at.error])
        data._prepared.clear()


def test_a_first_start_stopped_part_way_on_a_disk_now_read_only_is_shown_as_it_is(tmp_path, write, monkeypatch):
    """The rest of the sample can't be loaded into a file that can't be written: the pages show what is there."""
    import streamlit as st

    from ui import data
    with tmpfs(tmp_path / "ro", "50m") as d:
        db = d / "kpi.duckdb"
        imports.import_file("contacts", _csv(tmp_path), db=db, source="sample")
        subprocess.run(["mount", "-o", "remount,ro", str(d)], check=True)
        st.cache_resource.clear()
        with store.open_db(db, read_only=True) as con:
            assert imports.sample_pending(con)[:2] == ["surveys", "complaints"]  # the first start stopped here
        assert data.ensure_database(str(db)) == str(db)  # no StoreError: nothing can be added, nothing is lost
        assert str(db) in data._prepared()[1]
        st.cache_resource.clear()


def test_a_full_disk_says_so_and_leaves_the_database_as_it_was(tmp_path, write):
    big = write("big.csv", "contact_id,arrived_at,channel,queue,team,agent_id,answered,wait_seconds,talk_seconds\n" +
                "".join(f"x{i:07d},2026-11-{16 + i % 7} {i % 24:02d}:{i % 60:02d}:00,phone,q{i % 9},team{i % 5},"
                        f"A{i % 300:03d},Y,{i % 97},{i % 613}\n" for i in range(300_000)))
    with tmpfs(tmp_path / "full", "4m") as d:
        db = d / "kpi.duckdb"
        imports.import_file("contacts", write("c.csv", CSV), db=db)
        before = kpi("check", "--db", str(db))
        counts = {k: v for k, v in store.row_counts(duckdb.connect(str(db), read_only=True)).items()}
        r = kpi("ingest", "contacts", str(big), "--db", str(db))
        one_line_error(r, db, "the disk is full")
        assert "rollback" not in r.stderr.lower()  # the real cause, not the rollback that failed after it
        with store.open_db(db, read_only=True) as con:
            assert store.row_counts(con) == counts  # nothing half-imported
        assert kpi("check", "--db", str(db)).stdout == before.stdout


def test_keys_written_twice_by_sql_are_counted_by_check_and_stop_the_import_in_one_line(small_db, write, tmp_path):
    # No index refuses a key's second row (kpi.store _table_ddl): SQL can write one. `kpi check` counts them (exit 1:
    # the file reads back, a backup still copies it), and an import of a file holding one says so in one line.
    with store.open_db(small_db) as con:
        con.execute("INSERT INTO contacts (contact_id, arrived_at, channel, answered, import_id, created_import_id) "
                    "SELECT contact_id, arrived_at, 'chat', answered, import_id, created_import_id FROM contacts "
                    "WHERE contact_id IN ('c1', 'c2', 'c3')")
        con.execute("INSERT INTO contacts (contact_id, arrived_at, channel, answered, import_id, created_import_id) "
                    "VALUES ('c1', '2026-11-16 10:00', 'email', false, 1, 1)")
    assert kpi("check", "--db", str(small_db)).returncode == 1
    result = store.check_database(small_db)
    assert result.ok and result.repeated == {"contacts": 3} and result.tables["contacts"] == 204
    r = kpi("check", "--db", str(small_db))
    assert "Traceback" not in r.stderr
    assert "contacts                    3 keys are held by more than one row" in r.stdout
    assert r.stderr.strip() == (f"error: {small_db}: every table reads back, but contacts holds keys in more than one "
                                "row (counted above; written by means other than an import); an import of a file "
                                "holding one of those keys stops. Find and remove the extra rows (docs/operations.md)")
    again = write("again.csv", "contact_id,arrived_at,channel\nc1,2026-11-16 09:00,email\nc2,2026-11-16 09:00,email\n"
                               "new1,2026-11-16 09:00,email\n")  # c1 in three rows, c2 in two: two keys
    r = kpi("ingest", "contacts", str(again), "--db", str(small_db))
    one_line_error(r, small_db, "contacts holds 2 of the imported file's keys in more than one row",
                   "nothing was written")
    r = kpi("backup", str(tmp_path / "backups"), "--db", str(small_db))
    assert r.returncode == 0, r.stderr
    with store.open_db(small_db) as con:  # the fix docs/operations.md gives: each key's first row kept
        con.execute("DELETE FROM contacts WHERE rowid NOT IN (SELECT min(rowid) FROM contacts GROUP BY contact_id)")
    assert store.check_database(small_db).repeated == {}
    assert kpi("check", "--db", str(small_db)).returncode == 0
    odd = tmp_path / "odd.duckdb"  # ours by its schema version, but a contacts table with no contact_id to count
    with duckdb.connect(str(odd)) as con:
        con.execute("CREATE TABLE meta (key VARCHAR, value VARCHAR)")
        con.execute(f"INSERT INTO meta VALUES ('schema_version', '{store.SCHEMA_VERSION}')")
        con.execute("CREATE TABLE contacts (x INTEGER)")
    r = kpi("check", "--db", str(odd))
    assert r.returncode == 0 and "contacts                    keys not counted: Binder Error" in r.stdout
    assert r.stdout.strip().endswith("2 tables read through; keys not counted in contacts: see above)"), r.stdout


def test_kill_9_during_a_large_import_leaves_it_absent_or_complete(tmp_path, write):
    db = tmp_path / "kpi.duckdb"
    imports.import_file("contacts", write("c.csv", CSV), db=db)
    with store.open_db(db, read_only=True) as con:
        before = store.row_counts(con)["contacts"]
    n = 400_000
    big = write("big.csv", "contact_id,arrived_at,channel,answered,wait_seconds,talk_seconds\n" +
                "".join(f"k{i:07d},2026-11-{16 + i % 7} {i % 24:02d}:{i % 60:02d}:00,phone,Y,{i % 97},{i % 613}\n"
                        for i in range(n)))
    temp = tmp_path / "temp"  # the killed imports' work directories (their stage) land here, not in /tmp
    temp.mkdir()
    for delay in (1.0, 2.5, 4.0):  # early (reading), middle (preparing), late (writing or committing)
        proc = subprocess.Popen([sys.executable, "-m", "kpi", "ingest", "contacts", str(big), "--db", str(db)],
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env={**os.environ, "TMPDIR": str(temp)})
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.kill()  # SIGKILL: no cleanup runs
            proc.wait()
        with store.open_db(db, read_only=True) as con:
            rows = store.row_counts(con)["contacts"]
            imported = con.execute("SELECT count(*) FROM imports WHERE file_name = 'big.csv' AND undone_at IS NULL"
                                   ).fetchone()[0]
        # all or nothing: either the file's rows are all there with its import, or none and no import
        assert (rows, imported) in ((before, 0), (before + n, 1)), (delay, rows, imported)
        assert kpi("check", "--db", str(db)).returncode == 0
        if imported:
            break
    _fast.sweep_work_dirs(temp)  # what the next import does first: a killed import's stage goes with its process
    assert not [d for d in temp.iterdir() if d.name.startswith(_fast.WORK_PREFIX)]
