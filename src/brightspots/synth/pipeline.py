"""``synthesize``: generate, corrupt (when ``dirty > 0``) and write, with one progress bar.

A clean organisation is written as it is generated (``FileSink``): activities and buyer events
go to their files slice by slice from compact numeric rows, so a 100M-activity organisation
fits in a few GB. A dirty one is corrupted whole, as text, in memory (dirty orgs are small)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from brightspots.synth.config import Progress, SynthConfig, SynthError, scaled_progress
from brightspots.synth.dirt import dirty_org
from brightspots.synth.files import FileSink, write, write_truth
from brightspots.synth.org import build, generate


def synthesize(
    config: SynthConfig, out: Path, fmt: str = "csv", progress: Progress | None = None
) -> dict[str, Any]:
    """Generate, corrupt (when ``config.dirty > 0``) and write an organisation; returns truth."""
    if fmt not in ("csv", "parquet"):
        raise SynthError(f"format must be csv or parquet, got {fmt!r}")
    if config.dirty > 0:
        org = generate(config, scaled_progress(progress, 0.0, 0.6))
        if progress:
            progress("dirty rows", 0.6)
        clean, org.tables = org.tables, {}
        org = dirty_org(org, clean, fmt)
        write(org, Path(out), fmt, scaled_progress(progress, 0.7, 1.0))
        return org.truth
    config.check()
    sink = FileSink(Path(out), fmt)
    built = build(config, sink, scaled_progress(progress, 0.0, 0.98))
    write_truth(built.truth, sink, built.opportunity_ids, built.hidden)
    if progress:
        progress("written", 1.0)
    return built.truth
