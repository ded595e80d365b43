"""Issue 12 end to end, through the command line as a user runs it (one seed).

``synth --experiment`` plants multi-threading in six teams of a 200-rep org in two waves (2 and
30 March 2026); the org is imported, the experiment is made with ``experiment create`` and
``experiment extend`` from the planted teams and starts in truth.json, and ``experiment show``
must measure adoption with the product's own practice frame (not the hidden indicator the
acceptance test uses) and give a verdict with figures. ``analyze`` then stores the experiment
tables in its run, the same result ``show`` computes live; ``export --table experiments`` has
one row per experiment; the report's section and the brief's Actions line carry it; and two
edge cases give their sentences: a start after the latest data, and every team in the
experiment (refused at ``create``: nothing to compare with).

The org has 20 teams over 10 months to 31 Oct 2026. The experiments are made before the one
analysis (about 20 s, the bulk of the time): ``show`` needs no run for win rate, and its result
is compared with the run's stored one after it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from brightspots.cli import app
from brightspots.workspace import Workspace

SPEC = (
    "practice=multi_threading,teams=6,start=2026-03-02,waves=2,every=4w,adoption=0.5,effect=default"
)
SEED = 3
SYNTH = ("--reps", "200", "--months", "10")  # 20 teams, to 31 Oct 2026
NAME = "Multithreading trial"
FUTURE = "Later trial"
FUTURE_START = "2026-12-07"  # a Monday after the data's end (31 Oct 2026)
#: the verdicts a planted, adopted effect may honestly get after 7 months (design section 7)
ANSWERS = {"worked": "It worked: ", "no_effect_yet": "No detectable effect yet: "}
FIGURES = re.compile(r"[+−-]?\d+\.\d points \(95% CI [−-]?\d+\.\d to [−-]?\d+\.\d\)")


@dataclass(frozen=True)
class Run:
    """What the commands printed and wrote."""

    ws: Path
    truth: dict
    created: str
    extended: str
    shown: str
    shown_json: dict
    future: str
    future_json: dict
    after_json: dict
    status: pd.DataFrame
    effects: pd.DataFrame
    panel: pd.DataFrame
    experiments: pd.DataFrame
    brief: str  # the brief in Markdown


def cli(*args: str) -> str:
    """Run a command in this process (as ``brightspots ...``); its output, or fail with it."""
    r = CliRunner().invoke(app, list(args), env={"COLUMNS": "120", "NO_COLOR": "1"})
    assert r.exit_code == 0, f"brightspots {' '.join(args)}:\n{r.output}\n{r.exception!r}"
    return r.output


def export(ws: Path, table: str, out: Path) -> pd.DataFrame:
    cli("export", "-w", str(ws), "--table", table, "--format", "csv", "--out", str(out))
    return pd.read_csv(out, dtype={"run_id": str})


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Run:
    root = tmp_path_factory.mktemp("experiment_e2e")
    org, ws = root / "org", root / "ws"
    cli("synth", "--out", str(org), *SYNTH, "--seed", str(SEED), "--experiment", SPEC)
    truth = json.loads((org / "truth.json").read_text())["experiment"]
    cli("init", str(ws))
    cli("import", str(org), "-w", str(ws))
    first, second = truth["waves"]
    w = ("-w", str(ws))
    created = cli(
        "experiment", "create", *w, "--name", NAME, "--practice", truth["registry_id"],
        "--teams", ",".join(first["teams"]), "--start", first["start"], "--by", "e2e",
    )  # fmt: skip
    extended = cli(
        "experiment", "extend", NAME, *w, "--teams", ",".join(second["teams"]),
        "--start", second["start"], "--by", "e2e",
    )  # fmt: skip
    others = [t for t in (f"TM-{i:03d}" for i in range(1, 21)) if t not in _planted(truth)]
    future = cli(
        "experiment", "create", *w, "--name", FUTURE, "--practice", "response_within_4h",
        "--teams", ",".join(others[:3]), "--start", FUTURE_START, "--by", "e2e",
    )  # fmt: skip
    shown = cli("experiment", "show", NAME, *w)
    shown_json = json.loads(cli("experiment", "show", NAME, *w, "--json"))
    future += cli("experiment", "show", FUTURE, *w)
    future_json = json.loads(cli("experiment", "show", FUTURE, *w, "--json"))
    cli("analyze", *w)
    after_json = json.loads(cli("experiment", "show", NAME, *w, "--json"))
    tables = {
        t: export(ws, t, root / f"{t}.csv")
        for t in ("experiment_status", "experiment_effects", "experiment_panel", "experiments")
    }
    brief = root / "brief.md"
    cli("brief", *w, "--team", "all", "--period", "2026-10", "--format", "md", "--out", str(brief))
    return Run(
        ws,
        truth,
        created,
        extended,
        shown,
        shown_json,
        future,
        future_json,
        after_json,
        tables["experiment_status"],
        tables["experiment_effects"],
        tables["experiment_panel"],
        tables["experiments"],
        brief.read_text(encoding="utf-8"),
    )


def _planted(truth: dict) -> list[str]:
    return [t for wave in truth["waves"] for t in wave["teams"]]


def test_create_and_extend_print_the_plan(run):
    first, second = run.truth["waves"]
    assert "made by cli:e2e" in run.created
    assert "Compared with" in run.created and "Compared with" in run.extended
    assert all(t in run.created for t in first["teams"])
    assert "Wave 2 of 'Multithreading trial'" in run.extended
    assert all(t in run.extended for t in second["teams"])
    # the power words: after how many weeks a change of [experiments] detect could be seen
    assert "5-point rise in win rate" in run.created


def test_show_gives_a_verdict_with_figures(run):
    j = run.shown_json
    print(f"\nverdict {j['verdict']}: {j['headline']}")
    print(*j["lines"], sep="\n")
    assert j["verdict"] in ANSWERS, j["headline"]
    assert j["headline"].startswith(ANSWERS[j["verdict"]])
    assert FIGURES.search(j["headline"]), j["headline"]
    assert j["headline"] in " ".join(run.shown.split())
    assert "Before and after the start" in run.shown and "week by week" in run.shown
    assert sorted(j["treated"]) == sorted(_planted(run.truth))
    assert not set(j["treated"]) & set(j["comparison"]) and len(j["comparison"]) >= 6
    starts = {t: w["start"] for w in run.truth["waves"] for t in w["teams"]}
    assert j["starts"] == starts
    # the planted truth (the default analysis' own estimand) is inside this seed's interval
    outcome = j["measures"]["outcome"]
    print(
        f"win rate {outcome['estimate']:+.4f} ({outcome['ci_low']:+.4f} to "
        f"{outcome['ci_high']:+.4f}); truth {run.truth['att_win_rate_90d']:+.4f}"
    )
    assert outcome["ci_low"] <= run.truth["att_win_rate_90d"] <= outcome["ci_high"]
    assert outcome["weeks_mature"] >= 10


def test_adoption_is_measured_on_the_data(run):
    """Adoption comes from the practice's own measure on the imported deals (the number of
    buyer contacts touched), not from the plant: about adoption x (1 - the rate before)."""
    a = run.shown_json["measures"]["adoption"]
    planted = run.truth["adoption"] * (1 - a["treated_before"])
    print(
        f"adoption {a['estimate']:+.3f} ({a['ci_low']:+.3f} to {a['ci_high']:+.3f}); "
        f"planted about {planted:+.3f}; before {a['treated_before']:.2f} after "
        f"{a['treated_after']:.2f}"
    )
    assert a["ci_low"] > 0.05
    assert abs(a["estimate"] - planted) < 0.1
    assert "Adoption: +" in run.shown and "against the comparison teams" in run.shown
    line = next(x for x in run.shown_json["lines"] if x.startswith("Adoption: +"))
    assert "of new deals before" in line


def test_analyze_stores_the_experiment_tables(run):
    status = run.status.set_index("name")
    assert set(status.index) == {NAME, FUTURE}
    row = status.loc[NAME]
    live = run.after_json
    # the run's stored result is the one `show` computes on the same data
    assert row["verdict"] == live["verdict"] == run.shown_json["verdict"]
    assert row["headline"] == live["headline"]
    assert row["definition_digest"] == live["definition_digest"]
    assert json.loads(row["figures"])["measures"]["outcome"]["estimate"] == pytest.approx(
        live["measures"]["outcome"]["estimate"], abs=1e-12
    )
    assert status.loc[FUTURE, "verdict"] == "not_started"
    ex = status.loc[NAME, "experiment_id"]
    effects = run.effects[run.effects["experiment_id"] == ex]
    assert {"outcome", "adoption"} <= set(effects["measure"])
    assert {"overall", "event"} <= set(effects["aggregation"])
    overall = effects[(effects["measure"] == "outcome") & (effects["aggregation"] == "overall")]
    assert len(overall) == 1
    panel = run.panel[run.panel["experiment_id"] == ex]
    assert set(panel["unit_id"][panel["role"] == "treated"]) == set(_planted(run.truth))
    assert {"treated", "comparison"} <= set(panel["role"])


def test_export_experiments_has_one_row_each(run):
    e = run.experiments.set_index("name")
    assert set(e.index) == {NAME, FUTURE}
    row = e.loc[NAME]
    assert row["created_by"] == "cli:e2e" and row["status"] == "active"
    assert row["practice_id"] == "multithreading" and row["outcome"] == "win_rate"
    assert sorted(str(row["teams"]).split(";")) == sorted(_planted(run.truth))
    assert row["verdict"] == run.after_json["verdict"]
    assert row["adoption"] > 0.05
    assert row["ci_low"] <= row["effect"] <= row["ci_high"]
    assert row["weeks_mature"] >= 10
    assert isinstance(row["run_id"], str) and row["run_id"]
    assert e.loc[FUTURE, "verdict"] == "not_started"


def test_a_start_after_the_data_says_so(run):
    sentence = (
        "It starts on 7 Dec 2026, after the latest data (31 Oct 2026): nothing to measure yet."
    )
    assert run.future_json["verdict"] == "not_started"
    assert run.future_json["headline"] == sentence
    assert sentence in " ".join(run.future.split())


def test_every_team_in_it_is_refused_with_the_reason(run):
    """Nothing to compare with: refused at create with one line saying why and what to do."""
    teams = ",".join(f"TM-{i:03d}" for i in range(1, 21))
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1"}
    env.pop("BRIGHTSPOTS_DEBUG", None)
    r = subprocess.run(
        [sys.executable, "-m", "brightspots.cli", "experiment", "create", "-w", str(run.ws),
         "--name", "Everyone", "--practice", "multithreading", "--teams", teams,
         "--start", "2026-06-01"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert r.returncode == 1, r.stdout + r.stderr
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, r.stderr
    text = lines[0]
    assert text.startswith("error: no team to compare with")
    assert "they all start the same week" in text and "experiment extend" in text
    listed = cli("experiment", "list", "-w", str(run.ws))
    assert "Everyone" not in listed and NAME in listed


# ---------------------------------------------------------------- report and brief
# The sections are helper-52's (report/experiments.py, brief/experiments.py and their tests on
# small_ws); these check that this run's experiment reaches them with the stored verdict and
# figures, not their wording.


def test_the_report_has_the_experiment(run):
    """The report's section, built from the run as the report does (rendering the whole report
    would take 11 s more)."""
    from brightspots.report.context import build_context
    from brightspots.report.experiments import experiments_section

    with Workspace.open(run.ws) as ws:
        section = experiments_section(build_context(ws))
    status = run.status.set_index("name")
    assert section.present
    cards = {c.name: c for c in section.cards}
    assert set(cards) == {NAME, FUTURE}
    card = cards[NAME]
    assert card.verdict == status.loc[NAME, "verdict"]
    assert card.headline == status.loc[NAME, "headline"]
    assert [r.measure for r in card.rows] == ["adoption", "win rate"]
    assert "<svg" in str(card.svg)  # the event-study chart
    assert cards[FUTURE].verdict == "not_started"


def test_the_brief_has_an_actions_line(run):
    actions = run.brief[run.brief.index("Actions") :]
    line = next(x for x in actions.splitlines() if x.startswith(f"- {NAME} ("))
    print(f"\nbrief: {line}")
    teams = line[len(NAME) + 4 : line.index("; ")]
    weeks = r"(\d+ weeks? of new deals planned; (none|\d+)|\d+ weeks? of new deals|no week)"
    assert re.search(rf"; {weeks} mature", line), line
    assert len(teams.split(", ")) == len(_planted(run.truth)), line
    assert re.search(r"\): adoption \+\d+ points against the comparison teams; win rate: ", line)
    outcome = FIGURES.search(status_headline(run))
    assert outcome is not None and outcome.group(0).split("(")[1].rstrip(")") in line


def status_headline(run: Run) -> str:
    return run.status.set_index("name").loc[NAME, "headline"]
