"""The embedded DuckDB file: where it is, its schema and upgrades, and opening it safely beside other processes."""
from __future__ import annotations

import json
import os
import re
import secrets
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Iterator

import duckdb

from ._datasets import DATASETS, SQL_TYPES, Dataset
from ._links import LINKED_TABLES, link_surveys, survey_contact_ddl
from ._rollup import ensure_rollups

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DB = REPO_ROOT / "data" / "kpi.duckdb"
DEFAULT_WAIT_SECONDS = 30.0
# DuckDB's memory for read-only connections (the dashboard's, the read commands'): its default is 80% of RAM, and its
# buffers fill with the file's blocks as pages scan it (12.5 GB at 100M contacts). KPI_READ_MEMORY_LIMIT overrides it
# (a DuckDB size: 512MB, 2GB). Writable connections (imports, undo, the rollup builds) keep DuckDB's default unless
# KPI_WRITE_MEMORY_LIMIT says otherwise: a write transaction may need more, and they are other processes or other
# connections (one file is never open read-only and writable at once in one process).
DEFAULT_READ_MEMORY_LIMIT = "1GB"


class StoreError(RuntimeError):
    """The database file can't be used as asked: one line naming the file, what is wrong and what to do.

    Nothing was changed. Raised for every DuckDB I/O, permission, space and corruption error (see explain); code says
    which (damaged, foreign, read_only, full, busy, repeated_keys, other) so a page can say it in the reader's
    language."""

    def __init__(self, message: str, code: str = "other", path: str | os.PathLike | None = None):
        super().__init__(message)
        self.code, self.path = code, None if path is None else str(path)


class DatabaseBusy(StoreError):
    """Another process holds the database file and did not let go in time."""

    def __init__(self, message: str, path: str | os.PathLike | None = None):
        super().__init__(message, "busy", path)


# DuckDB must never try to download or load an extension: a foreign file (SQLite) would make it try.
NO_EXTENSIONS = {"autoload_known_extensions": False, "autoinstall_known_extensions": False}

_DAMAGE = re.compile(r"not a valid DuckDB database|Could not read enough bytes|[Cc]orrupt|checksum|"
                     r"[Ee]xtension .*(not found|sqlite)|sqlite_scanner|Invalid Input Error: .*header|"
                     r"does not (?:look like|appear to be)|truncated|serializ", re.S)
_READ_ONLY = re.compile(r"Permission denied|Read-only file system|read[- ]only", re.I)
_FULL = re.compile(r"No space left on device|disk is full|could not (?:write|extend)|Disk quota", re.I)


def explain(exc: BaseException, path: str | os.PathLike) -> StoreError:
    """A DuckDB or OS error on the database file as one line a person can act on (the original kept as __cause__)."""
    if isinstance(exc, StoreError):
        return exc
    text = str(exc)
    if _FULL.search(text):
        code, what = "full", "the disk is full; nothing was changed. Free some space and run it again"
    elif _DAMAGE.search(text):
        code = "damaged"
        what = ("not a usable DuckDB database (damaged, truncated or another kind of file); nothing was changed. "
                "Restore it from a backup (python -m kpi backup DIR writes one; see docs/operations.md), "
                "or point --db / KPI_DB at another file")
    elif _READ_ONLY.search(text):
        code, what = "read_only", ("can't be written (a read-only file, folder or disk); nothing was changed. Make it writable, "
                "or read it only (the dashboard and the read commands need no write access)")
    else:
        code, what = "other", f"DuckDB could not use it ({_first_line(text)}); nothing was changed. Run python -m kpi check --db FILE"
    err = StoreError(f"{path}: {what}", code, path)
    err.__cause__ = exc
    return err


def _first_line(text: str, limit: int = 200) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "no detail"
    return line if len(line) <= limit else line[:limit] + "…"


# One import, undo or upgrade at a time in this process (write_transaction and open_db hold it): two imports at once
# would each compare their rows with the stored ones before the other's COMMIT, and could both insert one new key,
# which no index refuses (_table_ddl). Another process can't write meanwhile: DuckDB lets one process hold the file
# writable (open_db waits for it). One lock for every file: imports into two files of one process wait for each other.
WRITE_LOCK = threading.RLock()


def rollback(cur: duckdb.DuckDBPyConnection) -> None:
    """Roll back the open transaction after an error; a failing rollback (no transaction left after an I/O error)
    must not hide that error, so it is ignored."""
    try:
        cur.execute("ROLLBACK")
    except duckdb.Error:
        pass


@contextmanager
def write_transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor of its own (a shared connection is not thread-safe) in a transaction, holding WRITE_LOCK: committed
    when the block ends, rolled back when it raises (the error that ended it kept). An import's and an undo's."""
    with WRITE_LOCK:
        cur = con.cursor()
        cur.execute("BEGIN TRANSACTION")
        try:
            yield cur
            cur.execute("COMMIT")
        except BaseException:
            rollback(cur)  # never hides the error that ended the transaction
            raise
        finally:
            cur.close()


def keep_files_private() -> None:
    """From now on this process creates files and folders readable by their owner only (umask 077): the database, its
    write-ahead log, backups, uploads and reports hold personal data. Called by the CLI and the dashboard at start."""
    os.umask(os.umask(0o077) | 0o077)


def resolve_db_path(db: str | os.PathLike | None = None) -> Path:
    """--db PATH, else the KPI_DB environment variable, else data/kpi.duckdb in the repository."""
    if db:
        return Path(db)
    if os.environ.get("KPI_DB"):
        return Path(os.environ["KPI_DB"])
    return DEFAULT_DB


def _table_ddl(ds: Dataset, name: str, extra: str = "") -> str:
    # A dataset's key is kept unique by the import (repeats in a file are rejected or superseded, stored keys matched
    # and updated; WRITE_LOCK: one import or undo at a time), not by a PRIMARY KEY: DuckDB's index behind one cost 0.7 s
    # of an import of 1M contacts (1.0 s INSERT and 0.35 s COMMIT, against 0.76 and 0.02 without), made the file
    # about 40% larger (1M contacts: 120 MiB against 69), and an undo's DELETE read each row's key back at the COMMIT to
    # take it out of the index (1M contacts: 2.2 s with the key stored uncompressed, 26-30 s compressed; 0.3 s without an
    # index). A file made before has its tables copied without the index by its upgrade (_v12).
    cols = []
    for c in ds.stored_columns:
        null = " NOT NULL" if (c.required or c.name in ds.key) else ""
        cols.append(f"{c.name} {SQL_TYPES[c.kind]}{null}")
    cols.append("import_id INTEGER NOT NULL")  # the import that last wrote the row
    cols.append("created_import_id INTEGER NOT NULL")  # the import that first inserted it
    if extra:
        cols.append(extra)
    return f"CREATE TABLE {name} (\n  " + ",\n  ".join(cols) + "\n)"


def _v1(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")
    # The pseudonymisation key lives with the data it protects: one per database, never printed.
    con.execute("INSERT INTO meta VALUES ('pseudonym_key', ?)", [secrets.token_hex(32)])
    con.execute("CREATE SEQUENCE import_id_seq START 1")
    con.execute(
        """CREATE TABLE imports (
          import_id INTEGER PRIMARY KEY, dataset VARCHAR NOT NULL, file_name VARCHAR NOT NULL,
          file_sha256 VARCHAR, source VARCHAR NOT NULL, run_by VARCHAR, started_at TIMESTAMP NOT NULL,
          finished_at TIMESTAMP, rows_read INTEGER NOT NULL, inserted INTEGER NOT NULL,
          updated INTEGER NOT NULL, unchanged INTEGER NOT NULL, rejected INTEGER NOT NULL,
          options VARCHAR)"""
    )
    con.execute(
        """CREATE TABLE rejected_rows (
          import_id INTEGER NOT NULL, file_name VARCHAR NOT NULL, row_number INTEGER NOT NULL,
          column_name VARCHAR, value VARCHAR, reason VARCHAR NOT NULL, raw VARCHAR)"""
    )
    for ds in DATASETS.values():
        con.execute(_table_ddl(ds, ds.name))


def _v2(con: duckdb.DuckDBPyConnection) -> None:
    # Previous versions of rows that an import replaced, so an import can be undone exactly.
    for ds in DATASETS.values():
        con.execute(_table_ddl(ds, f"{ds.name}_history", extra="replaced_by_import_id INTEGER NOT NULL"))
    con.execute("ALTER TABLE imports ADD COLUMN undone_at TIMESTAMP")


def _v3(con: duckdb.DuckDBPyConnection) -> None:
    # Improvement reports (P2.2.3) for budget lines that miss their targets: one per year x cost center x line.
    con.execute("CREATE SEQUENCE improvement_report_id_seq START 1")
    con.execute(
        """CREATE TABLE improvement_reports (
          report_id INTEGER PRIMARY KEY, year INTEGER NOT NULL, cost_center VARCHAR NOT NULL, line VARCHAR NOT NULL,
          through DATE NOT NULL, root_cause VARCHAR NOT NULL, nature VARCHAR NOT NULL, action VARCHAR NOT NULL,
          owner VARCHAR NOT NULL, due_date DATE NOT NULL, full_year_effect DOUBLE, status VARCHAR NOT NULL,
          created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL, updated_by VARCHAR,
          UNIQUE (year, cost_center, line))"""
    )


def _v4(con: duckdb.DuckDBPyConnection) -> None:
    # Column mappings saved from the import page under a name, in the same YAML the CLI's --mapping takes.
    con.execute("""CREATE TABLE saved_mappings (name VARCHAR PRIMARY KEY, dataset VARCHAR NOT NULL,
                   yaml VARCHAR NOT NULL, saved_at TIMESTAMP NOT NULL, saved_by VARCHAR)""")


def _v5(con: duckdb.DuckDBPyConnection) -> None:
    # Agents' display names beside their ids (a file made by _v1 from today's definitions has the column already).
    for table in ("contacts", "contacts_history"):
        con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS agent_name VARCHAR")


def _v6(con: duckdb.DuckDBPyConnection) -> None:
    # A rejected row's reason as a message code with parameters (JSON), so each reader gets it in their language;
    # reason keeps the English words. Rows rejected before this have no code: their reason is shown as written.
    con.execute("ALTER TABLE rejected_rows ADD COLUMN IF NOT EXISTS reason_code VARCHAR")
    con.execute("ALTER TABLE rejected_rows ADD COLUMN IF NOT EXISTS reason_params VARCHAR")


def _v7(con: duckdb.DuckDBPyConnection) -> None:
    # Contacts' direction (inbound, outbound, transfer, callback): every contact stored before it was counted as an
    # inbound one, so it is inbound. A file made by _v1 from today's definitions has the column already.
    for table in ("contacts", "contacts_history"):
        con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS direction VARCHAR")
        con.execute(f"UPDATE {table} SET direction = 'inbound' WHERE direction IS NULL")


def _v8(con: duckdb.DuckDBPyConnection) -> None:
    # Who may sign in (issue 15): local accounts (argon2 hashes, never the password), failed sign-ins per name typed
    # (known or not, so a lock-out says nothing about which names exist), and the audit log of who did what.
    con.execute("""CREATE TABLE users (
          name VARCHAR PRIMARY KEY, role VARCHAR NOT NULL, teams VARCHAR[], agent_id VARCHAR,
          password_hash VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL,
          disabled_at TIMESTAMP)""")
    con.execute("""CREATE TABLE sign_in_failures (name VARCHAR PRIMARY KEY, failures INTEGER NOT NULL,
                   last_failure_at TIMESTAMP NOT NULL, locked_until TIMESTAMP)""")
    con.execute("CREATE SEQUENCE audit_id_seq START 1")
    con.execute("""CREATE TABLE audit_log (
          event_id BIGINT PRIMARY KEY, happened_at TIMESTAMP NOT NULL, user_name VARCHAR, action VARCHAR NOT NULL,
          target VARCHAR, detail VARCHAR, source VARCHAR NOT NULL)""")


def _v9(con: duckdb.DuckDBPyConnection) -> None:
    # Issue 16: workforce data (agent states, the schedule) and budget drivers (a labour line's planned contacts,
    # hours and rate, and its actual hours, for the flexed budget), each with its history for undo. A file made by _v1
    # from today's definitions has them already.
    for name in ("agent_states", "schedule", "budget_drivers"):
        ds = DATASETS[name]
        for ddl in (_table_ddl(ds, ds.name),
                    _table_ddl(ds, f"{ds.name}_history", extra="replaced_by_import_id INTEGER NOT NULL")):
            con.execute(ddl.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1))


def _v10(con: duckdb.DuckDBPyConnection) -> None:
    # The channel an agent state was staffed for (empty: blended, every channel). A file made by _v1 or _v9 from today's
    # definitions has the column already.
    for table in ("agent_states", "agent_states_history"):
        con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS channel VARCHAR")


def _v11(con: duckdb.DuckDBPyConnection) -> None:
    # Issue 17: each survey keeps its contact's period, team, agent, channel and queue, so a read of the surveys needs
    # no join with every contact; filled here from that join, once (kpi.store._links keeps them exact afterwards).
    for table in LINKED_TABLES:
        for column in survey_contact_ddl():
            con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column}")
    link_surveys(con)


def _v12(con: duckdb.DuckDBPyConnection) -> None:
    # The datasets' tables without their PRIMARY KEY index (_table_ddl says why). DuckDB can't drop a key, so a table
    # that has one is copied into a new one declared without it, in its own order (the zone maps by time stay tight),
    # and takes its place; no index is built, so the copy streams (a 100M-contact file: docs/operations.md). A file
    # made by _v1 from today's definitions has none.
    keyed = [t for t, in con.execute("SELECT DISTINCT table_name FROM duckdb_constraints() WHERE constraint_type = "
                                     "'PRIMARY KEY' AND database_name = current_database()").fetchall()]
    for name in [name for name in DATASETS if name in keyed]:
        sql = con.execute("SELECT sql FROM duckdb_tables() WHERE table_name = ? AND database_name = current_database()",
                          [name]).fetchone()[0]
        bare = re.sub(r",\s*PRIMARY KEY\s*\([^)]*\)", "", sql)
        bare = re.sub(r"\s+USING COMPRESSION\s+\w+", "", bare)
        con.execute(re.sub(rf"^CREATE TABLE {name}\b", f"CREATE TABLE {name}__v12", bare.rstrip().rstrip(";")))
        for key in DATASETS[name].key:  # implied by the key, so not written in its SQL
            con.execute(f"ALTER TABLE {name}__v12 ALTER COLUMN {key} SET NOT NULL")
        con.execute(f"INSERT INTO {name}__v12 SELECT * FROM {name}")
        con.execute(f"DROP TABLE {name}")
        con.execute(f"ALTER TABLE {name}__v12 RENAME TO {name}")


MIGRATIONS = [_v1, _v2, _v3, _v4, _v5, _v6, _v7, _v8, _v9, _v10, _v11, _v12]  # index + 1 = schema version; append, never edit a released step
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The schema version recorded in the file (0 for an empty file)."""
    has_meta = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta' AND table_schema = 'main'"
    ).fetchone()[0]
    if not has_meta:
        return 0
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 1


def migrate(con: duckdb.DuckDBPyConnection, target: int = SCHEMA_VERSION) -> int:
    """Bring the file's schema up to target, each step in its own transaction; returns the version."""
    current = schema_version(con)
    if current > SCHEMA_VERSION:
        raise RuntimeError(
            f"the database has schema version {current}, newer than this code's {SCHEMA_VERSION}; update the code"
        )
    for version in range(current + 1, target + 1):
        con.execute("BEGIN TRANSACTION")
        try:
            MIGRATIONS[version - 1](con)
            con.execute(
                "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(version)]
            )
            con.execute("COMMIT")
        except BaseException:
            rollback(con)
            raise
    return max(current, target)


_LOCK_RE = re.compile(r"lock", re.IGNORECASE)


def connect_config(read_only: bool) -> dict[str, str | bool]:
    """The DuckDB configuration of a connection to the database: no extensions; a read-only one's memory limit.

    Connections to one file in one process share one DuckDB instance and must ask for the same configuration, so
    every read-only open takes it from here (a process changing KPI_READ_MEMORY_LIMIT while it holds the file waits
    for it, as for a lock)."""
    if not read_only:  # KPI_WRITE_MEMORY_LIMIT for a shared machine; beyond it DuckDB spills to <file>.tmp
        limit = os.environ.get("KPI_WRITE_MEMORY_LIMIT")
        return {**NO_EXTENSIONS, "memory_limit": limit} if limit else dict(NO_EXTENSIONS)
    return {**NO_EXTENSIONS, "memory_limit": os.environ.get("KPI_READ_MEMORY_LIMIT") or DEFAULT_READ_MEMORY_LIMIT}


def _connect(target: str, read_only: bool = False, config: dict | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection that never draws DuckDB's progress bar: the CLI's output (a cron log) and the dashboard's
    log held it for a statement over 2 s (`kpi backup` of 10M contacts). It can't be set in the config, only per
    connection; its cursors inherit it."""
    con = duckdb.connect(target, read_only=read_only, config=config or {})
    con.execute("SET enable_progress_bar = false")
    return con


def _connect_with_retry(path: Path, read_only: bool, wait: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + wait
    delay = 0.05
    while True:
        try:
            return _connect(str(path), read_only, connect_config(read_only))
        except (duckdb.Error, OSError) as exc:
            # Worth waiting for: a lock held by another process, or (in this process) another thread's
            # connection opened with the other read_only setting. Anything else is final.
            if not (_LOCK_RE.search(str(exc)) or "different configuration" in str(exc)) or _DAMAGE.search(str(exc)):
                raise explain(exc, path) from exc
            if time.monotonic() >= deadline:
                holder = re.search(r"\(PID (\d+)\)", str(exc))
                who = f"process {holder.group(1)}" if holder else "another process"
                raise DatabaseBusy(
                    f"{path}: the database is in use by {who} and stayed locked for {wait:g} s; "
                    "nothing was changed. Try again, or raise --wait.", path
                ) from exc
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


_BEFORE_WRITABLE_OPEN: list = []  # callables run before this process opens a database writable


def before_writable_open(fn) -> None:
    """Run fn before this process opens a database writable: a reader holding a connection for a while (the
    dashboard's page run) closes it, since one process can't hold a file read-only and writable at once."""
    _BEFORE_WRITABLE_OPEN.append(fn)


@contextmanager
def open_db(
    db: str | os.PathLike | None = None, *, read_only: bool = False, wait: float = DEFAULT_WAIT_SECONDS
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the database briefly (creating and upgrading it when writable), waiting while another process holds it.

    Keep the block short: while it is open, no other process can write (read-only) or open the file at all (writable).
    """
    path = resolve_db_path(db)
    if read_only and not path.exists():
        raise FileNotFoundError(f"{path}: no database here; run `python -m kpi init --db {path}` first")
    if not read_only:
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise explain(exc, path) from exc
    created = not read_only and not path.exists()
    if not read_only:
        for fn in _BEFORE_WRITABLE_OPEN:
            fn()
    con = _connect_with_retry(path, read_only, wait)
    if created:  # a new file is its owner's only, whatever the process's umask (its WAL follows keep_files_private)
        try:
            path.chmod(0o600)
        except OSError:
            pass
    try:
        try:
            version = schema_version(con)
            if version == 0 and (not read_only and con.execute("SELECT count(*) FROM duckdb_tables()").fetchone()[0]):
                raise StoreError(f"{path}: a DuckDB file, but not this dashboard's database (it holds other tables); "
                                 "nothing was changed. Point --db / KPI_DB at the right file", "foreign", path)
            if not read_only:
                if version != SCHEMA_VERSION:  # (a newer one is refused by migrate)
                    with WRITE_LOCK:  # two threads opening an old file at once: the second finds it upgraded
                        migrate(con)
                # Not while another thread imports or builds (two builds of one rollup conflict): this open then leaves
                # the rollups as they are, and the engine reads raw rows where one is outdated until an open builds it.
                if WRITE_LOCK.acquire(blocking=False):
                    try:
                        ensure_rollups(con)
                    finally:
                        WRITE_LOCK.release()
            elif version < SCHEMA_VERSION:
                if version == 0:  # someone else's DuckDB file, or an empty one: a reader never writes our schema in
                    raise StoreError(f"{path}: a DuckDB file, but not this dashboard's database (it has no KPI schema); "
                                     "nothing was changed. Point --db / KPI_DB at the right file, or create one with "
                                     f"python -m kpi init --db {path}", "foreign", path)
                # An old file opened read-only: upgrade it once through a short writable connection.
                con.close()
                with open_db(path, read_only=False, wait=wait):
                    pass
                con = _connect_with_retry(path, True, wait)
        except duckdb.Error as exc:
            raise explain(exc, path) from exc
        try:
            yield con
        except duckdb.Error as exc:  # an I/O, space or corruption error while working with the file
            if isinstance(exc, (duckdb.IOException, duckdb.TransactionException, duckdb.FatalException,
                                duckdb.InternalException, duckdb.PermissionException)) or _DAMAGE.search(str(exc)) \
                    or _FULL.search(str(exc)):
                raise explain(exc, path) from exc
            raise
    finally:
        con.close()


def pseudonym_key(con: duckdb.DuckDBPyConnection) -> bytes:
    """The database's secret for pseudonymising customer ids."""
    return bytes.fromhex(con.execute("SELECT value FROM meta WHERE key = 'pseudonym_key'").fetchone()[0])


def data_version(con: duckdb.DuckDBPyConnection) -> tuple[int, str]:
    """(last import id, time of the last change): changes with every import, undo or saved report, so caches can key on it."""
    row = con.execute(
        "SELECT coalesce(max(import_id), 0), coalesce(greatest(max(finished_at), max(undone_at), "
        "(SELECT max(updated_at) FROM improvement_reports))::VARCHAR, '') FROM imports"
    ).fetchone()
    return int(row[0]), row[1]


def file_stamp(db: str | os.PathLike | None = None) -> tuple:
    """Size and modification time of the database file and of its write-ahead log: every committed write changes them.

    A stat costs microseconds where opening the file for data_version costs 20-100 ms, so a reader can keep the version
    it read until the stamp moves."""
    path = resolve_db_path(db)
    stamp = []
    for f in (path, path.with_name(path.name + ".wal")):
        try:
            st = f.stat()
            stamp.append((st.st_size, st.st_mtime_ns))
        except FileNotFoundError:
            stamp.append(None)
    return tuple(stamp)


def row_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows stored per dataset."""
    return {name: con.execute(f"SELECT count(*) FROM {name}").fetchone()[0] for name in DATASETS}


@dataclass(frozen=True)
class DatasetStatus:
    """What the database holds of one dataset."""

    dataset: str
    rows: int
    first: date | None  # the earliest date of its data (its time column), None when empty
    last: date | None  # the latest
    period_kind: str  # the time column's kind: "timestamp" (a day) or "month" (budget months, stored as first days)
    last_import_at: datetime | None  # when its latest import still in effect (not undone) finished
    last_import_file: str | None


def dataset_status(con: duckdb.DuckDBPyConnection) -> list[DatasetStatus]:
    """Per dataset: rows stored, the dates its data covers, and its latest import that is not undone."""
    out, latest = [], _latest_imports(con)
    for ds in DATASETS.values():
        tc = ds.time_column
        rows, first, last = con.execute(f"SELECT count(*), min({tc})::DATE, max({tc})::DATE FROM {ds.name}").fetchone()
        out.append(DatasetStatus(ds.name, rows, first, last, ds.column(tc).kind, *(latest.get(ds.name) or (None, None))))
    return out


def _latest_imports(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[datetime, str]]:
    """Per dataset, (finished_at, file) of its latest import in effect, a workbook's companion sheets included (the
    budget drivers come in with the budget workbook: imports.options' "companions"), so a dataset with rows is never
    shown as not imported."""
    latest: dict[str, tuple[datetime, str]] = {}
    for dataset, finished, file_name, options in con.execute(
            "SELECT dataset, finished_at, file_name, options FROM imports WHERE undone_at IS NULL "
            "AND finished_at IS NOT NULL ORDER BY import_id DESC").fetchall():
        companions = json.loads(options or "{}").get("companions", {}) if options and "companions" in options else {}
        for name in (dataset, *companions):
            latest.setdefault(name, (finished, file_name))
    return latest


@dataclass(frozen=True)
class CheckResult:
    """What a full verification of the file found: every table read through, row by row (DuckDB checks each block's
    checksum as it reads it), and the schema version."""

    path: Path
    schema_version: int | None
    tables: dict[str, int]  # table -> rows, for the tables read through
    damaged: dict[str, str]  # table (or "file") -> the first line of what went wrong
    # dataset table -> how many of its keys more than one row holds (written by means other than an import: no index
    # refuses them, _table_ddl; an import of a file holding one stops), or the first line of why it couldn't be asked
    repeated: dict[str, int | str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Every block reads back (a backup of a file with repeated keys is still a true copy)."""
        return not self.damaged

    @property
    def keys_repeated(self) -> dict[str, int]:
        return {t: n for t, n in self.repeated.items() if isinstance(n, int)}


def check_database(db: str | os.PathLike | None = None, keys: bool = True) -> CheckResult:
    """Read every column of every row of every table of the file, read-only, and (keys) count each dataset table's keys
    held by more than one row; damage is reported, never raised."""
    path = resolve_db_path(db)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no database here")
    try:
        con = _connect(str(path), True, connect_config(True))
    except duckdb.Error as exc:
        return CheckResult(path, None, {}, {"file": explain(exc, path).args[0]})
    tables, damaged, version = {}, {}, None
    try:
        version = schema_version(con)
        names = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = "
                                           "current_database() ORDER BY table_name").fetchall()]
        for name in names:
            try:  # hash(t) reads every column of every row: each block it touches is checksummed
                n, _ = con.execute(f'SELECT count(*), sum(hash(t)) FROM "{name}" t').fetchone()
                tables[name] = n
            except duckdb.Error as exc:
                damaged[name] = _first_line(str(exc))
        repeated = (_repeated_keys(con, [n for n in names if n in DATASETS and n not in damaged])
                    if version and keys else {})
    except duckdb.Error as exc:  # its catalog can't be read: the file as a whole
        damaged["file"] = explain(exc, path).args[0]
        repeated = {}
    finally:
        con.close()
    return CheckResult(path, version, tables, damaged, repeated)


def _repeated_keys(con: duckdb.DuckDBPyConnection, tables: list[str]) -> dict[str, int | str]:
    """For each dataset table, how many keys more than one row holds (only those holding some), or why that couldn't
    be counted (beyond the read-only memory limit, with nowhere to spill). A GROUP BY, which spills: 100M contacts
    in 15 s within the 1 GB limit."""
    out: dict[str, int | str] = {}
    for name in tables:
        keys = ", ".join(DATASETS[name].key)
        try:
            n = con.execute(f"SELECT count(*) FROM (SELECT {keys} FROM {name} GROUP BY ALL HAVING count(*) > 1)"
                            ).fetchone()[0]
        except duckdb.Error as exc:
            out[name] = _first_line(str(exc))
            continue
        if n:
            out[name] = n
    return out


def backup_database(db: str | os.PathLike | None, directory: str | os.PathLike,
                    now: datetime | None = None) -> Path:
    """A consistent copy of the file in directory (kpi-YYYYMMDD-HHMMSS.duckdb), checked before it is reported.

    The source is attached read-only, so a dashboard may keep reading it; an import running at the same time waits.
    Restore (docs/operations.md): stop the dashboard, check the copy, copy it over the database file."""
    path = resolve_db_path(db)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no database here")
    out_dir = Path(directory)
    target = out_dir / f"kpi-{(now or datetime.now()):%Y%m%d-%H%M%S}.duckdb"
    if target.exists():
        raise StoreError(f"{target}: a backup of that name exists already; nothing was written", "other", target)
    partial = target.with_suffix(".partial")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        partial.unlink(missing_ok=True)
        con = _connect(":memory:", config=NO_EXTENSIONS)
        try:
            con.execute(f"ATTACH '{_sql_path(path)}' AS src (READ_ONLY)")
            con.execute(f"ATTACH '{_sql_path(partial)}' AS dst")
            con.execute("COPY FROM DATABASE src TO dst")
            con.execute("DETACH dst")
        finally:
            con.close()
    except (duckdb.Error, OSError) as exc:
        partial.unlink(missing_ok=True)
        wal = partial.with_name(partial.name + ".wal")
        wal.unlink(missing_ok=True)
        raise explain(exc, path if "src" in str(exc) else target) from exc
    result = check_database(partial, keys=False)  # a true copy of repeated keys is still a true copy
    if not result.ok or result.tables != check_database(path, keys=False).tables:
        partial.unlink(missing_ok=True)
        raise StoreError(f"{target}: the copy did not read back the same rows; nothing was kept", "other", target)
    partial.rename(target)
    return target


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")
