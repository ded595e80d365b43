"""The report's practices section: what bright spots do differently, and whether it goes with
winning once the case mix is accounted for.

A forest plot of the adjusted odds ratios (primary analysis, with the whole-deal estimate beside
each), the practice sentences (those linked with winning first) and a compact table, all in the
order of the ``practice_effects`` table (strongest primary evidence first).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from markupsafe import Markup

from brightspots.report import charts, fmt, forest
from brightspots.report.context import ReportContext
from brightspots.report.diagnostics import PracticeNotes

STATUS_TAG = {"linked": "linked", "suspect": "suspect", "unclear": "no clear link"}
NOT_IN_RUN = (
    "Practices are not in this run: analyse again (brightspots analyze) to see what bright "
    "spots do differently."
)


@dataclass(frozen=True)
class PracticeRow:
    practice: str
    description: str
    analysis: str  # the primary analysis in words
    status: str  # linked, suspect or unclear (``forest.STATUS``)
    status_text: str
    status_tag: str  # the status in a word or three
    deals: str
    odds_ratio: str  # '1.66 (1.40 to 1.98)'
    points: str  # '+10.3 (+7.0 to +13.6)'
    q: str
    bright: str  # '2 of 2'
    peers: str  # '14%'
    whole: str  # '3.52 (q < 0.001)'
    suspect: bool
    sentence: str


@dataclass(frozen=True)
class PracticeSection:
    note: str  # replaces the section's body when there is nothing to show
    coverage: str
    svg: Markup
    legend: list[tuple[Markup, str]]
    how_to_read: str
    sentences: list[PracticeRow]  # linked first, then the others in table order
    rows: list[PracticeRow]  # table order


def q_text(q: float) -> str:
    """0.0004 -> '< 0.001'; 0.0534 -> '0.053' (3 places below 0.1, so nothing near 0.05 rounds
    onto it); 0.664 -> '0.66'; NaN -> '–'."""
    if fmt.is_missing(q):
        return fmt.MISSING
    if q < 0.001:
        return "< 0.001"
    if q < 0.1:
        return f"{q:.3f}"
    return f"{q:.2f}"


def signed(x: float, places: int = 1) -> str:
    """4.25 -> '+4.3'; -1.2 -> '−1.2' (a true minus sign); NaN -> '–'."""
    if fmt.is_missing(x):
        return fmt.MISSING
    text = f"{abs(float(x)):.{places}f}"
    if text.strip("0.") == "":
        return text
    return ("+" if x > 0 else "−") + text


def estimate(x: float, low: float, high: float, *, points: bool = False) -> str:
    """'1.66 (1.40 to 1.98)', or with signs for percentage points: '+10.3 (+7.0 to +13.6)'."""
    if fmt.is_missing(x):
        return "not estimated"
    f = signed if points else fmt.ratio
    return f"{f(x)} ({f(low)} to {f(high)})"


def analysis_words(analysis: str, landmark_days: int | None) -> str:
    """The primary analysis of a practice in a few words."""
    if analysis == "landmark":
        days = f"{landmark_days} days" if landmark_days else "days"
        return f"first {days} of the deal"
    if analysis == "stage":
        return "deals that reached the stage"
    if analysis == "prior_period":
        return "the month before the deal"
    return analysis or "whole deal"


def coverage(notes: PracticeNotes | None, n_practices: int) -> str:
    """What was analysed, and how the primary estimate guards against leakage."""
    head = f"{fmt.plural(n_practices, 'practice')} analysed"
    if notes is not None:
        head += (
            f" on {fmt.plural(notes.n_deals, 'closed deal')}, with "
            f"{fmt.plural(notes.n_bright_spots, 'bright spot')} against "
            f"{fmt.plural(notes.n_peers, 'peer')} (reps with enough closed deals to be assessed)"
        )
        landmark = (
            f"measured in the first {fmt.plural(notes.landmark_days, 'day')} of each deal, on "
            f"deals still open at day {notes.landmark_days}"
        )
    else:
        landmark = "measured early in each deal, on deals still open then"
    return (
        f"{head}. Each odds ratio is adjusted for the same case mix as expected wins, with "
        "standard errors clustered by rep, and q is the false-discovery-adjusted p across "
        "practices. The primary estimate is the one least exposed to leakage: for counts and "
        f"rates a landmark analysis (practices {landmark}); for sequence practices, the deals "
        "that reached the stage the practice refers to. The whole-deal estimate is shown beside "
        "it: deals that last longer collect more of everything, so a practice linked with "
        "winning only over the whole deal is marked suspect."
    )


def _bright(row: pd.Series) -> str:
    share = row.get("bright_share")
    n = row.get("n_bright")
    if fmt.is_missing(share):
        return fmt.MISSING
    if fmt.is_missing(n) or int(n) == 0:
        return fmt.percent(share)
    return f"{round(float(share) * int(n))} of {int(n)}"


def practice_rows(effects: pd.DataFrame, landmark_days: int | None) -> list[PracticeRow]:
    out = []
    for _, r in effects.iterrows():
        st = forest.status(float(r["q"]), bool(r["suspect"]))
        whole = r["whole_deal_odds_ratio"]
        whole_text = (
            "not estimated"
            if fmt.is_missing(whole)
            else f"{fmt.ratio(whole)} (q {q_text(r['whole_deal_q'])})"
        )
        out.append(
            PracticeRow(
                practice=str(r["practice"]),
                description=str(r["description"]),
                analysis=analysis_words(str(r.get("analysis", "") or ""), landmark_days),
                status=st,
                status_text=forest.STATUS[st][1],
                status_tag=STATUS_TAG[st],
                deals=fmt.integer(r["n"]),
                odds_ratio=estimate(r["odds_ratio"], r["or_low"], r["or_high"]),
                points=estimate(r["pp_diff"], r["pp_low"], r["pp_high"], points=True),
                q=q_text(r["q"]),
                bright=_bright(r),
                peers=fmt.percent(r["peer_share"]),
                whole=whole_text,
                suspect=bool(r["suspect"]),
                sentence=str(r["sentence"]),
            )
        )
    return out


def forest_frame(effects: pd.DataFrame) -> pd.DataFrame:
    """The forest plot's rows: the practice id (marked when suspect), its status and estimates."""
    cols = ["whole_deal_or_low", "whole_deal_or_high"]
    out = effects.assign(**{c: effects[c] if c in effects else math.nan for c in cols})
    labels = [
        f"{p} (suspect)" if s else p for p, s in zip(out["practice"], out["suspect"], strict=True)
    ]
    statuses = [
        forest.status(float(q), bool(s)) for q, s in zip(out["q"], out["suspect"], strict=True)
    ]
    frame = out[list(forest.INTERVAL_COLUMNS)].astype(float).reset_index(drop=True)
    return frame.assign(label=labels, status=statuses)


def _legend() -> list[tuple[Markup, str]]:
    out = []
    for colour, words in forest.STATUS.values():
        out.append(
            (
                Markup(
                    '<svg width="28" height="16" viewBox="0 0 28 16" aria-hidden="true">'
                    f'<line x1="1" y1="8" x2="27" y2="8" stroke="{colour}" stroke-width="2.6"/>'
                    f'<circle cx="14" cy="8" r="4.5" fill="{colour}"/></svg>'
                ),
                f"{words}: primary estimate and 95% interval",
            )
        )
    out.append(
        (
            Markup(
                '<svg width="28" height="16" viewBox="0 0 28 16" aria-hidden="true">'
                f'<line x1="1" y1="8" x2="27" y2="8" stroke="{forest.WHOLE_INK}" '
                'stroke-width="1" opacity="0.7"/>'
                f'<circle cx="14" cy="8" r="3.6" fill="white" stroke="{forest.WHOLE_INK}" '
                'stroke-width="1.5"/></svg>'
            ),
            "Whole-deal estimate (the practice over the whole deal), for comparison",
        )
    )
    return out


def practice_section(ctx: ReportContext) -> PracticeSection:
    effects = ctx.practice_effects
    if effects is None:
        return PracticeSection(NOT_IN_RUN, "", Markup(""), [], "", [], [])
    notes = ctx.diagnostics.practices
    rows = practice_rows(effects, notes.landmark_days if notes else None)
    linked = [r for r in rows if r.status == "linked"]
    others = [r for r in rows if r.status != "linked"]
    data = forest_frame(effects)
    drawn = np.isfinite(data["odds_ratio"].to_numpy()).any()
    svg = Markup("")
    if drawn:
        n_linked, n_suspect = len(linked), sum(r.suspect for r in rows)
        desc = (
            f"Forest plot of {fmt.plural(len(rows), 'practice')}: adjusted odds ratios of winning "
            f"with 95% intervals on a log scale, whole-deal estimates beside them. "
            f"{fmt.plural(n_linked, 'practice')} linked with winning, "
            f"{n_suspect} suspect."
        )
        svg = Markup(charts.to_svg(forest.forest_chart(data, description=desc)))
    return PracticeSection(
        note="" if drawn else "No practice effect could be estimated in this run.",
        coverage=coverage(notes, len(rows)),
        svg=svg,
        legend=_legend() if drawn else [],
        how_to_read=(
            "Right of the line at 1: deals with more of the practice (or with it, for a yes/no "
            "practice) were won more often than comparable deals; left: less often. An interval "
            "that crosses 1 is no clear difference."
        ),
        sentences=linked + others,
        rows=rows,
    )
