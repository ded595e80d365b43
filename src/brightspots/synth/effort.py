"""Account-level touches (activities on no opportunity) from each rep's effort policy
(``allocation``), and the buyer events that answer some of them: the account-effort model, on
only with ``SynthConfig.misallocation`` above 0 (off, the default, nothing here runs and each deal
brings its own account-level touches, ``activities``).

Time is cut into coverage periods of ``PERIOD`` business days (about a month) from the window's
start. In each period a rep covers their book with a budget of touches, ``coverage`` times the
touches their deals can be expected to take a period (``allocation.deal_work``; at least
``MIN_BUDGET``), shared over the accounts in proportion to each one's current value times the
rep's preference for it. The value of an account in a period is what the rep can see of its worth
a year: a quarter of its annual potential, plus the revenue it can be expected to bring
(``allocation.expected_revenue``), plus the revenue it won in the last ``TRAILING`` periods
(booked amounts of won deals), plus its open pipeline (each open deal's amount times its
case-mix win odds). The touches its deals took that period (``DealTouches``, counted as the deal
rows are made) count towards an account's share; the rest comes as account-level calls, e-mails,
meetings and other touches, Poisson around it (rounded, not drawn, for the proportional rep), on
business days of the period from the rep's hire on. A neglected account gets its keep share of
that; the rest goes, in equal parts, to its rep's over-served accounts. With
``allocation.COVERAGE`` 1 about 40-45% of the touches are account-level and an opportunity comes
with 21-23 activity rows (seeds 1-3 at 36 reps and 12 months: 41-45% and 22.2-22.3 rows; at 200
reps and 18 months: 41-42% and 22.9-23.3 rows; with the model off, 2.5% and 13-15 rows).

A buyer answers ``REPLY_SHARE`` of the account-level calls and e-mails with a contact (a reply
with no opportunity, hours later); account-level meetings are accepted beforehand and most are
held, as on deals. Account-level and deal touches end up with about the same share of touches
with buyer impact.

Memory: one int32 count per account and period, and the value of a block of at most
``BLOCK_ACCOUNTS`` accounts at a time.
"""

from __future__ import annotations

import numpy as np

from brightspots.synth.accounts import Accounts
from brightspots.synth.activities import (
    ACCEPTED,
    CALL,
    EMAIL,
    HELD,
    MEETING,
    OTHER,
    REPLY,
    _durations,
)
from brightspots.synth.allocation import (
    MISALLOCATING,
    POTENTIAL_WEIGHT,
    PROPORTIONAL,
    Allocation,
    deal_work,
)
from brightspots.synth.calendar import Calendar
from brightspots.synth.draws import categorical, uniform_index
from brightspots.synth.model import sigmoid
from brightspots.synth.opportunities import Opps
from brightspots.synth.people import Reps, Teams
from brightspots.synth.rows import Rows

PERIOD = 21  # business days in a coverage period
TRAILING = 12  # periods of won revenue counted in an account's value
MIN_BUDGET = 10.0  # touches a period a rep covers their book with, at least
REPLY_SHARE = 0.2  # account-level calls and e-mails with a contact a buyer answers
KINDS = (CALL, EMAIL, MEETING, OTHER)
KIND_SHARES = (0.45, 0.40, 0.10, 0.05)
NO_CONTACT = 0.15  # account-level touches logged without a contact
BLOCK_ACCOUNTS = 100_000


def n_periods(cal: Calendar) -> int:
    return max(1, -(-(cal.b_end - cal.b_start) // PERIOD))


def _period(cal: Calendar, b: np.ndarray) -> np.ndarray:
    """The coverage period of business-axis positions (clipped to the window's periods)."""
    p = (np.floor(b).astype(np.int64) - cal.b_start) // PERIOD
    return np.clip(p, 0, n_periods(cal) - 1)


class DealTouches:
    """Non-bulk touches on deals per account and coverage period, counted from the activity rows
    as they are added (``count`` after each chunk of deals)."""

    def __init__(self, cal: Calendar, n_accounts: int) -> None:
        self.cal = cal
        self.counts = np.zeros((n_accounts, n_periods(cal)), np.int32)
        self.seen = 0  # rows of the activities counted so far

    def count(self, acts: Rows) -> None:
        """Count the rows added to ``acts`` since the last call."""
        sl = slice(self.seen, acts.n)
        self.seen = acts.n
        d = acts.data
        on_deal = (d["opp"][sl] >= 0) & ~d["bulk"][sl]
        if not on_deal.any():
            return
        account = d["account"][sl][on_deal].astype(np.int64)
        day = (d["time"][sl][on_deal].astype(np.int64) + acts.base) // 86400
        p = _period(self.cal, np.searchsorted(self.cal.days, day).astype(np.float64))
        lo, hi = int(account.min()), int(account.max()) + 1
        n_p = self.counts.shape[1]
        got = np.bincount((account - lo) * n_p + p, minlength=(hi - lo) * n_p)
        self.counts[lo:hi] += got.reshape(hi - lo, n_p).astype(np.int32)


def _blocks(acc: Accounts) -> list[tuple[int, int]]:
    """Ranges of reps whose books hold at most ``BLOCK_ACCOUNTS`` accounts together (or one
    rep)."""
    out, first, size = [], 0, 0
    for r, n in enumerate(acc.rep_count.tolist()):
        if size and size + n > BLOCK_ACCOUNTS:
            out.append((first, r))
            first, size = r, 0
        size += n
    out.append((first, len(acc.rep_count)))
    return out


def _value(
    cal: Calendar, acc: Accounts, o: Opps, expected: np.ndarray, a0: int, a1: int, o0: int, o1: int
) -> np.ndarray:
    """(accounts a0:a1, periods): each account's value in each period (module docstring);
    ``o0:o1``: the deals of those accounts' reps."""
    n_a, n_p = a1 - a0, n_periods(cal)
    account = o.account[o0:o1] - a0
    created = _period(cal, o.b_created[o0:o1])
    ended = _period(cal, o.b_close[o0:o1])
    won = o.won[o0:o1] & o.is_closed[o0:o1]
    amount = o.amount[o0:o1]
    flat = np.bincount(account[won] * n_p + ended[won], amount[won], minlength=n_a * n_p).reshape(
        n_a, n_p
    )
    cum = np.cumsum(flat, axis=1)
    revenue = cum.copy()
    revenue[:, TRAILING:] -= cum[:, :-TRAILING]
    del flat, cum
    # open pipeline: each deal from the period it was created to the one it closes in
    pipe = amount * sigmoid(o.eta0[o0:o1])
    steps = np.bincount(account * (n_p + 1) + created, pipe, minlength=n_a * (n_p + 1))
    steps -= np.bincount(account * (n_p + 1) + ended + 1, pipe, minlength=n_a * (n_p + 1))
    pipeline = np.cumsum(steps.reshape(n_a, n_p + 1), axis=1)[:, :n_p]
    base = POTENTIAL_WEIGHT * acc.potential[a0:a1] + expected[a0:a1]
    return base[:, None] + revenue + np.maximum(pipeline, 0.0)


def account_touches(
    rng: np.random.Generator,
    cal: Calendar,
    teams: Teams,
    reps: Reps,
    acc: Accounts,
    o: Opps,
    alloc: Allocation,
    deals: DealTouches,
    acts: Rows,
    evs: Rows,
) -> None:
    """Every rep's account-level touches (and the buyer events answering them) into ``acts``
    and ``evs``, a block of reps at a time."""
    n_p = n_periods(cal)
    p_lo = cal.b_start + np.arange(n_p, dtype=np.float64) * PERIOD
    p_hi = np.minimum(p_lo + PERIOD, cal.b_end)
    floor = np.maximum(cal.b_start, cal.b_of_day(reps.hire_day))  # no rows before the hire
    first = _period(cal, floor)
    work = np.bincount(acc.owner, deal_work(reps, acc), minlength=reps.n) / (n_p - first)
    over = np.zeros(acc.n, bool)
    over[alloc.over_served] = True
    n_over = np.bincount(acc.owner[over], minlength=reps.n)
    for r0, r1 in _blocks(acc):
        a0 = int(acc.rep_start[r0])
        a1 = int(acc.rep_start[r1 - 1] + acc.rep_count[r1 - 1])
        o0, o1 = (int(x) for x in np.searchsorted(o.rep, [r0, r1]))
        owner = acc.owner[a0:a1]
        starts = acc.rep_start[r0:r1] - a0
        value = _value(cal, acc, o, alloc.expected, a0, a1, o0, o1) * alloc.preference[a0:a1, None]
        share = value / np.add.reduceat(value, starts, axis=0)[owner - r0]
        del value
        done = deals.counts[a0:a1].astype(np.float64)
        active = np.arange(n_p)[None, :] >= first[owner][:, None]
        budget = alloc.coverage[r0:r1] * np.maximum(work[r0:r1], MIN_BUDGET)
        gap = np.maximum(budget[owner - r0][:, None] * share - done, 0.0) * active
        del share, done, active
        keep = alloc.keep[a0:a1, None]
        rate = gap * keep
        freed = np.add.reduceat(gap * (1.0 - keep), starts, axis=0)  # per rep and period
        mine = over[a0:a1] & (alloc.policy[owner] == MISALLOCATING)
        rate[mine] += freed[owner[mine] - r0] / n_over[owner[mine]][:, None]
        exact = alloc.policy[owner] == PROPORTIONAL
        u = rng.random(rate.shape)
        count = np.where(exact[:, None], np.floor(rate + u), rng.poisson(rate))
        del rate, gap, u
        _rows(rng, cal, teams, reps, acc, count.astype(np.int64), a0, p_lo, p_hi, floor, acts, evs)


def _rows(
    rng: np.random.Generator,
    cal: Calendar,
    teams: Teams,
    reps: Reps,
    acc: Accounts,
    count: np.ndarray,
    a0: int,
    p_lo: np.ndarray,
    p_hi: np.ndarray,
    floor: np.ndarray,
    acts: Rows,
    evs: Rows,
) -> None:
    """``count[a, p]`` account-level touches on account ``a0 + a`` in period ``p``."""
    cells = np.flatnonzero(count)
    n_p = count.shape[1]
    per_cell = count.reshape(-1)[cells]
    account = np.repeat(a0 + cells // n_p, per_cell)
    period = np.repeat(cells % n_p, per_cell)
    rep = acc.owner[account]
    n = len(account)
    lo = np.maximum(p_lo[period], floor[rep])
    b = lo + rng.random(n) * (p_hi[period] - lo)
    contact = uniform_index(rng, acc.c_start[account], acc.c_count[account])
    contact = np.where(rng.random(n) < NO_CONTACT, -1, contact)
    kind = np.asarray(KINDS)[categorical(rng, np.tile(KIND_SHARES, (n, 1)))]
    tz = teams.tz[reps.team[rep]]
    t = cal.seconds(b, tz)
    no_opp = np.full(n, -1)
    acts.add(t, no_opp, contact, kind, account, rep, _durations(rng, kind))

    answered = (kind != MEETING) & (contact >= 0) & (rng.random(n) < REPLY_SHARE)
    hours = np.exp(rng.normal(np.log(6.0), 1.0, n))
    a = answered
    evs.add(t[a] + (hours[a] * 3600).astype(np.int64), no_opp[a], contact[a], REPLY,
            account[a], rep[a])  # fmt: skip
    meet = (kind == MEETING) & (contact >= 0)
    before = (rng.uniform(1, 120, n) * 3600).astype(np.int64)
    evs.add(t[meet] - before[meet], no_opp[meet], contact[meet], ACCEPTED, account[meet],
            rep[meet])  # fmt: skip
    held = meet & (rng.random(n) < 0.88)
    evs.add(t[held], no_opp[held], contact[held], HELD, account[held], rep[held])
