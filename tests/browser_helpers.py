"""What the browser tests share: Debian's headless Chromium driven by Playwright, a page that fails
the test on any JavaScript error, screenshots under artifacts/, and a processes folder of handlers only."""
import contextlib
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from serve_helpers import ADMIN_PASSWORD
from web_helpers import ROOT, processes_folder

CHROMIUM = "/usr/bin/chromium"
# Chromium as root, offline: what this machine's closed network needs (no background connections).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "artifacts"  # CI keeps this folder


@contextlib.contextmanager
def launched_chromium():
    """Yields a Playwright Browser on Debian's Chromium; the test fails (not skips) where it is missing."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; .ci/run does)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def browser_fixture(scope: str = "module"):
    """A `browser` fixture of that scope on launched_chromium(): a test module assigns it to `browser`."""
    @pytest.fixture(scope=scope, name="browser")
    def browser():
        with launched_chromium() as chromium:
            yield chromium
    return browser


def page_fixture(viewport: dict):
    """A `page` fixture (page_for, with that viewport) on the module's `server` fixture, a running_serve
    dict: a test module assigns it to `page`."""
    @pytest.fixture(name="page")
    def page(browser, server):
        with page_for(browser, server["base"], viewport) as page:
            yield page
    return page


@contextlib.contextmanager
def page_for(browser: Browser, base: str, viewport: dict,
             signed_in_as: tuple[str, str] | None = ("admin", ADMIN_PASSWORD)):
    """Yields a page in a fresh context on `base`, signed in as `signed_in_as` (name, password; the
    first admin of running_serve unless None); on leaving, the context closes and any uncaught
    JavaScript error the page raised fails the test (a broken script is a bug even if the test passed)."""
    context = browser.new_context(base_url=base, viewport=viewport)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        if signed_in_as is not None:
            sign_in(page, base, *signed_in_as)
        yield page
    finally:
        context.close()
        assert errors == [], f"JavaScript errors: {errors}"


def sign_in(page: Page, base: str, name: str, password: str) -> None:
    """Signs in through the /sign-in page; fails when the page does not let the person in."""
    page.goto(f"{base}/sign-in")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("#sign-in-form button[type=submit]")
    page.wait_for_selector("#signed-in")


def screenshot(page: Page, folder: str, name: str) -> None:
    """The whole page as artifacts/<folder>/<name>.png."""
    target = ARTIFACTS / folder
    target.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target / f"{name}.png"), full_page=True)


def upload(page: Page, *paths: Path) -> None:
    """Deploys diagram files through the processes page's upload form."""
    page.goto("/processes")
    page.set_input_files("#files", [str(path) for path in paths])
    page.click("#upload button[type=submit]")


def require_built(bundle: Path) -> None:
    """Fails the test (never skips it) where the front end has not been built."""
    if not bundle.exists():
        pytest.fail(f"{bundle} is missing: run `npm ci && npm run build` (test.sh does)")


def handlers_only(folder: Path) -> Path:
    """processes_folder(folder) without its diagrams: the server knows the handlers, the tests deploy."""
    processes = processes_folder(folder)
    for diagram in processes.rglob("*.bpmn"):
        diagram.unlink()
    return processes
