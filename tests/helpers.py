"""Small helpers the tests share: literal rows into an in-memory database, reading a database file back, the values
of a chart's series as pages draw them, and a workbook from literal rows."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

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


def tiles(at) -> list[SimpleNamespace]:
    """The KPI tiles (kpi.present.tiles_html) a page (an AppTest, or a list of its Html elements) drew with st.html
    (ui.widgets.show_tiles), in order, as the reader sees them: label, value, help (the definition behind the ⓘ),
    delta, tone (good, bad, off), note, lines (text) and badges (the statuses of the lines' badges)."""
    nodes = at if isinstance(at, list) else at.get("html")
    return [SimpleNamespace(**x) for node in nodes if 'class="kpi-tiles"' in node.proto.body
            for x in present.read_tiles(node.proto.body)]


def svg_charts(at) -> list[dict]:
    """The charts a page (an AppTest) drew as static SVG (ui.widgets.chart, kpi.present.svg_chart), read back."""
    return [read_svg_chart(node.proto.body) for node in at.get("html") if 'class="kpi-chart"' in node.proto.body]


def read_svg_chart(body: str) -> dict:
    """A chart kpi.present.svg_chart drew (its HTML block), read back from what was drawn, in the shape of the ECharts
    option it came from: grid (one per drawn grid), xAxis (type, categories), yAxis (name, categories of a category
    axis), series (type, name, the values drawn, line dash and colour, symbols, axes, and each point's, bar's, cell's
    or reference line's hover text); svg is the parsed image itself."""
    import json
    import re
    import xml.etree.ElementTree as ET
    from html import unescape
    from urllib.parse import unquote

    ns = "{http://www.w3.org/2000/svg}"
    svg = ET.fromstring(unquote(re.search(r"<img src='data:image/svg\+xml;charset=utf-8,([^']*)'", body).group(1)))
    hovers: dict[int, list[str]] = {}
    for index, title in re.findall(r'<i data-series="(\d+)" title="([^"]*)"', body):
        hovers.setdefault(int(index), []).append(unescape(title))
    groups = list(svg.iter(f"{ns}g"))
    names = {int(e.get("data-axis")): "".join(e.itertext()) for e in svg.iter(f"{ns}svg") if e.get("class") == "y-name"}
    y_cats = {int(g.get("data-axis")): json.loads(g.get("data-categories")) for g in groups if g.get("class") == "y-axis"}
    series = sorted(({"index": int(g.get("data-index")), "type": g.get("data-type"), "name": g.get("data-name"),
                      "data": json.loads(g.get("data-values")), "showSymbol": g.get("data-symbol") == "1",
                      "lineStyle": {"type": g.get("data-dash"), "color": g.get("data-color")},
                      "xAxisIndex": int(g.get("data-x-axis")), "yAxisIndex": int(g.get("data-y-axis")),
                      "hovers": hovers.get(int(g.get("data-index")), []), "element": g}
                     for g in groups if g.get("class") == "series"), key=lambda s: s["index"])
    y_count = max([s["yAxisIndex"] for s in series] + list(names) + list(y_cats), default=-1) + 1
    return {"grid": [g for g in groups if g.get("class") == "grid"],
            "xAxis": [{"type": g.get("data-type"), "data": json.loads(g.get("data-categories"))} for g in groups
                      if g.get("class") == "x-axis"],
            "yAxis": [{"name": names.get(i), "data": y_cats.get(i)} for i in range(y_count)],
            "series": series, "svg": svg}
