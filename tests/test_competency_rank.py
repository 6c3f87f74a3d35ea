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
# Factors: csat, csat_mean, nps (and ces) are one "satisfaction" factor; aht is "handling"; asa "accessibility".
# Factors with a target that the real map links to each indicator (the coverage denominators, for teams):
#   P4.3.1, P4.2.1, P4.3.4, P4.3.3: satisfaction (1)    P1.2.4: handling, reopen, satisfaction, transfer (4)
#   P1.2.3: 11    P4.3.2: 9    P3.3.4: handling (1)    P3.3.1: handling, transfer (2)
#   P3.3.2: accessibility, complaint_sla, handling, open_past_due (4)
# P4.3.1, P4.3.3 and P4.3.4 are the manager's own processes: weight 0.5.


def kv(kid: str, value: float | None, target: float | None, status: str | None, previous: float | None = None,
       trend: str | None = None, se: float | None = None, n: float | None = None) -> KpiValue:
    return KpiValue(kid, value, target, status, previous, None if value is None or previous is None else value - previous,
                    n=n, trend=trend, se=se)


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
        "csat": kv("csat", 0.75, 0.85, "bad", previous=0.80, trend="worse"),  # 2 bands, worse beyond noise
        "aht_seconds": kv("aht_seconds", 900, 360, "bad", previous=800, trend="worse"),  # 540/60 = 9 bands
        "nps": kv("nps", 25, 30, "warning", previous=20, trend="better"),  # 0.5 bands; improving
        "asa_seconds": kv("asa_seconds", 57, 30, "bad", previous=90, trend="better"),  # 1.8 bands
    }
    w = weak_kpis(kpis, catalog)
    assert list(w.columns) == ["id", "value", "reference", "compared_with", "n", "interval", "status", "gap_bands",
                               "change", "worsening", "points", "factor"]
    assert list(w["id"]) == ["aht_seconds", "csat", "asa_seconds", "nps"]
    assert list(w["gap_bands"]) == pytest.approx([9, 2, 1.8, 0.5])
    assert list(w["worsening"]) == [True, True, False, False]
    # points = gap x 1.5 when worse, never capped: aht 9 x 1.5, csat 2 x 1.5, asa 1.8, nps 0.5
    assert list(w["points"]) == pytest.approx([13.5, 3.0, 1.8, 0.5])
    assert list(w["factor"]) == ["handling", "satisfaction", "accessibility", "satisfaction"]
    assert set(w["compared_with"]) == {"target"} and list(w["reference"]) == [360, 0.85, 30, 30]


def test_a_drop_within_noise_is_not_worsening(catalog):
    w = weak_kpis({"csat": kv("csat", 0.75, 0.85, "bad", previous=0.80, trend="steady")}, catalog)
    assert not w.loc[0, "worsening"]
    assert w.loc[0, "points"] == pytest.approx(2.0)


def test_uncertain_and_maturing_values_are_not_weak(catalog):
    w = weak_kpis({"csat": kv("csat", 0.6, 0.85, "uncertain", n=5),  # far off, but 5 responses: no evidence
                   "complaint_sla_rate": KpiValue("complaint_sla_rate", None, 0.9, None, None, None,
                                                  matures_on=date(2026, 11, 30))}, catalog)
    assert w.empty


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


def test_escalation_is_weak_on_both_sides_of_its_target(catalog):
    # target 10% with a 5% band either side: 2% is 8 points off, 3 points past the band = 0.6 bands (warning)
    low = KpiValue("escalation_rate", 0.02, 0.10, "warning", None, None, 0.05)
    high = KpiValue("escalation_rate", 0.21, 0.10, "bad", None, None, 0.05)
    assert weak_kpis({"escalation_rate": low}, catalog).loc[0, "gap_bands"] == pytest.approx(0.6)
    assert weak_kpis({"escalation_rate": high}, catalog).loc[0, "gap_bands"] == pytest.approx(1.2)


def test_an_agent_is_weak_only_where_worse_than_the_team_beyond_noise(catalog):
    team = {"aht_seconds": kv("aht_seconds", 400, 360, "warning", se=5),
            "csat": kv("csat", 0.85, 0.85, "good", se=0.01),
            "nps": kv("nps", 40, 30, "good", se=2)}
    agent = {"aht_seconds": kv("aht_seconds", 600, 360, "bad", se=20, n=100),  # 200 s worse; z = 200 / sqrt(20² + 5²) = 9.7
             "csat": kv("csat", 0.80, 0.85, "warning", se=0.04, n=100),  # 5 points worse; z = .05 / .0412 = 1.2: noise
             "nps": kv("nps", 0, 30, "bad", se=5),  # far worse, but NPS is not scored per agent
             "service_level": kv("service_level", None, 0.8, None)}  # a queue measure: no value per agent
    w = weak_kpis(agent, catalog, peers=team)
    assert list(w["id"]) == ["aht_seconds"]
    row = w.iloc[0]
    assert (row["compared_with"], row["reference"], row["status"]) == ("team", 400, "bad")
    assert row["gap_bands"] == pytest.approx(200 / 60)  # in the team's AHT band


# --------------------------------------------------------------------------- rank_weak_competencies


def test_correlated_kpis_count_once_and_process_indicators_weigh_half(cmap, catalog):
    r = rank_weak_competencies(cmap, SATISFACTION, catalog)
    assert list(r.columns) == list(RANK_COLUMNS)
    # One satisfaction factor: each indicator takes its worst linked KPI's points (csat 2 > csat_mean 1.5 > nps 1).
    # P4.2.1 2 x 1/1 = 2   P4.3.1 2 x 1/1 x .5 = 1   P4.3.4 1.5 x .5 = .75   P1.2.4 2 x 1/4 = .5
    # P4.3.3 1 x .5 = .5 (fewer weak KPIs than P1.2.4)   P4.3.2 2 x 1/9 = .22   P1.2.3 2 x 1/11 = .18
    assert list(r["indicator"]) == ["P4.2.1", "P4.3.1", "P4.3.4", "P1.2.4", "P4.3.3", "P4.3.2", "P1.2.3"]
    assert list(r["rank"]) == [1, 2, 3, 4, 5, 6, 7]
    assert list(r["score"]) == pytest.approx([2.0, 1.0, 0.75, 0.5, 0.5, 2 / 9, 2 / 11])
    p431 = r.set_index("indicator").loc["P4.3.1"]
    assert (p431["severity"], p431["coverage"], p431["weight"]) == pytest.approx((2.0, 1.0, 0.5))
    assert p431["kpis"] == ["csat", "csat_mean", "nps"]  # worst first
    assert p431["text_zh"] == "依組織政策，定期檢視顧客滿意度，以提高服務和產品品質。"
    # union of the three links: csat K04 K05 K20 / S04 S06, csat_mean K05 K20 / S04 S06, nps K04 K05 K19 / S01 S06
    assert p431["knowledge"] == ["K04", "K05", "K19", "K20"]
    assert p431["skills"] == ["S01", "S04", "S06"]
    assert len(p431["coaching_zh"]) == len(p431["coaching_en"]) == 3 + 2 + 2
    # csat alone scores P4.3.1 the same: csat_mean and nps are the same evidence again
    assert scores(rank_weak_competencies(cmap, {"csat": SATISFACTION["csat"]}, catalog))["P4.3.1"] == pytest.approx(1.0)


def test_gaps_are_not_capped_so_the_largest_gap_ranks_first(cmap, catalog):
    kpis = {**SATISFACTION, "aht_seconds": kv("aht_seconds", 900, 360, "bad")}  # 9 bands
    r = rank_weak_competencies(cmap, kpis, catalog)
    s = scores(r)
    # P3.3.4 9 x 1/1   P1.2.4 (9 + 2) x 2/4 = 5.5   P3.3.1 9 x 1/2 = 4.5   P3.3.2 9 x 1/4 = 2.25   P4.2.1 2
    assert s["P3.3.4"] == pytest.approx(9.0) and s["P1.2.4"] == pytest.approx(5.5)
    assert list(r["indicator"][:5]) == ["P3.3.4", "P1.2.4", "P3.3.1", "P3.3.2", "P4.2.1"]


def test_a_kpi_getting_worse_raises_its_indicators(cmap, catalog):
    steady = {"csat": kv("csat", 0.76, 0.85, "bad", previous=0.77, trend="steady"),  # 1.8 bands
              "aht_seconds": kv("aht_seconds", 480, 360, "bad")}  # 2 bands
    worse = {**steady, "csat": kv("csat", 0.76, 0.85, "bad", previous=0.80, trend="worse")}  # 1.8 x 1.5 = 2.7
    before, after = rank_weak_competencies(cmap, steady, catalog), rank_weak_competencies(cmap, worse, catalog)
    # before: P3.3.4 2, P1.2.4 (2 + 1.8) x 2/4 = 1.9, P4.2.1 1.8, P3.3.1 2 x 1/2 = 1
    assert list(before["indicator"][:4]) == ["P3.3.4", "P1.2.4", "P4.2.1", "P3.3.1"]
    # after: P4.2.1 2.7, P1.2.4 (2 + 2.7) x 2/4 = 2.35, P3.3.4 2, P4.3.1 2.7 x .5 = 1.35
    assert list(after["indicator"][:4]) == ["P4.2.1", "P1.2.4", "P3.3.4", "P4.3.1"]
    assert scores(after)["P4.3.1"] == pytest.approx(1.35) and scores(before)["P4.3.1"] == pytest.approx(0.9)
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
    assert scores(warning)["P4.3.1"] == pytest.approx(0.6 * 0.5)
    assert scores(bad)["P4.3.1"] == pytest.approx(1.4 * 0.5)
    # with the same neighbours, a bad KPI's indicators outrank a warning KPI's: aht 1.5 bands bad vs csat warning
    mixed = rank_weak_competencies(cmap, {"csat": kv("csat", 0.82, 0.85, "warning"),
                                          "aht_seconds": kv("aht_seconds", 450, 360, "bad")}, catalog)
    assert scores(mixed)["P3.3.1"] > scores(mixed)["P4.2.1"]  # 1.5 x 1/2 = 0.75 > 0.6 x 1/1 = 0.6


def test_an_agents_ranking_compares_them_with_their_team(cmap, catalog):
    team = {"aht_seconds": kv("aht_seconds", 400, 360, "warning", se=5), "csat": kv("csat", 0.85, 0.85, "good", se=0.01)}
    agent = {"aht_seconds": kv("aht_seconds", 600, 360, "bad", se=20, n=100),
             "csat": kv("csat", 0.80, 0.85, "warning", se=0.04, n=100)}
    r = rank_weak_competencies(cmap, agent, catalog, peers=team)
    # only AHT is credibly worse than the team: 3.33 bands. Factors an agent can be compared on (rates and means they
    # control): P3.3.4 handling (1) -> 3.33; P3.3.1 handling, transfer and P3.3.2 handling, complaint_sla (2 each)
    # -> 1.67 (map order breaks the tie); P1.2.4 handling, reopen, satisfaction, transfer (4) -> 0.83
    assert list(r["indicator"][:4]) == ["P3.3.4", "P3.3.1", "P3.3.2", "P1.2.4"]
    assert r.iloc[0]["score"] == pytest.approx(200 / 60)


# --------------------------------------------------------------------------- task_gap_matrix


def test_task_gap_matrix_sums_gaps_per_task_once_per_factor(cmap, catalog):
    groups = {
        "帳務服務組": SATISFACTION,
        "技術支援組": {"asa_seconds": kv("asa_seconds", 1230, 30, "bad", previous=900)},  # 80 bands, not capped
        "會員服務組": GOOD,
    }
    m = task_gap_matrix(cmap, groups, catalog)
    assert list(m.index) == ["帳務服務組", "技術支援組", "會員服務組"]
    assert list(m.columns) == ["T1.1", "T1.2", "T1.3", "T2.1", "T2.2", "T3.1", "T3.2", "T3.3", "T4.1", "T4.2", "T4.3"]
    # csat -> T4.3 T1.2 T4.2 (2), csat_mean -> T4.3 T1.2 (1.5), nps -> T4.3 T1.2 T4.2 (1): one factor, its worst
    assert m.loc["帳務服務組"].to_dict() == pytest.approx(
        {"T1.1": 0, "T1.2": 2.0, "T1.3": 0, "T2.1": 0, "T2.2": 0, "T3.1": 0, "T3.2": 0, "T3.3": 0,
         "T4.1": 0, "T4.2": 2.0, "T4.3": 2.0})
    # asa -> T1.2 T3.3 T2.1, 80 bands each
    assert m.loc["技術支援組"][["T1.2", "T3.3", "T2.1"]].tolist() == pytest.approx([80, 80, 80])
    assert (m.loc["會員服務組"] == 0).all()


# --------------------------------------------------------------------------- the sample data


@pytest.fixture(scope="module")
def sample_con(sample_db):
    """The bundled sample data (imported once per session, see conftest), read-only."""
    from kpi.store import open_db

    with open_db(sample_db, read_only=True) as con:
        yield con


W47 = (date(2026, 11, 16), date(2026, 11, 22))


def test_sample_billing_team_is_not_ranked_on_a_maturing_complaint_rate(sample_con, cmap, catalog):
    # W47's complaints mature on 30 Nov (7 days): resolution, in-time, median and reopen rates have no value yet,
    # so they neither look bad nor push an indicator up (they used to put P1.3.2 first for this team).
    teams = group_status(sample_con, *W47, "team")
    values = teams["帳務服務組"]
    maturing = {"complaint_resolution_rate", "complaints_resolved_within_days", "complaint_sla_rate",
                "median_resolution_hours", "reopen_rate"}
    assert all(values[k].value is None and values[k].matures_on == date(2026, 11, 30) for k in maturing)
    ranked = rank_weak_competencies(cmap, values, catalog, team="帳務服務組")
    assert not maturing & {k for kpis in ranked["kpis"] for k in kpis}
    plan = coaching_plan(cmap, "帳務服務組", "2026-W47", values, catalog=catalog, team="帳務服務組")
    assert not plan.empty


@pytest.mark.parametrize("weeks", [1, 4])
def test_sample_agent_with_the_largest_handle_time_gap_is_coached_on_it_first(sample_con, cmap, catalog, weeks):
    from kpi.metrics import agent_teams

    start = W47[0] - pd.Timedelta(weeks=weeks - 1)
    start = start.date() if hasattr(start, "date") else start
    team_of = agent_teams(sample_con, start, W47[1])
    teams = group_status(sample_con, start, W47[1], "team")
    agents = group_status(sample_con, start, W47[1], "agent", team_of=team_of)
    team = team_of["A017"]
    gaps = {a: v["aht_seconds"].value - teams[team_of[a]]["aht_seconds"].value
            for a, v in agents.items() if a in team_of and v["aht_seconds"].value is not None}
    assert max(gaps, key=gaps.get) == "A017"  # the largest gap over their own team, in W47 and over 4 weeks
    ranked = rank_weak_competencies(cmap, agents["A017"], catalog, team=team, peers=teams[team])
    # AHT first (its parts, talk/hold/after-call work, are the same "handling" factor: they count once)
    assert ranked.iloc[0]["indicator"] == "P3.3.4" and ranked.iloc[0]["kpis"][0] == "aht_seconds"
    assert ranked.iloc[0]["score"] == pytest.approx(ranked.iloc[0]["worst_gap"])  # one factor, coverage 1/1
    assert ranked.iloc[0]["worst_gap"] > 5  # about 5.6-5.9 bands: 336-354 s over a 60 s band


def test_an_agent_with_too_few_contacts_is_not_compared(catalog):
    team = {"talk_seconds_mean": kv("talk_seconds_mean", 300, None, None, se=5, n=500)}
    few = {"talk_seconds_mean": kv("talk_seconds_mean", 400, None, None, se=10, n=5)}  # 100 s worse, on 5 contacts
    many = {"talk_seconds_mean": kv("talk_seconds_mean", 400, None, None, se=10, n=50)}
    assert weak_kpis(few, catalog, peers=team).empty
    row = weak_kpis(many, catalog, peers=team).iloc[0]
    assert row["gap_bands"] == pytest.approx(100 / 60)  # in AHT's 60 s band, not in units of the team's mean
