"""Care statistics: cluster-robust means, Cronbach's alpha, shrinkage toward group means.

The numbers in the hand examples are worked in the comments (design of issue 11, sections 3.2-3.4).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

from brightspots.care import (
    MeanEstimate,
    cluster_mean,
    cluster_means,
    cronbach_alpha,
    item_rest,
    reliability,
    shrink_to_groups,
    t_interval,
)
from brightspots.deviance import DevianceInputError, overdispersion, shrink
from brightspots.deviance.means import floor_se

# ------------------------------------------------------------------------------------------
# Means and their CR1 standard error


def _statsmodels_se(y: np.ndarray, groups: np.ndarray) -> float:
    fit = sm.OLS(y, np.ones(y.size)).fit(cov_type="cluster", cov_kwds={"groups": groups})
    return float(fit.bse[0])


def test_cluster_mean_hand_example():
    # A: (1, .75), B: (.25), C: (.5, .5, .75); mean 3.75 / 6 = 0.625; respondent residual sums
    # 1.75 - 1.25 = .5, .25 - .625 = -.375, 1.75 - 1.875 = -.125; sum of squares 0.40625;
    # V = 3/2 * 0.40625 / 36 = 0.0169271, SE = 0.1301041; t_2 = 4.302653
    est = cluster_mean(np.array([1.75, 0.25, 1.75]), np.array([2, 1, 3]))
    assert est == MeanEstimate(0.625, pytest.approx(0.1301041, abs=1e-7), 2, 3, 6)
    assert est.se**2 == pytest.approx(1.5 * 0.40625 / 36)
    y = np.array([1, 0.75, 0.25, 0.5, 0.5, 0.75])
    assert est.se == pytest.approx(_statsmodels_se(y, np.array([0, 0, 1, 2, 2, 2])), rel=1e-12)
    # CI 0.625 -+ 4.302653 * 0.1301041 = 0.0652 to 1.1848, shown clipped to 1
    assert est.lower_95 == pytest.approx(0.625 - 4.302653 * 0.1301041, abs=1e-6)
    assert est.lower_95 == pytest.approx(0.0652, abs=1e-4)
    assert est.upper_95 == 1.0


def test_cluster_mean_edge_cases():
    assert math.isnan(cluster_mean(np.array([]), np.array([])).mean)
    one = cluster_mean(np.array([1.5, 0.0]), np.array([2, 0]))  # n = 0 is no respondent
    assert (one.mean, one.df, one.respondents, one.answers) == (0.75, 0, 1, 2)
    assert math.isnan(one.se) and all(math.isnan(v) for v in one.interval())
    same = cluster_mean(np.array([0.5, 0.5, 1.0]), np.array([1, 1, 2]))
    assert same.se == 0.0  # everyone gave 0.5: V = 0 (floor_se handles it)
    with pytest.raises(DevianceInputError, match="whole number"):
        cluster_mean(np.array([1.0]), np.array([1.5]))
    with pytest.raises(DevianceInputError, match="differ in length"):
        cluster_mean(np.array([1.0, 2.0]), np.array([1]))


clusters = st.lists(
    st.lists(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]), min_size=1, max_size=4),
    min_size=2,
    max_size=12,
)


@settings(max_examples=80, deadline=None)
@given(clusters)
def test_cluster_mean_equals_statsmodels_cluster_se(answers):
    y = np.concatenate([np.array(a) for a in answers])
    groups = np.repeat(np.arange(len(answers)), [len(a) for a in answers])
    est = cluster_mean(np.array([sum(a) for a in answers]), np.array([len(a) for a in answers]))
    assert est.mean == pytest.approx(y.mean())
    assert est.df == len(answers) - 1
    if np.ptp(y) == 0:
        assert est.se == pytest.approx(0.0, abs=1e-12)
    else:
        assert est.se == pytest.approx(_statsmodels_se(y, groups), rel=1e-9, abs=1e-12)


def test_cluster_means_equals_one_unit_at_a_time():
    rng = np.random.default_rng(3)
    rows = pd.DataFrame(
        {
            "unit": rng.choice(["a", "b", "c", "d"], 60),
            "source": rng.choice(["customer", "employee"], 60),
            "n": rng.integers(0, 4, 60),
        }
    )
    rows["sum_y"] = rows["n"] * rng.random(60)
    rows.loc[(rows["unit"] == "d") & (rows["source"] == "employee"), "n"] = 0  # no answers
    rows.loc[rows["n"] == 0, "sum_y"] = 0.0
    got = cluster_means(rows, ["unit", "source"])
    assert list(got.columns) == ["unit", "source", "mean", "se", "df", "respondents", "answers"]
    assert ("d", "employee") not in set(zip(got["unit"], got["source"], strict=True))
    for row in got.itertuples():
        part = rows[(rows["unit"] == row.unit) & (rows["source"] == row.source)]
        one = cluster_mean(part["sum_y"].to_numpy(), part["n"].to_numpy())
        assert row.mean == pytest.approx(one.mean)
        assert (row.df, row.respondents, row.answers) == (one.df, one.respondents, one.answers)
        if math.isnan(one.se):
            assert math.isnan(row.se)
        else:
            assert row.se == pytest.approx(one.se)


def test_t_interval_and_floor():
    lo, hi = t_interval(
        np.array([0.5, 0.9, 0.5]), np.array([0.1, 0.1, np.nan]), np.array([9, 9, 9])
    )
    # t_9, 0.975 = 2.262157
    assert lo[0] == pytest.approx(0.5 - 0.2262157, abs=1e-6)
    assert hi[1] == 1.0 and np.isnan(lo[2])
    # floor: median of se^2 G over units with G >= 2 is sigma_r2; s^2 >= sigma_r2 / (4 G)
    se = np.array([0.1, 0.0, 0.05, np.nan, 0.2])
    g = np.array([4, 4, 16, 10, 1])
    floored, sigma_r2 = floor_se(se, g)
    assert sigma_r2 == pytest.approx(np.median([0.04, 0.0, 0.04]))
    assert floored[1] == pytest.approx(math.sqrt(0.04 / 16))
    assert floored[0] == 0.1 and floored[2] == 0.05
    assert np.isnan(floored[3]) and np.isnan(floored[4])  # NaN se, and a single cluster


# ------------------------------------------------------------------------------------------
# Cronbach's alpha

# 5 respondents x 3 items on 1-5, item 3 reverse-coded in the raw data
RAW = np.array([(4, 5, 2), (3, 3, 3), (5, 4, 1), (2, 3, 4), (4, 4, 2)], dtype=float)


def _rescaled(reverse: bool) -> np.ndarray:
    x = (RAW - 1) / 4
    if reverse:
        x[:, 2] = 1 - x[:, 2]
    return x


def test_cronbach_alpha_hand_example():
    # reversed: item variances .0875 + .0500 + .06875 = 0.20625, total variance 0.53125,
    # alpha = 3/2 * (1 - 0.20625 / 0.53125) = 78/85
    x = _rescaled(reverse=True)
    assert x.var(axis=0, ddof=1).sum() == pytest.approx(0.20625)
    assert x.sum(axis=1).var(ddof=1) == pytest.approx(0.53125)
    assert cronbach_alpha(x) == pytest.approx(78 / 85, abs=1e-12)
    assert cronbach_alpha(x) == pytest.approx(0.917647, abs=1e-6)


def test_unreversed_item_gives_negative_alpha_and_item_rest_without_warnings():
    x = _rescaled(reverse=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cronbach_alpha(x) == pytest.approx(-39 / 7, abs=1e-12)
        rest = item_rest(x)
    # items 1 and 3 always add up to 6 on the raw scale: item 2's rest is constant -> NaN
    assert np.isnan(rest[1])
    assert rest[2] == pytest.approx(-0.941, abs=5e-4)
    assert rest[0] < 0
    # reversed, every item agrees with the rest
    assert (item_rest(_rescaled(reverse=True)) > 0.6).all()


def test_alpha_degenerate_inputs():
    assert math.isnan(cronbach_alpha(np.ones((4, 3))))  # totals do not vary
    assert math.isnan(cronbach_alpha(np.array([[0.5, 0.25]])))  # one row
    assert np.isnan(item_rest(np.ones((4, 3)))).all()
    with pytest.raises(DevianceInputError, match="at least 2 items"):
        cronbach_alpha(np.ones((4, 1)))
    with pytest.raises(DevianceInputError, match="complete submissions"):
        cronbach_alpha(np.array([[0.5, np.nan], [0.5, 0.25]]))


def test_reliability_notes():
    items = ["cs_care_success", "cs_care_listened", "cs_care_rushed"]
    wrong = reliability(np.vstack([_rescaled(False)] * 2), items, survey="customer survey")
    assert wrong.alpha == pytest.approx(-39 / 7)
    assert wrong.submissions == 10 and wrong.n_items == 3
    assert wrong.items == "cs_care_success;cs_care_listened;cs_care_rushed"
    assert wrong.min_item_rest == pytest.approx(-0.941, abs=5e-4)
    assert "The care items of customer survey do not agree" in wrong.note
    assert "Is cs_care_rushed reverse-coded?" in wrong.note
    assert "set [care] reverse_items" in wrong.note
    incomplete = np.vstack([_rescaled(True)] * 2 + [[0.5, np.nan, 0.5]])
    right = reliability(incomplete, items, survey="customer survey")
    assert right.alpha == pytest.approx(78 / 85) and right.submissions == 10
    assert right.note == ""
    few = reliability(_rescaled(True), items, survey="S")
    assert math.isnan(few.alpha) and few.note == "S has 5 complete submissions: alpha needs 10."
    anon = reliability(np.vstack([_rescaled(True)] * 2), items, survey="pulse", has_ids=False)
    assert math.isnan(anon.alpha) and "no respondent ids" in anon.note
    single = reliability(np.ones((20, 1)), ["q"], survey="S")
    assert math.isnan(single.alpha) and single.note == "S has 1 care item: alpha needs 2."


# ------------------------------------------------------------------------------------------
# Shrinkage toward each unit's group


def test_shrink_to_groups_without_spread_pulls_to_the_group_mean():
    # every rep exactly at its team's mean: no spread within teams, tau2 = 0, w = 0
    y = np.array([0.6, 0.6, 0.6, 0.8, 0.8, 0.8])
    s = np.array([0.05, 0.04, 0.06, 0.05, 0.05, 0.03])
    group = ["a", "a", "a", "b", "b", "b"]
    out = shrink_to_groups(y, s, group, {"a": 0.6, "b": 0.8})
    assert out.tau2 == 0.0
    assert out.theta.tolist() == pytest.approx(y.tolist())
    assert out.weight.tolist() == [0.0] * 6 and out.post_sd.tolist() == [0.0] * 6
    # a rep off its team mean is pulled all the way back when tau2 is 0
    y2 = np.array([0.7, 0.6, 0.6, 0.8, 0.8, 0.8])
    again = shrink_to_groups(
        y2, np.full(6, 0.2), group, np.array([0.63, 0.63, 0.63, 0.8, 0.8, 0.8])
    )
    assert again.tau2 == 0.0 and again.theta[0] == pytest.approx(0.63)


def test_shrink_to_groups_with_a_large_spread_keeps_each_unit():
    rng = np.random.default_rng(5)
    group = np.repeat(np.arange(20), 10)
    y = 0.5 + rng.normal(0, 0.2, 200)
    s = np.full(200, 0.01)
    means = pd.Series(y).groupby(group).mean()
    out = shrink_to_groups(y, s, group, means)
    assert out.tau2 > 0.02
    assert (out.weight > 0.99).all()
    assert np.abs(out.theta - y).max() < 0.01
    # the arithmetic is deviance.shrink's with each unit's group mean
    theta, sd, w = shrink(y, s, out.tau2, means.to_numpy()[group])
    assert out.theta == pytest.approx(theta) and out.post_sd == pytest.approx(sd)
    assert out.weight == pytest.approx(w)


def test_shrink_to_groups_estimates_the_spread_within_groups():
    # 40 teams of 8 reps whose true means spread by tau = 0.05 around very different team means;
    # each rep's mean has s = 0.05. Pooled over seeds tau2 comes out near 0.0025: team means do
    # not inflate it, and the rep's own share of its team mean does not deflate it.
    estimates, naive = [], []
    for seed in range(6):
        rng = np.random.default_rng(seed)
        group = np.repeat(np.arange(40), 8)
        truth = rng.uniform(0.3, 0.8, 40)[group] + rng.normal(0, 0.05, 320)
        s = rng.uniform(0.04, 0.06, 320)
        y = truth + rng.normal(0, s)
        w = 1 / s**2
        team = pd.Series(w * y).groupby(group).sum() / pd.Series(w).groupby(group).sum()
        estimates.append(shrink_to_groups(y, s, group, team).tau2)
        # what the deviations from the team mean give without the share correction
        naive.append(overdispersion((y - team.to_numpy()[group]) / s, s)[1])
    assert np.mean(estimates) == pytest.approx(0.0025, rel=0.25)
    assert np.mean(naive) < 0.8 * 0.0025


def test_shrink_to_groups_edge_cases():
    y = np.array([0.9, 0.5, 0.55, np.nan])
    s = np.array([0.05, 0.05, 0.05, np.nan])
    group = ["solo", "t", "t", "t"]
    out = shrink_to_groups(y, s, group, {"solo": 0.9, "t": 0.52})
    assert np.isnan(out.theta[3]) and np.isnan(out.weight[3])
    assert out.theta[0] == pytest.approx(0.9)  # alone: its own mean is the group's
    # eligible restricts who estimates tau2; nobody eligible -> tau2 0
    none = shrink_to_groups(y, s, group, {"solo": 0.9, "t": 0.52}, eligible=np.zeros(4, bool))
    assert none.tau2 == 0.0 and none.theta[1] == pytest.approx(0.52)
    with pytest.raises(DevianceInputError, match="floor it first"):
        shrink_to_groups(np.array([0.5, 0.6]), np.array([0.0, 0.1]), ["a", "a"], {"a": 0.55})
    with pytest.raises(DevianceInputError, match="no mean for group 'b'"):
        shrink_to_groups(np.array([0.5, 0.6]), np.array([0.1, 0.1]), ["a", "b"], {"a": 0.55})
    with pytest.raises(DevianceInputError, match="differ in length"):
        shrink_to_groups(np.array([0.5]), np.array([0.1, 0.1]), ["a"], {"a": 0.5})
