"""The rule editor in real Chromium against a real `cutis serve`: what a practice manager does."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

try:
    from playwright.sync_api import Page, expect
except ImportError:  # the `page` fixture then skips, or fails under CUTIS_REQUIRE_SERVICES=1
    Page = Any  # type: ignore[misc,assignment]
    expect = None  # type: ignore[assignment]

from tests.server.graphql_ops import OPERATIONS, camel
from tests.web.harness import DEMO_EMAIL, DEMO_PASSWORD, REPO_ROOT, RunningServer
from tests.web.pages import (
    cursor_line,
    editor,
    go_to_line,
    graphql,
    line_of,
    log_in_as,
    log_in_quickly,
    open_rulebook,
    retype_line,
    rulebook_id,
)
from tests.web.people import make_web_clinic

pytestmark = pytest.mark.browser

AETNA_TEXT = (REPO_ROOT / "rulebooks" / "library" / "aetna-commercial.rules").read_text()
SAVE_DRAFT = (
    "mutation($id: ID!, $t: String!, $r: Int!)"
    " { saveRulebookDraft(id: $id, text: $t, baseRevision: $r) { __typename } }"
)
DRAFT_TEXT = "query($id: ID!) { rulebook(id: $id) { ... on Rulebook { draftText draftRevision } } }"


def test_login_shows_the_clinics_payers_and_their_rulebooks(page: Page, base_url: str) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="Log in to the rule editor")).to_be_visible()
    page.get_by_label("Email").fill(DEMO_EMAIL)
    page.get_by_label("Password").fill("a wrong password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).not_to_be_empty()
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name="Payers and rulebooks")).to_be_visible()
    aetna = page.get_by_role("row", name=r"Aetna commercial")
    expect(aetna.get_by_role("link", name="Aetna commercial (template)")).to_be_visible()
    expect(aetna).to_contain_text("Draft")
    expect(aetna).to_contain_text("From 2026-01-01")
    expect(page.get_by_role("row", name="Cigna commercial")).to_contain_text("No payer rules")


def test_a_deep_link_asks_to_log_in_then_opens_the_rulebook(page: Page, base_url: str) -> None:
    log_in_quickly(page.context, base_url)
    rulebook = rulebook_id(page.context, base_url, "UHC")
    page.context.clear_cookies()
    page.goto(f"/rulebooks/{rulebook}")
    expect(page).to_have_url(f"{base_url}/login?next=%2Frulebooks%2F{rulebook}")
    page.get_by_label("Email").fill(DEMO_EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_label("Password").press("Enter")
    expect(page.get_by_role("heading", name="UnitedHealthcare commercial (template)")).to_be_visible()
    expect(page).to_have_url(f"{base_url}/rulebooks/{rulebook}")


def test_an_error_is_squiggled_on_its_line_with_message_and_hint_until_fixed(page: Page, base_url: str) -> None:
    log_in_quickly(page.context, base_url)
    open_rulebook(page, base_url, "AETNA")
    expect(page.locator("#problems-summary")).to_have_text("No problems")

    # an emoji before the error: the server counts code points, the editor UTF-16 units
    retype_line(page, 10, "# policy phase 🩺 rules see the proposed claim lines")
    retype_line(page, 16, "and service.cont > 10 lesions")
    squiggle = page.locator(".cm-lintRange-error")
    expect(squiggle).to_have_count(1)
    expect(squiggle).to_have_text("service.cont")
    assert line_of(squiggle) == 16
    expect(page.locator("#problems-summary")).to_have_text("1 error")

    squiggle.hover()
    tooltip = page.locator(".cm-tooltip-lint")
    expect(tooltip).to_contain_text("`service.cont` is not a known fact or value set")
    expect(tooltip).to_contain_text("Hint: did you mean `service.count`?")

    problem = page.get_by_role("button", name="Line 16, column 8")
    expect(problem).to_contain_text("`service.cont` is not a known fact or value set")
    go_to_line(page, 1)
    problem.click()
    assert cursor_line(page) == 16

    retype_line(page, 16, "and service.count > 10 lesions")
    expect(squiggle).to_have_count(0)
    expect(page.locator("#problems-summary")).to_have_text("No problems")
    expect(page.get_by_role("tab", name="Problems")).to_be_visible()


def test_format_makes_the_text_canonical_and_the_tests_pass(page: Page, base_url: str) -> None:
    log_in_quickly(page.context, base_url)
    open_rulebook(page, base_url, "AETNA")
    retype_line(page, 12, "in      policy")
    expect(page.locator("#save-status")).to_have_text("Unsaved changes")

    page.get_by_role("button", name="Format").click()
    expect(page.locator(".cm-line").nth(11)).to_have_text("  in policy")
    expect(page.locator("#save-status")).not_to_have_text("Unsaved changes")  # back to the saved text

    page.get_by_role("button", name="Run tests").click()
    panel = page.get_by_role("tabpanel", name="Tests")
    expect(panel.get_by_role("status")).to_have_text("7 of 7 tests passed")
    results = panel.get_by_role("list", name="Test results").locator("> li")
    expect(results).to_have_count(7)
    expect(results.first).to_contain_text("Pass")
    expect(results.first).to_contain_text("20 AKs bill as 17000 + 17003 x9 for Aetna")
    expect(results.first.get_by_role("list", name="Expectations of 20 AKs bill")).to_contain_text("line 17003 units 9")
    expect(panel).to_contain_text("Every rule is exercised by at least one test.")

    results.first.get_by_role("button", name="aetna-ak-cap-10, go to line 11").click()
    assert cursor_line(page) == 11


def test_a_failing_test_shows_expected_against_actual(page: Page, base_url: str) -> None:
    log_in_quickly(page.context, base_url)
    open_rulebook(page, base_url, "AETNA")
    retype_line(page, 37, "expect line 17003 units 8")
    page.keyboard.press("Control+Enter")  # run tests from the keyboard
    panel = page.get_by_role("tabpanel", name="Tests")
    expect(panel.get_by_role("status")).to_have_text("6 of 7 tests passed")
    failed = panel.locator(".test-failed")
    expect(failed).to_have_count(1)
    expect(failed.locator(".expected-actual")).to_contain_text("Expectedline 17003 units 8")
    expect(failed.locator(".expected-actual")).to_contain_text("Actualline 17000 units 1; line 17003 units 9")


def test_trying_a_sample_encounter_shows_its_lines_and_reasons_linked_to_rules(page: Page, base_url: str) -> None:
    log_in_quickly(page.context, base_url)
    open_rulebook(page, base_url, "AETNA")
    page.get_by_role("tab", name="Try on an encounter").click()
    page.get_by_label("Sample encounter").select_option(label="20 actinic keratoses destroyed (Aetna)")
    page.get_by_role("button", name="Try it").click()

    claim_lines = page.get_by_role("list", name="Claim lines").locator("> li")
    expect(claim_lines).to_have_count(2)
    expect(claim_lines.nth(0)).to_contain_text("17000")
    expect(claim_lines.nth(1)).to_contain_text("17003× 9")
    reasons = page.get_by_role("list", name="Reasons for 17003")
    expect(reasons).to_contain_text("Aetna covers at most 10 actinic keratoses per session")
    expect(page.get_by_role("list", name="Flags")).to_contain_text("payer_lesion_cap_applied")

    reasons.get_by_role("button", name="aetna-ak-cap-10, go to line 11").click()
    assert cursor_line(page) == 11


def test_trying_pasted_json_reports_what_is_wrong(page: Page, base_url: str) -> None:
    log_in_quickly(page.context, base_url)
    open_rulebook(page, base_url, "AETNA")
    page.get_by_role("tab", name="Try on an encounter").click()
    page.get_by_role("radio", name="Paste JSON").check()
    page.get_by_label("Encounter JSON").fill('{"external_id": "X"')
    page.get_by_role("button", name="Try it").click()
    expect(page.get_by_role("alert")).to_contain_text("That is not valid JSON")

    sample = (REPO_ROOT / "web" / "src" / "samples" / "mohs-three-stages.json").read_text()
    page.get_by_label("Encounter JSON").fill(sample)
    page.get_by_role("button", name="Try it").click()
    expect(page.locator(".coding-status")).to_contain_text("needs prior auth")
    expect(page.get_by_role("list", name="Claim lines")).to_contain_text("17311")


def test_save_then_reload_shows_the_saved_text(page: Page, base_url: str) -> None:
    log_in_quickly(page.context, base_url)
    open_rulebook(page, base_url, "UHC")
    go_to_line(page, 4)
    page.keyboard.press("Enter")
    page.keyboard.type("# reviewed against our 2026 contract")
    expect(page.locator("#save-status")).to_have_text("Unsaved changes")

    page.on("dialog", lambda dialog: dialog.dismiss())  # "leave without saving?" -> stay
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Payers and rulebooks").click()
    expect(page.locator(".cm-content")).to_be_visible()

    page.keyboard.press("Control+s")
    expect(page.locator("#save-status")).to_contain_text("Saved")
    expect(page.locator("#revision")).to_have_text("Revision 2")

    page.reload()
    expect(page.locator(".cm-line").nth(4)).to_have_text("# reviewed against our 2026 contract")
    saved = graphql(page.context, base_url, DRAFT_TEXT, {"id": rulebook_id(page.context, base_url, "UHC")})
    assert "# reviewed against our 2026 contract\n" in saved["rulebook"]["draftText"]


def test_leaving_with_unsaved_changes_asks_first(page: Page, base_url: str) -> None:
    log_in_quickly(page.context, base_url)
    open_rulebook(page, base_url, "UHC")
    go_to_line(page, 1)
    page.keyboard.type(" ")
    dialogs: list[str] = []

    def stay(dialog: Any) -> None:
        dialogs.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", stay)
    page.close(run_before_unload=True)
    for _ in range(50):
        if dialogs:
            break
        page.wait_for_timeout(100)
    assert dialogs == ["beforeunload"]
    assert not page.is_closed()  # she chose to stay


def test_a_stale_save_shows_the_conflict_and_keeps_her_text(page: Page, base_url: str, chromium: Any) -> None:
    log_in_quickly(page.context, base_url)
    open_rulebook(page, base_url, "MEDICARE")
    # a colleague saves first, in another browser
    other = chromium.new_context(base_url=base_url)
    log_in_quickly(other, base_url)
    medicare = rulebook_id(other, base_url, "MEDICARE")
    current = graphql(other, base_url, DRAFT_TEXT, {"id": medicare})["rulebook"]
    graphql(
        other,
        base_url,
        SAVE_DRAFT,
        {"id": medicare, "t": current["draftText"] + "\n# colleague\n", "r": current["draftRevision"]},
    )
    other.close()

    go_to_line(page, 1)
    page.keyboard.type(" # mine")
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator(".conflict")).to_contain_text("Not saved")
    expect(page.locator(".conflict")).to_contain_text("revision 2")
    expect(page.locator(".cm-line").first).to_contain_text("# mine")
    expect(page.locator("#save-status")).to_have_text("Unsaved changes")
    saved = graphql(page.context, base_url, DRAFT_TEXT, {"id": medicare})["rulebook"]
    assert "# mine" not in saved["draftText"]


def test_completion_offers_fields_from_the_vocabulary(page: Page, base_url: str) -> None:
    log_in_quickly(page.context, base_url)
    open_rulebook(page, base_url, "AETNA")
    go_to_line(page, 16)
    page.keyboard.press("Enter")
    page.keyboard.type("and service.lesion_s")
    options = page.locator(".cm-tooltip-autocomplete [role=option]")
    expect(options.first).to_contain_text("service.lesion_size_cm")
    expect(options.first).to_have_attribute("aria-selected", "true")
    page.wait_for_timeout(100)  # CodeMirror ignores Enter in the first 75 ms of a completion list
    page.keyboard.press("Enter")
    expect(page.locator(".cm-line").nth(16)).to_have_text("   and service.lesion_size_cm")


def test_keyboard_only_from_login_to_test_results_and_trial_coding(page: Page, base_url: str) -> None:
    page.goto("/")
    expect(page.get_by_label("Email")).to_be_focused()
    page.keyboard.type(DEMO_EMAIL)
    page.keyboard.press("Tab")
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Payers and rulebooks")).to_be_focused()

    _tab_until(page, lambda: page.get_by_role("link", name="Aetna commercial (template)"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Aetna commercial (template)")).to_be_focused()

    _tab_until(page, lambda: page.get_by_role("button", name="Run tests"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("tabpanel", name="Tests").get_by_role("status")).to_have_text("7 of 7 tests passed")

    _tab_until(page, lambda: editor(page))  # into the editor; Tab must lead out again
    page.keyboard.press("Tab")
    expect(page.get_by_role("tab", name="Tests (7/7)")).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="Try on an encounter")).to_be_focused()
    expect(page.get_by_role("tab", name="Try on an encounter")).to_have_attribute("aria-selected", "true")
    _tab_until(page, lambda: page.get_by_role("button", name="Try it"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("list", name="Claim lines")).to_be_visible()

    _tab_until(page, lambda: page.get_by_role("list", name="Claim lines").get_by_role("button").first)
    page.keyboard.press("Enter")
    expect(editor(page)).to_be_focused()
    assert cursor_line(page) > 1


def _tab_until(page: Page, target: Callable[[], Any], limit: int = 40) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target().evaluate("(element) => element === document.activeElement"):
            return
    raise AssertionError(f"Tab never reached {target()}")


def test_every_control_has_an_accessible_name(page: Page, base_url: str) -> None:
    log_in_quickly(page.context, base_url)
    open_rulebook(page, base_url, "AETNA")
    unnamed = page.evaluate(
        """() => [...document.querySelectorAll(
                  'button, a, input, select, textarea, [role=tab], [contenteditable=true]')]
            .filter((el) => !(el.getAttribute('aria-label') || el.textContent.trim()
                              || (el.id && document.querySelector(`label[for="${el.id}"]`))))
            .map((el) => el.outerHTML.slice(0, 80))"""
    )
    assert unnamed == []
    expect(page.get_by_role("textbox", name="Rules of Aetna commercial (template)")).to_be_visible()
    expect(page.get_by_role("tablist", name="Rulebook tools")).to_be_visible()
    expect(page.get_by_role("toolbar", name="Rulebook actions")).to_be_visible()


def test_the_format_button_leaves_canonical_text_alone(page: Page, base_url: str) -> None:
    assert Path(REPO_ROOT / "rulebooks/library/aetna-commercial.rules").read_text() == AETNA_TEXT
    log_in_quickly(page.context, base_url)
    open_rulebook(page, base_url, "AETNA")
    page.keyboard.press("Shift+Alt+f")  # focus is on the heading: the shortcut works in the editor only
    editor(page).focus()
    page.keyboard.press("Shift+Alt+f")
    expect(page.locator("#announcer")).to_have_text("Already formatted.")


def test_a_recent_encounter_of_the_clinic_can_be_tried(page: Page, base_url: str) -> None:
    log_in_quickly(page.context, base_url)
    encounter = json.loads((REPO_ROOT / "web" / "src" / "samples" / "actinic-keratoses-20.json").read_text())
    encounter["external_id"] = "RECENT-AK-1"
    graphql(page.context, base_url, (OPERATIONS / "CodeEncounter.graphql").read_text(), {"input": camel(encounter)})
    open_rulebook(page, base_url, "UHC")
    page.get_by_role("tab", name="Try on an encounter").click()
    page.get_by_role("radio", name="Recent encounter").check()
    expect(page.get_by_label("Choose a recent encounter").locator("option").first).to_contain_text("RECENT-AK-1")
    page.get_by_role("button", name="Try it").click()
    claim_lines = page.get_by_role("list", name="Claim lines").locator("> li")
    expect(claim_lines).to_have_count(1)
    expect(claim_lines.first).to_contain_text("17004")  # UnitedHealthcare caps at 15: one 17004


def test_a_payer_without_rules_gets_a_new_rulebook(page: Page, base_url: str) -> None:
    log_in_quickly(page.context, base_url)
    page.goto("/")
    page.get_by_role("button", name="Create a rulebook for Cigna commercial").click()
    expect(page.get_by_role("heading", name="Cigna commercial rules")).to_be_visible()
    expect(page.locator(".cm-line").first).to_have_text('rulebook "Cigna commercial rules" for payer CIGNA')
    expect(page.locator("#problems-summary")).to_have_text("No problems")


def test_a_long_line_wraps_and_the_editor_never_scrolls_sideways(page: Page, base_url: str) -> None:
    log_in_quickly(page.context, base_url)
    open_rulebook(page, base_url, "AETNA")
    editor(page).focus()
    page.keyboard.press("Control+End")
    page.keyboard.press("Enter")
    words = "the payer's contract says so in section twelve of the agreement signed in March"
    page.keyboard.insert_text(f"# {words}, {words}, {words}, {words}, {words}.")
    scroller = page.locator(".cm-scroller")
    widths = scroller.evaluate("(e) => [e.scrollWidth, e.clientWidth]")
    assert widths[0] <= widths[1], widths  # nothing hidden to the right
    last_line = page.locator(".cm-line").last
    line_height = page.locator(".cm-line").first.evaluate("(e) => e.getBoundingClientRect().height")
    assert last_line.evaluate("(e) => e.getBoundingClientRect().height") > 2 * line_height  # wrapped, not clipped


def test_saving_with_a_failing_test_asks_first_naming_it_and_no_is_not_saved(page: Page, base_url: str) -> None:
    log_in_quickly(page.context, base_url)
    open_rulebook(page, base_url, "AETNA")
    revision = page.locator("#revision").inner_text()
    retype_line(page, 37, "expect line 17003 units 8")
    questions: list[str] = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator(".conflict")).to_have_text(
        "Not saved: some tests fail (see Tests). Fix them, or save again and confirm."
    )
    assert questions == ["1 test fails:\n• 20 AKs bill as 17000 + 17003 x9 for Aetna\n\nSave the draft anyway?"]
    expect(page.get_by_role("tab", name="Tests (6/7)")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#save-status")).to_have_text("Unsaved changes")
    expect(page.locator("#revision")).to_have_text(revision)


def test_create_rulebook_offers_the_payers_shipped_template_to_a_writer_only(
    page: Page, base_url: str, web_server: RunningServer
) -> None:
    people = make_web_clinic(web_server, ("practice_manager", "read_only"), name="Hillside Skin").people
    reader, manager = people["read_only"], people["practice_manager"]
    log_in_as(page.context, base_url, reader.email, reader.password)
    page.goto("/")
    expect(page.get_by_role("heading", name="Payers and rulebooks")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(r"^Start .* from "))).to_have_count(0)

    page.context.clear_cookies()
    log_in_as(page.context, base_url, manager.email, manager.password)
    page.goto("/")
    offer = page.get_by_role("button", name="Start Aetna commercial from Aetna commercial (template)")
    expect(offer).to_have_text("Start from Aetna commercial (template)")
    expect(page.get_by_role("button", name="Create a rulebook for Aetna commercial")).to_be_visible()  # still there
    offer.click()
    expect(page.get_by_role("heading", name="Aetna commercial (template)")).to_be_visible()
    expect(page.locator(".cm-line").first).to_have_text('rulebook "Aetna commercial (template)" for payer AETNA')
    page.goto("/")
    aetna_books = page.get_by_role("list", name="Rulebooks for Aetna commercial")
    expect(aetna_books).to_contain_text("Aetna commercial (template)")
    expect(offer).to_have_count(0)  # adopted: no longer offered
