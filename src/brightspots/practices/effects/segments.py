"""Does the practice's effect differ by segment? The primary model with a practice x segment
interaction: segment main effects plus one practice term per segment (the reference segment's
practice term plus an interaction for each other). A joint Wald test of the interaction terms
(clustered covariance) says whether the effects differ; each segment's odds ratio is the sum of
its terms and its marginal effect is averaged over that segment's deals.

A segment enters the model only with at least ``min_segment_deals`` analysed deals, both outcomes
and the practice varying within it; other segments are listed with their deal count and NaN."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from brightspots import casemix
from brightspots.practices.effects.design import Contrast, nuisance_design
from brightspots.practices.effects.logit import (
    Effect,
    FitFailed,
    contrast,
    fit_clustered,
    independent_columns,
    wald,
)
from brightspots.practices.effects.model import REP_CODE, Limits, check_data
from brightspots.practices.registry import Practice


@dataclass
class SegmentResult:
    p: float = float("nan")  # Wald test of the interaction terms
    effects: dict[str, Effect | None] = field(default_factory=dict)
    n: dict[str, int] = field(default_factory=dict)
    note: str = ""


def segment_labels(sub: pd.DataFrame, segment: str) -> pd.Series:
    return sub[segment].astype("object").where(sub[segment].notna(), casemix.MISSING).astype(str)


def usable(sub: pd.DataFrame, xs: np.ndarray, practice: Practice, limits: Limits) -> bool:
    y = sub["y"].to_numpy()
    if len(sub) < limits.min_segment_deals or y.min() == y.max():
        return False
    if practice.kind == "binary":
        for v in (0.0, 1.0):
            arm = y[xs == v]
            if len(arm) < 5 or arm.min() == arm.max():
                return False
        return True
    return bool(np.ptp(xs) > 0)


def by_segment(
    sub: pd.DataFrame,
    column: str,
    practice: Practice,
    con: Contrast,
    *,
    segment: str,
    covariates: list[str],
    limits: Limits,
) -> SegmentResult:
    labels = segment_labels(sub, segment)
    counts = labels.value_counts(sort=False)
    order = sorted(counts.index, key=lambda s: (-int(counts[s]), s))
    out = SegmentResult(n={s: int(counts[s]) for s in order})
    xs_all = con.scale(sub[column].to_numpy(float))
    kept = []
    for s in order:
        rows = (labels == s).to_numpy()
        if usable(sub[rows], xs_all[rows], practice, limits):
            kept.append(s)
    out.effects = {s: None for s in order}
    if len(kept) < 2:
        out.note = (
            f"segment effects not tested: {len(kept)} segment(s) with at least "
            f"{limits.min_segment_deals} deals, both outcomes and variation in the practice"
        )
        return out
    mask = labels.isin(kept).to_numpy()
    part, lab, xs = sub[mask], labels[mask].to_numpy(), xs_all[mask]
    try:
        check_data(part, limits, "deals in the segments compared")
        own = [c for c in covariates if f"x_{c}" != segment]
        nuisance = nuisance_design(part, own, limits.pool_min_cases).to_numpy(float)
        dummies = np.column_stack([(lab == s).astype(float) for s in kept[1:]])
        X = np.column_stack([nuisance, dummies, xs, xs[:, None] * dummies])
        first = nuisance.shape[1] + dummies.shape[1]
        protected = list(range(first, X.shape[1]))
        keep = independent_columns(X, protected)
        X = X[:, keep]
        pos = {j: i for i, j in enumerate(keep)}
        main, inter = pos[first], [pos[j] for j in protected[1:]]
        fit = fit_clustered(part["y"].to_numpy(float), X, part[REP_CODE].to_numpy())
        out.p = wald(fit, inter)[2]
        for k, s in enumerate(kept):
            rows = lab == s
            c = np.zeros(X.shape[1])
            c[main] = 1.0
            if k:
                c[inter[k - 1]] = 1.0
            Z1, Z0 = X[rows].copy(), X[rows].copy()
            Z1[:, main], Z0[:, main] = 1.0, 0.0
            Z1[:, inter], Z0[:, inter] = 0.0, 0.0
            if k:
                Z1[:, inter[k - 1]] = 1.0
            try:
                out.effects[s] = contrast(fit, c, Z1, Z0)
            except FitFailed as err:
                out.effects[s] = None
                out.note = "; ".join(filter(None, [out.note, f"segment {s}: {err}"]))
    except FitFailed as err:
        out.p = float("nan")
        out.effects = {s: None for s in order}
        out.note = f"segment effects not estimated: {err}"
    return out
