"""Teams (territories of unequal potential) and reps (tenure, hidden skill, practice
propensities, planted bright spots, coached teams and rich-territory reps, deal volume); the
teams and reps tables."""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pyarrow as pa

from brightspots.synth.calendar import Calendar, epoch_day
from brightspots.synth.coaching import coach_teams
from brightspots.synth.config import SynthConfig
from brightspots.synth.model import (
    BRIGHT_OFFSET,
    BRIGHT_SKILL,
    BRIGHT_UPLIFT,
    COACHED_SKILL_CLIP,
    PROPENSITY_SD,
    SKILL_SD,
    TERRITORY_SIGMA,
)
from brightspots.synth.tables import Keys, canonical_table, take_ids, take_strings
from brightspots.synth.vocabulary import FIRST_NAMES, LAST_NAMES, REGIONS


@dataclass
class Reps:
    n: int
    team: np.ndarray  # leaf team index
    manager: np.ndarray  # manager rep index or -1
    is_manager: np.ndarray
    role: list[str]
    first: np.ndarray
    last: np.ndarray
    middle: np.ndarray  # -1 or a letter index, for uniqueness beyond the name lists
    tenure: np.ndarray  # years at the end of the window
    hire_day: np.ndarray  # epoch day
    skill: np.ndarray  # the rep's own win log-odds
    coaching: np.ndarray  # win log-odds of the team effect (0 outside a coached team)
    offset: np.ndarray  # (n, 3) practice propensity offsets (logit)
    uplift: np.ndarray  # extra log drift of the booked amount of updated won deals
    cadence: np.ndarray  # decoy: multiplier of the call/e-mail rate
    care: np.ndarray  # hidden care trait (surveys)
    bright: np.ndarray
    rich: np.ndarray
    volume: np.ndarray  # expected opportunities in the window


@dataclass
class Teams:
    n: int  # leaf teams
    region: np.ndarray  # region index per leaf team
    names: list[str]
    log_potential: np.ndarray
    n_regions: int
    tz: np.ndarray  # hours offset per leaf team
    seg_mix: np.ndarray  # (n, 3)


def make_teams(rng: np.random.Generator, n_reps: int) -> Teams:
    """About ten reps per team, four teams per region; each team's territory has a potential
    (lognormal, spread over stratified quantiles so that even two teams differ clearly)."""
    n_teams = max(2, round(n_reps / 10))
    n_regions = min(len(REGIONS), max(1, round(n_teams / 4)))
    region = np.arange(n_teams) % n_regions
    names = []
    for i in range(n_teams):
        pool = REGIONS[region[i]][2]
        j = i // n_regions
        names.append(pool[j % len(pool)] + ("" if j < len(pool) else f" {j // len(pool) + 1}"))
    z = np.array([NormalDist().inv_cdf((i + 0.5) / n_teams) for i in range(n_teams)])
    log_t = TERRITORY_SIGMA * rng.permutation(z) + rng.normal(0, 0.05, n_teams)
    log_t -= log_t.mean()
    seg_logits = np.stack([0.9 - 0.5 * log_t, np.full(n_teams, 0.4), -0.9 + 0.6 * log_t], axis=1)
    seg_mix = np.exp(seg_logits) / np.exp(seg_logits).sum(axis=1, keepdims=True)
    return Teams(
        n=n_teams,
        region=region,
        names=names,
        log_potential=log_t,
        n_regions=n_regions,
        tz=np.array([REGIONS[r][1] for r in region], dtype=np.float64),
        seg_mix=seg_mix,
    )


def make_reps(
    rng: np.random.Generator,
    cfg: SynthConfig,
    cal: Calendar,
    teams: Teams,
    plant: np.random.Generator,
) -> Reps:
    """Reps in teams with a selling manager each; tenure, hidden skill and practice propensities;
    planted bright spots, coached teams and rich-territory reps; expected deal volume. ``plant``
    draws the coached teams and the amount uplift, so that the other draws of ``rng`` do not
    depend on them."""
    R, n_teams, region, log_t = cfg.reps, teams.n, teams.region, teams.log_potential
    min_size = min(5, R // n_teams)
    sizes = min_size + rng.multinomial(R - min_size * n_teams, np.full(n_teams, 1 / n_teams))
    team = np.repeat(np.arange(n_teams), sizes)
    team_first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    is_manager = np.zeros(R, bool)
    is_manager[team_first] = True
    region_head = {}
    for t in range(n_teams):
        region_head.setdefault(region[t], team_first[t])
    manager = team_first[team].copy()
    for t in range(n_teams):
        head = region_head[region[t]]
        manager[team_first[t]] = head if head != team_first[t] else -1

    window_years = cfg.months / 12
    longest = max(10.0, window_years + 5)  # tenure spread up to 10 years
    new = np.zeros(R, bool)  # about 12% hired during the window (never a manager)
    new[rng.permutation(np.flatnonzero(~is_manager))[: max(1, round(0.12 * R))]] = True
    tenure = np.where(
        new, rng.uniform(0.05, window_years, R), rng.uniform(window_years + 0.1, longest, R)
    )
    tenure[is_manager] = rng.uniform(max(3.0, window_years + 0.5), longest + 2, is_manager.sum())

    # rich-territory reps: richest teams, not managers
    n_rich = max(1, round(0.05 * R))
    rich = np.zeros(R, bool)
    for t in np.argsort(-log_t):
        members = np.flatnonzero((team == t) & ~is_manager)
        take = min(n_rich - rich.sum(), max(1, len(members) // 2))
        rich[rng.permutation(members)[:take]] = True
        if rich.sum() >= n_rich:
            break
    tenure[rich] = np.maximum(tenure[rich], rng.uniform(3.0, longest - 1, rich.sum()))

    coaching = coach_teams(plant, cfg, log_t, team, rich)[team]
    coached = coaching != 0
    bright = np.zeros(R, bool)
    if not cfg.null:
        eligible = ~is_manager & ~rich & ~coached & (tenure > window_years + 0.3)
        bright = _choose_bright_spots(rng, max(3, round(0.05 * R)), eligible, team, log_t)

    uplift = np.where(bright, plant.uniform(*BRIGHT_UPLIFT, R), 0.0)
    if cfg.null:
        skill = np.zeros(R)
        offset = np.zeros((R, 3))
    else:
        skill = np.clip(rng.normal(0, SKILL_SD, R), -2.5 * SKILL_SD, 2.5 * SKILL_SD)
        offset = np.clip(
            rng.normal(0, PROPENSITY_SD, (R, 3)), -2 * PROPENSITY_SD, 2 * PROPENSITY_SD
        )
        skill[bright] = rng.uniform(*BRIGHT_SKILL, bright.sum())
        offset[bright] = rng.uniform(*BRIGHT_OFFSET, (bright.sum(), 3))
        if cfg.bright_spot_odds_ratio is not None:
            skill[bright] = math.log(cfg.bright_spot_odds_ratio)
            offset[bright] = 0.0
        # coached reps: the team effect on top of a narrower spread of their own, so that every
        # one of them is modestly above expectation and none stands out alone
        clip = COACHED_SKILL_CLIP
        skill[coached] = np.clip(skill[coached], -clip * SKILL_SD, clip * SKILL_SD)
        offset[coached] = np.clip(offset[coached], -clip * PROPENSITY_SD, clip * PROPENSITY_SD)
        if cfg.team_odds_ratio is not None:
            skill[coached] = 0.0
            offset[coached] = 0.0
        skill[rich] = 0.0
        offset[rich] = 0.0
    cadence = np.exp(rng.normal(0, 0.3, R))
    care = rng.normal(0, 1, R) + np.where(bright, 0.8, 0.0)

    n_combo = len(FIRST_NAMES) * len(LAST_NAMES)
    combo = rng.choice(n_combo * 27 if R > n_combo else n_combo, R, replace=False)
    middle = np.where(combo >= n_combo, combo // n_combo - 1, -1)
    combo = combo % n_combo
    role = []
    for i in range(R):
        if is_manager[i]:
            role.append("Regional Director" if manager[i] < 0 else "Sales Manager")
        elif rich[i]:
            role.append("Key Account Executive")
        else:
            role.append("Senior Account Executive" if tenure[i] > 4 else "Account Executive")

    hire_day = epoch_day(cfg.end) - np.round(tenure * 365.25).astype(np.int64)
    ramp = cal.b_of_day(hire_day) + 22  # a month to ramp up before the first own deal
    active = np.clip(cal.b_end - np.maximum(cal.b_start, ramp), 0, None) / max(
        1, cal.b_end - cal.b_start
    )
    lead = np.exp(0.35 * log_t[team])
    lead /= lead.mean()
    volume = cfg.opportunities_per_rep_month * cfg.months * active * lead
    volume = volume * np.where(is_manager, 0.5, 1.0)
    return Reps(
        n=R,
        team=team,
        manager=manager,
        is_manager=is_manager,
        role=role,
        first=combo // len(LAST_NAMES),
        last=combo % len(LAST_NAMES),
        middle=middle,
        tenure=tenure,
        hire_day=hire_day,
        skill=skill,
        coaching=coaching,
        offset=offset,
        uplift=uplift,
        cadence=cadence,
        care=care,
        bright=bright,
        rich=rich,
        volume=volume,
    )


def _choose_bright_spots(
    rng: np.random.Generator,
    n_bright: int,
    eligible: np.ndarray,
    team: np.ndarray,
    log_t: np.ndarray,
) -> np.ndarray:
    """One in the poorest territory, half of them in territories below the median, the rest
    anywhere; at most one per team while there are teams left, so that a team's result is not
    the sum of several planted reps (the coached team is the team-level plant)."""
    bright = np.zeros(len(team), bool)
    taken = np.zeros(len(log_t), bool)

    def pick(candidates: np.ndarray, k: int) -> None:
        c = rng.permutation(candidates)
        first_of_team = np.zeros(len(c), bool)
        first_of_team[np.unique(team[c], return_index=True)[1]] = True
        fresh = first_of_team & ~taken[team[c]]
        chosen = np.concatenate([c[fresh], c[~fresh]])[: max(0, k)]
        bright[chosen] = True
        taken[team[chosen]] = True

    pick(np.flatnonzero(eligible & (team == np.argmin(log_t))), 1)
    poor = log_t[team] < np.median(log_t)
    pick(np.flatnonzero(eligible & poor & ~bright), math.ceil(n_bright / 2) - bright.sum())
    pick(np.flatnonzero(eligible & ~bright), n_bright - bright.sum())
    return bright


def _ascii(s: str) -> str:
    s = s.translate(str.maketrans({"ø": "o", "Ø": "O", "ł": "l", "ß": "ss", "'": ""}))
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()


def people_tables(teams: Teams, reps: Reps, keys: Keys) -> dict[str, pa.Table]:
    region_names = [REGIONS[i][0] for i in range(teams.n_regions)]
    names, emails = [], []
    for i in range(reps.n):
        first, last = FIRST_NAMES[reps.first[i]], LAST_NAMES[reps.last[i]]
        mid = "" if reps.middle[i] < 0 else chr(65 + int(reps.middle[i]))
        names.append(f"{first} {mid + '. ' if mid else ''}{last}")
        local = ".".join(p for p in (first, mid, last) if p)
        emails.append(_ascii(local).lower().replace(" ", "") + "@brightspots-demo.example")
    parents = [pa.nulls(teams.n_regions, pa.string()), take_ids(keys.region, teams.region)]
    return {
        "teams": canonical_table(
            "teams",
            {
                "team_id": pa.concat_arrays([keys.region, keys.team]),
                "name": region_names + teams.names,
                "parent_team_id": pa.concat_arrays(parents),
            },
        ),
        "reps": canonical_table(
            "reps",
            {
                "rep_id": keys.rep,
                "name": names,
                "team_id": take_ids(keys.team, reps.team),
                "manager_rep_id": take_ids(keys.rep, reps.manager),
                "region": take_strings(region_names, teams.region[reps.team]),
                "role": reps.role,
                "hire_date": pa.array(reps.hire_day.astype(np.int32)).cast(pa.date32()),
                "email": emails,
            },
        ),
    }
