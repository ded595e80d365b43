"""The plan of an experiment, frozen when it is made and when a wave is added: which teams it is
compared with and why, and how long it should take to see an effect (design section 5).

**Comparison teams.** Teams treated in another experiment of the same practice (active or
stopped) are never comparison teams (``other_starts``; ``evaluate`` also stops counting a
comparison team from the start of a later such experiment). ``all``: every other team with
reps not in the experiment (the experiment's own teams serve until their start in any case).
``similar`` (the default): the candidates are those teams with at least ``min_weeks`` mature
weeks in the ``history_weeks`` before the first start. Each team is described over the
*matching weeks*, the history before the last ``baseline_weeks`` (weeks -26 to -13 with the
defaults, ``matching_weeks``), by the outcome's level, its volume (log), how often the practice
was already used (the analysis run's ``practice_deals``) and its deal mix (the mean expected
chance of its deals in the run's ``deal_expectations``); the features are z-scored over the
candidates and the treated teams, a candidate's distance is its Euclidean distance to the
nearest treated team, and the k nearest are taken (ties by team id), k = ``comparison_teams``
or max(6, 2 x treated), capped by the candidates. Nothing after the start is ever read.

The weeks just before the start are left out of the matching on purpose, and so is the trend:
the pre-trend check tests whether the teams moved together over the last 26 weeks, and teams
picked for moving like the treated ones over those same weeks would pass it by construction
(and drift back afterwards: a noisy trend regresses to the mean). Nor is the baseline (the
``baseline_weeks`` before the start) used to pick them, so their noise in it is not selected.

**Power** (``power``): the noise of the outcome before the start, and the weeks of new deals
after which an effect of ``[experiments] detect`` would show, with these teams.

A long history window limits regression to the mean when teams were picked after a dip; when
the treated teams' last 8 weeks sit more than one weekly standard deviation below their level
over the whole window (above, for response time), the plan warns.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from brightspots.experiments import panels, words
from brightspots.experiments.config import ExperimentError, ExperimentSettings
from brightspots.experiments.store import Experiment, Plan
from brightspots.workspace import Run, Workspace

FEATURES = ("level", "log_volume", "practice_use", "deal_mix")
#: the least matching weeks (else the first half of the history is matched on)
MIN_MATCH_WEEKS = 4
#: the weeks before the start compared with the whole history for a dip
DIP_WEEKS = 8
#: the least comparison teams taken by default
MIN_COMPARISON = 6


def default_k(treated: int, setting: int = 0) -> int:
    """How many comparison teams: ``setting`` when given, else max(6, 2 x treated)."""
    return setting if setting > 0 else max(MIN_COMPARISON, 2 * treated)


def history_weeks(first_start: date, weeks: int) -> tuple[date, ...]:
    """The ``weeks`` Mondays before the first fully treated week of ``first_start``, without a
    mid-week start's own week."""
    first = panels.treated_from(first_start)
    out = panels.weeks_between(first - timedelta(weeks=weeks), first - timedelta(days=1))
    mixed = panels.mixed_week(first_start)
    return tuple(w for w in out if w != mixed)


def matching_weeks(first_start: date, weeks: int, baseline_weeks: int) -> tuple[date, ...]:
    """The history weeks comparison teams are matched on: the ``history_weeks`` before the
    first start without its last ``baseline_weeks`` (weeks -26 to -13 with the defaults), or
    the history's first half when fewer than ``MIN_MATCH_WEEKS`` would remain."""
    hist = history_weeks(first_start, weeks)
    cut = panels.treated_from(first_start) - timedelta(weeks=baseline_weeks)
    early = tuple(w for w in hist if w < cut)
    return early if len(early) >= MIN_MATCH_WEEKS else hist[: max(1, len(hist) // 2)]


def team_features(
    weekly: panels.Weekly, teams: Sequence[str], weeks: Sequence[date]
) -> pd.DataFrame:
    """Per team: level, log_volume and mature_weeks of ``weekly`` over ``weeks``."""
    y, n = weekly.matrix(list(teams), list(weeks))
    rows = []
    for i, team in enumerate(teams):
        have = np.isfinite(y[i])
        w = np.where(have, n[i], 0.0)
        level = float(np.dot(w, np.where(have, y[i], 0.0)) / w.sum()) if w.sum() > 0 else math.nan
        rows.append(
            {
                "team_id": team,
                "level": level,
                "log_volume": math.log1p(float(n[i].mean())) if len(weeks) else math.nan,
                "mature_weeks": int(have.sum()),
            }
        )
    return pd.DataFrame(rows, columns=["team_id", "level", "log_volume", "mature_weeks"])


def match_features(
    weekly: panels.Weekly, teams: Sequence[str], first_start: date, settings: ExperimentSettings
) -> pd.DataFrame:
    """Per team: mature_weeks over the whole history (who can be compared), level and
    log_volume over the matching weeks only (``matching_weeks``; the module docstring says
    why)."""
    hist = history_weeks(first_start, settings.history_weeks)
    match = matching_weeks(first_start, settings.history_weeks, settings.baseline_weeks)
    out = team_features(weekly, teams, hist)[["team_id", "mature_weeks"]]
    return out.merge(team_features(weekly, teams, match).drop(columns="mature_weeks"))


def run_features(ws: Workspace, run: Run | None, practice_id: str, before: date) -> pd.DataFrame:
    """Per team, from the analysis run's deals closed before ``before`` (local day): deal_mix,
    the mean expected chance ``p_hat`` of its deals (``deal_expectations``), and practice_use,
    the mean of the practice's primary measure over them (``practice_deals``). Empty without a
    run."""
    out = pd.DataFrame({"team_id": pd.Series(dtype=object)})
    if run is None or not ws.has_table("deal_expectations"):
        return out.assign(practice_use=np.nan, deal_mix=np.nan)
    con = ws.duckdb()
    until = datetime.combine(before, datetime.min.time())
    col = f"primary__{practice_id}"
    use = "NULL"
    join = ""
    params: list[Any] = []
    if ws.has_table("practice_deals"):
        columns = {r[0] for r in con.execute('DESCRIBE "practice_deals"').fetchall()}
        if col in columns:
            use = f'avg(p."{col}")'
            join = (
                "LEFT JOIN (SELECT * FROM practice_deals WHERE run_id = ?) p USING (opportunity_id)"
            )
            params.append(run.run_id)
    got = con.execute(
        f"SELECT d.team_id, {use} AS practice_use, avg(d.p_hat) AS deal_mix "
        f"FROM (SELECT * FROM deal_expectations WHERE run_id = ?) d {join} "
        "WHERE d.team_id IS NOT NULL AND d.closed_local < ? GROUP BY d.team_id",
        [run.run_id, *params, until],
    ).df()
    return got.astype({"team_id": object, "practice_use": "float64", "deal_mix": "float64"})


def zscores(features: pd.DataFrame, columns: Sequence[str] = FEATURES) -> np.ndarray:
    """The features z-scored over the rows given; a missing value or a constant feature sits at
    the mean (0)."""
    x = features[list(columns)].to_numpy(dtype=float)
    have = np.isfinite(x)
    count = have.sum(axis=0)
    safe = np.where(have, x, 0.0)
    mean = safe.sum(axis=0) / np.maximum(count, 1)
    var = np.where(have, (safe - mean) ** 2, 0.0).sum(axis=0) / np.maximum(count, 1)
    sd = np.where(var > 0, np.sqrt(var), np.inf)
    z = (x - mean) / sd
    return np.where(np.isfinite(z), z, 0.0)


def nearest(features: pd.DataFrame, treated: Sequence[str], k: int) -> pd.DataFrame:
    """The ``k`` candidates (rows of ``features`` not in ``treated``) nearest to a treated team,
    with ``distance`` (to the nearest treated team) and ``nearest_to``; ties by team id."""
    z = zscores(features)
    ids = features["team_id"].astype(str).to_numpy()
    is_treated = np.isin(ids, list(treated))
    if not is_treated.any():
        raise ValueError("no treated team among the features")
    d = np.sqrt(((z[:, None, :] - z[None, is_treated, :]) ** 2).sum(axis=2))
    out = features.assign(distance=d.min(axis=1), nearest_to=ids[is_treated][d.argmin(axis=1)])[
        ~is_treated
    ]
    return out.sort_values(["distance", "team_id"]).head(k).reset_index(drop=True)


def dipped(
    weekly: panels.Weekly, treated: Sequence[str], weeks: Sequence[date], *, higher: bool
) -> bool:
    """Whether the treated teams (pooled) sat more than one weekly SD worse in their last
    ``DIP_WEEKS`` weeks before the start than over all of ``weeks``."""
    y, n = weekly.matrix(list(treated), list(weeks))
    have = np.isfinite(y)
    w = np.where(have, n, 0.0)
    mass = np.where(have, y, 0.0) * w
    per_week_n = w.sum(axis=0)
    ok = per_week_n > 0
    if ok.sum() < DIP_WEEKS + 2:
        return False
    pooled = mass.sum(axis=0)[ok] / per_week_n[ok]
    vol = per_week_n[ok]
    level = float(np.dot(vol, pooled) / vol.sum())
    recent = float(np.dot(vol[-DIP_WEEKS:], pooled[-DIP_WEEKS:]) / vol[-DIP_WEEKS:].sum())
    sd = float(np.sqrt(np.dot(vol, (pooled - level) ** 2) / vol.sum()))
    gap = level - recent if higher else recent - level
    return sd > 0 and gap > sd


def _check_teams(treated: Sequence[str], units: pd.DataFrame) -> None:
    """Every treated team is a team with reps and no team under it."""
    staffed = set(units.loc[units["reps"] > 0, "team_id"].astype(str))
    known = set(units["team_id"].astype(str))
    children: dict[str, list[str]] = {}
    for t, p in zip(units["team_id"], units["parent_team_id"], strict=True):
        if pd.notna(p) and str(p) != str(t):
            children.setdefault(str(p), []).append(str(t))
    for team in treated:
        if team not in known:
            raise ExperimentError(
                f"unknown team {team!r}; teams with reps: {', '.join(sorted(staffed))}"
            )
        if team in children:
            raise ExperimentError(
                f"{team} is a parent team: an experiment compares teams with reps, so give its "
                f"teams instead: {', '.join(sorted(children[team]))}"
            )
        if team not in staffed:
            raise ExperimentError(
                f"team {team} has no reps: an experiment needs teams whose reps make deals"
            )


def practice_of(ws: Workspace, practice_id: str):
    """The workspace's practice ``practice_id`` (an error lists them when there is none)."""
    from brightspots.practices.registry import registry

    found = [p for p in registry(ws.config) if p.id == practice_id]
    if not found:
        ids = ", ".join(p.id for p in registry(ws.config))
        raise ExperimentError(f"unknown practice {practice_id!r}; the practices are {ids}")
    return found[0]


def other_starts(experiment: Experiment, experiments: Sequence[Experiment]) -> dict[str, date]:
    """The teams treated in another experiment (active or stopped) of ``experiment``'s
    practice, each with its earliest start there: they are not comparison teams (from that
    start on, for a team frozen in a plan before)."""
    out: dict[str, date] = {}
    for e in experiments:
        if e.experiment_id == experiment.experiment_id or e.practice_id != experiment.practice_id:
            continue
        for team, start in e.starts().items():
            out[team] = min(start, out.get(team, start))
    return out


def _busy(ws: Workspace, experiment: Experiment) -> set[str]:
    """Teams treated in another experiment (active or stopped) of the same practice."""
    from brightspots.experiments import store

    return set(other_starts(experiment, store.load(ws)))


def _latest_run(ws: Workspace) -> Run | None:
    runs = ws.runs()
    return runs[-1] if runs else None


def _iso(stamp: datetime | None) -> str | None:
    return None if stamp is None else pd.Timestamp(stamp).strftime("%Y-%m-%dT%H:%M:%SZ")


def plan(
    ws: Workspace,
    experiment: Experiment,
    wave: int,
    *,
    settings: ExperimentSettings,
    as_of: datetime | None = None,
) -> Plan:
    """The plan of wave ``wave`` of ``experiment`` (with that wave's teams in it) on the
    workspace's data as of ``as_of`` (naive UTC; default the data's as-of time).

    Raises ``ExperimentError`` for an unknown practice, an unknown team, a parent team (naming
    its teams), a team without reps, and when no comparison is possible (no other team and every
    team starting the same week)."""
    from brightspots.experiments import store

    practice_of(ws, experiment.practice_id)
    utc, _ = panels.local_as_of(ws, as_of)
    made = store.now()
    if experiment.kind == "personal":
        body = {
            "reason": (
                "A personal experiment compares your own deals before and after the start; your "
                "10 peers most like you in resources are shown beside you as a group."
            ),
            "warnings": [],
        }
        return Plan(experiment.experiment_id, wave, made, _iso(utc), (), body)
    return _team_plan(ws, experiment, wave, settings=settings, utc=utc, made=made)


def _team_plan(
    ws: Workspace,
    experiment: Experiment,
    wave: int,
    *,
    settings: ExperimentSettings,
    utc: datetime | None,
    made: str,
) -> Plan:
    units = panels.team_units(ws)
    treated = list(experiment.teams())
    if not treated:
        raise ExperimentError(f"experiment {experiment.name!r} has no teams")
    _check_teams(treated, units)
    staffed = sorted(units.loc[units["reps"] > 0, "team_id"].astype(str))
    hist = history_weeks(experiment.first_start(), settings.history_weeks)
    match = matching_weeks(
        experiment.first_start(), settings.history_weeks, settings.baseline_weeks
    )
    run = _latest_run(ws)
    weekly = team_outcome(ws, experiment, first=hist[0], stamp=utc, run=run, units=staffed)
    feats = match_features(weekly, staffed, experiment.first_start(), settings)
    feats = feats.merge(
        run_features(ws, run, experiment.practice_id, match[-1] + timedelta(days=7)),
        on="team_id",
        how="left",
    )
    busy = _busy(ws, experiment)
    others = [t for t in staffed if t not in treated]
    starts = experiment.starts()
    staggered = len({panels.treated_from(s) for s in starts.values()}) > 1
    warnings: list[str] = []
    reason_extra = ""
    left_out: list[str] = []
    if experiment.comparison == "all":
        chosen = [t for t in others if t not in busy]
        left_out = sorted(set(others) & busy)
        table = feats[feats["team_id"].isin(chosen)].assign(distance=np.nan, nearest_to="")
        if left_out:
            reason_extra = (
                f" Left out: {words.count(len(left_out), 'team')} (in another experiment of "
                "this practice)."
            )
    else:
        ok = feats["mature_weeks"] >= settings.min_weeks
        cand = [t for t in others if t not in busy and bool(ok[feats["team_id"] == t].any())]
        left_out = sorted(set(others) - set(cand))
        k = min(default_k(len(treated), settings.comparison_teams), len(cand))
        pool = feats[feats["team_id"].isin(cand + treated)].reset_index(drop=True)
        table = (
            nearest(pool, treated, k)
            if cand
            else pool.iloc[0:0].assign(distance=np.nan, nearest_to="")
        )
        chosen = list(table["team_id"].astype(str))
        if left_out:
            # a count, not names: the reason is shown to everyone who follows the experiment,
            # who may not see those teams (their ids stay in the plan's "left_out")
            reason_extra = (
                f" Left out: {words.count(len(left_out), 'team')} (in another experiment of "
                f"this practice or fewer than {settings.min_weeks} weeks of figures before the "
                "start)."
            )
    if not chosen and not staggered:
        raise ExperimentError(
            "no team to compare with: every team with reps is in the experiment (or cannot be "
            "compared), and they all start the same week; leave some teams out, or start half "
            "of them some weeks later (`experiment extend`)"
        )
    if not chosen:
        warnings.append(
            "No team outside the experiment to compare with: the later waves' teams are the "
            "comparison until they start, so the last wave has none."
        )
    thin = feats[feats["team_id"].isin(treated) & (feats["mature_weeks"] < settings.min_weeks)]
    if len(thin):
        warnings.append(
            f"{words.listing(list(thin['team_id']))} had fewer than {settings.min_weeks} weeks "
            "of figures before the start: their baseline is thin."
        )
    if len(treated) < settings.min_teams:
        warnings.append(
            f"Only {words.count(len(treated), 'team')} in the experiment: with so few teams the "
            "interval is less sure than it looks; take the verdict as a first sign."
        )
    if dipped(weekly, treated, hist, higher=words.higher_is_better(experiment.outcome)):
        warnings.append(words.dip_warning(DIP_WEEKS))
    power = power_words(
        weekly,
        experiment,
        treated=treated,
        comparison=chosen,
        hist=hist,
        settings=settings,
        lag=lag_days(ws, experiment.outcome, experiment.horizon_days),
        anticipation=panels.anticipation_weeks(ws),
    )
    body: dict[str, Any] = {
        "reason": words.comparison_reason(
            experiment.comparison, treated, chosen, _weeks_before(experiment.first_start(), match)
        )
        + reason_extra,
        "left_out": left_out,
        "power": power,
        "warnings": warnings,
        "treated": treated,
        "history": _span(hist),
        "matched": _span(match),
        "k": len(chosen),
        "features": _records(feats),
        "distances": {
            str(t): _float(d) for t, d in zip(table["team_id"], table["distance"], strict=True)
        },
        "nearest_to": {
            str(t): str(n) for t, n in zip(table["team_id"], table["nearest_to"], strict=True)
        },
    }
    return Plan(experiment.experiment_id, wave, made, _iso(utc), tuple(chosen), body)


def _weeks_before(first_start: date, weeks: Sequence[date]) -> tuple[int, int]:
    """(first, last) of ``weeks`` in weeks before the first fully treated week: (26, 13)."""
    first = panels.treated_from(first_start)
    return (first - weeks[0]).days // 7, (first - weeks[-1]).days // 7


def _span(weeks: Sequence[date]) -> dict[str, str]:
    """The first and last day of consecutive weeks (Mondays)."""
    return {"from": weeks[0].isoformat(), "to": (weeks[-1] + timedelta(days=6)).isoformat()}


def _float(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for r in df.to_dict("records"):
        out.append({k: (str(v) if k == "team_id" else _float(v)) for k, v in r.items()})
    return out


def team_outcome(
    ws: Workspace,
    experiment: Experiment,
    *,
    first: date,
    stamp: datetime | None,
    run: Run | None,
    units: Sequence[str],
) -> panels.Weekly:
    """The weekly outcome of a team experiment for ``units`` from the week of ``first`` (the
    plan and the result read it alike)."""
    from brightspots.experiments.personal import outcome_weekly

    return outcome_weekly(
        ws,
        experiment.outcome,
        horizon_days=experiment.horizon_days,
        first=first,
        stamp=stamp,
        run=run,
        grain="team",
        units=list(units),
    )


def lag_days(ws: Workspace, outcome: str, horizon_days: int) -> int:
    """Days after a week's end before its outcome is settled: the horizon (win rate), the
    impact window (impact rate) or the response cap (response hours), rounded up."""
    if outcome == "win_rate":
        return int(horizon_days)
    if outcome == "impact_rate":
        from brightspots.metrics import settings

        span = settings(ws)["impact_window"]
    else:
        from brightspots.metrics.response import response_cap

        span = response_cap(ws.config)
    return max(1, math.ceil(span.total_seconds() / 86400))


def power_words(
    weekly: panels.Weekly,
    experiment: Experiment,
    *,
    treated: Sequence[str],
    comparison: Sequence[str],
    hist: Sequence[date],
    settings: ExperimentSettings,
    lag: int,
    anticipation: int = 0,
) -> dict[str, Any]:
    """The power of the plan: the noise of the outcome over ``hist`` (every team untreated
    then), the design (planned starts, mean weekly volumes), the weeks of new deals needed to
    detect ``[experiments] detect`` (the ``anticipation`` weeks before each start left out of
    the baseline, as the fit will), and the sentence. ``weeks_needed`` None: not within two
    years."""
    from brightspots.experiments import power

    units = [*treated, *comparison]
    pre = panels.to_panel(weekly, units, hist, {}, weight_weeks=hist)
    kept = set(pre.units)
    noise = power.noise(pre)
    first = panels.treated_from(experiment.first_start())
    starts = experiment.starts()
    order = [u for u in units if u in kept]
    live = pre.n.sum(axis=0) > 0  # the weeks of the history the data cover
    means = pre.n[:, live].mean(axis=1) if live.any() else pre.weight
    volume = dict(zip(pre.units, means, strict=True))
    start = np.array(
        [(panels.treated_from(starts[u]) - first).days // 7 if u in starts else -1 for u in order],
        dtype=int,
    )
    vol = np.array([volume[u] for u in order], dtype=float)
    design = power.Design(start=start, volume=vol)
    delta = float(settings.detect[experiment.outcome])
    k = settings.baseline_weeks
    weeks = None
    larger = None
    if design.treated >= 2 and noise.between + noise.within > 0:
        sized = {"baseline_weeks": k, "power": settings.power, "anticipation": anticipation}
        weeks = power.weeks_needed(design, noise, delta, **sized)
        if weeks is None:
            larger = (2 * delta, power.weeks_needed(design, noise, 2 * delta, **sized))
    treated_vol = [volume[u] for u in treated if u in volume]
    text = ""
    if design.treated >= 2:
        text = power.sentence(
            outcome=experiment.outcome,
            horizon_days=experiment.horizon_days,
            teams=design.treated,
            comparison_teams=int(np.sum(start < 0)),
            comparison=experiment.comparison,
            volume=float(np.mean(treated_vol)) if treated_vol else math.nan,
            delta=delta,
            weeks=weeks,
            first_start=first,
            lag_days=lag,
            power=settings.power,
            larger=larger,
        )
    else:
        text = (
            "With one team the effect cannot be told apart from the team's own luck: add a "
            "team to know how long it would take."
        )
    return {
        "words": text,
        "weeks_needed": weeks,
        "delta": delta,
        "power": settings.power,
        "noise": {"between": noise.between, "within": noise.within, "rho": noise.rho},
        "volume": {u: _float(v) for u, v in volume.items()},
    }
