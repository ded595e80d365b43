"""Per-unit observed and expected results, for each outcome, as Ibis expressions.

Input is the scored case table (one row per closed opportunity with ``p_hat``, see ``casemix``)
with the unit columns (``rep_id``, ``team_id``, ``region``), ``y``, ``amount`` (booked),
``base_amount`` (amount at creation, or null) and ``closed_local``. Output tables have one row per
unit and the columns ``deviance.assess_outcome`` takes. Nothing here touches an engine.

Outcomes:
- ``win_rate``: O = wins, E = sum p, V = sum p(1-p), third cumulant sum p(1-p)(1-2p).
- ``won_revenue``: O = booked amount of won deals; each deal's booked amount if won is modelled
  as a_i = r * base_amount_i with relative variance cv2 (r and cv2 estimated company-wide from won
  deals, lognormal moments m_k = a^k (1 + cv2)^(k(k-1)/2)); E = sum p a, V = sum [p m2 - p^2 a^2],
  third cumulant sum [p m3 - 3 p^2 a m2 + 2 p^3 a^3]. Deals without an amount at creation are left
  out of this outcome (on both sides).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from brightspots import deviance

LEVELS: dict[str, str] = {"rep": "rep_id", "team": "team_id", "region": "region"}
#: every outcome a unit can be assessed on (``buyer_impact``'s units come from ``impact``)
OUTCOMES: tuple[str, ...] = tuple(deviance.OUTCOMES)


def _f(x: float) -> ir.FloatingValue:
    return ibis.literal(float(x), type="float64")


def _odd(scored: ir.Table) -> ir.BooleanValue:
    return (scored.closed_local.month() % 2) == 1


def revenue_scale(scored: ir.Table) -> ir.Table:
    """One row: r (booked / created on won deals) and cv2 (relative variance of that ratio)."""
    won = scored.filter((scored.y == 1) & scored.base_amount.notnull() & (scored.base_amount > 0))
    ratio = won.amount / won.base_amount
    return won.aggregate(
        booked=won.amount.sum(),
        created=won.base_amount.sum(),
        mean_ratio=ratio.mean(),
        mean_ratio_sq=(ratio * ratio).mean(),
        n=won.count(),
    )


def win_rate_units(scored: ir.Table, unit: str) -> ir.Table:
    p, y, odd = scored.p_hat, scored.y, _odd(scored)
    one, two = _f(1.0), _f(2.0)
    return scored.group_by(unit_id=scored[unit]).agg(
        n=scored.count(),
        observed=y.sum().cast("float64"),
        expected=p.sum(),
        variance=(p * (one - p)).sum(),
        third=(p * (one - p) * (one - two * p)).sum(),
        observed_odd=y.sum(where=odd).cast("float64"),
        expected_odd=p.sum(where=odd),
        observed_even=y.sum(where=~odd).cast("float64"),
        expected_even=p.sum(where=~odd),
    )


def revenue_units(scored: ir.Table, unit: str, *, r: float, cv2: float) -> ir.Table:
    # a deal created at 0 has no expected revenue (the scale is fitted on amounts above 0)
    s = scored.filter(scored.base_amount.notnull() & (scored.base_amount > 0))
    p, odd = s.p_hat, _odd(s)
    a = s.base_amount * _f(r)
    g = _f(1.0 + cv2)
    m2 = a * a * g
    m3 = a * a * a * g * g * g
    booked = ibis.cases((s.y == 1, s.amount.fill_null(0.0)), else_=_f(0.0))
    return s.group_by(unit_id=s[unit]).agg(
        n=s.count(),
        observed=booked.sum(),
        expected=(p * a).sum(),
        variance=(p * m2 - p * p * a * a).sum(),
        third=(p * m3 - _f(3.0) * p * p * a * m2 + _f(2.0) * p * p * p * a * a * a).sum(),
        observed_odd=booked.sum(where=odd),
        expected_odd=(p * a).sum(where=odd),
        observed_even=booked.sum(where=~odd),
        expected_even=(p * a).sum(where=~odd),
    )


def probability_histogram(scored: ir.Table, unit: str, decimals: int) -> ir.Table:
    """Distinct binned p_hat per unit with counts: the exact win-count distribution's input."""
    binned = scored.mutate(pb=scored.p_hat.round(decimals))
    return binned.group_by(unit_id=binned[unit], p=binned.pb).agg(count=binned.count())


def quarter_label(ts: ir.TimestampValue) -> ir.StringValue:
    return ts.year().cast("string") + "-Q" + ts.quarter().cast("string")


def quarter_units(scored: ir.Table, unit: str) -> ir.Table:
    """Wins and expected wins per unit and local calendar quarter of the close."""
    q = scored.mutate(quarter=quarter_label(scored.closed_local))
    return q.group_by(unit_id=q[unit], quarter=q.quarter).agg(
        observed=q.y.sum().cast("float64"), expected=q.p_hat.sum(), n=q.count()
    )
