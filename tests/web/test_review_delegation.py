"""Onboarding staff in the reviewer's part, in real Chromium.

A clinic whose only qualified approver is its owner: the manager submits the Aetna template; the
onboarding person chooses the clinic and sees nothing to approve; the owner, on the payers page, lets onboarding staff
review with a fresh code; the onboarding person then approves the version with their own code, and
is offered no Publish (publishing stays with the owner)."""

from __future__ import annotations

from typing import Any

import pytest

try:
    from playwright.sync_api import Page, expect
except ImportError:  # the `page` fixture then skips, or fails under CUTIS_REQUIRE_SERVICES=1
    Page = Any  # type: ignore[misc,assignment]
    expect = None  # type: ignore[assignment]

from tests.server.graphql_ops import operation
from tests.web.harness import RunningServer
from tests.web.pages import graphql, log_in_as
from tests.web.people import Authenticator, Person, make_web_clinic
from tests.web.test_rules_go_live import enter_code, reviewer_logs_in, said

pytestmark = pytest.mark.browser

AETNA = "Aetna commercial (template)"


@pytest.fixture
def clinic(web_server: RunningServer) -> dict[str, Person]:
    roles = ("owner", "practice_manager", "onboarding")
    return make_web_clinic(web_server, roles, "Solo Dermatology", second_factor=("onboarding",)).people


def test_the_owner_lets_onboarding_staff_approve_but_not_publish(
    page: Page, reviewer_page: Page, base_url: str, clinic: dict[str, Person]
) -> None:
    owner, manager, onboarding = clinic["owner"], clinic["practice_manager"], clinic["onboarding"]
    owner_codes, onboarding_codes = Authenticator(owner.totp_secret or ""), Authenticator(onboarding.totp_secret or "")

    log_in_as(page.context, base_url, manager.email, manager.password)
    adopted = graphql(page.context, base_url, operation("AdoptTemplate"), {"name": AETNA})["adoptTemplate"]
    submitted = graphql(
        page.context,
        base_url,
        operation("SubmitRulebookForReview"),
        {"id": adopted["id"], "baseRevision": adopted["draftRevision"]},
    )["submitRulebookForReview"]
    assert submitted["__typename"] == "RulebookVersion", submitted
    versions = f"/rulebooks/{adopted['id']}/versions"

    # Without the owner's permission, onboarding staff have nothing to approve.
    # Onboarding staff name the clinic they work in: the page asks, then opens what was asked for.
    log_in_as(page.context, base_url, onboarding.email, onboarding.password, onboarding_codes.fresh_code())
    page.goto(versions)
    expect(page.get_by_role("heading", name="Choose a clinic")).to_be_visible()
    page.get_by_role("list", name="Your clinics").get_by_role("button", name="Solo Dermatology").click()
    expect(page.get_by_role("heading", name="Version 1")).to_be_visible()
    expect(page.get_by_role("link", name="Switch clinic")).to_be_visible()
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)

    # The owner lets them, from the payers page, with a fresh code.
    reviewer_logs_in(reviewer_page, owner, owner_codes)
    panel = reviewer_page.get_by_role("region", name="Who reviews rulebook versions")
    expect(panel).to_contain_text("Your clinic has 1 person who may approve.")
    panel.get_by_role("button", name="Let onboarding staff review").click()
    enter_code(reviewer_page, "Let onboarding staff review", owner_codes.fresh_code())
    expect(panel).to_contain_text("Onboarding staff may now review.")
    expect(panel).to_contain_text("Onboarding staff may approve rulebook versions or ask for changes")
    expect(panel.get_by_role("button", name="Stop onboarding staff reviewing")).to_be_visible()

    # The onboarding person approves with their own code; publishing is not theirs.
    page.reload()
    page.get_by_role("button", name="Approve").click()
    enter_code(page, "Approve", onboarding_codes.fresh_code())
    said(page, "Version 1 is approved")
    expect(page.get_by_role("button", name="Publish")).to_have_count(0)

    # The owner sees the approval and publishes.
    reviewer_page.goto(versions)
    expect(reviewer_page.get_by_role("row", name="Version 1")).to_contain_text("Approved")
    expect(reviewer_page.get_by_role("button", name="Publish")).to_be_visible()


def test_a_clinic_with_two_approvers_offers_no_switch(page: Page, base_url: str, web_server: RunningServer) -> None:
    people = make_web_clinic(web_server, ("owner", "compliance_reviewer"), "Twin Dermatology").people
    owner = people["owner"]
    reviewer_logs_in(page, owner, Authenticator(owner.totp_secret or ""))
    panel = page.get_by_role("region", name="Who reviews rulebook versions")
    expect(panel).to_contain_text("Your clinic has 2 people who may approve.")
    expect(panel.get_by_role("button")).to_have_count(0)
