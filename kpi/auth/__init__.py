"""Who may sign in and what they did: local accounts (argon2, lock-out, throttling), the access settings and company
sign-in's mapping of people to roles (access.yaml), and the audit log. No Streamlit here: ui draws the sign-in."""
from ._audit import (ACTIONS, AUDIT_COLUMNS, FAILURES, METHODS, SOURCES, audit_log, describe, os_user, readable_audit,
                     record)
from ._settings import (ACCESS_FILE, AccessConfigError, AuthSettings, Grant, access_file, grant, load_settings,
                        scope_for_identity)
from ._users import (MAX_NAME_LENGTH, AccountError, SignIn, account_scope, add_user, check_password, has_users, list_users,
                     reset_password, set_disabled, set_role, sign_in)

__all__ = ["ACTIONS", "AUDIT_COLUMNS", "FAILURES", "METHODS", "SOURCES", "audit_log", "describe", "os_user",
           "readable_audit", "record", "ACCESS_FILE", "AccessConfigError", "AuthSettings", "Grant", "access_file",
           "grant", "load_settings", "scope_for_identity", "MAX_NAME_LENGTH", "AccountError", "SignIn", "account_scope", "add_user",
           "check_password", "has_users", "list_users", "reset_password", "set_disabled", "set_role", "sign_in",
           "session_expired"]


def session_expired(last_seen, now, settings: AuthSettings) -> bool:
    """Whether a session last used at last_seen has been idle longer than settings.idle_minutes at now."""
    return last_seen is None or (now - last_seen).total_seconds() > settings.idle_minutes * 60
