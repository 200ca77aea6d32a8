"""The billing workspace in real Chromium: a biller finds encounters by filter, external id and page,
reads a coding (lines, modifiers, pointers, charges, reasons, rulebooks, versions), overrides a line
with a reason, and works a provider query to a new coding; a read-only user sees and cannot act;
reasons link to the published rulebook version that produced them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

try:
    from playwright.sync_api import Page, expect
except ImportError:  # the `page` fixture then skips, or fails under CUTIS_REQUIRE_SERVICES=1
    Page = Any  # type: ignore[misc,assignment]
    expect = None  # type: ignore[assignment]

from tests.server.graphql_ops import camel, operation
from tests.web.harness import RunningServer
from tests.web.pages import aetna_ak_encounter, graphql, log_in_as, log_in_quickly
from tests.web.people import Person, make_web_clinic

pytestmark = pytest.mark.browser

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "encounters"


def fixture(name: str, **overrides: Any) -> dict[str, Any]:
    payload = json.loads((FIXTURES / f"{name}.json").read_text())
    payload.update(overrides)
    return dict(camel(payload))


def code(page: Page, base_url: str, encounter: dict[str, Any]) -> dict[str, Any]:
    data = graphql(page.context, base_url, operation("CodeEncounter"), {"input": encounter})
    result: dict[str, Any] = data["codeEncounter"]
    assert result["__typename"] == "CodedEncounter", result
    return result


@pytest.fixture
def people(web_server: RunningServer) -> dict[str, Person]:
    return make_web_clinic(web_server, ("biller", "read_only"), name="Riverside Skin").people


def test_a_biller_filters_searches_and_pages_the_encounters_with_their_status_badges(
    page: Page, base_url: str, people: dict[str, Person]
) -> None:
    biller = people["biller"]
    log_in_as(page.context, base_url, biller.email, biller.password)
    for number, lesions in enumerate((3, 12, 20)):
        code(page, base_url, aetna_ak_encounter(f"AK-{number}", lesions))
    code(page, base_url, fixture("borderline_sk"))  # held: a provider query asks for a symptom
    code(page, base_url, fixture("biopsy_em", coverage={"payer": "MEDICARE", "planType": "medicare_ffs"}))

    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Encounters").click()
    expect(page.get_by_role("heading", name="Encounters", exact=True)).to_be_focused()
    table = page.get_by_role("table", name="Encounters, newest first")
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(5)
    expect(page.locator("#encounters-summary")).to_have_text("5 encounter versions shown.")
    held = rows.filter(has=page.get_by_role("link", name="DEMO-0002"))
    expect(held.locator(".badge")).to_have_text("Held")
    expect(held).to_contain_text("No claim lines (1 held)")
    expect(rows.filter(has=page.get_by_role("link", name="AK-1")).locator(".badge")).to_have_text("Ready")
    expect(rows.filter(has=page.get_by_role("link", name="AK-1"))).to_contain_text("17000, 17003")

    page.get_by_label("Payer").select_option("MEDICARE")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"/encounters\?payer=MEDICARE$"))
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_role("link")).to_have_text("DEMO-0001")

    page.get_by_role("link", name="Clear filters").click()
    page.get_by_label("External id").fill("AK-2")
    page.get_by_label("External id").press("Enter")  # the keyboard submits the search
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("2026-03-02")

    page.get_by_label("External id").fill("")
    page.get_by_label("Date of service from").fill("2026-11-01")
    page.get_by_role("button", name="Show").click()
    expect(rows).to_have_count(2)  # DEMO-0001 (2026-11-02) and DEMO-0002 (2026-11-03)
    page.get_by_label("Processing").select_option("queued")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#encounters-summary")).to_have_text("No encounter matches these filters.")

    page.goto("/encounters?per=2")  # cursor paging, two a page
    expect(rows).to_have_count(2)
    expect(page.locator("#encounters-summary")).to_have_text("2 encounter versions shown, more to load.")
    more = page.get_by_role("button", name="Load more encounters")
    more.click()
    expect(rows).to_have_count(4)
    more.click()
    expect(rows).to_have_count(5)
    expect(more).to_be_hidden()
    expect(page.locator("#encounters-summary")).to_have_text("5 encounter versions shown.")
    names = [link.inner_text() for link in table.locator("tbody th a").all()]
    assert names == ["DEMO-0001", "DEMO-0002", "AK-2", "AK-1", "AK-0"]  # newest first, each once


def test_a_biller_narrows_the_encounters_by_provider_and_by_coding_status(
    page: Page, base_url: str, people: dict[str, Person]
) -> None:
    biller = people["biller"]
    log_in_as(page.context, base_url, biller.email, biller.password)
    code(page, base_url, fixture("biopsy_em", externalId="DR-A"))  # ready, provider 1234567893
    code(page, base_url, fixture("biopsy_em", externalId="DR-B", provider={"npi": "1987654328"}))  # ready
    code(page, base_url, fixture("borderline_sk", externalId="DR-C"))  # held, provider 1234567893

    page.goto("/encounters")
    rows = page.get_by_role("table", name="Encounters, newest first").locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.filter(has=page.get_by_role("link", name="DR-B"))).to_contain_text("1987654328")

    page.get_by_label("Provider NPI").fill("1987654328")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"/encounters\?provider=1987654328$"))
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_role("link")).to_have_text("DR-B")

    page.get_by_label("Provider NPI").fill("1234567893")
    page.get_by_label("Coding status").select_option(label="Held")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"/encounters\?provider=1234567893&coding=held$"))
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_role("link")).to_have_text("DR-C")
    expect(rows.first.locator(".badge")).to_have_text("Held")
    expect(page.get_by_label("Coding status")).to_have_value("held")  # the page keeps what was chosen

    page.get_by_label("Coding status").select_option(label="Needs prior auth")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#encounters-summary")).to_have_text("No encounter matches these filters.")

    page.goto("/encounters?provider=1234567890")  # a shared link with a wrong check digit
    expect(page.get_by_role("alert")).to_contain_text("filter.providerNpi: the NPI check digit is wrong")


def test_a_biller_reads_a_coding_and_overrides_a_line_with_a_reason_keeping_the_original(
    page: Page, base_url: str, people: dict[str, Person]
) -> None:
    biller = people["biller"]
    log_in_as(page.context, base_url, biller.email, biller.password)
    coded = code(page, base_url, fixture("biopsy_em", externalId="BX-1"))
    page.goto(f"/encounters/{coded['encounter']['id']}")
    expect(page.get_by_role("heading", name="Encounter BX-1, version 1")).to_be_focused()
    claim = page.get_by_role("list", name="Claim lines")
    em = claim.get_by_role("listitem", name="Claim line 3: 99214-25 × 1")
    expect(em).to_contain_text("Dx L30.9")
    expect(em.locator(".charge")).to_have_text(re.compile(r"^\$\d+\.\d\d$"))
    expect(em.get_by_role("list", name="Reasons for 99214-25").get_by_role("listitem").first).to_be_visible()
    head = ".coded-line-head > span"  # code and modifiers, units, diagnosis pointers, charge
    expect(claim.get_by_role("listitem", name="Claim line 1: 11104 × 1").locator(head)).to_have_text(
        ["11104", "× 1", "Dx D48.5", "$130.00"]
    )
    expect(claim.get_by_role("listitem", name="Claim line 2: 11103 × 2").locator(head)).to_have_text(
        ["11103", "× 2", "Dx L57.0", "$120.00"]
    )
    used = page.get_by_role("region", name="Rulebooks used")
    expect(used).to_contain_text("National base")
    expect(page.get_by_role("table", name="Versions of this encounter").locator("tbody tr")).to_have_count(1)
    expect(page.get_by_role("list", name="Overrides")).to_have_count(0)

    em.locator("summary", has_text="Override 99214-25 × 1").click()
    form = page.get_by_role("form", name="Override 99214-25 × 1")
    form.get_by_label("Modifiers").fill("")
    form.get_by_label("Diagnosis pointers").fill("L40.0")
    form.get_by_label("Reason (kept with the override, audited)").fill("Payer pays the E/M without 25 on this plan")
    form.get_by_role("button", name="Replace the line").click()
    refusal = form.get_by_role("alert")
    expect(refusal).to_contain_text("Override 99214-25 × 1: Cannot do that yet.")
    expect(refusal.get_by_role("listitem")).to_have_text("line.diagnoses L40.0 is not one of the encounter's diagnoses")
    expect(form.get_by_label("Diagnosis pointers")).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_label("Diagnosis pointers")).to_be_focused()

    form.get_by_label("Diagnosis pointers").fill("L30.9")
    form.get_by_role("button", name="Replace the line").click()
    overrides = page.get_by_role("list", name="Overrides")
    expect(overrides.get_by_role("listitem")).to_have_count(1)
    item = overrides.get_by_role("listitem").first
    expect(item.locator("del")).to_have_text("99214-25 × 1")  # the engine's line stays visible
    expect(item.locator("ins")).to_have_text("99214 × 1")
    expect(item).to_contain_text("Payer pays the E/M without 25 on this plan")
    expect(item.locator(".override-meta")).to_have_text(re.compile(r"^By you, "))
    expect(page.locator("#announcer")).to_have_text("Line 3 overridden: 99214-25 × 1 replaced by 99214 × 1.")
    overridden = claim.get_by_role("listitem", name="Claim line 3: 99214-25 × 1")
    expect(overridden.locator(".overridden-note")).to_contain_text("billed as 99214 × 1")


def test_a_read_only_user_reads_codings_and_queries_but_has_nothing_to_press(
    page: Page, base_url: str, people: dict[str, Person], web_server: RunningServer
) -> None:
    biller, reader = people["biller"], people["read_only"]
    log_in_as(page.context, base_url, biller.email, biller.password)
    coded = code(page, base_url, fixture("borderline_sk", externalId="SK-RO"))
    code(page, base_url, fixture("biopsy_em", externalId="BX-RO"))
    page.context.clear_cookies()
    log_in_as(page.context, base_url, reader.email, reader.password)

    page.goto("/encounters?q=BX-RO")
    page.get_by_role("link", name="BX-RO").click()
    expect(page.get_by_role("heading", name="Encounter BX-RO, version 1")).to_be_visible()
    expect(page.get_by_role("list", name="Claim lines").get_by_role("listitem").first).to_be_visible()
    expect(page.locator("summary", has_text="Override")).to_have_count(0)
    expect(page.get_by_role("form")).to_have_count(0)

    page.goto(f"/encounters/{coded['encounter']['id']}")
    held = page.get_by_role("list", name="Held lines")
    expect(held.get_by_role("listitem").first).to_contain_text("11311")
    page.get_by_role("link", name="Work the provider queries of this encounter").click()
    card = page.get_by_role("listitem", name="Query on SK-RO, service sh1")
    expect(card).to_contain_text("Document a symptom (bleeding, pain, itching, inflammation, recent change)")
    expect(card.get_by_role("form")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("Answer|Withdraw"))).to_have_count(0)


def test_a_held_line_is_worked_from_the_query_worklist_to_a_new_coding_and_a_query_withdrawn(
    page: Page, base_url: str, people: dict[str, Person]
) -> None:
    biller = people["biller"]
    log_in_as(page.context, base_url, biller.email, biller.password)
    code(page, base_url, fixture("borderline_sk", externalId="SK-1"))
    code(page, base_url, fixture("borderline_sk", externalId="SK-2"))
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Provider queries").click()
    expect(page.get_by_role("heading", name="Provider queries")).to_be_focused()
    queries = page.get_by_role("list", name="Provider queries")
    expect(queries.get_by_role("listitem")).to_have_count(2)
    expect(page.locator("#queries-summary")).to_have_text("2 queries shown.")

    first = page.get_by_role("listitem", name="Query on SK-1, service sh1")
    answer = first.get_by_role("form", name="Answer the query on SK-1, service sh1")
    addendum = answer.get_by_label("Provider's addendum (added to the note)")
    addendum.fill("   ")
    addendum.press("Tab")
    page.keyboard.press("Enter")  # the keyboard reaches and presses the button
    expect(answer.get_by_role("alert")).to_contain_text("Answer the query: Cannot do that yet.")
    expect(addendum).to_have_attribute("aria-invalid", "true")
    addendum.fill("The lesion bleeds when it catches on her glasses and is painful.")
    answer.get_by_role("button", name="Answer and code again").click()
    done = first.get_by_role("status")
    expect(done).to_contain_text("Answered. The encounter was coded again as version 2: Ready 11311 × 1.")
    expect(first.locator(".badge").first).to_have_text("Answered")
    expect(page.locator("#announcer")).to_have_text("Query answered: SK-1 coded again as version 2, ready.")

    second = page.get_by_role("listitem", name="Query on SK-2, service sh1")
    second.locator("summary", has_text="Withdraw this query").click()
    withdraw = second.get_by_role("form", name="Withdraw the query on SK-2, service sh1")
    withdraw.get_by_label("Why withdraw it").fill("Asked in error: the service is not billed")
    withdraw.get_by_role("button", name="Withdraw").click()
    expect(second.locator(".badge").first).to_have_text("Withdrawn")

    page.get_by_label("Status").select_option("answered")
    page.get_by_role("button", name="Show").click()
    expect(queries.get_by_role("listitem")).to_have_count(1)
    card = queries.get_by_role("listitem").first
    expect(card.get_by_role("blockquote")).to_have_text(
        "The lesion bleeds when it catches on her glasses and is painful."
    )
    card.get_by_role("link", name="The version coded with the answer").click()
    expect(page.get_by_role("heading", name="Encounter SK-1, version 2")).to_be_visible()
    expect(page.locator("#coding-status")).to_have_text("Ready")
    note = page.get_by_role("region", name="Note")
    expect(note.locator("#note-text")).to_contain_text("Shave removal performed.\n\nAddendum: The lesion")
    expect(note.locator("mark.evidence")).to_have_text(  # the addendum's symptoms are the evidence now
        ["bleeds (evidence: bleeding)", "catches on her glasses (evidence: irritation)", "painful (evidence: pain)"]
    )
    versions = page.get_by_role("table", name="Versions of this encounter")
    expect(versions.locator("tbody tr")).to_have_count(2)
    versions.get_by_role("link", name="Version 1").click()
    expect(page.get_by_role("heading", name="Encounter SK-1, version 1")).to_be_visible()
    expect(page.locator("#coding-status")).to_have_text("Held")


def test_each_reason_links_to_the_published_rulebook_version_and_line_that_produced_it(
    page: Page, base_url: str
) -> None:
    log_in_quickly(page.context, base_url)  # the demo clinic published every shipped template
    coded = code(page, base_url, aetna_ak_encounter("AK-LINK", 20))
    page.goto(f"/encounters/{coded['encounter']['id']}")
    reasons = page.get_by_role("list", name=re.compile(r"^Reasons for 17003"))
    link = reasons.locator("a.rule-link").first
    expect(link).to_be_visible()
    source = link.locator("xpath=..")
    expect(source).to_contain_text(re.compile(r", line \d+"))
    line = int(re.search(r"line (\d+)", source.inner_text()).group(1))  # type: ignore[union-attr]
    rule_id = link.inner_text()
    link.click()
    expect(page).to_have_url(re.compile(r"/rulebooks/[^/]+/versions\?version="))
    source_line = page.locator(".source-line").nth(line - 1)
    expect(source_line.locator(".line-number")).to_have_text(str(line))
    expect(source_line.locator(".line-text")).to_contain_text(f"rule {rule_id}")


def test_the_note_highlights_each_evidence_span_the_coding_cites_counting_code_points(
    page: Page, base_url: str, people: dict[str, Person]
) -> None:
    biller = people["biller"]
    log_in_as(page.context, base_url, biller.email, biller.password)
    note = "SK on the left cheek 🙂, bleeding and itching. Patient would like it removed. Shave removal performed."
    coded = code(page, base_url, fixture("borderline_sk", externalId="SK-NOTE", note=note))
    page.goto(f"/encounters/{coded['encounter']['id']}")
    section = page.get_by_role("region", name="Note")
    expect(section.locator("#note-evidence-count")).to_have_text(
        "2 evidence spans highlighted (the findings the coding's documentation reasons cite)."
    )
    marks = section.locator("mark.evidence")
    expect(marks).to_have_count(2)
    assert [(m.get_attribute("data-label"), m.evaluate("e => e.firstChild.textContent")) for m in marks.all()] == [
        ("bleeding", "bleeding"),  # after an emoji (two UTF-16 units, one code point): still exact
        ("itching", "itching"),
    ]
    expect(section.locator("#note-text")).to_contain_text("Patient would like it removed. Shave removal performed.")
