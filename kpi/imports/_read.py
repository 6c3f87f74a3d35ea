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

from ..present import clip
from ._mapping import FatalImportError, Options


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
            sheet, formulas = _read_sheet(self)
            for start in range(0, max(len(sheet), 1), rows):
                yield Batch(sheet.iloc[start:start + rows], formulas=formulas)
            return
        with _open_bytes(self.path, self.name) as f:
            records = _Records(io.TextIOWrapper(f, encoding=self.encoding, newline=""), self.sep,
                               self.options.max_line_kib << 10, self.name)
            text, _ = records.take(1)
            # A BOM is no part of the first header (utf-8-sig drops it; options.encoding utf-8 keeps it).
            header = next(csv.reader([text.lstrip("\ufeff")], delimiter=self.sep, strict=False), [])
            headers = _unique_headers([h.strip() for h in header])
            start = 0  # position of the batch's first row
            while True:
                text, counts = records.take(rows)
                if counts or not start:
                    yield self._batch(text, counts, headers, start)
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
            raise FatalImportError(f"{self.name}: not a readable CSV ({clip(str(exc).splitlines()[0])})") from None
        if len(frame) != len(counts):  # pandas cut the records otherwise than the csv module did
            raise FatalImportError(f"{self.name}: not a readable CSV (its rows from row {start + 2:,} could not be "
                                   "told apart; check its quotes)")
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
                                   f"{clip(exc)})") from None
        text = "".join(self.pending[:used])
        del self.pending[:used]
        self.taken += len(counts)
        return text, counts


def open_source(path: str | os.PathLike, options: Options, display_name: str | None = None) -> Source:
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
        return Source(p, name, options, _sha256(p, name), excel=True)
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
                                       "set options.encoding to the file's encoding") from None
            continue
        header = _first_line(p, name, encoding, options)
        if not header.strip():
            raise FatalImportError(f"{name}: the file is empty (expected a header row)")
        sep = max([",", ";", "\t", "|"], key=header.count)
        if header.count(sep) + 1 > options.max_fields:
            raise FatalImportError(f"{name}: the header has {header.count(sep) + 1:,} columns, more than the limit of "
                                   f"{options.max_fields:,} (options.max_fields): {clip(header)}")
        return Source(p, name, options, sha, excel=False, encoding=encoding, sep=sep, lines=lines, text_bytes=size)
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


def _first_line(p: Path, name: str, encoding: str, options: Options) -> str:
    with _open_bytes(p, name) as f:
        line = f.readline((options.max_line_kib << 10) + 2)
    return line.decode(encoding, errors="replace").rstrip("\r\n")


def _read_sheet(source: Source) -> tuple[pd.DataFrame, dict[tuple[int, str], str]]:
    """An Excel sheet as text cells, checked like a CSV: its unzipped size within max_mib (as the workbook declares
    it, read before any cell), its header within max_fields; with its error cells written as their text and its
    formulas saved without a value (_unreadable_cells)."""
    name, options = source.name, source.options
    try:
        if zipfile.is_zipfile(source.path):  # .xlsx, .xlsm; an old .xls is read as it is
            with zipfile.ZipFile(source.path) as z:
                unzipped = sum(i.file_size for i in z.infolist())
        else:
            unzipped = source.path.stat().st_size
    except (zipfile.BadZipFile, OSError) as exc:
        raise FatalImportError(f"{name}: not a readable Excel workbook ({clip(exc)})") from None
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
        raise FatalImportError(f"{name}: not a readable Excel workbook ({clip(exc)})") from None
    sheet = options.sheet if options.sheet is not None else 0
    sheets = ", ".join(map(str, book.sheet_names))
    if isinstance(sheet, str) and sheet not in book.sheet_names:
        raise FatalImportError(f"{name}: no sheet named {clip(sheet)!r}; the sheets are: {clip(sheets)}")
    if isinstance(sheet, int) and not 0 <= sheet < len(book.sheet_names):
        raise FatalImportError(f"{name}: no sheet {sheet} (sheets are counted from 0); the workbook has "
                               f"{len(book.sheet_names)}: {clip(sheets)}")
    # keep_default_na=False: a cell reading N/A or NULL is a value to check, not an empty cell (as for CSV).
    frame = pd.read_excel(book, sheet_name=sheet, header=None, dtype=object, keep_default_na=False, na_filter=False)
    if frame.empty:
        raise FatalImportError(f"{name}: sheet {clip(sheet)!r} is empty")
    if frame.shape[1] > options.max_fields:
        raise FatalImportError(f"{name}: sheet {clip(sheet)!r} has {frame.shape[1]:,} columns, more than the limit of "
                               f"{options.max_fields:,} (options.max_fields)")
    headers = _unique_headers([_header_text(v) for v in frame.iloc[0]])
    body = frame.iloc[1:].map(_cell_text)
    body.columns = headers
    body.index = body.index - 1  # index i is the sheet's row i + 2, whatever blank rows are dropped
    formulas = _unreadable_cells(source.path, sheet if isinstance(sheet, str) else book.sheet_names[sheet], body)
    body = body.dropna(how="all")  # blank rows of a sheet are formatting, not data
    return body.astype("object"), formulas


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


def _unreadable_cells(path: Path, sheet_name: str, body: pd.DataFrame) -> dict[tuple[int, str], str]:
    """Spreadsheet error cells (#N/A, #DIV/0!, ...) written into body as their text, the way a CSV save writes them;
    and the formulas saved without a value, as {(row index, header): "=formula"}. body's row i is sheet row i + 2."""
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

