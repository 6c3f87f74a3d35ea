"""The customer service report (客戶服務報告, O4.3.1 of T4.3) of a date range: satisfaction, complaints, process
problems, low-score comments and recommendations. One function per section."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import pandas as pd

from .. import competency, metrics
from ..auth.access import Scope
from ..competency import CompetencyMap, load_competency_map
from ..metrics import Catalog, load_catalog
from ..present import (
    LANGS,
    check_lang,
    format_kind,
    join_bar,
    join_list,
    month_label,
    pareto,
    print_layout,
    t,
    trend_line,
    value_label,
)
from ._common import competency_section, kpi_table, meta_lines, section, status_text
from ._model import UNIT_KIND, Report, Section

__all__ = ["SERVICE_OUTPUT", "SERVICE_TASK", "SERVICE_SECTIONS", "SURVEY_KPIS", "COMPLAINT_KPIS", "COMMENT_SAMPLE",
           "TOP_RECOMMENDATIONS", "THEMES", "comment_themes", "service_report"]

# Low-score comment themes: key words in the comment (Traditional Chinese, as customers write them). A rough cut
# that names what the comments are about; a comment matching none of them counts as "other".
THEMES: dict[str, tuple[str, ...]] = {
    "wait": ("等太久", "等很久", "等了很久", "等好久", "等候", "排隊", "打不進", "太慢", "才接通", "才有人"),
    "transfer": ("轉接", "轉來轉去", "轉了", "被轉"),
    "unresolved": ("沒有解決", "沒解決", "未解決", "沒處理", "依舊", "再打", "沒有下文", "還沒"),
    "staff": ("態度", "專業", "答非所問", "說明不清", "誠意", "沒有幫助", "不耐煩"),
}

SERVICE_OUTPUT, SERVICE_TASK = "O4.3.1", "T4.3"
SERVICE_SECTIONS = ("summary", "satisfaction", "distributions", "by_team", "trend", "complaints", "backlog", "pareto",
                    "problems", "comments", "recommendations", "competency")
SURVEY_KPIS = ("survey_responses", "csat", "csat_mean", "nps", "ces_mean")
COMPLAINT_KPIS = ("complaints", "complaints_per_1000", "complaint_resolution_rate", "complaint_sla_rate",
                  "median_resolution_hours", "reopen_rate", "escalation_rate", "open_complaints",
                  "open_complaints_past_due")
COMMENT_SAMPLE = 15
TOP_RECOMMENDATIONS = 5


def comment_themes(comments: Sequence[str], lang: str = "zh-TW") -> pd.DataFrame:
    """Low-score comments by theme (key words of THEMES; a comment may have several, none = other), most first."""
    check_lang(lang)
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
    frame["theme"] = [t(f"theme.{k}", lang) for k in frame["theme"]]
    return frame.astype(object)


@dataclass
class _Range:
    """What every section of one range's report reads."""

    con: duckdb.DuckDBPyConnection
    start: date
    end: date
    team: str | None
    channel: str | None
    queue: str | None
    lang: str
    cat: Catalog
    cmap: CompetencyMap
    settled: metrics.SettledStatus  # the KPIs as the quality page shows them (maturing rates of a span: see .over)
    previous: tuple[date, date]
    pareto: pd.DataFrame
    plan: pd.DataFrame
    comments: pd.DataFrame
    scope: Scope | None  # whose rows: every section reads only them; comments left out for a role without them

    @property
    def kw(self) -> dict[str, str | None]:
        """The filters every section reads its rows with (those of the page the report was made from)."""
        return {"team": self.team, "channel": self.channel, "queue": self.queue}

    @property
    def status(self) -> dict[str, metrics.KpiValue]:
        return self.settled.status

    @property
    def vital(self) -> pd.DataFrame:
        return self.pareto[self.pareto["vital_few"]]

    def vital_text(self) -> str:
        v = self.vital
        return join_list((f"{c} {format_kind(s, 'fraction')}" for c, s in zip(v["category"], v["share"])), self.lang)

    def value(self, kid: str) -> str:
        """A KPI's value as a sentence says it; one still maturing says when it is judged (not a bare —)."""
        v = self.status[kid]
        if v.value is None and v.matures_on is not None:
            return t("svc.maturing", self.lang, date=v.matures_on)
        shown = format_kind(v.value, UNIT_KIND[self.cat[kid].unit], self.lang)
        if kid in self.settled.shifted:  # of the weeks already judged (as the quality page's tile says)
            return t("svc.value_over", self.lang, value=shown, start=self.settled.over[0], end=self.settled.over[1])
        return shown

    def shifted_note(self) -> list[str]:
        """Which rates are of the weeks already judged, and why (none: nothing)."""
        if not self.settled.shifted:
            return []
        return [t("svc.shifted", self.lang, kpis=join_list((self.label(k) for k in self.settled.shifted), self.lang),
                  start=self.settled.over[0], end=self.settled.over[1], date=self.settled.matures_on)]

    def label(self, kid: str) -> str:
        return self.cat[kid].text("label", self.lang)

    def period_line(self) -> str:
        ps, pe = self.previous
        return t("svc.period", self.lang, start=self.start, end=self.end, days=(self.end - self.start).days + 1, ps=ps, pe=pe)

    def no_comments(self) -> str:
        """Why the report holds no comment: none in the period, or none for the reader's role."""
        if metrics.may_see_comments(self.scope):
            return t("svc.no_comments", self.lang)
        return t("svc.comments_left_out", self.lang)

    def plan_columns(self, *keys: str) -> list[str]:
        return [competency.PLAN_COLUMNS[k][LANGS.index(self.lang)] for k in keys]


def _load(con: duckdb.DuckDBPyConnection, start: date, end: date, kw: dict[str, str | None], lang: str,
          scope: Scope | None) -> _Range:
    cat, cmap = load_catalog(), load_competency_map()
    settled = metrics.settled_status(con, start, end, **kw, scope=scope)
    plan = competency.coaching_plan(cmap, kw["team"] or "center", f"{start} – {end}", settled.status, lang,
                                    top=TOP_RECOMMENDATIONS, team=kw["team"])
    return _Range(con, start, end, kw["team"], kw["channel"], kw["queue"], lang, cat, cmap, settled,
                  metrics.previous_range(start, end), metrics.category_pareto(con, start, end, **kw, scope=scope), plan,
                  metrics.low_score_comments(con, start, end, limit=1_000_000, **kw, scope=scope, lang=lang), scope)


def _summary(r: _Range) -> Section:
    lang, v = r.lang, r.value
    paras = [r.period_line(),
             t("svc.csat", lang, csat=v("csat"), target=format_kind(r.status["csat"].target, "fraction"),
               status=status_text(r.status["csat"].status, lang) or "—", nps=v("nps"), ces=v("ces_mean"),
               n=v("survey_responses")),
             t("svc.complaints", lang, n=v("complaints"), per1000=v("complaints_per_1000"),
               resolved=v("complaint_resolution_rate"), in_time=v("complaint_sla_rate"), open=v("open_complaints"),
               past_due=v("open_complaints_past_due"))]
    if len(r.vital):
        paras.append(t("svc.vital", lang, cats=r.vital_text()))
    if len(r.plan):
        code, text = r.plan_columns("indicator", "indicator_text")
        paras.append(t("svc.top_rec", lang, code=r.plan.iloc[0][code], text=r.plan.iloc[0][text]))
    else:
        paras.append(t("svc.no_weak", lang))
    return section("summary", lang, paras)


def _satisfaction(r: _Range) -> Section:
    """Satisfaction review (P4.3.1): the survey KPIs against their targets."""
    frame, row_kinds, col_kinds = kpi_table(r.cat, r.status, SURVEY_KPIS, r.lang)
    return section("satisfaction", r.lang, [r.period_line(), t("svc.kpi_note", r.lang)], frame, col_kinds, row_kinds)


def _distributions(r: _Range) -> Section:
    lang, dists = r.lang, []
    for score in ("csat", "nps", "ces"):
        d = metrics.score_distribution(r.con, r.start, r.end, score, **r.kw, scope=r.scope)
        d.insert(0, "scale", t(f"scale.{score}", lang))
        dists.append(d)
    dk = {"scale": t("col.scale", lang), "score": t("col.score", lang), "responses": t("col.responses", lang),
          "share": t("col.share", lang)}
    dist = pd.concat(dists, ignore_index=True).astype(object).rename(columns=dk)
    return section("distributions", lang, [], dist, {dk["score"]: "int", dk["responses"]: "count", dk["share"]: "fraction"})


def _by_team(r: _Range) -> Section:
    lang = r.lang
    by_team = metrics.group_status(r.con, r.start, r.end, "team", **r.kw, scope=r.scope)
    tk = {"team": t("col.team", lang), **{kid: r.label(kid) for kid in SURVEY_KPIS},
          "status": t("report.kpi_status", lang, kpi=r.label("csat"), status=t("col.status", lang))}
    rows = []
    for key in sorted(by_team, key=lambda k: (k is None, str(k))):
        v = by_team[key]
        rows.append({"team": key if key is not None else t("none_team", lang), **{kid: v[kid].value for kid in SURVEY_KPIS},
                     "status": status_text(v["csat"].status, lang)})
    teams = pd.DataFrame(rows, columns=list(tk)).astype(object).rename(columns=tk)
    return section("by_team", lang, [t("svc.by_team_note", lang)], teams,
                   {tk[kid]: UNIT_KIND[r.cat[kid].unit] for kid in SURVEY_KPIS})


def _trend(r: _Range) -> Section:
    lang = r.lang
    grain = "week" if (r.end - r.start).days <= 100 else "month"
    trend = metrics.survey_trend(r.con, r.start, r.end, grain, **r.kw, scope=r.scope)
    rk = {"bucket": t("col.bucket", lang), "bucket_start": t("col.bucket_start", lang),
          **{kid: r.label(kid) for kid in SURVEY_KPIS}}
    table = trend[list(rk)].astype(object).rename(columns=rk)
    table[rk["bucket_start"]] = [max(pd.Timestamp(d).date(), r.start) for d in trend["bucket_start"]]
    target = r.cat["csat"].target_for(r.team, r.channel)[0]
    # months in the reader's language (2026年7月); weeks stay 2026-W40
    buckets = [month_label(b, lang) for b in trend["bucket"]] if grain == "month" else trend["bucket"]
    fig = trend_line(buckets, trend["csat"].astype(float) * 100, r.label("csat"),
                     None if target is None else target * 100, t("chart.target", lang))
    grain_text = t(f"grain.{grain}", lang)
    return section("trend", lang, [t("svc.trend_note", lang, grain=grain_text)], table,
                   {rk["bucket_start"]: "date", **{rk[kid]: UNIT_KIND[r.cat[kid].unit] for kid in SURVEY_KPIS}},
                   chart=print_layout(fig, f"{t('chart.trend', lang)} ({grain_text})"))


def _complaints(r: _Range) -> Section:
    """Complaints and their resolution (P4.3.2): the complaint KPIs against their targets."""
    frame, row_kinds, col_kinds = kpi_table(r.cat, r.status, COMPLAINT_KPIS, r.lang)
    return section("complaints", r.lang, [t("svc.kpi_note", r.lang), *r.shifted_note()], frame, col_kinds, row_kinds)


def _backlog(r: _Range) -> Section:
    lang = r.lang
    backlog = metrics.open_backlog_by_age(r.con, r.end, **r.kw, scope=r.scope)
    bk = {"band": t("col.age_days", lang), **{k: r.label(k) for k in ("open_complaints", "open_complaints_past_due")}}
    table = backlog.assign(band=backlog["band"].astype(str))[list(bk)].astype(object).rename(columns=bk)
    cut = metrics.backlog_cut_off(r.con, r.end)  # counted at the data's cut-off when it stops before the range's end
    note = t("svc.backlog_note_cutoff", lang, at=f"{cut:%Y-%m-%d %H:%M}") if cut else t("svc.backlog_note", lang, end=r.end)
    return section("backlog", lang, [note], table,
                   {bk["open_complaints"]: "count", bk["open_complaints_past_due"]: "count"})


def _pareto(r: _Range) -> Section:
    lang, p = r.lang, r.pareto
    pk = {"category": t("col.category", lang), "complaints": r.label("complaints"), "share": t("col.share", lang),
          "cumulative_share": t("col.cumulative", lang), "vital_few": t("col.vital_few", lang)}
    cats = [c if c is not None else t("none_team", lang) for c in p["category"]]
    table = p.astype(object).copy()
    table["category"] = cats
    table["vital_few"] = [t("report.yes", lang) if v else t("report.no", lang) for v in p["vital_few"]]
    table = table[list(pk)].rename(columns=pk)
    fig = pareto(cats, p["complaints"], p["cumulative_share"].astype(float) * 100, p["vital_few"],
                 t("chart.complaints", lang), t("col.cumulative", lang), lang)
    return section("pareto", lang, [t("svc.pareto_note", lang)], table,
                   {pk["complaints"]: "count", pk["share"]: "fraction", pk["cumulative_share"]: "fraction"},
                   chart=print_layout(fig, t("sec.pareto", lang)))


def _problems(r: _Range) -> Section:
    """Process problems: the vital few categories and what low-score comments are about."""
    lang = r.lang
    themes = comment_themes(list(r.comments["comment"]), lang)
    hk = {"theme": t("col.theme", lang), "comments": t("col.comments", lang), "share": t("col.share", lang),
          "example": t("col.example", lang)}
    paras = []
    if len(r.vital):
        paras.append(t("svc.problems_vital", lang, cats=r.vital_text(),
                       share=format_kind(float(r.vital["share"].sum()), "fraction")))
    paras.append(t("svc.problems_comments", lang, n=len(r.comments)) if len(r.comments) else r.no_comments())
    return section("problems", lang, paras, themes.rename(columns=hk), {hk["comments"]: "count", hk["share"]: "fraction"})


def _comments(r: _Range) -> Section:
    lang = r.lang
    ck = {"responded_at": t("col.responded_at", lang), "team": t("col.team", lang), "agent_id": t("col.agent", lang),
          "csat": t("scale.csat", lang), "nps": t("scale.nps", lang), "ces": t("scale.ces", lang),
          "comment": t("col.comment", lang)}
    sample = r.comments.head(COMMENT_SAMPLE).astype(object).rename(columns=ck)
    note = t("svc.comments_note", lang, n=len(sample), total=len(r.comments)) if len(r.comments) else r.no_comments()
    return section("comments", lang, [note], sample,
                   {ck["responded_at"]: "datetime", ck["csat"]: "int", ck["nps"]: "int", ck["ces"]: "int"})


def _recommendations(r: _Range) -> Section:
    """Recommendations (P4.3.4): the weak KPIs' behaviour indicators and their coaching actions."""
    keep = r.plan_columns("rank", "indicator", "indicator_text", "kpis", "coaching")
    paras = [t("svc.rec_intro", r.lang, std=r.cmap.standard.code)] + ([] if len(r.plan) else [t("svc.no_weak", r.lang)])
    return section("recommendations", r.lang, paras, r.plan[keep].astype(object), {keep[0]: "int"})


def _whole(scope: Scope | None, lang: str) -> str:
    """What a report with no team chosen covers: the whole centre, or the teams the scope reaches."""
    if scope is None or scope.teams is None or scope.role == "agent":
        return t("meta.scope_center", lang)
    return t("meta.scope_team", lang, team=join_list(sorted(scope.teams), lang))


def service_report(con: duckdb.DuckDBPyConnection, start: date, end: date, lang: str = "zh-TW", *,
                   team: str | None = None, channel: str | None = None, queue: str | None = None,
                   scope: Scope | None = None) -> Report:
    """The customer service report (O4.3.1) of a range: satisfaction, complaints, process problems, recommendations;
    of the rows within the scope (a supervisor's report holds their teams only; finance's no comment) and the
    filters of the page it is made from (team, channel, queue: its figures are the page's), named in its header."""
    check_lang(lang)
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    generated_at = datetime.now()
    r = _load(con, start, end, {"team": team, "channel": channel, "queue": queue}, lang, scope)
    builders = (_summary, _satisfaction, _distributions, _by_team, _trend, _complaints, _backlog, _pareto, _problems,
                _comments, _recommendations)
    sections = [b(r) for b in builders]
    sections.append(competency_section(r.cmap, "svc", SERVICE_OUTPUT, SERVICE_TASK, lang))
    period = f"{start} – {end}"
    meta = meta_lines(r.cmap, SERVICE_OUTPUT, SERVICE_TASK, lang, generated_at)
    meta.insert(1, t("meta.scope_team", lang, team=team) if team else _whole(scope, lang))
    filters = [(dim, v) for dim, v in (("channel", channel), ("queue", queue)) if v]
    for i, (dim, v) in enumerate(filters):
        meta.insert(2 + i, t(f"meta.scope_{dim}", lang, value=value_label(dim, v, lang)))
    heading = [period, *([team] if team else []), *(value_label(dim, v, lang) for dim, v in filters)]
    return Report("service", lang, t("report.title.service", lang), join_bar(heading, lang), meta, sections,
                  generated_at)
