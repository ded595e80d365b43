"""The report's sections beyond the headline, display-ready: the rep funnel plots (one per
outcome, with the legend they share), the caterpillar plots, and the team and region sections.

Each chart of one outcome highlights and names only the units whose label rests on that outcome;
a team or region below expectation is never named.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from markupsafe import Markup

from brightspots.report import caterpillar, charts, fmt, funnel, words
from brightspots.report.context import ReportContext
from brightspots.report.diagnostics import LevelSummary
from brightspots.report.rows import UnitRow, unit_rows
from brightspots.report.tables import PRIMARY_OUTCOME


@dataclass(frozen=True)
class Chart:
    """One chart with its words: ``svg`` is empty when ``note`` replaces the chart."""

    outcome: str
    title: str
    svg: Markup
    caption: str
    note: str = ""


@dataclass(frozen=True)
class LevelSection:
    """A level above the rep (teams or regions): its window, chart, table and model terms."""

    level: str
    noun: str
    title: str
    window: str
    headline: str
    funnel: Chart | None
    legend: list[tuple[Markup, str]]
    rows: list[UnitRow]
    quarters_outcome: str
    hidden: str
    ranks_published: bool
    ranks_note: str
    n_units: str
    terms: list[tuple[str, str]]


def on_outcome(units: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """``units`` with ``label`` kept only where the label rests on ``outcome``: a chart of one
    outcome highlights and names the units labelled on that outcome, no one else."""
    keep = [outcome in o.split("+") for o in units["outcome"]]
    return units.assign(label=units["label"].where(keep, ""))


def _names_text(units: pd.DataFrame) -> str:
    spots = sorted(units.loc[units["label"] == "bright_spot", "name"], key=str.casefold)
    cands = sorted(units.loc[units["label"] == "candidate", "name"], key=str.casefold)
    text = f" Bright spots: {fmt.words_list(spots)}." if spots else " No bright spots."
    text += f" Candidates: {fmt.words_list(cands)}." if cands else " No candidates."
    return text


def _curve(ctx: ReportContext, level: str, outcome: str) -> pd.DataFrame:
    c = ctx.funnel_curve
    return c[(c["level"] == level) & (c["outcome"] == outcome)]


#: (title, x-axis title, y-axis title, x label format) of each outcome's funnel plot
FUNNEL_AXES = {
    "win_rate": ("Win rate", funnel.WIN_AXIS[0], funnel.WIN_AXIS[1], None),
    "won_revenue": (
        "Won revenue",
        "Expected won revenue ({currency}, from territory and deal mix)",
        "Revenue booked ÷ expected (O/E)",
        ".2~s",
    ),
    "buyer_impact": (
        "Buyer impact",
        "Expected touches with buyer impact (from accounts and territory)",
        "Touches with impact ÷ expected (O/E)",
        None,
    ),
}


def volume(ctx: ReportContext, level: str, outcome: str) -> int:
    """The volume a unit of ``level`` needs on ``outcome`` (settled touches for buyer impact)."""
    summary = ctx.diagnostics.level(level)
    s = summary.outcomes.get(outcome) if summary else None
    if s is not None and s.min_volume is not None:
        return s.min_volume
    return ctx.diagnostics.min_volume


def _rep_funnel(ctx: ReportContext, outcome: str) -> tuple[Chart, pd.DataFrame] | None:
    """The rep funnel plot of one outcome, naming the reps whose label rests on it."""
    need = volume(ctx, "rep", outcome)
    units = ctx.outcome_units("rep", outcome)
    curve = _curve(ctx, "rep", outcome)
    if units is None or curve.empty or outcome not in FUNNEL_AXES:
        return None
    shown = on_outcome(units, outcome)
    title, x_title, y_title, x_format = FUNNEL_AXES[outcome]
    what = (
        "deals won divided by deals expected against expected wins"
        if outcome == PRIMARY_OUTCOME
        else f"{words.outcome_name(outcome)} booked divided by expected, against expected"
    )
    desc = (
        f"Funnel plot of {fmt.plural(len(shown), 'rep')}: {what}, with 95% and 99.8% limits."
        + _names_text(shown)
    )
    chart = funnel.funnel_chart(
        shown,
        curve,
        min_volume=need,
        description=desc,
        axis_titles=(x_title.format(currency=ctx.currency.upper()), y_title),
        x_format=x_format,
        height=470 if outcome == PRIMARY_OUTCOME else 400,
    )
    left_out = words.not_drawn(
        int((shown["expected"] <= 0).sum()),
        funnel.off_scale(shown, need),
        expected={"buyer_impact": "expected buyer impact", "won_revenue": "expected revenue"}.get(
            outcome, "expected wins"
        ),
    )
    caption = {
        PRIMARY_OUTCOME: "",
        "won_revenue": words.REVENUE_FUNNEL_HOW_TO_READ,
        "buyer_impact": words.impact_funnel_how_to_read(need),
    }.get(outcome, "")
    text = " ".join(t for t in (caption, left_out) if t)
    return Chart(outcome, title, Markup(charts.to_svg(chart)), text), shown


def rep_funnels(ctx: ReportContext) -> tuple[list[Chart], list[tuple[Markup, str]]]:
    """The rep funnel plots (win rate first) and the legend they share."""
    d = ctx.diagnostics
    made = [f for o in ctx.outcomes("rep") if (f := _rep_funnel(ctx, o)) is not None]
    groups = charts.group_order(
        {
            g
            for chart, units in made
            for g in funnel.funnel_groups(units, volume(ctx, "rep", chart.outcome))
        }
    )
    legend = [
        (Markup(symbol), _legend_text(text, "rep", d.min_volume))
        for symbol, text in charts.legend_entries(groups)
    ]
    return [chart for chart, _ in made], legend


def caterpillars(ctx: ReportContext, level: str, noun: str) -> list[Chart]:
    d = ctx.diagnostics
    summary = d.level(level)
    out = []
    for outcome in ctx.outcomes(level):
        units = ctx.outcome_units(level, outcome)
        if units is None or summary is None or outcome not in summary.outcomes:
            continue
        s = summary.outcomes[outcome]
        name = words.outcome_name(outcome)
        title = name[0].upper() + name[1:]
        if s.tau2 <= 0 or fmt.is_missing(s.tau2):
            note = words.caterpillar_flat(noun, outcome, None)
            out.append(Chart(outcome, title, Markup(""), "", note))
            continue
        shown = on_outcome(units, outcome)
        need = volume(ctx, level, outcome)
        data = caterpillar.eligible(shown, need)
        if data.empty:
            continue
        desc = (
            f"Caterpillar plot of {name}: {fmt.plural(len(data), noun)} by O/E after shrinkage "
            "with 95% intervals, lowest to highest." + _names_text(data)
        )
        chart = caterpillar.caterpillar_chart(
            shown,
            min_volume=need,
            description=desc,
            noun=noun,
            y_title=f"{title}: O/E after shrinkage",
            volume="settled touches" if outcome == "buyer_impact" else "closed deals",
        )
        caption = words.caterpillar_how_to_read(
            noun, need, s.ranks_published, s.rankability, outcome=outcome
        )
        out.append(Chart(outcome, title, Markup(charts.to_svg(chart)), caption))
    return out


def _ordered(summary: LevelSummary) -> list[str]:
    return [PRIMARY_OUTCOME] + [o for o in summary.outcomes if o != PRIMARY_OUTCOME]


def model_terms(summary: LevelSummary, noun: str) -> list[tuple[str, str]]:
    """The model section's spread terms, in full, for each outcome."""
    terms = []
    several = len(summary.outcomes) > 1
    for outcome in _ordered(summary):
        s = summary.outcomes[outcome]
        tail = f" ({words.outcome_name(outcome)})" if several else ""
        ranked = outcome == PRIMARY_OUTCOME
        terms += [
            (f"Overdispersion{tail}", words.phi(s.phi, noun)),
            (f"Between-{noun} variance{tail}", words.tau2(s.tau2, s.mu, s.tau2_zero_note, noun)),
            (f"Rankability{tail}", words.rankability(s.rankability, noun, ranked=ranked)),
        ]
    return terms


def _short_terms(summary: LevelSummary, noun: str) -> list[tuple[str, str]]:
    """A level section's spread, one line per outcome."""
    out = []
    for outcome in _ordered(summary):
        s = summary.outcomes[outcome]
        name = words.outcome_name(outcome)
        out.append(
            (
                name[0].upper() + name[1:],
                words.spread_summary(
                    noun, s.phi, s.tau2, s.rankability, ranked=outcome == PRIMARY_OUTCOME
                ),
            )
        )
    return out


def level_section(ctx: ReportContext, level: str) -> LevelSection | None:
    summary = ctx.diagnostics.level(level)
    units = ctx.units(level)
    if summary is None or units.empty:
        return None
    noun = words.LEVEL_NOUNS[level]
    d = ctx.diagnostics
    s = summary.primary
    shown = on_outcome(units, PRIMARY_OUTCOME)
    named = (shown["label"] != "") | (shown["oe"].astype(float) >= 1.0)
    chart = None
    legend: list[tuple[Markup, str]] = []
    if level == "team":
        desc = (
            f"Funnel plot of {fmt.plural(len(units), 'team')}: deals won divided by deals expected "
            "against expected wins, with 95% and 99.8% limits." + _names_text(shown)
        )
        svg = charts.to_svg(
            funnel.funnel_chart(
                shown,
                _curve(ctx, level, PRIMARY_OUTCOME),
                min_volume=d.min_volume,
                description=desc,
                noun=noun,
                named=named,
                y_range=funnel.close_range(shown),
                height=380,
            )
        )
        chart = Chart(PRIMARY_OUTCOME, "Win rate", Markup(svg), words.TEAM_FUNNEL_HOW_TO_READ)
        groups = funnel.funnel_groups(shown, d.min_volume, noun)
        legend = [
            (Markup(symbol), _legend_text(text, noun, d.min_volume))
            for symbol, text in charts.legend_entries(groups)
        ]
    rows = unit_rows(ctx, level, published=s.ranks_published)
    window = words.window_phrase(summary.window_words, summary.window_start, d.window_end)
    return LevelSection(
        level=level,
        noun=noun,
        title="Teams" if level == "team" else "Regions",
        window=window,
        headline=words.levels_headline(
            [(noun, len(units), summary.n_bright_spots, summary.n_candidates)], None, None
        )
        + f" Judged {window}.",
        funnel=chart,
        legend=legend,
        rows=rows,
        quarters_outcome=quarters_outcome(summary),
        hidden=words.hidden_units(len(units) - len(rows), noun, plotted=chart is not None),
        ranks_published=s.ranks_published,
        ranks_note="" if s.ranks_published else words.ranks_note(s.rankability, noun),
        n_units=fmt.integer(len(units)),
        terms=_short_terms(summary, noun),
    )


def quarters_outcome(summary: LevelSummary) -> str:
    """The quarters view follows the win rate; say so when a level has other outcomes too."""
    return words.outcome_name(PRIMARY_OUTCOME) if len(summary.outcomes) > 1 else ""


def detectability(summary: LevelSummary) -> str:
    s = summary.primary
    if s.n_detectable is None or s.effect is None:
        return ""
    return words.detectability(s.n_detectable, s.n_units, s.effect)


def _legend_text(text: str, noun: str, min_volume: int) -> str:
    if text == "Below minimum volume":
        return f"Below minimum volume (fewer than {min_volume} closed deals)"
    if text == f"Other {noun}" and noun != "rep":
        return f"Other {noun} (named when at or above expectation)"
    return text
