"""How pages reach the database: briefly, read-only, and cached by the database's last import."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import streamlit as st

from kpi import imports, store


def db_path() -> str:
    """The database the dashboard reads ($KPI_DB, else data/kpi.duckdb)."""
    return str(store.resolve_db_path())


@st.cache_resource(show_spinner="Preparing the database (first start loads the sample data)…")
def ensure_database(path: str) -> str:
    """Create the file and load sample_data/ when there is none or it holds no data; once per process and file.

    An existing file is only ever opened read-only here: the dashboard shows a read-only file or disk as it is."""
    if Path(path).exists():
        with store.open_db(path, read_only=True) as con:
            empty = sum(store.row_counts(con).values()) == 0
    else:
        empty = True
    if empty:
        imports.load_sample_data(path)
    return path


def data_version(path: str) -> tuple[int, str]:
    """Changes with every import, undo or saved report; cached results are keyed on it, so new data shows on the next rerun."""
    with store.open_db(path, read_only=True) as con:
        return store.data_version(con)


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


def query(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """fn(connection, *args, **kwargs) from a kpi module, cached until the data changes."""
    path = ensure_database(db_path())
    return _cached(f"{fn.__module__}.{fn.__qualname__}", path, _version(path), args, tuple(sorted(kwargs.items())), fn)


def write(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """fn(connection, *args, **kwargs) on a briefly opened writable connection; cached reads see it on the next run."""
    with store.open_db(ensure_database(db_path())) as con:
        result = fn(con, *args, **kwargs)
        if "_data_version" in st.session_state:  # later queries of this run see the change
            st.session_state["_data_version"] = store.data_version(con)
        return result


def read(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """fn(connection, *args, **kwargs) on a briefly opened read-only connection, not cached (for one-off reads)."""
    with store.open_db(ensure_database(db_path()), read_only=True) as con:
        return fn(con, *args, **kwargs)


def refresh_version() -> None:
    """After a write outside `write()` (an import): later queries of this run see the new data."""
    if "_data_version" in st.session_state:
        st.session_state["_data_version"] = data_version(ensure_database(db_path()))
