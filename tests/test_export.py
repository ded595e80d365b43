"""Export: canonical tables as stored, the quarantine, and run tables, as CSV or Parquet."""

from __future__ import annotations

import pandas as pd
import pytest

from brightspots import schema
from brightspots.export import ExportError, export_table, exportable_tables
from brightspots.workspace import Workspace


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
            export_table(ws, name, tmp_path / f"{name}.csv")
            assert (tmp_path / f"{name}.csv").is_file()


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
