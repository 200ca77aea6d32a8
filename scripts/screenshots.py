"""Take a screenshot of each main screen of the rule editor into docs/screenshots/.

Run: scripts/screenshots [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import Page, expect, sync_playwright

from tests.server.graphql_ops import camel, operation
from tests.web.harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DEMO_EMAIL,
    DEMO_PASSWORD,
    REPO_ROOT,
    build_web_app,
    running_server,
)
from tests.web.pages import aetna_ak_encounter, go_to_line, graphql, log_in_as, open_rulebook, retype_line
from tests.web.people import Authenticator, make_web_clinic

AETNA = "Aetna commercial (template)"


def take(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []

    def shot(page: Page, name: str, full_page: bool = False) -> None:
        page.mouse.move(0, 0) if name != "editor-diagnostic" else None
        path = out / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
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

        # Rules go live: a new clinic's manager adopts Aetna and submits twice; its reviewer asked for
        # a change on a line of version 1 and now reviews version 2.
        people = make_web_clinic(server, ("practice_manager", "compliance_reviewer")).people
        manager, reviewer = people["practice_manager"], people["compliance_reviewer"]
        manager_context = browser.new_context(base_url=server.base_url)
        log_in_as(manager_context, server.base_url, manager.email, manager.password)
        adopted = graphql(manager_context, server.base_url, operation("AdoptTemplate"), {"name": AETNA})[
            "adoptTemplate"
        ]
        retitled = adopted["draftText"].replace("per session", "per visit", 1)
        save = operation("SaveRulebookDraft")
        saved = graphql(
            manager_context, server.base_url, save, {"id": adopted["id"], "text": retitled, "baseRevision": 1}
        )
        revision = saved["saveRulebookDraft"]["draftRevision"]
        submit = operation("SubmitRulebookForReview")
        first = graphql(manager_context, server.base_url, submit, {"id": adopted["id"], "baseRevision": revision})
        reviewer_page = browser.new_context(
            viewport={"width": 1400, "height": 860}, base_url=server.base_url
        ).new_page()
        log_in_as(
            reviewer_page.context,
            server.base_url,
            reviewer.email,
            reviewer.password,
            Authenticator(reviewer.totp_secret or "").fresh_code(),
        )
        comment = {"line": 11, "body": "Say per session, as the contract does."}
        review = {
            "versionId": first["submitRulebookForReview"]["id"],
            "decision": "REQUEST_CHANGES",
            "lineComments": [comment],
        }
        graphql(reviewer_page.context, server.base_url, operation("ReviewRulebook"), review)
        saved = graphql(
            manager_context,
            server.base_url,
            save,
            {
                "id": adopted["id"],
                "text": adopted["draftText"]
                .replace("at most 10", "at most 14", 1)
                .replace("service.count > 10 lesions", "service.count > 14 lesions")
                .replace("at 10 lesions", "at 14 lesions"),
                "baseRevision": revision,
            },
        )
        second = graphql(
            manager_context,
            server.base_url,
            submit,
            {"id": adopted["id"], "baseRevision": saved["saveRulebookDraft"]["draftRevision"]},
        )
        reviewer_page.goto(f"/rulebooks/{adopted['id']}/versions?version={first['submitRulebookForReview']['id']}")
        expect(reviewer_page.get_by_role("list", name="Comments on line 11")).to_be_visible()
        shot(reviewer_page, "versions")

        # The clinic's stored encounters the behavioural diff codes under each version: AKs by the dozen.
        for number, lesions in enumerate((6, 11, 12, 14, 18, 25)):
            encounter = aetna_ak_encounter(f"AK-{number + 1}", lesions, patient=f"P-{number}")
            graphql(manager_context, server.base_url, operation("CodeEncounter"), {"input": encounter})
        first_id, second_id = first["submitRulebookForReview"]["id"], second["submitRulebookForReview"]["id"]
        reviewer_page.goto(f"/rulebooks/{adopted['id']}/compare?from={first_id}&to={second_id}")
        expect(reviewer_page.get_by_role("list", name="Exact regions")).to_contain_text("11-14 lesions")
        shot(reviewer_page, "compare")

        # The same draft replayed against those six encounters: no Aetna book is published yet, so
        # each one codes differently (the draft would be the payer's book), the bigger ones capped.
        reviewer_page.goto(f"/rulebooks/{adopted['id']}/replay")
        reviewer_page.get_by_role("button", name="Start the replay").click()
        expect(reviewer_page.locator("#replay-outcome")).to_contain_text("The replay is done")
        shot(reviewer_page, "replay", full_page=True)

        # The same draft shadowed on live traffic for a week: the manager starts it, and three AK
        # encounters coded since (5, 12 and 20 lesions) show what it would change.
        manager_page = manager_context.new_page()
        manager_page.set_viewport_size({"width": 1400, "height": 860})
        manager_page.goto(f"/rulebooks/{adopted['id']}/shadow")
        manager_page.get_by_label("Days to shadow").fill("7")
        manager_page.get_by_role("button", name="Start the shadow").click()
        expect(manager_page.locator("#shadow-seen")).to_have_text("0 live codings seen.")
        for number, lesions in enumerate((5, 12, 20)):
            encounter = aetna_ak_encounter(f"AK-LIVE-{number + 1}", lesions, patient=f"Q-{number}")
            graphql(manager_context, server.base_url, operation("CodeEncounter"), {"input": encounter})
        expect(manager_page.locator("#shadow-seen")).to_have_text("3 live codings seen.")
        shot(manager_page, "shadow", full_page=True)

        billing_workspace(browser, server.base_url, server, shot)
        browser.close()
    return shots


def billing_workspace(browser: Any, base_url: str, server: Any, shot: Any) -> None:
    """A biller's day: the encounters list, a coding with an override, the provider query worklist."""
    biller = make_web_clinic(server, ("biller",), name="Riverside Skin").people["biller"]
    page = browser.new_context(viewport={"width": 1400, "height": 860}, base_url=base_url).new_page()
    log_in_as(page.context, base_url, biller.email, biller.password)
    code = operation("CodeEncounter")
    for number, lesions in enumerate((4, 12, 20)):
        graphql(page.context, base_url, code, {"input": aetna_ak_encounter(f"AK-{number + 1}", lesions)})
    fixtures = REPO_ROOT / "tests" / "fixtures" / "encounters"
    for name, external_id in (("borderline_sk", "SK-7"), ("borderline_sk", "SK-8"), ("biopsy_em", "BX-3")):
        encounter = camel({**json.loads((fixtures / f"{name}.json").read_text()), "external_id": external_id})
        coded = graphql(page.context, base_url, code, {"input": encounter})["codeEncounter"]
    queries = graphql(page.context, base_url, operation("ProviderQueries"), {"filter": {"externalId": "SK-7"}})
    answer = {"id": queries["providerQueries"]["nodes"][0]["id"], "addendum": "The lesion bleeds and itches."}
    graphql(page.context, base_url, operation("AnswerProviderQuery"), answer)
    override = {
        "codingId": coded["coding"]["id"],
        "lineIndex": 2,
        "line": {"code": "99213", "units": 1, "modifiers": ["25"], "diagnoses": ["L30.9"]},
        "reason": "Problem-focused visit: the provider documented a level 3 decision",
    }
    graphql(page.context, base_url, operation("OverrideLine"), override)

    page.goto("/encounters")
    expect(page.get_by_role("table", name="Encounters, newest first").locator("tbody tr")).to_have_count(7)
    shot(page, "encounters")
    page.get_by_role("link", name="BX-3").click()
    expect(page.get_by_role("list", name="Overrides").get_by_role("listitem")).to_have_count(1)
    shot(page, "coding", full_page=True)
    page.goto("/queries?status=all")
    expect(page.get_by_role("list", name="Provider queries").get_by_role("listitem")).to_have_count(2)
    shot(page, "provider-queries")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "screenshots")
    for path in take(parser.parse_args().out):
        print(path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path)


if __name__ == "__main__":
    main()
