"""What the weekly supervisor page shows, as data: tile KPIs, group tables with statuses, the needs-attention list."""
from __future__ import annotations

from typing import Any

import pandas as pd

from ._catalog import Catalog, load_catalog
from ._judge import KpiValue

# The KPIs of the weekly page's tiles, group tables and trend charts: catalog.yaml `views`.
TILE_KPIS = load_catalog().views["weekly_tiles"]
DEFERRED_TILE_KPIS = load_catalog().views["weekly_tiles_deferred"]  # e-mail: response within target, backlog
TABLE_KPIS = load_catalog().views["weekly_table"]
TREND_KPIS = load_catalog().views["weekly_trend"]
AGENT_TABLE_KPIS = load_catalog().views["weekly_agent_table"]  # what an agent controls


def status_table(groups: dict[Any, dict[str, KpiValue]], kpi_ids: tuple[str, ...] = TABLE_KPIS,
                 with_n: tuple[str, ...] = ()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(values, statuses): one row per group (index = group key), one column per KPI; a KPI of with_n is followed by
    its sample size, column "<id>__n" (status None), e.g. the survey responses behind CSAT."""
    keys = [k for k in groups if k is not None]
    values, statuses = {}, {}
    for kid in kpi_ids:
        values[kid] = [groups[k][kid].value for k in keys]
        statuses[kid] = [groups[k][kid].status for k in keys]
        if kid in with_n:
            values[f"{kid}__n"] = [groups[k][kid].n for k in keys]
            statuses[f"{kid}__n"] = [None] * len(keys)
    return pd.DataFrame(values, index=keys, dtype="Float64"), pd.DataFrame(statuses, index=keys, dtype=object)


def attention(groups: dict[Any, dict[str, KpiValue]], kpi_ids: tuple[str, ...] = TILE_KPIS,
              catalog: Catalog | None = None, min_offered: int = 1) -> list[dict[str, Any]]:
    """Groups with KPIs off target (status bad), worst first: [{"key", "kpis": [ids, worst first], "gaps", "score"}].

    How far off is measured in warning bands past the target, so seconds and percentages compare.
    """
    catalog = catalog or load_catalog()
    out = []
    for key, kv in groups.items():
        if key is None or (kv.get("offered") and (kv["offered"].value or 0) < min_offered and kv["offered"].value is not None):
            continue
        bad = []
        for kid in kpi_ids:
            v = kv[kid]
            if v.status != "bad":
                continue
            k = catalog[kid]
            scale = v.band or k.target_for(None)[1] or abs(v.target) or 1.0
            if k.better == "near":
                gap = abs(v.value - v.target) / scale
            else:
                gap = (v.target - v.value if k.better == "higher" else v.value - v.target) / scale
            bad.append((gap, kid))
        if bad:
            bad.sort(reverse=True)
            out.append({"key": key, "kpis": [kid for _, kid in bad], "gaps": [g for g, _ in bad],
                        "score": sum(g for g, _ in bad)})
    return sorted(out, key=lambda d: -d["score"])


def weekday_hour_grid(frame: pd.DataFrame, kpi_id: str, scale: float = 1.0) -> list[list[float | None]]:
    """7 x 24 values (Monday first, hour 0-23) of a KPI from compute_kpis(..., by="weekday_hour"); None where empty."""
    grid: list[list[float | None]] = [[None] * 24 for _ in range(7)]
    for key, v in zip(frame["key"], frame[kpi_id]):
        if key is None or pd.isna(v):
            continue
        day, hour = int(key[0]), int(key[2:])
        grid[day - 1][hour] = float(v) * scale
    return grid
