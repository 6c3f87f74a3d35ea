"""Presets: named, versioned mappings for the exports of the platforms centres use (kpi/imports/presets/NAME.yaml),
each recognised by its headers, and the choice of a file's mapping that the CLI and the import page share."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ..present import clip, messages, t
from ._mapping import (FatalImportError, Mapping, Options, _kind, close_header, header_key, load_mapping,
                       mapping_document, mapping_text, parse_mapping)
from ._preview import file_headers
from ..store import get_dataset

PRESET_DIR = Path(__file__).resolve().parent / "presets"
PRESET_KEYS = ("name", "version", "vendor", "export", "docs", "detect")
# Optional: columns whose header varies from file to file (a survey's questions), found by words the header holds.
OPTIONAL_KEYS = ("find",)


@dataclass(frozen=True)
class Preset:
    """A vendor export's mapping, with what recognises it and where its field names come from."""

    name: str
    version: int
    vendor: str
    export: str  # what the user exports, in words (English; the page's words are the message preset.NAME)
    docs: tuple[str, ...]  # the vendor's pages the field names and codes come from
    detect: tuple[str, ...]  # headers (or dotted JSON keys) that all must be in a file to recognise it
    mapping: Mapping
    # column -> words: the column is read from the file's header that holds one of them (a survey's question)
    find: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def dataset(self) -> str:
        return str(self.mapping.dataset)

    def missing(self, headers: list[str]) -> list[str]:
        """The detect headers a file's headers lack (compared as header_key)."""
        have = {header_key(h) for h in headers}
        return [d for d in self.detect if header_key(d) not in have]

    def found(self, headers: list[str]) -> dict[str, list[str]]:
        """Per find column, the file's headers holding one of its words (compared as header_key), among the headers
        the mapping's columns do not read: none, one, or several (then the file does not say which)."""
        taken = {header_key(h) for hs in self.mapping.columns.values() for h in hs}
        free = [h for h in headers if header_key(h) not in taken]
        return {c: [h for h in free if any(header_key(w) in header_key(h) for w in words)]
                for c, words in self.find.items()}


def parse_preset(doc: Any, source: str, name: str) -> Preset:
    """A preset from its YAML document: a mapping (dataset, columns, options, checked as a mapping file is) and its
    preset block, with errors naming the file and the key."""
    def bad(where: str, what: str) -> FatalImportError:
        return FatalImportError(f"{source}: {where}: {what}")

    if not isinstance(doc, dict):
        raise bad("top level", f"expected keys preset, dataset, columns, options, got {_kind(doc)}")
    unknown = set(map(str, doc)) - {"preset", "dataset", "columns", "options"}
    if unknown:
        raise bad(clip(sorted(unknown)[0]), "unknown key (expected preset, dataset, columns, options)")
    block = doc.get("preset")
    if not isinstance(block, dict):
        raise bad("preset", f"expected the preset block ({', '.join(PRESET_KEYS)}), got {_kind(block)}")
    extra = set(map(str, block)) - set(PRESET_KEYS) - set(OPTIONAL_KEYS)
    if extra:
        raise bad(f"preset.{clip(sorted(extra)[0])}",
                  f"unknown key (expected {', '.join(PRESET_KEYS)}, and optionally {', '.join(OPTIONAL_KEYS)})")
    for key in PRESET_KEYS:
        if key not in block:
            raise bad(f"preset.{key}", "missing")
    if block["name"] != name:
        raise bad("preset.name", f"expected {name!r}, the file's name, got {_kind(block['name'])}")
    version = block["version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise bad("preset.version", f"expected a whole number, 1 or more, got {_kind(version)}")
    for key in ("vendor", "export"):
        if not isinstance(block[key], str) or not block[key].strip():
            raise bad(f"preset.{key}", f"expected text, got {_kind(block[key])}")
    docs = block["docs"]
    if not isinstance(docs, list) or not docs:
        raise bad("preset.docs", f"expected a list of the vendor's pages (https addresses), got {_kind(docs)}")
    for i, url in enumerate(docs):
        if not isinstance(url, str) or urlparse(url).scheme != "https" or not urlparse(url).netloc:
            raise bad(f"preset.docs[{i}]", f"expected an https address, got {_kind(url)}")
    detect = block["detect"]
    if not isinstance(detect, list) or not detect or not all(isinstance(d, str) and d.strip() for d in detect):
        raise bad("preset.detect", f"expected a list of the headers that recognise the export, got {_kind(detect)}")
    mapping = parse_mapping({k: v for k, v in doc.items() if k != "preset"}, source)
    if mapping.dataset is None:
        raise bad("dataset", "missing; a preset names its dataset")
    find = block.get("find", {})
    if not isinstance(find, dict) or not all(
            isinstance(w, list) and w and all(isinstance(x, str) and x.strip() for x in w) for w in find.values()):
        raise bad("preset.find", f"expected column: [words its header holds], got {_kind(find)}")
    known = {c.name for c in get_dataset(mapping.dataset).columns}
    for column in map(str, find):
        if column not in known:
            raise bad(f"preset.find.{clip(column)}", f"not a column of {mapping.dataset}; expected one of: "
                      f"{', '.join(sorted(known))}")
        if column in mapping.columns or column in mapping.options.derive:
            raise bad(f"preset.find.{column}", "the column is read from columns (or derived) already; it is found "
                      "by its header's words or named, not both")
    return Preset(name=name, version=version, vendor=block["vendor"].strip(), export=block["export"].strip(),
                  docs=tuple(docs), detect=tuple(detect),
                  mapping=replace(mapping, source=f"preset {name} v{version}"),
                  find={str(c): tuple(map(str, w)) for c, w in find.items()})


_CACHE: dict[tuple, dict[str, Preset]] = {}


def load_presets(folder: str | os.PathLike | None = None) -> dict[str, Preset]:
    """Every preset of a folder (default: the package's) by name, each checked; a bad one is fatal, naming its file.
    Read again only when a file in the folder changes."""
    root = Path(folder) if folder is not None else PRESET_DIR
    files = sorted(root.glob("*.yaml"))
    key = (str(root), *((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in files))
    if key not in _CACHE:
        found = {}
        for f in files:  # read as a mapping file is (UTF-8, size limit, safe YAML), then the preset block checked
            found[f.stem] = parse_preset(mapping_document(mapping_text(f), str(f)), str(f), f.stem)
        _CACHE.clear()  # one folder at a time: the package's, or a test's
        _CACHE[key] = found
    return _CACHE[key]


def get_preset(name: str, folder: str | os.PathLike | None = None) -> Preset:
    """A preset by name, or a fatal message listing the known ones."""
    presets = load_presets(folder)
    if name not in presets:
        raise FatalImportError(f"--preset {clip(name)}: no such preset (known: {', '.join(presets) or 'none'}; "
                               "python -m kpi presets lists them)")
    return presets[name]


def detect_preset(headers: list[str], dataset: str | None = None,
                  folder: str | os.PathLike | None = None) -> tuple[str | None, str]:
    """(the preset whose detect headers are all in headers, why): of several, the most specific (most detect headers);
    only presets of dataset when given. Without a match, (None, the nearest miss: what it expects and lacks)."""
    presets = [p for p in load_presets(folder).values() if dataset is None or p.dataset == dataset]
    if not presets:
        return None, f"no preset{' for ' + dataset if dataset else ''}"
    matches = sorted((p for p in presets if not p.missing(headers)), key=lambda p: (-len(p.detect), p.name))
    if matches:
        p = matches[0]
        return p.name, f"{p.name} v{p.version}: all {len(p.detect)} of its headers are in the file"
    nearest = min(presets, key=lambda p: (len(p.missing(headers)) / len(p.detect), p.name))
    return None, f"no preset matches; the nearest: {expectation(nearest, headers)}"


def expectation(preset: Preset, headers: list[str]) -> str:
    """What a preset expects of a file's headers and what they lack, with the file's header closest to each one it
    lacks when it holds most of them (a column renamed in a newer export): five9 expects CALL ID, ...; missing: SKILL
    (the file has 'SKILL NAME')."""
    expected = [*preset.detect, *(h for hs in preset.mapping.columns.values() for h in hs)]
    lacks = preset.missing(headers)
    # A file holding most of the preset's headers is its export with a column renamed: say which header is the nearest.
    # Another platform's export has none of them: its nearest headers would only mislead.
    near = len(lacks) * 2 <= len(preset.detect)
    missing = []
    for d in lacks:
        to = close_header(d, headers, taken=expected) if near else None
        missing.append(f"{d} (the file has {clip(to)!r})" if to else d)
    return f"{preset.name} expects {', '.join(preset.detect)}; missing: {', '.join(missing)}"


def choose_mapping(dataset: str, path: str | os.PathLike, mapping: str | os.PathLike | None = None,
                   preset: str | None = None, display_name: str | None = None,
                   folder: str | os.PathLike | None = None) -> tuple[Mapping | None, Preset | None]:
    """The mapping to import a file with: the mapping file given, the preset forced (refused when the file lacks its
    headers or holds another dataset), else the preset the headers match (within dataset; one matching another
    dataset is refused), else none (headers must be the canonical names)."""
    if mapping is not None:
        return load_mapping(mapping), None
    name = display_name or Path(path).name
    headers, _ = file_headers(str(path), Options(), name)
    if preset is not None:
        chosen = get_preset(preset, folder)
        if chosen.dataset != dataset:
            raise FatalImportError(f"{name}: preset {chosen.name} is for {chosen.dataset}, not {dataset}")
        if chosen.missing(headers):
            raise FatalImportError(f"{name}: not {_a(chosen.vendor)} {chosen.export}: {expectation(chosen, headers)}")
        return _for_file(chosen, headers, name), chosen
    found, _ = detect_preset(headers, dataset, folder)
    if found is not None:
        chosen = load_presets(folder)[found]
        return _for_file(chosen, headers, name), chosen
    other, _ = detect_preset(headers, None, folder)
    if other is not None:
        chosen = load_presets(folder)[other]
        raise FatalImportError(f"{name}: looks like {_a(chosen.vendor)} {chosen.export} (preset {chosen.name}), which "
                               f"holds {chosen.dataset}, not {dataset}; import it as {chosen.dataset}, or give --mapping")
    # Without the canonical headers either, a file holding most of a preset's headers is that export with a column
    # renamed (a newer version of it): say which, rather than that its canonical columns are missing.
    have = {header_key(h) for h in headers}
    canonical = all(c.name in have for c in get_dataset(dataset).columns if c.required)
    near = [p for p in load_presets(folder).values()
            if p.dataset == dataset and len(p.missing(headers)) * 2 <= len(p.detect)]
    if near and not canonical:
        chosen = min(near, key=lambda p: (len(p.missing(headers)) / len(p.detect), p.name))
        raise FatalImportError(f"{name}: almost a {chosen.vendor} {chosen.export}, but not quite: "
                               f"{expectation(chosen, headers)}; give --mapping, or export the missing columns")
    return None, None


def _for_file(preset: Preset, headers: list[str], name: str) -> Mapping:
    """A preset's mapping for a file: with the columns it finds by their headers' words (preset.find) read from the
    one header found; a column no header holds a word of is left out (a survey without that question); a header found
    for two columns, or two headers for one, is fatal: the file does not say which to read."""
    found = preset.found(headers)
    for column, hs in found.items():
        if len(hs) > 1:
            raise FatalImportError(
                f"{name}: preset {preset.name} reads {column} from the header holding "
                f"{' or '.join(preset.find[column])}, and {len(hs)} do: {clip(', '.join(hs))}; give a mapping file "
                f"(--mapping) that names the one to read")
    owners: dict[str, str] = {}
    for column, hs in found.items():
        for h in hs:
            if owners.setdefault(h, column) != column:
                raise FatalImportError(
                    f"{name}: preset {preset.name} finds the header {clip(h)!r} for both {owners[h]} and {column}; "
                    "give a mapping file (--mapping) that says what it holds")
    return replace(preset.mapping, columns={**preset.mapping.columns, **{c: hs for c, hs in found.items() if hs}})


def applied(preset: Preset, headers: list[str]) -> Mapping:
    """A preset's mapping with its headers spelled as the file spells them (matched as header_key), as the import
    page's selects show them; a column found by its header's words (preset.find) is filled when one header alone
    holds them (the page lets the user pick otherwise)."""
    spelled = {header_key(h): h for h in reversed(headers)}
    columns = {c: [spelled.get(header_key(h), h) for h in hs] for c, hs in preset.mapping.columns.items()}
    found = preset.found(headers)
    taken = [h for hs in found.values() for h in hs]
    columns.update({c: hs for c, hs in found.items() if len(hs) == 1 and taken.count(hs[0]) == 1})
    return replace(preset.mapping, columns=columns)


def edited(base: Mapping, columns: dict[str, list[str]], **options: Any) -> Mapping:
    """The mapping the import page makes of a base (a preset's, a saved one, the suggestion): the columns picked and
    the options chosen on the page, the base's other options kept (recodes, derived columns, dedupe); a column picked
    on the page is read from the file, no longer derived. A duration unit chosen replaces the base's default unit, its
    units per column kept."""
    unit = options.pop("duration_unit", None)
    opts = replace(base.options, **options)
    if unit is not None:
        opts.duration_unit = ({**opts.duration_unit, "default": unit} if isinstance(opts.duration_unit, dict)
                              else unit)
    opts.derive = {c: rule for c, rule in opts.derive.items() if c not in columns}
    return replace(base, columns=columns, options=opts)


def default_unit(options: Options) -> str:
    """The duration unit a mapping applies to columns it names no unit for."""
    return options.unit_for("default")


def _a(vendor: str) -> str:
    """The vendor with its article: a Five9 ..., an Amazon Connect ..."""
    return f"{'an' if vendor[:1].lower() in 'aeiou' else 'a'} {vendor}"


def detected_line(preset: Preset, lang: str) -> str:
    """The import page's line for a detected preset: the vendor and, where the message catalog names it
    (preset.NAME), the export in lang."""
    if f"preset.{preset.name}" in messages():
        return t("imp.preset_detected", lang, vendor=preset.vendor, export=t(f"preset.{preset.name}", lang),
                 version=preset.version)
    return t("imp.preset_detected_plain", lang, vendor=preset.vendor, version=preset.version)


def preset_table(folder: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """The presets as `python -m kpi presets` lists them."""
    return [{"name": p.name, "version": p.version, "dataset": p.dataset, "vendor": p.vendor, "export": p.export,
             "docs": list(p.docs), "detect": list(p.detect), **({"find": {c: list(w) for c, w in p.find.items()}}
                                                                   if p.find else {})}
            for p in load_presets(folder).values()]

