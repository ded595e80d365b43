"""Incremental refresh at scale: the cost of an analysis after new days of data (issue 9).

    python -m bench.refresh --activities 1M [--days 30,7,1] [--memory-limit 3GB]

On the cached synthetic org (``bench.analyze``), a workspace is loaded with the export as it
stood ``sum(days)`` days before the end of the data and analysed in full. Then, for each N of
``--days``, the next N days' rows are imported as a delivery (``synth.cut``: activities, buyer
events, new and newly closed opportunities) and analysed again (incremental), and a copy of the
same workspace is analysed with ``--full``. Each step runs in its own process (``bench.measure``).

Per N it prints and appends to ``bench/RESULTS.md``: the rows delivered, what the refresh
recomputed, the import time, the incremental analysis (wall, its ledger refresh, its effort
write at save time, engine/statistics split) against the full one. The refresh's engine work
should follow the size of the delivery; the rest of an analysis (case-mix model, practices,
statistics) is bounded by the analysis window, not the history, and is the same in both modes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import tempfile
from pathlib import Path

import duckdb

from bench.analyze import CACHE, commit, count, machine, org_dir, prepared
from bench.measure import Measured, run
from bench.results import RESULTS, append_row

SECTION = "Incremental refresh (`python -m bench.refresh`)"
HEADER = (
    "| date | commit | machine | activities | months | new days | rows delivered | import s "
    "| recomputed touches+events | effort keys | incremental s (refresh / save) "
    "| incremental engine/stats s | full s (refresh / save) | incremental/full |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
)


def end_of_data(data: Path) -> dt.datetime:
    """Midnight (UTC) after the org's last activity or buyer event."""
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        latest = [
            f"(SELECT max(occurred_at) FROM read_parquet('{data}/{name}.parquet'))"
            for name in ("activities", "buyer_events")
        ]
        last = con.execute(f"SELECT greatest({', '.join(latest)})").fetchall()[0][0]
    return dt.datetime.combine(last.date(), dt.time()) + dt.timedelta(days=1)


def _between(steps: list, first: str, then: str | None = None) -> float:
    """Seconds from the progress step ``first`` to the next one (or to ``then``)."""
    names = [s for s, _ in steps]
    if first not in names:
        return float("nan")
    i = names.index(first)
    j = names.index(then) if then in names else i + 1
    return steps[j][1] - steps[i][1] if j < len(steps) else float("nan")


def _parts(m: Measured) -> str:
    steps = m.result.get("steps", [])
    refresh = _between(steps, "refreshing the touch ledger")
    save = _between(steps, "saving the run", "done")
    return f"{m.wall_s:.1f} ({refresh:.1f} / {save:.1f})"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--activities", type=count, default=count("1M"))
    ap.add_argument("--reps", type=int, default=None, help="default: 1 per 5,000 activities")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--days", default="30,7,1", help="deliveries of N days, in this order")
    ap.add_argument("--memory-limit", default="3GB", help="[duckdb] memory_limit")
    ap.add_argument(
        "--months", type=int, default=None, help="months of history (default: the generator's)"
    )
    args = ap.parse_args(argv)
    reps = args.reps or max(20, min(5000, args.activities // 5000))
    days = [int(d) for d in args.days.split(",")]
    prepared(args.activities, reps, args.seed, export=False, months=args.months)
    data = org_dir(args.activities, reps, args.seed, args.months) / "data"
    end = end_of_data(data)
    at = end - dt.timedelta(days=sum(days))

    from brightspots.synth.cut import cut
    from brightspots.workspace import init_workspace

    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        base = Path(tmp)
        work = base / "workspace"
        with init_workspace(work) as ws:
            ws.update_config({"duckdb": {"memory_limit": args.memory_limit}})
        print(f"history up to {at:%Y-%m-%d}: cut, import, full analysis ...", flush=True)
        cut(data, base / "history", until=at)
        imp = run(["import", str(base / "history"), str(work)])
        ana = run(["analyze", str(work)])
        print(f"  import {imp.wall_s:.1f} s, analyze {_parts(ana)} s", flush=True)
        for n in days:
            until = at + dt.timedelta(days=n)
            delivery = base / f"delivery-{n}"
            cut(data, delivery, until=until, since=at)
            imp = run(["import", str(delivery), str(work)])
            inc = run(["analyze", str(work)])
            notes = inc.result.get("refresh") or {}
            copy = base / f"full-{n}"
            shutil.copytree(work, copy)
            full = run(["analyze", str(copy), "--full"])
            shutil.rmtree(copy)
            rec = notes.get("recomputed", {})
            touched = rec.get("touches", 0) + rec.get("events", 0)
            print(
                f"{n} day(s) to {until:%Y-%m-%d}: {imp.result['rows']:,} rows delivered "
                f"(import {imp.wall_s:.1f} s); {notes.get('mode')}: recomputed {touched:,} "
                f"touches and events, {rec.get('effort_keys', 0):,} effort keys; analyze "
                f"{_parts(inc)} s against full {_parts(full)} s",
                flush=True,
            )
            append_row(
                SECTION,
                HEADER,
                [
                    dt.date.today().isoformat(),
                    commit(),
                    machine(),
                    f"{args.activities:,}",
                    str(args.months or "default"),
                    str(n),
                    f"{imp.result['rows']:,}",
                    f"{imp.wall_s:.1f}",
                    f"{touched:,}",
                    f"{rec.get('effort_keys', 0):,}",
                    _parts(inc),
                    f"{inc.result['engine_s']:.1f}/{inc.result['statistics_s']:.1f}",
                    _parts(full),
                    f"{inc.wall_s / full.wall_s:.2f}",
                ],
            )
            at = until
    print(f"appended to {RESULTS}")


if __name__ == "__main__":
    main()
