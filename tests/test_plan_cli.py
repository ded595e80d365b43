"""The key-account plan end to end: the run's account_plan keeps every account, the plan CLI
respects every capacity and rule, is stored, and explains conflicts."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from brightspots.plan.accounts import ALLOCATION_COLUMNS, COLUMNS
from brightspots.plan.make import make_plan
from brightspots.plan.optimize import PlanError
from brightspots.workspace import Workspace
from test_cli import run


@pytest.fixture(scope="module")
def ws_copy(tmp_path_factory, small_ws):
    root = tmp_path_factory.mktemp("plan") / "ws"
    shutil.copytree(small_ws, root)
    return root


def test_every_account_is_in_the_plan_table_with_its_reasons(ws_copy):
    ws = Workspace.open(ws_copy)
    ap = ws.run_results("account_plan")
    n_accounts = int(ws.execute(ws.table("accounts").count()))
    assert list(ap.columns) == COLUMNS and len(ap) == n_accounts
    assert set(ap["tier"]) <= {"strategic", "key", "core", "maintain"}
    # accounts without touches, or without closed deals, are kept and explained
    quiet = ap[ap["touches"] == 0]
    assert len(quiet) and quiet["note"].str.contains("no touches in the last 6 months").all()
    no_deal = ap[ap["note"].str.contains("no closed deal")]
    assert len(no_deal) and no_deal["fit"].notna().all()
    flagged = ap[ap["flag"] != ""]
    assert (flagged["sentence"].str.len() > 40).all()
    assert ap.loc[ap["flag"] == "under", "tier"].isin(["strategic", "key"]).all()
    al = ws.run_results("effort_allocation")
    assert list(al.columns) == ALLOCATION_COLUMNS
    assert set(al["level"]) == {"company", "team", "rep"}
    notes = ws.latest_run().diagnostics["plan"]
    assert notes["n_accounts"] == n_accounts and "fit" in notes


def test_plan_cli_respects_capacity_and_rules_and_is_stored(ws_copy, tmp_path):
    out = tmp_path / "plan.csv"
    r = run("plan", "--workspace", str(ws_copy), "--team", "TM-001", "--months", "2",
            "--format", "csv", "--out", str(out))  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "capacity" in r.stdout and "Plan " in r.stdout
    plan = pd.read_csv(out)
    assert set(plan["month"].str.len()) == {7} and plan["month"].nunique() == 2
    ws = Workspace.open(ws_copy)
    cfg = ws.config["plan"]
    # per rep and month within the rep's capacity (printed), tier bounds hold
    caps = {}
    for line in r.stdout.splitlines():
        if "capacity" in line:
            rep = line.split("(")[1].split(")")[0]
            caps[rep] = float(line.split("capacity ")[1].split(" h")[0])
    used = plan.groupby(["rep_id", "month"])["hours"].sum()
    for (rep, _), hours in used.items():
        assert hours <= caps[rep] + 0.06, (rep, hours, caps[rep])  # capacity printed to 0.1 h
    for tier, low in cfg["min_touches"].items():
        assert (plan.loc[plan["tier"] == tier, "touches"] >= low).all()
    for tier, high in cfg["max_touches"].items():
        assert (plan.loc[plan["tier"] == tier, "touches"] <= high).all()
    stored = ws.duckdb().execute("SELECT count(*), count(DISTINCT plan_id) FROM account_plans")
    assert stored.fetchall()[0] == (len(plan), 1)


def test_plan_html_and_conflicts(ws_copy, tmp_path):
    out = tmp_path / "plan.html"
    ws = Workspace.open(ws_copy)
    ap = ws.run_results("account_plan")
    # the rep with the most strategic accounts: their minimum touches need time
    rep = ap[ap["tier"] == "strategic"]["owner_rep_id"].value_counts().index[0]
    r = run("plan", "-w", str(ws_copy), "--rep", rep, "--out", str(out))
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert "Key-account plan" in text and "Target a month" in text and "strategic" in text
    # too little time for the minimum touches: the conflict in figures, no traceback
    r = run("plan", "-w", str(ws_copy), "--rep", rep, "--capacity", "0.5", "--out", str(out))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "more than the capacity of 0.5 hours" in r.stderr and "min_touches" in r.stderr
    with pytest.raises(PlanError, match="no rep 'nobody'"):
        make_plan(ws, rep="nobody")
    with pytest.raises(PlanError, match="give one of --rep or --team"):
        make_plan(ws)
    with pytest.raises(PlanError, match="no run 'R-1' in the workspace"):
        make_plan(ws, rep=rep, run_id="R-1")


def test_export_account_plan(ws_copy, tmp_path):
    out = tmp_path / "ap.csv"
    r = run("export", "-w", str(ws_copy), "--table", "account_plan", "--out", str(out))
    assert r.returncode == 0, r.stderr
    got = pd.read_csv(out)
    assert {"fit", "value", "tier", "touches", "impact_rate"} <= set(got.columns)
    assert np.isfinite(got["value"]).all()


def test_report_has_the_key_account_section(ws_copy, tmp_path):
    from brightspots.report import write_report
    from brightspots.report.context import build_context
    from brightspots.report.view import report_view

    ws = Workspace.open(ws_copy)
    view = report_view(build_context(ws))
    sec = view.accounts
    assert sec.note == "" and "rank correlation of" in sec.headline
    assert [t[0] for t in sec.tiers] == ["strategic", "key", "core", "maintain"]
    ap = ws.run_results("account_plan")
    assert len(sec.under) == min(10, int((ap["flag"] == "under").sum()))
    page = write_report(ws, tmp_path / "r.html").read_text(encoding="utf-8")
    assert 'id="accounts-chart"' in page and "Share of touches" in page


def test_later_runs_show_adherence(tmp_path, small_ws):
    """A plan stored for months the data covers: the next run sets its touches beside the
    rep's own touches on each account in each (local) month, counted here by hand."""
    from brightspots.analysis import analyze
    from brightspots.plan.make import PLANS, make_plan, store

    root = tmp_path / "ws"
    shutil.copytree(small_ws, root)
    ws = Workspace.open(root)
    made = make_plan(ws, team="TM-001", months=2)
    store(ws, made, created_by="test")
    con = ws.duckdb()
    # move the plan two months back, into the data
    last = con.execute(f"SELECT max(month) FROM {PLANS}").fetchall()[0][0]
    months = sorted({m for (m,) in con.execute(f"SELECT month FROM {PLANS}").fetchall()})
    back = {m: (pd.Period(m, "M") - 3).strftime("%Y-%m") for m in months}
    with ws.transaction() as c:
        for m, b in back.items():
            c.execute(f"UPDATE {PLANS} SET month = ? WHERE month = ?", [b, m])
    assert last == months[-1]
    ws = Workspace.open(root)
    run = analyze(ws)
    got = ws.run_results("plan_adherence", run.run_id)
    assert run.diagnostics["plan"]["plans_followed"] == 1
    planned = ws.duckdb().execute(f"SELECT * FROM {PLANS}").df()
    assert len(got) == len(planned) and set(got["month"]) == set(back.values())
    assert got["month_complete"].all()
    # by hand: the reps' own non-bulk touches on each account in each month (UTC workspace)
    acts = ws.execute(ws.table("activities"))
    acts = acts[~acts["is_bulk"].fillna(False).astype(bool)]
    acts["month"] = pd.to_datetime(acts["occurred_at"]).dt.strftime("%Y-%m")
    counts = acts.groupby(["rep_id", "account_id", "month"]).size()
    want = [int(counts.get((r, a, m), 0)) for r, a, m in
            zip(got["rep_id"], got["account_id"], got["month"], strict=True)]  # fmt: skip
    assert got["actual_touches"].tolist() == want
    assert (got["planned_touches"].to_numpy() >= 0).all() and got["actual_touches"].sum() > 0
