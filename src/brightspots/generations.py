"""Generations of a workspace's database: one writer, many readers, no half-written state.

A DuckDB file is open either to one read-write process or to any number of read-only ones, and
a writer cannot even start while a reader holds the file. So the store is a series of immutable
files, ``db/000042.duckdb``, and a pointer file ``CURRENT`` naming the committed one:

- a **reader** (the web app, ``runs``, ``report``, ``me``) opens the current generation
  read-only and keeps it for as long as it likes: it is never written again;
- the **writer** (``import``, ``analyze``, recording a meeting) takes ``writer.lock``, copies the
  current generation to ``db/000043.duckdb.tmp``, works on the copy, and on success checkpoints
  it, renames it to ``db/000043.duckdb`` and switches ``CURRENT`` to it (an atomic rename).
  On an error, or a kill, the copy is dropped and ``CURRENT`` still names the last commit.

The last ``KEEP`` generations stay on disk so a reader that has just read ``CURRENT`` finds its
file. A folder made by an earlier version (one ``workspace.duckdb``) is read as it is and
becomes generation 1 the first time something writes. POSIX file locks (``flock``) and renames
are assumed; the folder must be on a local disk (DuckDB and SQLite both rely on file locks).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from brightspots.errors import BrightspotsError
from brightspots.files import fsync_dir, write_atomic

DB_DIR = "db"
POINTER = "CURRENT"
LOCK = "writer.lock"
LEGACY = "workspace.duckdb"  # the single file of workspaces made before generations
KEEP = 2
_NAME = re.compile(r"^(\d{6,})\.duckdb$")


class WorkspaceError(BrightspotsError):
    """The workspace is missing, locked or misconfigured."""


class WorkspaceBusy(WorkspaceError):
    """Another command is writing the workspace."""


def _number(name: str) -> int:
    return int(name)


def _name(number: int) -> str:
    return f"{number:06d}"


def current_name(root: Path) -> str | None:
    """The committed generation's name ("000042"), "legacy" for a one-file workspace, or None."""
    pointer = root / POINTER
    if pointer.is_file():
        name = pointer.read_text().strip()
        if not re.fullmatch(r"\d{6,}", name):
            raise WorkspaceError(f"{pointer}: expected a generation number, found {name[:40]!r}")
        return name
    if (root / LEGACY).is_file():
        return "legacy"
    return None


def path_of(root: Path, name: str) -> Path:
    return root / LEGACY if name == "legacy" else root / DB_DIR / f"{name}.duckdb"


def current(root: Path) -> tuple[str, Path]:
    """The committed generation: its name and file."""
    name = current_name(root)
    if name is None:
        raise WorkspaceError(
            f"{root} has no database (no {POINTER} and no {LEGACY}); "
            f"create one with `brightspots init {root}`"
        )
    path = path_of(root, name)
    if not path.is_file():
        raise WorkspaceError(f"{root / POINTER} names generation {name}, but {path} is missing")
    return name, path


def _numbers(root: Path) -> list[int]:
    folder = root / DB_DIR
    if not folder.is_dir():
        return []
    return sorted(_number(m.group(1)) for p in folder.iterdir() if (m := _NAME.match(p.name)))


def connect_read_only(root: Path) -> tuple[str, duckdb.DuckDBPyConnection]:
    """A read-only connection to the committed generation (never blocks a writer)."""
    for attempt in range(3):
        name, path = current(root)
        try:
            return name, duckdb.connect(str(path), read_only=True)
        except duckdb.IOException as e:
            # pruned between reading CURRENT and opening it: two commits meanwhile; read again
            if "does not exist" in str(e) and attempt < 2:
                continue
            raise WorkspaceError(_read_error(path, e)) from None
    raise AssertionError("unreachable")


def _read_error(path: Path, e: Exception) -> str:
    text = str(e)
    held = re.search(r"Conflicting lock is held in (\S+) \(PID (\d+)\)", text)
    if held and path.name == LEGACY:
        return (
            f"cannot read {path}: PID {held.group(2)} ({held.group(1)}) holds it open for "
            "writing. Wait for it to finish (an older brightspots writes this file in place), "
            "then try again."
        )
    if held:
        return (
            f"cannot read {path}: PID {held.group(2)} ({held.group(1)}) holds it open for "
            "writing. brightspots never writes a committed generation; close that program, and "
            "open workspace files with `duckdb -readonly`."
        )
    return f"cannot read {path}: {text}"


@dataclass
class Holder:
    pid: int
    command: str
    since: str


def _holder(lock: Path) -> Holder | None:
    try:
        pid, since, command = lock.read_text().split("\t", 2)
        return Holder(int(pid), command.strip(), since)
    except (OSError, ValueError):
        return None


def _busy_message(root: Path, holder: Holder | None) -> str:
    who = (
        f"`{holder.command}` (PID {holder.pid}, since {holder.since})"
        if holder
        else "another command"
    )
    return (
        f"cannot write {root}: {who} is already writing this workspace. Readers, such as the web "
        "app, keep the last committed data meanwhile. Wait for it to finish, or run again with "
        "--wait to start as soon as it has."
    )


@contextmanager
def writer_lock(root: Path, *, wait: bool = False, command: str = "") -> Iterator[None]:
    """Hold the workspace's one writer lock (released by the kernel on any exit, even a kill).

    Not re-entrant, even inside one process: a second writer gets ``WorkspaceBusy`` at once, or,
    with ``wait``, blocks until the first is done."""
    import fcntl

    lock = root / LOCK
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise WorkspaceBusy(_busy_message(root, _holder(lock))) from None
        words = [a for a in sys.argv[1:] if not a.startswith("-")]
        what = command or " ".join(["brightspots", *words[:1]])
        since = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\t{since}\t{what}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def writer(root: Path) -> Holder | None:
    """Who writes the workspace now (None when nobody does), from what the writer wrote into
    the lock file. The lock itself is not touched: probing it could make a writer that starts
    at that instant fail."""
    holder = _holder(root / LOCK)
    if holder is None:
        return None
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return None  # killed without clearing the file
    except PermissionError:
        pass  # alive, someone else's
    return holder


@dataclass
class Draft:
    """The next generation, being written: a copy of the committed one (or a new file)."""

    root: Path
    name: str
    path: Path  # db/<name>.duckdb.tmp

    @property
    def final(self) -> Path:
        return path_of(self.root, self.name)


def _remove(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".wal")):
        try:
            p.unlink()
        except FileNotFoundError:
            pass


def begin(root: Path) -> Draft:
    """Start the next generation (the caller holds the writer lock): drop what a killed writer
    left, and copy the committed generation to a temporary file."""
    folder = root / DB_DIR
    folder.mkdir(exist_ok=True)
    for stale in folder.glob("*.tmp*"):
        _remove(stale)
    name = current_name(root)
    if name is not None and name != "legacy":
        for orphan in _numbers(root):  # renamed by a writer killed before it switched CURRENT
            if orphan > _number(name):
                _remove(path_of(root, _name(orphan)))
    nxt = _name(max([*_numbers(root), 0]) + 1)
    draft = Draft(root, nxt, folder / f"{nxt}.duckdb.tmp")
    if name is None:
        return draft  # a new, empty database
    source = path_of(root, name)
    shutil.copyfile(source, draft.path)
    wal = source.with_name(source.name + ".wal")
    if name == "legacy" and wal.exists():  # a one-file workspace's log: replayed in the copy
        shutil.copyfile(wal, draft.path.with_name(draft.path.name + ".wal"))
    return draft


def commit(draft: Draft) -> None:
    """Make the draft (checkpointed and closed by the caller) the committed generation."""
    wal = draft.path.with_name(draft.path.name + ".wal")
    if wal.exists():
        raise WorkspaceError(f"{draft.path} still has a write-ahead log; it was not checkpointed")
    with open(draft.path, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(draft.path, draft.final)
    fsync_dir(draft.final.parent)
    write_atomic(draft.root / POINTER, draft.name + "\n")
    legacy = draft.root / LEGACY
    if legacy.exists():
        _remove(legacy)  # now generation 1; readers that hold it keep reading their copy
    prune(draft.root)


def discard(draft: Draft) -> None:
    _remove(draft.path)


def prune(root: Path, keep: int = KEEP) -> None:
    """Delete all but the newest ``keep`` committed generations. A process that still has an
    older one open keeps reading it (POSIX keeps an unlinked file until its last close)."""
    for number in _numbers(root)[:-keep]:
        try:
            _remove(path_of(root, _name(number)))
        except OSError:
            pass  # retried at the next commit
