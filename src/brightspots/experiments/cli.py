"""``brightspots experiment``: make, extend, list, show and stop practice experiments.

Each command parses its options, calls ``store`` (definitions in app state), ``compare`` (the
plan, frozen when a wave is added) or ``evaluate`` (the result on the committed data), and
prints. Errors are ``ExperimentError`` (one line, from ``brightspots.cli.main``). Heavy modules
are imported inside the commands, so ``brightspots --help`` stays quick.
"""

from __future__ import annotations

import getpass
import json
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from brightspots.experiments.config import COMPARISONS, OUTCOMES, ExperimentError, parse_horizon

if TYPE_CHECKING:
    from brightspots.experiments.store import Experiment, Plan
    from brightspots.workspace import Workspace

experiment_app = typer.Typer(
    help="Practice experiments: teams try a practice from a start date and are compared, "
    "fairly, with similar teams that did not (yet): did it work here?",
    no_args_is_help=True,
)
out = Console(width=None if sys.stdout.isatty() else 120, highlight=False)

WorkspaceOpt = Annotated[
    Path, typer.Option("--workspace", "-w", help="The workspace folder (made by `init`).")
]
NameArg = Annotated[str, typer.Argument(help="The experiment's name (any case) or id (EX-...).")]
ByOpt = Annotated[
    str | None,
    typer.Option(
        "--by", help="Who does it, as recorded with the experiment (default: your login name)."
    ),
]
TeamsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--teams",
        help="The teams that try the practice: ids or names, comma-separated or repeated "
        "(teams with reps; a parent team is refused with its teams named).",
    ),
]


def _by(by: str | None) -> str:
    """'cli:' and who: ``--by``, else the login name."""
    if by is None or not by.strip():
        try:
            by = getpass.getuser()
        except (KeyError, OSError):  # no login name (a container without a passwd entry)
            by = "unknown"
    return f"cli:{by.strip()}"


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ExperimentError(f"{option} {text!r}: use a date like 2026-03-02") from None


def _split(values: list[str] | None) -> list[str]:
    return [t.strip() for v in values or [] for t in v.split(",") if t.strip()]


def _open(workspace: Path) -> Workspace:
    from brightspots.workspace import Workspace

    return Workspace.open(workspace)


def _team_names(ws: Workspace) -> dict[str, str]:
    import pandas as pd

    t = ws.execute(ws.table("teams").select("team_id", "name"))
    return {
        str(i): str(n)
        for i, n in zip(t["team_id"], t["name"], strict=True)
        if pd.notna(i) and pd.notna(n) and str(n) != str(i)
    }


def _teams_words(ids: tuple[str, ...] | list[str], names: dict[str, str]) -> str:
    return ", ".join(f"{names[i]} ({i})" if i in names else i for i in ids) or "none"


def _plan_lines(plan: Plan | None, names: dict[str, str]) -> list[str]:
    """The plan in words: the comparison teams and why, the power words, its warnings."""
    if plan is None:
        return []
    body: dict[str, Any] = plan.plan or {}
    lines = []
    if plan.comparison_teams:
        lines.append(f"Compared with: {_teams_words(plan.comparison_teams, names)}.")
    for key in ("reason", "power"):
        value = body.get(key)
        if isinstance(value, dict):
            value = value.get("words") or value.get("sentence")
        if isinstance(value, str) and value:
            lines.append(value)
    lines += [f"warning: {w}" for w in body.get("warnings", []) or [] if isinstance(w, str)]
    return lines


def _print(lines: list[str]) -> None:
    for line in lines:
        out.print(escape(line), soft_wrap=True)


def _print_plan(head: str, plan: Plan | None, names: dict[str, str]) -> None:
    """What ``create`` and ``extend`` print: ``head`` (what was made), then the plan."""
    _print([head, *_plan_lines(plan, names)])


def _what(exp: Experiment, names: dict[str, str]) -> str:
    from brightspots.experiments import words

    who = f"rep {exp.rep_id}" if exp.kind == "personal" else _teams_words(list(exp.teams()), names)
    starts = sorted({w.start_date for w in exp.waves})
    when = ", ".join(words.day(d) for d in starts)
    end = f" to {words.day(exp.end_date)}" if exp.end_date else ""
    return (
        f"{who} {'tries' if exp.kind == 'personal' else 'try'} {exp.practice_id} from {when}"
        f"{end}; outcome: {words.outcome_name(exp.outcome, exp.horizon_days)}"
    )


# ---------------------------------------------------------------------------- create
@experiment_app.command("create")
def create(
    workspace: WorkspaceOpt,
    name: Annotated[str, typer.Option("--name", help="A name for the experiment (unique).")],
    practice: Annotated[
        str, typer.Option("--practice", help="The practice tried: its id (e.g. multithreading).")
    ],
    start: Annotated[
        str,
        typer.Option(
            "--start",
            help="The local date the teams start (YYYY-MM-DD); a start that is not a Monday "
            "counts from the next Monday.",
        ),
    ],
    teams: TeamsOpt = None,
    rep: Annotated[
        str | None,
        typer.Option(
            "--rep", help="A personal experiment instead: the rep who tries it (id or name)."
        ),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option("--end", help="A planned end date (YYYY-MM-DD); default: open-ended."),
    ] = None,
    outcome: Annotated[
        str,
        typer.Option(
            "--outcome", help=f"What should improve: {', '.join(OUTCOMES)} (default win_rate)."
        ),
    ] = "win_rate",
    horizon: Annotated[
        str | None,
        typer.Option(
            "--horizon",
            help="win_rate: deals won within this long of creation, e.g. 90d "
            "(default: \\[experiments] horizon).",
        ),
    ] = None,
    comparison: Annotated[
        str | None,
        typer.Option(
            "--comparison",
            help="similar (the teams most like them before the start) or all (every other "
            "team); default: \\[experiments] comparison.",
        ),
    ] = None,
    by: ByOpt = None,
) -> None:
    """Make an experiment: the teams (or one rep) try a practice from a date. Prints the plan:
    the comparison teams and why, and after how many weeks an effect could be seen."""
    from brightspots.experiments import store
    from brightspots.experiments.config import ExperimentSettings

    if outcome not in OUTCOMES:
        raise ExperimentError(f"--outcome {outcome!r}: use one of {', '.join(OUTCOMES)}")
    if comparison is not None and comparison not in COMPARISONS:
        raise ExperimentError(f"--comparison {comparison!r}: use one of {', '.join(COMPARISONS)}")
    begin = _day(start, "--start")
    assert begin is not None
    with _open(workspace) as ws:
        settings = ExperimentSettings.of(ws.config)
        exp = store.draft(
            ws,
            name=name,
            practice=practice,
            start=begin,
            by=_by(by),
            teams=_split(teams),
            rep=rep,
            end=_day(end, "--end"),
            outcome=outcome,
            horizon_days=(
                parse_horizon(horizon, key="--horizon")
                if horizon is not None
                else settings.horizon_days
            ),
            comparison=comparison or settings.comparison,
        )
        from brightspots.experiments import compare

        plan = compare.plan(ws, exp, exp.last_wave, settings=settings, as_of=None)
        store.create(ws, exp, plan)
        names = _team_names(ws)
    _print_plan(
        f"Experiment {exp.name!r} ({exp.experiment_id}) made by {exp.created_by}: "
        f"{_what(exp, names)}.",
        plan,
        names,
    )


# ---------------------------------------------------------------------------- extend
@experiment_app.command("extend")
def extend(
    workspace: WorkspaceOpt,
    name: NameArg,
    teams: TeamsOpt = None,
    start: Annotated[
        str | None, typer.Option("--start", help="The local date the new teams start.")
    ] = None,
    by: ByOpt = None,
) -> None:
    """Add a wave: more teams try the practice from a later date (a team is in one wave only;
    a comparison team that joins leaves the comparison from its start). Prints its plan."""
    import dataclasses

    from brightspots.experiments import store
    from brightspots.experiments.config import ExperimentSettings

    begin = _day(start, "--start")
    if begin is None:
        raise ExperimentError("give the new wave's start (--start YYYY-MM-DD)")
    with _open(workspace) as ws:
        settings = ExperimentSettings.of(ws.config)
        exp = store.find(ws, name)
        waves = store.new_wave(ws, exp, _split(teams), begin, _by(by))
        grown = dataclasses.replace(exp, waves=exp.waves + waves)
        from brightspots.experiments import compare

        plan = compare.plan(ws, grown, waves[0].wave, settings=settings, as_of=None)
        updated = store.extend(ws, exp.experiment_id, waves, plan)
        names = _team_names(ws)
    _print_plan(
        f"Wave {waves[0].wave} of {updated.name!r}: "
        f"{_teams_words([w.team_id for w in waves], names)} from {begin}.",
        plan,
        names,
    )


# ---------------------------------------------------------------------------- list
@experiment_app.command("list")
def list_(
    workspace: WorkspaceOpt,
    all_: Annotated[
        bool, typer.Option("--all", help="Stopped experiments too (default: active ones).")
    ] = False,
) -> None:
    """List the experiments: who tries which practice from when, and who made them."""
    from brightspots.experiments import store

    with _open(workspace) as ws:
        experiments = [e for e in store.load(ws) if all_ or e.status == "active"]
    if not experiments:
        out.print(
            "No experiments yet; make one with `brightspots experiment create`."
            if all_
            else "No active experiments (`--all` lists stopped ones too)."
        )
        return
    for e in experiments:
        by_start: dict[date, list[str]] = {}
        for w in sorted(e.waves, key=lambda w: (w.start_date, w.team_id)):
            by_start.setdefault(w.start_date, []).append(w.team_id)
        who = (
            f"rep {e.rep_id} from {e.first_start()}"
            if e.kind == "personal"
            else "; ".join(f"{', '.join(ts)} from {d}" for d, ts in by_start.items())
        )
        end = f", to {e.end_date}" if e.end_date else ""
        status = (
            f"stopped {(e.stopped_at or '')[:10]} by {e.stopped_by}"
            if e.status == "stopped"
            else "active"
        )
        _print(
            [
                f"{e.name} ({e.experiment_id}), {status}",
                f"  {e.practice_id}, outcome {e.outcome}: {who}{end}",
                f"  made {e.created_at[:10]} by {e.created_by}",
            ]
        )


# ---------------------------------------------------------------------------- show
@experiment_app.command("show")
def show(
    workspace: WorkspaceOpt,
    name: NameArg,
    run: Annotated[
        str | None,
        typer.Option(
            "--run", help="The analysis run read for buyer impact and deal mix (default: latest)."
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the result as JSON instead of words.")
    ] = False,
) -> None:
    """Show an experiment's result on the current data: the verdict, adoption and outcome
    before and after against the comparison teams, the week-by-week effect, the check of the
    weeks before the start, and warnings."""
    from brightspots.experiments import store
    from brightspots.experiments.config import ExperimentSettings

    with _open(workspace) as ws:
        settings = ExperimentSettings.of(ws.config)
        exp = store.find(ws, name)
        chosen = None
        if run is not None:
            chosen = ws.find_run(run)
            if chosen is None:
                raise ExperimentError(f"no run {run!r} in {ws.root}; `brightspots runs` lists them")
        from brightspots.experiments import evaluate

        result = evaluate.result(
            ws, exp, store.plans(ws, exp.experiment_id), settings=settings, run=chosen
        )
        names = _team_names(ws)
    if as_json:
        body = {
            "experiment_id": exp.experiment_id,
            "name": exp.name,
            "verdict": result.verdict,
            "headline": result.headline,
            "warnings": list(result.warnings),
            "definition_digest": exp.digest(),
            "data_as_of": result.data_as_of,
            **result.figures(),
        }
        sys.stdout.write(json.dumps(body, default=str, indent=2) + "\n")
        return
    _print_result(result, names)


def _print_result(result: Any, names: dict[str, str]) -> None:
    """The result in words and tables (``model.ExperimentResult``)."""
    from brightspots.experiments import words

    exp = result.experiment
    out.print(
        f"[bold]{escape(exp.name)}[/] ({exp.experiment_id}): {escape(_what(exp, names))}.",
        soft_wrap=True,
    )
    if result.comparison:
        out.print(
            f"Compared with {len(result.comparison)} teams: "
            f"{escape(_teams_words(list(result.comparison), names))}.",
            soft_wrap=True,
        )
    _print(["", result.headline, *result.lines])
    if result.personal is not None and result.personal.text != result.headline:
        _print([result.personal.text])
    measures = [m for m in (result.adoption, result.outcome) if m is not None]
    if measures:
        table = Table(
            "measure",
            "teams in it, before",
            "after",
            "comparison, before",
            "after",
            "difference in change",
            "interval",
            "mature weeks",
            title="Before and after the start",
        )
        for m in measures:
            kind = "adoption" if m.name == "adoption" else exp.outcome
            table.add_row(
                words.short_name(kind),
                words.level(m.treated_before, kind),
                words.level(m.treated_after, kind),
                words.level(m.comparison_before, kind),
                words.level(m.comparison_after, kind),
                words.change(m.estimate, kind) if m.estimated else "not known",
                words.interval(m.ci_low, m.ci_high, kind, m.level),
                str(m.weeks_mature),
            )
        out.print(table)
    if result.outcome is not None and len(result.outcome.event()):
        event = result.outcome.event()
        table = Table(
            "weeks since start",
            "effect",
            "interval",
            "teams in it",
            "comparison teams",
            title=f"{words.short_name(exp.outcome).capitalize()}, week by week "
            "(negative weeks: before the start)",
        )
        for r in event.itertuples():
            table.add_row(
                f"{int(r.e):+d}" if r.e == r.e else "",
                words.change(r.estimate, exp.outcome),
                words.interval(r.ci_low, r.ci_high, exp.outcome),
                "" if r.n_treated != r.n_treated else f"{int(r.n_treated)}",
                "" if r.n_control != r.n_control else f"{int(r.n_control)}",
            )
        out.print(table)
        trend = result.outcome.pretrend
        if trend and trend.get("slope") is not None:
            flagged = " (flagged: not a fair comparison)" if trend.get("flagged") else ""
            p = trend.get("p")
            out.print(
                f"Before the start the gap moved by {words.change(trend['slope'], exp.outcome)} "
                f"a week{'' if p is None else f' (p = {p:.2f})'}{flagged}.",
                soft_wrap=True,
            )
    if result.power:
        _print([result.power])
    _print([f"warning: {w}" for w in result.warnings])


# ---------------------------------------------------------------------------- stop
@experiment_app.command("stop")
def stop(
    workspace: WorkspaceOpt,
    name: NameArg,
    end: Annotated[
        str | None,
        typer.Option(
            "--end",
            help="Its end (YYYY-MM-DD): the week holding it and the weeks after no longer "
            "count (default: its planned end if past, else today).",
        ),
    ] = None,
    by: ByOpt = None,
) -> None:
    """Stop an experiment: weeks from the one holding its end on no longer count. It stays
    listed (--all) and earlier runs keep its results."""
    from brightspots.experiments import store
    from brightspots.report.experiments import stop_words

    with _open(workspace) as ws:
        exp = store.stop(ws, name, end_date=_day(end, "--end"), by=_by(by))
    assert exp.end_date is not None
    what = f"Stopped {exp.name!r} ({exp.experiment_id}) from {exp.end_date}"
    _print([f"{what}: {stop_words(exp.end_date)}."])
