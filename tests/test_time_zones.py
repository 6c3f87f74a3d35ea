"""Time zones (issue 14 item 4): timestamps are stored as the centre's wall-clock time (targets.yaml settings.timezone,
default Asia/Taipei); a mapping's options.timezone is the zone of timestamps written without an offset; an offset
written in the cell (Z, +00:00, +0800) is honoured whatever the option. By each zone's rules on the day (DST)."""
from __future__ import annotations

import pandas as pd
import pytest

from kpi import cli, imports
from helpers import rows


def ts(cells, **zones) -> list[pd.Timestamp]:
    return imports.parse_timestamp(pd.Series(cells, dtype=object), **zones).values.tolist()


def test_a_utc_timestamp_at_1730_belongs_to_the_next_day_in_taipei():
    # 17:30 UTC + 8 h = 01:30 on the 17th
    assert ts(["2026-11-16T17:30:00Z"]) == [pd.Timestamp(2026, 11, 17, 1, 30)]
    # so does the same time written without an offset, when the mapping says the file is in UTC
    assert ts(["2026-11-16 17:30:00"], source_zone="UTC") == [pd.Timestamp(2026, 11, 17, 1, 30)]
    # and with no option it is the centre's own time, as written
    assert ts(["2026-11-16 17:30:00"]) == [pd.Timestamp(2026, 11, 16, 17, 30)]


@pytest.mark.parametrize("cell", ["2026-11-16T09:30:00+08:00", "2026-11-16T09:30:00+0800", "2026-11-16T01:30:00Z",
                                  "2026-11-16T01:30:00+00:00", "2026-11-15T20:30:00-05:00"])
def test_an_offset_in_the_cell_wins_over_the_option(cell):
    # each is 01:30 UTC = 09:30 in Taipei, whatever zone the mapping gives naive times
    assert ts([cell], source_zone="America/New_York") == [pd.Timestamp(2026, 11, 16, 9, 30)]


def test_a_new_york_time_is_4_hours_behind_utc_in_july_and_5_in_january():
    cells = ["2026-07-16 12:00:00", "2026-01-16 12:00:00"]
    # EDT (UTC-4) in July, EST (UTC-5) in January: 16:00 and 17:00 UTC
    assert ts(cells, source_zone="America/New_York", centre_zone="UTC") == [pd.Timestamp(2026, 7, 16, 16),
                                                                              pd.Timestamp(2026, 1, 16, 17)]
    # in Taipei (UTC+8 all year): 00:00 and 01:00 the next day
    assert ts(cells, source_zone="America/New_York") == [pd.Timestamp(2026, 7, 17, 0), pd.Timestamp(2026, 1, 17, 1)]


def test_a_centre_in_new_york_stores_new_york_time():
    # 2026-07-16 17:30 UTC - 4 h (EDT); 2026-01-16 17:30 UTC - 5 h (EST)
    got = ts(["2026-07-16T17:30:00Z", "2026-01-16T17:30:00Z", "2026-07-16 08:00:00"], centre_zone="America/New_York")
    assert got == [pd.Timestamp(2026, 7, 16, 13, 30), pd.Timestamp(2026, 1, 16, 12, 30), pd.Timestamp(2026, 7, 16, 8)]


def test_the_hours_a_clock_change_repeats_or_skips():
    # 2026-11-01 01:30 happens twice in New York: read as the first (EDT, UTC-4) = 05:30 UTC. 2026-03-08 02:30 does not
    # happen (clocks jump 02:00 -> 03:00): read as if the clock had not moved yet (EST, UTC-5) = 07:30 UTC.
    got = ts(["2026-11-01 01:30:00", "2026-03-08 02:30:00"], source_zone="America/New_York", centre_zone="UTC")
    assert got == [pd.Timestamp(2026, 11, 1, 5, 30), pd.Timestamp(2026, 3, 8, 7, 30)]


def test_other_forms_are_converted_too():
    # day-first with an offset, and an English month name with one: 02:05 UTC and 14:05 UTC
    assert ts(["17/11/2026 02:05:00Z", "16-Nov-2026 2:05 PM +00:00"]) == [pd.Timestamp(2026, 11, 17, 10, 5),
                                                                          pd.Timestamp(2026, 11, 16, 22, 5)]
    assert ts(["16-Nov-2026 2:05 PM"], source_zone="UTC") == [pd.Timestamp(2026, 11, 16, 22, 5)]


def test_a_bad_zone_name_in_a_mapping_is_one_message_naming_the_option(write, db):
    mapping = write("vendor.yaml", "dataset: contacts\noptions:\n  timezone: Taipei Time\n")
    with pytest.raises(imports.FatalImportError) as err:
        imports.load_mapping(mapping)
    assert str(err.value) == (f"{mapping}: options.timezone: expected a time zone name such as UTC, Asia/Taipei or "
                              "America/New_York, got 'Taipei Time'")
    # an Options built without a mapping file (the import page) is checked before anything is read
    calls = write("calls.csv", "contact_id,arrived_at\nc1,2026-11-16 17:30:00\n")
    with pytest.raises(imports.FatalImportError, match=r"^calls.csv: options.timezone: expected a time zone name"):
        imports.import_file("contacts", calls, imports.Mapping(options=imports.Options(timezone="Mars/Olympus")), db=db)
    assert not db.exists()


def test_ingest_stores_the_centres_time(write, db, capsys):
    # python -m kpi ingest with a mapping saying UTC: the naive 17:30 and the explicit 17:30Z both land on the 17th
    calls = write("calls.csv", "contact_id,arrived_at\nnaive,2026-11-16 17:30:00\nzulu,2026-11-16T17:30:00Z\n"
                               "taipei,2026-11-17T01:30:00+08:00\n")
    mapping = write("utc.yaml", "dataset: contacts\noptions:\n  timezone: UTC\n")
    assert cli.main(["ingest", "contacts", str(calls), "--mapping", str(mapping), "--db", str(db)]) == 0
    assert rows(db, "SELECT contact_id, arrived_at::VARCHAR FROM contacts ORDER BY 1") == [
        ("naive", "2026-11-17 01:30:00"), ("taipei", "2026-11-17 01:30:00"), ("zulu", "2026-11-17 01:30:00")]
    # without the option the naive time is the centre's: 17:30 on the 16th, the explicit ones as before
    assert cli.main(["ingest", "contacts", str(calls), "--db", str(db)]) == 0
    assert rows(db, "SELECT contact_id, arrived_at::VARCHAR FROM contacts ORDER BY 1")[0] == ("naive",
                                                                                             "2026-11-16 17:30:00")
    # the import history keeps both zones
    assert '"timezone": "UTC"' in rows(db, "SELECT options FROM imports ORDER BY import_id")[0][0]
    assert '"centre_timezone": "Asia/Taipei"' in rows(db, "SELECT options FROM imports ORDER BY import_id")[1][0]
