"""App state (users, their teams, sessions, login attempts, stories and their reviews, practice
experiments) in SQLite, beside the workspace.

The analysis data lives in DuckDB, which one process writes at a time; app state has many
writers (every login, every form), so it lives in ``app.sqlite3`` in the workspace folder:
WAL journal (readers never block the writer), ``synchronous = NORMAL``, foreign keys on, a
busy timeout, and every write in a ``BEGIN IMMEDIATE`` transaction (a transaction that reads
then writes, started with a plain ``BEGIN``, can fail with "database is locked" however long
the timeout, when another process writes in between). One connection per call: sqlite3
connections are not shared across threads.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from brightspots.errors import BrightspotsError
from brightspots.workspace import CONFIG_FILE

FILE = "app.sqlite3"
VERSION = 5
BUSY_MS = 5000

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS users (
        user_id INTEGER PRIMARY KEY,
        email TEXT NOT NULL UNIQUE COLLATE NOCASE,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('rep', 'manager', 'admin')),
        rep_id TEXT,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
        disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
        CHECK (role <> 'rep' OR rep_id IS NOT NULL)
    )""",
    """CREATE TABLE IF NOT EXISTS user_teams (
        user_id INTEGER NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
        team_id TEXT NOT NULL,
        PRIMARY KEY (user_id, team_id)
    )""",
    """CREATE TABLE IF NOT EXISTS sessions (
        token_hash TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
        csrf TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS login_attempts (
        key TEXT NOT NULL,
        at TEXT NOT NULL,
        ok INTEGER NOT NULL CHECK (ok IN (0, 1))
    )""",
    """CREATE INDEX IF NOT EXISTS login_attempts_key ON login_attempts (key, at)""",
    # version 2: stories written in the app, and the review of every story before it is shared
    """CREATE TABLE IF NOT EXISTS stories (
        story_id TEXT PRIMARY KEY,
        rep_id TEXT NOT NULL,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at TEXT NOT NULL,
        author_user_id INTEGER REFERENCES users (user_id) ON DELETE SET NULL
    )""",
    """CREATE TABLE IF NOT EXISTS story_reviews (
        story_id TEXT PRIMARY KEY,
        digest TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('approved', 'declined')),
        reviewer_user_id INTEGER REFERENCES users (user_id) ON DELETE SET NULL,
        reviewed_at TEXT NOT NULL
    )""",
    # version 4: practice experiments (``experiments.store``): the definition, each team's start
    # (one row with team_id '' holds a personal experiment's start) and each wave's frozen plan;
    # version 5: the experiment's planned end (``planned_end``) beside the end a stop gives it
    """CREATE TABLE IF NOT EXISTS experiments (
        experiment_id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        kind TEXT NOT NULL CHECK (kind IN ('team', 'personal')),
        practice_id TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('win_rate', 'impact_rate', 'response_hours')),
        horizon_days INTEGER NOT NULL,
        comparison TEXT NOT NULL CHECK (comparison IN ('similar', 'all')),
        rep_id TEXT,
        end_date TEXT,
        planned_end TEXT,
        status TEXT NOT NULL CHECK (status IN ('active', 'stopped')),
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_by_user_id INTEGER REFERENCES users (user_id) ON DELETE SET NULL,
        stopped_at TEXT,
        stopped_by TEXT,
        CHECK (kind <> 'personal' OR rep_id IS NOT NULL)
    )""",
    """CREATE TABLE IF NOT EXISTS experiment_waves (
        experiment_id TEXT NOT NULL REFERENCES experiments ON DELETE CASCADE,
        wave INTEGER NOT NULL,
        team_id TEXT NOT NULL,
        start_date TEXT NOT NULL,
        added_at TEXT NOT NULL,
        added_by TEXT NOT NULL,
        PRIMARY KEY (experiment_id, team_id)
    )""",
    """CREATE TABLE IF NOT EXISTS experiment_plans (
        experiment_id TEXT NOT NULL REFERENCES experiments ON DELETE CASCADE,
        wave INTEGER NOT NULL,
        made_at TEXT NOT NULL,
        data_as_of TEXT,
        comparison_teams TEXT NOT NULL,
        plan TEXT NOT NULL,
        PRIMARY KEY (experiment_id, wave)
    )""",
)
#: version 3: the account, deal and tags a story written in the app names (added to a version 2
#: file by ``ALTER TABLE``, so its stories and reviews stay as they are)
STORY_COLUMNS_V3 = ("account_id", "opportunity_id", "tags")


class AppStateError(BrightspotsError):
    """The app-state file cannot be used (a newer version, not a database, ...)."""


class AppState:
    """The app-state database of one workspace folder."""

    def __init__(self, root: str | Path) -> None:
        root = Path(root)
        if not (root / CONFIG_FILE).is_file():
            raise AppStateError(
                f"{root} is not a workspace (no {CONFIG_FILE}); create one with "
                f"`brightspots init {root}`"
            )
        self.path = root / FILE
        self._ready = False

    def connect(self) -> sqlite3.Connection:
        """A new connection in autocommit mode (transactions are explicit), schema ensured."""
        try:
            con = sqlite3.connect(self.path, timeout=BUSY_MS / 1000, isolation_level=None)
            con.row_factory = sqlite3.Row
            con.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
            con.execute("PRAGMA foreign_keys = ON")
            con.execute("PRAGMA synchronous = NORMAL")
            if not self._ready:
                mode = con.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise AppStateError(f"{self.path}: cannot use the WAL journal ({mode})")
                self._migrate(con)
                self._ready = True
        except sqlite3.DatabaseError as e:
            raise AppStateError(f"{self.path}: {e}") from None
        return con

    def _migrate(self, con: sqlite3.Connection) -> None:
        """The schema made or brought up to ``VERSION``. A current file is only read (no write
        lock: a reader never waits for a writer); a new, older or newer one is checked and
        migrated under ``BEGIN IMMEDIATE``."""
        try:
            row = con.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        except sqlite3.OperationalError:  # no meta table: a new file
            row = None
        if row is not None and row[0] == str(VERSION):
            return
        con.execute("BEGIN IMMEDIATE")
        try:
            for ddl in _SCHEMA:
                con.execute(ddl)
            row = con.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
            if row is not None and int(row[0]) > VERSION:
                raise AppStateError(
                    f"{self.path} was written by a newer brightspots (app state version "
                    f"{row[0]}, this one reads {VERSION}); upgrade brightspots"
                )
            have = {r[1] for r in con.execute("PRAGMA table_info(stories)").fetchall()}
            for column in STORY_COLUMNS_V3:
                if column not in have:
                    con.execute(f"ALTER TABLE stories ADD COLUMN {column} TEXT")
            have = {r[1] for r in con.execute("PRAGMA table_info(experiments)").fetchall()}
            if "planned_end" not in have:
                # version 5: the end an experiment was made with, kept apart from the end a
                # stop gives it; an active experiment's end is still the one it was made with
                # (a stopped one's is unknown)
                con.execute("ALTER TABLE experiments ADD COLUMN planned_end TEXT")
                con.execute("UPDATE experiments SET planned_end = end_date WHERE status = 'active'")
            if row is None or int(row[0]) < VERSION:
                con.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", [str(VERSION)])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        con = self.connect()
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: all or nothing, taken at once (BEGIN IMMEDIATE)."""
        con = self.connect()
        try:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        finally:
            con.close()
