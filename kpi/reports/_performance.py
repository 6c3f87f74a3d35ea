"""The performance report (績效報告, O2.2.1 of T2.2) of a month: budget execution year to date with improvement
reports, and the KPIs of the month against their targets. One function per section."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb
import pandas as pd

from .. import competency, metrics
from ..auth.access import Scope
from ..competency import load_competency_map
from ..metrics import Catalog, load_catalog
from ..present import (
    budget_vs_actual,
    check_lang,
    format_kind,
    is_missing,
    join_list,
    money,
    paren,
    print_layout,
    t,
    variance_bars,
)
from ._bridge import BRIDGE_COLUMNS, bridge_chart, bridge_headers, bridge_sentences, bridge_table
from ._common import competency_section, fav, kpi_entries, kpi_table, meta_lines, month_end, ntd, pct, section
from ._model import Report, Section

__all__ = ["PERFORMANCE_OUTPUT", "PERFORMANCE_TASK", "PERFORMANCE_SECTIONS", "performance_report"]

PERFORMANCE_OUTPUT, PERFORMANCE_TASK = "O2.2.1", "T2.2"
PERFORMANCE_SECTIONS = ("summary", "totals", "monthly", "lines", "bridge", "improvement", "kpis", "competency")


@dataclass
class _Month:
    """What every section of one month's report reads."""

    con: duckdb.DuckDBPyConnection
    month: date
    end: date
    previous: tuple[date, date]
    lang: str
    cat: Catalog
    rep: metrics.BudgetReport
    status: dict[str, metrics.KpiValue]
    flagged: pd.DataFrame
    saved: dict[tuple[str, str], Any]
    with_target: list[str]
    by_channel: dict[Any, dict[str, metrics.KpiValue]]  # KPIs judged per channel are reported per channel
    last_year: tuple[dict[str, metrics.KpiValue], dict[Any, dict[str, metrics.KpiValue]]] | None  # where data exists
    scope: Scope | None = None  # the reader's: a role without the budget is refused the report

    def label(self, kid: str) -> str:
        return self.cat[kid].text("label", self.lang)

    def scoped(self, kid: str, scope: str) -> str:
        """A KPI's label for the month or the year to date: 當月預算 / Budget (month)."""
        return t("report.scoped", self.lang, scope=t(scope, self.lang), label=self.label(kid))

    def rule(self) -> str:
        s = self.cat.settings
        return t("perf.rule", self.lang, pct=f"{s['improvement_report_min_pct']:.0%}", amount=ntd(s["improvement_report_min_amount"]))


def _check_actuals(con: duckdb.DuckDBPyConnection, month: date) -> None:
    cur = con.cursor()  # cursor per call: a shared connection is not thread-safe
    try:
        has_actuals = cur.execute("SELECT count(*) FROM budget WHERE period = ? AND actual IS NOT NULL", [month]).fetchone()[0]
    finally:
        cur.close()
    if not has_actuals:
        # A year to date through a month without actuals would set 11 months of actuals against 12 of budget.
        last = metrics.last_actual_month(con, month.year)
        hint = f"the last month with actuals in {month.year} is {last:%Y-%m}" if last else f"{month.year} has no actuals"
        raise ValueError(f"--month {month:%Y-%m}: the budget has no actuals for that month ({hint})")


def _load(con: duckdb.DuckDBPyConnection, month: date, lang: str, scope: Scope | None) -> _Month:
    rep = metrics.budget_report(con, month.year, month, scope=scope)
    end = month_end(month)
    status = metrics.kpi_status(con, month, end, scope=scope)
    flagged = rep.lines[rep.lines["needs_improvement_report"]]
    saved = {(r.cost_center, r.line): competency.get_report(con, month.year, r.cost_center, r.line, scope=scope)
             for r in flagged.itertuples(index=False)}
    cat = load_catalog()
    return _Month(con, month, end, metrics.previous_range(month, end), lang, cat, rep, status, flagged, saved,
                  [kid for kid, kv in status.items() if kv.target is not None],
                  metrics.group_status(con, month, end, "channel", scope=scope), _same_month_last_year(con, month, scope),
                  scope)


def _same_month_last_year(con: duckdb.DuckDBPyConnection, month: date, scope: Scope | None):
    """The same calendar month a year before, (values, by channel), when the contacts reach back to its first day."""
    before = date(month.year - 1, month.month, 1)
    with con.cursor() as cur:
        first = cur.execute("SELECT min(arrived_at)::DATE FROM contacts").fetchone()[0]
    if first is None or first > before:
        return None
    end = month_end(before)
    return (metrics.kpi_status(con, before, end, scope=scope),
            metrics.group_status(con, before, end, "channel", scope=scope))


def _line_names(lines: pd.DataFrame, lang: str) -> list[str]:
    return [paren(r.line, r.cost_center, lang) for r in lines.itertuples(index=False)]


def _summary(m: _Month) -> Section:
    lang, t_, rt = m.lang, m.rep.total, m.rep.revenue_total
    ps, pe = m.previous
    paras = [t("perf.period", lang, month=f"{m.month:%Y-%m}", year=m.month.year, m=m.month.month, month_name=f"{m.month:%B}",
               start=m.month, end=m.end, ps=ps, pe=pe),
             t("perf.cost", lang, actual=ntd(t_["actual_ytd"]), budget=ntd(t_["budget_ytd"]),
               variance=ntd(t_["variance_ytd"], True), pct=pct(t_["variance_pct_ytd"]), fav=fav(t_["favourable"], lang) or "—",
               fy=ntd(t_["full_year_budget"]), le=ntd(t_["latest_estimate"]), rr=ntd(t_["run_rate"]))]
    if metrics.budget_coverage(m.rep, lang):
        paras.append(metrics.budget_coverage(m.rep, lang))
    if rt["budget_ytd"] is not None:
        paras.append(t("perf.revenue", lang, actual=ntd(rt["actual_ytd"]), budget=ntd(rt["budget_ytd"]),
                       variance=ntd(rt["variance_ytd"], True), pct=pct(rt["variance_pct_ytd"]),
                       fav=fav(rt["favourable"], lang) or "—"))
    if m.rep.cost_per_contact is not None:
        cpc, bpc = m.rep.cost_per_contact, m.rep.budget_per_contact
        paras.append(t("perf.cpc", lang, cpc=money(cpc, decimals=1), answered=f"{m.rep.answered_ytd:,}") if bpc is None
                     else t("perf.cpc_budget", lang, cpc=money(cpc, decimals=1), answered=f"{m.rep.answered_ytd:,}",
                            budget=money(bpc, decimals=1), diff=money(cpc - bpc, decimals=1, signed=True),
                            pct=pct((cpc - bpc) / bpc)))
    if len(m.flagged):
        paras.append(t("perf.flagged", lang, n=len(m.flagged), k=sum(v is not None for v in m.saved.values()),
                       lines=join_list(_line_names(m.flagged, lang), lang)))
    else:
        paras.append(t("perf.none_flagged", lang))
    entries = kpi_entries(m.cat, m.status, m.with_target, lang, m.by_channel)  # KPIs judged per channel, per channel
    counts = {s: sum(kv.status == s for _, _, kv in entries) for s in ("good", "warning", "bad", "uncertain")}
    paras.append(t("perf.kpis", lang, n=len(entries), **counts))
    bad = [label for _, label, kv in entries if kv.status == "bad"]
    if bad:
        paras.append(t("perf.kpis_bad", lang, kpis=join_list(bad, lang)))
    paras.append(t("meta.amounts", lang))
    return section("summary", lang, paras)


def _month_pct(f: Mapping[str, Any]) -> float | None:
    b, v = f["budget_month"], f["variance_month"]
    return None if v is None or not b else v / abs(b)


def _totals(m: _Month) -> Section:
    """Rows are measures, so each row carries its own kind."""
    lang, c, r, sc = m.lang, m.rep.total, m.rep.revenue_total, m.scoped
    measures = [
        (sc("budget", "scope.month"), "ntd", c["budget_month"], r["budget_month"]),
        (sc("actual", "scope.month"), "ntd", c["actual_month"], r["actual_month"]),
        (sc("variance", "scope.month"), "+ntd", c["variance_month"], r["variance_month"]),
        (sc("variance_pct", "scope.month"), "+fraction", _month_pct(c), _month_pct(r)),
        (sc("budget", "scope.ytd"), "ntd", c["budget_ytd"], r["budget_ytd"]),
        (sc("actual", "scope.ytd"), "ntd", c["actual_ytd"], r["actual_ytd"]),
        (sc("variance", "scope.ytd"), "+ntd", c["variance_ytd"], r["variance_ytd"]),
        (sc("variance_pct", "scope.ytd"), "+fraction", c["variance_pct_ytd"], r["variance_pct_ytd"]),
        (t("col.favourable", lang), "text", fav(c["favourable"], lang), fav(r["favourable"], lang)),
        (m.label("full_year_budget"), "ntd", c["full_year_budget"], r["full_year_budget"]),
        (m.label("latest_estimate"), "ntd", c["latest_estimate"], r["latest_estimate"]),
        (m.label("run_rate"), "ntd", c["run_rate"], r["run_rate"]),
        (sc("cost_per_contact", "scope.ytd"), "cost", m.rep.cost_per_contact, None),
        (t("report.scoped", lang, scope=t("scope.ytd", lang), label=t("col.budget_per_contact", lang)), "cost",
         m.rep.budget_per_contact, None),
        (sc("answered", "scope.ytd"), "count", m.rep.answered_ytd, None),
    ]
    item, cost_col, rev_col = t("col.item", lang), t("col.cost_lines", lang), t("col.revenue_lines", lang)
    totals = pd.DataFrame([(name, cost, rev) for name, _, cost, rev in measures], columns=[item, cost_col, rev_col])
    return section("totals", lang, [t("meta.amounts", lang)], totals, {cost_col: "row", rev_col: "row"},
                   [k for _, k, _, _ in measures])


def _monthly(m: _Month) -> Section:
    """Monthly budget vs actual (cost lines), actuals only up to the report month."""
    lang = m.lang
    mon = metrics.monthly(m.con, m.month.year, scope=m.scope)
    later = mon["month"] > f"{m.month:%Y-%m}"
    mon.loc[later, ["actual", "cost_per_contact"]] = None
    mon.loc[later, "answered"] = None
    mcols = {"month": t("col.month", lang), **{k: m.label(k) for k in ("budget", "actual", "variance", "answered", "cost_per_contact")},
             "budget_per_contact": t("col.budget_per_contact", lang)}
    mon["variance"] = mon["actual"] - mon["budget"]
    monthly = mon[list(mcols)].rename(columns=mcols).astype(object)
    fig = budget_vs_actual(mon["month"], mon["budget"], mon["actual"], m.label("budget"), m.label("actual"), lang)
    kinds = {mcols["budget"]: "ntd", mcols["actual"]: "ntd", mcols["variance"]: "+ntd", mcols["answered"]: "count",
             mcols["cost_per_contact"]: "cost", mcols["budget_per_contact"]: "cost"}
    return section("monthly", lang, [t("perf.monthly_note", lang)], monthly, kinds,
                   chart=print_layout(fig, t("sec.monthly", lang)))


def _lines(m: _Month) -> Section:
    """Every budget line by cost center, with its variance % as a chart against the report threshold."""
    lang, sc = m.lang, m.scoped
    lk = {"cost_center": t("col.cost_center", lang), "line": t("col.line", lang), "line_type": t("col.line_type", lang),
          "budget_month": sc("budget", "scope.month"), "actual_month": sc("actual", "scope.month"),
          "variance_month": sc("variance", "scope.month"), "budget_ytd": sc("budget", "scope.ytd"),
          "actual_ytd": sc("actual", "scope.ytd"), "variance_ytd": sc("variance", "scope.ytd"),
          "variance_pct_ytd": sc("variance_pct", "scope.ytd"), "favourable": t("col.favourable", lang),
          "needs_improvement_report": t("col.flag", lang),
          **{k: m.label(k) for k in ("full_year_budget", "latest_estimate", "run_rate")}}
    lines = m.rep.lines.astype(object).copy()
    lines["line_type"] = lines["line_type"].map(lambda v: t(f"line_type.{v}", lang) if v in ("cost", "revenue") else v)
    lines["favourable"] = lines["favourable"].map(lambda v: fav(None if is_missing(v) else bool(v), lang))
    lines["needs_improvement_report"] = [
        competency.report_flag(getattr(m.saved.get((r.cost_center, r.line)), "through", None), m.month, lang,
                               short=True) if r.needs_improvement_report else None
        for r in m.rep.lines.itertuples(index=False)]
    lines = lines[list(lk)].rename(columns=lk)
    kinds = {lk[c]: "ntd" for c in ("budget_month", "actual_month", "budget_ytd", "actual_ytd", "full_year_budget",
                                    "latest_estimate", "run_rate")}
    kinds.update({lk["variance_month"]: "+ntd", lk["variance_ytd"]: "+ntd", lk["variance_pct_ytd"]: "+fraction"})
    ordered = m.rep.lines.dropna(subset=["variance_pct_ytd"]).sort_values("variance_pct_ytd")
    fig = variance_bars(_line_names(ordered, lang), ordered["variance_pct_ytd"],
                        metrics.variance_status(ordered, m.cat.settings)["variance_ytd"],
                        [format_kind(v, "+fraction") for v in ordered["variance_pct_ytd"]],
                        m.cat.settings["improvement_report_min_pct"])
    return section("lines", lang, [m.rule()], lines, kinds, chart=print_layout(fig, t("chart.variance_pct", lang)))


def _bridge(m: _Month) -> Section:
    """The labour variance bridge (P2.2.2): per labour line with drivers and in total, budget + volume + efficiency +
    rate = actual year to date, with a sentence each; or what would appear with a drivers sheet."""
    lang, rep = m.lang, m.rep
    if not rep.splits:
        return section("bridge", lang, [t("budget.bridge_none", lang)])
    table = bridge_table(rep, lang)
    heads = bridge_headers(lang)
    kinds = {heads[c]: "+ntd" if c.endswith("_variance") else "ntd" for c in BRIDGE_COLUMNS[2:]}
    several = len(rep.splits) > 1 and rep.total_split is not None
    name, split = (t("bridge.total", lang), rep.total_split) if several else (next(iter(rep.splits))[1],
                                                                               next(iter(rep.splits.values())))
    fig = bridge_chart(name, split, lang)
    return section("bridge", lang, [*bridge_sentences(rep, lang), t("budget.bridge_note", lang)],
                   table.astype(object).rename(columns=heads), kinds, chart=print_layout(fig, name))


def _improvement(m: _Month) -> Section:
    """The improvement reports (P2.2.3) of the flagged lines, or a note that none is written yet."""
    lang = m.lang
    ik = {"cost_center": t("col.cost_center", lang), "line": t("col.line", lang), "variance_ytd": m.scoped("variance", "scope.ytd"),
          "variance_pct_ytd": m.scoped("variance_pct", "scope.ytd"), "favourable": t("col.favourable", lang),
          "root_cause": t("ir.root_cause", lang), "nature": t("ir.nature", lang), "action": t("ir.action", lang),
          "owner": t("ir.owner", lang), "due_date": t("ir.due_date", lang), "full_year_effect": t("ir.effect", lang),
          "status": t("ir.status", lang), "through": t("col.through", lang)}
    irows = []
    for r in m.flagged.itertuples(index=False):
        ir = m.saved[(r.cost_center, r.line)]
        row = {"cost_center": r.cost_center, "line": r.line, "variance_ytd": r.variance_ytd, "variance_pct_ytd": r.variance_pct_ytd,
               "favourable": fav(r.favourable, lang), "root_cause": t("ir.missing", lang)}
        if ir is not None:
            row.update(root_cause=ir.root_cause, nature=t(f"ir.nature.{ir.nature}", lang), action=ir.action, owner=ir.owner,
                       due_date=ir.due_date, full_year_effect=ir.full_year_effect, status=t(f"ir.status.{ir.status}", lang),
                       through=f"{ir.through:%Y-%m}")
        irows.append(row)
    frame = pd.DataFrame(irows, columns=list(ik)).astype(object).rename(columns=ik)
    paras = [m.rule()] + ([] if len(m.flagged) else [t("perf.none_flagged", lang)])
    return section("improvement", lang, paras, frame, {ik["variance_ytd"]: "+ntd", ik["variance_pct_ytd"]: "+fraction",
                                                       ik["due_date"]: "date", ik["full_year_effect"]: "+ntd"})


def _kpis(m: _Month) -> Section:
    frame, row_kinds, col_kinds = kpi_table(m.cat, m.status, m.with_target, m.lang, m.by_channel, m.last_year)
    ps, pe = m.previous
    paras = [t("perf.kpi_period", m.lang, start=m.month, end=m.end, ps=ps, pe=pe)]
    if m.last_year:
        paras.append(t("perf.kpi_last_year", m.lang, month=f"{m.month.year - 1}-{m.month.month:02d}"))
    return section("kpis", m.lang, paras + [t("perf.kpi_note", m.lang)], frame, col_kinds, row_kinds)


def performance_report(con: duckdb.DuckDBPyConnection, month: date, lang: str = "zh-TW", *,
                       scope: Scope | None = None) -> Report:
    """The performance report (O2.2.1) of a month: budget execution year to date with improvement reports, KPIs vs
    targets (those of the rows within the scope). Refused to a role without the budget."""
    check_lang(lang)
    metrics.require(scope, "budget")
    month = month.replace(day=1)
    _check_actuals(con, month)
    cmap = load_competency_map()
    generated_at = datetime.now()
    m = _load(con, month, lang, scope)
    sections = [_summary(m), _totals(m), _monthly(m), _lines(m), _bridge(m), _improvement(m), _kpis(m),
                competency_section(cmap, "perf", PERFORMANCE_OUTPUT, PERFORMANCE_TASK, lang)]
    return Report("performance", lang, t("report.title.performance", lang), f"{month:%Y-%m}",
                  meta_lines(cmap, PERFORMANCE_OUTPUT, PERFORMANCE_TASK, lang, generated_at), sections, generated_at)
