"""Section 1, wins: the period's won deals, the largest and the most unlikely first.

A deal's chance is the case-mix model's expected probability of winning a deal like it (its
segment, size, source, territory...). A win is "unlikely" when that chance was at most
``unlikely_below``. The order interleaves the two lists the issue asks for, so the top of the
section holds both the biggest wins and the most surprising ones: largest, most unlikely, next
largest, next most unlikely..., each deal once.
"""

from __future__ import annotations

import math

import pandas as pd

from brightspots.brief.model import Figure, Win
from brightspots.report import fmt


def _n(x) -> int:
    return 0 if x is None or (isinstance(x, float) and math.isnan(x)) else int(x)


def what_was_done(
    touches: int,
    contacts: int,
    meetings: int,
    replies: int,
    fast: int,
    median_hours: float | None = None,
) -> str:
    """'14 touches to 4 people at the buyer, 3 meetings or demos; 3 buyer replies answered
    within an hour.' Facts about the deal; ``median_hours`` (the median response time, given
    only when it is at or under the company's) is said when no reply was answered that fast."""
    if not touches:
        return "No touch was logged on the deal."
    parts = [fmt.plural(touches, "touch", "touches")]
    if contacts:
        parts[0] += f" to {fmt.plural(contacts, 'person', 'people')} at the buyer"
    if meetings:
        parts.append(fmt.plural(meetings, "meeting or demo", "meetings or demos"))
    line = ", ".join(parts)
    if fast:
        line += f"; {fmt.plural(fast, 'buyer reply', 'buyer replies')} answered within an hour"
    elif replies and median_hours is not None:
        line += f"; buyer replies answered in a median {fmt.hours(median_hours)}"
    return line + "."


def order(deals: pd.DataFrame) -> list[int]:
    """Row positions: largest and most unlikely, alternating, each once."""
    amount = pd.to_numeric(deals["amount"], errors="coerce").fillna(-1.0)
    by_size = sorted(
        range(len(deals)), key=lambda i: (-amount.iloc[i], deals["opportunity_id"].iloc[i])
    )
    p = pd.to_numeric(deals["p_hat"], errors="coerce")
    scored = [i for i in range(len(deals)) if pd.notna(p.iloc[i])]
    by_surprise = sorted(scored, key=lambda i: (p.iloc[i], deals["opportunity_id"].iloc[i]))
    out: list[int] = []
    seen: set[int] = set()
    for pair in zip(by_size, by_surprise + [None] * len(by_size), strict=False):
        for i in pair:
            if i is not None and i not in seen:
                seen.add(i)
                out.append(i)
    return out


def ranked(deals: pd.DataFrame, expectations: pd.DataFrame) -> pd.DataFrame:
    """The period's won deals (``source.won_deals``) with p_hat (from the run's
    deal_expectations, NaN when the model did not score the deal), in section order."""
    p = expectations[["opportunity_id", "p_hat"]].drop_duplicates("opportunity_id")
    d = deals.merge(p, on="opportunity_id", how="left").reset_index(drop=True)
    if not len(d):
        return d
    return d.iloc[order(d)].reset_index(drop=True)


def wins(
    deals: pd.DataFrame,
    facts: pd.DataFrame,
    rep_names: dict[str, str],
    rep_teams: dict[str, str],
    *,
    unlikely_below: float,
    typical_hours: float | None = None,
) -> list[Win]:
    """One row per deal of ``deals`` (``ranked`` rows, in their order) with ``facts``
    (``source.deal_facts``; a deal without facts shows none). ``typical_hours``: the company's
    median response time; a deal's own is said (and kept as a figure against it) only when it
    is at or under it, so a named rep is never shown slower than the peers."""
    if not len(deals):
        return []
    d = deals.merge(facts, on="opportunity_id", how="left")
    out = []
    for i in range(len(d)):
        r = d.iloc[i]
        p_hat = float(r["p_hat"]) if pd.notna(r["p_hat"]) else None
        touches, contacts, meetings = _n(r["touches"]), _n(r["contacts"]), _n(r["meetings"])
        replies, fast = _n(r["replies"]), _n(r["fast_replies"])
        med = float(r["median_response_hours"]) if pd.notna(r["median_response_hours"]) else None
        quick = med is not None and typical_hours is not None and med <= typical_hours
        figures = (Figure(med, typical_hours, "peer_median", False),) if quick else ()
        out.append(
            Win(
                opportunity_id=str(r["opportunity_id"]),
                deal=str(r["deal"]) if pd.notna(r["deal"]) else str(r["opportunity_id"]),
                account_id=str(r["account_id"]),
                account=str(r["account"]) if pd.notna(r["account"]) else str(r["account_id"]),
                rep_id=str(r["rep_id"]),
                rep=rep_names.get(str(r["rep_id"]), str(r["rep_id"])),
                team_id=rep_teams.get(str(r["rep_id"]), ""),
                amount=float(r["amount"]) if pd.notna(r["amount"]) else None,
                closed_on=r["closed_on"],
                p_hat=p_hat,
                touches=touches,
                contacts=contacts,
                meetings=meetings,
                replies=replies,
                fast_replies=fast,
                median_response_hours=med,
                line=what_was_done(
                    touches, contacts, meetings, replies, fast, med if quick and not fast else None
                ),
                unlikely=p_hat is not None and p_hat <= unlikely_below,
                figures=figures,
            )
        )
    return out
