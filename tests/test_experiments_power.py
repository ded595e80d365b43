"""Power for experiments (``experiments.power``): the noise model is recovered from simulated
panels, the analytic SE matches the spread of the fitted effect, the weeks needed fall with more
teams and larger changes, anticipation weeks in the design, and the plan's sentence.
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest
from scipy import stats

import experiment_sim as sim
from brightspots.experiments import did, power


def test_noise_recovers_between_within_and_rho() -> None:
    """Team-weeks of 24 teams over 30 weeks, volumes 2-40 a week: between + within / n with
    AR(1) correlation; the mean over 12 panels is within 25% of each planted value."""
    rng = np.random.default_rng(7)
    for rho in (0.3, 0.6):
        got = []
        for _ in range(12):
            n = rng.poisson(rng.uniform(2, 40, 24)[:, None] * np.ones(30)) + 1
            start = np.full(24, -1)
            start[:4] = 30  # treated teams count before their start (here: every week)
            s = sim.ar1(rng, n, start, between=0.004, within=0.2, rho=rho)
            got.append(power.noise(s.panel))
        assert np.mean([g.between for g in got]) == pytest.approx(0.004, rel=0.25)
        assert np.mean([g.within for g in got]) == pytest.approx(0.2, rel=0.25)
        assert np.mean([g.rho for g in got]) == pytest.approx(rho, rel=0.25)


def test_noise_uses_only_untreated_weeks() -> None:
    """A treated team's weeks after its start (effect, other noise) are left out."""
    rng = np.random.default_rng(3)
    n = np.full((16, 30), 20.0)
    start = np.full(16, -1)
    start[:8] = 15
    s = sim.ar1(rng, n, start, between=0.002, within=0.2, rho=0.0)
    y = s.panel.y.copy()
    y[:8, 15:] += rng.normal(0, 1.0, (8, 15))  # wild after the start
    calm = power.noise(sim.make_panel(y, n, start))
    assert calm.between + calm.within / 20 == pytest.approx(0.002 + 0.2 / 20, rel=0.3)
    few = sim.make_panel(y[:4, :2], n[:4, :2], start[:4])  # 8 team-weeks for 4 + 2 effects
    assert power.noise(few) == power.Noise(0.0, 0.0, 0.0)


def test_se_after_matches_the_spread_of_the_fitted_effect() -> None:
    """300 simulated experiments of the power model (6 teams in 2 waves, 12 comparison teams,
    K = 12, 10 weeks): the SD of the fitted overall effect is within 15% of ``se_after``."""
    rng = np.random.default_rng(4)
    units, k, weeks = 18, 12, 10
    volume = rng.uniform(5, 25, units)
    start = np.full(units, -1)
    start[:3], start[3:6] = 0, 4
    noise = power.Noise(between=0.002, within=0.2, rho=0.3)
    design = power.Design(start, volume)
    se = power.se_after(design, noise, weeks, baseline_weeks=k)
    n = np.repeat(volume[:, None], k + weeks, axis=1)
    planned = np.where(start >= 0, start + k, -1)
    estimates = []
    for seed in range(300):
        s = sim.ar1(rng, n, planned, between=0.002, within=0.2, rho=0.3, effect=0.05, weight=volume)
        fit = did.fit(s.panel, baseline_weeks=k, draws=9, seed=seed)
        assert fit.overall is not None
        estimates.append(fit.overall.estimate)
    assert np.std(estimates) == pytest.approx(se, rel=0.15)
    assert np.mean(estimates) == pytest.approx(0.05, abs=2 * se / math.sqrt(300) + 1e-3)
    # the variance counts the correlation: without it the SE is smaller here
    assert power.se_after(design, power.Noise(0.002, 0.2, 0.0), weeks, baseline_weeks=k) < se


def _design(treated: int, comparison: int = 12, volume: float = 30.0) -> power.Design:
    start = np.full(treated + comparison, -1)
    start[:treated] = np.arange(treated) % 2 * 4  # two waves, 4 weeks apart
    return power.Design(start, np.full(treated + comparison, volume))


NOISE = power.Noise(between=0.0003, within=0.2, rho=0.1)


def test_weeks_needed_falls_with_more_teams_and_larger_changes() -> None:
    k = 12
    by_teams = [power.weeks_needed(_design(t), NOISE, 0.06, baseline_weeks=k) for t in (6, 8, 12)]
    assert by_teams == [None, 22, 11]  # 6 teams: not within two years
    by_delta = [
        power.weeks_needed(_design(8), NOISE, d, baseline_weeks=k) for d in (0.05, 0.06, 0.1)
    ]
    assert by_delta == [None, 22, 6]
    more_power = power.weeks_needed(_design(8), NOISE, 0.06, baseline_weeks=k, power=0.9)
    assert more_power is not None and more_power > 22
    # the least such week: enough at P, not at P - 1
    assert power.weeks_needed(_design(8), NOISE, 0.06, baseline_weeks=k, limit=22) == 22
    assert power.weeks_needed(_design(8), NOISE, 0.06, baseline_weeks=k, limit=21) is None
    # at the level of the interval that decides at the weekly looks (98%), not a single 5% look
    assert power.ALPHA == pytest.approx(1 - did.REPEATED_LEVEL) == pytest.approx(0.02)
    # planned for 0.8 / 0.95 so that 80% are called "worked" after the pre-trend check's 5%
    assert power.gated(0.8) == pytest.approx(0.8 / (1 - did.PRETREND_ALPHA))
    factor = stats.t.ppf(0.99, 7) + stats.t.ppf(power.gated(0.8), 7)  # 8 teams: 7 dof
    assert factor * power.se_after(_design(8), NOISE, 22, baseline_weeks=k) <= 0.06
    assert factor * power.se_after(_design(8), NOISE, 21, baseline_weeks=k) > 0.06
    # a single look at 5% would promise far fewer weeks (6 teams: 22, not over two years)
    single = [
        power.weeks_needed(_design(t), NOISE, 0.06, baseline_weeks=k, alpha=0.05)
        for t in (6, 8, 12)
    ]
    assert single == [22, 12, 7]
    # the baseline sets a floor: 6 teams never see 4 points, one team never anything
    assert power.weeks_needed(_design(6), NOISE, 0.04, baseline_weeks=k) is None
    assert power.weeks_needed(_design(1), NOISE, 0.5, baseline_weeks=k) is None
    # no comparison at all (every team starts together): never
    together = power.Design(np.zeros(6, dtype=int), np.full(6, 15.0))
    assert power.se_after(together, NOISE, 10, baseline_weeks=k) == math.inf
    assert power.weeks_needed(together, NOISE, 0.05, baseline_weeks=k) is None


def test_anticipation_weeks_in_the_design() -> None:
    """Anticipation weeks sit between the baseline and the start: the design panel has them,
    the fit leaves them out, so with correlated weeks the baseline says less about the weeks
    after (a larger SE, more weeks). Without correlation the SE barely moves (the second wave
    stops being a comparison 2 weeks sooner)."""
    k = 12
    design = _design(8)
    panel = design.panel(10, baseline_weeks=k, anticipation=2)
    assert len(panel.weeks) == k + 2 + 10 and int(np.min(panel.start[panel.start >= 0])) == k + 2
    white = power.Noise(0.0003, 0.2, 0.0)
    plain = power.se_after(design, white, 10, baseline_weeks=k)
    moved = power.se_after(design, white, 10, baseline_weeks=k, anticipation=2)
    assert plain <= moved == pytest.approx(plain, rel=0.03)
    sticky = power.Noise(0.0003, 0.2, 0.5)
    assert power.se_after(design, sticky, 10, baseline_weeks=k, anticipation=2) > (
        power.se_after(design, sticky, 10, baseline_weeks=k)
    )
    weeks = power.weeks_needed(design, sticky, 0.08, baseline_weeks=k, anticipation=2)
    assert weeks == 53 and power.weeks_needed(design, sticky, 0.08, baseline_weeks=k) == 47
    # the least such week
    assert (
        power.weeks_needed(design, sticky, 0.08, baseline_weeks=k, anticipation=2, limit=52) is None
    )


def test_design_of_a_running_experiment() -> None:
    y = np.full((4, 10), 0.3)
    y[3] = np.nan  # a team with no data at all is left out
    n = np.array([[10.0] * 10, [20.0] * 10, [30.0] * 10, [5.0] * 10])
    n[1, :4] = 40.0  # before the first start
    panel = sim.make_panel(y, n, np.array([4, 6, -1, -1]), np.array([1.0, 2.0, 3.0, 4.0]))
    d = power.design_of(panel, controls=np.array([False, False, True, True]))
    assert d.start.tolist() == [0, 2, -1]
    assert d.volume.tolist() == [10.0, 40.0, 30.0]
    assert d.weight is not None and d.weight.tolist() == [1.0, 2.0, 3.0]
    assert d.controls is not None and d.controls.tolist() == [False, False, True]


def test_sentence() -> None:
    words = dict(
        outcome="win_rate",
        horizon_days=90,
        teams=6,
        comparison_teams=12,
        comparison="similar",
        volume=15.2,
        delta=0.05,
        first_start=date(2026, 11, 2),
        lag_days=90,
    )
    assert power.sentence(weeks=9, **words) == (
        "With these 6 teams against 12 similar teams and your volumes (about 15 new deals a "
        "team a week), a 5-point rise in win rate (deals won within 90 days) is detectable after "
        "about 9 weeks of new deals: from about 4 Apr 2027, once the deals of those weeks have "
        "had their 90 days (80% power; it is checked every week, so it asks for a 98% interval)."
    )
    words.update(teams=3, comparison="all", comparison_teams=6)
    assert power.sentence(weeks=None, larger=(0.1, 11), **words) == (
        "With these 3 teams against 6 other teams and your volumes (about 15 new deals a team a "
        "week), a 5-point rise in win rate (deals won within 90 days) is not detectable within "
        "two years with 3 teams: add teams, or look for a 10-point rise (about 11 weeks) "
        "(80% power; it is checked every week, so it asks for a 98% interval)."
    )
    hours = power.sentence(
        outcome="response_hours",
        horizon_days=90,
        teams=4,
        comparison_teams=8,
        comparison="similar",
        volume=40,
        delta=2.0,
        weeks=6,
        first_start=date(2026, 11, 2),
        lag_days=7,
        power=0.9,
    )
    assert "a 2-hour drop in response time (median hours to answer a buyer)" in hours
    assert "about 40 buyer messages a team a week" in hours
    assert (
        "from about 21 Dec 2026" in hours
        and "(90% power; it is checked every week, so it asks for a 98% interval)" in hours
    )
