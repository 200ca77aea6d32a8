"""Browser fixtures: one seeded `cutis serve` and one Chromium for the session, a fresh page per test.

Without Chromium (or Playwright) the tests are skipped, except with CUTIS_REQUIRE_SERVICES=1
(CI), where they fail: a missing browser must not pass for a green run.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.web.harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    REPO_ROOT,
    RunningServer,
    build_web_app,
    chromium_problem,
    running_server,
)

ARTIFACTS = REPO_ROOT / "test-artifacts"
REQUIRE_SERVICES = os.environ.get("CUTIS_REQUIRE_SERVICES") == "1"


def _need_chromium() -> None:
    problem = chromium_problem()
    if problem is None:
        return
    if REQUIRE_SERVICES:
        pytest.fail(problem + " (CUTIS_REQUIRE_SERVICES=1: browser tests must not be skipped)")
    pytest.skip(problem)


@pytest.fixture(scope="session")
def web_server() -> Iterator[RunningServer]:
    _need_chromium()
    build_web_app()
    with running_server() as server:
        yield server


@pytest.fixture(scope="session")
def base_url(web_server: RunningServer) -> str:
    return web_server.base_url


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(chromium: Any, base_url: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A new browser context (own cookies) and page; a screenshot is saved when the test fails."""
    from playwright.sync_api import expect

    expect.set_options(timeout=10_000)
    context = chromium.new_context(viewport={"width": 1400, "height": 900}, base_url=base_url)
    context.set_default_timeout(10_000)
    browser_page = context.new_page()
    errors: list[str] = []
    browser_page.on("pageerror", lambda error: errors.append(str(error)))
    yield browser_page
    failed = any(
        getattr(request.node, f"report_{when}", None) and getattr(request.node, f"report_{when}").failed
        for when in ("setup", "call")
    )
    if failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid.split("::", 1)[-1])
        path = ARTIFACTS / f"{name}.png"
        try:
            browser_page.screenshot(path=str(path), full_page=True)
            print(f"\nscreenshot of the failure: {path.relative_to(REPO_ROOT)}")
        except Exception as error:  # the page may be gone; the test's own failure matters more
            print(f"\nno screenshot: {error}")
    context.close()
    assert not errors, f"errors in the page: {errors}"


@pytest.fixture
def reviewer_page(chromium: Any, base_url: str) -> Iterator[Any]:
    """A second person's own browser (own cookies), beside `page`: the reviewer's, in the rules-go-live tests."""
    context = chromium.new_context(viewport={"width": 1400, "height": 900}, base_url=base_url)
    context.set_default_timeout(10_000)
    reviewer = context.new_page()
    errors: list[str] = []
    reviewer.on("pageerror", lambda error: errors.append(str(error)))
    yield reviewer
    context.close()
    assert not errors, f"errors in the reviewer's page: {errors}"
