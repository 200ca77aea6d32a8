"""The impact replay page, in real Chromium: a practice manager replays the draft of an adopted Aetna
template against the clinic's stored Aetna encounters, follows the progress bar to the end and reads
what the draft changes; a count out of bounds is refused with the server's reason; a running replay
is cancelled (a long replay, answered by a stand-in: the test server finishes three in a second)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

try:
    from playwright.sync_api import Page, Route, expect
except ImportError:  # the `page` fixture then skips, or fails under CUTIS_REQUIRE_SERVICES=1
    Page = Any  # type: ignore[misc,assignment]
    Route = Any  # type: ignore[misc,assignment]
    expect = None  # type: ignore[assignment]

from tests.server.graphql_ops import operation
from tests.web.harness import RunningServer
from tests.web.pages import aetna_ak_encounter, graphql, log_in_as
from tests.web.people import Person, make_web_clinic

pytestmark = pytest.mark.browser

AETNA = "Aetna commercial (template)"


@pytest.fixture
def manager(web_server: RunningServer) -> Person:
    return make_web_clinic(web_server, ("practice_manager",)).people["practice_manager"]


def test_a_manager_replays_the_aetna_draft_and_sees_the_ak_cap_change_two_encounters_and_a_flag_on_all(
    page: Page, base_url: str, manager: Person
) -> None:
    log_in_as(page.context, base_url, manager.email, manager.password)
    for number, lesions in enumerate((5, 12, 20)):  # no Aetna book is published: today nothing caps them
        graphql(
            page.context, base_url, operation("CodeEncounter"), {"input": aetna_ak_encounter(f"AK-{number}", lesions)}
        )
    page.goto("/")
    page.get_by_role("list", name="Shipped templates").get_by_role("button", name=f"Adopt {AETNA}").click()
    expect(page.get_by_role("heading", name=AETNA)).to_be_visible()
    page.get_by_role("link", name="Versions").click()
    page.get_by_role("link", name="Replay the draft").click()
    expect(page.get_by_role("heading", name=f"Replay the draft of {AETNA}")).to_be_visible()
    count = page.get_by_label("Encounters to replay")
    expect(count).to_have_value("1000")

    count.fill("300000")
    page.get_by_role("button", name="Start the replay").click()
    refusal = page.get_by_role("alert").filter(has_text="Start the replay: Cannot do that yet.")
    expect(refusal.get_by_role("listitem")).to_have_text("encounters replay 1 to 200,000 encounters")
    expect(count).to_have_attribute("aria-invalid", "true")

    count.fill("100")
    page.get_by_role("button", name="Start the replay").click()
    expect(refusal).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/replay\?replay=\w+"))  # a reload follows the same replay
    progress = page.get_by_role("progressbar", name="Encounters replayed")
    expect(progress).to_have_attribute("value", "3")
    expect(progress).to_have_attribute("max", "3")
    expect(page.locator("#replay-progress-text")).to_have_text("3 of 3 encounters replayed · 1 of 1 chunk finished")
    expect(page.locator("#replay-outcome")).to_have_text("The replay is done: 3 of 3 encounters code differently.")
    expect(page.get_by_role("button", name="Cancel the replay")).to_be_hidden()

    expect(page.get_by_role("heading", name="What the draft changes")).to_be_visible()
    expect(page.locator("#replay-headline")).to_have_text("3 of 3 encounters code differently.")
    counts = page.get_by_role("definition")
    expect(page.get_by_role("term")).to_have_count(7)
    expect(counts.nth(2)).to_have_text("1")  # lines changed: 17003 units 11 -> 9
    expect(counts.nth(3)).to_have_text("5")  # flags: no payer book in effect (all three), and the cap
    expect(counts.nth(5)).to_have_text("$0.00")  # charges up
    chart = page.get_by_role("img", name="Charges by code family")
    expect(chart).to_have_count(1)
    expect(chart).to_contain_text("destruction")
    aetna = page.get_by_role("table", name="Impact by payer").get_by_role("row", name="AETNA")
    expect(aetna.locator("td")).to_have_count(4)
    expect(aetna.locator("td").nth(0)).to_have_text("3")
    expect(aetna.locator("td").nth(1)).to_have_text("3")
    examples = page.get_by_role("table", name="Encounters that code differently").locator("tbody tr")
    expect(examples).to_have_count(3)
    expect(examples.filter(has_text="17003: units 11 -> 9")).to_have_count(1)
    expect(examples.filter(has_text="-17004 x1; +17000 x1; +17003 x9")).to_have_count(1)
    only_the_flag = examples.locator("td").filter(has_text=re.compile(r"^-flag no_payer_rulebook \(AETNA\)$"))
    expect(only_the_flag).to_have_count(1)  # 5 AKs: under the cap, only "no payer book" goes

    page.reload()  # the link in the address bar shows the finished replay again
    expect(page.locator("#replay-headline")).to_have_text("3 of 3 encounters code differently.")


def _long_replay(status: str, done: int, finished: int) -> dict[str, Any]:
    tally = {
        "encounters": done, "changed": 40, "linesAdded": 0, "linesRemoved": 0, "linesChanged": 40,
        "flagsChanged": 0, "holdsChanged": 0, "chargesUp": "0", "chargesDown": "3360.00",
    }  # fmt: skip
    return {
        "__typename": "ImpactReplay", "id": "SW1wYWN0UmVwbGF5OjE", "status": status, "requested": 5000,
        "total": 5000, "done": done, "chunks": 3, "chunksFinished": finished,
        "createdAt": "2026-03-02T10:00:00Z", "finishedAt": None, "impact": tally,
        "byPayer": [{"name": "AETNA", "tally": tally}], "byFamily": [{"name": "destruction", "tally": tally}],
        "examples": [],
    }  # fmt: skip


def test_a_running_replay_shows_its_chunks_and_is_cancelled(page: Page, base_url: str, manager: Person) -> None:
    log_in_as(page.context, base_url, manager.email, manager.password)
    adopted = graphql(page.context, base_url, operation("AdoptTemplate"), {"name": AETNA})["adoptTemplate"]
    cancelled: list[str] = []

    def stand_in(route: Route) -> None:
        body = route.request.post_data_json or {}
        name = body.get("operationName")
        if name not in ("StartImpactReplay", "ImpactReplay", "CancelImpactReplay"):
            route.continue_()
            return
        if name == "CancelImpactReplay":
            cancelled.append(body["variables"]["id"])
        replay = _long_replay("cancelled", 2000, 1) if cancelled else _long_replay("running", 2000, 1)
        field = {"StartImpactReplay": "startImpactReplay", "ImpactReplay": "impactReplay"}.get(
            name, "cancelImpactReplay"
        )
        route.fulfill(status=200, content_type="application/json", body=json.dumps({"data": {field: replay}}))

    page.route("**/graphql", stand_in)
    page.goto(f"/rulebooks/{adopted['id']}/replay")
    page.get_by_label("Encounters to replay").fill("5000")
    page.get_by_role("button", name="Start the replay").click()
    expect(page.locator("#replay-progress-text")).to_have_text(
        "2,000 of 5,000 encounters replayed · 1 of 3 chunks finished"
    )
    expect(page.get_by_role("heading", name="What the draft changes so far")).to_be_visible()
    expect(page.get_by_role("button", name="Start the replay")).to_be_disabled()
    page.get_by_role("button", name="Cancel the replay").click()
    expect(page.locator("#replay-outcome")).to_have_text("The replay was cancelled after 2,000 of 5,000 encounters.")
    assert cancelled == ["SW1wYWN0UmVwbGF5OjE"]
    expect(page.get_by_role("heading", name="What the draft changes before it was cancelled")).to_be_visible()
    expect(page.get_by_role("img", name="Charges by code family: destruction up $0.00, down $3,360.00")).to_be_visible()
    expect(page.get_by_role("button", name="Start the replay")).to_be_enabled()
