"""Stories in the web app (issue 11): app state version 3 (a version 2 file is migrated and its
stories and reviews kept), a story written with its account, deal and tags (checked to be the
rep's own), team pages behind the one sharing gate (``stories.sharing.shared``), and the story
library with its API twin for five kinds of account, filtered by practice and care."""

from __future__ import annotations

import hashlib
import re
import shutil
import sqlite3
import tomllib
from pathlib import Path

import pandas as pd
import pytest
import tomli_w
from fastapi.testclient import TestClient

from brightspots.stories import library
from brightspots.web import stories
from brightspots.web.app import create_app
from brightspots.web.appstate import FILE, VERSION, AppState, AppStateError
from brightspots.web.users import User, find
from brightspots.workspace import CONFIG_FILE, Workspace, init_workspace
from conftest import WebOrg, sign_in

# ----------------------------------------------------------------------------- app state v3

#: app state version 2's story tables, as that version made them
V2_STORIES = """CREATE TABLE stories (
    story_id TEXT PRIMARY KEY,
    rep_id TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    author_user_id INTEGER
)"""
V2_REVIEWS = """CREATE TABLE story_reviews (
    story_id TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    status TEXT NOT NULL,
    reviewer_user_id INTEGER,
    reviewed_at TEXT NOT NULL
)"""


def _v2_digest(rep: str, title: str, body: str) -> str:
    return hashlib.sha256("\x1f".join((rep, title, body)).encode()).hexdigest()[:24]


def _v2_file(root: Path, version: int = 2) -> None:
    with sqlite3.connect(root / FILE) as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO meta VALUES ('version', ?)", [str(version)])
        db.execute(V2_STORIES)
        db.execute(V2_REVIEWS)
        db.execute(
            "INSERT INTO stories VALUES ('web-1', 'R1', 'Kept', 'It stays.', "
            "'2026-02-03T10:00:00Z', NULL)"
        )
        db.execute(
            "INSERT INTO story_reviews VALUES ('web-1', ?, 'approved', NULL, "
            "'2026-02-04T10:00:00Z')",
            [_v2_digest("R1", "Kept", "It stays.")],
        )
    db.close()


def test_a_version_2_file_is_migrated_and_keeps_its_stories_and_reviews(tmp_path) -> None:
    root = tmp_path / "ws"
    init_workspace(root).close()
    _v2_file(root)
    state = AppState(root)
    with state.read() as con:
        columns = [r[1] for r in con.execute("PRAGMA table_info(stories)")]
        version = con.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()[0]
        row = dict(con.execute("SELECT * FROM stories").fetchone())
    assert VERSION == 5 and version == "5"  # versions 4 and 5: experiments (their own tests)
    assert columns[-3:] == ["account_id", "opportunity_id", "tags"]
    assert row["title"] == "Kept" and row["account_id"] is None and row["tags"] is None
    # the version 2 review still holds for the story it approved
    frame = library.story_frame(pd.DataFrame(), state)
    assert frame[["story_id", "review"]].values.tolist() == [["web-1", "approved"]]
    # a second process (a new AppState) migrates nothing twice
    with AppState(root).read() as con:
        assert [r[1] for r in con.execute("PRAGMA table_info(stories)")] == columns


def test_a_newer_file_is_refused_untouched(tmp_path) -> None:
    root = tmp_path / "ws"
    init_workspace(root).close()
    _v2_file(root, version=VERSION + 1)
    with pytest.raises(AppStateError, match="written by a newer brightspots"):
        AppState(root).connect()
    with sqlite3.connect(root / FILE) as db:  # nothing was added
        assert "tags" not in [r[1] for r in db.execute("PRAGMA table_info(stories)")]
    db.close()


# ----------------------------------------------------------------------------- writing


@pytest.fixture
def web_copy(web_ws: WebOrg, tmp_path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(web_ws.root, root)
    return root


def _book(root: Path, rep: str, other: str) -> dict[str, str]:
    """A deal of ``rep`` (and its account), an account ``rep`` owns with none of their deals on
    it when there is one, another account of ``rep``, and a deal and an account of ``other``
    that ``rep`` has no deal on."""
    with Workspace.open(root) as ws:
        opps, accounts = ws.read("opportunities"), ws.read("accounts")
    mine = opps[opps["owner_rep_id"] == rep].sort_values("opportunity_id")
    deal = mine.iloc[0]
    mine_acc = set(mine["account_id"])
    owned = accounts[accounts["owner_rep_id"] == rep].sort_values("account_id")
    other_deal = opps[(opps["owner_rep_id"] == other) & ~opps["account_id"].isin(mine_acc)]
    other_acc = accounts[
        (accounts["owner_rep_id"] == other) & ~accounts["account_id"].isin(mine_acc)
    ]
    second = owned[owned["account_id"] != deal["account_id"]].iloc[0]
    names = dict(zip(accounts["account_id"], accounts["name"], strict=True))
    return {
        "deal": str(deal["opportunity_id"]),
        "deal_account": str(deal["account_id"]),
        "deal_account_name": str(names[deal["account_id"]]),
        "account": str(second["account_id"]),
        "account_name": str(second["name"]),
        "other_deal": str(other_deal.sort_values("opportunity_id").iloc[0]["opportunity_id"]),
        "other_account": str(other_acc.sort_values("account_id").iloc[0]["account_id"]),
    }


def _rows(root: Path) -> dict[str, dict]:
    with sqlite3.connect(root / FILE) as db:
        db.row_factory = sqlite3.Row
        out = {r["story_id"]: dict(r) for r in db.execute("SELECT * FROM stories")}
    db.close()
    return out


def test_write_names_only_the_reps_own_account_and_deal(web_ws: WebOrg, web_copy: Path) -> None:
    state = AppState(web_copy)
    found = find(state, web_ws.rep)
    assert found is not None
    rep = found[0]
    b = _book(web_copy, web_ws.rep_id, web_ws.other_rep_id)
    with Workspace.open(web_copy) as ws:
        # a deal alone names its account; tags are cleaned and kept once
        a = stories.write(
            state, rep, "T", "B", opportunity_id=f" {b['deal']} ", tags="care, Demo; CARE;;", ws=ws
        )
        one = stories.write(state, rep, "T", "B", account_id=b["account"], ws=ws)
        both = stories.write(
            state, rep, "T", "B", account_id=b["deal_account"], opportunity_id=b["deal"], ws=ws
        )
        plain = stories.write(state, rep, "T", "B")  # no account, no workspace needed
        rows = _rows(web_copy)
        assert (rows[a]["account_id"], rows[a]["opportunity_id"]) == (b["deal_account"], b["deal"])
        assert rows[a]["tags"] == "care;Demo"
        assert (rows[one]["account_id"], rows[one]["opportunity_id"]) == (b["account"], None)
        assert rows[both]["opportunity_id"] == b["deal"]
        assert rows[plain]["account_id"] is None and rows[plain]["tags"] == ""
        refused = {
            "other's deal": ({"opportunity_id": b["other_deal"]}, "is not one of yours"),
            "unknown deal": ({"opportunity_id": "OP-NOPE"}, "is not one of yours"),
            "other's account": ({"account_id": b["other_account"]}, "is not one of yours"),
            "unknown account": ({"account_id": "AC-NOPE"}, "is not one of yours"),
            "deal on another account": (
                {"account_id": b["account"], "opportunity_id": b["deal"]},
                f"is on account {b['deal_account']}, not {b['account']}",
            ),
            "too many tags": ({"tags": ",".join(f"t{i}" for i in range(11))}, "at most 10 tags"),
            "a long tag": ({"tags": "x" * 41}, "at most 40 characters"),
        }
        for what, (kw, says) in refused.items():
            with pytest.raises(stories.StoryError, match=re.escape(says)):
                stories.write(state, rep, "T", "B", ws=ws, **kw)
            assert len(_rows(web_copy)) == 4, what
    with pytest.raises(stories.StoryError, match="the workspace is needed"):
        stories.write(state, rep, "T", "B", account_id=b["account"])
    manager = User(rep.user_id, "m@x.example", "manager", None, ("T",), False)
    with pytest.raises(stories.StoryError, match="only a rep account"):
        stories.write(state, manager, "T", "B")


def csrf_of(c: TestClient) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', c.get("/").text).group(1)


def _library(c: TestClient, **params: str) -> dict:
    r = c.get("/api/v1/stories/library", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_the_form_takes_an_account_deal_and_tags_and_approval_still_decides(
    web_ws: WebOrg, web_copy: Path
) -> None:
    b = _book(web_copy, web_ws.rep_id, web_ws.other_rep_id)
    title = "We checked in after go-live"
    app = create_app(web_copy)
    with (
        TestClient(app, follow_redirects=False) as rep,
        TestClient(app, follow_redirects=False) as boss,
        TestClient(app, follow_redirects=False) as other,
    ):
        for c, who in ((rep, web_ws.rep), (boss, web_ws.manager), (other, web_ws.other_manager)):
            assert sign_in(c, who).status_code == 303
        form = rep.get("/stories").text
        for field in ("account_id", "opportunity_id", "tags"):
            assert f'<label for="{field}">' in form and f'id="{field}" name="{field}"' in form
        assert f'<option value="{b["deal"]}">' in form  # the rep's deals are offered
        # a deal of another rep: refused, and the form comes back filled in
        bad = rep.post(
            "/stories",
            data={
                "title": title,
                "body": "Kept text.",
                "opportunity_id": b["other_deal"],
                "csrf": csrf_of(rep),
            },
        )
        assert bad.status_code == 400 and "is not one of yours" in bad.text
        assert f'value="{title}"' in bad.text and ">Kept text.</textarea>" in bad.text
        assert title not in _rows_titles(web_copy)
        body = "A month after go-live we checked in with their team.\n\nThey renewed early."
        ok = rep.post(
            "/stories",
            data={
                "title": title,
                "body": body,
                "account_id": b["deal_account"],
                "opportunity_id": b["deal"],
                "tags": "multi-threading",
                "csrf": csrf_of(rep),
            },
        )
        assert ok.status_code == 303
        assert "once%20your%20manager%20approves%20it" in ok.headers["location"]
        mine = rep.get("/stories").text
        assert title in mine and 'class="badge badge-care"' in mine
        team = f"/teams/{web_ws.team_id}"
        # waiting: the author sees it in the library, nobody else anywhere
        waiting = [s for s in _library(rep)["stories"] if s["title"] == title]
        assert len(waiting) == 1 and waiting[0]["status"] == "waiting"
        assert not waiting[0]["shared"]
        assert title not in rep.get(team).text and title not in boss.get(team).text
        assert title not in boss.get("/stories/library").text
        story_id = re.search(r"/stories/(web-[0-9a-f]+)/review", boss.get("/stories").text)[1]
        review = boss.get("/stories").text
        card = review[review.index(title) : review.index("</li>", review.index(title))]
        assert b["deal_account_name"] in card  # the manager sees what they approve
        assert (
            boss.post(
                f"/stories/{story_id}/review", data={"status": "approved", "csrf": csrf_of(boss)}
            ).status_code
            == 303
        )
        page = rep.get(team).text
        assert title in page and 'class="badge badge-care"' in page
        assert 'href="/stories/library?practice=multithreading"' in page
        got = [s for s in _library(boss)["stories"] if s["story_id"] == story_id]
        assert len(got) == 1
        s = got[0]
        assert s["shared"] and s["caregiver"] and s["status"] == "approved"
        assert (s["account_id"], s["opportunity_id"]) == (b["deal_account"], b["deal"])
        assert s["account"] == b["deal_account_name"]
        assert s["tags"] == ["multi-threading"]
        assert {
            "practice": "multithreading",
            "name": "Three or more distinct people at the buyer touched",
            "via": "tag",
            "matched": "multi-threading",
        } in s["practices"]
        # the filters
        ids = {x["story_id"] for x in _library(boss, practice="multithreading")["stories"]}
        assert story_id in ids
        ids = {x["story_id"] for x in _library(boss, practice="demos_per_opportunity")["stories"]}
        assert story_id not in ids
        care = _library(boss, care="true")
        assert story_id in {x["story_id"] for x in care["stories"]}
        assert all(x["caregiver"] for x in care["stories"])
        assert boss.get("/api/v1/stories/library?practice=nope").status_code == 404
        html = boss.get("/stories/library?practice=multithreading&care=1").text
        assert title in html and 'id="care" name="care" value="1" checked' in html
        assert '<option value="multithreading" selected>' in html
        assert "There is no practice" in boss.get("/stories/library?practice=nope").text
        # another manager's library never holds it
        assert story_id not in {x["story_id"] for x in _library(other)["stories"]}
        assert title not in other.get("/stories/library").text


def _rows_titles(root: Path) -> set[str]:
    return {r["title"] for r in _rows(root).values()}


# ----------------------------------------------------------------------------- who reads what


def _add(state: AppState, sid: str, rep_id: str, title: str, *, at: str) -> None:
    with state.write() as con:
        con.execute(
            "INSERT INTO stories (story_id, rep_id, title, body, created_at, tags) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [sid, rep_id, title, f"The story {title}.", at, "demo"],
        )


def _review(root: Path, state: AppState, decisions: dict[str, str]) -> None:
    with Workspace.open(root) as ws:
        imported = ws.read("stories")
    admin = User(1, "admin@x.example", "admin", None, (), False)
    for view in stories.all_stories(imported, state, {}):
        if view.story_id in decisions:
            stories.review(state, admin, view, decisions[view.story_id])


def _set_stories(root: Path, **settings: object) -> None:
    path = root / CONFIG_FILE
    config = tomllib.loads(path.read_text())
    config["stories"] = {**config.get("stories", {}), **settings}
    path.write_text(tomli_w.dumps(config))


@pytest.fixture
def told(web_ws: WebOrg, web_copy: Path) -> Path:
    """``web_copy`` with web stories by the rep, a teammate and a rep of the team beside it:
    approved (ok), waiting (wait) and declined (no)."""
    with Workspace.open(web_copy) as ws:
        reps = ws.read("reps")
    mates = reps[(reps["team_id"] == web_ws.team_id) & (reps["rep_id"] != web_ws.rep_id)]
    mate = str(mates.sort_values("rep_id").iloc[0]["rep_id"])
    state = AppState(web_copy)
    authors = {"mine": web_ws.rep_id, "mate": mate, "other": web_ws.other_rep_id}
    for who, rep_id in authors.items():
        for kind in ("ok", "wait", "no"):
            sid, title = f"web-{who}-{kind}", f"{who} {kind} story"
            _add(state, sid, rep_id, title, at="2026-01-05T09:00:00Z")
    decisions = {f"web-{w}-ok": "approved" for w in authors}
    _review(web_copy, state, decisions | {f"web-{w}-no": "declined" for w in authors})
    return web_copy


#: the web stories of ``told`` each kind of account's library holds
LIBRARY = {
    "rep": {"web-mine-ok", "web-mine-wait", "web-mine-no", "web-mate-ok"},
    "manager": {"web-mine-ok", "web-mate-ok"},
    "other_manager": {"web-other-ok"},
    "region_manager": {"web-mine-ok", "web-mate-ok", "web-other-ok"},
    "admin": {"web-mine-ok", "web-mate-ok", "web-other-ok"},
}


def test_the_library_holds_what_each_kind_of_account_may_read(web_ws: WebOrg, told: Path) -> None:
    app = create_app(told)
    for kind, expected in LIBRARY.items():
        with TestClient(app, follow_redirects=False) as c:
            assert sign_in(c, getattr(web_ws, kind)).status_code == 303
            got = _library(c)
            web = {s["story_id"] for s in got["stories"] if s["story_id"].startswith("web-")}
            assert web == expected, kind
            # nothing imported is approved here, so only a rep's own imported stories show
            imported = [s for s in got["stories"] if not s["story_id"].startswith("web-")]
            assert all(s["rep_id"] == web_ws.rep_id for s in imported), kind
            assert got["total"] == len(got["stories"])
            page = c.get("/stories/library")
            assert page.status_code == 200
            for who in ("mine", "mate", "other"):
                for k in ("ok", "wait", "no"):
                    sid = f"web-{who}-{k}"
                    assert (f"{who} {k} story" in page.text) == (sid in expected), (kind, sid)
            nav = re.search(r'<nav aria-label="Main">.*?</nav>', page.text, re.S)[0]
            assert '<a href="/stories/library" aria-current="page">Story library</a>' in nav
    # the filters: every story of ``told`` is tagged "demo" and none is a caregiver story
    with TestClient(app, follow_redirects=False) as c:
        assert sign_in(c, web_ws.admin).status_code == 303
        demos = _library(c, practice="demos_per_opportunity")
        assert {s["story_id"] for s in demos["stories"]} == LIBRARY["admin"]
        assert demos["practice"] == "demos_per_opportunity" and demos["total"] == 3
        assert _library(c, practice="multithreading")["stories"] == []
        care = _library(c, care="1")
        assert care["stories"] == [] and care["caregivers"] == 0 and care["total"] == 3


def test_team_pages_share_through_the_one_gate(web_ws: WebOrg, told: Path) -> None:
    with Workspace.open(told) as ws:
        imported = ws.read("stories")
    team = f"/teams/{web_ws.team_id}"
    with Workspace.open(told) as ws:
        reps = ws.read("reps")
    members = set(reps.loc[reps["team_id"] == web_ws.team_id, "rep_id"])
    ours = imported[imported["rep_id"].isin(members)]
    for approval, shown in (
        ("web", {"mine ok", "mate ok"}),  # approved here
        ("none", {"mine ok", "mate ok", "mine wait", "mate wait"}),  # every one not declined
    ):
        _set_stories(told, approval=approval)
        with TestClient(create_app(told), follow_redirects=False) as c:
            assert sign_in(c, web_ws.manager).status_code == 303
            page = c.get(team).text
            api = c.get(f"/api/v1{team}").json()["stories"]
        for who in ("mine", "mate", "other"):
            for k in ("ok", "wait", "no"):
                name = f"{who} {k}"
                assert (f"{name} story" in page) == (name in shown), (approval, name)
        titles = {s["title"] for s in api}
        assert {t for t in titles if t.endswith(" story")} == {f"{n} story" for n in shown}
        # the team's imported stories are shared too once approval is "none"
        if approval == "none":
            assert set(ours["title"]) <= titles
        else:
            assert not set(ours["title"]) & titles


def test_unusable_story_settings_share_only_what_was_approved_here(
    web_ws: WebOrg, told: Path
) -> None:
    _set_stories(told, approval="manager")
    with TestClient(create_app(told), follow_redirects=False) as c:
        assert sign_in(c, web_ws.admin).status_code == 303
        page = c.get("/stories/library")
        assert page.status_code == 200
        assert "approval = &#39;manager&#39;" in page.text
        assert "only stories approved here are shared" in page.text
        got = _library(c)
        assert {s["story_id"] for s in got["stories"]} == LIBRARY["admin"]
        assert any("approval = 'manager'" in n for n in got["notes"])
