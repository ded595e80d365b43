"""The practice registry: each practice is data (id, words, level, direction, kind, which analysis
is primary) plus an Ibis builder over the canonical tables. Built-ins and a workspace's own
practices are entries of the same type."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Level = Literal["opportunity", "rep_period"]
Kind = Literal["binary", "count", "rate", "share", "hours"]
Primary = Literal["landmark", "stage"]


@dataclass(frozen=True)
class Practice:
    """One practice.

    * ``kind``: binary (0/1 per deal), count (per deal), rate (per open week), share (0..1) or
      hours.
    * ``primary``: the analysis least exposed to leakage, the one its q-value is about:
      ``landmark`` (measured in the first N days on deals still open at day N) for counts and
      rates, ``stage`` (among deals that reached the stage the practice refers to) for sequence
      practices.
    * ``phrase``: for a binary practice, what holds on the deal, completing "Deals where ...";
      otherwise the measure, completing "Deals with more ..." (e.g. "touches per open week").
    * ``unit``: the unit of a non-binary value ("touches per open week", "hours").
    * ``stage``: for ``primary == "stage"``, the deals compared, in words ("deals that reached a
      proposal").
    * ``build``: the Ibis builder (see ``features``); None only in tests of the statistics.
    """

    id: str
    description: str
    level: Level
    higher_is_better: bool
    kind: Kind
    primary: Primary
    phrase: str
    unit: str = ""
    stage: str = ""
    source: Literal["builtin", "custom"] = "builtin"
    build: Callable[..., Any] | None = None
