"""The web app in a real browser (headless Chromium through Playwright).

Each role signs in through the real login form. The rep sees their meter (with charts) and
gets 404 for anything else. The manager sees their teams, the coach page's funnel plot, their
reps' meters and the brief's downloads, and gets 404 for the other manager's team. The admin
adds an account and saves a setting. A rep's story becomes visible to the team once their
manager approves it, and another manager never sees it. A tampered CSRF token gets 403.

Every page sends the CSP (scripts from this site only, no framing), loads htmx, fetches
nothing from elsewhere and leaves the console quiet. The main pages pass basic accessibility
checks: one h1, no skipped heading level, a label for every field, a text alternative for
every chart, and text contrast of at least 4.5:1 (3:1 for large text).

Tests that write work on their own copy of the workspace, served by a second server. The
screenshots are saved in test-artifacts/web/.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conftest import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    WEB_PASSWORD,
    WebOrg,
    live_server,
    require_browser,
)

pytestmark = pytest.mark.browser

SHOTS = ARTIFACTS / "web"
VIEWPORT = {"width": 1200, "height": 900}
NOT_FOUND = "There is no such page, or it is not yours to see."

# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole module (every test gets its own contexts)."""
    require_browser()
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def writable(tmp_path_factory, web_ws: WebOrg) -> Path:
    """A copy of the shared web workspace for the tests that write (admin, stories, CSRF),
    taken before this module's servers start."""
    root = tmp_path_factory.mktemp("web_browser") / "ws"
    shutil.copytree(web_ws.root, root)
    return root


@pytest.fixture(scope="module")
def base(web_ws: WebOrg, writable: Path) -> Iterator[str]:
    """The shared (read-only) workspace's app: its URL."""
    with live_server(web_ws.root) as url:
        yield url


@pytest.fixture(scope="module")
def base_rw(writable: Path) -> Iterator[str]:
    """The app of the writable copy: its URL."""
    with live_server(writable) as url:
        yield url


# ----------------------------------------------------------------------------- a signed-in tab


@dataclass
class Tab:
    """One browser context (one person's cookies) and its page, with what went wrong in it:
    console errors and warnings, uncaught exceptions, requests to anywhere but the app."""

    base: str
    page: Any
    problems: list[str] = field(default_factory=list)
    #: pages expected to answer 4xx (Chromium logs "Failed to load resource" for them)
    expected: set[str] = field(default_factory=set)
    visited: list[str] = field(default_factory=list)

    def go(self, path: str, status: int = 200) -> Any:
        """Open ``path``; the response must have ``status``. Every page is checked for the
        security headers and htmx."""
        url = self.base + path
        if status != 200:
            self.expected.add(url)
        response = self.page.goto(url)
        assert response is not None, path
        assert response.status == status, (path, response.status, self.page.title())
        self.visited.append(path)
        check_page(self.page, response, path)
        return response

    def submit(self, button: str, status: int = 200, *, expect: str = "") -> Any:
        """Click ``button`` (a selector) and wait for the page it leads to."""
        if expect:
            self.expected.add(self.base + expect)
        with self.page.expect_navigation() as nav:
            self.page.click(button)
        response = nav.value
        assert response is not None and response.status == status, (button, response)
        path = self.page.url.removeprefix(self.base)
        self.visited.append(path)
        check_page(self.page, response, path)
        return response

    def h1(self) -> str:
        assert self.page.locator("h1").count() == 1
        return self.page.locator("h1").inner_text().strip()

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    def quiet(self) -> None:
        assert self.problems == [], f"console or page errors on {self.visited}: {self.problems}"


def _watch(tab: Tab) -> None:
    page = tab.page

    def console(m: Any) -> None:
        if m.type not in ("error", "warning"):
            return
        where = (m.location or {}).get("url", "")
        if re.match(r"Failed to load resource: .*status of 4\d\d", m.text) and (
            where in tab.expected
        ):
            return
        tab.problems.append(f"{m.type}: {m.text} ({where})")

    page.on("console", console)
    page.on("pageerror", lambda e: tab.problems.append(f"pageerror: {e}"))

    def request(r: Any) -> None:
        if not r.url.startswith(tab.base + "/") and not r.url.startswith("data:"):
            tab.problems.append(f"request to {r.url}")

    page.on("request", request)


@contextmanager
def opened(browser: Any, base: str) -> Iterator[Tab]:
    """A fresh browser context on ``base`` (nobody signed in); quiet when it closes."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    try:
        tab = Tab(base, context.new_page())
        _watch(tab)
        yield tab
        tab.quiet()
    finally:
        context.close()


@contextmanager
def signed_in(browser: Any, base: str, email: str, password: str = WEB_PASSWORD) -> Iterator[Tab]:
    """A fresh context signed in as ``email`` through the login form, on the home page."""
    with opened(browser, base) as tab:
        tab.go("/login")
        tab.page.fill("#email", email)
        tab.page.fill("#password", password)
        tab.submit("form[action='/login'] button[type=submit]")
        assert tab.page.url == base + "/", tab.page.url
        assert email in tab.page.locator("header .who").inner_text()
        yield tab


# ----------------------------------------------------------------------------- page checks

CSP_HEADER = "content-security-policy"


def check_page(page: Any, response: Any, path: str) -> None:
    """Security headers, and htmx loaded under them."""
    headers = response.headers
    directives = {
        d.strip().split()[0]: d.strip().split()[1:]
        for d in headers.get(CSP_HEADER, "").split(";")
        if d.strip()
    }
    assert directives.get("script-src") == ["'self'"], (path, headers.get(CSP_HEADER))
    assert directives.get("frame-ancestors") == ["'none'"], (path, headers.get(CSP_HEADER))
    assert directives.get("default-src") == ["'none'"], (path, headers.get(CSP_HEADER))
    assert headers.get("x-frame-options") == "DENY", path
    assert headers.get("x-content-type-options") == "nosniff", path
    assert headers.get("referrer-policy") == "no-referrer", path
    assert headers.get("cache-control") == "no-store", path
    assert page.evaluate("typeof window.htmx") == "object", f"htmx is not loaded on {path}"


#: one pass over the page: headings, labels, charts' text alternatives and text contrast
AUDIT = r"""() => {
  const shown = (e) => {
    const r = e.getBoundingClientRect();
    const s = getComputedStyle(e);
    return r.width > 1 && r.height > 1 && s.visibility !== 'hidden' && s.display !== 'none'
      && parseFloat(s.opacity) > 0;
  };
  const levels = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')].map(h => +h.tagName[1]);
  const skips = [];
  levels.forEach((n, i) => {
    const before = i ? levels[i - 1] : 0;
    if (n > before + 1) skips.push(`h${before} then h${n}`);
  });

  const labelled = (e) => (e.id && document.querySelector(`label[for="${CSS.escape(e.id)}"]`))
    || (e.getAttribute('aria-label') || '').trim() || e.getAttribute('aria-labelledby');
  const unlabelled = [...document.querySelectorAll('input, select, textarea')]
    .filter(e => e.type !== 'hidden' && !labelled(e))
    .map(e => e.outerHTML.slice(0, 120));

  // charts: outermost svg elements that are not marked decorative (legend swatches are)
  const svgs = [...document.querySelectorAll('svg')]
    .filter(s => !s.parentElement.closest('svg') && s.getAttribute('aria-hidden') !== 'true');
  const mute = svgs.filter(s => {
    const own = [...s.children].filter(c => ['title', 'desc'].includes(c.tagName.toLowerCase()))
      .some(c => c.textContent.trim());
    const caption = s.closest('figure')?.querySelector('figcaption')?.textContent.trim();
    const named = (s.getAttribute('aria-label') || '').trim() || own || caption;
    return s.getAttribute('role') !== 'img' || !named;
  }).map(s => s.outerHTML.slice(0, 120));

  const rgba = (c) => {
    const m = c.match(/rgba?\(([^)]*)\)/);
    if (!m) return null;
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, under) => {
    const a = top[3];
    return [0, 1, 2].map(i => top[i] * a + under[i] * (1 - a)).concat([1]);
  };
  const backdrop = (e) => {
    const layers = [];
    for (let n = e; n; n = n.parentElement) {
      const c = rgba(getComputedStyle(n).backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    let bg = [255, 255, 255, 1];
    for (const c of layers.reverse()) bg = over(c, bg);
    return bg;
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const texts = [...document.body.querySelectorAll('*')].filter(e =>
    !e.closest('svg') && !['SCRIPT', 'STYLE', 'OPTION'].includes(e.tagName)
    && [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()) && shown(e));
  const failing = [];
  let worst = null;
  for (const e of texts) {
    const s = getComputedStyle(e);
    const bg = backdrop(e);
    const fg = over(rgba(s.color), bg);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(s.fontSize);
    const large = size >= 24 || (size >= 18.66 && +s.fontWeight >= 700);
    const need = large ? 3 : 4.5;
    const item = {
      ratio: Math.round(ratio * 100) / 100, need, tag: e.tagName.toLowerCase(),
      cls: String(e.className), color: s.color, background: `rgb(${bg.slice(0, 3).join(', ')})`,
      text: e.textContent.trim().slice(0, 60),
    };
    if (!worst || ratio / need < worst.ratio / worst.need) worst = item;
    if (ratio < need) failing.push(item);
  }
  return {
    h1: document.querySelectorAll('h1').length, levels, skips, unlabelled, mute,
    texts: texts.length, failing, worst,
  };
}"""


def audit(tab: Tab, name: str) -> dict[str, Any]:
    """Accessibility basics of the page open in ``tab`` (``name`` for the messages)."""
    found = tab.page.evaluate(AUDIT)
    assert found["h1"] == 1, f"{name}: {found['h1']} h1 elements"
    assert found["skips"] == [], f"{name}: heading levels skipped: {found['skips']}"
    assert found["unlabelled"] == [], f"{name}: fields without a label: {found['unlabelled']}"
    assert found["mute"] == [], f"{name}: charts without role=img and a text: {found['mute']}"
    assert found["texts"] > 3, f"{name}: too little text checked ({found['texts']})"
    assert found["failing"] == [], (
        f"{name}: {len(found['failing'])} text elements under the contrast minimum; worst: "
        f"{found['worst']}"
    )
    return found


CHARTS = """(selector) => Array.from(document.querySelectorAll(selector)).map(s => {
  const r = s.getBoundingClientRect();
  return {
    width: r.width, height: r.height,
    marks: s.querySelectorAll('path, rect, line, circle, polyline, polygon').length,
    drawn: Array.from(s.querySelectorAll('path'))
      .filter(p => (p.getAttribute('d') || '').length > 10).length,
  };
})"""


def charts(tab: Tab, selector: str) -> list[dict[str, float]]:
    return tab.page.evaluate(CHARTS, selector)


def assert_drawn(found: list[dict[str, float]], what: str) -> None:
    assert found, f"no {what}"
    for c in found:
        assert c["width"] > 200 and c["height"] > 80, (what, c)
        assert c["marks"] > 5 and c["drawn"] > 0, (what, c)


# ----------------------------------------------------------------------------- the rep


def test_rep_signs_in_and_sees_their_meter(browser: Any, base: str, web_ws: WebOrg) -> None:
    with signed_in(browser, base, web_ws.rep) as tab:
        assert tab.h1() == f"Hello, {web_ws.rep}"
        audit(tab, "home (rep)")
        tab.shot("rep-home")
        nav = tab.page.locator("nav[aria-label=Main] a", has_text="My meter")
        assert nav.get_attribute("href") == f"/reps/{web_ws.rep_id}"
        tab.submit("nav[aria-label=Main] a:has-text('My meter')")
        assert tab.page.url == f"{base}/reps/{web_ws.rep_id}"
        assert tab.h1() == "My meter"
        assert tab.page.locator("nav a[aria-current=page]").inner_text() == "My meter"
        results = tab.page.locator("section[aria-labelledby=results-h] p").first.inner_text()
        assert re.search(r"\d", results) and "expected" in results, results
        assert_drawn(charts(tab, "main figure.chart svg"), "meter chart")
        rows = tab.page.locator("section[aria-labelledby=practices-h] table tbody tr")
        assert rows.count() >= 3
        assert tab.page.locator("section[aria-labelledby=practices-h] thead th").count() == 4
        audit(tab, "meter (rep)")
        tab.shot("rep-meter")

        tab.go(f"/teams/{web_ws.team_id}")
        assert tab.page.locator("section[aria-labelledby=results-h]").count() == 1
        audit(tab, "team (rep)")
        tab.shot("rep-team")
        tab.go("/stories")
        assert tab.page.locator("form[action='/stories'] textarea#body").count() == 1
        audit(tab, "stories (rep)")
        tab.shot("rep-stories")


def test_rep_gets_404_for_what_is_not_theirs(browser: Any, base: str, web_ws: WebOrg) -> None:
    with signed_in(browser, base, web_ws.rep) as tab:
        for path in (
            f"/reps/{web_ws.other_rep_id}",
            f"/teams/{web_ws.other_team_id}",
            f"/teams/{web_ws.parent_id}",
            f"/teams/{web_ws.team_id}/coach",
            f"/teams/{web_ws.team_id}/brief",
            "/admin",
            "/admin/settings",
        ):
            tab.go(path, 404)
            assert tab.h1() == "Not found", path
            assert NOT_FOUND in tab.page.locator("main").inner_text(), path
        audit(tab, "404 page")
        tab.shot("rep-404")
        # the rep's own pages still answer afterwards
        tab.go(f"/reps/{web_ws.rep_id}")


def test_admin_post_only_paths_are_404_for_a_rep(browser: Any, base: str, web_ws: WebOrg) -> None:
    with signed_in(browser, base, web_ws.rep) as tab:
        for path in ("/admin/users", "/admin/data", "/admin/runs"):
            got = tab.page.request.get(base + path)
            assert (got.status, got.headers["content-type"].split(";")[0]) == (404, "text/html"), (
                path,
                got.status,
            )


def test_signed_out_visitors_are_sent_to_the_login_form(browser: Any, base: str) -> None:
    with opened(browser, base) as tab:
        response = tab.go("/stories")
        assert tab.page.url == f"{base}/login?next=/stories"
        assert response.request.redirected_from is not None
        assert tab.h1() == "Sign in"
        audit(tab, "login")
        tab.shot("login")
        # a wrong password is refused with a message, on the login form again
        tab.page.fill("#email", "rep@test.example")
        tab.page.fill("#password", "not the password at all")
        tab.submit("form[action='/login'] button[type=submit]", 401, expect="/login")
        assert "Wrong e-mail or password." in tab.page.locator("p.error").inner_text()


# ----------------------------------------------------------------------------- the manager


def test_manager_teams_coach_meter_and_brief(browser: Any, base: str, web_ws: WebOrg) -> None:
    with signed_in(browser, base, web_ws.manager) as tab:
        teams = tab.page.locator("section[aria-labelledby=teams-h] a")
        hrefs = {teams.nth(i).get_attribute("href") for i in range(teams.count())}
        t = web_ws.team_id
        assert {f"/teams/{t}", f"/teams/{t}/coach", f"/teams/{t}/brief"} <= hrefs, hrefs
        assert f"/teams/{web_ws.other_team_id}" not in hrefs
        assert f"/teams/{web_ws.parent_id}" not in hrefs
        reps = tab.page.locator("section[aria-labelledby=reps-h] a")
        rep_links = {reps.nth(i).get_attribute("href") for i in range(reps.count())}
        assert f"/reps/{web_ws.rep_id}" in rep_links
        assert f"/reps/{web_ws.other_rep_id}" not in rep_links
        audit(tab, "home (manager)")
        tab.shot("manager-home")

        tab.go(f"/teams/{web_ws.team_id}/coach")
        assert tab.h1().startswith("Coach: ")
        assert_drawn(charts(tab, "section[aria-labelledby=funnel-h] svg"), "funnel plot")
        assert (
            tab.page.locator(
                f"section[aria-labelledby=reps-h] a[href='/reps/{web_ws.rep_id}']"
            ).count()
            == 1
        )
        audit(tab, "coach")
        tab.shot("manager-coach")

        tab.go(f"/teams/{web_ws.team_id}")
        assert tab.page.locator(f"main a[href='/teams/{web_ws.team_id}/coach']").count() == 1
        audit(tab, "team (manager)")

        tab.go(f"/reps/{web_ws.rep_id}")
        assert tab.h1().endswith("’s meter")
        assert_drawn(charts(tab, "main figure.chart svg"), "meter chart")
        tab.shot("manager-meter")

        for path in (
            f"/teams/{web_ws.parent_id}",
            f"/teams/{web_ws.parent_id}/coach",
            f"/teams/{web_ws.other_team_id}",
            f"/teams/{web_ws.other_team_id}/coach",
            f"/teams/{web_ws.other_team_id}/brief",
            f"/reps/{web_ws.other_rep_id}",
            "/admin",
        ):
            tab.go(path, 404)
            assert tab.h1() == "Not found", path

        tab.go(f"/teams/{web_ws.team_id}/brief")
        assert tab.h1().startswith("Meeting brief: ")
        assert tab.page.locator("p.error").count() == 0
        assert tab.page.locator("section[aria-labelledby=q-h] ol li").count() >= 1
        audit(tab, "brief")
        tab.shot("manager-brief")
        kinds = {"md": "text/markdown", "pdf": "application/pdf", "html": "text/html"}
        for kind, media in kinds.items():
            link = tab.page.locator(f"ul.links a[download][href*='format={kind}']")
            assert link.count() == 1, kind
            got = tab.page.request.get(base + link.get_attribute("href"))
            assert got.status == 200, (kind, got.status)
            assert got.headers["content-type"].split(";")[0] == media, got.headers
            assert got.headers["content-disposition"].startswith("attachment; filename=")
            body = got.body()
            if kind == "pdf":
                assert body.startswith(b"%PDF") and len(body) > 5000
            else:
                assert len(body) > 500
        # the download link works as a download too
        with tab.page.expect_download() as download:
            tab.page.click("ul.links a[download][href*='format=md']")
        assert download.value.suggested_filename.endswith(".md")
        assert "# " in Path(download.value.path()).read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- the admin


def test_admin_adds_an_account_and_saves_a_setting(
    browser: Any, base_rw: str, writable: Path, web_ws: WebOrg
) -> None:
    from brightspots.workspace import Workspace

    with signed_in(browser, base_rw, web_ws.admin) as tab:
        tab.go("/admin")
        assert tab.h1() == "Admin"
        users = tab.page.locator("#users table tbody tr th")
        listed = {users.nth(i).inner_text() for i in range(users.count())}
        assert {web_ws.rep, web_ws.manager, web_ws.other_manager, web_ws.admin} <= listed
        upload = tab.page.locator("form[action='/admin/data'][enctype='multipart/form-data']")
        assert upload.locator("input[type=file][name=files]").count() == 1
        audit(tab, "admin")
        tab.shot("admin")

        new, new_password = "newrep@test.example", "another long password"
        assert new not in listed
        tab.page.fill("#new-email", new)
        tab.page.select_option("#new-role", "rep")
        tab.page.fill("#new-rep", web_ws.other_rep_id)
        tab.page.fill("#new-password", new_password)
        tab.submit("form[action='/admin/users'] button[type=submit]")
        assert tab.page.locator("p.note[role=status]").inner_text() == f"Account {new} added."
        row = tab.page.locator(
            "#users table tbody tr", has=tab.page.locator(f"th:text-is('{new}')")
        )
        assert row.count() == 1
        assert row.locator("td").nth(0).inner_text() == "rep"
        assert row.locator("td").nth(1).inner_text() == web_ws.other_rep_id

        tab.go("/admin/settings")
        audit(tab, "settings")
        field_ = tab.page.locator("input[name='workspace.currency']")
        before = field_.input_value()
        after = "CHF" if before != "CHF" else "EUR"
        field_.fill(after.lower())
        tab.submit("form[action='/admin/settings'] button[type=submit]")
        note = tab.page.locator("p.note[role=status]").inner_text()
        assert note.startswith("Settings saved"), note
        assert tab.page.locator("input[name='workspace.currency']").input_value() == after
        tab.shot("admin-settings")
    with Workspace.open(writable) as ws:
        assert ws.config["workspace"]["currency"] == after

    # the new account signs in and sees its own meter
    with signed_in(browser, base_rw, new, new_password) as tab:
        tab.go(f"/reps/{web_ws.other_rep_id}")
        assert tab.h1() == "My meter"


# ----------------------------------------------------------------------------- stories


def test_story_is_shared_once_the_manager_approves_it(
    browser: Any, base_rw: str, web_ws: WebOrg
) -> None:
    title = "The pilot that turned the renewal"
    with signed_in(browser, base_rw, web_ws.rep) as rep:
        rep.go("/stories")
        rep.page.fill("#title", title)
        rep.page.fill("#body", "We ran a two-week pilot.\n\nThe buyer's team saw the numbers.")
        rep.submit("form[action='/stories'] button[type=submit]")
        assert (
            rep.page.locator("p.note[role=status]").inner_text().startswith("Your story is saved")
        )
        mine = rep.page.locator("section[aria-labelledby=own-h] li", has_text=title)
        assert mine.count() == 1
        assert mine.locator(".status").inner_text() == "waiting"
        assert mine.locator("p").count() == 2  # two paragraphs
        rep.go(f"/teams/{web_ws.team_id}")
        assert title not in rep.page.locator("section[aria-labelledby=stories-h]").inner_text()

        with signed_in(browser, base_rw, web_ws.other_manager) as other:
            other.go("/stories")
            assert title not in other.page.locator("main").inner_text()

        # the manager of the team above manages the rep too
        with signed_in(browser, base_rw, web_ws.region_manager) as region:
            region.go("/stories")
            above = region.page.locator("section[aria-labelledby=review-h] li", has_text=title)
            assert above.locator("button[value=approved]").count() == 1

        with signed_in(browser, base_rw, web_ws.manager) as manager:
            manager.go("/stories")
            waiting = manager.page.locator("section[aria-labelledby=review-h] li", has_text=title)
            assert waiting.count() == 1
            audit(manager, "stories (manager)")
            manager.shot("manager-stories")
            manager.submit(
                "section[aria-labelledby=review-h] li:has-text('"
                + title
                + "') button[value=approved]"
            )
            note = manager.page.locator("p.note[role=status]").inner_text()
            assert note == f"“{title}” approved: it is shared on the team page.", note
            assert (
                manager.page.locator("section[aria-labelledby=review-h] li", has_text=title).count()
                == 0
            )
            done = manager.page.locator("section[aria-labelledby=reviewed-h] li", has_text=title)
            assert done.locator(".status").inner_text() == "approved"

        with signed_in(browser, base_rw, web_ws.other_manager) as other:
            other.go("/stories")
            assert title not in other.page.locator("main").inner_text()

        rep.go(f"/teams/{web_ws.team_id}")
        shared = rep.page.locator("section[aria-labelledby=stories-h] li", has_text=title)
        assert shared.count() == 1
        assert "The buyer's team saw the numbers." in shared.inner_text()
        rep.shot("rep-team-story")
        rep.go("/stories")
        mine = rep.page.locator("section[aria-labelledby=own-h] li", has_text=title)
        assert mine.locator(".status").inner_text() == "approved"


# ----------------------------------------------------------------------------- CSRF

TAMPER = """(form) => {
  const field = document.querySelector(`form[action="${form}"] input[name=csrf]`);
  const was = field.value;
  field.value = was.slice(0, -4) + (was.endsWith('AAAA') ? 'BBBB' : 'AAAA');
  return was.length;
}"""


def test_tampered_csrf_token_is_403(browser: Any, base_rw: str, web_ws: WebOrg) -> None:
    with signed_in(browser, base_rw, web_ws.rep) as tab:
        tab.go("/stories")
        tab.page.fill("#title", "Should never be saved")
        tab.page.fill("#body", "A forged form.")
        assert tab.page.evaluate(TAMPER, "/stories") > 20
        tab.submit("form[action='/stories'] button[type=submit]", 403, expect="/stories")
        assert tab.h1() == "Not allowed"

        tab.go("/stories")
        assert "Should never be saved" not in tab.page.locator("main").inner_text()

        assert tab.page.evaluate(TAMPER, "/logout") > 20
        tab.submit("form[action='/logout'] button[type=submit]", 403, expect="/logout")
        assert tab.h1() == "Not allowed"
        tab.go("/")  # still signed in
        assert tab.page.url == base_rw + "/"

        # the untouched form signs out
        tab.submit("form[action='/logout'] button[type=submit]")
        assert tab.page.url == base_rw + "/login"
        tab.go("/stories")
        assert tab.page.url.startswith(base_rw + "/login?next=")


# ----------------------------------------------------------------------------- the checks check

BAD_PAGE = """<!DOCTYPE html><html lang="en"><body style="background: #f5f7fa">
<h1>One</h1><h3>Skipped a level</h3><h1>Two</h1>
<p style="color: #999999">Grey on near-white</p>
<p style="color: #1f2933">Dark enough</p>
<h2 style="font-size: 30px; color: #8a8a8a">Large grey text passes at 3 to 1</h2>
<div style="background: rgba(0, 0, 0, 0.5)"><span style="color: #222">Dark on dimmed</span></div>
<label for="named">Named</label><input id="named"><input id="nameless"><select></select>
<input type="hidden" name="csrf"><textarea aria-label="Body"></textarea>
<svg width="300" height="100"><rect width="300" height="100"></rect></svg>
<figure><svg role="img" width="300" height="100"><rect width="9" height="9"></rect></svg>
<figcaption>Captioned</figcaption></figure>
<svg aria-hidden="true" width="16" height="16"><rect width="9" height="9"></rect></svg>
</body></html>"""


def test_the_audit_finds_what_it_should(browser: Any) -> None:
    """The accessibility checks above fail on a page made to break each of them."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.set_content(BAD_PAGE)
        found = page.evaluate(AUDIT)
    finally:
        context.close()
    assert found["h1"] == 2
    assert found["skips"] == ["h1 then h3"]
    assert len(found["unlabelled"]) == 2  # #nameless and the select
    assert "nameless" in found["unlabelled"][0] and "<select" in found["unlabelled"][1]
    assert len(found["mute"]) == 1 and '<rect width="300"' in found["mute"][0]
    # by hand (WCAG relative luminance): #999999 on #f5f7fa is 2.65; #222222 on 50% black over
    # #f5f7fa, i.e. on rgb(122.5, 123.5, 125), is 3.78; #8a8a8a on #f5f7fa is 3.22, enough for
    # large text (30px)
    failing = {f["text"]: f["ratio"] for f in found["failing"]}
    assert set(failing) == {"Grey on near-white", "Dark on dimmed"}, failing
    assert failing["Grey on near-white"] == pytest.approx(2.65, abs=0.01)
    assert failing["Dark on dimmed"] == pytest.approx(3.78, abs=0.01)
    assert found["worst"]["text"] == "Grey on near-white"
