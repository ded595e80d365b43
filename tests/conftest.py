"""Shared fixtures: small synthetic organisations and imported workspaces, engine gates."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

# property tests are reproducible: the same examples on every run and in CI
settings.register_profile("brightspots", derandomize=True, print_blob=True)
settings.load_profile("brightspots")

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


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
    import importlib.util

    require("Chromium", CHROMIUM.exists(), "apt-get install chromium")
    require(
        "the playwright package",
        importlib.util.find_spec("playwright") is not None,
        "pip install playwright",
    )


def require_spark() -> None:
    try:
        import pyspark  # noqa: F401

        has_pyspark = True
    except ImportError:
        has_pyspark = False
    require("pyspark", has_pyspark, "pip install 'brightspots[spark]'")
    require("Java", shutil.which("java") is not None, "apt-get install default-jre-headless")


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
