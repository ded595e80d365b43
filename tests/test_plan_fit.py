"""Ideal-customer fit: the learned model recovers planted attribute effects, does not mark a
neglected account as a poor fit, checks itself by cross-validation; the profile is hand-checked."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from brightspots.plan.fit import FitError, attributes, combine, learn, profile_scores

SEGMENT = {"enterprise": 4.0, "mid_market": 2.0, "smb": 1.0}
INDUSTRY = {"software": 2.0, "retail": 1.0, "logistics": 1.0}


def _accounts(seed: int, n: int = 3000) -> tuple[pd.DataFrame, np.ndarray]:
    """Accounts whose yearly revenue is segment x industry x effort^0.5 (Poisson number of
    deals of a gamma size). Logistics accounts are as good as retail ones, but 80% of them are
    neglected (a tenth of the usual touches), against 10% of the others."""
    rng = np.random.default_rng(seed)
    seg = rng.choice(list(SEGMENT), n, p=[0.2, 0.3, 0.5])
    ind = rng.choice(list(INDUSTRY), n)
    neglected = rng.random(n) < np.where(ind == "logistics", 0.8, 0.1)
    touches = rng.poisson(np.where(neglected, 4, 40)) + 0.0
    exposure = rng.uniform(0.5, 2.0, n)
    mean_deals = 0.25 * np.array([SEGMENT[s] * INDUSTRY[i] for s, i in zip(seg, ind, strict=True)])
    mean_deals *= np.sqrt((1 + touches / exposure) / 41.0)
    deals = rng.poisson(mean_deals * exposure)
    revenue = np.array([rng.gamma(2.0, 10_000.0, k).sum() for k in deals])
    frame = pd.DataFrame(
        {
            "segment": seg,
            "industry": ind,
            "employees": rng.integers(10, 10_000, n),
            "region": rng.choice(["north", "south"], n),
            "first_source": rng.choice(["inbound", "outbound", None], n),
            "won_revenue": revenue,
            "n_closed": deals + rng.poisson(1.0, n),
            "n_won": deals,
            "expansion_won": rng.poisson(0.1 * mean_deals * exposure),
            "exposure_years": exposure,
            "touches": touches,
        }
    )
    frame["n_closed"] = np.maximum(frame["n_closed"], frame["n_won"])
    return frame, neglected


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_learned_fit_recovers_the_planted_effects(seed):
    accounts, _ = _accounts(seed)
    got = learn(accounts)
    c = got.coefficients
    # the reference levels are the most common (smb, and one of the industries)
    assert math.exp(c["segment=enterprise"]) == pytest.approx(4.0, rel=0.25)
    assert math.exp(c["segment=mid_market"]) == pytest.approx(2.0, rel=0.25)
    assert c["touches"] == pytest.approx(0.5, abs=0.15)  # revenue ~ (1 + touches/yr)^0.5
    assert got.check is not None and got.check.auc > 0.65 and got.check.spearman > 0.3
    assert np.all((got.score >= 0) & (got.score <= 100))
    ent_soft = (accounts["segment"] == "enterprise") & (accounts["industry"] == "software")
    assert got.score[ent_soft.to_numpy()].mean() > 90
    assert got.score[ent_soft.to_numpy()].min() > 65
    i = int(np.flatnonzero(ent_soft.to_numpy())[0])
    assert "Segment enterprise: about" in got.reasons[i]
    assert "Industry software" in got.reasons[i]


def test_a_neglected_account_is_not_a_poor_fit():
    accounts, neglected = _accounts(4)
    got = learn(accounts)
    c = got.coefficients
    # logistics earns less only because it was neglected: adjusted for effort it is retail's
    # equal; without the adjustment it would look about half as good
    retail, logistics = c.get("industry=retail", 0.0), c.get("industry=logistics", 0.0)
    assert abs(logistics - retail) < 0.2
    ind = accounts["industry"].to_numpy()
    assert abs(got.score[ind == "logistics"].mean() - got.score[ind == "retail"].mean()) < 5
    naive = learn(accounts.assign(touches=40.0 * accounts["exposure_years"]))
    nc = naive.coefficients
    gap = nc.get("industry=logistics", 0.0) - nc.get("industry=retail", 0.0)
    assert gap < -0.4  # the unadjusted model confuses neglect with poor fit
    assert neglected[ind == "logistics"].mean() > 0.7


def test_too_little_history_is_said_not_guessed():
    accounts, _ = _accounts(5, n=200)
    accounts["won_revenue"] = 0.0
    accounts.loc[:9, "won_revenue"] = 1000.0
    got = learn(accounts)
    assert np.all(np.isnan(got.score)) and got.check is None
    assert "10 account(s) won anything" in got.note


def test_rare_levels_are_pooled_and_missing_is_its_own_level():
    frame = pd.DataFrame({"segment": ["a"] * 40 + ["b"] * 40 + ["c"] * 3 + [None] * 35})
    got = attributes(frame, pool_min=30)
    assert got["segment"].value_counts().to_dict() == {"a": 40, "b": 40, "unknown": 35,
                                                       "other": 3}  # fmt: skip


def test_profile_scores_by_hand():
    accounts = pd.DataFrame(
        {
            "segment": ["Enterprise", "smb", None],
            "industry": ["software", "software", "retail"],
            "employees": [5000, 120, np.nan],
        }
    )
    profile = {
        "segment": {"enterprise": 30, "mid_market": 20},
        "industry": {"software": 20},
        "employees": {"1000": 10, "100": 5},
    }
    # best reachable: 30 + 20 + 10 = 60
    got = profile_scores(accounts, profile)
    assert got.tolist() == pytest.approx([100.0, 25 / 60 * 100, 0.0])
    with pytest.raises(FitError, match="employees.lots"):
        profile_scores(accounts, {"employees": {"lots": 3}})
    with pytest.raises(FitError, match=r"\[plan.profile\] colour"):
        profile_scores(accounts, {"colour": {"red": 3}})
    with pytest.raises(FitError, match="segment.smb = -2"):
        profile_scores(accounts, {"segment": {"smb": -2}})


def test_combine_weights_and_falls_back_to_the_profile():
    learned = np.array([80.0, np.nan])
    profile = np.array([40.0, 70.0])
    assert combine(learned, profile, 0.25).tolist() == [70.0, 70.0]
    assert combine(learned, None, 0.25) is learned


def test_the_cells_give_the_per_account_fit_exactly():
    import statsmodels.api as sm

    from brightspots.plan.fit import _cell_codes, _poisson

    rng = np.random.default_rng(0)
    n = 2000
    x = np.column_stack([np.ones(n), rng.integers(0, 3, n) * 0.5, rng.integers(0, 2, (n, 2))])
    exposure = rng.uniform(0.5, 2.0, n)
    y = rng.poisson(np.exp(x @ np.array([0.1, 0.4, -0.3, 0.2])) * exposure) * 1.7
    rows = np.arange(n)
    grouped = _poisson(x, rows, y, exposure, _cell_codes(x))
    each = sm.GLM(y, x, family=sm.families.Poisson(), offset=np.log(exposure)).fit()
    np.testing.assert_allclose(grouped.params, each.params, rtol=1e-8, atol=1e-10)
