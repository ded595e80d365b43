"""Care and results: do accounts whose customers rate care higher buy again more often?

One row per account is built in the engine (``account_frame``): its *index survey* is the
earliest customer submission with care answers at least the outcome window before the end of
the data; S_a is the mean care answer (0-1) of that submission and the rep is its subject.
Outcomes, counted after the survey and within the outcome window: a won deal created after it
(``repeat_12m``), the number of them (``repeat_deals_12m``), and, per deal, wins against the
case-mix model's expectation (``account_win_rate``). Covariates are fixed before the survey:
segment, account potential, territory potential (the rep's book) and the survey's quarter.

``estimate`` fits them with standard errors clustered by rep and t quantiles on G - 1 degrees of
freedom (G reps). Only coefficients leave this module, never a score per account; every result is
an association, and the sentences say so.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from scipy import stats

from brightspots.care import responses
from brightspots.care.config import Source
from brightspots.care.words import covariate_words, results_sentence
from brightspots.casemix import territory_book
from brightspots.practices.effects.logit import (
    FitFailed,
    fit_clustered,
    independent_columns,
    linear_effect,
    marginal_effect,
)
from brightspots.windows import Window

#: the account covariates, fixed before the survey
COVARIATES = ["segment", "annual_potential", "territory_potential", "quarter"]
CATEGORICAL = ("segment", "quarter")
OTHER = "(other)"
MISSING = "(missing)"
#: the least data an estimate needs
MIN_ACCOUNTS = 100
MIN_EVENTS = 20
MIN_REPS = 10
#: S moves by this (10 points of 100) in the ratios and percentage points reported
STEP = 0.1
OUTCOMES = ("repeat_12m", "repeat_deals_12m", "account_win_rate")
#: ``care_results`` columns, in order; later work only appends
RESULT_COLUMNS = (
    "outcome",
    "model",
    "n",
    "n_events",
    "n_reps",
    "estimate",
    "se",
    "lower_95",
    "upper_95",
    "ratio_per_10",
    "ratio_lower_95",
    "ratio_upper_95",
    "pp_per_10",
    "pp_lower_95",
    "pp_upper_95",
    "p_value",
    "sentence",
    "note",
)
FRAME_COLUMNS = (
    "account_id",
    "rep_id",
    "surveyed_at",
    "s",
    "n_items",
    "y",
    "repeat_deals",
    *COVARIATES,
)
DEAL_COLUMNS = ("opportunity_id", "account_id", "rep_id", "s", "y", "p_hat")


@dataclass(frozen=True)
class CareEffect:
    """One care-and-results estimate per 0-1 unit of care (``estimate``) and per 10 points."""

    outcome: str
    model: str
    n: int
    n_events: int
    n_reps: int
    estimate: float = math.nan
    se: float = math.nan
    lower_95: float = math.nan
    upper_95: float = math.nan
    ratio_per_10: float = math.nan
    ratio_lower_95: float = math.nan
    ratio_upper_95: float = math.nan
    pp_per_10: float = math.nan
    pp_lower_95: float = math.nan
    pp_upper_95: float = math.nan
    p_value: float = math.nan
    sentence: str = ""
    note: str = ""


def _interval(window: Window) -> ir.IntervalValue:
    return ibis.interval(months=window.months) if window.months else ibis.interval(days=window.days)


def index_surveys(answers: ir.Table, *, as_of: pd.Timestamp, window: Window) -> ir.Table:
    """Per account, its index survey: the earliest customer submission with care answers at
    least ``window`` before ``as_of``; account_id, rep_id (its subject), surveyed_at, s (mean
    care answer), n_items, quarter (local)."""
    cut = window.start(pd.Timestamp(as_of))
    assert cut is not None  # the outcome window is never "all" (CareSettings)
    c = answers.filter(
        (answers.source == "customer")
        & answers.account_id.notnull()
        & (answers.submitted_at <= ibis.literal(pd.Timestamp(cut).to_pydatetime()))
    )
    subs = c.group_by("account_id", "respondent", "survey", "submitted_at").agg(
        s=responses.exact_mean(c.x),
        n_items=c.count(),
        rep_id=c.subject_rep_id.min(),
        quarter=c.period.min(),
    )
    order = ibis.row_number().over(
        group_by=subs.account_id, order_by=[subs.submitted_at, subs.respondent, subs.survey]
    )
    first = subs.mutate(_order=order)
    first = first.filter(first._order == 0)
    return first.select(
        "account_id", "rep_id", "s", "n_items", "quarter", surveyed_at=first.submitted_at
    )


def account_frame(
    src: Source, answers: ir.Table, *, as_of: pd.Timestamp, window: Window
) -> pd.DataFrame:
    """One row per account with an index survey (``FRAME_COLUMNS``): y = 1 when a deal on it
    created after the survey was won by the survey plus ``window``; repeat_deals counts them."""
    idx = index_surveys(answers, as_of=as_of, window=window)
    o = src.table("opportunities")
    won = o.filter((o.stage == "won") & o.closed_at.notnull())
    j = idx.inner_join(won, idx.account_id == won.account_id)
    j = j.filter(
        (j.created_at > j.surveyed_at) & (j.closed_at <= j.surveyed_at + _interval(window))
    )
    repeat = j.group_by(rep_acc="account_id").agg(repeat_deals=j.count())
    acc = src.table("accounts").select(
        acc_key="account_id", segment="segment", annual_potential="annual_potential"
    )
    book = territory_book(src.table("accounts"))
    t = idx.left_join(repeat, idx.account_id == repeat.rep_acc).drop("rep_acc")
    t = t.left_join(acc, t.account_id == acc.acc_key).drop("acc_key")
    t = t.left_join(book, t.rep_id == book.book_rep).drop("book_rep")
    deals = t.repeat_deals.fill_null(0).cast("int64")
    t = t.mutate(repeat_deals=deals, y=(deals > 0).cast("int32").cast("int64"))
    frame = src.execute(t.select(*FRAME_COLUMNS).order_by("account_id"))
    return frame.reset_index(drop=True)


def deal_frame(
    src: Source,
    answers: ir.Table,
    scored: ir.Table,
    *,
    as_of: pd.Timestamp,
    window: Window,
) -> pd.DataFrame:
    """The closed deals of surveyed accounts created after the index survey and closed within
    ``window`` of it, with their case-mix expectation ``p_hat`` (deals outside the model's window
    are not in ``scored`` and drop out); rep_id is the surveyed rep (``DEAL_COLUMNS``)."""
    idx = index_surveys(answers, as_of=as_of, window=window)
    o = src.table("opportunities").select(deal="opportunity_id", created_at="created_at")
    d = scored.select("opportunity_id", "y", "p_hat", "closed_at", deal_account="account_id")
    d = d.inner_join(o, d.opportunity_id == o.deal).drop("deal")
    j = d.inner_join(idx, d.deal_account == idx.account_id)
    j = j.filter(
        (j.created_at > j.surveyed_at) & (j.closed_at <= j.surveyed_at + _interval(window))
    )
    return src.execute(j.select(*DEAL_COLUMNS).order_by("opportunity_id")).reset_index(drop=True)


# ------------------------------------------------------------------------------ estimation


def design(
    frame: pd.DataFrame, covariates: list[str], *, pool_min_cases: int = 30
) -> tuple[np.ndarray, list[str]]:
    """The design [1, covariates..., s] and its column names. Categorical covariates: levels
    with fewer than ``pool_min_cases`` accounts pooled into (other), the most common level the
    reference. Numeric ones: the log of positive values, centred, missing (and non-positive)
    set to the median with an indicator."""
    n = len(frame)
    cols: dict[str, np.ndarray] = {"const": np.ones(n)}
    for name in covariates:
        if name in CATEGORICAL:
            x = frame[name].astype(object).where(frame[name].notna(), MISSING)
            x = x.map(lambda v: str(v).strip().lower() or MISSING)
            counts = x.value_counts(sort=False).sort_index()
            counts = counts.sort_values(ascending=False, kind="mergesort")
            kept = [lv for lv, c in counts.items() if c >= pool_min_cases]
            x = x.where(x.isin(kept), OTHER)
            levels = x.value_counts(sort=False).sort_index()
            levels = levels.sort_values(ascending=False, kind="mergesort")
            for lv in list(levels.index)[1:]:
                cols[f"{name}[{lv}]"] = (x == lv).to_numpy(float)
        else:
            v = pd.to_numeric(frame[name], errors="coerce").to_numpy(float)
            ok = np.isfinite(v) & (v > 0)
            logs = np.log(np.where(ok, v, 1.0))
            centre = float(np.median(logs[ok])) if ok.any() else 0.0
            cols[name] = np.where(ok, logs - centre, 0.0)
            if (~ok).any() and ok.any():
                cols[f"{name}[missing]"] = (~ok).astype(float)
    cols["s"] = frame["s"].to_numpy(float)
    return np.column_stack(list(cols.values())), list(cols)


def _t(n_reps: int) -> float:
    return float(stats.t.ppf(0.975, n_reps - 1))


def _too_little(
    outcome: str, model: str, n: int, events: int, n_reps: int, unit: str, event_words: str
) -> CareEffect | None:
    """The effect with a note when the data are below the minimums, else None."""
    short = []
    if n < MIN_ACCOUNTS:
        short.append(f"{MIN_ACCOUNTS} {unit} (found {n:,})")
    if events < MIN_EVENTS or n - events < MIN_EVENTS:
        short.append(
            f"{MIN_EVENTS} {unit} with and {MIN_EVENTS} without {event_words} (found "
            f"{events:,} and {n - events:,})"
        )
    if n_reps < MIN_REPS:
        short.append(f"{MIN_REPS} reps (found {n_reps:,})")
    if not short:
        return None
    note = f"Care and {_TOPIC[outcome]} was not estimated: it needs " + ", ".join(short) + "."
    return CareEffect(outcome, model, n, events, n_reps, note=note)


_TOPIC = {
    "repeat_12m": "repeat business",
    "repeat_deals_12m": "repeat deals",
    "account_win_rate": "the win rate of later deals",
}


def _failed(outcome: str, model: str, n: int, events: int, n_reps: int, why: str) -> CareEffect:
    return CareEffect(
        outcome,
        model,
        n,
        events,
        n_reps,
        note=f"Care and {_TOPIC[outcome]} was not estimated: {why}.",
    )


def _codes(groups: pd.Series) -> np.ndarray:
    return pd.factorize(groups.astype(str), sort=True)[0].astype(np.int64)


def _effect(
    outcome: str,
    model: str,
    n: int,
    events: int,
    n_reps: int,
    beta: float,
    se: float,
    pp: tuple[float, float] | None,
) -> CareEffect:
    t = _t(n_reps)
    lower, upper = beta - t * se, beta + t * se
    pp_est, pp_lo, pp_hi = math.nan, math.nan, math.nan
    if pp is not None and math.isfinite(pp[1]):
        pp_est, pp_lo, pp_hi = pp[0], pp[0] - t * pp[1], pp[0] + t * pp[1]
    return CareEffect(
        outcome,
        model,
        n,
        events,
        n_reps,
        estimate=beta,
        se=se,
        lower_95=lower,
        upper_95=upper,
        ratio_per_10=math.exp(STEP * beta),
        ratio_lower_95=math.exp(STEP * lower),
        ratio_upper_95=math.exp(STEP * upper),
        pp_per_10=pp_est,
        pp_lower_95=pp_lo,
        pp_upper_95=pp_hi,
        p_value=float(2 * stats.t.sf(abs(beta / se), n_reps - 1)) if se > 0 else math.nan,
    )


#: what a failed fit raises (with warnings turned into errors)
_FIT_ERRORS: tuple[type[BaseException], ...] = (FitFailed, Warning, np.linalg.LinAlgError)
#: a fitted estimate, its standard error, its percentage points (or None) and the reps counted
_Fit = tuple[float, float, tuple[float, float] | None, int]


def _moved(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """X with s (its last column) moved up and down by STEP / 2: the two designs whose average
    change in the predicted chance is the percentage points per ``STEP``."""
    up, down = X.copy(), X.copy()
    up[:, -1] += STEP / 2
    down[:, -1] -= STEP / 2
    return up, down


def _fitted(
    outcome: str,
    model: str,
    n: int,
    events: int,
    n_reps: int,
    fit: Callable[[], _Fit],
    errors: tuple[type[BaseException], ...] = _FIT_ERRORS,
) -> CareEffect:
    """The effect of ``fit()``, run with warnings as errors; a note instead when it raises one of
    ``errors`` or gives no finite standard error."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            beta, se, pp, n_clusters = fit()
    except errors as err:
        return _failed(outcome, model, n, events, n_reps, str(err))
    if not (math.isfinite(se) and se > 0):
        return _failed(outcome, model, n, events, n_reps, "the standard error is not finite")
    return _effect(outcome, model, n, events, n_clusters, beta, se, pp)


def _account_effect(
    frame: pd.DataFrame,
    covariates: list[str],
    pool_min_cases: int,
    outcome: str,
    model: str,
    events: int,
    fit: Callable[[np.ndarray], _Fit],
    errors: tuple[type[BaseException], ...] = _FIT_ERRORS,
) -> CareEffect:
    """An account-level estimate: the minimums, then ``fit`` on the design (``design``) without
    the columns the others determine (s is always kept)."""
    n, n_reps = len(frame), int(frame["rep_id"].nunique())
    short = _too_little(outcome, model, n, events, n_reps, "accounts", "a repeat win")
    if short is not None:
        return short
    X, _ = design(frame, covariates, pool_min_cases=pool_min_cases)
    return _fitted(
        outcome,
        model,
        n,
        events,
        n_reps,
        lambda: fit(X[:, independent_columns(X, [X.shape[1] - 1])]),
        errors,
    )


def _repeat(frame: pd.DataFrame, covariates: list[str], pool_min_cases: int) -> CareEffect:
    y = frame["y"].to_numpy(float)

    def logit(X: np.ndarray) -> _Fit:
        fit = fit_clustered(y, X, _codes(frame["rep_id"]))
        c = np.zeros(X.shape[1])
        c[-1] = 1.0
        beta, se = linear_effect(fit, c)
        return beta, se, marginal_effect(fit, *_moved(X)), fit.n_clusters

    outcome, model = "repeat_12m", "logit, clustered by rep"
    return _account_effect(frame, covariates, pool_min_cases, outcome, model, int(y.sum()), logit)


def _repeat_deals(frame: pd.DataFrame, covariates: list[str], pool_min_cases: int) -> CareEffect:
    import statsmodels.api as sm

    count = frame["repeat_deals"].to_numpy(float)

    def poisson(X: np.ndarray) -> _Fit:
        groups = _codes(frame["rep_id"])
        res = sm.GLM(count, X, family=sm.families.Poisson()).fit(
            cov_type="cluster", cov_kwds={"groups": groups}
        )
        return float(res.params[-1]), float(res.bse[-1]), None, int(np.unique(groups).size)

    outcome, model = "repeat_deals_12m", "Poisson, clustered by rep"
    events, errors = int((count > 0).sum()), (*_FIT_ERRORS, ValueError)
    return _account_effect(
        frame, covariates, pool_min_cases, outcome, model, events, poisson, errors
    )


def _win_rate(deals: pd.DataFrame) -> CareEffect:
    outcome, model = "account_win_rate", "logit with the case-mix expectation as offset"
    y = deals["y"].to_numpy(float)
    n, events, n_reps = len(deals), int(y.sum()), int(deals["rep_id"].nunique())
    short = _too_little(outcome, model, n, events, n_reps, "deals", "a win")
    if short is not None:
        return short
    p = np.clip(deals["p_hat"].to_numpy(float), 1e-6, 1 - 1e-6)
    offset = np.log(p / (1 - p))
    X = np.column_stack([np.ones(n), deals["s"].to_numpy(float)])

    def logit() -> _Fit:
        fit = fit_clustered(y, X, _codes(deals["rep_id"]), offset=offset)
        beta, se = linear_effect(fit, np.array([0.0, 1.0]))
        return beta, se, marginal_effect(fit, *_moved(X), offset=offset), fit.n_clusters

    return _fitted(outcome, model, n, events, n_reps, logit)


def estimate(
    frame: pd.DataFrame,
    *,
    covariates: list[str],
    deals: pd.DataFrame | None = None,
    pool_min_cases: int = 30,
    within: str = "within 12 months",
) -> list[CareEffect]:
    """The three estimates with their sentences: repeat business (the primary one), repeat
    deals and, when ``deals`` are given, the win rate of later deals against the case-mix
    model. Each is per 0-1 unit of care; the ratios and percentage points are per 10 points."""
    words = covariate_words(covariates)
    effects = [
        _repeat(frame, covariates, pool_min_cases),
        _repeat_deals(frame, covariates, pool_min_cases),
    ]
    if deals is not None:
        effects.append(_win_rate(deals))
    out = []
    for e in effects:
        sentence = results_sentence(e, words, within=within)
        out.append(CareEffect(**{**asdict(e), "sentence": sentence}))
    return out


def results_table(effects: list[CareEffect]) -> pd.DataFrame:
    """``care_results``: one row per estimate (coefficients only)."""
    if not effects:
        return pd.DataFrame(
            {c: pd.Series([], dtype=_DTYPES.get(c, "float64")) for c in RESULT_COLUMNS}
        )
    frame = pd.DataFrame([asdict(e) for e in effects])
    return frame[list(RESULT_COLUMNS)].astype({c: t for c, t in _DTYPES.items()})


_DTYPES = {
    # text as pandas strings: stored as VARCHAR even in an empty table
    "outcome": "string",
    "model": "string",
    "sentence": "string",
    "note": "string",
    "n": "int64",
    "n_events": "int64",
    "n_reps": "int64",
}
