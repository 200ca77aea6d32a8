"""Each role can do what it should and nothing more (the matrix is written out by hand here,
not derived from tenants.roles, so that a change there must be deliberate on both sides)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import make_clinic
from tests.server.graphql_ops import encounter_input, operation
from tests.server.session_client import as_person, login

ROLES = ("owner", "practice_manager", "biller", "compliance_reviewer", "onboarding", "read_only")

# operation -> roles allowed
ALLOWED = {
    "read encounters": {"owner", "practice_manager", "biller", "compliance_reviewer", "onboarding", "read_only"},
    "code an encounter": {"owner", "practice_manager", "biller", "onboarding"},
    "edit rulebooks": {"owner", "practice_manager", "onboarding"},
    "manage payers": {"owner", "practice_manager", "onboarding"},
    "manage people": {"owner"},
    "manage API keys": {"owner", "onboarding"},
    "read the audit log": {"owner", "compliance_reviewer"},
}

OPERATIONS: dict[str, tuple[str, Any, str]] = {
    "read encounters": ("query { encounters { nodes { id } } }", None, "query"),
    "code an encounter": (operation("CodeEncounter"), {"input": encounter_input()}, "codeEncounter"),
    "edit rulebooks": ('mutation { createRulebook(name: "R") { __typename } }', None, "createRulebook"),
    "manage payers": (
        'mutation { savePayer(code: "HUMANA", name: "Humana", planType: "commercial") { __typename } }',
        None,
        "savePayer",
    ),
    "manage people": ("query { users { id } }", None, "query"),
    "manage API keys": ('mutation { createApiKey(name: "k") { __typename } }', None, "createApiKey"),
    "read the audit log": ("query { auditEvents { nodes { id } } }", None, "query"),
}


def _outcome(body: dict[str, Any], kind: str) -> bool:
    """True when the operation was allowed."""
    if kind == "query":
        if "errors" in body:
            assert body["errors"][0]["message"].startswith("your role or key does not allow"), body
            return False
        return True
    typename = body["data"][kind]["__typename"]
    return typename != "Forbidden"


@pytest.mark.parametrize("role", ROLES)
async def test_role_permissions(app_client, role: str) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory, roles=(role,))
    headers = await login(app_client, *clinic.people[role])
    if role == "onboarding":
        headers["X-Cutis-Tenant"] = str(clinic.tenant_id)
    seen = {}
    for name, (document, variables, kind) in OPERATIONS.items():
        body = await as_person(app_client, document, variables, headers)
        seen[name] = _outcome(body, kind)
    expected = {name: role in roles for name, roles in ALLOWED.items()}
    assert seen == expected


async def test_an_api_key_with_narrow_scopes_can_only_do_those(app_client) -> None:
    from tests.server.graphql_ops import gql

    clinic = await make_clinic(app_client.app_services.session_factory, roles=("owner",))
    headers = await login(app_client, *clinic.people["owner"])
    created = await as_person(
        app_client,
        'mutation { createApiKey(name: "reader", scopes: ["encounters:read"]) '
        "{ ... on CreatedApiKey { secret key { scopes } } } }",
        None,
        headers,
    )
    secret = created["data"]["createApiKey"]["secret"]
    assert created["data"]["createApiKey"]["key"]["scopes"] == ["encounters:read"]
    readable = await gql(app_client, "query { encounters { nodes { id } } }", None, secret)
    assert "errors" not in readable
    refused = await gql(app_client, operation("CodeEncounter"), {"input": encounter_input()}, secret)
    assert refused["data"]["codeEncounter"]["__typename"] == "Forbidden"
    refused_scope = await as_person(
        app_client,
        'mutation { createApiKey(name: "x", scopes: ["users:admin"]) '
        "{ __typename ... on InvalidInput { fields { path message } } } }",
        None,
        headers,
    )
    assert refused_scope["data"]["createApiKey"]["fields"][0]["path"] == "scopes"


async def test_revoked_and_expired_keys_stop_working(app_client) -> None:
    from tests.server.graphql_ops import gql

    clinic = await make_clinic(app_client.app_services.session_factory, roles=("owner",))
    headers = await login(app_client, *clinic.people["owner"])
    created = await as_person(
        app_client,
        'mutation { createApiKey(name: "temp") { ... on CreatedApiKey { secret key { id prefix lastUsedAt } } } }',
        None,
        headers,
    )
    key = created["data"]["createApiKey"]
    assert key["secret"].startswith(f"cutis_{key['key']['prefix']}_")
    assert "errors" not in await gql(app_client, "query { clinic { name } }", None, key["secret"])
    listed = await as_person(app_client, "query { apiKeys { id lastUsedAt } }", None, headers)
    assert next(k for k in listed["data"]["apiKeys"] if k["id"] == key["key"]["id"])["lastUsedAt"] is not None
    await as_person(
        app_client, "mutation($id: ID!) { revokeApiKey(id: $id) { __typename } }", {"id": key["key"]["id"]}, headers
    )
    after = await gql(app_client, "query { clinic { name } }", None, key["secret"])
    assert after["errors"][0]["message"].startswith("authentication required")
    expired = await as_person(
        app_client,
        'mutation { createApiKey(name: "old", expiresAt: "2020-01-01T00:00:00Z") { ... on CreatedApiKey { secret } } }',
        None,
        headers,
    )
    gone = await gql(app_client, "query { clinic { name } }", None, expired["data"]["createApiKey"]["secret"])
    assert gone["errors"][0]["message"].startswith("authentication required")
