"""The care tables of an analysis run: ``care_index``, ``care_trend``, ``care_reliability`` and
``care_results``, with their notes for ``run.diagnostics["care"]``.

Engine work is Ibis expressions over the ``Source`` (``responses``, ``results``); only sums per
respondent key, per-survey item answers of named respondents and one row per surveyed account
come back. Every per-unit table leaves through ``index.protect`` (``disclosure.disclose``).
Without care answers every table is empty, with its columns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from brightspots.care import index as index_mod
from brightspots.care import responses
from brightspots.care import results as results_mod
from brightspots.care.config import CareSettings, Source, within_words

__all__ = ["TABLES", "CareRun", "Source", "care_tables", "empty_tables"]

#: the run tables and their columns
TABLES: dict[str, tuple[str, ...]] = {
    "care_index": index_mod.INDEX_COLUMNS,
    "care_trend": index_mod.TREND_COLUMNS,
    "care_reliability": index_mod.RELIABILITY_COLUMNS,
    "care_results": results_mod.RESULT_COLUMNS,
}


@dataclass
class CareRun:
    tables: dict[str, pd.DataFrame]
    notes: dict = field(default_factory=dict)


def empty_tables() -> dict[str, pd.DataFrame]:
    return {
        "care_index": index_mod.empty(index_mod.INDEX_COLUMNS),
        "care_trend": index_mod.empty(index_mod.TREND_COLUMNS),
        "care_reliability": index_mod.empty(index_mod.RELIABILITY_COLUMNS),
        "care_results": results_mod.results_table([]),
    }


def care_tables(
    src: Source,
    *,
    settings: CareSettings,
    as_of: pd.Timestamp,
    local: Callable[[ir.TimestampValue], ir.TimestampValue],
    scored: ir.Table | None = None,
    cache: bool = False,
) -> CareRun:
    """Every care table of a run. ``as_of``: the end of the data (the outcome window of care and
    results ends there); ``local``: stored UTC to local time; ``scored``: the case-mix model's
    closed deals with ``p_hat`` (the win rate of later deals), or None to leave that out.
    ``cache``: compute the care answers once and keep them in the engine until the tables are
    built (they are few; every later query then compiles and runs on them alone)."""
    rows = responses.resolved(src, settings, local)
    if not cache:
        return _tables(src, rows, settings=settings, as_of=as_of, scored=scored)
    kept = rows.cache()
    try:
        return _tables(src, kept, settings=settings, as_of=as_of, scored=scored)
    finally:
        kept.release()


def _tables(
    src: Source,
    rows: ir.Table,
    *,
    settings: CareSettings,
    as_of: pd.Timestamp,
    scored: ir.Table | None,
) -> CareRun:
    counted = src.execute(responses.counts(rows))
    notes: dict = {
        "dimension": settings.dimension,
        "reverse_items": list(settings.reverse_items),
        "min_respondents": settings.min_respondents,
        "min_volume": settings.min_volume,
        "window": str(settings.window),
        "window_words": settings.window.words(),
        "outcome_window": str(settings.outcome_window),
        "answers": {r["source"]: int(r["answers"]) for _, r in counted.iterrows()},
        "owner_fallback": int(counted["owner_fallback"].sum()) if len(counted) else 0,
        "without_subject": int(counted["without_subject"].sum()) if len(counted) else 0,
        "warnings": [],
    }
    answers = rows.filter(rows.subject_rep_id.notnull())
    span = responses.span(src, answers, settings)
    if span is None:
        notes["note"] = f"No survey answers of the dimension {settings.dimension!r}: no care index."
        return CareRun(empty_tables(), notes)
    notes.update(
        window_start=str(span.start) if span.start is not None else None,
        window_end=str(span.end),
        trend_start=str(span.trend_start.date()),
    )
    if notes["without_subject"]:
        notes["warnings"].append(
            f"{notes['without_subject']:,} care answer(s) name no rep (no subject_rep_id and, "
            "for customers, no account owner): left out."
        )
    names = _names(src)
    window = responses.in_window(answers, span.start)
    sums = responses.ordered(src.execute(responses.respondent_sums(window)))
    index, level_notes = index_mod.index_frame(
        sums,
        names=names,
        settings=settings,
        window_start=span.start,
        window_end=span.end,
    )
    trend_rows = responses.in_trend(answers, span.trend_start)
    trend_expr = responses.respondent_sums(trend_rows, by_period=True)
    trend_sums = responses.ordered(src.execute(trend_expr))
    trend = index_mod.trend_frame(trend_sums)

    items = responses.ordered(src.execute(responses.survey_items(window)))
    multi = items.groupby(["source", "survey"])["question_id"].transform("nunique") >= 2
    surveys = sorted(set(items.loc[multi & (items["named"] > 0), "survey"]))
    matrix_rows = (
        responses.ordered(src.execute(responses.item_matrix_rows(window, surveys)))
        if surveys
        else pd.DataFrame(
            columns=["source", "survey", "respondent", "submitted_at", "question_id", "x"]
        )
    )
    reliab = index_mod.reliability_frame(items, matrix_rows)
    for note in reliab["note"] if len(reliab) else []:
        if note and ("do not agree" in note or "reverse-coded" in note):
            notes["warnings"].append(note)

    k = settings.min_respondents
    care_index, care_trend, care_reliability = index_mod.protect(index, trend, reliab, k=k)

    within = within_words(settings.outcome_window)
    frame = results_mod.account_frame(src, answers, as_of=as_of, window=settings.outcome_window)
    deals = (
        results_mod.deal_frame(src, answers, scored, as_of=as_of, window=settings.outcome_window)
        if scored is not None
        else None
    )
    effects = results_mod.estimate(
        frame,
        covariates=list(results_mod.COVARIATES),
        deals=deals,
        pool_min_cases=settings.pool_min_cases,
        within=within,
    )
    care_results = results_mod.results_table(effects)

    notes["levels"] = index_mod.protect_notes(level_notes, care_index)
    notes["suppressed"] = _suppressed(care_index)
    notes["results"] = [
        {"outcome": e.outcome, "estimated": bool(np.isfinite(e.estimate)), "sentence": e.sentence}
        for e in effects
    ]
    notes["surveyed_accounts"] = len(frame)
    notes["n_bright_spots"] = int((care_index["label"] == "bright_spot").sum())
    notes["n_candidates"] = int((care_index["label"] == "candidate").sum())
    return CareRun(
        {
            "care_index": care_index,
            "care_trend": care_trend,
            "care_reliability": care_reliability,
            "care_results": care_results,
        },
        notes,
    )


def _names(src: Source) -> index_mod.Names:
    reps = src.execute(src.table("reps").select("rep_id", "name", "team_id"))
    teams = src.execute(src.table("teams").select("team_id", "name"))
    return index_mod.Names(
        reps=dict(zip(reps["rep_id"], reps["name"], strict=True)),
        teams=dict(zip(teams["team_id"], teams["name"], strict=True)),
        rep_team={
            r: t for r, t in zip(reps["rep_id"], reps["team_id"], strict=True) if pd.notna(t)
        },
    )


def _suppressed(care_index: pd.DataFrame) -> dict[str, int]:
    """Suppressed rows per level and source, e.g. {"rep_customer": 3}."""
    hidden = care_index[care_index["suppressed"].astype(bool)]
    counts = hidden.groupby(["level", "source"]).size()
    return {f"{lv}_{s}": int(n) for (lv, s), n in counts.items()}
