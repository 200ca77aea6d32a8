"""Input the client got wrong is refused with a typed answer naming the field, never an internal error.

Every case goes over HTTP as a clinic's system sends it; variables are encoded with Python's
`json.dumps`, which writes NaN and Infinity and escapes lone surrogates (`"\\ud800"`), as some
clients do. Both databases: PostgreSQL refuses NUL and lone surrogates where SQLite stores them.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from server.api.validation import DEFAULT_MAX_ITEMS, MAX_PROBLEMS, ORDINARY, Limit, Problems, clean_value
from server.db import tenant_session
from server.models import EncounterRecord, Payer, ProviderQueryRecord, RulebookRecord
from tests.factories import make_clinic
from tests.server.graphql_ops import camel, encounter_input, operation
from tests.server.session_client import login
from tests.server.test_documentation_api import FIXTURES

CREATE_RULEBOOK = """mutation($name: String!, $text: String! = "") { createRulebook(name: $name, text: $text) {
  __typename ... on Rulebook { name } ... on InvalidInput { message fields { path message } } } }"""
SAVE_PAYER = """mutation($code: String!, $name: String!, $ehr: String) {
  savePayer(code: $code, name: $name, planType: "commercial", ehrPayerId: $ehr) {
  __typename ... on PayerInfo { code name ehrPayerId } ... on InvalidInput { message fields { path message } } } }"""
SET_FEE = """mutation($fee: String!) { setFee(schedule: medical, code: "17000", fee: $fee) {
  __typename ... on Fee { fee } ... on InvalidInput { message fields { path message } } } }"""
ANSWER = """mutation($id: ID!, $text: String!) { answerProviderQuery(id: $id, addendum: $text) {
  __typename ... on InvalidInput { message fields { path message } } } }"""
OPEN_QUERIES = "query { providerQueries(filter: {status: open}) { nodes { id } } }"


async def post(client: Any, query: str, variables: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    """POST as a lenient client does: `json.dumps` writes NaN, Infinity and lone surrogates."""
    response = await client.post(
        "/graphql",
        content=json.dumps({"query": query, "variables": variables}),
        headers={"Content-Type": "application/json", **headers},
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def with_service(**facts: Any) -> dict[str, Any]:
    """The biopsy encounter with facts added to its first service."""
    encounter = encounter_input()
    encounter["services"][0].update(facts)
    return encounter


ENCOUNTER_CASES = [
    pytest.param(
        encounter_input(note="Biopsy done.\x00 Rash."), "input.note", id="a NUL character in the note is refused"
    ),
    pytest.param(
        encounter_input(external_id="E-\ud800"), "input.externalId", id="a lone surrogate in an external id is refused"
    ),
    pytest.param(encounter_input(note="x" * 100_001), "input.note", id="a note over 100,000 characters is refused"),
    pytest.param(
        encounter_input(staff_codes=["MA1"] * 200_000), "input.staffCodes", id="200,000 staff codes are refused"
    ),
    pytest.param(
        with_service(diagnoses=["L30.9"] * 200_000),
        "input.services.0.diagnoses",
        id="200,000 diagnoses on one service are refused",
    ),
    pytest.param(
        encounter_input(patient={"id": "P-1", "age": 67, "sex": "female\x00"}),
        "input.patient.sex",
        id="a NUL character deep in the input is refused",
    ),
]


class TestEncounterInput:
    @pytest.mark.parametrize(("encounter", "path"), ENCOUNTER_CASES)
    async def test_bad_encounter_input_is_refused_with_its_path_and_nothing_is_stored(
        self, app_client, encounter: dict[str, Any], path: str
    ) -> None:
        clinic = await make_clinic(app_client.app_services.session_factory)
        body = await post(app_client, operation("CodeEncounter"), {"input": encounter}, bearer(clinic.key))
        result = body["data"]["codeEncounter"]
        assert result["__typename"] == "InvalidInput", body
        assert path in [field["path"] for field in result["fields"]]
        async with tenant_session(app_client.app_services.session_factory, clinic.tenant_id) as session:
            assert (await session.execute(select(func.count()).select_from(EncounterRecord))).scalar_one() == 0

    @pytest.mark.parametrize(
        ("encounter", "where"),
        [
            pytest.param(with_service(lesionSizeCm=float("nan")), ".services[0].lesionSizeCm", id="NaN size"),
            pytest.param(
                with_service(drug={"hcpcs": "J3301", "units": float("inf")}),
                ".services[0].drug.units",
                id="infinite drug units",
            ),
        ],
    )
    async def test_a_number_that_is_not_finite_is_refused_before_anything_runs(
        self, app_client, encounter: dict[str, Any], where: str
    ) -> None:
        """GraphQL's Float refuses NaN and Infinity while coercing variables: a request error naming the place."""
        clinic = await make_clinic(app_client.app_services.session_factory)
        body = await post(app_client, operation("CodeEncounter"), {"input": encounter}, bearer(clinic.key))
        (error,) = body["errors"]
        assert body.get("data") is None
        assert where in error["message"] and "non numeric value" in error["message"], error
        async with tenant_session(app_client.app_services.session_factory, clinic.tenant_id) as session:
            assert (await session.execute(select(func.count()).select_from(EncounterRecord))).scalar_one() == 0

    async def test_a_query_argument_is_checked_like_a_mutation_argument(self, app_client) -> None:
        clinic = await make_clinic(app_client.app_services.session_factory)
        query = """query($e: EncounterInput!) { checkDocumentation(encounter: $e) {
          __typename ... on InvalidInput { fields { path } } } }"""
        body = await post(app_client, query, {"e": encounter_input(note="a\x00b")}, bearer(clinic.key))
        assert body["data"]["checkDocumentation"] == {
            "__typename": "InvalidInput",
            "fields": [{"path": "encounter.note"}],
        }

    async def test_an_external_id_is_trimmed_before_it_is_stored(self, app_client) -> None:
        clinic = await make_clinic(app_client.app_services.session_factory)
        body = await post(
            app_client, operation("CodeEncounter"), {"input": encounter_input(external_id=" E-7 ")}, bearer(clinic.key)
        )
        assert body["data"]["codeEncounter"]["encounter"]["externalId"] == "E-7"

    async def test_a_long_note_within_its_limit_is_accepted(self, app_client) -> None:
        clinic = await make_clinic(app_client.app_services.session_factory)
        note = "Punch biopsy of the left upper back. " * 2000
        body = await post(
            app_client, operation("CodeEncounter"), {"input": encounter_input(note=note)}, bearer(clinic.key)
        )
        assert body["data"]["codeEncounter"]["__typename"] == "CodedEncounter", body


LIST_FILTERS = [
    pytest.param(
        "query($p: String) { rulebooks(payer: $p) { name } }", {"p": "\ud800"}, "payer", id="a lone surrogate payer"
    ),
    pytest.param(
        "query($p: String) { encounters(filter: {payer: $p}) { nodes { id } } }",
        {"p": "AETNA\ud800"},
        "filter.payer",
        id="a lone surrogate in an encounter filter",
    ),
    pytest.param(
        "query($p: String) { providerQueries(filter: {externalId: $p}) { nodes { id } } }",
        {"p": "E\x00"},
        "filter.externalId",
        id="a NUL character in a provider query filter",
    ),
    pytest.param(
        "query($t: String!) { validateRulebook(text: $t) { message } }",
        {"t": "rulebook x\x00"},
        "text",
        id="a NUL character in rulebook text to validate",
    ),
    pytest.param(
        "query($p: String) { rulebooks(payer: $p) { name } }", {"p": "A" * 1_000_000}, "payer", id="a 1 MB payer filter"
    ),
]


class TestQueryArguments:
    @pytest.mark.parametrize(("query", "variables", "path"), LIST_FILTERS)
    async def test_a_bad_filter_is_a_typed_error_naming_the_argument(
        self, app_client, query: str, variables: dict[str, Any], path: str
    ) -> None:
        clinic = await make_clinic(app_client.app_services.session_factory)
        body = await post(app_client, query, variables, bearer(clinic.key))
        (error,) = body["errors"]
        assert error["message"] != "internal error"
        assert f"{path}:" in error["message"], error


class TestClinicMutations:
    @pytest.mark.parametrize(
        ("document", "variables", "path"),
        [
            pytest.param(SET_FEE, {"fee": "NaN"}, "fee", id="a NaN fee is refused"),
            pytest.param(SET_FEE, {"fee": "Infinity"}, "fee", id="an infinite fee is refused"),
            pytest.param(SET_FEE, {"fee": "sNaN"}, "fee", id="a signalling NaN fee is refused"),
            pytest.param(
                SAVE_PAYER, {"code": "HUMANA", "name": "Hum\x00ana"}, "name", id="a NUL character in a payer name"
            ),
            pytest.param(
                SAVE_PAYER, {"code": "HUMANA", "name": "H" * 1_000_000}, "name", id="a 1 MB payer name is refused"
            ),
            pytest.param(
                SAVE_PAYER, {"code": "HUMANA", "name": "Humana", "ehr": "6" * 65}, "ehrPayerId", id="a long EHR id"
            ),
            pytest.param(CREATE_RULEBOOK, {"name": "book\ud800"}, "name", id="a lone surrogate in a rulebook name"),
            pytest.param(CREATE_RULEBOOK, {"name": "R" * 1_000_000}, "name", id="a 1 MB rulebook name is refused"),
            pytest.param(
                CREATE_RULEBOOK, {"name": "B", "text": "a" * 1_000_001}, "text", id="rulebook text over its limit"
            ),
        ],
    )
    async def test_bad_clinic_input_is_refused_with_its_path(
        self, app_client, document: str, variables: dict[str, Any], path: str
    ) -> None:
        clinic = await make_clinic(app_client.app_services.session_factory, roles=("practice_manager",))
        headers = await login(app_client, *clinic.people["practice_manager"])
        body = await post(app_client, document, variables, headers)
        (result,) = body["data"].values()
        assert result["__typename"] == "InvalidInput", body
        assert [field["path"] for field in result["fields"]] == [path]

    async def test_a_payer_code_with_spaces_is_the_same_payer(self, app_client) -> None:
        clinic = await make_clinic(app_client.app_services.session_factory, roles=("practice_manager",))
        headers = await login(app_client, *clinic.people["practice_manager"])
        body = await post(
            app_client, SAVE_PAYER, {"code": "AETNA ", "name": " Aetna Health ", "ehr": " 60054 "}, headers
        )
        assert body["data"]["savePayer"] == {
            "__typename": "PayerInfo",
            "code": "AETNA",
            "name": "Aetna Health",
            "ehrPayerId": "60054",
        }
        found = await post(
            app_client, 'query { payerByExternalId(system: ehr, externalId: " 60054") { code } }', {}, headers
        )
        assert found["data"]["payerByExternalId"] == {"code": "AETNA"}
        async with tenant_session(app_client.app_services.session_factory, clinic.tenant_id) as session:
            codes = (await session.execute(select(Payer.code).where(Payer.code.like("AETNA%")))).scalars().all()
        assert codes == ["AETNA"]

    async def test_a_rulebook_name_that_collides_after_trimming_is_refused(self, app_client) -> None:
        clinic = await make_clinic(app_client.app_services.session_factory, roles=("practice_manager",))
        headers = await login(app_client, *clinic.people["practice_manager"])
        first = await post(app_client, CREATE_RULEBOOK, {"name": "Aetna derm"}, headers)
        assert first["data"]["createRulebook"]["__typename"] == "Rulebook"
        again = await post(app_client, CREATE_RULEBOOK, {"name": "Aetna derm "}, headers)
        assert again["data"]["createRulebook"]["__typename"] == "InvalidInput", again
        assert again["data"]["createRulebook"]["fields"][0]["path"] == "name"

    async def test_a_refused_field_rolls_back_the_whole_operation(self, app_client) -> None:
        clinic = await make_clinic(app_client.app_services.session_factory, roles=("practice_manager",))
        headers = await login(app_client, *clinic.people["practice_manager"])
        document = """mutation($bad: String!) { first: createRulebook(name: "kept?") { __typename }
          second: createRulebook(name: $bad) { __typename } }"""
        body = await post(app_client, document, {"bad": "nul\x00"}, headers)
        assert body["data"] == {"first": {"__typename": "RolledBack"}, "second": {"__typename": "InvalidInput"}}
        async with tenant_session(app_client.app_services.session_factory, clinic.tenant_id) as session:
            assert (await session.execute(select(func.count()).select_from(RulebookRecord))).scalar_one() == 0


class TestAddendum:
    @pytest.mark.parametrize(
        ("note_chars", "addendum"),
        [
            pytest.param(99_900, "It bleeds when it catches on her glasses. " * 10, id="a note near its limit"),
            pytest.param(1_000, "x" * 20_001, id="an addendum over its own limit"),
            pytest.param(1_000, "It bleeds.\x00", id="a NUL character in the addendum"),
        ],
    )
    async def test_an_addendum_that_would_break_the_note_is_refused_and_the_query_stays_open(
        self, app_client, note_chars: int, addendum: str
    ) -> None:
        factory = app_client.app_services.session_factory
        clinic = await make_clinic(factory)
        encounter = camel(json.loads((FIXTURES / "borderline_sk.json").read_text()))
        encounter["note"] = (encounter["note"] + " " + "Skin otherwise unremarkable. " * 4000)[:note_chars]
        coded = await post(app_client, operation("CodeEncounter"), {"input": encounter}, bearer(clinic.key))
        assert coded["data"]["codeEncounter"]["__typename"] == "CodedEncounter", coded
        (query,) = (await post(app_client, OPEN_QUERIES, {}, bearer(clinic.key)))["data"]["providerQueries"]["nodes"]
        body = await post(app_client, ANSWER, {"id": query["id"], "text": addendum}, bearer(clinic.key))
        result = body["data"]["answerProviderQuery"]
        assert result["__typename"] == "InvalidInput", body
        assert [field["path"] for field in result["fields"]] == ["addendum"]
        async with tenant_session(factory, clinic.tenant_id) as session:
            assert (await session.execute(select(func.count()).select_from(EncounterRecord))).scalar_one() == 1
            statuses = (await session.execute(select(ProviderQueryRecord.status))).scalars().all()
        assert statuses == ["open"]


class TestTheWalk:
    """The layer's walk on its own, for what GraphQL over HTTP cannot carry to it (a NaN Float)."""

    @pytest.mark.parametrize(
        ("value", "limit", "cleaned", "problems"),
        [
            pytest.param(float("nan"), ORDINARY, None, ["x: a finite number (not NaN or Infinity)"], id="NaN"),
            pytest.param(float("-inf"), ORDINARY, None, ["x: a finite number (not NaN or Infinity)"], id="-Infinity"),
            pytest.param(1.5, ORDINARY, 1.5, [], id="a finite number passes"),
            pytest.param("  AETNA ", ORDINARY, "AETNA", [], id="an identifier is trimmed"),
            pytest.param("  as typed ", Limit(trim=False), "  as typed ", [], id="text is kept as typed"),
            pytest.param(
                {"deep": ["ok", "n\x00"]},
                ORDINARY,
                None,
                ["x.deep.1: contains a NUL character, which text cannot hold"],
                id="a path reaches into JSON-like values",
            ),
            pytest.param(
                ["a"] * 3, Limit(max_items=2), None, ["x: at most 2 items (this has 3)"], id="a list over its limit"
            ),
        ],
    )
    def test_a_value_is_cleaned_or_its_problem_named(
        self, value: Any, limit: Limit, cleaned: Any, problems: list[str]
    ) -> None:
        found = Problems()
        result = clean_value(value, None, limit, "x", found)
        assert [f"{p.path}: {p.message}" for p in found.found] == problems
        if cleaned is not None:
            assert result == cleaned

    def test_a_huge_bad_input_gets_a_bounded_answer(self) -> None:
        found = Problems()
        clean_value(["\x00"] * 100, None, Limit(max_items=1000), "x", found)
        assert len(found.found) == MAX_PROBLEMS


async def test_a_list_argument_without_its_own_limit_has_the_default(app_client) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory, roles=("owner",))
    headers = await login(app_client, *clinic.people["owner"])
    document = """mutation($scopes: [String!]) { createApiKey(name: "k", scopes: $scopes) {
      __typename ... on InvalidInput { fields { path message } } } }"""
    body = await post(app_client, document, {"scopes": ["encounters:read"] * (DEFAULT_MAX_ITEMS + 1)}, headers)
    assert body["data"]["createApiKey"] == {
        "__typename": "InvalidInput",
        "fields": [
            {"path": "scopes", "message": f"at most {DEFAULT_MAX_ITEMS} items (this has {DEFAULT_MAX_ITEMS + 1})"}
        ],
    }
