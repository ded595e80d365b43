"""Practices in one analysis run: measure every registered practice on the closed deals of the
window (Ibis, on the workspace's engine), bring back one row per deal, and estimate which
practices go with winning (``effects``), plus each rep's own practice rates for personal views.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pandas as pd

from brightspots.metrics import settings as metric_settings
from brightspots.practices.effects import estimate_effects
from brightspots.practices.effects.screen import (
    REP_CODE,
    does,
    peer_median,
    rep_counts,
    rep_means,
)
from brightspots.practices.features import practice_frame, variant_views
from brightspots.practices.registry import Practice, landmark_days
from brightspots.practices.views import Tables, kept
from brightspots.workspace import Workspace

#: columns of the run table ``practice_reps``
REP_COLUMNS = ["rep_id", "practice", "deals", "value", "does"]


@dataclass(frozen=True)
class PracticeResults:
    effects: pd.DataFrame
    by_segment: pd.DataFrame
    reps: pd.DataFrame
    n_deals: int
    #: one row per analysed deal: opportunity_id, rep_id, y and each practice's two variants
    deals: pd.DataFrame
    #: deals whose opportunity-level built-in practices were measured in this run (the others
    #: kept a previous run's measures, ``Reuse``)
    n_measured: int = 0


@dataclass(frozen=True)
class Reuse:
    """A previous run's measures that still hold: ``frame``, that run's ``practice_deals``, and
    ``dirty``, a table of the opportunity_ids whose practice inputs changed since
    (``refresh.practices``). A deal of the window that is dirty or not in ``frame`` is measured
    again; a practice that reads more than its own deal (rep_period, custom SQL) is measured on
    every deal."""

    frame: pd.DataFrame
    dirty: ir.Table


def _own_deal_only(p: Practice) -> bool:
    """Whether a practice's value for a deal reads only that deal's views (built-in,
    opportunity level), so a deal whose inputs did not change keeps its value."""
    return p.level == "opportunity" and not p.sql


def _columns_of(practices: list[Practice]) -> list[str]:
    return [c for p in practices for c in (f"primary__{p.id}", f"whole__{p.id}")]


def _measure_reusing(
    ws: Workspace,
    cases: ir.Table,
    practices: list[Practice],
    reuse: Reuse,
    *,
    covariates: list[str],
    **kw,
) -> tuple[pd.DataFrame, int]:
    """``measure`` where a previous run's measures hold (``Reuse``); the frame and the number
    of deals measured again."""
    own = [p for p in practices if _own_deal_only(p)]
    wide = [p for p in practices if not _own_deal_only(p)]
    keep = ["opportunity_id", "rep_id", "y", *[f"x_{c}" for c in covariates]]
    cols = _columns_of(own)
    if any(c not in reuse.frame.columns for c in cols):
        frame = measure(ws, cases, practices, covariates=covariates, **kw)
        return frame, len(frame)
    ids = ws.execute(cases.select("opportunity_id"))["opportunity_id"]
    dirty = set(ws.execute(reuse.dirty.select("opportunity_id"))["opportunity_id"])
    known = set(reuse.frame["opportunity_id"])
    todo = sorted(i for i in ids if i in dirty or i not in known)
    if wide:
        frame = measure(ws, cases, wide, covariates=covariates, **kw)
    else:
        frame = ws.execute(cases.select(*keep))
    again = pd.DataFrame({"opportunity_id": pd.Series(todo, dtype=object)})
    if todo and own:
        todo_t = ibis.memtable(again)
        subset = cases.semi_join(todo_t, cases.opportunity_id == todo_t.opportunity_id)
        again = measure(ws, subset, own, covariates=covariates, **kw)
    kept_rows = reuse.frame[~reuse.frame["opportunity_id"].isin(set(todo))]
    values = pd.concat([kept_rows[["opportunity_id", *cols]], again.reindex(
        columns=["opportunity_id", *cols])], ignore_index=True)  # fmt: skip
    frame = frame.merge(values, on="opportunity_id", how="left")
    frame = frame[[*keep, *_columns_of(practices)]]
    return frame.sort_values("opportunity_id").reset_index(drop=True), len(todo)


def rep_practices(
    frame: pd.DataFrame, practices: list[Practice], *, peers: set[str], most_deals: float
) -> pd.DataFrame:
    """Each rep's rate of each practice over their analysed deals (the primary variant): deals
    measured, mean value, and whether they do it (binary: on at least ``most_deals`` of their
    deals; otherwise on the better side of the peers' median, as the screen counts it)."""
    rows = []
    # integer rep codes: each practice's grouping by rep reads them instead of the ids
    frame = frame.assign(**{REP_CODE: pd.factorize(frame["rep_id"])[0]})
    for p in practices:
        column = f"primary__{p.id}"
        means = rep_means(frame, column)
        counts = rep_counts(frame, column)
        threshold = peer_median(p, means[means.index.isin(peers)].to_numpy(float))
        doing = does(p, means.to_numpy(float), threshold, most_deals)
        rows.append(
            pd.DataFrame(
                {
                    "rep_id": means.index,
                    "practice": p.id,
                    "deals": counts.reindex(means.index).fillna(0).astype("int64").to_numpy(),
                    "value": means.to_numpy(float),
                    "does": doing,
                }
            )
        )
    if not rows:
        return pd.DataFrame(columns=REP_COLUMNS)
    return pd.concat(rows, ignore_index=True)[REP_COLUMNS]


def measure(
    ws: Workspace,
    cases: ir.Table,
    practices: list[Practice],
    *,
    covariates: list[str],
    local: Callable[[ir.TimestampValue], ir.TimestampValue],
    as_of: pd.Timestamp,
    credited: ir.Table | None = None,
) -> pd.DataFrame:
    """One row per deal of ``cases`` (the closed deals of the window: ``casemix.case_table`` rows):
    opportunity_id, rep_id, y, the ``x_*`` covariates, then ``primary__<id>`` and ``whole__<id>``
    per practice. ``as_of``: the latest timestamp in the data (open deals are measured up to it);
    ``local`` must be valid up to it. ``credited``: the ledger's credited buyer events, when the
    caller has them."""
    tables = Tables.of(ws, credited)
    in_window = cases.select(case_id="opportunity_id")
    opps = tables.opportunities
    opps = opps.semi_join(in_window, opps.opportunity_id == in_window.case_id)
    tables = Tables(**{**tables.__dict__, "opportunities": opps})
    kw = {
        "landmark_days": landmark_days(ws.config),
        "local": local,
        "impact_window": metric_settings(ws)["impact_window"],
        "as_of": pd.Timestamp(as_of).to_pydatetime(),
    }
    # every practice reads the same views: they are computed once and kept while measuring
    (whole, whole_kept), (landmark, landmark_kept) = map(kept, variant_views(tables, **kw))
    try:
        measured = ws.execute(practice_frame(tables, practices, views=(whole, landmark), **kw))
    finally:
        for t in whole_kept + landmark_kept:
            t.release()
    keep = ["opportunity_id", "rep_id", "y", *[f"x_{c}" for c in covariates]]
    frame = ws.execute(cases.select(*keep)).merge(measured, on="opportunity_id", how="left")
    return frame.sort_values("opportunity_id").reset_index(drop=True)


def run(
    ws: Workspace,
    cases: ir.Table,
    *,
    covariates: list[str],
    bright: set[str],
    peers: set[str],
    local: Callable[[ir.TimestampValue], ir.TimestampValue],
    pool_min_cases: int,
    as_of: pd.Timestamp,
    practices: list[Practice],
    credited: ir.Table | None = None,
    reuse: Reuse | None = None,
) -> PracticeResults:
    """``practices`` (the workspace's ``registry``) measured on ``cases`` (see ``measure``),
    their effects (``effects.estimate_effects``) and each rep's rates (``rep_practices``).
    ``reuse``: a previous run's measures that still hold (an incremental refresh)."""
    most = float(ws.config["practices"]["most_deals"])
    kw = {"local": local, "as_of": as_of, "credited": credited}
    if reuse is None:
        frame = measure(ws, cases, practices, covariates=covariates, **kw)
        n_measured = len(frame)
    else:
        frame, n_measured = _measure_reusing(
            ws, cases, practices, reuse, covariates=covariates, **kw
        )
    effects, by_segment = estimate_effects(
        frame,
        practices,
        covariates=covariates,
        bright=bright,
        peers=peers,
        segment="x_segment",
        most_deals=most,
        pool_min_cases=pool_min_cases,
    )
    reps = rep_practices(frame, practices, peers=peers, most_deals=most)
    deals = frame[[c for c in frame.columns if not c.startswith("x_")]]
    return PracticeResults(
        effects=effects,
        by_segment=by_segment,
        reps=reps,
        n_deals=len(frame),
        deals=deals,
        n_measured=n_measured,
    )
