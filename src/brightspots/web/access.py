"""Who may see what: every page and API route asks here, on the server, before it reads data.

* A rep sees their own personal pages and the pages of the team they belong to.
* A manager sees every rep and team under the teams they manage (sub-teams included).
* An admin sees everything.

Anything else is not found (404), never "forbidden": a page's existence is not confirmed to
someone who may not see it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from brightspots.teams import below, below_any
from brightspots.web.users import User


@dataclass(frozen=True)
class Org:
    """Reps and teams of the workspace, as access needs them."""

    rep_team: dict[str, str]  # rep_id -> team_id ("" when none)
    parents: dict[str, str]  # team_id -> parent_team_id

    @classmethod
    def of(cls, reps: pd.DataFrame, teams: pd.DataFrame) -> Org:
        rep_team = {
            str(r): str(t) if pd.notna(t) else ""
            for r, t in zip(reps["rep_id"], reps["team_id"], strict=True)
        }
        parents = {
            str(t): str(p)
            for t, p in zip(teams["team_id"], teams["parent_team_id"], strict=True)
            if pd.notna(p)
        }
        return cls(rep_team, parents)

    def teams(self) -> frozenset[str]:
        return (
            frozenset(self.parents)
            | frozenset(self.parents.values())
            | frozenset(t for t in self.rep_team.values() if t)
        )


def teams_of(user: User, org: Org) -> frozenset[str]:
    """The teams whose pages ``user`` may see."""
    if user.disabled:
        return frozenset()
    if user.role == "admin":
        return org.teams()
    if user.role == "manager":
        return below_any(user.teams, org.parents)
    team = org.rep_team.get(user.rep_id or "", "")
    return frozenset({team}) if team else frozenset()


def reps_of(user: User, org: Org) -> frozenset[str]:
    """The reps whose personal pages ``user`` may see."""
    if user.disabled:
        return frozenset()
    if user.role == "admin":
        return frozenset(org.rep_team)
    if user.role == "manager":
        managed = below_any(user.teams, org.parents)
        return frozenset(r for r, t in org.rep_team.items() if t in managed)
    return frozenset({user.rep_id}) if user.rep_id in org.rep_team else frozenset()


def may_see_rep(user: User, rep_id: str, org: Org) -> bool:
    return rep_id in reps_of(user, org)


def may_see_team(user: User, team_id: str, org: Org) -> bool:
    return team_id in teams_of(user, org)


def manages(user: User, team_id: str, org: Org) -> bool:
    """Whether ``user`` manages ``team_id`` (directly or through a team above it)."""
    if user.disabled:
        return False
    if user.role == "admin":
        return True
    return user.role == "manager" and any(team_id in below(t, org.parents) for t in user.teams)
