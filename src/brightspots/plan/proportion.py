"""How well effort follows value: per unit (a rep's book, a team, the company), and which accounts
are under- or over-served.

**Priority.** An account's claim on effort is its value times a fit multiplier,
``priority = value x (1 + fit_weight x (fit - 50) / 50)`` (fit 0-100; unknown fit: 1), so with
the default ``fit_weight`` 0.5 a perfect fit counts 1.5x and a poor one 0.5x. Its **fair share**
of a unit's touches is its share of the unit's priority.

**Indices** (two, because they answer different questions):

* Spearman's rank correlation of touches with priority over the unit's accounts: do the more
  valuable accounts get more effort? (1: the same order; 0: no relation.) 95% interval by
  Fisher's z with the Bonett-Wright standard error ``sqrt((1 + r^2 / 2) / (n - 3))``.
* The dissimilarity index ``D = 1/2 sum |touch share - fair share|``: the share of the unit's
  touches that would have to move to other accounts for effort to be exactly proportional
  (0: proportional; 1: all of it). 95% percentile interval from ``N_BOOT`` Poisson-weighted
  bootstrap resamples of the accounts (seeded; ``N_BOOT_BIG`` above ``BIG`` accounts). Whole
  touches spread at random in exact proportion still give a D above 0 (an account due 0.3
  touches gets 0 or 1), so ``d_chance`` is the mean D of ``N_CHANCE`` such random spreads of
  the same touches: the floor to read D against.

**Expected touches.** Touches on an account are not all a choice: a deal in flight takes its
calls, e-mails and meetings whatever the account is worth, so even reps who follow value give a
small account with live deals more than its share and a large quiet one less. The touches
*expected* of an account are what the company's reps give an account like it, in a book like
its own: a multinomial model (Poisson with a term per book) spreads each book's touches over its
accounts by their priority and the deals they had open in the window (``log1p`` of each), with
weights learned from every book at once (``expected_touches``). It is a yardstick, not a norm:
if every rep neglected the same accounts, the indices above would show it, the flags would not.

**Flags.** Within each rep's book (the accounts they own, their own touches): an account is
*under-served* when it is strategic or key, fits at least ``fit_min``, got less than
``under_ratio`` of its fair share and of its expected touches, a one-sided binomial test of its
touches against its fair share (the rep's touches spread by priority) gives q < 0.05 after
Benjamini-Hochberg over the book's accounts, and the book shows the pattern: its strategic and
key, well-fitting accounts together got fewer touches than expected, beyond chance (``z = (O -
E) / sqrt(phi E (1 - E / K))``, O and E their observed and expected touches, K the book's,
``phi`` the dispersion of touches around the expected counts; Benjamini-Hochberg over the
books, q < 0.05). *Over-served* mirrors it: maintain (or core with a fit below ``100 -
fit_min``), more than ``over_ratio`` of its fair share and of its expected touches, the binomial
test the other way, and a book whose small accounts together got more than expected. The gap
to the fair share must be at least 3 touches, and for an over-served account at least
``min_gap_share`` of the rep's touches (default 1%).

Why the book's pattern and not each account alone: touches scatter around what is expected
of an account about four times as widely as Poisson counts would (deals run short or long), so
one account's shortfall over six months is rarely beyond chance on its own, while a rep who
neglects several valuable accounts shows it clearly across them. The pattern says *whether* a
book under-serves its valuable accounts; the ratios say *which* accounts. Without expected
touches (a single book, nothing to learn from), each account is judged on its binomial test
alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

N_BOOT = 200
#: resamples when a unit has more than ``BIG`` accounts (its interval is narrow by then)
N_BOOT_BIG = 50
BIG = 50_000
N_CHANCE = 20
_CHUNK = 4_000_000
SEED = 11
Q = 0.05


@dataclass(frozen=True)
class FlagRules:
    fit_weight: float = 0.5
    fit_min: float = 60.0
    under_ratio: float = 0.5
    over_ratio: float = 2.0
    min_gap_share: float = 0.01


def priority(value: np.ndarray, fit: np.ndarray, fit_weight: float) -> np.ndarray:
    mult = 1.0 + fit_weight * (np.nan_to_num(fit, nan=50.0) - 50.0) / 50.0
    return np.maximum(np.nan_to_num(value, nan=0.0), 0.0) * np.maximum(mult, 0.0)


@dataclass(frozen=True)
class Index:
    n_accounts: int
    touches: int
    spearman: float
    spearman_low: float
    spearman_high: float
    dissimilarity: float
    dissimilarity_low: float
    dissimilarity_high: float
    d_chance: float


def index(touches: np.ndarray, prio: np.ndarray, seed: int = SEED) -> Index:
    """Both indices over one unit's accounts (NaN where undefined: fewer than 4 accounts, no
    touches or no priority)."""
    touches = np.asarray(touches, float)
    prio = np.asarray(prio, float)
    n, total, ptotal = len(touches), float(touches.sum()), float(prio.sum())
    nan = math.nan
    rho = lo = hi = nan
    if n >= 4 and np.ptp(touches) > 0 and np.ptp(prio) > 0:
        rho = float(stats.spearmanr(touches, prio).statistic)
        se = math.sqrt((1 + rho * rho / 2) / (n - 3))
        z = math.atanh(max(min(rho, 1 - 1e-12), -1 + 1e-12))
        lo, hi = math.tanh(z - 1.96 * se), math.tanh(z + 1.96 * se)
    d = d_lo = d_hi = d_chance = nan
    if total > 0 and ptotal > 0:
        share = prio / ptotal
        d = 0.5 * float(np.abs(touches / total - share).sum())
        rng = np.random.default_rng(seed + 1)
        d_chance = float(np.mean([
            0.5 * np.abs(rng.multinomial(int(total), share) / total - share).sum()
            for _ in range(N_CHANCE)
        ]))  # fmt: skip
        if n >= 2:
            boot = _bootstrap_d(touches, prio, seed)
            if len(boot):
                d_lo, d_hi = (float(x) for x in np.quantile(boot, [0.025, 0.975]))
    return Index(n, int(total), rho, lo, hi, d, d_lo, d_hi, d_chance)


def bh_by_group(p: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values within each group (one family per group), vectorised."""
    n = len(p)
    if n == 0:
        return np.zeros(0)
    order = np.lexsort((p, group))
    g, ps = group[order], p[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    sizes = np.diff(np.r_[starts, n])
    rank = np.arange(n) - np.repeat(starts, sizes) + 1
    raw = ps * np.repeat(sizes, sizes) / rank
    # the running minimum from each group's end
    rev = pd.Series(raw[::-1]).groupby(g[::-1]).cummin().to_numpy()[::-1]
    q = np.empty(n)
    q[order] = np.minimum(rev, 1.0)
    return q


def _bootstrap_d(touches: np.ndarray, prio: np.ndarray, seed: int) -> np.ndarray:
    """Poisson-weighted resamples of D (``N_BOOT``, or ``N_BOOT_BIG`` above ``BIG`` accounts), a
    few at a time (at most ``_CHUNK`` weights
    in memory: a company of millions of accounts)."""
    rng = np.random.default_rng(seed)
    n = len(touches)
    total = N_BOOT if n <= BIG else N_BOOT_BIG
    step = max(1, _CHUNK // n)
    out = []
    for start in range(0, total, step):
        w = rng.poisson(1.0, size=(min(step, total - start), n)).astype(float)
        t_b, p_b = w * touches, w * prio
        ts, ps = t_b.sum(1), p_b.sum(1)
        ok = (ts > 0) & (ps > 0)
        t_b, p_b = t_b[ok] / ts[ok, None], p_b[ok] / ps[ok, None]
        out.append(0.5 * np.abs(t_b - p_b).sum(1))
    return np.concatenate(out) if out else np.zeros(0)


def expected_touches(
    touches: np.ndarray, prio: np.ndarray, deals: np.ndarray, group: np.ndarray
) -> np.ndarray | None:
    """The touches expected of each account in its book (module docstring): each book's touches
    spread over its accounts in proportion to ``exp(b1 log1p(prio / m) + b2 log1p(deals))``, ``m``
    the median positive priority, ``b`` the multinomial maximum likelihood over every book
    (Newton's method, halving a step that lowers the likelihood). ``group``: the book of each row
    (integer codes). None when nothing can be learned (fewer than two books with touches, or no
    variation within a book)."""
    k = np.asarray(touches, float)
    g = np.asarray(group, np.int64)
    prio = np.nan_to_num(np.asarray(prio, float), nan=0.0)
    positive = prio[prio > 0]
    scale = float(np.median(positive)) if len(positive) else 1.0
    cols = [np.log1p(np.maximum(prio, 0.0) / scale), np.log1p(np.nan_to_num(deals, nan=0.0))]
    n_g = int(g.max()) + 1 if len(g) else 0
    total = np.bincount(g, k, minlength=n_g)
    live = total[g] > 0
    if (total > 0).sum() < 2:
        return None
    # a column that never varies within a book is absorbed by the book's term: left out
    keep = []
    for x in cols:
        mean = np.bincount(g, x, minlength=n_g) / np.maximum(np.bincount(g, minlength=n_g), 1)
        if np.abs(x - mean[g])[live].max(initial=0.0) > 1e-9:
            keep.append(x)
    if not keep:
        return None
    X = np.column_stack(keep)

    def spread(beta: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        eta = X @ beta
        top = pd.Series(eta).groupby(g).transform("max").to_numpy()
        w = np.exp(eta - top)
        share = w / np.bincount(g, w, minlength=n_g)[g]
        loglik = float((k * np.log(np.maximum(share, 1e-300)))[k > 0].sum())
        return share, total[g] * share, loglik

    beta = np.zeros(X.shape[1])
    share, mu, loglik = spread(beta)
    for _ in range(100):
        grad = X.T @ (k - mu)
        sums = np.zeros((n_g, X.shape[1]))
        np.add.at(sums, g, X * mu[:, None])
        inv = np.where(total > 0, 1.0 / np.where(total > 0, total, 1.0), 0.0)
        info = (X * mu[:, None]).T @ X - (sums.T * inv) @ sums
        step = np.linalg.lstsq(info, grad, rcond=None)[0]
        for _half in range(30):
            trial = spread(beta + step)
            if trial[2] >= loglik - 1e-10:
                break
            step = step / 2
        beta = beta + step
        share, mu, new = trial
        done = abs(new - loglik) < 1e-10 * (1 + abs(loglik))
        loglik = new
        if done or np.abs(step).max() < 1e-10:
            break
    return mu


def dispersion(touches: np.ndarray, expected: np.ndarray) -> float:
    """How much more touches spread around their expected counts than Poisson counts would: the
    median squared Pearson residual over accounts expected at least 5 touches (below that the
    counts are too coarse for the median to be calibrated: it reads a 4x spread as 3), over the
    median of a chi-square with one degree of freedom (0.455), at least 1. A median, so the few
    accounts a rep truly neglects or over-serves do not widen the yardstick they are measured
    with. Without any account expected 5 touches, every account expected one is used."""
    k, e = np.asarray(touches, float), np.asarray(expected, float)
    use = e >= 5
    if not use.any():
        use = e >= 1
    if not use.any():
        return 1.0
    resid = (k[use] - e[use]) ** 2 / e[use]
    return max(1.0, float(np.median(resid)) / stats.chi2.ppf(0.5, 1))


def pattern_q(
    touches: np.ndarray,
    expected: np.ndarray,
    eligible: np.ndarray,
    group: np.ndarray,
    phi: float,
    direction: str,
) -> np.ndarray:
    """Per book (``group`` codes): the BH q over books of a one-sided test that the book's
    ``eligible`` accounts together got fewer (``direction`` "under") or more ("over") touches
    than expected: ``z = (O - E) / sqrt(phi E (1 - E / K))``, O and E their observed and expected
    touches, K the book's touches. NaN for a book with no eligible account expected a touch."""
    k, e = np.asarray(touches, float), np.asarray(expected, float)
    n_g = int(group.max()) + 1 if len(group) else 0
    observed = np.bincount(group, k * eligible, minlength=n_g)
    due = np.bincount(group, e * eligible, minlength=n_g)
    book = np.bincount(group, k, minlength=n_g)
    live = due > 0
    q = np.full(n_g, np.nan)
    if not live.any():
        return q
    with np.errstate(divide="ignore", invalid="ignore"):
        var = phi * due * np.clip(1 - due / np.where(book > 0, book, 1.0), 1e-9, 1.0)
        z = (observed - due) / np.sqrt(var)
    p = stats.norm.cdf(z) if direction == "under" else stats.norm.sf(z)
    q[live] = bh_by_group(p[live], np.zeros(int(live.sum()), np.int64))
    return q


@dataclass(frozen=True)
class Flags:
    fair: np.ndarray  # each account's fair share of its book's touches
    ratio: np.ndarray  # touches / fair share
    flag: np.ndarray  # "under", "over" or ""
    q: np.ndarray  # BH q (within the book) of the binomial test against the fair share
    pattern_q: np.ndarray  # BH q (over books) of the book's pattern in the account's direction
    phi: float  # the dispersion of touches around their expected counts (1 without them)


def flags(
    book: pd.DataFrame,
    rules: FlagRules,
    by: str | None = None,
    expected: np.ndarray | None = None,
) -> Flags:
    """Rows of one rep's book, or of every book when ``by`` names the owner column (rows:
    ``own_touches``, ``priority``, ``tier``, ``fit``): each account's fair share of its rep's
    touches, its ratio, the flag and the tests (``Flags``). ``expected``: each row's expected
    touches (``expected_touches``): a flag then also needs the touches below ``under_ratio``
    (above ``over_ratio``) times them, and the book's pattern to be beyond chance (module
    docstring); None: the fair share alone, each account tested on its own."""
    n = len(book)
    group = np.zeros(n, dtype=np.int64) if by is None else pd.factorize(book[by])[0]
    k = book["own_touches"].to_numpy(float)
    prio = book["priority"].to_numpy(float)
    n_touch = pd.Series(k).groupby(group).transform("sum").to_numpy(float)
    ptotal = pd.Series(prio).groupby(group).transform("sum").to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(ptotal > 0, prio / ptotal, 0.0)
        fair = share * n_touch
        ratio = np.where(fair > 0, k / fair, np.where(k > 0, np.inf, np.nan))
    flag = np.full(n, "", dtype=object)
    q = np.full(n, np.nan)
    pq = np.full(n, np.nan)
    live = (n_touch > 0) & (ptotal > 0)
    if not live.any():
        return Flags(fair, ratio, flag, q, pq, 1.0)
    p_under = stats.binom.cdf(k, n_touch, share)  # P(X <= k)
    p_over = stats.binom.sf(k - 1, n_touch, share)  # P(X >= k)
    tier = book["tier"].to_numpy(str)
    fit = np.nan_to_num(book["fit"].to_numpy(float), nan=50.0)
    top = np.isin(tier, ["strategic", "key"]) & (fit >= rules.fit_min)
    low = (tier == "maintain") | ((tier == "core") & (fit < 100 - rules.fit_min))
    under_ok = top & (ratio < rules.under_ratio) & (fair - k >= 3.0)
    over_ok = low & (ratio > rules.over_ratio) & (k - fair >= np.maximum(3.0, rules.min_gap_share
                                                                        * n_touch))  # fmt: skip
    # one family per book: every account tested in the direction of its departure
    pv = np.where(ratio < 1, p_under, p_over)
    pv = np.where(np.isfinite(pv), np.clip(pv, 0, 1), 1.0)
    qv = np.full(n, np.nan)
    qv[live] = bh_by_group(pv[live], group[live])
    q[live] = qv[live]
    hit = live & (qv < Q)
    phi = 1.0
    if expected is not None:
        e = np.asarray(expected, float)
        phi = dispersion(k, e)
        under_q = pattern_q(k, e, top, group, phi, "under")[group]
        over_q = pattern_q(k, e, low, group, phi, "over")[group]
        pq = np.where(top, under_q, np.where(low, over_q, np.nan))
        under_ok &= (k < rules.under_ratio * e) & (under_q < Q)
        over_ok &= (k > rules.over_ratio * e) & (over_q < Q)
    flag[under_ok & hit] = "under"
    flag[over_ok & hit] = "over"
    return Flags(fair, ratio, flag, q, pq, phi)


def sentence(row, currency: str, window: str, rules: FlagRules | None = None) -> str:
    """One sentence on a flagged account, with its figures (and its expected touches when the
    row has them, against ``rules``' ratios)."""
    if row["flag"] not in ("under", "over"):
        return ""
    rules = rules or FlagRules()
    share = row["own_touches"] / row["book_touches"] if row["book_touches"] else 0.0
    value = money(row["value"], currency)
    gap = abs(row["fair_touches"] - row["own_touches"])
    expected = row.get("expected_touches", np.nan)
    like = ""
    if expected is not None and np.isfinite(expected):
        if row["flag"] == "under":
            r = rules.under_ratio
            part = "under half the" if r == 0.5 else f"under {r:.0%} of the"
        else:
            r = rules.over_ratio
            part = "over twice the" if r == 2 else f"over {r:g} times the"
        like = (
            f", and {part} {expected:.0f} that accounts of like value and deal count get "
            "across the company's books"
        )
    if row["flag"] == "under":
        return (
            f"{row['name']} is {row['tier']} (value {value} a year, {row['value_share']:.0%} of "
            f"the book) and fits well ({row['fit']:.0f}/100), but got {share:.0%} of the owner's "
            f"touches ({int(row['own_touches'])} of {int(row['book_touches'])}) in the last "
            f"{window}: about {gap:.0f} fewer than its fair share{like}."
        )
    return (
        f"{row['name']} is {row['tier']} (value {value} a year, {row['value_share']:.1%} of the "
        f"book) but took {share:.0%} of the owner's touches ({int(row['own_touches'])} of "
        f"{int(row['book_touches'])}) in the last {window}: about {gap:.0f} more than its fair "
        f"share{like}."
    )


def money(x: float, currency: str) -> str:
    if not np.isfinite(x):
        return "unknown"
    for div, suffix in ((1e9, "bn"), (1e6, "m"), (1e3, "k")):
        if abs(x) >= div:
            return f"{currency} {x / div:.1f}{suffix}"
    return f"{currency} {x:.0f}"
