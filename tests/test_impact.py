"""The buyer-impact outcome: settled touches, expected impact from resources, design effect."""

from __future__ import annotations

from datetime import datetime, timedelta

import ibis
import numpy as np
import pandas as pd
import pytest

from brightspots import casemix, impact

CON = ibis.duckdb.connect()


def _sums(df: pd.DataFrame) -> pd.DataFrame:
    """``account_sums`` of touch rows, run by DuckDB."""
    df = df.assign(team_id="TM1", region="EMEA")
    if "occurred_local" not in df:
        df = df.assign(occurred_local=pd.Timestamp("2026-01-05"))
    return CON.execute(impact.account_sums(ibis.memtable(df)))


def _pandas_spread(df: pd.DataFrame, unit: str = "rep_id") -> tuple[float, float]:
    """The two sums of ``cluster_spread``, the plain way."""
    spread = binomial = 0.0
    for _, g in df.groupby(unit):
        o_i, e_i = g["y"].sum(), g["p_hat"].sum()
        v_i = (g["p_hat"] * (1 - g["p_hat"])).sum()
        r = o_i / e_i
        shares = 0.0
        for _, c in g.groupby("account_id"):
            o_c, e_c = c["y"].sum(), c["p_hat"].sum()
            spread += (o_c - r * e_c) ** 2
            shares += (e_c / e_i) ** 2
        binomial += v_i * (1 - shares)
    return spread, binomial


def test_cluster_spread_matches_a_plain_computation():
    rng = np.random.default_rng(3)
    n = 400
    df = pd.DataFrame(
        {
            "rep_id": rng.choice(["R1", "R2", "R3"], n),
            "account_id": rng.choice([f"A{i}" for i in range(12)], n),
            "p_hat": rng.uniform(0.1, 0.5, n),
        }
    )
    df["y"] = (rng.random(n) < df["p_hat"]).astype("int64")
    got = impact.cluster_spread(_sums(df), "rep_id")
    spread, binomial = _pandas_spread(df)
    assert got[0] == pytest.approx(spread, rel=1e-9)
    assert got[1] == pytest.approx(binomial, rel=1e-9)


def _clustered(rng, *, reps: int, accounts: int, touches: int, icc: float) -> pd.DataFrame:
    """Touches whose impact shares an account-level chance: beta-distributed around p with
    intraclass correlation ``icc`` (icc 0: independent touches)."""
    rows = []
    for r in range(reps):
        for a in range(accounts):
            p = 0.25
            if icc > 0:
                k = (1 - icc) / icc
                p_acc = rng.beta(p * k, (1 - p) * k)
            else:
                p_acc = p
            y = rng.random(touches) < p_acc
            rows.append(
                pd.DataFrame(
                    {"rep_id": f"R{r}", "account_id": f"R{r}A{a}", "p_hat": p, "y": y.astype(int)}
                )
            )
    return pd.concat(rows, ignore_index=True)


@pytest.mark.parametrize("icc", [0.0, 0.05, 0.15])
def test_design_effect_recovers_clustering(icc):
    # m touches per account with intraclass correlation rho vary 1 + (m - 1) rho times as much
    # as independent touches (Kish); the estimate must find it, and 1 without clustering
    rng = np.random.default_rng(11)
    m = 12
    df = _clustered(rng, reps=40, accounts=25, touches=m, icc=icc)
    deff = impact.design_effect(*impact.cluster_spread(_sums(df), "rep_id"))
    truth = 1 + (m - 1) * icc
    print(f"icc {icc}: design effect {deff:.2f}, Kish {truth:.2f}")
    assert deff == pytest.approx(truth, rel=0.15)


def test_design_effect_is_never_below_one_and_safe_on_nothing():
    assert impact.design_effect(80.0, 100.0) == 1.0
    assert impact.design_effect(250.0, 100.0) == 2.5
    assert impact.design_effect(0.0, 0.0) == 1.0
    assert impact.design_effect(float("nan"), 10.0) == 1.0


def test_impact_units_inflate_the_binomial_moments():
    df = pd.DataFrame(
        {
            "rep_id": ["R1", "R1", "R1", "R2"],
            "p_hat": [0.2, 0.4, 0.5, 0.3],
            "y": [1, 0, 1, 0],
            "occurred_local": pd.to_datetime(
                ["2026-01-05", "2026-02-05", "2026-03-05", "2026-01-09"]
            ),
        }
    )
    units = impact.impact_units(_sums(df.assign(account_id="A1")), "rep_id", deff=2.0)
    assert units["unit_id"].tolist() == ["R1", "R2"]
    r1 = units.iloc[0]
    p = np.array([0.2, 0.4, 0.5])
    assert r1["n"] == 3 and r1["observed"] == 2
    assert r1["expected"] == pytest.approx(p.sum())
    assert r1["variance"] == pytest.approx(2.0 * (p * (1 - p)).sum())
    assert r1["third"] == pytest.approx(4.0 * (p * (1 - p) * (1 - 2 * p)).sum())
    # January and March are odd months
    assert r1["observed_odd"] == 2 and r1["expected_odd"] == pytest.approx(0.7)
    assert r1["observed_even"] == 0 and r1["expected_even"] == pytest.approx(0.4)


def _tables():
    t0 = datetime(2026, 1, 1, 9)
    h = timedelta(hours=1)
    activities = pd.DataFrame(
        {
            "activity_id": ["T1", "T2", "T3", "T4", "B1"],
            "rep_id": ["R1", "R1", "R2", "R2", "R1"],
            "account_id": ["A1", "A1", "A2", "A2", "A1"],
            "opportunity_id": [None, None, None, None, None],
            "contact_id": [None, None, None, None, None],
            "type": ["email", "call", "email", "email", "email"],
            "occurred_at": [t0, t0 + 240 * h, t0, t0 + 24 * 60 * h, t0],
            "is_bulk": [False, False, None, False, True],
        }
    )
    events = pd.DataFrame(
        {
            "event_id": ["E1", "E2"],
            "account_id": ["A1", "A3"],
            "opportunity_id": [None, None],
            "contact_id": [None, None],
            "type": ["reply", "reply"],
            "occurred_at": [t0 + 2 * h, t0 + 24 * 70 * h],
        }
    )
    accounts = pd.DataFrame(
        {
            "account_id": ["A1", "A2", "A3"],
            "segment": ["Enterprise", "smb", "smb"],
            "industry": ["x", "y", "y"],
            "region": ["EU", "EU", "US"],
            "employees": [500, 20, 10],
            "annual_potential": [1e6, 5e4, 1e4],
            "owner_rep_id": ["R1", "R2", "R2"],
        }
    )
    reps = pd.DataFrame(
        {
            "rep_id": ["R1", "R2"],
            "team_id": ["TM1", "TM1"],
            "region": ["EMEA", "EMEA"],
            "hire_date": pd.to_datetime(["2020-01-01", "2025-06-01"]).date,
        }
    )
    return activities, events, accounts, reps, t0 + 24 * 70 * h


def test_touch_cases_keep_settled_touches_only():
    activities, events, accounts, reps, as_of = _tables()
    cases = impact.touch_cases(
        ibis.memtable(activities),
        ibis.memtable(events),
        ibis.memtable(accounts),
        ibis.memtable(reps),
        covariates=["segment", "account_potential", "tenure"],
        local=lambda ts: ts,
        impact_window=timedelta(days=7),
        dark_after=timedelta(days=30),
        as_of=as_of,
    )
    got = CON.execute(cases.order_by(["rep_id", "occurred_at"]))
    # T4 is 10 days old at as_of: its outcome may still change, so it is not a case;
    # B1 is a bulk e-mail, never a touch
    assert len(got) == 3
    assert got["y"].tolist() == [1, 0, 0]  # E1 is credited to T1 only
    assert got["team_id"].tolist() == ["TM1"] * 3
    assert got["region"].tolist() == ["EMEA"] * 3  # the rep's region, not the account's
    assert got["x_segment"].tolist() == ["enterprise", "enterprise", "smb"]
    assert got["x_tenure"].tolist() == ["5y+", "5y+", "0-1y"]
    assert (got["x_account_potential"] > 0).all()


def test_deal_covariates_are_refused_for_touches():
    activities, events, accounts, reps, as_of = _tables()
    with pytest.raises(casemix.CaseMixError, match="deal_size"):
        impact.touch_cases(
            ibis.memtable(activities),
            ibis.memtable(events),
            ibis.memtable(accounts),
            ibis.memtable(reps),
            covariates=["segment", "deal_size"],
            local=lambda ts: ts,
            impact_window=timedelta(days=7),
            dark_after=timedelta(days=30),
            as_of=as_of,
        )
    # the analysis passes only the configured covariates that describe a touch
    assert impact.covariates_for(["segment", "deal_size", "source", "tenure"]) == [
        "segment",
        "tenure",
    ]
