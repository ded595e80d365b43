"""Read one source into a temporary table of text cells with physical line numbers.

Nothing is converted on the way in: every cell stays the text that was in the file (Parquet values
are cast to text), so the checks that follow see exactly what the user wrote. The result is a view
``_bs_src(line, c0, c1, ...)``: ``line`` is the 1-based physical line (header = line 1, first data
row = 2), ``c<i>`` the i-th column of the file.

- CSV: UTF-8 (a BOM is fine), RFC 4180 quoting, delimiter ``,`` (or ``;``, tab or ``|`` when the
  header line uses one of them instead). A row with the wrong number of cells or an unterminated
  quote makes the file unreadable: the import stops naming the line. Blank lines are not rows.
- Parquet: ``line`` is the row number + 1, as if the file had a header line.
- Excel (.xlsx): the first non-empty row of the sheet is the header, ``line`` is the sheet's row
  number; empty rows are not rows.
"""

from __future__ import annotations

import csv
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb
import pyarrow as pa

from brightspots.ingest.discover import Source
from brightspots.ingest.encoding import AUTO, sniff, utf8_copy
from brightspots.ingest.errors import IngestError
from brightspots.ingest.excel import read_sheet
from brightspots.ingest.footer import footer_at, without_footer
from brightspots.ingest.lines import blank_offsets, count_lines, scan_lines
from brightspots.ingest.sql import ident, lit
from brightspots.ingest.tables import BLANKS, LINES, RAW, SRC, drop_temps
from brightspots.workspace import exhausted

DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True)
class Staged:
    source: Source
    header: tuple[str, ...]  # column names as written in the file, in file order
    rows: int
    #: a mapped file: its own header (the quarantine keeps rows as the file had them, from the
    #: view ``_bs_file``), and the file column each mapped table column was read from
    original: tuple[str, ...] | None = None
    sources: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # what reading the file had to do (e.g. a footer dropped)

    @staticmethod
    def cell(i: int) -> str:
        """The staged column holding the file's i-th column."""
        return f"c{i}"


def stage(con: duckdb.DuckDBPyConnection, source: Source) -> Staged:
    drop_temps(con)
    notes: list[str] = []
    if source.format == "csv":
        header = _stage_csv(con, source, notes)
    else:
        reader = {
            "parquet": _stage_parquet,
            "xlsx": _stage_xlsx,
            "query": _stage_query,
            "db": _stage_db,
        }[source.format]
        header = reader(con, source)
    rows = con.execute(f"SELECT count(*) FROM {RAW}").fetchall()[0][0]
    return Staged(source, tuple(header), int(rows), notes=tuple(notes))


# ---------------------------------------------------------------------------------------- CSV
def _header_line(source: Source) -> tuple[list[str], str]:
    name = source.label
    try:
        with source.path.open("rb") as f:
            head = f.read(1 << 16)
            f.seek(0)
            first = f.readline(1 << 20)
    except OSError as e:
        raise IngestError(f"{name}: cannot read the file ({e.strerror})") from None
    if not head.strip():
        raise IngestError(f"{name}: the file is empty; line 1 must be the header")
    if b"\0" in head:
        raise IngestError(f"{name}: not a CSV file (it holds binary data)")
    try:
        text = first.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError:
        raise IngestError(
            f"{name}, line 1: not UTF-8 text; state the file's encoding with --encoding "
            "(e.g. cp1252)"
        ) from None
    if not text.strip():
        raise IngestError(f"{name}, line 1: the header line is empty")
    counts = {d: text.count(d) for d in DELIMITERS}
    delim = max(DELIMITERS, key=lambda d: counts[d]) if any(counts.values()) else ","
    return next(csv.reader([text], delimiter=delim)), delim


def _csv_error(name: str, e: duckdb.Error) -> IngestError:
    """DuckDB's multi-line CSV error as one line naming the file and line."""
    msg = str(e)
    line = re.search(r"CSV Error on Line: (\d+)", msg)
    where = f"{name}, line {line.group(1)}" if line else name
    cells = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", msg)
    if "unicode" in msg.lower():
        what = "not UTF-8 text; state the file's encoding with --encoding (e.g. cp1252)"
    elif cells:
        what = f"{cells.group(2)} cells where the header has {cells.group(1)}"
    elif "unterminated quote" in msg.lower():
        what = "a quoted value is never closed"
    else:
        what = msg.splitlines()[0]
    original = re.search(r"Original Line: (.*)", msg)
    if original and "unicode" not in msg.lower():
        what += f" ({original.group(1).strip()[:80]})"
    return IngestError(f"{where}: not valid CSV: {what}")


def _stage_csv(con: duckdb.DuckDBPyConnection, source: Source, notes: list[str]) -> list[str]:
    stated = source.encoding
    found = sniff(source.path) if stated == AUTO else stated
    offset, lines = footer_at(source.path)
    if found in ("utf-8", "utf-8-sig") and offset is None:
        return _stage_utf8_csv(con, source)
    with tempfile.TemporaryDirectory(prefix="brightspots-") as tmp:
        path = source.path
        if offset is not None:
            notes.append(
                f"{source.label}: {len(lines)} report footer line(s) dropped ("
                + "; ".join(lines[:3])
                + ")"
            )
            cut = Path(tmp) / "cut"
            cut.mkdir()
            path = without_footer(path, offset, cut)
        if found not in ("utf-8", "utf-8-sig"):
            path = utf8_copy(path, found, Path(tmp), source.label)
        return _stage_utf8_csv(con, replace(source, path=path))


def _stage_utf8_csv(con: duckdb.DuckDBPyConnection, source: Source) -> list[str]:
    header, delim = _header_line(source)
    columns = "{" + ", ".join(f"{lit(Staged.cell(i))}: 'VARCHAR'" for i in range(len(header))) + "}"
    # the file's lines are counted by a Python thread while DuckDB (which lets go of the GIL)
    # reads it: the count no longer adds a pass over the bytes to the import's time
    with ThreadPoolExecutor(1) as pool:
        lines = pool.submit(count_lines, source.path)
        try:
            con.execute(
                f"""CREATE TEMP TABLE {RAW} AS SELECT * FROM read_csv(?, header = true,
                    auto_detect = false, columns = {columns}, delim = ?, quote = '"',
                    escape = '"', skip = 0, comment = '')""",
                [str(source.path), delim],
            )
        except duckdb.Error as e:
            if exhausted(e):
                raise  # the machine's limit, not the file's fault: the import names it
            raise _csv_error(source.label, e) from None
        # rows keep the file's order; row ids are consecutive from a base that is not 0
        # inside a transaction, so the row number is rowid - base
        sql = f"SELECT count(*), coalesce(min(rowid), 0) FROM {RAW}"
        rows, base = con.execute(sql).fetchall()[0]
        scan = scan_lines(source.path, rows, lines.result())
    cells = ", ".join(Staged.cell(i) for i in range(len(header)))
    if scan.simple(rows):
        con.execute(
            f"CREATE TEMP VIEW {SRC} AS SELECT rowid - {base} + 2 AS line, {cells} FROM {RAW}"
        )
        return header
    # multi-line values or blank lines: line = 2 + row + newlines inside earlier rows + blanks
    newlines = " + ".join(
        f"coalesce(length({c}) - length(replace({c}, chr(10), '')), 0)"
        for c in (Staged.cell(i) for i in range(len(header)))
    )
    con.execute(f"CREATE TEMP TABLE {BLANKS} (from_line BIGINT, blanks BIGINT)")
    offsets = blank_offsets(scan.blank_lines)
    if offsets:
        con.executemany(f"INSERT INTO {BLANKS} VALUES (?, ?)", offsets)
    con.execute(
        f"""CREATE TEMP TABLE {LINES} AS
            SELECT w.rid, w.line0 + coalesce(b.blanks, 0) AS line
            FROM (SELECT rid, 2 + rid - {base} + coalesce(sum(nl) OVER (
                         ORDER BY rid ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS line0
                  FROM (SELECT rowid AS rid, {newlines} AS nl FROM {RAW})) AS w
            ASOF LEFT JOIN {BLANKS} AS b ON w.line0 >= b.from_line"""
    )
    con.execute(
        f"""CREATE TEMP VIEW {SRC} AS SELECT l.line, {cells}
            FROM {RAW} AS r JOIN {LINES} AS l ON l.rid = r.rowid"""
    )
    return header


# ---------------------------------------------------------------------------------------- Parquet
def _stage_parquet(con: duckdb.DuckDBPyConnection, source: Source) -> list[str]:
    path = str(source.path)
    try:
        described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [path]).fetchall()
        header = [str(r[0]) for r in described]
        cells = ", ".join(
            f"CAST({ident(h)} AS VARCHAR) AS {Staged.cell(i)}" for i, h in enumerate(header)
        )
        # a folder of part files (a lake table): rows are numbered across the parts, in the
        # order of their names, as if they were one file
        many = "*" in path
        line = (
            "row_number() OVER (ORDER BY filename, file_row_number) + 1"
            if many
            else "file_row_number + 2"
        )
        con.execute(
            f"""CREATE TEMP TABLE {RAW} AS SELECT {line} AS line, {cells}
                FROM read_parquet(?, file_row_number = true, filename = true,
                                  union_by_name = true)""",
            [path],
        )
    except duckdb.Error as e:
        if exhausted(e):
            raise
        first = str(e).splitlines()[0]
        raise IngestError(f"{source.label}: not a readable Parquet file ({first})") from None
    names = ", ".join(Staged.cell(i) for i in range(len(header)))
    con.execute(f"CREATE TEMP VIEW {SRC} AS SELECT line, {names} FROM {RAW}")
    return header


# ---------------------------------------------------------------------------------------- Excel
def _stage_xlsx(con: duckdb.DuckDBPyConnection, source: Source) -> list[str]:
    sheet = read_sheet(source)
    arrays = {"line": pa.array(sheet.lines, pa.int64())}
    arrays.update({Staged.cell(i): pa.array(c, pa.string()) for i, c in enumerate(sheet.columns)})
    con.register("_bs_xlsx", pa.table(arrays))
    try:
        con.execute(f"CREATE TEMP TABLE {RAW} AS SELECT * FROM _bs_xlsx")
    finally:
        con.unregister("_bs_xlsx")
    names = ", ".join(Staged.cell(i) for i in range(len(sheet.header)))
    con.execute(f"CREATE TEMP VIEW {SRC} AS SELECT line, {names} FROM {RAW}")
    return sheet.header


# ---------------------------------------------------------------------------------------- query
def _stage_query(con: duckdb.DuckDBPyConnection, source: Source) -> list[str]:
    """A preset's derived rows (``TableMap.query``): ``line`` and named text columns."""
    assert source.mapped is not None and source.mapped.query is not None
    con.execute(f"CREATE TEMP TABLE {RAW} AS {source.mapped.query}")
    names = [d[0] for d in con.execute(f"SELECT * FROM {RAW} LIMIT 0").description]
    header = [n for n in names if n != "line"]
    cells = ", ".join(
        f"CAST({ident(h)} AS VARCHAR) AS {Staged.cell(i)}" for i, h in enumerate(header)
    )
    con.execute(f"CREATE TEMP VIEW {SRC} AS SELECT line, {cells} FROM {RAW}")
    return header


# ---------------------------------------------------------------------------------------- database
def _stage_db(con: duckdb.DuckDBPyConnection, source: Source) -> list[str]:
    """A database table, streamed (see ``ingest.database``)."""
    from brightspots.ingest import database

    assert source.database is not None
    header = database.stage(con, source.database, source.path.name, RAW)
    names = ", ".join(Staged.cell(i) for i in range(len(header)))
    con.execute(f"CREATE TEMP VIEW {SRC} AS SELECT line, {names} FROM {RAW}")
    return header
