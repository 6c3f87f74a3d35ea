"""The signed-in user's scope as pages reach it. Pages never decide what a role may see: ui.data passes this scope to
every kpi function that takes one (kpi narrows the rows), and a page only asks whether to lay out a part at all."""
from __future__ import annotations

import streamlit as st

from kpi.auth.access import Scope

from .i18n import t

SESSION_KEY = "scope"  # set by the sign-in (ui.auth) for the session's user
SIGNED_OUT = "_signed_out"  # set by a sign-out: the tab's next sign-in is not told of the page the last user left
OWN = "own"  # what the page of one's own numbers needs: a user linked to an agent id (kpi.auth.access.Scope.agent_id)


def allows(scope: Scope, what: str | None) -> bool:
    """Whether a scope may `what`: a key of kpi.auth.access.ROLES, OWN, or None (anyone)."""
    if what is None:
        return True
    return scope.agent_id is not None if what == OWN else scope.can(what)


def current_scope() -> Scope:
    """The session's Scope; Scope.everything() while no user is signed in because none is defined (one person on
    this computer: ui.auth shows the sign-in form instead of any page once a user exists; a page run without it, when
    the file has users, shows nothing). Only a Scope object
    counts: anything else under the key (a widget or a crafted value) is refused, never read as more."""
    scope = st.session_state.get(SESSION_KEY)
    if scope is None:
        from .data import db_path, has_users  # (ui.data reads scopes from here)
        if has_users(db_path()):  # accounts exist and nobody signed in: a page run without the entry's sign-in
            st.info(t("auth.intro"))
            st.stop()
        return Scope.everything()
    if not isinstance(scope, Scope):
        st.error(t("access.bad_session"))
        st.stop()
    return scope


def can(what: str) -> bool:
    """Whether the session's user may `what` (a key of kpi.auth.access.ROLES, or OWN)."""
    return allows(current_scope(), what)


def refused(what: str) -> None:
    """Say that the session's role does not reach `what`, in the reader's language."""
    st.info(t(f"access.refused.{what}", role=t(f"role.{current_scope().role}")))


def require(what: str) -> None:
    """Stop the page with a clear message unless the session's role may `what`: a page opened by its URL, or run on
    its own, shows nothing it should not."""
    if not can(what):
        st.title(t("access.refused_title"))
        refused(what)
        st.stop()
