"""Stories reps tell about their won deals (bright spots tell more), and the caregiver stories
of the planted high-care reps about their follow-on wins (tag ``care``); the stories table."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from brightspots import schema
from brightspots.synth.calendar import Calendar
from brightspots.synth.model import PRACTICES
from brightspots.synth.opportunities import Opps
from brightspots.synth.people import Reps
from brightspots.synth.tables import Keys, canonical_table, serial_ids, take_ids

STORY_TITLES = (
    "How we won {account}",
    "{account}: from first call to signature",
    "Lessons from the {account} deal",
    "Turning {account} around",
)
STORY_LINES = {
    "multi_threading": (
        "In the first week we met the {title} as well as the project team, so the deal never "
        'hung on one person. The {title} said: "you understood our priorities early."'
    ),
    "fast_response": (
        "Every reply got an answer the same morning; when they asked for references, they had "
        "them within the hour."
    ),
    "meeting_before_proposal": (
        "We held a working session before writing the proposal, so the proposal answered their "
        "questions, not ours."
    ),
    "demo": "We ran a tailored demo for the operations team, then another for IT.",
    "persistence": "It took a lot of calls and e-mails, but we stayed on it.",
}

CARE_TITLES = (
    "Staying close to {account}",
    "Why {account} came back",
    "{account}: the second deal",
)
CARE_LINES = (
    "We called them a month after go-live just to ask how it was going, and kept checking in "
    "every quarter after that. When they were ready to expand, they called us first.",
    "After the first project we listened more than we talked: we looked after their team "
    "through the rollout, and the new order came out of those conversations.",
    "Nobody asked us to, but we checked in after the launch and fixed two small problems before "
    "they became big ones. They told us that was why they bought again.",
)
CARE_TAG = "care"
MAX_CARE_STORIES = 3  # per rep


def make_stories(
    rng,
    cal: Calendar,
    reps: Reps,
    o: Opps,
    acc_names: pa.Array | pa.ChunkedArray,
    exec_titles: pa.Array | pa.ChunkedArray,
) -> list[tuple]:
    """A few stories told by reps about their won deals (bright spots tell more of them).
    ``acc_names``, ``exec_titles``: each account's name and the title of its executive (its
    first contact)."""
    won = o.won & o.is_closed
    tellers = np.flatnonzero(rng.random(reps.n) < np.where(reps.bright, 0.7, 0.2))
    rows = []
    first_won = np.searchsorted(o.rep, np.arange(reps.n))
    last_won = np.searchsorted(o.rep, np.arange(reps.n), side="right")
    for r in tellers:
        mine = first_won[r] + np.flatnonzero(won[first_won[r] : last_won[r]])
        if not len(mine):
            continue
        for i in rng.choice(mine, min(len(mine), int(rng.integers(1, 4))), replace=False):
            created = int(o.closed[i] + rng.integers(2 * 86400, 40 * 86400))
            if created >= cal.cut:
                continue
            name = acc_names[int(o.account[i])].as_py()
            title = STORY_TITLES[int(rng.integers(len(STORY_TITLES)))].format(account=name)
            used = [p for p, flag in zip(PRACTICES, o.practice[i], strict=True) if flag]
            extra = ["demo"] if rng.random() < 0.4 else ["persistence"]
            exec_title = exec_titles[int(o.account[i])].as_py() or "CFO"
            paras = [STORY_LINES[k].format(title=exec_title) for k in used + extra]
            body = "\n\n".join(paras) if rng.random() < 0.5 else " ".join(paras)
            tags = ";".join(k.replace("_", "-") for k in used + extra)
            rows.append(
                (
                    r,
                    int(o.account[i]),
                    i if rng.random() < 0.85 else -1,
                    title,
                    body,
                    tags or None,
                    created,
                )
            )
    rows.sort(key=lambda x: x[-1])
    return rows


def care_stories(
    rng: np.random.Generator,
    cal: Calendar,
    high: np.ndarray,
    follow: Opps,
    first_id: int,
    acc_names: pa.Array | pa.ChunkedArray,
) -> list[tuple]:
    """Caregiver stories: each planted high-care rep (``high``, a mask over the reps) tells
    about some of their won follow-on deals (``follow``, whose opportunity indices start at
    ``first_id``; up to ``MAX_CARE_STORIES`` each): a care paragraph, tag ``care``. Rows as
    ``make_stories``."""
    won = np.flatnonzero(follow.won & follow.is_closed & high[follow.rep])
    told = won[rng.random(len(won)) < 0.7]  # follow-on deals are in rep order
    first = np.searchsorted(follow.rep[told], follow.rep[told])
    told = told[np.arange(len(told)) - first < MAX_CARE_STORIES]
    created = follow.closed[told] + rng.integers(2 * 86400, 40 * 86400, len(told))
    title = rng.integers(0, len(CARE_TITLES), len(told))
    line = rng.integers(0, len(CARE_LINES), len(told))
    rows = []
    for k, i in enumerate(told.tolist()):
        if created[k] >= cal.cut:
            continue
        account = int(follow.account[i])
        name = acc_names[account].as_py()
        rows.append(
            (
                int(follow.rep[i]),
                account,
                first_id + i,
                CARE_TITLES[int(title[k])].format(account=name),
                CARE_LINES[int(line[k])],
                CARE_TAG,
                int(created[k]),
            )
        )
    return rows


def story_table(st: list[tuple], keys: Keys) -> pa.Table:
    def col(k: int) -> np.ndarray:
        return np.array([s[k] for s in st], np.int64)

    extra = {}
    if "status" in schema.table("stories").column_names:  # empty: submitted
        extra["status"] = pa.nulls(len(st), pa.string())
    return canonical_table(
        "stories",
        {
            **extra,
            "story_id": serial_ids("ST-", len(st)),
            "rep_id": take_ids(keys.rep, col(0)),
            "account_id": take_ids(keys.account, col(1)),
            "opportunity_id": take_ids(keys.opportunity, col(2)),
            "title": [s[3] for s in st],
            "body": [s[4] for s in st],
            "tags": [s[5] for s in st],
            "created_at": col(6),
        },
    )
