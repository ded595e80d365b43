"""Warehouse sources: tables in a database reachable by Ibis, imported like files.

``brightspots import postgresql://user@host/db --workspace ws`` reads the tables named after the
contract's (``reps``, ``accounts``, ...; matched case-insensitively, in the database's default
schema); with ``--mapping``, a table map's ``file`` names the database table (``crm.deals``).
Rows stream from the database as Arrow batches into the import's staging table: a table is never
held whole in Python. Every value is read as text, as from a file, so the same checks and
quarantine apply; a row's "line" is its position in the stream (row 1 is line 2, as if the table
had a header line). Any URL ``ibis.connect`` accepts works (``postgresql://``, ``duckdb://``,
``sqlite://``, ...); the password never appears in reports.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import duckdb

from brightspots.ingest.errors import IngestError
from brightspots.ingest.sql import ident

URL = re.compile(r"^[a-z][a-z0-9+]*://", re.IGNORECASE)
BATCH_ROWS = 100_000


def is_url(text: str) -> bool:
    return bool(URL.match(str(text)))


def shown(url: str) -> str:
    """The URL without its password (in the user part, or a password query parameter)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        cred, host = netloc.rsplit("@", 1)
        if ":" in cred:
            netloc = f"{cred.split(':', 1)[0]}:***@{host}"
    query = "&".join(
        f"{k}=***" if k.lower() in ("password", "pass", "pwd") else f"{k}={v}"
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    )
    if netloc == parts.netloc and "***" not in query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


@cache
def connect(url: str) -> Any:
    import ibis

    try:
        return ibis.connect(url)
    except Exception as e:  # drivers raise many kinds
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise IngestError(f"{shown(url)}: cannot connect ({first})") from None


def tables(url: str) -> dict[str, str]:
    """Lower-cased table name -> the database's name for it."""
    path = _duckdb_file(url)
    if path is not None:
        try:
            with duckdb.connect(path, read_only=True) as c:
                names = [r[0] for r in c.execute("SHOW TABLES").fetchall()]
        except duckdb.Error as e:
            raise IngestError(f"{url}: cannot open ({str(e).splitlines()[0]})") from None
        return {n.lower(): n for n in names}
    return {name.lower(): name for name in connect(url).list_tables()}


def _duckdb_file(url: str) -> str | None:
    m = re.match(r"^duckdb://(.+)$", url)
    return m.group(1) if m and m.group(1) not in ("", ":memory:") else None


def stage(con: duckdb.DuckDBPyConnection, url: str, name: str, raw: str) -> list[str]:
    """Stream ``name`` into the temporary table ``raw`` (``line`` and text cells ``c<i>``);
    returns the column names. A DuckDB file is attached read-only and read by SQL."""
    path = _duckdb_file(url)
    if path is not None:
        return _stage_attached(con, path, name, raw)
    backend = connect(url)
    database = None
    table = name
    if "." in name:
        database, table = name.rsplit(".", 1)
    try:
        t = backend.table(table, database=database) if database else backend.table(table)
    except Exception as e:  # noqa: BLE001 - the backend's own error, reworded
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise IngestError(f"{shown(url)}: no table {name!r} ({first})") from None
    header = list(t.columns)
    reader = t.to_pyarrow_batches(chunk_size=BATCH_ROWS)
    cells = ", ".join(
        f'CAST("{h.replace(chr(34), chr(34) * 2)}" AS VARCHAR) AS c{i}'
        for i, h in enumerate(header)
    )
    con.register("_bs_arrow", reader)
    try:
        con.execute(
            f"CREATE TEMP TABLE {raw} AS SELECT row_number() OVER () + 1 AS line, {cells} "
            "FROM _bs_arrow"
        )
    finally:
        con.unregister("_bs_arrow")
    return header


def _stage_attached(con: duckdb.DuckDBPyConnection, path: str, name: str, raw: str) -> list[str]:
    attached = {
        r[0] for r in con.execute("SELECT database_name FROM duckdb_databases()").fetchall()
    }
    if "bs_source" not in attached:
        try:
            con.execute("ATTACH ? AS bs_source (READ_ONLY)", [path])
        except duckdb.Error as e:
            raise IngestError(
                f"duckdb://{path}: cannot attach ({str(e).splitlines()[0]})"
            ) from None
    qualified = "bs_source." + ".".join(ident(p) for p in name.split("."))
    try:
        header = [d[0] for d in con.execute(f"SELECT * FROM {qualified} LIMIT 0").description]
    except duckdb.Error:
        raise IngestError(f"duckdb://{path}: no table {name!r}") from None
    cells = ", ".join(
        f'CAST("{h.replace(chr(34), chr(34) * 2)}" AS VARCHAR) AS c{i}'
        for i, h in enumerate(header)
    )
    con.execute(
        f"CREATE TEMP TABLE {raw} AS SELECT row_number() OVER () + 1 AS line, {cells} "
        f"FROM {qualified}"
    )
    return header


def detach(con: duckdb.DuckDBPyConnection) -> None:
    attached = {
        r[0] for r in con.execute("SELECT database_name FROM duckdb_databases()").fetchall()
    }
    if "bs_source" in attached:
        con.execute("DETACH bs_source")
