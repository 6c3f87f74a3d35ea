"""ui.data.recent: a read cached until the database file's stamp moves (the data page's audit log), not re-read by
every page run, and read anew after any committed write."""
from __future__ import annotations

import shutil

from streamlit.testing.v1 import AppTest

from kpi import store


def _recent_page():
    import os

    import streamlit as st

    from ui.data import recent

    def contacts(con, log):  # each read leaves a line in the log: how often the file was read
        with open(log, "a") as f:
            f.write("read\n")
        return con.execute("SELECT count(*) FROM contacts").fetchone()[0]

    st.write(f"contacts {recent(contacts, os.environ['RECENT_LOG'])}")


def test_recent_reads_the_file_again_only_after_a_committed_write(sample_db, tmp_path, monkeypatch):
    db, log = tmp_path / "k.duckdb", tmp_path / "reads.log"
    shutil.copy(sample_db, db)
    monkeypatch.setenv("KPI_DB", str(db))
    monkeypatch.setenv("RECENT_LOG", str(log))
    with store.open_db(db, read_only=True) as con:
        n = con.execute("SELECT count(*) FROM contacts").fetchone()[0]

    def shown(at: AppTest) -> str:
        at.run()
        assert not at.exception, [e.message for e in at.exception]
        return at.markdown[0].value

    at = AppTest.from_function(_recent_page)
    assert shown(at) == f"contacts {n}" and log.read_text().count("read") == 1
    assert shown(at) == f"contacts {n}" and log.read_text().count("read") == 1  # cached: the file was not read
    with store.open_db(db, read_only=True) as con:  # a read does not move the stamp
        con.execute("SELECT 1").fetchall()
    assert shown(at) == f"contacts {n}" and log.read_text().count("read") == 1
    with store.open_db(db) as con:  # a committed write (here by SQL: the data version does not move) does
        con.execute("DELETE FROM contacts WHERE contact_id = (SELECT min(contact_id) FROM contacts)")
    assert shown(at) == f"contacts {n - 1}" and log.read_text().count("read") == 2
    assert shown(at) == f"contacts {n - 1}" and log.read_text().count("read") == 2
