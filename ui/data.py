"""How pages reach the database: briefly, read-only, cached by the database's last import, and always within the
signed-in user's scope (ui.access): a kpi function that takes `scope` gets the session's."""
from __future__ import annotations

import inspect
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Collection

import streamlit as st

from kpi import auth, imports, metrics, store

from .access import current_scope
from .i18n import t


def db_path() -> str:
    """The database the dashboard reads ($KPI_DB, else data/kpi.duckdb)."""
    return str(store.resolve_db_path())


@st.cache_resource
def _prepared() -> tuple[threading.Lock, set[str], dict[str, list[str]]]:
    """The files this process has made ready, and the sample datasets a file made ready for its first page still
    waits for (a resource: st.cache_resource.clear() forgets them, as tests need)."""
    return threading.Lock(), set(), {}


def ensure_database(path: str, first: Collection[str] | None = None, into=None) -> str:
    """Create the file and load sample_data/ when there is none or it holds no data; once per process and file.

    first: the datasets the page about to run reads (ui.frame.FIRST_DATA), loaded now; the sample's other files wait
    for finish_database, after the page is drawn. None: the whole sample (or what a stopped load left to do).
    into: where the load's progress bar goes (an st.empty slot), else where the run is.

    An existing file is opened writable only to finish a first start's sample load that was stopped part-way (one that
    can't be written is shown as it is); the dashboard shows a read-only file or disk as it is. The first start's
    sample load shows its progress (a bar drawn by a cached function would be replayed on every later
    call, so this one is not cached; the set of prepared files is)."""
    lock, ready, waiting = _prepared()
    if path in ready:
        return path
    if first is not None and not set(waiting.get(path, first)) & set(first):
        return path  # the page's datasets are in: the rest waits for finish_database
    # Before waiting: a visitor holding the file read-only would keep the loading visitor from opening it writable
    _release_held()
    with lock:  # a second visitor during the first start waits for the same load
        if path in ready:
            return path
        existed = Path(path).exists()
        if path not in waiting:
            if existed:
                with store.open_db(path, read_only=True) as con:
                    waiting[path] = imports.sample_pending(con)
            else:
                waiting[path] = imports.sample_pending(None)
        now = [ds for ds in waiting[path] if first is None or ds in first]
        try:
            if now:
                _load_sample(path, now, into)
        except store.StoreError:
            if not existed or len(now) == len(imports.sample_files()):
                waiting.pop(path, None)
                raise  # a new file that can't be made or written: the page says why
            ready.add(path)  # what a stopped first start left, on a file that can't be written now: shown as it is
            waiting.pop(path, None)
            return path
        except BaseException:
            waiting.pop(path, None)  # stopped part-way (a click, a closed tab): the next run asks the file what is left
            raise
        waiting[path] = [ds for ds in waiting[path] if ds not in now]
        if not waiting[path]:
            ready.add(path)
            del waiting[path]
    return path


def finish_database() -> None:
    """After a page drawn with only its first datasets (ensure_database(first=)): load the rest of the sample, its bar
    above the page (in the slot begin_run kept there; below a long page nobody saw it). A visitor's click meanwhile
    stops the run between two steps; each file is its own transaction, so what was not loaded is loaded by the next
    run."""
    ensure_database(db_path(), into=st.session_state.get("_rest_slot"))


def _run_path() -> str:
    """The database as this run needs it: as begin_run left it (on a first start, the page's datasets loaded)."""
    return ensure_database(db_path(), st.session_state.get("_first_data"))


def _load_sample(path: str, datasets: list[str], into=None) -> None:
    names = [ds for ds, _, _ in imports.sample_files()]
    bar = (st if into is None else into).progress(
        0.0, text=t("sample.loading", dataset=t(f"ds.{datasets[0]}"), n=names.index(datasets[0]) + 1, total=len(names)))

    def show(fraction: float, dataset: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=t("sample.loading", dataset=t(f"ds.{dataset}"),
                                                          n=names.index(dataset) + 1, total=len(names)))
    imports.load_sample_data(path, progress=show, centre_zone=metrics.centre_zone(), datasets=datasets)
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


_OPEN: dict["RunConnection", threading.Thread] = {}  # the run connections open in this process, with their thread
_OPEN_LOCK = threading.Lock()


class RunConnection:
    """The read-only connection of one page run, opened at its first cache miss and closed when the run ends: one open
    of the file per run, not one per query (an open and close cost 35-50 ms at 100M contacts, and the quality page
    makes eleven queries). A writer in another process (a nightly `python -m kpi ingest`) waits for the run, not for
    the session; a write in this run (an import, an undo, a saved report) closes it first (store.before_writable_open),
    since a process can't hold the file read-only and writable at once."""

    def __init__(self, path: str):
        self.path = path
        self._opened = None
        self._con = None

    def get(self):
        if self._con is None:
            self._opened = store.open_db(self.path, read_only=True)
            self._con = self._opened.__enter__()
            with _OPEN_LOCK:
                _OPEN[self] = threading.current_thread()
        return self._con

    def close(self) -> None:
        if self._opened is not None:
            self._opened.__exit__(None, None, None)
        self._opened = self._con = None
        with _OPEN_LOCK:
            _OPEN.pop(self, None)


def _release_held() -> None:
    """Before this thread opens a database writable: close the run connections it holds (reopened if asked again), and
    any whose run is over but that was never closed (its thread has ended): a process can't hold the file read-only
    and writable at once, and one left open blocked every later sign-in, import and undo for 30 s (DatabaseBusy)."""
    me = threading.current_thread()
    with _OPEN_LOCK:
        stale = [held for held, thread in _OPEN.items() if thread is me or not thread.is_alive()]
    for held in stale:
        held.close()


store.before_writable_open(_release_held)


def begin_run(first: Collection[str] | None = None) -> RunConnection:
    """Read the data version once for this run (opening the file costs ~20 ms; a page makes a dozen queries), and
    make the run's connection ready (opened only if a query misses the cache). first: on a first start, the datasets
    the page reads (the rest of the sample loads in finish_database, after the page)."""
    path = ensure_database(db_path(), first)
    if path in _prepared()[2]:  # a first start's rest of the sample loads after the page: its bar goes above it
        st.session_state["_rest_slot"] = st.empty()
    st.session_state["_first_data"] = first
    st.session_state["_data_version"] = data_version(path)
    left = st.session_state.get("_run_connection")
    if left is not None:  # a run that ended without end_run (it should not happen): its connection closes now
        left.close()
    held = st.session_state["_run_connection"] = RunConnection(path)
    return held


def end_run(held: RunConnection | None = None) -> None:
    """Close this run's connection (held: the one begin_run returned), then forget the run's data version. The close
    comes first and needs no session state: once a page has called st.stop(), reading st.session_state raises
    StopException, and a run connection left open blocked every later write in the process."""
    if held is not None:
        held.close()
    try:
        for key in ("_data_version", "_first_data", "_rest_slot", "_run_connection"):
            left = st.session_state.pop(key, None)
            if isinstance(left, RunConnection):
                left.close()
    except BaseException:  # noqa: BLE001 - st.stop() was called: the run's end stands (the state is rewritten next run)
        pass


def _version(path: str) -> tuple[int, str]:
    if "_data_version" in st.session_state:
        return st.session_state["_data_version"]
    # Only a page run without the entry script gets here (AppTest re-runs and switch_page; a served app always runs
    # dashboard.py first): read the version at each query, correct if slower.
    return data_version(path)


def _call(path: str, args: tuple, kwargs: tuple, fn: Callable, run: RunConnection | None) -> Any:
    # The page run's connection (closed when the run ends), else one opened for this call and closed at once: while
    # the dashboard holds the file, a nightly `python -m kpi ingest` could not write it.
    if run is not None and run.path == path:
        return fn(run.get(), *args, **dict(kwargs))
    with store.open_db(path, read_only=True) as con:
        return fn(con, *args, **dict(kwargs))


@st.cache_data(show_spinner=False, max_entries=512)
def _cached(name: str, path: str, version: tuple, args: tuple, kwargs: tuple, _fn: Callable,
            _run: RunConnection | None = None) -> Any:
    return _call(path, args, kwargs, _fn, _run)


# recent()'s: a few entries of their own, so each write's new stamp does not push the pages' queries out of _cached
@st.cache_data(show_spinner=False, max_entries=8)
def _cached_recent(name: str, path: str, stamp: tuple, args: tuple, kwargs: tuple, _fn: Callable,
                   _run: RunConnection | None = None) -> Any:
    return _call(path, args, kwargs, _fn, _run)


def _scoped(fn: Callable, kwargs: dict[str, Any]) -> dict[str, Any]:
    """kwargs with the session's scope for a function that takes one. Always the session's: a page can't widen it."""
    if "scope" in inspect.signature(fn).parameters:
        return {**kwargs, "scope": current_scope()}
    return kwargs


def query(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """fn(connection, *args, **kwargs) from a kpi module, within the session's scope, cached until the data changes
    (the scope is part of the cache key: one user's results never serve another's)."""
    kwargs = _scoped(fn, kwargs)
    path = _run_path()
    call = (f"{fn.__module__}.{fn.__qualname__}", args, tuple(sorted(kwargs.items())))
    _warmer(path).used(call, fn)
    return _cached(call[0], path, _version(path), call[1], call[2], fn, st.session_state.get("_run_connection"))


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
    with store.open_db(_run_path()) as con:
        result = fn(con, *args, **kwargs)
        if "_data_version" in st.session_state:  # later queries of this run see the change
            st.session_state["_data_version"] = store.data_version(con)
        return result


def recent(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """fn(connection, *args, **kwargs) within the session's scope, cached until the database file's stamp moves: for
    what changes without the data version moving (the audit log: a sign-in, a download). Any committed write, from
    this process or another, moves the stamp; reading it is a stat (opening the file took 40 ms of the data page)."""
    kwargs = _scoped(fn, kwargs)
    path = _run_path()
    return _cached_recent(f"{fn.__module__}.{fn.__qualname__}", path, store.file_stamp(path), args,
                          tuple(sorted(kwargs.items())), fn, st.session_state.get("_run_connection"))


def read(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """fn(connection, *args, **kwargs) on a briefly opened read-only connection within the session's scope, not cached
    (for one-off reads: a report)."""
    kwargs = _scoped(fn, kwargs)
    with store.open_db(_run_path(), read_only=True) as con:
        return fn(con, *args, **kwargs)


def refresh_version() -> None:
    """After a write outside `write()` (an import): later queries of this run see the new data."""
    if "_data_version" in st.session_state:
        st.session_state["_data_version"] = data_version(_run_path())
