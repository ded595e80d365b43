"""One measured benchmark step, run in its own process by ``bench.measure.run``; prints one JSON
line with its figures last.

    python -m bench.step analyze WORKSPACE [--engine duckdb|spark] [--full]
    python -m bench.step import FOLDER WORKSPACE
    python -m bench.step reference PARQUET_FOLDER WORKSPACE
    python -m bench.step floor WORKSPACE
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

FLOOR_SQL = """
CREATE TEMP TABLE _floor_touches AS
    SELECT activity_id, account_id, opportunity_id, contact_id, occurred_at
    FROM ({activities}) WHERE NOT coalesce(is_bulk, false);
CREATE TEMP TABLE _floor_credit AS
WITH e AS (SELECT event_id, account_id, opportunity_id, contact_id, occurred_at
           FROM ({events})),
o AS (SELECT e.event_id, t.occurred_at AS at, t.activity_id FROM e ASOF LEFT JOIN _floor_touches t
      ON e.account_id = t.account_id AND e.opportunity_id = t.opportunity_id
      AND e.occurred_at >= t.occurred_at),
c AS (SELECT e.event_id, t.occurred_at AS at, t.activity_id FROM e ASOF LEFT JOIN _floor_touches t
      ON e.account_id = t.account_id AND e.contact_id = t.contact_id
      AND e.occurred_at >= t.occurred_at),
a AS (SELECT e.event_id, t.occurred_at AS at, t.activity_id FROM e ASOF LEFT JOIN _floor_touches t
      ON e.account_id = t.account_id AND e.occurred_at >= t.occurred_at)
SELECT e.event_id,
       CASE WHEN o.at >= e.occurred_at - INTERVAL {window} SECOND THEN o.activity_id
            WHEN c.at >= e.occurred_at - INTERVAL {window} SECOND THEN c.activity_id
            WHEN a.at >= e.occurred_at - INTERVAL {window} SECOND THEN a.activity_id END
       AS activity_id
FROM e JOIN a USING (event_id) LEFT JOIN o USING (event_id) LEFT JOIN c USING (event_id);
"""


def analyze(root: Path, engine: str, full: bool = False) -> dict:
    from bench.measure import EngineClock
    from brightspots import analysis
    from brightspots.workspace import Workspace

    ws = Workspace.open(root)
    if engine != ws.engine:
        ws.update_config({"workspace": {"engine": engine}})
        ws = Workspace.open(root)
    steps: list[tuple[str, float]] = []
    t0 = time.perf_counter()
    with EngineClock() as clock:
        run = analysis.analyze(
            ws, lambda step, f: steps.append((step, time.perf_counter() - t0)), full=full
        )
    d = run.diagnostics
    return {
        "wall_s": clock.wall_s,
        "engine_s": clock.engine_s,
        "statistics_s": clock.other_s,
        "steps": steps,
        "n_cases": d["n_cases"],
        "n_bright_spots": d["n_bright_spots"],
        "touches": (d.get("buyer_impact") or {}).get("n_touches"),
        "refresh": d.get("refresh"),
    }


def import_files(folder: Path, root: Path) -> dict:
    from brightspots.ingest import import_path
    from brightspots.workspace import Workspace

    t0 = time.perf_counter()
    got = import_path(Workspace.open(root), folder)
    rows = sum(f.inserted + f.updated for f in got.files)
    return {"wall_s": time.perf_counter() - t0, "rows": rows}


def reference(folder: Path, root: Path) -> dict:
    from bench import reference as ref
    from brightspots.workspace import Workspace

    config = Workspace.open(root).config
    t0 = time.perf_counter()
    got = ref.reference(folder, config)
    wall = time.perf_counter() - t0
    return {
        "wall_s": wall,
        "engine_s": got.timings["read"] + got.timings["engine"],
        "statistics_s": got.timings["statistics"],
        "timings": got.timings,
    }


def floor(root: Path) -> dict:
    import duckdb

    from brightspots.metrics import settings
    from brightspots.workspace import Workspace

    ws = Workspace.open(root)
    window = int(settings(ws)["impact_window"].total_seconds())
    sql = FLOOR_SQL.format(
        activities=ws.live_sql("activities"), events=ws.live_sql("buyer_events"), window=window
    )
    src = ws.duckdb()
    path = src.execute("SELECT path FROM duckdb_databases() WHERE NOT internal").fetchall()
    db = next(p for (p,) in path if p)
    con = duckdb.connect(db, read_only=True)
    cfg = ws.config["duckdb"]
    if cfg.get("memory_limit"):
        con.execute(f"SET memory_limit = '{cfg['memory_limit']}'")
    if int(cfg.get("threads") or 0) > 0:
        con.execute(f"SET threads = {int(cfg['threads'])}")
    t0 = time.perf_counter()
    con.execute(sql)
    wall = time.perf_counter() - t0
    (n, credited), *_ = con.execute(
        "SELECT count(*), count(activity_id) FROM _floor_credit"
    ).fetchall()
    return {"wall_s": wall, "engine_s": wall, "events": n, "credited": credited}


def main(argv: list[str]) -> None:
    what, *rest = argv
    if what == "analyze":
        engine = rest[rest.index("--engine") + 1] if "--engine" in rest else "duckdb"
        out = analyze(Path(rest[0]), engine, full="--full" in rest)
    elif what == "import":
        out = import_files(Path(rest[0]), Path(rest[1]))
    elif what == "reference":
        out = reference(Path(rest[0]), Path(rest[1]))
    elif what == "floor":
        out = floor(Path(rest[0]))
    else:
        raise SystemExit(f"unknown step {what!r}: analyze, import, reference or floor")
    print(json.dumps(out, default=str), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
