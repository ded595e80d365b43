"""The workspace store: init, config, transactions, runs and result tables."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from brightspots import schema
from brightspots.workspace import Workspace, WorkspaceError, init_workspace


def test_init_creates_config_and_every_canonical_table(tmp_path):
    with init_workspace(tmp_path / "ws") as ws:
        assert (tmp_path / "ws" / "brightspots.toml").is_file()
        for t in schema.TABLES:
            assert ws.row_count(t.name) == 0
            cols = [r[0] for r in ws.duckdb().execute(f'DESCRIBE "{t.name}"').fetchall()]
            assert cols == t.column_names
        assert ws.config["analysis"]["min_volume"] == 20


def test_init_refuses_an_existing_workspace(tmp_path):
    init_workspace(tmp_path).close()
    with pytest.raises(WorkspaceError, match="already a workspace"):
        init_workspace(tmp_path)


def test_open_a_folder_that_is_not_a_workspace(tmp_path):
    with pytest.raises(WorkspaceError, match="not a workspace .*brightspots init"):
        Workspace.open(tmp_path)


def test_bad_config_is_named(tmp_path):
    init_workspace(tmp_path).close()
    (tmp_path / "brightspots.toml").write_text("[workspace\nengine=")
    with pytest.raises(WorkspaceError, match="brightspots.toml: not valid TOML"):
        Workspace.open(tmp_path)
    (tmp_path / "brightspots.toml").write_text('[workspace]\nengine = "oracle"\n')
    with pytest.raises(WorkspaceError, match="engine = 'oracle'"):
        Workspace.open(tmp_path)


def test_user_config_overrides_defaults_and_keeps_the_rest(tmp_path):
    init_workspace(tmp_path).close()
    (tmp_path / "brightspots.toml").write_text("[analysis]\nmin_volume = 35\n")
    ws = Workspace.open(tmp_path)
    assert ws.config["analysis"]["min_volume"] == 35
    assert ws.config["analysis"]["pool_min_cases"] == 30
    assert ws.engine == "duckdb"
    assert Workspace.open(tmp_path, engine="spark").engine == "spark"


def test_transaction_rolls_back_everything_on_error(tmp_path):
    with init_workspace(tmp_path) as ws:
        before = ws.fingerprint()
        with pytest.raises(RuntimeError), ws.transaction() as con:
            con.execute("INSERT INTO teams VALUES ('t1', 'Team 1', NULL)")
            raise RuntimeError("boom")
        assert ws.row_count("teams") == 0
        assert ws.fingerprint() == before
        with ws.transaction() as con:
            con.execute("INSERT INTO teams VALUES ('t1', 'Team 1', NULL)")
        assert ws.fingerprint() != before


def test_runs_keep_every_result_and_columns_only_grow(tmp_path):
    with init_workspace(tmp_path) as ws:
        r1 = ws.new_run(fingerprint="a")
        ws.save_run(r1, {"bright_spots": pd.DataFrame({"rep_id": ["r1"], "oe": [1.5]})})
        r2 = ws.new_run(fingerprint="b")
        r2.diagnostics = {"auc": 0.7}
        ws.save_run(
            r2, {"bright_spots": pd.DataFrame({"rep_id": ["r2"], "oe": [0.9], "extra": ["x"]})}
        )
        assert [r.run_id for r in ws.runs()] == [r1.run_id, r2.run_id]
        assert ws.latest_run().diagnostics == {"auc": 0.7}
        # one run by its id (the latest for None), None for an unknown id
        found, latest = ws.find_run(r1.run_id), ws.find_run(None)
        assert found is not None and found.run_id == r1.run_id
        assert latest is not None and latest.run_id == r2.run_id
        assert ws.find_run("R-nope") is None
        latest = ws.run_results("bright_spots")
        assert list(latest.columns) == ["rep_id", "oe", "extra"]
        assert latest["rep_id"].tolist() == ["r2"]
        first = ws.run_results("bright_spots", r1.run_id)
        assert first["rep_id"].tolist() == ["r1"] and pd.isna(first["extra"].iloc[0])


def test_no_run_yet_is_a_clear_error(tmp_path):
    with init_workspace(tmp_path) as ws:
        for latest in (ws.latest_run, lambda: ws.find_run(None)):
            with pytest.raises(WorkspaceError, match="no analysis run"):
                latest()


def test_an_ibis_result_is_stored_from_the_engine_like_a_frame(small_ws, tmp_path):
    import shutil

    root = tmp_path / "ws"
    shutil.copytree(small_ws, root)
    with Workspace.open(root) as ws:
        reps = ws.table("reps")
        expr = reps.group_by("team_id").agg(n=reps.count()).order_by("team_id")
        run = ws.new_run(fingerprint=ws.fingerprint())
        ws.save_run(run, {"team_sizes": expr, "frame": pd.DataFrame({"x": [1, 2]})})
        got = ws.run_results("team_sizes", run.run_id).sort_values("team_id")
        want = ws.read("reps").groupby("team_id").size()
        assert got.set_index("team_id")["n"].to_dict() == want.to_dict()
        # a later run whose expression brings a new column adds it; old rows read as empty
        run2 = ws.new_run(fingerprint=ws.fingerprint())
        ws.save_run(run2, {"team_sizes": expr.mutate(half=expr.n / 2)})
        assert ws.run_results("team_sizes", run.run_id)["half"].isna().all()
        assert (ws.run_results("team_sizes", run2.run_id)["half"] > 0).all()
        # a failing result leaves no run and no rows behind (one transaction)
        run3 = ws.new_run(fingerprint=ws.fingerprint())
        bad = reps.select(n=reps.rep_id.cast("int64"))  # rep ids are not numbers
        with pytest.raises(duckdb.ConversionException):
            ws.save_run(run3, {"frame": pd.DataFrame({"x": [3]}), "team_sizes": bad})
        assert run3.run_id not in {r.run_id for r in ws.runs()}
        assert len(ws.read("frame")) == 2


def _effort(keys: list[tuple[str, int]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "grain": "rep",
            "every": "day",
            "unit_id": [k for k, _ in keys],
            "period": pd.Timestamp("2026-01-05"),
            "touches": [v for _, v in keys],
        }
    )


def test_layered_runs_read_per_key_their_newest_version(tmp_path):
    from brightspots.workspace import Layer

    def save(ws, result, layers=("effort_impact",)):
        run = ws.new_run(fingerprint="x")
        run.diagnostics = {"layers": list(layers)}
        ws.save_run(run, {"effort_impact": result} if result is not None else {})
        return run.run_id

    def read(ws, run_id):
        df = ws.run_results("effort_impact", run_id).sort_values("unit_id")
        return dict(zip(df["unit_id"], df["touches"], strict=True))

    with init_workspace(tmp_path) as ws:
        # two runs stored whole, the way runs were stored before layers
        legacy1 = ws.new_run(fingerprint="x")
        ws.save_run(legacy1, {"effort_impact": _effort([("a", 1), ("b", 1)])})
        legacy2 = ws.new_run(fingerprint="x")
        ws.save_run(legacy2, {"effort_impact": _effort([("a", 2)])})
        assert read(ws, legacy1.run_id) == {"a": 1, "b": 1}
        # a full layer replaces every key; a partial one only its keys
        full = save(ws, Layer(rows=[_effort([("a", 3), ("b", 3), ("c", 3)])]))
        with ws.transaction() as con:
            con.execute(
                "CREATE TABLE changed AS SELECT 'rep' AS grain, 'day' AS every, unit_id, "
                "DATE '2026-01-05' AS period FROM (VALUES ('b'), ('c')) AS v(unit_id)"
            )
        partial = save(ws, Layer(rows=[_effort([("b", 4)])], replaces="changed"))
        without = save(ws, None, layers=())  # a run that stored no effort rows
        assert read(ws, legacy1.run_id) == {"a": 1, "b": 1}
        assert read(ws, legacy2.run_id) == {"a": 2}
        assert read(ws, full) == {"a": 3, "b": 3, "c": 3}
        assert read(ws, partial) == {"a": 3, "b": 4}  # c is gone, a is the full run's
        assert read(ws, without) == {}
        got = ws.run_rows("effort_impact", partial, where="unit_id = ?", params=["b"])
        assert got["touches"].tolist() == [4] and "replaced_by" not in got.columns


def test_a_table_stored_by_an_earlier_version_gets_the_contracts_newer_columns(tmp_path):
    """A workspace whose ``stories`` predates ``status``: readers see the column (empty), and the
    next write adds it, so an import of stories with a status works."""
    with init_workspace(tmp_path / "ws") as ws:
        with ws.transaction() as con:
            con.execute("INSERT INTO reps (rep_id, name) VALUES ('R1', 'Ann')")
            con.execute(
                "INSERT INTO stories (story_id, rep_id, title, body, created_at) "
                "VALUES ('S1', 'R1', 't', 'b', TIMESTAMP '2026-01-02')"
            )
            con.execute('ALTER TABLE stories DROP COLUMN "status"')
    reader = Workspace.open(tmp_path / "ws")
    got = reader.execute(reader.table("stories"))
    assert list(got.columns) == schema.table("stories").column_names
    assert got["story_id"].tolist() == ["S1"] and got["status"].isna().all()
    with reader.transaction() as con:
        con.execute("UPDATE stories SET status = 'approved'")
    again = Workspace.open(tmp_path / "ws")
    cols = [r[0] for r in again.duckdb().execute('DESCRIBE "stories"').fetchall()]
    assert cols == schema.table("stories").column_names
    assert again.execute(again.table("stories"))["status"].tolist() == ["approved"]
