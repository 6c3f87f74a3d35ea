"""Writing a report to a file: the format is chosen by the path's suffix."""
from __future__ import annotations

from pathlib import Path

from ._model import Report
from ._pdf import to_pdf
from ._xlsx import to_xlsx

__all__ = ["output_format", "write_report"]

_WRITERS = {".xlsx": to_xlsx, ".pdf": to_pdf}


def output_format(path: str | Path) -> str:
    """The format a path asks for by its suffix (.xlsx or .pdf); anything else is a ValueError."""
    suffix = Path(path).suffix.lower()
    if suffix not in _WRITERS:
        raise ValueError(f"{path}: a report is written as .pdf or .xlsx, not {suffix or 'a file without a suffix'}")
    return suffix


def write_report(report: Report, path: str | Path) -> Path:
    """Write the report as PDF or xlsx, chosen by the path's suffix; returns the path."""
    path = Path(path)
    data = _WRITERS[output_format(path)](report)
    path.write_bytes(data)
    return path
