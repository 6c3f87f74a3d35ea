"""The page side of the message catalog (kpi/present/messages.yaml): the language chosen in the session, and
t(key) / KPI names / values in it. KPI names come from the catalog."""
from __future__ import annotations

from typing import Any

import streamlit as st

from kpi import present
from kpi.metrics import Kpi, format_value

LANGS = {"zh-TW": "繁體中文", "en": "English"}
DEFAULT_LANG = "zh-TW"


def address_lang() -> str | None:
    """The language the page's address asks for (?lang=en, kept there by the sidebar's switch so that a reload, a
    bookmark or a new tab opens in it), if it names one."""
    asked = st.query_params.get("lang")
    return asked if asked in LANGS else None


def lang() -> str:
    """The language chosen in the sidebar (before the switch is drawn, the address's, else Traditional Chinese)."""
    return st.session_state.get("lang") or address_lang() or DEFAULT_LANG


def t(key: str, **kw: Any) -> str:
    """The text for key in the current language."""
    return present.t(key, lang(), **kw)


def in_this_language(text: str) -> str | None:
    """A catalog text as another language writes it, in the current language (a widget's value kept across a
    language switch: the open section); None when no message reads so."""
    for entry in present.messages().values():
        if text in entry.values():
            return entry[lang()]
    return None


def kpi_label(kpi: Kpi) -> str:
    """A KPI's name in the current language."""
    return kpi.label[lang()]


def fmt(kpi: Kpi, value: float | None) -> str:
    """A KPI value formatted for the current language (%, 7 分 05 秒, NT$...)."""
    return format_value(kpi, value, lang())


def fmt_change(kpi: Kpi, change: float | None) -> str | None:
    """A change in the KPI's own unit with a sign (+1.2 pp for fractions), or None."""
    return present.format_change(change, kpi.unit, lang())
