"""The command line, `python -m kpi COMMAND`: the same kpi functions the pages call."""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from datetime import date
from pathlib import Path
from collections.abc import Iterable
from typing import Any

import duckdb
import pandas as pd

from . import auth, imports, metrics, present, store
from .auth.access import ROLES, Scope


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: --db may stand before or after the command without one overwriting the other.
    common.add_argument("--db", default=argparse.SUPPRESS, metavar="PATH",
                        help="DuckDB file (default: $KPI_DB, else data/kpi.duckdb)")
    common.add_argument("--wait", type=float, default=argparse.SUPPRESS, metavar="SECONDS",
                        help=f"how long to wait while another process holds the database (default {store.DEFAULT_WAIT_SECONDS:g})")
    return common


def _shown() -> argparse.ArgumentParser:
    """The options of a command that prints figures: as JSON, or as text in either language."""
    shown = argparse.ArgumentParser(add_help=False)
    shown.add_argument("--json", action="store_true")
    shown.add_argument("--lang", choices=metrics.LANGS, default="zh-TW")
    return shown


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(prog="python -m kpi", parents=[common],
                                     description="Contact-center KPI store: import exports, compute KPIs.")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_import_commands(sub, common)
    _add_kpi_commands(sub, common)
    _add_report_commands(sub, common)
    _add_access_commands(sub, common)
    p = sub.add_parser("docs", parents=[common], help="print generated reference docs (markdown)")
    p.add_argument("topic", choices=["datasets", "kpis"])
    p.set_defaults(func=cmd_docs)

    p = sub.add_parser("status", parents=[common], help="schema version, row counts, last import")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("check", parents=[common],
                       help="verify the database file: read every row of every table (block checksums), count keys "
                            "held twice; exit 2 on damage, 1 on repeated keys")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("backup", parents=[common], help="write a consistent, checked copy of the database into DIR")
    p.add_argument("dir", help="folder for the copy (kpi-YYYYMMDD-HHMMSS.duckdb)")
    p.set_defaults(func=cmd_backup)
    return parser


def cmd_check(args: argparse.Namespace) -> int:
    result = store.check_database(_db(args))
    for name, n in result.tables.items():
        print(f"  {name:<28}{n:>12,} rows ok")
    for name, what in result.damaged.items():
        if name != "file":
            print(f"  {name:<28}DAMAGED: {what}")
    for name, n in result.repeated.items():
        print(f"  {name:<28}" + (f"{n:,} {'key is' if n == 1 else 'keys are'} held by more than one row"
                                 if isinstance(n, int) else f"keys not counted: {n}"))
    if result.ok and result.keys_repeated:
        print(f"error: {result.path}: every table reads back, but {', '.join(result.keys_repeated)} "
              "holds keys in more than one row (counted above; written by means other than an import); an import of a "
              "file holding one of those keys stops. Find and remove the extra rows (docs/operations.md)",
              file=sys.stderr)
        return 1
    if result.ok:
        uncounted = [name for name, n in result.repeated.items() if not isinstance(n, int)]
        print(f"{result.path}: ok (schema version {result.schema_version}, {len(result.tables)} tables read through"
              + (f"; keys not counted in {', '.join(uncounted)}: see above" if uncounted else "") + ")")
        return 0
    if "file" in result.damaged:  # not even opened: the one line says what it is
        print(f"error: {result.damaged['file']}", file=sys.stderr)
    else:
        print(f"error: {result.path}: damaged ({', '.join(result.damaged)}); restore it from a backup "
              "(docs/operations.md)", file=sys.stderr)
    return 2


def cmd_backup(args: argparse.Namespace) -> int:
    target = store.backup_database(_db(args), args.dir)
    print(f"{target}: {target.stat().st_size:,} bytes, checked (restore: docs/operations.md)")
    return 0


def _add_import_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("init", parents=[common], help="create the database (and load the sample data)")
    p.add_argument("--sample", action="store_true", help="load sample_data/ into it")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("ingest", parents=[common], help="import one CSV, XLSX, JSON or JSON-lines file")
    p.add_argument("dataset", help="contacts, surveys, complaints or budget")
    p.add_argument("file", help="CSV (UTF-8, UTF-8 with BOM, Big5/CP950), XLSX, .json or .jsonl/.ndjson; .gz too")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--mapping", metavar="MAP.yaml", help="header mapping and parsing options")
    how.add_argument("--preset", metavar="NAME",
                     help="read the file as this platform's export (python -m kpi presets lists them); "
                          "without --mapping or --preset, a preset the headers match is used")
    p.add_argument("--show-rejects", type=int, default=10, metavar="N", help="rejected rows to print (default 10)")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("presets", parents=[common], help="list the presets: the platform exports ingest recognises")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_presets)

    p = sub.add_parser("imports", parents=[common], help="list past imports")
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(func=cmd_imports)

    p = sub.add_parser("undo", parents=[common],
                       help="undo an import: remove the rows it inserted, restore those it updated")
    p.add_argument("import_id", type=int)
    p.add_argument("--yes", action="store_true", help="undo without asking (asked on a terminal, refused elsewhere)")
    p.set_defaults(func=cmd_undo)

    p = sub.add_parser("rejects", parents=[common], help="print the rejected rows of an import as CSV")
    p.add_argument("import_id", type=int)
    p.set_defaults(func=cmd_rejects)


def _add_kpi_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("kpis", parents=[common, _shown()], help="compute the KPIs for a date range")
    p.add_argument("--from", dest="start", required=True, type=date.fromisoformat, metavar="YYYY-MM-DD")
    p.add_argument("--to", dest="end", required=True, type=date.fromisoformat, metavar="YYYY-MM-DD",
                   help="inclusive")
    p.add_argument("--by", choices=metrics.GROUPINGS)
    p.add_argument("--team")
    p.add_argument("--channel")
    p.add_argument("--queue")
    p.set_defaults(func=cmd_kpis)

    p = sub.add_parser("erlang", parents=[common, _shown()], help="Erlang C: agents one interval needs for a service-level target")
    p.add_argument("--calls", type=float, required=True, help="contacts offered in the interval")
    p.add_argument("--interval-minutes", type=float, default=30, help="interval length in minutes (default 30)")
    p.add_argument("--aht", type=float, required=True, metavar="SECONDS", help="average handle time in seconds")
    p.add_argument("--sl", type=float, required=True, metavar="FRACTION", help="service-level target, e.g. 0.8")
    p.add_argument("--seconds", type=float, required=True, help="answered within this many seconds, e.g. 20")
    p.add_argument("--shrinkage", type=float, default=0.0, metavar="FRACTION", help="share of paid time not on the phones")
    p.add_argument("--max-asa", type=float, metavar="SECONDS", help="also keep the average speed of answer at most this")
    p.add_argument("--max-occupancy", type=float, metavar="FRACTION", help="also keep occupancy at most this, e.g. 0.85")
    p.set_defaults(func=cmd_erlang)

    p = sub.add_parser("staffing", parents=[common, _shown()],
                       help="a week per interval: Erlang C's required agents beside the agents staffed (agent_states)")
    p.add_argument("--week", required=True, help="ISO week, e.g. 2026-W47")
    p.add_argument("--interval", type=int, choices=metrics.INTERVAL_MINUTES, default=30, help="minutes (default 30)")
    p.add_argument("--channel", default="phone", help="a real-time channel (default phone)")
    p.add_argument("--team")
    p.add_argument("--volume-pct", type=float, default=0.0, help="what-if: contacts +/- this many percent")
    p.add_argument("--aht-change", type=float, default=0.0, metavar="SECONDS", help="what-if: AHT +/- seconds")
    p.add_argument("--shrinkage", type=float, metavar="FRACTION", help="what-if: shrinkage (default: the week's measured)")
    p.add_argument("--sl", type=float, metavar="FRACTION", help="what-if: service-level target (default: targets.yaml)")
    p.set_defaults(func=cmd_staffing)

    p = sub.add_parser("budget", parents=[common], help="budget against actual for a year")
    p.add_argument("--year", required=True, type=int)
    p.add_argument("--through", type=lambda s: date.fromisoformat(s + "-01"), metavar="YYYY-MM",
                   help="last month counted (default: the last month with actuals)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_budget)


def _add_report_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("report", parents=[common], help="write the performance or customer service report (.pdf or .xlsx)")
    reports_sub = p.add_subparsers(dest="report", required=True)
    r = reports_sub.add_parser("performance", parents=[common],
                               help="performance report (O2.2.1): budget execution year to date and KPIs of a month")
    r.add_argument("--month", required=True, type=_month, metavar="YYYY-MM")
    r.add_argument("--lang", choices=metrics.LANGS, default="zh-TW")
    r.add_argument("--out", required=True, metavar="FILE.pdf|FILE.xlsx")
    r.set_defaults(func=cmd_report)
    r = reports_sub.add_parser("service", parents=[common],
                               help="customer service report (O4.3.1): satisfaction, complaints, recommendations for a range")
    r.add_argument("--from", dest="start", required=True, type=date.fromisoformat, metavar="YYYY-MM-DD")
    r.add_argument("--to", dest="end", required=True, type=date.fromisoformat, metavar="YYYY-MM-DD", help="inclusive")
    r.add_argument("--team")
    r.add_argument("--channel", help="one channel's contacts, surveys and complaints, as the page's filter")
    r.add_argument("--queue")
    r.add_argument("--lang", choices=metrics.LANGS, default="zh-TW")
    r.add_argument("--out", required=True, metavar="FILE.pdf|FILE.xlsx")
    r.set_defaults(func=cmd_report)


def _add_access_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("users", parents=[common], help="local accounts: the first one turns sign-in on for every page")
    users = p.add_subparsers(dest="users_command", required=True)
    roles = list(ROLES)
    r = users.add_parser("add", parents=[common], help="create an account")
    r.add_argument("name")
    _role_arguments(r, roles)
    r.add_argument("--password-stdin", action="store_true", help="read the password from standard input (one line)")
    r.set_defaults(func=cmd_users_add)
    r = users.add_parser("list", parents=[common], help="every account with its role, teams and state")
    r.set_defaults(func=cmd_users_list)
    r = users.add_parser("set-role", parents=[common], help="give an account another role, teams or agent id")
    r.add_argument("name")
    _role_arguments(r, roles)
    r.set_defaults(func=cmd_users_set_role)
    for name, disabled, text in (("disable", True, "stop an account signing in (its open sessions end)"),
                                 ("enable", False, "let a disabled account sign in again")):
        r = users.add_parser(name, parents=[common], help=text)
        r.add_argument("name")
        r.set_defaults(func=cmd_users_disable, disabled=disabled)
    r = users.add_parser("reset-password", parents=[common], help="set a new password (also lifts a lock-out)")
    r.add_argument("name")
    r.add_argument("--password-stdin", action="store_true", help="read the password from standard input (one line)")
    r.set_defaults(func=cmd_users_reset_password)

    p = sub.add_parser("audit", parents=[common, _shown()], help="the audit log: sign-ins, imports, undos, reports, downloads, "
                                                       "account changes; newest first")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--user", help="only this user's events")
    p.add_argument("--action", choices=auth.ACTIONS, help="only this kind of event")
    p.set_defaults(func=cmd_audit)


def _role_arguments(p: argparse.ArgumentParser, roles: list[str]) -> None:
    p.add_argument("--role", required=True, choices=roles)
    p.add_argument("--team", action="append", metavar="TEAM", help="a team they see (repeat for more); "
                   "supervisors and trainers need one, admin and finance see every team")
    p.add_argument("--agent-id", metavar="ID", help="an agent's own agent id (role agent)")


def _password(args: argparse.Namespace) -> str:
    """The new password: one line of standard input with --password-stdin, else typed twice at a terminal. Never
    echoed, printed or logged."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise ValueError("no terminal to type a password at: pipe it in with --password-stdin")
    import getpass
    first = getpass.getpass("new password: ")
    if getpass.getpass("again: ") != first:
        raise ValueError("the two passwords differ; nothing was changed")
    return first


def _warn_unknown_teams(con: duckdb.DuckDBPyConnection, teams: list[str] | None) -> None:
    known = {r[0] for r in con.execute("SELECT DISTINCT team FROM contacts WHERE team IS NOT NULL").fetchall()}
    for team in teams or []:
        if known and team.strip() not in known:
            print(f"warning: no contacts of team {team!r} in the database (yet); check the spelling "
                  f"(teams in the data: {', '.join(sorted(known))})", file=sys.stderr)


def _warn_unknown_agent(con: duckdb.DuckDBPyConnection, agent_id: str | None, teams: list[str] | None) -> None:
    """An agent id no contact carries (a typo would give the agent an empty page), or one the data puts in another team
    than the account's."""
    if not agent_id:
        return
    agent_id = agent_id.strip()
    if not con.execute("SELECT count(*) FROM contacts").fetchone()[0]:
        return  # nothing imported yet: nothing to check against
    seen = sorted(r[0] for r in con.execute(
        "SELECT DISTINCT team FROM contacts WHERE agent_id = ? AND team IS NOT NULL", [agent_id]).fetchall())
    if not seen and not con.execute("SELECT count(*) FROM contacts WHERE agent_id = ?", [agent_id]).fetchone()[0]:
        print(f"warning: no contacts of agent {agent_id!r} in the database (yet); check the id, or the agent's page "
              "stays empty until their contacts are imported", file=sys.stderr)
    elif teams and seen and not set(seen) & {t.strip() for t in teams}:
        print(f"warning: agent {agent_id!r} works in {', '.join(seen)} in the data, not in {', '.join(teams)}",
              file=sys.stderr)


def _table_text(frame: pd.DataFrame, index: bool = False) -> str:
    """A table for the terminal, its columns lined up when cells hold Chinese (a CJK character takes two columns)."""
    with pd.option_context("display.unicode.east_asian_width", True):
        return frame.to_string(index=index)


def cmd_users_add(args: argparse.Namespace) -> int:
    password = _password(args)
    with store.open_db(_db(args), wait=_wait(args)) as con:
        auth.add_user(con, args.name, args.role, password, _settings(args), teams=args.team, agent_id=args.agent_id,
                      by=auth.os_user())
        _warn_unknown_teams(con, args.team)
        _warn_unknown_agent(con, args.agent_id, args.team if args.role not in ("admin", "finance") else None)
        first = len(auth.list_users(con)) == 1
    print(f"user {args.name.strip()} added ({args.role})" + ("; the dashboard now asks everyone to sign in" if first else ""))
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    with store.open_db(_db(args), read_only=True, wait=_wait(args)) as con:
        users = auth.list_users(con)
    if users.empty:
        print("no users: the dashboard runs in single-user mode (no sign-in, this computer only)")
        return 0
    rows = [{"name": u.name, "role": u.role,
             "teams": ", ".join(u.teams) if isinstance(u.teams, Iterable) and len(u.teams) else
                      "(every team)" if u.role in ("admin", "finance") else "",
             "agent": "" if pd.isna(u.agent_id) else u.agent_id,  # no agent id: blank (a NaN read "NaN")
             "state": "disabled" if not pd.isna(u.disabled_at) else
                      f"locked until {u.locked_until:%Y-%m-%d %H:%M}" if not pd.isna(u.locked_until) else "active",
             "created": f"{u.created_at:%Y-%m-%d %H:%M}"} for u in users.itertuples()]
    print(_table_text(pd.DataFrame(rows)))
    return 0


def cmd_users_set_role(args: argparse.Namespace) -> int:
    with store.open_db(_db(args), wait=_wait(args)) as con:
        auth.set_role(con, args.name, args.role, args.team, args.agent_id, by=auth.os_user())
        _warn_unknown_teams(con, args.team)
        _warn_unknown_agent(con, args.agent_id, args.team if args.role not in ("admin", "finance") else None)
    print(f"user {args.name.strip()} is now {args.role}")
    return 0


def cmd_users_disable(args: argparse.Namespace) -> int:
    with store.open_db(_db(args), wait=_wait(args)) as con:
        auth.set_disabled(con, args.name, args.disabled, by=auth.os_user())
    print(f"user {args.name.strip()} {'disabled' if args.disabled else 'enabled'}")
    return 0


def cmd_users_reset_password(args: argparse.Namespace) -> int:
    password = _password(args)
    with store.open_db(_db(args), wait=_wait(args)) as con:
        auth.reset_password(con, args.name, password, _settings(args), by=auth.os_user())
    print(f"password of {args.name.strip()} reset (and any lock-out lifted)")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    with store.open_db(_db(args), read_only=True, wait=_wait(args)) as con:
        log = auth.audit_log(con, args.limit, user=args.user, action=args.action)
    if args.json:
        _print_json([{"event_id": int(r.event_id), "at": r.happened_at.isoformat(timespec="seconds"),
                      "user": r.user_name if isinstance(r.user_name, str) else None, "action": r.action,
                      "target": r.target if isinstance(r.target, str) else None,
                      "detail": json.loads(r.detail) if isinstance(r.detail, str) else None, "source": r.source}
                     for r in log.itertuples()])
        return 0
    if log.empty:
        print("no events yet")
        return 0
    shown = auth.readable_audit(log, args.lang)
    shown.columns = [present.t(f"audit.col.{c}", args.lang) for c in auth.AUDIT_COLUMNS]
    print(_table_text(shown))
    return 0


def _settings(args: argparse.Namespace) -> auth.AuthSettings:
    return auth.load_settings(db=_db(args))


def _month(text: str) -> date:
    """YYYY-MM as the first day of that month."""
    return date.fromisoformat(text + "-01")


def _db(args: argparse.Namespace) -> Path:
    return store.resolve_db_path(getattr(args, "db", None))


def _scope(args: argparse.Namespace) -> Scope:
    """Whose view the command prints: the file's owner runs the CLI and sees everything (kpi.auth.access)."""
    return Scope.everything()


def _wait(args: argparse.Namespace) -> float:
    return getattr(args, "wait", store.DEFAULT_WAIT_SECONDS)


def _finite(value: Any) -> Any:
    """value with every number that is not finite (inf, -inf, NaN) as None, in dicts and lists too."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _print_json(doc: Any) -> None:
    """JSON as every command prints it: valid JSON, never Infinity or NaN (a value that is not finite is null)."""
    print(json.dumps(_finite(doc), ensure_ascii=False, indent=2, allow_nan=False))


def cmd_init(args: argparse.Namespace) -> int:
    db = _db(args)
    with store.open_db(db, wait=_wait(args)) as con:
        version = store.schema_version(con)
    print(f"{db}: schema version {version}")
    if args.sample:
        for result in imports.load_sample_data(db, wait=_wait(args), centre_zone=metrics.centre_zone()):
            print(result.summary())
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    mapping, preset = imports.choose_mapping(args.dataset, args.file, args.mapping, args.preset)
    if preset is not None:
        print(f"using preset {preset.name} (v{preset.version}): {preset.vendor} {preset.export}")
    result = imports.import_file(args.dataset, args.file, mapping, db=_db(args), wait=_wait(args),
                                 centre_zone=metrics.centre_zone())
    print(result.summary())
    if result.ignored_columns:
        print(f"columns not imported (not mapped): {present.clip(', '.join(result.ignored_columns))}")
    shown = result.rejects.head(args.show_rejects)
    for r in shown.itertuples(index=False):
        print(f"  rejected {_where(r)}, {r.column_name}: {r.reason}")
    more = len(result.rejects) - len(shown)
    if more > 0:
        print(f"  ... {more} more; all of them: python -m kpi rejects {result.import_id} --db {_db(args)}")
    for w in (result.warnings if result.warnings is not None else result.rejects.iloc[0:0]).itertuples(index=False):
        print(f"  warning: {w.reason}" if pd.isna(w.row_number) else f"  warning: {_where(w)}, {w.column_name}: {w.reason}")
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    table = imports.preset_table()
    if args.json:
        _print_json(table)
        return 0
    shown = pd.DataFrame(table, columns=["name", "version", "dataset", "vendor", "export"])
    print(_table_text(shown) if len(shown) else "no presets")
    return 0


def _where(r: Any) -> str:
    """Where a rejected row or a warning is: row 7, or sheet '營運部' row 7 when several sheets were read."""
    sheet = getattr(r, "sheet", None)
    row = None if pd.isna(r.row_number) else f"row {r.row_number}"
    return ", ".join(x for x in (None if sheet is None or pd.isna(sheet) else f"sheet {sheet!r}", row) if x)


def cmd_imports(args: argparse.Namespace) -> int:
    with store.open_db(_db(args), read_only=True, wait=_wait(args)) as con:
        frame = imports.import_history(con, args.limit)
    for c in ("finished_at", "undone_at"):  # to the second; "—" for an import not finished (or not undone)
        frame[c] = frame[c].dt.strftime("%Y-%m-%d %H:%M:%S").astype(object).where(frame[c].notna(), "—")
    print(_table_text(frame) if len(frame) else "no imports yet")
    return 0


def cmd_undo(args: argparse.Namespace) -> int:
    """Undo one import as the import page does (imports.undo_import, in the audit log as the operating system's user),
    after saying what it is and asking on a terminal; without --yes anywhere else, nothing is undone."""
    with store.open_db(_db(args), read_only=True, wait=_wait(args)) as con:
        row = imports.import_history(con, import_id=args.import_id)
    if row.empty:
        raise imports.UndoRefused(f"import #{args.import_id} does not exist", "missing", id=args.import_id)
    r = row.iloc[0]
    finished = "—" if pd.isna(r.finished_at) else f"{r.finished_at:%Y-%m-%d %H:%M:%S}"
    print(f"import #{r.import_id}: {r.file_name} -> {r.dataset}, {int(r.inserted):,} inserted, {int(r.updated):,} "
          f"updated, finished {finished}")
    if pd.notna(r.undone_at):  # said before asking
        raise imports.UndoRefused(f"import #{r.import_id} ({r.file_name}) was already undone at "
                                  f"{r.undone_at:%Y-%m-%d %H:%M:%S}", "undone")
    if not args.yes:
        if not sys.stdin.isatty():
            print(f"error: nothing undone: add --yes to undo import #{r.import_id} without being asked",
                  file=sys.stderr)
            return 2
        try:
            answer = input("undo it? [y/N] ")
        except (EOFError, KeyboardInterrupt):  # Ctrl-D or Ctrl-C at the question: a no, on a line of its own
            print()
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing undone")
            return 1
    with store.open_db(_db(args), wait=_wait(args)) as con:
        print(imports.undo_import(con, args.import_id, source="cli").summary())
    return 0


def cmd_rejects(args: argparse.Namespace) -> int:
    with store.open_db(_db(args), read_only=True, wait=_wait(args)) as con:
        frame = imports.rejected_rows(con, args.import_id)
    frame = frame[["file_name", "row_number", "column_name", "value", "reason", "raw"]]  # the reason in English
    # Formula-safe: this CSV is meant to be opened in a spreadsheet.
    sys.stdout.write(present.frame_to_csv(frame).decode("utf-8-sig").replace("\r\n", "\n"))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    db = _db(args)
    with store.open_db(db, read_only=True, wait=_wait(args)) as con:
        print(f"{db}: schema version {store.schema_version(con)}")
        counts = store.row_counts(con)
        width = max(map(len, counts), default=0) + 2  # budget_drivers, agent_states: the counts in one column
        for name, n in counts.items():
            print(f"  {name:<{width}}{n:>10,}")
        history = imports.import_history(con, 1)
    if len(history):
        last = history.iloc[0]
        undone = "" if pd.isna(last.undone_at) else f" (undone at {last.undone_at:%Y-%m-%d %H:%M:%S})"
        print(f"last import: #{last.import_id} {last.file_name} at {last.finished_at:%Y-%m-%d %H:%M:%S}{undone}")
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from . import reports
    print(reports.datasets_markdown() if args.topic == "datasets" else reports.kpis_markdown())
    return 0


def cmd_kpis(args: argparse.Namespace) -> int:
    if args.end < args.start:
        raise ValueError(f"--to {args.end} is before --from {args.start}")
    cat = metrics.load_catalog()
    with store.open_db(_db(args), read_only=True, wait=_wait(args)) as con:
        settings = {**cat.settings, "__cutoffs": metrics.data_cutoffs(con)}
        frame = metrics.compute_kpis(con, args.start, args.end, args.by, team=args.team, channel=args.channel,
                                     queue=args.queue, catalog=cat, settings=settings, stats=True, scope=_scope(args))
    ids = [c for c in frame.columns if c in cat.kpis]
    if args.json:
        rows = [{"key": r["key"], "kpis": metrics.kpis_jsonable(r, ids, cat),
                 **metrics.stats_jsonable(r, ids, cat, args.end, settings)} for r in frame.to_dict("records")]
        doc = ({"from": args.start.isoformat(), "to": args.end.isoformat(), **{k: v for k, v in rows[0].items() if k != "key"}}
               if args.by is None else {"by": args.by, "rows": rows})
        _print_json(doc)
        return 0
    if args.by is None:
        row = frame.iloc[0]
        width = max(len(cat[k].text("label", args.lang)) for k in ids) + 2
        print(f"{args.start} – {args.end}")
        for k in ids:
            value = None if pd.isna(row[k]) else float(row[k])
            st = metrics.status(cat[k], value, args.team, args.channel)
            target = cat[k].target_for(args.team, args.channel)[0]
            print(f"  {cat[k].text('label', args.lang):<{width}}{metrics.format_value(cat[k], value, args.lang):>14}"
                  f"{'  target ' + metrics.format_value(cat[k], target, args.lang) if target is not None else '':<22}{st or ''}")
        return 0
    table = frame.set_index("key")[ids]
    shown = table.apply(lambda col: col.map(lambda v: metrics.format_value(cat[col.name], None if pd.isna(v) else v, args.lang)))
    shown.columns = [cat[c].text("label", args.lang) for c in shown.columns]
    print(_table_text(shown.T, index=True))
    return 0


def cmd_erlang(args: argparse.Namespace) -> int:
    try:
        s = metrics.erlang_staffing(args.calls, args.interval_minutes * 60, args.aht, args.sl, args.seconds,
                                    args.shrinkage, args.max_asa, args.max_occupancy)
    except metrics.ErlangError as exc:
        print(f"error: {exc.text(args.lang)}", file=sys.stderr)
        return 2
    if args.json:
        _print_json(s.jsonable())
        return 0
    lang = args.lang
    print(present.t("erlang.out.input", lang, calls=args.calls, minutes=args.interval_minutes,
                    aht=present.duration(args.aht, lang), sl=present.percent(args.sl), seconds=args.seconds))
    print(present.t("erlang.out.traffic", lang, traffic=s.traffic))
    if s.agents == 0:
        print(present.t("erlang.out.no_traffic", lang))
        return 0
    print(present.t("erlang.out.agents", lang, agents=s.agents))
    print(present.t("erlang.out.service_level", lang, value=present.percent(s.service_level)))
    print(present.t("erlang.out.asa", lang, value=present.t("erlang.seconds", lang, s=s.asa_seconds)))
    print(present.t("erlang.out.occupancy", lang, value=present.percent(s.occupancy)))
    print(present.t("erlang.out.wait_probability", lang, value=present.percent(s.wait_probability)))
    print(present.t("erlang.out.fte", lang, shrinkage=present.percent(args.shrinkage), fte=s.fte))
    return 0


def _iso_week(text: str) -> date:
    """The Monday of an ISO week written 2026-W47."""
    try:
        year, week = text.upper().split("-W")
        return date.fromisocalendar(int(year), int(week), 1)
    except ValueError:
        raise ValueError(f"--week {text!r}: expected an ISO week such as 2026-W47") from None


def cmd_staffing(args: argparse.Namespace) -> int:
    what_if = metrics.WhatIf(args.volume_pct, args.aht_change, args.shrinkage, args.sl)
    monday = _iso_week(args.week)
    try:
        with store.open_db(_db(args), read_only=True, wait=_wait(args)) as con:
            week = metrics.staffing_week(con, monday, args.interval, channel=args.channel, team=args.team,
                                         what_if=what_if, scope=_scope(args))
    except metrics.ErlangError as exc:
        print(f"error: {exc.text(args.lang)}", file=sys.stderr)
        return 2
    doc = metrics.staffing_jsonable(week)
    if args.json:
        _print_json(doc)
        return 0
    for line in metrics.staffing_lines(week, args.lang):
        print(line)
    return 0


def cmd_budget(args: argparse.Namespace) -> int:
    with store.open_db(_db(args), read_only=True, wait=_wait(args)) as con:
        report = metrics.budget_report(con, args.year, args.through, scope=_scope(args))
    through = f"{report.through:%Y-%m}" if report.through else None
    if args.json:
        doc = {"year": report.year, "through": through,
               "total": {k: metrics.to_jsonable(v) if not isinstance(v, bool) else v for k, v in report.total.items()},
               "lines": [{**{k: (v if isinstance(v, (bool, str)) or v is None else metrics.to_jsonable(v))
                            for k, v in r.items()},
                          "variance_split": _split_json(report.splits.get((r["cost_center"], r["line"])))}
                         for r in report.lines.to_dict("records")],
               "total_variance_split": _split_json(report.total_split),
               "cost_per_contact": metrics.to_jsonable(report.cost_per_contact),
               "budget_per_contact": metrics.to_jsonable(report.budget_per_contact),
               "budget_months": list(report.budget_months)}
        _print_json(doc)
        return 0
    print(f"{report.year} through {through or '(no actuals yet)'}")
    if metrics.budget_coverage(report, "en"):
        print(metrics.budget_coverage(report, "en"))
    shown = report.lines[["cost_center", "line", "line_type", "budget_ytd", "actual_ytd", "variance_ytd",
                          "variance_pct_ytd", "needs_improvement_report", "latest_estimate"]].copy()
    for c in ("budget_ytd", "actual_ytd", "variance_ytd", "latest_estimate"):
        shown[c] = shown[c].map(lambda v: present.format_kind(v, "ntd"))
    shown["variance_pct_ytd"] = shown["variance_pct_ytd"].map(lambda v: present.format_kind(v, "+fraction"))
    shown["needs_improvement_report"] = shown["needs_improvement_report"].map(lambda b: "REPORT" if b else "")
    print(_table_text(shown))
    t = report.total
    amounts = {k: present.number(t[k] or 0) for k in ("budget_ytd", "actual_ytd", "latest_estimate", "full_year_budget")}
    print(f"cost lines: budget YTD {amounts['budget_ytd']}, actual YTD {amounts['actual_ytd']}, "
          f"latest estimate {amounts['latest_estimate']}, full-year budget {amounts['full_year_budget']}")
    if report.cost_per_contact is not None:
        budgeted = ("" if report.budget_per_contact is None
                    else f", budgeted {present.money(report.budget_per_contact, decimals=1)}")
        print(f"cost per contact answered YTD: {present.money(report.cost_per_contact, decimals=1)} "
              f"({present.number(report.answered_ytd)} answered){budgeted}")
    return 0


def _split_json(split: "metrics.VarianceSplit | None") -> dict[str, float] | None:
    """A line's year-to-date variance split as JSON: volume, efficiency, rate, flexed_budget (None without drivers)."""
    return None if split is None else split.jsonable()


def cmd_report(args: argparse.Namespace) -> int:
    from . import reports  # plotly and fpdf2 load only when a report is asked for

    out = Path(args.out)
    reports.output_format(out)  # a wrong suffix fails before any work
    with store.open_db(_db(args), read_only=True, wait=_wait(args)) as con:
        if args.report == "performance":
            report = reports.performance_report(con, args.month, args.lang, scope=_scope(args))
        else:
            report = reports.service_report(con, args.start, args.end, args.lang, team=args.team, channel=args.channel,
                                            queue=args.queue, scope=_scope(args))
    # rendered after the database is closed: a PDF with charts takes seconds
    path = reports.write_report(report, out)
    print(f"{path}: {path.stat().st_size:,} bytes")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run a command; fatal problems print one line to stderr and exit non-zero."""
    args = build_parser().parse_args(argv)
    store.keep_files_private()
    try:
        return args.func(args)
    except (imports.FatalImportError, imports.UndoRefused, store.StoreError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except duckdb.Error as exc:  # a database error no open_db block translated: still one line, never a traceback
        print(f"error: {store.explain(exc, _db(args))}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader stopped reading (`kpi imports | head`): nothing to say, and nothing at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:  # a report or rejects file that can't be written: full disk, no permission
        print(f"error: {exc.filename or ''}: {exc.strerror or exc}; nothing more was written", file=sys.stderr)
        return 2
