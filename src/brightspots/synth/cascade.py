"""Cascades: rows that point at bad rows (of an earlier table, or of their own) are bad too."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from brightspots import schema


def parent_cascade(
    t: schema.Table, cols: dict[str, pa.Array], bad_keys: dict[str, pa.Array]
) -> np.ndarray:
    """Per row, the first reference column (schema order) pointing at a bad row of an earlier
    table, or -1."""
    n = len(cols[t.key])
    cause = np.full(n, -1, np.int64)
    for i, c in enumerate(t.columns):
        ref = c.references.split(".")[0] if c.references else None
        if ref and ref != t.name and ref in bad_keys:
            hit = pc.fill_null(pc.is_in(cols[c.name], value_set=bad_keys[ref]), False)
            cause[(cause < 0) & hit.to_numpy(zero_copy_only=False)] = i
    return cause


def self_cascade(
    t: schema.Table, cols: dict[str, pa.Array], keys: pa.Array, bad: np.ndarray, cause: np.ndarray
) -> np.ndarray:
    """Rows pointing at bad rows of the same table (a rep whose manager row is bad), repeatedly."""
    self_refs = [
        (i, c)
        for i, c in enumerate(t.columns)
        if c.references and c.references.split(".")[0] == t.name
    ]
    bad = bad.copy()
    while self_refs:
        keys_bad = pc.filter(keys, pa.array(bad))
        new_bad = np.zeros(len(bad), bool)
        for i, c in self_refs:
            hit = pc.fill_null(pc.is_in(cols[c.name], value_set=keys_bad), False)
            hit = hit.to_numpy(zero_copy_only=False) & ~bad & ~new_bad
            cause[hit] = i
            new_bad |= hit
        if not new_bad.any():
            break
        bad |= new_bad
    return bad
