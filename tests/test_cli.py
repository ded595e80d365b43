"""The command line: help in plain words, --version, one-line errors, the whole path by hand."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from brightspots import __version__
from brightspots.analysis import BRIGHT_SPOT_COLUMNS

COMMANDS = [
    "synth",
    "init",
    "import",
    "analyze",
    "runs",
    "report",
    "export",
    "me",
    "demo",
    "brief",
    "brief record",
    "plan",
    "scorecard",
    "user add",
    "user list",
    "user disable",
    "user enable",
    "serve",
    "experiment",
    "experiment create",
    "experiment extend",
    "experiment list",
    "experiment show",
    "experiment stop",
]


#: the environment every command runs with here (a fixed width, no colours)
CLI_ENV = {"COLUMNS": "120", "NO_COLOR": "1"}


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **CLI_ENV}
    env.pop("BRIGHTSPOTS_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "brightspots.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=600,
    )


def test_version():
    r = run("--version")
    assert r.returncode == 0
    assert r.stdout.strip() == f"brightspots {__version__}"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_explains_itself(command):
    # in this process (a second in all, not one each): the same text, byte for byte, as
    # `python -m brightspots.cli <command> --help` prints in a process of its own with the
    # environment of ``run`` (the entry point runs in a process in the other tests here)
    from typer.testing import CliRunner

    from brightspots.cli import app

    r = CliRunner().invoke(
        app, [*command.split(), "--help"], env=CLI_ENV, prog_name="python -m brightspots.cli"
    )
    assert r.exit_code == 0, r.output
    # a first line of plain words, and every option documented
    text = " ".join(r.output.split())
    assert len(text) > 80
    for line in r.output.splitlines():
        if line.strip().startswith("--") and "--help" not in line:
            assert len(line.split()) > 1, f"undocumented option: {line}"


def test_errors_are_one_line_without_traceback(tmp_path):
    r = run("analyze", "--workspace", str(tmp_path / "nope"))
    assert r.returncode == 1
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error:") and "not a workspace" in lines[0]
    assert "Traceback" not in r.stderr


def test_unknown_export_table_is_one_line(small_ws, tmp_path):
    r = run("export", "--workspace", str(small_ws), "--table", "nope", "--out", str(tmp_path / "x"))
    assert r.returncode == 1
    assert "unknown table 'nope'" in r.stderr and "bright_spots" in r.stderr
    assert "Traceback" not in r.stderr


def test_the_whole_path_by_hand(tmp_path):
    data, ws = tmp_path / "data", tmp_path / "ws"
    r = run("synth", "--reps", "30", "--months", "12", "--seed", "5", "--out", str(data))
    assert r.returncode == 0, r.stderr
    assert (data / "truth.json").is_file() and (data / "opportunities.csv").is_file()
    assert run("init", str(ws)).returncode == 0
    r = run("import", str(data), "--workspace", str(ws))
    assert r.returncode == 0, r.stderr
    assert "opportunities" in r.stdout
    # a first analysis recomputes everything anyway; with --full it says it was asked for
    # (this file's one check of --full)
    r = run("analyze", "--workspace", str(ws), "--full")
    assert r.returncode == 0, r.stderr
    assert "closed deals" in r.stdout and "AUC" in r.stdout
    assert "Full recompute: a full recompute was asked for." in r.stdout
    r = run("report", "--workspace", str(ws), "--out", str(tmp_path / "report.html"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "report.html").stat().st_size > 10_000
    for fmt in ("csv", "parquet"):
        target = tmp_path / f"bs.{fmt}"
        r = run(
            "export",
            "--workspace",
            str(ws),
            "--table",
            "bright_spots",
            "--format",
            fmt,
            "--out",
            str(target),
        )
        assert r.returncode == 0, r.stderr
        df = pd.read_csv(target) if fmt == "csv" else pd.read_parquet(target)
        assert list(df.columns[: len(BRIGHT_SPOT_COLUMNS)]) == BRIGHT_SPOT_COLUMNS
        assert (df["level"] == "rep").sum() == 30  # one row per rep, then teams and regions
    r = run("export", "--workspace", str(ws), "--table", "reps", "--out", str(tmp_path / "r.csv"))
    assert r.returncode == 0 and len(pd.read_csv(tmp_path / "r.csv")) == 30


def test_synth_plants_misallocation_on_request(tmp_path):
    import json

    r = run("synth", "--reps", "20", "--months", "6", "--seed", "2", "--out", str(tmp_path / "a"),
            "--format", "parquet", "--misallocation", "0.15")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "3 misallocating account effort" in " ".join(r.stdout.split())
    m = json.loads((tmp_path / "a" / "truth.json").read_text())["misallocation"]
    assert m["share"] == 0.15 and len(m["reps"]) == 3 and m["proportional_rep"]
    assert len(m["neglected_accounts"]) >= 6
    a = pd.read_parquet(tmp_path / "a" / "activities.parquet")
    assert a.opportunity_id.isna().mean() > 0.3  # account-level touches by value
    r = run("synth", "--null", "--misallocation", "0.2", "--out", str(tmp_path / "b"))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "null=True" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = run("synth", "--misallocation", "0.7", "--out", str(tmp_path / "c"))
    assert r.returncode == 1 and "between 0 and 0.5" in r.stderr


def test_synth_plants_the_care_effect_asked_for(tmp_path):
    import json

    r = run("synth", "--reps", "20", "--months", "6", "--seed", "3", "--out", str(tmp_path / "a"),
            "--format", "parquet", "--care-effect", "1.5", "--reverse-coded-item")  # fmt: skip
    assert r.returncode == 0, r.stderr
    care = json.loads((tmp_path / "a" / "truth.json").read_text())["care"]
    assert care["repeat_effect"]["log_odds_per_unit"] == 1.5
    assert care["reverse_items"] == ["cs_care_rushed"]
    s = pd.read_parquet(tmp_path / "a" / "survey_responses.parquet")
    assert (s["question_id"] == "cs_care_rushed").any()
    r = run("synth", "--null", "--care-effect", "1.5", "--out", str(tmp_path / "b"))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_runs_lists_every_run(small_ws):
    r = run("runs", "--workspace", str(small_ws))
    assert r.returncode == 0, r.stderr
    assert "Runs in" in r.stdout and "duckdb" in r.stdout and "12m" in r.stdout


def test_analyze_window_and_minimum_volume(tmp_path, small_ws):
    import shutil

    ws = tmp_path / "ws"
    shutil.copytree(small_ws, ws)
    r = run("analyze", "--workspace", str(ws), "--window", "90d", "--min-volume", "5")
    assert r.returncode == 0, r.stderr
    assert "over the last 90 days" in r.stdout
    # the data did not change: nothing of the ledger is recomputed, and it says so
    assert "Incremental from run" in r.stdout and "recomputed 0 touches" in r.stdout
    assert "Practices measured again on 0 of" in r.stdout
    r = run("analyze", "--workspace", str(ws), "--window", "12w")
    assert r.returncode == 1 and "use 'all', months like '12m' or days like '90d'" in r.stderr
    # (--full and what it says: test_the_whole_path_by_hand)
    r = run("analyze", "--workspace", str(ws), "--since", "yesterday")
    assert r.returncode != 0 and "'yesterday' is not a day like 2026-10-31" in r.stderr


def test_me_shows_a_reps_own_view_and_names_no_other_rep(small_ws):
    from brightspots.workspace import Workspace

    with Workspace.open(small_ws) as ws:
        reps = ws.run_results("bright_spots")
        reps = reps[reps["level"] == "rep"].sort_values("closed", ascending=False)
    rep_id = reps["rep_id"].iloc[0]
    r = run("me", "--workspace", str(small_ws), "--rep", rep_id)
    assert r.returncode == 0, r.stderr
    out = " ".join(r.stdout.split())
    assert rep_id in out and "expected for deals like yours" in out
    assert "with buyer impact" in out and "Your practices against peers like you" in out
    others = set(reps["rep_id"]) - {rep_id}
    assert not any(o in r.stdout for o in others)  # peers appear only as a group
    bad = run("me", "--workspace", str(small_ws), "--rep", "R-NOBODY")
    assert bad.returncode == 1 and "'R-NOBODY' is not in run" in bad.stderr


def test_brief_in_three_formats_then_record_the_meeting(small_ws, tmp_path):
    import shutil

    ws = tmp_path / "ws"
    shutil.copytree(small_ws, ws)
    files = {}
    for fmt in ("html", "md", "pdf"):
        out = tmp_path / f"brief.{fmt}"
        r = run(
            "brief",
            "-w",
            str(ws),
            "--team",
            "all",
            "--period",
            "2026-Q3",
            "--format",
            fmt,
            "--out",
            str(out),
        )
        assert r.returncode == 0, r.stderr
        assert "Brief for the whole company, Q3 2026 (July to September):" in r.stdout
        assert out.is_file() and str(out.resolve()) in " ".join(r.stdout.split())
        files[fmt] = out.read_bytes()
    assert files["pdf"].startswith(b"%PDF")
    assert b"<script" not in files["html"] and b"## 1. Wins" in files["md"]
    r = run(
        "brief",
        "record",
        "-w",
        str(ws),
        "--team",
        "all",
        "--period",
        "2026-Q3",
        "--try",
        "meeting_before_proposal",
        "--action",
        "Share one story a week",
        "--energy",
        "4",
        "--ideas",
        "5",
        "--energy",
        "3",
        "--ideas",
        "4",
    )
    assert r.returncode == 0, r.stderr
    assert "Recorded for the whole company, 2026-Q3: 2 actions, 2 pulse answers." in r.stdout
    out = tmp_path / "next.md"
    r = run(
        "brief",
        "-w",
        str(ws),
        "--team",
        "all",
        "--period",
        "2026-Q4",
        "--format",
        "md",
        "--out",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert "Since last period (2026-Q3)" in text and "Share one story a week" in text
    assert "energy 3.5 and ideas 4.5 out of 5" in text


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--team", "Mars", "--period", "2026-Q3"], "unknown team 'Mars'; use all or one of:"),
        (["--team", "all", "--period", "2026-13"], "2026-13: a month is 01 to 12"),
        (["--team", "all", "--period", "Q3"], "is not a week like 2026-W47, a month like 2026-11"),
        (["--team", "all", "--period", "2026-Q3", "--format", "docx"], "not one of html, md, pdf"),
        (["--team", "all"], "needs --period"),
    ],
)
def test_brief_errors_are_one_line(small_ws, tmp_path, args, says):
    r = run("brief", "-w", str(small_ws), *args, "--out", str(tmp_path / "b.html"))
    assert r.returncode == 1
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and says in lines[0], r.stderr
    assert not (tmp_path / "b.html").exists()


def test_scorecard_in_html_and_csv(small_org, small_ws, tmp_path):
    from brightspots.scorecard import SCORECARD_COLUMNS

    teams = pd.read_csv(small_org / "teams.csv")
    team = teams.dropna(subset=["parent_team_id"]).iloc[0]
    r = run(
        "scorecard", "-w", str(small_ws), "--team", team["name"], "--out", str(tmp_path / "s.html")
    )
    assert r.returncode == 0, r.stderr
    first = " ".join(r.stdout.split())
    assert (
        first.startswith(f"Scorecard of {team['name']} (") and "target met on results by" in first
    )
    assert "Scorecard written to" in first
    page = (tmp_path / "s.html").read_text()
    assert page.startswith("<!doctype html>") and f"Balanced scorecard: {team['name']}" in page
    r = run(
        "scorecard", "-w", str(small_ws), "--team", "all", "--format", "csv",
        "--out", str(tmp_path / "s.csv"),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    got = pd.read_csv(tmp_path / "s.csv")
    assert list(got.columns) == list(SCORECARD_COLUMNS)
    assert got["level"].iloc[0] == "team" and got["level"].iloc[-1] == "rep"
    r = run("export", "-w", str(small_ws), "--table", "scorecard", "--out", str(tmp_path / "e.csv"))
    assert r.returncode == 0, r.stderr
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "e.csv"), got)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--team", "Mars"], "unknown team 'Mars'; use all or one of:"),
        (["--team", "all", "--format", "pdf"], "--format 'pdf': use html or csv"),
        (["--team", "all", "--run", "R-1"], "no run 'R-1'"),
    ],
)
def test_scorecard_errors_are_one_line(small_ws, tmp_path, args, says):
    r = run("scorecard", "-w", str(small_ws), *args, "--out", str(tmp_path / "s.html"))
    assert r.returncode == 1
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and says in lines[0], r.stderr
    assert not (tmp_path / "s.html").exists()


def test_brief_record_checks_its_answers(small_ws, tmp_path):
    import shutil

    ws = tmp_path / "ws"
    shutil.copytree(small_ws, ws)
    r = run(
        "brief",
        "record",
        "-w",
        str(ws),
        "--team",
        "all",
        "--period",
        "2026-Q3",
        "--energy",
        "7",
        "--ideas",
        "3",
    )
    assert r.returncode == 1 and "--energy answer 1 is 7" in r.stderr
    r = run(
        "brief",
        "record",
        "-w",
        str(ws),
        "--team",
        "all",
        "--period",
        "2026-Q3",
        "--try",
        "telepathy",
    )
    assert r.returncode == 1 and "--try 'telepathy' is not a practice" in r.stderr
