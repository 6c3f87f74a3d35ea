"""A file on its way in, before the database is touched: per batch of rows, resolve columns -> parse -> derive and
check -> drop rejected rows; then over all batches, drop duplicate keys -> the stage to write, with every rejected row
and why."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import _fast
from . import _parse as parsing
from ..store import BUDGET, BUDGET_DRIVERS, Dataset, get_dataset
from ..present import clip
from ._mapping import (FatalImportError, Mapping, Options, Progress, _silent, close_header, derive_fields, header_key,
                       header_list, shared_header)
from ._suggest import suggest_mapping
from ._read import SHEET_STRIDE, Batch, Source, open_source, row_of
from ._reasons import encode, raw_json, split_reasons
from . import _workbook as workbook
from ._workbook import total_level


WARNING_COLUMNS = ["row_number", "sheet", "column_name", "value", "reason", "reason_code", "reason_params"]


@dataclass
class Prepared:
    """A file parsed and validated, ready to write: nothing has touched the database yet."""

    dataset: Dataset
    file_name: str
    file_sha256: str
    rows_read: int
    stage_frame: pd.DataFrame | None  # valid rows, stored columns that the file supplies (None: in staged; see stage)
    supplied: list[str]
    rejects: pd.DataFrame  # row_number, column_name, value, reason (English), raw, reason_code, reason_params
    ignored_columns: list[str]
    options: dict[str, Any]
    customer_source: list[str] = field(default_factory=list)
    # what the file says that is worth a look but rejects no row (a total that does not add up, a sheet skipped):
    # row_number (NA for a sheet), sheet, column_name, value, reason (English), reason_code, reason_params
    warnings: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=WARNING_COLUMNS))
    started_at: datetime = field(default_factory=datetime.now)
    rules: dict[str, str] = field(default_factory=dict)  # column -> set | insert_only | keep_when_null on update
    superseded: int = 0  # valid rows left out for a later version of the same key in the file (options.dedupe)
    staged: Any = None  # _fast.Staged: the valid rows in a DuckDB file of their own (the fast path), else None

    @property
    def stage(self) -> pd.DataFrame:
        """The valid rows as a frame (read from the staged file, once, when the fast path kept them there)."""
        if self.stage_frame is None:
            self.stage_frame = self.staged.frame()
        return self.stage_frame
    # other datasets the file carries, written in the same transaction under the same import (a budget workbook's
    # drivers sheet, as budget_drivers)
    companions: list["Prepared"] = field(default_factory=list)


def _resolve_columns(ds: Dataset, frame: pd.DataFrame, mapping: Mapping, name: str) -> dict[str, list[str]]:
    """Canonical column -> the file's headers that feed it."""
    by_key: dict[str, str] = {}
    for h in frame.columns:
        by_key.setdefault(header_key(h), h)
    shared = shared_header(mapping.columns)
    if shared:
        a, b, header = shared
        raise FatalImportError(f"{name}: the mapping gives the header {clip(header)!r} to both {a} and {b}; "
                               "a header feeds one column")
    resolved: dict[str, list[str]] = {}
    for canon, sources in mapping.columns.items():
        found = []
        for src in sources:
            h = by_key.get(header_key(src))
            if h is None:
                near = close_header(src, frame.columns, taken=[x for xs in mapping.columns.values() for x in xs])
                raise FatalImportError(
                    f"{name}: the mapping says {canon}: {clip(src)!r}, but the file has no such column"
                    f"{f' (is it {clip(near)!r}, renamed?)' if near else ''}; its columns are: {header_list(frame.columns)}"
                )
            found.append(h)
        resolved[canon] = found
    mapped = {h for hs in resolved.values() for h in hs} | {h for hs in _option_fields(frame, mapping, name).values()
                                                             for h in hs}
    for c in list(ds.columns) + list(ds.extra_columns):
        # A header the mapping gives to one column does not also feed the column it is named after
        # (talk_seconds: wait_seconds would otherwise fill wait_seconds too); nor does one a derived column replaces.
        h = by_key.get(header_key(c.name))
        if c.name not in resolved and c.name not in mapping.options.derive and h is not None and h not in mapped:
            resolved[c.name] = [h]
    return resolved


def _option_fields(frame: pd.DataFrame, mapping: Mapping, name: str) -> dict[str, list[str]]:
    """The file's headers that options.derive (per derived column) and options.dedupe (under the key "dedupe") read;
    a field the file lacks is fatal, naming the mapping (or preset), the field and the file's headers."""
    by_key: dict[str, str] = {}
    for h in frame.columns:
        by_key.setdefault(header_key(h), h)
    wanted = {column: derive_fields(rule) for column, rule in mapping.options.derive.items()}
    if mapping.options.dedupe:
        wanted["dedupe"] = [mapping.options.dedupe["latest"]]
    found: dict[str, list[str]] = {}
    for column, fields in wanted.items():
        where = "options.dedupe.latest" if column == "dedupe" else f"options.derive.{column}"
        for f in fields:
            if header_key(f) not in by_key:
                raise FatalImportError(
                    f"{name}: {mapping.source or 'the mapping'}: {where} reads {clip(f)!r}, but the file has no such "
                    f"column; its columns are: {header_list(frame.columns)}")
        found[column] = [by_key[header_key(f)] for f in fields]
    return found
def _absent_fields(frame: pd.DataFrame, mapping: Mapping) -> pd.DataFrame:
    """A JSON file's records with the fields the mapping names that none of them holds, empty (a file of abandoned
    contacts has no Agent.Username), as long as they hold some field the mapping names: else the file is not what the
    mapping reads, and _resolve_columns says so."""
    known = {header_key(h) for h in frame.columns}
    named = list(dict.fromkeys(src for sources in mapping.columns.values() for src in sources))
    absent = [src for src in named if header_key(src) not in known]
    if not absent or len(absent) == len(named):
        return frame
    return frame.assign(**{src: None for src in absent})


def _joined(frame: pd.DataFrame, headers: list[str], dated: bool = False) -> pd.Series:
    """The cells of one or two headers as one value (a date column and a time column: "2026-11-20 15:45"). dated: a
    row whose first header (the date) is empty has no value: a missing date beside 15:45 is a missing date, not an
    unreadable "15:45" (a date without its time is that day, as before)."""
    if len(headers) == 1:
        return frame[headers[0]]
    parts = [parsing.clean_text(frame[h]).fillna("") for h in headers]
    out = parts[0]
    for p in parts[1:]:
        out = out.str.cat(p, sep=" ")
    out = out.str.strip()
    if dated:
        out = out.mask(parts[0] == "")
    return out.mask(out == "")


def _apply_values(raw: pd.Series, value_map: dict[str, str]) -> pd.Series:
    if not value_map:
        return raw
    lookup = {header_key(k): v for k, v in value_map.items()}
    text = parsing.clean_text(raw)
    mapped = text.map(lambda v: lookup.get(header_key(v), v) if isinstance(v, str) else v)
    return mapped


def _melt_budget(frame: pd.DataFrame, cols: dict[str, list[str]], options: Options, name: str,
                 info: pd.DataFrame | None, missing_year: list[str]) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """A months-as-columns budget sheet as one row per month, with budget/actual side by side. A row's measure is its
    month header's word (2026-01 預算), else its measure column, else what its sheet says (a 預算 row above it, the
    sheet's name), else options.measure, else budget; its cost center, where no column gives one, is its sheet's name
    (several sheets read). __header keeps the month's header as the sheet writes it (what a problem names)."""
    used = {h for hs in cols.values() for h in hs}
    months = {h: workbook.month_header(h) for h in frame.columns if h not in used}
    month_cols = [h for h, (month, _) in months.items() if month is not None]
    if missing_year:
        examples = [h for h in frame.columns if workbook.yearless_month(h) is not None][:3]
        where = (f"of sheet {clip(missing_year[0])!r} have no year, and neither a title above them (such as "
                 "2026年度預算) nor the sheet's name gives one" if missing_year[0] else
                 "have no year, and no title line above them gives one (such as 2026年度預算)")
        raise FatalImportError(f"{name}: the month columns ({clip(', '.join(map(str, examples)))}, ...) {where}; "
                               "set options.year (e.g. year: 2026)")
    if not month_cols:
        raise FatalImportError(
            f"{name}: required column 'period' is missing, and no month columns (e.g. 2026-01) were found "
            f"for a months-as-columns sheet; columns are: {header_list(frame.columns)}"
        )
    id_cols = {k: v for k, v in cols.items() if k in ("cost_center", "line", "line_type", "measure")}
    ids = pd.DataFrame({k: _joined(frame, v) for k, v in id_cols.items()}, index=frame.index)
    sheet_measure = info["measure"] if info is not None else pd.Series(None, index=frame.index, dtype=object)
    if "measure" in ids:
        ids["measure"] = _apply_values(ids["measure"], options.values.get("measure", {}))
        ids["measure"] = ids["measure"].astype(object).where(ids["measure"].notna(), sheet_measure)
    else:
        ids["measure"] = sheet_measure.fillna(options.measure or "budget")
    if info is not None and info["cost_center"].notna().any():
        ids["cost_center"] = _or_sheet(ids.get("cost_center"), info["cost_center"])
    ids["__row"] = frame.index
    long = ids.loc[ids.index.repeat(len(month_cols))].reset_index(drop=True)
    long["__header"] = np.tile(np.array(month_cols, dtype=object), len(frame))
    long["period"] = np.tile(np.array([f"{months[h][0]:%Y-%m}" for h in month_cols], dtype=object), len(frame))
    words = np.tile(np.array([workbook.MEASURE_WORDS.get(str(months[h][1]).lower()) for h in month_cols], dtype=object),
                    len(frame))
    long["measure"] = pd.Series(words, index=long.index).where(pd.notna(words), long["measure"])
    long["__amount"] = frame[month_cols].to_numpy().reshape(-1)
    return long, {k: [k] for k in dict.fromkeys([*id_cols, *(["cost_center"] if "cost_center" in ids else []), "period"])}


def _or_sheet(given: pd.Series | None, sheet: pd.Series) -> pd.Series:
    """A row's cost center as its cells give it, else as its sheet's name does (a sheet without the column, or a blank
    cell in it)."""
    if given is None:
        return sheet
    text = parsing.clean_text(given).astype(object)
    return text.where(text.notna(), sheet)


_PROBLEM_COLUMNS = ["__i", "column_name", "value", "reason"]


@dataclass
class _FileWide:
    """What the batches read so far prove, for what is decided over the whole file, never by one batch: each timestamp
    column's day order, and the decimal mark. A batch parsed before the proof was complete is parsed again (prepare).
    And the centre's time zone, whose wall-clock time the file's timestamps are stored in."""

    date_order: str
    day_orders: dict[str, parsing.DayOrder]
    decimal: parsing.DecimalMark
    centre_zone: str = parsing.DEFAULT_CENTRE_ZONE

    def decisions(self) -> tuple[dict[str, bool], str]:
        return {c: o.decide(self.date_order) for c, o in self.day_orders.items()}, self.decimal.decide()


@dataclass
class _Job:
    """One batch of a file's rows on its way through prepare: its working rows, each column as parsed, and the
    problems found so far.

    Working rows are the batch's rows, or one row per month of a months-as-columns budget sheet (wide); source_row
    gives each working row's position in the file (its row number less 2), and problems point at working rows
    (__i)."""

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
    file: _FileWide
    derived: dict[str, list[str]] = field(default_factory=dict)  # derived column (or "dedupe") -> the headers it reads
    fields: dict[int, int] = field(default_factory=dict)  # Batch.fields: rows with the wrong number of fields
    formulas: dict[tuple[int, str], str] = field(default_factory=dict)  # Batch.formulas
    scale: pd.Series | None = None  # budget: per working row, the factor of its sheet's amount unit (千元: 1,000)
    sheets: list[str] = field(default_factory=list)  # several sheets read: Source.sheet_names
    broken: dict[int, tuple[str, str]] = field(default_factory=dict)  # Batch.broken: JSON records that are none
    parsed: dict[str, pd.Series] = field(default_factory=dict)
    problems: list[pd.DataFrame] = field(default_factory=list)
    supplied: list[str] = field(default_factory=list)
    decimal: str = "."  # the decimal mark of the file's numbers (the mapping's, or guessed: _decimal_mark)

    @property
    def used_headers(self) -> set[str]:
        return {h for hs in (*self.file_cols.values(), *self.derived.values()) for h in hs}

    def is_month_header(self, h: Any) -> bool:
        return self.wide and h not in self.used_headers and workbook.month_header(h)[0] is not None

    def note(self, col: str | pd.Series, raw: pd.Series, errors: pd.Series) -> None:
        """Record the rows where errors holds a reason, with the raw value a user would see; col names the column
        (per row for a months-as-columns sheet's month)."""
        bad = errors.notna()
        if bad.any():
            self.problems.append(pd.DataFrame({"__i": errors.index[bad],
                                               "column_name": col if isinstance(col, str) else col[bad].astype(str).values,
                                               "value": parsing.clean_text(raw)[bad].astype(object).values,
                                               "reason": errors[bad].astype(object).values}))


@dataclass
class _Part:
    """A batch prepared: its valid rows as parsed (__src: position in the file), its rejected rows located."""

    values: pd.DataFrame
    rejects: pd.DataFrame  # _located()
    supplied: list[str]
    measures: set[str]
    rows: int
    totals: pd.DataFrame | None = None  # budget: _budget_amounts()


def prepare(dataset: str, path: str | os.PathLike, mapping: Mapping | None = None, display_name: str | None = None,
            progress: Progress | None = None, centre_zone: str = parsing.DEFAULT_CENTRE_ZONE) -> Prepared:
    """Read, map, parse and validate a file, a batch of rows at a time (the text cells of one batch are held, the
    parsed valid rows of all); raise FatalImportError for a file that can't be imported at all. Timestamps are stored
    as centre_zone's wall-clock time (targets.yaml's settings.timezone, kpi.metrics.centre_zone)."""
    tell = progress or _silent
    mapping = mapping or Mapping()
    name = display_name or Path(path).name
    ds = _dataset(dataset, mapping, name)
    for what, zone in (("options.timezone", mapping.options.timezone), ("the centre's time zone", centre_zone)):
        if zone is not None and parsing.time_zone(zone) is None:
            raise FatalImportError(f"{name}: {what}: {parsing.ZONE_EXPECTED}, got {clip(str(zone))!r}")
    tell(0.0, "reading")
    _fast.sweep_work_dirs()  # the stages of imports killed before their cleanup ran (kill -9, out of memory)
    source = open_source(path, mapping.options, name, tuple(h for hs in mapping.columns.values() for h in hs))
    if ds is BUDGET and source.excel and mapping.options.sheet is None and mapping.options.sheets is None:
        # A budget workbook is read whole: finance keeps a sheet per cost center, or budget and actual apart.
        mapping = replace(mapping, options=replace(mapping.options, sheets="all"))
        source.options = mapping.options
    # A budget file without columns in its mapping: its headers are matched by the words the import page knows
    # (科目, 成本中心, 預算/實際), as a finance workbook is imported with no mapping at all.
    header_words = ds in (BUDGET, BUDGET_DRIVERS) and not mapping.columns
    opts = mapping.options
    # Comma-separated files and workbooks write decimal points; a semicolon (tab, bar) file may write commas.
    fixed = opts.decimal if opts.decimal != "auto" or source.sep != "," else "."
    file = _FileWide(opts.date_order, {c.name: parsing.DayOrder() for c in ds.columns if c.kind == "timestamp"},
                     parsing.DecimalMark(fixed), centre_zone)
    # The timestamp fields that derived durations and dedupe read decide their day order over the file too.
    for column, rule in {**opts.derive, **({"dedupe": {"latest": ""}} if opts.dedupe else {})}.items():
        if next(iter(rule)) in ("seconds_between", "latest"):
            file.day_orders.update({f"{column}#{i}": parsing.DayOrder() for i in range(2)})
    if not header_words and _fast.usable(ds, source, mapping, fixed, centre_zone):
        prepared = _fast.prepare_fast(ds, source, mapping, name, file, tell)
        if prepared is not None:  # else the file needs the Python path whole
            return _finished(prepared, _check_totals([]), source, [], mapping, 0, tell)
    parts: list[_Part] = []
    used: list[tuple[dict[str, bool], str]] = []  # the file-wide decisions each batch was parsed with
    shown = 0.0
    for batch in source.batches():
        if header_words:
            mapping, header_words = _with_header_words(mapping, list(batch.frame.columns), ds.name), False
        fraction = 0.05 + 0.85 * min(len(parts) * source.batch_rows / max(source.lines, 1), 1.0)
        if fraction >= shown + 0.04 or not parts:  # a few dozen calls at most, whatever the file's size
            tell(fraction, "parsing")
            shown = fraction
        job, part = _prepare_batch(ds, batch, mapping, name, file, source)
        parts.append(part)
        used.append(file.decisions())
    # A batch parsed before a later one proved its column's day order (26/11 in a file that began with 03/11) or the
    # file's decimal mark (1.5 after 300,5) is parsed again, so that the whole file follows one decision as if it were
    # read at once.
    again = {i for i, u in enumerate(used) if u != file.decisions()}
    if again:
        for i, batch in enumerate(source.batches()):
            if i in again:
                job, parts[i] = _prepare_batch(ds, batch, mapping, name, file, source)
    tell(0.9, "checking")
    totals = _check_totals(parts)
    values, duplicates, superseded = _dedupe(job, parts)
    rejects = [p.rejects for p in parts] + [_located(duplicates, _raw_rows(job, source, duplicates), job.sheets)]
    rejects = pd.concat([r for r in rejects if len(r)] or rejects[-1:], ignore_index=True)
    prepared = _stage(job, parts, values, split_reasons(rejects.sort_values("row_number", kind="stable")),
                      source.sha256, file.decimal.decide(), centre_zone)
    prepared = _finished(prepared, totals, source, job.sheets, mapping, superseded, tell)
    _add_companions(prepared, ds, source, job, path, name, opts, centre_zone)
    return prepared


def _finished(prepared: Prepared, totals: pd.DataFrame, source: Source, sheets: list[str], mapping: Mapping,
              superseded: int, tell: Progress) -> Prepared:
    """What prepare adds once the rows are parsed, by either path: warnings, the mapping's name, superseded rows."""
    prepared.warnings = _warnings(totals, source, sheets)
    if mapping.source:
        prepared.options["mapping"] = mapping.source
    if mapping.options.dedupe:
        prepared.superseded = prepared.options["superseded"] = superseded
    tell(1.0, "parsed")
    return prepared



def _add_companions(prepared: Prepared, ds: Dataset, source: Source, job: Any, path: str | os.PathLike, name: str,
                    opts: Options, centre_zone: str | None) -> None:
    """A budget's drivers (a drivers sheet, or driver columns on long rows), prepared as companions of the budget."""
    if ds is BUDGET and source.excel and source.drivers_sheet:
        # The drivers sheet lands with the budget (one import, one undo); its rows are named by the sheet.
        sheet = source.drivers_sheet
        prepared.options["drivers_sheet"] = sheet
        drivers = Mapping(dataset=BUDGET_DRIVERS.name, options=Options(sheet=sheet, max_mib=opts.max_mib,
                                                                       max_fields=opts.max_fields))
        prepared.companions.append(prepare(BUDGET_DRIVERS.name, path, drivers, f"{name} [{sheet}]",
                                           centre_zone=centre_zone))
    elif ds is BUDGET and not job.wide and _driver_headers(list(job.frame.columns)):
        # Long rows (a row per month and line) that carry drivers beside the amounts: the same rows, read again as
        # budget drivers; a row with no driver value (a telecom line) is no drivers row.
        drivers = Mapping(dataset=BUDGET_DRIVERS.name, options=replace(
            opts, values={}, defaults={}, derive={}, dedupe={}, measure=None, drivers_sheet=None))
        other = prepare(BUDGET_DRIVERS.name, path, drivers, name, centre_zone=centre_zone)
        given = [c for c in other.supplied if c in _DRIVER_VALUES]
        other.stage_frame = other.stage[other.stage[given].notna().any(axis=1)]
        prepared.companions.append(other)
        prepared.ignored_columns = [h for h in prepared.ignored_columns if h in other.ignored_columns]


# A budget_drivers column that carries a driver (not the key, nor the pay type)
_DRIVER_VALUES = tuple(c.name for c in BUDGET_DRIVERS.columns if c.name not in (*BUDGET_DRIVERS.key, "pay"))


def _driver_headers(headers: list[str]) -> list[str]:
    """The driver columns the page's header words find among a budget file's headers (預算來電量, 預算時薪, ...)."""
    return [c for c in suggest_mapping(headers, BUDGET_DRIVERS.name).columns if c in _DRIVER_VALUES]


def _with_header_words(mapping: Mapping, headers: list[str], dataset: str = "budget") -> Mapping:
    """The mapping with the columns the page's header words give (suggest_mapping), and their value recodes (成本,
    收入, 預算, 實際) under the mapping's own."""
    guess = suggest_mapping(headers, dataset)
    values = {**guess.options.values, **mapping.options.values}
    return replace(mapping, dataset=dataset, columns=guess.columns, options=replace(mapping.options, values=values))


def _warnings(totals: pd.DataFrame, source: Source, sheets: list[str]) -> pd.DataFrame:
    """The totals that do not add up (by __src) and what reading the workbook noted (a sheet skipped), by row and
    sheet, with their reasons as codes and in English."""
    rows = pd.DataFrame({"row_number": pd.array([row_of(i) for i in totals["__src"]], dtype="Int64"),
                         "sheet": [sheets[int(i) // SHEET_STRIDE] if sheets else None for i in totals["__src"]],
                         "column_name": totals["column_name"].to_numpy(), "value": totals["value"].to_numpy(),
                         "reason": totals["reason"].to_numpy()})
    notes = pd.DataFrame({"row_number": pd.array([pd.NA] * len(source.notes), dtype="Int64"),
                          "sheet": [sheet for sheet, _, _ in source.notes], "column_name": None, "value": None,
                          "reason": [encode(code, **params) for _, code, params in source.notes]})
    out = pd.concat([f for f in (notes, rows) if len(f)] or [rows], ignore_index=True)
    return split_reasons(out)[WARNING_COLUMNS] if len(out) else pd.DataFrame(columns=WARNING_COLUMNS)


def _prepare_batch(ds: Dataset, batch: Batch, mapping: Mapping, name: str, file: _FileWide,
                   source: Source) -> tuple[_Job, _Part]:
    """One batch resolved, parsed and checked, row by row (what spans rows, duplicate keys and budget totals, waits
    for them all)."""
    job = _resolve(ds, batch, mapping, name, file, source)
    _parse_columns(job)
    _check_required(job)
    _derive_and_check(ds, job.parsed, job.supplied, job.cols, job.work, job.opts, job.note)
    _check_field_counts(job)
    _check_total_rows(job)
    problems = (pd.concat(job.problems, ignore_index=True) if job.problems
                else pd.DataFrame(columns=_PROBLEM_COLUMNS))
    rejected_idx = list(set(problems["__i"].tolist()))
    valid = ~job.work.index.isin(rejected_idx)
    if job.wide:
        # A sheet row is rejected as a whole: none of its months land (not only the bad cell's).
        valid &= ~job.source_row.isin(set(job.source_row.loc[rejected_idx].tolist())).to_numpy()
    values = pd.DataFrame(job.parsed, index=job.work.index)[valid].assign(__src=job.source_row[valid].to_numpy())
    src = job.source_row.loc[problems["__i"].astype("int64")].to_numpy() if len(problems) else np.array([], "int64")
    problems = problems.drop(columns="__i").assign(__src=src)
    measures = set(job.parsed["__measure"].dropna().unique()) if job.wide else set()
    return job, _Part(values=values, rejects=_located(problems, _raw_json(job, job.frame, src), job.sheets),
                      supplied=list(job.supplied), measures=measures, rows=len(job.frame),
                      totals=_budget_amounts(job) if ds is BUDGET else None)


def _dataset(dataset: str, mapping: Mapping, name: str) -> Dataset:
    if mapping.dataset and mapping.dataset != dataset:
        raise FatalImportError(f"{name}: the mapping is for {mapping.dataset!r}, not {dataset!r}")
    try:
        return get_dataset(dataset)
    except ValueError as exc:
        raise FatalImportError(f"{name}: {exc}") from None


def _resolve(ds: Dataset, batch: Batch, mapping: Mapping, name: str, file: _FileWide, source: Source) -> _Job:
    """The file's headers resolved to columns, months-as-columns melted, and the file refused when it lacks a
    required column (with no default) or its defaults name no column. A budget workbook's rows take what their sheet
    says (Batch.info): the cost center its name gives where no column does, the factor of its amount unit."""
    opts, frame, info = mapping.options, batch.frame, batch.info if ds is BUDGET else None
    if batch.sparse:
        frame = _absent_fields(frame, mapping)
    file_cols = _resolve_columns(ds, frame, mapping, name)
    derived = _option_fields(frame, mapping, name)
    wide = ds is BUDGET and "period" not in file_cols
    if wide and derived:
        raise FatalImportError(f"{name}: options.derive and options.dedupe are for files with a row per record, not "
                               "for a budget sheet with the months as columns")
    if wide:
        work, cols = _melt_budget(frame, file_cols, opts, name, info, source.missing_year)
        source_row = work["__row"]
    else:
        work, cols = frame, file_cols
        if info is not None and info["cost_center"].notna().any():
            given = _joined(frame, file_cols["cost_center"]) if "cost_center" in file_cols else None
            work = frame.assign(__cost_center=_or_sheet(given, info["cost_center"]))
            cols = {**file_cols, "cost_center": ["__cost_center"]}
        source_row = pd.Series(frame.index, index=frame.index)
    scale = None
    if info is not None and (info["scale"] != 1).any():
        scale = pd.Series(info["scale"].loc[source_row].to_numpy(), index=work.index)
    defaults = {c.name: c.default for c in ds.columns if c.default is not None}
    defaults.update(opts.defaults)
    unknown_defaults = set(opts.defaults) - set(ds.names)
    if unknown_defaults:
        raise FatalImportError(f"{name}: options.defaults names {clip(sorted(unknown_defaults)[0])!r}, not a column of {ds.name}")
    missing = [c.name for c in ds.columns
               if c.required and c.name not in cols and c.name not in defaults and c.name not in derived]
    if missing:
        raise FatalImportError(
            f"{name}: required column {missing[0]!r} is missing for {ds.name}; the file's columns are: "
            f"{header_list(frame.columns)} (map it with --mapping)",
            "missing_column", file=name, column=missing[0], dataset=ds.name, columns=header_list(frame.columns))
    return _Job(ds=ds, name=name, frame=frame, file_cols=file_cols, cols=cols, opts=opts, defaults=defaults,
                wide=wide, work=work, source_row=source_row, file=file, derived=derived, fields=batch.fields,
                formulas=batch.formulas, scale=scale, sheets=source.sheet_names if source.several else [],
                broken=batch.broken)


# What a spreadsheet shows in a cell whose formula failed (and a CSV save of it writes).
SPREADSHEET_ERRORS = ("#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!",
                      "#GETTING_DATA")


def _unreadable_cells(job: _Job, col: str | pd.Series, cells: pd.Series, header_of_row: pd.Series | str) -> pd.Series:
    """Where a working row's cell holds no value at all: a spreadsheet error (#N/A, #DIV/0!, ...) or a formula saved
    without its value (the batch lists those by position and header). Noted as problems of col, so the parser sees
    those cells empty and adds no second reason."""
    reasons = pd.Series(pd.NA, index=cells.index, dtype="string")
    shown = pd.Series(None, index=cells.index, dtype=object)
    error = cells.isin(SPREADSHEET_ERRORS)
    if error.any():
        reasons[error] = [encode("spreadsheet_error", value=v) for v in cells[error]]
        shown[error] = cells[error]
    formulas = job.formulas
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


def _parse_columns(job: _Job) -> None:
    """Each column the file supplies (or a default fills) parsed by its kind; bad cells noted as problems."""
    ds, opts = job.ds, job.opts
    job.decimal = _decimal_mark(job)
    for c in ds.columns:
        if c.name not in job.cols and c.name not in job.defaults and c.name not in job.derived:
            continue
        unit, decimal = opts.unit_for(c.name), job.decimal
        if c.name in job.cols:
            raw = _joined(job.work, job.cols[c.name], dated=c.kind == "timestamp")
            raw = raw.mask(_unreadable_in_column(job, c.name))
        elif c.name in job.derived:
            raw = _derived(job, c.name)
            unit, decimal = "s", "."  # seconds_between writes seconds with a point
        else:
            raw = pd.Series(None, index=job.work.index, dtype=object)
        raw = _apply_values(raw, opts.values.get(c.name, {}))
        if c.name in job.defaults:
            raw = parsing.clean_text(raw).fillna(job.defaults[c.name])
        lo, hi = c.bounds
        result = parsing.parse_column(raw, c.kind, date_order=opts.date_order, duration_unit=unit,
                                      lo=lo, hi=hi, choices=c.choices, words=c.words, column=c.name,
                                      decimal=decimal, day_order=job.file.day_orders.get(c.name), scale=job.scale,
                                      source_zone=opts.timezone, centre_zone=job.file.centre_zone)
        job.parsed[c.name] = result.values
        job.note(c.name, raw, result.errors)
        job.supplied.append(c.name)
    if job.wide:
        _parse_months(job)
    if "dedupe" in job.derived:
        _parse_latest(job)


def _source_cells(job: _Job, column: str, header: str) -> pd.Series:
    """A field's cells that a derived column (or dedupe) reads, as text; a spreadsheet error or a formula without its
    value is a problem of that column, and empty here."""
    cells = job.frame[header]
    return parsing.clean_text(cells).mask(_unreadable_cells(job, column, cells, header))


def _derived(job: _Job, column: str) -> pd.Series:
    """A derived column's cells as text (true/false, seconds, a UTC time, or a case's value), parsed and checked
    afterwards like a mapped column's (options.derive, _mapping.DERIVE_RULES)."""
    rule, arg = next(iter(job.opts.derive[column].items()))
    cells = [_source_cells(job, column, h) for h in job.derived[column]]
    if rule == "seconds_between":
        start, end = (_source_timestamps(job, column, i, c) for i, c in enumerate(cells))
        seconds = (end - start).dt.total_seconds()
        return seconds.map(lambda v: f"{v:.3f}".rstrip("0").rstrip("."), na_action="ignore").astype(object)
    text = cells[0]
    if rule == "epoch_seconds":
        return _from_epoch(text)
    if rule == "case":
        by_field = dict(zip(derive_fields(job.opts.derive[column]), cells))
        out = pd.Series(None, index=text.index, dtype=object)
        open_ = pd.Series(True, index=text.index)  # rows no earlier condition has taken
        for c in arg:
            if "else" in c:
                return out.mask(open_, c["else"])
            (cond, field_arg), = c["when"].items()
            hit = _holds(cond, field_arg, by_field[derive_fields(c["when"])[0]])
            out, open_ = out.mask(open_ & hit, c["then"]), open_ & ~hit
        return out
    if rule == "not":
        read = parsing.parse_bool(text).values
        # A cell that is no true/false stays as written, for the parser to reject with its value.
        return text.astype(object).mask(read.notna(), read.map({True: "false", False: "true"}).astype(object))
    return pd.Series(np.where(_holds(rule, arg, text), "true", "false"), index=text.index, dtype=object)


def _holds(rule: str, arg: Any, text: pd.Series) -> pd.Series:
    """Where a condition (present, absent, in; in a case also not: the field reads false) holds, as True/False."""
    if rule == "in":
        wanted = {header_key(v) for v in next(iter(arg.values()))}
        return text.map(lambda v: header_key(v) in wanted, na_action="ignore").fillna(False).astype(bool)
    if rule == "not":
        return parsing.parse_bool(text).values.eq(False).fillna(False).astype(bool)
    return text.notna() if rule == "present" else text.isna()


def _from_epoch(text: pd.Series) -> pd.Series:
    """Seconds since 1970-01-01 UTC as an ISO time with its Z (the timestamp parser then brings it to the centre's
    zone); a cell that is no such number stays as written, for the parser to reject with its value."""
    seconds = pd.to_numeric(text, errors="coerce")
    ok = seconds.notna() & (seconds >= 0) & (seconds < _YEAR_10000)
    iso = pd.to_datetime(seconds.where(ok), unit="s", utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return text.astype(object).mask(ok, iso.astype(object))


_YEAR_10000 = 253_402_300_800  # seconds since 1970 at 10000-01-01: no time is later


def _source_timestamps(job: _Job, column: str, i: int, cells: pd.Series) -> pd.Series:
    """A timestamp field a derived duration reads, parsed (its day order decided over the whole file, like a mapped
    column's); an unreadable cell is a problem of the derived column."""
    parsed = parsing.parse_timestamp(cells, job.opts.date_order, job.file.day_orders[f"{column}#{i}"])
    job.note(column, cells, parsed.errors)
    return parsed.values


def _parse_latest(job: _Job) -> None:
    """The field options.dedupe compares, as timestamps (__latest): an unreadable cell rejects its row, naming the
    field; an empty one counts as the earliest."""
    header = job.derived["dedupe"][0]
    cells = _source_cells(job, header, header)
    parsed = parsing.parse_timestamp(cells, job.opts.date_order, job.file.day_orders["dedupe#0"])
    job.note(header, cells, parsed.errors)
    job.parsed["__latest"] = parsed.values


def _parse_months(job: _Job) -> None:
    """A months-as-columns sheet's amounts (the problem names the month) and its budget/actual measure."""
    work = job.work
    unreadable = _unreadable_cells(job, work["__header"], work["__amount"], work["__header"])
    amount = parsing.parse_amount(work["__amount"].astype(object).mask(unreadable), *job.ds.column("budget").bounds,
                                  job.decimal, scale=job.scale)
    bad = amount.errors.notna()
    if bad.any():
        job.problems.append(pd.DataFrame({
            "__i": work.index[bad], "column_name": work["__header"][bad].astype(str).values,
            "value": parsing.clean_text(work["__amount"].astype(object))[bad].astype(object).values,
            "reason": amount.errors[bad].astype(object).values}))
    measure = parsing.parse_enum(work["measure"].astype(object), ("budget", "actual"), column="measure")
    job.note("measure", work["measure"].astype(object), measure.errors)
    job.parsed["__measure"] = measure.values
    job.parsed["__amount"] = amount.values


_NUMERIC_KINDS = ("duration", "hours", "amount", "int")


def _decimal_mark(job: _Job) -> str:
    """The decimal mark of the file's numbers (parsing.DecimalMark): the mapping's, else guessed from the number cells
    of every batch read so far, this one's included."""
    mark = job.file.decimal
    if mark.fixed == "auto":
        for c in job.ds.columns:
            if c.kind in _NUMERIC_KINDS and c.name in job.cols:
                mark.see(_joined(job.work, job.cols[c.name]))
        if job.wide:
            mark.see(job.work["__amount"].astype(object))
    return mark.decide()


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
    rejected as a whole, with that one reason: its cells sit under the wrong headers, so what they say is no reason.
    So is a JSON record that is not valid JSON, or not an object (its text is the value shown)."""
    expected = len(job.frame.columns)
    whole = {r: (encode("wrong_field_count", fields=n, expected=expected), None) for r, n in job.fields.items()}
    whole.update(job.broken)
    if not whole:
        return
    ragged = job.source_row.isin(list(whole))
    job.problems = [p[~ragged.loc[p["__i"]].to_numpy()] for p in job.problems]
    first = job.source_row[ragged].drop_duplicates()  # one reason per file row (a sheet row is several work rows)
    job.problems.append(pd.DataFrame({
        "__i": first.index, "column_name": "", "value": [whole[r][1] for r in first],
        "reason": [whole[r][0] for r in first]}))


def _could_name_a_total(cells: pd.Series) -> pd.Series:
    """The cells total_level must look at: text that is not ASCII (a Chinese total word, or full-width letters NFKC
    turns into ASCII ones) or that holds "total" in any case (every ASCII total word does, "subtotal" and "totals"
    too); ASCII text without it, a number or an empty cell names no total."""
    try:
        text = cells.str
    except AttributeError:  # no text at all in the column
        return pd.Series(False, index=cells.index)
    return text.contains("total", case=False, regex=False, na=False).astype(bool) | (text.isascii() == False)  # noqa: E712


def _check_total_rows(job: _Job) -> None:
    """A report's totals row (its first cell Total, Totals:, 合計, 總計, Grand total, as a vendor's report writes it
    under its rows) is no record: rejected as a whole, with that one reason, whatever its other cells would say. Budget
    sheets check their total rows against the lines instead (_check_totals)."""
    if job.ds is BUDGET or job.frame.empty:
        return
    filled = job.frame.notna()
    first = job.frame.bfill(axis=1).iloc[:, 0]  # each row's first non-empty cell
    level = pd.Series(0, index=first.index)
    maybe = _could_name_a_total(first)
    if maybe.any():  # a few cells, not every row's id (300,000 calls took 3 to 4 s of the sample load)
        level[maybe] = first[maybe].map(
            lambda v: total_level(v) + total_level(re.sub(r"(?i)totals\b", "total", v)) if isinstance(v, str) else 0)
    total = level.gt(0) & filled.any(axis=1)
    if not total.any():
        return
    job.problems = [p[~total.loc[p["__i"]].to_numpy()] for p in job.problems]
    job.problems.append(pd.DataFrame({
        "__i": total.index[total], "column_name": filled[total].idxmax(axis=1).astype(str).values,
        "value": first[total].astype(object).values,
        "reason": [encode("total_row", label=v) for v in first[total]]}))


# Half a dollar: a sheet may show its totals rounded to the dollar.
TOTAL_TOLERANCE = 0.5


def _budget_amounts(job: _Job) -> pd.DataFrame:
    """A budget batch's amounts, one per row, for _check_totals: src (position in the file), level and label (of a
    total row: total_level and the text that says so), column (the month header, or budget/actual), period, measure
    (NA where a sheet row does not say), line_type, amount. Rows without an amount or month are left out, unless they
    are totals."""
    level = pd.Series(0, index=job.work.index)
    label = pd.Series(None, index=job.work.index, dtype=object)
    for col in ("line", "cost_center"):
        if col in job.cols:  # cells the file wrote, not the default
            text = parsing.clean_text(_joined(job.work, job.cols[col]))
            lv = text.map({u: total_level(u) for u in text.dropna().unique()}).fillna(0).astype(int)
            label = label.where(label.notna() | (lv == 0), text)
            level = np.maximum(level, lv)
    p = job.parsed
    if job.wide:
        parts = [pd.DataFrame({"column": job.work["__header"].astype(str), "period": p["period"],
                               "measure": p["__measure"], "amount": p["__amount"]})]
    else:
        parts = [pd.DataFrame({"column": m, "period": p["period"], "measure": m, "amount": p[m]})
                 for m in ("budget", "actual") if m in p]
    scale = job.scale if job.scale is not None else 1.0
    rows = pd.concat([f.assign(src=job.source_row, level=level, label=label, line_type=p["line_type"], scale=scale)
                      for f in parts]
                     or [pd.DataFrame(columns=["src", "level", "label", "column", "period", "measure", "line_type",
                                               "amount", "scale"])])
    return rows[(rows["level"] > 0) | (rows["amount"].notna() & rows["period"].notna())]


def _check_totals(parts: list[_Part]) -> pd.DataFrame:
    """Total and subtotal rows of a budget sheet (合計, 小計, 總計, Total, ...) are not budget lines: each is left out
    of every batch's rows and rejects, and checked against the sum of the line rows it covers (all of them, or those of
    one line type; in any batch; of its own sheet), per month and measure. Returns a warning (by __src) for each total
    that does not add up, naming its row, month and both amounts: the lines are what is stored, and the sheet's
    total is no reason to refuse them, but someone should look. Other problems of a total row (its blank 項目, its
    line) are no reason either: it is not stored."""
    rows = [p.totals for p in parts if p.totals is not None and len(p.totals)]
    rows = pd.concat(rows, ignore_index=True) if rows else None
    if rows is None or not (rows["level"] > 0).any():
        return pd.DataFrame(columns=_LOCATED_COLUMNS)
    level = rows[rows["level"] > 0].groupby("src")["level"].max()
    totals = set(level.index.tolist())
    for p in parts:
        p.values = p.values[~p.values["__src"].isin(totals)]
        p.rejects = p.rejects[~p.rejects["__src"].isin(totals)]
    amounts = rows.dropna(subset=["amount", "period"])
    line_rows = amounts[~amounts["src"].isin(totals)]
    mismatches = []
    for src, lv in level.items():
        first = src - src % SHEET_STRIDE  # a total covers the lines of its own sheet
        before = level[(level.index < src) & (level.index >= first) & (level >= lv)]
        start = before.index.max() if len(before) else first - 1
        lines = line_rows[(line_rows["src"] > start) & (line_rows["src"] < src)]
        for _, t in amounts[amounts["src"] == src].iterrows():
            same = lines[lines["period"] == t["period"]]
            measures = [t["measure"]] if pd.notna(t["measure"]) else sorted(same["measure"].dropna().unique()) or ["budget"]
            sums = [part["amount"].sum() for m in measures for part in
                    (same[same["measure"] == m], *(g for _, g in same[same["measure"] == m].groupby("line_type")))]
            # half a unit of the sheet's amounts: a 千元 sheet rounds its totals to the thousand
            if not any(abs(x - t["amount"]) <= TOTAL_TOLERANCE * t["scale"] for x in sums):
                mismatches.append((t, measures[0], sums[0]))
    return pd.DataFrame({
        "__src": [int(t["src"]) for t, _, _ in mismatches],
        "column_name": [t["column"] for t, _, _ in mismatches],
        "value": [f"{t['amount']:.15g}" for t, _, _ in mismatches],
        "reason": [encode("total_mismatch", label=t["label"], period=f"{t['period']:%Y-%m}", measure=m,
                          total_amount=float(t["amount"]), lines_amount=float(x)) for t, m, x in mismatches]},
        columns=_LOCATED_COLUMNS)


def _dedupe(job: _Job, parts: list[_Part]) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """(the valid rows of every batch without the repeats of a key, a problem for each repeat, how many rows were
    superseded): a later row with the key of an earlier one is a problem of its own, unless options.dedupe says which
    version of a key to keep (_keep_latest). The problems carry __src, the row's position in the file."""
    values = _concat([p.values for p in parts])
    for p in parts:  # held once: as one frame from here on
        p.values = p.values.iloc[0:0]
    if job.wide:
        return (*_pivot_budget(values), 0)
    key = list(job.ds.key)
    superseded = 0
    if "__latest" in values:
        values, superseded = _keep_latest(values, key)
    return (*_drop_duplicate_keys(values, key), superseded)


def _keep_latest(values: pd.DataFrame, key: list[str]) -> tuple[pd.DataFrame, int]:
    """Of the valid rows with the same key, the one with the latest __latest (options.dedupe), the later in the file on
    a tie (a platform that streams records at least once writes a repeat after the first); an empty __latest is the
    earliest. The others are superseded versions of the record, not rejects: (the rows kept in file order, how many
    were left out)."""
    ordered = values.sort_values(["__latest", "__src"], na_position="first", kind="stable")
    keep = ~ordered.duplicated(subset=key, keep="last")
    return ordered[keep].sort_values("__src", kind="stable"), int((~keep).sum())


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The batches' rows one after the other; a column some batch lacks (a wait derived from no timestamp in it)
    is empty there, of the type the others give it."""
    dtypes: dict[str, Any] = {}
    for f in frames:
        for c, d in f.dtypes.items():
            dtypes.setdefault(c, d)
    frames = [f if len(f.columns) == len(dtypes) else f.reindex(columns=list(dtypes)).astype(dtypes) for f in frames]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].reset_index(drop=True)


def _drop_duplicate_keys(values: pd.DataFrame, key: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The first row of each key, and a problem for each later one naming the row of the first."""
    dup = values.duplicated(subset=key, keep="first")
    if not dup.any():
        return values, pd.DataFrame(columns=_LOCATED_COLUMNS)
    first_src = values[~dup].set_index(key)["__src"]
    keys_dup = values.loc[dup, key]
    firsts = [first_src.loc[tuple(r) if len(key) > 1 else r[0]] for r in keys_dup.itertuples(index=False)]
    problems = pd.DataFrame({
        "__src": values.loc[dup, "__src"].to_numpy(), "column_name": key[0],
        "value": keys_dup[key[0]].astype(object).values,
        "reason": [encode("duplicate_key", column=key[0], value=v, first_row=row_of(f))
                   for v, f in zip(keys_dup[key[0]], firsts)],
    })
    return values[~dup], problems


_LOCATED_COLUMNS = ["__src", "column_name", "value", "reason"]


def _read_headers(job: _Job) -> list[str]:
    """The headers whose cells a rejected row keeps: only the columns the import reads (an unmapped column may hold
    personal data nobody asked to keep)."""
    return [h for h in job.frame.columns if h in job.used_headers or job.is_month_header(h)]


def _raw_json(job: _Job, frame: pd.DataFrame, src: Any) -> dict[int, str]:
    """Position -> the row's read cells as JSON, each cut to present.ECHO_CHARS, for the positions src of frame."""
    headers = _read_headers(job)
    wanted = sorted(set(np.asarray(src).tolist()) & set(frame.index.tolist()))
    raws = frame.loc[wanted, headers]
    return {i: raw_json(r) for i, r in zip(raws.index, raws.to_dict("records"))}


def _raw_rows(job: _Job, source: Source, problems: pd.DataFrame) -> dict[int, str]:
    """The read cells of rows found bad only once every batch was read (repeated keys), read again from the file:
    the batches are gone by then, and repeats are few."""
    if not len(problems):
        return {}
    raw: dict[int, str] = {}
    for batch in source.batches():
        raw.update(_raw_json(job, batch.frame, problems["__src"]))
    return raw


def _located(problems: pd.DataFrame, raw: dict[int, str], sheets: list[str]) -> pd.DataFrame:
    """Problems by the file's row number a user can find (position + 2: the header is row 1) and, when several sheets
    were read, its sheet; the value cut to present.ECHO_CHARS, and the row's read cells (raw)."""
    src = problems["__src"].astype("int64")
    return pd.DataFrame({
        "row_number": (src % SHEET_STRIDE + 2).to_numpy(),
        "sheet": [sheets[i // SHEET_STRIDE] for i in src] if sheets else [None] * len(src),
        "column_name": problems["column_name"].to_numpy(),
        "value": [None if pd.isna(v) else clip(v) for v in problems["value"]], "reason": problems["reason"].to_numpy(),
        "raw": [raw[i] for i in src], "__src": src.to_numpy()})


def _stage(job: _Job, parts: list[_Part], values: pd.DataFrame, rejects: pd.DataFrame, sha: str,
           decimal: str, centre_zone: str) -> Prepared:
    """The valid rows' stored columns, and how an update treats each of them."""
    ds = job.ds
    supplied = list(dict.fromkeys(c for p in parts for c in p.supplied))  # a wait derived in some batches only
    if job.wide:
        # A duplicate found at the pivot rejects its whole sheet row too.
        bad_src = set(rejects["__src"].tolist())
        values = values[~values["__src"].isin(list(bad_src))]
        supplied = ["period", "cost_center", "line", "line_type"] + sorted(
            {"budget" if m == "budget" else "actual" for p in parts for m in p.measures})
    stored = [c.name for c in ds.stored_columns if c.name in supplied]
    ignored = [str(h) for h in job.frame.columns if h not in job.used_headers
               and not (job.wide and workbook.month_header(h)[0] is not None)]
    return Prepared(dataset=ds, file_name=job.name, file_sha256=sha, rows_read=sum(p.rows for p in parts),
                    stage_frame=values[stored].reset_index(drop=True), supplied=stored, rules=_update_rules(job, stored),
                    rejects=rejects.drop(columns="__src").reset_index(drop=True), ignored_columns=ignored,
                    options={"columns": job.cols, **{k: v for k, v in job.opts.__dict__.items() if v not in (None, {})},
                             "decimal": decimal, "centre_timezone": centre_zone},
                    customer_source=job.cols.get("customer_id", []))


def _update_rules(job: _Job, stored: list[str]) -> dict[str, str]:
    """How an update treats each column: "set" what the file says; "insert_only" for values the file did not give
    (defaults, answered derived from nothing), so a re-import without the column keeps what is stored;
    "keep_when_null" for budget cells of a months-as-columns sheet, where an empty cell is no news."""
    rules = {c: "set" for c in stored}
    for c in stored:
        if c not in job.cols and c not in job.derived and c in job.defaults:
            rules[c] = "insert_only"
    given = {*job.cols, *job.derived}
    if job.ds.name == "contacts" and "answered" not in given and "answered_at" not in given:
        rules["answered"] = "insert_only"
    if job.wide:
        rules.update({c: "keep_when_null" for c in ("budget", "actual") if c in rules})
    return rules


def _pivot_budget(values: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    key = ["period", "cost_center", "line"]
    dup = values.duplicated(subset=key + ["__measure"], keep="first")
    dup_problems = pd.DataFrame({
        "__src": values.loc[dup, "__src"].to_numpy(), "column_name": "line",
        "value": values.loc[dup, "line"].astype(object).values,
        "reason": [encode("duplicate_budget_line", line=line, cost_center=cc, measure=measure, period=f"{period:%Y-%m}")
                   for line, cc, measure, period in zip(values.loc[dup, "line"], values.loc[dup, "cost_center"],
                                                        values.loc[dup, "__measure"], values.loc[dup, "period"])],
    }) if dup.any() else pd.DataFrame(columns=_LOCATED_COLUMNS)
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
    elif ds.name in ("agent_states", "schedule"):
        start_col, end_col = ("started_at", "ended_at") if ds.name == "agent_states" else ("starts_at", "ends_at")
        start, end = parsed[start_col], parsed[end_col]
        backwards = end < start
        flag(end_col, backwards, "ended_before_started", end.astype(str))
        # An agent is in one state (has one activity) at a time: a row starting before the agent's earlier rows in
        # the file have ended is rejected, the earlier one kept.
        rows = pd.DataFrame({"agent": parsed["agent_id"], "start": start, "end": end})[~backwards.fillna(True)].dropna()
        rows = rows.sort_values(["agent", "start"], kind="stable")
        until = rows.groupby("agent", sort=False)["end"].cummax().groupby(rows["agent"], sort=False).shift()
        overlap = rows.index[(rows["start"] < until).to_numpy()]
        if len(overlap):
            errs = pd.Series(pd.NA, index=idx, dtype="string")
            errs[overlap] = [encode("overlapping_state", until=str(u)) for u in until[overlap]]
            note(start_col, start.astype(str), errs)
