"""The plan (``experiments.compare``) and the result (``experiments.evaluate``) of a team
experiment on a small simulated organisation with a planted effect, end to end through app
state and the run tables.

Eight teams of one rep each make 12 deals a week from 3 November 2025 to 29 June 2026; every
deal closes 20 days after creation (so it is still open on day 14, the landmark), won with
chance 0.30 (a team's own level +-0.04). From Monday 2 March 2026 the four treated teams touch an
executive on day 1 of 80% of their new deals (20% before, and in the other teams) and win 0.55
of them. The data end on 31 July 2026; horizon 30 days.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from brightspots.experiments import compare, evaluate, panels, store
from brightspots.experiments.config import ExperimentError, ExperimentSettings
from brightspots.experiments.store import Experiment, Wave
from brightspots.workspace import Workspace
from conftest import load_sibling

START = date(2026, 3, 2)
TREATED = ("T1", "T2", "T3", "T4")
TEAMS = tuple(f"T{i}" for i in range(1, 9))
#: a 25-point rise is what the plan is sized for (5 points would need more than 4 teams)
SETTINGS = ExperimentSettings(
    draws=499, detect={"win_rate": 0.25, "impact_rate": 0.03, "response_hours": 2.0}
)


def _org() -> dict[str, list[dict]]:
    rng = np.random.default_rng(12)
    teams = [{"team_id": "P", "name": "Parent"}] + [
        {"team_id": t, "name": f"Team {t}", "parent_team_id": "P"} for t in TEAMS
    ]
    reps, accounts, contacts, opps, acts = [], [], [], [], []
    for i, t in enumerate(TEAMS, start=1):
        reps.append({"rep_id": f"R{i}", "name": f"Rep {i}", "team_id": t})
        accounts.append({"account_id": f"A{i}", "name": f"Acc {i}", "owner_rep_id": f"R{i}"})
        contacts += [
            {"contact_id": f"C{i}e", "account_id": f"A{i}", "seniority": "executive"},
            {"contact_id": f"C{i}s", "account_id": f"A{i}", "seniority": "staff"},
        ]
    level = dict(zip(TEAMS, rng.uniform(-0.04, 0.04, len(TEAMS)), strict=True))
    first = date(2025, 11, 3)
    n = 0
    for week in range(35):
        monday = first + timedelta(weeks=week)
        for i, t in enumerate(TEAMS, start=1):
            after = t in TREATED and monday >= START
            for _ in range(12):
                n += 1
                created = pd.Timestamp(monday) + pd.Timedelta(hours=float(rng.uniform(8, 100)))
                won = rng.random() < (0.55 if after else 0.30) + level[t]
                opps.append(
                    {
                        "opportunity_id": f"O{n}",
                        "account_id": f"A{i}",
                        "owner_rep_id": f"R{i}",
                        "created_at": created,
                        "closed_at": created + pd.Timedelta(days=20),
                        "stage": "won" if won else "lost",
                        "amount": 1000.0,
                    }
                )
                exec_ = rng.random() < (0.8 if after else 0.2)
                acts.append(
                    {
                        "activity_id": f"a{n}",
                        "opportunity_id": f"O{n}",
                        "rep_id": f"R{i}",
                        "account_id": f"A{i}",
                        "contact_id": f"C{i}{'e' if exec_ else 's'}",
                        "type": "email",
                        "occurred_at": created + pd.Timedelta(days=1),
                        "is_bulk": False,
                    }
                )
    acts.append({**acts[-1], "activity_id": "end", "occurred_at": pd.Timestamp("2026-07-31")})
    return {
        "teams": teams,
        "reps": reps,
        "accounts": accounts,
        "contacts": contacts,
        "opportunities": opps,
        "activities": acts,
    }


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Workspace:
    features = load_sibling("test_practices_features.py")
    w = features.write_org(tmp_path_factory.mktemp("exp_eval") / "ws", _org())
    yield w
    w.close()


def _exp(
    teams=TREATED, start=START, comparison="similar", practice="executive_engaged", **kw
) -> Experiment:
    waves = kw.pop("waves", None) or tuple(Wave(1, t, start, "", "cli:test") for t in teams)
    base = {
        "experiment_id": "EX-0000abcd",
        "name": "Executives",
        "kind": "team",
        "practice_id": practice,
        "outcome": "win_rate",
        "horizon_days": 30,
        "comparison": comparison,
        "rep_id": None,
        "end_date": None,
        "status": "active",
        "created_at": "2026-02-20T10:00:00Z",
        "created_by": "cli:test",
        "stopped_at": None,
        "stopped_by": None,
        "waves": waves,
    }
    return Experiment(**{**base, **kw})


# ---------------------------------------------------------------------------- pure parts


def test_nearest_takes_the_closest_to_any_treated_team_ties_by_id() -> None:
    f = pd.DataFrame(
        {
            "team_id": ["A", "B", "C", "D", "E"],
            "level": [0.0, 0.1, 1.0, 0.1, 5.0],
            "log_volume": [1.0] * 5,
            "practice_use": [np.nan] * 5,  # missing: at the mean, no distance
            "deal_mix": [0.3] * 5,
        }
    )
    got = compare.nearest(f, ["A"], 2)
    assert list(got["team_id"]) == ["B", "D"]  # B and D tie: by id
    assert got["distance"].iloc[0] == pytest.approx(got["distance"].iloc[1])
    assert list(got["nearest_to"]) == ["A", "A"]
    got = compare.nearest(f, ["A", "E"], 3)
    assert list(got["team_id"]) == ["B", "D", "C"]
    assert compare.default_k(4) == 8 and compare.default_k(2) == 6 and compare.default_k(2, 3) == 3


def test_history_weeks() -> None:
    weeks = compare.history_weeks(date(2026, 3, 4), 4)  # a Wednesday: next Monday, 9 March
    assert weeks == (date(2026, 2, 9), date(2026, 2, 16), date(2026, 2, 23))  # 2 March mixed
    assert compare.history_weeks(START, 2) == (date(2026, 2, 16), date(2026, 2, 23))


# ---------------------------------------------------------------------------- the plan


def test_the_plan_picks_the_comparison_and_says_how_long(ws) -> None:
    exp = _exp()
    plan = compare.plan(ws, exp, 1, settings=SETTINGS)
    # k = max(6, 2 x 4) = 8, capped by the 4 candidates
    assert sorted(plan.comparison_teams) == ["T5", "T6", "T7", "T8"]
    body = plan.plan
    assert body["k"] == 4 and body["treated"] == list(TREATED)
    assert body["history"] == {"from": "2025-09-01", "to": "2026-03-01"}
    assert "most like them over weeks 26 to 13 before the start" in body["reason"]
    assert "(not the trend;" in body["reason"] and body["matched"]["to"] == "2025-12-07"
    assert set(body["distances"]) == {"T5", "T6", "T7", "T8"}
    power = body["power"]
    assert power["weeks_needed"] is not None and 1 <= power["weeks_needed"] <= 104
    assert power["words"].startswith(
        "With these 4 teams against 4 similar teams and your volumes (about 12 new deals a team "
        "a week), a 25-point rise in win rate (deals won within 30 days) is detectable after "
        f"about {power['weeks_needed']} weeks"
    )
    # 5 points is not detectable with 4 teams at these volumes
    small = compare.plan(ws, exp, 1, settings=ExperimentSettings(draws=499)).plan["power"]
    assert small["weeks_needed"] is None and "not detectable within two years" in small["words"]
    assert json.loads(json.dumps(body)) == body  # JSON as it is stored
    # "all": every other team
    every = compare.plan(ws, _exp(comparison="all"), 1, settings=SETTINGS)
    assert every.comparison_teams == ("T5", "T6", "T7", "T8")
    # k given by the setting
    two = ExperimentSettings(draws=499, comparison_teams=2, detect=SETTINGS.detect)
    assert len(compare.plan(ws, exp, 1, settings=two).comparison_teams) == 2


def test_the_plan_refuses_what_cannot_be_compared(ws) -> None:
    with pytest.raises(ExperimentError, match="no team to compare with"):
        compare.plan(ws, _exp(teams=TEAMS, comparison="all"), 1, settings=SETTINGS)
    with pytest.raises(ExperimentError, match="P is a parent team.*T1, T2"):
        compare.plan(ws, _exp(teams=("P",)), 1, settings=SETTINGS)
    with pytest.raises(ExperimentError, match="unknown team"):
        compare.plan(ws, _exp(teams=("T1", "T99")), 1, settings=SETTINGS)
    with pytest.raises(ExperimentError, match="unknown practice"):
        compare.plan(ws, _exp(practice="nope"), 1, settings=SETTINGS)
    # every team in, but in two waves: the later wave's teams are the comparison until they start
    waves = tuple(
        Wave(1 if t in TREATED else 2, t, START if t in TREATED else date(2026, 5, 4), "", "x")
        for t in TEAMS
    )
    staggered = compare.plan(ws, _exp(waves=waves, comparison="all"), 2, settings=SETTINGS)
    assert staggered.comparison_teams == ()
    assert any("No team outside" in w for w in staggered.plan["warnings"])


# ---------------------------------------------------------------------------- the result


def test_a_planted_effect_is_found_and_adoption_with_it(ws) -> None:
    exp = _exp()
    plan = compare.plan(ws, exp, 1, settings=SETTINGS)
    r = evaluate.result(ws, exp, [plan], settings=SETTINGS)
    assert r.verdict == "worked", (r.headline, r.lines)
    assert r.headline.startswith("It worked: win rate rose")
    o, a = r.outcome, r.adoption
    assert o.estimated and o.ci_low > 0.1 and abs(o.estimate - 0.25) < 0.08
    assert a.estimated and abs(a.estimate - 0.6) < 0.1
    assert o.strict_low < o.ci_low and o.strict_high > o.ci_high and o.level == 0.95
    assert o.treated_before == pytest.approx(0.30, abs=0.05)
    assert o.treated_after == pytest.approx(0.55, abs=0.05)
    # weeks from 2 March: the last mature week is 22 June (plus 7 + 30 days is 29 July)
    assert o.weeks_mature == 17 and o.first_figures is None
    ev = o.event()
    assert ev["e"].min() < 0 < ev["e"].max()
    pre = ev[ev["e"] < 0]["estimate"]
    post = ev[ev["e"] >= 0]["estimate"]
    assert abs(pre.mean()) < 0.05 < post.mean()
    assert o.pretrend is not None and set(o.pretrend) >= {"slope", "p", "drift"}
    assert set(o.panel["role"]) == {"treated", "comparison"}
    assert r.comparison == plan.comparison_teams and r.treated == TREATED
    assert r.power == plan.plan["power"]["words"]  # the same data: the same words
    rows = r.rows()
    assert rows["experiment_status"]["verdict"].iloc[0] == "worked"
    eff = rows["experiment_effects"]
    assert set(eff["measure"]) == {"outcome", "adoption"}
    assert set(eff["aggregation"]) == {"overall", "event", "cell", "pretrend"}
    cells = eff[eff["aggregation"] == "cell"]
    assert cells["g"].eq(START).all()  # one wave, its first treated week


def test_teams_that_changed_nothing_are_not_a_success(ws) -> None:
    # the four untreated teams "start" on 2 March against the others: no more executives
    # touched, so no test of the practice; the treated teams' rise shows as a fall here
    exp = _exp(teams=("T5", "T6", "T7", "T8"), comparison="all")
    r = evaluate.result(ws, exp, [compare.plan(ws, exp, 1, settings=SETTINGS)], settings=SETTINGS)
    assert r.verdict == "not_adopted", (r.headline, r.lines)
    assert r.adoption.estimate < 0 and r.outcome.estimate < 0


def test_a_future_start_and_a_stop_date(ws) -> None:
    later = _exp(start=date(2026, 9, 2))
    r = evaluate.result(
        ws, later, [compare.plan(ws, later, 1, settings=SETTINGS)], settings=SETTINGS
    )
    assert r.verdict == "not_started"
    assert r.headline.startswith("It starts on 2 Sep 2026, after the latest data (31 Jul 2026)")
    assert r.outcome.first_figures == date(2026, 10, 14)  # 7 Sep + 7 + 30 days
    # stopped on 30 March: only 4 weeks after the start count
    stopped = _exp(end_date=date(2026, 3, 30), status="stopped")
    r = evaluate.result(ws, stopped, [], settings=SETTINGS)  # no plan: made now
    assert r.outcome.weeks_mature == 4
    assert r.plans and r.plans[0].comparison_teams


def test_run_tables_cover_every_experiment_and_never_fail(ws) -> None:
    assert all(v.empty for v in evaluate.run_tables(ws, ws.new_run(fingerprint="x")).values())
    exp = _exp()
    store.create(ws, exp, compare.plan(ws, exp, 1, settings=SETTINGS))
    broken = _exp(experiment_id="EX-0000beef", name="Broken", practice="gone")
    store.create(ws, broken, None)
    mine = Experiment(
        **{
            **_exp().__dict__,
            "experiment_id": "EX-00000001",
            "name": "Mine",
            "kind": "personal",
            "rep_id": "R5",
            "waves": (Wave(1, "", START, "", "cli:test"),),
        }
    )
    store.create(ws, mine, None)
    ws.update_config({"experiments": {"draws": 499}})
    run = ws.new_run(fingerprint="x")
    got = evaluate.run_tables(ws, run)
    status = got["experiment_status"].set_index("experiment_id")
    assert status.loc["EX-0000abcd", "verdict"] == "worked"
    assert status.loc["EX-0000beef", "verdict"] == "failed"
    assert "gone" in json.loads(status.loc["EX-0000beef", "warnings"])[0]
    assert status.loc["EX-00000001", "verdict"] == "personal"
    assert status.loc["EX-0000abcd", "definition_digest"] == exp.digest()
    figures = json.loads(status.loc["EX-0000abcd", "figures"])
    assert figures["definition"]["plans"][0]["comparison_teams"] == list(
        store.plans(ws, exp.experiment_id)[0].comparison_teams
    )
    panel = got["experiment_panel"]
    assert set(panel["role"]) == {"treated", "comparison", "rep"}  # R5 has no peers: no run
    assert set(panel["experiment_id"]) == {"EX-0000abcd", "EX-00000001"}
    # the tables go into a run as they are
    ws.save_run(run, got)
    back = ws.run_results("experiment_status", run.run_id)
    assert sorted(back["verdict"]) == ["failed", "personal", "worked"]
    assert panels.weeks_between(START, START) == (START,)
    assert isinstance(back["data_as_of"].iloc[0], pd.Timestamp | datetime)


def test_teams_left_out_are_counted_not_named(ws, monkeypatch) -> None:
    # the reason is shown to every rep who follows the experiment: the teams left out (here
    # one in another experiment of the practice) are a count; their ids stay in the plan only
    monkeypatch.setattr(compare, "_busy", lambda ws, experiment: {"T5"})
    plan = compare.plan(ws, _exp(), 1, settings=SETTINGS)
    assert "T5" not in plan.comparison_teams
    assert "Left out: 1 team (in another experiment" in plan.plan["reason"]
    assert "T5" not in plan.plan["reason"]
    assert plan.plan["left_out"] == ["T5"]


def test_a_drifting_comparison_is_stored_as_flagged() -> None:
    # review H1: the stored pre-trend must carry the verdict's rule, or the report and the web
    # app say "moved together" next to an "unfair comparison" verdict
    import experiment_sim as sim
    from brightspots.experiments import did

    s = sim.staggered(
        np.random.default_rng(3), weeks=36, waves=((26, 6),), effect=0.0, pre_weeks=26
    )
    start = np.asarray(s.panel.start)
    drift = np.where(start[:, None] >= 0, 0.006 * np.arange(36)[None, :], 0.0)
    panel = sim.make_panel(s.panel.y + drift, s.panel.n, start, s.panel.weight)
    fit = did.fit(panel, baseline_weeks=8, draws=399, seed=0)
    assert fit.pretrend is not None and fit.pretrend.flagged(0.05)
    levels = did.levels(panel, baseline_weeks=8)
    weekly = panels.Weekly("win_rate", "team", pd.DataFrame(columns=panels.COLUMNS),
                           timedelta(0), None)  # fmt: skip
    treated = [u for u, g in zip(panel.units, start, strict=True) if g >= 0]

    def stored(detect):
        m = evaluate.measure("win_rate", True, fit, levels, weekly, panel, treated,
                             first=panel.weeks[26], early=False, detect=detect)  # fmt: skip
        return m.pretrend["flagged"]

    assert stored(0.05) is True
    assert stored(0.5) is False  # a drift too small against the change worth detecting
    assert stored(None) is False  # adoption: never flagged


def test_all_leaves_out_teams_in_another_experiment_of_the_practice(ws, monkeypatch) -> None:
    # review M1: "all" applied no filter, so a team treated in another experiment of the same
    # practice was a never-treated control
    monkeypatch.setattr(compare, "_busy", lambda ws, experiment: {"T5"})
    plan = compare.plan(ws, _exp(comparison="all"), 1, settings=SETTINGS)
    assert plan.comparison_teams == ("T6", "T7", "T8")
    assert plan.plan["left_out"] == ["T5"]
    assert "Left out: 1 team (in another experiment of this practice)" in plan.plan["reason"]


def test_a_comparison_team_treated_later_elsewhere_stops_counting(ws) -> None:
    # review M1: T5, frozen as a comparison team, joins another experiment of the practice on
    # Wednesday 6 May; with 14 landmark days (2 weeks before a start may carry the practice)
    # it counts as comparison until the week of 20 April
    exp = _exp(comparison="all")
    plan = compare.plan(ws, exp, 1, settings=SETTINGS)
    assert plan.comparison_teams == ("T5", "T6", "T7", "T8")
    later = _exp(experiment_id="EX-0000cafe", name="Later", teams=("T5",), start=date(2026, 5, 6))
    elsewhere = _exp(experiment_id="EX-0000f00d", teams=("T6",), practice="multithreading")
    r = evaluate.result(ws, exp, [plan], settings=SETTINGS, others=[exp, later, elsewhere])
    cut = date(2026, 4, 20)
    for m in (r.outcome, r.adoption):
        cells = m.effects[m.effects["aggregation"] == "cell"]
        post = cells[cells["t"] >= START]
        assert set(post.loc[post["t"] < cut, "n_control"]) == {4.0}
        assert set(post.loc[post["t"] >= cut, "n_control"]) == {3.0}
        t5 = m.panel[m.panel["unit_id"] == "T5"]
        assert len(t5) and t5["week"].max() < cut
        assert (m.panel["week"] >= cut).any()
    assert r.warnings[-1].startswith(
        "1 comparison team was later put in another experiment of this practice"
    )
    assert "T5" not in r.warnings[-1]  # who is in which experiment is not everyone's to see
    # the practice's other experiments only: the same as with none
    alone = evaluate.result(ws, exp, [plan], settings=SETTINGS, others=[exp, elsewhere])
    assert alone.outcome.estimate == pytest.approx(
        evaluate.result(ws, exp, [plan], settings=SETTINGS, others=[]).outcome.estimate
    )
    assert not any("another experiment" in w for w in alone.warnings)
    assert alone.outcome.estimate != pytest.approx(r.outcome.estimate)


def test_the_weeks_before_a_start_are_left_to_anticipation(ws) -> None:
    # review M5: a practice is measured over a deal's first 14 days (landmark_days), so deals
    # opened in the 2 weeks before the start may already carry it: those weeks are neither
    # baseline nor pre-trend nor after
    from types import SimpleNamespace

    assert panels.anticipation_weeks(ws) == 2
    for days, weeks in ((7, 1), (14, 2), (15, 3), (1, 1)):
        config = {"practices": {"landmark_days": days}}
        assert panels.anticipation_weeks(SimpleNamespace(config=config)) == weeks
    exp = _exp()
    r = evaluate.result(ws, exp, [compare.plan(ws, exp, 1, settings=SETTINGS)], settings=SETTINGS)
    for m in (r.outcome, r.adoption):
        e = set(m.event()["e"])
        assert {-3.0, 0.0} <= e and not e & {-2.0, -1.0}


def test_waves_added_and_ends_set_after_the_fact_are_warned(ws) -> None:
    # review M6: a wave added after its start, or a stop recorded after the end it sets, is a
    # date chosen after seeing the first weeks (the recorded days reach the verdict's Timing)
    waves = (
        *(Wave(1, t, START, "2026-02-20T10:00:00Z", "cli:test") for t in ("T1", "T2")),
        *(Wave(2, t, date(2026, 3, 30), "2026-04-15T09:00:00Z", "cli:test") for t in ("T3", "T4")),
    )
    exp = _exp(waves=waves, end_date=date(2026, 5, 4), status="stopped",
               stopped_at="2026-06-01T08:00:00Z", stopped_by="cli:test")  # fmt: skip
    r = evaluate.result(ws, exp, [], settings=SETTINGS)
    said = " ".join(r.warnings)
    assert "The teams that started on 30 Mar 2026 were added on 15 Apr 2026" in said
    assert "It was stopped on 1 Jun 2026 with its end on 4 May 2026" in said
    # on time: nothing said
    on_time = _exp(waves=tuple(Wave(1, t, START, "2026-02-20T10:00:00Z", "x") for t in TREATED))
    r = evaluate.result(ws, on_time, [], settings=SETTINGS)
    assert not any("after that start" in w or "was stopped" in w for w in r.warnings)


def test_run_tables_read_each_measure_once_for_all_experiments(ws, monkeypatch) -> None:
    # review M8: each experiment read its outcome and adoption again (a practice_frame per
    # team experiment, a cohort query per personal one); now once per outcome and horizon and
    # once per practice (each grain), with the same figures as each experiment on its own
    ws.update_config({"experiments": {"draws": 499}})
    later = _exp(experiment_id="EX-0000d00d", name="Later", teams=("T5", "T6"),
                 start=date(2026, 4, 6), comparison="all")  # fmt: skip
    store.create(ws, later, compare.plan(ws, later, 1, settings=SETTINGS))
    for eid, rep in (("EX-00000002", "R7"), ("EX-00000003", "R8")):
        mine = Experiment(**{**_exp().__dict__, "experiment_id": eid, "name": eid,
                             "kind": "personal", "rep_id": rep,
                             "waves": (Wave(1, "", START, "", "cli:test"),)})  # fmt: skip
        store.create(ws, mine, None)
    if not any(x.experiment_id == "EX-0000abcd" for x in store.load(ws)):
        exp = _exp()
        store.create(ws, exp, compare.plan(ws, exp, 1, settings=SETTINGS))
    calls = {"adoption": 0, "win_rate": 0}

    def counted(name, fn):
        def wrapped(*a, **k):
            calls[name] += 1
            return fn(*a, **k)

        return wrapped

    monkeypatch.setattr(panels, "adoption_panel", counted("adoption", panels.adoption_panel))
    monkeypatch.setattr(panels, "win_rate", counted("win_rate", panels.win_rate))
    run = ws.new_run(fingerprint="x")
    got = evaluate.run_tables(ws, run)
    assert calls == {"adoption": 2, "win_rate": 2}  # one team and one rep read of each
    status = got["experiment_status"].set_index("experiment_id")
    effects = got["experiment_effects"]
    settings = ExperimentSettings.of(ws.config)
    experiments = store.load(ws)
    for x in experiments:
        if x.experiment_id == "EX-0000beef":
            continue  # its practice is gone: failed either way
        alone = evaluate.result(ws, x, store.plans(ws, x.experiment_id), settings=settings,
                                run=run, others=experiments)  # fmt: skip
        assert status.loc[x.experiment_id, "headline"] == alone.headline
        if x.kind == "team":
            mine = effects[effects["experiment_id"] == x.experiment_id]
            theirs = alone.rows()["experiment_effects"]
            np.testing.assert_allclose(
                mine["estimate"].to_numpy(), theirs["estimate"].to_numpy(), rtol=1e-12
            )
        else:
            assert json.loads(status.loc[x.experiment_id, "figures"]) == json.loads(
                alone.rows()["experiment_status"]["figures"].iloc[0]
            )
