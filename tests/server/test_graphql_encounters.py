"""codeEncounter / submitEncounter / encounter(id) over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import func, select

from server.models import CodingRecord, EncounterRecord, OutboxMessage
from tests.factories import make_clinic
from tests.server.graphql_ops import encounter_input, gql, operation
from tests.server.session_client import as_person, login


async def test_code_encounter_returns_explained_lines(app_client) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory)
    key = clinic.key
    body = await gql(app_client, operation("CodeEncounter"), {"input": encounter_input()}, key)
    assert "errors" not in body, body
    result = body["data"]["codeEncounter"]
    assert result["__typename"] == "CodedEncounter"
    lines = {(line["code"], line["units"], tuple(line["modifiers"])): line for line in result["coding"]["claimLines"]}
    # punch biopsy is primary; two tangential biopsies are 11103 x2; E/M level 4 with 25.
    assert set(lines) == {("11104", 1, ()), ("11103", 2, ()), ("99214", 1, ("25",))}
    assert lines[("11104", 1, ())]["charge"] == "130.00"
    assert lines[("11103", 2, ())]["diagnoses"] == ["L57.0"]
    em_steps = [reason["step"] for reason in lines[("99214", 1, ("25",))]["reasons"]]
    assert "apply_modifier_25" in em_steps and "classify_documentation" in em_steps
    assert result["coding"]["document"]["claim_lines"][0]["code"] == "11104"
    assert result["encounter"]["status"] == "coded"
    assert result["encounter"]["version"] == 1


async def test_invalid_encounter_names_the_field_and_stores_nothing(app_client) -> None:
    factory = app_client.app_services.session_factory
    clinic = await make_clinic(factory)
    tenant_id = clinic.tenant_id
    key = clinic.key
    bad = encounter_input(diagnoses=["L57.0", "not-a-code"])
    bad["provider"]["npi"] = "1234567890"
    body = await gql(app_client, operation("CodeEncounter"), {"input": bad}, key)
    result = body["data"]["codeEncounter"]
    assert result["__typename"] == "InvalidInput"
    paths = {field["path"]: field["message"] for field in result["fields"]}
    assert paths["provider.npi"] == "the NPI check digit is wrong"
    assert "diagnosis 2" in paths["diagnoses"]
    from server.db import tenant_session

    async with tenant_session(factory, tenant_id) as session:
        assert (await session.execute(select(func.count()).select_from(EncounterRecord))).scalar_one() == 0


async def test_unlinked_service_diagnosis_is_refused(app_client) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory)
    key = clinic.key
    bad = encounter_input()
    bad["services"][1]["diagnoses"] = ["C44.319"]
    result = (await gql(app_client, operation("CodeEncounter"), {"input": bad}, key))["data"]["codeEncounter"]
    assert result["__typename"] == "InvalidInput"
    assert "links diagnosis 'C44.319'" in result["fields"][0]["message"]


async def test_submit_codes_in_background_and_resubmission_makes_a_new_version(app_client) -> None:
    services = app_client.app_services
    clinic = await make_clinic(services.session_factory)
    tenant_id = clinic.tenant_id
    key = clinic.key
    first = await gql(app_client, operation("SubmitEncounter"), {"input": encounter_input()}, key)
    first_encounter = first["data"]["submitEncounter"]["encounter"]
    assert first_encounter["status"] == "queued"
    await services.queue.drain()
    fetched = (await gql(app_client, operation("Encounter"), {"id": first_encounter["id"]}, key))["data"]["encounter"]
    assert fetched["status"] == "coded"
    assert fetched["coding"]["status"] == "ready"
    assert {line["code"] for line in fetched["coding"]["claimLines"]} == {"11104", "11103", "99214"}

    changed = encounter_input()
    changed["services"] = changed["services"][1:]  # the E/M is withdrawn
    second = await gql(app_client, operation("SubmitEncounter"), {"input": changed}, key)
    second_encounter = second["data"]["submitEncounter"]["encounter"]
    assert second_encounter["version"] == 2
    assert second_encounter["previousVersionId"] == first_encounter["id"]
    await services.queue.drain()
    old = (await gql(app_client, operation("Encounter"), {"id": first_encounter["id"]}, key))["data"]["encounter"]
    new = (await gql(app_client, operation("Encounter"), {"id": second_encounter["id"]}, key))["data"]["encounter"]
    assert {line["code"] for line in old["coding"]["claimLines"]} == {"11104", "11103", "99214"}
    assert {line["code"] for line in new["coding"]["claimLines"]} == {"11104", "11103"}

    from server.db import tenant_session

    async with tenant_session(services.session_factory, tenant_id) as session:
        assert (await session.execute(select(func.count()).select_from(CodingRecord))).scalar_one() == 2
        statuses = (await session.execute(select(OutboxMessage.status))).scalars().all()
        assert statuses == ["done", "done"]


async def test_another_tenant_gets_not_found(app_client) -> None:
    factory = app_client.app_services.session_factory
    clinic = await make_clinic(factory, "clinic-a")
    key_a = clinic.key
    clinic = await make_clinic(factory, "clinic-b")
    key_b = clinic.key
    coded = await gql(app_client, operation("CodeEncounter"), {"input": encounter_input()}, key_a)
    encounter_id = coded["data"]["codeEncounter"]["encounter"]["id"]
    as_b = (await gql(app_client, operation("Encounter"), {"id": encounter_id}, key_b))["data"]["encounter"]
    assert as_b == {"__typename": "NotFoundError", "message": "no encounter with that id"}
    as_a = (await gql(app_client, operation("Encounter"), {"id": encounter_id}, key_a))["data"]["encounter"]
    assert as_a["__typename"] == "Encounter"


async def test_garbage_id_is_not_found(app_client) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory)
    key = clinic.key
    body = await gql(app_client, operation("Encounter"), {"id": "not-an-id"}, key)
    assert body["data"]["encounter"]["__typename"] == "NotFoundError"


async def test_requests_without_a_valid_key_are_refused(app_client) -> None:
    no_key = await gql(app_client, operation("Encounter"), {"id": "x"})
    assert no_key["errors"][0]["message"].startswith("authentication required")
    wrong = await gql(app_client, operation("Encounter"), {"id": "x"}, key="cutis_abcd1234_wrong")
    assert wrong["errors"][0]["message"].startswith("authentication required")


async def test_healthz_reports_the_database(app_client) -> None:
    response = await app_client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


async def test_concurrent_resubmissions_get_distinct_versions(app_client) -> None:
    import asyncio

    from tests.factories import make_clinic

    clinic = await make_clinic(app_client.app_services.session_factory)
    bodies = await asyncio.gather(
        *(gql(app_client, operation("SubmitEncounter"), {"input": encounter_input()}, clinic.key) for _ in range(4))
    )
    versions = sorted(body["data"]["submitEncounter"]["encounter"]["version"] for body in bodies)
    assert versions == [1, 2, 3, 4]


def _medicare_warts(**overrides: object) -> dict[str, object]:
    """A Medicare FFS wart destruction (B07.8) the provider expects Medicare to deny, with `overrides`."""
    return encounter_input(
        external_id="ABN-1",
        coverage={"payer": "MEDICARE", "plan_type": "medicare_ffs"},
        diagnoses=["B07.8", "L57.0"],
        note="Common warts of the right hand treated with cryotherapy. Actinic keratosis of the nose.",
        services=[
            {
                "id": "d1",
                "kind": "destruction",
                "technique": "cryo",
                "count": 4,
                "site": "right hand",
                "diagnoses": ["B07.8"],
            },
            {
                "id": "d2",
                "kind": "destruction",
                "technique": "cryo",
                "count": 1,
                "site": "nose",
                "diagnoses": ["L57.0"],
            },
        ],
        **overrides,
    )


async def test_a_required_abn_puts_ga_on_the_services_it_lists(app_client) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory)
    encounter = _medicare_warts(abns=[{"service_ids": ["d1"], "kind": "required", "signed_on": "2026-11-02"}])
    body = await gql(app_client, operation("CodeEncounter"), {"input": encounter}, clinic.key)
    result = body["data"]["codeEncounter"]
    assert result["__typename"] == "CodedEncounter", body
    lines = {line["code"]: line["modifiers"] for line in result["coding"]["claimLines"]}
    assert lines == {"17110": ["GA"], "17000": []}
    flags = sorted(
        flag["code"] for flag in result["coding"]["flags"] if flag["code"] in {"abn_on_file", "patient_liable"}
    )
    assert flags == ["abn_on_file", "patient_liable"]


async def test_an_abn_signed_after_the_visit_is_refused_with_where_and_why(app_client) -> None:
    factory = app_client.app_services.session_factory
    clinic = await make_clinic(factory)
    late = _medicare_warts(abns=[{"service_ids": ["d1"], "kind": "required", "signed_on": "2026-11-03"}])
    result = (await gql(app_client, operation("CodeEncounter"), {"input": late}, clinic.key))["data"]["codeEncounter"]
    assert result["__typename"] == "InvalidInput"
    assert "abns[0] is signed on 2026-11-03, after the date of service" in result["fields"][0]["message"]
    unknown = _medicare_warts(abns=[{"service_ids": ["d9"], "kind": "voluntary", "signed_on": "2026-11-02"}])
    result = (await gql(app_client, operation("CodeEncounter"), {"input": unknown}, clinic.key))["data"][
        "codeEncounter"
    ]
    assert result["__typename"] == "InvalidInput"
    assert "abns[0] lists service 'd9', which is not in the encounter" in result["fields"][0]["message"]
    from server.db import tenant_session

    async with tenant_session(factory, clinic.tenant_id) as session:
        assert (await session.execute(select(func.count()).select_from(EncounterRecord))).scalar_one() == 0


async def test_a_filing_request_puts_a_cosmetic_removal_on_the_medicare_claim_with_gy(app_client) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory)
    tags = {
        "id": "t1",
        "kind": "skin_tag_removal",
        "count": 6,
        "site": "neck",
        "patient_requested_cosmetic": True,
        "diagnoses": ["L91.8"],
    }
    encounter = encounter_input(
        external_id="FILE-1",
        coverage={"payer": "MEDICARE", "plan_type": "medicare_ffs"},
        diagnoses=["L91.8"],
        note="Six skin tags of the neck removed at the patient's request for appearance.",
        services=[tags],
    )
    body = await gql(app_client, operation("CodeEncounter"), {"input": encounter}, clinic.key)
    coding = body["data"]["codeEncounter"]["coding"]
    assert (coding["claimLines"], [(line["code"], line["modifiers"]) for line in coding["selfPayLines"]]) == (
        [],
        [("11200", [])],
    )
    encounter["services"][0]["patientRequestedFiling"] = True
    encounter["externalId"] = "FILE-2"
    body = await gql(app_client, operation("CodeEncounter"), {"input": encounter}, clinic.key)
    coding = body["data"]["codeEncounter"]["coding"]
    assert [(line["code"], line["modifiers"]) for line in coding["claimLines"]] == [("11200", ["GY"])]
    assert coding["selfPayLines"] == []


SET_FEE = """mutation($schedule: FeeScheduleKind!, $code: String!, $fee: String!) {
  setFee(schedule: $schedule, code: $code, fee: $fee) {
    __typename ... on Fee { code fee } ... on InvalidInput { fields { path message } }
  }
}"""


async def test_a_cosmetic_menu_item_is_charged_from_the_cosmetic_schedule_under_its_item_code(app_client) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory, roles=("owner",))
    owner = await login(app_client, *clinic.people["owner"])  # fees are the clinic administrator's
    variables = {"schedule": "cosmetic", "code": "HYDRAFAC", "fee": "150"}
    assert (await as_person(app_client, SET_FEE, variables, owner))["data"]["setFee"] == {
        "__typename": "Fee",
        "code": "HYDRAFAC",
        "fee": "150.00",
    }
    refused = (await as_person(app_client, SET_FEE, {**variables, "schedule": "medical"}, owner))["data"]["setFee"]
    assert refused["__typename"] == "InvalidInput" and refused["fields"][0]["path"] == "code"
    encounter = encounter_input(
        external_id="MENU-1",
        diagnoses=["L57.0", "Z41.1"],
        note="Actinic keratosis of the nose treated with cryotherapy. HydraFacial from the cosmetic menu.",
        services=[
            {
                "id": "d1",
                "kind": "destruction",
                "technique": "cryo",
                "count": 1,
                "site": "nose",
                "diagnoses": ["L57.0"],
            },
            {"id": "c1", "kind": "cosmetic", "staff_code": "HYDRAFAC", "site": "face", "diagnoses": ["Z41.1"]},
        ],
    )
    body = await gql(app_client, operation("CodeEncounter"), {"input": encounter}, clinic.key)
    coding = body["data"]["codeEncounter"]["coding"]
    assert coding["status"] == "ready"
    assert [line["code"] for line in coding["claimLines"]] == ["17000"]
    assert [(line["code"], line["charge"]) for line in coding["selfPayLines"]] == [("HYDRAFAC", "150.00")]


async def test_the_coding_page_reads_the_note_its_evidence_spans_point_into(app_client) -> None:
    """Encounter.note is the stored note; each documentation reason's evidence is [start, end) of it in code points."""
    clinic = await make_clinic(app_client.app_services.session_factory)
    note = "SK on the left cheek 🙂, bleeding and itching. Shave removal performed."
    borderline = encounter_input("borderline_sk", note=note)
    coded = await gql(app_client, operation("CodeEncounter"), {"input": borderline}, clinic.key)
    encounter_id = coded["data"]["codeEncounter"]["encounter"]["id"]
    body = await gql(app_client, operation("EncounterCoding"), {"id": encounter_id}, clinic.key)
    assert "errors" not in body, body
    encounter = body["data"]["encounter"]
    assert encounter["note"] == note
    coding = encounter["coding"]
    lines = coding["claimLines"] + coding["heldLines"]
    spans = [span for line in lines for reason in line["reasons"] for span in reason["values"].get("evidence", [])]
    assert {(s["label"], note[s["start"] : s["end"]]) for s in spans} == {
        ("bleeding", "bleeding"),
        ("itching", "itching"),
    }
