"""Effort versus buyer impact: which rep effort reaches buyers (issue 5).

Definitions (the same in every table, practice and view that uses them):

* **Touch**: an ``activities`` row whose ``is_bulk`` is not true (NULL counts as not bulk).
  Bulk e-mails are kept in the data but are never a rep's touch.
* **Credit**: each ``buyer_events`` row is credited to ONE touch, the latest touch on the same
  account at or before the event (``touch.occurred_at <= event.occurred_at``: CRM exports often
  carry dates only, so a same-instant touch counts) and no more than ``impact_window`` before it
  (exactly ``impact_window`` before still counts). Tiers: when the event carries an
  opportunity_id, the latest such touch on that opportunity; if none, when it carries a
  contact_id, the latest such touch on that contact; if none, the latest such touch on the
  account. Ties at the same instant go to the smallest activity_id. A touch with at least one
  credited event has **buyer impact**.
* **Touch outcome**, exactly one per touch: ``impact`` (credited at least one event); else
  ``followed`` (a buyer event on the account at or after the touch and at most ``dark_after``
  after it, credited to another touch or to none); else ``dark`` (effort in the dark: no buyer
  event on the account within ``dark_after``, and ``dark_after`` has fully elapsed by the data's
  as-of time, the latest ``occurred_at`` over all activities and buyer events); else
  ``pending`` (no response yet: the wait has not elapsed).
  touches = impact + followed + dark + pending.
* **Response hours**: for each buyer event, the hours (to the second) to the next touch at or
  after the event on its account by the responsible rep, the owner of the event's opportunity,
  else the account's owner. Events without such a touch have none (``events_unanswered``).
* **Periods**: ``day`` is the local date (workspace time zone) of the row's timestamp; ``week``
  the ISO week, shown by its local Monday (``period``) and a label like ``"2026-W07"``. A touch
  counts on its own day, with its outcome and its credited events; a buyer event on its own day.
* **Grains**: ``rep`` (a touch's rep_id; an event's rep is the rep of the touch it is credited
  to, else the responsible rep), ``team`` (that rep's team_id), ``account``, ``opportunity`` (the
  touch's or the event's own opportunity_id). Rows without a unit at a grain (no opportunity, a
  rep without a team) are left out of that grain.

The ``effort_impact`` table (long format, ``COLUMNS``) has one row per grain, unit, ``every``
("day" or "week") and period with at least one touch or buyer event:

* ``touches``; ``touches_with_impact``, ``touches_followed``, ``touches_in_dark``,
  ``touches_pending`` (the outcomes of the period's touches) and ``impact_rate`` =
  touches_with_impact / touches (NaN when there are no touches);
* ``buyer_events`` (the period's events), ``events_credited`` (of those, credited to a touch)
  and ``events_unanswered`` (of those, without a response);
* per activity type: ``<type>_touches`` and ``events_per_<type>_touch`` = events credited to the
  period's touches of that type / those touches (NaN when none);
* ``median_response_hours`` over the period's answered events (NaN when none).

Everything is an Ibis expression (DuckDB and Spark run the same one), linear in rows: windows over
touches and events stacked together, and hash joins; nothing row-level leaves the engine.
"""

from __future__ import annotations

from datetime import timedelta

import ibis
import pandas as pd

from brightspots import timezones
from brightspots.metrics.credit import TIERS, credited, data_as_of, touches
from brightspots.metrics.durations import DurationError, parse_duration
from brightspots.metrics.effort import COLUMNS, GRAINS, ORDER, effort_impact, effort_parts
from brightspots.metrics.ledger import Ledger
from brightspots.metrics.ledger import build as build_ledger
from brightspots.metrics.outcomes import OUTCOMES, next_event_at, touch_outcomes
from brightspots.metrics.periods import EVERY, iso_week_label, week_start
from brightspots.metrics.response import hours_between, response_times, responsible_reps
from brightspots.workspace import Workspace

__all__ = [
    "COLUMNS",
    "EVERY",
    "GRAINS",
    "ORDER",
    "OUTCOMES",
    "TIERS",
    "DurationError",
    "compute",
    "credited",
    "data_as_of",
    "effort_impact",
    "effort_parts",
    "parts",
    "hours_between",
    "iso_week_label",
    "Ledger",
    "ledger",
    "next_event_at",
    "parse_duration",
    "response_times",
    "responsible_reps",
    "settings",
    "touch_outcomes",
    "touches",
    "week_start",
]


def settings(ws: Workspace) -> dict[str, timedelta]:
    """The ``[metrics]`` durations of the workspace config (``impact_window``, ``dark_after``)."""
    cfg = ws.config["metrics"]
    return {
        name: parse_duration(cfg[name], setting=f"[metrics] {name}")
        for name in ("impact_window", "dark_after")
    }


def compute(ws: Workspace) -> pd.DataFrame:
    """The ``effort_impact`` table of the workspace's current data, as a DataFrame (for tests and
    small data: ``analyze`` stores ``expression(ws)`` without going through pandas), sorted by
    ``ORDER``."""
    return ws.execute(expression(ws).order_by(*ORDER))


def expression(ws: Workspace, ledger: Ledger | None = None):
    """The ``effort_impact`` table of the workspace's current data, as an Ibis expression on the
    workspace's engine (the union of ``parts``)."""
    parts_, _ = parts(ws, ledger)
    return ibis.union(*parts_, distinct=False)


def parts(ws: Workspace, ledger: Ledger | None = None, *, keep: bool = False) -> tuple[list, list]:
    """``effort_impact`` of the workspace's current data as its parts and what the engine keeps
    for them (``effort.effort_parts``).

    Reads ``[metrics] impact_window`` and ``dark_after`` and the workspace time zone. ``ledger``:
    the workspace's ledger (``ledger(ws)``), when the caller already has it.
    """
    durations = settings(ws)
    tz = ws.timezone
    timezones.zone(tz)  # a clear error for an unknown zone before any work
    acts, events = ws.table("activities"), ws.table("buyer_events")
    stamps = acts.select(at=acts.occurred_at).union(events.select(at=events.occurred_at))
    span = ws.execute(stamps.aggregate(first=stamps.at.min(), last=stamps.at.max()))
    first, last = span["first"].iloc[0], span["last"].iloc[0]
    if pd.isna(first):  # no activities and no buyer events: an empty table
        first = last = pd.Timestamp("2000-01-01")

    def local(ts):
        return timezones.to_local(ts, tz, pd.Timestamp(first), pd.Timestamp(last))

    return effort_parts(
        acts,
        events,
        ws.table("opportunities"),
        ws.table("accounts"),
        ws.table("reps"),
        local=local,
        impact_window=durations["impact_window"],
        dark_after=durations["dark_after"],
        as_of=pd.Timestamp(last).to_pydatetime(),
        ledger=ledger,
        keep=keep,
    )


def ledger(ws: Workspace, *, keep: bool = False) -> Ledger:
    """The touch ledger of the workspace's current data (``metrics.ledger``) with its
    ``[metrics]`` durations, as of the data's as-of time (the latest activity or buyer event)."""
    durations = settings(ws)
    acts, events = ws.table("activities"), ws.table("buyer_events")
    as_of = ws.execute(data_as_of(acts, events).as_table()).iloc[0, 0]
    as_of = pd.Timestamp("2000-01-01") if as_of is None or pd.isna(as_of) else as_of
    return build_ledger(
        acts,
        events,
        impact_window=durations["impact_window"],
        dark_after=durations["dark_after"],
        as_of=pd.Timestamp(as_of).to_pydatetime(),
        keep=keep,
    )
