"""Writing a prepared import in one transaction (valid rows, rejects, history of replaced rows), and the imports
as the store records them."""
from __future__ import annotations

import getpass
import json
import os
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import yaml

from ..auth import record
from ..present import ECHO_CHARS, clip
from ..store import SQL_TYPES, Dataset, StoreError
from ..store import (DEFAULT_WAIT_SECONDS, import_span, link_written, open_db, pseudonym_key, refresh_rollups, row_counts,
                     write_transaction)
from ._fast import StagedRows, detach, pseudonym
from ._mapping import Mapping, Progress, _scaled, _silent, load_mapping
from ._parse import DEFAULT_CENTRE_ZONE
from ._prepare import Prepared, prepare
from ._reasons import raw_json, stored_reason_text


def _hash_ids(values: pd.Series, key: bytes) -> pd.Series:
    # Each distinct id is hashed once (customers contact the center again and again), and the result is built from
    # the distinct hashes and each row's code: no Python string per row.
    codes, distinct = pd.factorize(values)
    hashed = pd.array([pseudonym(str(v), key) for v in distinct], dtype="string")
    return pd.Series(hashed.take(codes, allow_fill=True), index=values.index, dtype="string")


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
    superseded: int = 0  # rows left out for a later version of the same record in the file (options.dedupe)
    warnings: pd.DataFrame | None = None  # Prepared.warnings
    companions: list["ImportResult"] = field(default_factory=list)  # other datasets the file carried (budget drivers)

    def summary(self) -> str:
        """One line of counts (and one per other dataset the file carried)."""
        return "\n".join([f"{self.file_name} -> {self.dataset}: read {self.rows_read:,}, inserted {self.inserted:,}, "
                          f"updated {self.updated:,}, unchanged {self.unchanged:,}, rejected {self.rejected:,}"
                          f"{superseded_note(self.superseded)} (import #{self.import_id})"]
                         + [c.summary() for c in self.companions])


def superseded_note(superseded: int) -> str:
    """The part of a summary line that counts superseded rows: nothing when there are none."""
    return f", superseded {superseded:,} (older versions of a record in the file)" if superseded else ""


def stored_form(con: duckdb.DuckDBPyConnection, prep: Prepared) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The stage and the rejects as the database will hold them: customer ids replaced by their keyed hash."""
    rejects = prep.rejects.copy()
    if prep.staged is not None:  # the fast path's rows stay in their file: an SELECT over it (_fast.StagedRows)
        hashed = "customer_id" if "customer_id" in prep.supplied else None
        secret = pseudonym_key(con) if hashed else None
        if hashed and prep.customer_source and len(rejects):
            rejects["raw"] = [_mask_raw(r, prep.customer_source, secret) for r in rejects["raw"]]
        return prep.staged.relation(con, hashed, secret), rejects
    stage = prep.stage.copy(deep=False)  # the hashed column replaces the stage's own, which stays as it was
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
    """Show the stage as temp view _stage (the frame itself, cast to the stored types: DuckDB reads it where it is,
    without a copy) and compare it with the stored rows by key: (matched, updated)."""
    # The one definition of "updated" that write() and kpi.imports.preview() share: a matched row where a column
    # the file supplies IS DISTINCT FROM the stored value. The keys of those rows are left in temp table _changed.
    key_cols = list(ds.key)
    casts = ", ".join(f"CAST({c} AS {SQL_TYPES[ds.column(c).kind]}) AS {c}" for c in cols)
    if isinstance(stage, StagedRows):  # the fast path's rows, read where they are
        if stage.hashes is not None:
            cur.execute(f"CREATE OR REPLACE TEMP TABLE _hashes AS {stage.hashes}")
        cur.execute(f"CREATE OR REPLACE TEMP VIEW _stage_df AS {stage.sql}")
    else:
        cur.register("_stage_df", stage)
    cur.execute(f"CREATE OR REPLACE TEMP VIEW _stage AS SELECT {casts} FROM _stage_df")
    on = " AND ".join(f"t.{k} = s.{k}" for k in key_cols)
    differs = " OR ".join(f"t.{c} IS DISTINCT FROM {updated_value(c, rules)}" for c in cols if c not in key_cols) or "FALSE"
    # One pass over the stored rows: the matched keys, each with whether it changed, left in temp table _matched (the
    # insert's anti-join reads it, not the stored rows: at 100M contacts that built a hash table of 12 GB)
    cur.execute(f"CREATE OR REPLACE TEMP TABLE _matched AS SELECT {', '.join('s.' + k for k in key_cols)}, "
                f"({differs}) AS __changed FROM _stage s JOIN {ds.name} t ON {on}")
    cur.execute(f"CREATE OR REPLACE TEMP TABLE _changed AS SELECT {', '.join(key_cols)} FROM _matched WHERE __changed")
    matched, updated, keys = cur.execute(f"SELECT count(*), count(*) FILTER (WHERE __changed), "
                                         f"count(DISTINCT ({', '.join(key_cols)})) FROM _matched").fetchone()
    if keys < matched:  # rows written by means other than an import (SQL): no index refuses them (kpi.store)
        path = cur.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0]
        twice = cur.execute(f"SELECT count(*) FROM (SELECT {', '.join(key_cols)} FROM _matched GROUP BY ALL "
                            "HAVING count(*) > 1)").fetchone()[0]
        raise StoreError(f"{path}: {ds.name} holds {twice:,} of the imported file's keys in more than one row (written "
                         "by means other than an import); nothing was written. `kpi check` counts them; remove the "
                         "extra rows (docs/operations.md)", "repeated_keys", path)
    return matched, updated


def write(con: duckdb.DuckDBPyConnection, prep: Prepared, source: str = "cli", run_by: str | None = None,
          progress: Progress | None = None) -> ImportResult:
    """Write a prepared import in one transaction: all its valid rows and its rejects land, or nothing does."""
    tell = progress or _silent
    tell(0.0, "pseudonymising" if "customer_id" in prep.supplied else "writing")
    stage, rejects = stored_form(con, prep)
    try:
        # one import or undo at a time: it compares its rows with those stored before it (kpi.store write_transaction)
        with write_transaction(con) as cur:
            result = _write_in(cur, con, prep, stage, rejects, source, run_by or _who(), tell)
            tell(0.85, "committing")
    finally:
        if prep.staged is not None:
            detach(con, prep.staged.alias)
    tell(1.0, "written")
    return result


def _write_in(cur: duckdb.DuckDBPyConnection, con: duckdb.DuckDBPyConnection, prep: Prepared, stage: pd.DataFrame,
              rejects: pd.DataFrame, source: str, run_by: str, tell: Progress) -> ImportResult:
    """write()'s work inside its transaction: the import's record, its rejects, its rows and its companions'."""
    ds = prep.dataset
    started_at = prep.started_at
    import_id = cur.execute("SELECT nextval('import_id_seq')").fetchone()[0]
    cur.execute(
        "INSERT INTO imports (import_id, dataset, file_name, file_sha256, source, run_by, started_at, rows_read,"
        " inserted, updated, unchanged, rejected, options) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, 0, ?)",
        [import_id, ds.name, prep.file_name, prep.file_sha256, source, run_by, started_at, prep.rows_read,
         json.dumps({**prep.options, **_warnings_kept(prep.warnings)}, ensure_ascii=False, default=str)],
    )
    _insert_rejects(cur, rejects, import_id, prep.file_name)
    tell(0.3, "comparing")
    inserted, updated, matched = _write_rows(cur, prep, stage, import_id, tell)
    rejected = rejected_count(rejects)
    companions = []
    for other in prep.companions:  # a budget workbook's drivers: same transaction, same import id
        other_stage, other_rejects = stored_form(con, other)
        _insert_rejects(cur, other_rejects, import_id, other.file_name)
        counts = dict(zip(("inserted", "updated", "matched"), _write_rows(cur, other, other_stage, import_id)))
        companions.append(ImportResult(
            import_id=import_id, dataset=other.dataset.name, file_name=other.file_name, rows_read=other.rows_read,
            inserted=counts["inserted"], updated=counts["updated"], unchanged=counts["matched"] - counts["updated"],
            rejected=rejected_count(other_rejects), rejects=other_rejects, ignored_columns=other.ignored_columns,
            warnings=other.warnings))
    if companions:
        kept = {c.dataset: {k: getattr(c, k) for k in ("rows_read", "inserted", "updated", "unchanged", "rejected")}
                for c in companions}
        cur.execute("UPDATE imports SET options = ? WHERE import_id = ?", [json.dumps(
            {**prep.options, **_warnings_kept(prep.warnings), "companions": kept}, ensure_ascii=False, default=str),
            import_id])
    cur.execute("UPDATE imports SET inserted = ?, updated = ?, unchanged = ?, rejected = ?, finished_at = ? "
                "WHERE import_id = ?", [inserted, updated, matched - updated, rejected, datetime.now(), import_id])
    record(cur, run_by, "import", f"#{import_id}", {  # in the same transaction: no import without its record
        "import_id": import_id, "dataset": ds.name, "file": prep.file_name, "rows_read": prep.rows_read,
        "inserted": inserted, "updated": updated, "rejected": rejected}, source)
    return ImportResult(import_id=import_id, dataset=ds.name, file_name=prep.file_name, rows_read=prep.rows_read,
                        inserted=inserted, updated=updated, unchanged=matched - updated, rejected=rejected,
                        rejects=rejects, ignored_columns=prep.ignored_columns, superseded=prep.superseded,
                        warnings=prep.warnings, companions=companions)


def _write_rows(cur: duckdb.DuckDBPyConnection, prep: Prepared, stage: pd.DataFrame, import_id: int,
                tell: Progress = _silent) -> tuple[int, int, int]:
    """A prepared dataset's valid rows into its table, inside the caller's transaction: the versions it replaces into
    its history, changed rows updated, new rows inserted. Returns (inserted, updated, matched)."""
    ds = prep.dataset
    key_cols = list(ds.key)
    matched, updated = stage_and_compare(cur, ds, prep.supplied, stage, prep.rules)
    # No index refuses a repeated key (kpi.store _table_ddl): prepare leaves one row per key, checked before a row is
    # written (a fault of this code, never of the file's: its repeats are rejected or superseded).
    repeats = cur.execute(f"SELECT count(*) - count(DISTINCT ({', '.join(key_cols)})) FROM _stage").fetchone()[0]
    if repeats:
        raise RuntimeError(f"{prep.file_name}: {repeats:,} {ds.name} rows repeat a key the import had kept once; "
                           "nothing was written")
    on = " AND ".join(f"t.{k} = s.{k}" for k in key_cols)
    data_cols = [c for c in prep.supplied if c not in key_cols]
    tell(0.45, "updating")
    on_changed = " AND ".join(f"t.{k} = c.{k}" for k in key_cols)
    cur.execute(f"INSERT INTO {ds.name}_history BY NAME SELECT t.*, {import_id} AS replaced_by_import_id "
                f"FROM {ds.name} t JOIN _changed c ON {on_changed}")
    if data_cols and updated:
        sets = ", ".join(f"{c} = {updated_value(c, prep.rules)}" for c in data_cols)
        cur.execute(f"UPDATE {ds.name} t SET {sets}, import_id = {import_id} FROM _stage s "
                    f"WHERE {on} AND EXISTS (SELECT 1 FROM _changed c WHERE {' AND '.join(f'c.{k} = s.{k}' for k in key_cols)})")
    tell(0.55, "inserting")
    # No key matched (a new period's file, a first import): every row is new, and the anti-join is left out.
    cur.execute(f"INSERT INTO {ds.name} BY NAME SELECT s.*, {import_id} AS import_id, {import_id} AS created_import_id "
                f"FROM _stage s" + ("" if not matched else f" WHERE NOT EXISTS (SELECT 1 FROM _matched t WHERE {on})"))
    if updated or len(stage) > matched:  # surveys keep their contact's columns: before the rollups read them
        link_written(cur, ds.name, import_id)
    refresh_rollups(cur, ds.name, import_span(cur, ds.name, import_id))  # the days it touched, same transaction
    cur.execute("DROP VIEW _stage")
    cur.execute("DROP TABLE _changed")
    cur.execute("DROP TABLE _matched")
    return len(stage) - matched, updated, matched


def _warnings_kept(warnings: pd.DataFrame) -> dict:
    """An import's warnings as its history keeps them (in imports.options): row, sheet, column, code and parameters."""
    if warnings is None or not len(warnings):
        return {}
    return {"warnings": [{"row": None if pd.isna(w.row_number) else int(w.row_number), "sheet": w.sheet,
                          "column": w.column_name, "code": w.reason_code, "params": json.loads(w.reason_params)}
                         for w in warnings.itertuples(index=False)]}


def _insert_rejects(cur: duckdb.DuckDBPyConnection, rejects: pd.DataFrame, import_id: int, file_name: str) -> None:
    if not len(rejects):
        return
    if "sheet" in rejects and rejects["sheet"].notna().any():  # several sheets read: the file and the sheet
        names = [file_name if pd.isna(s) else f"{file_name} [{s}]" for s in rejects["sheet"]]
        rejects = rejects.assign(file_name=names)
    rj = rejects.assign(import_id=import_id, **({} if "file_name" in rejects else {"file_name": file_name}))[
        ["import_id", "file_name", "row_number", "column_name", "value", "reason", "raw", "reason_code",
         "reason_params"]].astype({"row_number": "int64", "column_name": object, "value": object, "reason": object,
                                   "raw": object, "reason_code": object, "reason_params": object})
    cur.register("_rejects_df", rj)
    cur.execute("INSERT INTO rejected_rows BY NAME SELECT * FROM _rejects_df")
    cur.unregister("_rejects_df")


def _mask_raw(raw: str, headers: list[str], secret: bytes) -> str:
    row = json.loads(raw)
    for h in headers:
        if isinstance(row.get(h), str):
            row[h] = pseudonym(row[h], secret)
    return json.dumps(row, ensure_ascii=False)


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def import_file(dataset: str, path: str | os.PathLike, mapping: Mapping | str | os.PathLike | None = None, *,
                db: str | os.PathLike | None = None, source: str = "cli", run_by: str | None = None,
                wait: float = DEFAULT_WAIT_SECONDS, display_name: str | None = None,
                progress: Progress | None = None, centre_zone: str = DEFAULT_CENTRE_ZONE,
                con: duckdb.DuckDBPyConnection | None = None) -> ImportResult:
    """Import one file: everything is parsed before the database is opened, so the write lock is held only briefly.
    Timestamps are stored as centre_zone's wall-clock time (kpi.metrics.centre_zone reads it from targets.yaml).
    con: a writable connection already open (the sample load writes its files through one), else db is opened."""
    if mapping is not None and not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping)
    prep = prepare(dataset, path, mapping, display_name, progress=_scaled(progress, 0.0, 0.7), centre_zone=centre_zone)
    if progress is not None:
        progress(0.72, "opening")
    if con is not None:
        return write(con, prep, source=source, run_by=run_by, progress=_scaled(progress, 0.75, 1.0))
    with open_db(db, wait=wait) as opened:
        return write(opened, prep, source=source, run_by=run_by, progress=_scaled(progress, 0.75, 1.0))


SAMPLE_DIR = Path(__file__).resolve().parents[2] / "sample_data"


def sample_files(sample_dir: str | os.PathLike = SAMPLE_DIR) -> list[tuple[str, Path, Path | None]]:
    """(dataset, file, mapping) for each bundled sample file, in import order (sample_data/manifest.yaml)."""
    base = Path(sample_dir)
    entries = yaml.safe_load((base / "manifest.yaml").read_text(encoding="utf-8"))
    return [(e["dataset"], base / e["file"], base / e["mapping"] if e.get("mapping") else None) for e in entries]


def load_sample_data(db: str | os.PathLike | None = None, sample_dir: str | os.PathLike = SAMPLE_DIR,
                     wait: float = DEFAULT_WAIT_SECONDS, progress: Progress | None = None,
                     centre_zone: str = DEFAULT_CENTRE_ZONE, datasets: Collection[str] | None = None
                     ) -> list[ImportResult]:
    """Import every bundled sample file through the ordinary import (only those of `datasets`, when given).

    progress(fraction, dataset) hears how far the load is (0-1, each file weighted by its size) and which
    dataset is being imported. The files are written through one connection, each in its own transaction as any
    import (opening the file, with its checks and rollups' state, cost about 0.1 s a time)."""
    files = [f for f in sample_files(sample_dir) if datasets is None or f[0] in datasets]
    sizes = [max(f.stat().st_size, 1) for _, f, _ in files]
    done, results = 0, []
    with open_db(db, wait=wait) as con:
        for (ds, f, m), size in zip(files, sizes):
            lo, hi = done / sum(sizes), (done + size) / sum(sizes)
            named = None if progress is None else (lambda fraction, _step, ds=ds: progress(fraction, ds))
            results.append(import_file(ds, f, m, source="sample", progress=_scaled(named, lo, hi),
                                       centre_zone=centre_zone, con=con))
            done += size
    return results


def sample_pending(con: duckdb.DuckDBPyConnection | None, sample_dir: str | os.PathLike = SAMPLE_DIR) -> list[str]:
    """The sample datasets a first start still has to load, in the manifest's order: every one for a new or empty
    file (con None: no file yet); for a file that holds only sample imports, those whose file was never imported (a
    first start stopped part-way, or one that loads the rest after its first page); none once the file holds an import
    of the centre's own, or rows and no import at all (written by SQL): the sample never mixes with real data. An
    undone sample import counts as loaded: what a user took out stays out."""
    if con is None:
        return [ds for ds, _, _ in sample_files(sample_dir)]
    cur = con.cursor()
    sources = dict(cur.execute("SELECT source, count(*) FROM imports GROUP BY source").fetchall())
    if set(sources) - {"sample"} or (not sources and sum(row_counts(cur).values()) > 0):
        return []  # the centre's own data: sample_data/ is not even read (a server may ship without it)
    names = [ds for ds, _, _ in sample_files(sample_dir)]
    loaded = {r[0] for r in cur.execute("SELECT DISTINCT dataset FROM imports WHERE source = 'sample'").fetchall()}
    return [ds for ds in names if ds not in loaded]


def import_history(con: duckdb.DuckDBPyConnection, limit: int = 50, import_id: int | None = None) -> pd.DataFrame:
    """The latest imports, newest first; or the one import_id (no row when there is none)."""
    return con.cursor().execute(
        "SELECT import_id, finished_at, dataset, file_name, source, run_by, rows_read, inserted, updated, unchanged,"
        " rejected, undone_at FROM imports WHERE $id IS NULL OR import_id = $id ORDER BY import_id DESC LIMIT $n",
        {"id": import_id, "n": limit}).df()


def rejected_rows(con: duckdb.DuckDBPyConnection, import_id: int) -> pd.DataFrame:
    """The rejected rows of one import: reason in English (through the message catalog), and its code and parameters
    for readable_rejects() to put in another language."""
    frame = con.cursor().execute(
        "SELECT file_name, row_number, column_name, value, reason, raw, reason_code, reason_params FROM rejected_rows"
        " WHERE import_id = ? ORDER BY row_number, column_name", [import_id]).df()
    frame["reason"] = [stored_reason_text(code, params, text, "en")
                       for code, params, text in zip(frame["reason_code"], frame["reason_params"], frame["reason"])]
    # Rows rejected before values were cut to present.ECHO_CHARS are cut as they are read.
    frame["value"] = [v if v is None or pd.isna(v) else clip(v) for v in frame["value"]]
    frame["raw"] = [r if r is None or len(r) <= ECHO_CHARS else raw_json(json.loads(r)) for r in frame["raw"]]
    return frame
