"""Vectorised random draws: an index in a range, a category per row, picks per group."""

from __future__ import annotations

import numpy as np


def uniform_index(rng: np.random.Generator, start: np.ndarray, count: np.ndarray) -> np.ndarray:
    """A uniform random index in [start, start + count) for each row."""
    return start + np.minimum((rng.random(len(start)) * count).astype(np.int64), count - 1)


def categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One category per row from a (rows, k) matrix of probabilities."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs))[:, None] * cum[:, -1:]
    return np.minimum((u > cum).sum(axis=1), probs.shape[1] - 1)


def segmented_pick(rng, group: np.ndarray, n_groups: int, draws: np.ndarray) -> np.ndarray:
    """For rows sorted by ``group``: pick ``draws[g]`` random row indices of each group g (with
    replacement). Returns the picked row indices, grouped by g."""
    counts = np.bincount(group, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    g = np.repeat(np.arange(n_groups), np.where(counts > 0, draws, 0))
    return uniform_index(rng, starts[g], counts[g])
