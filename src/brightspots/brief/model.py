"""The brief as data: every section's rows, typed, before any rendering.

``content.build`` fills a ``Brief`` from a workspace; ``render`` turns one into HTML, Markdown or
PDF; ``store`` keeps it (as ``to_dict`` JSON) keyed by team and period. Nothing here reads data.

The naming rule (``method.md``: team-facing outputs never name a person below expectation or
below the peer median) is data too: every row that names a rep carries the figures it shows with
what they are compared against (``Figure``), and ``named_figures`` lists them all, so a check can
prove no named figure is on the wrong side of its reference.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from brightspots.brief.period import Period

Metric = Literal["win_rate", "buyer_impact", "response_hours"]
Chance = Literal["beyond chance", "likely", "could be chance"]
Unit = Literal["rep", "team", "company"]

#: a metric's plain name and whether higher is better
METRICS: dict[str, tuple[str, bool]] = {
    "win_rate": ("wins against expectation", True),
    "buyer_impact": ("buyer-impact rate", True),
    "response_hours": ("response time to buyers", False),
}


@dataclass(frozen=True)
class Figure:
    """One number shown beside a named rep or team, and what it is compared with.

    ``reference`` is the expected value (win rate: expected wins), the unit's own previous 13
    weeks or the peer median; ``higher_is_better`` says which side is good."""

    value: float
    reference: float
    against: Literal["expected", "previous", "peer_median"]
    higher_is_better: bool = True

    @property
    def at_or_better(self) -> bool:
        if self.higher_is_better:
            return self.value >= self.reference
        return self.value <= self.reference


@dataclass(frozen=True)
class Coverage:
    """What data the brief rests on and how fresh it is."""

    first_day: date | None  # first and last local day with data rows inside the period
    last_day: date | None
    as_of: datetime | None  # the latest timestamp in the workspace data (local time)
    run_id: str
    run_at: datetime  # when the analysis run was made (UTC)
    run_current: bool  # the data has not changed since that run
    timezone: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Win:
    opportunity_id: str
    deal: str  # the opportunity's name, else its id
    account_id: str
    account: str
    rep_id: str
    rep: str
    team_id: str
    amount: float | None
    closed_on: date
    #: the case-mix model's chance of winning a deal like this (None: not in the run's model)
    p_hat: float | None
    touches: int
    contacts: int
    meetings: int  # meetings and demos
    replies: int  # buyer events on the deal that a touch answered
    fast_replies: int  # of those, answered within an hour
    median_response_hours: float | None
    line: str  # what was done on the deal, in one line
    unlikely: bool  # won although the model gave it a low chance
    #: figures the line shows about the rep (a response time, against the company's median)
    figures: tuple[Figure, ...] = ()


@dataclass(frozen=True)
class Point:
    """One week of a sparkline: its Monday and the value (None: nothing to measure)."""

    week: date
    value: float | None


@dataclass(frozen=True)
class Deviation:
    """A unit beating its expected value on one metric over the assessment window."""

    unit: Unit
    unit_id: str
    name: str
    team_id: str
    metric: Metric
    value: float  # O/E for win rate; the rate (0..1) for buyer impact; hours for response time
    volume: int  # closed deals, settled touches or answered buyer events in the window
    observed: float | None  # win rate: wins; buyer impact: touches with impact
    expected: float | None  # win rate: expected wins
    previous: float | None  # the same metric over the previous 13 weeks (not for win rate)
    peer_median: float | None  # the median over peers of the same kind (reps or teams)
    peers: int  # how many peers that median is over
    z: float  # the test statistic (one-sided, toward better)
    p_value: float
    chance: Chance
    sustained: bool  # a bright spot in the run's analysis (above expectation in both halves)
    figures: tuple[Figure, ...]
    sentence: str
    spark: tuple[Point, ...] = ()  # weekly values over the previous 13 weeks and the window

    @property
    def key(self) -> str:
        return f"{self.unit}:{self.unit_id}:{self.metric}"


@dataclass(frozen=True)
class Practice:
    """A practice with evidence in the run, and how this period's wins and losses used it."""

    practice_id: str
    description: str
    phrase: str  # "a meeting or demo came before the proposal"
    kind: str  # binary, count, rate, share, hours
    unit: str
    higher_is_better: bool
    odds_ratio: float
    or_low: float
    or_high: float
    q_value: float
    points: float  # percentage points of win probability (adjusted)
    wins: int  # this period's wins (and losses) the practice could be measured on
    losses: int
    wins_with: int | None  # binary: wins (losses) where it held
    losses_with: int | None
    wins_median: float | None  # other kinds: the median value on wins (losses)
    losses_median: float | None
    sentence: str  # how this period's wins and losses used it
    evidence: str = ""  # what the run found over its whole window, in plain words


@dataclass(frozen=True)
class Story:
    story_id: str
    title: str
    body: str
    tags: tuple[str, ...]
    created_on: date
    rep_id: str
    rep: str
    account: str | None
    opportunity_id: str | None
    deal: str | None
    deal_stage: str | None  # won, lost, open, ... of the linked deal
    #: a caregiver story ([care] story_tags and story_keywords; shown with a "Care" badge)
    caregiver: bool = False
    #: the period's win the story is tied to (its deal, or a win on its account); None: none
    win_opportunity_id: str | None = None
    #: the practices it illustrates (ids, in the registry's order: stories.links)
    practices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Question:
    text: str
    section: Literal["wins", "deviations", "practices", "stories", "actions"]
    ref: str  # the row's key in that section (Win.opportunity_id, Deviation.key, ...)


@dataclass(frozen=True)
class Action:
    """An action to try next period (suggested from the data) or one a meeting agreed."""

    text: str
    practice_id: str | None
    source: Literal["suggested", "agreed"]
    #: for last period's actions: the practice's use then and now, and a sentence on it
    before: float | None = None
    after: float | None = None
    since: str = ""
    #: a suggested practice no experiment tests in the scope: the brief adds "to see whether it
    #: works here, try it as an experiment" (``experiments.HINT``); not part of the stored text
    experiment_hint: bool = False

    @property
    def key(self) -> str:
        return self.practice_id or self.text


@dataclass(frozen=True)
class ExperimentLine:
    """A practice experiment with a treated team in the brief's scope, in one line (read from
    the brief's run). It names teams about a practice, not a unit's performance, so it is
    outside ``named_figures``."""

    experiment_id: str
    name: str
    practice_id: str
    verdict: str  # the run's verdict code (``experiments.verdict.CODES``, or failed)
    text: str


@dataclass(frozen=True)
class Pulse:
    """The two-question pulse of one meeting: averages on a 1-5 scale."""

    period: str
    energy: float
    ideas: float
    responses: int


@dataclass(frozen=True)
class FunnelPoint:
    expected: float
    oe: float
    closed: int
    label: str  # the period assessment's label (bright_spot, candidate, "")
    name: str  # drawn only when the rep is named in the brief, else ""


@dataclass(frozen=True)
class Funnel:
    """The period's funnel plot of win rate against expectation (reps of the brief's scope)."""

    points: tuple[FunnelPoint, ...]
    curve: tuple[dict[str, float], ...]  # deviance.funnel_curve rows
    min_volume: int
    window_words: str


@dataclass(frozen=True)
class Brief:
    team_id: str  # "all" for the whole company
    team: str  # the team's name, or "the whole company"
    period: Period
    created_at: datetime
    currency: str
    coverage: Coverage
    wins: tuple[Win, ...]
    n_wins: int  # all wins of the period (``wins`` may show the first few)
    won_amount: float
    deviations: tuple[Deviation, ...]
    practices: tuple[Practice, ...]
    stories: tuple[Story, ...]
    questions: tuple[Question, ...]
    actions: tuple[Action, ...]  # to try next period
    previous_actions: tuple[Action, ...]  # last period's, with what happened since
    previous_period: str
    pulse: tuple[Pulse, ...]  # earlier meetings, oldest first
    funnel: Funnel | None
    empty: bool  # nothing closed and no activity in the period
    notes: tuple[str, ...] = field(default=())
    #: the practice experiments of the scope, shown at the top of Actions
    experiments: tuple[ExperimentLine, ...] = ()

    def named_figures(self) -> list[tuple[str, Figure]]:
        """(name, figure) for every figure shown beside a named rep or team."""
        out = [(w.rep, f) for w in self.wins for f in w.figures]
        for d in self.deviations:
            out.extend((d.name, f) for f in d.figures)
        return out

    def to_dict(self) -> dict[str, Any]:
        return _plain(dataclasses.asdict(self))


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if isinstance(v, datetime | date):
        return v.isoformat()
    return v
