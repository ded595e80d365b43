"""Which files of an import path hold which canonical tables.

A path is a folder of table files (``reps.csv``, ``Accounts.parquet``, ``opportunities.xlsx``,
...), a workbook whose sheet names are table names, or one table file. Names are matched to
tables case-insensitively; anything else is reported back, never an error.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from brightspots import schema
from brightspots.ingest.errors import IngestError
from brightspots.ingest.mapping import Mapping, TableMap

FORMATS = {".csv": "csv", ".parquet": "parquet", ".xlsx": "xlsx"}


@dataclass(frozen=True)
class Source:
    """One table's rows: a CSV or Parquet file, or one sheet of a workbook; with a mapping, the
    table map that turns the file's columns into the table's."""

    table: str
    path: Path
    format: str  # csv, parquet or xlsx
    sheet: str | None = None
    mapped: TableMap | None = None
    encoding: str = "auto"  # a CSV file's text encoding ("auto": detected)
    shared: bool = False  # the file feeds several tables: its label names this one
    database: str | None = None  # a database URL: ``path``'s name is the table's

    @property
    def label(self) -> str:
        """How reports and the quarantine name it: ``reps.csv``, ``book.xlsx[Reps]``, or
        ``emails.csv (buyer_events)`` for a file that feeds several tables."""
        if self.sheet is not None and self.path.stem.strip().lower() != self.table:
            return f"{self.path.name}[{self.sheet}]"
        name = self.path.name
        if self.database is not None:
            name = f"{name} (database table)"
        if "*" in name:  # Parquet parts in a folder
            name = f"{self.path.parent.name}/{name}"
        if self.shared:
            return f"{name} ({self.table})"
        return name


@dataclass(frozen=True)
class Discovery:
    sources: list[Source]  # in schema.IMPORT_ORDER
    ignored: list[str]  # names of files and sheets that are not tables of the contract


def _table_for(name: str) -> str | None:
    key = name.strip().lower()
    return key if key in schema.BY_NAME else None


def _sheet_names(path: Path) -> list[str]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many kinds for a damaged or foreign file
        raise IngestError(f"{path.name}: not a readable .xlsx workbook ({e})") from None
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def _from_file(path: Path, ignored: list[str]) -> list[Source]:
    fmt = FORMATS.get(path.suffix.lower())
    table = _table_for(path.stem)
    if fmt is None:
        ignored.append(path.name)
        return []
    if fmt != "xlsx":
        if table is None:
            ignored.append(path.name)
            return []
        return [Source(table, path, fmt)]
    sheets = _sheet_names(path)
    if table is not None:  # one workbook per table: the sheet named after it, else the first
        named = [s for s in sheets if _table_for(s) == table]
        return [Source(table, path, fmt, named[0] if named else sheets[0])]
    found = []
    for s in sheets:
        t = _table_for(s)
        if t is None:
            ignored.append(f"{path.name}[{s}]")
        else:
            found.append(Source(t, path, fmt, s))
    return found


def discover(path: Path) -> Discovery:
    """The table sources under ``path``, one per table at most, in import order."""
    if not path.exists():
        raise IngestError(f"{path}: no such file or folder")
    ignored: list[str] = []
    if path.is_dir():
        # hidden files and Office lock files (~$book.xlsx) are not data
        files = sorted(p for p in path.iterdir() if not p.name.startswith((".", "~$")))
        sources = []
        for p in files:
            if p.is_file():
                sources.extend(_from_file(p, ignored))
            else:
                ignored.append(p.name + "/")
    else:
        sources = _from_file(path, ignored)
        if not sources:
            known = ", ".join(t.name for t in schema.TABLES)
            raise IngestError(
                f"{path.name}: not a table file of the data contract (.csv, .parquet or .xlsx "
                f"named after a table, or a workbook with sheets named {known})"
            )
    by_table: dict[str, Source] = {}
    for s in sources:
        if s.table in by_table:
            raise IngestError(
                f"{by_table[s.table].label} and {s.label} both hold table {s.table}; "
                "keep one of them"
            )
        by_table[s.table] = s
    ordered = [by_table[t] for t in schema.IMPORT_ORDER if t in by_table]
    return Discovery(ordered, ignored)


def _parts(folder: Path, name: str) -> list[Path]:
    """The Parquet files a mapping's ``file`` names when it is a folder or a pattern."""
    if "*" in name:
        return sorted(p for p in folder.glob(name) if p.suffix.lower() == ".parquet")
    sub = folder / name
    return sorted(sub.glob("*.parquet")) if sub.is_dir() else []


def discover_mapped(path: Path, mapping: Mapping) -> Discovery:
    """The sources a mapping names: its files under the folder ``path`` (or ``path`` itself when
    it is the one file the mapping names), in import order; a table may have several files."""
    if not path.exists():
        raise IngestError(f"{path}: no such file or folder")
    folder = path if path.is_dir() else path.parent
    files = {p.name.lower(): p for p in folder.iterdir() if p.is_file()}
    sources = []
    for tm in mapping.tables:
        if tm.query is not None:
            sources.append(Source(tm.table, folder / tm.file, "query", None, tm))
            continue
        found = files.get(tm.file.lower())
        part_files = _parts(folder, tm.file) if found is None and path.is_dir() else []
        if part_files:  # a folder (or pattern) of Parquet part files: one table
            pattern = tm.file if "*" in tm.file else tm.file.rstrip("/") + "/*.parquet"
            sources.append(
                Source(tm.table, folder / pattern, "parquet", None, tm, mapping.encoding)
            )
            continue
        if found is None or (not path.is_dir() and found != path):
            where = f"in {folder}" if path.is_dir() else f"(the import path is {path.name})"
            raise mapping.fail(f"{tm.where}.file", f"no file {tm.file!r} {where}")
        fmt = FORMATS.get(found.suffix.lower())
        if fmt is None:
            raise mapping.fail(
                f"{tm.where}.file", f"{found.name} is not a .csv, .parquet or .xlsx file"
            )
        sheet = tm.sheet
        if fmt == "xlsx":
            sheets = _sheet_names(found)
            if sheet is None:
                sheet = sheets[0]
            elif sheet not in sheets:
                raise mapping.fail(
                    f"{tm.where}.sheet",
                    f"{found.name} has no sheet {sheet!r}; its sheets are: {', '.join(sheets)}",
                )
        sources.append(Source(tm.table, found, fmt, sheet, tm, mapping.encoding))
    uses = Counter(s.path for s in sources)
    sources = [replace(s, shared=True) if uses[s.path] > 1 else s for s in sources]
    named = {s.path for s in sources} | {mapping.path.resolve()}
    named |= {files[a.file.lower()] for a in mapping.aux if a.file.lower() in files}
    ignored = (
        sorted(p.name for p in files.values() if p not in named and p.resolve() not in named)
        if path.is_dir()
        else []
    )
    return Discovery(sources, ignored)


def discover_database(url: str, mapping: Mapping | None) -> Discovery:
    """The tables to read from the database at ``url``: those named after the contract's, or
    those a mapping names (its ``file`` is the table's name, ``schema.table`` allowed)."""
    from brightspots.ingest import database

    found = database.tables(url)
    sources = []
    if mapping is None:
        for t in schema.IMPORT_ORDER:
            if t in found:
                sources.append(Source(t, Path(found[t]), "db", database=url))
        ignored = sorted(n for k, n in found.items() if k not in schema.BY_NAME)
        return Discovery(sources, ignored)
    for tm in mapping.tables:
        key = tm.file.lower()
        name = found.get(key, tm.file if "." in tm.file else None)
        if name is None:
            raise mapping.fail(
                f"{tm.where}.file",
                f"no table {tm.file!r} in {database.shown(url)}; its tables are: "
                + (", ".join(sorted(found.values())) or "none"),
            )
        sources.append(Source(tm.table, Path(name), "db", None, tm, database=url))
    return Discovery(sources, [])
