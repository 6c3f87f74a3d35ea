"""Pieces both reports use: the KPI-against-target table, the meta lines, the competency section, small texts."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta

import pandas as pd

from .. import metrics
from ..competency import CompetencyMap
from ..metrics import Catalog
from ..present import DURATION_SCALES, duration_scale, format_kind, is_missing, money, paren, t, unit_name, value_label
from ._model import UNIT_KIND, Section

__all__ = ["kpi_table", "meta_lines", "competency_section", "fav", "status_text", "month_end", "ntd", "pct", "section"]


def section(key: str, lang: str, paragraphs: list[str], table: pd.DataFrame | None = None, kinds: dict | None = None,
            row_kinds: list[str] | None = None, chart=None) -> Section:
    """A section titled and named (sheet) from the catalog's sec.KEY and sheet.KEY."""
    return Section(key, t(f"sec.{key}", lang), t(f"sheet.{key}", lang), paragraphs, table, kinds or {}, row_kinds, chart)


def ntd(value: float | None, signed: bool = False) -> str:
    """NT$1,234 (+NT$ when signed and above zero); — when missing."""
    return "—" if is_missing(value) else money(value, signed)


def pct(value: float | None, signed: bool = True) -> str:
    return format_kind(value, "+fraction" if signed else "fraction")


def fav(value: bool | None, lang: str) -> str | None:
    return None if value is None else (t("favourable", lang) if value else t("unfavourable", lang))


def month_end(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def status_text(status: str | None, lang: str) -> str | None:
    return t(f"status.{status}", lang) if status else None


def kpi_entries(cat: Catalog, values: Mapping[str, metrics.KpiValue], ids: Iterable[str], lang: str,
                by_channel: Mapping[str, Mapping[str, metrics.KpiValue]] | None = None
                ) -> list[tuple[str, str, metrics.KpiValue]]:
    """(KPI id, label, value) as a report states them: a KPI judged per channel (real-time measures, AHT) once per
    channel of by_channel, named with it."""
    out = []
    for kid in ids:
        k = cat[kid]
        per = [(ch, vals[kid]) for ch, vals in (by_channel or {}).items() if vals[kid].value is not None]
        if k.per_channel and per:
            out += [(kid, paren(k.text("label", lang), value_label("channel", ch, lang), lang), kv) for ch, kv in per]
        else:
            out.append((kid, k.text("label", lang), values[kid]))
    return out


def kpi_table(cat: Catalog, values: Mapping[str, metrics.KpiValue], ids: Iterable[str], lang: str,
              by_channel: Mapping[str, Mapping[str, metrics.KpiValue]] | None = None,
              last_year: tuple[Mapping[str, metrics.KpiValue], Mapping[str, Mapping[str, metrics.KpiValue]]] | None = None
              ) -> tuple[pd.DataFrame, list[str], dict[str, str]]:
    """KPI, unit, actual, target, status, n, previous, change (and the same period last year, when last_year holds
    its values and by-channel values): one row per KPI, raw values, each row in its unit.

    The unit column names the unit the row's numbers are in: a duration row is in the one unit its values call for
    (seconds, minutes or hours, see kpi.present.duration_scale), its numbers converted to it. A KPI judged per
    channel (real-time measures, AHT) is never blended: one row per channel of by_channel, named with its channel."""
    cols = ("kpi", "unit", "value", "target", "status", "n", "previous", "change") + (("last_year",) if last_year else ())
    h = {k: t(f"col.{k}", lang) for k in cols}
    before = {label: kv for _, label, kv in kpi_entries(cat, *last_year[:1], ids, lang, last_year[1])} if last_year else {}
    rows, kinds = [], []
    for kid, label, kv in kpi_entries(cat, values, ids, lang, by_channel):
        kind = UNIT_KIND[cat[kid].unit]
        measured = {"value": kv.value, "target": kv.target, "previous": kv.previous, "change": kv.change}
        if last_year:
            measured["last_year"] = before[label].value if label in before else None
        if kind == "seconds":
            kind = duration_scale(measured.values())
            measured = {c: None if is_missing(v) else v / DURATION_SCALES[kind] for c, v in measured.items()}
        rows.append({h["kpi"]: label, h["unit"]: unit_name(kind, lang), **{h[c]: v for c, v in measured.items()},
                     h["status"]: t("svc.maturing", lang, date=kv.matures_on) if kv.value is None and kv.matures_on
                     else status_text(kv.status, lang), h["n"]: kv.n})  # "—" beside a count read as no result
        kinds.append(kind)
    frame = pd.DataFrame(rows, columns=list(h.values()))
    col_kinds = {h["value"]: "row", h["target"]: "row", h["n"]: "count", h["previous"]: "row", h["change"]: "+row"}
    if last_year:
        col_kinds[h["last_year"]] = "row"
    return frame, kinds, col_kinds


def meta_lines(cmap: CompetencyMap, output: str, task: str, lang: str, generated_at: datetime) -> list[str]:
    """The lines under the title: the work output, task and standard the report is; when it was made."""
    std = cmap.standard
    return [t("meta.output", lang, output=cmap.item(output).caption(lang), task=cmap.task(task).caption(lang),
              std=f"{std.code} {std.label(lang)}"),
            t("meta.generated", lang, at=f"{generated_at:%Y-%m-%d %H:%M}")]


def competency_section(cmap: CompetencyMap, prefix: str, output: str, task: str, lang: str) -> Section:
    """The report as evidence: which output of which task it is, and one line per behaviour indicator (prefix.CODE)."""
    std = cmap.standard
    paras = [t("report.competency", lang, std=std.code, std_name=std.label(lang), task=cmap.task(task).caption(lang),
               output=cmap.item(output).caption(lang))]
    for code in cmap.task(task).indicators:
        paras.append(f"{code} {cmap.indicator(code).label(lang)} {t(f'{prefix}.{code}', lang)}")
    return section("competency", lang, paras)
