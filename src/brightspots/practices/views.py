"""The practice views: what a practice may see of a deal, as of a cutoff (method.md section 6).

Every practice, built-in or a workspace's own, is measured over these views and nothing else, so
nothing after the outcome can leak into a practice. There are two sets, one per variant:

* ``whole``: every deal; ``cutoff`` is ``closed_at`` for a won or lost deal and the data's as-of
  time (the latest timestamp in opportunities, activities and buyer events) for an open one.
* ``landmark``: only the deals still open at day N (``closed_at >= created_at + N days``; an open
  deal when the as-of time is at least day N); ``cutoff`` is ``created_at + N days``.

Views (the names a custom practice's SQL reads; timestamps are UTC, ``*_local`` the same instant
in the workspace time zone):

``opportunities``
    opportunity_id, account_id, owner_rep_id, created_at, created_local, cutoff, initial_amount,
    source, product. No stage, amount or closed_at: they are the outcome.
``activities``
    a deal's activities: activity_id, rep_id, account_id, opportunity_id, contact_id, type,
    occurred_at, occurred_local, duration_minutes, linked. One row per activity and deal, with
    ``created_at <= occurred_at < cutoff``. Bulk e-mails are left out (never a touch). A row is
    the deal's when it carries the deal's opportunity_id (``linked`` true), or when it carries no
    opportunity_id and is on the deal's account by the deal's owner while the deal was open
    (``linked`` false; ``opportunity_id`` is filled in). CRM exports log activities both ways:
    a Salesforce Task points at an opportunity *or* an account through one WhatId, and many calls
    are logged against the account only; a HubSpot engagement is associated with a company and
    optionally a deal. An unlinked row on an account where the owner has two open deals belongs to
    both.
``buyer_events``
    a deal's buyer events: event_id, account_id, opportunity_id, contact_id, type, occurred_at,
    occurred_local, linked. The same rule as activities, without the owner condition (a buyer
    event has no rep): linked rows, plus rows without an opportunity_id on the deal's account
    while it was open.
``contacts``, ``accounts``, ``reps``
    the canonical tables, unchanged (the data contract's columns).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

import ibis
import ibis.expr.types as ir

from brightspots import schema
from brightspots.metrics import credit

if TYPE_CHECKING:
    from brightspots.workspace import Workspace

Local = Callable[[ir.TimestampValue], ir.TimestampValue]
Variant = Literal["whole", "landmark"]

VIEW_NAMES = ("opportunities", "activities", "buyer_events", "contacts", "accounts", "reps")

_OPP_COLUMNS = ("opportunity_id", "account_id", "owner_rep_id", "created_at")
_OPP_EXTRA = ("initial_amount", "source", "product")
_ACT_COLUMNS = credit.TOUCH_COLUMNS  # a touch's columns, as the metrics read them
_EVENT_COLUMNS = ("event_id", "account_id", "opportunity_id", "contact_id", "type", "occurred_at")


def _types(table: str, names: tuple[str, ...]) -> dict[str, str]:
    t = schema.table(table)
    return {n: t.column(n).ibis_type for n in names}


#: name -> column -> Ibis type of every practice view (the contract custom SQL is checked against)
VIEW_COLUMNS: dict[str, dict[str, str]] = {
    "opportunities": {
        **_types("opportunities", _OPP_COLUMNS),
        "created_local": "timestamp",
        "cutoff": "timestamp",
        **_types("opportunities", _OPP_EXTRA),
    },
    "activities": {
        **_types("activities", _ACT_COLUMNS),
        "occurred_local": "timestamp",
        "duration_minutes": "float64",
        "linked": "boolean",
    },
    "buyer_events": {
        **_types("buyer_events", _EVENT_COLUMNS),
        "occurred_local": "timestamp",
        "linked": "boolean",
    },
    **{
        name: {c.name: c.ibis_type for c in schema.table(name).columns}
        for name in ("contacts", "accounts", "reps")
    },
}


@dataclass(frozen=True)
class Tables:
    """The canonical tables a practice frame is built from (Ibis tables on one backend)."""

    opportunities: ir.Table
    activities: ir.Table
    buyer_events: ir.Table
    contacts: ir.Table
    accounts: ir.Table
    reps: ir.Table
    #: buyer events with the touch each is credited to (``metrics.credit.credited`` at the
    #: workspace's impact window), when already computed: a ledger's ``credited``
    credited: ir.Table | None = None

    @classmethod
    def of(cls, ws: Workspace, credited: ir.Table | None = None) -> Tables:
        """The workspace's canonical tables on its analysis engine."""
        return cls(**{name: ws.table(name) for name in VIEW_NAMES}, credited=credited)


@dataclass(frozen=True)
class Views:
    """One variant's views (see the module docstring), plus what built-ins need beside them."""

    variant: Variant
    opportunities: ir.Table
    activities: ir.Table
    buyer_events: ir.Table
    contacts: ir.Table
    accounts: ir.Table
    reps: ir.Table
    local: Local
    #: the canonical tables, for measures defined over the whole account history (buyer-impact
    #: credit); a built-in reading them must itself keep to rows before its deal's cutoff
    tables: Tables
    impact_window: timedelta

    def table(self, name: str) -> ir.Table:
        return getattr(self, name)


def seconds(ts: ir.TimestampValue) -> ir.IntegerValue:
    """Whole seconds since the epoch (the same on every backend)."""
    return ts.epoch_seconds().cast("float64").floor().cast("int64")


def data_as_of(tables: Tables) -> ir.TimestampScalar:
    """The latest timestamp in opportunities, activities and buyer events."""
    o = tables.opportunities
    return ibis.greatest(
        o.created_at.max().as_scalar(),
        o.closed_at.max().as_scalar(),
        credit.data_as_of(tables.activities, tables.buyer_events),
    )


def deals(
    tables: Tables,
    variant: Variant,
    *,
    landmark_days: int,
    local: Local,
    as_of: datetime | None = None,
) -> ir.Table:
    """The ``opportunities`` view of one variant."""
    o = tables.opportunities
    now = ibis.literal(as_of, type="timestamp") if as_of is not None else data_as_of(tables)
    closed = o.stage.isin(["won", "lost"]) & o.closed_at.notnull()
    t = o.mutate(_end=ibis.ifelse(closed, o.closed_at, now))
    days = ibis.literal(int(landmark_days), type="int64").as_interval("D")
    if variant == "landmark":
        t = t.filter(t._end >= t.created_at + days)
        cutoff = t.created_at + days
    else:
        cutoff = t._end
    return t.select(
        *_OPP_COLUMNS,
        created_local=local(t.created_at),
        cutoff=cutoff,
        initial_amount=t.initial_amount.cast("float64"),
        source=t.source,
        product=t.product,
    )


def _attributed(
    name: str, rows: ir.Table, d: ir.Table, *, by_owner: bool, local: Local
) -> ir.Table:
    """The ``name`` view: rows carrying a deal's opportunity_id, plus rows without one on the
    deal's account (by its owner when ``by_owner``), inside [created_at, cutoff) of the deal."""
    span = d.select(
        d_id=d.opportunity_id,
        d_account=d.account_id,
        d_owner=d.owner_rep_id,
        d_created=d.created_at,
        d_cutoff=d.cutoff,
    )
    linked = rows.filter(rows.opportunity_id.notnull())
    linked = linked.join(span, linked.opportunity_id == span.d_id)
    unlinked = rows.filter(rows.opportunity_id.isnull())
    keys = [unlinked.account_id == span.d_account]
    if by_owner:
        keys.append(unlinked.rep_id == span.d_owner)
    unlinked = unlinked.join(span, keys)
    columns = VIEW_COLUMNS[name]
    parts = []
    for part, is_linked in ((linked, True), (unlinked, False)):
        part = part.filter(
            (part.occurred_at >= part.d_created) & (part.occurred_at < part.d_cutoff)
        )
        derived = {
            "opportunity_id": part.d_id,
            "occurred_local": local(part.occurred_at),
            "linked": ibis.literal(is_linked, type="boolean"),
        }
        parts.append(
            part.select(
                **{c: derived[c] if c in derived else part[c].cast(t) for c, t in columns.items()}
            )
        )
    return ibis.union(*parts, distinct=False)


def practice_views(
    tables: Tables,
    variant: Variant,
    *,
    landmark_days: int,
    local: Local,
    impact_window: timedelta = timedelta(days=7),
    as_of: datetime | None = None,
) -> Views:
    """The views of one variant (``whole`` or ``landmark``) over ``tables``."""
    d = deals(tables, variant, landmark_days=landmark_days, local=local, as_of=as_of)
    a = tables.activities
    a = a.filter(~a.is_bulk.fill_null(False))
    acts = _attributed("activities", a, d, by_owner=True, local=local)
    events = _attributed("buyer_events", tables.buyer_events, d, by_owner=False, local=local)
    plain = {
        name: getattr(tables, name).select(*VIEW_COLUMNS[name])
        for name in ("contacts", "accounts", "reps")
    }
    return Views(
        variant=variant,
        opportunities=d,
        activities=acts,
        buyer_events=events,
        local=local,
        tables=tables,
        impact_window=impact_window,
        **plain,
    )


def kept(views: Views) -> tuple[Views, list[ir.Table]]:
    """``views`` with its deals, activities and buyer events computed once and kept in the
    engine (every practice reads them; left as expressions, each practice would attribute the
    rows to deals again), and the kept tables, to ``release()`` once the practices are read."""
    tables = {name: getattr(views, name).cache() for name in _KEPT}
    return replace(views, **tables), list(tables.values())


_KEPT = ("opportunities", "activities", "buyer_events")
