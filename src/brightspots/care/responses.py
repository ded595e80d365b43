"""Care answers as Ibis expressions (any engine): one row per answer of the care dimension,
rescaled to 0-1, and the per-respondent sums that are all that leaves the engine.

This is the only module outside the import and the synthetic data that reads the raw survey
answers (the anonymity guard checks it): everything else sees sums per respondent key, and the
tables built from them pass through ``disclosure.disclose``.

- x = (score - lo) / (scale_max - lo), lo = scale_min, or when it is empty 0 if the question has
  a score below 1 anywhere, else 1; x = 1 - x for ``[care] reverse_items``.
- The subject is subject_rep_id; a customer answer without one falls back to the account's
  owner (counted). team = the subject's team_id; leader = a subject who manages some rep.
- The respondent key is respondent_id, else one anonymous submission
  ``'anon|' || survey || '|' || subject || '|' || account || '|' || submitted_at``.
- A wave is a survey in one local calendar quarter: anonymous respondents of a unit count as the
  largest number of anonymous submissions in any one wave (the same people answer each quarter).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from brightspots.care.config import CareSettings, Source

Local = Callable[[ir.TimestampValue], ir.TimestampValue]

#: the levels care is measured at (the company is the reference, never labelled)
LEVELS = ("rep", "leader", "team", "company")
SOURCES = ("customer", "employee")
COMPANY = "company"
#: quarters shown in ``care_trend``
TREND_QUARTERS = 6
#: the columns of ``answers``
ANSWER_COLUMNS = (
    "survey",
    "source",
    "respondent",
    "anonymous",
    "subject_rep_id",
    "fallback",
    "account_id",
    "team_id",
    "leader",
    "question_id",
    "x",
    "submitted_at",
    "local_at",
    "period",
    "odd_month",
)
#: what ``respondent_sums`` brings back, one row per unit, source, respondent key (and period)
SUM_COLUMNS = (
    "level",
    "unit_id",
    "source",
    "respondent",
    "anonymous",
    "wave",
    "n",
    "sum_x",
    "n_odd",
    "sum_odd",
    "n_even",
    "sum_even",
    "submissions",
)


def answers(src: Source, settings: CareSettings, local: Local) -> ir.Table:
    """Every care answer with a subject, rescaled (``ANSWER_COLUMNS``); no window applied."""
    rows = resolved(src, settings, local)
    return rows.filter(rows.subject_rep_id.notnull())


def resolved(src: Source, settings: CareSettings, local: Local) -> ir.Table:
    """``answers`` before answers without a subject are dropped (for counting them)."""
    sr = src.table("survey_responses")
    care = sr.filter(sr.dimension.strip().lower() == settings.dimension.lower())
    lows = care.group_by(q_key="question_id").agg(q_min=care.score.min())
    care = care.left_join(lows, care.question_id == lows.q_key).drop("q_key")
    one = ibis.literal(1.0, type="float64")
    zero = ibis.literal(0.0, type="float64")
    lo = care.scale_min.cast("float64").coalesce(
        ibis.cases((care.q_min.cast("float64") < one, zero), else_=one)
    )
    hi = care.scale_max.cast("float64")
    x = (care.score.cast("float64") - lo) / (hi - lo)
    if settings.reverse_items:
        x = ibis.cases((care.question_id.isin(list(settings.reverse_items)), one - x), else_=x)
    care = care.filter(hi > lo).mutate(x=x)

    acc = src.table("accounts").select(acc_key="account_id", owner="owner_rep_id")
    care = care.left_join(acc, care.account_id == acc.acc_key).drop("acc_key")
    customer = care.respondent_type == "customer"
    fallback = care.subject_rep_id.isnull() & customer & care.owner.notnull()
    subject = ibis.cases((fallback, care.owner), else_=care.subject_rep_id)
    care = care.mutate(subject=subject, fallback=fallback)

    reps = src.table("reps")
    teams = reps.select(rep_key="rep_id", rep_team="team_id")
    managers = reps.filter(reps.manager_rep_id.notnull())
    managers = managers.select(manager="manager_rep_id").distinct()
    care = care.left_join(teams, care.subject == teams.rep_key).drop("rep_key")
    care = care.left_join(managers, care.subject == managers.manager)

    named = care.respondent_id.nullif("")
    empty = ibis.literal("")
    anon_key = (
        ibis.literal("anon|")
        + care.survey
        + "|"
        + care.subject.coalesce(empty)
        + "|"
        + care.account_id.coalesce(empty)
        + "|"
        + care.submitted_at.cast("string")
    )
    at = local(care.submitted_at)
    return care.select(
        survey=care.survey,
        source=care.respondent_type,
        respondent=named.coalesce(anon_key),
        anonymous=named.isnull(),
        subject_rep_id=care.subject,
        fallback=care.fallback,
        account_id=care.account_id,
        team_id=care.rep_team,
        leader=care.manager.notnull(),
        question_id=care.question_id,
        x=care.x,
        submitted_at=care.submitted_at,
        local_at=at,
        period=at.year().cast("string") + "-Q" + at.quarter().cast("string"),
        odd_month=(at.month() % 2) == 1,
    )


@dataclass(frozen=True)
class Span:
    """The care window: answers after ``start`` (None: all) up to ``end``, the latest answer;
    the trend's quarters begin at ``trend_start`` (local)."""

    start: pd.Timestamp | None
    end: pd.Timestamp
    trend_start: pd.Timestamp


def span(src: Source, rows: ir.Table, settings: CareSettings) -> Span | None:
    """The window back from the latest care answer; None without care answers."""
    got = src.execute(
        rows.aggregate(end=rows.submitted_at.max(), local_end=rows.local_at.max())
    ).iloc[0]
    if got["end"] is None or pd.isna(got["end"]):
        return None
    end = pd.Timestamp(got["end"])
    local_end = pd.Timestamp(got["local_end"])
    quarter = pd.Period(local_end, freq="Q")
    trend_start = (quarter - (TREND_QUARTERS - 1)).start_time
    return Span(start=settings.window.start(end), end=end, trend_start=trend_start)


def in_window(rows: ir.Table, start: pd.Timestamp | None) -> ir.Table:
    if start is None:
        return rows
    return rows.filter(rows.submitted_at > ibis.literal(start.to_pydatetime()))


def in_trend(rows: ir.Table, trend_start: pd.Timestamp) -> ir.Table:
    return rows.filter(rows.local_at >= ibis.literal(trend_start.to_pydatetime()))


def _levels(rows: ir.Table) -> ir.Table:
    """The answers once per level they count at, with ``level`` and ``unit_id``."""
    rep = rows.mutate(level=ibis.literal("rep"), unit_id=rows.subject_rep_id)
    lead = rows.filter(rows.leader & (rows.source == "employee"))
    lead = lead.mutate(level=ibis.literal("leader"), unit_id=lead.subject_rep_id)
    team = rows.filter(rows.team_id.notnull())
    team = team.mutate(level=ibis.literal("team"), unit_id=team.team_id)
    company = rows.mutate(level=ibis.literal("company"), unit_id=ibis.literal(COMPANY))
    return ibis.union(rep, lead, team, company)


def exact_sum(x: ir.NumericValue) -> ir.FloatingValue:
    """The sum of ``x`` (answers on 0-1) in fixed point, as a float: the same bits whatever order
    a parallel engine adds the rows in (a float sum's last bits follow that order, and a care
    figure that changes with it would tell two workspaces apart in the anonymity test)."""
    return x.cast(dt.Decimal(38, 12)).sum().cast("float64")


def exact_mean(x: ir.NumericValue) -> ir.FloatingValue:
    """The mean of ``x`` from ``exact_sum``."""
    return exact_sum(x) / x.count().cast("float64")


def ordered(frame: pd.DataFrame) -> pd.DataFrame:
    """An engine's result in a fixed row order (by every column but the float ones), so pandas
    sums over it add in the same order on every run."""
    keys = [c for c in frame.columns if not pd.api.types.is_float_dtype(frame[c])]
    if frame.empty or not keys:
        return frame.reset_index(drop=True)
    return frame.sort_values(keys, kind="stable", na_position="last").reset_index(drop=True)


def respondent_sums(rows: ir.Table, *, by_period: bool = False) -> ir.Table:
    """Per level, unit, source and respondent key (and quarter with ``by_period``): answers,
    their sum, the odd- and even-month sums and counts and the submissions (``SUM_COLUMNS``).
    ``wave`` is the survey and quarter of an anonymous key (one submission), else ''."""
    t = _levels(rows)
    zero = ibis.literal(0.0, type="float64")
    wave = ibis.cases((t.anonymous, t.survey + "|" + t.period), else_=ibis.literal(""))
    t = t.mutate(
        wave=wave,
        odd=t.odd_month.cast("int32").cast("int64"),
        x_odd=ibis.cases((t.odd_month, t.x), else_=zero),
        x_even=ibis.cases((t.odd_month, zero), else_=t.x),
        submission=t.survey + "|" + t.submitted_at.cast("string"),
    )
    keys = ["level", "unit_id", "source", "respondent", "anonymous", "wave"]
    if by_period:
        keys.append("period")
    return t.group_by(keys).agg(
        n=t.count(),
        sum_x=exact_sum(t.x),
        n_odd=t.odd.sum(),
        sum_odd=exact_sum(t.x_odd),
        n_even=t.count() - t.odd.sum(),
        sum_even=exact_sum(t.x_even),
        submissions=t.submission.nunique(),
    )


def survey_items(rows: ir.Table) -> ir.Table:
    """Per source, survey and care question: answers, named (non-anonymous) answers, and the
    survey's respondent keys (named respondents and anonymous submissions)."""
    people = rows.group_by(p_source="source", p_survey="survey").agg(
        respondents=rows.respondent.nunique()
    )
    items = rows.group_by("source", "survey", "question_id").agg(
        n=rows.count(), named=(~rows.anonymous).cast("int32").cast("int64").sum()
    )
    j = items.inner_join(
        people, (items.source == people.p_source) & (items.survey == people.p_survey)
    )
    return j.select(items, people.respondents)


def item_matrix_rows(rows: ir.Table, surveys: list[str]) -> ir.Table:
    """One row per named submission and care question of ``surveys``, its answer (mean x)."""
    t = rows.filter(~rows.anonymous & rows.survey.isin(surveys))
    return t.group_by("source", "survey", "respondent", "submitted_at", "question_id").agg(
        x=exact_mean(t.x)
    )


def counts(rows: ir.Table) -> ir.Table:
    """Per source: care answers, those whose subject is the account owner (fallback) and those
    with no subject at all (left out)."""
    return rows.group_by("source").agg(
        answers=rows.count(),
        owner_fallback=rows.fallback.cast("int32").cast("int64").sum(),
        without_subject=rows.subject_rep_id.isnull().cast("int32").cast("int64").sum(),
    )


def unit_respondents(sums: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per unit (``keys``): respondents = named respondent keys + the largest number of
    anonymous submissions in one wave; responses = submissions; the odd- and even-month means
    (NaN when a half has no answer)."""
    if sums.empty:
        return pd.DataFrame(columns=[*keys, "respondents", "responses", "mean_odd", "mean_even"])
    frame = sums.assign(anonymous=sums["anonymous"].astype(bool))
    named = frame[~frame["anonymous"]].groupby(keys, sort=True).size().rename("named")
    per_wave = frame[frame["anonymous"]].groupby([*keys, "wave"], sort=True).size()
    anon = per_wave.groupby(level=list(range(len(keys)))).max().rename("anon")
    totals = frame.groupby(keys, sort=True)[
        ["submissions", "n_odd", "sum_odd", "n_even", "sum_even"]
    ].sum()
    out = totals.join(named, how="left").join(anon, how="left")
    out = out.fillna({"named": 0, "anon": 0})
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_odd = np.where(out["n_odd"] > 0, out["sum_odd"] / out["n_odd"], np.nan)
        mean_even = np.where(out["n_even"] > 0, out["sum_even"] / out["n_even"], np.nan)
    return pd.DataFrame(
        {
            "respondents": (out["named"] + out["anon"]).astype("int64"),
            "responses": out["submissions"].astype("int64"),
            "mean_odd": mean_odd.astype(float),
            "mean_even": mean_even.astype(float),
        },
        index=out.index,
    ).reset_index()
