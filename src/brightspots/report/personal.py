"""One example personal view in the report: what a rep sees of their own results, effort and
practices against the peers most like them in resources (``brightspots.personal``).

The example is the rep with the most suggestions (practices with evidence in their own segment
mix that they use less than their peers); when no rep has one, the first bright spot by name,
else the first rep. Ties go to a labelled rep, then the bigger book, then the rep id. The reps
weighed are the labelled ones and the ``EXAMPLE_POOL`` assessed reps with the most closed deals
(each weighing builds a view; a pool keeps a big organisation's report quick).

The report names only bright spots and candidates (method.md section 5): any other rep's view is
shown with the name, id and team withheld.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from markupsafe import Markup

from brightspots import personal, resources
from brightspots.report import charts, effort_charts, fmt
from brightspots.report import effort_frames as ef
from brightspots.report.context import ReportContext
from brightspots.report.practices import signed

EXAMPLE_POOL = 60
NOT_IN_RUN = (
    "Personal views need the effort, practice and peer tables, which are not in this run: "
    "analyse again (brightspots analyze)."
)


@dataclass(frozen=True)
class LineView:
    """One practice line of the view: the rep's rate against their peers', display-ready."""

    practice: str
    description: str
    you: str
    peers: str
    evidence: str  # '+12 points' in deals like the rep's, or why there is none
    linked: bool
    suggested: bool
    sentence: str


@dataclass(frozen=True)
class ExampleSection:
    note: str  # replaces the section's body when there is nothing to show
    title: str
    named: bool
    why: str
    privacy: str
    command: str  # what prints this view in a terminal
    results: str
    effort: str
    peers: str
    svg: Markup
    legend: list[tuple[Markup, str]]
    lines: list[LineView]
    suggestions: list[LineView]


def _tables(ctx: ReportContext) -> dict[str, pd.DataFrame] | None:
    frames = {
        "bright_spots": ctx.units("rep"),
        "effort_impact": ctx.effort_impact,
        "rep_resources": ctx.rep_resources,
        "practice_reps": ctx.practice_reps,
        "practice_effects": ctx.practice_effects,
        "practice_segment_effects": ctx.practice_segment_effects,
    }
    if frames["practice_segment_effects"] is None and ctx.practice_effects is not None:
        frames["practice_segment_effects"] = pd.DataFrame(
            {"practice": [], "segment": [], "pp_diff": []}
        )
    if any(frames[t] is None for t in personal.TABLES):
        return None
    return {k: v for k, v in frames.items() if v is not None}


def _pool(reps: pd.DataFrame, min_volume: int, size: int) -> pd.DataFrame:
    labelled = reps[reps["label"] != ""]
    assessed = reps[(reps["label"] == "") & (reps["closed"] >= min_volume)]
    busiest = assessed.sort_values(["closed", "rep_id"], ascending=[False, True]).head(size)
    return pd.concat([labelled, busiest])


def pick(
    tables: dict[str, pd.DataFrame], *, run_id: str, min_volume: int, pool: int = EXAMPLE_POOL
) -> tuple[str, str]:
    """(rep_id, why) of the example rep; see the module text."""
    reps = tables["bright_spots"]
    if reps.empty:
        raise personal.PersonalError(f"run {run_id} has no rep")
    # a suggestion is a proven practice (q < 0.05, not suspect: ``PracticeLine.proven``), so
    # weighing needs only those, no effort, and of the practice rows the rep's and their peers'
    effects = tables["practice_effects"]
    proven = effects[(effects["q"] < 0.05) & ~effects["suspect"].astype(bool)]
    light = {
        **tables,
        "effort_impact": tables["effort_impact"].iloc[0:0],
        "practice_effects": proven,
    }
    prof, lines = tables["rep_resources"], tables["practice_reps"]
    by_rep = {str(k): g for k, g in lines.groupby("rep_id", sort=False)}
    profiled = set(prof["rep_id"])
    best: tuple | None = None
    weighed = _pool(reps, min_volume, pool) if len(proven) else reps.iloc[0:0]
    for r in weighed.itertuples(index=False):
        peers = resources.nearest_peers(prof, r.rep_id)["rep_id"] if r.rep_id in profiled else []
        mine = [by_rep[x] for x in [r.rep_id, *peers] if x in by_rep]
        light["practice_reps"] = pd.concat(mine) if mine else lines.iloc[0:0]
        view = personal.build(r.rep_id, run_id=run_id, window="", tables=light)
        n = len(view.suggestions)
        key = (-n, r.label == "", -int(r.closed), r.rep_id)
        if n and (best is None or key < best):
            best = key
    if best is not None:
        n = -best[0]
        return str(best[3]), (
            f"This rep has the most suggestions ({n}) of the reps weighed: practices with "
            "evidence in their own segment mix that they use less than their peers."
        )
    spots = reps[reps["label"] == "bright_spot"]
    if len(spots):
        first = spots.assign(_k=spots["name"].str.casefold()).sort_values(["_k", "rep_id"])
        return str(first["rep_id"].iloc[0]), (
            "No rep has a suggestion in this run; this is the first bright spot by name."
        )
    first = reps.sort_values("rep_id")
    return str(first["rep_id"].iloc[0]), (
        "No rep has a suggestion and there is no bright spot in this run; this is the first rep."
    )


def value_text(v: float, kind: str, unit: str) -> str:
    """A practice value as the rep reads it: '22%' for yes/no and shares, else '2.1 people'."""
    if fmt.is_missing(v):
        return "no data"
    if kind in ("binary", "share"):
        return fmt.percent(v)
    return f"{fmt.decimal(v)} {unit}".strip()


def line_view(p: personal.PracticeLine, suggested: set[str]) -> LineView:
    if p.proven and not fmt.is_missing(p.evidence_pp):
        evidence = f"{signed(p.evidence_pp, 0)} points"
    elif p.proven:
        evidence = "linked with winning; no estimate for deals like yours"
    else:
        evidence = "no clear link with winning"
    return LineView(
        practice=p.practice,
        description=p.description,
        you=value_text(p.mine, p.kind, p.unit),
        peers=value_text(p.peers, p.kind, p.unit),
        evidence=evidence,
        linked=p.proven,
        suggested=p.practice in suggested,
        sentence=p.sentence,
    )


def results_text(r: personal.Results) -> str:
    """The rep's results against expectation, in the second person."""
    if not r.closed:
        return "You closed no deal in the window."
    text = (
        f"You won {fmt.integer(r.wins)} of {fmt.plural(r.closed, 'closed deal')}, against "
        f"{fmt.decimal(r.expected)} expected for deals like yours: O/E {fmt.ratio(r.oe)}"
    )
    if not fmt.is_missing(r.shrunk_oe):
        text += (
            f"; allowing for luck, likely between {fmt.ratio(r.shrunk_low)} and "
            f"{fmt.ratio(r.shrunk_high)}"
        )
    text += "."
    if not fmt.is_missing(r.peers_oe_median):
        text += f" Peers like you: median O/E {fmt.ratio(r.peers_oe_median)}."
    if r.label:
        text += f" You are {'a bright spot' if r.label == 'bright_spot' else 'a candidate'}."
    return text


def effort_text(e: personal.Effort) -> str:
    if not e.touches:
        return "No touches in the data."
    peers = (
        f" (peers like you: {fmt.percent(e.peers_impact_rate)})"
        if not fmt.is_missing(e.peers_impact_rate)
        else ""
    )
    return (
        f"In all: {fmt.plural(e.touches, 'touch', 'touches')}, "
        f"{fmt.percent(e.impact_rate)} with buyer impact{peers}, "
        f"{fmt.percent(e.dark_share)} in the dark."
    )


def week_frame(weeks: list[personal.EffortWeek]) -> pd.DataFrame:
    """The weeks of a view in the long form of ``effort_charts.weekly_chart``."""
    parts = []
    for w in weeks:
        followed = max(0, w.touches - w.with_impact - w.in_dark - w.pending)
        counts = (w.with_impact, followed, w.in_dark, w.pending)
        rate = w.with_impact / w.touches if w.touches else math.nan
        for order, ((_, words), n) in enumerate(zip(ef.OUTCOMES, counts, strict=True)):
            parts.append(
                {"week": w.week, "outcome": words, "order": order, "touches": n, "rate": rate}
            )
    return pd.DataFrame(parts, columns=["week", "outcome", "order", "touches", "rate"])


def weekly_svg(view: personal.PersonalView, who: str) -> Markup:
    weeks = week_frame(view.effort.weeks)
    if weeks.empty:
        return Markup("")
    rates = np.append(weeks["rate"].to_numpy(float), view.effort.peers_impact_rate)
    desc = (
        f"{who}: touches by week over the last {fmt.plural(len(view.effort.weeks), 'week')}, "
        f"split by what became of them, with the impact rate by week and the peers' rate."
    )
    chart = effort_charts.weekly_chart(
        weeks,
        rate_top=ef.rate_top(rates),
        peers_rate=view.effort.peers_impact_rate,
        description=desc,
    )
    return Markup(charts.to_svg(chart))


def _empty(note: str) -> ExampleSection:
    return ExampleSection(note, "", False, "", "", "", "", "", "", Markup(""), [], [], [])


def example_section(ctx: ReportContext, *, pool: int = EXAMPLE_POOL) -> ExampleSection:
    tables = _tables(ctx)
    if tables is None:
        return _empty(NOT_IN_RUN)
    run_id = ctx.run.run_id
    d = ctx.diagnostics
    try:
        rep_id, why = pick(tables, run_id=run_id, min_volume=d.min_volume, pool=pool)
        view = personal.build(rep_id, run_id=run_id, window=d.window_words or "", tables=tables)
    except personal.PersonalError as e:
        return _empty(f"No example personal view: {e}.")
    named = view.results.label != ""
    who = view.name if named else "One rep"
    title = f"What {view.name} sees" if named else "What one rep sees"
    command = f"brightspots me --rep {view.rep_id}" if named else "brightspots me --rep <rep id>"
    privacy = (
        "A personal view is for the rep and their managers only: it names no other rep, and "
        "peers appear only as a group (medians and shares). It is shown here as an example."
    )
    if not named:
        privacy += (
            " This report names only bright spots and candidates, so this rep's name, id and "
            "team are withheld."
        )
    suggested = {p.practice for p in view.suggestions}
    lines = [line_view(p, suggested) for p in view.practices]
    by_id = {line.practice: line for line in lines}
    legend = effort_charts.legend_entries(peers=True)
    return ExampleSection(
        note="",
        title=title,
        named=named,
        why=why,
        privacy=privacy,
        command=command,
        results=results_text(view.results),
        effort=effort_text(view.effort),
        peers=(
            f"Peers: the {fmt.plural(view.peers, 'rep')} most like you in {view.peer_basis} "
            "(never in results)."
        ),
        svg=weekly_svg(view, who),
        legend=[(Markup(sym), text) for sym, text in legend],
        lines=lines,
        suggestions=[by_id[p.practice] for p in view.suggestions],
    )
