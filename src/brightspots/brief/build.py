"""``brightspots brief``: one team's (or the whole company's) brief for one period.

Reads the latest analysis run (the case-mix expectations of each closed deal, the bright-spot
labels, practice effects and weekly effort) and a few small queries on the data, then fills
each section with the pure functions of ``wins``, ``deviations``, ``worked``, ``actions`` and
``questions``. The naming rule is checked on the result before anyone sees it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import pandas as pd

from brightspots import levels as levels_mod
from brightspots import metrics, timezones
from brightspots.brief import actions as actions_mod
from brightspots.brief import deviations as dev
from brightspots.brief import experiments as experiments_mod
from brightspots.brief import questions as questions_mod
from brightspots.brief import source, store, worked
from brightspots.brief import wins as wins_mod
from brightspots.brief.model import (
    Brief,
    Coverage,
    Deviation,
    Funnel,
    FunnelPoint,
    Point,
    Story,
)
from brightspots.brief.period import Period, day_words, parse
from brightspots.brief.source import BriefError, Scope
from brightspots.practices.registry import Practice as PracticeDef
from brightspots.practices.registry import landmark_days
from brightspots.practices.registry import registry as practice_registry
from brightspots.report import fmt
from brightspots.stories import links as story_links
from brightspots.workspace import Run, Workspace

MAX_PER_METRIC = 5  # deviation rows shown per metric and level (the strongest)
MAX_STORIES = 3  # stories shown, unless [brief] max_stories says otherwise


def check_naming(brief: Brief) -> None:
    """Fail if any figure shown beside a named unit is on the wrong side of its reference."""
    for name, f in brief.named_figures():
        if not f.at_or_better:
            raise BriefError(
                f"internal check failed: {name} would be shown with {f.value!r} against "
                f"{f.against} {f.reference!r}"
            )


def _mondays(first: date, last: date) -> list[date]:
    start = first - timedelta(days=first.weekday())
    out = []
    while start <= last:
        out.append(start)
        start += timedelta(weeks=1)
    return out


def _sustained(run_table: pd.DataFrame | None, level: str) -> frozenset[str]:
    if run_table is None or "level" not in run_table.columns:
        return frozenset()
    t = run_table[(run_table["level"] == level) & (run_table["label"] == "bright_spot")]
    return frozenset(t["unit_id"].astype(str))


def _design_effect(run: Run, level: str) -> float:
    notes = run.diagnostics.get("buyer_impact") or {}
    v = (notes.get("design_effect") or {}).get(level)
    return float(v) if v is not None and math.isfinite(float(v)) else 1.0


def _run_as_of(run: Run, fallback: datetime | None) -> datetime | None:
    notes = run.diagnostics.get("buyer_impact") or {}
    v = notes.get("as_of")
    return pd.Timestamp(v).to_pydatetime() if v else fallback


def _cap(rows: list[Deviation], hidden: dict[str, int]) -> list[Deviation]:
    """The strongest ``MAX_PER_METRIC`` rows; the rest are counted in ``hidden``."""
    ordered = sorted(rows, key=lambda d: (-d.z, d.unit_id))
    for d in ordered[MAX_PER_METRIC:]:
        hidden[d.metric] = hidden.get(d.metric, 0) + 1
    return ordered[:MAX_PER_METRIC]


def _with_sparks(
    rows: list[Deviation], sparks: dict[tuple[str, str], tuple[Point, ...]]
) -> list[Deviation]:
    """``rows`` with their sparkline, keyed by (unit kind, unit id): a team and a rep may share
    an id."""
    return [dataclasses.replace(d, spark=sparks.get((d.unit, d.unit_id), ())) for d in rows]


def _deviations(
    ws: Workspace,
    run: Run,
    sc: Scope,
    period: Period,
    deals: pd.DataFrame,
    as_of: datetime | None,
) -> tuple[list[Deviation], list[str], pd.DataFrame, dict, float | None]:
    """Every deviation row, notes on units counted but not named, the rep win-rate assessment
    (for the funnel plot) and the company's median response hours over the window."""
    cfg, acfg = ws.config["brief"], ws.config["analysis"]
    min_deals, phi = int(cfg["min_deals"]), str(acfg["overdispersion"])
    window = period.window_words
    in_window = _closed(deals, period.window_start, period.end)
    mondays = _mondays(period.previous_start, period.end)
    spots = source.run_frame(ws, run, "bright_spots")
    contexts = {
        "rep": dev.Context(sc.rep_names, sc.rep_teams, sc.rep_ids, window, "rep"),
        "team": dev.Context(
            sc.teams, {t: t for t in sc.teams}, frozenset(sc.team_ids()), window, "team"
        ),
    }
    families: list[dev.Family] = []
    win_sparks: dict[tuple[str, str], tuple[Point, ...]] = {}
    rep_assessed, rep_summary = pd.DataFrame(), {}

    # win rate against the case-mix expectation
    for level, column in (("team", "team_id"), ("rep", "rep_id")):
        assessed, summary = dev.assess_win_rate(
            in_window, column, min_deals=min_deals, noun=level, phi_method=phi
        )
        if level == "rep":
            rep_assessed, rep_summary = assessed, summary
        got = dev.win_rate_deviations(assessed, contexts[level], sustained=_sustained(spots, level))
        win_sparks.update(
            {(level, d.unit_id): dev.win_spark(deals, column, d.unit_id, mondays) for d in got.rows}
        )
        families.append(got)

    # buyer-impact rate against the previous 13 weeks (net of the company's change) and the
    # peer median
    weeks = source.effort_rows(ws, run, mondays[0], mondays[-1])
    impact_window = metrics.settings(ws)["impact_window"]
    stamp = _run_as_of(run, as_of)
    settled = dev.settled(weeks["period"], stamp, impact_window)
    # totals from daily rows: exact local days, each counted once its impact window is over
    days = source.effort_rows(ws, run, period.previous_start, period.end, every="day")
    day_ok = dev.settled(days["period"], stamp, impact_window, days=1)
    everyone = days[days["grain"] == "rep"].assign(unit_id="all", grain="company")
    company_now = dev.impact_totals(everyone, "company", period.window_start, period.end, day_ok)
    company_before = dev.impact_totals(
        everyone, "company", period.previous_start, period.previous_end, day_ok
    )
    shift = _rates(company_before, company_now)
    last_settled = _last_settled(days, day_ok, period)
    touched = window
    if last_settled is not None and last_settled < period.end:
        touched = f"{window} (touches up to {day_words(last_settled)})"
    company = dev.Context({"all": "The company"}, {}, frozenset({"all"}), window, "company")
    for level in ("team", "rep"):
        now = dev.impact_totals(days, level, period.window_start, period.end, day_ok)
        before = dev.impact_totals(days, level, period.previous_start, period.previous_end, day_ok)
        got = dev.impact_deviations(
            now,
            before,
            dataclasses.replace(contexts[level], window_words=touched),
            deff=_design_effect(run, level),
            min_touches=int(acfg["min_touches"]),
            sparks=dev.weekly_values(weeks, level, "impact_rate", mondays, settled),
            company=shift,
        )
        families.append(got)
    if sc.company:
        got = dev.impact_deviations(
            company_now,
            company_before,
            dataclasses.replace(company, window_words=touched),
            deff=_design_effect(run, "team"),
            min_touches=int(acfg["min_touches"]),
            sparks={},
            peers_of_kind=False,
        )
        families.append(got)

    # response time against the previous 13 weeks (net of the company's change) and the peer
    # median
    levels = [("team", contexts["team"], True), ("rep", contexts["rep"], True)]
    with source.Responses(ws, period, as_of) as responses:
        everyone_hours = responses.summary("company")
        medians = _medians(everyone_hours)
        if sc.company:
            levels.append(("company", company, False))
        for level, ctx, peers_of_kind in levels:
            summary = everyone_hours if level == "company" else responses.summary(level)
            scale = medians if level != "company" else None
            ids, peer_median, n_peers = dev.response_candidates(
                summary,
                min_responses=int(cfg["min_responses"]),
                in_scope=ctx.in_scope,
                peers_of_kind=peers_of_kind,
                company=scale,
            )
            values = responses.values(level, ids)
            now_rows = summary[summary["window"] == "now"]
            n_tested = int(
                (
                    (now_rows["n"] >= int(cfg["min_responses"]))
                    & now_rows["unit_id"].astype(str).isin(ctx.in_scope)
                ).sum()
            )
            sparks = (
                dev.weekly_values(weeks, level, "median_response_hours", mondays, settled)
                if level != "company"
                else {}
            )
            got = dev.response_deviations(
                values,
                ctx,
                peer_median=peer_median,
                peers=n_peers,
                n_tested=max(n_tested, len(ids)),
                sparks=sparks,
                peers_of_kind=peers_of_kind,
                company=scale,
            )
            families.append(got)
    company_median = medians[1] if medians is not None else None

    final, others = dev.finalize(families)
    hidden: dict[str, int] = {}
    rows: list[Deviation] = []
    for key in sorted({(d.unit, d.metric) for d in final}):
        group = [d for d in final if (d.unit, d.metric) == key]
        rows += (
            _with_sparks(_cap(group, hidden), win_sparks)
            if key[1] == "win_rate"
            else _cap(group, hidden)
        )
    order = {"win_rate": 0, "buyer_impact": 1, "response_hours": 2}
    level = {"company": 0, "team": 1, "rep": 2}
    rows.sort(key=lambda d: (order[d.metric], level[d.unit], -d.z, d.unit_id))
    notes = []
    words = {
        "win_rate": "won more than expected",
        "buyer_impact": "drew more buyer responses than before",
        "response_hours": "answered buyers faster than before",
    }
    for metric, n in hidden.items():
        notes.append(
            f"Only the {MAX_PER_METRIC} strongest are shown per measure: {n} more "
            f"{'rep or team' if n == 1 else 'reps or teams'} {words[metric]} by more than chance "
            "(or probably so) and are not listed."
        )
    for metric, n in others.items():
        if n:
            notes.append(
                f"{n} more {'rep or team' if n == 1 else 'reps or teams'} {words[metric]} by "
                "amounts chance alone often gives; they are not listed."
            )
    return rows, notes, rep_assessed, rep_summary, company_median


def _closed(deals: pd.DataFrame, first: date, last: date) -> pd.DataFrame:
    """The rows of ``deals`` (deal_expectations) closed on local days ``first``..``last``."""
    return deals[(deals["closed_on"] >= first) & (deals["closed_on"] <= last)]


def _last_settled(days: pd.DataFrame, ok: pd.Series, period: Period) -> date | None:
    """The last day of the window whose touches are settled (None: none is)."""
    settled = pd.to_datetime(days.loc[ok.reindex(days.index, fill_value=False), "period"])
    settled = settled[settled.dt.date <= period.end]
    return settled.max().date() if len(settled) else None


def _rates(before: pd.DataFrame, now: pd.DataFrame) -> tuple[float, float] | None:
    """The company's settled buyer-impact rate before and now (None without touches)."""
    if not len(before) or not len(now) or not before["n"].iloc[0] or not now["n"].iloc[0]:
        return None
    return (
        float(before["k"].iloc[0] / before["n"].iloc[0]),
        float(now["k"].iloc[0] / now["n"].iloc[0]),
    )


def _medians(summary: pd.DataFrame) -> tuple[float, float] | None:
    """The company's median response hours before and now (None when either is missing)."""
    by = summary.set_index("window")["median"]
    if not {"now", "before"} <= set(by.index) or by.isna().any() or (by <= 0).any():
        return None
    return float(by["before"]), float(by["now"])


def _funnel(
    assessed: pd.DataFrame, summary: dict, sc: Scope, named: set[str], period: Period, min_deals
) -> Funnel | None:
    if not len(assessed):
        return None
    mine = assessed[assessed["unit_id"].isin(sc.rep_ids) & (assessed["expected"] > 0)]
    if not len(mine):
        return None
    names = sc.rep_names
    points = tuple(
        FunnelPoint(
            expected=float(r["expected"]),
            oe=float(r["oe"]),
            closed=int(r["n"]),
            label=str(r["label"] or ""),
            name=names.get(str(r["unit_id"]), "") if str(r["unit_id"]) in named else "",
        )
        for _, r in mine.iterrows()
    )
    curve = levels_mod.curve(assessed, summary, min_deals)
    return Funnel(
        points=points,
        curve=tuple(curve.to_dict("records")),
        min_volume=min_deals,
        window_words=period.window_words,
    )


def max_stories(cfg: dict) -> int:
    """``[brief] max_stories``: a whole number, 0 or more (default 3)."""
    value = cfg.get("max_stories", MAX_STORIES)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BriefError(
            f"[brief] max_stories = {value!r} in brightspots.toml: use a whole number of "
            "stories, 0 or more (e.g. 3)"
        )
    return value


def story_rank(s: Story) -> int:
    """0: a caregiver story tied to a win of the period; 1: tied; 2: caregiver; 3: the rest."""
    tied = s.win_opportunity_id is not None
    return (0 if s.caregiver else 1) if tied else (2 if s.caregiver else 3)


def _stories(
    df: pd.DataFrame, sc: Scope, practices: Sequence[PracticeDef], config: dict, limit: int
) -> list[Story]:
    """The brief's stories (``source.stories``), at most ``limit``: caregiver stories tied to
    the period's wins first, then other tied stories, other caregiver stories, then the rest;
    newest first within each."""
    names = sc.rep_names
    links = story_links.practice_links(df, practices)
    linked: dict[str, list[str]] = {}
    for sid, pid in zip(links["story_id"], links["practice"], strict=True):
        linked.setdefault(str(sid), []).append(str(pid))
    care = story_links.caregiver(df, config)

    def text(v) -> str | None:
        return str(v) if v is not None and pd.notna(v) else None

    out = []
    for i, r in df.iterrows():
        out.append(
            Story(
                story_id=str(r["story_id"]),
                title=str(r["title"]),
                body=str(r["body"]),
                tags=tuple(story_links.split_tags(r["tags"])),
                created_on=r["created_on"],
                rep_id=str(r["rep_id"]),
                rep=names.get(str(r["rep_id"]), str(r["rep_id"])),
                account=text(r["account"]),
                opportunity_id=text(r["opportunity_id"]),
                deal=text(r["deal"]),
                deal_stage=text(r["deal_stage"]),
                caregiver=bool(care.loc[i]),
                win_opportunity_id=text(r["win_opportunity_id"]),
                practices=tuple(linked.get(str(r["story_id"]), ())),
            )
        )
    created = dict(zip(df["story_id"].astype(str), pd.to_datetime(df["created_at"]), strict=True))
    # newest first within a rank: sort by id, then stably by time, descending, then by rank
    out.sort(key=lambda s: s.story_id)
    out.sort(key=lambda s: created[s.story_id], reverse=True)
    out.sort(key=story_rank)
    return out[:limit]


def _coverage_notes(
    period: Period, model: tuple[date, date], closed: int, scored: int
) -> list[str]:
    """What the reader should know about the data beyond its dates (the renderer says how fresh
    it is and whether the analysis is older than the data): here, closed deals of the window
    that the run's model did not score (closed before its window, or after the run)."""
    first, last = model
    missing = closed - scored
    if missing <= 0:
        return []
    one = missing == 1
    return [
        f"{fmt.plural(missing, 'deal')} closed in {period.window_words} "
        f"{'has' if one else 'have'} no expected chance: the analysis scored deals closed from "
        f"{day_words(first)} to {day_words(last)}. Wins against expectation "
        f"leave {'it' if one else 'them'} out."
    ]


def build(ws: Workspace, team: str, period_text: str, *, now: datetime | None = None) -> Brief:
    """The brief of ``team`` (an id, a name or "all") for ``period_text``."""
    period = parse(period_text)
    sc = source.scope(ws, team)
    run = source.run_for(ws)
    cfg = ws.config["brief"]
    tz = ws.timezone
    as_of = source.as_of(ws)
    as_of_local = timezones.local_wall(as_of, tz) if as_of else None
    first_day, last_day, n_rows = source.data_days(ws, sc, period)
    run_current = run.fingerprint == ws.fingerprint()
    model = source.model_span(ws, run)
    registry = {p.id: p for p in practice_registry(ws.config)}

    deals = source.deal_expectations(ws, run, min(period.previous_start, period.start), period.end)

    rows, dev_notes, rep_assessed, rep_summary, company_hours = _deviations(
        ws, run, sc, period, deals, as_of
    )
    won = wins_mod.ranked(source.won_deals(ws, sc, period), deals)
    top = won.head(int(cfg["max_wins"]))
    shown_wins = wins_mod.wins(
        top,
        source.deal_facts(ws, top),
        sc.rep_names,
        sc.rep_teams,
        unlikely_below=float(cfg["unlikely_below"]),
        typical_hours=company_hours,
    )
    named_reps = {d.unit_id for d in rows if d.unit == "rep" and d.metric == "win_rate"}

    in_period = sc.in_scope(_closed(deals, period.start, period.end))
    measured = source.practice_deals(ws, run, in_period["opportunity_id"].astype(str).tolist())
    closed = in_period[["opportunity_id", "y"]].merge(
        measured.drop(columns=["rep_id", "y"], errors="ignore"), on="opportunity_id", how="left"
    )
    effects = source.run_frame(ws, run, "practice_effects")
    window_words = str(run.diagnostics.get("window_words") or "the analysis window")
    practice_rows = worked.practices(
        effects, registry, closed, period_words=period.short, window_words=window_words
    )
    suggested = actions_mod.suggested(
        worked.with_evidence(effects), registry, closed, period_words=period.short
    )

    tried = experiments_mod.of_run(ws, run, sc, since=period.start)
    suggested = experiments_mod.with_hints(suggested, tried)

    previous = store.actions_of(ws, sc.team_id, period.before().label)
    followed = [registry[a.practice_id] for a in previous if a.practice_id in registry]
    opened = source.opened_deals(ws, sc, [period.before(), period], followed, as_of)
    previous_rows = actions_mod.followed_up(
        previous,
        registry,
        opened,
        before_label=period.before().label,
        now_label=period.label,
        landmark_days=landmark_days(ws.config),
    )

    found = source.stories(ws, sc, period, won, data_end=as_of)
    stories = _stories(found, sc, list(registry.values()), ws.config, max_stories(cfg))
    questions = questions_mod.questions(shown_wins, rows, practice_rows, stories, previous_rows)
    scored = sc.in_scope(_closed(deals, period.window_start, period.end))
    n_closed = source.closed_count(ws, sc, period.window_start, period.end)
    notes = _coverage_notes(period, model, n_closed, len(scored))
    brief = Brief(
        team_id=sc.team_id,
        team=sc.name,
        period=period,
        created_at=now or datetime.now(UTC).replace(tzinfo=None),
        currency=str(ws.config["workspace"]["currency"]),
        coverage=Coverage(
            first_day=first_day,
            last_day=last_day,
            as_of=as_of_local,
            run_id=run.run_id,
            run_at=run.created_at,
            run_current=run_current,
            timezone=tz,
            notes=tuple(notes),
        ),
        wins=tuple(shown_wins),
        n_wins=len(won),
        won_amount=float(pd.to_numeric(won["amount"], errors="coerce").fillna(0.0).sum()),
        deviations=tuple(rows),
        practices=tuple(practice_rows),
        stories=tuple(stories),
        questions=tuple(questions),
        actions=tuple(suggested),
        previous_actions=tuple(previous_rows),
        previous_period=period.before().label,
        pulse=tuple(store.pulse_of(ws, sc.team_id, period)),
        funnel=_funnel(rep_assessed, rep_summary, sc, named_reps, period, int(cfg["min_deals"])),
        empty=n_rows == 0,
        notes=tuple(dev_notes),
        experiments=tuple(experiments_mod.lines(tried, sc.teams)),
    )
    check_naming(brief)
    return brief
