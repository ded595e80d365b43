"""What goes into one practice model: the case-mix design (built by ``casemix`` exactly as the
bright-spot model builds it, sparse levels pooled) and the practice contrast (which two values of
the practice are compared, oriented so that the second one is the better one)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from brightspots import casemix
from brightspots.practices.effects.logit import FitFailed
from brightspots.practices.effects.weights import WEIGHT, quantile
from brightspots.practices.registry import Practice

#: winsorising quantiles for non-binary practices, applied before fitting
WINSOR = (0.01, 0.99)
#: contrast quantiles tried in turn for non-binary practices when the middle ones coincide
CONTRAST_QUANTILES = ((0.25, 0.75), (0.10, 0.90), (0.0, 1.0))


def nuisance_design(
    frame: pd.DataFrame, covariates: list[str], pool_min_cases: int
) -> pd.DataFrame:
    """Intercept plus case-mix terms for the rows of ``frame``, from ``casemix``'s own pooling and
    coding (its levels, centres and missing indicators are set on these rows). Constant columns
    are dropped. A grouped frame (``weights.WEIGHT``) counts each row as its deals."""
    if not covariates:
        return pd.DataFrame({"const": np.ones(len(frame))}, index=frame.index)
    keys = [f"x_{c}" for c in covariates]
    grouped = frame.groupby(keys, dropna=False, sort=True)
    if WEIGHT in frame.columns:
        cells = grouped[WEIGHT].agg(n="sum").reset_index()
    else:
        cells = grouped["y"].agg(n="size", wins="sum").reset_index()
    X = prepared(cells, covariates, pool_min_cases).design(frame)
    keep = [c for c in X.columns if c == "const" or np.ptp(X[c].to_numpy()) > 0]
    return X[keep]


def prepared(
    cells: pd.DataFrame, covariates: list[str], pool_min_cases: int, *, ordered: bool = False
) -> casemix.CaseMixModel:
    """``casemix.prepare`` of the cells; its refusal as ``FitFailed``."""
    try:
        return casemix.prepare(cells, covariates, pool_min_cases=pool_min_cases, ordered=ordered)
    except casemix.CaseMixError as err:
        raise FitFailed(str(err)) from err


@dataclass(frozen=True)
class Contrast:
    worse: float  # value compared from
    better: float  # value compared to (the better end: higher, or lower when lower is better)
    lower: float  # winsorising bounds (binary: 0 and 1)
    upper: float

    def scale(self, values: np.ndarray) -> np.ndarray:
        """Winsorised values on the contrast scale: 0 at ``worse``, 1 at ``better``, so that
        the coefficient of the scaled practice is the log odds ratio of the contrast."""
        v = np.clip(values, self.lower, self.upper)
        return (v - self.worse) / (self.better - self.worse)


def contrast_for(
    practice: Practice, values: np.ndarray, weights: np.ndarray | None = None
) -> Contrast:
    """Binary: 1 against 0. Otherwise the 25th against the 75th percentile of the winsorised
    values (1%/99%); when they coincide (many zeros), the 10th/90th, then the extremes.
    ``weights``: the deals each value stands for (grouped cells), None for one each."""
    if len(values) == 0:
        raise FitFailed("no deal has a value for this practice in this analysis")
    if practice.kind == "binary":
        lo, hi = 0.0, 1.0
        if np.all(values == values[0]):
            raise FitFailed(f"no variation: every analysed deal has the value {values[0]:g}")
        return _oriented(practice, lo, hi, 0.0, 1.0)
    lower, upper = (float(q) for q in quantile(values, WINSOR, weights))
    w = np.clip(values, lower, upper)
    for qa, qb in CONTRAST_QUANTILES:
        lo, hi = (float(q) for q in quantile(w, (qa, qb), weights))
        if hi > lo:
            return _oriented(practice, lo, hi, lower, upper)
    if np.all(values == values[0]):
        raise FitFailed(f"no variation: every analysed deal has the value {values[0]:g}")
    raise FitFailed("no variation once winsorised: the practice differs only in its extreme 1%")


def _oriented(practice: Practice, lo: float, hi: float, lower: float, upper: float) -> Contrast:
    if practice.higher_is_better:
        return Contrast(worse=lo, better=hi, lower=lower, upper=upper)
    return Contrast(worse=hi, better=lo, lower=lower, upper=upper)
