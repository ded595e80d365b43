"""The key-account plan for one rep as a small optimisation: whole touches per account and month
that follow each account's priority (value x fit) as closely as the rep's capacity and the
tier rules allow.

Two steps, both exact:

1. **Proportional target** (continuous): touches per month ``t_a = clip(lam * w_a / m_a, lo_a,
   hi_a)``, where ``w_a`` is the account's priority, ``m_a`` its minutes per touch and
   ``lo_a``/``hi_a`` its tier's minimum and maximum touches a month; ``lam`` is found by bisection
   so the targets fill the capacity, ``sum m_a t_a = C`` (minutes a month). So time follows
   priority wherever no rule binds ("water-filling"). When every account sits at its maximum the
   capacity left over is reported, not forced onto accounts.
2. **Whole touches** (``scipy.optimize.milp``, HiGHS), month by month: integers ``x_a`` within
   the tier bounds and the month's capacity (``sum_a m_a x_a <= C``), minimising the time by
   which they miss what keeps each account on pace (its target times the months so far, less
   the touches already planned: ``sum_a m_a |x_a - want_a|``) plus the time left unplanned. So
   a target of 0.3 touches a month becomes about one touch every three months, no account
   drifts from its pace by more than about one touch, and every month fits the capacity.

Rules that cannot all hold (minimum touches that need more time than the capacity, a minimum
above a maximum) raise ``PlanError`` naming the conflict in figures.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_array, csr_array, hstack, vstack

from brightspots.errors import BrightspotsError

#: seconds HiGHS may take for one rep's plan, and the relative gap to the best possible plan at
#: which it stops (filling the time exactly is a knapsack: proving the last minute optimal is
#: slow and worth nothing)
TIME_LIMIT = 20.0
MIP_GAP = 1e-3
#: bisection steps for the water level (relative precision ~1e-15 of the capacity)
_STEPS = 200


class PlanError(BrightspotsError):
    """The plan's rules cannot all hold for this rep; the message names the conflict."""


@dataclass(frozen=True)
class Book:
    """One rep's accounts for planning (arrays aligned by account)."""

    rep_id: str
    account_id: np.ndarray  # str
    tier: np.ndarray  # str: strategic, key, core or maintain
    priority: np.ndarray  # >= 0: value x fit weight
    minutes: np.ndarray  # > 0: minutes a touch of this account takes
    capacity: float  # minutes a month for these accounts


@dataclass(frozen=True)
class Rules:
    """Touches a month per tier: at least ``min_touches[tier]``, at most ``max_touches[tier]``
    (absent: no cap)."""

    min_touches: dict[str, int]
    max_touches: dict[str, int]


@dataclass(frozen=True)
class Solved:
    target: np.ndarray  # touches a month, continuous (step 1)
    touches: np.ndarray  # int, shape (accounts, months)
    unused_minutes: float  # capacity a month left when every account is at its maximum


def bounds(book: Book, rules: Rules) -> tuple[np.ndarray, np.ndarray]:
    """Each account's minimum and maximum touches a month (``inf``: no cap)."""
    lo = np.array([rules.min_touches.get(t, 0) for t in book.tier], dtype=float)
    hi = np.array([rules.max_touches.get(t, np.inf) for t in book.tier], dtype=float)
    for tier in sorted(set(book.tier)):
        low, high = rules.min_touches.get(tier, 0), rules.max_touches.get(tier, np.inf)
        if low > high:
            raise PlanError(
                f"[plan] min_touches.{tier} = {low} is above max_touches.{tier} = {high:g}: "
                "no plan can meet both"
            )
    return lo, hi


def _check_capacity(book: Book, lo: np.ndarray) -> None:
    need = float(np.sum(book.minutes * lo))
    if need <= book.capacity * (1 + 1e-12):
        return
    parts = []
    for tier in ("strategic", "key", "core", "maintain"):
        sel = (book.tier == tier) & (lo > 0)
        if sel.any():
            parts.append(
                f"{int(sel.sum())} {tier} account(s) x {int(lo[sel][0])} touch(es)"
                f" = {np.sum(book.minutes[sel] * lo[sel]) / 60:.1f} h"
            )
    raise PlanError(
        f"rep {book.rep_id}: the minimum touches a month ({'; '.join(parts)}) need "
        f"{need / 60:.1f} hours a month, more than the capacity of {book.capacity / 60:.1f} "
        "hours: lower [plan] min_touches or give a larger capacity"
    )


def target(book: Book, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, float]:
    """Step 1: touches a month per account (continuous) and the capacity left unused."""
    m, w = book.minutes, np.maximum(book.priority, 0.0)
    if not len(m):
        return np.zeros(0), float(book.capacity)
    if not np.any(w > 0):  # no priority anywhere: the capacity goes evenly by time
        w = np.ones_like(m)
    # the most the targets can take: accounts with priority up to their maximum, the others
    # their minimum; below the capacity, the rest is left over
    top = np.where(w > 0, hi, lo)
    if np.all(np.isfinite(top)) and float(np.sum(m * top)) <= book.capacity:
        return top, float(book.capacity - np.sum(m * top))

    def fill(lam: float) -> np.ndarray:
        return np.clip(lam * w / m, lo, hi)

    a, b = 0.0, 1.0
    while np.sum(m * fill(b)) < book.capacity:
        b *= 2.0
    for _ in range(_STEPS):
        mid = 0.5 * (a + b)
        if np.sum(m * fill(mid)) < book.capacity:
            a = mid
        else:
            b = mid
        if b - a <= 1e-15 * b:
            break
    return fill(b), 0.0


def solve(book: Book, rules: Rules, months: int) -> Solved:
    """The plan for ``months`` months (see the module docstring)."""
    if months < 1:
        raise PlanError(f"a plan needs at least one month, not {months}")
    if np.any(~(book.minutes > 0)):
        raise PlanError(f"rep {book.rep_id}: every account needs minutes per touch above 0")
    lo, hi = bounds(book, rules)
    _check_capacity(book, lo)
    t, unused = target(book, lo, hi)
    n = len(t)
    if n == 0:
        return Solved(t, np.zeros((0, months), dtype=np.int64), unused)
    x = _whole_touches(book.minutes, t, lo, hi, book.capacity, months)
    return Solved(t, x, unused)


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence the solver: HiGHS writes debugging lines to the process' standard output (file
    descriptor 1) even with ``disp`` off, which would land in the middle of the CLI's output."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _month(
    m: np.ndarray, want: np.ndarray, lo: np.ndarray, hi: np.ndarray, cap: float
) -> np.ndarray:
    """One month's whole touches: ``x_a`` in ``[lo_a, min(hi_a, ceil(want_a))]`` with
    ``sum m_a x_a <= cap``, minimising ``sum m_a |x_a - want_a|`` plus the time left unplanned.
    (Above ``ceil(want_a)`` a touch adds as much miss as it saves unplanned time, so the bound
    loses nothing.) Variables: x (n), d (n, the miss), u (1, the time left)."""
    n = len(want)
    eye = coo_array((np.ones(n), (np.arange(n), np.arange(n))), shape=(n, n))
    no = csr_array((n, 1))
    a = vstack(
        [
            hstack([eye, -eye, no]),  # x - d <= want
            hstack([eye, eye, no]),  # x + d >= want
            hstack([csr_array(m.reshape(1, n)), csr_array((1, n)), csr_array([[1.0]])]),  # = cap
        ]
    ).tocsr()
    lb = np.concatenate([np.full(n, -np.inf), want, [cap]])
    ub = np.concatenate([want, np.full(n, np.inf), [cap]])
    x_hi = np.maximum(lo, np.minimum(hi, np.ceil(np.maximum(want, 0.0) - 1e-9)))
    problem = {
        "c": np.concatenate([np.zeros(n), m, [1.0]]),
        "integrality": np.concatenate([np.ones(n), np.zeros(n + 1)]),
        "bounds": Bounds(
            np.concatenate([lo, np.zeros(n + 1)]),
            np.concatenate([x_hi, np.full(n + 1, np.inf)]),
        ),
        "constraints": LinearConstraint(a, lb, ub),
    }
    options = {"time_limit": TIME_LIMIT, "mip_rel_gap": MIP_GAP}
    with _quiet():
        res = milp(**problem, options=options)
        if res.x is None:  # HiGHS' presolve fails on some feasible problems (a test found one)
            res = milp(**problem, options={**options, "presolve": False})
    if res.x is None:  # capacity was checked, so this is the solver giving up
        raise PlanError(f"the plan's optimisation did not finish: {res.message}")
    return np.rint(res.x[:n]).astype(np.int64)


def _whole_touches(
    m: np.ndarray, t: np.ndarray, lo: np.ndarray, hi: np.ndarray, cap: float, months: int
) -> np.ndarray:
    """Step 2, month by month: each month aims at what keeps every account on its pace, the
    months so far times its target minus the touches already planned, so a target of 0.3 a
    month becomes about one touch every three months and no account drifts."""
    x = np.zeros((len(t), months), dtype=np.int64)
    for k in range(months):
        want = (k + 1) * t - x[:, :k].sum(axis=1)
        x[:, k] = _month(m, want, lo, hi, cap)
    return x
