"""What a story illustrates: practice links by tag and by keyword, caregiver stories, the
practices' keywords (built-in and custom), and every synthetic story tag resolving to the
registry id its truth names."""

from __future__ import annotations

import pandas as pd
import pytest

from brightspots.care.config import CareSettings
from brightspots.practices.builtin import BUILTINS
from brightspots.practices.custom import custom_practice
from brightspots.practices.registry import PracticeConfigError, registry
from brightspots.stories import StoryConfigError, caregiver, practice_links
from brightspots.stories.links import CareWords, normalize
from brightspots.synth.stories import STORY_LINES
from brightspots.synth.truth import DECOY_PRACTICES, TRUE_PRACTICES
from brightspots.workspace import DEFAULT_CONFIG


def _stories(*rows: tuple[str, str, str, str | None]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["story_id", "title", "body", "tags"])


def _links(frame: pd.DataFrame) -> dict[str, set[tuple[str, str, str]]]:
    got = practice_links(frame, BUILTINS)
    assert list(got.columns) == ["story_id", "practice", "via", "matched"]
    out: dict[str, set[tuple[str, str, str]]] = {}
    for r in got.itertuples(index=False):
        out.setdefault(r.story_id, set()).add((r.practice, r.via, r.matched))
    return out


def test_a_tag_matches_an_id_or_a_keyword_once_folded() -> None:
    assert normalize(" Multi-Threading_ ") == "multithreading"
    got = _links(
        _stories(
            ("a", "t", "nothing to see", "Multi-Threading; FAST_response ;"),
            ("b", "t", "nothing to see", "meeting before proposal"),
            ("c", "t", "nothing to see", "Response_Within_4H"),
            ("d", "t", "nothing to see", "care;unknown tag"),
            ("e", "t", "nothing to see", None),
        )
    )
    assert got["a"] == {
        ("multithreading", "tag", "Multi-Threading"),
        ("response_within_4h", "tag", "FAST_response"),
    }
    assert got["b"] == {("meeting_before_proposal", "tag", "meeting before proposal")}
    assert got["c"] == {("response_within_4h", "tag", "Response_Within_4H")}
    assert "d" not in got and "e" not in got


def test_a_keyword_matches_whole_words_in_the_title_or_body() -> None:
    got = _links(
        _stories(
            ("hit", "A Demonstration", "", ""),
            ("spaced", "", "They heard back the same\nmorning.", ""),
            ("hyphen", "", "A same-morning answer.", ""),
            ("case", "", "WITHIN THE HOUR, every time", ""),
            ("glued", "", "samemorning", ""),
            ("plural", "", "the same mornings", ""),
            ("inside", "", "a demolition and demosthenes", ""),
            ("prefix", "", "undemo'd", ""),
        )
    )
    assert got["hit"] == {("demos_per_opportunity", "text", "demonstration")}
    for sid in ("spaced", "hyphen"):
        assert got[sid] == {("response_within_4h", "text", "same morning")}, sid
    assert got["case"] == {("response_within_4h", "text", "within the hour")}
    for sid in ("glued", "plural", "inside", "prefix"):
        assert sid not in got, sid


def test_a_tag_is_preferred_to_the_text_and_each_practice_is_linked_once() -> None:
    frame = _stories(("s", "Our demo day", "Two demos, then a demo for IT.", "demos;Demo"))
    got = practice_links(frame, BUILTINS)
    assert got.to_dict("records") == [
        {"story_id": "s", "practice": "demos_per_opportunity", "via": "tag", "matched": "demos"}
    ]
    # stories in their order, practices in the registry's
    two = _stories(
        ("z", "", "stayed on it, with a demo", ""), ("a", "", "a demo, then we stayed on it", "")
    )
    got = practice_links(two, BUILTINS)
    assert got["story_id"].tolist() == ["z", "z", "a", "a"]
    assert got["practice"].tolist() == ["demos_per_opportunity", "touches_per_opportunity"] * 2
    assert practice_links(two.iloc[:0], BUILTINS).empty


#: the synthetic stories' tags of the two decoys (the others are the truth ids, - for _)
DECOY_TAGS = {"demo": "demo_intensity", "persistence": "touch_volume"}


def test_every_synthetic_story_tag_resolves_to_its_registry_id() -> None:
    truth = {p["id"]: p["registry_id"] for p in (*TRUE_PRACTICES, *DECOY_PRACTICES)}
    tags = [k.replace("_", "-") for k in STORY_LINES]
    practice_tags = [
        t for t in tags if normalize(t) not in {normalize(c) for c in CareWords().tags}
    ]
    assert practice_tags, STORY_LINES
    ids = {p.id for p in BUILTINS}
    for tag in practice_tags:
        truth_id = DECOY_TAGS.get(tag, tag.replace("-", "_"))
        assert truth_id in truth, f"synthetic story tag {tag!r} has no practice in truth.json"
        assert truth[truth_id] in ids
        got = practice_links(_stories((tag, "", "", tag)), BUILTINS)
        assert got["practice"].tolist() == [truth[truth_id]], tag
        assert got["via"].tolist() == ["tag"]
    # the lines the synthetic stories are written from name their practice in words too
    for key, registry_id in (
        ("fast_response", "response_within_4h"),
        ("meeting_before_proposal", "meeting_before_proposal"),
        ("demo", "demos_per_opportunity"),
        ("persistence", "touches_per_opportunity"),
    ):
        body = STORY_LINES[key].format(title="CFO")
        got = practice_links(_stories((key, "", body, "")), BUILTINS)
        assert registry_id in set(got["practice"]), (key, got)


def test_every_builtin_names_itself_in_words() -> None:
    for p in BUILTINS:
        assert p.keywords, p.id
        assert all(k == k.strip() and k for k in p.keywords), p.id
    assert "executive" in next(p for p in BUILTINS if p.id == "multithreading").keywords


def _custom(**extra) -> dict:
    return {
        "id": "champion_calls",
        "description": "Calls with the buyer's executive.",
        "level": "opportunity",
        "higher_is_better": True,
        "sql": "SELECT opportunity_id, count(*) AS value FROM activities GROUP BY 1",
        **extra,
    }


def test_a_custom_practice_takes_keywords_and_links_stories() -> None:
    p = custom_practice(
        _custom(keywords=[" champion ", "executive sponsor", "champion"]), 1, reserved=set()
    )
    assert p.keywords == ("champion", "executive sponsor")
    assert custom_practice(_custom(), 1, reserved=set()).keywords == ()
    got = practice_links(
        _stories(
            ("x", "", "Our Executive  Sponsor signed.", ""),
            ("y", "", "", "Champion-Calls"),
            ("z", "", "championship", ""),
        ),
        [p],
    )
    assert got[["story_id", "via"]].values.tolist() == [["x", "text"], ["y", "tag"]]
    for bad in ("champion", ["ok", ""], [3], ["ok", None]):
        with pytest.raises(PracticeConfigError, match="keywords = .* must be a list of words"):
            custom_practice(_custom(keywords=bad), 1, reserved=set())
    # through the registry too
    config = {"practices": {"custom": [_custom(keywords=["champion"])]}}
    assert registry(config)[-1].keywords == ("champion",)


def test_caregiver_stories_by_tag_or_words() -> None:
    frame = _stories(
        ("tag", "", "", "demo; Customer_Care"),
        ("words", "We really listened", "", ""),
        ("phrase", "", "We checked\nin a month after go-live.", ""),
        ("near", "", "A good listener; careful; we care-fully", ""),
        ("none", "", "", None),
    )
    frame.index = [10, 11, 12, 13, 14]  # kept, whatever the index
    got = caregiver(frame)
    assert got.name == "caregiver" and got.dtype == bool
    assert got.to_dict() == {10: True, 11: True, 12: True, 13: False, 14: False}
    # [care] story_tags and story_keywords, from the workspace config or the section itself
    config = {"care": {"story_tags": ["kindness"], "story_keywords": ["careful"]}}
    for settings in (config, config["care"], CareWords(("kindness",), ("careful",))):
        assert caregiver(frame, settings).tolist() == [False, False, False, True, False]
    # only the tags set: Customer_Care is no longer one, the default keywords still apply
    only_tags = caregiver(frame, {"care": {"story_tags": ["listened"]}})
    assert only_tags.tolist() == [False, True, True, False, False]
    for bad in ({"story_tags": "care"}, {"story_keywords": ["ok", 1]}, {"story_tags": [""]}):
        with pytest.raises(StoryConfigError, match=r"\[care\] story_"):
            caregiver(frame, {"care": bad})


def test_caregiver_words_have_one_default() -> None:
    """Without a config, with the default config and with the default [care] settings, a
    caregiver story is the same: "kept checking in" is one in all three."""
    defaults = CareWords.of(CareSettings())
    assert CareWords() == defaults == CareWords.of(DEFAULT_CONFIG) == CareWords.of({})
    frame = _stories(("checking", "", "We kept checking in after go-live.", ""))
    for settings in (None, DEFAULT_CONFIG, CareSettings()):
        assert caregiver(frame, settings).tolist() == [True]
