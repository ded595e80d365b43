"""Funnel limits on the ratio scale, with overdispersion and skewness, and the drawn funnel."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from brightspots.deviance.constants import Z95, Z998
from brightspots.deviance.inputs import DevianceInputError
from brightspots.deviance.skew import cf_quantile


def ratio_limits(
    s: np.ndarray, tau2: float, z: float, k3: np.ndarray | float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Limits on Y = O / E at normal quantile z: 1 + sd x(-z) and 1 + sd x(z).

    sd = sqrt(s^2 + tau2); k3 = T / E^3 is the third cumulant of Y under the model (the
    random effect is normal and adds none), so its skewness is gamma = k3 / sd^3 and x is the
    Cornish-Fisher quantile of :mod:`.skew` (x(z) = z when k3 = 0: the plain 1 -+ z sd of
    method.md). A ratio cannot be negative, so the lower limit stops at 0.
    """
    sd = np.sqrt(np.asarray(s, dtype=float) ** 2 + tau2)
    with np.errstate(all="ignore"):
        gamma = np.where(sd > 0, np.asarray(k3, dtype=float) / sd**3, 0.0)
    return np.maximum(1.0 + sd * cf_quantile(-z, gamma), 0.0), 1.0 + sd * cf_quantile(z, gamma)


def funnel_curve(
    expected: np.ndarray, v_over_e: float, tau2: float, t_over_v: float = 0.0
) -> pd.DataFrame:
    """Funnel lines for drawing against E on the ratio scale.

    A typical unit with expected E has V = v_over_e * E and third cumulant T = t_over_v * V
    (for win rates v_over_e = the typical 1 - p, t_over_v = the typical 1 - 2p; for revenue
    V / E and T / V are money amounts), so s = sqrt(V) / E and k3 = T / E^3. Unadjusted lines
    are :func:`ratio_limits` with tau2 = 0, adjusted ones with tau2; with t_over_v = 0 they are
    the symmetric 1 -+ z s and 1 -+ z sqrt(s^2 + tau2). (Per-unit verdicts use each unit's own
    exact or skew-corrected limits; these lines are for drawing.) Lower lines stop at 0.
    """
    e = np.asarray(expected, dtype=float).ravel()
    if not np.all(np.isfinite(e) & (e > 0)):
        raise DevianceInputError("funnel_curve: expected counts must be positive numbers")
    if not (math.isfinite(v_over_e) and v_over_e > 0):
        raise DevianceInputError(f"funnel_curve: v_over_e is {v_over_e!r}, not a positive number")
    if not (math.isfinite(tau2) and tau2 >= 0):
        raise DevianceInputError(f"funnel_curve: tau2 is {tau2!r}, not a number >= 0")
    if not math.isfinite(t_over_v):
        raise DevianceInputError(f"funnel_curve: t_over_v is {t_over_v!r}, not a number")
    v = v_over_e * e
    s = np.sqrt(v) / e
    k3 = t_over_v * v / e**3
    cols: dict[str, np.ndarray] = {"expected": e}
    for prefix, t2 in (("", 0.0), ("adj_", tau2)):
        for name, z in (("95", Z95), ("998", Z998)):
            cols[f"{prefix}lower_{name}"], cols[f"{prefix}upper_{name}"] = ratio_limits(
                s, t2, z, k3
            )
    return pd.DataFrame(cols)
