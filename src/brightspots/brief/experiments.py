"""Section 6, actions: the practice experiments of the brief's scope, one line each, and the
nudge to test a suggested practice as an experiment.

Read from the brief's run (``experiment_status``, ``experiment_effects``: optional run tables,
so a run made before experiments existed gives no line). A line is about a team experiment
with a treated team in the scope (every one for the whole company): its teams, its weeks, the
uptake of the practice against the comparison teams and where the outcome stands, e.g.
"Multithreading (Nordics, Iberia; 9 weeks of new deals planned; none mature yet): adoption +24
points against the comparison teams; win rate: too early (first figures around 7 Feb)."
Personal experiments hold a rep's own numbers and never reach a brief. A suggested practice
that no running experiment of the scope tests gets ``Action.experiment_hint`` ("to see whether
it works here, try it as an experiment").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING

from brightspots.brief.model import Action, ExperimentLine
from brightspots.experiments import words as xw
from brightspots.report.experiments import Stored, StoredMeasure, interval_words, stored

if TYPE_CHECKING:
    from brightspots.brief.source import Scope
    from brightspots.workspace import Run, Workspace

#: the nudge after a suggested practice no experiment tests: before, the command, after (a
#: space goes between the command and what follows)
HINT = (
    "to see whether it works here, try it as an experiment (",
    "brightspots experiment create",
    "or the web app)",
)


def hint_text() -> str:
    """The nudge as plain text, the command in backticks."""
    return f"{HINT[0]}`{HINT[1]}` {HINT[2]}"


def in_scope(
    found: Sequence[Stored], teams: frozenset[str] | None, *, since: date | None = None
) -> list[Stored]:
    """The team experiments with a treated team in ``teams`` (None: the whole company), running
    or stopped on or after ``since``."""
    out = []
    for s in found:
        if s.kind == "personal":
            continue
        if teams is not None and not set(s.treated) & teams:
            continue
        if s.status != "active":
            if since is None or s.stopped_on is None or s.stopped_on < since:
                continue
        out.append(s)
    return out


def _day(d: date, ref: date | None) -> str:
    return xw.short_day(d, year=ref is not None and d.year != ref.year)


def _adoption(m: StoredMeasure | None, ref: date | None) -> str:
    if m is None:
        return ""
    if m.estimate is not None:
        return f"adoption {xw.points(m.estimate)} against the comparison teams"
    if m.first_figures is not None:
        return f"adoption: too early (first figures around {_day(m.first_figures, ref)})"
    return "adoption: not measured yet"


def _outcome(s: Stored, ref: date | None) -> str:
    name = xw.short_name(s.outcome)
    m = s.measures.get("outcome")
    figures = ""
    if m is not None and m.estimate is not None:
        figures = f"{xw.change(m.estimate, s.outcome)}, {interval_words(m, s.outcome)}"
    code = s.verdict
    if code == "worked":
        return f"{name}: it worked ({figures})"
    if code == "worse":
        return f"{name}: it made things worse ({figures})"
    if code == "no_effect_yet":
        return (
            f"{name}: no detectable effect yet ({figures})"
            if figures
            else f"{name}: no detectable effect yet"
        )
    if code == "too_early":
        when = m.first_figures if m is not None else None
        return f"{name}: too early" + (f" (first figures around {_day(when, ref)})" if when else "")
    if code == "not_adopted":
        return f"{name}: no test, as the practice was not taken up"
    if code == "unfair_comparison":
        return (
            f"{name}: no fair comparison (the teams were already drifting apart before the start)"
        )
    if code == "no_comparison":
        return "no team to compare with, so no test"
    if code == "too_few_teams":
        return "one team cannot be told apart from its own luck: add a team"
    if code == "failed":
        return "its results could not be computed in this run"
    return f"{name}: {s.headline}"


def line(s: Stored, names: Mapping[str, str]) -> ExperimentLine:
    """One experiment in one line."""
    teams = ", ".join(names.get(t, t) for t in s.treated)
    ref = s.data_as_of.date() if s.data_as_of is not None else None
    if s.verdict == "not_started" or (not s.started() and s.first_start is not None):
        first = s.first_start
        when = f"starts {_day(first, ref)}" if first else "not started"
        text = f"{s.name} ({teams}; {when}): nothing to measure yet."
    else:
        # the weeks of new deals that count, as the plan counts them (the outcome says when
        # its first figures come)
        progress = s.progress(upcoming=False, day=lambda d: _day(d, ref))
        if s.status != "active" and not progress.startswith("ended"):
            progress += "; stopped"
        where = "; ".join(p for p in (teams, progress.removeprefix("; ")) if p)
        parts = [p for p in (_adoption(s.measures.get("adoption"), ref), _outcome(s, ref)) if p]
        if s.verdict in ("no_comparison", "too_few_teams", "failed"):
            parts = [_outcome(s, ref)]
        text = f"{s.name} ({where}): {'; '.join(parts)}."
    return ExperimentLine(s.experiment_id, s.name, s.practice_id, s.verdict, text)


def lines(found: Sequence[Stored], names: Mapping[str, str]) -> list[ExperimentLine]:
    return [line(s, names) for s in found]


def with_hints(actions: Sequence[Action], found: Sequence[Stored]) -> list[Action]:
    """The suggested actions, each practice that no running experiment of the scope tests
    marked with the nudge to try it as one."""
    tested = {s.practice_id for s in found if s.status == "active"}
    return [
        replace(a, experiment_hint=True)
        if a.source == "suggested" and a.practice_id and a.practice_id not in tested
        else a
        for a in actions
    ]


def of_run(ws: Workspace, run: Run, sc: Scope, *, since: date) -> list[Stored]:
    """The run's team experiments of the scope (``in_scope``); none when the run stored none."""
    from brightspots.brief import source

    status = source.run_frame(ws, run, "experiment_status")
    if status is None or status.empty:
        return []
    effects = source.run_frame(ws, run, "experiment_effects")
    teams = None if sc.company else frozenset(sc.team_ids())
    return in_scope(stored(status, effects), teams, since=since)
