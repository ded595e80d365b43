"""The planted effect of customer care on repeat business, defined on the observed care score.

Each account's *index survey* is its earliest customer submission at least a year before the
cut; a submission after which a base deal on the account was won within ``BLOCK_DAYS`` (created
after it) is dropped from the data, and the account's next one is tried, so the kept index has no
base repeat win. ``S_a`` is the mean of the index submission's care answers rescaled to 0-1 (the
reverse-coded item reversed): the analysis's formula on the same integers. The outcome
``Y_a ~ Bernoulli(logit^-1(alpha + segment + 0.25 * (log potential - median) + beta * S_a))`` is
drawn after that selection, so P(Y | S, segment, potential) is exactly the planted logit, and
nothing else (rep skill, bright spots, the care trait) moves it. ``Y_a = 1`` gives one won
follow-on deal (source expansion, the surveyed rep, created 5-200 days after the survey, closed
within 330 days); ``Y_a = 0`` a lost one with probability ``LOST_SHARE``. No other deal can count
as repeat business, so the analysis's model (``care/results.py``) is the true model.

Everything here draws from the care stream, so the base tables keep their draws."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from brightspots.synth.accounts import Accounts
from brightspots.synth.calendar import Calendar
from brightspots.synth.config import SynthConfig
from brightspots.synth.model import (
    DEAL_SHARE,
    PRACTICE_BASE,
    PRACTICE_EFFECT,
    PRACTICE_SEGMENT,
    SEG_CYCLE,
    SEGMENTS,
    WON_DRIFT_MU,
    WON_DRIFT_SD,
    WON_UNCHANGED,
    sigmoid,
)
from brightspots.synth.opportunities import Opps
from brightspots.synth.people import Reps, Teams
from brightspots.synth.surveys import CARE, CARE_SHIFT, REVERSE_ITEM, Submissions
from brightspots.synth.tables import Keys

DAY = 86400
OUTCOME_DAYS = 365  # the outcome window: a repeat win within this many days of the survey
BLOCK_DAYS = 400  # a base win this soon after a candidate index survey drops that survey
FOLLOW_CREATED_DAYS = (5, 200)  # a follow-on deal is created this many days after the survey
FOLLOW_CLOSED_DAYS = 330  # ... and closed within this many days of it
LOST_SHARE = 0.4  # a non-repeating account gets a lost follow-on deal with this probability
SEGMENT_REPEAT = np.array([-0.2, 0.0, 0.3])  # log-odds of repeat business by segment
POTENTIAL_REPEAT = 0.25  # per log unit of annual potential (centred on the median account)
REPEAT_RATE = 0.3  # about this share of planted accounts buy again
TYPICAL_SCORE = 0.56  # a typical observed care score (alpha centres the odds on it)
EXPANSION = 4  # index of the expansion source (``model.SOURCES``)
DEFINITION = (
    "Index survey = the account's earliest customer submission that has care items and "
    "satisfies t_a <= as_of - outcome_window. S_a = mean x over that submission's care answers "
    "(x = (score - scale_min) / (scale_max - scale_min), 1 - x for a reverse-coded item). rep = "
    "its subject. Y_a = 1 if some opportunity on the account has created_at > t_a, stage won and "
    "closed_at <= t_a + outcome_window. logit P(Y_a = 1) = alpha + segment[segment] + potential "
    "* (log annual_potential - potential_median_log) + log_odds_per_unit * S_a."
)


@dataclass(frozen=True)
class Repeat:
    """The planted repeat business: the follow-on deals (``Opps``, to append after the base
    deals), one row per planted account (``index``: account, rep, submission, submitted_at,
    score, repeat, follow = the row of its follow-on deal or -1) and the truth block."""

    follow: Opps
    index: pd.DataFrame
    truth: dict[str, Any]


def blocked(cal: Calendar, o: Opps, subs: Submissions) -> np.ndarray:
    """Per submission: a base deal on its account was created after it, won, and closed within
    ``BLOCK_DAYS`` of it."""
    won = np.flatnonzero(o.won & o.is_closed)
    if not len(won) or not subs.n:
        return np.zeros(subs.n, bool)
    t0 = int(min(o.created.min(), subs.time.min())) - 1
    shift = np.int64(1) << np.int64(33)  # above any time offset in the window
    acc = o.account[won].astype(np.int64)
    key = acc * shift + (o.created[won] - t0)
    order = np.argsort(key, kind="stable")
    key, acc, closed = key[order], acc[order], o.closed[won][order]
    # the earliest close among the account's deals created at or after each one (suffix minimum
    # within an account: accounts descend when reversed, so offsetting by the account resets it)
    rev = (closed - t0 + acc * shift)[::-1]
    suffix = np.minimum.accumulate(rev)[::-1] - acc * shift + t0
    pos = np.searchsorted(key, subs.account.astype(np.int64) * shift + (subs.time - t0), "right")
    inside = pos < len(key)
    pos = np.minimum(pos, len(key) - 1)
    same = inside & (acc[pos] == subs.account)
    return same & (suffix[pos] <= subs.time + BLOCK_DAYS * DAY)


def index_survey(cal: Calendar, o: Opps, subs: Submissions) -> tuple[np.ndarray, np.ndarray]:
    """(kept, index): which submissions stay in the data (a candidate index survey followed by
    a base repeat win is dropped, up to the account's first one without) and, among the kept
    ones, the position of each account's index survey (its first with t <= cut - 365 days)."""
    candidate = subs.time <= cal.cut - OUTCOME_DAYS * DAY
    bad = candidate & blocked(cal, o, subs)
    ok = np.flatnonzero(candidate & ~bad)  # subs are in time order: the first per account wins
    first_ok = np.full(int(subs.account.max()) + 1 if subs.n else 0, np.iinfo(np.int64).max)
    accounts, first = np.unique(subs.account[ok], return_index=True)
    first_ok[accounts] = subs.time[ok[first]]
    kept = ~(bad & (subs.time < first_ok[subs.account]))
    return kept, _first_candidates(cal, subs.take(np.flatnonzero(kept)))


def _first_candidates(cal: Calendar, subs: Submissions) -> np.ndarray:
    candidate = np.flatnonzero(subs.time <= cal.cut - OUTCOME_DAYS * DAY)
    _, first = np.unique(subs.account[candidate], return_index=True)
    return np.sort(candidate[first])


def observed_scores(sv: dict[str, np.ndarray], n_subs: int) -> np.ndarray:
    """Per submission, the mean of its care answers rescaled to 0-1 (reverse item reversed);
    NaN for a submission without care answers. ``sv``: the survey rows (``make_surveys``)."""
    rows = (sv["submission"] >= 0) & (sv["dimension"] == CARE)
    x = (sv["score"][rows] - sv["smin"][rows]) / (sv["smax"][rows] - sv["smin"][rows])
    x = np.where(sv["question"][rows] == REVERSE_ITEM, 1.0 - x, x)
    sub = sv["submission"][rows]
    total = np.bincount(sub, x, minlength=n_subs)
    count = np.bincount(sub, minlength=n_subs)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count


def alpha_for(beta: float) -> float:
    """The intercept that centres the repeat odds on ``REPEAT_RATE`` at a typical score."""
    return float(np.log(REPEAT_RATE / (1 - REPEAT_RATE)) - beta * TYPICAL_SCORE)


def plant_repeat(
    rng: np.random.Generator,
    cfg: SynthConfig,
    cal: Calendar,
    teams: Teams,
    reps: Reps,
    acc: Accounts,
    subs: Submissions,
    index: np.ndarray,
    scores: np.ndarray,
) -> Repeat:
    """Draw each planted account's repeat business from its observed care score and make the
    follow-on deals. ``subs``: the kept submissions, ``index``: the index survey of each planted
    account (positions in ``subs``), ``scores``: each submission's observed care score."""
    r_y, r_deals = rng.spawn(2)
    beta = cfg.repeat_effect()
    alpha = alpha_for(beta)
    median_log = float(np.median(np.log(acc.potential)))
    account, s = subs.account[index], scores[index]
    eta = (
        alpha
        + SEGMENT_REPEAT[acc.segment[account]]
        + POTENTIAL_REPEAT * (np.log(acc.potential[account]) - median_log)
        + beta * s
    )
    p = sigmoid(eta)
    y = r_y.random(len(index)) < p
    lost = ~y & (r_y.random(len(index)) < LOST_SHARE)
    deal = np.flatnonzero(y | lost)
    follow = _follow_deals(r_deals, cal, teams, reps, acc, subs, index[deal], y[deal], p[deal])
    row = np.full(len(index), -1)
    row[deal[follow.order]] = np.arange(len(deal))
    frame = pd.DataFrame(
        {
            "account": account,
            "rep": subs.rep[index],
            "submission": index,
            "submitted_at": subs.time[index],
            "score": s,
            "p": p,
            "repeat": y,
            "follow": row,
        }
    )
    truth = {
        "log_odds_per_unit": beta,
        "alpha": round(alpha, 6),
        "segment": dict(zip(SEGMENTS, SEGMENT_REPEAT.tolist(), strict=True)),
        "potential": POTENTIAL_REPEAT,
        "potential_median_log": round(median_log, 6),
        "outcome_window_days": OUTCOME_DAYS,
        "planted_accounts": len(index),
        "repeat_rate": round(float(y.mean()), 4) if len(y) else None,
        "lost_follow_on_share": LOST_SHARE,
        "follow_on_deals": int(follow.opps.n),
        "definition": DEFINITION,
    }
    return Repeat(follow=follow.opps, index=frame, truth=truth)


@dataclass(frozen=True)
class _Follow:
    opps: Opps
    order: np.ndarray  # positions of the input deals in the order of ``opps``


def _follow_deals(
    rng: np.random.Generator,
    cal: Calendar,
    teams: Teams,
    reps: Reps,
    acc: Accounts,
    subs: Submissions,
    index: np.ndarray,
    won: np.ndarray,
    p: np.ndarray,
) -> _Follow:
    """The follow-on deals of the planted accounts at ``index`` (won where ``won``), each rep's
    in time order. Their true win probability is P(won | the deal exists), and their ``eta0``
    is set so that logit(p_win) = eta0 + skill + team effect + practice effects, as for a base
    deal."""
    n = len(index)
    rep, account, t = subs.rep[index], subs.account[index], subs.time[index]
    segment = acc.segment[account]
    tz = teams.tz[reps.team[rep]]
    t_day = t // DAY
    lo, hi = FOLLOW_CREATED_DAYS
    created_day = t_day + rng.integers(lo, hi + 1, n)
    b_created = cal.b_of_day(created_day) + rng.random(n) * 0.999
    b_limit = cal.b_of_day(t_day + FOLLOW_CLOSED_DAYS) - 1.0  # a business day before the limit
    cycle = SEG_CYCLE[segment] * np.where(won, 1.45, 0.85) * 0.7 * np.exp(rng.normal(0, 0.45, n))
    b_close = b_created + np.clip(cycle, 1.5, np.maximum(b_limit - b_created, 1.5))
    created, closed = cal.seconds(b_created, tz), cal.seconds(b_close, tz)

    usual = DEAL_SHARE * acc.potential[account] * 0.5
    initial = np.maximum(500.0, np.round(usual * np.exp(rng.normal(0, 0.55, n)) / 100) * 100)
    moved = np.exp(rng.normal(WON_DRIFT_MU, WON_DRIFT_SD, n) + reps.uplift[rep])
    won_drift = np.where(rng.random(n) < WON_UNCHANGED, 1.0, moved)
    lost_drift = np.where(rng.random(n) < 0.6, 1.0, np.exp(rng.normal(-0.05, 0.15, n)))
    amount = np.maximum(500.0, np.round(initial * np.where(won, won_drift, lost_drift) / 100) * 100)
    q = sigmoid(PRACTICE_BASE + PRACTICE_SEGMENT.T[segment] + reps.offset[rep])
    practice = rng.random((n, 3)) < q
    # the chance a follow-on deal, once opened, is won: Y = 1 opens a won deal, Y = 0 a lost one
    # with probability LOST_SHARE
    p_win = p / (p + LOST_SHARE * (1 - p))
    eta0 = (
        np.log(p_win / (1 - p_win))
        - reps.skill[rep]
        - reps.coaching[rep]
        - practice @ PRACTICE_EFFECT
    )
    product = rng.choice([1, 3, 4], n)
    pos = np.where(rng.random(n) < 0.5, 1, 2)
    has_proposal = np.where(won, rng.random(n) < 0.97, rng.random(n) < 0.5)
    c0 = acc.c_start[account]
    order = np.lexsort((b_created, rep))

    def o(x: np.ndarray) -> np.ndarray:
        return x[order]

    opps = Opps(
        n=n,
        rep=o(rep),
        account=o(account),
        segment=o(segment),
        source=np.full(n, EXPANSION),
        b_created=o(b_created),
        b_close=o(b_close),
        created=o(created),
        closed=o(closed),
        is_closed=o(closed < cal.cut),
        won=o(won),
        practice=o(practice),
        eta0=o(eta0),
        p_win=o(p_win),
        initial_amount=o(initial),
        amount=o(amount),
        product=o(product),
        primary=o(c0 + pos),
        other=o(c0 + 3 - pos),
        has_proposal=o(has_proposal),
    )
    return _Follow(opps=opps, order=order)


def care_truth(
    cfg: SynthConfig,
    high: np.ndarray,
    leader: np.ndarray,
    items: list[dict],
    repeat: Repeat,
    keys: Keys,
) -> dict[str, Any]:
    """The ``care`` block of truth.json (each rep's ``care_mean`` and ``high_care`` go into
    ``reps``). ``accounts`` lists the planted accounts column by column: the account, the
    surveyed rep, the index survey's time (UTC), the observed care score S_a and the outcome."""
    ix = repeat.index

    def ids(column: pa.Array, idx: pd.Series | np.ndarray) -> list[str]:
        return column.take(pa.array(np.asarray(idx, np.int64))).to_pylist()

    when = pd.to_datetime(ix["submitted_at"].to_numpy(), unit="s")
    return {
        "high_care_reps": ids(keys.rep, np.flatnonzero(high)),
        "high_care_leaders": ids(keys.rep, np.flatnonzero(leader)),
        "reverse_items": [q["question_id"] for q in items if q["reverse"]],
        "items": items,
        "rep_shift": 0.0 if cfg.null else CARE_SHIFT,
        "repeat_effect": repeat.truth,
        "accounts": {
            "account_id": ids(keys.account, ix["account"]),
            "rep_id": ids(keys.rep, ix["rep"]),
            "submitted_at": list(when.strftime("%Y-%m-%dT%H:%M:%S")),
            "score": [float(x) for x in ix["score"]],
            "repeat": [bool(x) for x in ix["repeat"]],
        },
    }
