"""`python -m kpi`: exit codes and what it prints."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent


def kpi(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kpi", *args], cwd=ROOT, capture_output=True, text=True)


def test_ingest_prints_counts_and_rejects_and_exits_0(db, write):
    f = write("c.csv", "contact_id,arrived_at,wait_seconds\na,2026-11-16 09:00,5\nb,2026-11-16 09:00,-3\n")
    done = kpi("ingest", "contacts", str(f), "--db", str(db))
    assert done.returncode == 0
    assert "c.csv -> contacts: read 2, inserted 1, updated 0, unchanged 0, rejected 1 (import #1)" in done.stdout
    assert "rejected row 3, wait_seconds: negative duration '-3'" in done.stdout


def test_db_flag_works_before_the_command_too(db, write):
    f = write("c.csv", "contact_id,arrived_at\na,2026-11-16 09:00\n")
    assert kpi("--db", str(db), "ingest", "contacts", str(f)).returncode == 0
    done = kpi("--db", str(db), "status")
    assert done.returncode == 0 and "contacts" in done.stdout and "1" in done.stdout


def test_a_fatal_problem_is_one_line_on_stderr_with_a_nonzero_exit(db, write):
    kpi("init", "--db", str(db))
    f = write("c.csv", "foo,bar\n1,2\n")
    done = kpi("ingest", "contacts", str(f), "--db", str(db))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: c.csv: required column 'contact_id' is missing")
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM imports").fetchone() == (0,)
    con.close()


def test_rejects_command_prints_csv(db, write):
    f = write("c.csv", "contact_id,arrived_at\na,never\n")
    kpi("ingest", "contacts", str(f), "--db", str(db))
    done = kpi("rejects", "1", "--db", str(db))
    assert done.returncode == 0
    assert done.stdout.splitlines()[0] == "file_name,row_number,column_name,value,reason,raw"
    assert done.stdout.splitlines()[1].startswith("c.csv,2,arrived_at,never,\"could not read 'never'")
