"""catalog.yaml and targets.yaml checked against their declared shape: a broken file names the YAML path."""
import copy
from pathlib import Path

import pytest
import yaml

from kpi import metrics

RAW_CATALOG = yaml.safe_load(metrics.CATALOG_PATH.read_text(encoding="utf-8"))
RAW_TARGETS = yaml.safe_load(metrics.TARGETS_PATH.read_text(encoding="utf-8"))


def load(tmp_path: Path, catalog=None, targets=None) -> metrics.Catalog:
    c, t = tmp_path / "catalog.yaml", tmp_path / "targets.yaml"
    c.write_text(yaml.safe_dump(catalog or RAW_CATALOG, allow_unicode=True, sort_keys=False), encoding="utf-8")
    t.write_text(yaml.safe_dump(targets or RAW_TARGETS, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return metrics.load_catalog(c, t)


def edited(raw: dict, fn) -> dict:
    data = copy.deepcopy(raw)
    fn(data)
    return data


BROKEN_CATALOG = [
    ("unit", lambda d: d["kpis"]["csat"].update(unit="percent"),
     "catalog.yaml: kpis.csat.unit: expected one of fraction, seconds, hours, count, score, per_1000, nps, ntd"),
    ("language", lambda d: d["kpis"]["nps"]["label"].pop("en"), "catalog.yaml: kpis.nps.label: missing field 'en'"),
    ("unknown_field", lambda d: d["kpis"]["nps"].update(taget=30), "catalog.yaml: kpis.nps.taget: unknown field"),
    ("target_type", lambda d: d["kpis"]["nps"].update(target="thirty"),
     "catalog.yaml: kpis.nps.target: expected a number, got string"),
    ("two_forms", lambda d: d["kpis"]["offered"].update(formula="1000 * a / b"),
     "catalog.yaml: kpis.offered: expected exactly one of sql, num+den, formula"),
    ("ratio_without_den", lambda d: d["kpis"]["csat"].pop("den"), "catalog.yaml: kpis.csat.den: a ratio needs num and den"),
    ("undeclared_dataset", lambda d: d["datasets"].pop("surveys"),
     "catalog.yaml: kpis.survey_responses.dataset: 'surveys' is not declared under datasets"),
    ("dataset_without_time", lambda d: d["datasets"]["contacts"].pop("time"),
     "catalog.yaml: datasets.contacts: missing field 'time'"),
    ("view_of_no_kpi", lambda d: d["views"]["weekly_tiles"].insert(1, "csat_rate"),
     "catalog.yaml: views.weekly_tiles[1]: 'csat_rate' is not a KPI of the catalog"),
    ("score_range", lambda d: d["scores"].update(nps=[0]),
     "catalog.yaml: scores.nps: expected 2 numbers (lowest, highest), got 1"),
]


BROKEN_TARGETS = [
    ("time_zone", lambda d: d["settings"].update(timezone="Taipei"),
     "targets.yaml: settings.timezone: expected a time zone name such as UTC, Asia/Taipei or America/New_York, "
     "got 'Taipei'"),
    ("time_zone_type", lambda d: d["settings"].update(timezone=8),
     "targets.yaml: settings.timezone: expected a string, got integer"),
    ("not_a_kpi", lambda d: d["targets"].update(nsp={"target": 30}), "targets.yaml: targets.nsp: not a KPI of the catalog"),
    ("setting_type", lambda d: d["settings"].update(service_level_seconds="20 s"),
     "targets.yaml: settings.service_level_seconds: expected a number, got string"),
    ("channel_threshold_type", lambda d: d["settings"]["service_level_seconds_by_channel"].update(chat="1 min"),
     "targets.yaml: settings.service_level_seconds_by_channel.chat: expected a number, got string"),
    ("missing_setting", lambda d: d["settings"].pop("default_sla_hours"),
     "targets.yaml: settings.default_sla_hours: used by the catalog but not set"),
    ("team_override_field", lambda d: d["targets"]["aht_seconds"]["teams"]["技術支援組"].update(goal=400),
     "targets.yaml: targets.aht_seconds.teams.技術支援組.goal: unknown field"),
]


BROKEN = [("catalog", *b) for b in BROKEN_CATALOG] + [("targets", *b) for b in BROKEN_TARGETS]


@pytest.mark.parametrize("which, mutate, expected", [(w, m, e) for w, _, m, e in BROKEN], ids=[n for _, n, _, _ in BROKEN])
def test_broken_file_names_the_path(tmp_path: Path, which: str, mutate, expected: str):
    raw = RAW_CATALOG if which == "catalog" else RAW_TARGETS
    with pytest.raises(metrics.CatalogError) as info:
        load(tmp_path, **{which: edited(raw, mutate)})
    assert str(info.value) == expected


def test_duplicate_kpi_in_the_catalog_is_refused(tmp_path: Path):
    c = tmp_path / "catalog.yaml"
    source = metrics.CATALOG_PATH.read_text(encoding="utf-8")
    c.write_text(source + source[source.index("  offered:\n"):source.index("  answered:\n")], encoding="utf-8")
    with pytest.raises(metrics.CatalogError, match=r"^catalog\.yaml: kpis: duplicate key 'offered' \(line \d+\)$"):
        metrics.load_catalog(c, metrics.TARGETS_PATH)


def test_the_round_tripped_catalog_loads_as_the_real_one(tmp_path: Path):
    """The dump the broken variants start from is itself valid, so each failure above is its mutation's."""
    assert load(tmp_path) == metrics.load_catalog()


def test_targets_settings_override_the_catalogs_parameters(tmp_path: Path):
    # catalog.yaml `parameters`: no per-channel thresholds unless targets.yaml sets them.
    assert metrics.load_catalog().settings["service_level_seconds_by_channel"] == {"chat": 60}
    without = load(tmp_path, targets=edited(RAW_TARGETS, lambda d: d["settings"].pop("service_level_seconds_by_channel")))
    assert without.settings["service_level_seconds_by_channel"] == {}
    # and no deadlines for deferred channels, real-time phone and chat, complaints maturing after 7 days
    (tmp_path / "bare").mkdir()
    bare = load(tmp_path / "bare", targets=edited(RAW_TARGETS, lambda d: [d["settings"].pop(k) for k in (
        "response_target_hours_by_channel", "realtime_channels", "complaint_resolution_days")]))
    assert bare.settings["response_target_hours_by_channel"] == {"email": 4}  # the catalog's default
    assert bare.settings["realtime_channels"] == ("phone", "chat") and bare.settings["complaint_resolution_days"] == 7
    assert metrics.load_catalog().settings["business_hours"] == {"email": {"mon-fri": "09:00-18:00"}}


def test_the_centres_time_zone_is_a_setting_taipei_unless_targets_say_otherwise(tmp_path: Path):
    assert metrics.centre_zone() == "Asia/Taipei"
    (tmp_path / "ny").mkdir()
    assert metrics.centre_zone(load(tmp_path / "ny", targets=edited(
        RAW_TARGETS, lambda d: d["settings"].update(timezone="America/New_York")))) == "America/New_York"
    assert metrics.centre_zone(load(tmp_path, targets=edited(
        RAW_TARGETS, lambda d: d["settings"].pop("timezone")))) == "Asia/Taipei"  # the catalog's default


def test_view_lists_and_score_ranges_come_from_the_catalog():
    assert metrics.TILE_KPIS == tuple(RAW_CATALOG["views"]["weekly_tiles"])
    assert metrics.SURVEY_KPIS == ("survey_responses", "csat", "csat_mean", "nps", "ces_mean")
    assert metrics.COMPLAINT_KPIS[0] == "complaints" and len(metrics.COMPLAINT_KPIS) == 9
    assert metrics.SCORES == {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}
    assert metrics.DIMENSIONS == ("team", "agent", "channel", "queue", "direction", "category")
    assert metrics.SOURCES["backlog"].dimensions == metrics.SOURCES["complaints"].dimensions
