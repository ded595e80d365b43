"""A workspace: a folder with a TOML config and a DuckDB database that stores the canonical
tables, the quarantine, every analysis run and its results.

The database is a series of immutable generations (see ``generations``): a ``Workspace`` reads
the committed one, read-only, and any number of processes may do so at once; a command that
writes does it inside ``Workspace.writing()``, which holds the one writer lock, works on a copy
and commits it atomically at the end (readers keep the last commit meanwhile).

This is the only module that knows which engine runs the expressions. Analysis code builds Ibis
expressions over ``Workspace.table(name)`` and hands them to ``Workspace.execute``; with
``engine = "spark"`` the same expressions run on Spark local mode over a Parquet mirror of the
canonical tables; with ``engine = "warehouse"`` they run in a database Ibis connects to
(``[warehouse] url``: Postgres, or any ``ibis.connect`` URL) that holds the canonical tables
itself. Runs and their results are stored in the workspace whatever the engine.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tomllib
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import tomli_w

from brightspots import generations, schema
from brightspots.care.config import STORY_KEYWORDS, STORY_TAGS
from brightspots.files import write_atomic
from brightspots.generations import WorkspaceBusy, WorkspaceError

__all__ = ["Workspace", "WorkspaceBusy", "WorkspaceError", "init_workspace"]

CONFIG_FILE = "brightspots.toml"
RECORDS = "record_sources"  # see ingest.tables (kept here so the store needs no import of it)
MIRROR_DIR = "parquet"
#: rows per Arrow batch when a result streams from an engine other than the workspace's DuckDB
RESULT_BATCH_ROWS = 1_000_000
ENGINES = ("duckdb", "spark", "warehouse")
#: engine types a result column is stored as instead
_STORED_AS = {"HUGEINT": "BIGINT"}
#: result tables stored in layers (``Layer``), with the columns that key a row
LAYERED: dict[str, tuple[str, ...]] = {"effort_impact": ("grain", "every", "unit_id", "period")}
#: the column of a layered table naming the run that replaced (or removed) a row's version
REPLACED_BY = "replaced_by"

DEFAULT_CONFIG: dict[str, Any] = {
    "workspace": {
        "timezone": "UTC",
        "engine": "duckdb",
        "currency": "USD",
    },
    "analysis": {
        # closed opportunities a rep needs in the window before they can be labelled
        "min_volume": 20,
        # case-mix covariates (method.md section 1): resources, never practices or outcomes
        "covariates": [
            "segment",
            "deal_size",
            "source",
            "account_potential",
            "territory_potential",
            "tenure",
            "quarter",
        ],
        # a categorical level with fewer closed opportunities than this is pooled into "other"
        "pool_min_cases": 30,
        # when no amount at creation exists: "warn" uses the current amount, "drop" drops deal size
        "amount_fallback": "warn",
        # closed opportunities analysed, counted back from the last close: "12m", "90d" or "all"
        "window": "12m",
        # teams and regions are judged over a long window (long-term results)
        "team_window": "12m",
        # units compared: reps always; teams (reps.team_id) and regions (reps.region)
        "levels": ["rep", "team", "region"],
        # outcomes assessed; a label says which outcome(s) it rests on
        "outcomes": ["win_rate", "won_revenue", "buyer_impact"],
        # settled touches (older than [metrics] dark_after) a unit needs for buyer impact
        "min_touches": 100,
        # overdispersion phi from winsorised z: "unbiased" (divided by its null mean 0.679, so
        # phi = 1 means no more spread than chance) or "winsorised" (method.md's literal formula)
        "overdispersion": "unbiased",
        # closed deals whose rows the practice models may bring back from the engine; above it
        # they are fitted on grouped cells computed in the engine (0: no cap)
        "max_driver_rows": 2_000_000,
    },
    "metrics": {
        # a buyer event is credited to the latest touch at most this long before it
        "impact_window": "7d",
        # a touch with no buyer event on its account this long after it is effort in the dark
        "dark_after": "30d",
    },
    "practices": {
        # landmark analysis: practices measured in the first N days, on deals still open at day N
        "landmark_days": 14,
        # a rep "does" a practice when it holds on at least this share of their deals
        "most_deals": 0.5,
        # the workspace's own practices: [[practices.custom]] tables with id, description,
        # level ("opportunity" or "rep_period"), higher_is_better and sql (see the README)
        "custom": [],
    },
    "plan": {
        # effort is measured over this window, back from the end of the data
        "effort_window": "6m",
        # the learned ideal-customer fit reads this much history
        "history": "36m",
        # minutes a touch takes when the activity has no duration_minutes
        "minutes": {
            "call": 10,
            "email": 5,
            "meeting": 45,
            "demo": 60,
            "proposal": 60,
            "other": 10,
        },  # fmt: skip
        # an account's claim on effort: value x (1 + fit_weight x (fit - 50) / 50)
        "fit_weight": 0.5,
        # fit = (1 - w) x learned + w x profile, when [plan.profile] gives points
        "profile_weight": 0.5,
        # flags: under-served needs fit >= fit_min and touches < under_ratio x fair share;
        # over-served touches > over_ratio x fair share (and a binomial test, q < 0.05)
        "fit_min": 60,
        "under_ratio": 0.5,
        "over_ratio": 2.0,
        # ... and an over-served account's extra touches are this share of the rep's touches
        "min_gap_share": 0.01,
        # the plan: touches a month per tier, at least / at most
        "min_touches": {"strategic": 4, "key": 2},
        "max_touches": {"maintain": 1},
        # months a plan covers, and months of history a rep's capacity is measured over
        "months": 3,
        "capacity_months": 6,
        # value a year = won 12m x won + pipeline x pipeline + potential x potential +
        # expansion won in 24m / 2 x expansion
        "value": {"won": 1.0, "pipeline": 1.0, "potential": 0.25, "expansion": 0.5},
        # tiers by cumulative share of value (Pareto): first 50% strategic, to 80% key, ...
        "tiers": {"strategic": 0.5, "key": 0.8, "core": 0.95},
        # the ideal-customer profile: points per level, e.g. segment = {enterprise = 30}
        # and employees = {"1000" = 10} (at least 1,000 employees)
        "profile": {},
    },
    "brief": {
        # closed deals a rep or team needs in the assessment window for a win-rate deviation
        "min_deals": 8,
        # buyer events a unit needs, now and in the 13 weeks before, for response time
        "min_responses": 20,
        # response times count up to this long (unanswered events count as this long); events
        # younger than this at the end of the data are left out
        "response_cap": "7d",
        # wins listed one by one (the others are counted)
        "max_wins": 10,
        # a win is "unlikely" when the case-mix model gave deals like it at most this chance
        "unlikely_below": 0.25,
        # stories shown in a brief (caregiver stories tied to the period's wins first)
        "max_stories": 3,
    },
    "care": {
        # survey items of this dimension (compared case-insensitively) make the care index
        "dimension": "care",
        # question_ids scored the other way round (high = less care)
        "reverse_items": [],
        # below this many respondents no care figure is shown anywhere (anonymity); at least 3
        "min_respondents": 5,
        # respondents a unit needs before a care label
        "min_volume": 10,
        # care answers analysed, back from the latest care answer: "12m", "90d" or "all"
        "window": "12m",
        # care and results: repeat deals won within this after the account's survey
        "outcome_window": "12m",
        # a story is a caregiver story when a tag or a whole word of its text matches these
        "story_tags": list(STORY_TAGS),
        "story_keywords": list(STORY_KEYWORDS),
    },
    "stories": {
        # "web": shared once approved in the web app; "none": every story not declined;
        # "auto": "web" when the workspace's app state has a web app account, else "none"
        "approval": "auto",
        # stories.status = "approved" from the source system counts as an approval
        "trust_imported_approval": False,
    },
    "scorecard": {
        # components of the balanced scorecard, their targets and weights (README, scorecard)
        "components": ["results", "impact", "care_customer", "care_employee", "practices"],
        "targets": {
            "results": 1.0,
            "impact": 1.0,
            "care_customer": 0.75,
            "care_employee": 0.75,
            "practices": 0.5,
        },
        "weights": {
            "results": 0.4,
            "impact": 0.15,
            "care_customer": 0.2,
            "care_employee": 0.1,
            "practices": 0.15,
        },
        # attainment = min(value / target, cap)
        "cap": 1.5,
    },
    "experiments": {
        # win_rate: deals won within this long of their creation (the cohort's outcome)
        "horizon": "90d",
        # the baseline is the mean of this many weeks before a team's start
        "baseline_weeks": 12,
        # weeks before the first start that pick similar teams and size the power
        "history_weeks": 26,
        # "similar": the nearest teams in outcome, trend, volume, practice use and deal mix;
        # "all": every team not in the experiment (and its own teams until they start)
        "comparison": "similar",
        # similar teams compared with; 0: max(6, 2 x the teams trying it)
        "comparison_teams": 0,
        # the smallest change worth detecting, per outcome (the plan's power words)
        "detect": {"win_rate": 0.05, "impact_rate": 0.03, "response_hours": 2.0},
        "power": 0.8,
        # below this uptake (binary practices; others: 10% of the level before) it was not
        # adopted, so there is nothing to test
        "min_uptake": 0.05,
        # bootstrap draws for the intervals
        "draws": 1999,
        # fewer teams trying it than this: a warning that the interval is less sure
        "min_teams": 4,
        # mature weeks before the start a team needs
        "min_weeks": 4,
    },
    "duckdb": {
        "memory_limit": "",  # e.g. "4GB"; empty = DuckDB's default
        "threads": 0,  # 0 = DuckDB's default
        # where DuckDB spills what does not fit in memory_limit (relative: to the workspace);
        # empty = DuckDB's default, a folder beside the database file
        "temp_directory": "",
    },
    "spark": {
        # "local[2]", "spark://host:7077", "yarn"; "" leaves it to spark-submit (or SPARK_MASTER)
        "master": "local[2]",
        # Spark Connect instead of a master, e.g. "sc://spark.example.com:15002"
        "remote": "",
        "driver_memory": "2g",
        "shuffle_partitions": 4,
        # the folder of the canonical tables' Parquet mirror; on a cluster one every executor
        # reads at the same path (a shared mount). Default: the workspace's parquet/ folder
        "mirror": "",
    },
    "warehouse": {
        # engine "warehouse": the database holding the canonical tables (named like the
        # contract's: reps, accounts, ...), any URL ibis.connect takes, e.g.
        # "postgres://user:pass@host:5432/crm" (Postgres needs the warehouse extra)
        "url": "",
        # the database schema holding them; "" = the connection's default (Postgres: public)
        "schema": "",
    },
}


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def exhausted(error: BaseException) -> bool:
    """Whether a DuckDB error is the engine running out of memory or of disk to spill to (the
    machine's limits, not the data's fault: ``Workspace.resource_error`` says what to change)."""
    if isinstance(error, duckdb.OutOfMemoryException):
        return True
    return isinstance(error, duckdb.IOException) and "space left" in str(error).lower()


def init_workspace(path: str | Path, *, engine: str = "duckdb", force: bool = False) -> Workspace:
    """Create a new workspace folder with a default config and an empty database."""
    root = Path(path)
    if engine not in ENGINES:
        raise WorkspaceError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if (root / CONFIG_FILE).exists() and not force:
        raise WorkspaceError(f"{root} is already a workspace (found {CONFIG_FILE})")
    if root.exists() and not root.is_dir():
        raise WorkspaceError(f"{root} exists and is not a folder")
    root.mkdir(parents=True, exist_ok=True)
    config = _merge(DEFAULT_CONFIG, {"workspace": {"engine": engine}})
    (root / CONFIG_FILE).write_text(tomli_w.dumps(config))
    ws = Workspace(root)
    if generations.current_name(root) is None:
        with ws.transaction():
            pass  # the first generation: the empty canonical tables (see Workspace.duckdb)
    return ws


_RUNS_COLUMNS = (
    "run_id VARCHAR PRIMARY KEY, created_at TIMESTAMP, engine VARCHAR, "
    "fingerprint VARCHAR, config VARCHAR, diagnostics VARCHAR"
)


def _create_storage(con: duckdb.DuckDBPyConnection, *, read_only: bool = False) -> None:
    """The canonical tables and ``runs``. A table written by an earlier version gets the
    contract's newer optional columns: added (empty) on a read-write connection; on a read-only
    one to such a generation, read through a TEMP view that adds them as NULL, and a table it
    lacks is an empty TEMP table, so reads find it."""
    db = con.execute("SELECT current_database()").fetchall()[0][0]
    have: dict[str, set[str]] = {}
    for table, column in con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() "
        "WHERE database_name = ? AND schema_name = 'main'",
        [db],
    ).fetchall():
        have.setdefault(table, set()).add(column)
    kind = "TEMP TABLE" if read_only else "TABLE"
    for t in schema.TABLES:
        if t.name in have:
            missing = [c for c in t.columns if c.name not in have[t.name]]
            if missing and read_only:
                added = ", ".join(f'NULL::{_duck_type(c)} AS "{c.name}"' for c in missing)
                con.execute(
                    f'CREATE OR REPLACE TEMP VIEW "{t.name}" AS '
                    f'SELECT *, {added} FROM "{db}".main."{t.name}"'
                )
            for c in missing if not read_only else ():
                con.execute(
                    f'ALTER TABLE "{t.name}" ADD COLUMN IF NOT EXISTS "{c.name}" {_duck_type(c)}'
                )
            continue
        cols = ", ".join(f'"{c.name}" {_duck_type(c)}' for c in t.columns)
        # no PRIMARY KEY index: the importer guarantees unique keys, and the index costs a third
        # of a 10M-row import (measured: 3.1x DuckDB's read_csv with it, 2.3x without)
        con.execute(f'CREATE {kind} IF NOT EXISTS "{t.name}" ({cols})')
    if "runs" not in have:
        con.execute(f"CREATE {kind} IF NOT EXISTS runs ({_RUNS_COLUMNS})")


def _nullable(table):
    """An Ibis database table with every column typed nullable, as the store's are: a column
    declared NOT NULL would not union with the analysis' own nullable ones. Only the type in
    the expression changes (no cast: the SQL reads the column as it is, statistics and all)."""
    import ibis

    op = table.op()
    loose = ibis.schema({n: t.copy(nullable=True) for n, t in op.schema.items()})
    return table if loose == op.schema else op.copy(schema=loose).to_expr()


def _shown_url(url: str) -> str:
    """``url`` without its password (see ``ingest.database.shown``)."""
    from brightspots.ingest.database import shown

    return shown(url)


def _masked(text: str, url: str) -> str:
    """``text`` (a driver's message) with the URL's password, if any, masked."""
    from urllib.parse import parse_qsl, unquote, urlsplit

    parts = urlsplit(url)
    try:
        secrets = [parts.password or ""]
    except ValueError:
        secrets = []
    secrets += [
        v
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() in ("password", "pass", "pwd")
    ]
    for secret in {s for v in secrets if v for s in (v, unquote(v))}:
        text = text.replace(secret, "***")
    return text


def _duck_type(c: schema.Column) -> str:
    return {
        schema.ColumnType.STRING: "VARCHAR",
        schema.ColumnType.INT: "BIGINT",
        schema.ColumnType.FLOAT: "DOUBLE",
        schema.ColumnType.MONEY: "DOUBLE",
        schema.ColumnType.BOOL: "BOOLEAN",
        schema.ColumnType.DATE: "DATE",
        schema.ColumnType.TIMESTAMP: "TIMESTAMP",
    }[c.type]


@dataclass
class Run:
    run_id: str
    created_at: datetime
    engine: str
    fingerprint: str
    config: dict[str, Any]
    diagnostics: dict[str, Any]


@dataclass(frozen=True)
class Layer:
    """A run's versions of a layered result table (``LAYERED``): ``rows`` (Ibis expressions or
    frames) for the keys it recomputed, and ``replaces``, the name of a table of key columns
    whose earlier versions it replaces (keys without a new row are gone from the run); None
    replaces every key. A run then reads, per key, its own version or the newest earlier one
    (``Workspace.run_rows``): a run that recomputed a few keys stores only those."""

    rows: list[Any]
    replaces: str | None = None


@dataclass
class Workspace:
    root: Path
    engine_override: str | None = None
    _con: duckdb.DuckDBPyConnection | None = field(default=None, repr=False)
    _backend: Any = field(default=None, repr=False)
    _generation: str | None = field(default=None, repr=False)  # what _con reads
    _draft: generations.Draft | None = field(default=None, repr=False)  # what _con writes
    _depth: int = field(default=0, repr=False)
    _dirty: bool = field(default=False, repr=False)

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, path: str | Path, *, engine: str | None = None) -> Workspace:
        root = Path(path)
        if not (root / CONFIG_FILE).is_file():
            raise WorkspaceError(
                f"{root} is not a workspace (no {CONFIG_FILE}); create one with "
                f"`brightspots init {root}`"
            )
        if engine is not None and engine not in ENGINES:
            raise WorkspaceError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
        ws = cls(root, engine_override=engine)
        ws.config  # validate early  # noqa: B018
        return ws

    @property
    def config(self) -> dict[str, Any]:
        path = self.root / CONFIG_FILE
        try:
            user = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as e:
            raise WorkspaceError(f"{path}: not valid TOML: {e}") from None
        cfg = _merge(DEFAULT_CONFIG, user)
        if cfg["workspace"]["engine"] not in ENGINES:
            raise WorkspaceError(
                f"{path}: [workspace] engine = {cfg['workspace']['engine']!r}; "
                f"choose one of {', '.join(ENGINES)}"
            )
        return cfg

    def save_config(self, cfg: dict[str, Any]) -> None:
        write_atomic(self.root / CONFIG_FILE, tomli_w.dumps(cfg))

    def update_config(self, changes: dict[str, dict[str, Any]]) -> None:
        """Set only ``changes`` ({section: {key: value}}) in the config file, keeping what the
        file leaves to the defaults (so later defaults still apply)."""
        path = self.root / CONFIG_FILE
        user = tomllib.loads(path.read_text())
        for section, values in changes.items():
            user.setdefault(section, {}).update(values)
        write_atomic(path, tomli_w.dumps(user))

    @property
    def engine(self) -> str:
        return self.engine_override or self.config["workspace"]["engine"]

    @property
    def timezone(self) -> str:
        return self.config["workspace"]["timezone"]

    # ------------------------------------------------------------------ storage (DuckDB)
    @property
    def db_path(self) -> Path:
        """The database file in use: the draft while writing, else the committed generation."""
        if self._draft is not None:
            return self._draft.path
        if self._generation is not None:
            return generations.path_of(self.root, self._generation)
        return generations.current(self.root)[1]

    def spill_folder(self) -> Path:
        """Where DuckDB spills what does not fit in its memory limit: ``[duckdb]
        temp_directory`` (relative to the workspace), else DuckDB's default beside the
        database file in use."""
        configured = str(self.config["duckdb"].get("temp_directory") or "")
        if configured:
            return self.root / Path(configured).expanduser()
        return self.db_path.with_name(self.db_path.name + ".tmp")

    @contextmanager
    def limits_explained(
        self,
        what: str,
        error: type[Exception],
        progress: Callable[[str, float], None] | None,
        first_step: str,
    ) -> Iterator[Callable[[str, float], None]]:
        """Around a write (outside ``writing``, so that it is dropped first): a DuckDB error
        that ran out of memory or of spill disk becomes ``error`` saying that ``what`` stopped,
        at which step (the last ``progress`` message of the callback yielded, which passes them
        on), what to change (``resource_error``), and that nothing of it was stored."""
        step = first_step

        def tracked(message: str, fraction: float) -> None:
            nonlocal step
            step = message
            if progress is not None:
                progress(message, fraction)

        try:
            yield tracked
        except duckdb.Error as e:
            reason = self.resource_error(e)
            if reason is None:
                raise
            raise error(
                f"{what} stopped at step {step!r}: {reason}. Nothing of it was stored: the "
                "workspace is as it was before it"
            ) from e

    def resource_error(self, error: BaseException) -> str | None:
        """What a DuckDB error that ran out of memory or of disk to spill to means for this
        workspace and what to change, or None for any other error."""
        if not exhausted(error):
            return None
        text = str(error).splitlines()[0] if str(error) else type(error).__name__
        config = self.root / CONFIG_FILE
        if isinstance(error, duckdb.OutOfMemoryException):
            dcfg = self.config["duckdb"]
            limit = dcfg.get("memory_limit") or "DuckDB's default, 80% of RAM"
            fewer = (
                ""
                if int(dcfg.get("threads") or 0) == 1
                else ", or set [duckdb] threads = 1 there (each thread holds buffers of its own)"
            )
            return (
                f"DuckDB ran out of memory (memory_limit: {limit}) ({text}). Raise [duckdb] "
                f"memory_limit in {config}{fewer}"
            )
        folder = self.spill_folder()
        probe = next((p for p in (folder, *folder.parents) if p.exists()), self.root)
        free = shutil.disk_usage(probe).free / 2**30
        return (
            f"the disk DuckDB spills to ({folder}) is full: {free:.1f} GiB free now "
            f"({text}). Free space there, or point [duckdb] temp_directory in {config} at "
            "a bigger disk"
        )

    @property
    def generation(self) -> str:
        """The generation this workspace reads ("000042"; "legacy" for a one-file workspace)."""
        if self._draft is not None:
            return self._draft.name
        if self._generation is None:
            self.duckdb()
        assert self._generation is not None
        return self._generation

    @property
    def writing_now(self) -> bool:
        return self._draft is not None

    def duckdb(self) -> duckdb.DuckDBPyConnection:
        """The raw DuckDB connection of the store (imports, runs and results live here):
        read-only on the committed generation, or read-write on the draft inside ``writing``."""
        if self._con is None:
            if self._draft is not None:
                con = duckdb.connect(str(self._draft.path))
            else:
                self._generation, con = generations.connect_read_only(self.root)
            dcfg = self.config["duckdb"]
            if dcfg.get("memory_limit"):
                con.execute(f"SET memory_limit = '{dcfg['memory_limit']}'")
            if int(dcfg.get("threads") or 0) > 0:
                con.execute(f"SET threads = {int(dcfg['threads'])}")
            if dcfg.get("temp_directory"):
                folder = str(self.spill_folder()).replace("'", "''")
                con.execute(f"SET temp_directory = '{folder}'")
            con.execute("SET TimeZone = 'UTC'")
            con.execute("SET enable_progress_bar = false")  # our own Rich bars report progress
            _create_storage(con, read_only=self._draft is None)
            self._con = con
        return self._con

    @contextmanager
    def writing(self, *, wait: bool = False) -> Iterator[Workspace]:
        """Be the workspace's one writer for the block: everything written inside it is
        committed together when it ends without error, else dropped. Readers (other processes,
        other ``Workspace`` objects) see the last commit until then. Nested blocks join the
        outer one. Raises ``WorkspaceBusy`` when another command writes (``wait``: block)."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        with generations.writer_lock(self.root, wait=wait):
            pinned = self._generation if self._con is not None else None
            self._release()
            now = generations.current_name(self.root)
            if pinned is not None and now != pinned:
                raise WorkspaceError(
                    f"{self.root} changed while this command read it (generation {pinned}, now "
                    f"{now}: another command committed meanwhile); run it again"
                )
            self._draft = generations.begin(self.root)
            self._depth, self._dirty = 1, False
            try:
                yield self
            except BaseException:
                self._release()
                generations.discard(self._draft)
                raise
            else:
                if self._dirty:
                    self.duckdb().execute("CHECKPOINT")
                self._release()
                if self._dirty:
                    generations.commit(self._draft)
                else:
                    generations.discard(self._draft)
            finally:
                self._draft, self._depth = None, 0

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All or nothing: commit on success, roll back on any exception (or a kill). Outside
        ``writing`` it is a write of its own (locked, copied, committed)."""
        with self.writing():
            con = self.duckdb()
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            else:
                con.execute("COMMIT")
                self._dirty = True

    def _release(self) -> None:
        """Close the DuckDB connection (the next use opens what is current then)."""
        if self._con is not None:
            self._con.close()
            self._con = None
            self._generation = None
            if self.engine == "duckdb":
                self._backend = None  # bound to the closed connection

    def close(self) -> None:
        self._release()
        if self.engine == "warehouse" and self._backend is not None:
            with contextlib.suppress(Exception):  # a connection the server already dropped
                self._backend.disconnect()
        self._backend = None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def has_table(self, name: str) -> bool:
        rows = (
            self.duckdb()
            .execute("SELECT 1 FROM information_schema.tables WHERE table_name = ?", [name])
            .fetchall()
        )
        return bool(rows)

    def row_count(self, name: str) -> int:
        return int(self.duckdb().execute(f'SELECT count(*) FROM "{name}"').fetchall()[0][0])

    def read(self, name: str, where: str = "", params: list[Any] | None = None) -> pd.DataFrame:
        """A stored table (canonical, quarantine or result) as a DataFrame."""
        if not self.has_table(name):
            raise WorkspaceError(f"no table {name!r} in {self.root}")
        sql = f'SELECT * FROM "{name}"' + (f" WHERE {where}" if where else "")
        return self.duckdb().execute(sql, params or []).df()

    def fingerprint(self) -> str:
        """A digest of the canonical tables' contents: equal data, equal fingerprint. On the
        warehouse engine, a digest of the warehouse tables' row counts and latest timestamps
        (``warehouse_fingerprint``): the workspace's own tables are not what is analysed."""
        if self.engine == "warehouse":
            return self.warehouse_fingerprint()
        con = self.duckdb()
        h = hashlib.sha256()
        for t in schema.TABLES:
            n, x = con.execute(
                f'SELECT count(*), coalesce(bit_xor(hash(t)), 0) FROM "{t.name}" AS t'
            ).fetchall()[0]
            h.update(f"{t.name}:{n}:{x};".encode())
        if self.has_table(RECORDS):  # records flagged deleted change what is analysed
            n, x = con.execute(
                f"SELECT count(*), coalesce(bit_xor(hash(table_name, key)), 0) FROM {RECORDS} "
                "WHERE deleted_at IS NOT NULL"
            ).fetchall()[0]
            if n:
                h.update(f"deleted:{n}:{x};".encode())
        return h.hexdigest()[:16]

    def warehouse_fingerprint(self) -> str:
        """A digest of the warehouse's canonical tables (engine "warehouse"): per table its row
        count and the latest value of each timestamp and date column, computed there (one
        aggregate per table). Cheap on any size, it sees appended, deleted and re-dated rows;
        an edit that moves no count or latest time is not seen."""
        h = hashlib.sha256(b"warehouse;")
        for t in schema.TABLES:
            table = self.table(t.name)
            stamps = [
                c.name
                for c in t.columns
                if c.type in (schema.ColumnType.TIMESTAMP, schema.ColumnType.DATE)
            ]
            aggs = {"n": table.count(), **{f"max_{c}": table[c].max() for c in stamps}}
            row = self.execute(table.aggregate(**aggs)).iloc[0]
            values = [int(row["n"])] + [
                "" if pd.isna(row[f"max_{c}"]) else pd.Timestamp(row[f"max_{c}"]).isoformat()
                for c in stamps
            ]
            h.update(f"{t.name}:{':'.join(map(str, values))};".encode())
        return h.hexdigest()[:16]

    def data_rows(self, name: str) -> int:
        """The rows of canonical table ``name`` where the engine reads it: the warehouse's table
        on engine "warehouse", else the workspace's own (the Spark mirror is made of these)."""
        if self.engine == "warehouse":
            return int(self.execute(self.table(name).count()))
        return self.row_count(name)

    # ------------------------------------------------------------------ analysis engine (Ibis)
    def backend(self):
        """The Ibis backend that runs analysis expressions: DuckDB on the workspace's own
        tables, Spark over their Parquet mirror, or the warehouse's database."""
        if self._backend is None:
            if self.engine == "duckdb":
                import ibis

                self._backend = ibis.duckdb.from_connection(self.duckdb())
            elif self.engine == "spark":
                self._backend = self._spark_backend()
            else:
                self._backend = self._warehouse_backend()
        return self._backend

    def _warehouse_setting(self, key: str) -> str:
        value = self.config["warehouse"].get(key, "")
        if not isinstance(value, str):
            raise WorkspaceError(
                f"{self.root / CONFIG_FILE}: [warehouse] {key} = {value!r}: it must be a string"
            )
        return value.strip()

    def _warehouse_backend(self):
        """An Ibis connection to ``[warehouse] url`` (engine "warehouse")."""
        url = self._warehouse_setting("url")
        if not url:
            raise WorkspaceError(
                f"{self.root / CONFIG_FILE}: [warehouse] url is empty: engine 'warehouse' reads "
                "the canonical tables from the database it names, e.g. "
                'url = "postgres://user:pass@host:5432/crm"'
            )
        import ibis

        try:
            return ibis.connect(url)
        except Exception as e:  # drivers raise many kinds (a missing one: ImportError)
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            hint = ""
            if isinstance(e, ImportError):  # the backend's driver is not installed
                scheme = url.split(":", 1)[0].lower()
                hint = (
                    "; Postgres needs pip install 'brightspots[warehouse]'"
                    if scheme in ("postgres", "postgresql")
                    else f"; install Ibis' {scheme} backend: pip install 'ibis-framework[{scheme}]'"
                )
            raise WorkspaceError(
                f"{self.root / CONFIG_FILE}: [warehouse] url = {_shown_url(url)!r}: cannot "
                f"connect ({_masked(first, url)}){hint}"
            ) from None

    def _warehouse_table(self, name: str):
        """Canonical table ``name`` read from the warehouse (``[warehouse] schema``): the
        contract's columns, in its order, cast to its types where the database's differ (names
        matched case-insensitively). As in an import, a column that may be empty may also be
        absent (then it is empty); one that may not is an error."""
        import ibis
        from ibis.common.exceptions import TableNotFound

        contract = schema.table(name)
        be = self.backend()
        where = self._warehouse_setting("schema")
        in_schema = f"schema {where!r}" if where else "the connection's default schema"
        url = _shown_url(self._warehouse_setting("url"))
        try:
            table = _nullable(be.table(name, database=where or None))
        except TableNotFound:
            raise WorkspaceError(
                f"the warehouse ({url}) has no table {name!r} in {in_schema}; engine "
                "'warehouse' reads every canonical table there, named like the contract's "
                f"({', '.join(t.name for t in schema.TABLES)})"
            ) from None
        except Exception as e:  # the backend's own error: no such schema, no right to read
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise WorkspaceError(
                f"the warehouse ({url}): cannot read table {name!r} in {in_schema} "
                f"({_masked(first, self._warehouse_setting('url'))})"
            ) from None
        have = {c.lower(): c for c in table.columns}
        missing = [c.name for c in contract.columns if c.name.lower() not in have]
        needed = [c.name for c in contract.columns if c.name in missing and not c.nullable]
        if needed:
            raise WorkspaceError(
                f"the warehouse ({url}) table {name!r} in {in_schema} lacks the column(s) "
                f"{', '.join(needed)}, which the contract's {name} table requires"
            )
        picked = []
        for c in contract.columns:
            want = ibis.dtype(c.ibis_type)
            if c.name in missing:
                picked.append(ibis.null(want).name(c.name))
                continue
            col = table[have[c.name.lower()]]
            got = col.type()
            if got.is_timestamp() and want.is_timestamp():
                # any precision; an instant (with time zone) as its UTC wall time: Ibis keeps
                # the session in UTC
                want = got.copy(timezone=None)
            if got != want:
                col = col.cast(want)
            picked.append(col.name(c.name))
        return table.select(*picked)

    def _spark_backend(self):
        try:
            import ibis
            from pyspark.sql import SparkSession
        except ImportError:
            raise WorkspaceError(
                "engine 'spark' needs the spark extra: pip install 'brightspots[spark]'"
            ) from None
        scfg = self.config["spark"]
        builder = SparkSession.builder.appName("brightspots")
        if scfg.get("remote"):  # Spark Connect: the server has its own master and memory
            builder = builder.remote(scfg["remote"])
        else:
            if scfg.get("master"):
                builder = builder.master(scfg["master"])
            builder = (
                builder.config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.driver.memory", scfg["driver_memory"])
            )
        session = (
            builder.config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", str(int(scfg.get("shuffle_partitions", 4))))
            .config("spark.sql.ansi.enabled", "false")
            .getOrCreate()
        )
        if not scfg.get("remote"):
            session.sparkContext.setLogLevel("ERROR")
        mirror = self._refresh_mirror()
        for t in schema.TABLES:
            session.read.parquet(str(mirror / f"{t.name}.parquet")).createOrReplaceTempView(
                f"bs_{t.name}"
            )
        return ibis.pyspark.connect(session)

    def _refresh_mirror(self) -> Path:
        """The canonical tables as Parquet for Spark, one folder per content fingerprint.

        A folder is written under a temporary name and renamed when complete, so readers in
        other processes never see half of one; the newest two are kept."""
        configured = self.config["spark"].get("mirror")
        base = Path(configured) if configured else self.root / MIRROR_DIR
        base.mkdir(parents=True, exist_ok=True)
        fp = self.fingerprint()
        mirror = base / fp
        if mirror.is_dir():
            os.utime(mirror)
            return mirror
        tmp = base / f".{fp}.{uuid.uuid4().hex[:8]}.tmp"
        tmp.mkdir()
        con = self.duckdb()
        try:
            for t in schema.TABLES:
                out = tmp / f"{t.name}.parquet"
                con.execute(f"COPY ({self.live_sql(t.name)}) TO '{out}' (FORMAT parquet)")
            try:
                os.rename(tmp, mirror)
            except OSError:  # another process finished the same folder first
                if not mirror.is_dir():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        for old in sorted(
            (p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")),
            key=lambda p: p.stat().st_mtime,
        )[:-2]:
            if old != mirror:
                shutil.rmtree(old, ignore_errors=True)
        return mirror

    def table(self, name: str):
        """A canonical table as an Ibis table on the analysis engine: its live records (a
        record a snapshot import flagged deleted is kept in the store, never analysed)."""
        t = schema.table(name)  # raises on unknown names
        if self.engine == "warehouse":
            return self._warehouse_table(name)  # the warehouse holds live records only
        be = self.backend()
        if self.engine != "duckdb":
            return be.table(f"bs_{name}")  # the mirror holds live records only
        table = be.table(name)
        if not self._has_deleted(name):
            return table
        gone = be.table(RECORDS)
        gone = gone.filter((gone.table_name == name) & gone.deleted_at.notnull())
        return table.anti_join(gone, table[t.key] == gone.key)

    def _has_deleted(self, name: str) -> bool:
        if not self.has_table(RECORDS):
            return False
        return bool(
            self.duckdb()
            .execute(
                f"SELECT count(*) FROM {RECORDS} WHERE table_name = ? AND deleted_at IS NOT NULL",
                [name],
            )
            .fetchall()[0][0]
        )

    def live_sql(self, name: str) -> str:
        """SQL for a canonical table's live records (see ``table``)."""
        t = schema.table(name)
        if not self._has_deleted(name):
            return f'SELECT * FROM "{name}"'
        return (
            f'SELECT * FROM "{name}" WHERE "{t.key}" NOT IN (SELECT key FROM {RECORDS} '
            f"WHERE table_name = '{name}' AND deleted_at IS NOT NULL)"
        )

    def execute(self, expr) -> pd.DataFrame:
        """Run an Ibis expression on the analysis engine and return a DataFrame."""
        return self.backend().execute(expr)

    # ------------------------------------------------------------------ runs and results
    def new_run(self, *, fingerprint: str) -> Run:
        return Run(
            run_id=datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6],
            created_at=datetime.now(UTC).replace(tzinfo=None),
            engine=self.engine,
            fingerprint=fingerprint,
            config=self.config,
            diagnostics={},
        )

    def save_run(self, run: Run, results: dict[str, Any]) -> None:
        """Store a run and its result tables in one transaction (all or nothing).

        A result is a DataFrame, an Ibis table expression on this workspace's engine, or a list
        of them (stored one after the other). A big table (effort per account and day) then goes
        from the engine into storage without passing through pandas (DuckDB: one INSERT ...
        SELECT per expression; Spark: Arrow record batches).
        """
        with self.transaction() as con:
            self._save_results(con, run, results)
            con.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?)",
                [
                    run.run_id,
                    run.created_at,
                    run.engine,
                    run.fingerprint,
                    json.dumps(run.config, default=str),
                    json.dumps(run.diagnostics, default=str),
                ],
            )

    def add_run_tables(self, run: Run, results: dict[str, Any]) -> None:
        """Append result tables (as ``save_run`` takes them) to the stored run ``run``, and
        store its diagnostics as they are now (a later step may add a note), in one
        transaction: all or nothing. A step that needs the run's own stored tables (experiments
        read its ``effort_impact``) runs after ``save_run`` and adds its tables here."""
        with self.transaction() as con:
            if not con.execute("SELECT 1 FROM runs WHERE run_id = ?", [run.run_id]).fetchall():
                raise WorkspaceError(f"no run {run.run_id!r} in {self.root} to add tables to")
            for name in results:
                if (
                    self.has_table(name)
                    and con.execute(
                        f'SELECT 1 FROM "{name}" WHERE run_id = ? LIMIT 1', [run.run_id]
                    ).fetchall()
                ):
                    raise WorkspaceError(f"run {run.run_id} already has rows in {name!r}")
            self._save_results(con, run, results)
            con.execute(
                "UPDATE runs SET diagnostics = ? WHERE run_id = ?",
                [json.dumps(run.diagnostics, default=str), run.run_id],
            )

    def _save_results(
        self, con: duckdb.DuckDBPyConnection, run: Run, results: dict[str, Any]
    ) -> None:
        for name, result in results.items():
            if isinstance(result, Layer):
                self._replace_versions(con, run, name, result.replaces)
                result = result.rows
            for part in result if isinstance(result, list) else [result]:
                self._save_result(con, run, name, part)

    def _save_result(self, con: duckdb.DuckDBPyConnection, run: Run, name: str, result) -> None:
        """Append one result (a DataFrame or an Ibis expression) of ``run`` to table ``name``."""
        if isinstance(result, pd.DataFrame):
            self._insert_frame(con, name, run.run_id, result)
        elif self.engine == "duckdb":
            sql = self.backend().compile(result)
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW _bs_result AS "
                f"SELECT '{run.run_id}' AS run_id, * FROM ({sql})"
            )
            # a big result streams into storage in any order (rows carry their keys):
            # keeping insertion order would hold it all in memory first
            con.execute("SET preserve_insertion_order = false")
            self._insert_result(con, name, "_bs_result")
            con.execute("RESET preserve_insertion_order")
            con.execute("DROP VIEW _bs_result")
        else:
            for batch in self._batches(result):
                self._insert_frame(con, name, run.run_id, batch.to_pandas())

    def _batches(self, expr) -> Iterator[Any]:
        """An expression's rows from the engine as Arrow record batches of its Ibis schema.
        A DuckDB database as the warehouse is read through DuckDB's own reader: Ibis 12 asks
        it for ``fetch_record_batch``, which DuckDB 2 no longer has."""
        be = self.backend()
        if be.name != "duckdb":
            yield from be.to_pyarrow_batches(expr)
            return
        target = expr.as_table().schema().to_pyarrow()
        reader = be.con.sql(be.compile(expr)).to_arrow_reader(RESULT_BATCH_ROWS)
        for batch in reader:
            yield batch.cast(target)

    def _replace_versions(
        self, con: duckdb.DuckDBPyConnection, run: Run, name: str, replaces: str | None
    ) -> None:
        """Mark the current versions of ``replaces``' keys (all keys when None) of layered table
        ``name`` as replaced by ``run``."""
        if not self.has_table(name):
            return
        self._layer_table(con, name)
        sql = f'UPDATE "{name}" SET {REPLACED_BY} = ? '
        if replaces is None:
            con.execute(sql + f"WHERE {REPLACED_BY} IS NULL", [run.run_id])
            return
        on = " AND ".join(f't."{k}" = k."{k}"' for k in LAYERED[name])
        con.execute(
            f'UPDATE "{name}" AS t SET {REPLACED_BY} = ? FROM "{replaces}" AS k '
            f"WHERE t.{REPLACED_BY} IS NULL AND {on}",
            [run.run_id],
        )

    def _layer_table(self, con: duckdb.DuckDBPyConnection, name: str) -> None:
        """Give a table written one full copy per run (before layers) its ``REPLACED_BY``
        column: each run's rows are replaced by the next run's."""
        columns = {r[0] for r in con.execute(f'DESCRIBE "{name}"').fetchall()}
        if REPLACED_BY in columns:
            return
        con.execute(f'ALTER TABLE "{name}" ADD COLUMN {REPLACED_BY} VARCHAR')
        con.execute(
            f'UPDATE "{name}" AS t SET {REPLACED_BY} = n.next_run FROM (SELECT run_id, '
            "lead(run_id) OVER (ORDER BY created_at, run_id) AS next_run FROM runs) AS n "
            "WHERE t.run_id = n.run_id"
        )

    def _insert_frame(
        self, con: duckdb.DuckDBPyConnection, name: str, run_id: str, frame: pd.DataFrame
    ) -> None:
        """Append one frame of results, tagged with its run, to result table ``name``."""
        tagged = frame.copy()
        tagged.insert(0, "run_id", run_id)
        con.register("_bs_result", tagged)
        self._insert_result(con, name, "_bs_result")
        con.unregister("_bs_result")

    def _insert_result(self, con: duckdb.DuckDBPyConnection, name: str, source: str) -> None:
        """Append ``source`` (a registered frame or view with run_id first) to result table
        ``name``, creating it, or adding the columns a later version brings (never renaming)."""
        described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
        # DuckDB sums 64-bit integers into 128-bit ones (Ibis takes the sum to be int64 and
        # leaves out the cast back): stored as BIGINT, they read back as integers, not floats.
        # A column with no value at all (an empty frame's text column) has DuckDB's type NULL,
        # which nothing casts to later: stored as VARCHAR
        kinds = {
            c: "VARCHAR" if d.strip('"') == "NULL" else _STORED_AS.get(d, d)
            for c, d, *_ in described
        }
        picked = ", ".join(
            f'CAST("{c}" AS {k}) AS "{c}"' if k != d else f'"{c}"'
            for c, d, *_ in described
            for k in (kinds[c],)
        )
        if not self.has_table(name):
            con.execute(f'CREATE TABLE "{name}" AS SELECT {picked} FROM {source} LIMIT 0')
        existing = {r[0] for r in con.execute(f'DESCRIBE "{name}"').fetchall()}
        for column in kinds:
            if column not in existing:
                con.execute(f'ALTER TABLE "{name}" ADD COLUMN "{column}" {kinds[column]}')
        cols = ", ".join(f'"{r[0]}"' for r in described)
        con.execute(f'INSERT INTO "{name}" ({cols}) SELECT {picked} FROM {source}')

    def runs(self) -> list[Run]:
        rows = self.duckdb().execute("SELECT * FROM runs ORDER BY created_at, run_id").fetchall()
        return [Run(r[0], r[1], r[2], r[3], json.loads(r[4]), json.loads(r[5])) for r in rows]

    def latest_run(self) -> Run:
        runs = self.runs()
        if not runs:
            raise WorkspaceError(
                f"no analysis run in {self.root} yet; "
                f"run `brightspots analyze --workspace {self.root}`"
            )
        return runs[-1]

    def find_run(self, run_id: str | None) -> Run | None:
        """The stored run ``run_id`` (None when there is no such run), or the latest run when
        ``run_id`` is None (``latest_run``: an error when there is none)."""
        if run_id is None:
            return self.latest_run()
        return next((r for r in self.runs() if r.run_id == run_id), None)

    def run_results(self, name: str, run_id: str | None = None) -> pd.DataFrame:
        """One result table of a run (the latest by default), without the run_id column."""
        run_id = run_id or self.latest_run().run_id
        if not self.has_table(name):
            raise WorkspaceError(f"the latest run has no table {name!r}")
        return self.run_rows(name, run_id).reset_index(drop=True)

    def run_rows(
        self, name: str, run_id: str, where: str = "", params: list[Any] | tuple = ()
    ) -> pd.DataFrame:
        """The rows of result table ``name`` that belong to run ``run_id`` (and match the SQL
        condition ``where``), without the run_id column. A layered table (``LAYERED``) gives,
        per key, the run's own version or the newest version before it; none for a run that did
        not store the table (``Run.diagnostics["layers"]`` lacks it)."""
        extra = f" AND ({where})" if where else ""
        con = self.duckdb()
        columns = {r[0] for r in con.execute(f'DESCRIBE "{name}"').fetchall()}
        if name not in LAYERED or REPLACED_BY not in columns:
            df = self.read(name, where="run_id = ?" + extra, params=[run_id, *params])
            return df.drop(columns=["run_id"])
        got = con.execute(
            "SELECT created_at, diagnostics FROM runs WHERE run_id = ?", [run_id]
        ).fetchall()
        stored = bool(got) and name in json.loads(got[0][1]).get("layers", [name])
        upto = "SELECT run_id FROM runs WHERE created_at < ? OR (created_at = ? AND run_id <= ?)"
        sql = (
            f'SELECT * EXCLUDE (run_id, {REPLACED_BY}) FROM "{name}" WHERE run_id IN ({upto}) '
            f"AND ({REPLACED_BY} IS NULL OR {REPLACED_BY} NOT IN ({upto})){extra}"
            + ("" if stored else " AND false")
        )
        at = got[0][0] if got else None
        return con.execute(sql, [at, at, run_id, at, at, run_id, *params]).df()
