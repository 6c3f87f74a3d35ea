"""Page benchmark: each page's cold and warm run time through Streamlit's AppTest, and what it shows checked.

    python bench/page_benchmark.py                 # the bundled sample data (300,000 contacts), 10 warm runs
    python bench/page_benchmark.py --db PATH --runs 20
    python bench/page_benchmark.py --smoke         # 20,000 generated contacts, 2 warm runs: the check, for CI

A warm re-run is what a user's click costs once the page's queries are cached; the target is under 300 ms. Times are
server time (script execution, queries, building the elements), not the browser's. Each page runs with every section
drawn (the print view; a visit draws only the open section, ui.widgets.sections), so a run holds all the page's work.

The check (a failure exits with status 1): every run of every page ends without an exception, and each page shows
the figures the kpi functions give for the filters it was drawn with (tiles, volumes, table values, row counts).

The floor is a one-tile page run the same way in the same process on the same database: it reads the data version
once, as every page run does, and shows one cached KPI in one st.metric. Pages are also given as a multiple of it
and as milliseconds over it. Each run is a fresh AppTest session, as a new visitor's; every fresh AppTest scans the
installed packages for Streamlit components on its first run (Streamlit 1.67: ~55 ms here at load 3, more when
busy), which a real server does once at start, so the floor carries that cost too and "over floor" is the page's own.
The machine is shared, so absolute times drift; compare ratios, which drift too (docs/benchmarks.md). Nothing
asserts a time.
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
from _common import ROOT, CheckFailed, as_served, generate, work_dir

from kpi import competency, imports, metrics, present, store
from kpi.metrics import format_value, load_catalog

SMOKE_CONTACTS, SMOKE_RUNS = 20_000, 2
ALL = "__all__"  # the sidebar's "all" choice (ui.frame.ALL)


# ---------------------------------------------------------------- the floor

def one_tile_page(db, week_start, week_end):
    """The least a page run costs: read the data version once (as every page run does), one cached KPI, one tile.

    AppTest runs this function's source as a script of its own: imports inside, no annotations.
    """
    import streamlit as st

    from kpi import metrics, store

    @st.cache_data(show_spinner=False)
    def service_level(path, version, start, end):
        with store.open_db(path, read_only=True) as con:
            return metrics.kpi_status(con, start, end, channel="phone")["service_level"].value

    with store.open_db(db, read_only=True) as con:
        version = store.data_version(con)
    value = service_level(db, version, week_start, week_end)
    st.metric("service level", "—" if value is None else f"{value:.1%}")


# ---------------------------------------------------------------- what each page must show

class Shown:
    """The filters a page was drawn with (read back from its sidebar) and the kpi functions' figures for them."""

    def __init__(self, at, db: str):
        self.at, self.db = at, db
        self.lang = at.session_state["lang"] if "lang" in at.session_state else "zh-TW"
        if "week" in {b.key for b in at.selectbox}:
            self.week_start = date.fromisoformat(at.selectbox(key="week").value)
            self.week_end = self.week_start + timedelta(days=6)
            chosen = {dim: at.selectbox(key=dim).value for dim in ("team", "channel", "queue")}
            self.kw = {dim: None if v == ALL else v for dim, v in chosen.items()}
        else:  # a page the sidebar's filters do not apply to (ui.frame.UNFILTERED): its checks use none
            self.week_start = self.week_end = self.kw = None
        self.cat = load_catalog()

    def call(self, fn, *args, **kwargs):
        with store.open_db(self.db, read_only=True) as con:
            return fn(con, *args, **kwargs)

    def choice(self, key: str):
        """A page's choice (ui.widgets.pick: buttons for a few options, a select box for many)."""
        found = [w for kind in ("segmented_control", "selectbox") for w in self.at.get(kind) if w.key == key]
        return found[0].value

    def metrics(self) -> list[tuple[str, str]]:
        return [(t["label"], t["value"]) for node in self.at.get("html") if 'class="kpi-tiles"' in node.proto.body
                for t in present.read_tiles(node.proto.body)]

    def tables(self) -> list[pd.DataFrame]:
        """The page's tables as shown (static HTML, kpi.present.table_to_html): cells as the reader sees them."""
        frames = (present.html_table_frame(node.proto.body) for node in self.at.get("html"))
        return [f for f in frames if f is not None]

    def tiles_match(self, status: dict) -> int:
        """Every tile labelled with a KPI's name shows that KPI's value, formatted; returns how many did."""
        by_label = {self.cat[k].label[self.lang]: k for k in status}
        checked = 0
        for label, value in self.metrics():
            if label in by_label:
                kid = by_label[label]
                want = format_value(self.cat[kid], status[kid].value, self.lang)
                if value != want:
                    raise CheckFailed(f"tile {label!r} shows {value!r}, {kid} is {want!r}")
                checked += 1
        if not checked:
            raise CheckFailed(f"no KPI tile found among {self.metrics()}")
        return checked


def same_values(shown: pd.Series, want: pd.Series) -> bool:
    a, b = list(shown), list(want)
    return len(a) == len(b) and all((_missing(x) and _missing(y)) or x == y for x, y in zip(a, b))


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA


def table_shows(table: pd.DataFrame, want: pd.Series, what: str) -> None:
    """Some column of a table shown holds exactly these values, in this order (labels differ by language)."""
    if not any(same_values(table[c], want) for c in table.columns):
        raise CheckFailed(f"no column of the table shown holds {what}: {list(want)[:5]}...")


def check_weekly(s: Shown) -> str:
    week = s.call(metrics.week_summary, s.week_start, **s.kw)
    volumes = [f"{v:,}" for v in (week.offered, week.answered, week.abandoned, week.surveys, week.complaints)]
    if [v for _, v in s.metrics()[:5]] != volumes:
        raise CheckFailed(f"volumes shown {s.metrics()[:5]}, week_summary gives {volumes}")
    n = s.tiles_match(s.call(metrics.kpi_status, s.week_start, s.week_end, **s.kw))
    return f"5 volumes and {n} KPI tiles = week_summary and kpi_status"


def check_quality(s: Shown) -> str:  # its period defaults to the sidebar's week
    n = s.tiles_match(s.call(metrics.kpi_status, s.week_start, s.week_end, **s.kw))
    return f"{n} KPI tiles = kpi_status"


def check_budget(s: Shown) -> str:
    year, month = s.choice("budget_year"), s.choice("budget_month")
    report = s.call(metrics.budget_report, year, date(year, month, 1))
    ytd, outlook = s.tables()[:2]  # the lines in two tables that fit the page
    table = pd.concat([ytd, outlook.drop(columns=ytd.columns, errors="ignore")], axis=1)
    money = ["budget_month", "actual_month", "variance_month", "budget_ytd", "actual_ytd", "variance_ytd",
             "full_year_budget", "latest_estimate", "run_rate"]
    for col in money:  # as the page formats money (NT$, thousands, a missing value as a dash)
        shown = report.lines[col].map(lambda v: present.cell_text(v, "money", s.lang))
        table_shows(table, shown, f"budget_report's {col}")
    if s.lang == "zh-TW":  # the tile shows the year-to-date total in 萬 (NT$10,000)
        ytd = f"NT${report.total['actual_ytd'] / 1e4:,.1f} 萬"
        if ytd not in [v for _, v in s.metrics()]:
            raise CheckFailed(f"no tile shows the year-to-date actual {ytd}: {s.metrics()}")
    return f"{len(money)} money columns x {len(report.lines)} lines and the YTD actual = budget_report"


def check_trainer(s: Shown) -> str:  # defaults: one week, the whole centre ("" with the sidebar's 全部), else a team
    who = s.choice("trainer_team") or None
    settled = s.call(metrics.settled_status, s.week_start, s.week_end, team=who, channel=s.kw["channel"],
                     queue=s.kw["queue"])
    weak = competency.weak_kpis(settled.status, s.cat, team=who)
    who = who or "the whole centre"
    if weak.empty:
        return f"{who}: no weak KPI, as weak_kpis says"
    values = pd.Series([format_value(s.cat[k], v, s.lang) for k, v in zip(weak["id"], weak["value"])])
    table_shows(s.tables()[0], values, f"the weak KPIs' values of {who}")
    return f"{who}: {len(weak)} weak KPI values = settled_status + weak_kpis"


def check_data_status(s: Shown) -> str:
    counts = s.call(store.row_counts)
    want = [f"{n:,}" for n in counts.values()]
    if [v.split()[0] for _, v in s.metrics()] != want:  # "20,000 筆": the count with its unit
        raise CheckFailed(f"row counts shown {s.metrics()}, row_counts gives {want}")
    return f"{len(want)} row counts = row_counts"


PAGES = {"pages/weekly.py": check_weekly, "pages/quality.py": check_quality, "pages/budget.py": check_budget,
         "pages/trainer.py": check_trainer, "pages/data_status.py": check_data_status}


# ---------------------------------------------------------------- running

def timed_run(at) -> float:
    t0 = time.perf_counter()
    at.run()
    ms = (time.perf_counter() - t0) * 1000
    if at.exception:
        raise CheckFailed("; ".join(e.message for e in at.exception))
    return ms


def measure(make, runs: int) -> tuple[float, list[float], object]:
    """Cold run (the first in this process), then `runs` warm runs each in a fresh session; the cold AppTest."""
    cold_at = make()
    cold = timed_run(cold_at)
    return cold, [timed_run(make()) for _ in range(runs)], cold_at


def database(args: argparse.Namespace, work: Path) -> str:
    if args.db:
        return args.db
    db = work / "bench.duckdb"
    t0 = time.perf_counter()
    if args.smoke:
        data = generate(work / "data", SMOKE_CONTACTS, only_contacts=False)
        results = imports.load_sample_data(db, sample_dir=data)
        what = f"{SMOKE_CONTACTS:,} generated contacts with their surveys, complaints and budget"
    else:
        results = imports.load_sample_data(db)
        what = "the bundled sample data"
    rejected = sum(r.rejected for r in results)
    print(f"data            {what}: {sum(r.inserted for r in results):,} rows in {time.perf_counter() - t0:.1f} s"
          f" ({rejected:,} rejected)")
    return str(db)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", help="database to read (default: a fresh one with the sample data)")
    ap.add_argument("--runs", type=int, default=10, help="warm runs per page (default 10)")
    ap.add_argument("--smoke", action="store_true",
                    help=f"{SMOKE_CONTACTS:,} generated contacts and {SMOKE_RUNS} warm runs: seconds (for CI)")
    args = ap.parse_args(argv)
    if args.smoke:
        args.runs = SMOKE_RUNS
    if args.runs < 1:
        ap.error(f"--runs must be at least 1, got {args.runs}")
    with work_dir(None, "kpi-page-bench-") as work:
        db = database(args, work)
        os.environ["KPI_DB"] = db
        return run(db, args.runs)


def run(db: str, runs: int) -> int:
    from streamlit.testing.v1 import AppTest

    def page(path: str):
        def make():
            at = as_served(AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120))
            at.session_state["print_view"] = True  # every section of the page (a visit draws one: ui.widgets.sections)
            at.switch_page(path)
            return at
        return make

    with store.open_db(db, read_only=True) as con:
        week_start = metrics.latest_complete_week(con)
    if week_start is None:
        print(f"FAILED          {db} holds no complete week of contacts", file=sys.stderr)
        return 1
    print(f"machine         {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} before the runs"
          " (other processes share the cores: compare runs made at a low load)")
    try:
        floor_cold, floor_warm, _ = measure(
            lambda: as_served(AppTest.from_function(one_tile_page, args=(db, week_start, week_start + timedelta(days=6)),
                                                    default_timeout=120)), runs)
    except CheckFailed as exc:
        print(f"FAILED          the one-tile floor page: {exc}", file=sys.stderr)
        return 1
    floor = statistics.median(floor_warm)
    print(f"\n{'page':<24}{'cold ms':>9}{'warm median ms':>16}{'x floor':>9}{'over floor':>12}{'warm max ms':>13}"
          "  check")
    print(f"{'one-tile page (floor)':<24}{floor_cold:>9.0f}{floor:>16.0f}{1:>8.1f}x{0:>+12.0f}{max(floor_warm):>13.0f}")
    failures = []
    for path, check in PAGES.items():
        try:
            cold, warm, at = measure(page(path), runs)
            checked = check(Shown(at, db))
        except Exception as exc:  # noqa: BLE001  (a check that breaks is a failure too; the other pages still run)
            message = str(exc) if isinstance(exc, CheckFailed) else f"{type(exc).__name__}: {exc}"
            failures.append(f"{path}: {message}")
            print(f"{path:<24}{'':>59}  FAILED: {message}")
            continue
        median = statistics.median(warm)
        print(f"{path:<24}{cold:>9.0f}{median:>16.0f}{median / floor:>8.1f}x{median - floor:>+12.0f}{max(warm):>13.0f}"
              f"  {checked}")
    print(f"\nwarm runs       {runs} per page, each a fresh session on the same process's caches")
    if failures:
        print("FAILED          " + "\n                ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
