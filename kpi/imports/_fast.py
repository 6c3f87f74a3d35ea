"""The fast path of a CSV import: DuckDB reads the file as text and parses, in SQL, the cells it reads exactly as the
Python parsers would (ISO timestamps, plain numbers, yes/no and choice words); a row with any other cell goes through
the Python path (_prepare), so rejects, their reasons and row numbers, dedupe and the stored values stay the same.

The file is read and parsed in one statement (its rows are written once, to table parsed, whose rowid is the row's
position in the file); the rows SQL can't read keep their cells' text there for the Python path, whose rows go to
table python. Both are kept in a DuckDB file of their own (Staged), never as one pandas frame: write() reads them from
there (memory follows DuckDB's buffer, not the file)."""
from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import os
import platform
import re
import shutil
import stat
import tempfile
import time
import weakref
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb
import pandas as pd

from . import _parse as parsing
from ..store import SQL_TYPES, Dataset
from ._mapping import Mapping, Progress
from ._read import Batch, Source
from ._reasons import split_reasons

# Off in tests that compare the fast path with the Python path; nothing else switches it.
ENABLED = True
DATASETS = ("contacts", "surveys")  # whose cross-column rules _derived_sql knows
KINDS = ("text", "timestamp", "duration", "int", "bool", "enum")
FALLBACK_STEP = "fallback"  # the progress step that says rows went to the Python parsers (the fast path was taken)
MEMORY_LIMIT = "512MB"  # the fast path's DuckDB: beyond it, it spills to its temp directory

# Characters str.strip() removes (Unicode whitespace), which clean_text strips and SQL would keep: a cell starting or
# ending with one goes to the Python path.
_SPACE = r"[\s\pZ\x{0B}\x{1C}-\x{1F}\x{85}]"
_EDGE_SPACE = rf"(?:^|\x01){_SPACE}|{_SPACE}(?:\x01|$)"  # at either end of a cell, the cells joined by \x01
# Characters NFKC may turn into the letters of "total" or into 計/计 (a totals row, _check_total_rows), and those
# characters themselves: a first cell holding one goes to the Python path.
_TOTAL_RISK = (r"[\x{2070}-\x{209F}\x{2100}-\x{214F}\x{2460}-\x{24FF}\x{3200}-\x{33FF}\x{F900}-\x{FAFF}\x{FB00}-\x{FB4F}"
               r"\x{FE30}-\x{FE4F}\x{FF00}-\x{FFEF}\x{1D400}-\x{1D7FF}計计]")


@dataclass
class Staged:
    """A prepared import's rows in a DuckDB file of their own, and the pandas types the Python path gives them (for
    Prepared.stage). Table parsed: every row of the file as SQL read it (its rowid: the row's position in the file),
    __ok where SQL read each of its cells as the Python path would, and for the others their cells' text; table
    python: the Python path's valid rows with __src, their position. rows_sql(): both, each with __src and __ok."""

    path: Path
    rows: int
    columns: list[str]
    dtypes: dict[str, object] = field(default_factory=dict)

    def rows_sql(self, prefix: str = "") -> str:
        """Both tables' rows (`prefix`: the attached file's alias and a dot): __src, __ok and the stored columns."""
        cols = ", ".join(self.columns)
        return (f"(SELECT rowid AS __src, __ok, {cols} FROM {prefix}parsed UNION ALL "
                f"SELECT __src, __ok, {cols} FROM {prefix}python)")

    def frame(self, limit: int | None = None) -> pd.DataFrame:
        """The rows (the first `limit`) as the Python path's stage frame: in file order, with its types."""
        with duckdb.connect(str(self.path), read_only=True) as con:
            frame = con.execute(f"SELECT {', '.join(self.columns)} FROM {self.rows_sql()} WHERE __ok ORDER BY __src"
                                + (f" LIMIT {int(limit)}" if limit is not None else "")).df()
        for c, dtype in self.dtypes.items():
            frame[c] = frame[c].astype(object).where(frame[c].notna(), None).astype(dtype) \
                if str(dtype) in ("string", "str", "boolean", "Int64") else frame[c].astype(dtype)
        return frame

    @property
    def alias(self) -> str:
        """The name it is attached under: its own, so that two imports on one connection (two people on the import
        page) never meet."""
        return "_prep_" + hashlib.sha1(str(self.path).encode()).hexdigest()[:12]

    def relation(self, con: duckdb.DuckDBPyConnection, hashed: str | None, key: bytes | None) -> "StagedRows":
        """The rows for write()/preview() on the database's connection: the file attached as _prep (read-only), and
        the column `hashed` (customer_id) replaced by its keyed hash, each distinct value hashed once."""
        alias = self.alias
        detach(con, alias)
        con.execute(f"ATTACH {_sql_text(str(self.path))} AS {alias} (READ_ONLY)")
        hashes = None
        select = ", ".join(self.columns)
        rows = self.rows_sql(f"{alias}.")
        if hashed and key is not None:  # each distinct id hashed once, in SQL (pseudonym_sql), into temp table _hashes
            hashes = (f"SELECT id, {pseudonym_sql('id', key)} AS hashed FROM (SELECT DISTINCT {hashed} AS id "
                      f"FROM {rows} WHERE __ok AND {hashed} IS NOT NULL)")
            select = ", ".join(f"h.hashed AS {c}" if c == hashed else f"s.{c}" for c in self.columns)
            sql = f"SELECT {select} FROM {rows} s LEFT JOIN _hashes h ON s.{hashed} = h.id WHERE s.__ok"
        else:
            sql = f"SELECT {select} FROM {rows} WHERE __ok"
        return StagedRows(sql, self.rows, hashes, self, hashed if hashes is not None else None, key)


@dataclass
class StagedRows:
    """What stage_and_compare reads instead of a frame: an SELECT over the attached stage, joined to temp table
    _hashes (the SELECT `hashes`: each distinct id and its keyed hash) that stage_and_compare creates on its cursor
    (a temp table is its connection's own): the ids stay in DuckDB, never a pandas frame."""

    sql: str
    rows: int
    hashes: str | None
    staged: Staged
    hashed: str | None = None
    key: bytes | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return self.rows

    def head(self, n: int) -> pd.DataFrame:
        """The first n rows as stored (the hashed column hashed), as stored_form's frame would show them."""
        frame = self.staged.frame(n)
        if self.hashes is not None:
            frame[self.hashed] = pd.array([None if pd.isna(v) else pseudonym(v, self.key) for v in frame[self.hashed]],
                                          dtype="string")
        return frame


def pseudonym(value: str, key: bytes) -> str:
    """A customer id as the database keeps it: the first 32 hex digits of its HMAC-SHA256 under the database's key."""
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def pseudonym_sql(text: str, key: bytes) -> str:
    """pseudonym() of the VARCHAR expression `text` in DuckDB SQL, byte for byte (tests/test_fast_import.py compares
    them): HMAC-SHA256 is sha256((K ^ opad) || sha256((K ^ ipad) || m)), K the key padded to the 64-byte block (hashed
    first when longer), and DuckDB's sha256 reads BLOBs. Several times faster than hmac in Python per id."""
    block = hashlib.sha256(key).digest() if len(key) > 64 else key
    block = block.ljust(64, b"\0")
    inner, outer = (bytes(b ^ pad for b in block).hex() for pad in (0x36, 0x5C))
    return (f"left(sha256(unhex('{outer}') || unhex(sha256(unhex('{inner}') || encode({text})))), 32)")


def detach(con: duckdb.DuckDBPyConnection, alias: str) -> None:
    """Let go of an attached stage (before it is attached again, and once written)."""
    if con.execute("SELECT count(*) FROM duckdb_databases() WHERE database_name = ?", [alias]).fetchone()[0]:
        con.execute(f"DETACH {alias}")


def _sql_text(v: str) -> str:
    return "'" + v.replace("'", "''") + "'"


def _ident(h: str) -> str:
    return '"' + h.replace('"', '""') + '"'


def usable(ds: Dataset, source: Source, mapping: Mapping, decimal_fixed: str, centre_zone: str) -> bool:
    """Whether a file can take the fast path at all: a UTF-8 CSV (or .csv.gz) with its header on row 1, a dataset
    whose rules _derived_sql knows, one header per column, durations in seconds, numbers with a decimal point, times
    in the centre's zone, and no option that reads across fields (values, derive, dedupe)."""
    opts = mapping.options
    if not ENABLED or ds.name not in DATASETS or source.excel or source.layout or source.skip:
        return False
    if source.encoding != "utf-8-sig" or decimal_fixed != "." or opts.values or opts.derive or opts.dedupe:
        return False
    if any(len(hs) != 1 for hs in mapping.columns.values()):
        return False
    if opts.timezone is not None and parsing.time_zone(opts.timezone) != parsing.time_zone(centre_zone):
        return False
    return True


def prepare_fast(ds: Dataset, source: Source, mapping: Mapping, name: str, file, tell: Progress):
    """The fast path (usable() said the file may take it): a Prepared whose rows are Staged, or None when the file
    turns out to need the Python path whole (DuckDB reads its rows otherwise than the import would)."""
    from . import _prepare as prep  # the Python path, which this one hands rows to

    first = next(source.batches(rows=1))
    headers = list(first.frame.columns)
    empty = Batch(first.frame.iloc[0:0])
    job, part = prep._prepare_batch(ds, empty, mapping, name, file, source)  # header errors as the Python path's
    cols = job.cols
    columns = [c for c in ds.columns if c.name in cols or c.name in job.defaults]
    if any(c.kind not in KINDS for c in columns) or "abandoned_at" in cols:
        return None
    if any(c.kind == "duration" and job.opts.unit_for(c.name) != "s" for c in columns):
        return None
    if ds.name == "contacts" and "answered_at" in cols and "wait_seconds" not in cols:
        return None  # a wait derived where the file gives none is supplied batch by batch: the Python path's
    work = work_dir()
    staged = Staged(work / "stage.duckdb", 0, _stored(ds, part))
    finalizer = weakref.finalize(staged, shutil.rmtree, work, True)
    try:
        with duckdb.connect(str(staged.path), config={"memory_limit": MEMORY_LIMIT, "preserve_insertion_order": True,
                                                     "temp_directory": str(work / "spill")}) as con:
            parse = _parse_sql(ds, job, columns, headers, staged.columns)
            if _read_parsed(con, source, headers, work, parse) is None:
                finalizer()
                return None
            tell(0.3, "parsing")
            con.execute(f"CREATE TABLE python AS SELECT rowid AS __src, __ok, {', '.join(staged.columns)} FROM parsed "
                        "LIMIT 0")
            rows_read = con.execute("SELECT count(*) FROM parsed WHERE __ok").fetchone()[0]
            tell(0.6, FALLBACK_STEP)
            fallback_rows, parts = _python_rows(con, ds, source, mapping, name, file, headers, tell)
            tell(0.9, "checking")
            dtypes = {c: d for c, d in part.values.dtypes.items() if c in staged.columns}
            for p in parts:
                dtypes.update({c: d for c, d in p.values.dtypes.items() if c in staged.columns})
                _append(con, p.values, staged.columns)
            duplicates = _duplicates(con, ds, staged, dtypes)
            rows_read += fallback_rows
            if len(duplicates):
                con.register("_dup_df", duplicates[["__src"]])
                con.execute("UPDATE parsed SET __ok = FALSE WHERE rowid IN (SELECT __src FROM _dup_df)")
                con.execute("UPDATE python SET __ok = FALSE WHERE __src IN (SELECT __src FROM _dup_df)")
            staged.rows = con.execute(f"SELECT count(*) FROM {staged.rows_sql()} WHERE __ok").fetchone()[0]
            staged.dtypes = dtypes
            con.execute("CHECKPOINT")
    except BaseException:
        finalizer()
        raise
    rejects = [p.rejects for p in parts] + [prep._located(duplicates, prep._raw_rows(job, source, duplicates), job.sheets)]
    rejects = pd.concat([r for r in rejects if len(r)] or rejects[-1:], ignore_index=True)
    empty_values = part.values.iloc[0:0]
    prepared = prep._stage(job, [part, *parts], empty_values, split_reasons(rejects.sort_values("row_number", kind="stable")),
                           source.sha256, file.decimal.decide(), file.centre_zone)
    prepared.rows_read = rows_read
    prepared.staged = staged
    prepared.stage_frame = None
    return prepared


WORK_PREFIX = "kpi-import-"  # + process id, "-", its process namespace (WORK_SPACE), "-", random letters (Staged)
OLD_WORK_DAYS = 1  # a work directory whose process can't be asked about is removed after a day


def _work_space() -> str:
    """8 hex digits naming the set of processes this one's id is unique in: this boot of the machine and its PID
    namespace (a container's /tmp may be shared with the host or other containers, each numbering its processes
    from 1); the host's name where Linux's /proc is not there."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            where = f"{f.read().strip()}:{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:
        where = platform.node()
    return hashlib.sha256(where.encode()).hexdigest()[:8]


WORK_SPACE = _work_space()


def work_dir() -> Path:
    """A new directory in the temp directory for a prepared import's files, named by this process (sweep_work_dirs,
    which prepare() runs first, removes it once the process has ended without removing it)."""
    return Path(tempfile.mkdtemp(prefix=f"{WORK_PREFIX}{os.getpid()}-{WORK_SPACE}-"))


def sweep_work_dirs(base: str | os.PathLike | None = None, now: float | None = None) -> list[Path]:
    """Remove the work directories (in base, the temp directory) that no running import can hold: those named by a
    process of this machine's boot and PID namespace that has ended (killed before its cleanup ran: kill -9, the
    out-of-memory killer), and those older than OLD_WORK_DAYS whose process can't be asked about (named in another
    namespace, a container sharing the directory; on Windows; or before names held the process). Only this user's;
    a directory that can't be read or removed is left as it is; never raises. Returns the ones removed."""
    base = Path(base or tempfile.gettempdir())
    now = time.time() if now is None else now
    removed = []
    try:
        candidates = [d for d in base.iterdir() if d.name.startswith(WORK_PREFIX)]
    except OSError:
        return removed
    for d in candidates:
        try:
            info = d.lstat()
            if not stat.S_ISDIR(info.st_mode) or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
                continue
            owner = re.fullmatch(rf"{WORK_PREFIX}(\d+)-([0-9a-f]{{8}})-.+", d.name)
            running = _running(int(owner.group(1))) if owner is not None and owner.group(2) == WORK_SPACE else None
            if running or (running is None and now - info.st_mtime < OLD_WORK_DAYS * 86400):
                continue
            shutil.rmtree(d)
            removed.append(d)
        except OSError:
            continue
    return removed


def _running(pid: int) -> bool | None:
    """Whether a process of that id runs (in this PID namespace; one of another user's counts as running); None where
    that can't be asked without touching the process (Windows, whose os.kill ends it)."""
    if pid == os.getpid():
        return True
    if os.name == "nt":
        return None
    try:
        os.kill(pid, 0)  # signal 0: nothing is sent, only whether the process exists
    except (ProcessLookupError, OverflowError, ValueError):  # none has that id (or none can: too large)
        return False
    except PermissionError:
        return True
    return True


def _stored(ds: Dataset, part) -> list[str]:
    return [c.name for c in ds.stored_columns if c.name in part.supplied]


def _read_parsed(con: duckdb.DuckDBPyConnection, source: Source, headers: list[str], work: Path,
                 parse: Callable[[str], str]) -> int | None:
    """The file read and parsed in one statement, parse(its read_csv call), into table parsed (rowid = position in the
    file): how many rows, or None when DuckDB can't read it strictly or its rows are not one per line (a quoted line
    break, a blank line: positions would differ). A .gz is first gunzipped into `work`: DuckDB reads a compressed CSV
    on one thread, a plain one on every core (the sample's 300,000 contacts: 1.16 s from the .gz against 0.23 s to
    gunzip and 0.52 s to read)."""
    spec = "{" + ", ".join(f"'{_cell(i)}': 'VARCHAR'" for i in range(len(headers))) + "}"
    path = source.path
    if path.suffix.lower() == ".gz":
        path = work / "text.csv"
        try:
            with gzip.open(source.path, "rb") as packed, open(path, "wb") as plain:
                left = source.text_bytes + 1  # never more than the checks measured (the file changed since: None)
                while left > 0 and (block := packed.read(min(left, 1 << 20))):
                    plain.write(block)
                    left -= len(block)
            if left <= 0:
                return None
        except (OSError, EOFError, zlib.error):  # a full disk: DuckDB reads the .gz itself (the checks read it whole)
            path.unlink(missing_ok=True)
            path = source.path
    gz = "gzip" if path.suffix.lower() == ".gz" else "none"
    statement = parse(
        f"read_csv({_sql_text(str(path))}, columns={spec}, header=true,"
        f" auto_detect=false, delim={_sql_text(source.sep)}, quote='\"', escape='\"', strict_mode=true,"
        f" null_padding=false, compression='{gz}', max_line_size={(source.options.max_line_kib << 10) + 2})")
    try:
        if not _in_file_order(con, statement):
            return None
        con.execute(statement)
    except (duckdb.InvalidInputException, duckdb.IOException, duckdb.OutOfMemoryException):
        return None  # the file as DuckDB reads it (or within its memory) is not the one the checks saw
    finally:
        if path != source.path:
            path.unlink(missing_ok=True)
    n = con.execute("SELECT count(*) FROM parsed").fetchone()[0]
    return n if n == source.lines - 1 else None


# The file read, values computed row by row, and the rows inserted in the order they came: with several threads in
# batches put back in order, on one thread as they come (preserve_insertion_order, set on the connection).
ORDERED_PLAN = {"READ_CSV", "PROJECTION", "BATCH_CREATE_TABLE_AS", "CREATE_TABLE_AS"}


def _in_file_order(con: duckdb.DuckDBPyConnection, statement: str) -> bool:
    """Whether DuckDB's plan of the statement keeps the file's order in the new table's rowids: nothing in it but
    ORDERED_PLAN's operators (a join, which DuckDB makes of some expressions, lets the rows land in any order)."""
    plan = json.loads(con.execute(f"EXPLAIN (FORMAT json) {statement}").fetchall()[0][1])

    def operators(node: dict):
        yield node.get("name")
        for child in node.get("children", []):
            yield from operators(child)
    return all(name in ORDERED_PLAN for node in plan for name in operators(node))


def _cell(i: int) -> str:
    """The name DuckDB gives the file's i-th column: by position, so that no header meets a name of the SQL's own."""
    return f"__c{i}"


def _cells_ok(cells: list[str]) -> list[str]:
    """No cell starts or ends with a space, and none is a spreadsheet error (#N/A): one regex over the cells joined by
    \\x01, a call per row rather than per cell. The other kinds' patterns admit neither."""
    if not cells:
        return []
    errors = "|".join(re.escape(e) for e in _spreadsheet_errors())
    pattern = rf"{_EDGE_SPACE}|(?:^|\x01)(?:{errors})(?:\x01|$)"
    return [f"NOT regexp_matches(concat_ws(chr(1), {', '.join(cells)}), {_sql_text(pattern)})"]


def _spreadsheet_errors() -> tuple[str, ...]:
    from ._prepare import SPREADSHEET_ERRORS
    return SPREADSHEET_ERRORS


def _ascii(text: str) -> str:
    return f"strlen({text}) = length({text})"  # bytes = characters


def _one_of(text: str, words) -> str:
    """`text` is one of the words, as a CASE: DuckDB makes `text IN (...)` of five or more constants (and
    list_contains of a constant list) a join, after which table parsed no longer holds the rows in the file's order
    (its rowids are their positions; tests/test_fast_import.py)."""
    return f"CASE {text} {' '.join(f'WHEN {_sql_text(w)} THEN TRUE' for w in words)} ELSE FALSE END" if words else "FALSE"


def _column_sql(c, text: str, v: str) -> tuple[str, str]:
    """(value, ok) SQL of a column's text `text`, ok reading the value as the column v: ok where the Python parser
    would read the same value from that text."""
    lo, hi = c.bounds
    if c.kind == "text":
        return text, "TRUE"
    if c.kind == "timestamp":
        # written back the same, the cell is the ISO form with every field in range (_parse._ISO_SECONDS_RE)
        return (f"try_strptime({text}, '%Y-%m-%d %H:%M:%S')",
                f"(strftime({v}, '%Y-%m-%d %H:%M:%S') = {text} AND year({v}) BETWEEN 1900 AND 2200)")
    if c.kind == "duration":
        # a whole number written back the same (cheaper than a regex), else digits with a point
        plain = (f"(CAST(TRY_CAST({text} AS BIGINT) AS VARCHAR) = {text} "
                 f"OR regexp_full_match({text}, '[0-9]{{1,15}}(\\.[0-9]{{1,9}})?'))")
        return f"TRY_CAST({text} AS DOUBLE)", f"({plain} AND {v} BETWEEN {lo!r} AND {hi!r})"
    if c.kind == "int":
        return f"TRY_CAST({text} AS INTEGER)", f"(CAST({v} AS VARCHAR) = {text} AND {v} BETWEEN {lo!r} AND {hi!r})"
    if c.kind == "bool":
        # the words exactly, ignoring the case of ASCII letters: no other character lower-cases to one of them
        ascii_words = lambda ws: [w for w in ws if w.isascii()]
        other = lambda ws: [w for w in ws if not w.isascii()]
        value = (f"CASE WHEN {_one_of(f'lower({text})', ascii_words(parsing.TRUE_WORDS))} "
                 f"OR {_one_of(text, other(parsing.TRUE_WORDS))} THEN TRUE "
                 f"WHEN {_one_of(f'lower({text})', ascii_words(parsing.FALSE_WORDS))} "
                 f"OR {_one_of(text, other(parsing.FALSE_WORDS))} THEN FALSE END")
        return value, f"{v} IS NOT NULL"
    if c.kind == "enum":
        if not c.words:
            return f"lower({text})", f"({_ascii(text)} AND {_one_of(v, c.choices)})"
        lookup = {parsing._word_key(w): to for w, to in (*((x, x) for x in c.choices), *c.words)}
        plain = {k: to for k, to in lookup.items() if k.isascii() and k.isalnum()}
        value = f"CASE lower({text}) {' '.join(f'WHEN {_sql_text(k)} THEN {_sql_text(to)}' for k, to in plain.items())} END"
        return value, f"({_ascii(text)} AND {v} IS NOT NULL)"
    raise ValueError(c.kind)


def _parse_sql(ds: Dataset, job, columns, headers: list[str], stored: list[str]) -> Callable[[str], str]:
    """The statement that makes table parsed from the file's rows (`read`: their read_csv call): every row in the
    file's order (its rowid: its position), __ok where SQL reads each of its cells as the Python path would, the stored
    columns typed (no use where not __ok), and, where not __ok, its cells' text (__cells, in the headers' order) for
    the Python path. One statement: the file is read once and the rows SQL reads are written once (a table of the
    text first, then the typed rows from it, took 29-31 s for a 10M-row file against 22-26 s)."""
    values: dict[str, str] = {}
    inner: list[str] = []  # each value computed once, in a subquery, and used by name
    cell = {h: _cell(i) for i, h in enumerate(headers)}
    oks = _cells_ok([cell[job.cols[c.name][0]] for c in columns if c.name in job.cols and c.kind == "text"])
    for c in columns:
        text = cell[job.cols[c.name][0]] if c.name in job.cols else None
        if c.name in job.defaults:
            text = f"coalesce({text}, {_sql_text(job.defaults[c.name])})" if text else _sql_text(job.defaults[c.name])
        v = _ident(f"__v_{c.name}")
        value, ok = _column_sql(c, text, v)
        inner.append(f"{value} AS {v}")
        values[c.name] = v
        if ok != "TRUE":
            oks.append(f"({text} IS NULL OR {ok})")
        if c.required:
            oks.append(f"{text} IS NOT NULL")
    values, more = _derived_sql(ds, values)
    oks += more
    first = _cell(0)  # a totals row (Total, 合計) is known by its first cell: _check_total_rows
    oks.append(f"({first} IS NOT NULL AND ({_ascii(first)} OR NOT regexp_matches({first}, {_sql_text(_TOTAL_RISK)}))"
               f" AND NOT contains(lower({first}), 'total'))")
    ok = f"coalesce({' AND '.join(oks)}, FALSE)"  # NULL (a date try_strptime can't read) is no proof
    typed = ", ".join(f"CAST({values[c]} AS {SQL_TYPES[ds.column(c).kind]}) AS {c}" for c in stored)
    # Where not __ok, the cells' text as one list (a column per cell, NULL in nearly every row, took DuckDB enough
    # memory to insert on one thread under MEMORY_LIMIT: 3.6 s against 2.0 at 1M rows). __ok stays: the other rows are
    # left out by it (a DELETE would rewrite the table).
    texts = f"CASE WHEN NOT __ok THEN [{', '.join(_cell(i) for i in range(len(headers)))}] END AS __cells"
    return lambda read: (f"CREATE TABLE parsed AS SELECT __ok, {typed}, {texts} "
                         f"FROM (SELECT {ok} AS __ok, * FROM (SELECT *, {', '.join(inner)} FROM {read}))")


def _derived_sql(ds: Dataset, values: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The cross-column rules of _prepare._derive_and_check in SQL: values (of every stored column) and the conditions
    under which a row needs none of its checks (else it takes the Python path)."""
    oks: list[str] = []
    if ds.name == "contacts":
        arrived, answered_at = values["arrived_at"], values.get("answered_at", "NULL::TIMESTAMP")
        values["answered"] = f"coalesce({values['answered']}, {answered_at} IS NOT NULL)" if "answered" in values \
            else f"({answered_at} IS NOT NULL)"
        if "agent_id" not in values and "agent_name" in values:
            values["agent_id"] = values["agent_name"]
        oks.append(f"NOT coalesce({answered_at} < {arrived}, FALSE)")
        if "wait_seconds" in values and "answered_at" in values:
            derived = f"((epoch_us({answered_at}) - epoch_us({arrived})) / 1e6)"
            hi = ds.column("wait_seconds").bounds[1]
            oks.append(f"({values['wait_seconds']} IS NOT NULL OR {derived} IS NULL OR {derived} <= {hi!r})")
            values["wait_seconds"] = f"coalesce({values['wait_seconds']}, {derived})"
    return values, oks


def _python_rows(con, ds, source, mapping, name, file, headers, tell):
    """The rows SQL left, through the Python path a batch at a time (parsed again, as prepare does, when a later
    batch changes a decision taken over the whole file): (how many rows, their parts)."""
    from . import _prepare as prep

    total = con.execute("SELECT count(*) FROM parsed WHERE NOT __ok").fetchone()[0]
    size = source.batch_rows
    select = ", ".join(f"__cells[{i + 1}]" for i in range(len(headers)))

    def batches():
        for start in range(0, total, size):
            frame = con.execute(f"SELECT rowid AS __src, {select} FROM parsed WHERE NOT __ok "
                                f"ORDER BY rowid LIMIT {size} OFFSET {start}").df()
            index = pd.Index(frame.pop("__src").astype("int64"))
            frame.columns = headers
            frame.index = index
            yield Batch(frame.astype(object).where(frame.notna(), None).dropna(how="all"))

    parts, used = [], []
    for batch in batches():
        parts.append(prep._prepare_batch(ds, batch, mapping, name, file, source)[1])
        used.append(file.decisions())
    again = {i for i, u in enumerate(used) if u != file.decisions()}
    if again:
        for i, batch in enumerate(batches()):
            if i in again:
                parts[i] = prep._prepare_batch(ds, batch, mapping, name, file, source)[1]
    return sum(p.rows for p in parts), parts


def _append(con: duckdb.DuckDBPyConnection, values: pd.DataFrame, stored: list[str]) -> None:
    """A Python batch's valid rows into table python."""
    if not len(values):
        return
    con.register("_part_df", values[[*stored, "__src"]])
    con.execute(f"INSERT INTO python BY NAME SELECT {', '.join(stored)}, __src, TRUE AS __ok FROM _part_df")
    con.unregister("_part_df")


def _duplicates(con, ds: Dataset, staged: Staged, dtypes) -> pd.DataFrame:
    """A problem for each later row of a repeated key (as _drop_duplicate_keys finds them), from the rows that share
    a key with another: few, so these go through the Python path's own function."""
    from . import _prepare as prep

    key = list(ds.key)
    on = " AND ".join(f"s.{k} IS NOT DISTINCT FROM d.{k}" for k in key)
    both = staged.rows_sql()
    rows = con.execute(
        f"SELECT s.* EXCLUDE (__ok) FROM {both} s SEMI JOIN (SELECT {', '.join(key)} FROM {both} WHERE __ok GROUP BY ALL "
        f"HAVING count(*) > 1) d ON {on} WHERE s.__ok ORDER BY s.__src").df()
    if not len(rows):
        return pd.DataFrame(columns=prep._LOCATED_COLUMNS)
    for c in key:
        rows[c] = rows[c].astype(object).where(rows[c].notna(), None).astype(dtypes.get(c, object))
    return prep._drop_duplicate_keys(rows, key)[1]
