"""Incremental refresh: an analysis recomputes the touch ledger and ``effort_impact`` only where
the data changed since the last run, with the look-back the metrics need.

``update`` is called by ``analyze`` (DuckDB engine, with practices). It keeps a refresh state in
the workspace (``refresh.state``): the last run's ledger and snapshots of the data. It finds the
changes against that state (``refresh.changes``), recomputes the ledger of the region they reach
(``refresh.ledger``), and the ``effort_impact`` keys that region touches (``refresh.effort``),
which the run stores as a layer over the previous run's (``workspace.Layer``). A full run is the
same pipeline with everything in the region: both give the same tables (tests compare them).

A run recomputes everything, and says why, when there is no state, the settings or the program
changed since it was written, it is damaged, it does not belong to the latest run with
``effort_impact``, or ``full`` is asked for.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd

from brightspots import timezones
from brightspots.metrics import settings as metric_settings
from brightspots.metrics.credit import TOUCH_COLUMNS
from brightspots.metrics.ledger import Ledger
from brightspots.refresh import changes, effort, ledger, practices, state
from brightspots.workspace import Layer, Run, Workspace

__all__ = ["Refreshed", "describe", "full_reason", "update"]

_LIVE = ("activities", "buyer_events", "opportunities", "accounts", "contacts", "reps")
#: temporary tables of ``changes`` and ``ledger`` no longer read once the state is stored (the
#: run keeps ``effort.KEYS`` and ``practices.DIRTY_DEALS``): dropped then, not at the end of the
#: run, so the engine does not hold them (the live owners are a row per opportunity, account and
#: contact) while the effort layer, the practices and the key accounts are computed
_SCRATCH = (
    "_rf_digests",
    "_rf_owners",
    "_rf_teams",
    "_rf_days",
    "_rf_changed",
    "_rf_versions",
    "_rf_row_changes",
    "_rf_owner_changes",
    changes.FLOORS,
    changes.TEAM_CHANGES,
    ledger.KEY_ROWS,
    ledger.BUCKET,
    ledger.BUCKETS,
    "_rf_e_old",
    "_rf_resp_old",
)


@dataclass(frozen=True)
class Refreshed:
    """The run's ledger (over the state's tables), its ``effort_impact`` layer, what was done
    (``notes``: stored as the run's ``diagnostics["refresh"]``), and for the practices the run
    whose measures may be reused (``base``, the run the state belongs to) with the deals to
    measure again (``dirty_deals``, a table of opportunity_id; None after a full refresh: every
    deal)."""

    ledger: Ledger
    effort: Layer
    notes: dict[str, Any]
    base: Run | None = None
    dirty_deals: str | None = None

    @property
    def base_run(self) -> str | None:
        return None if self.base is None else self.base.run_id


def _latest_effort_run(ws: Workspace) -> Run | None:
    for run in reversed(ws.runs()):
        if "effort_impact" in run.diagnostics.get("layers", []):
            return run
    return None


def full_reason(
    st: state.State | None, settings: str, full: bool, latest: Run | None, counts: tuple[int, int]
) -> str | None:
    """Why this run recomputes everything (None: it may be incremental). ``latest``: the latest
    run with an ``effort_impact`` layer; ``counts``: the state tables' row counts."""
    if full:
        return "a full recompute was asked for"
    if st is None:
        return "no refresh state yet (the first analysis, or one made by an older version)"
    if st.settings != settings:
        return f"the [metrics] settings, the time zone or the program changed since run {st.run_id}"
    if counts != (st.n_touches, st.n_events):
        return "the refresh state is damaged (its row counts do not match)"
    if latest is None or latest.run_id != st.run_id:
        name = None if latest is None else latest.run_id
        return f"the refresh state belongs to run {st.run_id}, not to the latest run {name}"
    return None


def _as_of(ws: Workspace) -> datetime:
    """The data's as-of time (``credit.data_as_of``): the latest activity or buyer event."""
    got = (
        ws.duckdb()
        .execute(
            f"SELECT greatest((SELECT max(occurred_at) FROM ({ws.live_sql('activities')})), "
            f"(SELECT max(occurred_at) FROM ({ws.live_sql('buyer_events')})))"
        )
        .fetchall()[0][0]
    )
    return pd.Timestamp("2000-01-01" if got is None else got).to_pydatetime()


def update(
    ws: Workspace,
    run_id: str,
    *,
    local,
    since: date | None = None,
    full: bool = False,
) -> Refreshed:
    """Bring the refresh state up to date with the workspace's data for run ``run_id`` (inside
    the analysis' write) and return the run's ledger and ``effort_impact`` layer.

    ``local``: UTC timestamps to workspace-local ones (``timezones.to_local`` over the data's
    span). ``since`` (a local day): every row at or after it counts as changed too. ``full``:
    recompute everything.
    """
    started = time.perf_counter()
    durations = metric_settings(ws)
    window, wait = durations["impact_window"], durations["dark_after"]
    con = ws.duckdb()
    settings = state.settings_digest(ws.timezone, window, wait)
    st = state.load(con)
    latest = _latest_effort_run(ws)
    reason = full_reason(st, settings, full, latest, state.counts(con) if st else (0, 0))
    live = {name: ws.live_sql(name) for name in _LIVE}
    changes.live_views(con, live)
    changes.snapshots(con, live)
    as_of = _as_of(ws)
    notes: dict[str, Any] = {"mode": "full" if reason else "incremental", "reason": reason}
    incremental = reason is None
    if incremental:
        since_at = None if since is None else timezones.utc_start(since, ws.timezone)
        found = changes.find(con, lookback=max(window, wait), since=since_at)
    counts = ledger.recompute(
        ws,
        incremental=incremental,
        impact_window=window,
        dark_after=wait,
        as_of=as_of,
        local=local,
    )
    only, replaces = None, None
    if incremental:
        assert st is not None
        counts["reclassified"] = ledger.write_incremental(
            ws, dark_after=wait, old_as_of=st.as_of or as_of, as_of=as_of
        )
        counts["effort_keys"] = effort.keys(con)
        counts["deals_touched"] = practices.dirty_deals(con, live["opportunities"])
        only, replaces = ws.backend().table(effort.KEYS), effort.KEYS
        notes.update(
            base_run=st.run_id,
            since=None if since is None else since.isoformat(),
            changed={
                "days": found.days,
                "row_versions": found.versions,
                "owners": found.owners,
                "reps_changed_team": found.teams,
                "accounts": found.accounts,
            },
        )
    changes.store_snapshots(con)
    for name in _SCRATCH:
        con.execute(f"DROP TABLE IF EXISTS {name}")
    n_touches, n_events = state.counts(con)
    state.save(con, state.State(run_id, settings, as_of, n_touches, n_events))
    notes["recomputed"] = counts
    notes["seconds"] = round(time.perf_counter() - started, 3)

    be = ws.backend()
    tt, ev = be.table(state.TOUCHES), be.table(state.EVENTS)
    run_ledger = Ledger(
        touches=tt.select(*TOUCH_COLUMNS),
        credited=ev.select(*changes.EVENT_COLUMNS, "activity_id", "credit_tier"),
        outcomes=tt.select(*TOUCH_COLUMNS, "events_credited", "outcome"),
        impact_window=window,
        dark_after=wait,
    )
    layer = Layer(rows=effort.parts(ws, tt, ev, only), replaces=replaces)
    return Refreshed(
        ledger=run_ledger,
        effort=layer,
        notes=notes,
        base=latest if incremental else None,
        dirty_deals=practices.DIRTY_DEALS if incremental else None,
    )


def describe(notes: dict[str, Any]) -> str:
    """One line for the CLI: how the run was refreshed."""
    rec = notes.get("recomputed", {})
    if notes.get("mode") != "incremental":
        return f"Full recompute: {notes.get('reason')}."
    ch = notes.get("changed", {})
    return (
        f"Incremental from run {notes.get('base_run')}: {ch.get('row_versions', 0):,} changed "
        f"row versions on {ch.get('days', 0):,} day(s); recomputed {rec.get('touches', 0):,} "
        f"touches, {rec.get('events', 0):,} buyer events and "
        f"{rec.get('effort_keys', 0):,} effort rows."
    )
