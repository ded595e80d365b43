"""``truth.json``: planted reps and teams, true ratios (wins and booked revenue), territories
and regions, the win and amount models, how to measure each true practice and why each decoy is
one, the planted misallocation of account effort (empty, with every rep's ``effort_policy``
null, when the account-effort model is off) and the planted care (``care``: high-care reps and
leaders, the survey items, the repeat-business effect and its planted accounts; each rep's
``care_mean`` and ``high_care``) and, when one is planted, the practice experiment
(``experiment``: ``synth.experiment.truth_block``)."""

from __future__ import annotations

import math
from dataclasses import asdict
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa

from brightspots.synth import allocation as alloc_mod
from brightspots.synth import effort
from brightspots.synth.accounts import Accounts
from brightspots.synth.allocation import Allocation
from brightspots.synth.calendar import Calendar, epoch_day
from brightspots.synth.config import SynthConfig
from brightspots.synth.expectation import Expected, expected_outcomes, won_amount_factor
from brightspots.synth.model import (
    ACCOUNT_WIN,
    BASE_LOGIT,
    BRIGHT_SKILL,
    BRIGHT_UPLIFT,
    COACHED_SKILL_CLIP,
    DEAL_SIZE_WIN,
    DEMO_ELASTICITY,
    DEMO_RATE,
    PRACTICE_BASE,
    PRACTICE_EFFECT,
    PRACTICES,
    QUARTER_WIN,
    SEG_WIN,
    SEGMENTS,
    SKILL_SD,
    SOURCE_WIN,
    SOURCES,
    TEAM_EFFECT,
    TENURE_SCALE,
    TENURE_WIN,
    TERRITORY_WIN,
    WON_DRIFT_MU,
    WON_DRIFT_SD,
    WON_UNCHANGED,
    sigmoid,
)
from brightspots.synth.opportunities import Opps
from brightspots.synth.people import Reps, Teams
from brightspots.synth.tables import Keys
from brightspots.synth.vocabulary import REGIONS


def _r(x: float, nd: int = 4) -> float | None:
    return None if not np.isfinite(x) else round(float(x), nd)


TRUE_PRACTICES = (
    {
        "id": "multi_threading",
        "registry_id": "multithreading",
        "description": "Reaching several people at the account early, including an executive.",
        "measure": "Non-bulk activities on the opportunity in the first 14 days after created_at "
        "touch at least 3 distinct contacts, at least one with seniority executive.",
        "planted": "Deals with the practice get 3+ intro touches on the executive, a manager and "
        "a staff contact within 8 business days; deals without it touch only one or two "
        "non-executive contacts until day 14 (later the deal may reach anyone, so distinct "
        "contacts over the whole deal grow with its length).",
    },
    {
        "id": "fast_response",
        "registry_id": "response_within_4h",
        "description": "Answering a buyer's reply within 4 hours.",
        "measure": "For each buyer_events row of type reply on the opportunity, the next non-bulk "
        "activity of the rep on the same opportunity at or after it; the practice holds when at "
        "least half of the deal's replies were answered within 4 hours (undefined without "
        "replies).",
        "planted": "With the practice 90% of replies are answered within 4 hours, without it 12%; "
        "6% of replies are never answered.",
    },
    {
        "id": "meeting_before_proposal",
        "registry_id": "meeting_before_proposal",
        "description": "Holding a meeting or demo before sending the proposal.",
        "measure": "Among opportunities with a proposal activity: a non-bulk meeting or demo "
        "activity on the opportunity before the first proposal activity.",
        "planted": "Deals with the practice get a meeting (80%) or demo before the proposal; deals "
        "without it get meetings and demos only after the proposal. Lost deals often end before "
        "any proposal (50%), won deals almost always have one (97%).",
    },
)
DECOY_PRACTICES = (
    {
        "id": "demo_intensity",
        "registry_id": "demos_per_opportunity",
        "description": "Number of demo activities per opportunity.",
        "why_decoy": "Demos come at a rate per open business day proportional to the territory's "
        "potential and do not change win odds; they correlate with winning only because rich "
        "territories win more (and, counted over the whole deal, because won deals last longer).",
    },
    {
        "id": "touch_volume",
        "registry_id": "touches_per_opportunity",
        "description": "Total non-bulk calls and e-mails on the opportunity.",
        "why_decoy": "Calls and e-mails come at a steady rate per open business day (a rep-level "
        "cadence that does not change win odds), so the raw count grows with deal length; won "
        "deals last about 1.7 times longer than lost ones, so the count correlates with winning "
        "without causing it. The rate per open week does not.",
    },
)


def _ratio(num: float, den: float) -> float | None:
    return _r(num / den) if den > 0 else None


def _win_model(cfg: SynthConfig) -> dict[str, Any]:
    bright = cfg.bright_spot_odds_ratio
    team = cfg.team_odds_ratio
    return {
        "description": "logit P(win) = base + segment + territory * log(territory potential) "
        "+ account * log(account potential / territory-segment norm) + deal_size * "
        "log(initial_amount / usual deal of the account) + source + quarter created + "
        "tenure * exp(-years / scale) + skill + team effect + sum(practice effects). Open deals "
        "have a latent outcome that is not visible.",
        "base": BASE_LOGIT,
        "segment": dict(zip(SEGMENTS, SEG_WIN.tolist(), strict=True)),
        "territory": TERRITORY_WIN,
        "account": ACCOUNT_WIN,
        "deal_size": DEAL_SIZE_WIN,
        "source": dict(zip(SOURCES, SOURCE_WIN.tolist(), strict=True)),
        "quarter": dict(zip(("Q1", "Q2", "Q3", "Q4"), QUARTER_WIN.tolist(), strict=True)),
        "tenure": TENURE_WIN,
        "tenure_scale_years": TENURE_SCALE,
        "skill_sd_unplanted": 0.0 if cfg.null else SKILL_SD,
        "bright_spot_skill": None
        if cfg.null
        else (list(BRIGHT_SKILL) if bright is None else [math.log(bright)] * 2),
        "bright_spot_odds_ratio": bright,
        "bright_spot_practices": "average propensities (offsets 0)"
        if bright is not None
        else "raised propensities (offsets uniform 0.9-1.4 on the logit scale)",
        "team_effect": "every rep of a coached team (manager included) gets the team's log-odds "
        f"on each deal, on top of their own skill and propensities clipped at "
        f"+-{COACHED_SKILL_CLIP} SD (or skill 0 and average propensities when team_odds_ratio "
        "is set); no planted bright spot sits in a coached team, none is in the richest or "
        "poorest territory or holds a rich-territory rep",
        "team_log_odds": None
        if cfg.null
        else (list(TEAM_EFFECT) if team is None else [math.log(team)] * 2),
        "team_odds_ratio": team,
        "true_ratio": "expected wins with the rep's true skill, team effect and practice "
        "propensities divided by expected wins of an average rep (skill 0, no team effect, "
        "propensity offsets 0), both over the rep's own closed deals; for a team or region, "
        "the same sums over its reps. A follow-on deal of the planted repeat business (care) "
        "adds its true win probability to both.",
    }


def _amount_model(cfg: SynthConfig) -> dict[str, Any]:
    return {
        "description": "amount = initial_amount * drift, rounded to 100 (at least 500). Won "
        "deals: drift 1 (amount never updated) with probability unchanged_share, else "
        "exp(N(log_drift_mean + uplift, log_drift_sd)) where uplift is the rep's "
        "amount_uplift (planted bright spots only). Lost deals: drift 1 (60%) or "
        "exp(N(-0.05, 0.15)). Open deals show the current value, 70% still the initial amount.",
        "unchanged_share": WON_UNCHANGED,
        "log_drift_mean": WON_DRIFT_MU,
        "log_drift_sd": WON_DRIFT_SD,
        "bright_spot_uplift": None if cfg.null else list(BRIGHT_UPLIFT),
        "won_amount_factor_average": _r(float(won_amount_factor(0.0))),
        "true_revenue_ratio": "expected booked revenue (P(win) * expected booked amount, "
        "before rounding) with the rep's true parameters divided by that of an average rep "
        "(no uplift), both over the rep's own closed deals.",
    }


def build_truth(
    cfg: SynthConfig,
    cal: Calendar,
    teams: Teams,
    reps: Reps,
    acc: Accounts,
    o: Opps,
    keys: Keys,
    rows: dict[str, int],
    alloc: Allocation | None,
    *,
    follow: Opps | None = None,
    care: dict[str, Any] | None = None,
    care_mean: np.ndarray | None = None,
    experiment: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The truth of a generated organisation; ``rows``: rows per table, in the files' order;
    ``alloc``: the reps' effort policies (None: the account-effort model is off); ``o``: the
    base deals, ``follow``: the follow-on deals of the planted repeat business; ``care``: the
    ``care`` block, ``care_mean``: each rep's latent care (0-1); ``experiment``: the planted
    experiment's block (``experiment.truth_block``; None: off, and neither it nor the config's
    ``experiment`` is in the truth, which stays as before the option existed)."""
    rep_ids = keys.rep.to_pylist()
    region_ids, team_ids = keys.region.to_pylist(), keys.team.to_pylist()
    ex = _with_follow_ons(expected_outcomes(reps, o), reps, follow)
    deals = [o] if follow is None else [o, follow]
    wins = sum(np.bincount(d.rep[d.is_closed & d.won], minlength=reps.n) for d in deals)
    high = set((care or {}).get("high_care_reps", []))
    book = np.bincount(acc.owner, acc.potential, minlength=reps.n) / np.maximum(
        1, np.bincount(acc.owner, minlength=reps.n)
    )
    q_avg = sigmoid(PRACTICE_BASE[None, :] + reps.offset)  # at a mid-market deal
    rep_rows = []
    for i in range(reps.n):
        rep_rows.append(
            {
                "rep_id": rep_ids[i],
                "team_id": team_ids[reps.team[i]],
                "territory_potential": _r(math.exp(teams.log_potential[reps.team[i]])),
                "book_potential": _r(book[i], 0),
                "skill": _r(reps.skill[i]),
                "team_log_odds": _r(reps.coaching[i]),
                "practice_propensity": {p: _r(q_avg[i, k]) for k, p in enumerate(PRACTICES)},
                "practice_offset": {p: _r(reps.offset[i, k]) for k, p in enumerate(PRACTICES)},
                "amount_uplift": _r(reps.uplift[i]),
                "cadence": _r(reps.cadence[i]),
                "care": _r(reps.care[i]),
                "care_mean": None if care_mean is None else _r(care_mean[i]),
                "high_care": rep_ids[i] in high,
                "closed": int(ex.closed[i]),
                "wins": int(wins[i]),
                "expected_wins_true": _r(ex.wins_true[i], 3),
                "expected_wins_average_rep": _r(ex.wins_average[i], 3),
                "true_ratio": _ratio(ex.wins_true[i], ex.wins_average[i]),
                "expected_revenue_true": _r(ex.revenue_true[i], 0),
                "expected_revenue_average_rep": _r(ex.revenue_average[i], 0),
                "true_revenue_ratio": _ratio(ex.revenue_true[i], ex.revenue_average[i]),
                "bright_spot": bool(reps.bright[i]),
                "team_effect": bool(reps.coaching[i] != 0),
                "rich_territory": bool(reps.rich[i]),
                "manager": bool(reps.is_manager[i]),
                "hired_in_window": bool(reps.hire_day[i] > epoch_day(cal.start)),
                "effort_policy": None if alloc is None else alloc_mod.POLICIES[alloc.policy[i]],
            }
        )

    def team_sum(x: np.ndarray) -> np.ndarray:
        return np.bincount(reps.team, x, minlength=teams.n)

    t_wins, t_wins_avg = team_sum(ex.wins_true), team_sum(ex.wins_average)
    plain = ~reps.bright  # the team's result without its planted individual bright spots
    t_plain, t_plain_avg = team_sum(ex.wins_true * plain), team_sum(ex.wins_average * plain)
    t_rev, t_rev_avg = team_sum(ex.revenue_true), team_sum(ex.revenue_average)
    coaching = np.zeros(teams.n)
    coaching[reps.team] = reps.coaching
    territories = [
        {
            "team_id": team_ids[t],
            "name": teams.names[t],
            "region_id": region_ids[teams.region[t]],
            "region": REGIONS[teams.region[t]][0],
            "potential": _r(math.exp(teams.log_potential[t])),
            "segment_mix": {s: _r(teams.seg_mix[t, k], 3) for k, s in enumerate(SEGMENTS)},
            "demo_rate": _r(DEMO_RATE * math.exp(DEMO_ELASTICITY * teams.log_potential[t])),
            "utc_offset_hours": int(teams.tz[t]),
            "reps": int((reps.team == t).sum()),
            "bright_spots": int((reps.bright & (reps.team == t)).sum()),
            "team_log_odds": _r(coaching[t]),
            "true_ratio": _ratio(t_wins[t], t_wins_avg[t]),
            "true_ratio_excluding_bright_spots": _ratio(t_plain[t], t_plain_avg[t]),
            "true_revenue_ratio": _ratio(t_rev[t], t_rev_avg[t]),
        }
        for t in range(teams.n)
    ]
    coached = np.flatnonzero(coaching != 0)
    team_effects = {
        team_ids[t]: {
            "log_odds": _r(coaching[t]),
            "odds_ratio": _r(math.exp(coaching[t])),
            "reps": int((reps.team == t).sum()),
            "true_ratio": territories[t]["true_ratio"],
            "true_revenue_ratio": territories[t]["true_revenue_ratio"],
        }
        for t in coached
    }
    regions = {
        region_ids[g]: [team_ids[t] for t in np.flatnonzero(teams.region == g)]
        for g in range(teams.n_regions)
    }
    config = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(cfg).items()}
    if cfg.experiment is None:
        config.pop("experiment", None)
    else:
        config["experiment"] = cfg.experiment.spec()
    truth = {
        "seed": cfg.seed,
        "config": config,
        "null": cfg.null,
        "window": {"start": cal.start.isoformat(), "end": cal.end.isoformat()},
        "bright_spots": [rep_ids[i] for i in np.flatnonzero(reps.bright)],
        "bright_spot_teams": [team_ids[t] for t in coached],
        "team_effects": team_effects,
        "rich_territory_reps": [rep_ids[i] for i in np.flatnonzero(reps.rich)],
        "true_practices": [
            {**p, "log_odds": float(PRACTICE_EFFECT[k])} for k, p in enumerate(TRUE_PRACTICES)
        ],
        "decoy_practices": list(DECOY_PRACTICES),
        "win_model": _win_model(cfg),
        "amount_model": _amount_model(cfg),
        "regions": regions,
        "territories": territories,
        "reps": rep_rows,
        "counts": {f"{name}.csv": n for name, n in rows.items()},
        "opportunities": {
            "closed": sum(int(d.is_closed.sum()) for d in deals),
            "won": sum(int((d.is_closed & d.won).sum()) for d in deals),
            "open": sum(int((~d.is_closed).sum()) for d in deals),
            "follow_on": 0 if follow is None else follow.n,
            "activities": rows["activities"],
        },
        "misallocation": _misallocation(cfg, alloc, acc, keys),
        "care": care,
        "dirty": no_dirt(rows, "csv"),
    }
    if experiment is not None:
        truth["experiment"] = experiment
    return truth


def _with_follow_ons(ex: Expected, reps: Reps, follow: Opps | None) -> Expected:
    """``ex`` with the closed follow-on deals added: each counts its true win probability as
    expected wins both with the rep's parameters and with an average rep's (their outcome
    depends on the account's care score, not on skill or practices), and its expected booked
    revenue with the rep's amount uplift and without."""
    if follow is None or not follow.n:
        return ex
    c = follow.is_closed
    rep, p, initial = follow.rep[c], follow.p_win[c], follow.initial_amount[c]

    def per_rep(x: np.ndarray) -> np.ndarray:
        return np.bincount(rep, x, minlength=reps.n)

    return Expected(
        closed=ex.closed + np.bincount(rep, minlength=reps.n),
        wins_true=ex.wins_true + per_rep(p),
        wins_average=ex.wins_average + per_rep(p),
        revenue_true=ex.revenue_true + per_rep(p * initial * won_amount_factor(reps.uplift[rep])),
        revenue_average=ex.revenue_average + per_rep(p * initial * won_amount_factor(0.0)),
    )


def _misallocation(
    cfg: SynthConfig, alloc: Allocation | None, acc: Accounts, keys: Keys
) -> dict[str, Any]:
    """The planted misallocation of account effort: who, which accounts, how much kept (none,
    and the plain account-level touches, with the account-effort model off)."""
    if alloc is None:
        return {
            "share": 0.0,
            "reps": [],
            "neglected_accounts": [],
            "over_served_accounts": [],
            "proportional_rep": None,
            "neglect_keep": {},
            "large_accounts": None,
            "policy": "Off (misallocation 0): no effort policies. Account-level touches (no "
            "opportunity) come with the deals, Poisson 0.35 a deal, at random from 40 business "
            "days before its creation to 20 after its close, on the deal's account; deal touches "
            "are all made.",
            "neglect": None,
        }
    rep_ids = keys.rep.to_pylist()

    def ids(accounts: np.ndarray) -> list[str]:
        return keys.account.take(pa.array(accounts, pa.int64())).to_pylist()

    prop = alloc.proportional
    return {
        "share": cfg.misallocation_share(),
        "reps": [rep_ids[r] for r in alloc.misallocating],
        "neglected_accounts": ids(alloc.neglected),
        "over_served_accounts": ids(alloc.over_served),
        "proportional_rep": None if prop is None else rep_ids[prop],
        "neglect_keep": {
            rep_ids[r]: _r(alloc.keep[alloc.neglected[acc.owner[alloc.neglected] == r]][0], 3)
            for r in alloc.misallocating
        },
        "large_accounts": int(alloc.large.sum()),
        "policy": "Every rep covers each account of their book, period by period "
        f"({effort.PERIOD} business days), with a budget of touches shared in proportion to the "
        "account's value (a quarter of its annual potential, its expected won revenue a year, "
        f"revenue won in the last {effort.TRAILING} periods, open pipeline at case-mix win odds) "
        f"times a preference (lognormal, SD {alloc_mod.PREFERENCE_SD}); the touches on its deals "
        "count towards its share, the rest come as account-level touches (no opportunity), "
        f"Poisson around it. The budget is {alloc_mod.COVERAGE} times the touches the rep's "
        "deals can be expected to take. The proportional rep has a budget of "
        f"{alloc_mod.PROPORTIONAL_COVERAGE} times that, preference 1, counts rounded rather "
        "than drawn, and lean deals on small accounts (the deal touches that carry no practice "
        "kept in proportion to the account's value share over its deals' share of the deal "
        "work).",
        "neglect": "A misallocating rep's neglected accounts are their (up to "
        f"{alloc_mod.NEGLECTED_PER_REP}) highest-value accounts among the company's top "
        f"{alloc_mod.LARGE_SHARE:.0%} by expected value a year (a quarter of the potential plus "
        "expected won revenue: large and in a segment and territory that win); they keep only "
        "the rep's neglect_keep share of their account-level touches and of the touches on their "
        "deals that carry no practice (cadence calls and e-mails, demos, meetings after the "
        "proposal, touches after a win). The account-level touches freed go in equal parts to "
        f"the rep's {alloc_mod.OVER_SERVED_PER_REP} least valuable accounts "
        "(over_served_accounts).",
    }


def no_dirt(rows: dict[str, int], fmt: str) -> dict[str, Any]:
    """The ``dirty`` section of truth for clean files (``rows``: rows per table): every row
    valid."""
    files = {
        f"{name}.{fmt}": {
            "rows": n,
            "valid": n,
            "quarantined": 0,
            "repeats": 0,
            "added_bad_rows": 0,
            "cascaded": 0,
            "cosmetic": 0,
            "by_reason": {},
        }
        for name, n in rows.items()
    }
    return {"rate": 0.0, "format": fmt, "files": files, "bad_rows": [], "repeats": []}
