"""Briefs, the actions meetings agree and their pulse, kept in the workspace by (team, period).

Three tables in the workspace file, written in one transaction each (all or nothing):

* ``briefs``: team_id, period, created_at, run_id, content (the brief as JSON). Making a brief
  again for the same team and period replaces it.
* ``brief_actions``: team_id, period, position, text, practice_id, source ("suggested": what
  the brief proposed; "agreed": what the meeting chose, by ``record``), recorded_at.
* ``brief_pulse``: team_id, period, energy, ideas (each 1 to 5: did people leave the meeting
  with more energy? with more ideas?), recorded_at; one row per answer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import pandas as pd

from brightspots.brief.model import Action, Brief, Pulse
from brightspots.brief.period import Period, parse
from brightspots.brief.source import BriefError
from brightspots.workspace import Workspace

SCALE = (1, 5)

_DDL = (
    "CREATE TABLE IF NOT EXISTS briefs (team_id VARCHAR, period VARCHAR, created_at TIMESTAMP, "
    "run_id VARCHAR, content VARCHAR)",
    "CREATE TABLE IF NOT EXISTS brief_actions (team_id VARCHAR, period VARCHAR, "
    "position INTEGER, text VARCHAR, practice_id VARCHAR, source VARCHAR, "
    "recorded_at TIMESTAMP)",
    "CREATE TABLE IF NOT EXISTS brief_pulse (team_id VARCHAR, period VARCHAR, energy INTEGER, "
    "ideas INTEGER, recorded_at TIMESTAMP)",
)
TABLES = ("briefs", "brief_actions", "brief_pulse")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _ensure(con) -> None:
    for ddl in _DDL:
        con.execute(ddl)


def save(ws: Workspace, brief: Brief) -> None:
    """Keep ``brief`` and its suggested actions, replacing an earlier brief of the same key."""
    key = [brief.team_id, brief.period.label]
    with ws.transaction() as con:
        _ensure(con)
        con.execute("DELETE FROM briefs WHERE team_id = ? AND period = ?", key)
        con.execute(
            "DELETE FROM brief_actions WHERE team_id = ? AND period = ? AND source = 'suggested'",
            key,
        )
        con.execute(
            "INSERT INTO briefs VALUES (?, ?, ?, ?, ?)",
            [*key, brief.created_at, brief.coverage.run_id, json.dumps(brief.to_dict())],
        )
        for i, a in enumerate(brief.actions):
            con.execute(
                "INSERT INTO brief_actions VALUES (?, ?, ?, ?, ?, 'suggested', ?)",
                [*key, i, a.text, a.practice_id, brief.created_at],
            )


def _check_score(name: str, values: Sequence[int]) -> None:
    lo, hi = SCALE
    for i, v in enumerate(values, start=1):
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise BriefError(f"--{name} answer {i} is {v!r}: use a whole number from {lo} to {hi}")


def record(
    ws: Workspace,
    team_id: str,
    period: str,
    *,
    actions: Sequence[tuple[str, str | None]] = (),
    energy: Sequence[int] = (),
    ideas: Sequence[int] = (),
) -> tuple[int, int]:
    """Store what a meeting agreed: ``actions`` (text, practice id or None) replace the agreed
    actions of (team, period); pulse answers are added (``energy`` and ``ideas`` pair up: answer
    i of each is one person's). Returns (actions stored, pulse answers added)."""
    _check_score("energy", energy)
    _check_score("ideas", ideas)
    if len(energy) != len(ideas):
        raise BriefError(
            f"{len(energy)} --energy and {len(ideas)} --ideas answers: give one of each per person"
        )
    when = _now()
    with ws.transaction() as con:
        _ensure(con)
        if actions:
            con.execute(
                "DELETE FROM brief_actions WHERE team_id = ? AND period = ? AND source = 'agreed'",
                [team_id, period],
            )
            for i, (text, practice) in enumerate(actions):
                con.execute(
                    "INSERT INTO brief_actions VALUES (?, ?, ?, ?, ?, 'agreed', ?)",
                    [team_id, period, i, text, practice, when],
                )
        for e, d in zip(energy, ideas, strict=True):
            con.execute(
                "INSERT INTO brief_pulse VALUES (?, ?, ?, ?, ?)", [team_id, period, e, d, when]
            )
    return len(actions), len(energy)


def actions_of(ws: Workspace, team_id: str, period: str) -> list[Action]:
    """The agreed actions of (team, period), else the actions its brief suggested."""
    if not ws.has_table("brief_actions"):
        return []
    df = ws.read(
        "brief_actions",
        where="team_id = ? AND period = ? ORDER BY source, position",
        params=[team_id, period],
    )
    agreed = df[df["source"] == "agreed"]
    chosen = agreed if len(agreed) else df[df["source"] == "suggested"]
    return [
        Action(
            text=str(r["text"]),
            practice_id=str(r["practice_id"]) if pd.notna(r["practice_id"]) else None,
            source=str(r["source"]),  # type: ignore[arg-type]
        )
        for _, r in chosen.iterrows()
    ]


def pulse_of(ws: Workspace, team_id: str, upto: Period) -> list[Pulse]:
    """The team's pulse per meeting of the same kind as ``upto`` (weekly, monthly or quarterly
    meetings), up to and including it, oldest first."""
    if not ws.has_table("brief_pulse"):
        return []
    df = ws.read("brief_pulse", where="team_id = ?", params=[team_id])
    out = []
    for label, x in df.groupby("period", sort=False):
        p = parse(str(label))
        if p.kind != upto.kind or p.end > upto.end:
            continue
        out.append(
            (
                p.end,
                Pulse(
                    period=p.label,
                    energy=float(x["energy"].mean()),
                    ideas=float(x["ideas"].mean()),
                    responses=int(len(x)),
                ),
            )
        )
    return [pulse for _, pulse in sorted(out, key=lambda t: t[0])]


def stored(ws: Workspace, team_id: str, period: str) -> dict | None:
    """A stored brief's content, or None."""
    if not ws.has_table("briefs"):
        return None
    df = ws.read("briefs", where="team_id = ? AND period = ?", params=[team_id, period])
    return json.loads(df["content"].iloc[0]) if len(df) else None
