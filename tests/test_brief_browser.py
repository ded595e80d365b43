"""The brief in a real browser: every section is visible, nothing is fetched from anywhere, the
console stays quiet, the questions' links land on their rows, and printed on A4 or Letter no
chart is wider than the page. Screenshots land in test-artifacts/ (brief.png, brief-print-a4.png,
brief-print-letter.png) with a Chromium PDF of the A4 print (brief-a4.pdf)."""

from __future__ import annotations

from pathlib import Path

import pytest

from brightspots.brief.render import write_brief
from conftest import CHROMIUM, CHROMIUM_ARGS, load_sibling, require_browser

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
SCREEN = {"width": 1100, "height": 900}
#: the printable width in CSS pixels (96 per inch): the page less the 18 mm side margins
PRINTABLE = {"A4": round((210 - 36) / 25.4 * 96), "Letter": round((215.9 - 36) / 25.4 * 96)}
SECTIONS = ("#wins", "#deviations", "#practices", "#stories", "#questions", "#actions")

pytestmark = pytest.mark.browser


#: the right edges of every chart and of the body, in CSS pixels
EDGES = """() => ({
  body: document.body.getBoundingClientRect().width,
  svgs: Array.from(document.querySelectorAll('svg')).map(s => s.getBoundingClientRect().right),
  wide: Array.from(document.querySelectorAll('main *'))
    .filter(e => e.getBoundingClientRect().right > document.body.getBoundingClientRect().width + 1)
    .map(e => e.tagName + '.' + e.className),
})"""


def test_brief_renders_in_chromium(tmp_path: Path) -> None:
    require_browser()
    from playwright.sync_api import sync_playwright

    brief = load_sibling("test_brief_render.py").sample_brief()
    pages = {
        "A4": write_brief(brief, tmp_path / "brief-a4.html", "html", paper="A4"),
        "Letter": write_brief(brief, tmp_path / "brief-letter.html", "html", paper="Letter"),
    }
    ARTIFACTS.mkdir(exist_ok=True)
    shots = {
        "screen": ARTIFACTS / "brief.png",
        "A4": ARTIFACTS / "brief-print-a4.png",
        "Letter": ARTIFACTS / "brief-print-letter.png",
        "pdf": ARTIFACTS / "brief-a4.pdf",
    }
    for path in shots.values():
        path.unlink(missing_ok=True)
    requests: list[str] = []
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=SCREEN)
            page.on("request", lambda r: requests.append(r.url))
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on(
                "console",
                lambda m: problems.append(m.text) if m.type in ("error", "warning") else None,
            )
            page.goto(pages["A4"].as_uri())
            page.wait_for_load_state("load")
            assert page.evaluate("document.scripts.length") == 0

            for selector in SECTIONS:
                section = page.locator(selector)
                assert section.count() == 1, selector
                section.scroll_into_view_if_needed()
                assert section.is_visible(), selector
                box = section.bounding_box()
                assert box is not None and box["height"] > 60, selector
                assert box["x"] >= 0 and box["x"] + box["width"] <= SCREEN["width"] + 1
            for selector in ("#funnel svg[role=img]", "#practice-bars svg[role=img]"):
                chart = page.locator(selector)
                chart.scroll_into_view_if_needed()
                assert chart.is_visible(), selector
                box = chart.bounding_box()
                assert box is not None and box["width"] > 250 and box["height"] > 60, selector
            assert page.locator("svg.spark").count() == 3
            label = page.locator("#funnel svg text", has_text="Ana Silva").last
            assert label.is_visible()

            # each question's link lands on its row, which is then on screen
            links = page.locator("ol.questions a.see")
            assert links.count() == 4
            for i in range(4):
                href = links.nth(i).get_attribute("href")
                assert href is not None and href.startswith("#")
                links.nth(i).click()
                target = page.locator(f"[id='{href[1:]}']")
                assert target.count() == 1, href
                box = target.bounding_box()
                assert box is not None and -1 <= box["y"] < SCREEN["height"], href
            page.screenshot(path=str(shots["screen"]), full_page=True)

            for paper in ("Letter", "A4"):  # A4 last: its page is the one saved as PDF
                out = pages[paper]
                page.set_viewport_size({"width": PRINTABLE[paper], "height": 1100})
                page.emulate_media(media="print")
                page.goto(out.as_uri())
                page.wait_for_load_state("load")
                edges = page.evaluate(EDGES)
                assert edges["body"] <= PRINTABLE[paper]
                assert len(edges["svgs"]) >= 6
                assert max(edges["svgs"]) <= edges["body"] + 0.5, (paper, edges)
                assert edges["wide"] == [], (paper, edges["wide"])
                page.screenshot(path=str(shots[paper]), full_page=True)
            page.pdf(path=str(shots["pdf"]), format="A4")
            page.emulate_media(media="screen")
        finally:
            browser.close()

    assert set(requests) == {u.as_uri() for u in pages.values()}  # the files and nothing else
    assert problems == []  # no console error or warning
    assert shots["screen"].stat().st_size > 50_000
    assert shots["A4"].stat().st_size > 30_000 and shots["Letter"].stat().st_size > 30_000
    assert shots["pdf"].read_bytes().startswith(b"%PDF")
