"""The encounters list narrowed by provider and by coding status; an encounter's payer must be the clinic's."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import select

from server.api.ids import from_global_id
from server.db import tenant_session
from server.models import CodingRecord
from tests.factories import make_clinic
from tests.server.graphql_ops import FIXTURES, camel, encounter_input, gql, operation

OTHER_NPI = "1987654328"  # a second valid NPI (the fixtures' provider is 1234567893)
FILTERED = """query($f: EncounterFilter) { encounters(first: 100, filter: $f) {
  nodes { externalId providerNpi coding { status } } } }"""


def borderline(**overrides: Any) -> dict[str, Any]:
    payload = json.loads((FIXTURES / "borderline_sk.json").read_text())
    payload.update(overrides)
    return camel(payload)


async def _code(app_client: Any, key: str, encounter: dict[str, Any]) -> dict[str, Any]:
    body = await gql(app_client, operation("CodeEncounter"), {"input": encounter}, key)
    return body["data"]["codeEncounter"]  # type: ignore[no-any-return]


async def _external_ids(app_client: Any, key: str, criterion: dict[str, Any]) -> list[str]:
    body = await gql(app_client, FILTERED, {"f": criterion}, key)
    assert "errors" not in body, body
    return [node["externalId"] for node in body["data"]["encounters"]["nodes"]]


class TestProviderAndCodingStatusFilters:
    async def test_each_filter_narrows_to_the_encounters_it_names(self, app_client) -> None:
        clinic = await make_clinic(app_client.app_services.session_factory)
        ready = await _code(app_client, clinic.key, encounter_input(external_id="R-1"))
        other = await _code(
            app_client,
            clinic.key,
            encounter_input(external_id="R-2", provider={"npi": OTHER_NPI, "specialty": "dermatology"}),
        )
        held = await _code(app_client, clinic.key, borderline(external_id="H-1"))
        assert (ready["coding"]["status"], other["coding"]["status"], held["coding"]["status"]) == (
            "ready",
            "ready",
            "held",
        )

        assert await _external_ids(app_client, clinic.key, {"providerNpi": OTHER_NPI}) == ["R-2"]
        assert await _external_ids(app_client, clinic.key, {"providerNpi": "1234567893"}) == ["H-1", "R-1"]
        assert await _external_ids(app_client, clinic.key, {"codingStatus": "held"}) == ["H-1"]
        assert await _external_ids(app_client, clinic.key, {"codingStatus": "ready"}) == ["R-2", "R-1"]
        assert await _external_ids(app_client, clinic.key, {"codingStatus": "needs_review"}) == []
        both = {"codingStatus": "ready", "providerNpi": "1234567893"}
        assert await _external_ids(app_client, clinic.key, both) == ["R-1"]
        body = await gql(app_client, FILTERED, {"f": {"providerNpi": OTHER_NPI}}, clinic.key)
        assert body["data"]["encounters"]["nodes"][0]["providerNpi"] == OTHER_NPI

    async def test_the_status_is_that_of_the_latest_coding(self, app_client) -> None:
        clinic = await make_clinic(app_client.app_services.session_factory)
        await _code(app_client, clinic.key, borderline(external_id="H-2"))
        query = "query { providerQueries(filter: {status: open}) { nodes { id } } }"
        (open_query,) = (await gql(app_client, query, None, clinic.key))["data"]["providerQueries"]["nodes"]
        answer = """mutation($id: ID!) { answerProviderQuery(id: $id,
          addendum: "The lesion bleeds and itches when it catches on clothing.") { __typename } }"""
        answered = await gql(app_client, answer, {"id": open_query["id"]}, clinic.key)
        assert answered["data"]["answerProviderQuery"]["__typename"] == "AnsweredQuery", answered
        # version 1 stays held; version 2 (the answered note) is coded ready
        assert await _external_ids(app_client, clinic.key, {"codingStatus": "held"}) == ["H-2"]
        ready = await gql(app_client, FILTERED, {"f": {"codingStatus": "ready"}}, clinic.key)
        assert [n["coding"]["status"] for n in ready["data"]["encounters"]["nodes"]] == ["ready"]

    async def test_a_newer_coding_of_the_same_version_decides_its_status(self, app_client) -> None:
        factory = app_client.app_services.session_factory
        clinic = await make_clinic(factory)
        held = await _code(app_client, clinic.key, borderline(external_id="H-3"))
        encounter_id = from_global_id(held["encounter"]["id"], "Encounter")
        async with tenant_session(factory, clinic.tenant_id) as session:  # the coding job run again, later
            first = (await session.execute(select(CodingRecord))).scalar_one()
            session.add(
                CodingRecord(
                    tenant_id=clinic.tenant_id,
                    encounter_id=encounter_id,
                    status="needs_review",
                    payload={**first.payload, "status": "needs_review"},
                    created_at=first.created_at + dt.timedelta(seconds=1),
                )
            )
        assert await _external_ids(app_client, clinic.key, {"codingStatus": "held"}) == []
        assert await _external_ids(app_client, clinic.key, {"codingStatus": "needs_review"}) == ["H-3"]

    @pytest.mark.parametrize(
        ("npi", "why"),
        [
            pytest.param("123456789", "an NPI is 10 digits", id="nine digits"),
            pytest.param("1234567890", "the NPI check digit is wrong", id="a wrong check digit"),
        ],
    )
    async def test_a_provider_npi_that_cannot_be_one_is_refused_naming_the_field(
        self, app_client, npi: str, why: str
    ) -> None:
        clinic = await make_clinic(app_client.app_services.session_factory)
        body = await gql(app_client, FILTERED, {"f": {"providerNpi": npi}}, clinic.key)
        (error,) = body["errors"]
        assert error["message"] == f"filter.providerNpi: {why}", error

    async def test_a_long_provider_npi_is_refused_before_the_resolver(self, app_client) -> None:
        clinic = await make_clinic(app_client.app_services.session_factory)
        body = await gql(app_client, FILTERED, {"f": {"providerNpi": "1" * 11}}, clinic.key)
        (error,) = body["errors"]
        assert "filter.providerNpi:" in error["message"], error


CLINIC_PAYERS = "AETNA, BCBS, CIGNA, MA-HUMANA, MEDICAID, MEDICARE, SELF, UHC"


class TestUnknownPayer:
    @pytest.mark.parametrize(
        ("operation_name", "field"),
        [
            pytest.param("CodeEncounter", "codeEncounter", id="coded now"),
            pytest.param("SubmitEncounter", "submitEncounter", id="submitted for background coding"),
        ],
    )
    async def test_an_unknown_payer_is_refused_naming_the_clinics_payers_and_nothing_is_stored(
        self, app_client, operation_name: str, field: str
    ) -> None:
        clinic = await make_clinic(app_client.app_services.session_factory)
        encounter = encounter_input(external_id="U-1")
        encounter["coverage"]["payer"] = "ACME"
        body = await gql(app_client, operation(operation_name), {"input": encounter}, clinic.key)
        result = body["data"][field]
        assert result["__typename"] == "InvalidInput", result
        (problem,) = result["fields"]
        assert problem["path"] == "encounter.coverage.payer"
        assert problem["message"] == f"unknown payer 'ACME': the clinic's payers are {CLINIC_PAYERS}"
        assert await _external_ids(app_client, clinic.key, {"externalId": "U-1"}) == []

    async def test_each_of_the_clinics_payers_codes(self, app_client) -> None:
        clinic = await make_clinic(app_client.app_services.session_factory)
        encounter = encounter_input(external_id="K-1")
        encounter["coverage"]["payer"] = "UHC"
        assert (await _code(app_client, clinic.key, encounter))["__typename"] == "CodedEncounter"
