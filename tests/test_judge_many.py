"""judged_groups judges a KPI over every group at once (_judged_many); each group's KpiValue must be exactly what the
one-group judge (_judged, as kpi_status uses it) gives from the same row and the row before: field for field, on
random rows of every KPI the engine judges, with holes, zero denominators, groups new this period, small n, targets
per team and channel, a band of 0 or none, and counts the data covers to the period's end or not."""
from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, datetime

import numpy as np
import pytest

from kpi.metrics import KpiValue, load_catalog
from kpi.metrics._judge import _judged, _judged_many, _new_value, _rule, judged_groups, without_status

END = date(2026, 11, 15)
CATALOG = load_catalog()
JUDGED = [k for k in CATALOG.kpis.values() if k.dataset != "budget"]
# KPIs the catalog does not have, for the paths it does not take today: a count good near its target, a rate of a
# count with a spread of its own
MADE_UP = [replace(CATALOG["complaints"], id="complaints_near", better="near", target=40.0, band=5.0),
           replace(CATALOG["complaints_per_1000"], id="per_1000_spread", num="sum(x)", den="count(*)", ss="sum(x * x)")]
TEAMS = ["技術支援組", "帳務服務組", None]
CHANNELS = ["phone", "chat", "email", None]


def _columns(rng: random.Random, size: int) -> dict[str, np.ndarray]:
    """Columns as compute_kpis(stats=True) gives them: each KPI's value, and a ratio's __num, __den (__ss), NaN where
    missing; some values whole numbers, some KPIs wholly missing."""
    cols: dict[str, np.ndarray] = {}

    def hole(x: float, share: float = 0.1) -> float:
        return float("nan") if rng.random() < share else x

    for k in JUDGED + MADE_UP:
        values, nums, dens, sss = [], [], [], []
        for _ in range(size):
            den = rng.choice([0.0, 1.0, 5.0, 19.0, 20.0, 29.0, 30.0, 120.0, 400.0, 2500.0])
            if k.unit == "fraction":
                num = float(rng.randint(0, int(den))) if rng.random() < 0.8 else float(rng.choice([0, int(den)]))
                ss = float("nan")
            else:
                mean = rng.uniform(-5, 500) if k.unit == "nps" else rng.uniform(0, 600)
                num = den * mean
                ss = den * (mean * mean + rng.choice([0.0, rng.uniform(0, 900)])) if rng.random() < 0.9 else num * mean
            value = num / den if den else float("nan")
            if k.unit == "count":
                value = float(rng.choice([0, 1, 3, 40, 41, 600, 621]))
            if k.counted:
                value = rng.choice([0.0, 15.7, 4.9, 25.0, 1000 * 55 / 3504])
            values.append(hole(value, 0.15))
            nums.append(hole(num))
            dens.append(hole(den))
            sss.append(hole(ss))
        cols[k.id] = np.array(values)
        if k.num:
            cols[f"{k.id}__num"], cols[f"{k.id}__den"] = np.array(nums), np.array(dens)
            if k.ss:
                cols[f"{k.id}__ss"] = np.array(sss)
    cols["complaints"] = np.array([hole(float(rng.choice([0, 2, 55, 1100]))) for _ in range(size)])
    cols["answered"] = np.array([hole(float(rng.choice([0, 5, 3504, 35040]))) for _ in range(size)])
    return cols


def _row(cols: dict[str, np.ndarray | None], i: int | None) -> dict[str, float]:
    """A group's row as kpi_records gave it (Python floats, NaN where missing); {} for a group with no row."""
    if i is None:
        return {}
    return {c: float("nan") if v is None else float(v[i]) for c, v in cols.items()}


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("by", ["agent", "team", "channel"])
@pytest.mark.parametrize("cutoff", [datetime(2026, 11, 22), datetime(2026, 11, 10)])  # counts covered whole, or not
def test_every_group_is_judged_as_the_one_group_judge_does(seed, by, cutoff):
    rng = random.Random(seed)
    size = 120
    keys = {"agent": [f"A{i:03d}" for i in range(size)], "team": [f"T{i}" for i in range(size)],
            "channel": [f"C{i}" for i in range(size)]}[by]
    if by == "team":
        keys[:3] = TEAMS[:2] + ["會員服務組"]
    if by == "channel":
        keys[:3] = ["phone", "chat", "email"]
    earlier_keys = [k for k in keys if rng.random() < 0.8]  # a fifth of the groups have no row before
    rng.shuffle(earlier_keys)
    now, before = _columns(rng, size), _columns(rng, len(earlier_keys))
    now["outbound"] = None  # a column with no value at all (a dataset that does not apply)
    team_of = {k: rng.choice(TEAMS) for k in keys}
    channel = rng.choice(CHANNELS) if by != "channel" else None
    team = rng.choice(TEAMS)
    settings = {**CATALOG.settings, "__cutoffs": {"contacts": cutoff, "surveys": cutoff, "complaints": cutoff}}

    got = judged_groups(CATALOG, settings, [(earlier_keys, before), (keys, now)], by, END, team, channel, team_of)

    at = {k: i for i, k in enumerate(earlier_keys)}
    checked = 0
    for i, key in enumerate(keys):
        grp_team = key if by == "team" else team_of.get(key, team)
        grp_channel = key if by == "channel" else channel
        row, earlier = _row(now, i), _row(before, at.get(key))
        assert list(got[key]) == [k.id for k in CATALOG.kpis.values() if k.id in now]
        for k in CATALOG.kpis.values():
            if k.id not in now:
                continue
            one = _judged(_rule(k, END, settings), row, earlier, grp_team, grp_channel, None,
                          k.target_for(grp_team, grp_channel))
            assert isinstance(got[key][k.id], KpiValue)
            assert got[key][k.id] == one, (key, k.id)
            assert repr(got[key][k.id]) == repr(one)  # the same types: Python floats and str, not NumPy's
            checked += 1
    assert checked == size * len([k for k in CATALOG.kpis.values() if k.id in now])
    statuses = {v.status for g in got.values() for v in g.values()}
    trends = {v.trend for g in got.values() for v in g.values()}
    assert {"good", "warning", "bad", "uncertain", None} <= statuses  # the fixtures reach every status
    assert {"better", "worse", "steady", None} <= trends  # and every trend


def test_no_groups_judge_to_nothing():
    assert judged_groups(CATALOG, CATALOG.settings, [([], {}), ([], {})], "agent", END, None, None) == {}


@pytest.mark.parametrize("seed", [4, 5, 6, 7])
def test_any_target_and_band_judge_as_the_one_group_judge_does(seed):
    # Targets and bands beyond the catalog's: none, a band of 0 or none (a KPI good near its target judged for a
    # change with no band), a target right at the values
    rng = random.Random(seed)
    size = 200
    now, before = _columns(rng, size), _columns(rng, size)
    gone = rng.sample(range(size), 20)  # groups with no row before at all
    for c in before:
        before[c][gone] = np.nan
    for cutoff in (datetime(2026, 11, 22), datetime(2026, 11, 10)):
        settings = {**CATALOG.settings, "__cutoffs": {"contacts": cutoff, "surveys": cutoff, "complaints": cutoff}}
        for k in JUDGED + MADE_UP:
            targets = []
            for i in range(size):
                v = now[k.id][i]
                t = rng.choice([None, 0.0, 0.1, 0.8, 30.0, 360.0, None if v != v else float(v)])
                targets.append((t, rng.choice([None, 0.0, 0.03, 0.05, 10.0, 60.0])))
            rule = _rule(k, END, settings)
            got = _judged_many(rule, now, before, targets)
            for i in range(size):
                one = _judged(rule, _row(now, i), _row(before, i), None, None, None, targets[i])
                assert got[i] == one and repr(got[i]) == repr(one), (k.id, i)


def test_a_rate_with_more_successes_than_its_n_is_refused_by_both():
    k = CATALOG["fcr_rate"]
    rule = _rule(k, END, CATALOG.settings)
    now = {"fcr_rate": np.array([0.5, 1.2]), "fcr_rate__num": np.array([5.0, 6.0]), "fcr_rate__den": np.array([10.0, 5.0])}
    with pytest.raises(ValueError, match="0..n"):
        _judged_many(rule, now, {}, [(0.75, 0.05)] * 2)
    with pytest.raises(ValueError, match="0..n"):
        _judged(rule, _row(now, 1), {}, None, None, None, (0.75, 0.05))


def test_values_made_without_new_are_the_named_tuple_s_own():
    made = _new_value(KpiValue, ("fcr_rate", 0.7, 0.75, "bad", 0.8, -0.1, 0.05, 40.0, (0.55, 0.82), "worse", None, 0.07))
    built = KpiValue("fcr_rate", 0.7, 0.75, "bad", 0.8, -0.1, 0.05, 40.0, (0.55, 0.82), "worse", None, 0.07)
    assert type(made) is KpiValue and made == built and repr(made) == repr(built) and hash(made) == hash(built)
    assert made.se == 0.07 and made.interval == (0.55, 0.82) and KpiValue("nps", 30, 40, None, None, None).se is None
    assert without_status(built) == built._replace(status=None) and built.status == "bad"
    assert repr(without_status(built)) == repr(built._replace(status=None))
    unjudged = built._replace(status=None)
    assert without_status(unjudged) is unjudged


def test_the_collector_is_on_again_after_tables_judged_in_many_threads_at_once():
    # weekly_view judges its channel and team tables side by side, and every session runs in a thread of its own:
    # a thread that saw the collector off (another's pause) must not leave it off (it did, 5 runs in 5, before)
    import gc
    import sys
    import threading

    from kpi.metrics._judge import _collector_paused

    def pause_often():
        for _ in range(3000):
            with _collector_paused():
                pass

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=pause_often) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(switch)
    assert gc.isenabled()
    gc.disable()  # off before: left off
    try:
        with _collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_process_forked_while_a_table_is_judged_collects_again():
    # A thread of the parent inside a pause when another forks: the child has no such thread, so its pause ends there
    import gc
    import os
    import threading

    from kpi.metrics._judge import _collector_paused

    inside, leave = threading.Event(), threading.Event()

    def judging():
        with _collector_paused():
            inside.set()
            leave.wait(10)

    t = threading.Thread(target=judging)
    t.start()
    try:
        inside.wait(10)
        assert not gc.isenabled()
        pid = os.fork()
        if pid == 0:  # the child: on again, and a pause of its own begins and ends
            ok = gc.isenabled()
            with _collector_paused():
                ok = ok and not gc.isenabled()
            os._exit(0 if ok and gc.isenabled() else 1)
        assert os.waitpid(pid, 0)[1] == 0
    finally:
        leave.set()
        t.join()
    assert gc.isenabled()
