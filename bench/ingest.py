"""Import against DuckDB's own CSV reader (issue 9): ``brightspots import`` of a synthetic org's
CSV files, and DuckDB ``read_csv`` of its activity file into a table, side by side.

    python -m bench.ingest --activities 10M [--reps 2000] [--seed 7]

The org is generated once as CSV (cached under ``bench/.cache`` by size and seed). The import
(every table: validation, quarantine, the contract's types, one atomic write) runs in its own
process, as does the floor: a DuckDB database file that reads every CSV file with ``read_csv``
(types detected, no checks) into a table of its own. Prints wall time and peak memory of each,
the activity rows per second and the ratio import/floor, and appends a row to
``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.analyze import CACHE, _cli, commit, count, machine
from bench.measure import Measured, tree_rss_mib
from bench.results import RESULTS, append_row

SECTION = "Import (`python -m bench.ingest`)"
HEADER = (
    "| date | commit | machine | activities | rows in all files | import s | import peak MiB "
    "| read_csv s | read_csv peak MiB | import/read_csv |\n"
    "|---|---|---|---|---|---|---|---|---|---|\n"
)


def _measured(cmd: list[str]) -> Measured:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, tree_rss_mib(proc.pid))
        time.sleep(0.1)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {proc.returncode})")
    return Measured(wall_s=time.perf_counter() - start, peak_mib=peak, result={})


def csv_org(activities: int, reps: int, seed: int) -> Path:
    base = CACHE / f"csv-{activities}-{reps}-{seed}"
    if not (base / "ready").exists():
        shutil.rmtree(base, ignore_errors=True)
        print(f"generating {activities:,} activities as CSV (seed {seed}) once ...", flush=True)
        _cli("synth", "--out", str(base / "data"), "--reps", str(reps),
             "--activities", str(activities), "--seed", str(seed), "--format", "csv")  # fmt: skip
        (base / "ready").write_text("")
    return base / "data"


def lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 24), b"")) - 1


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--activities", type=count, default=count("1M"))
    ap.add_argument("--reps", type=int, default=None, help="default: 1 per 5,000 activities")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    reps = args.reps or max(20, min(5000, args.activities // 5000))
    data = csv_org(args.activities, reps, args.seed)
    acts = data / "activities.csv"
    n_acts = lines(acts)
    n_all = sum(lines(p) for p in data.glob("*.csv"))
    exe = str(Path(sys.executable).with_name("brightspots"))
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        db = Path(tmp) / "floor.duckdb"
        script = (
            "import duckdb, pathlib, sys; con = duckdb.connect(sys.argv[1])\n"
            "for p in sorted(pathlib.Path(sys.argv[2]).glob('*.csv')):\n"
            "    con.execute(f'CREATE TABLE \"{p.stem}\" AS SELECT * FROM read_csv(?)', [str(p)])"
        )
        print("floor: DuckDB read_csv of every file into a table ...", flush=True)
        floor = _measured([sys.executable, "-c", script, str(db), str(data)])
        print(f"  {floor.wall_s:.1f} s, {floor.peak_mib:.0f} MiB peak", flush=True)
        ws = Path(tmp) / "workspace"
        _cli("init", str(ws))
        print("brightspots import (all files) ...", flush=True)
        imp = _measured([exe, "import", str(data), "--workspace", str(ws)])
        print(f"  {imp.wall_s:.1f} s, {imp.peak_mib:.0f} MiB peak", flush=True)
    ratio = imp.wall_s / floor.wall_s
    print(
        f"\nimport: {n_acts / imp.wall_s:,.0f} activity rows/s ({n_all:,} rows in all files, "
        f"{n_acts / n_all:.0%} of them activities); {ratio:.1f}x DuckDB's read_csv of the "
        "same files"
    )
    row = [
        dt.date.today().isoformat(),
        commit(),
        machine(),
        f"{n_acts:,}",
        f"{n_all:,}",
        f"{imp.wall_s:.1f}",
        f"{imp.peak_mib:.0f}",
        f"{floor.wall_s:.1f}",
        f"{floor.peak_mib:.0f}",
        f"{ratio:.1f}x",
    ]
    append_row(SECTION, HEADER, row)
    print(f"appended to {RESULTS}")


if __name__ == "__main__":
    main()
