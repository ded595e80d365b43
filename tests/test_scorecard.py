"""The balanced scorecard: a hand-made set of run tables worked out by hand (attainment, cap,
statuses, renormalised weights, a suppressed care cell left out of the score whatever it holds),
the [scorecard] checks, and the scorecard of the small workspace against its stored tables."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pandas as pd
import pytest

from brightspots.brief.source import BriefError
from brightspots.scorecard import (
    SCORECARD_COLUMNS,
    Inputs,
    ScorecardError,
    attainment,
    build,
    make_scorecard,
    scorecard_frame,
    summary,
)
from brightspots.scorecard.render import write
from brightspots.scorecard.settings import (
    COMPONENTS,
    ScorecardConfigError,
    ScorecardSettings,
)
from brightspots.workspace import Workspace, WorkspaceError, init_workspace

Z = 1.959964


def inputs(care_rows: list[tuple] | None = None, **over) -> Inputs:
    """Teams T1 (reps Cleo, Ann, Bea) and T2 (Dan); T2 is the team asked for (first)."""
    reps = pd.DataFrame(
        [("R3", "Cleo", "T1"), ("R1", "Ann", "T1"), ("R2", "bea", "T1"), ("R4", "Dan", "T2")],
        columns=["rep_id", "name", "team_id"],
    )
    teams = pd.DataFrame([("T1", "Alpha"), ("T2", "Zulu")], columns=["team_id", "name"])
    results = pd.DataFrame(
        [
            ("rep", "R1", 30, 1.2, 0.1),  # met
            ("rep", "R2", 30, 0.5, 0.1),  # upper 0.696 < 1: clearly below
            ("rep", "R3", 5, 3.0, 0.5),  # 5 closed < 20: no data
            ("rep", "R4", 40, 0.9, 0.2),  # below (interval holds 1)
            ("team", "T1", 65, 1.0, 0.05),  # met (value = target)
            ("team", "T2", 40, 0.9, 0.2),
        ],
        columns=["level", "unit_id", "closed", "oe", "s"],
    )
    impact = pd.DataFrame(
        [("rep", "R1", 500, 2.0, 0.1), ("rep", "R2", 99, 1.5, 0.1)],  # R2: < 100 touches
        columns=["level", "unit_id", "n", "oe", "s"],
    )
    care = pd.DataFrame(
        care_rows
        if care_rows is not None
        else [
            ("rep", "R1", "customer", False, 0.9, 0.8, 0.95),
            # suppressed, with a figure a faulty table might hold: never used
            ("rep", "R2", "customer", True, 0.1, 0.0, 0.2),
            ("team", "T1", "customer", False, 0.6, 0.5, 0.7),
            ("rep", "R1", "employee", False, 0.3, 0.2, 0.4),
        ],
        columns=["level", "unit_id", "source", "suppressed", "mean", "lower_95", "upper_95"],
    )
    practice_reps = pd.DataFrame(
        [
            ("R1", "p1", True),
            ("R1", "p2", False),
            ("R1", "p3", True),  # p3 has no evidence: not counted
            ("R2", "p1", True),
            ("R2", "p2", True),
            ("R3", "p1", False),
        ],
        columns=["rep_id", "practice", "does"],
    )
    args = dict(
        reps=reps,
        teams=teams,
        results=results,
        impact=impact,
        care=care,
        practice_reps=practice_reps,
        evidenced=("p1", "p2"),
        min_volume=20,
        min_touches=100,
        min_respondents=5,
        first_team="T2",
    )
    args.update(over)
    return Inputs(**args)


SETTINGS = ScorecardSettings()  # results 1 / .4, impact 1 / .15, care .75 / .2 and .1, .5 / .15


def test_a_hand_scorecard_worked_out_by_hand():
    card = build(inputs(), SETTINGS)
    assert list(card.columns) == list(SCORECARD_COLUMNS)
    # teams first (the team asked for first), then reps by name whatever the case; no ranking
    assert card["unit_id"].tolist() == ["T2", "T1", "R1", "R2", "R3", "R4"]
    row = card.set_index("unit_id")

    r1 = row.loc["R1"]
    assert r1["results"] == 1.2 and r1["results_status"] == "met"
    assert r1["results_lower"] == pytest.approx(1.2 - Z * 0.1)
    assert r1["results_upper"] == pytest.approx(1.2 + Z * 0.1)
    assert r1["impact"] == 2.0 and r1["impact_status"] == "met"  # attainment capped at 1.5
    assert r1["care_customer"] == 0.9 and r1["care_customer_status"] == "met"
    assert r1["care_employee"] == 0.3 and r1["care_employee_status"] == "clearly_below"
    assert r1["practices"] == 0.5 and r1["practices_status"] == "met"  # p1 of p1, p2
    att = {"results": 1.2, "impact": 1.5, "care_customer": 1.2, "care_employee": 0.4}
    att["practices"] = 1.0
    w = SETTINGS.weights
    assert r1["score"] == pytest.approx(sum(w[c] * att[c] for c in att) / sum(w.values()))
    assert r1["components_used"] == ";".join(COMPONENTS)
    assert r1["note"] == ""
    assert r1[[f"{c}_weight" for c in COMPONENTS]].sum() == pytest.approx(1.0)

    r2 = row.loc["R2"]
    assert r2["results_status"] == "clearly_below"
    assert r2["impact_status"] == "no_data" and np.isnan(r2["impact"])
    assert "99 settled touches, fewer than the 100" in r2["note"]
    # suppressed: no figure, no weight, out of the score
    assert r2["care_customer_status"] == "suppressed"
    assert r2[["care_customer", "care_customer_lower", "care_customer_upper"]].isna().all()
    assert r2["care_customer_weight"] == 0
    assert "Customer care: not shown, to keep the respondents anonymous." in r2["note"]
    used = w["results"] + w["practices"]
    assert r2["results_weight"] == pytest.approx(w["results"] / used)
    assert r2["practices_weight"] == pytest.approx(w["practices"] / used)
    assert r2["score"] == pytest.approx((w["results"] * 0.5 + w["practices"] * 1.5) / used)
    assert r2["components_used"] == "results;practices"

    r3 = row.loc["R3"]
    assert r3["results_status"] == "no_data" and np.isnan(r3["results"])
    assert "Results: 5 closed deals, fewer than the 20 it needs." in r3["note"]
    assert r3["practices"] == 0 and r3["practices_status"] == "below"
    assert r3["score"] == 0.0 and r3["components_used"] == "practices"

    r4 = row.loc["R4"]
    assert r4["results_status"] == "below"  # 0.9, interval up to 1.29
    assert r4["impact_status"] == "no_data" and "Buyer impact: no settled touches" in r4["note"]
    assert r4["practices_status"] == "no_data"
    assert r4["score"] == pytest.approx(0.9) and r4["results_weight"] == 1.0

    t1 = row.loc["T1"]
    assert t1["level"] == "team" and t1["team_id"] == "T1" and t1["name"] == "Alpha"
    assert t1["results_status"] == "met"  # 1.0 meets a target of 1.0
    assert t1["care_customer"] == 0.6 and t1["care_customer_status"] == "clearly_below"
    assert t1["practices"] == pytest.approx((0.5 + 1.0 + 0.0) / 3)  # the mean over its reps


def test_a_suppressed_care_cell_cannot_be_backed_out_of_the_score():
    """Whatever a suppressed cell holds, and whether the rep has 1 or 0 answers, every other
    column is the same: the weights depend on which components are shown, never on a value."""
    base = build(inputs(), SETTINGS)
    for figure in (0.0, 0.37, 1.0, np.nan):
        care = inputs().care.copy()
        care.loc[care["unit_id"].eq("R2") & care["source"].eq("customer"), "mean"] = figure
        pd.testing.assert_frame_equal(build(inputs(care=care), SETTINGS), base)
    no_answers = inputs().care
    no_answers = no_answers[~(no_answers["unit_id"].eq("R2") & no_answers["source"].eq("customer"))]
    other = build(inputs(care=no_answers), SETTINGS)
    same = [c for c in SCORECARD_COLUMNS if c not in ("care_customer_status", "note")]
    pd.testing.assert_frame_equal(other[same], base[same])
    assert other.set_index("unit_id").loc["R2", "care_customer_status"] == "no_data"


def test_attainment_is_capped_and_components_can_be_switched_off():
    assert attainment([0.5, 1.0, 3.0], 1.0, 1.5).tolist() == [0.5, 1.0, 1.5]
    assert attainment([0.6], 0.75, 2.0).tolist() == pytest.approx([0.8])
    only = ScorecardSettings(
        components=("results", "care_customer"), targets=SETTINGS.targets, weights=SETTINGS.weights
    )
    card = build(inputs(), only).set_index("unit_id")
    r1 = card.loc["R1"]
    assert r1["impact_status"] == "off" and np.isnan(r1["impact"]) and r1["impact_weight"] == 0
    assert r1["practices_status"] == "off" and np.isnan(r1["practices_target"])
    w = SETTINGS.weights
    expected = (w["results"] * 1.2 + w["care_customer"] * 1.2) / (w["results"] + w["care_customer"])
    assert r1["score"] == pytest.approx(expected)
    assert card.loc["R3", "score"] != card.loc["R3", "score"]  # nothing shown: no score (NaN)
    assert card.loc["R3", "components_used"] == ""


@pytest.mark.parametrize(
    ("section", "says"),
    [
        ({"targets": {"results": 0}}, "targets.results = 0: a target must be above 0"),
        (
            {"targets": {"care_customer": 75}},
            "targets.care_customer = 75: customer care is a share",
        ),
        ({"targets": {"practices": 1.5}}, "targets.practices = 1.5"),
        ({"targets": {"result": 1.0}}, "targets.result: not a component"),
        ({"weights": {"impact": -0.1}}, "weights.impact = -0.1: a weight must be 0 or more"),
        ({"weights": {"results": "high"}}, "weights.results = 'high': it must be a number"),
        ({"components": ["results"], "weights": {"results": 0}}, "add up to 0"),
        ({"components": ["results", "morale"]}, "unknown component 'morale'"),
        ({"components": "results"}, "it must be a list"),
        ({"components": []}, "components is empty"),
        ({"cap": 0.8}, "cap = 0.8: it must be at least 1"),
    ],
)
def test_bad_scorecard_settings_are_refused(section, says):
    with pytest.raises(ScorecardConfigError, match=re.escape(says)):
        ScorecardSettings.from_config({"scorecard": section})


def test_default_settings():
    from brightspots.workspace import DEFAULT_CONFIG

    got = ScorecardSettings.from_config(DEFAULT_CONFIG)
    assert got.components == COMPONENTS and got.cap == 1.5
    assert dict(got.targets) == dict(SETTINGS.targets)
    assert dict(got.weights) == dict(SETTINGS.weights)


def test_the_small_workspace_scorecard_reads_the_stored_tables(small_ws, tmp_path):
    with Workspace.open(small_ws) as ws:
        every = scorecard_frame(ws)
        bright = ws.run_results("bright_spots").set_index(["level", "unit_id"])
        care = ws.run_results("care_index")
        reps = ws.read("reps")
        teams = ws.read("teams").set_index("team_id")["name"]
        # a parent team (a region's team with no reps of its own) covers its sub-teams
        parent = ws.read("teams").dropna(subset=["parent_team_id"])["parent_team_id"].iloc[0]
        sub = ws.read("teams").query("parent_team_id == @parent")["team_id"].tolist()
        by_parent = make_scorecard(ws, team=teams[parent].upper())
        one = make_scorecard(ws, team=sub[-1])
    assert list(every.columns) == list(SCORECARD_COLUMNS)
    assert (every["level"] == "rep").sum() == len(reps)
    assert set(every.loc[every["level"] == "team", "unit_id"]) == set(reps["team_id"])
    assert not every.duplicated(["level", "unit_id"]).any()
    for level in ("team", "rep"):
        names = every.loc[every["level"] == level, "name"].str.casefold().tolist()
        assert names == sorted(names)  # by name, never by score
    assert set(by_parent.frame.loc[by_parent.frame["level"] == "team", "unit_id"]) == set(sub)
    assert one.frame.iloc[0]["unit_id"] == sub[-1] and one.team_name == teams[sub[-1]]
    assert set(one.frame.loc[one.frame["level"] == "rep", "team_id"]) == {sub[-1]}
    assert one.n_reps == int((reps["team_id"] == sub[-1]).sum())

    rows = every.set_index(["level", "unit_id"])
    shown = rows[rows["results_status"] != "no_data"]
    assert np.allclose(shown["results"], bright.loc[shown.index, "oe"])
    for source in ("customer", "employee"):
        c = f"care_{source}"
        cells = care[care["source"].eq(source) & care["level"].isin(["rep", "team"])]
        cells = cells.set_index(["level", "unit_id"])
        hidden = cells.index[cells["suppressed"]]
        assert (rows.loc[hidden, f"{c}_status"] == "suppressed").all()
        assert rows.loc[hidden, c].isna().all() and (rows.loc[hidden, f"{c}_weight"] == 0).all()
        visible = cells.index[~cells["suppressed"]]
        assert np.allclose(rows.loc[visible, c], cells.loc[visible, "mean"])
    assert (every["care_customer_status"] == "suppressed").any()  # the case is exercised
    weights = every[[f"{c}_weight" for c in COMPONENTS]].sum(axis=1)
    assert np.allclose(weights[every["score"].notna()], 1.0)

    line = summary(one)
    assert line.startswith(f"Scorecard of {teams[sub[-1]]} ({one.n_reps} reps): target met on ")
    # html: self-contained (nothing fetched), bars against the target, the legend
    page = write(one, tmp_path / "s.html", "html").read_text()
    assert "<script" not in page and not re.search(r"(src|href)=\"?https?:", page)
    assert "each rep's own view" in page and "never a ranking" in page
    assert page.count('class="target"') >= 1
    back = pd.read_csv(write(one, tmp_path / "s.csv", "csv"), keep_default_na=False)
    assert list(back.columns) == list(SCORECARD_COLUMNS) and len(back) == len(one.frame)
    with pytest.raises(ScorecardError, match="--format 'pdf': use html or csv"):
        write(one, tmp_path / "s.pdf", "pdf")


def test_clear_errors(small_ws, tmp_path):
    with Workspace.open(small_ws) as ws:
        with pytest.raises(BriefError, match="unknown team 'Mars'; use all or one of"):
            make_scorecard(ws, team="Mars")
        with pytest.raises(ScorecardError, match="no run 'R-1' in .*brightspots runs"):
            make_scorecard(ws, "R-1", team="all")
    with (
        init_workspace(tmp_path / "empty") as ws,
        pytest.raises(WorkspaceError, match="no analysis"),
    ):
        make_scorecard(ws, team="all")
    bad = tmp_path / "bad"
    shutil.copytree(small_ws, bad)
    with Workspace.open(bad) as ws:
        ws.update_config({"scorecard": {"targets": {"care_employee": 80}}})
        with pytest.raises(ScorecardConfigError, match="targets.care_employee = 80"):
            make_scorecard(ws, team="all")
        # a new target needs no new analysis
        ws.update_config({"scorecard": {"targets": {"care_employee": 0.1, "results": 0.01}}})
        card = make_scorecard(ws, team="all").frame
    assert set(card["results_status"]) <= {"met", "no_data"}
