"""Ranking weak competencies: weak KPIs -> linked behaviour indicators, scored, worst first; the team x task matrix."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pandas as pd
import pytest

from kpi.metrics import Catalog
from kpi.competency import coaching_plan
from kpi.competency import (
    RANK_COLUMNS,
    rank_weak_competencies,
    task_gap_matrix,
    weak_kpis,
)
from kpi.metrics import KpiValue, group_status

# Bands of the real catalog/targets used below: csat 0.05, csat_mean 0.2, nps 10, aht_seconds 60, asa_seconds 15.
# KPIs with a target that the real map links to each indicator (the coverage denominators):
#   P4.3.1: csat, csat_mean, nps (3)        P4.2.1: csat, nps (2)       P4.3.4: csat_mean, nps (2)   P4.3.3: nps (1)
#   P1.2.4: aht, transfer, csat, csat_mean, nps, ces, reopen (7)      P1.2.3: 11      P4.3.2: 9
#   P3.3.4: aht (1)   P3.3.1: aht, transfer (2)   P1.2.2: aht, abandon_rate, ces (3)   P3.3.2: 6


def kv(kid: str, value: float | None, target: float | None, status: str | None,
       previous: float | None = None) -> KpiValue:
    return KpiValue(kid, value, target, status, previous, None if value is None or previous is None else value - previous)


# Satisfaction off target: csat (0.85-0.75)/0.05 = 2 bands, csat_mean (4.2-3.9)/0.2 = 1.5, nps (30-20)/10 = 1 (warning).
SATISFACTION = {
    "csat": kv("csat", 0.75, 0.85, "bad"),
    "csat_mean": kv("csat_mean", 3.9, 4.2, "bad"),
    "nps": kv("nps", 20, 30, "warning"),
}
GOOD = {
    "offered": kv("offered", 1000, None, None),
    "aht_seconds": kv("aht_seconds", 300, 360, "good", previous=280),
    "fcr_rate": kv("fcr_rate", 0.8, 0.75, "good"),
    "ces_mean": kv("ces_mean", 6.0, 5.5, "good"),
    "survey_responses": kv("survey_responses", None, None, None),
}




def scores(frame: pd.DataFrame) -> dict[str, float]:
    return dict(zip(frame["indicator"], frame["score"]))


# --------------------------------------------------------------------------- weak_kpis


def test_weak_kpis_gives_gap_in_bands_and_trend_furthest_off_target_first(catalog):
    kpis = {
        **GOOD,
        "csat": kv("csat", 0.75, 0.85, "bad", previous=0.80),  # 2 bands; 0.05 down = 1 band worse
        "aht_seconds": kv("aht_seconds", 900, 360, "bad", previous=800),  # 540/60 = 9 bands; +100 s = 1.7 bands worse
        "nps": kv("nps", 25, 30, "warning", previous=20),  # 0.5 bands; improving
        "asa_seconds": kv("asa_seconds", 57, 30, "bad", previous=90),  # 1.8 bands; improving (lower is better)
    }
    w = weak_kpis(kpis, catalog)
    assert list(w.columns) == ["id", "value", "target", "status", "gap_bands", "change", "worsening", "points"]
    assert list(w["id"]) == ["aht_seconds", "csat", "asa_seconds", "nps"]
    assert list(w["gap_bands"]) == pytest.approx([9, 2, 1.8, 0.5])
    assert list(w["worsening"]) == [True, True, False, False]
    # points = min(gap, 3) x 1.5 when worse: aht 3 x 1.5, csat 2 x 1.5, asa 1.8, nps 0.5
    assert list(w["points"]) == pytest.approx([4.5, 3.0, 1.8, 0.5])


def test_a_move_of_less_than_half_a_band_is_not_worsening(catalog):
    w = weak_kpis({"csat": kv("csat", 0.75, 0.85, "bad", previous=0.76)}, catalog)  # 0.01 down = 0.2 band
    assert not w.loc[0, "worsening"]
    assert w.loc[0, "points"] == pytest.approx(2.0)


def test_without_a_band_the_gap_is_measured_in_target_units(catalog):
    no_band = Catalog(kpis={**catalog.kpis, "csat": replace(catalog["csat"], band=None)}, settings=catalog.settings)
    w = weak_kpis({"csat": kv("csat", 0.68, 0.85, "bad")}, no_band)
    assert w.loc[0, "gap_bands"] == pytest.approx(0.17 / 0.85)  # 0.2 of the target


def test_a_team_band_applies_to_that_team(catalog):
    team_band = Catalog(kpis={**catalog.kpis, "csat": replace(catalog["csat"], team_targets={"技術支援組": {"band": 0.1}})},
                        settings=catalog.settings)
    kpis = {"csat": kv("csat", 0.75, 0.85, "bad")}
    assert weak_kpis(kpis, team_band, team="技術支援組").loc[0, "gap_bands"] == pytest.approx(1.0)  # 0.10 / 0.1
    assert weak_kpis(kpis, team_band).loc[0, "gap_bands"] == pytest.approx(2.0)  # 0.10 / 0.05


# --------------------------------------------------------------------------- rank_weak_competencies


def test_the_indicator_the_most_weak_kpis_point_at_ranks_first(cmap, catalog):
    r = rank_weak_competencies(cmap, SATISFACTION, catalog)
    assert list(r.columns) == list(RANK_COLUMNS)
    # severity = sum of points, coverage = weak / linked with a target, score = severity x coverage
    # P4.3.1 (2 + 1.5 + 1) x 3/3 = 4.5   P4.2.1 (2 + 1) x 2/2 = 3   P4.3.4 (1.5 + 1) x 2/2 = 2.5
    # P1.2.4 4.5 x 3/7 = 1.93            P4.3.3 1 x 1/1 = 1         P1.2.3 (2 + 1.5) x 2/11 = 0.64   P4.3.2 2 x 1/9 = 0.22
    assert list(r["indicator"]) == ["P4.3.1", "P4.2.1", "P4.3.4", "P1.2.4", "P4.3.3", "P1.2.3", "P4.3.2"]
    assert list(r["rank"]) == [1, 2, 3, 4, 5, 6, 7]
    assert list(r["score"]) == pytest.approx([4.5, 3.0, 2.5, 4.5 * 3 / 7, 1.0, 3.5 * 2 / 11, 2 / 9])
    top = r.iloc[0]
    assert (top["task"], top["text_zh"]) == ("T4.3", "依組織政策，定期檢視顧客滿意度，以提高服務和產品品質。")
    assert top["text_en"].startswith("In line with organizational policy, regularly review customer satisfaction")
    assert top["kpis"] == ["csat", "csat_mean", "nps"]  # worst first
    assert (top["severity"], top["coverage"], top["worst_gap"]) == pytest.approx((4.5, 1.0, 2.0))
    assert not top["worsening"]
    # union of the three links: csat K04 K05 K20 / S04 S06, csat_mean K05 K20 / S04 S06, nps K04 K05 K19 / S01 S06
    assert top["knowledge"] == ["K04", "K05", "K19", "K20"]
    assert top["skills"] == ["S01", "S04", "S06"]
    assert len(top["coaching_zh"]) == len(top["coaching_en"]) == 3 + 2 + 2
    assert top["coaching_zh"][0] == cmap.link("csat").coaching[0].zh_tw


def test_the_gap_is_capped_at_three_bands_and_ties_go_to_more_weak_kpis(cmap, catalog):
    kpis = {**SATISFACTION, "aht_seconds": kv("aht_seconds", 900, 360, "bad")}  # 9 bands, counts 3
    r = rank_weak_competencies(cmap, kpis, catalog)
    s = scores(r)
    assert s["P3.3.4"] == pytest.approx(3.0)  # aht alone: min(9, 3) x 1/1
    assert s["P1.2.4"] == pytest.approx((3 + 2 + 1.5 + 1) * 4 / 7)  # 4.29
    # P4.2.1 (csat + nps) and P3.3.4 (aht) both score 3: the one with two weak KPIs goes first
    assert s["P4.2.1"] == pytest.approx(3.0)
    assert list(r["indicator"][:4]) == ["P4.3.1", "P1.2.4", "P4.2.1", "P3.3.4"]


def test_a_kpi_getting_worse_raises_its_indicators(cmap, catalog):
    steady = {"csat": kv("csat", 0.76, 0.85, "bad", previous=0.77),  # 1.8 bands; 0.01 down is noise
              "aht_seconds": kv("aht_seconds", 480, 360, "bad")}  # 2 bands
    worse = {**steady, "csat": kv("csat", 0.76, 0.85, "bad", previous=0.80)}  # 0.04 down = 0.8 band: x 1.5 = 2.7
    before, after = rank_weak_competencies(cmap, steady, catalog), rank_weak_competencies(cmap, worse, catalog)
    # before: P3.3.4 2, P1.2.4 (2 + 1.8) x 2/7 = 1.09, P3.3.1 2 x 1/2 = 1, P4.2.1 1.8 x 1/2 = 0.9
    assert list(before["indicator"][:4]) == ["P3.3.4", "P1.2.4", "P3.3.1", "P4.2.1"]
    # after: P4.2.1 2.7 x 1/2 = 1.35 passes P1.2.4 (2 + 2.7) x 2/7 = 1.34 and P3.3.1
    assert list(after["indicator"][:4]) == ["P3.3.4", "P4.2.1", "P1.2.4", "P3.3.1"]
    assert scores(after)["P4.3.1"] == pytest.approx(2.7 / 3)
    assert scores(before)["P4.3.1"] == pytest.approx(1.8 / 3)
    assert after.set_index("indicator").loc["P4.2.1", "worsening"]
    assert scores(after)["P3.3.4"] == scores(before)["P3.3.4"]  # aht's indicators alone are untouched


def test_good_kpis_contribute_nothing(cmap, catalog):
    alone = rank_weak_competencies(cmap, SATISFACTION, catalog)
    pd.testing.assert_frame_equal(rank_weak_competencies(cmap, {**SATISFACTION, **GOOD}, catalog), alone)
    empty = rank_weak_competencies(cmap, GOOD, catalog)
    assert empty.empty and list(empty.columns) == list(RANK_COLUMNS)


def test_a_warning_counts_less_than_a_bad(cmap, catalog):
    warning = rank_weak_competencies(cmap, {"csat": kv("csat", 0.82, 0.85, "warning")}, catalog)  # 0.6 band
    bad = rank_weak_competencies(cmap, {"csat": kv("csat", 0.78, 0.85, "bad")}, catalog)  # 1.4 bands
    assert list(warning["indicator"]) == list(bad["indicator"])
    assert scores(warning)["P4.3.1"] == pytest.approx(0.6 / 3)
    assert scores(bad)["P4.3.1"] == pytest.approx(1.4 / 3)
    # with the same neighbours, a bad KPI's indicators outrank a warning KPI's: aht 1.5 bands bad vs csat warning
    mixed = rank_weak_competencies(cmap, {"csat": kv("csat", 0.82, 0.85, "warning"),
                                          "aht_seconds": kv("aht_seconds", 450, 360, "bad")}, catalog)
    assert scores(mixed)["P3.3.1"] > scores(mixed)["P4.2.1"]  # 1.5 x 1/2 = 0.75 > 0.6 x 1/2 = 0.3


# --------------------------------------------------------------------------- task_gap_matrix


def test_task_gap_matrix_sums_capped_gaps_per_task(cmap, catalog):
    groups = {
        "帳務服務組": SATISFACTION,
        "技術支援組": {"asa_seconds": kv("asa_seconds", 1230, 30, "bad", previous=900)},  # 80 bands: counts 3
        "會員服務組": GOOD,
    }
    m = task_gap_matrix(cmap, groups, catalog)
    assert list(m.index) == ["帳務服務組", "技術支援組", "會員服務組"]
    assert list(m.columns) == ["T1.1", "T1.2", "T1.3", "T2.1", "T2.2", "T3.1", "T3.2", "T3.3", "T4.1", "T4.2", "T4.3"]
    # csat -> T4.3 T1.2 T4.2 (2), csat_mean -> T4.3 T1.2 (1.5), nps -> T4.3 T1.2 T4.2 (1)
    assert m.loc["帳務服務組"].to_dict() == pytest.approx(
        {"T1.1": 0, "T1.2": 4.5, "T1.3": 0, "T2.1": 0, "T2.2": 0, "T3.1": 0, "T3.2": 0, "T3.3": 0,
         "T4.1": 0, "T4.2": 3.0, "T4.3": 4.5})
    # asa -> T1.2 T3.3 T2.1, capped at 3 bands and not raised for getting worse
    assert m.loc["技術支援組"][["T1.2", "T3.3", "T2.1"]].tolist() == pytest.approx([3, 3, 3])
    assert m.loc["技術支援組"].sum() == pytest.approx(9)
    assert (m.loc["會員服務組"] == 0).all()


# --------------------------------------------------------------------------- the sample data


@pytest.fixture(scope="module")
def sample_w47(sample_db) -> dict:
    """Team KPI status for 2026-W47 on the bundled sample data (imported once per session, see conftest)."""
    from kpi.store import open_db

    with open_db(sample_db, read_only=True) as con:
        return group_status(con, date(2026, 11, 16), date(2026, 11, 22), "team")


def test_sample_tech_support_is_coached_on_reviewing_satisfaction(sample_w47, cmap, catalog):
    ranked = rank_weak_competencies(cmap, sample_w47["技術支援組"], catalog)
    assert "P4.3.1" in list(ranked["indicator"][:5])
    row = ranked.set_index("indicator").loc["P4.3.1"]
    assert row["kpis"] == ["csat", "csat_mean", "nps"]
    plan = coaching_plan(cmap, "技術支援組", "2026-W47", sample_w47["技術支援組"], catalog=catalog)
    assert "P4.3.1" in list(plan["行為指標代碼"])
    assert "依組織政策，定期檢視顧客滿意度，以提高服務和產品品質。" in list(plan["行為指標"])


def test_gaps_use_the_channels_band(catalog):
    # E-mail speed of answer: target 4 h with a 2 h band (targets.yaml). 30,000 s is (30,000 - 14,400) / 7,200 = 2.17 bands.
    from kpi.metrics import KpiValue
    from kpi.competency import weak_kpis

    v = KpiValue("asa_seconds", 30000.0, 14400.0, "bad", 28000.0, 2000.0, 7200.0)
    row = weak_kpis({"asa_seconds": v}, catalog).iloc[0]
    assert row["gap_bands"] == pytest.approx(15600 / 7200)
    assert not row["worsening"]  # 2,000 s is under half a band
