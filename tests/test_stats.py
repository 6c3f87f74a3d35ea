"""Intervals and change tests on counts worked out by hand (and Newcombe 1998's published Wilson intervals)."""
from __future__ import annotations

import pytest

from kpi.metrics import nps_interval, two_proportion_z, wilson_interval, xmr_limits
from kpi.metrics._stats import poisson_interval


def test_wilson_interval_of_4_of_5_is_wide():
    # p = .8, z² = 3.8415: centre = (.8 + .38415) / 1.76830 = .66965; half = 1.10839 * sqrt(.032 + .038415) = .29412
    low, high = wilson_interval(4, 5)
    assert low == pytest.approx(0.3755, abs=5e-5) and high == pytest.approx(0.9638, abs=5e-5)


@pytest.mark.parametrize("x, n, low, high", [
    (81, 263, 0.2553, 0.3662),   # Newcombe (1998), Stat Med 17:857, table I, method 3 (score, no continuity correction)
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718),
])
def test_wilson_interval_matches_newcombes_published_values(x, n, low, high):
    assert wilson_interval(x, n) == pytest.approx((low, high), abs=5e-5)


def test_wilson_interval_at_n_400_is_about_five_points_either_side():
    # 200/400: centre .5; half = 1.96 / 1.009604 * sqrt(.000625 + 3.8415 / 640000) = 1.94131 * .025120 = .048766
    assert wilson_interval(200, 400) == pytest.approx((0.4512, 0.5488), abs=5e-5)
    # 320/400: centre (.8 + .0048019) / 1.0096037 = .79715; half = 1.94131 * sqrt(.0004 + .0000060) = .039117
    assert wilson_interval(320, 400) == pytest.approx((0.7580, 0.8363), abs=5e-5)


def test_wilson_interval_of_nothing_is_none_and_bad_counts_are_refused():
    assert wilson_interval(0, 0) is None
    with pytest.raises(ValueError, match="0..n"):
        wilson_interval(6, 5)


def test_nps_interval_from_the_three_way_split():
    # 50 promoters, 30 passives, 20 detractors: NPS 30; var = (.5 + .2 - .3²) / 100 = .0061; se = .078102
    low, high = nps_interval(50, 30, 20)
    assert low == pytest.approx(30 - 100 * 1.959964 * 0.0781025, abs=1e-3)  # 14.692
    assert high == pytest.approx(45.308, abs=1e-3)
    assert nps_interval(0, 0, 0) is None
    assert nps_interval(5, 0, 0) == (100.0, 100.0)  # all promoters: no spread, clipped to the scale


def test_xmr_limits_on_a_13_point_series():
    baseline = [10, 12, 11, 13, 12, 11, 10, 12, 13, 11, 12, 11]
    # mean 138 / 12 = 11.5; moving ranges 2,1,2,1,1,1,2,1,2,1,1 = 15 over 11 = 1.3636; 2.66 x 1.3636 = 3.6273
    lim = xmr_limits(baseline)
    assert (lim.centre, lim.points) == (11.5, 12)
    assert lim.mean_moving_range == pytest.approx(15 / 11)
    assert (lim.lower, lim.upper) == pytest.approx((7.8727, 15.1273), abs=1e-4)
    assert [lim.judge(x) for x in (16, 15, 8, 7.5)] == ["above", "within", "within", "below"]


def test_xmr_limits_skip_missing_points_and_need_two():
    assert xmr_limits([None, 4.0, float("nan"), 6.0]).centre == 5.0
    assert xmr_limits([3.0, None]) is None


def test_two_proportion_test_separates_noise_from_change():
    # 80/100 vs 70/100: pooled .75, se = sqrt(.1875 x .02) = .061237, z = 1.633: noise
    assert two_proportion_z(80, 100, 70, 100) == pytest.approx(1.63299, abs=1e-4)
    assert abs(two_proportion_z(80, 100, 70, 100)) < 1.96
    # the same rates on twice the responses: se = .043301, z = 2.309: a real change
    assert two_proportion_z(160, 200, 140, 200) == pytest.approx(2.3094, abs=1e-4)
    assert two_proportion_z(0, 10, 0, 10) is None and two_proportion_z(1, 0, 1, 10) is None


@pytest.mark.parametrize("now, before, trend", [
    (600, 621, "steady"),  # z = -21 / sqrt(1221) = -0.60: a quarter's 21 fewer complaints is noise
    (55, 30, "worse"),  # z = 25 / sqrt(85) = 2.71 > 1.96: more complaints, worse
    (30, 55, "better"),
    (0, 0, None),  # nothing either time: nothing to judge
])
def test_a_count_is_judged_against_the_period_before_as_two_poisson_counts(now, before, trend):
    from kpi.metrics import load_catalog
    from kpi.metrics._judge import _trend

    complaints = load_catalog()["complaints"]
    assert complaints.unit == "count" and complaints.better == "lower"
    assert _trend(complaints, {"complaints": now}, {"complaints": before}, None, None) == trend


def test_only_a_flow_count_of_a_period_the_data_reaches_is_judged_as_poisson_counts():
    # November to the 30th with complaints to the 22nd: 22 days against October's 31 would read "better"; a backlog's
    # snapshots share most of their items; the e-mail backlog is counted at the data's cut-off.
    from datetime import date, datetime

    from kpi.metrics import load_catalog
    from kpi.metrics._judge import _flow_counted

    cat = load_catalog()
    settings = {"__cutoffs": {"complaints": datetime(2026, 11, 22, 20, 3), "contacts": datetime(2026, 11, 23, 10, 11)}}
    assert _flow_counted(cat["complaints"], date(2026, 11, 22), settings)
    assert not _flow_counted(cat["complaints"], date(2026, 11, 30), settings)
    assert not _flow_counted(cat["open_complaints"], date(2026, 11, 22), settings)
    assert not _flow_counted(cat["unanswered_backlog"], date(2026, 11, 22), settings)
    assert not _flow_counted(cat["csat"], date(2026, 11, 22), settings)  # not a count


def test_poisson_interval_of_55_complaints():
    # score interval: 55 + 1.96²/2 = 56.92073; half = 1.959964 * sqrt(55 + 1.96²/4) = 1.959964 * 7.48068 = 14.66186
    assert poisson_interval(55) == pytest.approx((42.2589, 71.5826), abs=5e-4)
    assert poisson_interval(0) == pytest.approx((0.0, 3.8415), abs=5e-4)  # none seen: up to 3.84 is still likely


def test_a_rate_per_1000_is_judged_on_its_count():
    # 55 complaints over 3,504 answered: 15.70 per 1,000 against a target of 15 (band 5) read 注意 with no n and no
    # interval. Its interval is the count's, scaled: 42.2589 / 3.504 = 12.06 to 71.5826 / 3.504 = 20.43: it holds
    # 15, so uncertain, with n 55. 1,100 over 35,040 (31.39): 1,100 + 1.92 ± 1.96 x sqrt(1,100.96) = 1,036.9 to
    # 1,167.0 (65.03 either side of 1,101.92), / 35.04 = 29.59 to 33.30: beyond 20, bad.
    from datetime import date

    from kpi.metrics import judge, load_catalog
    cat = load_catalog()
    k = cat["complaints_per_1000"]
    few = judge(k, {"complaints_per_1000": 1000 * 55 / 3504, "complaints": 55.0, "answered": 3504.0}, {},
                date(2026, 11, 22), None, None, cat.settings, target_band=(15.0, 5.0))
    assert few.n == 55 and few.interval == pytest.approx((12.060, 20.429), abs=5e-3) and few.status == "uncertain"
    many = judge(k, {"complaints_per_1000": 1000 * 1100 / 35040, "complaints": 1100.0, "answered": 35040.0}, {},
                 date(2026, 11, 22), None, None, cat.settings, target_band=(15.0, 5.0))
    assert many.interval == pytest.approx((29.592, 33.303), abs=5e-3) and many.status == "bad"
    # None over 5 answered was a settled, green 0.00: up to 3.8415 complaints are still likely, x 1000 / 5 = 768.3 per
    # 1,000, which holds 15: uncertain. None over 5,000: up to 0.77 per 1,000, below 15: good.
    zero = {"complaints_per_1000": 0.0, "complaints": 0.0}
    few_calls = judge(k, {**zero, "answered": 5.0}, {}, date(2026, 11, 22), None, None, cat.settings,
                      target_band=(15.0, 5.0))
    assert few_calls.interval == pytest.approx((0.0, 768.29), abs=1e-2) and few_calls.status == "uncertain"
    many_calls = judge(k, {**zero, "answered": 5000.0}, {}, date(2026, 11, 22), None, None, cat.settings,
                       target_band=(15.0, 5.0))
    assert many_calls.interval == pytest.approx((0.0, 0.7683), abs=1e-4) and many_calls.status == "good"
