"""Ideal-customer fit: which accounts the company is best set up to serve, from what is known about
an account up front, learned from history and/or written as a profile in the config.

**Learned** (``learn``): one row per account with its attributes (``ATTRIBUTES``: segment,
industry, size band from employees, region, source of its first deal; a missing value is its own
level ``unknown``; levels held by fewer than ``pool_min`` accounts pooled into ``other``), its won
revenue, its closed and won deals and expansion deals won over the history window, its exposure
(years in the window, from created_at) and its touches over the window. Three models:

* revenue: quasi-Poisson GLM (log link, dispersion from Pearson's X^2) of won revenue on the
  attributes, plus log(1 + touches a year) so an account that was neglected does not look like a
  poor fit, with log exposure as offset;
* win rate: binomial GLM of won of closed deals (accounts with closed deals), same terms;
* expansion: quasi-Poisson GLM of expansion deals won, same terms and offset.

Each is read at the company's median effort for one year: what an account like this brings
under ordinary effort. The **fit score** (0-100) is the percentile of the revenue prediction
among the accounts (ties share the midpoint), so 80 means "a better fit than 80% of accounts".
Its **reasons** are the attribute levels that move the prediction most from an average
account's, as a multiple in words. The **check** is 5-fold cross-validation by account: the
area under the ROC curve for "won anything in the window" and Spearman's rank correlation
with won revenue a year, each on predictions from folds that did not see the account.

**Profile** (``profile_scores``): ``[plan.profile]`` gives points per attribute level (and
``employees`` as minimum-size thresholds); an account's score is its points over the most points
any combination can reach, times 100. **Both**: fit = (1 - w) x learned + w x profile, w =
``profile_weight``.

The models are fitted on cells of accounts alike in every attribute and in effort band
(``EFFORT_BANDS`` bands of equal count, each at its mean effort): for a Poisson rate or a
binomial model this gives exactly the per-account estimates of the attribute terms, and the
effort term is read from the bands. Above ``MAX_FIT_ROWS`` accounts the models are fit on a
seeded random sample of that many (the
coefficients of a few dozen terms are settled long before), then applied to every account; the
cross-validated check uses at most ``MAX_CV_ROWS`` of them.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from brightspots.blas import one_blas_thread
from brightspots.errors import BrightspotsError

ATTRIBUTES = ("segment", "industry", "size", "region", "first_source")
LABELS = {
    "segment": "Segment",
    "industry": "Industry",
    "size": "Size",
    "region": "Region",
    "first_source": "First deal from",
}
#: employee bands (lower bounds) for ``size``
SIZE_BANDS = ((0, "1-49 employees"), (50, "50-249 employees"), (250, "250-999 employees"),
              (1000, "1,000-4,999 employees"), (5000, "5,000+ employees"))  # fmt: skip
MAX_FIT_ROWS = 200_000
#: bands of equal count the effort covariate is fitted on
EFFORT_BANDS = 32
#: the cross-validated check runs on at most this many of the fitting rows (seeded sample)
MAX_CV_ROWS = 50_000
#: accounts with a won deal needed before a learned fit is trusted
MIN_WINNERS = 30
FOLDS = 5
#: a level is a reason when it moves the prediction by at least this factor
MIN_REASON = 1.25
SEED = 20261126


class FitError(BrightspotsError):
    """``[plan.profile]`` cannot be read; the message names the key."""


@dataclass(frozen=True)
class Check:
    auc: float  # cross-validated: won anything in the window
    spearman: float  # cross-validated: with won revenue a year
    n_accounts: int
    n_winners: int

    def sentence(self) -> str:
        return (
            f"Checked by {FOLDS}-fold cross-validation on {self.n_accounts:,} accounts: the "
            f"fit tells accounts that bought from those that did not with an AUC of "
            f"{self.auc:.2f} (0.5 is chance, 1 perfect), and ranks them by revenue with a "
            f"correlation of {self.spearman:.2f}."
        )


@dataclass(frozen=True)
class Learned:
    """The learned fit per account (aligned with the input rows), or why there is none."""

    score: np.ndarray  # 0-100, NaN when not learned
    revenue: np.ndarray  # predicted won revenue a year at median effort
    win_rate: np.ndarray  # predicted win rate at median effort (NaN: not estimable)
    expansion: np.ndarray  # predicted expansion deals won a year at median effort
    reasons: list[str]
    check: Check | None
    note: str = ""
    coefficients: dict[str, float] = field(default_factory=dict)


def size_band(employees: pd.Series) -> pd.Series:
    e = pd.to_numeric(employees, errors="coerce")
    out = pd.Series("unknown", index=employees.index, dtype=object)
    for low, label in SIZE_BANDS:
        out[e >= low] = label
    return out


def attributes(accounts: pd.DataFrame, pool_min: int) -> pd.DataFrame:
    """The coded attributes: text levels, ``unknown`` for missing, rare levels ``other``."""
    out = pd.DataFrame(index=accounts.index)
    for name in ATTRIBUTES:
        if name == "size":
            col = size_band(accounts["employees"]) if "employees" in accounts else None
        else:
            col = accounts[name] if name in accounts else None
        if col is None:
            continue
        col = col.astype(object).where(col.notna(), "unknown").astype(str)
        counts = col.value_counts()
        rare = counts.index[counts < pool_min]
        if len(rare) and len(rare) < len(counts):
            col = col.where(~col.isin(rare), "other")
        if col.nunique() > 1:
            out[name] = col
    return out


@dataclass(frozen=True)
class _Design:
    columns: list[str]  # one-hot columns: "attribute=level"
    reference: dict[str, str]  # the dropped level per attribute (its most common)

    @classmethod
    def of(cls, attrs: pd.DataFrame) -> _Design:
        cols, ref = [], {}
        for name in attrs.columns:
            counts = attrs[name].value_counts()
            ref[name] = str(counts.index[0])
            cols += [f"{name}={lv}" for lv in sorted(counts.index[1:].astype(str))]
        return cls(cols, ref)

    def matrix(self, attrs: pd.DataFrame, effort: np.ndarray) -> np.ndarray:
        x = np.zeros((len(attrs), len(self.columns) + 2))
        x[:, 0] = 1.0
        x[:, 1] = effort
        index = {c: i + 2 for i, c in enumerate(self.columns)}
        for name in attrs.columns:
            values = attrs[name].to_numpy(str)
            for lv in np.unique(values):
                j = index.get(f"{name}={lv}")
                if j is not None:
                    x[values == lv, j] = 1.0
        return x

    def linear(self, attrs: pd.DataFrame, params: np.ndarray) -> np.ndarray:
        """``matrix(attrs, 0) @ params`` for every row without the matrix: the intercept plus
        each attribute's coefficient looked up by level (0 for its reference level)."""
        eta = np.full(len(attrs), float(params[0]))
        beta = dict(zip(self.columns, params[2:], strict=True))
        for name in attrs.columns:
            codes, levels = pd.factorize(attrs[name])
            eta += np.array([beta.get(f"{name}={lv}", 0.0) for lv in levels])[codes]
        return eta


def _glm(y: np.ndarray, x: np.ndarray, family, offset=None, weights=None):
    """A GLM fit, or None when it fails or does not converge."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = sm.GLM(y, x, family=family, offset=offset, var_weights=weights).fit(
                scale="X2", maxiter=100
            )
    except (ValueError, np.linalg.LinAlgError, FloatingPointError):
        return None
    if not res.converged or not np.all(np.isfinite(res.params)):
        return None
    return res


def _banded(x: np.ndarray) -> np.ndarray:
    """``x`` with its effort column (1) replaced by the mean effort of its band (in place):
    ``EFFORT_BANDS`` bands of equal count. Accounts alike in every attribute and band then share
    a cell (``_cells``)."""
    e = x[:, 1]
    edges = np.unique(np.quantile(e, np.linspace(0.0, 1.0, EFFORT_BANDS + 1)))
    if len(edges) < 2:
        return x
    band = np.clip(np.searchsorted(edges, e, side="right") - 1, 0, len(edges) - 2)
    count = np.bincount(band, minlength=len(edges) - 1)
    total = np.bincount(band, weights=e, minlength=len(edges) - 1)
    means = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
    x[:, 1] = np.where(count[band] > 0, means[band], e)
    return x


def _cell_codes(x: np.ndarray) -> np.ndarray:
    """One integer per distinct design row (accounts alike in every term share one)."""
    frame = pd.DataFrame(x[:, 1:])
    return frame.groupby(list(frame.columns), sort=False).ngroup().to_numpy()


def _cells(x: np.ndarray, rows: np.ndarray, *values: np.ndarray, codes: np.ndarray):
    """The distinct design rows among ``rows`` (by ``codes``) and each of ``values`` summed per
    row."""
    _, first, inv = np.unique(codes[rows], return_index=True, return_inverse=True)
    inv = inv.ravel()
    return x[rows][first], [np.bincount(inv, weights=v[rows], minlength=len(first))
                            for v in values]  # fmt: skip


def _poisson(
    x: np.ndarray, rows: np.ndarray, y: np.ndarray, exposure: np.ndarray, codes: np.ndarray
):
    """A quasi-Poisson rate model of ``y`` over ``exposure`` on ``rows``, fitted on their cells:
    with one design row per cell, the summed counts over the summed exposure give exactly the
    per-account estimates."""
    use = rows[exposure[rows] > 0]
    xc, (yc, ec) = _cells(x, use, y, exposure, codes=codes)
    return _glm(yc, xc, sm.families.Poisson(), offset=np.log(ec))


def _percentile(v: np.ndarray) -> np.ndarray:
    """0-100: the share of accounts below, ties at the midpoint."""
    return 100.0 * (stats.rankdata(v, method="average") - 0.5) / len(v)


def _auc(score: np.ndarray, positive: np.ndarray) -> float:
    pos, neg = score[positive], score[~positive]
    if not len(pos) or not len(neg):
        return math.nan
    ranks = stats.rankdata(np.concatenate([pos, neg]))
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def learn(accounts: pd.DataFrame, *, pool_min: int = 30, seed: int = SEED) -> Learned:
    """The learned fit (module docstring). ``accounts`` columns: the attributes' sources
    (segment, industry, employees, region, first_source), ``won_revenue``, ``n_closed``,
    ``n_won``, ``expansion_won``, ``exposure_years``, ``touches``. On one BLAS thread, as the
    practice models (``blas``): its GLMs are thin products too."""
    with one_blas_thread():
        return _learn(accounts, pool_min=pool_min, seed=seed)


def _learn(accounts: pd.DataFrame, *, pool_min: int, seed: int) -> Learned:
    n = len(accounts)
    nan = np.full(n, math.nan)

    def none(note: str) -> Learned:
        return Learned(nan, nan, nan, nan, [""] * n, None, note)

    exposure = accounts["exposure_years"].to_numpy(float)
    revenue = accounts["won_revenue"].fillna(0).to_numpy(float)
    winners = int(np.sum(revenue > 0))
    if winners < MIN_WINNERS:
        return none(
            f"no learned fit: {winners} account(s) won anything in the window, fewer than "
            f"{MIN_WINNERS}"
        )
    attrs = attributes(accounts, pool_min)
    if attrs.shape[1] == 0:
        return none("no learned fit: no account attribute varies (segment, industry, ...)")
    design = _Design.of(attrs)
    rate = accounts["touches"].fillna(0).to_numpy(float) / np.maximum(exposure, 1 / 12)
    effort = np.log1p(rate)
    typical = float(np.median(effort))
    rng = np.random.default_rng(seed)
    fit_rows = np.arange(n) if n <= MAX_FIT_ROWS else np.sort(rng.choice(n, MAX_FIT_ROWS, False))
    scale = float(np.mean(revenue[revenue > 0]))
    rows = fit_rows[exposure[fit_rows] > 0]
    # the design matrices hold the fitting rows only (a dense matrix of every account would
    # take gigabytes at millions of accounts); predictions look the coefficients up by level
    sub = accounts.iloc[rows]
    x_fit = _banded(design.matrix(attrs.iloc[rows], effort[rows] - typical))
    x_std = x_fit.copy()
    x_std[:, 1] = 0.0  # every account at the median effort
    local = np.arange(len(rows))
    codes = _cell_codes(x_fit)
    exp_r, rev_r = exposure[rows], revenue[rows]
    rev = _poisson(x_fit, local, rev_r / scale, exp_r, codes)
    if rev is None:
        return none("no learned fit: the revenue model did not converge")
    predicted = np.exp(design.linear(attrs, rev.params)) * scale
    score = _percentile(predicted)
    names = ["intercept", "touches"] + design.columns
    learned = Learned(
        score=score,
        revenue=predicted,
        win_rate=_side_win_rate(sub, attrs, design, x_fit, codes, n),
        expansion=_side_expansion(sub, attrs, design, x_fit, exp_r, codes, n),
        reasons=_reasons(attrs, design, rev.params, score),
        check=_check(rev_r, exp_r, x_fit, x_std, local, scale, rng, codes),
        coefficients=dict(zip(names, map(float, rev.params), strict=True)),
    )
    return learned


def _side_win_rate(sub, attrs, design, x_fit, codes, n) -> np.ndarray:
    """``sub``: the fitting rows (in ``x_fit``'s order); predictions for all ``n`` accounts."""
    closed = sub["n_closed"].fillna(0).to_numpy(float)
    won = sub["n_won"].fillna(0).to_numpy(float)
    use = np.flatnonzero(closed > 0)
    if len(use) < MIN_WINNERS:
        return np.full(n, math.nan)
    xc, (wins, trials) = _cells(x_fit, use, won, closed, codes=codes)
    res = _glm(wins / trials, xc, sm.families.Binomial(), weights=trials)
    if res is None:
        return np.full(n, math.nan)
    return 1.0 / (1.0 + np.exp(-design.linear(attrs, res.params)))


def _side_expansion(sub, attrs, design, x_fit, exposure, codes, n) -> np.ndarray:
    k = sub["expansion_won"].fillna(0).to_numpy(float)
    if np.sum(k > 0) < MIN_WINNERS:
        return np.full(n, math.nan)
    res = _poisson(x_fit, np.arange(len(k)), k, exposure, codes)
    if res is None:
        return np.full(n, math.nan)
    return np.exp(design.linear(attrs, res.params))


def _reasons(attrs: pd.DataFrame, design: _Design, params: np.ndarray, score: np.ndarray):
    """Up to three attribute levels that move each account's prediction most from an average
    account's (in the direction of its score), in words. Accounts with the same levels and the
    same side of 50 share their words: each combination is written once."""
    beta = dict(zip(design.columns, params[2:], strict=True))
    names = list(attrs.columns)
    effects = {}
    for name in names:
        col = attrs[name].astype(str)
        level_beta = {lv: beta.get(f"{name}={lv}", 0.0) for lv in col.unique()}
        mean = float(col.map(level_beta).astype(float).mean())  # the average account's
        effects[name] = (None, mean, level_beta)
    high = score >= 50
    key = pd.MultiIndex.from_arrays([attrs[a].to_numpy(object) for a in names] + [high])
    codes, combos = pd.factorize(key)
    words_of = []
    for combo in combos:
        *levels, up = combo
        sign = 1.0 if up else -1.0
        c = np.array(
            [effects[a][2][lv] - effects[a][1] for a, lv in zip(names, levels, strict=True)]
        )
        order = [j for j in np.argsort(-sign * c) if sign * c[j] > math.log(MIN_REASON)][:3]
        words_of.append(
            "; ".join(
                f"{LABELS[names[j]]} {levels[j]}: about {math.exp(c[j]):.1f}x the revenue of an "
                "average account"
                for j in order
            )
        )
    words = np.array(words_of, dtype=object)
    return list(words[codes])


def _check(revenue, exposure, x_all, x_std, rows, scale, rng, codes) -> Check | None:
    """Cross-validated discrimination (module docstring) on the fitting rows (at most
    ``MAX_CV_ROWS`` of them, a seeded sample)."""
    if len(rows) > MAX_CV_ROWS:
        rows = np.sort(rng.choice(rows, MAX_CV_ROWS, replace=False))
    folds = rng.permutation(len(rows)) % FOLDS
    pred = np.full(len(rows), math.nan)
    for k in range(FOLDS):
        train, test = rows[folds != k], rows[folds == k]
        res = _poisson(x_all, train, revenue / scale, exposure, codes)
        if res is None:
            return None
        pred[folds == k] = x_std[test] @ res.params
    per_year = revenue[rows] / exposure[rows]
    auc = _auc(pred, revenue[rows] > 0)
    rho = float(stats.spearmanr(pred, per_year).statistic)
    return Check(auc, rho, len(rows), int(np.sum(revenue[rows] > 0)))


def profile_scores(accounts: pd.DataFrame, profile: dict) -> np.ndarray:
    """Scores 0-100 from ``[plan.profile]`` (module docstring)."""
    total = np.zeros(len(accounts))
    best = 0.0
    for key, points in profile.items():
        if key == "employees":
            if not isinstance(points, dict):
                raise FitError("[plan.profile] employees: use {minimum employees = points}")
            cuts = sorted((_int_key(k), _points(v, f"employees.{k}")) for k, v in points.items())
            e = pd.to_numeric(accounts.get("employees"), errors="coerce").to_numpy(float)
            got = np.zeros(len(accounts))
            for low, p in cuts:
                got[e >= low] = p
            total += got
            best += max([0.0] + [p for _, p in cuts])
            continue
        if key not in ATTRIBUTES or key == "size":
            raise FitError(
                f"[plan.profile] {key}: use segment, industry, region, first_source or employees"
            )
        if not isinstance(points, dict):
            raise FitError(f"[plan.profile] {key}: use {{level = points}}")
        levels = {str(k).lower(): _points(v, f"{key}.{k}") for k, v in points.items()}
        if key in accounts:
            col = accounts[key].astype(object)
            words = col.where(col.notna(), "").astype(str).str.lower()
            total += words.map(levels).fillna(0.0).to_numpy(float)
        best += max([0.0, *levels.values()])
    if best <= 0:
        raise FitError("[plan.profile] gives no points to anything")
    return 100.0 * total / best


def _points(v, where: str) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or v < 0:
        raise FitError(f"[plan.profile] {where} = {v!r}: use points of 0 or more")
    return float(v)


def _int_key(k) -> int:
    try:
        return int(k)
    except ValueError:
        raise FitError(f"[plan.profile] employees.{k}: use a number of employees") from None


def combine(learned: np.ndarray, profile: np.ndarray | None, weight: float) -> np.ndarray:
    """The fit score: learned, profile, or their weighted mean (``weight`` on the profile);
    where the learned score is missing, the profile alone."""
    if profile is None:
        return learned
    mixed = (1.0 - weight) * learned + weight * profile
    return np.where(np.isnan(learned), profile, mixed)
