"""A scorecard as CSV (``SCORECARD_COLUMNS``, one row per team and rep) or as one
self-contained HTML page (no script, no web font, nothing fetched: it opens offline)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from brightspots.files import write_atomic
from brightspots.report import fmt
from brightspots.scorecard import Scorecard, ScorecardError
from brightspots.scorecard.settings import WORDS
from brightspots.templating import environment

FORMATS = ("html", "csv")
#: how each component's value is written: an O/E ratio, an index of 100, a share
KINDS = {
    "results": "ratio",
    "impact": "ratio",
    "care_customer": "index",
    "care_employee": "index",
    "practices": "share",
}
STATUS_WORDS = {
    "met": "target met",
    "below": "below target",
    "clearly_below": "clearly below target",
    "no_data": "no data",
    "suppressed": "not shown",
}


def figure(component: str, x: Any) -> str:
    """1.1234 -> '1.12' (O/E); 0.781 -> '78' (care, of 100); 0.6 -> '60%' (practices)."""
    kind = KINDS[component]
    if fmt.is_missing(x):
        return fmt.MISSING
    if kind == "index":
        return f"{100 * float(x):.0f}"
    if kind == "share":
        return fmt.percent(x)
    return fmt.ratio(x)


def _position(x: Any, top: float) -> float | None:
    """Where ``x`` falls on a bar running from 0 to ``top``, in percent (clipped)."""
    if fmt.is_missing(x) or not math.isfinite(float(x)):
        return None
    return round(100 * min(max(float(x) / top, 0.0), 1.0), 1)


def _cell(row: Any, c: str, target: float, cap: float) -> dict[str, Any]:
    status = str(row[f"{c}_status"])
    top = target * cap
    lower, upper = row[f"{c}_lower"], row[f"{c}_upper"]
    interval = (
        f"{figure(c, lower)} to {figure(c, upper)}"
        if not (fmt.is_missing(lower) or fmt.is_missing(upper))
        else ""
    )
    return {
        "status": status,
        "words": STATUS_WORDS.get(status, status),
        "value": figure(c, row[c]) if status not in ("no_data", "suppressed") else "",
        "interval": interval,
        "bar": _position(row[c], top),
        "lower": _position(lower, top),
        "upper": _position(upper, top),
        "weight": fmt.percent(row[f"{c}_weight"]) if float(row[f"{c}_weight"]) > 0 else "",
    }


def html(card: Scorecard) -> str:
    s = card.settings
    shown = list(s.components)
    columns = [
        {
            "name": c,
            "words": WORDS[c][:1].upper() + WORDS[c][1:],
            "target": figure(c, s.targets[c]),
            "weight": fmt.percent(s.weights[c] / sum(s.weights[x] for x in shown)),
            "unit": {"ratio": "observed / expected", "index": "of 100", "share": "of practices"}[
                KINDS[c]
            ],
        }
        for c in shown
    ]
    rows = [
        {
            "level": r["level"],
            "name": r["name"],
            "unit_id": r["unit_id"],
            "team_id": r["team_id"] if not fmt.is_missing(r["team_id"]) else "",
            "cells": [_cell(r, c, s.targets[c], s.cap) for c in shown],
            "score": fmt.percent(r["score"]),
            "note": r["note"],
        }
        for _, r in card.frame.iterrows()
    ]
    d = card.run.diagnostics
    care = d.get("care") or {}
    v = {
        "title": card.team_name,
        "team_id": card.team_id,
        "n_reps": card.n_reps,
        "run_id": card.run.run_id,
        "created": fmt.moment(card.run.created_at),
        "window": d.get("window_words") or "the run's window",
        "care_window": care.get("window_words") or "",
        "k": card.min_respondents,
        "cap": fmt.percent(s.cap),
        "tick": round(100 / s.cap, 1),
        "columns": columns,
        "teams": [r for r in rows if r["level"] == "team"],
        "reps": [r for r in rows if r["level"] == "rep"],
    }
    return environment("brightspots.scorecard").get_template("scorecard.html.j2").render(v=v)


def write(card: Scorecard, out: Path, fmt_name: str) -> Path:
    """Write the scorecard to ``out`` as html or csv; returns the path."""
    if fmt_name not in FORMATS:
        raise ScorecardError(f"--format {fmt_name!r}: use {' or '.join(FORMATS)}")
    if fmt_name == "csv":
        text = card.frame.to_csv(index=False)
    else:
        text = html(card)
    write_atomic(Path(out), text.encode())
    return Path(out)
