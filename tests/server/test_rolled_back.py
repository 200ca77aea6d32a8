"""One document, one transaction: when it rolls back, no operation in it answers success.

A careless client sends createApiKey and a failing mutation in one document: before, the reply
handed out the secret of a key that never existed (and ids of rulebooks and encounters that never
existed, and a mail went out for a person who was rolled back).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import make_clinic
from tests.server.graphql_ops import encounter_input, gql
from tests.server.session_client import as_person, login

FAILING_FEE = 'bad: setFee(schedule: medical, code: "11102", fee: "not a number") { __typename }'
KEY_THEN_FAILURE = (
    """mutation { key: createApiKey(name: "doomed") {
    __typename ... on CreatedApiKey { secret key { id } } ... on RolledBack { message } }
    """
    + FAILING_FEE
    + " }"
)


async def _owner(client: Any) -> tuple[Any, dict[str, str]]:
    clinic = await make_clinic(client.app_services.session_factory, roles=("owner",))
    return clinic, await login(client, *clinic.people["owner"])


async def test_a_key_created_in_a_rolled_back_document_answers_rolled_back(app_client) -> None:
    _, owner = await _owner(app_client)
    body = await as_person(app_client, KEY_THEN_FAILURE, None, owner)
    assert body["data"]["bad"]["__typename"] == "InvalidInput"
    assert body["data"]["key"]["__typename"] == "RolledBack"
    assert "nothing was stored" in body["data"]["key"]["message"]
    assert "secret" not in body["data"]["key"]
    keys = await as_person(app_client, "query { apiKeys { name } }", None, owner)
    assert "doomed" not in [k["name"] for k in keys["data"]["apiKeys"]]


async def test_ids_of_a_rolled_back_document_are_not_handed_out(app_client) -> None:
    clinic, _ = await _owner(app_client)
    document = (
        """mutation($input: EncounterInput!) {
        book: createRulebook(name: "Doomed book", text: "") { __typename ... on Rulebook { id } }
        submitted: submitEncounter(input: $input) { __typename ... on SubmittedEncounter { encounter { id } } }
        """
        + FAILING_FEE
        + " }"
    )
    body = await gql(app_client, document, {"input": encounter_input(external_id="doomed-1")}, clinic.key)
    assert body["data"]["book"] == {"__typename": "RolledBack"}
    assert body["data"]["submitted"] == {"__typename": "RolledBack"}
    listed = await gql(
        app_client, 'query { encounters(filter: {externalId: "doomed-1"}) { nodes { id } } }', None, clinic.key
    )
    assert listed["data"]["encounters"]["nodes"] == []


async def test_a_rolled_back_invitation_sends_no_mail(app_client) -> None:
    services = app_client.app_services
    _, owner = await _owner(app_client)
    document = (
        """mutation { added: addUser(email: "doomed@elsewhere.test", name: "Doomed", role: "biller") {
        __typename ... on UserAdded { user { id } } } """
        + FAILING_FEE
        + " }"
    )
    body = await as_person(app_client, document, None, owner)
    assert body["data"]["added"] == {"__typename": "RolledBack"}
    await services.queue.drain()
    assert [m for m in services.mailer.messages() if m["To"] == "doomed@elsewhere.test"] == []


async def test_fragments_on_rolled_back_are_answered_by_name(app_client) -> None:
    _, owner = await _owner(app_client)
    document = (
        """fragment Undone on RolledBack { why: message }
        mutation { key: createApiKey(name: "doomed") { kind: __typename ...Undone } """
        + FAILING_FEE
        + " }"
    )
    body = await as_person(app_client, document, None, owner)
    assert body["data"]["key"]["kind"] == "RolledBack" and body["data"]["key"]["why"].startswith("nothing")


@pytest.mark.parametrize("operation", ["login", "logout", "requestPasswordReset"])
async def test_account_operations_go_alone_in_their_document(app_client, operation: str) -> None:
    fields = {
        "login": 'login(email: "a@b.test", password: "x") { ok }',
        "logout": "logout",
        "requestPasswordReset": 'requestPasswordReset(email: "a@b.test") { message }',
    }
    body = await gql(app_client, "mutation { " + fields[operation] + " " + FAILING_FEE + " }")
    assert body["errors"][0]["message"] == f"`{operation}` must be the only operation of its mutation document"
    assert body.get("data") is None
