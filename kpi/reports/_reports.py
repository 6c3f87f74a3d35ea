"""The standard's two written reports: performance report (績效報告, O2.2.1 of T2.2) and customer service report
(客戶服務報告, O4.3.1 of T4.3), as xlsx or print-ready A4 PDF, in zh-TW or English.

A report is built once as plain data (`Report`: ordered `Section`s, each a title, paragraphs, a table, maybe a
chart) from the same kpi functions the pages call; `to_xlsx` and `to_pdf` only render that data, so both files
carry the same figures. Table cells keep raw values (fractions 0-1, seconds, NT$); a column's `kind` says how to
show them (`format_cell` for the PDF, an Excel number format for the xlsx).
"""
from __future__ import annotations

import importlib.util
import io
import math
import numbers
import shutil
import threading
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import plotly.graph_objects as go
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from .. import competency, metrics
from ..metrics import LANGS, Catalog, load_catalog
from ..competency import CompetencyMap, load_competency_map
from ..present import safe_cell

__all__ = ["Section", "Report", "FontNotFound", "performance_report", "service_report", "comment_themes", "format_cell", "to_xlsx",
           "to_pdf", "write_report", "output_format", "chart_unavailable", "FONT_DIRS"]

# ----------------------------------------------------------------------------------------------- texts

# Report-specific texts; KPI names come from the catalog, indicator texts from the competency map.
# Wording follows the pages' (ui/i18n.py) so a reader sees the same terms on screen and on paper.
TEXTS: dict[str, tuple[str, str]] = {
    "performance": ("績效報告", "Performance report"),
    "service": ("客戶服務報告", "Customer service report"),
    "meta.output": ("工作產出 {output}｜工作任務 {task}｜職能基準 {std}", "Work output {output} | task {task} | competency standard {std}"),
    "meta.generated": ("產生時間：{at}", "Generated: {at}"),
    "meta.scope_center": ("範圍：全中心", "Scope: whole center"),
    "meta.scope_team": ("範圍：{team}", "Scope: {team}"),
    "meta.amounts": ("金額單位：新台幣元（NT$）；比率以 % 表示。", "Amounts in NT$; rates shown as %."),
    "month": ("當月", "month"),
    "ytd": ("累計", "YTD"),
    "col.item": ("項目", "Item"),
    "col.cost_lines": ("成本科目合計", "Cost lines"),
    "col.revenue_lines": ("收入科目合計", "Revenue lines"),
    "col.cost_center": ("成本中心", "Cost center"),
    "col.line": ("科目", "Line"),
    "col.line_type": ("類型", "Type"),
    "col.favourable": ("有利/不利", "Fav./unfav."),
    "col.flag": ("改善報告", "Improvement report"),
    "col.month": ("月份", "Month"),
    "col.budget_per_contact": ("預算每通成本", "Budgeted cost per contact"),
    "col.kpi": ("KPI", "KPI"),
    "col.unit": ("單位", "Unit"),
    "col.value": ("實際", "Actual"),
    "col.target": ("目標", "Target"),
    "col.status": ("狀態", "Status"),
    "col.previous": ("前期", "Previous period"),
    "col.change": ("較前期", "Change"),
    "col.team": ("組別", "Team"),
    "col.agent": ("專員", "Agent"),
    "col.scale": ("量表", "Scale"),
    "col.score": ("分數", "Score"),
    "col.responses": ("回覆數", "Responses"),
    "col.share": ("占比", "Share"),
    "col.cumulative": ("累積占比", "Cumulative share"),
    "col.vital_few": ("關鍵少數", "Vital few"),
    "col.category": ("客訴類別", "Category"),
    "col.age_days": ("案齡（天）", "Age (days)"),
    "col.bucket": ("期間", "Period"),
    "col.bucket_start": ("起日", "Starts"),
    "col.theme": ("主題", "Theme"),
    "col.comments": ("留言數", "Comments"),
    "col.example": ("留言範例（個資已遮蔽）", "Example (personal data masked)"),
    "col.responded_at": ("回覆時間", "Responded"),
    "col.comment": ("意見", "Comment"),
    "col.through": ("對應月份", "Review month"),
    "ir.root_cause": ("根本原因", "Root cause"),
    "ir.nature": ("性質", "Nature"),
    "ir.action": ("改善行動", "Action"),
    "ir.owner": ("負責人", "Owner"),
    "ir.due_date": ("完成期限", "Due date"),
    "ir.effect": ("對全年影響", "Full-year effect"),
    "ir.status": ("狀態", "Status"),
    "ir.nature.permanent": ("永久性差異", "Permanent"),
    "ir.nature.timing": ("時間性差異", "Timing"),
    "ir.status.open": ("待處理", "Open"),
    "ir.status.in_progress": ("進行中", "In progress"),
    "ir.status.done": ("已完成", "Done"),
    "ir.missing": ("尚無改善報告", "no report yet"),
    "flag.with_report": ("需要（已提出）", "required (written)"),
    "flag.without_report": ("需要（尚未提出）", "required (missing)"),
    "favourable": ("有利", "favourable"),
    "unfavourable": ("不利", "unfavourable"),
    "line_type.cost": ("成本", "cost"),
    "line_type.revenue": ("收入", "revenue"),
    "status.good": ("達標", "On target"),
    "status.warning": ("注意", "Watch"),
    "status.bad": ("未達標", "Off target"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "none_team": ("（未指定）", "(none)"),
    "no_rows": ("（本期無資料）", "(nothing in this period)"),
    "unit.fraction": ("%", "%"),
    "unit.seconds": ("秒", "s"),
    "unit.hours": ("小時", "h"),
    "unit.count": ("件", "count"),
    "unit.score": ("分", "score"),
    "unit.nps": ("−100～100", "-100..100"),
    "unit.ntd": ("NT$", "NT$"),
    "pp": ("個百分點", "pp"),
    # performance report
    "sec.summary": ("摘要", "Summary"),
    "sheet.summary": ("摘要", "Summary"),
    "sec.totals": ("預算執行總覽", "Budget execution in total"),
    "sheet.totals": ("預算總覽", "Budget totals"),
    "sec.monthly": ("每月預算與實際（成本科目）", "Monthly budget vs actual (cost lines)"),
    "sheet.monthly": ("每月預算", "Monthly"),
    "sec.lines": ("各科目預算執行（依成本中心）", "Budget lines by cost center"),
    "sheet.lines": ("各科目", "Lines"),
    "sec.improvement": ("改善報告（P2.2.3）", "Improvement reports (P2.2.3)"),
    "sheet.improvement": ("改善報告", "Improvement reports"),
    "sec.kpis": ("KPI 達成狀況", "KPIs against targets"),
    "sheet.kpis": ("KPI", "KPIs"),
    "sec.competency": ("職能說明", "Competency note"),
    "sheet.competency": ("職能說明", "Competency"),
    "perf.period": ("報告月份：{month}。預算執行：{year} 年 1 月至 {m} 月（年初至今）。KPI：{start} 至 {end}，與前期 {ps} 至 {pe}（同天數）比較。",
                    "Month: {month}. Budget execution: January to {month_name} {year} (year to date). KPIs: {start} to {end}, against the previous period of the same length, {ps} to {pe}."),
    "perf.kpi_period": ("KPI 期間：{start} 至 {end}，與前期 {ps} 至 {pe}（同天數）比較。",
                        "KPIs: {start} to {end}, against the previous period of the same length, {ps} to {pe}."),
    "perf.cost": ("成本科目累計：實際 {actual}，預算 {budget}，差異 {variance}（{pct}，{fav}）。全年預算 {fy}，最新預估 {le}，年化實際數 {rr}。",
                  "Cost lines, year to date: actual {actual} against a budget of {budget}, variance {variance} ({pct}, {fav}). Full-year budget {fy}, latest estimate {le}, run rate {rr}."),
    "perf.revenue": ("收入科目累計：實際 {actual}，預算 {budget}，差異 {variance}（{pct}，{fav}）。",
                     "Revenue lines, year to date: actual {actual} against a budget of {budget}, variance {variance} ({pct}, {fav})."),
    "perf.cpc": ("每通成本（累計）：{cpc}（接通 {answered} 通）。", "Cost per contact answered, year to date: {cpc} ({answered} answered)."),
    "perf.flagged": ("需提出改善報告的科目 {n} 項，已提出 {k} 項：{lines}。", "{n} line(s) need an improvement report, {k} written: {lines}."),
    "perf.none_flagged": ("沒有科目需要提出改善報告。", "No line needs an improvement report."),
    "perf.kpis": ("有目標的 KPI 共 {n} 項：達標 {good}、注意 {warning}、未達標 {bad}。", "{n} KPIs have a target: {good} on target, {warning} to watch, {bad} off target."),
    "perf.kpis_bad": ("未達標：{kpis}。", "Off target: {kpis}."),
    "perf.rule": ("規則：累計差異率絕對值 ≥ {pct} 且累計差異金額絕對值 ≥ {amount}（targets.yaml）。有利/不利依科目類型：成本科目實際低於預算為有利，收入科目實際高於預算為有利。",
                  "Rule: |variance %| YTD >= {pct} and |variance| YTD >= {amount} (targets.yaml). Favourable depends on the line type: below budget on a cost line, above budget on a revenue line."),
    "perf.monthly_note": ("實際數只列至報告月份；預算每通成本 = 當月預算 ÷ 當月實際接通量（預算表未提供預計服務量）。",
                          "Actuals up to the report month only. Budgeted cost per contact = the month's budget / contacts actually answered that month (the budget sheet carries no planned volume)."),
    "perf.kpi_note": ("狀態：達標＝在目標的好的一側；注意＝未達目標但在警示區間內；未達標＝超出警示區間。較前期為與前一段同天數期間的差（比率以百分點計）。",
                      "Status: on target = on the good side of the target; watch = past it but within the warning band; off target = beyond the band. Change is against the previous period of the same length (rates in percentage points)."),
    "perf.competency": ("本報告為職能基準 {std} {std_name} 之工作任務 {task} 的工作產出 {output}，佐證以下行為指標：",
                        "This report is work output {output} of task {task} in the competency standard {std} {std_name}; it evidences these behaviour indicators:"),
    "perf.P2.2.1": ("見「預算執行總覽」與「各科目預算執行」。", "See Budget execution in total and Budget lines."),
    "perf.P2.2.2": ("本報告即為向利害關係人說明預算執行進度與綜效的文件。", "This report is what communicates budget execution to stakeholders."),
    "perf.P2.2.3": ("見「改善報告」：未達目標的科目與其改善行動。", "See Improvement reports: the lines off target and their actions."),
    "chart.budget": ("預算", "Budget"),
    "chart.actual": ("實際", "Actual"),
    "chart.variance_pct": ("各科目累計差異率", "Variance % YTD by line"),
    "chart.threshold": ("改善報告門檻", "Report threshold"),
    "chart.missing": ("（圖表未產生：{reason}）", "(Chart left out: {reason})"),
    "chart.no_browser": ("此電腦沒有 Chromium 可繪製圖表，請安裝 Debian 套件 chromium",
                         "no Chromium on this machine to draw it; install the Debian package chromium"),
    "chart.no_kaleido": ("未安裝 kaleido（requirements.txt）", "kaleido is not installed (requirements.txt)"),
    # service report
    "sec.satisfaction": ("滿意度檢視（P4.3.1）", "Satisfaction review (P4.3.1)"),
    "sheet.satisfaction": ("滿意度", "Satisfaction"),
    "sec.distributions": ("分數分布", "Score distributions"),
    "sheet.distributions": ("分數分布", "Distributions"),
    "sec.by_team": ("各組滿意度", "Satisfaction by team"),
    "sheet.by_team": ("各組", "By team"),
    "sec.trend": ("滿意度趨勢", "Satisfaction trend"),
    "sheet.trend": ("趨勢", "Trend"),
    "sec.complaints": ("客訴與處理（P4.3.2）", "Complaints and their resolution (P4.3.2)"),
    "sheet.complaints": ("客訴", "Complaints"),
    "sec.backlog": ("未結案客訴（依案齡）", "Open complaints by age"),
    "sheet.backlog": ("未結案", "Open backlog"),
    "sec.pareto": ("客訴類別柏拉圖", "Complaint categories (Pareto)"),
    "sheet.pareto": ("柏拉圖", "Pareto"),
    "sec.problems": ("服務流程問題（P4.3.2）", "Process problems seen (P4.3.2)"),
    "sheet.problems": ("流程問題", "Process problems"),
    "sec.comments": ("低分意見摘錄（滿意度 ≤ 2，個資已遮蔽，P4.3.3）", "Low-score comments (CSAT <= 2, personal data masked, P4.3.3)"),
    "sheet.comments": ("低分意見", "Comments"),
    "sec.recommendations": ("改善建議（P4.3.4）", "Recommendations (P4.3.4)"),
    "sheet.recommendations": ("改善建議", "Recommendations"),
    "svc.period": ("期間：{start} 至 {end}（{days} 天），與前期 {ps} 至 {pe} 比較。", "Period: {start} to {end} ({days} days), against the previous period {ps} to {pe}."),
    "svc.csat": ("顧客滿意度 {csat}（目標 {target}，{status}），淨推薦值 {nps}，平均省力度 {ces}；問卷回覆 {n} 份。",
                 "CSAT {csat} (target {target}, {status}), NPS {nps}, mean CES {ces}; {n} survey responses."),
    "svc.complaints": ("客訴 {n} 件（每千通 {per1000}），結案率 {resolved}，時限內結案率 {in_time}；期末未結案 {open} 件，其中逾期 {past_due} 件。",
                       "{n} complaints ({per1000} per 1,000 answered), {resolved} resolved, {in_time} of them in time; {open} open at the end of the period, {past_due} past due."),
    "svc.vital": ("關鍵少數客訴類別（占累計 80% 以內）：{cats}。", "Vital few complaint categories (up to 80% cumulative): {cats}."),
    "svc.top_rec": ("優先改善的行為指標：{code} {text}", "Behaviour indicator to work on first: {code} {text}"),
    "svc.no_weak": ("本期所有有目標的 KPI 皆達標。", "Every KPI with a target is on target in this period."),
    "svc.by_team_note": ("各組狀態依各組目標（targets.yaml）判定。", "Each team's status is against its own target (targets.yaml)."),
    "svc.trend_note": ("每{grain}一點；首尾期間只含範圍內的日子。", "One point per {grain}; the first and last buckets hold only the days in the range."),
    "grain.week": ("週（ISO 週，週一起）", "ISO week (Monday first)"),
    "grain.month": ("月", "month"),
    "svc.backlog_note": ("截至 {end} 日終仍未結案的客訴（不論何時開立），依開立至今天數分組。", "Complaints still open at the end of {end} (whenever opened), by days since opened."),
    "svc.pareto_note": ("期間內開立的客訴依類別排序；關鍵少數為累積占比達 80% 前的類別。", "Complaints opened in the period by category, most first; the vital few are the categories before the cumulative share reaches 80%."),
    "svc.problems_vital": ("客訴中的流程問題：關鍵少數類別 {cats}，合計占 {share}。", "Process problems in complaints: the vital few categories {cats} make {share} of them."),
    "svc.problems_comments": ("低分（滿意度 ≤ 2）留言 {n} 則，依關鍵詞歸納主題如下（一則留言可屬多個主題）。",
                              "{n} low-score (CSAT <= 2) comments, grouped into themes by key words below (a comment can have more than one theme)."),
    "svc.no_comments": ("此期間沒有低分留言。", "No low-score comments in this period."),
    "svc.comments_note": ("最新 {n} 則，共 {total} 則；電話、電子郵件、身分證及卡號已遮蔽。", "The newest {n} of {total}; phone numbers, e-mail addresses, ID and card numbers are masked."),
    "svc.rec_intro": ("依本期未達標與需注意的 KPI，找出對應的職能行為指標（{std}），依優先順序列出並附具體輔導行動。",
                      "From this period's KPIs off target or to watch to the behaviour indicators of {std} they evidence, in order of priority, each with concrete coaching actions."),
    "svc.competency": ("本報告為職能基準 {std} {std_name} 之工作任務 {task} 的工作產出 {output}，佐證以下行為指標：",
                       "This report is work output {output} of task {task} in the competency standard {std} {std_name}; it evidences these behaviour indicators:"),
    "svc.P4.3.1": ("見「滿意度檢視」「分數分布」「各組滿意度」「滿意度趨勢」。", "See Satisfaction review, Score distributions, Satisfaction by team and Satisfaction trend."),
    "svc.P4.3.2": ("見「客訴與處理」「未結案客訴」「客訴類別柏拉圖」「服務流程問題」。", "See Complaints, Open complaints by age, Pareto and Process problems."),
    "svc.P4.3.3": ("見「低分意見摘錄」：顧客的回饋。", "See Low-score comments: what customers said."),
    "svc.P4.3.4": ("見「改善建議」。", "See Recommendations."),
    "theme.wait": ("等候過久", "Long waits"),
    "theme.transfer": ("轉接", "Transfers"),
    "theme.unresolved": ("問題未解決／需再聯絡", "Not resolved / had to contact again"),
    "theme.staff": ("專員態度與專業", "Agent attitude and knowledge"),
    "theme.other": ("其他不滿", "Other dissatisfaction"),
    "scale.csat": ("滿意度 (1–5)", "CSAT (1-5)"),
    "scale.nps": ("推薦分數 (0–10)", "Likelihood to recommend (0-10)"),
    "scale.ces": ("省力度 (1–7)", "Customer effort (1-7)"),
    "chart.trend": ("顧客滿意度趨勢", "CSAT trend"),
    "chart.target": ("目標", "Target"),
    "chart.complaints": ("件數", "Complaints"),
    "chart.cumulative": ("累積占比", "Cumulative share"),
    "page": ("第 {n} 頁，共 {nb} 頁", "Page {n} of {nb}"),
}

# Low-score comment themes: key words in the comment (Traditional Chinese, as customers write them). A rough cut
# that names what the comments are about; a comment matching none of them counts as "other".
THEMES: dict[str, tuple[str, ...]] = {
    "wait": ("等太久", "等很久", "等了很久", "等好久", "等候", "排隊", "打不進", "太慢", "才接通", "才有人"),
    "transfer": ("轉接", "轉來轉去", "轉了", "被轉"),
    "unresolved": ("沒有解決", "沒解決", "未解決", "沒處理", "依舊", "再打", "沒有下文", "還沒"),
    "staff": ("態度", "專業", "答非所問", "說明不清", "誠意", "沒有幫助", "不耐煩"),
}

PERFORMANCE_OUTPUT, PERFORMANCE_TASK = "O2.2.1", "T2.2"
SERVICE_OUTPUT, SERVICE_TASK = "O4.3.1", "T4.3"
SURVEY_KPIS = ("survey_responses", "csat", "csat_mean", "nps", "ces_mean")
COMPLAINT_KPIS = ("complaints", "complaints_per_1000", "complaint_resolution_rate", "complaint_sla_rate",
                  "median_resolution_hours", "reopen_rate", "escalation_rate", "open_complaints",
                  "open_complaints_past_due")
COMMENT_SAMPLE = 15
TOP_RECOMMENDATIONS = 5


def _t(key: str, lang: str, **kw: Any) -> str:
    text = TEXTS[key][LANGS.index(lang)]
    return text.format(**kw) if kw else text


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")


# ----------------------------------------------------------------------------------------------- data

@dataclass
class Section:
    """One part of a report: a title, paragraphs, optionally a table (and a chart drawn from the same data)."""

    key: str  # stable id, the same in both languages
    title: str
    sheet: str  # xlsx sheet name
    paragraphs: list[str] = field(default_factory=list)
    table: pd.DataFrame | None = None
    kinds: dict[str, str] = field(default_factory=dict)  # column -> kind (see format_cell); absent = text
    row_kinds: list[str] | None = None  # for columns of kind "row" / "+row": each row's own kind (a KPI's unit)
    chart: go.Figure | None = None

    def kind(self, column: str, row: int) -> str:
        """The kind of one cell: the column's, or the row's for columns of kind row/+row."""
        k = self.kinds.get(column, "text")
        if k in ("row", "+row"):
            base = (self.row_kinds or [])[row] if self.row_kinds else "text"
            return _signed(base) if k == "+row" else base
        return k


@dataclass
class Report:
    """A report as data: what it is, its period, and its sections in order."""

    kind: str  # performance | service
    lang: str
    title: str
    period: str
    meta: list[str]
    sections: list[Section]
    generated_at: datetime

    def section(self, key: str) -> Section:
        """The section with this key."""
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(f"no section {key!r} in this report")


# Excel number formats per kind; a leading + is the signed form for variances and changes.
XLSX_FORMATS: dict[str, str] = {
    "ntd": "#,##0", "+ntd": "+#,##0;-#,##0;0",
    "cost": "#,##0.0",  # NT$ per contact: a dollar amount where the decimal matters
    "count": "#,##0", "+count": "+#,##0;-#,##0;0",
    "fraction": "0.0%", "+fraction": "+0.0%;-0.0%;0.0%", "+pp": "+0.0%;-0.0%;0.0%",
    "hours": "0.0", "+hours": "+0.0;-0.0;0.0",
    "seconds": "#,##0", "+seconds": "+#,##0;-#,##0;0",
    "score": "0.00", "+score": "+0.00;-0.00;0.00",
    "nps": "+0;-0;0", "+nps": "+0;-0;0",
    "int": "0",
    "date": "yyyy-mm-dd", "datetime": "yyyy-mm-dd hh:mm",
}
_UNIT_KIND = {"fraction": "fraction", "seconds": "seconds", "hours": "hours", "count": "count", "score": "score",
              "nps": "nps", "ntd": "ntd"}


def _signed(kind: str) -> str:
    # a change of a rate is in percentage points, not a relative %
    return "+pp" if kind == "fraction" else ("+" + kind if "+" + kind in XLSX_FORMATS else kind)


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def format_cell(value: Any, kind: str, lang: str = "zh-TW") -> str:
    """A cell as the PDF shows it: 81.2%, +47.3%, +2.1 pp, 3:05, 30.5 h, 1,234, +621,364, 4.21, +32; — when missing."""
    if _missing(value):
        return "—"
    if isinstance(value, str) or kind == "text":
        return str(value)
    if kind == "date":
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    if kind == "datetime":
        return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M")
    v = float(value)
    signed = kind.startswith("+")
    base = kind.lstrip("+")
    sign = "+" if signed else ""
    if base == "pp":
        return f"{v * 100:+.1f} {_t('pp', lang)}"
    if base == "fraction":
        return f"{v * 100:{sign}.1f}%"
    if base == "seconds":
        total = int(round(abs(v)))
        s = f"{total // 60}:{total % 60:02d}"
        return ("-" if v < 0 and total else ("+" if signed else "")) + s
    if base == "hours":
        return f"{v:{sign}.1f} {_t('unit.hours', lang)}"
    if base in ("count", "ntd"):
        return f"{v:{sign},.0f}"
    if base == "cost":
        return f"{v:,.1f}"
    if base == "nps":
        return f"{v:+.0f}"
    if base == "int":
        return f"{v:.0f}"
    return f"{v:{sign},.2f}"


def _ntd(value: float | None, signed: bool = False) -> str:
    if _missing(value):
        return "—"
    sign = "+" if signed and value > 0 else ("-" if value < 0 else "")
    return f"{sign}NT${abs(value):,.0f}"


def _pct(value: float | None, signed: bool = True) -> str:
    return format_cell(value, "+fraction" if signed else "fraction")


def _fav(value: bool | None, lang: str) -> str | None:
    return None if value is None else _t("favourable" if value else "unfavourable", lang)


def _month_end(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _status_text(status: str | None, lang: str) -> str | None:
    return _t(f"status.{status}", lang) if status else None


def _kpi_table(cat: Catalog, values: Mapping[str, metrics.KpiValue], ids: Iterable[str], lang: str) -> tuple[pd.DataFrame, list[str], dict[str, str]]:
    """KPI, unit, actual, target, status, previous, change: one row per KPI, raw values, each row in its unit."""
    h = {k: _t(f"col.{k}", lang) for k in ("kpi", "unit", "value", "target", "status", "previous", "change")}
    rows, kinds = [], []
    for kid in ids:
        kv, k = values[kid], cat[kid]
        rows.append({h["kpi"]: k.text("label", lang), h["unit"]: _t(f"unit.{k.unit}", lang), h["value"]: kv.value,
                     h["target"]: kv.target, h["status"]: _status_text(kv.status, lang), h["previous"]: kv.previous,
                     h["change"]: kv.change})
        kinds.append(_UNIT_KIND[k.unit])
    frame = pd.DataFrame(rows, columns=list(h.values()))
    col_kinds = {h["value"]: "row", h["target"]: "row", h["previous"]: "row", h["change"]: "+row"}
    return frame, kinds, col_kinds


def _meta(cmap: CompetencyMap, output: str, task: str, lang: str, generated_at: datetime) -> list[str]:
    std = cmap.standard
    return [_t("meta.output", lang, output=cmap.item(output).caption(lang), task=cmap.task(task).caption(lang),
               std=f"{std.code} {std.label(lang)}"),
            _t("meta.generated", lang, at=f"{generated_at:%Y-%m-%d %H:%M}")]


def _competency_section(cmap: CompetencyMap, prefix: str, output: str, task: str, lang: str) -> Section:
    std = cmap.standard
    paras = [_t(f"{prefix}.competency", lang, std=std.code, std_name=std.label(lang), task=cmap.task(task).caption(lang),
                output=cmap.item(output).caption(lang))]
    for code in cmap.task(task).indicators:
        paras.append(f"{code} {cmap.indicator(code).label(lang)} {_t(f'{prefix}.{code}', lang)}")
    return Section("competency", _t("sec.competency", lang), _t("sheet.competency", lang), paras)


def _layout(fig: go.Figure, title: str) -> go.Figure:
    # The CJK font by name: Chromium finds it through fontconfig (fonts-noto-cjk), else Chinese renders as boxes.
    fig.update_layout(title=title, template="plotly_white", font=dict(family="Noto Sans CJK TC, Noto Sans CJK, sans-serif", size=13),
                      margin=dict(l=60, r=30, t=60, b=50), legend=dict(orientation="h", y=-0.15))
    return fig


# ----------------------------------------------------------------------------------------------- performance report

def performance_report(con: duckdb.DuckDBPyConnection, month: date, lang: str = "zh-TW") -> Report:
    """The performance report (O2.2.1) of a month: budget execution year to date with improvement reports, KPIs vs targets."""
    _check_lang(lang)
    month = month.replace(day=1)
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
    cat, cmap = load_catalog(), load_competency_map()
    generated_at = datetime.now()
    rep = metrics.budget_report(con, month.year, month)
    end = _month_end(month)
    status = metrics.kpi_status(con, month, end)
    p_start, p_end = metrics.previous_range(month, end)
    flagged = rep.lines[rep.lines["needs_improvement_report"]]
    saved = {(r.cost_center, r.line): competency.get_report(con, month.year, r.cost_center, r.line)
             for r in flagged.itertuples(index=False)}
    with_target = [kid for kid, kv in status.items() if kv.target is not None]

    # ---- summary
    t, rt = rep.total, rep.revenue_total
    paras = [_t("perf.period", lang, month=f"{month:%Y-%m}", year=month.year, m=month.month, month_name=f"{month:%B}",
                start=month, end=end, ps=p_start, pe=p_end),
             _t("perf.cost", lang, actual=_ntd(t["actual_ytd"]), budget=_ntd(t["budget_ytd"]),
                variance=_ntd(t["variance_ytd"], True), pct=_pct(t["variance_pct_ytd"]), fav=_fav(t["favourable"], lang) or "—",
                fy=_ntd(t["full_year_budget"]), le=_ntd(t["latest_estimate"]), rr=_ntd(t["run_rate"]))]
    if rt["budget_ytd"] is not None:
        paras.append(_t("perf.revenue", lang, actual=_ntd(rt["actual_ytd"]), budget=_ntd(rt["budget_ytd"]),
                        variance=_ntd(rt["variance_ytd"], True), pct=_pct(rt["variance_pct_ytd"]),
                        fav=_fav(rt["favourable"], lang) or "—"))
    if rep.cost_per_contact is not None:
        paras.append(_t("perf.cpc", lang, cpc=f"NT${rep.cost_per_contact:,.1f}", answered=f"{rep.answered_ytd:,}"))
    if len(flagged):
        names = "、" if lang == "zh-TW" else ", "
        paras.append(_t("perf.flagged", lang, n=len(flagged), k=sum(v is not None for v in saved.values()),
                        lines=names.join(f"{r.line}（{r.cost_center}）" if lang == "zh-TW" else f"{r.line} ({r.cost_center})"
                                         for r in flagged.itertuples(index=False))))
    else:
        paras.append(_t("perf.none_flagged", lang))
    counts = {s: sum(status[k].status == s for k in with_target) for s in ("good", "warning", "bad")}
    paras.append(_t("perf.kpis", lang, n=len(with_target), **counts))
    bad = [cat[k].text("label", lang) for k in with_target if status[k].status == "bad"]
    if bad:
        paras.append(_t("perf.kpis_bad", lang, kpis=("、" if lang == "zh-TW" else ", ").join(bad)))
    paras.append(_t("meta.amounts", lang))
    sections = [Section("summary", _t("sec.summary", lang), _t("sheet.summary", lang), paras)]

    # ---- totals: rows are measures, so each row carries its own kind
    def scoped(kid: str, scope: str) -> str:
        label = cat[kid].text("label", lang)
        return f"{_t(scope, lang)}{label}" if lang == "zh-TW" else f"{label} ({_t(scope, lang)})"

    def month_pct(f: Mapping[str, Any]) -> float | None:
        b, v = f["budget_month"], f["variance_month"]
        return None if v is None or not b else v / abs(b)

    item, cost_col, rev_col = _t("col.item", lang), _t("col.cost_lines", lang), _t("col.revenue_lines", lang)
    measures = [
        (scoped("budget", "month"), "ntd", t["budget_month"], rt["budget_month"]),
        (scoped("actual", "month"), "ntd", t["actual_month"], rt["actual_month"]),
        (scoped("variance", "month"), "+ntd", t["variance_month"], rt["variance_month"]),
        (scoped("variance_pct", "month"), "+fraction", month_pct(t), month_pct(rt)),
        (scoped("budget", "ytd"), "ntd", t["budget_ytd"], rt["budget_ytd"]),
        (scoped("actual", "ytd"), "ntd", t["actual_ytd"], rt["actual_ytd"]),
        (scoped("variance", "ytd"), "+ntd", t["variance_ytd"], rt["variance_ytd"]),
        (scoped("variance_pct", "ytd"), "+fraction", t["variance_pct_ytd"], rt["variance_pct_ytd"]),
        (_t("col.favourable", lang), "text", _fav(t["favourable"], lang), _fav(rt["favourable"], lang)),
        (cat["full_year_budget"].text("label", lang), "ntd", t["full_year_budget"], rt["full_year_budget"]),
        (cat["latest_estimate"].text("label", lang), "ntd", t["latest_estimate"], rt["latest_estimate"]),
        (cat["run_rate"].text("label", lang), "ntd", t["run_rate"], rt["run_rate"]),
        (scoped("cost_per_contact", "ytd"), "cost", rep.cost_per_contact, None),
        (scoped("answered", "ytd"), "count", rep.answered_ytd, None),
    ]
    totals = pd.DataFrame([(m, c, r) for m, _, c, r in measures], columns=[item, cost_col, rev_col])
    sections.append(Section("totals", _t("sec.totals", lang), _t("sheet.totals", lang), [_t("meta.amounts", lang)],
                            totals, {cost_col: "row", rev_col: "row"}, [k for _, k, _, _ in measures]))

    # ---- monthly budget vs actual (cost lines), actuals only up to the report month
    mon = metrics.monthly(con, month.year)
    later = mon["month"] > f"{month:%Y-%m}"
    mon.loc[later, ["actual", "cost_per_contact"]] = None
    mon.loc[later, "answered"] = None
    mcols = {"month": _t("col.month", lang), "budget": cat["budget"].text("label", lang), "actual": cat["actual"].text("label", lang),
             "variance": cat["variance"].text("label", lang), "answered": cat["answered"].text("label", lang),
             "cost_per_contact": cat["cost_per_contact"].text("label", lang), "budget_per_contact": _t("col.budget_per_contact", lang)}
    mon["variance"] = mon["actual"] - mon["budget"]
    monthly = mon[list(mcols)].rename(columns=mcols).astype(object)
    fig = go.Figure([go.Bar(x=mon["month"], y=mon["budget"], name=_t("chart.budget", lang), marker_color="#aab7c4"),
                     go.Bar(x=mon["month"], y=mon["actual"], name=_t("chart.actual", lang), marker_color="#2e86c1")])
    fig.update_layout(barmode="group", yaxis=dict(tickformat=",.0f"))
    sections.append(Section("monthly", _t("sec.monthly", lang), _t("sheet.monthly", lang), [_t("perf.monthly_note", lang)],
                            monthly, {mcols["budget"]: "ntd", mcols["actual"]: "ntd", mcols["variance"]: "+ntd",
                                      mcols["answered"]: "count", mcols["cost_per_contact"]: "cost",
                                      mcols["budget_per_contact"]: "cost"},
                            chart=_layout(fig, _t("sec.monthly", lang))))

    # ---- lines by cost center
    lk = {"cost_center": _t("col.cost_center", lang), "line": _t("col.line", lang), "line_type": _t("col.line_type", lang),
          "budget_month": scoped("budget", "month"), "actual_month": scoped("actual", "month"),
          "variance_month": scoped("variance", "month"), "budget_ytd": scoped("budget", "ytd"),
          "actual_ytd": scoped("actual", "ytd"), "variance_ytd": scoped("variance", "ytd"),
          "variance_pct_ytd": scoped("variance_pct", "ytd"), "favourable": _t("col.favourable", lang),
          "needs_improvement_report": _t("col.flag", lang), "full_year_budget": cat["full_year_budget"].text("label", lang),
          "latest_estimate": cat["latest_estimate"].text("label", lang), "run_rate": cat["run_rate"].text("label", lang)}
    lines = rep.lines.astype(object).copy()
    lines["line_type"] = lines["line_type"].map(lambda v: _t(f"line_type.{v}", lang) if f"line_type.{v}" in TEXTS else v)
    lines["favourable"] = lines["favourable"].map(lambda v: _fav(None if _missing(v) else bool(v), lang))
    lines["needs_improvement_report"] = [
        (_t("flag.with_report" if saved.get((r.cost_center, r.line)) else "flag.without_report", lang)
         if r.needs_improvement_report else None) for r in rep.lines.itertuples(index=False)]
    lines = lines[list(lk)].rename(columns=lk)
    line_kinds = {lk[c]: "ntd" for c in ("budget_month", "actual_month", "budget_ytd", "actual_ytd", "full_year_budget",
                                        "latest_estimate", "run_rate")}
    line_kinds.update({lk["variance_month"]: "+ntd", lk["variance_ytd"]: "+ntd", lk["variance_pct_ytd"]: "+fraction"})
    settings = cat.settings
    min_pct = settings["improvement_report_min_pct"]
    ordered = rep.lines.dropna(subset=["variance_pct_ytd"]).sort_values("variance_pct_ytd")
    fig = go.Figure(go.Bar(
        y=[f"{r.line}（{r.cost_center}）" if lang == "zh-TW" else f"{r.line} ({r.cost_center})" for r in ordered.itertuples()],
        x=ordered["variance_pct_ytd"].astype(float) * 100, orientation="h",
        marker_color=["#27ae60" if f else "#c0392b" for f in ordered["favourable"]],
        text=[format_cell(v, "+fraction") for v in ordered["variance_pct_ytd"]], textposition="outside", cliponaxis=False))
    for x in (-min_pct * 100, min_pct * 100):
        fig.add_vline(x=x, line_dash="dot", line_color="#7f8c8d")
    xs = [0.0, *(ordered["variance_pct_ytd"].astype(float) * 100)]
    pad = max(5.0, (max(xs) - min(xs)) * 0.12)  # room for the labels outside the bars
    fig.update_layout(xaxis=dict(ticksuffix="%", range=[min(xs) - pad, max(xs) + pad]), showlegend=False)
    sections.append(Section("lines", _t("sec.lines", lang), _t("sheet.lines", lang),
                            [_t("perf.rule", lang, pct=f"{min_pct:.0%}", amount=_ntd(settings["improvement_report_min_amount"]))],
                            lines, line_kinds, chart=_layout(fig, _t("chart.variance_pct", lang))))

    # ---- improvement reports (P2.2.3) of the flagged lines
    ik = {"cost_center": _t("col.cost_center", lang), "line": _t("col.line", lang), "variance_ytd": scoped("variance", "ytd"),
          "variance_pct_ytd": scoped("variance_pct", "ytd"), "favourable": _t("col.favourable", lang),
          "root_cause": _t("ir.root_cause", lang), "nature": _t("ir.nature", lang), "action": _t("ir.action", lang),
          "owner": _t("ir.owner", lang), "due_date": _t("ir.due_date", lang), "full_year_effect": _t("ir.effect", lang),
          "status": _t("ir.status", lang), "through": _t("col.through", lang)}
    irows = []
    for r in flagged.itertuples(index=False):
        ir = saved[(r.cost_center, r.line)]
        row = {"cost_center": r.cost_center, "line": r.line, "variance_ytd": r.variance_ytd, "variance_pct_ytd": r.variance_pct_ytd,
               "favourable": _fav(r.favourable, lang), "root_cause": _t("ir.missing", lang)}
        if ir is not None:
            row.update(root_cause=ir.root_cause, nature=_t(f"ir.nature.{ir.nature}", lang), action=ir.action, owner=ir.owner,
                       due_date=ir.due_date, full_year_effect=ir.full_year_effect, status=_t(f"ir.status.{ir.status}", lang),
                       through=f"{ir.through:%Y-%m}")
        irows.append(row)
    ir_frame = pd.DataFrame(irows, columns=list(ik)).astype(object).rename(columns=ik)
    ir_paras = [_t("perf.rule", lang, pct=f"{min_pct:.0%}", amount=_ntd(settings["improvement_report_min_amount"]))]
    if not len(flagged):
        ir_paras.append(_t("perf.none_flagged", lang))
    sections.append(Section("improvement", _t("sec.improvement", lang), _t("sheet.improvement", lang), ir_paras, ir_frame,
                            {ik["variance_ytd"]: "+ntd", ik["variance_pct_ytd"]: "+fraction", ik["due_date"]: "date",
                             ik["full_year_effect"]: "+ntd"}))

    # ---- KPIs of the month against targets
    frame, row_kinds, col_kinds = _kpi_table(cat, status, with_target, lang)
    sections.append(Section("kpis", _t("sec.kpis", lang), _t("sheet.kpis", lang),
                            [_t("perf.kpi_period", lang, start=month, end=end, ps=p_start, pe=p_end),
                             _t("perf.kpi_note", lang)], frame, col_kinds, row_kinds))

    sections.append(_competency_section(cmap, "perf", PERFORMANCE_OUTPUT, PERFORMANCE_TASK, lang))
    return Report("performance", lang, _t("performance", lang), f"{month:%Y-%m}",
                  _meta(cmap, PERFORMANCE_OUTPUT, PERFORMANCE_TASK, lang, generated_at), sections, generated_at)


# ----------------------------------------------------------------------------------------------- service report

def comment_themes(comments: Sequence[str], lang: str = "zh-TW") -> pd.DataFrame:
    """Low-score comments by theme (key words of THEMES; a comment may have several, none = other), most first."""
    _check_lang(lang)
    counts: dict[str, int] = {k: 0 for k in (*THEMES, "other")}
    examples: dict[str, str] = {}
    for text in comments:
        hits = [k for k, words in THEMES.items() if any(w in text for w in words)] or ["other"]
        for k in hits:
            counts[k] += 1
            examples.setdefault(k, text)
    total = len(comments)
    rows = [{"theme": k, "comments": n, "share": n / total if total else None, "example": examples.get(k)}
            for k, n in counts.items() if n]
    rows.sort(key=lambda r: -r["comments"])
    frame = pd.DataFrame(rows, columns=["theme", "comments", "share", "example"])
    frame["theme"] = [_t(f"theme.{k}", lang) for k in frame["theme"]]
    return frame.astype(object)


def service_report(con: duckdb.DuckDBPyConnection, start: date, end: date, lang: str = "zh-TW", *,
                   team: str | None = None) -> Report:
    """The customer service report (O4.3.1) of a range: satisfaction, complaints, process problems, recommendations."""
    _check_lang(lang)
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    cat, cmap = load_catalog(), load_competency_map()
    generated_at = datetime.now()
    status = metrics.kpi_status(con, start, end, team=team)
    p_start, p_end = metrics.previous_range(start, end)
    kw = {"team": team}
    period = f"{start} – {end}"

    def vs(kid: str) -> str:
        return format_cell(status[kid].value, _UNIT_KIND[cat[kid].unit], lang)

    pareto = metrics.category_pareto(con, start, end, **kw)
    vital = pareto[pareto["vital_few"]]
    sep = "、" if lang == "zh-TW" else ", "
    vital_text = sep.join(f"{c} {format_cell(s, 'fraction')}" for c, s in zip(vital["category"], vital["share"]))
    plan = competency.coaching_plan(cmap, team or "center", period, status, lang, top=TOP_RECOMMENDATIONS, team=team)

    # ---- summary
    scope = _t("meta.scope_team", lang, team=team) if team else _t("meta.scope_center", lang)
    paras = [_t("svc.period", lang, start=start, end=end, days=(end - start).days + 1, ps=p_start, pe=p_end),
             _t("svc.csat", lang, csat=vs("csat"), target=format_cell(status["csat"].target, "fraction"),
                status=_status_text(status["csat"].status, lang) or "—", nps=vs("nps"), ces=vs("ces_mean"),
                n=vs("survey_responses")),
             _t("svc.complaints", lang, n=vs("complaints"), per1000=vs("complaints_per_1000"),
                resolved=vs("complaint_resolution_rate"), in_time=vs("complaint_sla_rate"), open=vs("open_complaints"),
                past_due=vs("open_complaints_past_due"))]
    if len(vital):
        paras.append(_t("svc.vital", lang, cats=vital_text))
    if len(plan):
        first = plan.iloc[0]
        head = {k: competency.PLAN_COLUMNS[k][LANGS.index(lang)] for k in ("indicator", "indicator_text")}
        paras.append(_t("svc.top_rec", lang, code=first[head["indicator"]], text=first[head["indicator_text"]]))
    else:
        paras.append(_t("svc.no_weak", lang))
    sections = [Section("summary", _t("sec.summary", lang), _t("sheet.summary", lang), paras)]

    # ---- satisfaction review (P4.3.1)
    frame, row_kinds, col_kinds = _kpi_table(cat, status, SURVEY_KPIS, lang)
    sections.append(Section("satisfaction", _t("sec.satisfaction", lang), _t("sheet.satisfaction", lang),
                            [_t("svc.period", lang, start=start, end=end, days=(end - start).days + 1, ps=p_start, pe=p_end),
                             _t("perf.kpi_note", lang)], frame, col_kinds, row_kinds))

    dists = []
    for score in ("csat", "nps", "ces"):
        d = metrics.score_distribution(con, start, end, score, **kw)
        d.insert(0, "scale", _t(f"scale.{score}", lang))
        dists.append(d)
    dk = {"scale": _t("col.scale", lang), "score": _t("col.score", lang), "responses": _t("col.responses", lang),
          "share": _t("col.share", lang)}
    dist = pd.concat(dists, ignore_index=True).astype(object).rename(columns=dk)
    sections.append(Section("distributions", _t("sec.distributions", lang), _t("sheet.distributions", lang), [], dist,
                            {dk["score"]: "int", dk["responses"]: "count", dk["share"]: "fraction"}))

    by_team = metrics.group_status(con, start, end, "team", team=team)
    tk = {"team": _t("col.team", lang), **{kid: cat[kid].text("label", lang) for kid in SURVEY_KPIS},
          "status": f"{cat['csat'].text('label', lang)} {_t('col.status', lang)}" if lang == "en"
          else f"{cat['csat'].text('label', lang)}{_t('col.status', lang)}"}
    trows = []
    for key in sorted(by_team, key=lambda k: (k is None, str(k))):
        v = by_team[key]
        trows.append({"team": key if key is not None else _t("none_team", lang), **{kid: v[kid].value for kid in SURVEY_KPIS},
                      "status": _status_text(v["csat"].status, lang)})
    teams = pd.DataFrame(trows, columns=list(tk)).astype(object).rename(columns=tk)
    sections.append(Section("by_team", _t("sec.by_team", lang), _t("sheet.by_team", lang), [_t("svc.by_team_note", lang)],
                            teams, {tk[kid]: _UNIT_KIND[cat[kid].unit] for kid in SURVEY_KPIS}))

    grain = "week" if (end - start).days <= 100 else "month"
    trend = metrics.survey_trend(con, start, end, grain, **kw)
    rk = {"bucket": _t("col.bucket", lang), "bucket_start": _t("col.bucket_start", lang),
          **{kid: cat[kid].text("label", lang) for kid in SURVEY_KPIS}}
    trend_table = trend[list(rk)].astype(object).rename(columns=rk)
    trend_table[rk["bucket_start"]] = [max(pd.Timestamp(d).date(), start) for d in trend["bucket_start"]]
    target = cat["csat"].target_for(team)[0]
    fig = go.Figure(go.Scatter(x=trend["bucket"], y=trend["csat"].astype(float) * 100, mode="lines+markers",
                               name=cat["csat"].text("label", lang), line=dict(color="#2e86c1", width=3)))
    if target is not None:
        fig.add_hline(y=target * 100, line_dash="dash", line_color="#c0392b",
                      annotation_text=_t("chart.target", lang), annotation_position="top left")
    fig.update_layout(yaxis=dict(ticksuffix="%"), showlegend=False)
    sections.append(Section("trend", _t("sec.trend", lang), _t("sheet.trend", lang),
                            [_t("svc.trend_note", lang, grain=_t(f"grain.{grain}", lang))], trend_table,
                            {rk["bucket_start"]: "date", **{rk[kid]: _UNIT_KIND[cat[kid].unit] for kid in SURVEY_KPIS}},
                            chart=_layout(fig, f"{_t('chart.trend', lang)} ({_t(f'grain.{grain}', lang)})")))

    # ---- complaints and their resolution (P4.3.2)
    frame, row_kinds, col_kinds = _kpi_table(cat, status, COMPLAINT_KPIS, lang)
    sections.append(Section("complaints", _t("sec.complaints", lang), _t("sheet.complaints", lang),
                            [_t("perf.kpi_note", lang)], frame, col_kinds, row_kinds))

    backlog = metrics.open_backlog_by_age(con, end, **kw)
    bk = {"band": _t("col.age_days", lang), "open_complaints": cat["open_complaints"].text("label", lang),
          "open_complaints_past_due": cat["open_complaints_past_due"].text("label", lang)}
    backlog_table = backlog.assign(band=backlog["band"].astype(str))[list(bk)].astype(object).rename(columns=bk)
    sections.append(Section("backlog", _t("sec.backlog", lang), _t("sheet.backlog", lang), [_t("svc.backlog_note", lang, end=end)],
                            backlog_table, {bk["open_complaints"]: "count", bk["open_complaints_past_due"]: "count"}))

    pk = {"category": _t("col.category", lang), "complaints": cat["complaints"].text("label", lang),
          "share": _t("col.share", lang), "cumulative_share": _t("col.cumulative", lang), "vital_few": _t("col.vital_few", lang)}
    pareto_table = pareto.astype(object).copy()
    pareto_table["category"] = [c if c is not None else _t("none_team", lang) for c in pareto["category"]]
    pareto_table["vital_few"] = [_t("yes" if v else "no", lang) for v in pareto["vital_few"]]
    pareto_table = pareto_table[list(pk)].rename(columns=pk)
    cats = [c if c is not None else _t("none_team", lang) for c in pareto["category"]]
    fig = go.Figure([
        go.Bar(x=cats, y=pareto["complaints"], name=_t("chart.complaints", lang),
               marker_color=["#c0392b" if v else "#95a5a6" for v in pareto["vital_few"]]),
        go.Scatter(x=cats, y=pareto["cumulative_share"].astype(float) * 100, name=_t("chart.cumulative", lang),
                   yaxis="y2", mode="lines+markers", line=dict(color="#2c3e50")),
    ])
    fig.add_hline(y=80, line_dash="dot", yref="y2", line_color="#7f8c8d")
    fig.update_layout(yaxis2=dict(overlaying="y", side="right", range=[0, 105], ticksuffix="%", showgrid=False))
    sections.append(Section("pareto", _t("sec.pareto", lang), _t("sheet.pareto", lang), [_t("svc.pareto_note", lang)],
                            pareto_table, {pk["complaints"]: "count", pk["share"]: "fraction", pk["cumulative_share"]: "fraction"},
                            chart=_layout(fig, _t("sec.pareto", lang))))

    # ---- process problems: the vital few categories and what low-score comments are about
    comments = metrics.low_score_comments(con, start, end, limit=1_000_000, **kw)
    themes = comment_themes(list(comments["comment"]), lang)
    hk = {"theme": _t("col.theme", lang), "comments": _t("col.comments", lang), "share": _t("col.share", lang),
          "example": _t("col.example", lang)}
    problem_paras = []
    if len(vital):
        problem_paras.append(_t("svc.problems_vital", lang, cats=vital_text,
                                share=format_cell(float(vital["share"].sum()), "fraction")))
    problem_paras.append(_t("svc.problems_comments", lang, n=len(comments)) if len(comments) else _t("svc.no_comments", lang))
    sections.append(Section("problems", _t("sec.problems", lang), _t("sheet.problems", lang), problem_paras,
                            themes.rename(columns=hk), {hk["comments"]: "count", hk["share"]: "fraction"}))

    ck = {"responded_at": _t("col.responded_at", lang), "team": _t("col.team", lang), "agent_id": _t("col.agent", lang),
          "csat": _t("scale.csat", lang), "nps": _t("scale.nps", lang), "ces": _t("scale.ces", lang),
          "comment": _t("col.comment", lang)}
    sample = comments.head(COMMENT_SAMPLE).astype(object).rename(columns=ck)
    sections.append(Section("comments", _t("sec.comments", lang), _t("sheet.comments", lang),
                            [_t("svc.comments_note", lang, n=len(sample), total=len(comments)) if len(comments)
                             else _t("svc.no_comments", lang)], sample,
                            {ck["responded_at"]: "datetime", ck["csat"]: "int", ck["nps"]: "int", ck["ces"]: "int"}))

    # ---- recommendations (P4.3.4): the weak KPIs' behaviour indicators and their coaching actions
    keep = [competency.PLAN_COLUMNS[k][LANGS.index(lang)] for k in ("rank", "indicator", "indicator_text", "kpis", "coaching")]
    rec_paras = [_t("svc.rec_intro", lang, std=cmap.standard.code)]
    if not len(plan):
        rec_paras.append(_t("svc.no_weak", lang))
    sections.append(Section("recommendations", _t("sec.recommendations", lang), _t("sheet.recommendations", lang), rec_paras,
                            plan[keep].astype(object), {keep[0]: "int"}))

    sections.append(_competency_section(cmap, "svc", SERVICE_OUTPUT, SERVICE_TASK, lang))
    title_period = period if not team else f"{period}｜{team}" if lang == "zh-TW" else f"{period} | {team}"
    meta = _meta(cmap, SERVICE_OUTPUT, SERVICE_TASK, lang, generated_at)
    meta.insert(1, scope)
    return Report("service", lang, _t("service", lang), title_period, meta, sections, generated_at)


# ----------------------------------------------------------------------------------------------- xlsx

_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_MIN_WIDTH, _MAX_WIDTH = 8, 50


def _display_width(text: str) -> int:
    """Columns a line takes: CJK and full-width characters count 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _text(value: str) -> str:
    # every text cell: no control characters xlsx refuses, and never read as a formula
    return safe_cell(ILLEGAL_CHARACTERS_RE.sub("", value))


def _xlsx_value(value: Any) -> Any:
    """A cell as openpyxl takes it: None for missing, Python numbers, dates, formula-safe text."""
    if _missing(value):
        return None
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, bool):
        return _text(str(value))
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, (datetime, date)):
        return value
    if isinstance(value, (list, tuple)):
        return _text("\n".join(str(v) for v in value))
    return _text(str(value))


def _sheet_name(name: str, used: set[str]) -> str:
    base = "".join(c for c in ILLEGAL_CHARACTERS_RE.sub("", name) if c not in "[]:*?/\\")[:31] or "Sheet"
    out, i = base, 2
    while out.lower() in used:
        suffix = f" {i}"
        out, i = base[:31 - len(suffix)] + suffix, i + 1
    used.add(out.lower())
    return out


def to_xlsx(report: Report) -> bytes:
    """The report as an xlsx: one sheet per section, title row, bold header, real numbers with number formats."""
    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    wrap_top = Alignment(wrap_text=True, vertical="top")
    for i, s in enumerate(report.sections):
        ws = wb.create_sheet(_sheet_name(s.sheet or s.title, used))
        table = s.table if s.table is not None else pd.DataFrame()
        columns = [str(c) for c in table.columns]
        # widths from what a reader sees: the formatted value, CJK counted double
        widths = []
        for j, col in enumerate(columns):
            texts = [format_cell(v, s.kind(col, r), report.lang) for r, v in enumerate(table.iloc[:, j])]
            longest = max([_display_width(line) for x in texts for line in x.splitlines()] + [0])
            widths.append(float(min(max(longest, min(_display_width(col), 24)) + 2, _MAX_WIDTH)))
        widths = [max(w, _MIN_WIDTH) for w in widths] or [100.0]
        span = max(len(widths), 1)
        span_width = sum(widths) if len(widths) > 1 else max(widths[0], 100.0)

        def line(row: int, text: str, font: Font | None = None) -> None:
            c = ws.cell(row=row, column=1, value=_text(text))
            c.alignment = wrap_top
            if font:
                c.font = font
            if span > 1:
                ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=span)
            # merged wrapped cells don't grow by themselves: estimate the lines the text needs
            n = max(1, math.ceil(_display_width(text) * 1.1 / max(span_width, 1)))
            ws.row_dimensions[row].height = max(15 * n, 18 if font and font.size and font.size > 12 else 15)

        line(1, s.title, Font(bold=True, size=13))
        line(2, f"{report.title}｜{report.period}" if report.lang == "zh-TW" else f"{report.title} | {report.period}",
             Font(color="666666"))
        row = 3
        if i == 0:
            for m in report.meta:
                line(row, m, Font(color="666666"))
                row += 1
        for p in s.paragraphs:
            line(row, p)
            row += 1
        if s.table is not None:
            row += 1
            header_row = row
            for j, col in enumerate(columns, start=1):
                c = ws.cell(row=header_row, column=j, value=_text(col))
                c.font, c.fill = Font(bold=True), _HEADER_FILL
                c.alignment = Alignment(wrap_text=True, vertical="center")
            for r, values in enumerate(table.itertuples(index=False, name=None)):
                for j, v in enumerate(values, start=1):
                    c = ws.cell(row=header_row + 1 + r, column=j, value=_xlsx_value(v))
                    c.alignment = wrap_top
                    fmt = XLSX_FORMATS.get(s.kind(columns[j - 1], r))
                    if fmt and not isinstance(c.value, str) and c.value is not None:
                        c.number_format = fmt
            if len(columns):
                ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
        for j, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(j)].width = w
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# ----------------------------------------------------------------------------------------------- PDF

FONT_DIRS: tuple[Path, ...] = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
_FONT_FILES = ("NotoSansCJK-Regular.ttc", "NotoSansCJK-Bold.ttc")
_TC = 3  # index of Noto Sans CJK TC in the .ttc collections (JP, KR, SC, TC, HK, ...)
CHART_PX = (1000, 430)
CHART_TIMEOUT_SECONDS = 60.0


class FontNotFound(FileNotFoundError):
    """No Noto Sans CJK font to write Traditional Chinese into the PDF; the message names the package."""


@lru_cache(maxsize=4)
def _cjk_fonts(dirs: tuple[Path, ...]) -> tuple[Path, Path]:
    found: dict[str, Path] = {}
    for d in dirs:
        if d.is_dir():
            for name in _FONT_FILES:
                if name not in found:
                    hit = next(iter(sorted(d.rglob(name))), None)
                    if hit:
                        found[name] = hit
    if _FONT_FILES[0] not in found:
        raise FontNotFound(f"no Noto Sans CJK TC font ({_FONT_FILES[0]}) under {', '.join(map(str, dirs))}: "
                           "install the Debian package fonts-noto-cjk (apt-get install fonts-noto-cjk)")
    regular = found[_FONT_FILES[0]]
    return regular, found.get(_FONT_FILES[1], regular)  # without the bold file, headers are regular weight


def _find_browser() -> str | None:
    """The Chromium kaleido would launch, or None."""
    try:
        from choreographer.browsers.chromium import Chromium  # kaleido's own finder, so we agree with it
        return Chromium.find_browser(skip_local=False)
    except Exception:  # noqa: BLE001 - a changed private API must not break reports: fall back to PATH
        return next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p), None)


_kaleido_lock = threading.Lock()
_kaleido_broken: str | None = None  # set once the renderer hung: later PDFs skip charts at once


def chart_unavailable(lang: str = "en") -> str | None:
    """Why charts can't be drawn here (no kaleido, no Chromium, renderer failed), or None when they can."""
    if importlib.util.find_spec("kaleido") is None:
        return _t("chart.no_kaleido", lang)
    if _find_browser() is None:
        return _t("chart.no_browser", lang)
    return _kaleido_broken


def _chart_png(fig: go.Figure) -> bytes:
    """The figure as PNG through kaleido's shared Chromium (started once per process, ~2 s, then ~0.15 s a chart)."""
    global _kaleido_broken
    import kaleido

    # The sync server answers calls in order through one queue: two threads at once could swap results.
    if not _kaleido_lock.acquire(timeout=CHART_TIMEOUT_SECONDS):
        raise RuntimeError("another chart export is still running")
    try:
        kaleido.start_sync_server(mathjax=False, silence_warnings=True)  # mathjax=False: no CDN fetch
        box: dict[str, Any] = {}

        def run() -> None:
            try:
                box["png"] = kaleido.calc_fig_sync(fig.to_dict(), opts=dict(format="png", width=CHART_PX[0],
                                                                             height=CHART_PX[1], scale=2))
            except BaseException as exc:  # noqa: BLE001 - handed back to the caller below
                box["error"] = exc

        # If Chromium dies at start, the server thread ends and the call would wait forever: bound it.
        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join(CHART_TIMEOUT_SECONDS)
        if worker.is_alive():
            _kaleido_broken = f"the chart renderer did not answer within {CHART_TIMEOUT_SECONDS:g} s"
            raise RuntimeError(_kaleido_broken)
        if "error" in box:
            raise box["error"]
        return box["png"]
    finally:
        _kaleido_lock.release()


def _numeric(kind: str) -> bool:
    return kind not in ("text", "date", "datetime")


_PORTRAIT_WIDTH, _LANDSCAPE_WIDTH = 180.0, 267.0  # A4 less 15 mm margins, mm
_TALL_ROW = 0.45  # a grid row taller than this share of a page reads better as a record


@dataclass
class _Layout:
    orientation: str
    widths: list[float]
    aligns: list[str]
    font_size: float
    records: bool  # one block per row (header: value) instead of a grid
    lead: float  # height of the header and first row: kept on the page of the section's title


def _layout_table(pdf: Any, headers: list[str], rows: list[list[str]], numeric: list[bool], wrap: Any) -> _Layout:
    """Column widths from the text as drawn: numbers never wrap, words don't break; portrait if it fits, else
    smaller type, else landscape; rows too tall for a page become records."""
    pad = 4.0  # cell padding both sides and fpdf2's cell margin

    def widest(texts: Iterable[str]) -> float:
        return max([pdf.get_string_width(t) for t in texts] + [0.0])

    def measure(size: float) -> tuple[list[float], list[float]]:
        natural, minimum = [], []
        for j, h in enumerate(headers):
            pdf.set_font("cjk", "", size)
            lines = [line for row in rows for line in row[j].splitlines()]
            w = widest(lines)
            word = min(widest(x for line in lines for x in line.split()), 30)  # CJK runs have no spaces: cap them
            pdf.set_font("cjk", "B", size)
            hw, hword = widest([h]), min(widest(h.split()), 30)
            if numeric[j]:
                # a header wraps over lines above its numbers, but a number never wraps
                nat = max(w, min(hw, max(hword, w)), 8) + pad
                natural.append(nat)
                minimum.append(nat)
            else:
                natural.append(min(max(w, hw, 8), 75) + pad)
                minimum.append(max(word, hword, 8) + pad)
        return natural, minimum

    choice = None
    for orientation, size in (("P", 8.0), ("P", 7.0), ("L", 8.0), ("L", 7.0), ("L", 6.5)):
        avail = _PORTRAIT_WIDTH if orientation == "P" else _LANDSCAPE_WIDTH
        natural, minimum = measure(size)
        if sum(minimum) <= avail:
            choice = orientation, size, avail, natural, minimum
            break
    if choice is None:
        natural, minimum = measure(6.5)
        choice = "L", 6.5, _LANDSCAPE_WIDTH, natural, minimum
    orientation, size, avail, natural, minimum = choice
    if sum(natural) <= avail:
        widths = natural
    elif sum(minimum) <= avail:
        # give the text columns back what is left, in proportion to how much more they would use
        slack = sum(n - m for n, m in zip(natural, minimum))
        share = (avail - sum(minimum)) / slack if slack else 0.0
        widths = [m + (n - m) * share for n, m in zip(natural, minimum)]
    else:
        widths = [m * avail / sum(minimum) for m in minimum]
    # fpdf2 can't split one table row over two pages: measure the tallest row with the widths chosen
    pdf.set_font("cjk", "", size)
    line_height = size * 0.5
    page_height = (297.0 if orientation == "P" else 210.0) - 30

    def height(cells: list[str]) -> float:
        lines = max(len(pdf.multi_cell(max(w - pad, 1), line_height, text, dry_run=True, output="LINES", wrapmode=wrap))
                    for w, text in zip(widths, cells))
        return lines * line_height + 1.6

    heights = [height(row) for row in rows]
    records = max(heights) > _TALL_ROW * page_height
    pdf.set_font("cjk", "B", size)
    lead = height(headers) + heights[0] if not records else 30.0
    return _Layout("P" if records else orientation, widths, ["RIGHT" if n else "LEFT" for n in numeric], size, records,
                   lead)


def to_pdf(report: Report) -> bytes:
    """The report as a print-ready A4 PDF in Noto Sans CJK TC, tables and charts; a chart that can't be drawn leaves a note."""
    from fpdf import FPDF
    from fpdf.enums import TableCellFillMode, WrapMode
    from fpdf.fonts import FontFace

    regular, bold = _cjk_fonts(FONT_DIRS)
    lang = report.lang
    # WORD keeps "NT$37,527,500" whole and still breaks a run of Chinese (no spaces) between characters
    wrap = WrapMode.WORD
    footer_left = f"{report.title}｜{report.period}" if lang == "zh-TW" else f"{report.title} | {report.period}"

    class Pdf(FPDF):
        def footer(self) -> None:
            self.set_y(-11)
            self.set_font("cjk", "", 7.5)
            self.set_text_color(120)
            half = self.epw / 2
            self.cell(half, 5, footer_left, align="L")
            self.cell(half, 5, _t("page", lang, n=self.page_no(), nb="{nb}"), align="R")

    pdf = Pdf(orientation="P", unit="mm", format="A4")
    pdf.set_margins(15, 14, 15)
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_font("cjk", "", str(regular), collection_font_number=_TC)
    pdf.add_font("cjk", "B", str(bold), collection_font_number=_TC)
    pdf.set_title(f"{report.title} {report.period}")
    pdf.set_lang(lang)
    pdf.set_creator("kpi.reports")

    def paragraph(text: str, size: float = 9.5, color: tuple[int, int, int] = (0, 0, 0)) -> None:
        pdf.set_font("cjk", "", size)
        pdf.set_text_color(*color)
        pdf.multi_cell(0, size * 0.52, text, wrapmode=wrap, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0)
        pdf.ln(1.2)

    def grid(headers: list[str], rows: list[list[str]], aligns: list[list[str]], lay: _Layout) -> None:
        pdf.set_font("cjk", "", lay.font_size)
        with pdf.table(width=sum(lay.widths), col_widths=lay.widths, text_align=lay.aligns, align="LEFT",
                       headings_style=FontFace(emphasis="BOLD", fill_color=(221, 235, 247)),
                       cell_fill_color=(246, 248, 250), cell_fill_mode=TableCellFillMode.ROWS,
                       line_height=lay.font_size * 0.5, padding=(0.8, 1.2), wrapmode=wrap,
                       borders_layout="HORIZONTAL_LINES", repeat_headings=1) as table:
            table.row(headers)
            for cells, cell_aligns in zip(rows, aligns):
                row = table.row()
                for text, align in zip(cells, cell_aligns):
                    row.cell(text, align=align)
        pdf.ln(2)

    def records(headers: list[str], rows: list[list[str]]) -> None:
        # header: value blocks that may run over a page break, for rows too tall for a grid
        pdf.set_font("cjk", "B", 8.5)
        label_w = min(max(pdf.get_string_width(h) for h in headers) + 4, 45)
        for row in rows:
            pdf.set_draw_color(180, 190, 200)
            pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + pdf.epw, pdf.get_y())
            pdf.ln(1.5)
            for h, text in zip(headers, row):
                pdf.set_font("cjk", "B", 8.5)
                if pdf.will_page_break(9):
                    pdf.add_page(orientation=pdf.cur_orientation)
                y, page_no = pdf.get_y(), pdf.page_no()
                pdf.multi_cell(label_w, 4.4, h, wrapmode=wrap, align="L", new_x="RIGHT", new_y="TOP")
                label_bottom = y + 4.4 * len(pdf.multi_cell(label_w, 4.4, h, wrapmode=wrap, dry_run=True, output="LINES"))
                pdf.set_font("cjk", "", 8.5)
                pdf.multi_cell(0, 4.4, text, wrapmode=wrap, align="L", new_x="LMARGIN", new_y="NEXT")
                if pdf.page_no() == page_no and pdf.get_y() < label_bottom:  # a label longer than its value
                    pdf.set_y(label_bottom)
                pdf.ln(0.8)
            pdf.ln(1.5)

    pdf.add_page()
    pdf.set_font("cjk", "B", 20)
    pdf.cell(0, 11, report.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", "", 12)
    pdf.cell(0, 7, report.period, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    for m in report.meta:
        paragraph(m, 8.5, (90, 90, 90))
    pdf.ln(2)

    no_charts = chart_unavailable(lang)
    for s in report.sections:
        headers: list[str] = []
        rows: list[list[str]] = []
        lay = None
        if s.table is not None and len(s.table.columns) and len(s.table):
            headers = [str(c) for c in s.table.columns]
            rows = [[format_cell(v, s.kind(headers[j], r), lang) for j, v in enumerate(values)]
                    for r, values in enumerate(s.table.itertuples(index=False, name=None))]
            # numbers right-aligned cell by cell: a measures table mixes a text row into number columns
            aligns = [["RIGHT" if _numeric(s.kind(h, r)) and not isinstance(v, str) else "LEFT"
                       for h, v in zip(headers, values)] for r, values in enumerate(s.table.itertuples(index=False, name=None))]
            numeric = [all(_numeric(s.kind(h, r)) or rows[r][j] == "—" for r in range(len(rows))) for j, h in enumerate(headers)]
            lay = _layout_table(pdf, headers, rows, numeric, wrap)
        current = getattr(pdf.cur_orientation, "value", pdf.cur_orientation)  # fpdf2 gives an enum
        orientation = lay.orientation if lay else current
        # keep the title, its paragraphs and the table's first row together
        pdf.set_font("cjk", "", 9.5)
        lead = 10 + sum(pdf.multi_cell(0, 9.5 * 0.52, p, wrapmode=wrap, dry_run=True, output="HEIGHT") + 1.2
                        for p in s.paragraphs) + (lay.lead if lay else 0)
        if orientation != current or pdf.will_page_break(max(lead, 30)):
            pdf.add_page(orientation=orientation)
        pdf.set_font("cjk", "B", 13)
        pdf.set_text_color(31, 78, 121)
        pdf.multi_cell(0, 8, s.title, wrapmode=wrap, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0)
        for p in s.paragraphs:
            paragraph(p)
        if lay is not None:
            if lay.records:
                records(headers, rows)
            else:
                grid(headers, rows, aligns, lay)
        elif s.table is not None:
            paragraph(_t("no_rows", lang), 9, (110, 110, 110))
        if s.chart is not None:
            reason, png = no_charts, None
            if reason is None:
                try:
                    png = _chart_png(s.chart)
                except Exception as exc:  # noqa: BLE001 - a chart must not cost the whole report
                    reason = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
            if png is not None:
                w = min(pdf.epw, 180)
                h = w * CHART_PX[1] / CHART_PX[0]
                if pdf.will_page_break(h):
                    pdf.add_page(orientation=pdf.cur_orientation)
                pdf.image(io.BytesIO(png), x=pdf.l_margin, w=w, h=h)
                pdf.ln(3)
            else:
                paragraph(_t("chart.missing", lang, reason=reason), 9.5, (192, 57, 43))
        pdf.ln(3)
    return bytes(pdf.output())


# ----------------------------------------------------------------------------------------------- files

_WRITERS = {".xlsx": to_xlsx, ".pdf": to_pdf}


def output_format(path: str | Path) -> str:
    """The format a path asks for by its suffix (.xlsx or .pdf); anything else is a ValueError."""
    suffix = Path(path).suffix.lower()
    if suffix not in _WRITERS:
        raise ValueError(f"{path}: a report is written as .pdf or .xlsx, not {suffix or 'a file without a suffix'}")
    return suffix


def write_report(report: Report, path: str | Path) -> Path:
    """Write the report as PDF or xlsx, chosen by the path's suffix; returns the path."""
    path = Path(path)
    data = _WRITERS[output_format(path)](report)
    path.write_bytes(data)
    return path
