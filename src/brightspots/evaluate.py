"""Score detection against planted truth (a synthetic org's ``truth.json``).

Used by the acceptance tests and ``bench/detection.py``: precision and recall of the reps labelled
``bright_spot`` against the planted ones, beside the naive raw leaderboard (the top k reps by won
amount, k = the number of planted bright spots) for contrast.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class Detection:
    planted: int
    labelled: int
    true_positives: int
    rich_labelled: int  # planted rich-territory reps wrongly labelled bright_spot
    raw_true_positives: int  # planted bright spots in the raw top k
    raw_rich_in_top: int  # rich-territory reps in the raw top k

    @property
    def precision(self) -> float:
        return self.true_positives / self.labelled if self.labelled else float("nan")

    @property
    def recall(self) -> float:
        return self.true_positives / self.planted if self.planted else float("nan")

    @property
    def raw_precision(self) -> float:
        return self.raw_true_positives / self.planted if self.planted else float("nan")

    def __add__(self, other: Detection) -> Detection:
        return Detection(*(getattr(self, f) + getattr(other, f) for f in self.__dataclass_fields__))


def score(bright_spots: pd.DataFrame, truth: dict) -> Detection:
    """Compare a run's ``bright_spots`` table (rep_id, label, won_amount) with planted truth."""
    planted = set(truth.get("bright_spots", []))
    rich = set(truth.get("rich_territory_reps", []))
    labelled = set(bright_spots.loc[bright_spots["label"] == "bright_spot", "rep_id"])
    k = len(planted)
    top = bright_spots.sort_values(["won_amount", "rep_id"], ascending=[False, True]).head(k)
    raw = set(top["rep_id"])
    return Detection(
        planted=len(planted),
        labelled=len(labelled),
        true_positives=len(labelled & planted),
        rich_labelled=len(labelled & rich),
        raw_true_positives=len(raw & planted),
        raw_rich_in_top=len(raw & rich),
    )


def analyse_synthetic(folder: Path, config: Any) -> tuple[pd.DataFrame, dict, dict]:
    """Generate a synthetic org into ``folder``, import it, analyse it.

    Returns the run's ``bright_spots`` table, the planted truth and the run's diagnostics.
    ``config`` is a ``synth.SynthConfig``.
    """
    from brightspots import synth
    from brightspots.analysis import analyze
    from brightspots.ingest import import_path
    from brightspots.workspace import init_workspace

    data, ws_dir = folder / "data", folder / "ws"
    truth = synth.synthesize(config, data, fmt="parquet")
    with init_workspace(ws_dir) as ws:
        import_path(ws, data)
        run = analyze(ws)
        table = ws.run_results("bright_spots", run.run_id)
    return table, truth, run.diagnostics
