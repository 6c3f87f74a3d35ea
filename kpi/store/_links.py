"""Surveys' copies of their contact's columns (SURVEY_CONTACT_COLUMNS), set from the contacts table as it stands."""
from __future__ import annotations

from typing import Any

import duckdb

from ._datasets import CONTACTS, SQL_TYPES, SURVEY_CONTACT_COLUMNS

LINKED_TABLES = ("surveys", "surveys_history")


def survey_contact_ddl() -> list[str]:
    """"name TYPE" of each contact column a survey keeps."""
    return [f"{name} {SQL_TYPES[CONTACTS.column(source).kind]}" for name, source in SURVEY_CONTACT_COLUMNS.items()]


def link_surveys(cur: duckdb.DuckDBPyConnection, where: str = "TRUE", params: dict[str, Any] | None = None) -> None:
    """Set the contact columns of the surveys and surveys_history rows s matching where (SQL on s) from the contacts
    table as it now stands (NULL where s.contact_id matches no contact), in the caller's transaction.

    Called after every write of either table: an import's surveys, the surveys linked to contacts an import or undo
    changed, every survey on an upgrade. Only rows whose values differ are written."""
    cols = list(SURVEY_CONTACT_COLUMNS)
    picked = ", ".join(f"c.{src} AS {name}" for name, src in SURVEY_CONTACT_COLUMNS.items())
    ids = " UNION ".join(f"SELECT s.contact_id FROM {t} s WHERE ({where}) AND s.contact_id IS NOT NULL"
                         for t in LINKED_TABLES)
    # One pass over the contacts for both tables: the distinct linked ids first (a few), then their contacts.
    cur.execute(f"CREATE OR REPLACE TEMP TABLE _survey_links AS SELECT k.contact_id, {picked} FROM ({ids}) k "
                f"LEFT JOIN contacts c ON c.contact_id = k.contact_id", params or {})
    for table in LINKED_TABLES:
        differs = " OR ".join(f"s.{c} IS DISTINCT FROM l.{c}" for c in cols)
        cur.execute(f"UPDATE {table} s SET {', '.join(f'{c} = l.{c}' for c in cols)} FROM _survey_links l "
                    f"WHERE s.contact_id = l.contact_id AND ({where}) AND ({differs})", params or {})
        cur.execute(f"UPDATE {table} s SET {', '.join(f'{c} = NULL' for c in cols)} WHERE s.contact_id IS NULL "
                    f"AND ({where}) AND ({' OR '.join(f's.{c} IS NOT NULL' for c in cols)})", params or {})
    cur.execute("DROP TABLE _survey_links")


def link_written(cur: duckdb.DuckDBPyConnection, dataset: str, import_id: int) -> None:
    """After import import_id wrote rows of dataset (in its transaction): link the surveys it wrote, or the surveys of
    the contacts it inserted or changed. Nothing for another dataset."""
    if dataset == "surveys":
        link_surveys(cur, "s.import_id = $id", {"id": import_id})
    elif dataset == "contacts":
        link_surveys(cur, "s.contact_id IN (SELECT contact_id FROM contacts WHERE import_id = $id)", {"id": import_id})
