"""The written report in a real browser: the funnel plot, the caterpillar plot, the bright-spot
table, the team section, effort by team, the practices' forest plot and the example personal view
are visible, nothing is fetched from anywhere, the console stays quiet, and a full-page
screenshot lands in test-artifacts/report.png."""

from __future__ import annotations

from pathlib import Path

import pytest

from brightspots.report import write_report
from brightspots.workspace import init_workspace
from conftest import CHROMIUM, CHROMIUM_ARGS, load_sibling, require_browser

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
VIEWPORT = {"width": 1440, "height": 900}

pytestmark = pytest.mark.browser


def test_report_renders_in_chromium(tmp_path: Path) -> None:
    require_browser()
    from playwright.sync_api import sync_playwright

    data = load_sibling("test_report.py")  # the hand-made run
    extra = load_sibling("test_report_practices.py")  # its effort and practice tables
    ws = init_workspace(tmp_path / "acme-sales")
    # two earlier runs (the oldest in the old format) for the history across runs
    (a, b), (when_a, when_b) = data.past_frames(), [w for _, w in data.PAST]
    data.store(ws, a, data.old_diagnostics(n_units=29, n_bright_spots=1, n_candidates=2), when_a)
    data.store(ws, b, data.fake_diagnostics(), when_b)
    # the reported run has effort, practices and peers too
    data.store(
        ws,
        {**data.fake_frames(), **extra.practice_frames()},
        data.fake_diagnostics(rankability=0.62, practices=extra.PRACTICE_NOTES),
        data.RUN_TIME,
    )
    out = write_report(ws, tmp_path / "report.html")
    ws.close()

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    requests: list[str] = []
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.on("request", lambda r: requests.append(r.url))
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on(
                "console",
                lambda m: problems.append(m.text) if m.type in ("error", "warning") else None,
            )
            page.goto(out.as_uri())
            page.wait_for_load_state("load")

            for selector in (
                "#funnel-win_rate svg[role=img]",
                "#funnel-won_revenue svg[role=img]",
                "#caterpillar-win_rate svg[role=img]",
                "table#bright-spots",
                "#funnel-team svg[role=img]",
                "table#team-table",
                "#effort-team-1 svg[role=img]",
                "table#effort-table",
                "#forest svg[role=img]",
                "table#practice-table",
                "#example-weeks svg[role=img]",
                "table#example-practices",
            ):
                element = page.locator(selector)
                assert element.count() == 1, selector
                element.scroll_into_view_if_needed()
                assert element.is_visible(), selector
                box = element.bounding_box()
                assert box is not None and box["width"] > 200 and box["height"] > 80, selector
                # in the viewport after scrolling: on screen (a table taller than the screen
                # is scrolled to its middle)
                assert box["y"] < VIEWPORT["height"] and box["y"] + box["height"] > 0, selector
                if box["height"] <= VIEWPORT["height"]:
                    assert 0 <= box["y"], (selector, box)
                assert box["x"] >= 0 and box["x"] + box["width"] <= VIEWPORT["width"] + 1

            # the named points are drawn as text inside the charts, not clipped away
            for chart, name in (
                ("#funnel-win_rate", "Ana Silva"),
                ("#funnel-won_revenue", "Nadia Rahman"),
                ("#caterpillar-win_rate", "Chen Wei"),
                ("#funnel-team", "Benelux"),
            ):
                label = page.locator(f"{chart} svg text", has_text=name).last
                assert label.is_visible(), (chart, name)
            rows = page.locator("table#bright-spots tbody tr")
            assert rows.count() == 4
            first = rows.nth(0).inner_text()
            # the script-like name is shown as text, never run
            assert page.evaluate("document.scripts.length") == 0
            assert '<script>alert("x")</script> Bo' in first
            assert "NEW" in first  # the trend word (shown in capitals)
            assert "Above expectation in 3 of the last 4 quarters" in first
            second = rows.nth(1).inner_text()
            assert "Ana Silva won 31 of 52 deals" in second and "SUSTAINED" in second
            teams = page.locator("table#team-table tbody tr")
            assert teams.count() == 2
            assert "Benelux won 283 of 782 deals" in teams.nth(0).inner_text()

            # the sections of effort, practices and the example personal view
            for heading in (
                "Effort and buyer impact, team by team",
                "What bright spots do differently: practices",
                "What Chen Wei sees: an example personal view",
            ):
                assert page.get_by_role("heading", name=heading, exact=True).is_visible()
            assert page.locator("#effort svg[role=img]").count() == 3
            label = page.locator("#forest svg text", has_text="cadence (suspect)")
            assert label.is_visible()
            suggested = page.locator("table#example-practices tr.suggested")
            assert suggested.count() == 1 and "multithreading" in suggested.inner_text()

            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()

    assert requests == [out.as_uri()]  # the page itself and nothing else
    assert problems == []  # no console error or warning
    assert shot.stat().st_size > 50_000
