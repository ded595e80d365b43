"""Acceptance: bright spots found on planted truth, over several seeds, and none in null orgs.

Default-size organisations (200 reps, 18 months). Precision is pooled over the seeds; the raw
leaderboard's precision is printed beside it (run with ``-s`` to see the figures).
"""

from __future__ import annotations

import pytest

from brightspots import evaluate, synth

pytestmark = pytest.mark.slow

SEEDS = (101, 202, 303)
NULL_SEEDS = (11, 12, 13, 14, 15)


def _analyse(tmp_path, config: synth.SynthConfig):
    table, truth, _ = evaluate.analyse_synthetic(tmp_path / f"{config.seed}-{config.null}", config)
    return table, truth


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("detect")
    return [_analyse(tmp, synth.SynthConfig(seed=s)) for s in SEEDS]


def test_precision_and_recall_on_planted_bright_spots(planted):
    total = None
    for (table, truth), seed in zip(planted, SEEDS, strict=True):
        d = evaluate.score(table, truth)
        print(
            f"seed {seed}: planted {d.planted}, labelled {d.labelled}, precision "
            f"{d.precision:.2f}, recall {d.recall:.2f}; raw top-{d.planted} precision "
            f"{d.raw_precision:.2f} ({d.raw_rich_in_top} rich-territory reps in it)"
        )
        total = d if total is None else total + d
    print(
        f"pooled over {len(SEEDS)} seeds: precision {total.precision:.2f}, recall "
        f"{total.recall:.2f}; raw leaderboard precision {total.raw_precision:.2f}"
    )
    assert total.precision >= 0.8
    assert total.recall >= 0.6
    assert total.precision > total.raw_precision


def test_rich_territory_reps_are_not_labelled(planted):
    for table, truth in planted:
        rich = set(truth["rich_territory_reps"])
        assert rich, "the synthetic org must plant rich-territory reps"
        labelled = table.loc[table["label"] == "bright_spot", "rep_id"]
        assert not rich & set(labelled)


def test_null_orgs_have_almost_no_bright_spots(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("null")
    counts = []
    for s in NULL_SEEDS:
        table, truth = _analyse(tmp, synth.SynthConfig(seed=s, null=True))
        assert truth["bright_spots"] == []
        counts.append(int((table["label"] == "bright_spot").sum()))
    print(f"null orgs: bright spots per org {counts}, mean {sum(counts) / len(counts):.1f}")
    assert sum(counts) / len(counts) <= 1.0
