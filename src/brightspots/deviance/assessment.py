"""One level of units, one outcome: limits, scores, shrinkage, ranks, power, labels, reasons."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import special

from brightspots.deviance.constants import (
    DEFAULT_EFFECT,
    POWER_TARGET,
    Z90,
    Z95,
    Z998,
    Z_ONE_SIDED_95,
)
from brightspots.deviance.dispersion import bh, expected_ranks, overdispersion, shrink
from brightspots.deviance.funnel import ratio_limits
from brightspots.deviance.inputs import DevianceInputError, check_units, grouped_probs
from brightspots.deviance.labels import COUNT_WORDS, label_units, tau2_note
from brightspots.deviance.poisson_binomial import exact_count_limits, third_cumulant
from brightspots.deviance.power import detection_power
from brightspots.deviance.reasons import reason
from brightspots.deviance.skew import count_limits, skew_z

#: outcome name -> plain words; ``True`` marks outcomes that count wins
OUTCOMES: dict[str, str] = {
    "win_rate": "win rate",
    "won_revenue": "won revenue",
    "buyer_impact": "buyer-impact rate",
}
_COUNTS = {"win_rate": True, "won_revenue": False, "buyer_impact": False}

OUTPUT_COLUMNS = (
    "oe",
    "lower_95",
    "upper_95",
    "lower_998",
    "upper_998",
    "s",
    "z",
    "adj_lower_95",
    "adj_upper_95",
    "adj_lower_998",
    "adj_upper_998",
    "z_od",
    "p_value",
    "q_value",
    "shrunk_oe",
    "shrunk_lower_95",
    "shrunk_upper_95",
    "reliability",
    "p_above_1",
    "p_extreme",
    "expected_rank",
    "sustained",
    "needed_oe",
    "label",
    "reason",
    "outcome",
    "skew",
    "power",
    "detectable",
)


def assess(
    units: pd.DataFrame,
    probs: pd.DataFrame,
    *,
    min_volume: int = 20,
    noun: str = "rep",
    phi_method: str = "unbiased",
) -> tuple[pd.DataFrame, dict]:
    """The win-rate assessment: :func:`assess_outcome` with outcome='win_rate' and ``probs``."""
    return assess_outcome(
        units,
        outcome="win_rate",
        min_volume=min_volume,
        noun=noun,
        probs=probs,
        phi_method=phi_method,
    )


def assess_outcome(
    units: pd.DataFrame,
    *,
    outcome: str,
    min_volume: int = 20,
    noun: str = "rep",
    probs: pd.DataFrame | None = None,
    effect: float = DEFAULT_EFFECT,
    currency: str = "USD",
    phi_method: str = "unbiased",
) -> tuple[pd.DataFrame, dict]:
    """Funnel, overdispersion, BH, shrinkage, ranks, power and labels for one level and outcome.

    ``units``: one row per unit with unit_id, n (closed deals: the volume that ``min_volume``
    applies to), observed, expected, variance, observed_odd, expected_odd, observed_even,
    expected_even, and ``third`` (third cumulant of the observed total under the model).

    * ``win_rate``: O = wins, E = sum p, V = sum p(1-p), third = sum p(1-p)(1-2p). ``probs``
      (unit_id, p, count: binned p_hat with multiplicities adding up to each unit's n) gives the
      exact unadjusted limits and, when the ``third`` column is absent, the third cumulant.
      Without ``probs`` the unadjusted limits are skew-corrected normal ones, like revenue's.
    * ``won_revenue``: O = booked amount of won deals, E = sum p a, V and third as given (the
      caller computes them from each deal's expected amount and its spread); ``third`` is
      required and ``probs`` is not used. Unadjusted limits: E + sqrt(V) x(-+z) with the
      Cornish-Fisher x of :mod:`.skew`.
    * ``buyer_impact``: n = settled touches (the volume ``min_volume`` then applies to),
      O = touches with buyer impact, E = sum p, V and third as given (the caller inflates the
      binomial moments by the design effect of touches clustered in accounts, see
      ``brightspots.impact``); ``third`` is required; limits as for revenue.

    Returns the units (input columns first, input order) plus :data:`OUTPUT_COLUMNS`, and a
    summary dict (outcome, phi, tau2, mu, rankability, n_units, n_eligible, n_bright_spots,
    n_candidates, n_detectable, effect, tau2_zero_note, and v_over_e, t_over_v, pooled_oe,
    min_volume for drawing and context).

    Choices:

    * The test is skew-aware. z_od is the normal-power (inverse Cornish-Fisher) transform of
      x = (Y - 1) / sqrt(s^2 + tau2) with the skewness gamma = (T / E^3) / (s^2 + tau2)^1.5 of Y
      under the overdispersed model (the normal random effect adds no skewness), and
      p = 1 - Phi(z_od). The label rule is unchanged (z_od >= 3.090232 or q <= 0.05 ...): the
      correction only makes z_od mean what the rule assumes it means. Win counts at p < 0.5 and
      revenue are right-skewed; with the plain normal z, z >= 3.09 happens 1.4 to 3 times as
      often as 0.1% for books of 6 to 50 expected wins at p 0.1 to 0.3 (5.7 times at p = 0.05
      and E = 1.5; exact binomial sums), and revenue books with lognormal deal sizes 2.7 to 13
      times (a small book with one big deal is flagged whenever that deal is won). Skew-corrected
      the win-count rate is 0.75 to 1.0 times 0.1% across that range (0.6 for the smallest
      books; close to the exact mid-p test) and the revenue rate 0.9 to 1.9 times (three
      cumulants cannot capture all of a lognormal tail). The adjusted limits are the matching
      skewed quantiles
      1 + sqrt(s^2 + tau2) x(-+z), so z_od >= 3.090232 exactly when Y is above adj_upper_998.
      ``z`` stays the plain (Y - 1) / s that overdispersion is estimated from (method.md).
    * ``needed_oe`` (every measurable unit): the O/E the unit needs to pass the strong test and,
      when tau2 > 0, the P(theta > 1) >= 0.95 gate: max(adj_upper_998, 1 + 1.644854 s /
      sqrt(w)). It ignores the BH route, which depends on everyone else (so it is the ratio that
      is sure to be enough, not the least that might be).
    * ``power``: the chance of being labelled if the true ratio were ``effect`` (see
      :mod:`.power`); 0 below the minimum volume. ``detectable``: eligible and power >= 0.8.
    * Candidates need the minimum volume too. Below it the exact limits are wide and a few lucky
      deals put a small book beyond the 95% line, so most "candidates" would be noise and would
      crowd out those worth a look; small books instead say what ratio they would need.
    * mu = 1, not the weighted mean of Y. E comes from a case-mix model fitted without rep terms
      whose intercept makes total wins equal total expected wins, so the population ratio is 1 by
      construction; estimating mu would add a parameter that a few large books could move, and
      would make P(theta > 1) mean something other than "beats own expectation". The pooled
      O/E of the eligible units is reported beside it as a check (far from 1: the model is off).
    * With tau2 = 0, P(theta > 1) and P(theta > 90th percentile) are NaN (not informative: the
      posterior is a point at mu) and every eligible rank is the middle one.
    * Expected ranks and rankability are over eligible units; the rest get NaN ranks.
    """
    if outcome not in OUTCOMES:
        raise DevianceInputError(
            f"outcome {outcome!r} is not one of {', '.join(map(repr, OUTCOMES))}"
        )
    if min_volume < 1:
        raise DevianceInputError(f"min_volume is {min_volume!r}; it must be at least 1")
    if not (math.isfinite(effect) and effect > 1):
        raise DevianceInputError(f"effect is {effect!r}; it must be a ratio above 1")
    counts = _COUNTS[outcome]
    units = units.reset_index(drop=True)
    cols = check_units(units, counts=counts)
    n, o, e, v = cols["n"], cols["observed"], cols["expected"], cols["variance"]
    size = len(units)
    groups = None
    if probs is not None:
        if not counts:
            raise DevianceInputError(
                f"deviance input `probs` is for win counts; outcome {outcome!r} takes none"
            )
        groups = grouped_probs(probs.reset_index(drop=True), units, n)
    if "third" in cols:
        t = cols["third"]
    elif groups is not None:
        t = np.array([third_cumulant(g_p, g_count) for g_p, g_count in groups])
    else:
        raise DevianceInputError(
            f"deviance input `units` lacks column 'third' (the third cumulant of {outcome}), "
            "and no `probs` were given to compute it from"
        )

    measurable = (e > 0) & (v > 0)
    eligible = measurable & (n >= min_volume)
    with np.errstate(all="ignore"):
        oe = np.where(e > 0, o / e, np.nan)
        s = np.where(e > 0, np.sqrt(v) / e, np.nan)
        z = np.where(measurable, (oe - 1.0) / s, np.nan)
        k3 = np.where(measurable, t / e**3, np.nan)  # third cumulant of Y = O / E
        skew = np.where(measurable, t / v**1.5, np.nan)

    lim = _unadjusted_limits(e, v, t, n, groups, counts=counts)
    # the candidate rule's second route (above the unadjusted 99.8% limit) is for win counts,
    # whose unadjusted limits are those of the count's own law; revenue's and buyer impact's are
    # moment approximations that leave out the spread between units (with buyer impact's real
    # spread, many units clear them by that spread alone), so there only z_od >= 1.96 does
    above_998 = (o > lim[:, 3]) if counts else np.zeros(size, dtype=bool)
    with np.errstate(all="ignore"):
        lim /= np.where(e > 0, e, np.nan)[:, None]

    phi, tau2 = overdispersion(z[eligible], s[eligible], method=phi_method)
    mu = 1.0
    sd_od = np.sqrt(s**2 + tau2)
    adj = np.full((size, 4), np.nan)
    m = measurable
    adj[m, 0], adj[m, 1] = ratio_limits(s[m], tau2, Z95, k3[m])
    adj[m, 2], adj[m, 3] = ratio_limits(s[m], tau2, Z998, k3[m])
    z_od = np.full(size, np.nan)
    z_od[m] = skew_z((oe[m] - 1.0) / sd_od[m], k3[m] / sd_od[m] ** 3)
    p_value = np.where(m, special.ndtr(-z_od), np.nan)
    q_value = np.full(size, np.nan)
    q_value[eligible] = bh(p_value[eligible])

    theta, post_sd, weight = (np.full(size, np.nan) for _ in range(3))
    theta[m], post_sd[m], weight[m] = shrink(oe[m], s[m], tau2, mu)
    p_above_1 = np.full(size, np.nan)
    p_extreme = np.full(size, np.nan)
    needed = adj[:, 3].copy()
    if tau2 > 0:
        p_above_1[m] = special.ndtr((theta[m] - 1.0) / post_sd[m])
        cut = mu + Z90 * math.sqrt(tau2)
        p_extreme[m] = special.ndtr((theta[m] - cut) / post_sd[m])
        needed[m] = np.maximum(needed[m], 1.0 + Z_ONE_SIDED_95 * s[m] / np.sqrt(weight[m]))
    rank = np.full(size, np.nan)
    rank[eligible] = expected_ranks(theta[eligible], post_sd[eligible])

    def half_above(obs: np.ndarray, exp: np.ndarray) -> np.ndarray:
        return (exp > 0) & (obs > exp)

    sustained = half_above(cols["observed_odd"], cols["expected_odd"]) & half_above(
        cols["observed_even"], cols["expected_even"]
    )
    power = detection_power(
        ratio=effect,
        threshold=needed,
        n=n,
        expected=e,
        variance=v,
        third=t,
        expected_odd=cols["expected_odd"],
        expected_even=cols["expected_even"],
        counts=counts,
    )
    power = np.where(m & ~eligible, 0.0, power)
    detectable = eligible & (power >= POWER_TARGET)
    labels = label_units(
        eligible=eligible,
        z_od=z_od,
        q_value=q_value,
        p_above_1=p_above_1,
        sustained=sustained,
        above_exact_998=above_998,
        tau2=tau2,
    )

    result = {
        "oe": oe,
        "lower_95": lim[:, 0],
        "upper_95": lim[:, 1],
        "lower_998": lim[:, 2],
        "upper_998": lim[:, 3],
        "s": s,
        "z": z,
        "adj_lower_95": adj[:, 0],
        "adj_upper_95": adj[:, 1],
        "adj_lower_998": adj[:, 2],
        "adj_upper_998": adj[:, 3],
        "z_od": z_od,
        "p_value": p_value,
        "q_value": q_value,
        "shrunk_oe": theta,
        "shrunk_lower_95": theta - Z95 * post_sd,
        "shrunk_upper_95": theta + Z95 * post_sd,
        "reliability": weight,
        "p_above_1": p_above_1,
        "p_extreme": p_extreme,
        "expected_rank": rank,
        "sustained": sustained,
        "needed_oe": np.where(m, needed, np.nan),
        "label": labels,
        "outcome": np.full(size, outcome, dtype=object),
        "skew": skew,
        "power": power,
        "detectable": detectable,
    }
    basis = {"n": n, "observed": o, "expected": e, "variance": v}
    rows = pd.DataFrame({**basis, **result}).to_dict("records")
    result["reason"] = np.array(
        [
            reason(
                r,
                outcome=outcome,
                min_volume=min_volume,
                tau2=tau2,
                noun=noun,
                effect=effect,
                currency=currency,
            )
            for r in rows
        ],
        dtype=object,
    )
    out = units.drop(columns=[c for c in OUTPUT_COLUMNS if c in units.columns])
    out = pd.concat([out, pd.DataFrame(result, columns=list(OUTPUT_COLUMNS))], axis=1)

    n_eligible = int(eligible.sum())
    median_s2 = float(np.median(s[eligible] ** 2)) if n_eligible else math.nan
    rankability = tau2 / (tau2 + median_s2) if n_eligible else math.nan
    summary = {
        "outcome": outcome,
        "phi": phi,
        "tau2": tau2,
        "mu": mu,
        "rankability": rankability,
        "n_units": size,
        "n_eligible": n_eligible,
        "n_bright_spots": int((labels == "bright_spot").sum()),
        "n_candidates": int((labels == "candidate").sum()),
        "n_detectable": int(detectable.sum()),
        "effect": float(effect),
        "tau2_zero_note": tau2_note(tau2, n_eligible, min_volume, noun, COUNT_WORDS),
        "v_over_e": float(v[eligible].sum() / e[eligible].sum()) if n_eligible else math.nan,
        "t_over_v": float(t[eligible].sum() / v[eligible].sum()) if n_eligible else math.nan,
        "pooled_oe": float(o[eligible].sum() / e[eligible].sum()) if n_eligible else math.nan,
        "min_volume": min_volume,
    }
    return out, summary


def _unadjusted_limits(
    e: np.ndarray,
    v: np.ndarray,
    t: np.ndarray,
    n: np.ndarray,
    groups: list[tuple[np.ndarray, np.ndarray]] | None,
    *,
    counts: bool,
) -> np.ndarray:
    """Count-scale limits (lower_95, upper_95, lower_998, upper_998) per unit; NaN when E = 0."""
    lim = np.full((e.size, 4), np.nan)
    ok = e > 0
    if groups is not None:
        for i in np.flatnonzero(ok):
            limits = exact_count_limits(*groups[i])
            lim[i] = [*limits[0.95], *limits[0.998]]
        return lim
    top = n[ok] if counts else None
    for col, z in ((0, Z95), (2, Z998)):
        lim[ok, col], lim[ok, col + 1] = count_limits(e[ok], v[ok], t[ok], z, whole=counts, top=top)
    return lim
