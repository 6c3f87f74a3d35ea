"""Budget execution (T2.2, P2.2.1-P2.2.3): budget against actual, outlook, cost per contact, improvement reports."""
from datetime import date
import html

import pandas as pd
import streamlit as st

from kpi import competency, metrics, present, reports
from kpi.metrics import format_value, load_catalog
from kpi.present import colon, join_list
from ui.access import require
from ui.auth import actor
from ui.data import query, read, write
from ui.frame import current_filters
from ui.i18n import kpi_label, lang, t
from ui.widgets import (chart, competency_widget, draft, page_table, pick, report_downloads, reset, saved_here, sections,
                        show_table, show_tiles, table_downloads)

cat = load_catalog()
current_filters(used=False)  # the shared sidebar (no filters: none apply here), also when this page runs alone
require("budget")
st.title(t("page.budget"))
years = query(metrics.years)
if not years:
    st.info(t("budget.no_data"))
    st.stop()


def ntd(v) -> str:
    return format_value(cat["budget"], None if v is None or pd.isna(v) else float(v), lang())


def ntd_short(v) -> str:
    """NT$ in 萬 (zh-TW) or millions (en), so a tile's number fits."""
    return present.money_short(v, lang())


def pct(v) -> str:
    return format_value(cat["variance_pct"], None if v is None or pd.isna(v) else float(v), lang())


c1, c2 = st.columns([1, 3])  # twelve months' buttons on one line at 1,500 px (in half the width 10 月 wrapped)
year = pick(c1, t("budget.year"), years, "budget_year")
last = query(metrics.last_actual_month, year)
# Only closed months (with actuals): the report of a month without them would compare nothing.
months = query(metrics.months_with_actuals, year) or [1]
if st.session_state.get("_budget_month_of") != year:  # another year: its latest closed month, not the month before
    reset("budget_month", months[-1])
    st.session_state["_budget_month_of"] = year
month = pick(c2, t("budget.through"), months, "budget_month", index=len(months) - 1,
             format_func=lambda m: t(f"month.short.{m}"))
report = query(metrics.budget_report, year, date(year, month, 1))
if last is None:
    st.warning(t("budget.no_actuals", year=year))
if metrics.budget_coverage(report, lang()):
    st.info(metrics.budget_coverage(report, lang()))

# ---- totals of the cost lines: month, year to date, full year
st.subheader(t("budget.cost_lines"))
tot = report.total


def over_under(variance, budget) -> str | None:
    """A cost total's variance coloured as the table colours a line's: under budget green; over it red when it would
    need an improvement report, amber when not (metrics.cost_variance_status)."""
    return metrics.cost_variance_status(variance, budget, cat.settings)


budget_line = lambda key, value: (html.escape(f"{kpi_label(cat[key])} {ntd_short(value)}"),)  # noqa: E731
def change(v, base=None) -> str | None:
    """A tile's change in the tile's own unit (萬 / M), with its share of base when given: +NT$35.4 萬 (+1.1%)."""
    if v is None or pd.isna(v):
        return None
    shown = present.money_short(v, lang(), signed=True)
    return f"{shown} ({present.percent(v / base, signed=True)})" if base else shown


full_year = tot["full_year_budget"]


def cpc_tile(actual: float | None, budget: float | None) -> present.Tile:
    """The year to date's cost per contact against the budgeted (the budget over the contacts it planned): its
    difference in NT$ and share, coloured as metrics.unit_cost_status judges it."""
    shown = lambda v: format_value(cat["cost_per_contact"], v, lang())  # noqa: E731
    diff = None if actual is None or budget is None else actual - budget
    return present.Tile(
        f"{t('budget.ytd')} · {kpi_label(cat['cost_per_contact'])}", shown(actual) if actual else "—",
        help=cat["cost_per_contact"].text("definition", lang(), cat.settings),
        delta=None if diff is None else f"{present.format_kind(diff, '+money', lang())} "
                                        f"({present.percent(diff / budget, signed=True)})",
        tone=metrics.unit_cost_status(actual, budget, cat.settings),
        small=() if budget is None else (html.escape(f"{t('col.budget_per_contact')} {shown(budget)}"),))
show_tiles([
    present.Tile(f"{t('budget.month')} · {kpi_label(cat['actual'])}", ntd_short(tot["actual_month"]),
                 delta=change(tot["variance_month"], tot["budget_month"]),
                 tone=over_under(tot["variance_month"], tot["budget_month"]), small=budget_line("budget", tot["budget_month"])),
    present.Tile(f"{t('budget.ytd')} · {kpi_label(cat['actual'])}", ntd_short(tot["actual_ytd"]),
                 delta=change(tot["variance_ytd"], tot["budget_ytd"]),
                 tone=over_under(tot["variance_ytd"], tot["budget_ytd"]), small=budget_line("budget", tot["budget_ytd"])),
    present.Tile(kpi_label(cat["latest_estimate"]), ntd_short(tot["latest_estimate"]),
                 delta=change(None if tot["latest_estimate"] is None else tot["latest_estimate"] - full_year, full_year),
                 tone=None if tot["latest_estimate"] is None else over_under(tot["latest_estimate"] - full_year, full_year),
                 small=budget_line("full_year_budget", full_year)),
    present.Tile(kpi_label(cat["run_rate"]), ntd_short(tot["run_rate"]),  # against the full-year budget, as the estimate
                 delta=change(None if tot["run_rate"] is None else tot["run_rate"] - full_year, full_year),
                 tone=None if tot["run_rate"] is None else over_under(tot["run_rate"] - full_year, full_year),
                 help=cat["run_rate"].text("definition", lang(), cat.settings),
                 small=budget_line("full_year_budget", full_year)),
    cpc_tile(report.cost_per_contact, report.budget_per_contact),  # the charts show each month's
], 4)  # four to a row: NT$3,798.2 萬 fits a quarter of the page at 1,500 px, not a fifth
competency_widget("variance")

# ---- the details, one section at a time: a tab each, only the open one drawn (the print view shows them all)
lines_tab, charts_tab, bridge_tab, ir_tab, perf_tab = sections(
    [t("budget.lines"), t("budget.charts"), t("budget.bridge_short"), t("ir.title"), t("report.performance")],
    key="budget_section")
lines = report.lines
as_of = (f"{t('budget.through')}{colon(lang())}{year}-{month:02d}", f"{year}-{month:02d}")
# ---- the line table, coloured by favourable / unfavourable for its line type
if lines_tab[0]:
    with lines_tab[1]:
        money = ["budget_month", "actual_month", "variance_month", "budget_ytd", "actual_ytd", "variance_ytd",
                 "full_year_budget", "latest_estimate", "run_rate"]
        table = lines[["cost_center", "line", "line_type", *money[:6], "variance_pct_ytd", *money[6:], "reforecast",
                       "favourable", "needs_improvement_report"]].copy()
        # how the latest estimate's remaining months were made (catalog latest_estimate): was blank when at budget
        table["reforecast"] = ["—" if pd.isna(le) else t("budget.reforecast") if v else t("budget.rest_at_budget")
                               for v, le in zip(lines["reforecast"], lines["latest_estimate"])]
        table["line_type"] = table["line_type"].map(lambda v: t(f"line_type.{v}"))
        table["favourable"] = table["favourable"].map(lambda v: "—" if v is None or pd.isna(v) else (t("budget.favourable") if v else t("budget.unfavourable")))
        # the month each saved report was written for: one per line and year, said beside the flag
        written = {(r.cost_center, r.line): pd.Timestamp(r.through).date()
                   for r in query(competency.list_reports, year).itertuples()}
        table["needs_improvement_report"] = [  # as the performance report says it: required, written or not yet
            "⚑ " + competency.report_flag(written.get((cc, ln)), date(year, month, 1), lang()) if v else ""
            for cc, ln, v in zip(lines["cost_center"], lines["line"], lines["needs_improvement_report"])]
        cell_status = metrics.variance_status(lines, cat.settings)  # each cell by its own sign, red when material
        flagged = lines["needs_improvement_report"]
        # the outlook columns are KPIs: their names come from the KPI catalog
        outlook = ("full_year_budget", "latest_estimate", "run_rate")
        renamed = {c: kpi_label(cat[c]) if c in outlook else t(f"col.{c}")
                   for c in ["cost_center", "line", "line_type", *money, "variance_pct_ytd", "reforecast", "favourable"]}
        renamed["needs_improvement_report"] = t("col.flag")
        statuses = cell_status.reindex(columns=table.columns).astype(object)
        statuses = statuses.where(statuses.notna(), None)
        statuses["needs_improvement_report"] = ["flag" if x else None for x in flagged]
        lines_table = page_table(table.rename(columns=renamed), [t("page.budget"), t("budget.lines")], *as_of,
                                 kinds={renamed[c]: "money" for c in money} | {renamed["variance_pct_ytd"]: "fraction"},
                                 statuses=statuses.rename(columns=renamed))
        # Two grids, so that every column shows at 1,500 px without scrolling sideways; one download holds them all.
        ytd_columns = ["cost_center", "line", *money[:6], "variance_pct_ytd"]
        outlook_columns = ["cost_center", "line", "line_type", *money[6:], "reforecast", "favourable", "needs_improvement_report"]
        st.markdown(f"**{t('budget.lines_ytd')}**")
        show_table(lines_table.select([renamed[c] for c in ytd_columns]), "budget_lines", downloads=False)
        st.markdown(f"**{t('budget.lines_outlook')}**")
        show_table(lines_table.select([renamed[c] for c in outlook_columns]), "budget_outlook", downloads=False)
        table_downloads(lines_table, "budget_lines")
        settings = cat.settings
        st.caption(t("budget.flag_rule", pct=f"{settings['improvement_report_min_pct']:.0%}",
                     amount=ntd(settings["improvement_report_min_amount"])) + " " + t("budget.colours"))

# ---- charts: monthly budget vs actual, waterfall, cost per contact
if charts_tab[0]:
    with charts_tab[1]:
        series = query(metrics.monthly, year)
        c1, c2 = st.columns(2)
        fig = present.budget_vs_actual(series["month"], series["budget"], series["actual"], kpi_label(cat["budget"]),
                                       kpi_label(cat["actual"]), lang(), title=t("budget.monthly"), height=340,
                                       margin=dict(l=10, r=10, t=40, b=10))
        chart(fig, c1)

        cost = lines[lines["line_type"] == "cost"]
        wf = present.budget_waterfall((t("chart.total_budget"), tot["budget_ytd"] or 0),
                                      [(r.line, 0 if pd.isna(r.variance_ytd) else r.variance_ytd) for r in cost.itertuples()],
                                      t("chart.total_actual"), lang(),  # coloured as the table's YTD variances
                                      statuses=list(metrics.variance_status(cost, cat.settings)["variance_ytd"]),
                                      title=t("budget.waterfall"), height=340, margin=dict(l=10, r=10, t=40, b=10))
        chart(wf, c2)
        c2.caption(t("budget.waterfall_colours"))

        closed = series[series["actual"].notna()]  # a month without actuals is not closed; its contacts are partial
        cpc = present.cost_per_contact_lines(closed["month"], closed["budget_per_contact"], closed["cost_per_contact"],
                                             kpi_label(cat["budget"]), kpi_label(cat["actual"]), lang(), title=t("budget.cpc"),
                                             height=300, margin=dict(l=10, r=10, t=40, b=10))
        chart(cpc)
        st.caption(t("budget.cpc_note"))

# ---- the labour variance bridge (flexed budget, P2.2.2): budget -> volume -> efficiency -> rate -> actual
if bridge_tab[0]:
    with bridge_tab[1]:
        st.markdown(f"**{t('budget.bridge')}**")
        if not report.splits:
            st.info(t("budget.bridge_none"))
        else:
            named = [(line, split) for (_, line), split in report.splits.items()]
            if len(named) > 1 and report.total_split is not None:
                named.append((t("bridge.total"), report.total_split))
            for k, col in enumerate(st.columns(len(named))):
                chart(reports.bridge_chart(named[k][0], named[k][1], lang(), height=320, margin=dict(l=10, r=10, t=40, b=10)),
                      col)
            st.markdown(f"**{t('budget.bridge_sentences')}**")
            # a $ pair would start Markdown's formula mode
            st.markdown("\n".join(f"- {s}".replace("$", "\\$") for s in reports.bridge_sentences(report, lang())))
            bridge = reports.bridge_table(report, lang())
            headed = reports.bridge_headers(lang())
            show_table(page_table(bridge.rename(columns=headed), [t("page.budget"), t("budget.bridge")], *as_of,
                                  kinds={headed[c]: "money" for c in reports.BRIDGE_COLUMNS[2:]}), "budget_bridge")
            st.caption(t("budget.bridge_note"))
            if (lines["line_type"] == "cost").sum() > len(report.splits):
                st.caption(t("budget.bridge_missing"))
        competency_widget("flexed_budget")

# ---- improvement reports for the flagged lines (P2.2.3)
def saved_by(year: int, line_key: tuple[str, str]) -> tuple[str, str]:
    """Who saved a line's report last, and when."""
    saved_all = query(competency.list_reports, year)
    row = saved_all[(saved_all.cost_center == line_key[0]) & (saved_all.line == line_key[1])]
    return ("—", "—") if row.empty else (str(row.iloc[0].updated_by), f"{pd.Timestamp(row.iloc[0].updated_at):%Y-%m-%d %H:%M}")


if ir_tab[0]:
    with ir_tab[1]:
        flagged_lines = lines[lines["needs_improvement_report"]]
        if flagged_lines.empty:
            st.success(t("ir.none_flagged"))
        else:
            keys = [(r.cost_center, r.line) for r in flagged_lines.itertuples()]
            line_key = st.selectbox(t("ir.line"), keys, format_func=lambda k: f"{k[0]} · {k[1]}", key="ir_line",
                                    persist_state="page", placeholder=t("select.placeholder"))
            saved = query(competency.get_report, year, line_key[0], line_key[1])
            row = flagged_lines[(flagged_lines.cost_center == line_key[0]) & (flagged_lines.line == line_key[1])].iloc[0]
            st.markdown(f"**{line_key[1]}** · {t('col.variance_ytd')} {ntd(row.variance_ytd)} ({pct(row.variance_pct_ytd)}) · "
                        f"{kpi_label(cat['latest_estimate'])} {ntd(row.latest_estimate)}")
            # Not a form: a form's text reaches the server only when saved, so a draft was lost when another section
            # opened. Each field is kept for the session (ui.widgets.draft) until it is saved or the user signs out.
            defaults = {"root": saved.root_cause if saved else "", "nature": saved.nature if saved else competency.NATURES[0],
                        "action": saved.action if saved else "", "owner": saved.owner if saved else "",
                        "due": saved.due_date if saved else date(year, 12, 31),
                        "effect": float(saved.full_year_effect or 0) if saved else 0.0,
                        "status": saved.status if saved else competency.STATUSES[0]}
            record = (year, *line_key)
            form_key, replaced = draft(record, saved, defaults)
            if replaced is not None:  # someone else saved this report meanwhile: theirs is shown, this draft below
                by = saved_by(year, line_key)
                st.warning(t("ir.replaced", by=by[0], at=by[1]))
                st.text("\n".join(f"{t(label)}: {replaced[n]}" for n, label in
                                  (("root", "ir.root_cause"), ("action", "ir.action"), ("owner", "ir.owner"))))
            field = lambda name: {"key": f"{form_key}_{name}", "persist_state": "session"}
            root = st.text_area(t("ir.root_cause"), value=defaults["root"], **field("root"))
            nature = st.radio(t("ir.nature"), competency.NATURES, format_func=lambda n: t(f"ir.nature.{n}"), horizontal=True,
                              index=competency.NATURES.index(defaults["nature"]), **field("nature"))
            action = st.text_area(t("ir.action"), value=defaults["action"], **field("action"))
            f1, f2, f3, f4 = st.columns(4)
            owner = f1.text_input(t("ir.owner"), value=defaults["owner"], **field("owner"))
            due = f2.date_input(t("ir.due_date"), value=defaults["due"], **field("due"))
            # a cost line's action saves (negative); a revenue line's brings more in (positive): said for each
            effect = f3.number_input(t("ir.effect_input") if row.line_type != "revenue" else t("ir.effect_input_revenue"),
                                     value=defaults["effect"], step=10000.0, format="%.0f",
                                     **field("effect"))  # whole NT$, not 0.00
            status = f4.selectbox(t("ir.status"), competency.STATUSES, format_func=lambda s: t(f"ir.status.{s}"),
                                  placeholder=t("select.placeholder"), index=competency.STATUSES.index(defaults["status"]),
                                  **field("status"))
            entered = {"root": root, "nature": nature, "action": action, "owner": owner, "due": due, "effect": effect,
                       "status": status}
            if st.button(t("ir.save"), type="primary", key=f"save_{form_key}"):  # not "irdraft_": a button is not relabelled
                try:
                    write(competency.save_report, competency.ImprovementReport(
                        year=year, cost_center=line_key[0], line=line_key[1], through=date(year, month, 1), root_cause=root,
                        nature=nature, action=action, owner=owner, due_date=due, full_year_effect=effect, status=status),
                        updated_by=actor())
                    saved_here(record)
                    st.success(t("ir.saved", line=line_key[1]))
                except competency.ReportError as exc:  # the fields left empty, all of them, named as the form names them
                    names = {"root_cause": t("ir.root_cause"), "action": t("ir.action"), "owner": t("ir.owner")}
                    st.error(t("ir.error", error=t("ir.required", fields=join_list(
                        (t("ir.field_named", text=names[f]) for f in exc.fields), lang())) if exc.fields else exc))
            elif entered != defaults:
                st.caption(t("ir.unsaved"))

        st.markdown(f"**{t('ir.list')}**")
        saved_all = query(competency.list_reports, year)
        status_by_line = {(r.cost_center, r.line): r.status for r in saved_all.itertuples()}
        overview = pd.DataFrame({
            t("col.cost_center"): flagged_lines["cost_center"], t("col.line"): flagged_lines["line"],
            t("col.variance_ytd"): flagged_lines["variance_ytd"],
            t("ir.status"): [t(f"ir.status.{status_by_line[k]}") if k in status_by_line else t("ir.missing")
                             for k in zip(flagged_lines["cost_center"], flagged_lines["line"])],
        })
        show_table(page_table(overview, [t("page.budget"), t("ir.list")], *as_of, kinds={t("col.variance_ytd"): "money"}),
                   "ir_overview")
        if not saved_all.empty:
            saved_table = competency.reports_table(saved_all, lang())
            st.markdown(f"**{t('ir.saved_heading', year=year)}**")  # the table had no heading under the list above
            show_table(page_table(saved_table.frame, [t("page.budget"), t("ir.title")], str(year), str(year),
                                  kinds=saved_table.kinds), "ir_saved")

# ---- the performance report (O2.2.1) of the month, from the same numbers
if perf_tab[0]:
    with perf_tab[1]:
        if last is None:  # no month closed this year: nothing to report against the budget
            st.info(t("budget.no_actuals", year=year))
        else:
            report_downloads(f"perf_{year}_{month}_{lang()}", lambda: read(reports.performance_report, date(year, month, 1), lang()),
                             [t("report.title.performance"), f"{year}-{month:02d}"])
