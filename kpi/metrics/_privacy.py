"""Masking personal data in free text (survey comments) before anyone sees it on a page or in a report.

Each kind of personal data becomes one fixed token; the rest of the text stays exactly as it was:

- `[電子郵件]`: an e-mail address (the tokens are the reader's language's: [e-mail], [card number], [ID number] and
  [phone] in English; messages.yaml `mask.*`).
- `[卡號]`: a card-like number: 13-19 digits in a row, in groups of four (4111 1111 1111 1111) or Amex's 4-6-5.
- `[身分證]`: a Taiwan national ID (A123456789) or resident certificate number, new (A812345678) or old (AB12345678).
- `[電話]`: a mobile number (0912-345-678, 0912 345 678, +886 912 345 678) or a landline ((02)2345-6789,
  02-2345-6789, 03-123-4567, +886 2 2345 6789), with its extension (轉 123, 分機 12, #12) if any.

Check digits are not verified: a mistyped ID or card number is still someone's. Left alone: ordinary numbers
(amounts like 1200元, dates like 2026/11/20 or 2026-11-20, times, order numbers under 13 digits) and 080x toll-free
lines, which belong to a company, not a person. Full-width characters (０９１２…, ＠) are read like their ASCII twins.
"""
from __future__ import annotations

import re

from ..present import t

KINDS = ("email", "card", "national_id", "phone")

# Full-width forms -> ASCII, one character for one, so match positions in the copy are positions in the original.
_ASCII_VIEW = str.maketrans({**{chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)}, "\u3000": " "})

_SEP = r"[ \-‐–]"  # one optional separator between digit groups
_CC = r"(?:\+|00)?886"  # Taiwan's country code
_AREA_IN_PARENS = rf"\(0?[2-8]\d{{0,2}}\){_SEP}?\d(?:{_SEP}?\d){{4,7}}"  # (02)2345-6789, (037)123456
_AREA_AND_NUMBER = rf"(?!80)[2-8](?:{_SEP}?\d){{7,8}}"  # after the area's 0: 8-9 digits; 080x are toll-free
_EXT = rf"(?:{_SEP}?(?:轉|分機|#|ext\.?){_SEP}?\d{{1,6}})?"

# Applied in this order: an e-mail may hold digits or an ID, and a card number holds phone-like digit groups.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("email", re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}", re.ASCII)),
    ("card", re.compile(r"(?<!\d)(?:\d{13,19}|\d{4}(?:[ \-]\d{4}){2}[ \-]\d{1,7}|\d{4}[ \-]\d{6}[ \-]\d{4,5})(?!\d)",
                        re.ASCII)),
    # Letter + 1/2 (ID), letter + 8/9 (resident certificate since 2021), two letters (older resident certificate).
    ("national_id", re.compile(r"(?<![A-Za-z0-9])[A-Za-z](?:[1289]|[A-Da-d])\d{8}(?!\d)", re.ASCII)),
    # Mobile: 09 + 8 digits, or the country code then 9 + 8 digits; '.' also separates groups here (0912.345.678).
    ("phone", re.compile(rf"(?<!\d)(?:{_CC}(?:{_SEP}|\.)?|0)9(?:(?:{_SEP}|\.)?\d){{8}}(?!\d)", re.ASCII)),
    # Landline: 9-10 digits with the area's 0 (02 + 8, 03 + 7, 037 + 6, 049 + 7, 089 + 6, ...).
    ("phone", re.compile(
        rf"(?<!\d)(?:{_AREA_IN_PARENS}|0{_AREA_AND_NUMBER}|{_CC}{_SEP}?(?:{_AREA_IN_PARENS}|0?{_AREA_AND_NUMBER}))"
        rf"(?!\d){_EXT}", re.ASCII)),
]


def mask_pii(text: str | None, lang: str = "zh-TW") -> str:
    """text with phone numbers, e-mail addresses, national IDs and card numbers replaced by [電話], [電子郵件], [身分證],
    [卡號] (in English [phone], [e-mail], [ID number], [card number])."""
    if not text:
        return ""
    tokens = {kind: t(f"mask.{kind}", lang) for kind in KINDS}
    for kind, pattern in _PATTERNS:
        view = text.translate(_ASCII_VIEW)
        parts, pos = [], 0
        for m in pattern.finditer(view):
            parts += [text[pos:m.start()], tokens[kind]]
            pos = m.end()
        text = "".join(parts) + text[pos:]
    return text
