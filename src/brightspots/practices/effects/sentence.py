"""One plain sentence per practice, for a rep: what the deals show, with the interval, and how
many bright spots do it against how many peers. Honest about weak evidence ("no clear
difference"), about suspect effects (only over the whole deal, which longer deals inflate) and
about estimates that could not be made. Percentage points are average marginal effects."""

from __future__ import annotations

import math
from dataclasses import dataclass

from brightspots.practices.effects.screen import Screen
from brightspots.practices.registry import Practice

ALPHA = 0.05
#: how the primary analysis reads in a sentence ("measured ... there is no clear difference")
ANALYSIS_WORDS = {
    "landmark": "early in the deal (landmark analysis)",
    "stage": "among the deals that reached the stage it refers to",
    "prior_period": "in the owner's month before the deal was created",
}


@dataclass(frozen=True)
class Facts:
    pp: float
    pp_low: float
    pp_high: float
    q: float
    whole_or: float
    whole_q: float
    suspect: bool
    worse: float  # contrast values (NaN when there is no contrast)
    better: float
    screen: Screen | None
    has_bright: bool
    note: str = ""
    differs: bool = False


def _num(v: float) -> str:
    return f"{v:.0f}" if float(v).is_integer() or abs(v) >= 100 else f"{v:.1f}"


def _value(practice: Practice, v: float) -> str:
    return f"{100 * v:.0f}%" if practice.kind == "share" else _num(v)


def _q(q: float) -> str:
    return "q < 0.001" if q < 0.001 else f"q = {q:.3f}" if q < 0.01 else f"q = {q:.2f}"


def _points(pp: float, low: float, high: float) -> tuple[str, str, str]:
    digits = 0 if max(abs(pp), abs(low), abs(high)) >= 10 else 1
    return tuple(f"{x:.{digits}f}" for x in (pp, low, high))  # type: ignore[return-value]


def _subject(practice: Practice, f: Facts) -> str:
    if practice.kind == "binary":
        subject = f"deals where {practice.phrase}"
    else:
        end = "higher" if practice.higher_is_better else "lower"
        subject = f"deals at the {end} end of {practice.phrase}"
        if math.isfinite(f.better):
            unit = practice.unit if practice.unit and practice.unit not in practice.phrase else ""
            pair = f"{_value(practice, f.better)} against {_value(practice, f.worse)}"
            subject += f" ({pair}{' ' + unit if unit else ''})"
    if practice.primary == "stage" and practice.stage:
        return f"Among {practice.stage}, {subject}"
    return subject[0].upper() + subject[1:]


def _directed(practice: Practice, f: Facts) -> tuple[float, float, float]:
    """The effect as read from the subject: for a binary practice where doing it is worse, the
    subject is the deals doing it, so the (better-oriented) effect changes sign."""
    if practice.kind == "binary" and not practice.higher_is_better:
        return -f.pp, -f.pp_high, -f.pp_low
    return f.pp, f.pp_low, f.pp_high


def _main(practice: Practice, f: Facts) -> str:
    subject = _subject(practice, f)
    analysis = ANALYSIS_WORDS.get(practice.primary, f"in the {practice.primary} analysis")
    if practice.primary == "stage" and practice.stage:
        analysis = f"among {practice.stage}"
    why = f.note or "the model could not be fitted"
    pp, low, high = _directed(practice, f)
    if f.suspect:
        flipped = practice.kind == "binary" and not practice.higher_is_better
        more = "more" if (f.whole_or > 1) != flipped else "less"
        head = (
            f"{subject} look {more} likely to be won only when measured over the whole deal "
            f"(odds ratio {f.whole_or:.2f}, {_q(f.whole_q)}), which longer deals inflate; "
        )
        if not math.isfinite(pp):
            return head + f"measured {analysis} there is no estimate ({why})"
        s_pp, s_low, s_high = _points(pp, low, high)
        return head + (
            f"measured {analysis} there is no clear difference ({s_pp} points, 95% CI {s_low} to "
            f"{s_high})"
        )
    if not math.isfinite(pp):
        return f"{subject}: no estimate ({why})"
    if math.isfinite(f.q) and f.q < ALPHA:
        more = pp >= 0
        a, b, c = _points(pp, low, high) if more else _points(-pp, -high, -low)
        return (
            f"{subject} were won {a} points {'more' if more else 'less'} often "
            f"(95% CI {b} to {c}) than comparable deals"
        )
    a, b, c = _points(pp, low, high)
    q = f", {_q(f.q)}" if math.isfinite(f.q) else ""
    return (
        f"{subject} were won about as often as comparable deals: no clear difference "
        f"({a} points, 95% CI {b} to {c}{q})"
    )


def _shares(practice: Practice, f: Facts) -> str:
    s = f.screen
    if not f.has_bright:
        return "there are no bright spots to compare"
    if s is None or s.n_bright == 0:
        return "no bright spot has this practice measured"
    if practice.kind == "binary":
        verb = "do this" if practice.higher_is_better else "avoid this"
        lead = f"{s.bright_doing} of {s.n_bright} bright spots {verb} on most deals"
    else:
        if not math.isfinite(s.peer_median):
            return f"no peers to compare the {s.n_bright} bright spots with"
        side = "above" if practice.higher_is_better else "below"
        median = _value(practice, s.peer_median)
        lead = (
            f"{s.bright_doing} of {s.n_bright} bright spots are {side} the peers' median ({median})"
        )
    if s.n_peers == 0:
        return lead + ", with no peers to compare"
    return f"{lead}, against {100 * s.peer_share:.0f}% of peers"


def sentence(practice: Practice, facts: Facts) -> str:
    text = f"{_main(practice, facts)}; {_shares(practice, facts)}."
    if facts.differs:
        text += " The effect differs between segments (see the segment table)."
    return text
