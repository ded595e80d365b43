"""The synthetic organisation written as it is generated: activities and buyer events go to
their files slice by slice from compact numeric rows. The files must not depend on how they
were made: in memory (``generate`` + ``write``), in one slice or in many."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from brightspots import synth
from brightspots.synth import files
from brightspots.synth.rows import Rows, in_time_order
from brightspots.synth.sink import MemorySink, Slices
from brightspots.synth.tables import serial_ids

ORG = synth.SynthConfig(reps=40, seed=4)  # default months
TINY = 997  # rows per slice: not a divisor of anything, many slices per big table


def _three_ways(tmp_path: Path, fmt: str, monkeypatch) -> tuple[Path, Path, Path]:
    """The org written in memory, streamed in one slice, streamed in tiny slices."""
    memory, one, many = tmp_path / "memory", tmp_path / "one", tmp_path / "many"
    synth.write(synth.generate(ORG), memory, fmt=fmt)
    synth.synthesize(ORG, one, fmt=fmt)
    with monkeypatch.context() as m:
        m.setattr(files, "SLICE_ROWS", TINY)
        synth.synthesize(ORG, many, fmt=fmt)
    return memory, one, many


def test_csv_files_are_the_same_bytes_however_written(tmp_path, monkeypatch):
    memory, one, many = _three_ways(tmp_path, "csv", monkeypatch)
    names = sorted(p.name for p in memory.iterdir())
    assert len(names) == 11  # 9 tables, truth.json, truth_opportunities.parquet
    for other in (one, many):
        assert sorted(p.name for p in other.iterdir()) == names
        for name in names:
            assert (other / name).read_bytes() == (memory / name).read_bytes(), (other, name)
    # the big tables really were cut into many slices, each with its ids and rows in order
    n = sum(1 for _ in (many / "activities.csv").open()) - 1
    assert n > 20 * TINY
    lines = (many / "activities.csv").read_text().splitlines()
    assert lines[0].startswith('"activity_id",') and len(lines) == n + 1
    width = len(str(n))  # ids padded as the whole table, across slices
    ids = [line.split(",")[0] for line in lines[TINY : TINY + 2]]
    assert ids == [f'"AT-{TINY:0{width}d}"', f'"AT-{TINY + 1:0{width}d}"']


def test_parquet_tables_are_equal_however_written(tmp_path, monkeypatch):
    memory, one, many = _three_ways(tmp_path, "parquet", monkeypatch)
    for name in sorted(p.name for p in memory.iterdir()):
        if name.endswith(".json"):
            assert (one / name).read_bytes() == (memory / name).read_bytes()
            assert (many / name).read_bytes() == (memory / name).read_bytes()
            continue
        want = pq.read_table(memory / name)
        assert pq.read_table(one / name).equals(want), name
        assert (one / name).read_bytes() == (memory / name).read_bytes(), name  # one slice
        assert pq.read_table(many / name).equals(want), name
    groups = pq.ParquetFile(many / "activities.parquet").metadata.num_row_groups
    assert groups > 20  # one row group per tiny slice


def test_sliced_parquet_is_the_same_bytes_past_one_row_group(tmp_path):
    """A table of several 1Mi-row groups written in slices of whole row groups gives the bytes
    ``pq.write_table`` gives for the whole table."""
    n = 2 * files.SLICE_ROWS + 12_345
    rng = np.random.default_rng(1)
    kind = rng.integers(0, 3, n)
    cols = {"k": kind, "v": rng.normal(size=n)}

    def build(start: int, stop: int) -> pa.Table:
        return pa.table(
            {
                "id": serial_ids("X-", n, start=start, stop=stop),
                "k": pa.array(np.array(["a", "b", "c"])[cols["k"][start:stop]]),
                "v": cols["v"][start:stop],
            }
        )

    whole = tmp_path / "whole"
    whole.mkdir()
    pq.write_table(build(0, n), whole / "t.parquet")
    files.FileSink(tmp_path / "sliced", "parquet").put("t", Slices(n, build))
    assert (tmp_path / "sliced" / "t.parquet").read_bytes() == (whole / "t.parquet").read_bytes()
    assert pq.ParquetFile(whole / "t.parquet").metadata.num_row_groups == 3


def test_in_time_order_is_a_stable_sort_with_a_window():
    time = np.array([5, -3, 5, 7, -3, 0, 9, 5], np.int32)
    cols = {"time": time.copy(), "tag": np.arange(8, dtype=np.int32)}
    out = in_time_order(cols)
    assert cols == {}  # handed over
    assert out["time"].tolist() == [-3, -3, 0, 5, 5, 5, 7, 9]
    assert out["tag"].tolist() == [1, 4, 5, 0, 2, 7, 3, 6]  # ties in the order given
    cut = in_time_order({"time": time.copy(), "tag": np.arange(8, dtype=np.int8)}, until=6)
    assert cut["time"].tolist() == [-3, -3, 0, 5, 5, 5]
    assert cut["tag"].tolist() == [1, 4, 5, 0, 2, 7] and cut["tag"].dtype == np.int8
    empty = in_time_order({"time": np.empty(0, np.int32), "tag": np.empty(0)}, until=0)
    assert len(empty["time"]) == len(empty["tag"]) == 0


def test_in_time_order_matches_argsort_on_many_ties():
    rng = np.random.default_rng(3)
    time = rng.integers(-(2**31), 2**31 - 1, 50_000).astype(np.int32)
    time[::3] = time[0]  # many ties, at the lowest and highest values too
    time[1::7] = -(2**31)
    time[2::11] = 2**31 - 1
    until = int(np.quantile(time, 0.8))
    out = in_time_order({"time": time.copy(), "pos": np.arange(len(time))}, until=until)
    keep = np.flatnonzero(time < until)
    want = keep[np.argsort(time[keep], kind="stable")]
    assert np.array_equal(out["pos"], want)
    assert np.array_equal(out["time"], time[want])


def test_rows_keep_the_window_and_grow_past_their_capacity():
    rows = Rows(base=1_000, until=1_010)
    seen = []
    for i in range(40):  # 40 adds of 5,000 rows: the columns grow several times
        t = 995 + np.arange(5_000) % 20
        rows.add(t, np.full(5_000, i), np.arange(5_000), 1, np.zeros(5_000), np.ones(5_000))
        seen.append(t[t < 1_010])
    cols = rows.columns()
    assert rows.n == 0 and len(rows.data["time"]) == 0  # handed over
    want = np.concatenate(seen) - 1_000
    assert np.array_equal(cols["time"], want) and cols["time"].dtype == np.int32
    assert len(cols["opp"]) == 40 * 3_750 and cols["opp"][-1] == 39
    assert np.isnan(cols["duration"]).all() and not cols["bulk"].any()
    assert set(cols) == {"time", "opp", "contact", "kind", "account", "rep", "duration", "bulk"}
    events = Rows(base=0, extra=False)
    events.add(np.array([3, 1]), [0, 1], [-1, 2], 4, [0, 0], [1, 1])
    assert set(events.columns()) == {"time", "opp", "contact", "kind", "account", "rep"}
    with pytest.raises(synth.SynthError, match="68 years"):
        Rows(base=0).add(np.array([2**31]), [0], [0], 0, [0], [0])


def test_slices_and_serial_ids_split_alike():
    whole = serial_ids("AT-", 12_345)
    assert whole[0].as_py() == "AT-00001" and whole[-1].as_py() == "AT-12345"
    part = serial_ids("AT-", 12_345, start=99, stop=105)
    assert (
        part.to_pylist()
        == whole.slice(99, 6).to_pylist()
        == [f"AT-{i:05d}" for i in range(100, 106)]
    )
    table = Slices(7, lambda a, b: pa.table({"i": np.arange(a, b)}))
    assert [p.num_rows for p in table.pieces(3)] == [3, 3, 1]
    assert pa.concat_tables(table.pieces(3)).equals(table.table())
    assert [p.num_rows for p in Slices(0, table.build).pieces(3)] == [0]
    sink = MemorySink()
    sink.put("t", table)
    assert sink.rows == {"t": 7} and sink.tables["t"].equals(table.table())
