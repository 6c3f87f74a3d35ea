"""The one translation layer: every label, help text and title in 繁體中文 and English. KPI names come from the catalog."""
from __future__ import annotations

from typing import Any

import streamlit as st

from kpi.catalog import Kpi, format_value

LANGS = {"zh-TW": "繁體中文", "en": "English"}
DEFAULT_LANG = "zh-TW"

# key: (zh-TW, en). Placeholders {name} are filled by t(key, name=...).
TEXT: dict[str, tuple[str, str]] = {
    "app.title": ("客服中心 KPI 儀表板", "Contact-center KPI dashboard"),
    "nav.supervisor": ("主管", "Supervisor"),
    "nav.finance": ("財務", "Finance"),
    "nav.trainer": ("訓練", "Trainer"),
    "nav.data": ("資料", "Data"),
    "page.weekly": ("每週績效", "Weekly performance"),
    "page.quality": ("服務品質 (T4.3)", "Service quality (T4.3)"),
    "page.trainer": ("職能輔導", "Competency coaching"),
    "page.data": ("資料狀態", "Data status"),
    "sidebar.language": ("語言 Language", "語言 Language"),
    "sidebar.week": ("週次", "Week"),
    "sidebar.team": ("組別", "Team"),
    "sidebar.channel": ("管道", "Channel"),
    "sidebar.queue": ("佇列", "Queue"),
    "sidebar.week_help": ("ISO 週（週一至週日）；預設為資料中最近一個完整週。", "ISO week (Monday to Sunday); defaults to the latest complete week in the data."),
    "week.range": ("{week}：{start} 至 {end}", "{week}: {start} to {end}"),
    "last_import": ("最近匯入：{when}（{file}）", "Last import: {when} ({file})"),
    "no_data": ("資料庫沒有進線資料。請到「資料」匯入，或執行 `python -m kpi init --sample`。",
                "The database holds no contacts yet. Import some on the Data pages, or run `python -m kpi init --sample`."),
    "vol.offered": ("進線", "Offered"),
    "vol.answered": ("接通", "Answered"),
    "vol.abandoned": ("放棄", "Abandoned"),
    "vol.surveys": ("問卷回覆", "Surveys received"),
    "vol.complaints": ("客訴", "Complaints received"),
    "status.good": ("達標", "On target"),
    "status.warning": ("注意", "Watch"),
    "status.bad": ("未達標", "Off target"),
    "status.none": ("無目標", "No target"),
    "tile.target": ("目標 {target}", "Target {target}"),
    "tile.vs_prev": ("較前一週", "vs previous week"),
    "weekly.tiles": ("本週關鍵指標", "This week's key numbers"),
    "weekly.trends": ("近 12 週趨勢", "12-week trends"),
    "weekly.target_line": ("目標", "Target"),
    "weekly.heatmap": ("星期 × 時段", "Day of week x hour"),
    "weekly.heatmap_volume": ("進線量", "Contacts offered"),
    "weekly.heatmap_sl": ("服務水準", "Service level"),
    "weekly.teams": ("組別績效", "Teams"),
    "weekly.agents": ("專員績效", "Agents"),
    "weekly.agents_of": ("{team} 的專員", "Agents of {team}"),
    "weekly.pick_team": ("點選組別列即可查看該組專員。", "Select a team row to see its agents."),
    "weekly.attention": ("需要關注", "Needs attention"),
    "weekly.attention_none": ("本週所有組別與專員皆達標。", "Every team and agent is on target this week."),
    "weekly.attention_item": ("{who}：{kpis}", "{who}: {kpis}"),
    "col.team": ("組別", "Team"),
    "col.agent": ("專員", "Agent"),
    "col.hour": ("時段", "Hour"),
    "col.weekday": ("星期", "Day"),
    "col.week": ("週次", "Week"),
    "col.value": ("數值", "Value"),
    "weekday.1": ("週一", "Mon"), "weekday.2": ("週二", "Tue"), "weekday.3": ("週三", "Wed"), "weekday.4": ("週四", "Thu"),
    "weekday.5": ("週五", "Fri"), "weekday.6": ("週六", "Sat"), "weekday.7": ("週日", "Sun"),
    "competency.title": ("對應職能行為指標（BAS1499-003v4）", "Linked behaviour indicators (BAS1499-003v4)"),
    "competency.knowledge": ("知識", "Knowledge"),
    "competency.skills": ("技能", "Skills"),
    "competency.coaching": ("輔導行動", "Coaching actions"),
    "data.counts": ("資料筆數", "Rows stored"),
    "data.history": ("匯入紀錄", "Import history"),
    "data.dataset": ("資料集", "Dataset"),
    "data.rows": ("筆數", "Rows"),
    "data.db": ("資料庫檔案：{path}", "Database file: {path}"),
    "none": ("（無）", "(none)"),
    "period.label": ("期間", "Period"),
    "period.week": ("所選週", "Selected week"),
    "period.4w": ("近 4 週", "Last 4 weeks"),
    "period.13w": ("近 13 週", "Last 13 weeks"),
    "period.range": ("{start} 至 {end}", "{start} to {end}"),
    "quality.satisfaction": ("顧客滿意度", "Customer satisfaction"),
    "quality.trend": ("滿意度趨勢（近 13 週）", "Satisfaction trend (13 weeks)"),
    "quality.distributions": ("分數分布", "Score distributions"),
    "quality.dist_csat": ("滿意度 (1–5)", "CSAT (1-5)"),
    "quality.dist_nps": ("推薦分數 (0–10)", "Likelihood to recommend (0-10)"),
    "quality.dist_ces": ("省力度 (1–7)", "Customer effort (1-7)"),
    "quality.responses": ("回覆數", "Responses"),
    "quality.complaints": ("客訴處理", "Complaint handling"),
    "quality.funnel": ("開立 → 結案 → 時限內結案", "Opened -> resolved -> resolved in time"),
    "quality.stage.opened": ("開立", "Opened"),
    "quality.stage.resolved": ("已結案", "Resolved"),
    "quality.stage.resolved_in_time": ("時限內結案", "Resolved in time"),
    "quality.resolution": ("結案時間分布（小時）", "Time to resolve (hours)"),
    "quality.backlog": ("未結案客訴（依案齡，天）", "Open complaints by age (days)"),
    "quality.backlog_open": ("未逾期", "Not yet due"),
    "quality.backlog_past_due": ("已逾期", "Past due"),
    "quality.pareto": ("客訴類別柏拉圖", "Complaint categories (Pareto)"),
    "quality.cumulative": ("累積比例", "Cumulative share"),
    "quality.count": ("件數", "Count"),
    "quality.comments": ("低分意見（滿意度 ≤ 2，個資已遮蔽）", "Low-score comments (CSAT <= 2, personal data masked)"),
    "quality.no_comments": ("此期間沒有低分意見。", "No low-score comments in this period."),
    "quality.col.responded_at": ("回覆時間", "Responded"),
    "quality.col.comment": ("意見", "Comment"),
    "trainer.intro": ("從未達標的 KPI，找出對應的職能行為指標、要輔導的知識與技能，以及具體輔導行動。",
                      "From the KPIs off target to the behaviour indicators they evidence, the knowledge and skills to coach, and what to do."),
    "trainer.subject": ("對象", "Who"),
    "trainer.kind": ("層級", "Level"),
    "trainer.kind.team": ("組別", "Team"),
    "trainer.kind.agent": ("專員", "Agent"),
    "trainer.weak": ("未達標與需注意的 KPI", "KPIs off target or to watch"),
    "trainer.none_weak": ("{who} 在此期間所有 KPI 皆達標。", "Every KPI of {who} is on target in this period."),
    "trainer.col.kpi": ("KPI", "KPI"),
    "trainer.col.target": ("目標", "Target"),
    "trainer.col.status": ("狀態", "Status"),
    "trainer.col.gap": ("差距（警示區間數）", "Gap (bands)"),
    "trainer.col.change": ("較前期", "vs previous"),
    "trainer.col.worsening": ("惡化中", "Getting worse"),
    "trainer.ranked": ("優先輔導的行為指標", "Behaviour indicators to coach first"),
    "trainer.why": ("分數 {score:.2f} = 嚴重度 {severity:.1f} × 涵蓋率 {coverage:.0%}（{n} 項 KPI）",
                    "Score {score:.2f} = severity {severity:.1f} x coverage {coverage:.0%} ({n} KPIs)"),
    "trainer.kpis": ("相關 KPI", "KPIs behind it"),
    "trainer.heatmap": ("組別 × 工作任務 職能落差", "Team x task competency gaps"),
    "trainer.heatmap_help": ("每格為該組連結到此任務之未達標 KPI 差距總和（以警示區間計，每項最多 3）。",
                             "Each cell sums the gaps (in warning bands, at most 3 each) of the team's weak KPIs linked to the task."),
    "trainer.export": ("匯出輔導計畫（工作績效紀錄 O3.3.1）", "Export the coaching plan (performance record O3.3.1)"),
    "trainer.download_xlsx": ("下載 Excel", "Download Excel"),
    "trainer.download_csv": ("下載 CSV", "Download CSV"),
    "page.budget": ("預算執行 (T2.2)", "Budget execution (T2.2)"),
    "budget.year": ("年度", "Year"),
    "budget.through": ("截至月份", "Through month"),
    "budget.no_data": ("資料庫沒有預算資料。請匯入預算工作簿。", "The database holds no budget. Import the budget workbook."),
    "budget.no_actuals": ("{year} 年尚無實際數。", "No actuals for {year} yet."),
    "budget.month": ("當月", "Month"),
    "budget.ytd": ("年初至今", "Year to date"),
    "budget.full_year": ("全年", "Full year"),
    "budget.cost_lines": ("成本科目合計", "Cost lines in total"),
    "budget.lines": ("各科目預算執行", "Budget lines"),
    "budget.flag": ("需改善報告", "Needs an improvement report"),
    "budget.flag_rule": ("規則：年初至今差異率絕對值 ≥ {pct} 且差異金額絕對值 ≥ {amount}（targets.yaml）。",
                         "Rule: |variance %| YTD >= {pct} and |variance| YTD >= {amount} (targets.yaml)."),
    "budget.favourable": ("有利", "Favourable"),
    "budget.unfavourable": ("不利", "Unfavourable"),
    "budget.monthly": ("每月預算與實際（成本科目）", "Monthly budget vs actual (cost lines)"),
    "budget.waterfall": ("差異瀑布圖：年初至今預算 → 實際", "Variance waterfall: budget to actual, year to date"),
    "budget.cpc": ("每通成本（實際與預算）", "Cost per contact (actual and budget)"),
    "budget.cpc_note": ("預算每通成本 = 當月預算 ÷ 當月實際接通量（預算表未提供預計服務量）。",
                        "Budgeted cost per contact = the month's budget / contacts actually answered that month (the budget sheet carries no planned volume)."),
    "col.cost_center": ("成本中心", "Cost center"),
    "col.line": ("科目", "Line"),
    "col.line_type": ("類型", "Type"),
    "col.budget_month": ("當月預算", "Budget (month)"),
    "col.actual_month": ("當月實際", "Actual (month)"),
    "col.variance_month": ("當月差異", "Variance (month)"),
    "col.budget_ytd": ("累計預算", "Budget YTD"),
    "col.actual_ytd": ("累計實際", "Actual YTD"),
    "col.variance_ytd": ("累計差異", "Variance YTD"),
    "col.variance_pct_ytd": ("累計差異率", "Variance % YTD"),
    "col.full_year_budget": ("全年預算", "Full-year budget"),
    "col.latest_estimate": ("最新預估", "Latest estimate"),
    "col.run_rate": ("年化實際數", "Run rate"),
    "col.favourable": ("有利/不利", "Fav./unfav."),
    "col.flag": ("改善報告", "Improvement report"),
    "line_type.cost": ("成本", "Cost"),
    "line_type.revenue": ("收入", "Revenue"),
    "chart.budget": ("預算", "Budget"),
    "chart.actual": ("實際", "Actual"),
    "chart.total_budget": ("累計預算", "Budget YTD"),
    "chart.total_actual": ("累計實際", "Actual YTD"),
    "ir.title": ("改善報告 (P2.2.3)", "Improvement reports (P2.2.3)"),
    "ir.none_flagged": ("目前沒有需要改善報告的科目。", "No line needs an improvement report."),
    "ir.line": ("科目", "Line"),
    "ir.root_cause": ("根本原因", "Root cause"),
    "ir.nature": ("性質", "Nature"),
    "ir.nature.permanent": ("永久性差異", "Permanent"),
    "ir.nature.timing": ("時間性差異", "Timing"),
    "ir.action": ("改善行動", "Action"),
    "ir.owner": ("負責人", "Owner"),
    "ir.due_date": ("完成期限", "Due date"),
    "ir.effect": ("對全年影響（NT$，負數為節省）", "Effect on the full year (NT$, negative = saving)"),
    "ir.status": ("狀態", "Status"),
    "ir.status.open": ("待處理", "Open"),
    "ir.status.in_progress": ("進行中", "In progress"),
    "ir.status.done": ("已完成", "Done"),
    "ir.save": ("儲存改善報告", "Save the improvement report"),
    "ir.saved": ("已儲存：{line}", "Saved: {line}"),
    "ir.missing": ("尚未填寫", "Not written yet"),
    "ir.list": ("改善報告清單", "Improvement reports"),
    "ir.error": ("無法儲存：{error}", "Not saved: {error}"),
    "quality.competency": ("T4.3 提出服務報告：行為指標", "T4.3 Customer service report: behaviour indicators"),
}


def lang() -> str:
    """The language chosen in the sidebar."""
    return st.session_state.get("lang", DEFAULT_LANG)


def t(key: str, **kw: Any) -> str:
    """The text for key in the current language."""
    zh, en = TEXT[key]
    s = zh if lang() == "zh-TW" else en
    return s.format(**kw) if kw else s


def kpi_label(kpi: Kpi) -> str:
    """A KPI's name in the current language."""
    return kpi.label[lang()]


def fmt(kpi: Kpi, value: float | None) -> str:
    """A KPI value formatted for the current language (%, m:ss, NT$...)."""
    return format_value(kpi, value, lang())


def fmt_change(kpi: Kpi, change: float | None) -> str | None:
    """A change in the KPI's own unit with a sign (+1.2 pp for fractions), or None."""
    if change is None:
        return None
    if kpi.unit == "fraction":
        return f"{change * 100:+.1f} pp" if lang() == "en" else f"{change * 100:+.1f} 個百分點"
    if kpi.unit == "seconds":
        sign = "+" if change >= 0 else "-"
        total = int(round(abs(change)))
        return f"{sign}{total // 60}:{total % 60:02d}"
    if kpi.unit == "count":
        return f"{change:+,.0f}"
    return f"{change:+,.2f}" if kpi.unit == "score" else f"{change:+,.1f}"
