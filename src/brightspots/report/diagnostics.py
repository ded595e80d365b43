"""A run's diagnostics (``run.diagnostics``), typed: the model, the window, and one summary per
level (rep, team, region) and outcome.

Runs made before levels and outcomes existed carry only the rep-level, win-rate summary at the
top level; they read as a run with one level and one outcome, and no window in words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import pandas as pd

from brightspots.report.tables import LEVELS, PRIMARY_OUTCOME, ReportError

RANKABILITY_THRESHOLD = 0.5


class _Reader:
    """Typed access to one dict of the diagnostics, with errors naming where it came from."""

    def __init__(self, d: Any, source: str) -> None:
        if not isinstance(d, dict):
            raise ReportError(f"{source}: {d!r} is not a mapping")
        self.d, self.source = d, source

    def get(self, key: str) -> Any:
        if key not in self.d:
            raise ReportError(f"{self.source}: missing {key!r}")
        return self.d[key]

    def has(self, key: str) -> bool:
        return self.d.get(key) is not None

    def integer(self, key: str) -> int:
        v = self.get(key)
        if isinstance(v, bool) or not isinstance(v, int | float) or not float(v).is_integer():
            raise ReportError(f"{self.source}: {key!r} = {v!r} is not a whole number")
        return int(v)

    def number(self, key: str, *, optional: bool = False, default: float = math.nan) -> float:
        if optional and key not in self.d:
            return default
        v = self.get(key)
        if v is None and optional:
            return math.nan
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ReportError(f"{self.source}: {key!r} = {v!r} is not a number")
        return float(v)

    def text(self, key: str) -> str | None:
        v = self.d.get(key)
        if v is None or v == "":
            return None
        if not isinstance(v, str):
            raise ReportError(f"{self.source}: {key!r} = {v!r} is not text")
        return v

    def texts(self, key: str, *, optional: bool = False) -> tuple[str, ...]:
        v = self.d.get(key) if optional else self.get(key)
        if v is None:
            return ()
        if not isinstance(v, list | tuple) or not all(isinstance(x, str) for x in v):
            raise ReportError(f"{self.source}: {key!r} = {v!r} is not a list of text")
        return tuple(v)

    def day(self, key: str, *, optional: bool = False) -> date | None:
        v = self.d.get(key) if optional else self.get(key)
        if v is None or (isinstance(v, str) and v.strip() in ("", "None", "NaT")):
            return None
        try:
            t = pd.Timestamp(v)
        except (ValueError, TypeError):
            raise ReportError(f"{self.source}: {key!r} = {v!r} is not a date") from None
        return None if pd.isna(t) else t.date()

    def child(self, key: str) -> _Reader:
        return _Reader(self.get(key), f"{self.source}, {key}")


@dataclass(frozen=True)
class OutcomeSummary:
    """One level's assessment of one outcome: spread between units, rankability, counts."""

    phi: float
    tau2: float
    mu: float
    rankability: float
    n_units: int
    n_eligible: int
    n_bright_spots: int
    n_candidates: int
    tau2_zero_note: str | None = None
    n_detectable: int | None = None  # units with enough power to find a true ratio of `effect`
    effect: float | None = None
    #: the volume a unit needs on this outcome (closed deals; settled touches for buyer impact)
    min_volume: int | None = None

    @property
    def ranks_published(self) -> bool:
        r = self.rankability
        return not math.isnan(r) and r >= RANKABILITY_THRESHOLD

    @classmethod
    def read(cls, r: _Reader) -> OutcomeSummary:
        return cls(
            phi=r.number("phi", optional=True),
            tau2=r.number("tau2"),
            mu=r.number("mu", optional=True, default=1.0),
            rankability=r.number("rankability", optional=True),
            n_units=r.integer("n_units"),
            n_eligible=r.integer("n_eligible"),
            n_bright_spots=r.integer("n_bright_spots"),
            n_candidates=r.integer("n_candidates"),
            tau2_zero_note=r.text("tau2_zero_note"),
            n_detectable=r.integer("n_detectable") if r.has("n_detectable") else None,
            effect=r.number("effect") if r.has("effect") else None,
            min_volume=r.integer("min_volume") if r.has("min_volume") else None,
        )


@dataclass(frozen=True)
class LevelSummary:
    """One level (rep, team or region): its window, last quarters, and a summary per outcome."""

    level: str
    window: str | None
    window_words: str | None
    window_start: date | None
    quarters: tuple[str, ...]
    outcomes: dict[str, OutcomeSummary]
    n_bright_spots: int
    n_candidates: int

    @property
    def primary(self) -> OutcomeSummary:
        return self.outcomes[PRIMARY_OUTCOME]

    @classmethod
    def read(cls, level: str, r: _Reader) -> LevelSummary:
        outs = r.child("outcomes")
        outcomes = {str(o): OutcomeSummary.read(outs.child(o)) for o in outs.d}
        if PRIMARY_OUTCOME not in outcomes:
            raise ReportError(f"{outs.source}: missing {PRIMARY_OUTCOME!r}")
        return cls(
            level=level,
            window=r.text("window"),
            window_words=r.text("window_words"),
            window_start=r.day("window_start", optional=True),
            quarters=r.texts("quarters", optional=True),
            outcomes=outcomes,
            n_bright_spots=r.integer("n_bright_spots"),
            n_candidates=r.integer("n_candidates"),
        )


@dataclass(frozen=True)
class PracticeNotes:
    """What the practice analysis of a run covered (``diagnostics["practices"]``)."""

    n_deals: int
    n_bright_spots: int
    n_peers: int
    landmark_days: int

    @classmethod
    def read(cls, r: _Reader) -> PracticeNotes:
        return cls(
            n_deals=r.integer("n_deals"),
            n_bright_spots=r.integer("n_bright_spots"),
            n_peers=r.integer("n_peers"),
            landmark_days=r.integer("landmark_days"),
        )


@dataclass(frozen=True)
class Diagnostics:
    """The run's model, window and per-level summaries (``run.diagnostics``), typed.

    ``summary`` is the rep level's headline summary, stored flat in every run's diagnostics
    (spread and rankability of win rate; label counts over all outcomes)."""

    auc: float | None
    n_cases: int
    n_wins: int
    covariates: tuple[str, ...]
    warnings: tuple[str, ...]
    summary: OutcomeSummary
    min_volume: int
    window_start: date | None
    window_end: date | None
    window: str | None = None
    window_words: str | None = None
    team_window: str | None = None
    outcomes: tuple[str, ...] = (PRIMARY_OUTCOME,)
    levels: dict[str, LevelSummary] | None = None
    practices: PracticeNotes | None = None  # None: the run analysed no practices
    timezone: str | None = None  # the workspace time zone the run's days are in

    def level(self, name: str) -> LevelSummary | None:
        return (self.levels or {}).get(name)

    @property
    def reps(self) -> LevelSummary:
        rep = self.level("rep")
        assert rep is not None  # from_dict always fills the rep level
        return rep

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, source: str = "diagnostics") -> Diagnostics:
        r = _Reader(d, source)
        auc = r.number("auc", optional=True)
        flat = OutcomeSummary.read(r)
        base = cls(
            auc=None if math.isnan(auc) else auc,
            n_cases=r.integer("n_cases"),
            n_wins=r.integer("n_wins"),
            covariates=r.texts("covariates"),
            warnings=r.texts("warnings"),
            summary=replace(flat, phi=r.number("phi")),  # required at the top level
            min_volume=r.integer("min_volume"),
            window_start=r.day("window_start"),
            window_end=r.day("window_end"),
            window=r.text("window"),
            window_words=r.text("window_words"),
            team_window=r.text("team_window"),
            outcomes=r.texts("outcomes", optional=True) or (PRIMARY_OUTCOME,),
            # an empty mapping: the run found bright spots only (no practices)
            practices=PracticeNotes.read(r.child("practices")) if r.d.get("practices") else None,
            timezone=r.text("timezone"),
        )
        if r.has("levels"):
            lv = r.child("levels")
            unknown = [k for k in lv.d if k not in LEVELS]
            if unknown:
                raise ReportError(f"{lv.source}: unknown level {unknown[0]!r}")
            levels = {k: LevelSummary.read(k, lv.child(k)) for k in LEVELS if k in lv.d}
            if "rep" not in levels:
                raise ReportError(f"{lv.source}: missing 'rep'")
        else:
            levels = {
                "rep": LevelSummary(
                    level="rep",
                    window=base.window,
                    window_words=base.window_words,
                    window_start=base.window_start,
                    quarters=(),
                    outcomes={PRIMARY_OUTCOME: flat},
                    n_bright_spots=flat.n_bright_spots,
                    n_candidates=flat.n_candidates,
                )
            }
        return replace(base, levels=levels)
