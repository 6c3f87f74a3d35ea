"""What a person reads, for pages, reports, CLI and exports alike: the message catalog (zh-TW/en), number formats,
charts, formula-safe CSV and XLSX files, and a page's tables as downloads and print tables."""
from ._charts import (
                      PALETTE,
                      STATUS_SHADES,
                      TrendPanel,
                      budget_vs_actual,
                      budget_waterfall,
                      count_axis,
                      figure,
                      hline,
                      vline,
                      cost_per_contact_lines,
                      pareto,
                      print_layout,
                      status_colorscale,
                      trend_grid,
                      trend_line,
                      variance_bars,
)
from ._export import (STATUS_HEX, Table, cell_text, excel_format, excel_value, export_file_name, status_css, table_text,
                      table_to_csv, table_to_html, table_to_xlsx, html_table_frame)
from ._echarts import NotConvertible, echarts_option, figure_height
from ._svg import svg_chart
from ._tiles import TILE_CSS, Tile, badge_html, bold_html, read_tiles, tiles_html
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
                     write_cell,
                     xlsx_cell,
)
from ._format import (
                     DURATION_SCALES,
                     MISSING,
                     as_shown,
                     duration,
                     duration_scale,
                     format_change,
                     format_gap,
                     format_kind,
                     format_unit,
                     hours,
                     is_missing,
                     money,
                     money_scale,
                     money_short,
                     month_label,
                     number,
                     percent,
                     pp,
                     unit_name,
                     unit_kind,
)
from ._inputs import ECHO_CHARS, YAML_NODES, YamlError, clip, load_yaml
from ._messages import (LANGS, MESSAGES_PATH, MessageError, check_lang, colon, join_bar, join_list, markdown_literal, messages,
                        paren, person, readable_fields, t, value_label)

__all__ = ["PALETTE", "STATUS_SHADES", "as_shown", "status_colorscale", "TrendPanel", "budget_vs_actual", "budget_waterfall", "count_axis", "cost_per_contact_lines", "pareto",
           "print_layout", "trend_grid", "trend_line", "variance_bars", "NotConvertible", "echarts_option", "figure_height", "svg_chart", "TILE_CSS", "Tile", "badge_html", "bold_html", "read_tiles", "tiles_html",
           "FORMULA_PREFIXES",
           "HEADER_FILL", "NUMBER_FORMATS", "column_width", "display_width", "frame_to_csv", "frame_to_xlsx", "safe_cell",
           "sheet_name", "style_header", "workbook_bytes", "write_cell", "xlsx_cell", "DURATION_SCALES", "MISSING", "duration",
           "duration_scale", "format_change", "format_gap", "format_kind", "format_unit", "hours", "is_missing", "money",
           "money_scale", "money_short", "month_label", "number", "percent", "pp", "unit_name", "LANGS",
           "MESSAGES_PATH", "MessageError", "check_lang", "colon", "join_bar", "join_list", "markdown_literal", "messages", "paren", "person", "t", "value_label",
           "readable_fields", "unit_kind", "STATUS_HEX", "Table", "cell_text", "excel_format", "excel_value", "export_file_name",
           "status_css", "table_text", "table_to_csv", "table_to_html", "table_to_xlsx", "html_table_frame", "ECHO_CHARS", "YAML_NODES",
           "YamlError", "clip", "load_yaml"]
