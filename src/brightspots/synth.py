"""A synthetic B2B sales organisation with planted ground truth: the product's test bed.

``generate`` builds the canonical tables of ``shared/data-contract.md`` (teams, reps, accounts,
contacts, opportunities, activities, buyer events, surveys, stories) for an organisation whose
truth is known, ``apply_dirt`` corrupts a share of the rows with every kind of bad row the importer
must quarantine, and ``write`` puts the files and ``truth.json`` in a folder. ``synthesize`` does
all three.

What is planted (all of it visible in the rows, not only in ``truth.json``):

* Territories of unequal potential: each team covers one (lognormal multiplier, the richest
  several times the poorest). Richer territories have bigger accounts, more enterprise accounts,
  more leads, bigger deals and better win odds. Segment, account potential, deal size at creation,
  lead source, the rep's tenure and the quarter also move win odds: that is the case mix.
* Three true practices raise the win odds of a deal (multi-threading early, fast response to buyer
  replies, a meeting before the proposal). Each rep has a hidden propensity for each; a deal's
  practice indicators are drawn from it and leave exact traces in the activity rows.
* Two decoy practices do not change win odds: demos per deal (more in rich territories) and the raw
  number of calls and e-mails on a deal (grows with deal length; won deals last longer).
* Bright spots (about 5% of reps, some in poor territories) have a real skill boost and higher
  practice propensities. Rich-territory reps (about 5%) have average skill but the richest books:
  they top a raw leaderboard of won amount without being bright spots.

Time runs on a business-day axis (weekdays, 08:00-18:00 in the team's time zone, stored in UTC) so
that every ordering planted on that axis survives the conversion to timestamps; buyer replies and
the rep's answers run on the clock. Everything is vectorised numpy (loops only per rep, per
quarter or per chunk of deals) and deterministic by seed: the same config gives byte-identical
files.

``truth.json`` holds the planted reps, every rep's true skill, propensities and true adjusted
ratio, the territories, the win model's coefficients, how to measure each true practice from the
rows, why each decoy is one, and (``dirty``) every bad row by file, line, reason and column with
the counts an importer must report. Dirty mode breaks existing rows except in ``teams`` and
``reps``, where it adds broken stale records instead, so cascades stay in proportion: at
``dirty=0.01`` about 3% of activity rows are quarantined, most of them as cascades.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from brightspots import schema
from brightspots.errors import BrightspotsError
from brightspots.schema import ColumnType, Reason

Progress = Callable[[str, float], None]


class SynthError(BrightspotsError):
    """An impossible synthetic-organisation configuration."""


@dataclass(frozen=True)
class SynthConfig:
    reps: int = 200
    months: int = 18
    seed: int = 7
    end: date = date(2026, 10, 31)  # last day of data; start = end - months
    null: bool = False  # no planted deviants at all
    dirty: float = 0.0  # fraction of rows made bad, across every kind of bad row
    opportunities_per_rep_month: float = 8.0
    activities: int | None = None  # if given, scale opportunity volume to hit ~this many

    def check(self) -> None:
        if self.reps < 10:
            raise SynthError(f"reps must be at least 10 (two teams of five), got {self.reps}")
        if not 3 <= self.months <= 120:
            raise SynthError(f"months must be between 3 and 120, got {self.months}")
        if not 0.0 <= self.dirty <= 0.5:
            raise SynthError(f"dirty must be between 0 and 0.5, got {self.dirty}")
        if not self.opportunities_per_rep_month > 0:
            raise SynthError("opportunities_per_rep_month must be positive")
        if self.activities is not None and self.activities < 1000:
            raise SynthError(f"activities must be at least 1000, got {self.activities}")


@dataclass
class Org:
    """A generated organisation: canonical tables (typed, clean; text after ``apply_dirt``),
    the planted truth, and per-opportunity hidden arrays (aligned with the opportunities table)
    for tests."""

    config: SynthConfig
    tables: dict[str, pa.Table]
    truth: dict[str, Any]
    hidden: dict[str, np.ndarray] = field(default_factory=dict)


# ----------------------------------------------------------------------------- the true model
PRACTICES = ("multi_threading", "fast_response", "meeting_before_proposal")
PRACTICE_EFFECT = np.array([0.55, 0.45, 0.50])  # true win log-odds effects
PRACTICE_BASE = np.array([-0.6, -0.2, 0.0])  # logit of the practice rate of an average rep
PRACTICE_SEGMENT = np.array([[-0.4, 0.0, 0.4], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
SEGMENTS = ("smb", "mid", "enterprise")
SEG_POTENTIAL = np.array([30_000.0, 180_000.0, 900_000.0])  # annual potential, average territory
SEG_EMPLOYEES = np.array([60.0, 700.0, 8000.0])
SEG_WIN = np.array([0.15, 0.0, -0.35])
SEG_CYCLE = np.array([14.0, 30.0, 55.0])  # median business days from creation to close
SOURCES = ("inbound", "outbound", "partner", "referral", "expansion")
SOURCE_WIN = np.array([0.35, -0.45, 0.15, 0.55, 0.80])
QUARTER_WIN = np.array([-0.15, 0.0, -0.05, 0.20])  # quarter of the year the deal was created
BASE_LOGIT = -1.55
TERRITORY_WIN = 0.35  # per log unit of territory potential
ACCOUNT_WIN = 0.12  # per log unit of account potential relative to its territory and segment
DEAL_SIZE_WIN = -0.35  # per log unit of initial amount relative to the account's usual deal
DEAL_SHARE = 0.09  # usual deal = this share of the account's annual potential
TENURE_WIN = -0.7  # ramp-up: TENURE_WIN * exp(-tenure_years / TENURE_SCALE)
TENURE_SCALE = 0.7
TERRITORY_SIGMA = 0.6
DEMO_RATE = 0.45  # decoy: demos per deal in an average territory
DEMO_ELASTICITY = 1.3  # ... times potential ** DEMO_ELASTICITY (more in rich territories)
CADENCE_PER_DAY = 0.18  # decoy: calls and e-mails per open business day, any outcome
SKILL_SD = 0.12
PROPENSITY_SD = 0.45

REGIONS: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    (
        "EMEA",
        1,
        ("DACH", "Nordics", "Benelux", "UK & Ireland", "France", "Iberia", "Italy", "Poland"),
    ),
    (
        "North America",
        -5,
        ("Northeast", "Southeast", "Midwest", "Texas", "West Coast", "Canada", "Mountain"),
    ),
    ("APAC", 8, ("ANZ", "Japan", "Singapore", "India", "Korea", "Greater China")),
    ("LATAM", -3, ("Brazil", "Mexico", "Andes", "Southern Cone", "Central America")),
)
FIRST_NAMES = (
    "Ana", "Ben", "Chloe", "David", "Elena", "Farid", "Grace", "Hiro", "Inès", "Jonas", "Kofi",
    "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera",
    "Wei", "Ximena", "Yusuf", "Zoë", "Aisha", "Bruno", "Carmen", "Diego", "Emma", "Felix",
    "Gabriel", "Hanna", "Ivan", "Julia", "Kenji", "Laura", "Marco", "Nina", "Oscar", "Paula",
    "Rafael", "Sofia", "Tomás", "Ursula", "Viktor", "Wanda", "Yara", "Zeynep", "André", "Beatriz",
    "Connor", "Dalia", "Erik", "Fatima", "Gustav", "Helga", "Ibrahim", "Jana", "Karim", "Leila",
    "Mikael", "Noor", "Olga", "Pedro", "Rania", "Stefan", "Thuy", "Valeria", "José", "Søren",
)  # fmt: skip
LAST_NAMES = (
    "Silva", "Müller", "Okafor", "Nguyen", "Kowalski", "Haddad", "Johansson", "Tanaka", "Rossi",
    "García", "O'Brien", "Dubois", "Novak", "Kim", "Patel", "Schmidt", "Andersen", "Moreau",
    "Costa", "Yilmaz", "Mensah", "Fischer", "Larsen", "Romero", "Chen", "Singh", "Ali",
    "Hoffmann", "Jensen", "Petrov", "Santos", "Murphy", "Walsh", "Kaur", "Berg", "Lindqvist",
    "Ferreira", "Abdi", "Cohen", "Levi", "Weber", "Wagner", "Bauer", "Sato", "Suzuki", "Park",
    "Lee", "Wong", "Reyes", "Cruz", "Flores", "Morales", "Ortiz", "Mendes", "Lopes", "Brown",
    "Taylor", "Wilson", "Clarke", "Evans", "Hughes", "Price", "Kelly", "Byrne", "Nowak", "Eze",
)  # fmt: skip
ACCOUNT_WORDS = (
    "Northwind", "Bluestone", "Redwood", "Silverline", "Ironbridge", "Brightwater", "Greenfield",
    "Summit", "Harbor", "Pinecrest", "Oakridge", "Starling", "Cobalt", "Granite", "Maple",
    "Falcon", "Meridian", "Atlas", "Horizon", "Evergreen", "Riverside", "Crescent", "Orchid",
    "Vertex", "Polaris", "Beacon", "Copper", "Sterling", "Aurora", "Keystone", "Lumen", "Tidal",
)  # fmt: skip
ACCOUNT_NOUNS = (
    "Logistics", "Foods", "Health", "Capital", "Systems", "Energy", "Retail", "Labs",
    "Manufacturing", "Media", "Analytics", "Bank", "Pharma", "Motors", "Textiles", "Telecom",
    "Insurance", "Robotics", "Software", "Hotels", "Freight", "Clinics", "Foundry", "Studios",
)  # fmt: skip
ACCOUNT_SUFFIXES = (
    "Inc", ", Inc.", "Ltd", "GmbH", "LLC", "SA", "AG", "Group", "BV", "& Co", "Oy", "AB",
    "Pty Ltd", "S.A. de C.V.", "KK", "plc",
)  # fmt: skip
INDUSTRIES = (
    "Software", "Manufacturing", "Healthcare", "Financial services", "Retail", "Logistics",
    "Education", "Public sector", "Energy", "Media",
)  # fmt: skip
TITLES = {
    0: ("CEO", "CFO", "CIO", "COO", "VP Operations", "VP Finance", "Head of Procurement", "CTO"),
    1: ("IT Manager", "Procurement Manager", "Operations Manager", "Finance Manager",
        "Head of Sales Ops", "Project Manager"),
    2: ("Analyst", "Buyer", "Engineer", "Coordinator", "Specialist", "Administrator"),
}  # fmt: skip
SENIORITY = ("executive", "manager", "staff")
PRODUCTS = ("Core", "Core + Analytics", "Enterprise Suite", "Add-on: Integrations", "Services")
ACT_TYPES = schema.ACTIVITY_TYPES  # call, email, meeting, demo, proposal, other
CALL, EMAIL, MEETING, DEMO, PROPOSAL, OTHER = range(6)
EV_TYPES = schema.BUYER_EVENT_TYPES
REPLY, ACCEPTED, HELD, CONTENT, PROP_VIEWED, INBOUND = range(6)

ARROW_TYPES: dict[ColumnType, pa.DataType] = {
    ColumnType.STRING: pa.string(),
    ColumnType.INT: pa.int64(),
    ColumnType.FLOAT: pa.float64(),
    ColumnType.MONEY: pa.float64(),
    ColumnType.BOOL: pa.bool_(),
    ColumnType.DATE: pa.date32(),
    ColumnType.TIMESTAMP: pa.timestamp("s"),
}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


# ----------------------------------------------------------------------------- calendar
def _epoch_day(d: date) -> int:
    return (d - date(1970, 1, 1)).days


def _add_months(d: date, months: int) -> date:
    m = d.year * 12 + d.month - 1 + months
    return date(m // 12, m % 12 + 1, 1) if d.day == 1 else _clamp_day(m // 12, m % 12 + 1, d.day)


def _clamp_day(y: int, m: int, day: int) -> date:
    while True:
        try:
            return date(y, m, day)
        except ValueError:
            day -= 1


@dataclass(frozen=True)
class Calendar:
    """Business days (weekdays) around the window; ``b`` is a float position on that axis: the
    integer part picks the day, the fraction the time between 08:00 and 18:00 local time."""

    start: date
    end: date
    days: np.ndarray  # epoch day of each business day
    qend: np.ndarray  # per business day: index of the last business day of its quarter
    b_start: int  # first business day of the window
    b_end: int  # first business day after the window
    cut: int  # epoch seconds of the first instant after the window

    @classmethod
    def build(cls, end: date, months: int) -> Calendar:
        start = _add_months(end + timedelta(days=1), -months)
        all_days = np.arange(_epoch_day(start) - 150, _epoch_day(end) + 1200, dtype=np.int64)
        days = all_days[(all_days + 3) % 7 < 5]  # 1970-01-01 was a Thursday
        quarter = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) // 3
        qend = np.searchsorted(quarter, quarter, side="right") - 1
        return cls(
            start=start,
            end=end,
            days=days,
            qend=qend,
            b_start=int(np.searchsorted(days, _epoch_day(start))),
            b_end=int(np.searchsorted(days, _epoch_day(end) + 1)),
            cut=(_epoch_day(end) + 1) * 86400,
        )

    def seconds(self, b: np.ndarray, tz_hours: np.ndarray) -> np.ndarray:
        """UTC epoch seconds (whole minutes) of business-axis positions in a local time zone."""
        idx = np.clip(np.floor(b).astype(np.int64), 0, len(self.days) - 1)
        frac = np.clip(b - idx, 0.0, 0.9999)
        secs = self.days[idx] * 86400 + 28800 + frac * 36000 - tz_hours * 3600
        return (np.round(secs / 60) * 60).astype(np.int64)

    def b_of_day(self, epoch_day: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.days, epoch_day).astype(np.float64)

    def month_of(self, b: np.ndarray) -> np.ndarray:
        idx = np.clip(np.floor(b).astype(np.int64), 0, len(self.days) - 1)
        return self.days[idx].astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


# ----------------------------------------------------------------------------- helpers
def _ids(prefix: str, n: int, width: int | None = None) -> pa.Array:
    width = width or max(4, len(str(n)))
    nums = pc.cast(pa.array(np.arange(1, n + 1, dtype=np.int64)), pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(nums, width, "0"), "")


def _take(ids: pa.Array, idx: np.ndarray) -> pa.Array:
    """ids[idx] with null where idx < 0."""
    return pc.take(ids, pa.array(idx, type=pa.int64(), mask=idx < 0))


def _pick(rng: np.random.Generator, start: np.ndarray, count: np.ndarray) -> np.ndarray:
    """A uniform random index in [start, start + count) for each row."""
    return start + np.minimum((rng.random(len(start)) * count).astype(np.int64), count - 1)


def _choice(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One category per row from a (rows, k) matrix of probabilities."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs))[:, None] * cum[:, -1:]
    return np.minimum((u > cum).sum(axis=1), probs.shape[1] - 1)


def _ascii(s: str) -> str:
    s = s.translate(str.maketrans({"ø": "o", "Ø": "O", "ł": "l", "ß": "ss", "'": ""}))
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()


def _strs(values: Sequence[str], idx: np.ndarray) -> pa.Array:
    return pc.take(pa.array(list(values), pa.string()), pa.array(idx, pa.int64()))


def _table(name: str, cols: dict[str, Any]) -> pa.Table:
    """A canonical table: exactly the schema's columns in schema order, with Arrow types."""
    t = schema.table(name)
    if set(cols) != set(t.column_names):
        raise AssertionError(f"{name}: columns {sorted(cols)} != {t.column_names}")
    arrays = []
    for c in t.columns:
        v = cols[c.name]
        typ = ARROW_TYPES[c.type]
        if c.type == ColumnType.TIMESTAMP and isinstance(v, np.ndarray):
            arr = pa.array(v, type=pa.int64(), mask=v == NO_TIME).cast(typ)
        elif isinstance(v, np.ndarray):
            arr = pa.array(v, from_pandas=True).cast(typ)
        else:
            arr = v if isinstance(v, pa.Array | pa.ChunkedArray) else pa.array(v, type=typ)
            arr = arr.cast(typ)
        arrays.append(arr)
    return pa.table(arrays, names=t.column_names)


NO_TIME = np.iinfo(np.int64).min


# ----------------------------------------------------------------------------- structure
@dataclass
class _Reps:
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
    skill: np.ndarray
    offset: np.ndarray  # (n, 3) practice propensity offsets (logit)
    cadence: np.ndarray  # decoy: multiplier of the call/e-mail rate
    care: np.ndarray  # hidden care trait (surveys)
    bright: np.ndarray
    rich: np.ndarray
    volume: np.ndarray  # expected opportunities in the window


@dataclass
class _Teams:
    n: int  # leaf teams
    region: np.ndarray  # region index per leaf team
    names: list[str]
    log_potential: np.ndarray
    n_regions: int
    tz: np.ndarray  # hours offset per leaf team
    seg_mix: np.ndarray  # (n, 3)


def _teams(rng: np.random.Generator, n_reps: int) -> _Teams:
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
    return _Teams(
        n=n_teams,
        region=region,
        names=names,
        log_potential=log_t,
        n_regions=n_regions,
        tz=np.array([REGIONS[r][1] for r in region], dtype=np.float64),
        seg_mix=seg_mix,
    )


def _reps(rng: np.random.Generator, cfg: SynthConfig, cal: Calendar, teams: _Teams) -> _Reps:
    """Reps in teams with a selling manager each; tenure, hidden skill and practice propensities;
    planted bright spots and rich-territory reps; expected deal volume."""
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

    bright = np.zeros(R, bool)
    if not cfg.null:
        n_bright = max(3, round(0.05 * R))
        eligible = ~is_manager & ~rich & (tenure > window_years + 0.3)
        poor = log_t[team] < np.median(log_t)
        poorest = team == np.argmin(log_t)
        first = rng.permutation(np.flatnonzero(eligible & poorest))[:1]
        bright[first] = True
        n_poor = math.ceil(n_bright / 2) - len(first)
        more = rng.permutation(np.flatnonzero(eligible & poor & ~bright))[:n_poor]
        bright[more] = True
        rest = rng.permutation(np.flatnonzero(eligible & ~bright))[: n_bright - bright.sum()]
        bright[rest] = True

    if cfg.null:
        skill = np.zeros(R)
        offset = np.zeros((R, 3))
    else:
        skill = np.clip(rng.normal(0, SKILL_SD, R), -2.5 * SKILL_SD, 2.5 * SKILL_SD)
        offset = np.clip(
            rng.normal(0, PROPENSITY_SD, (R, 3)), -2 * PROPENSITY_SD, 2 * PROPENSITY_SD
        )
        skill[bright] = rng.uniform(0.8, 1.2, bright.sum())
        offset[bright] = rng.uniform(0.9, 1.4, (bright.sum(), 3))
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

    hire_day = _epoch_day(cfg.end) - np.round(tenure * 365.25).astype(np.int64)
    ramp = cal.b_of_day(hire_day) + 22  # a month to ramp up before the first own deal
    active = np.clip(cal.b_end - np.maximum(cal.b_start, ramp), 0, None) / max(
        1, cal.b_end - cal.b_start
    )
    lead = np.exp(0.35 * log_t[team])
    lead /= lead.mean()
    volume = cfg.opportunities_per_rep_month * cfg.months * active * lead
    volume = volume * np.where(is_manager, 0.5, 1.0)
    return _Reps(
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
        offset=offset,
        cadence=cadence,
        care=care,
        bright=bright,
        rich=rich,
        volume=volume,
    )


# ----------------------------------------------------------------------------- accounts
@dataclass
class _Accounts:
    n: int
    owner: np.ndarray
    segment: np.ndarray
    industry: np.ndarray
    employees: np.ndarray
    potential: np.ndarray
    log_rel: np.ndarray  # log potential relative to its territory and segment norm
    customer: np.ndarray
    c_start: np.ndarray  # first contact index
    c_count: np.ndarray
    rep_start: np.ndarray  # per rep: first account index
    rep_count: np.ndarray
    weight_cum: np.ndarray  # cumulative opportunity weights, accounts in rep order


def _accounts(rng: np.random.Generator, teams: _Teams, reps: _Reps, opp_per_account: float):
    per_rep = np.maximum(12, np.ceil(reps.volume / opp_per_account)).astype(np.int64)
    owner = np.repeat(np.arange(reps.n), per_rep)
    n = len(owner)
    team = reps.team[owner]
    mix = teams.seg_mix[team]
    mix[reps.rich[owner]] = [0.05, 0.30, 0.65]
    segment = _choice(rng, mix)
    industry = rng.integers(0, len(INDUSTRIES), n)
    emp_sd = np.array([0.7, 0.6, 1.0])[segment]
    employees = SEG_EMPLOYEES[segment] * np.exp(rng.normal(0, 1, n) * emp_sd)
    lo = np.array([5, 200, 2000])[segment]
    hi = np.array([250, 3000, 300_000])[segment]
    employees = np.clip(np.round(employees), lo, hi).astype(np.int64)
    log_rel = 0.4 * np.log(employees / SEG_EMPLOYEES[segment]) + rng.normal(0, 0.35, n)
    log_rel = log_rel + np.where(reps.rich[owner], np.log(3.0), 0.0)
    potential = SEG_POTENTIAL[segment] * np.exp(teams.log_potential[team] + log_rel)
    potential = np.maximum(1000.0, np.round(potential / 1000) * 1000)
    customer = rng.random(n) < np.array([0.25, 0.30, 0.40])[segment]
    c_count = 3 + rng.poisson(np.array([0.5, 2.0, 5.0])[segment])
    c_start = np.concatenate([[0], np.cumsum(c_count)[:-1]])
    weight = np.sqrt(potential)
    rep_count = per_rep
    rep_start = np.concatenate([[0], np.cumsum(per_rep)[:-1]])
    return _Accounts(
        n=n,
        owner=owner,
        segment=segment,
        industry=industry,
        employees=employees,
        potential=potential,
        log_rel=log_rel,
        customer=customer,
        c_start=c_start,
        c_count=c_count,
        rep_start=rep_start,
        rep_count=rep_count,
        weight_cum=np.cumsum(weight),
    )


# ----------------------------------------------------------------------------- opportunities
@dataclass
class _Opps:
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


def _opportunities(
    rng: np.random.Generator,
    cal: Calendar,
    teams: _Teams,
    reps: _Reps,
    acc: _Accounts,
) -> _Opps:
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
    source = _choice(rng, np.where(acc.customer[account][:, None], cust_src, new_src))

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
    q = _sigmoid(PRACTICE_BASE + PRACTICE_SEGMENT.T[segment] + reps.offset[rep])
    practice = rng.random((n, 3)) < q
    eta = eta0 + reps.skill[rep] + practice @ PRACTICE_EFFECT
    p_win = _sigmoid(eta)
    won = rng.random(n) < p_win

    cycle = SEG_CYCLE[segment] * np.where(won, 1.45, 0.85) * np.where(source == 4, 0.7, 1.0)
    cycle = cycle * np.exp(rng.normal(0, 0.45, n))
    quick = ~won & (rng.random(n) < 0.15)  # disqualified early
    cycle = np.clip(np.where(quick, cycle * 0.3, cycle), 1.5, 400.0)
    b_close = b_created + cycle
    # quarter-end push: won deals about to close are booked on the last days of the quarter
    idx = np.floor(b_close).astype(np.int64)
    qend = cal.qend[np.clip(idx, 0, len(cal.qend) - 1)]
    push = won & (qend - idx <= 10) & (rng.random(n) < 0.45)
    b_close = np.where(push, np.maximum(b_close, qend + rng.uniform(0.3, 0.95, n)), b_close)

    tz = teams.tz[team]
    created = cal.seconds(b_created, tz)
    closed = cal.seconds(b_close, tz)
    is_closed = closed < cal.cut

    drift = np.where(
        won,
        np.exp(rng.normal(0.10, 0.25, n)),
        np.where(rng.random(n) < 0.6, 1.0, np.exp(rng.normal(-0.05, 0.15, n))),
    )
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
    return _Opps(
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


# ----------------------------------------------------------------------------- activities
@dataclass
class _Rows:
    """Activity or buyer-event rows of one chunk (global indices; -1 = none)."""

    time: list[np.ndarray] = field(default_factory=list)
    opp: list[np.ndarray] = field(default_factory=list)
    contact: list[np.ndarray] = field(default_factory=list)
    kind: list[np.ndarray] = field(default_factory=list)
    duration: list[np.ndarray] = field(default_factory=list)
    bulk: list[np.ndarray] = field(default_factory=list)
    account: list[np.ndarray] = field(default_factory=list)
    rep: list[np.ndarray] = field(default_factory=list)

    def add(self, time, opp, contact, kind, account, rep, duration=None, bulk=False) -> None:
        n = len(time)
        self.time.append(np.asarray(time, np.int64))
        self.opp.append(np.asarray(opp, np.int64))
        self.contact.append(np.asarray(contact, np.int64))
        self.kind.append(np.broadcast_to(np.asarray(kind, np.int8), n).copy())
        self.duration.append(
            np.full(n, np.nan, np.float32) if duration is None else duration.astype(np.float32)
        )
        self.bulk.append(np.full(n, bulk, bool))
        self.account.append(np.asarray(account, np.int64))
        self.rep.append(np.asarray(rep, np.int64))

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            k: np.concatenate(getattr(self, k))
            for k in ("time", "opp", "contact", "kind", "duration", "bulk", "account", "rep")
        }


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


def _segmented_pick(rng, group: np.ndarray, n_groups: int, draws: np.ndarray) -> np.ndarray:
    """For rows sorted by ``group``: pick ``draws[g]`` random row indices of each group g (with
    replacement). Returns the picked row indices, grouped by g."""
    counts = np.bincount(group, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    g = np.repeat(np.arange(n_groups), np.where(counts > 0, draws, 0))
    return _pick(rng, starts[g], counts[g])


def _activity_chunk(
    rng: np.random.Generator,
    cal: Calendar,
    teams: _Teams,
    reps: _Reps,
    acc: _Accounts,
    o: _Opps,
    sl: slice,
    acts: _Rows,
    evs: _Rows,
) -> None:
    """All activities and buyer events of the opportunities in ``sl`` (vectorised)."""
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

    def contact_for(local: np.ndarray, b: np.ndarray, p_primary: float) -> np.ndarray:
        """A contact for a non-intro activity: before day 14 of a single-threaded deal only the
        main contact; else mostly the main contact, sometimes anyone at the account."""
        anyone = _pick(rng, c0[local], cn[local])
        pick = np.where(rng.random(len(local)) < p_primary, primary[local], anyone)
        early_single = ~mt[local] & (b < mt_end[local])
        return np.where(early_single, primary[local], pick)

    # --- intro touches: who the rep reaches in the first days (multi-threading)
    n_intro = np.where(mt, 3 + rng.poisson(0.8, n), 2 + rng.poisson(0.5, n))
    li = np.repeat(np.arange(n), n_intro)
    k = np.arange(len(li)) - np.repeat(np.cumsum(n_intro) - n_intro, n_intro)
    random_any = _pick(rng, c0[li], cn[li])
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
    acts.add(
        touch_t,
        ids[touch_l],
        touch_c,
        touch_k,
        account[touch_l],
        rep[touch_l],
        _durations(rng, touch_k),
    )

    # --- buyer replies to touches, and the rep's response time (fast response)
    order = np.argsort(touch_l, kind="stable")
    n_reply = rng.poisson(0.5 + 0.9 * won + 0.012 * dur)
    picked = order[_segmented_pick(rng, touch_l[order], n, n_reply)]
    rl = touch_l[picked]
    r_time = touch_t[picked] + (np.exp(rng.normal(np.log(4.0), 1.1, len(rl))) * 3600).astype(
        np.int64
    )
    r_contact = touch_c[picked]
    close_t = o.closed[sl]
    keep = r_time < np.minimum(close_t[rl], cal.cut)
    rl, r_time, r_contact = rl[keep], r_time[keep], r_contact[keep]
    evs.add(r_time, ids[rl], r_contact, REPLY, account[rl], rep[rl])
    fast = rng.random(len(rl)) < np.where(fr[rl], 0.9, 0.12)
    fast_h = np.clip(np.exp(rng.normal(np.log(0.8), 0.7, len(rl))), 0.05, 3.8)
    slow_h = 4.2 + np.exp(rng.normal(np.log(14.0), 0.7, len(rl)))
    resp_t = r_time + (np.where(fast, fast_h, slow_h) * 3600).astype(np.int64)
    keep = (rng.random(len(rl)) < 0.94) & (resp_t < np.minimum(close_t[rl], cal.cut))
    resp_kind = np.where(rng.random(len(rl)) < 0.7, EMAIL, CALL)[keep]
    acts.add(
        resp_t[keep],
        ids[rl[keep]],
        r_contact[keep],
        resp_kind,
        account[rl[keep]],
        rep[rl[keep]],
        _durations(rng, resp_kind),
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
    meet_b = bc[lm] + 0.2 + (meet_end[lm] - bc[lm] - 0.2) * rng.uniform(0.15, 0.85, len(lm))
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
    acts.add(m_time, ids[ml], m_contact, m_kind, account[ml], rep[ml], _durations(rng, m_kind))
    lmm = m_kind == MEETING
    acc_t = m_time[lmm] - (rng.uniform(1, 120, lmm.sum()) * 3600).astype(np.int64)
    acc_t = np.maximum(acc_t, o.created[sl][ml[lmm]] + 60)
    evs.add(acc_t, ids[ml[lmm]], m_contact[lmm], ACCEPTED, account[ml[lmm]], rep[ml[lmm]])
    held = lmm & (rng.random(len(ml)) < 0.88)
    evs.add(m_time[held], ids[ml[held]], m_contact[held], HELD, account[ml[held]], rep[ml[held]])

    demo_rate = DEMO_RATE * np.exp(DEMO_ELASTICITY * teams.log_potential[reps.team[rep]])
    ld = np.repeat(np.arange(n), rng.poisson(demo_rate))
    lo = np.where(prop[ld] & ~mbp[ld], prop_b[ld], bc[ld] + 0.3)
    demo_b = lo + (bx[ld] - lo) * rng.uniform(0.05, 0.95, len(ld))
    demo_contact = contact_for(ld, demo_b, 0.5)
    demo_t = cal.seconds(demo_b, tz_o[ld])
    acts.add(
        demo_t,
        ids[ld],
        demo_contact,
        DEMO,
        account[ld],
        rep[ld],
        _durations(rng, np.full(len(ld), DEMO)),
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
    evs.add(cv_t, ids[cv_l], cv_c, CONTENT, account[cv_l], rep[cv_l])

    # --- inbound requests before inbound deals
    lin = np.flatnonzero(o.source[sl] == 0)
    in_t = o.created[sl][lin] - rng.integers(600, 2 * 86400, len(lin))
    in_opp = np.where(rng.random(len(lin)) < 0.8, ids[lin], -1)
    evs.add(in_t, in_opp, primary[lin], INBOUND, account[lin], rep[lin])

    # --- bulk e-mails (never a touch) and account-level touches without an opportunity
    floor = np.maximum(cal.b_start, cal.b_of_day(reps.hire_day[rep]))  # no rows before the hire
    lb = np.repeat(np.arange(n), rng.poisson(0.9, n))
    lo = np.maximum(bc[lb] - 15, floor[lb])
    bulk_b = lo + rng.random(len(lb)) * (bx[lb] - lo)
    bulk_opp = np.where(bulk_b >= bc[lb], ids[lb], -1)
    bulk_c = _pick(rng, c0[lb], cn[lb])
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

    la = np.repeat(np.arange(n), rng.poisson(0.35, n))
    lo = np.maximum(bc[la] - 40, floor[la])
    acct_b = lo + rng.random(len(la)) * (bx[la] + 20 - lo)
    acct_c = np.where(rng.random(len(la)) < 0.15, -1, _pick(rng, c0[la], cn[la]))
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


# ----------------------------------------------------------------------------- surveys, stories
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


def _surveys(rng, cal: Calendar, teams: _Teams, reps: _Reps, o: _Opps) -> dict[str, np.ndarray]:
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


STORY_TITLES = (
    "How we won {account}",
    "{account}: from first call to signature",
    "Lessons from the {account} deal",
    "Turning {account} around",
)
STORY_LINES = {
    "multi_threading": (
        "In the first week we met the {title} as well as the project team, so the deal never "
        'hung on one person. The {title} said: "you understood our priorities early."'
    ),
    "fast_response": (
        "Every reply got an answer the same morning; when they asked for references, they had "
        "them within the hour."
    ),
    "meeting_before_proposal": (
        "We held a working session before writing the proposal, so the proposal answered their "
        "questions, not ours."
    ),
    "demo": "We ran a tailored demo for the operations team, then another for IT.",
    "persistence": "It took a lot of calls and e-mails, but we stayed on it.",
}


def _stories(
    rng,
    cal: Calendar,
    reps: _Reps,
    o: _Opps,
    acc: _Accounts,
    acc_names: pa.Array,
    titles: pa.Array,
) -> list[tuple]:
    """A few stories told by reps about their won deals (bright spots tell more of them)."""
    won = o.won & o.is_closed
    tellers = np.flatnonzero(rng.random(reps.n) < np.where(reps.bright, 0.7, 0.2))
    rows = []
    first_won = np.searchsorted(o.rep, np.arange(reps.n))
    last_won = np.searchsorted(o.rep, np.arange(reps.n), side="right")
    for r in tellers:
        mine = first_won[r] + np.flatnonzero(won[first_won[r] : last_won[r]])
        if not len(mine):
            continue
        for i in rng.choice(mine, min(len(mine), int(rng.integers(1, 4))), replace=False):
            created = int(o.closed[i] + rng.integers(2 * 86400, 40 * 86400))
            if created >= cal.cut:
                continue
            name = acc_names[int(o.account[i])].as_py()
            title = STORY_TITLES[int(rng.integers(len(STORY_TITLES)))].format(account=name)
            used = [p for p, flag in zip(PRACTICES, o.practice[i], strict=True) if flag]
            extra = ["demo"] if rng.random() < 0.4 else ["persistence"]
            exec_title = titles[int(acc.c_start[o.account[i]])].as_py() or "CFO"
            paras = [STORY_LINES[k].format(title=exec_title) for k in used + extra]
            body = "\n\n".join(paras) if rng.random() < 0.5 else " ".join(paras)
            tags = ";".join(k.replace("_", "-") for k in used + extra)
            rows.append(
                (
                    r,
                    int(o.account[i]),
                    i if rng.random() < 0.85 else -1,
                    title,
                    body,
                    tags or None,
                    created,
                )
            )
    rows.sort(key=lambda x: x[-1])
    return rows


# ----------------------------------------------------------------------------- truth helpers
def _true_ratio(reps: _Reps, o: _Opps) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per rep over their closed deals: expected wins with their true skill and practice
    propensities, and with an average rep's (skill 0, propensity offsets 0)."""
    closed = o.is_closed
    rep, seg, eta0 = o.rep[closed], o.segment[closed], o.eta0[closed]
    q_rep = _sigmoid(PRACTICE_BASE + PRACTICE_SEGMENT.T[seg] + reps.offset[rep])
    q_avg = _sigmoid(PRACTICE_BASE + PRACTICE_SEGMENT.T[seg])
    e_rep = np.zeros(len(rep))
    e_avg = np.zeros(len(rep))
    for combo in range(8):
        x = np.array([(combo >> k) & 1 for k in range(3)], dtype=np.float64)
        p_rep = np.prod(np.where(x == 1, q_rep, 1 - q_rep), axis=1)
        p_avg = np.prod(np.where(x == 1, q_avg, 1 - q_avg), axis=1)
        e_rep += p_rep * _sigmoid(eta0 + reps.skill[rep] + x @ PRACTICE_EFFECT)
        e_avg += p_avg * _sigmoid(eta0 + x @ PRACTICE_EFFECT)
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


# ----------------------------------------------------------------------------- generate
ACTIVITIES_PER_OPP = 13.3  # average activity rows per opportunity (used to scale to a target)
OPP_PER_ACCOUNT = 1.7  # opportunities per account over the window
CHUNK_OPPS = 100_000


def generate(config: SynthConfig, progress: Progress | None = None) -> Org:
    """Generate a clean organisation with planted truth (deterministic by ``config.seed``)."""
    config.check()
    report = progress or (lambda step, fraction: None)
    cal = Calendar.build(config.end, config.months)
    r_struct, r_acc, r_opp, r_act, r_misc = np.random.default_rng(config.seed).spawn(5)
    report("teams and reps", 0.0)
    teams = _teams(r_struct, config.reps)
    reps = _reps(r_struct, config, cal, teams)
    if config.activities:
        reps.volume = reps.volume * config.activities / (ACTIVITIES_PER_OPP * reps.volume.sum())
    acc = _accounts(r_acc, teams, reps, OPP_PER_ACCOUNT)
    report("opportunities", 0.05)
    o = _opportunities(r_opp, cal, teams, reps, acc)
    acts, evs = _Rows(), _Rows()
    for start in range(0, o.n, CHUNK_OPPS):
        sl = slice(start, min(o.n, start + CHUNK_OPPS))
        _activity_chunk(r_act, cal, teams, reps, acc, o, sl, acts, evs)
        report("activities", 0.1 + 0.55 * sl.stop / max(1, o.n))

    report("tables", 0.7)
    keys = _Keys(
        region=_ids("RG-", teams.n_regions, 2),
        team=_ids("TM-", teams.n, 3),
        rep=_ids("R-", reps.n),
        account=_ids("AC-", acc.n),
        contact=_ids("CT-", int(acc.c_count.sum())),
        opportunity=_ids("OP-", o.n),
    )
    tables = _people_tables(teams, reps, keys)
    tables |= _account_tables(r_misc, cal, teams, reps, acc, o, keys)
    tables["opportunities"] = _opportunity_table(r_misc, o, keys)
    report("activities table", 0.75)
    tables["activities"] = _activity_table(acts.arrays(), cal, keys)
    del acts
    report("buyer events table", 0.85)
    tables["buyer_events"] = _event_table(r_misc, evs.arrays(), cal, keys)
    del evs
    report("surveys and stories", 0.9)
    tables["survey_responses"] = _survey_table(_surveys(r_misc, cal, teams, reps, o), keys)
    names, titles = tables["accounts"].column("name"), tables["contacts"].column("title")
    tables["stories"] = _story_table(_stories(r_misc, cal, reps, o, acc, names, titles), keys)
    tables = {name: tables[name] for name in schema.IMPORT_ORDER}

    truth = _truth(config, cal, teams, reps, acc, o, tables)
    hidden = {
        "won": o.won,
        "p_win": o.p_win,
        "eta0": o.eta0,
        **{p: o.practice[:, k] for k, p in enumerate(PRACTICES)},
        "has_proposal": o.has_proposal,
    }
    report("generated", 1.0)
    return Org(config=config, tables=tables, truth=truth, hidden=hidden)


@dataclass(frozen=True)
class _Keys:
    """The key columns of the canonical tables, indexed like the generator's arrays."""

    region: pa.Array
    team: pa.Array  # leaf teams
    rep: pa.Array
    account: pa.Array
    contact: pa.Array
    opportunity: pa.Array


def _people_tables(teams: _Teams, reps: _Reps, keys: _Keys) -> dict[str, pa.Table]:
    region_names = [REGIONS[i][0] for i in range(teams.n_regions)]
    names, emails = [], []
    for i in range(reps.n):
        first, last = FIRST_NAMES[reps.first[i]], LAST_NAMES[reps.last[i]]
        mid = "" if reps.middle[i] < 0 else chr(65 + int(reps.middle[i]))
        names.append(f"{first} {mid + '. ' if mid else ''}{last}")
        local = ".".join(p for p in (first, mid, last) if p)
        emails.append(_ascii(local).lower().replace(" ", "") + "@brightspots-demo.example")
    parents = [pa.nulls(teams.n_regions, pa.string()), _take(keys.region, teams.region)]
    return {
        "teams": _table(
            "teams",
            {
                "team_id": pa.concat_arrays([keys.region, keys.team]),
                "name": region_names + teams.names,
                "parent_team_id": pa.concat_arrays(parents),
            },
        ),
        "reps": _table(
            "reps",
            {
                "rep_id": keys.rep,
                "name": names,
                "team_id": _take(keys.team, reps.team),
                "manager_rep_id": _take(keys.rep, reps.manager),
                "region": _strs(region_names, teams.region[reps.team]),
                "role": reps.role,
                "hire_date": pa.array(reps.hire_day.astype(np.int32)).cast(pa.date32()),
                "email": emails,
            },
        ),
    }


def _account_tables(
    rng, cal: Calendar, teams: _Teams, reps: _Reps, acc: _Accounts, o: _Opps, keys: _Keys
) -> dict[str, pa.Table]:
    # accounts are created before their first deal (customers long before the window)
    never = np.iinfo(np.int64).max
    first_opp = np.full(acc.n, never)
    np.minimum.at(first_opp, o.account, o.created)
    start = _epoch_day(cal.start) * 86400
    u = rng.random(acc.n)
    created = np.where(
        acc.customer,
        start - ((180 + u * 2800) * 86400).astype(np.int64),
        np.where(
            first_opp < never,
            first_opp - ((1 / 24 + u * 400) * 86400).astype(np.int64),
            start + ((u - 0.4) * (cal.cut - start)).astype(np.int64),
        ),
    )
    created = np.minimum(created, first_opp - 3600)
    n_w, n_n = len(ACCOUNT_WORDS), len(ACCOUNT_NOUNS)
    word = rng.integers(0, n_w * n_n * len(ACCOUNT_SUFFIXES), acc.n)
    names = pc.binary_join_element_wise(
        _strs(ACCOUNT_WORDS, word % n_w),
        _strs(ACCOUNT_NOUNS, (word // n_w) % n_n),
        _strs(ACCOUNT_SUFFIXES, word // (n_w * n_n)),
        " ",
    )
    owner = np.where(rng.random(acc.n) < 0.01, -1, acc.owner)  # a few unassigned accounts
    region_names = [REGIONS[i][0] for i in range(teams.n_regions)]
    accounts = _table(
        "accounts",
        {
            "account_id": keys.account,
            "name": pc.replace_substring(names, " ,", ","),
            "owner_rep_id": _take(keys.rep, owner),
            "segment": _strs(SEGMENTS, acc.segment),
            "industry": _strs(INDUSTRIES, acc.industry),
            "region": _strs(region_names, teams.region[reps.team[acc.owner]]),
            "employees": acc.employees,
            "annual_potential": acc.potential,
            "created_at": created,
        },
    )
    # contacts: an executive, a manager and a staff member first, then anyone
    n = len(keys.contact)
    c_account = np.repeat(np.arange(acc.n), acc.c_count)
    pos = np.arange(n) - acc.c_start[c_account]
    later = _choice(rng, np.tile([0.15, 0.4, 0.45], (n, 1)))
    seniority = np.where(pos < 3, np.minimum(pos, 2), later)
    sizes = np.array([len(TITLES[s]) for s in range(3)])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    title = offsets[seniority] + rng.integers(0, 1000, n) % sizes[seniority]
    title = np.where(rng.random(n) < 0.05, -1, title)
    contacts = _table(
        "contacts",
        {
            "contact_id": keys.contact,
            "account_id": _take(keys.account, c_account),
            "title": _take(pa.array([t for s in range(3) for t in TITLES[s]]), title),
            "seniority": _strs(SENIORITY, seniority),
        },
    )
    return {"accounts": accounts, "contacts": contacts}


def _opportunity_table(rng, o: _Opps, keys: _Keys) -> pa.Table:
    source = np.where(rng.random(o.n) < 0.02, -1, o.source)  # a few without a source
    return _table(
        "opportunities",
        {
            "opportunity_id": keys.opportunity,
            "account_id": _take(keys.account, o.account),
            "owner_rep_id": _take(keys.rep, o.rep),
            "created_at": o.created,
            "closed_at": np.where(o.is_closed, o.closed, NO_TIME),
            "stage": _strs(schema.STAGES, np.where(o.is_closed, np.where(o.won, 1, 2), 0)),
            "amount": o.amount,
            "initial_amount": o.initial_amount,
            "source": _take(pa.array(SOURCES), source),
            "product": _strs(PRODUCTS, o.product),
        },
    )


def _in_window(rows: dict[str, np.ndarray], cal: Calendar) -> dict[str, np.ndarray]:
    """Rows before the end of the window, in time order."""
    keep = np.flatnonzero(rows["time"] < cal.cut)
    order = keep[np.argsort(rows["time"][keep], kind="stable")]
    return {k: v[order] for k, v in rows.items()}


def _activity_table(rows: dict[str, np.ndarray], cal: Calendar, keys: _Keys) -> pa.Table:
    a = _in_window(rows, cal)
    return _table(
        "activities",
        {
            "activity_id": _ids("AT-", len(a["time"])),
            "rep_id": _take(keys.rep, a["rep"]),
            "account_id": _take(keys.account, a["account"]),
            "opportunity_id": _take(keys.opportunity, a["opp"]),
            "contact_id": _take(keys.contact, a["contact"]),
            "type": _strs(ACT_TYPES, a["kind"].astype(np.int64)),
            "occurred_at": a["time"],
            "duration_minutes": a["duration"].astype(np.float64),
            "is_bulk": a["bulk"],
        },
    )


def _event_table(rng, rows: dict[str, np.ndarray], cal: Calendar, keys: _Keys) -> pa.Table:
    other = (rng.random(len(rows["kind"])) < 0.01) & (rows["kind"] == CONTENT)
    rows["kind"] = np.where(other, len(EV_TYPES) - 1, rows["kind"])  # e.g. a webinar sign-up
    e = _in_window(rows, cal)
    return _table(
        "buyer_events",
        {
            "event_id": _ids("BE-", len(e["time"])),
            "account_id": _take(keys.account, e["account"]),
            "opportunity_id": _take(keys.opportunity, e["opp"]),
            "contact_id": _take(keys.contact, e["contact"]),
            "type": _strs(EV_TYPES, e["kind"].astype(np.int64)),
            "occurred_at": e["time"],
        },
    )


def _survey_table(sv: dict[str, np.ndarray], keys: _Keys) -> pa.Table:
    return _table(
        "survey_responses",
        {
            "response_id": _ids("SR-", len(sv["time"])),
            "survey": _strs(("Customer onboarding survey", "Quarterly team pulse"), sv["survey"]),
            "respondent_id": _take(keys.contact, np.where(sv["rtype"] == 0, sv["respondent"], -1)),
            "respondent_type": _strs(schema.RESPONDENT_TYPES, sv["rtype"]),
            "subject_rep_id": _take(keys.rep, sv["subject"]),
            "account_id": _take(keys.account, sv["account"]),
            "question_id": sv["question"].astype(str).tolist(),
            "dimension": sv["dimension"].astype(str).tolist(),
            "score": sv["score"].astype(np.float64),
            "scale_min": sv["smin"].astype(np.float64),
            "scale_max": sv["smax"].astype(np.float64),
            "submitted_at": sv["time"].astype(np.int64),
        },
    )


def _story_table(st: list[tuple], keys: _Keys) -> pa.Table:
    def col(k: int) -> np.ndarray:
        return np.array([s[k] for s in st], np.int64)

    return _table(
        "stories",
        {
            "story_id": _ids("ST-", len(st)),
            "rep_id": _take(keys.rep, col(0)),
            "account_id": _take(keys.account, col(1)),
            "opportunity_id": _take(keys.opportunity, col(2)),
            "title": [s[3] for s in st],
            "body": [s[4] for s in st],
            "tags": [s[5] for s in st],
            "created_at": col(6),
        },
    )


def _truth(
    cfg: SynthConfig,
    cal: Calendar,
    teams: _Teams,
    reps: _Reps,
    acc: _Accounts,
    o: _Opps,
    tables: dict[str, pa.Table],
) -> dict[str, Any]:
    rep_ids = tables["reps"].column("rep_id").to_pylist()
    team_ids = tables["teams"].column("team_id").to_pylist()[teams.n_regions :]
    exp_rep, exp_avg, n_closed = _true_ratio(reps, o)
    wins = np.bincount(o.rep[o.is_closed & o.won], minlength=reps.n)
    book = np.bincount(acc.owner, acc.potential, minlength=reps.n) / np.maximum(
        1, np.bincount(acc.owner, minlength=reps.n)
    )
    q_avg = _sigmoid(PRACTICE_BASE[None, :] + reps.offset)  # at a mid-market deal
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
                "hired_in_window": bool(reps.hire_day[i] > _epoch_day(cal.start)),
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
        "dirty": _no_dirt(tables, "csv"),
    }


# ----------------------------------------------------------------------------- dirty rows
CONFLICT, REPEAT = "conflict", "repeat"
QUARANTINE_KINDS = (
    Reason.MISSING_KEY,
    Reason.MISSING_REQUIRED,
    Reason.BAD_VALUE,
    Reason.BAD_ENUM,
    Reason.MISSING_REFERENCE,
    Reason.CLOSED_AT_REQUIRED,
    Reason.CLOSED_BEFORE_CREATED,
)
BAD_VALUES: dict[ColumnType, tuple[str, ...]] = {
    ColumnType.INT: ("1.5x", "twelve", "12-3"),
    ColumnType.FLOAT: ("abc", "4..5", "1,2,3"),
    ColumnType.MONEY: ("abc", "12,5k", "1.2.3"),
    ColumnType.BOOL: ("maybe", "yes please", "2"),
    ColumnType.DATE: ("not-a-date", "2025-13-45", "31.02.2025"),
    ColumnType.TIMESTAMP: ("not-a-date", "2025-02-30 10:00:00", "yesterday 5pm"),
}
BAD_ENUMS: dict[str, tuple[str, ...]] = {
    "stage": ("won!", "closed won?", "pending"),
    "type": ("fax", "carrier pigeon", "sms"),
    "seniority": ("boss", "intern", "c-level"),
    "respondent_type": ("partner", "robot", "vendor"),
}
CONFLICT_COLUMN = {
    "teams": "name",
    "reps": "email",
    "accounts": "name",
    "contacts": "title",
    "opportunities": "product",
    "activities": "duration_minutes",
    "buyer_events": "occurred_at",
    "survey_responses": "submitted_at",
    "stories": "title",
}
JUNK_TABLES = ("teams", "reps")  # bad rows here are added rows, see apply_dirt
OFFSETS = (("+02:00", 7200), ("-05:00", -18000), ("+05:30", 19800), ("Z", 0), ("+01:00", 3600))
TS_FORMAT = "%Y-%m-%d %H:%M:%S"


def _kinds(t: schema.Table) -> list[str]:
    """The kinds of bad row a table can carry, plus conflicts and exact repeats."""
    cols = [c for c in t.columns if c.name != t.key]
    kinds: list[str] = [Reason.MISSING_KEY]
    if any(not c.nullable for c in cols):
        kinds.append(Reason.MISSING_REQUIRED)
    if any(c.type != ColumnType.STRING for c in cols):
        kinds.append(Reason.BAD_VALUE)
    if any(c.enum and not c.open_enum for c in cols):
        kinds.append(Reason.BAD_ENUM)
    if any(c.references for c in cols):
        kinds.append(Reason.MISSING_REFERENCE)
    kinds += [r for r in t.row_rules]
    return kinds + [CONFLICT, REPEAT]


def _columns_for(t: schema.Table, kind: str) -> list[schema.Column]:
    cols = [c for c in t.columns if c.name != t.key]
    if kind == Reason.MISSING_REQUIRED:
        return [c for c in cols if not c.nullable]
    if kind == Reason.BAD_VALUE:
        return [c for c in cols if c.type != ColumnType.STRING]
    if kind == Reason.BAD_ENUM:
        return [c for c in cols if c.enum and not c.open_enum]
    if kind == Reason.MISSING_REFERENCE:
        return [c for c in cols if c.references]
    if kind == Reason.MISSING_KEY:
        return [t.column(t.key)]
    return [t.column("closed_at")]


def _shift_text(values: pa.Array, seconds: np.ndarray, fmt: str = TS_FORMAT) -> pa.Array:
    ts = pc.strptime(values, format=TS_FORMAT, unit="s").cast(pa.int64())
    shifted = pa.array(ts.to_numpy(zero_copy_only=False) + seconds).cast(pa.timestamp("s"))
    return pc.strftime(shifted, format=fmt)


def _as_text(table: pa.Table) -> dict[str, pa.Array]:
    return {
        name: pc.cast(table.column(name), pa.string()).combine_chunks()
        for name in table.column_names
    }


def _conflict_values(column: str, values: pa.Array) -> pa.Array:
    """Different but valid content for conflicting copies of rows."""
    if column in ("name", "title"):
        old = pc.binary_join_element_wise(values, " (old)", "")
        return pc.if_else(pc.is_null(values), "Interim", old)
    if column == "email":
        return pc.binary_join_element_wise("old.", values, "")
    if column == "product":
        idx = pc.fill_null(pc.index_in(values, value_set=pa.array(PRODUCTS)), -1).to_numpy()
        return _strs(PRODUCTS, (idx + 1) % len(PRODUCTS))
    if column == "duration_minutes":
        minutes = pc.fill_null(pc.add(pc.cast(values, pa.float64()), 5.0), 5.0)
        return pc.cast(minutes, pa.string())
    return _shift_text(pc.fill_null(values, "2026-01-01 09:00:00"), np.full(len(values), 3600))


def _newlines(cols: dict[str, pa.Array], n: int) -> np.ndarray:
    """Line breaks inside each row's values (multi-line values shift the physical lines)."""
    total = np.zeros(n, np.int64)
    for arr in cols.values():
        if pc.any(pc.match_substring(arr, "\n")).as_py():
            total += pc.fill_null(pc.count_substring(arr, "\n"), 0).to_numpy()
    return total


def _plan(t: schema.Table, k: int, rng: np.random.Generator) -> dict[str, int]:
    """How many rows of each kind (the kinds in turn, in a random order, until k)."""
    kinds = _kinds(t)
    order = [kinds[i] for i in rng.permutation(len(kinds))]
    want = dict.fromkeys(kinds, 0)
    for i in range(k):
        want[order[i % len(order)]] += 1
    return want


def _add_junk(t: schema.Table, cols: dict[str, pa.Array], n_junk: int, rng) -> dict[str, pa.Array]:
    """Append copies of random rows under new keys (stale or test records) to be broken."""
    n = len(cols[t.key])
    src = pa.array(rng.integers(0, n, n_junk))
    out = {c: pa.concat_arrays([cols[c], pc.take(cols[c], src)]) for c in t.column_names}
    first = cols[t.key][n - 1].as_py()
    prefix = first.rstrip("0123456789")
    width = len(first) - len(prefix)
    keys = [f"{prefix}{n + 1 + i:0{width}d}" for i in range(n_junk)]
    out[t.key] = pa.concat_arrays([cols[t.key], pa.array(keys, pa.string())])
    return out


def _parent_cascade(
    t: schema.Table, cols: dict[str, pa.Array], bad_keys: dict[str, pa.Array]
) -> np.ndarray:
    """Per row, the first reference column (schema order) pointing at a bad row of an earlier
    table, or -1."""
    n = len(cols[t.key])
    cause = np.full(n, -1, np.int64)
    for i, c in enumerate(t.columns):
        ref = c.references.split(".")[0] if c.references else None
        if ref and ref != t.name and ref in bad_keys:
            hit = pc.fill_null(pc.is_in(cols[c.name], value_set=bad_keys[ref]), False)
            cause[(cause < 0) & hit.to_numpy(zero_copy_only=False)] = i
    return cause


def _bogus_key(shape: tuple[str, int], rng: np.random.Generator, n: int) -> pa.Array:
    """Keys shaped like a table's keys (its first key, its row count) that exist nowhere."""
    first, rows = shape
    prefix = first.rstrip("0123456789")
    width = len(first) - len(prefix)
    nums = pc.cast(pa.array(rows + 1000 + rng.integers(0, 1000, n)), pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(nums, width, "0"), "")


def _break_rules(
    shapes: dict[str, tuple[str, int]],
    t: schema.Table,
    cols: dict[str, pa.Array],
    pool: np.ndarray,
    want: dict[str, int],
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Break one rule in each of ``want[kind]`` rows drawn from ``pool`` (edits ``cols``).
    Returns per row the index of the kind in QUARANTINE_KINDS and of the column (or -1)."""
    n = len(pool)
    reason = np.full(n, -1, np.int64)
    column = np.full(n, -1, np.int64)
    pool = pool.copy()
    closed = np.ones(n, bool)
    if "stage" in cols:
        stage = pc.is_in(cols["stage"], value_set=pa.array(["won", "lost"]))
        closed = pc.fill_null(stage, False).to_numpy(zero_copy_only=False)
    edits: dict[str, list[tuple[np.ndarray, pa.Array]]] = {}
    for r_i, kind in enumerate(QUARANTINE_KINDS):
        if not want.get(kind):
            continue
        candidates = np.flatnonzero(pool & (closed if kind in t.row_rules else True))
        rows = np.sort(rng.choice(candidates, min(want[kind], len(candidates)), replace=False))
        pool[rows] = False
        reason[rows] = r_i
        options = _columns_for(t, kind)
        pick = rng.integers(0, len(options), len(rows))
        for j, c in enumerate(options):
            sel = rows[pick == j]
            if not len(sel):
                continue
            column[sel] = t.column_names.index(c.name)
            if kind in (Reason.MISSING_KEY, Reason.MISSING_REQUIRED, Reason.CLOSED_AT_REQUIRED):
                new = pa.nulls(len(sel), pa.string())
            elif kind == Reason.BAD_VALUE:
                new = _strs(BAD_VALUES[c.type], rng.integers(0, 3, len(sel)))
            elif kind == Reason.BAD_ENUM:
                new = _strs(BAD_ENUMS[c.name], rng.integers(0, 3, len(sel)))
            elif kind == Reason.MISSING_REFERENCE:
                new = _bogus_key(shapes[c.references.split(".")[0]], rng, len(sel))
            else:  # closed before created: up to a month before
                created = pc.take(cols["created_at"], pa.array(sel))
                new = _shift_text(created, -rng.integers(3600, 30 * 86400, len(sel)))
            edits.setdefault(c.name, []).append((sel, new))
    for name, parts in edits.items():
        idx = np.concatenate([p[0] for p in parts])
        new = pa.concat_arrays([p[1].cast(pa.string()) for p in parts])
        cols[name] = _replace(cols[name], idx, new)
    return reason, column


def _replace(arr: pa.Array, idx: np.ndarray, values: pa.Array) -> pa.Array:
    """arr with arr[idx[j]] = values[j] (idx distinct)."""
    order = np.argsort(idx)
    mask = np.zeros(len(arr), bool)
    mask[idx] = True
    return pc.replace_with_mask(arr, pa.array(mask), values.take(pa.array(order)))


def _self_cascade(
    t: schema.Table, cols: dict[str, pa.Array], keys: pa.Array, bad: np.ndarray, cause: np.ndarray
) -> np.ndarray:
    """Rows pointing at bad rows of the same table (a rep whose manager row is bad), repeatedly."""
    self_refs = [
        (i, c)
        for i, c in enumerate(t.columns)
        if c.references and c.references.split(".")[0] == t.name
    ]
    bad = bad.copy()
    while self_refs:
        keys_bad = pc.filter(keys, pa.array(bad))
        new_bad = np.zeros(len(bad), bool)
        for i, c in self_refs:
            hit = pc.fill_null(pc.is_in(cols[c.name], value_set=keys_bad), False)
            hit = hit.to_numpy(zero_copy_only=False) & ~bad & ~new_bad
            cause[hit] = i
            new_bad |= hit
        if not new_bad.any():
            break
        bad |= new_bad
    return bad


def _cosmetics(t: schema.Table, cols: dict[str, pa.Array], rows: np.ndarray, rng) -> None:
    """Harmless variations on valid rows: capitalised enum and bool values, timestamps written
    with a UTC offset (the same instant)."""
    if not len(rows):
        return
    off = rng.integers(0, len(OFFSETS), len(rows))
    secs = np.array([OFFSETS[x][1] for x in off])
    suffix = _strs([s for s, _ in OFFSETS], off)
    for c in t.columns:
        vals = pc.take(cols[c.name], pa.array(rows))
        if (c.enum or c.type == ColumnType.BOOL) and c.name != t.key:
            new = pc.utf8_capitalize(vals)
        elif c.type == ColumnType.TIMESTAMP:
            filled = pc.fill_null(vals, "2000-01-01 00:00:00")
            local = _shift_text(filled, secs, "%Y-%m-%dT%H:%M:%S")
            joined = pc.binary_join_element_wise(local, suffix, "")
            new = pc.if_else(pc.is_null(vals), vals, joined)
        else:
            continue
        cols[c.name] = _replace(cols[c.name], rows, new)


def _layout(n: int, m: int, extra: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    """File order of n original rows, m - n added bad rows (after a random original row) and
    extra copies of rows ``extra`` (after their source, at a random later place). Returns the
    row index (into originals + added) of each file position, and each row's file position
    (originals, added, then extras)."""
    after = np.concatenate(
        [
            np.arange(n),
            rng.integers(0, max(n, 1), m - n),
            extra + (rng.random(len(extra)) * (n - extra)).astype(np.int64),
        ]
    )
    flag = np.concatenate([np.zeros(n, np.int64), np.ones(m - n + len(extra), np.int64)])
    tie = np.concatenate([np.zeros(n), rng.random(m - n + len(extra))])
    order = np.lexsort((tie, flag, after))
    source = np.concatenate([np.arange(m), extra])[order]
    pos = np.empty(len(order), np.int64)
    pos[order] = np.arange(len(order))
    return source, pos


def apply_dirt(org: Org, *, fmt: str = "csv") -> Org:
    """Corrupt about ``config.dirty`` of the rows of every file, with every kind of bad row.

    Works on text: every column becomes a string column. Each bad row breaks exactly one rule.
    Rows that point at a bad row (and rows pointing at those) are recorded as
    ``missing_reference`` cascades. In ``teams`` and ``reps`` the bad rows are added stale records
    (a broken team or rep row would take a whole book of business with it); elsewhere existing
    rows are broken, so an account's opportunities and activities cascade. Conflicts and exact
    repeats copy rows that stay valid. About the same share of valid rows get harmless variations
    a real export has (capitalised enum values, timestamps with UTC offsets) and must import as
    they are. ``truth["dirty"]`` records every bad row by file and line: the 1-based physical line
    where the record starts, header = line 1 (values spanning lines count all their lines); for
    Parquet, the row number + 1.
    """
    return _dirty(org, dict(org.tables), fmt)


def _dirty(org: Org, clean: dict[str, pa.Table], fmt: str) -> Org:
    """``apply_dirt`` on ``clean``, a dict of typed tables it empties as it goes (memory)."""
    if fmt not in ("csv", "parquet"):
        raise SynthError(f"format must be csv or parquet, got {fmt!r}")
    rate = org.config.dirty
    rng = np.random.default_rng(np.random.SeedSequence(org.config.seed, spawn_key=(99,)))
    shapes = {name: (t.column(0)[0].as_py(), t.num_rows) for name, t in clean.items()}
    bad_keys: dict[str, pa.Array] = {}
    bad_rows: list[dict[str, Any]] = []
    repeats: list[dict[str, Any]] = []
    files: dict[str, dict[str, Any]] = {}
    tables: dict[str, pa.Table] = {}
    for name in schema.IMPORT_ORDER:
        if name not in clean:
            continue
        t = schema.table(name)
        file = f"{name}.{fmt}"
        cols = _as_text(clean.pop(name))
        n = len(cols[t.key])
        want = _plan(t, round(rate * n), rng)
        if name in JUNK_TABLES:
            cols = _add_junk(t, cols, sum(want.get(k, 0) for k in QUARANTINE_KINDS), rng)
        m = len(cols[t.key])
        keys = cols[t.key]
        cause = _parent_cascade(t, cols, bad_keys)
        pool = (cause < 0) & ((np.arange(m) >= n) if m > n else True)
        reason, column = _break_rules(shapes, t, cols, pool, want, rng)
        bad = _self_cascade(t, cols, keys, (reason >= 0) | (cause >= 0), cause)
        bad_keys[name] = pc.filter(keys, pa.array(bad))
        cascade = bad & (reason < 0)

        valid = np.flatnonzero(~bad[:n])
        n_conf, n_rep = want[CONFLICT], want[REPEAT]
        src = rng.choice(valid, min(len(valid), n_conf + n_rep), replace=False)
        conf_src, rep_src = np.sort(src[:n_conf]), np.sort(src[n_conf:])
        free = ~bad[:n]
        free[src] = False
        rest = np.flatnonzero(free)
        cosmetic = np.sort(rng.choice(rest, min(len(rest), round(rate * len(rest))), replace=False))
        _cosmetics(t, cols, cosmetic, rng)

        extra = np.concatenate([conf_src, rep_src]).astype(np.int64)
        source, pos = _layout(n, m, extra, rng)
        final = {c: pc.take(cols[c], pa.array(source)) for c in t.column_names}
        conflict_col = CONFLICT_COLUMN[name]
        if len(conf_src):
            new = _conflict_values(conflict_col, pc.take(cols[conflict_col], pa.array(conf_src)))
            final[conflict_col] = _replace(final[conflict_col], pos[m : m + len(conf_src)], new)
        del cols
        tables[name] = pa.table([final[c] for c in t.column_names], names=t.column_names)

        if fmt == "csv":
            nl = _newlines(final, len(source))
            start = 2 + np.arange(len(source)) + np.concatenate([[0], np.cumsum(nl)[:-1]])
        else:
            start = 2 + np.arange(len(source))
        line = start[pos]  # originals, added rows, then extras
        for i in np.flatnonzero(bad):
            own = reason[i] >= 0
            bad_rows.append(
                {
                    "file": file,
                    "line": int(line[i]),
                    "reason": str(QUARANTINE_KINDS[reason[i]] if own else Reason.MISSING_REFERENCE),
                    "column": t.column_names[column[i] if own else cause[i]],
                }
            )
        for j, s in enumerate(conf_src):
            bad_rows.append(
                {
                    "file": file,
                    "line": int(line[m + j]),
                    "reason": str(Reason.CONFLICT),
                    "column": conflict_col,
                    "first_line": int(line[s]),
                }
            )
        for j, s in enumerate(rep_src):
            repeats.append(
                {"file": file, "line": int(line[m + n_conf + j]), "first_line": int(line[s])}
            )
        by_reason = {str(k): int((reason == i).sum()) for i, k in enumerate(QUARANTINE_KINDS)}
        by_reason[str(Reason.MISSING_REFERENCE)] += int(cascade.sum())
        by_reason[str(Reason.CONFLICT)] = len(conf_src)
        files[file] = {
            "rows": len(source),
            "valid": int(m - bad.sum()),
            "quarantined": int(bad.sum()) + len(conf_src),
            "repeats": len(rep_src),
            "added_bad_rows": m - n,
            "cascaded": int(cascade.sum()),
            "cosmetic": len(cosmetic),
            "by_reason": {k: v for k, v in by_reason.items() if v},
        }
    order_of = {f"{name}.{fmt}": i for i, name in enumerate(schema.IMPORT_ORDER)}
    bad_rows.sort(key=lambda r: (order_of[r["file"]], r["line"]))
    repeats.sort(key=lambda r: (order_of[r["file"]], r["line"]))
    truth = dict(org.truth)
    truth["counts"] = {file: f["rows"] for file, f in files.items()}
    truth["dirty"] = {
        "rate": rate,
        "format": fmt,
        "line": "1-based physical line where the record starts, header = line 1 (values that "
        "span lines count all their lines); for Parquet, the row number + 1",
        "cascade_column": "for missing_reference cascades, the first reference column in "
        "schema order that points at a bad row",
        "files": files,
        "bad_rows": bad_rows,
        "repeats": repeats,
    }
    return replace(org, tables=tables, truth=truth)


def _no_dirt(tables: dict[str, pa.Table], fmt: str) -> dict[str, Any]:
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


# ----------------------------------------------------------------------------- write
def write(
    org: Org, out: Path, fmt: str = "csv", progress: Progress | None = None
) -> dict[str, int]:
    """Write one file per table (header = schema columns in schema order) and ``truth.json``.
    Returns the data rows per file."""
    if fmt not in ("csv", "parquet"):
        raise SynthError(f"format must be csv or parquet, got {fmt!r}")
    dirt = org.truth.get("dirty") or {}
    if dirt.get("rate"):
        if dirt["format"] != fmt:
            raise SynthError(
                f"the bad rows were laid out for {dirt['format']} (line numbers differ): write "
                f"as {dirt['format']} or call apply_dirt(org, fmt={fmt!r}) on the clean org"
            )
    else:
        org.truth["dirty"] = _no_dirt(org.tables, fmt)
        org.truth["counts"] = {f"{name}.{fmt}": t.num_rows for name, t in org.tables.items()}
    report = progress or (lambda step, fraction: None)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name in schema.IMPORT_ORDER:
        for ext in ("csv", "parquet"):
            (out / f"{name}.{ext}").unlink(missing_ok=True)
    rows: dict[str, int] = {}
    total = sum(t.num_rows for t in org.tables.values()) or 1
    done = 0
    for name, table in org.tables.items():
        report(f"writing {name}", done / total)
        path = out / f"{name}.{fmt}"
        if fmt == "csv":
            pacsv.write_csv(table, path)
        else:
            pq.write_table(table, path)
        rows[path.name] = table.num_rows
        done += table.num_rows
    text = json.dumps(org.truth, indent=1, ensure_ascii=False)
    (out / "truth.json").write_text(text + "\n", encoding="utf-8")
    report("written", 1.0)
    return rows


def _scaled(progress: Progress | None, lo: float, hi: float) -> Progress | None:
    if progress is None:
        return None
    return lambda step, fraction: progress(step, lo + (hi - lo) * fraction)


def synthesize(
    config: SynthConfig, out: Path, fmt: str = "csv", progress: Progress | None = None
) -> dict[str, Any]:
    """Generate, corrupt (when ``config.dirty > 0``) and write an organisation; returns truth."""
    if fmt not in ("csv", "parquet"):
        raise SynthError(f"format must be csv or parquet, got {fmt!r}")
    org = generate(config, _scaled(progress, 0.0, 0.6))
    if config.dirty > 0:
        if progress:
            progress("dirty rows", 0.6)
        clean, org.tables = org.tables, {}
        org = _dirty(org, clean, fmt)
    write(org, Path(out), fmt, _scaled(progress, 0.7, 1.0))
    return org.truth
