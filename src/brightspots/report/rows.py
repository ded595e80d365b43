"""The rows of the report's unit tables (reps, teams, regions), display-ready.

One ``UnitRow`` per unit shown: its label and the outcome(s) it rests on, what happened in words
(one sentence per outcome), the evidence after shrinkage, what a candidate would need, the last
four quarters, and its history across runs. Who is listed is decided here: at the rep level only
bright spots and candidates; at the team and region levels also the units at or above
expectation, never one below it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from brightspots.report import fmt, quarters, words
from brightspots.report.context import ReportContext
from brightspots.report.history import UnitHistory
from brightspots.report.tables import PRIMARY_OUTCOME

LABEL_TEXT = {"bright_spot": "Bright spot", "candidate": "Candidate", "": ""}
LABEL_MARK = {"bright_spot": "◆", "candidate": "▲", "": ""}
LABEL_ORDER = {"bright_spot": 0, "candidate": 1, "": 2}


@dataclass(frozen=True)
class HistoryView:
    word: str  # new, sustained, fading or returning
    meaning: str
    trail: tuple[str, ...]  # ('4 Jan 1.52 ◆', '11 Jan 1.60 ▲', 'now 1.70 ◆')


@dataclass(frozen=True)
class Evidence:
    outcome: str  # the outcome's name, or '' when the run assessed one outcome only
    shrunk: str  # '1.17 (1.01 to 1.34)'
    p_above_1: str  # '98%'


@dataclass(frozen=True)
class UnitRow:
    unit_id: str
    rank: str
    name: str
    team: str
    label: str
    label_text: str
    label_mark: str
    rests_on: str
    sentences: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    needed: str
    quarters: quarters.QuartersView | None
    history: HistoryView | None
    reason: str


def team_names(ctx: ReportContext) -> dict[str, str]:
    """team_id -> the team's name where the run has team rows, else the id itself."""
    teams = ctx.units("team")
    return dict(zip(teams["unit_id"], teams["name"], strict=True))


def listed(units: pd.DataFrame, level: str) -> pd.Series:
    """Who a unit table lists by name: bright spots and candidates; for teams and regions also
    the units at or above expectation (O/E >= 1)."""
    labelled = units["label"] != ""
    if level == "rep":
        return labelled
    oe = units["oe"].astype(float)
    return labelled | (np.isfinite(oe) & (oe >= 1.0))


def history_view(h: UnitHistory | None, label: str, year: int) -> HistoryView | None:
    if h is None:
        return None
    dates = fmt.run_dates([p.created_at for p in h.points], year)
    marks = [
        f"{d} {fmt.ratio(p.oe)}{' ' + LABEL_MARK[p.label] if p.label else ''}"
        for d, p in zip(dates, h.points, strict=True)
    ]
    marks.append(f"now {fmt.ratio(h.oe_now)} {LABEL_MARK[label]}".rstrip())
    meaning = words.HISTORY_WORDS.get(h.word, "")
    return HistoryView(word=h.word, meaning=meaning, trail=tuple(marks))


def _evidence(
    frames: dict[str, pd.DataFrame], unit_id: str, outcomes: list[str], flat: set[str]
) -> list[Evidence]:
    """The shrunken O/E and P(above 1) of each outcome; ``flat`` outcomes have tau^2 = 0, where
    shrinkage pulls everyone to 1 and the probability is not informative."""
    out = []
    for o in outcomes:
        frame = frames.get(o)
        if frame is None:
            continue
        row = frame[frame["unit_id"] == unit_id]
        if row.empty:
            continue
        r = row.iloc[0]
        shrunk = words.interval(r["shrunk_oe"], r["shrunk_lower_95"], r["shrunk_upper_95"])
        out.append(
            Evidence(
                outcome=words.outcome_name(o) if len(frames) > 1 else "",
                shrunk=words.NOT_SHRUNK if o in flat else shrunk,
                p_above_1=fmt.MISSING if o in flat else fmt.percent(r["p_above_1"]),
            )
        )
    return out


def _needed(frames: dict[str, pd.DataFrame], unit_id: str, outcome: str) -> str:
    frame = frames.get(outcome)
    if frame is None:
        return ""
    row = frame[frame["unit_id"] == unit_id]
    if row.empty:
        return ""
    r = row.iloc[0]
    need = r["needed_oe"] if not fmt.is_missing(r["needed_oe"]) else r["adj_upper_998"]
    if fmt.is_missing(need) or fmt.is_missing(r["oe"]) or float(r["oe"]) > float(need):
        return ""
    return words.needed(float(need), float(r["oe"]))


def unit_rows(ctx: ReportContext, level: str, *, published: bool) -> list[UnitRow]:
    """The rows of one level's table, labelled units first; by expected rank when ranks are
    published, else alphabetically within each label."""
    units = ctx.units(level)
    units = units[listed(units, level).to_numpy()].copy()
    frames = {o: f for o in ctx.outcomes(level) if (f := ctx.outcome_units(level, o)) is not None}
    summary = ctx.diagnostics.level(level)
    flat = {o for o, s in (summary.outcomes.items() if summary else ()) if not s.tau2 > 0}
    teams = team_names(ctx)
    units["_order"] = units["label"].map(LABEL_ORDER)
    units["_key"] = units["name"].str.casefold()
    order = ["_order", "expected_rank", "_key"] if published else ["_order", "_key"]
    units = units.sort_values(order, na_position="last", kind="stable")
    year = ctx.run.created_at.year
    revenue = frames.get("won_revenue")
    rows = []
    for r in units.itertuples(index=False):
        if level == "rep":
            sentence = words.rep_sentence(
                r.name, int(r.observed), int(r.closed), float(r.expected), r.oe
            )
        else:
            sentence = words.unit_sentence(
                r.name, int(r.observed), int(r.closed), float(r.expected), r.oe
            )
        sentences = [sentence]
        if revenue is not None:
            rev = revenue[revenue["unit_id"] == r.unit_id]
            if len(rev):
                v = rev.iloc[0]
                sentences.append(
                    words.revenue_sentence(
                        r.name, v["observed"], v["expected"], v["oe"], ctx.currency
                    )
                )
        touches = frames.get("buyer_impact")
        if touches is not None:
            imp = touches[touches["unit_id"] == r.unit_id]
            if len(imp) and imp.iloc[0]["closed"] > 0:
                v = imp.iloc[0]
                sentences.append(
                    words.impact_sentence(
                        r.name, v["observed"], v["closed"], v["expected"], v["oe"]
                    )
                )
        rests = [o for o in r.outcome.split("+") if o] if r.label else [PRIMARY_OUTCOME]
        shown = level_quarters(ctx, level)
        rows.append(
            UnitRow(
                unit_id=r.unit_id,
                rank=fmt.decimal(r.expected_rank) if published else "",
                name=r.name,
                team=teams.get(r.team_id, r.team_id) if level == "rep" else "",
                label=r.label,
                label_text=LABEL_TEXT[r.label],
                label_mark=LABEL_MARK[r.label],
                rests_on=words.rests_on(r.outcome) if r.label else "",
                sentences=tuple(sentences),
                evidence=tuple(_evidence(frames, r.unit_id, rests, flat)),
                needed="" if r.label == "bright_spot" else _needed(frames, r.unit_id, rests[0]),
                quarters=quarters.view(
                    None if pd.isna(r.quarters_above) else int(r.quarters_above),
                    None if pd.isna(r.quarters_assessed) else int(r.quarters_assessed),
                    r.quarters_oe,
                    shown,
                ),
                history=history_view(ctx.history.get((level, r.unit_id)), r.label, year),
                reason=r.reason,
            )
        )
    return rows


def level_quarters(ctx: ReportContext, level: str) -> tuple[str, ...]:
    summary = ctx.diagnostics.level(level)
    return summary.quarters if summary else ()
