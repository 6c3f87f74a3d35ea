"""The glossary: every KPI with its definition, unit, direction, target and the behaviour indicators it evidences,
from the catalog and the competency map, in the reader's language."""
from __future__ import annotations

import pandas as pd

from ..metrics import Catalog, format_band, format_value, load_catalog
from ..present import join_list, t, value_label
from ._map import CompetencyMap

GLOSSARY_COLUMNS = ("kpi", "definition", "unit", "better", "target", "indicators")


def glossary(cmap: CompetencyMap, lang: str = "zh-TW", catalog: Catalog | None = None,
             teams: frozenset[str] | set[str] | None = None) -> pd.DataFrame:
    """One row per KPI of the catalog, in catalog order, headed in `lang`. teams: the teams whose own targets are
    named (a reader's scope: a supervisor of one team is not told another's); None: every team's."""
    catalog = catalog or load_catalog()
    linked = set(cmap.kpi_ids)
    rows = []
    for k in catalog.kpis.values():
        target = "—" if k.target is None else format_value(k, k.target, lang)
        if k.target is not None and k.band:
            target = t("glossary.band", lang, target=target, band=format_band(k, lang))
        # the targets that override it where the weekly page judges (a channel's wins over a team's: Kpi.target_for)
        others = [f"{value_label('channel', ch, lang)} {format_value(k, v['target'], lang)}"
                  for ch, v in k.channel_targets.items() if v.get("target") is not None]
        others += [f"{team} {format_value(k, v['target'], lang)}" for team, v in k.team_targets.items()
                   if v.get("target") is not None and (teams is None or team in teams)]
        if others:
            target = t("glossary.overrides", lang, target=target, others=join_list(others, lang))
        codes = cmap.link(k.id).indicators if k.id in linked else ()
        rows.append({"kpi": k.label[lang], "definition": k.text("definition", lang, catalog.settings),
                     "unit": t(f"unit.{k.unit}", lang), "better": t(f"better.{k.better}", lang), "target": target,
                     "indicators": "\n".join(f"{c} {cmap.indicator(c).label(lang)}" for c in codes)})
    frame = pd.DataFrame(rows, columns=list(GLOSSARY_COLUMNS))
    return frame.rename(columns={c: t(f"glossary.col.{c}", lang) for c in GLOSSARY_COLUMNS})
