"""One practice model: logit(win) = case mix + practice contrast, clustered by rep, fitted on the
deals where the practice is defined in one analysis (primary or whole-deal)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from brightspots.practices.effects.design import Contrast, contrast_for, nuisance_design
from brightspots.practices.effects.logit import (
    Effect,
    FitFailed,
    contrast,
    fit_clustered,
    independent_columns,
)
from brightspots.practices.registry import Practice

#: integer rep codes added to the validated frame (clustering on strings is slower)
REP_CODE = "__rep_code"


@dataclass(frozen=True)
class Limits:
    min_deals: int = 30
    min_reps: int = 10
    min_segment_deals: int = 40
    pool_min_cases: int = 30


@dataclass(frozen=True)
class Estimate:
    effect: Effect
    contrast: Contrast


def analysed(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """The deals where ``column`` is defined."""
    return frame[frame[column].notna()]


def check_data(sub: pd.DataFrame, limits: Limits, what: str = "analysed deals") -> None:
    """Enough deals, enough reps, both outcomes; else ``FitFailed`` saying which."""
    if len(sub) < limits.min_deals:
        raise FitFailed(f"too few {what}: {len(sub)} (at least {limits.min_deals} needed)")
    reps = sub["rep_id"].nunique()
    if reps < limits.min_reps:
        raise FitFailed(
            f"too few reps among the {what}: {reps} (at least {limits.min_reps} needed for "
            "standard errors clustered by rep)"
        )
    wins = int(sub["y"].sum())
    if wins in (0, len(sub)):
        raise FitFailed(f"every one of the {what} was {'won' if wins else 'lost'}")


def check_separation(practice: Practice, values: np.ndarray, y: np.ndarray) -> None:
    """A binary practice whose deals (or whose other deals) all share one outcome."""
    if practice.kind != "binary":
        return
    for v, words in ((1.0, "with the practice"), (0.0, "without the practice")):
        arm = y[values == v]
        if len(arm) and (arm.min() == arm.max()):
            raise FitFailed(
                f"separation: every deal {words} was {'won' if arm[0] else 'lost'}, so no finite "
                "odds ratio can be estimated"
            )


def estimate(
    sub: pd.DataFrame,
    column: str,
    practice: Practice,
    *,
    covariates: list[str],
    limits: Limits,
) -> Estimate:
    """The adjusted odds ratio and marginal effect of the practice contrast on ``sub``."""
    if len(sub) == 0:
        raise FitFailed("no deal has a value for this practice in this analysis")
    check_data(sub, limits)
    values = sub[column].to_numpy(float)
    y = sub["y"].to_numpy(float)
    con = contrast_for(practice, values)
    check_separation(practice, values, y)
    nuisance = nuisance_design(sub, covariates, limits.pool_min_cases).to_numpy(float)
    xs = con.scale(values)
    X = np.column_stack([nuisance, xs])
    j = X.shape[1] - 1
    keep = independent_columns(X, [j])
    X = X[:, keep]
    fit = fit_clustered(y, X, sub[REP_CODE].to_numpy())
    c = np.zeros(X.shape[1])
    c[-1] = 1.0
    Z1, Z0 = X.copy(), X.copy()
    Z1[:, -1], Z0[:, -1] = 1.0, 0.0
    return Estimate(effect=contrast(fit, c, Z1, Z0), contrast=con)
