"""The coaching plan a trainer exports as a team's work performance record (O3.3.1 工作績效紀錄, BAS1499-003v4)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

from ..metrics import Catalog, format_value, load_catalog
from ..present import format_gap, frame_to_csv, frame_to_xlsx, t
from ._map import LANGS, CompetencyMap, rank_weak_competencies, weak_kpis

if TYPE_CHECKING:
    from ..metrics import KpiValue

__all__ = ["PLAN_COLUMNS", "RECORD_OUTPUT", "plan_title", "coaching_plan", "plan_to_csv", "plan_to_xlsx"]

RECORD_OUTPUT = "O3.3.1"  # the standard's work output the plan is filed as

# key: (zh-TW header, en header), from the message catalog (plan.col.*). owner/due/follow_up are left empty for the
# trainer to fill in.
_COLUMN_KEYS = ("who", "period", "rank", "task", "indicator", "indicator_text", "score", "worst_gap", "kpis", "knowledge",
                "skills", "coaching", "owner", "due", "follow_up")
PLAN_COLUMNS: dict[str, tuple[str, str]] = {k: (t(f"plan.col.{k}", "zh-TW"), t(f"plan.col.{k}", "en")) for k in _COLUMN_KEYS}
_WIDTHS = {"who": 12, "period": 11, "rank": 9, "task": 20, "indicator": 10, "indicator_text": 40, "score": 8,
           "worst_gap": 11, "kpis": 42, "knowledge": 28, "skills": 20, "coaching": 60, "owner": 12, "due": 12,
           "follow_up": 30}
_NUMBER_FORMATS = {"score": "0.00", "worst_gap": "0.0"}


def _header(key: str, lang: str) -> str:
    return PLAN_COLUMNS[key][LANGS.index(lang)]


def plan_title(cmap: CompetencyMap, who: str, period: str, lang: str = "zh-TW") -> str:
    """The plan's title: record type (O3.3.1), who, period and the competency standard's code and name."""
    output = cmap.item(RECORD_OUTPUT)
    std = cmap.standard
    return t("plan.title", lang, output=output.label(lang), code=RECORD_OUTPUT, who=who, period=period, std=std.code,
             std_name=std.label(lang))


def _kpi_line(catalog: Catalog, row: Mapping, lang: str) -> str:
    kpi = catalog[row["id"]]
    value, reference = format_value(kpi, row["value"], lang), format_value(kpi, row["reference"], lang)
    return t("plan.kpi_line", lang, label=kpi.label[lang], value=value,  # the gap in the KPI's unit, not in bands
             gap=format_gap(row["value"] - row["reference"], kpi.unit, reference, row["compared_with"], lang),
             worse=t("plan.worse", lang) if row["worsening"] else "")


def coaching_plan(cmap: CompetencyMap, who: str, period: str, kpis: Mapping[str, KpiValue], lang: str = "zh-TW",
                  catalog: Catalog | None = None, *, top: int | None = 5, team: str | None = None,
                  peers: Mapping[str, KpiValue] | None = None) -> pd.DataFrame:
    """One row per top-ranked weak indicator: its text, the KPIs vs target (or, for an agent, vs their team: peers),
    K/S to coach, actions, blanks to fill."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; expected one of {', '.join(LANGS)}")
    catalog = catalog or load_catalog()
    ranked = rank_weak_competencies(cmap, kpis, catalog, team=team, peers=peers)
    if top is not None:
        ranked = ranked.head(top)
    weak = {r["id"]: r for r in weak_kpis(kpis, catalog, team=team, peers=peers).to_dict("records")}
    rows = []
    for r in ranked.to_dict("records"):
        actions: dict[str, str] = {}
        for kid in r["kpis"]:
            for c in cmap.link(kid).coaching:
                actions.setdefault(c.label(lang), catalog[kid].label[lang])
        rows.append({
            "who": who,
            "period": period,
            "rank": int(r["rank"]),
            "task": cmap.task(r["task"]).caption(lang),
            "indicator": r["indicator"],
            "indicator_text": cmap.indicator(r["indicator"]).label(lang),
            "score": round(float(r["score"]), 2),
            "worst_gap": round(float(r["worst_gap"]), 1),
            "kpis": "\n".join(_kpi_line(catalog, weak[kid], lang) for kid in r["kpis"]),
            "knowledge": "\n".join(cmap.item(c).caption(lang) for c in r["knowledge"]),
            "skills": "\n".join(cmap.item(c).caption(lang) for c in r["skills"]),
            "coaching": "\n".join(t("plan.action", lang, i=i, source=src, text=text)
                                  for i, (text, src) in enumerate(actions.items(), start=1)),
            "owner": "",
            "due": "",
            "follow_up": "",
        })
    frame = pd.DataFrame(rows, columns=list(PLAN_COLUMNS)).astype({"rank": "int64", "score": "float64",
                                                                  "worst_gap": "float64"})
    frame = frame.rename(columns={k: _header(k, lang) for k in PLAN_COLUMNS})
    frame.attrs.update(title=plan_title(cmap, who, period, lang), who=who, period=period, lang=lang,
                       standard=cmap.standard.code, output=RECORD_OUTPUT)
    return frame


def plan_to_csv(df: pd.DataFrame) -> bytes:
    """The plan as CSV bytes: UTF-8 with BOM so Excel in Taiwan opens it, formula-looking text neutralised."""
    return frame_to_csv(df)


def plan_to_xlsx(df: pd.DataFrame, title: str | None = None) -> bytes:
    """The plan as an xlsx: title row (who, period, BAS1499-003v4, O3.3.1), bold header, wrapped text."""
    lang = df.attrs.get("lang", "zh-TW")
    by_header = {_header(k, lang): k for k in PLAN_COLUMNS}
    widths = {h: _WIDTHS[k] for h, k in by_header.items()}
    formats = {h: _NUMBER_FORMATS[k] for h, k in by_header.items() if k in _NUMBER_FORMATS}
    return frame_to_xlsx(df, title if title is not None else df.attrs.get("title"), sheet=t("plan.sheet", lang),
                         widths=widths, number_formats=formats)
