"""Effort against value: the indices by hand and against chance, and the flags (a proportional
rep is not flagged; a neglected valuable account is)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from brightspots.plan.proportion import FlagRules, flags, index, priority, sentence


def test_priority_weighs_value_by_fit():
    got = priority(np.array([100.0, 100.0, 100.0, np.nan]), np.array([100, 0, np.nan, 80]), 0.5)
    assert got.tolist() == [150.0, 50.0, 100.0, 0.0]


def test_indices_by_hand():
    # touches 6, 3, 1, 0 against priority 1, 1, 1, 1: shares .6 .3 .1 0 vs .25 each
    # D = (.35 + .05 + .15 + .25) / 2 = 0.4
    got = index(np.array([6, 3, 1, 0]), np.array([4.0, 3.0, 2.0, 1.0]))
    # same order: Spearman 1; D = (|.6-.4| + |.3-.3| + |.1-.2| + |0-.1|) / 2 = 0.2
    assert got.spearman == pytest.approx(1.0)
    assert got.dissimilarity == pytest.approx(0.2)
    flat = index(np.array([6, 3, 1, 0]), np.array([1.0, 1.0, 1.0, 1.0]))
    assert math.isnan(flat.spearman)  # no variation in priority: no rank correlation
    assert flat.dissimilarity == pytest.approx(0.4)
    assert got.touches == 10 and got.n_accounts == 4


def test_proportional_effort_sits_at_chance_and_neglect_does_not():
    rng = np.random.default_rng(3)
    prio = rng.lognormal(10, 1.2, 400)
    fair = rng.poisson(prio / prio.sum() * 5000)
    got = index(fair, prio)
    assert got.dissimilarity_low <= got.d_chance * 1.15
    assert got.spearman > 0.8
    skewed = fair.copy()
    top = np.argsort(-prio)[:20]
    skewed[top] //= 10
    worse = index(skewed, prio)
    assert worse.dissimilarity_low > got.dissimilarity_high
    assert worse.dissimilarity > 2 * worse.d_chance


def _book(seed: int, neglect: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = 200
    value = rng.lognormal(10, 1.3, n)
    fit = rng.uniform(0, 100, n)
    prio = priority(value, fit, 0.5)
    rank = np.argsort(np.argsort(-prio))
    tier = np.where(rank < 10, "strategic", np.where(rank < 40, "key",
                    np.where(rank < 100, "core", "maintain")))  # fmt: skip
    touches = rng.poisson(prio / prio.sum() * 3000)
    hit = np.flatnonzero((rank < 40) & (fit >= 60))[:neglect]
    touches[hit] = touches[hit] // 10
    book = pd.DataFrame({"own_touches": touches, "priority": prio, "tier": tier, "fit": fit})
    return book, hit


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_proportional_rep_is_not_flagged(seed):
    book, _ = _book(seed)
    _, _, flag, _ = flags(book, FlagRules())
    assert (flag != "").sum() == 0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_neglected_valuable_accounts_are_flagged(seed):
    book, hit = _book(seed, neglect=4)
    fair, ratio, flag, q = flags(book, FlagRules())
    assert set(np.flatnonzero(flag == "under")) == set(hit)
    assert np.all(ratio[hit] < 0.5) and np.all(q[hit] < 0.05)


def test_over_served_small_accounts_are_flagged():
    book, _ = _book(5)
    small = np.flatnonzero(book["tier"].to_numpy() == "maintain")[:3]
    book.loc[small, "own_touches"] += 60
    _, _, flag, _ = flags(book, FlagRules())
    assert set(np.flatnonzero(flag == "over")) == set(small)


def test_sentences_carry_the_figures():
    row = pd.Series(
        {"name": "Acme", "tier": "strategic", "value": 1_250_000.0, "value_share": 0.18,
         "fit": 82.0, "own_touches": 12, "book_touches": 400, "fair_touches": 72.0,
         "flag": "under"}
    )  # fmt: skip
    text = sentence(row, "USD", "6 months")
    assert text == (
        "Acme is strategic (value USD 1.2m a year, 18% of the book) and fits well (82/100), but "
        "got 3% of the owner's touches (12 of 400) in the last 6 months: about 60 fewer than "
        "its fair share."
    )
    assert sentence(pd.Series({**row, "flag": ""}), "USD", "6 months") == ""


def test_all_books_at_once_equal_one_book_at_a_time():
    from statsmodels.stats.multitest import multipletests

    from brightspots.plan.proportion import bh_by_group

    rng = np.random.default_rng(9)
    p = rng.random(50)
    g = rng.integers(0, 4, 50)
    q = bh_by_group(p, g)
    for k in range(4):
        assert q[g == k] == pytest.approx(multipletests(p[g == k], method="fdr_bh")[1])
    books = []
    for seed in (1, 2, 3):
        b, _ = _book(seed, neglect=3)
        books.append(b.assign(owner=f"R{seed}"))
    all_books = pd.concat(books, ignore_index=True)
    together = flags(all_books, FlagRules(), by="owner")
    start = 0
    for b in books:
        alone = flags(b, FlagRules())
        sl = slice(start, start + len(b))
        for x, y in zip(together, alone, strict=True):
            np.testing.assert_array_equal(np.asarray(x)[sl], np.asarray(y))
        start += len(b)
