"""The refresh state: what the last analysis computed, kept so the next one recomputes only what
the data's changes reach.

Tables (in the workspace store, written by ``refresh.update`` inside the analysis' write):

* ``refresh_touches``: every touch (``credit.TOUCH_COLUMNS``) with ``events_credited``,
  ``outcome``, its local ``day`` and ``h``, a hash of its columns;
* ``refresh_events``: every buyer event with the touch it is credited to (``activity_id``,
  ``credit_tier``), its ``responsible_rep_id``, ``responded_at``, ``response_hours``,
  ``unit_rep_id`` (its rep in ``effort_impact``), local ``day`` and ``h``;
* ``refresh_digests``: per table ("touches", "events") and UTC day, the count and the XOR of the
  row hashes of the live rows: a day whose digest moved holds a change;
* ``refresh_owners``: every opportunity, account and contact with its owner (who answers a buyer
  event), its account and a hash of its row (what a practice reads of it);
* ``refresh_teams``: the team of every rep (the ``team`` grain of ``effort_impact``);
* ``refresh_state``: one row: the run the state belongs to, the settings digest, the data's
  as-of time and the row counts of the two ledger tables (a damaged state is not used).

The ledger tables are the run's touch ledger (``metrics.ledger.Ledger``) and the rows every
``effort_impact`` part sums: the analysis reads them instead of computing the credit again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd

#: bump when the state tables' layout or meaning changes: the next analysis recomputes in full
STATE_VERSION = 2

STATE = "refresh_state"
TOUCHES = "refresh_touches"
EVENTS = "refresh_events"
DIGESTS = "refresh_digests"
OWNERS = "refresh_owners"
TEAMS = "refresh_teams"
TABLES = (STATE, TOUCHES, EVENTS, DIGESTS, OWNERS, TEAMS)

#: the code whose results the state holds: any change to it recomputes everything once
_CODE = ("metrics", "refresh", "timezones.py")


@dataclass(frozen=True)
class State:
    """The row of ``refresh_state``."""

    run_id: str
    settings: str
    as_of: datetime | None
    n_touches: int
    n_events: int


def _source_digest(names: tuple[str, ...], prefix: bytes = b"") -> str:
    """A digest of ``prefix`` and the path and bytes of every Python file of the package's
    folders or files ``names``, in a fixed order."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256(prefix)
    for name in names:
        path = root / name
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for f in files:
            h.update(f.relative_to(root).as_posix().encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def settings_digest(timezone: str, impact_window: timedelta, dark_after: timedelta) -> str:
    """A digest of everything the state's values depend on besides the data: the durations, the
    time zone (local days), this layout, DuckDB's version (its ``hash``) and the code."""
    settings = {
        "impact_window": impact_window.total_seconds(),
        "dark_after": dark_after.total_seconds(),
        "timezone": timezone,
        "state_version": STATE_VERSION,
        "duckdb": duckdb.__version__,
        "code": _source_digest(_CODE),
    }
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def practices_digest(config: dict, timezone: str) -> str:
    """A digest of what a deal's practice measures depend on besides the deal's data: the
    ``[practices]`` and ``[metrics]`` settings, the time zone and the code of the practices and
    the metrics. A run reuses a previous run's measures only under the same digest."""
    settings = json.dumps(
        [config.get("practices"), config.get("metrics"), timezone], sort_keys=True, default=str
    )
    return _source_digest(("practices", "metrics"), settings.encode())


def tables_present(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
        "AND table_catalog = current_database()"
    ).fetchall()
    return {r[0] for r in rows} & set(TABLES)


def load(con: duckdb.DuckDBPyConnection) -> State | None:
    """The stored state, or None when there is none (or only part of one)."""
    if tables_present(con) != set(TABLES):
        return None
    rows = con.execute(
        f"SELECT run_id, settings, as_of, n_touches, n_events FROM {STATE}"
    ).fetchall()
    if len(rows) != 1:
        return None
    run_id, settings, as_of, n_t, n_e = rows[0]
    as_of = None if as_of is None else pd.Timestamp(as_of).to_pydatetime()
    return State(run_id, settings, as_of, int(n_t), int(n_e))


def counts(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """The row counts of the two ledger tables."""
    n_t = con.execute(f"SELECT count(*) FROM {TOUCHES}").fetchall()[0][0]
    n_e = con.execute(f"SELECT count(*) FROM {EVENTS}").fetchall()[0][0]
    return int(n_t), int(n_e)


def save(con: duckdb.DuckDBPyConnection, state: State) -> None:
    """Write the one row of ``refresh_state``."""
    con.execute(
        f"CREATE OR REPLACE TABLE {STATE} (run_id VARCHAR, settings VARCHAR, as_of TIMESTAMP, "
        "n_touches BIGINT, n_events BIGINT)"
    )
    con.execute(
        f"INSERT INTO {STATE} VALUES (?, ?, ?, ?, ?)",
        [state.run_id, state.settings, state.as_of, state.n_touches, state.n_events],
    )
