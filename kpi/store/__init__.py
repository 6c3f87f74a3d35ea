"""The DuckDB file and what it holds: the four datasets' columns, the schema and its migrations, locking."""
from ._datasets import (INTERNAL_COLUMNS, SURVEY_CONTACT_COLUMNS, AGENT_STATES, SCHEDULE, BUDGET, BUDGET_DRIVERS, COMPANIONS, PAY_TYPES, COMPLAINTS, CONTACTS, DATASETS, KIND_RANGES, SQL_TYPES, SURVEYS, Column, Dataset,
                        checked_sql, get_dataset)
from ._db import (DEFAULT_DB, DEFAULT_READ_MEMORY_LIMIT, DEFAULT_WAIT_SECONDS, NO_EXTENSIONS, connect_config, REPO_ROOT, SCHEMA_VERSION, DatabaseBusy, write_transaction, DatasetStatus,
                  CheckResult, StoreError, backup_database, before_writable_open, check_database, data_version, explain, file_stamp, rollback,
                  dataset_status, keep_files_private, migrate, open_db, pseudonym_key, resolve_db_path, row_counts, schema_version)
from ._links import link_surveys, link_written
from ._rollup import (ROLLUPS_DDL, drop_rollup, ensure_rollups, import_span, raw_stamp, refresh_rollups,
                      set_rollup_builder)

__all__ = ["INTERNAL_COLUMNS", "SURVEY_CONTACT_COLUMNS", "link_surveys", "link_written", "AGENT_STATES", "SCHEDULE", "BUDGET", "BUDGET_DRIVERS", "COMPANIONS", "PAY_TYPES", "COMPLAINTS", "CONTACTS", "DATASETS", "KIND_RANGES", "SQL_TYPES", "SURVEYS", "Column", "Dataset",
           "checked_sql", "get_dataset",
           "DEFAULT_DB", "DEFAULT_READ_MEMORY_LIMIT", "DEFAULT_WAIT_SECONDS", "NO_EXTENSIONS", "connect_config", "REPO_ROOT", "SCHEMA_VERSION", "DatabaseBusy", "write_transaction", "StoreError", "before_writable_open",
           "explain", "rollback", "CheckResult", "backup_database", "check_database", "data_version", "file_stamp",
           "keep_files_private", "migrate", "open_db", "pseudonym_key", "resolve_db_path", "row_counts", "schema_version", "DatasetStatus",
           "dataset_status", "ROLLUPS_DDL", "drop_rollup", "ensure_rollups", "import_span", "refresh_rollups", "raw_stamp",
           "set_rollup_builder"]
