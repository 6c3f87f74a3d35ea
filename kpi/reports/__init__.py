"""The performance report (O2.2.1) and the customer service report (O4.3.1) as xlsx and A4 PDF, and the generated
reference docs (docs/datasets.md, the README's KPI table)."""
from ._docs import datasets_markdown, kpis_markdown
from ._reports import (CHART_PX, COMMENT_SAMPLE, COMPLAINT_KPIS, TEXTS, THEMES, TOP_RECOMMENDATIONS, FontNotFound, Report, Section, chart_unavailable, comment_themes,
                       format_cell, output_format, performance_report, service_report, to_pdf, to_xlsx, write_report)

__all__ = ["datasets_markdown", "kpis_markdown", "CHART_PX", "COMMENT_SAMPLE", "COMPLAINT_KPIS", "TEXTS", "THEMES", "TOP_RECOMMENDATIONS", "FontNotFound", "Report", "Section",
           "chart_unavailable", "comment_themes", "format_cell", "output_format", "performance_report",
           "service_report", "to_pdf", "to_xlsx", "write_report"]
