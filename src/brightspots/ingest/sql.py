"""Small helpers to write DuckDB SQL text safely: quoted names and string literals."""

from __future__ import annotations


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def normalized(expr: str) -> str:
    """A cell as the importer sees it: surrounding spaces trimmed, and an empty cell is NULL.
    (Trimming only the cells that need it is about twice as fast on large files.)"""
    return (
        f"CASE WHEN {expr} LIKE ' %' OR {expr} LIKE '% ' THEN NULLIF(trim({expr}), '') "
        f"ELSE NULLIF({expr}, '') END"
    )


def shown(expr: str, limit: int = 60) -> str:
    """A value quoted for a message: 'won!' (cut with ... past ``limit`` characters)."""
    cut = f"CASE WHEN length({expr}) > {limit} THEN left({expr}, {limit}) || '...' ELSE {expr} END"
    return f"('''' || {cut} || '''')"
