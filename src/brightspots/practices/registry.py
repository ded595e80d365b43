"""The practice registry: each practice is data (id, words, level, direction, kind, which analysis
is primary) plus an Ibis builder over the practice views. Built-ins and a workspace's own
practices are entries of the same type."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from brightspots.errors import BrightspotsError

Level = Literal["opportunity", "rep_period"]
Kind = Literal["binary", "count", "rate", "share", "hours"]
Primary = Literal["landmark", "stage", "prior_period"]
Absent = Literal["zero", "undefined"]

LEVELS: tuple[str, ...] = ("opportunity", "rep_period")
KINDS: tuple[str, ...] = ("binary", "count", "rate", "share", "hours")


class PracticeConfigError(BrightspotsError):
    """A practice in the workspace config (``[practices]``) cannot be used as written."""


@dataclass(frozen=True)
class Practice:
    """One practice.

    * ``kind``: binary (0/1 per deal), count (per deal), rate (per open week), share (0..1) or
      hours.
    * ``primary``: the analysis least exposed to leakage, the one its q-value is about:
      ``landmark`` (measured in the first N days on deals still open at day N) for counts and
      rates, ``stage`` (among deals that reached the stage the practice refers to) for sequence
      practices, ``prior_period`` for rep_period practices (the owner's value in the calendar
      month before the deal was created; both columns carry it).
    * ``phrase``: for a binary practice, what holds on the deal, completing "Deals where ...";
      otherwise the measure, completing "Deals with more ..." (e.g. "touches per open week").
    * ``unit``: the unit of a non-binary value ("touches per open week", "hours").
    * ``stage``: for ``primary == "stage"``, the deals compared, in words ("deals that reached a
      proposal").
    * ``build``: the builder: ``build(views) -> Table`` over one variant's practice views
      (``views.Views``). An opportunity practice returns ``opportunity_id, value`` (and
      ``reached``, a boolean, when ``primary == "stage"``); a rep_period practice returns
      ``rep_id, period, value`` with ``period`` the local calendar month ``"YYYY-MM"``. None only
      in tests of the statistics.
    * ``absent``: the value of a deal the builder returns no row for: ``zero`` (e.g. a count) or
      ``undefined`` (NaN, e.g. a share of touches on a deal without touches). A rep_period
      practice's deal is undefined when its owner has no value for the month before.
    * ``sql``: a custom practice's SELECT, as written in the config.
    * ``keywords``: words and phrases that name the practice in a customer story (a story's
      tag matching the id or a keyword links the story to the practice, and so does a keyword
      found as a whole word in its title or body; see ``stories.links``).
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
    absent: Absent = "zero"
    sql: str = ""
    keywords: tuple[str, ...] = ()


def _where(p: Practice) -> str:
    return "a built-in practice" if p.source == "builtin" else "[[practices.custom]] in the config"


def check_unique(practices: list[Practice]) -> None:
    """Refuse two practices with the same id, naming both."""
    seen: dict[str, Practice] = {}
    for p in practices:
        if p.id in seen:
            first = seen[p.id]
            raise PracticeConfigError(
                f"practice id {p.id!r} is used twice in brightspots.toml: by {_where(first)} "
                f"({first.description!r}) and by {_where(p)} ({p.description!r}); "
                "give each practice its own id"
            )
        seen[p.id] = p


def landmark_days(config: dict[str, Any]) -> int:
    """``[practices] landmark_days``: a whole number of days, at least 1."""
    value = config.get("practices", {}).get("landmark_days", 14)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise PracticeConfigError(
            f"[practices] landmark_days = {value!r} in brightspots.toml: use a whole number of "
            "days, at least 1 (e.g. 14)"
        )
    return value


def registry(config: dict[str, Any]) -> list[Practice]:
    """Every practice of a workspace, validated: the built-ins, then ``[[practices.custom]]``.

    ``config`` is the workspace config (``Workspace.config``). Raises ``PracticeConfigError``
    naming the practice and what is wrong, before any analysis runs.
    """
    from brightspots.practices.builtin import BUILTINS
    from brightspots.practices.custom import custom_practices

    landmark_days(config)
    section = config.get("practices", {})
    custom = custom_practices(section.get("custom", []), reserved={p.id for p in BUILTINS})
    practices = [*BUILTINS, *custom]
    check_unique(practices)
    return practices
