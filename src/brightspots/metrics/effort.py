"""The ``effort_impact`` table: touches, their outcomes and buyer events per unit and period."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir

from brightspots.metrics.ledger import Ledger, given_or_built
from brightspots.metrics.periods import EVERY, iso_week_label, week_start
from brightspots.metrics.response import response_times
from brightspots.schema import ACTIVITY_TYPES

Local = Callable[[ir.TimestampValue], ir.TimestampValue]

GRAINS = ("rep", "team", "account", "opportunity")

#: the columns of ``effort_impact``, in order
COLUMNS: tuple[str, ...] = (
    "grain",
    "unit_id",
    "every",
    "period",
    "week_label",
    "touches",
    "touches_with_impact",
    "impact_rate",
    "touches_followed",
    "touches_in_dark",
    "touches_pending",
    "buyer_events",
    "events_credited",
    "events_unanswered",
    *(f"events_per_{ty}_touch" for ty in ACTIVITY_TYPES),
    *(f"{ty}_touches" for ty in ACTIVITY_TYPES),
    "median_response_hours",
)

#: the key of a row, and the order tables and exports show them in
ORDER = ("grain", "every", "unit_id", "period")

_NAN = ibis.literal(float("nan"), type="float64")

#: count columns of the table, and the row flag each one sums
_SOURCE = {
    "touches": "touch",
    "touches_with_impact": "impact",
    "touches_followed": "followed",
    "touches_in_dark": "dark",
    "touches_pending": "pending",
    "buyer_events": "event",
    "events_credited": "event_credited",
    "events_unanswered": "unanswered",
}
_SUMS = tuple(_SOURCE) + tuple(f"{ty}_touches" for ty in ACTIVITY_TYPES)
_TYPE_SUMS = tuple(f"_credited_{ty}" for ty in ACTIVITY_TYPES)
#: per-type columns of a row
_TYPE_COLUMNS = tuple(f"{ty}_touches" for ty in ACTIVITY_TYPES) + _TYPE_SUMS


def _int(value: int | ir.BooleanValue) -> ir.IntegerValue:
    if isinstance(value, ir.Expr):
        return value.cast("int32").cast("int64")  # Postgres casts a boolean only to int4
    return ibis.literal(value, type="int64")


def _touch_rows(out: ir.Table, teams: ir.Table) -> ir.Table:
    """One row per touch of ``out`` (touch outcomes with their local ``day``)."""
    j = out.left_join(teams, out.rep_id == teams.tm_rep)
    return j.select(
        rep_id=j.rep_id,
        team_id=j.team_id,
        account_id=j.account_id,
        opportunity_id=j.opportunity_id,
        day=j.day,
        touch=_int(1),
        impact=_int(j.outcome == "impact"),
        followed=_int(j.outcome == "followed"),
        dark=_int(j.outcome == "dark"),
        pending=_int(j.outcome == "pending"),
        event=_int(0),
        event_credited=_int(0),
        unanswered=_int(0),
        response_hours=ibis.null("float64"),
        **{f"{ty}_touches": _int(j.type == ty) for ty in ACTIVITY_TYPES},
        # events credited to the touch, under its type
        **{
            f"_credited_{ty}": _int(ibis.ifelse(j.type == ty, j.events_credited, 0))
            for ty in ACTIVITY_TYPES
        },
    )


def event_units(cr: ir.Table, t: ir.Table, resp: ir.Table) -> ir.Table:
    """The credited events ``cr`` with ``unit_rep_id`` (the rep of the touch an event is credited
    to, else its responsible rep), ``responsible_rep_id``, ``responded_at`` and
    ``response_hours`` (``resp``: ``response.response_times``)."""
    by = t.select(c_aid="activity_id", c_rep="rep_id")
    r = resp.select(
        r_eid="event_id",
        responsible_rep_id="responsible_rep_id",
        responded_at="responded_at",
        response_hours="response_hours",
    )
    c = cr.view()  # a reference, not an extension of its join chain: computed once
    j = c.left_join(by, c.activity_id == by.c_aid)
    j = j.left_join(r, j.event_id == r.r_eid)
    return j.select(
        *cr.columns,
        "responsible_rep_id",
        "responded_at",
        "response_hours",
        unit_rep_id=ibis.coalesce(j.c_rep, j.responsible_rep_id),
    )


def _event_rows(events: ir.Table, teams: ir.Table) -> ir.Table:
    """One row per buyer event of ``events`` (``event_units`` with their local ``day``)."""
    j = events.left_join(teams, events.unit_rep_id == teams.tm_rep)
    return j.select(
        rep_id=j.unit_rep_id,
        team_id=j.team_id,
        account_id=j.account_id,
        opportunity_id=j.opportunity_id,
        day=j.day,
        touch=_int(0),
        impact=_int(0),
        followed=_int(0),
        dark=_int(0),
        pending=_int(0),
        event=_int(1),
        event_credited=_int(j.activity_id.notnull()),
        unanswered=_int(j.response_hours.isnull()),
        response_hours=j.response_hours,
        **{name: _int(0) for name in _TYPE_COLUMNS},
    )


def local_day(t: ir.Table, local: Local) -> ir.Table:
    """``t`` with ``day``: the local date of its ``occurred_at``."""
    return t.mutate(day=local(t.occurred_at).date())


def stacked(touch_outcomes: ir.Table, events: ir.Table, reps: ir.Table) -> ir.Table:
    """The rows every ``effort_impact`` part sums: one per touch (``touch_outcomes`` with
    ``day``) and one per buyer event (``event_units`` with ``day``), with the current team of
    their rep and their ISO ``week``."""
    teams = reps.select(tm_rep="rep_id", team_id="team_id")
    rows = ibis.union(
        _touch_rows(touch_outcomes, teams), _event_rows(events, teams), distinct=False
    )
    return rows.mutate(week=week_start(rows.day))


def _ratio(num: ir.NumericValue, den: ir.NumericValue) -> ir.FloatingValue:
    """num / den, NaN when den is 0."""
    return ibis.ifelse(den > 0, num.cast("float64") / den.cast("float64"), _NAN)


def effort_impact(
    activities: ir.Table,
    buyer_events: ir.Table,
    opportunities: ir.Table,
    accounts: ir.Table,
    reps: ir.Table,
    *,
    local: Local,
    impact_window: timedelta,
    dark_after: timedelta,
    as_of: ir.TimestampScalar | datetime | None = None,
    ledger: Ledger | None = None,
) -> ir.Table:
    """The long ``effort_impact`` table (columns ``COLUMNS``) as one Ibis expression, in no
    particular order (``ORDER``: the order a reader sorts it by; a sort of a table as big as
    the data would only slow its storage).

    ``local`` turns stored UTC timestamps into workspace-local ones (``timezones.to_local``);
    ``as_of`` defaults to the data's as-of time (``data_as_of``). ``ledger``: the touches'
    credit and outcomes already computed (``metrics.ledger.build`` with the same durations and
    as-of time).
    """
    parts, _ = effort_parts(
        activities,
        buyer_events,
        opportunities,
        accounts,
        reps,
        local=local,
        impact_window=impact_window,
        dark_after=dark_after,
        as_of=as_of,
        ledger=ledger,
    )
    return ibis.union(*parts, distinct=False)


def effort_parts(
    activities: ir.Table,
    buyer_events: ir.Table,
    opportunities: ir.Table,
    accounts: ir.Table,
    reps: ir.Table,
    *,
    local: Local,
    impact_window: timedelta,
    dark_after: timedelta,
    as_of: ir.TimestampScalar | datetime | None = None,
    ledger: Ledger | None = None,
    keep: bool = False,
) -> tuple[list[ir.Table], list[ir.Table]]:
    """``effort_impact`` as its eight parts, one per grain and period kind (their union is
    the table), and what the engine keeps for them (``release()`` each once the parts are read).

    With ``keep`` the touch and event rows every part sums are computed once and kept in the
    engine, so each part is a plain aggregation of a stored table: stored one part at a time,
    a big table never needs more memory than its biggest aggregation (a single statement for
    all eight ran out of a 3 GB DuckDB memory limit at 10M activities).
    """
    ledger = given_or_built(
        ledger, activities, buyer_events, impact_window=impact_window, dark_after=dark_after,
        as_of=as_of,
    )  # fmt: skip
    t, cr, out = ledger.touches, ledger.credited, ledger.outcomes
    resp = response_times(t, buyer_events, opportunities, accounts)
    events = local_day(event_units(cr, t, resp), local)
    rows = stacked(local_day(out, local), events, reps)
    kept = []
    if keep:
        rows = rows.cache()
        kept.append(rows)
    return summaries(rows), kept


def unit_of(rows: ir.Table, grain: str) -> ir.StringValue:
    """The unit of a row of ``stacked`` at ``grain``."""
    return rows[f"{grain}_id"].cast("string")


def summaries(rows: ir.Table, only: ir.Table | None = None) -> list[ir.Table]:
    """The eight parts of ``effort_impact`` summed from ``stacked`` rows, one per grain and
    period kind (one aggregation each, two keys: cheaper than stacking the rows eight times and
    grouping by four keys). ``only``: a table of keys (``grain``, ``every``, ``unit_id``,
    ``period``); then the parts hold those keys' rows only (a key without rows has none)."""
    parts = []
    for grain in GRAINS:
        for every in EVERY:
            part = rows.mutate(_unit=unit_of(rows, grain))
            part = part.filter(part._unit.notnull())
            if only is not None:
                k = only.filter((only.grain == grain) & (only.every == every))
                part = part.semi_join(k, [part._unit == k.unit_id, part[every] == k.period])
            parts.append(_columns(_summarise(part, grain, every)))
    return parts


def _columns(g: ir.Table) -> ir.Table:
    """A part's sums as the table's columns, in order, with the rates."""
    values = {
        "grain": g.grain,
        "unit_id": g.unit_id,
        "every": g.every,
        "period": g.period,
        "week_label": ibis.ifelse(g.every == "week", iso_week_label(g.period), ""),
        **{name: g[name] for name in _SUMS},
        "impact_rate": _ratio(g.touches_with_impact, g.touches),
        **{
            f"events_per_{ty}_touch": _ratio(g[f"_credited_{ty}"], g[f"{ty}_touches"])
            for ty in ACTIVITY_TYPES
        },
        # NaN rather than NULL: the same in pandas, and it keeps DuckDB's fast path to pandas
        "median_response_hours": g.median_response_hours.cast("float64").fill_null(_NAN),
    }
    return g.select(**{name: values[name] for name in COLUMNS})


def _medians(answered: ir.Table, every: str) -> ir.Table:
    """``m_unit``, ``m_period`` and ``median_response_hours``: the median response of each unit
    (``_unit``) and period, the mean of its middle value or two once its responses are sorted,
    which is what the median aggregate gives. Computed over a window of the sorted rows, which
    the engine can spill to disk: the median aggregate keeps every group's values in memory
    and cannot (60M rows in 25M groups under a 700 MB DuckDB limit: the aggregate ran out of
    memory, the window finished in 14 s)."""
    keys = [answered._unit, answered[every]]
    ranked = answered.select(
        m_unit=answered._unit,
        m_period=answered[every],
        hours=answered.response_hours,
        k=ibis.row_number().over(group_by=keys, order_by=answered.response_hours),
        n=answered.response_hours.count().over(group_by=keys),
    )
    middle = ranked.filter((ranked.k == (ranked.n - 1) // 2) | (ranked.k == ranked.n // 2))
    return middle.group_by(["m_unit", "m_period"]).agg(median_response_hours=middle.hours.mean())


def _summarise(part: ir.Table, grain: str, every: str) -> ir.Table:
    """Sums and the median response per unit (``_unit``) and period, at one grain and one
    period kind."""
    sums = part.group_by(unit_id=part._unit, period=part[every]).agg(
        **{name: part[_SOURCE.get(name, name)].sum() for name in _SUMS + _TYPE_SUMS}
    )
    # the median over the answered events only, apart from the sums over all rows
    med = _medians(part.filter(part.response_hours.notnull()), every)
    g = sums.left_join(med, [sums.unit_id == med.m_unit, sums.period == med.m_period])
    return g.select(
        grain=ibis.literal(grain, type="string"),
        unit_id=g.unit_id,
        every=ibis.literal(every, type="string"),
        period=g.period,
        **{name: g[name].cast("int64") for name in _SUMS + _TYPE_SUMS},
        median_response_hours=g.median_response_hours.cast("float64"),
    )
