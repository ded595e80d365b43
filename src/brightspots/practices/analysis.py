"""Practices in one analysis run: measure every registered practice on the closed deals of the
window (Ibis, on the workspace's engine), bring back one row per deal, and estimate which
practices go with winning (``effects``), plus each rep's own practice rates for personal views.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ibis.expr.types as ir
import pandas as pd

from brightspots.metrics import settings as metric_settings
from brightspots.practices.effects import estimate_effects
from brightspots.practices.effects.screen import does, peer_median, rep_means
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


def rep_practices(
    frame: pd.DataFrame, practices: list[Practice], *, peers: set[str], most_deals: float
) -> pd.DataFrame:
    """Each rep's rate of each practice over their analysed deals (the primary variant): deals
    measured, mean value, and whether they do it (binary: on at least ``most_deals`` of their
    deals; otherwise on the better side of the peers' median, as the screen counts it)."""
    rows = []
    for p in practices:
        column = f"primary__{p.id}"
        means = rep_means(frame, column)
        counts = frame.dropna(subset=[column]).groupby("rep_id", sort=True).size()
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
) -> PracticeResults:
    """``practices`` (the workspace's ``registry``) measured on ``cases`` (see ``measure``),
    their effects (``effects.estimate_effects``) and each rep's rates (``rep_practices``)."""
    most = float(ws.config["practices"]["most_deals"])
    frame = measure(
        ws, cases, practices, covariates=covariates, local=local, as_of=as_of, credited=credited
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
        effects=effects, by_segment=by_segment, reps=reps, n_deals=len(frame), deals=deals
    )
