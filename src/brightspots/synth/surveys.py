"""Customer surveys after won deals and the quarterly employee pulse, scored from each rep's
latent care; the planted high-care reps and leaders; the survey_responses table.

The survey model (all of it drawn from the care stream, ``org.build``):

* A rep's latent care on 0-1 is ``m = 0.55 + 0.03 * care + 0.30 * high`` (``care`` the hidden
  trait of ``people``, ``high`` a planted high-care rep, or leader for the employee pulse); 0.55
  for every rep of a null organisation.
* Each submission has a respondent latent ``m + N(0, 0.12)``; each care item is that plus
  ``N(0, 0.15)``, rounded to quarters and clipped to 0-1, i.e. 1-5 on the scale. A reverse-coded
  item is stored as ``6 - item``.
* A customer survey follows 60% of won deals, 7-30 days after the close, answered by the deal's
  primary contact: three care items, expertise and a 0-10 recommendation, each skipped with 5%
  chance (at least one care item kept).
* The employee pulse: in the last days of each quarter about 80% of the staff answer about their
  manager, anonymously: two care items, growth and eNPS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from brightspots import schema
from brightspots.synth.calendar import Calendar, epoch_day
from brightspots.synth.config import SynthConfig
from brightspots.synth.opportunities import Opps
from brightspots.synth.people import Reps, Teams
from brightspots.synth.tables import Keys, canonical_table, serial_ids, take_ids, take_strings

SURVEYS = ("Customer onboarding survey", "Quarterly team pulse")
CUSTOMER, EMPLOYEE = 0, 1
CARE = "care"
REVERSE_ITEM = "cs_care_rushed"  # stored as 6 - item: high means less care
CUSTOMER_CARE = ("cs_care_success", "cs_care_listened", "cs_care_followup")
EMPLOYEE_CARE = ("ep_manager_care", "ep_manager_listens")
# other items: question id, dimension, scale min, scale max, mean, slope on the care trait,
# slope on the respondent's latent care (centred), noise sd
CUSTOMER_OTHER = (
    ("cs_expertise", "expertise", 1, 5, 3.8, 0.25, 0.0, 0.8),
    ("cs_recommend", "loyalty", 0, 10, 7.4, 0.0, 6.0, 1.6),
)
EMPLOYEE_OTHER = (
    ("ep_growth", "growth", 1, 5, 3.4, 0.3, 0.0, 0.9),
    ("ep_enps", "loyalty", 0, 10, 7.0, 0.6, 0.0, 1.8),
)
# latent care: base, slope on the care trait, planted shift; respondent and item noise
CARE_BASE, CARE_SLOPE, CARE_SHIFT = 0.55, 0.03, 0.30
RESPONDENT_SD, ITEM_SD = 0.12, 0.15
SURVEYED_SHARE = 0.6  # won deals followed by a customer survey
SKIP = 0.05  # chance an item is skipped
HIGH_CARE_SHARE = 0.05  # of reps
HIGH_LEADER_SHARE = 0.10  # of managers
RECENT_DAYS = 330  # respondents counted over this many days before the cut for eligibility
MIN_RECENT_RESPONDENTS = 12


def customer_items(cfg: SynthConfig) -> tuple[str, ...]:
    """The customer survey's care items (with the reverse-coded one when configured)."""
    return CUSTOMER_CARE + ((REVERSE_ITEM,) if cfg.reverse_coded_item else ())


def items(cfg: SynthConfig) -> list[dict]:
    """Every survey item: question_id, survey, source, dimension, scale and whether it is
    reverse-coded (high = less care)."""
    out = []
    for q in customer_items(cfg):
        out.append((q, CUSTOMER, CARE, 1, 5, q == REVERSE_ITEM))
    out += [(q[0], CUSTOMER, q[1], q[2], q[3], False) for q in CUSTOMER_OTHER]
    out += [(q, EMPLOYEE, CARE, 1, 5, False) for q in EMPLOYEE_CARE]
    out += [(q[0], EMPLOYEE, q[1], q[2], q[3], False) for q in EMPLOYEE_OTHER]
    return [
        {
            "question_id": q,
            "survey": SURVEYS[s],
            "respondent_type": schema.RESPONDENT_TYPES[s],
            "dimension": dim,
            "scale": [lo, hi],
            "reverse": rev,
        }
        for q, s, dim, lo, hi, rev in out
    ]


@dataclass(frozen=True)
class Submissions:
    """Customer survey submissions, one per surveyed won deal, in time order (times unique per
    account): the deal, its rep (the subject), account, primary contact (the respondent) and
    the epoch second submitted."""

    deal: np.ndarray
    rep: np.ndarray
    account: np.ndarray
    respondent: np.ndarray
    time: np.ndarray

    @property
    def n(self) -> int:
        return len(self.time)

    def take(self, idx: np.ndarray) -> Submissions:
        return Submissions(*(getattr(self, f)[idx] for f in self.__dataclass_fields__))


def unique_times(group: np.ndarray, time: np.ndarray) -> np.ndarray:
    """``time`` with ties within a group broken by adding whole seconds (the 2nd of a tie +1,
    the 3rd +2, ...), repeated until no two rows of a group share a time."""
    time = time.copy()
    while len(time):
        order = np.lexsort((time, group))
        g, t = group[order], time[order]
        tie = np.flatnonzero((g[1:] == g[:-1]) & (t[1:] == t[:-1])) + 1
        if not len(tie):
            break
        time[order[tie]] += 1
    return time


def customer_submissions(rng: np.random.Generator, cal: Calendar, o: Opps) -> Submissions:
    """A survey after ``SURVEYED_SHARE`` of the won deals, 7-30 days after the close (before the
    cut), answered by the deal's primary contact."""
    won = np.flatnonzero(o.won & o.is_closed & (rng.random(o.n) < SURVEYED_SHARE))
    sub = o.closed[won] + rng.integers(7 * 86400, 30 * 86400, len(won))
    won, sub = won[sub < cal.cut], sub[sub < cal.cut]
    sub = unique_times(o.account[won], sub)
    keep = sub < cal.cut
    won, sub = won[keep], sub[keep]
    order = np.argsort(sub, kind="stable")
    won, sub = won[order], sub[order]
    return Submissions(
        deal=won, rep=o.rep[won], account=o.account[won], respondent=o.primary[won], time=sub
    )


def recent_respondents(cal: Calendar, reps: Reps, subs: Submissions) -> np.ndarray:
    """Per rep, the distinct customer respondents of the last ``RECENT_DAYS`` before the cut."""
    recent = subs.time >= cal.cut - RECENT_DAYS * 86400
    pairs = np.unique(np.stack([subs.rep[recent], subs.respondent[recent]]), axis=1)
    return np.bincount(pairs[0], minlength=reps.n)


def choose_high_care(
    rng: np.random.Generator, cfg: SynthConfig, cal: Calendar, reps: Reps, subs: Submissions
) -> tuple[np.ndarray, np.ndarray]:
    """The planted high-care reps (``HIGH_CARE_SHARE`` of the reps: non-managers hired before the
    window, with at least the median volume and ``MIN_RECENT_RESPONDENTS`` customer respondents
    in the last ``RECENT_DAYS``) and leaders (``HIGH_LEADER_SHARE`` of the managers, among those
    with at least the median number of direct reports); boolean masks over the reps. None with
    ``null``."""
    high = np.zeros(reps.n, bool)
    leader = np.zeros(reps.n, bool)
    if cfg.null:
        return high, leader
    respondents = recent_respondents(cal, reps, subs)
    eligible = (
        ~reps.is_manager
        & (reps.hire_day < epoch_day(cal.start))
        & (reps.volume >= np.median(reps.volume))
        & (respondents >= MIN_RECENT_RESPONDENTS)
    )
    k = max(1, round(HIGH_CARE_SHARE * reps.n))
    high[rng.permutation(np.flatnonzero(eligible))[:k]] = True
    managers = np.flatnonzero(reps.is_manager)
    reports = np.bincount(reps.manager[reps.manager >= 0], minlength=reps.n)[managers]
    candidates = managers[reports >= np.median(reports)]
    k = max(1, round(HIGH_LEADER_SHARE * len(managers)))
    leader[rng.permutation(candidates)[:k]] = True
    return high, leader


def care_mean(cfg: SynthConfig, reps: Reps, high: np.ndarray) -> np.ndarray:
    """Latent care on 0-1 of each rep (``high``: the planted shift). A null organisation has
    nothing to find: every rep's is ``CARE_BASE`` (as its reps' skill is 0)."""
    if cfg.null:
        return np.full(reps.n, CARE_BASE)
    return CARE_BASE + CARE_SLOPE * reps.care + CARE_SHIFT * high


def _care_scores(rng: np.random.Generator, latent: np.ndarray, k: int) -> np.ndarray:
    """(n, k) care items on 1-5 around each respondent's latent care."""
    noisy = latent[:, None] + rng.normal(0, ITEM_SD, (len(latent), k))
    return 1.0 + np.clip(np.round(noisy * 4), 0, 4)


def _kept(rng: np.random.Generator, n: int, k_care: int, k_other: int) -> np.ndarray:
    """(n, k_care + k_other): which items are answered (each skipped with ``SKIP``), at least
    one care item per respondent."""
    keep = rng.random((n, k_care + k_other)) >= SKIP
    none = np.flatnonzero(~keep[:, :k_care].any(axis=1))
    keep[none, rng.integers(0, k_care, len(none))] = True
    return keep


def _rows(
    who: dict[str, np.ndarray],
    qids: tuple[str, ...],
    dims: tuple[str, ...],
    scales: tuple[tuple[int, int], ...],
    score: np.ndarray,
    keep: np.ndarray,
) -> dict[str, np.ndarray]:
    """Rows (respondent-major, items in question order) of the answered items."""
    r, q = np.nonzero(keep)
    lo = np.array([s[0] for s in scales], np.float64)
    hi = np.array([s[1] for s in scales], np.float64)
    return {
        **{key: v[r] for key, v in who.items()},
        "question": np.asarray(qids, dtype=object)[q],
        "dimension": np.asarray(dims, dtype=object)[q],
        "score": score[r, q],
        "smin": lo[q],
        "smax": hi[q],
    }


def _others(rng, specs, trait: np.ndarray, latent: np.ndarray) -> np.ndarray:
    cols = []
    for _, _, lo, hi, mean, slope, on_latent, sd in specs:
        x = mean + slope * trait + on_latent * (latent - CARE_BASE)
        cols.append(np.clip(np.round(x + rng.normal(0, sd, len(trait))), lo, hi))
    return np.stack(cols, axis=1)


def customer_answers(
    rng: np.random.Generator, cfg: SynthConfig, reps: Reps, subs: Submissions, m: np.ndarray
) -> dict[str, np.ndarray]:
    """The customer survey's rows of ``subs``; ``m``: each rep's latent care."""
    care_q = customer_items(cfg)
    latent = m[subs.rep] + rng.normal(0, RESPONDENT_SD, subs.n)
    care = _care_scores(rng, latent, len(care_q))
    if cfg.reverse_coded_item:
        care[:, -1] = 6.0 - care[:, -1]
    score = np.concatenate([care, _others(rng, CUSTOMER_OTHER, reps.care[subs.rep], latent)], 1)
    keep = _kept(rng, subs.n, len(care_q), len(CUSTOMER_OTHER))
    who = {
        "submission": np.arange(subs.n),
        "survey": np.full(subs.n, CUSTOMER),
        "respondent": subs.respondent,
        "rtype": np.full(subs.n, CUSTOMER),
        "subject": subs.rep,
        "account": subs.account,
        "time": subs.time,
    }
    qids = care_q + tuple(q[0] for q in CUSTOMER_OTHER)
    dims = (CARE,) * len(care_q) + tuple(q[1] for q in CUSTOMER_OTHER)
    scales = ((1, 5),) * len(care_q) + tuple((q[2], q[3]) for q in CUSTOMER_OTHER)
    return _rows(who, qids, dims, scales, score, keep)


def employee_answers(
    rng: np.random.Generator, cal: Calendar, teams: Teams, reps: Reps, m_leader: np.ndarray
) -> dict[str, np.ndarray]:
    """The anonymous quarterly pulse about the manager: in the last days of each quarter of the
    window, about 80% of the staff hired a month before answer."""
    qends = np.unique(cal.qend[cal.b_start : cal.b_end])
    staff, b = [], []
    for qe in qends[(qends >= cal.b_start) & (qends < cal.b_end)]:
        s = np.flatnonzero((reps.hire_day < cal.days[qe] - 30) & (rng.random(reps.n) < 0.8))
        staff.append(s)
        b.append(qe - rng.integers(0, 8, len(s)) + rng.random(len(s)))
    who_rep = np.concatenate(staff) if staff else np.zeros(0, np.int64)
    b_all = np.concatenate(b) if b else np.zeros(0)
    manager = reps.manager[who_rep]
    time = cal.seconds(b_all, teams.tz[reps.team[who_rep]])
    time = unique_times(manager, time)
    n = len(who_rep)
    has = manager >= 0
    latent = np.where(has, m_leader[np.maximum(manager, 0)], CARE_BASE)
    latent = latent + rng.normal(0, RESPONDENT_SD, n)
    trait = np.where(has, reps.care[np.maximum(manager, 0)], 0.0)
    care = _care_scores(rng, latent, len(EMPLOYEE_CARE))
    score = np.concatenate([care, _others(rng, EMPLOYEE_OTHER, trait, latent)], 1)
    keep = _kept(rng, n, len(EMPLOYEE_CARE), len(EMPLOYEE_OTHER))
    who = {
        "submission": np.full(n, -1),
        "survey": np.full(n, EMPLOYEE),
        "respondent": np.full(n, -1),
        "rtype": np.full(n, EMPLOYEE),
        "subject": manager,
        "account": np.full(n, -1),
        "time": time,
    }
    qids = EMPLOYEE_CARE + tuple(q[0] for q in EMPLOYEE_OTHER)
    dims = (CARE,) * len(EMPLOYEE_CARE) + tuple(q[1] for q in EMPLOYEE_OTHER)
    scales = ((1, 5),) * len(EMPLOYEE_CARE) + tuple((q[2], q[3]) for q in EMPLOYEE_OTHER)
    rows = _rows(who, qids, dims, scales, score, keep)
    # eNPS is about the company, not the manager
    rows["subject"] = np.where(rows["question"] == "ep_enps", -1, rows["subject"])
    return rows


def make_surveys(
    rng: np.random.Generator,
    cfg: SynthConfig,
    cal: Calendar,
    teams: Teams,
    reps: Reps,
    subs: Submissions,
    m: np.ndarray,
    m_leader: np.ndarray,
) -> dict[str, np.ndarray]:
    """Every survey row, in time order (ties: customer rows first, each submission's items in
    question order): the customer surveys of ``subs`` and the employee pulse. ``m``,
    ``m_leader``: each rep's latent care as a rep (customers) and as a manager (employees).
    ``submission`` indexes ``subs`` (-1 on employee rows)."""
    r_customer, r_employee = rng.spawn(2)
    parts = [
        customer_answers(r_customer, cfg, reps, subs, m),
        employee_answers(r_employee, cal, teams, reps, m_leader),
    ]
    out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    order = np.argsort(out["time"], kind="stable")
    return {k: v[order] for k, v in out.items()}


def survey_table(sv: dict[str, np.ndarray], keys: Keys) -> pa.Table:
    return canonical_table(
        "survey_responses",
        {
            "response_id": serial_ids("SR-", len(sv["time"])),
            "survey": take_strings(SURVEYS, sv["survey"]),
            "respondent_id": take_ids(
                keys.contact, np.where(sv["rtype"] == CUSTOMER, sv["respondent"], -1)
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
