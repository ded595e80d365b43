"""Deals as frequency weights: a frame of grouped covariate cells stands for its deals.

A frame with the column ``WEIGHT`` is grouped: each row stands for that many deals with the same
rep, case mix, segment, practice value and outcome (``practices.cells``). Without the column each
row is one deal. The helpers here read a frame either way, so that every statistic is computed
on the deals a frame stands for: their number, their quantiles, their means.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: the number of deals a row of a grouped frame stands for (a positive integer)
WEIGHT = "__deals"


def weights_of(frame: pd.DataFrame) -> np.ndarray | None:
    """The rows' deal counts as floats, or None when each row is one deal."""
    if WEIGHT not in frame.columns:
        return None
    return frame[WEIGHT].to_numpy(float)


def n_deals(frame: pd.DataFrame) -> int:
    """The number of deals a frame stands for."""
    if WEIGHT not in frame.columns:
        return len(frame)
    return int(frame[WEIGHT].sum())


def total(values: np.ndarray, weights: np.ndarray | None) -> float:
    """The sum of ``values`` over the deals (each row ``weights`` times)."""
    if weights is None:
        return float(np.sum(values))
    return float(weights @ values)


def quantile(values: np.ndarray, q: tuple[float, ...], weights: np.ndarray | None) -> np.ndarray:
    """``np.quantile(values, q)`` (its default, linear method), each value counted ``weights``
    times (whole numbers): the same numbers as ``np.quantile(np.repeat(values, weights), q)``,
    bit for bit, without repeating anything."""
    if weights is None:
        return np.quantile(values, q)
    order = np.argsort(values, kind="stable")
    v = values[order]
    ends = np.cumsum(weights[order].astype(np.int64))  # sorted position just past each value
    n = int(ends[-1])
    # numpy's linear method: virtual index (n - 1) q between two order statistics
    virtual = (n - 1) * np.asarray(q, dtype=float)
    previous = np.floor(virtual).astype(np.intp)
    following = previous + 1
    previous = np.clip(previous, 0, n - 1)
    following = np.clip(following, 0, n - 1)
    gamma = np.asarray(virtual - previous, dtype=float)
    a = v[np.searchsorted(ends, previous, side="right")]
    b = v[np.searchsorted(ends, following, side="right")]
    return _lerp(a, b, gamma)


def _lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """numpy's own interpolation between two order statistics (``numpy.quantile``'s ``_lerp``):
    from the lower end below t = 0.5, from the upper end above."""
    diff = b - a
    out = np.add(a, diff * t)
    np.subtract(b, diff * (1 - t), out=out, where=t >= 0.5)
    return out
