"""What a story illustrates: the practices it links to (``practice_links``) and whether it is a
caregiver story (``caregiver``), from its tags and its words.

* A **tag** (``stories.tags``, ';'-separated) matches a practice's id or one of its keywords
  (``Practice.keywords``) once both are case-folded and stripped of ``-``, ``_`` and spaces:
  the tag ``fast-response`` matches the keyword "fast response", ``multi-threading`` the id
  ``multithreading``.
* A **keyword** matches as a whole word or phrase in the title or body, in any case, its words
  separated by any spaces, hyphens or underscores: "same morning" is found in "the same
  morning" and never in "samemorning" or "the same mornings".

A caregiver story does the same with ``[care] story_tags`` and ``[care] story_keywords``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from brightspots.care.config import STORY_KEYWORDS, STORY_TAGS
from brightspots.practices.registry import Practice
from brightspots.stories.sharing import StoryConfigError

LINK_COLUMNS = ("story_id", "practice", "via", "matched")
_STRIP = re.compile(r"[\s\-_]+")


def normalize(word: str) -> str:
    """``word`` case-folded, without spaces, hyphens or underscores: how tags are compared."""
    return _STRIP.sub("", str(word).casefold())


def split_tags(tags: Any) -> list[str]:
    """The tags of a ';'-separated text (empty, None or NaN: none)."""
    if tags is None or (not isinstance(tags, str) and pd.isna(tags)):
        return []
    return [t.strip() for t in str(tags).split(";") if t.strip()]


def keyword_pattern(keyword: str) -> re.Pattern[str] | None:
    """A whole-word, any-case pattern of ``keyword`` (None for a blank one)."""
    words = [w for w in _STRIP.split(str(keyword).strip()) if w]
    if not words:
        return None
    body = r"[\s\-_]+".join(re.escape(w) for w in words)
    return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


@dataclass(frozen=True)
class _Matcher:
    """One set of names (tags) and keywords (text) to look for."""

    names: frozenset[str]
    patterns: tuple[tuple[str, re.Pattern[str]], ...]

    @classmethod
    def of(cls, names: Iterable[str], keywords: Iterable[str]) -> _Matcher:
        keywords = list(keywords)
        found = [(k, keyword_pattern(k)) for k in keywords]
        return cls(
            frozenset(n for n in map(normalize, [*names, *keywords]) if n),
            tuple((k, p) for k, p in found if p is not None),
        )

    def match(self, tags: list[str], text: str) -> tuple[str, str] | None:
        """("tag", the tag) or ("text", the keyword) of the first match, else None."""
        for t in tags:
            if normalize(t) in self.names:
                return "tag", t
        for k, p in self.patterns:
            if p.search(text):
                return "text", k
        return None


def _text(v: Any) -> str:
    return "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)


def _stories(stories: pd.DataFrame) -> Iterable[tuple[Any, str, list[str], str]]:
    """(index, story_id, tags, title and body) per row."""
    tags = stories["tags"] if "tags" in stories.columns else pd.Series(None, index=stories.index)
    for i, sid, tag, title, body in zip(
        stories.index, stories["story_id"], tags, stories["title"], stories["body"], strict=True
    ):
        yield i, str(sid), split_tags(tag), f"{_text(title)}\n{_text(body)}"


def practice_links(stories: pd.DataFrame, practices: Sequence[Practice]) -> pd.DataFrame:
    """One row per story (story_id, title, body, tags) and practice it links to: story_id,
    practice (the id), via ("tag" or "text") and matched (the tag as written, or the keyword
    found). A tag is preferred to the text; stories in their order, practices in the
    registry's."""
    matchers = [(p.id, _Matcher.of([p.id], p.keywords)) for p in practices]
    rows = []
    for _, sid, tags, text in _stories(stories):
        for pid, m in matchers:
            hit = m.match(tags, text)
            if hit is not None:
                rows.append((sid, pid, *hit))
    return pd.DataFrame(rows, columns=list(LINK_COLUMNS))


@dataclass(frozen=True)
class CareWords:
    """What makes a caregiver story: ``[care] story_tags`` and ``[care] story_keywords``."""

    tags: tuple[str, ...] = STORY_TAGS
    keywords: tuple[str, ...] = STORY_KEYWORDS

    @classmethod
    def of(cls, settings: Any) -> CareWords:
        """From a workspace config (its ``[care]`` section), that section itself, or settings
        with ``story_tags`` and ``story_keywords`` attributes; missing ones take the
        defaults."""
        if isinstance(settings, CareWords):
            return settings
        if isinstance(settings, Mapping):
            section = settings.get("care", settings)
            section = section if isinstance(section, Mapping) else {}
            tags = section.get("story_tags", STORY_TAGS)
            keywords = section.get("story_keywords", STORY_KEYWORDS)
        else:
            tags = getattr(settings, "story_tags", STORY_TAGS)
            keywords = getattr(settings, "story_keywords", STORY_KEYWORDS)
        return cls(_words("story_tags", tags), _words("story_keywords", keywords))


def _words(name: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        value = None
    if value is None or not all(isinstance(w, str) and w.strip() for w in value):
        raise StoryConfigError(
            f"[care] {name} in brightspots.toml must be a list of words or phrases, e.g. "
            '["care", "caregiver"]'
        )
    return tuple(w.strip() for w in value)


def caregiver(stories: pd.DataFrame, settings: Any = None) -> pd.Series:
    """Per row of ``stories`` (story_id, title, body, tags), whether it is a caregiver story:
    a tag among ``[care] story_tags`` or a ``[care] story_keywords`` phrase in its words.
    ``settings``: see ``CareWords.of`` (None: the defaults)."""
    words = CareWords() if settings is None else CareWords.of(settings)
    m = _Matcher.of(words.tags, words.keywords)
    hit = [m.match(tags, text) is not None for _, _, tags, text in _stories(stories)]
    return pd.Series(hit, index=stories.index, name="caregiver", dtype=bool)
