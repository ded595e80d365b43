"""Recompute the touch ledger where changes reach (``changes.find``) and write it into the state.

The recomputation runs the same functions as a full ledger (``credit.credited``,
``outcomes.touch_outcomes``, ``response.response_times``, ``effort.event_units``) on a subset of
the rows that provably holds every row they read (``changes`` has the argument): per account
``a`` recomputed from ``since_at`` s(a),

* the events at or after s(a) get their credit from the touches at or after s(a) - W (an event
  is credited to a touch at most W before it);
* the touches at or after s(a) get their outcome from those events (every event credited to
  such a touch, and its next event, is at or after it);
* the response of those events, and of the account's older events that were unanswered or
  answered at or after s(a), comes from the touches at or after s(a): no touch of the same rep
  lies between such an older event and s(a), or it would have answered it.

A full run is the same with every row in the subset (no ``_rf_floors``): one code path. As
every row the ledger reads is on the same account, a big full run goes over the accounts in
buckets (``BUCKET_TOUCHES`` touches each, by a hash of account_id), one after the other into the
same tables: each pass holds a bucket's rows, not every row, so a 100M-activity workspace runs
within a few GB of memory and of spill space.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir

from brightspots.metrics.credit import TOUCH_COLUMNS, credited, seconds, touches
from brightspots.metrics.effort import event_units, local_day
from brightspots.metrics.outcomes import touch_outcomes
from brightspots.metrics.response import response_times
from brightspots.refresh.changes import (
    EVENT_COLUMNS,
    FLOORS,
    LIVE_EVENTS,
    LIVE_TOUCHES,
    TEAM_CHANGES,
)
from brightspots.refresh.state import EVENTS, TEAMS, TOUCHES

Local = Callable[[ir.TimestampValue], ir.TimestampValue]

#: rows whose effort_impact keys are recomputed: (rep_id, team_id, account_id, opportunity_id,
#: day), the team being the one a key takes
KEY_ROWS = "_rf_key_rows"
NEW_TOUCHES = "_rf_new_touches"
NEW_EVENTS = "_rf_new_events"
#: accounts of the bucket a full pass works on, and every account with its bucket
BUCKET = "_rf_bucket"
BUCKETS = "_rf_buckets"
#: touches per bucket of a full run (about 1 GB of working rows in DuckDB)
BUCKET_TOUCHES = 8_000_000

_STATE_EVENT_COLUMNS = (
    *EVENT_COLUMNS,
    "activity_id",
    "credit_tier",
    "responsible_rep_id",
    "responded_at",
    "response_hours",
    "unit_rep_id",
)


def _store(
    ws,
    name: str,
    expr: ir.Table,
    hashed: tuple[str, str] | None = None,
    temp: bool = True,
    append: bool = False,
    bucketed: bool = False,
) -> ir.Table:
    """Compute ``expr`` into table ``name``, temporary unless ``temp`` is false, added to its
    rows when ``append``; ``hashed`` (a live view and its key) adds each row's hash ``h`` from
    that view (its rows of the accounts of ``_rf_bucket`` when ``bucketed``). Returns the table,
    as an Ibis table."""
    sql = ws.backend().compile(expr)
    con = ws.duckdb()
    if hashed:
        live, key = hashed
        if bucketed:
            live = f"(SELECT * FROM {live} WHERE account_id IN (SELECT account_id FROM {BUCKET}))"
        sql = f"SELECT x.*, l.h FROM ({sql}) AS x JOIN {live} AS l ON x.{key} = l.{key}"
    if append:
        con.execute(f"INSERT INTO {name} {sql}")
    else:
        kind = "TEMP TABLE" if temp else "TABLE"
        con.execute(f"CREATE OR REPLACE {kind} {name} AS {sql}")
    return ws.backend().table(name)


def buckets(con) -> int:
    """How many buckets of accounts a full run goes over: one per ``BUCKET_TOUCHES`` touches."""
    n = int(con.execute(f"SELECT count(*) FROM {LIVE_TOUCHES}").fetchall()[0][0])
    return max(1, -(-n // BUCKET_TOUCHES))


def recompute(
    ws,
    *,
    incremental: bool,
    impact_window: timedelta,
    dark_after: timedelta,
    as_of: datetime,
    local: Local,
) -> dict[str, int]:
    """Recompute the ledger rows of the changed region into ``_rf_new_touches`` and
    ``_rf_new_events`` (the state tables' layout), and the responses of older events into
    ``_rf_resp_old``; without ``incremental``, every row straight into the state's ledger
    tables, bucket by bucket of accounts. Returns the row counts (and ``buckets``)."""
    con = ws.duckdb()
    t = touches(ws.table("activities"))
    e = ws.table("buyer_events")
    kw = {"impact_window": impact_window, "dark_after": dark_after, "as_of": as_of, "local": local}
    if incremental:
        _pass(ws, t, e, incremental=True, append=False, bucketed=False, **kw)
        counts = {"touches": _count(con, NEW_TOUCHES), "events": _count(con, NEW_EVENTS)}
        counts["responses"] = _count(con, "_rf_resp_old")
        return counts
    k = buckets(con)
    if k > 1:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {BUCKETS} AS SELECT account_id, "
            f"hash(account_id) % {k} AS b FROM (SELECT account_id FROM {LIVE_TOUCHES} "
            f"UNION SELECT account_id FROM {LIVE_EVENTS})"
        )
    for b in range(k):
        if k > 1:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {BUCKET} AS "
                f"SELECT account_id FROM {BUCKETS} WHERE b = {b}"
            )
            part = ws.backend().table(BUCKET)
            t_b = t.semi_join(part, t.account_id == part.account_id)
            e_b = e.semi_join(part, e.account_id == part.account_id)
        else:
            t_b, e_b = t, e
        _pass(ws, t_b, e_b, incremental=False, append=b > 0, bucketed=k > 1, **kw)
    for name in (BUCKET, BUCKETS):
        con.execute(f"DROP TABLE IF EXISTS {name}")
    return {"touches": _count(con, TOUCHES), "events": _count(con, EVENTS), "buckets": k}


def _count(con, table: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


def _pass(
    ws,
    t: ir.Table,
    e: ir.Table,
    *,
    incremental: bool,
    append: bool,
    bucketed: bool,
    impact_window: timedelta,
    dark_after: timedelta,
    as_of: datetime,
    local: Local,
) -> None:
    """One recomputation of the ledger from touches ``t`` and events ``e``: incremental (the
    region of ``_rf_floors``, into the ``_rf_new_*`` tables) or full (into the state tables,
    added to them when ``append``; ``bucketed``: ``t`` and ``e`` hold the rows of the accounts
    of ``_rf_bucket``)."""
    con = ws.duckdb()
    wait = seconds(impact_window)
    if incremental:
        # the region's rows, read three times: kept
        fl = ws.backend().table(FLOORS)
        j = t.join(fl, "account_id")
        t_in = _store(ws, "_rf_t_in", j.filter(j.occurred_at >= j.since_at - wait))
        j = e.join(fl, "account_id")
        e_new = _store(
            ws, "_rf_e_new", j.filter(j.occurred_at >= j.since_at).select(*EVENT_COLUMNS)
        )
        into = {"touches": NEW_TOUCHES, "events": NEW_EVENTS}
    else:
        t_in = t.mutate(since_at=ibis.null("timestamp"))
        e_new = e
        into = {"touches": TOUCHES, "events": EVENTS}
    t_out = t_in.filter(t_in.since_at.isnull() | (t_in.occurred_at >= t_in.since_at))
    t_out = t_out.select(*TOUCH_COLUMNS)
    cr = _store(
        ws, "_rf_cr", credited(t_in.select(*TOUCH_COLUMNS), e_new, impact_window=impact_window)
    )
    out = touch_outcomes(t_out, e_new, cr, dark_after=dark_after, as_of=as_of)
    new_touches = local_day(out, local)
    keep = {"temp": incremental, "append": append, "bucketed": bucketed}
    _store(ws, into["touches"], new_touches, (LIVE_TOUCHES, "activity_id"), **keep)

    answered = e_new
    if incremental:
        # older events of recomputed accounts whose answer may come from a recomputed touch
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _rf_e_old AS SELECT "
            + ", ".join(f"s.{c}" for c in EVENT_COLUMNS)
            + f" FROM {EVENTS} AS s JOIN {FLOORS} AS f USING (account_id) "
            "WHERE s.occurred_at < f.since_at AND s.responsible_rep_id IS NOT NULL "
            "AND (s.responded_at IS NULL OR s.responded_at >= f.since_at)"
        )
        answered = ibis.union(e_new, ws.backend().table("_rf_e_old"), distinct=False)
    resp = _store(
        ws,
        "_rf_resp",
        response_times(t_out, answered, ws.table("opportunities"), ws.table("accounts")),
    )
    events = local_day(event_units(cr, t_in.select(*TOUCH_COLUMNS), resp), local)
    events = events.select(*_STATE_EVENT_COLUMNS, "day")
    _store(ws, into["events"], events, (LIVE_EVENTS, "event_id"), **keep)
    if incremental:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _rf_resp_old AS SELECT r.event_id, r.responded_at, "
            "r.response_hours FROM _rf_resp AS r SEMI JOIN _rf_e_old AS o "
            "ON r.event_id = o.event_id"
        )
    for name in ("_rf_t_in", "_rf_e_new", "_rf_cr", "_rf_resp"):
        con.execute(f"DROP TABLE IF EXISTS {name}")


def _key_rows(source: str, rep: str, team_from: str, where: str = "") -> str:
    """SQL for the key rows of ``source`` rows (``rep``: their rep column), teams from
    ``team_from`` (a table of rep_id, team_id)."""
    return (
        f"SELECT x.{rep} AS rep_id, tm.team_id, x.account_id, x.opportunity_id, x.day "
        f"FROM {source} AS x LEFT JOIN {team_from} AS tm ON x.{rep} = tm.rep_id {where}"
    )


def write_incremental(ws, *, dark_after: timedelta, old_as_of: datetime, as_of: datetime) -> int:
    """Replace the recomputed region of the state's ledger with the new rows, collecting in
    ``_rf_key_rows`` every row (old and new) whose ``effort_impact`` keys change. Returns the
    number of touches reclassified between pending and dark by the move of the as-of time."""
    con = ws.duckdb()
    region = f"JOIN {FLOORS} AS f ON x.account_id = f.account_id WHERE x.occurred_at >= f.since_at"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {KEY_ROWS} AS "
        + " UNION ALL ".join(
            [
                # the region's old rows (under the team they were stored with and the current
                # one), the new rows, and older events answered anew (current teams: the rows
                # of reps who changed team are added under both teams below)
                _key_rows(TOUCHES, "rep_id", "_rf_teams", region),
                _key_rows(EVENTS, "unit_rep_id", "_rf_teams", region),
                _key_rows(TOUCHES, "rep_id", TEAMS, region),
                _key_rows(EVENTS, "unit_rep_id", TEAMS, region),
                _key_rows(NEW_TOUCHES, "rep_id", "_rf_teams"),
                _key_rows(NEW_EVENTS, "unit_rep_id", "_rf_teams"),
                _key_rows(
                    EVENTS,
                    "unit_rep_id",
                    "_rf_teams",
                    "WHERE x.event_id IN (SELECT event_id FROM _rf_resp_old)",
                ),
            ]
        )
    )
    for table in (TOUCHES, EVENTS):
        con.execute(
            f"DELETE FROM {table} AS x USING {FLOORS} AS f "
            "WHERE x.account_id = f.account_id AND x.occurred_at >= f.since_at"
        )
    con.execute(f"INSERT INTO {TOUCHES} SELECT * FROM {NEW_TOUCHES}")
    con.execute(f"INSERT INTO {EVENTS} SELECT * FROM {NEW_EVENTS}")
    con.execute(
        f"UPDATE {EVENTS} AS x SET responded_at = r.responded_at, "
        "response_hours = r.response_hours FROM _rf_resp_old AS r WHERE x.event_id = r.event_id"
    )
    # touches whose wait ends between the old and the new as-of time: pending <-> dark
    lo, hi = sorted([old_as_of, as_of])
    wait = f"INTERVAL ({int(dark_after.total_seconds())}) SECOND"
    stamp = f"TIMESTAMP '{as_of.isoformat(' ')}'"
    moved = (
        f"WHERE x.outcome IN ('dark', 'pending') AND x.occurred_at + {wait} > ? "
        f"AND x.occurred_at + {wait} <= ? "
        f"AND x.outcome <> CASE WHEN x.occurred_at + {wait} <= {stamp} THEN 'dark' "
        "ELSE 'pending' END"
    )
    con.execute(
        f"INSERT INTO {KEY_ROWS} " + _key_rows(TOUCHES, "rep_id", "_rf_teams", moved), [lo, hi]
    )
    reclassified = con.execute(
        f"UPDATE {TOUCHES} AS x SET outcome = CASE WHEN x.occurred_at + {wait} <= {stamp} "
        f"THEN 'dark' ELSE 'pending' END {moved}",
        [lo, hi],
    ).fetchall()[0][0]
    # a rep who changed team moves every row of theirs from the old team's keys to the new's
    for team in ("old_team", "new_team"):
        for source, rep in ((TOUCHES, "rep_id"), (EVENTS, "unit_rep_id")):
            con.execute(
                f"INSERT INTO {KEY_ROWS} SELECT NULL, c.{team}, NULL, NULL, x.day "
                f"FROM {source} AS x JOIN {TEAM_CHANGES} AS c ON x.{rep} = c.rep_id"
            )
    con.execute(f"DROP TABLE {NEW_TOUCHES}")
    con.execute(f"DROP TABLE {NEW_EVENTS}")
    return int(reclassified)
