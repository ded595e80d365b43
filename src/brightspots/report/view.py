"""The report's view model: the typed context turned into display-ready values.

``report_view`` formats every number and writes every sentence; the template only lays them out
(and escapes them). ``ReportView`` is the template's contract: tests read it field by field.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from brightspots import __version__
from brightspots.report import charts, fmt, words
from brightspots.report.accounts import AccountsSection, accounts_section
from brightspots.report.care import CareSection, care_section
from brightspots.report.context import ReportContext
from brightspots.report.effort import EffortSection, effort_section
from brightspots.report.experiments import ExperimentsSection, experiments_section
from brightspots.report.personal import ExampleSection, example_section
from brightspots.report.practices import PracticeSection, practice_section
from brightspots.report.rows import LABEL_MARK, LABEL_TEXT, UnitRow, team_names, unit_rows
from brightspots.report.sections import (
    Chart,
    LevelSection,
    caterpillars,
    detectability,
    level_section,
    model_terms,
    quarters_outcome,
    rep_funnels,
)
from brightspots.report.stories import StoriesSection, stories_section

TOP_N = 10


@dataclass(frozen=True)
class LeaderRow:
    rank: str
    name: str
    team: str
    won_amount: str
    won_closed: str
    win_rate: str
    label: str
    label_text: str
    label_mark: str


@dataclass(frozen=True)
class ReportView:
    title: str
    workspace: str
    run_id: str
    created_at: str
    engine: str
    fingerprint: str
    currency: str
    version: str
    window: str
    headline: str
    levels_headline: str
    outcomes_text: str
    label_meaning: str
    tiles: list[tuple[str, str]]
    caveats: list[str]
    funnels: list[Chart]
    funnel_how_to_read: str
    funnel_legend: list[tuple[Markup, str]]
    caterpillars: list[Chart]
    ranks_published: bool
    ranks_note: str
    n_units: str
    detectability: str
    quarters_outcome: str
    spots: list[UnitRow]
    history_caption: str
    teams: LevelSection | None
    regions: LevelSection | None
    leaders: list[LeaderRow]
    leaders_contrast: str
    auc: str
    auc_text: str
    covariates_text: str
    model_window: str
    calibration_svg: Markup
    calibration_text: str
    calibration_rows: list[tuple[str, str, str, str]]
    model_terms: list[tuple[str, str]]
    min_volume: int
    effort: EffortSection
    accounts: AccountsSection
    practices: PracticeSection
    experiments: ExperimentsSection
    stories: StoriesSection
    care: CareSection
    example: ExampleSection


def _leader_rows(ctx: ReportContext) -> list[LeaderRow]:
    top = ctx.raw_leaderboard.sort_values(["rank", "won_amount"], ascending=[True, False])
    teams = team_names(ctx)
    rows = []
    for r in top.head(TOP_N).itertuples(index=False):
        won = fmt.integer(r.won) if not fmt.is_missing(r.won) else fmt.MISSING
        rows.append(
            LeaderRow(
                rank=fmt.integer(r.rank),
                name=r.name,
                team=teams.get(r.team_id, r.team_id),
                won_amount=fmt.money(r.won_amount, ctx.currency),
                won_closed=f"{won} of {fmt.integer(r.closed)}",
                win_rate=fmt.percent(r.win_rate),
                label=r.label,
                label_text=LABEL_TEXT[r.label],
                label_mark=LABEL_MARK[r.label],
            )
        )
    return rows


def report_view(ctx: ReportContext) -> ReportView:
    """Everything the template shows, as display-ready values."""
    d = ctx.diagnostics
    reps = d.reps
    published = reps.primary.ranks_published
    leaders = _leader_rows(ctx)
    cal = ctx.calibration.sort_values("decile")
    cal_rows = [
        (int(r.decile), float(r.mean_expected), float(r.observed_rate))
        for r in cal.itertuples(index=False)
    ]
    cal_desc = "Calibration by decile: predicted chance of winning against actual win rate."
    calibration_svg = (
        charts.to_svg(charts.calibration_chart(ctx.calibration, description=cal_desc))
        if (ctx.calibration["n"] > 0).any()
        else ""
    )
    caveats = list(d.warnings)
    if d.summary.tau2 <= 0:
        caveats.append(d.summary.tau2_zero_note or words.tau2(d.summary.tau2, d.summary.mu, None))
    funnels, legend = rep_funnels(ctx)
    teams = level_section(ctx, "team")
    regions = level_section(ctx, "region")
    upper = [
        (words.LEVEL_NOUNS[lv], len(ctx.units(lv)), s.n_bright_spots, s.n_candidates)
        for lv in ("team", "region")
        if (s := d.level(lv)) is not None and len(ctx.units(lv))
    ]
    team_summary = d.level("team") or d.level("region")
    tiles = [
        ("Bright spots", fmt.integer(d.summary.n_bright_spots)),
        ("Candidates", fmt.integer(d.summary.n_candidates)),
        (
            "Reps assessed",
            f"{fmt.integer(d.summary.n_eligible)} of {fmt.integer(d.summary.n_units)}",
        ),
    ]
    for noun, n, spots, cands in upper:
        tiles.append((f"{noun.capitalize()}s labelled", f"{fmt.integer(spots + cands)} of {n}"))
    tiles.append(("Closed deals", fmt.integer(d.n_cases)))
    spots = unit_rows(ctx, "rep", published=published)
    return ReportView(
        title=f"Bright spots: {ctx.workspace_name}",
        workspace=ctx.workspace_name,
        run_id=ctx.run.run_id,
        created_at=fmt.moment(ctx.run.created_at),
        engine=ctx.run.engine,
        fingerprint=ctx.run.fingerprint,
        currency=ctx.currency.upper(),
        version=__version__,
        window=_capital(words.window_phrase(d.window_words, d.window_start, d.window_end)),
        headline=words.headline(
            n_units=d.summary.n_units,
            n_eligible=d.summary.n_eligible,
            n_bright_spots=d.summary.n_bright_spots,
            n_candidates=d.summary.n_candidates,
            min_volume=d.min_volume,
            n_cases=d.n_cases,
            n_wins=d.n_wins,
            start=d.window_start,
            end=d.window_end,
            window_words=d.window_words,
        ),
        levels_headline=words.levels_headline(
            upper, team_summary.window_words if team_summary else None, d.window_words
        ),
        outcomes_text=words.outcomes_sentence(list(reps.outcomes)),
        label_meaning=words.LABEL_MEANING,
        tiles=tiles,
        caveats=caveats,
        funnels=funnels,
        funnel_how_to_read=words.FUNNEL_HOW_TO_READ,
        funnel_legend=legend,
        caterpillars=caterpillars(ctx, "rep", "rep"),
        ranks_published=published,
        ranks_note="" if published else words.ranks_note(reps.primary.rankability),
        n_units=fmt.integer(d.summary.n_units),
        detectability=detectability(reps),
        quarters_outcome=quarters_outcome(reps),
        spots=spots,
        history_caption=words.history_caption(len(ctx.past_runs)),
        teams=teams,
        regions=regions,
        leaders=leaders,
        leaders_contrast=words.leaderboard_contrast(
            [r.label for r in leaders], d.summary.n_bright_spots
        ),
        auc=fmt.ratio(d.auc) if d.auc is not None else fmt.MISSING,
        auc_text=words.auc(d.auc),
        covariates_text=words.covariates(d.covariates, d.n_cases, d.n_wins),
        model_window=words.model_window(
            d.n_cases, words.window_phrase(d.window_words, d.window_start, d.window_end)
        ),
        calibration_svg=Markup(calibration_svg),
        calibration_text=words.calibration(cal_rows),
        calibration_rows=[
            (str(dec), fmt.percent(p), fmt.percent(o), fmt.integer(n))
            for (dec, p, o), n in zip(cal_rows, cal["n"], strict=True)
        ],
        model_terms=model_terms(reps, "rep"),
        min_volume=d.min_volume,
        effort=effort_section(ctx),
        accounts=accounts_section(ctx),
        practices=practice_section(ctx),
        experiments=experiments_section(ctx),
        stories=stories_section(ctx),
        care=care_section(ctx),
        example=example_section(ctx),
    )


def _capital(text: str) -> str:
    return text[0].upper() + text[1:] if text else text
