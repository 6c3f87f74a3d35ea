"""Erlang C (kpi.metrics._erlang): the issue's case, published answers (sources cited beside each), a large case checked
by exact arithmetic, and the refusals; `python -m kpi erlang`."""
from __future__ import annotations

import json
import math
from fractions import Fraction

import pytest

from kpi import cli, metrics


def test_the_issue_case_needs_14_agents_and_20_fte_at_30_percent_shrinkage():
    # A = 100 x 180 / 1800 = 10 Erlangs; N = 13 gives SL 0.789 < 0.8, N = 14 the first above it
    s = metrics.erlang_staffing(100, 1800, 180, 0.8, 20, shrinkage=0.3)
    assert (s.traffic, s.agents, s.fte) == (10.0, 14, 20)  # 14 / 0.7 = 20 exactly, not 21
    assert round(s.service_level, 3) == 0.888
    assert round(s.asa_seconds, 1) == 7.8
    assert round(s.occupancy, 3) == 0.714
    assert metrics.service_level(13, 10.0, 180, 20) < 0.8 < metrics.service_level(14, 10.0, 180, 20)


def test_published_r_erlangc_package_values():
    # CRAN package ErlangC 0.1.0 (Damonsoul), README example, https://rdocumentation.org/packages/ErlangC/versions/0.1.0:
    # erlang_c(100 calls, 30 min, AHT 180 s, 20 s, 14 agents) -> wait_probability 0.1741319, service_level 0.88835,
    # average_speed_of_answer 7.83593701177724 s; calculate_agents' first row (N = 11) wait_probability 0.6821182
    assert metrics.wait_probability(14, 10.0) == pytest.approx(0.1741319, abs=5e-8)
    assert metrics.service_level(14, 10.0, 180, 20) == pytest.approx(0.88835, abs=5e-6)
    assert metrics.asa_seconds(14, 10.0, 180) == pytest.approx(7.83593701177724, rel=1e-12)
    assert metrics.wait_probability(11, 10.0) == pytest.approx(0.6821182, abs=5e-8)


def test_published_pyworkforce_occupancy_cap():
    # pyworkforce, pyworkforce/queuing/tests/test_erlang.py::test_over_occupancy_erlangc
    # (https://github.com/rodrigo-arenas/pyworkforce/blob/04edd6affe2245fa141aae94305fc43cef9ba955/pyworkforce/queuing/tests/test_erlang.py):
    # 100 transactions / 30 min, AHT 3 min, 80% in 0.33 min (20 s), shrinkage 0.3, max occupancy 0.7
    # -> raw positions 15, positions 22, service level 0.941, occupancy 0.667, waiting probability 0.102
    s = metrics.erlang_staffing(100, 1800, 180, 0.8, 20, shrinkage=0.3, max_occupancy=0.7)
    assert (s.agents, s.fte) == (15, 22)  # 14 agents would be 10/14 = 0.714 > 0.7; 15 / 0.7 = 21.4 -> 22
    assert (round(s.service_level, 3), round(s.occupancy, 3), round(s.wait_probability, 3)) == (0.941, 0.667, 0.102)


def test_published_stimulus_values():
    # m-deck/stimulus, tests/test_erlang.py
    # (https://github.com/m-deck/stimulus/blob/2ddefcdfd213cf8f4e77a4b6ee28b4e9cdf35d19/tests/test_erlang.py):
    # required_server_count(aht=752, interval=900, rate=25, target=.90, wait_time=20) == 28;
    # .9042 <= service_level(aht=752, interval=900, rate=35, server_count=37, wait_time=20) <= .9043
    assert metrics.erlang_staffing(25, 900, 752, 0.90, 20).agents == 28
    assert 0.9042 <= metrics.service_level(37, metrics.traffic(35, 752, 900), 752, 20) <= 0.9043


def _exact_c(n: int, a: int) -> Fraction:
    """C(N, A) straight from the textbook formula, in exact fractions: the second method for the large case."""
    terms = [Fraction(a ** k, math.factorial(k)) for k in range(n)]
    top = Fraction(a ** n, math.factorial(n)) * Fraction(n, n - a)
    return top / (sum(terms) + top)


def test_a_large_interval_does_not_overflow_and_matches_exact_arithmetic():
    # 2,000 calls / 30 min at 180 s: A = 200 Erlangs; 200^208 / 208! overflows a float, the recursion does not
    s = metrics.erlang_staffing(2000, 1800, 180, 0.8, 20, shrinkage=0.3)
    assert s.agents == 208 and s.fte == 298  # 208 / 0.7 = 297.1
    exact = float(_exact_c(208, 200))
    assert s.wait_probability == pytest.approx(exact, rel=1e-12)
    below = 1 - float(_exact_c(207, 200)) * math.exp(-7 * 20 / 180)
    assert below < 0.8 <= 1 - exact * math.exp(-8 * 20 / 180)  # so 208 is the smallest N, by the second method too
    big = metrics.wait_probability(10_050, 10_000.0)  # thousands of agents: still a probability
    assert 0 < big < 1


def test_no_calls_need_no_agent():
    s = metrics.erlang_staffing(0, 1800, 180, 0.8, 20, shrinkage=0.3)
    assert (s.agents, s.fte, s.service_level) == (0, 0, None)


@pytest.mark.parametrize("call, code", [
    (lambda: metrics.erlang_staffing(100, 1800, 0, 0.8, 20), "aht_not_positive"),
    (lambda: metrics.erlang_staffing(-1, 1800, 180, 0.8, 20), "negative_calls"),
    (lambda: metrics.erlang_staffing(100, 1800, 180, 1.0, 20), "sl_target_range"),
    (lambda: metrics.erlang_staffing(100, 1800, 180, 0.0, 20), "sl_target_range"),
    (lambda: metrics.erlang_staffing(100, 0, 180, 0.8, 20), "interval_not_positive"),
    (lambda: metrics.erlang_staffing(100, 1800, 180, 0.8, 20, shrinkage=1.0), "shrinkage_range"),
    (lambda: metrics.erlang_staffing(100, 1800, 180, 0.8, 20, shrinkage=-0.1), "shrinkage_range"),
    (lambda: metrics.erlang_staffing(100, 1800, 180, 0.8, -5), "negative_seconds"),
    (lambda: metrics.erlang_staffing(100, 1800, 180, 0.8, 20, max_asa=0), "max_asa_not_positive"),
    (lambda: metrics.erlang_staffing(100, 1800, 180, 0.8, 20, max_occupancy=1.5), "max_occupancy_range"),
    (lambda: metrics.wait_probability(10, 10.0), "agents_not_above_traffic"),
    (lambda: metrics.service_level(9, 10.0, 180, 20), "agents_not_above_traffic"),
])
def test_impossible_input_is_refused_with_a_message_code(call, code):
    with pytest.raises(metrics.ErlangError) as exc:
        call()
    assert exc.value.code == code
    assert exc.value.text("zh-TW") != str(exc.value)  # both languages exist and differ


def test_cli_erlang_json(capsys):
    code = cli.main(["erlang", "--calls", "100", "--interval-minutes", "30", "--aht", "180", "--sl", "0.8",
                     "--seconds", "20", "--shrinkage", "0.3", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert set(doc) == {"agents", "service_level", "asa_seconds", "occupancy", "wait_probability", "fte"}
    assert (doc["agents"], doc["fte"], round(doc["service_level"], 3), round(doc["asa_seconds"], 1),
            round(doc["occupancy"], 3)) == (14, 20, 0.888, 7.8, 0.714)


def test_cli_erlang_text_in_both_languages(capsys):
    args = ["erlang", "--calls", "100", "--aht", "180", "--sl", "0.8", "--seconds", "20", "--shrinkage", "0.3"]
    assert cli.main(args) == 0
    zh = capsys.readouterr().out
    assert "所需人力：14 人" in zh and "7.8 秒" in zh and "88.8%" in zh and "：20 人" in zh
    assert cli.main([*args, "--lang", "en"]) == 0
    assert "Agents required: 14" in capsys.readouterr().out


def test_cli_erlang_bad_input_is_one_line_and_exit_2(capsys):
    code = cli.main(["erlang", "--calls", "100", "--aht", "0", "--sl", "0.8", "--seconds", "20", "--lang", "en"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().count("\n") == 0 and "Average handle time must be more than 0 seconds" in err
    assert "Traceback" not in err
