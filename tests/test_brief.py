"""The brief's content against the synthetic org: periods, wins, positive deviations, what
worked, questions, actions and the naming rule (no named rep below expected or the peer median).
Rendering is tested in test_brief_render.py and test_brief_browser.py."""

from __future__ import annotations

import json
import math
import shutil
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from brightspots.brief import BriefError, PeriodError, build, parse, store
from brightspots.brief import deviations as dev
from brightspots.brief.model import Brief
from brightspots.brief.period import containing
from brightspots.brief.render import render_markdown
from brightspots.workspace import Workspace

# ------------------------------------------------------------------ periods


@pytest.mark.parametrize(
    ("text", "label", "start", "end"),
    [
        ("2026-W47", "2026-W47", date(2026, 11, 16), date(2026, 11, 22)),
        ("2026w1", "2026-W01", date(2025, 12, 29), date(2026, 1, 4)),
        ("2020-W53", "2020-W53", date(2020, 12, 28), date(2021, 1, 3)),
        ("2026-11", "2026-11", date(2026, 11, 1), date(2026, 11, 30)),
        ("2024-02", "2024-02", date(2024, 2, 1), date(2024, 2, 29)),
        ("2026-Q4", "2026-Q4", date(2026, 10, 1), date(2026, 12, 31)),
        ("2026q1", "2026-Q1", date(2026, 1, 1), date(2026, 3, 31)),
    ],
)
def test_periods_are_calendar_correct(text, label, start, end) -> None:
    p = parse(text)
    assert (p.label, p.start, p.end) == (label, start, end)
    assert containing(p.start, p.kind) == p == containing(p.end, p.kind)
    assert p.after().start == p.end + timedelta(days=1)
    assert p.before().end == p.start - timedelta(days=1)
    assert (p.previous_end - p.previous_start).days + 1 == 91
    assert p.previous_end + timedelta(days=1) == p.window_start


def test_a_week_is_judged_over_the_13_weeks_ending_with_it() -> None:
    p = parse("2026-W47")
    assert p.window_start == date(2026, 8, 24)  # a Monday, 12 weeks before the week's Monday
    assert (p.end - p.window_start).days + 1 == 13 * 7
    assert parse("2026-11").window_start == date(2026, 11, 1)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("2026-W54", "weeks 1 to 53"),
        ("2025-W53", "weeks 1 to 52"),
        ("2026-13", "01 to 12"),
        ("2026-Q5", "a quarter like 2026-Q4"),
        ("last week", "a week like 2026-W47, a month like 2026-11 or a quarter like 2026-Q4"),
    ],
)
def test_a_malformed_period_says_what_is_valid(text, says) -> None:
    with pytest.raises(PeriodError, match=says):
        parse(text)


# ------------------------------------------------------------------ statistics, by hand


def test_chance_is_decided_over_the_whole_brief() -> None:
    # BH at 5% over 10 tests: 0.001 <= 0.005 (rank 1), 0.008 <= 0.010 (rank 2), 0.02 > 0.015
    p = np.array([0.001, 0.008, 0.02, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    cut = dev.cutoff(p)
    assert cut == 0.008
    assert dev.chance(0.001, cut) == "beyond chance"
    assert dev.chance(0.02, cut) == "likely"  # one-sided p <= 0.025: worth a look
    assert dev.chance(0.03, cut) == "could be chance"
    assert dev.chance(math.nan, cut) == "could be chance"
    assert dev.cutoff(np.array([0.2, 0.5])) == 0.0
    # the same p-value is no longer beyond chance when the brief tests many more units
    assert dev.cutoff(np.r_[p, np.ones(90)]) < 0.008


def test_two_proportion_z_by_hand() -> None:
    # 60/200 now against 40/200 before: pooled 0.25, se sqrt(0.25 * 0.75 * 0.01) = 0.0433013
    z = dev.two_proportion_z([60], [200], [40], [200], 1.0)
    assert z[0] == pytest.approx(0.1 / 0.0433013, rel=1e-5)
    # a design effect of 4 halves z; below 1 it counts as 1
    assert dev.two_proportion_z([60], [200], [40], [200], 4.0)[0] == pytest.approx(z[0] / 2)
    assert dev.two_proportion_z([60], [200], [40], [200], 0.5)[0] == pytest.approx(z[0])


def _ctx(ids, unit="rep") -> dev.Context:
    return dev.Context({i: f"Rep {i}" for i in ids}, {}, frozenset(ids), "the window", unit)


def test_impact_rows_need_previous_and_peer_median_both_beaten() -> None:
    # a: 300/1000 up from 200/1000 (z 5.2); b: 120/1000 up from 60/1000 but the peer median is
    # 0.2; c: 200/1000 flat; d: 250/1000 down from 300/1000
    now = pd.DataFrame(
        {"unit_id": list("abcd"), "n": [1000.0] * 4, "k": [300.0, 120.0, 200.0, 250.0]}
    )
    before = pd.DataFrame(
        {"unit_id": list("abcd"), "n": [1000.0] * 4, "k": [200.0, 60.0, 200.0, 300.0]}
    )
    family = dev.impact_deviations(now, before, _ctx("abcd"), deff=1.0, min_touches=100, sparks={})
    rows, counted = dev.finalize([family])
    assert [r.unit_id for r in rows] == ["a"]
    a = rows[0]
    assert a.value == pytest.approx(0.3) and a.previous == pytest.approx(0.2)
    assert a.peer_median == pytest.approx(0.225)  # median of 0.3, 0.12, 0.2, 0.25
    assert {f.against for f in a.figures} == {"previous", "peer_median"}
    assert all(f.at_or_better for f in a.figures)
    assert a.chance == "beyond chance"
    assert "30%" in a.sentence and "20%" in a.sentence
    assert a.sentence.endswith("the median rep was at 22%.")  # the badge carries the chance
    # b is below the peer median: neither shown nor counted as a deviation
    assert counted == {} and family.other == 0
    assert len(family.p_values) == 4  # every unit tested counts in the correction


def test_a_change_the_whole_company_shares_is_no_deviation() -> None:
    # a rises 20% -> 30%: alone, far beyond chance; but the company rose 20% -> 29%
    now = pd.DataFrame({"unit_id": ["a", "b"], "n": [1000.0, 1000.0], "k": [300.0, 250.0]})
    before = pd.DataFrame({"unit_id": ["a", "b"], "n": [1000.0, 1000.0], "k": [200.0, 200.0]})
    kw = {"deff": 1.0, "min_touches": 100, "sparks": {}}
    alone = dev.impact_deviations(now, before, _ctx("ab"), **kw)
    assert [r.unit_id for r in alone.rows] == ["a"]
    shared = dev.impact_deviations(now, before, _ctx("ab"), company=(0.20, 0.29), **kw)
    assert shared.rows == []
    # the z of the difference in differences, by hand: (0.1 - 0.09) / se
    se = math.sqrt(0.25 * 0.75 * (2 / 1000))
    z = dev.two_proportion_z([300], [1000], [200], [1000], 1.0, shift=0.09)
    assert z[0] == pytest.approx(0.01 / se)
    assert (
        "the company as a whole went from 20% to 22%"
        in dev.impact_deviations(now, before, _ctx("ab"), company=(0.20, 0.22), **kw)
        .rows[0]
        .sentence
    )
    # response times: 10 -> 5 hours is no deviation when the company went 10 -> 4.5
    summary = pd.DataFrame(
        {
            "unit_id": ["a", "a", "b", "b"],
            "window": ["now", "before"] * 2,
            "n": [50] * 4,
            "median": [5.0, 10.0, 9.0, 9.5],
        }
    )
    args = {"min_responses": 20, "in_scope": frozenset("ab"), "peers_of_kind": False}
    assert dev.response_candidates(summary, **args)[0] == ["a", "b"]
    assert dev.response_candidates(summary, company=(10.0, 4.5), **args)[0] == []
    assert dev.response_candidates(summary, company=(10.0, 9.0), **args)[0] == ["a"]


def test_impact_rows_below_minimum_touches_are_not_judged() -> None:
    now = pd.DataFrame({"unit_id": ["a"], "n": [99.0], "k": [90.0]})
    before = pd.DataFrame({"unit_id": ["a"], "n": [500.0], "k": [10.0]})
    family = dev.impact_deviations(now, before, _ctx("a"), deff=1.0, min_touches=100, sparks={})
    assert family.rows == [] and not len(family.p_values)


def test_response_rows_faster_than_before_and_than_peers() -> None:
    rng = np.random.default_rng(3)
    summary = pd.DataFrame(
        {
            "unit_id": ["a", "a", "b", "b", "c", "c"],
            "window": ["now", "before"] * 3,
            "n": [60, 60, 60, 60, 60, 60],
            "median": [2.0, 10.0, 30.0, 40.0, 12.0, 11.0],
        }
    )
    ids, peer, n_peers = dev.response_candidates(
        summary, min_responses=20, in_scope=frozenset("abc"), peers_of_kind=True
    )
    # b got faster but is slower than the peer median (12 hours); c got slower
    assert ids == ["a"] and peer == 12.0 and n_peers == 3
    values = pd.DataFrame(
        {
            "unit_id": ["a"] * 120,
            "window": ["now"] * 60 + ["before"] * 60,
            "hours": np.r_[rng.exponential(2.0, 60), rng.exponential(10.0, 60)],
        }
    )
    rows, _ = dev.finalize(
        [
            dev.response_deviations(
                values, _ctx("a"), peer_median=peer, peers=n_peers, n_tested=3, sparks={}
            )
        ]
    )
    assert len(rows) == 1 and rows[0].metric == "response_hours"
    assert rows[0].value < rows[0].previous and rows[0].value <= peer
    assert all(f.at_or_better for f in rows[0].figures)


def test_win_rate_rows_from_a_hand_made_window() -> None:
    # 40 deals at p = 0.25 for each of 12 reps; rep r0 wins 22 (expected 10), the others 10
    rows = []
    for i in range(12):
        wins = 22 if i == 0 else 10
        for j in range(40):
            rows.append(
                {
                    "rep_id": f"r{i}",
                    "y": int(j < wins),
                    "p_hat": 0.25,
                    "closed_local": pd.Timestamp(2026, 1 + j % 6, 10),
                }
            )
    deals = pd.DataFrame(rows)
    assessed, _ = dev.assess_win_rate(
        deals, "rep_id", min_deals=8, noun="rep", phi_method="unbiased"
    )
    family = dev.win_rate_deviations(
        assessed, _ctx([f"r{i}" for i in range(12)]), sustained=frozenset({"r0"})
    )
    got, counted = dev.finalize([family])
    assert [d.unit_id for d in got] == ["r0"] and counted == {}
    d = got[0]
    assert (d.observed, d.expected, d.volume) == (22.0, pytest.approx(10.0), 40)
    assert d.value == pytest.approx(2.2) and d.sustained and d.chance == "beyond chance"
    assert "won 22 of 40 closed deals" in d.sentence and "2.20 times" in d.sentence
    assert d.sentence.endswith("They are a bright spot over the whole analysis too.")


# ------------------------------------------------------------------ on the synthetic org


def _last_full_week(ws: Workspace) -> str:
    last = pd.Timestamp(ws.read("deal_expectations")["closed_local"].max()).date()
    return containing(last - timedelta(days=7), "week").label


def _quarter_before_last(ws: Workspace) -> str:
    last = pd.Timestamp(ws.read("deal_expectations")["closed_local"].max()).date()
    return containing(last, "quarter").before().label


@pytest.fixture(scope="module")
def ws(small_ws) -> Workspace:
    w = Workspace.open(small_ws)
    yield w
    w.close()


@pytest.fixture(scope="module")
def truth(small_org) -> dict:
    return json.loads((small_org / "truth.json").read_text())


@pytest.fixture(scope="module")
def briefs(ws) -> list[Brief]:
    """Briefs of every team and the whole company, weekly and quarterly."""
    teams = sorted(set(ws.read("reps")["team_id"].dropna()))
    periods = [_last_full_week(ws), _quarter_before_last(ws)]
    return [build(ws, t, p) for t in ["all", *teams] for p in periods]


def test_the_biggest_win_of_the_period_is_in_wins(ws, briefs) -> None:
    opps = ws.read("opportunities")
    for b in briefs:
        won = opps[
            (opps["stage"] == "won")
            & (opps["closed_at"].dt.date >= b.period.start)  # the workspace is in UTC
            & (opps["closed_at"].dt.date <= b.period.end)
        ]
        if b.team_id != "all":
            reps = ws.read("reps")
            won = won[won["owner_rep_id"].isin(reps.loc[reps["team_id"] == b.team_id, "rep_id"])]
        assert b.n_wins == len(won), b.team_id
        if not len(won):
            continue
        biggest = won.sort_values(["amount", "opportunity_id"], ascending=[False, True]).iloc[0]
        assert b.wins[0].opportunity_id == biggest["opportunity_id"]
        assert b.won_amount == pytest.approx(float(won["amount"].sum()))
        # the most unlikely scored win is second when it is not the biggest
        scored = [w for w in b.wins if w.p_hat is not None]
        if len(b.wins) > 1 and scored:
            least = min(scored, key=lambda w: (w.p_hat, w.opportunity_id))
            if least.opportunity_id != b.wins[0].opportunity_id:
                assert b.wins[1].opportunity_id == least.opportunity_id
        for w in b.wins:
            assert w.line and w.touches >= 0 and w.contacts <= max(w.touches, 0)


def test_a_planted_bright_spot_with_enough_deals_is_a_positive_deviation(ws, truth) -> None:
    b = build(ws, "all", _last_full_week(ws))
    shown = {d.unit_id: d for d in b.deviations if d.metric == "win_rate" and d.unit == "rep"}
    planted = set(truth["bright_spots"])
    assert planted & set(shown), (planted, shown.keys())
    for rid in planted & set(shown):
        d = shown[rid]
        assert d.volume >= 8 and d.value > 1 and d.chance in ("beyond chance", "likely")
    # most rows are planted bright spots (the rest can be true skill or luck, "likely")
    assert len(planted & set(shown)) >= len(set(shown) - planted)


def test_another_seed_too(tmp_path_factory) -> None:
    from brightspots import synth
    from brightspots.analysis import analyze
    from brightspots.ingest import import_path
    from brightspots.workspace import init_workspace

    root = tmp_path_factory.mktemp("brief_seed")
    synth.synthesize(synth.SynthConfig(reps=40, months=12, seed=13), root / "data")
    truth = json.loads((root / "data" / "truth.json").read_text())
    with init_workspace(root / "ws") as w:
        import_path(w, root / "data")
        analyze(w, practices=True)
        b = build(w, "all", _last_full_week(w))
    shown = {d.unit_id for d in b.deviations if d.metric == "win_rate" and d.unit == "rep"}
    assert set(truth["bright_spots"]) & shown


def test_no_named_rep_below_expected_or_the_peer_median(briefs) -> None:
    n_rows = 0
    for b in briefs:
        for d in b.deviations:
            n_rows += 1
            assert d.figures, d
            if d.metric == "win_rate":
                assert d.observed > d.expected and d.value >= d.peer_median
            elif d.metric == "buyer_impact":
                assert d.value > d.previous
                assert d.unit != "rep" or d.value >= d.peer_median
            else:
                assert d.value < d.previous
                assert d.unit != "rep" or d.value <= d.peer_median
            assert d.chance in ("beyond chance", "likely")
        for name, f in b.named_figures():
            assert f.at_or_better, (name, f)
        # funnel names are exactly the named win-rate rows
        if b.funnel:
            named = {p.name for p in b.funnel.points if p.name}
            rows = {d.name for d in b.deviations if d.metric == "win_rate" and d.unit == "rep"}
            assert named == rows
    assert n_rows > 0


def test_every_question_points_to_a_real_row(briefs) -> None:
    n = 0
    for b in briefs:
        rows = {
            "wins": {w.opportunity_id for w in b.wins},
            "deviations": {d.key for d in b.deviations},
            "practices": {p.practice_id for p in b.practices},
            "stories": {s.story_id for s in b.stories},
            "actions": {a.key for a in b.previous_actions},
        }
        assert len(b.questions) <= 5
        for q in b.questions:
            assert q.ref in rows[q.section], (b.team_id, b.period.label, q)
            n += 1
        assert len({q.text for q in b.questions}) == len(b.questions)
    assert n > 0


def test_what_worked_is_tied_to_the_period(ws, briefs) -> None:
    effects = ws.run_results("practice_effects")
    evidence = set(effects.loc[(effects["q"] <= 0.05) & ~effects["suspect"], "practice"])
    seen = 0
    for b in briefs:
        for p in b.practices:
            seen += 1
            assert p.practice_id in evidence and p.odds_ratio > 1 and p.q_value <= 0.05
            assert p.wins >= 1
            if p.wins_with is not None:
                assert p.sentence.startswith("In ")
                # the period's wins used it more often than its losses did
                assert p.losses == 0 or p.wins_with / p.wins > p.losses_with / p.losses
    assert seen > 0


def test_stories_of_the_period_and_its_wins_are_told_preferred_first(ws, briefs) -> None:
    """small_ws has no app state, so [stories] approval "auto" shares every story not declined;
    a brief tells at most [brief] max_stories (3) of those created in the period or tied to
    one of its wins, tied (and caregiver) ones first, newest first."""
    from brightspots.brief.build import story_rank
    from brightspots.stories.links import caregiver, split_tags

    stories = ws.read("stories")
    opps, reps = ws.read("opportunities"), ws.read("reps")
    acts = ws.read("activities")
    data_end = max(acts["occurred_at"].max(), ws.read("buyer_events")["occurred_at"].max())
    created = dict(zip(stories["story_id"], stories["created_at"], strict=True))
    tag_of = {
        "multi-threading": "multithreading",
        "meeting-before-proposal": "meeting_before_proposal",
    }
    n_tied = 0
    for b in briefs:
        mine = set(reps.loc[reps["team_id"] == b.team_id, "rep_id"])
        day = opps["closed_at"].dt.date  # the workspace is in UTC
        won = opps[(opps["stage"] == "won") & (day >= b.period.start) & (day <= b.period.end)]
        told = stories
        if b.team_id != "all":
            won = won[won["owner_rep_id"].isin(mine)]
            told = stories[stories["rep_id"].isin(mine)]
        in_period = (told["created_at"].dt.date >= b.period.start) & (
            told["created_at"].dt.date <= b.period.end
        )
        tied = told["opportunity_id"].isin(won["opportunity_id"]) | told["account_id"].isin(
            won["account_id"]
        )
        expected = told[in_period | (tied & (told["created_at"] <= data_end))]
        assert len(b.stories) == min(3, len(expected)), (b.team_id, b.period.label)
        assert {s.story_id for s in b.stories} <= set(expected["story_id"])
        keys = [(story_rank(s), -created[s.story_id].value) for s in b.stories]
        assert keys == sorted(keys)
        shown = {s.story_id for s in b.stories}
        for s in b.stories:
            assert s.rep and s.title and s.body
            if s.win_opportunity_id is not None:
                n_tied += 1
                win = won[won["opportunity_id"] == s.win_opportunity_id]
                assert len(win) == 1, s
                row = stories[stories["story_id"] == s.story_id].iloc[0]
                assert row["opportunity_id"] == s.win_opportunity_id or (
                    row["account_id"] == win["account_id"].iloc[0]
                )
            for tag in split_tags(";".join(s.tags)):
                if tag in tag_of:
                    assert tag_of[tag] in s.practices, s
        # nothing left out is preferred to what is shown
        if b.stories:
            last = (story_rank(b.stories[-1]), -created[b.stories[-1].story_id].value)
            left = expected[~expected["story_id"].isin(shown)]
            rest_tied = left["opportunity_id"].isin(won["opportunity_id"]) | left[
                "account_id"
            ].isin(won["account_id"])
            care = caregiver(left, ws.config)
            for sid, t, c in zip(left["story_id"], rest_tied, care, strict=True):
                rank = (0 if c else 1) if t else (2 if c else 3)
                assert (rank, -created[sid].value) >= last
    assert n_tied > 0


def test_coverage_and_an_empty_period(ws) -> None:
    b = build(ws, "all", _last_full_week(ws))
    assert b.coverage.first_day >= b.period.start and b.coverage.last_day <= b.period.end
    assert b.coverage.run_current and b.coverage.as_of is not None
    empty = build(ws, "all", "2030-W10")
    assert empty.empty and empty.n_wins == 0 and not empty.wins and not empty.deviations
    assert empty.coverage.first_day is None
    # the model window note, and in words: no data, and the data ends before the period
    assert empty.coverage.notes == ()
    md = render_markdown(empty)
    assert "No data for this period" in md and "before this period began" in md


def test_an_unknown_team_lists_the_valid_ones(ws) -> None:
    with pytest.raises(BriefError, match=r"unknown team 'Mars'; use all or one of: .*TM-001"):
        build(ws, "Mars", "2026-W40")
    team = ws.read("teams").iloc[1]
    # a team's name works as well as its id, in any case
    assert build(ws, str(team["name"]).upper(), "2026-Q3").team_id == team["team_id"]


def test_recorded_actions_and_pulse_come_back_next_period(small_ws, tmp_path) -> None:
    root = tmp_path / "ws"
    shutil.copytree(small_ws, root)
    with Workspace.open(root) as w:
        team = str(w.read("reps")["team_id"].dropna().iloc[0])
        week = parse(_last_full_week(w))
        first = build(w, team, week.before().label)
        store.save(w, first)
        store.record(
            w,
            team,
            week.before().label,
            actions=[("Meeting before every proposal", "meeting_before_proposal")],
            energy=[4, 5],
            ideas=[3, 5],
        )
        store.record(w, team, week.before().before().label, energy=[2], ideas=[2])
        with pytest.raises(BriefError, match="--energy answer 1 is 6"):
            store.record(w, team, week.label, energy=[6], ideas=[3])
        with pytest.raises(BriefError, match="one of each per person"):
            store.record(w, team, week.label, energy=[3, 4], ideas=[3])
        b = build(w, team, week.label)
        assert [a.practice_id for a in b.previous_actions] == ["meeting_before_proposal"]
        a = b.previous_actions[0]
        assert a.source == "agreed" and a.since
        assert [(p.period, p.energy, p.ideas, p.responses) for p in b.pulse] == [
            (week.before().before().label, 2.0, 2.0, 1),
            (week.before().label, 4.5, 4.0, 2),
        ]
        assert any(q.section == "actions" for q in b.questions)
        # without agreed actions, last brief's suggestions are followed up
        store.save(w, b)
        nxt = build(w, team, week.after().label)
        assert [x.practice_id for x in nxt.previous_actions] == [x.practice_id for x in b.actions]
        assert all(x.source == "suggested" for x in nxt.previous_actions)
        stored = store.stored(w, team, week.label)
        assert stored["period"]["label"] == week.label and stored["team_id"] == team
        # saving again replaces, never duplicates
        store.save(w, b)
        assert len(w.read("briefs", where="period = ?", params=[week.label])) == 1


def test_a_null_org_has_nothing_beyond_chance(tmp_path_factory) -> None:
    """Nothing planted: the brief-wide correction keeps "beyond chance" rows away, and the
    response times at the end of the data are not made fast by answers still to come."""
    from brightspots import synth
    from brightspots.analysis import analyze
    from brightspots.ingest import import_path
    from brightspots.workspace import init_workspace

    root = tmp_path_factory.mktemp("brief_null")
    synth.synthesize(synth.SynthConfig(reps=40, months=12, seed=5, null=True), root / "data")
    with init_workspace(root / "ws") as w:
        import_path(w, root / "data")
        analyze(w)
        last = containing(
            pd.Timestamp(w.read("deal_expectations")["closed_local"].max()).date(), "month"
        )
        periods = [last.label, last.before().label, _last_full_week(w), "2026-Q3"]
        briefs = [build(w, "all", p) for p in periods]
    beyond = [
        (b.period.label, d.key) for b in briefs for d in b.deviations if d.chance == "beyond chance"
    ]
    assert beyond == []
    assert not any(d.unit == "company" for b in briefs for d in b.deviations)


def test_the_first_weeks_of_data_make_a_brief(ws) -> None:
    """Nobody has the minimum volume yet: no funnel estimate, still a brief."""
    first = pd.Timestamp(ws.read("deal_expectations")["closed_local"].min()).date()
    b = build(ws, "all", containing(first, "week").label)
    # closed deals of the window the model did not score are counted in a note
    opps = ws.read("opportunities")
    day = opps["closed_at"].dt.date  # the workspace is in UTC
    closed = opps[
        opps["stage"].isin(["won", "lost"]) & (day >= b.period.window_start) & (day <= b.period.end)
    ]
    scored = ws.read("deal_expectations")
    scored_day = pd.to_datetime(scored["closed_local"]).dt.date
    n_scored = int(((scored_day >= b.period.window_start) & (scored_day <= b.period.end)).sum())
    assert len(closed) == n_scored and b.coverage.notes == ()  # the run scored all of them
    from brightspots.brief.build import _coverage_notes

    note = _coverage_notes(b.period, (date(2025, 12, 1), date(2026, 10, 30)), 1250, 1000)
    assert note == [
        f"250 deals closed in {b.period.window_words} have no expected chance: the analysis "
        "scored deals closed from 1 December 2025 to 30 October 2026. Wins against expectation "
        "leave them out."
    ]
    assert b.funnel is None or all(math.isfinite(p.oe) for p in b.funnel.points)
    assert not [d for d in b.deviations if d.metric == "win_rate"]


def test_a_parent_team_rolls_up_the_teams_under_it(ws) -> None:
    teams = ws.read("teams")
    parents = teams[teams["parent_team_id"].notna()]
    if not len(parents):
        pytest.skip("the synthetic org has no team hierarchy")
    parent = str(parents["parent_team_id"].iloc[0])
    children = sorted(parents.loc[parents["parent_team_id"] == parent, "team_id"])
    period = _quarter_before_last(ws)
    whole = build(ws, parent, period)
    parts = [build(ws, c, period) for c in children]
    assert whole.n_wins == sum(p.n_wins for p in parts) > 0
    assert not whole.empty


def test_the_pulse_trend_keeps_to_meetings_of_one_kind(small_ws, tmp_path) -> None:
    root = tmp_path / "ws"
    shutil.copytree(small_ws, root)
    with Workspace.open(root) as w:
        for label, e in (("2026-W42", 2), ("2026-10", 5), ("2026-W40", 3), ("2026-W44", 4)):
            store.record(w, "all", label, energy=[e], ideas=[e])
        weekly = store.pulse_of(w, "all", parse("2026-W43"))
        assert [p.period for p in weekly] == ["2026-W40", "2026-W42"]
        monthly = store.pulse_of(w, "all", parse("2026-11"))
        assert [(p.period, p.energy) for p in monthly] == [("2026-10", 5.0)]
