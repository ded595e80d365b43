"""Care statistics as pure functions: cluster-robust means, Cronbach's alpha, group shrinkage.

The answers are care items rescaled to 0-1 (and reversed where configured) before they reach
these functions. A *cluster* is one respondent key (a named respondent, or one anonymous
submission): the answers of one person are correlated, so standard errors are cluster-robust
(CR1) and intervals use Student's t with G - 1 degrees of freedom, G the number of clusters.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from brightspots.deviance import overdispersion, shrink
from brightspots.deviance.inputs import DevianceInputError

#: alpha below this: the care items of a survey do not agree
ALPHA_MIN = 0.6
#: complete submissions a survey needs before its alpha is computed
MIN_SUBMISSIONS = 10


# ------------------------------------------------------------------------------------------
# Means with cluster-robust standard errors


@dataclass(frozen=True)
class MeanEstimate:
    """One unit's mean answer with its CR1 standard error.

    ``respondents`` is the number of clusters G (respondent keys with at least one answer),
    ``df`` = G - 1; ``se`` is NaN when G < 2 and ``mean`` is NaN when there is no answer.
    ``answers`` is N, the number of answers.
    """

    mean: float
    se: float
    df: int
    respondents: int
    answers: int = 0

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """mean -+ t_{df, (1 + level) / 2} se, clipped to [0, 1]; NaN without an se."""
        lower, upper = t_interval(self.mean, self.se, self.df, level)
        return float(lower), float(upper)

    @property
    def lower_95(self) -> float:
        return self.interval()[0]

    @property
    def upper_95(self) -> float:
        return self.interval()[1]


def _per_respondent(sum_y: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sum_y = np.asarray(sum_y, dtype=float).ravel()
    n = np.asarray(n, dtype=float).ravel()
    if sum_y.shape != n.shape:
        raise DevianceInputError(f"sum_y and n differ in length ({sum_y.size} and {n.size})")
    bad = ~np.isfinite(n) | (n < 0) | (n != np.round(n)) | ~np.isfinite(sum_y)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise DevianceInputError(
            f"respondent {pos + 1}: {n[pos]!r} answers summing to {sum_y[pos]!r}; the count must "
            "be a whole number >= 0 and the sum a number"
        )
    keep = n > 0
    return sum_y[keep], n[keep]


def cluster_mean(sum_y: np.ndarray, n: np.ndarray) -> MeanEstimate:
    """Mean answer of one unit and its CR1 standard error, from per-respondent sums and counts.

    With answers y_gj of respondent g (of G) and N answers in all: mean = sum y / N and
    V = G / (G - 1) * sum_g (sum_j y_gj - n_g mean)^2 / N^2, the cluster-robust (CR1, K = 1)
    variance of the mean, the same as statsmodels ``OLS(y, ones).fit(cov_type="cluster")``.
    Respondents with n = 0 are left out. One respondent: se NaN, df 0. None: mean NaN too.
    """
    sy, nn = _per_respondent(sum_y, n)
    g = sy.size
    answers = int(nn.sum())
    if g == 0:
        return MeanEstimate(math.nan, math.nan, 0, 0, 0)
    total = float(nn.sum())
    mean = float(sy.sum() / total)
    if g < 2:
        return MeanEstimate(mean, math.nan, 0, 1, answers)
    resid = sy - nn * mean
    var = g / (g - 1) * float(np.sum(resid**2)) / total**2
    return MeanEstimate(mean, math.sqrt(var), g - 1, g, answers)


def cluster_means(
    rows: pd.DataFrame, by: Sequence[str], *, sum_y: str = "sum_y", n: str = "n"
) -> pd.DataFrame:
    """:func:`cluster_mean` for many units at once.

    ``rows``: one row per (unit, respondent key) with the columns ``by`` (the unit), ``sum_y``
    and ``n``. Returns one row per unit (sorted by ``by``) with mean, se, df, respondents and
    answers, equal to :func:`cluster_mean` over each unit's rows.
    """
    by = list(by)
    missing = [c for c in [*by, sum_y, n] if c not in rows.columns]
    if missing:
        raise DevianceInputError(f"cluster_means: rows lack column(s) {missing}")
    sy, nn = rows[sum_y].to_numpy(dtype=float), rows[n].to_numpy(dtype=float)
    _per_respondent(sy, nn)  # checks
    frame = pd.DataFrame({"_sy": sy, "_n": nn}, index=rows.index)
    for column in by:
        frame[column] = rows[column].to_numpy()
    frame = frame[frame["_n"] > 0]
    grouped = frame.groupby(by, sort=True, dropna=False)
    row_mean = grouped["_sy"].transform("sum") / grouped["_n"].transform("sum")
    frame = frame.assign(_r2=(frame["_sy"] - frame["_n"] * row_mean) ** 2)
    out = frame.groupby(by, sort=True, dropna=False).agg(
        _sum=("_sy", "sum"), answers=("_n", "sum"), respondents=("_n", "size"), _ss=("_r2", "sum")
    )
    g = out["respondents"].to_numpy(dtype=float)
    total = out["answers"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.where(g >= 2, g / (g - 1) * out["_ss"].to_numpy() / total**2, np.nan)
    result = out.reset_index()[by]
    result["mean"] = out["_sum"].to_numpy() / total
    result["se"] = np.sqrt(var)
    result["df"] = np.maximum(g - 1, 0).astype(int)
    result["respondents"] = g.astype(int)
    result["answers"] = out["answers"].to_numpy().astype(int)
    return result


def t_interval(
    mean: np.ndarray | float,
    se: np.ndarray | float,
    df: np.ndarray | float,
    level: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """mean -+ t_{df, (1 + level) / 2} se, clipped to [0, 1]; NaN where df < 1 or se is NaN."""
    if not 0 < level < 1:
        raise DevianceInputError(f"level is {level!r}; it must lie between 0 and 1")
    mean = np.asarray(mean, dtype=float)
    se = np.asarray(se, dtype=float)
    df = np.asarray(df, dtype=float)
    ok = np.isfinite(mean) & np.isfinite(se) & (df >= 1)
    quantile = stats.t.ppf((1 + level) / 2, np.where(ok, df, 1.0))
    half = np.where(ok, quantile * np.where(ok, se, 0.0), np.nan)
    return np.clip(mean - half, 0.0, 1.0), np.clip(mean + half, 0.0, 1.0)


# ------------------------------------------------------------------------------------------
# Cronbach's alpha


def _matrix(matrix: np.ndarray) -> np.ndarray:
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2 or m.shape[1] < 2:
        raise DevianceInputError(
            f"alpha needs a matrix of submissions x items with at least 2 items; got shape "
            f"{m.shape}"
        )
    if not np.all(np.isfinite(m)):
        raise DevianceInputError("alpha needs complete submissions: the matrix has empty answers")
    return m


def cronbach_alpha(matrix: np.ndarray) -> float:
    """Cronbach's alpha of complete submissions (rows) x k care items (columns).

    alpha = k / (k - 1) * (1 - sum_j s_j^2 / s_T^2), variances with ddof 1, s_T^2 the variance
    of the row totals. NaN with fewer than 2 rows or when the totals do not vary.
    """
    m = _matrix(matrix)
    rows, k = m.shape
    if rows < 2:
        return math.nan
    item_var = m.var(axis=0, ddof=1).sum()
    total_var = m.sum(axis=1).var(ddof=1)
    if not total_var > 0:
        return math.nan
    return float(k / (k - 1) * (1.0 - item_var / total_var))


def item_rest(matrix: np.ndarray) -> np.ndarray:
    """Per item, the Pearson correlation of the item with the sum of the other items.

    NaN (and no warning) where the item or the rest does not vary, or with fewer than 2 rows.
    """
    m = _matrix(matrix)
    rows, k = m.shape
    out = np.full(k, np.nan)
    if rows < 2:
        return out
    total = m.sum(axis=1)
    for j in range(k):
        a = m[:, j] - m[:, j].mean()
        rest = total - m[:, j]
        b = rest - rest.mean()
        saa, sbb = float(a @ a), float(b @ b)
        # a spread below rounding noise of the values is no spread
        tiny = 1e-12 * rows * max(1.0, float(np.abs(m).max())) ** 2
        if saa > tiny and sbb > tiny:
            out[j] = float(a @ b) / math.sqrt(saa * sbb)
    return out


@dataclass(frozen=True)
class Reliability:
    """One survey's row of ``care_reliability`` (without the source)."""

    survey: str
    items: str  # question ids joined by ';'
    n_items: int
    submissions: int  # complete submissions used
    alpha: float
    min_item_rest: float
    note: str


def reliability(
    matrix: np.ndarray,
    items: Sequence[str],
    *,
    survey: str,
    has_ids: bool = True,
    min_submissions: int = MIN_SUBMISSIONS,
) -> Reliability:
    """Cronbach's alpha of one survey's care items, with a note that says why or what is wrong.

    ``matrix``: submissions x items (columns in the order of ``items``), rescaled and reversed;
    rows with an empty answer are incomplete and left out. Alpha is computed only when the survey
    has at least 2 care items, has respondent ids (anonymous answers are not grouped into
    people) and at least ``min_submissions`` complete submissions; otherwise alpha is NaN and the
    note says why. Warnings in the note: alpha below 0.6 (the items do not agree) and an item
    whose item-rest correlation is below 0 (probably reverse-coded: ``[care] reverse_items``).
    """
    items = [str(i) for i in items]
    m = np.asarray(matrix, dtype=float).reshape(-1, len(items)) if items else np.empty((0, 0))
    complete = m[np.all(np.isfinite(m), axis=1)] if m.size else m
    rows = int(complete.shape[0])
    base = {"survey": survey, "items": ";".join(items), "n_items": len(items), "submissions": rows}
    skip = None
    if len(items) < 2:
        skip = (
            f"{survey} has {len(items)} care item{'s' if len(items) != 1 else ''}: alpha needs 2."
        )
    elif not has_ids:
        skip = (
            f"{survey} has no respondent ids: anonymous answers are not grouped into people, so "
            "no alpha."
        )
    elif rows < min_submissions:
        skip = (
            f"{survey} has {rows} complete submission{'s' if rows != 1 else ''}: alpha needs "
            f"{min_submissions}."
        )
    if skip:
        return Reliability(**base, alpha=math.nan, min_item_rest=math.nan, note=skip)
    alpha = cronbach_alpha(complete)
    rest = item_rest(complete)
    notes = []
    if not alpha >= ALPHA_MIN:
        shown = (
            "cannot be computed (the totals do not vary)"
            if math.isnan(alpha)
            else (f"is {alpha:.2f}, below {ALPHA_MIN}")
        )
        notes.append(f"The care items of {survey} do not agree: alpha {shown}.")
    for item, r in zip(items, rest, strict=True):
        if r < 0:
            notes.append(
                f"Is {item} reverse-coded? Its answers run against the other care items "
                f"(item-rest correlation {r:.2f}); set [care] reverse_items."
            )
    finite = rest[np.isfinite(rest)]
    return Reliability(
        **base,
        alpha=alpha,
        min_item_rest=float(finite.min()) if finite.size else math.nan,
        note=" ".join(notes),
    )


# ------------------------------------------------------------------------------------------
# Shrinkage toward each unit's group


class GroupShrinkage(NamedTuple):
    """Posterior of each unit's true mean, shrunk toward its group's mean."""

    theta: np.ndarray
    post_sd: np.ndarray
    weight: np.ndarray  # the reliability w = tau2 / (tau2 + s^2)
    tau2: float  # the between-unit variance within groups


def shrink_to_groups(
    y: np.ndarray,
    s: np.ndarray,
    group: np.ndarray | Sequence[Hashable],
    group_mean: Mapping[Hashable, float] | pd.Series | np.ndarray,
    *,
    phi_method: str = "unbiased",
    eligible: np.ndarray | None = None,
) -> GroupShrinkage:
    """Normal-normal shrinkage of each unit's mean toward its own group's mean.

    ``y``, ``s``: each unit's mean and (floored, positive) standard error; ``group``: its group
    label; ``group_mean``: the group's own mean over all its answers, either a mapping from group
    label to mean or an array aligned with ``y``. ``eligible`` (default: every unit with a
    finite y and s) marks the units that estimate the spread, e.g. those with at least the
    minimum of respondents. Pass every unit of each group, eligible or not: the shares below
    count them all.

    tau2 is the spread of true means *within* groups: ``overdispersion`` (DerSimonian-Laird,
    ``phi_method`` as for results) over the deviations d_i = (y_i - m_g) / sd_i. m_g contains y_i
    itself, so y_i - m_g varies less than y_i: with c_i = w_i / sum_g w (w = 1 / s^2, the unit's
    share of its group), Var(y_i - m_g) = s_i^2 (1 - c_i) + tau2 (1 - 2 c_i + sum_g c^2). The
    function standardises by sqrt(s_i^2 (1 - c_i)) and passes sd_i = s_i sqrt((1 - c_i) / (1 - 2
    c_i + sum_g c^2)), so that tau2 is not understated (by 10% of phi with ten equal units per
    group, a third of tau2 when tau2 is half of s^2). A unit alone in its group says nothing
    about the spread and is left out of tau2. Then theta = m + w (y - m), w = tau2 / (tau2 +
    s^2), posterior sd sqrt(w) s (``deviance.shrink``). With tau2 = 0 every unit is pulled to its
    group mean (w = 0). Units with NaN y or s get NaN; s = 0 is an error (floor it first with
    ``deviance.means.floor_se``).
    """
    y = np.asarray(y, dtype=float).ravel()
    s = np.asarray(s, dtype=float).ravel()
    labels = np.asarray(group, dtype=object).ravel()
    size = y.size
    if s.size != size or labels.size != size:
        raise DevianceInputError(
            f"y, s and group differ in length ({size}, {s.size} and {labels.size})"
        )
    if isinstance(group_mean, Mapping | pd.Series):
        lookup = dict(group_mean.items())
        missing = [g for g in dict.fromkeys(labels) if g not in lookup]
        if missing:
            raise DevianceInputError(f"group_mean has no mean for group {missing[0]!r}")
        m = np.array([lookup[g] for g in labels], dtype=float)
    else:
        m = np.asarray(group_mean, dtype=float).ravel()
        if m.size != size:
            raise DevianceInputError(
                f"group_mean has {m.size} entries where y has {size} (or pass a mapping)"
            )
    if np.any(s == 0):
        pos = int(np.flatnonzero(s == 0)[0])
        raise DevianceInputError(
            f"unit {pos + 1}: standard error 0; floor it first (deviance.means.floor_se)"
        )
    if np.any(s < 0):
        raise DevianceInputError("s: standard errors must be positive")
    usable = np.isfinite(y) & np.isfinite(s) & np.isfinite(m)
    chosen = usable if eligible is None else usable & np.asarray(eligible, dtype=bool).ravel()

    w = np.where(usable, 1.0 / np.where(usable, s, 1.0) ** 2, 0.0)
    codes = pd.factorize(pd.Series(labels, dtype=object))[0]
    weight_sum = np.bincount(codes, weights=w)
    share = np.where(usable, w / weight_sum[codes], np.nan)
    share_sq = np.bincount(codes, weights=np.nan_to_num(share) ** 2)[codes]
    used = chosen & (share < 1 - 1e-9)
    tau2 = 0.0
    if used.any():
        base = s[used] ** 2 * (1 - share[used])
        spread = 1 - 2 * share[used] + share_sq[used]
        d = (y[used] - m[used]) / np.sqrt(base)
        _, tau2 = overdispersion(d, np.sqrt(base / spread), method=phi_method)
    theta, post_sd, weight = (np.full(size, np.nan) for _ in range(3))
    if usable.any():
        theta[usable], post_sd[usable], weight[usable] = shrink(
            y[usable], s[usable], tau2, m[usable]
        )
    return GroupShrinkage(theta, post_sd, weight, float(tau2))
