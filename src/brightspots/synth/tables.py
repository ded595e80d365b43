"""Canonical Arrow tables from generator arrays: key columns, key lookups, typed columns in
schema order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from brightspots import schema
from brightspots.schema import ColumnType

ARROW_TYPES: dict[ColumnType, pa.DataType] = {
    ColumnType.STRING: pa.string(),
    ColumnType.INT: pa.int64(),
    ColumnType.FLOAT: pa.float64(),
    ColumnType.MONEY: pa.float64(),
    ColumnType.BOOL: pa.bool_(),
    ColumnType.DATE: pa.date32(),
    ColumnType.TIMESTAMP: pa.timestamp("s"),
}
NO_TIME = np.iinfo(np.int64).min


@dataclass(frozen=True)
class Keys:
    """The key columns of the canonical tables, indexed like the generator's arrays."""

    region: pa.Array
    team: pa.Array  # leaf teams
    rep: pa.Array
    account: pa.Array
    contact: pa.Array
    opportunity: pa.Array


def serial_ids(
    prefix: str, n: int, width: int | None = None, start: int = 0, stop: int | None = None
) -> pa.Array:
    """``prefix`` + 1..n zero-padded to ``width`` (default: the digits of n, at least 4); with
    ``start``/``stop``, only ids ``start + 1``..``stop`` of them (a slice, padded as the whole)."""
    width = width or max(4, len(str(n)))
    stop = n if stop is None else stop
    nums = pc.cast(pa.array(np.arange(start + 1, stop + 1, dtype=np.int64)), pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(nums, width, "0"), "")


def take_ids(ids: pa.Array, idx: np.ndarray) -> pa.Array:
    """ids[idx] with null where idx < 0."""
    return pc.take(ids, pa.array(idx, type=pa.int64(), mask=idx < 0))


def take_strings(values: Sequence[str], idx: np.ndarray) -> pa.Array:
    return pc.take(pa.array(list(values), pa.string()), pa.array(idx, pa.int64()))


def canonical_table(name: str, cols: dict[str, Any]) -> pa.Table:
    """A canonical table: exactly the schema's columns in schema order, with Arrow types."""
    t = schema.table(name)
    if set(cols) != set(t.column_names):
        raise AssertionError(f"{name}: columns {sorted(cols)} != {t.column_names}")
    arrays = []
    for c in t.columns:
        v = cols[c.name]
        typ = ARROW_TYPES[c.type]
        if c.type == ColumnType.TIMESTAMP and isinstance(v, np.ndarray):
            arr = pa.array(v, type=pa.int64(), mask=v == NO_TIME).cast(typ)
        elif isinstance(v, np.ndarray):
            arr = pa.array(v, from_pandas=True).cast(typ)
        else:
            arr = v if isinstance(v, pa.Array | pa.ChunkedArray) else pa.array(v, type=typ)
            arr = arr.cast(typ)
        arrays.append(arr)
    return pa.table(arrays, names=t.column_names)
