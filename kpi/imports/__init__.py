"""Files in: read (CSV/XLSX, any encoding) -> mapping -> parse -> check -> write in one transaction; preview, undo,
saved mappings, and the guess of dataset and mapping from a file's headers."""
from ._mapping import (CONDITIONS, DECIMAL_OPTIONS, DERIVE_RULES, FATAL_CODES, FatalImportError, Mapping, Options, Progress, STEPS, header_key, load_mapping,
                       parse_mapping)
from ._prepare import Prepared, prepare
from ._read import read_source
from ._reasons import READABLE_COLUMNS, REASON_CODES, WARNING_CODES, readable_rejects, reason_text, rejects_to_fix
from ._workbook import AMOUNT_UNITS
from ._write import (SAMPLE_DIR, ImportResult, import_file, import_history, load_sample_data, rejected_count,
                     rejected_rows, sample_files, sample_pending, stage_and_compare, stored_form, updated_value,
                     write)
from ._parse import (DATE_ORDERS, DEFAULT_CENTRE_ZONE, DURATION_UNITS, ZONE_EXPECTED, clean_text, parse_amount, parse_bool,
                     parse_column, parse_duration, parse_hours, parse_int, parse_month_text, parse_timestamp,
                     time_zone)
from ._preview import (UNDO_REFUSALS, PreviewResult, UndoRefused, UndoResult, describe_derived, describe_recodes, file_encoding, file_headers,
                       get_saved_mapping, preview, save_mapping, saved_mappings, undo_import)
from ._suggest import guess_dataset, is_month_header, suggest_mapping
from ._presets import (PRESET_DIR, Preset, applied, choose_mapping, default_unit, detect_preset, detected_line, edited,
                       expectation, get_preset, load_presets, parse_preset, preset_table)

__all__ = ["SAMPLE_DIR", "STEPS", "CONDITIONS", "DECIMAL_OPTIONS", "DERIVE_RULES", "FATAL_CODES", "FatalImportError", "ImportResult", "Mapping", "Options", "Prepared", "Progress",
           "header_key", "import_file", "import_history", "load_mapping", "load_sample_data", "parse_mapping",
           "prepare", "read_source", "rejected_count", "rejected_rows", "sample_files", "sample_pending", "stage_and_compare",
           "stored_form", "updated_value", "write", "DATE_ORDERS", "DEFAULT_CENTRE_ZONE", "DURATION_UNITS", "ZONE_EXPECTED",
           "parse_column", "clean_text", "parse_amount", "parse_bool", "parse_duration", "parse_hours",
           "parse_int", "parse_month_text", "parse_timestamp", "time_zone", "PreviewResult", "UNDO_REFUSALS", "UndoRefused", "UndoResult", "file_encoding", "file_headers", "get_saved_mapping",
           "preview", "save_mapping", "saved_mappings", "undo_import", "guess_dataset", "is_month_header",
           "suggest_mapping", "READABLE_COLUMNS", "REASON_CODES", "readable_rejects", "reason_text", "rejects_to_fix",
           "describe_recodes", "describe_derived", "PRESET_DIR", "Preset", "applied", "choose_mapping", "default_unit", "detect_preset",
           "detected_line", "edited", "expectation", "get_preset", "load_presets", "parse_preset", "preset_table",
           "WARNING_CODES", "AMOUNT_UNITS"]
