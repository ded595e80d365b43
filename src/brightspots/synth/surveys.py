"""Customer onboarding surveys and the quarterly employee pulse, scored from hidden care
traits; the survey_responses table."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from brightspots import schema
from brightspots.synth.calendar import Calendar
from brightspots.synth.opportunities import Opps
from brightspots.synth.people import Reps, Teams
from brightspots.synth.tables import Keys, canonical_table, serial_ids, take_ids, take_strings

# question id, dimension, scale min, scale max, mean score, slope on the care trait, noise sd,
# whether it is about a person (the rep for customers, the manager for employees)
CUSTOMER_QUESTIONS = (
    ("cs_care", "care", 1, 5, 3.7, 0.45, 0.8, True),
    ("cs_expertise", "expertise", 1, 5, 3.8, 0.25, 0.8, True),
    ("cs_recommend", "loyalty", 0, 10, 7.4, 0.8, 1.6, True),
)
EMPLOYEE_QUESTIONS = (
    ("ep_manager_care", "care", 1, 5, 3.6, 0.5, 0.8, True),
    ("ep_growth", "growth", 1, 5, 3.4, 0.3, 0.9, True),
    ("ep_enps", "loyalty", 0, 10, 7.0, 0.6, 1.8, False),
)


def _answers(rng, questions, who: dict[str, np.ndarray], trait: np.ndarray, time: np.ndarray):
    """One row per respondent and question (5% skip a question); scores follow ``trait``."""
    parts = []
    for qid, dim, lo, hi, mean, slope, sd, about_person in questions:
        keep = rng.random(len(time)) < 0.95
        score = np.clip(np.round(mean + slope * trait + rng.normal(0, sd, len(time))), lo, hi)
        m = int(keep.sum())
        part = {key: v[keep] for key, v in who.items()}
        if not about_person:
            part["subject"] = np.full(m, -1)
        parts.append(
            {
                **part,
                "question": np.full(m, qid),
                "dimension": np.full(m, dim),
                "score": score[keep],
                "smin": np.full(m, float(lo)),
                "smax": np.full(m, float(hi)),
                "time": time[keep],
            }
        )
    return parts


def make_surveys(rng, cal: Calendar, teams: Teams, reps: Reps, o: Opps) -> dict[str, np.ndarray]:
    """Customer onboarding surveys after won deals (about the rep, named respondents); an
    anonymous quarterly employee pulse (about the manager). Scores follow hidden care traits."""
    won = np.flatnonzero(o.won & o.is_closed & (rng.random(o.n) < 0.35))
    sub = o.closed[won] + rng.integers(7 * 86400, 30 * 86400, len(won))
    won, sub = won[sub < cal.cut], sub[sub < cal.cut]
    m = len(won)
    who = {
        "survey": np.zeros(m, np.int64),
        "respondent": o.primary[won],
        "rtype": np.zeros(m, np.int64),
        "subject": o.rep[won],
        "account": o.account[won],
    }
    parts = _answers(rng, CUSTOMER_QUESTIONS, who, reps.care[o.rep[won]], sub)
    # employee pulse: in the last days of each quarter of the window, about 80% answer
    qends = np.unique(cal.qend[cal.b_start : cal.b_end])
    for qe in qends[(qends >= cal.b_start) & (qends < cal.b_end)]:
        staff = np.flatnonzero((reps.hire_day < cal.days[qe] - 30) & (rng.random(reps.n) < 0.8))
        b = qe - rng.integers(0, 8, len(staff)) + rng.random(len(staff))
        time = cal.seconds(b, teams.tz[reps.team[staff]])
        manager = reps.manager[staff]
        none, one = np.full(len(staff), -1), np.ones(len(staff), np.int64)
        who = {"survey": one, "respondent": none, "rtype": one, "subject": manager, "account": none}
        trait = np.where(manager >= 0, reps.care[np.maximum(manager, 0)], 0.0)
        parts += _answers(rng, EMPLOYEE_QUESTIONS, who, trait, time)
    out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    order = np.argsort(out["time"], kind="stable")
    return {k: v[order] for k, v in out.items()}


def survey_table(sv: dict[str, np.ndarray], keys: Keys) -> pa.Table:
    return canonical_table(
        "survey_responses",
        {
            "response_id": serial_ids("SR-", len(sv["time"])),
            "survey": take_strings(
                ("Customer onboarding survey", "Quarterly team pulse"), sv["survey"]
            ),
            "respondent_id": take_ids(
                keys.contact, np.where(sv["rtype"] == 0, sv["respondent"], -1)
            ),
            "respondent_type": take_strings(schema.RESPONDENT_TYPES, sv["rtype"]),
            "subject_rep_id": take_ids(keys.rep, sv["subject"]),
            "account_id": take_ids(keys.account, sv["account"]),
            "question_id": sv["question"].astype(str).tolist(),
            "dimension": sv["dimension"].astype(str).tolist(),
            "score": sv["score"].astype(np.float64),
            "scale_min": sv["smin"].astype(np.float64),
            "scale_max": sv["smax"].astype(np.float64),
            "submitted_at": sv["time"].astype(np.int64),
        },
    )
