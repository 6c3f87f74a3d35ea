"""The rollups: every additive KPI's sums per hour x the dataset's dimensions (contacts: team x agent x channel x
queue x direction; surveys: team x agent x channel x queue; complaints: team x agent x channel x category), kept exact
at import and undo (kpi.store refresh_rollups runs the SELECT built here), keyed by the settings it was built with.

Exactness: a KPI qualifies when it is a sum of counts and sums (a mean is sum/count, NPS counts of promoters and
detractors); the others (median resolution time) are read from raw rows beside the rollup's sums (summed/unsummed).
Hours are whole in every grain (day, ISO week, month, weekday x hour). Settings (thresholds, real-time and deferred
channels, business hours, default SLA) are bound when the rollup is built; its fingerprint holds them with the KPIs'
SQL, and compute_kpis reads raw rows when the fingerprint differs from the settings it is given. Measures judged at the
data's cut-off (a deadline passed, an answer after the cut-off) are summed as if the cut-off were at the end of time;
each rollup row keeps the latest of those moments (__settles_at), and hours from the first one not settled by the
cut-off on are read from raw rows. Maturity (complaint rates) masks values after the sums, the same for both.
A survey counts in its contact's hour, team, agent and channel, so the surveys rollup reads contacts too: its
stamp holds both tables, and a contacts import refreshes the hours of the surveys linked to the contacts it touched.
Beside each rollup the same sums without the agent (`<table>_teams`: at 5,000 agents a hundredth of the rows) and the
same sums per day (`<table>_days`, `<table>_teams_days`) are kept from it in the same transactions: a query that
neither groups nor filters by agent reads the sums without agents, and one grouped by day, week, month or a dimension
(not by hour of the week) the daily sums, which hold a day in one row where the hourly ones need up to 24 (at 10M
contacts a 12-week trend of a team read 130,201 rows of its two row groups for 8,918 it kept). Beside the contacts'
rollup, `<table>_agents` keeps per day, agent, team and name the count of contacts and the latest arrival, from the
raw rows (AGENTS_SQL): the agents' teams and names without a pass over the raw rows.
"""
from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import holidays

from ..store import ROLLUPS_DDL, link_surveys, raw_stamp, rollback
from ._catalog import Catalog, Kpi, load_catalog

ROLLUP_DATASETS = {"contacts": "rollup_contacts", "surveys": "rollup_surveys", "complaints": "rollup_complaints"}
# The raw tables a dataset's rows come from beyond its own, each with the SQL of the times (the dataset's time column)
# of the rows an import $id of that table wrote or replaced: the hours a refresh recomputes. A dataset reading only
# its own table needs none (_touched).
_ALSO_READS = {
    "surveys": {
        # Both keep their contact's arrival (kpi.store SURVEY_CONTACT_COLUMNS): no join with the contacts.
        "surveys": "SELECT coalesce(contact_arrived_at, responded_at) FROM surveys WHERE import_id = $id UNION ALL "
                   "SELECT coalesce(contact_arrived_at, responded_at) FROM surveys_history "
                   "WHERE replaced_by_import_id = $id",
        # The linked surveys' hours before and after: the contact's arrival (old and new version), or the response's
        # when the contact is new (or goes with an undo).
        "contacts": "WITH k AS (SELECT contact_id, arrived_at FROM contacts WHERE import_id = $id UNION ALL "
                    "SELECT contact_id, arrived_at FROM contacts_history WHERE replaced_by_import_id = $id) "
                    "SELECT arrived_at FROM k WHERE contact_id IN (SELECT contact_id FROM surveys) "
                    "UNION ALL SELECT responded_at FROM surveys WHERE contact_id IN (SELECT contact_id FROM k)",
    },
}
CALENDAR_TABLE = "rollup_calendar"
TEAMS_SUFFIX = "_teams"  # the rollup without its agent column (kpi.store keeps it with the rollup: `derived`)
DAYS_SUFFIX = "_days"  # the same sums per day (its __hour holds the day's midnight)
AGENTS_SUFFIX = "_agents"  # the contacts' rollup only: per day, agent, team and name, their count and latest arrival
# What agent_teams_and_names reads of the raw contacts, per day: kept beside the contacts' rollup so that a page's agent
# names and teams need no pass over the raw rows (at 100M contacts a week's 2M rows took 40 ms of the agent table's 106).
AGENTS_SQL = ("SELECT date_trunc('day', arrived_at) AS __hour, team, agent_id, agent_name, count(*) AS __n, "
              "max(arrived_at) AS __last FROM contacts WHERE agent_id IS NOT NULL AND arrived_at >= $start AND "
              "arrived_at < $end GROUP BY ALL")
END_OF_TIME = "TIMESTAMP '9999-12-31 23:59:59'"
_NOT_ADDITIVE = re.compile(r"\b(median|avg|mean|quantile\w*|mode|min|max|arg_\w+|list|string_agg|stddev\w*|var\w*|"
                           r"first|last|any_value|approx\w*|bit_\w+|bool_\w+|product|entropy|kurtosis|skewness)\s*\(|"
                           r"\bDISTINCT\b", re.I)
_CUTOFF_CMP = re.compile(r"(\w+)\s*[<>]=?\s*\$cutoff|\$cutoff\s*[<>]=?\s*(\w+)")


# The code that writes the rollup's SQL: a rollup built by another version of it is rebuilt, never trusted.
_CODE = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(Path(__file__).parent.glob("_[er]*.py")))).hexdigest()


def additive(kpis: list[Kpi]) -> bool:
    """Whether every KPI is a sum of counts and sums (so sums per hour add up to the range's)."""
    return all(not _NOT_ADDITIVE.search(s) for k in kpis for s in (k.sql, k.num, k.den, k.ss) if s)


def summed(kpis: list[Kpi]) -> list[Kpi]:
    """The KPIs a rollup holds: those that are sums of counts and sums."""
    return [k for k in kpis if additive([k])]


def merged(aggregates: list[str]) -> str:
    """SQL adding up the rollup's columns of these aggregates ("expr AS name"): a count over no rows is 0, as raw rows
    give it, a sum NULL; the real-time channels' min and max stay a min and a max."""
    out = []
    for a in aggregates:
        expr, n = a.rsplit(" AS ", 1)
        out.append(f"min({n}) AS {n}" if n == "__rt_min" else f"max({n}) AS {n}" if n == "__rt_max"
                   else f"sum({n}) AS {n}" if re.search(r"\bsum\s*\(", expr) else f"coalesce(sum({n}), 0) AS {n}")
    return ", ".join(out)


def raw_tables(dataset: str) -> list[str]:
    """The raw tables a dataset's rollup reads (its stamp holds each one's)."""
    return sorted(_ALSO_READS.get(dataset) or [dataset])


def _reads(dataset: str, time: str) -> dict[str, str]:
    """Each raw table the rollup reads, with the SQL of the times an import $id of it wrote or replaced."""
    touched = (f"SELECT {time} FROM {dataset} WHERE import_id = $id UNION ALL "
               f"SELECT {time} FROM {dataset}_history WHERE replaced_by_import_id = $id")
    return _ALSO_READS.get(dataset) or {dataset: touched}


def fingerprint(catalog: Catalog, settings: dict[str, Any], dataset: str) -> str:
    """What a rollup's sums depend on: the settings, the dataset's rows and KPIs, and the holiday calendar's version."""
    ds = catalog.datasets[dataset]
    doc = {"settings": {k: v for k, v in settings.items() if not k.startswith("__")},
           "rows": [ds.source, ds.time, ds.dimensions, ds.columns, ds.deadline_from],
           "kpis": [[k.id, k.sql, k.num, k.den, k.ss] for k in catalog.of(dataset)],
           "holidays": getattr(holidays, "__version__", ""), "code": _CODE}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def settles_at(kpis: list[Kpi]) -> str:
    """SQL of the latest moment a group's cut-off measures depend on (NULL: none)."""
    cols = sorted({c for k in kpis for s in (k.sql, k.num, k.den) if s for m in _CUTOFF_CMP.finditer(s)
                   for c in m.groups() if c})
    return f"greatest({', '.join(f'max({c})' for c in cols)})" if cols else "NULL::TIMESTAMP"


def usable(cur: duckdb.DuckDBPyConnection, dataset: str, fp: str) -> str | None:
    """The rollup table of the dataset when it was built with these settings; else None (read raw rows)."""
    table = ROLLUP_DATASETS.get(dataset)
    if table is None:
        return None
    try:
        row = next(iter(cur.execute("SELECT table_name, raw_stamp FROM rollups WHERE dataset = ? AND fingerprint = ?",
                                    [dataset, fp]).fetchall()), None)  # fetched to the end: the cursor is free again
    except duckdb.CatalogException:  # no rollups table yet (an old file read without upgrading)
        return None
    return row[0] if row and row[1] == raw_stamp(cur, raw_tables(dataset)) else None


def ensure(con: duckdb.DuckDBPyConnection, catalog: Catalog | None = None) -> None:
    """Build each rollup that is missing or was built with other settings (kpi.store calls it on a writable open)."""
    catalog = catalog or load_catalog()
    cur = con.cursor()
    try:
        cur.execute(ROLLUPS_DDL)
        for dataset in ROLLUP_DATASETS:
            fp = fingerprint(catalog, catalog.settings, dataset)
            if usable(cur, dataset, fp) is None or not _table_exists(cur, ROLLUP_DATASETS[dataset]):  # missing, other settings, stale
                build(cur, catalog, dataset)
    finally:
        cur.close()


def _table_exists(cur: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(cur.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchone()[0])


def build(cur: duckdb.DuckDBPyConnection, catalog: Catalog, dataset: str) -> None:
    """(Re)build one dataset's rollup from all its rows, with its definition, in one transaction."""
    from ._engine import _aggregates, _bindable, _calendar, _rows_sql  # the engine's own SQL: one definition
    from ._calendar import calendar_table
    settings = catalog.settings
    ds, table = catalog.datasets[dataset], ROLLUP_DATASETS[dataset]
    kpis = summed(catalog.of(dataset))
    if not kpis:
        return
    hours = settings.get("response_target_hours_by_channel") or {}
    covers_from = covers_to = frame = None
    if ds.deadline_from:  # deadlines in business hours: the rollup covers the years its business calendar holds
        first, last = cur.execute(f"SELECT min({ds.time})::DATE, max({ds.time})::DATE FROM ({ds.source})").fetchone()
        today = date.today()
        y0, y1 = (first or today).year - 1, (last or today).year + 2
        covers_from, covers_to = datetime(y0, 1, 1), datetime(y1 + 1, 1, 1)
        spec = settings.get("business_hours") or {}
        calendars = {ch: _calendar(tuple(sorted((spec.get(ch) or {"mon-fri": "09:00-18:00"}).items())), y0 - 1, y1 + 2)
                     for ch in hours}
        frame = calendar_table(calendars, hours, covers_from.date(), covers_to.date())
    groups = list(dict.fromkeys(ds.dimensions.values()))
    aggregates = _aggregates(kpis) + [f"{settles_at(kpis)} AS __settles_at"]
    if "__realtime" in ds.columns:
        aggregates += ["min(channel) FILTER (WHERE __realtime) AS __rt_min",
                       "max(channel) FILTER (WHERE __realtime) AS __rt_max"]
    rows = _rows_sql(ds, kpis, [], calendar=CALENDAR_TABLE)
    select = (f"SELECT date_trunc('hour', __t) AS __hour, {', '.join(groups)}, {', '.join(aggregates)} "
              f"FROM ({rows}) GROUP BY ALL").replace("$cutoff", END_OF_TIME)
    values = {**settings, "deferred_channels": sorted(hours)}
    params = {k: _bindable(values[k]) for k in set(re.findall(r"\$(\w+)", select)) - {"start", "end"}}
    cur.execute("BEGIN TRANSACTION")
    try:
        if dataset == "surveys":  # rows written by other means than an import (SQL) left the surveys' links stale
            link_surveys(cur)
        if frame is not None:
            cur.register("__calendar_df", frame)
            cur.execute(f"CREATE OR REPLACE TABLE {CALENDAR_TABLE} AS SELECT * FROM __calendar_df")
            cur.unregister("__calendar_df")
        cur.execute(f"DROP TABLE IF EXISTS {table}")
        # Stored in hour order, so a week's query skips the other row groups by their min/max (imports append later hours)
        cur.execute(f"CREATE TABLE {table} AS {select} ORDER BY __hour",
                    {**params, "start": covers_from or datetime.min, "end": covers_to or datetime.max})
        derived = _derived(cur, table, groups, ds.dimensions.get("agent"), aggregates)
        if dataset == "contacts":
            derived.update(_agents(cur, table))
        cur.execute("INSERT OR REPLACE INTO rollups (dataset, table_name, time_column, fingerprint, select_sql, params, "
                    "covers_from, covers_to, built_at, raw_stamp, reads, derived) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [dataset, table, ds.time, fingerprint(catalog, settings, dataset), select,
                     json.dumps(params, default=str), covers_from, covers_to, datetime.now(),
                     raw_stamp(cur, raw_tables(dataset)), json.dumps(_reads(dataset, ds.time)), json.dumps(derived)])
        cur.execute("COMMIT")
    except BaseException:
        rollback(cur)
        raise


def _derived(cur: duckdb.DuckDBPyConnection, table: str, groups: list[str], agent: str | None,
             aggregates: list[str]) -> dict[str, dict[str, str]]:
    """Create the tables kept beside the rollup from it (without the agent, per day, both), filled over every hour;
    returns their definitions ({table: {"sql": over [$start, $end), "grain": "hour" or "day"}}) for kpi.store. Each
    has the rollup's column types (its counts' sums stay BIGINT: DuckDB's sum of a BIGINT is a HUGEINT, twice the
    bytes to scan)."""
    sums = merged([a for a in aggregates if not a.endswith(" AS __settles_at")])
    variants = {"": groups, **({TEAMS_SUFFIX: [g for g in groups if g != agent]} if agent else {})}
    out = {}
    for suffix, kept in variants.items():
        for grain in ("hour", "day"):
            if not suffix and grain == "hour":
                continue  # the rollup itself
            name = f"{table}{suffix}{DAYS_SUFFIX if grain == 'day' else ''}"
            hour = "date_trunc('day', __hour)" if grain == "day" else "__hour"
            sql = (f"SELECT {hour} AS __hour, {', '.join(kept)}, {sums}, max(__settles_at) AS __settles_at FROM {table} "
                   "WHERE __hour >= $start AND __hour < $end GROUP BY ALL")
            cur.execute(f"DROP TABLE IF EXISTS {name}")
            dropped = f" EXCLUDE ({agent})" if agent and agent not in kept else ""
            cur.execute(f"CREATE TABLE {name} AS SELECT *{dropped} FROM {table} LIMIT 0")
            cur.execute(f"INSERT INTO {name} BY NAME {sql} ORDER BY __hour", {"start": datetime.min, "end": datetime.max})
            out[name] = {"sql": sql, "grain": grain}
    return out


def _agents(cur: duckdb.DuckDBPyConnection, table: str) -> dict[str, dict[str, str]]:
    """Create the contacts' per-day agent table (AGENTS_SQL) beside their rollup, filled from every raw row; returns its
    definition as _derived does (kpi.store refreshes it with the rollup, from the raw rows of the days an import
    touched)."""
    name = f"{table}{AGENTS_SUFFIX}"
    cur.execute(f"DROP TABLE IF EXISTS {name}")
    cur.execute(f"CREATE TABLE {name} AS {AGENTS_SQL} ORDER BY __hour", {"start": datetime.min, "end": datetime.max})
    return {name: {"sql": AGENTS_SQL, "grain": "day"}}


def derived_tables(cur: duckdb.DuckDBPyConnection, table: str) -> frozenset[str]:
    """The tables kept beside the rollup (the same sums without the agent, per day): none for a file from before them."""
    try:
        row = next(iter(cur.execute("SELECT derived FROM rollups WHERE table_name = ?", [table]).fetchall()), None)
    except duckdb.BinderException:  # a file from before `derived`, read without upgrading
        return frozenset()
    return frozenset(json.loads(row[0] or "{}")) if row else frozenset()


def table_for(derived: frozenset[str], table: str, agent: bool, daily: bool) -> str:
    """The coarsest kept table that answers a query: without the agent unless it groups or filters by agent, per day
    unless it groups by hour of the week or finer."""
    name = f"{table}{TEAMS_SUFFIX}" if not agent and f"{table}{TEAMS_SUFFIX}" in derived else table
    return f"{name}{DAYS_SUFFIX}" if daily and f"{name}{DAYS_SUFFIX}" in derived else name


def first_unsettled(cur: duckdb.DuckDBPyConnection, table: str, start: datetime, end: datetime,
                    cutoff: Any) -> datetime | None:
    """The first hour in [start, end) whose cut-off measures may still change by the cut-off (read it from raw rows)."""
    return cur.execute(f"SELECT min(__hour) FROM {table} WHERE __hour >= $start AND __hour < $end AND "
                       "NOT coalesce(__settles_at <= $cutoff, __settles_at IS NULL)",
                       {"start": start, "end": end, "cutoff": cutoff}).fetchall()[0][0]
