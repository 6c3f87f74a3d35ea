"""A file on its way in, before the database is touched: resolve columns -> parse -> derive and check ->
drop rejected and duplicate rows -> the stage to write, with every rejected row and why."""
from __future__ import annotations

import hashlib
import json
import os
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import _parse as parsing
from ..store import BUDGET, Dataset, get_dataset
from ._mapping import FatalImportError, Mapping, Options, Progress, _silent, header_key
from ._read import read_source
from ._reasons import encode, split_reasons


@dataclass
class Prepared:
    """A file parsed and validated, ready to write: nothing has touched the database yet."""

    dataset: Dataset
    file_name: str
    file_sha256: str
    rows_read: int
    stage: pd.DataFrame  # valid rows, stored columns that the file supplies
    supplied: list[str]
    rejects: pd.DataFrame  # row_number, column_name, value, reason (English), raw, reason_code, reason_params
    ignored_columns: list[str]
    options: dict[str, Any]
    customer_source: list[str] = field(default_factory=list)
    started_at: datetime = field(default_factory=datetime.now)
    rules: dict[str, str] = field(default_factory=dict)  # column -> set | insert_only | keep_when_null on update


def _resolve_columns(ds: Dataset, frame: pd.DataFrame, mapping: Mapping, name: str) -> dict[str, list[str]]:
    """Canonical column -> the file's headers that feed it."""
    by_key: dict[str, str] = {}
    for h in frame.columns:
        by_key.setdefault(header_key(h), h)
    resolved: dict[str, list[str]] = {}
    for canon, sources in mapping.columns.items():
        found = []
        for src in sources:
            h = by_key.get(header_key(src))
            if h is None:
                raise FatalImportError(
                    f"{name}: the mapping says {canon}: {src!r}, but the file has no such column; "
                    f"its columns are: {', '.join(map(str, frame.columns))}"
                )
            found.append(h)
        resolved[canon] = found
    for c in list(ds.columns) + list(ds.extra_columns):
        if c.name not in resolved and header_key(c.name) in by_key:
            resolved[c.name] = [by_key[header_key(c.name)]]
    return resolved


def _joined(frame: pd.DataFrame, headers: list[str]) -> pd.Series:
    if len(headers) == 1:
        return frame[headers[0]]
    parts = [parsing.clean_text(frame[h]).fillna("") for h in headers]
    out = parts[0]
    for p in parts[1:]:
        out = out.str.cat(p, sep=" ")
    out = out.str.strip()
    return out.mask(out == "")


def _apply_values(raw: pd.Series, value_map: dict[str, str]) -> pd.Series:
    if not value_map:
        return raw
    lookup = {header_key(k): v for k, v in value_map.items()}
    text = parsing.clean_text(raw)
    mapped = text.map(lambda v: lookup.get(header_key(v), v) if isinstance(v, str) else v)
    return mapped


def _melt_budget(frame: pd.DataFrame, cols: dict[str, list[str]], options: Options, name: str) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """A months-as-columns budget sheet as one row per month, with budget/actual side by side."""
    used = {h for hs in cols.values() for h in hs}
    month_cols = [h for h in frame.columns if h not in used and parsing.parse_month_text(str(h)) is not None]
    if not month_cols:
        raise FatalImportError(
            f"{name}: required column 'period' is missing, and no month columns (e.g. 2026-01) were found "
            f"for a months-as-columns sheet; columns are: {', '.join(map(str, frame.columns))}"
        )
    id_cols = {k: v for k, v in cols.items() if k in ("cost_center", "line", "line_type", "measure")}
    ids = pd.DataFrame({k: _joined(frame, v) for k, v in id_cols.items()}, index=frame.index)
    if "measure" in ids:
        ids["measure"] = _apply_values(ids["measure"], options.values.get("measure", {}))
    else:
        ids["measure"] = options.measure or "budget"
    ids["__row"] = frame.index
    long = ids.loc[ids.index.repeat(len(month_cols))].reset_index(drop=True)
    long["period"] = np.tile(np.array(month_cols, dtype=object), len(frame))
    long["__amount"] = frame[month_cols].to_numpy().reshape(-1)
    return long, {k: [k] for k in list(id_cols) + ["period"]}


_PROBLEM_COLUMNS = ["__i", "column_name", "value", "reason"]


@dataclass
class _Job:
    """One file on its way through prepare: its working rows, each column as parsed, and the problems found so far.

    Working rows are the file's rows, or one row per month of a months-as-columns budget sheet (wide); source_row
    gives each working row's row in the file, and problems point at working rows (__i)."""

    ds: Dataset
    name: str
    frame: pd.DataFrame  # the file as read
    file_cols: dict[str, list[str]]  # canonical column -> the file's headers that feed it
    cols: dict[str, list[str]]  # canonical column -> the working rows' columns that feed it
    opts: Options
    defaults: dict[str, str]
    wide: bool
    work: pd.DataFrame
    source_row: pd.Series
    parsed: dict[str, pd.Series] = field(default_factory=dict)
    problems: list[pd.DataFrame] = field(default_factory=list)
    supplied: list[str] = field(default_factory=list)
    skipped: set = field(default_factory=set)  # working rows left out without a problem (a budget total that adds up)
    decimal: str = "."  # the decimal mark of the file's numbers (the mapping's, or guessed: _decimal_mark)

    @property
    def row_numbers(self) -> pd.Series:
        """The file's row number of each read row (the header is row 1; read_source keeps positions)."""
        return pd.Series(self.frame.index + 2, index=self.frame.index)

    @property
    def used_headers(self) -> set[str]:
        return {h for hs in self.file_cols.values() for h in hs}

    def is_month_header(self, h: Any) -> bool:
        return self.wide and h not in self.used_headers and parsing.parse_month_text(str(h)) is not None

    def note(self, col: str | pd.Series, raw: pd.Series, errors: pd.Series) -> None:
        """Record the rows where errors holds a reason, with the raw value a user would see; col names the column
        (per row for a months-as-columns sheet's month)."""
        bad = errors.notna()
        if bad.any():
            self.problems.append(pd.DataFrame({"__i": errors.index[bad],
                                               "column_name": col if isinstance(col, str) else col[bad].astype(str).values,
                                               "value": parsing.clean_text(raw)[bad].astype(object).values,
                                               "reason": errors[bad].astype(object).values}))


def prepare(dataset: str, path: str | os.PathLike, mapping: Mapping | None = None, display_name: str | None = None,
            progress: Progress | None = None) -> Prepared:
    """Read, map, parse and validate a file; raise FatalImportError for a file that can't be imported at all."""
    tell = progress or _silent
    mapping = mapping or Mapping()
    name = display_name or Path(path).name
    ds = _dataset(dataset, mapping, name)
    tell(0.0, "reading")
    frame = read_source(path, mapping.options, name)
    sha = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    job = _resolve(ds, frame, mapping, name)
    _parse_columns(job, tell)
    tell(0.9, "checking")
    _check_required(job)
    _derive_and_check(ds, job.parsed, job.supplied, job.cols, job.work, job.opts, job.note)
    _check_field_counts(job)
    _check_totals(job)
    values, problems = _dedupe(job)
    rejects = _rejects(job, problems)
    prepared = _stage(job, values, rejects, sha)
    tell(1.0, "parsed")
    return prepared


def _dataset(dataset: str, mapping: Mapping, name: str) -> Dataset:
    if mapping.dataset and mapping.dataset != dataset:
        raise FatalImportError(f"{name}: the mapping is for {mapping.dataset!r}, not {dataset!r}")
    try:
        return get_dataset(dataset)
    except ValueError as exc:
        raise FatalImportError(f"{name}: {exc}") from None


def _resolve(ds: Dataset, frame: pd.DataFrame, mapping: Mapping, name: str) -> _Job:
    """The file's headers resolved to columns, months-as-columns melted, and the file refused when it lacks a
    required column (with no default) or its defaults name no column."""
    opts = mapping.options
    file_cols = _resolve_columns(ds, frame, mapping, name)
    wide = ds is BUDGET and "period" not in file_cols
    if wide:
        work, cols = _melt_budget(frame, file_cols, opts, name)
        source_row = work["__row"]
    else:
        work, cols = frame, file_cols
        source_row = pd.Series(frame.index, index=frame.index)
    defaults = {c.name: c.default for c in ds.columns if c.default is not None}
    defaults.update(opts.defaults)
    unknown_defaults = set(opts.defaults) - set(ds.names)
    if unknown_defaults:
        raise FatalImportError(f"{name}: options.defaults names {sorted(unknown_defaults)[0]!r}, not a column of {ds.name}")
    missing = [c.name for c in ds.columns if c.required and c.name not in cols and c.name not in defaults]
    if missing:
        raise FatalImportError(
            f"{name}: required column {missing[0]!r} is missing for {ds.name}; the file's columns are: "
            f"{', '.join(map(str, frame.columns))} (map it with --mapping)"
        )
    return _Job(ds=ds, name=name, frame=frame, file_cols=file_cols, cols=cols, opts=opts, defaults=defaults,
                wide=wide, work=work, source_row=source_row)


# What a spreadsheet shows in a cell whose formula failed (and a CSV save of it writes).
SPREADSHEET_ERRORS = ("#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!",
                      "#GETTING_DATA")


def _unreadable_cells(job: _Job, col: str | pd.Series, cells: pd.Series, header_of_row: pd.Series | str) -> pd.Series:
    """Where a working row's cell holds no value at all: a spreadsheet error (#N/A, #DIV/0!, ...) or a formula saved
    without its value (read_source lists those by file row and header). Noted as problems of col, so the parser sees
    those cells empty and adds no second reason."""
    reasons = pd.Series(pd.NA, index=cells.index, dtype="string")
    shown = pd.Series(None, index=cells.index, dtype=object)
    error = cells.isin(SPREADSHEET_ERRORS)
    if error.any():
        reasons[error] = [encode("spreadsheet_error", value=v) for v in cells[error]]
        shown[error] = cells[error]
    formulas = job.frame.attrs.get("formulas") or {}
    if formulas:
        headers = header_of_row if isinstance(header_of_row, pd.Series) else pd.Series(header_of_row, index=cells.index)
        for i, (row, h) in enumerate(zip(job.source_row.loc[cells.index], headers)):
            formula = formulas.get((row, h))
            if formula is not None and pd.isna(reasons.iloc[i]):
                reasons.iloc[i] = encode("formula_without_value", value=formula)
                shown.iloc[i] = formula
    if reasons.notna().any():
        job.note(col, shown, reasons)
    return reasons.notna()


def _unreadable_in_column(job: _Job, col: str) -> pd.Series:
    """_unreadable_cells of each file column that feeds a canonical column, per working row."""
    bad = pd.Series(False, index=job.work.index)
    for h in job.file_cols.get(col, []):
        cells = job.frame[h] if not job.wide else pd.Series(job.frame[h].loc[job.source_row].to_numpy(),
                                                            index=job.work.index)
        bad |= _unreadable_cells(job, col, cells, h)
    return bad


def _parse_columns(job: _Job, tell: Progress) -> None:
    """Each column the file supplies (or a default fills) parsed by its kind; bad cells noted as problems."""
    ds, opts = job.ds, job.opts
    job.decimal = _decimal_mark(job)
    # Reading the file takes about as long as parsing all its columns, and the columns take about the same time each.
    to_parse = [c.name for c in ds.columns if c.name in job.cols or c.name in job.defaults]
    for i, c in enumerate(c for c in ds.columns if c.name in to_parse):
        tell(0.45 + 0.45 * i / len(to_parse), f"parsing {c.name}")
        if c.name in job.cols:
            raw = _joined(job.work, job.cols[c.name])
            raw = raw.mask(_unreadable_in_column(job, c.name))
        else:
            raw = pd.Series(None, index=job.work.index, dtype=object)
        raw = _apply_values(raw, opts.values.get(c.name, {}))
        if c.name in job.defaults:
            raw = parsing.clean_text(raw).fillna(job.defaults[c.name])
        lo, hi = c.bounds
        result = parsing.parse_column(raw, c.kind, date_order=opts.date_order, duration_unit=opts.duration_unit,
                                      lo=lo, hi=hi, choices=c.choices, decimal=job.decimal)
        job.parsed[c.name] = result.values
        job.note(c.name, raw, result.errors)
        job.supplied.append(c.name)
    if job.wide:
        _parse_months(job)


def _parse_months(job: _Job) -> None:
    """A months-as-columns sheet's amounts (the problem names the month) and its budget/actual measure."""
    work = job.work
    unreadable = _unreadable_cells(job, work["period"], work["__amount"], work["period"])
    amount = parsing.parse_amount(work["__amount"].astype(object).mask(unreadable), *job.ds.column("budget").bounds,
                                  job.decimal)
    bad = amount.errors.notna()
    if bad.any():
        job.problems.append(pd.DataFrame({
            "__i": work.index[bad], "column_name": work["period"][bad].astype(str).values,
            "value": parsing.clean_text(work["__amount"].astype(object))[bad].astype(object).values,
            "reason": amount.errors[bad].astype(object).values}))
    measure = parsing.parse_enum(work["measure"].astype(object), ("budget", "actual"))
    job.note("measure", work["measure"].astype(object), measure.errors)
    job.parsed["__measure"] = measure.values
    job.parsed["__amount"] = amount.values


_NUMERIC_KINDS = ("duration", "hours", "amount", "int")
# Cells that can be read one way only: 300,5 / 0,25 / 1.234,56 have a decimal comma; 300.5 / 1,234.56 a point.
_COMMA_PROOF = r"[+-]?(?:\d{1,3}(?:\.\d{3})+,\d+|\d+,(?:\d{1,2}|\d{4,}))"
_POINT_PROOF = r"[+-]?(?:\d{1,3}(?:,\d{3})+\.\d+|\d+\.(?:\d{1,2}|\d{4,}))"


def _decimal_mark(job: _Job) -> str:
    """The decimal mark of the file's numbers: options.decimal, else a point, unless the file is a CSV separated by
    semicolons (or tabs, or bars), as Excel writes it where the comma is the decimal mark, and its number cells show a
    decimal comma (300,5 or 1.234,56) and none a decimal point. 1,234 alone proves nothing: it stays 1234."""
    if job.opts.decimal != "auto":
        return job.opts.decimal
    if job.frame.attrs.get("delimiter", ",") == ",":
        return "."
    columns = [_joined(job.work, job.cols[c.name]) for c in job.ds.columns
               if c.kind in _NUMERIC_KINDS and c.name in job.cols]
    if job.wide:
        columns.append(job.work["__amount"].astype(object))
    comma = point = False
    for raw in columns:
        cells = parsing.clean_text(raw).dropna().str.replace(r"[^\d,.+-]", "", regex=True)
        comma = comma or bool(cells.str.fullmatch(_COMMA_PROOF).any())
        point = point or bool(cells.str.fullmatch(_POINT_PROOF).any())
    return "," if comma and not point else "."


def _check_required(job: _Job) -> None:
    """A required column left empty, on rows where that column has no other problem already."""
    index = job.work.index
    for c in job.ds.columns:
        if c.required:
            absent = job.parsed[c.name].isna()
            errs = pd.Series(pd.NA, index=index, dtype="string")
            already = pd.Series(False, index=index)
            for p in job.problems:
                already[p["__i"][p["column_name"] == c.name]] = True
            errs[absent & ~already] = encode("missing_required", kind=c.kind)
            job.note(c.name, pd.Series(None, index=index, dtype=object), errs)


def _check_field_counts(job: _Job) -> None:
    """A CSV row with more or fewer fields than the header (an unquoted comma in a cell, a truncated last line) is
    rejected as a whole, with that one reason: its cells sit under the wrong headers, so what they say is no reason."""
    fields = job.frame.attrs.get("fields") or {}
    if not fields:
        return
    expected = len(job.frame.columns)
    ragged = job.source_row.isin(list(fields))
    job.problems = [p[~ragged.loc[p["__i"]].to_numpy()] for p in job.problems]
    first = job.source_row[ragged].drop_duplicates()  # one reason per file row (a sheet row is several work rows)
    job.problems.append(pd.DataFrame({
        "__i": first.index, "column_name": "", "value": None,
        "reason": [encode("wrong_field_count", fields=fields[r], expected=expected) for r in first]}))


# Words that make a budget sheet's row a total of the line rows above it, and their level: a total covers the lines
# back to the previous total of its level or higher (a 小計 its group, a 合計 back to the previous 合計, a 總計 all).
_TOTAL_WORDS = {"小計": 1, "小计": 1, "subtotal": 1, "sub total": 1, "合計": 2, "合计": 2, "total": 2,
                "總計": 3, "总计": 3, "grand total": 3, "grandtotal": 3}
_CHINESE_TOTALS = ("小計", "小计", "合計", "合计", "總計", "总计")
# Half a dollar: a sheet may show its totals rounded to the dollar.
TOTAL_TOLERANCE = 0.5


def total_level(text: Any) -> int:
    """How a budget sheet's cell marks its row as a total: 1 subtotal (小計, Subtotal), 2 total (合計, Total), 3 grand
    total (總計, Grand total), 0 not a total. The word stands alone, or with a label: 營運部 小計, 小計：營運部, Ops
    subtotal, Grand Total:."""
    if not isinstance(text, str):
        return 0
    t = " ".join(re.sub(r"[:：\-–_()（）\[\]【】]", " ", unicodedata.normalize("NFKC", text).lower()).split())
    for word in _CHINESE_TOTALS:
        if t.startswith(word) or t.endswith(word):
            return _TOTAL_WORDS[word]
    for word in sorted(_TOTAL_WORDS, key=len, reverse=True):  # "grand total" and "sub total" before "total"
        if word.isascii() and (t == word or t.endswith(" " + word)):
            return _TOTAL_WORDS[word]
    return 0


def _amount_rows(job: _Job) -> pd.DataFrame:
    """The budget file's amounts one per row: src (file row), period, measure (budget/actual; NA where a sheet row
    does not say), line_type, amount."""
    p = job.parsed
    if job.wide:
        return pd.DataFrame({"src": job.source_row, "period": p["period"], "measure": p["__measure"],
                             "line_type": p["line_type"], "amount": p["__amount"]})
    parts = [pd.DataFrame({"src": job.source_row, "period": p["period"], "measure": m, "line_type": p["line_type"],
                           "amount": p[m]}) for m in ("budget", "actual") if m in p]
    return pd.concat(parts) if parts else pd.DataFrame(columns=["src", "period", "measure", "line_type", "amount"])


def _check_totals(job: _Job) -> None:
    """Total and subtotal rows of a budget sheet (合計, 小計, 總計, Total, ...) are not budget lines: each is left out
    and checked against the sum of the line rows it covers (all of them, or those of one line type), per month and
    measure; a total that does not add up is a reject naming its row, month and both amounts. Other problems of a
    total row (its blank 項目, its line) are no reason: it is not stored."""
    if job.ds.name != "budget":
        return
    level = pd.Series(0, index=job.work.index)
    label = pd.Series(None, index=job.work.index, dtype=object)
    for col in ("line", "cost_center"):
        if col in job.cols:  # cells the file wrote, not the default
            text = parsing.clean_text(_joined(job.work, job.cols[col]))
            lv = text.map({u: total_level(u) for u in text.dropna().unique()}).fillna(0).astype(int)
            label = label.where(label.notna() | (lv == 0), text)
            level = np.maximum(level, lv)
    if not (level > 0).any():
        return
    row_level = level.groupby(job.source_row.to_numpy()).max()
    totals = row_level[row_level > 0]
    total_work = job.source_row.isin(list(totals.index))
    job.problems = [p[~total_work.loc[p["__i"]].to_numpy()] for p in job.problems]
    job.skipped |= set(job.work.index[total_work])
    amounts = _amount_rows(job).dropna(subset=["amount", "period"])
    mismatches = []
    for src, lv in totals.items():
        before = row_level[(row_level.index < src) & (row_level >= lv)]
        start = before.index.max() if len(before) else -1
        covered = row_level.index[(row_level.index > start) & (row_level.index < src) & (row_level == 0)]
        lines = amounts[amounts["src"].isin(list(covered))]
        for i, t in amounts[amounts["src"] == src].iterrows():
            same = lines[lines["period"] == t["period"]]
            measures = [t["measure"]] if pd.notna(t["measure"]) else sorted(same["measure"].dropna().unique()) or ["budget"]
            sums = [part["amount"].sum() for m in measures for part in
                    (same[same["measure"] == m], *(g for _, g in same[same["measure"] == m].groupby("line_type")))]
            if not any(abs(x - t["amount"]) <= TOTAL_TOLERANCE for x in sums):
                mismatches.append((i, t, measures[0], sums[0]))
    if mismatches:
        idx = [i for i, *_ in mismatches]
        job.problems.append(pd.DataFrame({
            "__i": idx,
            "column_name": [str(job.work.at[i, "period"]) if job.wide else m for i, _, m, _ in mismatches],
            "value": [f"{t['amount']:g}" for _, t, _, _ in mismatches],
            "reason": [encode("total_mismatch", label=label[i], period=f"{t['period']:%Y-%m}", measure=m,
                              total_amount=float(t["amount"]), lines_amount=float(x)) for i, t, m, x in mismatches]}))


def _dedupe(job: _Job) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(valid rows without the repeats of a key, every problem): a row with a problem is left out whole, and a
    later row with the key of an earlier one is a problem of its own."""
    problems = (pd.concat(job.problems, ignore_index=True) if job.problems
                else pd.DataFrame(columns=_PROBLEM_COLUMNS))
    rejected_idx = set(problems["__i"].tolist())
    valid = ~job.work.index.isin(list(rejected_idx | job.skipped))
    values = pd.DataFrame(job.parsed, index=job.work.index)
    if job.wide:
        # A sheet row is rejected as a whole: none of its months land (not only the bad cell's).
        bad_rows = set(job.source_row.loc[list(rejected_idx | job.skipped)].tolist())
        valid &= ~job.source_row.isin(list(bad_rows)).to_numpy()
        values, dup_problems = _pivot_budget(values[valid], job.source_row[valid])
    else:
        values, dup_problems = _drop_duplicate_keys(values[valid], list(job.ds.key), job.row_numbers)
    if len(dup_problems):
        problems = pd.concat([problems, dup_problems], ignore_index=True)
    return values, problems


def _drop_duplicate_keys(values: pd.DataFrame, key: list[str], row_numbers: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The first row of each key, and a problem for each later one naming the row of the first."""
    dup = values.duplicated(subset=key, keep="first")
    if not dup.any():
        return values, pd.DataFrame(columns=_PROBLEM_COLUMNS)
    first_row = values[~dup].reset_index().set_index(key)["index"]
    keys_dup = values.loc[dup, key]
    firsts = [first_row.loc[tuple(r) if len(key) > 1 else r[0]] for r in keys_dup.itertuples(index=False)]
    problems = pd.DataFrame({
        "__i": keys_dup.index, "column_name": key[0],
        "value": keys_dup[key[0]].astype(object).values,
        "reason": [encode("duplicate_key", column=key[0], value=v, first_row=int(row_numbers[f]))
                   for v, f in zip(keys_dup[key[0]], firsts)],
    })
    return values[~dup], problems


def _rejects(job: _Job, problems: pd.DataFrame) -> pd.DataFrame:
    """Problems by the file's row number a user can find, with the row's read cells as JSON (raw); __src is the
    read row's position."""
    row_numbers = job.row_numbers
    src_i = (job.source_row.loc[problems["__i"].astype("int64")].to_numpy() if len(problems)
             else np.array([], dtype="int64"))
    problems["__src"] = src_i
    problems["row_number"] = row_numbers.loc[src_i].to_numpy() if len(src_i) else np.array([], dtype="int64")
    # Only the columns the import reads: an unmapped column may hold personal data nobody asked to keep.
    frame = job.frame
    read_headers = [h for h in frame.columns if h in job.used_headers or job.is_month_header(h)]
    raws = frame.loc[sorted(set(src_i.tolist())), read_headers] if len(src_i) else frame.iloc[0:0][read_headers]
    raw_json = {i: json.dumps({str(k): v for k, v in r.items()}, ensure_ascii=False, default=str)
                for i, r in zip(raws.index, raws.to_dict("records"))}
    problems["raw"] = [raw_json[i] for i in src_i]
    return split_reasons(problems.sort_values(["row_number"], kind="stable")[
        ["row_number", "column_name", "value", "reason", "raw", "__src"]])


def _stage(job: _Job, values: pd.DataFrame, rejects: pd.DataFrame, sha: str) -> Prepared:
    """The valid rows' stored columns, and how an update treats each of them."""
    ds, supplied = job.ds, job.supplied
    if job.wide:
        # A duplicate found at the pivot rejects its whole sheet row too.
        bad_src = set(rejects["__src"].tolist())
        values = values[~values["__src"].isin(list(bad_src))].drop(columns="__src")
        supplied = ["period", "cost_center", "line", "line_type"] + sorted(
            {"budget" if m == "budget" else "actual" for m in job.parsed["__measure"].dropna().unique()})
    stored = [c.name for c in ds.stored_columns if c.name in supplied]
    ignored = [str(h) for h in job.frame.columns if h not in job.used_headers
               and not (job.wide and parsing.parse_month_text(str(h)))]
    return Prepared(dataset=ds, file_name=job.name, file_sha256=sha, rows_read=len(job.frame),
                    stage=values[stored].reset_index(drop=True), supplied=stored, rules=_update_rules(job, stored),
                    rejects=rejects.drop(columns="__src").reset_index(drop=True), ignored_columns=ignored,
                    options={"columns": job.cols, **{k: v for k, v in job.opts.__dict__.items() if v not in (None, {})},
                             "decimal": job.decimal},
                    customer_source=job.cols.get("customer_id", []))


def _update_rules(job: _Job, stored: list[str]) -> dict[str, str]:
    """How an update treats each column: "set" what the file says; "insert_only" for values the file did not give
    (defaults, answered derived from nothing), so a re-import without the column keeps what is stored;
    "keep_when_null" for budget cells of a months-as-columns sheet, where an empty cell is no news."""
    rules = {c: "set" for c in stored}
    for c in stored:
        if c not in job.cols and c in job.defaults:
            rules[c] = "insert_only"
    if job.ds.name == "contacts" and "answered" not in job.cols and "answered_at" not in job.cols:
        rules["answered"] = "insert_only"
    if job.wide:
        rules.update({c: "keep_when_null" for c in ("budget", "actual") if c in rules})
    return rules


def _pivot_budget(values: pd.DataFrame, source_row: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    key = ["period", "cost_center", "line"]
    values = values.assign(__src=source_row.values)
    dup = values.duplicated(subset=key + ["__measure"], keep="first")
    dup_problems = pd.DataFrame({
        "__i": values.index[dup], "column_name": "line",
        "value": values.loc[dup, "line"].astype(object).values,
        "reason": [encode("duplicate_budget_line", line=line, cost_center=cc, measure=measure, period=f"{period:%Y-%m}")
                   for line, cc, measure, period in zip(values.loc[dup, "line"], values.loc[dup, "cost_center"],
                                                        values.loc[dup, "__measure"], values.loc[dup, "period"])],
    }) if dup.any() else pd.DataFrame(columns=["__i", "column_name", "value", "reason"])
    values = values[~dup]
    line_type = values.groupby(key, sort=False)["line_type"].first()
    src = values.groupby(key, sort=False)["__src"].min()
    amounts = values.pivot_table(index=key, columns="__measure", values="__amount", aggfunc="first", dropna=False, sort=False)
    out = pd.DataFrame({"line_type": line_type, "__src": src})
    for m in ("budget", "actual"):
        out[m] = amounts[m] if m in amounts.columns else np.nan
    return out.reset_index(), dup_problems


def _derive_and_check(ds: Dataset, parsed: dict[str, pd.Series], supplied: list[str], cols: dict[str, list[str]],
                      work: pd.DataFrame, opts: Options, note) -> None:
    """Columns derived from others, and checks that span columns."""
    idx = work.index

    def flag(col: str, bad: pd.Series, code: str, value: pd.Series | None = None) -> None:
        errs = pd.Series(pd.NA, index=idx, dtype="string")
        errs[bad.fillna(False)] = encode(code)
        note(col, value if value is not None else pd.Series(None, index=idx, dtype=object), errs)

    if ds.name == "contacts":
        arrived = parsed["arrived_at"]
        answered_at = parsed.get("answered_at", pd.Series(pd.NaT, index=idx, dtype="datetime64[us]"))
        ans = parsed.get("answered", pd.Series(pd.NA, index=idx, dtype="boolean"))
        parsed["answered"] = ans.fillna(answered_at.notna()).astype("boolean")
        if "answered" not in supplied:
            supplied.append("answered")
        if "agent_id" not in parsed and "agent_name" in parsed:  # a file naming its agents only: the name is the id
            parsed["agent_id"] = parsed["agent_name"]
            supplied.append("agent_id")
        early = answered_at < arrived
        flag("answered_at", early, "answered_before_arrived", answered_at.astype(str))
        derived_wait = (answered_at - arrived).dt.total_seconds()
        if "abandoned_at" in parsed:
            abandoned_at = parsed.pop("abandoned_at")
            derived_wait = derived_wait.fillna((abandoned_at - arrived).dt.total_seconds())
            flag("abandoned_at", abandoned_at < arrived, "abandoned_before_arrived", abandoned_at.astype(str))
            supplied.remove("abandoned_at")
        # A wait worked out from timestamps (where the file writes none) keeps to the column's range like a written one.
        hi = ds.column("wait_seconds").bounds[1]
        too_long = (derived_wait > hi).fillna(False)
        if "wait_seconds" in supplied:
            too_long &= parsed["wait_seconds"].isna()
        if too_long.any():
            note("wait_seconds", derived_wait.map("{:.0f}".format), pd.Series(
                [encode("too_long", value=f"{v:.0f}", hi=hi, kind="duration") if bad else pd.NA
                 for v, bad in zip(derived_wait, too_long)], index=idx, dtype="string"))
            derived_wait = derived_wait.mask(too_long)
        if "wait_seconds" in parsed:
            parsed["wait_seconds"] = parsed["wait_seconds"].fillna(derived_wait)
        elif derived_wait.notna().any():
            parsed["wait_seconds"] = derived_wait
            supplied.append("wait_seconds")
    elif ds.name == "complaints":
        opened = parsed["opened_at"]
        resolved = parsed.get("resolved_at", pd.Series(pd.NaT, index=idx, dtype="datetime64[us]"))
        if "resolution_hours" in parsed:
            hours = parsed.pop("resolution_hours")
            resolved = resolved.fillna(opened + pd.to_timedelta(hours, unit="h"))
            supplied.remove("resolution_hours")
            if "resolved_at" not in supplied:
                supplied.append("resolved_at")
        parsed["resolved_at"] = resolved
        flag("resolved_at", resolved < opened, "resolved_before_opened", resolved.astype(str))
        if "due_at" in parsed:
            flag("due_at", parsed["due_at"] < opened, "due_before_opened", parsed["due_at"].astype(str))
