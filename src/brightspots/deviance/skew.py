"""Skewness-corrected normal quantiles and z-scores (Cornish-Fisher and its inverse).

A total of many independent terms (wins, or booked revenue) is close to normal in the middle but
its tails are skewed: win counts at p < 0.5 and revenue with a few large deals have a long right
tail, so a plain normal upper limit is too low and flags small books. With the standardised third
cumulant gamma = K3 / K2^1.5 of the total, the first-order Cornish-Fisher expansion gives the
quantile at normal quantile u as ``x(u) = u + g (u^2 - 1)``, g = gamma / 6. Its inverse is the
actuaries' normal-power approximation ``u(x) = 2 (g + x) / (1 + sqrt(1 + 4 g (g + x)))``: the
skew-corrected z of a standardised value x, whose normal tail Phi(-u(x)) approximates the
mid-p tail of the total. Both reduce to the identity at gamma = 0.

x(u) is monotone only on one side of its turning point u* = -1 / (2 g); beyond it (far in the short
tail) both functions are held at the turning point, so they stay monotone and finite.
"""

from __future__ import annotations

import numpy as np


def _g(gamma: np.ndarray | float) -> np.ndarray:
    return np.asarray(gamma, dtype=float) / 6.0


def cf_quantile(u: np.ndarray | float, gamma: np.ndarray | float) -> np.ndarray:
    """Standardised quantile x(u) = u + (gamma / 6) (u^2 - 1), held at the turning point."""
    u = np.asarray(u, dtype=float)
    g = _g(gamma)
    x = u + g * (u * u - 1.0)
    with np.errstate(all="ignore"):
        turn = -1.0 / (2.0 * g)
        beyond = ((g > 0) & (u < turn)) | ((g < 0) & (u > turn))
        held = -1.0 / (4.0 * g) - g
    return np.where(beyond, held, x)


def skew_z(x: np.ndarray | float, gamma: np.ndarray | float) -> np.ndarray:
    """The normal quantile u with cf_quantile(u, gamma) = x (normal-power approximation).

    Written as 2 (g + x) / (1 + sqrt(1 + 4 g (g + x))), which is exact at g = 0 and has no
    cancellation for small g. Beyond the turning value of x(u) the result is the turning point.
    """
    x = np.asarray(x, dtype=float)
    g = _g(gamma)
    disc = 1.0 + 4.0 * g * (g + x)
    with np.errstate(all="ignore"):
        u = 2.0 * (g + x) / (1.0 + np.sqrt(np.maximum(disc, 0.0)))
        turn = -1.0 / (2.0 * np.where(g == 0, np.nan, g))
    return np.where(disc < 0, turn, u)


def count_limits(
    expected: np.ndarray,
    variance: np.ndarray,
    third: np.ndarray,
    z: float,
    *,
    whole: bool,
    top: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided limits on a total with mean E, variance V and third cumulant T, at normal z.

    lower = E + sqrt(V) x(-z), upper = E + sqrt(V) x(z) with gamma = T / V^1.5. For whole counts
    the limits are critical counts with the continuity correction (as for exact limits: O is
    above when O > upper): upper = ceil(E + sqrt(V) x(z) - 0.5), lower = floor(E + sqrt(V)
    x(-z) + 0.5). Limits are clipped to [0, top] (top = the number of trials, or no cap).
    """
    e = np.asarray(expected, dtype=float)
    v = np.asarray(variance, dtype=float)
    sd = np.sqrt(v)
    with np.errstate(all="ignore"):
        gamma = np.where(v > 0, np.asarray(third, dtype=float) / v**1.5, 0.0)
    lower = e + sd * cf_quantile(-z, gamma)
    upper = e + sd * cf_quantile(z, gamma)
    if whole:
        lower, upper = np.floor(lower + 0.5), np.ceil(upper - 0.5)
    cap = np.inf if top is None else np.asarray(top, dtype=float)
    return np.clip(lower, 0.0, cap), np.clip(upper, 0.0, cap)
