"""Effort and buyer impact shaped for the report: the span shown, each team's days and weeks in
it, and each team's totals. Pure functions over the cleaned ``effort_impact`` rows.

The span is the last ``SHOWN_WEEKS`` ISO weeks with data, from a Monday to the last day with a
touch or a buyer event (days are local dates in the workspace time zone, as stored). A team's
"median hours to respond" is the median of its weekly medians over the span, each week weighted
by its answered buyer events (the stored weeks carry a median each, not the events themselves).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

SHOWN_WEEKS = 26
#: the touch outcomes, in stacking order (bottom first): column, words
OUTCOMES: tuple[tuple[str, str], ...] = (
    ("touches_with_impact", "With buyer impact"),
    ("touches_followed", "Buyer responded, credited to another touch"),
    ("touches_in_dark", "In the dark"),
    ("touches_pending", "No response yet"),
)


@dataclass(frozen=True)
class Span:
    first: pd.Timestamp  # a Monday
    last: pd.Timestamp  # the last day with data
    weeks: int


@dataclass(frozen=True)
class Totals:
    """One unit's effort over the span."""

    touches: int
    with_impact: int
    followed: int
    in_dark: int
    pending: int
    buyer_events: int
    response_hours: float  # NaN when no event was answered

    @property
    def impact_rate(self) -> float:
        return self.with_impact / self.touches if self.touches else math.nan

    def share(self, part: int) -> float:
        return part / self.touches if self.touches else math.nan


def rows(effort: pd.DataFrame, grain: str, every: str) -> pd.DataFrame:
    return effort[(effort["grain"] == grain) & (effort["every"] == every)]


def span(effort: pd.DataFrame, weeks: int = SHOWN_WEEKS, grain: str = "team") -> Span | None:
    """The days shown: from the Monday ``weeks - 1`` weeks before the last day's week (or the
    first day's Monday, when the data start later) to the last day with ``grain`` data."""
    days = rows(effort, grain, "day")
    if days.empty:
        return None
    last = pd.Timestamp(days["period"].max()).normalize()
    first_day = pd.Timestamp(days["period"].min()).normalize()
    start = last - pd.Timedelta(days=last.weekday()) - pd.Timedelta(weeks=weeks - 1)
    start = max(start, first_day - pd.Timedelta(days=first_day.weekday()))
    n_weeks = (last - start).days // 7 + 1
    return Span(start, last, n_weeks)


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """The median of ``values`` with each counted ``weights`` times (weights >= 0; NaN values
    and zero weights are left out): the middle of the expanded list, the mean of the two middle
    values when the total weight splits exactly in half. NaN when nothing is left."""
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    keep = np.isfinite(v) & np.isfinite(w) & (w > 0)
    v, w = v[keep], w[keep]
    if not len(v):
        return math.nan
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order]
    cum = np.cumsum(w)
    half = cum[-1] / 2
    i = int(np.searchsorted(cum, half, side="left"))
    if math.isclose(cum[i], half) and i + 1 < len(v):
        return float((v[i] + v[i + 1]) / 2)
    return float(v[i])


def _in(df: pd.DataFrame, s: Span) -> pd.DataFrame:
    p = pd.to_datetime(df["period"])
    return df[(p >= s.first) & (p <= s.last)]


def totals(effort: pd.DataFrame, grain: str, s: Span) -> dict[str, Totals]:
    """unit_id -> its totals over the span (the day rows for counts, the week rows for response
    hours)."""
    days = _in(rows(effort, grain, "day"), s)
    weeks = _in(rows(effort, grain, "week"), s)
    cols = [c for c, _ in OUTCOMES] + ["touches", "buyer_events"]
    sums = days.groupby("unit_id")[cols].sum()
    out = {}
    for unit, r in sums.iterrows():
        w = weeks[weeks["unit_id"] == unit]
        if "median_response_hours" in w.columns:
            answered = w["buyer_events"].astype(float)
            if "events_unanswered" in w.columns:
                answered = answered - w["events_unanswered"].astype(float).fillna(0)
            hours = weighted_median(w["median_response_hours"].to_numpy(float), answered)
        else:
            hours = math.nan
        out[str(unit)] = Totals(
            touches=int(r["touches"]),
            with_impact=int(r["touches_with_impact"]),
            followed=int(r["touches_followed"]),
            in_dark=int(r["touches_in_dark"]),
            pending=int(r["touches_pending"]),
            buyer_events=int(r["buyer_events"]),
            response_hours=hours,
        )
    return out


def daily(effort: pd.DataFrame, grain: str, unit_id: str, s: Span) -> pd.DataFrame:
    """One unit's touches by day and outcome over the span, every day present (zeros where
    nothing happened): columns ``day`` (ISO date), ``outcome`` (words), ``order``, ``touches``."""
    days = _in(rows(effort, grain, "day"), s)
    mine = days[days["unit_id"] == unit_id].assign(day=lambda d: pd.to_datetime(d["period"]))
    index = pd.date_range(s.first, s.last, freq="D")
    full = mine.set_index("day").reindex(index)
    parts = []
    for order, (col, words) in enumerate(OUTCOMES):
        counts = full[col].astype("Float64").fillna(0).astype(int).to_numpy()
        parts.append(
            pd.DataFrame(
                {
                    "day": index.strftime("%Y-%m-%d"),
                    "outcome": words,
                    "order": order,
                    "touches": counts,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def weekly(effort: pd.DataFrame, grain: str, unit_id: str, s: Span) -> pd.DataFrame:
    """One unit's impact rate by ISO week over the span: ``mid`` (the week's middle, Thursday
    noon, as ISO text), ``week`` (its label), ``touches``, ``rate``; weeks without touches are
    left out."""
    weeks = _in(rows(effort, grain, "week"), s)
    mine = weeks[(weeks["unit_id"] == unit_id) & (weeks["touches"] > 0)].sort_values("period")
    touches = mine["touches"].astype(float).to_numpy()
    rate = mine["touches_with_impact"].astype(float).to_numpy() / touches
    mid = pd.to_datetime(mine["period"]) + pd.Timedelta(hours=3 * 24 + 12)
    return pd.DataFrame(
        {
            "mid": mid.dt.strftime("%Y-%m-%dT%H:%M:%S").to_numpy(),
            "week": mine["week_label"].to_numpy(),
            "touches": touches,
            "rate": rate,
        }
    )


def rate_top(rates: np.ndarray) -> float:
    """The top of an impact-rate axis shared by several charts: 5 points above the highest rate,
    rounded up to the next 10% (so no line runs along the top), at least 10%, at most 100%."""
    r = np.asarray(rates, dtype=float)
    r = r[np.isfinite(r)]
    if not len(r):
        return 0.1
    return min(1.0, max(0.1, math.ceil(round((float(r.max()) + 0.05) * 10, 9)) / 10))
