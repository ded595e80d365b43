"""The report's view model: the typed context turned into display-ready values.

``report_view`` formats every number and writes every sentence; the template only lays them out
(and escapes them). ``ReportView`` is the template's contract: tests read it field by field.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from brightspots import __version__
from brightspots.report import charts, fmt, words
from brightspots.report.context import ReportContext

LABEL_TEXT = {"bright_spot": "Bright spot", "candidate": "Candidate", "": ""}
LABEL_MARK = {"bright_spot": "◆", "candidate": "▲", "": ""}
TOP_N = 10


@dataclass(frozen=True)
class SpotRow:
    rank: str
    name: str
    team: str
    label: str
    label_text: str
    label_mark: str
    sentence: str
    shrunk: str
    p_above_1: str
    reason: str


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
    label_meaning: str
    tiles: list[tuple[str, str]]
    caveats: list[str]
    funnel_svg: Markup
    funnel_how_to_read: str
    funnel_legend: list[tuple[Markup, str]]
    funnel_not_drawn: str
    ranks_published: bool
    ranks_note: str
    n_units: str
    spots: list[SpotRow]
    leaders: list[LeaderRow]
    leaders_contrast: str
    auc: str
    auc_text: str
    covariates_text: str
    calibration_svg: Markup
    calibration_text: str
    calibration_rows: list[tuple[str, str, str, str]]
    model_terms: list[tuple[str, str]]
    min_volume: int


def _spot_rows(ctx: ReportContext, published: bool) -> list[SpotRow]:
    df = ctx.bright_spots[ctx.bright_spots["label"].isin(["bright_spot", "candidate"])].copy()
    df["_order"] = (df["label"] == "candidate").astype(int)
    if published:
        df = df.sort_values(["_order", "expected_rank", "name"], na_position="last")
    else:
        df = df.assign(_key=df["name"].str.casefold()).sort_values(["_order", "_key"])
    rows = []
    for r in df.itertuples(index=False):
        rows.append(
            SpotRow(
                rank=fmt.decimal(r.expected_rank) if published else "",
                name=r.name,
                team=r.team_id,
                label=r.label,
                label_text=LABEL_TEXT[r.label],
                label_mark=LABEL_MARK[r.label],
                sentence=words.rep_sentence(
                    r.name, int(r.observed), int(r.closed), float(r.expected), r.oe
                ),
                shrunk=words.interval(r.shrunk_oe, r.shrunk_lower_95, r.shrunk_upper_95),
                p_above_1=fmt.percent(r.p_above_1),
                reason=r.reason,
            )
        )
    return rows


def _leader_rows(ctx: ReportContext) -> list[LeaderRow]:
    top = ctx.raw_leaderboard.sort_values(["rank", "won_amount"], ascending=[True, False])
    rows = []
    for r in top.head(TOP_N).itertuples(index=False):
        won = fmt.integer(r.won) if not fmt.is_missing(r.won) else fmt.MISSING
        rows.append(
            LeaderRow(
                rank=fmt.integer(r.rank),
                name=r.name,
                team=r.team_id,
                won_amount=fmt.money(r.won_amount, ctx.currency),
                won_closed=f"{won} of {fmt.integer(r.closed)}",
                win_rate=fmt.percent(r.win_rate),
                label=r.label,
                label_text=LABEL_TEXT[r.label],
                label_mark=LABEL_MARK[r.label],
            )
        )
    return rows


def _funnel_description(ctx: ReportContext) -> str:
    bs = ctx.bright_spots
    spots = sorted(bs.loc[bs["label"] == "bright_spot", "name"], key=str.casefold)
    cands = sorted(bs.loc[bs["label"] == "candidate", "name"], key=str.casefold)
    text = (
        f"Funnel plot of {fmt.plural(len(bs), 'rep')}: deals won divided by deals expected "
        "against expected wins, with 95% and 99.8% limits."
    )
    text += f" Bright spots: {fmt.words_list(spots)}." if spots else " No bright spots."
    text += f" Candidates: {fmt.words_list(cands)}." if cands else " No candidates."
    return text


def report_view(ctx: ReportContext) -> ReportView:
    """Everything the template shows, as display-ready values."""
    d = ctx.diagnostics
    published = words.ranks_published(d.rankability)
    leaders = _leader_rows(ctx)
    cal = ctx.calibration.sort_values("decile")
    cal_rows = [
        (int(r.decile), float(r.mean_expected), float(r.observed_rate))
        for r in cal.itertuples(index=False)
    ]
    funnel_desc = _funnel_description(ctx)
    funnel_svg = charts.to_svg(
        charts.funnel_chart(
            ctx.bright_spots, ctx.funnel_curve, min_volume=d.min_volume, description=funnel_desc
        )
    )
    cal_desc = "Calibration by decile: predicted chance of winning against actual win rate."
    calibration_svg = (
        charts.to_svg(charts.calibration_chart(ctx.calibration, description=cal_desc))
        if (ctx.calibration["n"] > 0).any()
        else ""
    )
    caveats = list(d.warnings)
    if d.tau2 <= 0:
        caveats.append(d.tau2_zero_note or words.tau2(d.tau2, d.mu, None))
    no_expected = int((ctx.bright_spots["expected"] <= 0).sum())
    above = charts.off_scale(ctx.bright_spots, d.min_volume)
    return ReportView(
        title=f"Bright spots: {ctx.workspace_name}",
        workspace=ctx.workspace_name,
        run_id=ctx.run.run_id,
        created_at=fmt.moment(ctx.run.created_at),
        engine=ctx.run.engine,
        fingerprint=ctx.run.fingerprint,
        currency=ctx.currency.upper(),
        version=__version__,
        window=words.window(d.window_start, d.window_end),
        headline=words.headline(
            n_units=d.n_units,
            n_eligible=d.n_eligible,
            n_bright_spots=d.n_bright_spots,
            n_candidates=d.n_candidates,
            min_volume=d.min_volume,
            n_cases=d.n_cases,
            n_wins=d.n_wins,
            start=d.window_start,
            end=d.window_end,
        ),
        label_meaning=words.LABEL_MEANING,
        tiles=[
            ("Bright spots", fmt.integer(d.n_bright_spots)),
            ("Candidates", fmt.integer(d.n_candidates)),
            ("Reps assessed", f"{fmt.integer(d.n_eligible)} of {fmt.integer(d.n_units)}"),
            ("Closed deals", fmt.integer(d.n_cases)),
        ],
        caveats=caveats,
        funnel_svg=Markup(funnel_svg),
        funnel_how_to_read=words.FUNNEL_HOW_TO_READ,
        funnel_legend=[
            (
                Markup(symbol),
                f"{text} (fewer than {d.min_volume} closed deals)"
                if text == "Below minimum volume"
                else text,
            )
            for symbol, text in charts.legend_entries(
                charts.funnel_groups(ctx.bright_spots, d.min_volume)
            )
        ],
        funnel_not_drawn=words.not_drawn(no_expected, above),
        ranks_published=published,
        ranks_note="" if published else words.ranks_note(d.rankability),
        n_units=fmt.integer(d.n_units),
        spots=_spot_rows(ctx, published),
        leaders=leaders,
        leaders_contrast=words.leaderboard_contrast([r.label for r in leaders], d.n_bright_spots),
        auc=fmt.ratio(d.auc) if d.auc is not None else fmt.MISSING,
        auc_text=words.auc(d.auc),
        covariates_text=words.covariates(d.covariates, d.n_cases, d.n_wins),
        calibration_svg=Markup(calibration_svg),
        calibration_text=words.calibration(cal_rows),
        calibration_rows=[
            (str(dec), fmt.percent(p), fmt.percent(o), fmt.integer(n))
            for (dec, p, o), n in zip(cal_rows, cal["n"], strict=True)
        ],
        model_terms=[
            ("Overdispersion", words.phi(d.phi)),
            ("Between-rep variance", words.tau2(d.tau2, d.mu, d.tau2_zero_note)),
            ("Rankability", words.rankability(d.rankability)),
        ],
        min_volume=d.min_volume,
    )
