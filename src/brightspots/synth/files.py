"""``write``: one file per table (CSV or Parquet) and ``truth.json`` in a folder."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from brightspots import schema
from brightspots.synth.config import Progress, SynthError
from brightspots.synth.org import Org
from brightspots.synth.truth import no_dirt


def write(
    org: Org, out: Path, fmt: str = "csv", progress: Progress | None = None
) -> dict[str, int]:
    """Write one file per table (header = schema columns in schema order) and ``truth.json``.
    Returns the data rows per file."""
    if fmt not in ("csv", "parquet"):
        raise SynthError(f"format must be csv or parquet, got {fmt!r}")
    dirt = org.truth.get("dirty") or {}
    if dirt.get("rate"):
        if dirt["format"] != fmt:
            raise SynthError(
                f"the bad rows were laid out for {dirt['format']} (line numbers differ): write "
                f"as {dirt['format']} or call apply_dirt(org, fmt={fmt!r}) on the clean org"
            )
    else:
        org.truth["dirty"] = no_dirt(org.tables, fmt)
        org.truth["counts"] = {f"{name}.{fmt}": t.num_rows for name, t in org.tables.items()}
    report = progress or (lambda step, fraction: None)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name in schema.IMPORT_ORDER:
        for ext in ("csv", "parquet"):
            (out / f"{name}.{ext}").unlink(missing_ok=True)
    rows: dict[str, int] = {}
    total = sum(t.num_rows for t in org.tables.values()) or 1
    done = 0
    for name, table in org.tables.items():
        report(f"writing {name}", done / total)
        path = out / f"{name}.{fmt}"
        if fmt == "csv":
            pacsv.write_csv(table, path)
        else:
            pq.write_table(table, path)
        rows[path.name] = table.num_rows
        done += table.num_rows
    text = json.dumps(org.truth, indent=1, ensure_ascii=False)
    (out / "truth.json").write_text(text + "\n", encoding="utf-8")
    _write_deal_truth(org, out)
    report("written", 1.0)
    return rows


DEAL_TRUTH = "truth_opportunities.parquet"


def _write_deal_truth(org: Org, out: Path) -> None:
    """Each opportunity's true win probability (``truth_opportunities.parquet``), so a scorer can
    compute, over any analysis window, the ratio of truly expected wins to the model's expected
    wins: the deviation the method is meant to find. Written for clean orgs only (dirty rows
    change keys)."""
    opps = org.tables["opportunities"]
    p_win = org.hidden.get("p_win")
    path = out / DEAL_TRUTH
    path.unlink(missing_ok=True)
    if p_win is None or (org.truth.get("dirty") or {}).get("rate") or len(p_win) != opps.num_rows:
        return
    pq.write_table(
        pa.table({"opportunity_id": opps.column("opportunity_id"), "p_win": pa.array(p_win)}),
        path,
    )
