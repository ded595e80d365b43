"""How each rep spreads effort over their book: the planted misallocation of account effort.

The account-effort model is off by default: with ``SynthConfig.misallocation`` None or 0 nothing
here runs and the deals bring their own account-level touches (``activities``). A share above 0
turns it on for every rep, with that share misallocating.

Every account has an expected value a year as the generator sees it (``value0``: a quarter of its
annual potential plus its expected won revenue a year under ordinary effort, ``expected_revenue``:
the rep's deal rate shared by the book's opportunity weights, times the usual deal, times the win
odds of its segment, territory and relative size). The accounts in the company's top
``LARGE_SHARE`` by it are its *large, well-fitting* accounts: big potential in a segment and
territory that win (industry carries no effect in this generator, so it plays no part).

Three effort policies (``effort`` turns them into account-level touches, period by period):

* **value** (most reps): each account is covered in proportion to its value (a quarter of its
  potential, its expected revenue, revenue won in the last year, open pipeline at its win odds)
  times a preference of the rep for it (lognormal, SD ``PREFERENCE_SD``), with its deal touches
  counted towards it; Poisson noise. The budget is ``COVERAGE`` (1) times the touches the rep's
  deals can be expected to take (``deal_work``), so about 40-45% of all touches are
  account-level and an opportunity comes with 21-23 activity rows (13-15 with the model off).
* **misallocating** (``SynthConfig.misallocation`` of the reps, at least one): as above, except
  that their ``NEGLECTED_PER_REP`` most valuable large, well-fitting accounts keep only a share
  (uniform in ``NEGLECT_KEEP``, per rep) of their account touches and of the touches on their
  deals that carry no practice (cadence calls and e-mails, demos, meetings after the proposal,
  touches after a win); the account touches freed go to their ``OVER_SERVED_PER_REP`` least
  valuable accounts. Chosen among full-window reps who are not managers and hold at least two
  large, well-fitting accounts.
* **proportional** (one rep, whenever any rep misallocates; the next eligible rep): covers every
  account in proportion to its value (no preference, counts rounded rather than drawn) with a
  budget ``PROPORTIONAL_COVERAGE`` (2) times their deal work, and keeps the deals of small
  accounts lean: the touches on a deal that carry no practice are kept in proportion to the
  account's share of the book's value over its deals' share of the book's deal work (at most all
  of them). The deal work a small account cannot do without (intro touches, answers, proposal) is
  then a small part of the rep's effort. Their touches per account then follow value closely
  (three seeds of 36 reps: log correlation 0.95-0.98, half the summed gap between touch and value
  shares 0.08, against 0.85 and 0.19 for a value rep) for 1.7-1.9 times a value rep's touches per
  opportunity (coverage 3: gap 0.065, 2.4-2.7 times; coverage 1.5: gap 0.09-0.10, 1.4-1.5 times).

With the model on, the draws are made whatever the share, so the share changes nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from brightspots.synth.accounts import Accounts
from brightspots.synth.calendar import Calendar, epoch_day
from brightspots.synth.config import SynthConfig
from brightspots.synth.model import (
    ACCOUNT_WIN,
    BASE_LOGIT,
    DEAL_SHARE,
    SEG_WIN,
    TERRITORY_WIN,
    sigmoid,
)
from brightspots.synth.opportunities import Opps
from brightspots.synth.people import Reps, Teams

VALUE, MISALLOCATING, PROPORTIONAL = range(3)
POLICIES = ("value", "misallocating", "proportional")
POTENTIAL_WEIGHT = 0.25  # a year's value counts this share of the annual potential
LARGE_SHARE = 0.10  # large, well-fitting: the company's top tenth of accounts by value0
NEGLECTED_PER_REP = 3
OVER_SERVED_PER_REP = 3
NEGLECT_KEEP = (0.10, 0.20)  # share of the effort a neglected account keeps, per rep
PREFERENCE_SD = 0.1  # a value rep's preference for an account (log scale)
COVERAGE = 1.0  # a rep's account coverage: this many times their expected deal touches
PROPORTIONAL_COVERAGE = 2.0  # the proportional rep's, likewise
# non-bulk touches a deal takes in this generator, about, by segment (smb, mid, enterprise)
SEG_DEAL_TOUCHES = np.array([9.0, 13.0, 18.0])


@dataclass(frozen=True)
class Allocation:
    expected: np.ndarray  # per account: expected won revenue a year
    value0: np.ndarray  # per account: expected value a year (a quarter of potential + expected)
    large: np.ndarray  # per account: large and well-fitting
    policy: np.ndarray  # per rep: VALUE, MISALLOCATING or PROPORTIONAL
    keep: np.ndarray  # per account: share of its account-level touches kept (1 unless neglected)
    deal_keep: np.ndarray  # per account: share of its deals' practice-free touches kept
    neglected: np.ndarray  # account indices, by rep
    over_served: np.ndarray  # account indices, by rep
    preference: np.ndarray  # per account: multiplier of its value in its rep's plan
    coverage: np.ndarray  # per rep: account coverage over deal touches

    @property
    def misallocating(self) -> np.ndarray:
        return np.flatnonzero(self.policy == MISALLOCATING)

    @property
    def proportional(self) -> int | None:
        found = np.flatnonzero(self.policy == PROPORTIONAL)
        return int(found[0]) if len(found) else None


def expected_revenue(cfg: SynthConfig, teams: Teams, reps: Reps, acc: Accounts) -> np.ndarray:
    """Each account's expected won revenue a year under ordinary effort (module docstring)."""
    weight = np.sqrt(acc.potential)  # the opportunity weights of ``make_opportunities``
    book = np.bincount(acc.owner, weight, minlength=reps.n)
    deals = reps.volume[acc.owner] / (cfg.months / 12) * weight / book[acc.owner]
    team = reps.team[acc.owner]
    eta = (
        BASE_LOGIT
        + SEG_WIN[acc.segment]
        + TERRITORY_WIN * teams.log_potential[team]
        + ACCOUNT_WIN * acc.log_rel
    )
    return deals * DEAL_SHARE * acc.potential * sigmoid(eta)


def deal_work(reps: Reps, acc: Accounts) -> np.ndarray:
    """Per account: the touches its deals can be expected to take over the window (its rep's
    expected deal volume shared over the book by the opportunity weights, times a deal's usual
    touches in its segment). Not the touches they did take: won deals last longer, so that would
    give the reps who win more a bigger budget and tie the account-level touches during a deal
    to its outcome."""
    weight = np.sqrt(acc.potential)  # the opportunity weights of ``make_opportunities``
    book = np.bincount(acc.owner, weight, minlength=reps.n)
    return reps.volume[acc.owner] * weight / book[acc.owner] * SEG_DEAL_TOUCHES[acc.segment]


def allocate(
    rng: np.random.Generator,
    cfg: SynthConfig,
    cal: Calendar,
    teams: Teams,
    reps: Reps,
    acc: Accounts,
    o: Opps,
    unassigned: np.ndarray,
) -> Allocation:
    """Each rep's effort policy and the planted neglected and over-served accounts.
    ``unassigned``: accounts the accounts table shows without an owner (never planted)."""
    expected = expected_revenue(cfg, teams, reps, acc)
    value0 = POTENTIAL_WEIGHT * acc.potential + expected
    large = (value0 >= np.quantile(value0, 1 - LARGE_SHARE)) & ~unassigned
    n_large = np.bincount(acc.owner[large], minlength=reps.n)
    full_window = reps.hire_day <= epoch_day(cal.start)
    eligible = ~reps.is_manager & full_window & (n_large >= 2)
    order = rng.permutation(reps.n)
    keep_share = rng.uniform(*NEGLECT_KEEP, reps.n)
    preference = np.exp(rng.normal(0, PREFERENCE_SD, acc.n))

    ranked = order[eligible[order]]
    k = min(cfg.n_misallocating(reps.n), len(ranked))
    policy = np.full(reps.n, VALUE)
    policy[ranked[:k]] = MISALLOCATING
    if k:
        # the proportional rep: the next eligible rep, else one with fewer large accounts
        rest = order[(~reps.is_manager & full_window)[order] & (policy[order] == VALUE)]
        rest = rest[np.argsort(-np.minimum(n_large[rest], 2), kind="stable")]
        if len(rest):
            policy[rest[0]] = PROPORTIONAL
    keep = np.ones(acc.n)
    neglected, over_served = [], []
    for r in np.flatnonzero(policy == MISALLOCATING):
        book = np.arange(acc.rep_start[r], acc.rep_start[r] + acc.rep_count[r])
        big = book[large[book]]
        big = big[np.argsort(-value0[big], kind="stable")][:NEGLECTED_PER_REP]
        small = book[~large[book] & ~unassigned[book]]
        small = small[np.argsort(value0[small], kind="stable")][:OVER_SERVED_PER_REP]
        keep[big] = keep_share[r]
        neglected.append(np.sort(big))
        over_served.append(np.sort(small))
    prop = policy == PROPORTIONAL
    preference[prop[acc.owner]] = 1.0
    # the proportional rep's lean deals: value share over the share of the deal work its deals
    # take, at most 1
    work = np.bincount(o.account, minlength=acc.n) * SEG_DEAL_TOUCHES[acc.segment]
    value_share = value0 / np.bincount(acc.owner, value0, minlength=reps.n)[acc.owner]
    book_work = np.bincount(acc.owner, work, minlength=reps.n)[acc.owner]
    with np.errstate(divide="ignore", invalid="ignore"):
        lean = np.where(work > 0, PROPORTIONAL_COVERAGE * value_share * book_work / work, 1.0)
    deal_keep = np.where(prop[acc.owner], np.minimum(1.0, lean), keep)
    return Allocation(
        expected=expected,
        value0=value0,
        large=large,
        policy=policy,
        keep=keep,
        deal_keep=deal_keep,
        neglected=np.concatenate([[], *neglected]).astype(np.int64),
        over_served=np.concatenate([[], *over_served]).astype(np.int64),
        preference=preference,
        coverage=np.where(prop, PROPORTIONAL_COVERAGE, COVERAGE),
    )


@dataclass(frozen=True)
class Thinning:
    """Which of a batch of deal touches that carry no practice the rep makes: each is kept with
    its account's ``deal_keep`` share (one draw per touch on such an account only, so that the
    other accounts draw nothing)."""

    rng: np.random.Generator
    keep: np.ndarray  # per account

    def mask(self, account: np.ndarray) -> np.ndarray:
        share = self.keep[account]
        out = np.ones(len(account), bool)
        need = np.flatnonzero(share < 1.0)
        out[need] = self.rng.random(len(need)) < share[need]
        return out
