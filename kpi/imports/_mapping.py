"""How a file's headers and values map onto a dataset's columns: the mapping file, its options, header matching."""
from __future__ import annotations

import codecs
import datetime
import difflib
import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from . import _parse as parsing
from ._workbook import AMOUNT_UNITS
from ..present import YamlError, clip, load_yaml
from ..store import DATASETS, get_dataset


class FatalImportError(Exception):
    """The file cannot be imported at all; nothing was written. The message is the command line's; code and params
    (FATAL_CODES), where set, let a page say it in the reader's language (t(f"imp.fatal.{code}", **params))."""

    def __init__(self, message: str, code: str | None = None, **params: object) -> None:
        super().__init__(message)
        self.code, self.params = code, params


FATAL_CODES = ("missing_column", "empty", "decode", "unreadable_csv", "unreadable_excel")


# progress(fraction 0-1, step): called a few dozen times per import at most, whatever the file's size. A step is one of
# STEPS, a code the page words through the message catalog (t(f"imp.step.{step}")), the benchmark reads as it is.
Progress = Callable[[float, str], None]
STEPS = ("reading", "parsing", "fallback", "checking", "parsed", "opening", "pseudonymising", "writing", "comparing",
         "updating", "inserting", "committing", "written")


def _scaled(progress: Progress | None, lo: float, hi: float) -> Progress | None:
    """A progress callback for one phase, reporting into [lo, hi] of the whole."""
    if progress is None:
        return None
    return lambda fraction, step: progress(lo + (hi - lo) * fraction, step)


def _silent(fraction: float, step: str) -> None:
    """The progress callback when nobody listens."""


@dataclass
class Options:
    date_order: str = "auto"
    duration_unit: str | dict[str, str] = "s"  # one unit, or per column: {default: s, talk_seconds: ms}
    encoding: str = "auto"
    sheet: str | int | None = None
    sheets: str | list[str | int] | None = None  # several sheets of a workbook in one import: "all" or a list
    year: int | None = None  # the year of month headers written without one (1月, Jan), before a title or sheet name
    amount_unit: str | None = None  # one | thousand | ten_thousand | million; else as the sheet states it (千元)
    drivers_sheet: str | None = None  # budget: the sheet of budget drivers (else one whose name says so: 驅動因子)
    defaults: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    measure: str | None = None  # budget, months-as-columns layout without a measure column
    decimal: str = "auto"  # the decimal mark of numbers: ".", ",", or auto (guessed from the file, see _prepare)
    timezone: str | None = None  # the zone of timestamps written without an offset (None: the centre's)
    # Bounds on what a file may make the import read (docs/importing.md "Limits"): its size as text (after gunzip),
    # the longest line, the number of columns.
    max_mib: int = 1024
    max_line_kib: int = 1024
    max_fields: int = 1000
    # Canonical columns worked out from other fields when the export has none: column -> {rule: field(s)} (DERIVE_RULES)
    derive: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Among rows with the same key, the one with the latest value of a field is kept: {latest: field}
    dedupe: dict[str, str] = field(default_factory=dict)

    def unit_for(self, column: str) -> str:
        """The duration unit of a column: the one unit, or the column's own, else the default (s)."""
        if isinstance(self.duration_unit, str):
            return self.duration_unit
        return self.duration_unit.get(column, self.duration_unit.get("default", "s"))


@dataclass
class Mapping:
    dataset: str | None = None
    columns: dict[str, list[str]] = field(default_factory=dict)
    options: Options = field(default_factory=Options)
    source: str | None = None  # where it came from (a file, "preset five9 v1"), for messages and the import history

    def to_yaml(self) -> str:
        """The mapping in the file format the CLI reads."""
        cols = {k: (v[0] if len(v) == 1 else v) for k, v in self.columns.items()}
        default = Options()
        opts = {k: v for k, v in self.options.__dict__.items() if v != getattr(default, k)}
        doc: dict[str, Any] = {"dataset": self.dataset, "columns": cols}
        if opts:
            doc["options"] = opts
        return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


_OPTION_KEYS = {"date_order", "duration_unit", "encoding", "sheet", "defaults", "values", "measure", "decimal",
                "timezone", "max_mib", "max_line_kib", "max_fields", "sheets", "year", "amount_unit",
                "drivers_sheet"}
_OPTION_KEYS |= {"derive", "dedupe"}  # what presets need (docs/importing.md "Derived columns"), for any mapping
# How a derived column is worked out from the file's fields, and the kind of column each rule gives: present (the field
# has a value), absent (it has none), not (a true/false field negated), in (the field is one of these values, any case),
# seconds_between (from one timestamp field to another), epoch_seconds (a time written as seconds since 1970-01-01
# UTC, as Avaya CMS writes SEGSTART), case (the value of the first of several conditions that holds: any column).
DERIVE_RULES = {"present": "bool", "absent": "bool", "not": "bool", "in": "bool", "seconds_between": "duration",
                "epoch_seconds": "timestamp", "case": None}
CONDITIONS = ("present", "absent", "not", "in")  # the rules that hold or not: a case's conditions
DECIMAL_OPTIONS = ("auto", ".", ",")
MAPPING_MAX_BYTES = 1 << 20  # a mapping file is a page of text; anything bigger is a mistake (or an attack)


def _kind(value: Any) -> str:
    """A YAML value's kind, in the words of a mapping message."""
    if isinstance(value, bool):
        return f"true/false ({value})"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, str):
        return repr(clip(value))
    return {dict: "a mapping", list: "a list", type(None): "nothing"}.get(type(value), type(value).__name__)


def _scalar(value: Any) -> bool:
    """A value a mapping may give for a header, a constant or a recoded value: text, a number, true/false (YAML reads
    an unquoted yes as true; it is then read as the text True) or a date; never a list or a mapping."""
    return isinstance(value, (str, int, float, datetime.date))


def parse_mapping(doc: Any, source: str = "mapping") -> Mapping:
    """A mapping from its YAML document, every key and option checked, with errors that name the file and the key."""
    def bad(where: str, what: str) -> FatalImportError:
        return FatalImportError(f"{source}: {where}: {what}")

    if not isinstance(doc, dict):
        raise bad("top level", f"expected keys dataset, columns, options, got {_kind(doc)}")
    unknown = set(map(str, doc)) - {"dataset", "columns", "options"}
    if unknown:
        raise bad(clip(sorted(unknown)[0]), "unknown key (expected dataset, columns, options)")
    dataset = doc.get("dataset")
    if dataset is not None:
        if not isinstance(dataset, str):
            raise bad("dataset", f"expected a dataset name ({', '.join(DATASETS)}), got {_kind(dataset)}")
        try:
            get_dataset(dataset)
        except ValueError:
            raise bad("dataset", f"unknown dataset {clip(dataset)!r} (expected one of {', '.join(DATASETS)})") from None
    known = ({c.name for c in (*get_dataset(dataset).columns, *get_dataset(dataset).extra_columns)}
             if dataset else None)

    def check_column(where: str, name: Any) -> None:
        if known is not None and name not in known:
            raise bad(f"{where}.{clip(name)}", f"not a column of {dataset}; expected one of: {', '.join(sorted(known))}")

    columns: dict[str, list[str]] = {}
    raw_cols = doc.get("columns") or {}
    if not isinstance(raw_cols, dict):
        raise bad("columns", f"expected canonical column: source header, got {_kind(raw_cols)}")
    for canon, src in raw_cols.items():
        check_column("columns", canon)
        if _scalar(src):
            columns[str(canon)] = [str(src)]
        elif isinstance(src, list) and src and all(_scalar(x) for x in src):
            columns[str(canon)] = [str(x) for x in src]
        else:
            raise bad(f"columns.{clip(canon)}", f"expected a source header or a list of them, got {_kind(src)}")
    shared = shared_header(columns)
    if shared:
        a, b, header = shared
        raise bad(f"columns.{a} and columns.{b}", f"both read the header {clip(header)!r}; a header feeds one column")
    raw_opts = doc.get("options") or {}
    if not isinstance(raw_opts, dict):
        raise bad("options", f"expected a mapping of options, got {_kind(raw_opts)}")
    extra = set(map(str, raw_opts)) - _OPTION_KEYS
    if extra:
        raise bad(f"options.{clip(sorted(extra)[0])}", f"unknown option (expected one of: {', '.join(sorted(_OPTION_KEYS))})")
    opts = Options()
    for key, value in raw_opts.items():
        if value is None:  # an option written without a value keeps its default
            continue
        problem = _OPTION_CHECKS[key](value)
        if problem:
            raise bad(f"options.{key}", f"{problem}, got {_kind(value)}")
        setattr(opts, key, value)
    for key, table in (("defaults", opts.defaults), ("values", opts.values), ("derive", opts.derive)):
        for column, value in table.items():
            check_column(f"options.{key}", column)
    if opts.sheet is not None and opts.sheets is not None:
        raise bad("options.sheets", "give sheet (one sheet) or sheets (several), not both")
    opts.defaults = {str(k): str(v) for k, v in opts.defaults.items()}
    opts.values = {str(k): {str(a): str(b) for a, b in v.items()} for k, v in opts.values.items()}
    opts.derive = {str(k): _derive_rule(v) for k, v in opts.derive.items()}
    opts.dedupe = {str(k): str(v) for k, v in opts.dedupe.items()}
    ds = get_dataset(dataset) if dataset else None
    for column, rule in opts.derive.items():
        if column in columns:
            raise bad(f"columns.{column} and options.derive.{column}",
                      "both give the column; it is read from the file or derived, not both")
        kind = DERIVE_RULES[next(iter(rule))]
        if ds is not None and kind is not None and ds.column(column).kind != kind:
            raise bad(f"options.derive.{column}", f"{next(iter(rule))} gives {_KIND_WORDS[kind]}, but {column} is "
                      f"{_KIND_WORDS.get(ds.column(column).kind, ds.column(column).kind)}")
    if isinstance(opts.duration_unit, dict):
        opts.duration_unit = {str(k): v for k, v in opts.duration_unit.items()}
        durations = {c.name for c in ds.columns if c.kind == "duration"} if ds is not None else None
        for column in opts.duration_unit:
            if column != "default" and durations is not None and column not in durations:
                raise bad(f"options.duration_unit.{clip(column)}", "not a duration column of "
                          f"{dataset}; expected default or one of: {', '.join(sorted(durations))}")
    return Mapping(dataset=dataset, columns=columns, options=opts, source=source)


_KIND_WORDS = {"bool": "a true/false column", "duration": "a duration column", "timestamp": "a date-time column"}


def _derive_rule(value: dict[str, Any]) -> dict[str, Any]:
    """A checked derive rule (_derive_problem found none) with its fields and values as text: {present: F},
    {in: {F: [v, ...]}}, {seconds_between: [F1, F2]}, {case: [{when: RULE, then: v}, ..., {else: v}]}."""
    rule, arg = next(iter(value.items()))
    if rule == "in":
        field_name, values = next(iter(arg.items()))
        return {"in": {str(field_name): [str(v) for v in (values if isinstance(values, list) else [values])]}}
    if rule == "seconds_between":
        return {rule: [str(a) for a in arg]}
    if rule == "case":
        return {rule: [{"when": _derive_rule(c["when"]), "then": str(c["then"])} if "when" in c else
                       {"else": str(c["else"])} for c in arg]}
    return {rule: str(arg)}


def derive_fields(rule: dict[str, Any]) -> list[str]:
    """The source fields a derive rule reads (each once, in the order the rule names them)."""
    name, arg = next(iter(rule.items()))
    if name == "in":
        return list(arg)
    if name == "case":
        return list(dict.fromkeys(f for c in arg if "when" in c for f in derive_fields(c["when"])))
    return list(arg) if isinstance(arg, list) else [arg]


def _derive_problem(value: Any) -> str | None:
    expected = ("expected canonical column: {rule: field}, the rule one of "
                f"{', '.join(DERIVE_RULES)} (in: {{field: [values]}}, seconds_between: [start field, end field], "
                "case: [{when: {rule: field}, then: value}, ..., {else: value}])")
    if not isinstance(value, dict):
        return expected
    return expected if not all(_rule_ok(rule, DERIVE_RULES) for rule in value.values()) else None


def _rule_ok(rule: Any, rules: Any) -> bool:
    """One derive rule well formed, its name one of rules (a case's conditions: CONDITIONS)."""
    if not isinstance(rule, dict) or len(rule) != 1:
        return False
    name, arg = next(iter(rule.items()))
    ok = {"in": lambda a: isinstance(a, dict) and len(a) == 1 and all(
              _scalar(k) and (_scalar(v) or (isinstance(v, list) and v and all(map(_scalar, v))))
              for k, v in a.items()),
          "seconds_between": lambda a: isinstance(a, list) and len(a) == 2 and all(map(_scalar, a)),
          "case": _case_ok}
    return name in rules and ok.get(name, _scalar)(arg)


def _case_ok(cases: Any) -> bool:
    """[{when: condition, then: value}, ...] with an optional last {else: value}."""
    if not isinstance(cases, list) or not cases:
        return False
    for i, c in enumerate(cases):
        last = i == len(cases) - 1
        if not isinstance(c, dict) or not (set(c) == {"when", "then"} or (last and set(c) == {"else"})):
            return False
        if "else" in c:
            if not _scalar(c["else"]):
                return False
        elif not (_rule_ok(c["when"], CONDITIONS) and _scalar(c["then"])):
            return False
    return True


def _duration_unit_problem(value: Any) -> str | None:
    units = tuple(parsing.DURATION_UNITS)
    expected = f"expected one of {', '.join(units)}, or per column {{default: s, talk_seconds: ms}}"
    if isinstance(value, str):
        return None if value in units else expected
    if isinstance(value, dict) and value and all(isinstance(u, str) and u in units for u in value.values()):
        return None
    return expected


def _one_of(choices: Any, quoted: bool = False) -> Callable[[Any], str | None]:
    listed = ", ".join(repr(c) if quoted else c for c in choices)  # quoted: marks such as "." read as themselves
    return lambda v: None if isinstance(v, str) and v in choices else f"expected one of {listed}"


def _encoding(value: Any) -> str | None:
    expected = "expected an encoding name such as utf-8 or cp950 (Big5)"
    if not isinstance(value, str):
        return expected
    try:
        codecs.lookup(value)
    except LookupError:
        return f"unknown encoding; {expected}"
    return None


def _whole(value: Any) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 1
    return None if ok else "expected a whole number, 1 or more"


_OPTION_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "date_order": _one_of(parsing.DATE_ORDERS),
    "duration_unit": _duration_unit_problem,
    "encoding": _encoding,
    "sheet": lambda v: None if (isinstance(v, str) and v.strip()) or (
        isinstance(v, int) and not isinstance(v, bool) and v >= 0) else
        "expected a sheet name, or a sheet number counted from 0",
    "defaults": lambda v: None if isinstance(v, dict) and all(map(_scalar, v.values())) else
        "expected canonical column: constant (text or a number, not a list or a mapping)",
    "values": lambda v: None if isinstance(v, dict) and all(
        isinstance(m, dict) and all(_scalar(a) and _scalar(b) for a, b in m.items()) for m in v.values()) else
        "expected canonical column: {source value: stored value} (text or numbers, not lists or mappings)",
    "measure": _one_of(("budget", "actual")),
    "decimal": _one_of(DECIMAL_OPTIONS, quoted=True),
    "timezone": lambda v: None if parsing.time_zone(v) else parsing.ZONE_EXPECTED,
    "max_mib": _whole,
    "max_line_kib": _whole,
    "max_fields": _whole,
    "derive": _derive_problem,
    "dedupe": lambda v: None if isinstance(v, dict) and set(v) == {"latest"} and _scalar(v["latest"]) else
        "expected {latest: field}: among rows with the same key, the one with the latest value of the field is kept",
    "sheets": lambda v: None if v == "all" or (isinstance(v, list) and v and all(
        (isinstance(s, str) and s.strip()) or (isinstance(s, int) and not isinstance(s, bool) and s >= 0) for s in v))
        else "expected all, or a list of sheet names or numbers counted from 0",
    "year": lambda v: None if isinstance(v, int) and not isinstance(v, bool) and 1900 <= v <= 2200 else
        "expected a year such as 2026",
    "amount_unit": _one_of(tuple(AMOUNT_UNITS)),
    "drivers_sheet": lambda v: None if isinstance(v, str) and v.strip() else "expected the name of the drivers sheet",
}


def shared_header(columns: dict[str, list[str]]) -> tuple[str, str, str] | None:
    """(column, other column, header) when two canonical columns read the same header (compared as header_key),
    else None: every contact would get the same value for both (a wait of 0 s when answered_at reads arrived_at's)."""
    owner: dict[str, str] = {}
    for canon, sources in columns.items():
        for src in sources:
            first = owner.setdefault(header_key(src), canon)
            if first != canon:
                return first, canon, src
    return None


def load_mapping(path: str | os.PathLike) -> Mapping:
    """Read a mapping YAML file (UTF-8); every problem is one message naming the file."""
    return parse_mapping(mapping_document(mapping_text(path), str(path)), str(path))


def mapping_text(path: str | os.PathLike) -> str:
    """A mapping (or preset) file's text: UTF-8, at most MAPPING_MAX_BYTES; every problem is one message naming it."""
    p = Path(path)
    try:
        if p.stat().st_size > MAPPING_MAX_BYTES:
            raise FatalImportError(f"{p}: a mapping file of {p.stat().st_size:,} bytes; the limit is "
                                   f"{MAPPING_MAX_BYTES:,} (a mapping is a page of text)")
        text = p.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise FatalImportError(f"{p}: cannot read the mapping file ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise FatalImportError(f"{p}: the mapping file is not UTF-8 text (at byte {exc.start + 1:,}); "
                               "save it as UTF-8") from None
    return text


def mapping_document(text: str, source: str) -> Any:
    """A mapping's YAML text as a document: safe types only, no repeated key, aliases bounded (present.load_yaml)."""
    try:
        return load_yaml(text)
    except YamlError as exc:
        raise FatalImportError(f"{source}: {exc.path}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise FatalImportError(f"{source}: not valid YAML ({clip(str(exc).splitlines()[0])})") from None


def header_list(headers: Any) -> str:
    """A file's headers as a message lists them, cut to present.ECHO_CHARS (a header line may be a megabyte)."""
    return clip(", ".join(map(str, headers)))


def close_header(wanted: str, headers: Any, taken: Any = ()) -> str | None:
    """The file's header closest to one it lacks, as a column renamed in a newer version of an export is ('Due by
    Time' -> 'Resolution due by time'), compared as header_key, among the headers not in taken (those that stand for
    other columns); None when none is close."""
    skip = {header_key(t) for t in taken}
    keys: dict[str, str] = {}
    for h in headers:
        if header_key(h) not in skip:
            keys.setdefault(header_key(h), str(h))
    found = difflib.get_close_matches(header_key(wanted), list(keys), n=1, cutoff=0.6)
    return keys[found[0]] if found else None


def header_key(name: Any) -> str:
    """How headers are compared: NFKC, lower case, no white space."""
    return "".join(unicodedata.normalize("NFKC", str(name)).lower().split())
