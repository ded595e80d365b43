"""Practice experiments in the web app (issue 12): a manager makes one for their team (CSRF,
the plan computed and stored), reps of a treated team follow it and anyone else gets 404, a
wave and a stop for those who manage every team in it, a rep's personal experiment on their
meter (the rep and their managers only), the API twins, and results read from the run when it
stored this very definition, else computed live on the experiment's own page only (lists say
the figures come with the next run)."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from datetime import date
from html import escape as html_escape
from pathlib import Path
from urllib.parse import unquote

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from brightspots.experiments import evaluate, store
from brightspots.practices.registry import registry
from brightspots.web import experiments as wx
from brightspots.web.access import Org
from brightspots.web.app import create_app
from brightspots.web.appstate import FILE, AppState
from brightspots.web.data import ExperimentFigures, Snapshot
from brightspots.web.users import User, add_user
from brightspots.workspace import Workspace
from conftest import WEB_PASSWORD, WebOrg, sign_in

START = "2026-03-02"  # a Monday in small_ws's twelve months


@pytest.fixture
def lab(web_ws: WebOrg, tmp_path) -> Path:
    """A copy of ``web_ws`` with two more rep accounts: a teammate of the rep (mate@) and a rep
    of the team beside it (stranger@)."""
    root = tmp_path / "ws"
    shutil.copytree(web_ws.root, root)
    with Workspace.open(root) as ws:
        reps = ws.read("reps")
    mates = reps[(reps["team_id"] == web_ws.team_id) & (reps["rep_id"] != web_ws.rep_id)]
    state = AppState(root)
    mate = str(mates.sort_values("rep_id").iloc[0]["rep_id"])
    add_user(state, "mate@test.example", "rep", WEB_PASSWORD, rep_id=mate)
    add_user(state, "stranger@test.example", "rep", WEB_PASSWORD, rep_id=web_ws.other_rep_id)
    return root


#: the accounts of ``lab``, as test_web_app names them, plus the two reps it adds
PEOPLE = ("rep", "mate", "stranger", "manager", "other_manager", "region_manager", "admin")


def _email(web_ws: WebOrg, who: str) -> str:
    return {"mate": "mate@test.example", "stranger": "stranger@test.example"}.get(who) or getattr(
        web_ws, who
    )


def _clients(app, web_ws: WebOrg) -> dict[str, TestClient]:
    out = {}
    for who in PEOPLE:
        c = TestClient(app, follow_redirects=False)
        assert sign_in(c, _email(web_ws, who)).status_code == 303, who
        out[who] = c
    return out


def csrf_of(c: TestClient) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', c.get("/").text).group(1)


def _rows(root: Path, sql: str) -> list[dict]:
    with sqlite3.connect(root / FILE) as db:
        db.row_factory = sqlite3.Row
        out = [dict(r) for r in db.execute(sql)]
    db.close()
    return out


def _make(c: TestClient, **fields) -> object:
    data = {
        "name": "Multithreading in one team",
        "practice": "multithreading",
        "start": START,
        "outcome": "win_rate",
        "comparison": "similar",
        "horizon": "90d",
        "csrf": csrf_of(c),
        **fields,
    }
    return c.post("/experiments", data=data)


def _seen(clients: dict[str, TestClient], path: str) -> dict[str, int]:
    return {who: c.get(path).status_code for who, c in clients.items()}


# ----------------------------------------------------------------------------- rules, pure


def test_who_may_see_make_and_change() -> None:
    org = Org.of(
        pd.DataFrame({"rep_id": ["r1", "r2", "r3"], "team_id": ["T1", "T1", "T2"]}),
        pd.DataFrame({"team_id": ["R", "T1", "T2"], "parent_team_id": [None, "R", "R"]}),
    )
    wave = store.Wave(1, "T1", date(2026, 3, 2), "x", "x")
    team = store.Experiment(
        "EX-1", "A", "team", "multithreading", "win_rate", 90, "similar", None, None,
        "active", "2026-03-01T00:00:00Z", "web:m@x", None, None, (wave,),
    )  # fmt: skip
    mine = store.Experiment(
        **{**team.__dict__, "experiment_id": "EX-2", "kind": "personal", "rep_id": "r1",
           "waves": (store.Wave(1, "", date(2026, 3, 2), "x", "x"),)}
    )  # fmt: skip

    def u(role, rep=None, teams=(), disabled=False) -> User:
        return User(1, "u@x", role, rep, tuple(teams), disabled)

    cases = {  # user: (sees team, changes team, sees personal, changes personal)
        "r1": (u("rep", "r1"), True, False, True, True),
        "r2 (teammate)": (u("rep", "r2"), True, False, False, False),
        "r3 (other team)": (u("rep", "r3"), False, False, False, False),
        "manager T1": (u("manager", teams=["T1"]), True, True, True, True),
        "manager T2": (u("manager", teams=["T2"]), False, False, False, False),
        "manager R": (u("manager", teams=["R"]), True, True, True, True),
        "admin": (u("admin"), True, True, True, True),
        "disabled admin": (u("admin", disabled=True), False, False, False, False),
    }
    for name, (user, *expected) in cases.items():
        got = [
            wx.may_see(user, team, org),
            wx.may_change(user, team, org),
            wx.may_see(user, mine, org),
            wx.may_change(user, mine, org),
        ]
        assert got == expected, name
    # making one needs every team managed
    assert wx.may_make(u("manager", teams=["R"]), ["T1", "T2"], org)
    assert not wx.may_make(u("manager", teams=["T1"]), ["T1", "T2"], org)
    assert not wx.may_make(u("rep", "r1"), ["T1"], org)


def test_an_early_look_says_a_stronger_result_is_needed() -> None:
    """Review M4 on the web page (and the API): the outcome's row says the 99.9% interval
    decides until the plan's weeks are mature, in the report's words."""
    org = Org.of(
        pd.DataFrame({"rep_id": ["r1", "r2"], "team_id": ["T1", "T2"]}),
        pd.DataFrame({"team_id": ["T1", "T2"], "parent_team_id": [None, None]}),
    )
    snap = Snapshot("1", None, org, {}, {}, "EUR", "UTC", None)
    exp = store.Experiment(
        "EX-1", "Early", "team", "multithreading", "win_rate", 90, "similar", None, None,
        "active", "2026-11-20T10:00:00Z", "web:m@x", None, None,
        tuple(store.Wave(1, t, date(2026, 11, 30), "x", "x") for t in ("T1", "T2")),
    )  # fmt: skip
    early = dict(ci_low=0.018, ci_high=0.104, strict_low=-0.004, strict_high=0.126, early=True)
    figures = {
        "definition": {"horizon_days": 90, "plans": [{"wave": 1, "plan": {"power": {
            "weeks_needed": 9}}}]},
        "outcome": "win_rate",
        "starts": {"T1": "2026-11-30", "T2": "2026-11-30"},
        "measures": {"outcome": {"estimate": 0.061, **early}},
    }  # fmt: skip
    figs = ExperimentFigures("EX-1", "no_effect_yet", "No detectable effect yet.", (), figures)
    p = wx.page(exp, snap, figs, [], {}, date(2027, 1, 4), chart=False)
    (row,) = p.measures
    assert row.interval == (
        "95% CI 1.8 to 10.4; a stronger result is needed until 2 May 2027 "
        "(99.9% CI \u22120.4 to 12.6)"
    )


def test_practices_with_evidence_come_first(small_ws: Path) -> None:
    with Workspace.open(small_ws) as ws:
        practices = registry(ws.config)
    effects = pd.DataFrame(
        {
            "practice": ["cadence", "multithreading", "call_share", "email_share"],
            "q": [0.01, 0.001, 0.02, 0.5],
            "suspect": [False, False, True, False],
        }
    )
    got = wx.practice_choices(practices, effects)
    assert [c.practice for c in got[:2]] == ["multithreading", "cadence"]
    assert [c.evidence for c in got[:3]] == [True, True, False]
    assert sorted(c.practice for c in got) == sorted(p.id for p in practices)
    assert [c.practice for c in wx.practice_choices(practices, None)] == [p.id for p in practices]


# ----------------------------------------------------------------------------- team experiments


def test_a_manager_makes_one_reps_follow_it_and_others_get_404(web_ws: WebOrg, lab: Path) -> None:
    app = create_app(lab)
    clients = _clients(app, web_ws)
    boss, rep = clients["manager"], clients["rep"]
    try:
        # the form: managers and admins; a team they do not manage is 404
        assert _seen(clients, f"/experiments/new?team={web_ws.team_id}") == {
            "rep": 404, "mate": 404, "stranger": 404, "manager": 200, "other_manager": 404,
            "region_manager": 200, "admin": 200,
        }  # fmt: skip
        form = boss.get(f"/experiments/new?team={web_ws.team_id}").text
        assert f'name="teams" value="{web_ws.team_id}" checked' in form
        assert f'value="{web_ws.other_team_id}"' not in form  # only the teams they manage
        assert '<option value="multithreading"' in form
        # without the CSRF token: 403, nothing stored
        bad = boss.post("/experiments", data={"name": "X", "teams": [web_ws.team_id]})
        assert bad.status_code == 403 and not _rows(lab, "SELECT * FROM experiments")
        # a rep cannot make one, nor a manager in a team they do not manage
        assert _make(rep, teams=[web_ws.team_id]).status_code == 404
        assert _make(boss, teams=[web_ws.other_team_id]).status_code == 404
        # an ExperimentError comes back in the form, filled in
        wrong = _make(boss, teams=[web_ws.team_id], practice="nope")
        assert wrong.status_code == 400 and "Unknown practice &#39;nope&#39;" in wrong.text
        assert 'value="Multithreading in one team"' in wrong.text
        late = _make(boss, teams=[web_ws.team_id], end="2026-01-05")
        assert late.status_code == 400 and "must come after the start" in late.text
        assert not _rows(lab, "SELECT * FROM experiments")
        made = _make(boss, teams=[web_ws.team_id])
        assert made.status_code == 303, made.text
        eid = re.match(r"/experiments/(EX-[0-9a-f]{8})\?", made.headers["location"])[1]
        row = _rows(lab, "SELECT * FROM experiments")[0]
        assert row["created_by"] == f"web:{web_ws.manager}" and row["created_by_user_id"]
        plans = _rows(lab, "SELECT * FROM experiment_plans")
        assert len(plans) == 1 and plans[0]["experiment_id"] == eid
        # the name is taken now; who cannot see it is not told an experiment has it (L2)
        again = _make(boss, teams=[web_ws.team_id])
        assert again.status_code == 400 and "is not available" in again.text
        stranger = clients["stranger"]
        probe = stranger.post(
            f"/reps/{web_ws.other_rep_id}/experiments",
            data={"name": "multithreading IN ONE team", "practice": "cadence", "start": START,
                  "csrf": csrf_of(stranger)},
        )  # fmt: skip
        assert probe.status_code == 400 and "is not available: choose another name" in probe.text
        assert "experiment named" not in probe.text and "exists" not in probe.text

        page = f"/experiments/{eid}"
        api = f"/api/v1/experiments/{eid}"
        follow = {
            "rep": 200, "mate": 200, "stranger": 404, "manager": 200, "other_manager": 404,
            "region_manager": 200, "admin": 200,
        }  # fmt: skip
        assert _seen(clients, page) == follow
        assert _seen(clients, api) == follow
        listed = {
            w: eid in [x["experiment_id"] for x in c.get("/api/v1/experiments").json()]
            for w, c in clients.items()
        }
        assert listed == {w: s == 200 for w, s in follow.items()}
        html = rep.get(page).text
        body = rep.get(api).json()
        assert body["headline"] and body["headline"] in html.replace("&#39;", "'")
        assert body["verdict"] and body["kind"] == "team" and body["status"] == "active"
        # who made it: managers and admins are told, reps are not (L2)
        assert body["made"].startswith("made ") and web_ws.manager not in body["made"]
        assert web_ws.manager not in html
        assert boss.get(api).json()["made"].endswith(f"by web:{web_ws.manager}")
        # progress in the plan's terms: weeks of new deals that have had the horizon (L1)
        assert re.fullmatch(
            r"(\d+ weeks? of new deals planned; (\d+ mature so far|none mature yet)|\d+ weeks? "
            r"of new deals mature so far|no week of new deals mature yet)"
            r"(, the (next|first) on \d+ \w+ \d{4})?",
            body["progress"],
        ), body["progress"]
        assert [t["id"] for t in body["teams"]] == [web_ws.team_id]
        assert {m["measure"] for m in body["measures"]} == {"adoption", "win rate"}
        assert body["source"].startswith("Figures computed on the current data")
        # comparison teams as a group: counted, never named
        comparison = json.loads(plans[0]["comparison_teams"])
        assert comparison
        assert f"Compared with {len(comparison)} team" in body["comparison"]
        with Workspace.open(lab) as ws:
            names = dict(ws.read("teams")[["team_id", "name"]].values)
        section = html[html.index('id="comparison"') :]
        assert not [t for t in comparison if html_escape(names[t]) in section or t in section]
        assert 'class="chart"' in html and "<svg" in html  # the event study, server-drawn
        # a rep who follows it sees no change form; stop and extend are 404 for them
        assert 'action="/experiments/' + eid + '/stop"' not in html
        for who in ("rep", "stranger", "other_manager"):
            c = clients[who]
            r = c.post(f"{page}/stop", data={"csrf": csrf_of(c)})
            assert r.status_code == 404, who
        # an id that is no experiment: 404 for everyone, and no experiment's name in the answer
        # (the store's own error names them all: it must never reach a page)
        admin = clients["admin"]
        for path in ("/experiments/EX-00000000", "/api/v1/experiments/EX-00000000"):
            r = admin.get(path)
            assert r.status_code == 404 and "multithreading" not in r.text.lower(), path
        r = admin.post("/experiments/EX-00000000/stop", data={"csrf": csrf_of(admin)})
        assert r.status_code == 404 and "multithreading" not in r.text.lower()
        # the team page and the meter: "your team is trying ..."
        team = rep.get(f"/teams/{web_ws.team_id}").text
        assert "Your team is trying a practice" in team and f'href="{page}"' in team
        assert "Start an experiment" not in team
        assert 'href="/experiments/new"' in boss.get("/experiments").text
        assert 'href="/experiments/new"' not in rep.get("/experiments").text
        meter = rep.get(f"/reps/{web_ws.rep_id}").text
        assert "Your team is trying a practice" in meter and f'href="{page}"' in meter
        beside = clients["stranger"].get(f"/teams/{web_ws.other_team_id}").text
        assert "is trying a practice" not in beside

        # a wave: the region manager adds the team beside it (the manager may not: not theirs)
        region = clients["region_manager"]
        wave = {"teams": [web_ws.other_team_id], "start": "2026-04-06"}
        no = boss.post(f"{page}/extend", data={**wave, "csrf": csrf_of(boss)})
        assert no.status_code == 404
        twice = region.post(
            f"{page}/extend", data={"teams": [web_ws.team_id], "start": "2026-04-06",
                                    "csrf": csrf_of(region)}
        )  # fmt: skip
        assert twice.status_code == 400 and "one wave only" in twice.text
        ok = region.post(f"{page}/extend", data={**wave, "csrf": csrf_of(region)})
        assert ok.status_code == 303, ok.text
        waves = _rows(lab, "SELECT * FROM experiment_waves ORDER BY wave")
        assert [(w["wave"], w["team_id"]) for w in waves] == [
            (1, web_ws.team_id), (2, web_ws.other_team_id)
        ]  # fmt: skip
        assert waves[1]["added_by"] == f"web:{web_ws.region_manager}"
        assert len(_rows(lab, "SELECT * FROM experiment_plans")) == 2
        # now the team beside it follows it too; the manager of one team no longer changes it
        assert _seen(clients, page) == {**follow, "stranger": 200, "other_manager": 200}
        assert 'action="/experiments/' + eid + '/stop"' not in boss.get(page).text
        assert clients["other_manager"].get(api).json()["teams"][1]["wave"] == 2

        # stop: the admin
        admin = clients["admin"]
        done = admin.post(f"{page}/stop", data={"end": "2026-06-04", "csrf": csrf_of(admin)})
        assert done.status_code == 303
        # a Thursday: the week of Monday 1 June is the first left out, and it says so (L5)
        assert "weeks from 1 Jun 2026 on no longer count" in unquote(done.headers["location"])
        row = _rows(lab, "SELECT * FROM experiments")[0]
        assert (row["status"], row["end_date"]) == ("stopped", "2026-06-04")
        assert row["stopped_by"] == f"web:{web_ws.admin}"
        after = rep.get(api).json()
        assert after["status"] == "stopped" and after["stopped"].startswith("Stopped")
        assert "is trying a practice" not in rep.get(f"/teams/{web_ws.team_id}").text
        again = admin.post(f"{page}/stop", data={"csrf": csrf_of(admin)})
        assert again.status_code == 400 and "cannot be stopped again" in again.text
    finally:
        for c in clients.values():
            c.close()


# ----------------------------------------------------------------------------- personal


def test_a_rep_tries_a_practice_on_their_own_deals(web_ws: WebOrg, lab: Path) -> None:
    app = create_app(lab)
    clients = _clients(app, web_ws)
    rep, path = clients["rep"], f"/reps/{web_ws.rep_id}"
    try:
        meter = rep.get(path).text
        assert 'id="try-form"' in meter
        assert 'id="try-form"' not in clients["manager"].get(path).text  # the rep's own only
        data = {"name": "My multithreading", "practice": "multithreading", "start": START}
        for who in ("manager", "admin", "mate"):
            c = clients[who]
            assert (
                c.post(f"{path}/experiments", data={**data, "csrf": csrf_of(c)}).status_code == 404
            )
        assert rep.post(f"{path}/experiments", data=data).status_code == 403  # no CSRF token
        bad = rep.post(f"{path}/experiments", data={**data, "start": "soon", "csrf": csrf_of(rep)})
        assert bad.status_code == 400 and "use a date like" in bad.text
        assert 'value="My multithreading"' in bad.text
        ok = rep.post(f"{path}/experiments", data={**data, "csrf": csrf_of(rep)})
        row = _rows(lab, "SELECT * FROM experiments")[0]
        assert (row["kind"], row["rep_id"]) == ("personal", web_ws.rep_id)
        eid = row["experiment_id"]
        # to its own page, figures computed on the current data; the meter lists it
        assert ok.status_code == 303 and ok.headers["location"].startswith(f"/experiments/{eid}?")
        assert "You did it on" in rep.get(ok.headers["location"]).text
        meter = rep.get(path).text
        block = meter[meter.index('id="experiments"') :]
        assert "My multithreading" in block and "Figures at the next analysis run" in block
        assert "Your team is trying" not in meter  # a personal one is not the team's
        # the rep and their managers; not a teammate, not another team
        assert _seen(clients, f"/experiments/{eid}") == {
            "rep": 200, "mate": 404, "stranger": 404, "manager": 200, "other_manager": 404,
            "region_manager": 200, "admin": 200,
        }  # fmt: skip
        assert "My multithreading" in clients["manager"].get(path).text
        body = rep.get(f"/api/v1/experiments/{eid}").json()
        assert body["kind"] == "personal" and body["verdict"] == "personal"
        assert body["headline"].startswith("You did it on")
        assert [r["what"] for r in body["personal"]][:2] == [
            "You did the practice on", "Your win rate within 90 days"
        ]  # fmt: skip
        assert body["measures"] == [] and body["event"] == []
        assert "is trying" not in clients["mate"].get(f"/teams/{web_ws.team_id}").text
        # the rep may stop it
        assert rep.post(f"/experiments/{eid}/stop", data={"csrf": csrf_of(rep)}).status_code == 303
        assert _rows(lab, "SELECT status FROM experiments")[0]["status"] == "stopped"
    finally:
        for c in clients.values():
            c.close()


# ----------------------------------------------------------------------------- stored or live


def test_lists_show_the_runs_verdict_and_never_compute_one(
    web_ws: WebOrg, lab: Path, monkeypatch
) -> None:
    """The experiments page, a team page, a meter and the API's list read the latest run's
    stored verdict, or say the figures come with the next analysis run; only an experiment's
    own page computes it on the current data."""
    computed: list[str] = []

    def result(ws, experiment, *args, **kwargs):
        computed.append(experiment.experiment_id)
        raise AssertionError("SECRET ENGINE TEXT")

    monkeypatch.setattr(evaluate, "result", result)
    app = create_app(lab)
    with (
        TestClient(app, follow_redirects=False) as boss,
        TestClient(app, follow_redirects=False) as rep,
    ):
        assert sign_in(boss, web_ws.manager).status_code == 303
        assert sign_in(rep, web_ws.rep).status_code == 303
        assert _make(boss, teams=[web_ws.team_id], name="Listed").status_code == 303
        mine = {"name": "Mine", "practice": "cadence", "start": START, "csrf": csrf_of(rep)}
        assert rep.post(f"/reps/{web_ws.rep_id}/experiments", data=mine).status_code == 303
        pending = "Figures at the next analysis run"
        for c, path in (
            (boss, "/experiments"),
            (boss, f"/teams/{web_ws.team_id}"),
            (rep, f"/reps/{web_ws.rep_id}"),
            (rep, "/experiments"),
        ):
            page = c.get(path)
            assert page.status_code == 200 and pending in page.text, path
        listed = boss.get("/api/v1/experiments").json()  # the rep's own one too: their manager
        assert [x["headline"].startswith(pending) for x in listed] == [True, True]
        assert computed == []
        eid = next(x["experiment_id"] for x in listed if x["kind"] == "team")
        # its own page computes it; a failure says so without the engine's words (L2) ...
        failed = boss.get(f"/api/v1/experiments/{eid}").json()
        assert computed == [eid] and failed["verdict"] == "failed"
        assert "SECRET ENGINE TEXT" not in json.dumps(failed)
        assert "could not compute them now" in failed["warnings"][0]
        # ... and is not kept: the next request computes it again
        monkeypatch.undo()
        assert boss.get(f"/api/v1/experiments/{eid}").json()["verdict"] != "failed"


def test_results_come_from_the_run_when_it_stored_this_definition(
    web_ws: WebOrg, lab: Path
) -> None:
    app = create_app(lab)
    with TestClient(app, follow_redirects=False) as boss:
        assert sign_in(boss, web_ws.manager).status_code == 303
        made = _make(boss, teams=[web_ws.team_id], name="Stored")
        eid = re.match(r"/experiments/(EX-[0-9a-f]{8})", made.headers["location"])[1]
        live = boss.get(f"/api/v1/experiments/{eid}").json()
        assert live["source"].startswith("Figures computed on the current data")
        # the run stores it (as analyze does): the page now reads the stored row
        with Workspace.open(lab) as ws, ws.writing():
            run = ws.latest_run()
            tables = evaluate.run_tables(ws, run)
            tables["experiment_status"].loc[:, "headline"] = "Stored headline."
            ws.add_run_tables(run, tables)
        stored = boss.get(f"/api/v1/experiments/{eid}").json()
        assert stored["source"] == f"Figures stored by analysis run {run.run_id}."
        assert stored["run_id"] == run.run_id and live["run_id"] is None
        assert stored["headline"] == "Stored headline."
        assert stored["measures"] == live["measures"] and stored["event"] == live["event"]
        assert "Stored headline." in boss.get("/experiments").text
        # a changed definition (stopped: its end) is computed live again
        csrf = re.search(r'name="csrf" value="([^"]+)"', boss.get("/").text)[1]
        stop = boss.post(f"/experiments/{eid}/stop", data={"end": "2026-06-01", "csrf": csrf})
        assert stop.status_code == 303
        again = boss.get(f"/api/v1/experiments/{eid}").json()
        assert again["source"].startswith("Figures computed") and again["headline"] != (
            "Stored headline."
        )
