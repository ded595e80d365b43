"""The weekly measures of a practice experiment: one value per unit (a team, or a rep for a
personal experiment) and local ISO week (its Monday), with the volume behind it.

* **win_rate**, the honest cohort: deals created in the week, and of those the deals **won
  within H days of creation**. Lost, still open and won later all count as not won within H, so
  the measure never conditions on a deal having closed (which the practice may change).
* **impact_rate**: the analysis run's ``effort_impact`` (grain team or rep, every week):
  touches_with_impact / touches, as of that run.
* **response_hours**: the median per unit-week of the capped response hours of buyer events
  (``metrics.response.capped_responses``, the brief's rule); lower is better.
* **adoption**: the mean of the practice's ``primary__<id>`` measure (binary: the share of
  deals doing it) over the unit-week's new deals at least ``[practices] landmark_days`` old.

A week is **mature** when its end (the next Monday, local) plus the measure's lag is at or before
the data's as-of time: H for win_rate, ``[metrics] impact_window`` for impact, ``[brief]
response_cap`` for response hours, ``landmark_days`` for adoption. Only mature weeks carry a
value in a panel's matrix.

Units are teams with reps (``reps.team_id``, the rep's *current* team) or reps
(``owner_rep_id``). Every measure is one Ibis expression on the workspace's engine (or one read
of a run table) executed once; the rest is small pandas and numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from brightspots import timezones
from brightspots.metrics.periods import week_start
from brightspots.workspace import Run, Workspace

if TYPE_CHECKING:
    from brightspots.experiments.store import Plan

OUTCOMES = ("win_rate", "impact_rate", "response_hours")
MEASURES = (*OUTCOMES, "adoption")
GRAINS = ("team", "rep")
#: the columns of an executed weekly measure (``Weekly.frame``)
COLUMNS = ["unit_id", "week", "value", "volume", "mature"]
#: a rep-period practice reads the owner's calendar month before a deal: deals this much
#: older than the first week are measured too
PRACTICE_LOOKBACK = timedelta(days=40)
WEEK = timedelta(days=7)


class PanelError(ValueError):
    """A weekly measure cannot be computed as asked (unknown measure or grain)."""


@dataclass(frozen=True)
class Weekly:
    """One measure per unit and week, executed: ``frame`` has ``COLUMNS`` (week a
    ``datetime.date`` Monday; value NaN when the unit-week has no volume), one row per unit-week
    with any volume. ``lag`` is how long after the week's end its figure is settled; ``as_of``
    the naive local time the data reaches; ``source`` says where a measure read from a run
    comes from ("as of run X"), else ""."""

    measure: str
    grain: str
    frame: pd.DataFrame
    lag: timedelta
    as_of: datetime | None
    source: str = ""

    def mature_from(self, week: date) -> datetime:
        """The local time at which ``week``'s figure is settled."""
        return datetime.combine(week + WEEK, datetime.min.time()) + self.lag

    def is_mature(self, week: date) -> bool:
        return self.as_of is not None and self.mature_from(week) <= self.as_of

    def matrix(self, units: Sequence[str], weeks: Sequence[date]) -> tuple[np.ndarray, np.ndarray]:
        """(y, n): units x weeks arrays of the value and the volume behind it. y is NaN where a
        unit-week has no volume or is not mature; n is 0 where there is no row."""
        y = np.full((len(units), len(weeks)), np.nan)
        n = np.zeros((len(units), len(weeks)))
        if not len(units) or not len(weeks):
            return y, n
        ui = {u: i for i, u in enumerate(units)}
        wi = {w: j for j, w in enumerate(weeks)}
        f = self.frame
        for u, w, v, vol in zip(f["unit_id"], f["week"], f["value"], f["volume"], strict=True):
            i, j = ui.get(u), wi.get(w)
            if i is None or j is None:
                continue
            n[i, j] = float(vol)
            if vol > 0 and pd.notna(v) and self.is_mature(w):
                y[i, j] = float(v)
        return y, n


@dataclass(frozen=True)
class Reads:
    """An experiment's weekly outcome and adoption read beforehand, possibly over more units
    and from an earlier week than it needs (``evaluate.run_tables`` reads them once for every
    experiment of the same outcome and horizon, and of the same practice): a unit-week's figure
    does not depend on which other units and weeks were read with it."""

    outcome: Weekly
    adoption: Weekly


def weeks_between(first: date, last: date) -> tuple[date, ...]:
    """The Mondays of the ISO weeks from the one holding ``first`` to the one holding ``last``."""
    a = first - timedelta(days=first.weekday())
    b = last - timedelta(days=last.weekday())
    return tuple(a + timedelta(weeks=k) for k in range((b - a).days // 7 + 1))


def treated_from(start: date) -> date:
    """The first fully treated week of a start: its Monday, or the next Monday when it is not
    one (that start's own week mixes both and counts as neither before nor after)."""
    return start + timedelta(days=(7 - start.weekday()) % 7)


def mixed_week(start: date) -> date | None:
    """The week a mid-week start falls in (left out of before and after), None on a Monday."""
    return None if start.weekday() == 0 else start - timedelta(days=start.weekday())


def anticipation_weeks(ws: Workspace) -> int:
    """The weeks before a start whose deals may already carry the practice: ceil(``[practices]
    landmark_days`` / 7). A practice is measured over a deal's first ``landmark_days``, so a
    team told to use it from a date also uses it on the deals it opened in those days before;
    the analysis leaves those weeks out of the baseline and the pre-trend
    (``did.fit(anticipation=)``)."""
    import math

    from brightspots.practices.registry import landmark_days

    return math.ceil(landmark_days(ws.config) / 7)


def _days(span: timedelta | int) -> timedelta:
    return span if isinstance(span, timedelta) else timedelta(days=int(span))


def _span(first: date, last: date, tz: str) -> tuple[datetime, datetime]:
    """[start, end) in naive UTC covering the local days ``first``..``last``."""
    return timezones.utc_start(first, tz), timezones.utc_start(last + timedelta(days=1), tz)


def _week_of(ts: ir.TimestampValue, tz: str, span: tuple[datetime, datetime]) -> ir.DateValue:
    lo, hi = span[0] - timedelta(days=2), span[1] + timedelta(days=2)
    return week_start(timezones.to_local(ts, tz, lo, hi).date())


def _unit_of_rep(t: ir.Table, rep_col: str, reps: ir.Table, grain: str) -> ir.Table:
    """``t`` with ``unit_id``: its rep's current team (grain team) or the rep (grain rep); rows
    without a unit are left out."""
    if grain not in GRAINS:
        raise PanelError(f"unknown grain {grain!r}; use one of {', '.join(GRAINS)}")
    if grain == "rep":
        t = t.mutate(unit_id=t[rep_col])
    else:
        r = reps.select(u_rep="rep_id", unit_id="team_id")
        t = t.join(r, t[rep_col] == r.u_rep).drop("u_rep")
    return t.filter(t.unit_id.notnull())


def cohort_panel(
    opps: ir.Table,
    reps: ir.Table,
    *,
    horizon: timedelta | int,
    first: date,
    last: date,
    tz: str,
    as_of: datetime | None = None,
    grain: str = "team",
) -> ir.Table:
    """Deals created on local days ``first``..``last`` (and not after ``as_of``, naive UTC) per
    unit and local ISO week of creation: ``team_id`` (grain team: the owner's current team) or
    ``rep_id`` (grain rep: the owner), ``week`` (its Monday), ``deals`` and ``won_within`` (won
    with ``closed_at`` at most ``horizon`` (days, or a timedelta) after ``created_at``).

    Maturity is not applied here: a week counts once ``week + 7 days + horizon <= as_of``
    (``Weekly.matrix``)."""
    span = _span(first, last, tz)
    if as_of is not None:
        span = (span[0], min(span[1], as_of + timedelta(microseconds=1)))
    lo = ibis.literal(span[0], type="timestamp")
    hi = ibis.literal(span[1], type="timestamp")
    o = opps.filter((opps.created_at >= lo) & (opps.created_at < hi))
    within = ibis.literal(int(_days(horizon).total_seconds()), type="int64").as_interval("s")
    won = (o.stage == "won") & o.closed_at.notnull() & (o.closed_at <= o.created_at + within)
    o = o.select(
        rep=o.owner_rep_id,
        week=_week_of(o.created_at, tz, span),
        won=ibis.ifelse(won, 1, 0).cast("int64"),
    )
    o = _unit_of_rep(o, "rep", reps, grain)
    g = o.group_by(["unit_id", "week"]).agg(deals=o.count(), won_within=o.won.sum())
    return g.select(
        **{f"{grain}_id": g.unit_id}, week=g.week, deals=g.deals, won_within=g.won_within
    )


def response_panel(
    rows: ir.Table, *, tz: str, first: date, last: date, grain: str = "team"
) -> ir.Table:
    """Capped responses (``metrics.response.capped_responses``) per unit and local ISO week of
    the buyer event: unit_id (the responsible rep's current team, or the rep), week, events and
    median (the median capped response hours)."""
    if grain not in GRAINS:
        raise PanelError(f"unknown grain {grain!r}; use one of {', '.join(GRAINS)}")
    unit = rows.team_id if grain == "team" else rows.responsible_rep_id
    t = rows.select(
        unit_id=unit,
        week=_week_of(rows.occurred_at, tz, _span(first, last, tz)),
        hours=rows.response_hours,
    )
    t = t.filter(t.unit_id.notnull())
    return t.group_by(["unit_id", "week"]).agg(events=t.count(), median=t.hours.median())


def local_as_of(
    ws: Workspace, stamp: datetime | None = None
) -> tuple[datetime | None, datetime | None]:
    """(naive UTC, naive local) as-of time of the workspace's data: the latest activity or buyer
    event (``metrics.data_as_of``), or ``stamp`` when given."""
    if stamp is None:
        from brightspots.metrics.credit import data_as_of

        v = ws.execute(data_as_of(ws.table("activities"), ws.table("buyer_events")).as_table())
        v = v.iloc[0, 0]
        if v is None or pd.isna(v):
            return None, None
        stamp = pd.Timestamp(v).to_pydatetime()
    return stamp, timezones.local_wall(stamp, ws.timezone)


def _frame(df: pd.DataFrame, value: pd.Series, volume: pd.Series) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "unit_id": df["unit_id"].astype(str),
            "week": pd.to_datetime(df["week"]).dt.date,
            "value": value.astype("float64"),
            "volume": volume.astype("int64"),
        }
    )
    return out.sort_values(["unit_id", "week"]).reset_index(drop=True)


def _finish(frame: pd.DataFrame, weekly: Weekly) -> Weekly:
    mature = [weekly.is_mature(w) for w in frame["week"]]
    frame = frame.assign(mature=np.asarray(mature, dtype=bool))[COLUMNS]
    return Weekly(weekly.measure, weekly.grain, frame, weekly.lag, weekly.as_of, weekly.source)


def win_rate(
    ws: Workspace,
    *,
    horizon: timedelta | int,
    first: date,
    stamp: datetime | None = None,
    grain: str = "team",
    units: Sequence[str] | None = None,
) -> Weekly:
    """The cohort win rate (``cohort_panel``) of the workspace's data from the week of
    ``first`` to the as-of time ``stamp`` (default: the data's), for ``units`` (None: all)."""
    utc, local = local_as_of(ws, stamp)
    last = (local or datetime.combine(first, datetime.min.time())).date()
    expr = cohort_panel(
        ws.table("opportunities"),
        ws.table("reps"),
        horizon=horizon,
        first=weeks_between(first, first)[0],
        last=last,
        tz=ws.timezone,
        as_of=utc,
        grain=grain,
    )
    col = f"{grain}_id"
    if units is not None:
        expr = expr.filter(expr[col].isin(list(units)))
    df = ws.execute(expr).rename(columns={col: "unit_id"})
    deals = df["deals"].astype("int64")
    value = df["won_within"].astype("float64") / deals.where(deals > 0)
    lag = _days(horizon)
    return _finish(_frame(df, value, deals), Weekly("win_rate", grain, df, lag, local))


def response_hours(
    ws: Workspace,
    *,
    first: date,
    stamp: datetime | None = None,
    grain: str = "team",
    units: Sequence[str] | None = None,
) -> Weekly:
    """The weekly median capped response hours (``response_panel``) from the week of ``first``
    to the as-of time."""
    from brightspots.metrics.response import capped_responses, response_cap

    utc, local = local_as_of(ws, stamp)
    first = weeks_between(first, first)[0]
    last = (local or datetime.combine(first, datetime.min.time())).date()
    cap = response_cap(ws.config)
    rows = capped_responses(ws, first, last, utc, cap=cap)
    expr = response_panel(rows, tz=ws.timezone, first=first, last=last, grain=grain)
    if units is not None:
        expr = expr.filter(expr.unit_id.isin(list(units)))
    df = ws.execute(expr)
    weekly = Weekly("response_hours", grain, df, cap, local)
    return _finish(_frame(df, df["median"], df["events"]), weekly)


def impact_rate(
    ws: Workspace,
    run: Run,
    *,
    first: date,
    stamp: datetime | None = None,
    grain: str = "team",
    units: Sequence[str] | None = None,
) -> Weekly:
    """touches_with_impact / touches per unit-week from ``run``'s ``effort_impact`` (every
    week), as of that run: its as-of time is the end of its last day, never after the data's."""
    from brightspots.metrics import settings

    if grain not in GRAINS:
        raise PanelError(f"unknown grain {grain!r}; use one of {', '.join(GRAINS)}")
    _, local = local_as_of(ws, stamp)
    first = weeks_between(first, first)[0]
    source = f"as of run {run.run_id}"
    lag = settings(ws)["impact_window"]
    if not ws.has_table("effort_impact"):
        empty = pd.DataFrame(columns=["unit_id", "week", "value", "volume"])
        return _finish(
            _frame(empty, empty["value"], empty["volume"]),
            Weekly("impact_rate", grain, empty, lag, None, source),
        )
    rows = ws.run_rows(
        "effort_impact",
        run.run_id,
        where="grain = ? AND every = 'week' AND period >= ?",
        params=[grain, first],
    )
    run_as_of = _run_as_of(ws, run, grain, first)
    if local is not None and run_as_of is not None:
        run_as_of = min(run_as_of, local)
    if units is not None:
        rows = rows[rows["unit_id"].isin(list(units))]
    rows = rows[rows["touches"].fillna(0) > 0].rename(columns={"period": "week"})
    touches = rows["touches"].astype("int64")
    value = rows["touches_with_impact"].astype("float64") / touches
    weekly = Weekly("impact_rate", grain, rows, lag, run_as_of, source)
    return _finish(_frame(rows, value, touches), weekly)


def _run_as_of(ws: Workspace, run: Run, grain: str, first: date) -> datetime | None:
    """The naive local as-of time of ``run``'s effort figures: its buyer-impact as-of time
    (run diagnostics), else the end of its last day of effort."""
    stamp = (run.diagnostics.get("buyer_impact") or {}).get("as_of")
    if stamp:
        return timezones.local_wall(pd.Timestamp(stamp).to_pydatetime(), ws.timezone)
    last_day = ws.run_rows(
        "effort_impact",
        run.run_id,
        where="grain = ? AND every = 'day' AND period >= ?",
        params=[grain, first],
    )["period"].max()
    if pd.isna(last_day):
        return None
    return datetime.combine(pd.Timestamp(last_day).date() + timedelta(days=1), datetime.min.time())


def adoption_panel(
    ws: Workspace,
    practice,
    units: Sequence[str],
    first: date,
    as_of: datetime | None = None,
    *,
    grain: str = "team",
) -> Weekly:
    """Adoption of ``practice`` (a ``practices.registry.Practice``) per unit and local ISO week
    of creation, from the week of ``first``: the mean of its primary measure (binary: the share
    of deals doing it) over the units' new deals at least ``[practices] landmark_days`` old at
    the as-of time ``as_of`` (naive UTC; default the data's), as in the brief's
    ``opened_deals``. ``volume`` is the number of those deals with a defined value."""
    from brightspots.metrics import settings
    from brightspots.practices.features import practice_frame
    from brightspots.practices.registry import landmark_days
    from brightspots.practices.views import Tables

    if grain not in GRAINS:
        raise PanelError(f"unknown grain {grain!r}; use one of {', '.join(GRAINS)}")
    utc, local = local_as_of(ws, as_of)
    days = landmark_days(ws.config)
    lag = timedelta(days=days)
    first = weeks_between(first, first)[0]
    empty = pd.DataFrame(columns=["unit_id", "week", "value", "volume"])
    weekly = Weekly("adoption", grain, empty, lag, local)
    if utc is None or not len(units):
        return _finish(_frame(empty, empty["value"], empty["volume"]), weekly)
    tz = ws.timezone
    reps = ws.table("reps")
    if grain == "team":
        reps = reps.filter(reps.team_id.isin(list(units)))
        owners = reps.select(o_rep="rep_id", unit_id="team_id")
    else:
        reps = reps.filter(reps.rep_id.isin(list(units)))
        owners = reps.select(o_rep="rep_id", unit_id="rep_id")
    span = _span(first, local.date(), tz)
    since = ibis.literal(span[0] - PRACTICE_LOOKBACK, type="timestamp")
    o = ws.table("opportunities")
    o = o.filter(o.created_at >= since)
    o = o.semi_join(owners, o.owner_rep_id == owners.o_rep)
    lo, hi = span[0] - PRACTICE_LOOKBACK - timedelta(days=2), max(span[1], utc) + timedelta(days=2)

    def to_local(ts: ir.TimestampValue) -> ir.TimestampValue:
        return timezones.to_local(ts, tz, lo, hi)

    tables = Tables.of(ws)
    measured = practice_frame(
        Tables(**{**tables.__dict__, "opportunities": o}),
        [practice],
        landmark_days=days,
        local=to_local,
        impact_window=settings(ws)["impact_window"],
        as_of=utc,
    )
    col = f"primary__{practice.id}"
    start = ibis.literal(span[0], type="timestamp")
    old = ibis.literal(utc - lag, type="timestamp")
    new = o.filter((o.created_at >= start) & (o.created_at <= old))
    new = new.join(owners, new.owner_rep_id == owners.o_rep)
    new = new.select(
        d_id="opportunity_id", unit_id="unit_id", week=_week_of(new.created_at, tz, span)
    )
    j = new.join(measured, new.d_id == measured.opportunity_id)
    j = j.filter(j[col].notnull())
    g = j.group_by(["unit_id", "week"]).agg(volume=j.count(), value=j[col].mean())
    df = ws.execute(g)
    return _finish(_frame(df, df["value"], df["volume"]), weekly)


def team_units(ws: Workspace) -> pd.DataFrame:
    """Teams with reps: team_id, name (the id when missing), reps (how many), parent_team_id."""
    reps = ws.execute(ws.table("reps").select("rep_id", "team_id"))
    teams = ws.execute(ws.table("teams").select("team_id", "name", "parent_team_id"))
    counts = reps.dropna(subset=["team_id"]).groupby("team_id").size().rename("reps")
    out = teams.merge(counts, left_on="team_id", right_index=True, how="outer")
    out["reps"] = out["reps"].fillna(0).astype("int64")
    out["name"] = [
        str(n) if pd.notna(n) else str(i) for i, n in zip(out["team_id"], out["name"], strict=True)
    ]
    return out.sort_values("team_id").reset_index(drop=True)


def stop_week(end: date | None) -> date | None:
    """The first week no longer counted for an end date: the week holding it (weeks from the
    end on no longer count), None without an end."""
    return None if end is None else end - timedelta(days=end.weekday())


def to_panel(
    weekly: Weekly,
    units: Sequence[str],
    weeks: Sequence[date],
    starts: dict[str, date],
    *,
    end: date | None = None,
    weight_weeks: Sequence[date] = (),
    stops: dict[str, date] | None = None,
):
    """A ``did.Panel`` of ``weekly`` over ``units`` x ``weeks`` (consecutive Mondays).

        A unit in ``starts`` is treated from ``treated_from(start)`` (a start after the last week
        gives an index past the panel: not yet treated in any week); its mixed week (a mid-week
        start) is left out. Weeks from the week holding ``end`` on no longer count, nor, for a
    unit in ``stops``, those from the week holding its date (a comparison team treated in
    another experiment of the practice from then on). A unit's weight
        is its mean weekly volume over ``weight_weeks`` (the weeks before the first start, from
        the first week any unit has volume), else over every week of the panel; units with no
        volume at all are left out (the panel keeps the others, in order)."""
    from brightspots.experiments.did import Panel

    weeks = tuple(weeks)
    y, n = weekly.matrix(units, weeks)
    index = {w: j for j, w in enumerate(weeks)}
    # weeks before the data begin (no unit has any volume) do not lower the weights
    live = n.sum(axis=0) > 0
    before = [index[w] for w in weight_weeks if w in index and live[index[w]]]
    weight = n[:, before].mean(axis=1) if before else np.zeros(len(units))
    overall = n.mean(axis=1) if len(weeks) else np.zeros(len(units))
    weight = np.where(weight > 0, weight, overall)
    start = np.full(len(units), -1, dtype=int)
    for i, u in enumerate(units):
        s = starts.get(u)
        if s is None:
            continue
        first = treated_from(s)
        if weeks and first > weeks[-1]:
            start[i] = len(weeks) + (first - weeks[-1]).days // 7 - 1
        elif weeks and first < weeks[0]:
            start[i] = 0
        else:
            start[i] = index.get(first, 0)
        mixed = mixed_week(s)
        if mixed in index:
            y[i, index[mixed]] = np.nan
    stop_at = stop_week(end)
    if stop_at is None or not weeks or stop_at > weeks[-1]:
        stop = len(weeks)
    else:
        stop = max(0, (stop_at - weeks[0]).days // 7)
    stop_at_unit = np.full(len(units), stop, dtype=int)
    for i, u in enumerate(units):
        own = stop_week((stops or {}).get(u))
        if own is not None and weeks:
            stop_at_unit[i] = min(stop, max(0, (own - weeks[0]).days // 7))
    keep = np.flatnonzero(weight > 0)
    return Panel(
        units=tuple(units[i] for i in keep),
        weeks=weeks,
        y=y[keep],
        n=n[keep],
        start=start[keep],
        stop=stop_at_unit[keep],
        weight=weight[keep],
    )


def planned_weeks(plans: Sequence[Plan]) -> int | None:
    """The weeks of new deals the latest wave's plan that sized them needs
    (``Plan.plan["power"]``), None when no plan did (or not within two years): early looks are
    judged against them."""
    for p in sorted(plans, key=lambda p: p.wave, reverse=True):
        power = (p.plan or {}).get("power")
        if isinstance(power, dict) and power.get("weeks_needed") is not None:
            return int(power["weeks_needed"])
    return None
