"""One analysis run: what is stored, the amount fallback, windows, time zone, clear errors."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from brightspots import synth
from brightspots.analysis import BRIGHT_SPOT_COLUMNS, AnalysisError, analyze
from brightspots.casemix import CaseMixError
from brightspots.workspace import Workspace, init_workspace


@pytest.fixture(scope="module")
def org():
    return synth.generate(synth.SynthConfig(reps=30, months=12, seed=21))


def _workspace(path, org, **analysis) -> Workspace:
    ws = init_workspace(path)
    with ws.transaction() as con:
        for name, table in org.tables.items():
            con.register("_t", table)
            con.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM _t')
            con.unregister("_t")
    if analysis:
        cfg = ws.config
        cfg["analysis"].update(analysis)
        ws.save_config(cfg)
    return ws


def test_a_run_stores_every_result_table_and_diagnostics(tmp_path, org):
    with _workspace(tmp_path, org) as ws:
        run = analyze(ws, window="all")
        everything = ws.run_results("bright_spots")
        assert list(everything.columns[: len(BRIGHT_SPOT_COLUMNS)]) == BRIGHT_SPOT_COLUMNS
        assert set(everything["level"]) == {"rep", "team", "region"}
        teams = everything[everything["level"] == "team"]
        assert sorted(teams["unit_id"]) == sorted(set(org.tables["reps"]["team_id"].to_pylist()))
        assert teams["closed"].sum() == everything.loc[everything["level"] == "rep", "closed"].sum()
        table = everything[everything["level"] == "rep"]
        assert sorted(table["rep_id"]) == sorted(org.tables["reps"]["rep_id"].to_pylist())
        assert (table["unit_id"] == table["rep_id"]).all()
        closed = org.tables["opportunities"].to_pandas()
        closed = closed[closed["stage"].isin(["won", "lost"])]
        assert table["closed"].sum() == len(closed)
        assert table["observed"].sum() == (closed["stage"] == "won").sum()
        # maximum likelihood with an intercept: expected wins add up to observed wins
        assert table["expected"].sum() == pytest.approx(table["observed"].sum(), rel=1e-6)
        assert set(table["label"]) <= {"bright_spot", "candidate", ""}
        assert table["reason"].str.len().min() > 10
        lb = ws.run_results("raw_leaderboard")
        assert lb["rank"].tolist() == list(range(1, 11))
        assert lb["won_amount"].is_monotonic_decreasing
        per_outcome = ws.run_results("deviance")
        assert len(per_outcome) == len(everything) * 3  # win rate, won revenue, buyer impact
        revenue = per_outcome[
            (per_outcome["outcome"] == "won_revenue") & (per_outcome["level"] == "rep")
        ]
        # revenue expectations are calibrated to the booked total (up to deals without an amount)
        assert revenue["expected"].sum() == pytest.approx(revenue["observed"].sum(), rel=0.1)
        touches = per_outcome[
            (per_outcome["outcome"] == "buyer_impact") & (per_outcome["level"] == "rep")
        ]
        # one case per settled touch: as many as the effort table counts impact and dark
        # touches older than dark_after; expected impact adds up to observed (intercept)
        assert touches["expected"].sum() == pytest.approx(touches["observed"].sum(), rel=1e-6)
        impact_notes = run.diagnostics["buyer_impact"]
        assert touches["n"].sum() == impact_notes["n_touches"]
        assert touches["observed"].sum() == impact_notes["touches_with_impact"]
        assert impact_notes["design_effect"]["rep"] >= 1.0
        assert "deal_size" not in impact_notes["covariates"]
        cal = ws.run_results("calibration")
        assert cal["decile"].tolist() == list(range(1, 11)) and cal["n"].sum() == len(closed)
        assert not ws.run_results("funnel_curve").empty
        d = ws.latest_run().diagnostics
        assert d == run.diagnostics or d["auc"] == pytest.approx(run.diagnostics["auc"])
        assert 0.5 < d["auc"] < 1 and d["amount_column"] == "initial_amount"
        assert d["warnings"] == []
        assert ws.latest_run().fingerprint == ws.fingerprint()


def test_settled_touches_match_the_effort_table(tmp_path, org):
    # the buyer-impact cases are the touches whose outcome is final: every touch at least
    # dark_after old at the data's as-of time, with impact when the effort table says so
    with _workspace(tmp_path, org, window="all", team_window="all") as ws:
        run = analyze(ws)
        effort = ws.run_results("effort_impact")
        days = effort[(effort["grain"] == "rep") & (effort["every"] == "day")]
        notes = run.diagnostics["buyer_impact"]
        cutoff = pd.Timestamp(notes["as_of"]) - pd.Timedelta(days=30)
        day = pd.to_datetime(days["period"])
        before, upto = days[day < cutoff.floor("D")], days[day <= cutoff.floor("D")]
        assert before["touches"].sum() <= notes["n_touches"] <= upto["touches"].sum()
        low, high = before["touches_with_impact"].sum(), upto["touches_with_impact"].sum()
        assert low <= notes["touches_with_impact"] <= high
        assert before["touches_pending"].sum() == 0  # a settled touch is never pending
        exact = (
            ws.duckdb()
            .execute(
                "SELECT count(*) FROM activities WHERE NOT coalesce(is_bulk, false) "
                "AND occurred_at <= ?",
                [cutoff.to_pydatetime()],
            )
            .fetchone()[0]
        )
        assert notes["n_touches"] == exact


def test_buyer_impact_is_skipped_with_a_warning_without_activities(tmp_path, org):
    with _workspace(tmp_path, org) as ws:
        with ws.transaction() as con:
            con.execute("DELETE FROM activities")
            con.execute("DELETE FROM buyer_events")
        run = analyze(ws, practices=False)
        assert "buyer_impact" not in run.diagnostics["outcomes"]
        assert any("Buyer impact was not assessed" in w for w in run.diagnostics["warnings"])
        assert set(ws.run_results("deviance")["outcome"]) == {"win_rate", "won_revenue"}


def test_bright_spots_only_leaves_out_the_plan_and_care_and_changes_no_figure(tmp_path, org):
    # what scoring bright spots needs (evaluate's bright-spots-only runs): the same bright
    # spots, no key-account plan or care rows, and notes that say why
    with _workspace(tmp_path, org) as ws:
        whole = analyze(ws, practices=False)
        only = analyze(ws, practices=False, accounts_and_care=False)
        pd.testing.assert_frame_equal(
            ws.run_results("bright_spots", only.run_id),
            ws.run_results("bright_spots", whole.run_id),
        )
        assert len(ws.run_results("account_plan", whole.run_id)) > 0
        assert ws.run_results("account_plan", only.run_id).empty
        assert ws.run_results("effort_allocation", only.run_id).empty
        for key in ("plan", "care"):
            assert only.diagnostics[key] == {
                "note": "not computed: this run was asked for bright spots only"
            }


def test_without_amount_at_creation_the_current_amount_is_used_with_a_warning(tmp_path, org):
    with _workspace(tmp_path, org) as ws:
        with ws.transaction() as con:
            con.execute("UPDATE opportunities SET initial_amount = NULL")
        run = analyze(ws)
        assert run.diagnostics["amount_column"] == "amount"
        assert any("current amount was used" in w for w in run.diagnostics["warnings"])


def test_amount_fallback_drop_leaves_deal_size_out(tmp_path, org):
    with _workspace(tmp_path, org, amount_fallback="drop") as ws:
        with ws.transaction() as con:
            con.execute("UPDATE opportunities SET initial_amount = NULL")
        run = analyze(ws)
        assert run.diagnostics["amount_column"] is None
        assert "deal_size" not in run.diagnostics["covariates"]
        terms = ws.run_results("case_mix_coefficients")["term"]
        assert not terms.str.startswith("deal_size").any()


def test_window_months_keeps_recent_closes_only(tmp_path, org):
    with _workspace(tmp_path / "all", org, window="all") as ws:
        everything = analyze(ws).diagnostics["n_cases"]
    with _workspace(tmp_path / "six", org, window="6m") as ws:
        recent = analyze(ws).diagnostics["n_cases"]
    assert 0 < recent < everything


def test_time_zone_moves_closes_between_months(tmp_path, org):
    with _workspace(tmp_path / "utc", org) as ws:
        utc = ws.run_results("bright_spots", analyze(ws).run_id).set_index("rep_id")
    with _workspace(tmp_path / "tokyo", org) as ws:
        cfg = ws.config
        cfg["workspace"]["timezone"] = "Asia/Tokyo"
        ws.save_config(cfg)
        tokyo = ws.run_results("bright_spots", analyze(ws).run_id).set_index("rep_id")
    assert (utc["observed_odd"] != tokyo["observed_odd"]).any()
    np.testing.assert_array_equal(utc["observed"], tokyo["observed"])


def test_forbidden_covariate_in_config_is_refused(tmp_path, org):
    with (
        _workspace(tmp_path, org, covariates=["segment", "stage"]) as ws,
        pytest.raises(CaseMixError, match="'stage' is an outcome"),
    ):
        analyze(ws)


def test_empty_workspace_says_what_to_import(tmp_path):
    with init_workspace(tmp_path) as ws, pytest.raises(AnalysisError, match="no reps: import"):
        analyze(ws)


def test_two_runs_on_one_open_workspace(tmp_path, org):
    # every query result is fetched to the end (DuckDB 2 refuses new work on a connection with
    # an unfinished result)
    with _workspace(tmp_path, org) as ws:
        first = analyze(ws)
        second = analyze(ws, window="90d")
        assert [r.run_id for r in ws.runs()] == [first.run_id, second.run_id]
        assert second.diagnostics["window"] == "90d"


def test_running_out_of_memory_names_the_step_and_setting_and_keeps_the_last_run(tmp_path, org):
    with _workspace(tmp_path, org) as ws:
        first = analyze(ws)
    ws.update_config({"duckdb": {"memory_limit": "4MB", "threads": 1}})
    with pytest.raises(AnalysisError) as got:
        analyze(Workspace.open(tmp_path))
    said = str(got.value)
    assert "the analysis stopped at step 'preparing'" in said
    assert "DuckDB ran out of memory (memory_limit: 4MB)" in said
    assert f"Raise [duckdb] memory_limit in {tmp_path / 'brightspots.toml'}" in said
    assert "threads = 1" not in said  # already one thread: nothing to suggest
    assert "Nothing of it was stored: the workspace is as it was before it" in said
    ws.update_config({"duckdb": {"memory_limit": ""}})
    assert [r.run_id for r in Workspace.open(tmp_path).runs()] == [first.run_id]


def test_a_full_spill_disk_while_saving_is_named_and_nothing_is_stored(tmp_path, org, monkeypatch):
    with _workspace(tmp_path, org) as ws:
        first = analyze(ws)
        ws.update_config({"duckdb": {"temp_directory": "spill"}})

        def full_disk(*args, **kwargs):
            raise duckdb.IOException(
                'IO Error: Could not write file "spill/duckdb_temp_storage-0.tmp": '
                "No space left on device"
            )

        monkeypatch.setattr(Workspace, "_insert_result", full_disk)
        with pytest.raises(AnalysisError) as got:
            analyze(ws)
        monkeypatch.undo()
        said = str(got.value)
        assert "the analysis stopped at step 'saving the run'" in said
        assert f"the disk DuckDB spills to ({tmp_path / 'spill'}) is full" in said
        assert "GiB free now" in said and "No space left on device" in said
        assert "point [duckdb] temp_directory" in said and "Nothing of it was stored" in said
        assert [r.run_id for r in ws.runs()] == [first.run_id]


def test_other_engine_errors_pass_through_unchanged(tmp_path, org, monkeypatch):
    with _workspace(tmp_path, org) as ws:

        def broken(*args, **kwargs):
            raise duckdb.IOException("IO Error: Cannot open file: permission denied")

        monkeypatch.setattr(Workspace, "_insert_result", broken)
        with pytest.raises(duckdb.IOException, match="permission denied"):
            analyze(ws)


def test_temp_directory_setting_is_where_duckdb_spills(tmp_path):
    ws = init_workspace(tmp_path)
    assert ws.spill_folder() == ws.db_path.with_name(ws.db_path.name + ".tmp")
    ws.update_config({"duckdb": {"temp_directory": "spill's place"}})
    ws = Workspace.open(tmp_path)
    assert ws.spill_folder() == tmp_path / "spill's place"
    (got,) = ws.duckdb().execute("SELECT current_setting('temp_directory')").fetchone()
    assert got == str(tmp_path / "spill's place")
