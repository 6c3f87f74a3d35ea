"""The KPI catalog (kpi/metrics/catalog.yaml: datasets, views, score ranges, KPIs), the settings and targets
(targets.yaml), and status against target."""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from ..imports import DEFAULT_CENTRE_ZONE, ZONE_EXPECTED, time_zone
from ..present import LANGS, as_shown, format_unit, join_list, value_label
from ..store import checked_sql
from ._calendar import DEADLINE_SQL
from ._schema import FROM_KEY, NOT_IN_YAML, Rule, SchemaError, load_yaml, parse

CATALOG_PATH = Path(__file__).resolve().parent / "catalog.yaml"
TARGETS_PATH = Path(__file__).resolve().parents[2] / "targets.yaml"
UNITS = ("fraction", "seconds", "hours", "count", "score", "per_1000", "nps", "ntd")
DATASETS = ("contacts", "surveys", "complaints", "backlog", "derived", "budget")
# A setting: a number, a list of names (channels), or a mapping of numbers or of texts (per channel or weekday).
Setting = float | tuple[str, ...] | dict[str, float | dict[str, str]]
# Settings of another type, by name: the centre's time zone (imported timestamps are stored as its wall-clock time).
TimeZoneName = Annotated[str, Rule(check=lambda v: None if time_zone(v) else f"{ZONE_EXPECTED}, got {v!r}")]
Settings = Annotated[dict[str, Setting], Rule(key_types=(("timezone", TimeZoneName),))]
# Bound by the engine for each query, not set in targets.yaml: the range, and the dataset's cut-off (latest timestamp).
ENGINE_PARAMETERS = {"start", "end", "cutoff", "deferred_channels", "first_as_of", "last_as_of"}

Texts = Annotated[dict[str, str], Rule(keys=LANGS)]


@dataclass(frozen=True)
class Kpi:
    id: str = field(metadata=FROM_KEY)
    label: Texts
    definition: Texts
    dataset: Annotated[str, Rule(one_of=DATASETS)]
    unit: Annotated[str, Rule(one_of=UNITS)]
    better: Annotated[str, Rule(one_of=("higher", "lower", "near", "none"))]  # near: a band on both sides
    target: float | None = None
    band: float | None = None
    sql: str | None = None  # a plain aggregate
    num: str | None = None  # or a ratio of sums
    den: str | None = None
    formula: str | None = None  # or a formula of other KPIs (derived)
    counted: str | None = None  # a derived rate of a count (complaints per 1,000): its n and Poisson interval
    # How far a value can be trusted and where it applies (numbers a COPC auditor would sign).
    ss: str | None = None  # sum of squares of the per-row values of a mean (its spread, for intervals and tests)
    scope: Annotated[str | None, Rule(one_of=("realtime",))] = None  # real-time contacts, one channel at a time
    agent: bool = True  # False: a queue measure the agent does not control (no value at agent grain)
    matures: str | None = None  # a setting of days: no value until the range's end + that many days is in the data
    factor: str | None = None  # correlated KPIs share a factor and count once per indicator in the ranking
    rank_agents: bool = True  # False: not scored per agent (NPS, a relationship measure)
    team_targets: dict[str, dict[str, float]] = field(default_factory=dict, metadata=NOT_IN_YAML)
    channel_targets: dict[str, dict[str, float]] = field(default_factory=dict, metadata=NOT_IN_YAML)

    def _invalid(self) -> tuple[str, str] | None:
        forms = [f for f in (self.sql, self.num, self.formula) if f is not None]
        if self.dataset != "budget" and len(forms) != 1:
            return "", "expected exactly one of sql, num+den, formula"
        if (self.num is None) != (self.den is None):
            return "den", "a ratio needs num and den"
        return None

    def text(self, what: str, lang: str, settings: dict[str, Any] | None = None) -> str:
        """label or definition in a language, with $settings filled in."""
        s = getattr(self, what)[lang]
        for k, v in sorted((settings or {}).items(), key=lambda kv: -len(kv[0])):  # longest name first
            s = s.replace(f"${k}", _setting_text(v, lang))
        return s

    @property
    def per_channel(self) -> bool:
        """Judged one channel at a time: a real-time measure, or one with its own target per channel (AHT)."""
        return self.scope == "realtime" or bool(self.channel_targets)

    def target_for(self, team: str | None = None, channel: str | None = None) -> tuple[float | None, float | None]:
        """(target, band): the center's, overridden by the team's, overridden by the channel's.

        A channel's target wins over a team's (an e-mail is not handled like a call, whichever team answers it).
        A blend of channels (channel None) is held to the center's target; pages and reports show a KPI with
        targets per channel (per_channel) one channel at a time beside it."""
        t = {**self.team_targets.get(team or "", {}), **self.channel_targets.get(channel or "", {})}
        return t.get("target", self.target), t.get("band", self.band)


def _setting_text(value: Any, lang: str) -> str:
    """A setting as a definition shows it: 20, "電話、文字客服", "文字客服 60" (channel names in the reader's language)."""
    if isinstance(value, dict):
        return join_list((f"{value_label('channel', k, lang)} {_setting_text(v, lang)}" for k, v in value.items()), lang)
    if isinstance(value, (tuple, list)):
        return join_list((value_label("channel", str(v), lang) for v in value), lang)
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


@dataclass(frozen=True)
class Dataset:
    """Where a dataset's rows come from and what they are grouped and filtered by (catalog.yaml `datasets`)."""

    name: str = field(metadata=FROM_KEY)
    source: str | None = None  # SQL of the rows
    time: str | None = None  # the column a date range filters and a time grain buckets
    dimensions: dict[str, str] = field(default_factory=dict)  # grouping/filter name -> column of the rows
    columns: dict[str, str] = field(default_factory=dict)  # more columns of each row, e.g. __due
    rows_of: str | None = None  # the same rows as another dataset (backlog: complaints)
    snapshot: str | None = None  # a row counts at the time __as_of when this holds (backlog)
    # The rows that can count at some moment from $first_as_of to $last_as_of (the snapshot's first and last): a
    # condition on the row alone that the snapshot at any of those moments implies, so only those rows meet the moments.
    held_between: str | None = None
    # Rows of a deferred channel get __deadline: their channel's response target in business hours after this
    # column, on the business calendar the engine registers as __business_calendar.
    deadline_from: str | None = None

    def _invalid(self) -> tuple[str, str] | None:
        if (self.source is None) == (self.rows_of is None):
            return "", "expected exactly one of source, rows_of"
        if self.source is not None and self.time is None:
            return "", "missing field 'time'"
        return None

    @property
    def rows(self) -> str:
        """SQL of the dataset's rows with __t (its time) and the declared columns; numbers outside their column's range
        read as unknown (checked_sql)."""
        extra = "".join(f", {sql} AS {name}" for name, sql in self.columns.items())
        rows = f"SELECT *, {self.time} AS __t{extra} FROM ({checked_sql(self.source)})"
        if self.deadline_from:
            rows = DEADLINE_SQL.format(at=self.deadline_from, source=rows, calendar="__business_calendar")
        return rows


@dataclass(frozen=True)
class _CatalogFile:
    datasets: dict[str, Dataset]
    views: dict[str, Annotated[tuple[str, ...], Rule(non_empty=True)]]
    scores: dict[str, Annotated[tuple[int, ...], Rule(length=(2, 2), items="numbers (lowest, highest)")]]
    kpis: Annotated[dict[str, Kpi], Rule(non_empty=True)]
    parameters: Settings = field(default_factory=dict)


@dataclass(frozen=True)
class _Override:
    target: float | None = None
    band: float | None = None


@dataclass(frozen=True)
class _Target(_Override):
    teams: dict[str, _Override] = field(default_factory=dict)
    channels: dict[str, _Override] = field(default_factory=dict)


@dataclass(frozen=True)
class _TargetsFile:
    settings: Settings = field(default_factory=dict)
    targets: dict[str, _Target] = field(default_factory=dict)


def _default_datasets() -> dict[str, Dataset]:
    return load_catalog().datasets


@dataclass(frozen=True)
class Catalog:
    kpis: dict[str, Kpi]
    settings: dict[str, Any]
    # Where rows come from, the view lists and score ranges; a Catalog built by hand takes catalog.yaml's.
    datasets: dict[str, Dataset] = field(default_factory=_default_datasets)
    views: dict[str, tuple[str, ...]] = field(default_factory=dict)
    scores: dict[str, tuple[int, int]] = field(default_factory=dict)

    def __getitem__(self, kpi_id: str) -> Kpi:
        return self.kpis[kpi_id]

    def of(self, dataset: str) -> list[Kpi]:
        """KPIs computed from one dataset, in catalog order."""
        return [k for k in self.kpis.values() if k.dataset == dataset]


class CatalogError(ValueError):
    """The catalog or targets file is malformed; the message names the file and the key."""


def _read(cls: type, path: Path) -> Any:
    """A YAML file parsed into its declared shape; CatalogError names the file and the YAML path."""
    try:
        return parse(cls, load_yaml(path.read_text(encoding="utf-8")) or {})
    except SchemaError as exc:
        raise CatalogError(f"{path.name}: {exc}") from None


def _resolve(datasets: dict[str, Dataset], path: Path) -> dict[str, Dataset]:
    """Datasets with `rows_of` given the rows, time, dimensions and columns of the dataset they name."""
    out = dict(datasets)
    for name, ds in datasets.items():
        if ds.rows_of is not None:
            base = datasets.get(ds.rows_of)
            if base is None or base.rows_of is not None:
                raise CatalogError(f"{path.name}: datasets.{name}.rows_of: expected a dataset with a source")
            out[name] = replace(base, name=name, rows_of=ds.rows_of, snapshot=ds.snapshot, held_between=ds.held_between)
    return out


def _check_references(doc: _CatalogFile, path: Path) -> None:
    for kid, k in doc.kpis.items():
        if k.dataset not in doc.datasets and k.dataset not in ("derived", "budget"):
            raise CatalogError(f"{path.name}: kpis.{kid}.dataset: {k.dataset!r} is not declared under datasets")
    for name, ids in doc.views.items():
        for i, kid in enumerate(ids):
            if kid not in doc.kpis:
                raise CatalogError(f"{path.name}: views.{name}[{i}]: {kid!r} is not a KPI of the catalog")


def _with_targets(kpis: dict[str, Kpi], targets: dict[str, _Target], path: Path) -> dict[str, Kpi]:
    out = dict(kpis)
    for kid, t in targets.items():
        if kid not in out:
            raise CatalogError(f"{path.name}: targets.{kid}: not a KPI of the catalog")
        teams = {team: _given(o) for team, o in t.teams.items()}
        channels = {ch: _given(o) for ch, o in t.channels.items()}
        k = out[kid]
        out[kid] = replace(k, target=k.target if t.target is None else t.target,
                           band=k.band if t.band is None else t.band, team_targets=teams, channel_targets=channels)
    return out


def _given(o: _Override) -> dict[str, float]:
    return {name: v for name, v in (("target", o.target), ("band", o.band)) if v is not None}


@lru_cache(maxsize=4)
def load_catalog(catalog_path: Path = CATALOG_PATH, targets_path: Path = TARGETS_PATH) -> Catalog:
    """The catalog with targets.yaml's settings and targets applied."""
    doc = _read(_CatalogFile, catalog_path)
    _check_references(doc, catalog_path)
    datasets = _resolve(doc.datasets, catalog_path)
    targets = _read(_TargetsFile, targets_path)
    kpis = _with_targets(doc.kpis, targets.targets, targets_path)
    # targets.yaml's order first (docs list settings as written there), then the catalog's defaults it leaves out.
    settings = {**targets.settings, **{k: v for k, v in doc.parameters.items() if k not in targets.settings}}
    sqls = [s for k in kpis.values() for s in (k.sql, k.num, k.den, k.ss) if s]
    sqls += [s for d in datasets.values() for s in (d.source, d.snapshot, d.held_between, *d.columns.values()) if s]
    missing = {m for s in sqls for m in re.findall(r"\$(\w+)", s)} - set(settings) - ENGINE_PARAMETERS
    if missing:
        raise CatalogError(f"{targets_path.name}: settings.{sorted(missing)[0]}: used by the catalog but not set")
    return Catalog(kpis=kpis, settings=settings, datasets=datasets, views=dict(doc.views),
                   scores={s: (lo, hi) for s, (lo, hi) in doc.scores.items()})


def centre_zone(catalog: Catalog | None = None) -> str:
    """The centre's time zone (targets.yaml settings.timezone, default Asia/Taipei): imports store timestamps as its
    wall-clock time."""
    return (catalog or load_catalog()).settings.get("timezone", DEFAULT_CENTRE_ZONE)


def status(kpi: Kpi, value: float | None, team: str | None = None, channel: str | None = None) -> str | None:
    """good / warning / bad against the KPI's target for the team (or channel); None without a value, target or direction."""
    return status_against(kpi, value, *kpi.target_for(team, channel))


def status_against(kpi: Kpi, value: float | None, target: float | None, band: float | None) -> str | None:
    """status against a target and band already looked up (kpi.target_for), of the value as it is shown (as_shown:
    two values that read alike are judged alike)."""
    if value is None or target is None or kpi.better == "none" or value != value:
        return None
    value = as_shown(value, kpi.unit)
    band = band or 0.0
    if kpi.better == "near":  # too far either way is a problem: good within one band of the target
        gap = band - abs(value - target)
    else:
        gap = value - target if kpi.better == "higher" else target - value  # >= 0 means on target
    gap = round(gap, 9)  # 0.75 - 0.80 is -0.05000000000000004: a value shown on the band's edge is within it
    if gap >= 0:
        return "good"
    return "warning" if gap >= -band else "bad"


def format_value(kpi: Kpi, value: float | None, lang: str = "zh-TW") -> str:
    """A KPI value as people read it: 81.2%, 3 min 05 s, 30.5 h, 1,234, 4.21, +32, NT$1,234,567; — when missing."""
    return format_unit(value, kpi.unit, lang)


def format_band(kpi: Kpi, lang: str = "zh-TW") -> str:
    """A KPI's warning band as a width, written after ±, in the unit its gaps are in: 5.0 個百分點 (a rate's band is
    points, not a share of it: 80.0% ± 5.0% read as 76-84%), 60 秒, 10 (an NPS value's sign dropped: ±10, not ±+10)."""
    from ..present import format_change
    return (format_change(kpi.band, kpi.unit, lang) or format_value(kpi, kpi.band, lang)).lstrip("+")
