"""`python -m kpi`: exit codes and what it prints.

The commands run in this process (kpi.cli.main, output captured): a fresh interpreter costs a second or two per
call. Two smoke tests at the end start real processes, `python -m kpi` and the installed `kpi` script.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import duckdb
import pytest

from kpi import cli, imports, store

ROOT = Path(__file__).resolve().parent.parent


class Done(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def kpi(capsys):
    """kpi("ingest", ...) runs the command line in this process and returns its exit code and output."""
    capsys.readouterr()  # only this command's output

    def run(*args: str) -> Done:
        code = cli.main(list(args))
        out, err = capsys.readouterr()
        return Done(code, out, err)
    return run


def test_ingest_prints_counts_and_rejects_and_exits_0(kpi, db, write):
    f = write("c.csv", "contact_id,arrived_at,wait_seconds\na,2026-11-16 09:00,5\nb,2026-11-16 09:00,-3\n")
    done = kpi("ingest", "contacts", str(f), "--db", str(db))
    assert done.returncode == 0
    assert "c.csv -> contacts: read 2, inserted 1, updated 0, unchanged 0, rejected 1 (import #1)" in done.stdout
    assert "rejected row 3, wait_seconds: negative duration '-3'" in done.stdout


def test_db_flag_works_before_the_command_too(kpi, db, write):
    f = write("c.csv", "contact_id,arrived_at\na,2026-11-16 09:00\n")
    assert kpi("--db", str(db), "ingest", "contacts", str(f)).returncode == 0
    done = kpi("--db", str(db), "status")
    assert done.returncode == 0
    counts = [line for line in done.stdout.splitlines() if line.startswith("  ")]
    assert "  contacts                 1" in counts and "  budget_drivers           0" in counts
    assert len({len(line) for line in counts}) == 1  # every count in one column, the longest name included
    assert re.fullmatch(r"last import: #1 c\.csv at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d", done.stdout.splitlines()[-1])


def test_a_fatal_problem_is_one_line_on_stderr_with_a_nonzero_exit(kpi, db, write):
    kpi("init", "--db", str(db))
    f = write("c.csv", "foo,bar\n1,2\n")
    done = kpi("ingest", "contacts", str(f), "--db", str(db))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: c.csv: required column 'contact_id' is missing")
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM imports").fetchone() == (0,)
    con.close()


def test_rejects_command_prints_csv(kpi, db, write):
    f = write("c.csv", "contact_id,arrived_at\na,never\n")
    kpi("ingest", "contacts", str(f), "--db", str(db))
    done = kpi("rejects", "1", "--db", str(db))
    assert done.returncode == 0
    assert done.stdout.splitlines()[0] == "file_name,row_number,column_name,value,reason,raw"
    assert done.stdout.splitlines()[1].startswith("c.csv,2,arrived_at,never,\"could not read 'never'")


def test_kpis_json_total_and_by_week(kpi, db, write):
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


def test_kpis_readable_table(kpi, db, write):
    kpi("ingest", "contacts", str(write("c.csv", "contact_id,arrived_at,wait_seconds,answered\na,2026-11-16 09:00,10,Y\n")), "--db", str(db))
    done = kpi("kpis", "--from", "2026-11-16", "--to", "2026-11-22", "--lang", "en", "--db", str(db))
    assert done.returncode == 0
    line = next(x for x in done.stdout.splitlines() if "Service level" in x)
    assert "100.0%" in line and "target 80.0%" in line and line.rstrip().endswith("good")


def test_rejects_csv_neutralises_formula_looking_values(kpi, db, write):
    f = write("c.csv", "contact_id,arrived_at\nx,=cmd|' /C calc'!A0\n")
    kpi("ingest", "contacts", str(f), "--db", str(db))
    line = kpi("rejects", "1", "--db", str(db)).stdout.splitlines()[1]
    assert ",'=cmd|" in line and ",=cmd" not in line


def test_python_dash_m_kpi_exits_with_the_commands_code_and_one_error_line(db, write):
    """A real `python -m kpi` process: the exit code reaches the shell and the error goes to stderr."""
    f = write("c.csv", "foo,bar\n1,2\n")
    done = subprocess.run([sys.executable, "-m", "kpi", "ingest", "contacts", str(f), "--db", str(db)],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: c.csv: required column 'contact_id' is missing")


def test_a_reader_that_stops_reading_gets_no_error_line(tmp_path):
    # `kpi imports | head -5`: the reader is gone before the output is written (here: before the interpreter has even
    # started); it said "error: : Broken pipe; nothing more was written" (and Python may add "Exception ignored").
    proc = subprocess.Popen([sys.executable, "-m", "kpi", "docs", "kpis"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()
    assert proc.wait(timeout=120) == 1 and proc.stderr.read() == b""


def test_status_and_imports_say_an_undone_import_to_the_second(kpi, db, write):
    f = write("c.csv", "contact_id,arrived_at\na,2026-11-16 09:00\n")
    kpi("ingest", "contacts", str(f), "--db", str(db))
    with store.open_db(db) as con:
        imports.undo_import(con, 1)
    last = kpi("status", "--db", str(db)).stdout.splitlines()[-1]
    assert re.fullmatch(r"last import: #1 c\.csv at [\d-]{10} [\d:]{8} \(undone at [\d-]{10} [\d:]{8}\)", last), last
    listed = kpi("imports", "--db", str(db)).stdout
    assert "NaT" not in listed and "." not in listed.splitlines()[1].split("c.csv")[0]  # no microseconds
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s*$", listed.splitlines()[1])  # undone_at, to the second


def test_undo_says_what_it_undoes_and_asks_first(kpi, db, write, monkeypatch):
    kpi("ingest", "contacts", str(write("c.csv", "contact_id,arrived_at\na,2026-11-16 09:00\nb,2026-11-16 10:00\n")),
        "--db", str(db))
    kpi("ingest", "contacts", str(write("d.csv", "contact_id,arrived_at,wait_seconds\nb,2026-11-16 10:00,7\n")),
        "--db", str(db))

    def stored():
        with store.open_db(db, read_only=True) as con:
            return con.execute("SELECT contact_id, wait_seconds FROM contacts ORDER BY 1").fetchall()
    assert stored() == [("a", None), ("b", 7)]
    # not on a terminal (a script, cron) and no --yes: said, nothing undone
    done = kpi("undo", "2", "--db", str(db))
    assert done.returncode == 2 and stored() == [("a", None), ("b", 7)]
    said = r"import #2: d\.csv -> contacts, 0 inserted, 1 updated, finished [\d-]{10} [\d:]{8}\n"
    assert re.fullmatch(said, done.stdout)
    assert done.stderr == "error: nothing undone: add --yes to undo import #2 without being asked\n"
    # on a terminal it asks: no keeps it, yes undoes it (b's earlier version back)
    answers = iter(["n", "y"])
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))
    assert kpi("undo", "2", "--db", str(db)).stdout.endswith("nothing undone\n") and len(stored()) == 2

    def interrupted(prompt):
        raise KeyboardInterrupt
    with monkeypatch.context() as m:  # Ctrl-C (or Ctrl-D) at the question is a no, not a traceback
        m.setattr("builtins.input", interrupted)
        done = kpi("undo", "2", "--db", str(db))
    assert (done.returncode, done.stdout.splitlines()[-1], done.stderr) == (1, "nothing undone", "")
    assert stored() == [("a", None), ("b", 7)]
    done = kpi("undo", "2", "--db", str(db))
    assert done.returncode == 0 and stored() == [("a", None), ("b", None)]
    assert done.stdout.splitlines()[-1] == "import #2 (d.csv -> contacts) undone: removed 0, restored 1"
    # a second undo, an unknown import and one a later import changed are refused in one line
    again = kpi("undo", "2", "--yes", "--db", str(db))
    assert again.returncode == 2
    assert re.fullmatch(r"error: import #2 \(d\.csv\) was already undone at [\d-]{10} [\d:]{8}\n", again.stderr)
    assert kpi("undo", "9", "--yes", "--db", str(db)).stderr == "error: import #9 does not exist\n"
    kpi("ingest", "contacts", str(write("e.csv", "contact_id,arrived_at,wait_seconds\na,2026-11-16 09:00,3\n")),
        "--db", str(db))
    refused = kpi("undo", "1", "--yes", "--db", str(db))
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: import #1 (c.csv) can't be undone: later import #3")
    # --yes undoes without asking, and the audit log says it came from the command line
    assert kpi("undo", "3", "--yes", "--db", str(db)).returncode == 0 and stored() == [("a", None), ("b", None)]
    with store.open_db(db, read_only=True) as con:
        sources = con.execute("SELECT source FROM audit_log WHERE action = 'undo'").fetchall()
    assert sources == [("cli",), ("cli",)]


def test_the_installed_kpi_command_runs(db):
    script = Path(sys.executable).parent / ("kpi.exe" if os.name == "nt" else "kpi")
    if not script.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"no {script}: requirements.txt installs the kpi package (-e .)")
        pytest.skip(f"no {script}: install the package (pip install -r requirements-dev.txt)")
    done = subprocess.run([str(script), "init", "--db", str(db)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{db}: schema version {store.SCHEMA_VERSION}\n"


def test_json_is_printed_without_infinity_or_nan(capsys):
    # Every command prints JSON through one function: a value that is not finite is null, so the output always parses.
    cli._print_json({"aht_seconds": float("inf"), "rows": [{"v": float("nan")}, {"v": -float("inf")}], "n": 3})
    assert json.loads(capsys.readouterr().out) == {"aht_seconds": None, "rows": [{"v": None}, {"v": None}], "n": 3}
