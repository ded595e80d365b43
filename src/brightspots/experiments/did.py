"""Difference in differences for staggered starts: Callaway & Sant'Anna ATT(g, t) on a team-week
panel, its simple and event-study aggregations, a pre-trend check and wild cluster bootstrap-t
intervals at team level. Pure numpy; the panel is small (tens of teams, about 100 weeks).

**Cells** (Callaway & Sant'Anna 2021, "Difference-in-differences with multiple time periods",
J. Econometrics 225(2)). A wave g is the set of units whose first treated week is g. Each unit's
baseline for wave g is the mean of its outcome over the K weeks [g - a - K, g - a - 1] that have
data (``baseline_weeks``; a unit needs at least ceil(K/2) of them), and Delta_it = y_it - B_i(g).
``anticipation`` a (weeks, default 0) is Callaway & Sant'Anna's anticipation parameter: the a
weeks [g - a, g - 1] just before a start may already be touched by the practice (a deal
created then is still open, and worked the new way, after the start), so they are in neither
the baseline, nor the pre-trend, nor the post weeks (no cell (g, t) with g - a <= t < g). The
controls of cell (g, t) are the units not in g, allowed by ``controls`` (the frozen comparison
set) or in the experiment themselves, not yet treated (nor anticipating) at max(t, g - 1 - a)
+ a, i.e. start_j > t + a after the start and start_j > g - 1 before it (csdid's rule with its
``anticipation``), and with y_jt and B_j(g) defined. With team weights w (fixed per unit)

    ATT(g, t) = sum_{i in g} w_i Delta_it / sum w_i  -  sum_{j in C} w_j Delta_jt / sum w_j

over the treated and control units with data. A cell needs one treated unit and
``min_controls`` controls. Pre cells (t < g) use the same baseline (long differences, the
"universal" base). With K = 1 and ``controls=None`` the cells are exactly csdid's
``control_group="notyettreated", est_method="reg", base_period="universal"`` with
``weights_name`` (the post cells equal its default "varying" base too; with anticipation a,
its ``anticipation=a`` outside the anticipation cells, which csdid estimates and this leaves
out); a mean of K weeks lowers the noise of the baseline, which dominates with about 15 deals a
team a week.

**Aggregation** (R did's "simple" and "dynamic"). With W_c the weight of a cell's treated units
with data (W_g on a balanced panel), the overall effect is theta = sum_c W_c ATT(c) / sum_c W_c
over post cells, and the event study ES(e) the same average over the cells with t - g = e.
``linear_weights`` gives theta as sum(c * y), which power analysis uses.

**Inference.** Every statistic is linear in the cells, S = sum_c b_c ATT(c), hence a sum of team
contributions: treated unit i contributes C_i = sum_c b_c (w_i / W_c)(Delta_it - m_C(c)), so
S = sum_i C_i, with share s_i = sum_c |b_c| w_i / W_c / sum_c |b_c| (the shares sum to 1). Its
influence is the residual around the pooled estimate, psi_i = (C_i - s_i S) sqrt(G1 / (G1 - 1))
(heterogeneity between teams counts as noise, and a wave of one team is fine), and a control's
is -sum_c b_c (w_j / W_C)(Delta_jt - m_C(c)) sqrt(G0_c / (G0_c - 1)); SE = sqrt(sum psi^2)
with a team's treated and control parts added before squaring (CR1 at team level). The interval
is a wild cluster bootstrap-t (Cameron, Gelbach & Miller 2008, "Bootstrap-based improvements
for inference with clustered errors", Review of Economics and Statistics 90(3)): every draw
multiplies each team's influence by one Webb six-point weight (Webb 2014, "Reworking wild
bootstrap based inference for clustered errors", Queen's Economics Department WP 1315; the
same weight across the team's cells), re-centres the treated part and re-studentises, and the
interval is S +- q SE with q the ``level`` quantile of |t*|. With few treated clusters the plain
CR1 t and the multiplier bootstrap under-cover (MacKinnon & Webb 2017, "Wild bootstrap
inference for wildly different cluster sizes", J. Applied Econometrics 32(2); 2018, "The wild
bootstrap for few (treated) clusters", Econometrics Journal 21(2)); in simulations with 6
treated teams this covered 0.93-0.97 where the multiplier bootstrap covered 0.90-0.92. The same
draws give every cell, the event study, the overall effect at ``level`` and the pre-trend test.
The overall effect also gets the intervals the verdict's repeated looks need, from at least
``STRICT_DRAWS`` draws of its own (one statistic, so cheap: draws x units): 99.9% (the
Haybittle-Peto bound before the plan's weeks) and 98% (the Pocock-like bound from then on,
``REPEATED_LEVEL``). A 99.9% quantile of |t*| from 1,999 draws interpolates near the third
largest draw, so its Monte Carlo error would be large.

**Far tails with few treated teams.** The SE rests on the spread of G1 treated teams' own
effects, about G1 - 1 degrees of freedom, so |t| has the heavy tail of a t with G1 - 1 degrees
of freedom; the Webb draws reuse the same G1 residuals and their far tail is too light. In
simulated null experiments (24 teams, 6 treated in two waves of 3, K = 12) the 99.9% bootstrap-t
interval excluded zero at some weekly look of the first 11 weeks in 12% of them (the first
wave alone: 3 teams). So the two stricter intervals use q = max(bootstrap quantile, the t
quantile with G1 - 1 degrees of freedom), the same t the power calculation uses (``power``);
that made it 0% there. The 95% interval stays the bootstrap's, whose coverage at one look is
checked (tests/test_experiments_inference.py, and issue 12's acceptance test).

**Pre-trend.** The weighted least-squares slope of ES(e) on e over e in [-26, -1 - a] (weights W_e)
is a statistic like the others (each team's own slope around the pooled one); its p-value is
the share of draws with |t*| >= |t| (symmetric bootstrap-t). Its drift, slope x (mean post e +
a + (K + 1) / 2), is the gap it would open between the baseline and the post weeks.
``Pretrend.flagged`` applies the rule p < 0.05 and |drift| > max(delta / 2, |theta| / 2).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import date

import numpy as np

#: Webb's six-point weights: mean 0, variance 1, and 6 values so that few clusters still give
#: many distinct draws (Rademacher gives 2^G)
WEBB = np.array(
    [-math.sqrt(1.5), -1.0, -math.sqrt(0.5), math.sqrt(0.5), 1.0, math.sqrt(1.5)], dtype=float
)
#: the level of the interval early looks must clear (Haybittle-Peto)
STRICT_LEVEL = 0.999
#: the level of the interval that decides at the weekly looks from the plan's weeks on
#: (Pocock-like: the same stricter bound at every look, so repeated looks keep the error rate;
#: see ``verdict`` for the simulated rates behind 98%)
REPEATED_LEVEL = 0.98
#: the least number of bootstrap draws behind the STRICT_LEVEL and REPEATED_LEVEL intervals
STRICT_DRAWS = 9999
#: the pre-trend slope uses the event times from -PRETREND_WEEKS to -1
PRETREND_WEEKS = 26
#: the pre-trend test's level
PRETREND_ALPHA = 0.05


@dataclass(frozen=True)
class Panel:
    """Units x consecutive weeks of one measure.

    ``y`` is NaN where the unit had no volume or the week is not mature yet; ``start`` is the
    index of the unit's first treated week (-1: never, a comparison unit); ``stop`` the first
    week no longer counted (the end date; ``len(weeks)`` if none); ``weight`` the fixed team
    weight w_i (its mean weekly volume before the start)."""

    units: tuple[str, ...]
    weeks: tuple[date, ...]
    y: np.ndarray
    n: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    weight: np.ndarray

    def __post_init__(self) -> None:
        shape = (len(self.units), len(self.weeks))
        for name in ("y", "n"):
            if np.shape(getattr(self, name)) != shape:
                raise ValueError(f"Panel.{name} must have shape {shape}")
        for name in ("start", "stop", "weight"):
            if np.shape(getattr(self, name)) != shape[:1]:
                raise ValueError(f"Panel.{name} must have shape {shape[:1]}")
        weight = np.asarray(self.weight, dtype=float)
        if not (np.all(np.isfinite(weight)) and np.all(weight > 0)):
            raise ValueError("Panel.weight must be positive and finite")

    def observed(self) -> np.ndarray:
        """``y`` with the weeks from each unit's ``stop`` on set to NaN."""
        y = np.array(self.y, dtype=float)
        t = np.arange(y.shape[1])[None, :]
        y[t >= np.asarray(self.stop)[:, None]] = np.nan
        return y


@dataclass(frozen=True)
class Effect:
    """One estimate: a cell (g, t), an event time e, the overall effect or the pre-trend slope.
    ``g`` and ``t`` are week indices of the panel (``panel.weeks[g]``); ``weight`` the treated
    weight behind it."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    n_treated: int
    n_control: int
    weight: float
    g: int | None = None
    t: int | None = None
    e: int | None = None


@dataclass(frozen=True)
class Pretrend:
    """The slope of the event study before the start (per week), its SE and interval, its
    bootstrap-t p-value, the drift it implies by the mean post week, the number of pre event
    times used, and the overall effect (for the rule)."""

    slope: float
    se: float
    ci_low: float
    ci_high: float
    p: float
    drift: float
    weeks: int
    theta: float | None

    def flagged(self, detect: float) -> bool:
        """p < 0.05 and a drift larger than half the effect worth detecting and half the
        estimate: the teams were already moving apart enough to fake or hide the effect."""
        theta = abs(self.theta) if self.theta is not None else 0.0
        return bool(self.p < PRETREND_ALPHA and abs(self.drift) > max(detect / 2, theta / 2))


@dataclass(frozen=True)
class Wave:
    """A wave at week index ``g``: its units with a baseline, the units it could be compared
    with at its start (with a baseline, data or not), and its estimable post cells."""

    g: int
    units: int
    controls: int
    post_cells: int


@dataclass(frozen=True)
class Fit:
    """The fit of one measure. ``overall`` is the overall effect at ``level``, ``strict`` the
    same at ``STRICT_LEVEL`` and ``repeated`` at ``REPEATED_LEVEL`` (both at least as wide as
    the t with G1 - 1 degrees of freedom makes them); all three are None when
    fewer than 2 treated units have data or no post cell has enough controls (``notes`` says
    which). The overall effect's controls are ``n_comparison`` never-treated units (the frozen
    comparison teams) and ``n_later`` experiment units of later waves before they started;
    ``anticipation`` the weeks before each start left out."""

    cells: tuple[Effect, ...]
    overall: Effect | None
    strict: Effect | None
    event: tuple[Effect, ...]
    pretrend: Pretrend | None
    waves: tuple[Wave, ...]
    post_weeks: int
    level: float
    notes: tuple[str, ...]
    repeated: Effect | None = None
    n_comparison: int = 0
    n_later: int = 0
    anticipation: int = 0

    @property
    def treated(self) -> int:
        """Experiment units with a baseline (the ones that can enter)."""
        return sum(w.units for w in self.waves)

    @property
    def comparison(self) -> int:
        """The most units any wave could be compared with at its start."""
        return max((w.controls for w in self.waves), default=0)


@dataclass(frozen=True)
class Levels:
    """Volume-weighted levels: the treated units over their baselines and since their starts,
    the comparison units (never treated) over the K weeks before the first start and since."""

    before: float
    since: float
    comparison_before: float
    comparison_since: float


@dataclass(frozen=True)
class _Cell:
    g: int
    t: int
    treated: np.ndarray  # unit indices with data
    controls: np.ndarray
    d_treated: np.ndarray  # Delta of those units
    d_controls: np.ndarray

    @property
    def e(self) -> int:
        return self.t - self.g


def _baselines(y: np.ndarray, end: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(B_i, number of weeks behind it) over the K weeks before week ``end`` (g - a); B is NaN
    with fewer than ceil(K/2) weeks."""
    window = y[:, max(0, end - k) : end]
    have = np.isfinite(window)
    count = have.sum(axis=1)
    total = np.where(have, window, 0.0).sum(axis=1)
    enough = count >= math.ceil(k / 2)
    base = np.full(y.shape[0], np.nan)
    base[enough] = total[enough] / count[enough]
    return base, count


def _allowed(panel: Panel, controls: np.ndarray | None) -> np.ndarray:
    start = np.asarray(panel.start)
    if controls is None:
        return np.ones(len(start), dtype=bool)
    allowed = np.asarray(controls, dtype=bool)
    if allowed.shape != start.shape:
        raise ValueError("controls must have one flag per unit")
    return allowed | (start >= 0)


def _waves(panel: Panel) -> list[int]:
    start = np.asarray(panel.start)
    return sorted(int(g) for g in set(start[start >= 0].tolist()))


def _check(baseline_weeks: int, anticipation: int) -> None:
    if baseline_weeks < 1:
        raise ValueError("baseline_weeks must be at least 1")
    if anticipation < 0:
        raise ValueError("anticipation must be 0 or more weeks")


def _cells(
    panel: Panel, baseline_weeks: int, controls: np.ndarray | None, min_controls: int, a: int
) -> tuple[list[_Cell], list[Wave], dict[int, tuple[np.ndarray, np.ndarray]]]:
    """Every estimable cell (pre and post, none in the ``a`` anticipation weeks), the waves,
    and each wave's baselines."""
    _check(baseline_weeks, a)
    y = panel.observed()
    start = np.asarray(panel.start)
    allowed = _allowed(panel, controls)
    cells: list[_Cell] = []
    waves: list[Wave] = []
    bases: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for g in _waves(panel):
        base, count = _baselines(y, g - a, baseline_weeks)
        bases[g] = (base, count)
        in_wave = (start == g) & np.isfinite(base)
        outside = allowed & (start != g) & np.isfinite(base)
        post = 0
        for t in range(y.shape[1]):
            if g - a <= t < g:  # anticipation weeks: neither before nor after
                continue
            later = (start < 0) | (start > max(t, g - 1 - a) + a)
            yt = y[:, t]
            treated = np.flatnonzero(in_wave & np.isfinite(yt))
            ctrl = np.flatnonzero(outside & later & np.isfinite(yt))
            if len(treated) == 0 or len(ctrl) < max(min_controls, 1):
                continue
            cells.append(
                _Cell(g, t, treated, ctrl, yt[treated] - base[treated], yt[ctrl] - base[ctrl])
            )
            post += t >= g
        at_start = outside & ((start < 0) | (start > g + a))
        waves.append(Wave(g, int(in_wave.sum()), int(at_start.sum()), post))
    return cells, waves, bases


class _Parts:
    """The cells as dense (cell x unit) arrays, so that any statistic sum_c b_c ATT(c) and its
    team-level influence are a few matrix products."""

    def __init__(self, cells: list[_Cell], w: np.ndarray) -> None:
        n_cells, n_units = len(cells), len(w)
        self.share = np.zeros((n_cells, n_units))  # w_i / W_c of the treated
        self.z_treated = np.zeros((n_cells, n_units))  # Delta_it - m_C(c)
        self.control = np.zeros((n_cells, n_units))  # w_j / W_C sqrt(G0 / (G0 - 1))
        self.r_control = np.zeros((n_cells, n_units))  # Delta_jt - m_C(c)
        self.weight = np.zeros(n_cells)  # W_c
        for k, c in enumerate(cells):
            wt, wc = w[c.treated], w[c.controls]
            m_c = float(np.dot(wc, c.d_controls) / wc.sum())
            g0 = len(c.controls)
            self.share[k, c.treated] = wt / wt.sum()
            self.z_treated[k, c.treated] = c.d_treated - m_c
            self.control[k, c.controls] = (
                wc / wc.sum() * (math.sqrt(g0 / (g0 - 1)) if g0 > 1 else 1)
            )
            self.r_control[k, c.controls] = c.d_controls - m_c
            self.weight[k] = wt.sum()

    def influence(
        self, b: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """For statistics with cell coefficients ``b`` (S x cells): estimates (S), treated
        influence (S x units), control influence, treated shares (each row sums to 1), treated
        count G1 and control count G0. A unit's share is its weight in the cells the statistic
        uses, sum_c |b_c| w_i / W_c / sum_c |b_c|, so a slope (coefficients of both signs) has
        one too and its residual is the unit's own slope around the pooled one."""
        size = np.abs(b)
        total = size.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(total > 0, (size @ self.share) / total, 0.0)
        contrib = b @ (self.share * self.z_treated)
        est = contrib.sum(axis=1)
        used = (size > 0).astype(float)
        g1 = ((used @ (self.share > 0)) > 0).sum(axis=1)
        g0 = ((used @ (self.control > 0)) > 0).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            f1 = np.where(g1 > 1, np.sqrt(g1 / (g1 - 1.0)), np.nan)
        psi_t = (contrib - share * est[:, None]) * f1[:, None]
        psi_c = -(b @ (self.control * self.r_control))
        return est, psi_t, psi_c, share, g1, g0


def webb_draws(draws: int, units: int, seed: int) -> np.ndarray:
    """``draws`` x ``units`` Webb weights, one per team and draw (the same across its cells)."""
    rng = np.random.default_rng(seed)
    return WEBB[rng.integers(0, len(WEBB), size=(draws, units))]


@functools.lru_cache(maxsize=4)
def _strict_draws(draws: int, units: int, seed: int) -> np.ndarray:
    """Webb weights for the stricter intervals, as ``webb_draws`` but from 8-bit integers
    (about 3 times faster for 9,999 draws), read-only and kept for the next fit of as many
    units (the outcome and adoption of one experiment, a panel's weekly looks)."""
    rng = np.random.default_rng(seed)
    xi = WEBB[rng.integers(0, len(WEBB), size=(draws, units), dtype=np.uint8)]
    xi.flags.writeable = False
    return xi


def _bootstrap_t(
    xi: np.ndarray, psi_t: np.ndarray, psi_c: np.ndarray, share: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(SE, t* of shape draws x S): every draw multiplies each team's influence by its weight,
    re-centres the treated part around the draw's pooled value (weighted by the shares, which
    sum to 1) and re-studentises; a team's treated and control parts add before squaring."""
    psi = psi_t + psi_c
    se = np.sqrt((psi**2).sum(axis=1))
    num = xi @ psi.T
    m = xi @ psi_t.T
    var = (
        (xi**2) @ (psi**2).T
        - 2.0 * m * (xi @ (psi * share).T)
        + m**2 * (share**2).sum(axis=1)[None, :]
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        t_star = num / np.sqrt(np.maximum(var, 0.0))
    return se, t_star


def _quantile(t_star: np.ndarray, level: float) -> np.ndarray:
    """The ``level`` quantile of |t*| per statistic (linear interpolation, as np.quantile); a
    draw whose numerator and SE are both 0 counts as 0, one whose SE alone is 0 as infinite
    (with two treated teams and quiet controls, opposite weights cancel their SE: the interval
    is then unbounded, rightly); NaN for a statistic with no SE."""
    a = np.abs(t_star.T)
    missing = np.isnan(a).all(axis=1)
    a = np.where(np.isnan(a), 0.0, a)
    pos = level * (a.shape[1] - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    part = np.partition(a, sorted({lo, hi}), axis=1)
    below, above = part[:, lo], part[:, hi]
    with np.errstate(invalid="ignore"):  # inf - inf where both are inf
        q = np.where(above == below, below, below + (pos - lo) * (above - below))
    q[missing] = np.nan
    return q


def _effect(est: float, se: float, q: float, n1: int, n0: int, weight: float, **at: int) -> Effect:
    if not np.isfinite(se):
        low = high = math.nan
    elif se == 0:
        low = high = est
    elif math.isinf(q):
        low, high = -math.inf, math.inf
    else:
        low, high = est - q * se, est + q * se
    return Effect(
        float(est), float(se), float(low), float(high), int(n1), int(n0), float(weight), **at
    )


def _stricter(t_star: np.ndarray, level: float, treated: int) -> float:
    """The ``level`` quantile of |t*| of one statistic, at least the t quantile with
    ``treated`` - 1 degrees of freedom (see "Far tails" in the module docstring)."""
    q = float(_quantile(t_star, level)[0])
    return q if math.isnan(q) else max(q, _t_quantile(level, max(int(treated) - 1, 1)))


@functools.lru_cache(maxsize=256)
def _t_quantile(level: float, dof: int) -> float:
    """The two-sided ``level`` quantile of a t with ``dof`` degrees of freedom."""
    from scipy import stats

    return float(stats.t.ppf(0.5 + level / 2, dof))


def _post_coefficients(cells: list[_Cell], weight: np.ndarray) -> np.ndarray:
    post = np.array([c.t >= c.g for c in cells], dtype=bool)
    b = np.where(post, weight, 0.0)
    return b / b.sum() if b.sum() > 0 else b


def fit(
    panel: Panel,
    *,
    baseline_weeks: int,
    controls: np.ndarray | None = None,
    draws: int = 1999,
    seed: int = 0,
    level: float = 0.95,
    min_controls: int = 2,
    anticipation: int = 0,
) -> Fit:
    """ATT(g, t), the event study, the overall effect and the pre-trend check, with wild
    cluster bootstrap-t intervals from ``draws`` Webb draws (the overall effect's 99.9% and 98%
    intervals from at least ``STRICT_DRAWS``); ``anticipation`` weeks before each start are left
    out (see the module docstring)."""
    if draws < 1:
        raise ValueError("draws must be at least 1")
    cells, waves, _ = _cells(panel, baseline_weeks, controls, min_controls, anticipation)
    y = panel.observed()
    start = np.asarray(panel.start)
    treated_data = np.isfinite(y) & (start >= 0)[:, None]
    first = min((w.g for w in waves), default=None)
    post_weeks = 0 if first is None else int(treated_data[:, first:].any(axis=0).sum())
    if not cells:
        notes = ("no treated unit has data with enough comparison units in the same week",)
        return Fit(
            (),
            None,
            None,
            (),
            None,
            tuple(waves),
            post_weeks,
            level,
            notes,
            None,
            0,
            0,
            anticipation,
        )

    w = np.asarray(panel.weight, dtype=float)
    parts = _Parts(cells, w)
    n_cells = len(cells)
    e_of = np.array([c.e for c in cells])

    # the statistics, one row of cell coefficients each: cells, event times, overall, slope
    rows: list[np.ndarray] = list(np.eye(n_cells))
    event_times = sorted(set(e_of.tolist()))
    for e in event_times:
        b = np.where(e_of == e, parts.weight, 0.0)
        rows.append(b / b.sum())
    b_overall = _post_coefficients(cells, parts.weight)
    has_overall = b_overall.sum() > 0
    rows.append(b_overall)
    pre_es = [e for e in event_times if -PRETREND_WEEKS <= e <= -1]
    b_slope = np.zeros(n_cells)
    if len(pre_es) >= 3:
        v = np.array([parts.weight[e_of == e].sum() for e in pre_es])
        x = np.array(pre_es, dtype=float)
        xc = x - np.dot(v, x) / v.sum()
        a = v * xc / np.dot(v, xc**2)
        for a_e, e in zip(a, pre_es, strict=True):
            at = e_of == e
            b_slope[at] = a_e * parts.weight[at] / parts.weight[at].sum()
    rows.append(b_slope)

    b = np.vstack(rows)
    est, psi_t, psi_c, share, g1, g0 = parts.influence(b)
    xi = webb_draws(draws, len(w), seed)
    # products this small run faster on one thread, far faster on a loaded machine (imported
    # here: the practices package is heavy, and already loaded where experiments are analysed)
    from brightspots.blas import one_blas_thread

    with one_blas_thread():
        se, t_star = _bootstrap_t(xi, psi_t, psi_c, share)
    q = _quantile(t_star, level)
    post = np.array([c.t >= c.g for c in cells])
    weight_of = np.concatenate(
        [
            parts.weight,
            [parts.weight[e_of == e].sum() for e in event_times],
            [parts.weight[post].sum(), 0.0],
        ]
    )

    cell_effects = tuple(
        _effect(est[k], se[k], q[k], g1[k], g0[k], parts.weight[k], g=c.g, t=c.t, e=c.e)
        for k, c in enumerate(cells)
    )
    event = tuple(
        _effect(est[i], se[i], q[i], g1[i], g0[i], weight_of[i], e=e)
        for i, e in zip(range(n_cells, n_cells + len(event_times)), event_times, strict=True)
    )
    k_all = n_cells + len(event_times)
    k_slope = k_all + 1

    notes: list[str] = []
    overall = strict = repeated = None
    n_comparison = n_later = 0
    theta: float | None = None
    if not has_overall:
        notes.append("no week after the start has enough comparison units with data")
    elif g1[k_all] < 2:
        notes.append("fewer than 2 treated units have data after the start")
    else:
        at = (est[k_all], se[k_all])
        n1, n0, wt = g1[k_all], g0[k_all], weight_of[k_all]
        overall = _effect(*at, q[k_all], n1, n0, wt)
        # the stricter levels from their own, larger set of draws of this one statistic
        xi_strict = _strict_draws(max(draws, STRICT_DRAWS), len(w), seed)
        with one_blas_thread():
            _, t_strict = _bootstrap_t(xi_strict, psi_t[[k_all]], psi_c[[k_all]], share[[k_all]])
        strict = _effect(*at, _stricter(t_strict, STRICT_LEVEL, n1), n1, n0, wt)
        repeated = _effect(*at, _stricter(t_strict, REPEATED_LEVEL, n1), n1, n0, wt)
        theta = overall.estimate
        used = (parts.control[b_overall != 0] > 0).any(axis=0)
        n_comparison = int(np.sum(used & (start < 0)))
        n_later = int(np.sum(used & (start >= 0)))

    pretrend = None
    if len(pre_es) >= 3 and np.isfinite(se[k_slope]) and se[k_slope] > 0:
        t_obs = abs(est[k_slope] / se[k_slope])
        hits = np.abs(t_star[:, k_slope]) >= t_obs - 1e-12
        p = (1.0 + float(np.sum(hits))) / (draws + 1.0)
        mean_post_e = float(np.dot(b_overall, e_of)) if has_overall else 0.0
        drift = est[k_slope] * (mean_post_e + anticipation + (baseline_weeks + 1) / 2)
        slope = _effect(est[k_slope], se[k_slope], q[k_slope], 0, 0, 0.0)
        pretrend = Pretrend(
            slope.estimate,
            slope.se,
            slope.ci_low,
            slope.ci_high,
            p,
            float(drift),
            len(pre_es),
            theta,
        )
    return Fit(
        cell_effects,
        overall,
        strict,
        event,
        pretrend,
        tuple(waves),
        post_weeks,
        level,
        tuple(notes),
        repeated,
        n_comparison,
        n_later,
        anticipation,
    )


def linear_weights(
    panel: Panel,
    *,
    baseline_weeks: int,
    controls: np.ndarray | None = None,
    min_controls: int = 2,
    anticipation: int = 0,
) -> np.ndarray:
    """c (units x weeks) with theta = sum(c * y) over the entries where y is defined (0
    elsewhere); all zeros when there is no post cell."""
    cells, _, bases = _cells(panel, baseline_weeks, controls, min_controls, anticipation)
    y = panel.observed()
    c = np.zeros(y.shape)
    w = np.asarray(panel.weight, dtype=float)
    weights = np.array([w[cell.treated].sum() for cell in cells])
    b = _post_coefficients(cells, weights) if cells else weights
    have = np.isfinite(y)
    for cell, b_c in zip(cells, b, strict=True):
        if b_c == 0:
            continue
        g, t = cell.g, cell.t
        end = g - anticipation  # the baseline is the K weeks before it
        lo = max(0, end - baseline_weeks)
        _, count = bases[g]
        for units, sign in ((cell.treated, 1.0), (cell.controls, -1.0)):
            a = sign * b_c * w[units] / w[units].sum()
            c[units, t] += a
            window = have[units, lo:end]
            c[units, lo:end] -= (a / count[units])[:, None] * window
    return c


def levels(
    panel: Panel,
    *,
    baseline_weeks: int,
    controls: np.ndarray | None = None,
    anticipation: int = 0,
) -> Levels:
    """Volume-weighted means of y (for adoption: the share of new deals doing the practice):
    the treated units over their baseline weeks and since their starts, and the comparison
    units (never treated, allowed) over the K weeks before the first start's anticipation
    weeks and since the first start."""
    _check(baseline_weeks, anticipation)
    a = anticipation
    y = panel.observed()
    n = np.where(np.isfinite(y), np.asarray(panel.n, dtype=float), 0.0)
    yn = np.where(np.isfinite(y), y, 0.0) * n
    start = np.asarray(panel.start)
    t = np.arange(y.shape[1])[None, :]
    g = start[:, None]
    treated = start >= 0
    before = treated[:, None] & (t >= g - a - baseline_weeks) & (t < g - a)
    since = treated[:, None] & (t >= g)
    first = int(start[treated].min()) if treated.any() else y.shape[1]
    comp = (_allowed(panel, controls) & ~treated)[:, None]
    c_before = comp & (t >= first - a - baseline_weeks) & (t < first - a)
    c_since = comp & (t >= first)

    def mean(mask: np.ndarray) -> float:
        total = n[mask].sum()
        return float(yn[mask].sum() / total) if total > 0 else math.nan

    return Levels(mean(before), mean(since), mean(c_before), mean(c_since))
