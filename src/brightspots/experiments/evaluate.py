"""An experiment's result on the workspace's data, and the run tables of every experiment.

``result`` reads the weekly outcome and adoption of the treated and comparison teams (one
query each, ``panels``), fits both (``did.fit``: Callaway & Sant'Anna cells, event study,
pre-trend check, wild cluster bootstrap-t), sizes what is still needed with the experiment's own
noise (``power``), and words the verdict (``verdict``). A personal experiment gets its
before/after instead (``personal``), never a verdict.

``run_tables`` does it for every experiment in app state after an analysis (``analyze`` calls it
inside ``Workspace.writing()`` with the run just saved, whose ``effort_impact`` it reads). An
experiment that cannot be computed becomes a status row with verdict ``failed`` and the reason
as its warning: never a failed run.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
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


def _latest_run(ws: Workspace) -> Run | None:
    runs = ws.runs()
    return runs[-1] if runs else None


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
    """The weekly figures of the panel's units and weeks (``PANEL_FIELDS``)."""
    f = weekly.frame
    f = f[f["unit_id"].isin(panel.units) & f["week"].isin(set(panel.weeks))]
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
    decides when ``early``: before the planned weeks, Haybittle-Peto), levels, event study,
    cells, pre-trend (flagged by the verdict's rule against ``detect``; never for adoption)
    and panel."""
    o, s = fit.overall, fit.strict
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


def _planned_weeks(plans: Sequence[Plan]) -> int | None:
    for p in reversed(plans):
        power = (p.plan or {}).get("power")
        if isinstance(power, dict) and power.get("weeks_needed") is not None:
            return int(power["weeks_needed"])
    return None


def _created(experiment: Experiment) -> date | None:
    try:
        return date.fromisoformat(experiment.created_at[:10])
    except (TypeError, ValueError):
        return None


def result(
    ws: Workspace,
    experiment: Experiment,
    plans: Sequence[Plan],
    *,
    settings: ExperimentSettings,
    run: Run | None = None,
    stamp: datetime | None = None,
) -> ExperimentResult:
    """The experiment's result on the workspace's current data (as of ``stamp``, naive UTC;
    default the data's as-of time). ``run`` is the analysis run read for the impact rate, the
    deal mix and peers (default: the latest, if any)."""
    from brightspots.experiments import did, personal, power
    from brightspots.experiments.verdict import MeasureFit, Timing, verdict

    run = run if run is not None else _latest_run(ws)
    utc, local = panels.local_as_of(ws, stamp)
    if experiment.kind == "personal":
        got = personal.result(ws, experiment, settings=settings, run=run, stamp=utc)
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
    hist = compare.history_weeks(experiment.first_start(), settings.history_weeks)
    last = local.date() if local is not None else hist[-1]
    if experiment.end_date is not None:
        last = min(last, experiment.end_date)
    weeks = panels.weeks_between(hist[0], max(last, hist[-1]))
    k = settings.baseline_weeks
    outcome_weekly = personal.outcome_weekly(
        ws,
        experiment.outcome,
        horizon_days=experiment.horizon_days,
        first=hist[0],
        stamp=utc,
        run=run,
        grain="team",
        units=units,
    )
    adoption_weekly = panels.adoption_panel(ws, practice, units, hist[0], utc)
    fits = {}
    for name, weekly in (("outcome", outcome_weekly), ("adoption", adoption_weekly)):
        panel = panels.to_panel(
            weekly, units, weeks, starts, end=experiment.end_date, weight_weeks=hist
        )
        fitted = did.fit(panel, baseline_weeks=k, draws=settings.draws, seed=0)
        fits[name] = (panel, fitted, did.levels(panel, baseline_weeks=k))

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
                design, noise, delta, baseline_weeks=k, power=settings.power
            )
    planned = _planned_weeks(plans)
    first = panels.treated_from(experiment.first_start())
    timing = Timing(
        starts=tuple(starts.values()),
        as_of=local.date() if local is not None else first - timedelta(days=1),
        lag_days=lag,
        adoption_lag_days=int(adoption_weekly.lag.days),
        planned_weeks=planned,
        weeks_needed=needed,
        created=_created(experiment),
        dip=compare.dipped(
            outcome_weekly, treated, hist, higher=words.higher_is_better(experiment.outcome)
        ),
        figures_run=run.run_id if experiment.outcome == "impact_rate" and run else None,
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
    )["words"]
    return ExperimentResult(
        experiment,
        v.code,
        v.headline,
        lines=v.lines,
        warnings=v.warnings,
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


def run_tables(ws: Workspace, run: Run) -> dict[str, pd.DataFrame]:
    """``experiment_status``, ``experiment_effects`` and ``experiment_panel`` of every
    experiment in app state (active or stopped) on the workspace's data, reading ``run`` for
    impact, deal mix and peers. Empty tables when there is none; a failing experiment is a
    ``failed`` status row, never an error."""
    from brightspots.experiments import store

    experiments = store.load(ws)
    if not experiments:
        return tables([])
    stamp, _ = panels.local_as_of(ws)
    try:
        settings = ExperimentSettings.of(ws.config)
    except ExperimentError as e:
        return tables([failed(x, str(e), data_as_of=stamp) for x in experiments])
    results = []
    for x in experiments:
        try:
            plans = store.plans(ws, x.experiment_id)
            results.append(result(ws, x, plans, settings=settings, run=run, stamp=stamp))
        except Exception as e:  # noqa: BLE001 - one experiment never fails the run
            log.warning("experiment %s failed: %s", x.experiment_id, e, exc_info=True)
            results.append(failed(x, f"{type(e).__name__}: {e}", data_as_of=stamp))
    return tables(results)
