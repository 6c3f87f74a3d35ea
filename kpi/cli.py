"""The command line, `python -m kpi COMMAND`: the same kpi functions the pages call."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import ingest, store


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: --db may stand before or after the command without one overwriting the other.
    common.add_argument("--db", default=argparse.SUPPRESS, metavar="PATH",
                        help="DuckDB file (default: $KPI_DB, else data/kpi.duckdb)")
    common.add_argument("--wait", type=float, default=argparse.SUPPRESS, metavar="SECONDS",
                        help=f"how long to wait while another process holds the database (default {store.DEFAULT_WAIT_SECONDS:g})")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(prog="python -m kpi", parents=[common],
                                     description="Contact-center KPI store: import exports, compute KPIs.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("init", parents=[common], help="create the database (and load the sample data)")
    p.add_argument("--sample", action="store_true", help="load sample_data/ into it")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("ingest", parents=[common], help="import one CSV/XLSX file")
    p.add_argument("dataset", help="contacts, surveys, complaints or budget")
    p.add_argument("file", help="CSV (UTF-8, UTF-8 with BOM, Big5/CP950; .gz too) or XLSX")
    p.add_argument("--mapping", metavar="MAP.yaml", help="header mapping and parsing options")
    p.add_argument("--show-rejects", type=int, default=10, metavar="N", help="rejected rows to print (default 10)")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("imports", parents=[common], help="list past imports")
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(func=cmd_imports)

    p = sub.add_parser("rejects", parents=[common], help="print the rejected rows of an import as CSV")
    p.add_argument("import_id", type=int)
    p.set_defaults(func=cmd_rejects)

    p = sub.add_parser("docs", parents=[common], help="print generated reference docs (markdown)")
    p.add_argument("topic", choices=["datasets"])
    p.set_defaults(func=cmd_docs)

    p = sub.add_parser("status", parents=[common], help="schema version, row counts, last import")
    p.set_defaults(func=cmd_status)
    return parser


def _db(args: argparse.Namespace) -> Path:
    return store.resolve_db_path(getattr(args, "db", None))


def _wait(args: argparse.Namespace) -> float:
    return getattr(args, "wait", store.DEFAULT_WAIT_SECONDS)


def cmd_init(args: argparse.Namespace) -> int:
    db = _db(args)
    with store.open_db(db, wait=_wait(args)) as con:
        version = store.schema_version(con)
    print(f"{db}: schema version {version}")
    if args.sample:
        for result in ingest.load_sample_data(db, wait=_wait(args)):
            print(result.summary())
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    result = ingest.import_file(args.dataset, args.file, args.mapping, db=_db(args), wait=_wait(args))
    print(result.summary())
    if result.ignored_columns:
        print(f"columns not imported (not mapped): {', '.join(result.ignored_columns)}")
    shown = result.rejects.head(args.show_rejects)
    for r in shown.itertuples(index=False):
        print(f"  rejected row {r.row_number}, {r.column_name}: {r.reason}")
    more = len(result.rejects) - len(shown)
    if more > 0:
        print(f"  ... {more} more; all of them: python -m kpi rejects {result.import_id} --db {_db(args)}")
    return 0


def cmd_imports(args: argparse.Namespace) -> int:
    with store.open_db(_db(args), read_only=True, wait=_wait(args)) as con:
        frame = ingest.import_history(con, args.limit)
    print(frame.to_string(index=False) if len(frame) else "no imports yet")
    return 0


def cmd_rejects(args: argparse.Namespace) -> int:
    with store.open_db(_db(args), read_only=True, wait=_wait(args)) as con:
        frame = ingest.rejected_rows(con, args.import_id)
    frame.to_csv(sys.stdout, index=False)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    db = _db(args)
    with store.open_db(db, read_only=True, wait=_wait(args)) as con:
        print(f"{db}: schema version {store.schema_version(con)}")
        for name, n in store.row_counts(con).items():
            print(f"  {name:<11}{n:>12,}")
        history = ingest.import_history(con, 1)
    if len(history):
        print(f"last import: #{history.import_id[0]} {history.file_name[0]} at {history.finished_at[0]}")
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from . import docs
    print(docs.datasets_markdown())
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run a command; fatal problems print one line to stderr and exit non-zero."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ingest.FatalImportError, store.DatabaseBusy, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
