"""The audit log: who signed in (or failed to), imported, undid, saved an improvement report, exported or changed an
account, when, and what. Written in the same transaction as the change it records, where there is one."""
from __future__ import annotations

import getpass
import json
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from ..present import join_list, t, value_label

# Every action the log holds (messages audit.action.<action> and audit.what.<action>).
ACTIONS = ("sign_in", "sign_in_failed", "sign_out", "session_expired", "access_refused", "import", "undo",
           "improvement_report", "export", "user_added", "role_changed", "user_disabled", "user_enabled",
           "password_reset")
SOURCES = ("page", "cli", "sample")
FAILURES = ("bad", "locked", "disabled", "throttled")  # why a sign-in failed (messages audit.reason.<reason>)
METHODS = ("local", "oidc")  # how someone signed in (messages auth.method.<method>)


def os_user() -> str:
    """Who runs this process (the CLI's actor): the operating system's user name."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def record(con: duckdb.DuckDBPyConnection, user: str | None, action: str, target: str | None = None,
           detail: dict[str, Any] | None = None, source: str = "page", at: datetime | None = None) -> int:
    """Add one event; part of the caller's transaction when one is open. Returns its id."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    # con itself, never a new cursor: a cursor is another connection, outside the caller's open transaction
    event_id = con.execute("SELECT nextval('audit_id_seq')").fetchone()[0]
    con.execute("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?)",
                [event_id, at or datetime.now(), user, action, target,
                 json.dumps(detail, ensure_ascii=False, default=str) if detail else None, source])
    return int(event_id)


def audit_log(con: duckdb.DuckDBPyConnection, limit: int = 200, user: str | None = None,
              action: str | None = None) -> pd.DataFrame:
    """The latest events first: event_id, happened_at, user_name, action, target, detail (JSON), source."""
    where, params = [], []
    if user:
        where.append("user_name = ?")
        params.append(user)
    if action:
        where.append("action = ?")
        params.append(action)
    sql = ("SELECT event_id, happened_at, user_name, action, target, detail, source FROM audit_log"
           + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY event_id DESC LIMIT ?")
    return con.cursor().execute(sql, [*params, int(limit)]).df()


def describe(action: str, detail: str | dict | None, lang: str, target: str | None = None) -> str:
    """What an event did, in words: audit.what.<action> filled in from its target and detail, coded values in words."""
    params = json.loads(detail) if isinstance(detail, str) else dict(detail or {})
    params["target"] = target or "—"
    words = {"dataset": "ds", "role": "role", "reason": "audit.reason", "method": "auth.method", "status": "ir.status"}
    for key, prefix in words.items():
        if key in params:
            params[key] = t(f"{prefix}.{params[key]}", lang)
    if "teams" in params:
        params["teams"] = join_list(params["teams"], lang) if params["teams"] else t("audit.every_team", lang)
    try:
        return t(f"audit.what.{action}", lang, **params)
    except (KeyError, IndexError, ValueError):  # an event whose details don't fit its words: the details as they are
        return ", ".join(f"{k}={v}" for k, v in params.items())


def readable_audit(log: pd.DataFrame, lang: str) -> pd.DataFrame:
    """audit_log's rows as a person reads them: time, who, action and what in words, and where from."""
    return pd.DataFrame({
        "happened_at": [f"{a:%Y-%m-%d %H:%M:%S}" for a in log["happened_at"]],
        "user_name": [value_label("run_by", u, lang) if isinstance(u, str) else t("audit.nobody", lang)
                      for u in log["user_name"]],  # "dashboard": the single-user mode
        "action": [t(f"audit.action.{a}", lang) for a in log["action"]],
        "what": [describe(a, d if isinstance(d, str) else None, lang, tg if isinstance(tg, str) else None)
                 for a, d, tg in zip(log["action"], log["detail"], log["target"])],
        "source": [t(f"audit.source.{s}", lang) for s in log["source"]],
    })


AUDIT_COLUMNS = ("happened_at", "user_name", "action", "what", "source")  # readable_audit's columns (messages audit.col.<c>)
