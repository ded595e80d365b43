"""The verdict of an experiment (``experiments.verdict``): every rule in its order with its
exact sentence, the early looks (Haybittle-Peto) and the later ones (98%), the error rate over
repeated looks on null panels, the warnings, and the bridge from a fit.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pytest

import experiment_sim as sim
from brightspots.experiments import did, evaluate, panels, power
from brightspots.experiments.verdict import CODES, MeasureFit, Timing, Verdict, decisive, verdict

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
    repeated_low=0.006,
    repeated_high=0.116,
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
LATE = (
    "It is checked every week, so the 98% interval decides, not the 95% one, which read week "
    "after week would too often show an effect that is not there: the 98% interval (0.6 to "
    "11.6) clears zero too."
)


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
    # every team treated in the end (comparison all): no never-treated levels to show
    alone = _verdict(adoption=replace(low, levels=did.Levels(0.34, 0.36, np.nan, np.nan)))
    assert alone.headline == (
        "Practice not adopted, so no test: the 6 teams did it on 34% of new deals before and "
        "36% since."
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
        (ADOPTED, FAIR, LATE),
        (),
    )
    worse = _figures(-0.05, (-0.09, -0.01), (-0.12, 0.125), (-0.1, -0.002))
    assert _verdict(worse).headline == (
        "It made things worse: win rate fell 5.0 points (95% CI 1.0 to 9.0) against 12 "
        "comparison teams, over 11 weeks of new deals in 6 teams."
    )
    # lower is better for response time
    faster = _figures(-2.1, (-3.7, -0.5), (-5.0, -0.1), (-4.2, -0.2))
    v = _verdict(faster, None, name="response_hours", detect=2.0)
    assert v.headline == (
        "It worked: response time fell 2.1 hours (95% CI 0.5 to 3.7) against 12 comparison "
        "teams, over 11 weeks of buyer messages in 6 teams."
    )
    slower = _mirrored(faster)
    assert _verdict(slower, None, name="response_hours", detect=2.0).code == "worse"


Pair = tuple[float, float]


def _figures(estimate: float, ci: Pair, strict: Pair, repeated: Pair) -> MeasureFit:
    """``OUTCOME`` with other figures: the estimate and its 95%, 99.9% and 98% intervals."""
    return replace(
        OUTCOME, estimate=estimate, ci_low=ci[0], ci_high=ci[1], strict_low=strict[0],
        strict_high=strict[1], repeated_low=repeated[0], repeated_high=repeated[1],
    )  # fmt: skip


def _mirrored(fit: MeasureFit) -> MeasureFit:
    """The same fit with the opposite sign."""

    def flip(low: float | None, high: float | None) -> Pair:
        assert low is not None and high is not None
        return (-high, -low)

    assert fit.estimate is not None
    return _figures(
        -fit.estimate,
        flip(fit.ci_low, fit.ci_high),
        flip(fit.strict_low, fit.strict_high),
        flip(fit.repeated_low, fit.repeated_high),
    )


def test_no_effect_yet() -> None:
    null = replace(
        OUTCOME,
        estimate=0.02,
        ci_low=-0.031,
        ci_high=0.072,
        strict_low=-0.08,
        strict_high=0.12,
        repeated_low=-0.05,
        repeated_high=0.09,
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


def test_a_change_is_unlikely_only_when_the_interval_stops_short_of_it() -> None:
    """Past the weeks needed, a change of ``detect`` is called unlikely only when the better end
    of the interval is short of it (review M3: +3.0, 95% CI -1.0 to 7.0 still holds +5)."""
    past = replace(TIMING, weeks_needed=10)  # 11 weeks done
    wide = replace(
        OUTCOME, estimate=0.03, ci_low=-0.01, ci_high=0.07, repeated_low=-0.03, repeated_high=0.09
    )
    assert _verdict(wide, timing=past).headline == (
        "No detectable effect yet: +3.0 points (95% CI −1.0 to 7.0). The interval still includes "
        "a 5-point rise: add teams, or keep it running to narrow it."
    )
    narrow = replace(wide, estimate=0.01, ci_low=-0.02, ci_high=0.04)
    assert _verdict(narrow, timing=past).headline.endswith(
        "A 5-point rise would most likely have shown by now, and the interval stops short of "
        "it, so a change that large is unlikely."
    )
    # lower is better for response time: the better end is the low one
    hours = dict(name="response_hours", detect=2.0)
    faster = replace(wide, estimate=-0.5, ci_low=-2.5, ci_high=1.5, repeated_low=-3.0)
    assert _verdict(faster, None, past, **hours).headline.endswith(
        "The interval still includes a 2-hour drop: add teams, or keep it running to narrow it."
    )
    near = replace(faster, ci_low=-1.5, ci_high=2.5, repeated_high=3.0)
    assert _verdict(near, None, past, **hours).headline.endswith(
        "so a change that large is unlikely."
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
    # from the planned week on, the 98% interval decides (0.6 to 11.6: clear of zero)
    v = _verdict(replace(OUTCOME, strict_low=-0.002))
    assert v.code == "worked" and v.lines[-1] == LATE


def test_later_looks_need_the_98_interval() -> None:
    """From the plan's weeks on every weekly look is read at 98%, never at 95%: a 95% interval
    clear of zero with a 98% one that is not is no effect yet, with the reason."""
    v = _verdict(replace(OUTCOME, repeated_low=-0.004))
    assert v.code == "no_effect_yet"
    assert v.headline.startswith(
        "No detectable effect yet: +6.1 points (95% CI 1.8 to 10.4), but it is checked every "
        "week, so the 98% interval decides, not the 95% one, which read week after week would "
        "too often show an effect that is not there (98% CI −0.4 to 11.6). "
    )
    assert decisive(OUTCOME, TIMING) is not None
    assert decisive(OUTCOME, TIMING).level == did.REPEATED_LEVEL
    assert decisive(OUTCOME, replace(TIMING, planned_weeks=15)).level == did.STRICT_LEVEL
    # a fit without the 98% interval (made by hand) is judged on the stricter one it has
    bare = replace(OUTCOME, repeated_low=None, repeated_high=None)
    assert decisive(bare, TIMING).level == did.STRICT_LEVEL
    assert decisive(replace(bare, strict_low=None), TIMING).level == 0.95


#: null panels for the error rate over repeated looks: 24 teams, 6 treated in 2 waves of 3
#: (weeks 20 and 24), K = 12, 12 planned weeks; looks at 1 to 4 weeks since the first start
#: (early, the first wave alone), then every 4 weeks from the plan's 12 weeks to 40
LOOK_PANELS = 60
LOOKS = (21, 22, 23, 24, *range(32, 61, 4))  # data weeks (the first start is week 20)


def any_look_rate(judge=verdict, measure_fit=MeasureFit.of) -> float:
    """The share of null panels called "worked" or "worse" at any of the looks ``LOOKS``, by
    the verdict ``judge`` (the statistics are the fit's own, ``did.fit`` as the product runs
    it but for 99 draws behind the 95% interval, which no longer decides)."""
    rng = np.random.default_rng(2026)
    decided = 0
    for k in range(LOOK_PANELS):
        s = sim.staggered(rng, weeks=LOOKS[-1], effect=0.0).panel
        for last in LOOKS:
            cut = did.Panel(
                s.units, s.weeks[:last], s.y[:, :last], s.n[:, :last], s.start,
                np.minimum(s.stop, last), s.weight,
            )  # fmt: skip
            fit = did.fit(cut, baseline_weeks=12, draws=99, seed=k)
            timing = Timing((s.weeks[20], s.weeks[24]), s.weeks[last - 1], 0, 0, 12, 12)
            v = judge("win_rate", measure_fit(fit, cut.weeks), None, timing, horizon_days=90,
                      detect=0.05, min_uptake=0.05)  # fmt: skip
            if v.code in ("worked", "worse"):
                decided += 1
                break
    return decided / LOOK_PANELS


def test_repeated_looks_keep_the_error_rate() -> None:
    """A null experiment read at 12 looks, 4 before the plan's weeks and 8 in the 28 weeks
    after. The rule before (review M2: the 95% interval after the plan's weeks, the bare
    bootstrap 99.9% before) decided at some look in 7 of these 60 panels (8 with this test's 99
    draws); with the 98% interval after and both bounded by the t with G1 - 1 degrees of
    freedom, about 4% are expected (3.7% of 300 panels looked at every week; the bound allows
    for the noise of 60)."""
    assert any_look_rate() <= 0.08


def test_dates_chosen_after_the_fact_are_warned_about() -> None:
    """A wave added after its start, and a stop whose end was already past when it was
    recorded, are warned about like a registration after the start (review M6)."""
    on_time = (START, START - timedelta(days=3))
    late = (date(2026, 11, 30), date(2026, 12, 14))
    timing = replace(TIMING, created=START - timedelta(days=3), waves=(on_time, late))
    v = _verdict(timing=timing)
    assert v.warnings == (
        "The teams that started on 30 Nov 2026 were added on 14 Dec 2026, after that start: a "
        "start chosen after seeing the first weeks can flatter the result.",
    )
    stopped = replace(timing, waves=(on_time,), end=date(2027, 1, 4), stopped_on=date(2027, 2, 1))
    assert _verdict(timing=stopped).warnings == (
        "It was stopped on 1 Feb 2027 with its end on 4 Jan 2027, before the stop was recorded: "
        "an end chosen after seeing the first weeks can flatter the result.",
    )
    assert _verdict(timing=replace(stopped, stopped_on=date(2027, 1, 4))).warnings == ()
    # the first wave registered late is said once, as the registration
    first = replace(TIMING, created=date(2026, 11, 10), waves=((START, date(2026, 11, 10)),))
    assert len(_verdict(timing=first).warnings) == 1
    assert _verdict(timing=first).warnings[0].startswith("It was registered on 10 Nov 2026")


def test_a_mid_week_start_is_dated_from_its_monday() -> None:
    """A start on Wednesday 4 Mar 2026 counts from Monday 9 Mar, as the measures and the plan
    count it: "first figures around" and "(about <date>)" agree with them (review M9)."""
    wednesday = date(2026, 3, 4)
    monday = panels.treated_from(wednesday)
    assert monday == date(2026, 3, 9)
    timing = replace(TIMING, starts=(wednesday,), as_of=date(2026, 4, 1), weeks_needed=17)
    young = replace(OUTCOME, estimate=None, ci_low=None, ci_high=None, post_weeks=0)
    v = _verdict(young, timing=timing)
    first = evaluate._first_figures(monday, timedelta(days=90), None)
    assert first == date(2026, 6, 14)
    assert v.headline.endswith("first figures around 14 Jun 2026.")
    null = replace(OUTCOME, estimate=0.02, ci_low=-0.031, ci_high=0.072, repeated_low=-0.05)
    v = _verdict(null, timing=replace(timing, as_of=date(2026, 9, 1)))
    plan = power.ready(monday, 17, 90)  # the plan's "from about ..."
    assert plan == date(2026, 10, 4)
    assert v.headline.endswith("more weeks of new deals (about 4 Oct 2026).")


def test_adoption_of_a_share_and_of_a_lower_is_better_practice() -> None:
    """A share practice is written in percentages and points; a practice whose measure should
    fall is taken up when it falls (review L3)."""
    share = replace(
        ADOPTION, estimate=0.13, ci_low=0.08, ci_high=0.18, levels=did.Levels(0.31, 0.45, 0.3, 0.31)
    )
    v = verdict(
        "win_rate", OUTCOME, share, TIMING, horizon_days=90, detect=0.05, min_uptake=0.05,
        adoption_kind="share",
    )  # fmt: skip
    assert v.lines[0] == (
        "Adoption: +13.0 points (95% CI 8.0 to 18.0) against the comparison teams: the 6 teams "
        "averaged 31% on their new deals before and 45% since; the comparison teams 30% and 31%."
    )
    count = replace(share, levels=did.Levels(1.2, 2.5, 1.1, 1.3), estimate=1.3, ci_low=0.9,
                    ci_high=1.7)  # fmt: skip
    v = verdict(
        "win_rate", OUTCOME, count, TIMING, horizon_days=90, detect=0.05, min_uptake=0.12,
        adoption_kind="count",
    )  # fmt: skip
    assert v.lines[0].startswith("Adoption: +1.3 (95% CI 0.9 to 1.7) against the comparison teams")
    # hours to follow up, lower is better: a fall of 3 hours (95% CI 1 to 5) is uptake
    fewer = replace(ADOPTION, estimate=-3.0, ci_low=-5.0, ci_high=-1.0, levels=None)
    kw = dict(horizon_days=90, detect=0.05, min_uptake=0.5, adoption_kind="hours")
    assert verdict("win_rate", OUTCOME, fewer, TIMING, adoption_higher=False, **kw).code == "worked"
    wrong_way = verdict("win_rate", OUTCOME, fewer, TIMING, **kw)  # read as higher is better
    assert wrong_way.code == "not_adopted"
    assert wrong_way.headline == (
        "Practice not adopted, so no test: its use changed −3.0 against the comparison teams "
        "(95% CI −5.0 to −1.0)."
    )
    more = replace(fewer, estimate=3.0, ci_low=1.0, ci_high=5.0)
    assert verdict("win_rate", OUTCOME, more, TIMING, adoption_higher=False, **kw).code == (
        "not_adopted"
    )


def test_the_headline_counts_the_comparison_teams_apart_from_later_waves() -> None:
    """12 comparison teams and 3 of the experiment's own later teams (review L4)."""
    v = _verdict(replace(OUTCOME, n_later=3))
    assert v.headline == (
        "It worked: win rate rose 6.1 points (95% CI 1.8 to 10.4) against 12 comparison teams "
        "and 3 of its own later teams before they started, over 11 weeks of new deals in 6 teams."
    )


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
    # compared with its own later teams before they started (the second wave's 3 and the
    # last wave's 6), no comparison team left
    assert (m.n_control, m.n_later) == (0, 9) and fit.overall.n_control == 9
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
    assert "against 9 of its own later teams before they started, over 20 weeks" in v.headline
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
