"""``synthesize``: generate, corrupt (when ``dirty > 0``) and write, with one progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from brightspots.synth.config import Progress, SynthConfig, SynthError
from brightspots.synth.dirt import dirty_org
from brightspots.synth.files import write
from brightspots.synth.org import generate


def _scaled(progress: Progress | None, lo: float, hi: float) -> Progress | None:
    if progress is None:
        return None
    return lambda step, fraction: progress(step, lo + (hi - lo) * fraction)


def synthesize(
    config: SynthConfig, out: Path, fmt: str = "csv", progress: Progress | None = None
) -> dict[str, Any]:
    """Generate, corrupt (when ``config.dirty > 0``) and write an organisation; returns truth."""
    if fmt not in ("csv", "parquet"):
        raise SynthError(f"format must be csv or parquet, got {fmt!r}")
    org = generate(config, _scaled(progress, 0.0, 0.6))
    if config.dirty > 0:
        if progress:
            progress("dirty rows", 0.6)
        clean, org.tables = org.tables, {}
        org = dirty_org(org, clean, fmt)
    write(org, Path(out), fmt, _scaled(progress, 0.7, 1.0))
    return org.truth
