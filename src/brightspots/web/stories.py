"""Customer stories in the web app: the imported ones (the workspace's ``stories`` table) and
those reps write in the app (app state), each shared beyond its author only once it passes
``stories.sharing.shared``, the one gate the brief and the report use too (by default, once a
manager of the author's team approved it here).

* The author (and their managers) see every story of theirs, with its status.
* Team pages and the story library show only shared stories (and, to its author, their own).
* A manager approves or declines stories of the reps they manage; an admin may too.
* A rep may name the account and the deal a story is about, and tag it; both must be theirs
  (an account they own or have a deal on, a deal they own).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from brightspots.errors import BrightspotsError
from brightspots.practices.registry import Practice, PracticeConfigError, registry
from brightspots.stories import library, links, sharing
from brightspots.web.appstate import AppState
from brightspots.web.users import User
from brightspots.workspace import Workspace

STATUSES = ("waiting", "approved", "declined")
MAX_TITLE = 200
MAX_BODY = 5000
MAX_ID = 200  # characters of an account or deal id
MAX_TAGS = 10
MAX_TAG = 40  # characters of one tag
MAX_CHOICES = 300  # accounts (deals) offered in the story form's lists
_TAG_SPLIT = re.compile(r"[;,]")


class StoryError(BrightspotsError):
    """A story that cannot be written or reviewed as asked."""


@dataclass(frozen=True)
class PracticeLink:
    """A practice a story illustrates (``stories.links``), and the evidence: a tag or words."""

    practice: str  # the practice's id
    name: str  # its description (``practice_name``)
    via: str  # "tag" or "text"
    matched: str  # the tag as written, or the keyword found

    @property
    def evidence(self) -> str:
        kind = "tagged" if self.via == "tag" else "says"
        return f"{kind} “{self.matched}”"


@dataclass(frozen=True)
class StoryView:
    story_id: str
    rep_id: str
    rep_name: str
    title: str
    paragraphs: tuple[str, ...]
    created: str  # YYYY-MM-DD
    source: str  # "imported" or "written here"
    status: str  # one of STATUSES: the web app's review
    digest: str  # of the author, text, account and deal: a review holds for what it approved
    shared: bool = False  # passes ``stories.sharing.shared`` (the one gate)
    account_id: str | None = None
    account: str | None = None  # the account's name (its id when not in the workspace)
    opportunity_id: str | None = None
    deal: str | None = None  # the deal's product, else its id
    deal_stage: str | None = None
    tags: tuple[str, ...] = ()
    caregiver: bool = False  # ``[care] story_tags`` or ``story_keywords``: a "Care" badge
    practices: tuple[PracticeLink, ...] = ()

    @property
    def about(self) -> str:
        """The account and deal in a few words ("" when the story names neither)."""
        parts = [self.account or ""]
        if self.deal:
            parts.append(self.deal + (f" ({self.deal_stage})" if self.deal_stage else ""))
        return " · ".join(p for p in parts if p)


@dataclass(frozen=True)
class Reading:
    """How a request reads stories: the practices they may illustrate and the care words, from
    the workspace config; ``notes`` say what of the config could not be used (the defaults are
    then used: the built-in practices, the default care words)."""

    practices: tuple[Practice, ...]
    care: links.CareWords
    notes: tuple[str, ...] = ()

    @classmethod
    def of(cls, config: dict[str, Any]) -> Reading:
        from brightspots.practices.builtin import BUILTINS

        notes: list[str] = []
        try:
            practices: Sequence[Practice] = registry(config)
        except PracticeConfigError as e:
            practices = BUILTINS
            notes.append(f"{e}. Stories are linked to the built-in practices until it is fixed.")
        try:
            care = links.CareWords.of(config)
        except sharing.StoryConfigError as e:
            care = links.CareWords()
            notes.append(f"{e}. The default care words are used until it is fixed.")
        return cls(tuple(practices), care, tuple(notes))


def practice_name(p: Practice) -> str:
    """A practice as a story's links name it: its description, without the final stop."""
    return p.description.strip().rstrip(".") or p.id


def _paragraphs(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in str(text).replace("\r\n", "\n").split("\n\n") if p.strip())


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(v: Any) -> str | None:
    return None if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)


# ----------------------------------------------------------------------------- reading


def story_frame(imported: pd.DataFrame, state: AppState | None) -> pd.DataFrame:
    """Every story (``stories.library.COLUMNS``): ``imported`` and those written here."""
    return library.story_frame(imported, state)


def gate(ws: Workspace, frame: pd.DataFrame) -> tuple[pd.Series, str]:
    """Per row of ``frame``, whether the story is shared (``stories.sharing.shared``), and a
    note when ``[stories]`` cannot be used: then only stories approved here are shared."""
    try:
        kept = sharing.shared(ws, frame)
    except sharing.StoryConfigError as e:
        note = f"{e}. Until it is fixed, only stories approved here are shared."
        return sharing.shareable(frame, "web"), note
    return pd.Series(frame.index.isin(kept.index), index=frame.index, name="shared"), ""


def _query(ws: Workspace, table: str, select: str, where: str, params: list[Any]) -> pd.DataFrame:
    """``select`` of ``table``'s live records ``where`` (``?`` parameters), on the workspace's
    DuckDB file: what the web app reads, whatever engine analyses."""
    sql = f"SELECT {select} FROM ({ws.live_sql(table)}) AS t WHERE {where}"
    return ws.duckdb().execute(sql, params).df()


def _names(ws: Workspace, table: str, key: str, ids: list[str], select: str) -> pd.DataFrame:
    """``select`` of the rows of ``table`` with ``key`` in ``ids`` (not empty)."""
    marks = ", ".join("?" * len(ids))
    return _query(ws, table, select, f'"{key}" IN ({marks})', ids)


def imported(ws: Workspace) -> pd.DataFrame:
    """The workspace's ``stories`` table (its live records)."""
    return _query(ws, "stories", "*", "true", [])


def names_of(
    ws: Workspace, frame: pd.DataFrame
) -> tuple[dict[str, str], dict[str, tuple[str, str | None]]]:
    """The names of the accounts (id -> name) and deals (id -> (product or id, stage)) the
    stories of ``frame`` name: at most two small queries on the workspace."""
    acc_ids = sorted({str(a) for a in frame["account_id"].dropna()})
    opp_ids = sorted({str(o) for o in frame["opportunity_id"].dropna()})
    accounts: dict[str, str] = {}
    deals: dict[str, tuple[str, str | None]] = {}
    if acc_ids:
        acc = _names(ws, "accounts", "account_id", acc_ids, "account_id, name")
        for i, n in zip(acc["account_id"], acc["name"], strict=True):
            accounts[str(i)] = _text(n) or str(i)
    if opp_ids:
        opp = _names(
            ws, "opportunities", "opportunity_id", opp_ids, "opportunity_id, product, stage"
        )
        for i, d, st in zip(opp["opportunity_id"], opp["product"], opp["stage"], strict=True):
            deals[str(i)] = (_text(d) or str(i), _text(st))
    return accounts, deals


def views(
    frame: pd.DataFrame,
    rep_names: dict[str, str],
    *,
    shared: pd.Series | None = None,
    reading: Reading | None = None,
    accounts: dict[str, str] | None = None,
    deals: dict[str, tuple[str, str | None]] | None = None,
) -> list[StoryView]:
    """The stories of ``frame`` (``story_frame`` rows) as the pages show them, newest first.
    ``shared``: per row, whether it passes the gate (default: the web app's rule, approved here
    and declined nowhere); ``reading``: the practices and care words to link (default: none);
    ``accounts``, ``deals``: names (``names_of``; default: the ids)."""
    if shared is None:
        shared = sharing.shareable(frame, "web")
    accounts, deals = accounts or {}, deals or {}
    linked: dict[str, list[PracticeLink]] = {}
    care = pd.Series(False, index=frame.index)
    if reading is not None and len(frame):
        described = {p.id: practice_name(p) for p in reading.practices}
        found = links.practice_links(frame, reading.practices)
        for r in found.itertuples(index=False):
            link = PracticeLink(r.practice, described.get(r.practice, r.practice), r.via, r.matched)
            linked.setdefault(str(r.story_id), []).append(link)
        care = links.caregiver(frame, reading.care)
    out: list[StoryView] = []
    for i, r in zip(frame.index, frame.itertuples(index=False), strict=True):
        created = pd.Timestamp(r.created_at)
        account, deal = _text(r.account_id), _text(r.opportunity_id)
        deal_name, stage = deals.get(deal, (deal, None)) if deal else (None, None)
        out.append(
            StoryView(
                story_id=r.story_id,
                rep_id=r.rep_id,
                rep_name=rep_names.get(r.rep_id, r.rep_id),
                title=r.title,
                paragraphs=_paragraphs(r.body),
                created=created.strftime("%Y-%m-%d") if pd.notna(created) else "",
                source=r.source,
                status=r.review,
                digest=r.digest,
                shared=bool(shared.loc[i]),
                account_id=account,
                account=accounts.get(account, account) if account else None,
                opportunity_id=deal,
                deal=deal_name,
                deal_stage=stage,
                tags=tuple(links.split_tags(r.tags)),
                caregiver=bool(care.loc[i]),
                practices=tuple(linked.get(r.story_id, ())),
            )
        )
    return sorted(out, key=lambda s: (s.created, s.story_id), reverse=True)


def all_stories(
    imported: pd.DataFrame,
    state: AppState,
    rep_names: dict[str, str],
    *,
    shared: pd.Series | None = None,
) -> list[StoryView]:
    """Every story, newest first, with its review status (``stories.library``: a review holds
    while the story is the one reviewed). ``shared``: see ``views``."""
    return views(story_frame(imported, state), rep_names, shared=shared)


# ----------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class Choices:
    """What a rep may name in a story, for the form's lists: their accounts (id, name) and
    their latest deals (id, "account · product (stage)"); at most ``MAX_CHOICES`` each."""

    accounts: tuple[tuple[str, str], ...]
    deals: tuple[tuple[str, str], ...]


def _label(account: Any, product: Any, stage: Any) -> str:
    words = " · ".join(x for x in (_text(account), _text(product)) if x)
    return words + (f" ({stage})" if _text(stage) else "")


def choices(ws: Workspace, rep_id: str) -> Choices:
    acc = _query(
        ws, "accounts", "account_id, name", "owner_rep_id = ? ORDER BY name, account_id LIMIT ?",
        [rep_id, MAX_CHOICES],
    )  # fmt: skip
    opp = _query(
        ws,
        "opportunities",
        "opportunity_id, account_id, product, stage",
        "owner_rep_id = ? ORDER BY created_at DESC, opportunity_id LIMIT ?",
        [rep_id, MAX_CHOICES],
    )
    on = names_of(ws, opp.assign(opportunity_id=None))[0]
    return Choices(
        tuple(
            (str(i), _text(n) or str(i))
            for i, n in zip(acc["account_id"], acc["name"], strict=True)
        ),
        tuple(
            (str(i), _label(on.get(str(a)), p, st))
            for i, a, p, st in zip(
                opp["opportunity_id"], opp["account_id"], opp["product"], opp["stage"], strict=True
            )
        ),
    )


def clean_tags(text: str) -> str:
    """Tags as typed ("care, demo; multi-threading") -> stored (';'-separated), duplicates
    (in any case) dropped; at most ``MAX_TAGS`` of at most ``MAX_TAG`` characters."""
    out: list[str] = []
    for t in _TAG_SPLIT.split(text or ""):
        tag = " ".join(t.split())
        if not tag or tag.casefold() in {o.casefold() for o in out}:
            continue
        if len(tag) > MAX_TAG:
            raise StoryError(f"a tag is at most {MAX_TAG} characters: {tag[:MAX_TAG]}…")
        out.append(tag)
    if len(out) > MAX_TAGS:
        raise StoryError(f"a story has at most {MAX_TAGS} tags")
    return ";".join(out)


def _clean_id(v: str | None, what: str) -> str | None:
    text = (v or "").strip()
    if len(text) > MAX_ID or any(ord(c) < 32 for c in text):
        raise StoryError(f"that is not {what} id")
    return text or None


def check_owned(
    ws: Workspace, rep_id: str, account_id: str | None, opportunity_id: str | None
) -> tuple[str | None, str | None]:
    """(account, deal) a story of ``rep_id`` may name: a deal they own (its account when no
    account is given), an account they own or have a deal on. Anything else, or an id the
    workspace does not hold, is a ``StoryError`` that says the same either way."""
    if opportunity_id is not None:
        row = _query(
            ws, "opportunities", "owner_rep_id, account_id", "opportunity_id = ?", [opportunity_id]
        )
        if row.empty or str(row["owner_rep_id"].iloc[0]) != rep_id:
            raise StoryError(f"deal {opportunity_id} is not one of yours: name a deal you own")
        on = str(row["account_id"].iloc[0])
        if account_id is not None and account_id != on:
            raise StoryError(f"deal {opportunity_id} is on account {on}, not {account_id}")
        return on, opportunity_id
    if account_id is None:
        return None, None
    where = "account_id = ? AND owner_rep_id = ?"
    owns = _query(ws, "accounts", "count(*) AS n", where, [account_id, rep_id])
    sells = _query(ws, "opportunities", "count(*) AS n", where, [account_id, rep_id])
    if not int(owns["n"].iloc[0]) and not int(sells["n"].iloc[0]):
        raise StoryError(
            f"account {account_id} is not one of yours: name an account you own or have a deal on"
        )
    return account_id, None


def write(
    state: AppState,
    user: User,
    title: str,
    body: str,
    *,
    account_id: str | None = None,
    opportunity_id: str | None = None,
    tags: str = "",
    ws: Workspace | None = None,
) -> str:
    """A rep's new story (waiting for approval); returns its id. ``account_id`` and
    ``opportunity_id`` (optional) must be the rep's (``check_owned``, against ``ws``); a deal
    alone names its account too. ``tags``: comma- or ';'-separated."""
    if user.role != "rep" or not user.rep_id:
        raise StoryError("only a rep account writes stories (about their own deals)")
    title, body = title.strip(), body.strip()
    if not title or not body:
        raise StoryError("a story needs a title and some text")
    if len(title) > MAX_TITLE or len(body) > MAX_BODY:
        raise StoryError(f"a story's title is at most {MAX_TITLE} characters, its text {MAX_BODY}")
    account = _clean_id(account_id, "an account")
    deal = _clean_id(opportunity_id, "a deal")
    tag_text = clean_tags(tags)
    if account is not None or deal is not None:
        if ws is None:
            raise StoryError("an account or deal cannot be checked here: the workspace is needed")
        account, deal = check_owned(ws, user.rep_id, account, deal)
    story_id = "web-" + secrets.token_hex(6)
    with state.write() as con:
        con.execute(
            "INSERT INTO stories (story_id, rep_id, title, body, created_at, author_user_id, "
            "account_id, opportunity_id, tags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [story_id, user.rep_id, title, body, _now(), user.user_id, account, deal, tag_text],
        )
    return story_id


def review(state: AppState, reviewer: User, story: StoryView, status: str) -> None:
    """Approve or decline ``story`` as it reads now (the caller checked that ``reviewer``
    manages its author)."""
    if status not in ("approved", "declined"):
        raise StoryError(f"a review is approved or declined, not {status!r}")
    with state.write() as con:
        con.execute(
            "INSERT INTO story_reviews VALUES (?, ?, ?, ?, ?) ON CONFLICT (story_id) DO UPDATE "
            "SET digest = excluded.digest, status = excluded.status, "
            "reviewer_user_id = excluded.reviewer_user_id, reviewed_at = excluded.reviewed_at",
            [story.story_id, story.digest, status, reviewer.user_id, _now()],
        )
