"""The ``effort_impact`` keys a refresh recomputes, and their rows from the state's ledger.

A key is (grain, every, unit_id, period). Every row of the state's ledger counts towards eight
keys: its rep, team, account and opportunity, on its local day and in its ISO week. The keys of
every old and new version of a changed row are recomputed from all the state rows they hold
(a week partly changed is summed again in full: its median cannot be rolled up from days); a key
with no rows left has no row in the run.
"""

from __future__ import annotations

import duckdb
import ibis.expr.types as ir

from brightspots.metrics.effort import GRAINS, stacked, summaries
from brightspots.refresh.ledger import KEY_ROWS

KEYS = "_rf_keys"


def keys(con: duckdb.DuckDBPyConnection) -> int:
    """Write ``_rf_keys`` (grain, every, unit_id, period) from ``_rf_key_rows``; their count."""
    periods = {"day": "day", "week": "day - CAST(isodow(day) - 1 AS INTEGER)"}
    parts = [
        f"SELECT '{grain}' AS grain, '{every}' AS every, CAST({grain}_id AS VARCHAR) AS unit_id, "
        f"{period} AS period FROM {KEY_ROWS} WHERE {grain}_id IS NOT NULL AND day IS NOT NULL"
        for grain in GRAINS
        for every, period in periods.items()
    ]
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {KEYS} AS SELECT DISTINCT * FROM ("
        + " UNION ALL ".join(parts)
        + ")"
    )
    return int(con.execute(f"SELECT count(*) FROM {KEYS}").fetchall()[0][0])


ROWS = "_rf_rows"


def parts(ws, touches: ir.Table, events: ir.Table, only: ir.Table | None) -> list[ir.Table]:
    """The ``effort_impact`` parts of the state's ledger (``touches``, ``events``), for the keys
    of ``only`` (all keys when None).

    The rows the eight parts sum (``effort.stacked``) are a temporary view over the state's
    ledger tables, never a table: each part reads the stored ledger again while it is summed
    (only the rows of ``only``'s keys when given). A table of them held a second copy of the
    whole ledger until the run was saved (13 GB of spill at 100M activities); at 10M the eight
    parts took as long from the view as from that table, with 1.7 GB less disk."""
    sql = ws.backend().compile(stacked(touches, events, ws.table("reps")))
    ws.duckdb().execute(f"CREATE OR REPLACE TEMP VIEW {ROWS} AS {sql}")
    return summaries(ws.backend().table(ROWS), only)
