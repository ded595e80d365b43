"""Physical line numbers of CSV records.

DuckDB's CSV reader drops blank lines and lets quoted values span lines, so a record's position
in the file is not its row number. A pass over the bytes (memchr speed, no per-row Python) counts
the newlines and finds the blank lines outside quoted values; with the number of newlines inside
each record's values (computed in SQL) that gives every record's physical line exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 24
BLANK_PATTERNS = (b"\n\n", b"\n\r\n")


@dataclass(frozen=True)
class LineScan:
    """The newline layout of a text file (1-based line numbers, header = line 1)."""

    lines: int  # physical lines, not counting blank lines at the very end
    blank_lines: tuple[int, ...]  # empty lines outside quoted values, before the last record

    def simple(self, records: int) -> bool:
        """True when record k (0-based) sits on line k + 2: no blank lines, no multi-line values."""
        return not self.blank_lines and self.lines == records + 1


def _chunks(path: Path):
    """The file in chunks, each with the two bytes before it (a virtual line end at the start,
    so an empty first line counts as a blank line)."""
    tail = b"\n"
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            yield tail, chunk
            tail = (tail + chunk)[-2:]


def _blank_ends(buf: bytes, start: int) -> list[int]:
    """Positions in ``buf`` (at or after ``start``) of newlines that end an empty line."""
    found: set[int] = set()
    for pattern in BLANK_PATTERNS:
        i = buf.find(pattern)
        while i >= 0:
            end = i + len(pattern) - 1
            if end >= start:
                found.add(end)
            i = buf.find(pattern, i + 1)
    return sorted(found)


def _blank_lines(path: Path) -> list[int]:
    """Line numbers of empty lines that are not inside a quoted value (RFC 4180: an even number
    of ``"`` before a line end means it is outside quotes)."""
    newlines = quotes = 0
    blanks: list[int] = []
    for tail, chunk in _chunks(path):
        at_nl, at_q, prev = newlines, quotes, 0
        for end in _blank_ends(tail + chunk, len(tail)):
            at = end - len(tail)
            at_nl += chunk.count(b"\n", prev, at)
            at_q += chunk.count(b'"', prev, at)
            prev = at
            if at_q % 2 == 0:
                blanks.append(at_nl + 1)
        newlines += chunk.count(b"\n")
        quotes += chunk.count(b'"')
    return blanks


def count_lines(path: Path) -> int:
    """Physical lines of the file (a last line without a line end counts). One pass at memchr
    speed; the stager runs it while DuckDB reads the file."""
    newlines = 0
    last = b""
    for _, chunk in _chunks(path):
        newlines += chunk.count(b"\n")
        last = chunk[-1:]
    return newlines + (1 if last not in (b"", b"\n") else 0)


def _trailing_blanks(path: Path) -> int:
    """Empty lines at the very end of the file (a lower bound when there are very many)."""
    with path.open("rb") as f:
        f.seek(max(0, path.stat().st_size - (1 << 16)))
        parts = f.read().split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()  # the last line's own line end
    n = 0
    while len(parts) > 1 and parts[-1] in (b"", b"\r"):
        parts.pop()
        n += 1
    return n


def scan_lines(path: Path, records: int, lines: int | None = None) -> LineScan:
    """Where the ``records`` rows DuckDB read from ``path`` sit in the file. The common case (no
    blank line, no value spanning lines) costs one newline count over the bytes (``lines``:
    that count, when already made)."""
    if lines is None:
        lines = count_lines(path)
    if lines - _trailing_blanks(path) == records + 1:
        return LineScan(records + 1, ())
    blanks = _blank_lines(path)
    # blank lines at the very end follow every record: they change no line number
    while blanks and blanks[-1] == lines:
        blanks.pop()
        lines -= 1
    return LineScan(lines, tuple(blanks))


def blank_offsets(blank_lines: tuple[int, ...]) -> list[tuple[int, int]]:
    """``(L, n)`` pairs: a record whose line, counting no blank lines, is ``L`` or more has at
    least ``n`` blank lines above it. Record line = line without blanks + the largest such n."""
    out: list[tuple[int, int]] = []
    for j, b in enumerate(blank_lines):
        at = b - j  # the blank-free line number the blank line sits just above
        if out and out[-1][0] == at:
            out[-1] = (at, j + 1)
        else:
            out.append((at, j + 1))
    return out
