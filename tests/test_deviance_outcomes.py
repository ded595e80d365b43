"""Skew-aware tests, won revenue, detectability and one label from several outcomes.

Numbers are worked by hand in the comments; Monte Carlo checks use fixed seeds.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from brightspots.deviance import (
    OUTPUT_COLUMNS,
    Z95,
    Z998,
    DevianceInputError,
    alternative_moments,
    assess,
    assess_outcome,
    cf_quantile,
    combine_labels,
    detection_power,
    outcome_thresholds,
    skew_z,
)
from brightspots.deviance.reasons import money_pair

# ------------------------------------------------------------------------------------------
# Cornish-Fisher quantiles and their inverse


def test_skew_functions_by_hand():
    # gamma = 1, g = 1/6: x(3) = 3 + (9 - 1) / 6 = 13/3, and back
    assert cf_quantile(3.0, 1.0) == pytest.approx(13 / 3)
    assert skew_z(13 / 3, 1.0) == pytest.approx(3.0)
    # x = 3.2: g + x = 3.366667, D = 1 + 4/6 * 3.366667 = 3.244444, sqrt(D) = 1.801234,
    # u = 2 * 3.366667 / 2.801234 = 2.403702
    assert skew_z(3.2, 1.0) == pytest.approx(2.403702, abs=1e-6)
    # no skew: both are the identity
    assert skew_z(np.array([-2.0, 0.5, 4.0]), 0.0).tolist() == [-2.0, 0.5, 4.0]
    assert cf_quantile(np.array([-2.0, 0.5]), 0.0).tolist() == [-2.0, 0.5]
    # the short (left) tail of a right-skewed total: turning point u* = -3 / gamma = -3 with
    # x(u*) = -3 / (2 gamma) - gamma / 6 = -5/3; quantiles below u* are held there, and every
    # x below -5/3 maps to u* (finite and monotone instead of undefined)
    assert cf_quantile(-5.0, 1.0) == pytest.approx(-5 / 3)
    assert skew_z(-4.0, 1.0) == pytest.approx(-3.0)
    # left skew mirrors right skew
    assert skew_z(-3.2, -1.0) == pytest.approx(-2.403702, abs=1e-6)


@settings(max_examples=200, deadline=None)
@given(st.floats(-6, 6), st.floats(-2, 2))
def test_skew_z_inverts_the_quantile_on_its_monotone_branch(u, gamma):
    g = gamma / 6
    x = cf_quantile(u, gamma)
    if 1 + 2 * g * u > 1e-6:  # the monotone branch
        assert skew_z(x, gamma) == pytest.approx(u, abs=1e-7)
    # monotone in x everywhere
    xs = np.linspace(-8, 8, 161)
    assert (np.diff(skew_z(xs, gamma)) >= -1e-12).all()


def _size(p: float, ns: range, test) -> float:
    """Mean over n of P(test rejects at 0.1% one-sided) for Binomial(n, p), exactly."""
    sizes = []
    for n in ns:
        k = np.arange(n + 1)
        e, v = n * p, n * p * (1 - p)
        pmf = stats.binom.pmf(k, n, p)
        sizes.append(pmf[test((k - e) / math.sqrt(v), (1 - 2 * p) / math.sqrt(v)) >= Z998].sum())
    return float(np.mean(sizes))


@pytest.mark.parametrize(
    ("p", "ns"), [(0.1, range(60, 120)), (0.2, range(30, 60)), (0.3, range(40, 80))]
)
def test_skew_corrected_test_keeps_its_size_where_the_normal_one_does_not(p, ns):
    # the finding behind z_od: win counts at p < 0.5 are right-skewed, so the plain normal
    # z >= 3.090232 rejects 1.5 to 3 times as often as 0.1% for books of 6 to 25 expected wins;
    # skew-corrected it is 0.8 to 1.0 times (these figures are exact binomial sums)
    plain = _size(p, ns, lambda x, gamma: x)
    corrected = _size(p, ns, skew_z)
    assert plain > 1.4e-3
    assert 0.7e-3 < corrected < 1.1e-3


# ------------------------------------------------------------------------------------------
# Frames


def win_unit(unit_id, n, p, wins_odd, wins_even):
    """n deals at one probability p, half closed in odd months."""
    half = n // 2
    return {
        "unit_id": unit_id,
        "n": n,
        "observed": wins_odd + wins_even,
        "expected": n * p,
        "variance": n * p * (1 - p),
        "third": n * p * (1 - p) * (1 - 2 * p),
        "observed_odd": wins_odd,
        "expected_odd": half * p,
        "observed_even": wins_even,
        "expected_even": (n - half) * p,
    }


def revenue_unit(unit_id, deals, booked_odd, booked_even, odd_share=0.5):
    """deals: list of (amount, p) with exactly known amounts (no spread once won).

    Per deal X = amount * Bernoulli(p): mean p a, variance p (1 - p) a^2, third cumulant
    p (1 - p) (1 - 2p) a^3. ``odd_share`` of every deal's expectation falls in odd months.
    """
    e = sum(p * a for a, p in deals)
    return {
        "unit_id": unit_id,
        "n": len(deals),
        "observed": booked_odd + booked_even,
        "expected": e,
        "variance": sum(p * (1 - p) * a**2 for a, p in deals),
        "third": sum(p * (1 - p) * (1 - 2 * p) * a**3 for a, p in deals),
        "observed_odd": booked_odd,
        "expected_odd": e * odd_share,
        "observed_even": booked_even,
        "expected_even": e * (1 - odd_share),
    }


def ordinary_revenue(count=30):
    """Units of 40 deals of 10k at p = 0.3, exactly on expectation (120k in two halves)."""
    return [revenue_unit(f"r{i:02d}", [(10_000.0, 0.3)] * 40, 60_000, 60_000) for i in range(count)]


def ordinary_wins(count=30):
    return [win_unit(f"w{i:02d}", 60, 0.3, 9, 9) for i in range(count)]


# ------------------------------------------------------------------------------------------
# Won revenue


def test_one_big_deal_does_not_flag_a_small_book():
    # 40 deals of 10k at p = 0.3 and one deal of 500k at p = 0.05; the big deal was won:
    # E = 40 * 3_000 + 25_000 = 145_000
    # V = 40 * 0.21 * 1e8 + 0.0475 * 2.5e11 = 8.4e8 + 1.1875e10 = 1.2715e10 (sd 112_761)
    # T = 40 * 0.084 * 1e12 + 0.05 * 0.95 * 0.9 * 1.25e17 = 5.34711e15
    # O = 500_000 + 12 small wins = 620_000: plain z = 475_000 / 112_761 = 4.212456
    # gamma = T / V^1.5 = 3.729448, g = 0.621575, g + x = 4.834031, D = 1 + 4 g (g + x) =
    # 13.01895, sqrt(D) = 3.608178, z_od = 9.668062 / 4.608178 = 2.098029 (p = 0.018; the
    # exact chance is 0.05 * P(Binomial(40, 0.3) >= 12) = 0.028)
    big = revenue_unit(
        "big", [(10_000.0, 0.3)] * 40 + [(500_000.0, 0.05)], 540_000, 80_000, odd_share=0.5
    )
    units = pd.DataFrame([*ordinary_revenue(), big])
    out, summary = assess_outcome(units, outcome="won_revenue")
    row = out.set_index("unit_id").loc["big"]
    assert summary["tau2"] == 0.0
    assert row["z"] == pytest.approx(4.212456, abs=1e-6) and row["z"] >= Z998
    assert row["skew"] == pytest.approx(3.729448, abs=1e-6)
    assert row["z_od"] == pytest.approx(2.098029, abs=1e-6)
    exact = 0.05 * stats.binom.sf(11, 40, 0.3)
    assert row["p_value"] == pytest.approx(exact, abs=0.011)
    assert row["label"] == "candidate"  # a plain normal test would have made it a bright spot
    assert row["reason"] == (
        "Candidate, above the 95% limit after allowing for overdispersion (won revenue: $620k "
        "booked where $145k was expected), but neither beyond the 99.8% limit nor significant "
        "once the number of reps compared is allowed for."
    )
    # the unadjusted 99.8% limit is skewed out beyond what was booked
    assert row["upper_998"] * 145_000 > 620_000


def test_revenue_beyond_expectation_across_the_book_is_a_bright_spot():
    # 40 deals of 10k at p = 0.3 with 30 won: O = 300_000, E = 120_000, V = 8.4e8,
    # T = 40 * 0.084 * 1e12 = 3.36e12; x = 180_000 / 28_982.75 = 6.210590,
    # gamma = 3.36e12 / 8.4e8^1.5 = 0.138013
    best = revenue_unit("best", [(10_000.0, 0.3)] * 40, 150_000, 150_000)
    units = pd.DataFrame([*ordinary_revenue(), best])
    out, summary = assess_outcome(units, outcome="won_revenue", noun="team")
    row = out.set_index("unit_id").loc["best"]
    assert row["z"] == pytest.approx(6.210590, abs=1e-6)
    assert row["skew"] == pytest.approx(0.138013, abs=1e-6)
    assert row["z_od"] < row["z"] and row["z_od"] >= Z998
    assert row["label"] == "bright_spot" and row["outcome"] == "won_revenue"
    assert row["reason"] == (
        "Above the 99.8% limit after allowing for overdispersion, above expectation in both "
        "halves of the sample, 40 closed deals: won revenue: $300k booked where $120k was "
        "expected."
    )
    assert summary["outcome"] == "won_revenue" and summary["n_bright_spots"] == 1
    assert summary["v_over_e"] == pytest.approx(8.4e8 / 120_000)


def test_revenue_with_nothing_booked_and_small_books():
    none = revenue_unit("none", [(10_000.0, 0.3)] * 40, 0, 0)
    small = revenue_unit("small", [(10_000.0, 0.3)] * 12, 20_000, 20_000)
    units = pd.DataFrame([*ordinary_revenue(5), none, small])
    out, _ = assess_outcome(units, outcome="won_revenue", currency="CHF")
    rows = out.set_index("unit_id")
    # O = 0: Y = 0, z = -120_000 / 28_982.75 = -4.140393, defined and unlabelled
    assert rows.loc["none", "oe"] == 0.0
    assert rows.loc["none", "z"] == pytest.approx(-4.140393, abs=1e-6)
    assert rows.loc["none", "label"] == ""
    assert rows.loc["none", "reason"].startswith(
        "Not above expectation: won revenue: 0 CHF booked where 120k CHF was expected."
    )
    assert rows.loc["small", "reason"].startswith(
        "Not enough closed deals yet to tell: 12 of the 20 needed. To show, would need to book "
        "more than "
    )
    assert not rows.loc["small", "detectable"] and rows.loc["small", "power"] == 0.0


def test_money_is_written_on_one_scale():
    assert money_pair(1_210_000, 820_000, "usd") == ("$1.2M", "$0.8M")
    assert money_pair(300_000, 120_000, "EUR") == ("€300k", "€120k")
    assert money_pair(5_000, 2_400, "GBP") == ("£5,000", "£2,400")
    assert money_pair(2.5e9, 1e9, "CHF") == ("2.5B CHF", "1.0B CHF")


# ------------------------------------------------------------------------------------------
# Win rate at the extremes of E


def test_tiny_expectation_is_not_a_bright_spot_on_three_wins():
    # 25 deals at p = 0.02: E = 0.5, V = 0.49, T = 0.49 * 0.96 = 0.4704; three wins
    # plain z = 2.5 / 0.7 = 3.571429 (p = 0.00018, beyond the 99.8% line)
    # gamma = 0.4704 / 0.343 = 1.371429, g = 0.228571, g + x = 3.8, D = 1 + 4 * 0.228571 * 3.8
    # = 4.474286, sqrt(D) = 2.115251, z_od = 7.6 / 3.115251 = 2.439611, p = 0.007352;
    # the exact mid-p is P(O > 3) + P(O = 3) / 2 = 0.001446 + 0.011798 / 2 = 0.007345
    # exact limit: P(O > 3) = 0.001446 > 0.001 >= P(O > 4) = 0.000122 -> upper_998 = 4 wins
    tiny = win_unit("tiny", 25, 0.02, 2, 1)
    probs = pd.DataFrame(
        {"unit_id": ["tiny", *(f"w{i:02d}" for i in range(30))], "p": [0.02] + [0.3] * 30}
    ).assign(count=[25] + [60] * 30)
    out, _ = assess(pd.DataFrame([*ordinary_wins(), tiny]), probs)
    row = out.set_index("unit_id").loc["tiny"]
    assert row["z"] == pytest.approx(3.571429, abs=1e-6)
    assert row["z_od"] == pytest.approx(2.439611, abs=1e-6)
    mid_p = stats.binom.sf(3, 25, 0.02) + stats.binom.pmf(3, 25, 0.02) / 2
    assert row["p_value"] == pytest.approx(mid_p, abs=2e-5)
    assert row["upper_998"] == pytest.approx(4 / 0.5)
    assert row["label"] == "candidate" and row["z_od"] >= Z95
    assert not row["detectable"]


def test_huge_expectation_shows_a_three_percent_excess():
    # 10_000 deals at p = 0.5: E = 5000, V = 2500, T = 0 (no skew); O = 5160 -> z = 3.2
    # exact (normal branch) 99.8% limit: ceil(5000 + 50 * 3.090232 - 0.5) = 5155 < 5160
    # needed_oe = 1 + 0.01 * 3.090232 = 1.030902; any real 1.5 times is found for sure
    huge = win_unit("huge", 10_000, 0.5, 2580, 2580)
    probs = pd.DataFrame(
        {"unit_id": ["huge", *(f"w{i:02d}" for i in range(30))], "p": [0.5] + [0.3] * 30}
    ).assign(count=[10_000] + [60] * 30)
    out, _ = assess(pd.DataFrame([*ordinary_wins(), huge]), probs)
    row = out.set_index("unit_id").loc["huge"]
    assert row["z_od"] == pytest.approx(3.2) and row["skew"] == 0.0
    assert row["upper_998"] == pytest.approx(5155 / 5000)
    assert row["needed_oe"] == pytest.approx(1.030902, abs=1e-6)
    assert row["label"] == "bright_spot"
    assert row["power"] == pytest.approx(1.0) and row["detectable"]


# ------------------------------------------------------------------------------------------
# Detectability


def test_alternative_moments_by_hand():
    # 400 deals at p = 0.5 winning 1.2 times as often (p = 0.6):
    # V = 400 * 0.6 * 0.4 = 96, T = 400 * 0.24 * (1 - 1.2) = -19.2; from the sums alone:
    # sum p^2 = E - V = 100, sum p^3 = (T - E + 3 sum p^2) / 2 = 50,
    # V' = 1.2 * 200 - 1.44 * 100 = 96, T' = 240 - 3 * 1.44 * 100 + 2 * 1.728 * 50 = -19.2
    r, v, t = alternative_moments(1.2, 400, np.array([200.0]), 100.0, 0.0, counts=True)
    assert (r[0], v[0], t[0]) == pytest.approx((1.2, 96.0, -19.2))
    # a ratio beyond n / E is impossible: capped (10 deals at p = 0.8 cannot win 1.5 times)
    r, v, _ = alternative_moments(1.5, 10, np.array([8.0]), 1.6, -0.96, counts=True)
    assert r[0] == pytest.approx(1.25) and v[0] == pytest.approx(0.0, abs=1e-12)
    # revenue: every cumulant scales with the rate of winning
    r, v, t = alternative_moments(2.0, 40, np.array([1e5]), 4e9, 1e14, counts=False)
    assert (v[0], t[0]) == pytest.approx((8e9, 2e14))


def test_power_by_hand_for_a_symmetric_revenue_book():
    # E = 1e6, V = 1e10 (s = 0.1), T = 0, needed 1.3, true ratio 1.5: V' = 1.5e10,
    # s' = 0.122474; P(Y >= 1.3) = Phi(0.2 / 0.122474) = Phi(1.632993) = 0.948765.
    # Each half (E_h = 5e5) has sd sqrt(1.5e10 / (1e6 * 5e5)) = 0.173205, P(Y_h <= 1) =
    # Phi(-2.886751) = 0.001946, so the power lies between 0.948765 - 2 * 0.001946 = 0.944873
    # and 0.948765
    power = detection_power(
        ratio=1.5,
        threshold=np.array([1.3]),
        n=np.array([100]),
        expected=np.array([1e6]),
        variance=np.array([1e10]),
        third=np.array([0.0]),
        expected_odd=np.array([5e5]),
        expected_even=np.array([5e5]),
        counts=False,
    )[0]
    assert 0.944873 <= power <= 0.948765
    # nothing expected in one half: never sustained, never labelled
    kwargs = dict(ratio=1.5, threshold=np.array([1.3, np.nan]), n=np.array([100, 100]))
    none = detection_power(
        **kwargs,
        expected=np.array([1e6, 1e6]),
        variance=np.array([1e10, 1e10]),
        third=np.zeros(2),
        expected_odd=np.array([1e6, 5e5]),
        expected_even=np.array([0.0, 5e5]),
        counts=False,
    )
    assert none[0] == 0.0 and np.isnan(none[1])


@pytest.mark.parametrize(
    ("p", "ratio", "odd"),
    [
        (np.full(200, 0.1), 1.8, 2),  # skewed: E = 20, V = 18; halves of 100 deals
        (np.full(60, 0.3), 2.0, 2),
        (np.linspace(0.1, 0.6, 120), 1.5, 3),  # mixed p, every third deal in an odd month
    ],
    ids=["p0.1", "p0.3", "mixed"],
)
def test_power_matches_simulated_labels(p, ratio, odd):
    # simulate the label conditions directly: deals win with p * ratio; labelled when O / E
    # reaches the adjusted 99.8% limit (tau2 = 0) and both halves beat their expectation
    e, v, t = p.sum(), (p * (1 - p)).sum(), (p * (1 - p) * (1 - 2 * p)).sum()
    s = math.sqrt(v) / e
    needed = 1 + s * cf_quantile(Z998, t / v**1.5)
    in_odd = np.arange(p.size) % odd == 0
    e1, e2 = p[in_odd].sum(), p[~in_odd].sum()
    power = detection_power(
        ratio=ratio,
        threshold=np.array([needed]),
        n=np.array([p.size]),
        expected=np.array([e]),
        variance=np.array([v]),
        third=np.array([t]),
        expected_odd=np.array([e1]),
        expected_even=np.array([e2]),
        counts=True,
    )[0]
    rng = np.random.default_rng(2024)
    won = rng.random((40_000, p.size)) < p * ratio
    o, o1 = won.sum(axis=1), won[:, in_odd].sum(axis=1)
    simulated = np.mean((o / e >= needed) & (o1 > e1) & (o - o1 > e2))
    assert power == pytest.approx(simulated, abs=0.02)


# ------------------------------------------------------------------------------------------
# assess_outcome: columns and bad input


def test_outcome_columns_and_win_rate_without_probs():
    units = pd.DataFrame([*ordinary_wins(5), win_unit("top", 80, 0.3, 20, 20)])
    out, summary = assess_outcome(units, outcome="win_rate")
    assert list(out.columns) == list(units.columns) + list(OUTPUT_COLUMNS)
    assert (out["outcome"] == "win_rate").all()
    # no probs: unadjusted limits are skew-corrected normal ones on the count, with the
    # continuity correction: E = 24, V = 16.8, T = 6.72, gamma = 0.097590,
    # x(3.090232) = 3.090232 + 0.016265 * 8.549534 = 3.229292,
    # upper = ceil(24 + 4.098780 * 3.229292 - 0.5) = ceil(36.736) = 37 wins
    assert out.loc[5, "upper_998"] == pytest.approx(37 / 24)
    assert summary["t_over_v"] == pytest.approx(0.4)


@pytest.mark.parametrize(
    ("outcome", "change", "message"),
    [
        ("win_loss", lambda u: u, "outcome 'win_loss' is not one of"),
        ("won_revenue", lambda u: u.drop(columns="third"), "lacks column 'third'"),
        ("won_revenue", lambda u: u.assign(third=[1.0, np.inf]), r"row 2 .*'third'"),
        ("won_revenue", lambda u: u.assign(observed_odd=[0.0, 1.0]), r"row 1 .*'observed_odd'"),
        ("won_revenue", lambda u: u.assign(observed=[-1.0, 2.0]), r"row 1 .*'observed'"),
    ],
)
def test_bad_revenue_input_names_row_and_column(outcome, change, message):
    units = pd.DataFrame(
        [revenue_unit(f"u{i}", [(1000.0, 0.5)] * 30, 7500, 7500) for i in range(2)]
    )
    with pytest.raises(DevianceInputError, match=message):
        assess_outcome(change(units), outcome=outcome)


def test_bad_win_rate_input_and_arguments():
    units = pd.DataFrame([win_unit("a", 30, 0.3, 4, 5), win_unit("b", 30, 0.3, 4, 5)])
    with pytest.raises(DevianceInputError, match=r"row 2 .*'third'.*larger in size"):
        assess_outcome(units.assign(third=[1.0, 9.0]), outcome="win_rate")
    probs = pd.DataFrame({"unit_id": ["a", "b"], "p": [0.3, 0.3], "count": [30, 30]})
    with pytest.raises(DevianceInputError, match="`probs` is for win counts"):
        assess_outcome(units, outcome="won_revenue", probs=probs)
    with pytest.raises(DevianceInputError, match="effect"):
        assess_outcome(units, outcome="win_rate", effect=1.0)
    # without a third column the third cumulant comes from probs: 30 * 0.21 * 0.4 = 2.52
    out, _ = assess_outcome(units.drop(columns="third"), outcome="win_rate", probs=probs)
    assert out.loc[0, "skew"] == pytest.approx(2.52 / 6.3**1.5)
    with pytest.raises(DevianceInputError, match="no `probs`"):
        assess_outcome(units.drop(columns="third"), outcome="win_rate")


# ------------------------------------------------------------------------------------------
# One label from several outcomes

COMBINE = [
    # unit, win (label, z_od, q), revenue (label, z_od, q), expected label, outcome
    ("a", ("bright_spot", 3.5, 0.01), ("", 0.3, 0.9), "bright_spot", "win_rate"),
    # win rate keeps 80% of the budget: z >= 3.156 or q <= 0.04
    ("b", ("bright_spot", 3.12, 0.045), ("", 0.3, 0.9), "candidate", "win_rate"),  # demoted
    ("c", ("bright_spot", 2.9, 0.035), ("", 0.3, 0.9), "bright_spot", "win_rate"),  # q <= 0.04
    ("d", ("candidate", 2.5, 0.2), ("bright_spot", 4.0, 0.001), "bright_spot", "won_revenue"),
    (
        "e",
        ("bright_spot", 4.1, 0.001),
        ("bright_spot", 3.4, 0.01),
        "bright_spot",
        "win_rate+won_revenue",
    ),
    ("f", ("", 0.1, 0.9), ("", -1.0, 1.0), "", "win_rate"),
    ("g", ("", 0.1, 0.9), ("candidate", 2.1, 0.3), "candidate", "won_revenue"),
    ("h", ("candidate", 2.2, 0.3), ("candidate", 2.1, 0.3), "candidate", "win_rate+won_revenue"),
    ("i", ("candidate", 2.2, 0.3), ("bright_spot", 3.1, 0.04), "candidate", "win_rate+won_revenue"),
]


def combine_frame():
    rows = []
    for unit, win, rev, *_ in COMBINE:
        for outcome, (label, z, q) in (("won_revenue", rev), ("win_rate", win)):
            rows.append(
                {
                    "unit_id": unit,
                    "outcome": outcome,
                    "label": label,
                    "z_od": z,
                    "q_value": q,
                    "reason": f"{outcome} {label or 'none'} {unit}.",
                }
            )
    return pd.DataFrame(rows)


def test_combine_labels_table():
    # two outcomes: a bright spot needs z >= Phi^-1(1 - 0.0005) = 3.290527 or q <= 0.025
    # weighted Bonferroni: 80% of 0.1% one-sided for win rate, 20% for the other outcome
    assert outcome_thresholds(2, primary=True) == pytest.approx((3.155906, 0.04), abs=1e-6)
    assert outcome_thresholds(2) == pytest.approx((3.540084, 0.01), abs=1e-6)
    assert outcome_thresholds(1) == (Z998, 0.05)
    out = combine_labels(combine_frame()).set_index("unit_id")
    assert list(out.columns) == ["label", "outcome", "reason"]
    assert list(out.index) == [c[0] for c in COMBINE]  # first-seen order
    for unit, _, _, label, outcome in COMBINE:
        assert (out.loc[unit, "label"], out.loc[unit, "outcome"]) == (label, outcome), unit
    assert out.loc["a", "reason"] == "win_rate bright_spot a."
    assert out.loc["e", "reason"] == "win_rate bright_spot e. won_revenue bright_spot e."
    assert out.loc["f", "reason"] == "win_rate none f."
    assert out.loc["b", "reason"] == (
        "Candidate: win_rate bright_spot b; but with 2 outcomes tested that is not enough (a "
        "bright spot on this outcome needs z >= 3.16 or q <= 0.040)."
    )
    assert out.loc["i", "reason"].startswith("win_rate candidate i. Candidate: won_revenue")


def test_combine_labels_single_outcome_and_missing_primary():
    one = combine_frame()
    one = one[one["outcome"] == "win_rate"].drop(columns=["z_od", "q_value"])
    out = combine_labels(one).set_index("unit_id")
    # one outcome: nothing to adjust, labels as they were
    assert out.loc["b", "label"] == "bright_spot" and out.loc["f", "outcome"] == "win_rate"
    rev = combine_frame()
    rev = rev[rev["outcome"] == "won_revenue"]
    assert combine_labels(rev).set_index("unit_id").loc["f", "outcome"] == "won_revenue"


def test_combine_labels_bad_input():
    frame = combine_frame()
    with pytest.raises(DevianceInputError, match=r"row 3 .*'label': 'bright' is not one of"):
        combine_labels(frame.assign(label=frame["label"].where(frame.index != 2, "bright")))
    with pytest.raises(DevianceInputError, match=r"row 2 .*'outcome': a second row"):
        combine_labels(frame.assign(outcome="win_rate"))
    with pytest.raises(DevianceInputError, match="lacks column.*'z_od'"):
        combine_labels(frame.drop(columns="z_od"))
    with pytest.raises(DevianceInputError, match="lacks column.*'reason'"):
        combine_labels(frame.drop(columns="reason"))


def test_combine_labels_on_real_assessments():
    win_units = pd.DataFrame([*ordinary_wins(), win_unit("w_top", 64, 0.3, 18, 17)])
    rev_units = pd.DataFrame(
        [revenue_unit(f"w{i:02d}", [(10_000.0, 0.3)] * 60, 90_000, 90_000) for i in range(30)]
        + [revenue_unit("w_top", [(10_000.0, 0.3)] * 64, 180_000, 170_000)]
    )
    win, _ = assess_outcome(win_units, outcome="win_rate")
    rev, _ = assess_outcome(rev_units, outcome="won_revenue")
    out = combine_labels(pd.concat([win, rev], ignore_index=True)).set_index("unit_id")
    top = out.loc["w_top"]
    assert top["label"] == "bright_spot" and top["outcome"] == "win_rate+won_revenue"
    assert "35 wins where 19.2 were expected" in top["reason"]
    assert "won revenue: $350k booked where $192k was expected" in top["reason"]
    assert (out.drop("w_top")["label"] == "").all()


def _impact_unit(unit: str, n: int, p: float, ratio: float, deff: float = 1.0) -> dict:
    e = n * p
    o = round(e * ratio)
    return {
        "unit_id": unit,
        "n": n,
        "observed": float(o),
        "expected": e,
        "variance": deff * n * p * (1 - p),
        "third": deff**2 * n * p * (1 - p) * (1 - 2 * p),
        "observed_odd": float(o // 2),
        "expected_odd": e / 2,
        "observed_even": float(o - o // 2),
        "expected_even": e / 2,
    }


def test_buyer_impact_speaks_of_touches_and_needs_the_adjusted_test_for_a_candidate():
    # 60 units of 1,000 settled touches at p = 0.25 whose true rates spread +-20%: the spread
    # between units (tau2) is real, so the unadjusted limits (s = 0.055, upper 99.8% limit
    # 1.17) are far narrower than the adjusted ones; a unit 20% above expectation clears the
    # unadjusted limit but is not a candidate, one 60% above is a bright spot, and one with 50
    # touches is below the volume
    ratios = np.linspace(0.8, 1.2, 60)
    units = [_impact_unit(f"U{i:02d}", 1000, 0.25, r) for i, r in enumerate(ratios)]
    units += [
        _impact_unit("above", 1000, 0.25, 1.2),
        _impact_unit("best", 1500, 0.25, 1.6),
        _impact_unit("small", 50, 0.25, 1.5),
    ]
    out, summary = assess_outcome(pd.DataFrame(units), outcome="buyer_impact", min_volume=100)
    rows = out.set_index("unit_id")
    assert summary["tau2"] > 0
    above = rows.loc["above"]
    assert above["oe"] > above["upper_998"] and above["z_od"] < Z95
    assert above["label"] == ""
    best = rows.loc["best"]
    assert best["label"] == "bright_spot"
    assert best["reason"].endswith(
        "1,500 settled touches: 600 touches reached a buyer where 375.0 were expected."
    )
    assert rows.loc["small"]["reason"].startswith(
        "Not enough settled touches yet to tell: 50 of the 100 needed."
    )
    # every candidate comes from the adjusted test
    cands = rows[rows["label"] == "candidate"]
    assert (cands["z_od"] >= Z95).all()


def test_observed_equal_to_expected_up_to_rounding_is_not_above():
    # the same sum added in another order differs in its last bit: the sentence must not flip
    from brightspots.deviance.reasons import reason

    row = {
        "n": 3000,
        "observed": 971.0,
        "expected": 971.0 - 1e-10,
        "variance": 200.0,
        "label": "none",
        "detectable": True,
        "needed_oe": 1.2,
        "oe": 1.0,
    }
    kw = dict(
        outcome="win_rate", min_volume=20, tau2=0.0, noun="region", effect=1.5, currency="USD"
    )
    assert reason(row, **kw).startswith("Not above expectation: 971 wins")
    assert reason({**row, "expected": 970.5}, **kw).startswith("Above expectation but not beyond")
