"""A pandas reference for ``brightspots analyze`` (issue 9): the same bright spots and the same
``effort_impact`` table, written as an analyst would in vectorised pandas over Parquet files.

    from bench import reference
    paths = reference.export_canonical(ws, folder)   # the workspace's live tables as Parquet
    ref = reference.reference(folder, ws.config)     # Reference(tables, timings)
    ref["bright_spots"], ref["deviance"], ref["effort_impact"], ref.timings["engine"]

Row-level work is pandas/numpy, with no loop over rows: joins are ``merge``/``map``, window
filters are boolean masks, each buyer event is credited to a touch with ``merge_asof`` (backward,
once per credit tier), a touch's next buyer event and an event's response with ``merge_asof``
(forward), sums per account, day, week and unit are ``groupby``. The statistics on the aggregates
are brightspots' own (``casemix.fit``, ``impact.cluster_spread``/``design_effect``/
``impact_units``, ``deviance.assess_outcome``/``combine_labels``, ``levels``), so any difference
from a run is a difference in the row-level work. Touches are credited once and shared by the
buyer-impact outcome and ``effort_impact``.

Local time is pandas' own time-zone conversion (``tz_convert``), not the offset table of
``brightspots.timezones``. Rounding p_hat to 4 decimals rounds half away from zero on the
product p * 10^4 (DuckDB rounds decimal ties of the exact binary value instead; no fitted
probability is such a tie in practice).

``timings`` splits the wall time into ``read`` (Parquet into pandas), ``engine`` (pandas row
work) and ``statistics`` (model fits and assessments on aggregates); ``notes["engine_seconds"]``
tells how much of ``engine`` went to crediting touches and to ``effort_impact`` alone.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from brightspots import casemix, deviance, impact, timezones
from brightspots import levels as levels_mod
from brightspots.analysis import AnalysisError, _level_table, _levels, _outcomes
from brightspots.errors import BrightspotsError
from brightspots.metrics.durations import parse_duration
from brightspots.metrics.effort import COLUMNS as EFFORT_COLUMNS
from brightspots.metrics.effort import GRAINS
from brightspots.outcomes import LEVELS
from brightspots.schema import ACTIVITY_TYPES
from brightspots.schema import TABLES as CANONICAL_TABLES
from brightspots.windows import Window, parse_window
from brightspots.workspace import Workspace

P_DECIMALS = 4  # as analysis.P_DECIMALS
TRIM = " \t\n\r\x0b\x0c"  # what the engine's strip() trims

#: the columns the reference reads from each canonical table
NEEDED: dict[str, list[str]] = {
    "teams": ["team_id", "name"],
    "reps": ["rep_id", "name", "team_id", "region", "hire_date"],
    "accounts": [
        "account_id",
        "owner_rep_id",
        "segment",
        "industry",
        "region",
        "employees",
        "annual_potential",
    ],
    "opportunities": [
        "opportunity_id",
        "account_id",
        "owner_rep_id",
        "created_at",
        "closed_at",
        "stage",
        "amount",
        "initial_amount",
        "source",
        "product",
    ],
    "activities": [
        "activity_id",
        "rep_id",
        "account_id",
        "opportunity_id",
        "contact_id",
        "type",
        "occurred_at",
        "is_bulk",
    ],
    "buyer_events": ["event_id", "account_id", "opportunity_id", "contact_id", "occurred_at"],
}
TIMESTAMPS = {"created_at", "closed_at", "occurred_at"}


class ReferenceInputError(BrightspotsError):
    """A Parquet file the reference needs is missing or lacks a column."""


@dataclass
class Reference:
    """The reference's result tables and where its wall time went (seconds)."""

    tables: dict[str, pd.DataFrame]
    timings: dict[str, float]
    notes: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]


class _Clock:
    def __init__(self) -> None:
        self.spent = {"read": 0.0, "engine": 0.0, "statistics": 0.0}

    @contextmanager
    def __call__(self, part: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.spent[part] += time.perf_counter() - start


# ----------------------------------------------------------------------------- input


def export_canonical(ws: Workspace, folder: str | Path) -> dict[str, Path]:
    """Every canonical table's live records as ``folder/<table>.parquet`` (DuckDB COPY)."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    con = ws.duckdb()
    paths = {}
    for t in CANONICAL_TABLES:
        path = out / f"{t.name}.parquet"
        target = str(path).replace("'", "''")
        con.execute(f"COPY ({ws.live_sql(t.name)}) TO '{target}' (FORMAT parquet)")
        paths[t.name] = path
    return paths


def load(folder: str | Path) -> dict[str, pd.DataFrame]:
    """The columns the reference needs from each table's Parquet file in ``folder``."""
    tables = {}
    for name, columns in NEEDED.items():
        path = Path(folder) / f"{name}.parquet"
        if not path.is_file():
            raise ReferenceInputError(
                f"{path}: no such file; write the tables with export_canonical(ws, folder)"
            )
        have = set(pq.read_schema(path).names)
        missing = [c for c in columns if c not in have]
        if missing:
            raise ReferenceInputError(f"{path}: no column(s) {', '.join(missing)}")
        frame = pq.read_table(path, columns=columns).to_pandas()
        for c in columns:
            if c in TIMESTAMPS or c == "hire_date":
                frame[c] = pd.to_datetime(frame[c])
        tables[name] = frame
    return tables


@dataclass(frozen=True)
class Settings:
    """The parts of a workspace config the analysis reads, checked as ``analyze`` checks them."""

    timezone: str
    currency: str
    covariates: list[str]
    levels: list[str]
    outcomes: list[str]
    min_volume: int
    min_touches: int
    pool_min_cases: int
    amount_fallback: str
    phi_method: str
    rep_window: Window
    team_window: Window
    impact_window: timedelta
    dark_after: timedelta


def settings(config: dict) -> Settings:
    cfg = config["analysis"]
    min_volume, min_touches = int(cfg["min_volume"]), int(cfg["min_touches"])
    if min_volume < 1:
        raise AnalysisError(f"minimum volume {min_volume}: it must be at least 1 closed deal")
    if min_touches < 1:
        raise AnalysisError(
            f"[analysis] min_touches = {min_touches}: it must be at least 1 settled touch"
        )
    tz = config["workspace"]["timezone"]
    timezones.zone(tz)
    return Settings(
        timezone=tz,
        currency=config["workspace"]["currency"],
        covariates=list(cfg["covariates"]),
        levels=_levels(cfg),
        outcomes=_outcomes(cfg),
        min_volume=min_volume,
        min_touches=min_touches,
        pool_min_cases=int(cfg["pool_min_cases"]),
        amount_fallback=cfg["amount_fallback"],
        phi_method=cfg["overdispersion"],
        rep_window=parse_window(cfg["window"]),
        team_window=parse_window(cfg["team_window"], setting="team_window"),
        **{
            name: parse_duration(config["metrics"][name], setting=f"[metrics] {name}")
            for name in ("impact_window", "dark_after")
        },
    )


# ----------------------------------------------------------------------------- row helpers


def local(ts: pd.Series, tz: str) -> pd.Series:
    """Naive UTC timestamps as naive local wall time in zone ``tz``."""
    if tz == "UTC":
        return ts
    return ts.dt.tz_localize("UTC").dt.tz_convert(timezones.zone(tz)).dt.tz_localize(None)


def text_code(col: pd.Series) -> pd.Series:
    cleaned = col.astype("str").str.strip(TRIM).str.lower()
    return cleaned.where(cleaned.notna() & (cleaned != ""), casemix.MISSING)


def log_grid(col: pd.Series) -> pd.Series:
    v = col.astype("float64").to_numpy(na_value=np.nan)
    ok = np.isfinite(v) & (v >= 0)
    grid = np.floor(np.log(np.where(ok, v, 0.0) + 1.0) / casemix.LOG_STEP)
    grid = grid * casemix.LOG_STEP + casemix.LOG_STEP / 2
    return pd.Series(np.where(ok, grid, casemix.NUM_MISSING), index=col.index)


def quarter_label(ts: pd.Series) -> pd.Series:
    return ts.dt.year.astype("str") + "-Q" + ts.dt.quarter.astype("str")


def tenure_band(created_local: pd.Series, hire_date: pd.Series) -> pd.Series:
    days = (created_local.dt.normalize() - hire_date).dt.days
    band = np.select(
        [hire_date.isna(), days < 365, days < 730, days < 1826],
        [casemix.MISSING, "0-1y", "1-2y", "2-5y"],
        "5y+",
    )
    return pd.Series(band, index=created_local.index, dtype="str")


def coded(j: pd.DataFrame, covariates: list[str], created_local: pd.Series, amount: str) -> dict:
    """The ``x_<covariate>`` columns of ``casemix`` from a joined frame (accounts and reps)."""
    build = {
        "segment": lambda: text_code(j["segment"]),
        "industry": lambda: text_code(j["industry"]),
        "region": lambda: text_code(j["region"]),
        "source": lambda: text_code(j["source"]),
        "product": lambda: text_code(j["product"]),
        "tenure": lambda: tenure_band(created_local, j["hire_date"]),
        "quarter": lambda: quarter_label(created_local),
        "deal_size": lambda: log_grid(j[amount]),
        "account_potential": lambda: log_grid(j["annual_potential"]),
        "territory_potential": lambda: log_grid(j["territory_potential"]),
        "account_size": lambda: log_grid(j["employees"]),
    }
    return {f"x_{name}": build[name]() for name in covariates}


def territory_book(accounts: pd.DataFrame) -> pd.Series:
    """Per rep, the mean annual potential of the accounts they own."""
    a = accounts[accounts["owner_rep_id"].notna() & accounts["annual_potential"].notna()]
    return a.groupby("owner_rep_id")["annual_potential"].mean()


def with_accounts_and_reps(rows: pd.DataFrame, tables: dict, rep_col: str) -> pd.DataFrame:
    """``rows`` with their account's columns, their rep's team, hire date and region
    (``rep_region``) and the rep's territory potential."""
    acc = tables["accounts"][
        ["account_id", "segment", "industry", "region", "employees", "annual_potential"]
    ]
    j = rows.merge(acc, on="account_id", how="left", validate="many_to_one")
    reps = tables["reps"].set_index("rep_id")
    rep = j[rep_col]
    return j.assign(
        team_id=rep.map(reps["team_id"]),
        hire_date=rep.map(reps["hire_date"]),
        rep_region=rep.map(reps["region"]),
        territory_potential=rep.map(territory_book(tables["accounts"])),
    )


def cells(cases: pd.DataFrame) -> pd.DataFrame:
    keys = [c for c in cases.columns if c.startswith("x_")]
    g = cases.groupby(keys, sort=True, dropna=False)
    return g.agg(n=("y", "size"), wins=("y", "sum")).reset_index()


def score(model: casemix.CaseMixModel, cases: pd.DataFrame) -> np.ndarray:
    """p_hat of each row: ``model.linear_predictor`` written over pandas columns."""
    coef = model.params
    eta = np.full(len(cases), float(coef.get("const", 0.0)))
    for name in model.covariates:
        x = cases[f"x_{name}"]
        if casemix.COVARIATES[name].kind == "categorical":
            by_level = {lv: float(coef.get(f"{name}[{lv}]", 0.0)) for lv in model.levels[name]}
            other = float(coef.get(f"{name}[{casemix.OTHER}]", 0.0))
            eta = eta + x.map(by_level).fillna(other).to_numpy(float)
        else:
            v = x.to_numpy(float)
            miss = v == casemix.NUM_MISSING
            centred = np.where(miss, 0.0, v - model.centres[name])
            eta = eta + float(coef.get(name, 0.0)) * centred
            if casemix.COVARIATES[name].squared:
                eta = eta + float(coef.get(f"{name}^2", 0.0)) * centred * centred
            if model.has_missing[name]:
                eta = eta + np.where(miss, float(coef.get(f"{name}[missing]", 0.0)), 0.0)
    return 1.0 / (1.0 + np.exp(-eta))


def round_half_away(p: np.ndarray, decimals: int) -> np.ndarray:
    scale = 10.0**decimals
    v = p * scale
    whole = np.trunc(v)
    return (whole + np.where(np.abs(v - whole) >= 0.5, np.sign(v), 0.0)) / scale


def since(frame: pd.DataFrame, column: str, start: pd.Timestamp | None) -> pd.DataFrame:
    return frame if start is None else frame[frame[column] > start]


def odd_month(ts: pd.Series) -> np.ndarray:
    return (ts.dt.month % 2 == 1).to_numpy()


# ----------------------------------------------------------------------------- closed deals


def amount_column(closed: pd.DataFrame, fallback: str) -> str | None:
    if closed["initial_amount"].notna().any():
        return "initial_amount"
    return None if fallback == "drop" else "amount"


def case_table(tables: dict, covariates: list[str], amount: str, tz: str) -> pd.DataFrame:
    """One row per closed opportunity: unit columns, closes, y, amounts, coded covariates."""
    casemix.check_covariates(covariates)
    o = tables["opportunities"]
    closed = o[o["stage"].isin(["won", "lost"]) & o["closed_at"].notna()]
    j = with_accounts_and_reps(closed.reset_index(drop=True), tables, "owner_rep_id")
    closed_local = local(j["closed_at"], tz)
    return pd.DataFrame(
        {
            "opportunity_id": j["opportunity_id"],
            "rep_id": j["owner_rep_id"],
            "team_id": j["team_id"],
            "region": j["rep_region"],
            "closed_at": j["closed_at"],
            "closed_local": closed_local,
            "y": (j["stage"] == "won").astype("int64"),
            "amount": j["amount"].astype("float64"),
            "base_amount": j["initial_amount"].astype("float64"),
            **coded(j, covariates, local(j["created_at"], tz), amount),
        }
    )


def _unit_sums(unit: pd.Series, columns: dict[str, Any]) -> pd.DataFrame:
    rows = pd.DataFrame({"unit_id": unit.to_numpy(), **columns})
    return rows.groupby("unit_id", sort=True).sum().reset_index()


def win_rate_units(c: pd.DataFrame, unit: str) -> pd.DataFrame:
    p, y, odd = c["p_hat"].to_numpy(), c["y"].to_numpy(float), odd_month(c["closed_local"])
    return _unit_sums(
        c[unit],
        {
            "n": np.ones(len(c), dtype="int64"),
            "observed": y,
            "expected": p,
            "variance": p * (1.0 - p),
            "third": p * (1.0 - p) * (1.0 - 2.0 * p),
            "observed_odd": np.where(odd, y, 0.0),
            "expected_odd": np.where(odd, p, 0.0),
            "observed_even": np.where(odd, 0.0, y),
            "expected_even": np.where(odd, 0.0, p),
            "won_amount": np.where(y == 1, c["amount"].to_numpy(float), 0.0),
        },
    )


def revenue_scale(scored: pd.DataFrame) -> dict | None:
    """r (booked / created on won deals) and cv2 (relative variance of that ratio)."""
    base = scored["base_amount"]
    won = scored[(scored["y"] == 1) & base.notna() & (base > 0)]
    created = won["base_amount"].sum()
    if not len(won) or not created:
        return None
    ratio = won["amount"] / won["base_amount"]
    r = float(won["amount"].sum() / created)
    cv2 = max(float((ratio * ratio).mean()) / r**2 - 2 * float(ratio.mean()) / r + 1.0, 0.0)
    return {"r": r, "cv2": cv2, "won_deals": len(won)}


def revenue_units(c: pd.DataFrame, unit: str, *, r: float, cv2: float) -> pd.DataFrame:
    s = c[c["base_amount"].notna() & (c["base_amount"] > 0)]
    p, odd = s["p_hat"].to_numpy(), odd_month(s["closed_local"])
    a = s["base_amount"].to_numpy() * r
    g = 1.0 + cv2
    m2 = a * a * g
    m3 = a * a * a * g * g * g
    booked = np.where(s["y"].to_numpy() == 1, s["amount"].fillna(0.0).to_numpy(float), 0.0)
    return _unit_sums(
        s[unit],
        {
            "n": np.ones(len(s), dtype="int64"),
            "observed": booked,
            "expected": p * a,
            "variance": p * m2 - p * p * a * a,
            "third": p * m3 - 3.0 * p * p * a * m2 + 2.0 * p * p * p * a * a * a,
            "observed_odd": np.where(odd, booked, 0.0),
            "expected_odd": np.where(odd, p * a, 0.0),
            "observed_even": np.where(odd, 0.0, booked),
            "expected_even": np.where(odd, 0.0, p * a),
        },
    )


def probability_histogram(c: pd.DataFrame, unit: str) -> pd.DataFrame:
    binned = pd.DataFrame(
        {"unit_id": c[unit], "p": round_half_away(c["p_hat"].to_numpy(), P_DECIMALS)}
    )
    return binned.groupby(["unit_id", "p"]).size().reset_index(name="count")


def quarter_units(c: pd.DataFrame, unit: str) -> pd.DataFrame:
    q = pd.DataFrame(
        {
            "unit_id": c[unit],
            "quarter": quarter_label(c["closed_local"]),
            "observed": c["y"].astype("float64"),
            "expected": c["p_hat"],
        }
    )
    g = q.groupby(["unit_id", "quarter"])
    return g.agg(
        observed=("observed", "sum"), expected=("expected", "sum"), n=("observed", "size")
    ).reset_index()


# ----------------------------------------------------------------------------- touches


def _keys(left: pd.DataFrame, right: pd.DataFrame, cols: list[str]) -> tuple:
    """Integer keys for the values of ``cols`` in both frames: equal values, equal keys (a
    null is a value of its own), for ``merge_asof(by=...)``."""
    kl, kr = np.zeros(len(left), dtype="int64"), np.zeros(len(right), dtype="int64")
    for col in cols:
        both = pd.concat([left[col], right[col]], ignore_index=True)
        codes, uniques = pd.factorize(both, use_na_sentinel=False)
        kl = kl * len(uniques) + codes[: len(left)]
        kr = kr * len(uniques) + codes[len(left) :]
    return kl, kr


def credit(touches: pd.DataFrame, events: pd.DataFrame, window: timedelta) -> pd.DataFrame:
    """Per buyer event (index of ``events``): the credited touch's ``activity_id`` and
    ``credit_tier`` (NaN when none), as ``metrics.credit.credited`` defines them."""
    activity = pd.Series(np.nan, index=events.index, dtype="str")
    credit_tier = pd.Series(np.nan, index=events.index, dtype="str")
    tiers = (("opportunity", "opportunity_id"), ("contact", "contact_id"), ("account", None))
    for tier, key in tiers:
        cols = ["account_id"] + ([key] if key else [])
        open_ = activity.isna()
        e = events[open_ & (events[key].notna() if key else True)]
        t = touches[touches[key].notna()] if key else touches
        if not len(e) or not len(t):
            continue
        tk, ek = _keys(t, e, cols)
        right = pd.DataFrame(
            {
                "g": tk,
                "at": t["occurred_at"].to_numpy(),
                "activity_id": t["activity_id"].to_numpy(),
            }
        )
        # touches at the same instant on the same key: the smallest activity_id
        tied = right.duplicated(["g", "at"], keep=False).to_numpy()
        if tied.any():
            smallest = right[tied].groupby(["g", "at"])["activity_id"].transform("min")
            right.loc[tied, "activity_id"] = smallest
        right = right.drop_duplicates(["g", "at"]).sort_values("at")
        right["touch_at"] = right["at"]
        left = pd.DataFrame({"g": ek, "at": e["occurred_at"].to_numpy(), "row": e.index})
        m = pd.merge_asof(left.sort_values("at"), right, on="at", by="g", direction="backward")
        m = m[m["touch_at"].notna() & (m["touch_at"] >= m["at"] - window)]
        activity.loc[m["row"].to_numpy()] = m["activity_id"].to_numpy()
        credit_tier.loc[m["row"].to_numpy()] = tier
    return pd.DataFrame({"activity_id": activity, "credit_tier": credit_tier})


def next_event_at(touches: pd.DataFrame, events: pd.DataFrame) -> pd.Series:
    """Per touch, the first buyer event on its account at or after it (NaT when none)."""
    tk, ek = _keys(touches, events, ["account_id"])
    left = pd.DataFrame({"g": tk, "at": touches["occurred_at"].to_numpy(), "row": touches.index})
    right = pd.DataFrame({"g": ek, "at": events["occurred_at"].to_numpy()})
    right["next_event_at"] = right["at"]
    m = pd.merge_asof(
        left.sort_values("at"), right.sort_values("at"), on="at", by="g", direction="forward"
    )
    return pd.Series(m["next_event_at"].to_numpy(), index=m["row"].to_numpy()).reindex(
        touches.index
    )


def touch_outcomes(
    touches: pd.DataFrame,
    events: pd.DataFrame,
    credited: pd.DataFrame,
    *,
    dark_after: timedelta,
    as_of: pd.Timestamp,
) -> pd.DataFrame:
    """``touches`` with ``events_credited`` and ``outcome`` (impact, followed, dark, pending)."""
    counts = credited["activity_id"].dropna().value_counts()
    n = touches["activity_id"].map(counts).fillna(0).astype("int64")
    nxt = next_event_at(touches, events)
    at = touches["occurred_at"]
    outcome = np.select(
        [n > 0, nxt.notna() & (nxt <= at + dark_after), at + dark_after <= as_of],
        ["impact", "followed", "dark"],
        "pending",
    )
    return touches.assign(events_credited=n, outcome=outcome)


def response_hours(tables: dict, touches: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Per event: ``responsible_rep_id`` (its opportunity's owner, else its account's) and the
    hours (whole seconds) to the first touch at or after it on its account by that rep."""
    opp_owner = tables["opportunities"].set_index("opportunity_id")["owner_rep_id"]
    acc_owner = tables["accounts"].set_index("account_id")["owner_rep_id"]
    responsible = events["opportunity_id"].map(opp_owner)
    responsible = responsible.fillna(events["account_id"].map(acc_owner))
    e = events.assign(rep=responsible)[responsible.notna()]
    t = touches.assign(rep=touches["rep_id"])
    hours = pd.Series(np.nan, index=events.index)
    if len(e) and len(t):
        tk, ek = _keys(t, e, ["account_id", "rep"])
        right = pd.DataFrame({"g": tk, "at": t["occurred_at"].to_numpy()})
        right["responded_at"] = right["at"]
        left = pd.DataFrame({"g": ek, "at": e["occurred_at"].to_numpy(), "row": e.index})
        m = pd.merge_asof(
            left.sort_values("at"), right.sort_values("at"), on="at", by="g", direction="forward"
        )
        m = m[m["responded_at"].notna()]
        secs = (whole_seconds(m["responded_at"]) - whole_seconds(m["at"])).astype("float64")
        hours.loc[m["row"].to_numpy()] = secs / 3600.0
    return pd.DataFrame({"responsible_rep_id": responsible, "response_hours": hours})


def whole_seconds(ts: pd.Series) -> np.ndarray:
    return ts.to_numpy("datetime64[us]").astype("int64") // 1_000_000


@dataclass
class TouchData:
    touches: pd.DataFrame  # with events_credited and outcome
    events: pd.DataFrame  # with activity_id (credited touch) and credit_tier
    as_of: pd.Timestamp | None


def touch_data(tables: dict, s: Settings) -> TouchData:
    acts, events = tables["activities"], tables["buyer_events"]
    stamps = pd.concat([acts["occurred_at"], events["occurred_at"]])
    as_of = stamps.max() if stamps.notna().any() else None
    t = acts[~acts["is_bulk"].fillna(False).astype(bool)].drop(columns="is_bulk")
    t = t[t["occurred_at"].notna()].reset_index(drop=True)
    e = events[events["occurred_at"].notna()].reset_index(drop=True)
    cr = credit(t, e, s.impact_window)
    e = pd.concat([e, cr], axis=1)
    # no activities and no buyer events: no touch to judge (an empty table, as in a run)
    judged_at = as_of if as_of is not None else pd.Timestamp("2000-01-01")
    out = touch_outcomes(t, e, cr, dark_after=s.dark_after, as_of=judged_at)
    return TouchData(touches=out, events=e, as_of=as_of)


# ----------------------------------------------------------------------------- effort_impact


#: columns of the stacked touch and event rows that are not counts
NON_COUNTS = {"rep_id", "account_id", "opportunity_id", "at", "response_hours"}


def effort_impact(tables: dict, td: TouchData, tz: str) -> pd.DataFrame:
    """The long ``effort_impact`` table (``metrics.effort.COLUMNS``), sorted like a run's."""
    t, e = td.touches, td.events
    team_of = tables["reps"].set_index("rep_id")["team_id"]
    resp = response_hours(tables, t, e)
    kind = t["type"]
    touch_rows = pd.DataFrame(
        {
            "rep_id": t["rep_id"],
            "account_id": t["account_id"],
            "opportunity_id": t["opportunity_id"],
            "at": t["occurred_at"],
            "touches": 1,
            **{
                col: (t["outcome"] == o).astype("int64")
                for col, o in (
                    ("touches_with_impact", "impact"),
                    ("touches_followed", "followed"),
                    ("touches_in_dark", "dark"),
                    ("touches_pending", "pending"),
                )
            },
            **{f"{ty}_touches": (kind == ty).astype("int64") for ty in ACTIVITY_TYPES},
            **{
                f"_credited_{ty}": t["events_credited"].where(kind == ty, 0)
                for ty in ACTIVITY_TYPES
            },
        }
    )
    credited_rep = e["activity_id"].map(t.set_index("activity_id")["rep_id"])
    event_rows = pd.DataFrame(
        {
            "rep_id": credited_rep.fillna(resp["responsible_rep_id"]),
            "account_id": e["account_id"],
            "opportunity_id": e["opportunity_id"],
            "at": e["occurred_at"],
            "buyer_events": 1,
            "events_credited": e["activity_id"].notna().astype("int64"),
            "events_unanswered": resp["response_hours"].isna().astype("int64"),
            "response_hours": resp["response_hours"],
        }
    )
    rows = pd.concat([touch_rows, event_rows], ignore_index=True)
    counts = [c for c in rows.columns if c not in NON_COUNTS]
    rows[counts] = rows[counts].fillna(0).astype("int64")
    rows["team_id"] = rows["rep_id"].map(team_of)
    day = local(rows["at"], tz).dt.normalize().to_numpy()
    events_only = np.arange(len(rows)) >= len(touch_rows)
    hours = pd.Series(rows["response_hours"].to_numpy()[events_only])
    units = dict(zip(GRAINS, ("rep_id", "team_id", "account_id", "opportunity_id"), strict=True))
    parts = []
    for grain in sorted(GRAINS):  # the run's order: grain, every, unit_id, period
        # unit codes in sorted order, so that groups come out sorted; -1 (no unit) is dropped
        code, unit_ids = pd.factorize(rows[units[grain]], sort=True)
        daily = rows[counts].groupby([code, day]).sum()
        # weeks from days: a day lies in one week
        weekly = daily.groupby(
            [daily.index.get_level_values(0), monday(daily.index.get_level_values(1))]
        ).sum()
        ev_code, ev_day = code[events_only], day[events_only]
        for every, sums, ev_period in (
            ("day", daily, ev_day),
            ("week", weekly, monday(ev_day)),
        ):
            median = hours.groupby([ev_code, ev_period]).median()
            sums = sums.assign(median_response_hours=median.reindex(sums.index).to_numpy())
            sums = sums[sums.index.get_level_values(0) >= 0]
            codes = sums.index.get_level_values(0).to_numpy()
            parts.append(
                sums.reset_index(drop=True).assign(
                    grain=grain,
                    unit_id=np.asarray(unit_ids)[codes],
                    every=every,
                    period=sums.index.get_level_values(1).to_numpy(),
                )
            )
    out = pd.concat(parts, ignore_index=True)
    iso = out["period"].dt.isocalendar()
    label = iso["year"].astype("str") + "-W" + iso["week"].astype("str").str.zfill(2)
    out["week_label"] = label.where(out["every"] == "week", "")
    out["impact_rate"] = ratio(out["touches_with_impact"], out["touches"])
    for ty in ACTIVITY_TYPES:
        out[f"events_per_{ty}_touch"] = ratio(out[f"_credited_{ty}"], out[f"{ty}_touches"])
    out["unit_id"] = out["unit_id"].astype("str")
    return out[list(EFFORT_COLUMNS)]


def monday(days) -> np.ndarray:
    """The Monday of the ISO week of each (normalised) day."""
    days = pd.DatetimeIndex(days)
    return (days - pd.to_timedelta(days.day_of_week, unit="D")).to_numpy()


def ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    return (num.astype("float64") / den.astype("float64")).where(den > 0, np.nan)


# ----------------------------------------------------------------------------- buyer impact


def touch_cases(tables: dict, td: TouchData, covariates: list[str], s: Settings) -> pd.DataFrame:
    """One row per settled touch: units, account, time, y and coded covariates."""
    out = td.touches
    settled = out[out["occurred_at"] <= td.as_of - s.dark_after].reset_index(drop=True)
    j = with_accounts_and_reps(settled, tables, "rep_id")
    occurred_local = local(j["occurred_at"], s.timezone)
    return pd.DataFrame(
        {
            "account_id": j["account_id"],
            "rep_id": j["rep_id"],
            "team_id": j["team_id"],
            "region": j["rep_region"],
            "occurred_at": j["occurred_at"],
            "occurred_local": occurred_local,
            "y": (j["outcome"] == "impact").astype("int64"),
            **coded(j, covariates, occurred_local, "amount"),
        }
    )


def account_sums(scored: pd.DataFrame) -> pd.DataFrame:
    """``impact.account_sums``: per rep, account and half (odd local month), n, o, e, v, t."""
    p = scored["p_hat"].to_numpy()
    rows = pd.DataFrame(
        {
            "rep_id": scored["rep_id"],
            "team_id": scored["team_id"],
            "region": scored["region"],
            "account_id": scored["account_id"],
            "odd": odd_month(scored["occurred_local"]),
            "o": scored["y"].to_numpy(float),
            "e": p,
            "v": p * (1.0 - p),
            "t": p * (1.0 - p) * (1.0 - 2.0 * p),
        }
    )
    keys = ["rep_id", "team_id", "region", "account_id", "odd"]
    g = rows.groupby(keys, sort=False, dropna=False)
    sums = g[["o", "e", "v", "t"]].sum()
    sums.insert(0, "n", g.size())
    return sums.reset_index()


# ----------------------------------------------------------------------------- the whole thing


def reference(folder: str | Path, config: dict) -> Reference:
    """Bright spots (per rep, team and region and per outcome) and ``effort_impact`` from the
    Parquet tables in ``folder``, with the workspace config ``config`` (``ws.config``).

    Tables: ``bright_spots`` (as a run's: one row per unit and level, the combined label),
    ``deviance`` (one row per unit, level and outcome), ``outcome_summary`` (one row per level
    and outcome: phi, tau2, ... and the design effect for buyer impact) and ``effort_impact``.
    """
    clock = _Clock()
    s = settings(config)
    with clock("read"):
        tables = load(folder)
    for name in ("reps", "accounts", "opportunities"):
        if not len(tables[name]):
            raise AnalysisError(f"{Path(folder) / name}.parquet has no rows: nothing to analyse")
    notes: dict[str, Any] = {}

    with clock("engine"):
        o = tables["opportunities"]
        closed = o[o["stage"].isin(["won", "lost"]) & o["closed_at"].notna()]
        if not len(closed):
            raise AnalysisError("no closed opportunities (won or lost with closed_at) to analyse")
        amount = amount_column(closed, s.amount_fallback)
        covariates = [c for c in s.covariates if amount is not None or c != "deal_size"]
        casemix.check_levels(covariates, s.levels)
        cases = case_table(tables, covariates, amount or "amount", s.timezone)
        window_end = cases["closed_at"].max()
        windows = {lv: s.rep_window if lv == "rep" else s.team_window for lv in s.levels}
        starts = {lv: w.start(window_end) for lv, w in windows.items()}
        fit_start = None if any(v is None for v in starts.values()) else min(starts.values())
        fit_cases = since(cases, "closed_at", fit_start)
        cell_frame = cells(fit_cases)
    with clock("statistics"):
        model = casemix.fit(cell_frame, covariates, pool_min_cases=s.pool_min_cases)
    with clock("engine"):
        scored = fit_cases.assign(p_hat=score(model, fit_cases))
        revenue = None
        if "won_revenue" in s.outcomes and amount == "initial_amount":
            revenue = revenue_scale(scored)
        started = time.perf_counter()
        td = touch_data(tables, s)
        credited_at = time.perf_counter()
        effort = effort_impact(tables, td, s.timezone)
        # parts of the engine time: crediting touches (shared by buyer impact and
        # effort_impact), and effort_impact's own work (a run does it only with practices)
        notes["engine_seconds"] = {
            "credit_and_outcomes": credited_at - started,
            "effort_impact": time.perf_counter() - credited_at,
        }

    impact_scored, impact_note = None, None
    if "buyer_impact" in s.outcomes and td.as_of is not None:
        with clock("engine"):
            chosen = impact.covariates_for(covariates)
            tcases = touch_cases(tables, td, chosen, s)
            fit_touches = since(tcases, "occurred_at", fit_start)
            n, wins = len(fit_touches), int(fit_touches["y"].sum())
            touch_cells = cells(fit_touches) if chosen and 0 < wins < n else None
        if 0 < wins < n:
            with clock("statistics"):
                tmodel = (
                    casemix.fit(touch_cells, chosen, pool_min_cases=s.pool_min_cases)
                    if chosen
                    else None
                )
            with clock("engine"):
                p_touch = score(tmodel, tcases) if tmodel else np.full(len(tcases), wins / n)
                impact_scored = tcases.assign(p_hat=p_touch)
                impact_note = {"n_touches": n, "touches_with_impact": wins, "design_effect": {}}
    notes["buyer_impact"] = impact_note
    notes["revenue_scale"] = revenue
    notes["covariates"] = covariates

    reps, teams = tables["reps"], tables["teams"]
    team_names = dict(zip(teams["team_id"], teams["name"], strict=True))
    names = {
        "rep": dict(zip(reps["rep_id"], reps["name"], strict=True)),
        "team": {t: team_names.get(t, t) for t in sorted(set(reps["team_id"].dropna()))},
        "region": {r: r for r in sorted(set(reps["region"].dropna()))},
    }
    rep_df = reps[["rep_id", "name", "team_id", "region"]]
    sums_by_start: dict[pd.Timestamp | None, pd.DataFrame] = {}
    deviance_rows, table_rows, summaries = [], [], []
    for level in s.levels:
        unit = LEVELS[level]
        unit_ids = sorted(names[level])
        if not unit_ids:
            continue
        with clock("engine"):
            level_cases = since(scored, "closed_at", starts[level])
            level_cases = level_cases[level_cases[unit].notna()]
            units_by_outcome: dict[str, pd.DataFrame] = {
                "win_rate": win_rate_units(level_cases, unit)
            }
            if "won_revenue" in s.outcomes and revenue is not None:
                units_by_outcome["won_revenue"] = revenue_units(
                    level_cases, unit, r=revenue["r"], cv2=revenue["cv2"]
                )
            if impact_scored is not None and starts[level] not in sums_by_start:
                touches_in = since(impact_scored, "occurred_at", starts[level])
                sums_by_start[starts[level]] = account_sums(touches_in)
            probs = probability_histogram(level_cases, unit)
            quarters = quarter_units(level_cases, unit)
        with clock("statistics"):
            if impact_scored is not None:
                sums = sums_by_start[starts[level]]
                deff = impact.design_effect(*impact.cluster_spread(sums, unit))
                impact_note["design_effect"][level] = deff
                units_by_outcome["buyer_impact"] = impact.impact_units(sums, unit, deff=deff)
            results = {}
            for outcome in [o for o in s.outcomes if o in units_by_outcome]:
                units = levels_mod.complete_units(units_by_outcome[outcome], unit_ids)
                units = levels_mod.fill_halves(units)
                assessed, summary = deviance.assess_outcome(
                    units,
                    outcome=outcome,
                    min_volume=s.min_touches if outcome == "buyer_impact" else s.min_volume,
                    noun=level,
                    probs=probs if outcome == "win_rate" else None,
                    currency=s.currency,
                    phi_method=s.phi_method,
                )
                assessed = assessed.assign(level=level, outcome=outcome)
                assessed.insert(1, "name", assessed["unit_id"].map(names[level]))
                results[outcome] = assessed
                summaries.append({"level": level, "outcome": outcome, **summary})
            per_outcome = pd.concat(results.values(), ignore_index=True)
            deviance_rows.append(per_outcome)
            combined = deviance.combine_labels(per_outcome)
            shown = levels_mod.last_quarters(quarters["quarter"].dropna().tolist())
            persist = levels_mod.persistence(quarters, shown)
            table_rows.append(_level_table(level, results["win_rate"], combined, persist, rep_df))

    return Reference(
        tables={
            "bright_spots": pd.concat(table_rows, ignore_index=True),
            "deviance": pd.concat(deviance_rows, ignore_index=True),
            "outcome_summary": pd.DataFrame(summaries),
            "effort_impact": effort,
        },
        timings=dict(clock.spent),
        notes=notes,
    )
