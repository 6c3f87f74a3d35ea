"""Who may see what (issue 15): the roles, declared once, and the scope every query and export takes (kpi.auth.access:
the one module of kpi.auth that every room may import; it imports nothing of kpi).

The interface the sign-in (kpi.auth, ui) and the enforcement (kpi.metrics, kpi.reports, exports) share. A page never
decides what a role may see: it passes the signed-in user's Scope to the kpi functions, which narrow their rows."""
from __future__ import annotations

from dataclasses import dataclass

# What each role may do and see. Pages, the CLI and exports read this table; nothing else names a role.
ROLES: dict[str, dict[str, bool]] = {
    #             supervisor pages, coaching, budget, agent-level rows, survey comments, import/undo, users, targets
    "admin":      dict(supervise=True,  coach=True,  budget=True,  agent_rows=True,  comments=True,  imports=True,  users=True,  targets=True),
    "supervisor": dict(supervise=True,  coach=True,  budget=False, agent_rows=True,  comments=True,  imports=False, users=False, targets=False),
    "finance":    dict(supervise=True,  coach=False, budget=True,  agent_rows=False, comments=False, imports=False, users=False, targets=False),
    "trainer":    dict(supervise=False, coach=True,  budget=False, agent_rows=True,  comments=False, imports=False, users=False, targets=False),
    "agent":      dict(supervise=False, coach=False, budget=False, agent_rows=True,  comments=False, imports=False, users=False, targets=False),
}


@dataclass(frozen=True)
class Scope:
    """A user's reach: their role, the teams they may see (None: every team) and, for an agent, their own id."""

    role: str
    teams: frozenset[str] | None = None
    agent_id: str | None = None
    user: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r} (expected one of {', '.join(ROLES)})")

    @classmethod
    def everything(cls, user: str | None = None) -> "Scope":
        """One person on this computer with no users defined, and the CLI run by the file's owner: everything."""
        return cls("admin", None, None, user)

    def can(self, what: str) -> bool:
        """Whether the role may do `what` (a key of ROLES' rows)."""
        return ROLES[self.role][what]

    def sees_team(self, team: str | None) -> bool:
        """Whether rows of `team` are within reach."""
        return self.teams is None or team in self.teams
