"""The tables of effort, buyer impact and practices a report reads, as typed column specs, the
check that cleans them, and their reading from a stored run.

A run made before these tables existed, or analysed without practices, has none of them: each is
then None and its section of the report says so. A table that is there is checked like the others
(``tables.clean_frame``): a missing column or an unreadable value fails with the table, row and
column named. Of ``effort_impact`` the report reads the team rows (the effort section) and the rep
rows by week (the personal view), never the account or opportunity rows.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from brightspots.metrics.durations import DurationError, parse_duration
from brightspots.report.tables import ReportError, Spec, clean_frame

if TYPE_CHECKING:
    from brightspots.workspace import Workspace

EFFORT = Spec(
    columns={
        "grain": "str",
        "unit_id": "str",
        "every": "str",
        "week_label": "str",
        "touches": "int",
        "touches_with_impact": "int",
        "touches_followed": "int",
        "touches_in_dark": "int",
        "touches_pending": "int",
        "buyer_events": "int",
        "impact_rate": "num",
    },
    required=("grain", "unit_id", "every", "touches"),
    optional={"events_unanswered": "int", "median_response_hours": "num"},
    keys=("grain", "unit_id", "every", "period"),
)
PRACTICE_EFFECTS = Spec(
    columns={
        "practice": "str",
        "description": "str",
        "n": "int",
        "odds_ratio": "num",
        "or_low": "num",
        "or_high": "num",
        "pp_diff": "num",
        "pp_low": "num",
        "pp_high": "num",
        "q": "num",
        "bright_share": "num",
        "peer_share": "num",
        "whole_deal_odds_ratio": "num",
        "whole_deal_q": "num",
        "suspect": "bool",
        "sentence": "str",
    },
    required=("practice",),
    optional={
        "kind": "str",
        "unit": "str",
        "analysis": "str",
        "higher_is_better": "bool",
        "n_bright": "int",
        "whole_deal_or_low": "num",
        "whole_deal_or_high": "num",
    },
    keys=("practice",),
)
PRACTICE_SEGMENT_EFFECTS = Spec(
    columns={"practice": "str", "segment": "str", "n": "int", "pp_diff": "num"},
    required=("practice", "segment"),
    keys=("practice", "segment"),
)
PRACTICE_REPS = Spec(
    columns={"rep_id": "str", "practice": "str", "deals": "int", "value": "num", "does": "bool"},
    required=("rep_id", "practice"),
    keys=("practice", "rep_id"),
)
REP_RESOURCES = Spec(
    columns={
        "rep_id": "str",
        "territory_potential": "num",
        "accounts": "num",
        "deals": "num",
        "median_deal_size": "num",
        "tenure_years": "num",
    },
    required=("rep_id",),
    keys=("rep_id",),
)
#: the run tables of effort and practices a report reads, by name
SPECS: dict[str, Spec] = {
    "effort_impact": EFFORT,
    "practice_effects": PRACTICE_EFFECTS,
    "practice_segment_effects": PRACTICE_SEGMENT_EFFECTS,
    "practice_reps": PRACTICE_REPS,
    "rep_resources": REP_RESOURCES,
}
#: the effort rows a report reads
EFFORT_ROWS = "(grain = 'team' OR (grain = 'rep' AND every = 'week'))"
GRAINS = ("rep", "team", "account", "opportunity")
EVERY = ("day", "week")
#: the ``[metrics]`` defaults, for a context built by hand
IMPACT_WINDOW = timedelta(days=7)
DARK_AFTER = timedelta(days=30)


def _fail(table: str, where: str, df: pd.DataFrame, i: int, col: str, value: Any, problem: str):
    unit = df.at[i, "unit_id"] if "unit_id" in df.columns else None
    name = f" (unit_id {unit!r})" if unit else ""
    if isinstance(value, np.generic):
        value = value.item()
    return ReportError(f"{table} ({where}): row {i + 1}{name}, column {col!r}: {value!r} {problem}")


def _effort(df: pd.DataFrame, where: str) -> pd.DataFrame:
    table = "effort_impact"
    if "period" not in df.columns:
        raise ReportError(f"{table} ({where}): missing column 'period'")
    raw = df["period"].reset_index(drop=True)
    period = pd.to_datetime(raw, errors="coerce")
    bad = period.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise _fail(
            table, where, df.reset_index(drop=True), i, "period", raw.iat[i], "is not a date"
        )
    if getattr(period.dt, "tz", None) is not None:
        period = period.dt.tz_localize(None)
    out = clean_frame(df.assign(period=period.to_numpy()), table, where, EFFORT)
    for col, allowed in (("grain", GRAINS), ("every", EVERY)):
        wrong = ~out[col].isin(allowed).to_numpy()
        if wrong.any():
            i = int(np.flatnonzero(wrong)[0])
            raise _fail(table, where, out, i, col, out.at[i, col], f"is not one of {allowed}")
    return out


def clean(df: pd.DataFrame | None, table: str, where: str) -> pd.DataFrame | None:
    """A typed copy of one of the ``SPECS`` tables of a run; None when the run has none (an empty
    frame counts as none: the run was made before the table existed, or without practices)."""
    if df is None or df.empty:
        return None
    if table == "effort_impact":
        return _effort(df, where)
    spec = SPECS[table]
    if table == "practice_effects":
        # the practice's level (opportunity or rep-period) is not a report level
        df = df.rename(columns={"level": "practice_level"})
        if "higher_is_better" in df.columns:
            df = df.assign(higher_is_better=df["higher_is_better"].astype(object).fillna(True))
        else:
            df = df.assign(higher_is_better=True)
    if table == "rep_resources":
        segments = {c: "num" for c in df.columns if c.startswith("segment_share__")}
        spec = Spec({**spec.columns, **segments}, spec.required, keys=spec.keys)
    return clean_frame(df, table, where, spec)


def read(ws: Workspace, run_id: str) -> dict[str, pd.DataFrame | None]:
    """The raw ``SPECS`` tables of a stored run (the effort rows of ``EFFORT_ROWS`` only); None
    for a table the workspace or the run lacks."""
    out: dict[str, pd.DataFrame | None] = {}
    for name in SPECS:
        if not ws.has_table(name):
            out[name] = None
            continue
        if name == "effort_impact":
            frame = ws.run_rows(name, run_id, where=EFFORT_ROWS).reset_index(drop=True)
        else:
            frame = ws.run_results(name, run_id)
        out[name] = frame if len(frame) else None
    return out


def durations(config: dict[str, Any]) -> dict[str, timedelta]:
    """``impact_window`` and ``dark_after`` from a ``[metrics]`` config section (the run's own
    config; the defaults where a setting is absent)."""
    out = {}
    for name, default in (("impact_window", IMPACT_WINDOW), ("dark_after", DARK_AFTER)):
        value = config.get(name)
        if value is None:
            out[name] = default
            continue
        try:
            out[name] = parse_duration(value, setting=f"[metrics] {name}")
        except DurationError as e:
            raise ReportError(f"the run's config: {e}") from None
    return out
