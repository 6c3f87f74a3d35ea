"""Reading an export: CSV (UTF-8, with BOM, Big5/CP950, .gz) or XLSX, as text cells with the file's own headers."""
from __future__ import annotations

import gzip
import io
import os
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

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
    frame = frame.astype("object").where(frame != "", None).dropna(how="all")
    frame.attrs["delimiter"] = sep  # a semicolon or tab file may write decimal commas (_prepare guesses)
    return frame
