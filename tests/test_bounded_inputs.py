"""Bounded inputs (issue 13 item 3): mapping files checked key by key, YAML aliases bounded, compressed files and
rows within their caps, echoed values cut to 200 characters. Each case is a small file made here, with the outcome
it must get."""
from __future__ import annotations

import gzip
import json

import openpyxl
import pandas as pd
import pytest

from kpi import cli, imports, present
from helpers import rows
from helpers import workbook as _workbook

OK_CSV = "contact_id,arrived_at,Time\nc1,2026-11-16 09:00,2026-11-16 09:00:20\n"


def _bomb(key: str) -> str:
    """A "billion laughs" YAML: 10 levels of 10 aliases each, 10^10 values once expanded, under `key`."""
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 10)]
    if key == "sheet":
        return "dataset: contacts\nanchors:\n" + "".join(f"  {line}\n" for line in lines) + "options:\n  sheet: *l9\n"
    return f"dataset: contacts\noptions:\n  {key}:\n    channel:\n" + "".join(f"      {line}\n" for line in lines)


@pytest.mark.parametrize("mapping, message", [
    ("dataset: contacts\noptions: {sheet: [0, 1]}\n",
     "options.sheet: expected a sheet name, or a sheet number counted from 0, got a list"),
    ("dataset: contacts\noptions: {sheet: -1}\n", "options.sheet: expected a sheet name, or a sheet number"),
    ("dataset: contacts\noptions: {duration_unit: [s]}\n",
     "options.duration_unit: expected one of s, ms, min, hms, or per column {default: s, talk_seconds: ms}, got a list"),
    ("dataset: contacts\noptions: {decimal: ';'}\n", "options.decimal: expected one of 'auto', '.', ',', got ';'"),
    ("dataset: contacts\noptions: {encoding: 950}\n",
     "options.encoding: expected an encoding name such as utf-8 or cp950 (Big5), got a number (950)"),
    ("dataset: contacts\noptions: {encoding: big-five}\n", "options.encoding: unknown encoding; expected an encoding"),
    ("dataset: contacts\noptions: {date_order: {a: 1}}\n", "options.date_order: expected one of auto, dmy, mdy, ymd, got a mapping"),
    ("dataset: contacts\noptions: {max_mib: 0}\n", "options.max_mib: expected a whole number, 1 or more, got a number (0)"),
    ("dataset: contacts\noptions: {max_fields: true}\n", "options.max_fields: expected a whole number, 1 or more, got true/false"),
    ("dataset: contacts\noptions: {defaults: {channel: [phone]}}\n", "options.defaults: expected canonical column: constant"),
    ("dataset: contacts\noptions: {values: {channel: {電話: [phone]}}}\n", "options.values: expected canonical column: {source"),
    ("dataset: contacts\noptions: {values: {colour: {a: b}}}\n",
     "options.values.colour: not a column of contacts; expected one of: abandoned_at, acw_seconds, agent_id"),
    ("dataset: contacts\noptions: {defaults: {colour: red}}\n", "options.defaults.colour: not a column of contacts"),
    ("dataset: contacts\noptions: {delimiter: ';'}\n",
     "options.delimiter: unknown option (expected one of: amount_unit, date_order, decimal, dedupe, defaults, derive, "
     "drivers_sheet, "
     "duration_unit, encoding, max_fields"),
    ("dataset: contacts\nsheet: 0\n", "sheet: unknown key (expected dataset, columns, options)"),
    ("dataset: [contacts]\n",
     "dataset: expected a dataset name (contacts, surveys, complaints, budget, budget_drivers, agent_states, schedule), got a list"),
    ("dataset: calls\n",
     "dataset: unknown dataset 'calls' (expected one of contacts, surveys, complaints, budget, budget_drivers, agent_states, schedule)"),
    ("- dataset: contacts\n", "top level: expected keys dataset, columns, options, got a list"),
    ("dataset: contacts\ncolumns: {arrived_at: Time, answered_at: time}\n",
     "columns.arrived_at and columns.answered_at: both read the header 'time'; a header feeds one column"),
    ("dataset: contacts\ncolumns: {contact_id: a}\ncolumns: {contact_id: b}\n", "(root): duplicate key 'columns' (line 3)"),
    ("dataset: contacts\noptions: {sheet: 'a\n", "not valid YAML"),
    (_bomb("values"), "options.values.channel.l4[7][8][8][8][5]: too many values once its aliases (*name) are expanded"),
    (_bomb("defaults"), "options.defaults.channel.l4[7][8][8][8][5]: too many values"),
    (_bomb("sheet"), "too many values once its aliases (*name) are expanded"),
])
def test_a_bad_mapping_file_is_refused_with_a_message_naming_the_file_and_the_key(db, write, mapping, message):
    m = write("vendor.yaml", mapping)
    with pytest.raises(imports.FatalImportError) as err:
        imports.import_file("contacts", write("c.csv", OK_CSV), m, db=db)
    assert str(err.value).startswith(f"{m}: ")
    assert message in str(err.value)
    assert not db.exists()  # refused before the database was opened


def test_unquoted_yes_no_and_numbers_in_a_mapping_are_still_read(db, write):
    # YAML reads yes/no as true/false and 2026 as a number: the checks accept them as the text they were before.
    m = write("vendor.yaml", "dataset: contacts\ncolumns: {contact_id: 2026, arrived_at: arrived_at, answered: 接通}\n"
              "options:\n  defaults: {queue: 7}\n  values:\n    answered: {是: yes, 否: no}\n")
    f = write("c.csv", "2026,arrived_at,接通\nc1,2026-11-16 09:00,是\nc2,2026-11-16 09:01,否\n")
    imports.import_file("contacts", f, m, db=db)
    assert rows(db, "SELECT contact_id, answered, queue FROM contacts ORDER BY 1") == [("c1", True, "7"), ("c2", False, "7")]


def test_a_big5_mapping_file_is_refused_naming_the_file(db, write):
    m = write("vendor.yaml", "dataset: contacts\ncolumns: {contact_id: 來電編號}\n", "cp950")
    with pytest.raises(imports.FatalImportError) as err:
        imports.import_file("contacts", write("c.csv", "來電編號,arrived_at\nc1,2026-11-16 09:00\n"), m, db=db)
    # 來 is A8 D3 in Big5, after 18 + 22 ASCII bytes: A8 can't start a UTF-8 character, and it is byte 41.
    assert str(err.value) == f"{m}: the mapping file is not UTF-8 text (at byte 41); save it as UTF-8"


def test_aliases_within_the_limit_still_work(db, write):
    m = write("vendor.yaml", "dataset: contacts\ncolumns: {contact_id: contact_id, arrived_at: arrived_at, channel: Media}\n"
              "options:\n  values:\n    channel: &media {Voice: phone, Web: chat}\n    queue: *media\n")
    mapping = imports.load_mapping(m)
    assert mapping.options.values == {"channel": {"Voice": "phone", "Web": "chat"}, "queue": {"Voice": "phone", "Web": "chat"}}


def test_a_mapping_made_on_the_page_with_one_header_for_two_columns_is_refused(db, write):
    # The page builds the Mapping itself (no YAML): prepare refuses it, naming the data file, the header and both.
    mapping = imports.Mapping(dataset="contacts", columns={"contact_id": ["contact_id"], "arrived_at": ["Time"],
                                                           "answered_at": ["Time"]})
    with pytest.raises(imports.FatalImportError) as err:
        imports.prepare("contacts", write("c.csv", OK_CSV), mapping)
    assert str(err.value) == "c.csv: the mapping gives the header 'Time' to both arrived_at and answered_at; a header feeds one column"


def test_a_header_the_mapping_gives_to_one_column_does_not_also_feed_its_namesake(db, write):
    # talk_seconds reads the header "wait_seconds"; without the rule wait_seconds would read it too.
    f = write("c.csv", "contact_id,arrived_at,wait_seconds\nc1,2026-11-16 09:00,75\n")
    mapping = imports.Mapping(dataset="contacts", columns={"talk_seconds": ["wait_seconds"]})
    prep = imports.prepare("contacts", f, mapping)
    assert prep.stage["talk_seconds"].tolist() == [75.0] and "wait_seconds" not in prep.stage


def test_a_yaml_file_with_an_alias_bomb_fails_fast_with_its_path():
    with pytest.raises(present.YamlError) as err:
        present.load_yaml(_bomb("values"))
    assert err.value.path == "options.values.channel.l4[7][8][8][8][5]"


def test_a_saved_mapping_is_loaded_through_the_same_checks(db, write):
    from kpi import store
    with store.open_db(db) as con:
        con.execute("INSERT INTO saved_mappings VALUES ('bomb', 'contacts', ?, now(), 'x')", [_bomb("values")])
        with pytest.raises(imports.FatalImportError, match="saved mapping 'bomb': options.values.channel.l4"):
            imports.get_saved_mapping(con, "bomb")


# ---- files within their caps: size, line length, columns; damaged compressed files; encodings

HEADER = "contact_id,arrived_at\n"


def _gzip(path, chunks):
    """A .gz of the chunks (bytes), written as a stream: a bomb is made here without holding its text."""
    with gzip.open(path, "wb", compresslevel=9) as f:
        for c in chunks:
            f.write(c)
    return path


def test_a_gzip_bomb_of_zeros_stops_at_the_line_limit_naming_the_file_and_the_limit(db, tmp_path):
    # 64 MiB of NUL bytes (64 KiB compressed) and no line break: line 1 is over a 1 MiB cap after the first block.
    f = _gzip(tmp_path / "bomb.csv.gz", [b"\0" * (1 << 20)] * 64)
    m = tmp_path / "m.yaml"
    m.write_text("dataset: contacts\noptions: {max_line_kib: 1024}\n")
    with pytest.raises(imports.FatalImportError) as err:
        imports.import_file("contacts", f, m, db=db)
    assert str(err.value) == ("bomb.csv.gz: line 1 is longer than the limit of 1,024 KiB (options.max_line_kib); "
                              "is it a CSV file?")
    assert not db.exists()


def test_a_gzip_bomb_of_short_lines_stops_at_the_size_limit(db, tmp_path):
    # 4 MiB of 1-byte lines under a 2 MiB cap: stopped once the 3rd MiB is read.
    f = _gzip(tmp_path / "lines.csv.gz", [HEADER.encode()] + [b"x\n" * (1 << 19)] * 4)
    mapping = imports.Mapping(options=imports.Options(max_mib=2))
    with pytest.raises(imports.FatalImportError) as err:
        imports.prepare("contacts", f, mapping)
    assert str(err.value) == ("lines.csv.gz: more than 2 MiB of text once decompressed, the limit (options.max_mib); "
                              "split the file or raise the limit")


def test_the_size_limit_holds_for_a_plain_csv_too(tmp_path):
    f = tmp_path / "big.csv"
    f.write_bytes(HEADER.encode() + b"c,2026-11-16 09:00\n" * 120_000)  # 2.2 MiB
    with pytest.raises(imports.FatalImportError, match=r"^big.csv: more than 2 MiB of text, the limit"):
        imports.prepare("contacts", f, imports.Mapping(options=imports.Options(max_mib=2)))


def test_a_long_line_names_its_line_number(tmp_path):
    f = tmp_path / "long.csv"
    f.write_bytes(HEADER.encode() + b"c1,2026-11-16 09:00\r\n" + b"c2," + b"9" * 3000 + b"\r\nc3,2026-11-16\r\n")
    # Line 3 holds 3,003 bytes, over a 2 KiB cap; CR LF line ends count as one break.
    with pytest.raises(imports.FatalImportError, match=r"^long.csv: line 3 is longer than the limit of 2 KiB"):
        imports.prepare("contacts", f, imports.Mapping(options=imports.Options(max_line_kib=2)))


def test_a_header_with_more_columns_than_the_limit_is_refused_echoing_200_characters(tmp_path):
    f = tmp_path / "wide.csv"
    header = ",".join(f"column number {i}" for i in range(30))
    f.write_text(header + "\n" + "x," * 29 + "x\n")
    with pytest.raises(imports.FatalImportError) as err:
        imports.prepare("contacts", f, imports.Mapping(options=imports.Options(max_fields=20)))
    message = str(err.value)
    assert message.startswith("wide.csv: the header has 30 columns, more than the limit of 20 (options.max_fields): "
                              "column number 0,column number 1,")
    # The header line (30 names of 15-16 characters and 29 commas: 499) is cut to 192 characters and the mark of the
    # 307 left out: 200 in all.
    assert message.endswith(f": {header[:192]}… (+307)")


@pytest.mark.parametrize("damage, message", [
    (lambda data: data[:len(data) // 2], "Compressed file ended before the end-of-stream marker was reached"),
    (lambda data: data[:10] + b"\xff" * 8 + data[18:], "invalid"),  # the deflate stream's first bytes: zlib.error
    (lambda data: b"PK" + data[2:], "Not a gzipped file"),
])
def test_a_damaged_gzip_is_one_message_not_a_traceback(db, tmp_path, damage, message):
    data = gzip.compress((HEADER + "c1,2026-11-16 09:00\n" * 2000).encode())
    f = tmp_path / "calls.csv.gz"
    f.write_bytes(damage(data))
    with pytest.raises(imports.FatalImportError) as err:
        imports.import_file("contacts", f, db=db)
    assert str(err.value).startswith("calls.csv.gz: the compressed file is damaged or cut short (")
    assert message in str(err.value) and str(err.value).endswith("compress or export it again")


def test_a_file_not_in_the_encoding_the_mapping_names_is_refused_with_the_byte(write):
    f = write("c.csv", "contact_id,arrived_at\n來電,2026-11-16 09:00\n", "cp950")
    with pytest.raises(imports.FatalImportError) as err:
        imports.prepare("contacts", f, imports.Mapping(options=imports.Options(encoding="utf-8")))
    # 來 is A8 D3 in Big5; A8 is the 23rd byte (22 of the header line first).
    assert str(err.value) == ("c.csv: cannot decode as utf-8 (invalid start byte at byte 23); "
                              "set options.encoding to the file's encoding")


def test_the_file_hash_is_of_the_bytes_on_disk(write, tmp_path):
    import hashlib
    f = _gzip(tmp_path / "c.csv.gz", [(HEADER + "c1,2026-11-16 09:00\n").encode()])
    assert imports.prepare("contacts", f).file_sha256 == hashlib.sha256(f.read_bytes()).hexdigest()


def test_a_sheet_number_beyond_the_workbook_names_the_file_and_its_sheets(db, tmp_path):
    book = _workbook(tmp_path / "book.xlsx", {"a": [["x"]], "b": [["x"]], "c": [["x"]]})
    m = tmp_path / "m.yaml"
    m.write_text("dataset: contacts\noptions: {sheet: 7}\n")
    with pytest.raises(imports.FatalImportError) as err:
        imports.import_file("contacts", book, m, db=db)
    assert str(err.value) == "book.xlsx: no sheet 7 (sheets are counted from 0); the workbook has 3: a, b, c"


def test_a_workbook_that_unzips_beyond_the_limit_is_refused_before_its_cells_are_read(tmp_path):
    # 400 different texts of 3,000 characters: 1.1 MiB of shared strings, compressed to a few KiB.
    book = _workbook(tmp_path / "big.xlsx", {"calls": [["contact_id", "arrived_at"]] + [[f"{i:04d}" * 750, "2026-11-16"]
                                                                                        for i in range(400)]})
    with pytest.raises(imports.FatalImportError, match=r"^big.xlsx: the workbook unzips to \d MiB, more than the limit "
                                                       r"of 1 MiB \(options.max_mib\)$"):
        imports.prepare("contacts", book, imports.Mapping(options=imports.Options(max_mib=1)))


# ---- echoed values cut to 200 characters

def test_a_rejected_megabyte_value_is_cut_to_200_characters_where_it_is_shown_and_stored(db, write, capsys):
    big = "9" * 1_000_000 + "x"
    f = write("c.csv", f"contact_id,arrived_at,wait_seconds\nc1,2026-11-16 09:00,{big}\n")
    assert cli.main(["ingest", "contacts", str(f), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    # 1,000,001 characters: the mark "… (+1,000,001)" is at most 14 long, so 186 are kept and 999,815 left out.
    shown = "9" * 186 + "… (+999,815)"
    assert f"rejected row 2, wait_seconds: could not read '{shown}'" in out and len(out) < 1000
    (value, reason, params, raw), = rows(db, "SELECT value, reason, reason_params, raw FROM rejected_rows")
    assert value == shown and shown in reason and len(reason) < 400
    assert json.loads(params)["value"] == shown and json.loads(raw)["wait_seconds"] == shown
    assert cli.main(["rejects", "1", "--db", str(db)]) == 0
    assert len(capsys.readouterr().out) < 2000


def test_rejects_stored_before_values_were_cut_are_cut_when_read(db, write, capsys):
    imports.import_file("contacts", write("ok.csv", HEADER + "c1,2026-11-16 09:00\n"), db=db)
    big = "7" * 300_000
    from kpi import store
    with store.open_db(db) as con:  # as an import made before this change left it
        con.execute("INSERT INTO rejected_rows VALUES (1, 'old.csv', 2, 'wait_seconds', ?, ?, ?, "
                    "'unreadable_duration', ?)", [big, f"could not read {big!r}", json.dumps({"wait_seconds": big}),
                                                  json.dumps({"value": big, "unit": "s"})])
    assert cli.main(["rejects", "1", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    shown = "7" * 188 + "… (+299,812)"  # 300,000 = 188 kept + 299,812 left out; 188 + 12 = 200
    assert len(out) < 1000 and out.count(shown) == 3  # value, reason and raw
    with store.open_db(db, read_only=True) as con:
        frame = imports.rejected_rows(con, 1)
    assert imports.readable_rejects(frame, "zh-TW")["原因"][0] == f"無法讀取「{shown}」（應為數字，單位秒，或 時:分:秒）"


def test_unmapped_columns_are_listed_cut_to_200_characters(db, write, capsys):
    f = write("c.csv", "contact_id,arrived_at," + ",".join(f"extra column {i}" for i in range(100)) + "\n"
              "c1,2026-11-16 09:00" + ",x" * 100 + "\n")
    assert cli.main(["ingest", "contacts", str(f), "--db", str(db)]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("columns not imported"))
    assert line.startswith("columns not imported (not mapped): extra column 0, extra column 1,")
    # 100 names of 14-15 characters and 99 ", ": 1,688 characters, 190 kept and 1,498 left out.
    assert line.endswith("… (+1,498)")


def test_a_header_line_echoed_in_a_fatal_message_is_cut(write):
    f = write("c.csv", "x" * 50_000 + "\n1\n")
    with pytest.raises(imports.FatalImportError) as err:
        imports.prepare("contacts", f)
    assert str(err.value) == ("c.csv: required column 'contact_id' is missing for contacts; the file's columns are: "
                              f"{'x' * 189}… (+49,811) (map it with --mapping)")


def test_clip_keeps_short_text_and_says_how_much_it_cut():
    assert present.clip("abc") == "abc" and present.clip("a" * 200) == "a" * 200
    # 201 characters: the mark is at most "… (+201)", 8 long; 192 are kept and 9 left out.
    assert present.clip("a" * 201) == "a" * 192 + "… (+9)"
    assert present.clip(1234567890123, limit=10) == "123… (+10)"
    assert present.clip(present.clip("b" * 5000)) == present.clip("b" * 5000)  # cutting twice changes nothing


# ---- a file read in batches gives what it would give read at once

@pytest.fixture
def two_row_batches(monkeypatch):
    from kpi.imports import _read
    monkeypatch.setattr(_read, "BATCH_ROWS", (2, 2))


BATCHED = ("contact_id,arrived_at,answered_at,talk_seconds,customer_id\n"
           "a,03/11/2026 09:00,,10,CU1\n"         # row 2, batch 1: 03/11 proves nothing; no answered_at here
           "b,04/11/2026 09:00,,20,CU2\n"         # row 3
           "c,25/11/2026 09:00,25/11/2026 09:00:30,30,CU3\n"  # row 4, batch 2: 25 proves day-first
           "d,26/11/2026 09:00,,x,CU4\n"          # row 5: unreadable talk time
           "\n"                                   # row 6: blank
           "a,27/11/2026 09:00,,70,CU1\n")        # row 7, batch 3: a again (first on row 2)


def test_a_file_read_in_batches_is_prepared_as_if_read_at_once(write, two_row_batches, monkeypatch):
    f = write("c.csv", BATCHED)
    batched = imports.prepare("contacts", f)
    from kpi.imports import _read
    monkeypatch.setattr(_read, "BATCH_ROWS", (1_000, 100_000))
    whole = imports.prepare("contacts", f)
    pd.testing.assert_frame_equal(batched.stage, whole.stage)
    pd.testing.assert_frame_equal(batched.rejects, whole.rejects)
    assert (batched.rows_read, batched.supplied) == (whole.rows_read, whole.supplied)
    # Batch 1 was read before row 4 proved day-first, and read again: 03/11 is 3 November, in every batch.
    assert batched.stage["arrived_at"].dt.strftime("%m-%d").tolist() == ["11-03", "11-04", "11-25"]
    # A wait derived in batch 2 only: the column is stored, empty for the other rows.
    assert batched.stage["wait_seconds"].tolist()[2] == 30.0 and batched.stage["wait_seconds"].isna().sum() == 2
    assert batched.rows_read == 5
    # d (row 5) unreadable; a (row 7) repeats row 2's key: its cells are read again from the file for raw.
    assert batched.rejects[["row_number", "column_name", "reason_code"]].values.tolist() == [
        [5, "talk_seconds", "unreadable_duration"], [7, "contact_id", "duplicate_key"]]
    assert json.loads(batched.rejects["raw"][1])["arrived_at"] == "27/11/2026 09:00"
    assert json.loads(batched.rejects["reason_params"][1])["first_row"] == 2


def test_progress_is_reported_a_few_dozen_times_however_many_batches(db, write, two_row_batches):
    body = "".join(f"r{i},2026-11-16 09:00\n" for i in range(120))  # 60 batches
    seen = []
    imports.import_file("contacts", write("p.csv", HEADER + body), db=db, progress=lambda f, s: seen.append(f))
    assert len(seen) <= 40 and seen == sorted(set(seen)) and seen[-1] == 1.0


def test_a_batched_import_writes_the_same_rows_and_rejects(db, write, two_row_batches):
    r = imports.import_file("contacts", write("c.csv", BATCHED), db=db)
    assert (r.rows_read, r.inserted, r.rejected) == (5, 3, 2)
    assert rows(db, "SELECT contact_id, arrived_at::DATE::VARCHAR, wait_seconds FROM contacts ORDER BY 1") == [
        ("a", "2026-11-03", None), ("b", "2026-11-04", None), ("c", "2026-11-25", 30.0)]
    assert rows(db, "SELECT row_number, reason_code FROM rejected_rows ORDER BY 1") == [
        (5, "unreadable_duration"), (7, "duplicate_key")]


def test_the_decimal_mark_is_decided_over_every_batch(write, two_row_batches):
    # A semicolon file: 1.000 (row 2) proves nothing and is read with a point (1.0) until row 4, a batch later, shows
    # a decimal comma (300,5); row 2's batch is then read again with the comma: 1.000 is a thousand.
    comma = write("comma.csv", "period;cost_center;line;budget\n2026-01;OPS;wages;1.000\n2026-02;OPS;wages;2\n"
                               "2026-03;OPS;wages;300,5\n")
    p = imports.prepare("budget", comma)
    assert p.stage["budget"].tolist() == [1000.0, 2.0, 300.5] and p.options["decimal"] == ","
    # Here row 2 shows a comma, and row 4 a point (1.5): the file's mark is the point, so 300,5 is unreadable (not
    # 3005), in the batch read before the point was seen too.
    point = write("point.csv", "period;cost_center;line;budget\n2026-01;OPS;wages;300,5\n2026-02;OPS;wages;2\n"
                               "2026-03;OPS;wages;1.5\n")
    p = imports.prepare("budget", point)
    assert p.stage["budget"].tolist() == [2.0, 1.5] and p.options["decimal"] == "."
    assert p.rejects[["row_number", "reason_code"]].values.tolist() == [[2, "unreadable_amount"]]


def test_rows_with_the_wrong_number_of_fields_are_found_in_any_batch(write, two_row_batches, monkeypatch):
    f = write("c.csv", "contact_id,arrived_at,agent_name\n"
                       'a,2026-11-16 09:00,"Wang\nDa"\n'      # row 2 (two lines: a quoted line break), batch 1
                       "b,2026-11-16 09:01,x,extra\n"         # row 3: one field too many
                       "c,2026-11-16 09:02\n"                 # row 4, batch 2: one too few
                       'd,2026-11-16 09:03,"Lin, Mei"\n')     # row 5: a quoted comma is no field of its own
    batched = imports.prepare("contacts", f)
    assert batched.rejects[["row_number", "reason_code"]].values.tolist() == [
        [3, "wrong_field_count"], [4, "wrong_field_count"]]
    assert [json.loads(r) for r in batched.rejects["reason_params"]] == [
        {"fields": 4, "expected": 3}, {"fields": 2, "expected": 3}]
    assert batched.stage[["contact_id", "agent_name"]].values.tolist() == [["a", "Wang\nDa"], ["d", "Lin, Mei"]]
    from kpi.imports import _read
    monkeypatch.setattr(_read, "BATCH_ROWS", (1_000, 100_000))
    whole = imports.prepare("contacts", f)
    pd.testing.assert_frame_equal(batched.stage, whole.stage)
    pd.testing.assert_frame_equal(batched.rejects, whole.rejects)


def test_a_quote_never_closed_stops_at_the_line_limit(write):
    # The quote opened on row 3 would take every line after it into one cell: it stops at max_line_kib (1 KiB here),
    # holding that much, and the message names the row.
    body = 'a,2026-11-16 09:00\n"b,2026-11-16 09:01\n' + "c,2026-11-16 09:02\n" * 200  # 19 characters a line
    mapping = imports.parse_mapping({"dataset": "contacts", "options": {"max_line_kib": 1}})
    with pytest.raises(imports.FatalImportError) as err:
        imports.prepare("contacts", write("c.csv", HEADER + body), mapping)
    assert str(err.value) == ("c.csv: row 3 is longer than the limit of 1 KiB (options.max_line_kib); does a quote "
                              "open there and never close?")


def test_a_workbook_read_in_batches_finds_its_error_cells_and_formulas_in_every_batch(tmp_path, two_row_batches):
    wb = openpyxl.Workbook()
    for r in (["contact_id", "arrived_at", "wait_seconds"], ["a", "2026-11-16 09:00", 1], ["b", "2026-11-16 09:00", 2],
              ["c", "2026-11-16 09:00", "#N/A"], ["d", "2026-11-16 09:00", "=C2+C3"], ["e", "2026-11-16 09:00", 5]):
        wb.active.append(r)
    wb.save(tmp_path / "c.xlsx")
    p = imports.prepare("contacts", tmp_path / "c.xlsx")
    assert p.rejects[["row_number", "value", "reason_code"]].values.tolist() == [
        [4, "#N/A", "spreadsheet_error"], [5, "=C2+C3", "formula_without_value"]]
    assert p.stage["contact_id"].tolist() == ["a", "b", "e"]
