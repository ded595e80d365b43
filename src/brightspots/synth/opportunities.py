"""Opportunities: account, source, size, case-mix win odds, skill, team effect, planted
practices, outcome, cycle, quarter-end push and booked amount; the opportunities table."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from brightspots import schema
from brightspots.synth.accounts import Accounts
from brightspots.synth.calendar import Calendar
from brightspots.synth.draws import categorical
from brightspots.synth.experiment import Assignment, Planted
from brightspots.synth.model import (
    ACCOUNT_WIN,
    BASE_LOGIT,
    DEAL_SHARE,
    DEAL_SIZE_WIN,
    PRACTICE_BASE,
    PRACTICE_EFFECT,
    PRACTICE_SEGMENT,
    QUARTER_WIN,
    SEG_CYCLE,
    SEG_WIN,
    SOURCE_WIN,
    SOURCES,
    TENURE_SCALE,
    TENURE_WIN,
    TERRITORY_WIN,
    WON_DRIFT_MU,
    WON_DRIFT_SD,
    WON_UNCHANGED,
    sigmoid,
)
from brightspots.synth.people import Reps, Teams
from brightspots.synth.tables import NO_TIME, Keys, canonical_table, take_ids, take_strings
from brightspots.synth.vocabulary import PRODUCTS


@dataclass
class Opps:
    n: int
    rep: np.ndarray
    account: np.ndarray
    segment: np.ndarray
    source: np.ndarray
    b_created: np.ndarray
    b_close: np.ndarray  # natural close on the business axis (may lie after the window)
    created: np.ndarray  # epoch seconds
    closed: np.ndarray  # epoch seconds of the natural close
    is_closed: np.ndarray
    won: np.ndarray  # latent outcome (also for deals still open)
    practice: np.ndarray  # (n, 3) planted indicators
    eta0: np.ndarray  # case-mix log-odds without skill and practices
    p_win: np.ndarray
    initial_amount: np.ndarray
    amount: np.ndarray
    product: np.ndarray
    primary: np.ndarray  # contact index of the main contact (a non-executive)
    other: np.ndarray  # the other non-executive contact
    has_proposal: np.ndarray


def make_opportunities(
    rng: np.random.Generator,
    cal: Calendar,
    teams: Teams,
    reps: Reps,
    acc: Accounts,
    plant: Assignment | None = None,
) -> tuple[Opps, Planted | None]:
    """The base deals, and what a planted experiment (``plant``, None: off) did to them: it
    acts between the practice draws and the win odds, and every draw keeps its size, so the
    deals it does not treat are the same with it or without."""
    counts = rng.poisson(reps.volume)
    rep = np.repeat(np.arange(reps.n), counts)
    n = len(rep)
    # account: weighted by potential within the rep's book
    lo = np.where(acc.rep_start[rep] > 0, acc.weight_cum[acc.rep_start[rep] - 1], 0.0)
    hi = acc.weight_cum[acc.rep_start[rep] + acc.rep_count[rep] - 1]
    account = np.searchsorted(acc.weight_cum, lo + rng.random(n) * (hi - lo), side="right")
    account = np.clip(account, acc.rep_start[rep], acc.rep_start[rep] + acc.rep_count[rep] - 1)
    segment = acc.segment[account]
    team = reps.team[rep]
    log_t = teams.log_potential[team]

    ramp = cal.b_of_day(reps.hire_day) + 22
    b_lo = np.maximum(cal.b_start, ramp)[rep]
    b_created = b_lo + rng.random(n) * (cal.b_end - b_lo)
    order = np.lexsort((b_created, rep))
    b_created = b_created[order]  # each rep's deals in time order

    new_src = np.stack(
        [
            0.25 * np.exp(0.4 * log_t),
            np.full(n, 0.45),
            np.full(n, 0.12),
            np.full(n, 0.08),
            np.zeros(n),
        ],
        axis=1,
    )
    cust_src = new_src * 0.5
    cust_src[:, 4] = 0.45 * new_src.sum(axis=1)
    source = categorical(rng, np.where(acc.customer[account][:, None], cust_src, new_src))

    usual = DEAL_SHARE * acc.potential[account] * np.where(source == 4, 0.5, 1.0)
    size_noise = rng.normal(0, 0.55, n)
    initial = np.maximum(500.0, np.round(usual * np.exp(size_noise) / 100) * 100)

    tenure = (cal.days[np.floor(b_created).astype(np.int64)] - reps.hire_day[rep]) / 365.25
    month = cal.month_of(b_created)
    quarter = (month % 12) // 3
    eta0 = (
        BASE_LOGIT
        + SEG_WIN[segment]
        + TERRITORY_WIN * log_t
        + ACCOUNT_WIN * acc.log_rel[account]
        + DEAL_SIZE_WIN * np.log(initial / usual)
        + SOURCE_WIN[source]
        + QUARTER_WIN[quarter]
        + TENURE_WIN * np.exp(-np.maximum(tenure, 0) / TENURE_SCALE)
    )
    q = sigmoid(PRACTICE_BASE + PRACTICE_SEGMENT.T[segment] + reps.offset[rep])
    practice = rng.random((n, 3)) < q
    eta = eta0 + reps.skill[rep] + reps.coaching[rep] + practice @ PRACTICE_EFFECT
    eta_orig = eta
    treated = flipped = None
    if plant is not None:
        practice, eta, treated, flipped = plant.apply(cal, team, b_created, practice, eta)
    p_win = sigmoid(eta)
    won = rng.random(n) < p_win

    cycle = SEG_CYCLE[segment] * np.where(won, 1.45, 0.85) * np.where(source == 4, 0.7, 1.0)
    spread = np.exp(rng.normal(0, 0.45, n))
    cycle = cycle * spread
    quick = ~won & (rng.random(n) < 0.15)  # disqualified early
    cycle = np.clip(np.where(quick, cycle * 0.3, cycle), 1.5, 400.0)
    b_close = b_created + cycle
    # quarter-end push: won deals about to close are booked on the last days of the quarter
    idx = np.floor(b_close).astype(np.int64)
    qend = cal.qend[np.clip(idx, 0, len(cal.qend) - 1)]
    pushed = rng.random(n) < 0.45
    push = won & (qend - idx <= 10) & pushed
    booked = rng.uniform(0.3, 0.95, n)
    b_close = np.where(push, np.maximum(b_close, qend + booked), b_close)

    tz = teams.tz[team]
    created = cal.seconds(b_created, tz)
    closed = cal.seconds(b_close, tz)
    planted = None
    if plant is not None and treated is not None and flipped is not None:
        # the close each deal would have had if won: the same draws on the won branch
        cycle_won = SEG_CYCLE[segment] * 1.45 * np.where(source == 4, 0.7, 1.0) * spread
        b_won = b_created + np.clip(cycle_won, 1.5, 400.0)
        i_won = np.floor(b_won).astype(np.int64)
        q_won = cal.qend[np.clip(i_won, 0, len(cal.qend) - 1)]
        b_won = np.where((q_won - i_won <= 10) & pushed, np.maximum(b_won, q_won + booked), b_won)
        planted = Planted(
            treated=treated,
            flipped=flipped,
            exp_p0=np.where(treated, sigmoid(eta_orig), np.nan),
            close_if_won=cal.seconds(b_won, tz),
        )
    del spread, pushed, booked  # temporaries, as before the plant (big orgs)
    is_closed = closed < cal.cut

    # booked amount of a won deal: some never updated, the others moved by a lognormal factor
    # (discounts, added seats, descoping) plus the rep's uplift; lost deals mostly unchanged;
    # open deals show the current value, most of them not updated yet
    moved = np.exp(rng.normal(WON_DRIFT_MU, WON_DRIFT_SD, n) + reps.uplift[rep])
    won_drift = np.where(rng.random(n) < WON_UNCHANGED, 1.0, moved)
    lost_drift = np.where(rng.random(n) < 0.6, 1.0, np.exp(rng.normal(-0.05, 0.15, n)))
    drift = np.where(won, won_drift, lost_drift)
    drift = np.where(is_closed, drift, np.where(rng.random(n) < 0.7, 1.0, drift))
    amount = np.maximum(500.0, np.round(initial * drift / 100) * 100)
    product = np.where(
        source == 4,
        rng.choice([1, 3, 4], n),
        np.where(segment == 2, rng.choice([1, 2, 2], n), rng.choice([0, 0, 1], n)),
    )
    pos = np.where(rng.random(n) < 0.5, 1, 2)
    c0 = acc.c_start[account]
    has_proposal = np.where(won, rng.random(n) < 0.97, rng.random(n) < 0.5)
    opps = Opps(
        n=n,
        rep=rep,
        account=account,
        segment=segment,
        source=source,
        b_created=b_created,
        b_close=b_close,
        created=created,
        closed=closed,
        is_closed=is_closed,
        won=won,
        practice=practice,
        eta0=eta0,
        p_win=p_win,
        initial_amount=initial,
        amount=amount,
        product=product,
        primary=c0 + pos,
        other=c0 + 3 - pos,
        has_proposal=has_proposal,
    )
    return opps, planted


def opportunity_table(rng, o: Opps, keys: Keys) -> pa.Table:
    source = np.where(rng.random(o.n) < 0.02, -1, o.source)  # a few without a source
    return canonical_table(
        "opportunities",
        {
            "opportunity_id": keys.opportunity,
            "account_id": take_ids(keys.account, o.account),
            "owner_rep_id": take_ids(keys.rep, o.rep),
            "created_at": o.created,
            "closed_at": np.where(o.is_closed, o.closed, NO_TIME),
            "stage": take_strings(schema.STAGES, np.where(o.is_closed, np.where(o.won, 1, 2), 0)),
            "amount": o.amount,
            "initial_amount": o.initial_amount,
            "source": take_ids(pa.array(SOURCES), source),
            "product": take_strings(PRODUCTS, o.product),
        },
    )


def won_within(o: Opps, days: int) -> np.ndarray:
    """Deals won with a close at most ``days`` days after creation, by the window's end (the
    cohort outcome of an experiment's win rate)."""
    return o.is_closed & o.won & (o.closed - o.created <= days * 86400)


def concat(first: Opps, *more: Opps) -> Opps:
    """The deals of ``first`` followed by those of ``more`` (indices of the later ones start
    after the earlier ones')."""
    parts = (first, *more)
    fields = {
        f: np.concatenate([getattr(p, f) for p in parts])
        for f in first.__dataclass_fields__
        if f != "n"
    }
    return Opps(n=sum(p.n for p in parts), **fields)


def head(o: Opps, n: int) -> Opps:
    """The first ``n`` deals of ``o`` as views of its arrays (no copy)."""
    fields = {f: getattr(o, f)[:n] for f in o.__dataclass_fields__ if f != "n"}
    return Opps(n=n, **fields)
