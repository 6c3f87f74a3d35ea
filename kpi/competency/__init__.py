"""The iCAP Customer Service Manager standard (BAS1499-003v4) as a typed map, the KPI -> indicator links, the
ranking of weak indicators, the coaching plan (O3.3.1) and the improvement reports (P2.2.3)."""
from ._glossary import GLOSSARY_COLUMNS, glossary
from ._coaching import PLAN_COLUMNS, RECORD_OUTPUT, coaching_plan, plan_title, plan_to_csv, plan_to_xlsx
from ._improvement import (FIELDS, NATURES, STATUSES, TABLE_HEADINGS, ImprovementReport, ReportError, as_dict,
                           get_report, list_reports, report_flag, reports_table, save_report)
from ._map import *  # noqa: F401,F403  (its __all__ is the map's public API)
from ._map import __all__ as _map_all
from ._map import RANK_COLUMNS, WEAK_KPI_COLUMNS, WEAK_STATUSES

__all__ = ["GLOSSARY_COLUMNS", "glossary", "PLAN_COLUMNS", "RECORD_OUTPUT", "coaching_plan", "plan_title", "plan_to_csv", "plan_to_xlsx", "FIELDS",
           "NATURES", "STATUSES", "ImprovementReport", "ReportError", "as_dict", "get_report", "list_reports",
           "report_flag", "save_report", "TABLE_HEADINGS", "reports_table", "RANK_COLUMNS", "WEAK_KPI_COLUMNS", "WEAK_STATUSES", *_map_all]
