"""Rollups kept at import: additive sums per hour and group of a dataset's rows, so pages need not scan every row.

The store keeps them exact without knowing the KPIs: kpi.metrics builds a rollup (its table, and in table `rollups`
the SELECT that computes it from the raw rows for a span of time, with the parameters it binds, a fingerprint of the
settings it was built with, and the raw tables it reads, each with the SQL of the times an import of that table
touches) and registers a builder here (set_rollup_builder). Each import and undo of a table then calls
refresh_rollups in its own transaction, which recomputes the days the import touched in every rollup that reads the
table, a range of days at a time (import_span; a survey's hour and team come from its contact: a contacts import
refreshes the surveys rollup too); a writable open (open_db) lets the builder build a missing rollup or rebuild one
made with other settings. A span the rollup's business calendar does not cover drops the rollup: the engine then reads
raw rows, never stale sums.
"""
from __future__ import annotations

import json
import re
from bisect import bisect_left, bisect_right
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable

import duckdb

ROLLUPS_DDL = """CREATE TABLE IF NOT EXISTS rollups (
  dataset VARCHAR PRIMARY KEY, table_name VARCHAR NOT NULL, time_column VARCHAR NOT NULL,
  fingerprint VARCHAR NOT NULL, select_sql VARCHAR NOT NULL, params VARCHAR NOT NULL,
  covers_from TIMESTAMP, covers_to TIMESTAMP, built_at TIMESTAMP NOT NULL, raw_stamp VARCHAR, reads VARCHAR);
ALTER TABLE rollups ADD COLUMN IF NOT EXISTS reads VARCHAR;
ALTER TABLE rollups ADD COLUMN IF NOT EXISTS derived VARCHAR"""
# reads: {raw table: SQL of the times import $id touched}; derived: {table: {"sql": SQL computing it from the rollup
# table (or the raw rows) over [$start, $end), "grain": "hour" or "day"}} (a file from before grains: {table: SQL},
# hourly), coarser tables (the same sums without the agent, per day) kept with the rollup and read when a query needs no
# finer ones, refreshed after it

_builder: Callable[[duckdb.DuckDBPyConnection], None] | None = None
# rollup's dataset -> the ranges [start, end) of whole days an import's rows occupy, None: no rows of that rollup
Spans = dict[str, list[tuple[datetime, datetime]] | None]
# At most about this many raw rows (stored, and the import's own) in one refresh statement: an import spread over a
# year of a 100M-contact file recomputed all of it at once (119.5 s, 19.5 GB); a statement's aggregate holds about 200
# bytes per row it reads. More statements cost little: each reads the import's uncommitted rows again (no zone maps
# there), about 0.18 s per million; a new period's file, or a first import of up to 4M rows, stays one statement.
RANGE_ROWS = 4_000_000


def set_rollup_builder(fn: Callable[[duckdb.DuckDBPyConnection], None] | None) -> None:
    """Who builds missing or outdated rollups on a writable open (kpi.metrics registers itself when imported)."""
    global _builder
    _builder = fn


def ensure_rollups(cur: duckdb.DuckDBPyConnection) -> None:
    """Build missing rollups, rebuild outdated ones (the registered builder decides which); nothing without one."""
    if _builder is not None:
        _builder(cur)


def _definitions(cur: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    """(dataset, rollup table, select, params, covers_from, covers_to, reads, derived) of every rollup reading a raw
    table."""
    try:
        rows = cur.execute("SELECT dataset, table_name, select_sql, params, covers_from, covers_to, reads, derived "
                           "FROM rollups ORDER BY dataset").fetchall()
    except (duckdb.CatalogException, duckdb.BinderException):  # a database from before rollups (or before `reads`)
        return []
    return [r[:6] + (json.loads(r[6]), json.loads(r[7] or "{}")) for r in rows if r[6] and table in json.loads(r[6])]


def import_span(cur: duckdb.DuckDBPyConnection, table: str, import_id: int, most: int | None = None) -> Spans:
    """The days an import's rows occupy (the versions it wrote and the ones it replaced) in each rollup reading the
    table, as ranges of whole days [start, end) that each hold at most about `most` raw rows (RANGE_ROWS): those the
    rollup counts there now and the import's (a single day may hold more); None: no rows of that rollup. Called after an
    import's writes, and before an undo's."""
    spans: Spans = {}
    for dataset, rollup, *_, reads, _derived in _definitions(cur, table):
        touched = cur.execute(f"SELECT date_trunc('day', t)::TIMESTAMP AS day, count(*) FROM ({reads[table]}) AS "
                              "touched(t) WHERE t IS NOT NULL GROUP BY ALL ORDER BY day", {"id": import_id}).fetchall()
        if not touched:
            spans[dataset] = None
            continue
        stored = dict(cur.execute(
            f"SELECT date_trunc('day', __hour)::TIMESTAMP, sum(__n) FROM {rollup} WHERE __hour >= $start AND "
            "__hour < $end GROUP BY ALL", {"start": touched[0][0], "end": touched[-1][0] + timedelta(days=1)}).fetchall())
        spans[dataset] = day_ranges(touched, stored, most or RANGE_ROWS)
    return spans


def day_ranges(touched: list[tuple[datetime, int]], stored: dict[datetime, int],
               most: int) -> list[tuple[datetime, datetime]]:
    """Ranges [start, end) of whole days covering every touched day (in order, with its row count), each holding at
    most `most` rows counted in `stored` (per day) and `touched`, unless one day alone holds more. Untouched days
    between two touched ones join their range when it has room, so a range is read in one statement."""
    days = sorted(stored)
    before = [0]  # before[i]: the stored rows of days[:i]
    for d in days:
        before.append(before[-1] + int(stored[d]))
    ranges: list[tuple[datetime, datetime]] = []
    start, load, last = None, 0, None
    for day, n in touched:
        here = int(stored.get(day, 0)) + int(n)
        if start is not None:
            between = before[bisect_left(days, day)] - before[bisect_right(days, last)]
            if load + between + here <= most:
                load, last = load + between + here, day
                continue
            ranges.append((start, last + timedelta(days=1)))
        start, load, last = day, here, day
    ranges.append((start, last + timedelta(days=1)))
    return ranges


def refresh_rollups(cur: duckdb.DuckDBPyConnection, table: str, spans: Spans | None) -> None:
    """Recompute each rollup reading the table over each range of its span (import_span) from the raw rows, in the
    caller's transaction, then its derived tables from it over the same days, and stamp it with the raw tables as they
    now stand. A span outside what the rollup can compute (its business calendar) drops the rollup instead."""
    for dataset, rollup, select_sql, params, covers_from, covers_to, reads, derived in _definitions(cur, table):
        ranges = (spans or {}).get(dataset) or []
        if ranges and ((covers_from is not None and ranges[0][0] < covers_from) or
                       (covers_to is not None and ranges[-1][1] > covers_to)):
            drop_rollup(cur, dataset)
            continue
        for start, end in ranges:
            span_of = {"start": start, "end": end}  # whole days: each kept table's hours or days within them
            cur.execute(f"DELETE FROM {rollup} WHERE __hour >= $start AND __hour < $end", span_of)
            cur.execute(f"INSERT INTO {rollup} BY NAME {select_sql}", _used(select_sql, {**json.loads(params), **span_of}))
            for coarse, spec in derived.items():
                sql = spec if isinstance(spec, str) else spec["sql"]
                cur.execute(f"DELETE FROM {coarse} WHERE __hour >= $start AND __hour < $end", span_of)
                cur.execute(f"INSERT INTO {coarse} BY NAME {sql}", span_of)
        cur.execute("UPDATE rollups SET raw_stamp = ? WHERE dataset = ?", [raw_stamp(cur, reads), dataset])


def raw_stamp(cur: duckdb.DuckDBPyConnection, tables: Iterable[str]) -> str:
    """Each raw table's row count and latest import: a rollup whose stamp differs (rows written by other means than an
    import, e.g. SQL) is not used."""
    stamps = []
    for t in sorted(tables):
        n, last = cur.execute(f"SELECT count(*), max(import_id) FROM {t}").fetchall()[0]
        stamps.append(f"{n}/{last}")
    return " ".join(stamps)


def drop_rollup(cur: duckdb.DuckDBPyConnection, dataset: str) -> None:
    """Forget a dataset's rollup (its table and definition): the engine reads raw rows until one is built again."""
    try:
        row = cur.execute("SELECT table_name, derived FROM rollups WHERE dataset = ?", [dataset]).fetchone()
    except duckdb.BinderException:  # a file from before `derived`
        row = cur.execute("SELECT table_name, NULL FROM rollups WHERE dataset = ?", [dataset]).fetchone()
    except duckdb.CatalogException:
        return
    if row is not None:
        for name in [row[0], *json.loads(row[1] or "{}")]:
            cur.execute(f"DROP TABLE IF EXISTS {name}")
        cur.execute("DELETE FROM rollups WHERE dataset = ?", [dataset])


def _used(sql: str, values: dict[str, Any]) -> dict[str, Any]:
    return {k: values[k] for k in set(re.findall(r"\$(\w+)", sql))}
