"""The verdict of an experiment (``experiments.verdict``): every rule in its order with its
exact sentence, the early looks (Haybittle-Peto), the warnings, and the bridge from a fit.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pytest

import experiment_sim as sim
from brightspots.experiments import did
from brightspots.experiments.verdict import CODES, MeasureFit, Timing, Verdict, verdict

START = date(2026, 11, 2)
FLAT = did.Pretrend(0.0002, 0.001, -0.002, 0.002, 0.6, 0.004, 26, 0.061)
OUTCOME = MeasureFit(
    estimate=0.061,
    ci_low=0.018,
    ci_high=0.104,
    strict_low=0.002,
    strict_high=0.125,
    n_treated=6,
    n_control=12,
    treated=6,
    comparison=12,
    post_weeks=11,
    pretrend=FLAT,
)
ADOPTION = MeasureFit(
    estimate=0.27,
    ci_low=0.20,
    ci_high=0.34,
    n_treated=6,
    n_control=12,
    treated=6,
    comparison=12,
    post_weeks=15,
    levels=did.Levels(0.34, 0.62, 0.33, 0.35),
)
# 17 weeks of new deals are needed; the plan said 9, already past
TIMING = Timing((START,), date(2027, 3, 1), 90, 14, planned_weeks=9, weeks_needed=17)
ADOPTED = (
    "Adoption: +27.0 points (95% CI 20.0 to 34.0) against the comparison teams: the 6 teams "
    "did it on 34% of new deals before and 62% since; the comparison teams 33% and 35%."
)
FAIR = "Before the start the gap moved 0.02 points a week (p = 0.60): a fair comparison."


def _verdict(
    outcome: MeasureFit = OUTCOME,
    adoption: MeasureFit | None = ADOPTION,
    timing: Timing = TIMING,
    *,
    name: str = "win_rate",
    detect: float = 0.05,
) -> Verdict:
    return verdict(name, outcome, adoption, timing, horizon_days=90, detect=detect, min_uptake=0.05)


def test_not_started() -> None:
    v = _verdict(timing=replace(TIMING, starts=(date(2026, 11, 30),), as_of=date(2026, 10, 31)))
    assert v == Verdict(
        "not_started",
        "It starts on 30 Nov 2026, after the latest data (31 Oct 2026): nothing to measure yet.",
    )


def test_no_comparison() -> None:
    alone = replace(OUTCOME, comparison=0, estimate=None, post_weeks=0)
    assert _verdict(alone) == Verdict(
        "no_comparison",
        "No team to compare with: every team started on 2 Nov 2026, so nothing can tell the "
        "practice's effect apart from the season or anything else that changed then. Leave some "
        "teams out, or start half of them 4 weeks later (`experiment extend`).",
    )
    two = _verdict(alone, timing=replace(TIMING, starts=(START, date(2026, 11, 30))))
    assert two.code == "no_comparison"
    assert two.headline.startswith(
        "No team to compare with: fewer than 2 teams were left out when its teams started, so"
    )


def test_too_few_teams() -> None:
    v = _verdict(replace(OUTCOME, treated=1, estimate=None))
    assert v == Verdict(
        "too_few_teams", "One team cannot be told apart from its own luck: add a team."
    )
    none = _verdict(replace(OUTCOME, treated=0, comparison=0, estimate=None))
    assert none.code == "too_few_teams"
    assert none.headline.startswith("No team in it has figures before its start")


def test_too_early() -> None:
    young = replace(OUTCOME, estimate=None, ci_low=None, ci_high=None, post_weeks=0)
    v = _verdict(young, timing=replace(TIMING, as_of=date(2026, 12, 20)))
    assert v.code == "too_early"
    assert v.headline == (
        "Too early: deals created since 2 Nov have not had 90 days yet; first figures around "
        "7 Feb 2027."
    )
    assert v.lines == (ADOPTED,)  # adoption is shown once it is mature
    unseen = _verdict(young, replace(ADOPTION, estimate=None, post_weeks=0))
    assert unseen.code == "too_early" and unseen.lines == ()
    # the outcome is mature (a short lag) but adoption is not yet
    v = _verdict(
        replace(OUTCOME, post_weeks=1),
        replace(ADOPTION, estimate=None, post_weeks=0),
        replace(TIMING, as_of=date(2026, 11, 20)),
    )
    assert v.headline == (
        "Too early: deals created since 2 Nov have not had 14 days yet, to tell whether the "
        "teams do the practice; first figures around 23 Nov 2026."
    )


def test_not_adopted() -> None:
    low = replace(ADOPTION, estimate=0.02, ci_low=0.004, ci_high=0.04)  # all below 5 points
    v = _verdict(adoption=replace(low, levels=did.Levels(0.34, 0.36, 0.33, 0.35)))
    assert v.code == "not_adopted"
    assert v.headline == (
        "Practice not adopted, so no test: the 6 teams did it on 34% of new deals before and "
        "36% since; the comparison teams 33% and 35%."
    )
    assert v.lines[-1] == (
        "Win rate (deals won within 90 days): +6.1 points (95% CI 1.8 to 10.4) against 12 "
        "comparison teams, over 11 weeks of new deals in 6 teams."
    )
    unclear = replace(ADOPTION, estimate=0.06, ci_low=-0.01, ci_high=0.13)
    assert _verdict(adoption=unclear).code == "not_adopted"  # 15 weeks and it does not clear 0
    assert _verdict(adoption=replace(unclear, post_weeks=3)).code == "worked"  # too soon to say
    assert _verdict(adoption=None).code == "worked"  # not measurable: no adoption rule


def test_unfair_comparison() -> None:
    drifting = replace(FLAT, slope=0.004, p=0.01, drift=0.07)
    v = _verdict(replace(OUTCOME, pretrend=drifting))
    assert v.code == "unfair_comparison"
    assert v.headline == (
        "No fair comparison: before the start the teams were already drifting apart by "
        "0.4 points a week."
    )
    # a significant drift smaller than half the change worth detecting is fine
    assert _verdict(replace(OUTCOME, pretrend=replace(drifting, drift=0.02))).code == "worked"


def test_worked_and_worse() -> None:
    v = _verdict()
    assert v == Verdict(
        "worked",
        "It worked: win rate rose 6.1 points (95% CI 1.8 to 10.4) against 12 comparison teams, "
        "over 11 weeks of new deals in 6 teams.",
        (ADOPTED, FAIR),
        (),
    )
    worse = replace(OUTCOME, estimate=-0.05, ci_low=-0.09, ci_high=-0.01, strict_low=-0.12)
    assert _verdict(worse).headline == (
        "It made things worse: win rate fell 5.0 points (95% CI 1.0 to 9.0) against 12 "
        "comparison teams, over 11 weeks of new deals in 6 teams."
    )
    # lower is better for response time
    faster = replace(
        OUTCOME, estimate=-2.1, ci_low=-3.7, ci_high=-0.5, strict_low=-5.0, strict_high=-0.1
    )
    v = _verdict(faster, None, name="response_hours", detect=2.0)
    assert v.headline == (
        "It worked: response time fell 2.1 hours (95% CI 0.5 to 3.7) against 12 comparison "
        "teams, over 11 weeks of buyer messages in 6 teams."
    )
    slower = replace(faster, estimate=2.1, ci_low=0.5, ci_high=3.7, strict_low=0.1, strict_high=5)
    assert _verdict(slower, None, name="response_hours", detect=2.0).code == "worse"


def test_no_effect_yet() -> None:
    null = replace(
        OUTCOME, estimate=0.02, ci_low=-0.031, ci_high=0.072, strict_low=-0.08, strict_high=0.12
    )
    v = _verdict(null)
    assert v.code == "no_effect_yet"
    # 17 weeks from 2 Nov 2026 is 1 Mar 2027; with 90 days: 30 May 2027
    assert v.headline == (
        "No detectable effect yet: +2.0 points (95% CI −3.1 to 7.2). A 5-point rise would be "
        "detectable after about 6 more weeks of new deals (about 30 May 2027)."
    )
    unbounded = _verdict(replace(null, ci_low=-float("inf"), ci_high=float("inf")))
    assert unbounded.headline.startswith("No detectable effect yet: +2.0 points (95% CI −∞ to ∞).")
    never = _verdict(null, timing=replace(TIMING, weeks_needed=None))
    assert never.headline.endswith(
        "A 5-point rise would not be detectable within two years with these 6 teams: add teams."
    )
    late = _verdict(null, timing=replace(TIMING, weeks_needed=10))
    assert late.headline.endswith(
        "A 5-point rise would most likely have shown by now, so a change that large is unlikely."
    )


def test_early_looks_need_the_stronger_interval() -> None:
    """Before the plan's weeks (15 here, 11 so far) worked/worse need the 99.9% interval; 15
    weeks from 2 Nov 2026 is 15 Feb 2027, mature 90 days later on 16 May 2027."""
    early = replace(TIMING, planned_weeks=15)
    v = _verdict(timing=early)  # 99.9%: 0.2 to 12.5, clear of zero
    assert v.code == "worked"
    assert v.lines[-1] == (
        "It is checked every week, so until 16 May 2027 a stronger result is needed: the 99.9% "
        "interval (0.2 to 12.5) clears zero too."
    )
    v = _verdict(replace(OUTCOME, strict_low=-0.002), timing=early)
    assert v.code == "no_effect_yet"
    assert v.headline.startswith(
        "No detectable effect yet: +6.1 points (95% CI 1.8 to 10.4), but it is checked every "
        "week, so until 16 May 2027 a stronger result is needed (99.9% CI −0.2 to 12.5). "
    )
    # no plan (not detectable within two years): every look is an early one
    assert (
        _verdict(
            replace(OUTCOME, strict_low=-0.002), timing=replace(TIMING, planned_weeks=None)
        ).code
        == "no_effect_yet"
    )
    # from the planned week on, the 95% interval decides
    assert _verdict(replace(OUTCOME, strict_low=-0.002)).code == "worked"


def test_warnings_follow_the_verdict() -> None:
    timing = replace(TIMING, dip=True, created=date(2026, 11, 10), figures_run="R-20270301")
    fit = replace(OUTCOME, treated=3, n_treated=3, waves_without_controls=(date(2026, 11, 30),))
    v = _verdict(fit, timing=replace(timing, starts=(START, date(2026, 11, 30))))
    assert v.code == "worked"
    assert v.warnings == (
        "Only 3 teams tried it: with so few teams the interval is less sure than it looks; take "
        "the verdict as a first sign.",
        "The teams were picked after a dip: their last 8 weeks sat more than 1 SD below their "
        "26-week level, so part of any improvement would have come anyway.",
        "It was registered on 10 Nov 2026, after its start on 2 Nov 2026: a start chosen after "
        "seeing the first weeks can flatter the result.",
        "The teams that started on 30 Nov 2026 have no team left to compare with, so they are "
        "not counted.",
        "The win rate figures are as of run R-20270301.",
    )
    assert _verdict(replace(OUTCOME, treated=4)).warnings == ()  # 4 teams: min_teams


def test_measure_fit_of_a_fit() -> None:
    rng = np.random.default_rng(9)
    s = sim.staggered(rng, units=12, weeks=40, waves=((20, 3), (24, 3)), effect=0.2)
    start = np.asarray(s.panel.start).copy()
    start[np.flatnonzero(start < 0)[:2]] = 38  # a late wave the others' controls run out for
    comparison = start < 0
    start[comparison] = 38  # ... so every team is in the experiment: the last wave is alone
    panel = sim.make_panel(s.panel.y, s.panel.n, start, s.panel.weight)
    fit = did.fit(panel, baseline_weeks=8, draws=199)
    m = MeasureFit.of(fit, panel.weeks)
    assert fit.overall is not None and fit.strict is not None
    assert (m.estimate, m.ci_low, m.ci_high) == (
        fit.overall.estimate,
        fit.overall.ci_low,
        fit.overall.ci_high,
    )
    assert (m.strict_low, m.strict_high) == (fit.strict.ci_low, fit.strict.ci_high)
    assert m.strict_low < m.ci_low and m.strict_high > m.ci_high
    assert (m.n_treated, m.treated, m.post_weeks) == (6, 12, 20)
    assert m.waves_without_controls == (panel.weeks[38],)
    v = verdict(
        "win_rate",
        m,
        None,
        Timing((panel.weeks[20], panel.weeks[24], panel.weeks[38]), panel.weeks[-1], 0, 0, 4, 6),
        horizon_days=90,
        detect=0.05,
        min_uptake=0.05,
    )
    assert v.code == "worked"  # 20 points in 6 teams
    assert v.warnings[-1].startswith(f"The teams that started on {panel.weeks[38].day} ")
    none = MeasureFit.of(
        did.fit(sim.make_panel(s.panel.y, s.panel.n, np.full(12, 20)), baseline_weeks=8),
        panel.weeks,
    )
    assert none.estimate is None and none.comparison == 0 and none.treated == 12


def test_codes_are_the_rules_in_order() -> None:
    assert CODES == (
        "not_started",
        "no_comparison",
        "too_few_teams",
        "too_early",
        "not_adopted",
        "unfair_comparison",
        "worked",
        "worse",
        "no_effect_yet",
    )
    with pytest.raises(ValueError, match="unknown outcome"):
        _verdict(name="revenue")
