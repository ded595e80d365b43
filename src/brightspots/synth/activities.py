"""Activities and buyer events of each opportunity, with the exact traces of the true
practices (intro touches, reply and response times, meetings before the proposal) and the
decoys (demos, cadence); the activities and buyer_events tables.

By default (the account-effort model off) each deal also brings account-level touches (no
opportunity, Poisson 0.35 a deal, from 40 business days before it to 20 after its close: about 3%
of the touches). With the model on (``SynthConfig.misallocation`` above 0) those come from
``effort`` instead, and the touches on a deal that carry no practice (cadence calls and e-mails,
demos, meetings after the proposal, touches after a win, with the buyer events that answer them)
can be thinned per account (``allocation.Thinning``): a neglected account keeps only a share of
them, and the proportional rep keeps small accounts' deals lean. Within a chunk of deals the
random draws of the deal rows are the same either way (the touches a rep does not make are
dropped as the rows are added); with the model on, the chunk skips the draws of the account-level
block, so from the second chunk (``org.CHUNK_OPPS`` deals) on, the deal rows differ from the
model-off org's."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from brightspots import schema
from brightspots.synth.accounts import Accounts
from brightspots.synth.allocation import Thinning
from brightspots.synth.calendar import Calendar
from brightspots.synth.draws import segmented_pick, uniform_index
from brightspots.synth.model import (
    CADENCE_PER_DAY,
    DEMO_ELASTICITY,
    DEMO_RATE,
    DEMO_SPAN,
    MEETING_WITHIN,
)
from brightspots.synth.opportunities import Opps
from brightspots.synth.people import Reps, Teams
from brightspots.synth.rows import Rows, in_time_order
from brightspots.synth.sink import Slices
from brightspots.synth.tables import Keys, canonical_table, serial_ids, take_ids, take_strings

ACT_TYPES = schema.ACTIVITY_TYPES  # call, email, meeting, demo, proposal, other
CALL, EMAIL, MEETING, DEMO, PROPOSAL, OTHER = range(6)
EV_TYPES = schema.BUYER_EVENT_TYPES
REPLY, ACCEPTED, HELD, CONTENT, PROP_VIEWED, INBOUND = range(6)


def _durations(rng: np.random.Generator, kind: np.ndarray) -> np.ndarray:
    n = len(kind)
    call = np.where(
        rng.random(n) < 0.2,
        rng.uniform(0.2, 1.5, n),
        np.clip(np.exp(rng.normal(np.log(9), 0.7, n)), 1, 120),
    )
    call = np.where(rng.random(n) < 0.1, np.nan, np.round(call, 1))
    meeting = rng.choice([30.0, 45.0, 60.0, 90.0], n, p=[0.4, 0.25, 0.3, 0.05])
    demo = rng.choice([45.0, 60.0, 90.0], n)
    return np.select([kind == CALL, kind == MEETING, kind == DEMO], [call, meeting, demo], np.nan)


def activity_chunk(
    rng: np.random.Generator,
    cal: Calendar,
    teams: Teams,
    reps: Reps,
    acc: Accounts,
    o: Opps,
    sl: slice,
    acts: Rows,
    evs: Rows,
    thin: Thinning | None = None,
) -> None:
    """All activities and buyer events of the opportunities in ``sl`` (vectorised); ``thin``:
    which of the deal touches that carry no practice are made, with the account-effort model on
    (without it: all of them, and the deals' own account-level touches)."""
    ids = np.arange(sl.start, sl.stop)
    n = len(ids)
    rep = o.rep[sl]
    account = o.account[sl]
    tz_o = teams.tz[reps.team[rep]]
    bc, bx = o.b_created[sl], o.b_close[sl]
    dur = bx - bc
    mt, fr, mbp = o.practice[sl].T
    won = o.won[sl]
    primary, other = o.primary[sl], o.other[sl]
    c0, cn = acc.c_start[account], acc.c_count[account]
    mt_end = bc + 10.5  # 10 business days = 14 calendar days, plus half a day of margin

    def made(local: np.ndarray) -> np.ndarray:
        """Which of these touches (rows of local deals) the rep makes."""
        return np.ones(len(local), bool) if thin is None else thin.mask(account[local])

    def contact_for(local: np.ndarray, b: np.ndarray, p_primary: float) -> np.ndarray:
        """A contact for a non-intro activity: before day 14 of a single-threaded deal only the
        main contact; else mostly the main contact, sometimes anyone at the account."""
        anyone = uniform_index(rng, c0[local], cn[local])
        pick = np.where(rng.random(len(local)) < p_primary, primary[local], anyone)
        early_single = ~mt[local] & (b < mt_end[local])
        return np.where(early_single, primary[local], pick)

    # --- intro touches: who the rep reaches in the first days (multi-threading)
    # as many intro touches either way: multi-threading is whom they reach, not how often (so
    # early touch counts, a decoy, carry nothing of it)
    n_intro = 3 + rng.poisson(0.8, n)
    li = np.repeat(np.arange(n), n_intro)
    k = np.arange(len(li)) - np.repeat(np.cumsum(n_intro) - n_intro, n_intro)
    random_any = uniform_index(rng, c0[li], cn[li])
    threaded = np.where(k < 3, c0[li] + np.minimum(k, 2), random_any)  # exec, manager, staff
    single = np.where(rng.random(len(li)) < 0.75, primary[li], other[li])
    intro_contact = np.where(mt[li], threaded, single)
    window = np.minimum(8.0, 0.6 * dur[li])
    intro_b = bc[li] + rng.random(len(li)) * window
    intro_kind = np.where(rng.random(len(li)) < 0.55, EMAIL, CALL)

    # --- cadence: calls and e-mails at a steady rate over the open deal (decoy: count ~ length)
    n_cad = rng.poisson(CADENCE_PER_DAY * reps.cadence[rep] * dur)
    lc = np.repeat(np.arange(n), n_cad)
    cad_b = bc[lc] + 0.3 + rng.random(len(lc)) * np.maximum(dur[lc] - 0.3, 0.01)
    cad_contact = contact_for(lc, cad_b, 0.7)
    late_null = (rng.random(len(lc)) < 0.08) & ~(~mt[lc] & (cad_b < mt_end[lc]))
    cad_contact = np.where(late_null, -1, cad_contact)
    u = rng.random(len(lc))
    cad_kind = np.where(u < 0.52, EMAIL, np.where(u < 0.97, CALL, OTHER))

    touch_l = np.concatenate([li, lc])
    touch_b = np.concatenate([intro_b, cad_b])
    touch_c = np.concatenate([intro_contact, cad_contact])
    touch_k = np.concatenate([intro_kind, cad_kind])
    touch_t = cal.seconds(touch_b, tz_o[touch_l])
    touch_made = np.concatenate([np.ones(len(li), bool), made(lc)])  # intro touches all made
    tm = touch_made
    acts.add(
        touch_t[tm],
        ids[touch_l[tm]],
        touch_c[tm],
        touch_k[tm],
        account[touch_l[tm]],
        rep[touch_l[tm]],
        _durations(rng, touch_k)[tm],
    )

    # --- buyer replies to touches, and the rep's response time (fast response)
    order = np.argsort(touch_l, kind="stable")
    n_reply = rng.poisson(0.5 + 0.9 * won + 0.012 * dur)
    picked = order[segmented_pick(rng, touch_l[order], n, n_reply)]
    rl = touch_l[picked]
    r_time = touch_t[picked] + (np.exp(rng.normal(np.log(4.0), 1.1, len(rl))) * 3600).astype(
        np.int64
    )
    r_contact = touch_c[picked]
    r_made = touch_made[picked]  # a reply to a touch that was not made is not written
    close_t = o.closed[sl]
    keep = r_time < np.minimum(close_t[rl], cal.cut)
    rl, r_time, r_contact, r_made = rl[keep], r_time[keep], r_contact[keep], r_made[keep]
    rm = r_made
    evs.add(r_time[rm], ids[rl[rm]], r_contact[rm], REPLY, account[rl[rm]], rep[rl[rm]])
    fast = rng.random(len(rl)) < np.where(fr[rl], 0.9, 0.12)
    fast_h = np.clip(np.exp(rng.normal(np.log(0.8), 0.7, len(rl))), 0.05, 3.8)
    slow_h = 4.2 + np.exp(rng.normal(np.log(14.0), 0.7, len(rl)))
    resp_t = r_time + (np.where(fast, fast_h, slow_h) * 3600).astype(np.int64)
    keep = (rng.random(len(rl)) < 0.94) & (resp_t < np.minimum(close_t[rl], cal.cut))
    resp_kind = np.where(rng.random(len(rl)) < 0.7, EMAIL, CALL)[keep]
    answered = r_made[keep]
    acts.add(
        resp_t[keep][answered],
        ids[rl[keep]][answered],
        r_contact[keep][answered],
        resp_kind[answered],
        account[rl[keep]][answered],
        rep[rl[keep]][answered],
        _durations(rng, resp_kind)[answered],
    )

    # --- proposal, meetings (meeting before proposal) and demos (decoy: territory)
    prop = o.has_proposal[sl]
    prop_b = bc + dur * rng.uniform(0.55, 0.85, n)
    lp = np.flatnonzero(prop)
    prop_contact = np.where(rng.random(len(lp)) < 0.3, c0[lp], primary[lp])
    prop_contact = np.where(~mt[lp] & (prop_b[lp] < mt_end[lp]), primary[lp], prop_contact)
    prop_t = cal.seconds(prop_b[lp], tz_o[lp])
    acts.add(prop_t, ids[lp], prop_contact, PROPOSAL, account[lp], rep[lp])
    second = lp[won[lp] & (rng.random(len(lp)) < 0.2)]
    b2 = prop_b[second] + (bx[second] - prop_b[second]) * rng.uniform(0.2, 0.8, len(second))
    acts.add(
        cal.seconds(b2, tz_o[second]),
        ids[second],
        primary[second],
        PROPOSAL,
        account[second],
        rep[second],
    )
    n_view = np.where(
        rng.random(len(lp)) < np.where(won[lp], 0.92, 0.6),
        1 + rng.poisson(np.where(won[lp], 0.7, 0.2)),
        0,
    )
    lv = np.repeat(np.arange(len(lp)), n_view)
    view_t = prop_t[lv] + (np.exp(rng.normal(np.log(10.0), 1.0, len(lv))) * 3600).astype(np.int64)
    evs.add(view_t, ids[lp[lv]], prop_contact[lv], PROP_VIEWED, account[lp[lv]], rep[lp[lv]])

    meet_end = np.where(prop, prop_b, bc + 0.7 * dur)
    has_meet = mbp.astype(bool)
    lm = np.flatnonzero(has_meet)
    # a meeting some business days after creation, whatever the deal's eventual length: a time
    # that scaled with the length would leak the outcome into early-deal measures (won deals
    # last longer); only a proposal that comes sooner moves it earlier
    meet_b = bc[lm] + 0.2 + rng.uniform(1.0, MEETING_WITHIN, len(lm))
    meet_b = np.minimum(meet_b, meet_end[lm] - 0.05)
    after = np.flatnonzero(~has_meet & prop & (rng.random(n) < 0.4))
    after_b = prop_b[after] + (bx[after] - prop_b[after]) * rng.uniform(0.1, 0.9, len(after))
    post = np.repeat(np.arange(n), np.where(won, rng.poisson(0.8, n), 0))
    post_b = bx[post] + rng.uniform(0.5, 15.0, len(post))
    ml = np.concatenate([lm, after, post])
    mb = np.concatenate([meet_b, after_b, post_b])
    m_contact = contact_for(ml, mb, 0.5)
    m_kind = np.where(
        np.arange(len(ml)) < len(lm) + len(after),
        np.where(rng.random(len(ml)) < 0.8, MEETING, DEMO),
        np.where(rng.random(len(ml)) < 0.5, MEETING, CALL),
    )
    m_time = cal.seconds(mb, tz_o[ml])
    # the meeting (or demo) before the proposal is a practice's trace: always made
    m_made = np.concatenate([np.ones(len(lm), bool), made(ml[len(lm) :])])
    mm = m_made
    m_dur = _durations(rng, m_kind)
    acts.add(m_time[mm], ids[ml[mm]], m_contact[mm], m_kind[mm], account[ml[mm]], rep[ml[mm]],
             m_dur[mm])  # fmt: skip
    lmm = m_kind == MEETING
    acc_t = m_time[lmm] - (rng.uniform(1, 120, lmm.sum()) * 3600).astype(np.int64)
    acc_t = np.maximum(acc_t, o.created[sl][ml[lmm]] + 60)
    am = m_made[lmm]
    evs.add(acc_t[am], ids[ml[lmm][am]], m_contact[lmm][am], ACCEPTED, account[ml[lmm][am]],
            rep[ml[lmm][am]])  # fmt: skip
    held = lmm & (rng.random(len(ml)) < 0.88) & m_made
    evs.add(m_time[held], ids[ml[held]], m_contact[held], HELD, account[ml[held]], rep[ml[held]])

    demo_rate = DEMO_RATE * np.exp(DEMO_ELASTICITY * teams.log_potential[reps.team[rep]])
    # demos come at a steady rate per open business day (from the proposal on, for deals without
    # the meeting-first practice), so how many fall in any stretch of the deal does not depend on
    # when it will close
    start = np.where(prop & ~mbp, prop_b, bc + 0.3)
    span = np.maximum(bx - start, 0.0)
    ld = np.repeat(np.arange(n), rng.poisson(demo_rate / DEMO_SPAN * span))
    demo_b = start[ld] + span[ld] * rng.random(len(ld))
    demo_contact = contact_for(ld, demo_b, 0.5)
    demo_t = cal.seconds(demo_b, tz_o[ld])
    demo_made = made(ld)
    dm = demo_made
    acts.add(
        demo_t[dm],
        ids[ld[dm]],
        demo_contact[dm],
        DEMO,
        account[ld[dm]],
        rep[ld[dm]],
        _durations(rng, np.full(len(ld), DEMO))[dm],
    )

    # --- content viewed after some e-mails and demos
    is_mail = touch_k == EMAIL
    cv = np.flatnonzero(is_mail & (rng.random(len(touch_l)) < 0.12))
    dv = np.flatnonzero(rng.random(len(ld)) < 0.5)
    cv_l = np.concatenate([touch_l[cv], ld[dv]])
    cv_t = np.concatenate([touch_t[cv], demo_t[dv]]) + (
        np.exp(rng.normal(np.log(20.0), 1.0, len(cv) + len(dv))) * 3600
    ).astype(np.int64)
    cv_c = np.concatenate([touch_c[cv], demo_contact[dv]])
    cv_c = np.where(rng.random(len(cv_c)) < 0.2, -1, cv_c)  # anonymous web views
    cm = np.concatenate([touch_made[cv], demo_made[dv]])
    evs.add(cv_t[cm], ids[cv_l[cm]], cv_c[cm], CONTENT, account[cv_l[cm]], rep[cv_l[cm]])

    # --- inbound requests before inbound deals
    lin = np.flatnonzero(o.source[sl] == 0)
    in_t = o.created[sl][lin] - rng.integers(600, 2 * 86400, len(lin))
    in_opp = np.where(rng.random(len(lin)) < 0.8, ids[lin], -1)
    evs.add(in_t, in_opp, primary[lin], INBOUND, account[lin], rep[lin])

    # --- bulk e-mails (never a touch)
    floor = np.maximum(cal.b_start, cal.b_of_day(reps.hire_day[rep]))  # no rows before the hire
    lb = np.repeat(np.arange(n), rng.poisson(0.9, n))
    lo = np.maximum(bc[lb] - 15, floor[lb])
    bulk_b = lo + rng.random(len(lb)) * (bx[lb] - lo)
    bulk_opp = np.where(bulk_b >= bc[lb], ids[lb], -1)
    bulk_c = uniform_index(rng, c0[lb], cn[lb])
    bulk_t = cal.seconds(bulk_b, tz_o[lb])
    acts.add(bulk_t, bulk_opp, bulk_c, EMAIL, account[lb], rep[lb], bulk=True)
    br = np.flatnonzero((bulk_opp < 0) & (rng.random(len(lb)) < 0.03))
    evs.add(
        bulk_t[br] + rng.integers(1800, 3 * 86400, len(br)),
        np.full(len(br), -1),
        bulk_c[br],
        REPLY,
        account[lb[br]],
        rep[lb[br]],
    )
    if thin is not None:
        return  # the account-effort model: account-level touches come from ``effort``

    # --- account-level touches without an opportunity, around the deals (model off)
    la = np.repeat(np.arange(n), rng.poisson(0.35, n))
    lo = np.maximum(bc[la] - 40, floor[la])
    acct_b = lo + rng.random(len(la)) * (bx[la] + 20 - lo)
    acct_c = np.where(rng.random(len(la)) < 0.15, -1, uniform_index(rng, c0[la], cn[la]))
    u = rng.random(len(la))
    acct_kind = np.where(
        u < 0.45, CALL, np.where(u < 0.85, EMAIL, np.where(u < 0.95, MEETING, OTHER))
    )
    acts.add(
        cal.seconds(acct_b, tz_o[la]),
        np.full(len(la), -1),
        acct_c,
        acct_kind,
        account[la],
        rep[la],
        _durations(rng, acct_kind),
    )


def activity_slices(acts: Rows, keys: Keys) -> Slices:
    """The activities table (rows before the window's end, in time order), slice by slice.
    Takes the rows' columns (``acts`` is left empty)."""
    a = in_time_order(acts.columns())
    base, n = acts.base, len(a["time"])

    def build(start: int, stop: int) -> pa.Table:
        s = slice(start, stop)
        return canonical_table(
            "activities",
            {
                "activity_id": serial_ids("AT-", n, start=start, stop=stop),
                "rep_id": take_ids(keys.rep, a["rep"][s]),
                "account_id": take_ids(keys.account, a["account"][s]),
                "opportunity_id": take_ids(keys.opportunity, a["opp"][s]),
                "contact_id": take_ids(keys.contact, a["contact"][s]),
                "type": take_strings(ACT_TYPES, a["kind"][s]),
                "occurred_at": a["time"][s] + np.int64(base),
                "duration_minutes": a["duration"][s].astype(np.float64),
                "is_bulk": a["bulk"][s],
            },
        )

    return Slices(n, build)


def event_slices(rng: np.random.Generator, evs: Rows, cut: int, keys: Keys) -> Slices:
    """The buyer_events table (rows before ``cut``, in time order), slice by slice; a few
    content views become other events (one draw per row made, in the window or not). Takes the
    rows' columns (``evs`` is left empty)."""
    cols = evs.columns()
    other = (rng.random(len(cols["kind"])) < 0.01) & (cols["kind"] == CONTENT)
    cols["kind"][other] = len(EV_TYPES) - 1  # e.g. a webinar sign-up
    del other
    e = in_time_order(cols, until=cut - evs.base)
    base, n = evs.base, len(e["time"])

    def build(start: int, stop: int) -> pa.Table:
        s = slice(start, stop)
        return canonical_table(
            "buyer_events",
            {
                "event_id": serial_ids("BE-", n, start=start, stop=stop),
                "account_id": take_ids(keys.account, e["account"][s]),
                "opportunity_id": take_ids(keys.opportunity, e["opp"][s]),
                "contact_id": take_ids(keys.contact, e["contact"][s]),
                "type": take_strings(EV_TYPES, e["kind"][s]),
                "occurred_at": e["time"][s] + np.int64(base),
            },
        )

    return Slices(n, build)
