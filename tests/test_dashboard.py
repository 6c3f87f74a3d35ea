"""The dashboard opens on the database, shows the latest complete week, and picks up new imports on rerun."""
from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from helpers import tiles
from kpi import imports, metrics, store
from ui import widgets

ROOT = Path(__file__).resolve().parent.parent

# Week 2026-W47 is Mon 16 - Sun 22 Nov; the data reaches its Sunday, so it is the latest complete week.
WEEK = ("contact_id,arrived_at,answered_at\n"
        "w1,2026-11-16 09:00,2026-11-16 09:00:10\n"
        "w2,2026-11-18 10:00,\n"
        "w3,2026-11-22 21:00,2026-11-22 21:00:30\n"
        "old,2026-11-09 09:00,2026-11-09 09:00:05\n")


@pytest.fixture
def app(db, monkeypatch):
    monkeypatch.setenv("KPI_DB", str(db))
    import streamlit as st
    st.cache_resource.clear()
    st.cache_data.clear()

    def run() -> AppTest:
        at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
        at.session_state["channel"] = "__all__"
        at.run()
        assert not at.exception, at.exception
        return at
    return run


VOLUMES = ("進線", "接通", "放棄", "問卷回覆", "客訴")


def volume_tiles(at: AppTest) -> dict[str, str]:
    """The week's volume tiles at the top of the weekly page (all channels)."""
    return {m.label: m.value for m in tiles(at) if m.label in VOLUMES}


def test_overview_shows_the_latest_complete_week(app, db, write):
    imports.import_file("contacts", write("c.csv", WEEK), db=db)
    imports.import_file("surveys", write("s.csv", "survey_id,responded_at,csat\ns1,2026-11-17 10:00,5\ns2,2026-11-10 10:00,4\n"), db=db)
    imports.import_file("contacts", write("c.csv", WEEK), db=db)  # again: the last import named in the caption
    at = app()
    # In W47: w1, w2, w3 offered; w1 and w3 answered; w2 abandoned; one survey (s1).
    assert volume_tiles(at) == {"進線": "3", "接通": "2", "放棄": "1", "問卷回覆": "1", "客訴": "0"}
    assert "2026-W47" in at.caption[0].value and "c.csv" in at.caption[0].value
    with store.open_db(db, read_only=True) as con:
        s = metrics.week_summary(con)
    assert (s.offered, s.answered, s.abandoned, s.surveys) == (3, 2, 1, 1)


def test_a_cli_import_shows_on_the_next_rerun_without_restart(app, db, write):
    imports.import_file("contacts", write("c.csv", WEEK), db=db)
    at = app()
    assert volume_tiles(at)["進線"] == "3"
    more = write("more.csv", "contact_id,arrived_at\nn1,2026-11-20 11:00\nn2,2026-11-20 11:05\n")
    # A real second process, as the nightly import is: it can only write while the dashboard does not hold the file.
    done = subprocess.run([sys.executable, "-m", "kpi", "ingest", "contacts", str(more), "--db", str(db)],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    at.run()
    assert volume_tiles(at)["進線"] == "5" and volume_tiles(at)["放棄"] == "3"


@pytest.fixture
def last_week_sample(tmp_path, monkeypatch) -> Path:
    """sample_data/ as the app's first start imports it, with only the contacts and surveys of its last week, 2026-W47
    (importing all 300,000 contacts takes about 12 s; test_ingest.py and the sample_db fixture import the whole)."""
    folder = tmp_path / "sample"
    shutil.copytree(imports.SAMPLE_DIR, folder)
    with gzip.open(imports.SAMPLE_DIR / "contacts.csv.gz", "rt", encoding="utf-8", newline="") as f:
        lines = f.readlines()
    with gzip.open(folder / "contacts.csv.gz", "wt", encoding="utf-8", newline="") as f:
        f.writelines([lines[0]] + [x for x in lines[1:] if x.split(",", 2)[1] >= "2026-11-16"])
    surveys = pd.read_csv(imports.SAMPLE_DIR / "surveys.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    surveys[surveys["responded_at"] >= "2026-11-16"].to_csv(folder / "surveys.csv", index=False, encoding="utf-8-sig")
    real = imports.load_sample_data
    monkeypatch.setattr(imports, "load_sample_data", lambda db=None, sample_dir=folder, **kw: real(db, sample_dir, **kw))
    return folder


def test_an_empty_database_is_filled_with_the_sample_data(app, db, last_week_sample):
    at = app()
    with store.open_db(db, read_only=True) as con:
        counts = store.row_counts(con)
        expected = metrics.week_summary(con)
    assert all(n > 0 for n in counts.values()), counts
    # Every row of the shortened files (5,298 contacts and 765 surveys arrived from 16 Nov on), all 4,408 complaints
    # and the whole budget workbook, 9 lines x 16 months: the app imported each file of the manifest.
    assert counts == {"contacts": 5_298, "surveys": 765, "complaints": 4_408, "budget": 144, "budget_drivers": 24,
                      "agent_states": 84_221, "schedule": 6_742}
    assert volume_tiles(at)["進線"] == f"{expected.offered:,}"
    assert expected.iso_week == "2026-W47"


def test_a_first_start_draws_the_weekly_page_before_loading_the_rest_of_the_sample(app, db, last_week_sample,
                                                                                   monkeypatch):
    """The weekly page (the default) reads contacts, surveys and complaints: those load first, the page is drawn, and
    the budget, agent states and schedule load after it in the same run. A later run loads nothing."""
    events, real, shown = [], imports.load_sample_data, widgets.show_tiles
    monkeypatch.setattr(imports, "load_sample_data",
                        lambda *a, datasets=None, **kw: events.append(datasets) or real(*a, datasets=datasets, **kw))
    monkeypatch.setattr(widgets, "show_tiles", lambda *a, **kw: events.append("tiles") or shown(*a, **kw))
    from ui import data
    slots, load = [], data._load_sample
    monkeypatch.setattr(data, "_load_sample", lambda path, datasets, into=None: slots.append(
        None if into is None else into._cursor.delta_path) or load(path, datasets, into))
    at = app()
    loads = [e for e in events if e != "tiles"]
    assert loads == [["contacts", "surveys", "complaints"], ["budget", "agent_states", "schedule"]]
    # The rest's progress bar is above the page's title (below a long page nobody saw it); the first part's is where
    # the run is, before anything else is drawn.
    title_at = [type(e).__name__ for e in at.main].index("Title")
    assert slots[0] is None and slots[1][0] == 0 and slots[1][1] < title_at
    # the page's tiles (the volumes, then the KPIs) were drawn between the two loads
    assert events.index(loads[1]) > events.index("tiles") > events.index(loads[0])
    with store.open_db(db, read_only=True) as con:
        assert all(n > 0 for n in store.row_counts(con).values())
    at.run()
    assert [e for e in events if e != "tiles"] == loads and not at.exception  # a later run loads nothing


def test_pages_that_use_no_filter_show_no_filter_panel_and_the_next_page_has_the_filters_again(app, db, write):
    # The budget was read beside "2026-W47 · 組別：甲組 · 管道：電話" in the sidebar, as if it were that week's and
    # team's; its numbers are by year and month, for the whole centre.
    imports.import_file("contacts", write("c.csv", "contact_id,arrived_at,answered_at,team\n"
                                                    "a1,2026-11-16 09:00,2026-11-16 09:00:10,甲組\n"
                                                    "b1,2026-11-17 09:00,,乙組\n"
                                                    "b2,2026-11-22 21:00,2026-11-22 21:00:30,乙組\n"), db=db)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["channel"] = "__all__"
    # AppTest keeps any value it set, drawn or not: that a value chosen in the panel survives the pages without it
    # (persist_state) is test_browser.py's test_the_budget_shows_no_filters_and_the_chosen_team_waits_for_the_weekly_page
    at.session_state["team"] = "乙組"
    at.run()
    assert at.selectbox(key="team").value == "乙組" and volume_tiles(at)["進線"] == "2"  # b1 and b2
    sidebar = lambda: " ".join(m.value for m in at.sidebar.markdown)
    assert "組別：乙組" in sidebar()
    for page in ("pages/budget.py", "pages/data_status.py", "pages/glossary.py", "pages/import_data.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        with pytest.raises(KeyError):
            at.selectbox(key="team")
        assert "組別" not in sidebar() and "2026-W47" not in sidebar(), page
        assert any("資料截止" in c.value for c in at.sidebar.caption)  # the data's cut-off still shown
    at.switch_page("pages/weekly.py").run()
    assert at.selectbox(key="team").value == "乙組" and at.selectbox(key="channel").value == "__all__"
    assert volume_tiles(at)["進線"] == "2" and "組別：乙組" in sidebar()


def test_a_first_start_on_another_page_loads_the_whole_sample_first(db, last_week_sample, monkeypatch):
    monkeypatch.setenv("KPI_DB", str(db))
    import streamlit as st
    st.cache_resource.clear()
    loads, real = [], imports.load_sample_data
    monkeypatch.setattr(imports, "load_sample_data",
                        lambda *a, datasets=None, **kw: loads.append(datasets) or real(*a, datasets=datasets, **kw))
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.switch_page("pages/budget.py")
    at.run()
    assert not at.exception
    assert loads == [["contacts", "surveys", "complaints", "budget", "agent_states", "schedule"]]


def test_two_visitors_finishing_a_first_start_together_do_not_hold_each_other_up(db, monkeypatch):
    """Each holds its page run's read-only connection when it comes to load the rest of the sample: the one waiting
    for the other's load lets go of its own first, or the loader could never open the file writable (DatabaseBusy)."""
    import threading

    import streamlit as st

    from ui import data
    st.cache_resource.clear()
    with store.open_db(db):
        pass
    loaded, failed = [], []

    def load(path, datasets, into=None):  # the rest of the sample: a writable open of the file, as an import makes
        with store.open_db(path, wait=3) as con:
            con.execute("SELECT 1")
        loaded.append(datasets)

    monkeypatch.setattr(imports, "sample_pending", lambda con, *a: ["contacts", "budget"])
    monkeypatch.setattr(data, "_load_sample", load)
    data.ensure_database(str(db), ("contacts",))  # the weekly page's first part

    def visitor(delay):
        run = data.RunConnection(str(db))
        run.get()  # the page's queries
        time.sleep(delay)
        try:
            data.ensure_database(str(db))  # finish_database
        except Exception as exc:  # noqa: BLE001
            failed.append(type(exc).__name__)
        finally:
            run.close()

    visitors = [threading.Thread(target=visitor, args=(d,)) for d in (0, 0.3)]
    for v in visitors:
        v.start()
    for v in visitors:
        v.join()
    assert failed == [] and loaded == [["contacts"], ["budget"]]
    st.cache_resource.clear()


def test_a_first_start_stopped_part_way_is_finished_by_the_next_run(app, db, last_week_sample, monkeypatch):
    real, calls = imports.load_sample_data, []

    def stopped_after_one_file(*a, datasets=None, **kw):
        calls.append(datasets)
        if len(calls) == 1:
            real(*a, datasets=datasets[:1], **kw)
            raise RuntimeError("the visitor closed the tab")
        return real(*a, datasets=datasets, **kw)

    monkeypatch.setattr(imports, "load_sample_data", stopped_after_one_file)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.run()
    assert at.exception  # the first run stopped after the contacts
    at.run()
    assert not at.exception
    assert calls[1][:2] == ["surveys", "complaints"]  # the file was asked what is left: the contacts are in
    with store.open_db(db, read_only=True) as con:
        assert all(n > 0 for n in store.row_counts(con).values())


def test_the_first_start_shows_how_far_the_sample_load_is(db, monkeypatch):
    monkeypatch.setenv("KPI_DB", str(db))
    import streamlit as st
    st.cache_resource.clear()

    def stopped_a_quarter_in(db=None, sample_dir=None, progress=None, **kw):
        progress(0.25, "contacts")
        raise RuntimeError("stopped here, to see the bar as a visitor sees it during the load")

    monkeypatch.setattr(imports, "load_sample_data", stopped_a_quarter_in)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()
    bar = at.get("progress")[0].proto
    assert (bar.value, bar.text) == (25, "首次啟動：正在載入範例資料，進線紀錄（第 1 個，共 6 個）")


def test_the_data_version_is_read_again_only_when_the_file_changes(db, write, monkeypatch):
    from ui import data

    imports.import_file("contacts", write("c.csv", WEEK), db=db)
    opened = []
    real = store.open_db
    monkeypatch.setattr(store, "open_db", lambda *a, **kw: opened.append(a) or real(*a, **kw))
    first, again = data.data_version(str(db)), data.data_version(str(db))
    assert first == again and len(opened) == 1  # the second run only looked at the file's size and time
    imports.import_file("contacts", write("d.csv", "contact_id,arrived_at\nn1,2026-11-20 11:00\n"), db=db)
    assert data.data_version(str(db))[0] == first[0] + 1 and len(opened) == 2


def test_a_page_run_opens_the_file_once_and_a_write_in_the_run_closes_it_first(db, write, monkeypatch):
    """Three cache misses of one run share one read-only connection; an import in the same run (the import page)
    closes it first, since one process can't hold the file read-only and writable at once: without that, the
    writable open would wait for the run's own connection and give up (DatabaseBusy)."""
    from ui import data

    imports.import_file("contacts", write("c.csv", WEEK), db=db)
    opened = []
    real = store.open_db
    monkeypatch.setattr(store, "open_db", lambda *a, **kw: opened.append(kw.get("read_only")) or real(*a, **kw))
    run = data.RunConnection(str(db))
    counts = [run.get().execute("SELECT count(*) FROM contacts").fetchone()[0] for _ in range(3)]
    assert counts == [4, 4, 4] and opened == [True]
    r = imports.import_file("contacts", write("d.csv", "contact_id,arrived_at\nn1,2026-11-20 11:00\n"), db=db,
                            wait=2)
    assert r.inserted == 1
    assert run.get().execute("SELECT count(*) FROM contacts").fetchone()[0] == 5  # opened again, sees the import
    assert opened == [True, True]
    run.close()


def test_a_run_connection_left_open_by_a_run_that_ended_does_not_block_the_next_write(db, write):
    """A page that called st.stop() after a query ended its run without closing its connection (the entry script's
    cleanup read st.session_state, which raises after st.stop()): every later sign-in, import and undo in the process
    waited 30 s and failed (DatabaseBusy). A writable open now closes the connection of any run whose thread has
    ended; the live run's own is closed too, as before."""
    import threading

    from ui import data

    imports.import_file("contacts", write("c.csv", WEEK), db=db)
    left = data.RunConnection(str(db))
    done = threading.Thread(target=lambda: left.get().execute("SELECT count(*) FROM contacts").fetchall())
    done.start()
    done.join()  # its run is over, its connection never closed
    r = imports.import_file("contacts", write("d.csv", "contact_id,arrived_at\nn1,2026-11-20 11:00\n"), db=db,
                            wait=2)
    assert r.inserted == 1 and left._con is None


def test_the_end_of_a_run_closes_its_connection_even_after_st_stop(db, write, monkeypatch):
    """After st.stop() every use of st.session_state raises StopException: end_run closes the connection it was
    handed before touching the session state, and the state's failure does not stop it."""
    from streamlit.runtime.scriptrunner_utils.exceptions import StopException

    from ui import data

    imports.import_file("contacts", write("c.csv", WEEK), db=db)
    held = data.RunConnection(str(db))
    held.get().execute("SELECT 1").fetchall()

    class Stopped:  # st.session_state once st.stop() was called (served: seen in a probe app)
        def pop(self, *a):
            raise StopException()
    monkeypatch.setattr(data.st, "session_state", Stopped())
    data.end_run(held)
    assert held._con is None
    with store.open_db(db) as con:  # writable at once: nothing of the run holds the file
        assert con.execute("SELECT count(*) FROM contacts").fetchone()[0] == 4


def test_after_an_import_the_warmer_recomputes_what_pages_asked_so_the_next_visit_reads_nothing(app, db, write,
                                                                                                monkeypatch):
    from ui import data

    monkeypatch.setattr(data.Warmer, "POLL", 3600.0)  # no look of its own during the test: check() is called here
    imports.import_file("contacts", write("c.csv", WEEK), db=db)
    app()  # a visit: the weekly page's queries are remembered
    warmer = data._warmer(str(db))
    assert warmer.check() == 0  # nothing changed since that visit
    imports.import_file("contacts", write("d.csv", "contact_id,arrived_at\nn1,2026-11-20 11:00\n"), db=db)
    assert warmer.check() > 0
    opened = []
    real = store.open_db
    monkeypatch.setattr(store, "open_db", lambda *a, **kw: opened.append(a) or real(*a, **kw))
    at = app()
    assert opened == []  # every query of the next visit was ready, and the warmer had read the new data version
    assert volume_tiles(at)["進線"] == "4"  # W47's w1, w2, w3 and the new n1
