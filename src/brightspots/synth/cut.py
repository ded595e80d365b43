"""A synthetic org's export as it stood at an earlier time, for incremental-refresh tests and
benchmarks: "the CRM export of last Tuesday", then "today's new rows".

``cut(src, out, until=T)`` writes the tables of ``src`` (a ``synthesize`` folder, CSV or
Parquet) as CSV files an export taken at UTC time ``T`` would hold: activities, buyer events,
stories and survey responses from before ``T``; opportunities created before ``T``, those closed
at or after it still open (no ``closed_at``, stage "open", the amount at creation); reps, teams,
accounts and contacts as they are. With ``since=S`` only the rows that are new or changed
between ``S`` and ``T`` are written (a daily delivery): rows stamped in [S, T), and
opportunities created or closed in it. CSV values are copied as text, so a row delivered twice
is the same row. DuckDB does the work (CSV or Parquet in, CSV out).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

#: the time column that says when a row of an event-like table came to be
_STAMPED = {
    "activities": "occurred_at",
    "buyer_events": "occurred_at",
    "stories": "created_at",
    "survey_responses": "submitted_at",
}
#: tables copied as they are (they describe the org, not what happened)
_AS_IS = ("reps", "teams", "accounts", "contacts")


def _source(src: Path, name: str) -> str | None:
    """SQL reading table ``name`` from ``src`` (CSV as text), None when it has no such file."""
    if (src / f"{name}.parquet").exists():
        return f"read_parquet('{src / name}.parquet')"
    if (src / f"{name}.csv").exists():
        return f"read_csv('{src / name}.csv', all_varchar = true, header = true)"
    return None


def _at(column: str) -> str:
    return f"TRY_CAST({column} AS TIMESTAMP)"


def cut(
    src: Path | str, out: Path | str, *, until: datetime, since: datetime | None = None
) -> dict[str, int]:
    """Write ``src``'s export as of ``until`` (UTC) into folder ``out`` (see the module);
    returns the rows written per table."""
    src, out = Path(src), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t = f"TIMESTAMP '{until.isoformat(' ')}'"
    s = None if since is None else f"TIMESTAMP '{since.isoformat(' ')}'"
    queries = {}
    for name in _AS_IS:
        if (read := _source(src, name)) is not None:
            queries[name] = f"SELECT * FROM {read}"
    for name, column in _STAMPED.items():
        if (read := _source(src, name)) is not None:
            when = f"{_at(column)} < {t}" + (f" AND {_at(column)} >= {s}" if s else "")
            queries[name] = f"SELECT * FROM {read} WHERE {when}"
    read = _source(src, "opportunities")
    if read is not None:
        later = f"coalesce({_at('closed_at')} >= {t}, false)"
        when = f"{_at('created_at')} < {t}"
        if s:
            closed_now = f"coalesce({_at('closed_at')} >= {s} AND {_at('closed_at')} < {t}, false)"
            when += f" AND ({_at('created_at')} >= {s} OR {closed_now})"
        queries["opportunities"] = (
            f"SELECT * REPLACE (CASE WHEN {later} THEN 'open' ELSE stage END AS stage, "
            f"CASE WHEN {later} THEN NULL ELSE closed_at END AS closed_at, "
            f"CASE WHEN {later} AND initial_amount IS NOT NULL THEN initial_amount "
            f"ELSE amount END AS amount) FROM {read} WHERE {when}"
        )
    counts = {}
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        for name, sql in queries.items():
            path = out / f"{name}.csv"
            con.execute(f"COPY ({sql}) TO '{path}' (HEADER, DELIMITER ',')")
            counts[name] = int(con.execute(f"SELECT count(*) FROM ({sql})").fetchall()[0][0])
    return counts
