"""Acceptance at the deviance level: planted bright spots, precision, recall and power; null orgs.

Organisations of 200 units are drawn from a known model: each closed deal has a case-mix win
probability p with logit(p) ~ N(-0.8, 0.8) (binned to 0.01, and outcomes are drawn from the binned
p, so the model is exactly right). Planted units win with odds ratio OR (their true O/E is
sum p' / sum p with p' = OR p / (1 - p + OR p)). Run with ``-s`` to see the grid and the null
distribution.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from brightspots.deviance import assess_outcome, combine_labels, detection_power
from conftest import in_processes

SIZE = 200
PLANTED = 10  # 5% of the units, as in the synthetic organisation
SEEDS_PER_CELL = 32
ODDS_RATIOS = (1.5, 2.0, 3.0)
VOLUMES = (40, 80, 120, 200)
NULL_SEEDS = range(20)


def simulate_org(
    seed: int,
    *,
    volume: int | tuple[int, int],
    planted: int = 0,
    odds_ratio: float = 1.0,
    amount_sigma: float = 1.0,
    booked_cv2: float = 0.5,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, np.ndarray]:
    """(win-rate units, won-revenue units, probs, true ratio per unit) of one organisation.

    ``volume``: closed deals per unit, or a (low, high) range drawn uniformly. Revenue: each deal's
    expected booked amount a is lognormal (median 20k, log sd ``amount_sigma``); a won deal books
    a times a lognormal factor of mean 1 and relative variance ``booked_cv2``, so E[A^k] =
    a^k (1 + cv2)^(k (k - 1) / 2), and the unit sums are E = sum p a, V = sum (p m2 - p^2 a^2),
    T = sum (p m3 - 3 p^2 a m2 + 2 p^3 a^3).
    """
    rng = np.random.default_rng(seed)
    if isinstance(volume, tuple):
        n = rng.integers(volume[0], volume[1] + 1, SIZE)
    else:
        n = np.full(SIZE, volume)
    unit = np.repeat(np.arange(SIZE), n)
    p = 1.0 / (1.0 + np.exp(-rng.normal(-0.8, 0.8, unit.size)))
    p = np.clip(np.round(p, 2), 0.01, 0.99)
    odds = p / (1 - p) * np.where(unit < planted, odds_ratio, 1.0)
    p_true = odds / (1 + odds)
    won = rng.random(unit.size) < p_true
    odd = rng.random(unit.size) < 0.5
    a = np.exp(rng.normal(np.log(20_000), amount_sigma, unit.size))
    s2 = np.log1p(booked_cv2)
    booked = np.where(won, a * np.exp(rng.normal(-s2 / 2, np.sqrt(s2), unit.size)), 0.0)
    m2, m3 = a**2 * (1 + booked_cv2), a**3 * (1 + booked_cv2) ** 3

    def total(w: np.ndarray) -> np.ndarray:
        return np.bincount(unit, weights=w, minlength=SIZE)

    ids = np.array([f"u{i:03d}" for i in range(SIZE)])

    def frame(obs, exp, var, third):
        return pd.DataFrame(
            {
                "unit_id": ids,
                "n": n,
                "observed": total(obs),
                "expected": total(exp),
                "variance": total(var),
                "third": total(third),
                "observed_odd": total(obs * odd),
                "expected_odd": total(exp * odd),
                "observed_even": total(obs * ~odd),
                "expected_even": total(exp * ~odd),
            }
        )

    wins = frame(won * 1.0, p, p * (1 - p), p * (1 - p) * (1 - 2 * p))
    revenue = frame(
        booked, p * a, p * m2 - p**2 * a**2, p * m3 - 3 * p**2 * a * m2 + 2 * p**3 * a**3
    )
    probs = (
        (pd.DataFrame({"unit_id": ids[unit], "p": p}).groupby(["unit_id", "p"]).size())
        .rename("count")
        .reset_index()
    )
    return wins, revenue, probs, total(p_true) / total(p)


@dataclass
class Cell:
    planted: int = 0
    labelled: int = 0
    true_positives: int = 0
    power: list[float] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.true_positives / self.labelled if self.labelled else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.planted

    @property
    def mean_power(self) -> float:
        return float(np.mean(self.power))


def _cell(odds_ratio: float, volume: int) -> Cell:
    cell = Cell()
    for k in range(SEEDS_PER_CELL):
        seed = 1000 * volume + 7 * k + int(10 * odds_ratio)
        wins, _, probs, ratio = simulate_org(
            seed, volume=volume, planted=PLANTED, odds_ratio=odds_ratio
        )
        out, _ = assess_outcome(wins, outcome="win_rate", probs=probs)
        bright = (out["label"] == "bright_spot").to_numpy()
        cell.planted += PLANTED
        cell.labelled += int(bright.sum())
        cell.true_positives += int(bright[:PLANTED].sum())
        top = wins.iloc[:PLANTED]
        power = detection_power(
            ratio=ratio[:PLANTED],
            threshold=out["needed_oe"].to_numpy()[:PLANTED],
            n=top["n"].to_numpy(),
            expected=top["expected"].to_numpy(),
            variance=top["variance"].to_numpy(),
            third=top["third"].to_numpy(),
            expected_odd=top["expected_odd"].to_numpy(),
            expected_even=top["expected_even"].to_numpy(),
            counts=True,
        )
        cell.power.extend(power.tolist())
    return cell


@pytest.fixture(scope="module")
def grid() -> dict[tuple[float, int], Cell]:
    keys = [(o, v) for o in ODDS_RATIOS for v in VOLUMES]
    # the cells are independent: computed across processes (the same seeds, the same cells)
    cells = dict(zip(keys, in_processes(_cell, *zip(*keys, strict=True)), strict=True))
    print(
        f"\n{SIZE} units, {PLANTED} planted, {SEEDS_PER_CELL} seeds per cell; "
        "precision (tp/labelled), recall, mean computed power of planted units"
    )
    print("OR \\ deals " + "".join(f"{v:>26}" for v in VOLUMES))
    for o in ODDS_RATIOS:
        row = "".join(
            f"{c.precision:9.2f} ({c.true_positives:3d}/{c.labelled:3d}) "
            f"{c.recall:4.2f} {c.mean_power:4.2f}"
            for c in (cells[(o, v)] for v in VOLUMES)
        )
        print(f"{o:<11}{row}")
    return cells


CELLS = [(o, v) for o in ODDS_RATIOS for v in VOLUMES]
#: labels a cell needs before its pooled precision is read as a point estimate (standard error
#: of a precision of 0.9 is then at most 0.03)
PRECISE = 100
#: false bright spots per organisation the rule may give among 190 null units: the 99.8% route
#: alone allows about 190 x 0.001 = 0.19 before the both-halves check, about half of that after
FALSE_PER_ORG = 0.15


def precision_upper_bound(true_positives: int, labelled: int, level: float = 0.95) -> float:
    """One-sided Clopper-Pearson upper bound of a precision of true_positives / labelled."""
    if labelled == 0 or true_positives == labelled:
        return 1.0
    return float(stats.beta.ppf(level, true_positives + 1, labelled - true_positives))


@pytest.mark.parametrize("cell", CELLS, ids=str)
def test_precision_in_every_cell(grid, cell):
    """Precision >= 0.9 in every cell, read as precisely as the cell's labels allow.

    Where little is detectable (OR 1.5, power 0.01 to 0.1) a cell has a few dozen labels over
    32 organisations, and their precision swings by 0.1 from one set of seeds to the next (OR
    1.5 x 120 deals: 0.75, 0.85 and 1.00 on three seed sets, 55 of 59 = 0.93 pooled). There the
    test asks that the data do not rule 0.9 out (95% upper bound) and that false bright spots
    stay as rare per organisation as the rule promises; with PRECISE labels or more it asks the
    point estimate itself to be >= 0.9.
    """
    c = grid[cell]
    false_per_org = (c.labelled - c.true_positives) / (c.planted / PLANTED)
    assert false_per_org <= FALSE_PER_ORG, c
    if c.labelled >= PRECISE:
        assert c.precision >= 0.9, c
    else:
        assert precision_upper_bound(c.true_positives, c.labelled) >= 0.9, c


@pytest.mark.parametrize("cell", CELLS, ids=str)
def test_recall_where_power_says_detectable_and_power_is_honest(grid, cell):
    c = grid[cell]
    if c.mean_power >= 0.8:
        assert c.recall >= 0.8, c
    # the computed power neither promises much more nor much less than what is found
    assert abs(c.recall - c.mean_power) <= 0.1, c


def test_null_orgs_with_two_outcomes_have_about_no_bright_spots():
    bright, candidates, per_outcome = [], [], {"win_rate": 0, "won_revenue": 0}
    for seed in NULL_SEEDS:
        wins, revenue, probs, _ = simulate_org(5000 + seed, volume=(20, 200))
        win, _ = assess_outcome(wins, outcome="win_rate", probs=probs)
        rev, _ = assess_outcome(revenue, outcome="won_revenue")
        for name, out in (("win_rate", win), ("won_revenue", rev)):
            per_outcome[name] += int((out["label"] == "bright_spot").sum())
        combined = combine_labels(pd.concat([win, rev], ignore_index=True))
        bright.append(int((combined["label"] == "bright_spot").sum()))
        candidates.append(int((combined["label"] == "candidate").sum()))
    n = len(NULL_SEEDS)
    print(
        f"\nnull orgs ({n} x {SIZE} units, win rate and won revenue): bright spots per org "
        f"{bright} (mean {np.mean(bright):.2f}; distribution {np.bincount(bright).tolist()}); "
        f"candidates per org {candidates} (mean {np.mean(candidates):.1f}); per outcome alone "
        f"{ {k: round(v / n, 2) for k, v in per_outcome.items()} } per org"
    )
    assert np.mean(bright) <= 0.5
    # and by construction a few candidates to look at, not dozens
    assert 1 <= np.mean(candidates) <= 20
