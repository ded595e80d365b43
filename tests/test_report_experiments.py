"""The report's section on practice experiments, read from a run's ``experiment_status`` and
``experiment_effects``: one card per team experiment (verdict, adoption and outcome before and
after, the event study, warnings), personal experiments only counted, "how this is measured",
and no section for a run without the tables.

The run tables come from the real ``evaluate.run_tables`` on the small simulated organisation of
``test_experiments_evaluate`` (four teams win 25 points more from 2 March 2026 by touching an
executive), stored on a saved run with ``Workspace.add_run_tables``.
"""

from __future__ import annotations

import json
import re
from datetime import date

import pandas as pd
import pytest

from brightspots.experiments import compare, evaluate, store
from brightspots.experiments import words as xw
from brightspots.experiments.did import REPEATED_LEVEL
from brightspots.experiments.store import Experiment, Wave
from brightspots.report import experiments as rx
from brightspots.report import render_html
from brightspots.report.experiments import StoredMeasure, pretrend_sentence, stored
from brightspots.report.tables import ReportError
from conftest import load_sibling

#: how far the experiment of ``tables`` is at the data's latest day, 31 July 2026 (its frozen
#: plan needs 8 weeks at the 98% interval of the weekly looks, 4 at a single 5% look; from
#: Monday 2 March, 17 weeks have had the 30 days)
PROGRESS = "9 weeks of new deals planned; 17 mature so far, the next on 5 Aug 2026"
base = load_sibling("test_report.py")
ev = load_sibling("test_experiments_evaluate.py")


def _personal() -> Experiment:
    return Experiment(
        **{
            **ev._exp().__dict__,
            "experiment_id": "EX-00000001",
            "name": "Secret Personal Trial",
            "kind": "personal",
            "rep_id": "R5",
            "waves": (Wave(1, "", ev.START, "", "cli:test"),),
        }
    )


@pytest.fixture(scope="module")
def tables(tmp_path_factory) -> dict[str, pd.DataFrame]:
    """The stored experiment tables of a saved run: a team experiment that worked, one that
    cannot be computed (its practice is gone) and a personal one; read back with ``rx.read``."""
    features = load_sibling("test_practices_features.py")
    ws = features.write_org(tmp_path_factory.mktemp("report_exp") / "ws", ev._org())
    try:
        exp = ev._exp()
        store.create(ws, exp, compare.plan(ws, exp, 1, settings=ev.SETTINGS))
        broken = ev._exp(experiment_id="EX-0000beef", name="Broken", practice="gone")
        store.create(ws, broken, None)
        store.create(ws, _personal(), None)
        ws.update_config({"experiments": {"draws": 199}})
        run = ws.new_run(fingerprint="f")
        run.diagnostics = {"warnings": []}
        ws.save_run(run, {"bright_spots": pd.DataFrame({"rep_id": ["R1"]})})
        ws.add_run_tables(run, evaluate.run_tables(ws, run))
        got = rx.read(ws, run.run_id)
        before = ws.new_run(fingerprint="g")
        before.diagnostics = {"warnings": []}
        ws.save_run(before, {"bright_spots": pd.DataFrame({"rep_id": ["R1"]})})
        # a run saved without experiment tables reads as none
        assert rx.read(ws, before.run_id) == {
            "experiment_status": None,
            "experiment_effects": None,
        }
    finally:
        ws.close()
    assert got["experiment_status"] is not None and got["experiment_effects"] is not None
    return got


def _context(tables: dict[str, pd.DataFrame | None], **settings):
    ctx = base.fake_context()
    ctx.experiment_status = rx.clean(tables["experiment_status"], "experiment_status", "t")
    ctx.experiment_effects = rx.clean(tables["experiment_effects"], "experiment_effects", "t")
    ctx.experiment_settings = settings or None
    return ctx


@pytest.fixture(scope="module")
def page(tables) -> str:
    return render_html(_context(tables, baseline_weeks=8))


def _section(page: str) -> str:
    return base.section(page, '<section id="experiments"', "</section>")


def test_the_stored_rows_parse_back_to_the_result(tables) -> None:
    found = {
        s.experiment_id: s
        for s in stored(tables["experiment_status"], tables["experiment_effects"])
    }
    assert set(found) == {"EX-0000abcd", "EX-0000beef", "EX-00000001"}
    team = found["EX-0000abcd"]
    assert team.kind == "team" and team.verdict == "worked" and team.status == "active"
    assert team.treated == ev.TREATED and len(team.comparison) >= 2
    assert team.starts == dict.fromkeys(ev.TREATED, ev.START)
    assert team.horizon_days == 30 and team.outcome == "win_rate"
    # the data end on 31 July 2026: 17 weeks from Monday 2 March have had the 30 days
    assert team.data_as_of.date() == date(2026, 7, 31) and team.started()
    assert team.progress() == PROGRESS
    o, a = team.measures["outcome"], team.measures["adoption"]
    assert o.name == "win_rate" and a.name == "adoption"
    assert o.ci_low > 0.1 and a.estimate > 0.4 and o.weeks_mature == 17
    event = team.event()
    assert event["e"].is_monotonic_increasing and (event["e"] < 0).any()
    assert (
        len(event)
        == (
            (tables["experiment_effects"]["experiment_id"] == "EX-0000abcd")
            & (tables["experiment_effects"]["measure"] == "outcome")
            & (tables["experiment_effects"]["aggregation"] == "event")
        ).sum()
    )
    assert found["EX-00000001"].kind == "personal"
    assert found["EX-0000beef"].verdict == "failed" and "gone" in found["EX-0000beef"].warnings[0]


def test_a_team_experiment_shows_its_verdict_figures_and_chart(tables, page) -> None:
    part = _section(page)
    status = tables["experiment_status"].set_index("experiment_id")
    figures = json.loads(status.loc["EX-0000abcd", "figures"])
    card = base.section(part, 'id="experiment-EX-0000abcd"', "</article>")
    assert status.loc["EX-0000abcd", "headline"].replace("'", "&#39;") in card
    for line in figures["lines"]:
        assert line.replace("'", "&#39;") in card
    assert (
        f"T1, T2, T3 and T4 try executive_engaged from 2 Mar 2026 (by the data&#39;s latest day: "
        f"{PROGRESS})" in card
    )
    assert "win rate (deals won within 30 days of creation)" in card
    # the table: adoption and win rate, before and after, in the words of experiments.words
    o = figures["measures"]["outcome"]
    a = figures["measures"]["adoption"]
    rows = re.findall(r"<tr><th scope=\"row\">(.*?)</tr>", card, flags=re.S)
    assert [r.split("<")[0] for r in rows] == ["adoption", "win rate"]
    for row, m, kind in ((rows[0], a, "adoption"), (rows[1], o, "win_rate")):
        cells = re.findall(r'<td class="num[^"]*">(.*?)</td>', row)
        assert cells == [
            xw.level(m["treated_before"], kind),
            xw.level(m["treated_after"], kind),
            xw.level(m["comparison_before"], kind),
            xw.level(m["comparison_after"], kind),
            xw.change(m["estimate"], kind),
            xw.interval(m["ci_low"], m["ci_high"], kind),
            str(m["weeks_mature"]),
        ]
    # the event study: one grey point a week before the start, one blue point a week since
    svg = base.section(card, "<svg", "</figure>")
    assert 'role="img"' in svg and "<title>Executives: the difference in win rate" in svg
    event = stored(tables["experiment_status"], tables["experiment_effects"])[1].event()
    event = event[event["estimate"].notna()]
    grey = len(re.findall(rf'<path[^>]*fill="{rx.BEFORE_INK}"', svg))
    blue = len(re.findall(rf'<path[^>]*fill="{rx.AFTER_INK}"', svg))
    assert (grey, blue) == ((event["e"] < 0).sum(), (event["e"] >= 0).sum())
    assert "Weeks since the start" in svg
    # the verdict's own pre-trend line is there: the report does not repeat it
    assert "experiment-pretrend" not in card
    assert 'class="experiment verdict-worked" id="experiment-EX-0000abcd"' in part


def test_a_failed_experiment_says_why_without_figures(page) -> None:
    card = base.section(_section(page), 'id="experiment-EX-0000beef"', "</article>")
    assert "could not be computed" in card and "gone" in card
    assert "<table" not in card and "<svg" not in card


def test_personal_experiments_are_only_counted(page) -> None:
    part = _section(page)
    assert "1 personal experiment (1 running)" in part
    assert "Secret Personal Trial" not in page and "EX-00000001" not in page
    assert "R5" not in part


def test_how_this_is_measured(page) -> None:
    how = base.section(page, 'id="experiments-how"', "</div>")
    assert "won within 30 days of creation" in how
    assert "mean of its 8 weeks before its start" in how  # the run's baseline_weeks
    for words in ("Callaway and Sant&#39;Anna", "wild cluster bootstrap", "comparison teams"):
        assert words in how
    # open deals at the start, the weeks left out before it, how comparison teams are kept
    assert "if anything the figure is an underestimate" in how
    assert "The 2 weeks just before each start are left out of the baseline and of" in how
    assert "over weeks 26 to 9 before the start" in how  # the run's baseline_weeks of 8
    assert "never include teams in another experiment of the same practice" in how
    assert "stops counting from its start there" in how
    assert "The planned number of weeks is sized for the 98% interval." in how
    # the section comes after the practices
    assert page.index('<section id="practices"') < page.index('<section id="experiments"')


def test_no_section_without_experiment_tables(tables) -> None:
    page = render_html(base.fake_context())
    assert 'id="experiments"' not in page
    personal = tables["experiment_status"]
    personal = personal[personal["experiment_id"] == "EX-00000001"]
    only = rx.experiments_section(
        _context({"experiment_status": personal, "experiment_effects": None})
    )
    assert only.present and not only.cards and not only.how
    assert only.intro == "No team experiment in this run."


def test_a_missing_column_is_named(tables) -> None:
    broken = tables["experiment_status"].drop(columns=["headline"])
    with pytest.raises(
        ReportError, match=r"experiment_status \(run x\): missing column\(s\) headline"
    ):
        rx.clean(broken, "experiment_status", "run x")


def test_the_pre_trend_sentence() -> None:
    def measure(**trend) -> StoredMeasure:
        return StoredMeasure.of("win_rate", {"pretrend": trend} if trend else {})

    flat = pretrend_sentence(measure(slope=-0.0029, p=0.49, flagged=False), "win_rate")
    assert flat.startswith("Before the start the teams and the comparison teams moved together")
    assert "\u22120.3 points a week (p = 0.49)" in flat
    drift = pretrend_sentence(measure(slope=0.004, p=0.01, flagged=True), "win_rate")
    assert "0.4 points a week (p = 0.01)" in drift and "not fair" in drift
    tiny = pretrend_sentence(measure(slope=0.004, p=0.0004, flagged=True), "win_rate")
    assert "(p < 0.01)" in tiny  # not "p = 0.00"
    hours = pretrend_sentence(measure(slope=0.5, p=0.2, flagged=False), "response_hours")
    assert "0.5 hours a week" in hours
    assert pretrend_sentence(measure(), "win_rate").startswith("Too few weeks")


def test_an_experiment_not_started_shows_its_plan_without_figures(tables) -> None:
    row = tables["experiment_status"]
    row = row[row["experiment_id"] == "EX-0000abcd"].copy()
    figures = json.loads(row["figures"].iloc[0])
    figures["starts"] = dict.fromkeys(ev.TREATED, "2026-09-07")
    figures["lines"] = []
    figures["measures"] = {"outcome": {"first_figures": "2026-12-14"}, "adoption": {}}
    row["figures"] = json.dumps(figures)
    row["verdict"] = "not_started"
    row["headline"] = "It starts on 7 Sep 2026, after the latest data (31 Jul 2026)."
    section = rx.experiments_section(
        _context({"experiment_status": row, "experiment_effects": None})
    )
    (card,) = section.cards
    assert card.headline.startswith("It starts on 7 Sep 2026") and card.verdict == "not_started"
    assert card.rows == () and not card.svg and card.pretrend == ""
    assert card.power == figures["power"] and "(by the data" not in card.what
    assert card.what.startswith("T1, T2, T3 and T4 try executive_engaged from 7 Sep 2026.")


#: an early look (before the plan's weeks): the 95% interval clears zero, the 99.9% one does not
EARLY = dict(ci_low=0.018, ci_high=0.104, strict_low=-0.004, strict_high=0.126, early=True)


def early_figures(measure: dict, *, weeks_needed: int | None = 9) -> dict:
    """A status row's figures: two teams from Monday 30 Nov 2026, win rate in 90 days, a plan
    needing ``weeks_needed`` weeks."""
    plan = {"power": {"weeks_needed": weeks_needed}} if weeks_needed else {}
    return {
        "definition": {"horizon_days": 90, "plans": [{"wave": 1, "plan": plan}]},
        "outcome": "win_rate",
        "starts": {"T1": "2026-11-30", "T2": "2026-11-30"},
        "measures": {"outcome": {"estimate": 0.061, **measure}},
    }


def test_early_looks_say_a_stronger_result_is_needed() -> None:
    """Review M4: until the plan's weeks are mature the verdict needs the 99.9% interval (from
    then on the 99% one); a 95% interval that clears zero says so, with the day (30 Nov + 9
    weeks + 90 days) and the stricter interval, in the one phrase the report, the brief and the
    web pages use."""

    def words(measure: dict, name: str = "win_rate", **kw) -> str:
        f = early_figures(measure, **kw)
        m = rx.StoredMeasure.of(name, f["measures"]["outcome"], figures=f)
        return rx.interval_words(m, "win_rate")

    assert words(EARLY) == (
        "95% CI 1.8 to 10.4; a stronger result is needed until 2 May 2027 "
        "(99.9% CI \u22120.4 to 12.6)"
    )
    assert words(EARLY, weeks_needed=None) == (
        "95% CI 1.8 to 10.4; a stronger result is needed (99.9% CI \u22120.4 to 12.6)"
    )
    plain = "95% CI 1.8 to 10.4"
    # from the plan's weeks on a 98% interval decides (review M2); a run without it: 95%
    assert words({**EARLY, "early": False}) == plain
    later = {**EARLY, "early": False, "repeated_low": -0.002, "repeated_high": 0.11}
    assert words(later) == (
        "95% CI 1.8 to 10.4; as it is checked every week, a stronger result is needed "
        f"({100 * REPEATED_LEVEL:g}% CI \u22120.2 to 11.0)"
    )
    assert words({**later, "repeated_low": 0.002}) == plain
    assert words({**EARLY, "strict_low": 0.001}) == plain  # the 99.9% clears too: it worked
    assert words({**EARLY, "ci_low": -0.01}).startswith("95% CI \u22121.0 to 10.4")
    assert "stronger" not in words({**EARLY, "ci_low": -0.01})
    assert words(EARLY, name="adoption") == plain  # adoption is read at 95%
    # the report's rows
    row = dict.fromkeys(rx.STATUS_COLUMNS)
    row.update(
        experiment_id="EX-1",
        name="Early",
        verdict="no_effect_yet",
        headline="No detectable effect yet.",
        figures=json.dumps(early_figures(EARLY)),
        warnings="[]",
    )
    (s,) = stored(pd.DataFrame([row]))
    (card_row,) = rx._card(s, {}).rows
    assert card_row.interval.startswith("95% CI 1.8 to 10.4; a stronger result is needed until")


def test_progress_counts_mature_weeks_capped_at_the_end() -> None:
    """Review L1: the plan counts weeks of new deals that have had the horizon, so progress does
    too (not calendar weeks), and weeks from the one holding the end on never count. Monday 30
    Nov 2026, win rate within 90 days: the first week is mature on 7 Mar 2027."""
    first = date(2026, 11, 30)

    def words(as_of: date, planned: int | None = 9, end: date | None = None) -> str:
        return rx.progress_words(first, as_of, lag_days=90, end=end, planned=planned)

    assert words(date(2026, 11, 27)) == "starts on 30 November 2026"
    assert words(date(2027, 1, 4)) == (
        "9 weeks of new deals planned; none mature yet, the first on 7 Mar 2027"
    )
    assert words(date(2027, 3, 25)) == (
        "9 weeks of new deals planned; 3 mature so far, the next on 28 Mar 2027"
    )
    assert words(date(2027, 3, 25), planned=None) == (
        "3 weeks of new deals mature so far, the next on 28 Mar 2027"
    )
    # stopped on Wednesday 16 Dec: the week of 14 Dec is the first left out, so two weeks count
    assert words(date(2027, 6, 1), end=date(2026, 12, 16)) == (
        "ended 16 Dec 2026; 9 weeks of new deals planned; 2 mature so far"
    )
    assert words(date(2027, 3, 8), end=date(2026, 12, 16)) == (
        "ended 16 Dec 2026; 9 weeks of new deals planned; 1 mature so far, the next on 14 Mar 2027"
    )
    # a mid-week start counts from the next Monday
    assert rx.progress_words(
        date(2026, 12, 2), date(2027, 3, 25), lag_days=90, end=None, planned=None
    ).startswith("2 weeks of new deals mature so far")  # from 7 Dec
