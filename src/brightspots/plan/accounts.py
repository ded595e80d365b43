"""The run's ``account_plan`` and ``effort_allocation`` tables from the per-account inputs
(``inputs.account_inputs``): value and tier (``value``), fit (``fit``), effort and its buyer
impact, fair share and flags (``proportion``), one row per account, nothing dropped: an account
without touches, potential or closed deals is kept with a note saying so."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from brightspots.plan import fit as fit_mod
from brightspots.plan import proportion
from brightspots.plan.value import ValueSettings, value_frame

#: columns of the run table ``account_plan``, in order
COLUMNS = [
    "account_id",
    "name",
    "owner_rep_id",
    "team_id",
    "segment",
    "industry",
    "region",
    "tier",
    "value",
    "value_won",
    "value_pipeline",
    "value_potential",
    "value_expansion",
    "fit",
    "fit_learned",
    "fit_profile",
    "fit_reasons",
    "predicted_win_rate",
    "predicted_expansion",
    "touches",
    "hours",
    "touches_with_impact",
    "impact_rate",
    "own_touches",
    "own_hours",
    "priority",
    "book_touches",
    "value_share",
    "effort_share",
    "fair_touches",
    "window_deals",
    "expected_touches",
    "ratio",
    "flag",
    "q",
    "pattern_q",
    "sentence",
    "note",
]
ALLOCATION_COLUMNS = [
    "level",
    "unit_id",
    "n_accounts",
    "touches",
    "spearman",
    "spearman_low",
    "spearman_high",
    "dissimilarity",
    "dissimilarity_low",
    "dissimilarity_high",
    "d_chance",
    "under_served",
    "over_served",
]


@dataclass(frozen=True)
class Settings:
    value: ValueSettings
    rules: proportion.FlagRules
    profile: dict[str, Any]
    profile_weight: float
    pool_min: int
    window_words: str  # "6 months"

    @classmethod
    def of(cls, config: dict, window_words: str) -> Settings:
        plan = config.get("plan") or {}
        rules = proportion.FlagRules(
            fit_weight=float(plan.get("fit_weight", 0.5)),
            fit_min=float(plan.get("fit_min", 60)),
            under_ratio=float(plan.get("under_ratio", 0.5)),
            over_ratio=float(plan.get("over_ratio", 2.0)),
            min_gap_share=float(plan.get("min_gap_share", 0.01)),
        )
        return cls(
            value=ValueSettings.of(config),
            rules=rules,
            profile=dict(plan.get("profile") or {}),
            profile_weight=float(plan.get("profile_weight", 0.5)),
            pool_min=int((config.get("analysis") or {}).get("pool_min_cases", 30)),
            window_words=window_words,
        )


def build(
    inputs: pd.DataFrame, teams: pd.DataFrame, s: Settings, currency: str
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """``account_plan``, ``effort_allocation`` and the notes for the run's diagnostics.
    ``teams``: rep_id, team_id."""
    frame = value_frame(inputs.reset_index(drop=True), s.value)
    # the fit is adjusted for the effort over its own (history) window
    learned = fit_mod.learn(frame.assign(touches=frame["history_touches"]), pool_min=s.pool_min)
    profile = fit_mod.profile_scores(frame, s.profile) if s.profile else None
    frame["fit_learned"] = learned.score
    frame["fit_profile"] = np.nan if profile is None else profile
    frame["fit"] = fit_mod.combine(learned.score, profile, s.profile_weight)
    frame["fit_reasons"] = learned.reasons
    frame["predicted_win_rate"] = learned.win_rate
    frame["predicted_expansion"] = learned.expansion
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["impact_rate"] = np.where(
            frame["touches_settled"] > 0,
            frame["touches_with_impact"] / frame["touches_settled"],
            np.nan,
        )
    frame["priority"] = proportion.priority(
        frame["value"].to_numpy(float), frame["fit"].to_numpy(float), s.rules.fit_weight
    )
    team_of = dict(zip(teams["rep_id"], teams["team_id"], strict=True))
    frame["team_id"] = frame["owner_rep_id"].map(team_of)
    dispersion = _books(frame, s, currency)
    frame["note"] = _notes(frame, s.window_words)
    allocation = _allocation(frame)
    notes = {
        "fit": {
            "learned": learned.check is not None,
            "note": learned.note,
            "profile": profile is not None,
            "auc": None if learned.check is None else learned.check.auc,
            "spearman": None if learned.check is None else learned.check.spearman,
            "n_accounts": None if learned.check is None else learned.check.n_accounts,
            "check": "" if learned.check is None else learned.check.sentence(),
        },
        "window": s.window_words,
        "n_accounts": len(frame),
        "under_served": int((frame["flag"] == "under").sum()),
        "over_served": int((frame["flag"] == "over").sum()),
        "dispersion": dispersion,
    }
    return frame[COLUMNS], allocation, notes


def _books(frame: pd.DataFrame, s: Settings, currency: str) -> float:
    """Per owner's book: shares, fair and expected touches, flags and sentences (in place,
    vectorised over every book at once); the dispersion of touches around the expected ones."""
    owned = frame["owner_rep_id"].notna().to_numpy()
    cols = ("value_share", "effort_share", "fair_touches", "expected_touches", "ratio", "q",
            "pattern_q")  # fmt: skip
    for col in cols:
        frame[col] = np.nan
    frame["book_touches"] = 0
    frame["flag"] = ""
    frame["sentence"] = ""
    # the columns the books' figures read (a copy of every column would double the plan's memory)
    books = frame.loc[
        owned, ["owner_rep_id", "own_touches", "priority", "window_deals", "value", "tier", "fit"]
    ]
    if books.empty:
        return 1.0
    group = pd.factorize(books["owner_rep_id"])[0]
    expected = proportion.expected_touches(
        books["own_touches"].to_numpy(float),
        books["priority"].to_numpy(float),
        books["window_deals"].to_numpy(float),
        group,
    )
    found = proportion.flags(books, s.rules, by="owner_rep_id", expected=expected)
    by = books.groupby("owner_rep_id")
    touches = by["own_touches"].transform("sum").to_numpy(float)
    value = by["value"].transform("sum").to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame.loc[owned, "value_share"] = np.where(value > 0, books["value"] / value, np.nan)
        frame.loc[owned, "effort_share"] = np.where(
            touches > 0, books["own_touches"] / touches, np.nan
        )
    frame.loc[owned, "book_touches"] = touches.astype(np.int64)
    frame.loc[owned, "fair_touches"] = found.fair
    if expected is not None:
        frame.loc[owned, "expected_touches"] = expected
    frame.loc[owned, "ratio"] = found.ratio
    frame.loc[owned, "flag"] = found.flag
    frame.loc[owned, "q"] = found.q
    frame.loc[owned, "pattern_q"] = found.pattern_q

    flagged = frame.index[frame["flag"] != ""]
    cols = ["name", "tier", "value", "value_share", "fit", "own_touches", "book_touches",
            "fair_touches", "expected_touches", "flag"]  # fmt: skip
    records = frame.loc[flagged, cols].to_dict("records")
    frame.loc[flagged, "sentence"] = [
        proportion.sentence(r, currency, s.window_words, s.rules) for r in records
    ]
    return found.phi


def _notes(frame: pd.DataFrame, window: str) -> np.ndarray:
    """What is missing for each account, in words ("" when nothing is)."""
    parts = [
        (frame["value_note"].to_numpy(str) != "", frame["value_note"].to_numpy(str)),
        (frame["touches"].to_numpy() == 0, f"no touches in the last {window}"),
        (
            frame["n_closed"].to_numpy() == 0,
            "no closed deal in the history window: fit from its attributes only",
        ),
        (frame["owner_rep_id"].isna().to_numpy(), "no owner: not in any rep's book"),
        (frame["fit"].isna().to_numpy(), "no fit score (see the run's plan notes)"),
    ]
    out = np.full(len(frame), "", dtype=object)
    for mask, text in parts:
        words = np.broadcast_to(np.asarray(text, dtype=object), out.shape)
        joined = np.where(out == "", words, out + "; " + words)
        out = np.where(mask, joined, out)
    return out


def _allocation(frame: pd.DataFrame) -> pd.DataFrame:
    rows = []

    def add(level: str, unit: str, part: pd.DataFrame, touches_col: str) -> None:
        ix = proportion.index(part[touches_col].to_numpy(float), part["priority"].to_numpy(float))
        rows.append(
            {
                "level": level,
                "unit_id": unit,
                **{k: getattr(ix, k) for k in (
                    "n_accounts", "touches", "spearman", "spearman_low", "spearman_high",
                    "dissimilarity", "dissimilarity_low", "dissimilarity_high", "d_chance")},
                "under_served": int((part["flag"] == "under").sum()),
                "over_served": int((part["flag"] == "over").sum()),
            }
        )  # fmt: skip

    # only the columns the indices read: a copy of the whole plan per unit would hold every
    # text column again (gigabytes at millions of accounts)
    narrow = frame[["team_id", "owner_rep_id", "touches", "own_touches", "priority", "flag"]]
    add("company", "all", narrow, "touches")
    for team, part in narrow[narrow["team_id"].notna()].groupby("team_id"):
        add("team", str(team), part, "touches")
    for rep, part in narrow[narrow["owner_rep_id"].notna()].groupby("owner_rep_id"):
        add("rep", str(rep), part, "own_touches")
    return pd.DataFrame(rows, columns=ALLOCATION_COLUMNS)
