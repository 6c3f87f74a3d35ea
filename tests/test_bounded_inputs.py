"""Bounded inputs (issue 13 item 3): mapping files checked key by key, YAML aliases bounded, compressed files and
rows within their caps, echoed values cut to 200 characters. Each case is a small file made here, with the outcome
it must get."""
from __future__ import annotations

import pytest

from kpi import imports, present
from helpers import snapshot

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
    ("dataset: contacts\noptions: {duration_unit: [s]}\n", "options.duration_unit: expected one of s, ms, min, got a list"),
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
     "options.delimiter: unknown option (expected one of: date_order, defaults, duration_unit, encoding, max_fields"),
    ("dataset: contacts\nsheet: 0\n", "sheet: unknown key (expected dataset, columns, options)"),
    ("dataset: [contacts]\n", "dataset: expected a dataset name (contacts, surveys, complaints, budget), got a list"),
    ("dataset: calls\n", "dataset: unknown dataset 'calls' (expected one of contacts, surveys, complaints, budget)"),
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
