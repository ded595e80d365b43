"""Level assembly: every unit gets a row, and the quarter-by-quarter persistence view."""

from __future__ import annotations

import pandas as pd

from brightspots import levels


def test_complete_units_adds_zero_rows_for_units_without_deals():
    units = pd.DataFrame({"unit_id": ["a", None], "n": [5, 2], "observed": [2.0, 1.0]})
    out = levels.complete_units(units, ["a", "b"])
    assert out["unit_id"].tolist() == ["a", "b"]
    assert out.loc[1, "n"] == 0 and out.loc[1, "observed"] == 0.0
    assert out["n"].dtype == units["n"].dtype


def test_persistence_counts_quarters_above_expectation():
    q = pd.DataFrame(
        {
            "unit_id": ["a"] * 5 + ["b"],
            "quarter": ["2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3", "2026-Q3"],
            "observed": [0.0, 5.0, 3.0, 4.0, 2.0, 1.0],
            "expected": [1.0, 4.0, 3.5, 2.0, 1.0, 2.0],
            "n": [3, 10, 9, 8, 4, 5],
        }
    )
    shown = levels.last_quarters(q["quarter"].tolist())
    assert shown == ["2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"]
    p = levels.persistence(q, shown).set_index("unit_id")
    assert p.at["a", "quarters_above"] == 3 and p.at["a", "quarters_assessed"] == 4
    assert p.at["a", "quarters_oe"] == "2025-Q4 1.25; 2026-Q1 0.86; 2026-Q2 2.00; 2026-Q3 2.00"
    assert p.at["b", "quarters_above"] == 0 and p.at["b", "quarters_assessed"] == 1
