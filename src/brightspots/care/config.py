"""The ``[care]`` settings, checked once, and the ``Source`` the care pipeline reads.

``CareSettings.from_config(config)`` refuses a bad value with a sentence naming the setting
(``analyze`` calls it before any work). ``Source`` is what ``care_tables`` needs of a workspace:
its canonical tables as Ibis tables, an engine to run expressions on, and its time zone; a
``Workspace`` satisfies it, and so does a test adapter over in-memory tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from brightspots.care.disclosure import DisclosureError, check_k, primary_reason
from brightspots.errors import BrightspotsError
from brightspots.windows import Window, WindowError, parse_window

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pandas as pd

#: what makes a story a caregiver story (``[care] story_tags``: its tags; ``story_keywords``:
#: whole words or phrases of its text) when the workspace config does not say
STORY_TAGS = ("care", "caregiver", "customer-care")
STORY_KEYWORDS = (
    "cared",
    "looked after",
    "checked in",
    "checking in",
    "went the extra mile",
    "listened",
)


class CareConfigError(BrightspotsError):
    """A ``[care]`` setting that cannot be used."""


class Source(Protocol):
    """The canonical tables and an engine: a ``Workspace``, or memtables in tests."""

    @property
    def timezone(self) -> str: ...

    def table(self, name: str) -> ir.Table: ...

    def execute(self, expr: Any) -> pd.DataFrame: ...


@dataclass(frozen=True)
class CareSettings:
    """``[care]`` (and the two ``[analysis]`` settings the care statistics share with results)."""

    dimension: str = "care"
    reverse_items: tuple[str, ...] = ()
    min_respondents: int = 5
    min_volume: int = 10
    window: Window = Window(months=12)
    outcome_window: Window = Window(months=12)
    story_tags: tuple[str, ...] = STORY_TAGS
    story_keywords: tuple[str, ...] = STORY_KEYWORDS
    #: ``[analysis] overdispersion``: how phi is read (as for results)
    phi_method: str = "unbiased"
    #: ``[analysis] pool_min_cases``: segments and quarters with fewer accounts are pooled
    pool_min_cases: int = 30

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> CareSettings:
        """The settings of a merged workspace config (``Workspace.config``)."""
        care = dict(config.get("care") or {})
        analysis = dict(config.get("analysis") or {})
        default = cls()
        dimension = str(care.get("dimension", default.dimension)).strip()
        if not dimension:
            raise CareConfigError('[care] dimension is empty: name the survey dimension, "care"')
        try:
            k = check_k(care.get("min_respondents", default.min_respondents))
        except DisclosureError as err:
            raise CareConfigError(str(err)) from None
        return cls(
            dimension=dimension,
            reverse_items=_texts(care, "reverse_items", default.reverse_items),
            min_respondents=k,
            min_volume=_whole(care, "min_volume", default.min_volume, least=1),
            window=_window(care.get("window", "12m"), "window", allow_all=True),
            outcome_window=_window(
                care.get("outcome_window", "12m"), "outcome_window", allow_all=False
            ),
            story_tags=_texts(care, "story_tags", default.story_tags),
            story_keywords=_texts(care, "story_keywords", default.story_keywords),
            phi_method=str(analysis.get("overdispersion", default.phi_method)),
            pool_min_cases=int(analysis.get("pool_min_cases", default.pool_min_cases)),
        )

    def suppressed_words(self) -> str:
        """Why a cell is not shown, as ``disclose`` writes it."""
        return primary_reason(self.min_respondents)


def _whole(section: Mapping[str, Any], key: str, default: int, *, least: int) -> int:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise CareConfigError(f"[care] {key} = {value!r}: it must be a whole number >= {least}")
    return value


def _texts(section: Mapping[str, Any], key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = section.get(key, list(default))
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise CareConfigError(f'[care] {key} = {value!r}: it must be a list, e.g. ["a", "b"]')
    bad = [v for v in value if not isinstance(v, str) or not v.strip()]
    if bad:
        raise CareConfigError(f"[care] {key}: {bad[0]!r} is not a non-empty text")
    return tuple(v.strip() for v in value)


def _window(value: Any, key: str, *, allow_all: bool) -> Window:
    try:
        window = parse_window(value, setting=f"[care] {key}")
    except WindowError as err:
        raise CareConfigError(str(err)) from None
    if window.is_all and not allow_all:
        raise CareConfigError(
            f"[care] {key} = {value!r}: it must be a length of time such as '12m' or '365d'"
        )
    return window


def within_words(window: Window) -> str:
    """'within 12 months' for a window of 12 months."""
    if window.months:
        return f"within {window.months} month{'s' if window.months != 1 else ''}"
    if window.days:
        return f"within {window.days} day{'s' if window.days != 1 else ''}"
    return "at any time after"
