"""The report's customer stories: the shared stories, grouped by the practice each illustrates.

Shared means passing ``stories.sharing.shared``, the one gate the brief and the web app use
too (``[stories] approval``). A story links to a practice through its tags and words
(``stories.links``), so one story may sit under several practices; those that illustrate none
come last. Practices linked with winning in the run come first, then the others in the
registry's order; within a practice the newest stories first, at most ``MAX_PER_PRACTICE``.

``read`` gathers the stories from a workspace (its ``stories`` table and the web app's state,
on the workspace's DuckDB file), ``stories_section`` turns a context's into the section. The
section is absent when no story is shared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd

from brightspots.report import fmt, forest
from brightspots.report.tables import ReportError

if TYPE_CHECKING:
    from brightspots.report.context import ReportContext
    from brightspots.workspace import Workspace

MAX_PER_PRACTICE = 3
EXCERPT = 240  # characters of a story's text shown under its title
STORY_COLUMNS = ("story_id", "title", "body", "rep", "account", "deal", "deal_stage",
                 "created_at", "caregiver")  # fmt: skip
LINK_COLUMNS = ("story_id", "practice", "name", "via", "matched")
UNLINKED = "Stories that illustrate no practice yet"


def _text(v: Any) -> str | None:
    return None if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)


def _query(ws: Workspace, table: str, select: str, key: str, ids: list[str]) -> pd.DataFrame:
    """``select`` of ``table``'s live records with ``key`` in ``ids`` (not empty)."""
    marks = ", ".join("?" * len(ids))
    sql = f'SELECT {select} FROM ({ws.live_sql(table)}) AS t WHERE "{key}" IN ({marks})'
    return ws.duckdb().execute(sql, ids).df()


def read(ws: Workspace, window_start: date | None = None) -> dict[str, pd.DataFrame | None]:
    """The report's stories: ``stories`` (``STORY_COLUMNS``: the shared ones, created from
    ``window_start`` on, with their author's, account's and deal's names and whether each is
    a caregiver story) and ``story_links`` (``LINK_COLUMNS``); both None when none is shared.
    Raises the config's errors (``[stories]``, ``[care]`` story words, custom practices)."""
    from brightspots.practices.registry import registry
    from brightspots.stories import library, links, sharing

    imported = ws.duckdb().execute(ws.live_sql("stories")).df()
    frame = sharing.shared(ws, library.story_frame(imported, library.app_state(ws)))
    if window_start is not None:
        frame = frame[frame["created_at"] >= pd.Timestamp(window_start)]
    if frame.empty:
        return {"stories": None, "story_links": None}
    frame = frame.reset_index(drop=True)
    practices = registry(ws.config)
    found = links.practice_links(frame, practices)
    names = {p.id: p.description.strip().rstrip(".") or p.id for p in practices}
    reps = _query(ws, "reps", "rep_id, name", "rep_id", sorted(set(frame["rep_id"])))
    rep_names = {str(r): str(n) for r, n in zip(reps["rep_id"], reps["name"], strict=True)}
    acc_ids = sorted({str(a) for a in frame["account_id"].dropna()})
    opp_ids = sorted({str(o) for o in frame["opportunity_id"].dropna()})
    accounts: dict[str, str] = {}
    deals: dict[str, tuple[str | None, str | None]] = {}
    if acc_ids:
        acc = _query(ws, "accounts", "account_id, name", "account_id", acc_ids)
        accounts = {str(i): str(n) for i, n in zip(acc["account_id"], acc["name"], strict=True)}
    if opp_ids:
        select = "opportunity_id, product, stage"
        opp = _query(ws, "opportunities", select, "opportunity_id", opp_ids)
        for i, p, s in zip(opp["opportunity_id"], opp["product"], opp["stage"], strict=True):
            deals[str(i)] = (_text(p) or str(i), _text(s))
    account = [accounts.get(a, a) if a else None for a in map(_text, frame["account_id"])]
    opps = list(map(_text, frame["opportunity_id"]))
    deal = [deals.get(o, (o, None)) if o else (None, None) for o in opps]
    stories = pd.DataFrame(
        {
            "story_id": frame["story_id"],
            "title": frame["title"],
            "body": frame["body"],
            "rep": [rep_names.get(r, r) for r in frame["rep_id"]],
            "account": account,
            "deal": [d[0] for d in deal],
            "deal_stage": [d[1] for d in deal],
            "created_at": frame["created_at"],
            "caregiver": links.caregiver(frame, ws.config).to_numpy(bool),
        }
    )
    story_links = found.assign(name=[names.get(p, p) for p in found["practice"]])
    return {"stories": stories, "story_links": story_links[list(LINK_COLUMNS)]}


def clean(
    stories: pd.DataFrame | None, story_links: pd.DataFrame | None, where: str
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The context's story frames, checked: the columns present, text as str, ``caregiver``
    as bool, ``created_at`` as timestamps. No stories means no links."""
    if stories is None or stories.empty:
        return None, None
    for name, frame, cols in (
        ("stories", stories, STORY_COLUMNS),
        ("story_links", story_links, LINK_COLUMNS),
    ):
        if frame is None:
            raise ReportError(f"{name} ({where}): missing while stories are given")
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise ReportError(f"{name} ({where}): missing column(s) {', '.join(missing)}")
    assert story_links is not None
    s = stories[list(STORY_COLUMNS)].copy()
    for c in ("story_id", "title", "body", "rep"):
        s[c] = [_text(v) or "" for v in s[c]]
    for c in ("account", "deal", "deal_stage"):
        s[c] = pd.Series([_text(v) for v in s[c]], index=s.index, dtype=object)
    s["created_at"] = pd.to_datetime(s["created_at"])
    s["caregiver"] = s["caregiver"].fillna(False).astype(bool)
    links = story_links[list(LINK_COLUMNS)].astype(str)
    unknown = sorted(set(links["story_id"]) - set(s["story_id"]))
    if unknown:
        raise ReportError(f"story_links ({where}): links to no story: {', '.join(unknown[:5])}")
    return s.reset_index(drop=True), links.reset_index(drop=True)


# ----------------------------------------------------------------------------- the section


@dataclass(frozen=True)
class StoryItem:
    title: str
    caregiver: bool  # a "Care" badge
    byline: str  # rep · account · deal (stage) · day
    excerpt: str
    evidence: str  # why it illustrates the group's practice: 'tagged “demo”', 'says “…”'


@dataclass(frozen=True)
class StoryGroup:
    practice: str  # the practice's id ("" for the stories that illustrate none)
    name: str
    linked: bool  # linked with winning in this run
    count: str  # "3 stories"
    stories: list[StoryItem]
    more: str  # "and 2 more stories" ("" when every one is shown)


@dataclass(frozen=True)
class StoriesSection:
    present: bool  # some story is shared
    headline: str
    groups: list[StoryGroup]


def excerpt(body: str, limit: int = EXCERPT, near: str | None = None) -> str:
    """The story's text on one line, cut after a word near ``limit`` characters; with ``near``
    (a keyword found in it), from the start of the sentence that holds it ("…" before when
    that is not the text's start)."""
    from brightspots.stories.links import keyword_pattern

    text = " ".join(str(body).split())
    lead = ""
    pattern = keyword_pattern(near) if near else None
    found = pattern.search(text) if pattern is not None else None
    if found is not None:
        start = max(text.rfind(end, 0, found.start()) for end in (". ", "! ", "? ", ": "))
        if start >= 0:
            text, lead = text[start + 2 :], "…"
    if len(text) <= limit:
        return lead + text
    cut = text[: limit + 1]  # a word that ends at the limit is kept whole
    cut = cut[: cut.rindex(" ")] if " " in cut else cut[:limit]
    return lead + re.sub(r"[\s,;:.\-–]+$", "", cut) + "…"


def _byline(r: Any) -> str:
    parts = [r.rep]
    account, deal, stage = _text(r.account), _text(r.deal), _text(r.deal_stage)
    if account:
        parts.append(account)
    if deal:
        parts.append(deal + (f" ({stage})" if stage else ""))
    if pd.notna(r.created_at):
        parts.append(fmt.day(pd.Timestamp(r.created_at).date()))
    return " · ".join(p for p in parts if p)


def _linked_practices(ctx: ReportContext) -> set[str]:
    effects = ctx.practice_effects
    if effects is None:
        return set()
    return {
        str(p)
        for p, q, s in zip(effects["practice"], effects["q"], effects["suspect"], strict=True)
        if forest.status(float(q), bool(s)) == "linked"
    }


def _items(rows: pd.DataFrame, evidence: dict[str, tuple[str, str]]) -> list[StoryItem]:
    out = []
    for r in rows.head(MAX_PER_PRACTICE).itertuples(index=False):
        via, matched = evidence.get(r.story_id, ("", ""))
        out.append(
            StoryItem(
                title=" ".join(r.title.split()),
                caregiver=bool(r.caregiver),
                byline=_byline(r),
                excerpt=excerpt(r.body, near=matched if via == "text" else None),
                evidence=f"{'tagged' if via == 'tag' else 'says'} “{matched}”" if via else "",
            )
        )
    return out


def _group(
    practice: str,
    name: str,
    linked: bool,
    rows: pd.DataFrame,
    evidence: dict[str, tuple[str, str]],
) -> StoryGroup:
    n = len(rows)
    rest = n - min(n, MAX_PER_PRACTICE)
    return StoryGroup(
        practice=practice,
        name=name,
        linked=linked,
        count=fmt.plural(n, "story", "stories"),
        stories=_items(rows, evidence),
        more=f"and {fmt.plural(rest, 'more story', 'more stories')}" if rest else "",
    )


def stories_section(ctx: ReportContext) -> StoriesSection:
    """The shared stories grouped by practice (absent when none is shared)."""
    stories, links = ctx.stories, ctx.story_links
    if stories is None or links is None or stories.empty:
        return StoriesSection(False, "", [])
    newest = stories.sort_values(["created_at", "story_id"], ascending=False, kind="stable")
    linked = _linked_practices(ctx)
    order = list(dict.fromkeys(links["practice"]))  # the registry's order, as linked
    order.sort(key=lambda p: p not in linked)  # stable: linked with winning first
    groups = []
    for pid in order:
        mine = links[links["practice"] == pid]
        evidence = {
            sid: (via, matched)
            for sid, via, matched in mine[["story_id", "via", "matched"]].itertuples(index=False)
        }
        rows = newest[newest["story_id"].isin(set(mine["story_id"]))]
        groups.append(_group(pid, str(mine["name"].iloc[0]), pid in linked, rows, evidence))
    alone = newest[~newest["story_id"].isin(set(links["story_id"]))]
    if len(alone):
        groups.append(_group("", UNLINKED, False, alone, {}))
    n, care = len(stories), int(stories["caregiver"].sum())
    n_reps = stories["rep"].nunique()
    n_practices = len(order)
    headline = (
        f"{fmt.plural(n, 'customer story', 'customer stories')} shared by "
        f"{fmt.plural(n_reps, 'rep')}"
        + (f", {fmt.integer(care)} of them about caring for a customer" if care else "")
        + f". {'They illustrate' if n > 1 else 'It illustrates'} "
        + (f"{fmt.plural(n_practices, 'practice')}" if n_practices else "no practice yet")
        + " (from their tags and words; a story may illustrate several)."
    )
    return StoriesSection(True, headline, groups)
