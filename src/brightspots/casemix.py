"""Expected results from resources only: the case-mix model (method.md section 1).

One row per closed opportunity (a *case*), y = 1 when won. The covariates are fixed before the rep
could influence them: territory potential, account segment and potential, lead source, deal size
at creation, tenure, quarter. Never a practice, never an outcome, never anything that identifies
the unit being compared.

Shape of the computation, so that it scales and runs on any Ibis backend:

1. ``case_table`` is an Ibis expression (no connection) with one row per case and one *coded*
   column per covariate: categorical covariates as text (missing = ``"(missing)"``), numeric
   covariates rounded to a fixed grid (missing = a sentinel). Coding is engine arithmetic only.
2. ``cells`` groups cases by the coded covariates: wins and trials per covariate pattern. Only this
   aggregate leaves the engine; the logistic model is fitted on it as a grouped binomial GLM.
3. ``score`` turns the fitted coefficients back into an Ibis expression giving each case its
   expected win probability ``p_hat``, so per-rep sums stay in the engine.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import statsmodels.api as sm

from brightspots.errors import BrightspotsError

MISSING = "(missing)"
OTHER = "(other)"
NUM_MISSING = -1.0  # numeric covariates are non-negative logs or years, so -1 is free
LOG_STEP = 0.05  # grid of log1p(value) for money-like covariates

#: names that may never be covariates: outcomes, stages, practices and what reps cause.
FORBIDDEN = {
    "amount_final",
    "stage",
    "won",
    "closed_at",
    "cycle_days",
    "activities",
    "touches",
    "meetings",
    "calls",
    "emails",
    "buyer_events",
    "rep_id",
    "owner_rep_id",
    "team_id",
    "practice",
}


class CaseMixError(BrightspotsError):
    """The case-mix model cannot be built from this data or this configuration."""


@dataclass(frozen=True)
class Covariate:
    name: str
    kind: str  # "categorical" or "numeric"
    description: str
    #: builds the coded column from the joined opportunity/account/rep table
    build: Callable[[ir.Table, dict[str, Any]], ir.Value]
    squared: bool = False  # numeric: add a squared term (curvature)


def text_code(col: ir.StringValue) -> ir.StringValue:
    """A categorical code: trimmed, lower case, and MISSING for null or empty text."""
    cleaned = col.strip().lower()
    return ibis.cases((cleaned.isnull() | (cleaned == ""), MISSING), else_=cleaned)


def _log_grid(col: ir.NumericValue) -> ir.FloatingValue:
    """log1p(value) on a 0.05 grid (bin centres); missing or negative -> sentinel."""
    v = col.cast("float64")
    step = ibis.literal(LOG_STEP, type="float64")
    one = ibis.literal(1.0, type="float64")
    grid = ((v + one).ln() / step).floor().cast("float64") * step + step / 2
    missing = ibis.literal(NUM_MISSING, type="float64")
    return ibis.cases((v.isnull() | (v < 0), missing), else_=grid)


def _tenure_band(t: ir.Table, ctx: dict[str, Any]) -> ir.StringValue:
    days = ctx["local"](t.created_at).date().delta(t.hire_date, unit="day")
    return ibis.cases(
        (t.hire_date.isnull(), MISSING),
        (days < 365, "0-1y"),
        (days < 730, "1-2y"),
        (days < 1826, "2-5y"),
        else_="5y+",
    )


def _quarter(t: ir.Table, ctx: dict[str, Any]) -> ir.StringValue:
    created = ctx["local"](t.created_at)
    return created.year().cast("string") + "-Q" + created.quarter().cast("string")


def _deal_size(t: ir.Table, ctx: dict[str, Any]) -> ir.FloatingValue:
    col = t.initial_amount if ctx["amount_column"] == "initial_amount" else t.amount
    return _log_grid(col)


COVARIATES: dict[str, Covariate] = {
    c.name: c
    for c in (
        Covariate("segment", "categorical", "account segment", lambda t, c: text_code(t.segment)),
        Covariate(
            "industry", "categorical", "account industry", lambda t, c: text_code(t.industry)
        ),
        Covariate("region", "categorical", "account region", lambda t, c: text_code(t.region)),
        Covariate("source", "categorical", "lead source", lambda t, c: text_code(t.source)),
        Covariate("product", "categorical", "product", lambda t, c: text_code(t.product)),
        Covariate("tenure", "categorical", "rep tenure when the deal was created", _tenure_band),
        Covariate("quarter", "categorical", "quarter the deal was created", _quarter),
        Covariate("deal_size", "numeric", "deal size at creation (log)", _deal_size, squared=True),
        Covariate(
            "account_potential",
            "numeric",
            "account's annual potential (log)",
            lambda t, c: _log_grid(t.annual_potential),
        ),
        Covariate(
            "territory_potential",
            "numeric",
            "average annual potential of the rep's book of accounts (log)",
            lambda t, c: _log_grid(t.territory_potential),
        ),
        Covariate(
            "account_size",
            "numeric",
            "account employees (log)",
            lambda t, c: _log_grid(t.employees),
        ),
    )
}


def check_covariates(names: list[str]) -> None:
    """Refuse unknown covariates and those that are outcomes, practices or unit identifiers."""
    for name in names:
        if name in FORBIDDEN or name.startswith("practice"):
            raise CaseMixError(
                f"covariate {name!r} is an outcome, a practice or identifies the rep; the case-mix "
                "model may only use resources fixed before the rep acted (method.md section 1)"
            )
        if name not in COVARIATES:
            raise CaseMixError(
                f"unknown covariate {name!r} in [analysis] covariates; known: "
                + ", ".join(COVARIATES)
            )
    if not names:
        raise CaseMixError("[analysis] covariates is empty: at least one covariate is needed")


def check_levels(covariates: list[str], levels: list[str]) -> None:
    """Refuse a covariate that identifies a level being compared (method.md section 1)."""
    if "region" in covariates and "region" in levels:
        raise CaseMixError(
            "covariate 'region' cannot be used while regions are compared ([analysis] levels): "
            "the model would force every region to its own expectation; drop one of them"
        )


def territory_book(accounts: ir.Table) -> ir.Table:
    """Territory potential: per rep (``book_rep``), the average annual potential of the accounts
    they own (their book), as ``territory_potential``."""
    a = accounts.filter(accounts.owner_rep_id.notnull() & accounts.annual_potential.notnull())
    return a.group_by(book_rep="owner_rep_id").agg(territory_potential=a.annual_potential.mean())


def case_table(
    opportunities: ir.Table,
    accounts: ir.Table,
    reps: ir.Table,
    *,
    covariates: list[str],
    amount_column: str = "initial_amount",
    local: Callable[[ir.TimestampValue], ir.TimestampValue] | None = None,
    open_deals: bool = False,
) -> ir.Table:
    """One row per closed opportunity with its outcome, owner, close date and coded covariates.

    ``local`` turns a stored (UTC) timestamp into workspace-local time (see ``timezones``); dates,
    quarters and the close month are local. ``closed_at`` stays UTC; ``closed_local`` is local.
    ``open_deals``: the open opportunities instead (y = 0, closed_at NULL), to be scored with a
    model fitted on closed ones.
    """
    local = local or (lambda ts: ts)
    check_covariates(covariates)
    o = opportunities
    if open_deals:
        closed = o.filter(o.stage == "open")
    else:
        closed = o.filter(o.stage.isin(["won", "lost"]) & o.closed_at.notnull())
    acc = accounts.select(
        "account_id",
        "segment",
        "industry",
        "region",
        "employees",
        "annual_potential",
        acct_owner="owner_rep_id",
    )
    book = territory_book(accounts)
    r = reps.select(rep_key="rep_id", team_id="team_id", hire_date="hire_date", rep_region="region")
    j = closed.left_join(acc, closed.account_id == acc.account_id).select(
        closed, *[acc[c] for c in acc.columns if c not in ("account_id",)]
    )
    j = j.left_join(r, j.owner_rep_id == r.rep_key).drop("rep_key")
    j = j.left_join(book, j.owner_rep_id == book.book_rep).drop("book_rep")
    ctx = {"amount_column": amount_column, "local": local}
    coded = {f"x_{name}": COVARIATES[name].build(j, ctx) for name in covariates}
    return j.select(
        "opportunity_id",
        "account_id",
        rep_id=j.owner_rep_id,
        team_id=j.team_id,
        region=j.rep_region,
        closed_at=j.closed_at,
        closed_local=local(j.closed_at),
        # through int32: Postgres casts a boolean to int4 only (DuckDB and Spark to any)
        y=(j.stage == "won").cast("int32").cast("int64"),
        amount=j.amount.cast("float64"),
        base_amount=j.initial_amount.cast("float64"),
        **coded,
    )


def cells(cases: ir.Table) -> ir.Table:
    """Wins and trials per covariate pattern: the grouped data the model is fitted on."""
    keys = [c for c in cases.columns if c.startswith("x_")]
    return cases.group_by(keys).agg(n=cases.count(), wins=cases.y.sum()).order_by(keys)


@dataclass(frozen=True)
class Coded:
    """A categorical column as integer codes into its distinct values (-1: missing)."""

    codes: np.ndarray
    values: np.ndarray  # object array: values[codes] is the column


def code(x: pd.Series | np.ndarray, *, sort: bool = False) -> Coded:
    """``x`` as ``Coded``; with ``sort`` the codes follow the sorted order of the values."""
    codes, uniques = pd.factorize(x, sort=sort)
    return Coded(np.asarray(codes, dtype=np.intp), np.asarray(uniques, dtype=object))


@dataclass
class CaseMixModel:
    covariates: list[str]
    #: categorical covariate -> kept levels (others are pooled into OTHER); first = reference
    levels: dict[str, list[str]] = field(default_factory=dict)
    #: numeric covariate -> mean used for centring and imputing
    centres: dict[str, float] = field(default_factory=dict)
    #: numeric covariate -> whether a missing indicator is in the model
    has_missing: dict[str, bool] = field(default_factory=dict)
    params: dict[str, float] = field(default_factory=dict)
    n_cases: int = 0
    n_wins: int = 0
    n_cells: int = 0
    regularised: bool = False
    pooled: dict[str, list[str]] = field(default_factory=dict)

    def design(self, cell_frame: pd.DataFrame) -> pd.DataFrame:
        columns: dict[str, Coded | np.ndarray] = {}
        for name in self.covariates:
            x = cell_frame[f"x_{name}"]
            columns[name] = code(x) if COVARIATES[name].kind == "categorical" else x.to_numpy(float)
        return pd.DataFrame(self.design_columns(columns, len(cell_frame)), index=cell_frame.index)

    def design_columns(
        self, columns: dict[str, Coded | np.ndarray], n_rows: int
    ) -> dict[str, np.ndarray]:
        """The design's columns for rows given per covariate: a categorical one as ``Coded``, a
        numeric one as its values. Levels not kept are the pool (``OTHER``), numeric values are
        centred, with a squared term and a missing indicator where the model has them."""
        return dict(self.design_terms(columns, n_rows))

    def n_terms(self) -> int:
        """The number of columns ``design_columns`` gives (the constant included)."""
        n = 1
        for name in self.covariates:
            if COVARIATES[name].kind == "categorical":
                n += len(self.levels[name]) - 1
            else:
                n += 1 + COVARIATES[name].squared + bool(self.has_missing[name])
        return n

    def design_terms(
        self, columns: dict[str, Coded | np.ndarray], n_rows: int
    ) -> Iterator[tuple[str, np.ndarray]]:
        """``design_columns`` one (name, column) at a time, each made when asked for: a
        caller copying them into a matrix holds one column more than the matrix, not two
        matrices."""
        yield "const", np.ones(n_rows)
        for name in self.covariates:
            cov = COVARIATES[name]
            if cov.kind == "categorical":
                coded = columns[name]
                assert isinstance(coded, Coded)
                lv = self.levels[name]
                # each distinct value mapped once; a missing value (code -1) reads the last entry
                mapped = np.where(pd.Index(coded.values).isin(lv), coded.values, OTHER)
                for level in lv[1:]:
                    hit = np.append(mapped == level, OTHER == level)
                    yield f"{name}[{level}]", hit[coded.codes].astype(float)
            else:
                v = np.asarray(columns[name], dtype=float)
                miss = v == NUM_MISSING
                c = self.centres[name]
                centred = np.where(miss, 0.0, v - c)
                yield name, centred
                if cov.squared:
                    yield f"{name}^2", centred**2
                if self.has_missing[name]:
                    yield f"{name}[missing]", miss.astype(float)

    def _coef(self, term: str) -> ir.FloatingValue:
        """A coefficient as a typed float literal (engines must not read it as a decimal)."""
        return ibis.literal(float(self.params.get(term, 0.0)), type="float64")

    def linear_predictor(self, cases: ir.Table) -> ir.FloatingValue:
        """The fitted linear predictor as an Ibis expression over ``case_table`` rows."""
        eta: ir.FloatingValue = self._coef("const")
        for name in self.covariates:
            x = cases[f"x_{name}"]
            cov = COVARIATES[name]
            if cov.kind == "categorical":
                lv = self.levels[name]
                other = self._coef(f"{name}[{OTHER}]")
                branches = [(x == level, self._coef(f"{name}[{level}]")) for level in lv]
                eta = eta + ibis.cases(*branches, else_=other)
            else:
                c = ibis.literal(self.centres[name], type="float64")
                miss = x == NUM_MISSING
                zero = ibis.literal(0.0, type="float64")
                centred = ibis.cases((miss, zero), else_=x.cast("float64") - c)
                eta = eta + self._coef(name) * centred
                if cov.squared:
                    eta = eta + self._coef(f"{name}^2") * centred * centred
                if self.has_missing[name]:
                    eta = eta + ibis.cases((miss, self._coef(f"{name}[missing]")), else_=zero)
        return eta

    def score(self, cases: ir.Table) -> ir.Table:
        """``cases`` with ``p_hat``, each case's expected win probability."""
        eta = self.linear_predictor(cases)
        one = ibis.literal(1.0, type="float64")
        return cases.mutate(p_hat=one / (one + (-eta).exp()))

    def coefficient_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"term": list(self.params), "coefficient": list(self.params.values())})


def prepare(
    cell_frame: pd.DataFrame,
    covariates: list[str],
    *,
    pool_min_cases: int = 30,
    ordered: bool = False,
) -> CaseMixModel:
    """The model's coding before any fit: kept and pooled levels of each categorical covariate
    (levels with fewer than ``pool_min_cases`` closed deals are pooled), the centre and missing
    indicator of each numeric one. Other models that adjust for the case mix (practice effects)
    code their rows with it, so they pool and centre exactly as this model does.
    ``ordered``: the cells are already sorted by their covariate values (with a default
    index), as ``sort_values`` of the covariate columns would leave them."""
    check_covariates(covariates)
    frame = cell_frame if ordered else _sorted_cells(cell_frame, covariates)
    return _coding(frame, covariates, pool_min_cases)


def _sorted_cells(cell_frame: pd.DataFrame, covariates: list[str]) -> pd.DataFrame:
    """The cells in the order of their covariate values (centres are sums over cells in it)."""
    frame = cell_frame.sort_values([f"x_{c}" for c in covariates], kind="mergesort")
    return frame.reset_index(drop=True)


def _coding(frame: pd.DataFrame, covariates: list[str], pool_min_cases: int) -> CaseMixModel:
    """``prepare`` of cells already in ``_sorted_cells`` order."""
    n = frame["n"].to_numpy(float)
    model = CaseMixModel(covariates=list(covariates), n_cases=int(n.sum()))
    model.n_cells = len(frame)
    for name in covariates:
        x = frame[f"x_{name}"]
        if COVARIATES[name].kind == "categorical":
            counts = (
                frame.groupby(x, sort=True, observed=True)["n"]
                .sum()
                .sort_values(ascending=False, kind="mergesort")
            )
            kept = [lv for lv, k in counts.items() if k >= pool_min_cases]
            pooled = [lv for lv, k in counts.items() if k < pool_min_cases]
            # rare levels are pooled; the pool gets its own term when it is big enough together,
            # else it shares the reference level's estimate
            levels = kept if kept else [OTHER]
            if pooled and kept and float(counts[pooled].sum()) >= pool_min_cases:
                levels = levels + [OTHER]
            model.levels[name] = levels
            model.pooled[name] = [str(p) for p in pooled]
        else:
            v = x.to_numpy(float)
            miss = v == NUM_MISSING
            model.has_missing[name] = bool(miss.any()) and bool((n[miss]).sum() >= pool_min_cases)
            ok = ~miss
            model.centres[name] = float(np.average(v[ok], weights=n[ok])) if ok.any() else 0.0
    return model


def fit(
    cell_frame: pd.DataFrame, covariates: list[str], *, pool_min_cases: int = 30
) -> CaseMixModel:
    """Fit the grouped binomial logistic model on the ``cells`` aggregate: statsmodels' IRLS
    (``_irls``, the same steps solved on the K x K normal equations), or statsmodels itself
    when the design is rank deficient or the fit does not converge, and a lightly penalised
    fit when it is unstable (separation)."""
    check_covariates(covariates)
    frame = _sorted_cells(cell_frame, covariates)
    model = _coding(frame, covariates, pool_min_cases)
    n = frame["n"].to_numpy(float)
    wins = frame["wins"].to_numpy(float)
    total, total_wins = float(n.sum()), float(wins.sum())
    if total == 0:
        raise CaseMixError("no closed opportunities (won or lost with closed_at) to fit the model")
    if total_wins == 0 or total_wins == total:
        raise CaseMixError(
            "every closed opportunity has the same outcome: expected win rates cannot be estimated"
        )
    model.n_wins = int(total_wins)
    X = model.design(frame)
    # drop constant columns (a covariate with one level, a numeric without spread)
    keep = [c for c in X.columns if c == "const" or np.ptp(X[c].to_numpy()) > 0]
    X = X[keep]
    # one BLAS thread: see ``brightspots.blas`` (imported here: practices import casemix)
    from brightspots.blas import one_blas_thread

    with one_blas_thread():
        params = _irls(X.to_numpy(float), wins, n)
    if params is not None and np.all(np.isfinite(params)) and np.abs(params).max() <= 15:
        model.params = {k: float(v) for k, v in zip(X.columns, params, strict=True)}
        return model
    endog = np.column_stack([wins, n - wins])
    glm = sm.GLM(endog, X, family=sm.families.Binomial())
    fitted: pd.Series
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = glm.fit()
            fitted = res.params
            if not np.all(np.isfinite(fitted)) or np.abs(fitted).max() > 15:
                raise ValueError("unstable fit")
        except Exception:
            # separation or an unstable fit: a lightly penalised fit (ridge) stays finite
            res = glm.fit_regularized(alpha=1e-4, L1_wt=0.0)
            fitted = pd.Series(res.params, index=X.columns)
            model.regularised = True
    model.params = {k: float(v) for k, v in fitted.items()}
    return model


#: the IRLS stops when the deviance changes by at most this (statsmodels' default ``tol``)
IRLS_TOL = 1e-8
IRLS_MAX_ITER = 100
#: beyond this condition number of the (unit-scaled) X'WX the design is taken as rank
#: deficient and left to statsmodels, whose pseudo-inverse picks the minimum-norm solution
MAX_CONDITION = 1e8
_EPS = float(np.finfo(float).eps)


def _irls(X: np.ndarray, wins: np.ndarray, n: np.ndarray) -> np.ndarray | None:
    """statsmodels' ``GLM(Binomial).fit()`` of grouped data, step for step: its start
    (mu = (y + 1/2) / 2), its clipping, its weighted least-squares updates and its stopping rule
    (deviance change <= 1e-8), with each update solved from the K x K normal equations instead of
    a least-squares decomposition of the whole weighted design (which made the fit take seconds
    at half a million cells). After the first update the system is solved for the change in the
    coefficients, so the rounding of the solve only touches that change.

    None when statsmodels should fit instead: the design is (nearly) rank deficient, or the
    iterations do not converge (its behaviour there is kept as it is)."""
    y = wins * 1.0 / n
    mu = (y + 0.5) / 2
    eta = _logit(mu)
    dev = _deviance(y, mu, n)
    beta: np.ndarray | None = None
    work = np.empty_like(X, order="F")
    for _ in range(IRLS_MAX_ITER):
        p = np.clip(mu, _EPS, 1.0 - _EPS)
        deriv = 1.0 / (p * (1 - p))  # the logit link's derivative
        weights = n * (1.0 / (deriv**2 * (p * (1 - p))))
        np.multiply(X, np.sqrt(weights)[:, None], out=work)
        H = work.T @ work
        if beta is None:  # from the starting mu, which no coefficients give
            scale = np.sqrt(np.diag(H))
            if not np.all(scale > 0) or np.linalg.cond(H / np.outer(scale, scale)) > MAX_CONDITION:
                return None
            rhs = X.T @ (weights * (eta + deriv * (y - mu)))
            beta = _solve(H, rhs)
        else:
            beta = beta + _solve(H, X.T @ (weights * (deriv * (y - mu))))
        if beta is None or not np.all(np.isfinite(beta)):
            return None
        eta = X @ beta
        mu = 1.0 / (1.0 + np.exp(-eta))
        new_dev = _deviance(y, mu, n)
        converged = abs(dev - new_dev) <= IRLS_TOL
        dev = new_dev
        if converged:
            return beta
    return None


def _logit(mu: np.ndarray) -> np.ndarray:
    p = np.clip(mu, _EPS, 1.0 - _EPS)
    return np.log(p / (1.0 - p))


def _deviance(y: np.ndarray, mu: np.ndarray, n: np.ndarray) -> float:
    """statsmodels' binomial deviance of grouped data (its clipping included)."""
    y_mu = np.clip(y / (mu + 1e-20), _EPS, np.inf)
    not_y_mu = np.clip((1.0 - y) / (1.0 - mu + 1e-20), _EPS, np.inf)
    return float(np.sum(2 * n * (y * np.log(y_mu) + (1 - y) * np.log(not_y_mu))))


def _solve(H: np.ndarray, rhs: np.ndarray) -> np.ndarray | None:
    try:
        return np.linalg.solve(H, rhs)
    except np.linalg.LinAlgError:
        return None


def auc_and_calibration(hist: pd.DataFrame) -> tuple[float, pd.DataFrame]:
    """AUC and calibration by decile from a histogram of p_hat (columns p, n, wins).

    AUC is the Mann-Whitney probability that a random win has a higher p_hat than a random loss,
    ties counted half (within a histogram bin). Deciles cut the cases ordered by p_hat into ten
    groups of (about) equal size; a bin is not split, so decile sizes differ by at most one bin.
    """
    h = hist.sort_values("p").reset_index(drop=True)
    wins = h["wins"].to_numpy(float)
    losses = h["n"].to_numpy(float) - wins
    total_w, total_l = wins.sum(), losses.sum()
    if total_w == 0 or total_l == 0:
        auc = float("nan")
    else:
        below_l = np.cumsum(losses) - losses
        auc = float((wins * (below_l + 0.5 * losses)).sum() / (total_w * total_l))
    n = h["n"].to_numpy(float)
    cum = np.cumsum(n) - n / 2
    decile = np.minimum((cum / n.sum() * 10).astype(int) + 1, 10)
    h = h.assign(decile=decile, pn=h["p"] * h["n"])
    cal = (
        h.groupby("decile")
        .agg(n=("n", "sum"), pn=("pn", "sum"), wins=("wins", "sum"))
        .reset_index()
    )
    cal["mean_expected"] = cal["pn"] / cal["n"]
    cal["observed_rate"] = cal["wins"] / cal["n"]
    cal["n"] = cal["n"].astype("int64")
    return auc, cal[["decile", "n", "mean_expected", "observed_rate"]]
