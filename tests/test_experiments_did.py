"""The experiments' estimator (``experiments.did``): Callaway & Sant'Anna ATT(g, t) by hand, against
csdid (the Python port of the authors' did, also with anticipation), against a weighted 2x2
regression per cell, the linear weights, the sign error of two-way fixed effects it avoids,
anticipation weeks left out, and the cases with no estimate.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import math
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import experiment_sim as sim
from brightspots.experiments import did
from conftest import require


def _by_cell(fit: did.Fit) -> dict[tuple[int, int], float]:
    return {(c.g, c.t): c.estimate for c in fit.cells}


# --- a hand example: 3 teams, 4 weeks, K = 2 --------------------------------------------------
# A starts in week 2, B in week 3, C never; weights 1, 2, 3.
HAND_Y = np.array(
    [
        [1.0, 3.0, 6.0, 8.0],  # A: baseline for g=2 is (1 + 3) / 2 = 2
        [2.0, 2.0, 3.0, 5.0],  # B: baseline 2 for g=2, (2 + 3) / 2 = 2.5 for g=3
        [4.0, 6.0, 6.0, 6.0],  # C: baseline 5 for g=2, 6 for g=3
    ]
)


def _hand() -> did.Panel:
    return sim.make_panel(HAND_Y, np.ones((3, 4)), np.array([2, 3, -1]), np.array([1.0, 2.0, 3.0]))


def test_hand_example_cells_overall_event_and_se() -> None:
    fit = did.fit(_hand(), baseline_weeks=2, min_controls=1, draws=199)
    cells = _by_cell(fit)
    expected = {
        # wave 2 (A). t=2: controls B (starts 3 > 2) and C: m = (2*1 + 3*1) / 5 = 1; A: 6 - 2 = 4
        (2, 2): 4 - 1,
        # t=3: B has started, so C alone: 8 - 2 - (6 - 5) = 5
        (2, 3): 6 - 1,
        # pre weeks, same baseline: t=0: A -1, B 0, C -1 -> -1 - (0*2 - 1*3) / 5 = -0.4
        (2, 0): -1 - (-3 / 5),
        (2, 1): 1 - (3 / 5),
        # wave 3 (B): A started before, so C is the only control. t=3: (5 - 2.5) - 0
        (3, 3): 2.5,
        (3, 0): -0.5 - (-2.0),
        (3, 1): -0.5 - 0.0,
        (3, 2): 0.5 - 0.0,
    }
    assert cells.keys() == expected.keys()
    for key, value in expected.items():
        assert cells[key] == pytest.approx(value, abs=1e-12), key
    # theta = sum W_c ATT / sum W_c over post cells: (1*3 + 1*5 + 2*2.5) / 4
    assert fit.overall is not None
    assert fit.overall.estimate == pytest.approx(3.25, abs=1e-12)
    assert fit.overall.n_treated == 2 and fit.overall.weight == 4.0
    event = {e.e: e.estimate for e in fit.event}
    assert event[0] == pytest.approx((1 * 3 + 2 * 2.5) / 3)
    assert event[1] == pytest.approx(5.0)
    assert event[-1] == pytest.approx((1 * 0.4 + 2 * 0.5) / 3)
    assert event[-3] == pytest.approx(1.5)
    # influence: shares s_A = 2 * 1/4, s_B = 2/4; own effects A (3 + 5) / 2 = 4, B 2.5;
    # psi = s (theta_i - theta) sqrt(2 / 1): +-0.375 sqrt(2); control residuals are all 0
    assert fit.overall.se == pytest.approx(0.75, abs=1e-12)
    # two treated teams and controls without noise: a draw giving them opposite weights (1 in
    # 6) has SE 0, so |t*| is unbounded and so is the interval
    assert fit.overall.ci_low == -math.inf and fit.overall.ci_high == math.inf
    # one treated unit in a cell: an estimate without an interval
    one = next(c for c in fit.cells if (c.g, c.t) == (2, 2))
    assert one.n_treated == 1 and math.isnan(one.se) and math.isnan(one.ci_low)
    assert [(w.g, w.units, w.controls) for w in fit.waves] == [(2, 1, 2), (3, 1, 1)]
    # the overall effect's controls: C (never treated) and B before it started
    assert (fit.n_comparison, fit.n_later) == (1, 1)


def test_anticipation_weeks_are_neither_baseline_nor_pretrend_nor_post() -> None:
    """The hand example with one anticipation week and K = 1: A's baseline for g = 2 is week 0
    (week 1 is left out), B's for g = 3 is week 1; a control must not be anticipating either."""
    fit = did.fit(_hand(), baseline_weeks=1, min_controls=1, draws=199, anticipation=1)
    assert _by_cell(fit) == pytest.approx(
        {
            # wave 2 (A, base week 0). t=2: B starts in 3 = t + 1, anticipating: C alone
            (2, 2): (6 - 1) - (6 - 4),
            (2, 3): (8 - 1) - (6 - 4),
            (2, 0): 0.0,  # the base week itself (B starts after g - 1 = 1: a control)
            # wave 3 (B, base week 1): C alone
            (3, 3): (5 - 2) - (6 - 6),
            (3, 0): (2 - 2) - (4 - 6),
            (3, 1): 0.0,
        }
    )
    assert all(not (c.g - 1 <= c.t < c.g) for c in fit.cells)  # no anticipation cell
    assert [(w.g, w.controls) for w in fit.waves] == [(2, 1), (3, 1)]
    assert fit.anticipation == 1
    with pytest.raises(ValueError, match="anticipation"):
        did.fit(_hand(), baseline_weeks=1, anticipation=-1)


def test_teams_that_move_before_their_start_need_anticipation() -> None:
    """The treated teams already gain 8 points in the 2 weeks before their start (deals open at
    the start are worked the new way): with those weeks in the baseline the effect is biased
    down by about 2/8 of it; leaving them out (anticipation = 2) recovers it, and the
    pre-trend no longer sees the rise."""
    bias = {0: [], 2: []}
    for k in range(12):
        s = sim.staggered(np.random.default_rng(300 + k), effect=0.08, shock=0.05, lead=2)
        for a in bias:
            fit = did.fit(s.panel, baseline_weeks=8, draws=99, seed=k, anticipation=a)
            assert fit.overall is not None
            bias[a].append(fit.overall.estimate - sim.truth(fit, s.panel, s.tau))
            if a == 2:
                assert min(e.e for e in fit.event if e.e >= -2) == 0
    assert np.mean(bias[0]) < -0.012  # about -0.08 * 2 / 8 = -0.02
    assert abs(np.mean(bias[2])) < 0.006
    assert np.mean(bias[0]) < np.mean(bias[2]) - 0.01


def test_anticipation_equals_csdid() -> None:
    """With K = 1 and anticipation 1 the cells outside the anticipation weeks are csdid's with
    ``anticipation=1`` (universal base g - 2; controls not yet treated at max(t, g - 2) + 1)."""
    require("csdid", importlib.util.find_spec("csdid") is not None, "pip install -e '.[test]'")
    df = _staggered_frame()
    _, mine = _k1_fit(df, anticipation=1)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Be aware that there are some small groups")
        raw = _att_gt(df, "universal", anticipation=1).results
    theirs = {
        (int(g), int(t)): float(a)
        for g, t, a in zip(raw["group"], raw["year"], raw["att"], strict=True)
        if not (g - 1 <= t < g)  # the anticipation cells, which this leaves out
    }
    assert mine.keys() == theirs.keys() and len(mine) == 18
    for key, value in theirs.items():
        assert mine[key] == pytest.approx(value, abs=1e-12), key


def _staggered_frame(seed: int = 1) -> pd.DataFrame:
    """A balanced 12 x 10 panel: 3 teams start in period 5, 3 in period 7, 6 never; effects
    grow with time since the start; team weights 1, 2, 3."""
    rng = np.random.default_rng(seed)
    g = np.array([5] * 3 + [7] * 3 + [0] * 6)
    a = rng.normal(0, 0.05, 12)
    b = rng.normal(0, 0.02, 10)
    rows = []
    for i in range(12):
        for t in range(1, 11):
            treated = g[i] and t >= g[i]
            effect = 0.05 + 0.01 * (t - g[i]) if treated else 0.0
            y = 0.3 + a[i] + b[t - 1] + effect + rng.normal(0, 0.03)
            rows.append((i + 1, t, g[i], y, 1.0 + (i % 3)))
    return pd.DataFrame(rows, columns=["team", "period", "g", "y", "w"])


def _k1_fit(df: pd.DataFrame, anticipation: int = 0) -> tuple[did.Fit, dict]:
    """The fit of ``_staggered_frame`` with K = 1 and its cells in csdid's periods (from 1)."""
    wide = df.pivot(index="team", columns="period", values="y")
    first = df.groupby("team").g.first().to_numpy()
    weight = df.groupby("team").w.first().to_numpy()
    panel = sim.make_panel(
        wide.to_numpy(), np.ones(wide.shape), np.where(first > 0, first - 1, -1), weight
    )
    fit = did.fit(panel, baseline_weeks=1, draws=99, anticipation=anticipation)
    return fit, {(g + 1, t + 1): v for (g, t), v in _by_cell(fit).items()}


def _att_gt(df: pd.DataFrame, base: str, anticipation: int = 0):
    """csdid's ATT(g, t) of the same frame: not-yet-treated controls, regression, weights w."""
    from csdid.att_gt import ATTgt

    return ATTgt(
        yname="y",
        gname="g",
        idname="team",
        tname="period",
        data=df,
        control_group="notyettreated",
        weights_name="w",
        anticipation=anticipation,
    ).fit(est_method="reg", base_period=base, bstrap=False)


def test_k1_equals_csdid_cells_simple_and_dynamic() -> None:
    require("csdid", importlib.util.find_spec("csdid") is not None, "pip install -e '.[test]'")
    df = _staggered_frame()
    fit, mine = _k1_fit(df)

    with warnings.catch_warnings():
        # csdid warns that 3 teams a group are few; nothing else may warn
        warnings.filterwarnings("ignore", message="Be aware that there are some small groups")
        res = {base: _att_gt(df, base) for base in ("universal", "varying")}
        model = res["universal"]
        with contextlib.redirect_stdout(io.StringIO()):  # aggte prints its summary
            model.aggte(typec="simple")
            simple = float(model.atte["overall_att"])
            model.aggte(typec="dynamic")
            dynamic = dict(
                zip(
                    np.asarray(model.atte["egt"]).tolist(),
                    np.asarray(model.atte["att_egt"], dtype=float),
                    strict=True,
                )
            )

    raw = model.results  # the raw arrays, not the 4-decimal summary
    theirs = {
        (int(g), int(t)): float(a)
        for g, t, a in zip(raw["group"], raw["year"], raw["att"], strict=True)
    }
    assert mine.keys() == theirs.keys() and len(mine) == 20
    for key, value in theirs.items():
        assert mine[key] == pytest.approx(value, abs=1e-12), key
    varying = res["varying"].results
    for g, t, a in zip(varying["group"], varying["year"], varying["att"], strict=True):
        if t >= g:  # post cells: the base is g - 1 either way
            assert mine[(int(g), int(t))] == pytest.approx(float(a), abs=1e-12)
    assert fit.overall is not None
    assert fit.overall.estimate == pytest.approx(simple, abs=1e-12)
    event = {e.e: e.estimate for e in fit.event}
    assert event.keys() == dynamic.keys()
    for e, value in dynamic.items():
        assert event[e] == pytest.approx(value, abs=1e-12), e


def test_k12_cells_equal_a_weighted_2x2_regression_per_cell() -> None:
    """Each ATT(g, t) with a 12-week mean baseline is the interaction of a WLS of the two rows
    per unit (its baseline mean, its week t) on unit and period effects, with the controls and
    baselines chosen independently here (gaps in the data included)."""
    rng = np.random.default_rng(5)
    s = sim.staggered(rng, units=14, weeks=34, waves=((20, 3), (26, 2)))
    y = s.panel.y.copy()
    y[rng.random(y.shape) < 0.15] = np.nan  # weeks without deals
    first_wave = np.flatnonzero(np.asarray(s.panel.start) == 20)
    y[first_wave[0], 8:20] = np.nan  # a unit with no baseline weeks for its wave
    panel = sim.make_panel(y, s.panel.n, s.panel.start, s.panel.weight)
    k = 12
    fit = did.fit(panel, baseline_weeks=k, draws=99)
    cells = _by_cell(fit)
    start, w = np.asarray(panel.start), np.asarray(panel.weight)
    checked = 0
    for g in (20, 26):
        window = y[:, g - k : g]
        enough = np.isfinite(window).sum(axis=1) >= k // 2
        base = np.where(enough, np.nanmean(np.where(enough[:, None], window, 0.0), axis=1), np.nan)
        for t in (g - 15, g - 3, g, g + 3, 33):
            treated = [i for i in range(len(start)) if start[i] == g]
            controls = [
                j
                for j in range(len(start))
                if start[j] != g and (start[j] < 0 or start[j] > max(t, g - 1))
            ]
            rows = [
                (i, post, base[i] if post == 0 else y[i, t], int(i in treated), w[i])
                for i in treated + controls
                for post in (0, 1)
                if np.isfinite(base[i]) and np.isfinite(y[i, t])
            ]
            frame = pd.DataFrame(rows, columns=["unit", "post", "y", "treated", "w"])
            if frame[frame.treated == 0].unit.nunique() < 2 or not frame.treated.any():
                assert (g, t) not in cells
                continue
            model = smf.wls("y ~ C(unit) + post + post:treated", frame, weights=frame.w).fit()
            assert cells[(g, t)] == pytest.approx(model.params["post:treated"], abs=1e-10)
            checked += 1
    assert checked >= 8
    assert fit.waves[0].units == 2  # unit 0 lost its baseline (fewer than 6 of 12 weeks)


def test_overall_is_the_linear_weights_times_y() -> None:
    rng = np.random.default_rng(11)
    s = sim.staggered(rng, units=16, weeks=40, waves=((22, 3), (27, 3), (31, 2)))
    y = s.panel.y.copy()
    y[rng.random(y.shape) < 0.1] = np.nan
    stop = np.full(16, 40)
    stop[np.asarray(s.panel.start) == 22] = 36  # the first wave ended early
    allowed = rng.random(16) < 0.7  # a frozen comparison set
    panel = sim.make_panel(y, s.panel.n, s.panel.start, s.panel.weight, stop=stop)
    c = did.linear_weights(panel, baseline_weeks=8, controls=allowed)
    fit = did.fit(panel, baseline_weeks=8, controls=allowed, draws=99)
    assert fit.overall is not None
    have = np.isfinite(panel.observed())
    assert np.all(c[~have] == 0)
    assert fit.overall.estimate == pytest.approx(float(np.sum(c[have] * y[have])), abs=1e-12)
    # with anticipation too, and the anticipation weeks get no weight
    c2 = did.linear_weights(panel, baseline_weeks=8, controls=allowed, anticipation=2)
    fit_a = did.fit(panel, baseline_weeks=8, controls=allowed, draws=99, anticipation=2)
    assert fit_a.overall is not None
    assert fit_a.overall.estimate == pytest.approx(float(np.sum(c2[have] * y[have])), abs=1e-12)
    start = np.asarray(panel.start)
    for g in (22, 27, 31):
        assert np.all(c2[start == g, g - 2 : g] == 0) and np.any(c[start == g, g - 2 : g] != 0)
    # the weights depend on which entries exist, not on their values
    y2 = np.where(have, rng.normal(0.4, 0.1, y.shape), np.nan)
    fit2 = did.fit(
        sim.make_panel(y2, s.panel.n, s.panel.start, s.panel.weight, stop=stop),
        baseline_weeks=8,
        controls=allowed,
        draws=99,
    )
    assert fit2.overall is not None
    assert fit2.overall.estimate == pytest.approx(float(np.sum(c[have] * y2[have])), abs=1e-12)
    # weeks from a unit's stop on do not count, and disallowed comparison units never do
    assert np.all(c[:, 36:][np.asarray(panel.start) == 22] == 0)
    never = np.asarray(panel.start) < 0
    assert np.all(c[never & ~allowed] == 0) and np.any(c[never & allowed] != 0)


def _growing(weeks: int = 52, waves: tuple[int, ...] = (8, 32), teams: int = 4) -> pd.DataFrame:
    """Staggered adoption with no never-treated team and effects growing 1 point a week."""
    rng = np.random.default_rng(0)
    rows, unit = [], 0
    for g in waves:
        for _ in range(teams):
            for t in range(weeks):
                tau = 0.01 * (t - g + 1) if t >= g else 0.0
                y = 0.25 + 0.01 * unit + 0.003 * t + tau + rng.normal(0, 0.002)
                rows.append((unit, t, g, y, tau, int(t >= g)))
            unit += 1
    return pd.DataFrame(rows, columns=["team", "t", "g", "y", "tau", "d"])


def test_twfe_gets_the_sign_wrong_where_cs_does_not() -> None:
    """Two-way fixed effects compares late teams with early teams whose effect is still
    growing (a "forbidden comparison"), which turns a positive effect negative; CS compares
    only with teams not yet treated."""
    df = _growing()
    twfe = smf.ols("y ~ d + C(team) + C(t)", df).fit().params["d"]
    wide = df.pivot(index="team", columns="t", values="y").to_numpy()
    tau = df.pivot(index="team", columns="t", values="tau").to_numpy()
    start = df.groupby("team").g.first().to_numpy()
    panel = sim.make_panel(wide, np.ones(wide.shape), start)
    fit = did.fit(panel, baseline_weeks=8, draws=199)
    assert fit.overall is not None
    truth = sim.truth(fit, panel, tau)
    assert truth == pytest.approx(0.125)  # weeks 8-31 of the first wave: 1 to 24 points
    assert twfe < -0.03  # about -0.046: the wrong sign
    assert fit.overall.estimate == pytest.approx(truth, abs=0.005)
    assert fit.overall.ci_low <= truth <= fit.overall.ci_high
    event = {e.e: e for e in fit.event}
    for e in range(0, 24):  # the event study recovers the growth, 1 point a week
        assert event[e].estimate == pytest.approx(0.01 * (e + 1), abs=0.004), e
    assert all(abs(event[e].estimate) < 0.004 for e in range(-8, 0))
    # the last wave has nobody left to compare with: no post cell, and it says so
    assert [(w.g, w.controls, w.post_cells) for w in fit.waves] == [(8, 4, 24), (32, 0, 0)]
    assert fit.pretrend is not None and not fit.pretrend.flagged(0.05)


def test_no_treated_one_treated_and_no_controls() -> None:
    rng = np.random.default_rng(2)
    y = rng.normal(0.3, 0.05, (6, 20))
    n = np.ones((6, 20))
    none = did.fit(sim.make_panel(y, n, np.full(6, -1)), baseline_weeks=4)
    assert none.cells == () and none.overall is None and none.waves == () and none.treated == 0
    assert none.notes

    one = did.fit(sim.make_panel(y, n, np.array([10, -1, -1, -1, -1, -1])), baseline_weeks=4)
    assert one.overall is None and one.strict is None
    assert any("fewer than 2 treated" in note for note in one.notes)
    assert one.cells and all(math.isnan(c.se) for c in one.cells)
    assert one.treated == 1 and one.comparison == 5

    together = did.fit(sim.make_panel(y, n, np.full(6, 10)), baseline_weeks=4)
    assert together.overall is None and together.comparison == 0
    assert together.waves == (did.Wave(10, 6, 0, 0),)

    # a unit with no baseline weeks cannot enter; two others can
    y2 = y.copy()
    y2[0, :10] = np.nan
    partial = did.fit(sim.make_panel(y2, n, np.array([10, 10, 10, -1, -1, -1])), baseline_weeks=4)
    assert partial.treated == 2 and partial.overall is not None
    assert partial.overall.n_treated == 2 and partial.overall.n_control == 3
    assert partial.post_weeks == 10


def test_panel_checks_its_shapes() -> None:
    y = np.zeros((3, 5))
    with pytest.raises(ValueError, match="Panel.n"):
        sim.make_panel(y, np.ones((3, 4)), np.full(3, -1))
    with pytest.raises(ValueError, match="weight"):
        sim.make_panel(y, np.ones((3, 5)), np.full(3, -1), np.array([1.0, 0.0, 1.0]))
