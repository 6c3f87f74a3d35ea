"""Small helpers the tests share: literal rows into an in-memory database, reading a database file back, the values
of a chart's series as pages draw them, and a workbook from literal rows."""
from __future__ import annotations

from pathlib import Path

import duckdb
import openpyxl
import pandas as pd

from kpi import present, store


def db_with(**tables: list[dict]) -> duckdb.DuckDBPyConnection:
    """An in-memory database with the current schema and these literal rows (import 1 wrote them)."""
    con = duckdb.connect()
    store.migrate(con)
    for table, rows in tables.items():
        for r in rows:
            r = {**r, "import_id": 1, "created_import_id": 1}
            cols = ", ".join(r)
            con.execute(f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' * len(r))})", list(r.values()))
    store.link_surveys(con)  # each survey's copy of its contact's columns, as an import keeps it
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


def workbook(path: Path, sheets: dict[str, list[list]], merged: dict[str, list[str]] | None = None) -> Path:
    """An xlsx of these sheets (name -> rows, written from A1), with these merged ranges per sheet (A1:M1)."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, sheet_rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in sheet_rows:
            ws.append(r)
        for ref in (merged or {}).get(name, []):
            ws.merge_cells(ref)
    wb.save(path)
    return path


def html_tables(at) -> list[pd.DataFrame]:
    """The static HTML tables (kpi.present.table_to_html) a page (an AppTest, or a list of its Html elements) drew with
    st.html (ui.widgets.show_table), as the reader sees them: the header row as columns, each cell's text."""
    frames = (present.html_table_frame(node.proto.body) for node in (at if isinstance(at, list) else at.get("html")))
    return [f for f in frames if f is not None]
