"""`python -m kpi users ...` and `python -m kpi audit`: accounts from the command line, passwords from standard input
and never printed, and the audit log with who did what."""
from __future__ import annotations

import io
import json

import pytest

from kpi import auth, cli, imports, store

PASSWORD = "correct horse battery"


@pytest.fixture
def kpi(capsys, monkeypatch, db):
    """kpi("users", "add", ..., stdin="...") runs the command line on the test database in this process."""
    capsys.readouterr()

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = cli.main([*args, "--db", str(db)])
        out, err = capsys.readouterr()
        return code, out, err
    return run


def test_users_add_list_set_role_disable_and_reset(kpi, db, write):
    imports.import_file("contacts", write("c.csv", "contact_id,arrived_at,team\nc1,2026-11-16 09:00,技術支援組\n"), db=db)
    code, out, err = kpi("users", "add", "mei", "--role", "supervisor", "--team", "技術支援組", "--password-stdin",
                         stdin=PASSWORD + "\n")
    assert (code, out, err) == (0, "user mei added (supervisor); the dashboard now asks everyone to sign in\n", "")
    code, out, err = kpi("users", "add", "kim", "--role", "trainer", "--team", "技術支援", "--password-stdin",
                         stdin="another long passphrase\n")
    assert code == 0 and out == "user kim added (trainer)\n"
    assert err == "warning: no contacts of team '技術支援' in the database (yet); check the spelling (teams in the data: 技術支援組)\n"
    kpi("users", "add", "fin", "--role", "finance", "--password-stdin", stdin="a third passphrase\n")
    code, out, _ = kpi("users", "list")
    lines = [line.split() for line in out.splitlines()]
    assert lines[0] == ["name", "role", "teams", "agent", "state", "created"]
    assert [row[:4] for row in lines[1:]] == [["fin", "finance", "(every", "team)"], ["kim", "trainer", "技術支援", "active"],
                                             ["mei", "supervisor", "技術支援組", "active"]]
    # each column starts at the same place on the screen on every line: a Chinese character takes two columns
    from kpi.present import display_width
    starts = [[display_width(line[:line.index(word)]) for word in ("active",) if word in line] for line in out.splitlines()]
    assert len({s[0] for s in starts if s}) == 1 and len([s for s in starts if s]) == 3

    assert kpi("users", "set-role", "kim", "--role", "trainer", "--team", "技術支援組", "--team", "帳務服務組")[1] == \
        "user kim is now trainer\n"
    assert kpi("users", "disable", "fin")[1] == "user fin disabled\n"
    assert kpi("users", "reset-password", "mei", "--password-stdin", stdin="a brand new passphrase\n")[1] == \
        "password of mei reset (and any lock-out lifted)\n"
    with store.open_db(db, read_only=True) as con:
        users = auth.list_users(con).set_index("name")
        assert list(users.loc["kim", "teams"]) == ["技術支援組", "帳務服務組"]
        assert users.loc["fin", "disabled_at"] is not None
    with store.open_db(db) as con:
        assert auth.sign_in(con, "mei", "a brand new passphrase", auth.AuthSettings()).ok
        assert auth.sign_in(con, "fin", "a third passphrase", auth.AuthSettings()).reason == "disabled"
    _, out, _ = kpi("users", "list")
    assert "disabled" in next(line.split() for line in out.splitlines() if line.split()[0] == "fin")
    # with an agent's account beside them, the others' agent column is blank (it read "NaN")
    assert kpi("users", "add", "ann", "--role", "agent", "--agent-id", "A011", "--password-stdin",
               stdin="an agent's passphrase\n")[0] == 0
    _, out, _ = kpi("users", "list")
    assert "NaN" not in out and "A011" in next(line.split() for line in out.splitlines() if line.split()[0] == "ann")


def test_an_agent_account_warns_of_an_agent_id_no_contact_carries_or_another_team(kpi, write, db):
    imports.import_file("contacts", write("c.csv", "contact_id,arrived_at,team,agent_id\n"
                                                   "c1,2026-11-16 09:00,技術支援組,A017\nc2,2026-11-16 09:05,帳務服務組,A003\n"), db=db)
    code, _, err = kpi("users", "add", "ann", "--role", "agent", "--team", "技術支援組", "--agent-id", "A017",
                       "--password-stdin", stdin="an agent's passphrase\n")
    assert (code, err) == (0, "")  # A017 answers for 技術支援組 in the data
    code, out, err = kpi("users", "add", "bob", "--role", "agent", "--team", "技術支援組", "--agent-id", "A71",
                         "--password-stdin", stdin="another passphrase!\n")
    assert code == 0 and out == "user bob added (agent)\n"
    assert err == ("warning: no contacts of agent 'A71' in the database (yet); check the id, or the agent's page stays "
                   "empty until their contacts are imported\n")
    _, _, err = kpi("users", "set-role", "bob", "--role", "agent", "--team", "技術支援組", "--agent-id", "A003")
    assert err == "warning: agent 'A003' works in 帳務服務組 in the data, not in 技術支援組\n"


@pytest.mark.parametrize("args, stdin, message", [
    (("users", "add", "mei", "--role", "admin", "--password-stdin"), "short\n",
     "error: the password is shorter than 12 characters; nothing was changed (a passphrase of a few words is easy "
     "to remember)"),
    (("users", "add", "mei", "--role", "supervisor", "--password-stdin"), PASSWORD + "\n",
     "error: a supervisor needs at least one team (--team TEAM); nothing was changed"),
    (("users", "add", "mei", "--role", "admin"), "",
     "error: no terminal to type a password at: pipe it in with --password-stdin"),
    (("users", "disable", "nobody"), "", "error: no user 'nobody'; nothing was changed (users list shows them)"),
])
def test_a_refused_account_command_says_why_in_one_line_and_changes_nothing(kpi, db, args, stdin, message):
    with store.open_db(db):
        pass
    code, out, err = kpi(*args, stdin=stdin)
    assert (code, out, err.splitlines()) == (2, "", [message])
    assert "short" not in err or "shorter" in err  # the password itself is never echoed
    with store.open_db(db, read_only=True) as con:
        assert not auth.has_users(con) and auth.audit_log(con).empty


def test_the_password_is_never_printed_or_logged(kpi, db):
    code, out, err = kpi("users", "add", "mei", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    _, audit_out, _ = kpi("audit", "--json")
    assert code == 0 and PASSWORD not in out + err + audit_out
    with store.open_db(db, read_only=True) as con:
        assert all(PASSWORD not in str(v) for row in con.execute("SELECT * FROM audit_log").fetchall() for v in row)


def test_audit_lists_sign_ins_and_imports_with_their_users(kpi, db, write):
    kpi("users", "add", "mei", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    with store.open_db(db) as con:
        auth.sign_in(con, "mei", "wrong password!", auth.AuthSettings())
        auth.sign_in(con, "mei", PASSWORD, auth.AuthSettings())
    imports.import_file("contacts", write("c.csv", "contact_id,arrived_at\nc1,2026-11-16 09:00\n"), db=db,
                        source="page", run_by="mei")
    code, out, _ = kpi("audit", "--json")
    events = json.loads(out)
    assert code == 0 and [(e["user"], e["action"]) for e in events] == [
        ("mei", "import"), ("mei", "sign_in"), ("mei", "sign_in_failed"), (auth.os_user(), "user_added")]
    assert events[0]["detail"] == {"import_id": 1, "dataset": "contacts", "file": "c.csv", "rows_read": 1,
                                   "inserted": 1, "updated": 0, "rejected": 0}
    _, out, _ = kpi("audit", "--lang", "en", "--action", "sign_in_failed")
    header, row = out.splitlines()
    assert header.split() == ["Time", "User", "Action", "What", "From"]
    assert row.split()[2:] == ["mei", "Sign-in", "failed", "mei:", "wrong", "user", "name", "or", "password", "dashboard"]
    _, out, _ = kpi("audit", "--user", "mei", "--limit", "1")
    assert out.splitlines()[1].split()[2:5] == ["mei", "匯入", "#1"]  # zh-TW by default, the newest first
