"""The faster statistics give the numbers of the straightforward ones: the practice models'
case-mix designs built once from integer codes, the case-mix fit's own IRLS against statsmodels,
the shortcuts inside the logistic fits, and the deviance inputs and labels without per-unit
DataFrames."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from brightspots import blas, casemix
from brightspots.deviance import combine_labels
from brightspots.deviance.inputs import DevianceInputError, grouped_probs
from brightspots.practices.effects import logit
from brightspots.practices.effects.design import nuisance_design
from brightspots.practices.effects.designs import Designs
from brightspots.practices.effects.segments import segment_codes, segment_labels

COVARIATES = ["segment", "source", "deal_size", "territory_potential", "quarter"]
OTHER = casemix.OTHER


def deals(seed: int, n: int = 3000) -> pd.DataFrame:
    """Coded deals as ``casemix.case_table`` gives them: a rare source (pooled), a missing
    deal size (the numeric sentinel), text in pandas' string dtype."""
    rng = np.random.default_rng(seed)
    source = rng.choice(["inbound", "outbound", "partner"], n, p=[0.5, 0.3, 0.2])
    source[:10], source[10:18] = "rare1", "rare2"  # 18 deals of rare sources
    size = np.round(rng.uniform(8, 12, n) / 0.05) * 0.05 + 0.025
    size[rng.random(n) < 0.02] = casemix.NUM_MISSING
    return pd.DataFrame(
        {
            "y": (rng.random(n) < 0.35).astype("int64"),
            "x_segment": pd.array(rng.choice(["smb", "mid", "ent"], n), dtype="str"),
            "x_source": pd.array(source, dtype="str"),
            "x_deal_size": size,
            "x_territory_potential": np.round(rng.normal(11, 0.4, n) / 0.05) * 0.05 + 0.025,
            "x_quarter": pd.array(rng.choice(["2025-Q3", "2025-Q4", "2026-Q1"], n), dtype="str"),
        }
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_designs_are_the_nuisance_design_bit_for_bit_and_kept(seed):
    frame = deals(seed)
    designs = Designs(frame, pool_min_cases=30)
    rng = np.random.default_rng(seed)
    for covariates in (COVARIATES, ["source", "deal_size"], []):
        for share in (1.0, 0.6):
            sub = frame[rng.random(len(frame)) < share]
            expected = nuisance_design(sub, covariates, 30).to_numpy(float)
            got = designs.design(sub, covariates)
            assert got.shape == expected.shape
            assert np.array_equal(got, expected)  # the same numbers, not nearly
            if covariates:  # built once, kept
                assert np.shares_memory(designs.design(sub, covariates), got)
            terms = (rng.normal(size=len(sub)), rng.normal(size=(len(sub), 2)))
            stacked = designs.stacked(sub, covariates, *terms)
            assert stacked.flags.f_contiguous
            assert np.array_equal(stacked, np.column_stack([expected, *terms]))
    # the rare sources are pooled: too few together (18 < 30), they share the reference's
    # estimate; enough together (18 >= 15), they get a term of their own
    assert designs.design(frame, ["source"]).shape[1] == 3  # const, outbound, partner
    assert Designs(frame, pool_min_cases=15).design(frame, ["source"]).shape[1] == 4
    assert np.array_equal(
        Designs(frame, pool_min_cases=15).design(frame, ["source"]),
        nuisance_design(frame, ["source"], 15).to_numpy(float),
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_designs_made_a_block_at_a_time_are_the_matrix(monkeypatch, seed):
    # above DENSE_VALUES a design is not held as a matrix: its rows are made a block at a time
    # from the covariates' codes (BuiltRows). Every block, column selection and row subset is
    # the matrix's, bit for bit, and a fit on it is the fit on the matrix (to rounding: BLAS may
    # sum a view of the matrix's rows and a block made apart in different orders)
    from brightspots.practices.effects import designs as designs_module

    frame = deals(seed)
    rng = np.random.default_rng(seed)
    sub = frame[rng.random(len(frame)) < 0.7]
    terms = (rng.normal(size=len(sub)), rng.normal(size=(len(sub), 2)))
    dense = Designs(frame, pool_min_cases=30).stacked(sub, COVARIATES, *terms).copy()
    monkeypatch.setattr(designs_module, "DENSE_VALUES", 0)
    monkeypatch.setattr(logit, "BLOCK_ROWS", 512)
    built = Designs(frame, pool_min_cases=30).stacked(sub, COVARIATES, *terms)
    assert isinstance(built, designs_module.BuiltRows)
    assert built.shape == dense.shape
    assert np.array_equal(np.vstack([b for _, _, b in logit._each_block(built)]), dense)
    keep = [0, 2, 3, dense.shape[1] - 1]
    assert np.array_equal(built.columns(keep).block(100, 900), dense[100:900, keep])
    mask = rng.random(len(sub)) < 0.5
    assert np.array_equal(
        logit.take_rows(built, mask).columns(keep).block(0, 50), dense[mask][:50, keep]
    )
    y = sub["y"].to_numpy(float)
    groups = rng.integers(0, 25, len(sub))
    got, expected = logit.fit_clustered(y, built, groups), logit.fit_clustered(y, dense, groups)
    assert got.params == pytest.approx(expected.params, rel=1e-12, abs=1e-14)
    assert got.cov == pytest.approx(expected.cov, rel=1e-10, abs=1e-16)
    at = np.ones(1), np.zeros(1)
    assert logit.marginal_effect_at(got, built, [dense.shape[1] - 1], *at) == pytest.approx(
        logit.marginal_effect_at(expected, dense, [dense.shape[1] - 1], *at), rel=1e-12
    )


def test_designs_need_a_default_index():
    frame = deals(3).iloc[::-1]
    with pytest.raises(ValueError, match="default index"):
        Designs(frame, pool_min_cases=30)


def test_design_maps_unseen_and_missing_levels_to_the_pool():
    model = casemix.CaseMixModel(covariates=["segment"], levels={"segment": ["a", "b", OTHER]})
    rows = pd.DataFrame({"x_segment": ["a", "b", "zzz", None, "b"]})
    X = model.design(rows)
    assert X["segment[b]"].tolist() == [0.0, 1.0, 0.0, 0.0, 1.0]
    assert X[f"segment[{OTHER}]"].tolist() == [0.0, 0.0, 1.0, 1.0, 0.0]


def test_segment_codes_are_the_segment_labels():
    frame = pd.DataFrame({"seg": ["b", None, "a", "b", casemix.MISSING, None]})
    codes, labels = segment_codes(frame, "seg")
    assert labels[codes].tolist() == segment_labels(frame, "seg").tolist()
    assert sorted(labels) == [casemix.MISSING, "a", "b"]  # a value and no value share a label


def grouped_cells(seed: int, n_cells: int = 400) -> tuple[pd.DataFrame, list[str]]:
    rng = np.random.default_rng(seed)
    seg = rng.choice(["a", "b", "c"], n_cells)
    size = rng.normal(10, 1, n_cells)
    n = rng.integers(1, 60, n_cells)
    eta = -0.5 + np.select([seg == "b", seg == "c"], [0.7, -0.4], 0.0) + 0.3 * (size - 10)
    wins = rng.binomial(n, 1 / (1 + np.exp(-eta)))
    cells = pd.DataFrame({"x_segment": seg, "x_deal_size": size, "n": n, "wins": wins})
    return cells, ["segment", "deal_size"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_case_mix_irls_is_statsmodels_glm(seed):
    cells, covariates = grouped_cells(seed)
    model = casemix.fit(cells, covariates, pool_min_cases=30)
    frame = cells.sort_values([f"x_{c}" for c in covariates], kind="mergesort")
    X = model.design(frame.reset_index(drop=True))
    endog = np.column_stack([frame["wins"], frame["n"] - frame["wins"]])
    ref = sm.GLM(endog, X, family=sm.families.Binomial()).fit()
    got = np.array([model.params[c] for c in X.columns])
    assert got == pytest.approx(np.asarray(ref.params), rel=1e-10, abs=1e-13)
    assert not model.regularised


def test_case_mix_rank_deficient_design_is_left_to_statsmodels():
    # a deal size that is 11 in segment b and 10 elsewhere is an exact combination of the
    # constant and segment b's dummy: X'X is singular
    cells, covariates = grouped_cells(4)
    cells["x_deal_size"] = np.where(cells["x_segment"] == "b", 11.0, 10.0)
    model = casemix.prepare(cells, covariates, pool_min_cases=30)
    X = model.design(cells)
    X = X[[c for c in X.columns if c == "const" or np.ptp(X[c].to_numpy()) > 0]]
    wins, n = cells["wins"].to_numpy(float), cells["n"].to_numpy(float)
    assert casemix._irls(X.to_numpy(float), wins, n) is None
    fitted = casemix.fit(cells, covariates, pool_min_cases=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = cells.sort_values([f"x_{c}" for c in covariates], kind="mergesort")
        Xs = fitted.design(frame.reset_index(drop=True))
        Xs = Xs[[c for c in Xs.columns if c == "const" or np.ptp(Xs[c].to_numpy()) > 0]]
        endog = np.column_stack([frame["wins"], frame["n"] - frame["wins"]])
        ref = sm.GLM(endog, Xs, family=sm.families.Binomial()).fit()
    assert [fitted.params[c] for c in Xs.columns] == pytest.approx(list(ref.params), rel=1e-12)


def test_fast_deviance_is_the_log_sum_exp_deviance():
    rng = np.random.default_rng(5)
    y = (rng.random(20_000) < 0.3).astype(float)
    for scale in (0.1, 3.0, 40.0):
        eta = rng.normal(scale=scale, size=y.size)
        assert logit._deviance_of(y)(eta) == pytest.approx(logit._deviance(y, eta), rel=1e-14)
    # 2 * sum log(1 + e^0) by hand; and outcomes that are not 0/1 take the general formula
    assert logit._deviance_of(np.array([1.0, 0.0]))(np.zeros(2)) == pytest.approx(4 * np.log(2))
    frac = np.array([0.25, 0.5])
    assert logit._deviance_of(frac)(np.ones(2)) == logit._deviance(frac, np.ones(2))


def test_marginal_effect_in_one_copy_is_the_two_copy_one():
    rng = np.random.default_rng(6)
    X = logit.stack_columns(np.ones(500), rng.normal(size=(500, 2)), rng.integers(0, 2, 500))
    y = (rng.random(500) < 0.4).astype(float)
    fit = logit.fit_clustered(y, X, np.arange(500) % 25)
    Z1, Z0 = X.copy(), X.copy()
    Z1[:, [1, 3]], Z0[:, [1, 3]] = (0.5, 1.0), (0.5, 0.0)
    at = logit.marginal_effect_at(fit, X, [1, 3], np.array([0.5, 1.0]), np.array([0.5, 0.0]))
    assert at == logit.marginal_effect(fit, Z1, Z0)


def test_stacked_and_kept_columns():
    a, b = np.arange(6.0).reshape(3, 2), np.array([7.0, 8.0, 9.0])
    X = logit.stack_columns(a, b)
    assert X.flags.f_contiguous and np.array_equal(X, np.column_stack([a, b]))
    assert logit.kept_columns(X, [0, 1, 2]) is X
    kept = logit.kept_columns(X, [0, 2])
    assert kept.flags.f_contiguous and kept.tolist() == [[0.0, 7.0], [2.0, 8.0], [4.0, 9.0]]


def test_one_blas_thread_sets_and_restores_the_count():
    funcs = blas._openblas()
    before = [get() for get, _ in funcs]
    with blas.one_blas_thread():
        assert all(get() == 1 for get, _ in funcs)
    assert [get() for get, _ in funcs] == before


def test_grouped_probs_are_each_units_rows_in_order():
    units = pd.DataFrame({"unit_id": ["r2", "r1", "r3"]})
    probs = pd.DataFrame(
        {"unit_id": ["r1", "r2", "r1", "r3"], "p": [0.1, 0.2, 0.3, 0.4], "count": [1, 2, 3, 4]}
    )
    groups = grouped_probs(probs, units, np.array([2.0, 4.0, 4.0]))
    assert [(g[0].tolist(), g[1].tolist()) for g in groups] == [
        ([0.2], [2.0]),
        ([0.1, 0.3], [1.0, 3.0]),
        ([0.4], [4.0]),
    ]
    with pytest.raises(DevianceInputError, match="row 2 .*'r1'.* n = 5 but `probs` holds 4"):
        grouped_probs(probs, units, np.array([2.0, 5.0, 4.0]))
    with pytest.raises(DevianceInputError, match="`probs`, row 4 .*not in `units`"):
        grouped_probs(probs.assign(unit_id=["r1", "r2", "r1", "r9"]), units, np.ones(3))


def _combined_by_rows(per_outcome: pd.DataFrame) -> pd.DataFrame:
    """combine_labels' per-unit choice written as a plain loop over each unit's rows (one
    outcome only, so no Bonferroni demotion)."""
    rows = []
    for unit, g in per_outcome.groupby("unit_id", sort=False):
        for label in ("bright_spot", "candidate"):
            behind = g[g["label"] == label]
            if len(behind):
                rows.append((unit, label, "+".join(behind["outcome"]), " ".join(behind["reason"])))
                break
        else:
            rows.append((unit, "", g["outcome"].iloc[0], g["reason"].iloc[0]))
    return pd.DataFrame(rows, columns=["unit_id", "label", "outcome", "reason"])


def test_combine_labels_picks_per_unit_in_first_seen_order():
    per_outcome = pd.DataFrame(
        {
            "unit_id": ["r3", "r1", "r2", "r4"],
            "outcome": ["win_rate"] * 4,
            "label": ["", "bright_spot", "candidate", ""],
            "reason": ["three.", "one.", "two.", "four."],
        }
    )
    got = combine_labels(per_outcome)
    assert got.to_dict("list") == {
        "unit_id": ["r3", "r1", "r2", "r4"],
        "label": ["", "bright_spot", "candidate", ""],
        "outcome": ["win_rate"] * 4,
        "reason": ["three.", "one.", "two.", "four."],
    }
    pd.testing.assert_frame_equal(got, _combined_by_rows(per_outcome))


def test_combine_labels_over_outcomes_joins_the_outcomes_behind_the_label():
    per_outcome = pd.DataFrame(
        {
            "unit_id": ["r1", "r2", "r1", "r2", "r1", "r2"],
            "outcome": ["won_revenue", "won_revenue", "win_rate", "win_rate"]
            + ["buyer_impact"] * 2,
            "label": ["candidate", "", "candidate", "", "", "candidate"],
            "reason": ["r1 rev.", "r2 rev.", "r1 win.", "r2 win.", "r1 imp.", "r2 imp."],
            "z_od": [2.5, 0.1, 2.2, 0.3, 0.0, 2.1],
            "q_value": [0.2, 0.9, 0.3, 0.8, 0.9, 0.4],
        }
    )
    got = combine_labels(per_outcome)
    assert got["label"].tolist() == ["candidate", "candidate"]
    assert got["outcome"].tolist() == ["win_rate+won_revenue", "buyer_impact"]
    assert got["reason"].tolist() == ["r1 win. r1 rev.", "r2 imp."]
