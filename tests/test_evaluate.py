"""Loading a synthetic org for the acceptance tests: straight into the workspace, the same rows
as an import."""

from __future__ import annotations

import json

import pytest

from brightspots import evaluate, schema, synth
from brightspots.generations import WorkspaceError
from brightspots.workspace import Workspace, init_workspace


def test_insert_org_stores_what_the_import_stores(small_ws, tmp_path):
    # small_ws imported the CSV files of this very config (conftest.small_org)
    org = synth.generate(synth.SynthConfig(reps=40, months=12, seed=11))
    with init_workspace(tmp_path / "ws") as ws:
        evaluate.insert_org(ws, org)
        direct = ws.fingerprint()
        counts = {t.name: ws.row_count(t.name) for t in schema.TABLES}
        assert not ws.has_table("quarantine")  # nothing read, nothing checked
    with Workspace.open(small_ws) as imported:
        assert counts == {t.name: imported.row_count(t.name) for t in schema.TABLES}
        assert direct == imported.fingerprint()
    assert counts["activities"] > 1000 and counts["teams"] > 0


def test_insert_org_refuses_a_dirty_org_and_a_filled_workspace(tmp_path):
    org = synth.generate(synth.SynthConfig(reps=10, months=3, seed=2))
    with init_workspace(tmp_path / "ws") as ws:
        evaluate.insert_org(ws, org)
        before = ws.fingerprint()
        with pytest.raises(WorkspaceError, match="teams already holds rows"):
            evaluate.insert_org(ws, org)
        assert ws.fingerprint() == before  # all or nothing
        dirty = synth.generate(synth.SynthConfig(reps=10, months=3, seed=2, dirty=0.05))
        with pytest.raises(synth.SynthError, match="clean org"):
            evaluate.insert_org(ws, dirty)


def test_a_direct_run_finds_what_the_imported_run_found(small_ws, tmp_path):
    # small_ws is the same org imported from CSV and analysed (with practices, which come after
    # the bright spots and leave them as they are)
    config = synth.SynthConfig(reps=40, months=12, seed=11)
    direct = evaluate.run_synthetic(tmp_path, config, load="direct")
    with Workspace.open(small_ws) as ws:
        run = ws.latest_run()
        imported = ws.run_results("bright_spots", run.run_id)
        deviance = ws.run_results("deviance", run.run_id)
    cols = ["level", "unit_id", "closed", "observed", "label"]
    assert len(imported) > 40 and "candidate" in set(imported["label"])
    assert direct.bright_spots[cols].equals(imported[cols])
    assert direct.deviance["expected"].to_numpy() == pytest.approx(deviance["expected"].to_numpy())
    assert direct.practice_effects is None
    assert json.loads((tmp_path / "data" / "truth.json").read_text()) == direct.truth
    assert (tmp_path / "data" / "truth_opportunities.parquet").exists()
    with pytest.raises(ValueError, match="load must be one of import, direct"):
        evaluate.run_synthetic(tmp_path / "other", config, load="csv")
