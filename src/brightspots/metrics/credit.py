"""Touches and buyer-impact credit: each buyer event goes to one touch, the latest one before it.

One pass, linear in rows: touches and events are stacked into one table, three times (once per
credit tier: opportunity, contact, account), and a running maximum of the touch time over each
partition, ordered by time with touches before events at the same instant, gives every event the
time of the latest touch at or before it. The touch itself is found by joining back on
(tier, account, key, time), picking the smallest activity_id among touches at that instant.
"""

from __future__ import annotations

from datetime import timedelta

import ibis
import ibis.expr.types as ir

#: credit tiers, most specific first
TIERS = ("opportunity", "contact", "account")

TOUCH_COLUMNS = (
    "activity_id",
    "rep_id",
    "account_id",
    "opportunity_id",
    "contact_id",
    "type",
    "occurred_at",
)

_TOUCH, _EVENT = 0, 1  # sort order of the kinds at the same instant: touches first


def touches(activities: ir.Table) -> ir.Table:
    """Activities that are a rep's touch: ``is_bulk`` not true (NULL counts as not bulk)."""
    a = activities
    return a.filter(~a.is_bulk.fill_null(False)).select(*TOUCH_COLUMNS)


def seconds(span: timedelta) -> ir.IntervalScalar:
    """A whole-second interval literal every backend can add to a timestamp."""
    return ibis.literal(int(span.total_seconds()), type="int64").as_interval("s")


def data_as_of(activities: ir.Table, buyer_events: ir.Table) -> ir.TimestampScalar:
    """The data's as-of time: the latest ``occurred_at`` over activities and buyer events."""
    return ibis.greatest(
        activities.occurred_at.max().as_scalar(), buyer_events.occurred_at.max().as_scalar()
    )


def _tiered(t: ir.Table, kind: int, row_id: ir.StringValue) -> ir.Table:
    """Rows of ``t`` once per credit tier it takes part in: (tier, account_id, key, at, ...)."""
    keys = (t.opportunity_id, t.contact_id, ibis.literal("", type="string"))
    parts = []
    for tier, key in enumerate(keys, start=1):
        part = t.filter(key.notnull()) if tier < 3 else t
        parts.append(
            part.select(
                tier=ibis.literal(tier, type="int64"),
                account_id=part.account_id,
                key=key.cast("string"),
                at=part.occurred_at,
                kind=ibis.literal(kind, type="int64"),
                row_id=row_id.cast("string"),
            )
        )
    return ibis.union(*parts, distinct=False)


def credited(touches: ir.Table, buyer_events: ir.Table, *, impact_window: timedelta) -> ir.Table:
    """One row per buyer event with the touch it is credited to.

    Columns: the event's columns, ``activity_id`` (the credited touch, NULL when none) and
    ``credit_tier`` ("opportunity", "contact", "account", NULL when none). The touch is the
    latest touch on the event's account at or before the event and no more than
    ``impact_window`` before it: first among touches on the event's opportunity (when it has
    one), then on its contact (when it has one), then on the whole account. Ties at the same
    instant go to the smallest activity_id.
    """
    t, e = touches, buyer_events
    rows = ibis.union(
        _tiered(t, _TOUCH, t.activity_id), _tiered(e, _EVENT, e.event_id), distinct=False
    )
    w = ibis.cumulative_window(
        group_by=[rows.tier, rows.account_id, rows.key], order_by=[rows.at, rows.kind]
    )
    latest = ibis.ifelse(rows.kind == _TOUCH, rows.at, ibis.null("timestamp")).max().over(w)
    found = rows.mutate(touch_at=latest)
    found = found.filter(
        (found.kind == _EVENT)
        & found.touch_at.notnull()
        & (found.touch_at >= found.at - seconds(impact_window))
    )
    per_event = found.group_by(event_key=found.row_id).agg(
        **{f"at_{tier}": found.touch_at.max(where=found.tier == tier) for tier in (1, 2, 3)}
    )
    j = e.left_join(per_event, e.event_id == per_event.event_key).drop("event_key")
    tier = ibis.cases(
        (j.at_1.notnull(), 1), (j.at_2.notnull(), 2), (j.at_3.notnull(), 3), else_=None
    )
    j = j.mutate(
        _tier=tier,
        _key=ibis.cases((tier == 1, j.opportunity_id), (tier == 2, j.contact_id), else_=""),
        _at=ibis.coalesce(j.at_1, j.at_2, j.at_3),
    ).drop("at_1", "at_2", "at_3")
    ids = _tiered(t, _TOUCH, t.activity_id)
    lookup = ids.group_by(
        l_tier=ids.tier, l_account=ids.account_id, l_key=ids.key, l_at=ids.at
    ).agg(activity_id=ids.row_id.min())
    j = j.left_join(
        lookup,
        [
            j._tier == lookup.l_tier,
            j.account_id == lookup.l_account,
            j._key == lookup.l_key,
            j._at == lookup.l_at,
        ],
    )
    names = ibis.cases(*[(j._tier == i, name) for i, name in enumerate(TIERS, start=1)])
    return j.select(*e.columns, activity_id=j.activity_id, credit_tier=names)
