"""An incremental analysis gives the same run tables as a full one, through new days of data,
edits in the past, snapshot deletes, a revived record, and owner, team and contact changes."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from brightspots import metrics
from brightspots.analysis import analyze
from brightspots.ingest import import_path
from brightspots.synth.cut import cut
from brightspots.workspace import Workspace, init_workspace

#: end of local 2026-10-20 and 2026-10-27 in Berlin: the second cut straddles the end of summer
#: time (2026-10-25) and ISO weeks 43 and 44
T1 = datetime(2026, 10, 20, 22, 0)
T2 = datetime(2026, 10, 27, 23, 0)
END = datetime(2026, 11, 30)

#: run tables and the columns that key their rows
RUN_TABLES = {
    "bright_spots": ["level", "unit_id"],
    "deviance": ["level", "outcome", "unit_id"],
    "funnel_curve": None,
    "raw_leaderboard": None,
    "calibration": None,
    "case_mix_coefficients": None,
    "deal_expectations": ["opportunity_id"],
    "effort_impact": list(metrics.ORDER),
    "practice_effects": None,
    "practice_deals": None,
    "practice_segment_effects": None,
    "practice_reps": None,
    "rep_resources": None,
}


def _sorted(df: pd.DataFrame, keys: list[str] | None) -> pd.DataFrame:
    keys = keys or [c for c in df.columns if df[c].dtype == object or c.endswith("_id")]
    keys = [k for k in keys if k in df.columns] or list(df.columns)
    return df.sort_values(keys, kind="mergesort").reset_index(drop=True)


def assert_same_tables(a: Workspace, run_a: str, b: Workspace, run_b: str) -> None:
    for name, keys in RUN_TABLES.items():
        x = _sorted(a.run_results(name, run_a), keys)
        y = _sorted(b.run_results(name, run_b), keys)
        assert list(x.columns) == list(y.columns), name
        assert len(x) == len(y), f"{name}: {len(x)} rows against {len(y)}"
        for col in x.columns:
            u, v = x[col], y[col]
            if pd.api.types.is_float_dtype(u) and pd.api.types.is_float_dtype(v):
                np.testing.assert_allclose(
                    u.to_numpy(float), v.to_numpy(float), rtol=1e-9, atol=1e-12,
                    err_msg=f"{name}.{col}",
                )  # fmt: skip
            else:
                assert u.astype(str).tolist() == v.astype(str).tolist(), f"{name}.{col}"


def _effort_is_the_definition(ws: Workspace, run_id: str) -> None:
    """The stored rows equal ``metrics.compute``, the table's definition on the current data."""
    stored = _sorted(ws.run_results("effort_impact", run_id), list(metrics.ORDER))
    ref = metrics.compute(ws).reset_index(drop=True)
    pd.testing.assert_frame_equal(stored[ref.columns], ref, check_dtype=False)


def _full_copy(root: Path, to: Path) -> tuple[Workspace, str]:
    """Copy the workspace and analyse the copy in full (which says it was asked for): the
    reference."""
    shutil.copytree(root, to)
    ws = Workspace.open(to)
    run = analyze(ws, full=True)
    assert run.diagnostics["refresh"]["mode"] == "full"
    assert run.diagnostics["refresh"]["reason"] == "a full recompute was asked for"
    return ws, run.run_id


def _edit(folder: Path, org: Path) -> dict[str, str]:
    """Edits in the past, written into the second cut: what was changed, by id."""

    def read(name: str) -> pd.DataFrame:
        return pd.read_csv(folder / name, dtype=str, keep_default_na=False)

    def write(df: pd.DataFrame, name: str) -> None:
        df.to_csv(folder / name, index=False)

    done = {}
    acts = read("activities.csv")
    touch = acts[(acts["is_bulk"] == "false") & acts["occurred_at"].str.startswith("2026-03-10")]
    i = touch.index[0]
    contacts = read("contacts.csv")
    other = contacts[contacts["account_id"] == acts.at[i, "account_id"]]["contact_id"]
    acts.at[i, "occurred_at"] = str(pd.Timestamp(acts.at[i, "occurred_at"]) + pd.Timedelta("2D"))
    acts.at[i, "contact_id"] = other.iloc[-1]
    done["moved_activity"] = acts.at[i, "activity_id"]
    j = touch.index[1]  # another touch moved to another account
    acts.at[j, "account_id"] = acts.at[i, "account_id"]
    acts.at[j, "contact_id"] = ""
    acts.at[j, "opportunity_id"] = ""
    done["account_moved_activity"] = acts.at[j, "activity_id"]
    write(acts, "activities.csv")

    events = read("buyer_events.csv")
    gone = events[events["occurred_at"].str.startswith("2026-05-1")].index[0]
    done["deleted_event"] = events.at[gone, "event_id"]
    write(events.drop(index=gone), "buyer_events.csv")

    reps = read("reps.csv")
    teams = sorted(set(reps["team_id"]) - {""})
    k = reps.index[4]
    reps.at[k, "team_id"] = next(t for t in teams if t != reps.at[k, "team_id"])
    done["rep_new_team"] = reps.at[k, "rep_id"]
    write(reps, "reps.csv")

    accounts = read("accounts.csv")
    busy = events["account_id"].value_counts().index[0]
    m = accounts.index[accounts["account_id"] == busy][0]
    owner = accounts.at[m, "owner_rep_id"]
    accounts.at[m, "owner_rep_id"] = next(r for r in reps["rep_id"] if r != owner)
    done["account_new_owner"] = busy
    write(accounts, "accounts.csv")

    contacts.loc[contacts.index[contacts["seniority"] != "executive"][0], "seniority"] = "executive"
    write(contacts, "contacts.csv")

    opps = read("opportunities.csv")
    won = opps[(opps["stage"] == "won") & opps["closed_at"].str.startswith("2026-07")].index[0]
    opps.at[won, "stage"], opps.at[won, "closed_at"] = "open", ""
    done["reopened"] = opps.at[won, "opportunity_id"]
    with_events = set(events["opportunity_id"]) - {""}
    n = opps[opps["opportunity_id"].isin(with_events) & (opps.index != won)].index[0]
    opps.at[n, "owner_rep_id"] = next(r for r in reps["rep_id"] if r != opps.at[n, "owner_rep_id"])
    done["opportunity_new_owner"] = opps.at[n, "opportunity_id"]
    write(opps, "opportunities.csv")
    return done


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory, small_org):
    base = tmp_path_factory.mktemp("refresh")
    root = base / "ws"
    with init_workspace(root) as ws:
        ws.update_config({"workspace": {"timezone": "Europe/Berlin"}})
    ws = Workspace.open(root)
    cut(small_org, base / "cut1", until=T1)
    import_path(ws, base / "cut1")
    first = analyze(ws)
    cut(small_org, base / "cut2", until=T2)
    edits = _edit(base / "cut2", small_org)
    import_path(ws, base / "cut2", snapshot=True)
    second = analyze(ws)
    return base, root, ws, first, second, edits


def test_first_run_is_full_and_the_second_incremental(refreshed):
    _, _, _, first, second, _ = refreshed
    assert first.diagnostics["refresh"]["mode"] == "full"
    notes = second.diagnostics["refresh"]
    assert notes["mode"] == "incremental", notes
    assert notes["base_run"] == first.run_id
    assert notes["changed"]["reps_changed_team"] == 1
    assert notes["changed"]["owners"] >= 2  # an account's and an opportunity's owner
    # a week of new data and a few edits: far less than everything is recomputed
    total = first.diagnostics["refresh"]["recomputed"]
    assert 0 < notes["recomputed"]["touches"] < total["touches"] / 2
    # the practices of deals whose inputs did not change keep the first run's measures
    practices = second.diagnostics["practices"]
    assert practices["reused_from"] == first.run_id
    assert 0 < practices["n_measured"] < practices["n_deals"] / 2


def test_incremental_equals_full_after_edits_and_deletes(refreshed):
    base, root, ws, _, second, _ = refreshed
    copy, full_run = _full_copy(root, base / "full2")
    assert_same_tables(ws, second.run_id, copy, full_run)
    _effort_is_the_definition(ws, second.run_id)


def test_incremental_equals_full_after_new_days_and_a_revival(refreshed, small_org):
    base, root, ws, _, second, edits = refreshed
    cut(small_org, base / "cut3", until=END, since=T2)
    events = pd.read_csv(small_org / "buyer_events.csv", dtype=str, keep_default_na=False)
    new = pd.read_csv(base / "cut3" / "buyer_events.csv", dtype=str, keep_default_na=False)
    revived = events[events["event_id"] == edits["deleted_event"]]
    pd.concat([new, revived]).to_csv(base / "cut3" / "buyer_events.csv", index=False)
    import_path(ws, base / "cut3")
    third = analyze(ws)
    notes = third.diagnostics["refresh"]
    assert notes["mode"] == "incremental" and notes["base_run"] == second.run_id
    copy, full_run = _full_copy(root, base / "full3")
    assert_same_tables(ws, third.run_id, copy, full_run)
    _effort_is_the_definition(ws, third.run_id)
    # earlier runs read as they were stored: the layers do not leak into them
    _, _, _, first, _, _ = refreshed
    assert ws.run_results("effort_impact", first.run_id)["period"].max() < pd.Timestamp(
        "2026-10-21"
    )

    # nothing changed: nothing recomputed, the same tables
    again = analyze(ws)
    notes = again.diagnostics["refresh"]
    assert notes["mode"] == "incremental"
    assert notes["recomputed"] == {
        "touches": 0, "events": 0, "responses": 0, "reclassified": 0, "effort_keys": 0,
        "deals_touched": 0,
    }  # fmt: skip
    assert again.diagnostics["practices"]["n_measured"] == 0
    assert_same_tables(ws, again.run_id, ws, third.run_id)


def test_since_recomputes_more_and_full_says_why(refreshed):
    base, root, _, _, _, _ = refreshed
    shutil.copytree(root, base / "since")
    ws = Workspace.open(base / "since")
    run = analyze(ws, since=datetime(2026, 10, 1).date())
    notes = run.diagnostics["refresh"]
    assert notes["mode"] == "incremental" and notes["since"] == "2026-10-01"
    assert notes["recomputed"]["touches"] > 0
    # (``analyze(ws, full=True)`` says "a full recompute was asked for": ``_full_copy``)
    ws.update_config({"metrics": {"dark_after": "21d"}})
    run = analyze(ws)
    assert run.diagnostics["refresh"]["mode"] == "full"
    assert "settings" in run.diagnostics["refresh"]["reason"]
