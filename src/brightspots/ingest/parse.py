"""How a text cell becomes a typed value, as SQL generated from a schema column.

Every expression takes the normalized text (trimmed, empty = NULL) and yields the typed value, or
NULL when the text does not parse: a non-NULL text with a NULL result is a ``bad_value``.

- int: digits with an optional sign (``12``, ``-3``, also ``12.0`` as written by spreadsheets).
- float / money: a plain decimal number, optional exponent; no currency sign, no thousands
  separator, no NaN or infinity.
- bool: true/false, yes/no, 1/0 in any letter case.
- date: ``YYYY-MM-DD`` (a midnight time such as ``T00:00:00`` is accepted and dropped).
- timestamp: ISO 8601 ``YYYY-MM-DD[Thh:mm[:ss[.fff]]][Z|+hh:mm|+hhmm|+hh]``; a date alone is
  midnight UTC, no offset means UTC, an offset is honoured; stored as naive UTC.
- enum: compared lower-cased; stored lower-cased. ``open_enum`` columns keep other text as is.

Dates and timestamps in the common shapes (``YYYY-MM-DD``, ``YYYY-MM-DD hh:mm:ss``, ...) take a
fast path: a GLOB pattern and a plain cast, which reads them exactly as the rule does. Other text
goes through the full rule (a regular expression, and the time-zone-aware cast only when the text
holds an offset): the time-zone-aware cast of every value cost half the checks of a timestamp.
"""

from __future__ import annotations

from brightspots.ingest.sql import lit
from brightspots.schema import Column, ColumnType

INT_RE = r"[+-]?[0-9]+(\.0*)?"
NUMBER_RE = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"
DATE_RE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ]00:00(:00(\.0+)?)?([Zz]|[+-]00(:?00)?)?)?"
TIMESTAMP_RE = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"([Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)?)?"
)
_D = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"
_T = "[0-9][0-9]:[0-9][0-9]:[0-9][0-9]"
#: GLOB patterns of timestamps without an offset, which ``CAST(... AS TIMESTAMP)`` reads as the
#: rule does (a date alone is midnight; ``Z`` is UTC)
PLAIN_TIMESTAMPS = (
    f"{_D} {_T}",
    f"{_D}T{_T}",
    f"{_D}T{_T}Z",
    f"{_D}T{_T}.[0-9][0-9][0-9]Z",
    _D,
)
TRUE_WORDS = ("true", "yes", "1")
FALSE_WORDS = ("false", "no", "0")

#: what a value of each type must look like, for messages ("... is not a date (YYYY-MM-DD)")
EXPECTED = {
    ColumnType.INT: "a whole number",
    ColumnType.FLOAT: "a number",
    ColumnType.MONEY: "a number (digits only: no currency sign or thousands separator)",
    ColumnType.BOOL: "true or false (also yes/no, 1/0)",
    ColumnType.DATE: "a date (YYYY-MM-DD)",
    ColumnType.TIMESTAMP: (
        "an ISO 8601 timestamp (e.g. 2024-03-31, 2024-03-31T14:05:00Z, 2024-03-31T16:05:00+02:00)"
    ),
}


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(lit(v) for v in values) + ")"


def typed(col: Column, v: str) -> str:
    """SQL for the typed value of normalized text ``v`` (NULL when it does not parse)."""
    t = col.type
    if t == ColumnType.STRING:
        if col.enum is None:
            return v
        allowed = _in(col.enum)
        if col.open_enum:
            return f"CASE WHEN lower({v}) IN {allowed} THEN lower({v}) ELSE {v} END"
        return f"CASE WHEN lower({v}) IN {allowed} THEN lower({v}) END"
    if t == ColumnType.INT:
        return (
            f"CASE WHEN regexp_full_match({v}, {lit(INT_RE)}) "
            f"THEN TRY_CAST(split_part({v}, '.', 1) AS BIGINT) END"
        )
    if t in (ColumnType.FLOAT, ColumnType.MONEY):
        return (
            f"CASE WHEN regexp_full_match({v}, {lit(NUMBER_RE)}) "
            f"AND isfinite(TRY_CAST({v} AS DOUBLE)) THEN TRY_CAST({v} AS DOUBLE) END"
        )
    if t == ColumnType.BOOL:
        return (
            f"CASE WHEN lower({v}) IN {_in(TRUE_WORDS)} THEN true "
            f"WHEN lower({v}) IN {_in(FALSE_WORDS)} THEN false END"
        )
    if t == ColumnType.DATE:
        return (
            f"CASE WHEN {v} GLOB {lit(_D)} THEN TRY_CAST({v} AS DATE) "
            f"WHEN regexp_full_match({v}, {lit(DATE_RE)}) "
            f"THEN TRY_CAST(left({v}, 10) AS DATE) END"
        )
    if t == ColumnType.TIMESTAMP:
        plain = " OR ".join(f"{v} GLOB {lit(g)}" for g in PLAIN_TIMESTAMPS)
        offset = f"contains(substr({v}, 11), '+') OR contains(substr({v}, 11), '-')"
        return (
            f"CASE WHEN {plain} THEN TRY_CAST({v} AS TIMESTAMP) "
            f"WHEN regexp_full_match({v}, {lit(TIMESTAMP_RE)}) THEN CASE WHEN {offset} "
            f"THEN timezone('UTC', TRY_CAST(upper({v}) AS TIMESTAMPTZ)) "
            f"ELSE TRY_CAST(upper({v}) AS TIMESTAMP) END END"
        )
    raise ValueError(f"no parser for column type {t}")  # pragma: no cover
