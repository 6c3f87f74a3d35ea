"""One validator for the YAML files (catalog.yaml, targets.yaml, competency_map.yaml): a dataclass declares the
shape, `parse` checks a loaded document against it and names the YAML path of the first problem
(`kpis.csat.unit: expected one of ...`, `duties[0].tasks[1].code: ...`).

A field without a default is required; a key the dataclass has no field for is refused. A check across fields
goes in a method `_invalid(self)` returning (field, problem), or None when the item is fine."""
from __future__ import annotations

import dataclasses
import functools
import datetime as dt
import re
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Union

from .. import present


class SchemaError(ValueError):
    """A document does not fit its declared shape; `path` is where in the YAML, `problem` what is wrong."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path or "(root)"
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


@dataclass(frozen=True)
class Rule:
    """Constraints beside a type, given as `Annotated[type, Rule(...)]`."""

    what: str | None = None  # a coded string's name in messages ("task code", "KPI id")
    pattern: str | None = None  # the full match a coded string needs
    one_of: tuple[str, ...] | None = None
    keys: tuple[str, ...] | None = None  # a mapping with exactly these keys
    non_empty: bool = False
    minimum: int | None = None
    length: tuple[int, int] | None = None  # a list's smallest and largest length
    items: str | None = None  # what a list holds, for its length message ("coaching actions")
    # A mapping whose values named here have their own type: ((key, type), ...) (settings.timezone is a text).
    key_types: tuple[tuple[str, Any], ...] = ()
    check: Any = None  # a string's own check: value -> the problem, or None when it is fine


def code(what: str, pattern: str) -> Rule:
    """A string that must fully match `pattern`; duplicates in one list are refused."""
    return Rule(what=what, pattern=pattern)


# Field metadata: the YAML spelling of a field's key, and fields not read from the field of the same name.
def key(name: str) -> dict[str, Any]:
    """Metadata of a field spelled `name` in the YAML (e.g. zh_tw <-> zh-TW)."""
    return {"key": name}


FROM_KEY = {"from_key": True}  # the key of the enclosing mapping (a KPI's id)
NOT_IN_YAML = {"not_in_yaml": True}  # filled by the loader, never by the document


def before(fn: Any) -> dict[str, Any]:
    """Metadata of a field whose raw value goes through `fn` first (e.g. one string for both languages)."""
    return {"before": fn}


def type_name(value: Any) -> str:
    """The YAML name of a value's type."""
    if value is None:
        return "null"
    return {dict: "mapping", list: "list", str: "string", bool: "boolean",
            int: "integer", float: "number"}.get(type(value), type(value).__name__)


def join(parent: str, part: str | int) -> str:
    """`parent.part`, or `parent[part]` for a list index."""
    if isinstance(part, int):
        return f"{parent}[{part}]"
    return f"{parent}.{part}" if parent else part


def load_yaml(source: str) -> Any:
    """The document, refusing a mapping with a repeated key (PyYAML would silently keep the last one) and an alias
    bomb (kpi.present.load_yaml)."""
    try:
        return present.load_yaml(source)
    except present.YamlError as exc:
        raise SchemaError(exc.path, exc.problem) from None


def parse(tp: Any, value: Any, path: str = "", *, mapping_key: str | None = None) -> Any:
    """`value` checked against the type `tp` (a dataclass, tuple[X, ...], dict[str, X], str, int, float, bool, date,
    `X | None`, each maybe `Annotated` with a Rule); raises SchemaError naming the path of the first problem."""
    rule = Rule()
    if typing.get_origin(tp) is Annotated:
        tp, rule = tp.__origin__, next((m for m in tp.__metadata__ if isinstance(m, Rule)), Rule())
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        return _union(typing.get_args(tp), value, path)
    if dataclasses.is_dataclass(tp):
        return _dataclass(tp, value, path, mapping_key)
    if origin is tuple:
        return _list(typing.get_args(tp)[0], rule, value, path)
    if origin is dict:
        return _mapping(typing.get_args(tp), rule, value, path)
    return _scalar(tp, rule, value, path)


def _union(members: tuple[Any, ...], value: Any, path: str) -> Any:
    if value is None and type(None) in members:
        return None
    options = [m for m in members if m is not type(None)]
    # A mapping goes to the member that reads one, a list to the one that reads a list, a scalar to the first other.
    shape = "mapping" if isinstance(value, dict) else "list" if isinstance(value, list) else "scalar"
    pick = next((m for m in options if _reads(m) == shape), options[0])
    return parse(pick, value, path)


def _reads(tp: Any) -> str:
    """What a type reads from YAML: a mapping, a list or a scalar."""
    if typing.get_origin(tp) is Annotated:
        tp = tp.__origin__
    if typing.get_origin(tp) is dict or dataclasses.is_dataclass(tp):
        return "mapping"
    return "list" if typing.get_origin(tp) is tuple else "scalar"


@functools.cache  # resolving a class's annotations costs more than checking one item against them
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, include_extras=True)


def _dataclass(cls: type, value: Any, path: str, mapping_key: str | None) -> Any:
    if not isinstance(value, dict):
        raise SchemaError(path, f"expected a mapping, got {type_name(value)}")
    fields = [f for f in dataclasses.fields(cls) if f.init and not f.metadata.get("not_in_yaml")]
    from_yaml = {f.metadata.get("key", f.name): f for f in fields if not f.metadata.get("from_key")}
    for k in value:
        if not isinstance(k, str):
            raise SchemaError(path, f"keys must be strings, got {type_name(k)} {k!r}")
        if k not in from_yaml:
            raise SchemaError(join(path, k), "unknown field")
    for k, f in from_yaml.items():
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if required and k not in value:
            raise SchemaError(path, f"missing field '{k}'")
    hints = _hints(cls)
    args = {f.name: mapping_key for f in fields if f.metadata.get("from_key")}
    for k, f in from_yaml.items():
        if k in value:
            raw = f.metadata["before"](value[k]) if "before" in f.metadata else value[k]
            args[f.name] = parse(hints[f.name], raw, join(path, k))
    obj = cls(**args)
    problem = obj._invalid() if hasattr(obj, "_invalid") else None
    if problem:
        where, text = problem
        raise SchemaError(join(path, where) if where else path, text)
    return obj


def _list(item: Any, rule: Rule, value: Any, path: str) -> tuple[Any, ...]:
    if not isinstance(value, list):
        raise SchemaError(path, f"expected a list, got {type_name(value)}")
    if rule.non_empty and not value:
        raise SchemaError(path, "must not be empty")
    if rule.length and not rule.length[0] <= len(value) <= rule.length[1]:
        lo, hi = rule.length
        span = f"{lo}" if lo == hi else f"{lo}-{hi}"
        raise SchemaError(path, f"expected {span} {rule.items or 'items'}, got {len(value)}")
    item_rule = item.__metadata__[0] if typing.get_origin(item) is Annotated else Rule()
    out: list[Any] = []
    for i, v in enumerate(value):
        parsed = parse(item, v, join(path, i))
        if item_rule.what and parsed in out:
            raise SchemaError(join(path, i), f"duplicate {item_rule.what} {parsed!r}")
        out.append(parsed)
    return tuple(out)


def _mapping(kv: tuple[Any, Any], rule: Rule, value: Any, path: str) -> dict[str, Any]:
    key_type, value_type = kv
    if not isinstance(value, dict):
        raise SchemaError(path, f"expected a mapping, got {type_name(value)}")
    if rule.non_empty and not value:
        raise SchemaError(path, "must not be empty")
    if rule.keys is not None:
        for k in value:
            if k not in rule.keys:
                raise SchemaError(join(path, str(k)), "unknown field")
        for k in rule.keys:
            if k not in value:
                raise SchemaError(path, f"missing field '{k}'")
    out = {}
    own = dict(rule.key_types)
    for k, v in value.items():
        if not isinstance(k, str):
            raise SchemaError(path, f"keys must be strings, got {type_name(k)} {k!r}")
        parse(key_type, k, path)
        out[k] = parse(own.get(k, value_type), v, join(path, k), mapping_key=k)
    return out


def _scalar(tp: Any, rule: Rule, value: Any, path: str) -> Any:
    if tp is str:
        return _str(rule, value, path)
    if tp is bool:
        if not isinstance(value, bool):
            raise SchemaError(path, f"expected true or false, got {type_name(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SchemaError(path, f"expected an integer, got {type_name(value)}")
        if rule.minimum is not None and value < rule.minimum:
            raise SchemaError(path, f"must be at least {rule.minimum}, got {value}")
        return value
    if tp is float:  # an integer stays one: thresholds bound to SQL keep the type they were written with
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SchemaError(path, f"expected a number, got {type_name(value)}")
        return value
    if tp is dt.date:
        return _date(value, path)
    raise TypeError(f"{path}: no rule for type {tp!r}")


def _str(rule: Rule, value: Any, path: str) -> str:
    if rule.pattern is not None:
        if not isinstance(value, str):
            raise SchemaError(path, f"expected a {rule.what}, got {type_name(value)} {value!r}")
        if not re.fullmatch(rule.pattern, value):
            raise SchemaError(path, f"malformed {rule.what} {value!r}")
        return value
    if not isinstance(value, str):
        raise SchemaError(path, f"expected a string, got {type_name(value)}")
    if not value.strip():
        raise SchemaError(path, "must not be empty")
    if value != value.strip() or "\n" in value:
        raise SchemaError(path, "has leading/trailing whitespace or a line break")
    if rule.one_of is not None and value not in rule.one_of:
        raise SchemaError(path, f"expected one of {', '.join(rule.one_of)}")
    problem = rule.check(value) if rule.check is not None else None
    if problem:
        raise SchemaError(path, problem)
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
    raise SchemaError(path, f"expected a date YYYY-MM-DD, got {value!r}")
