"""A planted practice experiment (``SynthConfig.experiment``): some teams take up a practice
from a date, in waves, and the deals that take it up because of the experiment get a known
effect on their win odds.

``parse_spec`` reads the ``brightspots synth --experiment`` text, for example
``practice=multi_threading,teams=6,start=2026-03-02,waves=2,every=4w,adoption=0.5,
effect=default,shape=constant``:

* ``practice``: a synthetic practice (``multi_threading``, ``fast_response``,
  ``meeting_before_proposal``) or the ``registry_id`` that measures it (``multithreading``,
  ``response_within_4h``);
* ``teams``: how many teams to draw (``6``), or their ids (``TM-002;TM-005``);
* ``start``: the first wave's start (a local date of the teams); ``waves`` (default 1) splits
  the teams into that many waves, in order, each starting ``every`` (``4w`` or ``28d``,
  default 4 weeks) after the one before;
* ``adoption`` (default 0.5): the share of a treated team's new deals *without* the practice
  that take it up (so the share doing it rises by adoption x (1 - its rate before));
* ``effect`` (default ``default``): the win log-odds a deal gains by taking the practice up
  because of the experiment; ``default`` is the practice's true effect (``PRACTICE_EFFECT``),
  ``0`` a null experiment (adopted, no effect);
* ``shape`` (default ``constant``): ``grow`` multiplies the effect by min(1, (e + 1) / 8),
  ``fade`` by max(0.25, 1 - e / 16), e = whole weeks since the team's start;
* ``spill`` (default ``0``: none): ``14d`` or ``2w``, the days before a team's start whose new
  deals take the practice up too, as a team told to use it from a date also does on the deals
  it has just opened (a practice is measured over a deal's first ``[practices] landmark_days``,
  14 by default, so those deals can still show it). Spilled deals flip like treated ones (the
  same adoption uniform, the effect at e = 0) but are not treated: they sit in the weeks before
  the start, which is what the analysis' anticipation weeks leave out of the baseline.

**Where it acts** (``Assignment.apply``, called by ``make_opportunities`` between the practice
draws and the win odds): a base deal is *treated* when its owner's team is in a wave and it was
created on or after the team's start (*spilled* when created in the ``spill`` days before it);
it is *flipped* when treated or spilled, without the practice and its adoption uniform is below
``adoption``. Flipped deals get the practice (and so its traces
in the activity rows) and ``effect * shape(e)`` on their log-odds. Every random draw keeps its
size and the outcome reuses the same uniform (``won = u < p_win``), so untreated deals keep
every column, and a treated deal's outcome changes only as its win probability does. The
draws come from a ninth stream (``spawn(9)``: the first eight are those of ``spawn(8)``), split
into the team choice and one adoption uniform per base deal.

**Truth** (``truth_block``, ``truth.json["experiment"]``): the plant, the waves with their team
ids, the treated and flipped deal counts, and ``att_win_rate_90d``: the true effect on the
share of new deals won within 90 days of creation, aggregated as the default analysis does
(weekly UTC panels from 26 weeks before the first start to the end of the window, weeks mature
90 days after their end, a 12-week baseline before 2 anticipation weeks, every other team and
not-yet-treated team compared, team weights = mean weekly new deals over those 26 weeks;
``did.linear_weights``). A treated
deal's true effect on "won within H days" is (p_win - exp_p0) * 1(close_if_won - created <= H):
the outcome uniform is the only draw the practice changes, and the close the deal would have
had if won follows from its other draws. A spilled deal's change is not part of it (it is not
a new deal since the start): the estimand stays the effect on the deals created since the start.
The hidden arrays ``exp_p0`` (NaN when untreated, spilled deals included) and
``close_if_won`` go in ``truth_opportunities.parquet``; ``brightspots.evaluate.experiment_truth``
aggregates them with an analysis' own cells and team weights.

Follow-on deals (the planted repeat business) are never treated; they count as untreated deals
of their team's weeks. Their index surveys must come a year before the data's end, so an
experiment in the last year of the window does not change them through the wins it adds.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from brightspots.synth.config import SynthError
from brightspots.synth.model import PRACTICE_EFFECT, PRACTICES

if TYPE_CHECKING:
    from brightspots.synth.calendar import Calendar

KEYS = ("practice", "teams", "start", "waves", "every", "adoption", "effect", "shape", "spill")
SHAPES = ("constant", "grow", "fade")
#: the default analysis of the truth: horizon (days), baseline weeks, history weeks and the
#: anticipation weeks before each start (ceil of the default 14 landmark days / 7)
HORIZON_DAYS = 90
BASELINE_WEEKS = 12
HISTORY_WEEKS = 26
ANTICIPATION_WEEKS = 2
MAX_EFFECT = 5.0
#: the most days of spill before a start
MAX_SPILL_DAYS = 91
_EVERY = re.compile(r"^(\d+)\s*([wd])$")
_DAY = 86400


def _registry_ids() -> dict[str, str]:
    """Synthetic practice -> the registry id of the built-in practice that measures it."""
    from brightspots.synth.truth import TRUE_PRACTICES

    return {p["id"]: p["registry_id"] for p in TRUE_PRACTICES}


def shape_factor(shape: str, e: np.ndarray) -> np.ndarray:
    """The effect's multiplier e whole weeks after the team's start."""
    e = np.asarray(e, dtype=float)
    if shape == "constant":
        return np.ones_like(e)
    if shape == "grow":
        return np.minimum(1.0, (e + 1.0) / 8.0)
    if shape == "fade":
        return np.maximum(0.25, 1.0 - e / 16.0)
    raise SynthError(f"experiment: unknown shape {shape!r}; use {', '.join(SHAPES)}")


@dataclass(frozen=True)
class Plant:
    """A planted experiment (see the module docstring). ``teams`` is a count to draw or team
    ids; ``effect`` None is the practice's own true effect; ``every_days`` the days between
    waves' starts; ``spill_days`` the days before a start whose new deals take it up too."""

    practice: str
    start: date
    teams: int | tuple[str, ...] = 6
    waves: int = 1
    every_days: int = 28
    adoption: float = 0.5
    effect: float | None = None
    shape: str = "constant"
    spill_days: int = 0

    @property
    def index(self) -> int:
        """The practice's column in the deals' practice indicators."""
        return PRACTICES.index(self.practice)

    @property
    def registry_id(self) -> str:
        return _registry_ids()[self.practice]

    @property
    def log_odds(self) -> float:
        """The effect on a flipped deal's win log-odds (before the shape)."""
        return float(PRACTICE_EFFECT[self.index]) if self.effect is None else float(self.effect)

    @property
    def n_teams(self) -> int:
        return self.teams if isinstance(self.teams, int) else len(self.teams)

    def starts(self) -> tuple[date, ...]:
        """Each wave's start."""
        return tuple(self.start + timedelta(days=k * self.every_days) for k in range(self.waves))

    def spec(self) -> str:
        """The ``--experiment`` text of this plant (``parse_spec`` reads it back)."""
        teams = str(self.teams) if isinstance(self.teams, int) else ";".join(self.teams)
        effect = "default" if self.effect is None else f"{self.effect:g}"
        text = (
            f"practice={self.practice},teams={teams},start={self.start.isoformat()},"
            f"waves={self.waves},every={_span(self.every_days)},adoption={self.adoption:g},"
            f"effect={effect},shape={self.shape}"
        )
        return text + (f",spill={_span(self.spill_days)}" if self.spill_days else "")

    def check(self) -> None:
        """Raise ``SynthError`` for an impossible plant (the org's teams and window are checked
        by ``check_window`` and ``assign``)."""
        if self.practice not in PRACTICES:
            raise SynthError(
                f"experiment: unknown practice {self.practice!r}; use one of "
                f"{', '.join(PRACTICES)} (or its registry id)"
            )
        if not isinstance(self.start, date):
            raise SynthError("experiment: start must be a date")
        if isinstance(self.teams, int):
            if isinstance(self.teams, bool) or self.teams < 1:
                raise SynthError(f"experiment: teams must be at least 1, got {self.teams}")
        else:
            if not self.teams or any(not isinstance(t, str) or not t for t in self.teams):
                raise SynthError("experiment: teams must be a count or team ids")
            if len(set(self.teams)) != len(self.teams):
                raise SynthError("experiment: a team is listed twice")
        if not 1 <= self.waves <= self.n_teams:
            raise SynthError(
                f"experiment: waves must be between 1 and the {self.n_teams} teams, "
                f"got {self.waves}"
            )
        if self.every_days < 1:
            raise SynthError(f"experiment: every must be at least a day, got {self.every_days}")
        if not (math.isfinite(self.adoption) and 0.0 < self.adoption <= 1.0):
            raise SynthError(
                f"experiment: adoption must be above 0 and at most 1, got {self.adoption}"
            )
        if self.effect is not None and not (
            math.isfinite(self.effect) and abs(self.effect) <= MAX_EFFECT
        ):
            raise SynthError(
                f"experiment: effect must be default or a log-odds between -{MAX_EFFECT:g} and "
                f"{MAX_EFFECT:g}, got {self.effect}"
            )
        if self.shape not in SHAPES:
            raise SynthError(f"experiment: unknown shape {self.shape!r}; use {', '.join(SHAPES)}")
        if not 0 <= self.spill_days <= MAX_SPILL_DAYS:
            raise SynthError(
                f"experiment: spill must be from 0 to {MAX_SPILL_DAYS} days, got {self.spill_days}"
            )

    def check_window(self, first: date, last: date) -> None:
        """Every wave starts after the window's first day ``first`` and by its last ``last``."""
        starts = self.starts()
        if starts[0] <= first or starts[-1] > last:
            when = f"the start is {starts[0]}"
            if len(starts) > 1:
                when = f"the waves start {starts[0]} to {starts[-1]}"
            raise SynthError(
                f"experiment: {when}, outside the data's window ({first} to {last}): start "
                "after its first day and by its last"
            )


def parse_spec(text: str) -> Plant:
    """The plant of a ``key=value,...`` text (see the module docstring); ``SynthError`` with
    one line on anything wrong."""
    values: dict[str, str] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        key, value = key.strip().lower(), value.strip()
        if not sep or not key or not value:
            raise SynthError(f"experiment: {item.strip()!r} is not key=value")
        if key not in KEYS:
            raise SynthError(f"experiment: unknown key {key!r}; use {', '.join(KEYS)}")
        if key in values:
            raise SynthError(f"experiment: {key} is given twice")
        values[key] = value
    for key in ("practice", "start"):
        if key not in values:
            raise SynthError(
                f"experiment: {key}= is missing (e.g. practice=multi_threading,start=2026-03-02)"
            )
    practice = values["practice"].lower()
    by_registry = {r: p for p, r in _registry_ids().items()}
    practice = by_registry.get(practice, practice)
    try:
        start = date.fromisoformat(values["start"])
    except ValueError:
        raise SynthError(
            f"experiment: start must be a date YYYY-MM-DD, got {values['start']!r}"
        ) from None
    teams: int | tuple[str, ...] = 6
    if "teams" in values:
        raw = values["teams"]
        if raw.isdigit():
            teams = int(raw)
        else:
            teams = tuple(t.strip() for t in raw.split(";") if t.strip())
            if not teams or any(not re.fullmatch(r"[\w.\-]+", t) for t in teams):
                raise SynthError(
                    f"experiment: teams must be a count or ids like TM-002;TM-005, got {raw!r}"
                )
    every = _days("every", values["every"], "4w or 28d") if "every" in values else 28
    spill = 0
    if values.get("spill", "0") != "0":
        spill = _days("spill", values["spill"], "14d or 2w")
    effect: float | None = None
    if values.get("effect", "default").lower() != "default":
        effect = _number("effect", values["effect"])
    plant = Plant(
        practice=practice,
        start=start,
        teams=teams,
        waves=int(_number("waves", values["waves"], whole=True)) if "waves" in values else 1,
        every_days=every,
        adoption=_number("adoption", values["adoption"]) if "adoption" in values else 0.5,
        effect=effect,
        shape=values.get("shape", "constant").lower(),
        spill_days=spill,
    )
    plant.check()
    return plant


def _days(key: str, text: str, example: str) -> int:
    """Days of a ``4w`` or ``28d`` text."""
    m = _EVERY.match(text.lower())
    if not m:
        raise SynthError(f"experiment: {key} must be weeks or days like {example}, got {text!r}")
    return int(m.group(1)) * (7 if m.group(2) == "w" else 1)


def _span(days: int) -> str:
    """``4w`` for whole weeks, else ``10d``."""
    return f"{days // 7}w" if days % 7 == 0 else f"{days}d"


def _number(key: str, text: str, whole: bool = False) -> float:
    try:
        value = int(text) if whole else float(text)
    except ValueError:
        kind = "a whole number" if whole else "a number"
        raise SynthError(f"experiment: {key} must be {kind}, got {text!r}") from None
    return value


@dataclass(frozen=True)
class Planted:
    """What the plant did to the base deals (aligned with them): treated, flipped, the win
    probability without the plant (``exp_p0``, NaN when untreated) and the close a deal would
    have had if won (``close_if_won``, epoch seconds)."""

    treated: np.ndarray
    flipped: np.ndarray
    exp_p0: np.ndarray
    close_if_won: np.ndarray


@dataclass(frozen=True)
class Assignment:
    """A plant resolved on an organisation: each wave's team indices, each team's start (epoch
    day, -1 when not in the experiment) and the stream of the adoption uniforms."""

    plant: Plant
    waves: tuple[tuple[int, ...], ...]
    start_day: np.ndarray
    adopt: np.random.Generator

    def apply(
        self,
        cal: Calendar,
        team: np.ndarray,
        b_created: np.ndarray,
        practice: np.ndarray,
        eta: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(practice, eta, treated, flipped) of the base deals with the plant: ``team`` is each
        deal's team index, ``practice`` its (n, 3) indicators and ``eta`` its win log-odds
        without the plant. Draws one uniform per deal, whichever are treated. A spilled deal
        (created in the ``spill_days`` before its team's start) can be flipped, not treated."""
        p = self.plant
        n = len(team)
        u = self.adopt.random(n)
        start_day = self.start_day[team]
        in_plant = start_day >= 0
        start_b = cal.b_of_day(np.where(in_plant, start_day, 0))
        treated = in_plant & (b_created >= start_b)
        exposed = treated
        if p.spill_days:
            spill_b = cal.b_of_day(np.where(in_plant, start_day - p.spill_days, 0))
            exposed = treated | (in_plant & (b_created >= spill_b))
        k = p.index
        flipped = exposed & ~practice[:, k] & (u < p.adoption)
        day = cal.days[np.clip(np.floor(b_created).astype(np.int64), 0, len(cal.days) - 1)]
        weeks = np.where(treated, (day - start_day) // 7, 0)  # spilled deals: as in week 0
        out = practice.copy()
        out[:, k] |= flipped
        lift = p.log_odds * shape_factor(p.shape, weeks)
        return out, np.where(flipped, eta + lift, eta), treated, flipped


def assign(plant: Plant, rng: np.random.Generator, team_ids: Sequence[str]) -> Assignment:
    """Resolve ``plant`` on an organisation's leaf teams (``team_ids``, by index) with the
    experiment's stream ``rng``: drawn teams (``r_teams``) or the listed ones, split into the
    waves in order."""
    from brightspots.synth.calendar import epoch_day

    plant.check()
    r_teams, r_adopt = rng.spawn(2)
    n = len(team_ids)
    if plant.n_teams > n - 2:
        raise SynthError(
            f"experiment: {plant.n_teams} teams of the organisation's {n}: leave at least two "
            "out to compare with (more reps make more teams, about one per ten reps)"
        )
    if isinstance(plant.teams, int):
        order = r_teams.permutation(n)[: plant.teams]
        groups = [tuple(sorted(int(i) for i in g)) for g in np.array_split(order, plant.waves)]
    else:
        index = {t: i for i, t in enumerate(team_ids)}
        missing = [t for t in plant.teams if t not in index]
        if missing:
            raise SynthError(
                f"experiment: no team {', '.join(missing)} (the teams are {team_ids[0]} to "
                f"{team_ids[-1]})"
            )
        order = np.array([index[t] for t in plant.teams])
        groups = [tuple(int(i) for i in g) for g in np.array_split(order, plant.waves)]
    start_day = np.full(n, -1, dtype=np.int64)
    for wave, start in zip(groups, plant.starts(), strict=True):
        start_day[list(wave)] = epoch_day(start)
    return Assignment(plant, tuple(groups), start_day, r_adopt)


def experiment_hidden(planted: Planted, n_follow: int) -> dict[str, np.ndarray]:
    """The hidden per-deal arrays of the plant (``Org.hidden``), aligned with the opportunities
    table (the ``n_follow`` follow-on deals after the base deals: untreated, no
    ``close_if_won``): ``exp_treated``, ``exp_flipped``, ``exp_p0`` and ``close_if_won`` (epoch
    seconds, ``NO_TIME`` for none)."""
    from brightspots.synth.tables import NO_TIME

    return {
        "exp_treated": np.concatenate([planted.treated, np.zeros(n_follow, bool)]),
        "exp_flipped": np.concatenate([planted.flipped, np.zeros(n_follow, bool)]),
        "exp_p0": np.concatenate([planted.exp_p0, np.full(n_follow, np.nan)]),
        "close_if_won": np.concatenate(
            [planted.close_if_won, np.full(n_follow, NO_TIME, dtype=np.int64)]
        ),
    }


def _mondays(day: np.ndarray) -> np.ndarray:
    """The epoch day of the Monday of each epoch day (1970-01-01 was a Thursday)."""
    return day - (day + 3) % 7


def truth_block(
    a: Assignment,
    planted: Planted,
    cal: Calendar,
    team_ids: Sequence[str],
    team: np.ndarray,
    created: np.ndarray,
    won_within: np.ndarray,
    p_win: np.ndarray,
) -> dict[str, Any]:
    """``truth.json["experiment"]``. ``team`` (index), ``created`` (epoch seconds), ``p_win``
    and ``won_within`` (won with a close at most 90 days after creation, before the window's
    end) cover every deal, base deals first (aligned with ``planted``), then the follow-on
    deals."""
    p = a.plant
    n_base = len(planted.treated)
    horizon = HORIZON_DAYS * _DAY
    delta = np.zeros(len(team))
    base_delta = np.where(
        planted.treated & (planted.close_if_won - created[:n_base] <= horizon),
        p_win[:n_base] - np.where(planted.treated, planted.exp_p0, 0.0),
        0.0,
    )
    delta[:n_base] = base_delta
    att = _default_att(a, cal, team, created, won_within, delta, len(team_ids))
    return {
        "practice": p.practice,
        "registry_id": p.registry_id,
        "spec": p.spec(),
        "waves": [
            {"start": s.isoformat(), "teams": [team_ids[t] for t in wave]}
            for wave, s in zip(a.waves, p.starts(), strict=True)
        ],
        "adoption": p.adoption,
        "effect": p.log_odds,
        "shape": p.shape,
        "spill_days": p.spill_days,
        "treated_deals": int(planted.treated.sum()),
        "flipped_deals": int(planted.flipped.sum()),
        "spilled_deals": int((planted.flipped & ~planted.treated).sum()),
        "att_win_rate_90d": None if att is None else round(float(att), 6),
        "estimand": "The true change in the share of new deals won within 90 days of creation, "
        "over the default analysis' post cells (UTC weeks, weeks mature 90 days after their end "
        "by the window's end, a 12-week baseline before 2 anticipation weeks, every other team "
        "and not-yet-treated team compared, team weights the mean weekly new deals over the 26 "
        "weeks before the first start). A treated deal adds (p_win - exp_p0) if its close had it "
        "been won (close_if_won) is within 90 days of its creation "
        "(truth_opportunities.parquet).",
    }


def _default_att(
    a: Assignment,
    cal: Calendar,
    team: np.ndarray,
    created: np.ndarray,
    won_within: np.ndarray,
    delta: np.ndarray,
    n_teams: int,
) -> float | None:
    """The true overall effect with the default analysis' cells and weights (None when the
    analysis has none)."""
    from brightspots.experiments import did

    first = min(a.plant.starts())
    first_treated = first + timedelta(days=(7 - first.weekday()) % 7)
    epoch = date(1970, 1, 1)
    w0 = (first_treated - epoch).days - 7 * HISTORY_WEEKS
    as_of = cal.cut - 1  # the end of the window's last day (UTC)
    last = int(_mondays(np.array([as_of // _DAY]))[0])
    n_weeks = (last - w0) // 7 + 1
    week = (_mondays(created // _DAY) - w0) // 7
    keep = (week >= 0) & (week < n_weeks)
    cell = team[keep] * n_weeks + week[keep]
    size = n_teams * n_weeks
    n = np.bincount(cell, minlength=size).reshape(n_teams, n_weeks).astype(float)
    wins = np.bincount(cell, won_within[keep].astype(float), minlength=size)
    tau_sum = np.bincount(cell, delta[keep], minlength=size)
    mature = (w0 + 7 * np.arange(n_weeks) + 7 + HORIZON_DAYS) * _DAY <= as_of
    with np.errstate(invalid="ignore", divide="ignore"):
        y = wins.reshape(n_teams, n_weeks) / n
        tau = tau_sum.reshape(n_teams, n_weeks) / n
    y[(n == 0) | ~mature[None, :]] = np.nan
    start = np.full(n_teams, -1)
    for t in np.flatnonzero(a.start_day >= 0):
        s = epoch + timedelta(days=int(a.start_day[t]))
        treated_from = s + timedelta(days=(7 - s.weekday()) % 7)
        start[t] = ((treated_from - epoch).days - w0) // 7
        if s.weekday() != 0:  # a mid-week start's own week is neither before nor after
            mixed = ((s - epoch).days - s.weekday() - w0) // 7
            if 0 <= mixed < n_weeks:
                y[t, mixed] = np.nan
    # the weights' weeks: the history before the first fully treated week, without a mid-week
    # start's own week, and only weeks with data
    hist = np.arange(HISTORY_WEEKS - (first.weekday() != 0))
    live = n.sum(axis=0) > 0
    hist = hist[live[hist]]
    weight = n[:, hist].mean(axis=1) if len(hist) else np.zeros(n_teams)
    weight = np.where(weight > 0, weight, n.mean(axis=1))
    units = np.flatnonzero(weight > 0)
    weeks = tuple(epoch + timedelta(days=int(w0 + 7 * k)) for k in range(n_weeks))
    panel = did.Panel(
        units=tuple(str(u) for u in units),
        weeks=weeks,
        y=y[units],
        n=n[units],
        start=start[units],
        stop=np.full(len(units), n_weeks),
        weight=weight[units],
    )
    c = did.linear_weights(panel, baseline_weeks=BASELINE_WEEKS, anticipation=ANTICIPATION_WEEKS)
    if not np.any(c):
        return None
    have = np.isfinite(panel.y)
    return float(np.sum(c[have] * tau[units][have]))
