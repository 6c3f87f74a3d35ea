"""Quality benchmark: the service quality page's kpi functions for one week and team, against bare DuckDB aggregates.

    python bench/quality_benchmark.py --db PATH   # measure an existing database, opened read-only
    python bench/quality_benchmark.py --smoke     # the bundled sample imported into a temp dir: the check, for CI

Each function the quality page calls (kpi.metrics: score distributions, the survey trend over 13 weeks, the survey
KPIs, the complaint funnel, resolution bands, backlog by age, category Pareto, low-score comments) is timed for one
week and one team on the phone channel (the page's default channel), best of --runs, as a ratio to a floor measured in
the same process on the same file: a bare DuckDB aggregate of the contacts of that week and team (count, answered,
average wait and handle time), as bench/scale_benchmark.py's floor. Beside it, the bare survey read the surveys' rows
cost before issue 17 (surveys joined to every contact) and after (each survey's copy of its contact's columns).
Checks (exit 1 when they differ): the csat distribution, the week's survey responses and the low-score comments
against bare SQL written by hand over surveys joined to contacts (the definition, independent of the stored copies).
Nothing asserts a time: the machine is shared, compare ratios (docs/benchmarks.md).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

from _common import CheckFailed, best_ms

from kpi import imports, metrics, store

CONTACT_FLOOR = """SELECT count(*), count(*) FILTER (WHERE answered), avg(wait_seconds) FILTER (WHERE answered),
    avg(talk_seconds + hold_seconds + acw_seconds) FILTER (WHERE answered) FROM contacts
    WHERE arrived_at >= $start AND arrived_at < $end AND team = $team"""
# A survey counts in its contact's week, team and channel (catalog.yaml `datasets: surveys`), written out by hand.
JOINED = """SELECT s.csat, s.comment, coalesce(c.arrived_at, s.responded_at) AS t, coalesce(c.team, s.team) AS team,
    c.channel FROM surveys s LEFT JOIN contacts c ON c.contact_id = s.contact_id"""
SURVEY_FLOOR_JOIN = f"""SELECT count(*), count(csat), avg(csat) FROM ({JOINED})
    WHERE t >= $start AND t < $end AND team = $team AND channel = $channel"""
SURVEY_FLOOR_STORED = """SELECT count(*), count(csat), avg(csat) FROM surveys
    WHERE coalesce(contact_arrived_at, responded_at) >= $start AND coalesce(contact_arrived_at, responded_at) < $end
    AND coalesce(contact_team, team) = $team AND contact_channel = $channel"""


def busiest_week_and_team(con) -> tuple[date, str]:
    """The ISO week (Monday) and team holding most phone surveys, by bare SQL."""
    row = con.execute(f"SELECT date_trunc('week', t)::DATE AS w, team FROM ({JOINED}) WHERE channel = 'phone' "
                      "AND team IS NOT NULL GROUP BY ALL ORDER BY count(*) DESC, w DESC, team LIMIT 1").fetchone()
    if row is None:
        raise CheckFailed("no survey in this database is about a phone contact with a team: nothing to measure")
    return row[0], row[1]


def check(con, start: date, end: date, team: str, shown: dict) -> list[str]:
    """Differences between the kpi functions' figures and bare SQL over surveys joined to contacts."""
    values = {"start": start, "end": end + timedelta(days=1), "team": team, "channel": "phone"}
    where = "t >= $start AND t < $end AND team = $team AND channel = $channel"
    csat = dict(con.execute(f"SELECT csat, count(*) FROM ({JOINED}) WHERE {where} AND csat IS NOT NULL GROUP BY 1",
                            values).fetchall())
    responses = con.execute(f"SELECT count(*) FROM ({JOINED}) WHERE {where}", values).fetchone()[0]
    comments = con.execute(f"SELECT count(*) FROM ({JOINED}) WHERE {where} AND csat <= 2 AND trim(comment) <> ''",
                           values).fetchone()[0]
    got_csat = {int(s): int(n) for s, n in zip(shown["csat"].score, shown["csat"].responses) if n}
    problems = []
    if got_csat != csat:
        problems.append(f"csat distribution {got_csat} != bare SQL {csat}")
    if int(shown["kpis"].survey_responses.iloc[0]) != responses:
        problems.append(f"survey_responses {shown['kpis'].survey_responses.iloc[0]} != bare SQL {responses}")
    if len(shown["comments"]) != min(comments, 200):
        problems.append(f"low-score comments {len(shown['comments'])} != bare SQL {comments}")
    return problems


def measure(db: Path, runs: int) -> None:
    with store.open_db(db, read_only=True) as con:
        start, team = busiest_week_and_team(con)
        end = start + timedelta(days=6)
        kw = {"team": team, "channel": "phone"}
        values = {"start": start, "end": end + timedelta(days=1), "team": team, "channel": "phone"}
        floor = best_ms(lambda: con.execute(CONTACT_FLOOR, {k: values[k] for k in ("start", "end", "team")}).fetchall(),
                        runs)
        stored = bool(con.execute("SELECT count(*) FROM duckdb_columns() WHERE table_name = 'surveys' "
                                  "AND column_name = 'contact_team'").fetchone()[0])
        n_contacts, n_surveys = con.execute("SELECT (SELECT count(*) FROM contacts), (SELECT count(*) FROM surveys)"
                                            ).fetchone()
        print(f"machine         {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} before the runs")
        print(f"database        {db}: {n_contacts:,} contacts, {n_surveys:,} surveys; week of {start}, team {team}, phone")
        print(f"floor           bare DuckDB aggregate of the week's contacts of the team: {floor:.1f} ms (best of {runs})")
        join = best_ms(lambda: con.execute(SURVEY_FLOOR_JOIN, values).fetchall(), runs)
        print(f"survey read     surveys joined to every contact (the source before issue 17): {join:,.1f} ms = "
              f"{join / floor:.1f}x the floor")
        if stored:
            own = best_ms(lambda: con.execute(SURVEY_FLOOR_STORED, values).fetchall(), runs)
            print(f"survey read     surveys' own copy of their contact's columns (after): {own:,.1f} ms = "
                  f"{own / floor:.1f}x the floor")
        else:
            print("survey read     this file has no copy of the contact's columns (schema before 11)")
        shown = {}
        calls = {
            "score_distribution csat": lambda: shown.__setitem__("csat", metrics.score_distribution(con, start, end, "csat", **kw)),
            "score_distribution nps": lambda: metrics.score_distribution(con, start, end, "nps", **kw),
            "score_distribution ces": lambda: metrics.score_distribution(con, start, end, "ces", **kw),
            "survey KPIs (tiles)": lambda: shown.__setitem__("kpis", metrics.compute_kpis(
                con, start, end, kpis=load_survey_kpis(), **kw)),
            "survey_trend 13 weeks": lambda: metrics.survey_trend(con, end - timedelta(weeks=13) + timedelta(days=1), end,
                                                                  "week", **kw),
            "complaint_funnel": lambda: metrics.complaint_funnel(con, start, end, **kw),
            "resolution_time_distribution": lambda: metrics.resolution_time_distribution(con, start, end, **kw),
            "open_backlog_by_age": lambda: metrics.open_backlog_by_age(con, end, **kw),
            "category_pareto": lambda: metrics.category_pareto(con, start, end, **kw),
            "low_score_comments": lambda: shown.__setitem__("comments", metrics.low_score_comments(con, start, end, **kw)),
        }
        print(f"\n{'function':<32}{'ms':>10}{'x floor':>10}")
        total = 0.0
        for name, fn in calls.items():
            ms = best_ms(fn, runs)
            total += ms
            print(f"{name:<32}{ms:>10,.1f}{ms / floor:>9.1f}x")
        print(f"{'all of them':<32}{total:>10,.1f}{total / floor:>9.1f}x   (load average {os.getloadavg()[0]:.1f})")
        problems = check(con, start, end, team, shown)
    if problems:
        raise CheckFailed("; ".join(problems))
    print("check           csat distribution, survey responses and low-score comments = bare SQL over the join: OK")


def load_survey_kpis() -> list[str]:
    return list(metrics.load_catalog().views["survey"])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", type=Path, help="an existing database (read-only)")
    p.add_argument("--smoke", action="store_true", help="the bundled sample in a temp dir: seconds")
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args(argv)
    try:
        if args.db:
            measure(args.db, args.runs)
        else:
            with tempfile.TemporaryDirectory(prefix="quality-bench-") as tmp:
                db = Path(tmp) / "kpi.duckdb"
                imports.load_sample_data(db)
                measure(db, args.runs)
    except CheckFailed as exc:
        print(f"CHECK FAILED    {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
