"""The bad-input corpus (tests/corpus/cases.yaml): every file gets the outcome written beside it, and no file ends in
a traceback. Then the parsers on random text: whatever a cell holds, a parser gives a value or a reason, never an
exception."""
from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import yaml

from kpi import imports
from helpers import rows, snapshot, workbook

CORPUS = Path(__file__).resolve().parent / "corpus"
CASES = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))


def case_id(case: dict) -> str:
    return case["file"] + ("+mapping" if "mapping" in case else "") + (f"+{case['preset']}" if "preset" in case else "")


def source(case: dict, tmp_path: Path) -> Path:
    """The case's file: a CSV of the corpus, or the xlsx its `sheet` (or `sheets`, with their `merged` ranges)
    describes."""
    if "sheets" in case:
        return workbook(tmp_path / case["file"], case["sheets"], case.get("merged"))
    if "sheet" not in case:
        return CORPUS / case["file"]
    wb = openpyxl.Workbook()
    for r in case["sheet"]:
        wb.active.append(r)
    path = tmp_path / case["file"]
    wb.save(path)
    return path


def where(r) -> int | str:
    """A row as a case keys it: its number, or sheet!number when several sheets were read (a whole sheet: its name)."""
    if not isinstance(r.sheet, str):
        return r.row_number
    return r.sheet if pd.isna(r.row_number) else f"{r.sheet}!{r.row_number}"


@pytest.mark.parametrize("rows_per_batch", [None, 1], ids=["at once", "row by row"])
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_each_bad_file_gets_its_outcome(case, db, tmp_path, write, monkeypatch, rows_per_batch):
    # Row by row: every row is a batch of its own, and each outcome must be the one the file gets read at once (what
    # is decided over the file, such as its decimal mark, a total's lines or its day order, spans the batches).
    if rows_per_batch:
        from kpi.imports import _read
        monkeypatch.setattr(_read, "BATCH_ROWS", (rows_per_batch, rows_per_batch))
    imports.import_file("contacts", write("seed.csv", "contact_id,arrived_at\nseed,2026-11-16 09:00\n"), db=db)
    before = snapshot(db)
    path = source(case, tmp_path)

    def run() -> imports.ImportResult:
        # As `python -m kpi ingest`: the case's mapping, else its preset (--preset), else the one the file matches.
        if "mapping" in case:
            mapping = imports.parse_mapping({"dataset": case["dataset"], **case["mapping"]})
        else:
            mapping, _ = imports.choose_mapping(case["dataset"], path, preset=case.get("preset"))
        return imports.import_file(case["dataset"], path, mapping, db=db)

    if "fatal" in case:
        with pytest.raises(imports.FatalImportError) as err:
            run()
        assert str(err.value).startswith(path.name) and case["fatal"] in str(err.value)
        assert "\n" not in str(err.value)
        assert snapshot(db) == before
        return
    result = run()
    got = {}
    for r in result.rejects.itertuples():
        got.setdefault(where(r), []).append(r.reason_code)
    assert {row: sorted(codes) for row, codes in got.items()} == {row: sorted(c) for row, c in case["rejects"].items()}
    warned = {}
    for w in result.warnings.itertuples():
        warned.setdefault(where(w), []).append(w.reason_code)
    assert {k: sorted(codes) for k, codes in warned.items()} == {k: sorted(c) for k, c in case.get("warnings", {}).items()}
    table = case["dataset"]
    stored = rows(db, f"SELECT count(*) FROM {table} WHERE import_id = {result.import_id}")[0][0]
    assert stored == case["stored"]
    if "check" in case:  # over this import's rows only (the database holds a seed contact as well)
        sql = case["check"]["sql"].replace(f"FROM {table}", f"FROM {table} WHERE import_id = {result.import_id}", 1)
        assert [list(r) for r in rows(db, sql)] == case["check"]["rows"]
    # every reason reads in both languages; a row's reason names no column but shows no "None" either
    for lang in ("zh-TW", "en"):
        for frame in (result.rejects, result.warnings):
            shown = imports.readable_rejects(frame, lang, ("column_name", "reason"))
            assert not shown.astype(str).isin(["None", "nan", "<NA>"]).any().any()


def test_every_new_reason_code_is_in_the_corpus():
    # The codes issue 13 added each have a file that must get them (total_mismatch as a warning since issue 14).
    seen = {code for case in CASES for key in ("rejects", "warnings") for codes in case.get(key, {}).values()
            for code in codes}
    assert {"too_long", "amount_out_of_range", "out_of_range", "wrong_field_count", "spreadsheet_error",
            "formula_without_value", "total_mismatch"} <= seen
    assert "total_row" in seen  # issue 14: a report's totals row


# ------------------------------------------------------------------------------------------- parsers on random text

# What cells are made of: digits (also full-width), separators, signs, the letters of inf/nan/e-notation and months,
# currency marks, date words, and a few characters nothing expects.
PIECES = (list("0123456789") * 4 + list("０１２３") + list(":,.-/ +()$") * 2
          + ["e", "E", "inf", "Infinity", "nan", "NaN", "NT$", "元", "年", "月", "日", "民國", "上午", "下午", "AM",
             "PM", "T", "Z", "Nov", "是", "否", "Y", "N", "TRUE", "#N/A", "\t", "\u3000", "é", "𠀋", "\x00", "'", '"',
             "9" * 30, "1e400", "-0", "99", "115", "12/31/99", "2026-11-16 14:30:05"])
PARSERS = {
    "duration": lambda s, d: imports.parse_duration(s, "s", decimal=d),
    "duration_ms": lambda s, d: imports.parse_duration(s, "ms", decimal=d),
    "hours": lambda s, d: imports.parse_hours(s, decimal=d),
    "amount": lambda s, d: imports.parse_amount(s, decimal=d),
    "int": lambda s, d: imports.parse_int(s, 1, 5, decimal=d),
    "bool": lambda s, d: imports.parse_bool(s),
    "timestamp": lambda s, d: imports.parse_timestamp(s),
    "timestamp_dmy": lambda s, d: imports.parse_timestamp(s, "dmy"),
}


def random_cells(rng: random.Random, n: int) -> list:
    cells = []
    for _ in range(n):
        k = rng.choice((0, 1, 2, 3, 5, 8, 13))
        cells.append(None if k == 0 and rng.random() < 0.3 else "".join(rng.choice(PIECES) for _ in range(k)))
    return cells


@pytest.mark.parametrize("kind", PARSERS)
def test_random_text_never_raises_and_each_cell_is_a_value_or_a_reason(kind):
    rng = random.Random(13)  # seeded: a failure is the same on the next run
    parse = PARSERS[kind]
    for batch in range(40):  # 40 columns of 75 cells: 3,000 strings per parser
        cells = random_cells(rng, 75)
        raw = pd.Series(cells, dtype=object)
        p = parse(raw, "," if batch % 3 == 0 else ".")
        blank = imports.clean_text(raw).isna().to_numpy()
        has_value = p.values.notna().to_numpy()
        has_reason = p.errors.notna().to_numpy()
        # an empty cell is neither; any other cell exactly one of the two
        assert not (has_value & has_reason).any() and not (blank & (has_value | has_reason)).any(), cells
        assert (has_value | has_reason | blank).all(), [c for c, ok in zip(cells, has_value | has_reason | blank) if not ok]
        for reason in p.errors.dropna():
            code = json.loads(reason)["code"]
            assert code in imports.REASON_CODES
            imports.reason_text(code, reason, "zh-TW")  # every reason can be written out
        if kind not in ("bool", "timestamp", "timestamp_dmy"):
            numbers = p.values.dropna().astype("float64")
            assert np.isfinite(numbers).all(), cells  # never inf or NaN as a value
