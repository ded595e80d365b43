"""What changed since the refresh state was written, and which part of the ledger it reaches.

Changes are found by comparing the live data with the state, not from an import log, so every
kind of change is caught the same way: rows imported, edited, moved to another day or account,
flagged deleted by a snapshot import, revived, or written by hand. First the per-UTC-day digests
(count and XOR of row hashes) say which days changed; only rows of those days are compared, by
id and hash, and each changed row gives its old and its new version.

**Why a change on an account at time t reaches back no further than t - max(impact_window,
dark_after), except for owners** (W = impact_window, D = dark_after; ``metrics`` has the
definitions):

* an event's credit reads the touches at most W before it, so a touch changed at t moves the
  credit of events at or after t only, and an event changed at t only its own;
* a touch's outcome reads the events credited to it (at most W after it) and the next event on
  its account (``followed``: at most D after it), so it moves only for touches at or after
  t - max(W, D);
* an event's response is the first later touch of its responsible rep: it moves for events at
  or after t, and for older events of the account that were unanswered or answered at or after
  that time (``ledger.recompute`` picks those up from the state);
* the responsible rep of an event is the owner of its opportunity, else of its account: when an
  owner changes, every event of the accounts concerned is recomputed, however old.

So per account the ledger is recomputed from ``since_at`` = (earliest changed version) - max(W,
D) on (``_rf_floors``). Touches whose wait for a buyer ends between the old and the new as-of
time change from pending to dark (or back) without any change on their account; ``ledger``
reclassifies those apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb

from brightspots import schema
from brightspots.metrics.credit import TOUCH_COLUMNS
from brightspots.refresh.state import DIGESTS, EVENTS, OWNERS, TEAMS, TOUCHES

EVENT_COLUMNS = tuple(c.name for c in schema.table("buyer_events").columns)
#: a touch's row hash covers what practices may read of it too (its duration)
TOUCH_HASH = f"hash({', '.join(TOUCH_COLUMNS)}, duration_minutes)"
EVENT_HASH = f"hash({', '.join(EVENT_COLUMNS)})"

LIVE_TOUCHES = "_rf_live_touches"
LIVE_EVENTS = "_rf_live_events"
FLOORS = "_rf_floors"
TEAM_CHANGES = "_rf_team_changes"

#: ``since_at`` of an account recomputed from its first row
EVERYTHING = datetime(1000, 1, 1)


@dataclass(frozen=True)
class Changes:
    """What changed: UTC days with a changed digest, changed row versions (old and new count
    apart), owners and reps whose team changed, and accounts recomputed from a time on."""

    days: int
    versions: int
    owners: int
    teams: int
    accounts: int


def live_views(con: duckdb.DuckDBPyConnection, live_sql: dict[str, str]) -> None:
    """Temporary views of the live touches and buyer events with their row hash ``h``."""
    cols = ", ".join(TOUCH_COLUMNS)
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {LIVE_TOUCHES} AS SELECT {cols}, {TOUCH_HASH} AS h "
        f"FROM ({live_sql['activities']}) WHERE NOT coalesce(is_bulk, false)"
    )
    cols = ", ".join(EVENT_COLUMNS)
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {LIVE_EVENTS} AS SELECT {cols}, {EVENT_HASH} AS h "
        f"FROM ({live_sql['buyer_events']})"
    )


def snapshots(con: duckdb.DuckDBPyConnection, live_sql: dict[str, str]) -> None:
    """The live digests, owners and teams (temporary tables ``_rf_digests``, ``_rf_owners``,
    ``_rf_teams``): compared with the state now, stored as the state at the end."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _rf_digests AS "
        "SELECT 'touches' AS table_name, CAST(occurred_at AS DATE) AS utc_day, "
        f"count(*) AS n, bit_xor(h) AS x FROM {LIVE_TOUCHES} GROUP BY ALL "
        "UNION ALL SELECT 'events', CAST(occurred_at AS DATE), count(*), bit_xor(h) "
        f"FROM {LIVE_EVENTS} GROUP BY ALL"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _rf_owners AS "
        "SELECT 'opportunity' AS kind, opportunity_id AS id, owner_rep_id AS owner, "
        f"account_id, hash(o) AS h FROM ({live_sql['opportunities']}) AS o "
        "UNION ALL SELECT 'account', account_id, owner_rep_id, account_id, hash(a) "
        f"FROM ({live_sql['accounts']}) AS a "
        "UNION ALL SELECT 'contact', contact_id, NULL, account_id, hash(c) "
        f"FROM ({live_sql['contacts']}) AS c"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _rf_teams AS "
        f"SELECT rep_id, team_id FROM ({live_sql['reps']})"
    )


def find(con: duckdb.DuckDBPyConnection, *, lookback: timedelta, since: datetime | None) -> Changes:
    """Compare the live data (``live_views``, ``snapshots``) with the state: writes
    ``_rf_floors`` (account_id, since_at: the account's ledger is recomputed from then on) and
    ``_rf_team_changes`` (rep_id, old_team, new_team). ``since``: rows at or after it count as
    changed too (whole UTC days)."""
    since_day = "NULL" if since is None else f"CAST(TIMESTAMP '{since.isoformat(' ')}' AS DATE)"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _rf_days AS SELECT "
        "coalesce(l.table_name, s.table_name) AS table_name, "
        "coalesce(l.utc_day, s.utc_day) AS utc_day "
        f"FROM _rf_digests AS l FULL JOIN {DIGESTS} AS s "
        "ON l.table_name = s.table_name AND l.utc_day IS NOT DISTINCT FROM s.utc_day "
        "WHERE l.n IS DISTINCT FROM s.n OR l.x IS DISTINCT FROM s.x "
        f"OR coalesce(l.utc_day, s.utc_day) >= {since_day}"
    )
    parts = []
    for kind, live, stored, key in (
        ("touches", LIVE_TOUCHES, TOUCHES, "activity_id"),
        ("events", LIVE_EVENTS, EVENTS, "event_id"),
    ):
        days = f"(SELECT utc_day FROM _rf_days WHERE table_name = '{kind}')"
        parts.append(
            f"SELECT l.account_id AS l_account, l.occurred_at AS l_at, "
            f"l.opportunity_id AS l_opp, s.account_id AS s_account, s.occurred_at AS s_at, "
            f"s.opportunity_id AS s_opp "
            f"FROM (SELECT {key}, account_id, occurred_at, opportunity_id, h FROM {live} "
            f"WHERE CAST(occurred_at AS DATE) IN {days}) AS l "
            f"FULL JOIN (SELECT {key}, account_id, occurred_at, opportunity_id, h FROM {stored} "
            f"WHERE CAST(occurred_at AS DATE) IN {days}) AS s ON l.{key} = s.{key} "
            f"WHERE l.h IS DISTINCT FROM s.h OR CAST(l.occurred_at AS DATE) >= {since_day} "
            f"OR CAST(s.occurred_at AS DATE) >= {since_day}"
        )
    con.execute("CREATE OR REPLACE TEMP TABLE _rf_changed AS " + " UNION ALL ".join(parts))
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _rf_versions AS "
        "SELECT l_account AS account_id, l_at AS occurred_at FROM _rf_changed "
        "WHERE l_account IS NOT NULL "
        "UNION ALL "
        "SELECT s_account, s_at FROM _rf_changed WHERE s_account IS NOT NULL"
    )
    # owners: who answers a buyer event (its opportunity's owner, else its account's)
    # opportunities, accounts and contacts whose row changed (old and new account)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _rf_row_changes AS SELECT "
        "coalesce(l.kind, s.kind) AS kind, coalesce(l.id, s.id) AS id, "
        "l.account_id AS l_account, s.account_id AS s_account, "
        "l.id IS NULL OR s.id IS NULL OR l.owner IS DISTINCT FROM s.owner AS owner_changed "
        f"FROM _rf_owners AS l FULL JOIN {OWNERS} AS s ON l.kind = s.kind AND l.id = s.id "
        "WHERE l.id IS NULL OR s.id IS NULL OR l.h IS DISTINCT FROM s.h"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _rf_owner_changes AS SELECT kind, id "
        "FROM _rf_row_changes WHERE owner_changed AND kind <> 'contact'"
    )
    changed_opps = "(SELECT id FROM _rf_owner_changes WHERE kind = 'opportunity')"
    seconds = int(lookback.total_seconds())
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {FLOORS} AS "
        "SELECT account_id, min(since_at) AS since_at FROM ("
        f"SELECT account_id, occurred_at - INTERVAL ({seconds}) SECOND AS since_at "
        "FROM _rf_versions "
        f"UNION ALL SELECT account_id, TIMESTAMP '{EVERYTHING.isoformat(' ')}' FROM ("
        f"SELECT account_id FROM {LIVE_EVENTS} WHERE opportunity_id IN {changed_opps} "
        f"UNION ALL SELECT account_id FROM {EVENTS} WHERE opportunity_id IN {changed_opps} "
        "UNION ALL SELECT id FROM _rf_owner_changes WHERE kind = 'account')"
        ") GROUP BY account_id"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {TEAM_CHANGES} AS SELECT "
        "coalesce(l.rep_id, s.rep_id) AS rep_id, s.team_id AS old_team, l.team_id AS new_team "
        f"FROM _rf_teams AS l FULL JOIN {TEAMS} AS s ON l.rep_id = s.rep_id "
        "WHERE l.rep_id IS NULL OR s.rep_id IS NULL OR l.team_id IS DISTINCT FROM s.team_id"
    )

    def count(sql: str) -> int:
        return int(con.execute(sql).fetchall()[0][0])

    return Changes(
        days=count("SELECT count(*) FROM _rf_days"),
        versions=count("SELECT count(*) FROM _rf_versions"),
        owners=count("SELECT count(*) FROM _rf_owner_changes"),
        teams=count(f"SELECT count(*) FROM {TEAM_CHANGES}"),
        accounts=count(f"SELECT count(*) FROM {FLOORS}"),
    )


def store_snapshots(con: duckdb.DuckDBPyConnection) -> None:
    """Make the live digests, owners and teams the state's."""
    for table, temp in ((DIGESTS, "_rf_digests"), (OWNERS, "_rf_owners"), (TEAMS, "_rf_teams")):
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {temp}")
