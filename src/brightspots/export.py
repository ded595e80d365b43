"""``brightspots export``: any stored table as CSV or Parquet, written atomically."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from brightspots import schema
from brightspots.care.run import TABLES as CARE_TABLES
from brightspots.errors import BrightspotsError
from brightspots.files import replacing
from brightspots.plan import adherence
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
)
#: run tables a run writes only when it has rows for them, with their columns (the care tables:
#: runs before them have none)
OPTIONAL_RUN_TABLES = {"plan_adherence": adherence.COLUMNS, **CARE_TABLES}
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
FORMATS = ("csv", "parquet")


class ExportError(BrightspotsError):
    """The table or format asked for does not exist."""


def exportable_tables() -> list[str]:
    return [*schema.IMPORT_ORDER, *STORE_TABLES, *RUN_TABLES]


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
) -> pd.DataFrame:
    """The rows ``export`` writes for ``name``: stored tables as stored, run tables of one run.

    ``grain`` (rep, team, account, opportunity) and ``every`` (day, week) keep only those rows of
    ``effort_impact``; with any other table they are an error.
    """
    _check_filters(name, grain, every)
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
) -> int:
    """Write one table to ``out``; returns the number of rows written."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; choose csv or parquet")
    df = table_frame(ws, name, run_id, grain=grain, every=every)
    with replacing(Path(out)) as tmp:
        if fmt == "csv":
            df.to_csv(tmp, index=False)
        else:
            df.to_parquet(tmp, index=False)
    return len(df)
