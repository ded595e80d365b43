"""Effort versus buyer impact on every engine: DuckDB and Spark give the same table."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from brightspots import metrics
from brightspots.ingest import import_path
from brightspots.workspace import Workspace
from conftest import require_spark
from test_metrics import TZ, write_small_org

pytestmark = pytest.mark.spark

KEYS = ["grain", "unit_id", "every", "period", "week_label"]


def on_both_engines(root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    with Workspace.open(root, engine="duckdb") as ws:
        duck = metrics.compute(ws)
    with Workspace.open(root, engine="spark") as ws:
        spark = metrics.compute(ws)
    return duck, spark


def assert_agree(duck: pd.DataFrame, spark: pd.DataFrame) -> None:
    assert list(duck.columns) == list(spark.columns) == list(metrics.COLUMNS)
    assert len(duck) == len(spark) > 0
    for col in KEYS:
        a = duck[col].astype(str).tolist()
        b = spark[col].astype(str).tolist()
        assert a == b, col
    for col in metrics.COLUMNS[len(KEYS) :]:
        a, b = duck[col].to_numpy(float), spark[col].to_numpy(float)
        if col.endswith(("_rate", "_hours")) or col.startswith("events_per_"):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-9, equal_nan=True, err_msg=col)
        else:
            assert duck[col].tolist() == spark[col].tolist(), col


def test_duckdb_and_spark_agree(small_ws, tmp_path):
    """The synthetic org plus the hand-made edge cases of test_metrics (same-instant ties,
    window edges, ISO week 53), in a zone with daylight saving: one Spark run for all."""
    require_spark()
    root = tmp_path / "ws"
    shutil.copytree(small_ws, root)
    with Workspace.open(root) as ws:
        import_path(ws, write_small_org(tmp_path / "edges"))
        assert ws.row_count("activities") > 40_000
        cfg = ws.config
        cfg["workspace"]["timezone"] = TZ
        ws.save_config(cfg)
    duck, spark = on_both_engines(root)
    assert_agree(duck, spark)
    assert duck["median_response_hours"].notna().sum() > 1000
    weeks = set(spark.loc[spark["every"] == "week", "week_label"])
    assert {"2025-W52", "2026-W01", "2026-W53", "2027-W01"} <= weeks
    edges = spark[(spark["grain"] == "account") & (spark["unit_id"] == "A7")]
    assert edges["touches_with_impact"].sum() == 2 and edges["touches_followed"].sum() == 2
