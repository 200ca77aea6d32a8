"""Adversarial isolation: clinic B, with full rights in its own clinic, aims at clinic A's ids.

Every query and mutation that takes an id answers "not found" (never "forbidden", which would
confirm the id exists); every list shows only B's rows; writes land in B. The suite counts its
attempts and prints the count. A schema test makes sure no id-taking field escapes the suite.
"""

from __future__ import annotations

import json
from typing import Any

from graphql import build_schema as parse_sdl

from server.export import GRAPHQL_SCHEMA
from tests.factories import make_clinic
from tests.server.graphql_ops import FIXTURES, camel, encounter_input, gql, operation
from tests.server.session_client import as_person, login

# field name -> the document that aims it at one of A's ids (by kind of id)
ID_QUERIES = {
    "encounter": ("encounter", "query($id: ID!) { encounter(id: $id) { __typename ... on Encounter { id } } }"),
    "rulebook": ("rulebook", "query($id: ID!) { rulebook(id: $id) { __typename ... on Rulebook { draftText } } }"),
    "explainRulebook": (
        "encounter",
        'query($id: ID!) { explainRulebook(text: "", encounterId: $id) { __typename } }',
    ),
}
ID_MUTATIONS = {
    "saveRulebookDraft": (
        "rulebook",
        """mutation($id: ID!) { saveRulebookDraft(id: $id, text: "x", baseRevision: 1)
        { __typename } }""",
    ),
    "changeUserRole": ("user", 'mutation($id: ID!) { changeUserRole(id: $id, role: "read_only") { __typename } }'),
    "removeUser": ("user", "mutation($id: ID!) { removeUser(id: $id) { __typename } }"),
    "revokeApiKey": ("key", "mutation($id: ID!) { revokeApiKey(id: $id) { __typename } }"),
    "answerProviderQuery": (
        "query",
        'mutation($id: ID!) { answerProviderQuery(id: $id, addendum: "It bleeds.") { __typename } }',
    ),
    "withdrawProviderQuery": (
        "query",
        'mutation($id: ID!) { withdrawProviderQuery(id: $id, reason: "not needed") { __typename } }',
    ),
    "overrideLine": (
        "coding",
        'mutation($id: ID!) { overrideLine(codingId: $id, lineIndex: 0, line: {code: "11106", units: 1}, '
        'reason: "taking over") { __typename } }',
    ),
}
NODE_KINDS = ("encounter", "rulebook", "user", "key", "payer", "audit", "tenant", "query")
LISTS = {
    "encounters": "query { encounters(first: 100) { nodes { id externalId } } }",
    "rulebooks": "query { rulebooks { id name } }",
    "users": "query { users { id email } }",
    "apiKeys": "query { apiKeys { id prefix } }",
    "auditEvents": "query { auditEvents(first: 100) { nodes { id objectIds } } }",
    "clinic.payers": "query { clinic { payers { id code name } } }",
    "clinic.feeSchedule": "query { clinic { feeSchedule(schedule: medical) { code fee } } }",
    "providerQueries": "query { providerQueries { nodes { id externalId } } }",
}


def _ids_in(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set().union(*(_ids_in(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_ids_in(v) for v in value)) if value else set()
    return {value} if isinstance(value, str) else set()


async def _clinic_a_objects(client: Any, factory: Any) -> tuple[Any, dict[str, str], dict[str, str]]:
    clinic = await make_clinic(factory, "clinic-a", roles=("owner", "biller"))
    headers = await login(client, *clinic.people["owner"])
    ids: dict[str, str] = {}
    coded = await gql(client, operation("CodeEncounter"), {"input": encounter_input()}, clinic.key)
    ids["encounter"] = coded["data"]["codeEncounter"]["encounter"]["id"]
    ids["coding"] = coded["data"]["codeEncounter"]["coding"]["id"]
    borderline = json.loads((FIXTURES / "borderline_sk.json").read_text())
    await gql(client, operation("CodeEncounter"), {"input": camel(borderline)}, clinic.key)
    queries = await gql(client, "query { providerQueries { nodes { id } } }", None, clinic.key)
    ids["query"] = queries["data"]["providerQueries"]["nodes"][0]["id"]
    created = await as_person(
        client,
        'mutation { createRulebook(name: "A secret book", payer: "AETNA", '
        'text: "A private text") { ... on Rulebook { id } } }',
        None,
        headers,
    )
    ids["rulebook"] = created["data"]["createRulebook"]["id"]
    users = await as_person(client, "query { users { id role } }", None, headers)
    ids["user"] = next(u["id"] for u in users["data"]["users"] if u["role"] == "biller")
    keys = await as_person(client, "query { apiKeys { id } }", None, headers)
    ids["key"] = keys["data"]["apiKeys"][0]["id"]
    payers = await as_person(client, "query { clinic { id payers { id } } }", None, headers)
    ids["payer"] = payers["data"]["clinic"]["payers"][0]["id"]
    ids["tenant"] = payers["data"]["clinic"]["id"]
    audit = await as_person(client, "query { auditEvents(first: 1) { nodes { id } } }", None, headers)
    ids["audit"] = audit["data"]["auditEvents"]["nodes"][0]["id"]
    return clinic, headers, ids


async def test_clinic_b_cannot_reach_clinic_a(app_client) -> None:
    async with app_client.another_browser() as browser_b:
        await _clinic_b_cannot_reach_clinic_a(app_client, browser_b)


async def _clinic_b_cannot_reach_clinic_a(app_client: Any, browser_b: Any) -> None:
    factory = app_client.app_services.session_factory
    _, headers_a, a_ids = await _clinic_a_objects(app_client, factory)
    clinic_b = await make_clinic(factory, "clinic-b", roles=("owner",))
    headers_b = await login(browser_b, *clinic_b.people["owner"])
    attempts = 0

    for credential in ("session", "key"):

        def call(query: str, variables: dict[str, Any] | None = None, credential: str = credential) -> Any:
            if credential == "session":
                return as_person(browser_b, query, variables, headers_b)
            return gql(browser_b, query, variables, clinic_b.key)

        for name, (kind, query) in ID_QUERIES.items():
            body = await call(query, {"id": a_ids[kind]})
            attempts += 1
            assert body["data"][name]["__typename"] == "NotFoundError", (credential, name, body)
        for name, (kind, mutation) in ID_MUTATIONS.items():
            body = await call(mutation, {"id": a_ids[kind]})
            attempts += 1
            assert "errors" not in body, (credential, name, body)
            if credential == "key" and "errors" not in body and body["data"][name]["__typename"] == "Forbidden":
                continue  # keys may not administer at all: refused before any lookup
            assert body["data"][name]["__typename"] == "NotFoundError", (credential, name, body)
        for kind in NODE_KINDS:
            body = await call("query($id: ID!) { node(id: $id) { id } }", {"id": a_ids[kind]})
            attempts += 1
            assert body["data"]["node"] is None, (credential, kind, body)
        for name, query in LISTS.items():
            body = await call(query)
            attempts += 1
            if "errors" in body:  # a key may not list people, keys or the audit log at all
                assert credential == "key" and body["errors"][0]["message"].startswith("your role or key")
                continue
            assert not (_ids_in(body["data"]) & set(a_ids.values())), (credential, name)
            assert "A secret book" not in str(body["data"]), (credential, name)
            assert "DEMO-0001" not in str(body["data"]), (credential, name)  # A's encounter external id

    # Writes with A's natural keys land in B and leave A untouched.
    resubmitted = await gql(app_client, operation("SubmitEncounter"), {"input": encounter_input()}, clinic_b.key)
    attempts += 1
    assert resubmitted["data"]["submitEncounter"]["encounter"]["version"] == 1
    assert resubmitted["data"]["submitEncounter"]["encounter"]["previousVersionId"] is None
    same_name = await as_person(
        browser_b, 'mutation { createRulebook(name: "A secret book") { __typename } }', None, headers_b
    )
    attempts += 1
    assert same_name["data"]["createRulebook"]["__typename"] == "Rulebook"
    # A's own view is unchanged.
    a_book = await as_person(
        app_client,
        "query($id: ID!) { rulebook(id: $id) { ... on Rulebook { draftText draftRevision } } }",
        {"id": a_ids["rulebook"]},
        headers_a,
    )
    assert a_book["data"]["rulebook"] == {"draftText": "A private text", "draftRevision": 1}
    a_users = await as_person(app_client, "query { users { role } }", None, headers_a)
    assert sorted(u["role"] for u in a_users["data"]["users"]) == ["biller", "owner"]
    print(f"\nisolation attempts refused or contained: {attempts}")
    assert attempts >= 40


def test_every_id_argument_is_in_the_isolation_suite() -> None:
    """A new field taking an id must be added to this suite before it can ship."""
    schema = parse_sdl(GRAPHQL_SCHEMA.read_text())
    covered = set(ID_QUERIES) | set(ID_MUTATIONS) | {"node"}
    taking_ids = set()
    for root in (schema.query_type, schema.mutation_type):
        assert root is not None
        for name, field in root.fields.items():
            if any(str(arg.type).startswith("ID") for arg in field.args.values()):
                taking_ids.add(name)
    assert taking_ids <= covered, f"not covered by the isolation suite: {sorted(taking_ids - covered)}"
