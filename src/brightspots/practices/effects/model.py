"""One practice model: logit(win) = case mix + practice contrast, clustered by rep, fitted on the
deals where the practice is defined in one analysis (primary or whole-deal). A grouped frame
(``weights.WEIGHT``: rows standing for several deals) is fitted with its rows as frequency
weights."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from brightspots.practices.effects.design import Contrast, contrast_for, nuisance_design
from brightspots.practices.effects.designs import Designs
from brightspots.practices.effects.logit import (
    Effect,
    FitFailed,
    contrast_at,
    fit_clustered,
    independent_columns,
    kept_columns,
    stack_columns,
)
from brightspots.practices.effects.screen import REP_CODE  # the validated frame's rep codes
from brightspots.practices.effects.weights import n_deals, total, weights_of
from brightspots.practices.registry import Practice


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


def n_reps(sub: pd.DataFrame) -> int:
    """The number of reps among ``sub``'s deals (counted on their codes when it has them)."""
    return int(sub[REP_CODE if REP_CODE in sub.columns else "rep_id"].nunique())


def check_data(sub: pd.DataFrame, limits: Limits, what: str = "analysed deals") -> None:
    """Enough deals, enough reps, both outcomes; else ``FitFailed`` saying which."""
    deals = n_deals(sub)
    if deals < limits.min_deals:
        raise FitFailed(f"too few {what}: {deals} (at least {limits.min_deals} needed)")
    reps = n_reps(sub)
    if reps < limits.min_reps:
        raise FitFailed(
            f"too few reps among the {what}: {reps} (at least {limits.min_reps} needed for "
            "standard errors clustered by rep)"
        )
    weights = weights_of(sub)
    wins = int(sub["y"].sum()) if weights is None else int(total(sub["y"].to_numpy(float), weights))
    if wins in (0, deals):
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
    designs: Designs | None = None,
) -> Estimate:
    """The adjusted odds ratio and marginal effect of the practice contrast on ``sub``.
    ``designs``: where the case-mix design of ``sub``'s rows may be kept and found again."""
    if len(sub) == 0:
        raise FitFailed("no deal has a value for this practice in this analysis")
    check_data(sub, limits)
    values = sub[column].to_numpy(float)
    y = sub["y"].to_numpy(float)
    w = weights_of(sub)
    con = contrast_for(practice, values, w)
    check_separation(practice, values, y)
    xs = con.scale(values)
    if designs is None:
        X = stack_columns(nuisance_design(sub, covariates, limits.pool_min_cases).to_numpy(), xs)
    else:
        X = designs.stacked(sub, covariates, xs)
    j = X.shape[1] - 1
    X = kept_columns(X, independent_columns(X, [j], w))
    fit = fit_clustered(y, X, sub[REP_CODE].to_numpy(), w)
    c = np.zeros(X.shape[1])
    c[-1] = 1.0
    last = [X.shape[1] - 1]
    effect = contrast_at(fit, c, X, last, np.ones(1), np.zeros(1), weights=w)
    return Estimate(effect=effect, contrast=con)
