"""The case-mix model: coding, grouped fit, scoring in the engine, AUC and calibration."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from brightspots import casemix
from brightspots.casemix import MISSING, OTHER, CaseMixError


def _cells(rng: np.random.Generator, n_cases: int = 40_000) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cases with known coefficients: intercept -1, segment b +0.8, c -0.5, log size +0.6."""
    seg = rng.choice(["a", "b", "c", "rare"], size=n_cases, p=[0.5, 0.3, 0.1995, 0.0005])
    size = np.round(rng.uniform(8, 12, size=n_cases) / 0.05) * 0.05 + 0.025
    eta = -1 + np.select([seg == "b", seg == "c"], [0.8, -0.5], 0.0) + 0.6 * (size - 10)
    y = rng.random(n_cases) < 1 / (1 + np.exp(-eta))
    cases = pd.DataFrame({"x_segment": seg, "x_deal_size": size, "y": y.astype(int)})
    cells = (
        cases.groupby(["x_segment", "x_deal_size"])
        .agg(n=("y", "size"), wins=("y", "sum"))
        .reset_index()
    )
    return cases, cells


def test_fit_recovers_known_coefficients_and_pools_rare_levels():
    cases, cells = _cells(np.random.default_rng(1))
    model = casemix.fit(cells, ["segment", "deal_size"], pool_min_cases=30)
    assert model.levels["segment"][0] == "a"  # most common level is the reference
    assert "rare" in model.pooled["segment"]
    assert OTHER not in model.levels["segment"]  # too small even pooled: shares the reference
    p = model.params
    assert p["segment[b]"] == pytest.approx(0.8, abs=0.08)
    assert p["segment[c]"] == pytest.approx(-0.5, abs=0.1)
    assert p["deal_size"] == pytest.approx(0.6, abs=0.06)
    assert abs(p["deal_size^2"]) < 0.06
    assert model.n_cases == len(cases)


def test_scoring_in_the_engine_matches_the_fit_and_sums_to_observed():
    cases, cells = _cells(np.random.default_rng(2), 20_000)
    model = casemix.fit(cells, ["segment", "deal_size"])
    t = ibis.memtable(cases)
    scored = ibis.duckdb.connect().execute(model.score(t))
    # maximum likelihood with an intercept: expected wins add up to observed wins
    assert scored["p_hat"].sum() == pytest.approx(cases["y"].sum(), rel=1e-6)
    # unseen level -> the pooled/reference estimate, never an error
    unseen = ibis.memtable(pd.DataFrame({"x_segment": ["zzz"], "x_deal_size": [10.025], "y": [0]}))
    p_unseen = ibis.duckdb.connect().execute(model.score(unseen))["p_hat"].iloc[0]
    ref = 1 / (
        1
        + np.exp(
            -(
                model.params["const"]
                + model.params["deal_size"] * (10.025 - model.centres["deal_size"])
                + model.params["deal_size^2"] * (10.025 - model.centres["deal_size"]) ** 2
            )
        )
    )  # noqa: E501
    assert p_unseen == pytest.approx(ref, rel=1e-9)


def test_missing_numeric_gets_an_indicator():
    rng = np.random.default_rng(3)
    cases, cells = _cells(rng, 10_000)
    cells.loc[cells.index[:40], "x_deal_size"] = casemix.NUM_MISSING
    cells = cells.groupby(["x_segment", "x_deal_size"], as_index=False).sum()
    model = casemix.fit(cells, ["segment", "deal_size"])
    assert model.has_missing["deal_size"]
    assert "deal_size[missing]" in model.params


@pytest.mark.parametrize(
    "bad", ["stage", "touches", "practice_multithreading", "rep_id", "team_id"]
)
def test_guard_refuses_outcomes_practices_and_unit_ids(bad):
    with pytest.raises(CaseMixError, match="outcome, a practice or identifies"):
        casemix.check_covariates(["segment", bad])


def test_unknown_covariate_is_named():
    with pytest.raises(CaseMixError, match="unknown covariate 'colour'"):
        casemix.check_covariates(["colour"])


def test_all_same_outcome_is_a_clear_error():
    cells = pd.DataFrame({"x_segment": ["a", "b"], "n": [10, 10], "wins": [0, 0]})
    with pytest.raises(CaseMixError, match="same outcome"):
        casemix.fit(cells, ["segment"])


def test_separation_falls_back_to_a_finite_fit():
    cells = pd.DataFrame({"x_segment": ["a", "b", "c"], "n": [100, 100, 100], "wins": [0, 50, 100]})
    model = casemix.fit(cells, ["segment"], pool_min_cases=10)
    assert all(np.isfinite(v) for v in model.params.values())


def test_auc_and_calibration_by_hand():
    # p=0.1: 1 win 3 losses; p=0.5: 2 wins 2 losses; p=0.9: 3 wins 1 loss
    hist = pd.DataFrame({"p": [0.1, 0.5, 0.9], "n": [4, 4, 4], "wins": [1, 2, 3]})
    auc, cal = casemix.auc_and_calibration(hist)
    # pairs (win, loss): 6 wins x 6 losses = 36; wins above losses:
    # win@0.1: 0 below + 0.5*3 ties = 1.5; wins@0.5: 2*(3 + 0.5*2) = 8; wins@0.9: 3*(5 + 0.5*1)
    assert auc == pytest.approx((1.5 + 8 + 16.5) / 36)
    assert cal["n"].sum() == 12
    assert list(cal["observed_rate"]) == pytest.approx([0.25, 0.5, 0.75])


def test_case_table_codes_covariates():
    opps = ibis.memtable(
        pd.DataFrame(
            {
                "opportunity_id": ["o1", "o2", "o3"],
                "account_id": ["a1", "a1", "a2"],
                "owner_rep_id": ["r1", "r1", "r2"],
                "created_at": pd.to_datetime(["2025-02-01", "2025-05-01", "2025-08-01"]),
                "closed_at": pd.to_datetime(["2025-03-01", "2025-06-01", None]),
                "stage": ["won", "lost", "open"],
                "amount": [1000.0, 2000.0, 3000.0],
                "initial_amount": [999.0, None, 3000.0],
                "source": ["Inbound ", None, "partner"],
                "product": [None, None, None],
            }
        )
    )
    accounts = ibis.memtable(
        pd.DataFrame(
            {
                "account_id": ["a1", "a2"],
                "name": ["A", "B"],
                "owner_rep_id": ["r1", "r2"],
                "segment": ["SMB", "mid"],
                "industry": [None, None],
                "region": ["n", "s"],
                "employees": [10, 20],
                "annual_potential": [np.e - 1, 100.0],
                "created_at": pd.to_datetime(["2024-01-01", "2024-01-01"]),
            }
        )
    )
    reps = ibis.memtable(
        pd.DataFrame(
            {
                "rep_id": ["r1", "r2"],
                "name": ["R1", "R2"],
                "team_id": ["t1", "t2"],
                "region": ["north", None],
                "hire_date": pd.to_datetime(["2024-06-01", None]).date,
            }
        )
    )
    t = casemix.case_table(
        opps,
        accounts,
        reps,
        covariates=["segment", "source", "tenure", "quarter", "deal_size", "territory_potential"],
    )
    df = ibis.duckdb.connect().execute(t.order_by("opportunity_id"))
    assert list(df["opportunity_id"]) == ["o1", "o2"]  # open deal is not a case
    assert list(df["y"]) == [1, 0]
    assert list(df["x_segment"]) == ["smb", "smb"]
    assert list(df["x_source"]) == ["inbound", MISSING]
    assert list(df["x_tenure"]) == ["0-1y", "0-1y"]
    assert list(df["x_quarter"]) == ["2025-Q1", "2025-Q2"]
    assert df["x_deal_size"].iloc[1] == casemix.NUM_MISSING
    # log1p(e - 1) = 1 -> bin [1.0, 1.05) centre 1.025
    assert df["x_territory_potential"].iloc[0] == pytest.approx(1.025)
