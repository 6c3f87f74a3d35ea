"""Every page in zh-TW, on the sample data, reads in Chinese: no canonical column or dataset id, channel or queue code,
KPI id, "None", "nan", "NaT" or other English word in any text a user can reach through AppTest (titles, markdown,
captions, tiles, table headers and cells, select options, expanders, buttons, labels, placeholders, tooltips).
What is legitimately ASCII is allowed by name below: numbers, units, format names, competency codes, data a user
typed or exported (agent ids, file names)."""
from __future__ import annotations

import json
import re
import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from google.protobuf.message import Message
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import element_tree as et

from kpi import competency, metrics, store
from kpi.auth.access import Scope
from helpers import html_tables, tiles

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["pages/weekly.py", "pages/quality.py", "pages/staffing.py", "pages/budget.py", "pages/trainer.py", "pages/mine.py",
         "pages/import_data.py", "pages/data_status.py", "pages/glossary.py"]
# Who reads each page here: everyone (no user defined), but an agent's own page needs an agent signed in.
SCOPES = {"pages/mine.py": Scope("agent", frozenset({"技術支援組"}), "A017")}

# Codes a zh-TW reader must never meet: datasets, canonical columns, KPI ids, the sample's channels and queues, and the
# words the issue found (Python's missing values, raw option values, the OS user and source of the sample import).
CODES = ({*store.DATASETS} | {c.name for ds in store.DATASETS.values() for c in (*ds.columns, *ds.extra_columns)}
         | set(metrics.load_catalog().kpis) | {"phone", "chat", "email", "billing", "general", "membership", "tech"}
         | {"None", "nan", "NaN", "NaT", "NA", "auto", "root", "sample", "dashboard", "written", "open", "targets"})
# ASCII words that are legitimately on a zh-TW page.
ALLOWED = {
    "KPI", "NT",  # 相關 KPI; NT$ amounts
    "CSV", "Excel", "PDF", "YAML", "UTF", "Big5", "CP950", "Windows", "gzip", "MB",  # formats, encodings, upload limit
    "JSON", "IANA", "UTC",  # a format; time zones by their IANA names, such as UTC
    "Nov",  # 26-Nov-2026, one of the date forms a file may hold (a rejected row's reason lists them)
    "ISO", "XmR", "AI",  # ISO week, the XmR chart, 運用 AI in the standard's text
    "BAS1499",  # the competency standard's code (its indicators P1.2.1 and tasks T2.2 are one letter and digits)
    "English", "Language",  # the language switch: 語言 Language / English
    "Ctrl",  # 用瀏覽器列印（Ctrl+P）: a key's name as printed on the keyboard
    "Erlang",  # the staffing page's model, Erlang C, by the name Taiwanese workforce texts give it too
}
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
LEGIT = [
    re.compile(r"[\w.\-\u4e00-\u9fff]+\.(?:csv|xlsx|xlsm|gz|yaml)\b"),  # file names (data)
    re.compile(r":[a-z]+(?:-[a-z]+)*\["),  # Streamlit markdown directives, :red-badge[...], :gray[...]
    re.compile(r"\.(?:xlsx|xlsm|gz|json|jsonl|ndjson)\b"),  # the upload caption's file suffixes
    re.compile(r"`python -m kpi [a-z -]+`"),  # a command to type, as code (the single-user note: users add)
]


def _strings(msg: Message, skip=frozenset({"id", "form_id", "type", "icon", "mime", "url", "spec", "data", "default",
                                           "value", "format", "tag", "columns", "theme", "deferred_file_id"})):
    """Every text field of an element's message (label, body, help, placeholder, options, delta ...), nested too."""
    for fd, v in msg.ListFields():
        if fd.name in skip:
            continue
        items = v if fd.is_repeated else [v]
        for x in items:
            if isinstance(x, Message):
                yield from _strings(x, skip)
            elif isinstance(x, str) and x:
                yield fd.name, x


def _cells(frame: pd.DataFrame, placeholder: str) -> list[str]:
    out = []
    for c in frame.columns:
        col = frame[c]
        if pd.api.types.is_bool_dtype(col):  # drawn as checkboxes
            continue
        out += [placeholder if pd.isna(v) else str(v) for v in col]
    return out


def _dataframe(node) -> list[tuple[str, str]]:
    """A table's headers and cells as the grid draws them: column_config labels, Styler display values, a missing
    value as the placeholder (Streamlit's own is "None"), also where the Styler gives it a text: the grid draws a null
    cell's placeholder, never its display value (the trainer page's n column showed "None" so)."""
    proto = node.proto
    config = json.loads(proto.columns or "{}")
    frame = node.value
    if proto.arrow_data.HasField("styler") and proto.arrow_data.styler.display_values:
        from streamlit import dataframe_util
        shown = dataframe_util.convert_arrow_bytes_to_pandas_df(proto.arrow_data.styler.display_values)
        frame = shown.astype(object).where(~frame.isna().to_numpy(), None)
    texts = []
    for c in frame.columns:
        conf = config.get(str(c))
        if isinstance(conf, dict) and conf.get("hidden"):
            continue
        label = conf.get("label") if isinstance(conf, dict) else None
        texts.append(("header", str(label or c)))
    if frame.index.name:
        texts.append(("header", str(frame.index.name)))
    placeholder = proto.placeholder if proto.HasField("placeholder") else "None"
    texts += [("cell", x) for x in _cells(frame, placeholder)]
    if not isinstance(frame.index, pd.RangeIndex):
        texts += [("index", str(x)) for x in frame.index]
    return texts


def visible_texts(at: AppTest) -> list[tuple[str, str]]:
    """(where, text) for everything a user can read on the page, sidebar included."""
    found = []

    def walk(node) -> None:
        name = type(node).__name__
        if isinstance(node, et.Block):
            if getattr(node, "label", None):
                found.append((name, node.label))
            for child in node.children.values():
                walk(child)
            return
        if name == "Dataframe":
            found.extend((f"dataframe {w}", x) for w, x in _dataframe(node))
            return
        if name == "Table":  # a styled table shows its Styler's display values (a missing value as its na_rep)
            v = node.value
            if node.proto.arrow_data.HasField("styler") and node.proto.arrow_data.styler.display_values:
                from streamlit import dataframe_util
                v = dataframe_util.convert_arrow_bytes_to_pandas_df(node.proto.arrow_data.styler.display_values)
            # st.table reads cells as Markdown: a backslash-escaped punctuation mark shows as the mark
            found.extend(("table", re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", str(x)))
                         for x in [*v.columns, *v.index, *_cells(v, "None")])
            return
        if name == "Html":  # a <style> rule is not text anyone reads; a long table's cells and the tiles are
            found.extend(("table", x) for v in html_tables([node]) for x in [*v.columns, *v.to_numpy().ravel()])
            found.extend(("tile", x) for tile in tiles([node])
                         for x in (tile.label, tile.value, tile.help, tile.delta, tile.note, *tile.lines) if x)
            return
        if isinstance(getattr(node, "proto", None), Message):
            for field, x in _strings(node.proto):
                if name == "Multiselect" and field in ("options", "default"):  # the uploaded file's own headers
                    continue
                found.append((f"{name}.{field}", x))

    walk(at._tree)
    return found


def offending_words(text: str) -> list[str]:
    """The ASCII words of text that no zh-TW reader should meet."""
    text = re.sub(r"\\([^\w\s])", r"\1", text)  # Markdown's escapes (schedule\.csv) as the reader sees them
    for pattern in LEGIT:
        text = pattern.sub(" ", text)
    words = WORD.findall(text)
    return [w for w in words if w in CODES or (sum(ch.isalpha() for ch in w) >= 2 and w not in ALLOWED)]


def unset_placeholders(at: AppTest) -> list[str]:
    """Select boxes left with Streamlit's own placeholder ("Choose an option")."""
    return [s.label for s in (*at.selectbox, *at.multiselect) if not s.proto.placeholder]


# A vendor's export with Chinese headers: row 3 has an unreadable date, row 4 a negative wait; no channel column, so
# the options offer a constant for it.
EXPORT = ("來電編號,通話日期,通話時間,等候時間,通話秒數,是否接通,專員,組別\n"
          "B-1,2026/11/20,10:15,12,270,是,A001,帳務服務組\n"
          "B-2,2026/11/31,10:20,5,100,是,A002,帳務服務組\n"
          "B-3,2026/11/21,09:05,-3,100,是,A002,帳務服務組\n")


@pytest.fixture(scope="module")
def db(sample_db, tmp_path_factory):
    """The sample with one saved improvement report, so the budget page lists it."""
    path = tmp_path_factory.mktemp("zh") / "zh.duckdb"
    shutil.copy(sample_db, path)
    with store.open_db(path) as con:
        competency.save_report(con, competency.ImprovementReport(
            year=2026, cost_center="客服營運部", line="加班費", through=date(2026, 10, 1), root_cause="新人比例高",
            nature="permanent", action="調整排班", owner="王經理", due_date=date(2026, 12, 31), full_year_effect=-120000.0,
            status="open"), updated_by="root")
    return path


@pytest.fixture
def page(db, monkeypatch):
    monkeypatch.setenv("KPI_DB", str(db))

    def run(path: str, print_view: bool = False) -> AppTest:
        at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
        if path in SCOPES:
            at.session_state["scope"] = SCOPES[path]
        at.session_state["print_view"] = print_view  # on: every section of the page at once (ui.widgets.sections)
        at.switch_page(path)
        at.run()
        assert not at.exception, [e.message for e in at.exception]
        return at
    yield run
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.mark.parametrize("print_view", [False, True], ids=["screen", "every_section"])
@pytest.mark.parametrize("path", PAGES)
def test_every_page_in_chinese_shows_no_code_or_english_word(page, path, print_view):
    at = page(path, print_view)
    if path == "pages/import_data.py":  # the mapping editor, the parsing options, the preview and its rejects
        at.file_uploader(key="imp_file").set_value(("匯出.csv", EXPORT.encode("utf-8"), "text/csv")).run()
        next(b for b in at.button if b.label == "預覽").click().run()
        assert not at.exception, [e.message for e in at.exception]
        assert len(at.dataframe) >= 2 and len(html_tables(at)) == 1  # preview rows and rejects; the history
    if path == "pages/budget.py" and print_view:
        assert any("負責人" in d.columns for d in html_tables(at))  # the saved reports' table is on the page
    texts = visible_texts(at)
    assert len(texts) > 20  # the page was read
    if path in ("pages/weekly.py", "pages/quality.py", "pages/budget.py", "pages/data_status.py"):
        assert any(where == "tile" for where, _ in texts)  # the tiles were read too
    bad = [(where, text[:120], words) for where, text in texts if (words := offending_words(text))]
    assert not bad, bad
    assert not unset_placeholders(at)


def test_the_checker_finds_what_it_is_for():
    # A test that can't fail proves nothing: each kind of slip the issue found is caught, legitimate text is not.
    assert offending_words("資料集：contacts") == ["contacts"]
    assert offending_words("欄位 arrived_at") == ["arrived_at"]
    assert offending_words("管道 phone、佇列 billing") == ["phone", "billing"]
    assert offending_words("服務水準 service_level") == ["service_level"]
    assert offending_words("復原時間 None") == ["None"] and offending_words("nan") == ["nan"]
    assert offending_words("Choose an option") == ["Choose", "an", "option"]
    assert offending_words("200MB per file • CSV, XLSX") == ["per", "file", "XLSX"]
    assert offending_words("狀態 open，2026-12-31 00:00:00") == ["open"]
    assert offending_words("最近匯入：2026-11-30 13:18（contacts.csv.gz）") == []
    assert offending_words(":red-badge[未達標] **A017 (技術支援組)**：P1.2.4、T4.3、NT$1,234、相關 KPI") == []
