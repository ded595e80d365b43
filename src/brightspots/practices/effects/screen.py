"""The screen: how far bright spots and their peers differ on a practice, rep by rep.

Each rep's value is the mean of the practice over their analysed deals (in a grouped frame,
``weights.WEIGHT``, the mean over the deals its rows stand for). The standardised mean difference
is (m1 - m0) / sqrt((s1^2 + s0^2) / 2) with sample standard deviations; its 95% interval is the
percentile bootstrap that resamples reps within each group (all resamples drawn at once as index
arrays). Shares: the share of a group that does the practice on most deals
(binary: rep mean >= ``most_deals``) or, for a non-binary practice, whose rep mean is on the
better side of the peers' median (strictly above it, or below when lower is better)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from brightspots.practices.effects.weights import WEIGHT
from brightspots.practices.registry import Practice

#: integer codes of ``rep_id`` (one per rep) that a frame may carry: grouping by them is faster
REP_CODE = "__rep_code"


def rep_means(frame: pd.DataFrame, column: str) -> pd.Series:
    """Each rep's mean of ``column`` over their deals where it is defined, by rep_id (sorted).
    With ``REP_CODE`` in the frame the deals are grouped by it (the same means). A grouped
    frame's rows count as their deals."""
    if WEIGHT in frame.columns:
        return _weighted_by_rep(frame, column, "mean")
    if REP_CODE not in frame.columns:
        defined = frame[["rep_id", column]].dropna(subset=[column])
        return defined.groupby("rep_id", sort=True)[column].mean()
    return _by_rep(frame, column, "mean")


def rep_counts(frame: pd.DataFrame, column: str) -> pd.Series:
    """Each rep's number of deals where ``column`` is defined, by rep_id (sorted), for the reps
    with at least one."""
    if WEIGHT in frame.columns:
        return _weighted_by_rep(frame, column, "size")
    if REP_CODE not in frame.columns:
        return frame.dropna(subset=[column]).groupby("rep_id", sort=True).size()
    return _by_rep(frame, column, "size")


def _by_rep(frame: pd.DataFrame, column: str, how: str) -> pd.Series:
    values = frame[column].to_numpy(float)
    codes = frame[REP_CODE].to_numpy()
    defined = ~np.isnan(values) & (codes >= 0)  # code -1: no rep
    codes = codes[defined]
    grouped = pd.Series(values[defined]).groupby(codes, sort=True)
    out = grouped.mean() if how == "mean" else grouped.size()
    first = np.unique(codes, return_index=True)[1]  # a deal of each rep, in code order
    reps = frame["rep_id"].iloc[np.flatnonzero(defined)[first]]
    out = pd.Series(out.to_numpy(), index=pd.Index(reps.to_numpy(), dtype=reps.dtype))
    out = out.sort_index()
    out.index.name = "rep_id"
    out.name = column if how == "mean" else None
    return out


def _weighted_by_rep(frame: pd.DataFrame, column: str, how: str) -> pd.Series:
    """``_by_rep`` of a grouped frame: each rep's deals (the sum of the weights where ``column``
    is defined) or their mean (the weighted mean of the rows' values)."""
    values = frame[column].to_numpy(float)
    defined = ~np.isnan(values)
    weights = frame[WEIGHT].to_numpy(float)[defined]
    reps = frame["rep_id"].to_numpy()[defined]
    parts = pd.DataFrame({"rep_id": reps, "w": weights, "wv": weights * values[defined]})
    sums = parts.groupby("rep_id", sort=True)[["w", "wv"]].sum()
    if how == "mean":
        out = pd.Series(sums["wv"].to_numpy() / sums["w"].to_numpy(), index=sums.index)
        out.name = column
    else:
        out = pd.Series(sums["w"].round().astype("int64").to_numpy(), index=sums.index)
    out.index.name = "rep_id"
    return out


def smd(a1: np.ndarray, a0: np.ndarray) -> float:
    """(m1 - m0) / sqrt((s1^2 + s0^2) / 2); NaN with fewer than two in a group or no spread."""
    if len(a1) < 2 or len(a0) < 2:
        return float("nan")
    pooled = np.sqrt((np.var(a1, ddof=1) + np.var(a0, ddof=1)) / 2)
    if pooled == 0:
        return float("nan")
    return float((np.mean(a1) - np.mean(a0)) / pooled)


def bootstrap_smd(
    a1: np.ndarray, a0: np.ndarray, *, n_boot: int, rng: np.random.Generator
) -> tuple[float, float]:
    """Percentile 95% interval of the SMD, resampling reps within each group."""
    if len(a1) < 2 or len(a0) < 2 or n_boot < 1:
        return float("nan"), float("nan")
    b1 = a1[rng.integers(0, len(a1), size=(n_boot, len(a1)))]
    b0 = a0[rng.integers(0, len(a0), size=(n_boot, len(a0)))]
    pooled = np.sqrt((b1.var(axis=1, ddof=1) + b0.var(axis=1, ddof=1)) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = (b1.mean(axis=1) - b0.mean(axis=1)) / pooled
    d = d[np.isfinite(d)]
    if len(d) == 0:
        return float("nan"), float("nan")
    low, high = np.quantile(d, (0.025, 0.975))
    return float(low), float(high)


def peer_median(practice: Practice, peer_means: np.ndarray) -> float:
    """The line a non-binary practice is done beyond: the peers' median rep mean (NaN for a
    binary practice, or without peers)."""
    if practice.kind == "binary" or not len(peer_means):
        return float("nan")
    return float(np.median(peer_means))


def does(practice: Practice, means: np.ndarray, threshold: float, most_deals: float) -> np.ndarray:
    """Whether each rep does the practice: binary, on at least ``most_deals`` of their deals
    (at most 1 - ``most_deals`` when lower is better); otherwise strictly on the better side of
    ``threshold`` (``peer_median``)."""
    means = np.asarray(means, dtype=float)
    if practice.kind == "binary":
        return means >= most_deals if practice.higher_is_better else means <= 1 - most_deals
    return means > threshold if practice.higher_is_better else means < threshold


@dataclass(frozen=True)
class Screen:
    smd: float
    smd_low: float
    smd_high: float
    n_bright: int  # bright spots with a value
    n_peers: int
    bright_doing: int  # bright spots doing it on most deals / on the better side
    bright_share: float
    peer_share: float
    peer_median: float  # non-binary: the peers' median rep mean (the share's threshold)
    note: str


def screen(
    frame: pd.DataFrame,
    column: str,
    practice: Practice,
    *,
    bright: set[str],
    peers: set[str],
    most_deals: float,
    n_boot: int,
    rng: np.random.Generator,
) -> Screen:
    """SMD with its bootstrap interval and the two shares. The SMD is signed so that > 0 means
    bright spots lean to the better side (for a lower-is-better practice, lower values)."""
    means = rep_means(frame, column)
    sign = 1.0 if practice.higher_is_better else -1.0
    a1 = means[means.index.isin(bright)].to_numpy(float)
    a0 = means[means.index.isin(peers)].to_numpy(float)
    notes = []
    if not bright:
        notes.append("no bright spots to compare")
    elif len(a1) < 2:
        notes.append(f"SMD not computed: {len(a1)} bright spot(s) with this practice measured")
    if len(a0) < 2:
        notes.append(f"SMD not computed: {len(a0)} peer(s) with this practice measured")
    d = smd(sign * a1, sign * a0)
    if np.isnan(d) and len(a1) >= 2 and len(a0) >= 2:
        notes.append("SMD not computed: no spread between reps")
    low, high = bootstrap_smd(sign * a1, sign * a0, n_boot=n_boot, rng=rng)
    if np.isnan(d):
        low = high = float("nan")
    threshold = peer_median(practice, a0)
    doing1 = does(practice, a1, threshold, most_deals)
    doing0 = does(practice, a0, threshold, most_deals)
    comparable = practice.kind == "binary" or len(a0) > 0
    return Screen(
        smd=d,
        smd_low=low,
        smd_high=high,
        n_bright=len(a1),
        n_peers=len(a0),
        bright_doing=int(doing1.sum()),
        bright_share=float(doing1.mean()) if len(a1) and comparable else float("nan"),
        peer_share=float(doing0.mean()) if len(a0) else float("nan"),
        peer_median=threshold,
        note="; ".join(notes),
    )
