"""Who may see which rows (issue 15): a user's Scope (kpi.auth.access) as SQL, so rows out of reach never leave DuckDB.

Every query function of kpi.metrics takes `scope` (None: everything, as the CLI run by the file's owner) and narrows
its rows here:

- a scope with teams keeps rows of those teams only, whatever team the caller asks for: a team filter outside the
  scope gives no rows (the intersection), never more;
- an agent sees their own rows at agent grain, their own team's at team grain or with a team filter, and otherwise
  the centre's aggregates (to compare themselves with), never a colleague's rows;
- a role without agent-level rows (finance) is refused agent grain and agent lists (OutOfScope); comments are left
  out for a role without them; the budget is refused to a role without it.
"""
from __future__ import annotations

from typing import Any

from ..auth.access import Scope

__all__ = ["OutOfScope", "require", "row_clauses", "scope_values", "may_see_comments"]


class OutOfScope(ValueError):
    """Something the user's role does not reach was asked for. `what` is a key of kpi.auth.access.ROLES (agent_rows,
    budget, ...), `role` the role: pages say it in the reader's language (message scope.refused.<what>)."""

    def __init__(self, what: str, scope: Scope) -> None:
        self.what, self.role = what, scope.role
        super().__init__(f"the role {scope.role!r} may not see {_WHAT.get(what, what)}")


_WHAT = {"agent_rows": "agent-level rows (ask for team level)", "budget": "the budget", "comments": "survey comments",
         "supervise": "the supervisor pages", "coach": "the coaching page", "imports": "imports"}


def require(scope: Scope | None, what: str) -> None:
    """OutOfScope unless the scope's role may `what` (None: everything may)."""
    if scope is not None and not scope.can(what):
        raise OutOfScope(what, scope)


def may_see_comments(scope: Scope | None) -> bool:
    """Whether survey comments reach this scope (they are left out, not refused, for a role without them)."""
    return scope is None or scope.can("comments")


def row_clauses(scope: Scope | None, dims: dict[str, str], by: str | None = None, team: str | None = None) -> list[str]:
    """SQL conditions keeping a dataset's rows within the scope (parameters: scope_values), for a query grouped by
    `by` with team filter `team`. A dataset without the dimension a condition needs gives no rows."""
    if scope is None:
        return []
    if by == "agent":
        require(scope, "agent_rows")
    clauses = []
    if scope.role == "agent" and by == "agent":  # their own row, no colleague's
        clauses.append(f"{dims['agent']} = $scope_agent" if "agent" in dims and scope.agent_id else "false")
    # An agent compares with the centre: only a team grain or filter narrows their aggregates to their own team.
    if scope.teams is not None and (scope.role != "agent" or by in ("team", "agent") or team is not None):
        clauses.append(f"list_contains($scope_teams::VARCHAR[], {dims['team']})" if "team" in dims else "false")
    return clauses


def scope_values(scope: Scope | None) -> dict[str, Any]:
    """The parameters row_clauses' conditions bind."""
    return {"scope_teams": sorted((scope.teams if scope else None) or ()), "scope_agent": scope.agent_id if scope else None}
