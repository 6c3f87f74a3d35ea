"""The engine's own paths (kpi.metrics._engine): group keys formatted from native values, only the datasets the asked
KPIs read, and answers kept per database file that follow every write."""
from __future__ import annotations

import time
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from kpi import metrics, store
from kpi.metrics._engine import format_keys
from helpers import db_with
from test_metrics import COMPLAINTS, CONTACTS, W47, contact


def test_week_keys_take_the_iso_year_of_the_weeks_thursday():
    mondays = np.array(["2024-12-23", "2024-12-30", "2026-12-28", "2027-01-04"], dtype="datetime64[us]")
    # 2024-12-30's Thursday is 2 Jan 2025: week 1 of 2025; 2026 starts on a Thursday, so it has a week 53.
    assert format_keys(mondays, "week") == ["2024-W52", "2025-W01", "2026-W53", "2027-W01"]


def test_day_month_interval_and_weekday_hour_keys():
    t = np.array(["2026-11-16T09:30", "2026-02-01T00:00"], dtype="datetime64[us]")
    assert format_keys(t, "day") == ["2026-11-16", "2026-02-01"]
    assert format_keys(t, "month") == ["2026-11", "2026-02"]
    assert format_keys(t, "interval_30") == ["2026-11-16 09:30", "2026-02-01 00:00"]
    assert format_keys(np.array([109, 723]), "weekday_hour") == ["1-09", "7-23"]  # ISO weekday x 100 + hour
    assert format_keys(["T1", None], "team") == ["T1", None]


def test_only_the_kpis_asked_for_are_computed_from_only_their_datasets():
    con = db_with(contacts=CONTACTS)
    r = metrics.compute_kpis(con, *W47, kpis=["offered", "service_level"], channel="phone")
    assert list(r.columns) == ["key", "offered", "service_level"]
    assert r.offered[0] == 6 and r.service_level[0] == pytest.approx(2 / 5)  # c1-c6; within 20 s c1, c2 of 6 - 1 short
    # A surveys table with only the column the data cut-offs read: a survey KPI query would now fail, and none is made.
    con.execute("DROP TABLE surveys; CREATE TABLE surveys AS SELECT NULL::TIMESTAMP AS responded_at")
    r = metrics.compute_kpis(con, *W47, "team", kpis=["answered", "aht_seconds"], stats=True)
    assert list(r.columns) == ["key", "answered", "aht_seconds", "aht_seconds__num", "aht_seconds__den", "aht_seconds__ss"]
    assert r.set_index("key").loc["T1", "aht_seconds"] == pytest.approx(750 / 3)  # (150 + 240 + 360) / 3 answered
    with pytest.raises(Exception):
        metrics.compute_kpis(con, *W47)


def test_a_derived_kpi_brings_the_kpis_it_is_computed_from():
    con = db_with(contacts=CONTACTS, complaints=COMPLAINTS)
    r = metrics.compute_kpis(con, *W47, kpis=["complaints_per_1000"]).iloc[0]
    assert r.complaints_per_1000 == pytest.approx(1000 * 4 / 4)  # k1-k4 over 4 answered contacts
    assert (r.complaints, r.answered) == (4, 4)
    with pytest.raises(ValueError, match="unknown KPIs"):
        metrics.compute_kpis(con, *W47, kpis=["no_such_kpi"])


def insert(con, *rows) -> None:
    for r in rows:
        r = {**r, "import_id": 1, "created_import_id": 1}
        con.execute(f"INSERT INTO contacts ({', '.join(r)}) VALUES ({', '.join('?' * len(r))})", list(r.values()))


def test_answers_kept_per_database_file_follow_every_write(tmp_path):
    db = tmp_path / "k.duckdb"
    with store.open_db(db) as con:
        insert(con, contact("c1", "2026-11-16 09:00", True, 10, 100))
        assert metrics.data_cutoffs(con)["contacts"] == datetime(2026, 11, 16, 9)
        assert metrics.compute_kpis(con, *W47).offered[0] == 1
        insert(con, contact("c2", "2026-11-18 13:00", False, 40))  # the same connection writes: the file's WAL moves
        assert metrics.data_cutoffs(con)["contacts"] == datetime(2026, 11, 18, 13)
        assert metrics.compute_kpis(con, *W47).offered[0] == 2
    with store.open_db(db, read_only=True) as con:
        assert metrics.compute_kpis(con, *W47).offered[0] == 2
    with store.open_db(db) as con:  # another connection writes, and closes (its checkpoint rewrites the file)
        insert(con, contact("c3", "2026-11-20 08:00", True, 5, 60))
    with store.open_db(db, read_only=True) as con:
        assert metrics.data_cutoffs(con)["contacts"] == datetime(2026, 11, 20, 8)
        r = metrics.compute_kpis(con, *W47, channel="phone").iloc[0]
        assert (r.offered, r.answered) == (3, 2) and r.aht_seconds == pytest.approx((100 + 60) / 2)


def test_a_week_without_surveys_or_complaints_gives_the_same_contact_kpis_either_way():
    con = db_with(contacts=CONTACTS + [contact("x", "2026-11-23 09:00", True, 5, 50)])
    every = metrics.compute_kpis(con, date(2026, 11, 16), date(2026, 11, 29), "week", stats=True)
    ids = [k.id for k in metrics.load_catalog().of("contacts")]
    only = metrics.compute_kpis(con, date(2026, 11, 16), date(2026, 11, 29), "week", kpis=ids, stats=True)
    assert list(only.key) == ["2026-W47", "2026-W48"]
    for c in only.columns[1:]:
        assert only[c].astype("Float64").equals(every[c].astype("Float64")), c


def test_a_dataset_is_read_from_its_rollup_only_when_every_kpi_asked_is_a_sum():
    # The complaints' median needs their raw rows: asked with it, the sums come from the same raw pass (fp None);
    # asked without it, every KPI is a sum and the rollup serves them all.
    from kpi.metrics._engine import _rollup_for
    of = metrics.load_catalog().of("complaints")
    sums = [k for k in of if k.id != "median_resolution_hours"]
    assert _rollup_for(of, "fp") is None
    assert _rollup_for(sums, "fp") == "fp"
    assert _rollup_for(sums, None) is None


def test_only_the_asked_kpis_of_a_dataset_are_aggregated():
    # k1 resolved in 20 h, k2 in 96 h, k4 in 72 h (k3 open): median 72 h, 3 of 4 resolved; LATER matures W47.
    from test_metrics import LATER
    con = db_with(contacts=CONTACTS, complaints=COMPLAINTS + [LATER])
    r = metrics.compute_kpis(con, *W47, kpis=["median_resolution_hours", "complaint_resolution_rate"], stats=True)
    assert list(r.columns) == ["key", "complaint_resolution_rate", "median_resolution_hours",
                               "complaint_resolution_rate__num", "complaint_resolution_rate__den"]
    assert r.median_resolution_hours[0] == 72 and r.complaint_resolution_rate[0] == pytest.approx(3 / 4)


def test_kpi_records_are_compute_kpis_rows_with_nan_where_a_value_is_missing():
    con = db_with(contacts=CONTACTS, complaints=COMPLAINTS)
    for by in (None, "team", "agent", "week"):
        frame = metrics.compute_kpis(con, *W47, by, stats=True)
        records = metrics.kpi_records(con, *W47, by, stats=True)
        assert [r["key"] for r in records] == list(frame.key)
        for row, rec in zip(frame.to_dict("records"), records):
            assert list(rec) == list(row)
            for c, v in row.items():
                if c != "key":
                    assert (np.isnan(rec[c]) if pd.isna(v) else rec[c] == v), (by, c)


@pytest.mark.parametrize("by", ["team", "agent", "channel", "queue", "category", "direction"])
def test_a_range_and_the_one_before_from_one_pass_give_what_each_gives_alone(sample_db, by):
    # group_status's two ranges grouped by (range, group) in one statement per dataset, from the rollups and from raw
    # rows: the records of each range asked alone, every value (and its sums) within 1e-12.
    W46 = (date(2026, 11, 9), date(2026, 11, 15))
    with store.open_db(sample_db, read_only=True) as con:
        for kw in ({}, {"team": "技術支援組", "channel": "phone"}, {"rollup": False}, {"kpis": ["aht_seconds", "csat"]}):
            together = metrics.kpi_records_of_ranges(con, [W46, W47], by, stats=True, **kw)
            alone = [metrics.kpi_records(con, *r, by, stats=True, **kw) for r in (W46, W47)]
            for got, want in zip(together, alone):
                assert [r["key"] for r in got] == [r["key"] for r in want]
                for g, w in zip(got, want):
                    assert list(g) == list(w)
                    for c in w:
                        if c != "key":
                            assert (np.isnan(g[c]) and np.isnan(w[c])) or g[c] == pytest.approx(w[c], rel=1e-12), (by, kw, c)
    with pytest.raises(ValueError, match="day after day"):
        metrics.kpi_records_of_ranges(db_with(contacts=CONTACTS), [(date(2026, 11, 1), date(2026, 11, 7)), W47], "team")


def test_side_by_side_runs_the_calls_at_the_same_time_and_gives_their_results_in_order():
    import threading
    from kpi.metrics._engine import side_by_side
    # Each call waits at a barrier for all three: run one after the other, the first would wait alone and break it.
    barrier = threading.Barrier(3, timeout=10)
    threads = []

    def call(i):
        def run():
            barrier.wait()
            threads.append(threading.get_ident())
            return i * 10
        return run
    assert side_by_side([call(1), call(2), call(3)]) == [10, 20, 30]
    assert len(set(threads)) == 3 and threading.get_ident() in threads  # the caller's thread ran one
    assert side_by_side([]) == [] and side_by_side([lambda: 7]) == [7]


def test_side_by_side_raises_a_call_s_error_once_every_call_has_ended():
    import threading
    from kpi.metrics._engine import side_by_side
    raised, finished = threading.Event(), threading.Event()

    def slow():
        raised.wait(10)  # the first call has raised; this one is still running
        time.sleep(0.2)
        finished.set()
        return "done"

    def fails():
        raised.set()
        raise ValueError("the first call's error")
    with pytest.raises(ValueError, match="first call"):
        side_by_side([fails, slow])
    assert finished.is_set()  # the error reached the caller only once the other call had ended
    with pytest.raises(ZeroDivisionError):
        side_by_side([lambda: 1, lambda: 1 / 0])


def test_a_forked_process_runs_the_passes_on_a_pool_of_its_own():
    # A benchmark's worker processes are forked from one that has used the pool: the pool's threads are not copied,
    # so a pass handed to the parent's pool would wait for ever.
    import multiprocessing
    from kpi.metrics import _engine
    assert _engine.side_by_side([lambda: 1, lambda: 2]) == [1, 2]  # the pool is made in this process
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:
        assert pool.apply_async(_forked_passes).get(timeout=60) == [1, 2]


def _forked_passes():
    from kpi.metrics import _engine
    return _engine.side_by_side([lambda: 1, lambda: 2])


def test_compute_kpis_gives_the_same_numbers_with_its_passes_side_by_side_or_one_after_the_other(monkeypatch):
    from kpi.metrics import _engine
    con = db_with(contacts=CONTACTS, complaints=COMPLAINTS)
    together = metrics.compute_kpis(con, date(2026, 11, 9), date(2026, 11, 22), "week", stats=True)
    monkeypatch.setattr(_engine, "side_by_side", lambda calls: [call() for call in calls])
    pd.testing.assert_frame_equal(together, metrics.compute_kpis(con, date(2026, 11, 9), date(2026, 11, 22), "week",
                                                                 stats=True))
    assert together["offered"].sum() > 0 and together["complaints"].sum() > 0


def test_side_by_side_within_side_by_side_never_waits_for_a_call_without_a_thread():
    # A page's queries side by side, each running its passes side by side: more calls than the pool has threads. Handed
    # to the pool regardless, every thread would wait for calls queued behind it, for ever.
    import threading
    from kpi.metrics._engine import side_by_side
    got = []
    outer = threading.Thread(target=lambda: got.append(side_by_side(
        [lambda i=i: side_by_side([lambda i=i, j=j: (i, j) for j in range(10)]) for i in range(10)])), daemon=True)
    outer.start()
    outer.join(60)
    assert got == [[[(i, j) for j in range(10)] for i in range(10)]]


def test_side_by_side_runs_a_call_in_the_caller_s_thread_when_the_pool_takes_no_more(monkeypatch):
    # At the interpreter's exit a pool refuses new work (RuntimeError): the call runs here, and its thread is not lost.
    import threading
    from kpi.metrics import _engine
    free = threading.BoundedSemaphore(2)

    class Closed:
        def submit(self, *args):
            raise RuntimeError("cannot schedule new futures after interpreter shutdown")
    monkeypatch.setattr(_engine, "_pool", lambda: (Closed(), free))
    assert _engine.side_by_side([lambda: 1, lambda: 2, lambda: 3]) == [1, 2, 3]
    assert free.acquire(blocking=False) and free.acquire(blocking=False)  # both threads free again
