"""The buyer-impact outcome: touches that reach buyers, against what the accounts predict.

A rep's buyer-impact rate is the share of their touches with buyer impact (``metrics``: a buyer
event credited to the touch). Like win rate it is compared with an expectation from resources
only, so a rep whose accounts answer more readily is not mistaken for a bright spot:

* **Cases** are *settled* touches: at least ``dark_after`` old at the data's as-of time, so their
  outcome can no longer change (a younger touch may still be credited an event). y = 1 when the
  touch has buyer impact.
* **Expected** impact per touch comes from a grouped binomial model (``casemix``) over the
  covariates of the bright-spot model that describe the account or the rep's situation, not the
  deal: segment, industry, region, account potential and size, territory potential, tenure,
  quarter. Deal covariates (lead source, product, deal size) do not exist for a touch on no deal,
  and the kind of touch (call, meeting, e-mail) is the rep's choice, so it is never adjusted for.
* **Variance**: touches on one account are not independent (a keen buyer answers many; a credit
  goes to one touch of several), so the binomial variance sum p(1-p) is multiplied by a design
  effect estimated company-wide from the spread of per-account totals around each unit's own
  rate (``design_effect``), never below 1. The third cumulant is scaled by its square, which keeps
  the skewness of a binomial with the effective number of touches.
* **Volume** is settled touches; ``[analysis] min_touches`` plays the part ``min_volume`` plays for
  closed deals.

Everything row-level is an Ibis expression; only per-cell, per-unit and one-row aggregates leave
the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from brightspots import casemix
from brightspots.metrics.ledger import Ledger, given_or_built

#: bright-spot covariates that also describe a touch (its account, its rep, its time)
TOUCH_COVARIATES = (
    "segment",
    "industry",
    "region",
    "account_potential",
    "account_size",
    "territory_potential",
    "tenure",
    "quarter",
)


def covariates_for(covariates: list[str]) -> list[str]:
    """The configured covariates that apply to touches, in their configured order."""
    return [c for c in covariates if c in TOUCH_COVARIATES]


def _f(x: float) -> ir.FloatingValue:
    return ibis.literal(float(x), type="float64")


def touch_cases(
    activities: ir.Table,
    buyer_events: ir.Table,
    accounts: ir.Table,
    reps: ir.Table,
    *,
    covariates: list[str],
    local: Callable[[ir.TimestampValue], ir.TimestampValue],
    impact_window: timedelta,
    dark_after: timedelta,
    as_of: datetime,
    ledger: Ledger | None = None,
) -> ir.Table:
    """One row per settled touch: unit columns (rep_id, team_id, region), ``occurred_at``,
    ``occurred_local``, ``account_id``, ``y`` (1 = buyer impact) and the coded covariates.
    ``ledger``: the touches' outcomes already computed with the same durations and ``as_of``."""
    bad = [c for c in covariates if c not in TOUCH_COVARIATES]
    if bad:
        raise casemix.CaseMixError(
            f"covariate(s) {', '.join(map(repr, bad))} do not describe a touch; "
            f"use any of {', '.join(TOUCH_COVARIATES)}"
        )
    ledger = given_or_built(
        ledger, activities, buyer_events, impact_window=impact_window, dark_after=dark_after,
        as_of=as_of,
    )  # fmt: skip
    out = ledger.outcomes
    cutoff = ibis.literal(pd.Timestamp(as_of).to_pydatetime() - dark_after)
    settled = out.filter(out.occurred_at <= cutoff)
    acc = accounts.select(
        acc_key="account_id",
        segment="segment",
        industry="industry",
        region="region",
        employees="employees",
        annual_potential="annual_potential",
    )
    r = reps.select(rep_key="rep_id", team_id="team_id", hire_date="hire_date", rep_region="region")
    book = casemix.territory_book(accounts)
    j = settled.left_join(acc, settled.account_id == acc.acc_key).drop("acc_key")
    j = j.left_join(r, j.rep_id == r.rep_key).drop("rep_key")
    j = j.left_join(book, j.rep_id == book.book_rep).drop("book_rep")
    j = j.mutate(created_at=j.occurred_at)  # the covariates' "when": the touch itself
    ctx = {"amount_column": "amount", "local": local}
    coded = {f"x_{name}": casemix.COVARIATES[name].build(j, ctx) for name in covariates}
    return j.select(
        "account_id",
        rep_id=j.rep_id,
        team_id=j.team_id,
        region=j.rep_region,
        occurred_at=j.occurred_at,
        occurred_local=local(j.occurred_at),
        y=(j.outcome == "impact").cast("int32").cast("int64"),  # Postgres: bool -> int4 only
        **coded,
    )


def since(cases: ir.Table, start: pd.Timestamp | None) -> ir.Table:
    """Touches after ``start`` (all of them when None)."""
    if start is None:
        return cases
    return cases.filter(cases.occurred_at > ibis.literal(pd.Timestamp(start).to_pydatetime()))


def account_sums(scored: ir.Table) -> ir.Table:
    """The one aggregate every level is assessed from: per rep, account and half of the sample
    (odd or even local month), the touches ``n``, touches with impact ``o``, and the sums of p,
    p(1-p) and p(1-p)(1-2p) (``e``, ``v``, ``t``), with the rep's ``team_id`` and ``region``."""
    p, y = scored.p_hat, scored.y
    one, two = _f(1.0), _f(2.0)
    odd = (scored.occurred_local.month() % 2) == 1
    return scored.group_by(
        rep_id=scored.rep_id,
        team_id=scored.team_id,
        region=scored.region,
        account_id=scored.account_id,
        odd=odd,
    ).agg(
        n=scored.count(),
        o=y.sum().cast("float64"),
        e=p.sum(),
        v=(p * (one - p)).sum(),
        t=(p * (one - p) * (one - two * p)).sum(),
    )


def cluster_spread(sums: pd.DataFrame, unit: str) -> tuple[float, float]:
    """The two sums ``design_effect`` divides, from ``account_sums`` rows: (spread, binomial).

    Per unit i and account c: O_c, E_c, V_c. The unit's own rate r_i = O_i / E_i takes out its
    real difference from expectation, so what remains is how much the accounts' totals scatter
    around it: spread = sum (O_c - r_i E_c)^2. Under a binomial model with a design effect D its
    expectation is D sum_i V_i (1 - sum_c (E_c / E_i)^2) (the last factor: one rate per unit is
    estimated from the same totals, exact when p is constant within the unit); that sum is
    ``binomial``.
    """
    s = sums[sums[unit].notna()]
    cl = s.groupby([unit, "account_id"], dropna=False, sort=False)[["o", "e", "v"]].sum()
    per = cl.groupby(level=0, sort=False).sum()
    per = per[per["e"] > 0]
    cl = cl[cl.index.get_level_values(0).isin(per.index)]
    units = cl.index.get_level_values(0)
    rate = (per["o"] / per["e"]).reindex(units).to_numpy()
    e_i = per["e"].reindex(units).to_numpy()
    resid = cl["o"].to_numpy() - rate * cl["e"].to_numpy()
    share2 = pd.Series((cl["e"].to_numpy() / e_i) ** 2, index=units).groupby(level=0).sum()
    binomial = float((per["v"] * (1.0 - share2.reindex(per.index))).sum())
    return float((resid**2).sum()), binomial


def design_effect(spread: float, binomial: float) -> float:
    """How many times the binomial variance the clustered touches really vary: spread /
    binomial, never below 1 (credit going to one touch of several makes it slightly below 1
    at times; that would only make limits narrower than honest). 1 when nothing can be told."""
    if not (np.isfinite(spread) and np.isfinite(binomial)) or binomial <= 0:
        return 1.0
    return max(1.0, float(spread) / float(binomial))


def impact_units(sums: pd.DataFrame, unit: str, *, deff: float) -> pd.DataFrame:
    """Per unit, the columns ``deviance.assess_outcome`` takes, from ``account_sums`` rows:
    n = settled touches, O = touches with impact, E = sum p, V = D sum p(1-p), third =
    D^2 sum p(1-p)(1-2p); halves by odd and even local months of the touch."""
    s = sums[sums[unit].notna()]
    odd = s["odd"].astype(bool)
    g = s.assign(
        o_odd=s["o"].where(odd, 0.0),
        e_odd=s["e"].where(odd, 0.0),
        o_even=s["o"].where(~odd, 0.0),
        e_even=s["e"].where(~odd, 0.0),
    ).groupby(unit, sort=True)
    out = g[["n", "o", "e", "v", "t", "o_odd", "e_odd", "o_even", "e_even"]].sum()
    return pd.DataFrame(
        {
            "unit_id": out.index.to_numpy(),
            "n": out["n"].to_numpy(dtype="int64"),
            "observed": out["o"].to_numpy(float),
            "expected": out["e"].to_numpy(float),
            "variance": deff * out["v"].to_numpy(float),
            "third": deff * deff * out["t"].to_numpy(float),
            "observed_odd": out["o_odd"].to_numpy(float),
            "expected_odd": out["e_odd"].to_numpy(float),
            "observed_even": out["o_even"].to_numpy(float),
            "expected_even": out["e_even"].to_numpy(float),
        }
    )
