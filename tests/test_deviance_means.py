"""The funnel on means (care index): calibration under the null, a planted unit, the label rule.

Answers are simulated as in the synthetic org of issue 11 (section 7): a respondent's latent
care is the unit's mean plus N(0, 0.12), each of 3 items adds N(0, 0.15) and is rounded to a
5-point scale rescaled to 0-1, 5% of items skipped (at least one kept).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from brightspots.care import cluster_means
from brightspots.deviance import Z95, Z998, DevianceInputError, assess_means, overdispersion
from brightspots.deviance.means import MEANS_OUTPUT_COLUMNS, t_to_z, z_to_t


def simulate(
    rng: np.random.Generator,
    n_units: int,
    *,
    respondents: tuple[int, int] = (10, 20),
    spread: float = 0.0,
    shift: dict[int, float] | None = None,
) -> tuple[pd.DataFrame, float]:
    """(units for assess_means, the company mean over every answer)."""
    g = rng.integers(respondents[0], respondents[1] + 1, n_units)
    unit = np.repeat(np.arange(n_units), g)
    m = 0.55 + spread * rng.normal(size=n_units)
    for pos, delta in (shift or {}).items():
        m[pos] += delta
    latent = m[unit] + rng.normal(0, 0.12, unit.size)
    noise = rng.normal(0, 0.15, (unit.size, 3))
    items = np.clip(np.round((latent[:, None] + noise) * 4) / 4, 0, 1)
    keep = rng.random(items.shape) >= 0.05
    keep[np.arange(unit.size), rng.integers(0, 3, unit.size)] = True
    rows = pd.DataFrame(
        {
            "unit_id": unit,
            "sum_y": (items * keep).sum(axis=1),
            "n": keep.sum(axis=1),
            "odd": rng.random(unit.size) < 0.5,  # the month each respondent answered in
        }
    )
    units = cluster_means(rows, ["unit_id"])
    halves = cluster_means(rows, ["unit_id", "odd"]).pivot(
        index="unit_id", columns="odd", values="mean"
    )
    units["mean_odd"] = halves[True].reindex(units["unit_id"]).to_numpy()
    units["mean_even"] = halves[False].reindex(units["unit_id"]).to_numpy()
    return units, float(rows["sum_y"].sum() / rows["n"].sum())


def test_null_units_pass_the_998_limit_at_its_rate_only_with_the_t_correction():
    # 2,000 units with no spread and 10-20 respondents: one-sided 0.1% expects 2 above 3.09.
    units, mu = simulate(np.random.default_rng(3), 2000)
    out, summary = assess_means(units, reference=mu)
    assert summary["n_eligible"] == 2000
    assert (out["z_od"] >= Z998).mean() <= 0.002
    # the plain normal z of the same units passes 3.09 several times as often (t_9 to t_19
    # tails): the test fails without the correction
    plain = (out["mean"] - mu) / np.sqrt(out["s"] ** 2 + summary["tau2"])
    assert (plain >= Z998).mean() > 0.002
    assert summary["n_bright_spots"] <= 4
    # z_od >= 3.09 exactly when the mean is above the adjusted 99.8% limit
    above = out["mean"] > out["adj_upper_998"]
    assert ((out["z_od"] >= Z998) == above).all()
    # candidates: about the one-sided 2.5% of z_od >= 1.96
    assert 0.01 <= (out["label"] == "candidate").mean() <= 0.04


def test_null_units_with_a_real_spread_keep_the_rate():
    # true means spread by 0.03 (tau2 = 0.0009): the overdispersed test still passes 3.09 at
    # about 0.1% and 1.96 at about 2.5% (Satterthwaite's df between G - 1 and infinity)
    units, mu = simulate(np.random.default_rng(1), 2000, respondents=(10, 12), spread=0.03)
    out, summary = assess_means(units, reference=mu)
    assert summary["tau2"] == pytest.approx(0.0009, rel=0.3)
    assert (out["z_od"] >= Z998).mean() <= 0.002
    assert 0.015 <= (out["z_od"] >= Z95).mean() <= 0.035
    assert (out["df_eff"] > out["df"]).all()


def test_a_planted_unit_is_labelled():
    # unit 7 is +0.30 above the others (about 7 standard errors with 15 respondents)
    units, mu = simulate(
        np.random.default_rng(11), 300, respondents=(15, 15), spread=0.03, shift={7: 0.30}
    )
    out, summary = assess_means(units, reference=mu, rater="customers")
    row = out.iloc[7]
    assert row["label"] == "bright_spot"
    assert row["z_od"] >= Z998 and row["q_value"] <= 0.05 and row["sustained"]
    assert summary["tau2"] > 0 and row["p_above_reference"] >= 0.95
    assert summary["n_bright_spots"] == 1
    assert row["reason"] == (
        f"Customers rate this rep's care {100 * row['mean']:.0f} of 100 (95% CI "
        f"{100 * row['lower_95']:.0f} to {100 * row['upper_95']:.0f}, 15 respondents), above "
        f"the company's {100 * mu:.0f} beyond the 99.8% limit, in both halves."
    )
    # shrunk toward mu, by its reliability
    w = summary["tau2"] / (summary["tau2"] + row["s"] ** 2)
    assert row["reliability"] == pytest.approx(w)
    assert row["shrunk_mean"] == pytest.approx(mu + w * (row["mean"] - mu))
    assert mu < row["shrunk_mean"] < row["mean"]


def test_halves_rule_makes_a_strong_unit_a_candidate():
    units, mu = simulate(np.random.default_rng(11), 300, respondents=(15, 15), shift={7: 0.30})
    units.loc[7, "mean_even"] = mu - 0.01  # below the reference in the even months
    units.loc[8, "mean_odd"] = np.nan  # no answer in one half: not sustained either
    out, _ = assess_means(units, reference=mu)
    assert out.loc[7, "z_od"] >= Z998 and not out.loc[7, "sustained"]
    assert out.loc[7, "label"] == "candidate"
    assert out.loc[7, "reason"].startswith("Candidate: respondents rate this rep's care")
    assert out.loc[7, "reason"].endswith("but not above it in both halves of the window.")
    assert not out.loc[8, "sustained"]


def test_hand_checked_scores_with_no_spread():
    # four identical-looking units around 0.5: phi is small, tau2 = 0, so z_od is the t-tail
    # z of (y - mu) / s with df = G - 1, and the adjusted limits are mu -+ t quantile * s
    units = pd.DataFrame(
        {
            "unit_id": ["a", "b", "c", "d"],
            "respondents": [12, 12, 12, 12],
            "mean": [0.52, 0.48, 0.5, 0.51],
            "se": [0.04, 0.04, 0.04, 0.04],
            "df": [11, 11, 11, 11],
            "mean_odd": [0.6, 0.4, 0.5, 0.5],
            "mean_even": [0.55, 0.4, 0.5, 0.5],
        }
    )
    out, summary = assess_means(units, reference=0.5)
    assert summary["tau2"] == 0.0 and summary["sigma_r2"] == pytest.approx(0.04**2 * 12)
    # a: x = 0.02 / 0.04 = 0.5, t_11 tail 0.313..., z_od = Phi^-1(1 - 0.313...)
    expected = stats.norm.isf(stats.t.sf(0.5, 11))
    assert out.loc[0, "z_od"] == pytest.approx(expected, rel=1e-10)
    assert out.loc[0, "p_value"] == pytest.approx(stats.t.sf(0.5, 11), rel=1e-10)
    assert out.loc[0, "df_eff"] == 11
    q998 = stats.t.isf(stats.norm.sf(Z998), 11)
    assert out.loc[0, "adj_upper_998"] == pytest.approx(0.5 + q998 * 0.04)
    assert out.loc[0, "lower_95"] == pytest.approx(0.52 - stats.t.isf(0.025, 11) * 0.04)
    assert out["label"].tolist() == ["", "", "", ""]
    assert np.isnan(out["p_above_reference"]).all()
    assert out["shrunk_mean"].tolist() == [0.5] * 4 and out["reliability"].tolist() == [0.0] * 4
    assert summary["tau2_zero_note"].startswith("The spread between reps is no more than chance")
    assert out.loc[0, "reason"].endswith("above the company's 50 but not beyond chance.")
    assert out.loc[1, "reason"].endswith("not above the company's 50.")
    assert list(out.columns) == [*units.columns, *MEANS_OUTPUT_COLUMNS]


def test_satterthwaite_degrees_of_freedom_with_a_spread():
    units, mu = simulate(np.random.default_rng(2), 200, spread=0.05)
    out, summary = assess_means(units, reference=mu)
    tau2 = summary["tau2"]
    assert tau2 > 0
    phi, tau2_again = overdispersion(
        ((out["mean"] - mu) / out["s"]).to_numpy(), out["s"].to_numpy()
    )
    assert (summary["phi"], tau2) == (pytest.approx(phi), pytest.approx(tau2_again))
    row = out.iloc[0]
    df_eff = row["df"] * (row["s"] ** 2 + tau2) ** 2 / row["s"] ** 4
    assert row["df_eff"] == pytest.approx(df_eff)
    x = (row["mean"] - mu) / math.sqrt(row["s"] ** 2 + tau2)
    assert row["z_od"] == pytest.approx(stats.norm.ppf(stats.t.cdf(x, df_eff)), abs=1e-9)
    assert summary["tau2_zero_note"] is None
    assert 0 < summary["rankability"] < 1


def test_volume_in_respondents_and_units_without_answers():
    units, mu = simulate(np.random.default_rng(4), 60, respondents=(12, 14), shift={0: 0.35})
    units.loc[0, "respondents"] = 9  # strong, but below the minimum of 10 respondents
    extra = pd.DataFrame(
        {
            "unit_id": [1000, 1001, 1002],
            "respondents": [np.nan, 1, 4],  # empty counts (a unit without answers) are 0
            "mean": [np.nan, 0.75, 0.5],
            "se": [np.nan, np.nan, 0.0],  # one respondent; four who all said the same
            "df": [np.nan, 0, 3],
            "mean_odd": [np.nan, 0.75, 0.5],
            "mean_even": [np.nan, np.nan, 0.5],
        }
    )
    out, summary = assess_means(pd.concat([units, extra], ignore_index=True), reference=mu)
    assert summary["n_eligible"] == 59 and summary["n_units"] == 63
    assert out.loc[0, "label"] == "" and out.loc[0, "z_od"] >= Z998
    assert out.loc[0, "reason"].endswith("(9 respondents): a care label needs 10 respondents.")
    none, one, same = out.iloc[-3], out.iloc[-2], out.iloc[-1]
    assert none["reason"] == "No answers about this rep in the window."
    assert np.isnan(none["z_od"]) and none["label"] == ""
    assert one["reason"] == (
        "Respondents rate this rep's care 75 of 100 (1 respondent): too few to give an interval."
    )
    # floored: s^2 = sigma_r2 / (4 G)
    assert same["s"] == pytest.approx(math.sqrt(summary["sigma_r2"] / 16))
    assert np.isfinite(same["z_od"]) and same["upper_95"] > same["lower_95"]


def test_tau2_note_with_too_few_eligible_units():
    units, mu = simulate(np.random.default_rng(6), 3, respondents=(5, 8))
    out, summary = assess_means(units, reference=mu, noun="team")
    assert summary["n_eligible"] == 0 and summary["tau2"] == 0.0
    assert summary["tau2_zero_note"].startswith("Fewer than two teams have the minimum of 10")
    assert (out["label"] == "").all() and np.isnan(out["q_value"]).all()


def test_bad_input_names_row_and_column():
    units, mu = simulate(np.random.default_rng(1), 5)
    with pytest.raises(DevianceInputError, match="duplicate unit"):
        assess_means(pd.concat([units, units.iloc[:1]]), reference=mu)
    with pytest.raises(DevianceInputError, match="lacks column"):
        assess_means(units.drop(columns="mean_odd"), reference=mu)
    bad = units.astype({"mean": object})
    bad.loc[2, "mean"] = "high"
    with pytest.raises(DevianceInputError, match=r"row 3 .* column 'mean'"):
        assess_means(bad, reference=mu)
    with pytest.raises(DevianceInputError, match="min_volume"):
        assess_means(units, reference=mu, min_volume=0)
    with pytest.raises(DevianceInputError, match="reference"):
        assess_means(units, reference=math.nan)


@settings(max_examples=100, deadline=None)
@given(st.floats(-8, 8), st.integers(1, 60))
def test_t_to_z_inverts_z_to_t_and_shrinks_t_tails(x, df):
    z = float(t_to_z(np.array(x), np.array(df)))
    assert abs(z) <= abs(x) + 1e-12  # t tails are heavier: the same x is less extreme
    assert float(z_to_t(z, np.array(df))) == pytest.approx(x, abs=1e-6)
    assert float(t_to_z(np.array(Z95), np.array(10**9))) == pytest.approx(Z95, abs=1e-6)
