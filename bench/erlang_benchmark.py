"""Erlang C for every 30-minute interval of a year x 3 queues (52,560 intervals): required agents, service level, ASA,
occupancy and FTE each, as the staffing page computes them (kpi.metrics.erlang_staffing). Prints the seconds taken
beside a floor in the same run (one Erlang B recursion per interval at the agents found, the step the search repeats);
checks a sample of the answers against the textbook formula in exact fractions.

    nice -n 10 .venv/bin/python bench/erlang_benchmark.py
    .venv/bin/python bench/erlang_benchmark.py --smoke     # one day x 3 queues (144 intervals): the check, for CI
"""
from __future__ import annotations

import math
import sys
import time
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kpi import metrics  # noqa: E402

INTERVALS = 365 * 48 * 3  # 52,560


def workload(i: int) -> tuple[int, float]:
    """A day's shape: calls 0 at night to ~120 at the peak half hour, AHT 150-330 s by queue."""
    half_hour = i % 48
    calls = max(0, round(120 * math.sin(math.pi * max(0, half_hour - 14) / 30))) if 14 <= half_hour < 44 else 0
    return calls, 150.0 + 90 * (i % 3)


def exact_c(n: int, a: Fraction) -> float:
    terms = sum(a ** k / math.factorial(k) for k in range(n))
    top = a ** n / math.factorial(n) * Fraction(n) / (n - a)
    return float(top / (terms + top))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    intervals = 48 * 3 if "--smoke" in args else INTERVALS
    loads = [workload(i) for i in range(intervals)]
    start = time.perf_counter()
    results = [metrics.erlang_staffing(c, 1800, aht, 0.8, 20, shrinkage=0.3) for c, aht in loads]
    seconds = time.perf_counter() - start
    # The floor: Erlang B once per interval at the answer's agents (the recursion the search repeats)
    start = time.perf_counter()
    for (c, aht), r in zip(loads, results):
        if r.agents:
            metrics.erlang_b(r.agents, c * aht / 1800)
    floor = time.perf_counter() - start
    print(f"Erlang C for {intervals:,} intervals: {seconds:.2f} s ({intervals / seconds:,.0f} intervals/s); "
          f"peak {max(r.agents for r in results)} agents; {seconds / floor:.1f}x the floor (one Erlang B recursion "
          f"per interval at the agents found: {floor:.3f} s)")
    for i in range(0, intervals, 4_801 if intervals == INTERVALS else 7):
        c, aht = loads[i]
        r = results[i]
        if r.agents and abs(r.wait_probability - exact_c(r.agents, Fraction(c) * Fraction(aht) / 1800)) > 1e-9:
            print(f"interval {i}: wait probability {r.wait_probability} differs from the exact formula", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
