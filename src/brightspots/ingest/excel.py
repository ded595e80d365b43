"""One sheet of an .xlsx workbook as text cells, the way a CSV export of it would read.

The first non-empty row is the header; a row's line is its row number in the sheet. Empty rows
are not rows (as blank lines in a CSV). Cells become text: dates and times in ISO 8601,
booleans ``true``/``false``, whole floats without ``.0``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from brightspots.ingest.discover import Source
from brightspots.ingest.errors import IngestError


@dataclass(frozen=True)
class Sheet:
    header: list[str]
    lines: list[int]  # sheet row number of each data row
    columns: list[list[str | None]]  # one list of cells per header column


def _text(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime | date | time):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return str(v)


def read_sheet(source: Source) -> Sheet:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(source.path, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many kinds for a damaged or foreign file
        raise IngestError(f"{source.label}: not a readable .xlsx workbook ({e})") from None
    header: list[str] | None = None
    lines: list[int] = []
    columns: list[list[str | None]] = []
    try:
        for n, row in enumerate(wb[source.sheet].iter_rows(min_row=1, values_only=True), 1):
            cells = [_text(v) for v in row]
            if all(c is None or c == "" for c in cells):
                continue
            if header is None:
                header = [c or "" for c in cells]
                columns = [[] for _ in header]
                continue
            for _ in range(len(cells) - len(header)):  # cells right of the header: unnamed
                header.append("")
                columns.append([None] * len(lines))
            lines.append(n)
            for i, col in enumerate(columns):
                col.append(cells[i] if i < len(cells) else None)
    finally:
        wb.close()
    if header is None:
        raise IngestError(f"{source.label}: the sheet is empty; row 1 must be the header")
    return Sheet(header, lines, columns)
