"""Shared fixtures: a fresh database file per test, small literal files written on demand, the imported sample data
(kept between runs in .test-cache/), and the competency map and KPI catalog as the app loads them."""
from __future__ import annotations

import hashlib
import os
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "test.duckdb"


@pytest.fixture
def write(tmp_path: Path):
    """write("name.csv", text, encoding="utf-8") -> path of a file holding that text."""
    def _write(name: str, text: str, encoding: str = "utf-8") -> Path:
        p = tmp_path / name
        p.write_bytes(text.encode(encoding))
        return p
    return _write


# The imported sample is kept between runs in a git-ignored directory, keyed by everything that decides its content
# (the files, the code that imports them, the schema, the pinned libraries, DuckDB's file format): a cold run imports
# it (about 12 s), later runs copy the file.
SAMPLE_CACHE = ROOT / ".test-cache"


def _sample_key() -> str:
    import duckdb

    from kpi import store

    h = hashlib.sha256(f"schema {store.SCHEMA_VERSION} duckdb {duckdb.__version__}".encode())
    sources = [ROOT / "requirements.txt", *sorted((ROOT / "sample_data").glob("*")),
               *sorted((ROOT / "kpi" / "store").glob("*.py")), *sorted((ROOT / "kpi" / "imports").glob("*.py")),
               # the code the sample's rollup was built by (kpi.metrics._rollup._CODE): other code reads raw rows
               *sorted((ROOT / "kpi" / "metrics").glob("_[er]*.py"))]
    for f in sources:
        if f.is_file():
            h.update(f"{f.relative_to(ROOT)}\0".encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


@contextmanager
def _only_one_process(lock: Path):
    """Parallel test processes (pytest -n) wait here while one of them imports the sample."""
    with open(lock, "a") as f:
        try:
            import fcntl
        except ImportError:  # Windows: no lock; two processes may both import it
            yield
            return
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory) -> Path:
    """The bundled sample data, imported at most once per test session (and kept for the next). Tests must not write
    to it (copy it)."""
    from kpi import imports

    path = tmp_path_factory.mktemp("sample") / "sample.duckdb"
    SAMPLE_CACHE.mkdir(exist_ok=True)
    cached = SAMPLE_CACHE / f"sample-{_sample_key()}.duckdb"
    with _only_one_process(SAMPLE_CACHE / "lock"):
        if not cached.is_file():
            for old in SAMPLE_CACHE.glob("sample-*"):  # an older key's file, or one an interrupted run left
                old.unlink()
            imports.load_sample_data(path)
            partial = cached.with_name(f"{cached.name}.{os.getpid()}.partial")
            shutil.copy(path, partial)
            os.replace(partial, cached)  # whole or not at all, should this run be interrupted
            return path
    shutil.copy(cached, path)  # a copy: a test that wrote to the session's file would not spoil later runs
    return path


@pytest.fixture(scope="module")
def sample_copy(sample_db, tmp_path_factory) -> Path:
    """The sample for one test module that writes to it, if only by a download (a download writes its audit event,
    which would show in other modules' audit log and data status)."""
    path = tmp_path_factory.mktemp("sample_copy") / "sample.duckdb"
    shutil.copy(sample_db, path)
    return path


@pytest.fixture(scope="session")
def cmap():
    """The competency map as the app loads it."""
    from kpi.competency import load_competency_map

    return load_competency_map()


@pytest.fixture(scope="session")
def catalog():
    """The KPI catalog with targets.yaml applied."""
    from kpi.metrics import load_catalog

    return load_catalog()


@pytest.fixture(scope="session", autouse=True)
def _scan_streamlit_components_once():
    """Every new AppTest scans the metadata of all installed packages for Streamlit components (~0.2 s each, and the
    suite makes dozens); nothing is installed during a test run, so one scan serves the session."""
    if "streamlit.testing.v1" not in sys.modules:  # no collected test module uses AppTest: leave Streamlit unloaded
        yield
        return
    try:
        from streamlit.components.v2 import manifest_scanner
    except ImportError:  # another Streamlit version: nothing to share
        yield
        return
    scan = manifest_scanner.scan_component_manifests
    found = []

    def scan_once(max_workers=None):
        if not found:
            found.append(scan(max_workers))
        return list(found[0])

    manifest_scanner.scan_component_manifests = scan_once
    yield
    manifest_scanner.scan_component_manifests = scan
