"""The label rule (method.md section 5) for one outcome, and one label from several outcomes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from brightspots.deviance.constants import (
    P_ABOVE_1_THRESHOLD,
    Q_THRESHOLD,
    Z95,
    Z998,
)
from brightspots.deviance.inputs import DevianceInputError, check_columns, where

LABELS = ("bright_spot", "candidate", "")
PRIMARY_OUTCOME = "win_rate"


@dataclass(frozen=True)
class Tau2Words:
    """The words of ``tau2_note`` that differ between funnels on counts and on means."""

    volume: str  # what ``min_volume`` counts
    centre: str  # where shrinkage pulls every unit
    beaten: str  # what the probability of beating is of
    alone: str  # what labels rest on when the spread cannot be estimated
    corrected: str  # what labels rest on, corrected for the number compared, when tau2 = 0


COUNT_WORDS = Tau2Words(
    "closed deals", "middle", "expectation", "the exact and unadjusted tests", "the unadjusted test"
)
MEAN_WORDS = Tau2Words(
    "respondents",
    "reference",
    "it",
    "the test against the reference",
    "the test against the reference",
)


def tau2_note(
    tau2: float, n_eligible: int, min_volume: int, noun: str, words: Tau2Words
) -> str | None:
    """What tau2 = 0 means for the labels, in words (None when tau2 > 0)."""
    if tau2 > 0:
        return None
    if n_eligible < 2:
        return (
            f"Fewer than two {noun}s have the minimum of {min_volume} {words.volume}, so the "
            f"spread between {noun}s cannot be estimated: it is taken as no more than chance, and "
            f"labels rest on {words.alone} alone."
        )
    return (
        f"The spread between {noun}s is no more than chance: shrinkage pulls every {noun} to the "
        f"{words.centre}, the probability of beating {words.beaten} is not informative, and labels "
        f"rest on {words.corrected} corrected for the number of {noun}s compared."
    )


def label_units(
    *,
    eligible: np.ndarray,
    z_od: np.ndarray,
    q_value: np.ndarray,
    p_above_1: np.ndarray,
    sustained: np.ndarray,
    above_exact_998: np.ndarray,
    tau2: float,
) -> np.ndarray:
    """The label rule of method.md section 5, element-wise; NaN never satisfies a condition.

    bright_spot: eligible AND (z_od >= Z998 OR q <= 0.05) AND (P(theta > 1) >= 0.95 when
    tau2 > 0) AND sustained. candidate: not a bright spot, eligible, AND (z_od >= Z95 OR O above
    the unadjusted exact 99.8% limit). Else ''. Candidates need the volume too (method.md's table
    does not say so): below it a few lucky deals cross the 95% line, so small-book "candidates"
    would mostly be noise; ``assess_outcome`` tells small books what ratio they would need instead.
    """
    eligible = np.asarray(eligible, dtype=bool)
    z_od = np.asarray(z_od, dtype=float)
    with np.errstate(invalid="ignore"):
        strong = (z_od >= Z998) | (np.asarray(q_value, dtype=float) <= Q_THRESHOLD)
        certain = (
            np.asarray(p_above_1, dtype=float) >= P_ABOVE_1_THRESHOLD
            if tau2 > 0
            else np.ones(z_od.shape, dtype=bool)
        )
        bright = eligible & strong & certain & np.asarray(sustained, dtype=bool)
        hint = (z_od >= Z95) | np.asarray(above_exact_998, dtype=bool)
    candidate = ~bright & eligible & hint
    return np.where(bright, "bright_spot", np.where(candidate, "candidate", "")).astype(object)


#: share of the error budget kept by the primary outcome (win rate) when others are tested too
PRIMARY_SHARE = 0.8


def outcome_thresholds(n_outcomes: int, *, primary: bool = False) -> tuple[float, float]:
    """(z, q) a bright spot must reach on an outcome when ``n_outcomes`` are tested.

    Weighted Bonferroni: the one-sided 0.1% of the 99.8% limit and the BH level 0.05 are split
    between the outcomes, the primary outcome (win rate, the one the method is built on) keeping
    ``PRIMARY_SHARE`` = 80% and the others sharing the rest. The shares add up to one, so the
    chance of a false bright spot per unit is what it is with one outcome, while win-rate bright
    spots lose little power (two outcomes: win rate z >= 3.156, q <= 0.04; won revenue
    z >= 3.540, q <= 0.01). One outcome: (3.090232, 0.05), the rule itself.
    """
    if n_outcomes < 1:
        raise DevianceInputError(f"number of outcomes is {n_outcomes!r}; it must be at least 1")
    if n_outcomes == 1:
        return Z998, Q_THRESHOLD
    # rounded so that 0.05 * 0.2 is 0.01, not 0.009999999999999998
    share = round(PRIMARY_SHARE if primary else (1 - PRIMARY_SHARE) / (n_outcomes - 1), 12)
    one_sided = float(stats.norm.sf(Z998))
    return float(stats.norm.isf(one_sided * share)), round(Q_THRESHOLD * share, 12)


def combine_labels(per_outcome: pd.DataFrame) -> pd.DataFrame:
    """One label per unit from its labels on several outcomes.

    ``per_outcome``: one row per (unit_id, outcome) with label and reason, as
    ``assess_outcome`` returns them (stacked), plus z_od and q_value when there is more than one
    outcome. Returns one row per unit_id (first-seen order) with:

    * ``label``: bright_spot if any outcome makes it one, else candidate if any outcome does,
      else '';
    * ``outcome``: the outcome(s) behind the label joined by '+', win_rate first (e.g.
      'win_rate+won_revenue'); for an unlabelled unit the primary outcome, win_rate (or the
      first outcome when win_rate was not assessed);
    * ``reason``: the sentences of the outcomes behind the label; else the primary one's.

    Several outcomes multiply the chances of a lucky unit: with k outcomes tested, a per-outcome
    bright spot counts only if its evidence also clears the Bonferroni-adjusted thresholds of
    :func:`outcome_thresholds` (z_od >= Phi^-1(1 - 0.001 / k) or q <= 0.05 / k); the other
    conditions (volume, P(theta > 1), both halves) were met in the outcome's own assessment.
    Bonferroni is exact in the worst case and needs no assumption about how outcomes correlate
    (win rate and revenue do, positively, which only makes it conservative); running each
    outcome's BH at 0.05 / k keeps the false discovery rate over all (unit, outcome) tests at
    0.05 or below. A bright spot that misses the adjusted thresholds becomes a candidate, and its
    reason says so. Candidates are not adjusted: they are, by construction, a few to look at.
    """
    check_columns("per_outcome", per_outcome, ("unit_id", "outcome", "label", "reason"))
    df = per_outcome.reset_index(drop=True)
    labels = df["label"].fillna("").astype(str).to_numpy()
    bad = ~np.isin(labels, LABELS)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise DevianceInputError(
            f"{where('per_outcome', df, pos, 'label')}: {labels[pos]!r} is not one of "
            "'bright_spot', 'candidate' or ''"
        )
    for column in ("unit_id", "outcome"):
        if df[column].isna().any():
            pos = int(np.flatnonzero(df[column].isna())[0])
            raise DevianceInputError(f"{where('per_outcome', df, pos, column)}: empty")
    dup = df.duplicated(["unit_id", "outcome"])
    if dup.any():
        pos = int(np.flatnonzero(dup)[0])
        raise DevianceInputError(
            f"{where('per_outcome', df, pos, 'outcome')}: a second row for outcome "
            f"{df['outcome'].iloc[pos]!r}"
        )
    outcomes = list(dict.fromkeys(df["outcome"]))
    order = sorted(outcomes, key=lambda o: (o != PRIMARY_OUTCOME, outcomes.index(o)))
    k = len(outcomes)
    reasons = df["reason"].fillna("").astype(str).to_numpy().copy()
    if k > 1:
        check_columns("per_outcome", df, ("z_od", "q_value"))
        primary = (df["outcome"] == order[0]).to_numpy()
        z_p, q_p = outcome_thresholds(k, primary=True)
        z_o, q_o = outcome_thresholds(k)
        z_k, q_k = np.where(primary, z_p, z_o), np.where(primary, q_p, q_o)
        z = pd.to_numeric(df["z_od"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        q = pd.to_numeric(df["q_value"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            strong = (z >= z_k) | (q <= q_k)
        demoted = (labels == "bright_spot") & ~strong
        for i in np.flatnonzero(demoted):
            text = reasons[i].rstrip(".")
            reasons[i] = (
                f"Candidate: {text[:1].lower()}{text[1:]}; but with {k} outcomes tested that is "
                f"not enough (a bright spot on this outcome needs z >= {z_k[i]:.2f} or "
                f"q <= {q_k[i]:.3f})."
            )
        labels = np.where(demoted, "candidate", labels)
    rank = {o: i for i, o in enumerate(order)}
    units, unit_ids = pd.factorize(df["unit_id"])  # first-seen order
    ranks = df["outcome"].map(rank).to_numpy()
    outcome_of = df["outcome"].to_numpy(dtype=object)
    rows = []
    for unit, group in _groups(units, ranks):
        for label in ("bright_spot", "candidate"):
            behind = group[labels[group] == label]
            if len(behind):
                rows.append(
                    (
                        unit_ids[unit],
                        label,
                        "+".join(outcome_of[behind]),
                        " ".join(reasons[behind]),
                    )
                )
                break
        else:
            first = group[0]
            rows.append((unit_ids[unit], "", outcome_of[first], reasons[first]))
    return pd.DataFrame(rows, columns=["unit_id", "label", "outcome", "reason"])


def _groups(units: np.ndarray, ranks: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """Each unit code (in order) with its rows, ordered by outcome rank."""
    order = np.lexsort((ranks, units))
    starts = np.flatnonzero(np.diff(units[order], prepend=-1))
    return [
        (int(units[order[a]]), order[a:b])
        for a, b in zip(starts, [*starts[1:], len(order)], strict=True)
    ]
