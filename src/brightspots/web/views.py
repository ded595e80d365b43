"""Display-ready content of the web pages, built from one generation of the workspace.

Pure of HTTP: the pages (``pages``) and the JSON API (``api``) both use these builders, after
``access`` has said the user may see what is asked. The naming rule of the report holds on
every page that more than one person sees: a rep is named only as a bright spot or a candidate
(above expected and beyond chance), never below expected or below the peer median.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from markupsafe import Markup

from brightspots import personal
from brightspots.report import charts, effort_charts, fmt
from brightspots.report import effort_frames as ef
from brightspots.report import personal as report_personal
from brightspots.report.funnel import funnel_chart
from brightspots.teams import below
from brightspots.web import care as web_care
from brightspots.web.data import Snapshot
from brightspots.workspace import Workspace

LABELS = {"bright_spot": "bright spot", "candidate": "candidate"}
MIN_SHARED = 5  # reps measured before a team page shows how many of them do a practice
NO_RUN = "No analysis yet: an admin imports data and runs the analysis."


@dataclass(frozen=True)
class Meter:
    """A rep's own page: what they achieve from what they do, against peers like them."""

    rep_id: str
    name: str
    team_id: str
    team_name: str
    run_id: str
    window: str
    label: str  # "bright spot", "candidate" or ""
    results: str
    effort: str
    peers: str
    daily_svg: Markup
    legend: list[tuple[Markup, str]]
    lines: list[report_personal.LineView]
    suggestions: list[report_personal.LineView]
    note: str = ""  # why parts are missing
    care: web_care.MeterCare | None = None  # None: the latest run has no care answers


def _daily_svg(
    ws: Workspace, run_id: str, rep_id: str, name: str, peers_rate: float | None
) -> Markup:
    if not ws.has_table("effort_impact"):
        return Markup("")
    effort = ws.run_rows(
        "effort_impact", run_id, where="grain = 'rep' AND unit_id = ?", params=[rep_id]
    )
    s = ef.span(effort, weeks=13, grain="rep")
    if s is None:
        return Markup("")
    days = ef.daily(effort, "rep", rep_id, s)
    weekly = ef.weekly(effort, "rep", rep_id, s)
    rates = weekly["rate"].to_numpy(float)
    if peers_rate is not None and not math.isnan(peers_rate):
        rates = np.append(rates, peers_rate)
    top = ef.rate_top(rates) if len(rates) else 1.0
    chart = effort_charts.daily_chart(
        days,
        weekly,
        first=s.first,
        last=s.last,
        rate_top=top,
        description=(
            f"{name}: touches a day over the last {fmt.plural(s.weeks, 'week')}, split by what "
            "became of them (buyer impact, followed, in the dark, too recent to tell); the line "
            "is the impact rate by week, the dashed line the peers' rate."
        ),
        width=640,
        height=170,
        peers_rate=peers_rate,
    )
    return Markup(charts.to_svg(chart))


def meter(
    ws: Workspace,
    snap: Snapshot,
    rep_id: str,
    tables: Callable[[], dict[str, pd.DataFrame]] | None = None,
) -> Meter:
    """The meter of ``rep_id`` (the caller checked access). ``tables``: the run's personal-view
    tables (``personal.run_tables``), when the caller keeps them for every rep."""
    name, team = snap.rep_name(rep_id), snap.org.rep_team.get(rep_id, "")
    empty = Meter(
        rep_id, name, team, snap.team_name(team) if team else "", "", "", "", "", "", "",
        Markup(""), [], [], [],
    )  # fmt: skip
    if snap.run is None:
        return _with_note(empty, NO_RUN)
    run = snap.run
    own_care = web_care.meter_care(ws, snap, rep_id)
    try:
        frames = tables() if tables is not None else personal.run_tables(ws, run)
        view = personal.build(
            rep_id, run_id=run.run_id, window=personal.window_words(run), tables=frames
        )
    except personal.PersonalError as e:
        note = f"No personal view in the latest run: {e}."
        return Meter(**{**empty.__dict__, "note": note, "care": own_care})
    suggested = {p.practice for p in view.suggestions}
    lines = [report_personal.line_view(p, suggested) for p in view.practices]
    by_id = {line.practice: line for line in lines}
    return Meter(
        rep_id=rep_id,
        name=name,
        team_id=team,
        team_name=snap.team_name(team) if team else "",
        run_id=view.run_id,
        window=view.window,
        label=LABELS.get(view.results.label, ""),
        results=report_personal.results_text(view.results),
        effort=report_personal.effort_text(view.effort),
        peers=(
            f"Peers: the {fmt.plural(view.peers, 'rep')} most like you in {view.peer_basis} "
            "(never in results). Peers appear only as a group."
        ),
        daily_svg=_daily_svg(ws, view.run_id, rep_id, name, view.effort.peers_impact_rate),
        legend=[(Markup(sym), text) for sym, text in effort_charts.legend_entries(peers=True)],
        lines=lines,
        suggestions=[by_id[p.practice] for p in view.suggestions],
        care=own_care,
    )


def _with_note(m: Meter, note: str) -> Meter:
    return Meter(**{**m.__dict__, "note": note})


# ----------------------------------------------------------------------------- team pages


@dataclass(frozen=True)
class Named:
    """A rep or team named on a shared page: bright spots and candidates only."""

    unit_id: str
    name: str
    label: str
    oe: str
    reason: str


@dataclass(frozen=True)
class PracticeNote:
    practice: str
    description: str
    sentence: str
    team_share: str  # share of the team's reps who do it on most deals


@dataclass(frozen=True)
class TeamPage:
    team_id: str
    name: str
    parent: tuple[str, str] | None
    subteams: list[tuple[str, str]]
    n_reps: int
    run_id: str
    result: str  # the team's results against expected, in words
    bright_spots: list[Named]
    practices: list[PracticeNote]
    note: str = ""
    reps: list[tuple[str, str]] = field(default_factory=list)  # (id, name): managers only
    funnel_svg: Markup = Markup("")  # managers only
    care: web_care.TeamCare | None = None  # care bright spots; None: no care answers in the run


def _f(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _team_result(units: pd.DataFrame | None, team_id: str, name: str) -> str:
    if units is None:
        return NO_RUN
    # one row per unit: its win-rate statistics, whatever outcome its label rests on
    rows = units[(units["level"] == "team") & (units["unit_id"] == team_id)]
    if rows.empty:
        return f"{name} is not assessed as a team in the latest run (too few closed deals)."
    r = rows.iloc[0]
    observed, expected = _f(r["observed"]), _f(r["expected"])
    text = (
        f"{name} won {fmt.integer(observed)} deals against {fmt.decimal(expected)} expected for "
        f"its territory and deal mix (O/E {fmt.ratio(_f(r['oe']))})."
    )
    label = LABELS.get(str(r["label"]), "")
    if label:
        text += f" The team is a {label}: above expected, beyond chance."
    return text


def _rep_units(units: pd.DataFrame | None) -> pd.DataFrame:
    if units is None:
        return pd.DataFrame(columns=["unit_id", "name", "label", "oe", "reason"])
    reps = units[units["level"] == "rep"]
    return reps.drop_duplicates("unit_id")


def _named(units: pd.DataFrame | None, reps: list[str]) -> list[Named]:
    rows = _rep_units(units)
    rows = rows[rows["unit_id"].isin(reps) & rows["label"].isin(list(LABELS))]
    out = [
        Named(
            str(r.unit_id),
            str(r.name),
            LABELS[str(r.label)],
            fmt.ratio(_f(r.oe)),
            str(r.reason) if isinstance(r.reason, str) else "",
        )
        for r in rows.itertuples(index=False)
    ]
    return sorted(out, key=lambda n: (n.label != "bright spot", n.name.casefold()))


def _practices(ws: Workspace, snap: Snapshot, reps: list[str]) -> list[PracticeNote]:
    """Practices linked with winning (q < 0.05, not suspect), with how many of the team's reps
    do each on most of their deals (a share, never a name)."""
    if snap.run is None or not ws.has_table("practice_effects"):
        return []
    effects = ws.run_results("practice_effects", snap.run.run_id)
    proven = effects[(effects["q"] < 0.05) & ~effects["suspect"].astype(bool)]
    if proven.empty:
        return []
    use = (
        ws.run_results("practice_reps", snap.run.run_id)
        if ws.has_table("practice_reps")
        else pd.DataFrame(columns=["rep_id", "practice", "does"])
    )
    mine = use[use["rep_id"].isin(reps)]
    out = []
    for p in proven.sort_values("q").itertuples(index=False):
        rows = mine[mine["practice"] == p.practice]
        if len(rows) >= MIN_SHARED:
            share = (
                f"{fmt.plural(int(rows['does'].astype(bool).sum()), 'rep')} of {len(rows)} in the "
                "team do this on most deals"
            )
        else:  # in a very small team a share would tell who does it
            share = f"fewer than {MIN_SHARED} reps of the team measured"
        out.append(PracticeNote(str(p.practice), str(p.description), str(p.sentence), share))
    return out


def _funnel_svg(snap: Snapshot, ws: Workspace, reps: list[str], name: str) -> Markup:
    rows = _rep_units(snap.units)
    rows = rows[rows["unit_id"].isin(reps)]
    if rows.empty or not ws.has_table("funnel_curve") or snap.run is None:
        return Markup("")
    curve = ws.run_results("funnel_curve", snap.run.run_id)
    curve = curve[(curve["level"] == "rep") & (curve["outcome"] == "win_rate")]
    if curve.empty:
        return Markup("")
    min_volume = int(snap.run.diagnostics.get("min_volume") or 20)
    frame = pd.DataFrame(
        {
            "expected": rows["expected"].astype(float).to_numpy(),
            "oe": rows["oe"].astype(float).to_numpy(),
            "closed": rows["closed"].fillna(0).astype(int).to_numpy(),
            "label": rows["label"].fillna("").astype(str).to_numpy(),
            "name": rows["name"].astype(str).to_numpy(),
        }
    )
    chart = funnel_chart(
        frame,
        curve,
        min_volume=min_volume,
        description=(
            f"Funnel plot of the {fmt.plural(len(frame), 'rep')} of {name}: deals won divided by "
            "deals expected, against expected wins, with the company's 95% and 99.8% limits. "
            "Only bright spots and candidates are named."
        ),
        width=640,
        height=380,
    )
    return Markup(charts.to_svg(chart))


def team_page(
    ws: Workspace,
    snap: Snapshot,
    team_id: str,
    *,
    coach: bool = False,
) -> TeamPage:
    """The page of ``team_id`` (with its sub-teams). ``coach``: the manager's version, with the
    funnel plot of the team's reps and links to each rep's meter."""
    name = snap.team_name(team_id)
    teams = below(team_id, snap.org.parents)
    reps = snap.reps_in(teams)
    parent_id = snap.org.parents.get(team_id)
    subs = sorted(
        ((t, snap.team_name(t)) for t, p in snap.org.parents.items() if p == team_id),
        key=lambda x: x[1].casefold(),
    )
    return TeamPage(
        team_id=team_id,
        name=name,
        parent=(parent_id, snap.team_name(parent_id)) if parent_id else None,
        subteams=subs,
        n_reps=len(reps),
        run_id=snap.run.run_id if snap.run else "",
        result=_team_result(snap.units, team_id, name),
        bright_spots=_named(snap.units, reps),
        practices=_practices(ws, snap, reps),
        note="" if snap.run else NO_RUN,
        reps=[(r, snap.rep_name(r)) for r in reps] if coach else [],
        funnel_svg=_funnel_svg(snap, ws, reps, name) if coach else Markup(""),
        care=web_care.team_care(ws, snap, team_id, reps),
    )
