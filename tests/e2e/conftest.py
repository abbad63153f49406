"""Browser tests: a real Chromium (Debian's, never a downloaded one) driven by Playwright
against pytest-django's ``live_server``.

``live_server`` serves static files itself (pytest-django hands LiveServerThread the
staticfiles ``StaticFilesHandler``, which reads through the finders whatever DEBUG is), so
app.css, the admin's assets and django-htmx's htmx script load without collectstatic.
Tests using ``live_server`` run with ``transactional_db`` semantics: the server thread sees
the rows the test creates.
"""

import os
import re
import shutil
from pathlib import Path

import pytest

E2E_DIR = Path(__file__).resolve().parent
DEFAULT_TIMEOUT_MS = 10_000
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if E2E_DIR in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    # Keeps each phase's report on the item so the ``page`` fixture can tell a failure.
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def chromium_path() -> str | None:
    found = shutil.which("chromium")
    if found:
        return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


def _no_browser(reason: str):
    if os.environ.get("FLEXORAA_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (FLEXORAA_REQUIRE_BROWSER=1 makes this a failure)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="package")
def allow_orm_beside_playwright():
    """While Playwright's sync API is started, this thread has a *running* asyncio loop, and
    Django raises SynchronousOnlyOperation for any ORM call made here (fixtures, the
    transactional flush, ``refresh_from_db``). The test thread only sets up and checks rows,
    so the guard is lifted, but only for as long as this package's tests run: set for the
    whole process it would leak into every later test and into their subprocesses
    (``manage.py check --deploy`` fails with async.E001 when it sees the variable)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="package")
def browser(allow_orm_beside_playwright):
    """One headless Chromium for all the browser tests. Package-scoped rather than
    session-scoped so Playwright (and its running loop) stops when the last browser test is
    done, before the rest of the suite runs its ORM calls in this thread."""
    executable = chromium_path()
    if executable is None:
        _no_browser("Chromium is not installed (no `chromium` on PATH, no /usr/bin/chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _no_browser("the playwright Python package is not installed")

    playwright = sync_playwright().start()
    try:
        # A Chromium that is installed but does not start is an error, never a skip.
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
    except Exception:
        playwright.stop()
        raise
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def page(browser, request):
    """A fresh context and page per test; a failing test leaves test-results/<name>.png."""
    from playwright.sync_api import expect

    expect.set_options(timeout=DEFAULT_TIMEOUT_MS)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    yield page
    failed = any(
        getattr(request.node, f"report_{when}", None) is not None
        and getattr(request.node, f"report_{when}").failed
        for when in ("setup", "call")
    )
    if failed:
        results = request.config.rootpath / "test-results"
        results.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        try:
            page.screenshot(path=str(results / f"{name}.png"), full_page=True)
        except Exception as exc:  # the page may be gone; the test's own error matters more
            print(f"Could not save a screenshot for {request.node.nodeid}: {exc}")
    context.close()
