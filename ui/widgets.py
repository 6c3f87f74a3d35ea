"""Shared pieces every page uses: the KPI tile, the competency widget, and a table with its downloads."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
import hashlib
import html
import json
import logging

import pandas as pd
import streamlit as st

from kpi import competency, present
from kpi.metrics import Kpi, KpiValue, load_catalog
from kpi.present import colon, echarts_option, figure_height, join_list, svg_chart, value_label

from .access import current_scope
from .frame import Filters
from .i18n import fmt, fmt_change, in_this_language, kpi_label, lang, t

STATUS_COLOR = {"good": "green", "warning": "orange", "bad": "red", "uncertain": "gray", "maturing": "gray",
                "no_value": "gray", None: "gray"}


@st.cache_resource
def competency_map() -> competency.CompetencyMap:
    """The validated competency map, loaded once per process."""
    return competency.load_competency_map()


def chart(fig, where=None) -> None:
    """A plotly figure drawn as static inline SVG, the width of `where` (a column; default the page).

    Figures are built once, in plotly, for pages and PDF reports alike, and translated to an ECharts option
    (kpi.present.echarts_option); a page draws that option as SVG (kpi.present.svg_chart): a chart component costs a
    new browser session its script bundle and the time to draw, the weekly page's three about 0.9 s of script
    (docs/benchmarks.md, browser). Each point, bar and cell shows its hover text as a tooltip."""
    (where or st).html(svg_chart(echarts_option(fig), figure_height(fig), width_px=1100 if where is None else 540))


def status_badge(status: str | None) -> str:
    """A status as a coloured HTML badge (tiles)."""
    return present.badge_html(status, t(f"status.{status or 'none'}"))


def status_badge_md(status: str | None) -> str:
    """Markdown badge for a status, coloured (in st.markdown)."""
    label = t(f"status.{status or 'none'}")
    return f":{STATUS_COLOR[status]}-badge[{label}]"


def kpi_tile(kpi: Kpi, v: KpiValue, *, vs: str | None = None, by_channel: dict[str, KpiValue] | None = None,
             over: str | None = None) -> present.Tile:
    """A KPI's tile: its value with its target, status colour, n and interval, and change against the previous period.

    A change within noise is shown uncoloured; a maturing value says when it matures; a KPI judged per channel with
    no single channel chosen shows each channel's value and status (by_channel) and no status for the blend (a
    real-time measure has no blended value; AHT's blend shows its value only). over: the range the value is of, when it
    is not the page's (a small line first). Drawn with show_tiles."""
    real = v.trend in ("worse", "better")
    note = vs if real or v.trend is None else join_list([x for x in (vs, t("tile.noise")) if x], lang())
    if v.value is None or v.change is None:  # no change shown: no "較前一週" under a bare "—"
        note = None
    # Coloured as st.metric's delta was: by whether the change itself is for the better (handle time down: green),
    # only when it is beyond noise; grey otherwise. (The verdict "better"/"worse" can come from the XmR limits while
    # this week still moved the other way: the colour follows the arrow shown.)
    up = v.change is not None and v.change > 0
    tone = (("good" if up == (kpi.better == "higher") else "bad") if real and kpi.better in ("higher", "lower")
            and v.change else None)
    if real and kpi.better == "near":  # good near the target: the verdict says whether it came nearer or went off
        tone = "good" if v.trend == "better" else "bad"
    head = dict(label=kpi_label(kpi), value=fmt(kpi, v.value), help=kpi.text("definition", lang(), load_catalog().settings),
                delta=fmt_change(kpi, v.change), tone=tone, note=note)
    if by_channel:  # judged per channel: each channel against its own target, no status for the blend
        lines = [present.bold_html(t("tile.by_channel") if v.value is None else t("tile.by_channel_targets"))]
        for ch, cv in by_channel.items():
            if cv.value is not None:
                text = t("tile.channel_line", channel=value_label("channel", ch, lang()), value=fmt(kpi, cv.value),
                         badge="\x00", target=fmt(kpi, cv.target), n=f"{cv.n:,.0f}" if cv.n is not None else "—")
                lines.append(present.bold_html(text).replace("\x00", status_badge(cv.status)))
        return present.Tile(**head, lines=tuple(lines))
    target = t("tile.target", target=fmt(kpi, v.target)) if v.target is not None else ""
    shown = v.status or ("maturing" if v.matures_on else "no_value" if v.value is None and v.target is not None else None)
    note = None
    if v.matures_on is not None:
        note = t("tile.maturing", date=v.matures_on)
    elif v.n is not None:
        parts = [t("tile.n", n=f"{v.n:,.0f}")]
        if v.interval is not None:
            parts.append(t("tile.interval", low=fmt(kpi, v.interval[0]), high=fmt(kpi, v.interval[1])))
        note = " · ".join(parts)
    return present.Tile(**head, lines=(f"{status_badge(shown)} {html.escape(target)}".strip(),),
                        small=tuple(html.escape(x) for x in (over, note) if x))


def show_tiles(tiles: Sequence[present.Tile], columns: int | None = None, where=None, boxed: bool = True) -> None:
    """Tiles drawn as one block of static HTML (kpi.present.tiles_html), `columns` to a row (default all in one)."""
    (where or st).html(present.tiles_html(list(tiles), columns, boxed))


def competency_widget(kpi_id: str, *, expanded: bool = False, coaching: bool = False) -> None:
    """The behaviour indicators a KPI evidences (codes and full text), optionally with what to coach."""
    cmap = competency_map()
    link = cmap.link(kpi_id)
    lg = lang()
    with st.expander(f"{t('competency.title')} · {join_list(link.indicators, lg)}", expanded=expanded or print_view()):
        for ind in competency.indicators_for_kpi(cmap, kpi_id):
            task = cmap.task(ind.task)
            st.markdown(f"**{ind.code}** {ind.label(lg)}  \n:gray[{task.code} {task.label(lg)}]")
        if coaching:
            ks = [f"{k.code} {k.label(lg)}" for k in competency.knowledge_for_kpi(cmap, kpi_id)]
            ss = [f"{s.code} {s.label(lg)}" for s in competency.skills_for_kpi(cmap, kpi_id)]
            st.markdown(f"**{t('competency.knowledge')}**{colon(lg)}{join_list(ks, lg)}")
            st.markdown(f"**{t('competency.skills')}**{colon(lg)}{join_list(ss, lg)}")
            st.markdown(f"**{t('competency.coaching')}**")
            for c in link.coaching:
                st.markdown(f"- {c.label(lg)}")


def report_downloads(key: str, build, name: Sequence[str | None]) -> None:
    """A button that builds a report once (build() -> kpi.reports.Report), then its PDF and xlsx downloads, named as
    a table's are (客戶服務報告_2026-11-02_2026-11-08_會員服務組_電話.pdf: kpi.present.export_file_name)."""
    from kpi import reports

    from .i18n import t

    stored = st.session_state.get("_report")
    # what the report is built from, said above the button (its tooltip was cut off at the page's left edge)
    st.caption(t("report.help"))
    if st.button(t("report.make"), key=f"make_{key}"):
        with st.spinner(t("report.making")):
            try:
                report = build()
                stored = (key, reports.to_pdf(report), reports.to_xlsx(report))
                st.session_state["_report"] = stored
            except (ValueError, reports.FontNotFound) as exc:  # e.g. a month without actuals, no CJK font
                st.error(t("report.failed", error=exc))
                stored = None
            except Exception:  # noqa: BLE001 - the PDF writer's fonts and chart browser: said, logged, no traceback
                logging.getLogger(__name__).exception("report %s", key)
                st.error(t("report.failed_unexpected"))
                stored = None
    if stored and stored[0] == key:
        from .auth import audited

        pdf, xlsx = present.export_file_name(name, "pdf"), present.export_file_name(name, "xlsx")
        c1, c2 = st.columns(2)
        c1.download_button(t("report.pdf"), audited(lambda: stored[1], pdf), file_name=pdf,
                           mime="application/pdf", key=f"pdf_{key}", on_click="ignore")
        c2.download_button(t("report.xlsx"), audited(lambda: stored[2], xlsx),
                           file_name=xlsx, key=f"xlsx_{key}", on_click="ignore",
                           mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def import_error(exc: Exception) -> None:
    """A file that can't be imported (kpi.imports.FatalImportError), said in the reader's language: by its code where
    it has one; otherwise a sentence in Chinese and the command line's English reason under 技術細節 on a zh-TW page."""
    from kpi.imports import FatalImportError

    from .i18n import lang, t

    code, params = (exc.code, dict(exc.params)) if isinstance(exc, FatalImportError) else (None, {})
    if code == "missing_column":
        params.update(column=value_label("field", params["column"], lang()), dataset=t(f"ds.{params['dataset']}"))
    if code == "unreadable_csv" and params.get("row"):
        code = "unreadable_csv_row"
    if code:
        st.error(t(f"imp.fatal.{code}", **params))
    elif lang() == "en":
        st.error(t("imp.fatal", error=exc))
    else:
        st.error(t("imp.fatal_other"))
        with st.expander(t("imp.fatal_detail")):
            st.code(str(exc), language=None, wrap_lines=True)


def import_history_table(history, key: str) -> None:
    """The import history with its columns named in the current language."""
    from .i18n import t

    lg = lang()
    shown = history.copy()
    for column, dimension in (("dataset", "ds"), ("source", "source"), ("run_by", "run_by")):
        if column in shown:  # data values in the reader's language; a user name stays as it is
            shown[column] = shown[column].map(lambda v, d=dimension: "—" if v is None else value_label(d, str(v), lg))
    for column in ("finished_at", "undone_at"):  # a date as a date; no "None" while not undone
        if column in shown:
            shown[column] = shown[column].map(lambda v: "—" if v is None or v != v else f"{v:%Y-%m-%d %H:%M:%S}")
    labels = {c: t(f"hist.{c}") for c in shown.columns if f"hist.{c}" in _HIST_KEYS}
    show_table(page_table(shown, [t("data.history")], None, f"{datetime.now():%Y-%m-%d}", kinds={
        "import_id": "int", **{c: "count" for c in ("rows_read", "inserted", "updated", "unchanged", "rejected")}},
        labels=labels), key)


_HIST_KEYS = {f"hist.{c}" for c in ("import_id", "dataset", "file_name", "source", "run_by", "rows_read", "inserted",
                                     "updated", "unchanged", "rejected", "finished_at", "undone_at")}


def file_upload(label: str, types: list[str], key: str):
    """st.file_uploader in the reader's language. Streamlit writes its own English in the box ("Upload",
    "200MB per file • CSV, ...") and offers no way to translate it: a rule scoped to this box hides that text and
    names the button in our words, and a caption below says what may be uploaded."""
    import json

    from .i18n import t

    with st.container(key=f"{key}_box"):
        box = f".st-key-{key}_box [data-testid='stFileUploaderDropzone']"
        st.html(f"<style>{box} [data-testid='stFileUploaderDropzoneInstructions'],"
                f"{box} button [data-testid='stMarkdownContainer'] {{display: none;}}"
                f"{box} button > div > span::after {{content: {json.dumps(t('imp.browse'), ensure_ascii=False)};}}"
                "</style>")
        upload = st.file_uploader(label, type=types, key=key)
        st.caption(t("imp.upload_hint", size=st.get_option("server.maxUploadSize")))
    return upload
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def page_table(frame: pd.DataFrame, what: Sequence[str], period: str | None, period_short: str,
               filters: Filters | None = None, **kw) -> present.Table:
    """A page's table, named for its downloads: what (page, table), the period, the filters in effect, and the teams
    the user's scope reaches when it does not reach them all (a download says whose rows it holds).

    kw: kinds, statuses, labels (see kpi.present.Table)."""
    context = [x for x in (period, filters.line() if filters else None) if x]
    scope = current_scope()
    if scope.teams is not None:
        context.append(t("export.scope", teams=join_list(sorted(scope.teams), lang())))
    context.append(t("meta.generated", at=f"{datetime.now():%Y-%m-%d %H:%M}"))
    return present.Table(frame, title=present.join_bar(what, lang()), context=tuple(context),
                         name=(*what, period_short, *(filters.labels() if filters else [])), **kw)


def print_view() -> bool:
    """Whether the sidebar's print view is on."""
    return bool(st.session_state.get("print_view"))


FEW_CHOICES = 12  # up to this many: buttons (wrapping onto more rows if they must); more: a select box


def pick(where, label: str, options: Sequence, key: str, index: int | None = 0, format_func: Callable = str, help=None,
         **kw):
    """One of a page's choices: a few as buttons (a segmented control), more in a select box. A select box costs a
    new visit its scripts (about 0.2x the one-tile floor for the first on a page), buttons nothing the frame has not
    loaded (docs/benchmarks.md, browser). A value no longer offered falls back to the default: options[index], or
    none chosen when index is None (then a choice is optional). kw (persist_state) goes to the widget."""
    options = list(options)
    if st.session_state.get(key) not in options:
        reset(key, None if index is None else options[index])
    if len(options) <= FEW_CHOICES:
        chosen = {} if index is None else {"required": True}
        return where.segmented_control(label, options, key=key, format_func=format_func, help=help, wrap=True,
                                       **chosen, **kw)
    return where.selectbox(label, options, key=key, index=None if index is None else 0,  # the value set above wins
                           format_func=format_func, help=help, placeholder=t("select.placeholder"), **kw)


def reset(key: str, value) -> None:
    """Put a choice widget back on a value, in the browser too. A segmented control's or select box's identity is its
    key, so the browser keeps showing its last choice when the options change; a key merely dropped from the session
    let the script run with its default under a button still showing the old choice (another budget year: December's
    figures under 10 月). A value set here is sent to the browser with the widget."""
    if value is None:
        st.session_state.pop(key, None)
    else:
        st.session_state[key] = value


def sections(labels: Sequence[str], key: str, headed: Sequence[bool] | None = None) -> list:
    """A page's detail sections as tabs, only the open one's content run and sent to the browser (st.tabs with
    on_change: every element a new visit receives costs its browser time, docs/benchmarks.md); the print view shows
    every section one after another, each under its name (unless headed says False: the section heads itself).
    Returns (open, container) per label."""
    if print_view():
        out = []
        for i, label in enumerate(labels):
            box = st.container()
            if headed is None or headed[i]:
                box.subheader(label)
            out.append((True, box))
        return out
    stored = st.session_state.get(key)
    if stored is not None and stored not in labels:
        same = in_this_language(stored)
        if same in labels:
            st.session_state[key] = same  # the language just switched: the same section stays open
    return [(tab.open, tab) for tab in st.tabs(list(labels), key=key, on_change="rerun")]


# A longer table scrolls inside this height (its header stays in view) rather than pushing the page down.
LONG_TABLE_ROWS, LONG_TABLE_HEIGHT = 25, 600
# A page shows at most this many rows of a table (its first: the agent table puts the most off target first); the
# downloads and the print view hold every row (a team of the 100M benchmark has 1,677 agents).
SHOWN_ROWS = 500


def show_table(table: present.Table, key: str, downloads: bool = True, scroll: bool = True) -> None:
    """A page's table: one block of static HTML (kpi.present.table_to_html: values, units and status colours as in
    the downloads; a long one scrolls in a box with its header in view, the print view draws it whole), then its Excel
    and CSV downloads. Not st.table: it draws every cell as its own Markdown element, about 1.6 ms of a new visit's
    browser time per cell (the weekly page's tables: 389 cells); not st.dataframe: its canvas grid costs a new visit
    about 0.7 MB of scripts (docs/benchmarks.md). An unnamed index (row numbers) is never shown; a named one is the
    first column, as in the downloads. scroll=False: a long table is drawn whole (a reference read top to bottom)."""
    cut = not print_view() and len(table.frame) > SHOWN_ROWS
    html = present.table_to_html(table.head(SHOWN_ROWS) if cut else table, lang())
    if scroll and not print_view() and len(table.frame) > LONG_TABLE_ROWS:
        html = f'<div class="kpi-scroll" style="max-height: {LONG_TABLE_HEIGHT}px">{html}</div>'
    st.html(html)
    if cut:
        st.caption(t("table.first_rows", shown=f"{SHOWN_ROWS:,}", total=f"{len(table.frame):,}"))
    if downloads:
        table_downloads(table, key)


def table_downloads(table: present.Table, key: str, xlsx: Callable[[], bytes] | None = None,
                    csv: Callable[[], bytes] | None = None) -> None:
    """下載 Excel / 下載 CSV under a table, named for what it holds (每週績效_組別績效_2026-W47_電話.xlsx) and built
    when clicked (a rerun pays nothing); xlsx and csv replace kpi.present's builders for a table with its own."""
    from .auth import audited

    lg = lang()
    row = st.container(horizontal=True)
    name = present.export_file_name(table.name, "xlsx")
    row.download_button(t("export.xlsx"), audited(xlsx or (lambda: present.table_to_xlsx(table, lg)), name),
                        key=f"{key}_xlsx", file_name=name, mime=XLSX_MIME,
                        help=t("export.xlsx_help"), on_click="ignore", icon=":material/download:")
    name = present.export_file_name(table.name, "csv")
    row.download_button(t("export.csv"), audited(csv or (lambda: present.table_to_csv(table, lg)), name),
                        key=f"{key}_csv", file_name=name, mime="text/csv",
                        help=t("export.csv_help"), on_click="ignore", icon=":material/download:")


def database_problem(exc) -> None:
    """A database file the dashboard can't use (kpi.store.StoreError): what is wrong and what to do, in the reader's
    language, with the file and DuckDB's own line for whoever looks after it."""
    from .i18n import t

    st.error(t(f"db.{exc.code}", path=exc.path or "—"))
    with st.expander(t("db.detail")):
        st.code(str(exc), language=None)


DRAFTS = "_drafts"  # {record id: (saved version the fields start from, their defaults, saved by this session)}


def _record_id(record: Sequence) -> str:
    return hashlib.sha1(json.dumps([str(p) for p in record], ensure_ascii=False).encode()).hexdigest()[:12]


def draft(record: Sequence, saved: object, defaults: dict) -> tuple[str, dict | None]:
    """Keys for the fields of an editable record (an improvement report), kept for the session (persist_state) so a
    draft survives another section or page opening. The keys name the record and the saved version the fields start
    from: when someone saves the record, the fields start again from what they saved (the draft's keys would have kept
    showing the old text, and a save would have put it back over theirs). Returns (key prefix, the draft replaced that
    way or None: what this session typed and did not save, to show it). saved_here() after this session's own save."""
    record_id, version = _record_id(record), hashlib.sha1(repr(saved).encode()).hexdigest()[:8]
    seen = st.session_state.setdefault(DRAFTS, {})
    replaced = None
    before = seen.get(record_id)
    if before is not None and before[0] != version:
        old = {n: st.session_state.pop(f"irdraft_{record_id}_{before[0]}_{n}", before[1][n]) for n in before[1]}
        if not before[2] and old != before[1]:
            replaced = old
    seen[record_id] = (version, defaults, False)
    return f"irdraft_{record_id}_{version}", replaced  # "irdraft_": re-sent in new words on a language switch (RELABELED)


def saved_here(record: Sequence) -> None:
    """This session saved the record: its fields start again from the saved version, with nothing to warn about."""
    seen = st.session_state.setdefault(DRAFTS, {})
    record_id = _record_id(record)
    if record_id in seen:
        seen[record_id] = (*seen[record_id][:2], True)
