"""The KPI catalog (kpi/catalog.yaml), the settings and targets (targets.yaml), and status against target."""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

CATALOG_PATH = Path(__file__).resolve().parent / "catalog.yaml"
TARGETS_PATH = Path(__file__).resolve().parents[2] / "targets.yaml"
UNITS = ("fraction", "seconds", "hours", "count", "score", "nps", "ntd")
DATASETS = ("contacts", "surveys", "complaints", "backlog", "derived", "budget")
LANGS = ("zh-TW", "en")
# Bound by the engine for each query, not set in targets.yaml: the range, and the dataset's cut-off (latest timestamp).
ENGINE_PARAMETERS = {"start", "end", "cutoff", "deferred_channels"}


@dataclass(frozen=True)
class Kpi:
    id: str
    label: dict[str, str]
    definition: dict[str, str]
    dataset: str
    unit: str
    better: str  # higher | lower | near (a band on both sides of the target) | none
    target: float | None = None
    band: float | None = None
    sql: str | None = None  # a plain aggregate
    num: str | None = None  # or a ratio of sums
    den: str | None = None
    formula: str | None = None  # or a formula of other KPIs (derived)
    team_targets: dict[str, dict[str, float]] = field(default_factory=dict)
    channel_targets: dict[str, dict[str, float]] = field(default_factory=dict)
    # How far a value can be trusted and where it applies (issue: numbers a COPC auditor would sign).
    ss: str | None = None  # sum of squares of the per-row values of a mean (its spread, for intervals and tests)
    scope: str | None = None  # realtime: only for one real-time channel at a time (never blended across channels)
    agent: bool = True  # False: a queue measure the agent does not control (no value at agent grain)
    matures: str | None = None  # a setting of days: no value until the range's end + that many days is in the data
    factor: str | None = None  # correlated KPIs share a factor and count once per indicator in the ranking
    rank_agents: bool = True  # False: not scored per agent (e.g. NPS, a relationship measure)

    def text(self, what: str, lang: str, settings: dict[str, Any] | None = None) -> str:
        """label or definition in a language, with $settings filled in."""
        s = getattr(self, what)[lang]
        for k, v in sorted((settings or {}).items(), key=lambda kv: -len(kv[0])):  # longest name first
            if isinstance(v, dict):
                v = ", ".join(f"{ch} {x:g}" for ch, x in v.items())
            s = s.replace(f"${k}", f"{v:g}" if isinstance(v, (int, float)) else str(v))
        return s

    def target_for(self, team: str | None = None, channel: str | None = None) -> tuple[float | None, float | None]:
        """(target, band) for a team, else for a channel, else the center's."""
        t = self.team_targets.get(team or "") or self.channel_targets.get(channel or "") or {}
        return t.get("target", self.target), t.get("band", self.band)


@dataclass(frozen=True)
class Catalog:
    kpis: dict[str, Kpi]
    settings: dict[str, float]

    def __getitem__(self, kpi_id: str) -> Kpi:
        return self.kpis[kpi_id]

    def of(self, dataset: str) -> list[Kpi]:
        """KPIs computed from one dataset, in catalog order."""
        return [k for k in self.kpis.values() if k.dataset == dataset]


class CatalogError(ValueError):
    """The catalog or targets file is malformed; the message names the file and the key."""


def _check(entry: dict, kid: str, path: Path) -> Kpi:
    where = f"{path.name}: {kid}"
    for key in ("label", "definition"):
        if not isinstance(entry.get(key), dict) or set(entry[key]) != set(LANGS):
            raise CatalogError(f"{where}.{key}: expected zh-TW and en texts")
    if entry.get("unit") not in UNITS:
        raise CatalogError(f"{where}.unit: expected one of {', '.join(UNITS)}")
    if entry.get("dataset") not in DATASETS:
        raise CatalogError(f"{where}.dataset: expected one of {', '.join(DATASETS)}")
    if entry.get("better") not in ("higher", "lower", "near", "none"):
        raise CatalogError(f"{where}.better: expected higher, lower, near or none")
    if entry.get("scope") not in (None, "realtime"):
        raise CatalogError(f"{where}.scope: expected realtime or nothing")
    forms = [k for k in ("sql", "num", "formula") if k in entry]
    if entry["dataset"] != "budget" and len(forms) != 1:
        raise CatalogError(f"{where}: expected exactly one of sql, num+den, formula")
    if "num" in entry and "den" not in entry:
        raise CatalogError(f"{where}.den: a ratio needs num and den")
    return Kpi(id=kid, **{k: v for k, v in entry.items()})


@lru_cache(maxsize=4)
def load_catalog(catalog_path: Path = CATALOG_PATH, targets_path: Path = TARGETS_PATH) -> Catalog:
    """The catalog with targets.yaml's settings and targets applied."""
    raw = yaml.safe_load(catalog_path.read_text(encoding="utf-8"))
    kpis = {kid: _check(entry, kid, catalog_path) for kid, entry in raw.items()}
    targets_doc = yaml.safe_load(targets_path.read_text(encoding="utf-8")) or {}
    settings = dict(targets_doc.get("settings") or {})
    for kid, t in (targets_doc.get("targets") or {}).items():
        if kid not in kpis:
            raise CatalogError(f"{targets_path.name}: targets.{kid}: not a KPI of the catalog")
        teams = {str(team): dict(v) for team, v in (t.get("teams") or {}).items()}
        channels = {str(ch): dict(v) for ch, v in (t.get("channels") or {}).items()}
        kpis[kid] = replace(kpis[kid], target=t.get("target", kpis[kid].target), band=t.get("band", kpis[kid].band),
                            team_targets=teams, channel_targets=channels)
    used = {m for k in kpis.values() for s in (k.sql, k.num, k.den) if s for m in re.findall(r"\$(\w+)", s)}
    missing = used - set(settings) - ENGINE_PARAMETERS
    if missing:
        raise CatalogError(f"{targets_path.name}: settings.{sorted(missing)[0]}: used by the catalog but not set")
    return Catalog(kpis=kpis, settings=settings)


def status(kpi: Kpi, value: float | None, team: str | None = None, channel: str | None = None) -> str | None:
    """good / warning / bad against the KPI's target for the team (or channel); None without a value, target or direction."""
    target, band = kpi.target_for(team, channel)
    if value is None or target is None or kpi.better == "none" or value != value:
        return None
    band = band or 0.0
    if kpi.better == "near":  # too far either way is a problem: good within one band of the target
        gap = band - abs(value - target)
    else:
        gap = value - target if kpi.better == "higher" else target - value  # >= 0 means on target
    if gap >= 0:
        return "good"
    return "warning" if gap >= -band else "bad"


def format_value(kpi: Kpi, value: float | None, lang: str = "zh-TW") -> str:
    """A KPI value as people read it: 81.2%, 3:05 (m:ss), 30.5 h, 1,234, 4.21, +32, NT$1,234,567; — when missing."""
    if value is None or value != value:
        return "—"
    unit = kpi.unit
    if unit == "fraction":
        return f"{value * 100:.1f}%"
    if unit == "seconds":
        total = int(round(value))
        return f"{total // 60}:{total % 60:02d}"
    if unit == "hours":
        return f"{value:.1f} h" if lang == "en" else f"{value:.1f} 小時"
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "nps":
        return f"{value:+.0f}"
    if unit == "ntd":
        return f"NT${value:,.0f}" if value >= 0 else f"-NT${-value:,.0f}"
    return f"{value:,.2f}"
