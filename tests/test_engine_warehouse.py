"""Engine "warehouse": the canonical tables live in a database Ibis connects to (a real PostgreSQL
server started for the session, and a second DuckDB file); the analysis runs there and the run
is stored in the workspace, with the same numbers as the workspace's own DuckDB run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import ibis
import numpy as np
import pandas as pd
import pytest

from brightspots import deviance, schema
from brightspots.analysis import analyze
from brightspots.workspace import Workspace, WorkspaceError, init_workspace

PASSWORD = "s3cret-pw"  # the server trusts every local connection: any password is accepted
COMPARED = ("closed", "observed", "expected", "oe", *deviance.LIMIT_COLUMNS, "z_od")
EFFECTS = ("n", "odds_ratio", "or_low", "or_high", "whole_deal_odds_ratio", "smd")
COUNTS = ("touches", "touches_with_impact", "touches_in_dark", "buyer_events")


def _url(server: str, database: str, password: str | None = None) -> str:
    parts = urlsplit(server)
    user = f"{parts.username}:{password}" if password else parts.username
    netloc = f"{user}@{parts.hostname}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, f"/{database}", "", ""))


@pytest.fixture(scope="module")
def warehouse(postgres) -> str:
    """A database of its own on the session's server, with a linguistic (ICU) collation as
    warehouses often have (strings do not sort byte-wise there): its URL, with a password."""
    import psycopg

    with psycopg.connect(postgres, autocommit=True) as con:
        con.execute("DROP DATABASE IF EXISTS bs_warehouse")
        con.execute(
            "CREATE DATABASE bs_warehouse TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
        )
    return _url(postgres, "bs_warehouse", PASSWORD)


def _sql(url: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(_url(url, urlsplit(url).path.lstrip("/")), autocommit=True) as con:
        for s in statements:
            con.execute(s)


def _copy_canonical(small_ws: Path, root: Path) -> dict[str, pd.DataFrame]:
    """Copy ``small_ws`` to ``root``, return its canonical tables and empty them in the copy:
    a run on the warehouse engine can only have read the warehouse."""
    shutil.copytree(small_ws, root)
    with Workspace.open(root) as ws:
        frames = {t.name: ws.read(t.name) for t in schema.TABLES}
        with ws.transaction() as con:
            for t in schema.TABLES:
                con.execute(f'DELETE FROM "{t.name}"')
        assert all(ws.row_count(t.name) == 0 for t in schema.TABLES)
    return frames


#: the contract's types as a Postgres table declares them (the README's table layout)
PG_TYPES = {
    schema.ColumnType.STRING: "text",
    schema.ColumnType.INT: "bigint",
    schema.ColumnType.FLOAT: "double precision",
    schema.ColumnType.MONEY: "double precision",
    schema.ColumnType.BOOL: "boolean",
    schema.ColumnType.DATE: "date",
    schema.ColumnType.TIMESTAMP: "timestamp",
}


def _load(url: str, where: str, frames: dict[str, pd.DataFrame]) -> None:
    """Create the contract's tables in schema ``where``, copy ``frames`` into them (CSV: an
    empty field is NULL; the store keeps no empty strings) and analyse them."""
    import psycopg

    with psycopg.connect(_url(url, urlsplit(url).path.lstrip("/")), autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {where}")
        for t in schema.TABLES:
            cols = ", ".join(
                f"{c.name} {PG_TYPES[c.type]}{'' if c.nullable else ' NOT NULL'}" for c in t.columns
            )
            con.execute(f"CREATE TABLE {where}.{t.name} ({cols}, PRIMARY KEY ({t.key}))")
            text = frames[t.name][t.column_names].to_csv(index=False, header=False)
            with con.cursor().copy(f"COPY {where}.{t.name} FROM STDIN (FORMAT csv)") as copy:
                copy.write(text)
            # statistics, as a loaded warehouse has them (autovacuum takes a minute): planned
            # without them, one query of the brief took minutes instead of a second
            con.execute(f"ANALYZE {where}.{t.name}")


def _results_bright_spots(ws: Workspace, run_id: str) -> pd.DataFrame:
    table = ws.run_results("bright_spots", run_id)
    return table.sort_values(["level", "unit_id"]).reset_index(drop=True)


def _results(ws: Workspace, run_id: str) -> dict[str, pd.DataFrame]:
    effort = ws.run_results("effort_impact", run_id)
    return {
        "bright_spots": _results_bright_spots(ws, run_id),
        "practice_effects": ws.run_results("practice_effects", run_id).set_index("practice"),
        "effort_impact": effort.sort_values(["grain", "every", "unit_id", "period"]).reset_index(
            drop=True
        ),
    }


def _assert_same(want: dict[str, pd.DataFrame], got: dict[str, pd.DataFrame]) -> None:
    a, b = want["bright_spots"], got["bright_spots"]
    assert a[["level", "unit_id"]].equals(b[["level", "unit_id"]]) and len(a) == 45
    for col in COMPARED:
        np.testing.assert_allclose(
            a[col].to_numpy(float), b[col].to_numpy(float), rtol=0, atol=1e-9, err_msg=col
        )
    assert a["label"].tolist() == b["label"].tolist()
    assert a["label"].isin(["bright_spot", "candidate"]).any()  # something to agree on
    e, f = want["practice_effects"], got["practice_effects"]
    assert sorted(e.index) == sorted(f.index) and len(e) >= 10
    f = f.loc[e.index]
    for col in EFFECTS:
        np.testing.assert_allclose(
            e[col].to_numpy(float), f[col].to_numpy(float), rtol=1e-9, equal_nan=True, err_msg=col
        )
    de, dg = want["effort_impact"], got["effort_impact"]
    assert len(de) > 1000 and len(de) == len(dg)
    assert de[["grain", "every", "unit_id", "period"]].equals(
        dg[["grain", "every", "unit_id", "period"]]
    )
    for col in COUNTS:
        assert de[col].tolist() == dg[col].tolist(), col


def test_an_analysis_on_postgres_equals_the_duckdb_run(small_ws, warehouse, tmp_path):
    from brightspots.brief import build

    root = tmp_path / "ws"
    with Workspace.open(small_ws) as ws:  # small_ws's own analysis of the same data
        duck_run = ws.latest_run()
        assert duck_run.engine == "duckdb"
        duck = _results(ws, duck_run.run_id)
        duck_brief = build(ws, "all", "2026-Q3")
    frames = _copy_canonical(small_ws, root)
    _load(warehouse, "crm", frames)  # the one-time layout: the contract's tables, in a schema

    Workspace.open(root).update_config(
        {"workspace": {"engine": "warehouse"}, "warehouse": {"url": warehouse, "schema": "crm"}}
    )
    with Workspace.open(root) as ws:
        assert ws.engine == "warehouse"
        assert ws.data_rows("opportunities") == len(frames["opportunities"])
        run = analyze(ws)
        assert run.engine == "warehouse"
        assert run.diagnostics["refresh"]["mode"] == "full"  # no incremental refresh there
        assert run.fingerprint == ws.fingerprint() != duck_run.fingerprint
        assert run.diagnostics["auc"] == pytest.approx(duck_run.diagnostics["auc"], abs=1e-9)
        _assert_same(duck, _results(ws, run.run_id))
        # the team brief reads the warehouse too
        brief = build(ws, "all", "2026-Q3")
        assert brief.coverage.run_id == run.run_id
        assert [w.line for w in brief.wins] == [w.line for w in duck_brief.wins]
        assert (brief.n_wins, brief.won_amount) == (duck_brief.n_wins, duck_brief.won_amount)
        assert [d.key for d in brief.deviations] == [d.key for d in duck_brief.deviations]
        np.testing.assert_allclose(
            [d.value for d in brief.deviations], [d.value for d in duck_brief.deviations], 1e-9
        )
        assert [p.sentence for p in brief.practices] == [p.sentence for p in duck_brief.practices]

        # the fingerprint follows the warehouse's tables: re-dating the latest row changes it
        latest = frames["stories"].sort_values("created_at")["story_id"].iloc[-1]
        shift = "UPDATE crm.stories SET created_at = created_at + interval '1 day' * {} "
        _sql(warehouse, shift.format(1) + f"WHERE story_id = '{latest}'")
        assert ws.fingerprint() != run.fingerprint
        _sql(warehouse, shift.format(-1) + f"WHERE story_id = '{latest}'")
        assert ws.fingerprint() == run.fingerprint


def test_a_duckdb_file_as_the_warehouse(small_ws, tmp_path):
    root = tmp_path / "ws"
    with Workspace.open(small_ws) as ws:
        duck_run = ws.latest_run()
        duck = _results_bright_spots(ws, duck_run.run_id)
        expected = ws.run_results("deal_expectations", duck_run.run_id)
    frames = _copy_canonical(small_ws, root)
    path = tmp_path / "warehouse.duckdb"
    con = ibis.duckdb.connect(str(path))
    for name, frame in frames.items():  # the types pandas gives (dates as timestamps): cast
        # a column with no value at all (stories.status) has no type pandas can give: text
        empty = [c for c in frame.columns if frame[c].dtype == object and frame[c].isna().all()]
        con.create_table(name, frame.astype(dict.fromkeys(empty, "string")))
    con.disconnect()
    Workspace.open(root).update_config({"warehouse": {"url": f"duckdb://{path}"}})
    with Workspace.open(root, engine="warehouse") as ws:  # as `analyze --engine warehouse`
        run = analyze(ws, practices=False)  # bright spots only: the generic path, quickly
        assert run.engine == "warehouse"
        got = _results_bright_spots(ws, run.run_id)
        stored = ws.run_results("deal_expectations", run.run_id)  # streamed from the engine
    a, b = duck, got
    assert a[["level", "unit_id"]].equals(b[["level", "unit_id"]])
    for col in COMPARED:
        np.testing.assert_allclose(
            a[col].to_numpy(float), b[col].to_numpy(float), rtol=0, atol=1e-9, err_msg=col
        )
    assert a["label"].tolist() == b["label"].tolist()
    key = "opportunity_id"
    pd.testing.assert_frame_equal(
        stored.sort_values(key).reset_index(drop=True),
        expected.sort_values(key).reset_index(drop=True),
        check_exact=False,
        rtol=1e-12,
    )


def test_clear_errors_without_the_password(warehouse, tmp_path):
    messages = []
    with init_workspace(tmp_path / "ws", engine="warehouse") as ws:
        with pytest.raises(WorkspaceError, match=r"\[warehouse\] url is empty") as e:
            analyze(ws)
        messages.append(str(e.value))
        # from the command line: one line on stderr
        done = subprocess.run(
            [sys.executable, "-m", "brightspots.cli", "analyze", "-w", str(ws.root), "--engine"]
            + ["warehouse"],
            capture_output=True,
            text=True,
            env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "BRIGHTSPOTS_DEBUG": ""},
            timeout=120,
        )
        assert done.returncode == 1
        assert done.stderr.startswith("error: ") and "url is empty" in done.stderr
        ws.update_config({"warehouse": {"url": "postgresql://bs:s3cret-pw@127.0.0.1:1/crm"}})
    with Workspace.open(ws.root) as ws, pytest.raises(WorkspaceError) as e:
        ws.table("reps")
    shown = "[warehouse] url = 'postgresql://bs:***@127.0.0.1:1/crm': cannot connect"
    assert shown in str(e.value)
    messages.append(str(e.value))
    ws.update_config({"warehouse": {"url": warehouse, "schema": "partial"}})
    _sql(
        warehouse,
        "CREATE SCHEMA partial",
        "CREATE TABLE partial.reps (rep_id text, region text)",  # no name; and no other table
    )
    with Workspace.open(ws.root) as ws:
        for name, match in [
            ("accounts", "has no table 'accounts' in schema 'partial'"),
            ("reps", r"table 'reps' in schema 'partial' lacks the column\(s\) name, which"),
        ]:
            with pytest.raises(WorkspaceError, match=match) as e:
                ws.table(name)
            assert "postgres:***@127.0.0.1" in str(e.value)
            messages.append(str(e.value))
        with pytest.raises(WorkspaceError, match="lacks the column"):
            analyze(ws)  # the first table it reads (reps) stops it
    assert not [m for m in messages if "s3cret" in m]


def test_tables_as_a_warehouse_declares_them(warehouse, tmp_path):
    """Names in any case, other types (a time zone, numeric, integer, a timestamp for a date),
    columns the contract lets be empty left out, NOT NULL, extra columns: read as the
    contract's table."""
    _sql(
        warehouse,
        "CREATE SCHEMA own",
        'CREATE TABLE own.opportunities ("Opportunity_ID" text NOT NULL, account_id text NOT '
        "NULL, owner_rep_id text NOT NULL, created_at timestamptz NOT NULL, closed_at "
        "timestamptz, stage text NOT NULL, amount numeric(18, 2), note text)",
        "INSERT INTO own.opportunities VALUES ('OP-1', 'AC-1', 'R-1', '2026-03-01 12:00+02', "
        "NULL, 'open', 1250.50, 'x')",
        "CREATE TABLE own.reps (rep_id text, name text, hire_date timestamp, region varchar(20))",
        "INSERT INTO own.reps VALUES ('R-1', 'Ann', '2024-02-01 00:00', 'west')",
    )
    with init_workspace(tmp_path / "ws", engine="warehouse") as ws:
        ws.update_config({"warehouse": {"url": warehouse, "schema": "own"}})
    with Workspace.open(ws.root) as ws:
        opps, reps = ws.table("opportunities"), ws.table("reps")
        want = {c.name: ibis.dtype(c.ibis_type) for c in schema.table("opportunities").columns}
        assert list(opps.schema()) == list(want)
        for name, dtype in opps.schema().items():  # timestamps of any precision, no time zone
            same = dtype.is_timestamp() and dtype.timezone is None
            assert same if want[name].is_timestamp() else dtype == want[name], name
        got = ws.execute(opps).iloc[0]
        assert got["opportunity_id"] == "OP-1" and got["stage"] == "open"
        assert got["created_at"] == pd.Timestamp("2026-03-01 10:00")  # UTC wall time
        assert pd.isna(got["closed_at"]) and pd.isna(got["initial_amount"])
        assert got["amount"] == 1250.5
        rep = ws.execute(reps)
        assert list(rep.columns) == schema.table("reps").column_names
        assert rep[["rep_id", "name", "region"]].values.tolist() == [["R-1", "Ann", "west"]]
        assert rep["team_id"].isna().all()
        assert pd.Timestamp(rep["hire_date"].iloc[0]) == pd.Timestamp("2024-02-01")
        assert ws.data_rows("opportunities") == 1
