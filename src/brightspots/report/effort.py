"""The report's effort section: which effort reaches buyers, team by team.

One chart per team (touches a day, split by what became of them, with the impact rate by week),
the biggest ``MAX_TEAMS`` teams by touches when there are more, and one table row per team. The
span is the last weeks of data (``effort_frames.span``). Effort describes what teams do, not how
they score, so every team is named here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from markupsafe import Markup

from brightspots.report import charts, effort_charts, fmt
from brightspots.report import effort_frames as ef
from brightspots.report.context import ReportContext
from brightspots.report.rows import team_names

MAX_TEAMS = 12
NOT_IN_RUN = (
    "Effort and buyer impact are not in this run: analyse again (brightspots analyze) to add them."
)


@dataclass(frozen=True)
class TeamEffort:
    """One team's chart (empty when not drawn) and its table row, display-ready."""

    team_id: str
    name: str
    svg: Markup
    touches: str
    impact_rate: str
    followed: str
    in_dark: str
    pending: str
    buyer_events: str
    response_hours: str


@dataclass(frozen=True)
class EffortSection:
    note: str  # replaces the section's body when there is nothing to show
    span: str
    terms: str
    legend: list[tuple[Markup, str]]
    teams: list[TeamEffort]  # every team, by name: the table
    charted: list[TeamEffort]  # those drawn, by name
    left_out: str
    how_to_read: str


def duration(d: timedelta) -> str:
    """timedelta(days=7) -> '7 days'; timedelta(hours=36) -> '36 hours'."""
    hours = d.total_seconds() / 3600
    if hours % 24 == 0:
        return fmt.plural(int(hours // 24), "day")
    return fmt.plural(round(hours), "hour")


def terms(impact_window: timedelta, dark_after: timedelta) -> str:
    """The words of the section, in plain language."""
    w, d = duration(impact_window), duration(dark_after)
    return (
        "A touch is a call, e-mail, meeting, demo or proposal by a rep on an account (bulk "
        "e-mails are not touches). A touch has buyer impact when something the buyer does on "
        "that account (a reply, a meeting accepted, a proposal viewed, a request) is credited to "
        f"it: each buyer event goes to the latest touch before it, at most {w} before, on the "
        "same deal or contact when both name one. A touch without impact is one of three "
        f"things, shown apart: the buyer responded within {d} but to another touch; the touch "
        f"is in the dark (nothing from the buyer on the account within {d}); or there is no "
        f"response yet ({d} have not passed since the touch)."
    )


def _span_words(s: ef.Span, timezone: str | None) -> str:
    zone = f" (days in the workspace time zone, {timezone})" if timezone else ""
    return f"the {fmt.plural(s.weeks, 'week')} from {fmt.day(s.first)} to {fmt.day(s.last)}{zone}"


def _row(team_id: str, name: str, t: ef.Totals, svg: str) -> TeamEffort:
    hours = fmt.MISSING if fmt.is_missing(t.response_hours) else fmt.decimal(t.response_hours)
    return TeamEffort(
        team_id=team_id,
        name=name,
        svg=Markup(svg),
        touches=fmt.integer(t.touches),
        impact_rate=fmt.percent(t.impact_rate),
        followed=fmt.percent(t.share(t.followed)),
        in_dark=fmt.percent(t.share(t.in_dark)),
        pending=fmt.percent(t.share(t.pending)),
        buyer_events=fmt.integer(t.buyer_events),
        response_hours=hours,
    )


def _empty(note: str, ctx: ReportContext) -> EffortSection:
    return EffortSection(
        note=note,
        span="",
        terms=terms(ctx.impact_window, ctx.dark_after),
        legend=[],
        teams=[],
        charted=[],
        left_out="",
        how_to_read="",
    )


def effort_section(ctx: ReportContext, *, max_teams: int = MAX_TEAMS) -> EffortSection:
    effort = ctx.effort_impact
    if effort is None:
        return _empty(NOT_IN_RUN, ctx)
    s = ef.span(effort)
    if s is None:
        return _empty(
            "No touch or buyer event carries a team in this run: effort is shown by team, "
            "so there is nothing to draw (give reps a team_id).",
            ctx,
        )
    totals = ef.totals(effort, "team", s)
    names = team_names(ctx)
    ids = sorted(totals, key=lambda t: (names.get(t, t).casefold(), t))
    biggest = set(sorted(ids, key=lambda t: (-totals[t].touches, t))[:max_teams])
    drawn = [t for t in ids if t in biggest]
    weekly = {t: ef.weekly(effort, "team", t, s) for t in drawn}
    rates = np.concatenate([w["rate"].to_numpy(float) for w in weekly.values()] or [[]])
    top = ef.rate_top(rates)
    rows, charted = [], []
    for t in ids:
        name = names.get(t, t)
        svg = ""
        if t in weekly:
            tot = totals[t]
            desc = (
                f"{name}: touches a day over {_span_words(s, None)}, "
                f"{fmt.percent(tot.impact_rate)} with buyer impact, "
                f"{fmt.percent(tot.share(tot.in_dark))} in the dark; "
                "the line is the impact rate by week."
            )
            chart = effort_charts.daily_chart(
                ef.daily(effort, "team", t, s),
                weekly[t],
                first=s.first,
                last=s.last,
                rate_top=top,
                description=desc,
            )
            svg = charts.to_svg(chart)
        row = _row(t, name, totals[t], svg)
        rows.append(row)
        if svg:
            charted.append(row)
    left = len(ids) - len(charted)
    left_out = (
        f"Charts for the {len(charted)} teams with the most touches; the other "
        f"{fmt.plural(left, 'team')} {'is' if left == 1 else 'are'} in the table only."
        if left
        else ""
    )
    return EffortSection(
        note="",
        span=_span_words(s, ctx.diagnostics.timezone),
        terms=terms(ctx.impact_window, ctx.dark_after),
        legend=[(Markup(sym), text) for sym, text in effort_charts.legend_entries()],
        teams=rows,
        charted=charted,
        left_out=left_out,
        how_to_read=(
            "Each chart has its own scale of touches (left); the impact rate (right) runs from "
            f"0 to {fmt.percent(top)} in every chart. A touch of the last "
            f"{duration(ctx.dark_after)} can still draw a response: until it does, or the wait "
            "is over, it counts as 'no response yet'."
        ),
    )
