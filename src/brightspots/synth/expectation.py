"""True expected results of each rep over their own closed deals: wins and booked revenue with
their true skill, team effect, practice propensities and amount uplift, and the same for an
average rep on the same deals (the denominators of the true ratios in ``truth.json``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from brightspots.synth.model import (
    PRACTICE_BASE,
    PRACTICE_EFFECT,
    PRACTICE_SEGMENT,
    WON_DRIFT_MU,
    WON_DRIFT_SD,
    WON_UNCHANGED,
    sigmoid,
)
from brightspots.synth.opportunities import Opps
from brightspots.synth.people import Reps


def won_amount_factor(uplift: np.ndarray | float) -> np.ndarray:
    """Expected booked amount of a won deal over its initial amount (before rounding)."""
    moved = np.exp(WON_DRIFT_MU + np.asarray(uplift, np.float64) + WON_DRIFT_SD**2 / 2)
    return WON_UNCHANGED + (1 - WON_UNCHANGED) * moved


@dataclass(frozen=True)
class Expected:
    """Per rep (arrays of length reps.n)."""

    closed: np.ndarray  # closed deals
    wins_true: np.ndarray  # expected wins with the rep's true parameters
    wins_average: np.ndarray  # ... with an average rep's (skill, team effect, offsets 0)
    revenue_true: np.ndarray  # expected booked revenue with the rep's true parameters
    revenue_average: np.ndarray  # ... with an average rep's (and no amount uplift)


def expected_outcomes(reps: Reps, o: Opps) -> Expected:
    """Sum over each rep's closed deals of P(win) (and P(win) * expected booked amount), averaged
    exactly over the 8 combinations of practice indicators under the practice propensities."""
    closed = o.is_closed
    rep, seg, eta0 = o.rep[closed], o.segment[closed], o.eta0[closed]
    q_rep = sigmoid(PRACTICE_BASE + PRACTICE_SEGMENT.T[seg] + reps.offset[rep])
    q_avg = sigmoid(PRACTICE_BASE + PRACTICE_SEGMENT.T[seg])
    lift = reps.skill[rep] + reps.coaching[rep]
    p_rep = np.zeros(len(rep))
    p_avg = np.zeros(len(rep))
    for combo in range(8):
        x = np.array([(combo >> k) & 1 for k in range(3)], dtype=np.float64)
        w_rep = np.prod(np.where(x == 1, q_rep, 1 - q_rep), axis=1)
        w_avg = np.prod(np.where(x == 1, q_avg, 1 - q_avg), axis=1)
        p_rep += w_rep * sigmoid(eta0 + lift + x @ PRACTICE_EFFECT)
        p_avg += w_avg * sigmoid(eta0 + x @ PRACTICE_EFFECT)
    initial = o.initial_amount[closed]
    a_rep = initial * won_amount_factor(reps.uplift[rep])
    a_avg = initial * won_amount_factor(0.0)

    def per_rep(x: np.ndarray) -> np.ndarray:
        return np.bincount(rep, x, minlength=reps.n)

    return Expected(
        closed=np.bincount(rep, minlength=reps.n),
        wins_true=per_rep(p_rep),
        wins_average=per_rep(p_avg),
        revenue_true=per_rep(p_rep * a_rep),
        revenue_average=per_rep(p_avg * a_avg),
    )
