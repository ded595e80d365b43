"""What the web app reads, pinned to one committed generation of the workspace.

Every request reads one generation (``Snapshots.open``): a page never mixes two imports or two
runs. What does not change within a generation (the org, the latest run, its rep and team rows,
a rep's personal view) is computed once per process and generation and kept in a small cache,
so a busy server does the statistics once per commit, not once per page.

A process keeps one read-only DuckDB connection open on the current generation: while it is
open, every request's own connection to that file reuses the same database instance (cheap,
and its buffer cache stays warm). When ``CURRENT`` moves on, the next request opens the new
generation and the old anchor is closed; requests still reading the old one finish on it.

A practice experiment's result (``experiment_figures``) is the latest run's stored row when
that run computed this very definition (its ``definition_digest``), else it is computed on the
generation's data; either is kept per generation and definition, so a wave or a stop made in
the app shows at the next request, and the statistics run once. Lists (the experiments page,
team pages, meters) read only the stored row (``stored_figures``): computing runs a few
queries and two bootstraps, so only an experiment's own page does it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from brightspots import generations
from brightspots.errors import BrightspotsError
from brightspots.web.access import Org
from brightspots.workspace import Run, Workspace, WorkspaceError

if TYPE_CHECKING:
    from brightspots.experiments.store import Experiment

CACHE_ITEMS = 512
#: why an experiment's live result failed, when the error is not one of ours (an engine's text
#: can name tables and queries: it goes to the log)
UNEXPLAINED = (
    "the server could not compute them now (its log says why); reload the page to try again"
)


@dataclass(frozen=True)
class Snapshot:
    """The org and the latest run of one generation, as every page needs them."""

    generation: str
    run: Run | None
    org: Org
    rep_names: dict[str, str]
    team_names: dict[str, str]
    currency: str
    timezone: str
    units: pd.DataFrame | None  # the latest run's bright_spots rows (rep, team and region)

    def rep_name(self, rep_id: str) -> str:
        return self.rep_names.get(rep_id, rep_id)

    def team_name(self, team_id: str) -> str:
        return self.team_names.get(team_id, team_id)

    def reps_in(self, teams: frozenset[str]) -> list[str]:
        """Reps of ``teams``, by name."""
        ids = [r for r, t in self.org.rep_team.items() if t in teams]
        return sorted(ids, key=lambda r: (self.rep_name(r).casefold(), r))


def load_snapshot(ws: Workspace) -> Snapshot:
    reps = ws.read("reps")
    teams = ws.read("teams")
    runs = ws.runs()
    run = runs[-1] if runs else None
    has = run is not None and ws.has_table("bright_spots")
    units = ws.run_results("bright_spots", run.run_id) if has and run else None
    cfg = ws.config["workspace"]
    return Snapshot(
        generation=ws.generation,
        run=run,
        org=Org.of(reps, teams),
        rep_names={str(r): str(n) for r, n in zip(reps["rep_id"], reps["name"], strict=True)},
        team_names={str(t): str(n) for t, n in zip(teams["team_id"], teams["name"], strict=True)},
        currency=str(cfg["currency"]),
        timezone=str(cfg["timezone"]),
        units=units,
    )


def _newer(a: str, b: str) -> bool:
    """Whether generation ``a`` came after ``b`` ("legacy" comes before every number)."""
    rank = {"legacy": -1}
    return rank.get(a, int(a) if a.isdigit() else -1) > rank.get(b, int(b) if b.isdigit() else -1)


class Snapshots:
    """Read access to a workspace for one server process (thread-safe)."""

    def __init__(self, root: str | Path, *, cache_items: int = CACHE_ITEMS) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()
        self._anchor: tuple[str, duckdb.DuckDBPyConnection] | None = None
        self._cache: OrderedDict[tuple, Any] = OrderedDict()
        self._making: dict[tuple, threading.Event] = {}
        self._cache_items = cache_items

    @contextmanager
    def open(self) -> Iterator[Workspace]:
        """A read-only workspace on the committed generation, for one request."""
        ws = Workspace.open(self.root)
        try:
            ws.duckdb()
            self._keep(ws.generation)
            yield ws
        finally:
            ws.close()

    def _keep(self, generation: str) -> None:
        with self._lock:
            if self._anchor is not None and not _newer(generation, self._anchor[0]):
                return  # the same, or a request that started before the last commit
            old, self._anchor = self._anchor, None
            try:
                path = generations.path_of(self.root, generation)
                self._anchor = (generation, duckdb.connect(str(path), read_only=True))
            except duckdb.Error:
                self._anchor = None  # pruned meanwhile: the next request anchors the newer one
            if old is not None:
                old[1].close()
            # what was computed on older generations is never asked for again
            for key in [k for k in self._cache if k[0] != generation]:
                del self._cache[key]

    def cached(self, ws: Workspace, key: tuple, make: Callable[[], Any]) -> Any:
        """``make()`` once per generation and ``key``. Requests that ask for a value being made
        wait for it instead of making it again; an error is not cached (the next asker tries)."""
        full = (ws.generation, *key)
        while True:
            with self._lock:
                if full in self._cache:
                    self._cache.move_to_end(full)
                    return self._cache[full]
                running = self._making.get(full)
                if running is None:
                    running = self._making[full] = threading.Event()
                    break
            running.wait()
        try:
            value = make()
            with self._lock:
                self._cache[full] = value
                while len(self._cache) > self._cache_items:
                    self._cache.popitem(last=False)
            return value
        finally:
            with self._lock:
                del self._making[full]
            running.set()

    def snapshot(self, ws: Workspace) -> Snapshot:
        return self.cached(ws, ("snapshot",), lambda: load_snapshot(ws))

    def close(self) -> None:
        with self._lock:
            if self._anchor is not None:
                self._anchor[1].close()
                self._anchor = None
            self._cache.clear()


# ----------------------------------------------------------------------------- experiments


@dataclass(frozen=True)
class ExperimentFigures:
    """A practice experiment's result as the pages show it (``experiments.model``).

    ``figures`` is ``ExperimentResult.figures()`` (the definition used, lines, measures, the
    personal result); ``effects`` its rows of ``experiment_effects`` (``measure`` and
    ``EFFECT_FIELDS``). ``run_id`` is the run whose stored row this is, None when computed on
    the generation's data as the page asked (no stored row of this very definition in the
    latest run)."""

    experiment_id: str
    verdict: str
    headline: str
    warnings: tuple[str, ...]
    figures: dict[str, Any]
    effects: pd.DataFrame = field(default_factory=pd.DataFrame)
    data_as_of: datetime | None = None
    run_id: str | None = None

    @property
    def stored(self) -> bool:
        return self.run_id is not None

    @property
    def lines(self) -> tuple[str, ...]:
        return tuple(str(x) for x in self.figures.get("lines") or ())


def _stored_status(ws: Workspace, snap: Snapshot) -> pd.DataFrame:
    """The latest run's ``experiment_status`` rows (none when the run has none)."""
    from brightspots.experiments.config import STATUS_COLUMNS

    if snap.run is None or not ws.has_table("experiment_status"):
        return pd.DataFrame(columns=list(STATUS_COLUMNS))
    return ws.run_rows("experiment_status", snap.run.run_id)


def _when(x: Any) -> datetime | None:
    if x is None or (not isinstance(x, str) and pd.isna(x)):
        return None
    return pd.Timestamp(x).to_pydatetime()


def _from_row(ws: Workspace, snap: Snapshot, row: pd.Series) -> ExperimentFigures:
    import json

    assert snap.run is not None
    eid = str(row["experiment_id"])
    effects = (
        ws.run_rows("experiment_effects", snap.run.run_id, "experiment_id = ?", [eid])
        if ws.has_table("experiment_effects")
        else pd.DataFrame()
    )
    figures = json.loads(row["figures"]) if isinstance(row["figures"], str) else {}
    warnings = json.loads(row["warnings"]) if isinstance(row["warnings"], str) else []
    return ExperimentFigures(
        experiment_id=eid,
        verdict=str(row["verdict"]),
        headline=str(row["headline"]),
        warnings=tuple(str(w) for w in warnings),
        figures=figures,
        effects=effects.drop(columns=["experiment_id"], errors="ignore"),
        data_as_of=_when(row["data_as_of"]),
        run_id=snap.run.run_id,
    )


def _live(ws: Workspace, snap: Snapshot, experiment: Experiment) -> ExperimentFigures:
    """The result computed on the generation's data (reading the latest run for impact, deal
    mix and peers); one that cannot be computed says why, as the run's tables would."""
    import logging

    from brightspots.experiments import evaluate, store
    from brightspots.experiments.config import ExperimentSettings

    try:
        settings = ExperimentSettings.of(ws.config)
        plans = store.plans(ws, experiment.experiment_id)
        result = evaluate.result(ws, experiment, plans, settings=settings, run=snap.run)
    except Exception as e:  # noqa: BLE001 - a page says why, never fails on one experiment
        logging.getLogger(__name__).warning(
            "experiment %s failed: %s", experiment.experiment_id, e, exc_info=True
        )
        # our own errors are sentences for the user; an engine's text stays in the log
        why = str(e) if isinstance(e, BrightspotsError) else UNEXPLAINED
        result = evaluate.failed(experiment, why)
    rows = result.rows()
    effects = rows["experiment_effects"].drop(columns=["experiment_id"])
    return ExperimentFigures(
        experiment_id=experiment.experiment_id,
        verdict=result.verdict,
        headline=result.headline,
        warnings=tuple(result.warnings),
        figures=result.figures(),
        effects=effects,
        data_as_of=result.data_as_of,
        run_id=None,
    )


def stored_figures(
    snapshots: Snapshots, ws: Workspace, snap: Snapshot, experiment: Experiment
) -> ExperimentFigures | None:
    """The latest run's stored result of this very definition (``definition_digest``); None
    when that run has none (it ran before the experiment was made, extended or stopped): the
    lists show that without computing anything."""
    digest = experiment.digest()

    def make() -> ExperimentFigures | None:
        status = snapshots.cached(ws, ("experiment_status",), lambda: _stored_status(ws, snap))
        mine = status[
            (status["experiment_id"] == experiment.experiment_id)
            & (status["definition_digest"] == digest)
        ]
        return _from_row(ws, snap, mine.iloc[0]) if len(mine) else None

    return snapshots.cached(ws, ("experiment-stored", experiment.experiment_id, digest), make)


class _Failed(Exception):
    """A live result that failed: shown once, not kept (the next request tries again)."""

    def __init__(self, figures: ExperimentFigures) -> None:
        super().__init__(figures.headline)
        self.figures = figures


def experiment_figures(
    snapshots: Snapshots, ws: Workspace, snap: Snapshot, experiment: Experiment
) -> ExperimentFigures:
    """The experiment's result: the latest run's stored row when that run computed it on this
    very definition (``stored_figures``), else computed live (an experiment's own page only:
    it runs the statistics); kept per generation and definition, so creating, extending or
    stopping it shows at once. A live result that failed is not kept."""
    found = stored_figures(snapshots, ws, snap, experiment)
    if found is not None:
        return found

    def make() -> ExperimentFigures:
        figures = _live(ws, snap, experiment)
        if figures.verdict == "failed":
            raise _Failed(figures)
        return figures

    key = ("experiment-live", experiment.experiment_id, experiment.digest())
    try:
        return snapshots.cached(ws, key, make)
    except _Failed as e:
        return e.figures


__all__ = [
    "ExperimentFigures",
    "Snapshot",
    "Snapshots",
    "WorkspaceError",
    "experiment_figures",
    "load_snapshot",
    "stored_figures",
]
