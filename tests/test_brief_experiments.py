"""The brief's practice experiments: one line per team experiment with a treated team in the
scope, at the top of Actions (HTML and Markdown), read from the brief's run; personal
experiments never; and the nudge to test a suggested practice no experiment tests.

Lines are checked word for word on hand-made status rows; the whole path runs on a copy of
``small_ws`` with an experiment created in app state and its results added to the latest run.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from brightspots.brief import build
from brightspots.brief import experiments as bx
from brightspots.brief.model import Action
from brightspots.brief.period import containing
from brightspots.brief.render import render_html, render_markdown
from brightspots.experiments import evaluate, store
from brightspots.experiments.config import STATUS_COLUMNS
from brightspots.experiments.store import Experiment, Wave
from brightspots.report.experiments import stored
from brightspots.workspace import Workspace

NAMES = {"T1": "Nordics", "T2": "Iberia", "T3": "Benelux"}
AS_OF = datetime(2027, 1, 4, 9, 0)


def _status(
    eid: str,
    verdict: str,
    *,
    teams=("T1", "T2"),
    start="2026-11-30",
    kind="team",
    status="active",
    outcome: dict | None = None,
    adoption: dict | None = None,
    end_date: str | None = None,
    practice="multithreading",
    name="Multithreading",
    weeks_needed: int | None = None,
) -> dict:
    measures = {}
    if outcome is not None:
        measures["outcome"] = outcome
    if adoption is not None:
        measures["adoption"] = adoption
    figures = {
        "definition": {
            "name": name,
            "kind": kind,
            "practice_id": practice,
            "outcome": "win_rate",
            "horizon_days": 90,
            "status": status,
            "end_date": end_date,
            "plans": [{"wave": 1, "plan": {"power": {"weeks_needed": weeks_needed}}}],
        },
        "kind": kind,
        "practice_id": practice,
        "outcome": "win_rate",
        "lines": [],
        "treated": list(teams),
        "comparison": ["T8", "T9"],
        "starts": dict.fromkeys(teams, start),
        "power": "",
        "measures": measures,
    }
    row = dict.fromkeys(STATUS_COLUMNS)
    row.update(
        experiment_id=eid,
        name=name,
        verdict=verdict,
        headline=f"The headline of {eid}.",
        figures=json.dumps(figures),
        warnings="[]",
        data_as_of=AS_OF,
    )
    return row


def _one(**kw):
    return stored(pd.DataFrame([_status("EX-1", **kw)]))[0]


def test_the_design_example_line() -> None:
    s = _one(
        verdict="too_early",
        adoption={"estimate": 0.24, "ci_low": 0.1, "ci_high": 0.38},
        outcome={"first_figures": "2027-02-07"},
        weeks_needed=9,
    )
    # from 30 Nov, no week of new deals has had the 90 days by 4 Jan (review L1)
    assert bx.line(s, NAMES).text == (
        "Multithreading (Nordics, Iberia; 9 weeks of new deals planned; none mature yet): "
        "adoption +24 points against the comparison teams; win rate: too early (first figures "
        "around 7 Feb)."
    )


@pytest.mark.parametrize(
    ("verdict", "says"),
    [
        ("worked", "win rate: it worked (+6.1 points, 95% CI 1.8 to 10.4)."),
        ("worse", "win rate: it made things worse (+6.1 points, 95% CI 1.8 to 10.4)."),
        ("no_effect_yet", "win rate: no detectable effect yet (+6.1 points, 95% CI 1.8 to 10.4)."),
        ("not_adopted", "win rate: no test, as the practice was not taken up."),
        ("unfair_comparison", "win rate: no fair comparison (the teams were already drifting"),
    ],
)
def test_each_verdict_in_a_line(verdict: str, says: str) -> None:
    s = _one(
        verdict=verdict,
        adoption={"estimate": -0.02},
        outcome={"estimate": 0.061, "ci_low": 0.018, "ci_high": 0.104},
    )
    text = bx.line(s, NAMES).text
    assert text.startswith(
        "Multithreading (Nordics, Iberia; no week of new deals mature yet): adoption "
        "\u22122.0 points against the comparison teams; "
    )
    assert says in text


def test_an_early_look_says_a_stronger_result_is_needed() -> None:
    """Review M4: a 95% interval clearing zero next to "no detectable effect yet" says why (the
    99.9% interval decides until the plan's weeks are mature), as the report and web do."""
    early = dict(ci_low=0.018, ci_high=0.104, strict_low=-0.004, strict_high=0.126, early=True)
    row = _status("EX-1", "no_effect_yet", outcome={"estimate": 0.061, **early}, weeks_needed=9)
    (s,) = stored(pd.DataFrame([row]))
    assert bx.line(s, NAMES).text.endswith(
        "win rate: no detectable effect yet (+6.1 points, 95% CI 1.8 to 10.4; a stronger result "
        "is needed until 2 May 2027 (99.9% CI \u22120.4 to 12.6))."
    )


def test_lines_without_figures() -> None:
    later = _one(verdict="not_started", start="2027-02-01")
    assert bx.line(later, NAMES).text == (
        "Multithreading (Nordics, Iberia; starts 1 Feb): nothing to measure yet."
    )
    alone = _one(verdict="no_comparison", adoption={"estimate": 0.3}, outcome={})
    assert bx.line(alone, NAMES).text == (
        "Multithreading (Nordics, Iberia; no week of new deals mature yet): no team to compare "
        "with, so no test."
    )
    failed = _one(verdict="failed")
    assert bx.line(failed, NAMES).text.endswith(": its results could not be computed in this run.")
    stopped = _one(verdict="too_early", status="stopped", end_date="2026-12-28", outcome={})
    assert bx.line(stopped, NAMES).text.startswith(
        "Multithreading (Nordics, Iberia; ended 28 Dec 2026; no week of new deals mature yet)"
    )
    # stopped today, its end not passed at the data's as-of time
    today = _one(verdict="too_early", status="stopped", end_date="2027-01-05", outcome={})
    assert bx.line(today, NAMES).text.startswith(
        "Multithreading (Nordics, Iberia; no week of new deals mature yet; stopped)"
    )


def test_which_experiments_a_scope_shows() -> None:
    rows = [
        _status("EX-a", "too_early", teams=("T1", "T2"), name="A"),
        _status("EX-b", "too_early", teams=("T3",), name="B"),
        _status("EX-p", "personal", teams=(), kind="personal", name="Mine"),
        _status("EX-s", "worked", teams=("T1",), status="stopped", end_date="2026-10-05", name="S"),
        _status("EX-t", "worked", teams=("T1",), status="stopped", end_date="2026-12-21", name="T"),
    ]
    found = stored(pd.DataFrame(rows))
    since = date(2026, 12, 1)

    def ids(teams):
        return [s.experiment_id for s in bx.in_scope(found, teams, since=since)]

    # the whole company: every team experiment running or stopped in the period; never personal
    assert ids(None) == ["EX-a", "EX-b", "EX-t"]
    assert ids(frozenset({"T2"})) == ["EX-a"]
    assert ids(frozenset({"T1", "T9"})) == ["EX-a", "EX-t"]
    assert ids(frozenset({"T7"})) == []


def test_a_suggested_practice_without_an_experiment_gets_the_nudge() -> None:
    found = stored(
        pd.DataFrame(
            [
                _status("EX-a", "too_early", practice="multithreading"),
                _status("EX-s", "worked", practice="fast_follow_up", status="stopped"),
            ]
        )
    )
    actions = [
        Action("Try it on every new deal: multithread.", "multithreading", "suggested"),
        Action("Try it on every new deal: follow up fast.", "fast_follow_up", "suggested"),
        Action("Agreed in the meeting.", None, "agreed"),
    ]
    got = bx.with_hints(actions, found)
    assert [a.experiment_hint for a in got] == [False, True, False]
    assert [a.text for a in got] == [a.text for a in actions]  # the stored text stays as it was
    assert bx.hint_text() == (
        "to see whether it works here, try it as an experiment (`brightspots experiment create` "
        "or the web app)"
    )


# ----------------------------------------------------------------------------- end to end


def _monday_weeks_before(d: date, weeks: int) -> date:
    return d - timedelta(days=d.weekday()) - timedelta(weeks=weeks)


@pytest.fixture(scope="module")
def briefs(small_ws, tmp_path_factory):
    """Briefs of a copy of ``small_ws``: before any experiment, then with a team experiment of
    two teams (on the first practice the first team's brief suggests) and a personal one whose
    results are added to the latest run: the first treated team's and an untreated team's. (The
    whole company's scope is ``in_scope`` with no teams, tested above.)"""
    root = tmp_path_factory.mktemp("brief_exp") / "ws"
    shutil.copytree(small_ws, root)
    with Workspace.open(root) as ws:
        reps = ws.read("reps")
        teams = sorted(set(reps["team_id"].dropna()))
        treated, other = teams[:2], teams[-1]
        last = pd.Timestamp(ws.read("deal_expectations")["closed_local"].max()).date()
        period = containing(last - timedelta(days=7), "week").label
        plain = build(ws, treated[0], period)
        practice = plain.actions[0].practice_id
        start = _monday_weeks_before(last, 8)
        waves = tuple(Wave(1, t, start, "", "cli:test") for t in treated)
        team_exp = Experiment(
            experiment_id="EX-0000cafe",
            name="Try it here",
            kind="team",
            practice_id=practice,
            outcome="win_rate",
            horizon_days=90,
            comparison="all",
            rep_id=None,
            end_date=None,
            status="active",
            created_at="2026-01-01T00:00:00Z",
            created_by="cli:test",
            stopped_at=None,
            stopped_by=None,
            waves=waves,
        )
        store.create(ws, team_exp, None)
        rep = str(reps.loc[reps["team_id"] == treated[0], "rep_id"].iloc[0])
        mine = Experiment(
            **{
                **team_exp.__dict__,
                "experiment_id": "EX-00000002",
                "name": "Secret Personal Trial",
                "kind": "personal",
                "rep_id": rep,
                "waves": (Wave(1, "", start, "", "cli:test"),),
            }
        )
        store.create(ws, mine, None)
        ws.update_config({"experiments": {"draws": 99}})
        run = ws.latest_run()
        ws.add_run_tables(run, evaluate.run_tables(ws, run))
        t = ws.read("teams")
        names = dict(zip(t["team_id"], t["name"], strict=True))
        yield {
            "plain": plain,
            "team": build(ws, treated[0], period),
            "other": build(ws, other, period),
            "practice": practice,
            "names": [names.get(t, t) for t in treated],
            "status": ws.run_results("experiment_status", run.run_id),
        }


def test_a_run_without_experiments_gives_no_line(briefs) -> None:
    plain = briefs["plain"]
    assert plain.experiments == ()
    assert all(a.experiment_hint for a in plain.actions if a.source == "suggested")
    assert "Experiments under way" not in render_markdown(plain)


def test_a_treated_team_sees_the_line_and_others_do_not(briefs) -> None:
    status = briefs["status"].set_index("experiment_id")
    verdict = status.loc["EX-0000cafe", "verdict"]
    assert verdict not in ("failed", "not_started"), status.loc["EX-0000cafe", "warnings"]
    b = briefs["team"]
    assert [x.experiment_id for x in b.experiments] == ["EX-0000cafe"]
    text = b.experiments[0].text
    assert text.startswith(f"Try it here ({', '.join(briefs['names'])}; ")
    assert re.search(r"; (no week of new deals|\d+ weeks? of new deals) [^)]*mature", text)
    assert b.experiments[0].verdict == verdict
    # the practice under test is not nudged; the other suggestions are
    hints = {a.practice_id: a.experiment_hint for a in b.actions}
    assert hints[briefs["practice"]] is False
    assert all(v for p, v in hints.items() if p != briefs["practice"])
    assert briefs["other"].experiments == ()


def test_personal_experiments_never_reach_a_brief(briefs) -> None:
    for key in ("team", "other"):
        b = briefs[key]
        page = render_html(b) + render_markdown(b)
        assert "Secret Personal Trial" not in page and "EX-00000002" not in page
        assert "EX-00000002" not in json.dumps(b.to_dict())


def test_the_lines_are_at_the_top_of_actions_in_html_and_markdown(briefs) -> None:
    b = briefs["team"]
    text = b.experiments[0].text
    md = render_markdown(b)
    actions = md[md.index(". Actions\n") :]
    assert actions.index("**Experiments under way**") < actions.index("**To try next period**")
    assert f"- {text}" in actions.replace("\\", "")
    hinted = [a for a in b.actions if a.experiment_hint]
    if hinted:
        assert (
            "; to see whether it works here, try it as an experiment (`brightspots experiment "
            "create` or the web app)." in actions
        )
    page = render_html(b)
    section = page[page.index('<section id="actions"') :]
    section = section[: section.index("</section>")]
    assert section.index('id="experiments"') < section.index("To try next period")
    assert text.replace("'", "&#39;") in section
    if hinted:
        assert (
            "try it as an experiment (<code>brightspots experiment create</code> or the web app)."
            in section
        )
