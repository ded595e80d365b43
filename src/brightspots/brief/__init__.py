"""The "best of what happened" brief: a team meeting that starts with what went well.

``build`` fills a typed ``Brief`` (``model``) for a team and a period (``period``) from the
latest analysis run and the data; ``render`` writes it as HTML, Markdown or PDF; ``store`` keeps
briefs, the actions meetings agree and their pulse in the workspace.
"""

from __future__ import annotations

from pathlib import Path

from brightspots.brief.build import build
from brightspots.brief.model import Brief
from brightspots.brief.period import Period, PeriodError, parse
from brightspots.brief.source import BriefError
from brightspots.workspace import Workspace

__all__ = [
    "Brief",
    "BriefError",
    "Period",
    "PeriodError",
    "build",
    "last_full_period",
    "make_brief",
    "parse",
]


def last_full_period(ws: Workspace, kind: str = "month") -> Period:
    """The latest week, month or quarter whose every day is in the data (by the data's as-of
    time in the workspace zone)."""
    from datetime import timedelta

    from brightspots import timezones
    from brightspots.brief import source
    from brightspots.brief.period import containing

    stamp = source.as_of(ws)
    if stamp is None:
        raise BriefError("the workspace has no activities or buyer events yet: import data first")
    local = timezones.local_day(stamp, ws.timezone)
    here = containing(local, kind)  # type: ignore[arg-type]
    return here if here.end == local else containing(here.start - timedelta(days=1), kind)  # type: ignore[arg-type]


def make_brief(
    ws: Workspace, team: str, period: str, *, out: Path, fmt: str = "html", paper: str = "A4"
) -> tuple[Brief, Path]:
    """Build the brief, write it to ``out`` (atomically) and keep it in the workspace."""
    from brightspots.brief import render, store

    render.check_format(fmt, paper)
    brief = build(ws, team, period)
    path = render.write_brief(brief, Path(out), fmt, paper=paper)
    store.save(ws, brief)
    return brief, path
