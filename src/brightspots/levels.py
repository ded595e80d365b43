"""Assemble one level's results (reps, teams or regions) from per-outcome aggregates.

Pure pandas over small aggregated frames: the engine work happens before (``outcomes``), the
statistics in ``deviance``. This module names units, fills in units with no closed deals, runs each
outcome's assessment, combines the labels, and adds the quarter-by-quarter persistence view.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from brightspots import deviance

NOUNS = {"rep": "rep", "team": "team", "region": "region"}
QUARTERS_SHOWN = 4


def complete_units(units: pd.DataFrame, unit_ids: list[str]) -> pd.DataFrame:
    """Every known unit gets a row; units without closed deals in the window have zeros."""
    units = units[units["unit_id"].notna()]
    missing = sorted(set(unit_ids) - set(units["unit_id"]))
    if not missing:
        return units.reset_index(drop=True)
    zeros = pd.DataFrame(
        0, columns=[c for c in units.columns if c != "unit_id"], index=range(len(missing))
    )
    zeros.insert(0, "unit_id", missing)
    out = pd.concat([units, zeros.astype(units.dtypes.to_dict())], ignore_index=True)
    return out.reset_index(drop=True)


def fill_halves(units: pd.DataFrame) -> pd.DataFrame:
    cols = ["observed_odd", "expected_odd", "observed_even", "expected_even", "won_amount"]
    return units.fillna({c: 0.0 for c in cols if c in units.columns})


def persistence(quarters: pd.DataFrame, last_quarters: list[str]) -> pd.DataFrame:
    """Per unit: in how many of the last quarters O/E was above 1, and the sequence in words.

    ``quarters``: unit_id, quarter, observed, expected, n. A quarter where the unit closed nothing
    is counted as not assessed.
    """
    q = quarters[quarters["quarter"].isin(last_quarters) & (quarters["expected"] > 0)]
    q = q.assign(above=q["observed"] > q["expected"], oe=q["observed"] / q["expected"])
    rows = []
    for unit, g in q.groupby("unit_id", sort=True):
        by_q = g.set_index("quarter")
        marks = []
        for label in last_quarters:
            if label in by_q.index:
                marks.append(f"{label} {by_q.at[label, 'oe']:.2f}")
        rows.append(
            {
                "unit_id": unit,
                "quarters_above": int(g["above"].sum()),
                "quarters_assessed": int(len(g)),
                "quarters_oe": "; ".join(marks),
            }
        )
    out = pd.DataFrame(
        rows, columns=["unit_id", "quarters_above", "quarters_assessed", "quarters_oe"]
    )
    return out


def last_quarters(all_quarters: list[str], n: int = QUARTERS_SHOWN) -> list[str]:
    return sorted(set(all_quarters))[-n:]


def funnel_grid(table: pd.DataFrame, min_volume: int) -> np.ndarray:
    top_e = float(table["expected"].max()) if len(table) else 1.0
    low = float(table.loc[table["expected"] > 0, "expected"].min()) if len(table) else 0.5
    # geometric: revenue books span orders of magnitude, and the funnel bends most at small E
    return np.geomspace(max(min(low, 0.5), 1e-3), max(top_e * 1.1, 2.0), 200)


def v_over_e(table: pd.DataFrame, min_volume: int) -> float:
    eligible = table[(table["n"] >= min_volume) & (table["expected"] > 0)]
    if not len(eligible):
        return 0.7
    return float(np.median(eligible["variance"] / eligible["expected"]))


def curve(table: pd.DataFrame, summary: dict, min_volume: int) -> pd.DataFrame:
    def finite(key: str) -> float:
        v = summary.get(key)
        v = float(v) if v is not None else 0.0
        return v if np.isfinite(v) else 0.0  # no unit with the minimum volume: no estimate

    return deviance.funnel_curve(
        funnel_grid(table, min_volume),
        v_over_e(table, min_volume),
        finite("tau2"),
        finite("t_over_v"),
    )
