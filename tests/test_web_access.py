"""Who may see what, decided on the server from the account and the team tree."""

from __future__ import annotations

import pandas as pd
import pytest

from brightspots.teams import below, below_any
from brightspots.web.access import Org, manages, may_see_rep, may_see_team, reps_of, teams_of
from brightspots.web.users import User

# EMEA (RG-1) over DACH (TM-1) and Nordics (TM-2); DACH over Berlin (TM-3); APAC (RG-2) over TM-4
TEAMS = pd.DataFrame(
    {
        "team_id": ["RG-1", "TM-1", "TM-2", "TM-3", "RG-2", "TM-4"],
        "parent_team_id": [None, "RG-1", "RG-1", "TM-1", None, "RG-2"],
    }
)
REPS = pd.DataFrame(
    {
        "rep_id": ["r1", "r2", "r3", "r4", "r5"],
        "team_id": ["TM-1", "TM-2", "TM-3", "TM-4", None],
    }
)
ORG = Org.of(REPS, TEAMS)


def _user(role, rep_id=None, teams=(), disabled=False) -> User:
    return User(1, "x@acme.example", role, rep_id, tuple(teams), disabled)


def test_the_team_tree() -> None:
    assert below("RG-1", ORG.parents) == {"RG-1", "TM-1", "TM-2", "TM-3"}
    assert below("TM-1", ORG.parents) == {"TM-1", "TM-3"}
    assert below("TM-3", ORG.parents) == {"TM-3"}
    assert below_any(["TM-2", "RG-2"], ORG.parents) == {"TM-2", "RG-2", "TM-4"}
    # a cycle in the data ends the walk
    assert below("a", {"a": "b", "b": "a"}) == {"a", "b"}


def test_a_rep_sees_themselves_and_their_team() -> None:
    lee = _user("rep", rep_id="r1")
    assert reps_of(lee, ORG) == {"r1"} and teams_of(lee, ORG) == {"TM-1"}
    assert not may_see_rep(lee, "r3", ORG)  # not even a rep of a sub-team
    assert not may_see_team(lee, "TM-3", ORG) and not manages(lee, "TM-1", ORG)
    assert teams_of(_user("rep", rep_id="r5"), ORG) == frozenset()  # no team


def test_a_manager_sees_everything_under_their_teams() -> None:
    kim = _user("manager", teams=["TM-1"])
    assert reps_of(kim, ORG) == {"r1", "r3"} and teams_of(kim, ORG) == {"TM-1", "TM-3"}
    assert manages(kim, "TM-3", ORG) and not manages(kim, "TM-2", ORG)
    region = _user("manager", teams=["RG-1"])
    assert reps_of(region, ORG) == {"r1", "r2", "r3"}
    assert not may_see_rep(region, "r4", ORG) and not may_see_team(region, "RG-2", ORG)


@pytest.mark.parametrize("role", ["rep", "manager", "admin"])
def test_a_disabled_account_sees_nothing(role) -> None:
    u = _user(
        role,
        rep_id="r1" if role == "rep" else None,
        teams=["RG-1"] if role == "manager" else [],
        disabled=True,
    )
    assert reps_of(u, ORG) == frozenset() and teams_of(u, ORG) == frozenset()


def test_an_admin_sees_everything() -> None:
    admin = _user("admin")
    assert reps_of(admin, ORG) == {"r1", "r2", "r3", "r4", "r5"}
    assert teams_of(admin, ORG) == {"RG-1", "TM-1", "TM-2", "TM-3", "RG-2", "TM-4"}
    assert manages(admin, "TM-4", ORG)
