"""The care tables of a run: what the small workspace stores, the anonymity rules over the linked
tables, and a workspace without survey answers (empty tables with their columns and types)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from brightspots import synth
from brightspots.analysis import analyze
from brightspots.care import index as index_mod
from brightspots.care.config import CareConfigError, CareSettings
from brightspots.care.run import TABLES, care_tables
from brightspots.export import exportable_tables, table_frame
from brightspots.workspace import Workspace, init_workspace

K = 5


def test_small_ws_stores_the_care_tables(small_ws):
    ws = Workspace.open(small_ws)
    run = ws.latest_run()
    for name, columns in TABLES.items():
        assert name in exportable_tables()
        assert list(table_frame(ws, name).columns) == list(columns)
    care = ws.run_results("care_index")
    assert set(care["level"]) == {"rep", "leader", "team", "company"}
    assert set(care["source"]) == {"customer", "employee"}
    hidden = care[care["suppressed"]]
    shown = care[~care["suppressed"]]
    assert len(hidden) > 0 and len(shown) > 0
    # nothing about fewer than min_respondents is stored: every figure of a hidden row is NULL
    for column in [*index_mod.INDEX_VALUES, "responses", "respondents"]:
        assert hidden[column].isna().all(), column
    assert hidden["reason"].str.contains("not shown|Not shown").all()
    assert (shown["respondents"] >= K).all()
    assert shown["mean"].between(0, 1).all() and shown["reason"].str.len().min() > 20
    assert (shown["lower_95"] <= shown["mean"]).all() and (shown["mean"] <= shown["upper_95"]).all()
    # reps and teams are read against the company's mean of the same source
    company = care[care["level"] == "company"].set_index("source")["mean"]
    for source, mu in company.items():
        rows = shown[shown["level"].isin(["rep", "team"]) & (shown["source"] == source)]
        assert np.allclose(rows["reference"], mu)
    assert set(care["label"].dropna()) <= {"bright_spot", "candidate", ""}
    assert care["window_end"].nunique() == 1

    trend = ws.run_results("care_trend")
    assert trend["period"].str.fullmatch(r"\d{4}-Q[1-4]").all()
    assert trend["period"].nunique() <= 6
    assert trend.loc[trend["suppressed"], ["mean", "respondents"]].isna().all().all()
    assert (trend.loc[~trend["suppressed"], "respondents"] >= K).all()

    reliability = ws.run_results("care_reliability").set_index("source")
    # named customers answer several care items: their alpha; the pulse is anonymous: none
    assert reliability.loc["customer", "n_items"] >= 2
    assert np.isfinite(reliability.loc["customer", "alpha"])
    assert "no respondent ids" in reliability.loc["employee", "note"]

    results = ws.run_results("care_results")
    assert results["outcome"].tolist() == ["repeat_12m", "repeat_deals_12m", "account_win_rate"]
    assert results["sentence"].str.len().min() > 20

    notes = run.diagnostics["care"]
    assert notes["min_respondents"] == K and notes["window"] == "12m"
    assert {"rep_customer", "team_customer", "leader_employee"} <= set(notes["levels"])
    assert notes["n_bright_spots"] == int((care["label"] == "bright_spot").sum())


def cells(rows: list[tuple], source: str = "customer") -> pd.DataFrame:
    """Index rows (level, unit_id, team_id, respondents, mean) of one source."""
    frame = pd.DataFrame(rows, columns=["level", "unit_id", "team_id", "respondents", "mean"])
    return frame.assign(source=source, responses=frame["respondents"], label="", reason="ok")


def trend(rows: list[tuple], source: str = "customer") -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["level", "unit_id", "period", "respondents", "mean"])
    return frame.assign(source=source, responses=frame["respondents"])


def test_protect_hides_complements_across_the_linked_tables():
    index = pd.concat(
        [
            cells(
                [
                    ("company", "company", None, 48, 0.6),
                    ("team", "T1", "T1", 28, 0.6),
                    ("team", "T2", "T2", 20, 0.6),
                    ("rep", "R1", "T1", 3, 0.9),  # below k
                    ("rep", "R2", "T1", 8, 0.5),  # its complement (the fewest shown)
                    ("rep", "R3", "T1", 17, 0.5),
                    ("rep", "R4", "T2", 20, 0.6),
                ]
            ),
            cells(
                [
                    ("company", "company", None, 30, 0.5),
                    ("team", "T1", "T1", 12, 0.5),
                    ("team", "T2", "T2", 18, 0.5),
                    ("rep", "M1", "T1", 9, 0.5),  # the complement of R5 ...
                    ("rep", "R5", "T1", 3, 0.5),
                    ("leader", "M1", "T1", 9, 0.5),  # ... hides the same person as a leader,
                    ("rep", "M2", "T2", 18, 0.5),
                    ("leader", "M2", "T2", 18, 0.5),  # and the other leader: the leaders' mean
                    (index_mod.LEADERS, index_mod.LEADERS, None, 27, 0.5),  # is their reference
                ],
                source="employee",
            ),
        ],
        ignore_index=True,
    )
    quarters = trend(
        [
            ("company", "company", "2026-Q1", 20, 0.6),
            ("company", "company", "2026-Q2", 28, 0.6),
            ("team", "T1", "2026-Q1", 10, 0.6),
            ("team", "T1", "2026-Q2", 18, 0.6),
            ("team", "T2", "2026-Q1", 10, 0.6),
            ("team", "T2", "2026-Q2", 10, 0.6),
            ("rep", "R1", "2026-Q1", 2, 0.9),
            ("rep", "R1", "2026-Q2", 1, 0.9),
            ("rep", "R2", "2026-Q1", 4, 0.5),
            ("rep", "R2", "2026-Q2", 4, 0.5),
            ("rep", "R3", "2026-Q1", 4, 0.4),  # below k: hidden ...
            ("rep", "R3", "2026-Q2", 13, 0.6),  # ... and its complement within R3's window
            ("rep", "R4", "2026-Q1", 10, 0.6),
            ("rep", "R4", "2026-Q2", 10, 0.6),
        ]
    )
    reliab = pd.DataFrame(
        [("customer", "S", "q1;q2", 2, 3, 0.8, 0.3, "", 3)],
        columns=list(index_mod.RELIABILITY_COLUMNS[:9]),
    )
    got_index, got_trend, got_rel = index_mod.protect(index, quarters, reliab, k=K)
    hidden = got_index.set_index(["level", "unit_id", "source"])["suppressed"].to_dict()
    customer = {u for (lv, u, s), h in hidden.items() if s == "customer" and h}
    assert customer == {"R1", "R2"}
    employee = {(lv, u) for (lv, u, s), h in hidden.items() if s == "employee" and h}
    assert ("rep", "R5") in employee and ("rep", "M1") in employee
    assert ("leader", "M1") in employee and ("leader", "M2") in employee
    assert ("rep", "M2") in employee  # the same person as leader M2
    assert ("company", "company") not in employee
    assert index_mod.LEADERS not in set(got_index["level"])
    r2 = got_index[got_index["unit_id"] == "R2"].iloc[0]
    assert pd.isna(r2["mean"]) and pd.isna(r2["respondents"]) and pd.isna(r2["responses"])
    assert "by subtraction" in r2["reason"]
    r1 = got_index[got_index["unit_id"] == "R1"].iloc[0]
    assert r1["reason"] == f"Fewer than {K} respondents: not shown, to protect their anonymity."
    shown = got_index[~got_index["suppressed"]]
    assert shown["reason"].eq("ok").all() and shown["respondents"].notna().all()

    q = got_trend.set_index(["level", "unit_id", "period"])["suppressed"]
    assert set(q[q].index) == {
        ("rep", "R1", "2026-Q1"),
        ("rep", "R1", "2026-Q2"),
        ("rep", "R2", "2026-Q1"),
        ("rep", "R2", "2026-Q2"),
        ("rep", "R3", "2026-Q1"),
        ("rep", "R3", "2026-Q2"),
    }
    assert got_trend.loc[got_trend["suppressed"], "mean"].isna().all()
    assert list(got_trend.columns) == list(index_mod.TREND_COLUMNS)

    assert got_rel["suppressed"].tolist() == [True] and got_rel["alpha"].isna().all()

    # a hidden quarter that is its team's only part hides the team's quarter too
    alone = quarters[~quarters["unit_id"].isin(["R1", "R2"])]
    _, alone_trend, _ = index_mod.protect(index, alone, reliab, k=K)
    t1 = alone_trend.set_index(["level", "unit_id", "period"])["suppressed"]
    assert t1[("team", "T1", "2026-Q1")]

    # a hidden reference hides every row read against it
    few = index.copy()
    few.loc[few["level"] == index_mod.LEADERS, "respondents"] = 4
    few_index, _, _ = index_mod.protect(few, quarters.iloc[:0], reliab.iloc[:0], k=K)
    leaders = few_index[few_index["level"] == "leader"]
    assert leaders["suppressed"].all() and leaders["reference"].isna().all()


def test_without_survey_answers_the_run_stores_empty_care_tables(tmp_path):
    org = synth.generate(synth.SynthConfig(reps=12, months=6, seed=21))
    ws = init_workspace(tmp_path / "ws")
    with ws.transaction() as con:
        for name, table in org.tables.items():
            if name != "survey_responses":
                con.register("_t", table)
                con.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM _t')
                con.unregister("_t")
    with ws:
        run = analyze(ws, practices=False)
        assert run.diagnostics["care"]["note"].startswith("No survey answers")
        for name, columns in TABLES.items():
            got = ws.run_results(name)
            assert got.empty and list(got.columns) == list(columns)
            kinds = {r[1] for r in ws.duckdb().execute(f'DESCRIBE "{name}"').fetchall()}
            assert '"NULL"' not in kinds and "NULL" not in kinds  # typed, not empty columns

        # the next run with answers appends to the same tables: types hold
        with ws.transaction() as con:
            con.register("_t", org.tables["survey_responses"])
            con.execute('INSERT INTO "survey_responses" BY NAME SELECT * FROM _t')
            con.unregister("_t")
        with ws.writing():
            later = ws.new_run(fingerprint=ws.fingerprint())
            care = care_tables(
                ws, settings=CareSettings(), as_of=pd.Timestamp("2030-01-01"), local=lambda t: t
            )
            ws.save_run(later, care.tables)
        stored = ws.run_results("care_index", later.run_id)
        assert len(stored) > 0 and stored["mean"].dtype == float
        assert stored["level"].isin(["rep", "leader", "team", "company"]).all()


@pytest.mark.parametrize(
    ("care", "message"),
    [
        ({"min_respondents": 2}, "min_respondents = 2"),
        ({"min_respondents": 4.5}, "whole number of at least 3"),
        ({"window": "soon"}, "window"),
        ({"reverse_items": "q1"}, "must be a list"),
        ({"min_volume": 0}, "min_volume"),
    ],
)
def test_bad_care_settings_are_refused(care, message):
    with pytest.raises(CareConfigError, match=re.escape(message)):
        CareSettings.from_config({"care": care})


def test_default_config_has_the_care_sections():
    from brightspots.workspace import DEFAULT_CONFIG

    settings = CareSettings.from_config(DEFAULT_CONFIG)
    assert settings == CareSettings()
    assert DEFAULT_CONFIG["brief"]["max_stories"] == 3
    assert DEFAULT_CONFIG["stories"]["approval"] == "auto"
    assert sum(DEFAULT_CONFIG["scorecard"]["weights"].values()) == pytest.approx(1.0)
    assert set(DEFAULT_CONFIG["scorecard"]["targets"]) == set(
        DEFAULT_CONFIG["scorecard"]["components"]
    )
