"""``write``: one file per table (CSV or Parquet) and ``truth.json`` in a folder."""

from __future__ import annotations

import json
from pathlib import Path

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
    report("written", 1.0)
    return rows
