"""Plans against what happened: for every stored plan (``make.PLANS``) and each of its months
that has begun by the end of the data, the touches and hours each rep planned on each account
beside those they made (their own touches on that account in that local month, hours as in
``inputs``), the touches that met a buyer response (the ledger's ``impact``) and the deals won
on the account that month. An Ibis expression: it runs where the analysis runs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import ibis
import ibis.expr.types as ir

from brightspots.plan.inputs import minutes_of

COLUMNS = (
    "plan_id",
    "created_at",
    "rep_id",
    "account_id",
    "month",
    "month_complete",
    "planned_touches",
    "planned_hours",
    "actual_touches",
    "actual_hours",
    "touches_with_impact",
    "won_deals",
    "won_revenue",
)


def adherence(
    plans: ir.Table,
    activities: ir.Table,
    outcomes: ir.Table,
    opportunities: ir.Table,
    *,
    local: Callable[[ir.TimestampValue], ir.TimestampValue],
    minutes: dict[str, float],
    as_of: datetime,
) -> ir.Table:
    """One row per plan, rep, account and month begun by ``as_of`` (``COLUMNS``)."""
    last_month = local(ibis.literal(as_of, type="timestamp")).strftime("%Y-%m")
    months = plans.select("month").distinct()
    first = plans.month.min()
    a = activities.filter(~activities.is_bulk.fill_null(False))
    a = a.mutate(month=local(a.occurred_at).strftime("%Y-%m"))
    a = a.filter(a.month >= first.as_scalar())
    a = a.semi_join(months, a.month == months.month)
    o = outcomes.select(o_id="activity_id", outcome="outcome")
    a = a.left_join(o, a.activity_id == o.o_id)
    mins = a.duration_minutes.cast("float64").fill_null(minutes_of(a.type, minutes))
    made = a.group_by(m_rep="rep_id", m_account="account_id", m_month="month").agg(
        actual_touches=a.count(),
        actual_hours=(mins / 60.0).sum(),
        touches_with_impact=(a.outcome == "impact").cast("int32").cast("int64").sum(),
    )
    op = opportunities.filter((opportunities.stage == "won") & opportunities.closed_at.notnull())
    op = op.mutate(month=local(op.closed_at).strftime("%Y-%m"))
    won = op.group_by(w_account="account_id", w_month="month").agg(
        won_deals=op.count(), won_revenue=op.amount.cast("float64").fill_null(0.0).sum()
    )
    p = plans.filter(plans.month <= last_month)
    j = p.left_join(
        made,
        [p.rep_id == made.m_rep, p.account_id == made.m_account, p.month == made.m_month],
    )
    j = j.left_join(won, [j.account_id == won.w_account, j.month == won.w_month])
    zero = ibis.literal(0, type="int64")
    return j.select(
        "plan_id",
        "created_at",
        "rep_id",
        "account_id",
        "month",
        month_complete=j.month < last_month,
        planned_touches=j.touches,
        planned_hours=j.hours,
        actual_touches=j.actual_touches.fill_null(zero),
        actual_hours=j.actual_hours.fill_null(0.0),
        touches_with_impact=j.touches_with_impact.fill_null(zero),
        won_deals=j.won_deals.fill_null(zero),
        won_revenue=j.won_revenue.fill_null(0.0),
    ).order_by(["plan_id", "rep_id", "month", "account_id"])
