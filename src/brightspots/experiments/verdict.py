"""The verdict of a team experiment in one sentence, from its fits and its dates (pure).

The rules, first match wins (docs/design/issue12.md, section 7):

- ``not_started``: every start is after the latest data;
- ``no_comparison``: no wave has ``min_controls`` teams to be compared with at its start;
- ``too_few_teams``: fewer than 2 treated teams have data before their start;
- ``too_early``: no mature week of adoption or of the outcome since the first start;
- ``not_adopted``: adoption's interval is below ``min_uptake``, or after 4 mature weeks it does
  not clear zero (then a null outcome says nothing about the practice);
- ``unfair_comparison``: the pre-trend check is flagged (``did.Pretrend.flagged``);
- ``worked`` / ``worse``: the outcome's interval is entirely better / worse than no change
  (direction by outcome: a lower response time is better);
- ``no_effect_yet``: otherwise, with the weeks a change of ``detect`` would still need (sized,
  as the plan's, for the 98% interval that decides at the weekly looks: ``power.ALPHA``).

Repeated looks: the verdict is recomputed every week, for as long as the experiment runs, and
"worked" or "worse" is said at whichever look first shows it, so the error rate that matters is
that of any look. The interval that decides (``decisive``) is never the 95% one:

* before the plan's weeks (its ``weeks_needed``, ``Timing.planned_weeks``) the 99.9% interval
  (Haybittle 1971; Peto et al. 1976), which spends almost none of the error rate;
* from then on the 98% interval at every look (``did.REPEATED_LEVEL``): one constant, stricter
  bound at every look, as in Pocock (1977, "Group sequential methods in the design and analysis
  of clinical trials", Biometrika 64(2)), whose bound for 3 to 4 independent looks it is. The
  weekly looks after the plan's weeks share their baselines and most of their weeks, so they
  are far from independent.

Both stricter intervals are at least as wide as a t with G1 - 1 degrees of freedom makes them
(``did``: with few treated teams the bootstrap's far tail is too light). In simulations of null
experiments (300 panels of 24 teams, 6 treated in two waves of 3, looked at every week from the
first mature week to 28 weeks after 12 planned weeks), some look said "worked" or "worse" in:

* 28% with the 95% interval after the plan's weeks (the rule before; 12% already before them,
  from 3 or 6 teams at 99.9% without the t bound);
* 3.7% with these rules (about 2% with 99% after the plan's weeks, at a large cost in power).

The price is power: a planted 5-point effect was called "worked" by twice the plan's weeks in
39% of 150 such panels (about 25% with 99%; 74% with the rule before, which also said "worked"
or "worse" of 28% of null experiments).

Freezing the verdict at the plan's weeks would keep the error rate too, but then an experiment
that keeps running could never show what more weeks reveal; with the constant bound, keeping it
running is a real way to a verdict. The 95% interval is still the figure shown. Warnings (few
teams, picked after a dip, registered or a wave added after its start, stopped with an end in
the past, a wave without comparison, figures read from a run) follow the verdict.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from brightspots.experiments import did
from brightspots.experiments.panels import treated_from

CODES = (
    "not_started",
    "no_comparison",
    "too_few_teams",
    "too_early",
    "not_adopted",
    "unfair_comparison",
    "worked",
    "worse",
    "no_effect_yet",
)
#: adoption must clear zero once it has this many mature weeks
ADOPTION_WEEKS = 4
MINUS = "−"


@dataclass(frozen=True)
class OutcomeWords:
    """How an outcome is written: its name, what it counts, its volume and direction."""

    name: str  # "win rate"
    detail: str  # what it counts ("{h}": the horizon in days)
    volume: str  # what a team makes a week ("new deals")
    items: str  # the same, once made ("deals")
    made: str  # "deals created": they have not had their days yet
    points: bool  # a share, written in points; else hours
    higher_is_better: bool
    better_noun: str  # "rise"
    better_verb: str  # "rose"
    worse_verb: str  # "fell"


OUTCOME_WORDS: dict[str, OutcomeWords] = {
    "win_rate": OutcomeWords(
        "win rate",
        "deals won within {h} days",
        "new deals",
        "deals",
        "deals created",
        True,
        True,
        "rise",
        "rose",
        "fell",
    ),
    "impact_rate": OutcomeWords(
        "impact rate",
        "touches with buyer impact",
        "touches",
        "touches",
        "touches made",
        True,
        True,
        "rise",
        "rose",
        "fell",
    ),
    "response_hours": OutcomeWords(
        "response time",
        "median hours to answer a buyer",
        "buyer messages",
        "messages",
        "buyer messages received",
        False,
        False,
        "drop",
        "fell",
        "rose",
    ),
}


def outcome_words(outcome: str) -> OutcomeWords:
    try:
        return OUTCOME_WORDS[outcome]
    except KeyError:
        raise ValueError(f"unknown outcome {outcome!r}") from None


def day(d: date) -> str:
    """2 Nov 2026."""
    return f"{d.day} {d.strftime('%b %Y')}"


def short_day(d: date, ref: date) -> str:
    """2 Nov (with the year when it is not ``ref``'s)."""
    return f"{d.day} {d.strftime('%b')}" if d.year == ref.year else day(d)


def _number(x: float, places: int = 1) -> str:
    if math.isinf(x):  # an unbounded interval (two teams, see did._quantile)
        return "∞" if x > 0 else f"{MINUS}∞"
    text = f"{abs(x):.{places}f}"
    return f"{MINUS}{text}" if x < 0 and float(text) != 0 else text


def _scale(outcome: str) -> float:
    return 100.0 if outcome_words(outcome).points else 1.0


def _unit(outcome: str) -> str:
    return "points" if outcome_words(outcome).points else "hours"


def size(outcome: str, delta: float) -> str:
    """The change worth detecting as an adjective: 0.05 -> "5-point", 2.0 -> "2-hour"."""
    value = round(abs(delta) * _scale(outcome), 1)
    unit = "point" if outcome_words(outcome).points else "hour"
    return f"{value:g}-{unit}"


def described(outcome: str, horizon_days: int) -> str:
    """win rate (deals won within 90 days)."""
    words = outcome_words(outcome)
    return f"{words.name} ({words.detail.format(h=horizon_days)})"


def signed(outcome: str, x: float) -> str:
    """+2.0 points, −1.5 hours."""
    v = x * _scale(outcome)
    sign = "+" if v >= 0 or float(f"{abs(v):.1f}") == 0 else MINUS
    return f"{sign}{abs(v):.1f} {_unit(outcome)}"


def interval(outcome: str, low: float, high: float, level: float = 0.95) -> str:
    """(95% CI −3.1 to 7.2), in the outcome's scale."""
    s = _scale(outcome)
    return f"({_level(level)} CI {_number(low * s)} to {_number(high * s)})"


def _level(level: float) -> str:
    return f"{100 * level:g}%"


def _teams(n: int) -> str:
    return f"{n} team" if n == 1 else f"{n} teams"


@dataclass(frozen=True)
class MeasureFit:
    """One measure's fit as the verdict reads it (``MeasureFit.of`` a ``did.Fit``). Estimates
    are in the outcome's own scale (a share, or hours); ``strict_*`` is the 99.9% interval and
    ``repeated_*`` the 98% one (``did.STRICT_LEVEL``, ``did.REPEATED_LEVEL``)."""

    estimate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    strict_low: float | None = None
    strict_high: float | None = None
    n_treated: int = 0  # teams in the estimate
    n_control: int = 0  # comparison teams (never treated) compared with, in the estimate
    treated: int = 0  # experiment teams with data before their start
    comparison: int = 0  # the most teams a wave could be compared with at its start
    post_weeks: int = 0  # mature weeks since the first start
    pretrend: did.Pretrend | None = None
    levels: did.Levels | None = None
    waves_without_controls: tuple[date, ...] = ()
    repeated_low: float | None = None
    repeated_high: float | None = None
    n_later: int = 0  # the experiment's own later teams compared with before they started

    @classmethod
    def of(
        cls,
        fit: did.Fit,
        weeks: Sequence[date],
        *,
        levels: did.Levels | None = None,
        min_controls: int = 2,
    ) -> MeasureFit:
        """From a fit of the panel whose weeks are ``weeks``."""
        o, s, r = fit.overall, fit.strict, fit.repeated
        alone = tuple(weeks[w.g] for w in fit.waves if w.units > 0 and w.controls < min_controls)
        return cls(
            estimate=None if o is None else o.estimate,
            ci_low=None if o is None else o.ci_low,
            ci_high=None if o is None else o.ci_high,
            strict_low=None if s is None else s.ci_low,
            strict_high=None if s is None else s.ci_high,
            n_treated=0 if o is None else o.n_treated,
            n_control=0 if o is None else fit.n_comparison,
            treated=fit.treated,
            comparison=fit.comparison,
            post_weeks=fit.post_weeks,
            pretrend=fit.pretrend,
            levels=levels,
            waves_without_controls=alone,
            repeated_low=None if r is None else r.ci_low,
            repeated_high=None if r is None else r.ci_high,
            n_later=0 if o is None else fit.n_later,
        )


@dataclass(frozen=True)
class Timing:
    """The dates the verdict needs: the waves' starts, the latest data, the days a week needs
    to be mature (outcome: the horizon for win rate; adoption: ``landmark_days``), the plan's
    weeks (early looks until then) and the weeks needed with the experiment's own noise, when
    it was registered, whether the teams were picked after a dip, and the run the outcome's
    figures are read from (impact and response).

    ``waves`` is (start, added on) per wave, ``end`` the end date and ``stopped_on`` the day a
    stop that set that end was recorded (None: not stopped, or its end was chosen before); each
    is warned about when the date lies before the day it was recorded. Recorded days are local
    (the workspace's time zone), as the start and end dates are."""

    starts: tuple[date, ...]
    as_of: date
    lag_days: int
    adoption_lag_days: int
    planned_weeks: int | None = None
    weeks_needed: int | None = None
    created: date | None = None
    dip: bool = False
    figures_run: str | None = None
    waves: tuple[tuple[date, date], ...] = ()
    end: date | None = None
    stopped_on: date | None = None

    @property
    def first_start(self) -> date:
        return min(self.starts)

    def ready(self, weeks: int, lag_days: int | None = None) -> date:
        """The day the first ``weeks`` weeks of new deals are mature, counted as the measures
        and the plan count them: from the Monday the first start is counted from
        (``panels.treated_from``: a mid-week start's own week counts as neither)."""
        lag = self.lag_days if lag_days is None else lag_days
        return treated_from(self.first_start) + timedelta(weeks=weeks, days=lag)


@dataclass(frozen=True)
class Decisive:
    """The interval that decides "worked" and "worse" at this look: its level, its ends, and
    whether the look is an early one (before the plan's weeks)."""

    level: float
    low: float
    high: float
    early: bool


def decisive(fit: MeasureFit, timing: Timing) -> Decisive | None:
    """The interval that decides (see the module docstring): before the plan's weeks the 99.9%
    one, from then on the 98% one; a fit without them (made by hand) falls back to the stricter
    one it has, else the 95% one. None when the fit has no interval."""
    early = _early(fit, timing)
    choices = [
        (did.STRICT_LEVEL, fit.strict_low, fit.strict_high),
        (did.REPEATED_LEVEL, fit.repeated_low, fit.repeated_high),
        (0.95, fit.ci_low, fit.ci_high),
    ]
    if not early:
        choices[0], choices[1] = choices[1], choices[0]
    for level, low, high in choices:
        if low is not None and high is not None:
            return Decisive(level, low, high, early)
    return None


@dataclass(frozen=True)
class Verdict:
    """``code`` (one of ``CODES``), the headline sentence, the figures' lines after it and the
    warnings after those."""

    code: str
    headline: str
    lines: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def _early(fit: MeasureFit, timing: Timing) -> bool:
    return timing.planned_weeks is None or fit.post_weeks < timing.planned_weeks


def _clears(outcome: str, low: float, high: float) -> int:
    """+1 when the interval is entirely better than no change, -1 entirely worse, else 0."""
    up = low > 0
    down = high < 0
    if not (up or down):
        return 0
    better = up if outcome_words(outcome).higher_is_better else down
    return 1 if better else -1


def _change(outcome: str, fit: MeasureFit, better: bool) -> str:
    """win rate rose 6.1 points (95% CI 1.8 to 10.4)."""
    words = outcome_words(outcome)
    assert fit.estimate is not None and fit.ci_low is not None and fit.ci_high is not None
    s = _scale(outcome)
    rose = fit.estimate > 0
    verb = words.better_verb if better else words.worse_verb
    low, high = (fit.ci_low, fit.ci_high) if rose else (-fit.ci_high, -fit.ci_low)
    return (
        f"{words.name} {verb} {abs(fit.estimate) * s:.1f} {_unit(outcome)} "
        f"(95% CI {_number(low * s)} to {_number(high * s)})"
    )


#: practice kinds whose values are shares (0..1 a deal), written as percentages and points
PERCENT_KINDS = ("binary", "share")


def _level_text(x: float, kind: str) -> str:
    if not math.isfinite(x):
        return "–"
    return f"{100 * x:.0f}%" if kind in PERCENT_KINDS else f"{x:.1f}"


def _adoption_levels(fit: MeasureFit, kind: str) -> str | None:
    lv = fit.levels
    if lv is None:
        return None
    b, s = _level_text(lv.before, kind), _level_text(lv.since, kind)
    # no never-treated team with figures both before and since (every team treated in the
    # end, the controls then being later waves): no comparison levels to print, not "- and -"
    compared = all(
        x is not None and math.isfinite(x) for x in (lv.comparison_before, lv.comparison_since)
    )
    cb, cs = _level_text(lv.comparison_before, kind), _level_text(lv.comparison_since, kind)
    tail = f"; the comparison teams {cb} and {cs}" if compared else ""
    n = _teams(fit.n_treated or fit.treated)
    if kind == "binary":
        return f"the {n} did it on {b} of new deals before and {s} since{tail}"
    if kind == "share":
        return f"the {n} averaged {b} on their new deals before and {s} since{tail}"
    return f"the {n} averaged {b} a new deal before and {s} since{tail}"


def _adoption_change(fit: MeasureFit, kind: str) -> tuple[str, str]:
    """(+27.0 points, (95% CI 20.0 to 34.0)) in points for shares, else in the practice's own
    units."""
    assert fit.estimate is not None and fit.ci_low is not None and fit.ci_high is not None
    scale = 100.0 if kind in PERCENT_KINDS else 1.0
    unit = " points" if kind in PERCENT_KINDS else ""
    figure = f"{'+' if fit.estimate >= 0 else MINUS}{abs(fit.estimate) * scale:.1f}{unit}"
    ci = f"(95% CI {_number(fit.ci_low * scale)} to {_number(fit.ci_high * scale)})"
    return figure, ci


def _adoption_line(fit: MeasureFit, kind: str) -> str | None:
    if fit.estimate is None or fit.ci_low is None or fit.ci_high is None:
        return None
    figure, ci = _adoption_change(fit, kind)
    text = f"Adoption: {figure} {ci} against the comparison teams"
    levels = _adoption_levels(fit, kind)
    return f"{text}: {levels}." if levels else f"{text}."


def _uptake(fit: MeasureFit, higher: bool) -> tuple[float, float]:
    """Adoption's interval in the practice's good direction (a lower-is-better practice is
    taken up when its measure falls)."""
    assert fit.ci_low is not None and fit.ci_high is not None
    return (fit.ci_low, fit.ci_high) if higher else (-fit.ci_high, -fit.ci_low)


def _too_early(
    outcome: str, fit: MeasureFit, adoption: MeasureFit | None, timing: Timing
) -> str | None:
    words = outcome_words(outcome)
    first = timing.first_start
    since = short_day(first, timing.as_of)
    if fit.post_weeks == 0:
        return (
            f"Too early: {words.made} since {since} have not had {timing.lag_days} days yet; "
            f"first figures around {day(timing.ready(1))}."
        )
    if adoption is not None and adoption.post_weeks == 0:
        return (
            f"Too early: deals created since {since} have not had {timing.adoption_lag_days} "
            f"days yet, to tell whether the teams do the practice; first figures around "
            f"{day(timing.ready(1, timing.adoption_lag_days))}."
        )
    if fit.estimate is None:
        return (
            f"Too early: no week since {since} has figures from both the teams and enough "
            "comparison teams yet."
        )
    return None


def _more_weeks(outcome: str, fit: MeasureFit, timing: Timing, detect: float) -> str:
    words = outcome_words(outcome)
    change = f"A {size(outcome, detect)} {words.better_noun}"
    if timing.weeks_needed is None:
        return (
            f"{change} would not be detectable within two years with these "
            f"{_teams(fit.n_treated)}: add teams."
        )
    more = timing.weeks_needed - fit.post_weeks
    if more <= 0:
        assert fit.ci_low is not None and fit.ci_high is not None
        best = fit.ci_high if words.higher_is_better else -fit.ci_low  # the better end
        if best < detect:
            return (
                f"{change} would most likely have shown by now, and the interval stops short "
                "of it, so a change that large is unlikely."
            )
        return (
            f"The interval still includes a {size(outcome, detect)} {words.better_noun}: add "
            "teams, or keep it running to narrow it."
        )
    return (
        f"{change} would be detectable after about {more} more weeks of {words.volume} "
        f"(about {day(timing.ready(timing.weeks_needed))})."
    )


def verdict(
    outcome: str,
    fit: MeasureFit,
    adoption: MeasureFit | None,
    timing: Timing,
    *,
    horizon_days: int,
    detect: float,
    min_uptake: float,
    min_teams: int = 4,
    min_controls: int = 2,
    adoption_binary: bool = True,
    adoption_kind: str | None = None,
    adoption_higher: bool = True,
) -> Verdict:
    """The verdict of ``outcome`` (see the module docstring). ``adoption`` is None when the
    practice's use cannot be measured; ``detect`` is the change worth detecting in the
    outcome's scale; ``min_uptake`` the least change in adoption, in the practice's good
    direction, that counts as adopted. ``adoption_kind`` is the practice's kind (binary,
    count, rate, share, hours; default: binary when ``adoption_binary``, else count) and
    ``adoption_higher`` its ``higher_is_better``: a lower-is-better practice is taken up when
    its measure falls."""
    words = outcome_words(outcome)
    first = timing.first_start
    lines: list[str] = []
    kind = adoption_kind or ("binary" if adoption_binary else "count")

    def done(code: str, headline: str) -> Verdict:
        return Verdict(code, headline, tuple(lines), _warnings())

    def _warnings() -> tuple[str, ...]:
        out: list[str] = []
        n = fit.treated
        if 2 <= n < min_teams:
            out.append(
                f"Only {n} teams tried it: with so few teams the interval is less sure than "
                "it looks; take the verdict as a first sign."
            )
        if timing.dip:
            out.append(
                "The teams were picked after a dip: their last 8 weeks sat more than 1 SD "
                "below their 26-week level, so part of any improvement would have come anyway."
            )
        if timing.created is not None and timing.created > first:
            out.append(
                f"It was registered on {day(timing.created)}, after its start on {day(first)}: "
                "a start chosen after seeing the first weeks can flatter the result."
            )
        for start, added in sorted(set(timing.waves)):
            if added <= start or (start == first and added == timing.created):
                continue  # on time, or the first wave (its registration is said above)
            out.append(
                f"The teams that started on {day(start)} were added on {day(added)}, after "
                "that start: a start chosen after seeing the first weeks can flatter the result."
            )
        end, stopped = timing.end, timing.stopped_on
        if end is not None and stopped is not None and stopped > end:
            out.append(
                f"It was stopped on {day(stopped)} with its end on {day(end)}, before the stop "
                "was recorded: an end chosen after seeing the first weeks can flatter the result."
            )
        for d in fit.waves_without_controls:
            out.append(
                f"The teams that started on {day(d)} have no team left to compare with, "
                "so they are not counted."
            )
        if timing.figures_run is not None:
            out.append(f"The {words.name} figures are as of run {timing.figures_run}.")
        return tuple(out)

    if all(s > timing.as_of for s in timing.starts):
        return Verdict(
            "not_started",
            f"It starts on {day(first)}, after the latest data ({day(timing.as_of)}): "
            "nothing to measure yet.",
        )
    if fit.treated >= 1 and fit.comparison < min_controls:
        if len(set(timing.starts)) == 1:
            why = f"every team started on {day(first)}"
        else:
            why = f"fewer than {min_controls} teams were left out when its teams started"
        return Verdict(
            "no_comparison",
            f"No team to compare with: {why}, so nothing can tell the practice's effect apart "
            "from the season or anything else that changed then. Leave some teams out, or "
            "start half of them 4 weeks later (`experiment extend`).",
        )
    if fit.treated < 2:
        if fit.treated == 1:
            text = "One team cannot be told apart from its own luck: add a team."
        else:
            text = (
                "No team in it has figures before its start, so there is nothing to compare: "
                "check its teams and start date."
            )
        return Verdict("too_few_teams", text)

    adoption_line = None if adoption is None else _adoption_line(adoption, kind)
    if adoption_line:
        lines.append(adoption_line)
    early_text = _too_early(outcome, fit, adoption, timing)
    if early_text is not None:
        return done("too_early", early_text)
    assert fit.estimate is not None and fit.ci_low is not None and fit.ci_high is not None

    if adoption is not None and adoption.estimate is not None:
        low, high = _uptake(adoption, adoption_higher)
        low_use = high < min_uptake
        unclear = adoption.post_weeks >= ADOPTION_WEEKS and low <= 0
        if low_use or unclear:
            levels = _adoption_levels(adoption, kind)
            if levels is None:
                figure, ci = _adoption_change(adoption, kind)
                levels = f"its use changed {figure} against the comparison teams {ci}"
            lines.append(_outcome_line(outcome, fit, horizon_days))
            return done("not_adopted", f"Practice not adopted, so no test: {levels}.")

    pre = fit.pretrend
    if pre is not None and pre.flagged(detect):
        drift = abs(pre.slope) * _scale(outcome)
        lines.append(_outcome_line(outcome, fit, horizon_days))
        return done(
            "unfair_comparison",
            "No fair comparison: before the start the teams were already drifting apart by "
            f"{drift:.1f} {_unit(outcome)} a week.",
        )
    if pre is not None:
        lines.append(
            f"Before the start the gap moved {_number(pre.slope * _scale(outcome), 2)} "
            f"{_unit(outcome)} a week (p = {pre.p:.2f}): a fair comparison."
        )

    usual = _clears(outcome, fit.ci_low, fit.ci_high)
    rule = decisive(fit, timing)
    stricter = rule is not None and rule.level > 0.95
    verdict_sign = usual if rule is None else _clears(outcome, rule.low, rule.high)
    team_words = f"{_against(fit)}, over {fit.post_weeks} weeks of {words.volume} in " + _teams(
        fit.n_treated
    )
    if verdict_sign != 0:
        if rule is not None and stricter:
            lines.append(
                f"{_why_stricter(rule, timing)}: the {_level(rule.level)} interval "
                f"({_number(rule.low * _scale(outcome))} to "
                f"{_number(rule.high * _scale(outcome))}) clears zero too."
            )
        if verdict_sign > 0:
            return done("worked", f"It worked: {_change(outcome, fit, True)} {team_words}.")
        return done("worse", f"It made things worse: {_change(outcome, fit, False)} {team_words}.")

    figure = f"{signed(outcome, fit.estimate)} {interval(outcome, fit.ci_low, fit.ci_high)}"
    if usual != 0 and rule is not None and stricter:
        figure += (
            f", but {_lower_first(_why_stricter(rule, timing))} "
            f"{interval(outcome, rule.low, rule.high, rule.level)}"
        )
    return done(
        "no_effect_yet",
        f"No detectable effect yet: {figure}. {_more_weeks(outcome, fit, timing, detect)}",
    )


def _why_stricter(rule: Decisive, timing: Timing) -> str:
    """Why an interval stricter than 95% decides at this look."""
    if rule.early:
        until = (
            f"until {day(timing.ready(timing.planned_weeks))} "
            if timing.planned_weeks is not None
            else ""
        )
        return f"It is checked every week, so {until}a stronger result is needed"
    return (
        f"It is checked every week, so the {_level(rule.level)} interval decides, not the 95% "
        "one, which read week after week would too often show an effect that is not there"
    )


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _against(fit: MeasureFit) -> str:
    """against 12 comparison teams (and 3 of its own later teams before they started): the
    frozen comparison teams apart from the experiment's own later waves."""
    comparison = _teams(fit.n_control).replace("team", "comparison team")
    if not fit.n_later:
        return f"against {comparison}"
    later = f"{fit.n_later} of its own later {'team' if fit.n_later == 1 else 'teams'}"
    if not fit.n_control:
        return f"against {later} before they started"
    return f"against {comparison} and {later} before they started"


def _outcome_line(outcome: str, fit: MeasureFit, horizon_days: int) -> str:
    assert fit.estimate is not None and fit.ci_low is not None and fit.ci_high is not None
    words = outcome_words(outcome)
    name = described(outcome, horizon_days)
    return (
        f"{name[0].upper()}{name[1:]}: {signed(outcome, fit.estimate)} "
        f"{interval(outcome, fit.ci_low, fit.ci_high)} {_against(fit)}, over {fit.post_weeks} "
        f"weeks of {words.volume} in {_teams(fit.n_treated)}."
    )
