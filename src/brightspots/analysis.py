"""``brightspots analyze``: case-mix model, per-rep observed/expected, labels, stored as a run.

Row-level work is Ibis expressions (built in ``casemix``) run by the workspace's engine; only
aggregates come back: covariate cells for the model fit, one row per rep, and histograms of the
expected probabilities (for exact limits, AUC and calibration). The statistics are ``deviance``'s
pure functions over those aggregates.
"""

from __future__ import annotations

from collections.abc import Callable

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from brightspots import casemix, deviance, timezones
from brightspots.errors import BrightspotsError
from brightspots.workspace import Run, Workspace

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
    "lower_95",
    "upper_95",
    "lower_998",
    "upper_998",
    "adj_lower_95",
    "adj_upper_95",
    "adj_lower_998",
    "adj_upper_998",
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


def analyze(ws: Workspace, progress: Progress | None = None) -> Run:
    """Analyse the workspace's current data and store the results as a new run."""
    progress = progress or _noop
    cfg = ws.config["analysis"]
    min_volume = int(cfg["min_volume"])
    for name in ("reps", "accounts", "opportunities"):
        if ws.row_count(name) == 0:
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
    span = ws.execute(opps.aggregate(start=opps.created_at.min(), end=opps.closed_at.max()))
    first, last = span["start"].iloc[0], span["end"].iloc[0]
    last = first if pd.isna(last) else last
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
    months = int(cfg["window_months"] or 0)
    if months > 0:
        start = pd.Timestamp(window_end) - pd.DateOffset(months=months)
        cases = cases.filter(cases.closed_at > ibis.literal(start.to_pydatetime()))
    window_start = ws.execute(cases.closed_at.min())

    progress("fitting the case-mix model", 0.15)
    cell_frame = ws.execute(casemix.cells(cases))
    model = casemix.fit(cell_frame, covariates, pool_min_cases=int(cfg["pool_min_cases"]))
    scored = model.score(cases)

    progress("observed and expected per rep", 0.4)
    units, probs, hist = _aggregates(ws, scored)
    auc, calibration = casemix.auc_and_calibration(hist)

    progress("funnel limits and labels", 0.7)
    rep_frame = ws.execute(reps.select("rep_id", "name", "team_id")).sort_values("rep_id")
    units = _all_reps(units, rep_frame)
    assessed, summary = deviance.assess(units, probs, min_volume=min_volume)
    table = rep_frame.merge(
        assessed.rename(columns={"unit_id": "rep_id", "n": "closed"}), on="rep_id", how="left"
    )
    table = table[BRIGHT_SPOT_COLUMNS + [c for c in table.columns if c not in BRIGHT_SPOT_COLUMNS]]
    eligible = table[(table["closed"] >= min_volume) & (table["expected"] > 0)]
    v_over_e = (
        float(np.median(eligible["variance"] / eligible["expected"])) if len(eligible) else 0.7
    )
    top_e = float(table["expected"].max()) if len(table) else 1.0
    grid = np.linspace(max(0.5, min_volume * 0.05), max(top_e * 1.1, 2.0), 200)
    curve = deviance.funnel_curve(grid, v_over_e, float(summary["tau2"]))
    leaderboard = _leaderboard(table)

    run.diagnostics = {
        **{k: _plain(v) for k, v in summary.items()},
        "auc": auc,
        "n_cases": model.n_cases,
        "n_wins": model.n_wins,
        "n_cells": model.n_cells,
        "covariates": covariates,
        "covariate_descriptions": {c: casemix.COVARIATES[c].description for c in covariates},
        "pooled_levels": model.pooled,
        "regularised": model.regularised,
        "amount_column": amount,
        "warnings": warnings
        + (
            ["The case-mix model needed a small ridge penalty to converge (separation)."]
            if model.regularised
            else []
        ),
        "min_volume": min_volume,
        "window_start": str(window_start),
        "window_end": str(window_end),
        "v_over_e": v_over_e,
        "timezone": ws.timezone,
    }
    progress("saving the run", 0.9)
    ws.save_run(
        run,
        {
            "bright_spots": table,
            "funnel_curve": curve,
            "raw_leaderboard": leaderboard,
            "calibration": calibration,
            "case_mix_coefficients": model.coefficient_frame(),
        },
    )
    progress("done", 1.0)
    return run


def _aggregates(ws: Workspace, scored: ir.Table) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    p = scored.p_hat
    odd = (scored.closed_local.month() % 2) == 1
    won = scored.y == 1
    per_rep = scored.group_by(unit_id=scored.rep_id).agg(
        n=scored.count(),
        observed=scored.y.sum(),
        expected=p.sum(),
        variance=(p * (1 - p)).sum(),
        observed_odd=scored.y.sum(where=odd),
        expected_odd=p.sum(where=odd),
        observed_even=scored.y.sum(where=~odd),
        expected_even=p.sum(where=~odd),
        won_amount=scored.amount.sum(where=won),
    )
    binned = scored.mutate(pb=p.round(P_DECIMALS))
    probs = binned.group_by(unit_id=binned.rep_id, p=binned.pb).agg(count=binned.count())
    step = ibis.literal(HIST_STEP, type="float64")
    hb = scored.mutate(hp=(p / step).floor().cast("float64") * step + step / 2)
    hist = hb.group_by(p=hb.hp).agg(n=hb.count(), wins=hb.y.sum())
    units = ws.execute(per_rep.order_by("unit_id"))
    for c in ("observed_odd", "observed_even", "expected_odd", "expected_even", "won_amount"):
        units[c] = units[c].fillna(0)
    probs_df = ws.execute(probs.order_by(["unit_id", "p"]))
    hist_df = ws.execute(hist.order_by("p"))
    return units, probs_df, hist_df


def _all_reps(units: pd.DataFrame, reps: pd.DataFrame) -> pd.DataFrame:
    """Every rep gets a row; reps with no closed deals in the window have zeros."""
    missing = sorted(set(reps["rep_id"]) - set(units["unit_id"]))
    if not missing:
        return units
    zeros = pd.DataFrame({c: 0 for c in units.columns if c != "unit_id"}, index=range(len(missing)))
    zeros.insert(0, "unit_id", missing)
    return pd.concat([units, zeros.astype(units.dtypes.to_dict())], ignore_index=True)


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
