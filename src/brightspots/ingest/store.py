"""Write checked rows into the workspace: upsert the canonical table, keep extra columns aside,
record quarantined rows, and log the import.

The quarantine holds, per table, the rows rejected by that table's latest import: importing a
table again replaces its quarantined rows with the new import's. Re-importing the same files
therefore never duplicates them, and the quarantine always describes the data as last imported;
earlier imports' counts stay in ``imports``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import duckdb

from brightspots.ingest.result import ImportResult
from brightspots.ingest.sql import ident, lit
from brightspots.ingest.stage import Staged
from brightspots.ingest.tables import CHK, EXTRA, FILE, IMPORTS, QUARANTINE, RECORDS, SRC
from brightspots.ingest.validate import INSERT, SAME, UPDATE, Checked


def has_extras(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(
        con.execute(f"SELECT count(*) > 0 FROM {EXTRA} WHERE table_name = ?", [table]).fetchall()[
            0
        ][0]
    )


@dataclass(frozen=True)
class Upserted:
    inserted: int
    updated: int
    unchanged: int


def upsert(con: duckdb.DuckDBPyConnection, checked: Checked) -> Upserted:
    """Valid rows into the canonical table: new keys inserted, changed rows updated (a column
    the file does not have becomes NULL), identical rows left alone."""
    lay = checked.layout
    t = lay.table
    name, key = ident(t.name), ident(t.key)
    value = {c.name: (f"v.p_{c.name}" if lay.has(c.name) else "NULL") for c in t.columns}
    inserts, updates = checked.ops.get(INSERT, 0), checked.ops.get(UPDATE, 0)
    if updates:
        sets = ", ".join(f"{ident(c.name)} = {value[c.name]}" for c in t.columns if c.name != t.key)
        con.execute(
            f"""UPDATE {name} AS t SET {sets}
                FROM (SELECT * FROM {CHK} WHERE code = 0 AND op = {UPDATE}) AS v
                WHERE t.{key} = v.p_{t.key}"""
        )
        if has_extras(con, t.name):
            con.execute(
                f"""DELETE FROM {EXTRA} WHERE table_name = ? AND key IN
                    (SELECT p_{t.key} FROM {CHK} WHERE code = 0 AND op = {UPDATE})""",
                [t.name],
            )
    if inserts:
        cols = ", ".join(ident(c.name) for c in t.columns)
        vals = ", ".join(value[c.name] for c in t.columns)
        con.execute(
            f"""INSERT INTO {name} ({cols}) SELECT {vals} FROM {CHK} AS v
                WHERE v.code = 0 AND v.op = {INSERT}"""
        )
    if lay.extras and (inserts or updates):
        con.execute(
            f"""INSERT INTO {EXTRA} SELECT ?, p_{t.key}, extra FROM {CHK}
                WHERE code = 0 AND op IN ({INSERT}, {UPDATE}) AND extra IS NOT NULL""",
            [t.name],
        )
    return Upserted(inserts, updates, checked.ops.get(SAME, 0))


def record_sources(
    con: duckdb.DuckDBPyConnection,
    checked: Checked,
    *,
    source: str,
    import_id: str,
    origin: str,
) -> None:
    """The records this file delivers (valid or not: a quarantined record is still in the
    export) belong to ``source`` and the feed ``origin``, seen by this import, not deleted."""
    t = checked.layout.table
    # each key once: the first row of a key (later rows of it are repeats or conflicts)
    later = ", ".join(map(str, checked.later_duplicate_codes())) or "-1"
    keys = (
        f"SELECT p_{t.key} AS key FROM {CHK} WHERE p_{t.key} IS NOT NULL AND code NOT IN ({later})"
    )
    held = con.execute(f"SELECT 1 FROM {RECORDS} WHERE table_name = ? LIMIT 1", [t.name]).fetchall()
    if held:  # one row per (table_name, key): the records delivered again are replaced
        con.execute(
            f"DELETE FROM {RECORDS} WHERE table_name = ? AND key IN (SELECT key FROM ({keys}))",
            [t.name],
        )
    con.execute(
        f"""INSERT INTO {RECORDS} (table_name, key, source, import_id, deleted_at, origin)
            SELECT ?, key, ?, ?, NULL::TIMESTAMP, ? FROM ({keys})""",
        [t.name, source, import_id, origin],
    )


def mark_missing(
    con: duckdb.DuckDBPyConnection,
    table: str,
    *,
    source: str,
    import_id: str,
    at: datetime,
    origins: list[str],
) -> int:
    """Snapshot: the records of ``table`` that ``source`` delivered through one of ``origins``
    (the feeds this import delivers) and this import did not are flagged deleted (kept); a
    feed the import does not deliver (Task.csv missing from this export) is left alone.
    Returns how many were newly flagged."""
    marks = ", ".join("?" for _ in origins) or "NULL"
    return con.execute(
        f"""UPDATE {RECORDS} SET deleted_at = ?
            WHERE table_name = ? AND source = ? AND import_id <> ? AND deleted_at IS NULL
              AND origin IN ({marks})""",
        [at, table, source, import_id, *origins],
    ).fetchall()[0][0]


def record_quarantine(
    con: duckdb.DuckDBPyConnection,
    checked: Checked,
    staged: Staged,
    import_id: str,
    imported_at: datetime,
    *,
    clear: bool = True,
) -> None:
    """Replace the table's quarantined rows with this file's, each with its raw row as JSON.

    ``clear``: drop the rows an earlier import quarantined for this table first (not when a
    second file of the same import feeds the table). A mapped file's row is kept as the file had
    it, and a column read from a differently named file column is named with it."""
    lay = checked.layout
    if clear:
        con.execute(f"DELETE FROM {QUARANTINE} WHERE table_name = ?", [lay.table.name])
    codes = [k for k in checked.quarantine_codes() if checked.counts.get(k)]
    if not codes:
        return
    reason = " ".join(f"WHEN {k} THEN {lit(checked.checks[k - 1].reason)}" for k in codes)
    header, view = (staged.original, FILE) if staged.original is not None else (lay.names, SRC)
    raw = ", ".join(f"{lit(h)}, s.{Staged.cell(i)}" for i, h in enumerate(header))
    column = "c.col"
    if staged.sources:
        whens = " ".join(
            f"WHEN {lit(t)} THEN {lit(f'{t} (file column {f!r})')}"
            for t, f in staged.sources.items()
        )
        column = f"CASE c.col {whens} ELSE c.col END"
    con.execute(
        f"""INSERT INTO {QUARANTINE}
            SELECT ?, ?, ?, ?, c.line, {column}, CASE c.code {reason} END, c.detail,
                   json_object({raw})::VARCHAR
            FROM {CHK} AS c JOIN {view} AS s ON s.line = c.line
            WHERE c.code IN ({", ".join(map(str, codes))})
            ORDER BY c.line""",
        [import_id, imported_at, staged.source.label, lay.table.name],
    )


def log_import(
    con: duckdb.DuckDBPyConnection,
    result: ImportResult,
    *,
    started_at: datetime,
    finished_at: datetime,
    path: str,
) -> None:
    con.execute(
        f"INSERT INTO {IMPORTS} VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            result.import_id,
            started_at,
            finished_at,
            path,
            json.dumps([f.as_dict() for f in result.files]),
            json.dumps(result.quarantine_by_reason),
            json.dumps(result.warnings),
        ],
    )
