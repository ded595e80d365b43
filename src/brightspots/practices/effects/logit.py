"""Logistic regression with standard errors clustered by rep, and what is read off it: the log
odds ratio of one coefficient (or a sum of coefficients), the average marginal effect in
percentage points with its delta-method interval, a Wald test of several terms, and
Benjamini-Hochberg q-values. Plain numpy arrays in, numbers out; a fit that cannot be trusted
raises ``FitFailed`` with a note in words, never anything else.

Rows may carry frequency weights (``weights``: how many deals a row stands for, grouped cells
of deals with the same covariates, practice value and outcome, all of one rep): the
log-likelihood, the information, each rep's summed score and the number of deals in the
small-sample correction are then those of the deals themselves, so the fit and its clustered
covariance are the per-deal ones (to rounding).

A design is a numpy array or any ``Rows`` (``designs.BuiltRows``): rows made a block of
``BLOCK_ROWS`` at a time when asked for, so that a fit on millions of rows holds its compact
inputs and one block of the design, never the whole matrix. Every sum over rows runs block by
block (for an array too: the blocks are views), so both give the same numbers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy import stats
from scipy.linalg import solve_triangular
from statsmodels.stats.multitest import multipletests

Z95 = float(stats.norm.ppf(0.975))
#: a contrast log odds ratio beyond this (odds ratio ~ 22,000) is separation, not an estimate
MAX_LOG_OR = 10.0
#: a standard error beyond this on the log odds scale means the data carry no information
MAX_SE = 25.0


class Rows(Protocol):
    """A design whose rows are made when asked for (see the module docstring)."""

    @property
    def shape(self) -> tuple[int, int]: ...

    def block(self, a: int, b: int) -> np.ndarray:
        """Rows a to b (excluded), all columns: a fresh array the caller may write to."""
        ...

    def columns(self, keep: list[int]) -> Rows:
        """The design of the columns ``keep``, in that order."""
        ...

    def take(self, mask: np.ndarray) -> Rows:
        """The design of the rows where ``mask`` is true."""
        ...


Design = np.ndarray | Rows


class FitFailed(Exception):
    """The model cannot give a trustworthy estimate; ``str(err)`` says why, in words."""


@dataclass(frozen=True)
class ClusteredFit:
    params: np.ndarray
    cov: np.ndarray  # cluster-robust covariance (statsmodels' small-sample correction)
    n: int  # deals (the sum of the weights of a weighted fit)
    n_clusters: int


@dataclass(frozen=True)
class Effect:
    """A contrast on the odds-ratio scale and in percentage points, with 95% intervals."""

    log_or: float
    se: float
    p: float
    pp: float
    pp_se: float

    @property
    def odds_ratio(self) -> float:
        return float(np.exp(self.log_or))

    @property
    def or_ci(self) -> tuple[float, float]:
        return (
            float(np.exp(self.log_or - Z95 * self.se)),
            float(np.exp(self.log_or + Z95 * self.se)),
        )

    @property
    def pp_ci(self) -> tuple[float, float]:
        return (self.pp - Z95 * self.pp_se, self.pp + Z95 * self.pp_se)


def stack_columns(*blocks: np.ndarray) -> np.ndarray:
    """``np.column_stack(blocks)`` in column-major (Fortran) order. The fits run on designs of
    that layout (a column selection ``X[:, keep]`` has it), so a design built this way needs no
    copy when every column is kept, and gives the same numbers bit for bit."""
    parts = [b[:, None] if b.ndim == 1 else b for b in blocks]
    X = np.empty((len(parts[0]), sum(b.shape[1] for b in parts)), order="F")
    j = 0
    for b in parts:
        X[:, j : j + b.shape[1]] = b
        j += b.shape[1]
    return X


def kept_columns(X: Design, keep: list[int]) -> Design:
    """``X[:, keep]`` (column-major), without a copy when that is all of a column-major X."""
    if not isinstance(X, np.ndarray):
        return X if keep == list(range(X.shape[1])) else X.columns(keep)
    if keep == list(range(X.shape[1])) and X.flags.f_contiguous:
        return X
    return X[:, keep]


def take_rows(X: Design, mask: np.ndarray) -> Design:
    """``X[mask]``: for an array a fresh row-major copy (it may be written to)."""
    return X[mask] if isinstance(X, np.ndarray) else X.take(mask)


#: rows of a design made or weighted at once: the extra memory of a fit is this many rows of the
#: design (24 MB at 48 columns), never a copy of all of it
BLOCK_ROWS = 1 << 16


def _blocks(n: int) -> range:
    """The first row of each block of ``BLOCK_ROWS`` rows of an n-row design (one, empty, if
    n = 0)."""
    return range(0, max(n, 1), BLOCK_ROWS)


def _each_block(X: Design) -> Iterator[tuple[int, int, np.ndarray]]:
    """(a, b, rows a to b of X) for each block: a view of an array, or the block made."""
    n = X.shape[0]
    for a in _blocks(n):
        b = min(a + BLOCK_ROWS, n)
        yield a, b, X[a:b] if isinstance(X, np.ndarray) else X.block(a, b)


def _times(X: Design, beta: np.ndarray) -> np.ndarray:
    """X @ beta."""
    if isinstance(X, np.ndarray):
        return X @ beta
    out = np.empty(X.shape[0])
    for a, b, Xb in _each_block(X):
        out[a:b] = Xb @ beta
    return out


#: a column is kept when the part of it (scaled to unit length) that the columns before it do not
#: explain has at least this squared length (1e-6 of its length: far above rounding, which is
#: about 1e-16 times the number of columns)
INDEPENDENT = 1e-12


def independent_columns(
    X: Design, protected: list[int], weights: np.ndarray | None = None
) -> list[int]:
    """Indices of the columns to keep: each unprotected column that is a linear combination of
    the columns before it is dropped (unprotected first, then the protected ones). A protected
    column (the practice terms) that depends on the others raises ``FitFailed``.

    Gram-Schmidt on the K x K cross-product of the unit-norm columns (a Cholesky factor built
    column by column, skipping dependent ones): one matrix product over the rows instead of a
    QR decomposition of the whole design; the column norms are read off its diagonal.
    ``weights``: each row counted that many times (the cross-product X'WX)."""
    order = [j for j in range(X.shape[1]) if j not in protected] + list(protected)
    if weights is None and isinstance(X, np.ndarray):
        cross = X.T @ X
    else:
        cross = _information(X, np.ones(X.shape[0]) if weights is None else weights)
    norms = np.sqrt(np.diag(cross))
    if any(norms[j] == 0 for j in protected):
        raise FitFailed("the practice does not vary among the analysed deals")
    live = [j for j in order if norms[j] > 0]
    G = cross[np.ix_(live, live)] / np.outer(norms[live], norms[live])
    L = np.zeros((len(live), len(live)))  # rows of the kept columns' Cholesky factor
    kept: list[int] = []  # positions in ``live`` of the kept columns, in order
    keep = []
    for pos, j in enumerate(live):
        if kept:
            w = solve_triangular(L[np.ix_(kept, kept)], G[kept, pos], lower=True)
            d = G[pos, pos] - float(w @ w)
        else:
            w, d = np.zeros(0), G[pos, pos]
        if d >= INDEPENDENT:
            L[pos, kept] = w
            L[pos, pos] = np.sqrt(d)
            kept.append(pos)
            keep.append(j)
        elif j in protected:
            raise FitFailed(
                "the practice is fully determined by the case-mix covariates among the analysed "
                "deals"
            )
    return sorted(keep)


def fit_clustered(
    y: np.ndarray,
    X: Design,
    groups: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    offset: np.ndarray | None = None,
) -> ClusteredFit:
    """Binomial GLM (logit link) by Newton-Raphson, with covariance clustered by ``groups``: the
    CR1 sandwich (X'WX)^-1 M (X'WX)^-1, M the sum over groups of the outer products of their
    summed scores, times G/(G-1) * (N-1)/(N-K) (statsmodels' ``cov_type="cluster"``).

    Each iteration costs one pass of X'WX (a BLAS matrix product) rather than a least-squares
    solve of the whole weighted design, so half a million deals fit in under a second.

    ``weights``: frequency weights, the deals each row stands for (each row within one group):
    every sum above runs over the deals and N is their number, so the estimates, the sandwich
    and its correction are those of the per-deal fit.

    ``offset``: a known term added to each row's linear predictor (coefficient fixed at 1), e.g.
    the log odds a case-mix model expects (statsmodels' ``GLM(..., offset=)``)."""
    y = np.asarray(y, dtype=float)
    if isinstance(X, np.ndarray):
        X = np.asarray(X, dtype=float)
    codes = groups if groups.dtype.kind in "iu" else np.unique(groups, return_inverse=True)[1]
    params = _newton(y, X, weights, offset=offset)
    eta = _times(X, params)
    if offset is not None:
        eta = eta + offset
    p = _expit(eta)
    var = p * (1.0 - p)
    bread = _inverse(_information(X, var if weights is None else weights * var))
    codes = _compact(codes)
    n_clusters = int(codes.max()) + 1 if len(codes) else 0
    resid = y - p if weights is None else weights * (y - p)
    scores = np.zeros((n_clusters, X.shape[1]))
    for a, b, Xb in _each_block(X):
        for j in range(X.shape[1]):
            scores[:, j] += np.bincount(
                codes[a:b], weights=Xb[:, j] * resid[a:b], minlength=n_clusters
            )
    n, k = X.shape
    if weights is not None:
        n = int(round(float(weights.sum())))
    if n_clusters < 2 or n <= k:
        raise FitFailed("too few reps or deals for standard errors clustered by rep")
    correction = n_clusters / (n_clusters - 1.0) * (n - 1.0) / (n - k)
    cov = correction * (bread @ (scores.T @ scores) @ bread)
    if not (np.all(np.isfinite(params)) and np.all(np.isfinite(cov))):
        raise FitFailed("the logistic fit gave non-finite estimates (separation)")
    return ClusteredFit(params, cov, n=n, n_clusters=n_clusters)


def _compact(codes: np.ndarray) -> np.ndarray:
    """Integer codes renumbered 0, 1, ... in their sorted order (``np.unique``'s inverse),
    by counting instead of sorting when they are small non-negative integers."""
    if len(codes) and codes.min() >= 0 and codes.max() < 4 * len(codes) + 1024:
        present = np.bincount(codes) > 0
        return (np.cumsum(present) - 1)[codes]
    return np.unique(codes, return_inverse=True)[1]


#: Newton-Raphson stops when the deviance changes by less than this (statsmodels' IRLS: 1e-8)
DEVIANCE_TOL = 1e-8
MAX_ITER = 100


def _expit(eta: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * eta))


def _deviance(y: np.ndarray, eta: np.ndarray) -> float:
    # -2 log-likelihood, stable for large |eta|: log p = -log(1 + e^-eta)
    return float(2.0 * np.sum(y * np.logaddexp(0.0, -eta) + (1.0 - y) * np.logaddexp(0.0, eta)))


def _deviance_of(y: np.ndarray, weights: np.ndarray | None = None) -> Callable[[np.ndarray], float]:
    """``_deviance(y, .)``; for 0/1 outcomes each row's term is log(1 + e^-eta) when won and
    log(1 + e^eta) when lost, computed as max(s, 0) + log1p(e^-|s|) (s = -eta or eta): the
    formula of ``np.logaddexp`` (to a unit in the last place), in vectorised functions several
    times as fast. The deviance only decides step halving and convergence. ``weights``: each
    row's term counted that many times."""
    if weights is not None:
        return _weighted_deviance(y, weights)
    if not np.all((y == 0.0) | (y == 1.0)):
        return lambda eta: _deviance(y, eta)
    sign = 1.0 - 2.0 * y  # -1 when won, 1 when lost
    s, t = np.empty_like(sign), np.empty_like(sign)

    def deviance(eta: np.ndarray) -> float:
        np.multiply(sign, eta, out=s)
        np.abs(s, out=t)
        np.negative(t, out=t)
        np.exp(t, out=t)
        np.log1p(t, out=t)
        np.maximum(s, 0.0, out=s)
        np.add(t, s, out=t)
        return float(2.0 * np.sum(t))

    return deviance


def _weighted_deviance(y: np.ndarray, weights: np.ndarray) -> Callable[[np.ndarray], float]:
    """``_deviance`` with each row's term counted ``weights`` times."""

    def deviance(eta: np.ndarray) -> float:
        terms = y * np.logaddexp(0.0, -eta) + (1.0 - y) * np.logaddexp(0.0, eta)
        return float(2.0 * (weights @ terms))

    return deviance


def _information(X: Design, w: np.ndarray) -> np.ndarray:
    """X'WX, as the sum over blocks of rows of A'A with A = W^1/2 X (numpy runs A.T @ A as one
    symmetric product), A held for one block at a time."""
    H, _ = _information_and_score(X, w)
    return H


def _information_and_score(
    X: Design, w: np.ndarray, resid: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """X'WX and X'resid (zeros without ``resid``) in one pass over the blocks of rows."""
    n, k = X.shape
    H, g = np.zeros((k, k)), np.zeros(k)
    root = np.sqrt(w)
    work = np.empty((min(n, BLOCK_ROWS), k), order="F")
    for a, b, Xb in _each_block(X):
        if resid is not None:
            g += Xb.T @ resid[a:b]
        if isinstance(X, np.ndarray):
            A = work if b - a == len(work) else np.empty((b - a, k), order="F")
            np.multiply(Xb, root[a:b, None], out=A)
        else:  # a block made for this pass: weighted in place
            A = np.multiply(Xb, root[a:b, None], out=Xb)
        H += A.T @ A
    return H, g


def _inverse(H: np.ndarray) -> np.ndarray:
    try:
        inv = np.linalg.inv(H)
    except np.linalg.LinAlgError as err:
        raise FitFailed("the logistic fit is singular (separation or too little data)") from err
    if not np.all(np.isfinite(inv)):
        raise FitFailed("the logistic fit is singular (separation or too little data)")
    return inv


def _newton(
    y: np.ndarray,
    X: Design,
    weights: np.ndarray | None = None,
    *,
    offset: np.ndarray | None = None,
) -> np.ndarray:
    """Maximum-likelihood logit coefficients; step halving keeps the deviance from rising.
    ``weights``: frequency weights of the rows; ``offset``: a known term of each row's linear
    predictor. Each iteration makes two passes over the rows: X'WX with the score, then X times
    the step (a halved step moves the linear predictor along the same direction)."""
    deviance = _deviance_of(y, weights)
    beta = np.zeros(X.shape[1])
    base = np.zeros(len(y)) if offset is None else np.asarray(offset, dtype=float)
    eta = base.copy()
    dev = deviance(eta)
    for _ in range(MAX_ITER):
        p = _expit(eta)
        w = p * (1.0 - p)
        resid = y - p
        if weights is not None:
            w, resid = weights * w, weights * resid
        H, score = _information_and_score(X, w, resid)
        try:
            step = np.linalg.solve(H, score)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(H, score, rcond=None)[0]
        move = _times(X, step)
        t = 1.0
        while True:
            new_beta = beta + t * step
            new_eta = eta + t * move
            new_dev = deviance(new_eta)
            if new_dev <= dev + 1e-12 * abs(dev) or t < 1e-6:
                break
            t /= 2.0
        change = abs(dev - new_dev)
        beta, eta, dev = new_beta, new_eta, new_dev
        if not np.all(np.isfinite(beta)):
            raise FitFailed("the logistic fit gave non-finite estimates (separation)")
        if change <= DEVIANCE_TOL:
            return beta
    raise FitFailed("the logistic fit did not converge (separation or too little data)")


def linear_effect(fit: ClusteredFit, c: np.ndarray) -> tuple[float, float]:
    """Estimate and standard error of c'b."""
    est = float(c @ fit.params)
    var = float(c @ fit.cov @ c)
    return est, float(np.sqrt(var)) if var > 0 else float("nan")


def marginal_effect(
    fit: ClusteredFit,
    Z1: np.ndarray,
    Z0: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    offset: np.ndarray | None = None,
) -> tuple[float, float]:
    """Average marginal effect in percentage points: mean of expit(Z1 b) - expit(Z0 b) over the
    rows (each counted ``weights`` times), with its delta-method standard error under the
    clustered covariance. ``offset``: the known term of each row's linear predictor, as in
    ``fit_clustered`` (expit(Z b + offset))."""
    p1, g1 = _response(fit, Z1, weights, offset)
    p0, g0 = _response(fit, Z0, weights, offset)
    diff = p1 - p0
    deals, total = (len(diff), diff.sum()) if weights is None else (weights.sum(), weights @ diff)
    return _marginal(fit, float(total), float(deals), g1 - g0)


def marginal_effect_at(
    fit: ClusteredFit,
    X: Design,
    columns: list[int],
    at1: np.ndarray,
    at0: np.ndarray,
    *,
    overwrite: bool = False,
    weights: np.ndarray | None = None,
) -> tuple[float, float]:
    """``marginal_effect`` with Z1 (Z0) = X with ``columns`` set to ``at1`` (``at0``); the two are
    written in turn into a (row-major) copy of each block of ``BLOCK_ROWS`` rows of an array X,
    or into X itself with ``overwrite`` (a ``Rows``' blocks are made for this and written to)."""
    n = X.shape[0]
    total, grad = 0.0, np.zeros(X.shape[1])
    for a, b, Xb in _each_block(X):
        Z = Xb.copy() if isinstance(X, np.ndarray) and not overwrite else Xb
        w = None if weights is None else weights[a:b]
        Z[:, columns] = at1
        p1, g1 = _response(fit, Z, w)
        Z[:, columns] = at0
        p0, g0 = _response(fit, Z, w)
        diff = p1 - p0
        total += float(diff.sum() if w is None else w @ diff)
        grad += g1 - g0
    deals = float(n if weights is None else weights.sum())
    return _marginal(fit, total, deals, grad)


def _response(
    fit: ClusteredFit,
    Z: np.ndarray,
    weights: np.ndarray | None = None,
    offset: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Predicted probabilities at Z (plus ``offset``) and the (weighted) sum over rows of their
    gradient, Z' p(1-p)."""
    eta = Z @ fit.params if offset is None else Z @ fit.params + offset
    p = 1.0 / (1.0 + np.exp(-eta))
    slope = p * (1 - p)
    return p, Z.T @ (slope if weights is None else weights * slope)


def _marginal(
    fit: ClusteredFit, total: float, deals: float, grad: np.ndarray
) -> tuple[float, float]:
    """The marginal effect and its standard error from the (weighted) sum over rows of
    p1 - p0 (``total``) and of Z1 p1(1-p1) - Z0 p0(1-p0) (``grad``) over ``deals``."""
    est = total / deals
    g = grad / deals
    var = float(g @ fit.cov @ g)
    return 100.0 * est, 100.0 * float(np.sqrt(var)) if var > 0 else float("nan")


def contrast(
    fit: ClusteredFit,
    c: np.ndarray,
    Z1: np.ndarray,
    Z0: np.ndarray,
    weights: np.ndarray | None = None,
) -> Effect:
    """The practice contrast c'b (log odds ratio, better vs worse) and its marginal effect."""
    log_or, se, p = _log_odds_ratio(fit, c)
    pp, pp_se = marginal_effect(fit, Z1, Z0, weights)
    return Effect(log_or=log_or, se=se, p=p, pp=pp, pp_se=pp_se)


def contrast_at(
    fit: ClusteredFit,
    c: np.ndarray,
    X: Design,
    columns: list[int],
    at1: np.ndarray,
    at0: np.ndarray,
    *,
    overwrite: bool = False,
    weights: np.ndarray | None = None,
) -> Effect:
    """``contrast`` with Z1 and Z0 given as in ``marginal_effect_at``."""
    log_or, se, p = _log_odds_ratio(fit, c)
    pp, pp_se = marginal_effect_at(fit, X, columns, at1, at0, overwrite=overwrite, weights=weights)
    return Effect(log_or=log_or, se=se, p=p, pp=pp, pp_se=pp_se)


def _log_odds_ratio(fit: ClusteredFit, c: np.ndarray) -> tuple[float, float, float]:
    log_or, se = linear_effect(fit, c)
    if abs(log_or) > MAX_LOG_OR or not np.isfinite(se) or se > MAX_SE:
        raise FitFailed(
            "separation: the practice (almost) perfectly predicts the outcome among the analysed "
            "deals, so no finite odds ratio can be estimated"
        )
    return log_or, se, float(2 * stats.norm.sf(abs(log_or) / se))


def wald(fit: ClusteredFit, idx: list[int]) -> tuple[float, int, float]:
    """Joint Wald test that the coefficients ``idx`` are all 0: (chi-square, df, p)."""
    b = fit.params[idx]
    V = fit.cov[np.ix_(idx, idx)]
    df = int(np.linalg.matrix_rank(V))
    if df == 0:
        return float("nan"), 0, float("nan")
    stat = float(b @ np.linalg.pinv(V) @ b)
    return stat, df, float(stats.chi2.sf(stat, df))


def bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values over the finite p-values; NaN stays NaN."""
    p = np.asarray(p, dtype=float)
    q = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        q[ok] = multipletests(p[ok], method="fdr_bh")[1]
    return q
