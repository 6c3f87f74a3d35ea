"""Rollups kept at import (kpi.metrics._rollup, kpi.store refresh_rollups) of contacts, surveys and complaints: the
engine answers from them with exactly the numbers raw rows give, for every KPI at every grain, filter and scope;
imports, re-imports and undo (of the dataset, and of the contacts surveys take their hour and team from) keep them
exact; a database from before them gets one when opened for writing; other settings never read a rollup built with
different ones."""
from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from kpi import imports, metrics, store
from kpi.auth.access import Scope
from kpi.metrics import _rollup

GROUPINGS = (None, "day", "week", "month", "team", "agent", "channel", "queue", "direction", "category",
             "weekday_hour", "interval_60")
FILTERS = ({}, {"team": "A"}, {"channel": "phone"}, {"channel": "email"}, {"queue": "q1"})
ROLLED = ("contacts", "surveys", "complaints")


def same(con, start, end, by, **kw) -> None:
    raw = metrics.compute_kpis(con, start, end, by, rollup=False, stats=True, **kw)
    rolled = metrics.compute_kpis(con, start, end, by, stats=True, **kw)
    pd.testing.assert_frame_equal(rolled, raw, check_dtype=False, rtol=1e-12, atol=0)


def used(con, dataset: str = "contacts") -> bool:
    cat = metrics.load_catalog()
    with con.cursor() as cur:
        return _rollup.usable(cur, dataset, _rollup.fingerprint(cat, cat.settings, dataset)) is not None


def random_contacts(seed: int, n: int, start: datetime, id_prefix: str = "c") -> pd.DataFrame:
    """Contacts with every case the KPIs tell apart: 4 channels (2 real-time, e-mail deferred), all 4 directions,
    unknown answered/transferred/resolved, missing and half-second waits and times, arrivals at any minute."""
    rng = np.random.default_rng(seed)
    arrived = pd.to_datetime(start) + pd.to_timedelta(rng.integers(0, 21 * 24 * 60, n), unit="min")
    answered = rng.choice([True, False], n, p=[0.8, 0.2])
    wait = rng.integers(0, 240, n) / 2.0
    frame = pd.DataFrame({
        "contact_id": [f"{id_prefix}{i}" for i in range(n)],
        "arrived_at": arrived,
        "channel": rng.choice(["phone", "chat", "email", "line"], n),
        "queue": rng.choice(["q1", "q2", None], n),
        "team": rng.choice(["A", "B", None], n),
        "agent_id": rng.choice(["a1", "a2", "a3", None], n),
        "direction": rng.choice(["inbound", "outbound", "callback", "transfer", None], n, p=[0.6, 0.1, 0.1, 0.1, 0.1]),
        "answered": answered,
        "answered_at": [a + timedelta(hours=float(h)) if ok else None
                        for a, ok, h in zip(arrived, answered, rng.integers(0, 30, n))],
        "wait_seconds": np.where(rng.random(n) < 0.05, np.nan, wait),
        "talk_seconds": np.where(answered & (rng.random(n) < 0.95), rng.integers(10, 900, n) / 2.0, np.nan),
        "hold_seconds": np.where(rng.random(n) < 0.5, rng.integers(0, 100, n) * 1.0, np.nan),
        "acw_seconds": rng.integers(0, 60, n) * 1.0,
        "transferred": rng.choice([True, False, None], n),
        "resolved_first_contact": rng.choice([True, False, None], n),
        # names that change and go missing, for agent_teams_and_names (arrivals by the minute: ties in the latest)
        "agent_name": rng.choice(["Ann", "安安", "Bo", None], n),
    })
    return frame


def csv_of(tmp_path, frame: pd.DataFrame, name: str):
    out = frame.copy()
    out["arrived_at"] = out["arrived_at"].dt.strftime("%Y-%m-%d %H:%M:%S")
    out["answered_at"] = [None if a is None or pd.isna(a) else a.strftime("%Y-%m-%d %H:%M:%S") for a in out["answered_at"]]
    for c in ("answered", "transferred", "resolved_first_contact"):
        out[c] = [None if v is None else ("Y" if v else "N") for v in out[c]]
    p = tmp_path / name
    out.to_csv(p, index=False)
    return p


def random_surveys(seed: int, n: int, start: datetime, contact_ids, id_prefix: str = "s") -> pd.DataFrame:
    """Surveys linked to contacts (known and unknown ids) or to none, every score missing at times, each value of
    each score (csat 1-5, nps 0-10 with promoters, passives and detractors, ces 1-7)."""
    rng = np.random.default_rng(seed)
    linked = rng.random(n) < 0.6
    return pd.DataFrame({
        "survey_id": [f"{id_prefix}{i}" for i in range(n)],
        "responded_at": pd.to_datetime(start) + pd.to_timedelta(rng.integers(0, 21 * 24 * 60, n), unit="min"),
        "contact_id": np.where(linked, rng.choice(np.append(np.asarray(contact_ids, dtype=object), "nowhere"), n), None),
        "team": rng.choice(["A", "B", None], n),
        "agent_id": rng.choice(["a1", "a2", "a3", None], n),
        "csat": np.where(rng.random(n) < 0.1, np.nan, rng.integers(1, 6, n)),
        "nps": np.where(rng.random(n) < 0.2, np.nan, rng.integers(0, 11, n)),
        "ces": np.where(rng.random(n) < 0.3, np.nan, rng.integers(1, 8, n)),
        "comment": rng.choice(["", "ok", None], n),
    })


def random_complaints(seed: int, n: int, start: datetime, id_prefix: str = "p") -> pd.DataFrame:
    """Complaints open and resolved, due by due_at, by sla_hours or by the default, resolved in time and late, reopened,
    escalated or not (or unknown), in categories, channels, teams and agents (each sometimes missing)."""
    rng = np.random.default_rng(seed)
    opened = pd.to_datetime(start) + pd.to_timedelta(rng.integers(0, 21 * 24 * 60, n), unit="min")
    resolved = opened + pd.to_timedelta(rng.integers(10, 14 * 24 * 60, n), unit="min")
    how_due = rng.integers(0, 3, n)
    return pd.DataFrame({
        "complaint_id": [f"{id_prefix}{i}" for i in range(n)],
        "opened_at": opened,
        "resolved_at": resolved.where(rng.random(n) < 0.7),
        "due_at": (opened + pd.to_timedelta(rng.integers(1, 10 * 24, n), unit="h")).where(how_due == 0),
        "sla_hours": np.where(how_due == 1, rng.integers(4, 200, n) * 1.0, np.nan),
        "category": rng.choice(["wait", "rude", "billing", None], n),
        "channel": rng.choice(["phone", "chat", "email", None], n),
        "team": rng.choice(["A", "B", None], n),
        "agent_id": rng.choice(["a1", "a2", "a3", None], n),
        "priority": rng.choice(["high", "low"], n),
        "reopened_count": rng.choice([0, 0, 1, 2], n),
        "escalated": rng.choice(["Y", "N", None], n),
    })


def table_csv(tmp_path, frame: pd.DataFrame, name: str):
    out = frame.copy()
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = out[c].dt.strftime("%Y-%m-%d %H:%M:%S")
        elif out[c].dtype == float and c != "sla_hours":
            out[c] = out[c].astype("Int64")
    p = tmp_path / name
    out.to_csv(p, index=False)
    return p


def rollup_rows(con, dataset: str = "contacts", suffix: str = "") -> pd.DataFrame:
    frame = con.execute(f"SELECT * FROM {_rollup.ROLLUP_DATASETS[dataset]}{suffix}").df()
    keys = list(frame.columns[:list(frame.columns).index("__n")])  # the hour and the dimensions
    return frame.sort_values(keys, na_position="first").reset_index(drop=True)


def same_agents(con, start, end, **kw) -> None:
    """agent_teams_and_names from the contacts' per-day agent table as from the raw rows."""
    assert metrics.agent_teams_and_names(con, start, end, **kw) == \
        metrics.agent_teams_and_names(con, start, end, rollup=False, **kw)


def assert_rollup_exact(db, datasets=ROLLED) -> None:
    """The kept rollups equal ones built from scratch from the rows now stored, and answer like raw rows."""
    with store.open_db(db) as con:
        for dataset in datasets:
            assert used(con, dataset), dataset
            suffixes = ["", _rollup.TEAMS_SUFFIX, _rollup.DAYS_SUFFIX, _rollup.TEAMS_SUFFIX + _rollup.DAYS_SUFFIX]
            suffixes += [_rollup.AGENTS_SUFFIX] if dataset == "contacts" else []
            kept = [rollup_rows(con, dataset, s) for s in suffixes]
            with con.cursor() as cur:
                _rollup.build(cur, metrics.load_catalog(), dataset)
            for s, frame in zip(suffixes, kept):
                pd.testing.assert_frame_equal(frame, rollup_rows(con, dataset, s), check_dtype=False, obj=dataset + s)
        same(con, date(2026, 3, 1), date(2026, 3, 31), "week")
        same(con, date(2026, 3, 1), date(2026, 3, 31), "agent", team="A")
        same(con, date(2026, 3, 1), date(2026, 3, 31), "category")
        same_agents(con, date(2026, 3, 1), date(2026, 3, 31))
        same_agents(con, date(2026, 3, 9), date(2026, 3, 15), scope=Scope(role="supervisor", teams=frozenset({"A"})))


def test_sample_rollup_and_raw_agree_for_every_kpi_grain_and_filter(sample_db, tmp_path):
    db = tmp_path / "s.duckdb"
    shutil.copy(sample_db, db)
    with store.open_db(db, read_only=True) as con:
        assert all(used(con, d) for d in ROLLED)  # the sample load kept them
        first, last = con.execute("SELECT min(arrived_at)::DATE, max(arrived_at)::DATE FROM contacts").fetchone()
        for by in GROUPINGS:
            same(con, first, last, by)
        for f in FILTERS[1:]:
            for by in ("week", "agent", "weekday_hour", "category"):
                same(con, first, last, by, **f)
        week_end = last - timedelta(days=last.weekday() + 1)  # the last complete week, and the incomplete tail
        same(con, week_end - timedelta(days=6), week_end, None)
        same(con, last - timedelta(days=2), last, "day")
        team = con.execute("SELECT team FROM contacts WHERE team IS NOT NULL LIMIT 1").fetchone()[0]
        same(con, first, last, "team", scope=Scope(role="supervisor", teams=frozenset({team})))
        same(con, first, last, "category", scope=Scope(role="supervisor", teams=frozenset({team})))
        same(con, first, last, "week", scope=Scope(role="agent", teams=frozenset({team}), agent_id="A006"))
        same_agents(con, first, last)
        same_agents(con, week_end - timedelta(days=6), week_end, scope=Scope(role="supervisor", teams=frozenset({team})))
        teams, names = metrics.agent_teams_and_names(con, first, last)
        assert len(teams) == con.execute("SELECT count(DISTINCT agent_id) FROM contacts").fetchone()[0] and names


def random_database(tmp_path, seed: int, n: int = 3000):
    db = tmp_path / "r.duckdb"
    frame = random_contacts(seed, n, datetime(2026, 3, 2))
    imports.import_file("contacts", csv_of(tmp_path, frame, "c.csv"), db=db)
    surveys = random_surveys(seed, n // 3, datetime(2026, 3, 2), frame["contact_id"])
    imports.import_file("surveys", table_csv(tmp_path, surveys, "s.csv"), db=db)
    imports.import_file("complaints", table_csv(tmp_path, random_complaints(seed, n // 10, datetime(2026, 3, 2)),
                                                "p.csv"), db=db)
    return db


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_fixtures_rollup_and_raw_agree(tmp_path, seed):
    db = random_database(tmp_path, seed)
    with store.open_db(db, read_only=True) as con:
        assert all(used(con, d) for d in ROLLED)
        assert con.execute("SELECT sum(__n) FROM rollup_contacts").fetchone()[0] == 3000
        assert con.execute("SELECT sum(__n) FROM rollup_surveys").fetchone()[0] == 1000
        assert con.execute("SELECT sum(__n) FROM rollup_complaints").fetchone()[0] == 300
        for by in GROUPINGS:
            for f in FILTERS:
                same(con, date(2026, 3, 1), date(2026, 3, 25), by, **f)
        same(con, date(2026, 3, 4), date(2026, 3, 10), "day", channel="email")  # a part of the range only
        same(con, date(2026, 3, 9), date(2026, 3, 15), "category", team="B")
        for days in ((1, 25), (4, 10), (9, 9)):
            same_agents(con, date(2026, 3, days[0]), date(2026, 3, days[1]))
            same_agents(con, date(2026, 3, days[0]), date(2026, 3, days[1]),
                        scope=Scope(role="supervisor", teams=frozenset({"B"})))


def test_every_survey_and_complaint_kpi_but_the_median_is_summed_in_the_rollups():
    cat = metrics.load_catalog()
    # Hand-checked: a mean is a sum over a count, NPS counts of promoters and detractors; a median is no sum.
    assert [k.id for k in _rollup.summed(cat.of("surveys"))] == ["survey_responses", "csat", "csat_mean", "nps",
                                                                   "ces_mean"]
    assert [k.id for k in cat.of("complaints") if k not in _rollup.summed(cat.of("complaints"))] == [
        "median_resolution_hours"]
    assert _rollup.raw_tables("surveys") == ["contacts", "surveys"]  # a survey counts in its contact's hour and team


def test_survey_and_complaint_kpis_from_the_rollups_by_hand(tmp_path):
    """Four surveys and three complaints whose KPIs are worked out by hand, answered from the rollups."""
    db = tmp_path / "h.duckdb"
    contacts = random_contacts(11, 2, datetime(2026, 3, 2))
    contacts["arrived_at"] = pd.to_datetime(["2026-03-02 09:10", "2026-03-09 10:00"])
    contacts["team"] = ["A", "B"]
    imports.import_file("contacts", csv_of(tmp_path, contacts, "c.csv"), db=db)
    surveys = pd.DataFrame({  # c0 is in week 10 and team A: s1 counts there though answered in week 11 by team B
        "survey_id": ["s1", "s2", "s3", "s4"],
        "responded_at": pd.to_datetime(["2026-03-10 08:00", "2026-03-03 11:00", "2026-03-04 12:00",
                                        "2026-03-10 09:00"]),
        "contact_id": ["c0", None, None, "c1"], "team": ["B", "A", "A", None], "agent_id": [None] * 4,
        "csat": [5, 4, 2, np.nan], "nps": [10, 9, 3, 7], "ces": [7, np.nan, 3, 5], "comment": [None] * 4})
    imports.import_file("surveys", table_csv(tmp_path, surveys, "s.csv"), db=db)
    complaints = pd.DataFrame({
        "complaint_id": ["p1", "p2", "p3"],
        "opened_at": pd.to_datetime(["2026-03-02 10:00", "2026-03-03 10:00", "2026-03-04 10:00"]),
        "resolved_at": pd.to_datetime(["2026-03-02 20:00", "2026-03-06 10:00", None]),
        "due_at": pd.to_datetime(["2026-03-03 10:00", None, None]), "sla_hours": [np.nan, 24.0, np.nan],
        "category": ["wait", "wait", "rude"], "channel": ["phone"] * 3, "team": ["A"] * 3, "agent_id": [None] * 3,
        "priority": [None] * 3, "reopened_count": [0, 1, 0], "escalated": ["Y", "N", "N"]})
    imports.import_file("complaints", table_csv(tmp_path, complaints, "p.csv"), db=db)
    with store.open_db(db, read_only=True) as con:
        assert all(used(con, d) for d in ROLLED)
        week = metrics.compute_kpis(con, date(2026, 3, 2), date(2026, 3, 8), team="A").iloc[0]
        # s1 (via c0), s2, s3: csat 5, 4, 2 -> 2 of 3 at 4+, mean 11/3; nps 10, 9, 3 -> 100 * (2 - 1) / 3; ces 7, 3 -> 5
        assert (week["survey_responses"], week["csat"], week["csat_mean"]) == (3, 2 / 3, 11 / 3)
        assert (week["nps"], week["ces_mean"]) == (100 / 3, 5.0)
        # p1 in time (10 h < its due 24 h), p2 late (72 h > sla 24 h), p3 open: 2 of 3 resolved, 1 of 2 in time (p3's
        # default due is after the cut-off, 03-06 10:00), reopened 1 of 2, escalated 1 of 3; median of 10 h and 72 h
        assert (week["complaints"], week["escalation_rate"]) == (3, 1 / 3)
        stats = metrics.compute_kpis(con, date(2026, 3, 2), date(2026, 3, 8), team="A", stats=True).iloc[0]
        assert (stats["complaint_resolution_rate__num"], stats["complaint_resolution_rate__den"]) == (2, 3)
        assert (stats["complaint_sla_rate__num"], stats["complaint_sla_rate__den"]) == (1, 2)
        assert (stats["reopen_rate__num"], stats["reopen_rate__den"]) == (1, 2)
        same(con, date(2026, 3, 2), date(2026, 3, 8), None, team="A")
        same(con, date(2026, 3, 2), date(2026, 3, 15), "week")
        same(con, date(2026, 3, 2), date(2026, 3, 15), "category")
        raw = metrics.compute_kpis(con, date(2026, 3, 2), date(2026, 3, 8), team="A", rollup=False).iloc[0]
        assert raw["median_resolution_hours"] is pd.NA or pd.isna(raw["median_resolution_hours"])  # not mature yet


def test_import_reimport_and_undo_keep_the_rollup_exact(tmp_path):
    db = tmp_path / "u.duckdb"
    first = random_contacts(7, 1500, datetime(2026, 3, 2))
    r1 = imports.import_file("contacts", csv_of(tmp_path, first, "a.csv"), db=db)
    assert_rollup_exact(db)
    # A re-import: 300 of the same contacts moved to other hours, teams and outcomes (upsert), 500 new ones.
    changed = random_contacts(8, 300, datetime(2026, 3, 9))
    changed["contact_id"] = first["contact_id"][:300].to_numpy()
    new = random_contacts(9, 500, datetime(2026, 3, 16), id_prefix="n")
    r2 = imports.import_file("contacts", csv_of(tmp_path, pd.concat([changed, new]), "b.csv"), db=db)
    assert (r2.updated, r2.inserted) == (300, 500)
    assert_rollup_exact(db)
    with store.open_db(db) as con:
        before = con.execute("SELECT sum(__n) FROM rollup_contacts").fetchone()[0]
        imports.undo_import(con, r2.import_id, by="test")
        assert before == 2000
        assert con.execute("SELECT sum(__n) FROM rollup_contacts").fetchone()[0] == 1500
    assert_rollup_exact(db)
    with store.open_db(db) as con:
        imports.undo_import(con, r1.import_id, by="test")
        assert con.execute("SELECT count(*) FROM rollup_contacts").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM rollup_contacts_teams").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM rollup_contacts_agents").fetchone()[0] == 0
    with store.open_db(db, read_only=True) as con:
        assert used(con)


def test_touched_days_become_ranges_of_at_most_so_many_rows():
    d = lambda day: datetime(2026, 3, day)  # noqa: E731
    touched = [(d(2), 100), (d(3), 50), (d(5), 10), (d(20), 5)]
    stored = {d(2): 300, d(4): 400, d(5): 100, d(10): 1000, d(20): 0}
    # 2 Mar: 300 + 100; 3 Mar: + 50 = 450; 5 Mar: + 400 (4 Mar, untouched, read with them) + 110 = 960; 20 Mar would add
    # 10 Mar's 1,000 and its own 5: past 1,000, so it starts a range
    assert store._rollup.day_ranges(touched, stored, 1000) == [(d(2), d(6)), (d(20), d(21))]
    # at most 900: 5 Mar (960) starts a range too; 4 Mar, untouched, is in none
    assert store._rollup.day_ranges(touched, stored, 900) == [(d(2), d(4)), (d(5), d(6)), (d(20), d(21))]
    assert store._rollup.day_ranges([(d(2), 2000)], {}, 1000) == [(d(2), d(3))]  # one day more than the most: alone


def test_an_import_touching_two_periods_leaves_the_months_between_alone_and_exact(tmp_path, monkeypatch):
    db = tmp_path / "g.duckdb"
    march = random_contacts(11, 600, datetime(2026, 3, 2))
    may = random_contacts(12, 400, datetime(2026, 5, 4), id_prefix="m")
    imports.import_file("contacts", csv_of(tmp_path, pd.concat([march, may]), "a.csv"), db=db)
    # 200 March contacts moved to other hours (still in March) and 300 new ones in July: nothing in May
    moved = random_contacts(13, 200, datetime(2026, 3, 3))
    moved["contact_id"] = march["contact_id"][:200].to_numpy()
    july = random_contacts(14, 300, datetime(2026, 7, 6), id_prefix="j")
    monkeypatch.setattr(store._rollup, "RANGE_ROWS", 500)  # as a file of millions would be cut
    r = imports.import_file("contacts", csv_of(tmp_path, pd.concat([moved, july]), "b.csv"), db=db)
    assert (r.updated, r.inserted) == (200, 300)
    with store.open_db(db) as con:
        ranges = store.import_span(con, "contacts", r.import_id)["contacts"]
        may_rows = con.execute("SELECT sum(__n) FROM rollup_contacts WHERE __hour >= '2026-04-01' AND "
                               "__hour < '2026-06-01'").fetchone()[0]
    assert len(ranges) > 2 and all(start.hour == 0 and end.hour == 0 for start, end in ranges)
    assert not any(start < datetime(2026, 6, 1) and end > datetime(2026, 4, 1) for start, end in ranges)  # not May
    assert ranges[0][0] >= datetime(2026, 3, 2) and ranges[-1][1] <= datetime(2026, 8, 1) and may_rows == 400
    assert_rollup_exact(db)
    with store.open_db(db) as con:
        imports.undo_import(con, r.import_id, by="test")
    assert_rollup_exact(db)


def test_survey_and_complaint_imports_reimports_and_undo_keep_their_rollups_exact(tmp_path):
    db = tmp_path / "q.duckdb"
    contacts = random_contacts(21, 1200, datetime(2026, 3, 2))
    rc = imports.import_file("contacts", csv_of(tmp_path, contacts, "c.csv"), db=db)
    surveys = random_surveys(22, 600, datetime(2026, 3, 2), contacts["contact_id"][:900])
    rs1 = imports.import_file("surveys", table_csv(tmp_path, surveys, "s1.csv"), db=db)
    complaints = random_complaints(23, 300, datetime(2026, 3, 2))
    rp1 = imports.import_file("complaints", table_csv(tmp_path, complaints, "p1.csv"), db=db)
    assert_rollup_exact(db)
    # Re-imports: 100 surveys and complaints changed (other hours, scores, contacts, outcomes), 50 new ones each.
    changed = random_surveys(24, 100, datetime(2026, 3, 12), contacts["contact_id"])
    changed["survey_id"] = surveys["survey_id"][:100].to_numpy()
    rs2 = imports.import_file("surveys", table_csv(tmp_path, pd.concat(
        [changed, random_surveys(25, 50, datetime(2026, 3, 5), contacts["contact_id"], "t")]), "s2.csv"), db=db)
    assert (rs2.updated, rs2.inserted) == (100, 50)
    moved = random_complaints(26, 100, datetime(2026, 3, 9))
    moved["complaint_id"] = complaints["complaint_id"][:100].to_numpy()
    rp2 = imports.import_file("complaints", table_csv(tmp_path, pd.concat(
        [moved, random_complaints(27, 50, datetime(2026, 3, 1), "q")]), "p2.csv"), db=db)
    assert (rp2.updated, rp2.inserted) == (100, 50)
    assert_rollup_exact(db)
    # A contacts re-import moves the contacts 300 surveys are about (their hour, team, agent, channel, queue) and
    # brings the contacts 300 more were about but that were not there yet: the surveys rollup follows.
    later = random_contacts(28, 1200, datetime(2026, 3, 16))
    later["contact_id"] = [f"c{i}" for i in range(600, 1800)]
    rc2 = imports.import_file("contacts", csv_of(tmp_path, later, "c2.csv"), db=db)
    assert (rc2.updated, rc2.inserted) == (600, 600)
    assert_rollup_exact(db)
    undone(db, rc2)  # the surveys go back to their contacts' old hours
    assert_rollup_exact(db)
    assert undone(db, rs2, rp2) == (600, 300)
    assert_rollup_exact(db)
    assert undone(db, rs1, rp1) == (0, 0)
    undone(db, rc)
    assert_rollup_exact(db)


def undone(db, *results) -> tuple[int, int]:
    """Undo the imports, latest first given first; then the surveys and complaints the rollups count."""
    with store.open_db(db) as con:
        for r in results:
            imports.undo_import(con, r.import_id, by="test")
        return tuple(con.execute(f"SELECT coalesce(sum(__n), 0) FROM rollup_{d}").fetchone()[0]
                     for d in ("surveys", "complaints"))


def test_contacts_written_by_sql_never_let_the_surveys_rollup_answer(tmp_path):
    db = random_database(tmp_path, 31, 900)
    with store.open_db(db) as con:  # surveys take their hour from contacts: a contact moved by SQL makes it stale
        con.execute("UPDATE contacts SET arrived_at = arrived_at + INTERVAL 3 DAY, import_id = 99 "
                    "WHERE contact_id = 'c1'")
        assert used(con, "complaints") and not used(con, "surveys")
        same(con, date(2026, 3, 1), date(2026, 3, 25), "day")
    with store.open_db(db):  # the next writable open rebuilds it
        pass
    with store.open_db(db, read_only=True) as con:
        assert used(con, "surveys")
        same(con, date(2026, 3, 1), date(2026, 3, 25), "day")


def test_a_database_from_before_rollups_gets_one_on_a_writable_open(tmp_path):
    db = tmp_path / "old.duckdb"
    imports.import_file("contacts", csv_of(tmp_path, random_contacts(4, 800, datetime(2026, 3, 2)), "c.csv"), db=db)
    with store.open_db(db) as con:  # as the previous schema left it: no rollups
        con.execute("DROP TABLE rollup_contacts")
        con.execute("DROP TABLE rollups")
    import duckdb
    raw = duckdb.connect(str(db), read_only=True)
    assert not raw.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'rollups'").fetchone()[0]
    raw.close()
    with store.open_db(db, read_only=True) as con:  # read-only: no rollup, raw rows answer
        assert not used(con)
        old = metrics.compute_kpis(con, date(2026, 3, 1), date(2026, 3, 31), "week")
    with store.open_db(db) as con:
        assert used(con)
    with store.open_db(db, read_only=True) as con:
        pd.testing.assert_frame_equal(metrics.compute_kpis(con, date(2026, 3, 1), date(2026, 3, 31), "week"), old)


def test_rows_written_by_sql_or_other_settings_never_read_the_rollup(tmp_path):
    db = tmp_path / "s.duckdb"
    imports.import_file("contacts", csv_of(tmp_path, random_contacts(5, 600, datetime(2026, 3, 2)), "c.csv"), db=db)
    with store.open_db(db) as con:
        con.execute("INSERT INTO contacts (contact_id, arrived_at, channel, direction, answered, wait_seconds, import_id,"
                    " created_import_id) VALUES ('x', '2026-03-03 10:00:00', 'phone', 'inbound', true, 3, 99, 99)")
        with con.cursor() as cur:
            cat = metrics.load_catalog()
            assert _rollup.usable(cur, "contacts", _rollup.fingerprint(cat, cat.settings, "contacts")) is None
            n = metrics.compute_kpis(con, date(2026, 3, 1), date(2026, 3, 31))["offered"].iloc[0]
            assert n == metrics.compute_kpis(con, date(2026, 3, 1), date(2026, 3, 31), rollup=False)["offered"].iloc[0]
    with store.open_db(db, read_only=True) as con:  # stale until a writable open rebuilds it
        assert not used(con)
    with store.open_db(db):
        pass
    with store.open_db(db, read_only=True) as con:
        assert used(con)
    cat = metrics.load_catalog()
    other = {**cat.settings, "service_level_seconds": 30, "short_abandon_seconds": 10}
    assert _rollup.fingerprint(cat, other, "contacts") != _rollup.fingerprint(cat, cat.settings, "contacts")
    with store.open_db(db, read_only=True) as con:
        a = metrics.compute_kpis(con, date(2026, 3, 1), date(2026, 3, 31), "week", settings=other, channel="phone")
        b = metrics.compute_kpis(con, date(2026, 3, 1), date(2026, 3, 31), "week", settings=other, channel="phone",
                                 rollup=False)
        pd.testing.assert_frame_equal(a, b)
        now = metrics.compute_kpis(con, date(2026, 3, 1), date(2026, 3, 31), "week", channel="phone")
        assert a["service_level"].notna().any() and not a["service_level"].equals(now["service_level"])


def test_quality_funnel_and_pareto_from_the_rollup_equal_raw_rows(tmp_path):
    from kpi.metrics import _quality
    db = random_database(tmp_path, 41, 1500)
    with store.open_db(db, read_only=True) as con:
        assert used(con, "complaints")
        team = Scope(role="supervisor", teams=frozenset({"B"}))
        for kw in ({}, {"team": "A"}, {"channel": "email"}, {"queue": "q1"}, {"scope": team}):
            for fn in (_quality.complaint_funnel, _quality.category_pareto):
                pd.testing.assert_frame_equal(fn(con, date(2026, 3, 3), date(2026, 3, 17), **kw),
                                              fn(con, date(2026, 3, 3), date(2026, 3, 17), rollup=False, **kw))
        other = {"default_sla_hours": 2}  # another due time: not the rollup's sums, the raw rows'
        funnel = _quality.complaint_funnel(con, date(2026, 3, 3), date(2026, 3, 17), settings=other)
        pd.testing.assert_frame_equal(funnel, _quality.complaint_funnel(con, date(2026, 3, 3), date(2026, 3, 17),
                                                                        settings=other, rollup=False))
        assert funnel["complaints"].iloc[2] != _quality.complaint_funnel(con, date(2026, 3, 3),
                                                                         date(2026, 3, 17))["complaints"].iloc[2]


def test_a_query_reads_the_coarsest_sums_that_answer_it(tmp_path):
    """Three contacts in one hour, team, channel, queue and direction, by two agents: two rows in the rollup and in its
    daily sums, one in each of its tables without agents (hourly, daily). A query grouped by day, week, month or a
    dimension reads the daily sums, one by hour of the week the hourly ones; team and centre queries read the sums
    without agents, agent queries those with."""
    db = tmp_path / "t.duckdb"
    frame = pd.DataFrame({"contact_id": ["c1", "c2", "c3"],
                          "arrived_at": ["2026-03-02 09:05:00", "2026-03-02 09:10:00", "2026-03-02 09:50:00"],
                          "channel": "phone", "queue": "q1", "team": "A", "agent_id": ["a1", "a1", "a2"],
                          "answered": "Y", "wait_seconds": [10, 30, 50], "talk_seconds": [100, 200, 300]})
    frame.to_csv(tmp_path / "c.csv", index=False)
    imports.import_file("contacts", tmp_path / "c.csv", db=db)
    with store.open_db(db) as con:
        assert con.execute("SELECT agent_id, __n FROM rollup_contacts ORDER BY 1").fetchall() == [("a1", 2), ("a2", 1)]
        assert con.execute("SELECT __hour, agent_id, __n FROM rollup_contacts_days ORDER BY 2").fetchall() == [
            (datetime(2026, 3, 2), "a1", 2), (datetime(2026, 3, 2), "a2", 1)]
        assert con.execute("SELECT team, __n FROM rollup_contacts_teams").fetchall() == [("A", 3)]
        assert con.execute("SELECT __hour, team, __n FROM rollup_contacts_teams_days").fetchall() == [
            (datetime(2026, 3, 2), "A", 3)]
        # Each kept table's counts keep the rollup's type (DuckDB's sum of a BIGINT would be a HUGEINT)
        assert {t for (t,) in con.execute("SELECT DISTINCT data_type FROM duckdb_columns() WHERE table_name LIKE "
                                          "'rollup_contacts%' AND column_name = 'answered'").fetchall()} == {"BIGINT"}
        # Change the kept tables by hand: each answer follows the table it reads.
        con.execute("UPDATE rollup_contacts_teams SET answered = 30")
        con.execute("UPDATE rollup_contacts_teams_days SET answered = 40")
        con.execute("UPDATE rollup_contacts_days SET answered = answered * 10")
    with store.open_db(db, read_only=True) as con:
        day = date(2026, 3, 2)

        def answered(by, **kw):
            return metrics.compute_kpis(con, day, day, by, kpis=["answered"], **kw)["answered"].dropna().tolist()
        assert answered("team") == answered(None) == answered("week") == answered("channel") == [40]
        assert answered("weekday_hour") == [30]
        assert answered("agent") == [20, 10]
        assert answered("team", rollup=False) == [3]


def test_filter_lists_and_weeks_come_from_the_rollup_when_it_is_usable(tmp_path):
    """The filter lists (teams, channels, queues) and the weeks with contacts are the rollup's when it is usable (at
    100M contacts their DISTINCT scans of the raw rows took about a second), the raw rows' when it is not: the same
    values either way."""
    db = tmp_path / "t.duckdb"
    pd.DataFrame({"contact_id": ["c1", "c2", "c3"],
                  "arrived_at": ["2026-03-02 09:05:00", "2026-03-10 10:00:00", "2026-03-10 11:00:00"],
                  "channel": ["phone", "chat", "phone"], "queue": ["q1", "q2", None], "team": ["A", "B", "A"],
                  "agent_id": ["a1", "a2", "a1"], "answered": "Y"}).to_csv(tmp_path / "c.csv", index=False)
    imports.import_file("contacts", tmp_path / "c.csv", db=db)
    want = {"team": ["A", "B"], "channel": ["chat", "phone"], "queue": ["q1", "q2"]}
    with store.open_db(db, read_only=True) as con:
        assert metrics.dimension_values(con) == want
        assert metrics.available_weeks(con) == [date(2026, 3, 9), date(2026, 3, 2)]
    with store.open_db(db) as con:  # a team renamed in the kept sums by hand: the lists follow the rollup
        con.execute("UPDATE rollup_contacts_teams_days SET team = 'Z' WHERE team = 'B'")
    with store.open_db(db, read_only=True) as con:
        assert metrics.dimension_values(con)["team"] == ["A", "Z"]
    with store.open_db(db) as con:  # a row written by SQL: the rollup no longer answers, the raw rows do
        con.execute("INSERT INTO contacts (contact_id, arrived_at, team, channel, import_id, created_import_id) "
                    "VALUES ('c4', '2026-03-16 08:00:00', 'C', 'email', 1, 1)")
    with store.open_db(db, read_only=True) as con:
        assert metrics.dimension_values(con) == {"team": ["A", "B", "C"], "channel": ["chat", "email", "phone"],
                                                 "queue": ["q1", "q2"]}
        assert metrics.available_weeks(con) == [date(2026, 3, 16), date(2026, 3, 9), date(2026, 3, 2)]


def test_agents_teams_and_names_by_hand_from_the_rollup_and_from_raw_rows(tmp_path):
    """An agent's team is the one of most of their contacts, a tie going to the team they worked in last, then to the
    last by name; their name the latest contact's that carries one (a tie in time: the last by name). Worked out by
    hand, the same from the contacts' per-day agent table (which a page reads) and from the raw rows; a row written by
    SQL stops the table answering."""
    db = tmp_path / "a.duckdb"
    rows = [  # (id, arrived, team, agent, name)
        ("c1", "2026-03-02 09:00:00", "A", "a1", "Ann"), ("c2", "2026-03-02 10:00:00", "A", "a1", None),
        ("c3", "2026-03-03 09:00:00", "B", "a1", "安安"),  # a1: 2 in A, 1 in B -> A; named 安安 last
        ("c4", "2026-03-02 09:00:00", "B", "a2", "Bo"), ("c5", "2026-03-04 09:00:00", "A", "a2", "Bo"),  # tie -> A
        ("c6", "2026-03-04 09:00:00", "B", "a3", "Cy"), ("c7", "2026-03-04 09:00:00", "C", "a3", "Di"),
        # a3: a tie in contacts and in time -> C, the last by name; Di, the last of two names at the same second
        ("c8", "2026-03-05 09:00:00", None, "a4", None),  # no team, no name
        ("c9", "2026-03-10 09:00:00", "A", "a5", "Ed"),  # another week
        ("d1", "2026-03-02 08:00:00", "A", "a6", "Gu"), ("d2", "2026-03-06 08:00:00", "A", "a6", None),
        ("d3", "2026-03-04 08:00:00", "B", "a6", "Gu"), ("d4", "2026-03-04 08:30:00", "B", "a6", "Gu"),
        # a6: 2 and 2; the last in A (03-06) is later than the last in B (03-04) -> A
        ("e1", "2026-03-02 08:00:00", "A", "a7", "Hu"), ("e2", "2026-03-02 08:10:00", "A", "a7", "Hu"),
        ("e3", "2026-03-02 08:20:00", "A", "a7", "Hu"), ("e4", "2026-03-03 08:00:00", "B", "a7", "Hu"),
        ("e5", "2026-03-04 08:00:00", "B", "a7", "Hu"),  # a7: 3 contacts in A (one row of the table), 2 in B -> A
        ("f1", "2026-03-05 08:00:00", None, "a8", None), ("f2", "2026-03-05 09:00:00", None, "a8", None),
        ("f3", "2026-03-05 07:00:00", "B", "a8", None),  # a8: more contacts without a team than in B -> B, no name
        ("g1", "2026-03-16 09:00:00", "A", "a9", None), ("g2", "2026-03-16 10:00:00", "A", "a9", None),
        ("g3", "2026-03-17 09:00:00", "B", "a9", "Ike"), ("g4", "2026-03-17 09:00:00", "B", "a10", "Jo"),
        # the week of 03-16: a9 the one agent of two rows (A from one, the name from the other), a10 of one
        ("h1", "2026-03-23 09:00:00", None, "a11", "Kim"), ("h2", "2026-03-23 10:00:00", None, "a11", None),
        # the week of 03-23: a11 of two rows, neither with a team
    ]
    pd.DataFrame(rows, columns=["contact_id", "arrived_at", "team", "agent_id", "agent_name"]).assign(
        channel="phone", answered="Y").to_csv(tmp_path / "c.csv", index=False)
    imports.import_file("contacts", tmp_path / "c.csv", db=db)
    teams = {"a1": "A", "a2": "A", "a3": "C", "a4": None, "a6": "A", "a7": "A", "a8": "B"}
    names = {"a1": "安安", "a2": "Bo", "a3": "Di", "a6": "Gu", "a7": "Hu"}
    with store.open_db(db, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM rollup_contacts_agents").fetchone()[0] == 22
        for rollup in (True, False):
            assert metrics.agent_teams_and_names(con, date(2026, 3, 2), date(2026, 3, 8), rollup=rollup) == (teams, names)
            assert metrics.agent_teams_and_names(con, date(2026, 3, 16), date(2026, 3, 22), rollup=rollup) == (
                {"a9": "A", "a10": "B"}, {"a9": "Ike", "a10": "Jo"})
            assert metrics.agent_teams_and_names(con, date(2026, 3, 23), date(2026, 3, 29), rollup=rollup) == (
                {"a11": None}, {"a11": "Kim"})
            assert metrics.agent_teams_and_names(con, date(2026, 3, 3), date(2026, 3, 3), rollup=rollup) == (
                {"a1": "B", "a7": "B"}, {"a1": "安安", "a7": "Hu"})
            supervisor = Scope(role="supervisor", teams=frozenset({"A"}))
            assert metrics.agent_teams_and_names(con, date(2026, 3, 2), date(2026, 3, 15), scope=supervisor,
                                                 rollup=rollup) == (
                {"a1": "A", "a2": "A", "a5": "A", "a6": "A", "a7": "A"},
                {"a1": "Ann", "a2": "Bo", "a5": "Ed", "a6": "Gu", "a7": "Hu"})
    with store.open_db(db) as con:  # a name changed in the kept table by hand: the page reads the table
        con.execute("UPDATE rollup_contacts_agents SET agent_name = 'Zed' WHERE agent_id = 'a5'")
    with store.open_db(db, read_only=True) as con:
        assert metrics.agent_names(con, date(2026, 3, 9), date(2026, 3, 15)) == {"a5": "Zed"}
    with store.open_db(db) as con:  # a row written by SQL: the table no longer answers, the raw rows do
        con.execute("INSERT INTO contacts (contact_id, arrived_at, team, agent_id, agent_name, channel, import_id, "
                    "created_import_id) VALUES ('c10', '2026-03-11 08:00:00', 'B', 'a6', 'Fay', 'phone', 1, 1)")
    with store.open_db(db, read_only=True) as con:
        assert metrics.agent_teams_and_names(con, date(2026, 3, 9), date(2026, 3, 15)) == (
            {"a5": "A", "a6": "B"}, {"a5": "Ed", "a6": "Fay"})
