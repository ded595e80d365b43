"""``analyze`` at scale against a pandas reference and the engine's floor (issue 9).

    python -m bench.analyze --activities 10M [--reps 2000] [--seed 7] [--memory-limit 3GB]
    python -m bench.analyze --activities 100M --no-reference      # out of core, no pandas
    make bench                                                    # 1M activities, all three

Generates a synthetic org of the given size once (cached under ``bench/.cache`` by size and
seed: the Parquet files and the imported workspace), then measures, each in its own process:

1. ``analyze`` (bright spots, metrics, practices) on a fresh copy of the DuckDB workspace, with
   the workspace's ``[duckdb] memory_limit`` set to ``--memory-limit``;
2. the pandas reference (``bench/reference.py``: the same bright-spot figures and
   ``effort_impact`` table in vectorised pandas over the same tables as Parquet);
3. the floor: DuckDB alone crediting every buyer event to its touch (``ASOF JOIN``, three
   tiers) over all activities, the heaviest single pass of the analysis.

It prints wall time split into engine work and statistics, peak memory (resident set of the
process tree), the ratios analyze/pandas and engine work/floor, and appends a row to
``bench/RESULTS.md`` with the machine's facts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.measure import Measured, run
from bench.results import RESULTS, append_row

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
SECTION = "Analyze (`python -m bench.analyze`)"
HEADER = (
    "| date | commit | machine | activities | reps | memory limit | analyze s (engine/stats) "
    "| analyze peak MiB | pandas s (engine/stats) | pandas peak MiB | floor s "
    "| analyze/pandas | engine/floor | like-for-like s | like-for-like speed-up |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
)
#: analyze's steps the pandas reference does not do: their time is left out of the like-for-like
#: figure (the rest: preparing, case mix, the touch ledger, the buyer-impact model, the levels,
#: effort_impact and saving the run, which stores effort_impact)
EXTRA_STEPS = ("practices", "key accounts", "care")


def count(text: str) -> int:
    """``10M``, ``100k``, ``2500000`` -> an int."""
    t = text.strip().lower().replace("_", "")
    for suffix, scale in (("k", 10**3), ("m", 10**6), ("b", 10**9)):
        if t.endswith(suffix):
            return int(float(t[:-1]) * scale)
    return int(t)


def _cli(*args: str) -> None:
    exe = Path(sys.executable).with_name("brightspots")
    subprocess.run([str(exe), *args], check=True, stdout=subprocess.DEVNULL)


def org_dir(activities: int, reps: int, seed: int, months: int | None = None) -> Path:
    """The cache folder of an org (``months``: None for the generator's default)."""
    tail = "" if months is None else f"-m{months}"
    return CACHE / f"org-{activities}-{reps}-{seed}{tail}"


def prepared(
    activities: int,
    reps: int,
    seed: int,
    export: bool = True,
    months: int | None = None,
    memory_limit: str | None = None,
) -> tuple[Path, Path]:
    """The cached org: (imported workspace, Parquet export of its canonical tables for the
    pandas reference, written once when ``export``). ``memory_limit``: the workspace's
    ``[duckdb] memory_limit`` for the import too (without it DuckDB takes 80% of the machine's
    memory: 19 GB of 24 importing 100M activities)."""
    from bench.reference import export_canonical
    from brightspots.workspace import Workspace

    base = org_dir(activities, reps, seed, months)
    data, ws_dir, parquet = base / "data", base / "workspace", base / "parquet"
    if not (base / "ready").exists():
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir(parents=True)
        print(f"generating {activities:,} activities, {reps:,} reps (seed {seed}) once ...")
        extra = [] if months is None else ["--months", str(months)]
        _cli("synth", "--out", str(data), "--reps", str(reps), "--activities", str(activities),
             "--seed", str(seed), "--format", "parquet", *extra)  # fmt: skip
        _cli("init", str(ws_dir))
        if memory_limit:
            Workspace.open(ws_dir).update_config({"duckdb": {"memory_limit": memory_limit}})
        _cli("import", str(data), "--workspace", str(ws_dir))
        (base / "ready").write_text("")
    if export and not (base / "exported").exists():
        shutil.rmtree(parquet, ignore_errors=True)
        export_canonical(Workspace.open(ws_dir), parquet)
        (base / "exported").write_text("")
    return ws_dir, parquet


def _link_generation(src: str, dst: str) -> None:
    """Copy a workspace file, hard-linking its committed database generations instead (they are
    immutable: a writer works on a copy, see ``brightspots.generations``), which saves the
    workspace's size in disk (6 GB at 100M activities) and the time to copy it."""
    if src.endswith(".duckdb"):
        try:
            os.link(src, dst)
            return
        except OSError:
            pass  # another file system: copy
    shutil.copy2(src, dst)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (OSError, ValueError):
        mem = float("nan")
    # the load average at the start: other work on the machine slows every figure
    return f"{os.cpu_count()} cores, {mem:.0f} GiB, {cpu}, load {os.getloadavg()[0]:.1f}"


def commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True
        )
        return out.stdout.strip() or "?"
    except OSError:
        return "?"


def like_for_like(steps: list[tuple[str, float]], wall_s: float) -> float:
    """``wall_s`` less the time of ``EXTRA_STEPS`` (``steps``: each step's name and the seconds
    at which it began, in order; a step lasts until the next begins)."""
    extra = 0.0
    for (name, at), (_, nxt) in zip(steps, steps[1:], strict=False):
        if name in EXTRA_STEPS:
            extra += nxt - at
    return wall_s - extra


def _split(m: Measured) -> str:
    r = m.result
    return f"{m.wall_s:.1f} ({r.get('engine_s', 0):.1f}/{r.get('statistics_s', 0):.1f})"


def _against_pandas(speedup: float) -> str:
    """pandas' time over analyze's, in words: "2.0x faster than pandas" or "1.4x slower"."""
    if speedup >= 1:
        return f"{speedup:.1f}x faster than pandas"
    return f"{1 / speedup:.1f}x slower than pandas"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--activities", type=count, default=count("1M"))
    ap.add_argument("--reps", type=int, default=None, help="default: 1 per 5,000 activities")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--memory-limit", default="3GB", help="[duckdb] memory_limit for analyze")
    ap.add_argument("--no-reference", action="store_true", help="skip the pandas reference")
    ap.add_argument("--engine", default="duckdb", choices=["duckdb", "spark"])
    ap.add_argument(
        "--no-floor",
        action="store_true",
        help="skip the floor query (at 100M its three ASOF "
        "joins spill tens of GB under a 4 GB limit)",
    )
    args = ap.parse_args(argv)
    code = commit()  # the code measured: a run of an hour can end after later commits
    reps = args.reps or max(20, min(5000, args.activities // 5000))
    ws_dir, parquet = prepared(
        args.activities,
        reps,
        args.seed,
        export=not args.no_reference,
        memory_limit=args.memory_limit,
    )

    from brightspots.workspace import Workspace

    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        work = Path(tmp) / "workspace"
        shutil.copytree(ws_dir, work, copy_function=_link_generation)
        Workspace.open(work).update_config({"duckdb": {"memory_limit": args.memory_limit}})
        floor = None
        if not args.no_floor:
            print("floor (DuckDB ASOF JOIN credit over all activities) ...", flush=True)
            floor = run(["floor", str(work)])
            print(f"  {floor.wall_s:.1f} s wall, query {floor.result['wall_s']:.1f} s, "
                  f"{floor.peak_mib:.0f} MiB", flush=True)  # fmt: skip
        print(f"analyze ({args.engine}, memory_limit {args.memory_limit}) ...", flush=True)
        ana = run(["analyze", str(work), "--engine", args.engine])
        for step, at in ana.result.get("steps", []):
            print(f"  {at:8.1f} s  {step}")
        print(f"  {_split(ana)} s (engine/statistics), {ana.peak_mib:.0f} MiB peak", flush=True)
        pandas = None
        if not args.no_reference:
            print("pandas reference ...", flush=True)
            pandas = run(["reference", str(parquet), str(work)])
            print(f"  {_split(pandas)} s (engine/statistics), {pandas.peak_mib:.0f} MiB peak")

    engine_floor = ana.result["engine_s"] / floor.result["wall_s"] if floor else float("nan")
    vs_pandas = pandas.wall_s / ana.wall_s if pandas else float("nan")
    same = like_for_like(ana.result.get("steps", []), ana.wall_s)
    vs_same = pandas.wall_s / same if pandas else float("nan")
    print(
        "\n"
        + (f"analyze is {_against_pandas(vs_pandas)}; " if pandas else "")
        + (f"its engine work is {engine_floor:.1f}x the floor; " if floor else "")
        + f"statistics {ana.result['statistics_s']:.1f} s; peak {ana.peak_mib:.0f} MiB"
    )
    print(
        f"like for like (without {', '.join(EXTRA_STEPS)}, which the reference does not do): "
        f"{same:.1f} s" + (f", {_against_pandas(vs_same)}" if pandas else "")
    )
    row = [
        dt.date.today().isoformat(),
        code,
        machine(),
        f"{args.activities:,}",
        f"{reps:,}",
        args.memory_limit,
        _split(ana),
        f"{ana.peak_mib:.0f}",
        _split(pandas) if pandas else "-",
        f"{pandas.peak_mib:.0f}" if pandas else "-",
        f"{floor.result['wall_s']:.1f}" if floor else "-",
        f"{vs_pandas:.1f}x" if pandas else "-",
        f"{engine_floor:.1f}x" if floor else "-",
        f"{same:.1f}",
        f"{vs_same:.1f}x" if pandas else "-",
    ]
    append_row(SECTION, HEADER, row)
    print(f"appended to {RESULTS}")


if __name__ == "__main__":
    main()
