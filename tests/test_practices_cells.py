"""Practice models on grouped covariate cells (above ``[analysis] max_driver_rows``): the same
numbers as the per-deal models, exactly for binary and count practices, within a stated
tolerance for continuous ones (binned), on DuckDB and on Spark."""

from __future__ import annotations

import math
import shutil

import ibis
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from brightspots import casemix, timezones
from brightspots.analysis import analyze
from brightspots.practices import analysis as practice_analysis
from brightspots.practices import cells
from brightspots.practices.builtin import BUILTINS
from brightspots.practices.effects import (
    WEIGHT,
    PracticeEffectsError,
    estimate_effects,
    estimate_grouped_effects,
    logit,
)
from brightspots.practices.effects import designs as designs_module
from brightspots.practices.effects.logit import fit_clustered, marginal_effect
from brightspots.practices.effects.weights import quantile
from brightspots.practices.registry import Practice, PracticeConfigError
from brightspots.workspace import Workspace
from conftest import require_spark

COVARIATES = ["segment", "territory_potential"]
KEYS = ["rep_id", "x_segment", "x_territory_potential"]
#: continuous practices (binned): |change in log OR| at most this, and at most this many SEs
LOG_OR_TOLERANCE = 0.01
SE_TOLERANCE = 0.1
#: q-values (Benjamini-Hochberg across practices: an exact practice's q may be a binned one's)
QS = ["q", "whole_deal_q", "raw_q"]
#: the numbers compared between the per-deal and the grouped fit of one practice
NUMBERS = [
    "n",
    "odds_ratio",
    "or_low",
    "or_high",
    "pp_diff",
    "pp_low",
    "pp_high",
    "p",
    "smd",
    "smd_low",
    "smd_high",
    "bright_share",
    "peer_share",
    "whole_deal_odds_ratio",
    "contrast_from",
    "contrast_to",
    "n_reps",
    "n_bright",
    "whole_deal_n",
    "whole_deal_or_low",
    "whole_deal_or_high",
    "whole_deal_p",
    "segment_p",
    "raw_odds_ratio",
    "raw_or_low",
    "raw_or_high",
]


def practice(pid: str, kind: str, **kw) -> Practice:
    args = dict(higher_is_better=True, primary="landmark", unit="units", phrase=pid)
    args.update(kw)
    return Practice(pid, f"{pid} practice", "opportunity", kind=kind, **args)


PRACTICES = [
    practice("meeting", "binary"),
    practice("touches", "count"),
    practice("hours", "hours", higher_is_better=False),
    practice("share", "share"),
]
EXACT = ["meeting", "touches"]


def expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def simulate(seed: int, n_reps: int = 120, per_rep: int = 40):
    """Deals with a binary, a count and two continuous practices, each with an effect, a
    segment and a rep-level covariate; about 5,000 deals."""
    rng = np.random.default_rng(seed)
    rich = rng.normal(size=n_reps)
    r = np.repeat(np.arange(n_reps), np.maximum(rng.poisson(per_rep, n_reps), 5))
    n = len(r)
    seg = rng.choice(np.array(["smb", "mid", "ent"]), p=[0.5, 0.3, 0.2], size=n)
    meeting = rng.binomial(1, expit(0.5 * rich[r])).astype(float)
    touches = rng.poisson(3.0, n).astype(float)
    y = rng.binomial(1, expit(-0.3 + 0.6 * rich[r] + 0.5 * meeting + 0.1 * touches))
    hours = rng.lognormal(1.0 - 0.3 * y, 1.0, n)
    share = np.clip(rng.beta(2, 3, n) + 0.1 * y, 0, 1)
    share[rng.random(n) < 0.2] = 0.0  # a mass at zero
    frame = pd.DataFrame(
        {
            "opportunity_id": [f"O{i:05d}" for i in range(n)],
            "rep_id": [f"R{k:03d}" for k in r],
            "y": y,
            "x_segment": seg,
            "x_territory_potential": np.floor((11 + 0.6 * rich[r]) / 0.05) * 0.05 + 0.025,
        }
    )
    for name, v in (("meeting", meeting), ("touches", touches), ("hours", hours), ("share", share)):
        frame[f"primary__{name}"] = v
        frame[f"whole__{name}"] = v
    frame.loc[rng.random(n) < 0.3, "primary__touches"] = np.nan  # not at risk at the landmark
    frame["whole__touches"] += rng.poisson(2.0, n)
    frame["whole__hours"] *= rng.uniform(0.8, 1.5, n)
    ranked = sorted({f"R{k:03d}" for k in range(n_reps)})
    return frame, set(ranked[:12]), set(ranked[12:])


def pandas_cells(frame: pd.DataFrame):
    """Exact cells (each practice value its own group), grouped in pandas."""

    def source(p: Practice) -> tuple[pd.DataFrame, pd.DataFrame]:
        out = []
        for column in cells.columns_of(p):
            defined = frame[frame[column].notna()]
            grouped = defined.groupby([*KEYS, "y", column]).size()
            out.append(grouped.rename(WEIGHT).reset_index())
        return out[0], out[1]

    return source


def engine_cells(frame: pd.DataFrame, practices: list[Practice]):
    """Cells computed by DuckDB with ``practices.cells`` (continuous practices binned)."""
    con = ibis.duckdb.connect()
    deals = con.create_table("deals", frame)
    found = con.execute(cells.checks(deals, practices)).iloc[0]
    edges = cells.edges(con.execute, deals, cells.binned(practices, found))

    def source(p: Practice) -> tuple[pd.DataFrame, pd.DataFrame]:
        primary, whole = cells.split(con.execute(cells.cell_table(deals, p, KEYS, edges)), p, KEYS)
        return primary, whole

    return source, edges


def same_rep_rows(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Two ``practice_reps`` tables: the same rows, rates to rounding."""
    assert len(a) == len(b) > 0
    for column in ("rep_id", "practice", "deals", "does"):
        assert a[column].tolist() == b[column].tolist(), column
    np.testing.assert_allclose(b["value"], a["value"], rtol=1e-12)


def z_of(ps: pd.Series) -> np.ndarray:
    """Two-sided p- or q-values as the z that gives them."""
    return stats.norm.isf(ps.to_numpy(float) / 2)


def se_of(row: pd.Series) -> float:
    return (math.log(row["or_high"]) - math.log(row["or_low"])) / (2 * 1.959963984540054)


# --- arithmetic on weights ---------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_weighted_quantile_is_numpys_on_the_repeated_values(seed):
    rng = np.random.default_rng(seed)
    size = int(rng.integers(1, 40))
    values = rng.integers(0, 8, size).astype(float) if seed % 2 else rng.lognormal(0, 1, size)
    weights = rng.integers(1, 6, size).astype(float)
    qs = (0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0)
    np.testing.assert_array_equal(
        quantile(values, qs, weights), np.quantile(np.repeat(values, weights.astype(int)), qs)
    )


def test_quantile_by_hand():
    # 1 x3, 2 x1, 10 x1: deals 1 1 1 2 10; 25th percentile at position 1 (1), 75th at 3 (2),
    # 90th at 3.6: 2 + 0.6 * (10 - 2) = 6.8
    got = quantile(np.array([10.0, 1.0, 2.0]), (0.25, 0.75, 0.9), np.array([1.0, 3.0, 1.0]))
    np.testing.assert_allclose(got, [1.0, 2.0, 6.8], rtol=1e-15)


def test_weighted_clustered_fit_is_the_per_deal_fit():
    # a 2 x 2 spread over 6 reps with a covariate: deals, then the same deals as cells
    rows = []
    for i in range(60):
        rep, x, c = i % 6, float(i % 3 == 0), float(i % 4 < 2)
        y = int((i * 7 + rep) % 5 < 2 + x)  # wins more often with the practice
        rows.append((rep, x, c, y))
    deals = pd.DataFrame(rows, columns=["rep", "x", "c", "y"])
    X = np.column_stack([np.ones(len(deals)), deals["c"], deals["x"]])
    per_deal = fit_clustered(deals["y"].to_numpy(float), X, deals["rep"].to_numpy())
    grouped = deals.groupby(["rep", "x", "c", "y"]).size().rename("n").reset_index()
    assert len(grouped) < len(deals) / 2
    Xc = np.column_stack([np.ones(len(grouped)), grouped["c"], grouped["x"]])
    w = grouped["n"].to_numpy(float)
    fit = fit_clustered(grouped["y"].to_numpy(float), Xc, grouped["rep"].to_numpy(), w)
    np.testing.assert_allclose(fit.params, per_deal.params, rtol=1e-12, atol=1e-12)
    # the sandwich sums each rep's scores, and N in (N-1)/(N-K) is the deals, not the cells
    np.testing.assert_allclose(fit.cov, per_deal.cov, rtol=1e-10, atol=1e-14)
    assert fit.n == per_deal.n == 60 and fit.n_clusters == per_deal.n_clusters == 6
    Z1, Z0 = X.copy(), X.copy()
    Z1[:, 2], Z0[:, 2] = 1.0, 0.0
    Zc1, Zc0 = Xc.copy(), Xc.copy()
    Zc1[:, 2], Zc0[:, 2] = 1.0, 0.0
    np.testing.assert_allclose(
        marginal_effect(fit, Zc1, Zc0, w), marginal_effect(per_deal, Z1, Z0), rtol=1e-10
    )


def test_grouped_odds_ratio_on_a_two_by_two_is_the_closed_form():
    # 30 won and 20 lost with the practice, 15 won and 35 lost without, over 10 reps: each rep
    # 3 and 2 with it, and 1 and 4 or 2 and 3 without
    frame = pd.DataFrame(
        [
            (f"R{k}", y, x, n)
            for k in range(10)
            for y, x, n in ((1, 1.0, 3), (0, 1.0, 2), (1, 0.0, 1 + k % 2), (0, 0.0, 4 - k % 2))
        ],
        columns=["rep_id", "y", "primary__p", WEIGHT],
    )
    frame["whole__p"] = frame["primary__p"]
    p = practice("p", "binary")
    effects, _ = estimate_grouped_effects(
        lambda _: (frame, frame), [p], covariates=[], bright=set(), peers=set()
    )
    row = effects.iloc[0]
    assert row["n"] == 100 and row["whole_deal_n"] == 100
    assert row["odds_ratio"] == pytest.approx(30 * 35 / (20 * 15))
    assert row["pp_diff"] == pytest.approx(100 * (30 / 50 - 15 / 50))


def test_bad_cells_name_the_cell():
    frame = pd.DataFrame(
        {"rep_id": ["R1"], "y": [1], "primary__p": [1.0], "whole__p": [1.0], WEIGHT: [0]}
    )
    with pytest.raises(PracticeEffectsError, match=r"row 0 \(rep_id='R1'\), column '__deals'"):
        estimate_grouped_effects(
            lambda _: (frame, frame), [practice("p", "binary")], covariates=[], bright=[], peers=[]
        )


# --- the grouped method against the per-deal one ------------------------------------------------


def compare(per_deal: pd.DataFrame, grouped: pd.DataFrame, exact: list[str]) -> dict[str, float]:
    """Assert the two effects tables agree (exact practices to 1e-9, others within the stated
    tolerance); the largest differences seen, by kind."""
    a = per_deal.set_index("practice")
    b = grouped.set_index("practice").loc[a.index]
    worst = {"exact": 0.0, "binned_log_or": 0.0, "binned_se": 0.0}
    for pid in a.index:
        ra, rb = a.loc[pid], b.loc[pid]
        assert ra["note"] == rb["note"], pid
        assert ra["suspect"] == rb["suspect"], pid
        # on the z scale: a p of 1e-45 moves by 8% when z moves by 0.006
        np.testing.assert_allclose(z_of(rb[QS]), z_of(ra[QS]), atol=SE_TOLERANCE, equal_nan=True)
        if pid in exact:
            np.testing.assert_allclose(
                rb[NUMBERS].to_numpy(float), ra[NUMBERS].to_numpy(float),
                rtol=1e-9, atol=1e-12, equal_nan=True, err_msg=pid,
            )  # fmt: skip
            assert ra["sentence"] == rb["sentence"], pid
            diff = np.abs(np.log(rb["odds_ratio"]) - np.log(ra["odds_ratio"]))
            worst["exact"] = max(worst["exact"], float(diff))
            continue
        for key in ("odds_ratio", "whole_deal_odds_ratio", "raw_odds_ratio"):
            diff = abs(math.log(rb[key]) - math.log(ra[key]))
            assert diff < LOG_OR_TOLERANCE, (pid, key, diff)
            worst["binned_log_or"] = max(worst["binned_log_or"], diff)
        se = se_of(ra)
        diff = abs(math.log(rb["odds_ratio"]) - math.log(ra["odds_ratio"]))
        assert diff < SE_TOLERANCE * se, (pid, diff / se)
        worst["binned_se"] = max(worst["binned_se"], diff / se)
        assert se_of(rb) == pytest.approx(se, rel=0.01), pid
        assert rb["pp_diff"] == pytest.approx(ra["pp_diff"], abs=0.1), pid
        assert z_of(rb[["p"]])[0] == pytest.approx(z_of(ra[["p"]])[0], abs=SE_TOLERANCE), pid
        # each rep's mean is the deal-weighted mean of their cells: the screen is exact
        for key in ("smd", "smd_low", "smd_high", "n", "n_reps", "whole_deal_n"):
            assert rb[key] == pytest.approx(ra[key], rel=1e-9, nan_ok=True), (pid, key)
    return worst


@pytest.mark.parametrize(("seed", "made"), [(1, False), (2, False), (1, True)])
def test_exact_cells_give_the_per_deal_effects(monkeypatch, seed, made):
    frame, bright, peers = simulate(seed)
    kw = dict(covariates=COVARIATES, bright=bright, peers=peers, seed=seed, n_boot=200)
    a, seg_a = estimate_effects(frame, PRACTICES, **kw)
    if made:  # the grouped designs made a block at a time (as above DENSE_VALUES), in blocks
        # that do not divide the cells evenly: the same numbers
        monkeypatch.setattr(designs_module, "DENSE_VALUES", 0)
        monkeypatch.setattr(logit, "BLOCK_ROWS", 257)
    b, seg_b = estimate_grouped_effects(pandas_cells(frame), PRACTICES, **kw)
    compare(a, b, exact=[p.id for p in PRACTICES])  # every value its own cell: all exact
    assert list(a["practice"]) == list(b["practice"])  # the same ranking
    assert len(seg_a) == len(seg_b) > 0
    np.testing.assert_allclose(
        seg_b.select_dtypes("number").to_numpy(float),
        seg_a.select_dtypes("number").to_numpy(float),
        rtol=1e-9, atol=1e-12, equal_nan=True,
    )  # fmt: skip
    assert seg_a["differs"].tolist() == seg_b["differs"].tolist()


@pytest.mark.parametrize("seed", [3, 4])
def test_engine_cells_bin_continuous_practices_within_tolerance(seed):
    frame, bright, peers = simulate(seed)
    kw = dict(covariates=COVARIATES, bright=bright, peers=peers, seed=seed, n_boot=200)
    a, _ = estimate_effects(frame, PRACTICES, **kw)
    source, edges = engine_cells(frame.drop(columns="opportunity_id"), PRACTICES)
    # continuous practices are binned, binary and whole-numbered counts group exactly
    assert set(edges) == {"primary__hours", "whole__hours", "primary__share", "whole__share"}
    assert 0.0 in edges["primary__share"]  # the mass at zero is an edge: cells of its own
    b, _ = estimate_grouped_effects(source, PRACTICES, **kw)
    worst = compare(a, b, exact=EXACT)
    assert worst["exact"] < 1e-9
    assert 0 < worst["binned_log_or"] < LOG_OR_TOLERANCE  # binned: close, not identical


def test_only_continuous_values_are_binned():
    frame = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2", "O3"],
            "rep_id": ["R1", "R1", "R2"],
            "y": [1, 0, 1],
            "primary__b": [1.0, 0.0, None],
            "whole__b": [1.0, 0.0, 1.0],
            "primary__c": [1.0, 2.0, None],  # whole numbers: exact cells
            "whole__c": [1.0, 2.5, 3.0],  # a count with a fraction: binned
            "primary__s": [0.0, 0.5, 1.0],
            "whole__s": [0.0, 0.5, 1.0],
        }
    )
    con = ibis.duckdb.connect()
    deals = con.create_table("deals", frame)
    ps = [practice("b", "binary"), practice("c", "count"), practice("s", "share")]
    found = con.execute(cells.checks(deals, ps)).iloc[0]
    assert cells.binned(ps, found) == ["whole__c", "primary__s", "whole__s"]
    edges = cells.edges(con.execute, deals, cells.binned(ps, found))
    assert set(edges) == {"whole__c", "primary__s", "whole__s"}
    # exact quantiles, linear between the values (numpy's default): of 0, 0.5 and 1 the
    # quantile at level q is q itself (the 25th percentile 0.25, the 75th 0.75)
    assert edges["whole__s"] == sorted(set(np.quantile([0.0, 0.5, 1.0], cells.levels())))
    np.testing.assert_allclose(edges["whole__s"], cells.levels(), rtol=1e-12)
    assert {0.25, 0.5, 0.75} <= set(edges["whole__s"])
    # three values: apart in three bins, each cell's value one of them
    got = con.execute(cells.cell_table(deals, ps[2], ["rep_id"], edges))
    assert sorted(got.loc[got["variant"] == 0, "value"]) == [0.0, 0.5, 1.0]
    assert got["n"].sum() == 6


def test_max_driver_rows_setting():
    assert practice_analysis.max_driver_rows({}) == 2_000_000
    assert practice_analysis.max_driver_rows({"analysis": {"max_driver_rows": 0}}) == 0
    for bad in (-1, 2.5, True, "10"):
        with pytest.raises(PracticeConfigError, match="max_driver_rows"):
            practice_analysis.max_driver_rows({"analysis": {"max_driver_rows": bad}})


class _Engine:
    """What ``_check_deals`` needs of a workspace: ``execute``."""

    def __init__(self, con) -> None:
        self.execute = con.execute


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [("primary__b", 2.0, "0 or 1"), ("whole__c", math.inf, "finite"), ("rep_id", None, "rep")],
)
def test_a_value_no_model_takes_names_the_deal(column, value, words):
    frame = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2", "O3"],
            "rep_id": ["R1", "R1", "R2"],
            "y": [1, 0, 1],
            "primary__b": [1.0, 0.0, None],
            "whole__b": [1.0, 0.0, 1.0],
            "primary__c": [1.0, 2.0, 3.0],
            "whole__c": [1.0, 2.0, 3.0],
        }
    )
    frame.loc[1, column] = value
    con = ibis.duckdb.connect()
    deals = con.create_table("deals", frame)
    ps = [practice("b", "binary"), practice("c", "count")]
    found = con.execute(cells.checks(deals, ps)).iloc[0]
    with pytest.raises(PracticeEffectsError, match=f"opportunity_id='O2', column '{column}'.*"):
        practice_analysis._check_deals(_Engine(con), deals, ps, found)
    with pytest.raises(PracticeEffectsError, match=words):
        practice_analysis._check_deals(_Engine(con), deals, ps, found)


# --- whole runs --------------------------------------------------------------------------------


def test_analyze_above_the_cap_gives_the_uncapped_results(small_ws, tmp_path):
    root = tmp_path / "ws"
    shutil.copytree(small_ws, root)
    names = ("practice_effects", "practice_segment_effects", "practice_reps", "practice_deals")
    with Workspace.open(root) as ws:
        base = ws.latest_run()  # small_ws's own analysis: below the default cap
        assert "grouped" not in base.diagnostics["practices"]
        before = {name: ws.run_results(name, base.run_id) for name in names}
        ws.update_config({"analysis": {"max_driver_rows": 10}})
    with Workspace.open(root) as ws:
        run = analyze(ws)
        after = {name: ws.run_results(name, run.run_id) for name in names}
    notes = run.diagnostics["practices"]
    assert notes["grouped"] is True and notes["max_driver_rows"] == 10
    assert notes["n_deals"] == len(before["practice_deals"]) > 10
    assert notes["n_cells"] > notes["max_cells"] > 0 and notes["reused_from"] is None
    kinds = {p.id: p.kind for p in BUILTINS}
    exact = [pid for pid, kind in kinds.items() if kind in ("binary", "count")]
    compare(before["practice_effects"], after["practice_effects"], exact=exact)
    seg_a, seg_b = before["practice_segment_effects"], after["practice_segment_effects"]
    assert seg_a[["practice", "segment", "n"]].equals(seg_b[["practice", "segment", "n"]])
    np.testing.assert_allclose(
        seg_b["odds_ratio"].to_numpy(float), seg_a["odds_ratio"].to_numpy(float),
        rtol=1e-6, equal_nan=True,
    )  # fmt: skip
    same_rep_rows(before["practice_reps"], after["practice_reps"])
    # practice_deals went from the engine into storage, the same rows and types
    deals_a, deals_b = (
        d.sort_values("opportunity_id").reset_index(drop=True)
        for d in (before["practice_deals"], after["practice_deals"])
    )
    pd.testing.assert_frame_equal(deals_a, deals_b, check_exact=True)


SPARK_PRACTICES = ("multithreading", "contacts_touched", "call_share")
AS_OF = pd.Timestamp("2026-11-01")


def _practice_run(
    root, engine: str, cap: int, ids=SPARK_PRACTICES, extra=()
) -> dict[str, pd.DataFrame]:
    """``practices.analysis.run`` of the built-ins ``ids`` (and the practices ``extra``) on the
    org's closed deals."""
    Workspace.open(root).update_config({"analysis": {"max_driver_rows": cap}})
    wanted = [p for p in BUILTINS if p.id in ids] + list(extra)
    with Workspace.open(root, engine=engine) as ws:
        opps = ws.table("opportunities")
        start = pd.Timestamp(ws.execute(opps.created_at.min()))

        def local(ts):
            return timezones.to_local(ts, "UTC", start, AS_OF)

        covariates = ["segment", "source"]
        cases = casemix.case_table(
            opps, ws.table("accounts"), ws.table("reps"), covariates=covariates, local=local
        )
        reps = sorted(ws.execute(ws.table("reps").rep_id))
        found = practice_analysis.run(
            ws, cases, covariates=covariates, bright=set(reps[:6]), peers=set(reps[6:]),
            local=local, pool_min_cases=30, as_of=AS_OF, practices=wanted,
        )  # fmt: skip
        try:
            deals = (
                found.deals if isinstance(found.deals, pd.DataFrame) else ws.execute(found.deals)
            )
        finally:
            for t in found.kept:
                t.release()
    assert found.grouped == (cap > 0)
    deals = deals.sort_values("opportunity_id").reset_index(drop=True)
    return {"effects": found.effects, "reps": found.reps, "deals": deals, "notes": found.notes}


@pytest.mark.spark
def test_spark_above_the_cap_gives_duckdbs_per_deal_results(small_ws, tmp_path):
    require_spark()
    root = tmp_path / "ws"
    shutil.copytree(small_ws, root)
    Workspace.open(root).update_config({"spark": {"mirror": str(tmp_path / "mirror")}})
    duck = _practice_run(root, "duckdb", 0)
    spark = _practice_run(root, "spark", 10)
    # a binary and a count practice (exact cells) and a share (binned)
    exact = [p.id for p in BUILTINS if p.id in SPARK_PRACTICES and p.kind in ("binary", "count")]
    assert len(exact) == 2
    compare(duck["effects"], spark["effects"], exact=exact)
    assert np.isfinite(duck["effects"]["smd"]).all()  # bright spots and peers: screened
    same_rep_rows(duck["reps"], spark["reps"])
    pd.testing.assert_frame_equal(
        duck["deals"], spark["deals"], check_exact=True, check_dtype=False
    )


# --- above the cap, deals measured in buckets of reps -------------------------------------------


def test_rep_buckets_by_hand():
    counts = pd.DataFrame({"rep_id": ["B", "A", None, "D", "C"], "n": [3, 5, 2, 1, 3]})
    # most deals first (A 5, B 3, C 3, no rep 2, D 1), each into the lightest bucket: A -> 0,
    # B -> 1, C -> 1 (3 < 5), no rep -> 0 (5 < 6), D -> 1 (6 < 7)
    assert practice_analysis.rep_buckets(counts, 2) == [["A", None], ["B", "C", "D"]]
    assert practice_analysis.rep_buckets(counts, 1) == [["A", "B", "C", None, "D"]]
    # never more buckets than reps, nor an empty one
    assert sorted(map(len, practice_analysis.rep_buckets(counts, 9))) == [1] * 5
    assert practice_analysis.rep_buckets(counts.iloc[:0], 3) == []


#: built-ins of every shape: a binary and a count on the deal's activities, replies answered
#: (buyer events), credit (the ledger's), a binned share and a rep-period one (the owner's deals)
BUCKET_PRACTICES = (
    "multithreading",
    "contacts_touched",
    "response_within_24h",
    "impact_share",
    "call_share",
    "cadence_regularity",
)


def test_deals_measured_in_buckets_of_reps_equal_one_pass(small_ws, tmp_path, monkeypatch):
    from brightspots.practices.custom import custom_practices

    # a workspace's own practice reading other deals (of any owner) on the deal's account:
    # measured over every deal at once, whatever the buckets
    earlier = custom_practices(
        [
            {
                "id": "earlier_deals",
                "description": "Deals opened on the account before this one.",
                "level": "opportunity",
                "higher_is_better": True,
                "sql": "SELECT o.opportunity_id, count(*) AS value FROM opportunities AS o "
                "JOIN opportunities AS p ON o.account_id = p.account_id "
                "AND p.created_at < o.created_at GROUP BY o.opportunity_id",
            }
        ],
        reserved=set(),
    )
    root = tmp_path / "ws"
    shutil.copytree(small_ws, root)
    kw = {"ids": BUCKET_PRACTICES, "extra": earlier}
    one = _practice_run(root, "duckdb", 10, **kw)
    # four buckets of about ten reps (a bucket costs a second here: not one per rep)
    n_activities = Workspace.open(root).data_rows("activities")
    monkeypatch.setattr(practice_analysis, "BUCKET_ACTIVITIES", n_activities // 4 + 1)
    many = _practice_run(root, "duckdb", 10, **kw)
    assert one["notes"]["buckets"] == 1 and many["notes"]["buckets"] == 4
    assert many["deals"]["whole__earlier_deals"].max() > 0
    assert len(many["deals"]) == len(one["deals"]) > 10
    pd.testing.assert_frame_equal(one["deals"], many["deals"], check_exact=True)
    pd.testing.assert_frame_equal(one["effects"], many["effects"], check_exact=True)
    pd.testing.assert_frame_equal(one["reps"], many["reps"], check_exact=True)
    assert {k: v for k, v in one["notes"].items() if k != "buckets"} == {
        k: v for k, v in many["notes"].items() if k != "buckets"
    }
