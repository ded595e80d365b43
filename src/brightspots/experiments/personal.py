"""A rep's own experiment (design section 8): before and after on their own deals, their
resource peers over the same weeks as a group, and how much more it would take to see a
10-point change. Never a verdict: one person's numbers cannot tell the practice from luck,
seasons and deal mix.

Before is the ``history_weeks`` before the start; after the mature weeks from the first fully
treated week (a mid-week start's own week counts as neither) to the end or the data's as-of
time. Levels pool the weeks: won within the horizon / deals created (touches with impact /
touches); response hours are the events-weighted mean of weekly medians.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import pandas as pd

from brightspots.experiments import panels, words
from brightspots.experiments.config import ExperimentError, ExperimentSettings
from brightspots.experiments.model import PANEL_FIELDS, PersonalResult
from brightspots.experiments.store import Experiment
from brightspots.workspace import Run, Workspace

#: the change a rep's own numbers are sized against
CHANGE = 0.10
Z95 = 1.959964


def wilson(k: float, n: float, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of k successes out of n (n > 0)."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(k1: float, n1: float, k2: float, n2: float, z: float = Z95) -> tuple[float, float]:
    """Newcombe's hybrid score interval (method 10) for p1 - p2, from Wilson intervals."""
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson(k1, n1, z)
    l2, u2 = wilson(k2, n2, z)
    d = p1 - p2
    lo = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    hi = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return lo, hi


def more_needed(p: float, n_after: int, change: float = CHANGE, z: float = Z95) -> int | None:
    """How many more units (deals, touches) after the start until a ``change`` in a share
    would show on a rep's own numbers: until luck alone (half the 95% interval of the after
    figure, at the level ``p`` before) no longer covers it. None without a level before."""
    if p is None or not math.isfinite(p):
        return None
    p = min(max(p, 0.05), 0.95)
    need = math.ceil(p * (1 - p) * (z / change) ** 2)
    return max(0, need - int(n_after))


def _pooled(frame: pd.DataFrame, weeks: set[date]) -> tuple[float | None, int]:
    """(volume-weighted mean of the mature weeks in ``weeks``, their total volume)."""
    f = frame[frame["mature"] & frame["week"].isin(weeks) & (frame["volume"] > 0)]
    f = f[f["value"].notna()]
    n = int(f["volume"].sum())
    if not n:
        return None, 0
    return float((f["value"] * f["volume"]).sum() / n), n


def _panel_rows(frame: pd.DataFrame, rep_id: str, measure: str) -> pd.DataFrame:
    """The rep's own weeks (role rep) and the peers' pooled weeks (role peers)."""
    mine = frame[frame["unit_id"] == rep_id].assign(role="rep")
    peers = frame[frame["unit_id"] != rep_id]
    parts = [mine]
    if len(peers):
        pooled = (
            peers.assign(mass=peers["value"] * peers["volume"])
            .groupby("week", as_index=False)
            .agg(mass=("mass", "sum"), volume=("volume", "sum"), mature=("mature", "all"))
        )
        pooled["value"] = pooled["mass"] / pooled["volume"].where(pooled["volume"] > 0)
        parts.append(pooled.assign(unit_id="peers", role="peers"))
    out = pd.concat([p[PANEL_FIELDS] for p in parts], ignore_index=True)
    return out.assign(measure=measure)


def _peers(ws: Workspace, run: Run | None, rep_id: str, k: int) -> tuple[str, ...]:
    from brightspots import resources

    if run is None or not ws.has_table("rep_resources"):
        return ()
    prof = ws.run_results("rep_resources", run.run_id)
    if rep_id not in set(prof["rep_id"]):
        return ()
    return tuple(resources.nearest_peers(prof, rep_id, k=k)["rep_id"].astype(str))


def outcome_weekly(
    ws: Workspace,
    outcome: str,
    *,
    horizon_days: int,
    first: date,
    stamp: datetime | None,
    run: Run | None,
    grain: str,
    units: list[str] | None,
) -> panels.Weekly:
    """The weekly outcome of ``units`` (None: all) at ``grain``."""
    if outcome == "win_rate":
        return panels.win_rate(
            ws, horizon=horizon_days, first=first, stamp=stamp, grain=grain, units=units
        )
    if outcome == "response_hours":
        return panels.response_hours(ws, first=first, stamp=stamp, grain=grain, units=units)
    if outcome == "impact_rate":
        if run is None:
            raise ExperimentError(
                "the buyer impact rate is read from an analysis run: run `brightspots analyze` "
                "first"
            )
        return panels.impact_rate(ws, run, first=first, stamp=stamp, grain=grain, units=units)
    raise ExperimentError(f"unknown outcome {outcome!r}")


def result(
    ws: Workspace,
    experiment: Experiment,
    *,
    settings: ExperimentSettings,
    run: Run | None = None,
    stamp: datetime | None = None,
    peers: int = 10,
) -> PersonalResult:
    """The personal experiment's result on the workspace's data (as of ``stamp``, naive UTC;
    default the data's as-of time). ``run`` gives the peers (its ``rep_resources``) and, for
    the impact rate, the weekly figures."""
    from brightspots.practices.registry import registry

    if experiment.kind != "personal" or not experiment.rep_id:
        raise ExperimentError(f"experiment {experiment.name!r} is not a personal one")
    rep_id = experiment.rep_id
    found = [p for p in registry(ws.config) if p.id == experiment.practice_id]
    if not found:
        raise ExperimentError(
            f"experiment {experiment.name!r} tries practice {experiment.practice_id!r}, which "
            "the workspace no longer has"
        )
    practice = found[0]
    utc, local = panels.local_as_of(ws, stamp)
    start = experiment.first_start()
    since = panels.treated_from(start)
    before_from = since - timedelta(weeks=settings.history_weeks)
    last = local.date() if local is not None else since
    if experiment.end_date is not None:
        last = min(last, experiment.end_date - timedelta(days=1))
    before = set(panels.weeks_between(before_from, since - timedelta(days=1)))
    before.discard(panels.mixed_week(start))
    after = set(panels.weeks_between(since, last)) if last >= since else set()
    if experiment.end_date is not None:
        stop = experiment.end_date - timedelta(days=experiment.end_date.weekday())
        after = {w for w in after if w < stop}

    peer_ids = _peers(ws, run, rep_id, peers)
    units = [rep_id, *peer_ids]
    out = outcome_weekly(
        ws,
        experiment.outcome,
        horizon_days=experiment.horizon_days,
        first=before_from,
        stamp=utc,
        run=run,
        grain="rep",
        units=units,
    )
    adopt = panels.adoption_panel(ws, practice, [rep_id], before_from, utc, grain="rep")
    mine = out.frame[out.frame["unit_id"] == rep_id]
    theirs = out.frame[out.frame["unit_id"] != rep_id]
    p_before, d_before = _pooled(adopt.frame, before)
    p_after, d_after = _pooled(adopt.frame, after)
    o_before, n_before = _pooled(mine, before)
    o_after, n_after = _pooled(mine, after)
    peers_before, _ = _pooled(theirs, before)
    peers_after, _ = _pooled(theirs, after)

    share = experiment.outcome != "response_hours"
    diff = lo = hi = swing = None
    need = None
    if o_before is not None and o_after is not None:
        diff = o_after - o_before
        if share:
            lo, hi = newcombe(o_after * n_after, n_after, o_before * n_before, n_before)
    if share and o_after is not None and n_after:
        swing = Z95 * math.sqrt(max(o_after * (1 - o_after), 0.05 * 0.95) / n_after)
    if share and o_before is not None:
        need = more_needed(o_before, n_after)
    unit = {"win_rate": "deals", "impact_rate": "touches", "response_hours": "buyer events"}[
        experiment.outcome
    ]
    text = words.personal_sentence(
        since=since,
        practice_after=p_after,
        practice_before=p_before,
        deals_before=d_before,
        outcome=experiment.outcome,
        horizon_days=experiment.horizon_days,
        outcome_after=o_after,
        n_after=n_after,
        outcome_before=o_before,
        n_before=n_before,
        swing=swing,
        peers_before=peers_before,
        peers_after=peers_after,
        more_needed=need,
        unit=unit,
    )
    panel = pd.concat(
        [
            _panel_rows(out.frame, rep_id, "outcome"),
            _panel_rows(adopt.frame, rep_id, "adoption"),
        ],
        ignore_index=True,
    )
    return PersonalResult(
        rep_id=rep_id,
        practice_id=practice.id,
        outcome=experiment.outcome,
        horizon_days=experiment.horizon_days,
        start=start,
        since=since,
        before_from=before_from,
        practice_before=p_before,
        deals_before=d_before,
        practice_after=p_after,
        deals_after=d_after,
        outcome_before=o_before,
        n_before=n_before,
        outcome_after=o_after,
        n_after=n_after,
        difference=diff,
        diff_low=lo,
        diff_high=hi,
        peers=peer_ids,
        peers_before=peers_before,
        peers_after=peers_after,
        swing=swing,
        more_needed=need,
        text=text,
        panel=panel.astype({"value": "float64", "volume": "float64", "mature": "bool"}),
        unit=unit,
    )
