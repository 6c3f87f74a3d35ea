"""How pages reach the database: briefly, read-only, cached by the database's last import, and always within the
signed-in user's scope (ui.access): a kpi function that takes `scope` gets the session's."""
from __future__ import annotations

import inspect
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable

import streamlit as st

from kpi import auth, imports, metrics, store

from .access import current_scope
from .i18n import t


def db_path() -> str:
    """The database the dashboard reads ($KPI_DB, else data/kpi.duckdb)."""
    return str(store.resolve_db_path())


@st.cache_resource
def _prepared() -> tuple[threading.Lock, set[str]]:
    """The files this process has made ready (a resource: st.cache_resource.clear() forgets them, as tests need)."""
    return threading.Lock(), set()


def ensure_database(path: str) -> str:
    """Create the file and load sample_data/ when there is none or it holds no data; once per process and file.

    An existing file is only ever opened read-only here: the dashboard shows a read-only file or disk as it is. The
    first start's sample load shows its progress (a bar drawn by a cached function would be replayed on every later
    call, so this one is not cached; the set of prepared files is)."""
    lock, ready = _prepared()
    if path in ready:
        return path
    with lock:  # a second visitor during the first start waits for the same load
        if path not in ready:
            if Path(path).exists():
                with store.open_db(path, read_only=True) as con:
                    empty = sum(store.row_counts(con).values()) == 0
            else:
                empty = True
            if empty:
                _load_sample(path)
            ready.add(path)
    return path


def _load_sample(path: str) -> None:
    names = [ds for ds, _, _ in imports.sample_files()]
    bar = st.progress(0.0, text=t("sample.loading", dataset=t(f"ds.{names[0]}"), n=1, total=len(names)))

    def show(fraction: float, dataset: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=t("sample.loading", dataset=t(f"ds.{dataset}"),
                                                          n=names.index(dataset) + 1, total=len(names)))
    imports.load_sample_data(path, progress=show, centre_zone=metrics.centre_zone())
    bar.empty()


_VERSIONS: dict[str, tuple[tuple, tuple[int, str]]] = {}  # path -> (file stamp, data version read under it)
_USERS: dict[str, bool] = {}  # path -> whether it has accounts, read with its data version


def data_version(path: str) -> tuple[int, str]:
    """Changes with every import, undo or saved report; cached results are keyed on it, so new data shows on the next
    rerun. Read from the file only when the file's stamp moved: opening DuckDB took 20-100 ms of every page run."""
    stamp = store.file_stamp(path)
    known = _VERSIONS.get(path)
    if known is not None and known[0] == stamp:
        return known[1]
    with store.open_db(path, read_only=True) as con:
        version = store.data_version(con)
        _USERS[path] = auth.has_users(con)  # every run's sign-in asks: read in the same open, not one of its own
    _VERSIONS[path] = (stamp, version)  # a write after the stamp was taken moves it again: read anew next time
    return version


def has_users(path: str) -> bool:
    """Whether the database holds accounts (then every page needs a sign-in); read only when the file changed."""
    if not Path(path).exists():
        return False
    data_version(path)
    return _USERS[path]


def begin_run() -> None:
    """Read the data version once for this run (opening the file costs ~20 ms; a page makes a dozen queries)."""
    st.session_state["_data_version"] = data_version(ensure_database(db_path()))


def end_run() -> None:
    """Forget this run's data version."""
    st.session_state.pop("_data_version", None)


def _version(path: str) -> tuple[int, str]:
    if "_data_version" in st.session_state:
        return st.session_state["_data_version"]
    # Only a page run without the entry script gets here (AppTest re-runs and switch_page; a served app always runs
    # dashboard.py first): read the version at each query, correct if slower.
    return data_version(path)


@st.cache_data(show_spinner=False, max_entries=512)
def _cached(name: str, path: str, version: tuple[int, str], args: tuple, kwargs: tuple, _fn: Callable) -> Any:
    # The connection is opened per call and closed at once: while the dashboard holds the file,
    # a nightly `python -m kpi ingest` could not write it.
    with store.open_db(path, read_only=True) as con:
        return _fn(con, *args, **dict(kwargs))


def _scoped(fn: Callable, kwargs: dict[str, Any]) -> dict[str, Any]:
    """kwargs with the session's scope for a function that takes one. Always the session's: a page can't widen it."""
    if "scope" in inspect.signature(fn).parameters:
        return {**kwargs, "scope": current_scope()}
    return kwargs


def query(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """fn(connection, *args, **kwargs) from a kpi module, within the session's scope, cached until the data changes
    (the scope is part of the cache key: one user's results never serve another's)."""
    kwargs = _scoped(fn, kwargs)
    path = ensure_database(db_path())
    call = (f"{fn.__module__}.{fn.__qualname__}", args, tuple(sorted(kwargs.items())))
    _warmer(path).used(call, fn)
    return _cached(call[0], path, _version(path), call[1], call[2], fn)


class Warmer:
    """After the data changes (an import, also `python -m kpi ingest` from cron; an undo; a saved report), recomputes
    the queries pages made lately, the most used first (the pages' default views), so the next visitors find them
    cached instead of each waiting for all of a page's queries. A thread looks at the file's stamp every POLL seconds
    (a stat; the file is opened only when the stamp moved). The first visitor after a change may still run some
    queries: a query being computed for one caller makes the others wait for it (Streamlit's per-key lock), it never
    runs twice."""

    POLL = 2.0
    KEEP = 150  # queries remembered: a few pages in a few filter states

    def __init__(self, path: str, start: bool = True):
        self.path = path
        self._recent: OrderedDict[str, tuple[tuple, Callable, int]] = OrderedDict()  # repr(call) -> call, fn, uses
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.version: tuple[int, str] | None = None
        if start:
            threading.Thread(target=self._watch, name="kpi-cache-warmer", daemon=True).start()

    def used(self, call: tuple, fn: Callable) -> None:
        key = repr(call)
        with self._lock:
            uses = self._recent.pop(key, (None, None, 0))[2]
            self._recent[key] = (call, fn, uses + 1)  # now the most recent
            while len(self._recent) > self.KEEP:
                self._recent.popitem(last=False)

    def check(self) -> int:
        """One look at the file: when its data version moved, recompute the remembered queries; how many were."""
        try:
            version = data_version(self.path)
        except Exception:  # noqa: BLE001  (a file being replaced or locked: look again next time)
            return 0
        if self.version is None or version == self.version:
            self.version = version
            return 0
        self.version = version
        with self._lock:  # the most used first (a page's default view), then the most recent
            calls = sorted(reversed(self._recent.values()), key=lambda c: -c[2])
        done = 0
        for (name, args, kwargs), fn, _ in calls:
            if self._stop.is_set() or data_version(self.path) != version:
                break  # stopped, or changed again: the next look warms for the newer data
            try:
                _cached(name, self.path, version, args, kwargs, fn)
                done += 1
            except Exception:  # noqa: BLE001  (a query that fails now fails for its visitor too, who sees why)
                pass
        return done

    def _watch(self) -> None:
        while not self._stop.wait(self.POLL):
            self.check()

    def stop(self) -> None:
        self._stop.set()


@st.cache_resource(show_spinner=False, on_release=lambda warmer: warmer.stop())
def _warmer(path: str) -> Warmer:
    """One warmer per database file and process."""
    return Warmer(path)


def write(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """fn(connection, *args, **kwargs) on a briefly opened writable connection, within the session's scope; cached
    reads see it on the next run."""
    kwargs = _scoped(fn, kwargs)
    with store.open_db(ensure_database(db_path())) as con:
        result = fn(con, *args, **kwargs)
        if "_data_version" in st.session_state:  # later queries of this run see the change
            st.session_state["_data_version"] = store.data_version(con)
        return result


def read(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """fn(connection, *args, **kwargs) on a briefly opened read-only connection within the session's scope, not cached
    (for one-off reads: a report)."""
    kwargs = _scoped(fn, kwargs)
    with store.open_db(ensure_database(db_path()), read_only=True) as con:
        return fn(con, *args, **kwargs)


def refresh_version() -> None:
    """After a write outside `write()` (an import): later queries of this run see the new data."""
    if "_data_version" in st.session_state:
        st.session_state["_data_version"] = data_version(ensure_database(db_path()))
