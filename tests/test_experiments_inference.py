"""The experiments' intervals (``experiments.did``): the wild cluster bootstrap-t with Webb
weights covers the planted effect, rarely claims an effect when there is none, is reproducible
by seed, re-studentises every draw as the per-draw formula does, the stricter intervals rest on
9,999 draws and the t bound, and the pre-trend check flags a planted drift and not a flat panel.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import experiment_sim as sim
from brightspots.experiments import did

PANELS = 200
DRAWS = 399


def _covered(effect: float, seed: int) -> tuple[int, int, int]:
    """(covered at 95%, covered at 99.9%, lower bound > 0) over PANELS simulated experiments:
    24 teams, 36 weeks, 6 treated in 2 waves (weeks 20 and 24), volumes 8-25 deals a week."""
    rng = np.random.default_rng(seed)
    covered = strict = positive = 0
    for k in range(PANELS):
        s = sim.staggered(rng, effect=effect)
        fit = did.fit(s.panel, baseline_weeks=8, draws=DRAWS, seed=k)
        assert fit.overall is not None and fit.strict is not None
        truth = sim.truth(fit, s.panel, s.tau)
        covered += fit.overall.ci_low <= truth <= fit.overall.ci_high
        strict += fit.strict.ci_low <= truth <= fit.strict.ci_high
        positive += fit.overall.ci_low > 0
    return covered, strict, positive


def test_the_interval_covers_the_planted_effect() -> None:
    covered, strict, positive = _covered(0.05, seed=20)
    assert covered >= 0.9 * PANELS  # 0.93-0.97 in the design's simulations
    assert strict >= covered  # the 99.9% interval is wider
    assert positive >= 0.25 * PANELS  # and it is not uselessly wide: 5 points often show


def test_no_effect_rarely_looks_like_one() -> None:
    _, _, positive = _covered(0.0, seed=21)
    assert positive <= 0.05 * PANELS


def test_webb_draws_are_reproducible_by_seed() -> None:
    a = did.webb_draws(4000, 7, seed=3)
    assert np.array_equal(a, did.webb_draws(4000, 7, seed=3))
    assert not np.array_equal(a, did.webb_draws(4000, 7, seed=4))
    assert set(np.unique(a)) == set(did.WEBB)
    assert abs(a.mean()) < 0.03 and a.var() == pytest.approx(1.0, abs=0.03)
    s = sim.staggered(np.random.default_rng(8))
    one = did.fit(s.panel, baseline_weeks=8, draws=199, seed=5)
    same = did.fit(s.panel, baseline_weeks=8, draws=199, seed=5)
    other = did.fit(s.panel, baseline_weeks=8, draws=199, seed=6)
    assert one == same
    assert one.overall is not None and other.overall is not None
    assert other.overall.estimate == one.overall.estimate and other.overall.se == one.overall.se
    assert other.overall.ci_low != one.overall.ci_low


def test_the_stricter_intervals_rest_on_9999_draws_and_the_t_bound() -> None:
    """The 99.9% and 98% intervals come from at least 9,999 draws whatever ``draws`` is (a 99.9%
    quantile of 1,999 draws sits near the third largest), and are never narrower than a t with
    G1 - 1 degrees of freedom makes them."""
    s = sim.staggered(np.random.default_rng(8))
    few = did.fit(s.panel, baseline_weeks=8, draws=199, seed=5)
    many = did.fit(s.panel, baseline_weeks=8, draws=did.STRICT_DRAWS, seed=5)
    assert few.overall is not None and many.overall is not None
    assert few.overall != many.overall  # the 95% interval keeps its own draws
    assert few.strict == many.strict and few.repeated == many.repeated
    o, strict, repeated = few.overall, few.strict, few.repeated
    assert strict is not None and repeated is not None and o.n_treated == 6
    q_strict = (strict.ci_high - o.estimate) / o.se
    q_repeated = (repeated.ci_high - o.estimate) / o.se
    assert q_strict >= stats.t.ppf(0.9995, 5) - 1e-9 and q_repeated >= stats.t.ppf(0.99, 5) - 1e-9
    assert q_strict > q_repeated > (o.ci_high - o.estimate) / o.se
    # the first wave alone (3 teams): the t with 2 degrees of freedom sets the 99.9% interval
    first = sim.make_panel(s.panel.y[:, :23], s.panel.n[:, :23], s.panel.start, s.panel.weight)
    alone = did.fit(first, baseline_weeks=8, draws=199, seed=5)
    assert alone.overall is not None and alone.strict is not None
    assert alone.overall.n_treated == 3
    half = alone.strict.ci_high - alone.overall.estimate
    assert half == pytest.approx(stats.t.ppf(0.9995, 2) * alone.overall.se, rel=1e-9)


def test_vectorised_bootstrap_equals_the_per_draw_formula() -> None:
    """Every draw: numerator sum xi psi; SE from the treated part re-centred on its pooled
    value (weighted by the shares) plus the controls as drawn, added per team."""
    rng = np.random.default_rng(1)
    units, stats, draws = 9, 4, 50
    psi_t = rng.normal(size=(stats, units)) * (rng.random((stats, units)) < 0.5)
    psi_c = rng.normal(size=(stats, units)) * (rng.random((stats, units)) < 0.5)
    share = np.abs(rng.normal(size=(stats, units))) * (psi_t != 0)
    share /= share.sum(axis=1, keepdims=True)
    xi = did.webb_draws(draws, units, seed=2)
    se, t_star = did._bootstrap_t(xi, psi_t, psi_c, share)
    for s in range(stats):
        assert se[s] == pytest.approx(np.sqrt(np.sum((psi_t[s] + psi_c[s]) ** 2)))
        for b in range(draws):
            xt = xi[b] * psi_t[s]
            xt = xt - share[s] * xt.sum()
            num = np.sum(xi[b] * (psi_t[s] + psi_c[s]))
            expected = num / np.sqrt(np.sum((xt + xi[b] * psi_c[s]) ** 2))
            assert t_star[b, s] == pytest.approx(expected, rel=1e-9)


def _drifting(rng: np.random.Generator, drift: float) -> did.Panel:
    """24 teams, 6 treated from week 26; before it the treated teams move ``drift`` a week
    relative to the others (and keep moving: no effect of the practice)."""
    s = sim.staggered(rng, weeks=36, waves=((26, 6),), effect=0.0, pre_weeks=26)
    start = np.asarray(s.panel.start)
    trend = np.where(start[:, None] >= 0, drift * np.arange(36)[None, :], 0.0)
    return sim.make_panel(s.panel.y + trend, s.panel.n, start, s.panel.weight)


def test_pretrend_flags_a_planted_drift_and_not_a_flat_panel() -> None:
    flagged_drift = flagged_flat = 0
    for k in range(10):
        drift = did.fit(
            _drifting(np.random.default_rng(100 + k), 0.006), baseline_weeks=8, draws=399, seed=k
        )
        flat = did.fit(
            _drifting(np.random.default_rng(100 + k), 0.0), baseline_weeks=8, draws=399, seed=k
        )
        assert drift.pretrend is not None and flat.pretrend is not None
        assert drift.pretrend.weeks == 26 and drift.pretrend.slope > 0
        flagged_drift += drift.pretrend.flagged(0.05)
        flagged_flat += flat.pretrend.flagged(0.05)
    assert flagged_drift >= 8
    assert flagged_flat <= 1


def test_pretrend_rule() -> None:
    pre = did.Pretrend(0.004, 0.001, 0.002, 0.009, 0.02, 0.06, 26, theta=0.03)
    assert pre.flagged(0.05)  # p < 0.05 and drift 0.06 > max(0.025, 0.015)
    assert not pre.flagged(0.2)  # a drift smaller than half the change worth detecting
    big = did.Pretrend(0.004, 0.001, 0.002, 0.009, 0.02, 0.06, 26, theta=0.2)
    assert not big.flagged(0.05)  # nor than half the estimate
    weak = did.Pretrend(0.004, 0.003, -0.002, 0.01, 0.2, 0.06, 26, theta=0.03)
    assert not weak.flagged(0.05)  # not significant
