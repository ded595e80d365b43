"""The personal view: own results and effort against peers nearest in resources, and the
practices with evidence that the rep uses less than those peers."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from brightspots import personal, resources

SEG = resources.SEGMENT_PREFIX


def _tables(n_reps: int = 14) -> dict[str, pd.DataFrame]:
    ids = [f"R{i:02d}" for i in range(n_reps)]
    # R00 works mid-market; R01..R10 are like them (same territory), R11.. are far away
    prof = pd.DataFrame(
        {
            "rep_id": ids,
            "territory_potential": [1e5] * 11 + [1e7] * (n_reps - 11),
            "accounts": [20] * n_reps,
            "deals": [60] * n_reps,
            "median_deal_size": [5e4] * n_reps,
            "tenure_years": [2.0] * n_reps,
            f"{SEG}mid": [1.0] * 11 + [0.0] * (n_reps - 11),
            f"{SEG}smb": [0.0] * 11 + [1.0] * (n_reps - 11),
        }
    )
    spots = pd.DataFrame(
        {
            "level": "rep",
            "unit_id": ids,
            "rep_id": ids,
            "name": [f"Rep {i}" for i in range(n_reps)],
            "team_id": "T1",
            "closed": 60,
            "observed": [18] + [20] * 10 + [40] * (n_reps - 11),
            "expected": 20.0,
            "oe": [0.9] + [1.0 + 0.01 * i for i in range(10)] + [2.0] * (n_reps - 11),
            "shrunk_oe": 0.95,
            "shrunk_lower_95": 0.8,
            "shrunk_upper_95": 1.1,
            "label": "",
            "reason": "about as expected",
        }
    )
    weeks = pd.date_range("2026-01-05", periods=14, freq="7D")
    effort = pd.DataFrame(
        [
            {
                "grain": "rep",
                "unit_id": r,
                "every": "week",
                "period": w,
                "week_label": f"2026-W{k + 2:02d}",
                "touches": 10,
                "touches_with_impact": 2 if r == "R00" else 4,
                "touches_in_dark": 5 if r == "R00" else 3,
                "touches_pending": 0,
                "buyer_events": 3,
                "impact_rate": 0.2 if r == "R00" else 0.4,
            }
            for r in ids
            for k, w in enumerate(weeks)
        ]
    )
    practice_reps = pd.DataFrame(
        [
            {"rep_id": r, "practice": "multithreading", "deals": 30, "value": v, "does": v >= 0.5}
            for r, v in zip(ids, [0.2] + [0.6] * 10 + [0.1] * (n_reps - 11), strict=True)
        ]
        + [
            {"rep_id": r, "practice": "cadence", "deals": 30, "value": 3.0, "does": True}
            for r in ids
        ]
    )
    effects = pd.DataFrame(
        {
            "practice": ["multithreading", "cadence"],
            "description": ["3+ contacts", "touches per open week"],
            "pp_diff": [10.0, 1.0],
            "q": [0.001, 0.6],
            "suspect": [False, False],
            "kind": ["binary", "rate"],
            "unit": ["", "touches per open week"],
            "higher_is_better": [True, True],
        }
    )
    by_segment = pd.DataFrame(
        {"practice": ["multithreading"] * 2, "segment": ["mid", "smb"], "pp_diff": [15.0, 2.0]}
    )
    return {
        "bright_spots": spots,
        "effort_impact": effort,
        "rep_resources": prof,
        "practice_reps": practice_reps,
        "practice_effects": effects,
        "practice_segment_effects": by_segment,
    }


def test_peers_are_like_me_in_resources_and_shown_only_as_a_group():
    view = personal.build("R00", run_id="run1", window="12 months", tables=_tables())
    assert view.peers == 10
    assert view.results.oe == pytest.approx(0.9)
    # peers are R01..R10 (same territory), whose O/E are 1.00 .. 1.09: median 1.045
    assert view.results.peers_oe_median == pytest.approx(1.045)
    # effort: the last 12 of 14 weeks; impact 2 of 10 a week against peers' 4 of 10
    assert len(view.effort.weeks) == personal.WEEKS
    assert view.effort.touches == 140 and view.effort.with_impact == 28
    assert view.effort.impact_rate == pytest.approx(0.2)
    assert view.effort.peers_impact_rate == pytest.approx(0.4)
    assert view.effort.dark_share == pytest.approx(0.5)


def test_suggestions_use_evidence_in_my_segment_mix():
    view = personal.build("R00", run_id="run1", window="12 months", tables=_tables())
    lines = {p.practice: p for p in view.practices}
    mt = lines["multithreading"]
    assert mt.mine == pytest.approx(0.2) and mt.peers == pytest.approx(0.6)
    assert mt.peers_doing == pytest.approx(1.0)
    assert mt.gap and mt.proven
    # all of R00's deals are mid-market, where the effect is 15 points (not the overall 10)
    assert mt.evidence_pp == pytest.approx(15.0)
    assert "+15 points" in mt.sentence and "20%" in mt.sentence and "60%" in mt.sentence
    # cadence: no evidence (q 0.6) and no gap: never suggested
    assert not lines["cadence"].proven and math.isnan(lines["cadence"].evidence_pp)
    assert [p.practice for p in view.suggestions] == ["multithreading"]


def test_a_rep_who_already_does_it_gets_no_suggestion():
    tables = _tables()
    pr = tables["practice_reps"]
    pr.loc[(pr["rep_id"] == "R00") & (pr["practice"] == "multithreading"), "value"] = 0.9
    view = personal.build("R00", run_id="run1", window="12 months", tables=tables)
    assert view.suggestions == []


def test_unknown_rep_and_missing_tables_are_clear_errors():
    with pytest.raises(personal.PersonalError, match="'R99' is not in run run1"):
        personal.build("R99", run_id="run1", window="12 months", tables=_tables())
    tables = _tables()
    del tables["practice_reps"]
    with pytest.raises(personal.PersonalError, match="lacks practice_reps"):
        personal.build("R00", run_id="run1", window="12 months", tables=tables)


def test_a_small_shortfall_is_not_a_gap():
    tables = _tables()
    pr = tables["practice_reps"]
    # peers do it on 60% of deals; 57% is within the 5 points a suggestion needs
    pr.loc[(pr["rep_id"] == "R00") & (pr["practice"] == "multithreading"), "value"] = 0.57
    view = personal.build("R00", run_id="run1", window="12 months", tables=tables)
    assert not {p.practice: p for p in view.practices}["multithreading"].gap
    assert view.suggestions == []
