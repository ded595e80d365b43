"""Touch outcomes: impact, followed, dark or pending (exactly one per touch)."""

from __future__ import annotations

from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir

from brightspots.metrics.credit import seconds

OUTCOMES = ("impact", "followed", "dark", "pending")

_TOUCH, _EVENT = 0, 1


def next_event_at(touches: ir.Table, buyer_events: ir.Table) -> ir.Table:
    """One row per touch: ``activity_id`` and ``next_event_at``, the first buyer event on the
    touch's account at or after it (NULL when none); one window over touches and events."""
    t, e = touches, buyer_events
    rows = ibis.union(
        t.select(
            "account_id", at=t.occurred_at, kind=ibis.literal(_TOUCH, "int64"), row_id=t.activity_id
        ),
        e.select(
            "account_id", at=e.occurred_at, kind=ibis.literal(_EVENT, "int64"), row_id=e.event_id
        ),
        distinct=False,
    )
    # newest first, events before touches at the same instant: a running minimum of event times
    # then covers every event at or after the touch
    w = ibis.cumulative_window(
        group_by=rows.account_id, order_by=[rows.at.desc(), rows.kind.desc()]
    )
    first = ibis.ifelse(rows.kind == _EVENT, rows.at, ibis.null("timestamp")).min().over(w)
    found = rows.mutate(next_event_at=first)
    found = found.filter(found.kind == _TOUCH)
    return found.select(activity_id=found.row_id, next_event_at=found.next_event_at)


def touch_outcomes(
    touches: ir.Table,
    buyer_events: ir.Table,
    credited: ir.Table,
    *,
    dark_after: timedelta,
    as_of: ir.TimestampScalar | datetime,
) -> ir.Table:
    """One row per touch: the touch's columns, ``events_credited`` and ``outcome``.

    ``outcome`` is ``impact`` (at least one event credited to it), else ``followed`` (a buyer
    event on the account at most ``dark_after`` after it, credited to another touch or to none),
    else ``dark`` (none, and ``dark_after`` has fully elapsed by ``as_of``), else ``pending``.
    """
    t = touches
    counts = credited.filter(credited.activity_id.notnull())
    counts = counts.group_by(c_id=counts.activity_id).agg(events_credited=counts.count())
    nxt = next_event_at(touches, buyer_events).rename(n_id="activity_id")
    j = t.left_join(counts, t.activity_id == counts.c_id).drop("c_id")
    j = j.left_join(nxt, j.activity_id == nxt.n_id).drop("n_id")
    wait = seconds(dark_after)
    as_of_value = as_of if isinstance(as_of, ir.Expr) else ibis.literal(as_of, type="timestamp")
    n = j.events_credited.fill_null(0)
    outcome = ibis.cases(
        (n > 0, "impact"),
        (j.next_event_at.notnull() & (j.next_event_at <= j.occurred_at + wait), "followed"),
        (j.occurred_at + wait <= as_of_value, "dark"),
        else_="pending",
    )
    return j.mutate(events_credited=n.cast("int64"), outcome=outcome).drop("next_event_at")
