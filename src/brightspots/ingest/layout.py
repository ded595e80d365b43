"""Which column of a file is which column of its table, and which are extra.

Header names are matched to the table's columns trimmed and case-insensitively. Columns the
contract does not know are kept aside as "extra" (stored as JSON in ``extra_columns``) unless they
are empty in every row. A file without the key column, or without a column that may not be empty,
cannot be imported.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from brightspots import schema
from brightspots.ingest.errors import IngestError
from brightspots.ingest.sql import normalized
from brightspots.ingest.stage import Staged
from brightspots.ingest.tables import SRC


@dataclass(frozen=True)
class Layout:
    table: schema.Table
    names: tuple[str, ...]  # every file column's display name (unnamed: column<N>)
    present: dict[str, int]  # canonical column name -> file column index
    extras: dict[str, int]  # extra column display name -> file column index (not all empty)

    def has(self, column: str) -> bool:
        return column in self.present


def layout(con: duckdb.DuckDBPyConnection, staged: Staged, table: schema.Table) -> Layout:
    label = staged.source.label
    names = tuple(h.strip() or f"column{i + 1}" for i, h in enumerate(staged.header))
    seen: dict[str, int] = {}
    for i, h in enumerate(staged.header):
        key = h.strip().lower()
        if not key:
            continue
        if key in seen:
            raise IngestError(
                f"{label}: column {h.strip()!r} appears twice (columns {seen[key] + 1} and "
                f"{i + 1}); keep one"
            )
        seen[key] = i
    present = {c: seen[c] for c in table.column_names if c in seen}
    found = ", ".join(names) or "none"
    if table.key not in present:
        raise IngestError(
            f"{label}: no {table.key} column (the key of {table.name}); the columns are: {found}"
        )
    for c in table.columns:
        if not c.nullable and c.name not in present:
            raise IngestError(
                f"{label}: no {c.name} column, which {table.name} requires; the columns are: "
                f"{found}"
            )
    candidates = {names[i]: i for i in range(len(names)) if i not in present.values()}
    extras: dict[str, int] = {}
    if candidates:
        counts = ", ".join(f"count({normalized(Staged.cell(i))})" for i in candidates.values())
        filled = con.execute(f"SELECT {counts} FROM {SRC}").fetchall()[0]
        extras = {n: i for (n, i), k in zip(candidates.items(), filled, strict=True) if k}
    return Layout(table, names, present, extras)
