"""Improvement reports (P2.2.3): for each budget line flagged as needing one, the cause, the action and its owner."""
from __future__ import annotations

import getpass
from dataclasses import asdict, dataclass
from datetime import date, datetime

import duckdb
import pandas as pd

from ..auth.access import Scope
from ..auth import record
from ..metrics import require
from ..present import MISSING, Table, is_missing, t, value_label
from ..store import rollback

NATURES = ("permanent", "timing")  # a permanent gap stays for the year; a timing gap reverses in later months
STATUSES = ("open", "in_progress", "done")
FIELDS = ("year", "cost_center", "line", "through", "root_cause", "nature", "action", "owner", "due_date",
          "full_year_effect", "status")


class ReportError(ValueError):
    """A report that can't be saved; the message names the field and what was expected (English, the CLI's); fields
    names every required field left empty, for a page, which says them in its reader's language, all at once."""

    def __init__(self, message: str, fields: tuple[str, ...] = ()):
        super().__init__(message)
        self.fields = fields


@dataclass
class ImprovementReport:
    year: int
    cost_center: str
    line: str
    through: date  # the month of the budget review it answers
    root_cause: str
    nature: str  # permanent | timing
    action: str
    owner: str
    due_date: date
    full_year_effect: float | None  # NT$ effect of the action on the full-year outcome (negative = saving)
    status: str = "open"


def report_flag(through: date | None, month: date, lang: str, short: bool = False) -> str:
    """A flagged line's improvement report as the budget page (short: the performance report's column) says it for the
    view through month: not written yet; written (for this month's review); or written for another month's review,
    named (one report per line and year, kept at the month it was last saved for: a January view said 已提出 of a
    report first written in October)."""
    if through is None:
        return t("flag.missing", lang) if short else t("budget.flag.missing", lang)
    if (through.year, through.month) == (month.year, month.month):
        return t("flag.written", lang) if short else t("budget.flag.written", lang)
    named = t(f"month.short.{through.month}", lang)
    return t("flag.written_for", lang, month=named) if short else t("budget.flag.written_for", lang, month=named)


def _check(r: ImprovementReport) -> None:
    empty = tuple(name for name in ("root_cause", "action", "owner") if not str(getattr(r, name) or "").strip())
    if empty:  # every one of them, not one per attempt
        raise ReportError(f"{', '.join(empty)}: required (expected text)", empty)
    if r.nature not in NATURES:
        raise ReportError(f"nature: expected one of {', '.join(NATURES)}, got {r.nature!r}")
    if r.status not in STATUSES:
        raise ReportError(f"status: expected one of {', '.join(STATUSES)}, got {r.status!r}")
    if not isinstance(r.due_date, date):
        raise ReportError("due_date: expected a date")


def save_report(con: duckdb.DuckDBPyConnection, report: ImprovementReport, updated_by: str | None = None,
                source: str = "page", *, scope: Scope | None = None) -> int:
    """Insert or update the report of its year x cost center x line, with its audit record; returns its id. Refused
    to a role without the budget."""
    require(scope, "budget")
    _check(report)
    who = updated_by or _who()
    now = datetime.now()
    cur = con.cursor()
    cur.execute("BEGIN TRANSACTION")
    try:
        row = cur.execute("SELECT report_id FROM improvement_reports WHERE year = ? AND cost_center = ? AND line = ?",
                          [report.year, report.cost_center, report.line]).fetchone()
        values = [getattr(report, f) for f in FIELDS]
        if row:
            rid = row[0]
            sets = ", ".join(f"{f} = ?" for f in FIELDS)
            cur.execute(f"UPDATE improvement_reports SET {sets}, updated_at = ?, updated_by = ? WHERE report_id = ?",
                        [*values, now, who, rid])
        else:
            rid = cur.execute("SELECT nextval('improvement_report_id_seq')").fetchone()[0]
            cur.execute(f"INSERT INTO improvement_reports (report_id, {', '.join(FIELDS)}, created_at, updated_at, "
                        f"updated_by) VALUES (?, {', '.join('?' * len(FIELDS))}, ?, ?, ?)", [rid, *values, now, now, who])
        record(cur, who, "improvement_report", f"{report.year} {report.cost_center} {report.line}",
               {"year": report.year, "cost_center": report.cost_center, "line": report.line, "status": report.status},
               source, now)
        cur.execute("COMMIT")
    except BaseException:
        rollback(cur)
        raise
    finally:
        cur.close()
    return int(rid)


def list_reports(con: duckdb.DuckDBPyConnection, year: int, *, scope: Scope | None = None) -> pd.DataFrame:
    """The year's improvement reports, newest change first."""
    require(scope, "budget")
    return con.cursor().execute(
        f"SELECT report_id, {', '.join(FIELDS)}, created_at, updated_at, updated_by FROM improvement_reports "
        "WHERE year = ? ORDER BY updated_at DESC", [year]).df()


# The saved reports' table as a person reads it: column -> the message heading it.
TABLE_HEADINGS = {"cost_center": "col.cost_center", "line": "col.line", "status": "ir.status", "owner": "ir.owner",
                  "due_date": "ir.due_date", "root_cause": "ir.root_cause", "action": "ir.action", "nature": "ir.nature",
                  "full_year_effect": "ir.effect", "updated_at": "ir.updated_at", "updated_by": "ir.updated_by"}


REPORT_KINDS = {"due_date": "date", "full_year_effect": "money", "updated_at": "datetime"}


def reports_table(reports: pd.DataFrame, lang: str) -> Table:
    """Saved reports (list_reports) as a person reads them in lang: headings in words, status and nature in words;
    the due date, the full-year effect and the last change kept as values of their kinds (a date, NT$, to the
    minute), so the page shows -NT$120,000 and a download holds the number -120000 and the date as a date."""
    frame = pd.DataFrame({
        "cost_center": reports["cost_center"], "line": reports["line"],
        "status": [t(f"ir.status.{s}", lang) for s in reports["status"]],
        "owner": reports["owner"],
        "due_date": [None if is_missing(d) else pd.Timestamp(d).date() for d in reports["due_date"]],
        "root_cause": reports["root_cause"], "action": reports["action"],
        "nature": [t(f"ir.nature.{n}", lang) for n in reports["nature"]],
        "full_year_effect": [None if is_missing(v) else float(v) for v in reports["full_year_effect"]],
        "updated_at": [None if is_missing(v) else pd.Timestamp(v).to_pydatetime() for v in reports["updated_at"]],
        "updated_by": [MISSING if is_missing(v) else value_label("run_by", v, lang) for v in reports["updated_by"]],
    }, columns=list(TABLE_HEADINGS), dtype=object)
    headings = {c: t(key, lang) for c, key in TABLE_HEADINGS.items()}
    return Table(frame.rename(columns=headings), kinds={headings[c]: k for c, k in REPORT_KINDS.items()})


def get_report(con: duckdb.DuckDBPyConnection, year: int, cost_center: str, line: str, *,
               scope: Scope | None = None) -> ImprovementReport | None:
    """The saved report of one line, if any."""
    require(scope, "budget")
    frame = con.cursor().execute(
        f"SELECT {', '.join(FIELDS)} FROM improvement_reports WHERE year = ? AND cost_center = ? AND line = ?",
        [year, cost_center, line]).df()
    if frame.empty:
        return None
    r = frame.iloc[0].to_dict()
    r["through"] = pd.Timestamp(r["through"]).date()
    r["due_date"] = pd.Timestamp(r["due_date"]).date()
    r["full_year_effect"] = None if pd.isna(r["full_year_effect"]) else float(r["full_year_effect"])
    r["year"] = int(r["year"])
    return ImprovementReport(**r)


def as_dict(report: ImprovementReport) -> dict:
    """The report's fields."""
    return asdict(report)


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
