"""Acceptance (issue 11): planted high-care reps found, the planted care effect on repeat business
recovered, and neither found where nothing is planted.

Each org is generated (``synth.generate``) and its care tables computed straight from its tables
(``evaluate.care_source``: the same Ibis pipeline an analysis runs on a workspace, without an
import). The repeat effect is planted on the account's observed care score (``truth.json``
``care.repeat_effect``), so the estimand is the planted log-odds per unit. Run with ``-s`` to see
the figures.
"""

from __future__ import annotations

import pandas as pd
import pytest

from brightspots import evaluate, synth
from brightspots.care.config import CareSettings
from brightspots.care.run import care_tables
from conftest import in_processes

pytestmark = pytest.mark.slow

HIGH_CARE_SEEDS = (101, 202, 303, 404, 505)
EFFECT_SEEDS = tuple(range(1, 21))
NULL_SEEDS = tuple(range(11, 21))


def _care(seed: int, null: bool = False, **kw) -> dict:
    """One org's care figures (a module function: it runs in a worker process)."""
    org = synth.generate(synth.SynthConfig(seed=seed, null=null, **kw))
    settings = CareSettings.from_config(evaluate.workspace_settings(org.truth))
    o = org.tables["opportunities"].to_pandas()
    as_of = pd.Timestamp(max(o["created_at"].max(), o["closed_at"].max()))
    run = care_tables(evaluate.care_source(org), settings=settings, as_of=as_of, local=lambda t: t)
    index = run.tables["care_index"]
    rep = run.tables["care_results"].set_index("outcome").loc["repeat_12m"]
    d = evaluate.score_care(index, org.truth)
    labelled = index[(index["level"] == "rep") & (index["label"] == "bright_spot")]
    return {
        "seed": seed,
        "planted": d.planted,
        "labelled": d.labelled,
        "true_positives": d.true_positives,
        "bright_spots": len(labelled),
        "beta": org.truth["care"]["repeat_effect"]["log_odds_per_unit"],
        "estimate": float(rep["estimate"]),
        "lower": float(rep["lower_95"]),
        "upper": float(rep["upper_95"]),
        "accounts": int(rep["n"]),
    }


def _effect(seed: int, null: bool = False) -> dict:
    return _care(seed, null, reps=100, months=24)


def _null(seed: int) -> dict:
    return _care(seed, True)


def test_planted_high_care_reps_are_found():
    got = in_processes(_care, HIGH_CARE_SEEDS)
    for g in got:
        print(f"seed {g['seed']}: planted {g['planted']}, labelled {g['labelled']}, "
              f"correct {g['true_positives']}")  # fmt: skip
    planted = sum(g["planted"] for g in got)
    labelled = sum(g["labelled"] for g in got)
    correct = sum(g["true_positives"] for g in got)
    precision, recall = correct / labelled, correct / planted
    print(f"pooled over {len(got)} seeds: precision {precision:.2f}, recall {recall:.2f}")
    assert planted >= 5 * len(got)
    assert precision >= 0.8 and recall >= 0.8


def test_the_planted_care_effect_on_repeat_business_is_recovered():
    got = in_processes(_effect, EFFECT_SEEDS)
    covered = 0
    for g in got:
        hit = g["lower"] <= g["beta"] <= g["upper"]
        covered += hit
        print(f"seed {g['seed']}: planted {g['beta']:.2f}, estimate {g['estimate']:.2f} "
              f"({g['lower']:.2f} to {g['upper']:.2f}), {g['accounts']} accounts"
              f"{'' if hit else '  MISSED'}")  # fmt: skip
    half = pd.Series([(g["upper"] - g["lower"]) / 2 for g in got]).median()
    print(f"covered in {covered} of {len(got)} seeds; median half-width {half:.2f}")
    assert covered >= 17
    # intervals too wide to tell anything would cover the truth too: they must not pass
    assert half < got[0]["beta"] / 2


def test_no_care_is_found_where_none_is_planted():
    got = in_processes(_null, NULL_SEEDS)
    spots = [g["bright_spots"] for g in got]
    zero = sum(g["lower"] <= 0 <= g["upper"] for g in got)
    print(f"null orgs: care bright spots {spots}; the repeat interval covers 0 in {zero} of "
          f"{len(got)}")  # fmt: skip
    assert all(g["beta"] == 0 for g in got)
    assert sum(spots) / len(got) <= 0.2
    assert zero >= len(got) - 2
