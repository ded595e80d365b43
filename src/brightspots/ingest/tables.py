"""The tables the importer writes besides the canonical ones.

Kept in the workspace (created on first import):

- ``quarantine(import_id, imported_at, file, table_name, line, column, reason, detail, raw)``:
  the rows each table's latest import rejected, ``raw`` the row as read, as a JSON object.
- ``extra_columns(table_name, key, data)``: columns the contract does not know, one JSON object
  per row.
- ``imports(import_id, started_at, finished_at, path, files, quarantine_by_reason, warnings)``:
  one row per import; ``files`` holds the per-file counts as JSON.
- ``record_sources(table_name, key, source, import_id, deleted_at, origin)``: which source (an
  export format, or a name given with ``--source``), feed (``origin``: the file, or a preset's
  kind of file) and import last delivered each record; a snapshot import sets ``deleted_at`` on
  the records of the feeds it delivers that they no longer hold (kept, left out of analysis).

Temporary, per file, inside the import's transaction: ``_bs_raw`` (the cells as read),
``_bs_src`` (a view adding line numbers), ``_bs_lines`` / ``_bs_blanks`` (line numbering when a
file has blank lines or values spanning lines), ``_bs_chk`` (each row's outcome).
"""

from __future__ import annotations

import duckdb

from brightspots.workspace import RECORDS

QUARANTINE = "quarantine"
EXTRA = "extra_columns"
IMPORTS = "imports"

RAW = "_bs_raw"
SRC = "_bs_src"
LINES = "_bs_lines"
BLANKS = "_bs_blanks"
CHK = "_bs_chk"
FILE = "_bs_file"  # a mapped import: the file as read
NAMED = "_bs_named"  # ... its cells named after its header
MAPPED = "_bs_mapped"  # ... and its rows as the table's columns
RECORDS_NEW = "_bs_records_new"  # record_sources rebuilt without its old index


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {QUARANTINE} (import_id VARCHAR, imported_at TIMESTAMP,
            file VARCHAR, table_name VARCHAR, line BIGINT, "column" VARCHAR, reason VARCHAR,
            detail VARCHAR, raw VARCHAR)"""
    )
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {EXTRA} (table_name VARCHAR, key VARCHAR, data VARCHAR)"
    )
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {IMPORTS} (import_id VARCHAR PRIMARY KEY,
            started_at TIMESTAMP, finished_at TIMESTAMP, path VARCHAR, files VARCHAR,
            quarantine_by_reason VARCHAR, warnings VARCHAR)"""
    )
    ensure_records(con)


def ensure_records(con: duckdb.DuckDBPyConnection) -> None:
    """``record_sources``, one row per (table_name, key), kept unique by ``store.record_sources``
    rather than by a PRIMARY KEY: the index of an earlier version cost a third of a 10M-row
    import's time and gigabytes of memory, so a table that has it is rebuilt without it."""
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {RECORDS} (table_name VARCHAR, key VARCHAR,
            source VARCHAR, import_id VARCHAR, deleted_at TIMESTAMP, origin VARCHAR)"""
    )
    con.execute(f"ALTER TABLE {RECORDS} ADD COLUMN IF NOT EXISTS origin VARCHAR")
    indexed = con.execute(
        "SELECT count(*) FROM duckdb_constraints() WHERE table_name = ? "
        "AND constraint_type = 'PRIMARY KEY' AND database_name = current_database()",
        [RECORDS],
    ).fetchall()[0][0]
    if indexed:
        con.execute(f"CREATE TABLE {RECORDS_NEW} AS SELECT * FROM {RECORDS}")
        con.execute(f"DROP TABLE {RECORDS}")
        con.execute(f"ALTER TABLE {RECORDS_NEW} RENAME TO {RECORDS}")


def drop_sources(con: duckdb.DuckDBPyConnection) -> None:
    """The file's cells as read (once its quarantined rows are recorded, only ``_bs_chk`` is
    needed: dropping them early halves the import's memory)."""
    for v in (SRC, NAMED, FILE):
        con.execute(f"DROP VIEW IF EXISTS {v}")
    for t in (MAPPED, LINES, BLANKS, RAW):
        con.execute(f"DROP TABLE IF EXISTS {t}")


def drop_temps(con: duckdb.DuckDBPyConnection) -> None:
    drop_sources(con)
    con.execute(f"DROP TABLE IF EXISTS {CHK}")
