"""Browser journeys: Playwright driving Debian's Chromium against Django's live server.

Every page a journey opens is watched: a JavaScript error, a Content-Security-Policy
violation or a failed request (4xx/5xx) fails the journey, so "the pages still work
under the CSP" is checked on every page. Celery runs eagerly (routing happens inside
the filing request), as in `make run`. Each journey saves a screenshot of its last
page under test-output/ (git-ignored).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls
# from a thread with a running loop unless told this is deliberate.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
OUTPUT = Path(settings.BASE_DIR) / "test-output"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# axe-core, the npm package (tests/browser/package.json; `make test` installs it), is
# evaluated into each page the journeys open: never served by PosDesk itself.
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
AXE_IMPACTS_FAILING = ("serious", "critical")
AXE_RUN = """async (failing) => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations
    .filter(v => failing.includes(v.impact))
    .map(v => v.impact + ' ' + v.id + ': ' + v.help + ' — ' +
      v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '));
}"""
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

# Collects CSP violations the browser reports to the page (installed before any page script).
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline'));
});
"""


def _missing_browser(what: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} is required for the browser journeys under CI")
    pytest.skip(f"{what} is not available")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing_browser("playwright (requirements.txt)")
    if not CHROMIUM.exists():
        _missing_browser(str(CHROMIUM))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(autouse=True)
def _eager_celery() -> Iterator[None]:
    """Routing and e-mail run inside the request, whatever CELERY_BROKER_URL says."""
    from portal.celery import app

    saved = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = saved


@dataclass
class Watch:
    """What went wrong in the browser while a journey ran."""

    problems: list[str] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)

    def attach(self, page) -> None:  # noqa: ANN001
        page.add_init_script(CSP_LISTENER)
        page.on(
            "console",
            lambda msg: msg.type == "error" and self.problems.append(f"console: {msg.text}"),
        )
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("response", self._response)
        page.on("framenavigated", lambda frame: frame.parent_frame is None and self._visit(frame))

    def _visit(self, frame) -> None:  # noqa: ANN001
        self.pages.append(frame.url)

    def _response(self, response) -> None:  # noqa: ANN001
        if response.status >= 400 and not response.url.endswith("/favicon.ico"):
            self.problems.append(f"HTTP {response.status}: {response.url}")

    def check(self, page) -> None:  # noqa: ANN001
        """Fail on anything collected so far, including CSP violations of this page."""
        violations = page.evaluate("window.__cspViolations || []")
        problems = self.problems + [f"CSP violation: {v}" for v in violations]
        # The console repeats failed requests without their URL; `_response` has them
        # with it (and leaves out the browser's own favicon.ico guess).
        problems = [p for p in problems if "Failed to load resource" not in p]
        assert not problems, "\n".join(problems)


@dataclass
class Session:
    """One user's browser tab, with helpers that act as a person would."""

    page: object
    base_url: str
    watch: Watch
    phone: bool

    def go(self, path: str) -> None:
        self.page.goto(self.base_url + path)
        self.settle()

    def settle(self) -> None:
        self.page.wait_for_load_state("load")
        self.watch.check(self.page)
        if self.phone:
            assert_no_horizontal_scroll(self.page)
        assert_accessible(self.page)

    def log_in(self, username: str, password: str) -> None:
        self.go("/accounts/login/")
        self.page.get_by_label(re.compile("username", re.I)).fill(username)
        self.page.get_by_label(re.compile("password", re.I)).fill(password)
        self.page.get_by_role("button", name=re.compile("log in", re.I)).click()
        self.settle()
        assert "/accounts/login/" not in self.page.url, "log-in failed"

    def nav(self, name: str) -> None:
        """Follow a link of the top navigation (opening the menu on a phone)."""
        toggler = self.page.locator(".navbar-toggler")
        if toggler.is_visible():
            toggler.click()
        self.page.locator("nav.navbar").get_by_role("link", name=name).click()
        self.settle()

    def click(self, role: str, name: str | re.Pattern) -> None:  # noqa: ANN001
        self.page.get_by_role(role, name=name).first.click()
        self.settle()

    def text(self) -> str:
        return self.page.locator("body").inner_text()

    def screenshot(self, name: str) -> Path:
        OUTPUT.mkdir(exist_ok=True)
        path = OUTPUT / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


def _axe_source() -> str:
    if not AXE.exists():
        _missing_browser(f"{AXE} (cd tests/browser && npm ci)")
    return AXE.read_text()


def assert_accessible(page) -> None:  # noqa: ANN001
    """axe-core finds no serious or critical violation on the page as it stands."""
    if page.url.startswith(("about:", "data:")) or "/admin/" in page.url:
        return  # Django's own admin is not ours to fix
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol, not a <script>: the page's CSP
        # (no inline scripts) still applies to everything the page itself runs.
        page.evaluate(_axe_source() + "\n;0")
    violations = page.evaluate(AXE_RUN, list(AXE_IMPACTS_FAILING))
    assert not violations, f"{page.url}:\n" + "\n".join(violations)


def assert_no_horizontal_scroll(page) -> None:  # noqa: ANN001
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{page.url} scrolls sideways: {width[0]}px in {width[1]}px"


@pytest.fixture
def open_session(browser, live_server) -> Iterator[object]:  # noqa: ANN001
    """`open_session(phone=False)` opens a fresh browser context (its own cookies)."""
    contexts = []

    def open_(*, phone: bool = False, locale: str = "en-US") -> Session:
        options = {"viewport": PHONE if phone else DESKTOP, "locale": locale}
        if phone:
            options.update(is_mobile=True, has_touch=True, device_scale_factor=2)
        context = browser.new_context(**options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        watch = Watch()
        watch.attach(page)
        return Session(page=page, base_url=live_server.url, watch=watch, phone=phone)

    yield open_
    for context in contexts:
        context.close()
