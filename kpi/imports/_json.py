"""JSON exports, read a record at a time: a .json file holding an array of records, or an object holding one beside
plain values (Genesys Cloud's {"conversations": [...], "totalHits": 3}), or a single record; JSON lines (.jsonl,
.ndjson: records one after another, on lines of their own or run together, as Kinesis Firehose delivers Amazon Connect
contact records). Nested fields become dotted headers (Agent.Username); list items are numbered from 0
(participants.0.purpose)."""
from __future__ import annotations

import codecs
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count, islice
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd

from ..present import clip
from ._mapping import FatalImportError, Options
from ._read import BLOCK_BYTES, Batch, Source, _open_bytes, too_big
from ._reasons import encode

# How a file's name says it is JSON (before a .gz): one document, or JSON lines.
SUFFIXES = {".json": "document", ".jsonl": "lines", ".ndjson": "lines"}
MAX_DEPTH = 32  # deeper than this, a field's value is kept as JSON text under its path
_DECODER = json.JSONDecoder()
_NOT_SPACE = re.compile(r"[^ \t\n\r]")
# Where two records run together (}{): a record that is not valid JSON ends there, or at the end of its line.
_SEAM = re.compile(r"\}[ \t\r]*\{")
_DOCUMENT = ("a .json file holds an array of records, or an object holding one array of records beside plain values "
             "(such as {\"conversations\": [...], \"totalHits\": 3}); records one after another are JSON lines (.jsonl)")


def json_kind(p: Path) -> str | None:
    """"document" for a .json file, "lines" for .jsonl and .ndjson (gzipped or not), None for any other file."""
    suffixes = [s.lower() for s in p.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    return SUFFIXES.get(suffixes[-1]) if suffixes else None


@dataclass
class _Record:
    """A record (value, a dict), or a value that is none, with why (reason, encoded) and its text."""

    value: dict | None = None
    reason: str | None = None
    text: str | None = None


class _TooLong(Exception):
    """A record goes on past options.max_line_kib."""


class _Text:
    """A file's text read a block at a time: the characters not yet used (from pos), and the line pos is on."""

    def __init__(self, raw: BinaryIO, source: Source) -> None:
        self.raw, self.name, self.options = raw, source.name, source.options
        self.gz = source.path.suffix.lower() == ".gz"
        self.encoding = source.encoding
        self.decoder = codecs.getincrementaldecoder(source.encoding)()
        self.limit = source.options.max_line_kib << 10
        self.buf, self.pos, self.eof = "", 0, False
        self.line, self.line_start = 1, 0  # the line at pos, and where it starts (counted over the whole file)
        self.base = 0  # characters dropped from the front of buf
        self.size = 0  # bytes read (after gunzip)
        self.record = 1  # the record being read, for messages
        self.lines = source.layout == "lines"

    def more(self) -> bool:
        """Read a block more; False at the end of the file."""
        if self.eof:
            return False
        block = self.raw.read(BLOCK_BYTES)
        pending = len(self.decoder.getstate()[0])  # bytes of a character the last block left unfinished
        try:
            text = self.decoder.decode(block, final=not block)
        except UnicodeDecodeError as exc:
            raise FatalImportError(
                f"{self.name}: cannot decode as {self.encoding.replace('utf-8-sig', 'UTF-8')} ({exc.reason} at byte {self.size - pending + exc.start + 1:,}); "
                "JSON is UTF-8 text: export it as UTF-8, or set options.encoding to the file's encoding") from None
        self.size += len(block)
        if self.size > self.options.max_mib << 20:
            raise too_big(self.name, self.options, self.gz)
        self.eof = not block
        self.buf += text
        return bool(block)

    def advance(self, to: int) -> None:
        breaks = self.buf.count("\n", self.pos, to)
        if breaks:
            self.line += breaks
            self.line_start = self.base + self.buf.rfind("\n", self.pos, to) + 1
        self.pos = to
        if self.pos > 4 * BLOCK_BYTES:  # what is read is forgotten: a block or so is held, never the file
            self.base += self.pos
            self.buf, self.pos = self.buf[self.pos:], 0

    def where(self, at: int) -> tuple[int, int]:
        """(line, column) of buf[at], at >= pos; both counted from 1."""
        line = self.line + self.buf.count("\n", self.pos, at)
        last = self.buf.rfind("\n", self.pos, at)
        start = self.base + last + 1 if last >= 0 else self.line_start
        return line, self.base + at - start + 1

    def next_char(self) -> str:
        """The next character that is no white space ("" at the end of the file); pos moved to it."""
        while True:
            m = _NOT_SPACE.search(self.buf, self.pos)
            if m:
                self.advance(m.start())
                return self.buf[self.pos]
            self.advance(len(self.buf))
            if not self.more():
                return ""

    def expect(self, chars: str) -> str:
        """The next character, one of chars, passed; a FatalImportError where it is another."""
        c = self.next_char()
        if not c or c not in chars:
            line, col = self.where(self.pos)
            found = f"{clip(self.buf[self.pos:self.pos + 20])!r}" if c else "the end of the file"
            raise FatalImportError(f"{self.name}: not valid JSON at line {line:,}, column {col:,}: expected "
                                   f"{' or '.join(repr(ch) for ch in chars)}, found {found}; {_DOCUMENT}")
        self.advance(self.pos + 1)
        return c

    def value(self) -> Any:
        """The JSON value that starts at pos (after next_char), pos moved past it; JSONDecodeError where it is not valid
        JSON, _TooLong where it goes on past the limit."""
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                # A value cut by the end of the block (in a string, or at its last characters) reads on.
                if not self.eof and (exc.pos >= len(self.buf) - 32 or exc.msg.startswith("Unterminated string")):
                    self._read_on()
                    continue
                raise
            except RecursionError:  # nested thousands deep: no record, and nothing json can read
                raise json.JSONDecodeError("nested too deeply", self.buf, self.pos) from None
            if end == len(self.buf) and not self.eof:  # a number may go on in the next block
                self._read_on()
                continue
            if end - self.pos > self.limit:
                raise _TooLong()
            self.advance(end)
            return value

    def _read_on(self) -> None:
        if len(self.buf) - self.pos > self.limit:
            raise _TooLong()
        self.more()

    def skip_record(self, error_at: int) -> str:
        """The text of a record that is not valid JSON, from pos to the end of its line, or to where another record
        starts right after the point where json stopped reading it (}{, as records run together); pos moved past it."""
        while True:
            ends = []
            line_end = self.buf.find("\n", self.pos)
            if line_end >= 0:
                ends.append(line_end)
            seam = _SEAM.search(self.buf, max(self.pos, error_at - 1))
            if seam:
                ends.append(seam.start() + 1)
            if ends or self.eof:
                end = min(ends) if ends else len(self.buf)
                text = self.buf[self.pos:end]
                self.advance(end)
                return text
            self._read_on()

    def too_long(self) -> FatalImportError:
        hint = "is it a JSON-lines file?" if self.lines else _DOCUMENT
        return FatalImportError(f"{self.name}: record {self.record:,} (from line {self.line:,}) is longer than the "
                                f"limit of {self.options.max_line_kib:,} KiB (options.max_line_kib); {hint}")

    def invalid(self, exc: json.JSONDecodeError) -> FatalImportError:
        line, col = self.where(exc.pos)
        return FatalImportError(f"{self.name}: not valid JSON at line {line:,}, column {col:,} ({exc.msg}), in record "
                                f"{self.record:,}; a .json file is one JSON document: export it again")


def _record(value: Any) -> _Record:
    if isinstance(value, dict):
        return _Record(value=value)
    return _Record(reason=encode("not_a_record"), text=clip(json.dumps(value, ensure_ascii=False)))


def _lines(text: _Text) -> Iterator[_Record]:
    """Records one after another (JSON lines, or objects run together); one that is not valid JSON is a record with
    its reason, and reading goes on after it."""
    while text.next_char():
        try:
            value = text.value()
        except json.JSONDecodeError as exc:
            start_line, start_col = text.where(text.pos)
            line, col = text.where(exc.pos)
            bad = text.skip_record(exc.pos)
            if line != start_line:  # json read on into the next line: the record was cut where its line ends
                line, col = start_line, start_col + len(bad)
            yield _Record(reason=encode("invalid_json", line=line, char=col, problem=exc.msg), text=clip(bad.rstrip()))
        else:
            yield _record(value)
        text.record += 1


def _array(text: _Text) -> Iterator[_Record]:
    """The items of an array whose "[" was just passed, as records; not valid JSON stops the file."""
    if text.next_char() == "]":
        text.advance(text.pos + 1)
        return
    while True:
        text.next_char()
        try:
            value = text.value()
        except json.JSONDecodeError as exc:
            raise text.invalid(exc) from None
        yield _record(value)
        text.record += 1
        if text.expect(",]") == "]":
            return


def _holder(text: _Text, member: int) -> Iterator[_Record]:
    """The records of an object holding them: the items of the array that is its member number `member`; its other
    members are read and left."""
    text.expect("{")
    if text.next_char() == "}":
        text.advance(text.pos + 1)
        return
    for i in count():
        text.next_char()
        try:
            text.value()  # the member's name
            text.expect(":")
            if i == member and text.next_char() == "[":
                text.advance(text.pos + 1)
                yield from _array(text)
            else:
                text.next_char()
                text.value()
        except json.JSONDecodeError as exc:
            raise text.invalid(exc) from None
        if text.expect(",}") == "}":
            return


class _Shape(Exception):
    """An object too long to be one record is no holder of records either."""


def _layout(value: Any) -> str:
    """How a .json file whose whole first value was read lays its records out: "single" (that object is the record),
    "array", or "holder:N" (member N of the object is the array of records)."""
    if isinstance(value, list):
        return "array"
    if not isinstance(value, dict):
        return "single"  # a value that is not an object: one record, rejected
    arrays = [i for i, v in enumerate(value.values()) if isinstance(v, list)]
    others = [v for v in value.values() if not isinstance(v, list)]
    if len(arrays) == 1 and not any(isinstance(v, dict) for v in others):
        items = list(value.values())[arrays[0]]
        if not items or isinstance(items[0], dict):
            return f"holder:{arrays[0]}"
    return "single"


def _records(text: _Text, layout: str) -> Iterator[_Record]:
    """The records of a file laid out so (open_json found how); every record passed counted in text.record."""
    if layout == "lines":
        yield from _lines(text)
        return
    if layout == "array":
        text.expect("[")
        yield from _array(text)
    elif layout == "single":
        text.next_char()
        try:
            yield _record(text.value())
        except json.JSONDecodeError as exc:
            raise text.invalid(exc) from None
    else:
        yield from _holder(text, int(layout.split(":")[1]))
    if text.next_char():
        raise _after_the_end(text)


def _after_the_end(text: _Text) -> FatalImportError:
    line, col = text.where(text.pos)
    return FatalImportError(f"{text.name}: more JSON after the end of the document, at line {line:,}, column {col:,}; "
                            f"{_DOCUMENT}")


def flatten(record: dict) -> dict[str, str | None]:
    """A record's fields as text cells under dotted paths: {"Agent": {"Username": "amy"}} -> {"Agent.Username": "amy"};
    list items numbered from 0 (participants.0.purpose); true/false as true/false, numbers as JSON writes them; an empty
    string, null, {} or [] gives no value."""
    out: dict[str, str | None] = {}
    _flatten(record, "", out, 0)
    return out


def _flatten(value: dict | list, prefix: str, out: dict[str, str | None], depth: int) -> None:
    # Types compared exactly (json gives these and no subclasses): this runs for every field of every record, twice.
    for k, v in (value.items() if type(value) is dict else enumerate(value)):
        t = type(v)
        key = prefix + k if type(k) is str else f"{prefix}{k}"
        if t is dict or t is list:
            if depth < MAX_DEPTH:
                _flatten(v, key + ".", out, depth + 1)
            elif v:
                out.setdefault(key, json.dumps(v, ensure_ascii=False))
        elif key not in out:
            out[key] = ((v or None) if t is str else None if v is None else ("true" if v else "false") if t is bool
                        else repr(v) if t is float else str(v))


def open_json(p: Path, name: str, options: Options) -> Source:
    """A JSON file checked as a CSV is before anything is parsed (its size within options.max_mib, every record within
    options.max_line_kib, its fields within options.max_fields, the text decodable), and how its records lie; its
    headers are the dotted paths of every record's fields, in the order they first appear."""
    encoding = options.encoding if options.encoding and options.encoding != "auto" else "utf-8-sig"
    source = Source(p, name, options, "", excel=False, encoding=encoding)
    source.layout = "lines" if json_kind(p) == "lines" else ""
    if not source.layout:
        source.layout = _document_layout(source)
    sha = hashlib.sha256()
    headers: dict[str, None] = {}  # every path a record holds a value (or null) at, in the order first seen
    records = 0
    with _open_bytes(p, name, sha) as raw:
        text = _Text(raw, source)
        try:
            for record in _records(text, source.layout):
                records += 1
                if record.value is not None:
                    for key in flatten(record.value):
                        if key not in headers:
                            headers[key] = None
                            if len(headers) > options.max_fields:
                                raise FatalImportError(
                                    f"{name}: its records hold more than {options.max_fields:,} different fields, the "
                                    f"limit (options.max_fields): {clip(', '.join(headers))}")
        except _TooLong:
            raise text.too_long() from None
        while raw.read(BLOCK_BYTES):  # the rest of the file (none, unless it ended early): into the hash
            pass
    if not records:
        raise FatalImportError(f"{name}: no records in the file (expected JSON objects, one per contact, survey, "
                               "complaint or budget line)")
    # A path that holds an object in some record is no field of its own where another holds null (Agent: null).
    objects = {h[:i] for h in headers for i, ch in enumerate(h) if ch == "."}
    source.sha256, source.headers = sha.hexdigest(), [h for h in headers if h not in objects]
    source.lines, source.text_bytes = records, text.size
    return source


def _document_layout(source: Source) -> str:
    """How a .json file lays out its records, from its first value: an array, an object holding one, a single object,
    or objects one after another ("lines"). The first value is read whole when it fits options.max_line_kib, else
    walked member by member as a holder of records."""
    with _open_bytes(source.path, source.name) as raw:
        text = _Text(raw, source)
        first = text.next_char()
        if not first:
            raise FatalImportError(f"{source.name}: the file is empty (expected JSON records)")
        if first == "[":
            return "array"
        if first != "{":
            line, col = text.where(text.pos)
            raise FatalImportError(f"{source.name}: not JSON (line {line:,}, column {col:,} starts with "
                                   f"{clip(text.buf[text.pos:text.pos + 20])!r}); {_DOCUMENT}")
        try:
            value = text.value()
        except json.JSONDecodeError as exc:
            raise text.invalid(exc) from None
        except _TooLong:
            return _walked_layout(source)
        if text.next_char():  # another value follows: records one after another
            return "lines"
        return _layout(value)


def _walked_layout(source: Source) -> str:
    """The layout of a .json file whose first object is too long to be one record: holder:N when it holds one array of
    records (member N, its first item an object) beside plain values; else a FatalImportError (a record too long)."""
    with _open_bytes(source.path, source.name) as raw:
        text = _Text(raw, source)
        member = None
        try:
            text.expect("{")
            for i in count():
                if text.next_char() == "}":
                    break
                text.value()  # the member's name
                text.expect(":")
                if text.next_char() == "[" and member is None:
                    member = i
                    text.advance(text.pos + 1)
                    for n, record in enumerate(_array(text)):
                        if n == 0 and record.value is None:
                            raise _Shape()
                elif isinstance(text.value(), (dict, list)):
                    raise _Shape()
                if text.expect(",}") == "}":
                    break
        except json.JSONDecodeError as exc:
            raise text.invalid(exc) from None
        except (_TooLong, _Shape):
            member = None
        if member is None:
            text.record, text.line = 1, 1
            raise text.too_long()
        if text.next_char():
            raise _after_the_end(text)
    return f"holder:{member}"


def batches(source: Source, rows: int) -> Iterator[Batch]:
    """The records as text cells under the file's headers, `rows` at a time (at least one batch); index i is record
    i + 2 counted from 1 (record 1 is index -1), so that a row number is a record's number. A record that is not valid
    JSON, or not an object, is a row of empty cells listed in Batch.broken with its reason and text."""
    with _open_bytes(source.path, source.name) as raw:
        text = _Text(raw, source)
        records = _records(text, source.layout)
        start = -1
        while True:
            try:
                chunk = list(islice(records, rows))
            except _TooLong:  # open_json found none: the file changed since
                raise text.too_long() from None
            cells = [flatten(r.value) if r.value is not None else {} for r in chunk]
            frame = pd.DataFrame({h: [c.get(h) for c in cells] for h in source.headers}, columns=source.headers,
                                 index=pd.RangeIndex(start, start + len(chunk)), dtype=object)
            broken = {start + i: (r.reason, r.text) for i, r in enumerate(chunk) if r.reason}
            keep = frame.notna().any(axis=1) | frame.index.isin(list(broken))
            if len(chunk) or start == -1:
                yield Batch(frame[keep], broken=broken, sparse=True)
            if len(chunk) < rows:
                return
            start += len(chunk)
