"""Acceptance (issue 5): on planted truth over several seeds, the true practices of the synthetic
org are found after case-mix adjustment and the decoys are not, although the decoys do differ in
raw comparisons. Run with ``-s`` to see the figures. The default-size orgs are analysed once for
this module and test_detection (the ``default_orgs`` fixture, conftest.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import PRACTICE_SEEDS

SEEDS = PRACTICE_SEEDS


@pytest.fixture(scope="module")
def recovered(default_orgs) -> dict[int, tuple[pd.DataFrame, dict]]:
    out = {}
    for seed, r in default_orgs(dict.fromkeys(SEEDS, True)).items():
        assert r.practice_effects is not None
        out[seed] = (r.practice_effects, r.truth)
    cols = ["odds_ratio", "or_low", "or_high", "q", "whole_deal_odds_ratio", "whole_deal_q"]
    cols += ["raw_odds_ratio", "raw_q", "suspect"]
    for seed, (effects, truth) in out.items():
        true_ids = [p["registry_id"] for p in truth["true_practices"]]
        decoy_ids = [p["registry_id"] for p in truth["decoy_practices"]]
        shown = effects.set_index("practice").loc[true_ids + decoy_ids, cols]
        shown.insert(0, "truth", ["true"] * len(true_ids) + ["decoy"] * len(decoy_ids))
        print(f"\nseed {seed}: adjusted (primary), whole deal, and raw (no case mix)")
        print(shown.round(4).to_string())
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_true_practices_found_decoys_not(recovered, seed):
    effects, truth = recovered[seed]
    by_id = effects.set_index("practice")
    true_ids = [p["registry_id"] for p in truth["true_practices"]]
    decoy_ids = [p["registry_id"] for p in truth["decoy_practices"]]
    for pid in true_ids:
        assert by_id.loc[pid, "q"] < 0.05, (pid, by_id.loc[pid].to_dict())
    for pid in decoy_ids:
        assert not by_id.loc[pid, "q"] < 0.05, (pid, by_id.loc[pid].to_dict())
    weakest_true = by_id.loc[true_ids, "odds_ratio"].min()
    strongest_decoy = by_id.loc[decoy_ids, "odds_ratio"].max()
    assert weakest_true > strongest_decoy


@pytest.mark.parametrize("seed", SEEDS)
def test_decoys_differ_in_raw_comparisons(recovered, seed):
    """Without the guards the decoys look like practices: the territory decoy without case-mix
    adjustment, the deal-length decoy over the whole deal (and so marked suspect)."""
    effects, truth = recovered[seed]
    by_id = effects.set_index("practice")
    for p in truth["decoy_practices"]:
        row = by_id.loc[p["registry_id"]]
        assert row["raw_q"] < 0.05 and row["raw_odds_ratio"] > 1, row.to_dict()
    touches = by_id.loc["touches_per_opportunity"]
    assert touches["whole_deal_q"] < 0.05 and touches["suspect"]
