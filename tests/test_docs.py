"""Generated docs are committed fresh."""
from pathlib import Path

from kpi import docs

ROOT = Path(__file__).resolve().parent.parent


def test_datasets_doc_is_regenerated():
    # Stale? Run: python -m kpi docs datasets > docs/datasets.md
    assert (ROOT / "docs" / "datasets.md").read_text(encoding="utf-8") == docs.datasets_markdown() + "\n"
