"""Checks of the frames handed to the deviance statistics: every error names row and column."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from brightspots.errors import BrightspotsError

UNIT_COLUMNS = (
    "unit_id",
    "n",
    "observed",
    "expected",
    "variance",
    "observed_odd",
    "expected_odd",
    "observed_even",
    "expected_even",
)
PROB_COLUMNS = ("unit_id", "p", "count")
TOL = 1e-9  # relative tolerance for sums that must agree and for tail probabilities


class DevianceInputError(BrightspotsError, ValueError):
    """Input to the deviance statistics that breaks a rule; the message names row and column."""


def where(frame: str, df: pd.DataFrame, pos: int, column: str) -> str:
    unit = df["unit_id"].iloc[pos] if "unit_id" in df.columns else None
    return f"deviance input `{frame}`, row {pos + 1} (unit_id {unit!r}), column {column!r}"


def check_columns(frame: str, df: pd.DataFrame, required: Sequence[str]) -> None:
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise DevianceInputError(
            f"deviance input `{frame}` lacks column(s) {', '.join(map(repr, missing))}"
        )


def numeric(
    frame: str, df: pd.DataFrame, column: str, *, whole: bool = False, signed: bool = False
) -> np.ndarray:
    """The column as floats; anything not finite (or negative, or fractional) is an error."""
    values = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values)
    if not signed:
        bad |= values < 0
    if whole:
        bad |= values != np.round(values)
    if np.any(bad):
        pos = int(np.flatnonzero(bad)[0])
        kind = "a whole number >= 0" if whole else "a number" if signed else "a number >= 0"
        raise DevianceInputError(
            f"{where(frame, df, pos, column)}: {df[column].iloc[pos]!r} is not {kind}"
        )
    return values


def fail_if(df: pd.DataFrame, mask: np.ndarray, column: str, rule: str) -> None:
    if np.any(mask):
        pos = int(np.flatnonzero(mask)[0])
        raise DevianceInputError(f"{where('units', df, pos, column)}: {rule}")


def check_units(units: pd.DataFrame, *, counts: bool) -> dict[str, np.ndarray]:
    """The numeric unit columns (and ``third`` when present), checked.

    ``counts``: the outcome counts wins, so observed values are whole, at most n, and the
    Bernoulli bounds hold (sum p <= n, sum p(1-p) <= sum p, |sum p(1-p)(1-2p)| <= sum p(1-p)).
    """
    check_columns("units", units, UNIT_COLUMNS)
    ids = units["unit_id"]
    if ids.isna().any():
        raise DevianceInputError(
            f"{where('units', units, int(np.flatnonzero(ids.isna())[0]), 'unit_id')}: empty"
        )
    dup = ids.duplicated()
    if dup.any():
        pos = int(np.flatnonzero(dup)[0])
        raise DevianceInputError(f"{where('units', units, pos, 'unit_id')}: duplicate unit")
    whole = {"n"} | ({"observed", "observed_odd", "observed_even"} if counts else set())
    cols = {c: numeric("units", units, c, whole=c in whole) for c in UNIT_COLUMNS[1:]}
    if "third" in units.columns:
        cols["third"] = numeric("units", units, "third", signed=True)

    n, o, e, v = cols["n"], cols["observed"], cols["expected"], cols["variance"]
    halves = cols["observed_odd"] + cols["observed_even"]
    fail_if(
        units,
        np.abs(halves - o) > (0.0 if counts else 1e-6 * np.maximum(1.0, o)),
        "observed_odd",
        "observed_odd + observed_even differs from observed",
    )
    fail_if(
        units,
        np.abs(cols["expected_odd"] + cols["expected_even"] - e) > 1e-6 * np.maximum(1.0, e),
        "expected_odd",
        "expected_odd + expected_even differs from expected",
    )
    if counts:
        slack = TOL * np.maximum(1.0, n)
        fail_if(units, o > n, "observed", "more wins than closed deals (n)")
        fail_if(units, e > n + slack, "expected", "more expected wins than closed deals (n)")
        fail_if(units, v > e + slack, "variance", "larger than expected (sum p(1-p) <= sum p)")
        if "third" in cols:
            fail_if(
                units,
                np.abs(cols["third"]) > v + slack,
                "third",
                "larger in size than variance (|sum p(1-p)(1-2p)| <= sum p(1-p))",
            )
    return cols


def grouped_probs(
    probs: pd.DataFrame, units: pd.DataFrame, n: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """probs split by unit, in the row order of ``units``: per unit its (p, count) arrays, in
    the order of ``probs``; checked against each unit's n."""
    check_columns("probs", probs, PROB_COLUMNS)
    p = numeric("probs", probs, "p")
    if np.any(p > 1):
        pos = int(np.flatnonzero(p > 1)[0])
        raise DevianceInputError(f"{where('probs', probs, pos, 'p')}: {p[pos]!r} is above 1")
    count = numeric("probs", probs, "count", whole=True)
    unit_of = pd.Index(units["unit_id"]).get_indexer(probs["unit_id"])
    known = unit_of >= 0
    if not known.all():
        pos = int(np.flatnonzero(~known)[0])
        raise DevianceInputError(f"{where('probs', probs, pos, 'unit_id')}: not in `units`")
    order = np.argsort(unit_of, kind="stable")  # each unit's rows, in the order of ``probs``
    bounds = np.searchsorted(unit_of[order], np.arange(len(units) + 1))
    out = []
    for pos in range(len(units)):
        rows = order[bounds[pos] : bounds[pos + 1]]
        g_p, g_count = p[rows], count[rows]
        if g_count.sum() != n[pos]:
            raise DevianceInputError(
                f"{where('units', units, pos, 'n')}: n = {n[pos]:g} but `probs` holds "
                f"{g_count.sum():g} closed deals for this unit"
            )
        out.append((g_p, g_count))
    return out
