"""Text that comes from outside (a user's files, mapping files, cells) made safe to load and to echo back: YAML with
its aliases bounded, and any value cut before a message shows it."""
from __future__ import annotations

from typing import Any

import yaml

__all__ = ["ECHO_CHARS", "YAML_DEPTH", "YAML_NODES", "YamlError", "clip", "load_yaml"]

# A value echoed in a message, a rejected row or on a page is cut to this many characters: a 1 MB cell or a header
# line without line breaks must not become a 1 MB message.
ECHO_CHARS = 200
# Nodes a YAML document may hold once its aliases are expanded: our largest file (competency_map.yaml) has about
# 6,000; an alias bomb ("billion laughs") reaches this limit after milliseconds instead of filling the memory.
YAML_NODES = 100_000
YAML_DEPTH = 50  # nesting levels; ours use 6


def clip(value: Any, limit: int = ECHO_CHARS) -> str:
    """A value as text of at most `limit` characters: a longer one keeps its start and says how many characters it
    left out (… (+999,815)). Cutting a cut text changes nothing."""
    text = str(value)
    if len(text) <= limit:
        return text
    kept = max(limit - len(f"… (+{len(text):,})"), 0)  # the mark is at most this long
    return f"{text[:kept]}… (+{len(text) - kept:,})"


class YamlError(ValueError):
    """A YAML document that is too big or repeats a key; `path` is where in the document, `problem` what is wrong."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path or "(root)"
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML has it: same values, faster


def load_yaml(source: str, max_nodes: int = YAML_NODES) -> Any:
    """The document (safe types only), refusing a mapping with a repeated key (PyYAML would silently keep the last
    one) and a document of more than max_nodes nodes with its aliases expanded; yaml.YAMLError for bad syntax."""
    loader = _Loader(source)
    try:  # composed once: the checks and the values read the same nodes
        node = loader.get_single_node()
        if node is None:
            return None
        _check_nodes(node, "", [max_nodes], 0)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _join(parent: str, part: str | int) -> str:
    if isinstance(part, int):
        return f"{parent}[{part}]"
    return f"{parent}.{part}" if parent else part


def _check_nodes(node: yaml.Node, path: str, budget: list[int], depth: int) -> None:
    """Walk the document as its consumers will (an alias counts again each time it is used), refusing repeated keys,
    and stop once more than the budget's nodes were seen or the nesting is too deep."""
    budget[0] -= 1
    if budget[0] < 0:
        raise YamlError(path, "too many values once its aliases (*name) are expanded; a mapping or settings file "
                              "holds a few thousand at most")
    if depth > YAML_DEPTH:
        raise YamlError(path, f"nested more than {YAML_DEPTH} levels deep")
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            name = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if name is not None:
                if name in seen:
                    raise YamlError(path, f"duplicate key {clip(name)!r} (line {key_node.start_mark.line + 1})")
                seen.add(name)
            else:
                _check_nodes(key_node, path, budget, depth + 1)
            _check_nodes(value_node, _join(path, clip(name)), budget, depth + 1)
    elif isinstance(node, yaml.SequenceNode):
        for i, child in enumerate(node.value):
            _check_nodes(child, _join(path, i), budget, depth + 1)
