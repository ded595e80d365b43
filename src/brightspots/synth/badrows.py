"""Bad rows: the kinds a table can carry, how many of each, stale records to break, and how
each rule is broken."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from brightspots import schema
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
)
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
    return [t.column("closed_at")]


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
        candidates = np.flatnonzero(pool & (closed if kind in t.row_rules else True))
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
            if kind in (Reason.MISSING_KEY, Reason.MISSING_REQUIRED, Reason.CLOSED_AT_REQUIRED):
                new = pa.nulls(len(sel), pa.string())
            elif kind == Reason.BAD_VALUE:
                new = take_strings(BAD_VALUES[c.type], rng.integers(0, 3, len(sel)))
            elif kind == Reason.BAD_ENUM:
                new = take_strings(BAD_ENUMS[c.name], rng.integers(0, 3, len(sel)))
            elif kind == Reason.MISSING_REFERENCE:
                new = _bogus_key(shapes[c.references.split(".")[0]], rng, len(sel))
            else:  # closed before created: up to a month before
                created = pc.take(cols["created_at"], pa.array(sel))
                new = shift_text(created, -rng.integers(3600, 30 * 86400, len(sel)))
            edits.setdefault(c.name, []).append((sel, new))
    for name, parts in edits.items():
        idx = np.concatenate([p[0] for p in parts])
        new = pa.concat_arrays([p[1].cast(pa.string()) for p in parts])
        cols[name] = replace_at(cols[name], idx, new)
    return reason, column
