"""Warm re-run time of each page on the sample data (server time, via AppTest): prints milliseconds per page.

    python bench/page_benchmark.py [--db PATH] [--runs 10]

A warm re-run is what a user's click costs once the page's queries are cached; the target is under 300 ms.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PAGES = ["pages/weekly.py", "pages/quality.py", "pages/budget.py", "pages/trainer.py", "pages/data_status.py"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database to read (default: a fresh one with the sample data)")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    from kpi import imports

    tmp = None
    if not args.db:
        tmp = tempfile.TemporaryDirectory()
        args.db = str(Path(tmp.name) / "sample.duckdb")
        t0 = time.perf_counter()
        imports.load_sample_data(args.db)
        print(f"sample data loaded in {time.perf_counter() - t0:.1f} s")
    os.environ["KPI_DB"] = args.db
    from streamlit.testing.v1 import AppTest

    print(f"{'page':<24}{'cold ms':>10}{'warm median ms':>16}{'warm max ms':>13}")
    for page in PAGES:
        at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
        at.switch_page(page)
        t0 = time.perf_counter()
        at.run()
        cold = (time.perf_counter() - t0) * 1000
        assert not at.exception, at.exception
        warm = []
        for _ in range(args.runs):
            again = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
            again.switch_page(page)
            t0 = time.perf_counter()
            again.run()
            warm.append((time.perf_counter() - t0) * 1000)
        print(f"{page:<24}{cold:>10.0f}{statistics.median(warm):>16.0f}{max(warm):>13.0f}")
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
