"""The key-account pages of the web app: a rep's book of accounts, and one account's page
(value, tier, fit and its reasons, effort and impact, fair share, its plan and what followed).
Display-ready values only; who may see what is ``access``' (an account is seen by whoever may
see its owner's pages; an account without an owner by admins)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from brightspots.plan.make import PLANS
from brightspots.report import fmt
from brightspots.teams import below
from brightspots.web.data import Snapshot
from brightspots.workspace import Workspace

TIER_ORDER = {"strategic": 0, "key": 1, "core": 2, "maintain": 3}


@dataclass(frozen=True)
class BookRow:
    account_id: str
    name: str
    tier: str
    value: str
    fit: str
    touches: str
    fair: str
    flag: str


@dataclass(frozen=True)
class Book:
    rep_id: str
    rep_name: str
    note: str
    rows: list[BookRow]
    summary: str


@dataclass(frozen=True)
class FlaggedRow:
    account_id: str
    name: str
    owner_id: str
    owner_name: str
    tier: str
    value: str
    touches: str
    fair: str
    expected: str
    flag: str
    sentence: str


@dataclass(frozen=True)
class TeamAccounts:
    """A team's key accounts for its managers: how well effort follows value, and the accounts
    clearly under- or over-served (accounts, each with its owner: no ranking of reps)."""

    team_id: str
    team_name: str
    summary: str
    rows: list[FlaggedRow]


@dataclass(frozen=True)
class PlanMonth:
    month: str
    planned: str
    actual: str
    impact: str


@dataclass(frozen=True)
class AccountPage:
    account_id: str
    name: str
    owner_id: str
    owner_name: str
    tier: str
    facts: list[tuple[str, str]]
    fit_reasons: list[str]
    fit_check: str
    sentence: str
    note: str
    plan: list[PlanMonth]


def _num(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def has_accounts(ws: Workspace, snap: Snapshot) -> bool:
    return snap.run is not None and ws.has_table("account_plan")


def owner_of(ws: Workspace, snap: Snapshot, account_id: str) -> tuple[bool, str | None]:
    """(whether the account is in the latest run's plan table, its owner rep id)."""
    if not has_accounts(ws, snap):
        return False, None
    got = ws.run_rows("account_plan", snap.run.run_id, "account_id = ?", [account_id])
    if got.empty:
        return False, None
    owner = got["owner_rep_id"].iloc[0]
    return True, None if pd.isna(owner) else str(owner)


def book(ws: Workspace, snap: Snapshot, rep_id: str) -> Book:
    name = snap.rep_name(rep_id)
    if not has_accounts(ws, snap):
        return Book(rep_id, name, "No key-account view yet: run an analysis.", [], "")
    rows = ws.run_rows("account_plan", snap.run.run_id, "owner_rep_id = ?", [rep_id])
    if rows.empty:
        return Book(rep_id, name, f"{name} owns no accounts.", [], "")
    rows = rows.assign(_t=rows["tier"].map(TIER_ORDER)).sort_values(
        ["_t", "value", "account_id"], ascending=[True, False, True]
    )
    out = [
        BookRow(
            account_id=str(r["account_id"]),
            name=str(r["name"]),
            tier=str(r["tier"]),
            value=fmt.money(r["value"], snap.currency),
            fit=fmt.MISSING if math.isnan(_num(r["fit"])) else f"{_num(r['fit']):.0f}",
            touches=fmt.integer(r["own_touches"]),
            fair=fmt.decimal(r["fair_touches"]),
            flag={"under": "under-served", "over": "over-served"}.get(str(r["flag"]), ""),
        )
        for _, r in rows.iterrows()
    ]
    under, over = int((rows["flag"] == "under").sum()), int((rows["flag"] == "over").sum())
    summary = (
        f"{fmt.integer(len(rows))} accounts, {fmt.integer(rows['own_touches'].sum())} of "
        f"{name}'s touches on them over the last "
        f"{(snap.run.diagnostics.get('plan') or {}).get('window', '6 months')}; "
        f"{under} under-served, {over} over-served."
    )
    return Book(rep_id, name, "", out, summary)


def team_summary(ws: Workspace, snap: Snapshot, team_id: str, rep_ids: list[str]) -> str:
    """One sentence on how well the effort of ``rep_ids`` (the reps of the team and the teams
    below it) follows value: their accounts and flags in the latest run's ``account_plan``, and
    the team's rank correlation (``effort_allocation``) when no team sits below it (that row
    counts the team's own reps); "" before a run has the key-account view."""
    if not has_accounts(ws, snap) or not rep_ids:
        return ""
    marks = ", ".join("?" * len(rep_ids))
    rows = ws.run_rows("account_plan", snap.run.run_id, f"owner_rep_id IN ({marks})", rep_ids)
    follows = ""
    if below(team_id, snap.org.parents) == {team_id} and ws.has_table("effort_allocation"):
        got = ws.run_rows(
            "effort_allocation", snap.run.run_id, "level = 'team' AND unit_id = ?", [team_id]
        )
        rho = _num(got["spearman"].iloc[0]) if len(got) else math.nan
        if not math.isnan(rho):
            follows = (
                f"touches follow account value with a rank correlation of {rho:.2f} "
                "(1: the same order); "
            )
    under, over = int((rows["flag"] == "under").sum()), int((rows["flag"] == "over").sum())
    return (
        f"Over {fmt.integer(len(rows))} accounts, {follows}{fmt.integer(under)} valuable, "
        f"well-fitting accounts are clearly under-served and {fmt.integer(over)} small ones "
        "over-served."
    )


def team_accounts(ws: Workspace, snap: Snapshot, team_id: str, rep_ids: list[str]) -> TeamAccounts:
    """The flagged accounts owned by ``rep_ids`` (the team's reps), the under-served first, each
    by its gap to the fair share."""
    name = snap.team_name(team_id)
    summary = team_summary(ws, snap, team_id, rep_ids)
    if not summary:
        return TeamAccounts(team_id, name, summary, [])
    marks = ", ".join("?" * len(rep_ids))
    rows = ws.run_rows(
        "account_plan", snap.run.run_id, f"flag <> '' AND owner_rep_id IN ({marks})", rep_ids
    )
    rows = rows.assign(
        _f=rows["flag"].map({"under": 0, "over": 1}),
        _gap=(rows["fair_touches"] - rows["own_touches"]).abs(),
    ).sort_values(["_f", "_gap", "account_id"], ascending=[True, False, True])
    out = [
        FlaggedRow(
            account_id=str(r["account_id"]),
            name=str(r["name"]),
            owner_id=str(r["owner_rep_id"]),
            owner_name=snap.rep_name(str(r["owner_rep_id"])),
            tier=str(r["tier"]),
            value=fmt.money(r["value"], snap.currency),
            touches=fmt.integer(r["own_touches"]),
            fair=fmt.decimal(r["fair_touches"]),
            expected=fmt.decimal(r.get("expected_touches", math.nan)),
            flag={"under": "under-served", "over": "over-served"}.get(str(r["flag"]), ""),
            sentence=str(r["sentence"]),
        )
        for _, r in rows.iterrows()
    ]
    return TeamAccounts(team_id, name, summary, out)


def account_page(ws: Workspace, snap: Snapshot, account_id: str) -> AccountPage | None:
    if not has_accounts(ws, snap):
        return None
    got = ws.run_rows("account_plan", snap.run.run_id, "account_id = ?", [account_id])
    if got.empty:
        return None
    r = got.iloc[0]
    owner = "" if pd.isna(r["owner_rep_id"]) else str(r["owner_rep_id"])
    cur = snap.currency
    impact = _num(r["impact_rate"])
    facts = [
        ("Tier", str(r["tier"])),
        ("Value a year", fmt.money(r["value"], cur)),
        ("… won in the last 12 months", fmt.money(r["value_won"], cur)),
        ("… open pipeline x win probability", fmt.money(r["value_pipeline"], cur)),
        ("… share of annual potential", fmt.money(r["value_potential"], cur)),
        ("… expansion history", fmt.money(r["value_expansion"], cur)),
        ("Fit (0-100)", fmt.MISSING if math.isnan(_num(r["fit"])) else f"{_num(r['fit']):.0f}"),
        ("Predicted win rate at ordinary effort", fmt.percent(r["predicted_win_rate"])),
        ("Touches, last 6 months (all reps)", fmt.integer(r["touches"])),
        ("Hours", fmt.decimal(r["hours"])),
        ("Touches that met a buyer response", "-" if math.isnan(impact) else fmt.percent(impact)),
        ("Owner's touches", fmt.integer(r["own_touches"])),
        ("Fair share of the owner's touches", fmt.decimal(r["fair_touches"])),
        (
            "Touches accounts of like value and deal count get",
            fmt.decimal(r.get("expected_touches", float("nan"))),
        ),
    ]
    reasons = [x for x in str(r["fit_reasons"] or "").split("; ") if x]
    return AccountPage(
        account_id=account_id,
        name=str(r["name"]),
        owner_id=owner,
        owner_name=snap.rep_name(owner) if owner else "",
        tier=str(r["tier"]),
        facts=facts,
        fit_reasons=reasons,
        fit_check=str(
            ((snap.run.diagnostics.get("plan") or {}).get("fit") or {}).get("check") or ""
        ),  # fmt: skip
        sentence=str(r["sentence"] or ""),
        note=str(r["note"] or ""),
        plan=_plan_months(ws, snap, account_id),
    )


def _plan_months(ws: Workspace, snap: Snapshot, account_id: str) -> list[PlanMonth]:
    """The newest plan's months for the account, with what happened where the run has it."""
    if not ws.has_table(PLANS):
        return []
    con = ws.duckdb()
    rows = con.execute(
        f"SELECT month, touches FROM {PLANS} WHERE account_id = ? AND plan_id = (SELECT "
        f"plan_id FROM {PLANS} WHERE account_id = ? ORDER BY created_at DESC LIMIT 1) "
        "ORDER BY month",
        [account_id, account_id],
    ).fetchall()
    done = {}
    if rows and ws.has_table("plan_adherence"):
        adh = ws.run_rows("plan_adherence", snap.run.run_id, "account_id = ?", [account_id])
        for _, a in adh.iterrows():
            done[str(a["month"])] = (int(a["actual_touches"]), int(a["touches_with_impact"]))
    out = []
    for month, touches in rows:
        actual, impact = done.get(str(month), (None, None))
        out.append(
            PlanMonth(
                month=str(month),
                planned=fmt.integer(touches),
                actual="not yet" if actual is None else fmt.integer(actual),
                impact="" if impact is None else fmt.integer(impact),
            )
        )
    return out
