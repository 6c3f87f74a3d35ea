"""Budget workbooks as finance keeps them: what the words in a sheet say that its cells do not. Month headers written
without a year (1月, 一月, Jan, M01) and the year a title cell or the sheet's name gives them; the unit a title or header
states (單位：千元); budget and actual told apart by a word (預算, 實際) in a header, a row of its own or the sheet's name;
the header row under title rows; and what a sheet's name says (year, measure, cost center)."""
from __future__ import annotations

import re
import unicodedata
from typing import Any

import pandas as pd

from . import _parse as parsing

# Amount units a sheet may state (options.amount_unit), as the factor to NT$.
AMOUNT_UNITS = {"one": 1.0, "thousand": 1_000.0, "ten_thousand": 10_000.0, "million": 1_000_000.0}

# Words that say a row, a column or a sheet holds budget or actual amounts.
MEASURE_WORDS = {"預算": "budget", "預算數": "budget", "預算金額": "budget", "預算額": "budget", "budget": "budget",
                 "實際": "actual", "實際數": "actual", "實際金額": "actual", "實績": "actual", "實支": "actual",
                 "actual": "actual", "actuals": "actual"}
_MEASURE_RE = "|".join(sorted(map(re.escape, MEASURE_WORDS), key=len, reverse=True))

_EN_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10,
              "十一": 11, "十二": 12}
_BRACKETED = re.compile(r"[(\[（【][^)\]）】]*[)\]）】]")
_MONTH_ONLY = re.compile(
    r"(?:(?P<num>0?[1-9]|1[0-2])\s*月份?"
    r"|(?P<cn>十[一二]?|[一二三四五六七八九])\s*月份?"
    r"|(?P<en>jan|feb|mar|apr|may|jun|jul|aug|sept?|oct|nov|dec)[a-z]*\.?"
    r"|m(?P<m>0?[1-9]|1[0-2]))")
_SEPARATORS = " \t-_/·.:：、"


# Longer cells are no header, title or measure word (and a megabyte cell is read no further)
_WORDS_MAX = 200


def _text(value: Any) -> str:
    """A cell's text, NFKC-normalised (full-width digits and brackets), stripped; "" for a blank or non-text cell and
    for one longer than a title could be."""
    if not isinstance(value, str) or len(value) > _WORDS_MAX:
        return ""
    return unicodedata.normalize("NFKC", value).strip()


def measure_of(text: Any) -> str | None:
    """budget or actual for a cell that is a measure word alone (預算, 實際數, Actual; a list marker such as 一、 or a
    colon around it is allowed), else None."""
    t = _text(text).lower()
    t = re.sub(r"^(?:[一二三四五六七八九十]+|\d+)\s*[、.)]\s*|^[(（]?[一二三四五六七八九十\d]+[)）]\s*", "", t)
    return MEASURE_WORDS.get(t.strip(_SEPARATORS))


def _split_measure(text: str) -> tuple[str, str | None]:
    """(the text without a measure word at its start or end, that word as written or None)."""
    sep = re.escape(_SEPARATORS)
    m = re.fullmatch(rf"(?i)\s*({_MEASURE_RE})[{sep}]*(.+?)\s*|\s*(.+?)[{sep}]*({_MEASURE_RE})\s*", text)
    if not m:
        return text, None
    return (m.group(2), m.group(1)) if m.group(1) else (m.group(3), m.group(4))


def yearless_month(text: Any) -> tuple[int, str | None] | None:
    """(month 1-12, measure word or None) of a header naming a month without its year: 1月, 01月份, 一月, 十二月, Jan,
    January, M01; with a measure word before or after it (1月預算, Jan Actual) and a bracketed unit (1月(千元))."""
    t = _BRACKETED.sub("", _text(text)).strip()
    if not t:
        return None
    rest, measure = _split_measure(t)
    m = _MONTH_ONLY.fullmatch(rest.strip().lower())
    if not m:
        return None
    if m.group("num"):
        month = int(m.group("num"))
    elif m.group("cn"):
        month = _CN_DIGITS[m.group("cn")]
    elif m.group("en"):
        month = _EN_MONTHS.index(m.group("en")[:3]) + 1
    else:
        month = int(m.group("m"))
    return month, measure


def month_header(header: Any) -> tuple[pd.Timestamp | None, str | None]:
    """(the month, measure word or None) of a months-as-columns header that carries its year (2026-01, 2026年1月,
    Jan-26, an Excel date; 2026-01 預算, 2026年1月實際); (None, None) for any other header."""
    t = _BRACKETED.sub("", _text(str(header))).strip()
    if not t:
        return None, None
    month = parsing.parse_month_text(t)
    if month is not None:
        return month, None
    rest, measure = _split_measure(t)
    if measure is None:
        return None, None
    month = parsing.parse_month_text(rest.strip())
    return (month, measure) if month is not None else (None, None)


def is_month_header(header: Any) -> bool:
    """A header naming a month, with or without its year."""
    return month_header(header)[0] is not None or yearless_month(header) is not None


_YEAR_PATTERNS = (
    re.compile(r"(?i)(?:FY|財年|會計年度)\s*['’]?\s*(\d{4}|\d{2,3})(?!\d)"),  # FY2026, FY26
    re.compile(r"民國\s*(\d{2,3})(?!\d)"),  # 民國115年
    re.compile(r"(?<!\d)(\d{4}|\d{2,3})\s*年度?(?!\s*\d)"),  # 2026年度, 115年度; not 2026年1月15日 (a date)
    re.compile(r"(?<![\d/\-.:])((?:19|20|21)\d{2})(?![\d/\-.:])"),  # 2026 Budget; not 2026/01/15
)


def year_in(text: Any) -> int | None:
    """The year a title or a sheet name gives: 2026年度預算, FY2026 Budget, FY26, 115年度 (ROC 115 = 2026), 民國115年,
    a lone 2026; None when it gives none. A date (2026/01/15, 2026年1月15日) is no year of the budget."""
    t = _text(text) if not isinstance(text, (int, float)) else str(int(text)) if float(text).is_integer() else ""
    for k, pattern in enumerate(_YEAR_PATTERNS):
        m = pattern.search(t)
        if not m:
            continue
        digits = m.group(1)
        if len(digits) == 4:
            year = int(digits)
        elif k == 0 and len(digits) == 2:  # FY26
            year = 2000 + int(digits)
        else:  # two or three digits with 年 or 民國: an ROC year
            year = int(digits) + 1911
        if 1900 <= year <= 2200:
            return year
    return None


_UNIT_PATTERNS = (
    ("million", re.compile(r"(?i)百萬|百万|\bmillions?\b|\bNT\$\s*(?:m|mn)\b")),
    ("ten_thousand", re.compile(r"(?i)(?<![千百])萬元|(?<![千百])万元|ten[\s-]thousands?|單位\s*:?\s*(?:新[臺台]幣)?\s*萬")),
    ("thousand", re.compile(r"(?i)千元|仟元|\bthousands?\b|'000|NT\$\s*000|\bin\s+000s?\b|單位\s*:?\s*(?:新[臺台]幣)?\s*[千仟]")),
    ("one", re.compile(r"(?i)單位\s*:?\s*(?:新[臺台]幣)?\s*元|\bNT\$\s*dollars?\b")),
)


def unit_in(text: Any) -> str | None:
    """The amount unit a title or header cell states (單位：千元, (NT$ thousands), 萬元, 百萬元, 單位：元), as a key of
    AMOUNT_UNITS; None when it states none."""
    t = _text(text)
    for unit, pattern in _UNIT_PATTERNS:
        if pattern.search(t):
            return unit
    return None


# Names a spreadsheet program gives a new sheet: they say nothing about a cost center.
_DEFAULT_SHEET = re.compile(r"(?i)(?:sheet|工作表|工作頁)\s*\d*")
_SUMMARY_WORDS = ("彙總", "匯總", "總表", "總覽", "summary", "overview")


# A sheet name holding one of these is about budget against actual (預算執行表, Budget vs Actual): no measure of its own
_COMPARING = ("執行", "比較", "對照", "差異", "分析", "與", "及", "vs")
# and one of these alone is the kind of sheet, not a cost center (預算表, 實際明細)
_GENERIC = ("表", "明細", "明細表", "資料", "報表", "清單", "總表", "數", "金額", "table", "detail", "details", "data")


def sheet_name_parts(name: str) -> tuple[int | None, str | None, str | None]:
    """(year, measure, cost center) a sheet's name gives: 2026 -> (2026, None, None); 2026預算 -> (2026, budget, None);
    實際 -> (None, actual, None); 營運部預算 -> (None, budget, 營運部); 客服一部 -> (None, None, 客服一部); Sheet1,
    預算執行表, Budget vs Actual -> no measure and no cost center."""
    year = year_in(name)
    t = _BRACKETED.sub("", _text(name))
    for pattern in _YEAR_PATTERNS:
        t = pattern.sub(" ", t)
    t = t.strip(_SEPARATORS)
    low = t.lower()
    if any(w in low for w in _COMPARING) or _DEFAULT_SHEET.fullmatch(t):
        return year, None, None
    alone = MEASURE_WORDS.get(low)
    if alone:
        return year, alone, None
    rest, word = _split_measure(t)
    rest = rest.strip(_SEPARATORS)
    measure = MEASURE_WORDS.get(word.lower()) if word else None
    cost_center = rest if rest and rest.lower() not in _GENERIC else None
    return year, measure, cost_center


def is_summary_sheet(name: str) -> bool:
    """A sheet that sums the others (合計, 總計, 彙總, Summary): importing it as a cost center would count every line
    twice."""
    t = _text(name).lower()
    return bool(total_level(t)) or any(w in t for w in _SUMMARY_WORDS)


# Words in a sheet's name that make it a budget workbook's drivers sheet (contacts, hours and rates per labour line)
_DRIVERS_WORDS = ("驅動因子", "驅動", "營運假設", "預算假設", "driver", "assumption")


def is_drivers_sheet(name: str) -> bool:
    """A sheet of budget drivers (驅動因子, 營運假設, Drivers, Assumptions): imported as budget_drivers beside the
    budget."""
    t = _text(name).lower()
    return any(w in t for w in _DRIVERS_WORDS)


HEADER_SCAN_ROWS = 30  # a header under more title rows than this is no header a person would find either


def header_row(rows: list[list[Any]], known: set[str], mapped: set[str], norm, key) -> int | None:
    """The position of a sheet's header row among its first rows: the first row of two or more cells, none of them a
    number, that names two or more months (with or without their year), or holds every header the mapping names, or
    two or more known header words (a dataset's column names and the header words the import page matches, compared as
    norm gives them); None when no row does (the caller takes row 1). Title rows above it (2026年度預算, 單位：千元)
    and blank rows are skipped; they hold one cell or none, or no header words."""
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        cells = [c for c in row if not (c is None or (isinstance(c, str) and not c.strip()))]
        if len(cells) < 2 or any(isinstance(c, (int, float)) and not isinstance(c, bool) for c in cells):
            continue
        texts = [str(c) for c in cells]
        if sum(_names_a_month(c) for c in cells) >= 2:
            return i
        if mapped and mapped <= {key(t) for t in texts}:
            return i
        if sum(norm(t) in known for t in texts) >= 2:
            return i
    return None


def _names_a_month(cell: Any) -> bool:
    """A header cell naming a month: month text, or a date on the first of a month at midnight (as Excel keeps a
    month header typed as a date)."""
    if hasattr(cell, "day") and hasattr(cell, "month"):
        return cell.day == 1 and (getattr(cell, "hour", 0), getattr(cell, "minute", 0), getattr(cell, "second", 0)) == (0, 0, 0)
    return isinstance(cell, str) and is_month_header(cell)


# Words that make a budget sheet's row a total of the line rows above it, and their level: a total covers the lines
# back to the previous total of its level or higher (a 小計 its group, a 合計 back to the previous 合計, a 總計 all).
_TOTAL_WORDS = {"小計": 1, "小计": 1, "subtotal": 1, "sub total": 1, "合計": 2, "合计": 2, "total": 2,
                "總計": 3, "总计": 3, "grand total": 3, "grandtotal": 3}
_CHINESE_TOTALS = ("小計", "小计", "合計", "合计", "總計", "总计")


def total_level(text: Any) -> int:
    """How a budget sheet's cell marks its row as a total: 1 subtotal (小計, Subtotal), 2 total (合計, Total), 3 grand
    total (總計, Grand total), 0 not a total. The word stands alone, or with a label: 營運部 小計, 小計：營運部, Ops
    subtotal, Grand Total:."""
    if not isinstance(text, str):
        return 0
    t = " ".join(re.sub(r"[:：\-–_()（）\[\]【】]", " ", unicodedata.normalize("NFKC", text).lower()).split())
    for word in _CHINESE_TOTALS:
        if t.startswith(word) or t.endswith(word):
            return _TOTAL_WORDS[word]
    for word in sorted(_TOTAL_WORDS, key=len, reverse=True):  # "grand total" and "sub total" before "total"
        if word.isascii() and (t == word or t.endswith(" " + word)):
            return _TOTAL_WORDS[word]
    return 0
