"""Sign-in before any page once a user exists (local accounts, or company sign-in through st.login), the sidebar's
name, role and sign-out, idle expiry, and the quiet banner of the single-user mode. kpi.auth decides; this draws."""
from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from datetime import datetime

import streamlit as st

from kpi import auth, present, store
from kpi.auth.access import Scope

from .access import SESSION_KEY, SIGNED_OUT, current_scope
from .data import db_path, has_users, write
from .i18n import t

_SEEN = "_auth_seen"  # when the signed-in session last ran a page (idle expiry)
_METHOD = "_auth_method"  # how the session signed in: local or oidc
_FLASH = "_auth_flash"  # what the sign-in form says first (after an idle sign-out or a sign-out)
_REFUSED = "_auth_refused"  # an unmapped company account already written to the audit log this session


@dataclass(frozen=True)
class Mode:
    """Whether pages need a sign-in: once a local account exists or company sign-in is configured."""

    users: bool
    providers: tuple[str, ...]  # st.login providers configured in .streamlit/secrets.toml ("default": [auth] itself)

    @property
    def required(self) -> bool:
        return self.users or bool(self.providers)


_ACCOUNTS: dict[tuple[str, str], tuple[tuple, Scope | None]] = {}  # (database, user) -> (file stamp, scope)


def _account(path: str, name: str) -> Scope | None:
    """The signed-in user's Scope as the database has it, read again only when the file changed (a stat costs
    microseconds, opening the file 20-100 ms)."""
    stamp = store.file_stamp(path)
    known = _ACCOUNTS.get((path, name))
    if known is None or known[0] != stamp:
        with store.open_db(path, read_only=True) as con:
            known = (stamp, auth.account_scope(con, name))
        _ACCOUNTS[(path, name)] = known
    return known[1]


def _providers() -> tuple[str, ...]:
    """The company sign-in providers .streamlit/secrets.toml configures: "default" for a flat [auth] section, else
    the name of each [auth.NAME] section."""
    try:
        section = st.secrets.get("auth")
    except FileNotFoundError:  # no secrets file at all
        return ()
    if not section:
        return ()
    if "client_id" in section:
        return ("default",)
    return tuple(k for k, v in section.items() if hasattr(v, "get") and v.get("client_id"))


def settings() -> auth.AuthSettings:
    """access.yaml beside the database (or $KPI_ACCESS)."""
    return auth.load_settings(db=db_path())


def actor() -> str:
    """Who acts in this session, for imports, undos, reports and the audit log: the signed-in user, else "dashboard"
    (the single-user mode)."""
    return current_scope().user or "dashboard"


def _client_ip() -> str | None:
    ip = st.context.ip_address
    return ip if isinstance(ip, str) else None  # None: localhost, or no browser behind the session (AppTest)


def _local_visitor() -> bool:
    """Whether the browser runs on this computer (Streamlit reports no address for localhost). Behind a reverse proxy
    on this computer every visitor looks local: the README shares the dashboard only once users exist."""
    ip = _client_ip()
    if not ip:
        return True
    try:
        address = ipaddress.ip_address(ip.split("%")[0])
    except ValueError:
        return False
    return (getattr(address, "ipv4_mapped", None) or address).is_loopback  # ::ffff:127.0.0.1 too


@dataclass(frozen=True)
class Gate:
    """Whether a page may be drawn, and what to draw for the sign-in (the form, the "ask your administrator" page, why
    nothing can be shown, or the sidebar's name, role and sign-out). draw() comes after st.navigation: widgets drawn
    before it change their ids between a session's first and second run, which lost the first click."""

    open: bool
    draw: Callable[[], None]


def sign_in_gate() -> Gate:
    """Open when someone is signed in, or no sign-in is needed (no user defined, and the visitor is on this computer);
    otherwise closed, and its draw() shows what to do instead of a page."""
    from .widgets import database_problem

    path = db_path()
    try:
        mode = Mode(has_users(path), _providers())
        if not mode.required:
            if not _local_visitor():  # served on the network with nobody defined: nobody may look
                return Gate(False, lambda: _refusal(t("auth.local_only")))
            return Gate(True, lambda: st.sidebar.caption(t("auth.banner")))
        rules = settings()
        scope = _session_scope(mode, rules, path)
    except store.StoreError as exc:  # can't tell who may look: show nothing but why
        return Gate(False, partial(database_problem, exc))
    except auth.AccessConfigError as exc:
        return Gate(False, partial(_refusal, t("auth.config_error", error=exc)))
    if scope is None:
        return Gate(False, lambda: _sign_in_form(mode, rules))
    return Gate(True, lambda: _sidebar_account(scope))


def _refusal(message: str) -> None:
    st.title(t("auth.title"))
    st.error(message)


def _session_scope(mode: Mode, rules: auth.AuthSettings, path: str) -> Scope | None:
    """The session's user as the database and access.yaml have them now, None when a sign-in is needed; an idle
    session is signed out here."""
    now = datetime.now()
    scope, method = st.session_state.get(SESSION_KEY), st.session_state.get(_METHOD)
    if isinstance(scope, Scope) and method and auth.session_expired(st.session_state.get(_SEEN), now, rules):
        _sign_out(scope, "session_expired", {"minutes": f"{rules.idle_minutes:g}"})
        st.session_state[_FLASH] = ("info", t("auth.expired", minutes=f"{rules.idle_minutes:g}"))
        if method == "oidc":
            st.logout()
        return None
    if method == "local" and isinstance(scope, Scope):
        scope = _account(path, scope.user)  # disabled since, or given another role: the database decides
    elif mode.providers and st.user.is_logged_in:
        scope = _company_scope(rules)
    else:
        scope = None
    if scope is None:
        _forget()
        return None
    st.session_state[SESSION_KEY], st.session_state[_SEEN] = scope, now
    return scope


def _company_scope(rules: auth.AuthSettings) -> Scope | None:
    claims = st.user.to_dict()
    scope = auth.scope_for_identity(claims, rules)
    who = str(claims.get("email") or claims.get("sub") or "")
    if scope is None:
        if st.session_state.get(_REFUSED) != who:
            write(auth.record, who, "access_refused", who, None, "page")
            st.session_state[_REFUSED] = who
        st.session_state[_FLASH] = ("unmapped", who)
        return None
    if st.session_state.get(_METHOD) != "oidc":  # this session's first run signed in: once in the log
        write(auth.record, scope.user, "sign_in", scope.user, {"method": "oidc"}, "page")
        st.session_state[_METHOD] = "oidc"
    return scope


def _forget() -> None:
    for key in (SESSION_KEY, _SEEN, _METHOD):
        st.session_state.pop(key, None)


def _sign_out(scope: Scope, action: str, detail: dict | None = None) -> None:
    """Sign out (a click, or an idle session): nothing the user chose or typed stays in the tab for whoever signs in
    next (filters, an unsaved improvement report: widgets keep their values for the session), only its language."""
    write(auth.record, scope.user, action, scope.user, detail, "page")
    for key in list(st.session_state):
        if key != "lang":
            del st.session_state[key]
    st.session_state[SIGNED_OUT] = True


def _message(result: auth.SignIn, rules: auth.AuthSettings) -> str:
    if result.reason == "locked":
        return t("auth.locked", max=rules.max_failures, until=f"{result.locked_until:%Y-%m-%d %H:%M}")
    if result.reason == "bad":
        return t("auth.bad", left=result.attempts_left, minutes=f"{rules.lock_minutes:g}")
    return t(f"auth.{result.reason}")


def _sign_in_form(mode: Mode, rules: auth.AuthSettings) -> None:
    flash = st.session_state.get(_FLASH)
    if flash and flash[0] == "unmapped":  # signed in at the company, but access.yaml does not name them
        st.title(t("auth.unmapped_title"))
        st.warning(t("auth.unmapped", email=flash[1] or "—"))
        if st.button(t("auth.sign_out"), key="auth_refused_sign_out"):
            st.session_state.pop(_FLASH, None)
            st.logout()
        return
    st.session_state.pop(_FLASH, None)
    st.title(t("auth.title"))
    st.caption(t("auth.intro"))
    if flash:
        st.info(flash[1])
    for provider in mode.providers:
        label = t("auth.oidc") if provider == "default" else t("auth.oidc_named", provider=provider)
        if st.button(label, key=f"auth_oidc_{provider}", type="primary"):
            st.login() if provider == "default" else st.login(provider)
    if not mode.users:
        return
    if mode.providers:
        st.caption(t("auth.local_below"))
    with st.form("auth_sign_in", clear_on_submit=True, enter_to_submit=True):
        name = st.text_input(t("auth.name"), key="auth_name", max_chars=auth.MAX_NAME_LENGTH)
        password = st.text_input(t("auth.password"), type="password", key="auth_password")
        submitted = st.form_submit_button(t("auth.submit"), type="primary")
    if not submitted:
        return
    if not name.strip() or not password:
        st.error(t("auth.empty"))
        return
    result = write(auth.sign_in, name, password, rules)
    if not result.ok:
        st.error(_message(result, rules))
        return
    st.session_state[SESSION_KEY], st.session_state[_METHOD] = result.scope, "local"
    st.session_state[_SEEN] = datetime.now()
    st.rerun()


def _sidebar_account(scope: Scope) -> None:
    name = present.markdown_literal(scope.user or "")  # a name, never markdown
    st.sidebar.markdown(t("auth.signed_in_as", name=name, role=t(f"role.{scope.role}")))
    if st.sidebar.button(t("auth.sign_out"), key="auth_sign_out", icon=":material/logout:"):
        method = st.session_state.get(_METHOD)
        _sign_out(scope, "sign_out")
        st.session_state[_FLASH] = ("info", t("auth.signed_out"))
        if method == "oidc":
            st.logout()
        st.rerun()


def audited(build: Callable[[], bytes], file_name: str) -> Callable[[], bytes]:
    """A download's builder that also writes who downloaded what to the audit log when it runs (on the click, outside
    the page's run: the user and database are taken now)."""
    user, path = actor(), db_path()

    def run() -> bytes:
        data = build()
        try:
            with store.open_db(path) as con:
                auth.record(con, user, "export", file_name, {"file": file_name}, "page")
        except store.StoreError as exc:
            if exc.code != "read_only":  # a read-only database (docs/operations.md) has no log to write: still serve
                raise
        return data
    return run
