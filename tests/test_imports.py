"""Preview before writing, undo after, and progress while importing."""
from __future__ import annotations

from pathlib import Path

import pytest

from kpi import imports, present, store
from helpers import rows, snapshot

HEADER = "contact_id,arrived_at,talk_seconds,customer_id\n"
FIRST = HEADER + ("a,2026-11-16 09:00,100,CU1\n"
                  "b,2026-11-16 09:01,200,CU2\n")
# a unchanged, b changed, c new, d rejected (unreadable time).
SECOND = HEADER + ("a,2026-11-16 09:00,100,CU1\n"
                   "b,2026-11-16 09:01,250,CU2\n"
                   "c,2026-11-16 09:02,300,CU3\n"
                   "d,yesterday,50,CU4\n")






def undo(db, import_id):
    with store.open_db(db) as con:
        return imports.undo_import(con, import_id)


def test_preview_counts_are_what_the_import_then_reports(db, write):
    imports.import_file("contacts", write("first.csv", FIRST), db=db)
    prep = imports.prepare("contacts", write("second.csv", SECOND))
    with store.open_db(db) as con:
        p = imports.preview(con, prep)
        r = imports.write(con, prep)
    # customer ids are compared as stored (hashed), so a stays unchanged.
    assert (p.inserted, p.updated, p.unchanged, p.rejected) == (1, 1, 1, 1)
    assert (p.inserted, p.updated, p.unchanged, p.rejected) == (r.inserted, r.updated, r.unchanged, r.rejected)
    assert p.rows_read == r.rows_read == 4


def test_preview_shows_the_first_rows_as_they_will_be_stored(db, write):
    prep = imports.prepare("contacts", write("second.csv", SECOND))
    with store.open_db(db) as con:
        p = imports.preview(con, prep, rows=2)
        imports.write(con, prep)
    assert p.rows.contact_id.tolist() == ["a", "b"] and p.rows.talk_seconds.tolist() == [100.0, 250.0]
    assert str(p.rows.arrived_at[0]) == "2026-11-16 09:00:00"
    stored = rows(db, "SELECT customer_id FROM contacts WHERE contact_id IN ('a', 'b') ORDER BY contact_id")
    assert p.rows.customer_id.tolist() == [h for (h,) in stored]  # hashed, never the raw id
    assert p.rejects.row_number.tolist() == [5]


def test_preview_writes_nothing(db, write):
    imports.import_file("contacts", write("first.csv", FIRST), db=db)
    before = snapshot(db)
    prep = imports.prepare("contacts", write("second.csv", SECOND))
    with store.open_db(db) as con:
        imports.preview(con, prep)
    with store.open_db(db, read_only=True) as con:  # the page previews on a read-only connection
        p = imports.preview(con, prep)
    assert p.updated == 1
    assert snapshot(db) == before


def test_undo_of_an_insert_only_import_removes_its_rows(db, write):
    imports.import_file("contacts", write("first.csv", FIRST), db=db)
    r = imports.import_file("contacts", write("more.csv", HEADER + "x,2026-11-17 10:00,10,CU9\ny,2026-11-17 10:01,20,\n"), db=db)
    u = undo(db, r.import_id)
    assert (u.removed, u.restored) == (2, 0)
    assert rows(db, "SELECT contact_id FROM contacts ORDER BY 1") == [("a",), ("b",)]
    assert rows(db, f"SELECT undone_at IS NOT NULL FROM imports WHERE import_id = {r.import_id}") == [(True,)]


def test_undo_of_an_update_restores_the_previous_rows_exactly(db, write):
    imports.import_file("contacts", write("first.csv", FIRST), db=db)
    before = rows(db, "SELECT * FROM contacts ORDER BY contact_id")
    r = imports.import_file("contacts", write("second.csv", SECOND), db=db)
    assert (r.inserted, r.updated) == (1, 1)
    u = undo(db, r.import_id)
    # c (inserted) goes, b (updated) comes back with its old talk time and its old import ids; a was never touched.
    assert (u.removed, u.restored) == (1, 1)
    assert rows(db, "SELECT * FROM contacts ORDER BY contact_id") == before
    assert rows(db, "SELECT count(*) FROM contacts_history") == [(0,)]


def test_undo_restores_a_budget_row_an_actuals_only_file_updated(db, write):
    imports.import_file("budget", write("b.csv", "period,line,budget\n2026-03,telecom,50000\n"), db=db)
    before = rows(db, "SELECT * FROM budget")
    r = imports.import_file("budget", write("a.csv", "period,line,actual\n2026-03,telecom,51000\n"), db=db)
    undo(db, r.import_id)
    assert rows(db, "SELECT * FROM budget") == before  # budget 50000, actual NULL again


def test_undo_is_refused_when_a_later_import_changed_the_same_rows(db, write):
    first = imports.import_file("contacts", write("first.csv", FIRST), db=db)
    second = imports.import_file("contacts", write("second.csv", SECOND), db=db)  # updates b
    before = snapshot(db)
    with pytest.raises(imports.UndoRefused, match=rf"import #{first.import_id} .*later import #{second.import_id} changed 1 ") as e:
        undo(db, first.import_id)
    assert snapshot(db) == before
    # named for the page's message catalog, which says it in the reader's language
    assert (e.value.code, e.value.params) == ("later", {"id": first.import_id, "file": "first.csv",
                                                        "later": f"#{second.import_id}", "rows": 1, "dataset": "contacts"})
    assert present.t("imp.refused.later", "zh-TW", **{**e.value.params, "dataset": "進線紀錄"}) == (
        f"之後的匯入 #{second.import_id} 改動了匯入 #{first.import_id}（first.csv）寫入的 1 列進線紀錄資料，"
        f"請先復原 #{second.import_id}。")


def test_undo_is_refused_when_a_later_import_updated_rows_the_import_updated(db, write):
    imports.import_file("contacts", write("first.csv", FIRST), db=db)
    second = imports.import_file("contacts", write("second.csv", SECOND), db=db)  # b 200 -> 250
    third = imports.import_file("contacts", write("third.csv", HEADER + "b,2026-11-16 09:01,260,CU2\n"), db=db)
    before = snapshot(db)
    with pytest.raises(imports.UndoRefused, match=rf"later import #{third.import_id}"):
        undo(db, second.import_id)
    assert snapshot(db) == before


def test_undo_names_every_later_import_that_changed_a_row_of_a_two_column_key(db, write):
    head = "agent_id,state,started_at,ended_at\n"
    first = imports.import_file("agent_states", write("s1.csv", head + "A1,Ready,2026-11-16 09:00,2026-11-16 09:10\n"
                                "A1,ACW,2026-11-16 09:10,2026-11-16 09:20\nA2,Ready,2026-11-16 09:00,2026-11-16 09:10\n"), db=db)
    # (A1, 09:10) changed twice after it: its ACW becomes Lunch, then Ready; (A2, 09:00) left as it was; A3 new
    second = imports.import_file("agent_states", write("s2.csv", head + "A1,Lunch,2026-11-16 09:10,2026-11-16 09:20\n"
                                 "A2,Ready,2026-11-16 09:00,2026-11-16 09:10\nA3,Ready,2026-11-16 09:00,2026-11-16 09:10\n"),
                                 db=db)
    third = imports.import_file("agent_states", write("s3.csv", head + "A1,Ready,2026-11-16 09:10,2026-11-16 09:20\n"),
                                db=db)
    before = snapshot(db)
    with pytest.raises(imports.UndoRefused) as e:
        undo(db, first.import_id)
    assert e.value.params == {"id": first.import_id, "file": "s1.csv", "later": f"#{second.import_id}, #{third.import_id}",
                              "rows": 1, "dataset": "agent_states"}
    assert snapshot(db) == before
    for later in (third, second, first):  # newest first, each undo allowed
        undo(db, later.import_id)
    assert rows(db, "SELECT count(*) FROM agent_states") == [(0,)]


def test_undoing_the_later_import_first_lets_the_earlier_one_be_undone(db, write):
    imports.import_file("contacts", write("first.csv", FIRST), db=db)
    original = rows(db, "SELECT * FROM contacts ORDER BY contact_id")
    second = imports.import_file("contacts", write("second.csv", SECOND), db=db)  # b 200 -> 250
    after_second = rows(db, "SELECT * FROM contacts ORDER BY contact_id")
    third = imports.import_file("contacts", write("third.csv", HEADER + "b,2026-11-16 09:01,260,CU2\n"), db=db)
    undo(db, third.import_id)
    assert rows(db, "SELECT * FROM contacts ORDER BY contact_id") == after_second
    undo(db, second.import_id)
    assert rows(db, "SELECT * FROM contacts ORDER BY contact_id") == original
    # Each undone import's history is gone, so no version can be restored twice.
    assert rows(db, "SELECT count(*) FROM contacts_history") == [(0,)]


def test_undo_of_an_unknown_or_already_undone_import_is_refused(db, write):
    r = imports.import_file("contacts", write("first.csv", FIRST), db=db)
    with pytest.raises(imports.UndoRefused, match="import #99 does not exist"):
        undo(db, 99)
    undo(db, r.import_id)
    before = snapshot(db)
    with pytest.raises(imports.UndoRefused, match=rf"import #{r.import_id} \(first.csv\) was already undone") as e:
        undo(db, r.import_id)
    assert snapshot(db) == before
    assert e.value.code == "undone" and e.value.params["file"] == "first.csv"


def test_undo_moves_the_data_version(db, write):
    r = imports.import_file("contacts", write("first.csv", FIRST), db=db)
    with store.open_db(db) as con:
        before = store.data_version(con)
        imports.undo_import(con, r.import_id)
        assert store.data_version(con) != before


def test_unchanged_rows_of_a_later_import_do_not_block_undo(db, write):
    first = imports.import_file("contacts", write("first.csv", FIRST), db=db)
    imports.import_file("contacts", write("again.csv", FIRST), db=db)  # same rows, same values: unchanged
    assert undo(db, first.import_id).removed == 2


def test_progress_fractions_increase_to_one_with_a_bounded_number_of_calls(db, write):
    def calls_for(n_rows):
        seen = []
        body = "".join(f"r{i},2026-11-16 09:00,{i},CU{i}\n" for i in range(n_rows))
        imports.import_file("contacts", write(f"p{n_rows}.csv", HEADER + body), db=db,
                           progress=lambda fraction, step: seen.append((fraction, step)))
        return seen

    small, large = calls_for(3), calls_for(5000)
    fractions = [f for f, _ in large]
    assert fractions == sorted(set(fractions)) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert len(small) == len(large) <= 40  # per step, not per row
    steps = [s for _, s in large]
    assert steps[0] == "reading" and "parsing" in steps and "inserting" in steps
    assert set(steps) <= set(imports.STEPS)


def test_prepare_and_write_report_progress_on_their_own(db, write):
    seen = []
    prep = imports.prepare("contacts", write("first.csv", FIRST), progress=lambda f, s: seen.append(f))
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)
    seen.clear()
    with store.open_db(db) as con:
        imports.write(con, prep, progress=lambda f, s: seen.append(f))
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)


def test_the_sample_load_reports_how_far_the_whole_load_is(db, tmp_path):
    folder = tmp_path / "sample"
    folder.mkdir()
    (folder / "manifest.yaml").write_text("- {dataset: contacts, file: c.csv}\n- {dataset: surveys, file: s.csv}\n")
    contacts = "contact_id,arrived_at\na,2026-11-16 10:00\nb,2026-11-16 11:00\n"  # 60 bytes
    surveys = "survey_id,responded_at,csat\ns1,2026-11-17 10:00,5\n"  # 50 bytes
    (folder / "c.csv").write_text(contacts)
    (folder / "s.csv").write_text(surveys)
    heard = []
    results = imports.load_sample_data(db, folder, progress=lambda fraction, dataset: heard.append((fraction, dataset)))
    assert [r.inserted for r in results] == [2, 1]
    fractions = [f for f, _ in heard]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == pytest.approx(1.0)
    # each file weighs its size: the contacts fill 0 to 60/110 of the bar, the surveys the rest
    assert max(f for f, ds in heard if ds == "contacts") == pytest.approx(60 / 110)
    assert min(f for f, ds in heard if ds == "surveys") == pytest.approx(60 / 110)
    assert [ds for _, ds in heard] == sorted((ds for _, ds in heard), key=["contacts", "surveys"].index)


def _tiny_sample(tmp_path) -> Path:
    folder = tmp_path / "sample"
    folder.mkdir()
    (folder / "manifest.yaml").write_text("- {dataset: contacts, file: c.csv}\n- {dataset: surveys, file: s.csv}\n"
                                          "- {dataset: complaints, file: k.csv}\n")
    (folder / "c.csv").write_text("contact_id,arrived_at\na,2026-11-16 10:00\nb,2026-11-16 11:00\n")
    (folder / "s.csv").write_text("survey_id,responded_at,csat\ns1,2026-11-17 10:00,5\n")
    (folder / "k.csv").write_text("complaint_id,opened_at\nk1,2026-11-17 10:00\n")
    return folder


def test_the_sample_loads_in_parts_and_says_what_a_first_start_still_has_to_load(db, tmp_path, write):
    folder = _tiny_sample(tmp_path)
    assert imports.sample_pending(None, folder) == ["contacts", "surveys", "complaints"]  # no file yet
    with store.open_db(db) as con:
        assert imports.sample_pending(con, folder) == ["contacts", "surveys", "complaints"]  # a new, empty file
    results = imports.load_sample_data(db, folder, datasets=["contacts", "complaints"])
    assert [(r.dataset, r.inserted) for r in results] == [("contacts", 2), ("complaints", 1)]
    with store.open_db(db) as con:
        assert imports.sample_pending(con, folder) == ["surveys"]  # a first page's part loaded: the rest waits
        imports.undo_import(con, con.execute("SELECT import_id FROM imports WHERE dataset = 'complaints'").fetchone()[0])
        assert imports.sample_pending(con, folder) == ["surveys"]  # what a user took out stays out
    imports.import_file("surveys", write("mine.csv", "survey_id,responded_at,csat\nm1,2026-11-18 10:00,4\n"), db=db)
    with store.open_db(db) as con:
        assert imports.sample_pending(con, folder) == []  # the centre's own data: the sample never mixes with it
        assert imports.sample_pending(con, tmp_path / "not shipped") == []  # nor is sample_data/ read


def test_a_file_with_rows_but_no_import_gets_no_sample(db, tmp_path):
    folder = _tiny_sample(tmp_path)
    with store.open_db(db) as con:  # rows written by SQL (a bulk load), no import recorded
        con.execute("INSERT INTO contacts (contact_id, arrived_at, import_id, created_import_id) "
                    "VALUES ('x', TIMESTAMP '2026-11-16 10:00', 0, 0)")
        assert imports.sample_pending(con, folder) == []


def test_mappings_saved_by_name_come_back_as_the_cli_yaml(tmp_path):
    from kpi import imports
    from kpi.imports import Mapping, Options, load_mapping

    m = Mapping(dataset="contacts", columns={"contact_id": ["Call ID"], "arrived_at": ["Date", "Time"]},
                options=Options(date_order="dmy", values={"channel": {"Voice": "phone"}}))
    with store.open_db(tmp_path / "m.duckdb") as con:
        imports.save_mapping(con, "vendor A", m)
        imports.save_mapping(con, "vendor A", m)  # same name: replaced, not doubled
        assert imports.saved_mappings(con) == ["vendor A"] and imports.saved_mappings(con, "surveys") == []
        back = imports.get_saved_mapping(con, "vendor A")
    assert back.columns == m.columns and back.options.date_order == "dmy"
    # The YAML the page offers for download is the file format the CLI reads.
    f = tmp_path / "vendor.yaml"
    f.write_text(back.to_yaml(), encoding="utf-8")
    assert load_mapping(f).columns == m.columns


def test_file_headers_of_a_big5_csv(tmp_path):
    from kpi import imports

    f = tmp_path / "b.csv"
    f.write_bytes("來電編號,通話日期,通話時間\nA1,2026/11/20,10:00\n".encode("cp950"))
    assert imports.file_headers(str(f)) == (["來電編號", "通話日期", "通話時間"], [])


def test_rejected_rows_come_back_as_a_file_to_correct_and_import_again(db, write):
    # The download held one JSON blob per reason ({"Call ID": ..., "Wait (sec)": null}): now one line per rejected
    # row, its reasons together, then its cells under the file's own headers (blank where empty).
    text = ("Call ID,Start Time,Wait (sec),Talk Time\n"
            "ok-1,2026-11-20 10:00:00,12,60\n"
            "bad-1,2026-13-45 10:00:00,-4,60\n"
            "bad-2,2026-11-20 11:00:00,abc,\n")
    mapping = imports.Mapping(dataset="contacts", columns={"contact_id": ["Call ID"], "arrived_at": ["Start Time"],
                                                           "wait_seconds": ["Wait (sec)"], "talk_seconds": ["Talk Time"]})
    prep = imports.prepare("contacts", write("calls.csv", text), mapping)
    with store.open_db(db) as con:
        p = imports.preview(con, prep)
    fix = imports.rejects_to_fix(p.rejects, "zh-TW")
    assert list(fix.columns) == ["列號", "欄位", "原因", "Call ID", "Start Time", "Wait (sec)", "Talk Time"]
    assert fix["列號"].tolist() == [3, 4] and fix["Call ID"].tolist() == ["bad-1", "bad-2"]
    first = fix.iloc[0]
    assert first["欄位"] == "進線時間、等候時間（秒）" and first["原因"].endswith("；時間長度為負值「-4」（應為 0 以上）")
    assert (first["Start Time"], first["Wait (sec)"]) == ("2026-13-45 10:00:00", "-4")
    assert fix.iloc[1]["Talk Time"] == "" and "None" not in fix.to_csv() and "null" not in fix.to_csv()


def test_a_date_and_a_time_column_with_the_date_empty_is_a_missing_date(db, write):
    # The sample complaints' 開案日期 + 開案時間: an empty date beside 15:45 said 無法讀取「15:45」; it is a missing
    # date. A date without its time is still that day.
    mapping = imports.Mapping(dataset="contacts", columns={"contact_id": ["id"], "arrived_at": ["Date", "Time"]})
    prep = imports.prepare("contacts", write("dt.csv", "id,Date,Time\nc1,2026-11-20,15:45\nc2,,15:45\nc3,2026-11-20,\n"),
                           mapping)
    with store.open_db(db) as con:
        p = imports.preview(con, prep)
    assert p.rows["contact_id"].tolist() == ["c1", "c3"]
    assert [str(x) for x in p.rows["arrived_at"]] == ["2026-11-20 15:45:00", "2026-11-20 00:00:00"]
    assert imports.readable_rejects(p.rejects, "zh-TW", ("row_number", "reason")).values.tolist() == [
        [3, "必填欄位空白（應為日期時間）"]]
