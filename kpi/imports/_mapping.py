"""How a file's headers and values map onto a dataset's columns: the mapping file, its options, header matching."""
from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from . import _parse as parsing
from ..store import get_dataset


class FatalImportError(Exception):
    """The file cannot be imported at all; nothing was written."""


# progress(fraction 0-1, short step name): called a few dozen times per import at most, whatever the file's size.
Progress = Callable[[float, str], None]


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
    duration_unit: str = "s"
    encoding: str = "auto"
    sheet: str | int | None = None
    defaults: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    measure: str | None = None  # budget, months-as-columns layout without a measure column
    decimal: str = "auto"  # the decimal mark of numbers: ".", ",", or auto (guessed from the file, see _prepare)


@dataclass
class Mapping:
    dataset: str | None = None
    columns: dict[str, list[str]] = field(default_factory=dict)
    options: Options = field(default_factory=Options)

    def to_yaml(self) -> str:
        """The mapping in the file format the CLI reads."""
        cols = {k: (v[0] if len(v) == 1 else v) for k, v in self.columns.items()}
        opts = {k: v for k, v in self.options.__dict__.items() if v not in (None, {}, "auto", "s")}
        doc: dict[str, Any] = {"dataset": self.dataset, "columns": cols}
        if opts:
            doc["options"] = opts
        return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


_OPTION_KEYS = {"date_order", "duration_unit", "encoding", "sheet", "defaults", "values", "measure", "decimal"}
DECIMAL_OPTIONS = ("auto", ".", ",")


def parse_mapping(doc: Any, source: str = "mapping") -> Mapping:
    """A mapping from its YAML document, with errors that name the file and the key."""
    def bad(where: str, what: str) -> FatalImportError:
        return FatalImportError(f"{source}: {where}: {what}")

    if not isinstance(doc, dict):
        raise bad("top level", "expected keys dataset, columns, options")
    unknown = set(doc) - {"dataset", "columns", "options"}
    if unknown:
        raise bad(", ".join(sorted(unknown)), "unknown key (expected dataset, columns, options)")
    dataset = doc.get("dataset")
    if dataset is not None:
        try:
            get_dataset(str(dataset))
        except ValueError as exc:
            raise bad("dataset", str(exc)) from None
    columns: dict[str, list[str]] = {}
    raw_cols = doc.get("columns") or {}
    if not isinstance(raw_cols, dict):
        raise bad("columns", "expected canonical column: source header")
    known = set(get_dataset(dataset).names) | {c.name for c in get_dataset(dataset).extra_columns} if dataset else None
    for canon, src in raw_cols.items():
        if known is not None and canon not in known:
            raise bad(f"columns.{canon}", f"not a column of {dataset}; expected one of: {', '.join(sorted(known))}")
        if isinstance(src, str) or isinstance(src, (int, float)):
            columns[str(canon)] = [str(src)]
        elif isinstance(src, list) and src and all(isinstance(x, (str, int, float)) for x in src):
            columns[str(canon)] = [str(x) for x in src]
        else:
            raise bad(f"columns.{canon}", "expected a source header or a list of them")
    raw_opts = doc.get("options") or {}
    if not isinstance(raw_opts, dict):
        raise bad("options", "expected a mapping of options")
    extra = set(raw_opts) - _OPTION_KEYS
    if extra:
        raise bad(f"options.{sorted(extra)[0]}", f"unknown option (expected one of: {', '.join(sorted(_OPTION_KEYS))})")
    opts = Options(**{k: v for k, v in raw_opts.items()})
    if opts.date_order not in parsing.DATE_ORDERS:
        raise bad("options.date_order", f"expected one of {', '.join(parsing.DATE_ORDERS)}, got {opts.date_order!r}")
    if opts.duration_unit not in parsing.DURATION_UNITS:
        raise bad("options.duration_unit", f"expected one of {', '.join(parsing.DURATION_UNITS)}, got {opts.duration_unit!r}")
    if opts.decimal not in DECIMAL_OPTIONS:
        raise bad("options.decimal", f"expected one of {', '.join(repr(d) for d in DECIMAL_OPTIONS)}, got {opts.decimal!r}")
    if not isinstance(opts.defaults, dict):
        raise bad("options.defaults", "expected canonical column: constant")
    if not isinstance(opts.values, dict) or not all(isinstance(v, dict) for v in opts.values.values()):
        raise bad("options.values", "expected canonical column: {source value: stored value}")
    opts.defaults = {str(k): str(v) for k, v in opts.defaults.items()}
    opts.values = {str(k): {str(a): str(b) for a, b in v.items()} for k, v in opts.values.items()}
    return Mapping(dataset=str(dataset) if dataset else None, columns=columns, options=opts)


def load_mapping(path: str | os.PathLike) -> Mapping:
    """Read a mapping YAML file."""
    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FatalImportError(f"{p}: cannot read the mapping file ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise FatalImportError(f"{p}: not valid YAML ({str(exc).splitlines()[0]})") from None
    return parse_mapping(doc, str(p))


def header_key(name: Any) -> str:
    """How headers are compared: NFKC, lower case, no white space."""
    return "".join(unicodedata.normalize("NFKC", str(name)).lower().split())
