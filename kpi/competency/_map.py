"""Load and validate competency_map.yaml (iCAP BAS1499-003v4 and its KPI links); rank weak competencies from KPIs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol, Union

import pandas as pd
import yaml

from ..metrics import STAFFING_MEASURES, Catalog, load_catalog, schema
from ..present import LANGS

if TYPE_CHECKING:
    from ..metrics import Kpi, KpiValue

__all__ = [
    "agents_by_need",
    "LANGS",
    "DEFAULT_PATH",
    "CompetencyMapError",
    "Text",
    "Classification",
    "Standard",
    "Duty",
    "Task",
    "Output",
    "Indicator",
    "Knowledge",
    "Skill",
    "Attitude",
    "KpiLink",
    "CompetencyMap",
    "load_competency_map",
    "indicators_for_kpi",
    "tasks_for_kpi",
    "knowledge_for_kpi",
    "skills_for_kpi",
    "text",
    "WORSENING_FACTOR",
    "PROCESS_INDICATORS",
    "weak_kpis",
    "rank_weak_competencies",
    "task_gap_matrix",
]

DEFAULT_PATH: Path = Path(__file__).resolve().parents[2] / "competency_map.yaml"

# The shapes of the map's fields: codes by pattern (a list of codes refuses duplicates), levels from 1, lists
# that need an entry. schema.parse checks a document against the data classes below and names the YAML path.
DutyCode = Annotated[str, schema.code("duty code", r"T\d+")]
TaskCode = Annotated[str, schema.code("task code", r"T\d+\.\d+")]
OutputCode = Annotated[str, schema.code("output code", r"O\d+\.\d+\.\d+")]
IndicatorCode = Annotated[str, schema.code("indicator code", r"P\d+\.\d+\.\d+")]
KnowledgeCode = Annotated[str, schema.code("knowledge code", r"K\d{2}")]
SkillCode = Annotated[str, schema.code("skill code", r"S\d{2}")]
AttitudeCode = Annotated[str, schema.code("attitude code", r"A\d{2}")]
KpiId = Annotated[str, schema.code("KPI id", r"[a-z][a-z0-9_]*")]
Level = Annotated[int, schema.Rule(minimum=1)]
NON_EMPTY = schema.Rule(non_empty=True)


class CompetencyMapError(ValueError):
    """The competency map is missing, malformed or inconsistent; the message starts with the YAML path."""

    def __init__(self, path: str, problem: str, file: Path | str | None = None) -> None:
        self.path = path
        self.problem = problem
        self.file = None if file is None else Path(file)
        message = f"{path}: {problem}"
        if self.file is not None:
            message += f" (in {self.file})"
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle with the path, problem and file."""
        return (self.__class__, (self.path, self.problem, self.file))


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; expected one of {', '.join(LANGS)}")


# --------------------------------------------------------------------------- data classes


@dataclass(frozen=True)
class Text:
    """A string given in both languages of the map."""

    zh_tw: str = field(metadata=schema.key("zh-TW"))
    en: str

    def label(self, lang: str = "zh-TW") -> str:
        """Return the string in ``lang`` ('zh-TW' or 'en')."""
        _check_lang(lang)
        return {"zh-TW": self.zh_tw, "en": self.en}[lang]


class _Labelled:
    """Mixin for coded items whose display text is held in one Text field."""

    code: str
    _label_field: str = "name"

    def label(self, lang: str = "zh-TW") -> str:
        """Return the item's name/title/text in ``lang`` ('zh-TW' or 'en')."""
        return getattr(self, self._label_field).label(lang)

    def caption(self, lang: str = "zh-TW") -> str:
        """Return 'CODE label' in ``lang``, e.g. 'P4.3.1 依組織政策，…'."""
        return f"{self.code} {self.label(lang)}"


@dataclass(frozen=True)
class Classification:
    """A classification code of the standard (job category, occupation or industry) with its name."""

    code: str
    name: Text

    def label(self, lang: str = "zh-TW") -> str:
        """Return the classification's name in ``lang``."""
        return self.name.label(lang)


@dataclass(frozen=True)
class Standard:
    """The competency standard's identity: code, version, name, level, date, job description, codes."""

    code: str
    version: str
    name: Text
    level: Level
    updated: dt.date
    job_description: Text
    job_category: Classification
    occupation: Classification
    industry: Classification
    status: Text | None = None
    requirements: Text | None = None

    def label(self, lang: str = "zh-TW") -> str:
        """Return the standard's name in ``lang``."""
        return self.name.label(lang)


@dataclass(frozen=True)
class Duty(_Labelled):
    """A main duty (主要職責), T1-T4."""

    code: DutyCode
    name: Text


@dataclass(frozen=True)
class Task(_Labelled):
    """A work task (工作任務) with its outputs, indicators, knowledge and skills codes."""

    code: TaskCode
    duty: DutyCode
    title: Text
    level: Level
    outputs: tuple[OutputCode, ...]
    indicators: Annotated[tuple[IndicatorCode, ...], NON_EMPTY]
    knowledge: Annotated[tuple[KnowledgeCode, ...], NON_EMPTY]
    skills: Annotated[tuple[SkillCode, ...], NON_EMPTY]
    title_inferred: bool = False
    title_note: Text | None = None
    _label_field = "title"

    def _invalid(self) -> tuple[str, str] | None:
        if self.title_note is not None and not self.title_inferred:
            return "title_note", "only allowed when title_inferred is true"
        return None


@dataclass(frozen=True)
class Output(_Labelled):
    """A work output (工作產出) of a task."""

    code: OutputCode
    task: TaskCode
    name: Text
    detail: Text | None = None


@dataclass(frozen=True)
class Indicator(_Labelled):
    """A behaviour indicator (行為指標) of a task."""

    code: IndicatorCode
    task: TaskCode
    text: Text
    _label_field = "text"


@dataclass(frozen=True)
class Knowledge(_Labelled):
    """A knowledge item (K, 知識)."""

    code: KnowledgeCode
    name: Text
    detail: Text | None = None


@dataclass(frozen=True)
class Skill(_Labelled):
    """A skill item (S, 技能)."""

    code: SkillCode
    name: Text


@dataclass(frozen=True)
class Attitude(_Labelled):
    """An attitude item (A, 態度) with its name and description."""

    code: AttitudeCode
    name: Text
    description: Text


@dataclass(frozen=True)
class KpiLink:
    """How one KPI evidences the standard: tasks, indicators, K/S/A codes to coach, coaching actions."""

    kpi_id: str = field(metadata=schema.FROM_KEY)
    tasks: Annotated[tuple[TaskCode, ...], NON_EMPTY]
    indicators: Annotated[tuple[IndicatorCode, ...], NON_EMPTY]
    knowledge: tuple[KnowledgeCode, ...]
    skills: tuple[SkillCode, ...]
    coaching: Annotated[tuple[Text, ...], schema.Rule(length=(2, 3), items="coaching actions")]
    attitudes: tuple[AttitudeCode, ...] = ()
    note: Text | None = field(default=None, metadata=schema.before(lambda v: {"zh-TW": v, "en": v}
                                                                   if isinstance(v, str) else v))  # one for both


Item = Union[Duty, Task, Output, Indicator, Knowledge, Skill, Attitude]


@dataclass(frozen=True)
class CompetencyMap:
    """The whole validated map, with lookups by code and by KPI id."""

    standard: Standard
    duties: tuple[Duty, ...]
    tasks: tuple[Task, ...]
    outputs: tuple[Output, ...]
    indicators: tuple[Indicator, ...]
    knowledge: tuple[Knowledge, ...]
    skills: tuple[Skill, ...]
    attitudes: tuple[Attitude, ...]
    kpi_links: tuple[KpiLink, ...]
    # Page measures that are not catalog KPIs (the staffing page's), linked the same way: keyed by the measure's id.
    measure_links: tuple[KpiLink, ...] = ()
    source: Path | None = field(default=None, compare=False)
    _items: dict[str, Item] = field(init=False, repr=False, compare=False)
    _links: dict[str, KpiLink] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        items: dict[str, Item] = {}
        for group in (self.duties, self.tasks, self.outputs, self.indicators,
                      self.knowledge, self.skills, self.attitudes):
            for it in group:
                items[it.code] = it
        object.__setattr__(self, "_items", items)
        object.__setattr__(self, "_links", {link.kpi_id: link for link in self.kpi_links})

    def item(self, code: str) -> Item:
        """Return the duty, task, output, indicator, K, S or A item with ``code`` (KeyError if none)."""
        try:
            return self._items[code]
        except KeyError:
            raise KeyError(f"no item with code {code!r} in the competency map") from None

    def task(self, code: str) -> Task:
        """Return the task with ``code``."""
        return self._typed(code, Task)

    def indicator(self, code: str) -> Indicator:
        """Return the behaviour indicator with ``code``."""
        return self._typed(code, Indicator)

    def link(self, kpi_id: str) -> KpiLink:
        """Return the link of KPI ``kpi_id`` (KeyError if the KPI is not linked)."""
        try:
            return self._links[kpi_id]
        except KeyError:
            raise KeyError(f"KPI {kpi_id!r} has no link in the competency map") from None

    def measures_for(self, indicator: str) -> tuple[KpiLink, ...]:
        """The page measures (measure_links) that give evidence on an indicator, in the map's order."""
        return tuple(link for link in self.measure_links if indicator in link.indicators)

    @property
    def kpi_ids(self) -> tuple[str, ...]:
        """Return the linked KPI ids in file order."""
        return tuple(self._links)

    def _typed(self, code: str, cls: type[Any]) -> Any:
        it = self.item(code)
        if not isinstance(it, cls):
            raise KeyError(f"{code!r} is a {type(it).__name__}, not a {cls.__name__}")
        return it


# --------------------------------------------------------------------------- helpers


class _HasLabel(Protocol):
    """Anything with a ``label(lang)`` method."""

    def label(self, lang: str = ...) -> str:
        """Return the display text in ``lang``."""
        ...


def text(item: Text | _HasLabel, lang: str = "zh-TW") -> str:
    """Return the display text of a Text or any map item in ``lang`` ('zh-TW' or 'en')."""
    return item.label(lang)


def indicators_for_kpi(cmap: CompetencyMap, kpi_id: str) -> list[Indicator]:
    """Return the behaviour indicators a KPI evidences, in the link's order."""
    return [cmap.indicator(code) for code in cmap.link(kpi_id).indicators]


def tasks_for_kpi(cmap: CompetencyMap, kpi_id: str) -> list[Task]:
    """Return the tasks a KPI is linked to, in the link's order."""
    return [cmap.task(code) for code in cmap.link(kpi_id).tasks]


def knowledge_for_kpi(cmap: CompetencyMap, kpi_id: str) -> list[Knowledge]:
    """Return the knowledge items to coach for a KPI."""
    return [cmap._typed(code, Knowledge) for code in cmap.link(kpi_id).knowledge]


def skills_for_kpi(cmap: CompetencyMap, kpi_id: str) -> list[Skill]:
    """Return the skill items to coach for a KPI."""
    return [cmap._typed(code, Skill) for code in cmap.link(kpi_id).skills]


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class _MapFile:
    """competency_map.yaml as written: the map's sections, with the KPI links keyed by KPI id."""

    standard: Standard
    duties: Annotated[tuple[Duty, ...], NON_EMPTY]
    tasks: Annotated[tuple[Task, ...], NON_EMPTY]
    outputs: Annotated[tuple[Output, ...], NON_EMPTY]
    indicators: Annotated[tuple[Indicator, ...], NON_EMPTY]
    knowledge: Annotated[tuple[Knowledge, ...], NON_EMPTY]
    skills: Annotated[tuple[Skill, ...], NON_EMPTY]
    attitudes: Annotated[tuple[Attitude, ...], NON_EMPTY]
    kpi_links: Annotated[dict[KpiId, KpiLink], NON_EMPTY]
    measure_links: dict[KpiId, KpiLink] = field(default_factory=dict)


_SECTIONS = (("duties", "duty"), ("tasks", "task"), ("outputs", "output"), ("indicators", "indicator"),
             ("knowledge", "knowledge"), ("skills", "skill"), ("attitudes", "attitude"))


def load_competency_map(
    path: str | Path | None = None, kpi_ids: Iterable[str] | None = None
) -> CompetencyMap:
    """Read, validate and return the competency map; with ``kpi_ids``, also check every KPI is linked."""
    file = Path(path) if path is not None else DEFAULT_PATH
    try:
        source = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise CompetencyMapError("(file)", f"cannot read the competency map: {exc}", file) from exc
    try:
        doc = schema.parse(_MapFile, schema.load_yaml(source))
        cmap = _build(doc, None if kpi_ids is None else list(kpi_ids))
    except yaml.YAMLError as exc:
        raise CompetencyMapError("(document)", f"invalid YAML: {exc}", file) from exc
    except (schema.SchemaError, CompetencyMapError) as exc:
        raise CompetencyMapError(exc.path, exc.problem, file) from None
    object.__setattr__(cmap, "source", file)
    return cmap


def _fail(path: str, problem: str) -> CompetencyMapError:
    """An error at a YAML path (for raising)."""
    return CompetencyMapError(path or "(root)", problem)


def _build(doc: _MapFile, kpi_ids: list[str] | None) -> CompetencyMap:
    """The map from a well-shaped document, once every code it names resolves and every item sits under its owner."""
    at = {key: _index(getattr(doc, key), key, kind) for key, kind in _SECTIONS}
    for i, t in enumerate(doc.tasks):
        _check_task(doc, at, t, schema.join("tasks", i))
    for i, d in enumerate(doc.duties):
        if not any(t.duty == d.code for t in doc.tasks):
            raise _fail(schema.join("duties", i), f"duty {d.code!r} has no task")
    _check_owners(doc, at)
    for link in doc.kpi_links.values():
        _check_link(doc, at, link, schema.join("kpi_links", link.kpi_id))
    if kpi_ids is not None:
        _check_catalog(doc.kpi_links, kpi_ids)
    for link in doc.measure_links.values():
        if link.kpi_id not in STAFFING_MEASURES:
            raise _fail(schema.join("measure_links", link.kpi_id),
                        f"{link.kpi_id!r} is not a page measure; expected one of {', '.join(STAFFING_MEASURES)}")
        _check_link(doc, at, link, schema.join("measure_links", link.kpi_id))
    sections = {key: getattr(doc, key) for key, _ in _SECTIONS}
    return CompetencyMap(standard=doc.standard, **sections, kpi_links=tuple(doc.kpi_links.values()),
                         measure_links=tuple(doc.measure_links.values()))


def _index(items: tuple[Any, ...], key: str, kind: str) -> dict[str, int]:
    """Each item's code -> its position in the section; a code given twice is an error at the second."""
    where: dict[str, int] = {}
    for i, item in enumerate(items):
        if item.code in where:
            raise _fail(f"{key}[{i}].code", f"duplicate {kind} code {item.code!r} (first at {key}[{where[item.code]}])")
        where[item.code] = i
    return where


def _known(codes: tuple[str, ...], known: Mapping[str, Any], kind: str, path: str) -> None:
    for j, code in enumerate(codes):
        if code not in known:
            raise _fail(schema.join(path, j), f"unknown {kind} code {code!r}")


def _check_task(doc: _MapFile, at: dict[str, dict[str, int]], t: Task, p: str) -> None:
    """A task's duty exists and holds it; its codes resolve; its outputs and indicators are its own."""
    if t.duty not in at["duties"]:
        raise _fail(schema.join(p, "duty"), f"unknown duty code {t.duty!r}")
    if t.code.split(".")[0] != t.duty:
        raise _fail(schema.join(p, "code"), f"task {t.code!r} is not under its duty {t.duty!r}")
    for key, kind in (("outputs", "output"), ("indicators", "indicator"), ("knowledge", "knowledge"),
                      ("skills", "skill")):
        _known(getattr(t, key), at[key], kind, schema.join(p, key))
    for key, kind in (("outputs", "output"), ("indicators", "indicator")):
        items = getattr(doc, key)
        for j, code in enumerate(getattr(t, key)):
            owner = items[at[key][code]].task
            if owner != t.code:
                raise _fail(schema.join(schema.join(p, key), j), f"{kind} {code!r} belongs to task {owner!r}, not {t.code!r}")


def _check_owners(doc: _MapFile, at: dict[str, dict[str, int]]) -> None:
    """Outputs and indicators: their task exists, numbers them under itself and lists them."""
    for key, kind in (("outputs", "output"), ("indicators", "indicator")):
        for i, it in enumerate(getattr(doc, key)):
            p = schema.join(key, i)
            if it.task not in at["tasks"]:
                raise _fail(schema.join(p, "task"), f"unknown task code {it.task!r}")
            if it.code[1:].rsplit(".", 1)[0] != it.task[1:]:
                raise _fail(schema.join(p, "code"), f"{kind} {it.code!r} is not numbered under its task {it.task!r}")
            if it.code not in getattr(doc.tasks[at["tasks"][it.task]], key):
                raise _fail(p, f"{kind} {it.code!r} belongs to task {it.task!r} but "
                               f"tasks[{at['tasks'][it.task]}].{key} does not list it")


def _check_link(doc: _MapFile, at: dict[str, dict[str, int]], link: KpiLink, p: str) -> None:
    """A KPI link's codes resolve; its indicators and tasks go together; it coaches its tasks' K and S."""
    _known(link.tasks, at["tasks"], "task", schema.join(p, "tasks"))
    _known(link.indicators, at["indicators"], "indicator", schema.join(p, "indicators"))
    task_of = {code: doc.indicators[at["indicators"][code]].task for code in link.indicators}
    for j, code in enumerate(link.indicators):
        if task_of[code] not in link.tasks:
            raise _fail(schema.join(schema.join(p, "indicators"), j),
                        f"indicator {code!r} belongs to task {task_of[code]!r}, which is not in {p}.tasks")
    for j, code in enumerate(link.tasks):
        if code not in task_of.values():
            raise _fail(schema.join(schema.join(p, "tasks"), j), f"task {code!r} has none of its indicators in {p}.indicators")
    tasks = [doc.tasks[at["tasks"][code]] for code in link.tasks]
    for key, kind in (("knowledge", "knowledge"), ("skills", "skill")):
        coached = {code for t in tasks for code in getattr(t, key)}
        for j, code in enumerate(getattr(link, key)):
            if code not in coached:
                raise _fail(schema.join(schema.join(p, key), j), f"{kind} code {code!r} is not among the {key} "
                                                                f"of the linked tasks {', '.join(link.tasks)}")
    _known(link.attitudes, at["attitudes"], "attitude", schema.join(p, "attitudes"))


def _check_catalog(links: Mapping[str, KpiLink], kpi_ids: list[str]) -> None:
    """Every KPI of the catalog has a link, and every link is to a KPI of the catalog."""
    for kpi in kpi_ids:
        if kpi not in links:
            raise _fail("kpi_links", f"KPI {kpi!r} of the catalog has no link")
    for kpi in links:
        if kpi not in kpi_ids:
            raise _fail(schema.join("kpi_links", kpi), f"KPI {kpi!r} is not in the KPI catalog")


# --------------------------------------------------------------------------- weak competencies

WORSENING_FACTOR: float = 1.5
"""A KPI that got worse beyond noise (95% test against the previous period) has its points multiplied by this."""
PROCESS_INDICATORS: dict[str, float] = {"P4.3.1": 0.5, "P4.3.3": 0.5, "P4.3.4": 0.5}
"""Indicators of the manager's own processes (review satisfaction, seek stakeholders' feedback, write the report):
a KPI is only indirect evidence of them, so their score counts at this weight."""
PEER_Z: float = 1.959963984540054
"""An agent is weak on a KPI when worse than their team beyond noise at 95%."""

WEAK_STATUSES: tuple[str, ...] = ("bad", "warning")
WEAK_KPI_COLUMNS: tuple[str, ...] = ("id", "value", "reference", "compared_with", "n", "interval", "status",
                                     "gap_bands", "change", "worsening", "points", "factor")
RANK_COLUMNS: tuple[str, ...] = ("rank", "indicator", "task", "text_zh", "text_en", "score", "severity", "coverage",
                                 "weight", "kpis", "worst_gap", "worsening", "knowledge", "skills", "coaching_zh",
                                 "coaching_en")


def _band_unit(band: float | None, target: float) -> float:
    """What one 'band' is worth in the KPI's unit: its band, else |target|, else 1."""
    return float(band) if band else (abs(float(target)) or 1.0)


def _against_target(kpi: Kpi, v: KpiValue, team: str | None) -> dict[str, Any] | None:
    """A team's (or the centre's) KPI that is credibly off its target: how many bands past it."""
    if v.status not in WEAK_STATUSES or v.value is None or v.target is None:
        return None
    unit = _band_unit(v.band if v.band is not None else kpi.target_for(team)[1], v.target)
    if kpi.better == "near":  # past the band on either side of the target
        gap = (abs(v.value - v.target) - (v.band or 0.0)) / unit
    elif kpi.better in ("higher", "lower"):
        gap = (1.0 if kpi.better == "higher" else -1.0) * (v.target - v.value) / unit
    else:
        return None
    return {"reference": v.target, "compared_with": "target", "status": v.status, "gap_bands": gap}


def _against_peers(kpi: Kpi, v: KpiValue, peer: KpiValue | None, team: str | None,
                   min_n: float | None = None) -> dict[str, Any] | None:
    """An agent's KPI that is worse than their team's beyond noise: how many bands worse."""
    if (not kpi.rank_agents or kpi.better not in ("higher", "lower") or peer is None or v.value is None
            or peer.value is None or v.se is None or peer.se is None or v.status == "uncertain"):
        return None
    if min_n is not None and (v.n is None or v.n < min_n):
        return None  # too few contacts or responses behind the agent's value to say anything
    sign = 1.0 if kpi.better == "higher" else -1.0
    worse_by = sign * (peer.value - v.value)
    spread = (v.se ** 2 + peer.se ** 2) ** 0.5
    if worse_by <= 0 or (spread > 0 and worse_by / spread <= PEER_Z):
        return None
    target, band = kpi.target_for(team)
    gap = worse_by / _band_unit(band, target if target is not None else peer.value)
    return {"reference": peer.value, "compared_with": "team", "status": "bad" if gap > 1 else "warning",
            "gap_bands": gap}


def weak_kpis(kpis: Mapping[str, KpiValue], catalog: Catalog | None = None, *, team: str | None = None,
              peers: Mapping[str, KpiValue] | None = None) -> pd.DataFrame:
    """The credible weak KPIs with their gap in bands, trend and points, furthest off first.

    A team (peers None) is weak on a KPI whose status is bad or warning against its target: small samples and
    intervals holding the target are 'uncertain' and maturing values have none, so neither counts. An agent (peers:
    their team's KpiValues) is weak where worse than the team beyond noise (95%), in the team's bands; NPS and the
    queue measures are not scored per agent. Gaps are not capped: the largest gap ranks first.
    """
    catalog = catalog or load_catalog()
    order = {kid: i for i, kid in enumerate(catalog.kpis)}
    rows = []
    for kid, v in kpis.items():
        kpi = catalog.kpis.get(kid)
        if kpi is None:
            continue
        min_n = (catalog.settings.get("min_n") or {}).get(kpi.dataset)
        found = (_against_target(kpi, v, team) if peers is None
                 else _against_peers(kpi, v, peers.get(kid), team, min_n))
        if found is None:
            continue
        worse = v.trend == "worse"
        rows.append({"id": kid, "value": v.value, **found, "n": v.n, "interval": v.interval, "change": v.change,
                     "worsening": worse, "points": found["gap_bands"] * (WORSENING_FACTOR if worse else 1.0),
                     "factor": kpi.factor or kid, "_order": order.get(kid, len(order))})
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in WEAK_KPI_COLUMNS})
    frame = pd.DataFrame(rows)
    frame["_gap"] = frame["gap_bands"].round(9)
    frame = frame.sort_values(["_gap", "_order"], ascending=[False, True], kind="stable")
    return frame.drop(columns=["_gap", "_order"])[list(WEAK_KPI_COLUMNS)].reset_index(drop=True)


def agents_by_need(agents: Mapping[str, Mapping[str, KpiValue]], catalog: Catalog | None = None, *,
                   team: str | None = None, peers: Mapping[str, KpiValue] | None = None) -> list[tuple[str, int]]:
    """(agent, how many KPIs are worse than their team's beyond noise), the agent most in need of coaching first: most
    such KPIs, then the largest gap in bands, then by id."""
    worse = {a: weak_kpis(values, catalog, team=team, peers=peers) for a, values in agents.items()}
    order = sorted(worse, key=lambda a: (-len(worse[a]), -float(worse[a]["gap_bands"].max()) if len(worse[a]) else 0.0,
                                         a))
    return [(a, len(worse[a])) for a in order]


def _possible_factors(cmap: CompetencyMap, catalog: Catalog, agents: bool) -> dict[str, set[str]]:
    """For each indicator, the factors of its linked KPIs that could be weak (a direction, and a target or peers)."""
    out: dict[str, set[str]] = {p.code: set() for p in cmap.indicators}
    for link in cmap.kpi_links:
        kpi = catalog.kpis.get(link.kpi_id)
        if kpi is None or kpi.better == "none":
            continue
        if agents and (not kpi.rank_agents or not kpi.agent or not kpi.num or kpi.better == "near"):
            continue  # an agent is compared with the team on rates and means only
        if not agents and kpi.target is None and not any("target" in t for t in kpi.team_targets.values()):
            continue
        for code in link.indicators:
            out[code].add(kpi.factor or kpi.id)
    return out


def _unique(items: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(items))


def rank_weak_competencies(cmap: CompetencyMap, kpis: Mapping[str, KpiValue], catalog: Catalog | None = None, *,
                           team: str | None = None, peers: Mapping[str, KpiValue] | None = None) -> pd.DataFrame:
    """The behaviour indicators behind one team's or agent's weak KPIs, the one to coach first on top.

    Scoring, per credible weak KPI (see weak_kpis) and then per indicator that KPI links to:

    - gap: how far past target (a team) or worse than the team (an agent), in the KPI's bands (or |target|), so
      seconds and percentages compare; never capped.
    - points = gap x 1.5 if the KPI got worse beyond noise since the previous period, else x 1.
    - correlated KPIs count once: per indicator, the KPIs of one factor (service level, speed of answer and
      abandonment are 'accessibility'; CSAT, its mean, NPS and CES 'satisfaction') give the points of the worst.
    - severity = the sum over factors; coverage = weak factors / factors linked to the indicator that could be weak.
    - score = severity x coverage x weight, where indicators of the manager's own processes (P4.3.1, P4.3.3,
      P4.3.4) weigh 0.5: a KPI is indirect evidence of them.

    Ties go to more weak KPIs, then the larger gap, then map order.
    """
    catalog = catalog or load_catalog()
    weak = weak_kpis(kpis, catalog, team=team, peers=peers)
    linked = set(cmap.kpi_ids)
    per: dict[str, list[dict[str, Any]]] = {}
    for row in weak.to_dict("records"):
        if row["id"] in linked:
            for code in cmap.link(row["id"]).indicators:
                per.setdefault(code, []).append(row)
    possible = _possible_factors(cmap, catalog, agents=peers is not None)
    order = {p.code: i for i, p in enumerate(cmap.indicators)}
    rows = [_indicator_row(cmap, code, krows, possible[code]) for code, krows in per.items()]
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in RANK_COLUMNS})
    # rounded so that float noise (2 bands computed as 1.9999999999999996) doesn't decide a tie
    rows.sort(key=lambda r: (-round(r["score"], 9), -len(r["kpis"]), -round(r["worst_gap"], 9), order[r["indicator"]]))
    for i, r in enumerate(rows, start=1):
        r["rank"] = i
    return pd.DataFrame(rows, columns=list(RANK_COLUMNS))


def _indicator_row(cmap: CompetencyMap, code: str, krows: list[dict[str, Any]], possible: set[str]) -> dict[str, Any]:
    ids = [r["id"] for r in krows]  # already furthest off first
    links = [cmap.link(kid) for kid in ids]
    best: dict[str, float] = {}
    for r in krows:
        best[r["factor"]] = max(best.get(r["factor"], 0.0), r["points"])
    severity = sum(best.values())
    coverage = len(best) / len(possible | set(best))
    weight = PROCESS_INDICATORS.get(code, 1.0)
    ind = cmap.indicator(code)
    return {
        "indicator": code, "task": ind.task, "text_zh": ind.text.zh_tw, "text_en": ind.text.en,
        "score": severity * coverage * weight, "severity": severity, "coverage": coverage, "weight": weight,
        "kpis": ids, "worst_gap": max(r["gap_bands"] for r in krows), "worsening": any(r["worsening"] for r in krows),
        "knowledge": sorted({c for link in links for c in link.knowledge}),
        "skills": sorted({c for link in links for c in link.skills}),
        "coaching_zh": _unique(c.zh_tw for link in links for c in link.coaching),
        "coaching_en": _unique(c.en for link in links for c in link.coaching),
    }


def task_gap_matrix(cmap: CompetencyMap, groups: Mapping[Any, Mapping[str, KpiValue]],
                    catalog: Catalog | None = None, *, team_of: Mapping[Any, str] | None = None) -> pd.DataFrame:
    """Group x task heat map: per task, the gaps (bands) of the group's weak KPIs linked to it, one per factor.

    ``team_of`` maps a group key to its team for per-team bands; by default a key is its own team.
    """
    catalog = catalog or load_catalog()
    tasks = [t.code for t in cmap.tasks]
    linked = set(cmap.kpi_ids)
    data = []
    for key, kpis in groups.items():
        sums = dict.fromkeys(tasks, 0.0)
        team = (team_of or {}).get(key, key)
        weak = weak_kpis(kpis, catalog, team=team if isinstance(team, str) else None)
        for task_code in tasks:  # per task, the worst gap of each factor, summed: correlated KPIs count once
            best: dict[str, float] = {}
            for kid, gap, factor in zip(weak["id"], weak["gap_bands"], weak["factor"]):
                if kid in linked and task_code in cmap.link(kid).tasks:
                    best[factor] = max(best.get(factor, 0.0), float(gap))
            sums[task_code] = sum(best.values())
        data.append(sums)
    return pd.DataFrame(data, index=pd.Index(list(groups), name="group", dtype=object), columns=tasks, dtype=float)
