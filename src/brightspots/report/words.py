"""The report's sentences, built from the numbers: pure functions from values to plain text.

The text is plain (not HTML); the template escapes it. Every sentence a reader sees about a rep or
the model is written here, so it can be tested word for word.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

from brightspots import deviance
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
    return unit_sentence(
        name,
        observed,
        closed,
        expected,
        oe,
        basis=" from their territory and deal mix",
        times="times expected",
    )


#: in place of a shrunken O/E when tau^2 = 0 (every unit is pulled to 1)
NOT_SHRUNK = "– (no spread beyond chance, τ² = 0)"


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


def window_phrase(words: str | None, start: date | None, end: date | None) -> str:
    """'over the last 12 months (1 Jan 2024 to 31 Dec 2024)'; without words (an older run), the
    dates alone: 'from 1 Jan 2024 to 31 Dec 2024'."""
    if not words:
        return window(start, end)
    if start and end:
        return f"over {words} ({fmt.day(start)} to {fmt.day(end)})"
    if end:
        return f"over {words} (up to {fmt.day(end)})"
    return f"over {words}"


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
    window_words: str | None = None,
) -> str:
    """The one-paragraph summary of the reps at the top of the report."""
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
        f"{window_phrase(window_words, start, end)}. {assessed[0].upper() + assessed[1:]}."
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


def ranks_note(rankability: float, noun: str = "rep") -> str:
    title = noun[0].upper() + noun[1:]
    if fmt.is_missing(rankability):
        return (
            "Ranks are not published: rankability could not be estimated for this run. "
            f"{title}s are listed alphabetically within each label."
        )
    return (
        f"Ranks are not published: rankability is {fmt.ratio(rankability)}, below "
        f"{RANKABILITY_THRESHOLD}, so most of the difference between {noun}s' measured ratios is "
        f"noise and an ordering would mostly reflect luck. {title}s are listed alphabetically "
        "within each label."
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


def model_window(n_cases: int, window: str) -> str:
    """Which deals the discrimination and calibration figures describe."""
    return (
        f"Discrimination and calibration are measured on the {fmt.plural(n_cases, 'deal')} "
        f"closed {window}, the reps' window."
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


def _not_estimated(noun: str) -> str:
    return f"could not be estimated (too few {noun}s met the minimum volume)."


def phi(value: float, noun: str = "rep") -> str:
    if fmt.is_missing(value):
        return f"Overdispersion {_not_estimated(noun)}"
    if value <= 1:
        return (
            f"Overdispersion φ = {fmt.ratio(value)}: {noun}s' results spread no more than the "
            "model's chance variation alone would produce."
        )
    return (
        f"Overdispersion φ = {fmt.ratio(value)}: {noun}s' results spread about "
        f"{fmt.ratio(value)} times as much as chance alone would produce."
    )


def tau2(value: float, mu: float, note: str | None, noun: str = "rep") -> str:
    if fmt.is_missing(value):
        return f"Between-{noun} variance {_not_estimated(noun)}"
    if value <= 0:
        return note or (
            f"Between-{noun} variance τ² = 0: the spread between {noun}s is no more than chance, "
            f"so shrinkage pulls every {noun} to the average and labels rest on the unadjusted "
            "test with a false-discovery correction."
        )
    sd = math.sqrt(value)
    return (
        f"Between-{noun} variance τ² = {value:.4f}: beyond chance, {noun}s' true ratios differ "
        f"from the average of {fmt.ratio(mu)} by about {fmt.ratio(sd)} (one standard deviation). "
        "The solid limits in the funnel plot allow for this."
    )


def rankability(value: float, noun: str = "rep", *, ranked: bool = True) -> str:
    """``ranked``: whether the tables rank by this outcome (only the win rate's ranks are
    shown; for another outcome the sentence says so instead of a verdict)."""
    if fmt.is_missing(value):
        return "Rankability could not be estimated, so ranks are not published."
    verdict = "ranks are published" if value >= RANKABILITY_THRESHOLD else "ranks are not published"
    if not ranked:
        verdict = "the tables rank by win rate only"
    share = min(max(value, 0.0), 1.0)
    return (
        f"Rankability ρ = {fmt.ratio(value)}: for a typical {noun}, {fmt.percent(share)} of the "
        f"variation in the measured ratio is real difference and {fmt.percent(1 - share)} is "
        f"noise. Ranks need at least {RANKABILITY_THRESHOLD}, so {verdict}."
    )


def not_drawn(no_expected: int, above: int, *, expected: str = "expected wins") -> str:
    """What the funnel plot leaves out or clamps, in words ('' when nothing)."""
    parts = []
    if no_expected:
        verb = "is" if no_expected == 1 else "are"
        parts.append(f"{fmt.plural(no_expected, 'rep')} with no {expected} {verb} not drawn.")
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


# ---------------------------------------------------------------- levels, outcomes, history

#: plain names of the outcomes a label can rest on
OUTCOME_NAMES: dict[str, str] = deviance.OUTCOMES
LEVEL_NOUNS: dict[str, str] = {"rep": "rep", "team": "team", "region": "region"}


def outcome_name(outcome: str) -> str:
    return OUTCOME_NAMES.get(outcome, outcome.replace("_", " "))


def outcomes(combined: str) -> str:
    """'win_rate+won_revenue' -> 'win rate and won revenue'."""
    return fmt.words_list([outcome_name(o) for o in combined.split("+") if o])


def rests_on(combined: str) -> str:
    """'won_revenue' -> 'on won revenue' (what a label rests on)."""
    return f"on {outcomes(combined)}" if combined else ""


def outcomes_sentence(assessed: Sequence[str]) -> str:
    if len(assessed) <= 1:
        return (
            f"Outcome assessed: {outcomes('+'.join(assessed) or 'win_rate')}. Each label says "
            "which outcome it rests on."
        )
    return (
        f"Outcomes assessed: {outcomes('+'.join(assessed))}. A unit is labelled on any of them; "
        "each label says which outcome it rests on."
    )


def levels_headline(
    counts: Sequence[tuple[str, int, int, int]], team_window: str | None, rep_window: str | None
) -> str:
    """From (noun, units, bright spots, candidates) per level above the rep: 'Of 4 teams, 1 is a
    bright spot and none is a candidate; of 1 region, none is ... Teams and regions are judged
    over the last 24 months.'"""
    if not counts:
        return ""
    parts = []
    for noun, n, spots, cands in counts:
        parts.append(
            f"of {fmt.plural(n, noun)}, {_count_phrase(spots, 'a bright spot', 'bright spots')} "
            f"and {_count_phrase(cands, 'a candidate', 'candidates')}"
        )
    text = "; ".join(parts)
    text = text[0].upper() + text[1:] + "."
    if team_window and team_window != rep_window:
        nouns = fmt.words_list([f"{noun}s" for noun, *_ in counts])
        text += f" {nouns[0].upper() + nouns[1:]} are judged over {team_window}."
    return text


def unit_sentence(
    name: str,
    observed: int,
    closed: int,
    expected: float,
    oe: float,
    *,
    basis: str = "",
    times: str = "times",
) -> str:
    """'Benelux won 283 of 782 deals where 243.9 were expected (1.16 times).'"""
    deals = "deal" if closed == 1 else "deals"
    verb = "was" if fmt.decimal(expected) == "1.0" else "were"
    if fmt.is_missing(oe) or expected <= 0:
        tail = "(no expected wins to compare with)"
    else:
        tail = f"({fmt.ratio(oe)} {times})"
    return (
        f"{name} won {fmt.integer(observed)} of {fmt.integer(closed)} {deals} where "
        f"{fmt.decimal(expected)} {verb} expected{basis} {tail}."
    )


def revenue_sentence(name: str, booked: float, expected: float, oe: float, currency: str) -> str:
    """'Ana Silva booked $1,234,567 in won deals where $800,000 was expected (1.54 times).'"""
    if fmt.is_missing(oe) or fmt.is_missing(expected) or expected <= 0:
        tail = "(no expected revenue to compare with)"
    else:
        tail = f"({fmt.ratio(oe)} times)"
    return (
        f"{name} booked {fmt.money(booked, currency)} in won deals where "
        f"{fmt.money(expected, currency)} was expected {tail}."
    )


def impact_sentence(name: str, observed: float, n: float, expected: float, oe: float) -> str:
    """'Ana Silva's touches reached a buyer 412 times out of 1,530 settled, where 350.2 were
    expected (1.18 times).'"""
    if fmt.is_missing(oe) or fmt.is_missing(expected) or expected <= 0:
        tail = "(no expected buyer impact to compare with)"
    else:
        tail = f"where {expected:,.1f} were expected ({fmt.ratio(oe)} times)"
    return (
        f"{name}'s touches reached a buyer {observed:,.0f} times out of {n:,.0f} settled, {tail}."
    )


def detectability(n_detectable: int, n_units: int, effect: float, noun: str = "rep") -> str:
    """'For 10 of the 80 reps, a true win rate 1.5 times what is expected would very likely
    be found; the others have too few closed deals to tell it from chance.'"""
    few = "the others have" if n_units - n_detectable != 1 else "the other has"
    if n_detectable == n_units:
        return (
            f"For every {noun}, a true win rate {effect:g} times what is expected would very "
            "likely be found."
        )
    if n_detectable == 0:
        return (
            f"For no {noun} would a true win rate {effect:g} times what is expected very likely "
            f"be found: with this much real variation between {noun}s, each has too few closed "
            "deals to tell it from chance, so no label does not mean no difference."
        )
    return (
        f"For {fmt.integer(n_detectable)} of the {fmt.plural(n_units, noun)}, a true win rate "
        f"{effect:g} times what is expected would very likely be found; {few} too few closed "
        "deals to tell it from chance: for them, no label does not mean no difference."
    )


def needed(needed_oe: float, oe: float) -> str:
    """What a candidate would need: 'Needs O/E above 1.45 to clear the 99.8% limit (now 1.38).'"""
    if fmt.is_missing(needed_oe):
        return ""
    return f"Needs O/E above {fmt.ratio(needed_oe)} to clear the 99.8% limit (now {fmt.ratio(oe)})."


#: the trend word of a named unit across runs, and what it means
HISTORY_WORDS: dict[str, str] = {
    "new": "not labelled in any earlier run",
    "sustained": "labelled in the previous run too, O/E holding",
    "fading": "labelled in the previous run, O/E lower now",
    "returning": "labelled in an earlier run, not in the previous one",
}


def history_caption(n_runs: int) -> str:
    if n_runs == 0:
        return (
            "Across runs: this is the first run in the workspace, so every bright spot and "
            "candidate is new."
        )
    shown = fmt.plural(n_runs, "earlier run")
    return (
        f"Across runs: the O/E and label in each of the last {shown} (oldest first), then now. "
        + "; ".join(f"{w}: {m}" for w, m in HISTORY_WORDS.items())
        + "."
    )


def hidden_units(n: int, noun: str, *, plotted: bool) -> str:
    """'2 teams below expectation are not listed by name (drawn as unnamed points in the
    plot).' ('' when none is hidden)."""
    if n == 0:
        return ""
    be = "is" if n == 1 else "are"
    text = f"{fmt.plural(n, noun)} below expectation {be} not listed by name"
    return text + (" (drawn as unnamed points in the plot)." if plotted else ".")


def spread_summary(noun: str, phi_: float, tau2_: float, rho: float, *, ranked: bool) -> str:
    """One line on an outcome's spread between units: 'Teams' results spread 2.96 times as much
    as chance alone (φ); beyond chance, true ratios differ by about 0.07 (τ² = 0.0050);
    rankability ρ = 0.68, so ranks are published.'"""
    nouns = f"{noun[0].upper() + noun[1:]}s'"
    if fmt.is_missing(phi_):
        text = f"{nouns} spread {_not_estimated(noun)[:-1]}"
    else:
        text = f"{nouns} results spread {fmt.ratio(phi_)} times as much as chance alone (φ)"
    if fmt.is_missing(tau2_):
        text += "; between-unit variance could not be estimated"
    elif tau2_ <= 0:
        text += "; beyond chance they do not differ (τ² = 0)"
    else:
        text += (
            f"; beyond chance, true ratios differ by about {fmt.ratio(math.sqrt(tau2_))} "
            f"(τ² = {tau2_:.4f})"
        )
    if fmt.is_missing(rho):
        text += "; rankability could not be estimated, so ranks are not published"
    else:
        verdict = "ranks are published" if rho >= RANKABILITY_THRESHOLD else "ranks are hidden"
        if not ranked:
            verdict = "the tables rank by win rate only"
        text += f"; rankability ρ = {fmt.ratio(rho)}, so {verdict}"
    return text + "."


def caterpillar_how_to_read(
    noun: str, min_volume: int, ranks_published: bool, rho: float, *, outcome: str = "win_rate"
) -> str:
    what = "settled touches" if outcome == "buyer_impact" else "closed deals"
    text = (
        f"Each vertical line is a {noun} with at least {min_volume:,} {what}: the dot is their "
        "O/E after shrinkage (a small book is pulled toward 1, the average, because its raw ratio "
        "is mostly luck) and the line its 95% interval. Ordered from lowest to highest estimate. "
        "Only bright spots and candidates whose label rests on this outcome are named."
    )
    if not ranks_published:
        rank = (
            "rankability could not be estimated"
            if fmt.is_missing(rho)
            else f"rankability is {fmt.ratio(rho)}, below {RANKABILITY_THRESHOLD}"
        )
        text += (
            f" The order is not a ranking: {rank}, so neighbouring {noun}s differ mostly by noise."
        )
    return text


def caterpillar_flat(noun: str, outcome: str, note: str | None) -> str:
    """Why a caterpillar plot is replaced by a sentence when tau^2 = 0."""
    base = (
        f"No caterpillar plot for {outcome_name(outcome)}: the spread between {noun}s is no more "
        f"than chance (τ² = 0), so shrinkage pulls every {noun} to 1 and the plot would be a flat "
        "line."
    )
    return f"{base} {note}" if note else base


def impact_funnel_how_to_read(min_touches: int) -> str:
    return (
        "The same reading for buyer impact: touches that drew a buyer response (a reply, an "
        "accepted meeting, a proposal view, ...) divided by those expected from the accounts "
        "touched and the territory, against expected touches with impact. Only touches old "
        "enough for their outcome to be final count; a rep needs "
        f"{min_touches:,} of them to be labelled (below that, 'below minimum volume'). Touches "
        "on one account go together, and the limits allow for it. Only bright spots and "
        "candidates whose label rests on buyer impact are named."
    )


TEAM_FUNNEL_HOW_TO_READ = (
    "Each point is a team: its deals won divided by deals expected from territory and deal mix, "
    "against expected wins, with the same limits as the rep funnel. Teams at or above "
    "expectation are named; a team below expectation is drawn without its name."
)

REVENUE_FUNNEL_HOW_TO_READ = (
    "The same reading for won revenue: revenue booked on won deals divided by the revenue "
    "expected from each deal's chance of winning and its amount at creation, against expected "
    "revenue. Only bright spots and candidates whose label rests on won revenue are named."
)
