"""Adversarial isolation: clinic B, with full rights in its own clinic, aims at clinic A's ids.

Every query and mutation that takes an id answers "not found" (never "forbidden", which would
confirm the id exists); every list shows only B's rows; writes land in B. The suite counts its
attempts and prints the count. B also aims through ids inside filters, the external ids two
clinics share (the EHR's payer and encounter ids), and cursors cut from A's pages.

Schema tests make sure nothing escapes the suite: every argument or input field (walked
recursively) that is an ID, is named like one, or is a cursor, and every Node type.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from graphql import build_schema as parse_sdl

from server.api.ids import parse_global_id
from server.export import GRAPHQL_SCHEMA
from tests.factories import make_clinic
from tests.server.graphql_ops import FIXTURES, camel, encounter_input, gql, operation
from tests.server.session_client import as_person, login

EHR_KEY_PEM = (
    rsa.generate_private_key(public_exponent=65537, key_size=2048)
    .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    .decode()
)


REPO = Path(__file__).resolve().parents[2]
# field name -> the document that aims it at one of A's ids (by kind of id)
ID_QUERIES = {
    "encounter": ("encounter", "query($id: ID!) { encounter(id: $id) { __typename ... on Encounter { id note } } }"),
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
    "retryEhrMessage": ("ehrMessage", "mutation($id: ID!) { retryEhrMessage(id: $id) { __typename } }"),
    "overrideLine": (
        "coding",
        'mutation($id: ID!) { overrideLine(codingId: $id, lineIndex: 0, line: {code: "11106", units: 1}, '
        'reason: "taking over") { __typename } }',
    ),
}
# ids under other argument names: place -> (kind of A's id, document, what B gets: a typename, or None for null)
NAMED_ID_ATTEMPTS = {
    "Query.rulebookVersions(rulebookId)": (
        "rulebook",
        "query($id: ID!) { answer: rulebookVersions(rulebookId: $id) { id canonicalText } }",
        None,
    ),
    "Query.recodeAsOf(codingId)": (
        "coding",
        "query($id: ID!) { answer: recodeAsOf(codingId: $id) { __typename } }",
        "NotFoundError",
    ),
    "Query.diffRulebooks(from)": (
        "version",
        "query($id: ID!, $other: ID!) { answer: diffRulebooks(from: $id, to: $other) { __typename } }",
        "NotFoundError",
    ),
    "Query.diffRulebooks(to)": (
        "version",
        "query($id: ID!, $other: ID!) { answer: diffRulebooks(from: $other, to: $id) { __typename } }",
        "NotFoundError",
    ),
    "Query.draftShadow(id)": (
        "shadow",
        "query($id: ID!) { answer: draftShadow(id: $id) { __typename } }",
        "NotFoundError",
    ),
    "Mutation.startDraftShadow(rulebookId)": (
        "rulebook",
        "mutation($id: ID!) { answer: startDraftShadow(rulebookId: $id) { __typename } }",
        "NotFoundError",
    ),
    "Mutation.stopDraftShadow(id)": (
        "shadow",
        "mutation($id: ID!) { answer: stopDraftShadow(id: $id) { __typename } }",
        "NotFoundError",
    ),
    "Query.impactReplay(id)": (
        "replay",
        "query($id: ID!) { answer: impactReplay(id: $id) { __typename } }",
        "NotFoundError",
    ),
    "Mutation.startImpactReplay(rulebookId)": (
        "rulebook",
        "mutation($id: ID!) { answer: startImpactReplay(rulebookId: $id) { __typename } }",
        "NotFoundError",
    ),
    "Mutation.buildClaim(encounterId)": (
        "encounter",
        "mutation($id: ID!) { answer: buildClaim(encounterId: $id, subscriber: {}) { __typename } }",
        "NotFoundError",
    ),
    "Query.claims(encounterId)": ("encounter", "query($id: ID!) { answer: claims(encounterId: $id) { id x12 } }", None),
    "Mutation.cancelImpactReplay(id)": (
        "replay",
        "mutation($id: ID!) { answer: cancelImpactReplay(id: $id) { __typename } }",
        "NotFoundError",
    ),
    "Mutation.submitRulebookForReview(id)": (
        "rulebook",
        "mutation($id: ID!) { answer: submitRulebookForReview(id: $id, baseRevision: 1) { __typename } }",
        "NotFoundError",
    ),
    "Mutation.reviewRulebook(versionId)": (
        "version",
        'mutation($id: ID!) { answer: reviewRulebook(versionId: $id, decision: REQUEST_CHANGES, comment: "no") '
        "{ __typename } }",
        "NotFoundError",
    ),
    "Mutation.publishRulebook(versionId)": (
        "version",
        'mutation($id: ID!) { answer: publishRulebook(versionId: $id, totpCode: "123456") { __typename } }',
        "NotFoundError",
    ),
    "Mutation.rollbackRulebook(rulebookId)": (
        "rulebook",
        "mutation($id: ID!, $other: ID!) { answer: rollbackRulebook(rulebookId: $id, toVersionId: $other) "
        "{ __typename } }",
        "NotFoundError",
    ),
    "Mutation.rollbackRulebook(toVersionId)": (
        "version",
        "mutation($id: ID!, $other: ID!) { answer: rollbackRulebook(rulebookId: $other, toVersionId: $id) "
        "{ __typename } }",
        "NotFoundError",
    ),
}
# Node type (server/api/schema.py NODE_TYPES) -> the kind of A's object aimed at through node(id:)
NODE_KIND_OF_TYPE = {
    "Encounter": "encounter",
    "Rulebook": "rulebook",
    "Payer": "payer",
    "ApiKey": "key",
    "AuditEvent": "audit",
    "User": "user",
    "Tenant": "tenant",
    "LineOverride": "override",
    "ProviderQuery": "query",
    "RulebookVersion": "version",
    "ImpactReplay": "replay",
    "DraftShadow": "shadow",
    "EhrMessage": "ehrMessage",
    "EhrConnection": "ehrConnection",
    "Claim": "claim",
}
# ids inside input objects: (input type, field) -> a query aiming it at one of A's ids
INPUT_ID_QUERIES = {
    ("AuditFilter", "actorUserId"): (
        "person",
        "query($id: ID!) { auditEvents(first: 100, filter: {actorUserId: $id}) { nodes { id objectIds } } }",
    ),
}
# external ids (the EHR's and the clearinghouse's, shared across clinics), aimed in the attempts below
EXTERNAL_ID_ARGUMENTS = {
    "Query.payerByExternalId(externalId)",
    "EncounterFilter.externalId",
    "ProviderQueryFilter.externalId",
    "Mutation.savePayer(ehrPayerId)",  # B saves the ids A uses: B's payer, A's untouched
    "Mutation.savePayer(clearinghousePayerId)",
    "EncounterInput.externalId",  # B submits A's encounter id: a new encounter of B's
}
# "after" cursors of A's pages, replayed by B
CURSOR_LISTS = {
    "encounters": "query($after: String) { encounters(first: 100, after: $after) "
    "{ nodes { id externalId } pageInfo { endCursor } } }",
    "auditEvents": "query($after: String) { auditEvents(first: 100, after: $after) "
    "{ nodes { id objectIds } pageInfo { endCursor } } }",
    "providerQueries": "query($after: String) { providerQueries(first: 100, after: $after) "
    "{ nodes { id externalId } pageInfo { endCursor } } }",
    "ehrMessages": "query($after: String) { ehrMessages(first: 100, after: $after) "
    "{ nodes { id visitKeys } pageInfo { endCursor } } }",
}
# id-like fields that name things inside the submitted document and are never looked up
DOCUMENT_LOCAL_IDS = {
    "CoverageInput.memberId",
    "MohsInput.tumorId",
    "PatientInput.id",
    "ServiceInput.id",
    "ServiceInput.lesionId",
    # what the clinic registered with its EHR: sent to the EHR's token endpoint, never looked up in cutis
    "Mutation.saveEhrConnection(clientId)",
    "Mutation.saveEhrConnection(keyId)",
}
LISTS = {
    "encounters": "query { encounters(first: 100) { nodes { id externalId note } } }",
    "rulebooks": "query { rulebooks { id name } }",
    "users": "query { users { id email } }",
    "apiKeys": "query { apiKeys { id prefix } }",
    "auditEvents": "query { auditEvents(first: 100) { nodes { id objectIds } } }",
    "clinic.payers": "query { clinic { payers { id code name } } }",
    "clinic.feeSchedule": "query { clinic { feeSchedule(schedule: medical) { code fee } } }",
    "providerQueries": "query { providerQueries { nodes { id externalId } } }",
    "ehrMessages": "query { ehrMessages(first: 100) { nodes { id visitKeys errorWhere } } }",
    "ehrConnections": "query { ehrConnections { id name baseUrl } }",
    "billingSetup": "query { billingSetup { revision setup } }",
}
ENCOUNTER_NPIS = "query { encounters(first: 100) { nodes { providerNpi } } }"
A_BILLING_NAME = "A Secret Dermatology PC"


def _ids_in(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set().union(*(_ids_in(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_ids_in(v) for v in value)) if value else set()
    return {value} if isinstance(value, str) else set()


def _node_ids(value: Any) -> set[str]:
    """The values of every `id` field in a response (not the other strings: external ids are shared)."""
    if isinstance(value, dict):
        found = {value["id"]} if isinstance(value.get("id"), str) else set()
        return found.union(*(_node_ids(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_node_ids(v) for v in value))
    return set()


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
    adopted = await as_person(client, operation("AdoptTemplate"), {"name": "Aetna commercial (template)"}, headers)
    submitted = await as_person(
        client,
        operation("SubmitRulebookForReview"),
        {"id": adopted["data"]["adoptTemplate"]["id"], "baseRevision": 1},
        headers,
    )
    assert submitted["data"]["submitRulebookForReview"]["__typename"] == "RulebookVersion", submitted
    ids["version"] = submitted["data"]["submitRulebookForReview"]["id"]
    replayed = await as_person(
        client, operation("StartImpactReplay"), {"rulebookId": adopted["data"]["adoptTemplate"]["id"]}, headers
    )
    ids["replay"] = replayed["data"]["startImpactReplay"]["id"]
    shadowed = await as_person(
        client, operation("StartDraftShadow"), {"rulebookId": adopted["data"]["adoptTemplate"]["id"]}, headers
    )
    ids["shadow"] = shadowed["data"]["startDraftShadow"]["id"]
    users = await as_person(client, "query { users { id role } }", None, headers)
    ids["user"] = next(u["id"] for u in users["data"]["users"] if u["role"] == "biller")
    keys = await as_person(client, "query { apiKeys { id } }", None, headers)
    ids["key"] = keys["data"]["apiKeys"][0]["id"]
    payers = await as_person(client, "query { clinic { id payers { id } } }", None, headers)
    ids["payer"] = payers["data"]["clinic"]["payers"][0]["id"]
    ids["tenant"] = payers["data"]["clinic"]["id"]
    audit = await as_person(client, "query { auditEvents(first: 1) { nodes { id } } }", None, headers)
    ids["audit"] = audit["data"]["auditEvents"]["nodes"][0]["id"]
    me = await as_person(client, "query { users { id email } }", None, headers)
    ids["person"] = next(u["id"] for u in me["data"]["users"] if u["email"] == clinic.people["owner"][0])
    overridden = await gql(
        client,
        'mutation($id: ID!) { overrideLine(codingId: $id, lineIndex: 0, reason: "pathology says incisional", '
        'line: {code: "11106", units: 1, diagnoses: ["D48.5"]}) { __typename ... on LineOverride { id } } }',
        {"id": ids["coding"]},
        clinic.key,
    )
    assert overridden["data"]["overrideLine"]["__typename"] == "LineOverride", overridden
    ids["override"] = overridden["data"]["overrideLine"]["id"]
    pushed = await gql(  # a message A's EHR sent that waits in A's quarantine (A has not mapped the payer id)
        client,
        operation("ImportEhrMessages"),
        {"format": "FHIR", "body": (FIXTURES.parent / "ehr" / "visit_fhir_bundle.json").read_text()},
        clinic.key,
    )
    assert pushed["data"]["importEhrMessages"]["quarantined"] == 1, pushed
    ids["ehrMessage"] = pushed["data"]["importEhrMessages"]["messages"][0]["id"]
    connected = await as_person(
        client,
        operation("SaveEhrConnection"),
        {
            "name": "A secret book",  # the lists must not show it to B
            "baseUrl": "https://a.example.org/fhir",
            "tokenUrl": "https://a.example.org/token",
            "clientId": "a-client",
            "scope": "system/*.read",
            "privateKeyPem": EHR_KEY_PEM,
        },
        headers,
    )
    assert connected["data"]["saveEhrConnection"]["__typename"] == "EhrConnection", connected
    ids["ehrConnection"] = connected["data"]["saveEhrConnection"]["id"]

    setup = json.loads((REPO / "docs" / "examples" / "billing-setup.json").read_text())
    setup["billing_provider"]["name"] = A_BILLING_NAME
    saved = await as_person(client, operation("SaveBillingSetup"), {"setup": setup}, headers)
    assert saved["data"]["saveBillingSetup"]["__typename"] == "BillingSetup", saved
    subscriber = json.loads((REPO / "docs" / "examples" / "subscriber.json").read_text())
    billed = await as_person(
        client, operation("BuildClaim"), {"encounterId": ids["encounter"], "subscriber": subscriber}, headers
    )
    assert billed["data"]["buildClaim"]["__typename"] == "Claim", billed
    ids["claim"] = billed["data"]["buildClaim"]["id"]
    return clinic, headers, ids


async def test_clinic_b_cannot_reach_clinic_a(app_client) -> None:
    async with app_client.another_browser() as browser_b:
        await _clinic_b_cannot_reach_clinic_a(app_client, browser_b)


async def _clinic_b_cannot_reach_clinic_a(app_client: Any, browser_b: Any) -> None:
    factory = app_client.app_services.session_factory
    _, headers_a, a_ids = await _clinic_a_objects(app_client, factory)
    clinic_b = await make_clinic(factory, "clinic-b", roles=("owner",))
    headers_b = await login(browser_b, *clinic_b.people["owner"])
    own = await as_person(browser_b, operation("AdoptTemplate"), {"name": "Aetna commercial (template)"}, headers_b)
    b_rulebook = own["data"]["adoptTemplate"]["id"]
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
        for place, (kind, document, expected) in NAMED_ID_ATTEMPTS.items():
            other = a_ids["version"] if kind == "rulebook" else a_ids["rulebook"]
            if place.startswith("Query.diffRulebooks"):
                other = b_rulebook  # B's own book on the other side: A's id must still find nothing
            body = await call(
                document, {"id": a_ids[kind], "other": other} if "$other" in document else {"id": a_ids[kind]}
            )
            attempts += 1
            assert "errors" not in body, (credential, place, body)
            answer = body["data"]["answer"]
            if expected is None:
                assert answer is None, (credential, place, body)
            elif not (credential == "key" and answer["__typename"] == "Forbidden"):  # keys never approve
                assert answer["__typename"] == expected, (credential, place, body)
        for type_name, kind in NODE_KIND_OF_TYPE.items():
            assert parse_global_id(a_ids[kind])[0] == type_name, (type_name, kind)  # type: ignore[index]
            body = await call("query($id: ID!) { node(id: $id) { id } }", {"id": a_ids[kind]})
            attempts += 1
            assert body["data"]["node"] is None, (credential, type_name, body)
        for name, query in LISTS.items():
            body = await call(query)
            attempts += 1
            if "errors" in body:  # a key may not list people, keys or the audit log at all
                assert credential == "key" and body["errors"][0]["message"].startswith("your role or key")
                continue
            assert not (_ids_in(body["data"]) & set(a_ids.values())), (credential, name)
            assert "A secret book" not in str(body["data"]), (credential, name)
            assert a_ids["version"] not in str(body["data"]), (credential, name)
            assert "DEMO-0001" not in str(body["data"]), (credential, name)  # A's encounter external id
            assert A_BILLING_NAME.upper() not in str(body["data"]), (credential, name)
            assert "changing pigmented lesion" not in str(body["data"]), (credential, name)  # A's note

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
    b_setup = json.loads((REPO / "docs" / "examples" / "billing-setup.json").read_text())
    first_of_b = await as_person(browser_b, operation("SaveBillingSetup"), {"setup": b_setup}, headers_b)
    attempts += 1
    assert first_of_b["data"]["saveBillingSetup"]["revision"] == 1, first_of_b  # A's revision is not B's
    a_setup = await as_person(app_client, operation("BillingSetup"), None, headers_a)
    assert a_setup["data"]["billingSetup"]["setup"]["billing_provider"]["name"] == A_BILLING_NAME.upper()
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


async def test_clinic_b_cannot_reach_clinic_a_through_filters_external_ids_and_cursors(app_client) -> None:
    async with app_client.another_browser() as browser_b:
        await _filters_external_ids_and_cursors(app_client, browser_b)


PAYER_BY_EXTERNAL_ID = (
    "query($system: PayerIdSystem!, $id: String!) "
    "{ payerByExternalId(system: $system, externalId: $id) { id code name } }"
)
SAVE_PAYER = (
    'mutation($name: String!, $ehr: String, $ch: String) { savePayer(code: "HUMANA", name: $name, '
    'planType: "commercial", ehrPayerId: $ehr, clearinghousePayerId: $ch) { __typename ... on PayerInfo { id } } }'
)


async def _filters_external_ids_and_cursors(app_client: Any, browser_b: Any) -> None:
    factory = app_client.app_services.session_factory
    clinic_a, headers_a, a_ids = await _clinic_a_objects(app_client, factory)
    clinic_b = await make_clinic(factory, "clinic-b", roles=("owner",))
    headers_b = await login(browser_b, *clinic_b.people["owner"])
    attempts = 0

    async def as_b(query: str, variables: dict[str, Any] | None = None) -> Any:
        body = await as_person(browser_b, query, variables, headers_b)
        assert "errors" not in body, body
        return body["data"]

    async def as_a(query: str, variables: dict[str, Any] | None = None) -> Any:
        body = await as_person(app_client, query, variables, headers_a)
        assert "errors" not in body, body
        return body["data"]

    a_encounters = await as_a("query { encounters(first: 100) { nodes { id externalId } } }")
    a_external_ids = {node["externalId"] for node in a_encounters["encounters"]["nodes"]}
    a_queries = await as_a("query { providerQueries(first: 100) { nodes { id externalId } } }")
    a_all_ids = set(a_ids.values()) | _node_ids(a_encounters) | _node_ids(a_queries)
    assert a_external_ids and a_queries["providerQueries"]["nodes"]

    # ids inside input objects
    for (type_name, field), (kind, query) in INPUT_ID_QUERIES.items():
        body = await as_b(query, {"id": a_ids[kind]})
        attempts += 1
        assert not (_ids_in(body) & a_all_ids), (type_name, field, body)
        assert _node_ids(body) == set(), (type_name, field, body)  # A's person acted in no event of B's

    # external ids: the EHR's ids are the same in every clinic; B only ever finds its own
    for external_id in sorted(a_external_ids | {q["externalId"] for q in a_queries["providerQueries"]["nodes"]}):
        for name, query in (
            ("encounters", "query($x: String) { encounters(first: 100, filter: {externalId: $x}) { nodes { id } } }"),
            (
                "providerQueries",
                "query($x: String) { providerQueries(first: 100, filter: {externalId: $x}) { nodes { id } } }",
            ),
        ):
            body = await as_b(query, {"x": external_id})
            attempts += 1
            assert body[name]["nodes"] == [], (name, external_id, body)
    # the provider and coding-status filters: A's provider NPI (national, shared by every clinic) and
    # each coding status find none of A's encounters for B
    a_npis = {n["providerNpi"] for n in (await as_a(ENCOUNTER_NPIS))["encounters"]["nodes"]}
    assert a_npis
    for criterion in [{"providerNpi": npi} for npi in sorted(a_npis)] + [
        {"codingStatus": status} for status in ("ready", "held", "needs_prior_auth", "needs_review")
    ]:
        body = await as_b(
            "query($f: EncounterFilter) { encounters(first: 100, filter: $f) { nodes { id } } }", {"f": criterion}
        )
        attempts += 1
        assert not (_node_ids(body) & a_all_ids), (criterion, body)
    saved_a = await as_a(SAVE_PAYER, {"name": "A's Humana", "ehr": "SHARED-61101", "ch": "SHARED-HUM77"})
    only_a = await as_a(
        'mutation { savePayer(code: "AETNA", name: "A only", planType: "commercial", ehrPayerId: "A-ONLY-1", '
        'clearinghousePayerId: "A-ONLY-2") { __typename } }'
    )
    assert only_a["savePayer"]["__typename"] == "PayerInfo"
    for system, external_id in (("ehr", "A-ONLY-1"), ("clearinghouse", "A-ONLY-2")):
        body = await as_b(PAYER_BY_EXTERNAL_ID, {"system": system, "id": external_id})
        attempts += 1
        assert body["payerByExternalId"] is None, (system, body)
    saved_b = await as_b(SAVE_PAYER, {"name": "B's Humana", "ehr": "SHARED-61101", "ch": "SHARED-HUM77"})
    attempts += 1
    payer_a, payer_b = saved_a["savePayer"]["id"], saved_b["savePayer"]["id"]
    assert payer_a != payer_b
    for system, external_id in (("ehr", "SHARED-61101"), ("clearinghouse", "SHARED-HUM77")):
        body = await as_b(PAYER_BY_EXTERNAL_ID, {"system": system, "id": external_id})
        attempts += 1
        assert body["payerByExternalId"] == {"id": payer_b, "code": "HUMANA", "name": "B's Humana"}, body
        mine = await as_a(PAYER_BY_EXTERNAL_ID, {"system": system, "id": external_id})
        assert mine["payerByExternalId"] == {"id": payer_a, "code": "HUMANA", "name": "A's Humana"}, mine

    # cursors from A's pages: B's rows (all older than A's newest), never A's
    borderline = json.loads((FIXTURES / "borderline_sk.json").read_text())
    for payload in (encounter_input(), camel(borderline)):
        coded = await gql(browser_b, operation("CodeEncounter"), {"input": payload}, clinic_b.key)
        assert coded["data"]["codeEncounter"]["__typename"] == "CodedEncounter", coded
    bundle = (FIXTURES.parent / "ehr" / "visit_fhir_bundle.json").read_text()
    pushed_b = await gql(browser_b, operation("ImportEhrMessages"), {"format": "FHIR", "body": bundle}, clinic_b.key)
    assert pushed_b["data"]["importEhrMessages"]["quarantined"] == 1, pushed_b  # the same message: B's own row
    # A's newest rows, so that every row of B's is older than A's cursor
    await gql(app_client, operation("CodeEncounter"), {"input": camel(borderline)}, clinic_a.key)
    await gql(
        app_client,
        operation("ImportEhrMessages"),
        {"format": "FHIR", "body": bundle.replace("60054", "1")},
        clinic_a.key,
    )
    await as_a(SAVE_PAYER, {"name": "A's Humana again", "ehr": "SHARED-61101", "ch": "SHARED-HUM77"})
    for name, query in CURSOR_LISTS.items():
        a_page = await as_a(query.replace("first: 100", "first: 1"), {"after": None})
        a_all_ids |= _node_ids(a_page)
        cursor = a_page[name]["pageInfo"]["endCursor"]
        assert cursor, (name, a_page)
        b_everything = await as_b(query, {"after": None})
        b_after = await as_b(query, {"after": cursor})
        attempts += 1
        b_ids = {node["id"] for node in b_everything[name]["nodes"]}
        b_after_ids = {node["id"] for node in b_after[name]["nodes"]}
        assert b_after_ids, (name, "B has rows older than A's cursor: the attempt must not be vacuous")
        assert b_after_ids <= b_ids, (name, b_after)
        assert not (_ids_in(b_after) & a_all_ids), (name, b_after)
        assert not (b_after_ids & _node_ids(a_page)), (name, b_after)
    print(f"\nfilter, external id and cursor attempts refused or contained: {attempts}")
    assert attempts >= len(INPUT_ID_QUERIES) + len(CURSOR_LISTS) + 6


def _named_type(type_: Any) -> Any:
    while hasattr(type_, "of_type"):
        type_ = type_.of_type
    return type_


def _id_like(name: str, type_: Any) -> bool:
    """An ID, anything named like one (`externalId`, `payerId`, `id`), or a page cursor."""
    return _named_type(type_).name == "ID" or name.lower().endswith("id") or name == "after"


def _id_like_places(schema: Any) -> set[str]:
    """Every argument and input field through which a client can name an object, inputs walked recursively."""
    from graphql import GraphQLInputObjectType, GraphQLObjectType

    places: set[str] = set()

    def walk_input(input_type: Any, seen: frozenset[str]) -> None:
        if input_type.name in seen:
            return
        for field_name, field in input_type.fields.items():
            named = _named_type(field.type)
            if isinstance(named, GraphQLInputObjectType):
                walk_input(named, seen | {input_type.name})
            elif _id_like(field_name, field.type):
                places.add(f"{input_type.name}.{field_name}")

    for type_name, object_type in schema.type_map.items():
        if type_name.startswith("__") or not isinstance(object_type, GraphQLObjectType):
            continue
        for field_name, field in object_type.fields.items():
            for arg_name, arg in field.args.items():
                named = _named_type(arg.type)
                if isinstance(named, GraphQLInputObjectType):
                    walk_input(named, frozenset())
                elif _id_like(arg_name, arg.type):
                    places.add(f"{type_name}.{field_name}({arg_name})")
    return places


def test_every_id_argument_is_in_the_isolation_suite() -> None:
    """A new way to name an object (argument, input field, external id, cursor) must be attacked here first."""
    schema = parse_sdl(GRAPHQL_SCHEMA.read_text())
    covered = (
        {f"Query.{name}(id)" for name in ID_QUERIES}
        | {"Query.explainRulebook(encounterId)", "Query.node(id)"}
        | {f"Mutation.{name}(id)" for name in ID_MUTATIONS}
        | {"Mutation.overrideLine(codingId)"}
        | set(NAMED_ID_ATTEMPTS)
        | {f"{type_name}.{field}" for type_name, field in INPUT_ID_QUERIES}
        | EXTERNAL_ID_ARGUMENTS
        | {f"Query.{name}(after)" for name in CURSOR_LISTS}
        | DOCUMENT_LOCAL_IDS
    )
    places = _id_like_places(schema)
    assert places <= covered, f"not covered by the isolation suite: {sorted(places - covered)}"
    assert covered - DOCUMENT_LOCAL_IDS - places <= {"Query.explainRulebook(id)", "Mutation.overrideLine(id)"}


def test_every_node_type_is_attempted() -> None:
    from server.api.schema import NODE_TYPES

    assert set(NODE_KIND_OF_TYPE) == set(NODE_TYPES)


async def test_code_sets_are_the_same_reference_data_for_every_clinic_and_need_a_key(app_client) -> None:
    """`codeSets` names no clinic's object: clinics A and B get the same answer, no one without a key."""
    factory = app_client.app_services.session_factory
    clinic_a, clinic_b = await make_clinic(factory, "clinic-a"), await make_clinic(factory, "clinic-b")
    variables = {"date": "2026-12-08"}
    answers = [await gql(app_client, operation("CodeSets"), variables, clinic.key) for clinic in (clinic_a, clinic_b)]
    assert "errors" not in answers[0], answers[0]
    assert answers[0] == answers[1]
    icd10 = answers[0]["data"]["codeSets"][0]
    assert (icd10["kind"], icd10["current"]) == ("icd10cm", False)
    assert "cutis codesets load icd10cm icd10cm-order-2027.txt --effective 2026-10-01" in icd10["loadNext"]
    assert icd10["releases"][0]["firstDate"] == "2025-10-01" and icd10["releases"][0]["lastDate"] == "2026-09-30"
    no_key = await gql(app_client, operation("CodeSets"), variables)
    assert no_key["errors"][0]["message"].startswith("authentication required")
