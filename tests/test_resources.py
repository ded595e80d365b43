"""Resources per rep (what they have to work with) and the peers most like them."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from brightspots import resources
from brightspots.casemix import MISSING
from brightspots.workspace import Workspace


def test_profile_equals_pandas_on_the_small_org(small_ws):
    as_of = pd.Timestamp("2026-06-30")
    with Workspace.open(small_ws) as ws:
        o = ws.table("opportunities")
        closed = o.filter(o.stage.isin(["won", "lost"]))
        prof, mix = resources.profile(closed, ws.table("accounts"), ws.table("reps"), as_of=as_of)
        got = resources.frame(ws.execute(prof), ws.execute(mix)).set_index("rep_id")
        opps, accounts, reps = ws.read("opportunities"), ws.read("accounts"), ws.read("reps")
    deals = opps[opps["stage"].isin(["won", "lost"])].merge(
        accounts[["account_id", "segment"]], on="account_id", how="left"
    )
    for _, rep in reps.iterrows():
        rid = rep["rep_id"]
        mine = deals[deals["owner_rep_id"] == rid]
        book = accounts[accounts["owner_rep_id"] == rid]
        row = got.loc[rid]
        assert row["deals"] == len(mine)
        assert row["accounts"] == len(book)
        if len(book):
            assert row["territory_potential"] == pytest.approx(book["annual_potential"].mean())
        if len(mine):
            assert row["median_deal_size"] == pytest.approx(mine["initial_amount"].median())
            seg = mine["segment"].str.strip().str.lower().replace("", None).fillna(MISSING)
            for name, share in seg.value_counts(normalize=True).items():
                assert row[f"{resources.SEGMENT_PREFIX}{name}"] == pytest.approx(share)
        if pd.notna(rep["hire_date"]):
            days = (as_of.normalize() - pd.Timestamp(rep["hire_date"])).days
            assert row["tenure_years"] == pytest.approx(days / 365.25)
    assert (got["deals"] >= 0).all()


def _frame(**cols) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    base = {
        "rep_id": [f"R{i}" for i in range(n)],
        "territory_potential": [100.0] * n,
        "accounts": [10] * n,
        "deals": [50] * n,
        "median_deal_size": [1000.0] * n,
        "tenure_years": [2.0] * n,
    }
    return pd.DataFrame({**base, **cols})


def test_nearest_peers_are_closest_in_resources_not_results():
    # R0 has a big territory; R1 and R2 share it, R3 and R4 are small-territory reps
    df = _frame(
        territory_potential=[1e6, 9e5, 1.1e6, 1e4, 2e4],
        won=[0.9, 0.1, 0.2, 0.95, 0.9],  # results are ignored
    )
    peers = resources.nearest_peers(df, "R0", k=2)
    assert peers["rep_id"].tolist() == ["R1", "R2"] or peers["rep_id"].tolist() == ["R2", "R1"]
    assert (peers["distance"].diff().dropna() >= 0).all()


def test_distance_by_hand_and_reps_without_deals_are_not_peers():
    df = _frame(tenure_years=[1.0, 2.0, 3.0, 4.0], deals=[50, 50, 50, 0])
    peers = resources.nearest_peers(df, "R0", k=10)
    # only tenure varies: z = (t - 2.5) / sd(1, 2, 3, 4) with the population sd sqrt(1.25)
    sd = math.sqrt(1.25)
    assert peers["rep_id"].tolist() == ["R1", "R2"]  # R3 has no deals
    np.testing.assert_allclose(peers["distance"], [1 / sd, 2 / sd])


def test_segment_mix_counts_as_one_resource():
    seg = {f"{resources.SEGMENT_PREFIX}{s}": v for s, v in {"a": [1, 0, 1], "b": [0, 1, 0]}.items()}
    df = _frame(**seg)
    peers = resources.nearest_peers(df, "R0", k=2)
    assert peers["rep_id"].tolist() == ["R2", "R1"]
    # two segment columns weighted by 1/sqrt(2): distance^2 = 2 * (z_diff / sqrt 2)^2 = z_diff^2
    z = 1 / np.std([1, 0, 1])
    assert peers["distance"].iloc[1] == pytest.approx(z)


def test_unknown_rep():
    with pytest.raises(KeyError):
        resources.nearest_peers(_frame(deals=[1, 2]), "nobody")
