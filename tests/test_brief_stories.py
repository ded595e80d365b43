"""The brief's customer stories: caregiver stories tied to the period's wins first, at most
``[brief] max_stories``, and never a story the web app's approval has not let through (stories
written in the web app included)."""

from __future__ import annotations

import shutil
import tomllib
from datetime import timedelta

import pandas as pd
import pytest
import tomli_w

from brightspots.brief import BriefError, build, parse, source
from brightspots.brief.build import _stories, max_stories, story_rank
from brightspots.brief.period import containing
from brightspots.brief.source import STORY_COLUMNS, Scope
from brightspots.practices.builtin import BUILTINS
from brightspots.stories import all_stories
from brightspots.stories.library import app_state
from brightspots.web.appstate import AppState
from brightspots.workspace import CONFIG_FILE, Workspace


def _story(sid: str, at: str, *, win: str | None = None, tags: str = "", body: str = "") -> dict:
    row = dict.fromkeys(STORY_COLUMNS)
    row.update(
        story_id=sid,
        title=f"Story {sid}",
        body=body or "We won it.",
        tags=tags,
        created_at=pd.Timestamp(at),
        created_on=pd.Timestamp(at).date(),
        rep_id="R1",
        win_opportunity_id=win,
        source="imported",
    )
    return row


def _scope() -> Scope:
    reps = pd.DataFrame({"rep_id": ["R1"], "name": ["Ana Silva"], "team_id": ["T1"]})
    return Scope("all", "the whole company", frozenset({"R1"}), reps, {"T1": "North"})


def test_caregiver_stories_tied_to_wins_come_first_newest_first() -> None:
    frame = pd.DataFrame(
        [
            _story("plain-new", "2026-03-20 10:00"),
            _story("plain-same", "2026-03-20 10:00"),  # the same time: by id
            _story("care-untied", "2026-03-10", body="We checked in after go-live."),
            _story("tied", "2026-03-05", win="O2", tags="demo"),
            _story("care-tied-old", "2026-02-01", win="O1", tags="Customer-Care"),
            _story("care-tied", "2026-03-01", win="O1", tags="care;multi-threading"),
        ]
    )
    got = _stories(frame, _scope(), list(BUILTINS), {}, 10)
    assert [s.story_id for s in got] == [
        "care-tied",
        "care-tied-old",
        "tied",
        "care-untied",
        "plain-new",
        "plain-same",
    ]
    assert [story_rank(s) for s in got] == [0, 0, 1, 2, 3, 3]
    first = got[0]
    assert first.caregiver and first.win_opportunity_id == "O1" and first.rep == "Ana Silva"
    assert first.tags == ("care", "multi-threading") and first.practices == ("multithreading",)
    assert got[2].practices == ("demos_per_opportunity",) and not got[2].caregiver
    # at most [brief] max_stories: the preferred ones
    assert [s.story_id for s in _stories(frame, _scope(), list(BUILTINS), {}, 3)] == [
        "care-tied",
        "care-tied-old",
        "tied",
    ]
    assert _stories(frame, _scope(), list(BUILTINS), {}, 0) == []
    # [care] story_tags decide what a caregiver story is
    config = {"care": {"story_tags": ["demo"], "story_keywords": []}}
    assert [s.story_id for s in _stories(frame, _scope(), list(BUILTINS), config, 2)] == [
        "tied",
        "care-tied",
    ]


def test_max_stories_setting() -> None:
    assert max_stories({}) == 3 and max_stories({"max_stories": 0}) == 0
    for bad in (-1, 2.5, True, "3"):
        with pytest.raises(BriefError, match=r"\[brief\] max_stories = "):
            max_stories({"max_stories": bad})


def _quarter_before_last(ws: Workspace) -> str:
    last = pd.Timestamp(ws.read("deal_expectations")["closed_local"].max()).date()
    return containing(last, "quarter").before().label


def _candidates(ws: Workspace, period: str) -> pd.DataFrame:
    """The stories a brief of the whole company for ``period`` may tell (before the cap)."""
    sc, p = source.scope(ws, "all"), parse(period)
    return source.stories(ws, sc, p, source.won_deals(ws, sc, p))


def test_only_approved_stories_reach_a_brief(small_ws, tmp_path) -> None:
    """Once the web app has an account in a workspace ([stories] approval "auto" is then "web"),
    a brief tells only stories a manager approved there: imported or written in the app."""
    root = tmp_path / "ws"
    shutil.copytree(small_ws, root)
    with Workspace.open(root) as ws:
        period = _quarter_before_last(ws)
        before = _candidates(ws, period)
        assert len(before) >= 2  # every story is shared before the web app runs
        state = AppState(root)
        with state.write() as con:  # the web app has an account: nothing is approved yet
            con.execute(
                "INSERT INTO users (email, password_hash, role) VALUES ('a@test.example', 'x', "
                "'admin')"
            )
        assert _candidates(ws, period).empty
        # approve one story; decline another; write two in the app in the period (one approved)
        p = parse(period)
        inside = before[(before["created_on"] >= p.start) & (before["created_on"] <= p.end)]
        chosen = inside.iloc[-1]  # the app's stories are written beside it, in the period
        declined = before[before["story_id"] != chosen["story_id"]].iloc[0]
        at = pd.Timestamp(chosen["created_at"]) + timedelta(seconds=1)
        with state.write() as con:
            for sid, title in (("web-aaaa", "Approved here"), ("web-bbbb", "Still waiting")):
                con.execute(
                    "INSERT INTO stories (story_id, rep_id, title, body, created_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [
                        sid,
                        chosen["rep_id"],
                        title,
                        "We listened.",
                        at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    ],
                )
        digests = all_stories(ws, app_state(ws)).set_index("story_id")["digest"]
        reviews = {chosen["story_id"]: "approved", "web-aaaa": "approved"}
        reviews[declined["story_id"]] = "declined"
        with state.write() as con:
            for sid, status in reviews.items():
                con.execute(
                    "INSERT INTO story_reviews VALUES (?, ?, ?, NULL, '2026-01-01T00:00:00Z')",
                    [sid, digests[sid], status],
                )
        after = build(ws, "all", period)
        assert {s.story_id for s in after.stories} == {chosen["story_id"], "web-aaaa"}
        web = next(s for s in after.stories if s.story_id == "web-aaaa")
        assert web.caregiver and web.title == "Approved here" and web.account is None
        # [stories] approval = "none": every story not declined, the web app's waiting one too
        path = root / CONFIG_FILE
        config = tomllib.loads(path.read_text())
        config["stories"] = {**config.get("stories", {}), "approval": "none"}
        path.write_text(tomli_w.dumps(config))
    with Workspace.open(root) as ws:
        told = set(_candidates(ws, period)["story_id"])
        assert told == (set(before["story_id"]) - {declined["story_id"]}) | {"web-aaaa", "web-bbbb"}
