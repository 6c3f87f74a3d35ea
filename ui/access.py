"""The signed-in user's scope as pages reach it (kpi.access.Scope). ui.auth puts it in the session at sign-in."""
from __future__ import annotations

import streamlit as st

from kpi.access import Scope

SESSION_KEY = "scope"  # set by the sign-in (ui.auth) for the session's user


def current_scope() -> Scope:
    """The session's Scope; Scope.everything() while no user is signed in because none is defined (one person on
    this computer: ui.auth shows the sign-in form instead of any page once a user exists)."""
    scope = st.session_state.get(SESSION_KEY)
    return scope if isinstance(scope, Scope) else Scope.everything()
