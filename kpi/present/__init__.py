"""What a person reads, for pages, reports, CLI and exports alike: formula-safe CSV and XLSX files."""
from ._files import FORMULA_PREFIXES, frame_to_csv, frame_to_xlsx, safe_cell

__all__ = ["FORMULA_PREFIXES", "frame_to_csv", "frame_to_xlsx", "safe_cell"]
