"""Per-unit observed and expected, per outcome, as engine expressions (checked by hand)."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from brightspots import outcomes


@pytest.fixture
def scored():
    return ibis.memtable(
        pd.DataFrame(
            {
                "rep_id": ["a", "a", "b"],
                "team_id": ["t", "t", "t"],
                "region": ["r", "r", "r"],
                "y": [1, 0, 1],
                "p_hat": [0.5, 0.2, 0.9],
                "amount": [130.0, 50.0, 20.0],
                "base_amount": [100.0, 40.0, None],
                "closed_local": pd.to_datetime(["2026-01-15", "2026-02-15", "2026-03-01"]),
            }
        )
    )


def run(expr) -> pd.DataFrame:
    return ibis.duckdb.connect().execute(expr.order_by("unit_id")).set_index("unit_id")


def test_win_rate_units_by_hand(scored):
    u = run(outcomes.win_rate_units(scored, "rep_id"))
    assert u.at["a", "n"] == 2 and u.at["a", "observed"] == 1
    assert u.at["a", "expected"] == pytest.approx(0.7)
    assert u.at["a", "variance"] == pytest.approx(0.5 * 0.5 + 0.2 * 0.8)
    assert u.at["a", "third"] == pytest.approx(0.5 * 0.5 * 0.0 + 0.2 * 0.8 * 0.6)
    # January and March are odd months, February even
    assert u.at["a", "observed_odd"] == 1 and u.at["a", "expected_odd"] == pytest.approx(0.5)
    assert u.at["a", "expected_even"] == pytest.approx(0.2)
    t = run(outcomes.win_rate_units(scored, "team_id"))
    assert t.at["t", "n"] == 3 and t.at["t", "expected"] == pytest.approx(1.6)


def test_revenue_units_by_hand(scored):
    # r = 1.1, cv2 = 0.21: a = 110 and 44; lognormal moments m2 = a^2 * 1.21, m3 = a^3 * 1.21^3
    u = run(outcomes.revenue_units(scored, "rep_id", r=1.1, cv2=0.21))
    assert "b" not in u.index  # no amount at creation: left out of this outcome
    assert u.at["a", "n"] == 2
    assert u.at["a", "observed"] == pytest.approx(130.0)  # only the won deal's booked amount
    assert u.at["a", "expected"] == pytest.approx(0.5 * 110 + 0.2 * 44)

    def var(p, a):
        return p * a * a * 1.21 - p * p * a * a

    def third(p, a):
        return p * a**3 * 1.21**3 - 3 * p * p * a * a * a * 1.21 + 2 * p**3 * a**3

    assert u.at["a", "variance"] == pytest.approx(var(0.5, 110) + var(0.2, 44))
    assert var(0.5, 110) == pytest.approx(4295.5)
    assert u.at["a", "third"] == pytest.approx(third(0.5, 110) + third(0.2, 44))
    assert third(0.5, 110) == pytest.approx(303841.3455, rel=1e-9)


def test_revenue_scale(scored):
    row = ibis.duckdb.connect().execute(outcomes.revenue_scale(scored)).iloc[0]
    assert row["booked"] == 130.0 and row["created"] == 100.0 and row["n"] == 1


def test_quarters(scored):
    q = ibis.duckdb.connect().execute(outcomes.quarter_units(scored, "rep_id"))
    assert sorted(q["quarter"]) == ["2026-Q1", "2026-Q1"]
    a = q.set_index("unit_id").loc["a"]
    assert a["n"] == 2 and a["observed"] == 1 and a["expected"] == pytest.approx(0.7)
