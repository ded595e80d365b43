"""The report's section on practice experiments, read from the run's ``experiment_status`` and
``experiment_effects`` (optional run tables: an older run has none, and then no section).

Per team experiment: its verdict (the stored headline and lines), adoption and outcome before
and after in the teams that tried it and in the comparison teams, the event study as a chart
(the difference week by week with its interval; weeks before the start grey), the pre-trend
sentence, the warnings and the power words. Personal experiments hold a rep's own numbers: the
report only counts them. "How this is measured" says what the figures are.

``read`` gathers the tables, ``clean`` checks them (the context calls both); ``stored`` parses
the status rows (the brief reads them too); ``experiments_section`` makes the section.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import altair as alt
import pandas as pd
from markupsafe import Markup

from brightspots.experiments import words as xw
from brightspots.experiments.config import EFFECT_COLUMNS, STATUS_COLUMNS
from brightspots.experiments.did import REPEATED_LEVEL, STRICT_LEVEL
from brightspots.experiments.model import Measure
from brightspots.experiments.panels import planned_weeks, stop_week, treated_from
from brightspots.experiments.store import Plan
from brightspots.report import charts
from brightspots.report.tables import ReportError

if TYPE_CHECKING:
    from brightspots.report.context import ReportContext
    from brightspots.workspace import Workspace

#: the run tables the section reads and the columns it needs from each
TABLES: dict[str, tuple[str, ...]] = {
    "experiment_status": STATUS_COLUMNS,
    "experiment_effects": EFFECT_COLUMNS,
}
BEFORE_INK = "#9aa5b1"
AFTER_INK = "#0072b2"
START_INK = "#c2410c"
#: the verdicts that carry figures worth a table (the others say why there are none)
FAILED = "failed"


# ----------------------------------------------------------------------------- reading


def read(ws: Workspace, run_id: str) -> dict[str, pd.DataFrame | None]:
    """The context's experiment tables of run ``run_id`` (None when the workspace has none or
    the run stored no row)."""
    out: dict[str, pd.DataFrame | None] = {}
    for name in TABLES:
        frame = ws.run_results(name, run_id) if ws.has_table(name) else None
        out[name] = frame if frame is not None and len(frame) else None
    return out


def clean(frame: pd.DataFrame | None, name: str, where: str) -> pd.DataFrame | None:
    """An experiment table checked for its columns; None (or no row) stays None."""
    if frame is None or frame.empty:
        return None
    missing = [c for c in TABLES[name] if c not in frame.columns]
    if missing:
        raise ReportError(f"{name} ({where}): missing column(s) {', '.join(missing)}")
    return frame.reset_index(drop=True)


def _json(text: Any, default: Any) -> Any:
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return default
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return default


def _date(v: Any) -> date | None:
    try:
        return date.fromisoformat(str(v)[:10]) if v else None
    except ValueError:
        return None


def finite(v: Any) -> float | None:
    """A finite float of a stored value (None for a missing, non-numeric or non-finite one);
    the web pages read stored figures with it too."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def plans_of(definition: Mapping[str, Any]) -> list[Plan]:
    """The plans a stored definition carries (``ExperimentResult.figures``), by wave."""
    out = []
    for p in definition.get("plans") or ():
        if isinstance(p, Mapping) and p.get("wave") is not None:
            out.append(
                Plan(
                    experiment_id=str(p.get("experiment_id") or ""),
                    wave=int(p["wave"]),
                    made_at=str(p.get("made_at") or ""),
                    data_as_of=p.get("data_as_of"),
                    comparison_teams=tuple(str(t) for t in p.get("comparison_teams") or ()),
                    plan=p.get("plan") if isinstance(p.get("plan"), dict) else {},
                )
            )
    return sorted(out, key=lambda p: p.wave)


def lag_of(figures: Mapping[str, Any]) -> int | None:
    """The days a week of new deals needs to be settled (mature), as stored: ``lag_days``, else
    the horizon for the win rate; None when not known (another outcome's settling time comes
    from the workspace's settings)."""
    definition = figures.get("definition") or {}
    lag = finite(figures.get("lag_days"))
    if lag is None and (figures.get("outcome") or definition.get("outcome")) == "win_rate":
        lag = finite(definition.get("horizon_days"))
    return None if lag is None else int(lag)


def mature_weeks(
    first: date, as_of: date, *, lag_days: int, end: date | None
) -> tuple[int, date | None]:
    """How many weeks of new deals from the first start are mature at ``as_of`` (weeks from the
    start's first full week, ``treated_from``; a week is mature once its last day's deals have
    had ``lag_days``; the week holding ``end`` and later ones never count), and the day the
    next one will be (None: no more to come)."""
    monday = treated_from(first)
    lag = timedelta(days=lag_days)
    done = max(0, (as_of - monday - lag).days // 7)
    stop = stop_week(end)
    weeks = None if stop is None else max(0, (stop - monday).days // 7)
    if weeks is not None and done >= weeks:
        return weeks, None
    return done, monday + timedelta(weeks=done + 1) + lag


def progress_words(
    first: date,
    as_of: date,
    *,
    lag_days: int | None,
    end: date | None,
    planned: int | None,
    counted: int = 0,
    upcoming: bool = True,
    day: Callable[[date], str] = lambda d: xw.short_day(d, year=True),
) -> str:
    """How far an experiment is, in the plan's terms (weeks of new deals that have had the
    horizon, ``mature_weeks``): '9 weeks of new deals planned; 3 mature so far, the next on 4
    May 2026', 'starts on 2 March 2026', with 'ended 4 Jun 2026; ' once its end has passed.
    Without ``lag_days`` (not stored) the run's ``counted`` mature weeks stand in, with no next
    day. ``upcoming``: with the next week's day; ``day``: how a day is written."""
    if as_of < first:
        return f"starts on {xw.day(first)}"
    if lag_days is None:
        done, following = counted, None
    else:
        done, following = mature_weeks(first, as_of, lag_days=lag_days, end=end)
    if planned is not None:
        text = f"{xw.count(planned, 'week')} of new deals planned; "
        text += f"{done} mature so far" if done else "none mature yet"
    else:
        text = (
            f"{xw.count(done, 'week')} of new deals mature so far"
            if done
            else "no week of new deals mature yet"
        )
    if upcoming and following is not None:
        text += f", the {'next' if done else 'first'} on {day(following)}"
    if end is not None and end <= as_of:
        text = f"ended {day(end)}; {text}"
    return text


def stop_words(end: date) -> str:
    """What a stop means for the figures: 'weeks from 1 Jun 2026 on no longer count'; the week
    holding a mid-week end is the first left out, so it is named (``panels.stop_week``)."""
    week = stop_week(end)
    assert week is not None
    text = f"weeks from {xw.short_day(week, year=True)} on no longer count"
    if week != end:
        text += f" (the week holding the end, {xw.short_day(end, year=True)}, is left out whole)"
    return text


def strict_until(figures: Mapping[str, Any]) -> date | None:
    """The day the early looks end: the plan's weeks from the first start have had the
    outcome's settling time (the verdict's ``Timing.ready``); None when not known. The
    measure's own ``strict_until`` when stored; else the first start's Monday + the plan's
    weeks + the settling time (``lag_of``)."""
    measure = (figures.get("measures") or {}).get("outcome") or {}
    given = _date(measure.get("strict_until")) if isinstance(measure, Mapping) else None
    if given is not None:
        return given
    planned = planned_weeks(plans_of(figures.get("definition") or {}))
    starts = [d for v in (figures.get("starts") or {}).values() if (d := _date(v))]
    lag = lag_of(figures)
    if planned is None or not starts or lag is None:
        return None
    return treated_from(min(starts)) + timedelta(weeks=planned, days=lag)


@dataclass(frozen=True)
class StoredMeasure:
    """One measure's figures as stored (``model.Measure.figures``). ``strict_*`` is the
    stricter interval that decides while ``early`` (before the plan's weeks), until
    ``until``."""

    name: str  # the outcome (win_rate, ...) or "adoption"
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    level: float
    treated_before: float | None
    treated_after: float | None
    comparison_before: float | None
    comparison_after: float | None
    weeks_mature: int
    first_figures: date | None
    pretrend: dict[str, Any] | None
    strict_low: float | None = None
    strict_high: float | None = None
    early: bool = False
    until: date | None = None
    repeated_low: float | None = None
    repeated_high: float | None = None

    @classmethod
    def of(
        cls, name: str, f: Mapping[str, Any], *, figures: Mapping[str, Any] | None = None
    ) -> StoredMeasure:
        """From a measure's stored figures ``f``; ``figures`` (the whole status row's) gives
        the day the early looks end."""
        return cls(
            name=name,
            estimate=finite(f.get("estimate")),
            ci_low=finite(f.get("ci_low")),
            ci_high=finite(f.get("ci_high")),
            level=finite(f.get("level")) or 0.95,
            treated_before=finite(f.get("treated_before")),
            treated_after=finite(f.get("treated_after")),
            comparison_before=finite(f.get("comparison_before")),
            comparison_after=finite(f.get("comparison_after")),
            weeks_mature=int(f.get("weeks_mature") or 0),
            first_figures=_date(f.get("first_figures")),
            pretrend=f.get("pretrend") if isinstance(f.get("pretrend"), dict) else None,
            strict_low=finite(f.get("strict_low")),
            strict_high=finite(f.get("strict_high")),
            early=bool(f.get("early")),
            until=strict_until(figures) if figures is not None else None,
            repeated_low=finite(f.get("repeated_low")),
            repeated_high=finite(f.get("repeated_high")),
        )

    def decisive(self) -> tuple[float, float | None, float | None]:
        """(level, low, high) of the interval that decided "worked" or "worse" at this look, by
        the verdict's own rule (``model.Measure.decisive``: 99.9% during the early looks, 98%
        from the plan's weeks on; ``did.STRICT_LEVEL``, ``did.REPEATED_LEVEL``)."""
        return Measure(
            self.name,
            True,
            strict_low=self.strict_low,
            strict_high=self.strict_high,
            repeated_low=self.repeated_low,
            repeated_high=self.repeated_high,
            early=self.early,
        ).decisive()


def _clears(low: float | None, high: float | None) -> bool:
    return low is not None and high is not None and (low > 0 or high < 0)


def stronger_needed(m: StoredMeasure, outcome: str) -> str:
    """'; a stronger result is needed until 2 May 2027 (99.9% CI -0.4 to 12.6)': the verdict
    is read every week, so a stricter interval than the 95% one shown decides (``decisive``:
    99.9% during the early looks, until the plan's weeks are mature; 98% from then on). A 95%
    interval that clears zero while that one does not says why it is not called; else "".
    Adoption is read at 95%."""
    if m.name == "adoption" or not _clears(m.ci_low, m.ci_high):
        return ""
    level, low, high = m.decisive()
    if low is None or high is None or _clears(low, high):
        return ""  # not stored (an older run), or it clears the stricter bar too: called
    strict = xw.interval(low, high, outcome, level)
    if m.early:
        until = f" until {xw.short_day(m.until, year=True)}" if m.until else ""
        return f"; a stronger result is needed{until} ({strict})"
    return f"; as it is checked every week, a stronger result is needed ({strict})"


def interval_words(m: StoredMeasure, outcome: str) -> str:
    """The measure's interval as the report, the brief and the web pages show it: '95% CI 1.8
    to 10.4', with ``stronger_needed``."""
    return xw.interval(m.ci_low, m.ci_high, outcome, m.level) + stronger_needed(m, outcome)


@dataclass(frozen=True)
class Stored:
    """One experiment's row of ``experiment_status`` (and its ``experiment_effects``), parsed.

    ``status`` is the definition's status when the run was made (active or stopped);
    ``starts`` each treated team's start; ``measures`` ``outcome`` and ``adoption``."""

    experiment_id: str
    name: str
    kind: str
    practice_id: str
    outcome: str
    horizon_days: int
    status: str
    verdict: str
    headline: str
    lines: tuple[str, ...]
    warnings: tuple[str, ...]
    treated: tuple[str, ...]
    comparison: tuple[str, ...]
    starts: dict[str, date]
    power: str
    data_as_of: datetime | None
    measures: dict[str, StoredMeasure] = field(default_factory=dict)
    effects: pd.DataFrame | None = None
    stopped_on: date | None = None  # its end date, else the day it was stopped
    end_date: date | None = None  # its end (planned, or where it was stopped)
    planned: int | None = None  # the weeks of new deals its plan needs
    lag_days: int | None = None  # the days a week of new deals takes to be mature

    @property
    def first_start(self) -> date | None:
        return min(self.starts.values(), default=None)

    def started(self) -> bool:
        """Whether its first full week had begun at the data's as-of time."""
        first = self.first_start
        if first is None or self.data_as_of is None:
            return False
        return self.data_as_of.date() >= treated_from(first)

    def progress(self, **kw: Any) -> str:
        """``progress_words`` at the data's as-of time ("" when not known); ``kw`` goes to it."""
        first = self.first_start
        if first is None or self.data_as_of is None:
            return ""
        outcome = self.measures.get("outcome")
        return progress_words(
            first,
            self.data_as_of.date(),
            lag_days=self.lag_days,
            end=self.end_date,
            planned=self.planned,
            counted=outcome.weeks_mature if outcome is not None else 0,
            **kw,
        )

    def event(self, measure: str = "outcome") -> pd.DataFrame:
        """The event study of a measure: e, estimate, ci_low, ci_high, by e (finite e only)."""
        cols = ["e", "estimate", "ci_low", "ci_high", "n_treated", "n_control"]
        if self.effects is None or self.effects.empty:
            return pd.DataFrame(columns=cols)
        ev = self.effects[
            (self.effects["measure"] == measure) & (self.effects["aggregation"] == "event")
        ]
        ev = ev[cols].apply(pd.to_numeric, errors="coerce").dropna(subset=["e"])
        return ev.sort_values("e").reset_index(drop=True)


def stored(status: pd.DataFrame | None, effects: pd.DataFrame | None = None) -> list[Stored]:
    """The experiments of a run's ``experiment_status`` rows, by name; ``effects`` (the run's
    ``experiment_effects``) gives each its rows."""
    if status is None or status.empty:
        return []
    out = []
    for r in status.to_dict("records"):
        figures = _json(r.get("figures"), {}) or {}
        definition = figures.get("definition") or {}
        starts = {str(t): d for t, v in (figures.get("starts") or {}).items() if (d := _date(v))}
        measures = {
            k: StoredMeasure.of(
                "adoption" if k == "adoption" else str(figures.get("outcome") or ""),
                v or {},
                figures=figures,
            )
            for k, v in (figures.get("measures") or {}).items()
        }
        eid = str(r["experiment_id"])
        mine = None
        if effects is not None and len(effects):
            mine = effects[effects["experiment_id"].astype(str) == eid]
        as_of = r.get("data_as_of")
        out.append(
            Stored(
                experiment_id=eid,
                name=str(r.get("name") or definition.get("name") or eid),
                kind=str(figures.get("kind") or definition.get("kind") or "team"),
                practice_id=str(figures.get("practice_id") or definition.get("practice_id") or ""),
                outcome=str(figures.get("outcome") or definition.get("outcome") or "win_rate"),
                horizon_days=int(definition.get("horizon_days") or 0),
                status=str(definition.get("status") or "active"),
                verdict=str(r.get("verdict") or ""),
                headline=str(r.get("headline") or ""),
                lines=tuple(str(x) for x in figures.get("lines") or ()),
                warnings=tuple(str(x) for x in _json(r.get("warnings"), []) or ()),
                treated=tuple(str(t) for t in figures.get("treated") or ()),
                comparison=tuple(str(t) for t in figures.get("comparison") or ()),
                starts=starts,
                power=str(figures.get("power") or ""),
                data_as_of=None if as_of is None or pd.isna(as_of) else pd.Timestamp(as_of),
                measures=measures,
                effects=mine,
                stopped_on=_date(definition.get("end_date")) or _date(definition.get("stopped_at")),
                end_date=_date(definition.get("end_date")),
                planned=planned_weeks(plans_of(definition)),
                lag_days=lag_of(figures),
            )
        )
    return sorted(out, key=lambda s: (s.name.lower(), s.experiment_id))


# ----------------------------------------------------------------------------- the chart


def event_chart(
    event: pd.DataFrame, outcome: str, *, description: str, width: int = 460, height: int = 170
) -> alt.TopLevelMixin:
    """The event study: the difference in change week by week (weeks since the start; negative
    weeks are before it, grey) with its interval as a bar, a rule at no difference and one at
    the start."""
    scale = 100.0 if outcome in xw.SHARES else 1.0
    unit = "points" if outcome in xw.SHARES else "hours"
    data = pd.DataFrame(
        {
            "e": event["e"].astype(int),
            "estimate": event["estimate"].astype(float) * scale,
            "low": event["ci_low"].astype(float) * scale,
            "high": event["ci_high"].astype(float) * scale,
        }
    )
    data["phase"] = ["before the start" if e < 0 else "since the start" for e in data["e"]]
    finite = data[["low", "high"]].replace([math.inf, -math.inf], float("nan"))
    data["low"] = finite["low"].fillna(data["estimate"])
    data["high"] = finite["high"].fillna(data["estimate"])
    x = alt.X(
        "e:Q",
        title="Weeks since the start (negative: before it)",
        axis=alt.Axis(tickMinStep=1, format="d"),
        scale=alt.Scale(nice=False, padding=8),
    )
    y_title = f"Difference in {xw.short_name(outcome)} ({unit})"
    colour = alt.Color(
        "phase:N",
        scale=alt.Scale(
            domain=["before the start", "since the start"], range=[BEFORE_INK, AFTER_INK]
        ),
        legend=None,
    )
    bars = (
        alt.Chart(data)
        .mark_rule(strokeWidth=2)
        .encode(x=x, y=alt.Y("low:Q", title=y_title), y2="high:Q", color=colour)
    )
    dots = (
        alt.Chart(data)
        .mark_point(filled=True, size=36, opacity=1)
        .encode(x=x, y="estimate:Q", color=colour)
    )
    zero = (
        alt.Chart(pd.DataFrame({"y": [0.0]}))
        .mark_rule(color=charts.INK, strokeWidth=1, aria=False)
        .encode(y="y:Q")
    )
    start = (
        alt.Chart(pd.DataFrame({"x": [-0.5]}))
        .mark_rule(color=START_INK, strokeDash=[4, 3], strokeWidth=1.5, aria=False)
        .encode(x="x:Q")
    )
    chart = alt.layer(zero, start, bars, dots).properties(
        width=width, height=height, description=description
    )
    return charts.base_config(chart)


def legend_entries() -> list[tuple[Markup, str]]:
    """(inline SVG symbol, text) for the event-study chart, drawn by the page in HTML."""

    def bar(colour: str) -> Markup:
        return Markup(
            '<svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true">'
            f'<line x1="8" y1="2" x2="8" y2="14" stroke="{colour}" stroke-width="2"/>'
            f'<circle cx="8" cy="8" r="3" fill="{colour}"/></svg>'
        )

    start = Markup(
        '<svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true">'
        f'<line x1="8" y1="1" x2="8" y2="15" stroke="{START_INK}" stroke-width="1.5" '
        'stroke-dasharray="4 3"/></svg>'
    )
    return [
        (bar(BEFORE_INK), "Weeks before the start, with 95% intervals (should sit around 0)"),
        (bar(AFTER_INK), "Weeks since the start, with 95% intervals"),
        (start, "The start"),
    ]


# ----------------------------------------------------------------------------- the section


@dataclass(frozen=True)
class MeasureRow:
    """One measure, the teams in it against the comparison teams as a group, in words (the
    report's and the web page's table; the API returns these rows as they are)."""

    measure: str  # "adoption", "win rate"
    treated_before: str
    treated_after: str
    comparison_before: str
    comparison_after: str
    change: str  # the difference in change
    interval: str  # with ``stronger_needed``
    mature_weeks: int  # mature weeks since the start

    @property
    def weeks(self) -> str:
        return str(self.mature_weeks)


@dataclass(frozen=True)
class ExperimentCard:
    experiment_id: str
    name: str
    what: str  # "Nordics and Iberia try multithreading from 2 Mar 2026 (week 5), ..."
    comparison: str  # "Compared with 12 teams: ..."
    verdict: str  # the code (a CSS class)
    headline: str
    lines: tuple[str, ...]
    rows: tuple[MeasureRow, ...]
    svg: Markup
    chart_caption: str
    pretrend: str
    power: str
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class ExperimentsSection:
    present: bool  # the run stored at least one experiment
    intro: str
    cards: tuple[ExperimentCard, ...]
    personal: str  # the count of personal experiments ("" when none)
    legend: list[tuple[Markup, str]]
    how: tuple[str, ...]


def _teams(ids: tuple[str, ...], names: Mapping[str, str]) -> str:
    return xw.listing([names.get(t, t) for t in ids])


def _practice(pid: str) -> str:
    """The practice by its id, as the practices table and ``experiment show`` name it."""
    return pid or "a practice"


def _what(s: Stored, names: Mapping[str, str]) -> str:
    teams = _teams(s.treated, names) or "No team"
    starts = sorted(set(s.starts.values()))
    if len(starts) == 1:
        when = f"from {xw.short_day(starts[0], year=True)}"
    elif starts:
        when = "in waves from " + xw.listing([xw.short_day(d, year=True) for d in starts])
    else:
        when = ""
    verb = "tries" if len(s.treated) == 1 else "try"
    progress = s.progress() if s.started() else ""
    at = f" (by the data's latest day: {progress})" if progress else ""
    horizon = s.horizon_days if s.outcome == "win_rate" else None
    stopped = "; stopped" if s.status == "stopped" else ""
    return (
        f"{teams} {verb} {_practice(s.practice_id)} {when}{at}{stopped}. Outcome: "
        f"{xw.outcome_name(s.outcome, horizon)}."
    ).replace("  ", " ")


def measure_row(m: StoredMeasure) -> MeasureRow:
    """The row of a measure (its ``name``: the outcome or "adoption")."""
    kind = m.name
    return MeasureRow(
        measure=xw.short_name(kind),
        treated_before=xw.level(m.treated_before, kind),
        treated_after=xw.level(m.treated_after, kind),
        comparison_before=xw.level(m.comparison_before, kind),
        comparison_after=xw.level(m.comparison_after, kind),
        change=xw.change(m.estimate, kind) if m.estimate is not None else "not known",
        interval=interval_words(m, kind) if m.estimate is not None else "",
        mature_weeks=m.weeks_mature,
    )


def pretrend_sentence(m: StoredMeasure | None, outcome: str) -> str:
    """What the weeks before the start say about the comparison, in one sentence."""
    trend = m.pretrend if m is not None else None
    slope = finite((trend or {}).get("slope"))
    if slope is None:
        return "Too few weeks before the start to check that the teams moved together."
    p = finite(trend.get("p"))
    gap = xw.change(slope, outcome).removeprefix("+")
    p_text = "" if p is None else " (p < 0.01)" if p < 0.005 else f" (p = {p:.2f})"
    if trend.get("flagged"):
        return (
            f"Before the start the gap was already moving by {gap} a week{p_text}: the "
            "comparison is not fair, and the figures after the start cannot be read as the "
            "practice's effect."
        )
    return (
        f"Before the start the teams and the comparison teams moved together: the gap moved by "
        f"{gap} a week{p_text}, too little to explain a difference after the start."
    )


def _card(s: Stored, names: Mapping[str, str]) -> ExperimentCard:
    outcome = s.measures.get("outcome")
    rows = []
    for key in ("adoption", "outcome"):
        m = s.measures.get(key)
        shown = (m.treated_before, m.treated_after, m.estimate) if m is not None else ()
        if any(v is not None for v in shown):
            rows.append(measure_row(m))
    event = s.event("outcome")
    svg, caption = Markup(""), ""
    if len(event) and event["estimate"].notna().any():
        event = event[event["estimate"].notna()]
        name = xw.short_name(s.outcome)
        desc = (
            f"{s.name}: the difference in {name} between the teams that tried it and the "
            "comparison teams, week by week around the start."
        )
        svg = Markup(charts.to_svg(event_chart(event, s.outcome, description=desc)))
        caption = (
            f"Each week's {name} in the teams that tried it, minus the comparison teams', each "
            "measured from its own level before the start, with its 95% interval. Before the "
            "start (grey) the bars should sit around zero; since the start they show the effect "
            "week by week (a single week is noisy: the verdict pools them)."
        )
    comparison = ""
    if s.comparison:
        comparison = (
            f"Compared with {xw.count(len(s.comparison), 'team')}: {_teams(s.comparison, names)}."
        )
    has_figures = s.verdict != FAILED and outcome is not None
    return ExperimentCard(
        experiment_id=s.experiment_id,
        name=s.name,
        what=_what(s, names),
        comparison=comparison,
        verdict=s.verdict,
        headline=s.headline,
        lines=s.lines,
        rows=tuple(rows),
        svg=svg,
        chart_caption=caption,
        pretrend=pretrend_sentence(outcome, s.outcome)
        if has_figures and svg and not any(x.startswith("Before the start") for x in s.lines)
        else "",
        power=s.power,
        warnings=s.warnings,
    )


def how_measured(
    baseline_weeks: int,
    horizon_days: tuple[int, ...],
    *,
    history_weeks: int = 26,
    landmark_days: int = 14,
) -> tuple[str, ...]:
    """'How this is measured', in plain words. ``landmark_days`` ([practices]) sets the weeks
    left out just before each start: ceil(landmark_days / 7), as ``panels.anticipation_weeks``;
    similar teams are matched over weeks ``history_weeks`` to ``baseline_weeks`` + 1 before the
    start (``compare.matching_weeks``)."""
    horizon = xw.listing([f"{h} days" for h in sorted(set(horizon_days))]) or "90 days"
    gap = math.ceil(landmark_days / 7)
    return (
        "Win rate is counted on cohorts: the deals a team created in a week, and the share of "
        f"them won within {horizon} of creation. Deals lost, still open or won later all count "
        "as not won, so the figure never waits on how deals close, which the practice may "
        "change. A week counts only once all its deals have had that long. Deals a team "
        "opened before its start and still open then stay in its baseline: the figure is the "
        "effect on new deals, and if the practice helped those open deals too, their rise "
        "lifts the baseline, so if anything the figure is an underestimate.",
        "Adoption is how often the teams' new deals used the practice, counted on deals old "
        "enough for it to be measured. A practice nobody took up cannot be tested.",
        "The comparison teams are chosen when the experiment is made and then kept: the teams "
        f"most like the experiment's over weeks {history_weeks} to {baseline_weeks + 1} before "
        "the start (the outcome's level, volume, how often the practice was already used and "
        "the deal mix; not the trend, which the pre-trend check reads from the weeks after "
        "those), or every other team. They never include teams in another experiment of the "
        "same practice, and one that joins such an experiment later stops counting from its "
        "start there. Teams that start later count as comparison until they start.",
        "The effect is a difference in differences (Callaway and Sant'Anna): each team's change "
        f"from the mean of its {baseline_weeks} weeks before its start, minus the comparison "
        "teams' change over the same weeks, pooled over the start dates by volume. The "
        f"{xw.count(gap, 'week')} just before each start are left out of the baseline and of "
        "the pre-trend check (did the teams move together before it?): the practice is measured "
        f"over a deal's first {landmark_days} days, so deals opened then may already carry it. "
        "Unlike a plain before-and-after or a two-way regression, it stays right when teams "
        "start at different times and the effect grows.",
        "Intervals come from a wild cluster bootstrap over teams (Webb weights, studentised), so "
        "they allow for each team's own luck and for a team's weeks moving together. The result "
        "is checked every week, so a stronger interval than the 95% one shown is needed to "
        f"call it: {100 * STRICT_LEVEL:g}% until the planned number of weeks, "
        f"{100 * REPEATED_LEVEL:g}% from then on (a 95% interval read week after week would "
        "too often show an effect that is not there). The planned number of weeks is sized for "
        f"the {100 * REPEATED_LEVEL:g}% interval.",
    )


def experiments_section(ctx: ReportContext) -> ExperimentsSection:
    """The section of the run's experiments (absent when the run stored none)."""
    from brightspots.report.rows import team_names

    found = stored(ctx.experiment_status, ctx.experiment_effects)
    if not found:
        return ExperimentsSection(False, "", (), "", [], ())
    names = team_names(ctx)
    team = [s for s in found if s.kind != "personal"]
    personal = [s for s in found if s.kind == "personal"]
    active = sum(1 for s in team if s.status == "active")
    if team:
        intro = (
            f"{xw.count(len(team), 'team experiment')} in this run ({active} running): teams "
            "try a practice from a start date and are compared with teams that did not. Each "
            "says first whether the practice was taken up, then what it did to the outcome."
        )
    else:
        intro = "No team experiment in this run."
    count = ""
    if personal:
        running = sum(1 for s in personal if s.status == "active")
        count = (
            f"{xw.count(len(personal), 'personal experiment')} ({running} running): a rep's own "
            "figures are theirs, so the report only counts them; each rep sees their own on "
            "their meter."
        )
    settings = ctx.experiment_settings or {}
    baseline = settings.get("baseline_weeks", 12)
    baseline = baseline if isinstance(baseline, int) and baseline > 0 else 12
    history = settings.get("history_weeks", 26)
    history = history if isinstance(history, int) and history > baseline else 26
    notes = ctx.diagnostics.practices
    landmark = notes.landmark_days if notes is not None and notes.landmark_days > 0 else 14
    return ExperimentsSection(
        present=True,
        intro=intro,
        cards=tuple(_card(s, names) for s in team),
        personal=count,
        legend=legend_entries() if team else [],
        how=how_measured(
            baseline,
            tuple(s.horizon_days for s in team if s.horizon_days),
            history_weeks=history,
            landmark_days=landmark,
        )
        if team
        else (),
    )
