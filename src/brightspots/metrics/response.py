"""Response times: from a buyer event to the next touch on its account by the responsible rep."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir

if TYPE_CHECKING:
    from brightspots.workspace import Workspace

_TOUCH, _EVENT = 0, 1


def responsible_reps(
    buyer_events: ir.Table, opportunities: ir.Table, accounts: ir.Table
) -> ir.Table:
    """``buyer_events`` with ``responsible_rep_id``: the owner of the event's opportunity, else
    the owner of its account (NULL when neither is known)."""
    e = buyer_events
    o = opportunities.select(o_id="opportunity_id", o_owner="owner_rep_id")
    a = accounts.select(a_id="account_id", a_owner="owner_rep_id")
    j = e.left_join(o, e.opportunity_id == o.o_id)
    j = j.left_join(a, j.account_id == a.a_id)
    return j.select(*e.columns, responsible_rep_id=ibis.coalesce(j.o_owner, j.a_owner))


def hours_between(start: ir.TimestampValue, end: ir.TimestampValue) -> ir.FloatingValue:
    """Hours from ``start`` to ``end``, to the second (the same on every backend)."""

    def whole(ts: ir.TimestampValue) -> ir.IntegerValue:
        return ts.epoch_seconds().cast("float64").floor().cast("int64")

    return (whole(end) - whole(start)).cast("float64") / 3600.0


def response_times(
    touches: ir.Table, buyer_events: ir.Table, opportunities: ir.Table, accounts: ir.Table
) -> ir.Table:
    """One row per buyer event: ``event_id``, ``responsible_rep_id``, ``responded_at`` (the first
    touch at or after the event on its account by the responsible rep, NULL when none) and
    ``response_hours`` (NULL when unanswered). One window over touches and events."""
    t = touches
    e = responsible_reps(buyer_events, opportunities, accounts)
    answerable = e.filter(e.responsible_rep_id.notnull())
    rows = ibis.union(
        t.select(
            "account_id",
            rep=t.rep_id,
            at=t.occurred_at,
            kind=ibis.literal(_TOUCH, "int64"),
            row_id=t.activity_id,
        ),
        answerable.select(
            "account_id",
            rep=answerable.responsible_rep_id,
            at=answerable.occurred_at,
            kind=ibis.literal(_EVENT, "int64"),
            row_id=answerable.event_id,
        ),
        distinct=False,
    )
    # newest first, touches before events at the same instant: a running minimum of touch
    # times then covers every touch at or after the event
    w = ibis.cumulative_window(
        group_by=[rows.account_id, rows.rep], order_by=[rows.at.desc(), rows.kind]
    )
    first = ibis.ifelse(rows.kind == _TOUCH, rows.at, ibis.null("timestamp")).min().over(w)
    found = rows.mutate(responded_at=first)
    found = found.filter(found.kind == _EVENT).select(r_id="row_id", responded_at="responded_at")
    j = e.left_join(found, e.event_id == found.r_id)
    return j.select(
        "event_id",
        "responsible_rep_id",
        "responded_at",
        response_hours=hours_between(j.occurred_at, j.responded_at),
    )


def response_cap(config: dict) -> timedelta:
    """``[brief] response_cap`` of a workspace config: a buyer event's response time is counted
    up to this long; one left unanswered that long counts as that long."""
    from brightspots.metrics.durations import parse_duration

    return parse_duration(config["brief"]["response_cap"], setting="[brief] response_cap")


def capped_responses(
    ws: Workspace,
    first: date,
    last: date,
    stamp: datetime | None,
    *,
    cap: timedelta | None = None,
) -> ir.Table:
    """Every buyer event on local days ``first``..``last`` that has a responsible rep and is at
    least ``cap`` old at the data's as-of time ``stamp`` (None: no such bound):
    responsible_rep_id, team_id (of that rep, NULL when none), account_id, occurred_at (UTC) and
    response_hours, capped at ``cap`` (unanswered events count as the cap). ``cap`` defaults to
    ``[brief] response_cap``.

    Capping keeps periods comparable: near the end of the data the slow answers have not
    happened yet, so dropping unanswered events would make the latest weeks look fast. Touches
    before ``first`` cannot answer these events, so only later ones are read."""
    from brightspots import timezones
    from brightspots.metrics.credit import touches

    tz = ws.timezone
    cap = response_cap(ws.config) if cap is None else cap
    lo = timezones.utc_start(first, tz)
    hi = timezones.utc_start(last + timedelta(days=1), tz)
    if stamp is not None:
        hi = min(hi, stamp - cap)
    lo_, hi_ = ibis.literal(lo, type="timestamp"), ibis.literal(hi, type="timestamp")
    acts = touches(ws.table("activities"))
    acts = acts.filter(acts.occurred_at >= lo_)
    events = ws.table("buyer_events")
    events = events.filter((events.occurred_at >= lo_) & (events.occurred_at < hi_))
    times = response_times(acts, events, ws.table("opportunities"), ws.table("accounts"))
    ev = events.select(ev_id="event_id", ev_at="occurred_at", account_id="account_id")
    j = times.join(ev, times.event_id == ev.ev_id)
    j = j.filter(j.responsible_rep_id.notnull())
    reps = ws.table("reps").select(r_id="rep_id", team_id="team_id")
    j = j.left_join(reps, j.responsible_rep_id == reps.r_id)
    limit = ibis.literal(cap.total_seconds() / 3600.0, type="float64")
    hours = ibis.cases(
        (j.response_hours.isnull() | (j.response_hours > limit), limit), else_=j.response_hours
    )
    return j.select(
        "responsible_rep_id",
        "team_id",
        "account_id",
        occurred_at=j.ev_at,
        response_hours=hours,
    )
