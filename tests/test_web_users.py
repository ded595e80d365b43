"""Accounts for the web app: the SQLite app state, argon2 hashes, checks against the data, and
`brightspots user`."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from brightspots.web.appstate import FILE, AppState, AppStateError
from brightspots.web.passwords import PasswordError, needs_rehash, verify
from brightspots.web.users import UserError, add_user, find, set_disabled, users
from brightspots.workspace import init_workspace

PASSWORD = "correct horse battery"
REPS = {"R-0001", "R-0002"}
TEAMS = {"TM-001", "TM-002", "RG-01"}


@pytest.fixture
def state(tmp_path) -> AppState:
    init_workspace(tmp_path / "ws").close()
    return AppState(tmp_path / "ws")


def _add(state, email, role, **kw):
    return add_user(state, email, role, PASSWORD, known_reps=REPS, known_teams=TEAMS, **kw)


def test_accounts_of_each_role(state) -> None:
    rep = _add(state, "lee@acme.example", "rep", rep_id="R-0001")
    boss = _add(state, "kim@acme.example", "manager", teams=["TM-002", "TM-001", "TM-001"])
    admin = _add(state, "ops@acme.example", "admin")
    assert (rep.role, rep.rep_id, rep.teams) == ("rep", "R-0001", ())
    assert boss.teams == ("TM-002", "TM-001")  # given order, each once
    assert [u.email for u in users(state)] == [
        "kim@acme.example",
        "lee@acme.example",
        "ops@acme.example",
    ]
    assert [u.teams for u in users(state)][0] == ("TM-001", "TM-002")
    assert admin.user_id != rep.user_id
    # the stored hash is argon2id and only the right password matches it
    user, stored = find(state, "LEE@acme.example")  # e-mail in any case
    assert user == rep and stored.startswith("$argon2id$") and not needs_rehash(stored)
    assert PASSWORD not in stored
    assert verify(stored, PASSWORD) and not verify(stored, PASSWORD + "!")
    assert not verify(None, PASSWORD)  # no account: false, after the same work
    assert (Path(state.path).parent / FILE).is_file()
    with sqlite3.connect(state.path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.parametrize(
    ("email", "role", "kw", "says"),
    [
        ("not-an-email", "rep", {"rep_id": "R-0001"}, "is not an e-mail address"),
        ("a@b.example", "boss", {}, "role 'boss': use one of rep, manager, admin"),
        ("a@b.example", "rep", {}, "a rep account needs --rep"),
        ("a@b.example", "rep", {"rep_id": "R-0009"}, "rep 'R-0009' is not in the workspace"),
        ("a@b.example", "rep", {"rep_id": "R-0001", "teams": ["TM-001"]}, "takes no --team"),
        ("a@b.example", "manager", {}, "needs at least one --team"),
        ("a@b.example", "manager", {"teams": ["TM-404"]}, "team 'TM-404' is not in"),
        ("a@b.example", "admin", {"rep_id": "R-0001"}, "--rep is for rep accounts"),
        ("a@b.example", "admin", {"teams": ["TM-001"]}, "an admin account takes no --team"),
    ],
)
def test_bad_accounts_are_refused_and_nothing_is_stored(state, email, role, kw, says) -> None:
    with pytest.raises(UserError, match=says):
        _add(state, email, role, **kw)
    assert users(state) == []


def test_duplicates_and_weak_passwords(state) -> None:
    _add(state, "lee@acme.example", "rep", rep_id="R-0001")
    with pytest.raises(UserError, match="an account for Lee@Acme.example already exists"):
        _add(state, "Lee@Acme.example", "admin")
    with pytest.raises(PasswordError, match="at least 10 characters"):
        add_user(state, "x@acme.example", "admin", "short")
    with pytest.raises(PasswordError, match="start or end with spaces"):
        add_user(state, "x@acme.example", "admin", " long enough pw ")
    assert len(users(state)) == 1


def test_disabling_ends_sessions(state) -> None:
    lee = _add(state, "lee@acme.example", "rep", rep_id="R-0001")
    with state.write() as con:
        con.execute(
            "INSERT INTO sessions VALUES ('h', ?, 'c', '2026-11-26', '2026-11-27')", [lee.user_id]
        )
    assert set_disabled(state, "lee@acme.example", True).disabled
    with state.read() as con:
        assert con.execute("SELECT count(*) FROM sessions").fetchone()[0] == 0
    assert not set_disabled(state, "lee@acme.example", False).disabled
    with pytest.raises(UserError, match="no account for nobody@acme.example"):
        set_disabled(state, "nobody@acme.example", True)


def test_a_failed_write_leaves_nothing_behind(state) -> None:
    with pytest.raises(RuntimeError), state.write() as con:
        con.execute("INSERT INTO login_attempts VALUES ('k', 'now', 0)")
        raise RuntimeError("stop")
    with state.read() as con:
        assert con.execute("SELECT count(*) FROM login_attempts").fetchone()[0] == 0


def test_many_writers_at_once_lose_nothing(state) -> None:
    """Threads (each with its own connection) read then write in one transaction."""
    with state.write() as con:
        con.execute("INSERT INTO meta VALUES ('counter', '0')")

    def bump() -> None:
        for _ in range(40):
            with state.write() as con:
                n = int(con.execute("SELECT value FROM meta WHERE key = 'counter'").fetchone()[0])
                con.execute("UPDATE meta SET value = ? WHERE key = 'counter'", [str(n + 1)])

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with state.read() as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'counter'").fetchone()[0] == "160"


def test_app_state_needs_a_workspace(tmp_path) -> None:
    with pytest.raises(AppStateError, match="is not a workspace"):
        AppState(tmp_path)
    init_workspace(tmp_path / "ws").close()
    (tmp_path / "ws" / FILE).write_bytes(b"this is not a database file at all, not even close")
    with pytest.raises(AppStateError, match="app.sqlite3"):
        AppState(tmp_path / "ws").connect()


def _cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "brightspots.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_user_commands(small_ws, tmp_path) -> None:
    import shutil

    ws = tmp_path / "ws"
    shutil.copytree(small_ws, ws)
    r = _cli(
        "user",
        "add",
        "-w",
        str(ws),
        "--role",
        "manager",
        "--team",
        "TM-001",
        "kim@acme.example",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert r.returncode == 0, r.stderr
    assert "Account made: kim@acme.example (manager, teams TM-001)." in r.stdout
    r = _cli(
        "user",
        "add",
        "-w",
        str(ws),
        "--role",
        "rep",
        "--rep",
        "R-9999",
        "lee@acme.example",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert r.returncode == 1 and "rep 'R-9999' is not in the workspace's reps" in r.stderr
    assert len([ln for ln in r.stderr.splitlines() if ln.strip()]) == 1
    r = _cli("user", "list", "-w", str(ws))
    assert r.returncode == 0 and "kim@acme.example" in r.stdout and "lee@" not in r.stdout
    r = _cli("user", "disable", "-w", str(ws), "kim@acme.example")
    assert r.returncode == 0 and "Disabled kim@acme.example" in r.stdout
    assert "disabled" in _cli("user", "list", "-w", str(ws)).stdout
