"""What a practice manager does in the editor, as Playwright steps (shared by tests, screenshots, benchmark)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.web.harness import DEMO_EMAIL, DEMO_PASSWORD

if TYPE_CHECKING:  # Playwright is imported only where a browser runs (not by doctest collection)
    from playwright.sync_api import BrowserContext, Locator, Page

LOGIN = "mutation Login($email: String!, $password: String!) { login(email: $email, password: $password) { ok } }"


def log_in_quickly(context: BrowserContext, base_url: str) -> None:
    """Log in through the API in this browser context (the cookies land in the browser's jar)."""
    response = context.request.post(
        f"{base_url}/graphql",
        data={"query": LOGIN, "variables": {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}},
    )
    assert response.ok and response.json()["data"]["login"]["ok"], response.text()


def graphql(context: BrowserContext, base_url: str, query: str, variables: dict[str, Any] | None = None) -> Any:
    """A GraphQL call with this context's session cookie and CSRF header."""
    csrf = next((c["value"] for c in context.cookies() if c["name"] == "cutis_csrf"), "")
    response = context.request.post(
        f"{base_url}/graphql",
        data={"query": query, "variables": variables or {}},
        headers={"X-CSRF-Token": csrf},
    )
    payload = response.json()
    assert not payload.get("errors"), payload
    return payload["data"]


def rulebook_id(context: BrowserContext, base_url: str, payer: str) -> str:
    data = graphql(context, base_url, "query($p: String) { rulebooks(payer: $p) { id } }", {"p": payer})
    return str(data["rulebooks"][0]["id"])


def open_rulebook(page: Page, base_url: str, payer: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base_url}/rulebooks/{rulebook_id(page.context, base_url, payer)}")
    expect(page.locator(".cm-content")).to_be_visible()
    expect(page.locator("#problems-summary")).not_to_have_text("Checking…")


def editor(page: Page) -> Locator:
    return page.locator(".cm-content")


def _caret_top(page: Page) -> float:
    box = page.locator(".cm-cursor-primary").bounding_box()
    return box["y"] if box else -1.0


def go_to_line(page: Page, line: int) -> None:
    """Put the cursor at the end of a line using the keyboard only.

    Long lines wrap, and ArrowDown and End move by what is drawn: so go down until the next line is
    the current one, to its start (Home twice: the first stops after the indentation), and one step
    back (the last line: Ctrl+End).
    """
    editor(page).focus()
    page.keyboard.press("Control+Home")
    while cursor_line(page) < line + 1:
        before = (cursor_line(page), _caret_top(page))
        page.keyboard.press("ArrowDown")
        if (cursor_line(page), _caret_top(page)) == before:  # the last line of the text
            page.keyboard.press("Control+End")
            return
    page.keyboard.press("Home")
    page.keyboard.press("Home")
    page.keyboard.press("ArrowLeft")


def retype_line(page: Page, line: int, text: str) -> None:
    """Replace a line's text after its indentation, as typed."""
    go_to_line(page, line)
    page.keyboard.press("Home")
    page.keyboard.press("Shift+End")
    page.keyboard.type(text)
    page.keyboard.press("Escape")  # close a completion popup, if any


# The line number shown in the gutter beside an element of the editor's content.
_GUTTER_LINE = """(element) => {
  const line = element.closest('.cm-line');
  const top = line.getBoundingClientRect().top;
  const numbers = [...document.querySelectorAll('.cm-lineNumbers .cm-gutterElement')];
  const match = numbers.find((n) => Math.abs(n.getBoundingClientRect().top - top) < 3);
  return match ? Number(match.textContent) : null;
}"""


def line_of(locator: Locator) -> int | None:
    line: int | None = locator.evaluate(_GUTTER_LINE)
    return line


def cursor_line(page: Page) -> int:
    return int(page.locator(".cm-lineNumbers .cm-activeLineGutter").inner_text())


def log_in_as(context: BrowserContext, base_url: str, email: str, password: str, totp_code: str | None = None) -> None:
    """Log a person in through the API in this browser context (with a code when they have a second factor)."""
    response = context.request.post(
        f"{base_url}/graphql",
        data={"query": LOGIN_WITH_CODE, "variables": {"email": email, "password": password, "code": totp_code}},
    )
    assert response.ok and response.json()["data"]["login"]["ok"], response.text()


LOGIN_WITH_CODE = (
    "mutation Login($email: String!, $password: String!, $code: String)"
    " { login(email: $email, password: $password, totpCode: $code) { ok } }"
)


DIFF_SAMPLE = Path(__file__).with_name("diff_sample.json")


def answer_diffs_with_the_sample(page: Page) -> None:
    """Answer the page's DiffRulebooks requests with a sample RulebookDiff of the documented shape
    (for servers without `diffRulebooks`); every other request reaches the server."""

    def handle(route: Any) -> None:
        body = route.request.post_data_json or {}
        if body.get("operationName") != "DiffRulebooks":
            route.continue_()
            return
        answer = {"data": {"diffRulebooks": json.loads(DIFF_SAMPLE.read_text())}}
        route.fulfill(status=200, content_type="application/json", body=json.dumps(answer))

    page.route("**/graphql", handle)


def aetna_ak_encounter(external_id: str, lesions: int, patient: str = "P-1") -> dict[str, Any]:
    """A CodeEncounter input: Aetna, 2026-03-02, `lesions` actinic keratoses (L57.0) destroyed on the face."""
    return {
        "externalId": external_id,
        "dateOfService": "2026-03-02",
        "provider": {"npi": "1234567893"},
        "patient": {"id": patient, "age": 70, "sex": "female"},
        "coverage": {"payer": "AETNA", "planType": "commercial"},
        "diagnoses": ["L57.0"],
        "note": "Actinic keratoses of the face and scalp treated with liquid nitrogen.",
        "services": [{"id": "d1", "kind": "destruction", "count": lesions, "site": "face", "diagnoses": ["L57.0"]}],
    }
