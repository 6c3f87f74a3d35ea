"""Import benchmark: a generated contacts CSV through kpi.imports.import_file into a fresh DuckDB file.

    python bench/import_benchmark.py                      # 1,000,000 rows, generated into a temp dir
    python bench/import_benchmark.py --rows 200000
    python bench/import_benchmark.py --csv export.csv     # an existing contacts CSV instead
    python bench/import_benchmark.py --keep /tmp/bench    # keep the CSV and the database there
    python bench/import_benchmark.py --smoke              # 20,000 rows in seconds: the check, for CI

The import is the real one (import_file, nothing bypassed or patched). Its time is split into phases by the
progress callback every import reports to (reading, parsing, opening, writing, written: kpi.imports.STEPS).

The check (a failure exits with status 1): every row of the file is stored and none rejected, and the stored
contacts agree with the file read independently by DuckDB as text (rows, distinct ids, answered count, total wait and
talk seconds: plain casts of the text cells, not the import's parsers).

The floor is a bare DuckDB read_csv of the same file into a table of a fresh database file, in the same process,
after the import (so that the import's peak memory is its own): `CREATE TABLE t AS SELECT * FROM read_csv(file)`.
The import's time is given as a multiple of it, in seconds and in CPU seconds (all the process's threads); then the
import is undone (kpi.imports.undo_import), its time beside the same floor, and checked to leave no contact and no
rollup row (not with --keep, which keeps the database as the import left it). The machine
is shared, so absolute times drift; compare the ratios, which drift too (docs/benchmarks.md). Nothing asserts a time.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import duckdb
from _common import (run_checked, sized_parser, CheckFailed, generate, peak_rss_mib, peak_rss_since_reset_mib,
                     reset_peak_rss, rss_mib, work_dir)

from kpi import imports, open_db
from kpi.imports import _fast

SMOKE_ROWS = 20_000


def thread_ticks() -> dict[str, int]:
    """CPU clock ticks (user + system) of each of the process's threads so far (Linux /proc; empty elsewhere)."""
    ticks = {}
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return ticks
    for tid in tasks:
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        ticks[tid] = int(fields[11]) + int(fields[12])
    return ticks


class Phases:
    """The import's progress callback: when each step began, to split the import's time without touching it, the
    CPU each thread spent in each step (a step that runs on one thread could run beside another), and the peak memory
    of its prepare (file read and parsed, no database open) and of its write."""

    def __init__(self) -> None:
        self.marks: list[tuple[float, str]] = []
        self.ticks: list[dict[str, int]] = []
        self.peaks: dict[str, float] = {}

    def __call__(self, fraction: float, step: str) -> None:
        self.marks.append((time.perf_counter(), step))
        self.ticks.append(thread_ticks())
        if step == "opening":
            self.peaks["prepare"] = peak_rss_since_reset_mib()
            reset_peak_rss()
        elif step == "written":
            self.peaks["write"] = peak_rss_since_reset_mib()

    @property
    def fast(self) -> bool:
        """Whether the import took the fast path (DuckDB parsing, kpi/imports/_fast.py)."""
        return any(step == _fast.FALLBACK_STEP for _, step in self.marks)

    def steps(self, t_end: float, ticks_end: dict[str, int]) -> list[tuple[str, float, float, float]]:
        """(step, seconds, CPU seconds of all threads, share of that CPU on its busiest thread) of each step: a share
        near 1 is a step that ran on one core."""
        hz = os.sysconf("SC_CLK_TCK")
        out = []
        ends = [(t, ticks) for t, ticks in zip([t for t, _ in self.marks[1:]], self.ticks[1:])] + [(t_end, ticks_end)]
        for (t0, step), before, (t1, after) in zip(self.marks, self.ticks, ends):
            spent = [after[k] - before.get(k, 0) for k in after]
            cpu = sum(spent) / hz
            out.append((step, t1 - t0, cpu, max(spent, default=0) / hz / cpu if cpu else 0.0))
        return out

    def first(self, predicate) -> float | None:
        return next((t for t, step in self.marks if predicate(step)), None)

    def split(self, t0: float, t_end: float) -> dict[str, float] | None:
        """read / parse / open / write seconds, or None when the import no longer reports the steps used here."""
        parsing = self.first(lambda s: s.startswith("parsing"))
        opening = self.first(lambda s: s == "opening")
        written = self.first(lambda s: s == "written")
        writing = next((t for t, _ in self.marks if opening is not None and t > opening), None)
        if None in (parsing, opening, written, writing):
            return None
        return {"read": parsing - t0, "parse": opening - parsing, "open": writing - opening,
                "write": written - writing, "close": t_end - written}


def size_mapping(csv: Path) -> imports.Mapping | None:
    """No mapping (canonical headers), unless the file is over the default 1,024 MiB limit (10,000,000 contacts are
    1.2 GB): then one that raises options.max_mib to its size, as a centre importing such files would."""
    mib = math.ceil(csv.stat().st_size / 2**20)
    if mib <= imports.Options().max_mib:
        return None
    print(f"mapping         options.max_mib: {mib:,} (the file is over the default limit)")
    return imports.Mapping(options=imports.Options(max_mib=mib))


def bare_read(csv: Path, work: Path) -> tuple[float, float, int]:
    """The floor: DuckDB's own read_csv of the file (types sniffed) into a table of a fresh database file, and nothing
    else: (seconds, CPU seconds of the process's threads, rows)."""
    floor_db = work / "floor.duckdb"
    floor_db.unlink(missing_ok=True)
    with duckdb.connect(str(floor_db)) as con:
        t0, c0 = time.perf_counter(), time.process_time()
        con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?)", [str(csv)])
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
    floor_db.unlink(missing_ok=True)
    return seconds, cpu, rows


def file_figures(csv: Path) -> dict[str, float]:
    """The file as DuckDB reads its text cells, with plain casts: what the stored contacts must agree with."""
    with duckdb.connect() as con:
        got = con.execute(
            "SELECT count(*), count(DISTINCT contact_id), count(*) FILTER (WHERE answered = 'Y'),"
            " sum(TRY_CAST(wait_seconds AS DOUBLE)), sum(TRY_CAST(talk_seconds AS DOUBLE))"
            " FROM read_csv(?, all_varchar = true)", [str(csv)]).fetchone()
    return dict(zip(("rows", "ids", "answered", "wait", "talk"), got))


def check(result, db: Path, want: dict[str, float], generated: int | None) -> list[str]:
    """Every row stored, none rejected, and the stored contacts agree with the file as DuckDB reads its text."""
    n = want["rows"]
    if generated is not None and n != generated:
        raise CheckFailed(f"the file has {n:,} rows, the generator was asked for {generated:,}")
    if result.rows_read != n:
        raise CheckFailed(f"the import read {result.rows_read:,} rows, the file has {n:,}")
    if result.rejected or result.updated or result.unchanged or result.inserted != n:
        raise CheckFailed(f"expected {n:,} inserted and nothing else: {result.summary()}")
    with open_db(db, read_only=True) as con:
        stored, ids, answered, wait, talk = con.execute(
            "SELECT count(*), count(DISTINCT contact_id), count(*) FILTER (WHERE answered), sum(wait_seconds),"
            " sum(talk_seconds) FROM contacts").fetchone()
        rejected = con.execute("SELECT count(*) FROM rejected_rows").fetchone()[0]
    counts = {"contacts stored": (stored, n), "distinct contact_id": (ids, want["ids"]),
              "answered": (answered, want["answered"]), "rejected_rows": (rejected, 0)}
    for what, (got, expected) in counts.items():
        if got != expected:
            raise CheckFailed(f"{what}: {got:,} in the database, {expected:,} expected from the file")
    for what, got, expected in (("wait_seconds", wait, want["wait"]), ("talk_seconds", talk, want["talk"])):
        if not math.isclose(got or 0.0, expected or 0.0, rel_tol=1e-12, abs_tol=1e-6):
            raise CheckFailed(f"total {what}: {got} in the database, {expected} in the file")
    return [f"{what} {got:,}" for what, (got, _) in counts.items()] + [f"total wait {wait:,.0f} s, talk {talk:,.0f} s"]


def main(argv: list[str] | None = None) -> int:
    ap = sized_parser(__doc__.splitlines()[0], "rows", 1_000_000, SMOKE_ROWS, "contacts")
    ap.add_argument("--csv", type=Path, help="import this contacts CSV instead of generating one")
    return run_checked(ap, argv, run)


def run(args: argparse.Namespace) -> None:
    with work_dir(args.keep, "kpi-import-bench-") as work:
        db = work / "bench.duckdb"
        for p in (db, db.with_suffix(".duckdb.wal")):
            p.unlink(missing_ok=True)  # always a fresh database

        if args.csv:
            csv = args.csv
            print(f"file            {csv} ({csv.stat().st_size / 2**20:,.0f} MiB)")
        else:
            t0 = time.perf_counter()
            csv = generate(work, args.rows, seed=args.seed) / "contacts.csv"
            print(f"file            {args.rows:,} generated contacts, {csv.stat().st_size / 2**20:,.0f} MiB "
                  f"(generator: {time.perf_counter() - t0:.1f} s, not counted)")

        print(f"machine         {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} before the import"
              " (other processes share the cores: compare runs made at a low load)")
        rss_before, peak_before = rss_mib(), peak_rss_mib()
        reset_peak_rss()  # from here the peak is the import's (Linux: VmHWM, reset through clear_refs)
        phases = Phases()
        t0, c0 = time.perf_counter(), time.process_time()
        result = imports.import_file("contacts", csv, size_mapping(csv), db=db, source="benchmark", progress=phases)
        total, cpu = time.perf_counter() - t0, time.process_time() - c0
        ticks_end = thread_ticks()
        split = phases.split(t0, t0 + total)
        peak_after = peak_rss_mib()

        # The floor runs after the import, so the import's peak memory above is its own.
        floor, floor_cpu, floor_rows = bare_read(csv, work)
        checked = check(result, db, file_figures(csv), None if args.csv else args.rows)
        rows = result.rows_read
        print(f"result          {result.summary()}")
        print(f"check           as the file's text read by DuckDB: {', '.join(checked)}")
        print(f"rows            {rows:,}")
        print(f"seconds         {total:.2f} total = {total / floor:.2f}x the floor "
              f"(bare DuckDB read_csv of the file into a table: {floor:.2f} s, {floor_rows / floor:,.0f} rows/s)")
        print(f"cpu seconds     {cpu:.2f} = {cpu / floor_cpu:.2f}x the floor's {floor_cpu:.2f} (all the process's threads: "
              "less moved by other processes than the seconds above)")
        print(f"path            {'fast (DuckDB parses, the Python parsers take the rest)' if phases.fast else 'Python'}")
        if split:
            prepare, write = split["read"] + split["parse"], split["open"] + split["write"] + split["close"]
            print(f"  prepare       {prepare:.2f}  (reading {split['read']:.2f}: the file's checks (size, line lengths, "
                  f"encoding, SHA-256) then, on the fast path, DuckDB's read and parse; the rest "
                  f"{split['parse']:.2f}: the Python parsers' batches, repeated keys; no database open)")
            print(f"  write         {write:.2f}  (open/create database {split['open']:.2f} + write transaction "
                  f"{split['write']:.2f} + close {split['close']:.2f})")
            print(f"rows/second     {rows / total:,.0f} overall  (prepare {rows / prepare:,.0f}, "
                  f"write {rows / write:,.0f})")
            print("  steps         " + "; ".join(
                f"{step} {seconds:.2f} s, CPU {spent:.2f} ({share:.0%} on one thread)"
                for step, seconds, spent, share in phases.steps(t0 + total, ticks_end) if seconds >= 0.05))
        else:
            print(f"rows/second     {rows / total:,.0f} overall  (phases unavailable: the import's progress steps "
                  f"changed: {[s for _, s in phases.marks]})")
        print(f"memory          RSS before import {rss_before:,.0f} MiB; peak RSS (ru_maxrss) {peak_after:,.0f} MiB "
              f"(peak before import {peak_before:,.0f} MiB)")
        if phases.peaks:
            peak = max(phases.peaks.values())
            print(f"peak memory     {peak:,.0f} MiB = {peak * 2**20 / 1e9:.2f} GB during the import (process RSS, "
                  f"the {rss_before:,.0f} MiB before it included): prepare {phases.peaks.get('prepare', 0):,.0f} MiB, "
                  f"write {phases.peaks.get('write', 0):,.0f} MiB; {(peak - rss_before) * 2**20 / rows:,.0f} "
                  "bytes per row above the RSS before")
        print(f"database        {db.stat().st_size / 2**20:,.0f} MiB" + (f", kept in {work}" if args.keep else ""))
        if args.keep:
            return  # the database is kept as the import left it
        undo(db, result, floor)


def undo(db: Path, result, floor: float) -> None:
    """The import undone (kpi.imports.undo_import, as the import page's undo): its time beside the same floor, its
    peak memory, and the check that no contact and no rollup row is left."""
    reset_peak_rss()
    t0 = time.perf_counter()
    with open_db(db) as con:
        undone = imports.undo_import(con, result.import_id, by="benchmark", source="benchmark")
    seconds, peak = time.perf_counter() - t0, peak_rss_since_reset_mib()
    with open_db(db, read_only=True) as con:  # the contacts, and the rows of the rollup and of every table kept beside it
        rollups = [t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'rollup_contacts%'"
                                             ).fetchall()]
        left = con.execute(f"SELECT (SELECT count(*) FROM contacts), "
                           f"{' + '.join(f'(SELECT count(*) FROM {t})' for t in rollups) or '0'}").fetchone()
    if undone.removed != result.inserted or left != (0, 0):
        raise CheckFailed(f"the undo removed {undone.removed:,} of {result.inserted:,} rows and left {left[0]:,} "
                          f"contacts and {left[1]:,} rows in {', '.join(rollups)}")
    print(f"undo            {seconds:.2f} s = {seconds / floor:.2f}x the floor; removed {undone.removed:,} rows, left 0 "
          f"contacts and 0 rollup rows; peak RSS {peak:,.0f} MiB")


if __name__ == "__main__":
    sys.exit(main())
