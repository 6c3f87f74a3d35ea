"""The labour variance bridge (T2.2, P2.2.2) as the budget page and the performance report show it: budget -> volume ->
efficiency -> rate -> actual per labour line with drivers and in total, as a table, a waterfall and a sentence a
finance reader can paste into the improvement report."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from .. import metrics
from ..metrics import load_catalog
from ..present import budget_waterfall, money_short, percent, t

__all__ = ["BRIDGE_COLUMNS", "bridge_chart", "bridge_headers", "bridge_sentence", "bridge_sentences", "bridge_table"]

# The table's columns (raw values): the budget table's own (headed by the message col.<name>), then KPIs of the catalog
BRIDGE_COLUMNS = ("cost_center", "line", "budget_ytd", "volume_variance", "efficiency_variance", "rate_variance",
                  "actual_ytd", "flexed_budget")
_TABLE_COLUMNS = ("cost_center", "line", "budget_ytd", "actual_ytd")


def bridge_headers(lang: str) -> dict[str, str]:
    """BRIDGE_COLUMNS headed in lang: 成本中心, 科目, 累計預算, 來電量差異 (the KPI's name), ..."""
    cat = load_catalog()
    return {c: t(f"col.{c}", lang) if c in _TABLE_COLUMNS else cat[c].text("label", lang) for c in BRIDGE_COLUMNS}


def _parts(split: metrics.VarianceSplit) -> list[float]:
    return [float(split.volume), float(split.efficiency), float(split.rate)]


def bridge_table(rep: metrics.BudgetReport, lang: str) -> pd.DataFrame:
    """One row per line with drivers and a total row (the cost lines'), with BRIDGE_COLUMNS as raw numbers; the parts of
    each row sum to actual - budget year to date."""
    rows = [(cc, line, s) for (cc, line), s in rep.splits.items()]
    if rep.total_split is not None:
        rows.append(("", t("bridge.total", lang), rep.total_split))
    return pd.DataFrame([(cc, line, float(s.budget), *_parts(s), float(s.actual), float(s.flexed_budget))
                         for cc, line, s in rows], columns=list(BRIDGE_COLUMNS))


def bridge_chart(name: str, split: metrics.VarianceSplit, lang: str, **layout) -> go.Figure:
    """The waterfall from the line's budget year to date through volume, efficiency and rate to its actual (red where a
    part costs more than the budget, green where it saves)."""
    cat = load_catalog()
    steps = [(t(f"bridge.step.{k}", lang), v) for k, v in zip(("volume", "efficiency", "rate"), _parts(split))]
    return budget_waterfall((cat["budget"].text("label", lang), float(split.budget)), steps,
                            cat["actual"].text("label", lang), lang, **{"title": name, **layout})


def _change(now: float, before: float) -> float | None:
    return now / before - 1 if before else None


def _clause(part: str, change: float | None, amount: float, lang: str) -> str:
    """One part of the sentence: what moved and by how much, and what it cost or saved."""
    if change is None:
        what = t(f"bridge.{part}.unknown", lang)
    else:
        what = t(f"bridge.{part}.{'up' if change >= 0 else 'down'}", lang, pct=percent(abs(change)))
    return t(f"bridge.effect.{'cost' if amount >= 0 else 'saving'}", lang, what=what, amount=money_short(abs(amount), lang))


def bridge_sentence(name: str, split: metrics.VarianceSplit, lang: str) -> str:
    """加班費超支 NT$62.1 萬（+47.3%），其中來電量較預算多 11.6% 造成 NT$13.2 萬、...: the line's variance year to date
    and what each part of it came from."""
    variance = float(split.variance)
    hpc, rate = split.hours_per_contact, split.hourly_rate
    clauses = [_clause("volume", split.volume_pct, float(split.volume), lang),
               _clause("efficiency", _change(hpc[1], hpc[0]) if hpc else None, float(split.efficiency), lang),
               _clause("rate", _change(rate[1], rate[0]) if rate else None, float(split.rate), lang)]
    return t("bridge.sentence", lang, line=name, head=t(f"bridge.head.{'over' if variance >= 0 else 'under'}", lang),
             amount=money_short(abs(variance), lang),
             pct=percent(variance / float(split.budget), signed=True) if split.budget else "—",
             volume=clauses[0], efficiency=clauses[1], rate=clauses[2])


def bridge_sentences(rep: metrics.BudgetReport, lang: str) -> list[str]:
    """A sentence per line with drivers and one for their total (when there are several)."""
    out = [bridge_sentence(line, s, lang) for (_, line), s in rep.splits.items()]
    if rep.total_split is not None and len(rep.splits) > 1:
        out.append(bridge_sentence(t("bridge.total", lang), rep.total_split, lang))
    return out
