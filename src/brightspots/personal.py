"""One rep's own view: what they achieve from what they do, against peers just like them.

Peers are the reps nearest in resources (``resources.nearest_peers``: territory potential, book
size, deal size and segment mix at creation, tenure), never in results. Peers appear only as a
group (medians and shares): a personal view names no other rep, and is meant for the rep and their
managers only (method.md section 5).

``build`` is pure: plain frames of one run in, a typed plain-data ``PersonalView`` out, used by the
report, the CLI (``brightspots me``) and the web app. ``personal_view`` reads the run's tables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from brightspots import resources
from brightspots.errors import BrightspotsError

#: weeks of effort shown, counted back from the last week with data
WEEKS = 12
#: the run tables a personal view reads
TABLES = (
    "bright_spots",
    "effort_impact",
    "rep_resources",
    "practice_reps",
    "practice_effects",
    "practice_segment_effects",
)


class PersonalError(BrightspotsError):
    """No personal view for this rep (unknown rep, or the run lacks the tables)."""


@dataclass(frozen=True)
class Results:
    """What the rep achieved in the window, against their own expectation (case mix)."""

    closed: int
    wins: int
    expected: float
    oe: float
    shrunk_oe: float
    shrunk_low: float
    shrunk_high: float
    label: str
    reason: str
    peers_oe_median: float


@dataclass(frozen=True)
class EffortWeek:
    week: str  # ISO label, e.g. "2026-W07"
    start: str  # ISO date of the Monday
    touches: int
    with_impact: int
    in_dark: int
    pending: int
    buyer_events: int
    impact_rate: float


@dataclass(frozen=True)
class Effort:
    """Touches and their buyer impact over the window's last weeks, and peers' impact rate."""

    weeks: list[EffortWeek]
    touches: int
    with_impact: int
    in_dark: int
    impact_rate: float
    dark_share: float
    peers_impact_rate: float


@dataclass(frozen=True)
class PracticeLine:
    """One practice: the rep's own rate against their peers', and the evidence for deals like
    theirs."""

    practice: str
    description: str
    kind: str
    unit: str
    higher_is_better: bool
    mine: float
    my_deals: int
    peers: float
    peers_doing: float  # share of peers who do it on most deals
    evidence_pp: float  # win-rate points in deals like the rep's (segment mix), NaN if unknown
    proven: bool  # q < 0.05 in the primary analysis and not suspect
    gap: bool  # the rep does clearly less of it than peers (5 points, or a tenth of theirs)
    sentence: str


@dataclass(frozen=True)
class PersonalView:
    rep_id: str
    name: str
    team_id: str
    run_id: str
    window: str
    results: Results
    effort: Effort
    peers: int
    peer_basis: str
    practices: list[PracticeLine] = field(default_factory=list)

    @property
    def suggestions(self) -> list[PracticeLine]:
        """Practices with evidence in the rep's own segment mix that they use less than peers."""
        hits = [p for p in self.practices if p.proven and p.gap and p.evidence_pp > 0]
        return sorted(hits, key=lambda p: -p.evidence_pp)


def _f(v) -> float:
    try:
        out = float(v)
    except (TypeError, ValueError):
        return math.nan
    return out


def _results(rep_row: pd.Series, peer_rows: pd.DataFrame) -> Results:
    oe = peer_rows["oe"].to_numpy(dtype=float) if len(peer_rows) else np.array([])
    oe = oe[np.isfinite(oe)]
    return Results(
        closed=int(rep_row.get("closed", 0) or 0),
        wins=int(round(_f(rep_row.get("observed"))))
        if np.isfinite(_f(rep_row.get("observed")))
        else 0,
        expected=_f(rep_row.get("expected")),
        oe=_f(rep_row.get("oe")),
        shrunk_oe=_f(rep_row.get("shrunk_oe")),
        shrunk_low=_f(rep_row.get("shrunk_lower_95")),
        shrunk_high=_f(rep_row.get("shrunk_upper_95")),
        label=str(rep_row.get("label") or ""),
        reason=str(rep_row.get("reason") or ""),
        peers_oe_median=float(np.median(oe)) if len(oe) else math.nan,
    )


def _rate(num: float, den: float) -> float:
    return num / den if den else math.nan


def _effort(rep_id: str, peer_ids: list[str], effort: pd.DataFrame) -> Effort:
    weekly = effort[(effort["grain"] == "rep") & (effort["every"] == "week")]
    mine = weekly[weekly["unit_id"] == rep_id].sort_values("period")
    if len(weekly):
        last = pd.Timestamp(weekly["period"].max())
        first = last - pd.Timedelta(weeks=WEEKS - 1)
        shown = mine[pd.to_datetime(mine["period"]) >= first]
    else:
        shown = mine
    weeks = [
        EffortWeek(
            week=str(r.week_label),
            start=str(pd.Timestamp(r.period).date()),
            touches=int(r.touches),
            with_impact=int(r.touches_with_impact),
            in_dark=int(r.touches_in_dark),
            pending=int(r.touches_pending),
            buyer_events=int(r.buyer_events),
            impact_rate=_f(r.impact_rate),
        )
        for r in shown.itertuples()
    ]
    peers = weekly[weekly["unit_id"].isin(peer_ids)]
    touches, impact = int(mine["touches"].sum()), int(mine["touches_with_impact"].sum())
    dark = int(mine["touches_in_dark"].sum())
    return Effort(
        weeks=weeks,
        touches=touches,
        with_impact=impact,
        in_dark=dark,
        impact_rate=_rate(impact, touches),
        dark_share=_rate(dark, touches),
        peers_impact_rate=_rate(
            float(peers["touches_with_impact"].sum()), float(peers["touches"].sum())
        ),
    )


def _segment_evidence(
    practice: str, my_mix: dict[str, float], effect: pd.Series, by_segment: pd.DataFrame
) -> float:
    """Win-rate points the practice goes with in deals like the rep's: segment effects weighted by
    the rep's segment mix where the segment has an estimate, else the overall effect."""
    overall = _f(effect.get("pp_diff"))
    seg = by_segment[by_segment["practice"] == practice] if len(by_segment) else by_segment
    if not len(seg) or not my_mix:
        return overall
    pp = dict(zip(seg["segment"].astype(str), seg["pp_diff"].astype(float), strict=True))
    total, weight = 0.0, 0.0
    for s, share in my_mix.items():
        value = pp.get(s, math.nan)
        total += share * (value if np.isfinite(value) else overall)
        weight += share
    return total / weight if weight else overall


def _fmt_value(v: float, kind: str, unit: str) -> str:
    if not np.isfinite(v):
        return "no data"
    if kind in ("binary", "share"):
        return f"{100 * v:.0f}%"
    return f"{v:.1f} {unit}".strip()


def _practice_lines(
    rep_id: str,
    peer_ids: list[str],
    my_mix: dict[str, float],
    practice_reps: pd.DataFrame,
    effects: pd.DataFrame,
    by_segment: pd.DataFrame,
) -> list[PracticeLine]:
    lines = []
    for e in effects.itertuples(index=False):
        e_row = pd.Series(e._asdict())
        rows = practice_reps[practice_reps["practice"] == e.practice]
        me = rows[rows["rep_id"] == rep_id]
        peers = rows[rows["rep_id"].isin(peer_ids)]
        mine = _f(me["value"].iloc[0]) if len(me) else math.nan
        my_deals = int(me["deals"].iloc[0]) if len(me) else 0
        peer_vals = peers["value"].to_numpy(dtype=float)
        peer_vals = peer_vals[np.isfinite(peer_vals)]
        peer_mean = float(peer_vals.mean()) if len(peer_vals) else math.nan
        doing = peers["does"].astype(float).to_numpy() if len(peers) else np.array([])
        higher = bool(e_row.get("higher_is_better", True))
        kind, unit = str(e_row.get("kind", "binary")), str(e_row.get("unit", "") or "")
        shortfall = (peer_mean - mine) if higher else (mine - peer_mean)
        # a gap worth a suggestion: 5 points of a rate or share, else a tenth of the peers' value
        least = 0.05 if kind in ("binary", "share") else 0.1 * abs(peer_mean)
        gap = bool(np.isfinite(shortfall) and shortfall >= max(least, 1e-12))
        q, suspect = _f(e_row.get("q")), bool(e_row.get("suspect", False))
        proven = bool(np.isfinite(q) and q < 0.05 and not suspect)
        evidence = _segment_evidence(e.practice, my_mix, e_row, by_segment)
        you = _fmt_value(mine, kind, unit)
        them = _fmt_value(peer_mean, kind, unit)
        if kind == "binary":
            text = f"You: {you} of your deals. Peers like you: {them}."
        else:
            text = f"You: {you}. Peers like you: {them}."
        if proven and np.isfinite(evidence):
            text += (
                f" In deals like yours this went with {evidence:+.0f} points of win rate"
                " against comparable deals."
            )
        elif not proven:
            text += " No clear link with winning yet."
        lines.append(
            PracticeLine(
                practice=str(e.practice),
                description=str(e_row.get("description", "")),
                kind=kind,
                unit=unit,
                higher_is_better=higher,
                mine=mine,
                my_deals=my_deals,
                peers=peer_mean,
                peers_doing=float(doing.mean()) if len(doing) else math.nan,
                evidence_pp=evidence if proven else math.nan,
                proven=proven,
                gap=gap,
                sentence=text,
            )
        )
    return lines


def build(
    rep_id: str,
    *,
    run_id: str,
    window: str,
    tables: dict[str, pd.DataFrame],
    k: int = resources.PEERS,
) -> PersonalView:
    """The personal view of ``rep_id`` from one run's tables (see ``TABLES``)."""
    missing = [t for t in TABLES if t not in tables]
    if missing:
        raise PersonalError(f"run {run_id} lacks {', '.join(missing)}: analyse again")
    spots = tables["bright_spots"]
    reps = spots[spots["level"] == "rep"] if "level" in spots.columns else spots
    hit = reps[reps["rep_id"] == rep_id]
    if not len(hit):
        raise PersonalError(f"rep {rep_id!r} is not in run {run_id}")
    rep_row = hit.iloc[0]
    prof = tables["rep_resources"]
    if rep_id in set(prof["rep_id"]):
        peers_df = resources.nearest_peers(prof, rep_id, k=k)
    else:
        peers_df = prof.iloc[0:0]
    peer_ids = peers_df["rep_id"].tolist()
    me = prof[prof["rep_id"] == rep_id]
    seg_cols = [c for c in prof.columns if c.startswith(resources.SEGMENT_PREFIX)]
    my_mix = (
        {c[len(resources.SEGMENT_PREFIX) :]: float(me[c].iloc[0]) for c in seg_cols}
        if len(me)
        else {}
    )
    my_mix = {s: v for s, v in my_mix.items() if v > 0}
    return PersonalView(
        rep_id=rep_id,
        name=str(rep_row.get("name") or rep_id),
        team_id=str(rep_row.get("team_id") or ""),
        run_id=run_id,
        window=window,
        results=_results(rep_row, reps[reps["rep_id"].isin(peer_ids)]),
        effort=_effort(rep_id, peer_ids, tables["effort_impact"]),
        peers=len(peer_ids),
        peer_basis="territory potential, accounts owned, deals and deal size at creation, "
        "segment mix and tenure",
        practices=_practice_lines(
            rep_id,
            peer_ids,
            my_mix,
            tables["practice_reps"],
            tables["practice_effects"],
            tables["practice_segment_effects"],
        ),
    )


def run_tables(ws, run) -> dict[str, pd.DataFrame]:
    """The run tables a personal view is built from (``build``), for every rep at once."""
    tables = {}
    for name in TABLES:
        if not ws.has_table(name):
            raise PersonalError(f"run {run.run_id} lacks {name}: analyse again")
        if name == "effort_impact":  # only the weekly rep rows: the table can be big
            tables[name] = ws.run_rows(name, run.run_id, where="grain = 'rep' AND every = 'week'")
        else:
            tables[name] = ws.run_results(name, run.run_id)
    return tables


def window_words(run) -> str:
    return str(run.diagnostics.get("window_words") or run.diagnostics.get("window") or "")


def personal_view(ws, rep_id: str, run_id: str | None = None) -> PersonalView:
    """The personal view of ``rep_id`` in a run of the workspace (the latest by default)."""
    runs = {r.run_id: r for r in ws.runs()}
    run = runs.get(run_id) if run_id else ws.latest_run()
    if run is None:
        raise PersonalError(f"no run {run_id!r} in {ws.root}; `brightspots runs` lists them")
    return build(rep_id, run_id=run.run_id, window=window_words(run), tables=run_tables(ws, run))
