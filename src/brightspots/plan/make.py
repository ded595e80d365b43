"""``brightspots plan``: a key-account plan for a rep or a team from the latest run's
``account_plan``, each rep's capacity measured from their own history, the tier rules of
``[plan]``, solved by ``optimize``; stored in the workspace (``account_plans``) so later runs can
show adherence.

Capacity: the median, over the last ``[plan] capacity_months`` full months before the data's
last month, of the hours a month the rep spent on touches of their own book (durations where
recorded, else ``[plan.minutes]``), unless given; a rep with no such touches (new, or back from
leave) gets the median of the other reps' capacities, and the plan says so. Minutes a touch
of an account takes: the rep's own average on that account over the effort window when they
touched it at least 3 times, else their average over the book, else the default of a call.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from brightspots.plan import optimize
from brightspots.plan.inputs import DEFAULT_MINUTES, minutes_of
from brightspots.plan.optimize import Book, PlanError, Rules
from brightspots.windows import parse_window
from brightspots.workspace import Workspace

#: the stored plans: one row per plan, rep, account and month
PLANS = "account_plans"
PLAN_COLUMNS = (
    "plan_id",
    "created_at",
    "created_by",
    "run_id",
    "rep_id",
    "account_id",
    "month",
    "touches",
    "hours",
)
_DDL = (
    f"CREATE TABLE IF NOT EXISTS {PLANS} (plan_id VARCHAR, created_at TIMESTAMP, "
    "created_by VARCHAR, run_id VARCHAR, rep_id VARCHAR, account_id VARCHAR, month VARCHAR, "
    "touches BIGINT, hours DOUBLE)"
)
MIN_OWN_TOUCHES = 3


@dataclass(frozen=True)
class RepPlan:
    rep_id: str
    rep_name: str
    capacity_hours: float  # a month
    capacity_source: str  # "measured over N months" or "given"
    unused_hours: float  # a month, when every account is at its cap
    rows: pd.DataFrame  # one row per account: ids, tier, value, fit, target and months


@dataclass(frozen=True)
class Plan:
    plan_id: str
    created_at: datetime
    run_id: str
    months: list[str]
    reps: list[RepPlan]

    def long(self) -> pd.DataFrame:
        """One row per rep, account and month (the CSV and the stored layout)."""
        parts = []
        for rp in self.reps:
            for m in self.months:
                r = rp.rows
                parts.append(
                    pd.DataFrame(
                        {
                            "plan_id": self.plan_id,
                            "rep_id": rp.rep_id,
                            "account_id": r["account_id"],
                            "account": r["name"],
                            "tier": r["tier"],
                            "value": r["value"],
                            "fit": r["fit"],
                            "month": m,
                            "touches": r[m].astype("int64"),
                            "hours": r[m] * r["minutes"] / 60.0,
                            "touches_a_month_now": r["touches_now"],
                        }
                    )
                )
        cols = ["plan_id", "rep_id", "account_id", "account", "tier", "value", "fit", "month",
                "touches", "hours", "touches_a_month_now"]  # fmt: skip
        if not parts:
            return pd.DataFrame(columns=cols)
        return pd.concat(parts, ignore_index=True)[cols]


def _months_after(as_of: pd.Timestamp, n: int) -> list[str]:
    first = (as_of.to_period("M") + 1).to_timestamp()
    return [(first + pd.DateOffset(months=i)).strftime("%Y-%m") for i in range(n)]


def _reps_in_scope(ws: Workspace, rep: str | None, team: str | None) -> pd.DataFrame:
    reps = ws.execute(ws.table("reps").select("rep_id", "name", "team_id"))
    if (rep is None) == (team is None):
        raise PlanError("give one of --rep or --team")
    if rep is not None:
        hit = reps[(reps["rep_id"] == rep) | (reps["name"] == rep)]
        if hit.empty:
            raise PlanError(f"no rep {rep!r} in the workspace (use a rep_id or a name)")
        return hit.head(1)
    teams = ws.execute(ws.table("teams").select("team_id", "name"))
    ids = set(teams.loc[(teams["team_id"] == team) | (teams["name"] == team), "team_id"])
    if not ids:
        raise PlanError(f"no team {team!r} in the workspace (use a team_id or a name)")
    hit = reps[reps["team_id"].isin(ids)]
    if hit.empty:
        raise PlanError(f"team {team!r} has no reps")
    return hit


def _book_touches(
    ws: Workspace, rep_ids: list[str], since: pd.Timestamp, minutes: dict[str, float]
) -> pd.DataFrame:
    """The reps' own touches on their own books since ``since``: rep_id, account_id, local
    month, minutes."""
    a, acc = ws.table("activities"), ws.table("accounts")
    a = a.filter(
        ~a.is_bulk.fill_null(False)
        & a.rep_id.isin(rep_ids)
        & (a.occurred_at >= since.to_pydatetime())
    )
    j = a.join(acc.select("account_id", "owner_rep_id"), "account_id")
    j = j.filter(j.rep_id == j.owner_rep_id)
    mins = j.duration_minutes.cast("float64").fill_null(minutes_of(j.type, minutes))
    got = ws.execute(j.select("rep_id", "account_id", "occurred_at", minutes=mins))
    stamps = pd.to_datetime(got["occurred_at"]).dt.tz_localize("UTC").dt.tz_convert(ws.timezone)
    got["month"] = stamps.dt.strftime("%Y-%m")
    return got


def make_plan(
    ws: Workspace,
    *,
    rep: str | None = None,
    team: str | None = None,
    months: int | None = None,
    capacity_hours: float | None = None,
    run_id: str | None = None,
) -> Plan:
    """The plan (not stored: ``store``). Raises ``PlanError`` with the conflict in words."""
    cfg = ws.config.get("plan") or {}
    months = int(months if months is not None else cfg.get("months", 3))
    if not 1 <= months <= 24:
        raise PlanError(f"--months {months}: plan 1 to 24 months")
    if capacity_hours is not None and not capacity_hours > 0:
        raise PlanError(f"--capacity {capacity_hours}: give the hours a month, above 0")
    run = ws.find_run(run_id)
    if run is None:
        raise PlanError(f"no run {run_id!r} in the workspace")
    if not ws.has_table("account_plan") or "plan" not in run.diagnostics:
        raise PlanError(
            f"run {run.run_id} has no account plan: run `brightspots analyze --workspace "
            f"{ws.root}` again with this version"
        )
    scope = _reps_in_scope(ws, rep, team)
    accounts = ws.run_rows(
        "account_plan",
        run.run_id,
        "owner_rep_id IN (SELECT unnest(?))",
        [scope["rep_id"].tolist()],
    )
    as_of = _as_of(ws)
    month_names = _months_after(as_of, months)
    minutes = {**DEFAULT_MINUTES, **{k: float(v) for k, v in (cfg.get("minutes") or {}).items()}}
    cap_months = int(cfg.get("capacity_months", 6))
    last_full = as_of.to_period("M")  # the data's last month is not over: not counted
    first = (last_full - cap_months).to_timestamp()
    done = [str(p) for p in pd.period_range(last_full - cap_months, last_full - 1, freq="M")]
    touches = _book_touches(ws, scope["rep_id"].tolist(), first.tz_localize(None), minutes)
    rules = Rules(
        min_touches={k: int(v) for k, v in (cfg.get("min_touches") or {}).items()},
        max_touches={k: int(v) for k, v in (cfg.get("max_touches") or {}).items()},
    )
    window_months = _effort_months(cfg)
    caps = _capacities(scope, touches, done, capacity_hours, cap_months)
    out = []
    for _, r in scope.sort_values("rep_id").iterrows():
        book = accounts[accounts["owner_rep_id"] == r["rep_id"]].sort_values("account_id")
        mine = touches[touches["rep_id"] == r["rep_id"]]
        cap, source = caps[r["rep_id"]]
        mins = _minutes_per_touch(book, mine)
        b = Book(
            rep_id=str(r["rep_id"]),
            account_id=book["account_id"].to_numpy(str),
            tier=book["tier"].to_numpy(str),
            priority=book["priority"].to_numpy(float),
            minutes=mins,
            capacity=cap * 60.0,
        )
        solved = optimize.solve(b, rules, months)
        rows = book[["account_id", "name", "tier", "value", "fit"]].reset_index(drop=True)
        rows["minutes"] = mins
        rows["target"] = solved.target
        rows["touches_now"] = book["own_touches"].to_numpy(float) / window_months
        for j, m in enumerate(month_names):
            rows[m] = solved.touches[:, j]
        out.append(
            RepPlan(
                str(r["rep_id"]), str(r["name"]), cap, source, solved.unused_minutes / 60.0, rows
            )  # fmt: skip
        )
    now = datetime.now(UTC).replace(tzinfo=None)
    return Plan(uuid.uuid4().hex[:12], now, run.run_id, month_names, out)


def _capacities(
    scope: pd.DataFrame,
    touches: pd.DataFrame,
    months: list[str],
    given: float | None,
    n_months: int,
) -> dict[str, tuple[float, str]]:
    """Each rep's hours a month and where the figure comes from: given; the median of their own
    months; or, for a rep with no touches on their book in those months (new, or back from
    leave), the median of the others' capacities."""
    if given is not None:
        return {r: (float(given), "given") for r in scope["rep_id"]}
    own = {}
    for rep in scope["rep_id"]:
        mine = touches[touches["rep_id"] == rep]
        monthly = mine.groupby("month")["minutes"].sum().reindex(months, fill_value=0.0)
        own[rep] = float(np.median(monthly.to_numpy())) / 60.0 if len(monthly) else 0.0
    measured = [v for v in own.values() if v > 0]
    out = {}
    for _, r in scope.iterrows():
        rep = r["rep_id"]
        if own[rep] > 0:
            out[rep] = (own[rep], f"median of the last {n_months} full months")
        elif measured:
            out[rep] = (
                float(np.median(measured)),
                f"no touches on their accounts in the last {n_months} full months: the median "
                "of the other reps' capacities",
            )
        else:
            raise PlanError(
                f"rep {rep} ({r['name']}) has no touches on their own accounts in the last "
                f"{n_months} full months, so their capacity cannot be measured: give it with "
                "--capacity HOURS (a month)"
            )
    return out


def _effort_months(cfg: dict) -> float:
    """The effort window in months (a day-window in months of 30.44 days)."""
    w = parse_window(cfg.get("effort_window", "6m"), setting="[plan] effort_window")
    if w.months:
        return float(w.months)
    return w.days / 30.4375 if w.days else 6.0


def _minutes_per_touch(book: pd.DataFrame, mine: pd.DataFrame) -> np.ndarray:
    per = mine.groupby("account_id")["minutes"].agg(["sum", "count"])
    overall = float(mine["minutes"].sum() / len(mine)) if len(mine) else DEFAULT_MINUTES["call"]
    got = []
    for a in book["account_id"]:
        if a in per.index and per.at[a, "count"] >= MIN_OWN_TOUCHES:
            got.append(per.at[a, "sum"] / per.at[a, "count"])
        else:
            got.append(overall)
    return np.maximum(np.array(got, dtype=float), 1.0)


def _as_of(ws: Workspace) -> pd.Timestamp:
    a = ws.table("activities")
    got = ws.execute(a.occurred_at.max())
    if got is None or pd.isna(got):
        raise PlanError("no activities in the workspace: there is no effort to plan from")
    ts = pd.Timestamp(got).tz_localize("UTC").tz_convert(ws.timezone)
    return ts.tz_localize(None)


def store(ws: Workspace, plan: Plan, created_by: str) -> None:
    """Keep the plan (one transaction)."""
    long = plan.long()
    frame = pd.DataFrame(
        {
            "plan_id": plan.plan_id,
            "created_at": plan.created_at,
            "created_by": created_by,
            "run_id": plan.run_id,
            "rep_id": long["rep_id"],
            "account_id": long["account_id"],
            "month": long["month"],
            "touches": long["touches"].astype("int64"),
            "hours": long["hours"].astype(float),
        },
        columns=list(PLAN_COLUMNS),
    )
    with ws.transaction() as con:
        con.execute(_DDL)
        con.register("_bs_plan", frame)
        con.execute(f"INSERT INTO {PLANS} SELECT * FROM _bs_plan")
        con.unregister("_bs_plan")


def summary(plan: Plan) -> list[str]:
    """One line per rep for the terminal."""
    lines = []
    for rp in plan.reps:
        first = plan.months[0]
        planned = float((rp.rows[first] * rp.rows["minutes"]).sum()) / 60.0
        strategic = rp.rows["tier"].isin(["strategic", "key"])
        lines.append(
            f"{rp.rep_name} ({rp.rep_id}): {len(rp.rows)} accounts, capacity "
            f"{rp.capacity_hours:.1f} h a month ({rp.capacity_source}); {first}: "
            f"{int(rp.rows[first].sum())} touches, {planned:.1f} h, "
            f"{int(rp.rows.loc[strategic, first].sum())} on strategic and key accounts"
            + (f"; {rp.unused_hours:.1f} h a month left" if rp.unused_hours > 0.05 else "")
        )
    return lines
