"""Heavy requests over HTTP: the server keeps answering while one runs, a document over the cost
budget is refused before any work, and an operation over its CPU budget is a typed error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from graphql import parse, validate

from server.api.cost import FIELD_COSTS, QUERY_BUDGET, QueryCostLimit
from server.api.schema import build_schema
from server.cpu import CpuPool
from tests.factories import make_clinic
from tests.server.graphql_ops import big_rulebook, encounter_input, gql, operation
from tests.server.test_rules_cli import TYPO

VALIDATE = "query($t: String!) { validateRulebook(text: $t) { severity message } }"


def aliased(field: str, count: int, arguments: str, selection: str) -> str:
    return " ".join(f"a{index}: {field}({arguments}) {selection}" for index in range(count))


async def until(condition: Any) -> None:
    """Wait (bounded) until `condition()` holds: an event, not a duration, on a noisy machine."""
    for _ in range(2000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the condition never held")


class TestEventLoopStaysFree:
    async def test_healthz_and_a_light_query_answer_while_a_heavy_validation_runs(self, app_client) -> None:
        services = app_client.app_services
        clinic = await make_clinic(services.session_factory)
        heavy = asyncio.create_task(gql(app_client, VALIDATE, {"t": big_rulebook(1_000_000)}, clinic.key))
        await until(lambda: services.cpu.dispatched == 1)  # the validation is in the pool now

        health = await app_client.get("/healthz")
        light = await gql(app_client, "query { clinic { name } }", None, clinic.key)

        assert health.status_code == 200 and light["data"]["clinic"]["name"]
        assert not heavy.done(), "the light requests were answered while the heavy one was still running"
        assert (await heavy)["data"]["validateRulebook"] == []

    async def test_sibling_fields_share_the_session_while_one_waits_on_the_pool(self, app_client) -> None:
        clinic = await make_clinic(app_client.app_services.session_factory)
        body = await gql(
            app_client,
            "query($t: String!) { validateRulebook(text: $t) { code } clinic { name } rulebooks { name } }",
            {"t": TYPO},
            clinic.key,
        )
        assert [d["code"] for d in body["data"]["validateRulebook"]] == ["name.unknown"]
        assert body["data"]["clinic"]["name"] and body["data"]["rulebooks"] == []

    async def test_a_submitted_encounter_is_coded_in_the_pool_by_the_in_process_runner(self, app_client) -> None:
        services = app_client.app_services
        clinic = await make_clinic(services.session_factory)
        submitted = await gql(app_client, operation("SubmitEncounter"), {"input": encounter_input()}, clinic.key)
        await services.queue.drain()
        encounter_id = submitted["data"]["submitEncounter"]["encounter"]["id"]
        coded = await gql(app_client, operation("Encounter"), {"id": encounter_id}, clinic.key)
        assert coded["data"]["encounter"]["status"] == "coded"
        assert services.cpu.dispatched == 1


class TestQueryCost:
    async def test_a_document_over_the_budget_is_refused_before_any_work(self, app_client) -> None:
        services = app_client.app_services
        clinic = await make_clinic(services.session_factory)
        over = aliased("validateRulebook", QUERY_BUDGET + 1, "text: $t", "{ message }")
        body = await gql(app_client, f"query($t: String!) {{ {over} }}", {"t": TYPO}, clinic.key)

        assert body.get("data") is None
        [error] = body["errors"]
        assert error["extensions"] == {"code": "QUERY_TOO_COSTLY", "cost": QUERY_BUDGET + 1, "budget": QUERY_BUDGET}
        assert f"costs {QUERY_BUDGET + 1} and the budget is {QUERY_BUDGET}" in error["message"]
        assert services.cpu.dispatched == 0

    async def test_a_mutation_over_the_budget_stores_nothing(self, app_client) -> None:
        services = app_client.app_services
        clinic = await make_clinic(services.session_factory)
        codings = aliased("codeEncounter", 6, "input: $input", "{ __typename }")
        body = await gql(
            app_client, f"mutation($input: EncounterInput!) {{ {codings} }}", {"input": encounter_input()}, clinic.key
        )

        assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
        assert services.cpu.dispatched == 0
        listed = await gql(app_client, "query { encounters { nodes { id } } }", None, clinic.key)
        assert listed["data"]["encounters"]["nodes"] == []

    async def test_a_document_at_the_budget_runs(self, app_client) -> None:
        clinic = await make_clinic(app_client.app_services.session_factory)
        at_budget = aliased("validateRulebook", QUERY_BUDGET, "text: $t", "{ code }")
        body = await gql(app_client, f"query($t: String!) {{ {at_budget} }}", {"t": TYPO}, clinic.key)
        assert "errors" not in body
        assert app_client.app_services.cpu.dispatched == QUERY_BUDGET


def cost_errors(document: str) -> list[Any]:
    schema = build_schema()._schema
    return [e for e in validate(schema, parse(document), [QueryCostLimit])]


class TestCosting:
    @pytest.mark.parametrize(
        ("document", "refused"),
        [
            pytest.param(
                "query { " + aliased("formatRulebook", 10, 'text: ""', "{ changed }") + " }",
                False,
                id="ten aliases of a field costing 1 are within the budget",
            ),
            pytest.param(
                "query { " + aliased("explainRulebook", 4, 'text: ""', "{ __typename }") + " }",
                True,
                id="four explanations cost 12",
            ),
            pytest.param(
                "query { " + aliased("diffRulebooks", 3, 'from: "x", to: "y"', "{ __typename }") + " }",
                True,
                id="three behavioural diffs cost 15",
            ),
            pytest.param(
                "mutation { " + aliased("publishRulebook", 4, 'versionId: "x"', "{ __typename }") + " }",
                True,
                id="four publishes, each running the book's tests, cost 12",
            ),
            pytest.param(
                "query { " + aliased("recodeAsOf", 5, 'codingId: "x"', "{ __typename }") + " }",
                False,
                id="five recodes cost 10",
            ),
            pytest.param(
                'query { ...A ...A ...A } fragment A on Query { x: testRulebook(text: "") { passed } '
                'y: testRulebook(text: "") { passed } }',
                True,
                id="each spread of a fragment counts",
            ),
            pytest.param(
                "query { ...A } fragment A on Query { ...B ...B } fragment B on Query { ...A "
                'validateRulebook(text: "") { code } }',
                False,
                id="a cycle of fragments is left to the rule that reports it",
            ),
        ],
    )
    def test_cost_of_documents(self, document: str, refused: bool) -> None:
        errors = cost_errors(document)
        assert bool(errors) == refused, errors
        if refused:
            assert errors[0].extensions["code"] == "QUERY_TOO_COSTLY"

    def test_nested_fragments_are_costed_once_each(self) -> None:
        # 2^20 paths through the spreads: costed per fragment, it answers at once
        fragments = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(20))
        document = f'query {{ ...F0 }} {fragments} fragment F20 on Query {{ validateRulebook(text: "") {{ code }} }}'
        [error] = cost_errors(document)
        assert error.extensions["cost"] == 2**20

    def test_every_priced_field_exists(self) -> None:
        schema = build_schema()._schema
        for coordinate in FIELD_COSTS:
            type_name, field = coordinate.split(".")
            assert field in schema.get_type(type_name).fields, coordinate  # type: ignore[union-attr]


@pytest.fixture
async def tiny_budget_client(database_url: str, settings_for) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """An app whose CPU budget is 0.2 s: checking a 1 MB rulebook (about a second) overruns it."""
    from server.app import create_app

    app = create_app(settings_for(database_url).replace(cpu_budget_seconds=0.2))
    services = app.state.services
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://cutis.test") as client:
        client.app_services = services  # type: ignore[attr-defined]
        yield client
    await services.queue.close()
    services.cpu.shutdown()
    await services.session_factory.kw["bind"].dispose()


class TestCpuBudget:
    async def test_an_overrun_is_a_typed_error_and_the_pool_serves_on(self, tiny_budget_client) -> None:
        client = tiny_budget_client
        clinic = await make_clinic(client.app_services.session_factory)
        body = await gql(client, VALIDATE, {"t": big_rulebook(1_000_000)}, clinic.key)

        [error] = body["errors"]
        assert error["extensions"] == {"code": "OPERATION_TOO_COSTLY", "budgetSeconds": 0.2}
        assert "too costly" in error["message"] and "0.2 seconds" in error["message"]
        small = await gql(client, "query($t: String!) { validateRulebook(text: $t) { code } }", {"t": TYPO}, clinic.key)
        assert [d["code"] for d in small["data"]["validateRulebook"]] == ["name.unknown"]

    async def test_an_overrun_coding_stores_nothing(self, tiny_budget_client) -> None:
        client = tiny_budget_client
        clinic = await make_clinic(client.app_services.session_factory)
        pool: CpuPool = client.app_services.cpu
        pool.budget_seconds = 0.0001  # any coding overruns this
        body = await gql(client, operation("CodeEncounter"), {"input": encounter_input()}, clinic.key)

        assert body["errors"][0]["extensions"]["code"] == "OPERATION_TOO_COSTLY"
        listed = await gql(client, "query { encounters { nodes { id } } }", None, clinic.key)
        assert listed["data"]["encounters"]["nodes"] == []
