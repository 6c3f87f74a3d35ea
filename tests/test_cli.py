"""`python -m kpi`: exit codes and what it prints."""
from __future__ import annotations

import json
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


def test_kpis_json_total_and_by_week(db, write):
    f = write("c.csv", "contact_id,arrived_at,answered,wait_seconds\n"
              "a,2026-11-16 09:00,Y,10\nb,2026-11-17 09:00,Y,30\nc,2026-11-18 09:00,N,2\nd,2026-11-23 09:00,Y,5\n")
    kpi("ingest", "contacts", str(f), "--db", str(db))
    done = kpi("kpis", "--from", "2026-11-16", "--to", "2026-11-22", "--json", "--db", str(db))
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert set(doc) == {"from", "to", "kpis", "n", "interval", "maturing"} and (doc["from"], doc["to"]) == ("2026-11-16", "2026-11-22")
    assert doc["n"]["service_level"] == 2 and doc["interval"]["service_level"] == [0.0945, 0.9055]  # Wilson 1/2
    # a (10 s) within 20 s, b not; c is a short abandon, out of the denominator: 1 / (3 - 1).
    assert doc["kpis"]["offered"] == 3 and doc["kpis"]["service_level"] == 0.5 and doc["kpis"]["csat"] is None
    done = kpi("kpis", "--from", "2026-11-16", "--to", "2026-11-29", "--by", "week", "--json", "--db", str(db))
    doc = json.loads(done.stdout)
    assert doc["by"] == "week" and [r["key"] for r in doc["rows"]] == ["2026-W47", "2026-W48"]
    assert doc["rows"][1]["kpis"]["offered"] == 1 and doc["rows"][1]["kpis"]["service_level"] == 1.0


def test_kpis_readable_table(db, write):
    kpi("ingest", "contacts", str(write("c.csv", "contact_id,arrived_at,wait_seconds,answered\na,2026-11-16 09:00,10,Y\n")), "--db", str(db))
    done = kpi("kpis", "--from", "2026-11-16", "--to", "2026-11-22", "--lang", "en", "--db", str(db))
    assert done.returncode == 0
    line = next(x for x in done.stdout.splitlines() if "Service level" in x)
    assert "100.0%" in line and "target 80.0%" in line and line.rstrip().endswith("good")


def test_rejects_csv_neutralises_formula_looking_values(db, write):
    f = write("c.csv", "contact_id,arrived_at\nx,=cmd|' /C calc'!A0\n")
    kpi("ingest", "contacts", str(f), "--db", str(db))
    line = kpi("rejects", "1", "--db", str(db)).stdout.splitlines()[1]
    assert ",'=cmd|" in line and ",=cmd" not in line
