"""Simpson's paradox: a rep with a raw win rate below the company's, who beats expectation in every
segment because they work the hardest segment, is still found."""

from __future__ import annotations

import numpy as np
import pandas as pd

from brightspots.analysis import analyze
from brightspots.workspace import init_workspace

BASE = {"smb": 0.5, "mid": 0.3, "enterprise": 0.1}


def _org(rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    n_reps = 60
    reps = pd.DataFrame(
        {
            "rep_id": [f"R{i:02d}" for i in range(n_reps)],
            "name": [f"Rep {i}" for i in range(n_reps)],
            "team_id": [f"T{i // 10}" for i in range(n_reps)],
        }
    )
    rows = []
    for i, rep in enumerate(reps["rep_id"]):
        if i == 0:  # the deviant: mostly enterprise deals, above expectation in each segment
            segs = rng.choice(list(BASE), size=220, p=[0.05, 0.05, 0.9])
            odds_ratio = 3.0
        else:
            segs = rng.choice(list(BASE), size=120, p=[0.4, 0.4, 0.2])
            odds_ratio = 1.0
        base = np.array([BASE[s] for s in segs])
        odds = odds_ratio * base / (1 - base)
        won = rng.random(len(segs)) < odds / (1 + odds)
        for s, w in zip(segs, won, strict=True):
            rows.append((rep, s, w))
    deals = pd.DataFrame(rows, columns=["rep_id", "segment", "won"])
    n = len(deals)
    created = pd.Timestamp("2026-01-05") + pd.to_timedelta(rng.integers(0, 240, n), unit="D")
    accounts = pd.DataFrame(
        {"account_id": [f"A{k}" for k in range(n)], "name": "acct", "segment": deals["segment"]}
    )
    opportunities = pd.DataFrame(
        {
            "opportunity_id": [f"O{k}" for k in range(n)],
            "account_id": accounts["account_id"],
            "owner_rep_id": deals["rep_id"],
            "created_at": created,
            "closed_at": created + pd.Timedelta(days=30),
            "stage": np.where(deals["won"], "won", "lost"),
            "amount": 1000.0,
            "initial_amount": 1000.0,
        }
    )
    return {"reps": reps, "accounts": accounts, "opportunities": opportunities}


def test_simpson_rep_is_found(tmp_path):
    org = _org(np.random.default_rng(5))
    deals = org["opportunities"].merge(org["accounts"][["account_id", "segment"]], on="account_id")
    deals["won"] = deals["stage"] == "won"
    company = deals["won"].mean()
    mine = deals[deals["owner_rep_id"] == "R00"]
    assert mine["won"].mean() < company  # raw: below the company's win rate
    by_seg = deals.groupby(["segment", deals["owner_rep_id"] == "R00"])["won"].mean().unstack()
    assert (by_seg[True] > by_seg[False]).all()  # above the others in every segment

    with init_workspace(tmp_path) as ws:
        with ws.transaction() as con:
            for name, df in org.items():
                con.register("_t", df)
                con.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM _t')
                con.unregister("_t")
        analyze(ws, window="all")
        table = ws.run_results("bright_spots")
    row = table[(table["level"] == "rep") & (table["rep_id"] == "R00")].iloc[0]
    assert row["label"] == "bright_spot"
    assert row["oe"] > 1.5
    others = table[(table["level"] == "rep") & (table["rep_id"] != "R00")]
    assert (others["label"] != "bright_spot").all()
