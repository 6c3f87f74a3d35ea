"""What a person reads, for pages, reports, CLI and exports alike: the message catalog (zh-TW/en), number formats,
charts, formula-safe CSV and XLSX files, and a page's tables as downloads and print tables."""
from ._charts import PALETTE, budget_vs_actual, pareto, print_layout, trend_line, variance_bars
from ._export import (STATUS_HEX, Table, cell_text, excel_format, export_file_name, status_css, table_text,
                      table_to_csv, table_to_html, table_to_xlsx)
from ._files import (
                     FORMULA_PREFIXES,
                     HEADER_FILL,
                     NUMBER_FORMATS,
                     column_width,
                     display_width,
                     frame_to_csv,
                     frame_to_xlsx,
                     safe_cell,
                     sheet_name,
                     style_header,
                     workbook_bytes,
                     xlsx_cell,
)
from ._format import (
                     MISSING,
                     duration,
                     format_change,
                     format_kind,
                     format_unit,
                     hours,
                     is_missing,
                     money,
                     money_short,
                     number,
                     percent,
                     pp,
                     unit_kind,
)
from ._messages import (LANGS, MESSAGES_PATH, MessageError, check_lang, colon, join_bar, join_list, messages, paren, t,
                        value_label)

__all__ = ["PALETTE", "budget_vs_actual", "pareto", "print_layout", "trend_line", "variance_bars", "FORMULA_PREFIXES",
           "HEADER_FILL", "NUMBER_FORMATS", "column_width", "display_width", "frame_to_csv", "frame_to_xlsx", "safe_cell",
           "sheet_name", "style_header", "workbook_bytes", "xlsx_cell", "MISSING", "duration", "format_change",
           "format_kind", "format_unit", "hours", "is_missing", "money", "money_short", "number", "percent", "pp", "unit_kind", "LANGS",
           "MESSAGES_PATH", "MessageError", "check_lang", "colon", "join_bar", "join_list", "messages", "paren", "t", "value_label",
           "STATUS_HEX", "Table", "cell_text", "excel_format", "export_file_name", "status_css", "table_text", "table_to_csv",
           "table_to_html", "table_to_xlsx"]
