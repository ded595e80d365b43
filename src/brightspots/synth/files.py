"""Files of an organisation: one per table (CSV or Parquet) and ``truth.json`` in a folder.
``FileSink`` writes each table as it comes (big ones slice by slice), ``write`` writes an
``Org`` held in memory, ``write_truth`` the truth files."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from brightspots import schema
from brightspots.synth.config import Progress, SynthError
from brightspots.synth.org import Org
from brightspots.synth.sink import Slices
from brightspots.synth.tables import NO_TIME
from brightspots.synth.truth import no_dirt

#: rows per slice of a big table: a multiple of the Parquet row group (1Mi rows, as
#: ``pq.write_table``), so the files are the same bytes as writing the whole table at once
SLICE_ROWS = 1024 * 1024
DEAL_TRUTH = "truth_opportunities.parquet"


def _check(fmt: str) -> None:
    if fmt not in ("csv", "parquet"):
        raise SynthError(f"format must be csv or parquet, got {fmt!r}")


class FileSink:
    """Writes each table put into ``out/<name>.<fmt>`` at once (clearing the folder's table
    files first); a ``Slices`` table goes slice by slice (``slice_rows``, default
    ``SLICE_ROWS``) and is never whole in memory. The files are the same whatever the slices."""

    def __init__(self, out: Path, fmt: str, slice_rows: int | None = None) -> None:
        _check(fmt)
        self.out, self.fmt = Path(out), fmt
        self.slice_rows = slice_rows or SLICE_ROWS
        self.rows: dict[str, int] = {}
        self.out.mkdir(parents=True, exist_ok=True)
        for name in schema.IMPORT_ORDER:
            for ext in ("csv", "parquet"):
                (self.out / f"{name}.{ext}").unlink(missing_ok=True)

    def put(self, name: str, table: pa.Table | Slices, progress: Progress | None = None) -> None:
        path = self.out / f"{name}.{self.fmt}"
        if isinstance(table, pa.Table):
            if self.fmt == "csv":
                pacsv.write_csv(table, path)
            else:
                pq.write_table(table, path)
            self.rows[name] = table.num_rows
            return
        report = progress or (lambda step, fraction: None)
        make = pacsv.CSVWriter if self.fmt == "csv" else pq.ParquetWriter
        done = 0
        with make(path, table.build(0, 0).schema) as writer:
            for piece in table.pieces(self.slice_rows):
                writer.write_table(piece)
                done += piece.num_rows
                report(f"writing {name}", done / max(1, table.n))
                del piece
        self.rows[name] = table.n


def write(
    org: Org, out: Path, fmt: str = "csv", progress: Progress | None = None
) -> dict[str, int]:
    """Write one file per table (header = schema columns in schema order) and ``truth.json``.
    Returns the data rows per file."""
    _check(fmt)
    dirt = org.truth.get("dirty") or {}
    if dirt.get("rate") and dirt["format"] != fmt:
        raise SynthError(
            f"the bad rows were laid out for {dirt['format']} (line numbers differ): write "
            f"as {dirt['format']} or call apply_dirt(org, fmt={fmt!r}) on the clean org"
        )
    report = progress or (lambda step, fraction: None)
    sink = FileSink(out, fmt)
    total = sum(t.num_rows for t in org.tables.values()) or 1
    done = 0
    for name, table in org.tables.items():
        report(f"writing {name}", done / total)
        sink.put(name, table)
        done += table.num_rows
    opps = org.tables.get("opportunities")
    ids = None if opps is None else opps.column("opportunity_id")
    write_truth(org.truth, sink, ids, org.hidden)
    report("written", 1.0)
    return {f"{name}.{fmt}": n for name, n in sink.rows.items()}


def write_truth(
    truth: dict[str, Any],
    sink: FileSink,
    opportunity_ids: pa.Array | pa.ChunkedArray | None,
    hidden: Mapping[str, np.ndarray] | None,
) -> None:
    """``truth.json`` (for clean files, its counts and ``dirty`` section made for the files
    ``sink`` wrote) and the deal truth, in ``sink``'s folder (``hidden``: the per-deal hidden
    arrays, ``Org.hidden``)."""
    if not (truth.get("dirty") or {}).get("rate"):
        truth["dirty"] = no_dirt(sink.rows, sink.fmt)
        truth["counts"] = {f"{name}.{sink.fmt}": n for name, n in sink.rows.items()}
    text = json.dumps(truth, indent=1, ensure_ascii=False)
    (sink.out / "truth.json").write_text(text + "\n", encoding="utf-8")
    _write_deal_truth(truth, sink.out, opportunity_ids, hidden or {})


def _write_deal_truth(
    truth: dict[str, Any],
    out: Path,
    opportunity_ids: pa.Array | pa.ChunkedArray | None,
    hidden: Mapping[str, np.ndarray],
) -> None:
    """Each opportunity's true win probability (``truth_opportunities.parquet``), so a scorer can
    compute, over any analysis window, the ratio of truly expected wins to the model's expected
    wins: the deviation the method is meant to find. With a planted experiment, also
    ``exp_p0`` (the win probability without it; NaN for an untreated deal) and
    ``close_if_won`` (the close the deal would have had if won; null for a follow-on deal), from
    which ``evaluate.experiment_truth`` computes the true effect on the share won within H
    days. Written for clean orgs only (dirty rows change keys)."""
    path = out / DEAL_TRUTH
    path.unlink(missing_ok=True)
    p_win = hidden.get("p_win")
    if p_win is None or opportunity_ids is None or (truth.get("dirty") or {}).get("rate"):
        return
    if len(p_win) != len(opportunity_ids):
        return
    columns = {"opportunity_id": opportunity_ids, "p_win": pa.array(p_win)}
    if "exp_p0" in hidden and "close_if_won" in hidden:
        close = np.asarray(hidden["close_if_won"])
        columns["exp_p0"] = pa.array(hidden["exp_p0"], pa.float64())
        columns["close_if_won"] = pa.array(close, pa.int64(), mask=close == NO_TIME).cast(
            pa.timestamp("s")
        )
    pq.write_table(pa.table(columns), path)
