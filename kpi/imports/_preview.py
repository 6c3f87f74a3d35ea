"""Imports as the import page sees them: what a file would change before it is written, the history, and undo."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from ..auth import os_user, record
from ..present import clip, join_list, t, value_label
from ..store import (COMPANIONS, INTERNAL_COLUMNS, Dataset, get_dataset, import_span, link_surveys, refresh_rollups,
                     rollback, write_transaction)
from ._mapping import FatalImportError, Mapping, Options, mapping_document, parse_mapping
from ._parse import parse_bool
from ._fast import detach
from ._prepare import Prepared, prepare
from ._read import open_source
from ._write import (ImportResult, import_file, import_history, rejected_count, rejected_rows, stage_and_compare,
                     stored_form, superseded_note, write)

__all__ = ["PreviewResult", "UndoRefused", "UndoResult", "import_file", "import_history", "prepare", "preview",
           "rejected_rows", "undo_import", "write", "ImportResult", "file_headers", "save_mapping", "saved_mappings",
           "get_saved_mapping", "describe_recodes", "describe_derived"]


@dataclass
class PreviewResult:
    """What writing a prepared file would do, worked out without writing anything."""

    dataset: str
    file_name: str
    rows_read: int
    rows: pd.DataFrame  # the first valid rows as they will be stored
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    rejects: pd.DataFrame
    ignored_columns: list[str]
    superseded: int = 0  # rows that would be left out for a later version of the same record (options.dedupe)
    warnings: pd.DataFrame | None = None  # Prepared.warnings
    companions: list["PreviewResult"] = field(default_factory=list)  # other datasets the file carries (budget drivers)

    def summary(self) -> str:
        """One line of counts, worded like ImportResult.summary."""
        return (f"{self.file_name} -> {self.dataset}: read {self.rows_read:,}, would insert {self.inserted:,}, "
                f"update {self.updated:,}, leave unchanged {self.unchanged:,}, reject {self.rejected:,}"
                f"{superseded_note(self.superseded)}")


def preview(con: duckdb.DuckDBPyConnection, prep: Prepared, rows: int = 20) -> PreviewResult:
    """The first rows as stored and the counts write() would report, compared read-only against the database."""
    stage, rejects = stored_form(con, prep)
    cur = con.cursor()  # cursor per call: a shared connection is not thread-safe
    cur.execute("BEGIN TRANSACTION")
    try:
        # The temp tables live only in this connection's memory and the transaction is rolled back: nothing lands.
        matched, updated = stage_and_compare(cur, prep.dataset, prep.supplied, stage, prep.rules)
    finally:
        rollback(cur)
        cur.close()
        if prep.staged is not None:
            detach(con, prep.staged.alias)
    return PreviewResult(dataset=prep.dataset.name, file_name=prep.file_name, rows_read=prep.rows_read,
                         rows=stage.head(rows).reset_index(drop=True), inserted=len(stage) - matched, updated=updated,
                         unchanged=matched - updated, rejected=rejected_count(rejects), rejects=rejects,
                         ignored_columns=list(prep.ignored_columns), superseded=prep.superseded, warnings=prep.warnings,
                         companions=[preview(con, other, rows) for other in prep.companions])


UNDO_REFUSALS = ("missing", "undone", "later")  # UndoRefused.code: unknown, already undone, changed by a later import


class UndoRefused(Exception):
    """An import that can't be undone (unknown, already undone, or later imports changed its rows); nothing changed.
    str() is the English sentence (the CLI's); code and params name it for the message catalog (imp.refused.<code>),
    so a page says it in its reader's language."""

    def __init__(self, message: str, code: str, **params: Any):
        super().__init__(message)
        self.code, self.params = code, params


@dataclass
class UndoResult:
    """What undoing one import did."""

    import_id: int
    dataset: str
    file_name: str
    removed: int  # rows the import had inserted
    restored: int  # rows it had updated, back to their previous version
    undone_at: datetime

    def summary(self) -> str:
        """One line of counts."""
        return (f"import #{self.import_id} ({self.file_name} -> {self.dataset}) undone: removed {self.removed:,}, "
                f"restored {self.restored:,}")


def undo_import(con: duckdb.DuckDBPyConnection, import_id: int, by: str | None = None,
                source: str = "page") -> UndoResult:
    """Undo one import in one transaction: remove the rows it inserted, restore the rows it updated, and say who did
    it in the audit log (by, else the operating system's user); or UndoRefused."""
    with write_transaction(con) as cur:  # one import or undo at a time (kpi.store)
        result = _undo(cur, int(import_id))
        record(cur, by or os_user(), "undo", f"#{result.import_id}", {
            "import_id": result.import_id, "dataset": result.dataset, "file": result.file_name,
            "removed": result.removed, "restored": result.restored}, source)
    return result


def _undo(cur: duckdb.DuckDBPyConnection, import_id: int) -> UndoResult:
    row = cur.execute("SELECT dataset, file_name, undone_at FROM imports WHERE import_id = ?", [import_id]).fetchone()
    if row is None:
        raise UndoRefused(f"import #{import_id} does not exist", "missing", id=import_id)
    dataset, file_name, undone_at = row
    if undone_at is not None:
        raise UndoRefused(f"import #{import_id} ({file_name}) was already undone at {undone_at:%Y-%m-%d %H:%M:%S}",
                          "undone", id=import_id, file=file_name, at=f"{undone_at:%Y-%m-%d %H:%M:%S}")
    removed = restored = 0
    # A budget workbook's import wrote its drivers too (kpi.store.COMPANIONS); a refusal for any of them rolls the
    # whole undo back (undo_import's transaction).
    for ds in [get_dataset(dataset), *map(get_dataset, COMPANIONS.get(dataset, ()))]:
        gone, back = _undo_rows(cur, ds, import_id, file_name)
        removed, restored = removed + gone, restored + back
    ds = get_dataset(dataset)
    now = datetime.now()
    cur.execute("UPDATE imports SET undone_at = ? WHERE import_id = ?", [now, import_id])
    return UndoResult(import_id=import_id, dataset=ds.name, file_name=file_name, removed=int(removed),
                      restored=int(restored), undone_at=now)


def _undo_rows(cur: duckdb.DuckDBPyConnection, ds: Dataset, import_id: int, file_name: str) -> tuple[int, int]:
    """Undo one import's rows of one dataset (UndoRefused when a later import changed one): (removed, restored)."""
    table, history = ds.name, f"{ds.name}_history"
    keys = ", ".join(ds.key)
    on = " AND ".join(f"a.{k} = b.{k}" for k in ds.key)
    # The rows this import wrote: those it created and those it updated (their previous version is in history).
    touched = (f"SELECT {keys} FROM {table} WHERE created_import_id = $id "
               f"UNION SELECT {keys} FROM {history} WHERE replaced_by_import_id = $id")
    # Kept as a table: its row count then known, DuckDB builds the joins below on it, not on the whole table (a
    # statement over the CTE built its hash table on 100M contacts: 8.7 s and 7.6 GB for an import of 1M).
    cur.execute(f"CREATE OR REPLACE TEMP TABLE _touched AS {touched}", {"id": import_id})
    # A later import changed one of them when it is now the row's last writer, or it replaced a version of it.
    later, rows = cur.execute(
        f"WITH conflicts AS ("
        f"SELECT a.*, b.import_id AS later FROM _touched a JOIN {table} b ON {on} WHERE b.import_id <> $id "
        f"UNION ALL SELECT a.*, b.replaced_by_import_id FROM _touched a JOIN {history} b ON {on} "
        f"WHERE b.replaced_by_import_id > $id) "
        f"SELECT (SELECT list(DISTINCT later ORDER BY later) FROM conflicts), "
        f"(SELECT count(*) FROM (SELECT DISTINCT {keys} FROM conflicts))", {"id": import_id}).fetchone()
    if rows:
        names = ", ".join(f"#{i}" for i in later)
        raise UndoRefused(
            f"import #{import_id} ({file_name}) can't be undone: later import{'s' if len(later) > 1 else ''} {names} "
            f"changed {rows:,} of its {ds.name} rows; undo {'them' if len(later) > 1 else 'it'} first",
            "later", id=import_id, file=file_name, later=names, rows=int(rows), dataset=ds.name)
    span = import_span(cur, ds.name, import_id)  # the days its rows occupy, before they go
    removed = cur.execute(f"DELETE FROM {table} WHERE created_import_id = $id AND import_id = $id",
                          {"id": import_id}).fetchone()[0]
    cols = [c.name for c in ds.stored_columns if c.name not in ds.key] + list(INTERNAL_COLUMNS.get(ds.name, ())) + [
        "import_id", "created_import_id"]
    sets = ", ".join(f"{c} = h.{c}" for c in cols)
    where = " AND ".join(f"t.{k} = h.{k}" for k in ds.key)
    restored = cur.execute(f"UPDATE {table} t SET {sets} FROM {history} h WHERE h.replaced_by_import_id = $id AND {where}",
                           {"id": import_id}).fetchone()[0]
    # The versions just restored are current again; kept in history they could be restored a second time.
    cur.execute(f"DELETE FROM {history} WHERE replaced_by_import_id = $id", {"id": import_id})
    if ds.name == "contacts":
        link_surveys(cur, "s.contact_id IN (SELECT contact_id FROM _touched)")  # their contact's columns again
    cur.execute("DROP TABLE _touched")
    refresh_rollups(cur, ds.name, span)
    return int(removed), int(restored)


def file_headers(path: str, options: Options | None = None, display_name: str | None = None) -> tuple[list[str], list[str]]:
    """(headers, sheet names) of an uploaded file; sheet names are empty for CSV."""
    options = options or Options()
    sheets: list[str] = []
    if str(path).lower().endswith((".xlsx", ".xlsm", ".xls")):
        try:
            sheets = [str(s) for s in pd.ExcelFile(path, engine="calamine").sheet_names]
        except Exception as exc:  # any reader failure: the same message as the import gives
            raise FatalImportError(f"{display_name or path}: not a readable Excel workbook ({clip(exc)})",
                                   "unreadable_excel", file=display_name or path) from None
    batch = next(open_source(path, options, display_name).batches())  # the file checked, one batch read
    return [str(c) for c in batch.frame.columns], sheets


def file_encoding(path: str, options: Options | None = None, display_name: str | None = None) -> str | None:
    """The text encoding an import reads a CSV in, as the import page's encoding box names it: options.encoding, else
    the one the checks found ("utf-8", with or without a BOM, or "cp950" for Big5); None for a workbook or a JSON
    export (UTF-8 by definition). The whole file is checked, as the import checks it, so a page can say which
    encoding "automatic" chose."""
    options = options or Options()
    if str(path).lower().endswith((".xlsx", ".xlsm", ".xls")):
        return None
    source = open_source(path, options, display_name)
    return None if source.excel or source.layout else ("utf-8" if source.encoding == "utf-8-sig" else source.encoding)


def save_mapping(con: duckdb.DuckDBPyConnection, name: str, mapping: Mapping, saved_by: str | None = None) -> None:
    """Keep a mapping under a name (replacing one of the same name)."""
    if not name.strip():
        raise ValueError("name: required (expected text)")
    if not mapping.dataset:
        raise ValueError("dataset: a saved mapping must name its dataset")
    con.cursor().execute("INSERT OR REPLACE INTO saved_mappings VALUES (?, ?, ?, ?, ?)",
                         [name.strip(), mapping.dataset, mapping.to_yaml(), datetime.now(), saved_by])


def saved_mappings(con: duckdb.DuckDBPyConnection, dataset: str | None = None) -> list[str]:
    """Names of the saved mappings (of one dataset), newest first."""
    rows = con.cursor().execute(
        "SELECT name FROM saved_mappings WHERE $d IS NULL OR dataset = $d ORDER BY saved_at DESC", {"d": dataset}).fetchall()
    return [r[0] for r in rows]


def get_saved_mapping(con: duckdb.DuckDBPyConnection, name: str) -> Mapping:
    """A saved mapping by name."""
    row = con.cursor().execute("SELECT yaml FROM saved_mappings WHERE name = ?", [name]).fetchone()
    if not row:
        raise KeyError(name)
    source = f"saved mapping {clip(name)!r}"
    return parse_mapping(mapping_document(row[0], source), source)


def describe_recodes(values: dict[str, dict[str, str]], dataset: str, lang: str) -> str:
    """A mapping's value recodes in one line of lang: per column, how many spellings it recodes and to which values,
    in words (yes/no for a yes/no column). The spellings themselves are in the mapping file."""
    ds = get_dataset(dataset)
    parts = []
    for column, pairs in values.items():
        targets = list(dict.fromkeys(pairs.values()))
        if column in ds.names and ds.column(column).kind == "bool":
            read = parse_bool(pd.Series(targets, dtype=object)).values
            words = dict.fromkeys(t("report.yes" if v else "report.no", lang) for v in read if not pd.isna(v))
        else:
            words = dict.fromkeys(value_label(column, v, lang) if v.strip() else t("imp.recode_blank", lang)
                                  for v in targets)
        parts.append(t("imp.recode", lang, column=value_label("field", column, lang), n=len(pairs),
                       targets=join_list(words, lang)))
    return join_list(parts, lang)


def describe_derived(options: Options, lang: str) -> str:
    """A mapping's derived columns in lang, for the import page: 是否接通：「AGENT NAME」有值為是."""
    parts = []
    for column, rule in options.derive.items():
        name, arg = next(iter(rule.items()))
        if name == "seconds_between":
            fields = {"start": arg[0], "end": arg[1]}
        elif name == "case":  # 進線方向：「ORIGLOGIN」空白時為進線；「SEGMENT」為 1 時為外撥；其他為轉接
            fields = {"cases": t("punct.semicolon", lang).join(_case_part(column, c, lang) for c in arg)}
        else:
            fields = _rule_fields(name, arg, lang)
        parts.append(t(f"imp.derive.{name}", lang, column=value_label("field", column, lang), **fields))
    return join_list(parts, lang)


def _rule_fields(name: str, arg: Any, lang: str) -> dict[str, str]:
    if name == "in":
        return {"field": next(iter(arg)), "values": join_list(next(iter(arg.values())), lang)}
    return {"field": arg}


def _case_part(column: str, case: dict[str, Any], lang: str) -> str:
    """One branch of a case rule in words, its value as the column's values read (outbound -> 外撥)."""
    if "else" in case:
        return t("imp.derive.else", lang, value=value_label(column, case["else"], lang))
    (name, arg), = case["when"].items()
    return t(f"imp.derive.when.{name}", lang, value=value_label(column, case["then"], lang),
             **_rule_fields(name, arg, lang))
