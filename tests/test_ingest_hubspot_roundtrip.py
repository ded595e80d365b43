"""Acceptance: a HubSpot export of an organisation, imported with the preset and analysed,
gives the same results as the same facts written in the contract."""

from __future__ import annotations

import pandas as pd

from brightspots import synth
from brightspots.analysis import analyze
from brightspots.ingest import import_path
from brightspots.synth.hubspot import write_hubspot
from brightspots.workspace import init_workspace


def _expressible(src, dst):
    """The facts HubSpot exports hold: reps as owner names, no segments, teams, amounts at
    creation, demos (meetings), proposals or bulk e-mail; times to the minute; replies, and a
    meeting held for each meeting, as buyer events."""
    dst.mkdir()
    minute = lambda s: pd.to_datetime(s).dt.floor("min")  # noqa: E731
    reps = pd.read_parquet(src / "reps.parquet")
    reps = reps[["rep_id", "name"]]
    reps.to_parquet(dst / "reps.parquet", index=False)
    acc = pd.read_parquet(src / "accounts.parquet").assign(segment=None)
    acc["created_at"] = minute(acc["created_at"])
    acc.to_parquet(dst / "accounts.parquet", index=False)
    pd.read_parquet(src / "contacts.parquet").to_parquet(dst / "contacts.parquet", index=False)
    opp = pd.read_parquet(src / "opportunities.parquet").assign(initial_amount=None, product=None)
    for c in ("created_at", "closed_at"):
        opp[c] = minute(opp[c])
    opp.to_parquet(dst / "opportunities.parquet", index=False)
    act = pd.read_parquet(src / "activities.parquet")
    act = act[act["type"].isin(["call", "email", "meeting", "demo"])]
    act = act[~act["is_bulk"].fillna(False).astype(bool)].copy()
    act["type"] = act["type"].replace({"demo": "meeting"})
    act["occurred_at"] = minute(act["occurred_at"])
    act.loc[act["type"] == "email", "duration_minutes"] = None
    act["is_bulk"] = None
    act.to_parquet(dst / "activities.parquet", index=False)
    ev = pd.read_parquet(src / "buyer_events.parquet")
    replies = ev[ev["type"] == "reply"].copy()
    replies["occurred_at"] = minute(replies["occurred_at"])
    meets = act[act["type"] == "meeting"]
    held = pd.DataFrame(
        {
            "event_id": "held-" + meets["activity_id"],
            "account_id": meets["account_id"],
            "opportunity_id": meets["opportunity_id"],
            "contact_id": meets["contact_id"],
            "type": "meeting_held",
            "occurred_at": meets["occurred_at"],
        }
    )
    pd.concat([replies, held], ignore_index=True).to_parquet(
        dst / "buyer_events.parquet", index=False
    )


def test_the_preset_import_analyses_like_the_same_facts_in_the_contract(tmp_path):
    raw = tmp_path / "raw"
    synth.synthesize(synth.SynthConfig(seed=13, reps=24, months=12), raw, fmt="parquet")
    canonical = tmp_path / "canonical"
    _expressible(raw, canonical)
    ids = write_hubspot(canonical, tmp_path / "hubspot")
    back = {v: k for k, v in ids.items()}
    back.update({f"held-{v}": f"held-{k}" for k, v in ids.items()})
    names = pd.read_parquet(canonical / "reps.parquet")["name"]
    assert names.is_unique  # owners are exported by name
    tables = {}
    for name, path in (("contract", canonical), ("hubspot", tmp_path / "hubspot")):
        with init_workspace(tmp_path / f"ws-{name}") as ws:
            result = import_path(ws, path)
            assert sum(f.quarantined for f in result.files) == 0, result.files
            run = analyze(ws, practices=False)
            t = ws.run_results("bright_spots", run.run_id)
            tables[name] = (t, run.diagnostics["outcomes"])
            if name == "hubspot":
                assert result.format == "hubspot"
    a, a_out = tables["contract"]
    b, b_out = tables["hubspot"]
    b = b.assign(unit_id=b["unit_id"].map(lambda v: back.get(v, v)))
    cols = ["level", "unit_id", "closed", "observed", "expected", "oe", "label", "outcome"]
    a = a[cols].sort_values(["level", "unit_id"]).reset_index(drop=True)
    b = b[cols].sort_values(["level", "unit_id"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(b, a, check_exact=False, rtol=1e-9)
    assert a_out == b_out and "buyer_impact" in a_out
