"""The product's brain, without a user interface: files in, KPIs out, beside the competencies they evidence.

Rooms, in the order data flows through them (each imports only the rooms before it):

    store/       the DuckDB file: datasets' columns, schema, migrations, locking
    imports/     files in: read, map, parse, check, write in one transaction; preview, undo, guesses
    metrics/     the KPI catalog and targets; the engine at any grain; weekly views, quality, budget
    competency/  the iCAP standard, KPI -> indicator links, ranking, coaching plan, improvement reports
    reports/     performance and customer-service reports (xlsx, PDF), generated reference docs
    present/     what a person reads: messages in zh-TW/en, formats, formula-safe files, charts
    cli.py       `python -m kpi` / `kpi`: the same functions the pages call

The names below are the public API used by pages, the CLI and tests; everything else is reached through its room
(`from kpi import metrics; metrics.weekday_hour_grid(...)`).
"""
from .competency import coaching_plan, load_competency_map, rank_weak_competencies
from .imports import FatalImportError, import_file, load_sample_data, preview, undo_import
from .metrics import budget_report, compute_kpis, group_status, kpi_status, load_catalog
from .present import frame_to_csv, frame_to_xlsx
from .store import DatabaseBusy, open_db

__all__ = ["open_db", "DatabaseBusy", "import_file", "load_sample_data", "preview", "undo_import",
           "FatalImportError", "load_catalog", "compute_kpis", "kpi_status", "group_status", "budget_report",
           "load_competency_map", "rank_weak_competencies", "coaching_plan", "frame_to_csv", "frame_to_xlsx",
           "performance_report", "service_report", "write_report"]

_REPORTS = {"performance_report", "service_report", "write_report"}


def __getattr__(name: str):
    # Reports load plotly and fpdf2: only when one is asked for, so `python -m kpi status` starts fast.
    if name in _REPORTS:
        from . import reports
        return getattr(reports, name)
    raise AttributeError(f"module 'kpi' has no attribute {name!r}")
