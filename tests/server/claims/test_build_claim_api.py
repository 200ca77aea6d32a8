"""buildClaim over GraphQL: a stored coding becomes a kept 837P, numbered per encounter, its first an
original and each later one a replacement or void naming the payer's number; nothing is kept unless
the file passed pyx12 and the semantic checks, and every refusal names where."""

from __future__ import annotations

import json
from typing import Any

from server.claims.checks import check_837p
from tests.factories import make_clinic
from tests.server.claims.factories import EXAMPLE_SETUP, EXAMPLE_SUBSCRIBER
from tests.server.graphql_ops import encounter_input, gql, operation
from tests.server.session_client import as_person, login


async def _build(client: Any, headers: dict[str, str], **variables: Any) -> dict[str, Any]:
    variables.setdefault("subscriber", json.loads(EXAMPLE_SUBSCRIBER.read_text()))
    body = await as_person(client, operation("BuildClaim"), variables, headers)
    assert "errors" not in body, body
    return body["data"]["buildClaim"]


async def test_a_coded_encounter_is_billed_replaced_and_voided(app_client) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory, roles=("practice_manager", "biller"))
    manager = await login(app_client, *clinic.people["practice_manager"])
    biller = manager  # one browser, one session: a practice manager writes encounters too
    coded = await gql(app_client, operation("CodeEncounter"), {"input": encounter_input()}, clinic.key)
    encounter_id = coded["data"]["codeEncounter"]["encounter"]["id"]

    no_setup = await _build(app_client, biller, encounterId=encounter_id)
    assert no_setup["fields"] == [
        {"path": "encounterId", "message": "the clinic has no billing setup yet: save one with saveBillingSetup"}
    ]
    saved = await as_person(
        app_client, operation("SaveBillingSetup"), {"setup": json.loads(EXAMPLE_SETUP.read_text())}, manager
    )
    assert saved["data"]["saveBillingSetup"]["revision"] == 1

    first = await _build(app_client, biller, encounterId=encounter_id)
    assert first["__typename"] == "Claim", first
    assert (first["version"], first["frequency"], first["patientControlNumber"]) == (1, "ORIGINAL", "DEMO-0001-1")
    assert first["total"] == "425.00" and first["setupRevision"] == 1
    assert check_837p(first["x12"]) == []
    assert "CLM*DEMO-0001-1*425***11:B:1*Y*A*Y*Y~" in first["x12"].splitlines()

    again = await _build(app_client, biller, encounterId=encounter_id)
    assert again["fields"] == [
        {"path": "frequency", "message": "claim 1 of this encounter exists: send a replacement (7) or a void (8)"}
    ]
    unnamed = await _build(app_client, biller, encounterId=encounter_id, frequency="REPLACEMENT")
    assert unnamed["__typename"] == "InvalidInput"
    assert "needs payer_claim_control_number" in unnamed["fields"][0]["message"]
    replaced = await _build(
        app_client, biller, encounterId=encounter_id, frequency="REPLACEMENT", payerClaimControlNumber="26110300123"
    )
    assert (replaced["version"], replaced["frequency"]) == (2, "REPLACEMENT")
    assert "REF*F8*26110300123~" in replaced["x12"].splitlines()
    voided = await _build(
        app_client, biller, encounterId=encounter_id, frequency="VOID", payerClaimControlNumber="26110300456"
    )
    assert (voided["version"], voided["patientControlNumber"]) == (3, "DEMO-0001-3")

    listed = await as_person(app_client, operation("Claims"), {"encounterId": encounter_id}, biller)
    assert [(c["version"], c["frequency"]) for c in listed["data"]["claims"]] == [
        (1, "ORIGINAL"),
        (2, "REPLACEMENT"),
        (3, "VOID"),
    ]
    node = await as_person(
        app_client, "query($id: ID!) { node(id: $id) { ... on Claim { version } } }", {"id": first["id"]}, biller
    )
    assert node["data"]["node"] == {"version": 1}


async def test_a_claim_that_cannot_be_built_is_refused_with_where_and_nothing_is_kept(app_client) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory, roles=("practice_manager", "biller"))
    manager = await login(app_client, *clinic.people["practice_manager"])
    biller = manager  # one browser, one session: a practice manager writes encounters too
    setup = json.loads(EXAMPLE_SETUP.read_text())
    setup["clearinghouses"][0]["payer_ids"] = [
        p for p in setup["clearinghouses"][0]["payer_ids"] if p["payer"] != "AETNA"
    ]
    await as_person(app_client, operation("SaveBillingSetup"), {"setup": setup}, manager)
    coded = await gql(app_client, operation("CodeEncounter"), {"input": encounter_input()}, clinic.key)
    encounter_id = coded["data"]["codeEncounter"]["encounter"]["id"]

    unrouted = await _build(app_client, biller, encounterId=encounter_id)
    assert unrouted["fields"] == [
        {
            "path": "encounter.coverage.payer",
            "message": "clearinghouse 'example' has no payer id for payer 'AETNA': add it to the billing setup's "
            "payer_ids",
        }
    ]
    bad_subscriber = await _build(
        app_client, biller, encounterId=encounter_id, subscriber={"last_name": "Doe*Jane", "sex": "X"}
    )
    assert [f["path"] for f in bad_subscriber["fields"]] == [
        "last_name",
        "first_name",
        "birth_date",
        "sex",
        "address",
    ]
    assert "Doe" not in json.dumps(bad_subscriber)  # the value is never echoed
    listed = await as_person(app_client, operation("Claims"), {"encounterId": encounter_id}, biller)
    assert listed["data"]["claims"] == []


async def test_only_people_and_keys_that_write_encounters_build_claims(app_client) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory, roles=("read_only",))
    reader = await login(app_client, *clinic.people["read_only"])
    refused = await _build(app_client, reader, encounterId="x")
    assert refused["__typename"] == "Forbidden"


async def _clinic_with_a_coded_encounter(client: Any) -> tuple[Any, dict[str, str], dict[str, Any]]:
    """A clinic with the example billing setup, its practice manager's session, and a coded encounter."""
    clinic = await make_clinic(client.app_services.session_factory, roles=("practice_manager",))
    manager = await login(client, *clinic.people["practice_manager"])
    await as_person(client, operation("SaveBillingSetup"), {"setup": json.loads(EXAMPLE_SETUP.read_text())}, manager)
    coded = await gql(client, operation("CodeEncounter"), {"input": encounter_input()}, clinic.key)
    return clinic, manager, coded


async def _override(client: Any, key: str, coding_id: str, index: int, **line: Any) -> dict[str, Any]:
    variables = {"codingId": coding_id, "lineIndex": index, "line": line, "reason": "per the operative note"}
    body = await gql(client, operation("OverrideLine"), variables, key)
    assert body["data"]["overrideLine"]["__typename"] == "LineOverride", body
    return body["data"]["overrideLine"]


async def test_a_claim_is_built_from_the_coding_as_the_biller_approved_it(app_client) -> None:
    clinic, manager, coded = await _clinic_with_a_coded_encounter(app_client)
    encounter_id = coded["data"]["codeEncounter"]["encounter"]["id"]
    coding = coded["data"]["codeEncounter"]["coding"]
    engine_lines = [(line["code"], line["modifiers"], line["units"]) for line in coding["claimLines"]]
    assert engine_lines[2] == ("99214", ["25"], 1), engine_lines

    # The biller brings the visit down a level: 99213 (120.00 in the clinic's schedule, not 99214's 175.00),
    # then changes their mind about the modifier; the latest override of a line is the one that counts.
    await _override(app_client, clinic.key, coding["id"], 2, code="99213", units=1, modifiers=["25"])
    latest = await _override(app_client, clinic.key, coding["id"], 2, code="99213", units=1, modifiers=["25", "GC"])
    claim = await _build(app_client, manager, encounterId=encounter_id)
    assert claim["__typename"] == "Claim", claim
    lines = claim["x12"].splitlines()
    assert "SV1*HC:99213:25:GC*120*UN*1***3~" in lines, lines
    assert not any(line.startswith("SV1*HC:99214") for line in lines)
    assert claim["total"] == "370.00"  # 425.00 - 175.00 + 120.00
    assert "CLM*DEMO-0001-1*370***11:B:1*Y*A*Y*Y~" in lines
    assert check_837p(claim["x12"]) == []
    assert claim["codingId"] == coding["id"] and claim["overrideIds"] == [latest["id"]]

    listed = await as_person(app_client, operation("Claims"), {"encounterId": encounter_id}, manager)
    assert [(c["codingId"], c["overrideIds"]) for c in listed["data"]["claims"]] == [(coding["id"], [latest["id"]])]


async def test_an_override_to_a_code_the_clinic_has_no_fee_for_is_refused_where(app_client) -> None:
    clinic, manager, coded = await _clinic_with_a_coded_encounter(app_client)
    coding = coded["data"]["codeEncounter"]["coding"]
    await _override(app_client, clinic.key, coding["id"], 0, code="99499", units=1)
    refused = await _build(app_client, manager, encounterId=coded["data"]["codeEncounter"]["encounter"]["id"])
    assert refused["fields"] == [
        {"path": "coding.claim_lines[0].charge", "message": "99499 has no charge: add it to the fee schedule"}
    ]


async def test_a_spouses_claim_names_the_subscriber_and_the_patient_apart(app_client) -> None:
    _, manager, coded = await _clinic_with_a_coded_encounter(app_client)
    encounter_id = coded["data"]["codeEncounter"]["encounter"]["id"]
    dependent = json.loads((EXAMPLE_SETUP.parent / "subscriber-dependent.json").read_text())

    wrong = await _build(
        app_client, manager, encounterId=encounter_id, subscriber={**dependent, "patient": {"relationship": "01"}}
    )
    assert wrong["__typename"] == "InvalidInput"
    assert {field["path"] for field in wrong["fields"]} >= {"patient.last_name", "patient.birth_date"}

    claim = await _build(app_client, manager, encounterId=encounter_id, subscriber=dependent)
    assert claim["__typename"] == "Claim", claim
    lines = claim["x12"].splitlines()
    assert "SBR*P**GRP12345******CI~" in lines and "PAT*01~" in lines and "NM1*QC*1*DOE*JANE~" in lines
    assert lines.index("HL*3*2*23*0~") < lines.index("PAT*01~") < next(i for i, s in enumerate(lines) if s[:3] == "CLM")
    assert check_837p(claim["x12"]) == []
