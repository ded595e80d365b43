"""Section 6, actions: practices to try next period, and last period's actions followed up.

Suggestions come from the binary practices with evidence (``worked.with_evidence``): the ones
the scope's deals of the period used least, weighed by how much they went with winning (room =
the share of the period's closed deals without it). Last period's actions (the ones the meeting
agreed, else the ones its brief suggested) are followed up on the deals the scope opened in
each period, on the practice's primary measure, counting only deals open long enough for it
(``landmark_days``) so both periods' deals are compared over the same span: how often the
practice held (binary) or its median (others); "too early to tell" otherwise.
"""

from __future__ import annotations

import math

import pandas as pd

from brightspots.brief.model import Action
from brightspots.brief.worked import value_words
from brightspots.practices.registry import Practice
from brightspots.report import fmt

MAX_SUGGESTED = 3


def uptake(values: pd.Series, p: Practice) -> float | None:
    """The share of deals where a binary practice held, else the median value; None if none."""
    v = pd.to_numeric(values, errors="coerce").dropna()
    if not len(v):
        return None
    return float((v == 1).mean()) if p.kind == "binary" else float(v.median())


def _state(v: float, p: Practice) -> str:
    if p.kind == "binary":
        return f"it held on {fmt.percent(v)} of them"
    unit = f" {p.unit}" if p.unit and p.kind in ("count", "rate") else ""
    return f"the median was {value_words(v, p)}{unit}"


def suggested(
    evidence: pd.DataFrame,
    registry: dict[str, Practice],
    deals: pd.DataFrame,
    *,
    period_words: str,
) -> list[Action]:
    """Up to ``MAX_SUGGESTED`` practices to try; ``deals``: the period's closed deals of the
    scope with the run's ``primary__<id>`` columns."""
    scored = []
    for _, r in evidence.iterrows():
        p = registry.get(str(r["practice"]))
        if p is None or p.kind != "binary":
            continue  # "try it on every deal" needs a practice that holds on a deal or not
        col = f"primary__{p.id}"
        use = uptake(deals[col], p) if col in deals.columns else None
        pp = float(r["pp_diff"]) if math.isfinite(float(r["pp_diff"])) else 0.0
        room = (1.0 - use) if (p.kind == "binary" and use is not None) else 1.0
        scored.append((room * max(pp, 0.0), p, use))
    scored.sort(key=lambda t: (-t[0], t[1].id))
    out = []
    for _, p, use in scored[:MAX_SUGGESTED]:
        what = p.description.rstrip(".")
        text = f"Try it on every new deal: {what[0].lower()}{what[1:]}"
        if use is not None and p.kind == "binary":
            text += f" (it held on {fmt.percent(use)} of the deals closed in {period_words})"
        text += "."
        out.append(Action(text=text, practice_id=p.id, source="suggested"))
    return out


def followed_up(
    previous: list[Action],
    registry: dict[str, Practice],
    opened: pd.DataFrame,
    *,
    before_label: str,
    now_label: str,
    landmark_days: int,
) -> list[Action]:
    """Last period's actions with what happened since. ``opened``: the scope's deals opened in
    the previous period and this one (``source.opened_deals``: opened, old_enough and the
    ``primary__<id>`` columns). Only deals old enough for the practice's primary measure count,
    so deals of both periods are compared over the same span of their life."""
    out = []
    for a in previous:
        p = registry.get(a.practice_id) if a.practice_id else None
        if p is None:
            since = (
                "Not linked to a practice the data measures: ask the team how it went."
                if a.practice_id is None
                else f"The practice {a.practice_id!r} is no longer in the workspace's registry."
            )
            out.append(Action(a.text, a.practice_id, a.source, since=since))
            continue
        col = f"primary__{p.id}"
        ok = opened[opened["old_enough"].astype(bool)] if len(opened) else opened
        values = ok[col] if col in ok.columns else pd.Series(dtype=float)
        before = uptake(values[ok["opened"] == before_label], p) if len(ok) else None
        after = uptake(values[ok["opened"] == now_label], p) if len(ok) else None
        young = f"deals opened in {now_label} are not {landmark_days} days old yet"
        if before is None and after is None:
            since = (
                f"Too early to tell: no deal opened in {before_label} or {now_label} can be "
                "measured on it yet."
            )
        elif after is None:
            since = (
                f"On the deals opened in {before_label}, {_state(before, p)}; too early to "
                f"tell for {now_label} ({young})."
            )
        elif before is None:
            since = f"On the deals opened in {now_label}, {_state(after, p)}."
        else:
            since = (
                f"On the deals opened in {before_label}, {_state(before, p)}; on those opened "
                f"in {now_label}, {_state(after, p)}."
            )
        out.append(Action(a.text, a.practice_id, a.source, before, after, since))
    return out
