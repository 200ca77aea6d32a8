"""The draft shadow page and a rollback, in real Chromium.

A practice manager shadows the Aetna draft on live traffic: a period out of bounds is refused with the
server's reason; the shadow starts, sees the clinic's Aetna codings as they happen (not UHC's), shows
what the draft would change, and is stopped. A compliance reviewer publishes two versions, rolls back
to the first from the versions page with a fresh code, and the clinic's encounters code by the first
version's rule again."""

from __future__ import annotations

import re
from typing import Any

import pytest

try:
    from playwright.sync_api import Page, expect
except ImportError:  # the `page` fixture then skips, or fails under CUTIS_REQUIRE_SERVICES=1
    Page = Any  # type: ignore[misc,assignment]
    expect = None  # type: ignore[assignment]

from tests.server.graphql_ops import operation
from tests.web.harness import RunningServer
from tests.web.pages import aetna_ak_encounter, graphql, log_in_as
from tests.web.people import Authenticator, Person, make_web_clinic
from tests.web.test_rules_go_live import enter_code, said

pytestmark = pytest.mark.browser

AETNA = "Aetna commercial (template)"


@pytest.fixture
def clinic(web_server: RunningServer) -> dict[str, Person]:
    return make_web_clinic(web_server, ("practice_manager", "compliance_reviewer")).people


def test_a_manager_shadows_the_aetna_draft_on_live_traffic_and_stops_it(
    page: Page, base_url: str, clinic: dict[str, Person]
) -> None:
    manager = clinic["practice_manager"]
    log_in_as(page.context, base_url, manager.email, manager.password)
    adopted = graphql(page.context, base_url, operation("AdoptTemplate"), {"name": AETNA})["adoptTemplate"]
    page.goto(f"/rulebooks/{adopted['id']}/versions")
    page.get_by_role("link", name="Shadow the draft").click()
    expect(page.get_by_role("heading", name=f"Shadow the draft of {AETNA}")).to_be_visible()
    days = page.get_by_label("Days to shadow")
    expect(days).to_have_value("14")

    days.fill("365")
    page.get_by_role("button", name="Start the shadow").click()
    refusal = page.get_by_role("alert").filter(has_text="Start the shadow: Cannot do that yet.")
    expect(refusal.get_by_role("listitem")).to_contain_text("shadow a draft for 1 to 90 days")
    expect(days).to_have_attribute("aria-invalid", "true")

    days.fill("7")
    page.get_by_role("button", name="Start the shadow").click()
    expect(refusal).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/shadow\?shadow=\w+"))  # a reload follows the same shadow
    expect(page.locator(".badge-shadow-running")).to_have_text("Running")
    expect(page.locator("#shadow-seen")).to_have_text("0 live codings seen.")
    expect(page.locator("#shadow-headline")).to_contain_text("No live coding of this payer yet")
    expect(page.get_by_role("button", name="Start the shadow")).to_be_disabled()

    # Live traffic: two Aetna encounters and one UHC (the draft is Aetna's book: UHC's is not its business).
    for number, lesions in enumerate((12, 5)):
        graphql(
            page.context, base_url, operation("CodeEncounter"), {"input": aetna_ak_encounter(f"AK-{number}", lesions)}
        )
    uhc = {**aetna_ak_encounter("UHC-1", 12), "coverage": {"payer": "UHC", "planType": "commercial"}}
    graphql(page.context, base_url, operation("CodeEncounter"), {"input": uhc})
    expect(page.locator("#shadow-seen")).to_have_text("2 live codings seen.")  # the page asked again by itself
    expect(page.get_by_role("heading", name="What the draft changes in live traffic so far")).to_be_visible()
    expect(page.locator("#shadow-headline")).to_have_text("2 of 2 encounters code differently.")
    differences = page.get_by_role("table", name="Live encounters the draft codes differently").locator("tbody tr")
    expect(differences).to_have_count(2)
    expect(differences.first).to_contain_text("17003: units 11 -> 9")  # the biggest change first: the AK cap
    expect(page.get_by_role("table", name="Impact by payer").get_by_role("row", name="AETNA")).to_be_visible()
    expect(page.get_by_role("table", name="Impact by payer").get_by_role("row", name="UHC")).to_have_count(0)

    page.get_by_role("button", name="Stop the shadow").click()
    expect(page.locator("#shadow-outcome")).to_have_text("The shadow was stopped after 2 live codings.")
    expect(page.locator(".badge-shadow-stopped")).to_have_text("Stopped")
    expect(page.get_by_role("button", name="Stop the shadow")).to_be_hidden()
    expect(page.get_by_role("button", name="Start the shadow")).to_be_enabled()
    expect(page.get_by_role("heading", name="What the draft changes in live traffic")).to_be_visible()

    graphql(page.context, base_url, operation("CodeEncounter"), {"input": aetna_ak_encounter("AK-9", 12)})
    page.reload()  # the link in the address bar shows the stopped shadow: it saw no more
    expect(page.locator("#shadow-seen")).to_have_text("2 live codings seen.")
    expect(page.locator("#shadow-outcome")).to_have_text("The shadow was stopped after 2 live codings.")


def _ak_units(context: Any, base_url: str, external_id: str) -> set[tuple[str, int]]:
    coded = graphql(context, base_url, operation("CodeEncounter"), {"input": aetna_ak_encounter(external_id, 12)})
    return {(line["code"], line["units"]) for line in coded["codeEncounter"]["coding"]["claimLines"]}


def test_a_reviewer_rolls_back_to_the_first_published_version_and_the_old_rule_codes_again(
    page: Page, reviewer_page: Page, base_url: str, clinic: dict[str, Person]
) -> None:
    manager, reviewer = clinic["practice_manager"], clinic["compliance_reviewer"]
    authenticator = Authenticator(reviewer.totp_secret or "")
    log_in_as(page.context, base_url, manager.email, manager.password)
    log_in_as(reviewer_page.context, base_url, reviewer.email, reviewer.password, authenticator.fresh_code())
    adopted = graphql(page.context, base_url, operation("AdoptTemplate"), {"name": AETNA})["adoptTemplate"]
    raised = (
        adopted["draftText"]
        .replace("at most 10 actinic keratoses", "at most 14 actinic keratoses")
        .replace("service.count > 10 lesions", "service.count > 14 lesions")
        .replace("cap lesions of service at 10 lesions", "cap lesions of service at 14 lesions")
        .replace(
            "expect line 17003 units 9\n  expect no line 17004", "expect line 17003 units 13\n  expect no line 17004"
        )
        .replace("| 11 lesions    | line 17003 units 9;", "| 15 lesions    | line 17003 units 13;")
    )
    revision = adopted["draftRevision"]
    for number, text in ((1, None), (2, raised)):  # version 1 as shipped, version 2 with the cap at 14
        if text is not None:
            saved = graphql(
                page.context,
                base_url,
                operation("SaveRulebookDraft"),
                {"id": adopted["id"], "text": text, "baseRevision": revision},
            )
            revision = saved["saveRulebookDraft"]["draftRevision"]
        submitted = graphql(
            page.context,
            base_url,
            operation("SubmitRulebookForReview"),
            {"id": adopted["id"], "baseRevision": revision},
        )["submitRulebookForReview"]
        assert submitted["number"] == number, submitted
        approve = {"versionId": submitted["id"], "decision": "APPROVE", "totpCode": authenticator.fresh_code()}
        assert (
            graphql(reviewer_page.context, base_url, operation("ReviewRulebook"), approve)["reviewRulebook"]["status"]
            == "approved"
        )
        publish = {"versionId": submitted["id"], "totpCode": authenticator.fresh_code()}
        published = graphql(reviewer_page.context, base_url, operation("PublishRulebook"), publish)
        assert published["publishRulebook"]["status"] == "published", published
    assert ("17003", 11) in _ak_units(page.context, base_url, "AK-before")  # version 2: 12 AKs under the cap of 14

    reviewer_page.goto(f"/rulebooks/{adopted['id']}/versions")
    history = reviewer_page.get_by_role("table", name="Version history, newest first").locator("tbody tr")
    expect(history).to_have_count(2)
    expect(reviewer_page.get_by_role("button", name="Roll back to this version")).to_have_count(0)  # the newest
    history.nth(1).get_by_role("button", name="Version 1").click()
    reviewer_page.get_by_role("button", name="Roll back to this version").click()
    enter_code(reviewer_page, "Roll back", "000000")
    refused = reviewer_page.get_by_role("alert").filter(has_text="Roll back: Not allowed.")
    expect(refused).to_contain_text("code")
    expect(history).to_have_count(2)  # nothing was published
    reviewer_page.get_by_role("button", name="Roll back to this version").click()
    enter_code(reviewer_page, "Roll back", authenticator.fresh_code())
    said(reviewer_page, "Version 3 republishes version 1.")
    expect(history).to_have_count(3)
    expect(history.nth(0)).to_contain_text("Version 3")
    expect(history.nth(0)).to_contain_text("Published")

    versions = graphql(page.context, base_url, operation("RulebookVersions"), {"rulebookId": adopted["id"]})
    by_number = {v["number"]: v for v in versions["rulebookVersions"]}
    assert by_number[3]["contentHash"] == by_number[1]["contentHash"] != by_number[2]["contentHash"]
    assert by_number[3]["rolledBackFrom"] == by_number[1]["id"]
    assert ("17003", 9) in _ak_units(page.context, base_url, "AK-after")  # version 1's cap of 10 again

    page.goto(f"/rulebooks/{adopted['id']}/versions")  # the manager sees the rollback too
    expect(page.get_by_role("row", name="Version 3")).to_contain_text("Published")
