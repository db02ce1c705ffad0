"""End-to-end fixtures: the real local stack, and Debian's Chromium driven by Playwright.

Every test drives the page served by `python -m infra.local` (web/ at `/`, the
API at `/api/*`, the production security headers). Playwright's routing is
used only to inject failures; the happy paths reach the real handlers, table,
stream and aggregator.
"""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from infra.security_headers import CONTENT_SECURITY_POLICY
from tests.support.page_errors import BrowserErrors
from tools.browser import CHROMIUM, CHROMIUM_ARGS
from tools.launcher import FAST_OPTIONS, LaunchedStack, start

pytestmark = pytest.mark.e2e

# The stats follow the table's stream: give the page time to poll them in.
expect.set_options(timeout=20_000)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Debian's chromium: Playwright's own browser download cannot work here."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: run `make browser` (apt-get install -y chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)  # under CI a missing browser fails the run, never skips it
        pytest.skip(message)
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaunchedStack]:
    """The whole app on an ephemeral table (throttling off: a test that wants a 429
    injects it), started as the integration tests start it."""
    stack = start(tmp_path_factory.mktemp("e2e-stack"), *FAST_OPTIONS)
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def base_url(local_stack: LaunchedStack) -> str:
    """pytest-playwright's base URL: `page.goto("/")` opens the local stack."""
    return local_stack.base_url


@pytest.fixture
def browser_errors(page: Page) -> Iterator[BrowserErrors]:
    """Every test ends with no console error and no uncaught exception."""
    errors = BrowserErrors()
    page.on("console", errors.on_console)
    page.on("pageerror", errors.on_page_error)
    yield errors
    assert errors.messages == [], "the page logged errors:\n" + "\n".join(errors.messages)


@pytest.fixture
def app(page: Page, browser_errors: BrowserErrors) -> Page:
    """The page, opened and showing its first statistics (or their empty state)."""
    response = page.goto("/")
    # the page runs under the production CSP: a violation would be a console error
    assert response is not None
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    expect(page.locator("#stats")).not_to_have_attribute("aria-busy", "true")
    expect(page.locator("#stats-feedback")).not_to_be_empty()
    return page


@pytest.fixture
def output_dir(pytestconfig: pytest.Config) -> Path:
    """pytest-playwright's output folder (test-results/ by default)."""
    folder = Path(str(pytestconfig.getoption("--output"))).absolute()
    folder.mkdir(parents=True, exist_ok=True)
    return folder
