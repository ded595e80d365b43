"""The brief made ready to show: ``Brief`` -> ``BriefView``, every number formatted, every
sentence written, every row given an anchor. The HTML template, the Markdown writer and the PDF
all read the same view.

The sections come in one fixed order: 1 Wins, 2 Positive deviations, 3 What worked, 4 Customer
stories, 5 Questions for the meeting (at most five), 6 Actions. Each question links to the row it
is grounded in.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from datetime import date, datetime

import pandas as pd
from markupsafe import Markup

from brightspots import __version__
from brightspots.brief import charts
from brightspots.brief.experiments import HINT
from brightspots.brief.model import (
    METRICS,
    Action,
    Brief,
    Deviation,
    Practice,
    Pulse,
    Story,
    Win,
)
from brightspots.brief.period import ROLLING_WEEKS, day_words, span_words
from brightspots.brief.questions import MAX_QUESTIONS
from brightspots.errors import BrightspotsError
from brightspots.report import fmt as numfmt
from brightspots.report.charts import legend_entries
from brightspots.report.funnel import drawable, funnel_groups


class BriefRenderError(BrightspotsError):
    """A brief that cannot be rendered as asked: an unknown paper size or format, a question
    grounded in a row the brief does not hold, an output path that is a folder."""


FORMATS = ("html", "md", "pdf")
PAPERS = {"a4": "A4", "letter": "letter"}

#: (section key, heading) in the one order a brief has
SECTIONS = (
    ("wins", "Wins"),
    ("deviations", "Positive deviations"),
    ("practices", "What worked"),
    ("stories", "Customer stories"),
    ("questions", "Questions for the meeting"),
    ("actions", "Actions"),
)
TITLES = dict(SECTIONS)

CHANCE = {
    "beyond chance": ("beyond", "Beyond chance", "very unlikely to be luck"),
    "likely": (
        "likely",
        "Worth a look",
        "more than luck usually gives, though about 1 in 40 people compared would pass by luck",
    ),
    "could be chance": ("maybe", "Could be chance", "luck could explain it; worth watching"),
}
VOLUME = {
    "win_rate": ("closed deal", "closed deals"),
    "buyer_impact": ("touch", "touches"),
    "response_hours": ("answered buyer message", "answered buyer messages"),
}


# ----------------------------------------------------------------------------- words and numbers


def _moment(t: datetime, zone: str) -> str:
    return f"{day_words(t.date())}, {t:%H:%M} {zone}"


def _metric_value(metric: str, v: float | None) -> str:
    if metric == "buyer_impact":
        return numfmt.percent(v)
    if metric == "response_hours":
        return numfmt.hours(v)
    return numfmt.ratio(v)


def _practice_value(kind: str, unit: str, v: float | None) -> str:
    """A practice's measure as a person reads it: a share in percent, hours as time."""
    if numfmt.is_missing(v):
        return numfmt.MISSING
    if kind in ("binary", "share"):
        return numfmt.percent(v)
    if kind == "hours":
        return numfmt.hours(v)
    return f"{numfmt.decimal(v, 1)} {unit}".strip()


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _paragraphs(text: str) -> list[str]:
    return [_one_line(p) for p in re.split(r"\n\s*\n", str(text)) if p.strip()]


def _anchor(prefix: str, key: str, seen: set[str]) -> str:
    """A safe, unique element id for a row key: 'win-OPP-17'; a key with other characters gets
    a short hash so two keys never share an id ('dev-rep-r1-win_rate-3fa2b1')."""
    clean = re.sub(r"[^A-Za-z0-9_-]+", "-", key).strip("-")
    if clean != key or not clean:
        clean = f"{clean}-{hashlib.sha1(key.encode()).hexdigest()[:6]}".lstrip("-")
    out, n = f"{prefix}-{clean}", 2
    while out in seen:
        out, n = f"{prefix}-{clean}-{n}", n + 1
    seen.add(out)
    return out


def paper_size(paper: str) -> str:
    """'A4' or 'Letter' (any case) -> the CSS page size; anything else is an error."""
    size = PAPERS.get(str(paper).strip().lower())
    if size is None:
        raise BriefRenderError(f"paper {paper!r} is not supported: use A4 or Letter")
    return size


# ----------------------------------------------------------------------------- the view


@dataclass(frozen=True)
class WinRow:
    id: str
    deal: str
    account: str
    rep: str
    amount: str
    closed: str
    line: str
    facts: str  # counts of what was done, when the win has no line of its own
    odds: str  # "" unless won against the odds


@dataclass(frozen=True)
class DeviationRow:
    id: str
    name: str
    metric: str
    headline: str
    volume: str
    sentence: str
    chance: str
    chance_class: str
    chance_meaning: str
    sustained: bool
    spark: Markup
    spark_text: str


@dataclass(frozen=True)
class PracticeRow:
    id: str
    phrase: str
    sentence: str
    evidence: str


@dataclass(frozen=True)
class StoryRow:
    id: str
    title: str
    byline: str
    paragraphs: tuple[str, ...]
    tags: tuple[str, ...]
    caregiver: bool = False  # shown with a "Care" badge
    practices: tuple[str, ...] = ()  # what the practices it illustrates are called
    tied: str = ""  # the period's win it is tied to, in words ("" when none)


@dataclass(frozen=True)
class QuestionRow:
    text: str
    href: str
    see: str  # "Wins: Acme renewal"


@dataclass(frozen=True)
class ActionRow:
    id: str
    text: str
    change: str  # last period's actions: the practice's use then and now
    since: str
    #: add the nudge to try it as an experiment (``BriefView.experiment_hint``) after the text
    hint: bool = False


@dataclass(frozen=True)
class ExperimentRow:
    id: str
    text: str


@dataclass(frozen=True)
class PulseRow:
    period: str
    energy: str
    ideas: str
    responses: str


@dataclass(frozen=True)
class BriefView:
    """The template's contract: display-ready strings, rows and inline SVG."""

    title: str
    heading: str
    kicker: str
    page_size: str
    version: str
    coverage: tuple[tuple[str, str], ...]
    freshness: str
    warnings: tuple[str, ...]
    notes: tuple[str, ...]
    deviation_notes: tuple[str, ...]
    empty: bool
    empty_text: tuple[str, ...]
    headings: dict[str, str]
    wins_summary: str
    wins: tuple[WinRow, ...]
    window_words: str
    chance_legend: tuple[tuple[str, str, str], ...]
    deviations: tuple[DeviationRow, ...]
    funnel_svg: Markup | None
    funnel_legend: tuple[tuple[Markup, str], ...]
    funnel_caption: str
    practices: tuple[PracticeRow, ...]
    practice_svg: Markup | None
    stories: tuple[StoryRow, ...]
    questions: tuple[QuestionRow, ...]
    actions: tuple[ActionRow, ...]
    previous_period: str
    previous_actions: tuple[ActionRow, ...]
    pulse: tuple[PulseRow, ...]
    pulse_svg: Markup | None
    pulse_text: str
    #: the scope's practice experiments, at the top of Actions
    experiments: tuple[ExperimentRow, ...] = ()
    #: the nudge after a suggested practice: (before, the command, after)
    experiment_hint: tuple[str, str, str] = HINT


def _win_row(w: Win, currency: str, seen: set[str]) -> WinRow:
    facts = [
        numfmt.plural(w.touches, "touch", "touches"),
        numfmt.plural(w.contacts, "contact"),
        numfmt.plural(w.meetings, "meeting or demo", "meetings or demos"),
    ]
    if w.replies:
        answered = f"{numfmt.plural(w.replies, 'buyer message')} answered"
        if w.fast_replies:
            answered += f", {numfmt.integer(w.fast_replies)} within an hour"
        facts.append(answered)
    if w.median_response_hours is not None:
        facts.append(f"typical reply in {numfmt.hours(w.median_response_hours)}")
    odds = ""
    if w.unlikely:
        odds = "Won against the odds"
        if w.p_hat is not None:
            odds += f": deals like this are won about {numfmt.percent(w.p_hat)} of the time"
    return WinRow(
        id=_anchor("win", w.opportunity_id, seen),
        deal=_one_line(w.deal),
        account=_one_line(w.account),
        rep=_one_line(w.rep),
        amount=numfmt.money(w.amount, currency),
        closed=numfmt.day(w.closed_on),
        line=_one_line(w.line),
        facts="" if w.line.strip() else ", ".join(facts),
        odds=odds,
    )


def _headline(d: Deviation) -> str:
    if d.metric == "win_rate":
        more = d.value - 1
        if more >= 0:
            return f"{numfmt.percent(more)} more wins than expected"
        return f"{numfmt.percent(-more)} fewer wins than expected"
    return _metric_value(d.metric, d.value)


def _deviation_row(
    d: Deviation, window_start: date, window_words: str, seen: set[str]
) -> DeviationRow:
    words, higher = METRICS[d.metric]
    cls, chance, meaning = CHANCE[d.chance]
    one, many = VOLUME[d.metric]
    title = (
        f"{d.name}: {words}, week by week over the previous {ROLLING_WEEKS} weeks and "
        f"{window_words}"
    )
    spark = charts.sparkline(
        d.spark, higher_is_better=higher, window_start=window_start, title=title
    )
    return DeviationRow(
        id=_anchor("dev", d.key, seen),
        name=_one_line(d.name),
        metric=words[0].upper() + words[1:],
        headline=_headline(d),
        volume=f"over {numfmt.plural(d.volume, one, many)}",
        sentence=_one_line(d.sentence),
        chance=chance,
        chance_class=cls,
        chance_meaning=meaning,
        sustained=d.sustained,
        spark=Markup(spark) if d.spark else Markup(""),
        spark_text=charts.text_sparkline(d.spark, window_start=window_start),
    )


def _practice_row(p: Practice, seen: set[str]) -> PracticeRow:
    more = "more" if p.points >= 0 else "less"
    sure = "very unlikely to be luck" if p.q_value <= 0.05 else "luck could explain part of it"
    evidence = (
        f"All deals analysed: {numfmt.decimal(abs(p.points), 0)} percentage points {more} "
        f"likely to be won, after allowing for territory and deal mix; {sure}."
    )
    return PracticeRow(
        id=_anchor("practice", p.practice_id, seen),
        phrase=_one_line(p.phrase[:1].upper() + p.phrase[1:]),
        sentence=_one_line(p.sentence),
        evidence=_one_line(p.evidence) or evidence,
    )


def _story_row(s: Story, names: dict[str, str], wins: dict[str, str], seen: set[str]) -> StoryRow:
    by = [_one_line(s.rep)]
    if s.account:
        by.append(_one_line(s.account))
    if s.deal:
        by.append(_one_line(s.deal) + (f" ({s.deal_stage})" if s.deal_stage else ""))
    by.append(day_words(s.created_on))
    tied = ""
    if s.win_opportunity_id is not None:
        won = wins.get(s.win_opportunity_id)
        tied = f"About this period's win {won}" if won else "About a win of this period"
    return StoryRow(
        id=_anchor("story", s.story_id, seen),
        title=_one_line(s.title),
        byline=" · ".join(by),
        paragraphs=tuple(_paragraphs(s.body)),
        tags=tuple(_one_line(t) for t in s.tags if t.strip()),
        caregiver=s.caregiver,
        practices=tuple(_one_line(names.get(p, p)) for p in s.practices),
        tied=_one_line(tied),
    )


def _practice_names(brief: Brief) -> dict[str, str]:
    """practice id -> what a story's link calls it: the built-in practices' phrases, then the
    brief's own (a workspace's practices included), with a capital."""
    from brightspots.practices.builtin import BUILTINS

    names = {p.id: p.phrase for p in BUILTINS}
    names.update({p.practice_id: p.phrase for p in brief.practices})
    return {k: v[:1].upper() + v[1:] for k, v in names.items() if v.strip()}


def _practice_kinds(brief: Brief) -> dict[str, tuple[str, str]]:
    """practice id -> (kind, unit): the brief's practices, then the built-in ones (a previous
    action's practice need not be among this period's)."""
    from brightspots.practices.builtin import BUILTINS

    kinds = {p.id: (p.kind, p.unit) for p in BUILTINS}
    kinds.update({p.practice_id: (p.kind, p.unit) for p in brief.practices})
    return kinds


def _action_row(
    a: Action, kinds: dict[str, tuple[str, str]], prefix: str, seen: set[str]
) -> ActionRow:
    change = ""
    if a.before is not None or a.after is not None:
        known = kinds.get(a.practice_id or "")

        def show(v: float | None) -> str:
            if known is None:
                return numfmt.decimal(v, 1)
            return _practice_value(known[0], known[1], v)

        change = f"Before: {show(a.before)}. Since: {show(a.after)}."
    text = _one_line(a.text)
    return ActionRow(
        id=_anchor(prefix, a.key, seen),
        text=text.rstrip(".") if a.experiment_hint else text,
        change=change,
        since=_one_line(a.since),
        hint=a.experiment_hint,
    )


def _pulse_text(pulse: tuple[Pulse, ...]) -> str:
    if not pulse:
        return "No meeting pulse has been recorded yet."
    first, last = pulse[0], pulse[-1]
    if len(pulse) == 1:
        return (
            f"One meeting so far ({last.period}): energy {last.energy:.1f} and ideas "
            f"{last.ideas:.1f} out of 5, from {numfmt.plural(last.responses, 'answer')}."
        )
    return (
        f"Over the last {len(pulse)} meetings, energy went from {first.energy:.1f} to "
        f"{last.energy:.1f} and ideas from {first.ideas:.1f} to {last.ideas:.1f} (out of 5; "
        f"{numfmt.plural(last.responses, 'answer')} at the latest meeting)."
    )


def _coverage(brief: Brief) -> tuple[tuple[tuple[str, str], ...], str, tuple[str, ...]]:
    c, period = brief.coverage, brief.period
    rows = [("Period", period.words)]
    if c.first_day is not None and c.last_day is not None:
        rows.append(("Data in the period", span_words(c.first_day, c.last_day)))
    else:
        rows.append(("Data in the period", "none"))
    rows.append(("Latest data", _moment(c.as_of, c.timezone) if c.as_of else "none yet"))
    rows.append(("Analysis", f"run {c.run_id}, {_moment(c.run_at, 'UTC')}"))
    rows.append(("Made", _moment(brief.created_at, "UTC")))
    if c.as_of is None:
        fresh = "There is no data in the workspace yet."
    elif c.as_of.date() >= period.end:
        fresh = f"The data runs to {day_words(c.as_of.date())}, so the whole period is covered."
    elif c.as_of.date() < period.start:
        fresh = f"The latest data is from {day_words(c.as_of.date())}, before this period began."
    else:
        missing = (period.end - c.as_of.date()).days
        fresh = (
            f"The latest data is from {day_words(c.as_of.date())}: "
            f"{numfmt.plural(missing, 'day')} at the end of the period "
            f"{'is' if missing == 1 else 'are'} not in it yet."
        )
    warnings = []
    if not c.run_current:
        warnings.append(
            "The data has changed since the analysis was run, so the deviations and what worked "
            "may be out of date. Run the analysis again to bring them up to date."
        )
    return tuple(rows), fresh, tuple(warnings)


def _safe_funnel(brief: Brief) -> Brief:
    """The funnel names only reps the brief names in a row (wins, deviations, stories)."""
    if brief.funnel is None:
        return brief
    named = {w.rep for w in brief.wins} | {d.name for d in brief.deviations}
    named |= {s.rep for s in brief.stories}
    points = tuple(p if p.name in named else replace(p, name="") for p in brief.funnel.points)
    return replace(brief, funnel=replace(brief.funnel, points=points))


def _funnel(brief: Brief) -> tuple[Markup | None, tuple[tuple[Markup, str], ...], str]:
    f = brief.funnel
    if f is None or not f.points:
        return None, (), ""
    units = pd.DataFrame(
        {
            "expected": [p.expected for p in f.points],
            "oe": [p.oe for p in f.points],
            "closed": [p.closed for p in f.points],
            "label": [p.label for p in f.points],
        }
    )
    if drawable(units).empty:
        return None, (), ""
    legend = tuple(
        (Markup(s), t) for s, t in legend_entries(funnel_groups(units, f.min_volume, "rep"))
    )
    caption = (
        f"Each point is a rep, over {f.window_words}. Across: how many wins their territory and "
        f"deal mix predicted. Up: wins divided by that; 1 means as expected. The curved lines "
        f"show how far luck alone usually reaches, wider for reps with fewer deals. Reps with "
        f"fewer than {f.min_volume} closed deals are drawn hollow. Only reps named in this brief "
        f"are named."
    )
    return Markup(charts.funnel(f)), legend, caption


def _questions(
    brief: Brief, rows: dict[str, dict[str, tuple[str, str]]]
) -> tuple[QuestionRow, ...]:
    out = []
    for i, q in enumerate(brief.questions[:MAX_QUESTIONS], start=1):
        target = rows.get(q.section, {}).get(q.ref)
        if target is None:
            raise BriefRenderError(
                f"question {i} ({_one_line(q.text)!r}) refers to {q.section} row {q.ref!r}, "
                f"which the brief does not hold"
            )
        href, label = target
        out.append(QuestionRow(_one_line(q.text), f"#{href}", f"{TITLES[q.section]}: {label}"))
    return tuple(out)


def brief_view(brief: Brief, *, paper: str = "A4", draw: bool = True) -> BriefView:
    """Every section of ``brief`` formatted for display; ``draw=False`` leaves out the SVG
    charts (the Markdown brief has none)."""
    size = paper_size(paper)
    brief = _safe_funnel(brief)
    period = brief.period
    team = brief.team[:1].upper() + brief.team[1:]  # "the whole company" opens a sentence
    seen: set[str] = set()
    wins = tuple(_win_row(w, brief.currency, seen) for w in brief.wins)
    deviations = tuple(
        _deviation_row(d, period.window_start, period.window_words, seen) for d in brief.deviations
    )
    if not draw:
        deviations = tuple(replace(d, spark=Markup("")) for d in deviations)
    practices = tuple(_practice_row(p, seen) for p in brief.practices)
    practice_names = _practice_names(brief)
    win_names = {w.opportunity_id: f"{w.deal} ({w.account})" for w in brief.wins}
    stories = tuple(_story_row(s, practice_names, win_names, seen) for s in brief.stories)
    by_id = _practice_kinds(brief)
    actions = tuple(_action_row(a, by_id, "action", seen) for a in brief.actions)
    previous = tuple(_action_row(a, by_id, "previous", seen) for a in brief.previous_actions)
    experiments = tuple(
        ExperimentRow(_anchor("experiment", x.experiment_id, seen), _one_line(x.text))
        for x in brief.experiments
    )

    rows: dict[str, dict[str, tuple[str, str]]] = {
        "wins": {w.opportunity_id: (r.id, r.deal) for w, r in zip(brief.wins, wins, strict=True)},
        "deviations": {
            d.key: (r.id, f"{r.name}, {METRICS[d.metric][0]}")
            for d, r in zip(brief.deviations, deviations, strict=True)
        },
        "practices": {
            p.practice_id: (r.id, r.phrase) for p, r in zip(brief.practices, practices, strict=True)
        },
        "stories": {
            s.story_id: (r.id, r.title) for s, r in zip(brief.stories, stories, strict=True)
        },
        "actions": {},
    }
    for a, r in zip(brief.actions, actions, strict=True):
        rows["actions"].setdefault(a.key, (r.id, r.text))
    for a, r in zip(brief.previous_actions, previous, strict=True):
        rows["actions"].setdefault(a.key, (r.id, r.text))

    coverage, freshness, warnings = _coverage(brief)
    if draw and not brief.empty:
        funnel_svg, funnel_legend, funnel_caption = _funnel(brief)
        bars = charts.practice_bars(brief.practices)
        practice_svg = Markup(bars) if bars else None
    else:
        funnel_svg, funnel_legend, funnel_caption, practice_svg = None, (), "", None
    pulse_svg = charts.pulse_chart(brief.pulse) if draw else None

    shown = len(brief.wins)
    if brief.n_wins == 0:
        wins_summary = (
            f"No deals were won in {period.words}. The sections below show what went well anyway."
        )
    else:
        wins_summary = (
            f"{numfmt.plural(brief.n_wins, 'deal')} won, worth "
            f"{numfmt.money(brief.won_amount, brief.currency)}."
        )
        if 0 < shown < brief.n_wins:
            wins_summary += f" Here are {shown} of them."

    c = brief.coverage
    empty_text: list[str] = []
    if brief.empty:
        empty_text.append(
            f"{team} had no closed deals and no recorded activity in {period.words}, so "
            f"this brief is short."
        )
        if c.as_of is not None:
            empty_text.append(
                f"The latest data in the workspace is from {_moment(c.as_of, c.timezone)}."
            )
            if c.as_of.date() < period.start:
                empty_text.append(
                    "That is before this period began: import newer data, then make the brief "
                    "again."
                )
        else:
            empty_text.append("The workspace holds no data yet: import some, then try again.")
        empty_text.append("Last period's actions and the meeting pulse are below.")

    number = not brief.empty
    headings = {
        key: (f"{i}. {title}" if number else title)
        for i, (key, title) in enumerate(SECTIONS, start=1)
    }
    return BriefView(
        title=f"{team}: brief for {period.words}",
        heading=f"{team}, {period.words}",
        kicker="Team brief: the best of what happened",
        page_size=size,
        version=__version__,
        coverage=coverage,
        freshness=freshness,
        warnings=warnings,
        notes=tuple(_one_line(n) for n in c.notes if n.strip()),
        deviation_notes=tuple(_one_line(n) for n in brief.notes if n.strip()),
        empty=brief.empty,
        empty_text=tuple(empty_text),
        headings=headings,
        wins_summary=wins_summary,
        wins=wins,
        window_words=period.window_words,
        chance_legend=tuple(CHANCE.values()),
        deviations=deviations,
        funnel_svg=funnel_svg,
        funnel_legend=funnel_legend,
        funnel_caption=funnel_caption,
        practices=practices,
        practice_svg=practice_svg,
        stories=stories,
        questions=_questions(brief, rows),
        actions=actions,
        previous_period=brief.previous_period,
        previous_actions=previous,
        pulse=tuple(
            PulseRow(p.period, f"{p.energy:.1f}", f"{p.ideas:.1f}", numfmt.integer(p.responses))
            for p in brief.pulse
        ),
        pulse_svg=Markup(pulse_svg) if pulse_svg else None,
        pulse_text=_pulse_text(brief.pulse),
        experiments=experiments,
    )
