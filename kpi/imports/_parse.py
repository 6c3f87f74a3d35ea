"""Vectorised parsers for the values real exports contain: each takes text cells and returns values plus a reason per
bad cell (a message code with parameters, see _reasons.py)."""
from __future__ import annotations

import re
import unicodedata
import zoneinfo
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from ..store import KIND_RANGES
from ._reasons import encode

DATE_ORDERS = ("auto", "dmy", "mdy", "ymd")
# Seconds per unit of a duration written as a number; hms: only hh:mm:ss (or mm:ss) text, a bare number is no duration
# (NaN: every number is unreadable in it).
DURATION_UNITS = {"s": 1.0, "ms": 0.001, "min": 60.0, "hms": float("nan")}
# The centre's zone when targets.yaml's settings give none: timestamps are stored as wall-clock time there.
DEFAULT_CENTRE_ZONE = "Asia/Taipei"
ZONE_EXPECTED = "expected a time zone name such as UTC, Asia/Taipei or America/New_York"

TRUE_WORDS = {"y", "yes", "true", "t", "1", "1.0", "是", "有", "對"}
FALSE_WORDS = {"n", "no", "false", "f", "0", "0.0", "否", "無", "不是"}


@dataclass
class Parsed:
    """Parsed values (NA where empty or bad) and, per row, why the cell could not be read (an encoded reason; NA when
    fine)."""

    values: pd.Series
    errors: pd.Series


def clean_text(s: pd.Series) -> pd.Series:
    """Strip cells; empty cells become NA."""
    s = s.astype("object").where(s.notna(), None)
    out = pd.Series(s, dtype="string").str.strip()
    return out.mask(out == "")


def _no_errors(index: pd.Index) -> pd.Series:
    return pd.Series(pd.NA, index=index, dtype="string")


def _errors_where(bad: pd.Series, raw: pd.Series, code: str, **params) -> pd.Series:
    errors = _no_errors(raw.index)
    if bad.any():  # reasons only for the bad cells: most columns have none
        errors[bad] = [encode(code, value=v, **params) for v in raw[bad].fillna("")]
    return errors


def _nfkc(s: pd.Series) -> pd.Series:
    """NFKC-normalise text cells (full-width digits and letters); ASCII cells are left as they are, NFKC keeps them."""
    non_ascii = ~s.str.isascii().fillna(True).astype(bool)
    if not non_ascii.any():
        return s
    return s.mask(non_ascii, s[non_ascii].str.normalize("NFKC"))


_TS_RE = re.compile(
    r"^(?P<a>\d{1,4})[/\-.](?P<b>\d{1,2})[/\-.](?P<c>\d{1,4})"
    r"(?:[ T]+(?P<ap1>上午|下午|AM|PM)?\s*(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d{1,6}))?)?"
    r"\s*(?P<ap2>AM|PM|上午|下午)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)


def _normalise_dates(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """NFKC (full-width digits), 2026年11月26日 -> 2026/11/26, 民國 prefix noted as ROC."""
    s = _nfkc(s)
    roc = s.str.contains("民國", regex=False).fillna(False)
    s = s.str.replace("民國", "", regex=False)
    cjk = s.str.contains("[年月日號]", regex=True).fillna(False).astype(bool)
    if cjk.any():  # the replacements are slow (Python regex per cell): only on cells with these characters
        c = s[cjk]
        c = c.str.replace(r"(\d)\s*年\s*(\d)", r"\1/\2", regex=True)
        c = c.str.replace(r"(\d)\s*月\s*(\d)", r"\1/\2", regex=True)
        c = c.str.replace(r"(\d)\s*[日號]", r"\1", regex=True)
        s = s.mask(cjk, c)
    return s.str.strip(), roc


# Two-digit years as Python's strptime %y reads them: 00-68 are 2000-2068, 69-99 are 1969-1999 (12/31/99 is 1999).
TWO_DIGIT_PIVOT = 68


def full_year(yy):
    """A two-digit year (a number or an array of them) as a four-digit one, by TWO_DIGIT_PIVOT."""
    return yy + np.where(np.asarray(yy) <= TWO_DIGIT_PIVOT, 2000, 1900)


@dataclass
class DayOrder:
    """What a column's cells prove about its day order, over every batch of a file read so far: its decision is the
    file's, not one batch's."""

    day_first: bool = False  # a date's first field was above 12 (26/11/2026)
    month_first: bool = False  # a date's second field was above 12 (11/26/2026)

    def decide(self, date_order: str) -> bool:
        """Day-first if the data proves it, month-first if the data proves that; else date_order."""
        if self.day_first:
            return True
        if self.month_first:
            return False
        return date_order == "dmy"


def decide_day_first(first: pd.Series, second: pd.Series, date_order: str, seen: DayOrder | None = None) -> bool:
    """Day-first if the data proves it (a first field above 12), month-first if the data proves that; else date_order.
    With seen, the proof of earlier batches of the file counts too (and these cells' is added to it)."""
    seen = seen if seen is not None else DayOrder()
    seen.day_first |= bool((first > 12).any())
    seen.month_first |= bool((second > 12).any())
    return seen.decide(date_order)


# Cells already written 2026-11-26 14:30:05 (what most platforms export) with every field in range.
_ISO_SECONDS_RE = r"[0-9]{4}-[0-9]{2}-[0-9]{2} (?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"


def parse_timestamp(raw: pd.Series, date_order: str = "auto", day_order: DayOrder | None = None,
                    source_zone: str | None = None, centre_zone: str = DEFAULT_CENTRE_ZONE) -> Parsed:
    """Timestamps in ISO, slash or dash forms, ROC years, 年月日, AM/PM and 上午/下午, as the centre's wall-clock time:
    one with an offset (Z, +00:00, +0800) is converted from it; one without is in source_zone (default: the centre's)."""
    s = clean_text(raw)
    # Fast path: the plain ISO form parsed with a fixed format. Cells it can't read (other forms, impossible dates,
    # years outside 1900-2200) go through the general parser below, so the result is the same as without it.
    iso = s.str.fullmatch(_ISO_SECONDS_RE).fillna(False).astype(bool)
    values = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us]")
    offsets = pd.Series(np.nan, index=s.index)  # minutes east of UTC the cell states; NaN when it states none
    if iso.any():
        fast = pd.to_datetime(s[iso], format="%Y-%m-%d %H:%M:%S", errors="coerce").astype("datetime64[us]")
        values = values.fillna(fast.where(fast.dt.year.between(1900, 2200)))
    rest = s.notna() & values.isna()
    if rest.any():
        forms, stated = _parse_timestamp_forms(s[rest], date_order, day_order)
        values, offsets = values.fillna(forms), offsets.fillna(stated)
    named = s.notna() & values.isna() & s.str.contains(_MONTH_NAME_RE).fillna(False).astype(bool)
    if named.any():
        forms, stated = _parse_month_name_dates(s[named])
        values, offsets = values.fillna(forms), offsets.fillna(stated)
    values = to_centre_time(values, offsets, source_zone or centre_zone, centre_zone)
    bad = s.notna() & values.isna()
    return Parsed(values, _errors_where(bad, s, "unreadable_timestamp"))


def time_zone(name: str) -> zoneinfo.ZoneInfo | None:
    """The IANA zone of that name (UTC, Asia/Taipei, America/New_York), None when there is none."""
    try:
        return zoneinfo.ZoneInfo(name) if isinstance(name, str) and name.strip() == name and name else None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None


def to_centre_time(values: pd.Series, offsets: pd.Series, source_zone: str, centre_zone: str) -> pd.Series:
    """Wall-clock times as written, as the centre's wall-clock time: one with an offset (minutes east of UTC) from
    that offset, one without from source_zone, by each zone's rules on that date (a US zone is 4 hours behind UTC in
    July, 5 in January). A wall time a clock change repeats is read as its first occurrence; one it skips, as if the
    clock had not changed yet (as Python's datetime does)."""
    centre = time_zone(centre_zone)
    stated = offsets.notna() & values.notna()
    naive = offsets.isna() & values.notna()
    out = values.copy()
    if stated.any():
        utc = values[stated] - pd.to_timedelta(offsets[stated], unit="min")
        out[stated] = utc.dt.tz_localize("UTC").dt.tz_convert(centre).dt.tz_localize(None).astype("datetime64[us]")
    if naive.any() and time_zone(source_zone) != centre:
        source = time_zone(source_zone)
        wall = values[naive]
        local = wall.dt.tz_localize(source, ambiguous=np.ones(len(wall), dtype=bool), nonexistent="NaT")
        converted = local.dt.tz_convert(centre).dt.tz_localize(None).astype("datetime64[us]")
        skipped = converted.isna()
        if skipped.any():  # the hour a clock skips (rare): read as datetime reads it, fold 0
            converted[skipped] = [datetime.fromtimestamp(datetime.combine(t.date(), t.time(), source).timestamp(),
                                                         centre).replace(tzinfo=None) for t in wall[skipped]]
        out[naive] = converted
    return out


_MONTH_NAME_RE = r"(?i)\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b"


def _parse_month_name_dates(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Dates with English month names (16-Nov-2026 2:05 PM, Nov 16, 2026): each distinct cell parsed once; (wall-clock
    times as written, the offsets the cells state in minutes east of UTC)."""
    lookup, stated = {}, {}
    for text in s.unique():
        try:
            v = pd.to_datetime(text, format="mixed", dayfirst=True)
        except (ValueError, OverflowError):
            v = pd.NaT
        # A month name makes the order unambiguous; a time zone is kept as its offset, converted like the other forms.
        if v is not pd.NaT and v.tzinfo is not None:
            stated[text] = v.utcoffset().total_seconds() / 60
            v = v.tz_localize(None)
        if v is not pd.NaT and not re.search(r"\d{3,4}", re.sub(r"\d{1,2}:\d{2}(:\d{2})?", "", text)):
            try:  # a 2-digit year by our pivot, not dateutil's
                v = v.replace(year=int(full_year(v.year % 100)))
            except ValueError:  # 29 February of a year that has none
                v = pd.NaT
        lookup[text] = v if v is pd.NaT or 1900 <= v.year <= 2200 else pd.NaT
    return s.map(lookup).astype("datetime64[us]"), s.map(stated).astype("float64")


def _parse_timestamp_forms(s: pd.Series, date_order: str,
                           day_order: DayOrder | None = None) -> tuple[pd.Series, pd.Series]:
    """The general timestamp parser over cleaned cells: (wall-clock times as written, NaT where unreadable; the
    offsets the cells state in minutes east of UTC, NaN where none)."""
    norm, roc_marked = _normalise_dates(s)
    parts = norm.str.extract(_TS_RE)
    matched = parts["a"].notna()
    a = pd.to_numeric(parts["a"], errors="coerce")
    b = pd.to_numeric(parts["b"], errors="coerce")
    c = pd.to_numeric(parts["c"], errors="coerce")
    len_a = parts["a"].str.len()
    two_digit_c = parts["c"].str.len() <= 2
    # Year first: 4 digits (western), 3 digits or 民國 (ROC), a first field no day can be (99/12/31: ROC 99), or
    # date_order ymd with a 2-digit year. A year written first in 2 or 3 digits is an ROC year: 99 is 2010.
    year_first = matched & ((len_a >= 3) | roc_marked | ((a > 31) & two_digit_c)
                            | ((date_order == "ymd") & two_digit_c))
    roc = year_first & ((len_a <= 3) | roc_marked)
    year_last = matched & ~year_first
    day_first = decide_day_first(a[year_last], b[year_last], date_order, day_order)
    year = pd.Series(np.nan, index=s.index)
    month = pd.Series(np.nan, index=s.index)
    day = pd.Series(np.nan, index=s.index)
    year[year_first] = a[year_first] + np.where(roc[year_first], 1911, 0)
    month[year_first] = b[year_first]
    day[year_first] = c[year_first]
    year[year_last] = c[year_last].where(~two_digit_c[year_last], full_year(c[year_last]))
    month[year_last] = (b if day_first else a)[year_last]
    day[year_last] = (a if day_first else b)[year_last]
    hour = pd.to_numeric(parts["H"], errors="coerce").fillna(0)
    ampm = parts["ap1"].fillna(parts["ap2"]).str.upper()
    pm = ampm.isin(["PM", "下午"]).fillna(False)
    am = ampm.isin(["AM", "上午"]).fillna(False)
    bad_ampm = (am | pm) & ((hour > 12) | (hour < 1))
    hour = hour.where(~(am & (hour == 12)), 0)
    hour = hour.where(~(pm & (hour < 12)), hour + 12)
    minute = pd.to_numeric(parts["M"], errors="coerce").fillna(0)
    second = pd.to_numeric(parts["S"], errors="coerce").fillna(0)
    frac = parts["f"].fillna("0").str.ljust(6, "0").astype("int64") if len(parts) else pd.Series(dtype="int64")
    fields = pd.DataFrame(
        {"year": year, "month": month, "day": day, "hour": hour, "minute": minute, "second": second, "us": frac}
    )
    in_range = (
        fields["month"].between(1, 12) & fields["day"].between(1, 31) & fields["hour"].between(0, 23)
        & fields["minute"].between(0, 59) & fields["second"].between(0, 59) & fields["year"].between(1900, 2200)
    )
    ok = matched & in_range & ~bad_ampm
    values = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us]")
    offsets = pd.Series(np.nan, index=s.index)
    if ok.any():
        f = fields[ok].astype("int64")
        values[ok] = pd.to_datetime(
            {"year": f["year"], "month": f["month"], "day": f["day"], "hour": f["hour"],
             "minute": f["minute"], "second": f["second"], "us": f["us"]},
            errors="coerce",
        ).astype("datetime64[us]")
        tz = parts["tz"][ok]
        has_tz = tz.notna()
        if has_tz.any():
            t = tz[has_tz].str.replace(":", "", regex=False)
            offsets[t.index] = t.map(lambda z: 0 if z.upper() == "Z" else
                                     (1 if z[0] == "+" else -1) * (int(z[1:3]) * 60 + int(z[3:5]))).astype("float64")
    return values, offsets


_MONTH_NAMES = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}


def parse_month_text(text: str) -> pd.Timestamp | None:
    """One month label (2026-11, 2026/11/01, 115/11, 2026年11月, Nov-2026, 11/2026) as its first day, else None."""
    t = pd.Series([text], dtype="string").str.normalize("NFKC").iloc[0].strip()
    roc = "民國" in t
    t = t.replace("民國", "").replace("年", "/").replace("月", "").replace("份", "").strip()
    m = re.fullmatch(r"(\d{3,4})[/\-.](\d{1,2})(?:[/\-.](\d{1,2}))?(?:[ T]00:00(?::00)?)?", t)
    if m:
        y, mo = int(m.group(1)), int(m.group(2))
        if len(m.group(1)) == 3 or roc:
            y += 1911
    else:
        m = re.fullmatch(r"(\d{1,2})[/\-.](\d{4})", t)
        if m:
            y, mo = int(m.group(2)), int(m.group(1))
        else:
            m = re.fullmatch(r"([A-Za-z]{3})[A-Za-z]*[\s\-/.']*(\d{2}|\d{4})", t)
            if not m or m.group(1).lower() not in _MONTH_NAMES:
                return None
            mo = _MONTH_NAMES[m.group(1).lower()]
            y = int(m.group(2)) if len(m.group(2)) == 4 else int(full_year(int(m.group(2))))
    if not (1 <= mo <= 12 and 1900 <= y <= 2200):
        return None
    return pd.Timestamp(year=y, month=mo, day=1)


def parse_month(raw: pd.Series) -> Parsed:
    """Months: each distinct label parsed once (budget sheets have few)."""
    s = clean_text(raw)
    lookup = {u: parse_month_text(u) for u in s.dropna().unique()}
    values = pd.Series(s.map(lookup), index=s.index).astype("datetime64[us]")
    bad = s.notna() & values.isna()
    return Parsed(values, _errors_where(bad, s, "unreadable_month"))


_HMS_RE = re.compile(r"^(?P<neg>-)?(?:(?P<h>\d+):)?(?P<m>\d+):(?P<s>\d{1,2}(?:\.\d+)?)$")

# A number whose thousands are grouped: the separator only between groups of three digits, before the decimal mark.
_GROUPED_RE = {".": r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?(?:[eE][+-]?\d+)?",
               ",": r"[+-]?\d{1,3}(?:\.\d{3})+(?:,\d*)?(?:[eE][+-]?\d+)?"}
DECIMAL_MARKS = (".", ",")


def _number_text(s: pd.Series, decimal: str) -> pd.Series:
    """Cells as numbers in Python's notation: thousands separators dropped where they group threes (1,234 or, with a
    decimal comma, 1.234), the decimal mark a point. A cell with a separator elsewhere (300,5 in a file with a decimal
    point) becomes NA: read as unreadable rather than as another number (3005)."""
    sep = "," if decimal == "." else "."
    has_sep = s.str.contains(sep, regex=False).fillna(False).astype(bool)
    if has_sep.any():  # only the cells that have one: most numbers in exports carry no separator
        c = s[has_sep]
        s = s.mask(has_sep, c.where(c.str.fullmatch(_GROUPED_RE[decimal]).fillna(False).astype(bool))
                   .str.replace(sep, "", regex=False))
    if decimal == ",":
        s = s.str.replace(",", ".", regex=False)
    return s


# Cells that can be read one way only: 300,5 / 0,25 / 1.234,56 have a decimal comma; 300.5 / 1,234.56 a point.
_COMMA_PROOF = r"[+-]?(?:\d{1,3}(?:\.\d{3})+,\d+|\d+,(?:\d{1,2}|\d{4,}))"
_POINT_PROOF = r"[+-]?(?:\d{1,3}(?:,\d{3})+\.\d+|\d+\.(?:\d{1,2}|\d{4,}))"


@dataclass
class DecimalMark:
    """The decimal mark of a file's numbers: the one fixed (by the mapping, or by a comma-separated file or a workbook,
    which write points), else guessed from what the number cells of every batch read so far prove: a comma when some
    cell shows a decimal comma (300,5 or 1.234,56) and none a decimal point (300.5 or 1,234.56), as Excel saves a
    semicolon file where the comma is the decimal mark. 1,234 alone proves nothing: it stays 1234."""

    fixed: str = "auto"  # ".", ",", or auto (guessed)
    comma: bool = False  # a cell only a decimal comma reads was seen
    point: bool = False  # a cell only a decimal point reads was seen

    def see(self, raw: pd.Series) -> None:
        """Add what these cells prove (nothing to add once a point was seen: the mark is the point)."""
        if self.fixed != "auto" or self.point:
            return
        cells = clean_text(raw).dropna().str.replace(r"[^\d,.+-]", "", regex=True)
        self.comma |= bool(cells.str.fullmatch(_COMMA_PROOF).any())
        self.point |= bool(cells.str.fullmatch(_POINT_PROOF).any())

    def decide(self) -> str:
        if self.fixed != "auto":
            return self.fixed
        return "," if self.comma and not self.point else "."


def _to_float(s: pd.Series) -> pd.Series:
    """Number text as float64 (NaN where it is not a number, inf where it is beyond float's range)."""
    return pd.to_numeric(s, errors="coerce").astype("float64")


def _range_errors(errors: pd.Series, values: pd.Series, raw: pd.Series, lo: float, hi: float,
                  below: tuple[str, dict], above: tuple[str, dict]) -> pd.Series:
    """Reasons (code, parameters) for the values below lo and above hi (-inf and inf too), put in errors; returns
    where they are."""
    out = pd.Series(False, index=values.index)
    for where, (code, params) in (((values < lo).fillna(False), below), ((values > hi).fillna(False), above)):
        if where.any():
            errors[where] = [encode(code, value=v, **params) for v in raw[where]]
            out |= where
    return out


def parse_duration(raw: pd.Series, unit: str = "s", lo: float | None = None, hi: float | None = None,
                   decimal: str = ".") -> Parsed:
    """Durations in seconds: numbers in the declared unit (s, ms, min), or hh:mm:ss / mm:ss text (minutes and seconds
    under 60 after the first field; with unit hms nothing else); within [lo, hi] seconds (default 0 to 7 days)."""
    if unit not in DURATION_UNITS:
        raise ValueError(f"duration_unit must be one of {', '.join(DURATION_UNITS)}, got {unit!r}")
    lo, hi = _bounds("duration", lo, hi)
    s = clean_text(raw)
    norm = _nfkc(s)
    number = _to_float(_number_text(norm, decimal)) * DURATION_UNITS[unit]
    hms_text = norm[norm.notna() & number.isna()]  # hh:mm:ss only where it isn't a number
    if decimal == ",":
        hms_text = hms_text.str.replace(",", ".", regex=False)
    hms = hms_text.str.extract(_HMS_RE)
    h, m, sec = (pd.to_numeric(hms[f], errors="coerce").astype("float64") for f in ("h", "m", "s"))
    # 1:99 is not a duration: seconds, and minutes after hours, are under 60.
    fields_ok = (sec < 60) & ((m < 60) | h.isna())
    from_hms = (h.fillna(0) * 3600 + m * 60 + sec).where(fields_ok)
    from_hms = from_hms.where(hms["neg"].isna(), -from_hms)
    values = number.fillna(from_hms).astype("float64")
    unreadable = s.notna() & values.isna()
    errors = (_errors_where(unreadable, s, "unreadable_hms") if unit == "hms" else
              _errors_where(unreadable, s, "unreadable_duration", unit=unit))
    bad = _range_errors(errors, values, s, lo, hi, ("negative_duration", {}), ("too_long", {"hi": hi, "kind": "duration"}))
    return Parsed(values.mask(bad | unreadable), errors.astype("string"))


def parse_hours(raw: pd.Series, lo: float | None = None, hi: float | None = None, decimal: str = ".") -> Parsed:
    """Hours as a plain number (decimals allowed), within [lo, hi] (default 0 to 7 days)."""
    lo, hi = _bounds("hours", lo, hi)
    s = clean_text(raw)
    values = _to_float(_number_text(s.str.normalize("NFKC"), decimal))
    unreadable = s.notna() & values.isna()
    errors = _errors_where(unreadable, s, "unreadable_hours")
    bad = _range_errors(errors, values, s, lo, hi, ("negative_hours", {}), ("too_long", {"hi": hi, "kind": "hours"}))
    return Parsed(values.mask(bad | unreadable), errors.astype("string"))


def parse_bool(raw: pd.Series) -> Parsed:
    """Booleans written Y/N, Yes/No, TRUE/FALSE, 1/0 or 是/否."""
    s = clean_text(raw)
    low = _nfkc(s).str.lower()
    values = pd.Series(pd.NA, index=s.index, dtype="boolean")
    values[low.isin(TRUE_WORDS).fillna(False)] = True
    values[low.isin(FALSE_WORDS).fillna(False)] = False
    bad = s.notna() & values.isna()
    return Parsed(values, _errors_where(bad, s, "unreadable_bool"))


_AMOUNT_STRIP_RE = r"(?i)NT\$|NTD|TWD|\$|元|\s"


def parse_amount(raw: pd.Series, lo: float | None = None, hi: float | None = None, decimal: str = ".",
                 scale: pd.Series | float | None = None) -> Parsed:
    """Money: thousands separators, NT$ / NTD / 元, and (1,234) for negatives, times scale (a sheet in 千元: 1,000,
    per cell or for all); within [lo, hi] NT$ (default +/-10^13)."""
    lo, hi = _bounds("amount", lo, hi)
    s = clean_text(raw)
    norm = s.str.normalize("NFKC").str.replace(_AMOUNT_STRIP_RE, "", regex=True)
    negative = norm.str.match(r"^\(.*\)$").fillna(False)
    norm = norm.str.strip("()")
    values = _to_float(_number_text(norm, decimal))
    values = values.where(~negative, -values)
    if scale is not None:
        values = values * scale
    unreadable = s.notna() & values.isna()
    errors = _errors_where(unreadable, s, "unreadable_amount")
    limit = ("amount_out_of_range", {"hi": hi, "kind": "amount"})
    bad = _range_errors(errors, values, s, lo, hi, limit, limit)
    return Parsed(values.mask(bad | unreadable), errors.astype("string"))


def parse_int(raw: pd.Series, lo: float | None = None, hi: float | None = None, decimal: str = ".") -> Parsed:
    """Whole numbers within [lo, hi] (default: the INTEGER type's range)."""
    lo, hi = _bounds("int", lo, hi)
    s = clean_text(raw)
    number = _to_float(_number_text(s.str.normalize("NFKC"), decimal))
    not_whole = number.notna() & np.isfinite(number) & (number != np.floor(number))
    unreadable = (s.notna() & number.isna()) | not_whole
    errors = _errors_where(unreadable, s, "unreadable_int")
    out_of_range = ((number < lo) | (number > hi)).fillna(False)
    if out_of_range.any():
        errors[out_of_range] = [encode("out_of_range", value=v, lo=lo, hi=hi) for v in s[out_of_range]]
    values = number.mask(unreadable | out_of_range).astype("Int64")
    return Parsed(values, errors.astype("string"))


def parse_number(raw: pd.Series, lo: float | None = None, hi: float | None = None, decimal: str = ".",
                 kind: str = "number") -> Parsed:
    """A plain decimal number (FTE, 12.5) within [lo, hi]; for kind fraction a share, 0.85 or 85% (read as 0.85)."""
    lo, hi = _bounds(kind, lo, hi)
    s = clean_text(raw)
    norm = s.str.normalize("NFKC").str.strip()
    percent = norm.str.endswith("%").fillna(False).astype(bool) if kind == "fraction" else pd.Series(False, index=s.index)
    values = _to_float(_number_text(norm.str.rstrip("%").str.strip(), decimal))
    values = values.where(~percent, values / 100)
    unreadable = s.notna() & values.isna()
    errors = _errors_where(unreadable, s, f"unreadable_{kind}")
    bad = _range_errors(errors, values, s, lo, hi, ("out_of_range", {"lo": lo, "hi": hi}),
                        ("out_of_range", {"lo": lo, "hi": hi}))
    return Parsed(values.mask(bad | unreadable), errors.astype("string"))


def _bounds(kind: str, lo: float | None, hi: float | None) -> tuple[float, float]:
    """A column's range, its kind's (kpi.store.KIND_RANGES) where it gives none."""
    default_lo, default_hi = KIND_RANGES[kind]
    return (default_lo if lo is None else lo), (default_hi if hi is None else hi)


def parse_enum(raw: pd.Series, choices: tuple[str, ...], words: tuple[tuple[str, str], ...] = (),
               column: str | None = None) -> Parsed:
    """One of a fixed set of words, compared ignoring case; with words (a column's other spellings of its choices,
    kpi.store.Column.words), those too, compared ignoring case, width, spaces, hyphens and underscores: IB, 外撥,
    Call-back. A bad cell's reason then lists every choice with its spellings, under the column's name."""
    s = clean_text(raw)
    if not words:
        low = s.str.lower()
        ok = low.isin(choices).fillna(False)
        values = low.where(ok)
        bad = s.notna() & ~ok
        named = {"column": column} if column else {}  # so the reason can word each choice in the reader's language
        return Parsed(values, _errors_where(bad, s, "unreadable_enum", choices=list(choices), **named))
    lookup = {_word_key(w): c for w, c in (*((c, c) for c in choices), *words)}
    found = {u: lookup.get(_word_key(u)) for u in s.dropna().unique()}  # each spelling once, however many rows
    values = s.map(found).astype("string")
    bad = s.notna() & values.isna()
    spellings = {c: [c, *(w for w, to in words if to == c)] for c in choices}
    return Parsed(values, _errors_where(bad, s, "unknown_choice", column=column, words=spellings))


def _word_key(word: str) -> str:
    return re.sub(r"[\s_\-]+", "", unicodedata.normalize("NFKC", word).casefold())


def parse_column(raw: pd.Series, kind: str, *, date_order: str = "auto", duration_unit: str = "s",
                 lo: float | None = None, hi: float | None = None, choices: tuple[str, ...] = (),
                 words: tuple[tuple[str, str], ...] = (), column: str | None = None,
                 decimal: str = ".", day_order: DayOrder | None = None,
                 scale: pd.Series | float | None = None, source_zone: str | None = None,
                 centre_zone: str = DEFAULT_CENTRE_ZONE) -> Parsed:
    """Parse a column of the given kind (see kpi.store.SQL_TYPES); numbers within [lo, hi] (a column's bounds) with
    the decimal mark given; day_order carries a timestamp column's proof of its day order from one batch of a file to
    the next; scale multiplies amounts (a sheet's unit); timestamps are stored as centre_zone's wall-clock time (see
    parse_timestamp)."""
    if kind == "text":
        return Parsed(clean_text(raw), _no_errors(raw.index))
    if kind == "timestamp":
        return parse_timestamp(raw, date_order, day_order, source_zone, centre_zone)
    if kind == "month":
        return parse_month(raw)
    if kind == "duration":
        return parse_duration(raw, duration_unit, lo, hi, decimal)
    if kind == "hours":
        return parse_hours(raw, lo, hi, decimal)
    if kind == "bool":
        return parse_bool(raw)
    if kind == "amount":
        return parse_amount(raw, lo, hi, decimal, scale)
    if kind == "int":
        return parse_int(raw, lo, hi, decimal)
    if kind == "enum":
        return parse_enum(raw, choices, words, column)
    if kind in ("number", "fraction"):
        return parse_number(raw, lo, hi, decimal, kind)
    raise ValueError(f"unknown column kind {kind!r}")
