"""Tables as text columns: conversion, shifting timestamps written as text, replacing values."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

TS_FORMAT = "%Y-%m-%d %H:%M:%S"


def shift_text(values: pa.Array, seconds: np.ndarray, fmt: str = TS_FORMAT) -> pa.Array:
    ts = pc.strptime(values, format=TS_FORMAT, unit="s").cast(pa.int64())
    shifted = pa.array(ts.to_numpy(zero_copy_only=False) + seconds).cast(pa.timestamp("s"))
    return pc.strftime(shifted, format=fmt)


def as_text(table: pa.Table) -> dict[str, pa.Array]:
    return {
        name: pc.cast(table.column(name), pa.string()).combine_chunks()
        for name in table.column_names
    }


def replace_at(arr: pa.Array, idx: np.ndarray, values: pa.Array) -> pa.Array:
    """arr with arr[idx[j]] = values[j] (idx distinct)."""
    order = np.argsort(idx)
    mask = np.zeros(len(arr), bool)
    mask[idx] = True
    return pc.replace_with_mask(arr, pa.array(mask), values.take(pa.array(order)))
