"""The report's input as a typed contract: one run's result tables and diagnostics, checked, and
the history of its named units across earlier runs.

``ReportContext`` is what the template layer consumes; constructing one validates it, so a
missing column or an unreadable value fails here with the table, row and column named, never as
a broken page. ``build_context`` fills it from a workspace's stored run and its earlier runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pandas as pd

from brightspots.report import accounts, practice_data, quarters
from brightspots.report import care as report_care
from brightspots.report import experiments as report_experiments
from brightspots.report import stories as report_stories
from brightspots.report.diagnostics import Diagnostics
from brightspots.report.history import (
    HISTORY_RUNS,
    Key,
    PastRun,
    UnitHistory,
    unit_histories,
)
from brightspots.report.tables import (
    HISTORY,
    HISTORY_DEVIANCE,
    LEVELS,
    OPTIONAL_TABLES,
    PRIMARY_OUTCOME,
    TABLES,
    ReportError,
    clean_frame,
)

if TYPE_CHECKING:
    from brightspots.workspace import Workspace


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    created_at: datetime
    engine: str
    fingerprint: str


@dataclass
class ReportContext:
    """Everything the report shows, for one run. Frames are checked and cleaned on construction:
    text columns hold str (empty for missing), counts hold int, ``sustained`` holds bool; rows of
    an older run read as rep-level, win-rate rows. ``past_runs`` are the earlier runs (oldest
    first) the history is computed from; ``history`` is derived from them. The tables of effort,
    buyer impact, practices and peers' resources (``practice_data.SPECS``) are None for a run
    without them; ``impact_window`` and ``dark_after`` are the run's ``[metrics]`` settings."""

    workspace_name: str
    currency: str
    run: RunInfo
    diagnostics: Diagnostics
    bright_spots: pd.DataFrame
    funnel_curve: pd.DataFrame
    raw_leaderboard: pd.DataFrame
    calibration: pd.DataFrame
    deviance: pd.DataFrame | None = None
    past_runs: Sequence[PastRun] = ()
    # effort, buyer impact and practices (``practice_data.SPECS``): None when the run has none
    effort_impact: pd.DataFrame | None = None
    practice_effects: pd.DataFrame | None = None
    practice_segment_effects: pd.DataFrame | None = None
    practice_reps: pd.DataFrame | None = None
    rep_resources: pd.DataFrame | None = None
    # the key-account view (``accounts.read``): None when the run has none
    account_tiers: pd.DataFrame | None = None
    account_flags: pd.DataFrame | None = None
    effort_allocation: pd.DataFrame | None = None
    plan_notes: dict | None = None
    # the shared customer stories and the practices they illustrate (``stories.read``): None
    # when no story is shared
    stories: pd.DataFrame | None = None
    story_links: pd.DataFrame | None = None
    # care (``care.read``): the run's care tables, each None when it stored no row, and its
    # ``diagnostics["care"]``
    care_index: pd.DataFrame | None = None
    care_trend: pd.DataFrame | None = None
    care_reliability: pd.DataFrame | None = None
    care_results: pd.DataFrame | None = None
    care_notes: dict | None = None
    # practice experiments (``experiments.read``): None when the run stored none; and the
    # run's ``[experiments]`` settings
    experiment_status: pd.DataFrame | None = None
    experiment_effects: pd.DataFrame | None = None
    experiment_settings: dict | None = None
    impact_window: timedelta = practice_data.IMPACT_WINDOW
    dark_after: timedelta = practice_data.DARK_AFTER
    history: dict[Key, UnitHistory] = field(init=False)

    def __post_init__(self) -> None:
        where = f"run {self.run.run_id}"
        self.bright_spots = clean_frame(self.bright_spots, "bright_spots", where)
        self.funnel_curve = clean_frame(self.funnel_curve, "funnel_curve", where)
        self.raw_leaderboard = clean_frame(self.raw_leaderboard, "raw_leaderboard", where)
        self.calibration = clean_frame(self.calibration, "calibration", where)
        if self.deviance is not None:
            self.deviance = clean_frame(self.deviance, "deviance", where)
        for name in practice_data.SPECS:
            setattr(self, name, practice_data.clean(getattr(self, name), name, where))
        self.stories, self.story_links = report_stories.clean(self.stories, self.story_links, where)
        for name in report_care.TABLES:
            setattr(self, name, report_care.clean(getattr(self, name), name, where))
        for name in report_experiments.TABLES:
            setattr(self, name, report_experiments.clean(getattr(self, name), name, where))
        _check_quarters(self.bright_spots, where)
        _check_consistency(self, where)
        self.history = unit_histories(self.bright_spots, self.deviance, self.past_runs)

    def units(self, level: str) -> pd.DataFrame:
        """The ``bright_spots`` rows of one level (statistics of the win rate)."""
        return self.bright_spots[self.bright_spots["level"] == level].reset_index(drop=True)

    def outcome_units(self, level: str, outcome: str) -> pd.DataFrame | None:
        """One level's units with the statistics of one outcome, or None when the run has none.

        ``label`` and ``outcome`` stay those of the unit's combined label (over all outcomes);
        ``outcome_label`` is the label this outcome alone would give."""
        units = self.units(level)
        if outcome == PRIMARY_OUTCOME:
            return units.assign(outcome_label=units["label"]) if len(units) else None
        if self.deviance is None:
            return None
        d = self.deviance
        d = d[(d["level"] == level) & (d["outcome"] == outcome)]
        if d.empty:
            return None
        base = units[["unit_id", "name", "team_id", "label", "outcome"]]
        stats = d.drop(columns=["name", "outcome", "level"], errors="ignore").rename(
            columns={"n": "closed", "label": "outcome_label"}
        )
        return stats.merge(base, on="unit_id", how="inner").reset_index(drop=True)

    def outcomes(self, level: str) -> list[str]:
        """The outcomes assessed at a level, the primary first."""
        summary = self.diagnostics.level(level)
        found = list(summary.outcomes) if summary else [PRIMARY_OUTCOME]
        return [PRIMARY_OUTCOME] + [o for o in found if o != PRIMARY_OUTCOME]


def _check_quarters(bs: pd.DataFrame, where: str) -> None:
    for i, text in enumerate(bs["quarters_oe"]):
        try:
            quarters.parse(text)
        except ValueError as e:
            unit = f"{bs.at[i, 'level']} {bs.at[i, 'unit_id']!r}"
            raise ReportError(
                f"bright_spots ({where}): row {i + 1} ({unit}), column 'quarters_oe': {text!r} "
                f"is not a list like '2026-Q1 1.86; 2026-Q2 2.25' ({e})"
            ) from None


def _check_consistency(ctx: ReportContext, where: str) -> None:
    d = ctx.diagnostics
    bs = ctx.bright_spots
    reps = bs[bs["level"] == "rep"]
    counts = {
        "n_bright_spots": (d.summary.n_bright_spots, int((reps["label"] == "bright_spot").sum())),
        "n_candidates": (d.summary.n_candidates, int((reps["label"] == "candidate").sum())),
        "n_units": (d.summary.n_units, len(reps)),
    }
    for key, (said, found) in counts.items():
        if said != found:
            raise ReportError(
                f"{where}: diagnostics say {key} = {said} but the bright_spots table has {found} "
                "at the rep level"
            )
    for level in LEVELS:
        summary = d.level(level)
        rows = bs[bs["level"] == level]
        if summary is None:
            if len(rows):
                raise ReportError(
                    f"{where}: the bright_spots table has {level} rows but the diagnostics have "
                    f"no {level} level"
                )
            continue
        if level == "rep":
            continue
        labels = rows["label"]
        checks = {
            "n_bright_spots": (summary.n_bright_spots, int((labels == "bright_spot").sum())),
            "n_candidates": (summary.n_candidates, int((labels == "candidate").sum())),
        }
        for key, (said, found) in checks.items():
            if said != found:
                raise ReportError(
                    f"{where}: diagnostics say levels.{level}.{key} = {said} but the "
                    f"bright_spots table has {found}"
                )


def _run_tables(ws: Workspace, run_id: str, root: object) -> dict[str, pd.DataFrame | None]:
    frames: dict[str, pd.DataFrame | None] = {}
    for name in TABLES:
        if not ws.has_table(name):
            raise ReportError(f"run {run_id} in {root} stored no {name!r} table")
        frames[name] = ws.run_results(name, run_id)
    for name in OPTIONAL_TABLES:
        frame = ws.run_results(name, run_id) if ws.has_table(name) else None
        frames[name] = frame if frame is not None and len(frame) else None
    return frames


def _past_run(ws: Workspace, run_id: str, created_at: datetime) -> PastRun | None:
    where = f"run {run_id}"
    table = ws.run_results("bright_spots", run_id)
    if table.empty:
        return None
    units = clean_frame(table, "bright_spots", where, HISTORY)
    deviance = None
    if ws.has_table("deviance"):
        dev = ws.run_results("deviance", run_id)
        if len(dev):
            deviance = clean_frame(dev, "deviance", where, HISTORY_DEVIANCE)
    return PastRun(run_id, created_at, units, deviance)


def build_context(ws: Workspace, run_id: str | None = None) -> ReportContext:
    """The report context of one stored run of workspace ``ws`` (the latest run by default),
    with the history of its named units over the earlier runs of the same workspace."""
    runs = ws.runs()
    if not runs:
        ws.latest_run()  # raises the "no run yet" error
    if run_id is None:
        index = len(runs) - 1
    else:
        ids = [r.run_id for r in runs]
        if run_id not in ids:
            known = ", ".join(ids[-5:]) or "none yet"
            raise ReportError(f"no run {run_id!r} in {ws.root} (latest runs: {known})")
        index = ids.index(run_id)
    run = runs[index]
    frames = _run_tables(ws, run.run_id, ws.root)
    earlier = [
        _past_run(ws, r.run_id, r.created_at) for r in runs[max(0, index - HISTORY_RUNS) : index]
    ]
    past = [p for p in earlier if p is not None]
    metrics_cfg = (run.config or {}).get("metrics") or ws.config.get("metrics", {})
    diagnostics = Diagnostics.from_dict(run.diagnostics, source=f"run {run.run_id} diagnostics")
    return ReportContext(
        workspace_name=ws.root.resolve().name,
        currency=str(ws.config["workspace"]["currency"]),
        run=RunInfo(
            run_id=run.run_id,
            created_at=run.created_at,
            engine=run.engine,
            fingerprint=run.fingerprint,
        ),
        diagnostics=diagnostics,
        past_runs=past,
        **frames,
        **practice_data.read(ws, run.run_id),
        **accounts.read(ws, run.run_id),
        plan_notes=run.diagnostics.get("plan"),
        **report_stories.read(ws, diagnostics.window_start),
        **report_care.read(ws, run.run_id, run.diagnostics.get("care")),
        **practice_data.durations(metrics_cfg),
        **report_experiments.read(ws, run.run_id),
        experiment_settings=(run.config or {}).get("experiments")
        or ws.config.get("experiments")
        or None,
    )
