"""Budget against actual for a year through a month: per line and in total, month and year to date, outlook."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import pandas as pd

from ..access import Scope
from ..store import checked_sql
from ._catalog import load_catalog
from ._scope import require

LINE_COLUMNS = [
    "cost_center", "line", "line_type", "budget_month", "actual_month", "variance_month", "budget_ytd", "actual_ytd",
    "variance_ytd", "variance_pct_ytd", "favourable", "needs_improvement_report", "full_year_budget",
    "latest_estimate", "reforecast", "run_rate", "favourable_month",
]
RECURRING_MONTHS = 3  # a variance of the same sign in each of the last 3 booked months recurs


@dataclass(frozen=True)
class BudgetReport:
    year: int
    through: date | None  # first day of the last month counted; None when the year has no actuals
    lines: pd.DataFrame  # LINE_COLUMNS, one row per cost center x line
    total: dict[str, Any]  # the same figures summed over cost lines
    revenue_total: dict[str, Any]  # ... and over revenue lines
    cost_per_contact: float | None  # actual cost YTD / contacts answered YTD
    answered_ytd: int


def last_actual_month(con: duckdb.DuckDBPyConnection, year: int, *, scope: Scope | None = None) -> date | None:
    """The last month of the year that has an actual (refused to a role without the budget)."""
    require(scope, "budget")
    row = con.cursor().execute(checked_sql(
        "SELECT max(period) FROM budget WHERE actual IS NOT NULL AND year(period) = ?"), [year]).fetchone()
    return row[0] if row and row[0] else None


def _favourable(line_type: str, variance: float | None) -> bool | None:
    if variance is None or pd.isna(variance):
        return None
    return variance > 0 if line_type == "revenue" else variance < 0


def _figures(budget_ytd, actual_ytd, budget_month, actual_month, full_year, elapsed: int, line_type: str,
             min_pct: float, min_amount: float, recurring: bool = False) -> dict[str, Any]:
    def val(x):
        return None if x is None or pd.isna(x) else float(x)
    budget_ytd, actual_ytd, budget_month, actual_month, full_year = map(val, (budget_ytd, actual_ytd, budget_month, actual_month, full_year))
    variance_ytd = None if budget_ytd is None or actual_ytd is None else actual_ytd - budget_ytd
    variance_month = None if budget_month is None or actual_month is None else actual_month - budget_month
    pct = None if variance_ytd is None or not budget_ytd else variance_ytd / abs(budget_ytd)
    remaining = None if full_year is None or budget_ytd is None else full_year - budget_ytd
    # A variance that recurs will go on: the remaining months at budget x (actual / budget) to date.
    reforecast = bool(recurring and remaining and budget_ytd)
    pace = actual_ytd / budget_ytd if reforecast else 1.0
    flag = (pct is not None and abs(pct) >= min_pct) or (variance_ytd is not None and abs(variance_ytd) >= min_amount)
    return {
        "budget_month": budget_month, "actual_month": actual_month, "variance_month": variance_month,
        "budget_ytd": budget_ytd, "actual_ytd": actual_ytd, "variance_ytd": variance_ytd, "variance_pct_ytd": pct,
        "favourable": _favourable(line_type, variance_ytd),
        "favourable_month": _favourable(line_type, variance_month),
        "needs_improvement_report": bool(flag),
        "full_year_budget": full_year,
        "latest_estimate": None if actual_ytd is None or remaining is None else actual_ytd + remaining * pace,
        "reforecast": reforecast,
        "run_rate": None if actual_ytd is None or not elapsed else actual_ytd / elapsed * 12,
    }


def _recurring_lines(cur: duckdb.DuckDBPyConnection, year: int, through_month: int) -> set[tuple[str, str]]:
    """Lines whose monthly variance has had the same sign in each of the last RECURRING_MONTHS booked months."""
    rows = cur.execute(checked_sql(
        """WITH m AS (
             SELECT cost_center, line, period, sum(actual) - sum(budget) AS variance,
               row_number() OVER (PARTITION BY cost_center, line ORDER BY period DESC) AS back
             FROM budget WHERE year(period) = $y AND month(period) <= $m AND actual IS NOT NULL AND budget IS NOT NULL
             GROUP BY cost_center, line, period)
           SELECT cost_center, line FROM m WHERE back <= $k GROUP BY cost_center, line
           HAVING count(*) = $k AND (bool_and(variance > 0) OR bool_and(variance < 0))"""),
        {"y": year, "m": through_month, "k": RECURRING_MONTHS}).fetchall()
    return {(cc, line) for cc, line in rows}


def budget_report(con: duckdb.DuckDBPyConnection, year: int, through: date | None = None,
                  settings: dict[str, Any] | None = None, *, scope: Scope | None = None) -> BudgetReport:
    """Budget, actual, variance (actual - budget), variance % of |budget|, favourable (by line type), outlook.
    Refused to a role without the budget (a centre's budget is not split by team)."""
    require(scope, "budget")
    settings = {**load_catalog().settings, **(settings or {})}
    min_pct, min_amount = settings["improvement_report_min_pct"], settings["improvement_report_min_amount"]
    through = (through.replace(day=1) if through else None) or last_actual_month(con, year)
    cur = con.cursor()
    months = through.month if through else 0
    # Months elapsed for the run rate: those with actuals up to `through` (a year whose data starts in
    # September has 4 elapsed months in December, not 12).
    elapsed = cur.execute(checked_sql("SELECT count(DISTINCT period) FROM budget WHERE year(period) = ? AND month(period) <= ? "
                                      "AND actual IS NOT NULL"), [year, months]).fetchone()[0]
    # Year to date runs over the months Jan..through that have an actual, so budget and actual cover the same
    # months (a month not booked yet doesn't count as an underspend); the month figures are the through month alone.
    lines = cur.execute(checked_sql(
        """SELECT cost_center, line, any_value(line_type) AS line_type,
             sum(budget) FILTER (WHERE month(period) <= $m AND actual IS NOT NULL) AS budget_ytd,
             sum(actual) FILTER (WHERE month(period) <= $m) AS actual_ytd,
             sum(budget) FILTER (WHERE month(period) = $m) AS budget_month,
             sum(actual) FILTER (WHERE month(period) = $m) AS actual_month,
             sum(budget) AS full_year
           FROM budget WHERE year(period) = $y GROUP BY cost_center, line ORDER BY cost_center, line"""),
        {"m": months, "y": year}).df()
    recurring = _recurring_lines(cur, year, months)
    rows = []
    for r in lines.itertuples(index=False):
        rows.append({"cost_center": r.cost_center, "line": r.line, "line_type": r.line_type,
                     **_figures(r.budget_ytd, r.actual_ytd, r.budget_month, r.actual_month, r.full_year, elapsed,
                                r.line_type, min_pct, min_amount, (r.cost_center, r.line) in recurring)})
    frame = pd.DataFrame(rows, columns=LINE_COLUMNS)

    def total(kind: str) -> dict[str, Any]:
        part = lines[lines.line_type == kind]
        sums = [part[c].sum(min_count=1) for c in ("budget_ytd", "actual_ytd", "budget_month", "actual_month", "full_year")]
        figures = _figures(*sums, elapsed, kind, min_pct, min_amount)
        # The outlook of a total is the sum of its lines' outlooks (some of them reforecast).
        mine = frame[frame.line_type == kind]
        if mine["reforecast"].any():
            # a line with no actual yet still counts: its whole remaining budget
            plain = (mine["actual_ytd"].astype("Float64").fillna(0) + mine["full_year_budget"].astype("Float64").fillna(0)
                     - mine["budget_ytd"].astype("Float64").fillna(0))
            figures["latest_estimate"] = float(mine["latest_estimate"].astype("Float64").fillna(plain).sum())
            figures["reforecast"] = True
        return figures

    answered = 0
    cpc = None
    if through:
        start = date(year, 1, 1)
        end = date(year + (through.month == 12), through.month % 12 + 1, 1)
        answered = cur.execute(f"SELECT {_answered()} FROM {_contacts()} WHERE arrived_at >= ? AND arrived_at < ?",
                               [start, end]).fetchone()[0]
        cost = total("cost")["actual_ytd"]
        cpc = cost / answered if answered and cost is not None else None
    cur.close()
    return BudgetReport(year=year, through=through, lines=frame, total=total("cost"), revenue_total=total("revenue"),
                        cost_per_contact=cpc, answered_ytd=answered)


def _answered() -> str:
    """The catalog's count of answered contacts (KPI answered: inbound contacts and callbacks), over _contacts()."""
    return load_catalog()["answered"].sql


def _contacts() -> str:
    """The contacts table with the catalog's columns that say which contacts are offered (the direction's)."""
    columns = load_catalog().datasets["contacts"].columns
    return "(SELECT *, " + ", ".join(f"{columns[c]} AS {c}" for c in ("__direction", "__offered")) + " FROM contacts)"


def months_with_actuals(con: duckdb.DuckDBPyConnection, year: int, *, scope: Scope | None = None) -> list[int]:
    """Months (1-12) of the year that have actuals."""
    require(scope, "budget")
    return [int(m) for (m,) in con.cursor().execute(checked_sql(
        "SELECT DISTINCT month(period) FROM budget WHERE year(period) = ? AND actual IS NOT NULL ORDER BY 1"), [year]).fetchall()]


def monthly(con: duckdb.DuckDBPyConnection, year: int, line_type: str = "cost", *,
            scope: Scope | None = None) -> pd.DataFrame:
    """Per month of the year: budget, actual (months with actuals), contacts answered, cost per contact actual and budgeted.

    Budgeted cost per contact divides the month's budget by the contacts the center actually answered that month,
    so a month without actuals (not closed yet) has none.
    """
    require(scope, "budget")
    return con.cursor().execute(checked_sql(
        f"""WITH b AS (
             SELECT period, sum(budget) AS budget, sum(actual) AS actual FROM budget
             WHERE year(period) = $y AND line_type = $t GROUP BY period),
           c AS (
             SELECT date_trunc('month', arrived_at)::DATE AS period, {_answered()} AS answered
             FROM {_contacts()} WHERE year(arrived_at) = $y GROUP BY ALL)
           SELECT strftime(b.period, '%Y-%m') AS month, b.budget, b.actual, coalesce(c.answered, 0) AS answered,
             CASE WHEN c.answered > 0 THEN b.actual / c.answered END AS cost_per_contact,
             CASE WHEN c.answered > 0 AND b.actual IS NOT NULL THEN b.budget / c.answered END AS budget_per_contact
           FROM b LEFT JOIN c USING (period) ORDER BY b.period"""),
        {"y": year, "t": line_type}).df()


def years(con: duckdb.DuckDBPyConnection, *, scope: Scope | None = None) -> list[int]:
    """Years that have budget rows, newest first."""
    require(scope, "budget")
    return [int(y) for (y,) in con.cursor().execute(
        "SELECT DISTINCT year(period) FROM budget ORDER BY 1 DESC").fetchall()]


def variance_status(lines: pd.DataFrame) -> pd.DataFrame:
    """good / bad per variance cell of budget_report().lines, each by its own sign and the line's type: the month's
    variance by the month, the year-to-date ones by the year to date (None where there is no variance)."""
    def status(v: Any) -> str | None:
        return None if v is None or pd.isna(v) else ("good" if v else "bad")
    ytd = lines["favourable"].map(status)
    return pd.DataFrame({"variance_month": lines["favourable_month"].map(status), "variance_ytd": ytd,
                         "variance_pct_ytd": ytd, "favourable": ytd}, index=lines.index)
