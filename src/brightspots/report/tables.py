"""The result tables a report reads, as typed column specs, and the check that cleans a stored
frame against its spec.

A run made by an older version lacks the columns added since (``level``, ``unit_id``,
``outcome``, the quarters view): they are filled in as absent, so an old run still reports as the
rep-level, win-rate run it was. A stored table read after newer runs added columns holds nulls in
them for the old run's rows; those are filled the same way, row by row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Real
from typing import Any, Literal

import numpy as np
import pandas as pd

from brightspots.deviance.constants import LIMIT_COLUMNS
from brightspots.errors import BrightspotsError
from brightspots.report import fmt

Kind = Literal["str", "num", "int", "bool", "label"]

LABELS = ("bright_spot", "candidate", "")
LEVELS = ("rep", "team", "region")
PRIMARY_OUTCOME = "win_rate"

_LIMITS = LIMIT_COLUMNS


class ReportError(BrightspotsError):
    """The stored run cannot be reported: a table, column or diagnostic is missing or unreadable."""


@dataclass(frozen=True)
class Spec:
    """A result table as the report reads it.

    ``columns`` must be present; ``optional`` columns may be absent (older runs) and are then
    added empty, except those in ``absent_ok``, which stay absent. ``required`` values may not be
    empty (checked after the old-run defaults are filled in); ``keys`` identify a row.
    """

    columns: dict[str, Kind]
    required: tuple[str, ...]
    optional: dict[str, Kind] = field(default_factory=dict)
    absent_ok: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()


BRIGHT_SPOTS = Spec(
    columns={
        "rep_id": "str",
        "name": "str",
        "team_id": "str",
        "closed": "int",
        "observed": "int",
        "expected": "num",
        "oe": "num",
        **dict.fromkeys(_LIMITS, "num"),
        "label": "label",
        "reason": "str",
        "variance": "num",
        "s": "num",
        "z": "num",
        "z_od": "num",
        "p_value": "num",
        "q_value": "num",
        "shrunk_oe": "num",
        "shrunk_lower_95": "num",
        "shrunk_upper_95": "num",
        "reliability": "num",
        "p_above_1": "num",
        "p_extreme": "num",
        "expected_rank": "num",
        "observed_odd": "num",
        "expected_odd": "num",
        "observed_even": "num",
        "expected_even": "num",
        "sustained": "bool",
        "needed_oe": "num",
        "won_amount": "num",
    },
    required=("level", "unit_id", "closed", "observed", "expected"),
    optional={
        "level": "str",
        "unit_id": "str",
        "outcome": "str",
        "quarters_above": "int",
        "quarters_assessed": "int",
        "quarters_oe": "str",
        "detectable": "bool",
    },
    absent_ok=("detectable",),
    keys=("level", "unit_id"),
)
DEVIANCE = Spec(
    columns={
        "unit_id": "str",
        "level": "str",
        "outcome": "str",
        "n": "int",
        "observed": "num",
        "expected": "num",
        "oe": "num",
        **dict.fromkeys(_LIMITS, "num"),
        "shrunk_oe": "num",
        "shrunk_lower_95": "num",
        "shrunk_upper_95": "num",
        "p_above_1": "num",
        "expected_rank": "num",
        "needed_oe": "num",
        "label": "label",
        "reason": "str",
    },
    required=("unit_id", "level", "outcome", "n", "observed", "expected"),
    optional={"name": "str", "detectable": "bool"},
    absent_ok=("detectable",),
    keys=("level", "unit_id", "outcome"),
)
FUNNEL_CURVE = Spec(
    columns={"expected": "num", **dict.fromkeys(_LIMITS, "num")},
    required=("expected",),
    optional={"level": "str", "outcome": "str"},
)
RAW_LEADERBOARD = Spec(
    columns={
        "rank": "int",
        "rep_id": "str",
        "name": "str",
        "team_id": "str",
        "won_amount": "num",
        "won": "int",
        "closed": "int",
        "win_rate": "num",
        "label": "label",
    },
    required=("rank", "rep_id", "won_amount"),
    keys=("rep_id",),
)
CALIBRATION = Spec(
    columns={"decile": "int", "n": "int", "mean_expected": "num", "observed_rate": "num"},
    required=("decile", "n", "mean_expected", "observed_rate"),
)
#: the tables every reportable run stores
TABLES: dict[str, Spec] = {
    "bright_spots": BRIGHT_SPOTS,
    "funnel_curve": FUNNEL_CURVE,
    "raw_leaderboard": RAW_LEADERBOARD,
    "calibration": CALIBRATION,
}
#: tables a run may lack (made before they existed)
OPTIONAL_TABLES: dict[str, Spec] = {"deviance": DEVIANCE}
#: what the history across runs reads from an earlier run's bright_spots table
HISTORY = Spec(
    columns={k: BRIGHT_SPOTS.columns[k] for k in ("rep_id", "name", "oe", "label")},
    required=("level", "unit_id"),
    optional={k: BRIGHT_SPOTS.optional[k] for k in ("level", "unit_id", "outcome")},
    keys=("level", "unit_id"),
)
#: what the history reads from an earlier run's deviance table
HISTORY_DEVIANCE = Spec(
    columns={k: DEVIANCE.columns[k] for k in ("unit_id", "level", "outcome", "oe")},
    required=("unit_id", "level", "outcome"),
    keys=("level", "unit_id", "outcome"),
)
SPECS: dict[str, Spec] = {**TABLES, **OPTIONAL_TABLES}


def _row_name(out: pd.DataFrame, i: int) -> str:
    for col in ("rep_id", "unit_id"):
        if col in out.columns and not fmt.is_missing(out.at[i, col]) and str(out.at[i, col]):
            return f" ({col} {str(out.at[i, col])!r})"
    return ""


def _failure(table: str, where: str, out: pd.DataFrame, i: int, col: str, value: Any, problem: str):
    if isinstance(value, np.generic):
        value = value.item()
    return ReportError(
        f"{table} ({where}): row {i + 1}{_row_name(out, i)}, column {col!r}: {value!r} {problem}"
    )


def _typed(raw: pd.Series, kind: Kind, fail) -> pd.Series:
    """One column converted to its kind; ``fail(i, value, problem)`` builds the error for the
    first bad value (checked column-wise: a report reads tables of thousands of units)."""
    missing = raw.isna().to_numpy()
    if kind in ("num", "int"):
        if raw.dtype == bool or raw.dtype == object:
            flags = np.array([isinstance(v, bool | np.bool_) for v in raw], dtype=bool)
            if flags.any():
                i = int(np.flatnonzero(flags)[0])
                raise fail(i, raw.iat[i], "is not a number")
        nums = pd.to_numeric(raw, errors="coerce").astype("float64")
        bad = ~missing & nums.isna().to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise fail(i, raw.iat[i], "is not a number")
        if kind == "int":
            values = nums.to_numpy()
            with np.errstate(invalid="ignore"):
                bad = ~np.isnan(values) & ((values != np.floor(values)) | (values < 0))
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise fail(i, raw.iat[i], "is not a whole count")
            return nums.astype("Int64")
        return nums
    if kind == "bool":
        values = []
        for i in range(len(raw)):
            v = raw.iat[i]
            if missing[i]:
                values.append(False)
            elif isinstance(v, bool | np.bool_) or (isinstance(v, Real) and v in (0, 1)):
                values.append(bool(v))
            elif isinstance(v, str) and v.strip().lower() in ("true", "false"):
                values.append(v.strip().lower() == "true")
            else:
                raise fail(i, v, "is not true or false")
        return pd.Series(values, dtype=bool, index=raw.index)
    texts = ["" if m else str(v) for v, m in zip(raw, missing, strict=True)]
    if kind == "label":
        for i, v in enumerate(texts):
            if v not in LABELS:
                raise fail(i, v, "is not a label (bright_spot, candidate or empty)")
    return pd.Series(texts, dtype=object, index=raw.index)


def _fill_defaults(table: str, out: pd.DataFrame) -> None:
    """Old runs: the rep level, the unit named by rep_id, the win-rate outcome."""
    if "level" in out.columns:
        out["level"] = [v or "rep" for v in out["level"]]
    if "outcome" in out.columns and table != "deviance":
        out["outcome"] = [v or PRIMARY_OUTCOME for v in out["outcome"]]
    if "unit_id" in out.columns and "rep_id" in out.columns:
        out["unit_id"] = [u or r for u, r in zip(out["unit_id"], out["rep_id"], strict=True)]
    if "name" in out.columns:
        key = "unit_id" if "unit_id" in out.columns else "rep_id"
        out["name"] = [n or u for n, u in zip(out["name"], out[key], strict=True)]


def clean_frame(df: pd.DataFrame, table: str, where: str, spec: Spec | None = None) -> pd.DataFrame:
    """A copy of ``df`` with the table's columns typed; raises ``ReportError`` naming the table,
    row (1-based, with the unit when the table has one) and column of the first bad value."""
    spec = spec or SPECS[table]
    missing = [c for c in spec.columns if c not in df.columns]
    if missing:
        raise ReportError(
            f"{table} ({where}): missing column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(c) for c in missing)}"
        )
    out = df.reset_index(drop=True).copy()
    if out.empty and table != "calibration":
        raise ReportError(f"{table} ({where}): the table has no rows")
    for col in spec.optional:
        if col not in out.columns and col not in spec.absent_ok:
            out[col] = pd.Series([None] * len(out), dtype=object)
    kinds = {**spec.columns, **{c: k for c, k in spec.optional.items() if c in out.columns}}
    for col, kind in kinds.items():

        def fail(i: int, value: Any, problem: str, col: str = col) -> ReportError:
            return _failure(table, where, out, i, col, value, problem)

        out[col] = _typed(out[col], kind, fail)
    _fill_defaults(table, out)
    for col in spec.required:
        values = out[col]
        empty = values.isna().to_numpy().copy()
        if values.dtype == object:
            empty |= (values == "").to_numpy()
        if empty.any():
            i = int(np.flatnonzero(empty)[0])
            raise _failure(table, where, out, i, col, None, "is empty; a value is required")
    if "level" in out.columns:
        for i, v in enumerate(out["level"]):
            if v not in LEVELS:
                raise _failure(table, where, out, i, "level", v, "is not rep, team or region")
    if table in ("bright_spots", "raw_leaderboard"):
        reps = out["level"] == "rep" if "level" in out.columns else pd.Series(True, out.index)
        for i in np.flatnonzero(reps.to_numpy() & (out["rep_id"] == "").to_numpy()):
            raise _failure(table, where, out, int(i), "rep_id", None, "is empty on a rep's row")
    if spec.keys:
        dupes = out.duplicated(list(spec.keys))
        if dupes.any():
            i = int(np.flatnonzero(dupes.to_numpy())[0])
            col = spec.keys[-1] if len(spec.keys) > 1 else spec.keys[0]
            if table == "bright_spots" and out.at[i, "level"] == "rep":
                col = "rep_id"
            raise _failure(table, where, out, i, col, out.at[i, col], "appears more than once")
    if table == "calibration":
        for i, d in enumerate(out["decile"]):
            if not 1 <= int(d) <= 10:
                raise _failure(
                    table, where, out, i, "decile", int(d), "is not a decile from 1 to 10"
                )
    return out
