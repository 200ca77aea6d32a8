"""Clinic rules go live, in real Chromium: a practice manager adopts and submits, a compliance
reviewer (a second login, with an authenticator) sends it back with a comment on a line, then
approves and publishes the next version; refusals are shown with each reason."""

from __future__ import annotations

from typing import Any

import pytest

try:
    from playwright.sync_api import Page, expect
except ImportError:  # the `page` fixture then skips, or fails under CUTIS_REQUIRE_SERVICES=1
    Page = Any  # type: ignore[misc,assignment]
    expect = None  # type: ignore[assignment]

from tests.web.harness import RunningServer
from tests.web.pages import answer_diffs_with_the_sample, log_in_as, retype_line
from tests.web.people import Authenticator, Person, make_web_clinic

pytestmark = pytest.mark.browser

AETNA = "Aetna commercial (template)"


@pytest.fixture
def clinic(web_server: RunningServer) -> dict[str, Person]:
    return make_web_clinic(web_server, ("practice_manager", "compliance_reviewer")).people


def adopt_aetna_and_edit(
    page: Page, base_url: str, manager: Person, line: int, text: str, failing_tests: str | None = None
) -> str:
    """The manager adopts the Aetna template, retypes a line and saves; returns the rulebook's path.

    With `failing_tests`, saving asks first and says which tests fail: that question is checked and answered yes.
    """
    log_in_as(page.context, base_url, manager.email, manager.password)
    page.goto("/")
    templates = page.get_by_role("list", name="Shipped templates")
    expect(templates).to_contain_text("Medicare benign lesion removal (LCD)")
    templates.get_by_role("button", name=f"Adopt {AETNA}").click()
    expect(page.get_by_role("heading", name=AETNA)).to_be_visible()
    expect(page.locator("#problems-summary")).not_to_have_text("Checking…")
    retype_line(page, line, text)
    questions: list[str] = []
    if failing_tests is not None:
        page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    page.keyboard.press("Control+s")
    expect(page.locator("#save-status")).to_contain_text("Saved")
    expect(page.get_by_role("status").filter(has_text="Draft saved (revision 2).")).to_be_visible()  # the toast
    if failing_tests is not None:
        assert questions == [f"{failing_tests}\n\nSave the draft anyway?"]
    expect(page.locator("#revision")).to_have_text("Revision 2")
    return page.url.removeprefix(base_url)


def submit_from_the_editor(page: Page) -> None:
    page.get_by_role("link", name="Versions").click()
    expect(page.get_by_role("heading", name=f"Versions of {AETNA}")).to_be_visible()
    page.get_by_role("button", name="Submit for review").click()


def reviewer_logs_in(page: Page, reviewer: Person, authenticator: Authenticator) -> None:
    page.goto("/")
    page.get_by_label("Email").fill(reviewer.email)
    page.get_by_label("Password").fill(reviewer.password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_label("One-time code").fill(authenticator.fresh_code())
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Payers and rulebooks")).to_be_visible()


def said(page: Page, text: str) -> None:
    """The versions page reports the outcome of a step (the page's live region says it too)."""
    expect(page.locator("#versions-outcome")).to_contain_text(text)


def enter_code(page: Page, action: str, code: str) -> None:
    dialog = page.get_by_role("dialog", name=action)
    expect(dialog).to_contain_text("6-digit code")
    dialog.get_by_label("Authenticator code").fill(code)
    dialog.get_by_role("button", name=action).click()
    expect(dialog).to_have_count(0)


def test_a_template_goes_live_after_changes_are_requested_on_a_line_then_approved_and_published(
    page: Page, reviewer_page: Page, base_url: str, clinic: dict[str, Person]
) -> None:
    manager, reviewer = clinic["practice_manager"], clinic["compliance_reviewer"]
    authenticator = Authenticator(reviewer.totp_secret or "")
    rulebook_path = adopt_aetna_and_edit(
        page, base_url, manager, 11, 'rule aetna-ak-cap-10 "Aetna covers at most 10 AKs per session"'
    )
    submit_from_the_editor(page)
    said(page, "Version 1 is in review")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)  # a manager approves nothing

    # The reviewer, in their own browser, asks for a change on line 11.
    reviewer_logs_in(reviewer_page, reviewer, authenticator)
    reviewer_page.goto(f"{rulebook_path}/versions")
    expect(reviewer_page.get_by_role("heading", name="Version 1")).to_be_visible()
    expect(reviewer_page.get_by_role("button", name="Submit for review")).to_have_count(0)
    source = reviewer_page.get_by_role("list", name="Text of version 1")
    expect(source).to_contain_text('"Aetna covers at most 10 AKs per session"')
    source.locator('li[data-line="11"]').hover()
    reviewer_page.get_by_role("button", name="Add a comment on line 11").click()
    reviewer_page.get_by_role("textbox", name="Comment on line 11").fill("Say actinic keratoses, as the contract does.")
    reviewer_page.get_by_role("button", name="Request changes").click()
    said(reviewer_page, "Changes requested on version 1")
    on_line = reviewer_page.get_by_role("list", name="Comments on line 11")
    expect(on_line).to_contain_text("Say actinic keratoses, as the contract does.")

    # The manager sees the comment beside its line, edits the draft and submits again.
    page.reload()
    expect(page.get_by_role("row", name="Version 1")).to_contain_text("Changes requested")
    expect(page.get_by_role("list", name="Comments on line 11")).to_contain_text("Say actinic keratoses")
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name=AETNA).click()
    expect(page.locator("#problems-summary")).not_to_have_text("Checking…")
    retype_line(page, 11, 'rule aetna-ak-cap-10 "Aetna covers at most 10 actinic keratoses per visit"')
    page.keyboard.press("Control+s")
    expect(page.locator("#revision")).to_have_text("Revision 3")
    submit_from_the_editor(page)
    said(page, "Version 2 is in review")

    # The reviewer approves version 2 (a wrong code is refused and said so), then publishes it.
    reviewer_page.reload()
    expect(reviewer_page.get_by_role("heading", name="Version 2")).to_be_visible()
    reviewer_page.get_by_role("button", name="Approve").click()
    enter_code(reviewer_page, "Approve", "000000")
    refusal = reviewer_page.get_by_role("alert").filter(has_text="Approve: Not allowed.")
    expect(refusal).to_contain_text("code")
    reviewer_page.get_by_role("button", name="Approve").click()
    enter_code(reviewer_page, "Approve", authenticator.fresh_code())
    said(reviewer_page, "Version 2 is approved")
    reviewer_page.get_by_role("button", name="Publish").click()
    enter_code(reviewer_page, "Publish", authenticator.fresh_code())
    said(reviewer_page, "Version 2 is published.")

    history = reviewer_page.get_by_role("table", name="Version history, newest first").locator("tbody tr")
    expect(history).to_have_count(2)
    expect(history.nth(0)).to_contain_text("Version 2")
    expect(history.nth(0)).to_contain_text("Published")
    expect(history.nth(0)).to_contain_text("by you")  # published by the reviewer
    expect(history.nth(0)).to_contain_text("From 2026-01-01")
    expect(history.nth(1)).to_contain_text("Version 1")
    expect(history.nth(1)).to_contain_text("Changes requested")
    history.nth(1).get_by_role("button", name="Version 1").click()
    expect(reviewer_page.get_by_role("list", name="Comments on line 11")).to_contain_text("Say actinic keratoses")

    page.reload()
    expect(page.get_by_role("row", name="Version 2")).to_contain_text("Published")


def test_a_draft_with_errors_is_refused_with_each_error(page: Page, base_url: str, clinic: dict[str, Person]) -> None:
    adopt_aetna_and_edit(page, base_url, clinic["practice_manager"], 16, "and service.cont > 10 lesions")
    submit_from_the_editor(page)
    refusal = page.get_by_role("alert").filter(has_text="Submit for review: Cannot do that yet.")
    expect(refusal).to_contain_text("a draft with errors cannot be submitted")
    expect(refusal.get_by_role("listitem")).to_have_count(1)
    expect(refusal.get_by_role("listitem")).to_contain_text("service.cont")
    expect(page.get_by_role("table", name="Version history, newest first")).to_have_count(0)


def test_publishing_is_refused_with_each_failing_test(
    page: Page, reviewer_page: Page, base_url: str, clinic: dict[str, Person]
) -> None:
    reviewer = clinic["compliance_reviewer"]
    authenticator = Authenticator(reviewer.totp_secret or "")
    path = adopt_aetna_and_edit(
        page,
        base_url,
        clinic["practice_manager"],
        37,
        "expect line 17003 units 8",
        failing_tests="1 test fails:\n• 20 AKs bill as 17000 + 17003 x9 for Aetna",
    )
    submit_from_the_editor(page)
    said(page, "Version 1 is in review")

    log_in_as(reviewer_page.context, base_url, reviewer.email, reviewer.password, authenticator.fresh_code())
    reviewer_page.goto(f"{path}/versions")
    reviewer_page.get_by_role("button", name="Approve").click()
    enter_code(reviewer_page, "Approve", authenticator.fresh_code())
    reviewer_page.get_by_role("button", name="Publish").click()
    enter_code(reviewer_page, "Publish", authenticator.fresh_code())
    refusal = reviewer_page.get_by_role("alert").filter(has_text="Publish: Cannot do that yet.")
    expect(refusal).to_contain_text("1 of the rulebook's tests fail")
    expect(refusal.get_by_role("listitem")).to_have_count(1)
    expect(refusal.get_by_role("listitem")).to_contain_text("Failing test")
    expect(refusal.get_by_role("listitem")).to_contain_text("20 AKs bill as 17000 + 17003 x9 for Aetna")
    expect(reviewer_page.get_by_role("row", name="Version 1")).to_contain_text("Approved")


def test_the_compare_view_asks_the_server_and_says_when_nothing_differs(
    page: Page, base_url: str, clinic: dict[str, Person]
) -> None:
    path = adopt_aetna_and_edit(page, base_url, clinic["practice_manager"], 11, 'rule aetna-ak-cap-10 "AK cap"')
    submit_from_the_editor(page)
    said(page, "Version 1 is in review")
    rulebook = path.rsplit("/", 1)[1]
    page.goto(f"{path}/versions")
    version = page.get_by_role("row", name="Version 1")
    expect(version).to_be_visible()
    page.goto(f"{path}/compare?from={rulebook}&to={rulebook}")
    expect(page.get_by_role("heading", name="Compare the draft with the draft")).to_be_visible()
    expect(page.get_by_text("The two texts say the same thing.")).to_be_visible()
    expect(page.get_by_text("No rule decides differently.")).to_be_visible()


def test_the_compare_view_draws_changes_side_by_side_regions_and_impact(
    page: Page, base_url: str, clinic: dict[str, Person]
) -> None:
    answer_diffs_with_the_sample(page)
    path = adopt_aetna_and_edit(page, base_url, clinic["practice_manager"], 11, 'rule aetna-ak-cap-10 "AK cap"')
    submit_from_the_editor(page)
    said(page, "Version 1 is in review")
    rulebook = path.rsplit("/", 1)[1]
    page.goto(f"{path}/compare?from={rulebook}&to={rulebook}")
    changes = page.get_by_role("list", name="Changes").locator("> li")
    expect(changes).to_have_count(2)
    rule = page.get_by_role("table", name="rule aetna-ak-cap-10: the draft beside the draft")
    changed_row = rule.locator("tr.diff-changed").nth(1)
    expect(changed_row.locator("td").nth(0)).to_have_text("   and service.count > 10 lesions")
    expect(changed_row.locator("td").nth(1)).to_have_text("   and service.count > 14 lesions")
    expect(page.get_by_role("list", name="Exact regions")).to_contain_text("no longer capped")
    expect(page.get_by_text("3 of 120 sampled encounters code differently.")).to_be_visible()
    expect(page.get_by_role("img", name="Charges up: 3; charges down: 0")).to_be_visible()
    expect(page.get_by_role("row", name="AK-7")).to_contain_text("84.00")
