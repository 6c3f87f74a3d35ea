"""kpi.auth: local accounts (argon2, minimum length, lock-out, throttling), access.yaml's mapping of company accounts to
roles, idle expiry, the audit log written with every import, undo and report, and files kept private."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from helpers import db_with
from kpi import auth, competency, imports, store
from kpi.auth.access import Scope

ROOT = Path(__file__).resolve().parent.parent
RULES = auth.AuthSettings()  # 12 characters, 5 failures lock for 15 min, 30 failures a minute, 30 min idle
T0 = datetime(2026, 11, 23, 9, 0)
PASSWORD = "correct horse battery"


@pytest.fixture
def con():
    con = db_with()
    auth.add_user(con, "mei", "supervisor", PASSWORD, RULES, teams=["技術支援組"], by="root")
    return con


def events(con) -> list[tuple]:
    """(user, action, target, detail) of every audit event, oldest first."""
    return [(u, a, t, json.loads(d) if d else None) for u, a, t, d in con.execute(
        "SELECT user_name, action, target, detail FROM audit_log ORDER BY event_id").fetchall()]


@pytest.mark.parametrize("version", [6, 7])  # before the direction column (schema 7), and with it
def test_a_file_of_an_older_schema_gets_the_accounts_and_audit_tables_keeping_its_data(db, version):
    old = duckdb.connect(str(db))
    store.migrate(old, target=version)
    old.execute("INSERT INTO contacts (contact_id, arrived_at, channel, direction, answered, import_id, "
                "created_import_id) VALUES ('old1', '2026-11-16 09:00', 'phone', 'outbound', true, 1, 1)")
    old.close()
    with store.open_db(db) as con:
        assert store.schema_version(con) == store.SCHEMA_VERSION == 12
        assert con.execute("SELECT contact_id, direction FROM contacts").fetchall() == [("old1", "outbound")]
        assert not auth.has_users(con)
        auth.add_user(con, "mei", "supervisor", PASSWORD, RULES, teams=["技術支援組"], by="root")
        assert auth.sign_in(con, "mei", PASSWORD, RULES, T0).scope == Scope("supervisor", frozenset({"技術支援組"}),
                                                                            None, "mei")
        assert [e[1] for e in events(con)] == ["user_added", "sign_in"]


def test_a_password_is_kept_only_as_an_argon2_hash(con):
    hashed, = con.execute("SELECT password_hash FROM users WHERE name = 'mei'").fetchone()
    assert hashed.startswith("$argon2id$") and PASSWORD not in hashed
    assert all(PASSWORD not in str(row) for row in con.execute("SELECT * FROM audit_log").fetchall())
    assert events(con) == [("root", "user_added", "mei", {"role": "supervisor", "teams": ["技術支援組"]})]


def test_a_short_password_or_the_users_own_name_is_refused():
    con = db_with()
    with pytest.raises(auth.AccountError, match="shorter than 12 characters"):
        auth.add_user(con, "mei", "admin", "elevenchars", RULES)  # 11
    with pytest.raises(auth.AccountError, match="the user's name"):
        auth.add_user(con, "administrator", "admin", "Administrator", RULES)
    assert not auth.has_users(con) and events(con) == []  # nothing half done
    auth.add_user(con, "mei", "admin", "twelve chars", RULES)  # exactly 12
    assert auth.has_users(con)


def test_each_role_gets_the_teams_and_agent_id_it_needs():
    con = db_with()
    with pytest.raises(auth.AccountError, match="a supervisor needs at least one team"):
        auth.add_user(con, "mei", "supervisor", PASSWORD, RULES)
    with pytest.raises(auth.AccountError, match="an agent needs their agent id"):
        auth.add_user(con, "a017", "agent", PASSWORD, RULES, teams=["技術支援組"])
    with pytest.raises(auth.AccountError, match="unknown role 'boss'"):
        auth.add_user(con, "mei", "boss", PASSWORD, RULES)
    auth.add_user(con, "fin", "finance", PASSWORD, RULES, teams=["技術支援組"])  # finance sees every team anyway
    auth.add_user(con, "a017", "agent", PASSWORD, RULES, teams=["技術支援組"], agent_id="A017")
    assert auth.sign_in(con, "fin", PASSWORD, RULES, T0).scope == Scope("finance", None, None, "fin")
    assert auth.sign_in(con, "a017", PASSWORD, RULES, T0).scope == Scope("agent", frozenset({"技術支援組"}), "A017", "a017")
    with pytest.raises(auth.AccountError, match="user fin exists already"):
        auth.add_user(con, "fin", "admin", PASSWORD, RULES)


def test_signing_in_gives_the_users_scope_and_logs_it(con):
    result = auth.sign_in(con, " mei ", PASSWORD, RULES, T0)  # spaces around a typed name don't count
    assert result.ok and result.scope == Scope("supervisor", frozenset({"技術支援組"}), None, "mei")
    assert events(con)[-1] == ("mei", "sign_in", "mei", {"method": "local"})


def test_five_wrong_passwords_in_a_row_lock_the_account_for_the_lock_time(con):
    tries = [auth.sign_in(con, "mei", "wrong password!", RULES, T0 + timedelta(minutes=i)) for i in range(5)]
    assert [(r.reason, r.attempts_left) for r in tries] == [("bad", 4), ("bad", 3), ("bad", 2), ("bad", 1), ("locked", 0)]
    assert tries[-1].locked_until == datetime(2026, 11, 23, 9, 19)  # the 5th failure at 09:04 + 15 min
    assert auth.list_users(con, now=T0 + timedelta(minutes=5))["locked_until"].iloc[0] == datetime(2026, 11, 23, 9, 19)
    # the right password while locked: still refused, and said so
    assert auth.sign_in(con, "mei", PASSWORD, RULES, datetime(2026, 11, 23, 9, 18)).reason == "locked"
    assert auth.sign_in(con, "mei", PASSWORD, RULES, datetime(2026, 11, 23, 9, 19, 1)).ok
    reasons = [d["reason"] for u, a, t, d in events(con) if a == "sign_in_failed"]
    assert reasons == ["bad"] * 4 + ["locked", "locked"]


def test_failures_further_apart_than_the_lock_time_start_the_count_again(con):
    for i in range(4):
        auth.sign_in(con, "mei", "wrong password!", RULES, T0 + timedelta(minutes=i))
    later = auth.sign_in(con, "mei", "wrong password!", RULES, T0 + timedelta(minutes=3 + 16))  # 16 min after the 4th
    assert (later.reason, later.attempts_left) == ("bad", 4)


def test_a_success_clears_the_failures_before_it(con):
    for i in range(4):
        auth.sign_in(con, "mei", "wrong password!", RULES, T0 + timedelta(minutes=i))
    assert auth.sign_in(con, "mei", PASSWORD, RULES, T0 + timedelta(minutes=5)).ok
    assert auth.sign_in(con, "mei", "wrong password!", RULES, T0 + timedelta(minutes=6)).attempts_left == 4


def test_an_unknown_name_is_answered_and_locked_exactly_like_a_known_one(con):
    known = [auth.sign_in(con, "mei", "wrong password!", RULES, T0) for _ in range(5)]
    unknown = [auth.sign_in(con, "nobody", "wrong password!", RULES, T0) for _ in range(5)]
    strip = lambda rs: [(r.reason, r.attempts_left, r.locked_until) for r in rs]  # noqa: E731
    assert strip(known) == strip(unknown)  # nothing tells which names exist


def test_failed_sign_ins_of_all_names_beyond_the_rate_make_everyone_wait_a_minute(con):
    rules = auth.AuthSettings(attempts_per_minute=3)
    for i, name in enumerate(("a", "b", "c")):
        assert auth.sign_in(con, name, "guess guess guess", rules, T0 + timedelta(seconds=i)).reason == "bad"
    # 3 failures within the minute before 09:00:30: the right password waits too
    assert auth.sign_in(con, "mei", PASSWORD, rules, T0 + timedelta(seconds=30)).reason == "throttled"
    assert auth.sign_in(con, "mei", PASSWORD, rules, T0 + timedelta(seconds=62)).ok  # 'a' (09:00:00) is over a minute old


def test_a_disabled_account_cannot_sign_in_and_its_session_ends(con):
    assert auth.account_scope(con, "mei") == Scope("supervisor", frozenset({"技術支援組"}), None, "mei")
    auth.set_disabled(con, "mei", True, by="root")
    assert auth.account_scope(con, "mei") is None  # an open session ends at its next page run
    assert auth.sign_in(con, "mei", "wrong password!", RULES, T0).reason == "bad"  # no hint without the password
    assert auth.sign_in(con, "mei", PASSWORD, RULES, T0).reason == "disabled"
    auth.set_disabled(con, "mei", False, by="root")
    assert auth.sign_in(con, "mei", PASSWORD, RULES, T0).ok


def test_a_new_role_applies_to_the_open_session_and_a_reset_password_lifts_the_lock(con):
    auth.set_role(con, "mei", "trainer", ["帳務服務組", "技術支援組"], by="root")
    assert auth.account_scope(con, "mei") == Scope("trainer", frozenset({"帳務服務組", "技術支援組"}), None, "mei")
    for _ in range(5):
        auth.sign_in(con, "mei", "wrong password!", RULES, T0)
    auth.reset_password(con, "mei", "another long passphrase", RULES, by="root")
    assert auth.sign_in(con, "mei", "another long passphrase", RULES, T0 + timedelta(minutes=1)).ok
    assert not auth.sign_in(con, "mei", PASSWORD, RULES, T0 + timedelta(minutes=2)).ok  # the old one is gone
    assert [a for _, a, _, _ in events(con) if a not in ("sign_in", "sign_in_failed")] == [
        "user_added", "role_changed", "password_reset"]
    with pytest.raises(auth.AccountError, match="no user 'kim'"):
        auth.set_disabled(con, "kim", True)


def test_a_session_expires_after_the_idle_time():
    rules = auth.AuthSettings(idle_minutes=30)
    assert not auth.session_expired(T0, T0 + timedelta(minutes=29, seconds=59), rules)
    assert not auth.session_expired(T0, T0 + timedelta(minutes=30), rules)
    assert auth.session_expired(T0, T0 + timedelta(minutes=30, seconds=1), rules)
    assert auth.session_expired(None, T0, rules)  # never seen: no session


ACCESS = """
lock_minutes: 30
idle_minutes: 10
oidc:
  groups_claim: roles
  emails:
    Mei.Lin@Example.com: {role: supervisor, teams: [技術支援組]}
  groups:
    kpi-trainers: {role: trainer, teams: [帳務服務組, 技術支援組]}
    kpi-finance: {role: finance}
"""


def test_access_yaml_maps_company_accounts_by_email_then_by_the_first_listed_group(tmp_path):
    (tmp_path / "access.yaml").write_text(ACCESS, encoding="utf-8")
    rules = auth.load_settings(db=tmp_path / "kpi.duckdb")  # the file beside the database
    assert (rules.lock_minutes, rules.idle_minutes, rules.max_failures) == (30.0, 10.0, 5)
    scope = lambda claims: auth.scope_for_identity(claims, rules)  # noqa: E731
    assert scope({"email": "mei.lin@example.com", "roles": ["kpi-finance"]}) == Scope(
        "supervisor", frozenset({"技術支援組"}), None, "mei.lin@example.com")  # the e-mail wins over a group
    assert scope({"email": "kim@example.com", "roles": ["kpi-finance", "kpi-trainers"]}) == Scope(
        "trainer", frozenset({"帳務服務組", "技術支援組"}), None, "kim@example.com")  # the first listed group
    assert scope({"email": "kim@example.com", "roles": "kpi-finance"}).role == "finance"  # one group as a string
    # an address the provider says is unverified is not trusted; nobody listed gets nothing
    assert scope({"email": "mei.lin@example.com", "email_verified": False}) is None
    assert scope({"email": "stranger@example.com", "roles": ["everyone"]}) is None


@pytest.mark.parametrize("text, expected", [
    ("lock_minutes: -5\n", "lock_minutes must be a positive number, found -5"),
    ("max_failures: 2.5\n", "max_failures must be a positive whole number, found 2.5"),
    ("idle_minute: 10\n", "unknown key 'idle_minute'"),
    ("oidc:\n  emails:\n    a@b.tw: {role: boss}\n", "oidc.emails.a@b.tw: unknown role 'boss'"),
    ("oidc:\n  groups:\n    sup: {role: supervisor}\n", "oidc.groups.sup: a supervisor needs at least one team"),
    ("oidc: [1, 2\n", "not readable YAML"),
])
def test_a_wrong_access_yaml_names_the_file_and_the_key(tmp_path, text, expected):
    path = tmp_path / "access.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(auth.AccessConfigError) as caught:
        auth.load_settings(path)
    assert str(caught.value).startswith(f"{path}: ") and expected in str(caught.value)


def test_no_access_yaml_means_the_defaults(tmp_path, monkeypatch):
    monkeypatch.delenv("KPI_ACCESS", raising=False)
    assert auth.load_settings(db=tmp_path / "kpi.duckdb") == auth.AuthSettings()
    monkeypatch.setenv("KPI_ACCESS", str(tmp_path / "elsewhere.yaml"))
    assert auth.access_file(tmp_path / "kpi.duckdb") == tmp_path / "elsewhere.yaml"


CONTACTS = "contact_id,arrived_at,answered_at,team\nc1,2026-11-16 09:00,2026-11-16 09:00:10,技術支援組\n" \
           "c2,2026-11-16 09:05,,技術支援組\nc3,not a date,,技術支援組\n"


def test_an_import_and_its_undo_name_who_did_them_in_the_audit_log(db, write):
    done = imports.import_file("contacts", write("week.csv", CONTACTS), db=db, source="page", run_by="mei")
    with store.open_db(db) as con:
        imports.undo_import(con, done.import_id, by="kim")
        log = events(con)
        run_by, = con.execute("SELECT run_by FROM imports").fetchone()
    assert run_by == "mei"
    # 3 rows read: c1, c2 inserted, c3 rejected (its time); the undo removes the 2 rows it inserted
    assert log == [("mei", "import", f"#{done.import_id}", {"import_id": done.import_id, "dataset": "contacts",
                    "file": "week.csv", "rows_read": 3, "inserted": 2, "updated": 0, "rejected": 1}),
                   ("kim", "undo", f"#{done.import_id}", {"import_id": done.import_id, "dataset": "contacts",
                    "file": "week.csv", "removed": 2, "restored": 0})]
    with store.open_db(db, read_only=True) as con:
        shown = auth.readable_audit(auth.audit_log(con), "zh-TW")
    assert shown["what"].tolist() == [f"#{done.import_id} week.csv（進線紀錄）：刪除 2 列、還原 0 列",
                                      f"#{done.import_id} week.csv（進線紀錄）：讀取 3、新增 2、更新 0、拒收 1"]
    assert shown["action"].tolist() == ["復原匯入", "匯入"] and shown["source"].tolist() == ["儀表板", "儀表板"]


def test_a_refused_undo_leaves_no_audit_event(db, write):
    with store.open_db(db) as con, pytest.raises(imports.UndoRefused):
        imports.undo_import(con, 99, by="kim")
    with store.open_db(db, read_only=True) as con:
        assert events(con) == []


def test_saving_an_improvement_report_is_in_the_audit_log():
    con = db_with()
    report = competency.ImprovementReport(
        year=2026, cost_center="客服營運部", line="加班費", through=datetime(2026, 10, 1).date(), root_cause="尖峰排班不足",
        nature="timing", action="調整排班", owner="王主任", due_date=datetime(2026, 12, 31).date(), full_year_effect=-50000.0,
        status="open")
    competency.save_report(con, report, updated_by="fin")
    competency.save_report(con, report, updated_by="fin")  # saved again: an update, logged again
    assert [e[:2] for e in events(con)] == [("fin", "improvement_report")] * 2
    assert auth.describe("improvement_report", events(con)[0][3], "zh-TW") == "2026 年 客服營運部 · 加班費（待處理）"
    assert con.execute("SELECT count(*) FROM improvement_reports").fetchone()[0] == 1


def test_a_new_database_file_and_its_folder_are_their_owners_only(tmp_path):
    # A fresh process with the usual umask 022: `python -m kpi init` still creates them private.
    db = tmp_path / "new" / "kpi.duckdb"
    subprocess.run([sys.executable, "-m", "kpi", "init", "--db", str(db)], cwd=ROOT, check=True, capture_output=True,
                   preexec_fn=lambda: os.umask(0o022))
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700


def test_open_db_makes_a_new_file_private_whatever_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        with store.open_db(tmp_path / "a.duckdb"):
            pass
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.duckdb").stat().st_mode) == 0o600
