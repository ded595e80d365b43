"""A rep's own experiment (design section 8): before and after on their own deals, their
resource peers over the same weeks as a group, and how much more it would take to see a
10-point change. Never a verdict: one person's numbers cannot tell the practice from luck,
seasons and deal mix.

Before is the ``history_weeks`` before the start; after the mature weeks from the first fully
treated week (a mid-week start's own week counts as neither) to the end or the data's as-of
time. Levels pool the weeks: won within the horizon / deals created (touches with impact /
touches); response hours are the events-weighted mean of weekly medians. The peers (the 10
nearest in resources) are pooled over those with figures both before and after, and shown only
when there are at least ``MIN_PEERS`` of them. How much more it would take is sized for a
10-point change detectable 4 times out of 5 against the rep's own figures before.
"""

from __future__ import annotations

import math
from dataclasses import replace
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
#: the power ``more_needed`` sizes for (z of 0.80: detectable 4 times out of 5)
Z80 = 0.841621
#: how many resource peers are looked at
PEERS = 10
#: the fewest peers with figures before and after the start for their row to be shown: fewer
#: would let a rep work out one or two named colleagues' figures
MIN_PEERS = 5


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


def more_needed(
    p: float | None,
    n_after: int,
    n_before: int,
    change: float = CHANGE,
    z: float = Z95,
    z_power: float = Z80,
) -> int | None:
    """How many more units (deals, touches) after the start until a ``change`` in a share
    would be detectable 4 times out of 5 on a rep's own numbers, after against before (a
    two-sided 5% test with 80% power, at the level ``p`` before): the least n_a with
    (z + z_power)^2 p (1 - p) (1/n_a + 1/n_before) <= change^2, less ``n_after``. None without
    a level before, or when the ``n_before`` units before are too few for any n_a to do."""
    if p is None or not math.isfinite(p) or n_before <= 0:
        return None
    p = min(max(p, 0.05), 0.95)
    room = change**2 / ((z + z_power) ** 2 * p * (1 - p)) - 1.0 / n_before
    if room <= 0:
        return None
    return max(0, math.ceil(1.0 / room - 1e-9) - int(n_after))


def _pooled(frame: pd.DataFrame, weeks: set[date]) -> tuple[float | None, int]:
    """(volume-weighted mean of the mature weeks in ``weeks``, their total volume)."""
    f = frame[frame["mature"] & frame["week"].isin(weeks) & (frame["volume"] > 0)]
    f = f[f["value"].notna()]
    n = int(f["volume"].sum())
    if not n:
        return None, 0
    return float((f["value"] * f["volume"]).sum() / n), n


def peer_figures(
    frame: pd.DataFrame, rep_id: str, before: set[date], after: set[date]
) -> tuple[float | None, float | None, tuple[str, ...]]:
    """The peers' pooled level before and after (``_pooled``) over the peers with figures in
    both, and those peers; (None, None, ()) when fewer than ``MIN_PEERS`` have them."""
    theirs = frame[frame["unit_id"] != rep_id]
    usable = theirs["mature"] & (theirs["volume"] > 0) & theirs["value"].notna()
    with_before = set(theirs.loc[usable & theirs["week"].isin(before), "unit_id"])
    with_after = set(theirs.loc[usable & theirs["week"].isin(after), "unit_id"])
    ids = tuple(sorted(with_before & with_after))
    if len(ids) < MIN_PEERS:
        return None, None, ()
    counted = theirs[theirs["unit_id"].isin(ids)]
    return _pooled(counted, before)[0], _pooled(counted, after)[0], ids


def _panel_rows(
    frame: pd.DataFrame, rep_id: str, measure: str, peers: tuple[str, ...] = ()
) -> pd.DataFrame:
    """The rep's own weeks (role rep) and the pooled weeks of ``peers`` (role peers)."""
    mine = frame[frame["unit_id"] == rep_id].assign(role="rep")
    peers = frame[frame["unit_id"].isin(peers)]
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


def profiles(ws: Workspace, run: Run | None) -> pd.DataFrame | None:
    """The run's ``rep_resources`` (None without a run or the table): what peers are found in."""
    if run is None or not ws.has_table("rep_resources"):
        return None
    return ws.run_results("rep_resources", run.run_id)


def peers_in(prof: pd.DataFrame | None, rep_id: str, k: int = PEERS) -> tuple[str, ...]:
    """The ``k`` reps nearest to ``rep_id`` in resources (``resources.nearest_peers``)."""
    from brightspots import resources

    if prof is None or rep_id not in set(prof["rep_id"]):
        return ()
    return tuple(resources.nearest_peers(prof, rep_id, k=k)["rep_id"].astype(str))


def _peers(ws: Workspace, run: Run | None, rep_id: str, k: int) -> tuple[str, ...]:
    return peers_in(profiles(ws, run), rep_id, k)


def windows(
    experiment: Experiment, settings: ExperimentSettings, local: datetime | None
) -> tuple[date, date, set[date], set[date]]:
    """(since, before_from, before, after): the first fully treated week, the first week
    before, and the weeks before and after (a mid-week start's own week in neither; after: to
    the end or the as-of day ``local``)."""
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
    return since, before_from, before, after


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
    peers: int = PEERS,
    peer_ids: tuple[str, ...] | None = None,
    reads: panels.Reads | None = None,
) -> PersonalResult:
    """The personal experiment's result on the workspace's data (as of ``stamp``, naive UTC;
    default the data's as-of time). ``run`` gives the peers (its ``rep_resources``; or
    ``peer_ids`` when found beforehand) and, for the impact rate, the weekly figures; ``reads``
    the rep's and peers' weekly outcome and the rep's adoption when read beforehand."""
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
    since, before_from, before, after = windows(experiment, settings, local)
    if peer_ids is None:
        peer_ids = _peers(ws, run, rep_id, peers)
    if reads is not None:
        out, adopt = reads.outcome, reads.adoption
    else:
        out = outcome_weekly(
            ws,
            experiment.outcome,
            horizon_days=experiment.horizon_days,
            first=before_from,
            stamp=utc,
            run=run,
            grain="rep",
            units=[rep_id, *peer_ids],
        )
        adopt = panels.adoption_panel(ws, practice, [rep_id], before_from, utc, grain="rep")
    mine = out.frame[out.frame["unit_id"] == rep_id]
    adopt = replace(adopt, frame=adopt.frame[adopt.frame["unit_id"] == rep_id])
    out = replace(out, frame=out.frame[out.frame["unit_id"].isin([rep_id, *peer_ids])])
    p_before, d_before = _pooled(adopt.frame, before)
    p_after, d_after = _pooled(adopt.frame, after)
    o_before, n_before = _pooled(mine, before)
    o_after, n_after = _pooled(mine, after)
    peers_before, peers_after, counted = peer_figures(out.frame, rep_id, before, after)

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
        need = more_needed(o_before, n_after, n_before)
    # what the words and the result both carry
    shared = {
        "since": since,
        "outcome": experiment.outcome,
        "horizon_days": experiment.horizon_days,
        "practice_before": p_before,
        "practice_after": p_after,
        "deals_before": d_before,
        "outcome_before": o_before,
        "n_before": n_before,
        "outcome_after": o_after,
        "n_after": n_after,
        "swing": swing,
        "peers_before": peers_before,
        "peers_after": peers_after,
        "more_needed": need,
        "unit": {"win_rate": "deals", "impact_rate": "touches", "response_hours": "buyer events"}[
            experiment.outcome
        ],
    }
    panel = pd.concat(
        [
            _panel_rows(out.frame, rep_id, "outcome", counted),
            _panel_rows(adopt.frame, rep_id, "adoption"),
        ],
        ignore_index=True,
    )
    return PersonalResult(
        rep_id=rep_id,
        practice_id=practice.id,
        start=start,
        before_from=before_from,
        deals_after=d_after,
        difference=diff,
        diff_low=lo,
        diff_high=hi,
        peers=counted,
        text=words.personal_sentence(**shared),
        panel=panel.astype({"value": "float64", "volume": "float64", "mature": "bool"}),
        **shared,
    )
