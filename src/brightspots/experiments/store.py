"""Experiment definitions in app state (``WS/app.sqlite3``, version 5): who tries which practice
from when, and the plan frozen when each wave was added.

Definitions live beside the users and stories, not in the DuckDB generations: the CLI and the web
app both write them, without waiting for the one DuckDB writer (an ``analyze`` can hold it for
minutes), and an import never touches them. Reading never creates the file: a workspace where
nobody made an experiment has none.

Rows: ``experiments`` (the definition, who made it and when, active or stopped),
``experiment_waves`` (a team and its start; a team is in one wave only; a personal experiment
keeps its start in one row with ``team_id = ''``) and ``experiment_plans`` (per wave: the
comparison teams and the plan as JSON, frozen). Times are ISO UTC ending in ``Z``; dates are
local ISO dates.

``draft`` and ``new_wave`` check what needs the data (the practice, the teams, the rep) and give
one sentence the user can act on; ``create``, ``extend`` and ``stop`` write in one transaction.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import secrets
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from brightspots.experiments.config import COMPARISONS, KINDS, OUTCOMES, ExperimentError
from brightspots.web.appstate import FILE as STATE_FILE
from brightspots.web.appstate import AppState

if TYPE_CHECKING:
    from brightspots.workspace import Workspace

#: the longest name an experiment may have
MAX_NAME = 80
#: teams named in one error message at most
_LISTED = 20
#: a name in use (names are unique in the workspace, any case): the same words whoever asks,
#: naming no experiment (the user may not be allowed to see the one that has it)
_TAKEN = "the name {name!r} is not available: choose another name"


@dataclass(frozen=True)
class Wave:
    """A team's start in an experiment (``team_id == ''`` for a personal experiment's start)."""

    wave: int
    team_id: str
    start_date: date
    added_at: str
    added_by: str


@dataclass(frozen=True)
class Experiment:
    """One experiment as app state keeps it."""

    experiment_id: str
    name: str
    kind: str  # 'team' | 'personal'
    practice_id: str
    outcome: str  # 'win_rate' | 'impact_rate' | 'response_hours'
    horizon_days: int
    comparison: str  # 'similar' | 'all'
    rep_id: str | None
    end_date: date | None
    status: str  # 'active' | 'stopped'
    created_at: str
    created_by: str  # "cli:alice" | "web:ana@example.com"
    stopped_at: str | None
    stopped_by: str | None
    waves: tuple[Wave, ...]
    #: the end it was made with (None: none, or not known: stopped before app state version 5);
    #: a stop without a date that keeps it did not choose its end after the fact
    planned_end: date | None = None

    def digest(self) -> str:
        """A digest of what the results depend on: the practice, outcome, horizon, comparison,
        rep, end date and every wave's team and start (not the name, who or when)."""
        body = {
            "kind": self.kind,
            "practice_id": self.practice_id,
            "outcome": self.outcome,
            "horizon_days": self.horizon_days,
            "comparison": self.comparison,
            "rep_id": self.rep_id,
            "end_date": self.end_date.isoformat() if self.end_date else None,
            "waves": sorted([w.wave, w.team_id, w.start_date.isoformat()] for w in self.waves),
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:24]

    def teams(self) -> tuple[str, ...]:
        """The treated teams, by wave then id (none for a personal experiment)."""
        return tuple(w.team_id for w in sorted(self.waves, key=_wave_key) if w.team_id)

    def first_start(self) -> date:
        return min(w.start_date for w in self.waves)

    def starts(self) -> dict[str, date]:
        """Each treated team's start."""
        return {w.team_id: w.start_date for w in self.waves if w.team_id}

    @property
    def last_wave(self) -> int:
        return max((w.wave for w in self.waves), default=0)

    def as_dict(self) -> dict[str, Any]:
        """The definition as JSON-able values (a run keeps them: ``from_dict`` reads them)."""
        out = dataclasses.asdict(self)
        out["end_date"] = self.end_date.isoformat() if self.end_date else None
        out["planned_end"] = self.planned_end.isoformat() if self.planned_end else None
        out["waves"] = [
            {**dataclasses.asdict(w), "start_date": w.start_date.isoformat()} for w in self.waves
        ]
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Experiment:
        waves = tuple(
            Wave(
                int(w["wave"]),
                str(w["team_id"]),
                date.fromisoformat(w["start_date"]),
                str(w["added_at"]),
                str(w["added_by"]),
            )
            for w in d["waves"]
        )
        end, planned = d.get("end_date"), d.get("planned_end")
        return cls(
            **{
                **{f: d.get(f) for f in cls.__dataclass_fields__},
                "horizon_days": int(d["horizon_days"]),
                "end_date": date.fromisoformat(end) if end else None,
                "planned_end": date.fromisoformat(planned) if planned else None,
                "waves": waves,
            }
        )


@dataclass(frozen=True)
class Plan:
    """The plan of one wave, frozen when the wave was added: the comparison teams and the plan
    (features, distances, the reason in words, power words) as JSON-able values."""

    experiment_id: str
    wave: int
    made_at: str
    data_as_of: str | None
    comparison_teams: tuple[str, ...]
    plan: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "comparison_teams": list(self.comparison_teams)}


def _wave_key(w: Wave) -> tuple[int, str]:
    return (w.wave, w.team_id)


def now() -> str:
    """The current time as app state writes it (ISO UTC, ``Z``)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_id() -> str:
    return "EX-" + secrets.token_hex(4)


def today(ws: Workspace) -> date:
    """Today in the workspace's time zone."""
    return datetime.now(ZoneInfo(ws.timezone)).date()


# ---------------------------------------------------------------------------- reading


#: the app state of each file this process has opened (its schema checked once), by path and
#: inode (a file made anew at the same path is checked again)
_STATES: dict[tuple[str, int, int], AppState] = {}
_STATES_LOCK = threading.Lock()


def _app(ws: Workspace) -> AppState:
    """The workspace's app state: its schema is checked (and migrated) once per process and
    file, not at every call (a migration takes the write lock)."""
    path = ws.root / STATE_FILE
    try:
        st = path.stat()
    except FileNotFoundError:
        return AppState(ws.root)  # the first write makes it (and checks it)
    key = (str(path.resolve()), st.st_dev, st.st_ino)
    with _STATES_LOCK:
        state = _STATES.get(key)
        if state is None:
            state = _STATES[key] = AppState(ws.root)
    return state


def _state(ws: Workspace) -> AppState | None:
    """The workspace's app state, None when there is none (reading never creates it)."""
    return _app(ws) if (ws.root / STATE_FILE).is_file() else None


@contextmanager
def _reading(state: AppState) -> Iterator[sqlite3.Connection]:
    """A read-only transaction: one snapshot of the file, and no write lock taken (WAL: a
    writer holding ``BEGIN IMMEDIATE`` does not hold it up, nor it the writer)."""
    with state.read() as con:
        con.execute("PRAGMA query_only = ON")
        con.execute("BEGIN")
        try:
            yield con
        finally:
            con.execute("COMMIT")


def _date(v: Any) -> date | None:
    return date.fromisoformat(str(v)) if v else None


def _experiment(row: sqlite3.Row, waves: list[Wave]) -> Experiment:
    return Experiment(
        experiment_id=row["experiment_id"],
        name=row["name"],
        kind=row["kind"],
        practice_id=row["practice_id"],
        outcome=row["outcome"],
        horizon_days=int(row["horizon_days"]),
        comparison=row["comparison"],
        rep_id=row["rep_id"],
        end_date=_date(row["end_date"]),
        status=row["status"],
        created_at=row["created_at"],
        created_by=row["created_by"],
        stopped_at=row["stopped_at"],
        stopped_by=row["stopped_by"],
        waves=tuple(sorted(waves, key=_wave_key)),
        planned_end=_date(row["planned_end"]),
    )


def _read(con: sqlite3.Connection, where: str = "", params: Sequence[Any] = ()) -> list[Experiment]:
    rows = con.execute(
        f"SELECT * FROM experiments {where} ORDER BY created_at, experiment_id", list(params)
    ).fetchall()
    if not rows:
        return []
    waves: dict[str, list[Wave]] = {}
    for w in con.execute("SELECT * FROM experiment_waves").fetchall():
        waves.setdefault(w["experiment_id"], []).append(
            Wave(
                int(w["wave"]),
                w["team_id"],
                date.fromisoformat(w["start_date"]),
                w["added_at"],
                w["added_by"],
            )
        )
    return [_experiment(r, waves.get(r["experiment_id"], [])) for r in rows]


def load(ws: Workspace) -> list[Experiment]:
    """Every experiment of the workspace, oldest first (none without app state)."""
    state = _state(ws)
    if state is None:
        return []
    with _reading(state) as con:
        return _read(con)


def active(ws: Workspace) -> list[Experiment]:
    return [e for e in load(ws) if e.status == "active"]


def _find(con: sqlite3.Connection, name_or_id: str) -> Experiment | None:
    wanted = str(name_or_id).strip()
    got = _read(con, "WHERE experiment_id = ? COLLATE NOCASE", [wanted])
    return got[0] if got else next(iter(_read(con, "WHERE name = ?", [wanted])), None)


def _unknown(name_or_id: str, names: list[str]) -> ExperimentError:
    if not names:
        return ExperimentError(
            f"no experiment {name_or_id!r}: there are no experiments yet; make one with "
            "`brightspots experiment create`"
        )
    shown = ", ".join(repr(n) for n in names[:_LISTED]) + (", ..." if len(names) > _LISTED else "")
    return ExperimentError(f"no experiment {name_or_id!r}; the experiments are {shown}")


def _found(con: sqlite3.Connection, name_or_id: str) -> Experiment:
    """``_find``, else an error that names the experiments there are."""
    hit = _find(con, name_or_id)
    if hit is None:
        names = [r[0] for r in con.execute("SELECT name FROM experiments ORDER BY name")]
        raise _unknown(name_or_id, names)
    return hit


def find(ws: Workspace, name_or_id: str) -> Experiment:
    """The experiment with this id or name (any case); an error names those there are."""
    state = _state(ws)
    if state is None:
        raise _unknown(name_or_id, [])
    with _reading(state) as con:
        return _found(con, name_or_id)


def comparison_teams(experiment: Experiment, plans: Sequence[Plan]) -> tuple[str, ...]:
    """The teams the experiment is compared with: every wave's plan's comparison teams, by
    wave, without the experiment's own teams (a comparison team that joined a later wave is
    compared only until its start, as one of the experiment's teams)."""
    treated = set(experiment.teams())
    seen: dict[str, None] = {}
    for p in sorted(plans, key=lambda p: p.wave):
        seen.update((t, None) for t in p.comparison_teams if t not in treated)
    return tuple(seen)


def _plan(row: sqlite3.Row) -> Plan:
    return Plan(
        experiment_id=row["experiment_id"],
        wave=int(row["wave"]),
        made_at=row["made_at"],
        data_as_of=row["data_as_of"],
        comparison_teams=tuple(json.loads(row["comparison_teams"])),
        plan=json.loads(row["plan"]),
    )


def plans(ws: Workspace, experiment_id: str) -> list[Plan]:
    """The plans of an experiment, by wave."""
    state = _state(ws)
    if state is None:
        return []
    with _reading(state) as con:
        rows = con.execute(
            "SELECT * FROM experiment_plans WHERE experiment_id = ? ORDER BY wave",
            [experiment_id],
        ).fetchall()
    return [_plan(r) for r in rows]


# ---------------------------------------------------------------------------- checks on the data


@dataclass(frozen=True)
class _Org:
    """What the checks need of the data: teams (id -> name), the team tree, teams with reps,
    reps (id -> name)."""

    teams: dict[str, str]
    parents: dict[str, str]
    staffed: frozenset[str]
    reps: dict[str, str]


def _org(ws: Workspace) -> _Org:
    import pandas as pd

    t = ws.execute(ws.table("teams").select("team_id", "name", "parent_team_id"))
    r = ws.execute(ws.table("reps").select("rep_id", "name", "team_id"))
    teams = {
        str(i): str(n) if pd.notna(n) and str(n).strip() else str(i)
        for i, n in zip(t["team_id"], t["name"], strict=True)
        if pd.notna(i)
    }
    staffed = frozenset(str(x) for x in r["team_id"].dropna())
    for tid in staffed:
        teams.setdefault(tid, tid)
    parents = {
        str(i): str(p)
        for i, p in zip(t["team_id"], t["parent_team_id"], strict=True)
        if pd.notna(i) and pd.notna(p)
    }
    reps = {
        str(i): str(n) if pd.notna(n) else str(i)
        for i, n in zip(r["rep_id"], r["name"], strict=True)
        if pd.notna(i)
    }
    return _Org(teams, parents, staffed, reps)


def _named(org: _Org, ids: Sequence[str]) -> str:
    shown = [f"{i} ({org.teams[i]})" if org.teams.get(i, i) != i else i for i in ids]
    more = ", ..." if len(shown) > _LISTED else ""
    return ", ".join(shown[:_LISTED]) + more


def _team(org: _Org, given: str) -> str:
    """The team id ``given`` names (its id, or its id or name in any case); a parent team or a
    team without reps is refused, naming what to give instead."""
    wanted = given.strip()
    by_id = {i.lower(): i for i in org.teams}
    by_name: dict[str, list[str]] = {}
    for i, n in org.teams.items():
        by_name.setdefault(n.lower(), []).append(i)
    hit = wanted if wanted in org.teams else by_id.get(wanted.lower())
    if hit is None:
        named = by_name.get(wanted.lower(), [])
        if len(named) > 1:
            raise ExperimentError(
                f"{given!r} names {len(named)} teams ({_named(org, sorted(named))}): give the id"
            )
        hit = named[0] if named else None
    if hit is None:
        staffed = sorted(org.staffed)
        raise ExperimentError(
            f"unknown team {given!r}; teams with reps: {_named(org, staffed) or 'none'}"
        )
    children = sorted(t for t, p in org.parents.items() if p == hit and t != hit)
    if children:
        from brightspots.teams import below

        under = sorted(t for t in below(hit, org.parents) if t in org.staffed and t != hit)
        raise ExperimentError(
            f"{_named(org, [hit])} is a parent team: an experiment compares teams with reps, so "
            f"give its teams instead: {_named(org, under or children)}"
        )
    if hit not in org.staffed:
        raise ExperimentError(
            f"team {_named(org, [hit])} has no reps: an experiment needs teams whose reps make "
            "deals"
        )
    return hit


def _teams(org: _Org, given: Sequence[str]) -> tuple[str, ...]:
    ids: list[str] = []
    for g in given:
        tid = _team(org, g)
        if tid in ids:
            raise ExperimentError(f"team {_named(org, [tid])} is given twice")
        ids.append(tid)
    return tuple(ids)


def _rep(org: _Org, given: str) -> str:
    wanted = given.strip()
    if wanted in org.reps:
        return wanted
    by_id = {i.lower(): i for i in org.reps}
    if wanted.lower() in by_id:
        return by_id[wanted.lower()]
    named = [i for i, n in org.reps.items() if n.lower() == wanted.lower()]
    if len(named) == 1:
        return named[0]
    if named:
        raise ExperimentError(
            f"{given!r} names {len(named)} reps ({', '.join(named)}): give the id"
        )
    raise ExperimentError(f"unknown rep {given!r}: give a rep id (reps.rep_id) or a rep's name")


def practice_id(ws: Workspace, given: str) -> str:
    """The id of the practice ``given`` names (its id in any case); an error lists them."""
    from brightspots.practices.registry import registry

    ids = [p.id for p in registry(ws.config)]
    if given in ids:
        return given
    lower = {i.lower(): i for i in ids}
    if given.strip().lower() in lower:
        return lower[given.strip().lower()]
    raise ExperimentError(f"unknown practice {given!r}; the practices are {', '.join(ids)}")


def _check_name(name: str) -> str:
    name = " ".join(str(name).split())
    if not name:
        raise ExperimentError("an experiment needs a name (e.g. 'Multithreading in the Nordics')")
    if len(name) > MAX_NAME:
        raise ExperimentError(f"the name {name!r} is too long: at most {MAX_NAME} characters")
    return name


def _check(exp: Experiment) -> None:
    """What a definition must hold, whatever the data (the table's checks, as sentences)."""
    if exp.kind not in KINDS:
        raise ExperimentError(f"unknown kind {exp.kind!r}; use one of {', '.join(KINDS)}")
    if exp.outcome not in OUTCOMES:
        raise ExperimentError(f"unknown outcome {exp.outcome!r}; use one of {', '.join(OUTCOMES)}")
    if exp.comparison not in COMPARISONS:
        raise ExperimentError(
            f"unknown comparison {exp.comparison!r}; use one of {', '.join(COMPARISONS)}"
        )
    if not 1 <= exp.horizon_days <= 730:
        raise ExperimentError(f"a horizon of {exp.horizon_days} days: use 1 day to 2 years")
    if not exp.waves:
        raise ExperimentError(f"experiment {exp.name!r} has no start")
    if exp.kind == "personal":
        if not exp.rep_id:
            raise ExperimentError("a personal experiment needs its rep (--rep)")
        if [w.team_id for w in exp.waves] != [""]:
            raise ExperimentError("a personal experiment has one start and no teams")
    else:
        if exp.rep_id:
            raise ExperimentError("give teams (--teams) or a rep (--rep), not both")
        teams = [w.team_id for w in exp.waves]
        if "" in teams:
            raise ExperimentError("a team experiment needs its teams (--teams)")
        twice = sorted({t for t in teams if teams.count(t) > 1})
        if twice:
            raise ExperimentError(
                f"team {twice[0]} is in two waves: a team can be in one wave only"
            )
    if exp.end_date is not None and exp.end_date <= exp.first_start():
        raise ExperimentError(
            f"the end ({exp.end_date}) must come after the start ({exp.first_start()})"
        )


def draft(
    ws: Workspace,
    *,
    name: str,
    practice: str,
    start: date,
    by: str,
    teams: Sequence[str] = (),
    rep: str | None = None,
    end: date | None = None,
    outcome: str = "win_rate",
    horizon_days: int = 90,
    comparison: str = "similar",
) -> Experiment:
    """A new experiment, checked against the data: the practice exists, the teams are teams
    with reps (an id or a name, any case; a parent team is refused with its teams named), or
    the rep exists. ``by`` is who makes it ("cli:alice", "web:ana@example.com"). Nothing is
    written (``create`` writes it with its plan)."""
    name = _check_name(name)
    given = [t for t in (s.strip() for s in teams) if t]
    if given and rep:
        raise ExperimentError("give teams (--teams) or a rep (--rep), not both")
    if not given and not rep:
        raise ExperimentError("give the teams that try the practice (--teams) or a rep (--rep)")
    if name_taken(ws, name):
        raise ExperimentError(_TAKEN.format(name=name))
    pid = practice_id(ws, practice)
    org = _org(ws)
    at = now()
    if rep:
        kind, rep_id = "personal", _rep(org, rep)
        waves: tuple[Wave, ...] = (Wave(1, "", start, at, by),)
    else:
        kind, rep_id = "team", None
        waves = tuple(Wave(1, t, start, at, by) for t in _teams(org, given))
    exp = Experiment(
        experiment_id=new_id(),
        name=name,
        kind=kind,
        practice_id=pid,
        outcome=outcome,
        horizon_days=int(horizon_days),
        comparison=comparison,
        rep_id=rep_id,
        end_date=end,
        status="active",
        created_at=at,
        created_by=by,
        stopped_at=None,
        stopped_by=None,
        waves=waves,
        planned_end=end,
    )
    _check(exp)
    return exp


def name_taken(ws: Workspace, name: str) -> bool:
    state = _state(ws)
    if state is None:
        return False
    with _reading(state) as con:
        return bool(con.execute("SELECT 1 FROM experiments WHERE name = ?", [name]).fetchall())


def _changeable(exp: Experiment, what: str) -> None:
    if exp.status != "active":
        raise ExperimentError(
            f"experiment {exp.name!r} was stopped on {(exp.stopped_at or '')[:10]} by "
            f"{exp.stopped_by}: it cannot {what}"
        )


def new_wave(
    ws: Workspace, experiment: Experiment, teams: Sequence[str], start: date, by: str
) -> tuple[Wave, ...]:
    """The next wave of a team experiment: ``teams`` (ids or names) starting on ``start``,
    checked against the data and the experiment (a team is in one wave only)."""
    _changeable(experiment, "take another wave")
    if experiment.kind != "team":
        raise ExperimentError(
            f"experiment {experiment.name!r} is a personal one: only team experiments take waves"
        )
    given = [t for t in (s.strip() for s in teams) if t]
    if not given:
        raise ExperimentError("give the teams of the new wave (--teams)")
    if experiment.end_date is not None and start >= experiment.end_date:
        raise ExperimentError(
            f"the start ({start}) must come before the experiment's end ({experiment.end_date})"
        )
    org = _org(ws)
    ids = _teams(org, given)
    starts = {w.team_id: w for w in experiment.waves}
    for tid in ids:
        if tid in starts:
            w = starts[tid]
            raise ExperimentError(
                f"team {_named(org, [tid])} is already in wave {w.wave} of {experiment.name!r} "
                f"(from {w.start_date}): a team can be in one wave only"
            )
    n, at = experiment.last_wave + 1, now()
    return tuple(Wave(n, tid, start, at, by) for tid in ids)


# ---------------------------------------------------------------------------- writing


def _insert_waves(con: sqlite3.Connection, experiment_id: str, waves: Sequence[Wave]) -> None:
    con.executemany(
        "INSERT INTO experiment_waves (experiment_id, wave, team_id, start_date, added_at, "
        "added_by) VALUES (?, ?, ?, ?, ?, ?)",
        [
            (experiment_id, w.wave, w.team_id, w.start_date.isoformat(), w.added_at, w.added_by)
            for w in waves
        ],
    )


def _insert_plan(con: sqlite3.Connection, plan: Plan) -> None:
    con.execute(
        "INSERT INTO experiment_plans (experiment_id, wave, made_at, data_as_of, "
        "comparison_teams, plan) VALUES (?, ?, ?, ?, ?, ?)",
        [
            plan.experiment_id,
            plan.wave,
            plan.made_at,
            plan.data_as_of,
            json.dumps(list(plan.comparison_teams)),
            json.dumps(plan.plan, default=str, sort_keys=True),
        ],
    )


def _plan_for(plan: Plan, experiment_id: str, wave: int) -> None:
    if plan.experiment_id != experiment_id or plan.wave != wave:
        raise ValueError(
            f"the plan is for {plan.experiment_id} wave {plan.wave}, not {experiment_id} "
            f"wave {wave}"
        )


def create(
    ws: Workspace, experiment: Experiment, plan: Plan | None, *, user_id: int | None = None
) -> Experiment:
    """Store a new experiment (made by ``draft``) with the plan of its first wave, in one
    transaction; ``user_id`` is the web app account that made it (None from the CLI)."""
    _check(experiment)
    if plan is not None:
        _plan_for(plan, experiment.experiment_id, experiment.last_wave)
    with _app(ws).write() as con:
        if con.execute("SELECT 1 FROM experiments WHERE name = ?", [experiment.name]).fetchall():
            raise ExperimentError(_TAKEN.format(name=experiment.name))
        e = experiment
        con.execute(
            "INSERT INTO experiments (experiment_id, name, kind, practice_id, outcome, "
            "horizon_days, comparison, rep_id, end_date, planned_end, status, created_at, "
            "created_by, created_by_user_id, stopped_at, stopped_by) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                e.experiment_id,
                e.name,
                e.kind,
                e.practice_id,
                e.outcome,
                e.horizon_days,
                e.comparison,
                e.rep_id,
                e.end_date.isoformat() if e.end_date else None,
                e.planned_end.isoformat() if e.planned_end else None,
                e.status,
                e.created_at,
                e.created_by,
                user_id,
                e.stopped_at,
                e.stopped_by,
            ],
        )
        _insert_waves(con, e.experiment_id, e.waves)
        if plan is not None:
            _insert_plan(con, plan)
    return experiment


def extend(ws: Workspace, name: str, wave: Wave | Sequence[Wave], plan: Plan | None) -> Experiment:
    """Add a wave (one ``Wave`` per team, made by ``new_wave``) and its plan to the experiment
    ``name`` (or id), in one transaction; the experiment as it is now."""
    waves = (wave,) if isinstance(wave, Wave) else tuple(wave)
    if not waves:
        raise ExperimentError("give the teams of the new wave (--teams)")
    if len({(w.wave, w.start_date) for w in waves}) != 1:
        raise ValueError("the teams of one wave share its number and start")
    with _app(ws).write() as con:
        exp = _found(con, name)
        _changeable(exp, "take another wave")
        if exp.kind != "team":
            raise ExperimentError(
                f"experiment {exp.name!r} is a personal one: only team experiments take waves"
            )
        if waves[0].wave != exp.last_wave + 1:
            raise ExperimentError(
                f"experiment {exp.name!r} changed meanwhile (its last wave is {exp.last_wave}): "
                "run the command again"
            )
        have = {w.team_id: w for w in exp.waves}
        for w in waves:
            if w.team_id in have or not w.team_id:
                old = have.get(w.team_id)
                raise ExperimentError(
                    f"team {w.team_id or '(none)'} is already in wave "
                    f"{old.wave if old else '?'} of {exp.name!r}: a team can be in one wave only"
                )
        updated = dataclasses.replace(exp, waves=tuple(sorted(exp.waves + waves, key=_wave_key)))
        _check(updated)
        _insert_waves(con, exp.experiment_id, waves)
        if plan is not None:
            _plan_for(plan, exp.experiment_id, waves[0].wave)
            _insert_plan(con, plan)
    return updated


def stop(ws: Workspace, name: str, *, end_date: date | None, by: str) -> Experiment:
    """Stop the experiment ``name`` (or id): weeks from ``end_date`` on no longer count. Without
    a date: its planned end if that has passed, else today (the workspace's time zone)."""
    state = _state(ws)
    if state is None:
        raise _unknown(name, [])
    day = today(ws)
    with state.write() as con:
        exp = _found(con, name)
        _changeable(exp, "be stopped again")
        if end_date is None:  # one stopped before it started ends at its start: nothing counts
            end_date = exp.end_date if exp.end_date is not None and exp.end_date <= day else day
            end_date = max(end_date, exp.first_start())
        elif end_date <= exp.first_start():
            raise ExperimentError(
                f"the end ({end_date}) must come after the start ({exp.first_start()})"
            )
        at = now()
        con.execute(
            "UPDATE experiments SET status = 'stopped', end_date = ?, stopped_at = ?, "
            "stopped_by = ? WHERE experiment_id = ?",
            [end_date.isoformat(), at, by, exp.experiment_id],
        )
    return dataclasses.replace(
        exp, status="stopped", end_date=end_date, stopped_at=at, stopped_by=by
    )
