"""Rollups kept at import (kpi.metrics._rollup, kpi.store refresh_rollups): the engine answers from them with exactly
the numbers raw rows give, at every grain, filter and scope; imports, re-imports and undo keep them exact; a database
from before them gets one when opened for writing; other settings never read a rollup built with different ones."""
from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from kpi import imports, metrics, store
from kpi.auth.access import Scope
from kpi.metrics import _rollup

GROUPINGS = (None, "day", "week", "month", "team", "agent", "channel", "queue", "direction", "weekday_hour")
FILTERS = ({}, {"team": "A"}, {"channel": "phone"}, {"channel": "email"}, {"queue": "q1"})


def same(con, start, end, by, **kw) -> None:
    raw = metrics.compute_kpis(con, start, end, by, rollup=False, stats=True, **kw)
    rolled = metrics.compute_kpis(con, start, end, by, stats=True, **kw)
    pd.testing.assert_frame_equal(rolled, raw, check_dtype=False, rtol=1e-12, atol=0)


def used(con) -> bool:
    cat = metrics.load_catalog()
    with con.cursor() as cur:
        return _rollup.usable(cur, "contacts", _rollup.fingerprint(cat, cat.settings, "contacts")) is not None


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


def rollup_rows(con) -> pd.DataFrame:
    frame = con.execute("SELECT * FROM rollup_contacts").df()
    return frame.sort_values(list(frame.columns[:6]), na_position="first").reset_index(drop=True)


def assert_rollup_exact(db) -> None:
    """The kept rollup equals one built from scratch from the rows now stored, and answers like raw rows."""
    with store.open_db(db) as con:
        assert used(con)
        kept = rollup_rows(con)
        with con.cursor() as cur:
            _rollup.build(cur, metrics.load_catalog(), "contacts")
        pd.testing.assert_frame_equal(kept, rollup_rows(con), check_dtype=False)
        same(con, date(2026, 3, 1), date(2026, 3, 31), "week")
        same(con, date(2026, 3, 1), date(2026, 3, 31), "agent", team="A")


def test_sample_rollup_and_raw_agree_for_every_kpi_grain_and_filter(sample_db, tmp_path):
    db = tmp_path / "s.duckdb"
    shutil.copy(sample_db, db)
    with store.open_db(db, read_only=True) as con:
        assert used(con)  # the sample load kept it
        first, last = con.execute("SELECT min(arrived_at)::DATE, max(arrived_at)::DATE FROM contacts").fetchone()
        for by in GROUPINGS:
            same(con, first, last, by)
        for f in FILTERS[1:]:
            for by in ("week", "agent", "weekday_hour"):
                same(con, first, last, by, **f)
        week_end = last - timedelta(days=last.weekday() + 1)  # the last complete week, and the incomplete tail
        same(con, week_end - timedelta(days=6), week_end, None)
        same(con, last - timedelta(days=2), last, "day")
        team = con.execute("SELECT team FROM contacts WHERE team IS NOT NULL LIMIT 1").fetchone()[0]
        same(con, first, last, "team", scope=Scope(role="supervisor", teams=frozenset({team})))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_fixtures_rollup_and_raw_agree(tmp_path, seed):
    db = tmp_path / "r.duckdb"
    frame = random_contacts(seed, 3000, datetime(2026, 3, 2))
    imports.import_file("contacts", csv_of(tmp_path, frame, "c.csv"), db=db)
    with store.open_db(db, read_only=True) as con:
        assert used(con)
        assert con.execute("SELECT sum(__n) FROM rollup_contacts").fetchone()[0] == 3000
        for by in GROUPINGS:
            for f in FILTERS:
                same(con, date(2026, 3, 1), date(2026, 3, 25), by, **f)
        same(con, date(2026, 3, 4), date(2026, 3, 10), "day", channel="email")  # a part of the range only


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
    with store.open_db(db, read_only=True) as con:
        assert used(con)


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
