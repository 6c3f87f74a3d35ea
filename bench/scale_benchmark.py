"""Scale benchmark: a database of N generated contacts built through `python -m kpi ingest`, then every page and the CLI.

    python bench/scale_benchmark.py --contacts 10000000 --keep /work/bench_data/scale_10m   # generate, import, measure
    python bench/scale_benchmark.py --keep /work/bench_data/scale_10m    # reuses the CSV files and the database there
    python bench/scale_benchmark.py --db PATH                            # measure an existing database only
    python bench/scale_benchmark.py --smoke                              # 20,000 contacts: seconds, the same checks (CI)

Data: sample_data/generate.py --chunk-rows (whole days in files of about 1M rows, formatted by DuckDB) with one
agent per 20,000 contacts (a 5,000-seat centre at 100M), plus the bundled sample's surveys, complaints and budget so
that every page has something to show. Each contacts file is imported by its own `python -m kpi ingest contacts FILE`
process, as an operator would; the import rate is rows over the sum of those processes' wall times. Its floor is a
bare DuckDB `CREATE TABLE AS SELECT * FROM read_csv([...files])` of the same files into a scratch file in this run.

Then a fresh process (the dashboard's stand-in, its peak RSS reported) runs every page in pages/ through Streamlit's
AppTest, every section drawn (the print view; a visit draws only the open one), each run as the served app makes it
(served_run: one connection for the run's queries, as dashboard.py's main() opens; AppTest runs a page without its
entry script, and each query would open the file): its first run (default week and filters), a **cache miss** (a week and team no earlier run asked for: each
page gets its own week), and warm re-runs of the same session (cached). The floors beside them: a bare DuckDB
aggregate of one week and team on the contacts table (count, answered, waits, handle time), and a one-tile page run
the same way (bench/page_benchmark.py's). The CLI's `kpis --by week` over the last 364 days runs as its own process,
beside a bare aggregate by week over the same days and the interpreter's start (`python -m kpi --help`).

Checks (a failure exits with status 1): the database holds exactly the generated contacts; the pages end without an
exception and show what the kpi functions give (page_benchmark's checks); the weekly page's offered count and the
CLI's offered per week equal bare SQL counts. The machine is shared, so times drift; nothing asserts a time.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
from _common import ROOT, CheckFailed, as_served, best_ms, checked, generate, own_peak_rss_mib, work_dir

SMOKE_CONTACTS, SMOKE_RUNS, RUNS = 20_000, 2, 5
CONTACTS_PER_AGENT = 20_000  # 5,000 seats answer about 100M contacts a year
CHUNK_ROWS = 1_000_000
PAGES_DIR = ROOT / "pages"


# ---------------------------------------------------------------- building the database

def contact_files(work: Path, contacts: int, seed: int, chunk_rows: int = CHUNK_ROWS) -> list[Path]:
    """The generated contacts files in work/csv (made there unless a kept run left them)."""
    csv_dir = work / "csv"
    files = sorted(csv_dir.glob("contacts-*.csv"))
    if not files:
        t0 = time.perf_counter()
        generate(csv_dir, contacts, seed=seed, chunk_rows=chunk_rows, agents=max(30, contacts // CONTACTS_PER_AGENT))
        files = sorted(csv_dir.glob("contacts-*.csv"))
        print(f"generated       {contacts:,} contacts in {len(files)} files in {time.perf_counter() - t0:.1f} s")
    else:
        print(f"reusing         {len(files)} contacts files in {csv_dir}")
    return files


def ingest(db: Path, dataset: str, file: Path, mapping: Path | None = None) -> float:
    """`python -m kpi ingest` as its own process: its wall time (it must succeed)."""
    cmd = [sys.executable, "-m", "kpi", "ingest", dataset, str(file), "--db", str(db), "--show-rejects", "3"]
    if mapping:
        cmd += ["--mapping", str(mapping)]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise CheckFailed(f"kpi ingest {dataset} {file.name} exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return time.perf_counter() - t0


def read_csv_floor(files: list[Path], scratch: Path) -> float:
    """A bare DuckDB read_csv of the same files into a table in a scratch file (removed afterwards): seconds."""
    scratch.unlink(missing_ok=True)
    t0 = time.perf_counter()
    with duckdb.connect(str(scratch)) as con:
        con.execute("CREATE TABLE t AS SELECT * FROM read_csv($files)", {"files": [str(f) for f in files]})
    seconds = time.perf_counter() - t0
    scratch.unlink()
    return seconds


def csv_rows(file: Path) -> int:
    """Data rows in a generated CSV (no quoted line breaks in it): its lines less the header."""
    with file.open("rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b"")) - 1


def bulk_load(db: Path, files: list[Path]) -> None:
    """Not the product's import: the files' rows straight into the contacts table by SQL, for a size the import can't
    reach in the time at hand (--bulk-after). Values as the import stores them from these canonical files; customer
    ids hashed by DuckDB's sha256 with the database's key instead of the import's HMAC (pages show no customer id)."""
    from kpi.store import pseudonym_key

    with duckdb.connect(str(db)) as con:
        import_id = con.execute("SELECT max(import_id) FROM contacts").fetchone()[0]
        key = pseudonym_key(con).hex()
        con.execute("""INSERT INTO contacts BY NAME SELECT contact_id, arrived_at, channel, 'inbound' AS direction,
                queue, team, agent_id, agent_name, answered = 'Y' AS answered, answered_at,
                wait_seconds::DOUBLE AS wait_seconds, talk_seconds::DOUBLE AS talk_seconds,
                hold_seconds::DOUBLE AS hold_seconds, acw_seconds::DOUBLE AS acw_seconds,
                transferred = 'Y' AS transferred, resolved_first_contact = 'Y' AS resolved_first_contact,
                left(sha256($key || customer_id), 32) AS customer_id, $id AS import_id, $id AS created_import_id
            FROM read_csv($files, all_varchar = false)""", {"files": [str(f) for f in files], "key": key, "id": import_id})


def rebuild_rollups(db: Path) -> float:
    """After a bulk load the rollups' raw stamp is stale (rows not written by an import), so pages would read raw rows:
    rebuild them the way a writable open does (kpi.store.open_db runs ensure_rollups). Seconds."""
    from kpi import metrics  # noqa: F401  (registers the rollup builder)
    from kpi import store

    t0 = time.perf_counter()
    with store.open_db(db):
        pass
    return time.perf_counter() - t0


def build(db: Path, files: list[Path], contacts: int, bulk_after: int | None = None) -> None:
    """Import the contacts files, then the sample's other datasets; print the rate beside read_csv's and the size.

    Each imported file is logged (work/imported.txt: name and seconds), so a run stopped midway goes on where it
    stopped when started again with the same --keep."""
    from kpi.imports import sample_files

    log = db.with_name("imported.txt")
    done = dict(line.split("\t") for line in log.read_text().splitlines()) if log.exists() else {}
    ingested = files if bulk_after is None else files[:bulk_after]
    if "read_csv floor" not in done:  # of the files the import reads
        with log.open("a") as fh:
            fh.write(f"read_csv floor\t{read_csv_floor(ingested, db.with_name('floor-scratch.duckdb'))}\n")
    for i, f in enumerate(files):
        if f.name in done:
            continue
        if bulk_after is not None and i >= bulk_after:
            t0 = time.perf_counter()
            bulk_load(db, files[i:])
            with log.open("a") as fh:
                fh.writelines(f"{g.name}\tbulk\n" for g in files[i:])
                fh.write(f"bulk seconds\t{time.perf_counter() - t0}\n")
            break
        seconds = ingest(db, "contacts", f)
        with log.open("a") as fh:
            fh.write(f"{f.name}\t{seconds}\n")
    if bulk_after is not None and "rollup seconds" not in done:
        with log.open("a") as fh:
            fh.write(f"rollup seconds\t{rebuild_rollups(db)}\n")
    if "other datasets" not in done:
        for dataset, file, mapping in sample_files():
            if dataset != "contacts":
                ingest(db, dataset, file, mapping)
        with log.open("a") as fh:
            fh.write("other datasets\t0\n")
    done = dict(line.split("\t") for line in log.read_text().splitlines())
    bulk = [f for f in files if done[f.name] == "bulk"]
    imported = [f for f in files if done[f.name] != "bulk"]
    floor, seconds = float(done["read_csv floor"]), [float(done[f.name]) for f in imported]
    with duckdb.connect(str(db), read_only=True) as con:
        stored = con.execute("SELECT count(*) FROM contacts").fetchone()[0]
    if stored != contacts:
        raise CheckFailed(f"the database holds {stored:,} contacts, {contacts:,} were generated")
    total, rows = sum(seconds), sum(csv_rows(f) for f in imported)
    print(f"import          {len(imported)} x `kpi ingest` of {rows:,} contacts in {total:.1f} s: {rows / total:,.0f} rows/s"
          f" (slowest file {max(seconds):.1f} s) = {total / floor:.1f}x the floor")
    print(f"floor           bare read_csv of the same files into a table: {floor:.1f} s, {rows / floor:,.0f} rows/s")
    if bulk:
        print(f"NOT IMPORTED    {len(bulk)} of {len(files)} files were loaded by a bare SQL INSERT (--bulk-after) in "
              f"{float(done['bulk seconds']):.1f} s, not by the import: the page and CLI figures below are at full size,"
              " the import's are the ingested files'")
        print(f"rollup          rebuilt after the bulk load by a writable open (kpi.store.open_db -> ensure_rollups) in "
              f"{float(done['rollup seconds']):.1f} s (KPI_WRITE_MEMORY_LIMIT "
              f"{os.environ.get('KPI_WRITE_MEMORY_LIMIT') or 'unset: DuckDB default'}): the pages read it, as after an import")


def database(args: argparse.Namespace, work: Path) -> Path:
    db = work / "kpi.duckdb"
    build(db, contact_files(work, args.contacts, args.seed, args.chunk_rows), args.contacts, args.bulk_after)
    print(f"database        {db.stat().st_size / 2**20:,.0f} MiB on disk")
    return db


# ---------------------------------------------------------------- measuring (in a fresh process)

WEEK_FLOOR_SQL = """SELECT count(*), count(*) FILTER (WHERE answered), avg(wait_seconds) FILTER (WHERE answered),
    avg(talk_seconds + hold_seconds + acw_seconds) FILTER (WHERE answered) FROM contacts
    WHERE arrived_at >= $start AND arrived_at < $end AND team = $team"""
YEAR_FLOOR_SQL = """SELECT date_trunc('week', arrived_at) AS w, count(*), count(*) FILTER (WHERE answered),
    avg(wait_seconds) FILTER (WHERE answered), avg(talk_seconds + hold_seconds + acw_seconds) FILTER (WHERE answered)
    FROM contacts WHERE arrived_at >= $start AND arrived_at < $end GROUP BY w"""


def offered_by_sql(con, start: date, end: date, **filters) -> int:
    """The independent count: contacts arriving in [start, end] with these filters, by bare SQL."""
    where = "".join(f" AND {dim} = ${dim}" for dim, v in filters.items() if v is not None)
    values = {"start": start, "end": end + timedelta(days=1), **{d: v for d, v in filters.items() if v is not None}}
    return con.execute(f"SELECT count(*) FROM contacts WHERE arrived_at >= $start AND arrived_at < $end{where}",
                       values).fetchone()[0]


def served_run(at, db: str) -> float:
    """A page run as the served app makes it, in ms: dashboard.py's main() reads the data version and gives the run
    one connection, opened at its first query and closed at its end (ui.data.begin_run, end_run). AppTest runs a
    page without its entry script, so each of its queries would open and close the file (40-60 ms each at 100M)."""
    from page_benchmark import timed_run

    if str(ROOT) not in sys.path:  # ui/ is the dashboard's, not an installed package (kpi is)
        sys.path.insert(0, str(ROOT))
    from ui.data import RunConnection, data_version, db_path

    path = db_path()  # $KPI_DB as the dashboard spells it: a run's queries use its connection only under that path
    assert path == str(Path(db)), (path, db)
    t0 = time.perf_counter()
    held = RunConnection(path)
    at.session_state["_run_connection"] = held
    at.session_state["_data_version"] = data_version(path)
    try:
        timed_run(at)
    finally:
        held.close()
    return (time.perf_counter() - t0) * 1000


def measure(db: str, runs: int) -> None:
    from page_benchmark import PAGES, Shown, one_tile_page, timed_run
    from streamlit.testing.v1 import AppTest

    for name in ("streamlit.runtime.scriptrunner_utils.script_run_context", "streamlit.runtime.state.session_state_proxy"):
        logging.getLogger(name).setLevel(logging.ERROR)  # the checks' kpi calls run outside a script: Streamlit says so

    from kpi import metrics

    from kpi import store
    from kpi.metrics import _rollup

    os.environ["KPI_DB"] = db
    with store.open_db(db, read_only=True) as con:  # the dashboard's configuration (memory limit): one per file and process
        cat = metrics.load_catalog()
        rollup = _rollup.usable(con, "contacts", _rollup.fingerprint(cat, cat.settings, "contacts"))
        latest = con.execute("SELECT max(arrived_at)::DATE FROM contacts").fetchone()[0]
        weeks = [w for (w,) in con.execute("SELECT DISTINCT date_trunc('week', arrived_at)::DATE AS w FROM contacts "
                                           "ORDER BY w DESC").fetchall()][1:]  # the newest may be partial
        teams = [t for (t,) in con.execute("SELECT DISTINCT team FROM contacts ORDER BY team").fetchall()]
        week_floor = best_ms(lambda: con.execute(WEEK_FLOOR_SQL, {"start": weeks[1], "end": weeks[1] + timedelta(7),
                                                                  "team": teams[0]}).fetchall())
    print(f"machine         {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} before the runs")
    print(f"floor           bare DuckDB aggregate of one week and team: {week_floor:.1f} ms (best of 3)")
    print(f"rollup          {'contacts answered from ' + rollup if rollup else 'NONE usable: pages read raw contacts'};"
          f" read-only DuckDB memory_limit {store.connect_config(True)['memory_limit']}")

    pages = sorted(p.relative_to(ROOT).as_posix() for p in PAGES_DIR.glob("*.py"))
    if len(weeks) < len(pages) + 2:
        raise CheckFailed(f"{len(weeks)} complete weeks: too few to give each page a week of its own")

    # The one-tile floor page; its first run also pays this process's first AppTest (imports, Streamlit's start, the
    # components found once: as_served).
    def tile(week: date):
        return as_served(AppTest.from_function(one_tile_page, args=(db, week, week + timedelta(days=6)),
                                               default_timeout=600))
    t0 = time.perf_counter()
    timed_run(tile(weeks[0]))
    start_ms = (time.perf_counter() - t0) * 1000
    tile_miss = timed_run(tile_at := tile(weeks[1]))
    tile_warm = statistics.median(timed_run(tile_at) for _ in range(runs))
    print(f"first AppTest   {start_ms:,.0f} ms (this process's imports and Streamlit's start)")
    print(f"\n{'page':<26}{'first ms':>10}{'miss ms':>10}{'x agg':>9}{'warm ms':>9}{'x tile':>8}  week, team; check")
    print(f"{'one-tile page (floor)':<26}{'':>10}{tile_miss:>10,.0f}{tile_miss / week_floor:>8.1f}x{tile_warm:>9,.0f}"
          f"{1:>7.1f}x")
    failures, slowest = [], 0.0
    for i, path in enumerate(pages):
        week, team = weeks[i + 2], teams[i % len(teams)]
        try:
            at = as_served(AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=600))
            at.session_state["print_view"] = True  # every section of the page (a visit draws one: ui.widgets.sections)
            at.switch_page(path)
            first = served_run(at, db)
            keys = {s.key for s in at.selectbox}
            if "week" in keys and "team" in keys:  # the sidebar's filters: a week and team nobody asked for yet
                at.selectbox(key="week").set_value(week.isoformat())
                at.selectbox(key="team").set_value(team)
                miss = served_run(at, db)
                chosen = f"{week}, {team}"
            else:
                miss, chosen = first, "no week filter: the first run"
            warm = statistics.median(served_run(at, db) for _ in range(runs))
            note = PAGES[path](Shown(at, db)) if path in PAGES else "no exception"
            if path == "pages/weekly.py":
                note += "; " + check_offered(at, db)
        except Exception as exc:  # noqa: BLE001  (a check that breaks is a failure too; the other pages still run)
            message = str(exc) if isinstance(exc, CheckFailed) else f"{type(exc).__name__}: {exc}"
            failures.append(f"{path}: {message}")
            print(f"{path:<26}  FAILED: {message}")
            continue
        slowest = max(slowest, miss)
        print(f"{path:<26}{first:>10,.0f}{miss:>10,.0f}{miss / week_floor:>8.1f}x{warm:>9,.0f}{warm / tile_warm:>7.1f}x"
              f"  {chosen}; {note}")
    rss = own_peak_rss_mib()  # not ru_maxrss: started by the build, this process would report the build's peak
    print(f"\nslowest miss    {slowest:,.0f} ms (goal at 100M: under 1,000 ms)")
    print(f"peak RSS        {rss:,.0f} MiB of this process: AppTest runs of every page (goal: under 2,048 MiB)")
    failures += cli_year(db, latest)
    if failures:
        raise CheckFailed("\n                ".join(failures))


def check_offered(at, db: str) -> str:
    """The weekly page's first tile (offered) against a bare SQL count for the filters it was drawn with."""
    from page_benchmark import Shown

    from kpi import store

    s = Shown(at, db)
    shown = s.metrics()[0][1]
    with store.open_db(db, read_only=True) as con:
        want = offered_by_sql(con, s.week_start, s.week_end, **s.kw)
    if shown != f"{want:,}":
        raise CheckFailed(f"the weekly page shows {shown} offered, bare SQL counts {want:,}")
    return f"offered {shown} = bare SQL count"


def cli_year(db: str, latest: date) -> list[str]:
    """`python -m kpi kpis --by week` over the 364 days to the latest contact, beside the bare aggregate by week."""
    from kpi import store

    start = latest - timedelta(days=363)
    with store.open_db(db, read_only=True) as con:
        floor = best_ms(lambda: con.execute(YEAR_FLOOR_SQL, {"start": start, "end": latest + timedelta(1)}).fetchall())
        by_week = dict(con.execute("SELECT strftime(arrived_at, '%G-W%V'), count(*) FROM contacts WHERE arrived_at >= "
                                   "$start AND arrived_at < $end GROUP BY 1",
                                   {"start": start, "end": latest + timedelta(1)}).fetchall())
    interpreter = best_ms(lambda: subprocess.run([sys.executable, "-m", "kpi", "--help"], cwd=ROOT, check=True,
                                                 capture_output=True), runs=2)
    cmd = [sys.executable, "-m", "kpi", "kpis", "--from", start.isoformat(), "--to", latest.isoformat(), "--by", "week",
           "--json", "--db", db]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    ms = (time.perf_counter() - t0) * 1000
    if done.returncode:
        return [f"kpi kpis exited {done.returncode}: {done.stderr.strip()[-300:]}"]
    rows = json.loads(done.stdout)["rows"]
    offered = {r["key"]: r["kpis"].get("offered") for r in rows}
    wrong = {k: (offered.get(k), n) for k, n in by_week.items() if offered.get(k) != n}
    print(f"\nCLI             kpis --from {start} --to {latest} --by week: {ms:,.0f} ms for {len(rows)} weeks"
          f" = {ms / floor:.1f}x the bare aggregate by week ({floor:,.0f} ms); `python -m kpi --help` alone {interpreter:,.0f} ms")
    if wrong:
        return [f"CLI offered per week differs from bare SQL counts in {len(wrong)} weeks, e.g. {list(wrong.items())[:3]}"]
    print(f"check           offered in all {len(by_week)} weeks = bare SQL count by ISO week")
    return []


# ---------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--contacts", type=int, default=1_000_000, help="contacts to generate (default 1,000,000)")
    ap.add_argument("--smoke", action="store_true", help=f"{SMOKE_CONTACTS:,} contacts, {SMOKE_RUNS} warm runs (for CI)")
    ap.add_argument("--keep", type=Path, metavar="DIR", help="keep (or reuse) the CSV files and the database here")
    ap.add_argument("--db", help="measure this database only (no generation, no import)")
    ap.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    ap.add_argument("--chunk-rows", type=int, default=CHUNK_ROWS, metavar="N",
                    help=f"contacts per generated file, whole days (default {CHUNK_ROWS:,})")
    ap.add_argument("--bulk-after", type=int, metavar="K",
                    help="import the first K files with kpi ingest and load the rest by bare SQL (NOT the import; said "
                         "so in the output): page and CLI figures at a size the import can't reach in the time at hand")
    ap.add_argument("--runs", type=int, default=RUNS, help=f"warm re-runs per page (default {RUNS})")
    args = ap.parse_args(argv)
    if args.smoke:
        args.contacts, args.runs = SMOKE_CONTACTS, SMOKE_RUNS
    if args.contacts < 1 or args.runs < 1:
        ap.error("--contacts and --runs must be at least 1")
    if args.db:
        return checked(lambda a: measure(a.db, a.runs), args)
    with work_dir(args.keep, "kpi-scale-bench-") as work:
        code = checked(lambda a: database(a, work), args)
        if code:
            return code
        # the pages and the CLI in a fresh process: its peak RSS is the dashboard's, not the build's
        return subprocess.run([sys.executable, __file__, "--db", str(work / "kpi.duckdb"), "--runs", str(args.runs)]
                              ).returncode


if __name__ == "__main__":
    sys.exit(main())
