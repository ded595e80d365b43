"""Account value and tiers: hand-checked sums, the Pareto tiers, missing parts explained."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from brightspots.plan.value import ValueConfigError, ValueSettings, tiers, value_frame


def test_value_is_the_weighted_sum_of_its_parts():
    accounts = pd.DataFrame(
        {
            "account_id": ["A", "B", "C", "D"],
            "won_12m": [100_000.0, np.nan, 0.0, 0.0],
            "pipeline": [50_000.0, 20_000.0, np.nan, 0.0],
            "annual_potential": [400_000.0, np.nan, 80_000.0, np.nan],
            "expansion_24m": [60_000.0, np.nan, np.nan, 0.0],
        }
    )
    got = value_frame(accounts, ValueSettings()).set_index("account_id")
    # A: 100,000 + 50,000 + 0.25 x 400,000 + 0.5 x 60,000 / 2 = 265,000
    assert got.loc["A", "value"] == pytest.approx(265_000.0)
    assert got.loc["A", "value_expansion"] == pytest.approx(15_000.0)
    assert got.loc["B", "value"] == pytest.approx(20_000.0)
    assert "no annual potential" in got.loc["B", "value_note"]
    assert got.loc["C", "value"] == pytest.approx(20_000.0)  # a quarter of the wallet
    assert got.loc["D", "value"] == 0.0 and got.loc["D", "tier"] == "maintain"
    assert "value 0" in got.loc["D", "value_note"]


def test_tiers_by_cumulative_share_of_value():
    # total 100: 50 makes the first half (strategic); 20 and the two 10s start before 80%
    # (key); 5 starts at 90% (core); 3 starts at 95% (maintain); 0 is always maintain
    value = np.array([10, 50, 20, 10, 5, 3, 2, 0.0])
    got = tiers(value, ValueSettings())
    assert got.tolist() == [
        "key", "strategic", "key", "key", "core", "maintain", "maintain", "maintain"
    ]  # fmt: skip
    # equal values share a tier even across a cut
    same = tiers(np.array([30.0, 30.0, 30.0, 10.0]), ValueSettings(strategic=0.4))
    assert same.tolist() == ["strategic", "strategic", "strategic", "core"]  # 10 starts at 90%
    assert tiers(np.zeros(3), ValueSettings()).tolist() == ["maintain"] * 3


def test_settings_from_config_and_their_errors():
    s = ValueSettings.of({"plan": {"value": {"potential": 0.5}, "tiers": {"strategic": 0.3}}})
    assert s.potential == 0.5 and s.strategic == 0.3 and s.key == 0.8
    with pytest.raises(ValueConfigError, match=r"\[plan.value\] won = -1"):
        ValueSettings.of({"plan": {"value": {"won": -1}}})
    with pytest.raises(ValueConfigError, match=r"\[plan.tiers\] strategic = 0.9, key = 0.8"):
        ValueSettings.of({"plan": {"tiers": {"strategic": 0.9}}})
    with pytest.raises(ValueConfigError, match="use a number"):
        ValueSettings.of({"plan": {"value": {"pipeline": "lots"}}})
