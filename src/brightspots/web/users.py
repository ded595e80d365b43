"""Accounts: who may log in, with which role, over which rep or teams.

* ``rep``: one rep (``reps.rep_id``); sees their own pages and their team's.
* ``manager``: one or more teams (``teams.team_id``), with every team under them.
* ``admin``: everything, and runs the workspace.

Rep and team ids are checked against the workspace's data when the account is made.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from brightspots.errors import BrightspotsError
from brightspots.web.appstate import AppState
from brightspots.web.passwords import hash_password

ROLES = ("rep", "manager", "admin")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class UserError(BrightspotsError):
    """An account that cannot be made or changed as asked."""


@dataclass(frozen=True)
class User:
    user_id: int
    email: str
    role: str
    rep_id: str | None
    teams: tuple[str, ...]
    disabled: bool


def _check(
    email: str, role: str, rep_id: str | None, teams: Sequence[str], known_reps, known_teams
) -> None:
    if not _EMAIL.match(email):
        raise UserError(f"{email!r} is not an e-mail address")
    if role not in ROLES:
        raise UserError(f"role {role!r}: use one of {', '.join(ROLES)}")
    if role == "rep":
        if not rep_id:
            raise UserError("a rep account needs --rep: the rep's id in the data (reps.rep_id)")
        if teams:
            raise UserError("a rep account takes no --team: the rep's team comes from the data")
    elif rep_id:
        raise UserError(f"--rep is for rep accounts; a {role} account takes none")
    if role == "manager" and not teams:
        raise UserError("a manager account needs at least one --team: the teams they manage")
    if role == "admin" and teams:
        raise UserError("an admin account takes no --team: admins see everything")
    if rep_id and known_reps is not None and rep_id not in known_reps:
        raise UserError(f"rep {rep_id!r} is not in the workspace's reps")
    unknown = [t for t in teams if known_teams is not None and t not in known_teams]
    if unknown:
        raise UserError(
            f"team {unknown[0]!r} is not in the workspace's teams; the teams are: "
            f"{', '.join(sorted(known_teams))}"
        )


def add_user(
    state: AppState,
    email: str,
    role: str,
    password: str,
    *,
    rep_id: str | None = None,
    teams: Sequence[str] = (),
    known_reps: set[str] | None = None,
    known_teams: set[str] | None = None,
) -> User:
    """Make an account (``known_reps``/``known_teams``: the workspace's ids, to check against)."""
    email = email.strip()
    teams = list(dict.fromkeys(t.strip() for t in teams if t.strip()))
    _check(email, role, rep_id, teams, known_reps, known_teams)
    hashed = hash_password(password)
    with state.write() as con:
        if con.execute("SELECT 1 FROM users WHERE email = ?", [email]).fetchone():
            raise UserError(f"an account for {email} already exists")
        cur = con.execute(
            "INSERT INTO users (email, password_hash, role, rep_id) VALUES (?, ?, ?, ?)",
            [email, hashed, role, rep_id],
        )
        user_id = int(cur.lastrowid)
        con.executemany("INSERT INTO user_teams VALUES (?, ?)", [(user_id, t) for t in teams])
    return User(user_id, email, role, rep_id, tuple(teams), False)


def from_row(con, row) -> User:
    """The ``User`` of a ``users`` row, with its teams read on ``con``."""
    teams = [
        r[0]
        for r in con.execute(
            "SELECT team_id FROM user_teams WHERE user_id = ? ORDER BY team_id", [row["user_id"]]
        )
    ]
    return User(
        int(row["user_id"]),
        str(row["email"]),
        str(row["role"]),
        row["rep_id"],
        tuple(teams),
        bool(row["disabled"]),
    )


def users(state: AppState) -> list[User]:
    with state.read() as con:
        rows = con.execute("SELECT * FROM users ORDER BY email").fetchall()
        return [from_row(con, r) for r in rows]


def find(state: AppState, email: str) -> tuple[User, str] | None:
    """The account with ``email`` (any case) and its password hash, or None."""
    with state.read() as con:
        row = con.execute("SELECT * FROM users WHERE email = ?", [email.strip()]).fetchone()
        return (from_row(con, row), str(row["password_hash"])) if row else None


def set_disabled(state: AppState, email: str, disabled: bool) -> User:
    """Disable an account (its sessions end) or enable it again."""
    with state.write() as con:
        row = con.execute("SELECT * FROM users WHERE email = ?", [email.strip()]).fetchone()
        if row is None:
            raise UserError(f"no account for {email}")
        con.execute(
            "UPDATE users SET disabled = ? WHERE user_id = ?", [int(disabled), row["user_id"]]
        )
        if disabled:
            con.execute("DELETE FROM sessions WHERE user_id = ?", [row["user_id"]])
        row = con.execute("SELECT * FROM users WHERE user_id = ?", [row["user_id"]]).fetchone()
        return from_row(con, row)


DEMO_PASSWORD = "brightspots-demo"


def demo_accounts(ws) -> list[tuple[str, str]]:
    """Accounts for the demo workspace, one per role: (e-mail, what it sees). The rep is the
    latest run's first bright spot (else the first rep); the manager manages the rep's team
    and the teams beside it (the team above), so a demo shows both a team and its reps."""
    reps, teams = ws.read("reps"), ws.read("teams")
    spots = ws.run_results("bright_spots") if ws.runs() else None
    rep_id = str(reps.sort_values("rep_id")["rep_id"].iloc[0])
    if spots is not None:
        found = spots[(spots["level"] == "rep") & (spots["label"] == "bright_spot")]
        if len(found):
            rep_id = str(found.sort_values("unit_id")["unit_id"].iloc[0])
    team = reps.loc[reps["rep_id"] == rep_id, "team_id"].iloc[0]
    parent = teams.loc[teams["team_id"] == team, "parent_team_id"]
    managed = str(parent.iloc[0]) if len(parent) and pd.notna(parent.iloc[0]) else str(team)
    name = teams.set_index("team_id")["name"]
    wanted = [
        ("rep@demo.example", "rep", {"rep_id": rep_id}, f"rep {rep_id}: their own meter"),
        (
            "manager@demo.example",
            "manager",
            {"teams": [managed]},
            f"manager of {name.get(managed, managed)} and the teams in it",
        ),
        ("admin@demo.example", "admin", {}, "admin: users, imports, runs, settings"),
    ]
    state = AppState(ws.root)
    out = []
    for email, role, kw, what in wanted:
        if find(state, email) is None:
            add_user(state, email, role, DEMO_PASSWORD, **kw)
        out.append((email, what))
    return out
