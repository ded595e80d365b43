"""Warehouse sources: a real PostgreSQL server (started here, in a temporary folder) imported
like files, by the contract's table names or through a mapping; and an Ibis DuckDB file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from brightspots import synth
from brightspots.ingest import IngestError, import_path
from brightspots.workspace import init_workspace

COMPARED = ("reps", "accounts", "contacts", "opportunities", "activities", "buyer_events")


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    out = tmp_path_factory.mktemp("org")
    synth.synthesize(synth.SynthConfig(reps=12, months=4, seed=9), out, fmt="parquet")
    return out


def _load(url: str, org: Path, rename: dict[str, str] | None = None) -> None:
    import ibis

    con = ibis.connect(url)
    for t in COMPARED + ("teams",):
        frame = pd.read_parquet(org / f"{t}.parquet")
        name = (rename or {}).get(t, t)
        con.create_table(name, frame, overwrite=True)


def test_a_database_with_the_contracts_tables_imports_like_the_files(tmp_path, postgres, org):
    _load(postgres, org)
    with init_workspace(tmp_path / "files") as a, init_workspace(tmp_path / "db") as b:
        import_path(a, org)
        result = import_path(b, postgres)
        assert result.format == "generic"
        assert {f.file for f in result.files} >= {"reps (database table)"}
        for t in COMPARED:
            key = a.read(t).columns[0]
            want = a.read(t).sort_values(key).reset_index(drop=True)
            got = b.read(t).sort_values(key).reset_index(drop=True)
            pd.testing.assert_frame_equal(got, want, obj=t)
        log = b.read("imports")
        assert log["path"].iloc[0] == postgres  # no password to hide here


def test_a_mapped_warehouse_table(tmp_path, postgres, org):
    import ibis

    _load(postgres, org)
    con = ibis.connect(postgres)
    deals = pd.read_parquet(org / "opportunities.parquet").rename(
        columns={"opportunity_id": "DealId", "stage": "Status", "owner_rep_id": "Owner"}
    )
    deals["Status"] = (
        deals["Status"].map({"won": "Closed Won", "lost": "Closed Lost"}).fillna("Negotiation")
    )
    con.create_table("crm_deals", deals, overwrite=True)
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        """
[tables.reps]
file = "reps"
[tables.accounts]
file = "accounts"
[tables.opportunities]
file = "crm_deals"
[tables.opportunities.columns]
opportunity_id = "DealId"
owner_rep_id = "Owner"
[tables.opportunities.columns.stage]
column = "Status"
values = { "Closed Won" = "won", "Closed Lost" = "lost" }
default = "open"
""",
        encoding="utf-8",
    )
    with init_workspace(tmp_path / "ws") as ws:
        result = import_path(ws, postgres, mapping=mapping)
        assert sum(f.quarantined for f in result.files) == 0
        got = ws.read("opportunities").set_index("opportunity_id")["stage"].sort_index()
        want = pd.read_parquet(org / "opportunities.parquet").set_index("opportunity_id")["stage"]
        pd.testing.assert_series_equal(got, want.sort_index(), check_names=False)
    bad = tmp_path / "bad.toml"
    bad.write_text(mapping.read_text().replace('"crm_deals"', '"crm_dealz"'), encoding="utf-8")
    with init_workspace(tmp_path / "ws2") as ws, pytest.raises(IngestError, match="no table"):
        import_path(ws, postgres, mapping=bad)


def test_an_ibis_duckdb_file_and_a_bad_url(tmp_path, org):
    import ibis

    path = tmp_path / "warehouse.duckdb"
    con = ibis.duckdb.connect(str(path))
    for t in ("reps", "accounts", "opportunities"):
        con.create_table(t, pd.read_parquet(org / f"{t}.parquet"))
    con.disconnect()
    with init_workspace(tmp_path / "ws") as ws:
        result = import_path(ws, f"duckdb://{path}")
        assert {f.table for f in result.files} == {"reps", "accounts", "opportunities"}
        assert ws.row_count("opportunities") == len(pd.read_parquet(org / "opportunities.parquet"))
        with pytest.raises(
            IngestError, match=r"postgresql://u:\*\*\*@127.0.0.1:1/x: cannot connect"
        ):
            import_path(ws, "postgresql://u:secret@127.0.0.1:1/x")
