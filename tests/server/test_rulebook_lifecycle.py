"""Clinic rules go live, end to end over the API: a practice manager adopts a template and changes a
threshold; a compliance reviewer approves with a fresh code; publish; `codeEncounter` codes by the
new rule and names the version; re-coding with the old version reproduces the old coding."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tenants import totp
from tests.factories import make_clinic
from tests.server.graphql_ops import encounter_input, operation
from tests.server.session_client import as_person, login

AETNA = "Aetna commercial (template)"


class Clock:
    """The server's clock for second factors, moved on by a time step whenever a test needs a
    fresh code (a code is accepted once: approving and publishing each ask for a new one)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = dt.timedelta()
        monkeypatch.setattr("tenants.auth.utcnow", self.now)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset

    def fresh_code(self, secret: str) -> str:
        self.offset += dt.timedelta(seconds=totp.STEP_SECONDS)
        return totp.code_at(secret, totp.current_step(self.now().timestamp()))


def aetna_encounter(external_id: str, lesions: int) -> dict[str, Any]:
    encounter = encounter_input(external_id=external_id, date_of_service="2026-03-02")
    encounter["services"] = [
        {"id": "d1", "kind": "destruction", "count": lesions, "site": "face", "diagnoses": ["L57.0"]}
    ]
    encounter["diagnoses"] = ["L57.0"]
    encounter["note"] = "Actinic keratoses of the face treated with cryotherapy."
    return encounter


def raised_threshold(text: str) -> str:
    """The Aetna template with its AK cap raised from 10 to 14 lesions, its tests with it."""
    return (
        text.replace("at most 10 actinic keratoses", "at most 14 actinic keratoses")
        .replace("service.count > 10 lesions", "service.count > 14 lesions")
        .replace("cap lesions of service at 10 lesions", "cap lesions of service at 14 lesions")
        .replace(
            "expect line 17003 units 9\n  expect no line 17004", "expect line 17003 units 13\n  expect no line 17004"
        )
        .replace("| 11 lesions    | line 17003 units 9;", "| 15 lesions    | line 17003 units 13;")
    )


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


async def test_a_threshold_change_goes_live_through_four_eyes_and_the_old_coding_still_reproduces(
    app_client: Any, clock: Clock
) -> None:
    clinic = await make_clinic(
        app_client.app_services.session_factory, roles=("practice_manager", "compliance_reviewer")
    )
    manager_email, _ = clinic.people["practice_manager"]
    reviewer_email, secret = clinic.people["compliance_reviewer"]
    manager = await login(app_client, manager_email)
    async with app_client.another_browser() as reviewer_browser:
        reviewer = await login(reviewer_browser, reviewer_email, secret)

        async def as_manager(name: str, variables: dict[str, Any]) -> dict[str, Any]:
            return (await as_person(app_client, operation(name), variables, manager))["data"]

        async def as_reviewer(name: str, variables: dict[str, Any]) -> dict[str, Any]:
            return (await as_person(reviewer_browser, operation(name), variables, reviewer))["data"]

        # Before anything is published, Aetna has no book: the base codes 12 AKs uncapped, and says so.
        before = (await as_manager("CodeEncounter", {"input": aetna_encounter("AK-1", 12)}))["codeEncounter"]
        assert ("17003", 11) in {(line["code"], line["units"]) for line in before["coding"]["claimLines"]}
        assert "no_payer_rulebook" in {flag["code"] for flag in before["coding"]["flags"]}

        # Version 1: the template as shipped, approved by the reviewer and published.
        adopted = (await as_manager("AdoptTemplate", {"name": AETNA}))["adoptTemplate"]
        assert adopted["__typename"] == "Rulebook" and adopted["payer"] == "AETNA"
        first = await _submit(as_manager, adopted["id"], adopted["draftRevision"])
        own = await as_manager("ReviewRulebook", {"versionId": first["id"], "decision": "APPROVE"})
        assert own["reviewRulebook"]["__typename"] == "Forbidden"  # a practice manager approves nothing
        await _approve_and_publish(as_reviewer, clock, secret, first["id"])

        capped = (await as_manager("CodeEncounter", {"input": aetna_encounter("AK-2", 12)}))["codeEncounter"]
        assert ("17003", 9) in {(line["code"], line["units"]) for line in capped["coding"]["claimLines"]}
        aetna_ref = [ref for ref in capped["coding"]["rulebooks"] if ref["name"] == AETNA]
        assert [ref["versionId"] for ref in aetna_ref] == [first["id"]]
        assert capped["coding"]["releases"]["engine"]

        # Version 2: the threshold raised; the reviewer approves it with a fresh code; publish.
        saved = await as_person(
            app_client,
            operation("SaveRulebookDraft"),
            {"id": adopted["id"], "text": raised_threshold(adopted["draftText"]), "baseRevision": 1},
            manager,
        )
        revision = saved["data"]["saveRulebookDraft"]["draftRevision"]
        second = await _submit(as_manager, adopted["id"], revision)
        assert second["number"] == 2 and second["contentHash"] != first["contentHash"]

        # The reviewer reads the three diffs before approving.
        diff = (await as_reviewer("DiffRulebooks", {"from": first["id"], "to": second["id"]}))["diffRulebooks"]
        assert diff["__typename"] == "RulebookDiff", diff
        changed = {(change["kind"], change["id"], change["status"]) for change in diff["changes"]}
        assert ("rule", "aetna-ak-cap-10", "changed") in changed
        assert "-   and service.count > 10 lesions" in next(
            change["textDiff"] for change in diff["changes"] if change["id"] == "aetna-ak-cap-10"
        )
        sentences = [region["sentence"] for region in diff["regions"]]
        flipped = "service.count 11-14 lesions: fires -> does not fire"
        assert any(flipped in sentence for sentence in sentences), sentences
        impact = diff["impact"]
        assert impact["sampled"] == 2 and impact["changed"] == 2 and impact["chargeUp"] != "0", impact
        assert sorted(row["externalId"] for row in impact["encounters"]) == ["AK-1", "AK-2"]  # 12 AKs each
        assert all(row["summary"].startswith("17003: units 9 -> 11") for row in impact["encounters"])
        await _approve_and_publish(as_reviewer, clock, secret, second["id"])

        after = (await as_manager("CodeEncounter", {"input": aetna_encounter("AK-2", 12)}))["codeEncounter"]
        assert ("17003", 11) in {(line["code"], line["units"]) for line in after["coding"]["claimLines"]}
        assert "payer_lesion_cap_applied" not in {flag["code"] for flag in after["coding"]["flags"]}
        assert [r["versionId"] for r in after["coding"]["rulebooks"] if r["name"] == AETNA] == [second["id"]]

        # The coding made under version 1 is reproduced byte for byte with version 1.
        recoded = (await as_reviewer("RecodeAsOf", {"codingId": capped["coding"]["id"]}))["recodeAsOf"]
        assert recoded["__typename"] == "RecodeResult", recoded
        assert recoded["identical"] is True, recoded["differences"]
        assert recoded["recoded"]["document"] == recoded["original"]["document"] == capped["coding"]["document"]

        versions = (await as_reviewer("RulebookVersions", {"rulebookId": adopted["id"]}))["rulebookVersions"]
        assert [(v["number"], v["status"]) for v in versions] == [(2, "published"), (1, "published")]


async def _submit(as_manager: Any, rulebook_id: str, revision: int) -> dict[str, Any]:
    submitted = (await as_manager("SubmitRulebookForReview", {"id": rulebook_id, "baseRevision": revision}))[
        "submitRulebookForReview"
    ]
    assert submitted["__typename"] == "RulebookVersion" and submitted["status"] == "in_review", submitted
    return submitted  # type: ignore[no-any-return]


async def _approve_and_publish(as_reviewer: Any, clock: Clock, secret: str, version_id: str) -> None:
    without_code = await as_reviewer("ReviewRulebook", {"versionId": version_id, "decision": "APPROVE"})
    assert without_code["reviewRulebook"]["__typename"] == "Forbidden"
    approved = (
        await as_reviewer(
            "ReviewRulebook",
            {"versionId": version_id, "decision": "APPROVE", "totpCode": clock.fresh_code(secret), "comment": "ok"},
        )
    )["reviewRulebook"]
    assert approved["status"] == "approved", approved
    published = (await as_reviewer("PublishRulebook", {"versionId": version_id, "totpCode": clock.fresh_code(secret)}))[
        "publishRulebook"
    ]
    assert published["__typename"] == "RulebookVersion" and published["status"] == "published", published


async def test_an_impact_replay_of_a_draft_counts_what_it_would_change(app_client: Any) -> None:
    import asyncio

    clinic = await make_clinic(app_client.app_services.session_factory, roles=("practice_manager",))
    manager = await login(app_client, clinic.people["practice_manager"][0])

    async def call(name: str, variables: dict[str, Any]) -> dict[str, Any]:
        return (await as_person(app_client, operation(name), variables, manager))["data"]

    for number, lesions in enumerate((5, 12, 20)):
        await call("CodeEncounter", {"input": aetna_encounter(f"AK-{number}", lesions)})
    await call(
        "CodeEncounter",
        {"input": {**aetna_encounter("UHC-1", 20), "coverage": {"payer": "UHC", "planType": "commercial"}}},
    )
    adopted = (await call("AdoptTemplate", {"name": AETNA}))["adoptTemplate"]
    started = (await call("StartImpactReplay", {"rulebookId": adopted["id"], "encounters": 100}))["startImpactReplay"]
    assert started["__typename"] == "ImpactReplay" and started["total"] == 3, started  # Aetna's encounters only
    for _ in range(200):
        replay = (await call("ImpactReplay", {"id": started["id"]}))["impactReplay"]
        if replay["status"] != "running":
            break
        await asyncio.sleep(0.05)
    assert replay["status"] == "done" and replay["done"] == 3, replay
    # Aetna has no published book: today 12 and 20 AKs bill uncapped, and every Aetna coding says no
    # payer book is in effect; the draft caps them at 10 and is that book.
    impact = replay["impact"]
    assert (impact["encounters"], impact["changed"], impact["flagsChanged"]) == (3, 3, 5), impact
    assert (impact["linesChanged"], impact["linesAdded"], impact["linesRemoved"]) == (1, 2, 1), impact
    assert impact["chargesDown"] != "0" and impact["chargesUp"] == "0"
    assert [family["name"] for family in replay["byFamily"]] == ["destruction"]
    assert [payer["name"] for payer in replay["byPayer"]] == ["AETNA"]
    summaries = sorted(example["summary"] for example in replay["examples"])
    assert "-flag no_payer_rulebook (AETNA)" in summaries  # 5 AKs: only the flag moves
    assert any(summary.startswith("17003: units 11 -> 9") for summary in summaries), summaries
    assert any(summary.startswith("-17004 x1; +17000 x1; +17003 x9") for summary in summaries), summaries
    finished = (await call("CancelImpactReplay", {"id": started["id"]}))["cancelImpactReplay"]
    assert finished["__typename"] == "Conflict"  # only a running replay is cancelled
    too_many = await call("StartImpactReplay", {"rulebookId": adopted["id"], "encounters": 10**7})
    assert too_many["startImpactReplay"]["__typename"] == "InvalidInput"


async def test_the_base_template_is_adopted_as_the_base_layer_and_says_when_a_release_is_newer(app_client: Any) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory, roles=("practice_manager",))
    manager = await login(app_client, clinic.people["practice_manager"][0])
    adopted = await as_person(app_client, operation("AdoptTemplate"), {"name": "National base"}, manager)
    assert adopted["data"]["adoptTemplate"]["layer"] == "base"
    again = await as_person(app_client, operation("AdoptTemplate"), {"name": "National base"}, manager)
    assert again["data"]["adoptTemplate"]["__typename"] == "Conflict"  # adopted already: update instead
    listed = await as_person(app_client, "query { rulebooks { layer templateName updateAvailable } }", None, manager)
    assert listed["data"]["rulebooks"] == [{"layer": "base", "templateName": "National base", "updateAvailable": False}]
    from sqlalchemy import update

    from server.db import tenant_session
    from server.models import RulebookRecord

    async with tenant_session(app_client.app_services.session_factory, clinic.tenant_id) as session:
        await session.execute(update(RulebookRecord).values(template_version="sha256:an-older-release"))
    listed = await as_person(app_client, "query { rulebooks { updateAvailable } }", None, manager)
    assert listed["data"]["rulebooks"] == [{"updateAvailable": True}]


async def test_a_draft_shadow_codes_live_traffic_beside_the_published_rules(app_client: Any) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory, roles=("practice_manager",))
    manager = await login(app_client, clinic.people["practice_manager"][0])

    async def call(name: str, variables: dict[str, Any]) -> dict[str, Any]:
        return (await as_person(app_client, operation(name), variables, manager))["data"]

    adopted = (await call("AdoptTemplate", {"name": AETNA}))["adoptTemplate"]
    shadow = (await call("StartDraftShadow", {"rulebookId": adopted["id"], "days": 7}))["startDraftShadow"]
    assert shadow["__typename"] == "DraftShadow" and shadow["status"] == "running" and shadow["seen"] == 0
    live = []
    for number, lesions in enumerate((5, 12)):
        coded = (await call("CodeEncounter", {"input": aetna_encounter(f"AK-{number}", lesions)}))["codeEncounter"]
        live.append({(line["code"], line["units"]) for line in coded["coding"]["claimLines"]})
    uhc = {**aetna_encounter("UHC-1", 12), "coverage": {"payer": "UHC", "planType": "commercial"}}
    await call("CodeEncounter", {"input": uhc})
    assert ("17003", 11) in live[1]  # the live coding is the published rules' (no Aetna book): uncapped
    seen = (await call("DraftShadow", {"id": shadow["id"]}))["draftShadow"]
    assert seen["seen"] == 2  # Aetna's encounters only: the draft is Aetna's book
    assert seen["impact"]["changed"] == 2 and seen["impact"]["chargesDown"] != "0"
    assert any(d["summary"].startswith("17003: units 11 -> 9") for d in seen["differences"]), seen["differences"]
    stopped = (await call("StopDraftShadow", {"id": shadow["id"]}))["stopDraftShadow"]
    assert stopped["status"] == "stopped"
    await call("CodeEncounter", {"input": aetna_encounter("AK-9", 12)})
    assert (await call("DraftShadow", {"id": shadow["id"]}))["draftShadow"]["seen"] == 2  # stopped: sees no more
    again = (await call("StopDraftShadow", {"id": shadow["id"]}))["stopDraftShadow"]
    assert again["__typename"] == "Conflict"
    too_long = (await call("StartDraftShadow", {"rulebookId": adopted["id"], "days": 365}))["startDraftShadow"]
    assert too_long["__typename"] == "InvalidInput"
    for _ in range(3):  # at most 3 at once: each codes every Aetna encounter once more
        started = (await call("StartDraftShadow", {"rulebookId": adopted["id"]}))["startDraftShadow"]
        assert started["__typename"] == "DraftShadow"
    fourth = (await call("StartDraftShadow", {"rulebookId": adopted["id"]}))["startDraftShadow"]
    assert fourth["__typename"] == "Conflict"


async def test_a_recode_after_an_engine_release_shows_what_differs_and_why(app_client: Any) -> None:
    from sqlalchemy import select

    from server.api.ids import from_global_id
    from server.db import tenant_session
    from server.models import CodingRecord

    clinic = await make_clinic(app_client.app_services.session_factory, roles=("practice_manager",))
    manager = await login(app_client, clinic.people["practice_manager"][0])
    coded = await as_person(app_client, operation("CodeEncounter"), {"input": aetna_encounter("AK-1", 12)}, manager)
    coding_id = coded["data"]["codeEncounter"]["coding"]["id"]
    async with tenant_session(app_client.app_services.session_factory, clinic.tenant_id) as session:
        row = (
            await session.execute(select(CodingRecord).where(CodingRecord.id == from_global_id(coding_id, "Coding")))
        ).scalar_one()
        payload = dict(row.payload)
        payload["releases"] = {**payload["releases"], "engine": "2026.11.0"}  # as an older engine stored it
        row.payload = payload
    recoded = (await as_person(app_client, operation("RecodeAsOf"), {"codingId": coding_id}, manager))["data"]
    answer = recoded["recodeAsOf"]
    assert answer["identical"] is False
    assert answer["why"][0].startswith("the engine release changed: 2026.11.0 then")
    assert any(difference.startswith("releases:") for difference in answer["differences"]), answer["differences"]


async def test_an_update_available_is_diffed_against_the_template_before_it_is_adopted(app_client: Any) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory, roles=("practice_manager",))
    manager = await login(app_client, clinic.people["practice_manager"][0])
    adopted = (await as_person(app_client, operation("AdoptTemplate"), {"name": AETNA}, manager))["data"]
    rulebook = adopted["adoptTemplate"]["id"]
    older = adopted["adoptTemplate"]["draftText"].replace("service.count > 10 lesions", "service.count > 8 lesions")
    await as_person(
        app_client, operation("SaveRulebookDraft"), {"id": rulebook, "text": older, "baseRevision": 1}, manager
    )
    query = (
        'query($from: ID!) { diffRulebooks(from: $from, toTemplate: "Aetna commercial (template)") '
        "{ __typename ... on RulebookDiff { toLabel changes { id status } regions { sentence } } } }"
    )
    diff = (await as_person(app_client, query, {"from": rulebook}, manager))["data"]["diffRulebooks"]
    assert diff["toLabel"].startswith("template release sha256:")
    assert diff["changes"] == [{"id": "aetna-ak-cap-10", "status": "changed"}]
    assert "service.count 9-10 lesions: fires -> does not fire" in diff["regions"][0]["sentence"]
    neither = "query($from: ID!) { diffRulebooks(from: $from) { __typename } }"
    refused = (await as_person(app_client, neither, {"from": rulebook}, manager))["data"]["diffRulebooks"]
    assert refused["__typename"] == "InvalidInput"
