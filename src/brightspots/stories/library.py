"""Every customer story of a workspace in one frame: the imported ones (the ``stories`` table)
and those reps wrote in the web app (app state), each with its review in the web app and its
status in the source system.

A review holds for the story it approved: its ``digest`` is of the author, title and text, and
also of the account and deal when the story names one. A review stored by an older version
(of the author, title and text only) still holds while those three are unchanged, so approvals
made before stories carried an account and a deal stay valid.

No web framework here: app state is plain SQLite (``web.appstate``).
"""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd

from brightspots.web.appstate import FILE as STATE_FILE
from brightspots.web.appstate import AppState
from brightspots.workspace import Workspace

IMPORTED = "imported"
WRITTEN = "written here"
#: the web app's review of a story (by its digest)
REVIEWS = ("waiting", "approved", "declined")
#: ``stories.status`` in the source system (empty counts as submitted)
IMPORTED_STATUSES = ("submitted", "approved", "declined")
COLUMNS = (
    "story_id",
    "rep_id",
    "account_id",  # None when the story names no account
    "opportunity_id",  # None when it names no deal
    "title",
    "body",
    "tags",  # ';'-separated, "" when none
    "created_at",  # naive UTC
    "source",  # IMPORTED or WRITTEN
    "imported_status",  # one of IMPORTED_STATUSES; "" for a story written in the web app
    "review",  # one of REVIEWS
    "digest",
)


def _text(v: Any) -> str:
    return "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)


def _optional(v: Any) -> str | None:
    return _text(v).strip() or None


def digest(
    rep_id: str,
    title: str,
    body: str,
    account_id: str | None = None,
    opportunity_id: str | None = None,
) -> str:
    """What a review approves: the author, title and text, and the account and deal when the
    story names either (without them, the digest of app state version 2)."""
    parts = [rep_id, title, body]
    if account_id or opportunity_id:
        parts += [account_id or "", opportunity_id or ""]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def review_status(
    reviews: dict[str, tuple[str, str]], story_id: str, current: str, legacy: str
) -> str:
    """The review of ``story_id`` while it is the story reviewed: its stored digest is the
    story's ``current`` one, or the ``legacy`` one (author, title, text) a review of version 2
    stored. A story whose author or text changed since waits for a new review."""
    status, reviewed = reviews.get(story_id, ("waiting", ""))
    return status if reviewed in (current, legacy) else "waiting"


def app_state(ws: Workspace) -> AppState | None:
    """The workspace's app state, or None when the web app never ran there (no file is made)."""
    return AppState(ws.root) if (ws.root / STATE_FILE).is_file() else None


def _state_rows(state: AppState | None) -> tuple[list[dict[str, Any]], dict[str, tuple[str, str]]]:
    if state is None:
        return [], {}
    with state.read() as con:
        written = [dict(r) for r in con.execute("SELECT * FROM stories").fetchall()]
        reviews = {
            str(r["story_id"]): (str(r["status"]), str(r["digest"]))
            for r in con.execute("SELECT story_id, status, digest FROM story_reviews").fetchall()
        }
    return written, reviews


def _imported_status(v: Any) -> str:
    s = _text(v).strip().lower()
    return s if s in IMPORTED_STATUSES else "submitted"


def _utc(v: Any) -> pd.Timestamp:
    """A naive UTC timestamp: imported ones are, app state's are ISO text ending in Z."""
    ts = pd.to_datetime(v, errors="coerce", utc=True)
    return pd.NaT if ts is None or pd.isna(ts) else ts.tz_localize(None)


def _row(r: dict[str, Any], source: str, reviews: dict[str, tuple[str, str]]) -> dict[str, Any]:
    rep, title, body = _text(r.get("rep_id")), _text(r.get("title")), _text(r.get("body"))
    account, deal = _optional(r.get("account_id")), _optional(r.get("opportunity_id"))
    current = digest(rep, title, body, account, deal)
    sid = _text(r.get("story_id"))
    return {
        "story_id": sid,
        "rep_id": rep,
        "account_id": account,
        "opportunity_id": deal,
        "title": title,
        "body": body,
        "tags": _text(r.get("tags")).strip(),
        "created_at": _utc(r.get("created_at")),
        "source": source,
        "imported_status": _imported_status(r.get("status")) if source == IMPORTED else "",
        "review": review_status(reviews, sid, current, digest(rep, title, body)),
        "digest": current,
    }


def story_frame(imported: pd.DataFrame, state: AppState | None) -> pd.DataFrame:
    """``imported`` (rows of the ``stories`` table) and the stories written in the web app, one
    row each with ``COLUMNS``, newest first (then by id, descending)."""
    written, reviews = _state_rows(state)
    rows = [_row(r, IMPORTED, reviews) for r in imported.to_dict("records")]
    rows += [_row(r, WRITTEN, reviews) for r in written]
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    for c in ("account_id", "opportunity_id"):
        frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
    frame["created_at"] = pd.to_datetime(frame["created_at"])
    return frame.sort_values(
        ["created_at", "story_id"], ascending=False, na_position="last", kind="stable"
    ).reset_index(drop=True)


def imported_stories(ws: Workspace) -> pd.DataFrame:
    """The workspace's ``stories`` table (its live records, on the analysis engine)."""
    return ws.execute(ws.table("stories"))


def all_stories(ws: Workspace, state: AppState | None) -> pd.DataFrame:
    """Every story of ``ws``, imported and written in the web app (``state``; None: imported
    only), with its review and source status (see ``story_frame``)."""
    return story_frame(imported_stories(ws), state)
