"""The landing summary: the latest complete week's volumes and when data last arrived."""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
import pandas as pd

from ..auth.access import Scope
from . import _rollup
from ._catalog import Dataset, load_catalog
from ._engine import SOURCES, _params, _stamp, compute_kpis, summed_table
from ._scope import row_clauses, scope_values


SUMMARY_KPIS = ("offered", "answered", "abandoned", "survey_responses", "complaints")  # what a WeekSummary counts


@dataclass(frozen=True)
class WeekSummary:
    week_start: date  # Monday
    week_end: date  # Sunday
    iso_week: str  # e.g. 2026-W47
    offered: int | None  # None: a filter does not apply to the dataset
    answered: int | None
    abandoned: int | None
    surveys: int | None
    complaints: int | None
    last_import_at: datetime | None
    last_import_file: str | None


def latest_complete_week(con: duckdb.DuckDBPyConnection) -> date | None:
    """Monday of the latest ISO week the contact data covers to its Sunday (the week before, if the last is partial)."""
    with con.cursor() as cur:
        last = cur.execute("SELECT max(arrived_at)::DATE FROM contacts").fetchone()[0]
    if last is None:
        return None
    monday = last - timedelta(days=last.weekday())
    return monday if last.weekday() == 6 else monday - timedelta(days=7)


def week_summary(con: duckdb.DuckDBPyConnection, week_start: date | None = None, *, team: str | None = None,
                 channel: str | None = None, queue: str | None = None, end: date | None = None,
                 scope: Scope | None = None) -> WeekSummary | None:
    """Contacts offered/answered/abandoned, surveys and complaints received in one ISO week (default: the latest
    complete one), or from week_start to end (a month, quarter or any range), of the rows within the scope."""
    week_start = week_start or latest_complete_week(con)
    if week_start is None:
        return None
    end = end or week_start + timedelta(days=6)
    # The same definitions as everywhere else: the catalog's, through compute_kpis, for the counts shown only.
    k = compute_kpis(con, week_start, end, team=team, channel=channel, queue=queue, scope=scope,
                     kpis=SUMMARY_KPIS).iloc[0]
    return summary_of(con, k, week_start, end, team=team, channel=channel, queue=queue)


def filtered_by(ds: Dataset, filters: Mapping[str, str | None]) -> bool:
    """Whether a dataset's rows can be filtered as asked: False when a filter names a dimension it lacks (complaints
    have no queue), so its counts say nothing there (none, not 0)."""
    return all(v is None or f in ds.dimensions for f, v in filters.items())


def summary_of(con: duckdb.DuckDBPyConnection, k: Mapping[str, Any], week_start: date, end: date, *,
               team: str | None = None, channel: str | None = None, queue: str | None = None) -> WeekSummary:
    """The WeekSummary of a range from its compute_kpis row (week_summary's, or a bucket of a longer grouped pass)."""
    datasets = load_catalog().datasets
    filters = {"team": team, "channel": channel, "queue": queue}

    def count(kpi_id: str, dataset: str) -> int | None:
        if not filtered_by(datasets[dataset], filters):
            return None
        return 0 if pd.isna(k[kpi_id]) else int(k[kpi_id])

    with con.cursor() as cur:  # the week is about contacts: the last contacts import, not the budget's
        last = cur.execute("SELECT finished_at, file_name FROM imports WHERE undone_at IS NULL AND dataset = 'contacts' "
                           "ORDER BY import_id DESC LIMIT 1").fetchone()
    iso = week_start.isocalendar()
    return WeekSummary(
        week_start=week_start, week_end=end, iso_week=f"{iso.year}-W{iso.week:02d}",
        offered=count("offered", "contacts"), answered=count("answered", "contacts"),
        abandoned=count("abandoned", "contacts"), surveys=count("survey_responses", "surveys"),
        complaints=count("complaints", "complaints"),
        last_import_at=last[0] if last else None, last_import_file=last[1] if last else None,
    )


def _contacts_in_sums(con: duckdb.DuckDBPyConnection, cur: duckdb.DuckDBPyConnection) -> tuple[str, str]:
    """(table, its time column) holding every stored contact's team, channel, queue and hour: the contacts' rollup
    without agents per day when it is usable (it is exact for the rows now stored), else the contacts themselves. At
    100M contacts the filter lists' DISTINCT scans of the raw rows took about a second."""
    catalog = load_catalog()
    table = summed_table(cur, _stamp(con), "contacts", _rollup.fingerprint(catalog, catalog.settings, "contacts"),
                         agent=False, daily=True)
    return ("contacts", "arrived_at") if table is None else (table, "__hour")


def available_weeks(con: duckdb.DuckDBPyConnection) -> list[date]:
    """Mondays of every ISO week with contacts, newest first."""
    with con.cursor() as cur:
        table, time = _contacts_in_sums(con, cur)
        rows = cur.execute(
            f"SELECT DISTINCT date_trunc('week', {time})::DATE AS monday FROM {table} ORDER BY monday DESC").fetchall()
    return [r[0] for r in rows]


def dimension_values(con: duckdb.DuckDBPyConnection, *, scope: Scope | None = None) -> dict[str, list[str]]:
    """The teams, channels and queues present in the contacts within the scope, for filter lists (an agent's team list
    is their own team; their channels and queues are the centre's, whose aggregates they compare with)."""
    out = {}
    with con.cursor() as cur:
        table, _ = _contacts_in_sums(con, cur)  # the scope's conditions name the team only (never the agent) here
        for dim in ("team", "channel", "queue"):
            where = " AND ".join([f"{dim} IS NOT NULL", *row_clauses(scope, SOURCES["contacts"].dimensions, dim)])
            sql = f"SELECT DISTINCT {dim} FROM {table} WHERE {where} ORDER BY 1"
            out[dim] = [v for (v,) in cur.execute(sql, _params(sql, scope_values(scope))).fetchall()]
    return out


def iso_week_label(monday: date) -> str:
    """2026-W47 for the Monday 2026-11-16."""
    iso = monday.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"
