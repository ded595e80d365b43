"""Each named unit across past runs: its O/E and label in each earlier run, and one word for the
trend, so a reader sees whether a bright spot is new, holding or fading.

The O/E followed is that of the outcome the current label rests on (the first, when it rests on
several): win rate from a run's ``bright_spots`` table, other outcomes from its ``deviance``
table (an older run without one shows the label but no O/E). The earlier runs read are the last
``HISTORY_RUNS`` before the reported run; those whose table lacks the unit are skipped.

The word, from the earlier runs kept and the unit's current O/E (compared as shown, to 2
decimals), the previous run being the latest earlier run that has the unit:

- ``new``: no earlier run labelled it (every named unit of a workspace's first run is new);
- ``sustained``: labelled in the previous run too, and its O/E is not lower now;
- ``fading``: labelled in the previous run, and its O/E is lower now;
- ``returning``: labelled in an earlier run but not in the previous one.

Teams and regions at or above expectation are listed by name without a label; they get the same
history with no word.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import pandas as pd

from brightspots.report.tables import PRIMARY_OUTCOME

HISTORY_RUNS = 6
Word = Literal["new", "sustained", "fading", "returning", ""]
Key = tuple[str, str]


@dataclass(frozen=True)
class PastRun:
    """An earlier run as the history reads it: its cleaned ``bright_spots`` table (level,
    unit_id, label, oe) and its ``deviance`` table (level, unit_id, outcome, oe) or None."""

    run_id: str
    created_at: datetime
    units: pd.DataFrame
    deviance: pd.DataFrame | None = None


@dataclass(frozen=True)
class Point:
    run_id: str
    created_at: datetime
    oe: float  # NaN when that run has no O/E of the followed outcome
    label: str


@dataclass(frozen=True)
class UnitHistory:
    level: str
    unit_id: str
    outcome: str  # the outcome whose O/E is followed
    points: tuple[Point, ...]  # earlier runs, oldest first
    oe_now: float
    word: Word  # '' for a unit without a label now


def followed_outcome(outcome: str) -> str:
    """'win_rate+won_revenue' -> 'win_rate'; '' -> 'win_rate'."""
    return (outcome.split("+")[0] if outcome else "") or PRIMARY_OUTCOME


def _oe_index(units: pd.DataFrame, deviance: pd.DataFrame | None, outcome: str) -> dict:
    """(level, unit_id) -> (label, O/E of ``outcome``) over a run's units."""
    keys = list(zip(units["level"], units["unit_id"], strict=True))
    labels = dict(zip(keys, units["label"], strict=True))
    if outcome == PRIMARY_OUTCOME:
        oes = dict(zip(keys, units["oe"], strict=True))
    elif deviance is not None and len(deviance):
        d = deviance[deviance["outcome"] == outcome]
        oes = dict(zip(zip(d["level"], d["unit_id"], strict=True), d["oe"], strict=True))
    else:
        oes = {}
    return {k: (lab, float(oes.get(k, math.nan))) for k, lab in labels.items()}


def _falling(now: float, before: float) -> bool:
    if not (math.isfinite(now) and math.isfinite(before)):
        return False
    return round(now, 2) < round(before, 2)


def trend_word(points: Sequence[Point], oe_now: float, label_now: str = "bright_spot") -> Word:
    """The word for a unit given its earlier runs (oldest first) and its current O/E and label;
    see the module text. A unit without a label now gets no word."""
    if not label_now:
        return ""
    if not any(p.label for p in points):
        return "new"
    previous = points[-1]
    if not previous.label:
        return "returning"
    return "fading" if _falling(oe_now, previous.oe) else "sustained"


def unit_histories(
    units: pd.DataFrame,
    deviance: pd.DataFrame | None,
    past: Sequence[PastRun],
    *,
    limit: int = HISTORY_RUNS,
) -> dict[Key, UnitHistory]:
    """The history of every unit a table of the reported run may list: bright spots and
    candidates, and every team and region (the view lists those at or above expectation).

    ``units`` and ``deviance`` are the reported run's cleaned tables; ``past`` its earlier runs,
    oldest first."""
    named = units[(units["label"] != "") | (units["level"] != "rep")]
    if named.empty:
        return {}
    outcomes = {followed_outcome(o) for o in named["outcome"]}
    indexes = [{o: _oe_index(r.units, r.deviance, o) for o in outcomes} for r in past]
    current = {o: _oe_index(units, deviance, o) for o in outcomes}
    out: dict[Key, UnitHistory] = {}
    for row in named.itertuples(index=False):
        key = (row.level, row.unit_id)
        outcome = followed_outcome(row.outcome if row.label else "")
        points = [
            Point(run.run_id, run.created_at, idx[outcome][key][1], idx[outcome][key][0])
            for run, idx in zip(past, indexes, strict=True)
            if key in idx[outcome]
        ][-limit:]
        now = current[outcome][key][1]
        out[key] = UnitHistory(
            level=row.level,
            unit_id=row.unit_id,
            outcome=outcome,
            points=tuple(points),
            oe_now=now,
            word=trend_word(points, now, row.label),
        )
    return out
