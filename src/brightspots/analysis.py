"""``brightspots analyze``: case-mix model, per-rep observed/expected, labels, stored as a run.

Row-level work is Ibis expressions (built in ``casemix``) run by the workspace's engine; only
aggregates come back: covariate cells for the model fit, one row per rep, and histograms of the
expected probabilities (for exact limits, AUC and calibration). The statistics are ``deviance``'s
pure functions over those aggregates.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from brightspots import casemix, deviance, impact, metrics, refresh, resources, timezones
from brightspots import levels as levels_mod
from brightspots import outcomes as outcomes_mod
from brightspots.care import run as care_run
from brightspots.care.config import CareSettings
from brightspots.errors import BrightspotsError
from brightspots.plan import tables as plan_tables
from brightspots.practices import analysis as practice_analysis
from brightspots.practices.registry import registry as practice_registry
from brightspots.windows import parse_window
from brightspots.workspace import Layer, Run, Workspace

Progress = Callable[[str, float], None]

#: the public columns of ``export --table bright_spots``, in order; later work only appends
BRIGHT_SPOT_COLUMNS = [
    "rep_id",
    "name",
    "team_id",
    "closed",
    "observed",
    "expected",
    "oe",
    *deviance.LIMIT_COLUMNS,
    "label",
    "reason",
]
P_DECIMALS = 4  # p_hat is binned to this many decimals for the exact limits
HIST_STEP = 0.001  # p_hat histogram step for AUC and calibration
LEADERBOARD_SIZE = 10


class AnalysisError(BrightspotsError):
    """The data cannot be analysed as configured."""


def _noop(step: str, fraction: float) -> None:
    return None


def amount_column(ws: Workspace, closed: ir.Table) -> tuple[str | None, list[str]]:
    """Which amount the case-mix model uses for deal size, and the warning that goes with it."""
    cfg = ws.config["analysis"]
    n_initial = int(ws.execute(closed.initial_amount.count()))
    if n_initial > 0:
        return "initial_amount", []
    if cfg["amount_fallback"] == "drop":
        return None, [
            "No amount at creation (initial_amount) in the data: deal size was left out of the "
            'case-mix model ([analysis] amount_fallback = "drop").'
        ]
    return "amount", [
        "No amount at creation (initial_amount) in the data: the current amount was used for "
        "deal size. A final amount can carry the outcome (won deals are often re-priced), which "
        "makes expected results lean toward what happened. Set [analysis] amount_fallback = "
        '"drop" to leave deal size out instead.'
    ]


def analyze(
    ws: Workspace,
    progress: Progress | None = None,
    *,
    window: str | None = None,
    min_volume: int | None = None,
    practices: bool = True,
    since: date | None = None,
    full: bool = False,
    accounts_and_care: bool = True,
) -> Run:
    """Analyse the workspace's current data and store the results as a new run.

    ``window`` ("12m", "90d", "all") and ``min_volume`` override the config for this run (reps;
    teams and regions use ``team_window``). ``practices=False`` finds bright spots only: no
    effort and buyer impact, practices or peer resources (for detection benchmarks);
    ``accounts_and_care=False`` leaves out the key-account plan and the care tables too (their
    notes say so): what scoring bright spots alone needs.
    On DuckDB the touch ledger and ``effort_impact`` are refreshed incrementally from the last
    run (``refresh``): ``since`` (a local day) counts every row at or after it as changed too,
    ``full`` recomputes everything.
    The run is written as the workspace's one writer (``Workspace.writing``) and committed at
    the end: readers see the previous run until then.
    """
    with (
        ws.limits_explained("the analysis", AnalysisError, progress, "preparing") as tracked,
        ws.writing(),
        contextlib.ExitStack() as cleanup,
    ):
        return _analyze(
            ws,
            tracked,
            cleanup,
            window=window,
            min_volume=min_volume,
            practices=practices,
            since=since,
            full=full,
            accounts_and_care=accounts_and_care,
        )


def _analyze(
    ws: Workspace,
    progress: Progress | None,
    cleanup: contextlib.ExitStack,
    *,
    window: str | None,
    min_volume: int | None,
    practices: bool,
    since: date | None = None,
    full: bool = False,
    accounts_and_care: bool = True,
) -> Run:
    # a bad practice in the config, or a bad cap on the rows they bring back, fails before any
    # work
    practice_list = practice_registry(ws.config) if practices else []
    practice_analysis.max_driver_rows(ws.config)
    care_settings = CareSettings.from_config(ws.config)
    progress = progress or _noop
    cfg = ws.config["analysis"]
    min_volume = int(min_volume if min_volume is not None else cfg["min_volume"])
    if min_volume < 1:
        raise AnalysisError(f"minimum volume {min_volume}: it must be at least 1 closed deal")
    min_touches = int(cfg["min_touches"])
    if min_touches < 1:
        raise AnalysisError(
            f"[analysis] min_touches = {min_touches}: it must be at least 1 settled touch"
        )
    rep_window = parse_window(window if window is not None else cfg["window"])
    team_window = parse_window(cfg["team_window"], setting="team_window")
    levels = _levels(cfg)
    outcomes = _outcomes(cfg)
    for name in ("reps", "accounts", "opportunities"):
        if ws.data_rows(name) == 0:
            raise AnalysisError(
                f"the workspace has no {name}: import data first "
                f"(`brightspots import DATA --workspace {ws.root}`)"
            )
    progress("preparing", 0.0)
    run = ws.new_run(fingerprint=ws.fingerprint())
    opps, accounts, reps = ws.table("opportunities"), ws.table("accounts"), ws.table("reps")
    closed = opps.filter(opps.stage.isin(["won", "lost"]) & opps.closed_at.notnull())
    amount, warnings = amount_column(ws, closed)
    covariates = list(cfg["covariates"])
    if amount is None:
        covariates = [c for c in covariates if c != "deal_size"]
    casemix.check_levels(covariates, levels)
    first, last = _time_span(ws)
    tz = ws.timezone
    timezones.zone(tz)  # a clear error for an unknown zone before any work

    def local(ts: ir.TimestampValue) -> ir.TimestampValue:
        return timezones.to_local(ts, tz, pd.Timestamp(first), pd.Timestamp(last))

    cases = casemix.case_table(
        opps,
        accounts,
        reps,
        covariates=covariates,
        amount_column=amount or "amount",
        local=local,
    )
    window_end = ws.execute(cases.closed_at.max())
    if window_end is None or pd.isna(window_end):
        raise AnalysisError("no closed opportunities (won or lost with closed_at) to analyse")
    windows = {lv: rep_window if lv == "rep" else team_window for lv in levels}
    starts = {lv: w.start(pd.Timestamp(window_end)) for lv, w in windows.items()}
    # the model is fitted once, over the longest window any level uses
    fit_start = None if any(v is None for v in starts.values()) else min(starts.values())
    fit_cases = _since(cases, fit_start)

    progress("fitting the case-mix model", 0.1)
    cell_frame = ws.execute(casemix.cells(fit_cases))
    model = casemix.fit(cell_frame, covariates, pool_min_cases=int(cfg["pool_min_cases"]))
    scored = model.score(fit_cases)
    if ws.engine == "duckdb":
        # every level, outcome and the practices read the scored deals: scored once and kept
        # (small analyses take half the time). On Spark a cached frame of them made the tasks
        # of later stages too big to serialise in a 2 GB driver: Spark recomputes them instead
        scored = scored.cache()
        cleanup.callback(scored.release)
    hist = ws.execute(_histogram(_since(scored, starts["rep"])))
    auc, calibration = casemix.auc_and_calibration(hist)

    # crediting buyer events to touches is the costliest pass over the data; the buyer-impact
    # model, effort_impact and the practices read it, so it is computed once and kept in the
    # engine until the run is saved
    ledger, refreshed = None, None
    if practices and ws.engine == "duckdb":
        # the ledger is kept in the workspace and refreshed where the data changed
        progress("refreshing the touch ledger", 0.12)
        refreshed = refresh.update(ws, run.run_id, local=local, since=since, full=full)
        ledger = refreshed.ledger
    elif "buyer_impact" in outcomes or practices:
        ledger = metrics.ledger(ws, keep=True)
        cleanup.callback(ledger.release)

    revenue = None
    if "won_revenue" in outcomes:
        revenue, note = _revenue_scale(ws, scored, amount)
        if note:
            warnings.append(note)

    touches = None
    if "buyer_impact" in outcomes:
        progress("fitting the buyer-impact model", 0.15)
        touches, note = _impact_model(ws, covariates, local, fit_start, cfg, ledger)
        if note:
            warnings.append(note)

    rep_df = ws.execute(reps.select("rep_id", "name", "team_id", "region"))
    names = _unit_names(ws, rep_df)
    per_level: dict[str, dict] = {}
    deviance_rows, table_rows, curves = [], [], []
    for i, level in enumerate(levels):
        progress(f"observed and expected per {level}", 0.2 + 0.6 * i / len(levels))
        unit = outcomes_mod.LEVELS[level]
        level_cases = _since(scored, starts[level])
        level_cases = level_cases.filter(level_cases[unit].notnull())
        unit_ids = sorted(names[level])
        if not unit_ids:
            warnings.append(f"No {level}s in the data: the {level} level was skipped.")
            continue
        results = {}
        for outcome in outcomes:
            if (outcome == "won_revenue" and revenue is None) or (
                outcome == "buyer_impact" and touches is None
            ):
                continue
            if outcome == "buyer_impact":
                units = touches.units(ws, unit, starts[level], level)
            else:
                units = _units(ws, level_cases, unit, outcome, revenue)
            units = levels_mod.fill_halves(levels_mod.complete_units(units, unit_ids))
            probs = (
                ws.execute(outcomes_mod.probability_histogram(level_cases, unit, P_DECIMALS))
                if outcome == "win_rate"
                else None
            )
            volume = min_touches if outcome == "buyer_impact" else min_volume
            assessed, summary = deviance.assess_outcome(
                units,
                outcome=outcome,
                min_volume=volume,
                noun=level,
                probs=probs,
                currency=ws.config["workspace"]["currency"],
                phi_method=cfg["overdispersion"],
            )
            assessed = assessed.assign(level=level, outcome=outcome)
            assessed.insert(1, "name", assessed["unit_id"].map(names[level]))
            results[outcome] = (assessed, summary)
            curves.append(
                levels_mod.curve(assessed, summary, volume).assign(level=level, outcome=outcome)
            )
        per_outcome = pd.concat([r[0] for r in results.values()], ignore_index=True)
        deviance_rows.append(per_outcome)
        combined = deviance.combine_labels(per_outcome)
        quarters = ws.execute(outcomes_mod.quarter_units(level_cases, unit))
        shown = levels_mod.last_quarters(quarters["quarter"].dropna().tolist())
        persist = levels_mod.persistence(quarters, shown)
        table_rows.append(_level_table(level, results["win_rate"][0], combined, persist, rep_df))
        per_level[level] = {
            "window": str(windows[level]),
            "window_words": windows[level].words(),
            "window_start": str(starts[level]) if starts[level] is not None else None,
            "quarters": shown,
            "outcomes": {o: {k: _plain(v) for k, v in r[1].items()} for o, r in results.items()},
            "n_bright_spots": int((combined["label"] == "bright_spot").sum()),
            "n_candidates": int((combined["label"] == "candidate").sum()),
        }

    table = pd.concat(table_rows, ignore_index=True)
    rep_table = table[table["level"] == "rep"]

    # each closed deal of the model's window with its expected chance of winning: briefs sum
    # them over any period inside the window (stored straight from the engine)
    extra: dict[str, pd.DataFrame | ir.Table | list[ir.Table]] = {
        "deal_expectations": _deal_expectations(scored)
    }
    practice_notes: dict = {}
    if practices:
        progress("effort and buyer impact", 0.8)
        # stored straight from the engine: per account and day it is nearly as big as the data
        # its touch and event rows are kept in the engine and stored one aggregation at a time
        if refreshed is not None:
            extra["effort_impact"] = refreshed.effort
        else:
            parts, kept = metrics.parts(ws, ledger, keep=True)
            for t in kept:
                cleanup.callback(t.release)
            extra["effort_impact"] = Layer(rows=parts)
        progress("practices", 0.85)
        bright = set(rep_table.loc[rep_table["label"] == "bright_spot", "rep_id"])
        peers = set(rep_table.loc[rep_table["closed"] >= min_volume, "rep_id"]) - bright
        digest = refresh.state.practices_digest(ws.config, ws.timezone)
        reuse = _practice_reuse(ws, refreshed, digest)
        found = practice_analysis.run(
            ws,
            _since(scored, starts["rep"]),
            covariates=covariates,
            bright=bright,
            peers=peers,
            local=local,
            pool_min_cases=int(cfg["pool_min_cases"]),
            as_of=last,
            practices=practice_list,
            credited=ledger.credited if ledger is not None else None,
            reuse=reuse,
        )
        # above [analysis] max_driver_rows practice_deals is stored from deals kept in the
        # engine: they are released once the run is saved
        for t in found.kept:
            cleanup.callback(t.release)
        window_cases = _since(cases, starts["rep"])
        window_opps = opps.semi_join(
            window_cases, opps.opportunity_id == window_cases.opportunity_id
        )
        prof, mix = resources.profile(
            window_opps, accounts, reps, as_of=pd.Timestamp(window_end).normalize()
        )
        extra.update(
            practice_effects=found.effects,
            practice_deals=found.deals,
            practice_segment_effects=found.by_segment,
            practice_reps=found.reps,
            rep_resources=resources.frame(ws.execute(prof), ws.execute(mix)),
        )
        practice_notes = {
            "n_deals": found.n_deals,
            "n_bright_spots": len(bright),
            "n_peers": len(peers),
            "landmark_days": int(ws.config["practices"]["landmark_days"]),
            # deals whose own-deal practices were measured in this run (the others kept the
            # measures of run ``reused_from``)
            "n_measured": found.n_measured,
            "reused_from": refreshed.base_run if reuse is not None and not found.grouped else None,
            "digest": digest,
            # above the cap: grouped (True), n_cells, max_cells and max_driver_rows
            **found.notes,
        }

    if accounts_and_care:
        plan_notes, care_notes = _accounts_and_care(
            ws, cleanup, extra, progress, ledger=ledger, model=model, covariates=covariates,
            amount=amount, local=local, last=last, scored=scored, care_settings=care_settings,
        )  # fmt: skip
    else:
        left_out = {"note": "not computed: this run was asked for bright spots only"}
        plan_notes, care_notes = dict(left_out), dict(left_out)

    progress("saving the run", 0.9)
    run.diagnostics = {
        **per_level["rep"]["outcomes"]["win_rate"],
        "n_bright_spots": per_level["rep"]["n_bright_spots"],
        "n_candidates": per_level["rep"]["n_candidates"],
        "levels": per_level,
        "outcomes": [
            o
            for o in outcomes
            if (o != "won_revenue" or revenue is not None)
            and (o != "buyer_impact" or touches is not None)
        ],
        "buyer_impact": touches.notes if touches is not None else None,
        "min_touches": min_touches,
        "auc": auc,
        "n_cases": int(hist["n"].sum()),
        "n_wins": int(hist["wins"].sum()),
        "n_model_cases": model.n_cases,
        "n_cells": model.n_cells,
        "covariates": covariates,
        "covariate_descriptions": {c: casemix.COVARIATES[c].description for c in covariates},
        "pooled_levels": model.pooled,
        "regularised": model.regularised,
        "amount_column": amount,
        "revenue_scale": revenue,
        "warnings": warnings
        + (
            ["The case-mix model needed a small ridge penalty to converge (separation)."]
            if model.regularised
            else []
        ),
        "min_volume": min_volume,
        "window": str(rep_window),
        "window_words": rep_window.words(),
        "team_window": str(team_window),
        "window_start": str(ws.execute(_since(cases, starts["rep"]).closed_at.min())),
        "window_end": str(window_end),
        "v_over_e": levels_mod.v_over_e(rep_table.rename(columns={"closed": "n"}), min_volume),
        "timezone": ws.timezone,
        "practices": practice_notes,
        "plan": plan_notes,
        "care": care_notes,
        # the layered tables the run stores (a run without them shows none)
        "layers": ["effort_impact"] if practices else [],
        "refresh": refreshed.notes
        if refreshed is not None
        else {
            "mode": "full",
            "reason": f"the {ws.engine} engine recomputes everything"
            if practices
            else "no practices: no ledger to keep",
        },
    }
    ws.save_run(
        run,
        {
            "bright_spots": table,
            "deviance": pd.concat(deviance_rows, ignore_index=True),
            "funnel_curve": pd.concat(curves, ignore_index=True),
            "raw_leaderboard": _leaderboard(rep_table),
            "calibration": calibration,
            "case_mix_coefficients": model.coefficient_frame(),
            **extra,
        },
    )
    _experiments(ws, run, progress)
    progress("done", 1.0)
    return run


def _accounts_and_care(
    ws: Workspace,
    cleanup: contextlib.ExitStack,
    extra: dict[str, pd.DataFrame | ir.Table | list[ir.Table]],
    progress: Progress,
    *,
    ledger: metrics.Ledger | None,
    model: casemix.CaseMixModel,
    covariates: list[str],
    amount: str | None,
    local: Callable[[ir.TimestampValue], ir.TimestampValue],
    last: pd.Timestamp,
    scored: ir.Table,
    care_settings: CareSettings,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The key-account plan (with plan adherence) and the care tables, added to ``extra``; their
    notes."""
    progress("key accounts", 0.88)
    plan_ledger = ledger
    if plan_ledger is None:
        plan_ledger = metrics.ledger(ws, keep=True)
        cleanup.callback(plan_ledger.release)
    account_plan, allocation, plan_notes = plan_tables.account_tables(
        ws,
        model=model,
        covariates=covariates,
        amount=amount or "amount",
        local=local,
        as_of=last,
        outcomes=plan_ledger.outcomes.select("activity_id", "outcome"),
    )
    extra.update(account_plan=account_plan, effort_allocation=allocation)
    adherence = plan_tables.plan_adherence(
        ws, local=local, as_of=last, outcomes=plan_ledger.outcomes.select("activity_id", "outcome")
    )
    if adherence is not None:
        extra["plan_adherence"] = adherence
        plan_notes["plans_followed"] = int(adherence["plan_id"].nunique())

    progress("care", 0.89)
    # every care table has passed through the anonymity rules (care.disclosure) by now
    care = care_run.care_tables(
        ws,
        settings=care_settings,
        as_of=pd.Timestamp(last),
        local=local,
        scored=scored,
        cache=ws.engine in ("duckdb", "spark"),
    )
    extra.update(care.tables)

    return plan_notes, care.notes


def _experiments(ws: Workspace, run: Run, progress: Progress) -> None:
    """The practice experiments' results of the run (``experiments.evaluate.run_tables``),
    added to it once it is saved: they read its ``effort_impact``. Nothing happens when the
    workspace has no experiment. An experiment that cannot be computed is a warning (in its
    status row, or in the run's warnings when none could be), never a failed run. The run keeps
    the definitions and plans it used (in each status row), so its report stays what it was
    after a stop or extend."""
    from brightspots.experiments import store

    try:
        experiments = store.load(ws)
    except BrightspotsError as e:
        experiments, failed = [], str(e)
    else:
        failed = ""
    if not experiments and not failed:
        return
    progress("experiments", 0.99)
    tables: dict = {}
    if experiments:
        try:
            from brightspots.experiments import evaluate

            tables = evaluate.run_tables(ws, run)
        except Exception as e:  # noqa: BLE001 - experiments never fail the run
            failed = f"{type(e).__name__}: {e}" if not isinstance(e, BrightspotsError) else str(e)
            tables = {}
    if failed:
        run.diagnostics.setdefault("warnings", []).append(
            f"The practice experiments could not be computed in this run ({failed})."
        )
    try:
        ws.add_run_tables(run, tables)
    except Exception as e:  # noqa: BLE001 - nor does storing their results
        run.diagnostics.setdefault("warnings", []).append(
            f"The practice experiments' results could not be stored in this run ({e})."
        )
        ws.add_run_tables(run, {})


def _practice_reuse(
    ws: Workspace, refreshed: refresh.Refreshed | None, digest: str
) -> practice_analysis.Reuse | None:
    """The previous run's practice measures an incremental refresh may keep (None: measure
    every deal): only those measured under the same settings and code (``digest``)."""
    if refreshed is None or refreshed.dirty_deals is None:
        return None
    base = refreshed.base
    if base is None or (base.diagnostics.get("practices") or {}).get("digest") != digest:
        return None
    return practice_analysis.Reuse(
        frame=ws.run_results("practice_deals", base.run_id),
        dirty=ws.backend().table(refreshed.dirty_deals),
    )


def _levels(cfg: dict) -> list[str]:
    levels = list(cfg["levels"])
    unknown = [lv for lv in levels if lv not in outcomes_mod.LEVELS]
    if unknown or "rep" not in levels:
        raise AnalysisError(f"[analysis] levels = {levels}: use 'rep' and any of 'team', 'region'")
    return ["rep"] + [lv for lv in ("team", "region") if lv in levels]


def _outcomes(cfg: dict) -> list[str]:
    outcomes = list(cfg["outcomes"])
    unknown = [o for o in outcomes if o not in outcomes_mod.OUTCOMES]
    if unknown or "win_rate" not in outcomes:
        raise AnalysisError(
            f"[analysis] outcomes = {outcomes}: use 'win_rate' and any of 'won_revenue', "
            "'buyer_impact'"
        )
    return outcomes


def _time_span(ws: Workspace) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The first and last timestamp in the data: local times are valid over this span."""
    stamps = [
        (ws.table("opportunities"), ("created_at", "closed_at")),
        (ws.table("activities"), ("occurred_at",)),
        (ws.table("buyer_events"), ("occurred_at",)),
    ]
    lows, highs = [], []
    for t, cols in stamps:
        got = ws.execute(
            t.aggregate(
                **{f"lo{i}": t[c].min() for i, c in enumerate(cols)},
                **{f"hi{i}": t[c].max() for i, c in enumerate(cols)},
            )
        ).iloc[0]
        for k, v in got.items():
            if pd.notna(v):
                (lows if k.startswith("lo") else highs).append(pd.Timestamp(v))
    first = min(lows)
    return first, max(highs) if highs else first


def _since(t: ir.Table, start: pd.Timestamp | None) -> ir.Table:
    if start is None:
        return t
    return t.filter(t.closed_at > ibis.literal(pd.Timestamp(start).to_pydatetime()))


def _deal_expectations(scored: ir.Table) -> ir.Table:
    cols = ["opportunity_id", "rep_id", "team_id", "region", "closed_at", "closed_local", "y"]
    return scored.select(*cols, "amount", "p_hat")


def _histogram(scored: ir.Table) -> ir.Table:
    p = scored.p_hat
    step = ibis.literal(HIST_STEP, type="float64")
    hb = scored.mutate(hp=(p / step).floor().cast("float64") * step + step / 2)
    return hb.group_by(p=hb.hp).agg(n=hb.count(), wins=hb.y.sum()).order_by("p")


def _revenue_scale(ws: Workspace, scored: ir.Table, amount: str | None) -> tuple[dict | None, str]:
    if amount != "initial_amount":
        return None, (
            "Won revenue was not assessed: it needs the amount at creation (initial_amount) to "
            "say what revenue to expect."
        )
    row = ws.execute(outcomes_mod.revenue_scale(scored)).iloc[0]
    if not row["n"] or pd.isna(row["created"]) or not row["created"]:
        return None, "Won revenue was not assessed: no won deal has an amount at creation."
    r = float(row["booked"] / row["created"])
    # relative variance of a won deal's booked/created ratio around r
    cv2 = max(float(row["mean_ratio_sq"]) / r**2 - 2 * float(row["mean_ratio"]) / r + 1.0, 0.0)
    return {"r": r, "cv2": cv2, "won_deals": int(row["n"])}, ""


class _Touches:
    """The scored settled touches of a run, summed per rep, account and half once per window."""

    def __init__(self, scored: ir.Table, notes: dict) -> None:
        self.scored = scored
        self.notes = notes
        self._sums: dict[pd.Timestamp | None, pd.DataFrame] = {}

    def units(
        self, ws: Workspace, unit: str, start: pd.Timestamp | None, level: str
    ) -> pd.DataFrame:
        if start not in self._sums:
            expr = impact.account_sums(impact.since(self.scored, start))
            self._sums[start] = ws.execute(expr)
        sums = self._sums[start]
        deff = impact.design_effect(*impact.cluster_spread(sums, unit))
        self.notes["design_effect"][level] = deff
        return impact.impact_units(sums, unit, deff=deff)


def _impact_model(
    ws: Workspace,
    covariates: list[str],
    local: Callable[[ir.TimestampValue], ir.TimestampValue],
    fit_start: pd.Timestamp | None,
    cfg: dict,
    ledger: metrics.Ledger | None,
) -> tuple[_Touches | None, str]:
    """Settled touches scored with their expected chance of buyer impact, or None and why not.

    Like the win-rate model, it is fitted once over the longest window any level uses, so
    expected and observed impact agree in total there; each level reads its own window."""
    acts, events = ws.table("activities"), ws.table("buyer_events")
    as_of = ws.execute(metrics.data_as_of(acts, events).as_table()).iloc[0, 0]
    if as_of is None or pd.isna(as_of):
        return None, "Buyer impact was not assessed: there are no activities or buyer events."
    durations = metrics.settings(ws)
    chosen = impact.covariates_for(covariates)
    cases = impact.touch_cases(
        acts,
        events,
        ws.table("accounts"),
        ws.table("reps"),
        covariates=chosen,
        local=local,
        impact_window=durations["impact_window"],
        dark_after=durations["dark_after"],
        as_of=pd.Timestamp(as_of).to_pydatetime(),
        ledger=ledger,
    )
    fit_cases = impact.since(cases, fit_start)
    if chosen:
        cell_frame = ws.execute(casemix.cells(fit_cases))
    else:  # no covariate describes a touch: one rate for all
        cell_frame = ws.execute(fit_cases.aggregate(n=fit_cases.count(), wins=fit_cases.y.sum()))
    n, wins = int(cell_frame["n"].sum()), int(cell_frame["wins"].fillna(0).sum())
    if n == 0 or wins == 0 or wins == n:
        why = (
            "no touch is old enough to have a settled outcome"
            if n == 0
            else "every settled touch has the same outcome"
        )
        return None, f"Buyer impact was not assessed: {why}."
    if chosen:
        model = casemix.fit(cell_frame, chosen, pool_min_cases=int(cfg["pool_min_cases"]))
        scored = model.score(cases)
    else:
        scored = cases.mutate(p_hat=ibis.literal(wins / n, type="float64"))
    notes = {
        "covariates": chosen,
        "n_touches": n,
        "touches_with_impact": wins,
        "as_of": str(as_of),
        "dark_after": str(ws.config["metrics"]["dark_after"]),
        "design_effect": {},
    }
    return _Touches(scored, notes), ""


def _units(ws, level_cases, unit, outcome, revenue) -> pd.DataFrame:
    if outcome == "win_rate":
        expr = outcomes_mod.win_rate_units(level_cases, unit)
        won = level_cases.filter(level_cases.y == 1)
        amounts = won.group_by(unit_id=won[unit]).agg(won_amount=won.amount.sum())
        expr = expr.left_join(amounts, "unit_id").select(expr, amounts.won_amount)
    else:
        expr = outcomes_mod.revenue_units(level_cases, unit, r=revenue["r"], cv2=revenue["cv2"])
    return ws.execute(expr.order_by("unit_id"))


def _unit_names(ws: Workspace, rep_df: pd.DataFrame) -> dict[str, dict[str, str]]:
    team_df = ws.execute(ws.table("teams").select("team_id", "name"))
    team_names = dict(zip(team_df["team_id"], team_df["name"], strict=True))
    return {
        "rep": dict(zip(rep_df["rep_id"], rep_df["name"], strict=True)),
        "team": {t: team_names.get(t, t) for t in sorted(set(rep_df["team_id"].dropna()))},
        "region": {r: r for r in sorted(set(rep_df["region"].dropna()))},
    }


def _level_table(level, win, combined, persist, rep_df) -> pd.DataFrame:
    """One row per unit of a level: win-rate statistics, the label over all outcomes."""
    stats = win.drop(columns=["label", "reason", "outcome", "level"], errors="ignore")
    t = stats.merge(combined[["unit_id", "label", "outcome", "reason"]], on="unit_id")
    t = t.merge(persist, on="unit_id", how="left")
    t["quarters_above"] = t["quarters_above"].fillna(0).astype("int64")
    t["quarters_assessed"] = t["quarters_assessed"].fillna(0).astype("int64")
    t["quarters_oe"] = t["quarters_oe"].fillna("")
    t = t.rename(columns={"n": "closed"})
    if level == "rep":
        t = t.merge(
            rep_df[["rep_id", "team_id"]],
            left_on="unit_id",
            right_on="rep_id",
            how="left",
        )
    else:
        t["rep_id"] = None
        t["team_id"] = t["unit_id"] if level == "team" else None
    t["level"] = level
    first = BRIGHT_SPOT_COLUMNS + ["level", "unit_id", "outcome"]
    return t[first + [c for c in t.columns if c not in first]]


def _leaderboard(table: pd.DataFrame) -> pd.DataFrame:
    """The naive view, for contrast only: top reps by won amount."""
    lb = table.assign(won=table["observed"], win_rate=table["observed"] / table["closed"])
    lb = lb.sort_values(["won_amount", "rep_id"], ascending=[False, True]).head(LEADERBOARD_SIZE)
    lb = lb.assign(rank=np.arange(1, len(lb) + 1))
    return lb[
        ["rank", "rep_id", "name", "team_id", "won_amount", "won", "closed", "win_rate", "label"]
    ]


def _plain(v):
    if isinstance(v, np.generic):
        return v.item()
    return v
