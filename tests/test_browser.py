"""The built site in a real browser: Debian Chromium driven by Playwright, checked with axe-core.

Every page of the real site must have zero axe violations in light and dark mode, make no
request beyond 127.0.0.1, set no cookie and log no error (a CSP violation is one).  The
Exit this page control is driven by mouse, keyboard and Shift x3 on a fixture site whose
exit URL is answered by Playwright, so no test ever leaves the machine.

Playwright never downloads a browser here: it launches /usr/bin/chromium.  Without it (or
without Playwright) these tests skip with the reason, except under CI, where they fail.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import ROOT, SITE_YAML, page

from mend.pipeline import Project, build

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
EXIT_URL = "https://neutral.example/"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def _browser_missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
        import axe_playwright_python  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed (pip install -e '.[test]')"
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    return None


MISSING = _browser_missing()
if MISSING and os.environ.get("CI"):
    raise RuntimeError(f"browser tests cannot run under CI: {MISSING}")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(MISSING is not None, reason=MISSING or "")]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextmanager
def serve(folder: Path):
    """Serve ``folder`` on 127.0.0.1 at a free port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def real_site(tmp_path_factory):
    """The project's own content, built and served."""
    out = tmp_path_factory.mktemp("real") / "site"
    result = build(Project(ROOT, out))
    assert result.written, result.report.format(False)
    with serve(out) as base:
        yield base, sorted(_page_paths(out)), out


def _page_paths(out: Path):
    for html in out.rglob("*.html"):
        rel = html.relative_to(out).as_posix()
        if rel.startswith("pagefind/"):
            continue
        yield rel.removesuffix("index.html") if rel.endswith("index.html") else rel


class Visit:
    """A browser context that records every request leaving 127.0.0.1 and every console error."""

    def __init__(self, browser, **options):
        self.context = browser.new_context(**options)
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.held = []
        self.holding = True
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _route(self, route):
        url = route.request.url
        if urlsplit(url).hostname == "127.0.0.1":
            route.continue_()
        elif url.startswith(EXIT_URL):
            self.held.append(route)       # answered by release(), so a test can look at the page first
            if not self.holding:
                self.release()
        else:
            self.outside.append(url)
            route.abort()

    def release(self):
        """Answer the exit URL's requests: now and from now on."""
        self.holding = False
        for route in self.held:
            route.fulfill(status=200, content_type="text/html", body="<!doctype html><title>Weather</title>")
        self.held.clear()

    def close(self):
        self.release()
        self.context.close()


def _axe(page, rules: list[str] | None = None) -> list[str]:
    """axe-core's violations on the page as it is now (injected once per document)."""
    from axe_playwright_python.sync_playwright import Axe
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(Axe().axe_script)
    only = {"type": "rule", "values": rules} if rules else {"type": "tag", "values": AXE_TAGS}
    violations = page.evaluate("options => axe.run(options).then(r => r.violations)", {"runOnly": only})
    return [f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:3]}" for v in violations]


# ---- every page of the real site -------------------------------------------------------------

def test_every_page_passes_axe_without_third_party_requests(browser, real_site):
    """All of axe's WCAG 2.2 AA and best-practice rules in light mode; colours again in dark."""
    base, paths, _ = real_site
    assert len(paths) > 5
    visit = Visit(browser, viewport=PHONE, color_scheme="light")
    failures = {}
    for path in paths:
        visit.page.goto(base + path)
        problems = _axe(visit.page)
        visit.page.emulate_media(color_scheme="dark")
        problems += [f"dark mode: {p}" for p in _axe(visit.page, ["color-contrast", "link-in-text-block"])]
        visit.page.emulate_media(color_scheme="light")
        if problems:
            failures[path] = problems
    assert not failures, failures
    assert visit.outside == []
    assert visit.errors == []          # CSP violations are reported as console errors
    assert visit.context.cookies() == []
    visit.close()


def test_search_finds_pages_in_the_browser_under_a_sub_path(browser, real_site, tmp_path):
    """Served from /sub/ rather than the root: result links must still land on the pages."""
    _, _, out = real_site
    (tmp_path / "sub").symlink_to(out)
    with serve(tmp_path) as root:
        base = root + "sub/"
        visit = Visit(browser, viewport=PHONE)
        visit.page.goto(base + "search/")
        visit.page.fill("#search-input", "helpline")
        visit.page.wait_for_selector("#search-results li a")
        assert "match" in visit.page.text_content("#search-status")
        assert "¶" not in visit.page.text_content("#search-results")
        assert visit.page.url == base + "search/"      # the query is not put in the URL (nor history)
        assert _axe(visit.page) == []
        visit.page.locator("#search-results li a").first.click()
        assert visit.page.url.startswith(base) and visit.page.url != base + "search/"
        assert visit.page.locator("h1").count() == 1
        assert visit.outside == [] and visit.errors == []
        visit.close()


def test_search_page_without_javascript_points_to_the_sections(browser, real_site):
    base, _, _ = real_site
    visit = Visit(browser, java_script_enabled=False)
    visit.page.goto(base + "search/")
    assert visit.page.is_visible("[data-search-off]")
    assert not visit.page.is_visible("[data-search]")
    visit.close()


# ---- Exit this page --------------------------------------------------------------------------

LONG_PAGE = page("page", "\n".join(
    f"## Part {n}\n\nSome words, [a link](/help/) and [Find A Helpline](https://findahelpline.com).\n\n" + "A line of text.\n\n" * 6
    for n in range(1, 26)), title="Long page")


@pytest.fixture(scope="module")
def exit_site(tmp_path_factory):
    """A fixture site whose exit URL Playwright answers."""
    root = tmp_path_factory.mktemp("exit") / "project"
    shutil.copytree(ROOT / "templates", root / "templates")
    files = {
        "content/site.yaml": SITE_YAML + f"exit_url: {EXIT_URL}\n",
        "content/index.md": page("page", "Welcome.\n", title="Home"),
        "content/help.md": page("page", "Call for help.\n", title="Get help"),
        "content/about.md": page("page", "About us.\n", title="About"),
        "content/long.md": LONG_PAGE,
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, "utf-8")
    result = build(Project(root))
    assert result.written, result.report.format(False)
    with serve(root / "site") as base:
        yield base


PROBE = """() => {
    // Runs after exit.js's own handlers (added later, bubbling), and reports what a reader
    // would see at that instant.  Playwright cannot query a page whose navigation is pending.
    const report = () => {
        if (!document.body.classList.contains('exiting')) return;
        const shown = (selector) => getComputedStyle(document.querySelector(selector)).display !== 'none';
        const alert = document.querySelector('[role=alert]');
        console.log('probe:' + JSON.stringify({main: shown('main'), button: shown('.exit-button'),
                                               alert: alert && alert.textContent}));
    };
    document.addEventListener('click', report);
    window.addEventListener('keyup', report);
    window.addEventListener('keydown', report);
}"""


def _open_long_page(browser, base, **options) -> Visit:
    """Home page first, then the long page, so Back has somewhere to go."""
    visit = Visit(browser, **options)
    visit.page.goto(base)
    visit.page.goto(base + "long/")
    if options.get("java_script_enabled", True):
        visit.page.evaluate(PROBE)
    return visit


def _leave(visit: Visit, base: str, action):
    """Do ``action``; the content must be hidden at once, then replaced by the exit URL,
    and Back must skip the page that was left."""
    page = visit.page
    with page.expect_console_message(lambda m: m.text.startswith("probe:")) as seen:
        action()
    assert seen.value.text == 'probe:{"main":false,"button":false,"alert":"Loading."}'
    visit.release()
    page.wait_for_url(EXIT_URL)
    page.go_back()
    assert page.url == base            # location.replace(): the page left is not in Back's history


def test_exit_button_by_mouse(browser, exit_site):
    visit = _open_long_page(browser, exit_site, viewport=DESKTOP)
    _leave(visit, exit_site, lambda: visit.page.click(".exit-button", no_wait_after=True))
    visit.close()


def test_exit_skip_link_by_keyboard(browser, exit_site):
    visit = _open_long_page(browser, exit_site, viewport=PHONE)
    visit.page.keyboard.press("Tab")
    assert visit.page.evaluate("document.activeElement.textContent") == "Skip to main content"
    visit.page.keyboard.press("Tab")
    assert visit.page.evaluate("document.activeElement.textContent") == "Exit this page"
    assert visit.page.is_visible(".skip-link:focus")
    _leave(visit, exit_site, lambda: visit.page.keyboard.press("Enter"))
    visit.close()


def test_exit_button_by_space_key(browser, exit_site):
    visit = _open_long_page(browser, exit_site, viewport=PHONE)
    visit.page.focus(".exit-button")
    _leave(visit, exit_site, lambda: visit.page.keyboard.press("Space"))
    visit.close()


def test_shift_three_times_exits(browser, exit_site):
    visit = _open_long_page(browser, exit_site, viewport=PHONE)
    status = visit.page.locator("#exit-status")
    visit.page.keyboard.press("Shift")
    assert status.text_content() == "Shift, press 2 more times to exit."
    visit.page.keyboard.press("Shift")
    assert status.text_content() == "Shift, press 1 more time to exit."
    assert visit.page.get_attribute(".exit-button", "data-presses") == "2"
    _leave(visit, exit_site, lambda: visit.page.keyboard.press("Shift"))
    visit.close()


def test_other_keys_and_shift_combinations_do_not_count(browser, exit_site):
    visit = _open_long_page(browser, exit_site, viewport=PHONE)
    keyboard, status = visit.page.keyboard, visit.page.locator("#exit-status")
    keyboard.press("Shift")
    keyboard.press("Shift")
    keyboard.press("a")                              # any other key resets the count
    assert status.text_content() == "Exit this page expired."
    keyboard.press("Shift")
    assert status.text_content() == "Shift, press 2 more times to exit."
    for _ in range(3):
        keyboard.press("Shift+A")                    # Shift as part of a combination
    assert visit.page.url == exit_site + "long/"
    assert visit.page.is_visible("main")
    visit.close()


def test_exit_is_a_plain_link_without_javascript(browser, exit_site):
    visit = _open_long_page(browser, exit_site, viewport=PHONE, java_script_enabled=False)
    visit.page.click(".exit-button", no_wait_after=True)
    visit.release()
    visit.page.wait_for_url(EXIT_URL)
    visit.close()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_sticky_exit_button_never_covers_the_focused_element(browser, exit_site, viewport):
    """WCAG 2.2 2.4.11 Focus Not Obscured: tab through a long page; nothing focused sits under
    the sticky button."""
    visit = _open_long_page(browser, exit_site, viewport=viewport)
    page = visit.page
    focusable = page.evaluate("document.querySelectorAll('a[href], button, input, summary').length")
    covered, deepest = [], 0
    # Forward, then back: Shift+Tab brings elements in at the top, where the button is.
    for key in ["Tab"] * focusable + ["Shift+Tab"] * focusable:
        page.keyboard.press(key)
        deepest = max(deepest, page.evaluate("window.scrollY"))
        overlap = page.evaluate("""() => {
            const el = document.activeElement;
            const button = document.querySelector('.exit-button');
            if (!el || el === document.body || button.contains(el) || el.classList.contains('skip-link')) return null;
            const a = el.getBoundingClientRect(), b = button.getBoundingClientRect();
            const overlaps = a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
            return overlaps ? el.outerHTML.slice(0, 80) : null;
        }""")
        if overlap:
            covered.append(overlap)
    assert covered == []
    assert deepest > viewport["height"]              # the page really scrolled under the button
    visit.close()


def test_print_keeps_the_text_review_dates_and_one_line_of_help(browser, exit_site):
    visit = Visit(browser, viewport=DESKTOP)
    page = visit.page
    page.goto(exit_site + "long/")
    page.emulate_media(media="print")
    for chrome in (".exit", ".skip-link", ".site-nav", ".help-more"):
        assert not page.is_visible(chrome), chrome
    for kept in ("main h1", ".help-lead", ".review", ".print-only"):
        assert page.is_visible(kept), kept
    external = "getComputedStyle(document.querySelector('main a[href^=\"https:\"]'), '::after').content"
    assert page.evaluate(external) == '" (https://findahelpline.com)"'
    visit.close()


def test_search_merges_the_parts_of_a_big_sites_index(browser, make_project, tmp_path, monkeypatch):
    """A site indexed in several Pagefind bundles is searched as one, under a sub-path too."""
    from mend import search
    monkeypatch.setattr(search, "PAGES_PER_BUNDLE", 4)
    files = {f"content/guide/p{i}.md": page("article", f"A zebrafish note, number {i}.\n", title=f"Zebra {i}")
             for i in range(6)}
    project = make_project(files)
    assert build(project).written
    parts = (project.out / "pagefind/parts.json").read_text()
    assert "pagefind-2/" in parts
    (tmp_path / "sub").symlink_to(project.out)
    with serve(tmp_path) as root:
        visit = Visit(browser, viewport=PHONE)
        visit.page.goto(root + "sub/search/")
        visit.page.fill("#search-input", "zebrafish")
        visit.page.wait_for_selector("#search-results li:nth-child(6) a")
        links = visit.page.eval_on_selector_all("#search-results li a", "els => els.map(e => e.href)")
        assert sorted(links) == sorted(f"{root}sub/guide/p{i}/" for i in range(6))
        assert visit.outside == [] and visit.errors == []
        visit.close()


# ---- the help block: the reader's country first ------------------------------------------------

@pytest.fixture(scope="module")
def help_site(tmp_path_factory):
    """A fixture site with the real help.yaml and sources.yaml."""
    root = tmp_path_factory.mktemp("help") / "project"
    shutil.copytree(ROOT / "templates", root / "templates")
    files = {
        "content/site.yaml": SITE_YAML,
        "content/index.md": page("page", "Welcome.\n", title="Home"),
        "content/help.md": page("page", "All the help.\n\n[help: directory]\n", title="Get help"),
        "content/about.md": page("page", "About us.\n", title="About"),
        "content/help.yaml": (ROOT / "content/help.yaml").read_text("utf-8"),
        "content/sources.yaml": (ROOT / "content/sources.yaml").read_text("utf-8"),
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, "utf-8")
    result = build(Project(root))
    assert result.written, result.report.format(False)
    with serve(root / "site") as base:
        yield base


# locale -> (country first, a crisis line and an abuse line that must then show without a tap)
LOCALES = {
    "en-US": ("US", "988", "1-800-799-SAFE (7233)"),
    "en-IE": ("IE", "116 123", "1800 341 900"),
    "en-CA": ("CA", "9-8-8", "1-866-863-0511"),
    "en-AU": ("AU", "13 11 14", "1800 737 732"),
    "en-GB": ("GB", "116 123", "0808 2000 247"),
}


@pytest.mark.parametrize("locale", sorted(LOCALES))
def test_the_readers_country_comes_first_with_its_crisis_and_abuse_lines(browser, help_site, locale):
    country, crisis, abuse = LOCALES[locale]
    visit = Visit(browser, viewport=PHONE, locale=locale)
    visit.page.goto(help_site)
    assert visit.page.evaluate("navigator.languages[0]") == locale
    order = visit.page.eval_on_selector_all(".help-sos li", "els => els.map(e => e.dataset.country)")
    assert order[0] == country and sorted(order) == ["AU", "CA", "GB", "IE", "US"]
    local = visit.page.locator(".help-local")
    assert local.is_visible()                                     # outside the collapsed list
    shown = local.inner_text()
    assert crisis in shown and abuse in shown
    assert visit.page.locator(".help-lines > li").count() == 4    # the other countries stay collapsed
    assert _axe(visit.page) == []
    assert visit.outside == [] and visit.errors == [] and visit.context.cookies() == []
    assert visit.page.evaluate("localStorage.length + sessionStorage.length") == 0   # never stored
    visit.close()


def test_without_javascript_every_emergency_number_shows_in_order(browser, help_site):
    visit = Visit(browser, viewport=PHONE, locale="en-AU", java_script_enabled=False)
    visit.page.goto(help_site)
    rows = visit.page.locator(".help-sos li")
    assert [rows.nth(i).inner_text() for i in range(rows.count())] == [
        "UK 999 or 112", "Ireland 112 or 999", "US 911", "Canada 9-1-1", "Australia 000"]
    assert all(rows.nth(i).is_visible() for i in range(rows.count()))
    assert not visit.page.locator(".help-lines").is_visible()     # helplines wait behind one tap
    visit.close()


def test_live_reload_shows_an_edit_in_the_browser_without_a_touch(browser, make_project):
    """A real ``build.py serve``: open a page, save its Markdown, and the new text appears by
    itself.  The reload script is a file of the preview's own origin, so each page's
    Content-Security-Policy allows it (an inline script was refused, and pages never reloaded)."""
    import select
    import subprocess
    import sys

    from conftest import free_port
    project = make_project({"content/guide/topic.md": page("article", "First version.\n", title="Topic")})
    port = free_port()
    process = subprocess.Popen([sys.executable, str(ROOT / "build.py"), "serve", "--port", str(port),
                                "--root", str(project.root)], stderr=subprocess.PIPE,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        seen = b""
        while b"Serving" not in seen:
            ready, _, _ = select.select([process.stderr], [], [], 120)
            chunk = os.read(process.stderr.fileno(), 65536) if ready else b""
            assert chunk, "serve did not start: " + seen.decode(errors="replace")
            seen += chunk
        context = browser.new_context()
        tab = context.new_page()
        problems = []
        tab.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        tab.goto(f"http://127.0.0.1:{port}/guide/topic/")
        assert "First version." in tab.inner_text("main")
        tab.wait_for_timeout(1000)                   # the reload script has connected
        (project.content / "guide/topic.md").write_text(page("article", "Second version.\n", title="Topic"))
        tab.wait_for_selector("text=Second version.", timeout=30_000)
        assert problems == []                        # no CSP violation, no failed script
        context.close()
        assert "livereload" not in (project.out / "guide/topic/index.html").read_text("utf-8")
    finally:
        process.terminate()
        process.communicate(timeout=30)
