"""The one gate a story passes before anyone but its author and their managers sees it (a brief,
the report, the story library): ``shared``.

``[stories] approval`` in brightspots.toml:

* ``"web"``: a story is shared once a manager of its author approved it in the web app (the
  review holds for the text approved, see ``library``);
* ``"none"``: every story is shared unless declined;
* ``"auto"`` (the default): ``"web"`` when the workspace's app state has at least one account
  (someone can review in the web app), else ``"none"``. Not the file alone: an experiment made
  from the command line writes app state too, and must not switch story approval on.

A story declined anywhere (in the web app, or ``stories.status = "declined"`` in the source
system) is never shared. ``stories.status = "approved"`` counts as an approval only with
``[stories] trust_imported_approval = true``: by default only the web app's reviewers approve.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import pandas as pd

from brightspots.errors import BrightspotsError
from brightspots.stories.library import app_state
from brightspots.workspace import Workspace

Mode = Literal["web", "none"]
APPROVALS = ("auto", "web", "none")


class StoryConfigError(BrightspotsError):
    """``[stories]`` (or the care words of ``[care]``) in brightspots.toml cannot be used."""


def settings(config: Mapping[str, Any]) -> tuple[str, bool]:
    """(``[stories] approval``, ``[stories] trust_imported_approval``) of a workspace config,
    checked; the defaults are "auto" and false."""
    section = config.get("stories", {}) or {}
    approval = section.get("approval", "auto")
    if approval not in APPROVALS:
        raise StoryConfigError(
            f"[stories] approval = {approval!r} in brightspots.toml; use one of "
            + ", ".join(repr(a) for a in APPROVALS)
        )
    trust = section.get("trust_imported_approval", False)
    if not isinstance(trust, bool):
        raise StoryConfigError(
            f"[stories] trust_imported_approval = {trust!r} in brightspots.toml; use true or false"
        )
    return approval, trust


def mode(ws: Workspace) -> Mode:
    """The approval rule in force: ``[stories] approval``, "auto" resolved (see the module)."""
    approval, _ = settings(ws.config)
    if approval == "auto":
        return "web" if has_accounts(ws) else "none"
    return approval  # type: ignore[return-value]


def has_accounts(ws: Workspace) -> bool:
    """Whether the workspace's app state has at least one web app account (reading never
    creates the file)."""
    state = app_state(ws)
    if state is None:
        return False
    with state.read() as con:
        return con.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None


def shareable(stories: pd.DataFrame, mode: Mode, *, trust_imported: bool = False) -> pd.Series:
    """Per row of ``stories`` (``library.COLUMNS``: review, imported_status), whether it may be
    shared under ``mode``."""
    review = stories["review"].astype(str)
    status = stories["imported_status"].astype(str)
    declined = (review == "declined") | (status == "declined")
    if mode == "none":
        ok = ~declined
    elif mode == "web":
        approved = review == "approved"
        if trust_imported:
            approved |= status == "approved"
        ok = approved & ~declined
    else:
        raise ValueError(f"unknown approval mode {mode!r}")
    return pd.Series(ok.to_numpy(bool), index=stories.index, name="shared")


def shared(ws: Workspace, stories: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``stories`` (``library.all_stories``) that may be shared beyond their author
    and their managers, under the workspace's ``[stories]`` settings."""
    _, trust = settings(ws.config)
    return stories[shareable(stories, mode(ws), trust_imported=trust)]
