"""The performance report (O2.2.1) and the customer service report (O4.3.1) as xlsx and A4 PDF, and the generated
reference docs (docs/datasets.md, the README's KPI table).

A report is built once as plain data (`Report`: ordered `Section`s) from the same kpi functions the pages call;
`to_xlsx` and `to_pdf` only render that data, so both files carry the same figures. Texts come from the message
catalog (kpi.present.t), KPI names from the KPI catalog.
"""
from ..present import format_kind as format_cell
from ._bridge import BRIDGE_COLUMNS, bridge_chart, bridge_headers, bridge_sentence, bridge_sentences, bridge_table
from ._docs import datasets_markdown, kpis_markdown
from ._model import Report, Section
from ._output import output_format, write_report
from ._pdf import CHART_PX, FONT_DIRS, FontNotFound, chart_unavailable, to_pdf
from ._performance import PERFORMANCE_SECTIONS, performance_report
from ._service import (
                       COMMENT_SAMPLE,
                       COMPLAINT_KPIS,
                       SERVICE_SECTIONS,
                       SURVEY_KPIS,
                       THEMES,
                       TOP_RECOMMENDATIONS,
                       comment_themes,
                       service_report,
)
from ._xlsx import to_xlsx

__all__ = ["BRIDGE_COLUMNS", "bridge_chart", "bridge_headers", "bridge_sentence", "bridge_sentences", "bridge_table", "datasets_markdown", "kpis_markdown", "CHART_PX", "COMMENT_SAMPLE", "COMPLAINT_KPIS", "FONT_DIRS",
           "PERFORMANCE_SECTIONS", "SERVICE_SECTIONS", "SURVEY_KPIS", "THEMES", "TOP_RECOMMENDATIONS", "FontNotFound",
           "Report", "Section", "chart_unavailable", "comment_themes", "format_cell", "output_format",
           "performance_report", "service_report", "to_pdf", "to_xlsx", "write_report"]
