"""Rollups kept at import: additive sums per hour and group of a dataset's rows, so pages need not scan every row.

The store keeps them exact without knowing the KPIs: kpi.metrics builds a rollup (its table, and in table `rollups`
the SELECT that computes it from the raw rows for a span of time, with the parameters it binds and a fingerprint of
the settings it was built with) and registers a builder here (set_rollup_builder). Each import and undo then calls
refresh_rollups in its own transaction, which recomputes the span of hours the import touched; a writable open
(open_db) lets the builder build a missing rollup or rebuild one made with other settings. A span the rollup's business
calendar does not cover drops the rollup: the engine then reads raw rows, never stale sums.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, Callable

import duckdb

ROLLUPS_DDL = """CREATE TABLE IF NOT EXISTS rollups (
  dataset VARCHAR PRIMARY KEY, table_name VARCHAR NOT NULL, time_column VARCHAR NOT NULL,
  fingerprint VARCHAR NOT NULL, select_sql VARCHAR NOT NULL, params VARCHAR NOT NULL,
  covers_from TIMESTAMP, covers_to TIMESTAMP, built_at TIMESTAMP NOT NULL, raw_stamp VARCHAR)"""

_builder: Callable[[duckdb.DuckDBPyConnection], None] | None = None


def set_rollup_builder(fn: Callable[[duckdb.DuckDBPyConnection], None] | None) -> None:
    """Who builds missing or outdated rollups on a writable open (kpi.metrics registers itself when imported)."""
    global _builder
    _builder = fn


def ensure_rollups(cur: duckdb.DuckDBPyConnection) -> None:
    """Build missing rollups, rebuild outdated ones (the registered builder decides which); nothing without one."""
    if _builder is not None:
        _builder(cur)


def _definition(cur: duckdb.DuckDBPyConnection, dataset: str) -> tuple | None:
    try:
        return cur.execute("SELECT table_name, time_column, select_sql, params, covers_from, covers_to FROM rollups "
                           "WHERE dataset = ?", [dataset]).fetchone()
    except duckdb.CatalogException:  # a database from before rollups (opened read-only, not migrated)
        return None


def import_span(cur: duckdb.DuckDBPyConnection, dataset: str, import_id: int) -> tuple[datetime, datetime] | None:
    """The hours an import's rows occupy (the versions it wrote and the ones it replaced), as [first, last] hour, or
    None without a rollup or rows. Called after an import's writes, and before an undo's."""
    d = _definition(cur, dataset)
    if d is None:
        return None
    t = d[1]
    first, last = cur.execute(
        f"SELECT date_trunc('hour', min({t})), date_trunc('hour', max({t})) FROM (SELECT {t} FROM {dataset} "
        f"WHERE import_id = $id UNION ALL SELECT {t} FROM {dataset}_history WHERE replaced_by_import_id = $id)",
        {"id": import_id}).fetchone()
    return None if first is None else (first, last)


def refresh_rollups(cur: duckdb.DuckDBPyConnection, dataset: str, span: tuple[datetime, datetime] | None) -> None:
    """Recompute the dataset's rollup over the hours of span from its raw rows, in the caller's transaction. A span
    outside what the rollup can compute (its business calendar) drops the rollup instead."""
    d = _definition(cur, dataset)
    if d is None or span is None:
        return
    table, _, select_sql, params, covers_from, covers_to = d
    start, end = span[0], span[1] + timedelta(hours=1)
    if (covers_from is not None and start < covers_from) or (covers_to is not None and end > covers_to):
        drop_rollup(cur, dataset)
        return
    cur.execute(f"DELETE FROM {table} WHERE __hour >= $start AND __hour < $end", {"start": start, "end": end})
    values = {**json.loads(params), "start": start, "end": end}
    cur.execute(f"INSERT INTO {table} BY NAME {select_sql}", _used(select_sql, values))
    cur.execute("UPDATE rollups SET raw_stamp = ? WHERE dataset = ?", [raw_stamp(cur, dataset), dataset])


def raw_stamp(cur: duckdb.DuckDBPyConnection, dataset: str) -> str:
    """The raw table's row count and latest import: a rollup whose stamp differs (rows written by other means than an
    import, e.g. SQL) is not used."""
    n, last = cur.execute(f"SELECT count(*), max(import_id) FROM {dataset}").fetchone()
    return f"{n}/{last}"


def drop_rollup(cur: duckdb.DuckDBPyConnection, dataset: str) -> None:
    d = _definition(cur, dataset)
    if d is not None:
        cur.execute(f"DROP TABLE IF EXISTS {d[0]}")
        cur.execute("DELETE FROM rollups WHERE dataset = ?", [dataset])


def _used(sql: str, values: dict[str, Any]) -> dict[str, Any]:
    import re
    return {k: values[k] for k in set(re.findall(r"\$(\w+)", sql))}
