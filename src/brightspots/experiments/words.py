"""The words of practice experiments shared by the plan, the results and personal experiments:
outcome names, changes in points or hours, dates, lists of teams, and the sentences of the
comparison and personal results. Pure functions of plain values."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
#: outcomes whose figures are shares (shown in points); the others are hours
SHARES = ("win_rate", "impact_rate", "adoption")


def day(d: date) -> str:
    """'14 April 2027'."""
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def short_day(d: date, *, year: bool = False) -> str:
    """'2 Nov' (with the year: '2 Nov 2026')."""
    text = f"{d.day} {MONTHS[d.month - 1][:3]}"
    return f"{text} {d.year}" if year else text


def listing(items: Sequence[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def count(n: int, one: str, many: str | None = None) -> str:
    """'1 team', '6 teams'."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def outcome_name(outcome: str, horizon_days: int | None = None) -> str:
    """'win rate (deals won within 90 days)', 'buyer impact rate (touches drawing a buyer
    response)', 'response time (median hours to answer a buyer)', 'adoption'."""
    if outcome == "win_rate":
        days = f" within {horizon_days} days" if horizon_days else ""
        return f"win rate (deals won{days} of creation)"
    if outcome == "impact_rate":
        return "buyer impact rate (touches drawing a buyer response)"
    if outcome == "response_hours":
        return "response time (median hours to answer a buyer)"
    if outcome == "adoption":
        return "adoption"
    raise ValueError(f"unknown outcome {outcome!r}")


def short_name(outcome: str) -> str:
    """'win rate', 'buyer impact rate', 'response time', 'adoption'."""
    return {
        "win_rate": "win rate",
        "impact_rate": "buyer impact rate",
        "response_hours": "response time",
        "adoption": "adoption",
    }[outcome]


def higher_is_better(outcome: str) -> bool:
    return outcome != "response_hours"


def _num(x: float, digits: int) -> str:
    text = f"{x:,.{digits}f}"
    return text.replace("-", "\u2212")


def points(x: float, *, signed: bool = True) -> str:
    """A share difference in points: '+6.1 points', '\u22122.0 points' (one decimal below 10)."""
    if x is None or not math.isfinite(x):
        return "not known"
    v = 100.0 * x
    digits = 1 if abs(v) < 10 else 0
    sign = "+" if signed and v >= 0.05 else ""
    return f"{sign}{_num(v, digits)} points"


def share(x: float | None) -> str:
    """'34%' (NaN: 'not known')."""
    if x is None or not math.isfinite(x):
        return "not known"
    return f"{100.0 * x:.0f}%"


def hours(x: float | None, *, signed: bool = False) -> str:
    """'12.5 hours', '+2.0 hours'."""
    if x is None or not math.isfinite(x):
        return "not known"
    sign = "+" if signed and x >= 0.05 else ""
    return f"{sign}{_num(x, 1)} hours"


def change(x: float | None, outcome: str) -> str:
    """A signed change in the outcome's unit: points for shares, hours for response time."""
    return points(x) if outcome in SHARES else hours(x, signed=True)


def level(x: float | None, outcome: str) -> str:
    """A level in the outcome's unit: '34%' or '12.5 hours'."""
    return share(x) if outcome in SHARES else hours(x)


def interval(lo: float | None, hi: float | None, outcome: str, level_: float = 0.95) -> str:
    """'95% CI 1.8 to 10.4' (points or hours, without the unit)."""
    scale = 100.0 if outcome in SHARES else 1.0
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return f"{100 * level_:g}% CI not known"
    a, b = lo * scale, hi * scale
    return f"{100 * level_:g}% CI {_num(a, 1)} to {_num(b, 1)}"


def comparison_reason(
    comparison: str,
    treated: Sequence[str],
    chosen: Sequence[str],
    matched: tuple[int, int],
) -> str:
    """Why these comparison teams, in words; ``matched`` is (first, last) of the weeks similar
    teams are matched on, in weeks before the first start (``compare.matching_weeks``: (26, 13)
    with the defaults)."""
    if comparison == "all":
        return (
            f"Compared with every other team ({count(len(chosen), 'team')}), and with the "
            "experiment's own teams until each starts."
        )
    return (
        f"Compared with the {count(len(chosen), 'team')} most like "
        f"{'it' if len(treated) == 1 else 'them'} over weeks {matched[0]} to "
        f"{matched[1]} before the start: the outcome's level, volume, how often the "
        "practice was already used and the deal mix (not the trend; the weeks just before are "
        "left for the pre-trend check). Teams are never chosen on what happened after the start."
    )


def dip_warning(weeks: int = 8) -> str:
    """The regression-to-the-mean warning (the treated teams had a dip before the start)."""
    return (
        f"The teams in the experiment did worse than usual in the {weeks} weeks before the "
        "start: some of any rise after it may be a return to their usual level, not the "
        "practice. The comparison teams were matched over a longer stretch to limit this."
    )


def personal_sentence(
    *,
    since: date,
    practice_after: float | None,
    practice_before: float | None,
    deals_before: int,
    outcome: str,
    horizon_days: int,
    outcome_after: float | None,
    n_after: int,
    outcome_before: float | None,
    n_before: int,
    swing: float | None,
    peers_before: float | None,
    peers_after: float | None,
    more_needed: int | None,
    unit: str = "deals",
) -> str:
    """The words of a personal experiment (design section 8): what is theirs (the practice
    rate on their own deals), the outcome before and after, why one person's numbers cannot show
    what the practice did, their peers over the same weeks, and how much more it would take."""
    parts = [
        f"You did it on {share(practice_after)} of your new deals since {short_day(since)} "
        f"(was {share(practice_before)} of {deals_before:,}): that is yours, counted on your "
        "own deals."
    ]
    name = short_name(outcome).capitalize()
    if outcome == "win_rate":
        name = f"Win rate within {horizon_days} days"
    if n_after == 0:
        parts.append(f"{name}: no figures yet since {short_day(since)}.")
    elif outcome in SHARES:
        parts.append(
            f"{name}: {level(outcome_after, outcome)} of {n_after:,}, was "
            f"{level(outcome_before, outcome)} of {n_before:,}."
        )
    else:
        parts.append(
            f"{name}: {level(outcome_after, outcome)} over {n_after:,} {unit}, was "
            f"{level(outcome_before, outcome)} over {n_before:,}."
        )
    luck = (
        f"{n_after:,} {unit} can swing {100 * swing:.0f} points by luck alone"
        if swing is not None and math.isfinite(swing) and n_after > 0
        else "a few weeks of one person's figures swing widely by luck alone"
    )
    peers = ""
    if peers_before is not None and peers_after is not None:
        if math.isfinite(peers_before) and math.isfinite(peers_after):
            peers = (
                f" (your peers went from {level(peers_before, outcome)} to "
                f"{level(peers_after, outcome)} over the same weeks)"
            )
    parts.append(
        f"One person's numbers cannot show that the practice did this: {luck}, and seasons "
        f"and deal mix move them too{peers}."
    )
    if more_needed is not None and more_needed > 0:
        parts.append(
            f"After about {more_needed:,} more {unit} a 10-point change would be detectable 4 "
            "times out of 5; your team's experiments answer sooner."
        )
    elif more_needed is not None:
        parts.append(
            f"A 10-point change would be detectable 4 times out of 5 on the {unit} so far; your "
            "team's experiments answer more surely, against teams that did not change."
        )
    elif outcome in SHARES and outcome_before is not None and n_before > 0:
        # ``personal.more_needed`` is None with a level before: the before sample is too small
        parts.append(
            f"Your {n_before:,} {unit if n_before != 1 else unit[:-1]} before the start "
            f"{'are' if n_before != 1 else 'is'} too few for a 10-point change to be "
            "detectable 4 times out of 5, however many come after."
        )
    return " ".join(parts)
