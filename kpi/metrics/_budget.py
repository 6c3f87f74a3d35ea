"""Budget against actual for a year through a month: per line and in total, month and year to date, outlook."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import duckdb
import pandas as pd

from ..auth.access import Scope
from ..present import join_list, t
from ..store import checked_sql
from ._catalog import load_catalog
from ._engine import kpi_records
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
    cost_per_contact: float | None  # actual cost YTD / contacts answered in the closed months to date
    answered_ytd: int
    # the same months' budget / the contacts it planned (None without a like-for-like figure: _cost_per_contact)
    budget_per_contact: float | None = None
    budget_months: tuple[int, ...] = tuple(range(1, 13))  # the months (1-12) the year's budget covers
    # (cost_center, line) -> the year-to-date variance split of a line with drivers in every month counted (else absent)
    splits: dict[tuple[str, str], "VarianceSplit"] = field(default_factory=dict)
    total_split: "VarianceSplit | None" = None  # the cost lines' splits summed (None when no line has one)


def budget_coverage(rep: BudgetReport, lang: str) -> str | None:
    """What a year whose budget leaves months out counts (its full-year budget, latest estimate and run rate cover
    those months alone): 2026 年的預算只涵蓋 9 月至 12 月（4 個月）…; None for a budget of all twelve months."""
    months = sorted(rep.budget_months)
    if not months or len(months) == 12:
        return None
    name = lambda m: t(f"month.short.{m}", lang)  # noqa: E731
    span = (t("budget.month_span", lang, first=name(months[0]), last=name(months[-1]))
            if len(months) > 1 and months[-1] - months[0] == len(months) - 1 else join_list(map(name, months), lang))
    return t("budget.partial_year", lang, year=rep.year, months=span, n=len(months))


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


def material(variance: Any, budget: Any, min_pct: float, min_amount: float) -> bool:
    """The improvement-report rule: |variance| at least min_pct of |budget|, or at least min_amount NT$."""
    if variance is None or pd.isna(variance):
        return False
    share = None if budget is None or pd.isna(budget) or not budget else abs(variance) / abs(budget)
    return abs(variance) >= min_amount or (share is not None and share >= min_pct)


def _figures(budget_ytd, actual_ytd, budget_month, actual_month, full_year, elapsed: int, line_type: str,
             min_pct: float, min_amount: float, recurring: bool = False, year_months: int = 12) -> dict[str, Any]:
    """year_months: the months the year's budget covers (12, or fewer for a centre whose budget starts mid-year): the
    run rate is the pace to date over those months, comparable with the full-year budget."""
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
    flag = material(variance_ytd, budget_ytd, min_pct, min_amount)
    return {
        "budget_month": budget_month, "actual_month": actual_month, "variance_month": variance_month,
        "budget_ytd": budget_ytd, "actual_ytd": actual_ytd, "variance_ytd": variance_ytd, "variance_pct_ytd": pct,
        "favourable": _favourable(line_type, variance_ytd),
        "favourable_month": _favourable(line_type, variance_month),
        "needs_improvement_report": bool(flag),
        "full_year_budget": full_year,
        "latest_estimate": None if actual_ytd is None or remaining is None else actual_ytd + remaining * pace,
        "reforecast": reforecast,
        "run_rate": None if actual_ytd is None or not elapsed else actual_ytd / elapsed * year_months,
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
    # The months the year's budget covers: a budget from September on is a 4-month year (its run rate x4, not x12).
    budget_months = tuple(m for (m,) in cur.execute(checked_sql(
        "SELECT DISTINCT month(period) FROM budget WHERE year(period) = ? AND budget IS NOT NULL ORDER BY 1"),
        [year]).fetchall())
    year_months = len(budget_months) or 12
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
                                r.line_type, min_pct, min_amount, (r.cost_center, r.line) in recurring, year_months)})
    frame = pd.DataFrame(rows, columns=LINE_COLUMNS)

    def total(kind: str) -> dict[str, Any]:
        part = lines[lines.line_type == kind]
        sums = [part[c].sum(min_count=1) for c in ("budget_ytd", "actual_ytd", "budget_month", "actual_month", "full_year")]
        figures = _figures(*sums, elapsed, kind, min_pct, min_amount, year_months=year_months)
        # The outlook of a total is the sum of its lines' outlooks (some of them reforecast).
        mine = frame[frame.line_type == kind]
        if mine["reforecast"].any():
            # a line with no actual yet still counts: its whole remaining budget
            plain = (mine["actual_ytd"].astype("Float64").fillna(0) + mine["full_year_budget"].astype("Float64").fillna(0)
                     - mine["budget_ytd"].astype("Float64").fillna(0))
            figures["latest_estimate"] = float(mine["latest_estimate"].astype("Float64").fillna(plain).sum())
            figures["reforecast"] = True
        return figures

    splits = _line_splits(cur, year, months) if through else {}
    cpc, bpc, answered = (_cost_per_contact(cur, year, months, answered_by_month(con, year)) if through
                          else (None, None, 0))
    cur.close()
    cost_splits = [sp for (cc, line), sp in splits.items()
                   if (frame[(frame.cost_center == cc) & (frame.line == line)].line_type == "cost").any()]
    return BudgetReport(year=year, through=through, lines=frame, total=total("cost"), revenue_total=total("revenue"),
                        cost_per_contact=cpc, answered_ytd=answered, budget_per_contact=bpc, budget_months=budget_months,
                        splits=splits,
                        total_split=sum_splits(cost_splits) if cost_splits else None)


def answered_by_month(con: duckdb.DuckDBPyConnection, year: int) -> dict[date, int]:
    """The catalog's answered contacts (inbound contacts and callbacks) per month of the year, by its first day; a
    month without contacts is left out. From the contacts' rollup, as every page's counts: a year of raw contacts is
    a scan of every row (at 100M contacts 2-3 s, three times per budget page)."""
    rows = kpi_records(con, date(year, 1, 1), date(year, 12, 31), "month", kpis=["answered"])
    return {date.fromisoformat(f"{r['key']}-01"): int(r["answered"]) for r in rows if r["answered"] == r["answered"]}


def _answered_sql(months: dict[date, int]) -> tuple[str, dict[str, list]]:
    """SQL of answered_by_month's result as rows (period, answered), with the lists it binds."""
    return ("SELECT unnest($c_periods::DATE[]) AS period, unnest($c_answered::BIGINT[]) AS answered",
            {"c_periods": list(months), "c_answered": list(months.values())})


def months_with_actuals(con: duckdb.DuckDBPyConnection, year: int, *, scope: Scope | None = None) -> list[int]:
    """Months (1-12) of the year that have actuals."""
    require(scope, "budget")
    return [int(m) for (m,) in con.cursor().execute(checked_sql(
        "SELECT DISTINCT month(period) FROM budget WHERE year(period) = ? AND actual IS NOT NULL ORDER BY 1"), [year]).fetchall()]


# The contacts the budget planned per month of year $y: each cost center's largest over its labour lines (which plan
# the same contacts), summed.
_PLANNED = """SELECT period, sum(planned) AS planned FROM (
                 SELECT period, cost_center, max(budget_contacts) AS planned FROM budget_drivers
                 WHERE year(period) = $y GROUP BY ALL) GROUP BY period"""


def _cost_per_contact(cur: duckdb.DuckDBPyConnection, year: int, through_month: int,
                      answered: dict[date, int]) -> tuple[float | None, float | None, int]:
    """(actual, budgeted cost per contact, contacts answered) over one set of months: the closed months (a cost line
    with an actual) up to through_month. Actual: their cost over the contacts they answered. Budgeted: the budget of
    the same cost lines (those with an actual, as the budget to date counts them) over the contacts the budget planned
    (a month without drivers: over those it answered); None unless every one of those months has a budget and such a
    divisor, and the budget is above zero: a budget from September beside actuals from January, or a closed month
    with no contacts, has no like-for-like figure."""
    rows = cur.execute(checked_sql(
        f"""WITH b AS (
             SELECT period, sum(actual) AS actual, sum(budget) FILTER (WHERE actual IS NOT NULL) AS budget
             FROM budget WHERE year(period) = $y AND month(period) <= $m AND line_type = 'cost'
             GROUP BY period HAVING count(actual) > 0),
           p AS ({_PLANNED})
           SELECT b.period, b.actual, b.budget, p.planned FROM b LEFT JOIN p USING (period) ORDER BY b.period"""),
        {"y": year, "m": through_month}).fetchall()
    contacts = sum(answered.get(period, 0) for period, *_ in rows)
    cost = sum(float(actual) for _, actual, _, _ in rows)
    divisors = [float(planned) if planned and planned > 0 else answered.get(period, 0)
                for period, _, _, planned in rows]
    budget = sum(float(b) for _, _, b, _ in rows if b is not None)
    like_for_like = rows and all(b is not None for _, _, b, _ in rows) and all(d > 0 for d in divisors) and budget > 0
    return (cost / contacts if contacts else None, budget / sum(divisors) if like_for_like else None, int(contacts))


def monthly(con: duckdb.DuckDBPyConnection, year: int, line_type: str = "cost", *,
            scope: Scope | None = None) -> pd.DataFrame:
    """Per month of the year: budget, actual (months with actuals), contacts answered, cost per contact actual and budgeted.

    Budgeted cost per contact divides the month's budget by the contacts the budget planned (budgeted_contacts: the
    budget drivers' budgeted contacts, each cost center's largest over its labour lines, which plan the same contacts),
    else by the contacts the center actually answered that month; a month without actuals (not closed yet) has none.
    """
    require(scope, "budget")
    answered, values = _answered_sql(answered_by_month(con, year))
    return con.cursor().execute(checked_sql(
        f"""WITH b AS (
             SELECT period, sum(budget) AS budget, sum(actual) AS actual FROM budget
             WHERE year(period) = $y AND line_type = $t GROUP BY period),
           c AS ({answered}),
           p AS ({_PLANNED})
           SELECT strftime(b.period, '%Y-%m') AS month, b.budget, b.actual, coalesce(c.answered, 0) AS answered,
             CASE WHEN c.answered > 0 THEN b.actual / c.answered END AS cost_per_contact,
             CASE WHEN b.actual IS NULL THEN NULL WHEN p.planned > 0 THEN b.budget / p.planned
                  WHEN c.answered > 0 THEN b.budget / c.answered END AS budget_per_contact,
             p.planned AS budgeted_contacts
           FROM b LEFT JOIN c USING (period) LEFT JOIN p USING (period) ORDER BY b.period"""),
        {"y": year, "t": line_type, **values}).df()


def years(con: duckdb.DuckDBPyConnection, *, scope: Scope | None = None) -> list[int]:
    """Years that have budget rows, newest first."""
    require(scope, "budget")
    return [int(y) for (y,) in con.cursor().execute(
        "SELECT DISTINCT year(period) FROM budget ORDER BY 1 DESC").fetchall()]


def cost_variance_status(variance: Any, budget: Any, settings: dict[str, Any] | None = None) -> str | None:
    """A cost total's variance (actual - budget) judged as variance_status judges a cost line's: under budget good;
    over budget bad when it is material by the improvement-report rule (the settings' share of budget or amount),
    warning when it is not (the tiles' +NT$0.8 萬 (+0.3%) was as red as the table's reportable lines); None when
    there is none. For the budget page's tiles."""
    if variance is None or pd.isna(variance) or variance == 0:  # no variance: no colour on a tile
        return None
    settings = settings or load_catalog().settings
    return _status(variance < 0, material(variance, budget, settings["improvement_report_min_pct"],
                                          settings["improvement_report_min_amount"]))


def unit_cost_status(actual: Any, budget: Any, settings: dict[str, Any] | None = None) -> str | None:
    """Actual cost per contact against the budgeted, judged as cost_variance_status judges a total but on the share
    alone (the rule's NT$ amount is a line's, not a contact's): at or under budget good; over it bad from the settings'
    share of the budget, warning below it; None without both."""
    if actual is None or budget is None or pd.isna(actual) or pd.isna(budget) or not budget:
        return None
    settings = settings or load_catalog().settings
    variance = actual - budget
    return _status(variance <= 0, abs(variance) / abs(budget) >= settings["improvement_report_min_pct"])


def _status(favourable: Any, material: bool) -> str | None:
    """A variance's status: favourable good; unfavourable bad when material by the improvement-report rule, else
    warning; None when unknown."""
    if favourable is None or pd.isna(favourable):
        return None
    return "good" if favourable else ("bad" if material else "warning")


def variance_status(lines: pd.DataFrame, settings: dict[str, Any] | None = None) -> pd.DataFrame:
    """good / warning / bad per variance cell of budget_report().lines, each by its own sign and the line's type: the
    month's variance by the month, the year-to-date ones by the year to date (None where there is no variance).
    Favourable: good. Unfavourable: bad when it is material by the improvement-report rule (the settings' share of
    the budget or amount; the year to date: the line's flag), warning when it is not (an overspend of NT$39 is not
    the same red as one of 47%)."""
    settings = settings or load_catalog().settings
    min_pct, min_amount = settings["improvement_report_min_pct"], settings["improvement_report_min_amount"]

    ytd = [_status(f, bool(flag)) for f, flag in zip(lines["favourable"], lines["needs_improvement_report"])]
    month = [_status(r.favourable_month, material(r.variance_month, r.budget_month, min_pct, min_amount))
             for r in lines.itertuples(index=False)]
    return pd.DataFrame({"variance_month": month, "variance_ytd": ytd, "variance_pct_ytd": ytd, "favourable": ytd},
                        index=lines.index)


# ----------------------------------------------------------------------------------------------------------------------
# The flexed budget and the labour variance split (T2.2, P2.2.2)

_WHOLE = Decimal(1)  # amounts of the split are whole NT$: a flexed budget of NT$3,959,999.6 is NT$3,960,000


def _dec(x: Any) -> Decimal | None:
    """A stored number as the Decimal it was written as (224338.0 -> 224338, 0.12 -> 0.12, not 0.1199999...)."""
    if x is None or (isinstance(x, float) and x != x) or x is pd.NA:
        return None
    return x if isinstance(x, Decimal) else Decimal(repr(float(x)))


@dataclass(frozen=True)
class VarianceSplit:
    """A labour line's variance (actual - budget) in three parts that sum to it exactly: volume = flexed budget -
    budget; efficiency = (actual hours - actual contacts x budgeted hours per contact) x budgeted rate; rate = actual
    cost - actual hours x budgeted rate. Flexed budget = actual contacts x budgeted hours per contact x budgeted rate.
    Amounts in whole NT$ (the two products are rounded half up, then the parts are differences: no drift)."""

    budget: Decimal
    actual: Decimal
    flexed_budget: Decimal
    volume: Decimal
    efficiency: Decimal
    rate: Decimal
    budget_contacts: Decimal | None  # None where the drivers give no budgeted contacts (hours per contact given)
    actual_contacts: Decimal
    allowed_hours: Decimal  # actual contacts x budgeted hours per contact
    actual_hours: Decimal
    budget_rate_cost: Decimal  # actual hours x budgeted rate (rounded)

    @property
    def variance(self) -> Decimal:
        return self.actual - self.budget

    def jsonable(self) -> dict[str, float]:
        """{volume, efficiency, rate, flexed_budget} as JSON numbers."""
        return {k: float(getattr(self, k)) for k in ("volume", "efficiency", "rate", "flexed_budget")}

    @property
    def volume_pct(self) -> float | None:
        """Actual contacts over budgeted ones - 1 (None without budgeted contacts)."""
        return float(self.actual_contacts / self.budget_contacts - 1) if self.budget_contacts else None

    @property
    def hours_per_contact(self) -> tuple[float, float] | None:
        """(budgeted, actual) paid hours per actual contact."""
        if not self.actual_contacts:
            return None
        return float(self.allowed_hours / self.actual_contacts), float(self.actual_hours / self.actual_contacts)

    @property
    def hourly_rate(self) -> tuple[float, float] | None:
        """(budgeted, actual) cost per actual paid hour."""
        if not self.actual_hours:
            return None
        return float(self.budget_rate_cost / self.actual_hours), float(self.actual / self.actual_hours)


def split_variance(budget: Any, actual: Any, actual_contacts: Any, hours_per_contact: Any, actual_hours: Any,
                   budget_rate: Any, budget_contacts: Any = None) -> VarianceSplit:
    """One labour line's month: the flexed budget and the volume, efficiency and rate variances (see VarianceSplit)."""
    b, a, ac, sh, ah, br = map(_dec, (budget, actual, actual_contacts, hours_per_contact, actual_hours, budget_rate))
    allowed = ac * sh
    flexed = (allowed * br).quantize(_WHOLE, ROUND_HALF_UP)
    at_budget_rate = (ah * br).quantize(_WHOLE, ROUND_HALF_UP)
    return VarianceSplit(budget=b, actual=a, flexed_budget=flexed, volume=flexed - b, efficiency=at_budget_rate - flexed,
                         rate=a - at_budget_rate, budget_contacts=_dec(budget_contacts), actual_contacts=ac,
                         allowed_hours=allowed, actual_hours=ah, budget_rate_cost=at_budget_rate)


def sum_splits(splits: list[VarianceSplit]) -> VarianceSplit:
    """Several months' (or lines') splits as one: each amount, contacts and hours summed. Budgeted contacts are summed
    only when every part has them."""
    def total(name: str) -> Decimal:
        return sum((getattr(s, name) for s in splits), Decimal(0))
    contacts = None if any(s.budget_contacts is None for s in splits) else total("budget_contacts")
    return VarianceSplit(**{k: total(k) for k in ("budget", "actual", "flexed_budget", "volume", "efficiency", "rate",
                                                    "actual_contacts", "allowed_hours", "actual_hours",
                                                    "budget_rate_cost")}, budget_contacts=contacts)


def _standard_hours(r: Any) -> Decimal | None:
    """A drivers row's budgeted paid hours per contact: as given, else budgeted hours / budgeted contacts, else
    AHT / (occupancy x (1 - shrinkage)) in hours."""
    if _dec(r.budget_hours_per_contact) is not None:
        return _dec(r.budget_hours_per_contact)
    hours, contacts = _dec(r.budget_hours), _dec(r.budget_contacts)
    if hours is not None and contacts:
        return hours / contacts
    aht, occupancy = _dec(r.budget_aht_seconds), _dec(r.budget_occupancy)
    if aht is not None and occupancy:
        shrinkage = _dec(r.budget_shrinkage) or Decimal(0)
        return aht / Decimal(3600) / (occupancy * (1 - shrinkage))
    return None


def monthly_splits(con: duckdb.DuckDBPyConnection, year: int, through_month: int = 12, *,
                   scope: Scope | None = None) -> pd.DataFrame:
    """Per labour line with drivers and month with an actual, up to through_month: its VarianceSplit (split; None
    where the month's drivers lack hours per contact, a rate, actual hours or actual contacts). Actual contacts are
    the drivers' own, else the month's answered contacts (the catalog's answered KPI: inbound and callbacks)."""
    require(scope, "budget")
    answered, values = _answered_sql(answered_by_month(con, year))
    cur = con.cursor()
    rows = cur.execute(checked_sql(
        f"""WITH c AS ({answered})
           SELECT b.cost_center, b.line, b.period, b.budget, b.actual, d.*, c.answered
           FROM budget b JOIN budget_drivers d USING (period, cost_center, line) LEFT JOIN c USING (period)
           WHERE year(b.period) = $y AND month(b.period) <= $m AND b.actual IS NOT NULL AND b.budget IS NOT NULL
           ORDER BY b.cost_center, b.line, b.period"""), {"y": year, "m": through_month, **values}).df()
    cur.close()
    out = []
    for r in rows.itertuples(index=False):
        sh, contacts = _standard_hours(r), _dec(r.actual_contacts)
        contacts = contacts if contacts is not None else (_dec(r.answered) or None)
        usable = None not in (sh, contacts, _dec(r.actual_hours), _dec(r.budget_rate))
        out.append({"cost_center": r.cost_center, "line": r.line, "period": r.period, "pay": r.pay,
                    "split": split_variance(r.budget, r.actual, contacts, sh, r.actual_hours, r.budget_rate,
                                            r.budget_contacts) if usable else None})
    return pd.DataFrame(out, columns=["cost_center", "line", "period", "pay", "split"])


def _line_splits(cur: duckdb.DuckDBPyConnection, year: int, through_month: int) -> dict[tuple[str, str], VarianceSplit]:
    """Year to date per line: the months' splits summed, for a line whose every month counted in its variance_ytd (an
    actual up to through_month) has one; the parts then sum to variance_ytd exactly."""
    if not cur.execute("SELECT count(*) FROM budget_drivers WHERE year(period) = ?", [year]).fetchone()[0]:
        return {}  # no drivers: nothing to split, and no month of contacts to count
    months = monthly_splits(cur, year, through_month)
    counted = dict(((cc, line), n) for cc, line, n in cur.execute(checked_sql(
        "SELECT cost_center, line, count(*) FROM budget WHERE year(period) = ? AND month(period) <= ? "
        "AND actual IS NOT NULL AND budget IS NOT NULL GROUP BY ALL"), [year, through_month]).fetchall())
    out = {}
    for (cc, line), part in months.groupby(["cost_center", "line"], sort=True):
        splits = [s for s in part["split"] if s is not None]
        if splits and len(splits) == counted.get((cc, line)):
            out[(cc, line)] = sum_splits(splits)
    return out


def budgeted_hourly_rate(con: duckdb.DuckDBPyConnection, year: int, month: int, *,
                         scope: Scope | None = None) -> tuple[float | None, float | None] | None:
    """(regular, overtime) budgeted loaded hourly rate of the month from the budget drivers, each the hours-weighted
    mean over the lines of that pay type (the plain mean where no hours are given); None without drivers that month."""
    require(scope, "budget")
    rows = dict(con.cursor().execute(checked_sql(
        """SELECT pay, coalesce(sum(budget_rate * budget_hours) / nullif(sum(budget_hours) FILTER (WHERE budget_rate
             IS NOT NULL), 0), avg(budget_rate))
           FROM budget_drivers WHERE year(period) = ? AND month(period) = ? AND budget_rate IS NOT NULL GROUP BY pay"""),
        [year, month]).fetchall())
    if not rows:
        return None
    return rows.get("regular"), rows.get("overtime")
