"""Section 3, what worked: practices with evidence in the run, tied to this period's deals.

A practice has evidence when the run's case-mix-adjusted estimate has q <= 0.05 in its primary
(leakage-guarded) analysis, is not suspect (significant only over the whole deal) and points the
right way (odds ratio above 1: more of the better thing, more wins). For each, the period's
closed deals of the brief's scope say how the wins and the losses used it: binary practices as
"4 of the 6 wins", the others as the median on wins against the median on losses. The measure
is the practice's primary one, so a deal closed before the landmark day, or a stage practice's
deal that never reached the stage, is not counted on either side.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from brightspots.brief.model import Practice as PracticeRow
from brightspots.practices.registry import Practice
from brightspots.report import fmt

Q_EVIDENCE = 0.05


def with_evidence(effects: pd.DataFrame | None) -> pd.DataFrame:
    """The run's practice_effects rows with evidence, strongest first."""
    if effects is None or not len(effects):
        return pd.DataFrame(columns=["practice"])
    e = effects.copy()
    q = pd.to_numeric(e["q"], errors="coerce")
    odds = pd.to_numeric(e["odds_ratio"], errors="coerce")
    suspect = e["suspect"].fillna(False).astype(bool)
    e = e[(q <= Q_EVIDENCE) & (odds > 1) & ~suspect]
    return e.assign(_q=q, _lor=np.log(odds)).sort_values(
        ["_q", "_lor", "practice"], ascending=[True, False, True]
    )


def value_words(v: float, p: Practice) -> str:
    """A non-binary practice's value as said in a sentence: a share in percent, hours with
    the word, a count or rate without trailing zeros."""
    if p.kind == "share":
        return fmt.percent(v)
    if p.kind == "hours":
        return f"{fmt.decimal(v)} hours"
    return fmt.decimal(v) if abs(v - round(v)) > 1e-9 else fmt.integer(round(v))


def evidence_words(row: pd.Series, p: Practice, window: str) -> str:
    """'Over the last 12 months, deals where it happened were won 13 percentage points more
    often than similar deals where it did not (95% interval 9 to 17): very unlikely to be
    luck.'"""
    pp, lo, hi = (float(row[c]) for c in ("pp_diff", "pp_low", "pp_high"))
    if p.kind == "binary":
        who = "deals where it happened were won {} more often than similar deals where it did not"
    else:
        side = "high" if p.higher_is_better else "low"
        other = "low" if p.higher_is_better else "high"
        who = (
            f"deals at the {side} end of it were won {{}} more often than similar deals at the "
            f"{other} end"
        )
    if not all(map(math.isfinite, (pp, lo, hi))):
        return f"Over {window}, {who.format('')} once territory and deal mix are allowed for."
    points = f"{fmt.decimal(pp, 0)} percentage points"
    return (
        f"Over {window}, {who.format(points)}, once territory and deal mix are allowed for "
        f"(95% interval {fmt.decimal(lo, 0)} to {fmt.decimal(hi, 0)}): very unlikely to be luck."
    )


def practices(
    effects: pd.DataFrame | None,
    registry: dict[str, Practice],
    deals: pd.DataFrame,
    *,
    period_words: str,
    window_words: str,
) -> list[PracticeRow]:
    """One row per practice with evidence measured on at least one of the period's wins.
    ``deals``: the period's closed deals of the scope (opportunity_id, y) with the run's
    ``primary__<id>`` columns (``source.practice_deals``)."""
    out = []
    for _, r in with_evidence(effects).iterrows():
        p = registry.get(str(r["practice"]))
        col = f"primary__{r['practice']}"
        if p is None or col not in deals.columns:
            continue
        v = pd.to_numeric(deals[col], errors="coerce")
        won, lost = v[(deals["y"] == 1) & v.notna()], v[(deals["y"] == 0) & v.notna()]
        if not len(won):
            continue
        where = f" that reached {p.stage.removeprefix('deals that reached ')}" if p.stage else ""
        all_wins = int((deals["y"] == 1).sum())
        if len(won) < all_wins and not where:
            where = " it could be measured on"
        if p.kind == "binary":
            ww, lw = int((won == 1).sum()), int((lost == 1).sum())
            if not ww or (len(lost) and not ww / len(won) > lw / len(lost)):
                continue  # this period's wins did not show it
            of = (
                f"the one win of {period_words}{where}"
                if len(won) == 1
                else f"{fmt.integer(ww)} of the {fmt.plural(len(won), 'win')} of "
                f"{period_words}{where}"
            )
            said = f"In {of}, {p.phrase}"
            if len(lost):
                said += f" (in {fmt.integer(lw)} of the {fmt.plural(len(lost), 'loss', 'losses')})"
            said += "."
            medians = (None, None)
        else:
            ww = lw = None
            if not len(lost):
                continue  # nothing to compare the wins with
            mw, ml = float(won.median()), float(lost.median())
            if not (mw > ml if p.higher_is_better else mw < ml):
                continue
            said = (
                f"{p.phrase[0].upper()}{p.phrase[1:]}: a median of {value_words(mw, p)} on the "
                f"{fmt.plural(len(won), 'win')} of {period_words}{where}, "
                f"{value_words(ml, p)} on the {fmt.plural(len(lost), 'loss', 'losses')}."
            )
            medians = (mw, ml)
        out.append(
            PracticeRow(
                practice_id=p.id,
                description=p.description,
                phrase=p.phrase,
                kind=p.kind,
                unit=p.unit,
                higher_is_better=p.higher_is_better,
                odds_ratio=float(r["odds_ratio"]),
                or_low=float(r["or_low"]),
                or_high=float(r["or_high"]),
                q_value=float(r["q"]),
                points=float(r["pp_diff"]),
                wins=int(len(won)),
                losses=int(len(lost)),
                wins_with=ww,
                losses_with=lw,
                wins_median=medians[0],
                losses_median=medians[1],
                sentence=said,
                evidence=evidence_words(r, p, window_words),
            )
        )
    return out
