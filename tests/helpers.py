"""Small helpers the tests share: literal rows into an in-memory database, reading a database file back, and the
values of a chart's series as pages draw them."""
from __future__ import annotations

import duckdb

from kpi import store


def db_with(**tables: list[dict]) -> duckdb.DuckDBPyConnection:
    """An in-memory database with the current schema and these literal rows (import 1 wrote them)."""
    con = duckdb.connect()
    store.migrate(con)
    for table, rows in tables.items():
        for r in rows:
            r = {**r, "import_id": 1, "created_import_id": 1}
            cols = ", ".join(r)
            con.execute(f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' * len(r))})", list(r.values()))
    return con


def rows(db, sql: str) -> list[tuple]:
    """The result of one query on a database file, opened read-only."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def snapshot(db) -> dict[str, list[str]]:
    """Every table's full content, to prove that something changed nothing."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [t for (t,) in con.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()]
        return {t: sorted(map(repr, con.execute(f"SELECT * FROM {t}").fetchall())) for t in tables}
    finally:
        con.close()


def chart_values(series: dict) -> list:
    """An ECharts series' y values: plain, {"value": y, ...}, or [x, y, hover text] items (kpi.present.echarts_option)."""
    out = []
    for d in series["data"]:
        d = d["value"] if isinstance(d, dict) else d
        out.append(d[1] if isinstance(d, list) else d)
    return out
