"""The report's sentences, built from the numbers: pure functions from values to plain text.

The text is plain (not HTML); the template escapes it. Every sentence a reader sees about a rep or
the model is written here, so it can be tested word for word.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

from brightspots.report import fmt

RANKABILITY_THRESHOLD = 0.5

#: plain names of the case-mix covariates of the default config
COVARIATE_NAMES: dict[str, str] = {
    "segment": "account segment",
    "deal_size": "deal size",
    "source": "lead source",
    "account_potential": "account potential",
    "territory_potential": "territory potential",
    "tenure": "rep tenure",
    "quarter": "quarter",
}


def rep_sentence(name: str, observed: int, closed: int, expected: float, oe: float) -> str:
    """'Ana Silva won 31 of 52 deals where 19.0 were expected from their territory and deal mix
    (1.63 times expected).'"""
    deals = "deal" if closed == 1 else "deals"
    verb = "was" if fmt.decimal(expected) == "1.0" else "were"
    if fmt.is_missing(oe) or expected <= 0:
        tail = "(no expected wins to compare with)"
    else:
        tail = f"({fmt.ratio(oe)} times expected)"
    return (
        f"{name} won {fmt.integer(observed)} of {fmt.integer(closed)} {deals} where "
        f"{fmt.decimal(expected)} {verb} expected from their territory and deal mix {tail}."
    )


def interval(estimate: float, lower: float, upper: float) -> str:
    """'1.48 (1.21 to 1.75)': a shrunk O/E with its 95% range."""
    if fmt.is_missing(estimate):
        return fmt.MISSING
    return f"{fmt.ratio(estimate)} ({fmt.ratio(lower)} to {fmt.ratio(upper)})"


def window(start: date | None, end: date | None) -> str:
    """'from 1 Jan 2024 to 31 Dec 2024' or a phrase for an unbounded window."""
    if start and end:
        return f"from {fmt.day(start)} to {fmt.day(end)}"
    if start:
        return f"from {fmt.day(start)} on"
    if end:
        return f"up to {fmt.day(end)}"
    return "over the whole history in the workspace"


def _count_phrase(n: int, one: str, many: str) -> str:
    if n == 0:
        return f"none is {one}"
    if n == 1:
        return f"1 is {one}"
    return f"{fmt.integer(n)} are {many}"


def headline(
    *,
    n_units: int,
    n_eligible: int,
    n_bright_spots: int,
    n_candidates: int,
    min_volume: int,
    n_cases: int,
    n_wins: int,
    start: date | None,
    end: date | None,
) -> str:
    """The one-paragraph summary at the top of the report."""
    spots = _count_phrase(n_bright_spots, "a bright spot", "bright spots")
    cands = _count_phrase(n_candidates, "a candidate", "candidates")
    below = n_units - n_eligible
    assessed = (
        f"all {fmt.plural(n_units, 'rep')} closed at least {min_volume} deals and were assessed"
        if below == 0
        else (
            f"{fmt.integer(n_eligible)} closed at least {min_volume} deals and were assessed; "
            f"{fmt.integer(below)} closed fewer and are shown but not labelled"
        )
    )
    return (
        f"Of {fmt.plural(n_units, 'rep')}, {spots} and {cands}, judged on "
        f"{fmt.plural(n_cases, 'closed deal')} ({fmt.integer(n_wins)} won) "
        f"{window(start, end)}. {assessed[0].upper() + assessed[1:]}."
    )


LABEL_MEANING = (
    "A bright spot won more than their territory and deal mix predict, by more than chance and "
    "the normal variation between reps explain, and in both halves of the period. A candidate is "
    "above expectation, but the evidence is not conclusive yet: worth watching, not yet worth "
    "copying."
)


def leaderboard_contrast(top_labels: Sequence[str], n_bright_spots: int) -> str:
    """One line on how the raw top by won amount differs from the bright spots."""
    n = len(top_labels)
    k = sum(1 for x in top_labels if x == "bright_spot")
    c = sum(1 for x in top_labels if x == "candidate")
    top = f"the top {n} by won amount"
    if k == 0:
        first = f"None of {top} is a bright spot"
    elif k == 1:
        first = f"1 of {top} is a bright spot"
    else:
        first = f"{k} of {top} are bright spots"
    if c:
        first += f" and {c} {'is a candidate' if c == 1 else 'are candidates'}"
    missing = n_bright_spots - k
    if n_bright_spots and missing:
        first += (
            f"; {missing} of the {fmt.plural(n_bright_spots, 'bright spot')} "
            f"{'does' if missing == 1 else 'do'} not appear here"
        )
    return (
        f"{first}. Raw results mostly follow territory and deal size: a large patch gives a large "
        "total, while a bright spot beats what their own patch predicts."
    )


def ranks_note(rankability: float) -> str:
    if fmt.is_missing(rankability):
        return (
            "Ranks are not published: rankability could not be estimated for this run. "
            "Reps are listed alphabetically within each label."
        )
    return (
        f"Ranks are not published: rankability is {fmt.ratio(rankability)}, below "
        f"{RANKABILITY_THRESHOLD}, so most of the difference between reps' measured ratios is "
        "noise and an ordering would mostly reflect luck. Reps are listed alphabetically within "
        "each label."
    )


def ranks_published(rankability: float) -> bool:
    return not fmt.is_missing(rankability) and rankability >= RANKABILITY_THRESHOLD


def auc(value: float | None) -> str:
    if value is None or fmt.is_missing(value):
        return "The model's discrimination (AUC) was not computed for this run."
    if value < 0.6:
        grade = "Weak: resources explain little of which deals are won"
    elif value < 0.7:
        grade = "Modest, which is usual for sales outcomes"
    elif value < 0.8:
        grade = "Good"
    else:
        grade = (
            "Strong; check that no covariate carries the outcome (a final deal amount can, "
            "see the caveats)"
        )
    return (
        f"Shown a random won deal and a random lost one, the model gives the won deal the higher "
        f"chance {fmt.percent(value)} of the time (0.5 is a coin toss, 1.0 is perfect). {grade}."
    )


def covariates(names: Sequence[str], n_cases: int, n_wins: int) -> str:
    plain = [COVARIATE_NAMES.get(c, c.replace("_", " ")) for c in names]
    used = fmt.words_list(plain) if plain else "no covariates (every deal gets the overall rate)"
    return (
        f"Expected wins come from a logistic model of each closed deal on {used}: resources a rep "
        f"does not control, never what they do. It was fitted on "
        f"{fmt.plural(n_cases, 'closed deal')} ({fmt.integer(n_wins)} won), with no term for the "
        "rep."
    )


def calibration(rows: Sequence[tuple[int, float, float]]) -> str:
    """From (decile, mean_expected, observed_rate) rows: where predicted and actual differ most."""
    usable = [r for r in rows if not (fmt.is_missing(r[1]) or fmt.is_missing(r[2]))]
    if not usable:
        return "No calibration table was stored for this run."
    decile, pred, obs = max(usable, key=lambda r: abs(r[2] - r[1]))
    gap = abs(obs - pred) * 100
    return (
        "Deals are grouped into ten bands by their predicted chance of winning; when the model "
        "is well calibrated, each band's actual win rate sits on the diagonal. The largest gap is "
        f"{gap:.0f} percentage point{'' if round(gap) == 1 else 's'} (band {decile}: "
        f"{fmt.percent(pred)} predicted, {fmt.percent(obs)} won)."
    )


NOT_ESTIMATED = "could not be estimated (too few reps met the minimum volume)."


def phi(value: float) -> str:
    if fmt.is_missing(value):
        return f"Overdispersion {NOT_ESTIMATED}"
    if value <= 1:
        return (
            f"Overdispersion φ = {fmt.ratio(value)}: reps' results spread no more than the model's "
            "chance variation alone would produce."
        )
    return (
        f"Overdispersion φ = {fmt.ratio(value)}: reps' results spread about "
        f"{fmt.ratio(value)} times as much as chance alone would produce."
    )


def tau2(value: float, mu: float, note: str | None) -> str:
    if fmt.is_missing(value):
        return f"Between-rep variance {NOT_ESTIMATED}"
    if value <= 0:
        return note or (
            "Between-rep variance τ² = 0: the spread between reps is no more than chance, so "
            "shrinkage pulls every rep to the average and labels rest on the unadjusted test with "
            "a false-discovery correction."
        )
    sd = math.sqrt(value)
    return (
        f"Between-rep variance τ² = {value:.4f}: beyond chance, reps' true ratios differ from the "
        f"average of {fmt.ratio(mu)} by about {fmt.ratio(sd)} (one standard deviation). The solid "
        "limits in the funnel plot allow for this."
    )


def rankability(value: float) -> str:
    if fmt.is_missing(value):
        return "Rankability could not be estimated, so ranks are not published."
    verdict = "ranks are published" if value >= RANKABILITY_THRESHOLD else "ranks are not published"
    share = min(max(value, 0.0), 1.0)
    return (
        f"Rankability ρ = {fmt.ratio(value)}: for a typical rep, {fmt.percent(share)} of the "
        f"variation in the measured ratio is real difference and {fmt.percent(1 - share)} is "
        f"noise. Ranks need at least {RANKABILITY_THRESHOLD}, so {verdict}."
    )


def not_drawn(no_expected: int, above: int) -> str:
    """What the funnel plot leaves out or clamps, in words ('' when nothing)."""
    parts = []
    if no_expected:
        verb = "is" if no_expected == 1 else "are"
        parts.append(f"{fmt.plural(no_expected, 'rep')} with no expected wins {verb} not drawn.")
    if above:
        lie, be = ("lies", "is") if above == 1 else ("lie", "are")
        parts.append(
            f"{fmt.plural(above, 'rep')} below the minimum volume {lie} above the top of the "
            f"chart and {be} drawn on its edge."
        )
    return " ".join(parts)


FUNNEL_HOW_TO_READ = (
    "Each point is a rep. Height is the ratio of deals won to deals expected from territory and "
    "deal mix (1 = exactly as expected); further right means more expected wins, so more evidence. "
    "The funnel narrows as evidence grows: a rep above the solid upper line beats expectation by "
    "more than chance and the normal variation between reps explain. Dashed lines are the exact "
    "limits without that allowance. Only bright spots and candidates are named."
)
