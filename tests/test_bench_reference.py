"""The pandas reference of ``bench/reference.py`` gives a run's numbers (issue 9).

On the small synthetic organisation: per rep, team and region and per outcome the same n,
observed, expected, limits, scores and labels as the run's ``deviance`` table, the same combined
labels as its ``bright_spots`` table, and the same ``effort_impact`` table; once in UTC and once in
a zone with daylight saving, other windows, durations and minimum volume. The crediting of touches
is checked by hand on a few rows.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bench import reference

from brightspots import metrics
from brightspots.analysis import analyze
from brightspots.workspace import DEFAULT_CONFIG, Workspace

KEY = ["level", "outcome", "unit_id"]
EFFORT_KEY = ["grain", "every", "unit_id", "period"]
# reasons are left out: for a unit whose O equals E up to rounding ("971 wins where 971.0 were
# expected") the sentence says "above" or "not above" by the last bit of a float sum
TEXT = ["label", "name"]


def _compare_run(root: Path, folder: Path, *, stored_effort: bool) -> dict:
    with Workspace.open(root) as ws:
        reference.export_canonical(ws, folder)
        config = ws.config
        run = ws.latest_run()
        stored = {name: ws.run_results(name) for name in ("deviance", "bright_spots")}
        stored["effort_impact"] = (
            ws.run_results("effort_impact") if stored_effort else metrics.compute(ws)
        )
    ref = reference.reference(folder, config)
    return {"run": stored, "diagnostics": run.diagnostics, "ref": ref}


def _sorted(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    return frame.sort_values(key, ignore_index=True)


def _assert_deviance(got: dict) -> None:
    run = _sorted(got["run"]["deviance"], KEY)
    ref = _sorted(got["ref"]["deviance"], KEY)
    assert run[KEY].equals(ref[KEY])
    assert set(run["level"]) == {"rep", "team", "region"}
    assert set(run["outcome"]) == {"win_rate", "won_revenue", "buyer_impact"}
    for column in run.columns:
        a, b = run[column], ref[column]
        if column in TEXT:
            assert (a.fillna("") == b.fillna("")).all(), column
        elif pd.api.types.is_bool_dtype(a):
            assert (a.to_numpy() == b.to_numpy()).all(), column
        elif pd.api.types.is_numeric_dtype(a):
            np.testing.assert_allclose(
                b.to_numpy(float), a.to_numpy(float), rtol=1e-6, atol=1e-9, err_msg=column
            )
    # the checks can fail: some unit is labelled, and some is not
    assert (ref["label"] != "").any() and (ref["label"] == "").any()


def _assert_bright_spots(got: dict) -> None:
    key = ["level", "unit_id"]
    run = _sorted(got["run"]["bright_spots"], key)
    ref = _sorted(got["ref"]["bright_spots"], key)
    assert run[key].equals(ref[key])
    for column in ("closed", "quarters_above", "quarters_assessed"):
        assert (run[column].to_numpy() == ref[column].to_numpy()).all(), column
    for column in ("observed", "expected", "oe", "won_amount", "z_od", "upper_998"):
        np.testing.assert_allclose(ref[column], run[column], rtol=1e-6, atol=1e-9)
    for column in ("label", "outcome", "rep_id", "team_id", "quarters_oe"):
        assert (run[column].fillna("") == ref[column].fillna("")).all(), column


def _assert_summaries(got: dict) -> None:
    levels = got["diagnostics"]["levels"]
    for row in got["ref"]["outcome_summary"].to_dict("records"):
        stored = levels[row["level"]]["outcomes"][row["outcome"]]
        for name in ("phi", "tau2", "n_eligible", "n_bright_spots", "n_candidates"):
            assert np.isclose(row[name], stored[name], rtol=1e-6, atol=1e-12), name
    effects = got["diagnostics"]["buyer_impact"]["design_effect"]
    for level, value in got["ref"].notes["buyer_impact"]["design_effect"].items():
        assert value == pytest.approx(effects[level], rel=1e-9)


def _assert_effort(got: dict) -> None:
    run = _sorted(got["run"]["effort_impact"], EFFORT_KEY)
    ref = _sorted(got["ref"]["effort_impact"], EFFORT_KEY)
    assert list(ref.columns) == list(metrics.COLUMNS)
    assert len(ref) == len(run) > 0
    run["period"] = pd.to_datetime(run["period"]).astype("datetime64[us]")
    pd.testing.assert_frame_equal(ref, run, check_dtype=False, rtol=1e-9)


@pytest.fixture(scope="module")
def utc(small_ws, tmp_path_factory) -> dict:
    return _compare_run(small_ws, tmp_path_factory.mktemp("ref_utc"), stored_effort=True)


def test_deviance_matches_the_run(utc):
    _assert_deviance(utc)


def test_bright_spots_match_the_run(utc):
    _assert_bright_spots(utc)
    # some unit is labelled (the small org has candidates, no bright spot), and some is not
    labels = set(utc["ref"]["bright_spots"]["label"])
    assert "candidate" in labels and "" in labels


def test_outcome_summaries_match_the_run(utc):
    _assert_summaries(utc)


def test_effort_impact_matches_the_run(utc):
    _assert_effort(utc)
    timings = utc["ref"].timings
    assert set(timings) == {"read", "engine", "statistics"}


def test_a_zone_with_daylight_saving_and_other_settings(small_ws, tmp_path, utc):
    root = tmp_path / "ws"
    shutil.copytree(small_ws, root)
    with Workspace.open(root) as ws:
        ws.update_config(
            {
                "workspace": {"timezone": "America/Los_Angeles"},
                "analysis": {"window": "6m", "team_window": "9m", "min_volume": 12},
                "metrics": {"impact_window": "3d", "dark_after": "14d"},
            }
        )
        analyze(ws, practices=False)
    got = _compare_run(root, tmp_path / "parquet", stored_effort=False)
    _assert_deviance(got)
    _assert_bright_spots(got)
    _assert_summaries(got)
    _assert_effort(got)
    # local days really moved: the daily rows differ from the UTC ones
    days = got["ref"]["effort_impact"]
    utc_days = utc["ref"]["effort_impact"]
    assert len(days) != len(utc_days)


# ----------------------------------------------------------------------------- by hand


def _ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def _frame(rows: list[tuple], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    for c in columns:
        if c in ("occurred_at",):
            frame[c] = pd.to_datetime(frame[c], format="ISO8601").astype("datetime64[us]")
        elif c != "is_bulk":
            frame[c] = frame[c].astype("str")
    return frame


ACTS = [
    # activity_id, rep, account, opportunity, contact, type, occurred_at, is_bulk
    ("T1", "R1", "A", "O1", "C1", "call", "2026-01-01 10:00", False),
    ("T2", "R1", "A", None, "C1", "email", "2026-01-01 12:00", None),
    ("T3", "R2", "A", None, None, "call", "2026-01-01 12:00", False),
    ("T4", "R1", "A", None, None, "meeting", "2026-01-20 09:00", False),
    ("T5", "R1", "A", None, None, "call", "2026-01-28 09:00", False),
    ("T9", "R1", "A", "O1", "C1", "email", "2026-01-30 09:00", True),  # bulk: never a touch
]
EVENTS = [
    # event_id, account, opportunity, contact, occurred_at
    ("E1", "A", "O1", None, "2026-01-01 13:00:00.700"),  # opportunity tier: T1
    ("E2", "A", None, "C1", "2026-01-01 13:00"),  # contact tier: T2 (T1 is older)
    ("E3", "A", None, None, "2026-01-01 12:00"),  # account tier, same instant: T2 (< T3)
    ("E4", "A", "O2", None, "2026-01-09 12:01"),  # nothing on O2; T2 is 8 days old: none
    ("E5", "A", None, None, "2026-01-08 12:00"),  # exactly the 7-day window: T2
    ("E6", "B", None, None, "2026-01-02 08:00"),  # no touch on account B
]


@pytest.fixture
def hand() -> dict:
    config = copy.deepcopy(DEFAULT_CONFIG)
    config["metrics"] = {"impact_window": "7d", "dark_after": "5d"}
    tables = {
        "activities": _frame(
            ACTS,
            [
                "activity_id",
                "rep_id",
                "account_id",
                "opportunity_id",
                "contact_id",
                "type",
                "occurred_at",
                "is_bulk",
            ],
        ),
        "buyer_events": _frame(
            EVENTS, ["event_id", "account_id", "opportunity_id", "contact_id", "occurred_at"]
        ),
        "opportunities": pd.DataFrame(
            {"opportunity_id": ["O1", "O2"], "owner_rep_id": ["R1", "R2"]}
        ),
        "accounts": pd.DataFrame({"account_id": ["A", "B"], "owner_rep_id": ["R1", "R2"]}),
    }
    td = reference.touch_data(tables, reference.settings(config))
    return {"tables": tables, "td": td}


def test_each_event_is_credited_by_hand(hand):
    events = hand["td"].events.set_index("event_id")
    assert events["activity_id"].fillna("-").to_dict() == {
        "E1": "T1",
        "E2": "T2",
        "E3": "T2",
        "E4": "-",
        "E5": "T2",
        "E6": "-",
    }
    assert events["credit_tier"].fillna("-").to_dict() == {
        "E1": "opportunity",
        "E2": "contact",
        "E3": "account",
        "E4": "-",
        "E5": "account",
        "E6": "-",
    }


def test_touch_outcomes_by_hand(hand):
    td = hand["td"]
    # the bulk e-mail is no touch but sets the as-of time
    assert td.as_of == _ts("2026-01-30 09:00")
    touches = td.touches.set_index("activity_id")
    assert touches["events_credited"].to_dict() == {"T1": 1, "T2": 3, "T3": 0, "T4": 0, "T5": 0}
    assert touches["outcome"].to_dict() == {
        "T1": "impact",
        "T2": "impact",
        "T3": "followed",  # E3 at the same instant
        "T4": "dark",  # nothing after it; 5 days have passed by Jan 30
        "T5": "pending",  # 5 days after Jan 28 is after the as-of time
    }


def test_response_hours_by_hand(hand):
    td = hand["td"]
    resp = reference.response_hours(hand["tables"], td.touches, td.events)
    resp.index = td.events["event_id"]
    assert resp["responsible_rep_id"].to_dict() == {
        "E1": "R1",  # O1's owner
        "E2": "R1",  # no opportunity: A's owner
        "E3": "R1",
        "E4": "R2",  # O2's owner
        "E5": "R1",
        "E6": "R2",  # B's owner
    }
    hours = resp["response_hours"]
    # E1 at 13:00:00.7 counts from 13:00:00 (whole seconds); R1 next touches A on Jan 20 09:00
    assert hours["E1"] == 18 * 24 + 20
    assert hours["E2"] == 18 * 24 + 20
    assert hours["E3"] == 0.0  # T2 by R1 at the same instant
    assert hours["E5"] == 11 * 24 + 21
    assert np.isnan(hours["E4"]) and np.isnan(hours["E6"])  # R2 never touches A after; B none


def test_a_missing_table_is_named(tmp_path):
    with pytest.raises(reference.ReferenceInputError, match=r"teams\.parquet: no such file"):
        reference.load(tmp_path)


def test_a_missing_column_is_named(tmp_path, small_ws):
    with Workspace.open(small_ws) as ws:
        reference.export_canonical(ws, tmp_path)
    reps = pd.read_parquet(tmp_path / "reps.parquet").drop(columns="hire_date")
    reps.to_parquet(tmp_path / "reps.parquet")
    with pytest.raises(reference.ReferenceInputError, match=r"reps\.parquet: no column.*hire_date"):
        reference.load(tmp_path)
