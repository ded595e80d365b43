"""Between-unit spread: overdispersion (DerSimonian-Laird), shrinkage, BH q-values, ranks."""

from __future__ import annotations

import math

import numpy as np
from scipy import special
from statsmodels.stats.multitest import multipletests

from brightspots.deviance.inputs import DevianceInputError

#: E[z_w^2] for standard normal z winsorised at its 10th and 90th percentiles:
#: (1 - 2a) - 2 c phi(c) + 2 a c^2 with a = 0.1, c = Phi^-1(0.9)
WINSORISED_NULL_MEAN = float(
    (1 - 0.2)
    - 2 * special.ndtri(0.9) * np.exp(-(special.ndtri(0.9) ** 2) / 2) / np.sqrt(2 * np.pi)
    + 0.2 * special.ndtri(0.9) ** 2
)
PHI_METHODS = ("unbiased", "winsorised")


def overdispersion(
    z: np.ndarray, s: np.ndarray, *, method: str = "unbiased"
) -> tuple[float, float]:
    """(phi, tau2): dispersion ratio and DerSimonian-Laird between-unit variance.

    z is winsorised at its 10th and 90th percentiles (linear interpolation, numpy's default and
    R's type 7, as FunnelPlotR) and phi = mean(z_w^2). With n units and w = 1/s^2:
    tau2 = 0 when n * phi <= n - 1, else (n * phi - (n - 1)) / (sum w - sum w^2 / sum w).
    Fewer than two units cannot show a spread between units: tau2 = 0 (phi is NaN for none).

    Winsorising lowers phi even when the model is exactly right: for standard normal z the mean
    of z_w^2 is 0.679 (``WINSORISED_NULL_MEAN``), so with the literal formula
    (``method="winsorised"``, method.md section 2, FunnelPlotR, NHS SHMI) tau2 stays 0 until the
    variance of z exceeds about 1.47. The default ``method="unbiased"`` divides by 0.679 so that
    phi = 1 means "no more spread than chance", as method.md intends. Why it matters: with the
    literal formula a real but moderate spread (a tenth of reps better by design, case-mix
    misfit on big deals) reads as tau2 = 0 or nearly 0; tau2 near 0 then shrinks every rep almost
    to 1, so P(theta > 1) stays under 0.95 for reps 5 standard errors above expectation, while
    reps whose revenue rests on a few big deals are judged with no allowance for overdispersion.
    """
    if method not in PHI_METHODS:
        raise DevianceInputError(f"overdispersion method {method!r}: use one of {PHI_METHODS}")
    z = np.asarray(z, dtype=float).ravel()
    s = np.asarray(s, dtype=float).ravel()
    if z.shape != s.shape:
        raise DevianceInputError(f"z and s differ in length ({z.size} and {s.size})")
    if not np.all(np.isfinite(z)):
        raise DevianceInputError(
            f"z: entry {int(np.flatnonzero(~np.isfinite(z))[0])} is not finite"
        )
    if not np.all(np.isfinite(s) & (s > 0)):
        bad = int(np.flatnonzero(~(np.isfinite(s) & (s > 0)))[0])
        raise DevianceInputError(f"s: entry {bad} is {s[bad]!r}, not a positive number")
    n = z.size
    if n == 0:
        return math.nan, 0.0
    lo, hi = np.percentile(z, [10.0, 90.0])
    phi = float(np.mean(np.clip(z, lo, hi) ** 2))
    if method == "unbiased":
        phi /= WINSORISED_NULL_MEAN
    if n < 2 or n * phi <= n - 1:
        return phi, 0.0
    w = 1.0 / s**2
    tau2 = (n * phi - (n - 1)) / (w.sum() - (w**2).sum() / w.sum())
    return phi, float(max(tau2, 0.0))


def shrink(
    y: np.ndarray, s: np.ndarray, tau2: float, mu: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normal-normal posterior of each unit's true ratio: (theta, posterior sd, weight).

    w = tau2 / (tau2 + s^2), theta = mu + w (y - mu), posterior variance w s^2. With tau2 = 0
    every unit is pulled to mu with posterior sd 0. NaN in y or s passes through as NaN.
    """
    y = np.asarray(y, dtype=float)
    s = np.asarray(s, dtype=float)
    if not (math.isfinite(tau2) and tau2 >= 0):
        raise DevianceInputError(f"tau2 is {tau2!r}, not a number >= 0")
    if np.any(s[np.isfinite(s)] <= 0):
        raise DevianceInputError("s: standard errors must be positive")
    w = tau2 / (tau2 + s**2)
    theta = mu + w * (y - mu)
    return theta, np.sqrt(w * s**2), w


def bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values (statsmodels ``fdr_bh``) over the finite entries; NaN stays."""
    p = np.asarray(p, dtype=float)
    q = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if np.any((p[ok] < 0) | (p[ok] > 1)):
        raise DevianceInputError("p-values must lie in [0, 1]")
    if ok.any():
        q[ok] = multipletests(p[ok], method="fdr_bh")[1]
    return q


def expected_ranks(mean: np.ndarray, sd: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """Posterior expected rank (1 = best) of independent normals: 1 + sum_j P(theta_j > theta_i).

    Analytic, by pairs in chunks; a pair with zero total variance counts 1 if theta_j is higher
    and 1/2 if they are equal (so with every sd 0 and equal means each rank is (n + 1) / 2).
    """
    m = np.asarray(mean, dtype=float)
    v = np.asarray(sd, dtype=float) ** 2
    ranks = np.empty(m.size)
    for start in range(0, m.size, chunk):
        mi, vi = m[start : start + chunk, None], v[start : start + chunk, None]
        diff, tot = m[None, :] - mi, vi + v[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            prob = np.where(tot > 0, special.ndtr(diff / np.sqrt(tot)), 0.5 * (1 + np.sign(diff)))
        ranks[start : start + chunk] = 1.0 + prob.sum(axis=1) - 0.5  # drop the j = i term
    return ranks
