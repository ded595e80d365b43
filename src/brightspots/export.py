"""``brightspots export``: any stored table as CSV or Parquet, written atomically.

Raw survey answers leave only on purpose: ``survey_responses`` needs ``raw=True`` (``--raw``),
and without it the quarantine and ``extra_columns`` leave out their survey rows (a rejected
answer is kept there as the file had it). Everything else about care is exported as the run
stored it, through ``care.disclosure``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from brightspots import schema
from brightspots.care.run import TABLES as CARE_TABLES
from brightspots.errors import BrightspotsError
from brightspots.experiments.config import RUN_TABLES as EXPERIMENT_TABLES
from brightspots.files import replacing
from brightspots.plan import adherence
from brightspots.scorecard import scorecard_frame
from brightspots.workspace import Workspace

#: tables written by ``analyze``, one set per run
RUN_TABLES = (
    "bright_spots",
    "deviance",
    "funnel_curve",
    "raw_leaderboard",
    "calibration",
    "case_mix_coefficients",
    "effort_impact",
    "practice_effects",
    "practice_segment_effects",
    "practice_reps",
    "rep_resources",
    "deal_expectations",
    "practice_deals",
    "account_plan",
    "effort_allocation",
    "plan_adherence",
    *CARE_TABLES,
    *EXPERIMENT_TABLES,
)
#: run tables a run writes only when it has rows for them, with their columns (the care and
#: experiment tables: runs before them have none)
OPTIONAL_RUN_TABLES = {"plan_adherence": adherence.COLUMNS, **CARE_TABLES, **EXPERIMENT_TABLES}
#: run tables that ``--grain`` and ``--every`` filter
FILTERABLE = ("effort_impact",)
#: bookkeeping tables stored as they are
STORE_TABLES = (
    "quarantine",
    "imports",
    "runs",
    "extra_columns",
    "briefs",
    "brief_actions",
    "brief_pulse",
    "account_plans",
)
#: one row per practice experiment (``experiments_frame``)
EXPERIMENT_COLUMNS = (
    "experiment_id",
    "name",
    "kind",
    "practice_id",
    "outcome",
    "horizon_days",
    "comparison",
    "rep_id",
    "teams",  # ';'-joined, by wave
    "starts",  # ';'-joined, one per team (a personal experiment: its one start)
    "end_date",
    "comparison_teams",  # ';'-joined: every wave's plan's, without the experiment's own teams
    "created_by",
    "created_at",
    "status",
    "stopped_by",
    "stopped_at",
    "run_id",  # the run the figures below are of (empty when it has none of this definition)
    "verdict",
    "headline",
    "effect",
    "ci_low",
    "ci_high",
    "adoption",
    "weeks_mature",
    "weeks_needed",
)


def experiments_frame(ws: Workspace, run_id: str | None = None) -> pd.DataFrame:
    """Every practice experiment (app state): its definition, who made it and when, and the
    verdict and figures a run (the latest by default) stored for it: the outcome's overall
    effect and interval, the adoption effect, mature weeks and the weeks the plan needs."""
    import json

    from brightspots.experiments import store

    if run_id is not None and ws.find_run(run_id) is None:
        raise ExportError(f"no run {run_id!r} in {ws.root}; `brightspots runs` lists them")
    runs = ws.runs()
    run_id = run_id or (runs[-1].run_id if runs else None)

    def rows(name: str) -> pd.DataFrame:
        if run_id is None or not ws.has_table(name):
            return pd.DataFrame(columns=list(EXPERIMENT_TABLES[name]))
        return ws.run_rows(name, run_id)

    status = rows("experiment_status").drop_duplicates("experiment_id").set_index("experiment_id")
    experiments = store.load(ws)
    # the run's figures count only when it computed the definition as it is now (an experiment
    # extended or stopped since has none: they are of other teams or dates)
    digests = {str(i): d for i, d in status["definition_digest"].items()}
    current = {e.experiment_id for e in experiments if digests.get(e.experiment_id) == e.digest()}
    effects = rows("experiment_effects")
    overall = effects[effects["aggregation"] == "overall"].drop_duplicates(
        ["experiment_id", "measure"]
    )
    overall = overall.set_index(["experiment_id", "measure"])

    def figure(eid: str, key: str, measure: str | None = None):
        """A status column, else a key of its figures JSON (of one measure's figures)."""
        if eid not in current:
            return None
        row = status.loc[eid]
        if key in row.index and pd.notna(row[key]):
            return row[key]
        figures = row.get("figures")
        if isinstance(figures, str) and figures:
            figures = json.loads(figures)
        if isinstance(figures, dict) and measure is not None:
            figures = (figures.get("measures") or {}).get(measure)
        return figures.get(key) if isinstance(figures, dict) else None

    out = []
    for e in experiments:
        plans = store.plans(ws, e.experiment_id)
        stored = e.experiment_id in current
        outcome, adoption = (
            overall.loc[(e.experiment_id, m)]
            if stored and (e.experiment_id, m) in overall.index
            else None
            for m in ("outcome", "adoption")
        )
        waves = sorted(e.waves, key=lambda w: (w.wave, w.team_id))
        out.append(
            {
                "experiment_id": e.experiment_id,
                "name": e.name,
                "kind": e.kind,
                "practice_id": e.practice_id,
                "outcome": e.outcome,
                "horizon_days": e.horizon_days,
                "comparison": e.comparison,
                "rep_id": e.rep_id,
                "teams": ";".join(w.team_id for w in waves if w.team_id),
                "starts": ";".join(w.start_date.isoformat() for w in waves),
                "end_date": e.end_date.isoformat() if e.end_date else None,
                "comparison_teams": ";".join(store.comparison_teams(e, plans)),
                "created_by": e.created_by,
                "created_at": e.created_at,
                "status": e.status,
                "stopped_by": e.stopped_by,
                "stopped_at": e.stopped_at,
                "run_id": run_id if stored else None,
                "verdict": figure(e.experiment_id, "verdict"),
                "headline": figure(e.experiment_id, "headline"),
                "effect": None if outcome is None else outcome["estimate"],
                "ci_low": None if outcome is None else outcome["ci_low"],
                "ci_high": None if outcome is None else outcome["ci_high"],
                "adoption": None if adoption is None else adoption["estimate"],
                "weeks_mature": figure(e.experiment_id, "weeks_mature", "outcome"),
                "weeks_needed": figure(e.experiment_id, "weeks_needed"),
            }
        )
    frame = pd.DataFrame(out, columns=list(EXPERIMENT_COLUMNS))
    for column in ("horizon_days", "weeks_mature", "weeks_needed"):
        frame[column] = pd.to_numeric(frame[column]).astype("Int64")
    for column in ("effect", "ci_low", "ci_high", "adoption"):
        frame[column] = pd.to_numeric(frame[column]).astype("float64")
    return frame


#: tables computed when exported, from a run's stored tables and the current config
DERIVED_TABLES: dict[str, Callable[..., pd.DataFrame]] = {
    "scorecard": scorecard_frame,
    "experiments": experiments_frame,
}
#: canonical tables of raw answers about people: exported only with ``raw``
RAW_TABLES = ("survey_responses",)
#: stored tables with a row per canonical row (``table_name``): raw rows left out without ``raw``
HOLDS_ROWS = ("quarantine", "extra_columns")
FORMATS = ("csv", "parquet")


class ExportError(BrightspotsError):
    """The table or format asked for does not exist."""


def exportable_tables() -> list[str]:
    return [*schema.IMPORT_ORDER, *STORE_TABLES, *RUN_TABLES, *DERIVED_TABLES]


def _check_filters(name: str, grain: str | None, every: str | None) -> None:
    from brightspots.metrics import EVERY, GRAINS

    if (grain is not None or every is not None) and name not in FILTERABLE:
        raise ExportError(
            f"--grain and --every apply to --table {' or '.join(FILTERABLE)}, not to {name!r}"
        )
    if grain is not None and grain not in GRAINS:
        raise ExportError(f"unknown grain {grain!r}; choose one of {', '.join(GRAINS)}")
    if every is not None and every not in EVERY:
        raise ExportError(f"unknown period {every!r} for --every; choose one of {', '.join(EVERY)}")


def _filtered(
    ws: Workspace, name: str, run_id: str | None, grain: str | None, every: str | None
) -> pd.DataFrame:
    """A filterable run table of one run, only the rows of one grain and/or one period kind."""
    run_id = run_id or ws.latest_run().run_id
    if not ws.has_table(name):
        raise ExportError(f"the run has no table {name!r}; run `brightspots analyze` again")
    where, params = [], []
    for column, value in (("grain", grain), ("every", every)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    df = ws.run_rows(name, run_id, where=" AND ".join(where), params=params)
    order = ["grain", "every", "unit_id", "period"]
    return df.sort_values(order, kind="mergesort").reset_index(drop=True)


def table_frame(
    ws: Workspace,
    name: str,
    run_id: str | None = None,
    *,
    grain: str | None = None,
    every: str | None = None,
    raw: bool = False,
) -> pd.DataFrame:
    """The rows ``export`` writes for ``name``: stored tables as stored, run tables of one run,
    derived tables (``scorecard``) computed from one run.

    ``grain`` (rep, team, account, opportunity) and ``every`` (day, week) keep only those rows of
    ``effort_impact``; with any other table they are an error. ``raw``: export raw survey
    answers (``RAW_TABLES``, and their rows in the quarantine and ``extra_columns``).
    """
    _check_filters(name, grain, every)
    if name in RAW_TABLES and not raw:
        raise ExportError(
            f"{name} holds raw survey answers: who said what about whom, which the care index "
            "shows only where enough people answered. Add --raw to export them on purpose"
        )
    if name in DERIVED_TABLES:
        return DERIVED_TABLES[name](ws, run_id)
    if name in FILTERABLE:
        return _filtered(ws, name, run_id, grain, every)
    if name in OPTIONAL_RUN_TABLES and not ws.has_table(name):
        # written only by runs that had something to write (no plan stored yet): none, empty
        return pd.DataFrame(columns=list(OPTIONAL_RUN_TABLES[name]))
    if name in RUN_TABLES:
        return ws.run_results(name, run_id)
    if name in schema.BY_NAME or name in STORE_TABLES:
        if not ws.has_table(name):
            return pd.DataFrame()
        key = schema.BY_NAME[name].key if name in schema.BY_NAME else None
        if name in HOLDS_ROWS and not raw:
            marks = ", ".join("?" for _ in RAW_TABLES)
            df = ws.read(name, where=f"table_name NOT IN ({marks})", params=list(RAW_TABLES))
        else:
            df = ws.read(name)
        return df.sort_values(key).reset_index(drop=True) if key else df
    raise ExportError(
        f"unknown table {name!r}; tables you can export: {', '.join(exportable_tables())}"
    )


def export_table(
    ws: Workspace,
    name: str,
    out: Path,
    fmt: str = "csv",
    run_id: str | None = None,
    *,
    grain: str | None = None,
    every: str | None = None,
    raw: bool = False,
) -> int:
    """Write one table to ``out``; returns the number of rows written."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; choose csv or parquet")
    df = table_frame(ws, name, run_id, grain=grain, every=every, raw=raw)
    with replacing(Path(out)) as tmp:
        if fmt == "csv":
            df.to_csv(tmp, index=False)
        else:
            df.to_parquet(tmp, index=False)
    return len(df)
