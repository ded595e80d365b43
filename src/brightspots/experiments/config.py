"""The ``[experiments]`` settings, checked once, and the one error of experiments.

``ExperimentSettings.of(config)`` refuses a bad value with one sentence naming the key, e.g.
"[experiments] power = 1.5 in brightspots.toml: use a number between 0 and 1 (e.g. 0.8)".
The defaults are ``workspace.DEFAULT_CONFIG["experiments"]``; a key the config leaves out takes
the dataclass default, so an old config without the section reads the same.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from brightspots.errors import BrightspotsError

#: what an experiment's outcome may be: deals won within the horizon of creation, the share of
#: touches with buyer impact, the median capped response hours (lower is better)
OUTCOMES = ("win_rate", "impact_rate", "response_hours")
#: which teams an experiment is compared with (``similar``: the nearest in outcome, trend, volume,
#: practice use and deal mix; ``all``: every team not in it, and its own teams until they start)
COMPARISONS = ("similar", "all")
KINDS = ("team", "personal")
#: the smallest change worth detecting, per outcome, when the config gives none
DETECT = {"win_rate": 0.05, "impact_rate": 0.03, "response_hours": 2.0}
#: the columns of the three run tables (``export`` gives a run without them empty ones)
STATUS_COLUMNS = (
    "experiment_id",
    "name",
    "verdict",
    "headline",
    "figures",  # JSON
    "warnings",  # JSON list of sentences
    "definition_digest",
    "data_as_of",
)
EFFECT_COLUMNS = (
    "experiment_id",
    "measure",  # outcome | adoption
    "aggregation",  # overall | event | cell | pretrend
    "g",
    "t",
    "e",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "n_treated",
    "n_control",
    "weight",
)
PANEL_COLUMNS = (
    "experiment_id",
    "measure",
    "unit_id",
    "role",  # treated | comparison | rep | peers
    "week",
    "value",
    "volume",
    "mature",
)
RUN_TABLES: dict[str, tuple[str, ...]] = {
    "experiment_status": STATUS_COLUMNS,
    "experiment_effects": EFFECT_COLUMNS,
    "experiment_panel": PANEL_COLUMNS,
}

_HORIZON = re.compile(r"^\s*(\d+)\s*(d|days?|w|weeks?)\s*$", re.IGNORECASE)


class ExperimentError(BrightspotsError):
    """An experiment that cannot be made, changed or found as asked, or a bad ``[experiments]``
    setting; the message is one sentence the user can act on."""


def _bad(key: str, value: Any, hint: str) -> ExperimentError:
    return ExperimentError(f"[experiments] {key} = {value!r} in brightspots.toml: {hint}")


HORIZON_HINT = "use days like '90d' or weeks like '13w' (1 day to 2 years)"


def parse_horizon(value: Any, *, key: str = "--horizon") -> int:
    """``"90d"``, ``"13w"`` or a whole number of days -> days (1 to 730)."""
    days: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        days = value
    elif isinstance(value, str):
        m = _HORIZON.match(value)
        if m:
            days = int(m.group(1)) * (7 if m.group(2).lower().startswith("w") else 1)
    if days is None or not 1 <= days <= 730:
        raise ExperimentError(f"{key} {value!r}: {HORIZON_HINT}")
    return days


def _whole(section: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _bad(key, value, f"use a whole number from {low} to {high} (e.g. {default})")
    return value


def _number(
    section: Mapping[str, Any],
    key: str,
    default: float,
    low: float,
    high: float,
    *,
    closed: bool,
    prefix: str = "",
) -> float:
    """A number in [low, high] (``closed``) or (low, high); ``prefix`` names the sub-table."""
    value = section.get(key, default)
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok:
        ok = low <= value <= high if closed else low < value < high
    if not ok:
        span = f"from {low:g} to {high:g}" if closed else f"between {low:g} and {high:g}"
        raise _bad(prefix + key, value, f"use a number {span} (e.g. {default:g})")
    return float(value)


@dataclass(frozen=True)
class ExperimentSettings:
    """``[experiments]`` in brightspots.toml (README, *Practice experiments*)."""

    horizon_days: int = 90  # win_rate: deals won within this many days of creation
    baseline_weeks: int = 12  # the baseline is the mean of this many weeks before the start
    history_weeks: int = 26  # weeks before the first start: similarity and power
    comparison: str = "similar"
    comparison_teams: int = 0  # 0: max(6, 2 x treated teams), capped by the candidates
    detect: dict[str, float] = field(default_factory=lambda: dict(DETECT))
    power: float = 0.8
    min_uptake: float = 0.05
    draws: int = 1999
    min_teams: int = 4
    min_weeks: int = 4

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> ExperimentSettings:
        """The settings of a workspace config (``Workspace.config``), checked."""
        section = config.get("experiments", {}) or {}
        if not isinstance(section, Mapping):
            raise ExperimentError(
                f"[experiments] in brightspots.toml is {section!r}: it must be a table of settings"
            )
        known = {f for f in cls.__dataclass_fields__ if f != "horizon_days"} | {"horizon"}
        unknown = sorted(set(section) - known)
        if unknown:
            raise ExperimentError(
                f"[experiments] {unknown[0]} in brightspots.toml is not a setting; the settings "
                f"are {', '.join(sorted(known))}"
            )
        try:
            horizon = parse_horizon(section.get("horizon", "90d"))
        except ExperimentError:
            raise _bad("horizon", section.get("horizon"), HORIZON_HINT) from None
        baseline = _whole(section, "baseline_weeks", 12, 1, 52)
        history = _whole(section, "history_weeks", 26, 1, 156)
        if history < baseline:
            raise _bad(
                "history_weeks",
                history,
                f"it must be at least baseline_weeks ({baseline}): the baseline is read from it",
            )
        comparison = section.get("comparison", "similar")
        if comparison not in COMPARISONS:
            raise _bad("comparison", comparison, f"use one of {', '.join(map(repr, COMPARISONS))}")
        detect = section.get("detect", {}) or {}
        if not isinstance(detect, Mapping):
            raise _bad("detect", detect, "use a table like { win_rate = 0.05 }")
        for key in detect:
            if key not in OUTCOMES:
                raise _bad(f"detect.{key}", detect[key], f"the outcomes are {', '.join(OUTCOMES)}")
        high = {"win_rate": 1.0, "impact_rate": 1.0, "response_hours": 24.0 * 30}
        sizes = {
            o: _number(detect, o, DETECT[o], 0.0, high[o], closed=False, prefix="detect.")
            for o in OUTCOMES
        }
        return cls(
            horizon_days=horizon,
            baseline_weeks=baseline,
            history_weeks=history,
            comparison=comparison,
            comparison_teams=_whole(section, "comparison_teams", 0, 0, 1000),
            detect=sizes,
            power=_number(section, "power", 0.8, 0.0, 1.0, closed=False),
            min_uptake=_number(section, "min_uptake", 0.05, 0.0, 1.0, closed=False),
            draws=_whole(section, "draws", 1999, 99, 99_999),
            min_teams=_whole(section, "min_teams", 4, 2, 1000),
            min_weeks=_whole(section, "min_weeks", 4, 1, 156),
        )
