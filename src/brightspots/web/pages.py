"""The HTML pages. Every route asks ``access`` before it reads: what a user may not see is 404.

Routes (role in brackets when not everyone's):
  GET  /login, POST /login, POST /logout
  GET  /                                  home: links to what the user may see
  GET  /reps/{rep_id}                     a rep's meter, their own care included (the rep,
                                          their managers, admins)
  GET  /teams/{team_id}                   a team's page, naming its (care) bright spots only
                                          (members, managers, admins)
  GET  /teams/{team_id}/coach             [manager, admin] funnel plot, bright spots, reps
  GET  /teams/{team_id}/brief             [manager, admin] the meeting brief of a period
  GET  /teams/{team_id}/brief/file        [manager, admin] the brief as html, md or pdf
  GET  /stories, POST /stories            a rep's own stories; writing one (account, deal, tags)
  GET  /stories/library                   shared stories by practice and care (``library``)
  POST /stories/{story_id}/review         [manager, admin] approve or decline
  GET  /experiments                      practice experiments the user may see (``experiments``)
  GET  /experiments/new?team=, POST /experiments   [manager of every team in it, admin] make one
  GET  /experiments/{id}                  [admin, manager or rep of a team in it; a personal one:
                                          the rep and their managers]
  POST /experiments/{id}/extend, /stop    [admin, manager of every team in it; a personal one's
                                          stop: the rep and their managers]
  POST /reps/{rep_id}/experiments         [that rep] a personal experiment, shown on the meter
  GET  /admin, /admin/users, /admin/data, /admin/runs, /admin/settings   [admin]
  POST /admin/users, /admin/users/{id}/disabled, /admin/data, /admin/runs, /admin/settings
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
import zoneinfo
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import pandas as pd
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from brightspots import generations
from brightspots.errors import BrightspotsError
from brightspots.teams import below
from brightspots.web import access, accounts, auth, sessions, stories, users, views
from brightspots.web import experiments as web_experiments
from brightspots.web.data import Snapshot, experiment_figures, stored_figures
from brightspots.web.sessions import Session
from brightspots.workspace import Workspace

router = APIRouter()


class NotFound(Exception):
    """404: the page does not exist, or the user may not see it (never said which)."""


# ----------------------------------------------------------------------------- plumbing


def workspace(request: Request):
    with request.app.state.snapshots.open() as ws:
        yield ws


WS = Annotated[Workspace, Depends(workspace)]
Login = Annotated[Session, Depends(auth.require)]


def snap_of(request: Request, ws: Workspace) -> Snapshot:
    return request.app.state.snapshots.snapshot(ws)


def render(request: Request, name: str, session: Session | None, **ctx: Any) -> HTMLResponse:
    templates = request.app.state.templates
    page = templates.get_template(name).render(
        session=session,
        user=session.user if session else None,
        csrf=session.csrf if session else "",
        path=request.url.path,
        **ctx,
    )
    return HTMLResponse(page)


def _nav(session: Session, snap: Snapshot) -> list[tuple[str, str]]:
    """The links of the top bar: what this user may see."""
    user = session.user
    links: list[tuple[str, str]] = [("/", "Home")]
    if user.role == "rep" and user.rep_id:
        links.append((f"/reps/{quote(user.rep_id)}", "My meter"))
        team = snap.org.rep_team.get(user.rep_id, "")
        if team:
            links.append((f"/teams/{quote(team)}", "My team"))
        links.append(("/stories", "My stories"))
    if user.role in ("manager", "admin"):
        links.append(("/stories", "Stories"))
    links.append(("/stories/library", "Story library"))
    links.append(("/experiments", "Experiments"))
    if user.role == "admin":
        links.append(("/admin", "Admin"))
    return links


def page(request: Request, name: str, session: Session, snap: Snapshot, **ctx: Any):
    """A page with the top bar; one made with ``failed=True`` (a form sent back with why it
    was refused) answers 400."""
    response = render(request, name, session, nav=_nav(session, snap), snap=snap, **ctx)
    if ctx.get("failed"):
        response.status_code = 400
    return response


def _manageable_teams(user: users.User, snap: Snapshot) -> list[tuple[str, str]]:
    teams = access.teams_of(user, snap.org)
    return sorted(((t, snap.team_name(t)) for t in teams), key=lambda x: x[1].casefold())


# ----------------------------------------------------------------------------- login


def _login_page(request: Request, next: str, error: str = "", status: int = 200) -> HTMLResponse:
    """The sign-in form with a fresh double-submit token (a field and a cookie that match)."""
    token = auth.new_login_token()
    response = render(
        request, "login.html.j2", None, next=_safe_next(next), error=error, token=token
    )
    response.status_code = status
    response.set_cookie(
        auth.LOGIN_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.app.state.https,
        max_age=3600,
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return _login_page(request, next)


def _safe_next(target: str) -> str:
    """Only a path of this site (never //host, a scheme, a backslash or a control character)."""
    bad = target.startswith("//") or "\\" in target or any(ord(c) < 32 for c in target)
    return target if target.startswith("/") and not bad else "/"


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    def again(error: str, status: int) -> HTMLResponse:
        return _login_page(request, next, error, status)

    if not auth.login_token_ok(request, token):
        return again("The form expired; please sign in again.", 400)
    state = auth.state_of(request)
    try:
        found = sessions.login(state, email, password, client=auth.client_of(request))
    except sessions.LoginThrottled as e:
        r = again(f"Too many failed sign-ins. Try again in {e.retry_after} seconds.", 429)
        r.headers["Retry-After"] = str(e.retry_after)
        return r
    if found is None:
        return again("Wrong e-mail or password.", 401)
    token_value, _ = found
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        auth.COOKIE,
        sessions.cookie_value(state, token_value),
        httponly=True,
        samesite="lax",
        secure=request.app.state.https,
        max_age=sessions.SESSION_HOURS * 3600,
    )
    response.delete_cookie(auth.LOGIN_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, session: Login, csrf: Annotated[str, Form()] = "") -> Response:
    auth.check_csrf(request, session, csrf)
    state = auth.state_of(request)
    sessions.logout(state, sessions.token_of(state, request.cookies.get(auth.COOKIE)))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.COOKIE)
    return response


# ----------------------------------------------------------------------------- home, reps, teams


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: Login, ws: WS) -> HTMLResponse:
    snap = snap_of(request, ws)
    user = session.user
    reps = sorted(access.reps_of(user, snap.org), key=lambda r: snap.rep_name(r).casefold())
    if user.role == "admin":
        reps = []  # admins reach reps through teams: a list of every rep is no home page
    return page(
        request,
        "home.html.j2",
        session,
        snap,
        teams=_manageable_teams(user, snap),
        reps=[(r, snap.rep_name(r)) for r in reps],
        coach=user.role in ("manager", "admin"),
    )


@router.get("/reps/{rep_id}", response_class=HTMLResponse)
def rep_page(
    request: Request, rep_id: str, session: Login, ws: WS, message: str = ""
) -> HTMLResponse:
    return _rep_page(request, rep_id, session, ws, message=message)


def _rep_page(
    request: Request,
    rep_id: str,
    session: Session,
    ws: Workspace,
    *,
    message: str = "",
    form: dict[str, str] | None = None,
    failed: bool = False,
) -> HTMLResponse:
    snap = snap_of(request, ws)
    if not access.may_see_rep(session.user, rep_id, snap.org):
        raise NotFound()
    m = meter_of(request, ws, snap, rep_id)
    mine = stories_of(request, ws, snap, lambda f: f["rep_id"] == rep_id)
    own = session.user.rep_id == rep_id
    team = snap.org.rep_team.get(rep_id, "")
    trying = experiment_lines(
        request,
        ws,
        session,
        lambda e: e.kind == "team" and e.status == "active" and team in e.teams(),
    )
    personal = experiment_pages(
        request, ws, session, lambda e: e.kind == "personal" and e.rep_id == rep_id
    )
    can_try = own and session.user.role == "rep"
    return page(
        request,
        "meter.html.j2",
        session,
        snap,
        m=m,
        stories=mine,
        own=own,
        trying=trying,
        personal=personal,
        can_try=can_try,
        choices=practice_choices(request, ws, snap) if can_try else [],
        outcomes=OUTCOME_CHOICES,
        form={**_personal_form(ws), **(form or {})},
        message=message[:300],
        failed=failed,
    )


@router.get("/reps/{rep_id}/accounts", response_class=HTMLResponse)
def book_page(request: Request, rep_id: str, session: Login, ws: WS) -> HTMLResponse:
    snap = snap_of(request, ws)
    if not access.may_see_rep(session.user, rep_id, snap.org):
        raise NotFound()
    b = request.app.state.snapshots.cached(
        ws, ("book", rep_id), lambda: accounts.book(ws, snap, rep_id)
    )
    return page(request, "book.html.j2", session, snap, b=b)


@router.get("/accounts/{account_id}", response_class=HTMLResponse)
def account(request: Request, account_id: str, session: Login, ws: WS) -> HTMLResponse:
    """An account's page: for whoever may see its owner's pages (admins for an account with no
    owner); anyone else gets not found."""
    snap = snap_of(request, ws)
    found, owner = accounts.owner_of(ws, snap, account_id)
    allowed = session.user.role == "admin" and not session.user.disabled
    if found and owner is not None:
        allowed = access.may_see_rep(session.user, owner, snap.org)
    if not found or not allowed:
        raise NotFound()
    a = request.app.state.snapshots.cached(
        ws, ("account", account_id), lambda: accounts.account_page(ws, snap, account_id)
    )
    if a is None:
        raise NotFound()
    return page(request, "account.html.j2", session, snap, a=a)


def meter_of(request: Request, ws: Workspace, snap: Snapshot, rep_id: str) -> views.Meter:
    """A rep's meter, computed once per generation (from run tables read once for all reps)."""
    from brightspots import personal

    snaps = request.app.state.snapshots

    def tables():
        return snaps.cached(ws, ("personal_tables",), lambda: personal.run_tables(ws, snap.run))

    return snaps.cached(ws, ("meter", rep_id), lambda: views.meter(ws, snap, rep_id, tables))


def story_rows(request: Request, ws: Workspace) -> tuple[pd.DataFrame, str]:
    """Every story (``stories.library.COLUMNS``) with ``shared``, whether it passes
    ``stories.sharing.shared`` (the one gate), and a note when ``[stories]`` is unusable."""
    imported = request.app.state.snapshots.cached(
        ws, ("imported_stories",), lambda: stories.imported(ws)
    )
    frame = stories.story_frame(imported, auth.state_of(request))
    shared, note = stories.gate(ws, frame)
    return frame.assign(shared=shared.to_numpy(bool)), note


def story_views(ws: Workspace, snap: Snapshot, frame: pd.DataFrame) -> list[stories.StoryView]:
    """The stories of ``frame`` (``story_rows``) as the pages show them: with their account's
    and deal's names, the practices they illustrate and whether they are caregiver stories."""
    accounts, deals = stories.names_of(ws, frame)
    return stories.views(
        frame,
        snap.rep_names,
        shared=frame["shared"],
        reading=stories.Reading.of(ws.config),
        accounts=accounts,
        deals=deals,
    )


def stories_of(
    request: Request,
    ws: Workspace,
    snap: Snapshot,
    keep: Callable[[pd.DataFrame], Any] | None = None,
) -> list[stories.StoryView]:
    """The stories ``keep`` (a mask over ``story_rows``) keeps, newest first (default: all)."""
    frame, _ = story_rows(request, ws)
    if keep is not None:
        frame = frame[keep(frame)]
    return story_views(ws, snap, frame)


def team_of(request: Request, ws: Workspace, session: Session, team_id: str, *, coach: bool):
    """(snapshot, team page, its shared stories) once ``session`` may see the team (and, for
    ``coach``, manages it); else NotFound."""
    snap = snap_of(request, ws)
    if not access.may_see_team(session.user, team_id, snap.org):
        raise NotFound()
    if coach and not access.manages(session.user, team_id, snap.org):
        raise NotFound()
    t = request.app.state.snapshots.cached(
        ws, ("team", team_id, coach), lambda: views.team_page(ws, snap, team_id, coach=coach)
    )
    team_reps = sorted(snap.reps_in(below(team_id, snap.org.parents)))
    shared = stories_of(request, ws, snap, lambda f: f["shared"] & f["rep_id"].isin(team_reps))
    return snap, t, shared


@router.get("/teams/{team_id}", response_class=HTMLResponse)
def team(request: Request, team_id: str, session: Login, ws: WS) -> HTMLResponse:
    snap, t, shared = team_of(request, ws, session, team_id, coach=False)
    manages = access.manages(session.user, team_id, snap.org)
    # a manager reads how the team's effort follows value (the accounts: on their own page)
    books = ""
    if manages:
        reps = snap.reps_in(below(team_id, snap.org.parents))
        books = request.app.state.snapshots.cached(
            ws, ("team-summary", team_id), lambda: accounts.team_summary(ws, snap, team_id, reps)
        )
    under = below(team_id, snap.org.parents)
    trying = experiment_lines(
        request,
        ws,
        session,
        lambda e: e.kind == "team" and e.status == "active" and bool(under & set(e.teams())),
    )
    mine = snap.org.rep_team.get(session.user.rep_id or "", "") == team_id
    return page(
        request,
        "team.html.j2",
        session,
        snap,
        t=t,
        stories=shared,
        manages=manages,
        books=books,
        trying=trying,
        ours=mine,
        can_make=web_experiments.may_make(session.user, [team_id], snap.org),
    )


@router.get("/teams/{team_id}/accounts", response_class=HTMLResponse)
def team_accounts(request: Request, team_id: str, session: Login, ws: WS) -> HTMLResponse:
    """The team's clearly under- and over-served accounts, for its managers."""
    snap = snap_of(request, ws)
    if team_id not in snap.org.teams() or not access.manages(session.user, team_id, snap.org):
        raise NotFound()
    reps = snap.reps_in(below(team_id, snap.org.parents))
    a = request.app.state.snapshots.cached(
        ws, ("team-accounts", team_id), lambda: accounts.team_accounts(ws, snap, team_id, reps)
    )
    return page(request, "team_accounts.html.j2", session, snap, a=a)


@router.get("/teams/{team_id}/coach", response_class=HTMLResponse)
def coach(request: Request, team_id: str, session: Login, ws: WS) -> HTMLResponse:
    snap, t, shared = team_of(request, ws, session, team_id, coach=True)
    return page(request, "coach.html.j2", session, snap, t=t, stories=shared)


# ----------------------------------------------------------------------------- the brief


def _brief(request: Request, ws: Workspace, session: Session, team_id: str, period: str):
    from brightspots.brief import build

    snap = snap_of(request, ws)
    if team_id not in snap.org.teams() or not access.manages(session.user, team_id, snap.org):
        raise NotFound()
    return request.app.state.snapshots.cached(
        ws, ("brief", team_id, period), lambda: build(ws, team_id, period)
    )


@router.get("/teams/{team_id}/brief", response_class=HTMLResponse)
def brief_page(
    request: Request, team_id: str, session: Login, ws: WS, period: str = ""
) -> HTMLResponse:
    from brightspots.brief import BriefError, PeriodError, last_full_period

    snap = snap_of(request, ws)
    if team_id not in snap.org.teams() or not access.manages(session.user, team_id, snap.org):
        raise NotFound()
    error, b = "", None
    try:
        period = period.strip() or request.app.state.snapshots.cached(
            ws, ("last_full_month",), lambda: last_full_period(ws, "month").label
        )
        b = _brief(request, ws, session, team_id, period)
    except (BriefError, PeriodError) as e:
        error = str(e)
    return page(
        request,
        "brief.html.j2",
        session,
        snap,
        team_id=team_id,
        team_name=snap.team_name(team_id),
        period=period,
        b=b,
        error=error,
    )


@router.get("/teams/{team_id}/brief/file")
def brief_file(
    request: Request,
    team_id: str,
    session: Login,
    ws: WS,
    period: str,
    format: str = "html",
    download: bool = True,
) -> Response:
    from brightspots.brief import BriefError, PeriodError
    from brightspots.brief.render import render_html, render_markdown, render_pdf

    kind = format.strip().lower()
    if kind not in ("html", "md", "pdf"):
        raise NotFound()
    try:
        b = _brief(request, ws, session, team_id, period)
    except (BriefError, PeriodError):
        raise NotFound() from None
    if kind == "html":
        body, media = render_html(b).encode(), "text/html; charset=utf-8"
    elif kind == "md":
        body, media = render_markdown(b).encode(), "text/markdown; charset=utf-8"
    else:
        body, media = render_pdf(b), "application/pdf"
    name = f"brief-{team_id}-{b.period.label}.{kind}"
    plain = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    how = "attachment" if download else "inline"
    disposition = f"{how}; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"
    return Response(body, media_type=media, headers={"Content-Disposition": disposition})


# ----------------------------------------------------------------------------- stories


EMPTY_FORM = {"title": "", "body": "", "account_id": "", "opportunity_id": "", "tags": ""}


def _needs_approval(ws: Workspace) -> bool:
    """Whether a story waits for a manager's approval before it is shared (``[stories]``)."""
    from brightspots.stories import sharing

    try:
        return sharing.mode(ws) != "none"
    except sharing.StoryConfigError:
        return True  # the gate then shares only what was approved here


def _stories_page(
    request: Request,
    session: Session,
    ws: Workspace,
    message: str = "",
    *,
    form: dict[str, str] | None = None,
    failed: bool = False,
) -> HTMLResponse:
    snap = snap_of(request, ws)
    user = session.user
    visible = sorted(access.reps_of(user, snap.org))
    frame, note = story_rows(request, ws)
    every = story_views(ws, snap, frame[frame["rep_id"].isin(visible)])
    own = [s for s in every if s.rep_id == user.rep_id]
    manages = user.role in ("manager", "admin")
    to_review = [s for s in every if s.status == "waiting" and s.rep_id != user.rep_id]
    reviewed = [s for s in every if s.status != "waiting" and s.rep_id != user.rep_id]
    can_write = user.role == "rep" and bool(user.rep_id)
    choices = None
    if can_write and user.rep_id:
        rep = user.rep_id
        choices = request.app.state.snapshots.cached(
            ws, ("story-choices", rep), lambda: stories.choices(ws, rep)
        )
    return page(
        request,
        "stories.html.j2",
        session,
        snap,
        own=own,
        to_review=to_review if manages else [],
        reviewed=reviewed[:50] if manages else [],
        can_write=can_write,
        choices=choices,
        form={**EMPTY_FORM, **(form or {})},
        needs_approval=_needs_approval(ws),
        notes=[note] if note else [],
        message=message[:300],
        failed=failed,
    )


@router.get("/stories", response_class=HTMLResponse)
def stories_page(request: Request, session: Login, ws: WS, message: str = "") -> HTMLResponse:
    return _stories_page(request, session, ws, message)


@router.post("/stories", response_class=HTMLResponse)
def write_story(
    request: Request,
    session: Login,
    ws: WS,
    title: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
    account_id: Annotated[str, Form()] = "",
    opportunity_id: Annotated[str, Form()] = "",
    tags: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Save a rep's story; when it cannot be saved, the form comes back filled in, with why."""
    auth.check_csrf(request, session, csrf)
    try:
        stories.write(
            auth.state_of(request),
            session.user,
            title,
            body,
            account_id=account_id,
            opportunity_id=opportunity_id,
            tags=tags,
            ws=ws,
        )
    except stories.StoryError as e:
        typed = {
            "title": title,
            "body": body,
            "account_id": account_id,
            "opportunity_id": opportunity_id,
            "tags": tags,
        }
        text = str(e)
        return _stories_page(
            request, session, ws, text[:1].upper() + text[1:] + ".", form=typed, failed=True
        )
    if _needs_approval(ws):
        msg = "Your story is saved. It is shared with your team once your manager approves it."
    else:
        msg = "Your story is saved and shared with your team."
    return RedirectResponse(f"/stories?message={quote(msg)}", status_code=303)


@router.post("/stories/{story_id}/review")
def review_story(
    request: Request,
    story_id: str,
    session: Login,
    ws: WS,
    status: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    auth.check_csrf(request, session, csrf)
    snap = snap_of(request, ws)
    found = stories_of(request, ws, snap, lambda f: f["story_id"] == story_id)
    user = session.user
    if not found or user.role not in ("manager", "admin"):
        raise NotFound()
    author_team = snap.org.rep_team.get(found[0].rep_id, "")
    if found[0].rep_id == user.rep_id or not (
        user.role == "admin" or (author_team and access.manages(user, author_team, snap.org))
    ):
        raise NotFound()
    try:
        stories.review(auth.state_of(request), user, found[0], status)
    except stories.StoryError as e:
        return RedirectResponse(f"/stories?message={quote(str(e))}", status_code=303)
    if status == "approved":
        now = stories_of(request, ws, snap, lambda f: f["story_id"] == story_id)
        if now and now[0].shared:
            words = "approved: it is shared on the team page"
        else:
            words = "approved, but it is not shared: the source system declined it"
    else:
        words = "declined"
    return RedirectResponse(
        f"/stories?message={quote(f'“{found[0].title}” {words}.')}", status_code=303
    )


# ----------------------------------------------------------------------------- experiments

#: the outcomes a form offers, in words
OUTCOME_CHOICES = [
    ("win_rate", "Win rate (deals won within the horizon of creation)"),
    ("impact_rate", "Buyer impact rate (touches drawing a buyer response)"),
    ("response_hours", "Response time (median hours to answer a buyer; lower is better)"),
]


def _experiments_of(ws: Workspace) -> list[Any]:
    from brightspots.experiments import store

    return store.load(ws)


def _plans(ws: Workspace, experiment_id: str) -> list[Any]:
    from brightspots.experiments import store

    return store.plans(ws, experiment_id)


def _today(ws: Workspace) -> date:
    from brightspots.experiments import store

    return store.today(ws)


def practice_choices(
    request: Request, ws: Workspace, snap: Snapshot
) -> list[web_experiments.PracticeChoice]:
    """The workspace's practices, those linked with winning in the latest run first."""
    from brightspots.practices.registry import registry

    def make() -> list[web_experiments.PracticeChoice]:
        effects = None
        if snap.run is not None and ws.has_table("practice_effects"):
            effects = ws.run_results("practice_effects", snap.run.run_id)
        return web_experiments.practice_choices(registry(ws.config), effects)

    return request.app.state.snapshots.cached(ws, ("experiment-practices",), make)


def _names(request: Request, ws: Workspace, snap: Snapshot) -> dict[str, str]:
    return {p.practice: p.name for p in practice_choices(request, ws, snap)}


def _figures(request: Request, ws: Workspace, snap: Snapshot, experiment: Any):
    return experiment_figures(request.app.state.snapshots, ws, snap, experiment)


def _shown(
    request: Request,
    ws: Workspace,
    session: Session,
    keep: Callable[[Any], bool] | None,
    make: Callable[..., Any],
) -> list[Any]:
    """``make(experiment, snap, figures, plans, names, today)`` of each experiment ``session``
    may see (and ``keep`` keeps), with the latest run's stored figures (None: it has none of
    this definition): a list never runs an experiment's statistics."""
    snap = snap_of(request, ws)
    shown = web_experiments.visible(session.user, _experiments_of(ws), snap.org)
    names, today = _names(request, ws, snap), _today(ws)
    snapshots = request.app.state.snapshots
    return [
        make(
            e,
            snap,
            stored_figures(snapshots, ws, snap, e),
            _plans(ws, e.experiment_id),
            names,
            today,
            **_told(request, ws, session, e),
        )
        for e in shown
        if keep is None or keep(e)
    ]


def _told(request: Request, ws: Workspace, session: Session, experiment: Any) -> dict[str, Any]:
    """What ``line`` and ``page`` need beside the experiment: the days a week of its new deals
    takes to be mature, and whether ``session`` is told who made it."""
    from brightspots.experiments.compare import lag_days

    key = ("experiment-lag", experiment.outcome, experiment.horizon_days)
    lag = request.app.state.snapshots.cached(
        ws, key, lambda: lag_days(ws, experiment.outcome, experiment.horizon_days)
    )
    return {"lag_days": lag, "show_who": web_experiments.may_know_who(session.user)}


def experiment_lines(
    request: Request,
    ws: Workspace,
    session: Session,
    keep: Callable[[Any], bool] | None = None,
) -> list[web_experiments.Line]:
    """The experiments ``session`` may see (and ``keep`` keeps), with their results."""
    return _shown(request, ws, session, keep, web_experiments.line)


def experiment_pages(
    request: Request, ws: Workspace, session: Session, keep: Callable[[Any], bool]
) -> list[web_experiments.Page]:
    """The pages of the experiments ``session`` may see that ``keep`` keeps."""
    return _shown(request, ws, session, keep, web_experiments.page)


def find_experiment(request: Request, ws: Workspace, session: Session, experiment_id: str):
    """The experiment ``experiment_id`` once ``session`` may see it; else NotFound."""
    snap = snap_of(request, ws)
    found = next((e for e in _experiments_of(ws) if e.experiment_id == experiment_id), None)
    if found is None or not web_experiments.may_see(session.user, found, snap.org):
        raise NotFound()
    return found


def experiment_page(
    request: Request, ws: Workspace, session: Session, experiment_id: str, *, chart: bool = True
) -> web_experiments.Page:
    """The page of experiment ``experiment_id`` once ``session`` may see it; else NotFound."""
    snap = snap_of(request, ws)
    exp = find_experiment(request, ws, session, experiment_id)
    return web_experiments.page(
        exp,
        snap,
        _figures(request, ws, snap, exp),
        _plans(ws, exp.experiment_id),
        _names(request, ws, snap),
        _today(ws),
        chart=chart,
        **_told(request, ws, session, exp),
    )


def _submit(act: Callable[[], tuple[str, str]], failed: Callable[[str], Response]) -> Response:
    """A form's change: ``act()`` does it and says where to go and what to say there (a path
    and a message); a ``BrightspotsError`` gives ``failed(why)`` instead (the form again,
    filled in, 400)."""
    try:
        path, message = act()
    except BrightspotsError as e:
        return failed(_sentence(e))
    return RedirectResponse(f"{path}?message={quote(message)}", status_code=303)


def _sentence(e: Exception) -> str:
    text = str(e).strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _date(text: str, what: str, *, required: bool = True) -> date | None:
    from brightspots.experiments.config import ExperimentError

    text = text.strip()
    if not text and not required:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ExperimentError(f"{what} {text!r}: use a date like 2026-03-02") from None


def _new_form(ws: Workspace) -> dict[str, Any]:
    from brightspots.experiments.config import ExperimentSettings

    try:
        settings = ExperimentSettings.of(ws.config)
        horizon, comparison = settings.horizon_days, settings.comparison
    except BrightspotsError:
        horizon, comparison = 90, "similar"
    start = web_experiments.next_monday(_today(ws)).isoformat()
    return {
        "name": "",
        "practice": "",
        "teams": [],
        "start": start,
        "end": "",
        "outcome": "win_rate",
        "comparison": comparison,
        "horizon": f"{horizon}d",
    }


def _personal_form(ws: Workspace) -> dict[str, str]:
    start = web_experiments.next_monday(_today(ws)).isoformat()
    return {"name": "", "practice": "", "start": start, "outcome": "win_rate"}


def _experiments_page(
    request: Request,
    session: Session,
    ws: Workspace,
    *,
    message: str = "",
    form: dict[str, Any] | None = None,
    failed: bool = False,
) -> HTMLResponse:
    snap = snap_of(request, ws)
    user = session.user
    offer = web_experiments.teams_to_offer(user, snap)
    return page(
        request,
        "experiments.html.j2",
        session,
        snap,
        lines=experiment_lines(request, ws, session),
        can_make=bool(offer),
        offer=offer,
        form=form,
        choices=practice_choices(request, ws, snap) if form is not None else [],
        outcomes=OUTCOME_CHOICES,
        message=message[:300],
        failed=failed,
    )


@router.get("/experiments", response_class=HTMLResponse)
def experiments_page(request: Request, session: Login, ws: WS, message: str = "") -> HTMLResponse:
    return _experiments_page(request, session, ws, message=message)


@router.get("/experiments/new", response_class=HTMLResponse)
def new_experiment(request: Request, session: Login, ws: WS, team: str = "") -> HTMLResponse:
    snap = snap_of(request, ws)
    user = session.user
    if user.role not in ("manager", "admin") or user.disabled:
        raise NotFound()
    form = _new_form(ws)
    team = team.strip()
    if team:
        if team not in snap.org.teams() or not access.manages(user, team, snap.org):
            raise NotFound()
        form["teams"] = web_experiments.teams_under(team, snap)
    return _experiments_page(request, session, ws, form=form)


@router.post("/experiments", response_class=HTMLResponse)
def make_experiment(
    request: Request,
    session: Login,
    ws: WS,
    name: Annotated[str, Form()] = "",
    practice: Annotated[str, Form()] = "",
    teams: Annotated[list[str] | None, Form()] = None,
    start: Annotated[str, Form()] = "",
    end: Annotated[str, Form()] = "",
    outcome: Annotated[str, Form()] = "win_rate",
    comparison: Annotated[str, Form()] = "similar",
    horizon: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Make a team experiment and its plan; the form comes back filled in, with why, when it
    cannot be made."""
    from brightspots.experiments import compare, store
    from brightspots.experiments.config import (
        ExperimentSettings,
        parse_horizon,
    )

    auth.check_csrf(request, session, csrf)
    snap = snap_of(request, ws)
    user = session.user
    chosen = [t.strip() for t in teams or [] if t.strip()]
    if user.role not in ("manager", "admin") or user.disabled:
        raise NotFound()
    if user.role == "manager" and not web_experiments.may_make(user, chosen, snap.org):
        raise NotFound()  # the form offers only the teams they manage
    typed = {
        "name": name,
        "practice": practice,
        "teams": chosen,
        "start": start,
        "end": end,
        "outcome": outcome,
        "comparison": comparison,
        "horizon": horizon,
    }

    def act() -> tuple[str, str]:
        settings = ExperimentSettings.of(ws.config)
        exp = store.draft(
            ws,
            name=name,
            practice=practice,
            start=_date(start, "the start"),
            by=f"web:{user.email}",
            teams=chosen,
            end=_date(end, "the end", required=False),
            outcome=outcome,
            horizon_days=(
                parse_horizon(horizon.strip(), key="the horizon")
                if horizon.strip()
                else settings.horizon_days
            ),
            comparison=comparison,
        )
        plan = compare.plan(ws, exp, exp.last_wave, settings=settings)
        store.create(ws, exp, plan, user_id=user.user_id)
        return f"/experiments/{quote(exp.experiment_id)}", (
            f"Experiment “{exp.name}” made: its plan is below."
        )

    return _submit(
        act,
        lambda why: _experiments_page(request, session, ws, message=why, form=typed, failed=True),
    )


def _experiment_response(
    request: Request,
    session: Session,
    ws: Workspace,
    experiment_id: str,
    *,
    message: str = "",
    form: dict[str, Any] | None = None,
    failed: bool = False,
) -> HTMLResponse:
    snap = snap_of(request, ws)
    p = experiment_page(request, ws, session, experiment_id)
    exp = p.experiment
    can_change = exp.status == "active" and web_experiments.may_change(session.user, exp, snap.org)
    offer = []
    if can_change and exp.kind == "team":
        offer = [
            t for t in web_experiments.teams_to_offer(session.user, snap) if t[0] not in exp.teams()
        ]
    return page(
        request,
        "experiment.html.j2",
        session,
        snap,
        p=p,
        can_change=can_change,
        offer=offer,
        form={
            "teams": [],
            "start": web_experiments.next_monday(_today(ws)).isoformat(),
            "end": "",
            **(form or {}),
        },
        message=message[:300],
        failed=failed,
    )


@router.get("/experiments/{experiment_id}", response_class=HTMLResponse)
def experiment(
    request: Request, experiment_id: str, session: Login, ws: WS, message: str = ""
) -> HTMLResponse:
    return _experiment_response(request, session, ws, experiment_id, message=message)


def _changeable(request: Request, ws: Workspace, session: Session, experiment_id: str):
    snap = snap_of(request, ws)
    exp = find_experiment(request, ws, session, experiment_id)
    if not web_experiments.may_change(session.user, exp, snap.org):
        raise NotFound()
    return snap, exp


def _changed_badly(
    request: Request,
    session: Session,
    ws: Workspace,
    experiment_id: str,
    form: dict[str, Any] | None = None,
) -> Callable[[str], Response]:
    """The experiment's page again with why a change was refused (400), ``form`` filled in."""
    return lambda why: _experiment_response(
        request, session, ws, experiment_id, message=why, form=form, failed=True
    )


@router.post("/experiments/{experiment_id}/extend", response_class=HTMLResponse)
def extend_experiment(
    request: Request,
    experiment_id: str,
    session: Login,
    ws: WS,
    teams: Annotated[list[str] | None, Form()] = None,
    start: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Add a wave: more teams try the practice from a later date, with a new plan."""
    import dataclasses

    from brightspots.experiments import compare, store
    from brightspots.experiments.config import ExperimentSettings

    auth.check_csrf(request, session, csrf)
    snap, exp = _changeable(request, ws, session, experiment_id)
    chosen = [t.strip() for t in teams or [] if t.strip()]
    if session.user.role == "manager" and not web_experiments.may_make(
        session.user, chosen, snap.org
    ):
        raise NotFound()

    def act() -> tuple[str, str]:
        settings = ExperimentSettings.of(ws.config)
        waves = store.new_wave(
            ws, exp, chosen, _date(start, "the start"), f"web:{session.user.email}"
        )
        grown = dataclasses.replace(exp, waves=exp.waves + waves)
        plan = compare.plan(ws, grown, waves[0].wave, settings=settings)
        store.extend(ws, exp.experiment_id, waves, plan)
        more = f"{len(waves)} more team{'s' if len(waves) != 1 else ''}"
        return f"/experiments/{quote(exp.experiment_id)}", f"Wave {waves[0].wave} added: {more}."

    return _submit(
        act, _changed_badly(request, session, ws, experiment_id, {"teams": chosen, "start": start})
    )


@router.post("/experiments/{experiment_id}/stop", response_class=HTMLResponse)
def stop_experiment(
    request: Request,
    experiment_id: str,
    session: Login,
    ws: WS,
    end: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Stop an experiment: weeks from the one holding its end on no longer count."""
    from brightspots.experiments import store
    from brightspots.report.experiments import stop_words

    auth.check_csrf(request, session, csrf)
    _, exp = _changeable(request, ws, session, experiment_id)

    def act() -> tuple[str, str]:
        done = store.stop(
            ws,
            exp.experiment_id,
            end_date=_date(end, "the end", required=False),
            by=f"web:{session.user.email}",
        )
        assert done.end_date is not None
        return f"/experiments/{quote(exp.experiment_id)}", f"Stopped: {stop_words(done.end_date)}."

    return _submit(act, _changed_badly(request, session, ws, experiment_id))


@router.post("/reps/{rep_id}/experiments", response_class=HTMLResponse)
def try_practice(
    request: Request,
    rep_id: str,
    session: Login,
    ws: WS,
    name: Annotated[str, Form()] = "",
    practice: Annotated[str, Form()] = "",
    start: Annotated[str, Form()] = "",
    outcome: Annotated[str, Form()] = "win_rate",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """A rep tries a practice on their own deals (a personal experiment), from their meter."""
    from brightspots.experiments import compare, store
    from brightspots.experiments.config import ExperimentSettings

    auth.check_csrf(request, session, csrf)
    user = session.user
    snap = snap_of(request, ws)
    if (
        user.disabled
        or user.role != "rep"
        or user.rep_id != rep_id
        or rep_id not in snap.org.rep_team
    ):
        raise NotFound()

    def act() -> tuple[str, str]:
        settings = ExperimentSettings.of(ws.config)
        exp = store.draft(
            ws,
            name=name,
            practice=practice,
            start=_date(start, "the start"),
            by=f"web:{user.email}",
            rep=rep_id,
            outcome=outcome,
            horizon_days=settings.horizon_days,
        )
        plan = compare.plan(ws, exp, exp.last_wave, settings=settings)
        store.create(ws, exp, plan, user_id=user.user_id)
        return f"/experiments/{quote(exp.experiment_id)}", (
            f"You are trying “{exp.name}”: your figures are below (your meter lists it)."
        )

    typed = {"name": name, "practice": practice, "start": start, "outcome": outcome}
    return _submit(
        act,
        lambda why: _rep_page(request, rep_id, session, ws, message=why, form=typed, failed=True),
    )


# ----------------------------------------------------------------------------- admin


def _admin(session: Session) -> None:
    if session.user.role != "admin":
        raise NotFound()


@router.get("/admin", response_class=HTMLResponse)
def admin_home(request: Request, session: Login, ws: WS, message: str = "") -> HTMLResponse:
    _admin(session)
    snap = snap_of(request, ws)
    # where the engine reads the data (a warehouse's tables on engine "warehouse")
    counts = {t: ws.data_rows(t) for t in ("reps", "teams", "accounts", "opportunities")}
    counts["activities"] = ws.data_rows("activities")
    return page(
        request,
        "admin.html.j2",
        session,
        snap,
        counts=counts,
        users=users.users(auth.state_of(request)),
        runs=list(reversed(ws.runs()))[:20],
        writer=generations.writer(ws.root),
        analysing=request.app.state.jobs.get("analysis"),
        message=message[:300],
    )


@router.post("/admin/users")
def admin_add_user(
    request: Request,
    session: Login,
    ws: WS,
    email: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    rep_id: Annotated[str, Form()] = "",
    teams: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    _admin(session)
    auth.check_csrf(request, session, csrf)
    snap = snap_of(request, ws)
    try:
        users.add_user(
            auth.state_of(request),
            email,
            role,
            password,
            rep_id=rep_id.strip() or None,
            teams=[t for t in teams.replace(",", " ").split() if t],
            known_reps=set(snap.org.rep_team),
            known_teams=set(snap.team_names),
        )
        message = f"Account {email.strip()} added."
    except BrightspotsError as e:
        message = str(e)
    return RedirectResponse(f"/admin?message={quote(message)}#users", status_code=303)


@router.post("/admin/users/{email}/disabled")
def admin_disable(
    request: Request,
    email: str,
    session: Login,
    disabled: Annotated[str, Form()] = "1",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    _admin(session)
    auth.check_csrf(request, session, csrf)
    if email.strip().lower() == session.user.email.lower() and disabled == "1":
        message = "You cannot disable your own account."
    else:
        try:
            users.set_disabled(auth.state_of(request), email, disabled == "1")
            message = f"{email} {'disabled' if disabled == '1' else 'enabled'}."
        except BrightspotsError as e:
            message = str(e)
    return RedirectResponse(f"/admin?message={quote(message)}#users", status_code=303)


@router.post("/admin/data", response_class=HTMLResponse)
def admin_upload(
    request: Request,
    session: Login,
    files: Annotated[list[UploadFile], File()],
    csrf: Annotated[str, Form()] = "",
    snapshot: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Import uploaded files (CSV, Parquet, Excel, or one ZIP) as the workspace's one writer."""
    from brightspots.ingest import import_path

    _admin(session)
    auth.check_csrf(request, session, csrf)
    root: Path = request.app.state.root
    result, error = None, ""
    with tempfile.TemporaryDirectory(prefix="bs-upload-") as tmp:
        folder = Path(tmp)
        names = [Path(f.filename or "").name for f in files]
        bad = [n for n in names if not n or n.startswith(".") or any(ord(c) < 32 for c in n)]
        twice = sorted({n for n in names if names.count(n) > 1})
        if bad or twice:
            error = (
                f"two files are named {twice[0]}; upload each table once"
                if twice
                else f"{bad[0]!r} is not a file name to import"
            )
        for f, name in zip(files, names, strict=True):
            if error:
                break
            with open(folder / name, "wb") as out:
                shutil.copyfileobj(f.file, out)
        try:
            if error:
                raise BrightspotsError(error)
            ws = Workspace.open(root)
            try:
                result = import_path(ws, folder, snapshot=snapshot == "1")
            finally:
                ws.close()
        except BrightspotsError as e:
            error = str(e)
    return render(
        request,
        "import_result.html.j2",
        session,
        result=result,
        error=error,
        nav=[("/", "Home"), ("/admin", "Admin")],
    )


@router.post("/admin/runs")
def admin_analyze(request: Request, session: Login, csrf: Annotated[str, Form()] = "") -> Response:
    """Start an analysis in the background (one at a time; the writer lock keeps it single)."""
    _admin(session)
    auth.check_csrf(request, session, csrf)
    jobs: dict[str, Any] = request.app.state.jobs
    with request.app.state.jobs_lock:
        message = _start_analysis(request.app.state.root, jobs)
    return RedirectResponse(f"/admin?message={quote(message)}#runs", status_code=303)


def _start_analysis(root: Path, jobs: dict[str, Any]) -> str:
    running = jobs.get("analysis")
    if running and running["thread"].is_alive():
        return "An analysis is already running."
    if generations.writer(root):
        return "Another command is writing the workspace; try again when it is done."
    job: dict[str, Any] = {"status": "running", "error": ""}

    def work() -> None:
        from brightspots.analysis import analyze

        ws = Workspace.open(root)
        try:
            run = analyze(ws)
            job.update(status="done", run_id=run.run_id)
        except Exception as e:  # shown on the admin page; the workspace is unchanged
            job.update(status="failed", error=str(e))
        finally:
            ws.close()

    job["thread"] = threading.Thread(target=work, name="brightspots-analysis", daemon=True)
    jobs["analysis"] = job
    job["thread"].start()
    return "Analysis started; this page shows the new run when it is done."


SETTINGS = (
    ("workspace", "timezone", "Time zone of the data's days (IANA name, e.g. Europe/Berlin)"),
    ("workspace", "currency", "Currency of amounts (ISO code)"),
    ("analysis", "window", "Closed deals analysed for reps: 12m, 90d or all"),
    ("analysis", "min_volume", "Closed deals a rep needs before they can be labelled"),
)


@router.get("/admin/settings", response_class=HTMLResponse)
def settings_page(request: Request, session: Login, ws: WS, message: str = "") -> HTMLResponse:
    _admin(session)
    cfg = ws.config
    fields = [(f"{s}.{k}", label, str(cfg[s][k])) for s, k, label in SETTINGS]
    return page(
        request, "settings.html.j2", session, snap_of(request, ws), fields=fields, message=message
    )


def _save_settings(ws: Workspace, form: Any) -> None:
    from brightspots.windows import parse_window

    cfg = ws.config
    values = {f"{s}.{k}": str(form.get(f"{s}.{k}", cfg[s][k])).strip() for s, k, _ in SETTINGS}
    try:
        zoneinfo.ZoneInfo(values["workspace.timezone"])
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise BrightspotsError(f"unknown time zone {values['workspace.timezone']!r}") from None
    currency = values["workspace.currency"].upper()
    if len(currency) != 3 or not currency.isalpha():
        raise BrightspotsError(f"currency {currency!r}: use a three-letter ISO code")
    parse_window(values["analysis.window"])
    try:
        min_volume = int(values["analysis.min_volume"])
    except ValueError:
        raise BrightspotsError("minimum volume: a whole number of closed deals") from None
    if min_volume < 1:
        raise BrightspotsError("minimum volume: at least 1 closed deal")
    ws.update_config(
        {
            "workspace": {"timezone": values["workspace.timezone"], "currency": currency},
            "analysis": {"window": values["analysis.window"], "min_volume": min_volume},
        }
    )


@router.post("/admin/settings")
async def save_settings(request: Request, session: Login) -> Response:
    _admin(session)
    form = await request.form()
    auth.check_csrf(request, session, str(form.get("csrf", "")))
    root: Path = request.app.state.root
    try:
        # as the one writer: a running import or analysis reads the settings it started with
        with generations.writer_lock(root, command="settings saved in the web app"):
            _save_settings(Workspace.open(root), form)
        message = "Settings saved. They apply from the next analysis."
    except BrightspotsError as e:
        message = str(e)
    return RedirectResponse(f"/admin/settings?message={quote(message)}", status_code=303)


__all__ = ["NotFound", "router"]
