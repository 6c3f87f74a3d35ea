"""Import of CSV/XLSX exports into the store: read, map, parse, validate, then write all valid rows in one transaction."""
from __future__ import annotations

import getpass
import gzip
import hashlib
import hmac
import io
import json
import os
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Callable

import duckdb
import numpy as np
import pandas as pd
import yaml

from . import _parse as parsing
from ..store import BUDGET, SQL_TYPES, Dataset, get_dataset
from ..store import DEFAULT_WAIT_SECONDS, open_db, pseudonym_key


class FatalImportError(Exception):
    """The file cannot be imported at all; nothing was written."""


# progress(fraction 0-1, short step name): called a few dozen times per import at most, whatever the file's size.
Progress = Callable[[float, str], None]


def _scaled(progress: Progress | None, lo: float, hi: float) -> Progress | None:
    """A progress callback for one phase, reporting into [lo, hi] of the whole."""
    if progress is None:
        return None
    return lambda fraction, step: progress(lo + (hi - lo) * fraction, step)


def _silent(fraction: float, step: str) -> None:
    """The progress callback when nobody listens."""


@dataclass
class Options:
    date_order: str = "auto"
    duration_unit: str = "s"
    encoding: str = "auto"
    sheet: str | int | None = None
    defaults: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    measure: str | None = None  # budget, months-as-columns layout without a measure column


@dataclass
class Mapping:
    dataset: str | None = None
    columns: dict[str, list[str]] = field(default_factory=dict)
    options: Options = field(default_factory=Options)

    def to_yaml(self) -> str:
        """The mapping in the file format the CLI reads."""
        cols = {k: (v[0] if len(v) == 1 else v) for k, v in self.columns.items()}
        opts = {k: v for k, v in self.options.__dict__.items() if v not in (None, {}, "auto", "s")}
        doc: dict[str, Any] = {"dataset": self.dataset, "columns": cols}
        if opts:
            doc["options"] = opts
        return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


_OPTION_KEYS = {"date_order", "duration_unit", "encoding", "sheet", "defaults", "values", "measure"}


def parse_mapping(doc: Any, source: str = "mapping") -> Mapping:
    """A mapping from its YAML document, with errors that name the file and the key."""
    def bad(where: str, what: str) -> FatalImportError:
        return FatalImportError(f"{source}: {where}: {what}")

    if not isinstance(doc, dict):
        raise bad("top level", "expected keys dataset, columns, options")
    unknown = set(doc) - {"dataset", "columns", "options"}
    if unknown:
        raise bad(", ".join(sorted(unknown)), "unknown key (expected dataset, columns, options)")
    dataset = doc.get("dataset")
    if dataset is not None:
        try:
            get_dataset(str(dataset))
        except ValueError as exc:
            raise bad("dataset", str(exc)) from None
    columns: dict[str, list[str]] = {}
    raw_cols = doc.get("columns") or {}
    if not isinstance(raw_cols, dict):
        raise bad("columns", "expected canonical column: source header")
    known = set(get_dataset(dataset).names) | {c.name for c in get_dataset(dataset).extra_columns} if dataset else None
    for canon, src in raw_cols.items():
        if known is not None and canon not in known:
            raise bad(f"columns.{canon}", f"not a column of {dataset}; expected one of: {', '.join(sorted(known))}")
        if isinstance(src, str) or isinstance(src, (int, float)):
            columns[str(canon)] = [str(src)]
        elif isinstance(src, list) and src and all(isinstance(x, (str, int, float)) for x in src):
            columns[str(canon)] = [str(x) for x in src]
        else:
            raise bad(f"columns.{canon}", "expected a source header or a list of them")
    raw_opts = doc.get("options") or {}
    if not isinstance(raw_opts, dict):
        raise bad("options", "expected a mapping of options")
    extra = set(raw_opts) - _OPTION_KEYS
    if extra:
        raise bad(f"options.{sorted(extra)[0]}", f"unknown option (expected one of: {', '.join(sorted(_OPTION_KEYS))})")
    opts = Options(**{k: v for k, v in raw_opts.items()})
    if opts.date_order not in parsing.DATE_ORDERS:
        raise bad("options.date_order", f"expected one of {', '.join(parsing.DATE_ORDERS)}, got {opts.date_order!r}")
    if opts.duration_unit not in parsing.DURATION_UNITS:
        raise bad("options.duration_unit", f"expected one of {', '.join(parsing.DURATION_UNITS)}, got {opts.duration_unit!r}")
    if not isinstance(opts.defaults, dict):
        raise bad("options.defaults", "expected canonical column: constant")
    if not isinstance(opts.values, dict) or not all(isinstance(v, dict) for v in opts.values.values()):
        raise bad("options.values", "expected canonical column: {source value: stored value}")
    opts.defaults = {str(k): str(v) for k, v in opts.defaults.items()}
    opts.values = {str(k): {str(a): str(b) for a, b in v.items()} for k, v in opts.values.items()}
    return Mapping(dataset=str(dataset) if dataset else None, columns=columns, options=opts)


def load_mapping(path: str | os.PathLike) -> Mapping:
    """Read a mapping YAML file."""
    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FatalImportError(f"{p}: cannot read the mapping file ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise FatalImportError(f"{p}: not valid YAML ({str(exc).splitlines()[0]})") from None
    return parse_mapping(doc, str(p))


def header_key(name: Any) -> str:
    """How headers are compared: NFKC, lower case, no white space."""
    return "".join(unicodedata.normalize("NFKC", str(name)).lower().split())


# ---------------------------------------------------------------- reading files

def _decode(data: bytes, encoding: str, name: str) -> str:
    if encoding and encoding != "auto":
        try:
            return data.decode(encoding).lstrip("\ufeff")
        except (LookupError, UnicodeDecodeError) as exc:
            raise FatalImportError(f"{name}: cannot decode as {encoding} ({exc})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        # Big5 as Windows in Taiwan writes it (cp950), the usual encoding of an Excel "CSV" save.
        return data.decode("cp950")
    except UnicodeDecodeError:
        raise FatalImportError(
            f"{name}: not UTF-8 and not Big5/CP950 text; save it as CSV UTF-8, or set options.encoding"
        ) from None


def _cell_text(v: Any) -> str | None:
    """An Excel cell as the text a CSV export of it would hold."""
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT or (isinstance(v, str) and not v.strip()):
        return None
    if isinstance(v, (datetime, pd.Timestamp)):
        return v.strftime("%Y-%m-%d") if (v.hour, v.minute, v.second, v.microsecond) == (0, 0, 0, 0) else v.isoformat(sep=" ")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, time):
        return v.strftime("%H:%M:%S")
    if isinstance(v, pd.Timedelta):
        secs = int(v.total_seconds())
        return f"{secs // 3600}:{secs // 60 % 60:02d}:{secs % 60:02d}"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    return str(v)


def _unique_headers(headers: list[str]) -> list[str]:
    """Blank headers named by position and repeated ones numbered, as pandas reads a CSV's (x, x.1)."""
    out: list[str] = []
    for i, h in enumerate(headers):
        name = h or f"Unnamed: {i}"
        base, n = name, 0
        while name in out:
            n += 1
            name = f"{base}.{n}"
        out.append(name)
    return out


def _header_text(v: Any) -> str:
    if isinstance(v, (datetime, pd.Timestamp, date)):
        return f"{v.year:04d}-{v.month:02d}" if v.day == 1 else v.isoformat()[:10]
    return "" if v is None else str(v).strip()


def read_source(path: str | os.PathLike, options: Options, display_name: str | None = None) -> pd.DataFrame:
    """The file's rows as text cells (None when empty), with its headers as they are written."""
    p = Path(path)
    name = display_name or p.name
    suffixes = [s.lower() for s in p.suffixes]
    if not p.exists():
        raise FatalImportError(f"{name}: no such file")
    if suffixes and suffixes[-1] in (".xlsx", ".xlsm", ".xls"):
        try:
            import python_calamine  # noqa: F401  (fast reader; openpyxl is the fallback)
            engine = "calamine"
        except ImportError:
            engine = "openpyxl"
        try:
            book = pd.ExcelFile(p, engine=engine)
        except Exception as exc:  # any reader failure means the same to the user: unreadable workbook
            raise FatalImportError(f"{name}: not a readable Excel workbook ({exc})") from None
        sheet = options.sheet if options.sheet is not None else 0
        if isinstance(sheet, str) and sheet not in book.sheet_names:
            raise FatalImportError(f"{name}: no sheet named {sheet!r}; the sheets are: {', '.join(book.sheet_names)}")
        # keep_default_na=False: a cell reading N/A or NULL is a value to check, not an empty cell (as for CSV).
        frame = pd.read_excel(book, sheet_name=sheet, header=None, dtype=object, keep_default_na=False, na_filter=False)
        if frame.empty:
            raise FatalImportError(f"{name}: sheet {sheet!r} is empty")
        headers = _unique_headers([_header_text(v) for v in frame.iloc[0]])
        body = frame.iloc[1:].map(_cell_text)
        body.columns = headers
        body.index = body.index - 1  # index i is the sheet's row i + 2, whatever blank rows are dropped
        body = body.dropna(how="all")  # blank rows of a sheet are formatting, not data
        return body.astype("object")
    try:
        data = p.read_bytes()
        if suffixes and suffixes[-1] == ".gz":
            data = gzip.decompress(data)
    except (OSError, EOFError) as exc:
        raise FatalImportError(f"{name}: cannot read the file ({exc})") from None
    text = _decode(data, options.encoding, name)
    first_line = text[:text.find("\n")] if "\n" in text else text  # without copying the rest of the file
    sep = max([",", ";", "\t", "|"], key=first_line.count)
    if not first_line.strip():
        raise FatalImportError(f"{name}: the file is empty (expected a header row)")
    try:
        # Blank lines are read (and dropped below) so that index i stays the file's row i + 2 in messages.
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_filter=False,
                            skip_blank_lines=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise FatalImportError(f"{name}: not a readable CSV ({str(exc).splitlines()[0]})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame.astype("object").where(frame != "", None).dropna(how="all")


# ---------------------------------------------------------------- preparing rows

@dataclass
class Prepared:
    """A file parsed and validated, ready to write: nothing has touched the database yet."""

    dataset: Dataset
    file_name: str
    file_sha256: str
    rows_read: int
    stage: pd.DataFrame  # valid rows, stored columns that the file supplies
    supplied: list[str]
    rejects: pd.DataFrame  # row_number, column_name, value, reason, raw
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


def _hash_ids(values: pd.Series, key: bytes) -> pd.Series:
    def one(v: Any) -> Any:
        if not isinstance(v, str):
            return v
        return hmac.new(key, v.encode("utf-8"), hashlib.sha256).hexdigest()[:32]
    # Each distinct id is hashed once: customers contact the center again and again.
    hashed = {v: one(v) for v in values.dropna().unique() if isinstance(v, str)}
    return values.map(lambda v: hashed[v] if isinstance(v, str) else v)


def prepare(dataset: str, path: str | os.PathLike, mapping: Mapping | None = None, display_name: str | None = None,
            progress: Progress | None = None) -> Prepared:
    """Read, map, parse and validate a file; raise FatalImportError for a file that can't be imported at all."""
    tell = progress or _silent
    mapping = mapping or Mapping()
    if mapping.dataset and mapping.dataset != dataset:
        raise FatalImportError(f"{display_name or Path(path).name}: the mapping is for {mapping.dataset!r}, not {dataset!r}")
    try:
        ds = get_dataset(dataset)
    except ValueError as exc:
        raise FatalImportError(f"{display_name or Path(path).name}: {exc}") from None
    opts = mapping.options
    name = display_name or Path(path).name
    tell(0.0, "reading")
    frame = read_source(path, opts, name)
    sha = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    rows_read = len(frame)
    cols = _resolve_columns(ds, frame, mapping, name)
    row_numbers = pd.Series(frame.index + 2, index=frame.index)  # header is row 1; read_source keeps positions

    wide = ds is BUDGET and "period" not in cols
    if wide:
        work, cols = _melt_budget(frame, cols, opts, name)
        source_row = work["__row"]
    else:
        work = frame
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
    used_headers = {h for hs in _resolve_columns(ds, frame, mapping, name).values() for h in hs}
    month_headers = {h for h in frame.columns if h not in used_headers and parsing.parse_month_text(str(h))} if wide else set()
    ignored = [str(h) for h in frame.columns if h not in used_headers and not (wide and parsing.parse_month_text(str(h)))]

    parsed: dict[str, pd.Series] = {}
    problems: list[pd.DataFrame] = []

    def note(col: str, raw: pd.Series, errors: pd.Series) -> None:
        bad = errors.notna()
        if bad.any():
            problems.append(pd.DataFrame({"__i": errors.index[bad], "column_name": col,
                                          "value": parsing.clean_text(raw)[bad].astype(object).values,
                                          "reason": errors[bad].astype(object).values}))

    supplied: list[str] = []
    # Reading the file takes about as long as parsing all its columns, and the columns take about the same time each.
    to_parse = [c.name for c in ds.columns if c.name in cols or c.name in defaults]
    for c in ds.columns:
        if c.name in to_parse:
            tell(0.45 + 0.45 * to_parse.index(c.name) / len(to_parse), f"parsing {c.name}")
        if c.name in cols:
            raw = _joined(work, cols[c.name])
        elif c.name in defaults:
            raw = pd.Series(None, index=work.index, dtype=object)
        else:
            continue
        raw = _apply_values(raw, opts.values.get(c.name, {}))
        if c.name in defaults:
            raw = parsing.clean_text(raw).fillna(defaults[c.name])
        result = parsing.parse_column(raw, c.kind, date_order=opts.date_order, duration_unit=opts.duration_unit,
                                      lo=c.lo, hi=c.hi, choices=c.choices)
        parsed[c.name] = result.values
        note(c.name, raw, result.errors)
        supplied.append(c.name)

    if wide:
        amount = parsing.parse_amount(work["__amount"].astype(object))
        bad = amount.errors.notna()
        if bad.any():
            problems.append(pd.DataFrame({"__i": work.index[bad], "column_name": work["period"][bad].astype(str).values,
                                          "value": parsing.clean_text(work["__amount"].astype(object))[bad].astype(object).values,
                                          "reason": amount.errors[bad].astype(object).values}))
        measure = parsing.parse_enum(work["measure"].astype(object), ("budget", "actual"))
        note("measure", work["measure"].astype(object), measure.errors)
        parsed["__measure"] = measure.values
        parsed["__amount"] = amount.values

    tell(0.9, "checking")
    for c in ds.columns:
        if c.required:
            absent = parsed[c.name].isna()
            errs = pd.Series(pd.NA, index=work.index, dtype="string")
            already = pd.Series(False, index=work.index)
            for p in problems:
                already[p["__i"][p["column_name"] == c.name]] = True
            errs[absent & ~already] = f"missing required value (expected {c.kind})"
            note(c.name, pd.Series(None, index=work.index, dtype=object), errs)

    _derive_and_check(ds, parsed, supplied, cols, work, opts, note)

    problem_frame = (pd.concat(problems, ignore_index=True) if problems
                     else pd.DataFrame(columns=["__i", "column_name", "value", "reason"]))
    rejected_idx = set(problem_frame["__i"].tolist())
    valid = ~work.index.isin(list(rejected_idx))

    values = pd.DataFrame(parsed, index=work.index)
    if wide:
        # A sheet row is rejected as a whole: none of its months land (not only the bad cell's).
        bad_rows = set(source_row.loc[list(rejected_idx)].tolist())
        valid &= ~source_row.isin(list(bad_rows)).to_numpy()
        values, dup_problems = _pivot_budget(values[valid], source_row[valid])
    else:
        values = values[valid]
        key = list(ds.key)
        dup = values.duplicated(subset=key, keep="first")
        dup_problems = pd.DataFrame(columns=["__i", "column_name", "value", "reason"])
        if dup.any():
            first_row = values[~dup].reset_index().set_index(key)["index"]
            keys_dup = values.loc[dup, key]
            firsts = [first_row.loc[tuple(r) if len(key) > 1 else r[0]] for r in keys_dup.itertuples(index=False)]
            dup_problems = pd.DataFrame({
                "__i": keys_dup.index, "column_name": key[0],
                "value": keys_dup[key[0]].astype(object).values,
                "reason": [f"duplicate {key[0]} {v!r} in the file (first on row {row_numbers[f]})"
                           for v, f in zip(keys_dup[key[0]], firsts)],
            })
            values = values[~dup]
    if len(dup_problems):
        problem_frame = pd.concat([problem_frame, dup_problems], ignore_index=True)

    # Problems point at working rows; report them by the source row a user can find in the file.
    src_i = source_row.loc[problem_frame["__i"].astype("int64")].to_numpy() if len(problem_frame) else np.array([], dtype="int64")
    problem_frame["__src"] = src_i
    problem_frame["row_number"] = row_numbers.loc[src_i].to_numpy() if len(src_i) else np.array([], dtype="int64")
    customer_source = cols.get("customer_id", [])
    # Only the columns the import reads: an unmapped column may hold personal data nobody asked to keep.
    read_headers = [h for h in frame.columns if h in used_headers or (wide and h in month_headers)]
    raws = frame.loc[sorted(set(src_i.tolist())), read_headers] if len(src_i) else frame.iloc[0:0][read_headers]
    raw_json = {i: json.dumps({str(k): v for k, v in r.items()}, ensure_ascii=False, default=str)
                for i, r in zip(raws.index, raws.to_dict("records"))}
    problem_frame["raw"] = [raw_json[i] for i in src_i]
    rejects = problem_frame.sort_values(["row_number"], kind="stable")[["row_number", "column_name", "value", "reason", "raw", "__src"]]
    if wide:
        # A duplicate found at the pivot rejects its whole sheet row too.
        bad_src = set(rejects["__src"].tolist())
        values = values[~values["__src"].isin(list(bad_src))]
        values = values.drop(columns="__src")
        supplied = ["period", "cost_center", "line", "line_type"] + sorted(
            {"budget" if m == "budget" else "actual" for m in parsed["__measure"].dropna().unique()})
    stored = [c.name for c in ds.stored_columns if c.name in supplied]
    # How an update treats each column: "set" what the file says; "insert_only" for values the file did not give
    # (defaults, answered derived from nothing), so a re-import without the column keeps what is stored;
    # "keep_when_null" for budget cells of a months-as-columns sheet, where an empty cell is no news.
    rules = {c: "set" for c in stored}
    for c in stored:
        if c not in cols and c in defaults:
            rules[c] = "insert_only"
    if ds.name == "contacts" and "answered" not in cols and "answered_at" not in cols:
        rules["answered"] = "insert_only"
    if wide:
        rules.update({c: "keep_when_null" for c in ("budget", "actual") if c in rules})
    stage = values[stored].reset_index(drop=True)
    tell(1.0, "parsed")
    return Prepared(dataset=ds, file_name=name, file_sha256=sha, rows_read=rows_read, stage=stage, supplied=stored,
                    rules=rules,
                    rejects=rejects.drop(columns="__src").reset_index(drop=True), ignored_columns=ignored,
                    options={"columns": cols, **{k: v for k, v in opts.__dict__.items() if v not in (None, {})}},
                    customer_source=customer_source)


def _pivot_budget(values: pd.DataFrame, source_row: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    key = ["period", "cost_center", "line"]
    values = values.assign(__src=source_row.values)
    dup = values.duplicated(subset=key + ["__measure"], keep="first")
    dup_problems = pd.DataFrame({
        "__i": values.index[dup], "column_name": "line",
        "value": values.loc[dup, "line"].astype(object).values,
        "reason": [f"duplicate budget line {line!r} ({cc}, {measure}, {period:%Y-%m}) in the file"
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

    def flag(col: str, bad: pd.Series, reason: str, value: pd.Series | None = None) -> None:
        errs = pd.Series(pd.NA, index=idx, dtype="string")
        errs[bad.fillna(False)] = reason
        note(col, value if value is not None else pd.Series(None, index=idx, dtype=object), errs)

    if ds.name == "contacts":
        arrived = parsed["arrived_at"]
        answered_at = parsed.get("answered_at", pd.Series(pd.NaT, index=idx, dtype="datetime64[us]"))
        ans = parsed.get("answered", pd.Series(pd.NA, index=idx, dtype="boolean"))
        parsed["answered"] = ans.fillna(answered_at.notna()).astype("boolean")
        if "answered" not in supplied:
            supplied.append("answered")
        early = answered_at < arrived
        flag("answered_at", early, "answered_at is before arrived_at", answered_at.astype(str))
        derived_wait = (answered_at - arrived).dt.total_seconds()
        if "abandoned_at" in parsed:
            abandoned_at = parsed.pop("abandoned_at")
            derived_wait = derived_wait.fillna((abandoned_at - arrived).dt.total_seconds())
            flag("abandoned_at", abandoned_at < arrived, "abandoned_at is before arrived_at", abandoned_at.astype(str))
            supplied.remove("abandoned_at")
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
        flag("resolved_at", resolved < opened, "resolved before opened (resolved_at is before opened_at)", resolved.astype(str))
        if "due_at" in parsed:
            flag("due_at", parsed["due_at"] < opened, "due before opened (due_at is before opened_at)", parsed["due_at"].astype(str))


# ---------------------------------------------------------------- writing

@dataclass
class ImportResult:
    """What one import did."""

    import_id: int
    dataset: str
    file_name: str
    rows_read: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    rejects: pd.DataFrame
    ignored_columns: list[str]

    def summary(self) -> str:
        """One line of counts."""
        return (f"{self.file_name} -> {self.dataset}: read {self.rows_read:,}, inserted {self.inserted:,}, "
                f"updated {self.updated:,}, unchanged {self.unchanged:,}, rejected {self.rejected:,} "
                f"(import #{self.import_id})")


def stored_form(con: duckdb.DuckDBPyConnection, prep: Prepared) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The stage and the rejects as the database will hold them: customer ids replaced by their keyed hash."""
    stage = prep.stage.copy()
    rejects = prep.rejects.copy()
    if "customer_id" in stage:
        secret = pseudonym_key(con)
        stage["customer_id"] = _hash_ids(stage["customer_id"], secret)
        if prep.customer_source and len(rejects):
            rejects["raw"] = [_mask_raw(r, prep.customer_source, secret) for r in rejects["raw"]]
    return stage, rejects


def rejected_count(rejects: pd.DataFrame) -> int:
    """Rows with at least one problem (a row may have several)."""
    return int(rejects["row_number"].nunique()) if len(rejects) else 0


def updated_value(column: str, rules: dict[str, str] | None) -> str:
    """SQL for a column's value after an update of stored row t from staged row s."""
    rule = (rules or {}).get(column, "set")
    return {"set": f"s.{column}", "insert_only": f"t.{column}", "keep_when_null": f"coalesce(s.{column}, t.{column})"}[rule]


def stage_and_compare(cur: duckdb.DuckDBPyConnection, ds: Dataset, cols: list[str], stage: pd.DataFrame,
                      rules: dict[str, str] | None = None) -> tuple[int, int]:
    """Load the stage into temp table _stage and compare it with the stored rows by key: (matched, updated)."""
    # The one definition of "updated" that write() and kpi.imports.preview() share: a matched row where a column
    # the file supplies IS DISTINCT FROM the stored value. The keys of those rows are left in temp table _changed.
    key_cols = list(ds.key)
    casts = ", ".join(f"CAST({c} AS {SQL_TYPES[ds.column(c).kind]}) AS {c}" for c in cols)
    cur.register("_stage_df", stage)
    cur.execute(f"CREATE OR REPLACE TEMP TABLE _stage AS SELECT {casts} FROM _stage_df")
    cur.unregister("_stage_df")
    on = " AND ".join(f"t.{k} = s.{k}" for k in key_cols)
    differs = " OR ".join(f"t.{c} IS DISTINCT FROM {updated_value(c, rules)}" for c in cols if c not in key_cols) or "FALSE"
    cur.execute(f"CREATE OR REPLACE TEMP TABLE _changed AS SELECT {', '.join('s.' + k for k in key_cols)} "
                f"FROM _stage s JOIN {ds.name} t ON {on} WHERE {differs}")
    matched = cur.execute(f"SELECT count(*) FROM _stage s JOIN {ds.name} t ON {on}").fetchone()[0]
    updated = cur.execute("SELECT count(*) FROM _changed").fetchone()[0]
    return matched, updated


def write(con: duckdb.DuckDBPyConnection, prep: Prepared, source: str = "cli", run_by: str | None = None,
          progress: Progress | None = None) -> ImportResult:
    """Write a prepared import in one transaction: all its valid rows and its rejects land, or nothing does."""
    tell = progress or _silent
    ds = prep.dataset
    key_cols = list(ds.key)
    tell(0.0, "pseudonymising" if "customer_id" in prep.stage else "writing")
    stage, rejects = stored_form(con, prep)
    run_by = run_by or _who()
    started_at = prep.started_at
    cur = con.cursor()  # cursor per call: a shared connection is not thread-safe
    cur.execute("BEGIN TRANSACTION")
    try:
        import_id = cur.execute("SELECT nextval('import_id_seq')").fetchone()[0]
        cur.execute(
            "INSERT INTO imports (import_id, dataset, file_name, file_sha256, source, run_by, started_at, rows_read,"
            " inserted, updated, unchanged, rejected, options) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, 0, ?)",
            [import_id, ds.name, prep.file_name, prep.file_sha256, source, run_by, started_at, prep.rows_read,
             json.dumps(prep.options, ensure_ascii=False, default=str)],
        )
        if len(rejects):
            rj = rejects.assign(import_id=import_id, file_name=prep.file_name)[
                ["import_id", "file_name", "row_number", "column_name", "value", "reason", "raw"]].astype(
                {"row_number": "int64", "column_name": object, "value": object, "reason": object, "raw": object})
            cur.register("_rejects_df", rj)
            cur.execute("INSERT INTO rejected_rows SELECT * FROM _rejects_df")
            cur.unregister("_rejects_df")
        cols = prep.supplied
        tell(0.3, "comparing with stored rows")
        matched, updated = stage_and_compare(cur, ds, cols, stage, prep.rules)
        on = " AND ".join(f"t.{k} = s.{k}" for k in key_cols)
        data_cols = [c for c in cols if c not in key_cols]
        tell(0.45, "updating")
        on_changed = " AND ".join(f"t.{k} = c.{k}" for k in key_cols)
        cur.execute(f"INSERT INTO {ds.name}_history BY NAME SELECT t.*, {import_id} AS replaced_by_import_id "
                    f"FROM {ds.name} t JOIN _changed c ON {on_changed}")
        if data_cols and updated:
            sets = ", ".join(f"{c} = {updated_value(c, prep.rules)}" for c in data_cols)
            cur.execute(f"UPDATE {ds.name} t SET {sets}, import_id = {import_id} FROM _stage s "
                        f"WHERE {on} AND EXISTS (SELECT 1 FROM _changed c WHERE {' AND '.join(f'c.{k} = s.{k}' for k in key_cols)})")
        tell(0.55, "inserting")
        cur.execute(f"INSERT INTO {ds.name} BY NAME SELECT s.*, {import_id} AS import_id, {import_id} AS created_import_id "
                    f"FROM _stage s WHERE NOT EXISTS (SELECT 1 FROM {ds.name} t WHERE {on})")
        inserted = len(stage) - matched
        rejected = rejected_count(rejects)
        cur.execute("UPDATE imports SET inserted = ?, updated = ?, unchanged = ?, rejected = ?, finished_at = ? "
                    "WHERE import_id = ?", [inserted, updated, matched - updated, rejected, datetime.now(), import_id])
        cur.execute("DROP TABLE _stage")
        cur.execute("DROP TABLE _changed")
        tell(0.85, "committing")
        cur.execute("COMMIT")
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    finally:
        cur.close()
    tell(1.0, "written")
    return ImportResult(import_id=import_id, dataset=ds.name, file_name=prep.file_name, rows_read=prep.rows_read,
                        inserted=inserted, updated=updated, unchanged=matched - updated, rejected=rejected,
                        rejects=rejects, ignored_columns=prep.ignored_columns)


def _mask_raw(raw: str, headers: list[str], secret: bytes) -> str:
    row = json.loads(raw)
    for h in headers:
        if isinstance(row.get(h), str):
            row[h] = hmac.new(secret, row[h].encode("utf-8"), hashlib.sha256).hexdigest()[:32]
    return json.dumps(row, ensure_ascii=False)


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def import_file(dataset: str, path: str | os.PathLike, mapping: Mapping | str | os.PathLike | None = None, *,
                db: str | os.PathLike | None = None, source: str = "cli", run_by: str | None = None,
                wait: float = DEFAULT_WAIT_SECONDS, display_name: str | None = None,
                progress: Progress | None = None) -> ImportResult:
    """Import one file: everything is parsed before the database is opened, so the write lock is held only briefly."""
    if mapping is not None and not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping)
    prep = prepare(dataset, path, mapping, display_name, progress=_scaled(progress, 0.0, 0.7))
    if progress is not None:
        progress(0.72, "opening the database")
    with open_db(db, wait=wait) as con:
        return write(con, prep, source=source, run_by=run_by, progress=_scaled(progress, 0.75, 1.0))


SAMPLE_DIR = Path(__file__).resolve().parents[2] / "sample_data"


def sample_files(sample_dir: str | os.PathLike = SAMPLE_DIR) -> list[tuple[str, Path, Path | None]]:
    """(dataset, file, mapping) for each bundled sample file, in import order (sample_data/manifest.yaml)."""
    base = Path(sample_dir)
    entries = yaml.safe_load((base / "manifest.yaml").read_text(encoding="utf-8"))
    return [(e["dataset"], base / e["file"], base / e["mapping"] if e.get("mapping") else None) for e in entries]


def load_sample_data(db: str | os.PathLike | None = None, sample_dir: str | os.PathLike = SAMPLE_DIR,
                     wait: float = DEFAULT_WAIT_SECONDS) -> list[ImportResult]:
    """Import every bundled sample file through the ordinary import."""
    return [import_file(ds, f, m, db=db, source="sample", wait=wait) for ds, f, m in sample_files(sample_dir)]


def import_history(con: duckdb.DuckDBPyConnection, limit: int = 50) -> pd.DataFrame:
    """The latest imports, newest first."""
    return con.cursor().execute(
        "SELECT import_id, finished_at, dataset, file_name, source, run_by, rows_read, inserted, updated, unchanged,"
        " rejected, undone_at FROM imports ORDER BY import_id DESC LIMIT ?", [limit]).df()


def rejected_rows(con: duckdb.DuckDBPyConnection, import_id: int) -> pd.DataFrame:
    """The rejected rows of one import with their reasons."""
    return con.cursor().execute(
        "SELECT file_name, row_number, column_name, value, reason, raw FROM rejected_rows WHERE import_id = ?"
        " ORDER BY row_number, column_name", [import_id]).df()
