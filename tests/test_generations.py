"""One writer, many readers: committed generations, the writer lock, crashes and old folders."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from brightspots import generations
from brightspots.workspace import Workspace, WorkspaceBusy, WorkspaceError, init_workspace

PY = sys.executable


def _put(ws: Workspace, rep_id: str) -> None:
    with ws.transaction() as con:
        con.execute("INSERT INTO reps (rep_id, name) VALUES (?, ?)", [rep_id, rep_id])


def _reps(ws: Workspace) -> list[str]:
    return [r[0] for r in ws.duckdb().execute("SELECT rep_id FROM reps ORDER BY 1").fetchall()]


def _files(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "db").iterdir())


def _spawn(code: str, *args: str) -> subprocess.Popen:
    """A second process (a real one: DuckDB and flock locks are per process/open file)."""
    return subprocess.Popen(
        [PY, "-c", textwrap.dedent(code), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_line(proc: subprocess.Popen, expected: str) -> None:
    line = proc.stdout.readline().strip()
    assert line == expected, (line, proc.stderr.read() if proc.poll() is not None else "")


def test_init_commits_generation_one_and_each_write_the_next(tmp_path):
    ws = init_workspace(tmp_path / "ws")
    root = ws.root
    assert (root / "CURRENT").read_text() == "000001\n"
    assert _files(root) == ["000001.duckdb"]
    _put(ws, "R1")
    _put(ws, "R2")
    assert (root / "CURRENT").read_text() == "000003\n"
    assert _files(root) == ["000002.duckdb", "000003.duckdb"]  # the last two are kept
    assert _reps(Workspace.open(root)) == ["R1", "R2"]
    assert not list(root.glob("db/*.tmp*")) and not list(root.glob("db/*.wal"))


def test_a_failed_write_leaves_the_committed_generation_untouched(tmp_path):
    ws = init_workspace(tmp_path / "ws")
    _put(ws, "R1")
    with pytest.raises(RuntimeError), ws.writing():
        _put(ws, "R2")  # committed inside the draft ...
        raise RuntimeError("boom")  # ... but the write as a whole fails
    assert (ws.root / "CURRENT").read_text() == "000002\n"
    assert _reps(Workspace.open(ws.root)) == ["R1"]
    assert not list(ws.root.glob("db/*.tmp*"))


def test_a_write_that_changes_nothing_commits_nothing(tmp_path):
    ws = init_workspace(tmp_path / "ws")
    with ws.writing():
        assert ws.writing_now and ws.generation == "000002"
        _reps(ws)
    assert (ws.root / "CURRENT").read_text() == "000001\n"
    assert _files(ws.root) == ["000001.duckdb"]


def test_a_reader_keeps_its_generation_and_a_new_reader_sees_the_commit(tmp_path):
    ws = init_workspace(tmp_path / "ws")
    _put(ws, "R1")
    reader = Workspace.open(ws.root)
    assert _reps(reader) == ["R1"] and reader.generation == "000002"
    for rep in ("R2", "R3", "R4"):  # enough commits that the reader's file is pruned
        _put(ws, rep)
    assert not (ws.root / "db" / "000002.duckdb").exists()
    assert _reps(reader) == ["R1"]  # an unlinked file stays readable while open
    assert _reps(Workspace.open(ws.root)) == ["R1", "R2", "R3", "R4"]
    reader.close()
    assert reader.generation == "000005"  # reopened: the newest commit


def test_a_reader_cannot_write_outside_a_write(tmp_path):
    ws = init_workspace(tmp_path / "ws")
    with pytest.raises(duckdb.InvalidInputException, match="read-only"):
        ws.duckdb().execute("INSERT INTO reps (rep_id) VALUES ('R1')")


def test_a_second_writer_is_told_who_writes_and_can_wait(tmp_path):
    root = init_workspace(tmp_path / "ws").root
    holder = _spawn(
        """
        import sys, time
        from brightspots.workspace import Workspace
        ws = Workspace.open(sys.argv[1])
        with ws.writing():
            with ws.transaction() as con:
                con.execute("INSERT INTO reps (rep_id) VALUES ('HELD')")
            print("writing", flush=True)
            time.sleep(float(sys.argv[2]))
        """,
        str(root),
        "1.5",
    )
    try:
        _wait_line(holder, "writing")
        with pytest.raises(WorkspaceBusy) as e, Workspace.open(root).writing():
            pass
        message = str(e.value)
        assert f"PID {holder.pid}" in message and "--wait" in message
        assert "keep the last committed data" in message
        assert _reps(Workspace.open(root)) == []  # the holder's write is not committed yet
        started = time.monotonic()
        ws = Workspace.open(root)
        with ws.writing(wait=True):
            waited = time.monotonic() - started
            _put(ws, "AFTER")
        assert waited > 0.3
        assert _reps(Workspace.open(root)) == ["AFTER", "HELD"]
    finally:
        holder.wait(timeout=30)
    assert holder.returncode == 0, holder.stderr.read()


def test_a_killed_writer_leaves_the_commit_and_the_next_writer_cleans_up(tmp_path):
    root = init_workspace(tmp_path / "ws").root
    victim = _spawn(
        """
        import os, sys
        from brightspots.workspace import Workspace
        ws = Workspace.open(sys.argv[1])
        with ws.writing():
            with ws.transaction() as con:
                con.execute("INSERT INTO reps (rep_id) VALUES ('LOST')")
            print("killed", flush=True)
            os._exit(9)
        """,
        str(root),
    )
    _wait_line(victim, "killed")
    victim.wait(timeout=30)
    assert list(root.glob("db/*.tmp*"))  # what the kill left behind
    assert (root / "CURRENT").read_text() == "000001\n"
    assert _reps(Workspace.open(root)) == []
    ws = Workspace.open(root)
    _put(ws, "R1")  # the lock was released by the kernel; the stale draft is removed
    assert _reps(Workspace.open(root)) == ["R1"]
    assert not list(root.glob("db/*.tmp*"))


def test_a_reader_process_never_blocks_the_writer_and_keeps_its_generation(tmp_path):
    ws = init_workspace(tmp_path / "ws")
    _put(ws, "R1")
    go = tmp_path / "go"
    reader = _spawn(
        """
        import sys, time
        from pathlib import Path
        from brightspots.workspace import Workspace
        ws = Workspace.open(sys.argv[1])
        con = ws.duckdb()
        print(con.execute("SELECT count(*) FROM reps").fetchall()[0][0], flush=True)
        while not Path(sys.argv[2]).exists():
            time.sleep(0.02)
        print(con.execute("SELECT count(*) FROM reps").fetchall()[0][0], flush=True)
        """,
        str(ws.root),
        str(go),
    )
    try:
        _wait_line(reader, "1")
        _put(ws, "R2")  # the reader holds generation 2 open (a shared lock) meanwhile
        _put(ws, "R3")
        _put(ws, "R4")  # ... and generation 2 is pruned under it
        assert _reps(Workspace.open(ws.root)) == ["R1", "R2", "R3", "R4"]
        go.touch()
        _wait_line(reader, "1")  # still its own consistent generation
    finally:
        reader.kill()
        reader.wait(timeout=30)


def test_a_reader_during_a_long_write_sees_the_last_commit(tmp_path):
    ws = init_workspace(tmp_path / "ws")
    _put(ws, "R1")
    with ws.writing():
        _put(ws, "R2")
        out = subprocess.run(
            [
                PY,
                "-c",
                "import sys; from brightspots.workspace import Workspace; "
                "ws = Workspace.open(sys.argv[1]); "
                "print(ws.generation, ws.duckdb().execute('SELECT count(*) FROM reps')"
                ".fetchall()[0][0])",
                str(ws.root),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        assert out.stdout.split() == ["000002", "1"]
    assert _reps(Workspace.open(ws.root)) == ["R1", "R2"]


def test_a_write_after_someone_else_committed_is_refused_not_merged(tmp_path):
    ws = init_workspace(tmp_path / "ws")
    stale = Workspace.open(ws.root)
    assert _reps(stale) == []  # read generation 1
    _put(ws, "R1")  # another writer commits generation 2
    with pytest.raises(WorkspaceError, match="changed while this command read it"):
        _put(stale, "R2")
    assert _reps(Workspace.open(ws.root)) == ["R1"]
    _put(Workspace.open(ws.root), "R2")  # a fresh start works


def test_a_one_file_workspace_of_an_earlier_version_is_read_then_migrated(tmp_path):
    root = tmp_path / "old"
    init_workspace(root)
    # rebuild the earlier layout: one workspace.duckdb, here with a write-ahead log left by a
    # process that ended without closing it, and without a table a later version added
    (root / "db" / "000001.duckdb").rename(root / "workspace.duckdb")
    (root / "CURRENT").unlink()
    (root / "db").rmdir()
    subprocess.run(
        [
            PY,
            "-c",
            "import os, sys, duckdb; con = duckdb.connect(sys.argv[1]); "
            "con.execute('DROP TABLE buyer_events'); con.execute('CHECKPOINT'); "
            "con.execute(\"SET checkpoint_threshold = '1GB'\"); "
            "con.execute(\"INSERT INTO reps (rep_id) VALUES ('OLD')\"); os._exit(0)",
            str(root / "workspace.duckdb"),
        ],
        check=True,
    )
    assert (root / "workspace.duckdb.wal").exists()
    reader = Workspace.open(root)
    assert reader.generation == "legacy"
    assert _reps(reader) == ["OLD"]  # the log is replayed by a read-only open
    assert reader.row_count("buyer_events") == 0  # empty, not an error
    ws = Workspace.open(root)
    _put(ws, "NEW")  # while the reader still holds the old file open
    assert _reps(reader) == ["OLD"]
    reader.close()
    assert not (root / "workspace.duckdb").exists()
    assert not (root / "workspace.duckdb.wal").exists()
    assert (root / "CURRENT").read_text() == "000001\n"
    assert _reps(Workspace.open(root)) == ["NEW", "OLD"]
    assert Workspace.open(root).row_count("buyer_events") == 0


def test_a_file_renamed_by_a_writer_killed_before_it_switched_current_is_removed(tmp_path):
    ws = init_workspace(tmp_path / "ws")
    _put(ws, "R1")
    # a writer renamed generation 3 into place, then died before writing CURRENT
    orphan = ws.root / "db" / "000003.duckdb"
    orphan.write_bytes((ws.root / "db" / "000002.duckdb").read_bytes())
    assert generations.writer(ws.root) is None
    _put(ws, "R2")
    # the orphan was removed before the next number was chosen: it took no slot, and never
    # was a generation anyone read
    assert (ws.root / "CURRENT").read_text() == "000003\n"
    assert _files(ws.root) == ["000002.duckdb", "000003.duckdb"]
    assert _reps(Workspace.open(ws.root)) == ["R1", "R2"]


def test_a_generation_held_by_a_foreign_writer_is_explained(tmp_path):
    ws = init_workspace(tmp_path / "ws")
    path = generations.current(ws.root)[1]
    holder = _spawn(
        """
        import sys, duckdb, time
        con = duckdb.connect(sys.argv[1])
        print("open", flush=True)
        time.sleep(30)
        """,
        str(path),
    )
    try:
        _wait_line(holder, "open")
        with pytest.raises(WorkspaceError) as e:
            Workspace.open(ws.root).duckdb()
        assert f"PID {holder.pid}" in str(e.value) and "duckdb -readonly" in str(e.value)
    finally:
        holder.kill()
        holder.wait(timeout=30)


def test_the_cli_says_what_to_do_when_the_workspace_is_busy(tmp_path, small_org):
    ws = init_workspace(tmp_path / "ws")
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    with ws.writing():
        r = subprocess.run(
            [PY, "-m", "brightspots.cli", "import", str(small_org), "-w", str(ws.root)],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
    assert r.returncode == 1, r.stderr
    assert "already writing this workspace" in r.stderr and f"PID {os.getpid()}" in r.stderr
    assert "Traceback" not in r.stderr
    assert (ws.root / "CURRENT").read_text() == "000001\n"
    r = subprocess.run(
        [PY, "-m", "brightspots.cli", "import", str(small_org), "-w", str(ws.root), "--wait"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert Workspace.open(ws.root).row_count("reps") == 40
