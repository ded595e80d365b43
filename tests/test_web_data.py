"""The web app's per-generation cache: one computation per key and generation, shared by
concurrent requests, errors never cached, and a new generation starts afresh."""

from __future__ import annotations

import threading
import time

import pytest

from brightspots.web.data import Snapshots
from brightspots.workspace import init_workspace


def test_concurrent_askers_share_one_computation_and_errors_are_not_kept(tmp_path):
    ws = init_workspace(tmp_path / "ws")
    snaps = Snapshots(ws.root)
    calls: list[int] = []

    def slow() -> int:
        calls.append(1)
        time.sleep(0.3)
        return 42

    results: list[int] = []
    with snaps.open() as a:
        first = a.generation
        threads = [
            threading.Thread(target=lambda: results.append(snaps.cached(a, ("k",), slow)))
            for _ in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == [42] * 4 and len(calls) == 1

        def broken() -> int:
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            snaps.cached(a, ("bad",), broken)
        assert snaps.cached(a, ("bad",), lambda: 7) == 7  # the error was not cached
    with ws.transaction() as con:  # a new generation: computed again there
        con.execute("INSERT INTO reps (rep_id, name) VALUES ('R1', 'One')")
    with snaps.open() as b:
        assert b.generation != first
        assert snaps.cached(b, ("k",), lambda: 43) == 43
        assert snaps.snapshot(b).rep_names == {"R1": "One"}
    snaps.close()
