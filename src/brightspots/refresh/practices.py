"""The closed deals whose practice measures a refresh must take again; the others keep the
previous run's.

A practice sees a deal's rows from its creation to its cutoff (``practices.views``): its linked
activities and buyer events, the unlinked ones on its account while it was open, their credit
(``impact_share``), the account's contacts (``executive_engaged``) and the deal's own row. So a
deal is measured again when

* its row changed (or it is new to the workspace);
* a changed touch or buyer event carries its opportunity_id (old or new version);
* its account's ledger was recomputed (``changes``: from ``since_at`` on) and its cutoff, the
  close, lies after ``since_at``: no row it reads, and no credit, changed before then;
* a contact of its account changed.

A deal new to the analysis window has no previous measure and is measured too. Practices that
read more than one deal (``rep_period`` ones, a workspace's own SQL) are measured on every deal
by the caller.
"""

from __future__ import annotations

import duckdb

from brightspots.refresh.changes import FLOORS

DIRTY_DEALS = "_rf_dirty_deals"


def dirty_deals(con: duckdb.DuckDBPyConnection, live_opportunities: str) -> int:
    """Write ``_rf_dirty_deals`` (opportunity_id) after ``changes.find``; their count."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {DIRTY_DEALS} AS SELECT DISTINCT opportunity_id FROM ("
        "SELECT id AS opportunity_id FROM _rf_row_changes WHERE kind = 'opportunity' "
        "UNION ALL SELECT l_opp FROM _rf_changed WHERE l_opp IS NOT NULL "
        "UNION ALL SELECT s_opp FROM _rf_changed WHERE s_opp IS NOT NULL "
        f"UNION ALL SELECT o.opportunity_id FROM ({live_opportunities}) AS o "
        f"JOIN {FLOORS} AS f ON o.account_id = f.account_id "
        "WHERE o.closed_at IS NULL OR o.closed_at > f.since_at "
        f"UNION ALL SELECT o.opportunity_id FROM ({live_opportunities}) AS o "
        "WHERE o.account_id IN (SELECT l_account FROM _rf_row_changes WHERE kind = 'contact' "
        "UNION ALL SELECT s_account FROM _rf_row_changes WHERE kind = 'contact'))"
    )
    return int(con.execute(f"SELECT count(*) FROM {DIRTY_DEALS}").fetchall()[0][0])
