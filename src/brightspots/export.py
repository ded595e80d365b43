"""``brightspots export``: any stored table as CSV or Parquet, written atomically."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from brightspots import schema
from brightspots.errors import BrightspotsError
from brightspots.workspace import Workspace

#: tables written by ``analyze``, one set per run
RUN_TABLES = (
    "bright_spots",
    "deviance",
    "funnel_curve",
    "raw_leaderboard",
    "calibration",
    "case_mix_coefficients",
)
#: bookkeeping tables stored as they are
STORE_TABLES = ("quarantine", "imports", "runs", "extra_columns")
FORMATS = ("csv", "parquet")


class ExportError(BrightspotsError):
    """The table or format asked for does not exist."""


def exportable_tables() -> list[str]:
    return [*schema.IMPORT_ORDER, *STORE_TABLES, *RUN_TABLES]


def table_frame(ws: Workspace, name: str, run_id: str | None = None) -> pd.DataFrame:
    """The rows ``export`` writes for ``name``: stored tables as stored, run tables of one run."""
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
    ws: Workspace, name: str, out: Path, fmt: str = "csv", run_id: str | None = None
) -> int:
    """Write one table to ``out``; returns the number of rows written."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; choose csv or parquet")
    df = table_frame(ws, name, run_id)
    out = Path(out)
    if out.parent and not out.parent.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    if fmt == "csv":
        df.to_csv(tmp, index=False)
    else:
        df.to_parquet(tmp, index=False)
    os.replace(tmp, out)
    return len(df)
