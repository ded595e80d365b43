"""What to generate: ``SynthConfig`` and its checks, ``SynthError``, the progress callback."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from brightspots.errors import BrightspotsError

Progress = Callable[[str, float], None]


class SynthError(BrightspotsError):
    """An impossible synthetic-organisation configuration."""


@dataclass(frozen=True)
class SynthConfig:
    reps: int = 200
    months: int = 18
    seed: int = 7
    end: date = date(2026, 10, 31)  # last day of data; start = end - months
    null: bool = False  # no planted deviants at all
    dirty: float = 0.0  # fraction of rows made bad, across every kind of bad row
    opportunities_per_rep_month: float = 8.0
    activities: int | None = None  # if given, scale opportunity volume to hit ~this many

    def check(self) -> None:
        if self.reps < 10:
            raise SynthError(f"reps must be at least 10 (two teams of five), got {self.reps}")
        if not 3 <= self.months <= 120:
            raise SynthError(f"months must be between 3 and 120, got {self.months}")
        if not 0.0 <= self.dirty <= 0.5:
            raise SynthError(f"dirty must be between 0 and 0.5, got {self.dirty}")
        if not self.opportunities_per_rep_month > 0:
            raise SynthError("opportunities_per_rep_month must be positive")
        if self.activities is not None and self.activities < 1000:
            raise SynthError(f"activities must be at least 1000, got {self.activities}")
