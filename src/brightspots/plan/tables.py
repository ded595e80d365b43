"""The key-account tables of an analysis run: the per-account inputs computed on the workspace's
engine (``inputs``), brought back one row per account, and turned into ``account_plan`` and
``effort_allocation`` (``accounts``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from brightspots import casemix
from brightspots.plan import accounts as accounts_mod
from brightspots.plan import inputs
from brightspots.plan.adherence import adherence
from brightspots.plan.make import PLANS
from brightspots.windows import parse_window
from brightspots.workspace import Workspace

DEFAULT_EFFORT_WINDOW = "6m"
DEFAULT_HISTORY = "36m"


def _days(text: str, setting: str, as_of: pd.Timestamp) -> int:
    start = parse_window(text, setting=f"[plan] {setting}").start(as_of)
    return 36500 if start is None else max(1, (as_of - start).days)


def _words(text: str) -> str:
    """ "6m" -> "6 months" (the window as the sentences say it)."""
    words = parse_window(text, setting="[plan] effort_window").words().removeprefix("the last ")
    return words.removesuffix("s") if words.startswith("1 ") else words


def account_tables(
    ws: Workspace,
    *,
    model: casemix.CaseMixModel,
    covariates: list[str],
    amount: str,
    local: Callable[[ir.TimestampValue], ir.TimestampValue],
    as_of: pd.Timestamp,
    outcomes: ir.Table,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """``account_plan``, ``effort_allocation`` and the run's plan notes. ``model``: the run's
    case-mix model (scores the open deals' win probability); ``outcomes``: the ledger's touch
    outcomes."""
    plan = ws.config.get("plan") or {}
    as_of = pd.Timestamp(as_of)
    effort_text = plan.get("effort_window", DEFAULT_EFFORT_WINDOW)
    opps, accounts, reps = ws.table("opportunities"), ws.table("accounts"), ws.table("reps")
    open_cases = casemix.case_table(
        opps, accounts, reps, covariates=covariates, amount_column=amount, local=local,
        open_deals=True,
    )  # fmt: skip
    scored = model.score(open_cases).select("opportunity_id", "account_id", "amount", "p_hat")
    expr = inputs.account_inputs(
        accounts,
        opps,
        ws.table("activities"),
        outcomes,
        scored,
        as_of=as_of.to_pydatetime(),
        effort_days=_days(effort_text, "effort_window", as_of),
        history_days=_days(plan.get("history", DEFAULT_HISTORY), "history", as_of),
        minutes=dict(plan.get("minutes") or {}),
    )
    frame = ws.execute(expr)
    teams = ws.execute(reps.select("rep_id", "team_id"))
    settings = accounts_mod.Settings.of(ws.config, _words(effort_text))
    return accounts_mod.build(frame, teams, settings, ws.config["workspace"]["currency"])


def plan_adherence(
    ws: Workspace,
    *,
    local: Callable[[ir.TimestampValue], ir.TimestampValue],
    as_of: pd.Timestamp,
    outcomes: ir.Table,
) -> pd.DataFrame | None:
    """The stored plans against what happened (``adherence``), or None when no plan is stored
    or none of their months has begun. The plans (small) go to the engine as a table."""
    if not ws.has_table(PLANS):
        return None
    plans = ws.duckdb().execute(f"SELECT * FROM {PLANS}").df()
    if plans.empty:
        return None
    plan = ws.config.get("plan") or {}
    expr = adherence(
        ibis.memtable(plans),
        ws.table("activities"),
        outcomes,
        ws.table("opportunities"),
        local=local,
        minutes=dict(plan.get("minutes") or {}),
        as_of=pd.Timestamp(as_of).to_pydatetime(),
    )
    got = ws.execute(expr)
    return got if len(got) else None
