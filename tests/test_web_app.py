"""The web app over HTTP (no browser): who may see what route by route, sign-in, CSRF, headers,
stories, admin, and pages that follow the workspace's committed generation."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from fastapi.testclient import TestClient

from brightspots.web import sessions
from brightspots.web.app import create_app
from brightspots.workspace import Workspace
from conftest import WEB_PASSWORD, WebOrg, sign_in


def _client(root: Path) -> TestClient:
    return TestClient(create_app(root), follow_redirects=False)


def csrf_of(c: TestClient) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', c.get("/").text).group(1)


# ----------------------------------------------------------------------------- who sees what


def _routes(o: WebOrg) -> dict[str, str]:
    return {
        "home": "/",
        "own meter": f"/reps/{o.rep_id}",
        "other rep's meter": f"/reps/{o.other_rep_id}",
        "own team": f"/teams/{o.team_id}",
        "parent team": f"/teams/{o.parent_id}",
        "other team": f"/teams/{o.other_team_id}",
        "coach own team": f"/teams/{o.team_id}/coach",
        "coach other team": f"/teams/{o.other_team_id}/coach",
        "brief own team": f"/teams/{o.team_id}/brief",
        "brief other team": f"/teams/{o.other_team_id}/brief",
        "stories": "/stories",
        "story library": "/stories/library?practice=multithreading&care=1",
        "admin": "/admin",
        "settings": "/admin/settings",
        "api me": "/api/v1/me",
        "api own meter": f"/api/v1/reps/{o.rep_id}",
        "api other meter": f"/api/v1/reps/{o.other_rep_id}",
        "api own team": f"/api/v1/teams/{o.team_id}",
        "api other team": f"/api/v1/teams/{o.other_team_id}",
        "api runs": "/api/v1/runs",
        "api story library": "/api/v1/stories/library?practice=multithreading",
        "api story library, unknown practice": "/api/v1/stories/library?practice=NOPE",
        "unknown rep": "/reps/NOBODY",
        "unknown team": "/teams/NOTEAM",
    }


#: (route, rep, manager of the rep's team, manager of the team beside it, manager of the team
#: above both, admin)
MATRIX = [
    ("home", 200, 200, 200, 200, 200),
    ("own meter", 200, 200, 404, 200, 200),
    ("other rep's meter", 404, 404, 200, 200, 200),
    ("own team", 200, 200, 404, 200, 200),
    ("parent team", 404, 404, 404, 200, 200),
    ("other team", 404, 404, 200, 200, 200),
    ("coach own team", 404, 200, 404, 200, 200),
    ("coach other team", 404, 404, 200, 200, 200),
    ("brief own team", 404, 200, 404, 200, 200),
    ("brief other team", 404, 404, 200, 200, 200),
    ("stories", 200, 200, 200, 200, 200),
    ("story library", 200, 200, 200, 200, 200),
    ("admin", 404, 404, 404, 404, 200),
    ("settings", 404, 404, 404, 404, 200),
    ("api me", 200, 200, 200, 200, 200),
    ("api own meter", 200, 200, 404, 200, 200),
    ("api other meter", 404, 404, 200, 200, 200),
    ("api own team", 200, 200, 404, 200, 200),
    ("api other team", 404, 404, 200, 200, 200),
    ("api runs", 404, 404, 404, 404, 200),
    ("api story library", 200, 200, 200, 200, 200),
    ("api story library, unknown practice", 404, 404, 404, 404, 404),
    ("unknown rep", 404, 404, 404, 404, 404),
    ("unknown team", 404, 404, 404, 404, 404),
]


def test_every_route_is_authorised_by_role_and_team(web_ws, as_):
    routes = _routes(web_ws)
    people = [web_ws.rep, web_ws.manager, web_ws.other_manager, web_ws.region_manager, web_ws.admin]
    wrong = []
    for who, column in zip(people, range(1, 6), strict=True):
        c = as_(who)
        for row in MATRIX:
            got = c.get(routes[row[0]]).status_code
            if got != row[column]:
                wrong.append(f"{who} {row[0]} ({routes[row[0]]}): {got}, expected {row[column]}")
    assert not wrong, "\n".join(wrong)


def test_not_found_never_says_whether_the_page_exists(web_ws, as_):
    c = as_(web_ws.rep)
    hidden = c.get(f"/reps/{web_ws.other_rep_id}")
    missing = c.get("/reps/NOBODY")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.text == missing.text.replace("/reps/NOBODY", f"/reps/{web_ws.other_rep_id}")


def test_signed_out_pages_go_to_the_login_and_the_api_says_401(web_ws, app):
    with TestClient(app, follow_redirects=False) as c:
        r = c.get(f"/reps/{web_ws.rep_id}?x=1")
        assert r.status_code == 303
        assert r.headers["location"] == f"/login?next=/reps/{web_ws.rep_id}%3Fx%3D1"
        assert c.get("/api/v1/me").status_code == 401
        assert c.get("/static/app.css").status_code == 200  # no login for static files


def test_team_pages_name_only_bright_spots_and_candidates(web_ws, as_):
    with Workspace.open(web_ws.root) as ws:
        units = ws.run_results("bright_spots")
        care = ws.run_results("care_index")
        reps = ws.read("reps")
    rows = units[units["level"] == "rep"].drop_duplicates("unit_id")
    named = set(rows.loc[rows["label"].isin(["bright_spot", "candidate"]), "name"])
    # and the care bright spots and candidates (rep or leader: the same person's name)
    people = care[care["level"].isin(["rep", "leader"])]
    labelled = people.loc[people["label"].isin(["bright_spot", "candidate"]), "unit_id"]
    named |= set(reps.loc[reps["rep_id"].isin(labelled), "name"])
    c = as_(web_ws.admin)
    for team in sorted(set(reps["team_id"].dropna())):
        page = c.get(f"/teams/{team}").text
        members = reps.loc[reps["team_id"] == team, "name"]
        shown = {n for n in members if n in page}
        assert shown <= named, f"{team} names {sorted(shown - named)}"
        api = c.get(f"/api/v1/teams/{team}").json()
        assert {b["name"] for b in api["bright_spots"]} <= named


# ----------------------------------------------------------------------------- sign-in


def test_sign_in_sets_a_hardened_cookie_and_sign_out_ends_the_session(web_ws, app):
    with TestClient(app, follow_redirects=False) as c:
        r = sign_in(c, web_ws.rep)
        assert r.status_code == 303 and r.headers["location"] == "/"
        cookie = r.headers["set-cookie"]
        assert "bs_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert "Secure" not in cookie  # plain http locally; --https marks it Secure
        assert c.get("/api/v1/me").json()["rep_id"] == web_ws.rep_id
        out = c.post("/logout", data={"csrf": csrf_of(c)})
        assert out.status_code == 303
        assert c.get("/api/v1/me").status_code == 401


def test_https_marks_the_cookie_secure(web_ws):
    with TestClient(create_app(web_ws.root, https=True), follow_redirects=False) as c:
        assert "Secure" in sign_in(c, web_ws.rep).headers["set-cookie"]


def test_wrong_password_expired_form_and_throttling(web_ws, tmp_path):
    root = tmp_path / "ws"
    shutil.copytree(web_ws.root, root)
    with _client(root) as c:
        r = sign_in(c, web_ws.rep, "wrong password!")
        assert r.status_code == 401 and "Wrong e-mail or password" in r.text
        # a login form without its double-submit cookie (a cross-site post) is refused
        c.cookies.delete("bs_login")
        r = c.post(
            "/login",
            data={"email": web_ws.rep, "password": WEB_PASSWORD, "token": "forged", "next": "/"},
        )
        assert r.status_code == 400 and "bs_session" not in r.headers.get("set-cookie", "")
        for _ in range(sessions.MAX_FAILS_PER_ACCOUNT - 1):
            sign_in(c, web_ws.rep, "wrong password!")
        r = sign_in(c, web_ws.rep)  # even the right password waits now
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
        assert "Too many failed sign-ins" in r.text


def test_next_only_goes_to_this_site(web_ws, app):
    with TestClient(app, follow_redirects=False) as c:
        form = c.get("/login?next=//evil.example/x")
        assert 'value="/"' in form.text
        token = re.search(r'name="token" value="([^"]+)"', form.text).group(1)
        data = {"email": web_ws.rep, "password": WEB_PASSWORD, "token": token}
        r = c.post("/login", data={**data, "next": "https://evil.example/"})
        assert r.headers["location"] == "/"


def test_forms_without_the_csrf_token_are_refused(web_ws, as_):
    c = as_(web_ws.rep)
    assert c.post("/stories", data={"title": "t", "body": "b"}).status_code == 403
    assert c.post("/stories", data={"title": "t", "body": "b", "csrf": "x"}).status_code == 403
    assert c.post("/logout", data={"csrf": "nope"}).status_code == 403
    assert c.get("/api/v1/me").status_code == 200  # still signed in


def test_security_headers_on_every_response(web_ws, as_):
    c = as_(web_ws.rep)
    for url in ("/", "/login", f"/reps/{web_ws.rep_id}", "/api/v1/me", "/static/app.css", "/x"):
        h = c.get(url).headers
        csp = h["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, url
        assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert h["referrer-policy"] == "no-referrer" and h["x-frame-options"] == "DENY"
        assert h["x-content-type-options"] == "nosniff"
    page = c.get(f"/reps/{web_ws.rep_id}")
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text and " on" + "click=" not in page.text
    assert re.findall(r"<script[^>]*>", page.text) == ['<script src="/static/htmx.min.js" defer>']


# ----------------------------------------------------------------------------- pages


def test_the_meter_has_results_effort_charts_and_practices(web_ws, as_):
    c = as_(web_ws.rep)
    page = c.get(f"/reps/{web_ws.rep_id}").text
    assert "My meter" in page and "What you achieve" in page
    assert page.count('<svg role="img"') >= 1 or page.count('role="img"') >= 1  # day by day
    assert "Your practices against peers like you" in page
    api = c.get(f"/api/v1/reps/{web_ws.rep_id}").json()
    assert api["results"] and api["practices"] and api["rep_id"] == web_ws.rep_id


def test_coach_page_has_the_funnel_and_links_every_rep(web_ws, as_):
    c = as_(web_ws.manager)
    page = c.get(f"/teams/{web_ws.team_id}/coach").text
    assert "<svg" in page and "Funnel plot" in page
    with Workspace.open(web_ws.root) as ws:
        reps = ws.read("reps")
    for rep_id in reps.loc[reps["team_id"] == web_ws.team_id, "rep_id"]:
        assert f'href="/reps/{rep_id}"' in page


def test_the_brief_is_viewed_and_downloaded_in_three_formats(web_ws, as_):
    c = as_(web_ws.manager)
    page = c.get(f"/teams/{web_ws.team_id}/brief")
    assert page.status_code == 200 and "Questions for the meeting" in page.text
    period = re.search(r"period=([0-9QW-]+)&amp;format=md", page.text).group(1)
    base = f"/teams/{web_ws.team_id}/brief/file?period={period}"
    md = c.get(base + "&format=md")
    assert md.headers["content-type"].startswith("text/markdown") and md.text.startswith("#")
    assert "attachment" in md.headers["content-disposition"]
    html = c.get(base + "&format=html&download=false")
    assert "inline" in html.headers["content-disposition"] and "<!DOCTYPE html>" in html.text
    pdf = c.get(base + "&format=pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert c.get(base + "&format=docx").status_code == 404
    bad = c.get(f"/teams/{web_ws.team_id}/brief?period=2026-13")
    assert bad.status_code == 200 and 'role="alert"' in bad.text


def test_a_story_is_shared_only_once_a_manager_of_its_author_approves_it(web_ws, tmp_path):
    root = tmp_path / "ws"
    shutil.copytree(web_ws.root, root)
    app = create_app(root)
    with (
        TestClient(app, follow_redirects=False) as rep,
        TestClient(app, follow_redirects=False) as boss,
        TestClient(app, follow_redirects=False) as other,
    ):
        for c, who in ((rep, web_ws.rep), (boss, web_ws.manager), (other, web_ws.other_manager)):
            assert sign_in(c, who).status_code == 303
        r = rep.post(
            "/stories",
            data={
                "title": "The quick reply",
                "body": "We answered in ten minutes.",
                "csrf": csrf_of(rep),
            },
        )
        assert r.status_code == 303
        assert "waiting" in rep.get("/stories").text
        team = f"/teams/{web_ws.team_id}"
        assert "The quick reply" not in rep.get(team).text
        assert "The quick reply" not in other.get("/stories").text
        story_id = re.search(r"/stories/(web-[0-9a-f]+)/review", boss.get("/stories").text).group(1)
        # a manager outside the author's teams, or a forged token, cannot approve it
        no = other.post(
            f"/stories/{story_id}/review", data={"status": "approved", "csrf": csrf_of(other)}
        )
        assert no.status_code == 404
        ok = boss.post(
            f"/stories/{story_id}/review", data={"status": "approved", "csrf": csrf_of(boss)}
        )
        assert ok.status_code == 303
        assert "The quick reply" in rep.get(team).text
        shared = rep.get(f"/api/v1/teams/{web_ws.team_id}").json()["stories"]
        assert any(s["title"] == "The quick reply" and s["status"] == "approved" for s in shared)
        # an approval holds for the text approved: changed text waits for a new review
        import sqlite3

        with sqlite3.connect(root / "app.sqlite3") as db:
            db.execute("UPDATE stories SET body = 'Rewritten.' WHERE story_id = ?", [story_id])
        assert "The quick reply" not in rep.get(team).text
        assert story_id in boss.get("/stories").text  # back in the manager's queue
        # a rep cannot write for someone else and cannot review
        assert (
            rep.post(
                f"/stories/{story_id}/review", data={"status": "declined", "csrf": csrf_of(rep)}
            ).status_code
            == 404
        )


# ----------------------------------------------------------------------------- admin


def test_admin_adds_and_disables_accounts_and_saves_settings(web_ws, tmp_path):
    root = tmp_path / "ws"
    shutil.copytree(web_ws.root, root)
    with _client(root) as c:
        sign_in(c, web_ws.admin)
        token = csrf_of(c)
        r = c.post(
            "/admin/users",
            data={
                "email": "new@test.example",
                "role": "manager",
                "password": "long enough pw",
                "teams": web_ws.team_id,
                "csrf": token,
            },
        )
        assert "added" in c.get(r.headers["location"]).text
        bad = c.post(
            "/admin/users",
            data={
                "email": "x@test.example",
                "role": "rep",
                "password": "long enough pw",
                "rep_id": "NOBODY",
                "csrf": token,
            },
        )
        assert "is not in the workspace" in c.get(bad.headers["location"]).text
        with TestClient(create_app(root), follow_redirects=False) as new:
            assert sign_in(new, "new@test.example", "long enough pw").status_code == 303
            c.post("/admin/users/new@test.example/disabled", data={"disabled": "1", "csrf": token})
            assert new.get("/api/v1/me").status_code == 401  # disabling ends the session
        own = c.post(f"/admin/users/{web_ws.admin}/disabled", data={"disabled": "1", "csrf": token})
        assert "cannot disable your own" in c.get(own.headers["location"]).text
        r = c.post("/admin/settings", data={"workspace.timezone": "Mars/Base", "csrf": token})
        assert "unknown time zone" in c.get(r.headers["location"]).text
        r = c.post(
            "/admin/settings",
            data={
                "workspace.timezone": "Europe/Berlin",
                "workspace.currency": "eur",
                "analysis.window": "90d",
                "analysis.min_volume": "15",
                "csrf": token,
            },
        )
        assert "Settings saved" in c.get(r.headers["location"]).text
    cfg = Workspace.open(root).config
    assert cfg["workspace"]["timezone"] == "Europe/Berlin" and cfg["workspace"]["currency"] == "EUR"
    assert cfg["analysis"]["min_volume"] == 15


def test_an_upload_is_imported_atomically_and_pages_follow_the_new_generation(
    web_ws, small_org, tmp_path
):
    root = tmp_path / "ws"
    shutil.copytree(web_ws.root, root)
    before = Workspace.open(root).generation
    with _client(root) as c:
        sign_in(c, web_ws.admin)
        token = csrf_of(c)
        assert c.get("/").text.count(f"generation {before}") == 1
        # a file that is not a table of the contract: nothing imported, nothing changed
        r = c.post(
            "/admin/data",
            data={"csrf": token},
            files=[("files", ("notes.txt", b"hello", "text/plain"))],
        )
        assert r.status_code == 200 and "Nothing was imported" in r.text
        assert Workspace.open(root).generation == before
        twice = [("files", ("reps.csv", b"rep_id,name\n", "text/csv"))] * 2
        r = c.post("/admin/data", data={"csrf": token}, files=twice)
        assert "two files are named reps.csv" in r.text and "Nothing was imported" in r.text
        # new reps (two rows, one bad) are imported as one commit; the next page shows it
        reps = (small_org / "reps.csv").read_text().splitlines()
        extra = (
            reps[0]
            + "\n"
            + "\n".join([reps[1].replace(reps[1].split(",")[0], "R-NEW", 1), ",no id,,,,,,"])
        )
        r = c.post(
            "/admin/data",
            data={"csrf": token},
            files=[("files", ("reps.csv", extra.encode(), "text/csv"))],
        )
        assert r.status_code == 200 and "is committed" in r.text, r.text
        assert "Quarantined rows by reason" in r.text
        after = Workspace.open(root).generation
        assert after != before
        assert f"generation {after}" in c.get("/").text


def test_the_admin_starts_an_analysis_in_the_background(web_ws, tmp_path):
    root = tmp_path / "ws"
    shutil.copytree(web_ws.root, root)
    app = create_app(root)
    runs_before = len(Workspace.open(root).runs())
    with TestClient(app, follow_redirects=False) as c:
        sign_in(c, web_ws.admin)
        r = c.post("/admin/runs", data={"csrf": csrf_of(c)})
        assert "Analysis started" in c.get(r.headers["location"]).text
        job = app.state.jobs["analysis"]
        job["thread"].join(timeout=300)
        assert job["status"] == "done", job
        page = c.get("/admin").text
        assert job["run_id"] in page
        assert len(c.get("/api/v1/runs").json()) == runs_before + 1


def test_the_openapi_schema_lists_the_api_only(app):
    with TestClient(app) as c:
        schema = c.get("/api/v1/openapi.json").json()
    paths = set(schema["paths"])
    assert {"/api/v1/me", "/api/v1/reps/{rep_id}", "/api/v1/teams", "/api/v1/runs"} <= paths
    assert all(p.startswith("/api/v1/") for p in paths)


# ----------------------------------------------------------------------------- serving


def test_demo_accounts_cover_every_role_and_sign_in(small_ws, tmp_path):
    from brightspots.web.users import DEMO_PASSWORD, demo_accounts

    root = tmp_path / "ws"
    shutil.copytree(small_ws, root)
    with Workspace.open(root) as ws:
        accounts = demo_accounts(ws)
        again = demo_accounts(ws)  # idempotent: a second demo run keeps the accounts
        spots = ws.run_results("bright_spots")
    assert [e for e, _ in accounts] == [e for e, _ in again]
    app = create_app(root)
    roles = []
    for email, _ in accounts:
        with TestClient(app, follow_redirects=False) as c:
            assert sign_in(c, email, DEMO_PASSWORD).status_code == 303
            me = c.get("/api/v1/me").json()
            roles.append(me["role"])
            if me["role"] == "rep":
                reps = spots[spots["level"] == "rep"]
                bright = sorted(reps.loc[reps["label"] == "bright_spot", "unit_id"])
                # the demo rep is the first bright spot, else the first rep
                assert me["rep_id"] == (bright[0] if bright else sorted(reps["unit_id"])[0])
            if me["role"] == "manager":
                assert len(me["reps"]) > 1 and len(me["teams"]) >= 1
    assert roles == ["rep", "manager", "admin"]


def test_brightspots_serve_answers_on_its_port(web_ws):
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "brightspots.cli",
            "serve",
            "-w",
            str(web_ws.root),
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
    )
    try:
        deadline, body = time.monotonic() + 60, ""
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as r:
                    body = r.read().decode()
                    break
            except OSError:
                time.sleep(0.2)
        assert "Sign in" in body, proc.stderr.read() if proc.poll() is not None else "no answer"
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert f"on http://127.0.0.1:{port}/" in out and "5 accounts" in out
    assert "Traceback" not in err


def test_serve_on_a_folder_that_is_not_a_workspace_is_one_line(tmp_path):
    import subprocess
    import sys

    r = subprocess.run(
        [sys.executable, "-m", "brightspots.cli", "serve", "-w", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 1 and "is not a workspace" in r.stderr and "Traceback" not in r.stderr


def test_sessions_and_stories_survive_a_restart(web_ws, tmp_path):
    root = tmp_path / "ws"
    shutil.copytree(web_ws.root, root)
    with _client(root) as first:
        sign_in(first, web_ws.rep)
        cookie = first.cookies["bs_session"]
        first.post(
            "/stories", data={"title": "Kept", "body": "Across restarts.", "csrf": csrf_of(first)}
        )
    with _client(root) as again:  # a new process would build a new app over the same folder
        again.cookies.set("bs_session", cookie)
        assert again.get("/api/v1/me").json()["email"] == web_ws.rep
        assert "Kept" in again.get("/stories").text


# ----------------------------------------------------------------------------- hardening


def test_bodies_are_capped_and_uploads_need_an_admin_before_a_byte_is_read(web_ws, app):
    big = b"x" * (100 * 1024)
    with TestClient(app, follow_redirects=False) as c:
        r = c.post("/admin/data", files=[("files", ("reps.csv", big, "text/csv"))])
        assert r.status_code == 404  # signed out: not even the login redirect
        r = c.post(
            "/login",
            content=b"email=" + big,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert r.status_code == 413
    with TestClient(app, follow_redirects=False) as c:
        sign_in(c, web_ws.rep)
        r = c.post("/admin/data", files=[("files", ("reps.csv", big, "text/csv"))])
        assert r.status_code == 404  # a rep is no admin
        r = c.post("/stories", data={"title": "t", "body": "y" * 70_000, "csrf": csrf_of(c)})
        assert r.status_code == 413


def test_odd_cookies_and_tokens_are_refused_not_errors(web_ws, as_):
    c = as_(web_ws.rep)
    assert c.post("/stories", data={"title": "t", "body": "b", "csrf": "é"}).status_code == 403
    with TestClient(create_app(web_ws.root), follow_redirects=False) as anon:
        odd = {"cookie": "bs_session=t\xf6k.\xe9n; bs_login=\xe9".encode("latin-1")}
        assert anon.get("/api/v1/me", headers=odd).status_code == 401
        r = anon.post(
            "/login",
            data={"email": "a@b.c", "password": "x", "token": "é", "next": "/"},
            headers=odd,
        )
        assert r.status_code == 400


def test_the_brief_takes_exact_team_ids_only(web_ws, as_):
    c = as_(web_ws.admin)
    assert c.get("/teams/all/brief").status_code == 404  # not a team, though the CLI knows it
    assert c.get(f"/teams/{web_ws.team_id.lower()}/brief").status_code == 404
    assert c.get(f"/teams/{web_ws.team_id}/brief/file?period=2026-10&format=md").status_code == 200
