"""The touch ledger of one analysis: every touch with its outcome and every buyer event with the
touch it is credited to, computed once and shared.

Crediting buyer events to touches is the costliest pass over the data (a window over every touch
and event, three credit tiers). The buyer-impact model, the ``effort_impact`` table and the
buyer-impact practice all read its result; an analysis computes it once and keeps it in the
engine (``keep=True``: a temporary table on DuckDB, a cached frame on Spark) instead of letting
each expression recompute it. Without ``keep`` the ledger is plain expressions, the same ones the
readers would build themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import ibis.expr.types as ir

from brightspots.metrics.credit import credited, data_as_of, touches
from brightspots.metrics.outcomes import touch_outcomes


@dataclass(frozen=True)
class Ledger:
    """``touches``: ``credit.touches(activities)``; ``credited``: one row per buyer event with
    ``activity_id`` and ``credit_tier`` (``credit.credited``); ``outcomes``: one row per touch
    with ``events_credited`` and ``outcome`` (``outcomes.touch_outcomes``)."""

    touches: ir.Table
    credited: ir.Table
    outcomes: ir.Table
    impact_window: timedelta
    dark_after: timedelta
    _kept: tuple[ir.Table, ...] = field(default=(), repr=False)

    def release(self) -> None:
        """Drop what the engine keeps for this ledger (nothing when it was not kept)."""
        for t in self._kept:
            t.release()


def build(
    activities: ir.Table,
    buyer_events: ir.Table,
    *,
    impact_window: timedelta,
    dark_after: timedelta,
    as_of: ir.TimestampScalar | datetime,
    keep: bool = False,
) -> Ledger:
    """The ledger of ``activities`` and ``buyer_events`` as of ``as_of`` (the data's as-of
    time); ``keep`` computes the credit and the outcomes once and keeps them in the engine
    (call ``release`` when done)."""
    t = touches(activities)
    cr = credited(t, buyer_events, impact_window=impact_window)
    if keep:
        cr = cr.cache()
    out = touch_outcomes(t, buyer_events, cr, dark_after=dark_after, as_of=as_of)
    if keep:
        out = out.cache()
    return Ledger(
        touches=t,
        credited=cr,
        outcomes=out,
        impact_window=impact_window,
        dark_after=dark_after,
        _kept=(out, cr) if keep else (),
    )


def given_or_built(
    ledger: Ledger | None,
    activities: ir.Table,
    buyer_events: ir.Table,
    *,
    impact_window: timedelta,
    dark_after: timedelta,
    as_of: ir.TimestampScalar | datetime | None = None,
) -> Ledger:
    """``ledger`` when a caller has one (it must have these durations), else one built now as
    plain expressions (``as_of`` defaults to the data's as-of time)."""
    if ledger is not None:
        if (ledger.impact_window, ledger.dark_after) != (impact_window, dark_after):
            raise ValueError("the ledger was built with other durations")
        return ledger
    return build(
        activities,
        buyer_events,
        impact_window=impact_window,
        dark_after=dark_after,
        as_of=data_as_of(activities, buyer_events) if as_of is None else as_of,
    )
