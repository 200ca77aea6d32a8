"""Take a screenshot of each main screen of the rule editor into docs/screenshots/.

Run: scripts/screenshots [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import Page, expect, sync_playwright

from tests.web.harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DEMO_EMAIL,
    DEMO_PASSWORD,
    REPO_ROOT,
    build_web_app,
    running_server,
)
from tests.web.pages import go_to_line, open_rulebook, retype_line


def take(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []

    def shot(page: Page, name: str) -> None:
        page.mouse.move(0, 0) if name != "editor-diagnostic" else None
        path = out / f"{name}.png"
        page.screenshot(path=str(path))
        shots.append(path)

    build_web_app()
    with running_server() as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 860}, base_url=server.base_url).new_page()

        page.goto("/")
        page.get_by_label("Email").fill(DEMO_EMAIL)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        shot(page, "login")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Payers and rulebooks")).to_be_visible()
        shot(page, "payers")

        open_rulebook(page, server.base_url, "AETNA")
        retype_line(page, 16, "and service.cont > 10 lesions")
        squiggle = page.locator(".cm-lintRange-error")
        expect(squiggle).to_have_count(1)
        squiggle.hover()
        expect(page.locator(".cm-tooltip-lint")).to_be_visible()
        shot(page, "editor-diagnostic")

        retype_line(page, 16, "and service.count > 10 lesions")
        retype_line(page, 37, "expect line 17003 units 8")
        expect(page.locator("#problems-summary")).to_have_text("No problems")
        page.get_by_role("button", name="Run tests").click()
        expect(page.get_by_role("tabpanel", name="Tests").get_by_role("status")).to_contain_text("tests passed")
        go_to_line(page, 31)
        shot(page, "test-results")

        retype_line(page, 37, "expect line 17003 units 9")
        page.get_by_role("tab", name="Try on an encounter").click()
        page.get_by_label("Sample encounter").select_option(label="20 actinic keratoses destroyed (Aetna)")
        page.get_by_role("button", name="Try it").click()
        expect(page.get_by_role("list", name="Claim lines")).to_be_visible()
        go_to_line(page, 11)
        shot(page, "try-on-encounter")
        browser.close()
    return shots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "screenshots")
    for path in take(parser.parse_args().out):
        print(path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path)


if __name__ == "__main__":
    main()
