"""The JSON API under ``/api/v1``: the same content and the same authorisation as the pages.

Signed in by the same session cookie; read-only (every route is a GET, so no CSRF token is
needed). What a user may not see is 404, as on the pages. The schema is at
``/api/v1/openapi.json``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from brightspots.report.care import CareCell
from brightspots.web import access, auth
from brightspots.web import care as web_care
from brightspots.web import experiments as web_experiments
from brightspots.web.data import Snapshot
from brightspots.web.library import library_of
from brightspots.web.pages import (
    WS,
    NotFound,
    experiment_lines,
    experiment_page,
    meter_of,
    snap_of,
    team_of,
)
from brightspots.web.sessions import Session


class Problem(BaseModel):
    detail: str


router = APIRouter(
    tags=["read"],
    responses={
        401: {"model": Problem, "description": "Not signed in."},
        404: {"model": Problem, "description": "No such thing, or not yours to see."},
    },
)
Login = Annotated[Session, Depends(auth.require)]


class Link(BaseModel):
    id: str
    name: str


class Me(BaseModel):
    email: str
    role: str
    rep_id: str | None
    teams: list[Link]
    reps: list[Link]
    generation: str
    run_id: str | None


class PracticeLine(BaseModel):
    practice: str
    description: str
    you: str
    peers: str
    evidence: str
    linked_with_winning: bool
    suggested: bool
    sentence: str


class CareOut(BaseModel):
    """One source of a rep's own care. ``shown`` false: fewer than ``[care] min_respondents``
    respondents (or none), and no figure at all."""

    source: str  # customer or employee
    shown: bool
    index: float | None  # 0-100
    lower_95: float | None
    upper_95: float | None
    respondents: int | None
    label: str  # "care bright spot", "care candidate" or ""
    text: str  # the index in words, or why it is not shown
    company: float | None  # the company's index of the same source


class CareQuarterOut(BaseModel):
    period: str  # 2026-Q3
    source: str
    index: float
    lower_95: float | None
    upper_95: float | None
    respondents: int | None


class MeterCareOut(BaseModel):
    window: str
    min_respondents: int
    sources: list[CareOut]
    quarters: list[CareQuarterOut]  # shown quarters only
    hidden: str


class CareNamedOut(BaseModel):
    id: str
    name: str
    level: str  # rep or leader
    source: str  # customers or employees
    label: str
    index: float | None
    text: str
    reason: str


class TeamCareOut(BaseModel):
    window: str
    customers: str  # the team's own customers' care in words ("" without one)
    bright_spots: list[CareNamedOut]  # care bright spots and candidates: no one else is named


class MeterOut(BaseModel):
    rep_id: str
    name: str
    team_id: str
    run_id: str
    window: str
    label: str
    results: str
    effort: str
    peers: str
    practices: list[PracticeLine]
    suggestions: list[str]
    note: str
    care: MeterCareOut | None  # null: the latest run has no care answers


class NamedOut(BaseModel):
    id: str
    name: str
    label: str
    oe: str
    reason: str


class PracticeNoteOut(BaseModel):
    practice: str
    description: str
    sentence: str
    team_share: str


class StoryPracticeOut(BaseModel):
    practice: str
    name: str
    via: str  # "tag" or "text"
    matched: str  # the tag as written, or the words found


class StoryOut(BaseModel):
    story_id: str
    rep_id: str
    rep_name: str
    title: str
    text: str
    created: str
    source: str
    status: str  # the web app's review: waiting, approved or declined
    shared: bool  # passes the workspace's sharing rule ([stories] approval)
    account_id: str | None
    account: str | None
    opportunity_id: str | None
    deal: str | None
    deal_stage: str | None
    tags: list[str]
    caregiver: bool
    practices: list[StoryPracticeOut]


class PracticeCountOut(BaseModel):
    practice: str
    name: str
    stories: int


class LibraryOut(BaseModel):
    scope: str
    practice: str | None
    care: bool
    total: int
    caregivers: int
    practices: list[PracticeCountOut]
    stories: list[StoryOut]
    notes: list[str]


class TeamOut(BaseModel):
    team_id: str
    name: str
    parent: Link | None
    subteams: list[Link]
    reps: int
    run_id: str
    result: str
    bright_spots: list[NamedOut]
    practices: list[PracticeNoteOut]
    stories: list[StoryOut]
    note: str
    care: TeamCareOut | None  # null: the latest run has no care answers


class ExperimentTeamOut(BaseModel):
    id: str
    name: str
    wave: int
    start: str  # local ISO date


class ExperimentSummaryOut(BaseModel):
    """A practice experiment as the lists show it (its result's verdict and headline)."""

    experiment_id: str
    name: str
    kind: str  # team or personal
    practice: str
    practice_name: str
    outcome: str  # in words
    who: str  # the teams in words (a personal one: the rep's own)
    teams: list[ExperimentTeamOut]  # none for a personal experiment
    status: str  # active or stopped
    progress: str
    verdict: str
    headline: str
    made: str


class EventOut(BaseModel):
    e: int  # weeks since the start (negative: before it)
    estimate: float | None  # shares for rates, hours for response time
    ci_low: float | None
    ci_high: float | None
    n_treated: int | None
    n_control: int | None


class PersonalRowOut(BaseModel):
    what: str
    before: str
    after: str


class ExperimentOut(ExperimentSummaryOut):
    """An experiment's page: the verdict, its sentences and warnings, the comparison teams as a
    group, the measures, the week-by-week effect and where the figures come from."""

    lines: list[str]
    warnings: list[str]
    comparison: str
    reason: str
    power: str
    measures: list[web_experiments.MeasureRow]
    event: list[EventOut]
    pretrend: str
    personal: list[PersonalRowOut]
    source: str
    run_id: str | None  # the analysis run that stored these figures; null: computed live
    data_as_of: str | None  # the data's as-of time (UTC)
    stopped: str


class RunOut(BaseModel):
    run_id: str
    created_at: str
    engine: str
    fingerprint: str


def _links(ids, name) -> list[Link]:
    return sorted((Link(id=i, name=name(i)) for i in ids), key=lambda x: x.name.casefold())


def _figures(cell: CareCell) -> dict[str, float | int | None]:
    """A care cell's figures as the API names them (all None when it is not shown)."""
    return {
        "index": cell.mean,
        "lower_95": cell.lower_95,
        "upper_95": cell.upper_95,
        "respondents": cell.n_respondents,
    }


def _meter_care(c: web_care.MeterCare | None) -> MeterCareOut | None:
    if c is None:
        return None
    return MeterCareOut(
        window=c.window,
        min_respondents=c.k,
        sources=[
            CareOut(
                source=line.source,
                shown=line.cell.shown,
                **_figures(line.cell),
                label=line.label,
                text=line.text,
                company=line.company_index,
            )
            for line in c.lines
        ],
        quarters=[
            CareQuarterOut(period=t.period, source=source, **_figures(cell))
            for t in c.trend
            for source, cell in t.cells.items()
            if cell.mean is not None
        ],
        hidden=c.hidden,
    )


def _team_care(c: web_care.TeamCare | None) -> TeamCareOut | None:
    if c is None:
        return None
    return TeamCareOut(
        window=c.window,
        customers=c.customers,
        bright_spots=[
            CareNamedOut(
                id=n.unit_id,
                name=n.name,
                level=n.level,
                source=n.raters.lower(),
                label=n.label,
                index=n.index,
                text=n.text,
                reason=n.reason,
            )
            for n in c.named
        ],
    )


def _story(s) -> StoryOut:
    return StoryOut(
        story_id=s.story_id,
        rep_id=s.rep_id,
        rep_name=s.rep_name,
        title=s.title,
        text="\n\n".join(s.paragraphs),
        created=s.created,
        source=s.source,
        status=s.status,
        shared=s.shared,
        account_id=s.account_id,
        account=s.account,
        opportunity_id=s.opportunity_id,
        deal=s.deal,
        deal_stage=s.deal_stage,
        tags=list(s.tags),
        caregiver=s.caregiver,
        practices=[
            StoryPracticeOut(practice=p.practice, name=p.name, via=p.via, matched=p.matched)
            for p in s.practices
        ],
    )


@router.get("/me", response_model=Me)
def me(request: Request, session: Login, ws: WS) -> Me:
    """Who is signed in, and the teams and reps they may see."""
    snap: Snapshot = snap_of(request, ws)
    user = session.user
    return Me(
        email=user.email,
        role=user.role,
        rep_id=user.rep_id,
        teams=_links(access.teams_of(user, snap.org), snap.team_name),
        reps=_links(access.reps_of(user, snap.org), snap.rep_name),
        generation=snap.generation,
        run_id=snap.run.run_id if snap.run else None,
    )


@router.get("/reps/{rep_id}", response_model=MeterOut)
def rep(request: Request, rep_id: str, session: Login, ws: WS) -> MeterOut:
    """A rep's meter: results against expected, effort and buyer impact, practices, and their
    own care index with its quarters (only cells of enough respondents carry figures)."""
    snap = snap_of(request, ws)
    if not access.may_see_rep(session.user, rep_id, snap.org):
        raise NotFound()
    m = meter_of(request, ws, snap, rep_id)
    return MeterOut(
        rep_id=m.rep_id,
        name=m.name,
        team_id=m.team_id,
        run_id=m.run_id,
        window=m.window,
        label=m.label,
        results=m.results,
        effort=m.effort,
        peers=m.peers,
        practices=[
            PracticeLine(
                practice=p.practice,
                description=p.description,
                you=p.you,
                peers=p.peers,
                evidence=p.evidence,
                linked_with_winning=p.linked,
                suggested=p.suggested,
                sentence=p.sentence,
            )
            for p in m.lines
        ],
        suggestions=[p.practice for p in m.suggestions],
        note=m.note,
        care=_meter_care(m.care),
    )


@router.get("/teams", response_model=list[Link])
def teams(request: Request, session: Login, ws: WS) -> list[Link]:
    """The teams whose pages the user may see."""
    snap = snap_of(request, ws)
    return _links(access.teams_of(session.user, snap.org), snap.team_name)


@router.get("/teams/{team_id}", response_model=TeamOut)
def team(request: Request, team_id: str, session: Login, ws: WS) -> TeamOut:
    """A team's results, its bright spots and care bright spots (only they are named),
    practices and shared stories."""
    _, t, shared = team_of(request, ws, session, team_id, coach=False)
    return TeamOut(
        team_id=t.team_id,
        name=t.name,
        parent=Link(id=t.parent[0], name=t.parent[1]) if t.parent else None,
        subteams=[Link(id=i, name=n) for i, n in t.subteams],
        reps=t.n_reps,
        run_id=t.run_id,
        result=t.result,
        bright_spots=[
            NamedOut(id=n.unit_id, name=n.name, label=n.label, oe=n.oe, reason=n.reason)
            for n in t.bright_spots
        ],
        practices=[
            PracticeNoteOut(
                practice=p.practice,
                description=p.description,
                sentence=p.sentence,
                team_share=p.team_share,
            )
            for p in t.practices
        ],
        stories=[_story(s) for s in shared],
        note=t.note,
        care=_team_care(t.care),
    )


@router.get("/stories/library", response_model=LibraryOut)
def story_library(
    request: Request, session: Login, ws: WS, practice: str = "", care: bool = False
) -> LibraryOut:
    """The story library: the shared stories of the teams the user may see (a rep: also their
    own, whatever their status), newest first, with the practices each illustrates; only those
    of ``practice`` (an id) and, with ``care``, caregiver stories. An unknown practice is 404."""
    lib = library_of(request, ws, session.user, practice=practice[:200], care=care)
    if not lib.known:
        raise NotFound()
    return LibraryOut(
        scope=lib.scope,
        practice=lib.practice or None,
        care=lib.care,
        total=lib.total,
        caregivers=lib.caregivers,
        practices=[
            PracticeCountOut(practice=p.practice, name=p.name, stories=p.stories)
            for p in lib.practices
        ],
        stories=[_story(s) for s in lib.stories],
        notes=list(lib.notes),
    )


def _summary(x: web_experiments.Line) -> dict:
    return {
        "experiment_id": x.experiment_id,
        "name": x.name,
        "kind": x.kind,
        "practice": x.practice,
        "practice_name": x.practice_name,
        "outcome": x.outcome,
        "who": x.who,
        "teams": [
            ExperimentTeamOut(id=t.team_id, name=t.name, wave=t.wave, start=t.start.isoformat())
            for t in x.teams
        ],
        "status": x.status,
        "progress": x.progress,
        "verdict": x.verdict,
        "headline": x.headline,
        "made": x.made,
    }


@router.get("/experiments", response_model=list[ExperimentSummaryOut])
def experiments(request: Request, session: Login, ws: WS) -> list[ExperimentSummaryOut]:
    """The practice experiments the user may see (a team's: admins, its managers and reps; a
    personal one: the rep and their managers), active first, newest first."""
    return [ExperimentSummaryOut(**_summary(x)) for x in experiment_lines(request, ws, session)]


@router.get("/experiments/{experiment_id}", response_model=ExperimentOut)
def experiment(request: Request, experiment_id: str, session: Login, ws: WS) -> ExperimentOut:
    """A practice experiment's result: from the latest run when it stored this very definition,
    else computed on the current data."""
    p = experiment_page(request, ws, session, experiment_id, chart=False)
    return ExperimentOut(
        **_summary(p.line),
        lines=list(p.lines),
        warnings=list(p.warnings),
        comparison=p.comparison,
        reason=p.reason,
        power=p.power,
        measures=list(p.measures),
        event=[EventOut(**e) for e in p.event],
        pretrend=p.pretrend,
        personal=[PersonalRowOut(what=r.what, before=r.before, after=r.after) for r in p.personal],
        source=p.source,
        run_id=p.run_id,
        data_as_of=p.data_as_of,
        stopped=p.stopped,
    )


@router.get("/runs", response_model=list[RunOut])
def runs(session: Login, ws: WS) -> list[RunOut]:
    """[admin] The analysis runs kept in the workspace, newest first."""
    if session.user.role != "admin":
        raise NotFound()
    return [
        RunOut(
            run_id=r.run_id,
            created_at=r.created_at.isoformat(),
            engine=r.engine,
            fingerprint=r.fingerprint,
        )
        for r in reversed(ws.runs())
    ]
