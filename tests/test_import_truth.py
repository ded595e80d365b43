"""Import against planted truth: a dirty synthetic org, every bad row found, every good row kept."""

from __future__ import annotations

import pytest

from brightspots import schema, synth
from brightspots.ingest import import_path
from brightspots.workspace import init_workspace


@pytest.mark.parametrize(("seed", "fmt"), [(4, "csv"), (8, "parquet")])
def test_quarantine_matches_truth_row_for_row(tmp_path, seed, fmt):
    truth = synth.synthesize(
        synth.SynthConfig(reps=20, months=6, seed=seed, dirty=0.05), tmp_path / "data", fmt=fmt
    )
    dirty = truth["dirty"]
    with init_workspace(tmp_path / "ws") as ws:
        result = import_path(ws, tmp_path / "data")
        q = ws.read("quarantine")
        got = {(r.file, int(r.line), r.reason, r.column) for r in q.itertuples()}
        suffix = f".{fmt}"
        want = {
            (b["file"].replace(".csv", suffix), b["line"], b["reason"], b["column"])
            for b in dirty["bad_rows"]
        }
        assert got == want
        assert {r for _, _, r, _ in want} == {r.value for r in schema.Reason}  # every kind
        for counts in result.files:
            expected = dirty["files"][counts.file]
            assert counts.read == expected["rows"]
            assert counts.quarantined == expected["quarantined"]
            assert counts.repeats == expected["repeats"]
            assert counts.inserted == expected["valid"] == ws.row_count(counts.table)
            assert counts.read == (
                counts.inserted
                + counts.updated
                + counts.unchanged
                + counts.repeats
                + counts.skipped
                + counts.quarantined
            )
        # a second import of the same files changes nothing
        before = ws.fingerprint()
        again = import_path(ws, tmp_path / "data")
        assert ws.fingerprint() == before
        assert all(f.inserted == f.updated == 0 for f in again.files)
        assert len(ws.read("quarantine")) == len(q)
