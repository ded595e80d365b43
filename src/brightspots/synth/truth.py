"""``truth.json``: planted reps, true ratios, territories, the win model, how to measure each
true practice and why each decoy is one."""

from __future__ import annotations

import math
from dataclasses import asdict
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa

from brightspots.synth.accounts import Accounts
from brightspots.synth.calendar import Calendar, epoch_day
from brightspots.synth.config import SynthConfig
from brightspots.synth.model import (
    ACCOUNT_WIN,
    BASE_LOGIT,
    DEAL_SIZE_WIN,
    DEMO_ELASTICITY,
    DEMO_RATE,
    PRACTICE_BASE,
    PRACTICE_EFFECT,
    PRACTICE_SEGMENT,
    PRACTICES,
    QUARTER_WIN,
    SEG_WIN,
    SEGMENTS,
    SKILL_SD,
    SOURCE_WIN,
    SOURCES,
    TENURE_SCALE,
    TENURE_WIN,
    TERRITORY_WIN,
    sigmoid,
)
from brightspots.synth.opportunities import Opps
from brightspots.synth.people import Reps, Teams
from brightspots.synth.vocabulary import REGIONS


def _true_ratio(reps: Reps, o: Opps) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per rep over their closed deals: expected wins with their true skill and practice
    propensities, and with an average rep's (skill 0, propensity offsets 0)."""
    closed = o.is_closed
    rep, seg, eta0 = o.rep[closed], o.segment[closed], o.eta0[closed]
    q_rep = sigmoid(PRACTICE_BASE + PRACTICE_SEGMENT.T[seg] + reps.offset[rep])
    q_avg = sigmoid(PRACTICE_BASE + PRACTICE_SEGMENT.T[seg])
    e_rep = np.zeros(len(rep))
    e_avg = np.zeros(len(rep))
    for combo in range(8):
        x = np.array([(combo >> k) & 1 for k in range(3)], dtype=np.float64)
        p_rep = np.prod(np.where(x == 1, q_rep, 1 - q_rep), axis=1)
        p_avg = np.prod(np.where(x == 1, q_avg, 1 - q_avg), axis=1)
        e_rep += p_rep * sigmoid(eta0 + reps.skill[rep] + x @ PRACTICE_EFFECT)
        e_avg += p_avg * sigmoid(eta0 + x @ PRACTICE_EFFECT)
    exp_rep = np.bincount(rep, e_rep, minlength=reps.n)
    exp_avg = np.bincount(rep, e_avg, minlength=reps.n)
    n_closed = np.bincount(rep, minlength=reps.n)
    return exp_rep, exp_avg, n_closed


def _r(x: float, nd: int = 4) -> float | None:
    return None if not np.isfinite(x) else round(float(x), nd)


TRUE_PRACTICES = (
    {
        "id": "multi_threading",
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
        "description": "Number of demo activities per opportunity.",
        "why_decoy": "Demos per deal are proportional to the territory's potential and do not "
        "change win odds; they correlate with winning only because rich territories win more.",
    },
    {
        "id": "touch_volume",
        "description": "Total non-bulk calls and e-mails on the opportunity.",
        "why_decoy": "Calls and e-mails come at a steady rate per open business day (a rep-level "
        "cadence that does not change win odds), so the raw count grows with deal length; won "
        "deals last about 1.7 times longer than lost ones, so the count correlates with winning "
        "without causing it. The rate per open week does not.",
    },
)


def build_truth(
    cfg: SynthConfig,
    cal: Calendar,
    teams: Teams,
    reps: Reps,
    acc: Accounts,
    o: Opps,
    tables: dict[str, pa.Table],
) -> dict[str, Any]:
    rep_ids = tables["reps"].column("rep_id").to_pylist()
    team_ids = tables["teams"].column("team_id").to_pylist()[teams.n_regions :]
    exp_rep, exp_avg, n_closed = _true_ratio(reps, o)
    wins = np.bincount(o.rep[o.is_closed & o.won], minlength=reps.n)
    book = np.bincount(acc.owner, acc.potential, minlength=reps.n) / np.maximum(
        1, np.bincount(acc.owner, minlength=reps.n)
    )
    q_avg = sigmoid(PRACTICE_BASE[None, :] + reps.offset)  # at a mid-market deal
    rep_rows = []
    for i in range(reps.n):
        ratio = exp_rep[i] / exp_avg[i] if exp_avg[i] > 0 else float("nan")
        rep_rows.append(
            {
                "rep_id": rep_ids[i],
                "team_id": team_ids[reps.team[i]],
                "territory_potential": _r(math.exp(teams.log_potential[reps.team[i]])),
                "book_potential": _r(book[i], 0),
                "skill": _r(reps.skill[i]),
                "practice_propensity": {p: _r(q_avg[i, k]) for k, p in enumerate(PRACTICES)},
                "practice_offset": {p: _r(reps.offset[i, k]) for k, p in enumerate(PRACTICES)},
                "cadence": _r(reps.cadence[i]),
                "care": _r(reps.care[i]),
                "closed": int(n_closed[i]),
                "wins": int(wins[i]),
                "expected_wins_true": _r(exp_rep[i], 3),
                "expected_wins_average_rep": _r(exp_avg[i], 3),
                "true_ratio": _r(ratio),
                "bright_spot": bool(reps.bright[i]),
                "rich_territory": bool(reps.rich[i]),
                "manager": bool(reps.is_manager[i]),
                "hired_in_window": bool(reps.hire_day[i] > epoch_day(cal.start)),
            }
        )
    territories = [
        {
            "team_id": team_ids[t],
            "name": teams.names[t],
            "region": REGIONS[teams.region[t]][0],
            "potential": _r(math.exp(teams.log_potential[t])),
            "segment_mix": {s: _r(teams.seg_mix[t, k], 3) for k, s in enumerate(SEGMENTS)},
            "demo_rate": _r(DEMO_RATE * math.exp(DEMO_ELASTICITY * teams.log_potential[t])),
            "utc_offset_hours": int(teams.tz[t]),
            "reps": int((reps.team == t).sum()),
        }
        for t in range(teams.n)
    ]
    config = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(cfg).items()}
    return {
        "seed": cfg.seed,
        "config": config,
        "null": cfg.null,
        "window": {"start": cal.start.isoformat(), "end": cal.end.isoformat()},
        "bright_spots": [rep_ids[i] for i in np.flatnonzero(reps.bright)],
        "rich_territory_reps": [rep_ids[i] for i in np.flatnonzero(reps.rich)],
        "true_practices": [
            {**p, "log_odds": float(PRACTICE_EFFECT[k])} for k, p in enumerate(TRUE_PRACTICES)
        ],
        "decoy_practices": list(DECOY_PRACTICES),
        "win_model": {
            "description": "logit P(win) = base + segment + territory * log(territory potential) "
            "+ account * log(account potential / territory-segment norm) + deal_size * "
            "log(initial_amount / usual deal of the account) + source + quarter created + "
            "tenure * exp(-years / scale) + skill + sum(practice effects). Open deals have a "
            "latent outcome that is not visible.",
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
            "bright_spot_skill": None if cfg.null else [0.8, 1.2],
            "true_ratio": "expected wins with the rep's true skill and practice propensities "
            "divided by expected wins of an average rep (skill 0, propensity offsets 0), both "
            "over the rep's own closed deals.",
        },
        "territories": territories,
        "reps": rep_rows,
        "counts": {f"{name}.csv": t.num_rows for name, t in tables.items()},
        "opportunities": {
            "closed": int(o.is_closed.sum()),
            "won": int((o.is_closed & o.won).sum()),
            "open": int((~o.is_closed).sum()),
            "activities": tables["activities"].num_rows,
        },
        "dirty": no_dirt(tables, "csv"),
    }


def no_dirt(tables: dict[str, pa.Table], fmt: str) -> dict[str, Any]:
    """The ``dirty`` section of truth for clean files: every row valid."""
    files = {
        f"{name}.{fmt}": {
            "rows": t.num_rows,
            "valid": t.num_rows,
            "quarantined": 0,
            "repeats": 0,
            "added_bad_rows": 0,
            "cascaded": 0,
            "cosmetic": 0,
            "by_reason": {},
        }
        for name, t in tables.items()
    }
    return {"rate": 0.0, "format": fmt, "files": files, "bad_rows": [], "repeats": []}
