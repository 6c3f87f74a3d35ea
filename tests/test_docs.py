"""Generated docs are committed fresh."""
from pathlib import Path

from kpi import reports

ROOT = Path(__file__).resolve().parent.parent


def test_datasets_doc_is_regenerated():
    # Stale? Run: python -m kpi docs datasets > docs/datasets.md
    assert (ROOT / "docs" / "datasets.md").read_text(encoding="utf-8") == reports.datasets_markdown() + "\n"


def test_readme_kpi_definitions_are_regenerated():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("<!-- kpis:start")
    body = readme[readme.index("\n", start) + 1: readme.index("<!-- kpis:end -->")]
    # Stale? Replace the block with the output of: python -m kpi docs kpis
    assert body == reports.kpis_markdown() + "\n"
