"""Reading an export: CSV (UTF-8, with BOM, Big5/CP950, .gz), XLSX or JSON (_json), checked against its limits first,
then as text cells with the file's own headers, a batch of rows at a time."""
from __future__ import annotations

import codecs
import contextlib
import csv
import gzip
import hashlib
import io
import os
import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, BinaryIO, TextIO
from xml.etree import ElementTree

import numpy as np
import pandas as pd

from . import _workbook as workbook
from ..present import clip
from ..store import DATASETS
from ._mapping import FatalImportError, Options, header_key
from ._suggest import INVERSE_SYNONYMS, SYNONYMS, _norm


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


BLOCK_BYTES = 1 << 20  # read (and gunzipped) a block at a time: the checks hold one block, never the file
BATCH_BYTES = 8 << 20  # text per batch of rows parsed at once: memory follows the batch, not the file
BATCH_ROWS = (1_000, 100_000)  # fewest and most rows in a batch


@dataclass
class Batch:
    """A batch of a file's rows as text cells (index i is the file's row i + 2; a JSON file's record i + 2), with what
    reading them found that the cells cannot show."""

    frame: pd.DataFrame
    # CSV: position -> number of fields, for the rows with more or fewer fields than the header (cut to its columns)
    fields: dict[int, int] = field(default_factory=dict)
    # XLSX: (position, header) -> "=formula", for the formulas saved without a value (the whole sheet's)
    formulas: dict[tuple[int, str], str] = field(default_factory=dict)
    # per row (the frame's index), what its sheet says beside its cells (_sheet_table): sheet, scale, measure,
    # cost_center; None for a CSV in NT$
    info: pd.DataFrame | None = None
    # JSON: position -> (reason, text) for the records that are not valid JSON or not an object (a row of empty cells)
    broken: dict[int, tuple[str, str]] = field(default_factory=dict)
    sparse: bool = False  # JSON: a field may be missing from a record, and from every record of a file


@dataclass
class Source:
    """A file that passed its checks (size, line length, columns, encoding), read in batches of rows."""

    path: Path
    name: str
    options: Options
    sha256: str  # of the file as it is on disk
    excel: bool
    encoding: str = "utf-8-sig"  # CSV: as the checks found (or options.encoding)
    sep: str = ","  # CSV: taken from the header line; a semicolon or tab file may write decimal commas (_prepare)
    lines: int = 0  # CSV: lines, for the batch size and progress (JSON: records)
    text_bytes: int = 0  # CSV: size after gunzip
    mapped: tuple[str, ...] = ()  # the headers the mapping names: a row holding them all is the header row
    # XLSX, several sheets read (options.sheets): the sheets, position // SHEET_STRIDE indexing them; else empty
    sheet_names: list[str] = field(default_factory=list)
    # XLSX: (sheet, reason code, params) for what reading found that no row shows (a sheet skipped), and the sheets whose
    # months name no year
    notes: list[tuple[str, str, dict]] = field(default_factory=list)
    missing_year: list[str] = field(default_factory=list)
    several: bool = False  # XLSX: more than one sheet's rows were read (a row is then named with its sheet)
    drivers_sheet: str | None = None  # XLSX: the budget drivers sheet (options.drivers_sheet, or its name says so)
    # CSV: the title lines above the header row (their records, skipped), and what they say (year, unit)
    skip: int = 0
    title: list[str] = field(default_factory=list)
    layout: str = ""  # JSON: how its records are laid out (_json); "" for CSV and XLSX
    headers: list[str] = field(default_factory=list)  # JSON: its records' fields as dotted paths

    @property
    def batch_rows(self) -> int:
        """Rows per batch: about BATCH_BYTES of text, by the file's mean line length."""
        if not self.lines:
            return BATCH_ROWS[1]
        mean = max(self.text_bytes / self.lines, 1.0)
        return int(min(max(BATCH_BYTES / mean, BATCH_ROWS[0]), BATCH_ROWS[1]))

    def batches(self, rows: int | None = None) -> Iterator[Batch]:
        """The rows as text cells (None when empty), in file order, `rows` at a time (at least one batch, empty for a
        file of headers only); index i is the file's row i + 2 (blank rows are counted, then dropped)."""
        rows = rows or self.batch_rows
        if self.layout:
            from ._json import batches  # _json reads with this module's pieces
            yield from batches(self, rows)
            return
        if self.excel:
            sheet, formulas, info = _read_sheet(self)
            for start in range(0, max(len(sheet), 1), rows):
                yield Batch(sheet.iloc[start:start + rows], formulas=formulas, info=info.iloc[start:start + rows])
            return
        with _open_bytes(self.path, self.name) as f:
            records = _Records(io.TextIOWrapper(f, encoding=self.encoding, newline=""), self.sep,
                               self.options.max_line_kib << 10, self.name)
            if self.skip:  # title lines above the header (a CSV saved from a finance workbook)
                records.take(self.skip)
            text, _ = records.take(1)
            # A BOM is no part of the first header (utf-8-sig drops it; options.encoding utf-8 keeps it).
            header = next(csv.reader([text.lstrip("\ufeff")], delimiter=self.sep, strict=False), [])
            cells = [h.strip() for h in header]
            year = self.options.year or next((y for y in map(workbook.year_in, self.title) if y), None)
            headers, yearless = _give_years(cells, year)
            self.missing_year = [""] if yearless else []
            headers = _unique_headers(headers)
            unit = self.options.amount_unit or next(
                (u for u in map(workbook.unit_in, self.title + cells) if u), None) or "one"
            scale = workbook.AMOUNT_UNITS[unit]
            start, first = self.skip, True  # position of the batch's first row
            while True:
                text, counts = records.take(rows)
                if counts or first:
                    batch = self._batch(text, counts, headers, start)
                    if scale != 1:  # a CSV saved from a sheet in 千元
                        batch.info = pd.DataFrame({"sheet": None, "scale": scale, "measure": None, "cost_center": None},
                                                  index=batch.frame.index)
                    yield batch
                    first = False
                if len(counts) < rows:
                    return
                start += len(counts)

    def _batch(self, text: str, counts: list[int], headers: list[str], start: int) -> Batch:
        """A batch's records read as cells under the header's columns. A row with more or fewer fields than the header
        is read whole (as many columns as the widest row, so none shifts into the index) and cut to the header's
        columns; Batch.fields lists it."""
        width = len(headers)
        if not counts:
            return Batch(pd.DataFrame(columns=headers, dtype=object))
        try:
            # Blank lines are read (and dropped below) so that index i stays the file's row i + 2 in messages.
            frame = pd.read_csv(io.StringIO(text), sep=self.sep, header=None, names=range(max(max(counts), width)),
                                dtype=str, keep_default_na=False, na_filter=False, skip_blank_lines=False)
        except (pd.errors.ParserError, ValueError) as exc:
            raise FatalImportError(f"{self.name}: not a readable CSV ({clip(str(exc).splitlines()[0])})",
                                   "unreadable_csv", file=self.name, row=None) from None
        if len(frame) != len(counts):  # pandas cut the records otherwise than the csv module did
            raise FatalImportError(f"{self.name}: not a readable CSV (its rows from row {start + 2:,} could not be "
                                   "told apart; check its quotes)", "unreadable_csv", file=self.name, row=start + 2)
        frame = frame.iloc[:, :width]
        frame.columns = headers
        frame.index = pd.RangeIndex(start, start + len(frame))
        fields = {start + i: n for i, n in enumerate(counts) if n and n != width}
        return Batch(frame.astype("object").where(frame != "", None).dropna(how="all"), fields=fields)


class _Records:
    """A CSV text cut into records, a number at a time, each with its number of fields (0 for a blank line): a record
    is a line, or several where a quoted cell holds line breaks. The lines of one batch are held, never the file's."""

    def __init__(self, text: TextIO, sep: str, limit: int, name: str) -> None:
        self.text, self.sep, self.limit, self.name = text, sep, limit, name
        self.pending: list[str] = []  # lines read and not yet taken
        self.taken = 0  # records taken so far (the header is the first)
        # A quoted cell may be as long as a line may (options.max_line_kib); the csv module's own limit is 128 KiB.
        csv.field_size_limit(max(csv.field_size_limit(), limit))

    def take(self, n: int) -> tuple[str, list[int]]:
        """(the text of the next n records, or of those left, their numbers of fields)."""
        while len(self.pending) < n and (more := self.text.readlines(BLOCK_BYTES)):
            self.pending.extend(more)
        lines = self.pending[:n]
        text = "".join(lines)
        if '"' in text:  # a quote may hold a separator or a line break: the csv module counts
            return self._take_quoted(n)
        del self.pending[:n]
        self.taken += len(lines)
        return text, [line.count(self.sep) + 1 if line.strip() else 0 for line in lines]

    def _take_quoted(self, n: int) -> tuple[str, list[int]]:
        used = size = 0  # lines used; characters of the record being read

        def lines() -> Iterator[str]:
            nonlocal used, size
            while True:
                if used == len(self.pending):  # a record goes on past the lines read: read on
                    line = self.text.readline()
                    if not line:
                        return
                    self.pending.append(line)
                line = self.pending[used]
                used += 1
                size += len(line)
                if size > self.limit:  # a quote opened and never closed would swallow the rest of the file
                    raise FatalImportError(
                        f"{self.name}: row {self.taken + len(counts) + 1:,} is longer than the limit of "
                        f"{self.limit >> 10:,} KiB (options.max_line_kib); does a quote open there and never close?")
                yield line

        counts: list[int] = []
        try:
            for record in csv.reader(lines(), delimiter=self.sep, strict=False):
                counts.append(len(record) if any(f.strip() for f in record) or len(record) > 1 else 0)
                size = 0
                if len(counts) == n:
                    break
        except csv.Error as exc:
            raise FatalImportError(f"{self.name}: not a readable CSV (row {self.taken + len(counts) + 1:,}: "
                                   f"{clip(exc)})", "unreadable_csv", file=self.name,
                                   row=self.taken + len(counts) + 1) from None
        text = "".join(self.pending[:used])
        del self.pending[:used]
        self.taken += len(counts)
        return text, counts


def open_source(path: str | os.PathLike, options: Options, display_name: str | None = None,
                mapped: tuple[str, ...] = ()) -> Source:
    """The file checked before anything is parsed, one block at a time: its size as text (after gunzip) within
    options.max_mib, every line within options.max_line_kib, the header within options.max_fields columns, and the
    text decodable (UTF-8, else Big5/CP950, or options.encoding); a FatalImportError naming the file and the limit
    otherwise."""
    p = Path(path)
    name = display_name or p.name
    suffixes = [s.lower() for s in p.suffixes]
    if not p.is_file():
        raise FatalImportError(f"{name}: no such file")
    if suffixes and suffixes[-1] in (".xlsx", ".xlsm", ".xls"):
        return Source(p, name, options, _sha256(p, name), excel=True, mapped=tuple(mapped))
    from ._json import json_kind, open_json
    if json_kind(p):
        return open_json(p, name, options)
    encodings = [options.encoding] if options.encoding and options.encoding != "auto" else ["utf-8-sig", "cp950"]
    for encoding in encodings:
        try:
            sha, size, lines = _scan(p, name, options, encoding)
        except UnicodeDecodeError as exc:
            if len(encodings) == 1:
                raise FatalImportError(f"{name}: cannot decode as {encoding} ({exc.reason} at byte {exc.start + 1:,}); "
                                       "set options.encoding to the file's encoding", "decode", file=name,
                                       encoding=encoding, byte=exc.start + 1) from None
            continue
        head = _first_lines(p, name, encoding, options)
        if not head or not head[0].strip():
            raise FatalImportError(f"{name}: the file is empty (expected a header row)", "empty", file=name)
        # The separator is taken from the first line that has one: a title line above the header may have none.
        sep = max([",", ";", "\t", "|"], key=next((x for x in head if any(c in x for c in ",;\t|")), head[0]).count)
        skip, title = _title_lines(head, sep, mapped)
        header = head[skip] if skip < len(head) else head[0]
        if header.count(sep) + 1 > options.max_fields:
            raise FatalImportError(f"{name}: the header has {header.count(sep) + 1:,} columns, more than the limit of "
                                   f"{options.max_fields:,} (options.max_fields): {clip(header)}")
        return Source(p, name, options, sha, excel=False, encoding=encoding, sep=sep, lines=lines, text_bytes=size,
                      mapped=tuple(mapped), skip=skip, title=title)
    raise FatalImportError(f"{name}: not UTF-8 and not Big5/CP950 text; save it as CSV UTF-8, or set options.encoding")


def read_source(path: str | os.PathLike, options: Options, display_name: str | None = None) -> pd.DataFrame:
    """The file's rows as text cells (None when empty), with its headers as they are written: all batches at once,
    for small files (an import reads open_source(...).batches())."""
    return pd.concat([batch.frame for batch in open_source(path, options, display_name).batches()])


class _Hashing:
    """A binary file that hashes what is read from it."""

    def __init__(self, raw: BinaryIO, sha: Any) -> None:
        self.raw, self.sha = raw, sha

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.sha.update(data)
        return data


def _sha256(p: Path, name: str) -> str:
    sha = hashlib.sha256()
    try:
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(BLOCK_BYTES), b""):
                sha.update(block)
    except OSError as exc:
        raise FatalImportError(f"{name}: cannot read the file ({exc.strerror})") from None
    return sha.hexdigest()


@contextlib.contextmanager
def _open_bytes(p: Path, name: str, sha: Any = None) -> Iterator[BinaryIO]:
    """The file's bytes, gunzipped for .gz, hashing the file as it is on disk into sha; its read and decompression
    errors (a damaged or truncated .gz, an unreadable disk) as one FatalImportError."""
    gz = p.suffix.lower() == ".gz"
    try:
        with open(p, "rb") as raw:
            source = _Hashing(raw, sha) if sha is not None else raw
            yield gzip.GzipFile(fileobj=source, mode="rb") if gz else source
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise FatalImportError(f"{name}: the compressed file is damaged or cut short ({clip(exc)}); "
                               "compress or export it again") from None
    except OSError as exc:
        raise FatalImportError(f"{name}: cannot read the file ({clip(exc.strerror or exc)})") from None


def _scan(p: Path, name: str, options: Options, encoding: str) -> tuple[str, int, int]:
    """(sha256 of the file, its size as text, its line breaks), checking the caps and the encoding block by block:
    a 1 MB gzip that expands to 1 GB stops at the limit, holding one block."""
    sha = hashlib.sha256()
    max_bytes, max_line = options.max_mib << 20, options.max_line_kib << 10
    decoder = codecs.getincrementaldecoder(encoding)()
    ascii_safe = "a,\n".encode(encoding) == b"a,\n"  # UTF-8, Big5: an ASCII byte is a character on its own
    size = lines = run = 0  # run: length of the line still open at the end of the last block
    with _open_bytes(p, name, sha) as f:
        while block := f.read(BLOCK_BYTES):
            if not (ascii_safe and block.isascii() and not decoder.getstate()[0]):  # most blocks: no decoding
                _decodes(decoder, block, size)
            run, long_at = _line_runs(block, run, max_line)
            if long_at is not None:
                line = lines + block[:long_at].count(b"\n") + 1
                raise FatalImportError(f"{name}: line {line:,} is longer than the limit of {options.max_line_kib:,} "
                                       "KiB (options.max_line_kib); is it a CSV file?")
            size += len(block)
            lines += block.count(b"\n")
            if size > max_bytes:
                raise too_big(name, options, p.suffix.lower() == ".gz")
        _decodes(decoder, b"", size, final=True)
    return sha.hexdigest(), size, lines + (run > 0)


def too_big(name: str, options: Options, gz: bool) -> FatalImportError:
    """The message of a file over options.max_mib of text."""
    once = " once decompressed" if gz else ""
    return FatalImportError(f"{name}: more than {options.max_mib:,} MiB of text{once}, the limit (options.max_mib); "
                            "split the file or raise the limit")


def _decodes(decoder: codecs.IncrementalDecoder, block: bytes, offset: int, final: bool = False) -> None:
    """Decode a block (and forget the text); a UnicodeDecodeError's start is made the byte's offset in the file."""
    pending = len(decoder.getstate()[0])  # bytes of a character the last block left unfinished
    try:
        decoder.decode(block, final)
    except UnicodeDecodeError as exc:
        exc.start += offset - pending
        raise


def _line_runs(block: bytes, run: int, limit: int) -> tuple[int, int | None]:
    """(length of the line left open at the block's end, the offset in the block where a line longer than limit
    starts, or None); run is the open line's length before the block."""
    codes = np.frombuffer(block, dtype=np.uint8)
    breaks = np.flatnonzero((codes == 10) | (codes == 13))
    if not len(breaks):
        run += len(block)
        return run, (0 if run > limit else None)
    if run + breaks[0] > limit:
        return 0, 0
    gaps = np.diff(breaks) - 1
    over = np.flatnonzero(gaps > limit)
    if len(over):
        return 0, int(breaks[over[0]]) + 1
    run = len(block) - int(breaks[-1]) - 1
    return run, (int(breaks[-1]) + 1 if run > limit else None)


def _first_lines(p: Path, name: str, encoding: str, options: Options) -> list[str]:
    """The file's first lines (as many as a header may be under title lines), each within max_line_kib."""
    out = []
    with _open_bytes(p, name) as f:
        for _ in range(workbook.HEADER_SCAN_ROWS):
            line = f.readline((options.max_line_kib << 10) + 2)
            if not line:
                break
            out.append(line.decode(encoding, errors="replace").lstrip("\ufeff").rstrip("\r\n"))
    return out


_NUMBER_TEXT = re.compile(r"[-+(]?(?:NT\$)?\d[\d,]*(?:\.\d+)?\)?")  # one way to match: no backtracking


def _title_lines(head: list[str], sep: str, mapped: tuple[str, ...]) -> tuple[int, list[str]]:
    """(how many title lines stand above a CSV's header row, their cells' text): the header row is found as in a sheet
    (_workbook.header_row), among the lines before any quote left open; none above it when no line looks like one."""
    records = []
    for line in head:
        try:
            record = next(csv.reader([line], delimiter=sep, strict=False), [])
        except csv.Error:  # a cell longer than csv's own limit: no title line; the batches say what is wrong
            return 0, []
        records.append([None if not c.strip() else 0.0 if _NUMBER_TEXT.fullmatch(c.strip()) else c.strip()
                        for c in record])
        if line.count('"') % 2:  # a quoted line break: the records after it can't be told apart here
            break
    h = workbook.header_row(records, _KNOWN_WORDS, {header_key(m) for m in mapped}, _norm, header_key) or 0
    return h, [c for r in records[:h] for c in r if isinstance(c, str)]


SHEET_STRIDE = 1 << 21  # positions of several sheets' rows: sheet k's row r is k * SHEET_STRIDE + r - 2 (a sheet has
# at most 1,048,576 rows), so that every row of a workbook has a position of its own


def row_of(position: int) -> int:
    """The row number a spreadsheet shows for a position (the first data row under a header in row 1 is 2)."""
    return int(position) % SHEET_STRIDE + 2


def _read_sheet(source: Source) -> tuple[pd.DataFrame, dict[tuple[int, str], str], pd.DataFrame]:
    """A workbook's sheet (options.sheet), or several (options.sheets), as text cells, checked like a CSV: its unzipped
    size within max_mib (as the workbook declares it, read before any cell), each header within max_fields; with
    error cells written as their text and formulas saved without a value (_unreadable_cells); the header row found
    under title rows (_workbook.header_row), merged cells filled, month headers without a year given theirs; and per
    row what its sheet says (_sheet_table)."""
    name, options = source.name, source.options
    try:
        if zipfile.is_zipfile(source.path):  # .xlsx, .xlsm; an old .xls is read as it is
            with zipfile.ZipFile(source.path) as z:
                unzipped = sum(i.file_size for i in z.infolist())
        else:
            unzipped = source.path.stat().st_size
    except (zipfile.BadZipFile, OSError) as exc:
        raise FatalImportError(f"{name}: not a readable Excel workbook ({clip(exc)})", "unreadable_excel",
                               file=name) from None
    if unzipped > options.max_mib << 20:
        raise FatalImportError(f"{name}: the workbook unzips to {unzipped / 2**20:,.0f} MiB, more than the limit of "
                               f"{options.max_mib:,} MiB (options.max_mib)")
    try:
        import python_calamine  # noqa: F401  (fast reader; openpyxl is the fallback)
        engine = "calamine"
    except ImportError:
        engine = "openpyxl"
    try:
        book = pd.ExcelFile(source.path, engine=engine)
    except Exception as exc:  # any reader failure means the same to the user: unreadable workbook
        raise FatalImportError(f"{name}: not a readable Excel workbook ({clip(exc)})", "unreadable_excel",
                               file=name) from None
    names = [str(n) for n in book.sheet_names]
    source.notes, source.missing_year, source.several = [], [], False
    source.drivers_sheet = (_sheet_name(options.drivers_sheet, names, name) if options.drivers_sheet is not None else
                            next((n for n in names if workbook.is_drivers_sheet(n)), None))
    if options.sheets is None:
        source.sheet_names = []
        return _sheet_table(source, book, _sheet_name(options.sheet if options.sheet is not None else 0, names, name),
                            0, several=False)
    picked = names if options.sheets == "all" else [_sheet_name(s, names, name) for s in options.sheets]
    source.sheet_names = picked
    tables = []
    for k, sheet in enumerate(picked):
        if options.sheets == "all" and workbook.is_summary_sheet(sheet):
            source.notes.append((sheet, "sheet_summary", {"sheet": sheet}))
            continue
        if options.sheets == "all" and sheet == source.drivers_sheet:
            continue  # read on its own, as the budget drivers (kpi.imports._prepare)
        table = _sheet_table(source, book, sheet, k * SHEET_STRIDE, several=True)
        if table is not None:
            tables.append(table)
    if not tables:
        raise FatalImportError(f"{name}: no sheet holds a header row (months, or the columns' names) to import; the "
                               f"sheets are: {clip(', '.join(names))}")
    source.several = len(tables) > 1
    body = pd.concat([t[0] for t in tables])
    info = pd.concat([t[2] for t in tables])
    return body.astype("object"), {k: v for t in tables for k, v in t[1].items()}, info


def _sheet_name(sheet: str | int, names: list[str], name: str) -> str:
    """A sheet asked for by name or number, as its name; a FatalImportError naming the sheets when there is none."""
    sheets = ", ".join(names)
    if isinstance(sheet, str) and sheet not in names:
        raise FatalImportError(f"{name}: no sheet named {clip(sheet)!r}; the sheets are: {clip(sheets)}")
    if isinstance(sheet, int) and not 0 <= sheet < len(names) and str(sheet) in names:
        return str(sheet)  # sheets: [2026] in YAML is a number: the sheet named 2026
    if isinstance(sheet, int) and not 0 <= sheet < len(names):
        raise FatalImportError(f"{name}: no sheet {sheet} (sheets are counted from 0); the workbook has "
                               f"{len(names)}: {clip(sheets)}")
    return sheet if isinstance(sheet, str) else names[sheet]


def _known_words() -> set[str]:
    """Every header word the import understands (the datasets' column names and the page's header words), as
    _suggest._norm gives them: two of them make a row the header row."""
    words = {c.name for ds in DATASETS.values() for c in (*ds.columns, *ds.extra_columns)}
    for table in (SYNONYMS, INVERSE_SYNONYMS):
        words |= {w for columns in table.values() for ws in columns.values() for w in ws}
    return {_norm(w) for w in words if _norm(w)}


def _sheet_table(source: Source, book: pd.ExcelFile, sheet: str, offset: int, several: bool
                 ) -> tuple[pd.DataFrame, dict[tuple[int, str], str], pd.DataFrame] | None:
    """One sheet as (text cells, formulas without a value, what each row's sheet says); None for a sheet of several
    that holds nothing to import (noted in source.notes). Position i of a row is its sheet row i + 2 - offset."""
    name, options = source.name, source.options
    # keep_default_na=False: a cell reading N/A or NULL is a value to check, not an empty cell (as for CSV).
    grid = pd.read_excel(book, sheet_name=sheet, header=None, dtype=object, keep_default_na=False, na_filter=False)
    if grid.empty:
        if several:
            source.notes.append((sheet, "sheet_empty", {"sheet": sheet}))
            return None
        raise FatalImportError(f"{name}: sheet {clip(sheet)!r} is empty")
    if grid.shape[1] > options.max_fields:
        raise FatalImportError(f"{name}: sheet {clip(sheet)!r} has {grid.shape[1]:,} columns, more than the limit of "
                               f"{options.max_fields:,} (options.max_fields)")
    top = _typed_rows(grid.iloc[:workbook.HEADER_SCAN_ROWS])
    h = workbook.header_row(top, _KNOWN_WORDS, {header_key(m) for m in source.mapped}, _norm, header_key)
    if h is None:
        if several and options.sheets == "all":
            source.notes.append((sheet, "sheet_no_header", {"sheet": sheet}))
            return None
        h = 0
    _fill_merged(grid, _merged_ranges(source.path, sheet), h)
    top = _typed_rows(grid.iloc[:h + 2])
    above = [v for r in top[:h] for v in r if v is not None]
    year_of_sheet, measure_of_sheet, cost_center_of_sheet = workbook.sheet_name_parts(sheet)
    year = options.year or next((y for y in map(workbook.year_in, above) if y), None) or year_of_sheet
    unit = options.amount_unit or next((u for u in map(workbook.unit_in, above + top[h]) if u), None) or "one"
    headers, skip = _headers(top, h)
    headers, yearless = _give_years(headers, year)
    if yearless:
        source.missing_year.append(sheet)
    body = grid.iloc[h + 1 + skip:].map(_cell_text)
    body.columns = _unique_headers(headers)
    body.index = body.index - 1 + offset  # index i is the sheet's row i + 2 (+ offset), whatever blank rows are dropped
    formulas = _unreadable_cells(source.path, sheet, body, offset)
    # A row holding a measure word alone (預算, 實際) heads the rows below it: a block of budget or actual lines.
    alone = body.notna().sum(axis=1) == 1
    label = pd.Series(None, index=body.index, dtype=object)
    if alone.any():
        label[alone] = body[alone].bfill(axis=1).iloc[:, 0].map(workbook.measure_of)
    sections = label.notna()
    info = pd.DataFrame({"sheet": sheet if several else None, "scale": workbook.AMOUNT_UNITS[unit],
                         "measure": label.ffill().fillna(measure_of_sheet).astype(object),
                         "cost_center": cost_center_of_sheet if several else None}, index=body.index)
    keep = body.notna().any(axis=1) & ~sections  # blank rows of a sheet are formatting, not data
    return body[keep].astype("object"), formulas, info[keep]


def _typed_rows(frame: pd.DataFrame) -> list[list[Any]]:
    """A few rows of a sheet as lists of their cells as the reader gives them (numbers, dates, text), None when blank."""
    return [[None if _blank(v) else v for v in r] for r in frame.values.tolist()]


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip()) or (isinstance(v, float) and np.isnan(v))


_MERGE_RE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+[0-9]+):([A-Z]+[0-9]+)"')


def _merged_ranges(path: Path, sheet_name: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """The sheet's merged ranges as ((first row, first column), (last row, last column)), 0-based, read from its XML
    in chunks (the reader gives a merged cell's value to its top-left cell only, and calamine would parse the whole
    sheet again to say which cells are merged); none for a workbook that is not OOXML (.xls)."""
    found: list[tuple[tuple[int, int], tuple[int, int]]] = []
    try:
        with zipfile.ZipFile(path) as book:
            part = _sheet_part(book, sheet_name)
            if part is None:
                return []
            with book.open(part) as stream:
                tail = b""
                while True:
                    chunk = stream.read(1 << 20)
                    text = tail + chunk
                    # a tag cut by the chunk's end is read with the next chunk
                    cut = max(text.rfind(b"<"), 0) if chunk else len(text)
                    for first, last in _MERGE_RE.findall(text[:cut]):
                        (r0, c0), (r1, c1) = _cell_position(first.decode()), _cell_position(last.decode())
                        found.append(((r0 - 1, c0), (r1 - 1, c1)))
                    tail = text[cut:]
                    if not chunk:
                        break
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError):
        return []
    return found


def _fill_merged(grid: pd.DataFrame, ranges: list, header: int) -> None:
    """A merged cell's value where the merge shows it, since a reader gives it to the top-left cell only: across the
    header row (a month over its 預算 and 實際 columns) and down the rows a merge spans below it (a cost center beside
    its lines). A number is never copied: an amount belongs to one cell."""
    height, width = grid.shape
    for (r0, c0), (r1, c1) in ranges:
        if r0 >= height or c0 >= width:
            continue
        value = grid.iat[r0, c0]
        if _blank(value) or (isinstance(value, (int, float)) and not isinstance(value, bool)):
            continue
        if r0 <= header + 1 and r1 == r0:  # the header (or the row of measure words under it): across
            span = [r0]
        elif r0 > header and r1 > r0:  # the body: down the rows it spans, in each of its columns
            span = range(r0, min(r1, height - 1) + 1)
        else:
            continue
        for r in span:
            for c in range(c0, min(c1, width - 1) + 1):
                if _blank(grid.iat[r, c]):
                    grid.iat[r, c] = value


def _headers(rows: list[list[Any]], h: int) -> tuple[list[str], int]:
    """The header row's texts, and how many rows under it are header too (0 or 1): a row of measure words (預算, 實際)
    under two or more month headers and no number, as a two-row header writes 1月 over 預算 | 實際. A blank header
    cell over a measure word takes the month on its left."""
    headers = [_header_text(v) for v in rows[h]]
    if h + 1 >= len(rows) or any(isinstance(v, (int, float)) and not isinstance(v, bool) for v in rows[h + 1]):
        return headers, 0
    combined, last, paired = [], "", 0
    for x, word in zip(headers, rows[h + 1]):
        month = workbook.is_month_header(x)
        if not month and not x and last and workbook.measure_of(word):
            x, month = last, True
        last = x if month else ""
        if month and workbook.measure_of(word):
            combined.append(f"{x} {str(word).strip()}")
            paired += 1
        else:
            combined.append(x)
    return (combined, 1) if paired >= 2 else (headers, 0)


def _give_years(headers: list[str], year: int | None) -> tuple[list[str], bool]:
    """Month headers without a year (1月..12月, Jan..Dec, M01..M12) as YYYY-MM (keeping a measure word: 2026-01 預算),
    when two or more of them make a months-as-columns sheet: the first in the given year, and a month lower than the
    one before starts the next year (7月..12月, 1月..6月 of a year from July), unless a month is there twice (two
    blocks of 1月..12月: all in the year, and each line's second month is a duplicate). (headers, True) when they are
    there but no year was found."""
    found = [workbook.yearless_month(x) for x in headers]
    if sum(f is not None for f in found) < 2:
        return headers, False
    if year is None:
        return headers, True
    months = [(m, (w or "").lower()) for m, w in filter(None, found)]
    wraps = len(set(months)) == len(months)  # a month twice (two blocks of 1月..12月) is no year from July
    out, previous = [], 0
    for x, f in zip(headers, found):
        if f is None:
            out.append(x)
            continue
        month, measure = f
        year += wraps and month < previous
        previous = month
        out.append(f"{year}-{month:02d}" + (f" {measure}" if measure else ""))
    return out, False


_SHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
# Cells the reader (calamine) gives as empty that are not: an error value (t="e"), or a formula saved with no value
# (<f>..</f> then no <v> or an empty one: a workbook written by a program that does not calculate).
_FLAGGED_RE = re.compile(rb't="e"|</f>\s*(?:<v\s*/>|<v>\s*</v>)?\s*</c>|<f[^>]*/>\s*(?:<v\s*/>|<v>\s*</v>)?\s*</c>')


def _sheet_part(book: zipfile.ZipFile, sheet_name: str) -> str | None:
    """The zip member of the worksheet called sheet_name."""
    rel_id = next((s.get(f"{_REL_NS}id") for s in ElementTree.fromstring(book.read("xl/workbook.xml")).iter(
        f"{_SHEET_NS}sheet") if s.get("name") == sheet_name), None)
    rels = ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels"))
    target = next((r.get("Target") for r in rels if r.get("Id") == rel_id), None)
    if target is None:
        return None
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))


def _has_flagged_cells(stream) -> bool:
    """Whether a worksheet's XML holds an error or formula cell without a value, read in chunks (a large sheet is
    never held whole)."""
    tail = b""
    while chunk := stream.read(1 << 20):
        if _FLAGGED_RE.search(tail + chunk):
            return True
        tail = chunk[-200:]
    return False


def _unreadable_cells(path: Path, sheet_name: str, body: pd.DataFrame, offset: int = 0) -> dict[tuple[int, str], str]:
    """Spreadsheet error cells (#N/A, #DIV/0!, ...) written into body as their text, the way a CSV save writes them;
    and the formulas saved without a value, as {(row index, header): "=formula"}. body's row i is sheet row
    i + 2 - offset."""
    try:
        with zipfile.ZipFile(path) as book:
            part = _sheet_part(book, sheet_name)
            if part is None:
                return {}
            with book.open(part) as stream:
                if not _has_flagged_cells(stream):
                    return {}
            formulas: dict[tuple[int, str], str] = {}
            with book.open(part) as stream:
                for _, cell in ElementTree.iterparse(stream):
                    if cell.tag != f"{_SHEET_NS}c":
                        continue
                    f, v = cell.find(f"{_SHEET_NS}f"), cell.find(f"{_SHEET_NS}v")
                    no_value = v is None or not (v.text or "").strip()
                    if cell.get("t") == "e" or (f is not None and no_value):
                        row, col = _cell_position(cell.get("r", ""))
                        row += offset
                        if row - 2 in body.index and col < len(body.columns):
                            h = body.columns[col]
                            if cell.get("t") == "e" and not no_value:
                                body.loc[row - 2, h] = v.text.strip()
                            elif f is not None:
                                formulas[(row - 2, h)] = "=" + (f.text or "")
                                body.loc[row - 2, h] = formulas[(row - 2, h)]
                    cell.clear()
            return formulas
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError):  # not an OOXML workbook calamine read: none found
        return {}


def _cell_position(ref: str) -> tuple[int, int]:
    """A1-style reference -> (sheet row, 0-based column)."""
    m = re.fullmatch(r"([A-Z]+)(\d+)", ref)
    if not m:
        return 0, 0
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)), col - 1



_KNOWN_WORDS = _known_words()
