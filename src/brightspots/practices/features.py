"""The practice frame: one row per opportunity, two columns per practice (method.md section 6).

For each practice, ``whole__<id>`` is measured over the whole deal (created_at to closed_at, all
rows of an open deal) and ``primary__<id>`` is the variant its q-value is about:

* ``landmark``: measured on [created_at, created_at + N days), undefined for a deal closed before
  day N (not at risk at the landmark);
* ``stage``: the whole-deal value among deals that reached the stage (the builder's ``reached``),
  undefined elsewhere; the whole-deal column keeps every deal (a deal without a proposal has
  meeting_before_proposal = 0: the leaky comparison, shown beside);
* ``prior_period`` (rep_period practices): the owner's value in the local calendar month before
  the deal's creation month, measured before the deal existed; both columns carry it.

Shape of the computation: every builder's rows are stacked into one long table
(opportunity_id, key, value) and pivoted by one group-by, then joined once to the opportunities.
A chain of one join per practice would hold dozens of hash tables at once (Spark runs out of
execution memory on it); the stack keeps each builder's work apart. Nothing row-level leaves the
engine (a custom practice's SQL is checked once on the engine, see ``custom``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir

from brightspots.practices.builtin import period_label
from brightspots.practices.registry import Practice, PracticeConfigError
from brightspots.practices.views import Local, Tables, Views, practice_views

_AT_RISK = "at_risk"  # key of the deals in the landmark views


def _long(key: str, t: ir.Table, value: ir.Value) -> ir.Table:
    if value.type().is_boolean():
        value = value.cast("int32")  # Postgres casts a boolean to a number only through int4
    return t.select(
        opportunity_id=t.opportunity_id.cast("string"),
        key=ibis.literal(key, type="string"),
        value=value.cast("float64"),
    )


def _built(p: Practice, views: Views) -> ir.Table:
    if p.build is None:
        raise PracticeConfigError(f"practice {p.id!r} has no builder and cannot be measured")
    return p.build(views)


def _prior_period(p: Practice, whole: Views) -> ir.Table:
    """Every deal with its owner's value in the month before its (local) creation month."""
    got = _built(p, whole).select(r_rep="rep_id", r_period="period", r_value="value")
    d = whole.opportunities
    created = d.created_local
    month = created.year().cast("int64") * 12 + created.month().cast("int64") - 2
    d = d.select("opportunity_id", rep_id=d.owner_rep_id, period=period_label(month))
    j = d.join(got, [d.rep_id == got.r_rep, d.period == got.r_period])
    return j.select(j.opportunity_id, value=j.r_value)


def _check(p: Practice) -> None:
    allowed = ("prior_period",) if p.level == "rep_period" else ("landmark", "stage")
    if p.primary not in allowed:
        raise PracticeConfigError(
            f"practice {p.id!r}: a {p.level} practice has primary "
            f"{' or '.join(repr(a) for a in allowed)}, not {p.primary!r}"
        )


def _stacked(p: Practice, whole: Views, landmark: Views) -> list[ir.Table]:
    """The long rows of one practice: ``whole:<id>``, and ``landmark:<id>`` or ``reached:<id>``."""
    _check(p)
    if p.level == "rep_period":
        v = _prior_period(p, whole)
        return [_long(f"whole:{p.id}", v, v.value)]
    w = _built(p, whole)
    parts = [_long(f"whole:{p.id}", w, w.value)]
    if p.primary == "stage":
        parts.append(_long(f"reached:{p.id}", w, w.reached))
    else:
        lm = _built(p, landmark)
        parts.append(_long(f"landmark:{p.id}", lm, lm.value))
    return parts


def _keys(p: Practice) -> list[str]:
    if p.level == "rep_period":
        return [f"whole:{p.id}"]
    return [f"whole:{p.id}", f"{'reached' if p.primary == 'stage' else 'landmark'}:{p.id}"]


class _ByKey:
    """The pivoted table's columns, looked up by long key."""

    def __init__(self, table: ir.Table, names: dict[str, str]) -> None:
        self.table, self.names = table, names

    def __getitem__(self, key: str) -> ir.Value:
        return self.table[self.names[key]]


def _columns(p: Practice, wide: _ByKey) -> dict[str, ir.Value]:
    """``primary__<id>`` and ``whole__<id>`` from the pivoted keys (absent rows filled)."""
    undefined = ibis.null("float64")
    fill = ibis.literal(0.0, type="float64") if p.absent == "zero" else undefined
    whole = wide[f"whole:{p.id}"]
    if p.level == "rep_period":
        return {f"primary__{p.id}": whole, f"whole__{p.id}": whole}
    whole = ibis.coalesce(whole, fill)
    if p.primary == "stage":
        reached = wide[f"reached:{p.id}"].fill_null(0.0) > 0
        primary = ibis.ifelse(reached, whole, undefined)
    else:
        at_risk = wide[_AT_RISK].notnull()
        primary = ibis.ifelse(at_risk, ibis.coalesce(wide[f"landmark:{p.id}"], fill), undefined)
    return {f"primary__{p.id}": primary, f"whole__{p.id}": whole}


def variant_views(
    tables: Tables,
    *,
    landmark_days: int,
    local: Local,
    impact_window: timedelta = timedelta(days=7),
    as_of: datetime | None = None,
) -> tuple[Views, Views]:
    """The ``whole`` and ``landmark`` views over ``tables`` (``practice_views``)."""
    kw = {"landmark_days": landmark_days, "local": local, "impact_window": impact_window}
    return tuple(practice_views(tables, v, as_of=as_of, **kw) for v in ("whole", "landmark"))


def practice_frame(
    tables: Tables,
    practices: list[Practice],
    *,
    landmark_days: int,
    local: Local,
    impact_window: timedelta = timedelta(days=7),
    as_of: datetime | None = None,
    views: tuple[Views, Views] | None = None,
) -> ir.Table:
    """One row per opportunity of ``tables.opportunities``: ``opportunity_id``, then
    ``primary__<id>`` and ``whole__<id>`` (float64; undefined is NULL in the engine, so NaN once
    executed to pandas) per practice, in order.

    ``local`` turns a stored UTC timestamp into workspace-local time (``timezones.to_local``,
    valid up to the as-of time); ``as_of`` is when open deals are measured up to (default: the
    latest timestamp in opportunities, activities and buyer events); ``impact_window`` is
    ``[metrics] impact_window`` (buyer-impact credit). ``views``: the whole and landmark views
    of these arguments (``variant_views``), when the caller keeps them in the engine.
    """
    whole, landmark = views or variant_views(
        tables, landmark_days=landmark_days, local=local, impact_window=impact_window, as_of=as_of
    )
    lm = landmark.opportunities
    parts = [_long(_AT_RISK, lm, ibis.literal(1.0))]
    for p in practices:
        parts += _stacked(p, whole, landmark)
    rows = ibis.union(*parts, distinct=False)
    keys = [_AT_RISK, *(k for p in practices for k in _keys(p))]
    names = {k: f"k{i}" for i, k in enumerate(keys)}
    wide = rows.group_by(w_id=rows.opportunity_id).agg(
        **{names[k]: rows.value.max(where=rows.key == k) for k in keys}
    )
    o = tables.opportunities.select("opportunity_id")
    j = o.left_join(wide, o.opportunity_id == wide.w_id)
    by_key = _ByKey(j, names)
    cols: dict[str, ir.Value] = {}
    for p in practices:
        cols.update(_columns(p, by_key))
    return j.select(o.opportunity_id, **cols)
