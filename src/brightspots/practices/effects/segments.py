"""Does the practice's effect differ by segment? The primary model with a practice x segment
interaction: segment main effects plus one practice term per segment (the reference segment's
practice term plus an interaction for each other). A joint Wald test of the interaction terms
(clustered covariance) says whether the effects differ; each segment's odds ratio is the sum of
its terms and its marginal effect is averaged over that segment's deals.

A segment enters the model only with at least ``min_segment_deals`` analysed deals, both outcomes
and the practice varying within it; other segments are listed with their deal count and NaN.
A grouped frame's rows (``weights.WEIGHT``) count as their deals throughout."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from brightspots import casemix
from brightspots.practices.effects.design import Contrast, nuisance_design
from brightspots.practices.effects.designs import Designs
from brightspots.practices.effects.logit import (
    Effect,
    FitFailed,
    contrast_at,
    fit_clustered,
    independent_columns,
    kept_columns,
    stack_columns,
    take_rows,
    wald,
)
from brightspots.practices.effects.model import REP_CODE, Limits, check_data
from brightspots.practices.effects.weights import weights_of
from brightspots.practices.registry import Practice


@dataclass
class SegmentResult:
    p: float = float("nan")  # Wald test of the interaction terms
    effects: dict[str, Effect | None] = field(default_factory=dict)
    n: dict[str, int] = field(default_factory=dict)
    note: str = ""


def segment_labels(sub: pd.DataFrame, segment: str) -> pd.Series:
    return sub[segment].astype("object").where(sub[segment].notna(), casemix.MISSING).astype(str)


def segment_codes(sub: pd.DataFrame, segment: str) -> tuple[np.ndarray, np.ndarray]:
    """``segment_labels`` as (codes, labels): labels[codes] is the deals' segment labels. Each
    distinct value is labelled once."""
    codes, uniques = pd.factorize(sub[segment], use_na_sentinel=True)
    values = pd.DataFrame({segment: pd.Series(uniques).tolist() + [None]})
    named = segment_labels(values, segment).to_numpy(dtype=object)  # the last one: missing
    merged, labels = pd.factorize(named)  # two values may share a label
    codes, used = pd.factorize(merged[codes])  # only the labels of some deal
    return codes, np.asarray(labels, dtype=object)[np.asarray(used)]


def usable(
    y: np.ndarray,
    xs: np.ndarray,
    practice: Practice,
    limits: Limits,
    weights: np.ndarray | None = None,
) -> bool:
    """Whether a segment's deals (outcomes ``y``, scaled practice ``xs``, each row standing for
    ``weights`` deals) can enter the model."""
    if _deals(y, weights) < limits.min_segment_deals or y.min() == y.max():
        return False
    if practice.kind == "binary":
        for v in (0.0, 1.0):
            on = xs == v
            arm = y[on]
            if _deals(arm, None if weights is None else weights[on]) < 5 or (
                arm.min() == arm.max()
            ):
                return False
        return True
    return bool(np.ptp(xs) > 0)


def _deals(rows: np.ndarray, weights: np.ndarray | None) -> float:
    return float(len(rows)) if weights is None else float(weights.sum())


def by_segment(
    sub: pd.DataFrame,
    column: str,
    practice: Practice,
    con: Contrast,
    *,
    segment: str,
    covariates: list[str],
    limits: Limits,
    designs: Designs | None = None,
) -> SegmentResult:
    """The practice x segment model on ``sub`` (see the module docstring). ``designs``: where
    the case-mix design of the compared deals may be kept and found again."""
    codes, names = segment_codes(sub, segment)
    w_all = weights_of(sub)
    tally = np.bincount(codes, weights=w_all, minlength=len(names))
    counts = pd.Series(tally if w_all is None else tally.round().astype(np.int64), index=names)
    order = sorted(counts.index, key=lambda s: (-int(counts[s]), s))
    out = SegmentResult(n={s: int(counts[s]) for s in order})
    xs_all = con.scale(sub[column].to_numpy(float))
    y_all = sub["y"].to_numpy()
    position = {s: i for i, s in enumerate(names)}
    kept = []
    for s in order:
        rows = codes == position[s]
        w = None if w_all is None else w_all[rows]
        if usable(y_all[rows], xs_all[rows], practice, limits, w):
            kept.append(s)
    out.effects = {s: None for s in order}
    if len(kept) < 2:
        out.note = (
            f"segment effects not tested: {len(kept)} segment(s) with at least "
            f"{limits.min_segment_deals} deals, both outcomes and variation in the practice"
        )
        return out
    mask = np.isin(codes, [position[s] for s in kept])
    part = sub if mask.all() else sub[mask]
    lab = names[codes[mask]]
    xs = xs_all[mask]
    w_part = None if w_all is None else w_all[mask]
    try:
        check_data(part, limits, "deals in the segments compared")
        own = [c for c in covariates if f"x_{c}" != segment]
        dummies = np.column_stack([(lab == s).astype(float) for s in kept[1:]])
        terms = (dummies, xs, xs[:, None] * dummies)
        if designs is None:
            nuisance = nuisance_design(part, own, limits.pool_min_cases).to_numpy(float)
            X = stack_columns(nuisance, *terms)
        else:
            X = designs.stacked(part, own, *terms)
        first = X.shape[1] - 1 - dummies.shape[1]  # the practice's term, then its interactions
        protected = list(range(first, X.shape[1]))
        keep = independent_columns(X, protected, w_part)
        X = kept_columns(X, keep)
        pos = {j: i for i, j in enumerate(keep)}
        main, inter = pos[first], [pos[j] for j in protected[1:]]
        fit = fit_clustered(part["y"].to_numpy(float), X, part[REP_CODE].to_numpy(), w_part)
        out.p = wald(fit, inter)[2]
        practice_terms = [main, *inter]
        for k, s in enumerate(kept):
            rows = lab == s
            c = np.zeros(X.shape[1])
            c[main] = 1.0
            if k:
                c[inter[k - 1]] = 1.0
            at1 = np.zeros(len(practice_terms))
            at1[0] = 1.0
            if k:
                at1[k] = 1.0  # inter[k - 1] is practice_terms[k]
            try:
                # a fresh copy of the rows (or rows made when asked for): Z1 and Z0 are
                # written into it
                Z = take_rows(X, rows)
                out.effects[s] = contrast_at(
                    fit, c, Z, practice_terms, at1, np.zeros(len(practice_terms)),
                    overwrite=True, weights=None if w_part is None else w_part[rows],
                )  # fmt: skip
            except FitFailed as err:
                out.effects[s] = None
                out.note = "; ".join(filter(None, [out.note, f"segment {s}: {err}"]))
    except FitFailed as err:
        out.p = float("nan")
        out.effects = {s: None for s in order}
        out.note = f"segment effects not estimated: {err}"
    return out
