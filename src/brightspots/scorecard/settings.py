"""The ``[scorecard]`` settings, checked once: the components, their targets and weights (the
organisation's performance-plan objectives) and the cap on attainment.

``ScorecardSettings.from_config(config)`` refuses a bad value with a sentence naming the setting:
an unknown component, a target that is not above 0 (or above 1 for a share: care is 0-1 and
practices a share of practices), a negative weight, weights that add up to 0, a cap below 1.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from brightspots.errors import BrightspotsError

#: every component, in the scorecard's column order (later work only appends)
COMPONENTS = ("results", "impact", "care_customer", "care_employee", "practices")
#: components read from ``care_index`` (rep and team rows), by their source
CARE_SOURCES = {"care_customer": "customer", "care_employee": "employee"}
#: components whose value is a share of 0 to 1: a target above 1 could never be met
SHARES = (*CARE_SOURCES, "practices")
#: what each component measures, in words (the HTML's headings and the CLI's summary)
WORDS = {
    "results": "results against expected",
    "impact": "effort to buyer impact",
    "care_customer": "customer care",
    "care_employee": "employee care",
    "practices": "practices adopted",
}
#: short names (the CLI's summary line)
LABELS = {
    "results": "results",
    "impact": "buyer impact",
    "care_customer": "customer care",
    "care_employee": "employee care",
    "practices": "practices",
}
DEFAULT_TARGETS = {
    "results": 1.0,
    "impact": 1.0,
    "care_customer": 0.75,
    "care_employee": 0.75,
    "practices": 0.5,
}
DEFAULT_WEIGHTS = {
    "results": 0.4,
    "impact": 0.15,
    "care_customer": 0.2,
    "care_employee": 0.1,
    "practices": 0.15,
}


class ScorecardConfigError(BrightspotsError):
    """A ``[scorecard]`` setting that cannot be used."""


@dataclass(frozen=True)
class ScorecardSettings:
    """``[scorecard]``: the components shown, a target and a weight each, and the cap."""

    components: tuple[str, ...] = COMPONENTS
    targets: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_TARGETS))
    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    #: attainment = min(value / target, cap)
    cap: float = 1.5

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ScorecardSettings:
        """The settings of a merged workspace config (``Workspace.config``)."""
        section = dict(config.get("scorecard") or {})
        components = _components(section.get("components", list(COMPONENTS)))
        targets = _numbers(section, "targets", DEFAULT_TARGETS)
        weights = _numbers(section, "weights", DEFAULT_WEIGHTS)
        for c, v in targets.items():
            if not v > 0:
                raise ScorecardConfigError(
                    f"[scorecard] targets.{c} = {v:g}: a target must be above 0"
                )
            if c in SHARES and v > 1:
                raise ScorecardConfigError(
                    f"[scorecard] targets.{c} = {v:g}: {WORDS[c]} is a share of 0 to 1, so its "
                    f"target must be at most 1 (e.g. 0.75 for 75 of 100)"
                )
        for c, v in weights.items():
            if v < 0:
                raise ScorecardConfigError(
                    f"[scorecard] weights.{c} = {v:g}: a weight must be 0 or more"
                )
        if not sum(weights[c] for c in components) > 0:
            raise ScorecardConfigError(
                "[scorecard] weights: the weights of the components add up to 0; give at least "
                "one a positive weight"
            )
        cap = _number(section.get("cap", cls.cap), "cap")
        if cap < 1:
            raise ScorecardConfigError(
                f"[scorecard] cap = {cap:g}: it must be at least 1 (attainment is capped there, "
                "and meeting a target is 1)"
            )
        return cls(components=components, targets=targets, weights=weights, cap=cap)


def _components(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ScorecardConfigError(
            f"[scorecard] components = {value!r}: it must be a list, e.g. "
            f'["results", "care_customer"]'
        )
    unknown = [v for v in value if v not in COMPONENTS]
    if unknown:
        raise ScorecardConfigError(
            f"[scorecard] components: unknown component {unknown[0]!r}; choose from "
            f"{', '.join(COMPONENTS)}"
        )
    if not value:
        raise ScorecardConfigError("[scorecard] components is empty: list at least one component")
    if len(set(value)) != len(value):
        raise ScorecardConfigError(f"[scorecard] components = {value!r} names one twice")
    return tuple(c for c in COMPONENTS if c in value)  # the scorecard's own order


def _numbers(
    section: Mapping[str, Any], key: str, default: Mapping[str, float]
) -> dict[str, float]:
    """``targets`` or ``weights``: a number for every component (the defaults fill the rest)."""
    given = section.get(key, dict(default))
    if not isinstance(given, Mapping):
        raise ScorecardConfigError(
            f"[scorecard] {key} = {given!r}: it must be a table, e.g. {{ results = 1.0 }}"
        )
    unknown = [k for k in given if k not in COMPONENTS]
    if unknown:
        raise ScorecardConfigError(
            f"[scorecard] {key}.{unknown[0]}: not a component; choose from {', '.join(COMPONENTS)}"
        )
    merged = {**default, **given}
    return {c: _number(merged[c], f"{key}.{c}") for c in COMPONENTS}


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScorecardConfigError(f"[scorecard] {name} = {value!r}: it must be a number")
    return float(value)
