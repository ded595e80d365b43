"""Acceptance: bright spots found on planted truth over several seeds, none in null orgs.

Default-size organisations (200 reps, 18 months; the analysis uses its default 12-month window).
Precision is pooled over the seeds and counts a label on a planted bright spot or on a rep of the
planted coached team as correct; recall is over the planted bright spots whose computed power to be
labelled is at least 0.8, at the ratio the data hold: the sum of their deals' true win
probabilities (``truth_opportunities.parquet``) over the model's expected wins, in the analysis
window. Run with ``-s`` to see the figures. The orgs are inserted straight into their workspaces
(``evaluate.insert_org``, the same rows as an import: tests/test_evaluate.py); importing them is
tested in test_import_truth and the ingest tests.
"""

from __future__ import annotations

import collections
import functools

import pytest

from brightspots import evaluate, synth
from conftest import PRACTICE_SEEDS, in_processes

pytestmark = pytest.mark.slow

SEEDS = (101, 202, 303, 404, 505)
NULL_SEEDS = tuple(range(11, 21))


@pytest.fixture(scope="module")
def planted(default_orgs):
    # analysed with practices where test_practice_recovery reads the same org (one run for
    # both): the bright spots are found before, and apart from, the practices
    runs = default_orgs({seed: seed in PRACTICE_SEEDS for seed in SEEDS})
    out = []
    for seed in SEEDS:
        table, truth, per_outcome = runs[seed].bright_spots, runs[seed].truth, runs[seed].deviance
        out.append((table, truth, evaluate.score(table, truth, per_outcome), per_outcome))
    return out


def test_precision_and_recall_on_planted_bright_spots(planted):
    total = None
    for (_, _, d, _), seed in zip(planted, SEEDS, strict=True):
        print(
            f"seed {seed}: planted {d.planted} (detectable {d.detectable}), labelled {d.labelled}"
            f" (coached-team reps {d.coached_labelled}), precision {d.precision:.2f}, recall "
            f"{d.recall:.2f}, recall among detectable {d.detectable_recall:.2f}; raw top-"
            f"{d.planted} precision {d.raw_precision:.2f}"
        )
        total = d if total is None else total + d
    print(
        f"pooled over {len(SEEDS)} seeds: precision {total.precision:.2f}, recall among "
        f"detectable {total.detectable_recall:.2f} ({total.planted - total.detectable} of "
        f"{total.planted} planted excluded as undetectable), raw leaderboard precision "
        f"{total.raw_precision:.2f}"
    )
    assert total.precision >= 0.9
    assert total.detectable >= total.planted / 2  # the default org is mostly detectable
    assert total.precision > total.raw_precision


def test_recall_among_detectable_planted_reps(planted):
    total = None
    for _, _, d, _ in planted:
        total = d if total is None else total + d
    assert total.detectable_recall >= 0.8


def test_rich_territory_reps_are_never_labelled(planted):
    for table, truth, d, _ in planted:
        assert truth["rich_territory_reps"], "the synthetic org must plant rich-territory reps"
        assert d.rich_labelled == 0
        rich = table[table["rep_id"].isin(truth["rich_territory_reps"])]
        assert (rich["label"] != "bright_spot").all()


def test_default_coached_team_is_above_expectation(planted):
    # the default coaching effect (+0.3-0.4 log-odds, true ratio 1.2-1.27 against an average
    # rep) is below what the team funnel can confirm with 20 teams (computed power < 0.8 in
    # every seed); it must still be above expectation, and found wherever it is detectable
    for table, truth, d, _ in planted:
        print(
            f"coached team: labelled bright_spot {d.teams_found} of {d.teams_planted}, "
            f"detectable {d.teams_detectable}"
        )
        for team in truth["bright_spot_teams"]:
            row = table[(table["level"] == "team") & (table["unit_id"] == team)].iloc[0]
            assert row["oe"] > 1.05, row["reason"]
        assert d.teams_detectable_found == d.teams_detectable


def test_buyer_impact_is_adjusted_for_territory(planted):
    # rich territories win more, and replies follow wins; after adjustment for the accounts and
    # the territory, rich-territory reps' buyer impact is as expected and none is labelled on it
    # (planted bright spots' figures are printed: in this generator replies come per deal, so
    # how many touches a rep spreads them over moves their rate either way)
    for table, truth, _, per_outcome in planted:
        imp = per_outcome[
            (per_outcome["level"] == "rep") & (per_outcome["outcome"] == "buyer_impact")
        ]
        assert len(imp) == (table["level"] == "rep").sum()
        rich = imp[imp["unit_id"].isin(truth["rich_territory_reps"])]
        spots = imp[imp["unit_id"].isin(truth["bright_spots"])]
        others = imp[~imp["unit_id"].isin(truth["bright_spots"]) & (imp["n"] > 0)]
        pooled = {
            name: g["observed"].sum() / g["expected"].sum()
            for name, g in (("rich", rich), ("planted", spots), ("others", others))
        }
        raw = {
            name: g["observed"].sum() / g["n"].sum()
            for name, g in (("rich", rich), ("others", others))
        }
        print(
            "buyer impact O/E pooled: "
            + ", ".join(f"{k} {v:.3f}" for k, v in pooled.items())
            + f"; raw rate rich {raw['rich']:.3f} against others {raw['others']:.3f}"
        )
        assert abs(pooled["rich"] - 1) < 0.06
        assert (rich["label"] != "bright_spot").all()


TEAM_SEEDS = (101, 202, 303)


@pytest.fixture(scope="module")
def coached(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("coached")
    runs = in_processes(
        functools.partial(evaluate.analyse_synthetic, load="direct"),
        [tmp / str(seed) for seed in TEAM_SEEDS],
        [synth.SynthConfig(seed=seed, team_odds_ratio=1.8) for seed in TEAM_SEEDS],
    )
    return dict(zip(TEAM_SEEDS, runs, strict=True))


@pytest.mark.parametrize("seed", TEAM_SEEDS)
def test_a_team_effect_is_found_when_no_single_rep_is(coached, seed):
    # a coached team (odds ratio 1.8 on every deal of every rep, true ratio about 1.4): the team
    # is a bright spot at team level although none of its reps is one
    table, truth, _, per_outcome = coached[seed]
    d = evaluate.score(table, truth, per_outcome)
    (team,) = truth["bright_spot_teams"]
    row = table[(table["level"] == "team") & (table["unit_id"] == team)].iloc[0]
    print(f"seed {seed}: coached team {team} O/E {row['oe']:.2f}: {row['reason']}")
    assert row["label"] == "bright_spot"
    assert d.coached_labelled == 0
    assert d.precision >= 0.9


def test_null_orgs_have_almost_no_bright_spots(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("null")
    counts, candidates = [], []
    runs = in_processes(
        functools.partial(evaluate.analyse_synthetic, load="direct"),
        [tmp / str(seed) for seed in NULL_SEEDS],
        [synth.SynthConfig(seed=seed, null=True) for seed in NULL_SEEDS],
    )
    for table, truth, _, _ in runs:
        assert truth["bright_spots"] == []
        reps = table[table["level"] == "rep"]
        counts.append(int((reps["label"] == "bright_spot").sum()))
        candidates.append(int((reps["label"] == "candidate").sum()))
    mean = sum(counts) / len(counts)
    print(
        f"null orgs ({len(NULL_SEEDS)} seeds): bright spots per org "
        f"{dict(sorted(collections.Counter(counts).items()))}, mean {mean:.2f}; candidates per "
        f"org mean {sum(candidates) / len(candidates):.1f}"
    )
    assert mean <= 0.5
