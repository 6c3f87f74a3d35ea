"""Presets: the shipped ones load, each checked; a file's headers pick one; `python -m kpi presets` lists them; ingest
uses the one a file matches (or the one forced) and says so; each preset's fixture, written from the vendor's field
names, imports with no mapping file and gives KPIs worked out by hand."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import yaml

from kpi import cli, imports, metrics, store
from helpers import rows

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "presets"
FIVE9 = FIXTURES / "five9.csv"
NICE = FIXTURES / "nice_cxone.csv"
W47 = (date(2026, 11, 16), date(2026, 11, 22))


@pytest.fixture
def kpi(capsys):
    """kpi("ingest", ...) runs the command line in this process: (exit code, stdout, stderr)."""
    capsys.readouterr()

    def run(*args: str) -> tuple[int, str, str]:
        code = cli.main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err
    return run


def headers(path: Path) -> list[str]:
    return imports.file_headers(str(path))[0]


def test_every_shipped_preset_loads_with_its_block_checked():
    presets = imports.load_presets()
    assert {"five9", "nice_cxone"} <= set(presets)
    for name, p in presets.items():
        assert p.name == name and p.version >= 1 and p.docs and p.detect
        assert all(url.startswith("https://") for url in p.docs)
        assert p.mapping.source == f"preset {name} v{p.version}"
        assert (imports.PRESET_DIR / f"{name}.yaml").is_file()


def test_a_file_is_recognised_by_all_of_a_presets_headers_in_any_case():
    assert imports.detect_preset(headers(FIVE9)) == ("five9", "five9 v1: all 9 of its headers are in the file")
    assert imports.detect_preset(headers(NICE))[0] == "nice_cxone"
    assert imports.detect_preset(headers(NICE), "contacts")[0] == "nice_cxone"
    assert imports.detect_preset(headers(NICE), "surveys") == (None, "no preset for surveys")
    # Headers compared as header_key: case and spaces do not matter.
    assert imports.detect_preset([h.lower().replace(" ", "") for h in headers(FIVE9)])[0] == "five9"
    # One detect header short: no match, and the nearest miss says what it lacks.
    short = [h for h in headers(FIVE9) if h != "QUEUE WAIT TIME"]
    assert imports.detect_preset(short) == (None, "no preset matches; the nearest: five9 expects CALL ID, TIMESTAMP, "
                                                  "CAMPAIGN, CALL TYPE, AGENT NAME, DISPOSITION, QUEUE WAIT TIME, "
                                                  "TALK TIME, AFTER CALL WORK TIME; missing: QUEUE WAIT TIME")


PRESET = """preset:
  name: {name}
  version: 2
  vendor: Test
  export: "a test export"
  docs: ["https://example.com/fields"]
  detect: {detect}
dataset: contacts
columns: {{contact_id: Id, arrived_at: Start}}
"""


def test_of_several_matching_presets_the_most_specific_wins(tmp_path):
    (tmp_path / "broad.yaml").write_text(PRESET.format(name="broad", detect="[Id, Start]"), encoding="utf-8")
    (tmp_path / "narrow.yaml").write_text(PRESET.format(name="narrow", detect="[Id, Start, Queue]"), encoding="utf-8")
    assert imports.detect_preset(["Id", "Start", "Queue"], folder=tmp_path)[0] == "narrow"
    assert imports.detect_preset(["Id", "Start"], folder=tmp_path)[0] == "broad"


@pytest.mark.parametrize("name, text, message", [
    ("p", PRESET.format(name="other", detect="[Id]"), "p.yaml: preset.name: expected 'p', the file's name, got 'other'"),
    ("p", PRESET.format(name="p", detect="[Id]").replace("version: 2", "version: 1.5"),
     "p.yaml: preset.version: expected a whole number, 1 or more, got a number (1.5)"),
    ("p", PRESET.format(name="p", detect="[Id]").replace('["https://example.com/fields"]', "[]"),
     "p.yaml: preset.docs: expected a list of the vendor's pages (https addresses), got a list"),
    ("p", PRESET.format(name="p", detect="[Id]").replace("https://example.com", "http://example.com"),
     "p.yaml: preset.docs[0]: expected an https address, got 'http://example.com/fields'"),
    ("p", PRESET.format(name="p", detect="[]"), "p.yaml: preset.detect: expected a list of the headers that recognise"),
    ("p", PRESET.format(name="p", detect="[Id]").replace("  vendor: Test\n", ""), "p.yaml: preset.vendor: missing"),
    ("p", PRESET.format(name="p", detect="[Id]").replace("  vendor: Test\n", "  vendor: Test\n  colour: red\n"),
     "p.yaml: preset.colour: unknown key (expected name, version, vendor, export, docs, detect)"),
    ("p", PRESET.format(name="p", detect="[Id]").replace("dataset: contacts\n", ""), "p.yaml: dataset: missing"),
    ("p", "dataset: contacts\n", "p.yaml: preset: expected the preset block"),
    # The mapping part is checked as a mapping file is.
    ("p", PRESET.format(name="p", detect="[Id]") + "options: {duration_unit: hours}\n",
     "p.yaml: options.duration_unit: expected one of s, ms, min, hms"),
])
def test_a_bad_preset_is_refused_naming_its_file_and_key(tmp_path, name, text, message):
    (tmp_path / f"{name}.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(imports.FatalImportError) as e:
        imports.load_presets(tmp_path)
    assert str(e.value).startswith(str(tmp_path / name)) and message in str(e.value)


def test_presets_command_lists_name_version_dataset_vendor_and_export(kpi):
    code, out, _ = kpi("presets")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["name", "version", "dataset", "vendor", "export"]
    five9 = next(line for line in lines if line.split()[0] == "five9")
    assert five9.split()[1:4] == ["1", "contacts", "Five9"] and five9.rstrip().endswith("Call Log), CSV")
    code, out, _ = kpi("presets", "--json")
    doc = {p["name"]: p for p in json.loads(out)}
    assert doc["nice_cxone"]["dataset"] == "contacts" and "Abandon" in doc["nice_cxone"]["detect"]
    assert doc["five9"]["docs"][0].startswith("https://documentation.five9.com/")


def kpis(db: Path, channel: str | None = None) -> dict:
    with store.open_db(db, read_only=True) as con:
        r = metrics.compute_kpis(con, *W47, channel=channel).iloc[0]
    keys = ("offered", "answered", "abandoned", "service_level", "asa_seconds", "aht_seconds", "transfer_rate",
            "outbound")
    return {k: None if pd.isna(r[k]) else round(float(r[k]), 4) for k in keys}


def test_a_five9_call_log_imports_with_no_mapping_file(kpi, db):
    code, out, err = kpi("ingest", "contacts", FIVE9, "--db", db)
    assert code == 0, err
    assert out.splitlines()[0] == "using preset five9 (v1): Five9 Call Log report (Call Log Reports > Call Log), CSV"
    assert "five9.csv -> contacts: read 17, inserted 16, updated 0, unchanged 0, rejected 1 (import #1)" in out
    assert "rejected row 14, talk_seconds: could not read '4:99' (expected hh:mm:ss" in out  # 99 seconds
    # 12 inbound calls: 8 reached an agent, 4 did not (300003 after 3 s: a short abandon); and a queue callback
    # (300017, answered), two outbound calls (Autodial, Manual) and an internal transfer leg (300016).
    # Offered: 12 inbound + 1 callback = 13; answered 8 + 1 = 9; abandoned 4 (inbound only).
    # Within 20 s: 10, 5, 15, 20 and 8 s (25, 40, 65 not): 5 of 12 - 1 short abandon = 0.4545 (inbound only).
    # ASA (10 + 25 + 5 + 40 + 15 + 20 + 65 + 8) / 8 = 23.5 s.
    # AHT talk + hold + ACW of the 8 inbound: 330 + 225 + 540 + 180 + 420 + 240 + 360 + 120 = 2415, the transfer leg's
    # 120 + 60 and the callback's 160 + 20: 2775 / 10 = 277.5 s (no outbound call).
    # Transfers: 300004 (1) and 300009 (2) of 9 answered offered contacts.
    assert kpis(db) == {"offered": 13, "answered": 9, "abandoned": 4, "service_level": 0.4545, "asa_seconds": 23.5,
                        "aht_seconds": 277.5, "transfer_rate": 0.2222, "outbound": 2}
    assert rows(db, "SELECT direction, count(*) FROM contacts GROUP BY 1 ORDER BY 1") == [
        ("callback", 1), ("inbound", 12), ("outbound", 2), ("transfer", 1)]  # CALL TYPE
    # The TIMESTAMP form "Mon, 16 Nov 2026 09:00:05"; [None] is no agent; the queue is the campaign; a call is phone.
    assert rows(db, "SELECT arrived_at::VARCHAR, agent_id, agent_name, queue, channel FROM contacts "
                    "WHERE contact_id IN ('300001', '300003') ORDER BY 1") == [
        ("2026-11-16 09:00:05", "wang@center.tw", "王小明", "帳務服務", "phone"),
        ("2026-11-16 09:20:00", None, None, "帳務服務", "phone")]
    (options,), = rows(db, "SELECT options FROM imports")
    assert json.loads(options)["mapping"] == "preset five9 v1"


def test_a_nice_cxone_detail_download_imports_with_no_mapping_file(kpi, db):
    code, out, err = kpi("ingest", "contacts", NICE, "--db", db)
    assert code == 0, err
    assert out.splitlines()[0].startswith("using preset nice_cxone (v1): NICE CXone")
    assert "read 12, inserted 11, updated 0, unchanged 0, rejected 1" in out
    assert "rejected row 13, answered: could not read 'X'" in out  # Abandon is Y or N
    # Phone (Media_Name Call): 7 offered, 5 answered, 2 abandoned (610000006 after 2 s: short).
    # Within 20 s: 12, 18, 4 (30, 22 not): 3 / (7 - 1) = 0.5. ASA (12 + 30 + 18 + 4 + 22) / 5 = 17.2 s.
    # AHT Agent_Time + Hold_Time: 300 + 300 + 180 + 450 + 210 = 1440 / 5 = 288 s.
    assert kpis(db, "phone") == {"offered": 7, "answered": 5, "abandoned": 2, "service_level": 0.5,
                                 "asa_seconds": 17.2, "aht_seconds": 288.0, "transfer_rate": 0.0, "outbound": 0}
    # All channels: 11 offered, 8 answered (2 chats, 1 e-mail); 3 abandoned (the e-mail does not abandon); no blended
    # service level; AHT (1440 + 600 + 500 + 400) / 8 = 367.5 s.
    assert kpis(db) == {"offered": 11, "answered": 8, "abandoned": 3, "service_level": None, "asa_seconds": None,
                        "aht_seconds": 367.5, "transfer_rate": 0.0, "outbound": 0}
    assert rows(db, "SELECT channel, count(*) FROM contacts GROUP BY 1 ORDER BY 1") == [
        ("chat", 3), ("email", 1), ("phone", 7)]
    assert rows(db, "SELECT arrived_at::VARCHAR, team, agent_id FROM contacts WHERE contact_id = '610000005'") == [
        ("2026-11-18 11:00:00", None, None)]  # MM/DD/YYYY + HH:MM:SS; agent 0 is no agent


def test_a_forced_preset_that_does_not_match_the_file_says_what_is_missing(kpi, db, write):
    f = write("calls.csv", "CALL ID,TIMESTAMP,CAMPAIGN\n1,\"Mon, 16 Nov 2026 09:00:05\",x\n")
    code, out, err = kpi("ingest", "contacts", f, "--preset", "five9", "--db", db)
    assert code == 2 and out == ""
    assert err == ("error: calls.csv: not a Five9 Call Log report (Call Log Reports > Call Log), CSV: five9 expects "
                   "CALL ID, TIMESTAMP, CAMPAIGN, CALL TYPE, AGENT NAME, DISPOSITION, QUEUE WAIT TIME, TALK TIME, "
                   "AFTER CALL WORK TIME; missing: CALL TYPE, AGENT NAME, DISPOSITION, QUEUE WAIT TIME, TALK TIME, "
                   "AFTER CALL WORK TIME\n")
    assert not db.exists()


def test_a_forced_preset_reads_the_file_and_an_unknown_one_is_named(kpi, db):
    code, out, _ = kpi("ingest", "contacts", NICE, "--preset", "nice_cxone", "--db", db)
    assert code == 0 and out.startswith("using preset nice_cxone (v1)")
    code, _, err = kpi("ingest", "contacts", NICE, "--preset", "genesys", "--db", db)
    assert code == 2 and err.startswith("error: --preset genesys: no such preset (known: amazon_connect, ")
    assert ", five9, genesys_cloud, nice_cxone" in err  # every shipped preset, by name


def test_the_dataset_must_agree_with_the_presets(kpi, db, capsys):
    code, _, err = kpi("ingest", "surveys", FIVE9, "--db", db)
    assert code == 2 and err == ("error: five9.csv: looks like a Five9 Call Log report (Call Log Reports > Call Log), "
                                 "CSV (preset five9), which holds contacts, not surveys; import it as contacts, or "
                                 "give --mapping\n")
    code, _, err = kpi("ingest", "surveys", FIVE9, "--preset", "five9", "--db", db)
    assert code == 2 and err == "error: five9.csv: preset five9 is for contacts, not surveys\n"
    with pytest.raises(SystemExit) as e:  # one or the other: argparse refuses both
        cli.main(["ingest", "contacts", str(FIVE9), "--preset", "five9", "--mapping", "m.yaml", "--db", str(db)])
    assert e.value.code == 2 and "not allowed with argument" in capsys.readouterr().err


def test_a_file_no_preset_matches_is_read_by_its_canonical_headers_as_before(kpi, db, write):
    f = write("c.csv", "contact_id,arrived_at\na,2026-11-16 09:00\n")
    code, out, _ = kpi("ingest", "contacts", f, "--db", db)
    assert code == 0 and out.startswith("c.csv -> contacts: read 1, inserted 1")


def test_the_page_mapping_keeps_the_presets_options_and_drops_a_derive_the_user_replaces():
    five9 = imports.load_presets()["five9"]
    spelled = imports.applied(five9, [h.lower() for h in headers(FIVE9)])
    assert spelled.columns["contact_id"] == ["call id"] and spelled.options.derive == five9.mapping.options.derive
    picked = {**spelled.columns, "answered": ["abandoned"]}
    page = imports.edited(spelled, picked, duration_unit="s", date_order="dmy")
    assert page.options.derive == {} and page.options.values == five9.mapping.options.values
    assert (page.options.duration_unit, page.options.date_order, page.source) == ("s", "dmy", "preset five9 v1")
    per_column = imports.edited(imports.Mapping(options=imports.Options(duration_unit={"talk_seconds": "ms"})), {},
                                duration_unit="min")
    assert per_column.options.duration_unit == {"talk_seconds": "ms", "default": "min"}


def test_a_presets_mapping_downloaded_from_the_page_reads_back_the_same():
    # The page offers the mapping it shows as the YAML --mapping takes: derived columns, units and dedupe included.
    for p in imports.load_presets().values():
        back = imports.parse_mapping(yaml.safe_load(p.mapping.to_yaml()), "download.yaml")
        assert (back.dataset, back.columns, back.options) == (p.dataset, p.mapping.columns, p.mapping.options), p.name
