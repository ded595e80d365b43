"""What the key-account plan reads, one row per account, as Ibis expressions (any engine; only
these per-account rows come back).

Windows end at the data's as-of time ``as_of``:

* effort: the last ``effort_days`` (``[plan] effort_window``, default 6 months): touches (bulk
  e-mails never count, as everywhere), hours (``duration_minutes`` where recorded, else
  ``[plan.minutes]`` for the touch's type), touches with buyer impact and settled touches (the
  ledger's outcomes: impact, followed or dark; pending ones are not settled yet), all reps'
  and the owner's own;
* history, for the learned fit: the last ``history_days`` (``[plan] history``, default 36
  months): won revenue, closed and won deals, expansion deals won, touches, and the exposure in
  years (from the account's start, its created_at, else its first deal or touch, to ``as_of``);
* value: revenue won in the last 365 days, expansion revenue won in the last 730 days, and the
  open pipeline (each open deal's amount times its win probability ``p_hat``, from the run's
  case-mix model) — see ``value``; and the deals open at some time in the effort window (the
  deal work its touches did, for the touches expected of an account like it).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir

from brightspots.schema import ACTIVITY_TYPES

#: minutes a touch takes when the activity does not say (``[plan.minutes]`` overrides)
DEFAULT_MINUTES = {
    "call": 10.0,
    "email": 5.0,
    "meeting": 45.0,
    "demo": 60.0,
    "proposal": 60.0,
    "other": 10.0,
}

#: the account's own columns ``account_inputs`` carries through
ACCOUNT_COLUMNS = (
    "account_id",
    "name",
    "owner_rep_id",
    "segment",
    "industry",
    "region",
    "employees",
    "annual_potential",
)
#: the per-account columns ``account_inputs`` gives, besides ``ACCOUNT_COLUMNS``
COLUMNS = (
    "touches",
    "hours",
    "touches_with_impact",
    "touches_settled",
    "own_touches",
    "own_hours",
    "won_revenue",
    "n_closed",
    "n_won",
    "expansion_won",
    "history_touches",
    "exposure_years",
    "won_12m",
    "expansion_24m",
    "pipeline",
    "open_deals",
    "window_deals",
    "first_source",
)

_YEAR = 365.25 * 86400.0


def minutes_of(type_col: ir.StringValue, minutes: dict[str, float]) -> ir.FloatingValue:
    """The configured minutes of a touch of each activity type."""
    table = {**DEFAULT_MINUTES, **minutes}
    return ibis.cases(
        *[(type_col == t, ibis.literal(float(table[t]), type="float64")) for t in ACTIVITY_TYPES],
        else_=ibis.literal(float(table["other"]), type="float64"),
    )


def _f(x) -> ir.FloatingValue:
    return x.cast("float64")


def account_inputs(
    accounts: ir.Table,
    opportunities: ir.Table,
    activities: ir.Table,
    outcomes: ir.Table,
    open_scored: ir.Table,
    *,
    as_of: datetime,
    effort_days: int,
    history_days: int,
    minutes: dict[str, float],
) -> ir.Table:
    """One row per account: ``accounts``' ``ACCOUNT_COLUMNS`` and ``COLUMNS``. ``outcomes``: the
    ledger's touch outcomes (activity_id, outcome); ``open_scored``: open deals with
    ``opportunity_id`` and ``p_hat``."""
    at = ibis.literal(as_of, type="timestamp")
    effort_from = ibis.literal(as_of - timedelta(days=effort_days), type="timestamp")
    history_from = ibis.literal(as_of - timedelta(days=history_days), type="timestamp")
    year_ago = ibis.literal(as_of - timedelta(days=365), type="timestamp")
    two_years = ibis.literal(as_of - timedelta(days=730), type="timestamp")
    zero = ibis.literal(0.0, type="float64")

    a = activities.filter(~activities.is_bulk.fill_null(False) & (activities.occurred_at <= at))
    acc = accounts.select(acc_id="account_id", acc_owner="owner_rep_id")
    recent = a.filter(a.occurred_at >= effort_from)
    o = outcomes.select(o_id="activity_id", outcome="outcome")
    recent = recent.left_join(o, recent.activity_id == o.o_id)
    recent = recent.left_join(acc, recent.account_id == acc.acc_id)
    mins = ibis.coalesce(_f(recent.duration_minutes), minutes_of(recent.type, minutes))
    own = recent.rep_id == recent.acc_owner
    effort = recent.group_by(e_account="account_id").agg(
        touches=recent.count(),
        hours=(mins / 60.0).sum(),
        touches_with_impact=(recent.outcome == "impact").cast("int32").cast("int64").sum(),
        touches_settled=recent.outcome.isin(["impact", "followed", "dark"])
        .cast("int32")
        .cast("int64")
        .sum(),
        own_touches=own.fill_null(False).cast("int32").cast("int64").sum(),
        own_hours=ibis.cases((own.fill_null(False), mins / 60.0), else_=zero).sum(),
    )
    hist = a.filter(a.occurred_at >= history_from)
    hist_effort = hist.group_by(h_account="account_id").agg(history_touches=hist.count())
    firsts = a.group_by(f_account="account_id").agg(first_touch_at=a.occurred_at.min())

    op = opportunities
    won = op.stage == "won"
    closed = op.stage.isin(["won", "lost"]) & op.closed_at.notnull() & (op.closed_at <= at)
    in_hist = closed & (op.closed_at >= history_from)
    amount = _f(op.amount).fill_null(0.0)
    expansion = op.source.lower() == "expansion"
    deals = op.group_by(d_account="account_id").agg(
        won_revenue=ibis.cases((in_hist & won, amount), else_=zero).sum(),
        n_closed=in_hist.cast("int32").cast("int64").sum(),
        n_won=(in_hist & won).cast("int32").cast("int64").sum(),
        expansion_won=(in_hist & won & expansion.fill_null(False))
        .cast("int32")
        .cast("int64")
        .sum(),
        won_12m=ibis.cases((closed & won & (op.closed_at >= year_ago), amount), else_=zero).sum(),
        expansion_24m=ibis.cases(
            (closed & won & expansion.fill_null(False) & (op.closed_at >= two_years), amount),
            else_=zero,
        ).sum(),
        first_deal_at=op.created_at.min(),
        # deals open at some time in the effort window: the deal work the window's touches did
        window_deals=(
            op.created_at.notnull()
            & (op.created_at <= at)
            & (op.closed_at.isnull() | (op.closed_at >= effort_from))
        )
        .cast("int32")
        .cast("int64")
        .sum(),
    )
    first = op.mutate(
        _rank=ibis.row_number().over(
            group_by=op.account_id, order_by=[op.created_at, op.opportunity_id]
        )
    )
    first = first.filter(first._rank == 0).select(s_account="account_id", first_source="source")
    s = open_scored
    pipe = s.group_by(p_account="account_id").agg(
        pipeline=(_f(s.amount).fill_null(0.0) * s.p_hat).sum(), open_deals=s.count()
    )

    base = accounts.select(*ACCOUNT_COLUMNS, "created_at")
    j = base.left_join(effort, base.account_id == effort.e_account).drop("e_account")
    j = j.left_join(hist_effort, j.account_id == hist_effort.h_account).drop("h_account")
    j = j.left_join(firsts, j.account_id == firsts.f_account).drop("f_account")
    j = j.left_join(deals, j.account_id == deals.d_account).drop("d_account")
    j = j.left_join(first, j.account_id == first.s_account).drop("s_account")
    j = j.left_join(pipe, j.account_id == pipe.p_account).drop("p_account")
    start = ibis.coalesce(j.created_at, ibis.least(j.first_deal_at, j.first_touch_at))
    start = ibis.greatest(ibis.coalesce(start, history_from), history_from)
    seconds = (at.epoch_seconds() - start.epoch_seconds()).cast("float64")
    counts = ("touches", "touches_with_impact", "touches_settled", "own_touches", "n_closed",
              "n_won", "expansion_won", "history_touches", "open_deals",
              "window_deals")  # fmt: skip
    sums = ("hours", "own_hours", "won_revenue", "won_12m", "expansion_24m", "pipeline")
    return j.select(
        *ACCOUNT_COLUMNS,
        *[j[c].fill_null(0).cast("int64").name(c) for c in counts],
        *[_f(j[c]).fill_null(0.0).name(c) for c in sums],
        exposure_years=ibis.greatest(seconds / _YEAR, ibis.literal(1 / 12, type="float64")),
        first_source=j.first_source,
    )
