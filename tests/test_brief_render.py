"""The brief rendered as HTML, Markdown and PDF from Briefs built by hand: the sections in their
order, questions linked to their rows, nothing fetched or run, only the named rows' names, PDF
pages that are not blank on A4 and Letter, and the short brief of an empty period."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from dataclasses import replace
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from brightspots.brief import charts
from brightspots.brief.model import (
    Action,
    Brief,
    Coverage,
    Deviation,
    Figure,
    Funnel,
    FunnelPoint,
    Point,
    Practice,
    Pulse,
    Question,
    Story,
    Win,
)
from brightspots.brief.period import week
from brightspots.brief.render import (
    BriefRenderError,
    brief_view,
    check_format,
    render_html,
    render_markdown,
    render_pdf,
    write_brief,
)
from brightspots.deviance import funnel_curve
from conftest import require

PERIOD = week(2026, 47)  # 16-22 November 2026; window from 24 August, previous from 25 May
HEADINGS = [
    "Wins",
    "Positive deviations",
    "What worked",
    "Customer stories",
    "Questions for the meeting",
    "Actions",
]
#: every rep of the sample team; only some are named in the brief's rows
ROSTER = {
    "r1": "Ana Silva",
    "r2": "Ben Okafor",
    "r3": "Chen Wei",
    "r4": "Dana Lowe",
    "r5": "Eli Brandt",
    "r6": "Farah Nasser",
    "r7": "Gus Moreau",
}
#: a funnel point carrying a name that no row of the brief holds: the renderer must drop it
STRAY = "Zed Unlisted"


def _weeks(values: list[float | None]) -> tuple[Point, ...]:
    first = PERIOD.previous_start
    return tuple(Point(first + timedelta(weeks=i), v) for i, v in enumerate(values))


def _spark(base: float, lift: float, gap: int | None = None) -> tuple[Point, ...]:
    values: list[float | None] = [base + 0.05 * (i % 3) for i in range(13)]
    values += [base + lift + 0.04 * (i % 4) for i in range(13)]
    if gap is not None:
        values[gap] = None
    return _weeks(values)


def _wins() -> tuple[Win, ...]:
    common = {"account_id": "a1", "team_id": "t1", "replies": 4, "fast_replies": 3}
    return (
        Win(
            opportunity_id="OPP-101",
            deal="Acme renewal",
            account="Acme GmbH",
            rep_id="r1",
            rep="Ana Silva",
            amount=48_000.0,
            closed_on=date(2026, 11, 17),
            p_hat=0.62,
            touches=14,
            contacts=4,
            meetings=2,
            median_response_hours=0.75,
            line="Two demos with the finance lead before the proposal.",
            unlikely=False,
            **common,
        ),
        Win(
            opportunity_id="OPP-102",
            deal="Globex expansion",
            account="Globex BV",
            rep_id="r2",
            rep="Ben Okafor",
            amount=125_500.0,
            closed_on=date(2026, 11, 19),
            p_hat=0.18,
            touches=22,
            contacts=6,
            meetings=3,
            median_response_hours=2.5,
            line="Brought in the buyer's IT team early.",
            unlikely=True,
            **common,
        ),
        Win(
            opportunity_id="opp/103 #x",  # a key that needs a safe element id
            deal="Initech pilot",
            account="Initech",
            rep_id="r1",
            rep="Ana Silva",
            amount=None,
            closed_on=date(2026, 11, 20),
            p_hat=None,
            touches=6,
            contacts=2,
            meetings=1,
            median_response_hours=None,
            line="A one-page plan sent the day after the first call.",
            unlikely=False,
            **common,
        ),
    )


def _deviations() -> tuple[Deviation, ...]:
    return (
        Deviation(
            unit="rep",
            unit_id="r1",
            name="Ana Silva",
            team_id="t1",
            metric="win_rate",
            value=1.62,
            volume=34,
            observed=21.0,
            expected=12.96,
            previous=None,
            peer_median=1.0,
            peers=7,
            z=3.4,
            p_value=0.0003,
            chance="beyond chance",
            sustained=True,
            figures=(Figure(21.0, 12.96, "expected"),),
            sentence="Ana won 21 of 34 deals where about 13 were expected.",
            spark=_spark(0.9, 0.7, gap=17),
        ),
        Deviation(
            unit="rep",
            unit_id="r3",
            name="Chen Wei",
            team_id="t1",
            metric="buyer_impact",
            value=0.41,
            volume=160,
            observed=66.0,
            expected=None,
            previous=0.28,
            peer_median=0.30,
            peers=7,
            z=2.1,
            p_value=0.018,
            chance="likely",
            sustained=False,
            figures=(Figure(0.41, 0.28, "previous"), Figure(0.41, 0.30, "peer_median")),
            sentence="41% of Chen's touches got a buyer to act, up from 28%.",
            spark=_spark(0.28, 0.12),
        ),
        Deviation(
            unit="team",
            unit_id="t1",
            name="Benelux",
            team_id="t1",
            metric="response_hours",
            value=1.4,
            volume=210,
            observed=None,
            expected=None,
            previous=2.1,
            peer_median=2.0,
            peers=4,
            z=1.1,
            p_value=0.14,
            chance="could be chance",
            sustained=False,
            figures=(Figure(1.4, 2.1, "previous", higher_is_better=False),),
            sentence="The team answered buyers in 1.4 hours, down from 2.1.",
            spark=_spark(2.1, -0.7),
        ),
    )


def _practices() -> tuple[Practice, ...]:
    return (
        Practice(
            practice_id="meeting_before_proposal",
            description="A meeting or demo before the proposal was sent",
            phrase="a meeting or demo came before the proposal",
            kind="binary",
            unit="",
            higher_is_better=True,
            odds_ratio=1.8,
            or_low=1.3,
            or_high=2.5,
            q_value=0.01,
            points=9.0,
            wins=3,
            losses=5,
            wins_with=2,
            losses_with=1,
            wins_median=None,
            losses_median=None,
            sentence="Deals with a meeting before the proposal were won more often.",
        ),
        Practice(
            practice_id="contacts",
            description="Buyer contacts reached on the deal",
            phrase="more buyer contacts reached",
            kind="count",
            unit="contacts",
            higher_is_better=True,
            odds_ratio=1.2,
            or_low=1.05,
            or_high=1.4,
            q_value=0.04,
            points=3.0,
            wins=3,
            losses=5,
            wins_with=None,
            losses_with=None,
            wins_median=4.0,
            losses_median=2.0,
            sentence="Each extra contact went with a slightly better chance of winning.",
        ),
    )


def _funnel() -> Funnel:
    expected = np.array([2.5, 4.0, 5.5, 7.0, 8.0, 9.5, 11.0, 12.96, 14.0, 16.0, 18.0, 21.0])
    oe = np.array([0.4, 1.5, 0.8, 1.1, 0.7, 1.3, 0.95, 1.62, 1.05, 0.85, 1.15, 0.9])
    names = [""] * 12
    names[7] = "Ana Silva"
    names[9] = STRAY  # 40 closed deals; must not be drawn: no row of the brief names this rep
    labels = [""] * 12
    labels[7] = "bright_spot"
    labels[5] = "candidate"
    points = tuple(
        FunnelPoint(float(e), float(r), int(round(e / 0.4)), lab, name)
        for e, r, lab, name in zip(expected, oe, labels, names, strict=True)
    )
    curve = funnel_curve(np.linspace(1.0, 22.0, 40), 0.6, 0.02)
    return Funnel(
        points=points,
        curve=tuple(curve.to_dict("records")),
        min_volume=20,
        window_words=PERIOD.window_words,
    )


def sample_brief(**overrides) -> Brief:
    """A full brief of week 47 of 2026 for the Benelux team, built by hand."""
    brief = Brief(
        team_id="t1",
        team="Benelux",
        period=PERIOD,
        created_at=datetime(2026, 11, 23, 7, 30),
        currency="EUR",
        coverage=Coverage(
            first_day=date(2026, 11, 16),
            last_day=date(2026, 11, 21),
            as_of=datetime(2026, 11, 22, 17, 5),
            run_id="run-20261123",
            run_at=datetime(2026, 11, 23, 6, 0),
            run_current=True,
            timezone="Europe/Amsterdam",
        ),
        wins=_wins(),
        n_wins=5,
        won_amount=201_000.0,
        deviations=_deviations(),
        practices=_practices(),
        stories=(
            Story(
                story_id="s-7",
                title="How the Acme renewal was saved",
                body="The finance lead was about to leave.\n\nAna set up a demo with the new "
                "lead within two days.",
                tags=("renewal", "finance"),
                created_on=date(2026, 11, 18),
                rep_id="r1",
                rep="Ana Silva",
                account="Acme GmbH",
                opportunity_id="OPP-101",
                deal="Acme renewal",
                deal_stage="won",
            ),
        ),
        questions=(
            Question("What made Globex say yes so early?", "wins", "OPP-102"),
            Question(
                "What does Ana do in the first week of a deal?", "deviations", "rep:r1:win_rate"
            ),
            Question(
                "Where could a meeting come before the proposal?",
                "practices",
                "meeting_before_proposal",
            ),
            Question("Who else could use the Acme approach?", "stories", "s-7"),
        ),
        actions=(
            Action(
                "Book a meeting or demo before sending any proposal.",
                "meeting_before_proposal",
                "suggested",
            ),
            Action("Reach one more buyer contact on every open deal.", "contacts", "suggested"),
        ),
        previous_actions=(
            Action(
                "Meet the buyer before the proposal.",
                "meeting_before_proposal",
                "agreed",
                before=0.35,
                after=0.55,
                since="More deals had a meeting before the proposal than the period before.",
            ),
        ),
        previous_period="2026-W46",
        pulse=(
            Pulse("2026-W45", 3.1, 2.8, 6),
            Pulse("2026-W46", 3.6, 3.2, 7),
            Pulse("2026-W47", 4.0, 3.9, 7),
        ),
        funnel=_funnel(),
        empty=False,
    )
    return replace(brief, **overrides)


def empty_brief() -> Brief:
    """A period with nothing closed and no activity: previous actions and the pulse remain."""
    base = sample_brief()
    return replace(
        base,
        coverage=replace(
            base.coverage, first_day=None, last_day=None, as_of=datetime(2026, 10, 30, 12, 0)
        ),
        wins=(),
        n_wins=0,
        won_amount=0.0,
        deviations=(),
        practices=(),
        stories=(),
        questions=(),
        actions=(),
        funnel=None,
        empty=True,
    )


# ----------------------------------------------------------------------------- helpers


class _Page(HTMLParser):
    """Headings, ids, links, tags and visible text of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[tuple[str, str]] = []
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self.srcs: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []
        self._heading: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(str(a["id"]))
        for name, value in attrs:
            if name in ("href", "xlink:href") and value is not None:
                self.hrefs.append(value)
            if name == "src" and value is not None:
                self.srcs.append(value)
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = tag
            self.headings.append((tag, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == self._heading:
            self._heading = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._heading is not None:
            tag, text = self.headings[-1]
            self.headings[-1] = (tag, text + data)


def _parse(page: str) -> _Page:
    p = _Page()
    p.feed(page)
    return p


def _in_order(found: list[str], wanted: list[str]) -> bool:
    """Each wanted heading appears, in this order, among ``found`` (matched by ending)."""
    positions = []
    for w in wanted:
        hits = [i for i, f in enumerate(found) if f.strip().endswith(w)]
        if len(hits) != 1:
            return False
        positions.append(hits[0])
    return positions == sorted(positions)


# ----------------------------------------------------------------------------- HTML


@pytest.fixture(scope="module")
def html_a4() -> str:
    return render_html(sample_brief())


def test_html_sections_in_order_and_headings_nested(html_a4: str) -> None:
    page = _parse(html_a4)
    h2 = [t for tag, t in page.headings if tag == "h2"]
    assert h2 == [f"{i}. {h}" for i, h in enumerate(HEADINGS, start=1)]
    levels = [int(tag[1]) for tag, _ in page.headings]
    assert levels[0] == 1 and levels.count(1) == 1
    # no heading skips a level on the way down
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:], strict=False))


def test_html_is_self_contained(html_a4: str) -> None:
    page = _parse(html_a4)
    assert "script" not in page.tags and "<script" not in html_a4.lower()
    assert "link" not in page.tags and "iframe" not in page.tags and "img" not in page.tags
    assert page.srcs == []
    assert all(h.startswith("#") for h in page.hrefs), page.hrefs
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*https?://""", html_a4, re.IGNORECASE)
    assert "@import" not in html_a4 and "url(http" not in html_a4
    # every chart is an accessible image
    assert html_a4.count('role="img"') >= 3 + 1 + 1 + 1  # sparklines, funnel, bars, pulse


def test_every_question_links_to_its_row(html_a4: str) -> None:
    page = _parse(html_a4)
    links = [h for h in page.hrefs if h.startswith("#")]
    assert len(links) == 4
    for href in links:
        assert href[1:] in page.ids, href
    # grounded where the question says: Globex's row, Ana's win-rate row, the practice, the story
    rows = re.findall(r'<a href="#([^"]+)" class="see">\(see ([^)]*)\)', html_a4)
    assert rows[0][0] == "win-OPP-102" and rows[0][1] == "Wins: Globex expansion"
    assert rows[1][0].startswith("dev-rep-r1-win_rate-")
    assert rows[1][1] == "Positive deviations: Ana Silva, wins against expectation"
    assert rows[2] == (
        "practice-meeting_before_proposal",
        "What worked: A meeting or demo came before the proposal",
    )
    assert rows[3] == ("story-s-7", "Customer stories: How the Acme renewal was saved")
    # the opportunity id with a slash and a hash got a safe id of its own
    assert re.search(r'id="win-opp-103-x-[0-9a-f]{6}"', html_a4)
    assert len(page.ids) == len(set(page.ids))


def test_html_names_only_the_named_rows(html_a4: str) -> None:
    brief = sample_brief()
    named = {w.rep for w in brief.wins} | {d.name for d in brief.deviations}
    named |= {s.rep for s in brief.stories}
    assert named == {"Ana Silva", "Ben Okafor", "Chen Wei", "Benelux"}
    for rep in ROSTER.values():
        assert (rep in html_a4) == (rep in named), rep
    assert STRAY not in html_a4  # in the funnel's points with a name, but in no row
    # Ana is named in the funnel plot itself (bright spot, named in the deviations)
    funnel = html_a4[html_a4.index('id="funnel"') :]
    funnel = funnel[: funnel.index("</figure>")]
    assert "Ana Silva" in funnel and "Chen Wei" not in funnel


def test_html_figures_and_words(html_a4: str) -> None:
    text = " ".join(" ".join(_parse(html_a4).text).split())
    assert "5 deals won, worth €201,000. Here are 3 of them." in text
    assert "Won against the odds: deals like this are won about 18% of the time" in text
    assert "62% more wins than expected over 34 closed deals." in text
    # each row's own sentence carries its figures (no list of bare figures beside it)
    assert "Ana won 21 of 34 deals where about 13 were expected." in text
    assert "41% of Chen's touches got a buyer to act, up from 28%." in text
    assert "The team answered buyers in 1.4 hours, down from 2.1." in text
    assert "Deals with a meeting before the proposal were won more often." in text
    # a practice without its own evidence words gets the view's plain ones
    assert "All deals analysed: 9 percentage points more likely to be won" in text
    assert "against 28% in the previous 13 weeks" not in text
    assert "Before: 35%. Since: 55%." in text
    assert "energy went from 3.1 to 4.0 and ideas from 2.8 to 3.9" in text
    # coverage: the data's dates and freshness
    assert "16-21 November 2026" in text
    assert "22 November 2026, 17:05 Europe/Amsterdam" in text
    assert "The data runs to 22 November 2026, so the whole period is covered." in text
    assert "run run-20261123, 23 November 2026, 06:00 UTC" in text
    # the words a rep would not know stay out
    for jargon in ("O/E", "p-value", "z-score", "q-value", "tau"):
        assert jargon not in text, jargon


def test_paper_sizes_and_bad_paper() -> None:
    brief = sample_brief()
    assert "size: A4;" in render_html(brief, paper="A4")
    assert "size: letter;" in render_html(brief, paper="Letter")
    with pytest.raises(BriefRenderError, match="paper 'A3' is not supported: use A4 or Letter"):
        render_html(brief, paper="A3")


def test_stale_run_and_notes_are_said() -> None:
    brief = sample_brief(
        coverage=replace(
            sample_brief().coverage,
            run_current=False,
            notes=("Activity from Gong is missing for 3 days.",),
        )
    )
    text = " ".join(render_html(brief).split())
    assert "The data has changed since the analysis was run" in text
    assert "Activity from Gong is missing for 3 days." in text


def test_names_are_escaped() -> None:
    evil = '<script>alert("x")</script> Bo'
    wins = (replace(_wins()[0], rep=evil, deal="Deal *bold* [x](http://e.vil)"),)
    brief = sample_brief(wins=wins, questions=())
    page = render_html(brief)
    assert "<script>" not in page and "&lt;script&gt;" in page
    md = render_markdown(brief)
    assert "<script>" not in md
    assert "\\*bold\\*" in md and "\\[x\\](http://e.vil)" in md


def test_a_question_without_its_row_is_an_error() -> None:
    brief = sample_brief(questions=(Question("Why?", "wins", "OPP-999"),))
    with pytest.raises(
        BriefRenderError, match=r"question 1 \('Why\?'\) refers to wins row 'OPP-999'"
    ):
        render_html(brief)


def test_a_win_without_a_line_shows_its_counts() -> None:
    wins = (replace(_wins()[0], line=""), _wins()[1])
    view = brief_view(sample_brief(wins=wins, questions=()), draw=False)
    assert view.wins[0].facts == (
        "14 touches, 4 contacts, 2 meetings or demos, 4 buyer messages answered, 3 within an "
        "hour, typical reply in 45 minutes"
    )
    assert view.wins[1].facts == ""  # its own line says what was done
    md = render_markdown(sample_brief(wins=wins, questions=()))
    assert "closed 17 Nov 2026. 14 touches, 4 contacts" in md


def test_company_brief_opens_with_a_capital() -> None:
    view = brief_view(sample_brief(team_id="all", team="the whole company"), draw=False)
    assert view.heading == "The whole company, week 47 of 2026 (16-22 November 2026)"


def test_at_most_five_questions() -> None:
    q = Question("What made Globex say yes so early?", "wins", "OPP-102")
    view = brief_view(sample_brief(questions=(q,) * 7), draw=False)
    assert len(view.questions) == 5


# ----------------------------------------------------------------------------- Markdown


def test_markdown_sections_links_and_no_html() -> None:
    md = render_markdown(sample_brief())
    h2 = [line[3:] for line in md.splitlines() if line.startswith("## ")]
    assert h2 == [f"{i}. {h}" for i, h in enumerate(HEADINGS, start=1)]
    assert md.startswith("# Benelux, week 47 of 2026 (16-22 November 2026)\n")
    assert not re.search(r"(?<!\\)<\s*/?[A-Za-z!][^>]*>", md)  # no HTML tag
    assert "![" not in md  # no image
    assert "1. What made Globex say yes so early? (see Wins: Globex expansion)" in md
    assert "(see Positive deviations: Ana Silva, wins against expectation)" in md
    assert "(see What worked: A meeting or demo came before the proposal)" in md
    assert "(see Customer stories: How the Acme renewal was saved)" in md
    assert "- **Ana Silva**, wins against expectation:" in md
    assert "  - Ana won 21 of 34 deals where about 13 were expected." in md
    assert STRAY not in md and "Dana Lowe" not in md
    # the weekly trend as unicode blocks, split where the window starts, a gap as a dot
    spark = re.search(r"Ana Silva\*\*.*`([▁▂▃▄▅▆▇█·│]+)`", md)
    assert spark is not None
    blocks = spark.group(1)
    assert len(blocks) == 27 and blocks[13] == "│" and blocks[18] == "·"
    assert "- Energy `▁▅█` 3.1 → 3.6 → 4.0" in md


def test_text_sparkline_hand_checked() -> None:
    start = date(2026, 1, 5)
    pts = [Point(start + timedelta(weeks=i), v) for i, v in enumerate([0.0, 1.0, None, 8.0])]
    # 0 -> lowest, 1/8 of the range -> second block, 8 -> highest; window from week 3
    assert charts.text_sparkline(pts, window_start=start + timedelta(weeks=2)) == "▁▂│·█"
    assert charts.text_sparkline(pts, window_start=start) == "▁▂·█"
    assert charts.text_blocks([2.0, 2.0]) == "▄▄"
    assert charts.text_blocks([None]) == ""


# ----------------------------------------------------------------------------- charts


def test_sparkline_shape() -> None:
    d = _deviations()[0]
    svg = charts.sparkline(
        d.spark, higher_is_better=True, window_start=PERIOD.window_start, title="Ana"
    )
    assert svg.startswith('<svg class="spark" width="160" height="36"')
    assert 'role="img"' in svg and "<title>Ana (higher is better;" in svg
    assert svg.count("<rect") == 1  # the window shaded
    # the gap at week 17 splits the window's line in two: one grey path, two orange ones
    assert svg.count('stroke="#9aa5b1"') == 1 and svg.count('stroke="#c2410c"') == 2
    x = float(re.search(r'<rect x="([\d.]+)"', svg).group(1))
    # 26 weeks over 154 px: the window starts between week 12 and 13, at 3 + 12.5 * 154 / 25
    assert x == pytest.approx(3 + 12.5 * 154 / 25, abs=0.1)
    empty = charts.sparkline(
        (), higher_is_better=False, window_start=PERIOD.window_start, title="X"
    )
    assert "no weekly data" in empty


def test_practice_bars_only_for_binary() -> None:
    svg = charts.practice_bars(_practices())
    assert svg is not None and 'role="img"' in svg
    assert "2 of 3 wins" in svg and "1 of 5 losses" in svg
    assert "contacts reached" not in svg.split("</title>", 1)[1]  # the count practice is not drawn
    assert charts.practice_bars(_practices()[1:]) is None


def test_funnel_fits_the_printable_width() -> None:
    svg = charts.funnel(_funnel())
    width = float(re.search(r'<svg[^>]*\bwidth="([\d.]+)"', svg).group(1))
    assert width <= 640
    assert "Ana Silva" in svg and STRAY in svg  # charts.funnel draws what it is given
    # a named rep below the minimum volume (6 closed deals) is drawn, unnamed
    f = _funnel()
    small = replace(f.points[0], name="Tiny Book")
    svg = charts.funnel(replace(f, points=(small, *f.points[1:])))
    assert "Tiny Book" not in svg and svg.count("<path") >= 12


# ----------------------------------------------------------------------------- PDF


def _pages_not_blank(pdf: bytes, tmp: Path) -> int:
    """Render every page at 40 dpi with pdftoppm; each must carry more ink than a page number
    or a footer line (over 500 pixels darker than near-white). PNG read with PIL when
    installed, else PGM."""
    require("pdftoppm", shutil.which("pdftoppm") is not None, "apt-get install poppler-utils")
    src = tmp / "brief.pdf"
    src.write_bytes(pdf)
    try:
        from PIL import Image
    except ImportError:
        Image = None
    mode = "-png" if Image is not None else "-gray"
    subprocess.run(["pdftoppm", "-r", "40", mode, str(src), str(tmp / "page")], check=True)
    pages = sorted(tmp.glob("page*.png" if Image is not None else "page*.pgm"))
    assert pages
    for page in pages:
        if Image is not None:
            with Image.open(page) as im:
                pixels = im.convert("L").tobytes()
        else:
            pixels = _pgm_pixels(page.read_bytes())
        assert sum(1 for v in pixels if v < 215) > 500, page.name
    return len(pages)


def _pgm_pixels(pgm: bytes) -> bytes:
    """The grey levels of a binary PGM (P5) with a maximum of 255."""
    stream = io.BytesIO(pgm)
    fields: list[bytes] = []
    while len(fields) < 4:
        line = stream.readline()
        if not line.startswith(b"#"):
            fields.extend(line.split())
    assert fields[0] == b"P5" and int(fields[3]) == 255
    pixels = stream.read()
    assert len(pixels) == int(fields[1]) * int(fields[2])
    return pixels


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_pdf_pages_are_not_blank(paper: str, tmp_path: Path) -> None:
    pdf = render_pdf(sample_brief(), paper=paper)
    assert pdf.startswith(b"%PDF")
    assert _pages_not_blank(pdf, tmp_path) >= 2
    # the page size: A4 is 595 x 842 points, Letter 612 x 792
    require("pdfinfo", shutil.which("pdfinfo") is not None, "apt-get install poppler-utils")
    info = subprocess.run(
        ["pdfinfo", str(tmp_path / "brief.pdf")], check=True, capture_output=True, text=True
    ).stdout
    size = {"A4": "595.276 x 841.89 pts (A4)", "Letter": "612 x 792 pts (letter)"}[paper]
    assert f"Page size:       {size}" in info


# ----------------------------------------------------------------------------- the empty period


def test_empty_brief_in_all_formats(tmp_path: Path) -> None:
    brief = empty_brief()
    page = render_html(brief)
    text = " ".join(" ".join(_parse(page).text).split())
    assert "No data for this period" in text
    assert "Benelux had no closed deals and no recorded activity in week 47 of 2026" in text
    assert "The latest data in the workspace is from 30 October 2026" in text
    assert "before this period began" in text
    assert "Meet the buyer before the proposal." in text  # last period's action remains
    assert "energy went from 3.1 to 4.0" in text
    h2 = [t for tag, t in _parse(page).headings if tag == "h2"]
    assert h2 == ["No data for this period", "Actions"]
    md = render_markdown(brief)
    assert "## No data for this period" in md and "had no closed deals" in md
    assert "Meet the buyer before the proposal." in md
    assert not re.search(r"(?<!\\)<\s*/?[A-Za-z!][^>]*>", md)
    pdf = render_pdf(brief)
    assert pdf.startswith(b"%PDF")
    assert _pages_not_blank(pdf, tmp_path) == 1


# ----------------------------------------------------------------------------- files


def test_write_brief_atomically(tmp_path: Path) -> None:
    brief = sample_brief()
    out = write_brief(brief, tmp_path / "out" / "brief.md", "md")
    assert out.read_text(encoding="utf-8") == render_markdown(brief)
    out = write_brief(brief, tmp_path / "brief.html", "HTML", paper="letter")
    assert "size: letter;" in out.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["brief.html", "out"]  # no temp file left
    with pytest.raises(
        BriefRenderError, match=r"^brief format 'docx' is not one of html, md, pdf$"
    ):
        write_brief(brief, tmp_path / "brief.docx", "docx")
    with pytest.raises(BriefRenderError, match="is a folder"):
        write_brief(brief, tmp_path, "html")
    with pytest.raises(BriefRenderError, match="paper"):
        write_brief(brief, tmp_path / "b.pdf", "pdf", paper="A5")
    assert not (tmp_path / "b.pdf").exists()
    assert check_format(" PDF ", "letter") == "pdf"
    with pytest.raises(BriefRenderError, match="not one of html, md, pdf"):
        check_format("txt")


def test_questions_on_actions_link_to_them() -> None:
    questions = (
        Question("Who will try one more contact?", "actions", "contacts"),
        Question("Did meetings before proposals help?", "actions", "meeting_before_proposal"),
    )
    view = brief_view(sample_brief(questions=questions), draw=False)
    ids = {a.id for a in (*view.actions, *view.previous_actions)}
    assert [q.href for q in view.questions] == [
        "#action-contacts",
        "#action-meeting_before_proposal",
    ]
    assert all(q.href[1:] in ids for q in view.questions)
    assert view.questions[0].see == "Actions: Reach one more buyer contact on every open deal."
    # a question on last period's action alone links to that row
    only_previous = sample_brief(questions=questions[1:], actions=())
    view = brief_view(only_previous, draw=False)
    assert view.questions[0].href == "#previous-meeting_before_proposal"


def test_stories_show_a_care_badge_and_the_practices_they_illustrate() -> None:
    told = sample_brief().stories[0]
    care = replace(
        told,
        caregiver=True,
        practices=("multithreading", "meeting_before_proposal", "custom_calls"),
        win_opportunity_id="OPP-101",
    )
    plain = replace(told, story_id="s-8", title="A plain story", win_opportunity_id="OPP-999")
    brief = sample_brief(stories=(care, plain))
    view = brief_view(brief, draw=False)
    first, second = view.stories
    # built-in phrases, the brief's own practices' phrases, else the id
    assert first.caregiver and first.practices == (
        "3+ people at the buyer were contacted",
        "A meeting or demo came before the proposal",
        "custom_calls",
    )
    assert first.tied == "About this period's win Acme renewal (Acme GmbH)"
    assert not second.caregiver and second.practices == ()
    assert second.tied == "About a win of this period"  # a win the brief does not list
    html = render_html(brief)
    cards = [html[html.index(f'id="{s.id}"') :] for s in view.stories]
    cards = [c[: c.index("</article>")] for c in cards]
    assert '<span class="tag tag-care">Care</span>' in cards[0]
    assert "Care</span>" not in cards[1]
    assert "Illustrates: " in cards[0] and "Illustrates" not in cards[1]
    assert '<span class="tag tag-practice">3+ people at the buyer were contacted</span>' in cards[0]
    md = render_markdown(brief)
    assert "- **How the Acme renewal was saved** · **Care** (Ana Silva · Acme GmbH" in md
    assert (
        "  - Illustrates: 3+ people at the buyer were contacted; A meeting or demo came before "
        "the proposal; custom\\_calls"
    ) in md
    assert "  - About this period's win Acme renewal (Acme GmbH)." in md
    assert "- **A plain story** (Ana Silva" in md
