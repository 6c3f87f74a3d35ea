"""Numbers as people read them, in one place: counts, NT$ (plain and 萬/M), %, percentage points, m:ss, hours, dates.

A value's *kind* says how to show it: a KPI unit (fraction, seconds, hours, count, score, nps), "ntd" for an NT$
amount in a table whose header already says NT$, "money" for one written with NT$, "cost" for NT$ per contact,
"pp" for a change of a rate, "decimal" for a plain number to one decimal, "int", "date", "datetime", "text"; a leading
"+" asks for a sign.
"""
from __future__ import annotations

import math
from typing import Any

import pandas as pd

from ._messages import t

__all__ = ["MISSING", "is_missing", "number", "money", "money_short", "percent", "pp", "duration", "hours",
           "format_kind", "unit_kind", "format_unit", "format_change"]

MISSING = "—"


def is_missing(value: Any) -> bool:
    """None, NA, NaT or NaN."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def number(value: float, decimals: int = 0, signed: bool = False) -> str:
    """1,234 / 4.21 / +1,234 (signed)."""
    return f"{value:{'+' if signed else ''},.{decimals}f}"


def money(value: float, signed: bool = False, decimals: int = 0) -> str:
    """NT$1,234,567; -NT$1,234 below zero; +NT$1,234 above zero when signed."""
    sign = "+" if signed and value > 0 else ("-" if value < 0 else "")
    return f"{sign}NT${abs(value):,.{decimals}f}"


def money_short(value: float | None, lang: str) -> str:
    """NT$ in 萬 (zh-TW) or millions (en), so a tile's number fits: NT$3,752.8 萬 / NT$37.53M."""
    if is_missing(value):
        return MISSING
    return t("format.money_short", lang, tenk=value / 1e4, million=value / 1e6)


def percent(value: float, signed: bool = False) -> str:
    """A fraction 0-1 as 81.2% (+47.3% when signed)."""
    return f"{value * 100:{'+' if signed else ''}.1f}%"


def pp(value: float, lang: str) -> str:
    """A change of a fraction in percentage points: +2.1 pp / -2.1 個百分點."""
    return f"{value * 100:+.1f} {t('unit.pp', lang)}"


def duration(seconds: float, signed: bool = False) -> str:
    """Seconds as m:ss (3:05); -0:12 below zero, +0:12 when signed."""
    total = int(round(abs(seconds)))
    sign = "-" if seconds < 0 and total else ("+" if signed else "")
    return f"{sign}{total // 60}:{total % 60:02d}"


def hours(value: float, lang: str, signed: bool = False) -> str:
    """30.5 h / 30.5 小時."""
    return f"{value:{'+' if signed else ''}.1f} {t('unit.hours', lang)}"


def format_kind(value: Any, kind: str, lang: str = "zh-TW") -> str:
    """A value of a kind (see the module doc) as text; — when missing, text as it is."""
    if is_missing(value):
        return MISSING
    if isinstance(value, str) or kind == "text":
        return str(value)
    if kind == "date":
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    if kind == "datetime":
        return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M")
    v = float(value)
    signed, base = kind.startswith("+"), kind.lstrip("+")
    if base == "pp":
        return pp(v, lang)
    if base == "fraction":
        return percent(v, signed)
    if base == "seconds":
        return duration(v, signed)
    if base == "hours":
        return hours(v, lang, signed)
    if base in ("count", "ntd"):
        return number(v, 0, signed)
    if base == "money":
        return money(v, signed)
    if base == "cost":
        return number(v, 1)
    if base == "nps":
        return f"{v:+.0f}"
    if base == "int":
        return f"{v:.0f}"
    if base == "decimal":
        return number(v, 1, signed)
    return number(v, 2, signed)


def unit_kind(unit: str) -> str:
    """The kind a value in a KPI unit is shown as: an amount with NT$ written, any other unit as itself."""
    return "money" if unit == "ntd" else unit


def format_unit(value: Any, unit: str, lang: str = "zh-TW") -> str:
    """A value in a KPI unit: 81.2%, 3:05, 30.5 h, 1,234, 4.21, +32, NT$1,234,567; — when missing."""
    return format_kind(value, unit_kind(unit), lang)


def format_change(change: float | None, unit: str, lang: str) -> str | None:
    """A change in a KPI unit with a sign (+1.2 pp for fractions, +0:12 for seconds), or None."""
    if change is None:
        return None
    if unit in ("fraction", "seconds", "count", "score"):
        return format_kind(change, "pp" if unit == "fraction" else "+" + unit, lang)
    return number(change, 1, signed=True)
