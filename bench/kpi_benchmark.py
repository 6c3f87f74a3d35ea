"""KPI benchmark: every contact KPI by ISO week over 10M contacts, kpi.metrics.compute_kpis (DuckDB) vs plain pandas.

    python bench/kpi_benchmark.py                       # 10,000,000 contacts, generated into a temp dir
    python bench/kpi_benchmark.py --contacts 1000000
    python bench/kpi_benchmark.py --keep /tmp/kpibench  # keep the CSV and the database there
    python bench/kpi_benchmark.py --smoke               # 20,000 contacts in seconds: the check, for CI

The database is not filled by the import (that is bench/import_benchmark.py's subject): the schema is created with
kpi.store.open_db, and the generated CSV is loaded with DuckDB's read_csv, Y/N turned into booleans,
import_id = created_import_id = 1. The pandas version works on a DataFrame already in memory (its load is not
timed) and must give the same numbers as DuckDB (within 1e-9), or the script exits with status 1.

Times are given as a ratio to a floor measured in the same process on the same database: one bare DuckDB aggregate
on the raw table computing the same numbers by ISO week (floor_query, written by hand; its values are checked too),
beside compute_kpis from raw rows (rollup=False), served from the rollup, and asked for the contact KPIs only
(kpis=..., the floor's numbers), for the whole range and one week; then the weekly page's queries for one week and
one team (kpi_status, group_status by channel, team and agent, the trend, the heat map, ..., and the page's own
weekly_view and weekly_agents), each as a ratio to the one-week floor and to its own floor (PAGE_FLOORS): the bare
aggregates (floor_query) of the same contact numbers over the same weeks, team and groups (kpi_status's 13 weeks, a
group table's two weeks by its dimension, weekly_view's 13 weeks with its channel, team and heat-map tables), whose
values are checked equal to the query's (exit 1 when they differ). A page query also computes survey and complaint
KPIs, spreads and statuses, which its floor leaves out.
Surveys and complaints (the generator's, for the same contacts: about 14 and 1.5 per 100) are loaded too: surveys
with read_csv, complaints through kpi.imports.import_file (Big5 file with its mapping). Their KPIs by ISO week are
timed on their own (kpi.metrics._engine._dataset_frame, the per-dataset pass compute_kpis makes): from raw rows, from
their rollups (complaints: from raw rows in one pass since their median reads those rows anyway), and a floor
written by hand (surveys joined to their contacts; complaints with their due time and the median), each checked
against the floor's numbers (exit 1 when they differ).
--keep DIR reuses DIR's database when there is one (no new generation or load).
--db FILE (e.g. DIR/kpi_bench.duckdb of an earlier --keep DIR) times only the floors and the weekly page's
queries on that kept database, --runs times each: no generation, load, pandas or survey/complaint pass, so a change
is measured in a minute or two at 10M. Its writable open first builds a missing or outdated rollup (a new engine
version: minutes at 10M), so give main and a branch each their own copy of the file. The machine is shared, so absolute times drift; compare ratios, which drift
too (docs/benchmarks.md). Nothing asserts a time.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from _common import (GENERATOR, run_checked, sized_parser, CheckFailed, generate, own_peak_rss_mib, peak_rss_mib,
                     rss_mib, work_dir)

from kpi import imports, metrics
from kpi.metrics import _engine, _rollup, load_catalog
from kpi import store
from kpi.store import open_db

CONTACT_KPIS = ["offered", "answered", "abandoned", "short_abandoned", "service_level", "abandon_rate",
                "asa_seconds", "aht_seconds", "talk_seconds_mean", "hold_seconds_mean", "acw_seconds_mean",
                "transfer_rate", "fcr_rate", "response_within_target_rate", "unanswered_backlog", "outbound"]
REALTIME_KPIS = ("service_level", "abandon_rate", "asa_seconds")  # one real-time channel at a time, never blended
# Which KPIs must have values in each checked run (the rest may rightly have none there: e.g. service level with
# phone and chat together, or e-mail's response target on the phone channel).
CHECKS = {None: [k for k in CONTACT_KPIS if k not in REALTIME_KPIS],
          "phone": [k for k in CONTACT_KPIS if k not in ("response_within_target_rate",)],
          "email": ["offered", "answered", "aht_seconds", "response_within_target_rate"]}
RUNS = 3
SMOKE_CONTACTS = 20_000
TOLERANCE = 1e-9


# ---------------------------------------------------------------- memory

def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark to the current RSS (Linux >= 4.0), so a phase's peak can be read alone."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


# ---------------------------------------------------------------- the database

def load_database(csv: str, db: str) -> tuple[int, float, float]:
    """Schema via kpi.store.open_db, then the CSV into contacts with read_csv. Runs in a child process."""
    t0 = time.perf_counter()
    yn = "CASE {c} WHEN 'Y' THEN true WHEN 'N' THEN false END"  # empty (NULL) stays NULL
    with open_db(db) as con:
        con.execute("SET enable_progress_bar = false")
        cols = [r[0] for r in con.execute("SELECT * FROM read_csv(?, header = true, all_varchar = true) LIMIT 0",
                                          [csv]).description]
        expected = ["contact_id", "arrived_at", "channel", "queue", "team", "agent_id", "answered", "answered_at",
                    "wait_seconds", "talk_seconds", "hold_seconds", "acw_seconds", "transferred",
                    "resolved_first_contact", "customer_id", "agent_name"]
        if cols != expected:
            raise SystemExit(f"unexpected generator columns: {cols}")
        con.execute(f"""
            INSERT INTO contacts BY NAME
            SELECT contact_id, CAST(arrived_at AS TIMESTAMP) AS arrived_at, channel, queue, team, agent_id,
                   {yn.format(c='answered')} AS answered, CAST(answered_at AS TIMESTAMP) AS answered_at,
                   CAST(wait_seconds AS DOUBLE) AS wait_seconds, CAST(talk_seconds AS DOUBLE) AS talk_seconds,
                   CAST(hold_seconds AS DOUBLE) AS hold_seconds, CAST(acw_seconds AS DOUBLE) AS acw_seconds,
                   {yn.format(c='transferred')} AS transferred,
                   {yn.format(c='resolved_first_contact')} AS resolved_first_contact,
                   customer_id, agent_name, 'inbound' AS direction, 1 AS import_id, 1 AS created_import_id
            FROM read_csv(?, header = true, all_varchar = true)""", [csv])
        n, null_answered = con.execute("SELECT count(*), count(*) FILTER (WHERE answered IS NULL) FROM contacts").fetchone()
        if null_answered:  # the import would derive these from answered_at; the generator always writes Y/N
            raise SystemExit(f"{null_answered} contacts without answered")
        con.execute("CHECKPOINT")
    return n, time.perf_counter() - t0, peak_rss_mib()


def generate_quality(work: Path, contacts: int, seed: int | None) -> tuple[Path, Path]:
    """The generator's surveys and complaints for the same contacts (same seed and size): their contact ids match."""
    cmd = [sys.executable, str(GENERATOR), "--out", str(work / "quality"), "--contacts", str(contacts),
           "--only", "surveys", "--only", "complaints"] + (["--seed", str(seed)] if seed is not None else [])
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return work / "quality" / "surveys.csv", work / "quality" / "complaints.csv"


def load_quality(db: Path, surveys: Path, complaints: Path) -> tuple[int, int]:
    """Surveys with read_csv (import_id 2), complaints through kpi.imports (the Big5 file and its mapping)."""
    with open_db(db) as con:
        con.execute("""INSERT INTO surveys BY NAME SELECT survey_id, CAST(responded_at AS TIMESTAMP) AS responded_at,
                       contact_id, team, agent_id, CAST(csat AS INTEGER) AS csat, CAST(nps AS INTEGER) AS nps,
                       CAST(ces AS INTEGER) AS ces, comment, 2 AS import_id, 2 AS created_import_id
                       FROM read_csv(?, header = true, all_varchar = true)""", [str(surveys)])
        store.link_surveys(con)  # their contact's columns, as an import fills them
        n = con.execute("SELECT count(*) FROM surveys").fetchone()[0]
    r = imports.import_file("complaints", complaints, complaints.with_name("complaints.mapping.yaml"), db=db)
    return n, r.inserted


SURVEY_FLOOR = """SELECT date_trunc('week', t) AS week, count(*) AS survey_responses,
  count(*) FILTER (WHERE csat >= 4) AS csat__num, count(csat) AS csat__den, sum(csat) AS csat_mean__num,
  count(csat) AS csat_mean__den, 100 * (count(*) FILTER (WHERE nps >= 9) - count(*) FILTER (WHERE nps <= 6)) AS nps__num,
  count(nps) AS nps__den, sum(ces) AS ces_mean__num, count(ces) AS ces_mean__den
FROM (SELECT coalesce(c.arrived_at, s.responded_at) AS t, csat, nps, ces FROM surveys s
      LEFT JOIN contacts c ON c.contact_id = s.contact_id) WHERE t >= $start AND t < $end GROUP BY 1"""
COMPLAINT_FLOOR = """SELECT date_trunc('week', opened_at) AS week, count(*) AS complaints,
  count(resolved_at) AS complaint_resolution_rate__num, count(*) AS complaint_resolution_rate__den,
  count(*) FILTER (WHERE resolved_at <= opened_at + to_days(CAST($days AS INTEGER))) AS complaints_resolved_within_days__num,
  count(*) FILTER (WHERE resolved_at <= due) AS complaint_sla_rate__num,
  count(*) FILTER (WHERE resolved_at IS NOT NULL OR due <= $cutoff) AS complaint_sla_rate__den,
  median(epoch(resolved_at - opened_at) / 3600.0) FILTER (WHERE resolved_at IS NOT NULL) AS median_resolution_hours,
  count(*) FILTER (WHERE resolved_at IS NOT NULL AND reopened_count > 0) AS reopen_rate__num,
  count(resolved_at) AS reopen_rate__den, count(*) FILTER (WHERE escalated) AS escalation_rate__num
FROM (SELECT *, coalesce(due_at, opened_at + to_seconds(sla_hours * 3600.0),
                         opened_at + to_seconds($sla * 3600.0)) AS due FROM complaints
      WHERE opened_at >= $start AND opened_at < $end) GROUP BY 1"""


def quality_floor(con, dataset: str, start: date, end: date, settings: dict) -> pd.DataFrame:
    """The floor of one dataset: its numbers by ISO week in one bare aggregate written by hand (no catalog)."""
    sql = SURVEY_FLOOR if dataset == "surveys" else COMPLAINT_FLOOR
    values = {"start": start, "end": end + timedelta(days=1), "days": settings["complaint_resolution_days"],
              "sla": settings["default_sla_hours"], "cutoff": metrics.data_cutoffs(con)["complaints"]}
    with con.cursor() as cur:
        return cur.execute(sql, {k: v for k, v in values.items() if f"${k}" in sql}).df()


def quality_pass(con, dataset: str, start: date, end: date, catalog, rollup: bool) -> pd.DataFrame:
    """One dataset's KPI sums by ISO week as compute_kpis makes them (its per-dataset pass), from raw rows or the
    rollup."""
    settings = {**catalog.settings, "__cutoffs": metrics.data_cutoffs(con)}
    fp = metrics._rollup.fingerprint(catalog, settings, dataset) if rollup else None
    kpis = catalog.of(dataset)
    with con.cursor() as cur:
        part = _engine._dataset_frame(cur, catalog.datasets[dataset], kpis, start, end, "week",
                                      {"team": None, "channel": None, "queue": None}, settings, None,
                                      _engine._rollup_for(kpis, fp), stats=True)
    return pd.DataFrame({"key": part.keys, **part.values})


def check_quality(engine: pd.DataFrame, floor: pd.DataFrame) -> int:
    """Every column of the floor equal in the engine's frame, week by week (the median within TOLERANCE); returns
    how many numbers were compared."""
    floor = floor.assign(key=[iso_week_key(pd.Timestamp(m)) for m in floor["week"]]).set_index("key").sort_index()
    engine = engine.set_index("key").sort_index()
    if list(engine.index) != list(floor.index):
        raise CheckFailed(f"different weeks: engine {list(engine.index)[:3]}..., floor {list(floor.index)[:3]}...")
    for c in floor.columns.drop("week"):
        a = engine[c].to_numpy(dtype="float64", na_value=np.nan)
        b = floor[c].to_numpy(dtype="float64", na_value=np.nan)
        if (np.isnan(a) != np.isnan(b)).any() or not np.nanmax(np.abs(a - b), initial=0) <= TOLERANCE:
            raise CheckFailed(f"{c}: the engine and the floor differ")
    return floor.size - len(floor)


# ---------------------------------------------------------------- pandas

def iso_week_key(monday: pd.Timestamp) -> str:
    iso = monday.isocalendar()
    return f"{iso[0]}-W{iso[1]:02d}"


def pandas_contact_kpis(df: pd.DataFrame, start: date, end: date, settings: dict,
                        channel: str | None = None) -> pd.DataFrame:
    """The catalog's contact KPIs by ISO week, in plain pandas, with SQL's NULL rules (a NULL condition is false).

    Written from the catalog's definitions, not from its SQL: real-time measures count real-time contacts and have no
    value for a week holding two real-time channels; e-mail deadlines come from kpi's Python business calendar
    (the engine computes them in SQL), judged at the contacts' cut-off (their latest arrival or answer)."""
    cutoff = max(df["arrived_at"].max(), df["answered_at"].max())
    t = df["arrived_at"]
    d = df[(t >= pd.Timestamp(start)) & (t < pd.Timestamp(end + timedelta(days=1)))]
    if channel is not None:
        d = d[(d["channel"] == channel).fillna(False)]
    t = d["arrived_at"]
    week = t.dt.normalize() - pd.to_timedelta(t.dt.day_of_week, unit="D")  # the Monday of the ISO week
    # Inbound contacts are the offered ones; outbound ones are only counted. The generator writes no callbacks or
    # transfer legs, whose own rules (docs/importing.md "Direction") this reference does not model: refuse them.
    if d["direction"].isin(["callback", "transfer"]).any():
        raise CheckFailed("the pandas reference models inbound and outbound contacts only")
    inbound = (d["direction"] == "inbound").to_numpy()
    parts = _contact_parts(d[inbound], settings, cutoff).astype("float64").reindex(d.index, fill_value=0.0)
    parts["outbound"] = (d["direction"] == "outbound").astype("float64")
    g = parts.groupby(week.rename("week")).sum()

    def ratio(num: str, den: str) -> pd.Series:
        return (g[num] / g[den]).where(g[den] != 0)

    sl_den = g["realtime"] - g["short_abandoned"]
    out = pd.DataFrame({
        "offered": g["offered"], "answered": g["answered"], "abandoned": g["abandoned"],
        "short_abandoned": g["short_abandoned"],
        "service_level": (g["sl_num"] / sl_den).where(sl_den != 0),
        "abandon_rate": (g["abandon_num"] / sl_den).where(sl_den != 0),
        "asa_seconds": ratio("asa_num", "asa_den"), "aht_seconds": ratio("aht_num", "aht_den"),
        "talk_seconds_mean": ratio("talk_num", "aht_den"), "hold_seconds_mean": ratio("hold_num", "aht_den"),
        "acw_seconds_mean": ratio("acw_num", "aht_den"),
        "transfer_rate": ratio("transfer_num", "answered"), "fcr_rate": ratio("fcr_num", "fcr_den"),
        "response_within_target_rate": ratio("met", "due"), "unanswered_backlog": g["backlog"],
        "outbound": g["outbound"],
    })
    realtime = set(settings["realtime_channels"])
    if channel is not None:
        one_channel = pd.Series(channel in realtime, index=out.index)
    else:
        rt = d["channel"].isin(realtime)
        one_channel = d[rt].groupby(week[rt].rename("week"))["channel"].nunique().reindex(out.index).fillna(0) <= 1
    for k in REALTIME_KPIS:
        out[k] = out[k].where(one_channel)
    out.index = [iso_week_key(m) for m in out.index]
    weeks = [k for k, _, _ in metrics.bucket_keys(start, end, "week")]
    return out.reindex(weeks)  # weeks without contacts: no values, as compute_kpis gives them here


def _contact_parts(d: pd.DataFrame, settings: dict, cutoff: pd.Timestamp) -> pd.DataFrame:
    short_s = settings["short_abandon_seconds"]
    answered = d["answered"].fillna(False)
    not_answered = (~d["answered"]).fillna(False)
    realtime = d["channel"].isin(settings["realtime_channels"])
    wait = d["wait_seconds"]
    short = not_answered & realtime & (wait < short_s)
    asa_rows = realtime & answered & wait.notna()
    aht_rows = answered & d["talk_seconds"].notna()
    handle = d["talk_seconds"].fillna(0) + d["hold_seconds"].fillna(0) + d["acw_seconds"].fillna(0)
    deadline = email_deadlines(d, settings)
    due = deadline.notna() & (deadline <= cutoff)
    deferred = d["channel"].isin(list(settings.get("response_target_hours_by_channel") or {}))
    return pd.DataFrame({
        "offered": 1, "answered": answered, "abandoned": not_answered & realtime, "short_abandoned": short,
        "realtime": realtime,
        "sl_num": realtime & answered & (wait <= service_level_thresholds(d["channel"], settings)),
        "abandon_num": realtime & not_answered & ~(wait < short_s),
        "asa_num": wait.where(asa_rows, 0.0), "asa_den": asa_rows,
        "aht_num": handle.where(aht_rows, 0.0), "aht_den": aht_rows,
        "talk_num": d["talk_seconds"].fillna(0).where(aht_rows, 0.0),
        "hold_num": d["hold_seconds"].fillna(0).where(aht_rows, 0.0),
        "acw_num": d["acw_seconds"].fillna(0).where(aht_rows, 0.0),
        "transfer_num": answered & d["transferred"].fillna(False),
        "fcr_num": answered & d["resolved_first_contact"].fillna(False),
        "fcr_den": answered & d["resolved_first_contact"].notna(),
        "due": due, "met": due & (d["answered_at"] <= deadline).fillna(False),
        "backlog": deferred & (d["answered_at"].isna() | (d["answered_at"] > cutoff)),
    })


def email_deadlines(d: pd.DataFrame, settings: dict) -> pd.Series:
    """Each deferred contact's deadline: its channel's hours of business time after arrival (kpi's Python calendar)."""
    out = pd.Series(pd.NaT, index=d.index, dtype="datetime64[us]")
    for channel, hours in (settings.get("response_target_hours_by_channel") or {}).items():
        rows = (d["channel"] == channel).fillna(False)
        if rows.any():
            opening = (settings.get("business_hours") or {}).get(channel) or {"mon-fri": "09:00-18:00"}
            years = range(d["arrived_at"].min().year - 1, d["arrived_at"].max().year + 2)
            cal = metrics.taiwan_calendar(opening, years)
            out[rows] = metrics.business_deadline(d.loc[rows, "arrived_at"], float(hours), cal)
    return out


def service_level_thresholds(channel: pd.Series, settings: dict) -> pd.Series:
    """Each contact's service-level threshold: its channel's in service_level_seconds_by_channel, else the default.

    As the engine's CASE channel WHEN ...: an exact match, and a contact without a channel gets the default.
    """
    out = pd.Series(float(settings["service_level_seconds"]), index=channel.index)
    for name, seconds in (settings.get("service_level_seconds_by_channel") or {}).items():
        out = out.mask((channel == name).fillna(False), float(seconds))  # vectorised: a 10M-row map() takes seconds
    return out


def check_same(duck: pd.DataFrame, pand: pd.DataFrame, required: list[str]) -> float:
    """Every KPI of every week equal within TOLERANCE, missing in the same places; the required ones must have a
    value in some week (else nothing was compared). Returns the largest difference."""
    duck = duck.set_index("key")
    if list(duck.index) != list(pand.index):
        raise CheckFailed(f"different weeks: DuckDB {list(duck.index)[:3]}..., pandas {list(pand.index)[:3]}...")
    worst = 0.0
    for k in CONTACT_KPIS:
        a = duck[k].astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
        b = pand[k].to_numpy(dtype="float64")
        if (np.isnan(a) != np.isnan(b)).any():
            raise CheckFailed(f"{k}: missing in different weeks")
        if np.isnan(a).all():
            if k in required:
                raise CheckFailed(f"{k}: no value in any week, so nothing was compared")
            continue
        diff = float(np.nanmax(np.abs(a - b)))
        if not diff <= TOLERANCE:
            raise CheckFailed(f"{k}: DuckDB and pandas differ by {diff}")
        worst = max(worst, diff)
    return worst


def floor_query(con, start: date, end: date, settings: dict, team: str | None = None,
                by: str | None = None) -> pd.DataFrame:
    """The floor: one bare DuckDB aggregate on the raw contacts table computing the same numbers by ISO week, written
    by hand (no catalog, no engine): each KPI's numerator and denominator, grouped on date_trunc('week'). E-mail
    deadlines are joined to the e-mail rows only (kpi's calendar table and DEADLINE_SQL, as a person would reuse them).
    Its values are checked against pandas too. team: that team's contacts only; by: grouped by week and that column
    too (channel, team, agent_id), or by "weekday_hour" (ISO weekday x hour, column key "1-09") instead of the week:
    a page query's own floor (PAGE_FLOORS)."""
    hours = settings.get("response_target_hours_by_channel") or {}
    cals = {ch: metrics.taiwan_calendar((settings.get("business_hours") or {}).get(ch) or {"mon-fri": "09:00-18:00"},
                                        range(start.year - 1, end.year + 2)) for ch in hours}
    cur = con.cursor()
    cur.register("cal", metrics.calendar_table(cals, hours, start, end))
    sl = " ".join(f"WHEN '{c}' THEN {float(v)}" for c, v in (settings.get("service_level_seconds_by_channel") or {}).items())
    rt = ", ".join(f"'{c}'" for c in settings["realtime_channels"])
    deferred = ", ".join(f"'{c}'" for c in hours) or "NULL"
    short = float(settings["short_abandon_seconds"])
    raw = ("SELECT arrived_at, channel, answered, answered_at, wait_seconds, talk_seconds, hold_seconds, acw_seconds,"
           " transferred, resolved_first_contact, direction" + (f", {by}" if by in PAGE_DIMENSIONS else "")
           + " FROM contacts WHERE arrived_at >= $start AND arrived_at < $end" + (" AND team = $team" if team else ""))
    deadline = metrics.DEADLINE_SQL.format(at="arrived_at", source=f"SELECT * FROM ({raw}) WHERE channel IN ({deferred})",
                                           calendar="cal")
    rows = (f"SELECT *, NULL::TIMESTAMP AS __deadline FROM ({raw}) WHERE channel NOT IN ({deferred}) OR channel IS NULL"
            f" UNION ALL BY NAME ({deadline})")
    inb = "direction = 'inbound'"
    real = f"{inb} AND channel IN ({rt})"
    h = "answered AND talk_seconds IS NOT NULL"
    handle = "coalesce(talk_seconds, 0) + coalesce(hold_seconds, 0) + coalesce(acw_seconds, 0)"
    short_ab = f"{real} AND NOT answered AND wait_seconds < {short}"
    keys = ("isodow(arrived_at)::VARCHAR || '-' || lpad(hour(arrived_at)::VARCHAR, 2, '0') AS key"
            if by == "weekday_hour" else "date_trunc('week', arrived_at) AS week" + (f", {by}" if by else ""))
    sql = f"""SELECT {keys},
      count(*) FILTER (WHERE {inb}) AS offered, count(*) FILTER (WHERE answered AND {inb}) AS answered,
      count(*) FILTER (WHERE NOT answered AND {real}) AS abandoned, count(*) FILTER (WHERE {short_ab}) AS short_abandoned,
      count(*) FILTER (WHERE {real} AND answered AND wait_seconds <= CASE channel {sl} ELSE {float(settings['service_level_seconds'])} END) AS sl_num,
      count(*) FILTER (WHERE {real}) - count(*) FILTER (WHERE {short_ab}) AS sl_den,
      count(*) FILTER (WHERE {real} AND NOT answered AND NOT coalesce(wait_seconds < {short}, false)) AS ab_num,
      sum(wait_seconds) FILTER (WHERE {real} AND answered) AS asa_num,
      count(wait_seconds) FILTER (WHERE {real} AND answered) AS asa_den,
      sum({handle}) FILTER (WHERE {h} AND {inb}) AS aht_num, count(*) FILTER (WHERE {h} AND {inb}) AS aht_den,
      sum(coalesce(talk_seconds, 0)) FILTER (WHERE {h} AND {inb}) AS talk_num,
      sum(coalesce(hold_seconds, 0)) FILTER (WHERE {h} AND {inb}) AS hold_num,
      sum(coalesce(acw_seconds, 0)) FILTER (WHERE {h} AND {inb}) AS acw_num,
      count(*) FILTER (WHERE answered AND {inb} AND transferred) AS transfer_num,
      count(*) FILTER (WHERE answered AND {inb} AND resolved_first_contact) AS fcr_num,
      count(resolved_first_contact) FILTER (WHERE answered AND {inb}) AS fcr_den,
      count(*) FILTER (WHERE {inb} AND __deadline <= $cutoff AND answered_at <= __deadline) AS met,
      count(*) FILTER (WHERE {inb} AND __deadline <= $cutoff) AS due,
      count(*) FILTER (WHERE {inb} AND channel IN ({deferred}) AND (answered_at IS NULL OR answered_at > $cutoff)) AS backlog,
      count(*) FILTER (WHERE direction = 'outbound') AS outbound,
      count(DISTINCT channel) FILTER (WHERE {real}) AS rt_channels
    FROM ({rows}) GROUP BY ALL"""
    cutoff = con.execute("SELECT greatest(max(arrived_at), max(answered_at)) FROM contacts").fetchone()[0]
    try:
        return cur.execute(sql, {"start": start, "end": end + timedelta(days=1), "cutoff": cutoff,
                                 **({"team": team} if team else {})}).df()
    finally:
        cur.close()


def floor_kpis(g: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    """The floor's sums as KPI values by ISO week (the few-row post-processing, not timed), for the check."""
    out = floor_values(g.set_index("week"))
    out.index = [iso_week_key(pd.Timestamp(m)) for m in out.index]
    return out.reindex([k for k, _, _ in metrics.bucket_keys(start, end, "week")])


def floor_values(g: pd.DataFrame) -> pd.DataFrame:
    """The floor's sums as KPI values, row by row (its index kept)."""
    g = g.astype("float64")

    def ratio(num, den):
        return (num / den).where(den != 0)
    out = pd.DataFrame({
        "offered": g["offered"], "answered": g["answered"], "abandoned": g["abandoned"],
        "short_abandoned": g["short_abandoned"], "service_level": ratio(g["sl_num"], g["sl_den"]),
        "abandon_rate": ratio(g["ab_num"], g["sl_den"]), "asa_seconds": ratio(g["asa_num"], g["asa_den"]),
        "aht_seconds": ratio(g["aht_num"], g["aht_den"]), "talk_seconds_mean": ratio(g["talk_num"], g["aht_den"]),
        "hold_seconds_mean": ratio(g["hold_num"], g["aht_den"]), "acw_seconds_mean": ratio(g["acw_num"], g["aht_den"]),
        "transfer_rate": ratio(g["transfer_num"], g["answered"]), "fcr_rate": ratio(g["fcr_num"], g["fcr_den"]),
        "response_within_target_rate": ratio(g["met"], g["due"]), "unanswered_backlog": g["backlog"],
        "outbound": g["outbound"]})
    for k in REALTIME_KPIS:
        out[k] = out[k].where(g["rt_channels"] <= 1)
    return out


def page_team(con, a: date, b: date) -> str:
    """The team the page queries are asked for: the first of the week's."""
    return con.execute("SELECT min(team) FROM contacts WHERE arrived_at >= $a AND arrived_at < $b",
                       {"a": a, "b": b + timedelta(days=1)}).fetchone()[0]


def own_floors(con, a: date, b: date, settings: dict, pages: dict[str, tuple], runs: int) -> tuple[dict, int]:
    """Each page query's own floor (page_floors: the bare aggregates of the same contact numbers over the same weeks and
    groups), and how many of the queries' values were checked equal to their floor's."""
    own = page_floors(con, a, b, page_team(con, a, b), settings, pages, runs)
    return own, sum(check_page_floor(label, pages[label][2], own[label][2], a, b) for label in pages)


def print_pages(one_week: float, pages: dict[str, tuple], own: dict[str, tuple], compared: int) -> None:
    """The page queries' table: each x the one-week floor and x its own floor."""
    print(f"| {'page query, one week, one team':<76} | best      | x 1 week | its floor | x its floor | runs (s)          |")
    print(f"|{'-' * 78}|-----------|----------|-----------|-------------|-------------------|")
    for label, (best, times, _) in pages.items():
        floor = own[label][0]
        print(f"| {label[:76]:<76} | {best:7.3f} s | {best / one_week:7.2f}x | {floor:7.3f} s | {best / floor:10.2f}x "
              f"| {' '.join(f'{t:.3f}' for t in times):<17} |")
    print(f"check       each page query's contact KPIs == its own floor's: {compared:,} values. Its floor: "
          + "; ".join(f"{label.split(' (')[0]}: " + " + ".join(
              f"{w} week{'s' if w > 1 else ''}" + (f" by {by}" if by else "") + ("" if mine else ", all teams")
              for w, by, mine in page_floor_spec(label)) for label in pages))


def page_queries(con, a: date, b: date, catalog, runs: int = RUNS) -> dict[str, tuple]:
    """The calls the weekly page makes for one week and one team (pages/weekly.py through ui.data.query), each timed
    best of RUNS: (label, best, times). The page opens the file per query; here one connection serves them all. Today
    the page calls weekly_view, agent_teams_and_names and weekly_agents; the others are what weekly_view is made of
    (there asked for the page's KPIs only, here for every KPI, the complaints' median from raw rows among them) and
    the agent table of every KPI the page asked before weekly_agents."""
    team = page_team(con, a, b)
    kw = dict(team=team, catalog=catalog)
    team_of = metrics.agent_teams(con, a, b)
    calls = {
        "week_summary (volumes)": lambda: metrics.week_summary(con, a, end=b, team=team),
        "kpi_status (tiles: the week, the week before, 12 weeks of history)": lambda: metrics.kpi_status(con, a, b, **kw),
        "group_status by channel (tiles per real-time channel)": lambda: metrics.group_status(con, a, b, "channel", **kw),
        "compute_kpis 12 weeks by week (trend)": lambda: metrics.compute_kpis(con, a - timedelta(weeks=11), b, "week", **kw),
        "compute_kpis by weekday_hour (heat maps)": lambda: metrics.compute_kpis(con, a, b, "weekday_hour", **kw),
        "group_status by team (team table)": lambda: metrics.group_status(con, a, b, "team", catalog=catalog),
        # the agents in the period, their teams and names: the page's one pass (it counts them before the agent table)
        "agent_teams_and_names (one pass: the page's agents in the period)": lambda: metrics.agent_teams_and_names(
            con, a, b),
        "group_status by agent of the team, every KPI (the page asks weekly_agents)": lambda: metrics.group_status(
            con, a, b, "agent", team_of=team_of, **kw),
        # What pages/weekly.py calls today: one weekly_view (tiles, volumes, 12 weeks of trend and the 12 before each
        # of them as its baseline: 13 weeks, heat map, channels, teams) and the agent table's weekly_agents, both for
        # the week and team.
        "weekly_view (the page's one call: all of the above but the agents)": lambda: metrics.weekly_view(
            con, metrics.Period("week", a, b, True), team=team),
        "weekly_agents (the page's agent table: its KPIs, teams and names)": lambda: metrics.weekly_agents(
            con, a, b, team=team),
    }
    return {label: best_of(runs, fn) for label, fn in calls.items()}


# Each page query's own floor: the bare aggregates (floor_query) of the same contact numbers over the same weeks,
# team and groups, as (weeks ending with the page's week, by, the page's team or all teams). A page query also
# computes survey and complaint KPIs, spreads and statuses, which its floor leaves out: the floor is the smaller.
PAGE_DIMENSIONS = ("channel", "team", "agent_id")
PAGE_FLOORS = {
    "week_summary": [(1, None, True)],
    "kpi_status": [(13, None, True)],  # the week, the week before and the 11 before that (one pass over 13 weeks)
    "group_status by channel": [(2, "channel", True)],  # the week and the week before, by channel
    "compute_kpis 12 weeks": [(12, None, True)],
    "compute_kpis by weekday_hour": [(1, "weekday_hour", True)],
    "group_status by team": [(2, "team", False)],
    # one bare pass over the week's contacts of every team: each agent's contacts by team and name (agents_floor)
    "agent_teams_and_names": [(1, "agents", False)],
    "group_status by agent": [(2, "agent_id", True)],
    # the trend and its baseline (12 weeks each, one apart: 13 weeks, the tiles and volumes the last), the channels,
    # the teams and the heat map
    "weekly_view": [(13, None, True), (2, "channel", True), (2, "team", True), (1, "weekday_hour", True)],
    "weekly_agents": [(2, "agent_id", True)],  # the agents' KPIs (their teams and names left out: a smaller floor)
}


def agents_floor(con, start: date, end: date) -> pd.DataFrame:
    """agent_teams_and_names' floor: one bare DuckDB aggregate on the raw contacts of each agent's contacts by team and
    name (count, latest arrival), from which a team and a name are chosen in pandas for the check (not timed)."""
    return con.execute("SELECT agent_id, team, agent_name, count(*) AS n, max(arrived_at) AS last FROM contacts "
                       "WHERE agent_id IS NOT NULL AND arrived_at >= $start AND arrived_at < $end GROUP BY ALL",
                       {"start": start, "end": end + timedelta(days=1)}).df()


def agents_of(floor: pd.DataFrame) -> tuple[dict, dict]:
    """(team, name) of each agent from agents_floor's rows by the rule agent_teams_and_names states: the team of most
    contacts (a tie: the latest, then the last by name; none without a team), the name of the latest contact carrying
    one (a tie: the last by name)."""
    teams, names = {}, {}
    for agent, rows in floor.groupby("agent_id"):
        known = rows[rows["team"].notna()].groupby("team").agg(n=("n", "sum"), last=("last", "max")).reset_index()
        teams[agent] = None if known.empty else max(zip(known["n"], known["last"], known["team"]))[2]
        named = rows[rows["agent_name"].notna()]
        if len(named):
            names[agent] = max(zip(named["last"], named["agent_name"]))[1]
    return teams, names


def page_floor_spec(label: str) -> list[tuple[int, str | None, bool]]:
    return next(spec for prefix, spec in PAGE_FLOORS.items() if label.startswith(prefix))


def page_floors(con, a: date, b: date, team: str, settings: dict, labels, runs: int = RUNS) -> dict[str, tuple]:
    """Each page query's own floor (PAGE_FLOORS), its bare aggregates run one after another, timed best of runs:
    {label: (best, times, [frame of each aggregate])}."""
    out = {}
    for label in labels:
        spec = page_floor_spec(label)
        out[label] = best_of(runs, lambda spec=spec: [
            agents_floor(con, a, b) if by == "agents" else
            floor_query(con, a - timedelta(weeks=weeks - 1), b, settings, team if own else None, by)
            for weeks, by, own in spec])
    return out


def _engine_values(groups: dict) -> dict:
    """{group: {kpi: value}} of group_status's or kpi_status's KpiValues (kpi_status as the one group None)."""
    if groups and isinstance(next(iter(groups.values())), metrics.KpiValue):
        groups = {None: groups}
    return {key: {k: v.value for k, v in row.items() if k in CONTACT_KPIS} for key, row in groups.items()}


def _floor_groups(frame: pd.DataFrame, a: date, by: str | None) -> dict:
    """{group: {kpi: value}} of a floor frame's week starting on a (by week, and by its dimension when given)."""
    week = frame[pd.to_datetime(frame["week"]).dt.date == a].drop(columns="week")
    values = floor_values(week.set_index(by) if by else week.set_index(pd.Index([None] * len(week))))
    return {None if pd.isna(key) else key: row.to_dict() for key, row in values.iterrows()}  # no agent: None


def _by_key(frame: pd.DataFrame) -> dict:
    """{key: row} of a frame with a key column (compute_kpis', or a floor's as KPI values), the None key left out."""
    return {key: row for key, row in zip(frame["key"], frame.to_dict("records")) if key is not None}


def _floor_by_key(frame: pd.DataFrame) -> dict:
    """{key: KPI values} of a floor frame grouped by key (weekday_hour)."""
    return _by_key(floor_values(frame.set_index("key")).reset_index())


def _same_values(label: str, engine: dict, floor: dict, kpis: list[str]) -> int:
    """Each group's KPIs (kpis) equal in the engine's and the floor's (within TOLERANCE, missing in the same places);
    the same groups, but for the engine's groups with no contacts (a survey's or complaint's hour: every value 0 or
    none). Returns how many values were compared."""
    empty = {key for key in set(engine) - set(floor)
             if all(v is None or pd.isna(v) or v == 0 for k, v in engine[key].items() if k in kpis)}
    if set(engine) - empty != set(floor):
        raise CheckFailed(f"{label}: groups differ from its floor's: "
                          f"{sorted(map(str, (set(engine) - empty) ^ set(floor)))[:5]}")
    compared = 0
    for key, row in engine.items():
        if key in empty:
            continue
        for k in kpis:
            if k not in row:
                continue
            e = row[k]
            f = floor[key].get(k)
            e_none, f_none = e is None or pd.isna(e), f is None or pd.isna(f)
            if e_none != f_none:
                raise CheckFailed(f"{label}: {k} of {key!r} is {e} where its floor has {f}")
            if not e_none:
                if not abs(float(e) - float(f)) <= TOLERANCE * max(1.0, abs(float(f))):
                    raise CheckFailed(f"{label}: {k} of {key!r} is {e} where its floor has {f}")
                compared += 1
    return compared


def check_page_floor(label: str, result, frames: list[pd.DataFrame], a: date, b: date) -> int:
    """A page query's numbers (its contact KPIs, those not over a blend of real-time channels) equal its floor's:
    the floor computes the same numbers. Returns how many values were compared; none compared fails the check."""
    compared = _compared(label, result, frames, a, b)
    if not compared:
        raise CheckFailed(f"{label}: no value compared with its floor's")
    return compared


def _compared(label: str, result, frames: list[pd.DataFrame], a: date, b: date) -> int:
    kpis = CHECKS[None]
    spec = page_floor_spec(label)
    if label.startswith("week_summary"):  # the volumes (surveys and complaints: no contact floor)
        return _same_values(label, {None: {k: getattr(result, k) for k in ("offered", "answered", "abandoned")}},
                            _floor_groups(frames[0], a, None), ["offered", "answered", "abandoned"])
    if label.startswith("agent_teams_and_names"):
        if tuple(result) != agents_of(frames[0]):
            raise CheckFailed(f"{label}: the agents' teams or names differ from its floor's")
        return len(result[0]) + len(result[1])
    if label.startswith("kpi_status"):
        return _same_values(label, _engine_values(result), _floor_groups(frames[0], a, None), kpis)
    if label.startswith("group_status") or label.startswith("weekly_agents"):
        by = spec[0][1]
        if by == "agent_id":  # a queue measure has no value per agent (the catalog's agent: false)
            kpis = [k for k in kpis if load_catalog()[k].agent]
        groups = result.agents if label.startswith("weekly_agents") else result
        return _same_values(label, _engine_values(groups), _floor_groups(frames[0], a, by), kpis)
    if label.startswith("compute_kpis 12 weeks"):
        check_same(result, floor_kpis(frames[0], a - timedelta(weeks=11), b), kpis)
        return int(result[kpis].notna().sum().sum())
    if label.startswith("compute_kpis by weekday_hour"):
        return _same_values(label, _by_key(result), _floor_by_key(frames[0]), kpis)
    if label.startswith("weekly_view"):  # the 13 weeks (trend and baseline), the tiles, the tables, the heat map
        weeks = pd.concat([result.baseline, result.trend], ignore_index=True).drop_duplicates("key")
        floor = floor_kpis(frames[0], a - timedelta(weeks=12), b).rename_axis("key").reset_index()
        if list(weeks["key"]) != list(floor["key"]):
            raise CheckFailed(f"{label}: its weeks differ from its floor's")
        compared = _same_values(f"{label} weeks", _by_key(weeks), _by_key(floor), kpis)
        compared += _same_values(f"{label} tiles", _engine_values(result.status), _floor_groups(frames[0], a, None), kpis)
        for (_, by, _), frame, groups in zip(spec[1:3], frames[1:3], (result.per_channel, result.teams)):
            compared += _same_values(f"{label} by {by}", _engine_values(groups), _floor_groups(frame, a, by), kpis)
        return compared + _same_values(f"{label} heat map", _by_key(result.heatmap), _floor_by_key(frames[3]), kpis)
    raise CheckFailed(f"{label}: no check for it")


def best_of(runs: int, fn):
    times, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), times, result


def print_table(title: str, timings: dict, labels: tuple[str, str, str]) -> None:
    """One Markdown row per span and query: (floor, raw, rolled) best-of results, each as a multiple of the floor."""
    print(f"| {title:<76} | best of {RUNS} | x floor | runs (s)          |")
    print(f"|{'-' * 78}|-----------|---------|-------------------|")
    for span, results in timings.items():
        for label, (best, times, _) in zip(labels, results):
            print(f"| {f'{span}: {label}':<76} | {best:7.3f} s | {best / results[0][0]:6.2f}x "
                  f"| {' '.join(f'{t:.3f}' for t in times):<17} |")


# ---------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    ap = sized_parser(__doc__.splitlines()[0], "contacts", 10_000_000, SMOKE_CONTACTS, "contacts")
    ap.add_argument("--db", type=Path, metavar="FILE",
                    help="a kept database (DIR/kpi_bench.duckdb of --keep DIR): time only the one-week floor and the "
                         "weekly page's queries on it, nothing generated or loaded, no pandas or quality pass")
    ap.add_argument("--runs", type=int, default=RUNS, help=f"times each query is run, the best kept (default {RUNS})")
    return run_checked(ap, argv, run)


def run_pages(db: Path, runs: int) -> None:
    """--db: the one-week floor and the page queries on a kept database, each x that floor, with the load beside."""
    if not db.exists():
        raise SystemExit(f"{db}: no such database (make one with --keep DIR)")
    t0 = time.perf_counter()
    with open_db(db) as con:  # a writable open builds the rollup when it is missing or outdated
        n = con.execute("SELECT count(*) FROM contacts").fetchone()[0]
    print(f"database    {db}: {n:,} contacts, rollups built or checked in {time.perf_counter() - t0:.1f} s")
    catalog = load_catalog()
    load_before = os.getloadavg()[0]
    with open_db(db, read_only=True) as con:
        last_day = con.execute("SELECT max(arrived_at)::DATE FROM contacts").fetchone()[0]
        week_end = last_day - timedelta(days=last_day.weekday() + 1)  # the last complete ISO week
        a, b = week_end - timedelta(days=6), week_end
        unused = [d for d in _rollup.ROLLUP_DATASETS if _rollup.usable(con, d, _rollup.fingerprint(
            catalog, {**catalog.settings, "__cutoffs": metrics.data_cutoffs(con)}, d)) is None]
        floor = best_of(runs, lambda: floor_query(con, a, b, catalog.settings))
        pages = page_queries(con, a, b, catalog, runs)
        print(f"| {f'one week {a} .. {b}, best of {runs}':<76} | best      | runs (s)          |")
        print(f"| {'floor, one bare DuckDB aggregate of the contact KPIs, one week, all teams':<76} | {floor[0]:7.3f} s "
              f"| {' '.join(f'{t:.3f}' for t in floor[1]):<17} |")
        own, compared = own_floors(con, a, b, catalog.settings, pages, runs)
        print_pages(floor[0], pages, own, compared)
    print(f"load        {load_before:.1f} before, {os.getloadavg()[0]:.1f} after the timings; {os.cpu_count()} cores"
          + (f"; rollups NOT usable (raw rows): {', '.join(unused)}" if unused else ""))


def run(args: argparse.Namespace) -> None:
    if args.db:
        return run_pages(args.db, args.runs)
    with work_dir(args.keep, "kpi-bench-") as work:
        db = work / "kpi_bench.duckdb"
        if args.keep and db.exists():  # a kept database is reused as it is: no new generation or load
            print(f"database    {db} reused (--keep): {db.stat().st_size / 2**20:,.0f} MiB file")
        else:
            for p in (db, Path(str(db) + ".wal")):
                p.unlink(missing_ok=True)
            t0 = time.perf_counter()
            csv = generate(work, args.contacts, seed=args.seed) / "contacts.csv"
            print(f"generated   {args.contacts:,} contacts, {csv.stat().st_size / 2**20:,.0f} MiB CSV "
                  f"({time.perf_counter() - t0:.0f} s)")
            # Loading runs in its own process, so the peaks below are those of the KPI work alone.
            with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
                n, load_s, load_peak = pool.submit(load_database, str(csv), str(db)).result()
            t0 = time.perf_counter()
            n_surveys, n_complaints = load_quality(db, *generate_quality(work, args.contacts, args.seed))
            print(f"quality     {n_surveys:,} surveys (read_csv) and {n_complaints:,} complaints (kpi.imports) generated"
                  f" and loaded in {time.perf_counter() - t0:.0f} s")
            if not args.keep:
                csv.unlink()  # not needed any more; frees the disk before the timings
            print(f"database    {n:,} contacts loaded with DuckDB read_csv straight into the contacts table (schema from"
                  f" kpi.store.open_db; Y/N -> BOOLEAN; import_id = created_import_id = 1; customer_id not hashed;"
                  f" not through kpi.imports.import_file) in {load_s:.0f} s, {db.stat().st_size / 2**20:,.0f} MiB file,"
                  f" peak RSS of that process {load_peak:,.0f} MiB")
        t0 = time.perf_counter()
        with open_db(db) as con:  # a writable open builds the rollup when it is missing or outdated
            rollup_rows = [con.execute(f"SELECT count(*) FROM rollup_{d}").fetchone()[0]
                           for d in ("contacts", "surveys", "complaints")]
        print(f"rollup      {rollup_rows[0]:,} rows (hour x team x agent x channel x queue x direction), surveys"
              f" {rollup_rows[1]:,}, complaints {rollup_rows[2]:,}, built or checked in {time.perf_counter() - t0:.1f} s")

        catalog = load_catalog()
        print(f"machine     {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} before the timings"
              " (other processes share the cores: compare runs made at a low load)")
        if [k.id for k in catalog.of("contacts")] != CONTACT_KPIS:
            raise CheckFailed(f"the catalog's contact KPIs changed: {[k.id for k in catalog.of('contacts')]}"
                              " (update pandas_contact_kpis)")
        # Each phase's own peak (VmHWM, which reset_peak_rss starts afresh; ru_maxrss never falls: its "phases" were
        # running maxima)
        peaks = {"start": own_peak_rss_mib()}
        with open_db(db, read_only=True) as con:
            first_day, last_day = con.execute("SELECT min(arrived_at)::DATE, max(arrived_at)::DATE FROM contacts").fetchone()
            weeks = len(metrics.bucket_keys(first_day, last_day, "week"))
            by_channel = dict(con.execute("SELECT channel, count(*) FROM contacts GROUP BY ALL").fetchall())
            resettable = reset_peak_rss()
            week_end = last_day - timedelta(days=last_day.weekday() + 1)  # the last complete ISO week
            spans = {"whole range by week": (first_day, last_day), "one week": (week_end - timedelta(days=6), week_end)}
            timings = {}
            for span, (a, b) in spans.items():
                floor = best_of(RUNS, lambda: floor_query(con, a, b, catalog.settings))
                raw = best_of(RUNS, lambda: metrics.compute_kpis(con, a, b, "week", catalog=catalog, rollup=False))
                rolled = best_of(RUNS, lambda: metrics.compute_kpis(con, a, b, "week", catalog=catalog))
                only = best_of(RUNS, lambda: metrics.compute_kpis(con, a, b, "week", catalog=catalog, kpis=CONTACT_KPIS))
                timings[span] = (floor, raw, rolled, only)
            pages = page_queries(con, *spans["one week"], catalog)
            own, pages_compared = own_floors(con, *spans["one week"], catalog.settings, pages, RUNS)
            week_frames = (timings["one week"][2][2], timings["one week"][3][2])
            quality, compared = {}, 0
            for dataset in ("surveys", "complaints"):
                for span, (a, b) in spans.items():
                    floor = best_of(RUNS, lambda: quality_floor(con, dataset, a, b, catalog.settings))
                    raw = best_of(RUNS, lambda: quality_pass(con, dataset, a, b, catalog, rollup=False))
                    rolled = best_of(RUNS, lambda: quality_pass(con, dataset, a, b, catalog, rollup=True))
                    compared += check_quality(raw[2], floor[2]) + check_quality(rolled[2], floor[2])
                    quality[f"{dataset}, {span.replace(' by week', '')}"] = (floor, raw, rolled)
            load_now = os.getloadavg()[0]
            duck_best, duck_times, duck = timings["whole range by week"][1]
            rolled_frame = timings["whole range by week"][2][2]
            floor_frame = floor_kpis(timings["whole range by week"][0][2], first_day, last_day)
        peaks["duckdb"] = own_peak_rss_mib()

        reset_peak_rss()
        t0 = time.perf_counter()
        with open_db(db, read_only=True) as con:
            df = con.execute("SELECT arrived_at, channel, answered, answered_at, wait_seconds, talk_seconds,"
                             " hold_seconds, acw_seconds, transferred, resolved_first_contact, direction"
                             " FROM contacts").df()
            per_channel = {ch: metrics.compute_kpis(con, first_day, last_day, "week", channel=ch, catalog=catalog)
                           for ch in CHECKS if ch}
        pandas_load_s = time.perf_counter() - t0
        df_mib = df.memory_usage(deep=True).sum() / 2**20
        rss_with_df = rss_mib()
        peaks["pandas load"] = own_peak_rss_mib()
        reset_peak_rss()
        pd_best, pd_times, pand = best_of(RUNS, lambda: pandas_contact_kpis(df, first_day, last_day, catalog.settings))
        peaks["pandas"] = own_peak_rss_mib()
        settings = catalog.settings
        thresholds = settings.get("service_level_seconds_by_channel") or {}
        print(f"range       {first_day} .. {last_day}, {weeks} ISO weeks; "
              f"settings short_abandon_seconds={settings['short_abandon_seconds']:g} (targets.yaml)")
        print("service     level thresholds: " + ", ".join(
            f"{c} {float(thresholds.get(c, settings['service_level_seconds'])):g} s ({n:,} contacts)"
            for c, n in sorted(by_channel.items(), key=lambda cn: str(cn[0]))))
        week_pand = pandas_contact_kpis(df, *spans["one week"], settings)
        worst = max(check_same(duck, pand, CHECKS[None]), check_same(rolled_frame, pand, CHECKS[None]),
                    check_same(timings["whole range by week"][3][2], pand, CHECKS[None]),
                    *(check_same(f, week_pand, CHECKS[None]) for f in week_frames),
                    check_same(floor_frame.rename_axis("key").reset_index(), pand, CHECKS[None]))
        for ch, frame in per_channel.items():  # real-time measures on phone, the response target on e-mail
            worst = max(worst, check_same(frame, pandas_contact_kpis(df, first_day, last_day, settings, ch), CHECKS[ch]))
        print(f"check       pandas == floor == engine (raw rows) == engine (rollup) == engine (contact KPIs only) for all"
              f" {len(CONTACT_KPIS)} contact KPIs x {weeks} weeks, and the one week; phone and e-mail too (largest"
              f" difference {worst:.1e}, tolerance {TOLERANCE:g})")
        print()
        print_table("query", timings, ("floor, one bare DuckDB aggregate of the same numbers",
                                       "compute_kpis from raw rows (rollup=False)", "compute_kpis served from the rollup",
                                       f"the same, the {len(CONTACT_KPIS)} contact KPIs only (kpis=...)"))
        print(f"| {f'the same {len(CONTACT_KPIS)} contact KPIs in plain pandas, DataFrame in memory (whole range)':<76} "
              f"| {pd_best:7.3f} s | {pd_best / timings['whole range by week'][0][0]:6.2f}x "
              f"| {' '.join(f'{t:.3f}' for t in pd_times):<17} |")
        print()
        print_pages(timings["one week"][0][0], pages, own, pages_compared)
        print()
        print(f"check       survey and complaint KPIs: engine (raw rows) == engine (rollup=True) == floor, {compared:,}"
              f" numbers (median within {TOLERANCE:g}); load average {load_now:.1f} after these timings")
        print_table("survey / complaint KPIs by ISO week", quality, (
            "floor, a bare aggregate of the same numbers", "from raw rows (rollup=False)",
            "rollup=True (complaints: raw rows, their median reads them)"))
        print(f"peaks       DuckDB work {peaks['duckdb']:,.0f} MiB, pandas {peaks['pandas']:,.0f} MiB (peak RSS)")
        print()
        print(f"pandas      DataFrame of 10 columns loaded from DuckDB in {pandas_load_s:.1f} s (not timed above): "
              f"{df_mib:,.0f} MiB, process RSS {rss_with_df:,.0f} MiB with it")
        print(f"memory      peak RSS of this process (VmHWM) {max(peaks.values()):,.0f} MiB; "
              f"before the KPI work {peaks['start']:,.0f} MiB"
              + ("" if resettable else " (per-phase peaks unavailable: could not reset the peak mark)"))
        print("note        compute_kpis without kpis= also runs its survey and complaint queries and the backlog;"
              " page queries are x the one-week floor and x their own; the first of each run reads the cut-offs and"
              " the rollup's state, later ones reuse them while the file is unchanged; DuckDB uses every core, pandas"
              " one")


if __name__ == "__main__":
    sys.exit(main())
