"""The bright-spot statistics: funnel limits, overdispersion, shrinkage, ranks and the label rule.

Implements ``shared/method.md`` sections 2-5 as pure functions over numpy arrays and small
DataFrames (no I/O, no engine). The per-unit aggregates (O, E, V and the split halves) and the
binned case-mix probabilities come from the caller; :func:`assess` turns them into one row per unit
with limits, scores, posterior summaries, a label and a plain-sentence reason.

Conventions, in one place:

* Ratio scale: ``Y = O / E`` with target 1, ``s = sqrt(V) / E``, ``z = (Y - 1) / s``.
* Exact limits are limits on the count ``O`` (see :func:`exact_count_limits`); a unit is above
  the upper limit when ``O > upper`` and below the lower one when ``O < lower``.
* A unit is *measurable* when ``E > 0`` and ``V > 0``; other units get NaN scores and never a
  label. A unit is *eligible* when it is measurable and has at least ``min_volume`` closed deals;
  overdispersion, BH q-values, ranks and rankability use eligible units only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import signal, special, stats
from statsmodels.stats.multitest import multipletests

from brightspots.errors import BrightspotsError

Z95 = 1.959964
Z998 = 3.090232
#: standard normal 90th percentile, for P(theta > 90th percentile of N(mu, tau^2))
Z90 = 1.2815516
#: V at or above which exact count limits use the normal approximation
NORMAL_APPROX_MIN_VARIANCE = 30.0
#: the one-sided BH threshold of the label rule
Q_THRESHOLD = 0.05
#: posterior probability of beating expectation required when tau^2 > 0
P_ABOVE_1_THRESHOLD = 0.95

UNIT_COLUMNS = (
    "unit_id",
    "n",
    "observed",
    "expected",
    "variance",
    "observed_odd",
    "expected_odd",
    "observed_even",
    "expected_even",
)
PROB_COLUMNS = ("unit_id", "p", "count")
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
)
_TOL = 1e-9  # relative tolerance for sums that must agree and for tail probabilities
_FFT_MIN_WORK = 2_000_000  # convolve directly below this many multiply-adds, by FFT above


class DevianceInputError(BrightspotsError, ValueError):
    """Input to the deviance statistics that breaks a rule; the message names row and column."""


# --------------------------------------------------------------------------------------------
# Poisson-binomial distribution and exact limits


def _check_p_counts(p: np.ndarray, counts: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(p, dtype=float).ravel()
    if not np.all(np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        bad = int(np.flatnonzero(~np.isfinite(p) | (p < 0) | (p > 1))[0])
        raise DevianceInputError(f"probabilities: entry {bad} is {p[bad]!r}, not in [0, 1]")
    if counts is None:
        return p, np.ones(p.shape, dtype=np.int64)
    raw = np.asarray(counts, dtype=float).ravel()
    if raw.shape != p.shape:
        raise DevianceInputError(
            f"probabilities and counts differ in length ({p.size} and {raw.size})"
        )
    bad_mask = ~np.isfinite(raw) | (raw < 0) | (raw != np.round(raw))
    if np.any(bad_mask):
        bad = int(np.flatnonzero(bad_mask)[0])
        raise DevianceInputError(f"counts: entry {bad} is {raw[bad]!r}, not a whole number >= 0")
    return p, raw.astype(np.int64)


def _binomial_pmf(k: int, q: float) -> np.ndarray:
    """pmf of Binomial(k, q) at 0..k: scipy's for long books, in log space for short ones.

    Log space (xlogy keeps q = 0 and q = 1 exact) is 30 times faster than scipy's per call and
    accurate to 1e-13 below 64 trials; scipy's is more accurate above but overflows on subnormal q.
    """
    if k == 1:
        return np.array([1.0 - q, q])
    j = np.arange(k + 1)
    if k >= 64:
        return stats.binom.pmf(j, k, q if q >= np.finfo(float).tiny else 0.0)
    log_choose = special.gammaln(k + 1) - special.gammaln(j + 1) - special.gammaln(k - j + 1)
    return np.exp(log_choose + special.xlogy(j, q) + special.xlog1py(k - j, -q))


def _convolve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.size * b.size <= _FFT_MIN_WORK:
        return np.convolve(a, b)
    return np.clip(signal.fftconvolve(a, b), 0.0, None)


def poisson_binomial_pmf(p: np.ndarray, counts: np.ndarray | None = None) -> np.ndarray:
    """pmf of the number of successes among independent Bernoulli(p_j), p_j repeated counts_j times.

    Exact: equal probabilities are pooled into one binomial pmf each, and the binomials are
    multiplied pairwise in a balanced tree (direct convolution, FFT for very long factors, whose
    rounding noise is below 1e-15 and clipped at 0). Returns an array of length ``sum(counts) + 1``
    that sums to 1; ``[1.0]`` when there are no trials.
    """
    p, c = _check_p_counts(p, counts)
    keep = c > 0
    values, inverse = np.unique(p[keep], return_inverse=True)
    pooled = np.bincount(inverse, weights=c[keep], minlength=values.size).astype(np.int64)
    parts = [_binomial_pmf(int(k), float(q)) for q, k in zip(values, pooled, strict=True)]
    if not parts:
        return np.array([1.0])
    while len(parts) > 1:
        merged = [_convolve(parts[i], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]
        if len(parts) % 2:
            merged.append(parts[-1])
        parts = merged
    pmf = parts[0]
    return pmf / pmf.sum()


def exact_count_limits(
    p: np.ndarray,
    counts: np.ndarray | None = None,
    levels: Iterable[float] = (0.95, 0.998),
) -> dict[float, tuple[float, float]]:
    """Two-sided limits on the COUNT O of successes, for each level; divide by E for ratios.

    Quantile convention, with a = 1 - level (symmetric in meaning: each is the critical value of
    a one-sided exact test at a/2, and each tail beyond it has probability at most a/2):

    * lower = the largest k with P(O < k) <= a/2; O is below the limit when O < lower;
    * upper = the smallest k with P(O > k) <= a/2; O is above the limit when O > upper.

    (For equal p this is ``upper = binom.ppf(1 - a/2)`` and, apart from exact ties,
    ``lower = binom.ppf(a/2)``.) When V = sum p(1 - p) >= 30 the tails come from the normal
    approximation with continuity correction, P(O > k) ~ 1 - Phi((k + 0.5 - E) / sqrt(V)),
    which gives ``upper = ceil(E + z sqrt(V) - 0.5)`` and ``lower = floor(E - z sqrt(V) + 0.5)``;
    otherwise from the exact pmf. Both branches return whole counts, clipped to [0, trials].

    With probabilities very near 0 or 1 a critical count can sit less than one count on the far
    side of E (one deal at p = 0.99: P(O < 1) = 0.01, so lower = 1 > E = 0.99). The limit is then
    reported as E itself, which changes no verdict on a whole count (O < 0.99 iff O < 1) and keeps
    lower <= E <= upper.
    """
    p, c = _check_p_counts(p, counts)
    levels = tuple(float(level) for level in levels)
    for level in levels:
        if not 0.0 < level < 1.0:
            raise DevianceInputError(f"limit level {level!r} is not strictly between 0 and 1")
    trials = int(c.sum())
    mean = float(np.dot(p, c))
    var = float(np.dot(p * (1.0 - p), c))
    out: dict[float, tuple[float, float]] = {}
    if var >= NORMAL_APPROX_MIN_VARIANCE:
        sd = math.sqrt(var)
        for level in levels:
            z = float(stats.norm.isf((1.0 - level) / 2.0))
            lower = math.floor(mean - z * sd + 0.5)
            upper = math.ceil(mean + z * sd - 0.5)
            out[level] = (float(min(max(lower, 0), trials)), float(min(max(upper, 0), trials)))
        return out
    pmf = poisson_binomial_pmf(p, c)
    below = np.concatenate(([0.0], np.cumsum(pmf)[:-1]))  # below[k] = P(O < k)
    above = np.concatenate((np.cumsum(pmf[::-1])[::-1][1:], [0.0]))  # above[k] = P(O > k)
    ks = np.arange(pmf.size)
    for level in levels:
        half = (1.0 - level) / 2.0
        lower = float(ks[below <= half * (1 + _TOL)].max())
        upper = float(ks[above <= half * (1 + _TOL)].min())
        if lower > mean and lower - 1.0 < mean:
            lower = mean
        if upper < mean and upper + 1.0 > mean:
            upper = mean
        out[level] = (lower, upper)
    return out


# --------------------------------------------------------------------------------------------
# Overdispersion, shrinkage, multiple testing, funnel drawing


def overdispersion(z: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    """(phi, tau2): dispersion ratio and DerSimonian-Laird between-unit variance.

    z is winsorised at its 10th and 90th percentiles (linear interpolation, numpy's default and
    R's type 7, as FunnelPlotR) and phi = mean(z_w^2). With n units and w = 1/s^2:
    tau2 = 0 when n * phi <= n - 1, else (n * phi - (n - 1)) / (sum w - sum w^2 / sum w).
    Fewer than two units cannot show a spread between units: tau2 = 0 (phi is NaN for none).
    """
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


def _ratio_limits(s: np.ndarray, tau2: float, z: float) -> tuple[np.ndarray, np.ndarray]:
    """1 -+ z sqrt(s^2 + tau2); a ratio cannot be negative, so the lower limit stops at 0."""
    half = z * np.sqrt(s**2 + tau2)
    return np.maximum(1.0 - half, 0.0), 1.0 + half


def funnel_curve(expected: np.ndarray, v_over_e: float, tau2: float) -> pd.DataFrame:
    """Funnel lines for drawing against E on the ratio scale, with s = sqrt(v_over_e * E) / E.

    Unadjusted lines use the normal approximation 1 -+ z s (fine for drawing; the per-unit
    verdicts use the exact limits), adjusted lines 1 -+ z sqrt(s^2 + tau2). Lower lines stop at 0.
    """
    e = np.asarray(expected, dtype=float).ravel()
    if not np.all(np.isfinite(e) & (e > 0)):
        raise DevianceInputError("funnel_curve: expected counts must be positive numbers")
    if not (math.isfinite(v_over_e) and 0 < v_over_e <= 1):
        raise DevianceInputError(f"funnel_curve: v_over_e is {v_over_e!r}, not in (0, 1]")
    if not (math.isfinite(tau2) and tau2 >= 0):
        raise DevianceInputError(f"funnel_curve: tau2 is {tau2!r}, not a number >= 0")
    s = np.sqrt(v_over_e * e) / e
    cols: dict[str, np.ndarray] = {"expected": e}
    for prefix, t2 in (("", 0.0), ("adj_", tau2)):
        for name, z in (("95", Z95), ("998", Z998)):
            cols[f"{prefix}lower_{name}"], cols[f"{prefix}upper_{name}"] = _ratio_limits(s, t2, z)
    return pd.DataFrame(cols)


# --------------------------------------------------------------------------------------------
# Posterior ranks and the label rule


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


def label_units(
    *,
    eligible: np.ndarray,
    z_od: np.ndarray,
    q_value: np.ndarray,
    p_above_1: np.ndarray,
    sustained: np.ndarray,
    above_exact_998: np.ndarray,
    tau2: float,
) -> np.ndarray:
    """The label rule of method.md section 5, element-wise; NaN never satisfies a condition.

    bright_spot: eligible AND (z_od >= Z998 OR q <= 0.05) AND (P(theta > 1) >= 0.95 when
    tau2 > 0) AND sustained. candidate: not a bright spot, eligible, AND (z_od >= Z95 OR O above
    the unadjusted exact 99.8% limit). Else ''. Candidates need the volume too (method.md's table
    does not say so): below it a few lucky deals cross the 95% line, so small-book "candidates"
    would mostly be noise; :func:`assess` tells small books what ratio they would need instead.
    """
    eligible = np.asarray(eligible, dtype=bool)
    z_od = np.asarray(z_od, dtype=float)
    with np.errstate(invalid="ignore"):
        strong = (z_od >= Z998) | (np.asarray(q_value, dtype=float) <= Q_THRESHOLD)
        certain = (
            np.asarray(p_above_1, dtype=float) >= P_ABOVE_1_THRESHOLD
            if tau2 > 0
            else np.ones(z_od.shape, dtype=bool)
        )
        bright = eligible & strong & certain & np.asarray(sustained, dtype=bool)
        hint = (z_od >= Z95) | np.asarray(above_exact_998, dtype=bool)
    candidate = ~bright & eligible & hint
    return np.where(bright, "bright_spot", np.where(candidate, "candidate", "")).astype(object)


# --------------------------------------------------------------------------------------------
# Input checks for assess


def _where(frame: str, df: pd.DataFrame, pos: int, column: str) -> str:
    unit = df["unit_id"].iloc[pos] if "unit_id" in df.columns else None
    return f"deviance input `{frame}`, row {pos + 1} (unit_id {unit!r}), column {column!r}"


def _check_columns(frame: str, df: pd.DataFrame, required: Sequence[str]) -> None:
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise DevianceInputError(
            f"deviance input `{frame}` lacks column(s) {', '.join(map(repr, missing))}"
        )


def _numeric(frame: str, df: pd.DataFrame, column: str, *, whole: bool = False) -> np.ndarray:
    values = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values) | (values < 0)
    if whole:
        bad |= values != np.round(values)
    if np.any(bad):
        pos = int(np.flatnonzero(bad)[0])
        kind = "a whole number >= 0" if whole else "a number >= 0"
        raise DevianceInputError(
            f"{_where(frame, df, pos, column)}: {df[column].iloc[pos]!r} is not {kind}"
        )
    return values


def _check_units(units: pd.DataFrame) -> dict[str, np.ndarray]:
    _check_columns("units", units, UNIT_COLUMNS)
    ids = units["unit_id"]
    if ids.isna().any():
        raise DevianceInputError(
            f"{_where('units', units, int(np.flatnonzero(ids.isna())[0]), 'unit_id')}: empty"
        )
    dup = ids.duplicated()
    if dup.any():
        pos = int(np.flatnonzero(dup)[0])
        raise DevianceInputError(f"{_where('units', units, pos, 'unit_id')}: duplicate unit")
    whole = {"n", "observed", "observed_odd", "observed_even"}
    cols = {c: _numeric("units", units, c, whole=c in whole) for c in UNIT_COLUMNS[1:]}

    def fail_if(mask: np.ndarray, column: str, rule: str) -> None:
        if np.any(mask):
            pos = int(np.flatnonzero(mask)[0])
            raise DevianceInputError(f"{_where('units', units, pos, column)}: {rule}")

    n, o, e, v = cols["n"], cols["observed"], cols["expected"], cols["variance"]
    slack = _TOL * np.maximum(1.0, n)
    fail_if(o > n, "observed", "more wins than closed deals (n)")
    fail_if(e > n + slack, "expected", "more expected wins than closed deals (n)")
    fail_if(v > e + slack, "variance", "larger than expected (sum p(1-p) <= sum p)")
    fail_if(cols["observed_odd"] + cols["observed_even"] != o, "observed_odd", "halves != observed")
    fail_if(
        np.abs(cols["expected_odd"] + cols["expected_even"] - e) > 1e-6 * np.maximum(1.0, e),
        "expected_odd",
        "expected_odd + expected_even differs from expected",
    )
    return cols


def _grouped_probs(probs: pd.DataFrame, units: pd.DataFrame, n: np.ndarray) -> list[pd.DataFrame]:
    """probs split by unit, in the row order of ``units``; checked against each unit's n."""
    _check_columns("probs", probs, PROB_COLUMNS)
    p = _numeric("probs", probs, "p")
    if np.any(p > 1):
        pos = int(np.flatnonzero(p > 1)[0])
        raise DevianceInputError(f"{_where('probs', probs, pos, 'p')}: {p[pos]!r} is above 1")
    count = _numeric("probs", probs, "count", whole=True)
    known = probs["unit_id"].isin(units["unit_id"]).to_numpy()
    if not known.all():
        pos = int(np.flatnonzero(~known)[0])
        raise DevianceInputError(f"{_where('probs', probs, pos, 'unit_id')}: not in `units`")
    clean = pd.DataFrame({"unit_id": probs["unit_id"].to_numpy(), "p": p, "count": count})
    groups = dict(iter(clean.groupby("unit_id", sort=False)))
    empty = clean.iloc[:0]
    out = []
    for pos, unit in enumerate(units["unit_id"]):
        g = groups.get(unit, empty)
        if g["count"].sum() != n[pos]:
            raise DevianceInputError(
                f"{_where('units', units, pos, 'n')}: n = {n[pos]:g} but `probs` holds "
                f"{g['count'].sum():g} closed deals for this unit"
            )
        out.append(g)
    return out


# --------------------------------------------------------------------------------------------
# Reasons


def _num(x: float) -> str:
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}"


def _reason(row: dict, *, min_volume: int, tau2: float, noun: str) -> str:
    n, o, e = row["n"], row["observed"], row["expected"]
    deals = f"{_num(n)} closed deal{'s' if n != 1 else ''}"
    tally = f"{_num(o)} win{'s' if o != 1 else ''} where {e:.1f} were expected"
    if n == 0:
        return "No closed deals in the window."
    if e <= 0:
        return f"{deals}, none with a predicted win probability above 0: nothing to compare."
    if row["variance"] <= 0:
        return f"{deals}, all predicted certain wins or losses: nothing to compare."
    if n < min_volume:
        need = row["needed_oe"]
        reach = f"; out of reach with {deals}" if need * e >= n else ""
        return (
            f"Only {deals}, below the minimum of {min_volume}: would need to win more than "
            f"{need:.1f} times what was expected to show (now {row['oe']:.1f}{reach})."
        )
    label = row["label"]
    if label == "bright_spot":
        if row["z_od"] >= Z998:
            why = "Above the 99.8% limit after allowing for overdispersion"
        else:
            why = (
                f"Significant after allowing for the number of {noun}s compared "
                f"(q = {row['q_value']:.3f})"
            )
        return f"{why}, above expectation in both halves of the sample, {deals}: {tally}."
    if label == "candidate":
        if row["z_od"] >= Z95:
            hint = "above the 95% limit after allowing for overdispersion"
        else:
            hint = "above the exact 99.8% limit before allowing for overdispersion"
        gaps = []
        if not (row["z_od"] >= Z998 or row["q_value"] <= Q_THRESHOLD):
            gaps.append(
                f"neither beyond the 99.8% limit nor significant once the number of {noun}s "
                "compared is allowed for"
            )
        if tau2 > 0 and not row["p_above_1"] >= P_ABOVE_1_THRESHOLD:
            gaps.append(f"only {row['p_above_1']:.0%} sure to be above expectation")
        if not row["sustained"]:
            gaps.append("not above expectation in both halves of the sample")
        return f"Candidate, {hint} ({tally}), but {' and '.join(gaps)}."
    if o > e:
        return f"Above expectation but not beyond chance: {tally}."
    return f"Not above expectation: {tally}."


# --------------------------------------------------------------------------------------------
# The whole assessment


def assess(
    units: pd.DataFrame, probs: pd.DataFrame, *, min_volume: int = 20, noun: str = "rep"
) -> tuple[pd.DataFrame, dict]:
    """Funnel, overdispersion, BH, shrinkage, ranks and labels for one level of units.

    ``units``: one row per unit with unit_id, n, observed, expected, variance, observed_odd,
    expected_odd, observed_even, expected_even. ``probs``: unit_id, p, count (binned p_hat of each
    unit's closed deals with multiplicities; the counts of a unit must add up to its n).
    Returns the units (input columns first, input order) plus :data:`OUTPUT_COLUMNS`, and a
    summary dict (phi, tau2, mu, rankability, n_units, n_eligible, n_bright_spots, n_candidates,
    tau2_zero_note, and v_over_e, pooled_oe, min_volume for drawing and context).

    Choices:

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
    if min_volume < 1:
        raise DevianceInputError(f"min_volume is {min_volume!r}; it must be at least 1")
    units = units.reset_index(drop=True)
    probs = probs.reset_index(drop=True)
    cols = _check_units(units)
    n, o, e, v = cols["n"], cols["observed"], cols["expected"], cols["variance"]
    groups = _grouped_probs(probs, units, n)
    size = len(units)

    measurable = (e > 0) & (v > 0)
    eligible = measurable & (n >= min_volume)
    with np.errstate(divide="ignore", invalid="ignore"):
        oe = np.where(e > 0, o / e, np.nan)
        s = np.where(e > 0, np.sqrt(v) / e, np.nan)
        z = np.where(measurable, (oe - 1.0) / s, np.nan)

    lim = np.full((size, 4), np.nan)
    above_exact_998 = np.zeros(size, dtype=bool)
    for i, g in enumerate(groups):
        if e[i] <= 0:
            continue
        limits = exact_count_limits(g["p"].to_numpy(), g["count"].to_numpy())
        lim[i] = [*limits[0.95], *limits[0.998]]
        above_exact_998[i] = o[i] > limits[0.998][1]
    lim /= np.where(e > 0, e, np.nan)[:, None]

    phi, tau2 = overdispersion(z[eligible], s[eligible])
    mu = 1.0
    adj = np.full((size, 4), np.nan)
    adj[measurable, 0], adj[measurable, 1] = _ratio_limits(s[measurable], tau2, Z95)
    adj[measurable, 2], adj[measurable, 3] = _ratio_limits(s[measurable], tau2, Z998)
    z_od = np.where(measurable, (oe - 1.0) / np.sqrt(s**2 + tau2), np.nan)
    p_value = np.where(measurable, stats.norm.sf(z_od), np.nan)
    q_value = np.full(size, np.nan)
    q_value[eligible] = bh(p_value[eligible])

    theta, post_sd, weight = (np.full(size, np.nan) for _ in range(3))
    theta[measurable], post_sd[measurable], weight[measurable] = shrink(
        oe[measurable], s[measurable], tau2, mu
    )
    p_above_1 = np.full(size, np.nan)
    p_extreme = np.full(size, np.nan)
    if tau2 > 0:
        p_above_1[measurable] = special.ndtr((theta[measurable] - 1.0) / post_sd[measurable])
        cut = mu + Z90 * math.sqrt(tau2)
        p_extreme[measurable] = special.ndtr((theta[measurable] - cut) / post_sd[measurable])
    rank = np.full(size, np.nan)
    rank[eligible] = expected_ranks(theta[eligible], post_sd[eligible])

    def half_above(obs: np.ndarray, exp: np.ndarray) -> np.ndarray:
        return (exp > 0) & (obs > exp)

    sustained = half_above(cols["observed_odd"], cols["expected_odd"]) & half_above(
        cols["observed_even"], cols["expected_even"]
    )
    needed = np.where(measurable & (n < min_volume), adj[:, 3], np.nan)
    labels = label_units(
        eligible=eligible,
        z_od=z_od,
        q_value=q_value,
        p_above_1=p_above_1,
        sustained=sustained,
        above_exact_998=above_exact_998,
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
        "needed_oe": needed,
        "label": labels,
    }
    basis = {"n": n, "observed": o, "expected": e, "variance": v}
    rows = pd.DataFrame({**basis, **result}).to_dict("records")
    result["reason"] = np.array(
        [_reason(r, min_volume=min_volume, tau2=tau2, noun=noun) for r in rows], dtype=object
    )
    out = units.drop(columns=[c for c in OUTPUT_COLUMNS if c in units.columns])
    out = pd.concat([out, pd.DataFrame(result, columns=list(OUTPUT_COLUMNS))], axis=1)

    n_eligible = int(eligible.sum())
    median_s2 = float(np.median(s[eligible] ** 2)) if n_eligible else math.nan
    rankability = tau2 / (tau2 + median_s2) if n_eligible else math.nan
    summary = {
        "phi": phi,
        "tau2": tau2,
        "mu": mu,
        "rankability": rankability,
        "n_units": size,
        "n_eligible": n_eligible,
        "n_bright_spots": int((labels == "bright_spot").sum()),
        "n_candidates": int((labels == "candidate").sum()),
        "tau2_zero_note": _tau2_note(tau2, n_eligible, min_volume, noun),
        "v_over_e": float(v[eligible].sum() / e[eligible].sum()) if n_eligible else math.nan,
        "pooled_oe": float(o[eligible].sum() / e[eligible].sum()) if n_eligible else math.nan,
        "min_volume": min_volume,
    }
    return out, summary


def _tau2_note(tau2: float, n_eligible: int, min_volume: int, noun: str) -> str | None:
    if tau2 > 0:
        return None
    if n_eligible < 2:
        return (
            f"Fewer than two {noun}s have the minimum of {min_volume} closed deals, so the spread "
            f"between {noun}s cannot be estimated: it is taken as no more than chance, and labels "
            "rest on the exact and unadjusted tests alone."
        )
    return (
        f"The spread between {noun}s is no more than chance: shrinkage pulls every {noun} to the "
        "middle, the probability of beating expectation is not informative, and labels rest on the "
        f"unadjusted test corrected for the number of {noun}s compared."
    )
