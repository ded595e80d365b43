"""Measuring a benchmark step: wall time and peak memory of a child process tree, and the split
of a Python process's time between engine work and everything else.

Each step runs in its own process (``run``), so its peak memory is its own: the resident set of
the process and all its descendants (a Spark JVM too), sampled every ``SAMPLE_S`` seconds from
``/proc``. Inside a step, ``EngineClock`` samples the main thread's stack: a sample whose stack
holds a frame of the engine's packages (Ibis, DuckDB, SQLGlot, PySpark, PyArrow), or whose
innermost frame is one of our modules that call DuckDB's C API directly (``ENGINE_MODULES``), is
engine work (running queries, compiling expressions, moving results); any other is statistics
and glue.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

SAMPLE_S = 0.1
ENGINE_PACKAGES = ("/ibis/", "/duckdb/", "/sqlglot/", "/pyspark/", "/pyarrow/")
#: our modules that run SQL on DuckDB's connection themselves: DuckDB's Python API is C code, so
#: a sample taken while one of them waits on ``con.execute`` shows that module innermost
ENGINE_MODULES = (
    "/brightspots/workspace.py",
    "/brightspots/generations.py",
    "/brightspots/refresh/",
    "/brightspots/metrics/",
    "/brightspots/ingest/",
)


@dataclass(frozen=True)
class Measured:
    wall_s: float
    peak_mib: float
    result: dict


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return out


def tree_rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants, in MiB (0 once it has exited)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1])
        except OSError:
            continue
        todo += _children(p)
    return total * os.sysconf("SC_PAGE_SIZE") / 2**20


def run(args: list[str], *, cwd: Path | None = None) -> Measured:
    """Run ``python -m bench.step ARGS`` and measure it; the step prints one JSON line last."""
    cmd = [sys.executable, "-m", "bench.step", *args]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, text=True)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, tree_rss_mib(proc.pid))
        time.sleep(SAMPLE_S)
    wall = time.perf_counter() - start
    out = proc.stdout.read() if proc.stdout else ""
    if proc.returncode != 0:
        raise RuntimeError(f"bench step {' '.join(args)} failed (exit {proc.returncode})")
    lines = [ln for ln in out.splitlines() if ln.startswith("{")]
    return Measured(wall_s=wall, peak_mib=peak, result=json.loads(lines[-1]) if lines else {})


class EngineClock:
    """Samples the main thread's stack in a background thread: ``engine_s`` and ``other_s``."""

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.engine = 0
        self.other = 0
        self._main = threading.get_ident()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._start = 0.0
        self.wall_s = 0.0

    def __enter__(self) -> EngineClock:
        self._start = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.wall_s = time.perf_counter() - self._start

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            frame = sys._current_frames().get(self._main)
            engine = frame is not None and any(
                m in frame.f_code.co_filename for m in ENGINE_MODULES
            )
            while frame is not None and not engine:
                if any(p in frame.f_code.co_filename for p in ENGINE_PACKAGES):
                    engine = True
                    break
                frame = frame.f_back
            if engine:
                self.engine += 1
            else:
                self.other += 1

    @property
    def engine_s(self) -> float:
        """Wall time spent in engine work, the samples' share of the measured wall time."""
        n = self.engine + self.other
        return self.wall_s * self.engine / n if n else 0.0

    @property
    def other_s(self) -> float:
        return self.wall_s - self.engine_s
