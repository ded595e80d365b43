"""The team tree (``teams.parent_team_id``): which teams sit under which."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def below(team: str, parents: Mapping[str, str]) -> frozenset[str]:
    """``team`` and every team under it, at any depth (``parents``: team -> its parent; a cycle
    in the data stops the walk)."""
    out, frontier = {team}, {team}
    while frontier:
        frontier = {t for t, p in parents.items() if p in frontier and t not in out}
        out |= frontier
    return frozenset(out)


def below_any(teams: Iterable[str], parents: Mapping[str, str]) -> frozenset[str]:
    """Every team under any of ``teams``, those included."""
    out: set[str] = set()
    for t in teams:
        out |= below(t, parents)
    return frozenset(out)
