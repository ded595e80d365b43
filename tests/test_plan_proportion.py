"""Effort against value: the indices by hand and against chance, and the flags (a proportional
rep is not flagged; a neglected valuable account is)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from brightspots.plan.proportion import (
    FlagRules,
    expected_touches,
    flags,
    index,
    priority,
    sentence,
)


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
    assert (flags(book, FlagRules()).flag != "").sum() == 0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_neglected_valuable_accounts_are_flagged(seed):
    book, hit = _book(seed, neglect=4)
    got = flags(book, FlagRules())
    assert set(np.flatnonzero(got.flag == "under")) == set(hit)
    assert np.all(got.ratio[hit] < 0.5) and np.all(got.q[hit] < 0.05)


def test_over_served_small_accounts_are_flagged():
    book, _ = _book(5)
    small = np.flatnonzero(book["tier"].to_numpy() == "maintain")[:3]
    book.loc[small, "own_touches"] += 60
    assert set(np.flatnonzero(flags(book, FlagRules()).flag == "over")) == set(small)


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
    # with its expected touches, against the configured ratios
    row = pd.Series({**row, "expected_touches": 35.0})
    assert sentence(row, "USD", "6 months").endswith(
        "its fair share, and under half the 35 that accounts of like value and deal count get "
        "across the company's books."
    )
    loose = FlagRules(under_ratio=0.4)
    assert ", and under 40% of the 35 that" in sentence(row, "USD", "6 months", loose)


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
        for name in ("fair", "ratio", "flag", "q", "pattern_q"):
            np.testing.assert_array_equal(getattr(together, name)[sl], getattr(alone, name))
        start += len(b)


def _spread_books(seed: int, beta: tuple[float, float], n_books: int = 40, per: int = 60):
    """Books whose touches follow the expected-touches model with known weights ``beta``."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_books), per)
    prio = rng.lognormal(10, 1.2, len(g))
    deals = rng.poisson(1.5, len(g)).astype(float)
    scale = np.median(prio)
    eta = beta[0] * np.log1p(prio / scale) + beta[1] * np.log1p(deals)
    w = np.exp(eta)
    share = w / np.bincount(g, w)[g]
    total = rng.integers(800, 1500, n_books)
    touches = np.concatenate(
        [rng.multinomial(total[b], share[g == b]) for b in range(n_books)]
    ).astype(float)
    return touches, prio, deals, g, total[g] * share


def test_expected_touches_recover_the_spread_of_the_books():
    touches, prio, deals, g, truth = _spread_books(4, (0.6, 0.9))
    got = expected_touches(touches, prio, deals, g)
    # each book's touches are kept, and the learned spread is the true one within a few percent
    np.testing.assert_allclose(np.bincount(g, got), np.bincount(g, touches), rtol=1e-9)
    assert np.median(np.abs(got / truth - 1)) < 0.03
    # a single book, or no touches, teaches nothing
    one = g == 0
    assert expected_touches(touches[one], prio[one], deals[one], g[one]) is None
    assert expected_touches(np.zeros_like(touches), prio, deals, g) is None


def test_deal_work_alone_is_not_neglect():
    # every rep's deals take touches whatever the account is worth: a large account with no
    # deal in flight gets well under its fair share in every book; it is not flagged once the
    # expected touches say that is what accounts like it get, and it is when its own rep gives
    # it a tenth of that
    touches, prio, deals, g, _ = _spread_books(6, (0.3, 1.5))
    rank = pd.Series(prio).groupby(g).rank(ascending=False).to_numpy()
    tier = np.where(rank <= 5, "strategic", np.where(rank <= 15, "key", "core"))
    book = pd.DataFrame({"own_touches": touches, "priority": prio, "tier": tier,
                         "fit": np.full(len(g), 80.0), "owner": g})  # fmt: skip
    plain = flags(book, FlagRules(), by="owner")
    assert (plain.flag == "under").sum() > 20  # the fair share alone calls deal work neglect
    assert (plain.ratio[plain.flag == "under"] < 0.5).all()
    expected = expected_touches(touches, prio, deals, g)
    peer = flags(book, FlagRules(), by="owner", expected=expected)
    assert (peer.flag == "under").sum() == 0
    assert 1.0 <= peer.phi < 1.3  # Poisson counts: no dispersion beyond them
    # one rep cuts their three largest accounts to a tenth
    cut = np.flatnonzero((g == 7) & (rank <= 3))
    book.loc[cut, "own_touches"] = np.floor(touches[cut] / 10)
    expected = expected_touches(book["own_touches"].to_numpy(float), prio, deals, g)
    peer = flags(book, FlagRules(), by="owner", expected=expected)
    assert set(np.flatnonzero(peer.flag == "under")) == set(cut)
    assert (peer.pattern_q[cut] < 0.05).all()


def test_pattern_and_dispersion_by_hand():
    from brightspots.plan.proportion import dispersion, pattern_q

    # squared Pearson residuals 5 and 5 (expected 5 each): median 5 over the chi-square(1) median
    assert dispersion(np.array([0.0, 10.0]), np.array([5.0, 5.0])) == pytest.approx(
        5 / 0.45494, 1e-4
    )
    assert dispersion(np.array([5.0, 5.0]), np.array([5.0, 5.0])) == 1.0  # never below Poisson
    # accounts expected under 5 touches count only when no account is expected 5: residuals 2, 2
    assert dispersion(np.array([0.0, 4.0]), np.array([2.0, 2.0])) == pytest.approx(
        2 / 0.45494, 1e-4
    )
    assert dispersion(np.array([0.0, 4.0, 0.0, 10.0]), np.array([2.0, 2.0, 5.0, 5.0])) == (
        pytest.approx(5 / 0.45494, 1e-4)
    )
    # book 0: its eligible accounts got 10 touches, expected 30, of the book's 100; book 1: as
    # expected. z0 = -20 / sqrt(2 x 30 x 0.7) = -3.086, p0 = 0.001014; BH over the two books
    touches = np.array([4.0, 6.0, 90.0, 15.0, 15.0, 70.0])
    expected = np.array([15.0, 15.0, 70.0, 15.0, 15.0, 70.0])
    eligible = np.array([True, True, False, True, True, False])
    group = np.array([0, 0, 0, 1, 1, 1])
    q = pattern_q(touches, expected, eligible, group, 2.0, "under")
    assert q == pytest.approx([2 * 0.0010140, 0.5], rel=1e-3)
    over = pattern_q(touches, expected, eligible, group, 2.0, "over")
    # the other way: p = 0.99899 and 0.5; BH's running minimum lifts 0.5 x 2 to 0.99899
    assert over == pytest.approx([0.998986, 0.998986], rel=1e-5)
