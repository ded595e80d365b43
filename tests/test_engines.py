"""One analysis, every engine: DuckDB and Spark local mode give the same numbers."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from brightspots.analysis import analyze
from brightspots.workspace import Workspace
from conftest import require_spark

pytestmark = pytest.mark.spark


def test_duckdb_and_spark_agree_on_observed_over_expected(small_ws, tmp_path):
    require_spark()
    root = tmp_path / "ws"
    shutil.copytree(small_ws, root)
    with Workspace.open(root, engine="duckdb") as ws:
        duck_run = ws.latest_run()  # small_ws's own analysis: the same data on DuckDB
        assert duck_run.engine == "duckdb" and duck_run.fingerprint == ws.fingerprint()
        duck = ws.run_results("bright_spots", duck_run.run_id).set_index("rep_id").sort_index()
    mirror = tmp_path / "shared" / "mirror"  # a folder every executor reads, on a cluster
    Workspace.open(root).update_config({"spark": {"mirror": str(mirror)}})
    with Workspace.open(root, engine="spark") as ws:
        spark_run = analyze(ws)
        assert len(list(mirror.glob("*/activities.parquet"))) == 1
        assert spark_run.engine == "spark"
        spark = ws.run_results("bright_spots", spark_run.run_id).set_index("rep_id").sort_index()
    assert list(duck.index) == list(spark.index)
    assert duck["closed"].tolist() == spark["closed"].tolist()
    assert duck["observed"].tolist() == spark["observed"].tolist()
    for col in ("expected", "oe", "lower_998", "upper_998", "adj_upper_998", "z_od"):
        a, b = duck[col].to_numpy(float), spark[col].to_numpy(float)
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9, equal_nan=True, err_msg=col)
    assert duck["label"].tolist() == spark["label"].tolist()
    assert duck_run.diagnostics["auc"] == pytest.approx(spark_run.diagnostics["auc"], abs=1e-9)
    # what they do differently, and effort stored straight from each engine, agree too
    with Workspace.open(root) as ws:
        effects = {
            r.run_id: ws.run_results("practice_effects", r.run_id).set_index("practice")
            for r in (duck_run, spark_run)
        }
        effort = {
            r.run_id: ws.run_results("effort_impact", r.run_id)
            .sort_values(["grain", "every", "unit_id", "period"])
            .reset_index(drop=True)
            for r in (duck_run, spark_run)
        }
    d, s = effects[duck_run.run_id], effects[spark_run.run_id].loc[effects[duck_run.run_id].index]
    for col in ("n", "odds_ratio", "or_low", "or_high", "whole_deal_odds_ratio", "smd"):
        np.testing.assert_allclose(
            d[col].to_numpy(float), s[col].to_numpy(float), rtol=1e-9, equal_nan=True, err_msg=col
        )
    de, se = effort[duck_run.run_id], effort[spark_run.run_id]
    assert len(de) > 0 and len(de) == len(se)
    for col in ("touches", "touches_with_impact", "touches_in_dark", "buyer_events"):
        assert de[col].tolist() == se[col].tolist(), col
    # the team brief reads the data on the workspace's engine: both give the same brief
    from brightspots.brief import build

    briefs = {}
    for engine in ("duckdb", "spark"):
        with Workspace.open(root, engine=engine) as ws:
            briefs[engine] = build(ws, "all", "2026-Q3")
    a, b = briefs["duckdb"], briefs["spark"]
    assert a.coverage.run_id == b.coverage.run_id == spark_run.run_id
    assert [w.opportunity_id for w in a.wins] == [w.opportunity_id for w in b.wins]
    assert [w.line for w in a.wins] == [w.line for w in b.wins]
    assert (a.n_wins, a.won_amount) == (b.n_wins, b.won_amount)
    assert [d.key for d in a.deviations] == [d.key for d in b.deviations]
    np.testing.assert_allclose(
        [d.value for d in a.deviations], [d.value for d in b.deviations], rtol=1e-9
    )
    assert [p.sentence for p in a.practices] == [p.sentence for p in b.practices]
    assert [s.story_id for s in a.stories] == [s.story_id for s in b.stories]
