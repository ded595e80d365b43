"""The number of wins among deals with different win probabilities: exact pmf and limits."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import numpy as np
from scipy import signal, special, stats

from brightspots.deviance.constants import NORMAL_APPROX_MIN_VARIANCE
from brightspots.deviance.inputs import TOL, DevianceInputError
from brightspots.deviance.skew import count_limits

_FFT_MIN_WORK = 2_000_000  # convolve directly below this many multiply-adds, by FFT above
_ROW_MERGE_MAX = 64  # Bernoulli factors are multiplied level by level while this short
_EXPAND_MAX = 512  # up to this many trials every trial is a factor of its own


def check_p_counts(p: np.ndarray, counts: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
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


def _bernoulli_products(q: np.ndarray) -> list[np.ndarray]:
    """The pmfs of Bernoulli(q_j) multiplied pairwise in a balanced tree, a whole level of the
    tree at once (all its pairs in one array operation) while the factors are at most
    ``_ROW_MERGE_MAX`` long; returns the factors left (a few long ones, and the odd ones out)."""
    rows = np.column_stack([1.0 - q, q])
    left: list[np.ndarray] = []
    while len(rows) > 1 and rows.shape[1] <= _ROW_MERGE_MAX:
        if len(rows) % 2:
            left.append(rows[-1])
            rows = rows[:-1]
        a, b = rows[0::2], rows[1::2]
        width = a.shape[1]
        merged = np.zeros((len(a), 2 * width - 1))
        for i in range(width):
            merged[:, i : i + width] += a[:, i : i + 1] * b
        rows = merged
    return [*rows, *left]


def poisson_binomial_pmf(p: np.ndarray, counts: np.ndarray | None = None) -> np.ndarray:
    """pmf of the number of successes among independent Bernoulli(p_j), p_j repeated counts_j times.

    Exact: equal probabilities are pooled into one binomial pmf each, and the binomials are
    multiplied pairwise in a balanced tree (direct convolution, FFT for very long factors, whose
    rounding noise is below 1e-15 and clipped at 0); probabilities that occur once start the tree
    as one array (``_bernoulli_products``). Returns an array of length ``sum(counts) + 1`` that
    sums to 1; ``[1.0]`` when there are no trials.
    """
    return _pmf(*check_p_counts(p, counts))


def _pmf(p: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``poisson_binomial_pmf`` of checked probabilities and counts."""
    keep = c > 0
    values, inverse = np.unique(p[keep], return_inverse=True)
    pooled = np.bincount(inverse, weights=c[keep], minlength=values.size).astype(np.int64)
    if 0 < pooled.sum() <= _EXPAND_MAX:  # few trials: each its own factor, the tree in arrays
        parts = _bernoulli_products(np.repeat(values, pooled))
    else:
        once = pooled == 1
        parts = _bernoulli_products(values[once]) if once.any() else []
        parts += [
            _binomial_pmf(int(k), float(q))
            for q, k in zip(values[~once], pooled[~once], strict=True)
        ]
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
    approximation with continuity correction and the Cornish-Fisher skewness term
    (gamma = sum p(1-p)(1-2p) / V^1.5, see :mod:`.skew`): ``upper = ceil(E + sqrt(V) x(z) -
    0.5)``, ``lower = floor(E + sqrt(V) x(-z) + 0.5)`` with x(z) = z + gamma (z^2 - 1) / 6;
    otherwise from the exact pmf. Both branches return whole counts, clipped to [0, trials].
    (The skewness term matters: at p = 0.3 and 200 deals it moves the 99.8% limits from 40 and 80
    to the exact 41 and 81.)

    With probabilities very near 0 or 1 a critical count can sit less than one count on the far
    side of E (one deal at p = 0.99: P(O < 1) = 0.01, so lower = 1 > E = 0.99). The limit is then
    reported as E itself, which changes no verdict on a whole count (O < 0.99 iff O < 1) and keeps
    lower <= E <= upper.
    """
    p, c = check_p_counts(p, counts)
    levels = tuple(float(level) for level in levels)
    for level in levels:
        if not 0.0 < level < 1.0:
            raise DevianceInputError(f"limit level {level!r} is not strictly between 0 and 1")
    trials = int(c.sum())
    mean = float(np.dot(p, c))
    var = float(np.dot(p * (1.0 - p), c))
    out: dict[float, tuple[float, float]] = {}
    if var >= NORMAL_APPROX_MIN_VARIANCE:
        third = float(np.dot(p * (1.0 - p) * (1.0 - 2.0 * p), c))
        for level in levels:
            z = _z(level)
            lower, upper = count_limits(mean, var, third, z, whole=True, top=trials)
            out[level] = (float(lower), float(upper))
        return out
    pmf = _pmf(p, c)
    below = np.concatenate(([0.0], np.cumsum(pmf)[:-1]))  # below[k] = P(O < k)
    above = np.concatenate((np.cumsum(pmf[::-1])[::-1][1:], [0.0]))  # above[k] = P(O > k)
    ks = np.arange(pmf.size)
    for level in levels:
        half = (1.0 - level) / 2.0
        lower = float(ks[below <= half * (1 + TOL)].max())
        upper = float(ks[above <= half * (1 + TOL)].min())
        if lower > mean and lower - 1.0 < mean:
            lower = mean
        if upper < mean and upper + 1.0 > mean:
            upper = mean
        out[level] = (lower, upper)
    return out


@cache
def _z(level: float) -> float:
    """The normal quantile of a two-sided ``level`` (the same few levels every call)."""
    return float(stats.norm.isf((1.0 - level) / 2.0))


def third_cumulant(p: np.ndarray, counts: np.ndarray) -> float:
    """sum counts * p (1 - p) (1 - 2p): the third cumulant of the win count."""
    p, c = check_p_counts(p, counts)
    return float(np.dot(p * (1.0 - p) * (1.0 - 2.0 * p), c))
