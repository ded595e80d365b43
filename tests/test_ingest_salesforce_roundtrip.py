"""Canonical data written as a Salesforce export and read back by the preset.

Property (over seeds and sizes): reps, accounts, contacts, opportunities and activities come back
unchanged in every field Salesforce has a standard place for. Acceptance: importing the export
with the preset and analysing it gives the same bright spots, observed and expected figures and
labels as importing the same facts in the contract.
"""

from __future__ import annotations

import pandas as pd
import pytest

from brightspots import synth
from brightspots.analysis import analyze
from brightspots.ingest import import_path
from brightspots.synth.salesforce import write_salesforce
from brightspots.workspace import init_workspace

COMPARED = {
    "reps": ["rep_id", "name", "team_id", "manager_rep_id", "region", "role", "email"],
    "accounts": [
        "account_id",
        "name",
        "owner_rep_id",
        "segment",
        "industry",
        "region",
        "employees",
        "annual_potential",
        "created_at",
    ],
    "contacts": ["contact_id", "account_id", "title"],
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
}
ID_COLUMNS = {
    "team_id",
    "unit_id",
    "manager_rep_id",
    "rep_id",
    "owner_rep_id",
    "account_id",
    "contact_id",
    "opportunity_id",
    "activity_id",
}


def _expressible(src, dst):
    """The facts a Salesforce export can hold: no hire dates, products or surveys, and replies
    as the only buyer events."""
    dst.mkdir()
    for name in (
        "teams",
        "reps",
        "accounts",
        "contacts",
        "opportunities",
        "activities",
        "buyer_events",
    ):
        t = pd.read_parquet(src / f"{name}.parquet")
        if name == "reps":
            t["hire_date"] = None
        if name == "opportunities":
            t["product"] = None
        if name == "buyer_events":
            t = t[t["type"] == "reply"]
        t.to_parquet(dst / f"{name}.parquet", index=False)


def _org(tmp, seed, reps, months):
    raw = tmp / "raw"
    synth.synthesize(synth.SynthConfig(seed=seed, reps=reps, months=months), raw, fmt="parquet")
    canonical = tmp / "canonical"
    _expressible(raw, canonical)
    export = tmp / "salesforce"
    ids = write_salesforce(canonical, export)
    return canonical, export, ids


def _back(frame, ids):
    """Salesforce ids in ``frame`` turned back into the canonical ones."""
    back = {v: k for k, v in ids.items()}
    out = frame.copy()
    for c in out.columns:
        if c in ID_COLUMNS:
            out[c] = out[c].map(lambda v: back.get(v, v))
    return out


@pytest.mark.parametrize(("seed", "reps", "months"), [(3, 12, 4), (5, 20, 6)])
def test_a_salesforce_export_reads_back_unchanged(tmp_path, seed, reps, months):
    canonical, export, ids = _org(tmp_path, seed, reps, months)
    with init_workspace(tmp_path / "a") as a, init_workspace(tmp_path / "b") as b:
        import_path(a, canonical)
        result = import_path(b, export)
        assert result.format == "salesforce"
        assert sum(f.quarantined for f in result.files) == 0
        for table, cols in COMPARED.items():
            key = cols[0]
            want = a.read(table)[cols].sort_values(key).reset_index(drop=True)
            got = _back(b.read(table)[cols], ids).sort_values(key).reset_index(drop=True)
            pd.testing.assert_frame_equal(got, want, check_dtype=False, obj=table)
        # seniority comes from the title's words: where the organisation gives a title, it is
        # read back as the organisation has it ("Head of ..." is either, by organisation: the
        # preset reads it as executive)
        sen_a = a.read("contacts").set_index("contact_id")
        sen_b = _back(b.read("contacts"), ids).set_index("contact_id")
        titled = sen_a["title"].notna() & ~sen_a["title"].str.startswith("Head of", na=False)
        assert (
            sen_b.loc[titled[titled].index, "seniority"] == sen_a.loc[titled, "seniority"]
        ).all()


def test_the_preset_import_analyses_like_the_same_facts_in_the_contract(tmp_path):
    canonical, export, ids = _org(tmp_path, 11, 24, 12)
    runs = {}
    for name, path in (("contract", canonical), ("salesforce", export)):
        with init_workspace(tmp_path / f"ws-{name}") as ws:
            import_path(ws, path)
            run = analyze(ws, practices=False)
            table = ws.run_results("bright_spots", run.run_id)
            runs[name] = (_back(table, ids) if name == "salesforce" else table, run)
    a, b = runs["contract"][0], runs["salesforce"][0]
    cols = ["level", "unit_id", "closed", "observed", "expected", "oe", "label", "outcome"]
    a = a[cols].sort_values(["level", "unit_id"]).reset_index(drop=True)
    b = b[cols].sort_values(["level", "unit_id"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(b, a, check_exact=False, rtol=1e-9)
    assert (
        runs["salesforce"][1].diagnostics["outcomes"] == runs["contract"][1].diagnostics["outcomes"]
    )
