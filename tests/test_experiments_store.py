"""Practice experiments' storage (issue 12, chunk C): definitions in app state version 4
(create, extend, stop, list, find; who and when; name clash; a team in one wave only; unknown
practice, team, parent team or rep refused in one sentence), the v3 -> v4 migration keeping
users and stories, story approval "auto" needing an account, the ``[experiments]`` settings,
``Workspace.add_run_tables``, the analysis hook (a no-op without experiments, a warning when
they fail), the ``experiments`` export, and the CLI commands that need no result (list, stop,
errors)."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import types
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

import brightspots.experiments
from brightspots.analysis import _experiments
from brightspots.experiments import store
from brightspots.experiments.config import ExperimentError, ExperimentSettings, parse_horizon
from brightspots.experiments.store import Experiment, Plan
from brightspots.export import EXPERIMENT_COLUMNS, export_table, table_frame
from brightspots.stories.sharing import mode
from brightspots.web.appstate import _SCHEMA, FILE, VERSION, AppState
from brightspots.workspace import DEFAULT_CONFIG, Run, Workspace, WorkspaceError, init_workspace

TEAMS = pd.DataFrame(
    {
        "team_id": ["TM-0", "TM-1", "TM-2", "TM-3", "TM-9"],
        "name": ["Europe", "North", "South", "East", "Empty"],
        "parent_team_id": [None, "TM-0", "TM-0", "TM-0", None],
    }
)
REPS = pd.DataFrame(
    {
        "rep_id": ["R1", "R2", "R3", "R4"],
        "name": ["Ann Lee", "Bob Ray", "Cy Dunn", "Dee Fox"],
        "team_id": ["TM-1", "TM-2", "TM-3", "TM-3"],
    }
)
START = date(2026, 3, 2)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("experiments") / "ws"
    with init_workspace(path) as ws, ws.transaction() as con:
        for name, frame in (("teams", TEAMS), ("reps", REPS)):
            con.register("_t", frame)
            con.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM _t')
            con.unregister("_t")
    return path


@pytest.fixture
def root(template, tmp_path) -> Path:
    """A workspace with five teams (TM-0 the parent of three; TM-9 without reps), four reps."""
    return Path(shutil.copytree(template, tmp_path / "ws"))


def _plan(exp: Experiment, wave: int = 1, teams: tuple[str, ...] = ("TM-2",)) -> Plan:
    return Plan(
        exp.experiment_id,
        wave,
        store.now(),
        "2026-02-27T18:00:00",
        teams,
        {"reason": "Compared with South.", "power": "Detectable after about 9 weeks.", "n": 1},
    )


def _make(ws: Workspace, name: str = "Multithreading North", **kw) -> Experiment:
    args = {"practice": "multithreading", "start": START, "by": "cli:alice", "teams": ["TM-1"]}
    exp = store.draft(ws, name=name, **{**args, **kw})
    return store.create(ws, exp, _plan(exp))


def _recent(stamp: str) -> bool:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp), stamp
    at = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return abs(datetime.now(UTC) - at) < timedelta(minutes=5)


# ----------------------------------------------------------------------------- the store


def test_create_find_and_list_round_trip_with_who_and_when(root) -> None:
    with Workspace.open(root) as ws:
        assert store.load(ws) == [] and not (root / FILE).exists()  # reading made no file
        exp = store.draft(
            ws,
            name="  Multithreading   North ",
            practice="MultiThreading",
            start=START,
            by="cli:alice",
            teams=["north", "TM-2"],  # a name in any case, an id
            end=date(2026, 9, 1),
            horizon_days=60,
        )
        plan = _plan(exp, teams=("TM-3",))
        store.create(ws, exp, plan, user_id=None)
        [got] = store.load(ws)
        assert got == exp
        assert store.find(ws, "MULTITHREADING north") == exp == store.find(ws, exp.experiment_id)
        assert store.plans(ws, exp.experiment_id) == [plan]
    assert re.fullmatch(r"EX-[0-9a-f]{8}", exp.experiment_id)
    assert exp.name == "Multithreading North" and exp.practice_id == "multithreading"
    assert exp.kind == "team" and exp.rep_id is None and exp.status == "active"
    assert exp.teams() == ("TM-1", "TM-2") and exp.first_start() == START
    assert (exp.horizon_days, exp.comparison, exp.outcome) == (60, "similar", "win_rate")
    assert exp.created_by == "cli:alice" and _recent(exp.created_at)
    assert {(w.wave, w.added_by, w.added_at) for w in exp.waves} == {
        (1, "cli:alice", exp.created_at)
    }
    # the digest follows what the results depend on, not who or when
    again = Experiment.from_dict(json.loads(json.dumps(exp.as_dict())))
    assert again == exp and again.digest() == exp.digest()
    assert exp.digest() != Experiment.from_dict({**exp.as_dict(), "end_date": None}).digest()
    renamed = Experiment.from_dict({**exp.as_dict(), "name": "x", "created_by": "cli:bob"})
    assert renamed.digest() == exp.digest()


def test_a_personal_experiment_keeps_its_start_without_a_team(root) -> None:
    with Workspace.open(root) as ws:
        exp = store.draft(
            ws,
            name="Mine",
            practice="cadence",
            start=START,
            by="web:ann@example.com",
            rep="ann lee",
        )
        store.create(ws, exp, None, user_id=None)
        [got] = store.load(ws)
    assert got.kind == "personal" and got.rep_id == "R1" and got.teams() == ()
    assert [(w.team_id, w.start_date) for w in got.waves] == [("", START)]
    with sqlite3.connect(root / FILE) as db:
        assert db.execute("SELECT team_id FROM experiment_waves").fetchall() == [("",)]
    db.close()


def test_extend_adds_a_wave_and_its_plan_and_a_team_is_in_one_wave_only(root) -> None:
    later = START + timedelta(weeks=4)
    with Workspace.open(root) as ws:
        exp = _make(ws)
        waves = store.new_wave(ws, exp, ["East"], later, "cli:bob")
        assert [(w.wave, w.team_id, w.start_date, w.added_by) for w in waves] == [
            (2, "TM-3", later, "cli:bob")
        ]
        plan = _plan(exp, 2, ("TM-2",))
        grown = store.extend(ws, exp.name.upper(), waves, plan)
        assert grown == store.find(ws, exp.experiment_id)
        assert grown.teams() == ("TM-1", "TM-3") and grown.starts()["TM-3"] == later
        assert [p.wave for p in store.plans(ws, exp.experiment_id)] == [1, 2]
        assert grown.digest() != exp.digest()
        for team in ("TM-1", "east"):
            with pytest.raises(ExperimentError, match=r"already in wave \d .*one wave only"):
                store.new_wave(ws, grown, [team], later + timedelta(weeks=4), "cli:bob")
        with pytest.raises(ExperimentError, match="TM-2 \\(South\\) is given twice"):
            store.new_wave(ws, grown, ["TM-2", "south"], later, "cli:bob")
        # a wave made before another process added one is refused, not stored twice
        stale = store.new_wave(ws, exp, ["TM-2"], later, "cli:bob")
        with pytest.raises(ExperimentError, match="changed meanwhile"):
            store.extend(ws, exp.experiment_id, stale, None)
        # and in one experiment's first wave too
        with pytest.raises(ExperimentError, match="TM-1 \\(North\\) is given twice"):
            store.draft(
                ws, name="Twice", practice="cadence", start=START, by="x", teams=["TM-1", "North"]
            )


def test_stop_records_who_when_and_the_end(root) -> None:
    with Workspace.open(root) as ws:
        exp = _make(ws)
        with pytest.raises(ExperimentError, match="must come after the start"):
            store.stop(ws, exp.name, end_date=START, by="cli:bob")
        stopped = store.stop(ws, exp.name, end_date=date(2026, 6, 1), by="cli:bob")
        assert stopped == store.find(ws, exp.name)
        assert (stopped.status, stopped.end_date, stopped.stopped_by) == (
            "stopped",
            date(2026, 6, 1),
            "cli:bob",
        )
        assert _recent(stopped.stopped_at or "")
        with pytest.raises(ExperimentError, match="was stopped on .* by cli:bob: it cannot"):
            store.stop(ws, exp.name, end_date=None, by="cli:bob")
        with pytest.raises(ExperimentError, match="cannot take another wave"):
            store.new_wave(ws, stopped, ["TM-3"], date(2026, 4, 1), "cli:bob")
        # without a date: today (its start is in the past)
        other = _make(ws, "Second", teams=["TM-2"])
        assert store.stop(ws, other.experiment_id, end_date=None, by="x").end_date == store.today(
            ws
        )


def test_names_clash_in_any_case(root) -> None:
    with Workspace.open(root) as ws:
        first = store.draft(
            ws, name="Calls", practice="cadence", start=START, by="a", teams=["TM-1"]
        )
        second = store.draft(
            ws, name="CALLS", practice="cadence", start=START, by="b", teams=["TM-2"]
        )
        store.create(ws, first, _plan(first))
        with pytest.raises(ExperimentError, match="the name 'CALLS' is not available"):
            store.create(ws, second, _plan(second))  # drafted before the first was stored
        with pytest.raises(ExperimentError, match="the name 'calls' is not available"):
            store.draft(ws, name="calls", practice="cadence", start=START, by="c", teams=["TM-3"])
        assert [e.name for e in store.load(ws)] == ["Calls"]
        assert store.plans(ws, second.experiment_id) == []  # nothing of it was written


@pytest.mark.parametrize(
    ("kw", "says"),
    [
        ({"practice": "cold_calls"}, "unknown practice 'cold_calls'; the practices are .*cadence"),
        ({"teams": ["TM-7"]}, "unknown team 'TM-7'; teams with reps: TM-1 \\(North\\), TM-2"),
        (
            {"teams": ["europe"]},
            "TM-0 \\(Europe\\) is a parent team: .* give its teams instead: "
            "TM-1 \\(North\\), TM-2 \\(South\\), TM-3 \\(East\\)$",
        ),
        ({"teams": ["TM-9"]}, "team TM-9 \\(Empty\\) has no reps"),
        ({"teams": [], "rep": "R-404"}, "unknown rep 'R-404'"),
        ({"rep": "R1"}, "give teams \\(--teams\\) or a rep \\(--rep\\), not both"),
        ({"teams": []}, "give the teams that try the practice"),
        ({"name": "  "}, "needs a name"),
        ({"end": START}, "the end \\(2026-03-02\\) must come after the start"),
        ({"outcome": "revenue"}, "unknown outcome 'revenue'"),
        ({"comparison": "best"}, "unknown comparison 'best'"),
    ],
)
def test_what_the_store_can_tell_is_refused_in_one_sentence(root, kw, says) -> None:
    args = {
        "name": "X",
        "practice": "multithreading",
        "start": START,
        "by": "cli:a",
        "teams": ["TM-1"],
        **kw,
    }
    with Workspace.open(root) as ws, pytest.raises(ExperimentError, match=says) as e:
        store.draft(ws, **args)
    assert "\n" not in str(e.value)
    assert not (root / FILE).exists()


def test_find_names_the_experiments_there_are(root) -> None:
    with Workspace.open(root) as ws:
        with pytest.raises(ExperimentError, match="there are no experiments yet"):
            store.find(ws, "nope")
        _make(ws)
        with pytest.raises(ExperimentError, match="no experiment 'nope'; .* 'Multithreading No"):
            store.find(ws, "nope")


def test_reading_never_waits_for_a_writer(root, tmp_path, monkeypatch) -> None:
    """Every page view reads the definitions: ``load``, ``plans``, ``find`` and ``name_taken``
    read in a read-only transaction, so a writer holding the write lock (``BEGIN IMMEDIATE``,
    as every login, story and experiment change takes it) does not hold them up, nor in a
    process that never opened that file before (the schema is checked without the lock when
    it is current)."""
    from brightspots.web import appstate

    monkeypatch.setattr(appstate, "BUSY_MS", 200)  # a blocked read fails fast, not in 5 s
    with Workspace.open(root) as ws:
        exp = _make(ws)
    fresh = Path(shutil.copytree(root, tmp_path / "copy"))  # a file this process never read
    for where in (root, fresh):
        writer = sqlite3.connect(where / FILE, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        try:
            with Workspace.open(where) as ws:
                assert store.load(ws) == [exp]
                assert [p.wave for p in store.plans(ws, exp.experiment_id)] == [1]
                assert store.find(ws, exp.name) == exp
                assert store.name_taken(ws, exp.name.upper())
        finally:
            writer.execute("ROLLBACK")
            writer.close()
    # an older file is still migrated when first read (under the write lock, once)
    old = Path(shutil.copytree(root, tmp_path / "old"))
    with sqlite3.connect(old / FILE) as db:
        db.execute("UPDATE meta SET value = '3' WHERE key = 'version'")
    db.close()
    with Workspace.open(old) as ws:
        assert store.load(ws) == [exp]
    assert _version(old) == str(VERSION)


def test_users_and_stories_are_read_without_the_write_lock(root, monkeypatch) -> None:
    """A fresh ``AppState`` (a CLI command, a new web worker) checks a current schema by
    reading it: listing users and stories does not wait for a writer holding the lock."""
    from brightspots.stories.library import _state_rows
    from brightspots.web import appstate
    from brightspots.web.users import add_user, users

    monkeypatch.setattr(appstate, "BUSY_MS", 200)  # a blocked read fails fast, not in 5 s
    add_user(AppState(root), "ana@example.com", "admin", "a long enough password")
    writer = sqlite3.connect(root / FILE, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        assert [u.email for u in users(AppState(root))] == ["ana@example.com"]
        assert _state_rows(AppState(root)) == ([], {})
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def _version(root: Path) -> str:
    with sqlite3.connect(root / FILE) as db:
        got = db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()[0]
    db.close()
    return got


# ----------------------------------------------------------------------------- app state


def test_version_3_app_state_is_migrated_keeping_users_and_stories(root) -> None:
    with sqlite3.connect(root / FILE) as db:
        for ddl in _SCHEMA:
            if "experiment" not in ddl:
                db.execute(ddl)
        for column in ("account_id", "opportunity_id", "tags"):
            db.execute(f"ALTER TABLE stories ADD COLUMN {column} TEXT")
        db.execute("INSERT INTO meta VALUES ('version', '3')")
        db.execute("INSERT INTO users (email, password_hash, role) VALUES ('a@x.io', 'h', 'admin')")
        db.execute(
            "INSERT INTO stories (story_id, rep_id, title, body, created_at, tags) "
            "VALUES ('web-1', 'R1', 'Kept', 'It stays.', '2026-02-03T10:00:00Z', 'care')"
        )
    db.close()
    with AppState(root).read() as con:
        version = con.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()[0]
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        users = [tuple(r) for r in con.execute("SELECT email, role FROM users")]
        stories = [tuple(r) for r in con.execute("SELECT story_id, title, tags FROM stories")]
    assert VERSION == 5 and version == "5"
    assert {"experiments", "experiment_waves", "experiment_plans"} <= tables
    assert users == [("a@x.io", "admin")] and stories == [("web-1", "Kept", "care")]
    with Workspace.open(root) as ws:
        exp = _make(ws)  # the migrated file takes experiments
        assert store.load(ws) == [exp]


def test_a_stop_that_keeps_the_planned_end_is_not_an_end_chosen_after_the_fact(root) -> None:
    """An experiment made with an end, stopped without a date once that end has passed, ends on
    the end it was made with: no warning that its end was chosen after seeing the weeks. A stop
    that moves the end earlier still gets it."""
    from brightspots.experiments.evaluate import _recorded

    with Workspace.open(root) as ws:
        planned = store.create(ws, *_drafted(ws, "Planned", end=date(2026, 6, 1)))
        assert planned.planned_end == date(2026, 6, 1)
        kept = store.stop(ws, "Planned", end_date=None, by="cli:alice")
        assert kept.end_date == date(2026, 6, 1) == store.find(ws, "Planned").planned_end
        assert _recorded(ws, store.find(ws, "Planned"))["stopped_on"] is None
        store.create(ws, *_drafted(ws, "Moved", end=date(2026, 6, 1)))
        store.stop(ws, "Moved", end_date=date(2026, 5, 1), by="cli:alice")
        assert _recorded(ws, store.find(ws, "Moved"))["stopped_on"] == store.today(ws)


def test_version_4_experiments_keep_their_end_as_planned_when_active(root, tmp_path) -> None:
    with Workspace.open(root) as ws:
        active = store.create(ws, *_drafted(ws, "Active", end=date(2026, 9, 1)))
        store.create(ws, *_drafted(ws, "Stopped", end=date(2026, 9, 1)))
        store.stop(ws, "Stopped", end_date=date(2026, 5, 4), by="cli:alice")
    root = Path(shutil.copytree(root, tmp_path / "v4"))  # a file this process never read
    with sqlite3.connect(root / FILE) as db:  # as version 4 wrote it: no planned end
        db.execute("ALTER TABLE experiments DROP COLUMN planned_end")
        db.execute("UPDATE meta SET value = '4' WHERE key = 'version'")
    db.close()
    with Workspace.open(root) as ws:
        got = {e.name: e for e in store.load(ws)}
    assert got["Active"] == active  # its end is still the one it was made with
    assert got["Stopped"].planned_end is None  # unknown: the stop may have moved it
    assert _version(root) == "5"


def _drafted(ws: Workspace, name: str, **kw) -> tuple[Experiment, Plan]:
    args = {"practice": "multithreading", "start": START, "by": "cli:alice", "teams": ["TM-1"]}
    exp = store.draft(ws, name=name, **{**args, **kw})
    return exp, _plan(exp)


def test_the_tables_refuse_what_a_definition_cannot_be(root) -> None:
    """The schema's own checks, beneath the store's sentences."""
    with Workspace.open(root) as ws:
        exp = _make(ws)
    with AppState(root).write() as con, pytest.raises(sqlite3.IntegrityError):
        con.execute(
            "INSERT INTO experiments (experiment_id, name, kind, practice_id, outcome, "
            "horizon_days, comparison, status, created_at, created_by) VALUES "
            "('EX-1', 'P', 'personal', 'cadence', 'win_rate', 90, 'all', 'active', 'now', 'x')"
        )
    with AppState(root).write() as con, pytest.raises(sqlite3.IntegrityError):
        con.execute(
            "INSERT INTO experiment_waves VALUES (?, 2, 'TM-1', '2026-04-01', 'now', 'x')",
            [exp.experiment_id],
        )  # TM-1 is in wave 1 already
    with AppState(root).write() as con:  # a deleted experiment takes its waves and plans along
        con.execute("DELETE FROM experiments WHERE experiment_id = ?", [exp.experiment_id])
        left = con.execute("SELECT count(*) FROM experiment_waves").fetchone()[0]
        left += con.execute("SELECT count(*) FROM experiment_plans").fetchone()[0]
    assert left == 0


def test_auto_story_approval_needs_an_account_not_just_app_state(root) -> None:
    with Workspace.open(root) as ws:
        _make(ws)  # an experiment from the command line writes app state ...
        assert (root / FILE).is_file()
        assert mode(ws) == "none"  # ... and does not switch story approval on
        with AppState(root).write() as con:
            con.execute(
                "INSERT INTO users (email, password_hash, role) VALUES ('a@x', 'h', 'admin')"
            )
        assert mode(ws) == "web"


# ----------------------------------------------------------------------------- settings


def test_the_default_settings_are_the_dataclass_defaults() -> None:
    assert (
        ExperimentSettings.of(DEFAULT_CONFIG) == ExperimentSettings() == ExperimentSettings.of({})
    )
    got = ExperimentSettings.of({"experiments": {"horizon": "13w", "detect": {"win_rate": 0.1}}})
    assert got.horizon_days == 91 and got.detect["win_rate"] == 0.1
    assert got.detect["response_hours"] == 2.0
    assert parse_horizon("90d") == parse_horizon(90) == 90


@pytest.mark.parametrize(
    ("section", "says"),
    [
        ({"horizon": "3m"}, "horizon = '3m' in brightspots.toml: use days like '90d'"),
        ({"baseline_weeks": 0}, "baseline_weeks = 0 in brightspots.toml: use a whole number"),
        ({"history_weeks": 8}, "history_weeks = 8 .* at least baseline_weeks \\(12\\)"),
        ({"comparison": "best"}, "comparison = 'best' .* 'similar', 'all'"),
        ({"detect": {"win_rate": 0}}, "detect.win_rate = 0 .* between 0 and 1"),
        ({"detect": {"revenue": 1}}, "detect.revenue = 1 .* the outcomes are"),
        ({"power": 1.5}, "power = 1.5 .* between 0 and 1"),
        ({"draws": 10}, "draws = 10 .* from 99"),
        ({"min_teams": True}, "min_teams = True"),
        ({"seed": 1}, "\\[experiments\\] seed in brightspots.toml is not a setting"),
    ],
)
def test_a_bad_setting_names_its_key(section, says) -> None:
    with pytest.raises(ExperimentError, match=says) as e:
        ExperimentSettings.of({"experiments": section})
    assert str(e.value).startswith("[experiments]") and "\n" not in str(e.value)


# ----------------------------------------------------------------------------- runs and export

STATUS = pd.DataFrame(
    {
        "experiment_id": ["?"],
        "name": ["?"],
        "verdict": ["worked"],
        "headline": ["It worked: win rate rose 6.1 points."],
        "figures": [json.dumps({"weeks_needed": 9, "measures": {"outcome": {"weeks_mature": 11}}})],
        "warnings": ["[]"],
        "definition_digest": ["d"],
        "data_as_of": [pd.Timestamp("2026-10-31")],
    }
)


def _effects(eid: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "experiment_id": [eid, eid, eid],
            "measure": ["outcome", "adoption", "outcome"],
            "aggregation": ["overall", "overall", "event"],
            "e": [float("nan"), float("nan"), 0.0],
            "estimate": [0.061, 0.24, 0.05],
            "ci_low": [0.018, 0.2, -0.1],
            "ci_high": [0.104, 0.28, 0.2],
        }
    )


def _saved_run(ws: Workspace):
    run = ws.new_run(fingerprint="f")
    run.diagnostics = {"warnings": []}
    ws.save_run(run, {"bright_spots": pd.DataFrame({"rep_id": ["R1"]})})
    return run


def test_add_run_tables_appends_to_a_saved_run_in_one_transaction(root) -> None:
    with Workspace.open(root) as ws:
        run = _saved_run(ws)
        run.diagnostics["warnings"].append("a note added later")
        status = STATUS.assign(experiment_id="EX-1")
        ws.add_run_tables(
            run, {"experiment_status": status, "experiment_effects": _effects("EX-1")}
        )
        got = ws.run_results("experiment_status", run.run_id)
        assert got["verdict"].tolist() == ["worked"]
        assert ws.latest_run().diagnostics["warnings"] == ["a note added later"]
        with pytest.raises(WorkspaceError, match="already has rows in 'experiment_status'"):
            ws.add_run_tables(run, {"experiment_status": status})
        with pytest.raises(WorkspaceError, match="no run 'nope'"):
            ws.add_run_tables(Run("nope", datetime.now(), "duckdb", "f", {}, {}), {})
        # all or nothing: a failing table leaves the others out
        other = _saved_run(ws)
        with pytest.raises(Exception):  # noqa: B017 - DuckDB's own error
            ws.add_run_tables(
                other,
                {"experiment_panel": pd.DataFrame({"x": [1]}), "bright_spots": "not a table"},
            )
        assert not ws.has_table("experiment_panel")  # made in the transaction, rolled back
        # a first run with no rows in a text column (only personal experiments: no effects)
        # does not stop a later run from storing text there
        empty = {"experiment_id": pd.Series(dtype=object), "e": pd.Series(dtype=float)}
        ws.add_run_tables(other, {"experiment_panel": pd.DataFrame(empty)})
        ws.add_run_tables(
            _saved_run(ws),
            {"experiment_panel": pd.DataFrame({"experiment_id": ["EX-2"], "e": [1.0]})},
        )
        assert ws.run_results("experiment_panel")["experiment_id"].tolist() == ["EX-2"]


def _fake_evaluate(monkeypatch, fn) -> None:
    module = types.ModuleType("brightspots.experiments.evaluate")
    module.run_tables = fn  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "brightspots.experiments.evaluate", module)
    monkeypatch.setattr(brightspots.experiments, "evaluate", module, raising=False)


def test_the_analysis_hook_adds_results_or_a_warning_never_a_failure(root, monkeypatch) -> None:
    calls = []

    def boom(ws, run):
        calls.append(run.run_id)
        raise ValueError("no data in the weeks before the start")

    _fake_evaluate(monkeypatch, boom)
    with Workspace.open(root) as ws:
        run = _saved_run(ws)
        _experiments(ws, run, lambda *a: None)  # no experiment: nothing happens at all
        assert calls == [] and not (root / FILE).exists() and not ws.has_table("experiment_status")
        exp = _make(ws)
        run = _saved_run(ws)
        _experiments(ws, run, lambda *a: None)
        assert calls == [run.run_id]
        [warning] = ws.latest_run().diagnostics["warnings"]
        assert "experiments could not be computed" in warning and "no data in the weeks" in warning

        def tables(ws, run):
            return {"experiment_status": STATUS.assign(experiment_id=exp.experiment_id)}

        _fake_evaluate(monkeypatch, tables)
        run = _saved_run(ws)
        _experiments(ws, run, lambda *a: None)
        assert ws.latest_run().diagnostics["warnings"] == []
        assert ws.run_results("experiment_status")["experiment_id"].tolist() == [exp.experiment_id]


def test_the_experiments_export_joins_definitions_and_the_runs_figures(root, tmp_path) -> None:
    with Workspace.open(root) as ws:
        empty = table_frame(ws, "experiments")
        assert list(empty.columns) == list(EXPERIMENT_COLUMNS) and empty.empty
        for name in ("experiment_status", "experiment_effects", "experiment_panel"):
            assert table_frame(ws, name).empty  # no run stored any: empty, with columns
        exp = _make(ws)  # its first wave's plan compares with TM-2
        wave = store.new_wave(ws, exp, ["TM-3"], date(2026, 4, 6), "x")
        # the second wave's plan: TM-1 (in the experiment) is no comparison team
        grown = store.extend(ws, exp.name, wave, _plan(exp, 2, ("TM-9", "TM-1", "TM-2")))
        before = table_frame(ws, "experiments")  # no run yet: the definition only
        run = _saved_run(ws)
        ws.add_run_tables(
            run,
            {
                "experiment_status": STATUS.assign(
                    experiment_id=exp.experiment_id, definition_digest=grown.digest()
                ),
                "experiment_effects": _effects(exp.experiment_id),
            },
        )
        n = export_table(ws, "experiments", tmp_path / "e.csv")
        got = table_frame(ws, "experiments", run.run_id).iloc[0]
        # stopped since the run: the run's figures are of another definition, so none
        store.stop(ws, exp.experiment_id, end_date=date(2026, 9, 7), by="cli:bob")
        stale = table_frame(ws, "experiments").iloc[0]
    assert n == 1 and before["verdict"].isna().all() and before["run_id"].isna().all()
    assert got["teams"] == "TM-1;TM-3" and got["starts"] == "2026-03-02;2026-04-06"
    # every wave's comparison teams, as the analysis uses them (review M11)
    assert got["comparison_teams"] == "TM-2;TM-9" and got["created_by"] == "cli:alice"
    assert (stale["status"], stale["end_date"]) == ("stopped", "2026-09-07")
    figures = ["run_id", "verdict", "headline", "effect", "ci_low", "ci_high", "adoption"]
    assert stale[[*figures, "weeks_mature", "weeks_needed"]].isna().all(), stale
    assert got["status"] == "active" and grown.status == "active"
    assert (got["run_id"], got["verdict"]) == (run.run_id, "worked")
    assert (got["effect"], got["ci_low"], got["ci_high"], got["adoption"]) == (
        0.061,
        0.018,
        0.104,
        0.24,
    )
    assert (got["weeks_mature"], got["weeks_needed"]) == (11, 9)
    assert pd.read_csv(tmp_path / "e.csv")["name"].tolist() == ["Multithreading North"]


# ----------------------------------------------------------------------------- the CLI


@pytest.fixture
def cli(capsys, monkeypatch):
    """``brightspots experiment ARGS`` through the real entry point (``cli.main``: one-line
    errors, exit codes), in this process: a ``CompletedProcess`` of its exit code and output."""
    from brightspots.cli import main

    monkeypatch.delenv("BRIGHTSPOTS_DEBUG", raising=False)

    def run(*args: str) -> subprocess.CompletedProcess:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["brightspots", "experiment", *args])
        try:
            main()
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        got = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, got.out, got.err)

    return run


def _one_line_error(r: subprocess.CompletedProcess, says: str) -> None:
    assert r.returncode == 1, r.stdout + r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), r.stderr
    assert re.search(says, lines[0]), lines[0]


def test_cli_list_and_stop(root, cli) -> None:
    ws_opt = ("-w", str(root))
    r = cli("list", *ws_opt, "--all")
    assert r.returncode == 0 and "No experiments yet" in r.stdout
    with Workspace.open(root) as ws:
        exp = _make(ws)
        _make(ws, "Calls South", practice="cadence", teams=["TM-2"])
    r = cli("list", *ws_opt)
    assert r.returncode == 0, r.stderr
    assert "Multithreading North" in r.stdout and "Calls South" in r.stdout
    assert exp.experiment_id in r.stdout and "cli:alice" in r.stdout
    r = cli("stop", "calls south", *ws_opt, "--end", "2026-06-01", "--by", "bob")
    assert r.returncode == 0, r.stderr
    assert "Stopped 'Calls South'" in r.stdout and "2026-06-01" in r.stdout
    r = cli("list", *ws_opt)
    assert "Calls South" not in r.stdout and "Multithreading North" in r.stdout
    r = cli("list", *ws_opt, "--all")
    assert "Calls South" in r.stdout and "by cli:bob" in r.stdout and "to 2026-06-01" in r.stdout
    with Workspace.open(root) as ws:
        assert store.find(ws, "Calls South").stopped_by == "cli:bob"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("stop", "nope"), "no experiment 'nope': there are no experiments yet"),
        (("show", "nope"), "no experiment 'nope'"),
        (("extend", "nope", "--teams", "TM-3", "--start", "2026-04-06"), "no experiment 'nope'"),
        (("stop", "nope", "--end", "June"), "--end 'June': use a date like 2026-03-02"),
        (
            ("create", "--name", "X", "--practice", "cold_calls", "--teams", "TM-1"),
            "unknown practice 'cold_calls'",
        ),
        (
            ("create", "--name", "X", "--practice", "cadence", "--teams", "TM-1,europe"),
            "TM-0 \\(Europe\\) is a parent team: .* TM-1 \\(North\\), TM-2 \\(South\\)",
        ),
        (("create", "--name", "X", "--practice", "cadence"), "give the teams that try"),
        (
            ("create", "--name", "X", "--practice", "cadence", "--teams", "TM-1", "--horizon", "x"),
            "--horizon 'x': use days like '90d'",
        ),
        (
            ("create", "--name", "X", "--practice", "cadence", "--teams", "TM-1", "--outcome", "y"),
            "--outcome 'y': use one of win_rate",
        ),
    ],
)
def test_cli_errors_are_one_line(root, cli, args, says) -> None:
    if args[0] == "create":
        args = (*args, "--start", "2026-03-02")
    _one_line_error(cli(*args, "-w", str(root)), says)
    assert not (root / FILE).exists()  # nothing was written


def test_cli_refuses_a_team_in_two_waves_and_a_name_twice(root, cli) -> None:
    with Workspace.open(root) as ws:
        _make(ws)
    r = cli(
        "extend",
        "multithreading north",
        "-w",
        str(root),
        "--teams",
        "North",
        "--start",
        "2026-04-06",
    )
    _one_line_error(r, "TM-1 \\(North\\) is already in wave 1 .* one wave only")
    r = cli(
        "create", "-w", str(root), "--name", "MULTITHREADING NORTH", "--practice", "cadence",
        "--teams", "TM-2", "--start", "2026-03-02",
    )  # fmt: skip
    _one_line_error(r, "the name 'MULTITHREADING NORTH' is not available")


def test_the_experiment_commands_run_as_a_program(root) -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("BRIGHTSPOTS_DEBUG", None)
    r = subprocess.run(
        [sys.executable, "-m", "brightspots.cli", "experiment", "stop", "x", "-w", str(root)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    _one_line_error(r, "no experiment 'x': there are no experiments yet")
