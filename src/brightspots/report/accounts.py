"""The report's key-account section: does effort follow what accounts are worth?

Read from a run's ``account_plan`` (aggregated by tier in the workspace, plus the flagged
accounts) and ``effort_allocation``, never the whole account table: a company of millions of
accounts reads a few hundred rows. A run made before the key-account plan has neither, and the
section says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import altair as alt
import pandas as pd
from markupsafe import Markup

from brightspots.report import charts, fmt

if TYPE_CHECKING:
    from brightspots.report.context import ReportContext
    from brightspots.workspace import Workspace

TIERS = ("strategic", "key", "core", "maintain")
MAX_LISTED = 10
NOT_IN_RUN = (
    "The key-account view is not in this run: analyse again (brightspots analyze) to add it."
)
_FLAG_COLUMNS = ("account_id", "name", "owner_rep_id", "team_id", "tier", "value", "fit",
                 "own_touches", "fair_touches", "flag", "sentence")  # fmt: skip


def read(ws: Workspace, run_id: str) -> dict[str, Any]:
    """The key-account inputs of a report: ``account_tiers`` (sums by tier), ``account_flags``
    (the flagged accounts), ``effort_allocation``; each None when the run has none."""
    if not ws.has_table("account_plan") or not ws.has_table("effort_allocation"):
        return {"account_tiers": None, "account_flags": None, "effort_allocation": None}
    con = ws.duckdb()
    tiers = con.execute(
        "SELECT tier, count(*) AS accounts, sum(value) AS value, sum(touches) AS touches, "
        "sum(hours) AS hours FROM account_plan WHERE run_id = ? GROUP BY tier",
        [run_id],
    ).df()
    if tiers.empty:
        return {"account_tiers": None, "account_flags": None, "effort_allocation": None}
    flags = ws.run_rows("account_plan", run_id, "flag <> ''")
    flags = flags[[c for c in _FLAG_COLUMNS if c in flags.columns]]
    return {
        "account_tiers": tiers,
        "account_flags": flags,
        "effort_allocation": ws.run_results("effort_allocation", run_id),
    }


@dataclass(frozen=True)
class FlagRow:
    name: str
    owner: str
    tier: str
    value: str
    fit: str
    touches: str
    fair: str
    sentence: str


@dataclass(frozen=True)
class UnitRow:
    name: str
    accounts: str
    spearman: str
    moved: str
    under: str
    over: str


@dataclass(frozen=True)
class AccountsSection:
    note: str  # replaces the body when there is nothing to show
    headline: str
    fit_check: str
    chart: Markup
    tiers: list[tuple[str, str, str, str, str]]  # tier, accounts, value share, touches, hours
    teams: list[UnitRow]
    under: list[FlagRow]
    over: list[FlagRow]
    under_more: str
    over_more: str
    terms: str


def _empty(note: str) -> AccountsSection:
    return AccountsSection(note, "", "", Markup(""), [], [], [], [], "", "", "")


def _share_chart(tiers: pd.DataFrame) -> str:
    rows = []
    for _, r in tiers.iterrows():
        rows.append({"tier": r["tier"], "what": "Share of value", "share": r["value_share"]})
        rows.append({"tier": r["tier"], "what": "Share of touches", "share": r["touch_share"]})
    data = pd.DataFrame(rows)
    chart = (
        alt.Chart(data, description="Share of value and of touches by account tier")
        .mark_bar()
        .encode(
            y=alt.Y("tier:N", sort=list(TIERS), title=None),
            yOffset=alt.YOffset("what:N"),
            x=alt.X("share:Q", title="Share", axis=alt.Axis(format="%")),
            color=alt.Color(
                "what:N",
                scale=alt.Scale(range=["#0072b2", "#c2410c"]),
                legend=alt.Legend(title=None, orient="bottom"),
            ),
        )
        .properties(width=520, height=220)
    )
    return charts.to_svg(charts.base_config(chart))


def _flag_rows(
    flags: pd.DataFrame, kind: str, currency: str, reps: dict[str, str]
) -> tuple[list[FlagRow], str]:
    part = flags[flags["flag"] == kind].copy()
    part["gap"] = (part["fair_touches"] - part["own_touches"]).abs()
    part = part.sort_values(["gap", "account_id"], ascending=[False, True])
    rows = [
        FlagRow(
            name=str(r["name"]),
            owner=reps.get(str(r["owner_rep_id"]), str(r["owner_rep_id"])),
            tier=str(r["tier"]),
            value=fmt.money(r["value"], currency),
            fit=fmt.integer(r["fit"]) if not fmt.is_missing(r["fit"]) else fmt.MISSING,
            touches=fmt.integer(r["own_touches"]),
            fair=fmt.decimal(r["fair_touches"]),
            sentence=str(r["sentence"]),
        )
        for _, r in part.head(MAX_LISTED).iterrows()
    ]
    more = len(part) - len(rows)
    return rows, (f"{fmt.integer(more)} more in the export (account_plan)." if more > 0 else "")


def accounts_section(ctx: ReportContext) -> AccountsSection:
    tiers, flags, alloc = ctx.account_tiers, ctx.account_flags, ctx.effort_allocation
    if tiers is None or flags is None or alloc is None:
        return _empty(NOT_IN_RUN)
    tiers = tiers.set_index("tier").reindex(TIERS).dropna(how="all").reset_index()
    total_value, total_touch = float(tiers["value"].sum()), float(tiers["touches"].sum())
    tiers["value_share"] = tiers["value"] / total_value if total_value else 0.0
    tiers["touch_share"] = tiers["touches"] / total_touch if total_touch else 0.0
    notes = ctx.plan_notes or {}
    window = str(notes.get("window", "6 months"))
    company = alloc[alloc["level"] == "company"]
    headline = ""
    if len(company):
        c = company.iloc[0]
        headline = (
            f"Over the last {window}, effort followed account value with a rank correlation "
            f"of {fmt.decimal(c['spearman'], 2)} (95% CI {fmt.decimal(c['spearman_low'], 2)} to "
            f"{fmt.decimal(c['spearman_high'], 2)}; 1 would be the same order). For effort to "
            f"be exactly in proportion, {fmt.percent(c['dissimilarity'])} of the touches would "
            f"have to go to other accounts ({fmt.percent(c['d_chance'])} would, by chance "
            "alone, even if every rep spread touches in proportion). "
            f"{fmt.integer(c['under_served'])} valuable, well-fitting accounts are under-served "
            f"and {fmt.integer(c['over_served'])} small ones over-served."
        )
    fit = notes.get("fit") or {}
    fit_check = str(fit.get("check") or fit.get("note") or "")
    names = _team_names(ctx)
    teams = [
        UnitRow(
            name=names.get(str(r["unit_id"]), str(r["unit_id"])),
            accounts=fmt.integer(r["n_accounts"]),
            spearman=f"{fmt.decimal(r['spearman'], 2)} ({fmt.decimal(r['spearman_low'], 2)} to "
            f"{fmt.decimal(r['spearman_high'], 2)})",
            moved=f"{fmt.percent(r['dissimilarity'])} ({fmt.percent(r['d_chance'])} by chance)",
            under=fmt.integer(r["under_served"]),
            over=fmt.integer(r["over_served"]),
        )
        for _, r in alloc[alloc["level"] == "team"].iterrows()
    ]
    teams.sort(key=lambda u: u.name.casefold())
    reps = _rep_names(ctx)
    under, under_more = _flag_rows(flags, "under", ctx.currency, reps)
    over, over_more = _flag_rows(flags, "over", ctx.currency, reps)
    return AccountsSection(
        note="",
        headline=headline,
        fit_check=fit_check,
        chart=Markup(_share_chart(tiers)),
        tiers=[
            (
                str(r["tier"]),
                fmt.integer(r["accounts"]),
                fmt.percent(r["value_share"]),
                fmt.percent(r["touch_share"]),
                fmt.integer(r["hours"]),
            )  # fmt: skip
            for _, r in tiers.iterrows()
        ],
        teams=teams,
        under=under,
        over=over,
        under_more=under_more,
        over_more=over_more,
        terms=(
            "An account's value a year adds the revenue won in the last 12 months, its open "
            "deals weighted by their win probability, a quarter of its annual potential and "
            "half its expansion revenue of two years. Tiers split accounts by their share of "
            "total value (the first half of it is strategic, up to 80% key, up to 95% core, the "
            "rest maintain). Fit (0-100) says how much an account like it brings at ordinary "
            "effort, learned from history. An account's fair share of its owner's touches is "
            "its share of the book's value, weighted by fit; its expected touches are what the "
            "company's reps give an account of like value with as many deals open. An account "
            "is listed when it got far less (more) than both (by [plan] under_ratio and "
            "over_ratio: half and twice by default), and its owner's book shows the "
            "pattern beyond chance: its valuable (small) accounts together got fewer (more) "
            "touches than expected (tests with false discoveries controlled)."
        ),
    )


def _team_names(ctx: ReportContext) -> dict[str, str]:
    teams = ctx.units("team")
    return dict(zip(teams["unit_id"], teams["name"], strict=True))


def _rep_names(ctx: ReportContext) -> dict[str, str]:
    reps = ctx.units("rep")
    return dict(zip(reps["unit_id"], reps["name"], strict=True))
