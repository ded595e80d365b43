"""A funnel on means (survey indices such as care) with the rules of the results funnel.

Results compare observed with expected counts; a survey index has no case-mix expectation, so each
unit's mean y (0-1) is compared with a reference mean mu of the same level and source (the company
mean over all answers). The rest is method.md sections 2-5 as for results: the spread between
units is estimated by ``overdispersion`` (winsorised phi, DerSimonian-Laird tau2) on
z = (y - mu) / s, tests allow for it, q-values are Benjamini-Hochberg over the eligible units,
the posterior comes from ``shrink`` toward mu, and ``label_units`` applies the one label rule with
the volume counted in respondents. The one addition is a small-sample correction: s comes from a
cluster-robust variance over G respondents, whose ratio has Student-t tails (see
:func:`assess_means`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import special, stats

from brightspots.deviance.constants import (
    P_ABOVE_1_THRESHOLD,
    Q_THRESHOLD,
    Z95,
    Z998,
)
from brightspots.deviance.dispersion import bh, overdispersion, shrink
from brightspots.deviance.inputs import DevianceInputError, check_columns, numeric, where
from brightspots.deviance.labels import MEAN_WORDS, label_units, tau2_note

MEANS_UNIT_COLUMNS = ("unit_id", "respondents", "mean", "se", "df", "mean_odd", "mean_even")
MEANS_OUTPUT_COLUMNS = (
    "s",
    "lower_95",
    "upper_95",
    "z",
    "df_eff",
    "z_od",
    "p_value",
    "q_value",
    "adj_lower_95",
    "adj_upper_95",
    "adj_lower_998",
    "adj_upper_998",
    "reference",
    "shrunk_mean",
    "shrunk_lower_95",
    "shrunk_upper_95",
    "reliability",
    "p_above_reference",
    "sustained",
    "label",
    "reason",
)


def floor_se(se: np.ndarray, clusters: np.ndarray) -> tuple[np.ndarray, float]:
    """(floored se, sigma_r2): s^2 = max(se^2, sigma_r2 / (4 G)).

    sigma_r2 is the median over units of se^2 G (the variance of one respondent's answers, as a
    typical unit shows it), over units with G >= 2 and a finite se. The floor matters only when
    every respondent of a unit gave the same answer (se = 0): such a unit is not known to the
    last digit, and a zero se would make its z infinite. Units with G < 2 or a NaN se stay NaN.
    Without any unit to take the median over, sigma_r2 is NaN and nothing is floored.
    """
    se = np.asarray(se, dtype=float)
    g = np.asarray(clusters, dtype=float)
    ok = np.isfinite(se) & (g >= 2)
    if np.any(se[ok] < 0):
        raise DevianceInputError("se: standard errors cannot be negative")
    if not ok.any():
        return np.where(ok, se, np.nan), math.nan
    sigma_r2 = float(np.median(se[ok] ** 2 * g[ok]))
    floored = np.full(se.shape, np.nan)
    floored[ok] = np.sqrt(np.maximum(se[ok] ** 2, sigma_r2 / (4.0 * g[ok])))
    return floored, sigma_r2


def t_to_z(x: np.ndarray, df: np.ndarray) -> np.ndarray:
    """The normal quantile with the tail of Student's t at x: Phi^-1(F_t(x; df)), both tails exact.

    Monotone in x; the identity as df grows. NaN where x or df is NaN.
    """
    x = np.asarray(x, dtype=float)
    df = np.asarray(df, dtype=float)
    ok = np.isfinite(x) & (df > 0)
    xs, dfs = np.where(ok, x, 0.0), np.where(ok, df, 1.0)
    upper = special.ndtri(stats.t.cdf(-np.abs(xs), dfs))  # <= 0, exact in the far tail
    return np.where(ok, np.where(xs >= 0, -upper, upper), np.nan)


def z_to_t(z: float, df: np.ndarray) -> np.ndarray:
    """The t_df quantile with the normal tail of z: F_t^-1(Phi(z); df) (inverse of t_to_z)."""
    return stats.t.isf(special.ndtr(-z), np.asarray(df, dtype=float))


def assess_means(
    units: pd.DataFrame,
    *,
    reference: float,
    min_volume: int = 10,
    noun: str = "rep",
    phi_method: str = "unbiased",
    rater: str = "respondents",
    reference_name: str = "the company's",
) -> tuple[pd.DataFrame, dict]:
    """Funnel, overdispersion, BH, shrinkage and labels for one level of units' mean answers.

    ``units``: one row per unit with unit_id, respondents (the volume ``min_volume`` applies
    to), mean (0-1, NaN without answers), se (cluster-robust, NaN with fewer than 2 clusters), df
    (clusters - 1; empty respondents and df count as 0), mean_odd and mean_even (the mean over
    answers given in odd and even local months, NaN when a half is empty). ``reference``: mu,
    the same estimator over every answer of the level and source (the company mean; a mean has
    no case-mix expectation, so mu is not 1).

    Returns the units (input columns first, input order) plus :data:`MEANS_OUTPUT_COLUMNS`, and
    a summary dict (mu, phi, tau2, sigma_r2, rankability, n_units, n_eligible, n_bright_spots,
    n_candidates, tau2_zero_note, min_volume). ``rater`` (e.g. "customers") and ``noun`` word
    the reason: "Customers rate this rep's care 84 of 100 (95% CI 79 to 89, 23 respondents),
    above the company's 63 beyond chance (q = 0.002), in both halves."

    * s is the se floored by :func:`floor_se` (G = df + 1, sigma_r2 over every unit of the
      level with a mean and df >= 1); a unit is *measurable* with a mean,
      df >= 1 and s > 0, *eligible* when also respondents >= ``min_volume``. lower_95/upper_95:
      mean -+ t_{df, 0.975} s, clipped to [0, 1].
    * z = (y - mu) / s over the eligible units gives (phi, tau2) = ``overdispersion``, so the
      spread of care between units is handled exactly as the spread of results.
    * Small-sample correction. x = (y - mu) / sqrt(s^2 + tau2) has t tails: s^2 comes from a
      CR1 variance over G clusters (t_9 passes 3.09 six times as often as the normal 0.1%).
      tau2 comes from all units and is taken as known, so the degrees of freedom of the whole
      variance are Satterthwaite's df_eff = df (s^2 + tau2)^2 / s^4 (= G - 1 when tau2 = 0,
      larger when the spread between units dominates). z_od = Phi^-1(F_t(x; df_eff)): a
      z_od >= 3.090232 means a one-sided 0.1% as for results, which get the same kind of
      correction for skewness. p = 1 - Phi(z_od) and q = BH over the eligible units.
    * Adjusted limits mu -+ t_{df_eff} quantile of the 95% and 99.8% levels * sqrt(s^2 + tau2),
      clipped to [0, 1]: z_od >= 3.090232 exactly when y is above adj_upper_998.
    * theta, post_sd = ``shrink(y, s, tau2, mu)``; P(theta > mu) = Phi((theta - mu) / post_sd)
      when tau2 > 0, else NaN (the posterior is a point at mu). sustained: mean_odd > mu and
      mean_even > mu.
    * Label: ``label_units`` with above_exact_998 all False (there are no exact limits on a
      mean): bright_spot = eligible, (z_od >= 3.090232 or q <= 0.05), P(theta > mu) >= 0.95
      when tau2 > 0, and sustained; candidate = eligible and z_od >= 1.959964.
    * The reference level (the company) is never assessed; teams and leaders are levels like
      reps.
    """
    if isinstance(min_volume, bool) or not isinstance(min_volume, int) or min_volume < 1:
        raise DevianceInputError(f"min_volume is {min_volume!r}; it must be a whole number >= 1")
    if not math.isfinite(reference):
        raise DevianceInputError(f"reference is {reference!r}, not a number")
    mu = float(reference)
    units = units.reset_index(drop=True)
    check_columns("units", units, MEANS_UNIT_COLUMNS)
    _check_ids(units)
    size = len(units)
    g_resp = _count("respondents", units)
    df = _count("df", units)
    y = _optional("mean", units)
    se = _optional("se", units)
    y_odd, y_even = _optional("mean_odd", units), _optional("mean_even", units)
    if np.any(se[np.isfinite(se)] < 0):
        pos = int(np.flatnonzero(np.isfinite(se) & (se < 0))[0])
        raise DevianceInputError(f"{where('units', units, pos, 'se')}: negative")

    s, sigma_r2 = floor_se(np.where(np.isfinite(y) & (df >= 1), se, np.nan), df + 1)
    measurable = np.isfinite(y) & np.isfinite(s) & (s > 0) & (df >= 1)
    eligible = measurable & (g_resp >= min_volume)
    s = np.where(measurable, s, np.nan)
    with np.errstate(all="ignore"):
        z = np.where(measurable, (y - mu) / s, np.nan)
    lower, upper = _clip(y - _t_half(s, df, Z95), y + _t_half(s, df, Z95))

    phi, tau2 = overdispersion(z[eligible], s[eligible], method=phi_method)
    sd_od = np.sqrt(s**2 + tau2)
    with np.errstate(all="ignore"):
        df_eff = np.where(measurable, df * (s**2 + tau2) ** 2 / s**4, np.nan)
        x = (y - mu) / sd_od
    z_od = t_to_z(x, df_eff)
    p_value = np.where(measurable, special.ndtr(-z_od), np.nan)
    q_value = np.full(size, np.nan)
    q_value[eligible] = bh(p_value[eligible])
    adj = {}
    for name, level in (("95", Z95), ("998", Z998)):
        half = np.where(measurable, z_to_t(level, np.where(measurable, df_eff, 1.0)), np.nan)
        adj[f"adj_lower_{name}"], adj[f"adj_upper_{name}"] = _clip(
            mu - half * sd_od, mu + half * sd_od
        )

    m = measurable
    theta, post_sd, weight = (np.full(size, np.nan) for _ in range(3))
    theta[m], post_sd[m], weight[m] = shrink(y[m], s[m], tau2, mu)
    p_above = np.full(size, np.nan)
    if tau2 > 0:
        p_above[m] = special.ndtr((theta[m] - mu) / post_sd[m])
    with np.errstate(invalid="ignore"):
        sustained = (y_odd > mu) & (y_even > mu)
    labels = label_units(
        eligible=eligible,
        z_od=z_od,
        q_value=q_value,
        p_above_1=p_above,
        sustained=sustained,
        above_exact_998=np.zeros(size, dtype=bool),
        tau2=tau2,
    )
    result = {
        "s": s,
        "lower_95": lower,
        "upper_95": upper,
        "z": z,
        "df_eff": df_eff,
        "z_od": z_od,
        "p_value": p_value,
        "q_value": q_value,
        **adj,
        "reference": np.full(size, mu),
        "shrunk_mean": theta,
        "shrunk_lower_95": np.clip(theta - Z95 * post_sd, 0.0, 1.0),
        "shrunk_upper_95": np.clip(theta + Z95 * post_sd, 0.0, 1.0),
        "reliability": weight,
        "p_above_reference": p_above,
        "sustained": sustained,
        "label": labels,
    }
    words = _Words(noun, rater, reference_name, mu, min_volume, tau2)
    basis = {"respondents": g_resp, "mean": y, "mean_odd": y_odd, "mean_even": y_even}
    rows = pd.DataFrame({**basis, **result}).to_dict("records")
    result["reason"] = np.array([words.reason(r) for r in rows], dtype=object)
    out = units.drop(columns=[c for c in MEANS_OUTPUT_COLUMNS if c in units.columns])
    out = pd.concat([out, pd.DataFrame(result, columns=list(MEANS_OUTPUT_COLUMNS))], axis=1)

    n_eligible = int(eligible.sum())
    median_s2 = float(np.median(s[eligible] ** 2)) if n_eligible else math.nan
    summary = {
        "mu": mu,
        "phi": phi,
        "tau2": tau2,
        "sigma_r2": sigma_r2,
        "rankability": tau2 / (tau2 + median_s2) if n_eligible else math.nan,
        "n_units": size,
        "n_eligible": n_eligible,
        "n_bright_spots": int((labels == "bright_spot").sum()),
        "n_candidates": int((labels == "candidate").sum()),
        "tau2_zero_note": tau2_note(tau2, n_eligible, min_volume, noun, MEAN_WORDS),
        "min_volume": min_volume,
    }
    return out, summary


def _check_ids(units: pd.DataFrame) -> None:
    ids = units["unit_id"]
    if ids.isna().any():
        pos = int(np.flatnonzero(ids.isna())[0])
        raise DevianceInputError(f"{where('units', units, pos, 'unit_id')}: empty")
    dup = ids.duplicated()
    if dup.any():
        pos = int(np.flatnonzero(dup)[0])
        raise DevianceInputError(f"{where('units', units, pos, 'unit_id')}: duplicate unit")


def _optional(column: str, units: pd.DataFrame) -> np.ndarray:
    """A numeric column where NaN means 'none'; anything else not a number is an error."""
    raw = units[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = np.isnan(values) & raw.notna().to_numpy() | np.isinf(values)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise DevianceInputError(f"{where('units', units, pos, column)}: {raw.iloc[pos]!r}")
    return values


def _count(column: str, units: pd.DataFrame) -> np.ndarray:
    """A whole-number column where empty means 0 (a unit without answers)."""
    filled = units[[column, "unit_id"]].copy()
    filled[column] = filled[column].where(filled[column].notna(), 0)
    return numeric("units", filled, column, whole=True)


def _t_half(s: np.ndarray, df: np.ndarray, z: float) -> np.ndarray:
    ok = np.isfinite(s) & (df >= 1)
    return np.where(ok, z_to_t(z, np.where(ok, df, 1.0)) * np.where(ok, s, 0.0), np.nan)


def _clip(lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.clip(lower, 0.0, 1.0), np.clip(upper, 0.0, 1.0)


def _pct(x: float) -> str:
    return f"{100 * x:.0f}"


class _Words:
    """The reason sentence of one unit's row."""

    def __init__(
        self, noun: str, rater: str, reference_name: str, mu: float, min_volume: int, tau2: float
    ) -> None:
        self.noun, self.rater, self.ref = noun, rater, reference_name
        self.mu, self.min_volume, self.tau2 = mu, min_volume, tau2

    def reason(self, row: dict) -> str:
        n = row["respondents"]
        people = f"{n:,.0f} respondent{'s' if n != 1 else ''}"
        rater = self.rater[:1].upper() + self.rater[1:]
        if not np.isfinite(row["mean"]):
            return f"No answers about this {self.noun} in the window."
        rates = f"{rater} rate this {self.noun}'s care {_pct(row['mean'])} of 100"
        if not np.isfinite(row["s"]):
            return f"{rates} ({people}): too few to give an interval."
        if n < self.min_volume:
            return f"{rates} ({people}): a care label needs {self.min_volume:,} respondents."
        said = f"{rates} (95% CI {_pct(row['lower_95'])} to {_pct(row['upper_95'])}, {people})"
        ref = f"{self.ref} {_pct(self.mu)}"
        if row["label"] == "bright_spot":
            why = (
                "beyond the 99.8% limit"
                if row["z_od"] >= Z998
                else f"beyond chance (q = {row['q_value']:.3f})"
            )
            return f"{said}, above {ref} {why}, in both halves."
        if row["label"] == "candidate":
            gaps = []
            if not (row["z_od"] >= Z998 or row["q_value"] <= Q_THRESHOLD):
                gaps.append(
                    f"neither beyond the 99.8% limit nor significant once the number of "
                    f"{self.noun}s compared is allowed for"
                )
            if self.tau2 > 0 and not row["p_above_reference"] >= P_ABOVE_1_THRESHOLD:
                gaps.append(f"only {row['p_above_reference']:.0%} sure to be above it")
            if not row["sustained"]:
                gaps.append("not above it in both halves of the window")
            return (
                f"Candidate: {said[:1].lower()}{said[1:]}, above {ref}, but {' and '.join(gaps)}."
            )
        if row["mean"] - self.mu > 1e-9:
            return f"{said}, above {ref} but not beyond chance."
        return f"{said}, not above {ref}."
