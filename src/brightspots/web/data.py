"""What the web app reads, pinned to one committed generation of the workspace.

Every request reads one generation (``Snapshots.open``): a page never mixes two imports or two
runs. What does not change within a generation (the org, the latest run, its rep and team rows,
a rep's personal view) is computed once per process and generation and kept in a small cache,
so a busy server does the statistics once per commit, not once per page.

A process keeps one read-only DuckDB connection open on the current generation: while it is
open, every request's own connection to that file reuses the same database instance (cheap,
and its buffer cache stays warm). When ``CURRENT`` moves on, the next request opens the new
generation and the old anchor is closed; requests still reading the old one finish on it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from brightspots import generations
from brightspots.web.access import Org
from brightspots.workspace import Run, Workspace, WorkspaceError

CACHE_ITEMS = 512


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


__all__ = ["Snapshot", "Snapshots", "WorkspaceError", "load_snapshot"]
