"""Practice experiments on the web pages: who may see, make and change one, and what the pages
show of it. Pure of HTTP: the routes (``pages``) and the JSON API (``api``) ask here, after
reading the definitions (``experiments.store``) and the results (``data.experiment_figures``).

Who may do what (design issue 12, section 10):

* see a team experiment: admins, managers of a treated team, reps of a treated team (they
  follow it); see a personal one: the rep, their managers and admins. Anyone else: not found.
* make a team experiment: managers of *every* team in it, and admins; a personal one: that rep
  only, from their meter.
* add a wave or stop it: admins and managers of every team in it (and of the new wave's
  teams); a personal one can be stopped by its rep or their managers.

Comparison teams appear as a group: their number, why they were chosen and their pooled
figures, never one by one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from markupsafe import Markup

from brightspots.experiments import words
from brightspots.experiments.panels import planned_weeks
from brightspots.experiments.store import Experiment, Plan, comparison_teams
from brightspots.report import charts
from brightspots.report.experiments import (
    MeasureRow,
    StoredMeasure,
    event_chart,
    finite,
    legend_entries,
    measure_row,
    pretrend_sentence,
    progress_words,
)
from brightspots.teams import below
from brightspots.web import access
from brightspots.web.access import Org
from brightspots.web.data import ExperimentFigures, Snapshot
from brightspots.web.users import User

#: verdicts the pages mark as good news, bad news or neither
GOOD = ("worked",)
BAD = ("worse", "failed")
#: what a list says of an experiment the latest analysis run has no figures of (it ran before
#: the experiment was made, extended or stopped): lists never compute them
PENDING = "Figures at the next analysis run."

# ----------------------------------------------------------------------------- who may do what


def _rep_team(exp: Experiment, org: Org) -> str:
    return org.rep_team.get(exp.rep_id or "", "")


def may_see(user: User, exp: Experiment, org: Org) -> bool:
    """Whether ``user`` may see ``exp`` (see the module's rules)."""
    if user.disabled:
        return False
    if user.role == "admin":
        return True
    if exp.kind == "personal":
        if user.role == "rep":
            return bool(user.rep_id) and user.rep_id == exp.rep_id
        team = _rep_team(exp, org)
        return bool(team) and access.manages(user, team, org)
    teams = exp.teams()
    if user.role == "manager":
        return any(access.manages(user, t, org) for t in teams)
    team = org.rep_team.get(user.rep_id or "", "")
    return bool(team) and team in teams


def may_make(user: User, teams: Iterable[str], org: Org) -> bool:
    """Whether ``user`` may make a team experiment of ``teams`` (or add them as a wave)."""
    if user.disabled or user.role not in ("manager", "admin"):
        return False
    return all(access.manages(user, t, org) for t in teams)


def may_change(user: User, exp: Experiment, org: Org) -> bool:
    """Whether ``user`` may add a wave to ``exp`` or stop it."""
    if not may_see(user, exp, org):
        return False
    if exp.kind == "personal":
        return user.role in ("manager", "admin") or user.rep_id == exp.rep_id
    return may_make(user, exp.teams(), org)


def may_know_who(user: User) -> bool:
    """Whether ``user`` is told who made or stopped an experiment ("web:ana@example.com",
    "cli:<login name>"): managers and admins, not reps."""
    return not user.disabled and user.role in ("manager", "admin")


def visible(user: User, experiments: Iterable[Experiment], org: Org) -> list[Experiment]:
    """The experiments ``user`` may see, active first, newest first."""
    shown = [e for e in experiments if may_see(user, e, org)]
    shown.sort(key=lambda e: e.created_at, reverse=True)
    return sorted(shown, key=lambda e: e.status != "active")


def teams_to_offer(user: User, snap: Snapshot) -> list[tuple[str, str]]:
    """Teams with reps that ``user`` manages (an admin: every team with reps), by name."""
    staffed = {t for t in snap.org.rep_team.values() if t}
    ids = [t for t in staffed if may_make(user, [t], snap.org)]
    return sorted(((t, snap.team_name(t)) for t in ids), key=lambda x: x[1].casefold())


def teams_under(team_id: str, snap: Snapshot) -> list[str]:
    """The teams with reps at or under ``team_id`` (what a parent team's link preselects)."""
    staffed = {t for t in snap.org.rep_team.values() if t}
    return sorted(t for t in below(team_id, snap.org.parents) if t in staffed)


# ----------------------------------------------------------------------------- practices


@dataclass(frozen=True)
class PracticeChoice:
    practice: str  # id
    name: str  # its description, without the final stop
    evidence: bool  # linked with winning in the latest run (q < 0.05, not suspect)


def practice_choices(registry: Sequence[Any], effects: pd.DataFrame | None) -> list[PracticeChoice]:
    """Every practice of the workspace, those with evidence in the latest run first (by q),
    then the others in the registry's order."""
    proven: dict[str, float] = {}
    if effects is not None and len(effects):
        ok = effects[(effects["q"] < 0.05) & ~effects["suspect"].astype(bool)]
        for p, q in zip(ok["practice"], ok["q"], strict=True):
            proven[str(p)] = min(float(q), proven.get(str(p), math.inf))
    names = {p.id: p.description.strip().rstrip(".") or p.id for p in registry}
    order = sorted(proven, key=lambda p: (proven[p], p))
    first = [PracticeChoice(p, names[p], True) for p in order if p in names]
    rest = [PracticeChoice(p.id, names[p.id], False) for p in registry if p.id not in proven]
    return first + rest


# ----------------------------------------------------------------------------- what pages show


@dataclass(frozen=True)
class TeamStart:
    team_id: str
    name: str
    wave: int
    start: date

    @property
    def start_words(self) -> str:
        return words.day(self.start)


@dataclass(frozen=True)
class Line:
    """One experiment in a list (the experiments page, a team page, a meter)."""

    experiment_id: str
    name: str
    kind: str
    practice: str  # id
    practice_name: str
    outcome: str  # in words
    who: str  # the teams (or "Ana's own") in words
    teams: list[TeamStart]
    status: str  # active | stopped
    progress: str  # '9 weeks of new deals planned; 3 mature so far, the next on 4 May 2026'
    verdict: str
    headline: str
    made: str  # 'made 3 Nov 2026 by web:ana@example.com' (who: managers and admins only)

    @property
    def tone(self) -> str:
        return "good" if self.verdict in GOOD else "bad" if self.verdict in BAD else ""


@dataclass(frozen=True)
class PersonalRow:
    what: str
    before: str
    after: str


@dataclass(frozen=True)
class Page:
    """An experiment's own page."""

    line: Line
    experiment: Experiment
    lines: tuple[str, ...]  # sentences after the headline
    warnings: tuple[str, ...]
    comparison: str  # the comparison teams as a group, in words
    reason: str  # why these comparison teams
    power: str
    measures: list[MeasureRow]
    event_svg: Markup
    event_legend: list[tuple[Markup, str]]  # (symbol, text) beside the chart
    event: list[dict[str, Any]]  # e, estimate, ci_low, ci_high, n_treated, n_control
    pretrend: str
    personal: list[PersonalRow]
    source: str  # 'from run X' or 'computed on the current data'
    run_id: str | None  # the run that stored the figures; None: computed live
    data_as_of: str | None  # the data's as-of time (ISO, UTC)
    stopped: str  # '' or 'stopped 3 Nov 2026 by web:...'
    end: str


def _day(iso: str | None) -> str:
    if not iso:
        return ""
    try:
        return words.short_day(date.fromisoformat(iso[:10]), year=True)
    except ValueError:
        return iso[:10]


def as_of_date(figs: ExperimentFigures | None, today: date) -> date:
    """The day the figures are of (the data's as-of time), else ``today``."""
    if figs is not None and isinstance(figs.data_as_of, datetime):
        return figs.data_as_of.date()
    return today


def progress(
    exp: Experiment,
    figs: ExperimentFigures | None,
    plans: Sequence[Plan],
    today: date,
    lag_days: int | None,
) -> str:
    """How far the experiment is at the figures' as-of day (else ``today``), as the report and
    the brief say it (``progress_words``): its weeks of new deals that have had the horizon
    against the weeks its plan needs. ``lag_days`` None: the figures' own count stands in."""
    outcome = ((figs.figures if figs else None) or {}).get("measures", {}).get("outcome") or {}
    return progress_words(
        exp.first_start(),
        as_of_date(figs, today),
        lag_days=lag_days,
        end=exp.end_date,
        planned=planned_weeks(plans) if exp.kind == "team" else None,
        counted=int(outcome.get("weeks_mature") or 0),
    )


def line(
    exp: Experiment,
    snap: Snapshot,
    figs: ExperimentFigures | None,
    plans: Sequence[Plan],
    names: dict[str, str],
    today: date,
    *,
    lag_days: int | None = None,
    show_who: bool = False,
) -> Line:
    """An experiment in a list. ``names``: practice id -> name; ``lag_days``: the days a week
    of new deals takes to be mature (``compare.lag_days``); ``show_who``: name who made it
    (``may_know_who``)."""
    if exp.kind == "personal":
        who = f"{snap.rep_name(exp.rep_id or '')}’s own"
    else:
        who = words.listing([snap.team_name(t) for t in exp.teams()])
    teams = [
        TeamStart(w.team_id, snap.team_name(w.team_id), w.wave, w.start_date)
        for w in exp.waves
        if w.team_id
    ]
    return Line(
        experiment_id=exp.experiment_id,
        name=exp.name,
        kind=exp.kind,
        practice=exp.practice_id,
        practice_name=names.get(exp.practice_id, exp.practice_id),
        outcome=words.outcome_name(exp.outcome, exp.horizon_days),
        who=who,
        teams=teams,
        status=exp.status,
        progress=progress(exp, figs, plans, today, lag_days),
        verdict=figs.verdict if figs else "",
        headline=figs.headline if figs else PENDING,
        made=f"made {_day(exp.created_at)}" + (f" by {exp.created_by}" if show_who else ""),
    )


def event_rows(figs: ExperimentFigures, measure: str = "outcome") -> list[dict[str, Any]]:
    """The event study of a measure (weeks since the start), JSON-able."""
    ef = figs.effects
    if ef is None or not len(ef) or "aggregation" not in ef:
        return []
    ev = ef[(ef["measure"] == measure) & (ef["aggregation"] == "event")].sort_values("e")
    out = []
    for r in ev.itertuples(index=False):
        e = finite(r.e)
        if e is None:
            continue
        nt, nc = finite(r.n_treated), finite(r.n_control)
        out.append(
            {
                "e": int(e),
                "estimate": finite(r.estimate),
                "ci_low": finite(r.ci_low),
                "ci_high": finite(r.ci_high),
                "n_treated": None if nt is None else int(nt),
                "n_control": None if nc is None else int(nc),
            }
        )
    return out


def event_svg(rows: list[dict[str, Any]], outcome: str, name: str) -> Markup:
    """The week-by-week effect with its 95% intervals, drawn as the report draws it
    (``report.experiments.event_chart``; its legend: ``legend_entries``)."""
    data = pd.DataFrame(
        [r for r in rows if r["estimate"] is not None],
        columns=["e", "estimate", "ci_low", "ci_high"],
    )
    if data.empty:
        return Markup("")
    description = (
        f"{name}: the effect on {words.short_name(outcome)} week by week against the "
        "comparison teams, with 95% intervals; weeks before the start in grey (they should "
        "sit around zero), weeks since in blue."
    )
    chart = event_chart(data, outcome, description=description, width=640, height=220)
    return Markup(charts.to_svg(chart))


def _pretrend(m: dict[str, Any] | None, outcome: str) -> str:
    """The report's pre-trend sentence (one wording everywhere), or "" without a slope."""
    trend = (m or {}).get("pretrend") or {}
    if finite(trend.get("slope")) is None:
        return ""
    return pretrend_sentence(StoredMeasure.of(outcome, m or {}), outcome)


def _personal_rows(p: dict[str, Any], outcome: str, horizon: int) -> list[PersonalRow]:
    unit = str(p.get("unit") or "deals")

    def of(x: Any, n: Any, kind: str) -> str:
        v = finite(x)
        return "not known" if v is None else f"{words.level(v, kind)} of {int(n or 0):,} {unit}"

    name = words.short_name(outcome)
    if outcome == "win_rate":
        name = f"win rate within {horizon} days"
    rows = [
        PersonalRow(
            "You did the practice on",
            of(p.get("practice_before"), p.get("deals_before"), "adoption").replace(unit, "deals"),
            of(p.get("practice_after"), p.get("deals_after"), "adoption").replace(unit, "deals"),
        ),
        PersonalRow(
            f"Your {name}",
            of(p.get("outcome_before"), p.get("n_before"), outcome),
            of(p.get("outcome_after"), p.get("n_after"), outcome),
        ),
    ]
    if p.get("peers"):
        rows.append(
            PersonalRow(
                f"Your {int(p['peers'])} peers’ {name} (as a group)",
                words.level(finite(p.get("peers_before")), outcome),
                words.level(finite(p.get("peers_after")), outcome),
            )
        )
    return rows


def _source(figs: ExperimentFigures | None) -> str:
    if figs is None:
        return ""  # the headline says it: PENDING
    if figs.stored:
        return f"Figures stored by analysis run {figs.run_id}."
    return "Figures computed on the current data (the next analysis run stores them)."


def page(
    exp: Experiment,
    snap: Snapshot,
    figs: ExperimentFigures | None,
    plans: Sequence[Plan],
    names: dict[str, str],
    today: date,
    *,
    chart: bool = True,
    lag_days: int | None = None,
    show_who: bool = False,
) -> Page:
    """An experiment's page (the caller checked ``may_see``); ``chart``: with the event study
    drawn (the API has the figures only). ``figs`` None: the latest run has none (PENDING).
    ``lag_days`` and ``show_who`` as for ``line``."""
    f = (figs.figures if figs else None) or {}
    measures = f.get("measures") or {}
    rows = [
        measure_row(
            StoredMeasure.of(
                "adoption" if key == "adoption" else exp.outcome, measures[key], figures=f
            )
        )
        for key in ("adoption", "outcome")
        if isinstance(measures.get(key), dict)
    ]
    comparison = [t for t in f.get("comparison") or () if t]
    if not comparison:  # no figures yet: every wave's plan's, as the analysis will use them
        comparison = list(comparison_teams(exp, plans))
    reason = ""
    if plans:
        reason = str((plans[-1].plan or {}).get("reason") or "")
    if exp.kind == "personal":
        group = ""
    elif comparison:
        group = (
            f"Compared with {words.count(len(comparison), 'team')} as one group "
            f"({'the most similar' if exp.comparison == 'similar' else 'every other team'}), "
            "and with the experiment's own teams until each starts."
        )
    else:
        group = "Compared with the experiment's own later teams until each starts."
    event = event_rows(figs) if figs else []
    svg = event_svg(event, exp.outcome, exp.name) if chart and exp.kind == "team" else Markup("")
    personal = f.get("personal")
    return Page(
        line=line(exp, snap, figs, plans, names, today, lag_days=lag_days, show_who=show_who),
        experiment=exp,
        lines=figs.lines if figs else (),
        warnings=figs.warnings if figs else (),
        comparison=group,
        reason=reason,
        power=str(f.get("power") or ""),
        measures=rows,
        event_svg=svg,
        event_legend=legend_entries() if svg else [],
        event=event,
        pretrend=_pretrend(measures.get("outcome"), exp.outcome),
        personal=(
            _personal_rows(personal, exp.outcome, exp.horizon_days)
            if isinstance(personal, dict)
            else []
        ),
        source=_source(figs),
        run_id=figs.run_id if figs else None,
        data_as_of=figs.data_as_of.isoformat() if figs and figs.data_as_of else None,
        stopped=(
            f"Stopped {_day(exp.stopped_at)}" + (f" by {exp.stopped_by}." if show_who else ".")
            if exp.status == "stopped"
            else ""
        ),
        end=words.day(exp.end_date) if exp.end_date else "",
    )


def next_monday(today: date) -> date:
    return today + timedelta(days=(7 - today.weekday()) % 7 or 7)


__all__ = [
    "Line",
    "MeasureRow",
    "Page",
    "PracticeChoice",
    "event_rows",
    "line",
    "may_change",
    "may_know_who",
    "may_make",
    "may_see",
    "page",
    "practice_choices",
    "progress",
    "teams_to_offer",
    "visible",
]
