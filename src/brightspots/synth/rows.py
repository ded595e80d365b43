"""Activity and buyer-event rows as the generator makes them, chunk by chunk, in compact numeric
columns (``Rows``), and their time order (``in_time_order``): what the two biggest tables are
made of, small enough for an organisation of 100M activities.

Times are stored as int32 seconds from ``Rows.base`` and generator indices (opportunity,
contact, account, rep; -1 = none) as int32, so a row costs 26 bytes (activities) or 21 bytes
(buyer events) instead of 46, and memory never holds the rows twice over.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np

from brightspots.synth.config import SynthError

INDEX_LIMIT = 2**31  # generator indices and time offsets must fit in int32
_BASIC = ("time", "opp", "contact", "kind", "account", "rep")
_EXTRA = ("duration", "bulk")  # activities only
_DTYPES = {
    "time": np.int32,
    "opp": np.int32,
    "contact": np.int32,
    "kind": np.int8,
    "account": np.int32,
    "rep": np.int32,
    "duration": np.float32,
    "bulk": np.bool_,
}
_STEP = 1 << 22  # rows per step of the in-place key arithmetic


@dataclass
class Rows:
    """Rows added chunk by chunk (in the generator's order) into one growing array per column.

    ``until``: rows at or after this epoch second are dropped as they come (the rows of the
    window only; ``None`` keeps every row). ``extra``: keep ``duration`` and ``bulk``.

    Each column grows by half its size when full (the copy is the only time a column is held
    twice; the unused tail is never touched, so it takes no memory), and ``columns`` hands the
    arrays over without copying: no list of chunks to concatenate at the end."""

    base: int  # epoch seconds; times are stored as int32 offsets from it
    until: int | None = None
    extra: bool = True
    n: int = field(default=0, init=False)
    data: dict[str, np.ndarray] = field(init=False)

    def __post_init__(self) -> None:
        self._empty()

    def _empty(self) -> None:
        self.n = 0
        self.data = {k: np.empty(0, _DTYPES[k]) for k in self.names}

    @property
    def names(self) -> tuple[str, ...]:
        return _BASIC + _EXTRA if self.extra else _BASIC

    def add(self, time, opp, contact, kind, account, rep, duration=None, bulk=False) -> None:
        time = np.asarray(time, np.int64)
        n = len(time)
        cols = {
            "time": time - self.base,
            "opp": opp,
            "contact": contact,
            "kind": np.broadcast_to(np.asarray(kind, np.int8), n),
            "account": account,
            "rep": rep,
        }
        if self.extra:
            cols["duration"] = np.full(n, np.nan) if duration is None else duration
            cols["bulk"] = np.broadcast_to(np.asarray(bulk, bool), n)
        keep = None if self.until is None else time < self.until
        m = n if keep is None else int(keep.sum())
        self._reserve(self.n + m)
        for k, v in cols.items():
            v = np.asarray(v) if keep is None else np.asarray(v)[keep]
            if k == "time" and m and (v.min() < -INDEX_LIMIT or v.max() >= INDEX_LIMIT):
                raise SynthError("a generated time lies more than 68 years from the window's end")
            self.data[k][self.n : self.n + m] = v
        self.n += m

    def _reserve(self, size: int) -> None:
        capacity = len(self.data["time"])
        if size <= capacity:
            return
        capacity = max(size, capacity + capacity // 2, 1 << 16)
        for k in self.names:
            grown = np.empty(capacity, _DTYPES[k])
            grown[: self.n] = self.data[k][: self.n]
            self.data[k] = grown
            del grown

    def columns(self) -> dict[str, np.ndarray]:
        """The columns, rows in the order added (hands them over: the rows are left empty)."""
        out = {k: v[: self.n] for k, v in self.data.items()}
        self._empty()
        return out


def in_time_order(cols: dict[str, np.ndarray], until: int | None = None) -> dict[str, np.ndarray]:
    """``cols`` (equal-length columns, one of them ``time``, int32) restricted to
    ``time < until`` (all rows for ``None``) and put in time order, ties in the order given:
    what a stable argsort of the times gives. Empties ``cols`` as it goes.

    Memory: one int64 key per row, time * 2**32 + position, sorted in place (no argsort
    buffers); its two 32-bit halves are then the sorted times and the positions, read in place,
    and each column is gathered in steps: at most 12 bytes a row beyond the columns."""
    time = cols.pop("time")
    if time.dtype != np.int32:
        raise TypeError(f"times must be int32 offsets, got {time.dtype}")
    n = len(time)
    if n >= 2**32:
        raise SynthError(f"too many rows to order ({n})")
    keep = None if until is None else np.flatnonzero(time < until)
    key = (time if keep is None else time[keep]).astype(np.int64)
    del time
    key *= 1 << 32
    m = len(key)
    for start, stop in _steps(m):
        key[start:stop] += np.arange(start, stop) if keep is None else keep[start:stop]
    del keep
    key.sort()
    halves = key.view(np.uint32).reshape(m, 2)  # (low, high) words of each key
    low, high = (0, 1) if sys.byteorder == "little" else (1, 0)
    order = halves[:, low]  # positions (< 2**32)
    out = {}
    for k in list(cols):
        col = cols.pop(k)
        out[k] = np.empty(m, col.dtype)
        for start, stop in _steps(m):
            out[k][start:stop] = col[order[start:stop]]
        del col
    times = halves[:, high].view(np.int32) if m else np.empty(0, np.int32)
    out = {"time": times.copy(), **out}
    del order, halves, key, times
    return out


def _steps(n: int) -> list[tuple[int, int]]:
    return [(start, min(n, start + _STEP)) for start in range(0, n, _STEP)]
