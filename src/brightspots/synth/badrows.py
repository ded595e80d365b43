"""Bad rows: the kinds a table can carry, how many of each, stale records to break, and how
each rule is broken (``BREAKERS``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from brightspots import schema
from brightspots.ingest.rules import ROW_RULES
from brightspots.schema import ColumnType, Reason
from brightspots.synth.tables import take_strings
from brightspots.synth.text import replace_at, shift_text

CONFLICT, REPEAT = "conflict", "repeat"
QUARANTINE_KINDS = (
    Reason.MISSING_KEY,
    Reason.MISSING_REQUIRED,
    Reason.BAD_VALUE,
    Reason.BAD_ENUM,
    Reason.MISSING_REFERENCE,
    Reason.CLOSED_AT_REQUIRED,
    Reason.CLOSED_BEFORE_CREATED,
    Reason.SCORE_OUT_OF_SCALE,  # appended: truth stores the codes, code order stays
    Reason.BAD_SCALE,
)
#: the row rules that only a won or lost deal can break
CLOSED_RULES = (Reason.CLOSED_AT_REQUIRED, Reason.CLOSED_BEFORE_CREATED)
BAD_VALUES: dict[ColumnType, tuple[str, ...]] = {
    ColumnType.INT: ("1.5x", "twelve", "12-3"),
    ColumnType.FLOAT: ("abc", "4..5", "1,2,3"),
    ColumnType.MONEY: ("abc", "12,5k", "1.2.3"),
    ColumnType.BOOL: ("maybe", "yes please", "2"),
    ColumnType.DATE: ("not-a-date", "2025-13-45", "31.02.2025"),
    ColumnType.TIMESTAMP: ("not-a-date", "2025-02-30 10:00:00", "yesterday 5pm"),
}
BAD_ENUMS: dict[str, tuple[str, ...]] = {
    "stage": ("won!", "closed won?", "pending"),
    "type": ("fax", "carrier pigeon", "sms"),
    "seniority": ("boss", "intern", "c-level"),
    "respondent_type": ("partner", "robot", "vendor"),
    "status": ("pending?", "published", "rejected!"),
}
JUNK_TABLES = ("teams", "reps")  # bad rows here are added rows, see apply_dirt


def _kinds(t: schema.Table) -> list[str]:
    """The kinds of bad row a table can carry, plus conflicts and exact repeats."""
    cols = [c for c in t.columns if c.name != t.key]
    kinds: list[str] = [Reason.MISSING_KEY]
    if any(not c.nullable for c in cols):
        kinds.append(Reason.MISSING_REQUIRED)
    if any(c.type != ColumnType.STRING for c in cols):
        kinds.append(Reason.BAD_VALUE)
    if any(c.enum and not c.open_enum for c in cols):
        kinds.append(Reason.BAD_ENUM)
    if any(c.references for c in cols):
        kinds.append(Reason.MISSING_REFERENCE)
    kinds += [r for r in t.row_rules]
    return kinds + [CONFLICT, REPEAT]


def _columns_for(t: schema.Table, kind: str) -> list[schema.Column]:
    cols = [c for c in t.columns if c.name != t.key]
    if kind == Reason.MISSING_REQUIRED:
        return [c for c in cols if not c.nullable]
    if kind == Reason.BAD_VALUE:
        return [c for c in cols if c.type != ColumnType.STRING]
    if kind == Reason.BAD_ENUM:
        return [c for c in cols if c.enum and not c.open_enum]
    if kind == Reason.MISSING_REFERENCE:
        return [c for c in cols if c.references]
    if kind == Reason.MISSING_KEY:
        return [t.column(t.key)]
    return [t.column(ROW_RULES[Reason(kind)].column)]  # the column the quarantine names


def plan(t: schema.Table, k: int, rng: np.random.Generator) -> dict[str, int]:
    """How many rows of each kind (the kinds in turn, in a random order, until k)."""
    kinds = _kinds(t)
    order = [kinds[i] for i in rng.permutation(len(kinds))]
    want = dict.fromkeys(kinds, 0)
    for i in range(k):
        want[order[i % len(order)]] += 1
    return want


def add_junk(t: schema.Table, cols: dict[str, pa.Array], n_junk: int, rng) -> dict[str, pa.Array]:
    """Append copies of random rows under new keys (stale or test records) to be broken."""
    n = len(cols[t.key])
    src = pa.array(rng.integers(0, n, n_junk))
    out = {c: pa.concat_arrays([cols[c], pc.take(cols[c], src)]) for c in t.column_names}
    first = cols[t.key][n - 1].as_py()
    prefix = first.rstrip("0123456789")
    width = len(first) - len(prefix)
    keys = [f"{prefix}{n + 1 + i:0{width}d}" for i in range(n_junk)]
    out[t.key] = pa.concat_arrays([cols[t.key], pa.array(keys, pa.string())])
    return out


def _bogus_key(shape: tuple[str, int], rng: np.random.Generator, n: int) -> pa.Array:
    """Keys shaped like a table's keys (its first key, its row count) that exist nowhere."""
    first, rows = shape
    prefix = first.rstrip("0123456789")
    width = len(first) - len(prefix)
    nums = pc.cast(pa.array(rows + 1000 + rng.integers(0, 1000, n)), pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(nums, width, "0"), "")


@dataclass(frozen=True)
class Cells:
    """The rows of one kind and column to break, and what a breaker may read."""

    column: schema.Column  # the column the quarantine will name
    rows: np.ndarray  # row indexes into ``cols``
    cols: dict[str, pa.Array]  # the table as text, before any edit
    shapes: dict[str, tuple[str, int]]  # per table, its first key and row count
    rng: np.random.Generator


#: a breaker returns the column it writes and the new text of ``rows`` there
Breaker = Callable[[Cells], tuple[str, pa.Array]]


def _emptied(b: Cells) -> tuple[str, pa.Array]:
    return b.column.name, pa.nulls(len(b.rows), pa.string())


def _unparsable(b: Cells) -> tuple[str, pa.Array]:
    return b.column.name, take_strings(BAD_VALUES[b.column.type], b.rng.integers(0, 3, len(b.rows)))


def _unknown_enum(b: Cells) -> tuple[str, pa.Array]:
    return b.column.name, take_strings(BAD_ENUMS[b.column.name], b.rng.integers(0, 3, len(b.rows)))


def _dangling(b: Cells) -> tuple[str, pa.Array]:
    shape = b.shapes[b.column.references.split(".")[0]]
    return b.column.name, _bogus_key(shape, b.rng, len(b.rows))


def _closed_early(b: Cells) -> tuple[str, pa.Array]:
    """closed_at up to a month before created_at."""
    created = pc.take(b.cols["created_at"], pa.array(b.rows))
    return "closed_at", shift_text(created, -b.rng.integers(3600, 30 * 86400, len(b.rows)))


def _score_over(b: Cells) -> tuple[str, pa.Array]:
    """score 1 to 3 points above scale_max."""
    top = pc.cast(pc.take(b.cols["scale_max"], pa.array(b.rows)), pa.float64())
    over = pc.add(top, pa.array(b.rng.integers(1, 4, len(b.rows)).astype(np.float64)))
    return "score", pc.cast(over, pa.string())


def _scale_flat(b: Cells) -> tuple[str, pa.Array]:
    """scale_min equal to scale_max."""
    return "scale_min", pc.take(b.cols["scale_max"], pa.array(b.rows))


BREAKERS: dict[Reason, Breaker] = {
    Reason.MISSING_KEY: _emptied,
    Reason.MISSING_REQUIRED: _emptied,
    Reason.BAD_VALUE: _unparsable,
    Reason.BAD_ENUM: _unknown_enum,
    Reason.MISSING_REFERENCE: _dangling,
    Reason.CLOSED_AT_REQUIRED: _emptied,
    Reason.CLOSED_BEFORE_CREATED: _closed_early,
    Reason.SCORE_OUT_OF_SCALE: _score_over,
    Reason.BAD_SCALE: _scale_flat,
}


def break_rules(
    shapes: dict[str, tuple[str, int]],
    t: schema.Table,
    cols: dict[str, pa.Array],
    pool: np.ndarray,
    want: dict[str, int],
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Break one rule in each of ``want[kind]`` rows drawn from ``pool`` (edits ``cols``).
    Returns per row the index of the kind in QUARANTINE_KINDS and of the column (or -1)."""
    n = len(pool)
    reason = np.full(n, -1, np.int64)
    column = np.full(n, -1, np.int64)
    pool = pool.copy()
    closed = np.ones(n, bool)
    if "stage" in cols:
        stage = pc.is_in(cols["stage"], value_set=pa.array(["won", "lost"]))
        closed = pc.fill_null(stage, False).to_numpy(zero_copy_only=False)
    edits: dict[str, list[tuple[np.ndarray, pa.Array]]] = {}
    for r_i, kind in enumerate(QUARANTINE_KINDS):
        if not want.get(kind):
            continue
        candidates = np.flatnonzero(pool & (closed if kind in CLOSED_RULES else True))
        rows = np.sort(rng.choice(candidates, min(want[kind], len(candidates)), replace=False))
        pool[rows] = False
        reason[rows] = r_i
        options = _columns_for(t, kind)
        pick = rng.integers(0, len(options), len(rows))
        for j, c in enumerate(options):
            sel = rows[pick == j]
            if not len(sel):
                continue
            column[sel] = t.column_names.index(c.name)
            name, new = BREAKERS[kind](Cells(c, sel, cols, shapes, rng))
            edits.setdefault(name, []).append((sel, new))
    for name, parts in edits.items():
        idx = np.concatenate([p[0] for p in parts])
        new = pa.concat_arrays([p[1].cast(pa.string()) for p in parts])
        cols[name] = replace_at(cols[name], idx, new)
    return reason, column
