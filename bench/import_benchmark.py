"""Import benchmark: a generated contacts CSV through kpi.ingest.import_file into a fresh DuckDB file.

    python bench/import_benchmark.py                      # 1,000,000 rows, generated into a temp dir
    python bench/import_benchmark.py --rows 200000
    python bench/import_benchmark.py --csv export.csv     # an existing contacts CSV instead
    python bench/import_benchmark.py --keep /tmp/bench    # keep the CSV and the database there

The import is the real one (import_file, nothing bypassed). To split its time, the module-level functions it
calls (read_source, prepare, open_db, write) are wrapped with timers for the run; their behaviour is unchanged.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from kpi import ingest

GENERATOR = ROOT / "sample_data" / "generate.py"


def rss_mib() -> float:
    """The process's resident set size now (Linux /proc), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(out: Path, rows: int, seed: int) -> Path:
    """contacts.csv with `rows` rows from the sample-data generator (run as its own process)."""
    cmd = [sys.executable, str(GENERATOR), "--out", str(out), "--contacts", str(rows), "--only", "contacts",
           "--no-gzip", "--seed", str(seed)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    path = out / "contacts.csv"
    if not path.exists():
        raise SystemExit(f"the generator did not write {path}")
    return path


@contextlib.contextmanager
def timed_calls(module, names: list[str], timings: dict[str, float]):
    """Wrap module.<name> functions so each call adds its wall time to timings[name]; restore them afterwards."""
    originals = {n: getattr(module, n) for n in names}

    def wrap(name, fn):
        if name == "open_db":  # a context manager: time entering it (open, create the schema) and leaving it
            @contextlib.contextmanager
            def timed_open(*args, **kwargs):
                t0 = time.perf_counter()
                with fn(*args, **kwargs) as con:
                    timings[name] += time.perf_counter() - t0
                    yield con
                    t1 = time.perf_counter()
                timings[name] += time.perf_counter() - t1
            return timed_open

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                timings[name] += time.perf_counter() - t0
        return timed

    try:
        for n, fn in originals.items():
            timings.setdefault(n, 0.0)
            setattr(module, n, wrap(n, fn))
        yield timings
    finally:
        for n, fn in originals.items():
            setattr(module, n, fn)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="contacts to generate (default 1,000,000)")
    ap.add_argument("--csv", type=Path, help="import this contacts CSV instead of generating one")
    ap.add_argument("--keep", type=Path, metavar="DIR", help="write the CSV and the database here and keep them")
    ap.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    args = ap.parse_args(argv)

    with contextlib.ExitStack() as stack:
        if args.keep:
            work = args.keep
            work.mkdir(parents=True, exist_ok=True)
        else:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kpi-import-bench-")))
        db = work / "bench.duckdb"
        for p in (db, db.with_suffix(".duckdb.wal")):
            p.unlink(missing_ok=True)  # always a fresh database

        if args.csv:
            csv = args.csv
            print(f"file            {csv} ({csv.stat().st_size / 2**20:,.0f} MiB)")
        else:
            t0 = time.perf_counter()
            csv = generate(work, args.rows, args.seed)
            print(f"file            {args.rows:,} generated contacts, {csv.stat().st_size / 2**20:,.0f} MiB "
                  f"(generator: {time.perf_counter() - t0:.1f} s, not counted)")

        print(f"machine         {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} before the import"
              " (other processes share the cores: compare runs made at a low load)")
        rss_before, peak_before = rss_mib(), peak_rss_mib()
        timings: dict[str, float] = {}
        with timed_calls(ingest, ["read_source", "prepare", "open_db", "write"], timings):
            t0 = time.perf_counter()
            result = ingest.import_file("contacts", csv, db=db, source="benchmark")
            total = time.perf_counter() - t0
        peak_after = peak_rss_mib()

        rows = result.rows_read
        print(f"result          {result.summary()}")
        print(f"rows            {rows:,}")
        print(f"seconds         {total:.2f} total")
        print(f"  prepare       {timings['prepare']:.2f}  (read CSV {timings['read_source']:.2f} + parse/validate "
              f"{timings['prepare'] - timings['read_source']:.2f}; no database open)")
        print(f"  write         {timings['open_db'] + timings['write']:.2f}  (open/create database "
              f"{timings['open_db']:.2f} + write transaction {timings['write']:.2f})")
        print(f"rows/second     {rows / total:,.0f} overall  (prepare {rows / timings['prepare']:,.0f}, "
              f"write {rows / (timings['open_db'] + timings['write']):,.0f})")
        print(f"memory          RSS before import {rss_before:,.0f} MiB; peak RSS (ru_maxrss) {peak_after:,.0f} MiB "
              f"(peak before import {peak_before:,.0f} MiB)")
        print(f"database        {db.stat().st_size / 2**20:,.0f} MiB" + (f", kept in {work}" if args.keep else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
