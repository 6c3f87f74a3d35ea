"""Local accounts in the DuckDB file: argon2 password hashes, a minimum length, lock-out after repeated failures,
throttling of failed sign-ins, and the Scope a signed-in user gets."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb
import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from .access import Scope
from ..store import rollback
from ._audit import record
from ._settings import AuthSettings, grant

_HASHER = PasswordHasher()  # argon2id with the library's current recommended cost


@functools.cache
def _dummy_hash() -> str:
    """Checked when the name is unknown, so a wrong name costs the same time as a wrong password (nothing to
    measure). Made on the first sign-in, not at import: hashing takes 0.2 s that every start would wait for."""
    return _HASHER.hash("not a password of anyone")
MAX_NAME_LENGTH = 64


class AccountError(ValueError):
    """An account command can't be done as asked: what is wrong and what to do (nothing was changed)."""


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt: the Scope when it worked, else why not (bad, locked, disabled, throttled),
    the failures left before a lock-out and, when locked, until when."""

    scope: Scope | None
    reason: str | None = None
    attempts_left: int | None = None
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.scope is not None


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME_LENGTH or any(c.isspace() or not c.isprintable() for c in name):
        raise AccountError(f"user name {name!r}: expected 1-{MAX_NAME_LENGTH} characters without spaces")
    return name


def check_password(password: str, settings: AuthSettings, name: str | None = None) -> None:
    """An AccountError unless the password is long enough and is not the user's name."""
    if len(password or "") < settings.min_password_length:
        raise AccountError(f"the password is shorter than {settings.min_password_length} characters; "
                           "nothing was changed (a passphrase of a few words is easy to remember)")
    if name and password.strip().lower() == name.lower():
        raise AccountError("the password is the user's name; nothing was changed")


def has_users(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether any local account exists (disabled ones too): then every page asks for a sign-in."""
    return con.cursor().execute("SELECT count(*) FROM users").fetchone()[0] > 0


def _row(cur, name: str):
    return cur.execute("SELECT name, role, teams, agent_id, password_hash, disabled_at FROM users WHERE name = ?",
                       [name]).fetchone()


def _in_transaction(con: duckdb.DuckDBPyConnection, work):
    cur = con.cursor()
    cur.execute("BEGIN TRANSACTION")
    try:
        out = work(cur)
        cur.execute("COMMIT")
        return out
    except BaseException:
        rollback(cur)
        raise
    finally:
        cur.close()


def add_user(con: duckdb.DuckDBPyConnection, name: str, role: str, password: str, settings: AuthSettings,
             teams: list[str] | tuple[str, ...] | None = None, agent_id: str | None = None, by: str | None = None,
             source: str = "cli") -> None:
    """Create a local account (the first one turns sign-in on for every page)."""
    name = _check_name(name)
    g = _grant(role, teams, agent_id)
    check_password(password, settings, name)
    hashed = _HASHER.hash(password)

    def work(cur):
        if _row(cur, name):
            raise AccountError(f"user {name} exists already; nothing was changed (users set-role or "
                               "users reset-password change it)")
        now = datetime.now()
        cur.execute("INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                    [name, g.role, list(g.teams) if g.teams else None, g.agent_id, hashed, now, now])
        record(cur, by, "user_added", name, {"role": g.role, "teams": list(g.teams or [])}, source)
    _in_transaction(con, work)


def _grant(role, teams, agent_id):
    try:
        return grant(role, teams, agent_id)
    except ValueError as exc:
        raise AccountError(f"{exc}; nothing was changed") from None


def _existing(cur, name: str):
    row = _row(cur, (name or "").strip())
    if row is None:
        raise AccountError(f"no user {name!r}; nothing was changed (users list shows them)")
    return row


def set_role(con: duckdb.DuckDBPyConnection, name: str, role: str, teams: list[str] | tuple[str, ...] | None = None,
             agent_id: str | None = None, by: str | None = None, source: str = "cli") -> None:
    """Give a user another role, teams or agent id (their next page run uses it)."""
    g = _grant(role, teams, agent_id)

    def work(cur):
        row = _existing(cur, name)
        cur.execute("UPDATE users SET role = ?, teams = ?, agent_id = ?, updated_at = ? WHERE name = ?",
                    [g.role, list(g.teams) if g.teams else None, g.agent_id, datetime.now(), row[0]])
        record(cur, by, "role_changed", row[0], {"role": g.role, "teams": list(g.teams or [])}, source)
    _in_transaction(con, work)


def set_disabled(con: duckdb.DuckDBPyConnection, name: str, disabled: bool, by: str | None = None,
                 source: str = "cli") -> None:
    """Disable a user (their open sessions end at their next page run) or enable them again."""
    def work(cur):
        row = _existing(cur, name)
        now = datetime.now()
        cur.execute("UPDATE users SET disabled_at = ?, updated_at = ? WHERE name = ?",
                    [now if disabled else None, now, row[0]])
        record(cur, by, "user_disabled" if disabled else "user_enabled", row[0], None, source)
    _in_transaction(con, work)


def reset_password(con: duckdb.DuckDBPyConnection, name: str, password: str, settings: AuthSettings,
                   by: str | None = None, source: str = "cli") -> None:
    """Set a new password; it also lifts a lock-out."""
    check_password(password, settings, (name or "").strip())
    hashed = _HASHER.hash(password)

    def work(cur):
        row = _existing(cur, name)
        cur.execute("UPDATE users SET password_hash = ?, updated_at = ? WHERE name = ?", [hashed, datetime.now(), row[0]])
        cur.execute("DELETE FROM sign_in_failures WHERE name = ?", [row[0]])
        record(cur, by, "password_reset", row[0], None, source)
    _in_transaction(con, work)


def list_users(con: duckdb.DuckDBPyConnection, now: datetime | None = None) -> pd.DataFrame:
    """Every account: name, role, teams, agent_id, disabled_at, locked_until (while locked), created_at, updated_at.
    Never the hash."""
    return con.cursor().execute(
        "SELECT u.name, u.role, u.teams, u.agent_id, u.disabled_at, "
        "CASE WHEN f.locked_until > ? THEN f.locked_until END AS locked_until, u.created_at, u.updated_at "
        "FROM users u LEFT JOIN sign_in_failures f USING (name) ORDER BY u.name", [now or datetime.now()]).df()


def _scope(row) -> Scope:
    name, role, teams, agent_id = row[:4]
    return Scope(role, frozenset(teams) if teams and role not in ("admin", "finance") else None, agent_id, name)


def account_scope(con: duckdb.DuckDBPyConnection, name: str) -> Scope | None:
    """A signed-in user's Scope as the database has it now; None once the account is disabled or removed."""
    row = _row(con.cursor(), name)
    return None if row is None or row[5] is not None else _scope(row)


def sign_in(con: duckdb.DuckDBPyConnection, name: str, password: str, settings: AuthSettings,
            now: datetime | None = None, source: str = "page") -> SignIn:
    """Check a name and password, counting failures per name typed (known or not): max_failures in a row lock the
    name for lock_minutes; beyond attempts_per_minute failures of all names together, every attempt waits a minute.
    Every attempt lands in the audit log."""
    now = now or datetime.now()
    name = (name or "").strip()[:MAX_NAME_LENGTH]

    def work(cur):
        fail = cur.execute("SELECT failures, last_failure_at, locked_until FROM sign_in_failures WHERE name = ?",
                           [name]).fetchone()
        if fail and fail[2] is not None and fail[2] > now:
            record(cur, name, "sign_in_failed", name, {"reason": "locked"}, source, now)
            return SignIn(None, "locked", 0, fail[2])
        recent = cur.execute("SELECT count(*) FROM audit_log WHERE action = 'sign_in_failed' AND happened_at > ?",
                             [now - timedelta(minutes=1)]).fetchone()[0]
        if recent >= settings.attempts_per_minute:
            record(cur, name, "sign_in_failed", name, {"reason": "throttled"}, source, now)
            return SignIn(None, "throttled")
        dummy = _dummy_hash()  # made before the look-up, so the first attempt costs the same for any name
        row = _row(cur, name) if name else None
        matches = _verify(row[4] if row else dummy, password) and row is not None
        if matches and row[5] is None:
            cur.execute("DELETE FROM sign_in_failures WHERE name = ?", [name])
            if _HASHER.check_needs_rehash(row[4]):  # hashed with an older cost: upgrade it now the password is known
                cur.execute("UPDATE users SET password_hash = ? WHERE name = ?", [_HASHER.hash(password), name])
            record(cur, name, "sign_in", name, {"method": "local"}, source, now)
            return SignIn(_scope(row))
        if matches:  # the right password of a disabled account: say so (no guess got it this far)
            record(cur, name, "sign_in_failed", name, {"reason": "disabled"}, source, now)
            return SignIn(None, "disabled")
        in_a_row = fail is not None and now - fail[1] <= timedelta(minutes=settings.lock_minutes)
        failures = (fail[0] if in_a_row else 0) + 1
        locked = now + timedelta(minutes=settings.lock_minutes) if failures >= settings.max_failures else None
        # names whose failures are over (not in a row any more, not locked): forgotten, so guesses don't pile up
        cur.execute("DELETE FROM sign_in_failures WHERE last_failure_at < ? AND coalesce(locked_until, ?) <= ?",
                    [now - timedelta(minutes=settings.lock_minutes), now, now])
        cur.execute("INSERT OR REPLACE INTO sign_in_failures VALUES (?, ?, ?, ?)",
                    [name, 0 if locked else failures, now, locked])
        record(cur, name, "sign_in_failed", name, {"reason": "locked" if locked else "bad"}, source, now)
        return SignIn(None, "locked" if locked else "bad", settings.max_failures - failures if not locked else 0, locked)
    return _in_transaction(con, work)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
