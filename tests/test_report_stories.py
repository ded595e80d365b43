"""The report's customer stories: shared stories grouped by the practice each illustrates, the
practices linked with winning first, at most three stories each, a "Care" badge; the section is
there only when some story is shared (``stories.sharing.shared``, as in the brief and the web
app). Hand-made frames on test_report.py's run, and one workspace end to end."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from brightspots.report import ReportContext, ReportError, build_context, render_html, write_report
from brightspots.report import stories as rs
from brightspots.report.view import report_view
from brightspots.stories import library, sharing
from brightspots.web import stories as web_stories
from brightspots.web.appstate import AppState
from brightspots.workspace import Workspace
from conftest import load_sibling

base = load_sibling("test_report.py")
prac = load_sibling("test_report_practices.py")

LONG = "We called every week. " * 20  # 440 characters


def story_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Six shared stories: s1 (a caregiver story) illustrates multithreading (its words) and
    cadence (its tag); s2-s5 cadence; s6 nothing. In the run, multithreading is linked with
    winning and cadence is suspect (test_report_practices.PRACTICES)."""
    rows = [
        ("s1", "We checked in", "They felt looked after.", "Ana Silva", "Acme", "Core", "won",
         "2024-12-10 09:00", True),
        ("s2", "Weekly calls", LONG, "Chen Wei", None, None, None, "2024-12-09 08:00", False),
        ("s3", "Steady", "Every week.", "Chen Wei", "Initech", None, None, "2024-12-01 08:00",
         False),
        ("s4", "Rhythm", "Weekly.", "Ana Silva", None, "OP-9", None, "2024-11-20 08:00", False),
        ("s5", "Old one", "Weekly.", "Ana Silva", None, None, None, "2024-10-01 08:00", False),
        ("s6", base.SCRIPT_NAME, "Nothing to link.", base.SCRIPT_NAME, None, None, None,
         "2024-12-11 08:00", False),
    ]  # fmt: skip
    stories = pd.DataFrame(rows, columns=list(rs.STORY_COLUMNS))
    stories["created_at"] = pd.to_datetime(stories["created_at"])
    links = pd.DataFrame(
        [
            ("s1", "cadence", "Touches per open week", "tag", "cadence"),
            ("s1", "multithreading", "Three or more people touched", "text", "several people"),
            *[(s, "cadence", "Touches per open week", "tag", "weekly") for s in ("s2", "s3")],
            *[(s, "cadence", "Touches per open week", "text", "every week") for s in ("s4", "s5")],
        ],
        columns=list(rs.LINK_COLUMNS),
    )
    return stories, links


def context(**over) -> ReportContext:
    stories, links = story_frames()
    frames = {**base.fake_frames(), **prac.practice_frames()}
    return ReportContext(
        workspace_name="acme-sales",
        currency="USD",
        run=base.run_info(),
        diagnostics=base.Diagnostics.from_dict(prac.diagnostics()),
        past_runs=[],
        **frames,
        **({"stories": stories, "story_links": links} | over),
    )


def test_stories_grouped_by_practice_linked_first() -> None:
    section = report_view(context()).stories
    assert section.present
    assert [(g.practice, g.linked, g.count, g.more) for g in section.groups] == [
        ("multithreading", True, "1 story", ""),
        ("cadence", False, "5 stories", "and 2 more stories"),
        ("", False, "1 story", ""),
    ]
    mt, cadence, alone = section.groups
    assert mt.name == "Three or more people touched" and alone.name == rs.UNLINKED
    first = mt.stories[0]
    assert first.caregiver and first.title == "We checked in"
    assert first.byline == "Ana Silva · Acme · Core (won) · 10 Dec 2024"
    assert first.evidence == "says “several people”"
    # newest first, three shown
    assert [s.title for s in cadence.stories] == ["We checked in", "Weekly calls", "Steady"]
    assert [s.evidence for s in cadence.stories] == ["tagged “cadence”", *["tagged “weekly”"] * 2]
    long = cadence.stories[1].excerpt
    assert long.endswith("…") and len(long) <= rs.EXCERPT + 1 and long.startswith("We called")
    assert cadence.stories[2].byline == "Chen Wei · Initech · 1 Dec 2024"
    assert section.headline == (
        "6 customer stories shared by 3 reps, 1 of them about caring for a customer. They "
        "illustrate 2 practices (from their tags and words; a story may illustrate several)."
    )


def test_the_section_on_the_page_is_escaped_and_absent_without_stories() -> None:
    page = render_html(context())
    body = base.section(page, '<section id="stories"', "</section>")
    assert body.count('<span class="tag tag-care">Care</span>') == 2  # s1, in two groups
    assert "<script>" not in body and "&lt;script&gt;" in body
    assert body.index('id="stories-multithreading"') < body.index('id="stories-cadence"')
    assert body.index('id="stories-cadence"') < body.index('id="stories-none"')
    assert "linked with winning" in base.section(body, "stories-multithreading", "</h3>")
    # the stories come after the practices and before the example
    assert page.index('id="practices"') < page.index('id="stories"') < page.index('id="example"')
    for none in (
        render_html(context(stories=None, story_links=None)),
        render_html(base.fake_context()),
    ):
        assert 'id="stories"' not in none and "Customer stories" not in none
    # shared stories that illustrate no practice still make the section
    stories, links = story_frames()
    only = report_view(context(story_links=links.iloc[0:0])).stories
    assert only.present and [g.practice for g in only.groups] == [""]


def test_story_frames_are_checked() -> None:
    stories, links = story_frames()
    with pytest.raises(ReportError, match=r"stories \(run .*\): missing column\(s\) caregiver"):
        context(stories=stories.drop(columns="caregiver"))
    with pytest.raises(ReportError, match="story_links .*: links to no story: s9"):
        context(story_links=pd.concat([links, links.iloc[[0]].assign(story_id="s9")]))
    with pytest.raises(ReportError, match="story_links .*: missing while stories are given"):
        context(story_links=None)


def test_excerpt_cuts_after_a_word() -> None:
    assert rs.excerpt("Short one.\n\nTwo.") == "Short one. Two."
    assert rs.excerpt("alpha beta gamma delta", limit=12) == "alpha beta…"
    assert rs.excerpt("alpha, beta, gamma", limit=12) == "alpha, beta…"
    # near the words that link it: from the start of their sentence
    text = "We won it. Then we checked in every week! It worked."
    assert rs.excerpt(text, near="checked in") == "…Then we checked in every week! It worked."
    assert rs.excerpt(text, near="We won") == text  # the first sentence: nothing cut
    assert rs.excerpt(text, near="absent words") == text


def test_the_report_shows_only_what_the_gate_shares(small_ws, tmp_path) -> None:
    root = tmp_path / "ws"
    shutil.copytree(small_ws, root)
    with Workspace.open(root) as ws:
        imported = ws.read("stories")
        ctx = build_context(ws)
        # no web app yet: [stories] approval "auto" is "none", so every story is shared
        assert ctx.stories is not None
        start = pd.Timestamp(ctx.diagnostics.window_start)
        assert set(ctx.stories["story_id"]) == set(
            imported.loc[imported["created_at"] >= start, "story_id"]
        )
        assert set(ctx.story_links["story_id"]) <= set(ctx.stories["story_id"])
        assert 'id="stories"' in write_report(ws, tmp_path / "a.html").read_text()
    state = AppState(root)
    state.connect().close()  # app state without an account: approval "auto" is still "none"
    with Workspace.open(root) as ws:
        assert sharing.mode(ws) == "none"
    with state.write() as con:  # the web app has an account: nothing is approved
        con.execute(
            "INSERT INTO users (email, password_hash, role) VALUES ('a@test.example', 'x', 'admin')"
        )
    with Workspace.open(root) as ws:
        assert build_context(ws).stories is None
        assert 'id="stories"' not in write_report(ws, tmp_path / "b.html").read_text()
    chosen = ctx.stories.sort_values("story_id").iloc[0]
    frame = library.story_frame(imported, state)
    view = web_stories.views(frame[frame["story_id"] == chosen["story_id"]], {})[0]
    with state.write() as con:
        con.execute(
            "INSERT INTO story_reviews VALUES (?, ?, 'approved', NULL, '2026-01-01T00:00:00Z')",
            [view.story_id, view.digest],
        )
    with Workspace.open(root) as ws:
        one = build_context(ws)
        page = write_report(ws, tmp_path / "c.html").read_text()
    assert one.stories is not None and list(one.stories["story_id"]) == [chosen["story_id"]]
    assert one.stories["rep"].iloc[0] == chosen["rep"]  # the author's name, as the brief names
    assert f"{len(ctx.stories)} customer stories" not in page and "1 customer story" in page
