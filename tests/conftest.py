"""Shared fixtures: a fresh database file per test, and small literal files written on demand."""
from __future__ import annotations

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


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory) -> Path:
    """The bundled sample data imported once per test session (about 12 s). Tests must not write to it."""
    from kpi import imports

    path = tmp_path_factory.mktemp("sample") / "sample.duckdb"
    imports.load_sample_data(path)
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
