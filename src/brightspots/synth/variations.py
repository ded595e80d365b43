"""Valid rows written differently: conflicting copies and harmless cosmetic variations."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from brightspots import schema
from brightspots.schema import ColumnType
from brightspots.synth.tables import take_strings
from brightspots.synth.text import replace_at, shift_text
from brightspots.synth.vocabulary import PRODUCTS

CONFLICT_COLUMN = {
    "teams": "name",
    "reps": "email",
    "accounts": "name",
    "contacts": "title",
    "opportunities": "product",
    "activities": "duration_minutes",
    "buyer_events": "occurred_at",
    "survey_responses": "submitted_at",
    "stories": "title",
}
OFFSETS = (("+02:00", 7200), ("-05:00", -18000), ("+05:30", 19800), ("Z", 0), ("+01:00", 3600))


def conflict_values(column: str, values: pa.Array) -> pa.Array:
    """Different but valid content for conflicting copies of rows."""
    if column in ("name", "title"):
        old = pc.binary_join_element_wise(values, " (old)", "")
        return pc.if_else(pc.is_null(values), "Interim", old)
    if column == "email":
        return pc.binary_join_element_wise("old.", values, "")
    if column == "product":
        idx = pc.fill_null(pc.index_in(values, value_set=pa.array(PRODUCTS)), -1).to_numpy()
        return take_strings(PRODUCTS, (idx + 1) % len(PRODUCTS))
    if column == "duration_minutes":
        minutes = pc.fill_null(pc.add(pc.cast(values, pa.float64()), 5.0), 5.0)
        return pc.cast(minutes, pa.string())
    return shift_text(pc.fill_null(values, "2026-01-01 09:00:00"), np.full(len(values), 3600))


def cosmetics(t: schema.Table, cols: dict[str, pa.Array], rows: np.ndarray, rng) -> None:
    """Harmless variations on valid rows: capitalised enum and bool values, timestamps written
    with a UTC offset (the same instant)."""
    if not len(rows):
        return
    off = rng.integers(0, len(OFFSETS), len(rows))
    secs = np.array([OFFSETS[x][1] for x in off])
    suffix = take_strings([s for s, _ in OFFSETS], off)
    for c in t.columns:
        vals = pc.take(cols[c.name], pa.array(rows))
        if (c.enum or c.type == ColumnType.BOOL) and c.name != t.key:
            new = pc.utf8_capitalize(vals)
        elif c.type == ColumnType.TIMESTAMP:
            filled = pc.fill_null(vals, "2000-01-01 00:00:00")
            local = shift_text(filled, secs, "%Y-%m-%dT%H:%M:%S")
            joined = pc.binary_join_element_wise(local, suffix, "")
            new = pc.if_else(pc.is_null(vals), vals, joined)
        else:
            continue
        cols[c.name] = replace_at(cols[c.name], rows, new)
