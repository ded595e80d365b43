"""Detectability: the chance that a unit whose true ratio is R would be labelled a bright spot.

For a unit with expected E, model variance V and third cumulant T, the label needs O/E at or
above a threshold u (its adjusted 99.8% limit, or the ratio at which P(theta > 1) reaches 0.95
if that is higher; see ``needed_oe``) AND O/E > 1 in both halves of the sample. The power is

    P(Y >= u | true ratio R) * P(both halves above 1 | Y >= u).

The first factor uses the unit's distribution under the alternative: for win counts every deal's
win probability is multiplied by R (capped so that R E <= n), which gives mean R E, variance
R E - R^2 sum p^2 and third cumulant R E - 3 R^2 sum p^2 + 2 R^3 sum p^3, all recovered from
E, V and T (sum p^2 = E - V, sum p^3 = (T - E + 3 sum p^2) / 2); for revenue the unit wins R times
as often with the same amounts, approximated by scaling every cumulant by R (compound Poisson;
it overstates the spread a little, so the power errs low). The tail is skew-corrected (normal
power approximation, :mod:`.skew`; whole counts with the continuity correction). The second
factor is the normal model's conditional probability, splitting E between the halves as the
unit's expected_odd and expected_even do and V in the same proportions (right when both halves
have a similar mix of deals, as odd and even months do).

The BH path to the label (q <= 0.05) is left out, so the power errs low where it matters.
Checked against simulated labels (tests/test_deviance_outcomes.py, within 0.02) and against the
recall of planted units (tests/test_deviance_power.py, within 0.1 in every cell).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from brightspots.deviance.skew import skew_z

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(64)
_SPAN = 9.0  # integrate the half ratio over mean -+ 9 sd


def alternative_moments(
    ratio: np.ndarray,
    n: np.ndarray,
    expected: np.ndarray,
    variance: np.ndarray,
    third: np.ndarray,
    *,
    counts: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(true ratio, variance, third cumulant) of the total when the true ratio is ``ratio``."""
    e, v, t = (np.asarray(a, dtype=float) for a in (expected, variance, third))
    r = np.broadcast_to(np.asarray(ratio, dtype=float), e.shape).copy()
    if counts:
        with np.errstate(all="ignore"):
            r = np.minimum(r, np.where(e > 0, np.asarray(n, dtype=float) / e, r))
        sp2 = e - v
        sp3 = (t - e + 3.0 * sp2) / 2.0
        v_alt = r * e - r**2 * sp2
        t_alt = r * e - 3.0 * r**2 * sp2 + 2.0 * r**3 * sp3
    else:
        v_alt, t_alt = r * v, r * t
    return r, np.maximum(v_alt, 0.0), t_alt


def _sf(x: np.ndarray) -> np.ndarray:
    return special.ndtr(-x)


def detection_power(
    *,
    ratio: np.ndarray | float,
    threshold: np.ndarray,
    n: np.ndarray,
    expected: np.ndarray,
    variance: np.ndarray,
    third: np.ndarray,
    expected_odd: np.ndarray,
    expected_even: np.ndarray,
    counts: bool,
) -> np.ndarray:
    """Power to label each unit if its true ratio were ``ratio`` (see the module docstring).

    ``threshold`` is the O/E the unit needs (``needed_oe``); NaN in it gives NaN. For win counts
    the thresholds are whole counts, approximated with the continuity correction: the total must
    reach k = ceil(u E) wins, taken as the continuous total passing k - 1/2, and each half must
    pass floor(E_h) + 1/2.
    """
    e = np.asarray(expected, dtype=float)
    e1 = np.asarray(expected_odd, dtype=float)
    e2 = np.asarray(expected_even, dtype=float)
    u = np.asarray(threshold, dtype=float)
    r, v_alt, t_alt = alternative_moments(ratio, n, e, variance, third, counts=counts)
    with np.errstate(all="ignore"):
        if counts:
            u = (np.ceil(u * e - 1e-9) - 0.5) / e
            c1, c2 = (np.floor(e1) + 0.5) / e1, (np.floor(e2) + 0.5) / e2
        else:
            c1, c2 = np.ones_like(e), np.ones_like(e)
        s_alt = np.sqrt(v_alt) / e
        gamma = np.where(v_alt > 0, t_alt / v_alt**1.5, 0.0)
        main = np.where(s_alt > 0, _sf(skew_z((u - r) / s_alt, gamma)), (r >= u) * 1.0)
        main_normal = _sf((u - r) / s_alt)
        both = _both_halves(r, u, e, e1, e2, c1, c2, v_alt)
        given = np.where(
            s_alt > 0,
            np.where(main_normal > 1e-300, both / main_normal, 1.0),
            ((r > c1) & (r > c2)) * 1.0,
        )
    power = main * np.clip(given, 0.0, 1.0)
    power = np.where((e1 > 0) & (e2 > 0), power, 0.0)
    return np.where(np.isfinite(u) & (e > 0), np.clip(power, 0.0, 1.0), np.nan)


def _both_halves(
    r: np.ndarray,
    u: np.ndarray,
    e: np.ndarray,
    e1: np.ndarray,
    e2: np.ndarray,
    c1: np.ndarray,
    c2: np.ndarray,
    v: np.ndarray,
) -> np.ndarray:
    """P(Y1 > c1, Y2 > c2, E1 Y1 + E2 Y2 >= u E) for independent normal half ratios.

    Y_h has mean r and variance V E_h / E / E_h^2 (the variance splits like the expectation).
    Integrates over Y1 (Gauss-Legendre): from c1 to the kink k = (u E - E2 c2) / E1 the second
    half must reach (u E - E1 Y1) / E2; beyond k it must only pass c2 (closed form).
    """
    with np.errstate(all="ignore"):
        sd1 = np.sqrt(v / (e * e1))
        sd2 = np.sqrt(v / (e * e2))
        kink = (u * e - e2 * c2) / e1
        lo = np.maximum(c1, r - _SPAN * sd1)
        hi = np.minimum(kink, r + _SPAN * sd1)
        width = np.where(hi > lo, hi - lo, 0.0)
        y1 = lo[..., None] + (width[..., None] / 2.0) * (_NODES + 1.0)
        dens = np.exp(-0.5 * ((y1 - r[..., None]) / sd1[..., None]) ** 2) / (
            np.sqrt(2 * np.pi) * sd1[..., None]
        )
        need2 = (u[..., None] * e[..., None] - e1[..., None] * y1) / e2[..., None]
        inner = _sf((need2 - r[..., None]) / sd2[..., None])
        part = (width / 2.0) * np.sum(_WEIGHTS * dens * inner, axis=-1)
        beyond = _sf((np.maximum(kink, c1) - r) / sd1) * _sf((c2 - r) / sd2)
    return np.nan_to_num(part, nan=0.0) + np.nan_to_num(beyond, nan=0.0)
