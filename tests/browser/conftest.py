"""Browser tests: the console and the widget driven in a real Chromium by Playwright, against
the service started the Procfile way (gunicorn) on the run's test database and Redis db.

Playwright's own browser download is not used: the tests launch the system Chromium (Debian's
`chromium` package, or CHROMIUM_PATH). Without one they are skipped, and the run says so.
"""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator

import pytest

from testkit.processes import serving
from tests.realtime.harness import WebServer

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
SERVER_SETTINGS = {
    "MESSAGE_RATE_LIMIT": "100000/minute",
    "LOGIN_RATE_LIMIT": "100000/minute",
    "REGISTER_RATE_LIMIT": "100000/minute",
    "GUEST_RATE_LIMIT": "100000/hour",
}
PASSWORD = "password123"  # tests/conftest.py make_account's default
IDENTITY_SECRET = "browser-tests-identity-secret-0123456789abcdef"


def find_chromium() -> str | None:
    explicit = os.environ.get("CHROMIUM_PATH")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    return next((path for name in CANDIDATES if (path := shutil.which(name))), None)


def _playwright_installed() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


CHROMIUM = find_chromium()
SKIP_REASON = (
    None
    if CHROMIUM and _playwright_installed()
    else "browser tests skipped: no Chromium found (apt-get install chromium, or set CHROMIUM_PATH)"
    if _playwright_installed()
    else "browser tests skipped: playwright is not installed (pip install -r requirements-dev.txt)"
)


def pytest_collection_modifyitems(config, items) -> None:
    if SKIP_REASON is None:
        return
    marker = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if "tests/browser/" in item.nodeid:
            item.add_marker(marker)


def pytest_terminal_summary(terminalreporter) -> None:
    if SKIP_REASON is not None:
        terminalreporter.write_sep("!", SKIP_REASON.upper(), yellow=True, bold=True)
    else:
        terminalreporter.write_line(f"browser tests ran in {CHROMIUM}")


@pytest.fixture(scope="session")
def browser_log_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("browser-logs")


@pytest.fixture(scope="session")
def browser_environ(app, test_environ: dict[str, str]) -> dict[str, str]:
    """test_environ once `app` has migrated the test database; chats wait in the queue until
    an agent takes them (no automatic assignment)."""
    return {
        **test_environ,
        **SERVER_SETTINGS,
        "AUTO_ASSIGN_ENABLED": "false",
        "IDENTITY_SECRET": IDENTITY_SECRET,
    }


@pytest.fixture(scope="session")
def web(browser_environ, browser_log_dir) -> Iterator[WebServer]:
    # SIGQUIT: a quick shutdown, open sockets need no grace.
    with serving(
        WebServer("browser-web", browser_environ, browser_log_dir), sig=signal.SIGQUIT
    ) as (server,):
        yield server


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import expect, sync_playwright

    # Waits end as soon as the condition holds; the ceiling only matters on a loaded machine
    # (CI shares two cores with the rest of the suite's processes).
    expect.set_options(timeout=15_000)

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


class Person:
    """One person in their own browser context (own storage, own sockets), with every console
    error and CSP violation of their pages recorded."""

    def __init__(self, browser, base_url: str, **context_args) -> None:
        self.context = browser.new_context(base_url=base_url, **context_args)
        self.context.set_default_timeout(10_000)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("pageerror", lambda error: self.problems.append(f"pageerror: {error}"))
        self.page.on(
            "console",
            lambda message: (
                message.type == "error"
                and "Content Security Policy" in message.text
                and self.problems.append(message.text)
            ),
        )

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def people(browser, web) -> Iterator:
    """people(**context_args) → a new Person on the test server; all closed after the test."""
    opened: list[Person] = []

    def factory(server: WebServer | None = None, **context_args) -> Person:
        person = Person(browser, (server or web).url, **context_args)
        opened.append(person)
        return person

    yield factory
    for person in opened:
        person.close()
