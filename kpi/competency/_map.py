"""Load and validate competency_map.yaml (iCAP BAS1499-003v4 and its KPI links); rank weak competencies from KPIs."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Union

import pandas as pd
import yaml

from ..metrics import Catalog, load_catalog

if TYPE_CHECKING:
    from ..metrics import Kpi, KpiValue

__all__ = [
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

LANGS: tuple[str, ...] = ("zh-TW", "en")
DEFAULT_PATH: Path = Path(__file__).resolve().parents[2] / "competency_map.yaml"

_CODE_PATTERNS: dict[str, re.Pattern[str]] = {
    "duty": re.compile(r"T\d+"),
    "task": re.compile(r"T\d+\.\d+"),
    "output": re.compile(r"O\d+\.\d+\.\d+"),
    "indicator": re.compile(r"P\d+\.\d+\.\d+"),
    "knowledge": re.compile(r"K\d{2}"),
    "skill": re.compile(r"S\d{2}"),
    "attitude": re.compile(r"A\d{2}"),
}
_KPI_ID = re.compile(r"[a-z][a-z0-9_]*")


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

    zh_tw: str
    en: str

    def label(self, lang: str = "zh-TW") -> str:
        """Return the string in ``lang`` ('zh-TW' or 'en')."""
        _check_lang(lang)
        return self.zh_tw if lang == "zh-TW" else self.en


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
    level: int
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

    code: str
    name: Text


@dataclass(frozen=True)
class Task(_Labelled):
    """A work task (工作任務) with its outputs, indicators, knowledge and skills codes."""

    code: str
    duty: str
    title: Text
    level: int
    outputs: tuple[str, ...]
    indicators: tuple[str, ...]
    knowledge: tuple[str, ...]
    skills: tuple[str, ...]
    title_inferred: bool = False
    title_note: Text | None = None
    _label_field = "title"


@dataclass(frozen=True)
class Output(_Labelled):
    """A work output (工作產出) of a task."""

    code: str
    task: str
    name: Text
    detail: Text | None = None


@dataclass(frozen=True)
class Indicator(_Labelled):
    """A behaviour indicator (行為指標) of a task."""

    code: str
    task: str
    text: Text
    _label_field = "text"


@dataclass(frozen=True)
class Knowledge(_Labelled):
    """A knowledge item (K, 知識)."""

    code: str
    name: Text
    detail: Text | None = None


@dataclass(frozen=True)
class Skill(_Labelled):
    """A skill item (S, 技能)."""

    code: str
    name: Text


@dataclass(frozen=True)
class Attitude(_Labelled):
    """An attitude item (A, 態度) with its name and description."""

    code: str
    name: Text
    description: Text


@dataclass(frozen=True)
class KpiLink:
    """How one KPI evidences the standard: tasks, indicators, K/S/A codes to coach, coaching actions."""

    kpi_id: str
    tasks: tuple[str, ...]
    indicators: tuple[str, ...]
    knowledge: tuple[str, ...]
    skills: tuple[str, ...]
    coaching: tuple[Text, ...]
    attitudes: tuple[str, ...] = ()
    note: Text | None = None


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
        node = yaml.compose(source, Loader=yaml.SafeLoader)
        if node is not None:
            _check_duplicate_keys(node, "")
        data = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        raise CompetencyMapError("(document)", f"invalid YAML: {exc}", file) from exc
    except CompetencyMapError as exc:
        raise CompetencyMapError(exc.path, exc.problem, file) from None
    try:
        cmap = _build(data, None if kpi_ids is None else list(kpi_ids))
    except CompetencyMapError as exc:
        raise CompetencyMapError(exc.path, exc.problem, file) from None
    object.__setattr__(cmap, "source", file)
    return cmap


def _join(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def _where(path: str) -> str:
    return path or "(root)"


def _check_duplicate_keys(node: yaml.Node, path: str) -> None:
    """Reject mappings with a repeated key (PyYAML would silently keep the last one)."""
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is not None:
                if key in seen:
                    raise CompetencyMapError(
                        _where(path),
                        f"duplicate key {key!r} (line {key_node.start_mark.line + 1})",
                    )
                seen.add(key)
            _check_duplicate_keys(value_node, _join(path, str(key)))
    elif isinstance(node, yaml.SequenceNode):
        for i, child in enumerate(node.value):
            _check_duplicate_keys(child, _join(path, i))


class _Err:
    """Small helpers that raise CompetencyMapError with a YAML path."""

    @staticmethod
    def fail(path: str, problem: str) -> CompetencyMapError:
        """Return (for raising) an error at ``path``."""
        return CompetencyMapError(_where(path), problem)

    @staticmethod
    def type_name(value: Any) -> str:
        """Return the YAML name of a value's type."""
        if value is None:
            return "null"
        return {dict: "mapping", list: "list", str: "string", bool: "boolean",
                int: "integer", float: "number"}.get(type(value), type(value).__name__)


def _mapping(value: Any, path: str, required: Iterable[str], optional: Iterable[str] = ()) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Err.fail(path, f"expected a mapping, got {_Err.type_name(value)}")
    required = tuple(required)
    allowed = set(required) | set(optional)
    for key in value:
        if not isinstance(key, str):
            raise _Err.fail(path, f"keys must be strings, got {_Err.type_name(key)} {key!r}")
        if key not in allowed:
            raise _Err.fail(_join(path, key), "unknown field")
    for key in required:
        if key not in value:
            raise _Err.fail(path, f"missing field '{key}'")
    return value


def _list(value: Any, path: str, *, non_empty: bool = False) -> list[Any]:
    if not isinstance(value, list):
        raise _Err.fail(path, f"expected a list, got {_Err.type_name(value)}")
    if non_empty and not value:
        raise _Err.fail(path, "must not be empty")
    return value


def _str(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _Err.fail(path, f"expected a string, got {_Err.type_name(value)}")
    if not value.strip():
        raise _Err.fail(path, "must not be empty")
    if value != value.strip() or "\n" in value:
        raise _Err.fail(path, "has leading/trailing whitespace or a line break")
    return value


def _int(value: Any, path: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Err.fail(path, f"expected an integer, got {_Err.type_name(value)}")
    if value < minimum:
        raise _Err.fail(path, f"must be at least {minimum}, got {value}")
    return value


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise _Err.fail(path, f"expected true or false, got {_Err.type_name(value)}")
    return value


def _date(value: Any, path: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise _Err.fail(path, f"expected a date YYYY-MM-DD, got {value!r}")


def _text(value: Any, path: str) -> Text:
    m = _mapping(value, path, LANGS)
    return Text(zh_tw=_str(m["zh-TW"], _join(path, "zh-TW")), en=_str(m["en"], _join(path, "en")))


def _opt_text(m: Mapping[str, Any], key: str, path: str) -> Text | None:
    return _text(m[key], _join(path, key)) if key in m else None


def _code(value: Any, path: str, kind: str) -> str:
    if not isinstance(value, str):
        raise _Err.fail(path, f"expected a {kind} code, got {_Err.type_name(value)} {value!r}")
    if not _CODE_PATTERNS[kind].fullmatch(value):
        raise _Err.fail(path, f"malformed {kind} code {value!r}")
    return value


def _codes(value: Any, path: str, kind: str, known: Mapping[str, Any] | None = None,
           *, non_empty: bool = False) -> tuple[str, ...]:
    out: list[str] = []
    for i, v in enumerate(_list(value, path, non_empty=non_empty)):
        p = _join(path, i)
        code = _code(v, p, kind)
        if code in out:
            raise _Err.fail(p, f"duplicate {kind} code {code!r}")
        if known is not None and code not in known:
            raise _Err.fail(p, f"unknown {kind} code {code!r}")
        out.append(code)
    return tuple(out)


def _section(data: dict[str, Any], key: str, kind: str, parse: Any) -> tuple[tuple[Any, ...], dict[str, int]]:
    """Parse a list section of coded items; return the items and each code's index."""
    items: list[Any] = []
    where: dict[str, int] = {}
    for i, raw in enumerate(_list(data[key], key, non_empty=True)):
        p = _join(key, i)
        item = parse(raw, p)
        if item.code in where:
            raise _Err.fail(_join(p, "code"),
                            f"duplicate {kind} code {item.code!r} (first at {key}[{where[item.code]}])")
        where[item.code] = i
        items.append(item)
    return tuple(items), where


def _parse_classification(value: Any, path: str) -> Classification:
    m = _mapping(value, path, ("code", "name"))
    return Classification(code=_str(m["code"], _join(path, "code")), name=_text(m["name"], _join(path, "name")))


def _parse_standard(value: Any, path: str) -> Standard:
    m = _mapping(value, path,
                 ("code", "version", "name", "level", "updated", "job_description",
                  "job_category", "occupation", "industry"),
                 ("status", "requirements"))
    return Standard(
        code=_str(m["code"], _join(path, "code")),
        version=_str(m["version"], _join(path, "version")),
        name=_text(m["name"], _join(path, "name")),
        level=_int(m["level"], _join(path, "level")),
        updated=_date(m["updated"], _join(path, "updated")),
        job_description=_text(m["job_description"], _join(path, "job_description")),
        job_category=_parse_classification(m["job_category"], _join(path, "job_category")),
        occupation=_parse_classification(m["occupation"], _join(path, "occupation")),
        industry=_parse_classification(m["industry"], _join(path, "industry")),
        status=_opt_text(m, "status", path),
        requirements=_opt_text(m, "requirements", path),
    )


def _parse_duty(value: Any, path: str) -> Duty:
    m = _mapping(value, path, ("code", "name"))
    return Duty(code=_code(m["code"], _join(path, "code"), "duty"), name=_text(m["name"], _join(path, "name")))


def _parse_task(value: Any, path: str) -> Task:
    m = _mapping(value, path,
                 ("code", "duty", "title", "level", "outputs", "indicators", "knowledge", "skills"),
                 ("title_inferred", "title_note"))
    inferred = _bool(m["title_inferred"], _join(path, "title_inferred")) if "title_inferred" in m else False
    note = _opt_text(m, "title_note", path)
    if note is not None and not inferred:
        raise _Err.fail(_join(path, "title_note"), "only allowed when title_inferred is true")
    return Task(
        code=_code(m["code"], _join(path, "code"), "task"),
        duty=_code(m["duty"], _join(path, "duty"), "duty"),
        title=_text(m["title"], _join(path, "title")),
        level=_int(m["level"], _join(path, "level")),
        outputs=_codes(m["outputs"], _join(path, "outputs"), "output"),
        indicators=_codes(m["indicators"], _join(path, "indicators"), "indicator", non_empty=True),
        knowledge=_codes(m["knowledge"], _join(path, "knowledge"), "knowledge", non_empty=True),
        skills=_codes(m["skills"], _join(path, "skills"), "skill", non_empty=True),
        title_inferred=inferred,
        title_note=note,
    )


def _parse_output(value: Any, path: str) -> Output:
    m = _mapping(value, path, ("code", "task", "name"), ("detail",))
    return Output(code=_code(m["code"], _join(path, "code"), "output"),
                  task=_code(m["task"], _join(path, "task"), "task"),
                  name=_text(m["name"], _join(path, "name")),
                  detail=_opt_text(m, "detail", path))


def _parse_indicator(value: Any, path: str) -> Indicator:
    m = _mapping(value, path, ("code", "task", "text"))
    return Indicator(code=_code(m["code"], _join(path, "code"), "indicator"),
                     task=_code(m["task"], _join(path, "task"), "task"),
                     text=_text(m["text"], _join(path, "text")))


def _parse_knowledge(value: Any, path: str) -> Knowledge:
    m = _mapping(value, path, ("code", "name"), ("detail",))
    return Knowledge(code=_code(m["code"], _join(path, "code"), "knowledge"),
                     name=_text(m["name"], _join(path, "name")),
                     detail=_opt_text(m, "detail", path))


def _parse_skill(value: Any, path: str) -> Skill:
    m = _mapping(value, path, ("code", "name"))
    return Skill(code=_code(m["code"], _join(path, "code"), "skill"), name=_text(m["name"], _join(path, "name")))


def _parse_attitude(value: Any, path: str) -> Attitude:
    m = _mapping(value, path, ("code", "name", "description"))
    return Attitude(code=_code(m["code"], _join(path, "code"), "attitude"),
                    name=_text(m["name"], _join(path, "name")),
                    description=_text(m["description"], _join(path, "description")))


def _build(data: Any, kpi_ids: list[str] | None) -> CompetencyMap:
    top = _mapping(data, "", ("standard", "duties", "tasks", "outputs", "indicators",
                              "knowledge", "skills", "attitudes", "kpi_links"))
    standard = _parse_standard(top["standard"], "standard")
    duties, duty_at = _section(top, "duties", "duty", _parse_duty)
    tasks, task_at = _section(top, "tasks", "task", _parse_task)
    outputs, output_at = _section(top, "outputs", "output", _parse_output)
    indicators, indicator_at = _section(top, "indicators", "indicator", _parse_indicator)
    knowledge, knowledge_at = _section(top, "knowledge", "knowledge", _parse_knowledge)
    skills, skill_at = _section(top, "skills", "skill", _parse_skill)
    attitudes, attitude_at = _section(top, "attitudes", "attitude", _parse_attitude)

    task_by = {t.code: t for t in tasks}
    output_by = {o.code: o for o in outputs}
    indicator_by = {p.code: p for p in indicators}

    # tasks: duty exists, codes resolve, outputs/indicators really belong to the task
    for i, t in enumerate(tasks):
        p = _join("tasks", i)
        if t.duty not in duty_at:
            raise _Err.fail(_join(p, "duty"), f"unknown duty code {t.duty!r}")
        if t.code.split(".")[0] != t.duty:
            raise _Err.fail(_join(p, "code"), f"task {t.code!r} is not under its duty {t.duty!r}")
        for field_name, kind, known in (("outputs", "output", output_by), ("indicators", "indicator", indicator_by),
                                        ("knowledge", "knowledge", knowledge_at), ("skills", "skill", skill_at)):
            for j, code in enumerate(getattr(t, field_name)):
                if code not in known:
                    raise _Err.fail(_join(_join(p, field_name), j), f"unknown {kind} code {code!r}")
        for field_name, kind, by in (("outputs", "output", output_by), ("indicators", "indicator", indicator_by)):
            for j, code in enumerate(getattr(t, field_name)):
                owner = by[code].task
                if owner != t.code:
                    raise _Err.fail(_join(_join(p, field_name), j),
                                    f"{kind} {code!r} belongs to task {owner!r}, not {t.code!r}")
    for i, d in enumerate(duties):
        if not any(t.duty == d.code for t in tasks):
            raise _Err.fail(_join("duties", i), f"duty {d.code!r} has no task")

    # outputs and indicators: their task exists and lists them
    for key, kind, items, field_name in (("outputs", "output", outputs, "outputs"),
                                         ("indicators", "indicator", indicators, "indicators")):
        for i, it in enumerate(items):
            p = _join(key, i)
            if it.task not in task_by:
                raise _Err.fail(_join(p, "task"), f"unknown task code {it.task!r}")
            if it.code[1:].rsplit(".", 1)[0] != it.task[1:]:
                raise _Err.fail(_join(p, "code"), f"{kind} {it.code!r} is not numbered under its task {it.task!r}")
            if it.code not in getattr(task_by[it.task], field_name):
                raise _Err.fail(p, f"{kind} {it.code!r} belongs to task {it.task!r} but "
                                   f"tasks[{task_at[it.task]}].{field_name} does not list it")

    links = _parse_links(top["kpi_links"], task_by, indicator_by, attitude_at)
    if kpi_ids is not None:
        linked = {link.kpi_id for link in links}
        for kpi in kpi_ids:
            if kpi not in linked:
                raise _Err.fail("kpi_links", f"KPI {kpi!r} of the catalog has no link")
        catalog = set(kpi_ids)
        for link in links:
            if link.kpi_id not in catalog:
                raise _Err.fail(_join("kpi_links", link.kpi_id), f"KPI {link.kpi_id!r} is not in the KPI catalog")

    return CompetencyMap(standard=standard, duties=duties, tasks=tasks, outputs=outputs,
                         indicators=indicators, knowledge=knowledge, skills=skills,
                         attitudes=attitudes, kpi_links=links)


def _parse_links(value: Any, task_by: Mapping[str, Task], indicator_by: Mapping[str, Indicator],
                 attitude_at: Mapping[str, int]) -> tuple[KpiLink, ...]:
    if not isinstance(value, dict):
        raise _Err.fail("kpi_links", f"expected a mapping of KPI id to link, got {_Err.type_name(value)}")
    if not value:
        raise _Err.fail("kpi_links", "must not be empty")
    links: list[KpiLink] = []
    for kpi_id, raw in value.items():
        if not isinstance(kpi_id, str) or not _KPI_ID.fullmatch(kpi_id):
            raise _Err.fail("kpi_links", f"malformed KPI id {kpi_id!r}")
        p = _join("kpi_links", kpi_id)
        m = _mapping(raw, p, ("tasks", "indicators", "knowledge", "skills", "coaching"), ("attitudes", "note"))
        tasks = _codes(m["tasks"], _join(p, "tasks"), "task", task_by, non_empty=True)
        inds = _codes(m["indicators"], _join(p, "indicators"), "indicator", indicator_by, non_empty=True)
        for j, code in enumerate(inds):
            owner = indicator_by[code].task
            if owner not in tasks:
                raise _Err.fail(_join(_join(p, "indicators"), j),
                                f"indicator {code!r} belongs to task {owner!r}, which is not in {p}.tasks")
        for j, code in enumerate(tasks):
            if not any(indicator_by[c].task == code for c in inds):
                raise _Err.fail(_join(_join(p, "tasks"), j), f"task {code!r} has none of its indicators in {p}.indicators")
        coached: dict[str, set[str]] = {"knowledge": set(), "skills": set()}
        for code in tasks:
            coached["knowledge"].update(task_by[code].knowledge)
            coached["skills"].update(task_by[code].skills)
        ks: dict[str, tuple[str, ...]] = {}
        for field_name, kind in (("knowledge", "knowledge"), ("skills", "skill")):
            fp = _join(p, field_name)
            codes = _codes(m[field_name], fp, kind)
            for j, code in enumerate(codes):
                if code not in coached[field_name]:
                    raise _Err.fail(_join(fp, j), f"{kind} code {code!r} is not among the {field_name} "
                                                  f"of the linked tasks {', '.join(tasks)}")
            ks[field_name] = codes
        attitudes = (_codes(m["attitudes"], _join(p, "attitudes"), "attitude", attitude_at)
                     if "attitudes" in m else ())
        coaching_raw = _list(m["coaching"], _join(p, "coaching"))
        if not 2 <= len(coaching_raw) <= 3:
            raise _Err.fail(_join(p, "coaching"), f"expected 2-3 coaching actions, got {len(coaching_raw)}")
        coaching = tuple(_text(c, _join(_join(p, "coaching"), j)) for j, c in enumerate(coaching_raw))
        note: Text | None = None
        if "note" in m:
            if isinstance(m["note"], str):
                s = _str(m["note"], _join(p, "note"))
                note = Text(zh_tw=s, en=s)
            else:
                note = _text(m["note"], _join(p, "note"))
        links.append(KpiLink(kpi_id=kpi_id, tasks=tasks, indicators=inds, knowledge=ks["knowledge"],
                             skills=ks["skills"], coaching=coaching, attitudes=attitudes, note=note))
    return tuple(links)


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


def _against_peers(kpi: Kpi, v: KpiValue, peer: KpiValue | None, team: str | None) -> dict[str, Any] | None:
    """An agent's KPI that is worse than their team's beyond noise: how many bands worse."""
    if (not kpi.rank_agents or kpi.better not in ("higher", "lower") or peer is None or v.value is None
            or peer.value is None or v.se is None or peer.se is None or v.status == "uncertain"):
        return None
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
        found = _against_target(kpi, v, team) if peers is None else _against_peers(kpi, v, peers.get(kid), team)
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
