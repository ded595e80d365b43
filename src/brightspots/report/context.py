"""The report's input as a typed contract: one run's result tables and diagnostics, checked.

``ReportContext`` is what the template layer consumes; constructing one validates it, so a
missing column or an unreadable value fails here with the table, row and column named, never as
a broken page. ``build_context`` fills it from a workspace's stored run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from numbers import Real
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from brightspots.errors import BrightspotsError
from brightspots.report import fmt

if TYPE_CHECKING:
    from brightspots.workspace import Workspace

Kind = Literal["str", "num", "int", "bool", "label"]

LABELS = ("bright_spot", "candidate", "")

#: column -> kind, per result table; the order is the documented order of each table
BRIGHT_SPOTS: dict[str, Kind] = {
    "rep_id": "str",
    "name": "str",
    "team_id": "str",
    "closed": "int",
    "observed": "int",
    "expected": "num",
    "oe": "num",
    "lower_95": "num",
    "upper_95": "num",
    "lower_998": "num",
    "upper_998": "num",
    "adj_lower_95": "num",
    "adj_upper_95": "num",
    "adj_lower_998": "num",
    "adj_upper_998": "num",
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
}
FUNNEL_CURVE: dict[str, Kind] = {
    c: "num"
    for c in (
        "expected",
        "lower_95",
        "upper_95",
        "lower_998",
        "upper_998",
        "adj_lower_95",
        "adj_upper_95",
        "adj_lower_998",
        "adj_upper_998",
    )
}
RAW_LEADERBOARD: dict[str, Kind] = {
    "rank": "int",
    "rep_id": "str",
    "name": "str",
    "team_id": "str",
    "won_amount": "num",
    "won": "int",
    "closed": "int",
    "win_rate": "num",
    "label": "label",
}
CALIBRATION: dict[str, Kind] = {
    "decile": "int",
    "n": "int",
    "mean_expected": "num",
    "observed_rate": "num",
}
TABLES: dict[str, dict[str, Kind]] = {
    "bright_spots": BRIGHT_SPOTS,
    "funnel_curve": FUNNEL_CURVE,
    "raw_leaderboard": RAW_LEADERBOARD,
    "calibration": CALIBRATION,
}
#: columns that may not be empty in any row
REQUIRED: dict[str, tuple[str, ...]] = {
    "bright_spots": ("rep_id", "closed", "observed", "expected"),
    "funnel_curve": ("expected",),
    "raw_leaderboard": ("rank", "rep_id", "won_amount"),
    "calibration": ("decile", "n", "mean_expected", "observed_rate"),
}


class ReportError(BrightspotsError):
    """The stored run cannot be reported: a table, column or diagnostic is missing or unreadable."""


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    created_at: datetime
    engine: str
    fingerprint: str


@dataclass(frozen=True)
class Diagnostics:
    """The run's model and overdispersion summary (``run.diagnostics``), typed."""

    auc: float | None
    n_cases: int
    n_wins: int
    covariates: tuple[str, ...]
    warnings: tuple[str, ...]
    phi: float
    tau2: float
    mu: float
    rankability: float
    n_units: int
    n_eligible: int
    n_bright_spots: int
    n_candidates: int
    min_volume: int
    window_start: date | None
    window_end: date | None
    tau2_zero_note: str | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, source: str = "diagnostics") -> Diagnostics:
        def get(key: str) -> Any:
            if key not in d:
                raise ReportError(f"{source}: missing {key!r}")
            return d[key]

        def integer(key: str) -> int:
            v = get(key)
            if isinstance(v, bool) or not isinstance(v, int | float) or not float(v).is_integer():
                raise ReportError(f"{source}: {key!r} = {v!r} is not a whole number")
            return int(v)

        def number(key: str, *, optional: bool = False) -> float:
            v = get(key)
            if v is None and optional:
                return math.nan
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise ReportError(f"{source}: {key!r} = {v!r} is not a number")
            return float(v)

        def texts(key: str) -> tuple[str, ...]:
            v = get(key)
            if v is None:
                return ()
            if not isinstance(v, list | tuple) or not all(isinstance(x, str) for x in v):
                raise ReportError(f"{source}: {key!r} = {v!r} is not a list of text")
            return tuple(v)

        def day(key: str) -> date | None:
            v = get(key)
            if v is None or (isinstance(v, str) and v.strip() in ("", "None", "NaT")):
                return None
            try:
                t = pd.Timestamp(v)
            except (ValueError, TypeError):
                raise ReportError(f"{source}: {key!r} = {v!r} is not a date") from None
            return None if pd.isna(t) else t.date()

        note = d.get("tau2_zero_note")
        if note is not None and not isinstance(note, str):
            raise ReportError(f"{source}: 'tau2_zero_note' = {note!r} is not text")
        auc = number("auc", optional=True)
        return cls(
            auc=None if math.isnan(auc) else auc,
            n_cases=integer("n_cases"),
            n_wins=integer("n_wins"),
            covariates=texts("covariates"),
            warnings=texts("warnings"),
            phi=number("phi"),
            tau2=number("tau2"),
            mu=number("mu"),
            rankability=number("rankability", optional=True),
            n_units=integer("n_units"),
            n_eligible=integer("n_eligible"),
            n_bright_spots=integer("n_bright_spots"),
            n_candidates=integer("n_candidates"),
            min_volume=integer("min_volume"),
            window_start=day("window_start"),
            window_end=day("window_end"),
            tau2_zero_note=note or None,
        )


@dataclass
class ReportContext:
    """Everything the report shows, for one run. Frames are checked and cleaned on construction:
    text columns hold str (empty for missing), counts hold int, ``sustained`` holds bool."""

    workspace_name: str
    currency: str
    run: RunInfo
    diagnostics: Diagnostics
    bright_spots: pd.DataFrame
    funnel_curve: pd.DataFrame
    raw_leaderboard: pd.DataFrame
    calibration: pd.DataFrame

    def __post_init__(self) -> None:
        where = f"run {self.run.run_id}"
        self.bright_spots = clean_frame(self.bright_spots, "bright_spots", where)
        self.funnel_curve = clean_frame(self.funnel_curve, "funnel_curve", where)
        self.raw_leaderboard = clean_frame(self.raw_leaderboard, "raw_leaderboard", where)
        self.calibration = clean_frame(self.calibration, "calibration", where)
        _check_consistency(self, where)


def clean_frame(df: pd.DataFrame, table: str, where: str) -> pd.DataFrame:
    """A copy of ``df`` with the table's columns typed; raises ``ReportError`` naming the table,
    row (1-based, with the rep when the table has one) and column of the first bad value."""
    spec = TABLES[table]
    missing = [c for c in spec if c not in df.columns]
    if missing:
        raise ReportError(
            f"{table} ({where}): missing column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(c) for c in missing)}"
        )
    out = df.reset_index(drop=True).copy()
    if out.empty and table != "calibration":
        raise ReportError(f"{table} ({where}): the table has no rows")

    def fail(i: int, col: str, value: Any, problem: str) -> ReportError:
        rep = ""
        if "rep_id" in out.columns and not fmt.is_missing(out.at[i, "rep_id"]):
            rep = f" (rep_id {str(out.at[i, 'rep_id'])!r})"
        if isinstance(value, np.generic):
            value = value.item()
        return ReportError(
            f"{table} ({where}): row {i + 1}{rep}, column {col!r}: {value!r} {problem}"
        )

    required = REQUIRED[table]
    for col, kind in spec.items():
        raw = out[col]
        for i in range(len(out)):
            if col in required and fmt.is_missing(raw.iat[i]):
                raise fail(i, col, raw.iat[i], "is empty; a value is required")
        if kind in ("num", "int"):
            nums = pd.to_numeric(raw, errors="coerce").astype("float64")
            for i in range(len(out)):
                if not fmt.is_missing(raw.iat[i]) and (
                    isinstance(raw.iat[i], bool | np.bool_) or fmt.is_missing(nums.iat[i])
                ):
                    raise fail(i, col, raw.iat[i], "is not a number")
                if kind == "int" and not fmt.is_missing(nums.iat[i]):
                    if not float(nums.iat[i]).is_integer() or nums.iat[i] < 0:
                        raise fail(i, col, raw.iat[i], "is not a whole count")
            out[col] = nums.astype("Int64") if kind == "int" else nums
        elif kind == "bool":
            values = []
            for i in range(len(out)):
                v = raw.iat[i]
                if fmt.is_missing(v):
                    values.append(False)
                elif isinstance(v, bool | np.bool_) or (isinstance(v, Real) and v in (0, 1)):
                    values.append(bool(v))
                elif isinstance(v, str) and v.strip().lower() in ("true", "false"):
                    values.append(v.strip().lower() == "true")
                else:
                    raise fail(i, col, v, "is not true or false")
            out[col] = pd.Series(values, dtype=bool)
        else:
            texts = ["" if fmt.is_missing(v) else str(v) for v in raw]
            if kind == "label":
                for i, v in enumerate(texts):
                    if v not in LABELS:
                        raise fail(i, col, v, "is not a label (bright_spot, candidate or empty)")
            out[col] = pd.Series(texts, dtype=object)
    if table in ("bright_spots", "raw_leaderboard"):
        out["name"] = [n or r for n, r in zip(out["name"], out["rep_id"], strict=True)]
        dupes = out["rep_id"][out["rep_id"].duplicated()]
        if not dupes.empty:
            i = int(dupes.index[0])
            raise fail(i, "rep_id", out.at[i, "rep_id"], "appears more than once")
    if table == "calibration":
        for i, d in enumerate(out["decile"]):
            if not 1 <= int(d) <= 10:
                raise fail(i, "decile", int(d), "is not a decile from 1 to 10")
    return out


def _check_consistency(ctx: ReportContext, where: str) -> None:
    d = ctx.diagnostics
    labels = ctx.bright_spots["label"]
    counts = {
        "n_bright_spots": (d.n_bright_spots, int((labels == "bright_spot").sum())),
        "n_candidates": (d.n_candidates, int((labels == "candidate").sum())),
        "n_units": (d.n_units, len(ctx.bright_spots)),
    }
    for key, (said, found) in counts.items():
        if said != found:
            raise ReportError(
                f"{where}: diagnostics say {key} = {said} but the bright_spots table has {found}"
            )


def build_context(ws: Workspace, run_id: str | None = None) -> ReportContext:
    """The report context of one stored run of workspace ``ws`` (the latest run by default)."""
    if run_id is None:
        run = ws.latest_run()
    else:
        runs = {r.run_id: r for r in ws.runs()}
        if run_id not in runs:
            known = ", ".join(list(runs)[-5:]) or "none yet"
            raise ReportError(f"no run {run_id!r} in {ws.root} (latest runs: {known})")
        run = runs[run_id]
    frames: dict[str, pd.DataFrame] = {}
    for name in TABLES:
        if not ws.has_table(name):
            raise ReportError(f"run {run.run_id} in {ws.root} stored no {name!r} table")
        frames[name] = ws.run_results(name, run.run_id)
    return ReportContext(
        workspace_name=ws.root.resolve().name,
        currency=str(ws.config["workspace"]["currency"]),
        run=RunInfo(
            run_id=run.run_id,
            created_at=run.created_at,
            engine=run.engine,
            fingerprint=run.fingerprint,
        ),
        diagnostics=Diagnostics.from_dict(run.diagnostics, source=f"run {run.run_id} diagnostics"),
        **frames,
    )
