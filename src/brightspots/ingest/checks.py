"""The ordered rules a row must pass, generated from the schema for one file's layout.

A row's outcome is decided by the first check it fails, in this order:

1. every cell empty -> skipped (not an error, counted);
2. ``missing_key``;
3. same key as an earlier row of the file: identical content -> repeat (counted, not an error),
   different content -> ``conflict`` naming the earlier line. The first row of a key is the one
   kept (or quarantined for its own fault), so later rows never override it;
4. ``missing_required``, ``bad_value``, ``bad_enum`` column by column in schema order;
5. the table's row rules (``closed_at_required``, ``closed_before_created``);
6. ``missing_reference`` column by column; a reference into the same table (a rep's manager, a
   parent team) is resolved last, against the workspace and the file's own valid rows.

SQL names used by the conditions: ``line``; ``n_<col>`` the normalized text of a table column;
``x<i>`` of an extra column; ``p_<col>`` the typed value; ``r_<col>`` the matched referenced key
(NULL when missing); ``first_line``, ``diff`` and ``diff_first`` for duplicate keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from brightspots import schema
from brightspots.ingest.layout import Layout
from brightspots.ingest.parse import EXPECTED
from brightspots.ingest.rules import ROW_RULES
from brightspots.ingest.sql import lit, shown
from brightspots.schema import ColumnType, Reason


class Outcome(StrEnum):
    SKIPPED = "skipped"
    REPEAT = "repeat"
    QUARANTINED = "quarantined"


@dataclass(frozen=True)
class Check:
    outcome: Outcome
    reason: Reason | None
    column: str  # SQL text expression: the column to name in the quarantine
    when: str  # SQL condition: the row fails this check
    detail: str  # SQL text expression: what is wrong, in plain words
    deferred: bool = False  # decided after the pass, by resolving references into the file
    duplicate: bool = False  # only a row repeating an earlier row's key fails it


def references(lay: Layout) -> list[schema.Column]:
    """Present columns that point at another table (self-references excluded)."""
    return [
        c
        for c in lay.table.columns
        if c.references and lay.has(c.name) and c.references.split(".")[0] != lay.table.name
    ]


def self_reference(lay: Layout) -> schema.Column | None:
    for c in lay.table.columns:
        if c.references and lay.has(c.name) and c.references.split(".")[0] == lay.table.name:
            return c
    return None


def _missing_reference_detail(col: schema.Column, value: str) -> str:
    table, key = col.references.split(".")
    where = f" matches no {key} of {table} (not in the workspace, not a valid row of this import)"
    return f"{lit(col.name + ' ')} || {shown(value)} || {lit(where)}"


Q = Outcome.QUARANTINED


def _row_level(lay: Layout) -> list[Check]:
    key = lay.table.key
    cells = [f"n_{c}" for c in lay.present] + [f"x{i}" for i in lay.extras.values()]
    conflict = f"{lit(f'same {key} as line ')} || first_line || ', different content in ' || diff"
    return [
        Check(Outcome.SKIPPED, None, "NULL", " AND ".join(f"{v} IS NULL" for v in cells), "NULL"),
        Check(Q, Reason.MISSING_KEY, lit(key), f"n_{key} IS NULL", lit(f"{key} is empty")),
        Check(
            Outcome.REPEAT, None, "NULL", "line > first_line AND diff IS NULL", "NULL", False, True
        ),
        Check(Q, Reason.CONFLICT, "diff_first", "line > first_line", conflict, False, True),
    ]


def _missing_required(lay: Layout) -> list[Check]:
    t = lay.table
    return [
        Check(
            Q,
            Reason.MISSING_REQUIRED,
            lit(c.name),
            f"n_{c.name} IS NULL",
            lit(f"{c.name} is empty; every row of {t.name} needs it"),
        )
        for c in t.columns
        if not c.nullable and c.name != t.key
    ]


def _not_parsed(reason: Reason, col: schema.Column, expected: str) -> Check:
    when = f"n_{col.name} IS NOT NULL AND p_{col.name} IS NULL"
    detail = f"{lit(col.name + ' ')} || {shown('n_' + col.name)} || {lit(' is not ' + expected)}"
    return Check(Q, reason, lit(col.name), when, detail)


def _bad_values(lay: Layout) -> list[Check]:
    return [
        _not_parsed(Reason.BAD_VALUE, c, EXPECTED[c.type])
        for c in lay.table.columns
        if c.type != ColumnType.STRING and lay.has(c.name)
    ]


def _bad_enums(lay: Layout) -> list[Check]:
    return [
        _not_parsed(Reason.BAD_ENUM, c, "one of " + ", ".join(c.enum))
        for c in lay.table.columns
        if c.enum is not None and not c.open_enum and lay.has(c.name)
    ]


def _row_rules(lay: Layout) -> list[Check]:
    names: dict[str, str] = {}
    for c in lay.table.column_names:
        names[c] = f"p_{c}" if lay.has(c) else "NULL"
        names[f"{c}_text"] = f"n_{c}" if lay.has(c) else "NULL"
    out = []
    for reason in lay.table.row_rules:
        rule = ROW_RULES[reason]
        when, detail = rule.when.format_map(names), rule.detail.format_map(names)
        out.append(Check(Q, reason, lit(rule.column), when, detail))
    return out


def _missing_references(lay: Layout, checked: set[str]) -> list[Check]:
    out = [
        Check(
            Q,
            Reason.MISSING_REFERENCE,
            lit(c.name),
            f"n_{c.name} IS NOT NULL AND r_{c.name} IS NULL",
            _missing_reference_detail(c, f"n_{c.name}"),
        )
        for c in references(lay)
        if c.name in checked
    ]
    own = self_reference(lay)
    if own is not None:
        detail = _missing_reference_detail(own, f"p_{own.name}")
        out.append(Check(Q, Reason.MISSING_REFERENCE, lit(own.name), "false", detail, True))
    return out


def checks(lay: Layout, checked: set[str]) -> list[Check]:
    """The checks in order; ``checked`` names the reference columns to verify."""
    return [
        *_row_level(lay),
        *_missing_required(lay),
        *_bad_values(lay),
        *_bad_enums(lay),
        *_row_rules(lay),
        *_missing_references(lay, checked),
    ]
