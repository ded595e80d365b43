"""Account value and tier: what each customer is worth a year, and the tier that sets the rules of
its plan.

Value, in the workspace's currency a year, is a weighted sum (weights in ``[plan.value]``)::

    value = won_12m * w_won                   revenue won in the last 12 months
          + pipeline * w_pipeline             open deals' amount x their win probability
          + potential * w_potential           annual_potential (a wallet estimate, not revenue)
          + expansion_24m / 2 * w_expansion   expansion revenue won in 24 months, a year's worth

Missing parts count as 0 and are named in the account's ``value_note``. The default weights (1,
1, 0.25, 0.5) count a wallet estimate at a quarter (the share of a wallet an account typically
gives in a year is well below all of it) and expansion history at half (it is already in the
last 12 months' revenue when recent; it counts again because it predicts more).

Tiers follow the Pareto (ABC) convention on value: the accounts that together make the first
``strategic`` share of total value (default 50%) are strategic, the next ones up to ``key`` (80%)
are key, up to ``core`` (95%) core, the rest maintain. An account whose value is 0 is always
``maintain``. Accounts of equal value share a tier (the share counted before the first of them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from brightspots.errors import BrightspotsError

TIERS = ("strategic", "key", "core", "maintain")

#: columns ``value_frame`` reads (NaN: not recorded)
INPUTS = ("won_12m", "pipeline", "annual_potential", "expansion_24m")


class ValueConfigError(BrightspotsError):
    """``[plan.value]`` or ``[plan.tiers]`` cannot be used; the message names the key."""


@dataclass(frozen=True)
class ValueSettings:
    won: float = 1.0
    pipeline: float = 1.0
    potential: float = 0.25
    expansion: float = 0.5
    #: cumulative value shares closing the strategic, key and core tiers
    strategic: float = 0.5
    key: float = 0.8
    core: float = 0.95

    @classmethod
    def of(cls, config: dict) -> ValueSettings:
        plan = config.get("plan") or {}
        weights, cuts = plan.get("value") or {}, plan.get("tiers") or {}
        got = {}
        for name in ("won", "pipeline", "potential", "expansion"):
            got[name] = _number(weights, name, getattr(cls, name), "[plan.value]")
            if got[name] < 0:
                raise ValueConfigError(f"[plan.value] {name} = {got[name]:g}: use 0 or more")
        for name in ("strategic", "key", "core"):
            got[name] = _number(cuts, name, getattr(cls, name), "[plan.tiers]")
        if not 0 < got["strategic"] <= got["key"] <= got["core"] <= 1:
            raise ValueConfigError(
                f"[plan.tiers] strategic = {got['strategic']:g}, key = {got['key']:g}, core = "
                f"{got['core']:g}: use cumulative value shares with 0 < strategic <= key <= "
                "core <= 1"
            )
        return cls(**got)


def _number(section: dict, key: str, default: float, where: str) -> float:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        raise ValueConfigError(f"{where} {key} = {value!r}: use a number")
    return float(value)


def value_frame(accounts: pd.DataFrame, s: ValueSettings) -> pd.DataFrame:
    """``accounts`` (one row per account with ``INPUTS``) with ``value`` (a year), its parts,
    ``value_note`` (what was missing) and ``tier``."""
    out = accounts.copy()
    parts = {
        "value_won": out["won_12m"].fillna(0.0) * s.won,
        "value_pipeline": out["pipeline"].fillna(0.0) * s.pipeline,
        "value_potential": out["annual_potential"].fillna(0.0) * s.potential,
        "value_expansion": out["expansion_24m"].fillna(0.0) / 2.0 * s.expansion,
    }
    for name, col in parts.items():
        out[name] = col.astype(float)
    out["value"] = sum(parts.values()).astype(float)
    out["value_note"] = _notes(out)
    out["tier"] = tiers(out["value"].to_numpy(float), s)
    return out


def _notes(frame: pd.DataFrame) -> list[str]:
    notes = []
    potential = frame["annual_potential"].isna().to_numpy()
    won = frame["won_12m"].fillna(0).to_numpy() > 0
    pipe = frame["pipeline"].fillna(0).to_numpy() > 0
    for value, no_potential, has_won, has_pipe in zip(
        frame["value"].to_numpy(float), potential, won, pipe, strict=True
    ):
        if value <= 0:
            notes.append("no revenue, open pipeline or potential recorded: value 0")
        elif no_potential and not has_won and not has_pipe:
            notes.append("value from expansion history only")
        elif no_potential:
            notes.append("no annual potential recorded: value from revenue and pipeline")
        else:
            notes.append("")
    return notes


def tiers(value: np.ndarray, s: ValueSettings) -> np.ndarray:
    """Each account's tier by the share of total value held by the accounts worth more than it
    (ties counted together: equal values share a tier)."""
    value = np.where(np.isfinite(value), np.maximum(value, 0.0), 0.0)
    total = float(value.sum())
    out = np.full(len(value), "maintain", dtype=object)
    if total <= 0:
        return out
    # share of total value of the accounts strictly more valuable than each one
    order = np.sort(value)[::-1]
    cum = np.concatenate([[0.0], np.cumsum(order)])
    before = cum[np.searchsorted(-order, -value, side="left")] / total
    out[(value > 0) & (before < s.core)] = "core"
    out[(value > 0) & (before < s.key)] = "key"
    out[(value > 0) & (before < s.strategic)] = "strategic"
    return out
