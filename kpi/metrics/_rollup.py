"""The contacts rollup: every contact KPI's sums per hour x team x agent x channel x queue x direction, kept exact at
import and undo (kpi.store refresh_rollups runs the SELECT built here), keyed by the settings it was built with.

Exactness: every contact KPI is a sum of counts and sums (checked: a KPI with another aggregate keeps its dataset on
raw rows), and hours are whole in every grain (day, ISO week, month, weekday x hour). Settings (thresholds, real-time
and deferred channels, business hours) are bound when the rollup is built; its fingerprint holds them with the KPIs'
SQL, and compute_kpis reads raw rows when the fingerprint differs from the settings it is given. Measures judged at the
data's cut-off (a deadline passed, an answer after the cut-off) are summed as if the cut-off were at the end of time;
each rollup row keeps the latest of those moments (__settles_at), and hours from the first one not settled by the
cut-off on are read from raw rows.
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

from ..store import ROLLUPS_DDL, raw_stamp, rollback
from ._catalog import Catalog, Kpi, load_catalog

ROLLUP_DATASETS = {"contacts": "rollup_contacts"}  # datasets whose source reads their own table only
CALENDAR_TABLE = "rollup_calendar"
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
        row = cur.execute("SELECT table_name, raw_stamp FROM rollups WHERE dataset = ? AND fingerprint = ?",
                          [dataset, fp]).fetchone()
    except duckdb.CatalogException:  # no rollups table yet (an old file read without upgrading)
        return None
    return row[0] if row and row[1] == raw_stamp(cur, dataset) else None


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
    ds, kpis, table = catalog.datasets[dataset], catalog.of(dataset), ROLLUP_DATASETS[dataset]
    if not additive(kpis):
        return
    first, last = cur.execute(f"SELECT min({ds.time})::DATE, max({ds.time})::DATE FROM {dataset}").fetchone()
    today = date.today()
    y0, y1 = (first or today).year - 1, (last or today).year + 2
    covers_from, covers_to = datetime(y0, 1, 1), datetime(y1 + 1, 1, 1)
    hours = settings.get("response_target_hours_by_channel") or {}
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
        cur.register("__calendar_df", frame)
        cur.execute(f"CREATE OR REPLACE TABLE {CALENDAR_TABLE} AS SELECT * FROM __calendar_df")
        cur.unregister("__calendar_df")
        cur.execute(f"DROP TABLE IF EXISTS {table}")
        # Stored in hour order, so a week's query skips the other row groups by their min/max (imports append later hours)
        cur.execute(f"CREATE TABLE {table} AS {select} ORDER BY __hour", {**params, "start": covers_from, "end": covers_to})
        cur.execute("INSERT OR REPLACE INTO rollups VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [dataset, table, ds.time, fingerprint(catalog, settings, dataset), select,
                     json.dumps(params, default=str), covers_from, covers_to, datetime.now(), raw_stamp(cur, dataset)])
        cur.execute("COMMIT")
    except BaseException:
        rollback(cur)
        raise


def first_unsettled(cur: duckdb.DuckDBPyConnection, table: str, start: datetime, end: datetime,
                    cutoff: Any) -> datetime | None:
    """The first hour in [start, end) whose cut-off measures may still change by the cut-off (read it from raw rows)."""
    return cur.execute(f"SELECT min(__hour) FROM {table} WHERE __hour >= $start AND __hour < $end AND "
                       "NOT coalesce(__settles_at <= $cutoff, __settles_at IS NULL)",
                       {"start": start, "end": end, "cutoff": cutoff}).fetchone()[0]
