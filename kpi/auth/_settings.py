"""The site's access settings (access.yaml beside the database, or $KPI_ACCESS): password length, lock-out, idle
expiry, and who company sign-in (OIDC) lets in with which role and teams. Not a secret: the provider's client secret
lives in .streamlit/secrets.toml, which git ignores."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .access import ROLES, Scope
from ..store import resolve_db_path

ACCESS_FILE = "access.yaml"


class AccessConfigError(ValueError):
    """access.yaml can't be used: one line naming the file, the key and what was expected."""


@dataclass(frozen=True)
class Grant:
    """What a mapped person gets: a role, the teams they see (None: every team) and, for an agent, their agent id."""

    role: str
    teams: tuple[str, ...] | None = None
    agent_id: str | None = None

    def scope(self, user: str) -> Scope:
        return Scope(self.role, None if self.teams is None else frozenset(self.teams), self.agent_id, user)


@dataclass(frozen=True)
class AuthSettings:
    """Sign-in rules; every number can be set in access.yaml."""

    min_password_length: int = 12
    max_failures: int = 5  # failed sign-ins of one name in a row (each within lock_minutes of the last) lock it
    lock_minutes: float = 15.0
    idle_minutes: float = 30.0  # a session untouched this long is signed out
    attempts_per_minute: int = 30  # failed sign-ins of all names together, before every attempt waits a minute
    groups_claim: str = "groups"  # the ID token's claim holding the person's groups
    emails: Mapping[str, Grant] = field(default_factory=dict)  # lower-case e-mail -> grant (wins over groups)
    groups: Mapping[str, Grant] = field(default_factory=dict)  # group -> grant, the first listed that matches wins
    path: Path | None = None  # the file read, None when there is none


NUMBERS = {"min_password_length": int, "max_failures": int, "lock_minutes": float, "idle_minutes": float,
           "attempts_per_minute": int}


def access_file(db: str | os.PathLike | None = None) -> Path:
    """$KPI_ACCESS, else access.yaml in the database file's folder (data/access.yaml by default: git ignores data/)."""
    if os.environ.get("KPI_ACCESS"):
        return Path(os.environ["KPI_ACCESS"])
    return resolve_db_path(db).parent / ACCESS_FILE


def load_settings(path: str | os.PathLike | None = None, db: str | os.PathLike | None = None) -> AuthSettings:
    """The settings of access.yaml (path, else access_file(db)); the defaults when there is no such file."""
    path = Path(path) if path else access_file(db)
    if not path.is_file():
        return AuthSettings()
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise AccessConfigError(f"{path}: not readable YAML ({str(exc).splitlines()[0]})") from exc
    if not isinstance(doc, dict):
        raise AccessConfigError(f"{path}: expected keys such as idle_minutes or oidc, found {type(doc).__name__}")
    unknown = set(doc) - set(NUMBERS) - {"oidc"}
    if unknown:
        raise AccessConfigError(f"{path}: unknown key {sorted(unknown)[0]!r} (expected one of "
                                f"{', '.join([*NUMBERS, 'oidc'])})")
    values: dict[str, Any] = {}
    for key, kind in NUMBERS.items():
        if key in doc:
            value = doc[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0 \
                    or (kind is int and value != int(value)):
                raise AccessConfigError(f"{path}: {key} must be a positive {'whole ' if kind is int else ''}number, "
                                        f"found {value!r}")
            values[key] = kind(value)
    oidc = doc.get("oidc") or {}
    if not isinstance(oidc, dict) or set(oidc) - {"groups_claim", "emails", "groups"}:
        raise AccessConfigError(f"{path}: oidc takes groups_claim, emails and groups")
    if "groups_claim" in oidc:
        values["groups_claim"] = str(oidc["groups_claim"])
    values["emails"] = {str(k).strip().lower(): _grant(path, f"oidc.emails.{k}", v)
                        for k, v in (oidc.get("emails") or {}).items()}
    values["groups"] = {str(k): _grant(path, f"oidc.groups.{k}", v) for k, v in (oidc.get("groups") or {}).items()}
    return AuthSettings(**values, path=path)


def _grant(path: Path, where: str, entry: Any) -> Grant:
    if not isinstance(entry, dict) or "role" not in entry or set(entry) - {"role", "teams", "agent_id"}:
        raise AccessConfigError(f"{path}: {where} must be {{role: ROLE, teams: [TEAM, ...], agent_id: ID}}, "
                                f"found {entry!r}")
    try:
        return grant(entry["role"], entry.get("teams"), entry.get("agent_id"))
    except ValueError as exc:
        raise AccessConfigError(f"{path}: {where}: {exc}") from exc


def grant(role: str, teams: Any = None, agent_id: str | None = None) -> Grant:
    """A role with its teams and agent id, checked: a supervisor or trainer needs teams, an agent an agent id;
    admin and finance see every team."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r} (expected one of {', '.join(ROLES)})")
    if isinstance(teams, str):
        teams = [teams]
    teams = tuple(dict.fromkeys(str(t).strip() for t in (teams or []) if str(t).strip())) or None
    if role in ("supervisor", "trainer") and not teams:
        raise ValueError(f"a {role} needs at least one team (--team TEAM)")
    if role == "agent" and not agent_id:
        raise ValueError("an agent needs their agent id (--agent-id ID)")
    if role in ("admin", "finance"):
        teams = None  # they see every team: a list here would be ignored, so none is kept
    return Grant(role, teams, str(agent_id).strip() if agent_id else None)


def scope_for_identity(claims: Mapping[str, Any], settings: AuthSettings) -> Scope | None:
    """The Scope company sign-in gives a person (their ID token's claims), or None when access.yaml does not name
    them: by e-mail first (unless the provider says it is unverified), else by the first listed group they are in."""
    email = str(claims.get("email") or "").strip().lower()
    user = email or str(claims.get("preferred_username") or claims.get("sub") or "")
    if email and claims.get("email_verified") is not False and email in settings.emails:
        return settings.emails[email].scope(user)
    held = claims.get(settings.groups_claim) or []
    held = {held} if isinstance(held, str) else {str(g) for g in held}
    for group, g in settings.groups.items():
        if group in held:
            return g.scope(user)
    return None
