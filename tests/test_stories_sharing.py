"""The one gate before a story is shared (``stories.sharing``) under each ``[stories] approval``,
the source system's status, and reviews: a review holds for what it approved, and the reviews
app state version 2 stored (digests of author, title and text) still hold."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

import pandas as pd
import pytest
import tomli_w

from brightspots.stories import StoryConfigError, all_stories, shared, story_frame
from brightspots.stories.library import COLUMNS, app_state
from brightspots.stories.sharing import mode, shareable
from brightspots.web import stories as web_stories
from brightspots.web.appstate import AppState
from brightspots.workspace import CONFIG_FILE, Workspace, init_workspace


def v2_digest(rep_id: str, title: str, body: str) -> str:
    """The digest app state version 2 stored with a review, written out here on purpose."""
    return hashlib.sha256("\x1f".join((rep_id, title, body)).encode()).hexdigest()[:24]


def _imported(*rows: dict) -> pd.DataFrame:
    base = {
        "rep_id": "R1",
        "account_id": None,
        "opportunity_id": None,
        "tags": None,
        "created_at": pd.Timestamp("2026-03-01 09:00"),
    }
    return pd.DataFrame([{**base, **r} for r in rows])


def _write(state: AppState, story_id: str, rep: str, title: str, body: str, at: str) -> None:
    with state.write() as con:
        con.execute(
            "INSERT INTO stories (story_id, rep_id, title, body, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [story_id, rep, title, body, at],
        )


def _review(state: AppState, story_id: str, digest: str, status: str) -> None:
    with state.write() as con:
        con.execute(
            "INSERT OR REPLACE INTO story_reviews VALUES (?, ?, ?, NULL, '2026-03-05T10:00:00Z')",
            [story_id, digest, status],
        )


def _config(root: Path, **stories) -> Workspace:
    path = root / CONFIG_FILE
    config = tomllib.loads(path.read_text())
    config["stories"] = {**config.get("stories", {}), **stories}
    path.write_text(tomli_w.dumps(config))
    return Workspace.open(root)


@pytest.fixture
def setup(tmp_path):
    """A workspace, its app state and six stories: imported (a) submitted, (b) approved in the
    source, (c) declined in the source but approved here; written here (d) approved, (e)
    declined, (f) waiting."""
    root = tmp_path / "ws"
    init_workspace(root).close()
    state = AppState(root)
    imported = _imported(
        {"story_id": "a", "title": "A", "body": "a", "status": None},
        {"story_id": "b", "title": "B", "body": "b", "status": "approved"},
        {"story_id": "c", "title": "C", "body": "c", "status": "Declined"},
    )
    for sid in "def":
        _write(state, sid, "R2", sid.upper(), sid, "2026-03-02T23:30:00Z")
    _review(state, "c", v2_digest("R1", "C", "c"), "approved")
    _review(state, "d", v2_digest("R2", "D", "d"), "approved")
    _review(state, "e", v2_digest("R2", "E", "e"), "declined")
    return root, state, imported


def _ids(frame: pd.DataFrame) -> set[str]:
    return set(frame["story_id"])


def test_the_frame_holds_both_sources_with_their_review_and_status(setup) -> None:
    _, state, imported = setup
    frame = story_frame(imported, state)
    assert tuple(frame.columns) == COLUMNS
    assert frame["story_id"].tolist() == ["f", "e", "d", "c", "b", "a"]  # newest first
    by = frame.set_index("story_id")
    assert by.loc["d", "created_at"] == pd.Timestamp("2026-03-02 23:30")  # naive UTC
    assert by["source"].to_dict() == {
        **dict.fromkeys("abc", "imported"),
        **dict.fromkeys("def", "written here"),
    }
    assert by["imported_status"].to_dict() == {
        "a": "submitted",
        "b": "approved",
        "c": "declined",
        **dict.fromkeys("def", ""),
    }
    assert by["review"].to_dict() == {
        "a": "waiting",
        "b": "waiting",
        "c": "approved",
        "d": "approved",
        "e": "declined",
        "f": "waiting",
    }
    # without app state: imported stories only, none reviewed
    alone = story_frame(imported, None)
    assert _ids(alone) == set("abc") and set(alone["review"]) == {"waiting"}


@pytest.mark.parametrize(
    ("approval", "trust", "expected"),
    [
        ("none", False, set("abdf")),  # every story not declined, wherever declined
        ("none", True, set("abdf")),
        ("web", False, {"d"}),  # approved here (c was declined in the source)
        ("web", True, {"b", "d"}),  # the source's approval counts too
    ],
)
def test_each_approval_rule(setup, approval, trust, expected) -> None:
    root, state, imported = setup
    frame = story_frame(imported, state)
    with _config(root, approval=approval, trust_imported_approval=trust) as ws:
        assert _ids(shared(ws, frame)) == expected
    got = shareable(frame, approval, trust_imported=trust)
    assert got.index.equals(frame.index) and _ids(frame[got]) == expected


def test_auto_is_web_once_the_web_app_has_an_account(setup, tmp_path) -> None:
    root, state, imported = setup
    with Workspace.open(root) as ws:
        # app state alone (an experiment made from the command line writes it) is not enough
        assert mode(ws) == "none" and app_state(ws) is not None
        with state.write() as con:
            con.execute(
                "INSERT INTO users (email, password_hash, role) VALUES ('a@test.example', 'x', "
                "'admin')"
            )
        assert mode(ws) == "web"
        assert _ids(shared(ws, all_stories(ws, app_state(ws)))) == {"d"}
    fresh = tmp_path / "fresh"
    init_workspace(fresh).close()
    with Workspace.open(fresh) as ws:
        assert mode(ws) == "none" and app_state(ws) is None
        assert not (fresh / "app.sqlite3").exists()  # reading stories made no app state
        assert _ids(shared(ws, story_frame(imported, None))) == set("ab")
        assert tuple(all_stories(ws, None).columns) == COLUMNS  # no stories imported


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        ({"approval": "manager"}, "approval = 'manager'"),
        ({"trust_imported_approval": "yes"}, "trust_imported_approval = 'yes'"),
    ],
)
def test_a_bad_setting_is_refused(setup, setting, says) -> None:
    root, state, imported = setup
    with _config(root, **setting) as ws, pytest.raises(StoryConfigError, match=says):
        shared(ws, story_frame(imported, state))


def _g(frame: pd.DataFrame, column: str = "review") -> str:
    return frame.set_index("story_id").loc["g", column]


def test_a_review_holds_for_what_it_approved_and_v2_reviews_still_hold(setup) -> None:
    _, state, _ = setup
    # an imported story with an account, approved by version 2 (no account in the digest
    # then): still approved, and again after its account changes
    story = {"story_id": "g", "title": "G", "body": "g", "account_id": "A1"}
    _review(state, "g", v2_digest("R1", "G", "g"), "approved")
    for account in ("A1", "A2"):
        assert _g(story_frame(_imported({**story, "account_id": account}), state)) == "approved"
    # changed text waits for a new review
    assert _g(story_frame(_imported({**story, "body": "new"}), state)) == "waiting"
    # a review made now pins the account and the deal too
    now = _g(story_frame(_imported(story), state), "digest")
    assert now != v2_digest("R1", "G", "g")
    _review(state, "g", now, "approved")
    assert _g(story_frame(_imported(story), state)) == "approved"
    for changed in ({"account_id": "A2"}, {"opportunity_id": "O9"}, {"rep_id": "R9"}):
        assert _g(story_frame(_imported({**story, **changed}), state)) == "waiting", changed
    # without account and deal the digest is version 2's
    plain = story_frame(_imported({**story, "account_id": None}), None)
    assert _g(plain, "digest") == v2_digest("R1", "G", "g")


def test_stories_written_with_an_account_and_deal_are_read(setup) -> None:
    """App state with account, deal and tags on written stories (the columns version 3 adds):
    read, and part of the digest."""
    root, state, _ = setup
    with state.write() as con:
        con.execute(
            "UPDATE stories SET account_id = 'A7', opportunity_id = 'O7', tags = 'care' "
            "WHERE story_id = 'd'"
        )
    frame = story_frame(_imported(), state).set_index("story_id")
    assert frame.loc["d", ["account_id", "opportunity_id", "tags"]].tolist() == ["A7", "O7", "care"]
    assert frame.loc["f", "account_id"] is None and frame.loc["f", "tags"] == ""
    # d's v2 review holds (author, title and text unchanged)
    assert frame.loc["d", "review"] == "approved"
    assert frame.loc["d", "digest"] != v2_digest("R2", "D", "d")


def test_the_web_app_reads_the_same_reviews(setup) -> None:
    _, state, imported = setup
    views = web_stories.all_stories(imported, state, {"R1": "Ana", "R2": "Ben"})
    got = {v.story_id: (v.status, v.source, v.created, v.rep_name, v.shared) for v in views}
    assert got == {
        "a": ("waiting", "imported", "2026-03-01", "Ana", False),
        "b": ("waiting", "imported", "2026-03-01", "Ana", False),
        "c": ("approved", "imported", "2026-03-01", "Ana", False),  # declined in the source
        "d": ("approved", "written here", "2026-03-02", "Ben", True),
        "e": ("declined", "written here", "2026-03-02", "Ben", False),
        "f": ("waiting", "written here", "2026-03-02", "Ben", False),
    }
    assert [v.story_id for v in views] == ["f", "e", "d", "c", "b", "a"]
    assert [v.paragraphs for v in views if v.story_id == "a"] == [("a",)]
