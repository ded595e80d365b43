"""Where rows land in a file: the order of originals, added rows and copies, and line breaks
inside values (physical line numbers)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def file_order(n: int, m: int, extra: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    """File order of n original rows, m - n added bad rows (after a random original row) and
    extra copies of rows ``extra`` (after their source, at a random later place). Returns the
    row index (into originals + added) of each file position, and each row's file position
    (originals, added, then extras)."""
    after = np.concatenate(
        [
            np.arange(n),
            rng.integers(0, max(n, 1), m - n),
            extra + (rng.random(len(extra)) * (n - extra)).astype(np.int64),
        ]
    )
    flag = np.concatenate([np.zeros(n, np.int64), np.ones(m - n + len(extra), np.int64)])
    tie = np.concatenate([np.zeros(n), rng.random(m - n + len(extra))])
    order = np.lexsort((tie, flag, after))
    source = np.concatenate([np.arange(m), extra])[order]
    pos = np.empty(len(order), np.int64)
    pos[order] = np.arange(len(order))
    return source, pos


def newlines(cols: dict[str, pa.Array], n: int) -> np.ndarray:
    """Line breaks inside each row's values (multi-line values shift the physical lines)."""
    total = np.zeros(n, np.int64)
    for arr in cols.values():
        if pc.any(pc.match_substring(arr, "\n")).as_py():
            total += pc.fill_null(pc.count_substring(arr, "\n"), 0).to_numpy()
    return total
