"""Reading an export: CSV (UTF-8, with BOM, Big5/CP950, .gz) or XLSX, as text cells with the file's own headers."""
from __future__ import annotations

import csv
import gzip
import io
import os
import posixpath
import re
import zipfile
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np
import pandas as pd

from ._mapping import FatalImportError, Options


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
        formulas = _unreadable_cells(p, sheet if isinstance(sheet, str) else book.sheet_names[sheet], body)
        body = body.dropna(how="all")  # blank rows of a sheet are formatting, not data
        body = body.astype("object")
        body.attrs["formulas"] = formulas
        return body
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
    counts = _field_counts(text, sep)
    ragged = any(n != counts[0] and n for n in counts[1:])
    try:
        # Blank lines are read (and dropped below) so that index i stays the file's row i + 2 in messages.
        if not ragged:
            frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_filter=False,
                                skip_blank_lines=False)
        else:  # as many columns as the widest row, so no row is an error and none shifts into the index
            frame = pd.read_csv(io.StringIO(text), sep=sep, header=None, names=range(max(counts)), dtype=str,
                                keep_default_na=False, na_filter=False, skip_blank_lines=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise FatalImportError(f"{name}: not a readable CSV ({str(exc).splitlines()[0]})") from None
    if ragged:
        if len(frame) != len(counts):  # the quick count (no quotes) read records differently: count with csv
            counts = _field_counts(text, sep, quoted=True)
        if len(frame) != len(counts):
            raise FatalImportError(f"{name}: not a readable CSV (its rows could not be told apart; check its quotes)")
        frame = _cut_to_header(frame, counts)
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.astype("object").where(frame != "", None).dropna(how="all")
    frame.attrs["delimiter"] = sep  # a semicolon or tab file may write decimal commas (_prepare guesses)
    if ragged:
        frame.attrs["fields"] = {i: counts[i + 1] for i in frame.index if counts[i + 1] != counts[0]}
    return frame


def _field_counts(text: str, sep: str, quoted: bool = False) -> list[int]:
    """How many fields each record of a CSV text has (the header first; 0 for a blank line). Text without quotes or
    lone carriage returns is counted by separators per line, which takes a fifth of the time of reading it."""
    if quoted or '"' in text or text.count("\r") != text.count("\r\n"):
        return [len(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=False)]
    lines = text.split("\n")
    if lines and lines[-1] == "":  # the line break that ends the file starts no record
        lines.pop()
    return [line.count(sep) + 1 if line.strip() else 0 for line in lines]


def _cut_to_header(frame: pd.DataFrame, counts: list[int]) -> pd.DataFrame:
    """A ragged CSV read with a column per field of its widest row: the header's columns, named by its cells as
    pandas names them; rows with another number of fields are listed by read_source in attrs["fields"]."""
    width = counts[0]
    body = frame.iloc[1:, :width].copy()
    body.columns = _unique_headers([str(h).strip() for h in frame.iloc[0, :width]])
    body.index = body.index - 1
    return body
