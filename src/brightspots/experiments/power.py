"""How long an experiment must run: the noise of the outcome before the start, the standard
error of the overall effect after P weeks of new deals, and the weeks needed to detect a change.

1. ``noise(panel)``: a two-way fixed-effects fit (unit and week) on the untreated team-weeks;
   the squared residuals, divided by 1 - leverage, are regressed on [1, 1/n] by non-negative
   least squares, so a team-week's variance is between + within / n (within is the
   binomial-like part that shrinks with volume, between the team-week shocks that do not). The
   first pass weights by volume, the second by 1 / (between + within / n), in the fit and in the
   regression of the squares (feasible GLS: it halves the spread of between on 24 teams x 26
   weeks). rho is the pooled lag-1 autocorrelation of the standardised residuals within a unit,
   corrected for the bias of estimated means (Kendall's (1 + 3 rho) / T) and clipped to
   [0, 0.8].
2. ``se_after(design, noise, weeks)``: the overall effect is linear in the outcomes,
   theta = sum c_it y_it (``did.linear_weights``) on a design panel with the planned starts, the
   teams' mean volumes and ``weeks`` weeks from the first start. Its variance is
   sum_i c_i' S_i c_i with S_i the AR(1) covariance of unit i (sd sqrt(between + within / n_i)).
   Under that model this is exact, and the baseline term (the mean of K weeks) sets the floor:
   the variance falls like 1/P + 1/K.
3. ``weeks_needed``: the least P <= 104 with (t_{1 - alpha/2} + t_{power}) SE(P) <= delta, t with
   G1 - 1 degrees of freedom (G1 treated teams, the clusters that limit the interval); None when
   two years are not enough. ``alpha`` is ``ALPHA`` = 1 - ``did.REPEATED_LEVEL``: from the plan's
   weeks on the verdict decides with that interval at every weekly look (``verdict``), so the
   plan's "detectable after about P weeks" holds under the rule that decides, not at a single 5%
   look (with 6 of 18 teams in the test design: 66 weeks at 2%, 17 at 5%).

``anticipation`` (weeks, as in ``did.fit``) leaves the weeks just before each start out of the
baseline, as the fit will.

The test checks the noise against simulated AR(1) panels and SE(P) against the spread of the
fitted effect over simulated experiments (tests/test_experiments_power.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from scipy import optimize, stats

from brightspots.experiments import did

#: at most two years of new deals
LIMIT_WEEKS = 104
_RHO_MAX = 0.8
_ORIGIN = date(2001, 1, 1)  # a Monday: the design panel's weeks only need to be consecutive
#: the level the weeks needed are computed at: that of the interval that decides at the weekly
#: looks from the plan's weeks on (``did.REPEATED_LEVEL``, the one source of it)
ALPHA = 1.0 - did.REPEATED_LEVEL


@dataclass(frozen=True)
class Noise:
    """A team-week's outcome variance is between + within / n; rho is its lag-1 correlation."""

    between: float
    within: float
    rho: float

    def variance(self, n: np.ndarray | float) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return self.between + self.within / np.asarray(n, dtype=float)


@dataclass(frozen=True)
class Design:
    """A planned experiment: per unit the start in weeks after the first start (-1: a
    comparison unit), its new deals (touches, messages) a week and its weight w_i (None: the
    volume); ``controls`` is the comparison set as in ``did.fit``."""

    start: np.ndarray
    volume: np.ndarray
    weight: np.ndarray | None = None
    controls: np.ndarray | None = None

    @property
    def treated(self) -> int:
        return int(np.sum(np.asarray(self.start) >= 0))

    def panel(self, weeks: int, *, baseline_weeks: int, anticipation: int = 0) -> did.Panel:
        """The panel of the plan: K weeks and the anticipation weeks before the first start and
        ``weeks`` after, every team-week with data (y = 0: only which entries exist matters to
        the weights)."""
        start = np.asarray(self.start, dtype=int)
        volume = np.asarray(self.volume, dtype=float)
        before = baseline_weeks + anticipation
        total = before + weeks
        n = np.repeat(volume[:, None], total, axis=1)
        weight = volume if self.weight is None else np.asarray(self.weight, dtype=float)
        return did.Panel(
            units=tuple(f"u{i}" for i in range(len(start))),
            weeks=tuple(_ORIGIN + timedelta(weeks=k) for k in range(total)),
            y=np.zeros((len(start), total)),
            n=n,
            start=np.where(start >= 0, start + before, -1),
            stop=np.full(len(start), total),
            weight=weight,
        )


def design_of(panel: did.Panel, *, controls: np.ndarray | None = None) -> Design:
    """The design of a running experiment: its starts, and each unit's mean volume over the
    weeks before the first start with data (all its weeks with data when it has none before)."""
    start = np.asarray(panel.start)
    treated = start >= 0
    first = int(start[treated].min()) if treated.any() else len(panel.weeks)
    y = panel.observed()
    n = np.where(np.isfinite(y), np.asarray(panel.n, dtype=float), np.nan)
    before = n[:, :first]
    have = np.isfinite(before).any(axis=1)
    volume = np.full(len(start), np.nan)
    with np.errstate(all="ignore"):
        volume[have] = np.nanmean(before[have], axis=1)
        rest = ~have & np.isfinite(n).any(axis=1)
        volume[rest] = np.nanmean(n[rest], axis=1)
    volume[~np.isfinite(volume) | (volume <= 0)] = np.nan
    keep = np.isfinite(volume)
    return Design(
        start=np.where(treated, start - first, -1)[keep],
        volume=volume[keep],
        weight=np.asarray(panel.weight, dtype=float)[keep],
        controls=None if controls is None else np.asarray(controls, dtype=bool)[keep],
    )


def _untreated(panel: did.Panel) -> np.ndarray:
    y = panel.observed()
    n = np.asarray(panel.n, dtype=float)
    start = np.asarray(panel.start)
    t = np.arange(y.shape[1])[None, :]
    before = (start[:, None] < 0) | (t < start[:, None])
    return np.isfinite(y) & np.isfinite(n) & (n > 0) & before


def noise(panel: did.Panel) -> Noise:
    """Between, within and rho from the untreated team-weeks of ``panel`` (see the module
    docstring); zeros when there are too few of them to fit."""
    # small products: one BLAS thread (see ``brightspots.blas``; imported here, as in did)
    from brightspots.blas import one_blas_thread

    with one_blas_thread():
        return _noise(panel)


def _noise(panel: did.Panel) -> Noise:
    mask = _untreated(panel)
    rows, cols = np.nonzero(mask)
    units = np.unique(rows)
    weeks = np.unique(cols)
    if len(rows) < len(units) + len(weeks) + 3:
        return Noise(0.0, 0.0, 0.0)
    y = panel.observed()[mask]
    n = np.asarray(panel.n, dtype=float)[mask]
    unit_col = np.searchsorted(units, rows)
    week_col = np.searchsorted(weeks, cols)
    x = np.zeros((len(rows), len(units) + len(weeks) - 1))
    x[np.arange(len(rows)), unit_col] = 1.0
    later = week_col > 0
    x[np.flatnonzero(later), len(units) + week_col[later] - 1] = 1.0
    design = np.column_stack([np.ones(len(n)), 1.0 / n])
    weight = n  # first pass: weights as if all noise were within / n
    for _ in range(2):  # then weights 1 / (between + within / n), and the r^2 fit weighted too
        root = np.sqrt(weight)
        u, s, vt = np.linalg.svd(x * root[:, None], full_matrices=False)
        keep = s > s[0] * 1e-10
        u, s, vt = u[:, keep], s[keep], vt[keep]
        beta = vt.T @ ((u.T @ (y * root)) / s)
        resid = y - x @ beta
        leverage = np.minimum((u**2).sum(axis=1), 0.999)
        spread = resid**2 / (1.0 - leverage)
        scale = weight / weight.mean()  # r^2 has variance ~ var^2: weight it by 1 / var
        (between, within), _ = optimize.nnls(design * scale[:, None], spread * scale)
        var = between + within / n
        if not np.all(var > 0):
            return Noise(float(between), float(within), 0.0)
        weight = 1.0 / var
    var = var * (1.0 - leverage)
    z = np.zeros(mask.shape)
    z[mask] = resid / np.sqrt(var)
    pair = mask[:, 1:] & mask[:, :-1]
    a, b = z[:, :-1][pair], z[:, 1:][pair]
    if len(a) < 3:
        return Noise(float(between), float(within), 0.0)
    raw = float(np.dot(a, b) / math.sqrt(np.dot(a, a) * np.dot(b, b)))
    length = float(mask.sum(axis=1)[units].mean())  # weeks per unit: the bias of its mean
    rho = (raw * length + 1.0) / (length - 3.0) if length > 4 else raw
    return Noise(float(between), float(within), float(np.clip(rho, 0.0, _RHO_MAX)))


def se_after(
    design: Design, noise: Noise, weeks: int, *, baseline_weeks: int, anticipation: int = 0
) -> float:
    """The SE of the overall effect after ``weeks`` weeks of new deals from the first start
    (inf when no week after a start has a comparison)."""
    panel = design.panel(weeks, baseline_weeks=baseline_weeks, anticipation=anticipation)
    c = did.linear_weights(
        panel, baseline_weeks=baseline_weeks, controls=design.controls, anticipation=anticipation
    )
    if not np.any(c):
        return math.inf
    lag = np.abs(np.subtract.outer(np.arange(c.shape[1]), np.arange(c.shape[1])))
    corr = noise.rho**lag
    var_unit = noise.variance(np.asarray(design.volume, dtype=float))
    quad = np.einsum("it,ts,is->i", c, corr, c)
    return float(math.sqrt(max(float(np.dot(var_unit, quad)), 0.0)))


def gated(power: float) -> float:
    """The power to plan for so that ``power`` of experiments are called "worked": a fair
    comparison is still flagged by the pre-trend check (``did.PRETREND_ALPHA``) in up to that
    share of them (measured 2.6-4.5% on simulated panels), and a flagged one gets no verdict."""
    return min(0.99, power / (1.0 - did.PRETREND_ALPHA))


def _factor(treated: int, power: float, alpha: float) -> float:
    dof = treated - 1
    return float(stats.t.ppf(1 - alpha / 2, dof) + stats.t.ppf(power, dof))


def weeks_needed(
    design: Design,
    noise: Noise,
    delta: float,
    *,
    baseline_weeks: int,
    power: float = 0.8,
    alpha: float = ALPHA,
    anticipation: int = 0,
    limit: int = LIMIT_WEEKS,
) -> int | None:
    """The least number of weeks of new deals (from the first start) after which a change of
    ``delta`` is detected with ``power`` at level ``alpha`` (two-sided; by default that of the
    interval that decides at the weekly looks), (t + t) SE(weeks) <= delta; None if not within
    ``limit`` (so ``limit=P - 1`` asks whether fewer than P weeks would do)."""
    if design.treated < 2 or delta <= 0:
        return None
    factor = _factor(design.treated, gated(power), alpha)

    def enough(weeks: int) -> bool:
        se = se_after(
            design, noise, weeks, baseline_weeks=baseline_weeks, anticipation=anticipation
        )
        return factor * se <= delta

    if not enough(limit):
        return None
    lo, hi = 1, limit  # SE falls with the weeks: bisect for the first that is enough
    while lo < hi:
        mid = (lo + hi) // 2
        if enough(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def ready(first_start: date, weeks: int, lag_days: int) -> date:
    """The day the first ``weeks`` weeks of new deals from ``first_start`` are all mature:
    the end of the last of them plus the lag."""
    return first_start + timedelta(weeks=weeks, days=lag_days)


def sentence(
    *,
    outcome: str,
    horizon_days: int,
    teams: int,
    comparison_teams: int,
    comparison: str,
    volume: float,
    delta: float,
    weeks: int | None,
    first_start: date,
    lag_days: int,
    power: float = 0.8,
    larger: tuple[float, int | None] | None = None,
) -> str:
    """The plan's words, e.g. "With these 6 teams against 12 similar teams and your volumes
    (about 15 new deals a team a week), a 5-point rise in win rate (deals won within 90 days)
    is detectable after about 9 weeks of new deals: from about 14 Apr 2027, once the deals of
    those weeks have had their 90 days (80% power; it is checked every week, so it asks for a
    98% interval)." ``weeks`` are those of ``weeks_needed`` at ``ALPHA``; ``larger`` is (a
    larger change, its weeks), offered when ``weeks`` is None."""
    from brightspots.experiments.verdict import day, described, outcome_words, size

    words = outcome_words(outcome)
    kind = "similar teams" if comparison == "similar" else "other teams"
    if comparison_teams == 1:
        kind = kind.replace("teams", "team")
    team_word = "team" if teams == 1 else "teams"
    head = (
        f"With these {teams} {team_word} against {comparison_teams} {kind} and your volumes "
        f"(about {_round_volume(volume)} {words.volume} a team a week), "
        f"a {size(outcome, delta)} {words.better_noun} in {described(outcome, horizon_days)}"
    )
    tail = (
        f"({round(100 * power)}% power; it is checked every week, so it asks for a "
        f"{_percent(did.REPEATED_LEVEL)} interval)"
    )
    if weeks is not None:
        return (
            f"{head} is detectable after about {weeks} weeks of new {words.items}: from about "
            f"{day(ready(first_start, weeks, lag_days))}, once the {words.items} of those weeks "
            f"have had their {lag_days} days {tail}."
        )
    text = f"{head} is not detectable within two years with {teams} {team_word}: add teams"
    if larger is not None and larger[1] is not None:
        text += (
            f", or look for a {size(outcome, larger[0])} {words.better_noun} "
            f"(about {larger[1]} weeks)"
        )
    return f"{text} {tail}."


def _round_volume(volume: float) -> str:
    if not math.isfinite(volume):
        return "–"
    return str(max(1, round(volume))) if volume >= 1 else f"{volume:.1f}"


def _percent(level: float) -> str:
    return f"{round(100 * level, 6):g}%"
