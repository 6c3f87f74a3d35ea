"""Each survey keeps its contact's arrival, team, agent, channel and queue (issue 17: no join with every contact when
surveys are read): equal at all times to the join computed from scratch, through imports, re-imports and undos of
either dataset, on upgrade; never offered to a user (mapping, preview); and the survey figures are the join's."""
from __future__ import annotations

from datetime import date, datetime

import duckdb
import numpy as np
import pytest

from helpers import db_with
from kpi import imports, metrics, store
from test_rollup import assert_rollup_exact, csv_of, random_contacts, random_surveys, table_csv

LINK = ", ".join(store.SURVEY_CONTACT_COLUMNS)
# The definition written out by hand: the contact's columns by a join with the contacts as they now stand.
JOINED = ("SELECT s.survey_id, {extra} c.arrived_at, c.team, c.agent_id, c.channel, c.queue FROM {table} s "
          "LEFT JOIN contacts c ON c.contact_id = s.contact_id")


def stored_and_joined(con, table: str) -> tuple[list, list]:
    extra = "s.replaced_by_import_id," if table.endswith("_history") else ""
    stored = con.execute(f"SELECT survey_id, {extra} {LINK} FROM {table} s ORDER BY ALL").fetchall()
    joined = con.execute(f"SELECT * FROM ({JOINED.format(extra=extra, table=table)}) ORDER BY ALL").fetchall()
    return stored, joined


def assert_links_exact(db) -> None:
    with store.open_db(db, read_only=True) as con:
        for table in ("surveys", "surveys_history"):
            stored, joined = stored_and_joined(con, table)
            assert stored == joined, table


def links(db, survey_id: str) -> tuple:
    with store.open_db(db, read_only=True) as con:
        return con.execute(f"SELECT {LINK} FROM surveys WHERE survey_id = ?", [survey_id]).fetchone()


def write_csv(tmp_path, name: str, text: str):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def undo(db, result) -> None:
    with store.open_db(db) as con:
        imports.undo_import(con, result.import_id, by="test")


def test_surveys_follow_their_contact_through_imports_and_undos_by_hand(tmp_path):
    db = tmp_path / "k.duckdb"
    c1 = imports.import_file("contacts", write_csv(tmp_path, "c1.csv", (
        "contact_id,arrived_at,channel,queue,team,agent_id\n"
        "c1,2026-11-16 10:00,phone,q1,A,a1\n"
        "c2,2026-11-17 11:00,chat,,B,\n")), db=db)
    s1 = imports.import_file("surveys", write_csv(tmp_path, "s1.csv", (
        "survey_id,responded_at,contact_id,team,agent_id,csat\n"
        "s1,2026-11-23 09:00,c1,Z,z9,5\n"      # about c1: its week, team A, agent a1, phone, q1
        "s2,2026-11-23 09:30,,Z,z9,4\n"        # unlinked: its own team and answer time
        "s3,2026-11-23 10:00,c9,Z,z9,2\n")), db=db)  # about a contact not (yet) imported: like an unlinked one
    assert links(db, "s1") == (datetime(2026, 11, 16, 10), "A", "a1", "phone", "q1")
    assert links(db, "s2") == links(db, "s3") == (None,) * 5
    # A contacts re-import moves c1 to team B on 2026-11-18 by chat, and brings c9: s1 and s3 follow.
    c2 = imports.import_file("contacts", write_csv(tmp_path, "c2.csv", (
        "contact_id,arrived_at,channel,queue,team,agent_id\n"
        "c1,2026-11-18 08:00,chat,q2,B,a2\n"
        "c9,2026-11-19 12:00,email,q3,C,a3\n")), db=db)
    assert (c2.updated, c2.inserted) == (1, 1)
    assert links(db, "s1") == (datetime(2026, 11, 18, 8), "B", "a2", "chat", "q2")
    assert links(db, "s3") == (datetime(2026, 11, 19, 12), "C", "a3", "email", "q3")
    # The survey week 2026-11-16..22 by team: s1 in B, s3 in C; s2 (answered 11-23) in the next week.
    with store.open_db(db, read_only=True) as con:
        by_team = metrics.compute_kpis(con, date(2026, 11, 16), date(2026, 11, 22), "team", kpis=["survey_responses"])
        assert dict(zip(by_team.key, by_team.survey_responses)) == {"B": 1, "C": 1}
    # A surveys re-import unlinks s1 (no contact id) and links s2 to c2.
    s2 = imports.import_file("surveys", write_csv(tmp_path, "s2.csv", (
        "survey_id,responded_at,contact_id,team,agent_id,csat\n"
        "s1,2026-11-23 09:00,,Z,z9,5\n"
        "s2,2026-11-23 09:30,c2,Z,z9,4\n")), db=db)
    assert s2.updated == 2
    assert links(db, "s1") == (None,) * 5
    assert links(db, "s2") == (datetime(2026, 11, 17, 11), "B", None, "chat", None)
    assert_links_exact(db)  # surveys_history holds s1 and s2 as they were: with c1's columns as they stand now
    undo(db, c2)  # c1 back to 2026-11-16 team A; c9 gone: s3 unlinked again; s1's old version in history follows
    assert links(db, "s3") == (None,) * 5
    assert_links_exact(db)
    undo(db, s2)  # s1 about c1 again, with c1's columns as they are now; s2 unlinked
    assert links(db, "s1") == (datetime(2026, 11, 16, 10), "A", "a1", "phone", "q1")
    assert links(db, "s2") == (None,) * 5
    assert_links_exact(db)
    assert_rollup_exact(db, ("surveys",))
    undo(db, s1)
    undo(db, c1)
    with store.open_db(db, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM surveys").fetchone() == (0,)


@pytest.mark.parametrize("seed", [5, 6])
def test_any_sequence_of_imports_reimports_and_undos_keeps_the_links_equal_to_the_join(tmp_path, seed):
    rng = np.random.default_rng(seed)
    db = tmp_path / "r.duckdb"
    ids = [f"c{i}" for i in range(60)]
    done, step = [], 0
    for _ in range(14):
        step += 1
        op = rng.choice(["contacts", "contacts", "surveys", "surveys", "undo"])
        if op == "contacts":  # a random subset: new contacts, moved ones (time, team, agent, channel, queue)
            frame = random_contacts(int(rng.integers(1 << 30)), 25, datetime(2026, 3, 2))
            frame["contact_id"] = rng.choice(ids, 25, replace=False)
            done.append(imports.import_file("contacts", csv_of(tmp_path, frame, f"c{step}.csv"), db=db))
        elif op == "surveys":  # new and re-imported surveys, about known, unknown (not yet imported) or no contacts
            frame = random_surveys(int(rng.integers(1 << 30)), 20, datetime(2026, 3, 2), ids)
            frame["survey_id"] = rng.choice([f"s{i}" for i in range(40)], 20, replace=False)
            done.append(imports.import_file("surveys", table_csv(tmp_path, frame, f"s{step}.csv"), db=db))
        elif done:
            last = done.pop()
            undo(db, last)
        assert_links_exact(db)
    with store.open_db(db, read_only=True) as con:  # the figures are the join's: responses per team by hand-written SQL
        got = metrics.compute_kpis(con, date(2026, 3, 1), date(2026, 3, 31), "team", kpis=["survey_responses"],
                                   rollup=False)
        expected = dict(con.execute(
            "SELECT coalesce(c.team, s.team), count(*) FROM surveys s LEFT JOIN contacts c ON c.contact_id = "
            "s.contact_id WHERE coalesce(c.arrived_at, s.responded_at) >= '2026-03-01' AND coalesce(c.arrived_at, "
            "s.responded_at) < '2026-04-01' GROUP BY 1").fetchall())
    assert dict(zip(got.key, got.survey_responses)) == {k: v for k, v in expected.items()}
    assert_rollup_exact(db, ("surveys",))


def test_an_older_file_gets_the_links_filled_on_its_first_open(db):
    con = duckdb.connect(str(db))
    store.migrate(con, target=10)  # a file as version 10 of the code left it: no copy of the contact's columns
    con.execute("INSERT INTO contacts (contact_id, arrived_at, channel, team, agent_id, queue, direction, import_id, "
                "created_import_id) VALUES ('c1', '2026-11-16 10:00', 'phone', 'A', 'a1', 'q1', 'inbound', 1, 1)")
    con.execute("INSERT INTO surveys (survey_id, responded_at, contact_id, team, csat, import_id, created_import_id) "
                "VALUES ('s1', '2026-11-23 09:00', 'c1', 'Z', 5, 2, 2), ('s2', '2026-11-23 09:00', NULL, 'Z', 1, 2, 2)")
    con.execute("INSERT INTO surveys_history (survey_id, responded_at, contact_id, team, csat, import_id, "
                "created_import_id, replaced_by_import_id) VALUES ('s1', '2026-11-20 09:00', 'c1', 'Z', 3, 1, 1, 2)")
    con.close()
    with store.open_db(db, read_only=True) as con:  # a reader upgrades it, as every upgrade
        assert store.schema_version(con) == store.SCHEMA_VERSION == 12
        assert con.execute(f"SELECT survey_id, {LINK} FROM surveys ORDER BY 1").fetchall() == [
            ("s1", datetime(2026, 11, 16, 10), "A", "a1", "phone", "q1"), ("s2", None, None, None, None, None)]
        assert con.execute(f"SELECT {LINK} FROM surveys_history").fetchall() == [
            (datetime(2026, 11, 16, 10), "A", "a1", "phone", "q1")]
        r = metrics.compute_kpis(con, date(2026, 11, 16), date(2026, 11, 22), "team", kpis=["survey_responses", "csat"])
        assert (list(r.key), list(r.survey_responses), list(r.csat)) == (["A"], [1], [1.0])  # s1 in c1's week, team


def test_the_links_are_no_column_a_user_maps_previews_or_sees(tmp_path):
    assert not set(store.SURVEY_CONTACT_COLUMNS) & set(store.SURVEYS.names)  # mapping targets, docs, exports
    with pytest.raises(Exception, match="columns.contact_team: not a column of surveys"):
        imports.parse_mapping({"dataset": "surveys", "columns": {"contact_team": "組別"}})
    db = tmp_path / "k.duckdb"
    imports.import_file("contacts", write_csv(tmp_path, "c.csv", "contact_id,arrived_at,team\nc1,2026-11-16 10:00,A\n"),
                        db=db)
    f = write_csv(tmp_path, "s.csv", "survey_id,responded_at,contact_id,contact_team,csat\ns1,2026-11-23,c1,FAKE,5\n")
    prep = imports.prepare("surveys", f)
    with store.open_db(db, read_only=True) as con:
        shown = imports.preview(con, prep)
    assert not set(store.SURVEY_CONTACT_COLUMNS) & set(shown.rows.columns)
    r = imports.import_file("surveys", f, db=db)
    assert "contact_team" in r.ignored_columns  # a file's column of that name is not ours: its contact's team is
    assert links(tmp_path / "k.duckdb", "s1")[1] == "A"


def test_survey_figures_by_hand_read_the_kept_links():
    con = db_with(contacts=[{"contact_id": "c1", "arrived_at": "2026-11-16 10:00", "channel": "phone", "team": "A",
                             "queue": "q1"},
                            {"contact_id": "c2", "arrived_at": "2026-11-10 10:00", "channel": "chat", "team": None}],
                  surveys=[{"survey_id": "s1", "responded_at": "2026-11-24 10:00", "contact_id": "c1", "team": "B",
                            "csat": 1, "comment": "太慢"},
                           {"survey_id": "s2", "responded_at": "2026-11-17 10:00", "contact_id": "c2", "team": "B",
                            "csat": 5},
                           {"survey_id": "s3", "responded_at": "2026-11-18 10:00", "contact_id": None, "team": "A",
                            "csat": 2, "comment": "不好"}])
    # Week 2026-11-16..22: s1 (c1's week, team A, phone) and s3 (unlinked, its own team A, no channel); s2 is in c2's
    # week 11-10 (team: its own B, as c2 has none).
    dist = metrics.score_distribution(con, date(2026, 11, 16), date(2026, 11, 22), "csat", team="A")
    assert list(dist.responses) == [1, 1, 0, 0, 0]
    assert list(metrics.score_distribution(con, date(2026, 11, 16), date(2026, 11, 22), "csat", channel="phone")
                .responses) == [1, 0, 0, 0, 0]
    comments = metrics.low_score_comments(con, date(2026, 11, 16), date(2026, 11, 22), team="A")
    assert sorted(comments.comment) == ["不好", "太慢"]
    r = metrics.compute_kpis(con, date(2026, 11, 9), date(2026, 11, 15), "team", kpis=["survey_responses"])
    assert (list(r.key), list(r.survey_responses)) == (["B"], [1])


def test_contacts_written_by_sql_are_linked_when_a_writable_open_rebuilds_the_surveys_rollup(tmp_path):
    db = tmp_path / "k.duckdb"
    imports.import_file("surveys", write_csv(tmp_path, "s.csv", "survey_id,responded_at,contact_id,team,csat\n"
                                                                "s1,2026-11-23 09:00,c1,Z,5\n"), db=db)
    with store.open_db(db) as con:  # not an import: the surveys rollup's stamp no longer matches
        con.execute("INSERT INTO contacts (contact_id, arrived_at, channel, team, direction, import_id, created_import_id)"
                    " VALUES ('c1', '2026-11-16 10:00', 'phone', 'A', 'inbound', 99, 99)")
    assert links(db, "s1") == (None,) * 5  # stale until a writable open rebuilds the rollup
    with store.open_db(db):
        pass
    assert links(db, "s1") == (datetime(2026, 11, 16, 10), "A", None, "phone", None)
    assert_rollup_exact(db, ("surveys",))
