"""The balanced scorecard: per rep and team, each component against its target in ``[scorecard]``
(the organisation's performance-plan objectives), and a weighted score.

Components (``settings.COMPONENTS``), each read from the run's stored tables:

* ``results``: win-rate observed/expected (``bright_spots``), 95% interval oe ± 1.96 s floored
  at 0; no data below the run's ``min_volume`` closed deals;
* ``impact``: buyer-impact observed/expected (``deviance``), the same interval; no data below the
  run's ``min_touches`` settled touches;
* ``care_customer``, ``care_employee``: the care index of 0 to 1 (``care_index``) with its 95%
  interval. A suppressed cell (fewer than ``[care] min_respondents`` respondents, or hidden so
  that another cannot be worked out) is never shown: its value is blank whatever the table
  holds, and it is left out of the score;
* ``practices``: the share of the run's practices with evidence (``brief.worked.with_evidence``)
  the rep does (``practice_reps.does``); a team's is the mean over its reps.

Status: ``met`` (value >= target), ``clearly_below`` (the interval's upper end < target),
``below``, ``no_data``, ``suppressed``, or ``off`` (not in ``[scorecard] components``).
Attainment = min(value / target, cap); score = sum of weight x attainment over the components
with a value, the weights divided by their sum over those components (``c_weight`` holds the
weight each component had in that row's score, 0 when it had none). The weights depend only on
which components have a value, never on a value, so a left-out component cannot be backed out
of the score.

The targets, weights and cap are read from the *current* config, so a new target needs no new
analysis. Rows are sorted by level (teams, then reps) and name; a scorecard is never a ranking.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from brightspots.deviance.constants import Z95
from brightspots.errors import BrightspotsError
from brightspots.scorecard.settings import (
    CARE_SOURCES,
    COMPONENTS,
    LABELS,
    WORDS,
    ScorecardConfigError,
    ScorecardSettings,
)

if TYPE_CHECKING:
    from brightspots.workspace import Run, Workspace

__all__ = [
    "COMPONENTS",
    "SCORECARD_COLUMNS",
    "STATUSES",
    "Inputs",
    "Scorecard",
    "ScorecardConfigError",
    "ScorecardError",
    "ScorecardSettings",
    "attainment",
    "build",
    "make_scorecard",
    "scorecard_frame",
    "summary",
]

#: the columns of every component, after its name (the value)
PARTS = ("", "_lower", "_upper", "_target", "_weight", "_status")
#: the scorecard's columns, in order (later work only appends)
SCORECARD_COLUMNS = (
    "level",
    "unit_id",
    "name",
    "team_id",
    *(f"{c}{p}" for c in COMPONENTS for p in PARTS),
    "score",
    "components_used",
    "note",
)
STATUSES = ("met", "below", "clearly_below", "no_data", "suppressed", "off")
LEVEL_ORDER = {"team": 0, "rep": 1}


class ScorecardError(BrightspotsError):
    """A scorecard cannot be made as asked (unknown run, ...)."""


@dataclass(frozen=True)
class Inputs:
    """What a scorecard reads, as frames (pure: ``build`` does no I/O).

    ``reps`` (rep_id, name, team_id) and ``teams`` (team_id, name) are the rows; ``first_team``
    (a team id or None) comes first. ``results``: ``bright_spots`` rows (level, unit_id, closed,
    oe, s); ``impact``: ``deviance`` rows of buyer impact (level, unit_id, n, oe, s); ``care``:
    ``care_index`` rows (level, unit_id, source, suppressed, mean, lower_95, upper_95);
    ``practice_reps`` (rep_id, practice, does) and ``evidenced``, the practices with evidence.
    """

    reps: pd.DataFrame
    teams: pd.DataFrame
    results: pd.DataFrame
    impact: pd.DataFrame
    care: pd.DataFrame
    practice_reps: pd.DataFrame
    evidenced: tuple[str, ...]
    min_volume: int
    min_touches: int
    min_respondents: int
    first_team: str | None = None


@dataclass(frozen=True)
class Part:
    """One component over the scorecard's units: value and interval (NaN without), whether it
    is suppressed, and a note per unit ("" when there is nothing to say)."""

    value: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    suppressed: np.ndarray
    note: np.ndarray


def attainment(value: Any, target: float, cap: float) -> Any:
    """min(value / target, cap): 1 is on target; NaN stays NaN."""
    return np.minimum(np.asarray(value, dtype=float) / target, cap)


def units(inputs: Inputs) -> pd.DataFrame:
    """The rows: teams (the first team first, then by name), then reps by name."""
    teams = pd.DataFrame(
        {
            "level": "team",
            "unit_id": inputs.teams["team_id"].astype(str).to_numpy(object),
            "name": inputs.teams["name"].astype(object).to_numpy(object),
            "team_id": inputs.teams["team_id"].astype(str).to_numpy(object),
        }
    )
    reps = pd.DataFrame(
        {
            "level": "rep",
            "unit_id": inputs.reps["rep_id"].astype(str).to_numpy(object),
            "name": inputs.reps["name"].astype(object).to_numpy(object),
            "team_id": inputs.reps["team_id"].astype(object).to_numpy(object),
        }
    )
    frame = pd.concat([teams, reps], ignore_index=True)
    frame["name"] = frame["name"].where(frame["name"].notna(), frame["unit_id"])
    frame["team_id"] = frame["team_id"].where(frame["team_id"].notna(), None)
    first = (frame["level"] == "team") & (frame["unit_id"] == inputs.first_team)
    keys = frame.assign(
        _level=frame["level"].map(LEVEL_ORDER),
        _first=~first,
        _name=frame["name"].astype(str).str.casefold(),
    )
    keys = keys.sort_values(["_level", "_first", "_name", "unit_id"], kind="mergesort")
    return keys[["level", "unit_id", "name", "team_id"]].reset_index(drop=True)


def _lookup(rows: pd.DataFrame, table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``table``'s ``columns`` for each (level, unit_id) of ``rows`` (NaN where it has none)."""
    if table.empty:
        return pd.DataFrame(np.nan, index=rows.index, columns=columns)
    t = table.drop_duplicates(["level", "unit_id"]).set_index(["level", "unit_id"])[columns]
    got = t.reindex(pd.MultiIndex.from_frame(rows[["level", "unit_id"]]))
    return got.reset_index(drop=True).set_axis(rows.index)


def _ratio(
    rows: pd.DataFrame, table: pd.DataFrame, volume: str, least: int, words: tuple[str, str]
) -> Part:
    """An observed/expected component: oe ± 1.96 s (floored at 0) where the volume suffices."""
    what, unit = words
    got = _lookup(rows, table, [volume, "oe", "s"])
    n = pd.to_numeric(got[volume], errors="coerce").to_numpy(float)
    oe = pd.to_numeric(got["oe"], errors="coerce").to_numpy(float)
    s = pd.to_numeric(got["s"], errors="coerce").to_numpy(float)
    enough = np.isfinite(oe) & (np.nan_to_num(n) >= least)
    value = np.where(enough, oe, np.nan)
    half = Z95 * np.where(np.isfinite(s), s, np.nan)
    note = np.array(
        [
            ""
            if ok
            else f"{what}: no {unit} in the run."
            if not np.isfinite(k) or k == 0
            else f"{what}: {k:,.0f} {unit}, fewer than the {least:,} it needs."
            for ok, k in zip(enough, n, strict=True)
        ],
        dtype=object,
    )
    return Part(
        value=value,
        lower=np.where(enough, np.maximum(value - half, 0.0), np.nan),
        upper=np.where(enough, value + half, np.nan),
        suppressed=np.zeros(len(rows), dtype=bool),
        note=note,
    )


def _care(rows: pd.DataFrame, care: pd.DataFrame, source: str) -> Part:
    """A care component: the care index where it is shown. A suppressed cell gives no value
    whatever the table holds."""
    of = care[care["source"] == source] if not care.empty else care
    got = _lookup(rows, of, ["suppressed", "mean", "lower_95", "upper_95"])
    hidden = got["suppressed"].astype(object).fillna(False).astype(bool).to_numpy()
    mean = pd.to_numeric(got["mean"], errors="coerce").to_numpy(float)
    shown = ~hidden & np.isfinite(mean)
    words = WORDS[f"care_{source}"]
    label = words[:1].upper() + words[1:]
    note = np.where(
        hidden,
        f"{label}: not shown, to keep the respondents anonymous.",
        np.where(shown, "", f"{label}: no answers in the care window."),
    ).astype(object)

    def figure(column: str) -> np.ndarray:
        return np.where(shown, pd.to_numeric(got[column], errors="coerce").to_numpy(float), np.nan)

    return Part(
        value=figure("mean"),
        lower=figure("lower_95"),
        upper=figure("upper_95"),
        suppressed=hidden,
        note=note,
    )


def _practices(rows: pd.DataFrame, inputs: Inputs) -> Part:
    """The share of evidenced practices each rep does; a team's is the mean over its reps."""
    n = len(rows)
    pr = inputs.practice_reps
    blank = np.full(n, np.nan)
    if not inputs.evidenced or pr.empty:
        why = (
            "Practices: no practice has evidence in this run."
            if not inputs.evidenced
            else "Practices: not measured in this run."
        )
        return Part(blank, blank, blank, np.zeros(n, dtype=bool), np.full(n, why, dtype=object))
    kept = pr[pr["practice"].isin(inputs.evidenced) & pr["does"].notna()]
    share = kept.assign(does=kept["does"].astype(bool).astype(float)).groupby("rep_id")["does"]
    per_rep = share.mean()
    team_of = dict(
        zip(inputs.reps["rep_id"].astype(str), inputs.reps["team_id"].astype(object), strict=True)
    )
    per_team = per_rep.groupby(per_rep.index.map(lambda r: team_of.get(str(r)))).mean()
    value = np.array(
        [
            per_rep.get(u, np.nan) if level == "rep" else per_team.get(u, np.nan)
            for level, u in zip(rows["level"], rows["unit_id"], strict=True)
        ],
        dtype=float,
    )
    note = np.where(
        np.isfinite(value), "", "Practices: no measured deals of the practices with evidence."
    ).astype(object)
    return Part(value, blank, blank, np.zeros(n, dtype=bool), note)


def parts(rows: pd.DataFrame, inputs: Inputs) -> dict[str, Part]:
    """Every component over ``rows``."""
    return {
        "results": _ratio(
            rows, inputs.results, "closed", inputs.min_volume, ("Results", "closed deals")
        ),
        "impact": _ratio(
            rows, inputs.impact, "n", inputs.min_touches, ("Buyer impact", "settled touches")
        ),
        **{c: _care(rows, inputs.care, s) for c, s in CARE_SOURCES.items()},
        "practices": _practices(rows, inputs),
    }


def build(inputs: Inputs, settings: ScorecardSettings) -> pd.DataFrame:
    """The scorecard of ``inputs`` under ``settings``: ``SCORECARD_COLUMNS``, one row per team
    and rep, teams first, each level by name."""
    rows = units(inputs)
    got = parts(rows, inputs)
    out: dict[str, Any] = {c: rows[c].to_numpy(object) for c in ("level", "unit_id", "name")}
    out["team_id"] = rows["team_id"].to_numpy(object)
    n = len(rows)
    weighted = np.zeros(n)
    weights: dict[str, np.ndarray] = {}
    notes = [[] for _ in range(n)]
    for c in COMPONENTS:
        p = got[c]
        on = c in settings.components
        target = float(settings.targets[c])
        value = p.value if on else np.full(n, np.nan)
        has = np.isfinite(value)
        status = np.select(
            [
                ~np.full(n, on),
                p.suppressed,
                ~has,
                value >= target,
                np.nan_to_num(p.upper, nan=np.inf) < target,
            ],
            ["off", "suppressed", "no_data", "met", "clearly_below"],
            default="below",
        )
        w = np.where(has, float(settings.weights[c]), 0.0)
        weights[c] = w
        weighted += np.where(has, w * np.nan_to_num(attainment(value, target, settings.cap)), 0.0)
        out[c] = value
        out[f"{c}_lower"] = np.where(on, p.lower, np.nan)
        out[f"{c}_upper"] = np.where(on, p.upper, np.nan)
        out[f"{c}_target"] = np.full(n, target if on else np.nan)
        out[f"{c}_status"] = status.astype(object)
        if on:
            for i, text in enumerate(p.note):
                if text:
                    notes[i].append(text)
    total = sum(weights.values())
    for c in COMPONENTS:
        out[f"{c}_weight"] = np.where(total > 0, weights[c] / np.where(total > 0, total, 1), 0.0)
    out["score"] = np.where(total > 0, weighted / np.where(total > 0, total, 1), np.nan)
    out["components_used"] = np.array(
        [";".join(c for c in COMPONENTS if weights[c][i] > 0) for i in range(n)], dtype=object
    )
    out["note"] = np.array([" ".join(x) for x in notes], dtype=object)
    return pd.DataFrame(out)[list(SCORECARD_COLUMNS)]


# ----------------------------------------------------------------------------- from a workspace


@dataclass(frozen=True)
class Scorecard:
    """A scorecard made from a workspace: the frame and what the HTML and the CLI say of it."""

    frame: pd.DataFrame
    team_id: str  # "all" for the whole company
    team_name: str
    n_reps: int
    run: Run
    settings: ScorecardSettings
    min_respondents: int


def _run_table(ws: Workspace, name: str, run_id: str, where: str = "") -> pd.DataFrame:
    """A run's table, or an empty frame when no run stored it."""
    if not ws.has_table(name):
        return pd.DataFrame()
    return ws.run_rows(name, run_id, where=where).reset_index(drop=True)


def _setting(diagnostics: Mapping[str, Any], key: str, default: Any) -> Any:
    value = diagnostics.get(key)
    return default if value is None else value


def make_scorecard(
    ws: Workspace, run_id: str | None = None, *, team: str | None = None
) -> Scorecard:
    """The scorecard of ``team`` (an id, a name or "all"; sub-teams included; None: every rep
    and team) from a run (the latest by default), under the current ``[scorecard]`` config."""
    from brightspots.brief.source import scope
    from brightspots.brief.worked import with_evidence

    settings = ScorecardSettings.from_config(ws.config)
    run = ws.find_run(run_id)
    if run is None:
        raise ScorecardError(
            f"no run {run_id!r} in {ws.root}; `brightspots runs --workspace {ws.root}` lists them"
        )
    sc = scope(ws, "all" if team is None else team)
    reps = sc.reps[sc.reps["rep_id"].isin(sc.rep_ids)]
    staffed = set(reps["team_id"].dropna().astype(str))
    team_ids = [t for t in sc.team_ids() if t in staffed]
    teams = pd.DataFrame({"team_id": team_ids, "name": [sc.teams[t] for t in team_ids]})
    levels = "level IN ('rep', 'team')"
    effects = _run_table(ws, "practice_effects", run.run_id)
    cfg = ws.config
    care_notes = run.diagnostics.get("care") or {}
    inputs = Inputs(
        reps=reps[["rep_id", "name", "team_id"]],
        teams=teams,
        results=_run_table(ws, "bright_spots", run.run_id, levels),
        impact=_run_table(ws, "deviance", run.run_id, f"{levels} AND outcome = 'buyer_impact'"),
        care=_run_table(ws, "care_index", run.run_id, levels),
        practice_reps=_run_table(ws, "practice_reps", run.run_id),
        evidenced=tuple(with_evidence(effects if len(effects) else None)["practice"]),
        min_volume=int(_setting(run.diagnostics, "min_volume", cfg["analysis"]["min_volume"])),
        min_touches=int(_setting(run.diagnostics, "min_touches", cfg["analysis"]["min_touches"])),
        min_respondents=int(
            _setting(care_notes, "min_respondents", cfg["care"]["min_respondents"])
        ),
        first_team=None if sc.company else sc.team_id,
    )
    return Scorecard(
        frame=build(inputs, settings),
        team_id=sc.team_id,
        team_name=sc.name,
        n_reps=len(reps),
        run=run,
        settings=settings,
        min_respondents=inputs.min_respondents,
    )


def scorecard_frame(
    ws: Workspace, run_id: str | None = None, *, team: str | None = None
) -> pd.DataFrame:
    """The scorecard as a table (``SCORECARD_COLUMNS``): every rep and team, or ``team``'s."""
    return make_scorecard(ws, run_id, team=team).frame


def summary(card: Scorecard) -> str:
    """'Scorecard of North (12 reps): target met on results by 7, customer care by 5 (3 not
    shown, to keep respondents anonymous), ...', counted over the rep rows."""
    reps = card.frame[card.frame["level"] == "rep"]
    parts = []
    for c in card.settings.components:
        status = reps[f"{c}_status"]
        said = f"{LABELS[c]} by {int((status == 'met').sum()):,}"
        hidden = int((status == "suppressed").sum())
        if hidden:
            said += f" ({hidden:,} not shown, to keep respondents anonymous)"
        parts.append(said)
    n = card.n_reps
    head = f"Scorecard of {card.team_name} ({n:,} rep{'s' if n != 1 else ''})"
    return f"{head}: target met on {', '.join(parts)}." if parts else f"{head}."
