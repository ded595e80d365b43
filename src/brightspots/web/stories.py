"""Customer stories in the web app: the imported ones (the workspace's ``stories`` table) and
those reps write in the app (app state), each shared beyond its author only once a manager of
the author's team approved it.

* The author (and their managers) see every story of theirs, with its status.
* A team page shows only approved stories.
* A manager approves or declines stories of the reps they manage; an admin may too.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from brightspots.errors import BrightspotsError
from brightspots.web.appstate import AppState
from brightspots.web.users import User

STATUSES = ("waiting", "approved", "declined")
MAX_TITLE = 200
MAX_BODY = 5000


class StoryError(BrightspotsError):
    """A story that cannot be written or reviewed as asked."""


@dataclass(frozen=True)
class StoryView:
    story_id: str
    rep_id: str
    rep_name: str
    title: str
    paragraphs: tuple[str, ...]
    created: str  # YYYY-MM-DD
    source: str  # "imported" or "written here"
    status: str  # one of STATUSES
    digest: str  # of the author and text: a review holds for the text it approved

    @property
    def shared(self) -> bool:
        return self.status == "approved"


def _paragraphs(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in str(text).replace("\r\n", "\n").split("\n\n") if p.strip())


def _digest(rep_id: str, title: str, body: str) -> str:
    return hashlib.sha256("\x1f".join((rep_id, title, body)).encode()).hexdigest()[:24]


def _status(reviews: dict[str, tuple[str, str]], story_id: str, digest: str) -> str:
    """A review counts while the story is the one reviewed; a re-imported story whose author or
    text changed waits for a new review."""
    status, reviewed = reviews.get(story_id, ("waiting", ""))
    return status if reviewed == digest else "waiting"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def all_stories(
    imported: pd.DataFrame, state: AppState, rep_names: dict[str, str]
) -> list[StoryView]:
    """Every story, newest first, with its review status."""
    with state.read() as con:
        written = con.execute(
            "SELECT story_id, rep_id, title, body, created_at FROM stories"
        ).fetchall()
        reviews = {
            sid: (status, digest)
            for sid, status, digest in con.execute(
                "SELECT story_id, status, digest FROM story_reviews"
            ).fetchall()
        }
    out: list[StoryView] = []
    for r in imported.itertuples(index=False):
        created = pd.Timestamp(r.created_at)
        digest = _digest(str(r.rep_id), str(r.title), str(r.body))
        out.append(
            StoryView(
                str(r.story_id),
                str(r.rep_id),
                rep_names.get(str(r.rep_id), str(r.rep_id)),
                str(r.title),
                _paragraphs(r.body),
                created.strftime("%Y-%m-%d") if pd.notna(created) else "",
                "imported",
                _status(reviews, str(r.story_id), digest),
                digest,
            )
        )
    for sid, rep, title, body, created in written:
        digest = _digest(rep, title, body)
        out.append(
            StoryView(
                sid,
                rep,
                rep_names.get(rep, rep),
                title,
                _paragraphs(body),
                created[:10],
                "written here",
                _status(reviews, sid, digest),
                digest,
            )
        )
    return sorted(out, key=lambda s: (s.created, s.story_id), reverse=True)


def write(state: AppState, user: User, title: str, body: str) -> str:
    """A rep's new story (waiting for approval); returns its id."""
    if user.role != "rep" or not user.rep_id:
        raise StoryError("only a rep account writes stories (about their own deals)")
    title, body = title.strip(), body.strip()
    if not title or not body:
        raise StoryError("a story needs a title and some text")
    if len(title) > MAX_TITLE or len(body) > MAX_BODY:
        raise StoryError(f"a story's title is at most {MAX_TITLE} characters, its text {MAX_BODY}")
    story_id = "web-" + secrets.token_hex(6)
    with state.write() as con:
        con.execute(
            "INSERT INTO stories VALUES (?, ?, ?, ?, ?, ?)",
            [story_id, user.rep_id, title, body, _now(), user.user_id],
        )
    return story_id


def review(state: AppState, reviewer: User, story: StoryView, status: str) -> None:
    """Approve or decline ``story`` as it reads now (the caller checked that ``reviewer``
    manages its author)."""
    if status not in ("approved", "declined"):
        raise StoryError(f"a review is approved or declined, not {status!r}")
    with state.write() as con:
        con.execute(
            "INSERT INTO story_reviews VALUES (?, ?, ?, ?, ?) ON CONFLICT (story_id) DO UPDATE "
            "SET digest = excluded.digest, status = excluded.status, "
            "reviewer_user_id = excluded.reviewer_user_id, reviewed_at = excluded.reviewed_at",
            [story.story_id, story.digest, status, reviewer.user_id, _now()],
        )
