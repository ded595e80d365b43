"""Export: canonical tables as stored, the quarantine, and run tables, as CSV or Parquet."""

from __future__ import annotations

import textwrap

import pandas as pd
import pytest

from brightspots import schema
from brightspots.export import RAW_TABLES, ExportError, export_table, exportable_tables, table_frame
from brightspots.ingest import import_path
from brightspots.scorecard import SCORECARD_COLUMNS, scorecard_frame
from brightspots.workspace import Workspace, init_workspace


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_canonical_tables_export_as_stored(small_ws, tmp_path, fmt):
    with Workspace.open(small_ws) as ws:
        stored = ws.read("opportunities").sort_values("opportunity_id").reset_index(drop=True)
        n = export_table(ws, "opportunities", tmp_path / f"o.{fmt}", fmt=fmt)
    back = (
        pd.read_parquet(tmp_path / f"o.{fmt}")
        if fmt == "parquet"
        else pd.read_csv(tmp_path / f"o.{fmt}", parse_dates=["created_at", "closed_at"])
    )
    assert n == len(stored) == len(back)
    assert list(back.columns) == schema.table("opportunities").column_names
    assert back["opportunity_id"].tolist() == stored["opportunity_id"].tolist()
    pd.testing.assert_series_equal(back["amount"], stored["amount"], check_dtype=False)


def test_every_listed_table_exports(small_ws, tmp_path):
    with Workspace.open(small_ws) as ws:
        for name in exportable_tables():
            export_table(ws, name, tmp_path / f"{name}.csv", raw=name in RAW_TABLES)
            assert (tmp_path / f"{name}.csv").is_file()


def test_the_scorecard_exports_every_rep_and_team(small_ws, tmp_path):
    assert "scorecard" in exportable_tables()
    with Workspace.open(small_ws) as ws:
        n = export_table(ws, "scorecard", tmp_path / "s.parquet", fmt="parquet")
        expected = scorecard_frame(ws)
        run_id = ws.latest_run().run_id
        pd.testing.assert_frame_equal(table_frame(ws, "scorecard", run_id), expected)
        with pytest.raises(ExportError, match="--grain and --every apply to"):
            table_frame(ws, "scorecard", grain="rep")
        n_reps = ws.row_count("reps")
    got = pd.read_parquet(tmp_path / "s.parquet")
    assert n == len(got) == len(expected) and list(got.columns) == list(SCORECARD_COLUMNS)
    assert (got["level"] == "rep").sum() == n_reps


def test_raw_survey_answers_leave_only_on_purpose(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    files = {
        "reps.csv": "rep_id,name\nR1,Ann\nR2,Bob\n",
        "accounts.csv": "account_id,name,owner_rep_id\nA1,Acme,R1\n",
        "opportunities.csv": """\
            opportunity_id,account_id,owner_rep_id,created_at,closed_at,stage
            O1,A1,R1,2024-01-02,2024-02-01,won
            O2,A-404,R1,2024-01-02,2024-02-01,won
            """,
        "survey_responses.csv": """\
            response_id,survey,respondent_id,respondent_type,subject_rep_id,account_id,question_id,dimension,score,scale_min,scale_max,submitted_at,comment
            S1,onboarding,C1,customer,R1,A1,care_1,care,4,1,5,2024-03-01,Ann never calls back
            S2,onboarding,C1,customer,R1,A1,care_2,care,6,1,5,2024-03-01,
            """,
    }
    for name, text in files.items():
        (data / name).write_text(textwrap.dedent(text), encoding="utf-8")
    with init_workspace(tmp_path / "ws") as ws:
        import_path(ws, data)
        with pytest.raises(ExportError, match="survey_responses holds raw survey answers.*--raw"):
            export_table(ws, "survey_responses", tmp_path / "s.csv")
        assert not (tmp_path / "s.csv").exists()
        assert export_table(ws, "survey_responses", tmp_path / "s.csv", raw=True) == 1
        kept = table_frame(ws, "quarantine")
        every = table_frame(ws, "quarantine", raw=True)
        extra = table_frame(ws, "extra_columns")
        extra_raw = table_frame(ws, "extra_columns", raw=True)
    assert kept["table_name"].tolist() == ["opportunities"]  # the other tables' rows stay
    assert sorted(every["table_name"]) == ["opportunities", "survey_responses"]
    assert "survey_responses" not in set(extra["table_name"])
    assert "Ann never calls back" in " ".join(extra_raw["data"])


def test_unknown_table_and_format(small_ws, tmp_path):
    with Workspace.open(small_ws) as ws:
        with pytest.raises(ExportError, match="unknown table 'deals'"):
            export_table(ws, "deals", tmp_path / "x.csv")
        with pytest.raises(ExportError, match="unknown format 'xls'"):
            export_table(ws, "reps", tmp_path / "x.xls", fmt="xls")
    assert not (tmp_path / "x.csv").exists()


def test_bright_spots_has_rep_team_and_region_rows_and_deviance_per_outcome(small_ws, tmp_path):
    with Workspace.open(small_ws) as ws:
        export_table(ws, "bright_spots", tmp_path / "b.csv")
        export_table(ws, "deviance", tmp_path / "d.csv")
        n_reps = ws.row_count("reps")
        outcomes = ws.latest_run().diagnostics["outcomes"]
    b = pd.read_csv(tmp_path / "b.csv", keep_default_na=False)
    d = pd.read_csv(tmp_path / "d.csv", keep_default_na=False)
    assert set(b["level"]) == {"rep", "team", "region"}
    assert (b["level"] == "rep").sum() == n_reps
    assert not b.duplicated(["level", "unit_id"]).any()
    assert set(outcomes) == {"win_rate", "won_revenue", "buyer_impact"}
    assert len(d) == len(b) * len(outcomes)
    assert not d.duplicated(["level", "unit_id", "outcome"]).any()
    labelled = b[b["label"] != ""]
    assert labelled["outcome"].str.len().min() > 0
