"""Numbers as people read them, in one place: counts, NT$ (plain and 萬/M), %, percentage points, durations with
their units (14 秒, 7 分 05 秒, 3 小時 53 分), hours, months, dates; and the scale of a chart's duration or money axis.

A value's *kind* says how to show it: a KPI unit (fraction, seconds, hours, count, score, per_1000, nps), "ntd" for
an NT$ amount in a table whose header already says NT$, "money" for one written with NT$, "cost" for NT$ per contact,
"pp" for a change of a rate, "s", "min", "h" for a duration already in that unit (a table row or a chart axis in
one unit, see duration_scale), "decimal" for a plain number to one decimal, "int", "date", "datetime", "text"; a
leading "+" asks for a sign.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from typing import Any

import pandas as pd

from ._messages import t

__all__ = ["MISSING", "DURATION_SCALES", "as_shown", "is_missing", "number", "money", "money_short", "money_scale", "percent", "pp",
           "duration", "duration_scale", "hours", "month_label", "unit_name", "format_kind", "unit_kind", "format_unit",
           "format_change"]

MISSING = "—"
# A duration shown in one unit (a chart axis, a report row): its kind -> seconds in one of it.
DURATION_SCALES: dict[str, float] = {"s": 1.0, "min": 60.0, "h": 3600.0}
_SCALE_UNITS = {"s": "unit.seconds", "min": "unit.minutes", "h": "unit.hours"}


def is_missing(value: Any) -> bool:
    """None, NA, NaT, NaN, or an infinity: nothing a person can read as a number."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and not math.isfinite(value)


def _or_missing(fmt):
    """A formatter that shows — for a missing or infinite value instead of raising (int(inf)) or writing inf."""
    @functools.wraps(fmt)
    def guarded(value, *args, **kwargs):
        return MISSING if is_missing(value) else fmt(value, *args, **kwargs)
    return guarded


@_or_missing
def number(value: float, decimals: int = 0, signed: bool = False) -> str:
    """1,234 / 4.21 / +1,234 (signed); a value that rounds to zero has no minus sign (a staffing gap of -0.04 read
    "-0.0"), as a duration's does."""
    if round(value, decimals) == 0:
        value = 0.0
    return f"{value:{'+' if signed else ''},.{decimals}f}"


@_or_missing
def money(value: float, signed: bool = False, decimals: int = 0) -> str:
    """NT$1,234,567; -NT$1,234 below zero; +NT$1,234 above zero when signed."""
    sign = "+" if signed and value > 0 else ("-" if value < 0 else "")
    return f"{sign}NT${abs(value):,.{decimals}f}"


def money_short(value: float | None, lang: str, signed: bool = False) -> str:
    """NT$ in 萬 (zh-TW) or millions (en), so a tile's number fits: NT$3,752.8 萬 / NT$37.53M; signed, a change beside
    such a value in the same unit (+NT$5.5 萬 / -NT$0.15M), or in whole NT$ when it would round to nothing (+NT$39)."""
    if is_missing(value):
        return MISSING
    if signed and abs(value) < (500 if lang == "zh-TW" else 5000):
        return money(value, signed=True)
    sign = "-" if value < 0 else "+" if signed and value > 0 else ""
    return sign + t("format.money_short", lang, tenk=abs(value) / 1e4, million=abs(value) / 1e6)


@_or_missing
def percent(value: float, signed: bool = False) -> str:
    """A fraction 0-1 as 81.2% (+47.3% when signed)."""
    return f"{value * 100:{'+' if signed else ''}.1f}%"


@_or_missing
def pp(value: float, lang: str) -> str:
    """A change of a fraction in percentage points: +2.1 pp / -2.1 個百分點."""
    return f"{value * 100:+.1f} {t('unit.pp', lang)}"


def _half_up(x: float) -> int:
    return int(math.floor(x + 0.5))  # 14.5 s -> 15 s (round() would give 14: banker's rounding)


@_or_missing
def duration(seconds: float, lang: str, signed: bool = False) -> str:
    """Seconds with their units, on the scale that reads best: 14 秒 / 7 分 05 秒 / 7 分鐘 / 3 小時 53 分
    (en: 14 s / 7 min 05 s / 7 min / 3 h 53 min). Under a minute whole seconds; under an hour minutes and seconds;
    from an hour hours and minutes (rounded to the minute). -12 秒 below zero; +12 秒 when signed. Only a value of
    exactly whole minutes (hours) drops the seconds (minutes): a target of 7 分鐘; a measured 599.7 s reads 10 分 00 秒,
    beside 9 分 38 秒 in its column and interval (it read 10 分鐘)."""
    total = _half_up(abs(seconds))
    sign = "-" if seconds < 0 and total else ("+" if signed else "")
    if total < 60:
        return sign + t("format.dur_s", lang, s=total)
    if total < 3600:
        m, s = divmod(total, 60)
        whole = float(abs(seconds)) % 60 == 0
        return sign + (t("format.dur_m", lang, m=m) if whole else t("format.dur_ms", lang, m=m, s=s))
    h, m = divmod(_half_up(total / 60), 60)
    whole = float(abs(seconds)) % 3600 == 0
    return sign + (t("format.dur_h", lang, h=h) if whole else t("format.dur_hm", lang, h=h, m=m))


def duration_scale(seconds: Iterable[Any]) -> str:
    """The one unit ("s", "min", "h": a key of DURATION_SCALES) of durations shown together (a chart axis, a report
    row), from the largest of them: seconds under 3 minutes, minutes under 3 hours, else hours."""
    largest = max((abs(float(v)) for v in seconds if not is_missing(v)), default=0.0)
    return "s" if largest < 180 else ("min" if largest < 3 * 3600 else "h")


def unit_name(unit: str, lang: str) -> str:
    """The word of a KPI unit or a duration scale, for a unit column or an axis title: 秒, 分鐘, 小時, %, 件/千通."""
    return t(_SCALE_UNITS.get(unit, f"unit.{unit}"), lang)


@_or_missing
def hours(value: float, lang: str, signed: bool = False) -> str:
    """30.5 h / 30.5 小時."""
    return f"{value:{'+' if signed else ''},.1f} {t('unit.hours', lang)}"


def money_scale(lang: str) -> tuple[float, str]:
    """(divisor, axis title) of an NT$ axis on the tiles' scale: 萬 (10,000) in zh-TW, millions in English."""
    return (1e4 if lang == "zh-TW" else 1e6), t("axis.money", lang)


def month_label(month: Any, lang: str) -> str:
    """A month (a date, or "2026-01") as people read it: 2026年1月 / Jan 2026."""
    m = pd.Timestamp(f"{month}-01" if isinstance(month, str) and len(month) == 7 else month)
    name = t("format.month_names", lang).split(",")[m.month - 1]
    return t("format.month", lang, year=m.year, month=m.month, name=name)


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
        return duration(v, lang, signed)
    if base in DURATION_SCALES:
        return f"{number(v, 0 if base == 's' else 1, signed)} {unit_name(base, lang)}"
    if base == "hours":
        return hours(v, lang, signed)
    if base in ("count", "ntd"):
        return number(v, 0, signed)
    if base == "money":
        return money(v, signed)
    if base == "cost":
        return number(v, 1)
    if base == "nps":
        return number(v, 0, signed=True)  # +53, and a change in whole points beside it; -0.3 is +0, not -0
    if base == "int":
        return f"{v:.0f}"
    if base == "decimal":
        return number(v, 1, signed)
    if base in ("score_unit", "per_1000_unit"):  # 4.26 分, 12.93 件/千通 (12.93 per 1,000): the unit said
        return number(v, 2, signed) + t(f"unit_after.{base.removesuffix('_unit')}", lang)
    return number(v, 2, signed)  # score, per_1000 in a table whose unit column says it


def unit_kind(unit: str) -> str:
    """The kind a value in a KPI unit is shown as on its own (a tile, a sentence): an amount with NT$ written, a score
    or a rate per 1,000 with its unit, any other unit as itself."""
    return {"ntd": "money", "score": "score_unit", "per_1000": "per_1000_unit"}.get(unit, unit)


def as_shown(value: float, unit: str) -> float:
    """A KPI value rounded as format_unit shows it: a fraction to 0.1 point, seconds to the second (from an hour, to
    the minute), hours to 0.1, scores and rates per 1,000 to 0.01, NPS, counts and NT$ whole. A status is judged on
    it, so two values shown alike are judged alike (handle time 419.7 s and 420.3 s both read 7 分 00 秒; against a
    band ending at 7 分鐘 one was 注意 and the other 未達標)."""
    if unit == "fraction":
        return float(f"{value * 100:.1f}") / 100
    if unit == "seconds":
        total = _half_up(abs(value))
        if total >= 3600:
            total = _half_up(total / 60) * 60
        return math.copysign(total, value)
    decimals = {"hours": 1, "score": 2, "per_1000": 2, "nps": 0, "count": 0, "ntd": 0}.get(unit)
    return value if decimals is None else float(f"{value:.{decimals}f}")


def format_unit(value: Any, unit: str, lang: str = "zh-TW") -> str:
    """A value in a KPI unit: 81.2%, 3 min 05 s, 30.5 h, 1,234, 4.21, +32, NT$1,234,567; — when missing."""
    return format_kind(value, unit_kind(unit), lang)


def format_change(change: float | None, unit: str, lang: str) -> str | None:
    """A change in a KPI unit with a sign (+1.2 pp for fractions, +12 秒 for seconds, +18.5 小時 for hours, +11 for NPS,
    +NT$1,234 for money), or None."""
    if change is None:
        return None
    if unit in ("fraction", "seconds", "hours", "count", "score", "per_1000", "nps", "ntd"):
        return format_kind(change, "pp" if unit == "fraction" else "+" + unit_kind(unit), lang)
    return number(change, 1, signed=True)


def format_gap(diff: float, unit: str, reference: str, against: str, lang: str) -> str:
    """How far a value is from its target or its team's (diff = value - reference), in the KPI's own unit and in words:
    比目標 7 分鐘高 4 分 08 秒 / 4 min 08 s above the target of 7 min. A signed "差 -10.0 個百分點" read as a double
    negative, and "差 +4 分 08 秒" as short. against: "target" or "team"; reference: the target or team value as shown."""
    amount = (format_change(abs(diff), unit, lang) or "").lstrip("+")
    sp = " " if reference[-1:].isascii() else ""  # 比目標 85.0% 低 / 比目標 7 分鐘高: no space after a Chinese unit
    return t(f"gap.{against}.{'above' if diff > 0 else 'below'}", lang, amount=amount, ref=reference, sp=sp)
