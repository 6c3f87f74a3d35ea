"""Why a row was rejected, as a message code with parameters: kept so (in the database too), and read in the
reader's language through the message catalog (reject.<code>), the CLI in English."""
from __future__ import annotations

import json
from typing import Any

import pandas as pd

from ..present import clip, duration, join_list, money, number, paren, t, unit_name, value_label

# Every reason an import gives; each is the message reject.<code> (kpi/present/messages.yaml). below_minimum is no
# longer given (an int's range always has both ends now) but rows rejected with it are still read.
REASON_CODES = ("unreadable_timestamp", "unreadable_month", "unreadable_duration", "unreadable_hms", "negative_duration",
                "unreadable_hours", "negative_hours", "unreadable_bool", "unreadable_amount", "unreadable_int",
                "out_of_range", "below_minimum", "unreadable_enum", "missing_required", "answered_before_arrived",
                "abandoned_before_arrived", "resolved_before_opened", "due_before_opened", "duplicate_key",
                "duplicate_budget_line", "too_long", "amount_out_of_range", "wrong_field_count",
                "spreadsheet_error", "formula_without_value", "total_mismatch", "unknown_choice", "sheet_summary",
                "sheet_empty", "sheet_no_header", "invalid_json", "not_a_record", "total_row", "ended_before_started",
                "overlapping_state", "unreadable_number", "unreadable_fraction")
# Of these, the ones an import gives as warnings (Prepared.warnings), never as the reason a row is rejected: the rows
# are stored (or, for a total, never were data), but a person should look.
WARNING_CODES = ("total_mismatch", "sheet_summary", "sheet_empty", "sheet_no_header")
# The columns of a rejects frame a person reads, in this order; each is the message rej.col.<column>.
READABLE_COLUMNS = ("file_name", "sheet", "row_number", "column_name", "value", "reason", "raw")


def encode(code: str, **params: Any) -> str:
    """A reason as one text cell (what the parsers put beside a bad cell): {"code": ..., params...} as JSON."""
    if code not in REASON_CODES:
        raise ValueError(f"unknown reject reason {code!r}")
    # A cell's text is cut to present.ECHO_CHARS: the reason is shown, printed and stored for display.
    params = {k: clip(v) if isinstance(v, str) else v for k, v in params.items()}
    return json.dumps({"code": code, **params}, ensure_ascii=False, default=str)


def decode(cell: str) -> tuple[str, dict[str, Any]]:
    """(code, params) of an encoded reason."""
    params = json.loads(cell)
    return params.pop("code"), params


def reason_text(code: str, params: str | dict[str, Any] | None, lang: str) -> str:
    """A reason in lang: the message reject.<code> filled with its parameters, and the words some of them stand for
    (a column's name, a duration unit, a value kind, budget or actual) in that language."""
    # Cut here too: a reason stored before values were cut may hold a megabyte.
    p = {k: clip(v) if isinstance(v, str) else v
         for k, v in (json.loads(params) if isinstance(params, str) else params or {}).items()}
    if "column" in p:
        p["column_label"] = value_label("field", p["column"], lang)
    if "unit" in p:
        p["unit_label"] = value_label("duration_unit", p["unit"], lang)
    if "kind" in p:
        p["kind_label"] = t(f"kind.{p['kind']}", lang)
    if "measure" in p:
        p["measure_label"] = value_label("measure", p["measure"], lang)
    if "choices" in p:  # each in the reader's words, with what the file may say: 成本（cost）
        named = [value_label(p["column"], c, lang) if "column" in p else c for c in p["choices"]]
        p["choices"] = join_list((c if n == c else paren(n, c, lang) for n, c in zip(named, p["choices"])), lang)
    if "words" in p:  # each choice in words, with the spellings read as it: 外撥（outbound、out、OB、外撥、撥出）
        p["choices"] = join_list((paren(value_label(p["column"], c, lang), join_list(ws, lang), lang)
                                  for c, ws in p["words"].items()), lang)
    for amount in ("total_amount", "lines_amount"):
        if amount in p:
            p[amount] = money(p[amount])
    for end in ("lo", "hi"):
        if end in p:
            p[f"{end}_label"] = _limit_label(p[end], p.get("kind"), lang)
    if "hi" in p:
        p["limit"] = p["hi_label"]
    return t(f"reject.{code}", lang, **p)


def _limit_label(value: float, kind: str | None, lang: str) -> str:
    """A range's end with its unit: 168 小時 for a duration, 8,784 小時 for hours, NT$10,000,000,000,000 for money,
    2,147,483,647 for a whole number."""
    if kind == "duration":
        return duration(value, lang)
    if kind == "hours":
        return f"{number(value)} {unit_name('hours', lang)}"
    if kind == "amount":
        return money(value)
    return number(value) if float(value).is_integer() else f"{value:,g}"


def raw_json(cells: dict[Any, Any]) -> str:
    """A rejected row's read cells as the JSON kept beside it (raw), each cut to present.ECHO_CHARS."""
    return json.dumps({str(k): None if v is None else clip(v) for k, v in cells.items()}, ensure_ascii=False,
                      default=str)


def stored_reason_text(code: Any, params: Any, text: str, lang: str) -> str:
    """A stored reason in lang; one stored before codes were kept (no code) stays as it was written."""
    return text if code is None or pd.isna(code) else reason_text(code, params, lang)


def split_reasons(rejects: pd.DataFrame) -> pd.DataFrame:
    """Encoded reasons as reason_code and reason_params (JSON), with reason in English beside them (the CLI's
    words, and the database's for anyone reading it with SQL)."""
    decoded = [decode(r) for r in rejects["reason"]]
    out = rejects.copy()
    out["reason_code"] = [c for c, _ in decoded]
    out["reason_params"] = [json.dumps(p, ensure_ascii=False, default=str) for _, p in decoded]
    out["reason"] = [reason_text(c, p, "en") for c, p in decoded]
    return out


def rejects_to_fix(rejects: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Rejected rows as a file to correct and import again: one row per rejected row of the file, where it was and why
    (its reasons together), then the row's cells under the file's own headers as read (blank where empty). Those
    columns are the ones the import reads; a customer id is kept as its pseudonym (the import's rule), and a cell is
    cut to present.ECHO_CHARS as the database keeps it."""
    readable = readable_rejects(rejects, lang, ("file_name", "sheet", "row_number", "column_name", "reason"))
    if rejects.empty:
        return readable
    where = list(readable.columns[: len(readable.columns) - 2])  # file, (sheet,) row
    column, reason = readable.columns[-2], readable.columns[-1]
    readable["__raw"] = list(rejects["raw"]) if "raw" in rejects else None
    rows = []
    for _, group in readable.groupby(where, sort=False, dropna=False):
        cells = json.loads(group["__raw"].iloc[0]) if isinstance(group["__raw"].iloc[0], str) else {}
        rows.append({**group.iloc[0][where].to_dict(),
                     column: t("punct.list", lang).join(dict.fromkeys(c for c in group[column] if c)),
                     reason: t("punct.semicolon", lang).join(dict.fromkeys(group[reason])),
                     **{str(k): "" if v is None else v for k, v in cells.items()}})
    return pd.DataFrame(rows)


def readable_rejects(rejects: pd.DataFrame, lang: str, columns: tuple[str, ...] = READABLE_COLUMNS) -> pd.DataFrame:
    """Rejected rows as a person reads them in lang: the columns asked for (those present), headed in lang, the
    canonical column by its name and the reason in words. A reason stored before codes were kept stays as written."""
    # sheet: only when several sheets were read (a row is then named by its sheet too)
    shown = [c for c in columns if c in rejects and not (c == "sheet" and rejects[c].isna().all())]
    out = rejects[shown].copy()
    if "column_name" in out:
        out["column_name"] = [value_label("field", str(c), lang) if isinstance(c, str) else "" for c in out["column_name"]]
    if "reason" in out:
        codes = rejects["reason_code"] if "reason_code" in rejects else pd.Series(None, index=rejects.index)
        params = rejects["reason_params"] if "reason_params" in rejects else pd.Series(None, index=rejects.index)
        out["reason"] = [stored_reason_text(c, p, text, lang) for c, p, text in zip(codes, params, rejects["reason"])]
    return out.rename(columns={c: t(f"rej.col.{c}", lang) for c in shown})
