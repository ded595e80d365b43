"""Shared fixtures: small synthetic organisations and imported workspaces, engine gates."""

from __future__ import annotations

import functools
import glob
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import settings

# property tests are reproducible: the same examples on every run and in CI
settings.register_profile("brightspots", derandomize=True, print_blob=True)
settings.load_profile("brightspots")

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def load_sibling(name: str) -> ModuleType:
    """The test module ``name`` of this folder, loaded by path as a fresh module (the tests
    folder is not a package): for tests that reuse another file's hand-made data."""
    spec = importlib.util.spec_from_file_location(f"_{name}", Path(__file__).with_name(name))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def require(what: str, available: bool, how: str) -> None:
    """Skip locally when a system dependency is missing, but fail loudly in CI."""
    if available:
        return
    message = f"{what} is not available: {how}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: the CI script must install it)", pytrace=False)
    pytest.skip(message)


#: the Debian Chromium the browser tests drive through Playwright, and how it is started
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_browser() -> None:
    """Chromium and Playwright, or a skip (a failure in CI)."""
    require("Chromium", CHROMIUM.exists(), "apt-get install chromium")
    require(
        "the playwright package",
        importlib.util.find_spec("playwright") is not None,
        "pip install playwright",
    )


def require_spark():
    """pyspark and Java, or a skip (a failure in CI); then the test session's one Spark driver
    (``spark_session``), which every engine "spark" workspace of the session reuses."""
    try:
        import pyspark  # noqa: F401

        has_pyspark = True
    except ImportError:
        has_pyspark = False
    require("pyspark", has_pyspark, "pip install 'brightspots[spark]'")
    require("Java", shutil.which("java") is not None, "apt-get install default-jre-headless")
    return spark_session()


#: the test driver's JVM: the Spark tests run a few hundred small queries in a JVM that lives a
#: few minutes, where the C2 compiler spends more CPU compiling Catalyst than its code saves (C1
#: alone: about a third less JVM CPU for an analysis of ``small_ws``); C1-compiled code needs a
#: code cache above C1's 48 MB default, or the compiler stops and the rest runs interpreted
SPARK_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=256m -XX:+UseSerialGC"


@functools.cache
def spark_session():
    """The session's Spark, started once with the settings a workspace's engine "spark" asks
    for (its default ``[spark]`` master, driver memory and shuffle partitions, UTC, no UI) and
    the test JVM options above; ``Workspace``'s own ``getOrCreate`` then reuses it and sets its
    SQL settings as it does on a fresh one. The first test to start Spark no longer decides the
    master for the others (local[1] before, when test_care_responses ran first)."""
    from pyspark.sql import SparkSession

    from brightspots.workspace import DEFAULT_CONFIG

    scfg = DEFAULT_CONFIG["spark"]
    session = (
        SparkSession.builder.appName("brightspots-tests")
        .master(scfg["master"])
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", scfg["driver_memory"])
        .config("spark.driver.extraJavaOptions", SPARK_JAVA_OPTIONS)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(scfg["shuffle_partitions"]))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def _initdb() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return found[0] if found else shutil.which("initdb")


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server of the machine's installation, started in a temporary folder for the
    session (trust authentication, port chosen free): its URL. Tests create their own tables, or
    their own databases when they must not meet another test's tables."""
    initdb = _initdb()
    require("PostgreSQL", initdb is not None, "apt-get install postgresql")
    try:
        import psycopg
    except ImportError:
        psycopg = None
    require("psycopg", psycopg is not None, "pip install 'brightspots[warehouse]'")
    assert initdb is not None and psycopg is not None
    bindir = Path(initdb).parent
    tmp = Path(tempfile.mkdtemp(prefix="bs-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root: its own user runs it
        pw = pwd.getpwnam("postgres")
        os.chown(tmp, pw.pw_uid, pw.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = tmp / "data"
    initdb_args = ["-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"]
    subprocess.run([*run_as, initdb, *initdb_args], check=True, capture_output=True)
    server = subprocess.Popen(
        [
            *run_as,
            str(bindir / "postgres"),
            "-D",
            str(data),
            "-p",
            str(port),
            "-k",
            str(tmp),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    try:
        for _ in range(400):
            try:
                psycopg.connect(url).close()
                break
            except psycopg.OperationalError:
                if server.poll() is not None:
                    raise RuntimeError(f"PostgreSQL ({initdb}) did not start") from None
                time.sleep(0.05)
        else:
            raise RuntimeError(f"PostgreSQL ({initdb}) did not accept connections in 20 s")
        yield url
    finally:
        # an immediate stop: no checkpoint, no waiting for clients (the data is thrown away)
        stop = [*run_as, str(bindir / "pg_ctl"), "stop", "-D", str(data), "-m", "immediate"]
        if subprocess.run(stop, capture_output=True).returncode != 0:
            server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def small_org(tmp_path_factory) -> Path:
    """A 40-rep, 12-month synthetic organisation written as CSV (clean)."""
    from brightspots import synth

    out = tmp_path_factory.mktemp("small_org")
    synth.synthesize(synth.SynthConfig(reps=40, months=12, seed=11), out)
    return out


@pytest.fixture(scope="session")
def small_ws(tmp_path_factory, small_org) -> Path:
    """A workspace with ``small_org`` imported and analysed once (read-only for tests)."""
    from brightspots.analysis import analyze
    from brightspots.ingest import import_path
    from brightspots.workspace import init_workspace

    root = tmp_path_factory.mktemp("small_ws") / "ws"
    with init_workspace(root) as ws:
        import_path(ws, small_org)
        analyze(ws)
    return root


# ------------------------------------------------------------------ work across processes


_POOL = None  # the session's worker processes, started on first use (see in_processes)


def in_processes(fn, *iterables) -> list:
    """``list(map(fn, *iterables))`` in worker processes, one per core (at most 4): for
    independent, CPU-bound cases of one test (e.g. one synthetic org per seed) that the single
    pytest process would run one after another. ``fn`` and its arguments must pickle (a module
    function, not a test's closure). The workers are spawned (no forked DuckDB or thread state)
    once per session, with OpenBLAS on one thread each, and run each case under the caller's
    warning filters, so a warning there fails the test as it would here."""
    import multiprocessing
    import warnings
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    global _POOL
    if _POOL is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        _POOL = ProcessPoolExecutor(
            max(1, min(cores or 1, 4)),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_one_blas_thread,
        )
    args = [list(it) for it in iterables]
    n = len(args[0]) if args else 0
    filters = [list(warnings.filters)] * n
    try:
        return list(_POOL.map(_warned, filters, [fn] * n, *args))
    except BrokenProcessPool:
        _POOL = None  # a worker died: the next call starts new ones
        raise


def _one_blas_thread() -> None:
    """Each worker's OpenBLAS on one thread for good: the workers already take a core each, and
    OpenBLAS's threads of one product wait for each other's core (see ``brightspots.blas``; the
    key account plan's fits, outside ``one_blas_thread``, took several times as long with two
    threads in each of two workers on two cores)."""
    from brightspots import blas

    for _, put in blas._openblas():
        put(1)


def _warned(filters: list, fn, *args):
    """``fn(*args)`` under the caller's warning filters."""
    import warnings

    with warnings.catch_warnings():  # entering resets the registries: the new list applies
        warnings.filters[:] = filters
        return fn(*args)


def pytest_sessionfinish(session, exitstatus) -> None:
    if _POOL is not None:
        _POOL.shutdown(cancel_futures=True)


# ------------------------------------------------------------- default-size synthetic orgs

#: default-size orgs that test_detection (planted truth) and test_practice_recovery both read:
#: analysed once, with practices, for both
PRACTICE_SEEDS = (101, 202, 303)


@pytest.fixture(scope="session")
def default_orgs(tmp_path_factory):
    """``default_orgs({seed: practices, ...})``: ``evaluate.run_synthetic`` of default-size orgs
    (``SynthConfig(seed=seed)``: 200 reps, 18 months) loaded straight into their workspaces
    (``load="direct"``: the importer has tests of its own), analysed with or without practices;
    {seed: result}. Each org is analysed once per session (one analysed with practices serves
    a request without), those not done yet in parallel (``in_processes``). Returns copies, so a
    test may change what it gets."""
    import copy

    cache: dict = {}

    def get(wanted: dict[int, bool]) -> dict:
        todo = [
            (seed, practices)
            for seed, practices in wanted.items()
            if seed not in cache or (practices and cache[seed].practice_effects is None)
        ]
        todo.sort(key=lambda t: not t[1])  # the longer runs first: the workers end together
        if todo:
            folders = [tmp_path_factory.mktemp(f"default_org{seed}") for seed, _ in todo]
            seeds, practices = zip(*todo, strict=True)
            runs = in_processes(_default_org, folders, seeds, practices)
            cache.update(zip(seeds, runs, strict=True))
        return {seed: copy.deepcopy(cache[seed]) for seed in wanted}

    return get


def _default_org(folder: Path, seed: int, practices: bool):
    from brightspots import evaluate, synth

    config = synth.SynthConfig(seed=seed)
    return evaluate.run_synthetic(folder, config, practices=practices, load="direct")


# ----------------------------------------------------------------------------- the web app

WEB_PASSWORD = "correct horse battery staple"


def sign_in(c, email: str, password: str = WEB_PASSWORD):
    """Sign ``c`` (a TestClient of the web app) in through the login form."""
    import re

    form = c.get("/login")
    token = re.search(r'name="token" value="([^"]+)"', form.text).group(1)
    return c.post(
        "/login", data={"email": email, "password": password, "token": token, "next": "/"}
    )


@pytest.fixture(scope="module")
def app(web_ws):
    """The web app over ``web_ws`` (one per test module)."""
    from brightspots.web.app import create_app

    return create_app(web_ws.root)


@pytest.fixture
def as_(app):
    """as_(email) -> a signed-in client (each its own cookie jar)."""
    from fastapi.testclient import TestClient

    clients = []

    def make(email: str):
        c = TestClient(app, follow_redirects=False)
        clients.append(c)
        assert sign_in(c, email).status_code == 303
        return c

    yield make
    for c in clients:
        c.close()


@dataclass(frozen=True)
class WebOrg:
    """A copy of ``small_ws`` with accounts for every role (see ``web_ws``)."""

    root: Path
    rep: str  # rep account e-mail; their rep id is rep_id, in team team_id
    rep_id: str
    team_id: str  # a team with a parent team, managed by ``manager``
    parent_id: str  # the team above team_id and other_team_id, managed by ``region_manager``
    manager: str
    other_manager: str  # manages other_team_id only (beside team_id, under parent_id)
    other_team_id: str
    other_rep_id: str  # a rep of other_team_id
    region_manager: str  # manages parent_id, so both teams under it (sub-teams)
    admin: str


@pytest.fixture(scope="session")
def web_ws(tmp_path_factory, small_ws) -> WebOrg:
    """``small_ws`` copied, with a rep, a manager of the rep's team, a manager of the team beside
    it, a manager of the team above both, and an admin; every password is ``WEB_PASSWORD``.
    Tests that change it work on their own copy."""
    import pandas as pd

    from brightspots.web.appstate import AppState
    from brightspots.web.users import add_user
    from brightspots.workspace import Workspace

    root = tmp_path_factory.mktemp("web_ws") / "ws"
    shutil.copytree(small_ws, root)
    with Workspace.open(root) as ws:
        reps, teams = ws.read("reps"), ws.read("teams")
    with_parent = teams[teams["parent_team_id"].notna()].sort_values("team_id")
    team = with_parent.iloc[0]
    parent = str(team["parent_team_id"])
    others = with_parent[with_parent["team_id"] != team["team_id"]]
    other_team = str(others.iloc[0]["team_id"])
    rep_id = str(reps[reps["team_id"] == team["team_id"]].sort_values("rep_id").iloc[0]["rep_id"])
    other_rep = reps[reps["team_id"] == other_team].sort_values("rep_id").iloc[0]["rep_id"]
    assert pd.notna(other_rep)
    state = AppState(root)
    add_user(state, "rep@test.example", "rep", WEB_PASSWORD, rep_id=rep_id)
    add_user(state, "manager@test.example", "manager", WEB_PASSWORD, teams=[str(team["team_id"])])
    add_user(state, "other@test.example", "manager", WEB_PASSWORD, teams=[other_team])
    add_user(state, "region@test.example", "manager", WEB_PASSWORD, teams=[parent])
    add_user(state, "admin@test.example", "admin", WEB_PASSWORD)
    return WebOrg(
        root=root,
        rep="rep@test.example",
        rep_id=rep_id,
        team_id=str(team["team_id"]),
        parent_id=parent,
        manager="manager@test.example",
        other_manager="other@test.example",
        other_team_id=other_team,
        other_rep_id=str(other_rep),
        region_manager="region@test.example",
        admin="admin@test.example",
    )


@contextmanager
def live_server(root: Path):
    """The web app of ``root`` served by uvicorn on a free local port, in a thread: its URL."""
    import socket
    import threading
    import time

    import uvicorn

    from brightspots.web.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(create_app(root), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the web app did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
