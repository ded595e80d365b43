"""The story library: the shared customer stories of the teams a user may see, with the
practices each illustrates and a caregiver badge, filtered by practice and care.

Route (its JSON twin is ``GET /api/v1/stories/library`` in ``api``):
  GET  /stories/library?practice=&care=     everyone signed in

Who sees what (``authors``): a rep, the shared stories of their own team (and the teams under
it) and their own stories whatever their status; a manager, the shared stories of the teams
they manage; an admin, every shared story. Shared means passing ``stories.sharing.shared``,
the one gate the team pages, the brief and the report use too.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from brightspots.teams import below_any
from brightspots.web import access
from brightspots.web.data import Snapshot
from brightspots.web.pages import WS, Login, page, snap_of, story_rows, story_views
from brightspots.web.stories import Reading, StoryView, practice_name
from brightspots.web.users import User
from brightspots.workspace import Workspace

router = APIRouter()
TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class PracticeCount:
    practice: str  # id
    name: str  # ``stories.practice_name``
    stories: int  # of the user's library (before the filters)


@dataclass(frozen=True)
class Library:
    """The library as one user sees it, filtered."""

    scope: str  # whose stories, in words
    stories: list[StoryView]  # newest first, after the filters
    total: int  # stories before the filters
    caregivers: int  # caregiver stories before the filters
    practices: list[PracticeCount]  # every practice of the workspace, in the registry's order
    practice: str  # the practice filter ("" for any)
    practice_name: str
    care: bool  # caregiver stories only
    known: bool  # the practice filter names a practice of the workspace (or is empty)
    notes: tuple[str, ...]  # settings that could not be used


def authors(user: User, snap: Snapshot) -> frozenset[str]:
    """The reps whose shared stories ``user`` may read: those of the teams they may see, and
    the teams under those (an admin: every rep)."""
    if user.disabled:
        return frozenset()
    if user.role == "admin":
        return frozenset(snap.org.rep_team)
    teams = below_any(access.teams_of(user, snap.org), snap.org.parents)
    return frozenset(r for r, t in snap.org.rep_team.items() if t and t in teams)


def visible(frame: pd.DataFrame, user: User, snap: Snapshot) -> pd.Series:
    """Per story (``pages.story_rows``), whether ``user``'s library holds it: shared and by an
    author they may read (an admin: every shared story), or their own."""
    if user.disabled:
        return pd.Series(False, index=frame.index)
    shared = frame["shared"].astype(bool)
    if user.role != "admin":
        shared &= frame["rep_id"].isin(sorted(authors(user, snap)))
    own = frame["rep_id"] == user.rep_id if user.role == "rep" and user.rep_id else False
    return shared | own


def _scope(user: User, snap: Snapshot) -> str:
    if user.role == "admin":
        return "Every shared story of the company."
    if user.role == "manager":
        return "The shared stories of the teams you manage."
    team = snap.org.rep_team.get(user.rep_id or "", "")
    name = snap.team_name(team) if team else "your team"
    return f"The shared stories of {name}, and your own stories whatever their status."


def build(
    every: list[StoryView],
    reading: Reading,
    *,
    scope: str,
    practice: str = "",
    care: bool = False,
    notes: tuple[str, ...] = (),
) -> Library:
    """The library of ``every`` story a user may read (``visible``), filtered to those that
    illustrate ``practice`` (an id; "" for any) and, with ``care``, caregiver stories."""
    practice = practice.strip()
    counts = {p.id: 0 for p in reading.practices}
    for s in every:
        for link in s.practices:
            counts[link.practice] = counts.get(link.practice, 0) + 1
    names = {p.id: practice_name(p) for p in reading.practices}
    shown = [
        s
        for s in every
        if (not practice or any(p.practice == practice for p in s.practices))
        and (not care or s.caregiver)
    ]
    return Library(
        scope=scope,
        stories=shown,
        total=len(every),
        caregivers=sum(s.caregiver for s in every),
        practices=[PracticeCount(p.id, names[p.id], counts[p.id]) for p in reading.practices],
        practice=practice,
        practice_name=names.get(practice, practice),
        care=care,
        known=not practice or practice in names,
        notes=notes,
    )


def library_of(
    request: Request, ws: Workspace, user: User, *, practice: str = "", care: bool = False
) -> Library:
    """The library ``user`` may read, read from the workspace and app state (the caller
    checked the sign-in)."""
    snap = snap_of(request, ws)
    frame, note = story_rows(request, ws)
    every = story_views(ws, snap, frame[visible(frame, user, snap)])
    reading = Reading.of(ws.config)
    notes = tuple(n for n in (note, *reading.notes) if n)
    return build(
        every, reading, scope=_scope(user, snap), practice=practice, care=care, notes=notes
    )


@router.get("/stories/library", response_class=HTMLResponse)
def library_page(
    request: Request, session: Login, ws: WS, practice: str = "", care: str = ""
) -> HTMLResponse:
    lib = library_of(
        request, ws, session.user, practice=practice[:200], care=care.strip().lower() in TRUE
    )
    return page(request, "library.html.j2", session, snap_of(request, ws), lib=lib)


__all__ = ["Library", "authors", "build", "library_of", "router", "visible"]
