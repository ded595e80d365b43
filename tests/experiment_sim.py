"""Simulated team-week panels for the experiment statistics' tests (not a test module).

``staggered`` draws win rates the way a sales team produces them: a team level, a common season,
a team-week shock on the log-odds scale, Poisson volumes and binomial wins; treated team-weeks
add ``effect`` points to the win probability (growing with the weeks since the start when
``dynamic``; from ``lead`` weeks before the start when the teams anticipate it). ``ar1`` draws
the model power analysis assumes: a team level, a week effect, and AR(1) noise whose variance
is between + within / n. ``truth`` aggregates the planted effects with a fit's own cell weights,
so a covered interval means the interval holds the estimand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from scipy.special import expit, logit

from brightspots.experiments import did

MONDAY = date(2026, 1, 5)


@dataclass(frozen=True)
class Simulated:
    panel: did.Panel
    tau: np.ndarray  # the planted effect of every team-week (0 when untreated)


def make_panel(
    y: np.ndarray,
    n: np.ndarray,
    start: np.ndarray,
    weight: np.ndarray | None = None,
    stop: np.ndarray | None = None,
) -> did.Panel:
    """A ``did.Panel`` over consecutive Mondays from ``MONDAY``, units named U00, U01, ..."""
    units, weeks = y.shape
    return did.Panel(
        units=tuple(f"U{i:02d}" for i in range(units)),
        weeks=tuple(MONDAY + timedelta(weeks=k) for k in range(weeks)),
        y=np.asarray(y, dtype=float),
        n=np.asarray(n, dtype=float),
        start=np.asarray(start, dtype=int),
        stop=np.full(units, weeks) if stop is None else np.asarray(stop, dtype=int),
        weight=np.ones(units) if weight is None else np.asarray(weight, dtype=float),
    )


def starts(rng: np.random.Generator, units: int, waves: tuple[tuple[int, int], ...]) -> np.ndarray:
    """Start week per unit (-1: comparison): ``waves`` is ((week, teams), ...), teams drawn."""
    start = np.full(units, -1)
    order = rng.permutation(units)
    k = 0
    for week, teams in waves:
        start[order[k : k + teams]] = week
        k += teams
    return start


def staggered(
    rng: np.random.Generator,
    *,
    units: int = 24,
    weeks: int = 36,
    waves: tuple[tuple[int, int], ...] = ((20, 3), (24, 3)),
    effect: float = 0.05,
    dynamic: bool = False,
    volume: tuple[float, float] = (8.0, 25.0),
    shock: float = 0.15,
    pre_weeks: int = 20,
    lead: int = 0,
) -> Simulated:
    """Weekly win rates of ``units`` teams; ``effect`` points on treated team-weeks (times
    min(e, 8) / 4 when ``dynamic``), and on the ``lead`` weeks before each start too (the teams
    already move: anticipation). Team weight: mean volume over the first ``pre_weeks``."""
    lam = rng.uniform(*volume, units)
    level = rng.normal(0.0, 0.3, units)
    season = rng.normal(0.0, 0.1, weeks) + np.linspace(0.0, 0.2, weeks)
    start = starts(rng, units, waves)
    n = rng.poisson(lam[:, None] * np.ones(weeks)) + 1
    p0 = expit(logit(0.25) + level[:, None] + season[None, :] + rng.normal(0, shock, n.shape))
    t = np.arange(weeks)[None, :]
    treated = (start[:, None] >= 0) & (t >= start[:, None] - lead)
    e = np.where(treated, np.maximum(t - start[:, None], 0), 0)
    tau = np.where(treated, effect * (np.minimum(e, 8) / 4 if dynamic else 1.0), 0.0)
    p = np.clip(p0 + tau, 0.001, 0.999)
    tau = np.where(treated, p - p0, 0.0)
    y = rng.binomial(n, p) / n
    weight = n[:, :pre_weeks].mean(axis=1)
    return Simulated(make_panel(y, n, start, weight), tau)


def ar1_noise(
    rng: np.random.Generator, n: np.ndarray, *, between: float, within: float, rho: float
) -> np.ndarray:
    """Noise with variance between + within / n and lag-1 correlation ``rho`` within a unit."""
    units, weeks = n.shape
    z = np.empty((units, weeks))
    z[:, 0] = rng.standard_normal(units)
    innovation = np.sqrt(1.0 - rho**2)
    for k in range(1, weeks):
        z[:, k] = rho * z[:, k - 1] + innovation * rng.standard_normal(units)
    return np.sqrt(between + within / n) * z


def ar1(
    rng: np.random.Generator,
    n: np.ndarray,
    start: np.ndarray,
    *,
    between: float,
    within: float,
    rho: float,
    effect: float = 0.0,
    weight: np.ndarray | None = None,
) -> Simulated:
    """The model of power analysis: team level + week effect + AR(1) noise, plus ``effect`` on
    treated team-weeks."""
    units, weeks = n.shape
    t = np.arange(weeks)[None, :]
    treated = (start[:, None] >= 0) & (t >= start[:, None])
    tau = np.where(treated, effect, 0.0)
    y = (
        0.3
        + rng.normal(0.0, 0.05, units)[:, None]
        + rng.normal(0.0, 0.02, weeks)[None, :]
        + ar1_noise(rng, n, between=between, within=within, rho=rho)
        + tau
    )
    return Simulated(make_panel(y, n, start, weight), tau)


def truth(result: did.Fit, panel: did.Panel, tau: np.ndarray) -> float:
    """The planted effect aggregated with the fit's own post cells and team weights."""
    y = panel.observed()
    w = np.asarray(panel.weight, dtype=float)
    start = np.asarray(panel.start)
    num = den = 0.0
    for c in result.cells:
        if c.t < c.g:
            continue
        units = np.flatnonzero((start == c.g) & np.isfinite(y[:, c.t]))
        num += c.weight * float(np.dot(w[units], tau[units, c.t]) / w[units].sum())
        den += c.weight
    return num / den
