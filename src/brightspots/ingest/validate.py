"""Run the checks of one staged file as set-based SQL: every row gets an outcome code.

The result is a temporary table ``_bs_chk(line, code, op, col, detail, p_<col>..., extra)``:
``code`` 0 is a valid row, otherwise ``k`` for ``checks[k - 1]`` (see ``checks.py``); ``p_<col>``
are the typed values, ``extra`` the row's extra columns as JSON. The same pass compares each row
with the stored one, so the upsert needs no second join: ``op`` is 1 for a new key, 2 for a
changed row, 0 for an identical one.

The statement is cut to what the file and the table need: the search for repeated keys (a
grouping of every key) only when ``has_duplicate_keys`` finds some, the comparison with stored
rows only when the table holds rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from brightspots.ingest.checks import Check, Outcome, checks, references, self_reference
from brightspots.ingest.layout import Layout
from brightspots.ingest.parse import typed
from brightspots.ingest.sql import ident, lit, normalized
from brightspots.ingest.stage import Staged
from brightspots.ingest.tables import CHK, EXTRA, SRC

INSERT, UPDATE, SAME = 1, 2, 0


@dataclass(frozen=True)
class Checked:
    layout: Layout
    checks: list[Check]  # code k is checks[k - 1]
    counts: dict[int, int]  # code -> rows
    ops: dict[int, int]  # op -> valid rows

    def count(self, outcome: Outcome) -> int:
        return sum(v for k, v in self.counts.items() if k and self.checks[k - 1].outcome == outcome)

    def quarantine_codes(self) -> list[int]:
        return [k for k, c in enumerate(self.checks, 1) if c.outcome == Outcome.QUARANTINED]

    def later_duplicate_codes(self) -> list[int]:
        """The codes of rows repeating the key of an earlier row (a repeat, a conflict): every
        other row with a key is the first of its key."""
        return [k for k, c in enumerate(self.checks, 1) if c.duplicate]


def _case_code(pairs: list[tuple[int, str]]) -> str:
    """The value for the row's code (NULL for a valid row, tested first: most rows are)."""
    whens = " ".join(f"WHEN {k} THEN {v}" for k, v in pairs)
    return f"CASE WHEN code = 0 THEN NULL ELSE CASE code {whens} END END" if pairs else "NULL"


def _duplicate_diff(lay: Layout) -> tuple[str, str]:
    """SQL for the columns in which a row differs from the first row of its key (``s`` vs
    ``f``): all of them, comma-separated, and the first one."""
    compared = [(c, f"n_{c}") for c in lay.present] + [(x, f"x{i}") for x, i in lay.extras.items()]
    cases = ", ".join(
        f"CASE WHEN s.{v} IS DISTINCT FROM f.{v} THEN {lit(name)} END" for name, v in compared
    )
    return f"NULLIF(concat_ws(', ', {cases}), '')", f"coalesce({cases})"


def _reference_joins(lay: Layout, checked: set[str]) -> tuple[str, str]:
    """LEFT JOINs of each checked reference column to its table's keys, and the columns."""
    joins, cols = "", ""
    for c in references(lay):
        if c.name in checked:
            table, key = c.references.split(".")
            joins += (
                f" LEFT JOIN (SELECT {ident(key)} AS k FROM {ident(table)}) AS r_{c.name}"
                f" ON r_{c.name}.k = s.n_{c.name}"
            )
            cols += f", r_{c.name}.k AS r_{c.name}"
    return joins, cols


def _stored_join(lay: Layout, old_extras: bool, stored: bool) -> tuple[str, str, str]:
    """The LEFT JOIN to the stored row of the same key, its columns, and the ``op`` CASE
    (``stored``: the table holds rows; when it holds none every valid row is new).

    Rows are compared by a 64-bit hash of all their columns (typed alike on both sides), which
    keeps the join narrow; two different rows share a hash with probability 2^-64."""
    t = lay.table
    if not stored:
        return "", "", str(INSERT)
    stored = ", ".join(ident(c.name) for c in t.columns)
    new = ", ".join(f"p_{c.name}" if lay.has(c.name) else "NULL" for c in t.columns)
    join = (
        f" LEFT JOIN (SELECT {ident(t.key)} AS k, hash({stored}) AS h FROM {ident(t.name)}) AS t"
        f" ON t.k = s.n_{t.key}"
    )
    cols = ", t.k AS t_key, t.h AS t_hash"
    differs = [f"t_hash <> hash({new})"]
    if lay.extras or old_extras:
        join += f" LEFT JOIN {EXTRA} AS e ON e.table_name = {lit(t.name)} AND e.key = s.n_{t.key}"
        cols += ", e.data AS t_extra"
        differs.append("extra IS DISTINCT FROM t_extra")
    op = (
        f"CASE WHEN t_key IS NULL THEN {INSERT} WHEN {' OR '.join(differs)} THEN {UPDATE} "
        f"ELSE {SAME} END"
    )
    return join, cols, op


def _extra_json(lay: Layout) -> str:
    if not lay.extras:
        return "NULL"
    pairs = ", ".join(f"{lit(x)}, s.x{i}" for x, i in lay.extras.items())
    any_set = " OR ".join(f"s.x{i} IS NOT NULL" for i in lay.extras.values())
    return f"CASE WHEN {any_set} THEN json_object({pairs})::VARCHAR END"


def check_sql(
    lay: Layout,
    the_checks: list[Check],
    checked: set[str],
    old_extras: bool,
    *,
    duplicates: bool = True,
    stored: bool = True,
) -> str:
    """The one statement that classifies every row of ``_bs_src`` into ``_bs_chk``.

    ``duplicates``: some key occurs on more than one row (else the search for them and the
    comparison with the first row of a key are left out); ``stored``: the table holds rows (else
    there is nothing to compare with, and every valid row is new)."""
    key = lay.table.key
    norm = [f"{normalized(Staged.cell(i))} AS n_{c}" for c, i in lay.present.items()]
    norm += [f"{normalized(Staged.cell(i))} AS x{i}" for i in lay.extras.values()]
    norm_key = normalized(Staged.cell(lay.present[key]))
    parsed = ", ".join(f"{typed(lay.table.column(c), 's.n_' + c)} AS p_{c}" for c in lay.present)
    diff, diff_first = _duplicate_diff(lay)
    dup = "d.first_line IS NOT NULL AND s.line > d.first_line"
    ref_joins, ref_cols = _reference_joins(lay, checked)
    stored_join, stored_cols, op = _stored_join(lay, old_extras, stored)
    numbered = [(k, c) for k, c in enumerate(the_checks, 1) if not c.deferred]
    code = "CASE " + " ".join(f"WHEN {c.when} THEN {k}" for k, c in numbered) + " ELSE 0 END"
    failing = [(k, c) for k, c in numbered if c.outcome == Outcome.QUARANTINED]
    p_cols = ", ".join(f"p_{c}" for c in lay.present)
    if duplicates:
        firsts = f"""d AS (SELECT {norm_key} AS k, min(line) AS first_line FROM {SRC}
                   WHERE {norm_key} IS NOT NULL GROUP BY ALL HAVING count(*) > 1),
        f AS (SELECT line, {", ".join(norm)} FROM {SRC}
              WHERE line IN (SELECT first_line FROM d)),"""
        first_cols = f"""d.first_line,
                CASE WHEN {dup} THEN {diff} END AS diff,
                CASE WHEN {dup} THEN {diff_first} END AS diff_first"""
        first_joins = f"LEFT JOIN d ON s.n_{key} = d.k LEFT JOIN f ON f.line = d.first_line"
    else:
        firsts, first_joins = "", ""
        first_cols = (
            "NULL::BIGINT AS first_line, NULL::VARCHAR AS diff, NULL::VARCHAR AS diff_first"
        )
    return f"""CREATE TEMP TABLE {CHK} AS
        WITH {firsts}
        s AS (SELECT line, {", ".join(norm)} FROM {SRC}),
        p AS (
            SELECT s.*, {first_cols},
                {parsed}, {_extra_json(lay)} AS extra{ref_cols}{stored_cols}
            FROM s {first_joins}
                {ref_joins}{stored_join}
        ),
        c AS (SELECT *, {code} AS code FROM p)
        SELECT line, code, CASE WHEN code = 0 THEN {op} END AS op,
            {_case_code([(k, c.column) for k, c in failing])} AS col,
            {_case_code([(k, c.detail) for k, c in failing])} AS detail,
            {p_cols}, CASE WHEN code = 0 THEN extra END AS extra
        FROM c"""


def run_checks(
    con: duckdb.DuckDBPyConnection, lay: Layout, checked: set[str], *, old_extras: bool
) -> Checked:
    """Classify every row of ``_bs_src`` into ``_bs_chk``. ``checked``: the reference columns to
    verify (against the canonical tables, which already hold this import's earlier files);
    ``old_extras``: the workspace holds extra columns for this table."""
    the_checks = checks(lay, checked)
    con.execute(f"DROP TABLE IF EXISTS {CHK}")
    sql = check_sql(
        lay,
        the_checks,
        checked,
        old_extras,
        duplicates=has_duplicate_keys(con, lay),
        stored=bool(con.execute(f"SELECT 1 FROM {ident(lay.table.name)} LIMIT 1").fetchall()),
    )
    con.execute(sql)
    for k, c in enumerate(the_checks, 1):
        if c.deferred:
            _resolve_self_reference(con, lay, k, c)
    counts: dict[int, int] = {}
    ops: dict[int, int] = {}
    groups = con.execute(f"SELECT code, op, count(*) FROM {CHK} GROUP BY ALL").fetchall()
    for code, op, rows in groups:
        counts[code] = counts.get(code, 0) + rows
        if code == 0:
            ops[op] = rows
    return Checked(lay, the_checks, counts, ops)


def has_duplicate_keys(con: duckdb.DuckDBPyConnection, lay: Layout) -> bool:
    """Whether some key occurs on more than one row of ``_bs_src``.

    Keys that strictly increase from row to row (a file sorted by its key, as most exports are)
    are all different: one streaming pass proves it at a tenth of the cost of counting distinct
    keys, which decides otherwise (both far cheaper than finding which keys repeat, and where)."""
    key = normalized(Staged.cell(lay.present[lay.table.key]))
    keys = f"(SELECT {key} AS k FROM {SRC}) WHERE k IS NOT NULL"
    unsorted = con.execute(
        f"SELECT count(*) FILTER (WHERE k <= before) FROM "
        f"(SELECT k, lag(k) OVER () AS before FROM {keys})"
    ).fetchall()[0][0]
    if not unsorted:
        return False
    total, distinct = con.execute(f"SELECT count(k), count(DISTINCT k) FROM {keys}").fetchall()[0]
    return bool(total != distinct)


def _resolve_self_reference(con: duckdb.DuckDBPyConnection, lay: Layout, k: int, c: Check) -> None:
    """Quarantine valid rows pointing at a key of the same table that is neither stored nor a
    valid row of the file, until none do (a cascade: a manager's manager is missing)."""
    col = self_reference(lay)
    assert col is not None and col.references is not None
    table, key = col.references.split(".")
    value = f"{CHK}.p_{col.name}"
    while True:
        changed = con.execute(
            f"""UPDATE {CHK} SET code = {k}, col = {c.column}, detail = {c.detail}
                WHERE code = 0 AND {value} IS NOT NULL
                  AND NOT EXISTS (SELECT 1 FROM {ident(table)} AS t WHERE t.{ident(key)} = {value})
                  AND NOT EXISTS (SELECT 1 FROM {CHK} AS v
                                  WHERE v.code = 0 AND v.p_{lay.table.key} = {value})"""
        ).fetchall()[0][0]
        if not changed:
            return
