"""The bright-spot statistics: hand-checked arithmetic, the label rule, properties, simulations."""

from __future__ import annotations

import itertools
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
    assess,
    bh,
    exact_count_limits,
    expected_ranks,
    funnel_curve,
    label_units,
    overdispersion,
    poisson_binomial_pmf,
    shrink,
)
from brightspots.deviance.dispersion import WINSORISED_NULL_MEAN
from brightspots.errors import BrightspotsError

# ------------------------------------------------------------------------------------------
# Poisson-binomial pmf


def test_pmf_matches_brute_force_enumeration():
    p = np.array([0.1, 0.5, 0.7, 0.2])
    brute = np.zeros(5)
    for outcome in itertools.product([0, 1], repeat=4):
        brute[sum(outcome)] += np.prod([q if y else 1 - q for q, y in zip(p, outcome, strict=True)])
    assert np.allclose(poisson_binomial_pmf(p), brute, atol=1e-15)
    # by hand: P(0) = 0.9 * 0.5 * 0.3 * 0.8 = 0.108; P(4) = 0.1 * 0.5 * 0.7 * 0.2 = 0.007
    assert poisson_binomial_pmf(p)[0] == pytest.approx(0.108)
    assert poisson_binomial_pmf(p)[4] == pytest.approx(0.007)


def test_pmf_with_counts_equals_repeated_probabilities():
    p, counts = np.array([0.2, 0.65, 0.0, 1.0]), np.array([3, 2, 4, 1])
    assert np.allclose(poisson_binomial_pmf(p, counts), poisson_binomial_pmf(np.repeat(p, counts)))
    assert poisson_binomial_pmf(p, counts).size == 11


def test_pmf_equal_probabilities_is_binomial():
    pmf = poisson_binomial_pmf(np.full(50, 0.37))
    assert np.allclose(pmf, stats.binom.pmf(np.arange(51), 50, 0.37), atol=1e-14)
    pmf = poisson_binomial_pmf(np.array([0.37]), np.array([900]))
    assert np.allclose(pmf, stats.binom.pmf(np.arange(901), 900, 0.37), atol=1e-14)


def test_pmf_is_stable_for_thousands_of_trials():
    p = np.random.default_rng(7).uniform(0.01, 0.99, size=3000)
    pmf = poisson_binomial_pmf(p)
    k = np.arange(pmf.size)
    assert pmf.min() >= 0 and pmf.sum() == pytest.approx(1.0, abs=1e-12)
    assert k @ pmf == pytest.approx(p.sum(), rel=1e-10)
    assert ((k - p.sum()) ** 2) @ pmf == pytest.approx((p * (1 - p)).sum(), rel=1e-8)


def test_pmf_edge_cases_and_bad_input():
    assert poisson_binomial_pmf(np.array([])).tolist() == [1.0]
    assert poisson_binomial_pmf(np.array([0.3]), np.array([0])).tolist() == [1.0]
    with pytest.raises(DevianceInputError, match="entry 1"):
        poisson_binomial_pmf(np.array([0.2, 1.5]))
    with pytest.raises(DevianceInputError, match="whole number"):
        poisson_binomial_pmf(np.array([0.2]), np.array([1.5]))
    with pytest.raises(BrightspotsError, match="differ in length"):
        poisson_binomial_pmf(np.array([0.2, 0.3]), np.array([1]))


# ------------------------------------------------------------------------------------------
# Exact limits


@pytest.mark.parametrize(("n", "p"), [(20, 0.3), (7, 0.5), (142, 0.3), (60, 0.05), (3, 0.9)])
def test_exact_limits_match_binomial_quantiles(n, p):
    # V = n p (1 - p) < 30 in every case (142 * 0.21 = 29.82), so this is the exact branch
    limits = exact_count_limits(np.full(n, p))
    for level in (0.95, 0.998):
        a = 1 - level
        lower, upper = limits[level]
        assert upper == stats.binom.ppf(1 - a / 2, n, p)
        assert lower == stats.binom.ppf(a / 2, n, p)
        # the documented definitions, checked directly
        assert stats.binom.sf(upper, n, p) <= a / 2 < stats.binom.sf(upper - 1, n, p)
        assert stats.binom.cdf(lower - 1, n, p) <= a / 2 < stats.binom.cdf(lower, n, p)


def test_exact_limits_by_hand_for_twenty_deals():
    # Binomial(20, 0.3): P(O < 2) = 0.0076 <= 0.025 < P(O < 3) = 0.0355 -> lower 2;
    # P(O > 10) = 0.0171 <= 0.025 < P(O > 9) = 0.0480 -> upper 10
    assert exact_count_limits(np.full(20, 0.3), levels=(0.95,)) == {0.95: (2.0, 10.0)}


def test_normal_approximation_branch_with_continuity_correction_and_skew():
    # n = 200, p = 0.3: E = 60, V = 42 >= 30, sqrt(V) = 6.480741, T = 42 * 0.4 = 16.8,
    # gamma = 16.8 / 42^1.5 = 0.061723, g = gamma / 6 = 0.010287
    # 95%:   x(+-1.959964) = +-1.959964 + 0.010287 * 2.841459 = 1.989195, -1.930733
    #        upper ceil(60 + 6.480741 * 1.989195 - 0.5) = ceil(72.392) = 73
    #        lower floor(60 - 6.480741 * 1.930733 + 0.5) = floor(47.987) = 47
    # 99.8%: x(+-3.090232) = +-3.090232 + 0.010287 * 8.549534 = 3.178183, -3.002281
    #        upper ceil(60 + 20.597 - 0.5) = ceil(80.097) = 81
    #        lower floor(60 - 19.457 + 0.5) = floor(41.043) = 41
    limits = exact_count_limits(np.full(200, 0.3))
    assert limits == {0.95: (47.0, 73.0), 0.998: (41.0, 81.0)}
    # same answer when the 200 deals arrive as one bin with a count
    assert exact_count_limits(np.array([0.3]), np.array([200])) == limits
    # the exact binomial quantiles are 48, 73, 41, 81: three of four hit (the plain normal
    # approximation without the skewness term gave 47, 73, 40, 80: one of four)
    exact = stats.binom.ppf([0.025, 0.975, 0.001, 0.999], 200, 0.3)
    assert np.all(np.abs(np.array([*limits[0.95], *limits[0.998]]) - exact) <= 1)
    assert [*limits[0.998]] == exact[2:].tolist()


def test_exact_limits_near_certain_probability_stay_on_their_side_of_the_mean():
    # one deal at p = 0.99: P(O < 1) = 0.01 <= 0.025, so the critical count is 1 > E = 0.99;
    # reported as E (no whole count lies between 0.99 and 1); at 99.8% P(O < 1) > 0.001 -> 0
    assert exact_count_limits(np.array([0.99])) == {0.95: (0.99, 1.0), 0.998: (0.0, 1.0)}
    assert exact_count_limits(np.array([]), levels=(0.95,)) == {0.95: (0.0, 0.0)}
    with pytest.raises(DevianceInputError, match="level"):
        exact_count_limits(np.array([0.5]), levels=(95,))


probabilities = st.lists(st.floats(0.0, 1.0), min_size=1, max_size=40)


@settings(max_examples=150, deadline=None)
@given(probabilities)
def test_exact_limits_contain_the_mean_count_and_nest(p):
    p = np.array(p)
    mean = p.sum()
    limits = exact_count_limits(p)
    (lo95, hi95), (lo998, hi998) = limits[0.95], limits[0.998]
    assert lo998 <= lo95 <= mean + 1e-9
    assert mean - 1e-9 <= hi95 <= hi998 <= p.size


@settings(max_examples=100, deadline=None)
@given(probabilities)
def test_exact_limit_tails_have_at_most_their_share(p):
    p = np.array(p)
    pmf = poisson_binomial_pmf(p)
    for level, (lower, upper) in exact_count_limits(p).items():
        a = 1 - level
        assert pmf[np.arange(pmf.size) > upper].sum() <= a / 2 + 1e-12
        assert pmf[np.arange(pmf.size) < lower].sum() <= a / 2 + 1e-12


@settings(max_examples=100, deadline=None)
@given(st.floats(0.05, 0.95), st.integers(1, 60))
def test_funnel_narrows_as_expected_count_grows(p, n):
    # ratio limits for 4n deals lie inside those for n deals (discreteness can make single
    # steps wiggle, so the comparison is at a fourfold larger book)
    small, large = exact_count_limits(np.full(n, p)), exact_count_limits(np.full(4 * n, p))
    e_small, e_large = n * p, 4 * n * p
    for level in (0.95, 0.998):
        assert large[level][1] / e_large <= small[level][1] / e_small + 1e-12
        assert large[level][0] / e_large >= small[level][0] / e_small - 1e-12


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.floats(0.1, 5000.0), min_size=2, max_size=30, unique=True),
    st.floats(0.05, 1.0),
    st.floats(0.0, 0.5),
)
def test_funnel_curve_is_monotone_and_brackets_one(expected, v_over_e, tau2):
    curve = funnel_curve(np.sort(np.array(expected)), v_over_e, tau2)
    for level in ("95", "998"):
        for prefix in ("", "adj_"):
            lower, upper = curve[f"{prefix}lower_{level}"], curve[f"{prefix}upper_{level}"]
            assert lower.is_monotonic_increasing and upper.is_monotonic_decreasing
            assert (lower <= 1).all() and (upper >= 1).all() and (lower >= 0).all()
        assert (curve[f"adj_upper_{level}"] >= curve[f"upper_{level}"] - 1e-12).all()


def test_funnel_curve_by_hand():
    # E = 100, V/E = 0.7, tau2 = 0.01: s = sqrt(70)/100 = 0.083666
    # unadjusted 95%: 1 -+ 1.959964 * 0.083666 = 0.836018, 1.163982
    # adjusted 99.8%: 1 -+ 3.090232 * sqrt(0.007 + 0.01) = 0.597083, 1.402917
    row = funnel_curve(np.array([100.0]), 0.7, 0.01).iloc[0]
    assert list(row.index) == [
        "expected",
        "lower_95",
        "upper_95",
        "lower_998",
        "upper_998",
        "adj_lower_95",
        "adj_upper_95",
        "adj_lower_998",
        "adj_upper_998",
    ]
    assert row["lower_95"] == pytest.approx(0.836018, abs=1e-6)
    assert row["upper_95"] == pytest.approx(1.163982, abs=1e-6)
    assert row["adj_lower_998"] == pytest.approx(0.597083, abs=1e-6)
    assert row["adj_upper_998"] == pytest.approx(1.402917, abs=1e-6)
    with pytest.raises(DevianceInputError, match="v_over_e"):
        funnel_curve(np.array([10.0]), 0.0, 0.0)
    # revenue: V / E is a money amount, far above 1, and allowed
    assert funnel_curve(np.array([1e5]), 2e4, 0.0)["upper_95"].iloc[0] == pytest.approx(
        1 + 1.959964 * math.sqrt(2e9) / 1e5
    )


def test_funnel_curve_with_skew_by_hand():
    # E = 100, V/E = 0.7, T/V = 0.4 (win rates at p = 0.3), tau2 = 0.01: V = 70, T = 28,
    # s = sqrt(70) / 100 = 0.083666, k3 = T / E^3 = 2.8e-5
    # unadjusted: gamma = 28 / 70^1.5 = 0.047809, x(1.959964) = 1.959964 + 0.047809 / 6 *
    #   2.841459 = 1.982605 -> upper_95 = 1 + 0.083666 * 1.982605 = 1.165877
    # adjusted: sd = sqrt(0.007 + 0.01) = 0.130384, gamma = 2.8e-5 / sd^3 = 0.012633,
    #   x(3.090232) = 3.090232 + 0.012633 / 6 * 8.549534 = 3.108233 -> 1.405264
    row = funnel_curve(np.array([100.0]), 0.7, 0.01, t_over_v=0.4).iloc[0]
    assert row["upper_95"] == pytest.approx(1.165877, abs=1e-6)
    assert row["adj_upper_998"] == pytest.approx(1.405264, abs=1e-6)
    # skewed to the right: the upper limit moves out more than the lower one moves in
    plain = funnel_curve(np.array([100.0]), 0.7, 0.01).iloc[0]
    assert row["upper_998"] - plain["upper_998"] > 0
    assert row["lower_998"] - plain["lower_998"] > 0


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.floats(0.1, 5000.0), min_size=2, max_size=30, unique=True),
    st.floats(0.05, 1.0),
    st.floats(0.0, 0.5),
    st.floats(0.0, 1.0),
)
def test_skewed_funnel_curve_is_monotone(expected, v_over_e, tau2, t_over_v):
    curve = funnel_curve(np.sort(np.array(expected)), v_over_e, tau2, t_over_v * v_over_e)
    for level in ("95", "998"):
        for prefix in ("", "adj_"):
            lower, upper = curve[f"{prefix}lower_{level}"], curve[f"{prefix}upper_{level}"]
            assert (np.diff(upper) <= 1e-12).all() and (upper >= 1).all()
            assert (lower <= 1).all() and (lower >= 0).all()


# ------------------------------------------------------------------------------------------
# Overdispersion, shrinkage, BH, ranks


def test_overdispersion_by_hand():
    # z = -2, -1, 0, 1, 3: 10th percentile at position 0.4 -> -1.6, 90th at 3.6 -> 2.2
    # z_w = -1.6, -1, 0, 1, 2.2; squares 2.56 + 1 + 0 + 1 + 4.84 = 9.4; phi = 9.4 / 5 = 1.88
    # n phi = 9.4 > n - 1 = 4; w = 100, 25, 100, 25, 4: sum 254, sum w^2 = 21266
    # tau2 = 5.4 / (254 - 21266 / 254) = 5.4 * 127 / 21625 = 0.0317132948
    phi, tau2 = overdispersion(
        np.array([-2.0, -1, 0, 1, 3]), np.array([0.1, 0.2, 0.1, 0.2, 0.5]), method="winsorised"
    )
    assert phi == pytest.approx(1.88)
    assert tau2 == pytest.approx(5.4 * 127 / 21625, rel=1e-12)


def test_overdispersion_zero_when_phi_small():
    # z = -0.5, 0, 0.5, 0.2: percentiles -0.35 and 0.41; z_w = -0.35, 0, 0.41, 0.2
    # phi = (0.1225 + 0 + 0.1681 + 0.04) / 4 = 0.08265; n phi = 0.33 <= n - 1 = 3 -> tau2 = 0
    phi, tau2 = overdispersion(
        np.array([-0.5, 0.0, 0.5, 0.2]), np.full(4, 0.1), method="winsorised"
    )
    assert phi == pytest.approx(0.08265)
    assert tau2 == 0.0
    # boundary: n phi == n - 1 is still zero
    assert overdispersion(np.array([1.0, -1.0]), np.array([0.1, 0.2]))[1] > 0
    assert overdispersion(np.zeros(3), np.ones(3)) == (0.0, 0.0)
    assert overdispersion(np.array([4.0]), np.array([0.1]), method="winsorised") == (16.0, 0.0)
    # the default divides by the winsorised mean of z^2 under the null, 0.6787 (by hand:
    # 0.8 - 2 * 1.28155 * 0.175498 + 0.2 * 1.28155^2), so phi = 1 means chance alone
    assert WINSORISED_NULL_MEAN == pytest.approx(
        0.8 - 2 * 1.281552 * 0.175498 + 0.2 * 1.281552**2, abs=1e-5
    )
    assert overdispersion(np.array([4.0]), np.array([0.1]))[0] == pytest.approx(16.0 / 0.678655)
    phi, tau2 = overdispersion(np.array([]), np.array([]))
    assert math.isnan(phi) and tau2 == 0.0
    with pytest.raises(DevianceInputError, match="s: entry 1"):
        overdispersion(np.array([1.0, 2.0]), np.array([0.1, 0.0]))


def test_shrinkage_arithmetic():
    # y = 1.5, s = 0.2, tau2 = 0.04: w = 0.04 / 0.08 = 0.5, theta = 1 + 0.5 * 0.5 = 1.25,
    #   posterior variance 0.5 * 0.04 = 0.02
    # y = 0.6, s = 0.1: w = 0.04 / 0.05 = 0.8, theta = 1 - 0.8 * 0.4 = 0.68, variance 0.008
    theta, sd, w = shrink(np.array([1.5, 0.6]), np.array([0.2, 0.1]), 0.04)
    assert theta == pytest.approx([1.25, 0.68])
    assert sd == pytest.approx([math.sqrt(0.02), math.sqrt(0.008)])
    assert w == pytest.approx([0.5, 0.8])
    # another centre: mu = 1.1, y = 1.5, w = 0.5 -> theta = 1.3
    assert shrink(np.array([1.5]), np.array([0.2]), 0.04, mu=1.1)[0] == pytest.approx([1.3])
    theta, sd, w = shrink(np.array([1.5, np.nan]), np.array([0.2, np.nan]), 0.0)
    assert theta[0] == 1.0 and sd[0] == 0.0 and w[0] == 0.0 and np.isnan(theta[1])


def test_bh_by_hand():
    # sorted 0.01, 0.03, 0.04, 0.20 times 4 / rank: 0.04, 0.06, 0.0533, 0.20;
    # running minimum from the top: 0.04, 0.0533, 0.0533, 0.20
    q = bh(np.array([0.01, 0.04, 0.03, 0.20, np.nan]))
    assert q[:4] == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.20])
    assert np.isnan(q[4])
    assert bh(np.array([])).size == 0


def test_expected_ranks():
    # two independent normals N(1.2, 0.1^2) and N(1.0, 0.1^2): P(second > first) =
    # Phi(-0.2 / sqrt(0.02)) = Phi(-1.414214) = 0.078650 -> ranks 1.078650 and 1.921350
    ranks = expected_ranks(np.array([1.2, 1.0]), np.array([0.1, 0.1]))
    assert ranks == pytest.approx([1.078650, 1.921350], abs=1e-6)
    assert expected_ranks(np.ones(5), np.zeros(5)) == pytest.approx(np.full(5, 3.0))
    assert expected_ranks(np.array([3.0, 1.0, 2.0]), np.zeros(3)) == pytest.approx([1, 3, 2])
    many = np.random.default_rng(3).normal(size=2500)
    ranks = expected_ranks(many, np.full(2500, 0.1), chunk=1000)
    assert ranks.sum() == pytest.approx(2500 * 2501 / 2)


# ------------------------------------------------------------------------------------------
# The label rule, row by row (method.md section 5)

LABEL_TABLE = [
    # eligible, z_od, q, p_above_1, sustained, above_exact_998, tau2, expected label
    (True, 3.2, 0.20, 0.99, True, True, 0.01, "bright_spot"),  # beyond 99.8% adjusted
    (True, 2.5, 0.04, 0.99, True, False, 0.01, "bright_spot"),  # q <= 0.05 instead
    (True, 2.5, 0.05, 0.97, True, False, 0.01, "bright_spot"),  # q exactly 0.05 counts
    (True, Z998, 0.20, 0.95, True, False, 0.01, "bright_spot"),  # both thresholds inclusive
    (True, 3.2, 0.01, 0.90, True, True, 0.01, "candidate"),  # not sure enough, tau2 > 0
    (True, 3.2, 0.01, np.nan, True, True, 0.0, "bright_spot"),  # tau2 = 0: no P(theta>1) gate
    (True, 3.2, 0.01, 0.99, False, True, 0.01, "candidate"),  # not sustained
    (False, 3.2, np.nan, 0.99, True, True, 0.01, ""),  # below minimum volume
    (True, 2.0, 0.30, 0.99, True, False, 0.01, "candidate"),  # z_od >= 1.96 only
    (True, Z95, 0.30, 0.70, False, False, 0.01, "candidate"),  # 1.959964 itself counts
    (True, 1.0, 0.60, 0.80, True, True, 0.01, "candidate"),  # above exact 99.8% only
    (True, 1.9, 0.30, 0.99, True, False, 0.01, ""),  # above 1 but not beyond chance
    (True, -2.0, 1.00, 0.01, False, False, 0.01, ""),  # below expectation
    (False, np.nan, np.nan, np.nan, False, False, 0.0, ""),  # nothing measurable
    (True, np.nan, np.nan, np.nan, True, False, 0.0, ""),  # NaN never satisfies a condition
]


@pytest.mark.parametrize("row", LABEL_TABLE, ids=[f"row{i}" for i in range(len(LABEL_TABLE))])
def test_label_rule_row(row):
    eligible, z_od, q, p1, sustained, above, tau2, expected = row
    labels = label_units(
        eligible=np.array([eligible]),
        z_od=np.array([z_od]),
        q_value=np.array([q]),
        p_above_1=np.array([p1]),
        sustained=np.array([sustained]),
        above_exact_998=np.array([above]),
        tau2=tau2,
    )
    assert labels.tolist() == [expected]


# ------------------------------------------------------------------------------------------
# assess: wiring, hand-checked numbers, edge cases, bad input


def one_bin_unit(unit_id, n, wins_odd, wins_even, p=0.3, n_odd=None):
    """A unit whose n deals all have p_hat = p, n_odd of them closed in odd months."""
    n_odd = n // 2 if n_odd is None else n_odd
    unit = {
        "unit_id": unit_id,
        "n": n,
        "observed": wins_odd + wins_even,
        "expected": n * p,
        "variance": n * p * (1 - p),
        "observed_odd": wins_odd,
        "expected_odd": n_odd * p,
        "observed_even": wins_even,
        "expected_even": (n - n_odd) * p,
    }
    return unit, [{"unit_id": unit_id, "p": p, "count": n}] if n else []


def frames(specs):
    units, probs = zip(*specs, strict=True)
    return pd.DataFrame(list(units)), pd.DataFrame([r for rows in probs for r in rows])


@pytest.fixture(scope="module")
def quiet_org():
    """30 reps exactly on expectation plus one of each kind; tau2 is 0 by construction."""
    specs = [one_bin_unit(f"r{i:02d}", 60, 9, 9) for i in range(30)]
    specs += [
        one_bin_unit("bright", 64, 18, 17),  # E = 19.2, O = 35
        one_bin_unit("one_half", 64, 5, 30),  # O = 35 but below expectation in odd months
        one_bin_unit("mild", 64, 14, 13),  # O = 27, z = 2.13
        one_bin_unit("slightly", 64, 11, 11),  # O = 22
        one_bin_unit("small", 12, 4, 4),  # 12 deals
        one_bin_unit("none", 0, 0, 0),
        one_bin_unit("zero_wins", 60, 0, 0),
    ]
    specs.append(one_bin_unit("zero_p", 25, 0, 0, p=0.0))
    units, probs = frames(specs)
    return assess(units, probs)


def test_assess_columns_and_hand_checked_numbers(quiet_org):
    out, summary = quiet_org
    assert list(out.columns[:9]) == list(pd.DataFrame([one_bin_unit("x", 2, 0, 0)[0]]).columns)
    assert list(out.columns[9:]) == list(OUTPUT_COLUMNS)
    assert summary["tau2"] == 0.0 and summary["mu"] == 1.0
    row = out.set_index("unit_id").loc["bright"]
    # O = 35, E = 64 * 0.3 = 19.2, V = 64 * 0.21 = 13.44
    # oe = 35 / 19.2 = 1.822917; s = sqrt(13.44) / 19.2 = 0.190941; z = 0.822917 / s = 4.309803
    assert row["oe"] == pytest.approx(35 / 19.2)
    assert row["s"] == pytest.approx(0.190941, abs=1e-6)
    assert row["z"] == pytest.approx(4.309803, abs=1e-6)
    # skew-corrected z_od (tau2 = 0): T = 13.44 * (1 - 0.6) = 5.376, gamma = T / V^1.5 =
    # 0.109109, g = gamma / 6 = 0.018185; D = 1 + 4 g (g + x) = 1 + 0.072739 * 4.327988 =
    # 1.314815, z_od = 2 (g + x) / (1 + sqrt(D)) = 8.655976 / 2.146654 = 4.032311
    assert row["skew"] == pytest.approx(0.109109, abs=1e-6)
    assert row["z_od"] == pytest.approx(4.032311, abs=1e-6)
    assert row["p_value"] == pytest.approx(stats.norm.sf(4.032311), rel=1e-5)
    # exact limits: Binomial(64, 0.3) quantiles over E
    q = stats.binom.ppf([0.025, 0.975, 0.001, 0.999], 64, 0.3) / 19.2
    assert [row["lower_95"], row["upper_95"], row["lower_998"], row["upper_998"]] == (
        pytest.approx(q.tolist())
    )
    # adjusted limits with tau2 = 0: x(+-1.959964) = +-1.959964 + 0.018185 * 2.841459
    # = 2.011635, -1.908293 -> 1 + 0.190941 * x = 1.384103, 0.635629 (the plain normal
    # limits were 1.374237 and 0.625763: the right-skewed count needs more to be above)
    assert row["adj_lower_95"] == pytest.approx(0.635629, abs=1e-6)
    assert row["adj_upper_95"] == pytest.approx(1.384103, abs=1e-6)
    # tau2 = 0: everyone shrinks to 1, P(theta > 1) is not informative, ranks are all the middle
    assert row["shrunk_oe"] == 1.0 and row["reliability"] == 0.0
    assert np.isnan(row["p_above_1"]) and np.isnan(row["p_extreme"])
    assert row["expected_rank"] == pytest.approx((35 + 1) / 2)  # 35 eligible units
    assert row["sustained"] and row["label"] == "bright_spot" and row["outcome"] == "win_rate"
    assert row["needed_oe"] == pytest.approx(row["adj_upper_998"])  # tau2 = 0: no P gate
    # power at a true ratio of 1.5: needed 1 + 0.190941 * x(3.090232) = 1.619737, i.e.
    # ceil(1.619737 * 19.2) = 32 wins; every deal then wins with p = 0.45, so exactly the power
    # is P(O1 + O2 >= 32, O1 >= 10, O2 >= 10) for O1, O2 ~ Binomial(32, 0.45) = 0.248090:
    # 64 deals at p = 0.3 cannot show 1.5 times reliably
    assert row["needed_oe"] == pytest.approx(1.619737, abs=1e-6)
    assert row["power"] == pytest.approx(0.248090, abs=0.005) and not row["detectable"]
    assert row["reason"] == (
        "Above the 99.8% limit after allowing for overdispersion, above expectation in both "
        "halves of the sample, 64 closed deals: 35 wins where 19.2 were expected."
    )


def test_assess_labels_and_reasons(quiet_org):
    out, summary = quiet_org
    rows = out.set_index("unit_id")
    assert rows.loc["one_half", "label"] == "candidate"
    assert not rows.loc["one_half", "sustained"]
    assert "not above expectation in both halves" in rows.loc["one_half", "reason"]
    assert rows.loc["mild", "label"] == "candidate"  # z = 7.8 / 3.666 = 2.13
    assert rows.loc["mild", "reason"] == (
        "Candidate, above the 95% limit after allowing for overdispersion (27 wins where 19.2 "
        "were expected), but neither beyond the 99.8% limit nor significant once the number of "
        "reps compared is allowed for."
    )
    # plain z = 7.8 / sqrt(13.44) = 2.127624; skew-corrected (g = 0.018185) 2.068037
    assert rows.loc["mild", "z"] == pytest.approx(7.8 / math.sqrt(13.44))
    assert rows.loc["mild", "z_od"] == pytest.approx(2.068037, abs=1e-6)
    assert rows.loc["slightly", "label"] == ""
    assert rows.loc["slightly", "reason"] == (
        "Above expectation but not beyond chance: 22 wins where 19.2 were expected. Too few "
        "deals to tell reliably: a true 1.5 times expectation would be found only 25% of the time."
    )
    # small: E = 3.6, V = 2.52, T = 1.008, s = sqrt(2.52) / 3.6 = 0.440959, gamma = T / V^1.5
    # = 0.251976, x(3.090232) = 3.090232 + 0.041996 * 8.549534 = 3.449279 ->
    # needed 1 + 0.440959 * 3.449279 = 2.520989 (the plain normal 2.362664)
    small = rows.loc["small"]
    assert small["label"] == "" and np.isnan(small["q_value"])
    assert small["needed_oe"] == pytest.approx(2.520989, abs=1e-6)
    assert small["power"] == 0.0 and not small["detectable"]
    assert small["reason"] == (
        "Not enough closed deals yet to tell: 12 of the 20 needed. To show, would need to win "
        "more than 2.5 times what was expected (now 2.2)."
    )
    assert rows.loc["none", "reason"] == "No closed deals in the window."
    assert rows.loc["zero_p", "label"] == "" and np.isnan(rows.loc["zero_p", "z"])
    assert "nothing to compare" in rows.loc["zero_p", "reason"]
    zero = rows.loc["zero_wins"]  # O = 0 is defined: Y = 0, z = -18 / sqrt(12.6)
    assert zero["oe"] == 0.0 and zero["z"] == pytest.approx(-18 / math.sqrt(12.6))
    assert zero["label"] == "" and zero["reason"].startswith("Not above expectation: 0 wins")
    # needed_oe for every measurable unit, NaN where nothing can be compared
    assert rows["needed_oe"].isna().to_dict() == {u: u in ("none", "zero_p") for u in rows.index}
    assert rows.loc["r00", "needed_oe"] > 1 and summary["n_detectable"] == 0
    assert summary["n_units"] == 38 and summary["n_eligible"] == 35
    assert summary["n_bright_spots"] == 1 and summary["n_candidates"] == 2
    assert summary["tau2_zero_note"].startswith("The spread between reps is no more than chance")
    assert summary["rankability"] == 0.0
    assert summary["v_over_e"] == pytest.approx(0.7)
    # q over the 35 eligible units only
    eligible = rows["q_value"].notna()
    assert eligible.sum() == 35
    assert rows.loc[eligible, "q_value"].to_numpy() == pytest.approx(
        bh(rows.loc[eligible, "p_value"].to_numpy())
    )


def spread_org(seed=11, size=60):
    """Reps with real differences in skill (true ratios spread around 1), tau2 > 0."""
    rng = np.random.default_rng(seed)
    specs = []
    for i in range(size):
        n = int(rng.integers(40, 120))
        ratio = float(np.exp(rng.normal(0, 0.35)))
        wins = (
            rng.binomial(n // 2, min(0.3 * ratio, 0.95)),
            rng.binomial(n - n // 2, min(0.3 * ratio, 0.95)),
        )
        specs.append(one_bin_unit(f"s{i:02d}", n, int(wins[0]), int(wins[1])))
    return frames(specs)


def test_assess_with_real_spread():
    units, probs = spread_org()
    out, summary = assess(units, probs, phi_method="winsorised")
    tau2 = summary["tau2"]
    assert tau2 > 0 and summary["tau2_zero_note"] is None
    phi, tau2_again = overdispersion(out["z"].to_numpy(), out["s"].to_numpy(), method="winsorised")
    assert (summary["phi"], tau2) == (phi, tau2_again)
    s, oe = out["s"].to_numpy(), out["oe"].to_numpy()
    # every deal has p = 0.3: T = 0.4 V; on the ratio scale k3 = T / E^3, and under the
    # overdispersed model Y has sd = sqrt(s^2 + tau2) and skewness gamma = k3 / sd^3
    e, v = units["expected"].to_numpy(), units["variance"].to_numpy()
    sd = np.sqrt(s**2 + tau2)
    g = 0.4 * v / e**3 / sd**3 / 6
    x = (oe - 1) / sd
    assert out["z_od"].to_numpy() == pytest.approx(2 * (g + x) / (1 + np.sqrt(1 + 4 * g * (g + x))))
    upper = 1 + sd * (Z998 + g * (Z998**2 - 1))
    assert out["adj_upper_998"].to_numpy() == pytest.approx(upper)
    w = tau2 / (tau2 + s**2)
    # needed: the adjusted limit, or the ratio where P(theta > 1) reaches 0.95 if higher
    gate = 1 + stats.norm.isf(0.05) * s / np.sqrt(w)
    assert out["needed_oe"].to_numpy() == pytest.approx(np.maximum(upper, gate))
    assert out["reliability"].to_numpy() == pytest.approx(w)
    theta = 1 + w * (oe - 1)
    assert out["shrunk_oe"].to_numpy() == pytest.approx(theta)
    assert out["p_above_1"].to_numpy() == pytest.approx(
        stats.norm.cdf((theta - 1) / np.sqrt(w * s**2))
    )
    cut = 1 + stats.norm.ppf(0.9) * math.sqrt(tau2)
    assert out["p_extreme"].to_numpy() == pytest.approx(
        stats.norm.sf((cut - theta) / np.sqrt(w * s**2)), abs=1e-6
    )
    assert summary["rankability"] == pytest.approx(tau2 / (tau2 + np.median(s**2)))
    # best posterior mean gets the best expected rank; ranks add up to 1 + 2 + ... + 60
    assert out["expected_rank"].sum() == pytest.approx(60 * 61 / 2)
    assert out.loc[out["shrunk_oe"].idxmax(), "expected_rank"] == out["expected_rank"].min()
    bright = out[out["label"] == "bright_spot"]
    assert len(bright) == 3  # s44, s45 beyond 99.8%; s57 through q = 0.029
    assert (bright["p_above_1"] >= 0.95).all() and bright["sustained"].all()


def test_assess_single_unit_and_identical_units():
    units, probs = frames([one_bin_unit("solo", 80, 20, 20)])
    out, summary = assess(units, probs)
    assert summary["tau2"] == 0.0 and summary["n_eligible"] == 1
    assert "Fewer than two reps" in summary["tau2_zero_note"]
    assert out.loc[0, "expected_rank"] == 1.0
    assert out.loc[0, "label"] == "bright_spot"  # z = 16 / sqrt(16.8) = 3.90 and sustained

    units, probs = frames([one_bin_unit(f"t{i}", 50, 8, 7) for i in range(6)])
    out, summary = assess(units, probs, noun="team")
    assert summary["tau2"] == 0.0 and summary["phi"] == 0.0
    assert summary["tau2_zero_note"].startswith("The spread between teams")
    assert (out["label"] == "").all() and (out["expected_rank"] == 3.5).all()
    assert out["p_above_1"].isna().all()


def test_assess_units_without_any_eligible():
    units, probs = frames([one_bin_unit("a", 3, 1, 1), one_bin_unit("b", 0, 0, 0)])
    out, summary = assess(units, probs)
    assert summary["n_eligible"] == 0 and math.isnan(summary["rankability"])
    assert (out["label"] == "").all() and out["reason"].str.len().gt(0).all()
    # E = 0.9, V = 0.63: needed 1 + 3.090232 * sqrt(0.63) / 0.9 = 3.725, i.e. 3.35 wins > 3 deals
    # E = 0.9, V = 0.63, T = 0.252: gamma = 0.503953, needed 1 + 0.881917 * x(3.090232)
    # = 1 + 0.881917 * (3.090232 + 0.083992 * 8.549534) = 4.358627, i.e. 3.9 wins > 3 deals
    assert out.loc[0, "reason"] == (
        "Not enough closed deals yet to tell: 3 of the 20 needed. To show, would need to win more "
        "than 4.4 times what was expected (now 2.2; out of reach with 3 closed deals)."
    )


def test_assess_exact_limits_use_the_binned_probabilities():
    # three deals at 0.2 and two at 0.6, all lost: E = 1.8, V = 0.96
    unit = {
        "unit_id": "mix",
        "n": 25,
        "observed": 0,
        "expected": 1.8 + 20 * 0.5,
        "variance": 0.96 + 20 * 0.25,
        "observed_odd": 0,
        "expected_odd": 5.9,
        "observed_even": 0,
        "expected_even": 5.9,
    }
    probs = pd.DataFrame({"unit_id": ["mix"] * 3, "p": [0.2, 0.6, 0.5], "count": [3, 2, 20]})
    out, _ = assess(pd.DataFrame([unit]), probs)
    expected = exact_count_limits(np.array([0.2, 0.6, 0.5]), np.array([3, 2, 20]))
    assert out.loc[0, "upper_998"] == pytest.approx(expected[0.998][1] / 11.8)
    assert out.loc[0, "lower_95"] == pytest.approx(expected[0.95][0] / 11.8)


def test_sustained_needs_expectation_in_both_halves():
    # every deal closed in odd months: the even half has E = 0 and is no evidence
    units, probs = frames([one_bin_unit("odd", 60, 40, 0, n_odd=60)] * 1)
    out, _ = assess(units, probs)
    assert not out.loc[0, "sustained"] and out.loc[0, "label"] == "candidate"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda u, p: u.drop(columns="variance"), "lacks column.*'variance'"),
        (lambda u, p: u.assign(observed=[35, -1]), r"row 2 \(unit_id 'b'\), column 'observed'"),
        (lambda u, p: u.assign(n=[64, 8]), r"row 2 \(unit_id 'b'\), column 'observed'"),
        (lambda u, p: u.assign(unit_id=["a", "a"]), r"row 2 .*'unit_id'.*duplicate"),
        (lambda u, p: u.assign(expected=[19.2, "x"]), r"row 2 .*'expected': 'x' is not"),
        (lambda u, p: u.assign(variance=[30.0, 9.0]), r"row 1 .*'variance'"),
        (lambda u, p: u.assign(observed_odd=[1, 9]), r"row 1 .*'observed_odd'"),
        (lambda u, p: u.assign(expected_even=[1.0, 9.0]), r"row 1 .*'expected_odd'"),
    ],
)
def test_assess_bad_units_name_row_and_column(change, message):
    units, probs = frames([one_bin_unit("a", 64, 18, 17), one_bin_unit("b", 30, 5, 4)])
    with pytest.raises(DevianceInputError, match=message):
        assess(change(units, probs), probs)


def test_assess_bad_probs_name_row_and_column():
    units, probs = frames([one_bin_unit("a", 64, 18, 17), one_bin_unit("b", 30, 5, 4)])
    with pytest.raises(DevianceInputError, match=r"`probs`, row 2 \(unit_id 'b'\), column 'p'"):
        assess(units, probs.assign(p=[0.3, 1.2]))
    with pytest.raises(DevianceInputError, match=r"`probs`, row 1 .*'count'"):
        assess(units, probs.assign(count=[-64, 30]))
    with pytest.raises(DevianceInputError, match=r"`probs`, row 2 .*'unit_id'.*not in `units`"):
        assess(units, probs.assign(unit_id=["a", "zz"]))
    with pytest.raises(DevianceInputError, match=r"`units`, row 2 .*'n': n = 30 but `probs` hol"):
        assess(units, probs.iloc[:1])
    with pytest.raises(DevianceInputError, match="min_volume"):
        assess(units, probs, min_volume=0)


# ------------------------------------------------------------------------------------------
# Simulations: no false discoveries in a null org, planted bright spots found


def simulate_org(seed, planted=0, size=200, ratio=1.7):
    """Reps drawn from the model itself; the first `planted` reps win `ratio` times more often.

    p_hat is binned to 0.01 and outcomes are drawn from the binned p, so the model is right.
    Planted reps have about 120 deals at p around 0.3; the others 20 to 150 deals at p ~ Beta(2, 4).
    """
    rng = np.random.default_rng(seed)
    n = np.where(
        np.arange(size) < planted, rng.integers(110, 131, size), rng.integers(20, 151, size)
    )
    unit = np.repeat(np.arange(size), n)
    planted_deal = unit < planted
    p = np.where(planted_deal, rng.beta(12, 28, unit.size), rng.beta(2, 4, unit.size))
    p = np.clip(np.round(p, 2), 0.01, 0.99)
    won = rng.random(unit.size) < np.where(planted_deal, np.minimum(ratio * p, 1.0), p)
    odd = rng.random(unit.size) < 0.5
    deals = pd.DataFrame({"unit_id": unit, "p": p, "won": won, "odd": odd})
    deals["var"] = p * (1 - p)
    for half, mask in (("odd", odd), ("even", ~odd)):
        deals[f"observed_{half}"] = won & mask
        deals[f"expected_{half}"] = np.where(mask, p, 0.0)
    units = deals.groupby("unit_id").agg(
        n=("p", "size"),
        observed=("won", "sum"),
        expected=("p", "sum"),
        variance=("var", "sum"),
        observed_odd=("observed_odd", "sum"),
        expected_odd=("expected_odd", "sum"),
        observed_even=("observed_even", "sum"),
        expected_even=("expected_even", "sum"),
    )
    probs = deals.groupby(["unit_id", "p"]).size().rename("count").reset_index()
    return units.reset_index(), probs


def test_null_org_has_about_no_bright_spots():
    found = [assess(*simulate_org(seed))[1]["n_bright_spots"] for seed in range(5)]
    assert np.mean(found) <= 1


def test_planted_bright_spots_are_found():
    hits = labelled = 0
    for seed in (101, 102, 103):
        out, _ = assess(*simulate_org(seed, planted=10))
        marked = out["label"] == "bright_spot"
        hits += int((marked & (out["unit_id"] < 10)).sum())
        labelled += int(marked.sum())
    recall, precision = hits / 30, hits / max(labelled, 1)
    assert recall >= 0.6 and precision >= 0.8, (recall, precision)
