"""Where the generator puts each table as it makes it: ``MemorySink`` keeps them (``generate``),
``files.FileSink`` writes them at once (``synthesize``). The two biggest tables come as
``Slices``, made a slice of rows at a time, so that a file sink never holds them whole."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import pyarrow as pa

from brightspots.synth.config import Progress


@dataclass(frozen=True)
class Slices:
    """A canonical table of ``n`` rows, made on demand: ``build(start, stop)`` gives rows
    ``[start, stop)``, and any split into slices gives the same rows."""

    n: int
    build: Callable[[int, int], pa.Table]

    def table(self) -> pa.Table:
        """The whole table (one slice)."""
        return self.build(0, self.n)

    def pieces(self, size: int) -> Iterator[pa.Table]:
        """Slices of at most ``size`` rows in order (one empty slice when there are no rows)."""
        if size < 1:
            raise ValueError(f"slice size must be positive, got {size}")
        for start in range(0, max(self.n, 1), size):
            yield self.build(start, min(self.n, start + size))


class Sink(Protocol):
    rows: dict[str, int]  # rows per table put so far

    def put(self, name: str, table: pa.Table | Slices, progress: Progress | None = None) -> None:
        """Take table ``name``; ``progress`` (if given) hears how far a sliced table got."""
        ...


class MemorySink:
    """Keeps every table whole (the sliced ones made in one slice)."""

    def __init__(self) -> None:
        self.tables: dict[str, pa.Table] = {}
        self.rows: dict[str, int] = {}

    def put(self, name: str, table: pa.Table | Slices, progress: Progress | None = None) -> None:
        whole = table if isinstance(table, pa.Table) else table.table()
        self.tables[name] = whole
        self.rows[name] = whole.num_rows
