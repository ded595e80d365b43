"""An experiment's result on the workspace's data, and the run tables of every experiment.

``result`` reads the weekly outcome and adoption of the treated and comparison teams (one
query each, ``panels``), fits both (``did.fit``: Callaway & Sant'Anna cells, event study,
pre-trend check, wild cluster bootstrap-t), sizes what is still needed with the experiment's own
noise (``power``), and words the verdict (``verdict``). A personal experiment gets its
before/after instead (``personal``), never a verdict.

The weeks just before each start are anticipation weeks (``panels.anticipation_weeks``): deals
opened then may already carry the practice, so they are in neither the baseline nor the
pre-trend. Deals still open at the start from earlier weeks stay in the baseline: the effect is
the one on new deals, and conservative where the practice also helps deals already open. A
frozen comparison team later treated in another experiment of the same practice stops counting
from that start (its anticipation weeks included), with a warning.

``run_tables`` does it for every experiment in app state after an analysis (``analyze`` calls it
inside ``Workspace.writing()`` with the run just saved, whose ``effort_impact`` it reads),
reading each measure once for all experiments of the same outcome and horizon, and of the same
practice (``read_together``). An experiment that cannot be computed becomes a status row with
verdict ``failed`` and the reason as its warning: never a failed run.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from brightspots.experiments import compare, panels, words
from brightspots.experiments.config import ExperimentError, ExperimentSettings
from brightspots.experiments.model import (
    PANEL_FIELDS,
    ExperimentResult,
    Measure,
    empty_effects,
    empty_panel,
    tables,
)
from brightspots.experiments.store import Experiment, Plan
from brightspots.workspace import Run, Workspace

log = logging.getLogger(__name__)


def _week_at(weeks: Sequence[date], k: int | None) -> date | None:
    if k is None:
        return None
    return weeks[0] + timedelta(weeks=int(k)) if weeks else None


def _effects(fit, weeks: Sequence[date]) -> pd.DataFrame:
    """The fit's rows of ``experiment_effects`` (without the two keys)."""
    rows = []

    def add(aggregation: str, e, g=None, t=None, e_=None) -> None:
        rows.append(
            {
                "aggregation": aggregation,
                "g": _week_at(weeks, g),
                "t": _week_at(weeks, t),
                "e": math.nan if e_ is None else float(e_),
                "estimate": e.estimate,
                "se": e.se,
                "ci_low": e.ci_low,
                "ci_high": e.ci_high,
                "n_treated": float(e.n_treated),
                "n_control": float(e.n_control),
                "weight": e.weight,
            }
        )

    if fit.overall is not None:
        add("overall", fit.overall)
    for e in fit.event:
        add("event", e, e_=e.e)
    for e in fit.cells:
        add("cell", e, g=e.g, t=e.t, e_=e.e)
    p = fit.pretrend
    if p is not None:
        rows.append(
            {
                "aggregation": "pretrend",
                "g": None,
                "t": None,
                "e": math.nan,
                "estimate": p.slope,
                "se": p.se,
                "ci_low": p.ci_low,
                "ci_high": p.ci_high,
                "n_treated": math.nan,
                "n_control": math.nan,
                "weight": math.nan,
            }
        )
    if not rows:
        return empty_effects()
    out = pd.DataFrame(rows)
    return out.astype({c: "float64" for c in out.columns if c not in ("aggregation", "g", "t")})


def _panel_rows(weekly: panels.Weekly, panel, treated: Sequence[str]) -> pd.DataFrame:
    """The weekly figures of the panel's units and weeks (``PANEL_FIELDS``), each unit's up to
    its ``stop``."""
    counted = {
        (u, w)
        for u, stop in zip(panel.units, panel.stop, strict=True)
        for w in panel.weeks[: int(stop)]
    }
    f = weekly.frame
    keys = zip(f["unit_id"], f["week"], strict=True)
    f = f[np.fromiter((k in counted for k in keys), dtype=bool, count=len(f))]
    if not len(f):
        return empty_panel()
    role = np.where(f["unit_id"].isin(list(treated)), "treated", "comparison")
    out = f.assign(role=role)[PANEL_FIELDS]
    return out.astype({"value": "float64", "volume": "float64", "mature": "bool"})


def _first_figures(first: date, lag: timedelta, as_of: datetime | None) -> date | None:
    """When the first week from ``first`` is settled (None: it already is)."""
    ready = datetime.combine(first + timedelta(days=7), datetime.min.time()) + lag
    if as_of is not None and ready <= as_of:
        return None
    return ready.date()


def measure(
    name: str,
    higher: bool,
    fit,
    levels,
    weekly: panels.Weekly,
    panel,
    treated: Sequence[str],
    *,
    first: date,
    early: bool,
    detect: float | None = None,
) -> Measure:
    """A ``Measure`` of a fit: its overall effect at 95% with its 99.9% interval (which
    decides when ``early``: before the planned weeks, Haybittle-Peto) and its 99% one (which
    decides from then on), levels, event study,
    cells, pre-trend (flagged by the verdict's rule against ``detect``; never for adoption)
    and panel."""
    o, s, r = fit.overall, fit.strict, fit.repeated
    pre = fit.pretrend
    return Measure(
        name=name,
        higher_is_better=higher,
        estimate=None if o is None else o.estimate,
        se=None if o is None else o.se,
        ci_low=None if o is None else o.ci_low,
        ci_high=None if o is None else o.ci_high,
        level=fit.level,
        strict_low=None if s is None else s.ci_low,
        strict_high=None if s is None else s.ci_high,
        repeated_low=None if r is None else r.ci_low,
        repeated_high=None if r is None else r.ci_high,
        early=early,
        treated_before=levels.before,
        treated_after=levels.since,
        comparison_before=levels.comparison_before,
        comparison_after=levels.comparison_since,
        weeks_mature=int(fit.post_weeks),
        first_figures=_first_figures(first, weekly.lag, weekly.as_of),
        pretrend=None
        if pre is None
        else {
            "slope": pre.slope,
            "se": pre.se,
            "ci_low": pre.ci_low,
            "ci_high": pre.ci_high,
            "p": pre.p,
            "drift": pre.drift,
            "weeks": pre.weeks,
            # the verdict's own rule (did.Pretrend.flagged), so the report and the web app
            # never call a comparison fair that the verdict called unfair
            "flagged": detect is not None and pre.flagged(detect),
        },
        effects=_effects(fit, panel.weeks),
        panel=_panel_rows(weekly, panel, treated),
        source=weekly.source,
        notes=tuple(fit.notes),
    )


def _comparison(
    ws: Workspace, experiment: Experiment, plans: Sequence[Plan], settings: ExperimentSettings
) -> tuple[tuple[str, ...], tuple[Plan, ...]]:
    """The comparison teams (every plan's, in order, without the experiment's own) and the
    plans; without any plan (an experiment made by hand), one computed now."""
    plans = tuple(sorted(plans, key=lambda p: p.wave))
    if not plans:
        plans = (compare.plan(ws, experiment, experiment.last_wave, settings=settings),)
    treated = set(experiment.teams())
    seen: list[str] = []
    for p in plans:
        for t in p.comparison_teams:
            if t not in treated and t not in seen:
                seen.append(t)
    return tuple(seen), plans


def comparison_stops(
    comparison: Sequence[str], other: dict[str, date], anticipation: int
) -> dict[str, date]:
    """For each comparison team treated in another experiment of the practice (``other``:
    ``compare.other_starts``), the day from whose week on it no longer counts: its start there,
    ``anticipation`` weeks earlier (the deals it opened just before may carry the practice)."""
    return {t: other[t] - timedelta(weeks=anticipation) for t in comparison if t in other}


def _stopped_warning(n: int) -> str:
    return (
        f"{words.count(n, 'comparison team')} {'was' if n == 1 else 'were'} later put in another "
        "experiment of this practice: from shortly before that start on, "
        f"{'it no longer counts' if n == 1 else 'they no longer count'} as comparison."
    )


def _local_day(ws: Workspace, stamp: str | None) -> date | None:
    """The local day (the workspace's time zone) of a recorded UTC time ("...Z"), None when
    there is none."""
    from brightspots import timezones

    try:
        at = pd.Timestamp(stamp)
    except (TypeError, ValueError):
        return None
    if not stamp or pd.isna(at):
        return None
    at = at.tz_convert("UTC").tz_localize(None) if at.tzinfo is not None else at
    return timezones.local_day(at.to_pydatetime(), ws.timezone)


def _recorded(ws: Workspace, experiment: Experiment) -> dict:
    """``Timing``'s recorded days: when it was made, each wave's (start, added on), its end and
    the day its stop was recorded."""
    waves = tuple(
        sorted(
            {
                (w.start_date, day)
                for w in experiment.waves
                if (day := _local_day(ws, w.added_at)) is not None
            }
        )
    )
    stopped = experiment.stopped_at if experiment.status == "stopped" else None
    if experiment.planned_end is not None and experiment.end_date == experiment.planned_end:
        stopped = None  # it ended on the end it was made with: not chosen after the fact
    return {
        "created": _local_day(ws, experiment.created_at),
        "waves": waves,
        "end": experiment.end_date,
        "stopped_on": _local_day(ws, stopped),
    }


def result(
    ws: Workspace,
    experiment: Experiment,
    plans: Sequence[Plan],
    *,
    settings: ExperimentSettings,
    run: Run | None = None,
    stamp: datetime | None = None,
    others: Sequence[Experiment] | None = None,
    reads: panels.Reads | None = None,
    peer_ids: tuple[str, ...] | None = None,
) -> ExperimentResult:
    """The experiment's result on the workspace's current data (as of ``stamp``, naive UTC;
    default the data's as-of time). ``run`` is the analysis run read for the impact rate, the
    deal mix and peers (default: the latest, if any); ``others`` the workspace's experiments
    (default: loaded), whose teams treated with the same practice stop counting as comparison
    from their start there. ``reads`` (and a personal experiment's ``peer_ids``) are what
    ``run_tables`` read beforehand for many experiments at once."""
    from brightspots.experiments import did, personal, power
    from brightspots.experiments.verdict import MeasureFit, Timing, verdict

    run = run if run is not None else compare._latest_run(ws)
    utc, local = panels.local_as_of(ws, stamp)
    if experiment.kind == "personal":
        got = personal.result(
            ws, experiment, settings=settings, run=run, stamp=utc, peer_ids=peer_ids, reads=reads
        )
        return ExperimentResult(
            experiment,
            "personal",
            got.text,
            personal=got,
            plans=tuple(sorted(plans, key=lambda p: p.wave)),
            starts={},
            data_as_of=utc,
            run_id=None if run is None else run.run_id,
        )
    practice = compare.practice_of(ws, experiment.practice_id)
    treated = experiment.teams()
    starts = experiment.starts()
    comparison, plans = _comparison(ws, experiment, plans, settings)
    units = [*treated, *comparison]
    if others is None:
        from brightspots.experiments import store

        others = store.load(ws)
    anticipation = panels.anticipation_weeks(ws)
    stops = comparison_stops(comparison, compare.other_starts(experiment, others), anticipation)
    hist = compare.history_weeks(experiment.first_start(), settings.history_weeks)
    last = local.date() if local is not None else hist[-1]
    if experiment.end_date is not None:
        last = min(last, experiment.end_date)
    weeks = panels.weeks_between(hist[0], max(last, hist[-1]))
    k = settings.baseline_weeks
    if reads is not None:
        outcome_weekly, adoption_weekly = reads.outcome, reads.adoption
    else:
        outcome_weekly = compare.team_outcome(
            ws, experiment, first=hist[0], stamp=utc, run=run, units=units
        )
        adoption_weekly = panels.adoption_panel(ws, practice, units, hist[0], utc)
    fits = {}
    for name, weekly in (("outcome", outcome_weekly), ("adoption", adoption_weekly)):
        panel = panels.to_panel(
            weekly,
            units,
            weeks,
            starts,
            end=experiment.end_date,
            weight_weeks=hist,
            stops=stops,
        )
        fitted = did.fit(
            panel, baseline_weeks=k, draws=settings.draws, seed=0, anticipation=anticipation
        )
        fits[name] = (panel, fitted, did.levels(panel, baseline_weeks=k, anticipation=anticipation))

    o_panel, o_fit, o_levels = fits["outcome"]
    a_panel, a_fit, a_levels = fits["adoption"]
    binary = practice.kind == "binary"
    min_uptake = settings.min_uptake
    if not binary:
        base = a_levels.before
        min_uptake = 0.1 * abs(base) if math.isfinite(base) and base != 0 else settings.min_uptake
    delta = float(settings.detect[experiment.outcome])
    lag = compare.lag_days(ws, experiment.outcome, experiment.horizon_days)
    needed = None
    if o_fit.treated >= 2:
        noise = power.noise(o_panel)
        if noise.between + noise.within > 0:
            design = power.design_of(o_panel)
            needed = power.weeks_needed(
                design,
                noise,
                delta,
                baseline_weeks=k,
                power=settings.power,
                anticipation=anticipation,
            )
    planned = panels.planned_weeks(plans)
    first = panels.treated_from(experiment.first_start())
    timing = Timing(
        starts=tuple(starts.values()),
        as_of=local.date() if local is not None else first - timedelta(days=1),
        lag_days=lag,
        adoption_lag_days=int(adoption_weekly.lag.days),
        planned_weeks=planned,
        weeks_needed=needed,
        dip=compare.dipped(
            outcome_weekly, treated, hist, higher=words.higher_is_better(experiment.outcome)
        ),
        figures_run=run.run_id if experiment.outcome == "impact_rate" and run else None,
        **_recorded(ws, experiment),
    )
    o_mf = MeasureFit.of(o_fit, o_panel.weeks, levels=o_levels)
    a_mf = MeasureFit.of(a_fit, a_panel.weeks, levels=a_levels)
    v = verdict(
        experiment.outcome,
        o_mf,
        a_mf,
        timing,
        horizon_days=experiment.horizon_days,
        detect=delta,
        min_uptake=min_uptake,
        min_teams=settings.min_teams,
        adoption_binary=binary,
        adoption_kind=practice.kind,
        adoption_higher=practice.higher_is_better,
    )
    early = planned is None or o_fit.post_weeks < planned
    higher = words.higher_is_better(experiment.outcome)
    outcome_m = measure(
        experiment.outcome,
        higher,
        o_fit,
        o_levels,
        outcome_weekly,
        o_panel,
        treated,
        first=first,
        early=early,
        detect=delta,
    )
    adoption_m = measure(
        "adoption",
        practice.higher_is_better,
        a_fit,
        a_levels,
        adoption_weekly,
        a_panel,
        treated,
        first=first,
        early=False,  # adoption is judged at 95% throughout
    )
    # the plan's words again with the latest data (the noise before the start, the volumes);
    # the plan's own weeks stay the ones registered (early looks are judged against them)
    power_text = compare.power_words(
        outcome_weekly,
        experiment,
        treated=[t for t in treated if t in o_panel.units],
        comparison=[t for t in comparison if t in o_panel.units],
        hist=hist,
        settings=settings,
        lag=lag,
        anticipation=anticipation,
    )["words"]
    # comparison teams cut short by another experiment of the practice (within the weeks read)
    cut = [t for t, d in stops.items() if panels.stop_week(d) <= weeks[-1] and t in o_panel.units]
    warnings = (*v.warnings, _stopped_warning(len(cut))) if cut else v.warnings
    return ExperimentResult(
        experiment,
        v.code,
        v.headline,
        lines=v.lines,
        warnings=warnings,
        outcome=outcome_m,
        adoption=adoption_m,
        treated=tuple(treated),
        comparison=comparison,
        starts=dict(starts),
        plans=plans,
        power=power_text,
        weeks_needed=needed,
        data_as_of=utc,
        run_id=None if run is None else run.run_id,
    )


def failed(
    experiment: Experiment, reason: str, *, data_as_of: datetime | None = None
) -> ExperimentResult:
    """The result of an experiment that could not be computed: verdict ``failed``, the reason
    as its warning."""
    return ExperimentResult(
        experiment,
        "failed",
        f"The results of {experiment.name!r} could not be computed.",
        warnings=(reason,),
        treated=experiment.teams(),
        starts=experiment.starts() if experiment.kind == "team" else {},
        data_as_of=data_as_of,
    )


@dataclass(frozen=True)
class Need:
    """What an experiment reads: its outcome (and horizon) at its grain for ``units`` from the
    week of ``first``, and its practice's adoption for ``adopters`` from the same week; with its
    plans (made now when it had none) and a personal experiment's peers."""

    experiment: Experiment
    grain: str
    units: tuple[str, ...]
    adopters: tuple[str, ...]
    first: date
    plans: tuple[Plan, ...] = ()
    peers: tuple[str, ...] | None = None

    def outcome_key(self) -> tuple:
        x = self.experiment
        return (self.grain, x.outcome, x.horizon_days)

    def adoption_key(self) -> tuple:
        return (self.grain, self.experiment.practice_id)


def _needs(
    ws: Workspace,
    experiment: Experiment,
    plans: Sequence[Plan],
    settings: ExperimentSettings,
    profile: pd.DataFrame | None,
) -> Need:
    """What ``result`` will read for ``experiment`` (``read_together``); ``profile`` is the
    run's ``rep_resources`` (``personal.profiles``), where a rep's peers are found."""
    from brightspots.experiments import personal

    if experiment.kind == "personal":
        rep_id = str(experiment.rep_id)
        peers = personal.peers_in(profile, rep_id)
        _, first, _, _ = personal.windows(experiment, settings, None)
        return Need(experiment, "rep", (rep_id, *peers), (rep_id,), first, tuple(plans), peers)
    compare.practice_of(ws, experiment.practice_id)
    comparison, plans = _comparison(ws, experiment, plans, settings)
    units = (*experiment.teams(), *comparison)
    first = compare.history_weeks(experiment.first_start(), settings.history_weeks)[0]
    return Need(experiment, "team", units, units, first, tuple(plans))


def read_together(
    ws: Workspace, needs: Sequence[Need], *, run: Run | None, stamp: datetime | None
) -> dict[str, panels.Reads]:
    """Each experiment's ``panels.Reads``, read once per outcome, horizon and grain (over the
    union of the units, from the earliest week) and once per practice and grain: what
    ``run_tables`` would otherwise read again for every experiment. A read that fails is left
    out (its experiments read, and fail, on their own)."""
    from brightspots.experiments import personal

    utc, _ = panels.local_as_of(ws, stamp)

    def union(key_of, units_of) -> dict[tuple, tuple[list[str], date, Need]]:
        out: dict[tuple, tuple[list[str], date, Need]] = {}
        for n in needs:
            units, first, _ = out.get(key_of(n), ([], n.first, n))
            units += [u for u in units_of(n) if u not in units]
            out[key_of(n)] = (units, min(first, n.first), n)
        return out

    outcomes: dict[tuple, panels.Weekly] = {}
    for key, (units, first, n) in union(Need.outcome_key, lambda n: n.units).items():
        x = n.experiment
        try:
            outcomes[key] = personal.outcome_weekly(
                ws,
                x.outcome,
                horizon_days=x.horizon_days,
                first=first,
                stamp=utc,
                run=run,
                grain=n.grain,
                units=units,
            )
        except Exception:  # noqa: BLE001 - read and told per experiment
            continue
    adoptions: dict[tuple, panels.Weekly] = {}
    for key, (units, first, n) in union(Need.adoption_key, lambda n: n.adopters).items():
        try:
            practice = compare.practice_of(ws, n.experiment.practice_id)
            adoptions[key] = panels.adoption_panel(ws, practice, units, first, utc, grain=n.grain)
        except Exception:  # noqa: BLE001 - read and told per experiment
            continue
    return {
        n.experiment.experiment_id: panels.Reads(
            outcomes[n.outcome_key()], adoptions[n.adoption_key()]
        )
        for n in needs
        if n.outcome_key() in outcomes and n.adoption_key() in adoptions
    }


def run_tables(ws: Workspace, run: Run) -> dict[str, pd.DataFrame]:
    """``experiment_status``, ``experiment_effects`` and ``experiment_panel`` of every
    experiment in app state (active or stopped) on the workspace's data, reading ``run`` for
    impact, deal mix and peers. Empty tables when there is none; a failing experiment is a
    ``failed`` status row, never an error."""
    from brightspots.experiments import personal, store

    experiments = store.load(ws)
    if not experiments:
        return tables([])
    stamp, _ = panels.local_as_of(ws)
    try:
        settings = ExperimentSettings.of(ws.config)
    except ExperimentError as e:
        return tables([failed(x, str(e), data_as_of=stamp) for x in experiments])
    # what every experiment reads, read once (a failure here is met again, and told, below)
    needs: dict[str, Need] = {}
    try:
        mine = any(x.kind == "personal" for x in experiments)
        profile = personal.profiles(ws, run) if mine else None
    except Exception:  # noqa: BLE001
        profile = None
        experiments_read = [x for x in experiments if x.kind != "personal"]
    else:
        experiments_read = experiments
    for x in experiments_read:
        try:
            needs[x.experiment_id] = _needs(
                ws, x, store.plans(ws, x.experiment_id), settings, profile
            )
        except Exception:  # noqa: BLE001
            continue
    reads = read_together(ws, list(needs.values()), run=run, stamp=stamp)
    results = []
    for x in experiments:
        try:
            need = needs.get(x.experiment_id)
            results.append(
                result(
                    ws,
                    x,
                    need.plans if need else store.plans(ws, x.experiment_id),
                    settings=settings,
                    run=run,
                    stamp=stamp,
                    others=experiments,
                    reads=reads.get(x.experiment_id),
                    peer_ids=need.peers if need else None,
                )
            )
        except Exception as e:  # noqa: BLE001 - one experiment never fails the run
            log.warning("experiment %s failed: %s", x.experiment_id, e, exc_info=True)
            results.append(failed(x, f"{type(e).__name__}: {e}", data_as_of=stamp))
    return tables(results)
