"""The message catalog (messages.yaml): t(key, lang) and the few language rules (separators, parentheses)."""
from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

__all__ = ["LANGS", "MESSAGES_PATH", "MessageError", "check_lang", "messages", "t", "join_list", "colon", "paren",
           "join_bar", "value_label", "person", "readable_fields", "markdown_literal"]

LANGS: tuple[str, ...] = ("zh-TW", "en")
MESSAGES_PATH = Path(__file__).resolve().parent / "messages.yaml"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML has it: the same values, 0.5 s sooner


class MessageError(ValueError):
    """messages.yaml is malformed or a key is unknown; the message names the key."""


@lru_cache(maxsize=2)
def messages(path: Path = MESSAGES_PATH) -> dict[str, dict[str, str]]:
    """The catalog, checked: every key has a non-empty text in each language and nothing else."""
    raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER) or {}
    for key, entry in raw.items():
        if not isinstance(entry, dict) or set(entry) != set(LANGS) or not all(
                isinstance(v, str) and v.strip() for v in entry.values()):
            raise MessageError(f"{path.name}: {key}: expected a non-empty text for each of {', '.join(LANGS)}")
    return raw


def check_lang(lang: str) -> None:
    """A ValueError naming the languages when lang is not one of them."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")


_PLURAL = re.compile(r"\{(\w+)\|([^{}|]*)\|([^{}|]*)\}")


def _plural(text: str, fmt: dict[str, Any]) -> str:
    """{n|complaint|complaints} -> the first form when the count n is 1 (or "1"), the second otherwise."""
    def one(value: Any) -> bool:
        return str(value) == "1" or (isinstance(value, (int, float)) and value == 1)
    return _PLURAL.sub(lambda m: m.group(2) if one(fmt.get(m.group(1))) else m.group(3), text)


def t(key: str, lang: str, **fmt: Any) -> str:
    """The text for key in lang, with {placeholders} filled from fmt; {n|one|many} picks a noun's form by n."""
    try:
        text = messages()[key][lang]
    except KeyError:
        check_lang(lang)
        raise MessageError(f"{MESSAGES_PATH.name}: no message {key!r}") from None
    if not fmt:
        return text
    if "|" in text:
        text = _plural(text, fmt)
    return text.format(**fmt)


def join_list(items: Iterable[str], lang: str) -> str:
    """Items as a list in running text: a、b、c or a, b, c; an item written as a sentence loses its full stop (an
    indicator's text ends in 。, which read 。、 before the next)."""
    return t("punct.list", lang).join(str(i).removesuffix("。") for i in items)


def colon(lang: str) -> str:
    """The colon after a label: ： or ': '."""
    return t("punct.colon", lang)


def paren(text: str, inner: str, lang: str) -> str:
    """text with inner in parentheses: 加班費（客服營運部） or Overtime (Operations)."""
    return t("punct.paren", lang, text=text, inner=inner)


def join_bar(items: Iterable[str], lang: str) -> str:
    """Parts of a heading line: 績效報告｜2026-10 or Performance report | 2026-10."""
    return t("punct.bar", lang).join(items)


def value_label(dimension: str, value: str, lang: str) -> str:
    """A data value as people read it: channel phone -> 電話 / Phone; a value the catalog doesn't name stays as it is."""
    key = f"{dimension}.{value}"
    return t(key, lang) if key in messages() else value


def person(agent_id: str, name: str | None) -> str:
    """An agent as a table row or list names them: "A017 邱美玲" where the data has a name, else the id."""
    return f"{agent_id} {name}" if name else str(agent_id)


def markdown_literal(text: str) -> str:
    """Text shown by a Markdown element (st.caption, st.warning) exactly as written: a file name's * or _ stays a
    character, a # or a $ no heading or maths."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|~<>$])", r"\\\1", text)


def readable_fields(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Rows of a dataset's canonical columns as people read them: each column by its name in lang (arrived_at ->
    進線時間) and its coded values in words (channel phone -> 電話); other values as they are."""
    out = frame.copy()
    for c in out.columns:
        if not pd.api.types.is_numeric_dtype(out[c]) and not pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = out[c].map(lambda v, c=c: value_label(c, v, lang) if isinstance(v, str) else v)
    return out.rename(columns={c: value_label("field", str(c), lang) for c in out.columns})
