"""The editor's operations over GraphQL: the same answers as the CLI, for the web page."""

from __future__ import annotations

from pathlib import Path

from tests.factories import make_clinic
from tests.server.graphql_ops import encounter_input, gql
from tests.server.test_rules_cli import TYPO

LIBRARY = Path(__file__).resolve().parents[2] / "rulebooks" / "library"


async def test_validate_format_test_explain_and_vocabulary(app_client) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory)
    key = clinic.key
    diagnostics = await gql(
        app_client,
        "query($t: String!) { validateRulebook(text: $t) { line column endLine "
        "endColumn start end severity code message hint } }",
        {"t": TYPO},
        key,
    )
    errors = [d for d in diagnostics["data"]["validateRulebook"] if d["severity"] == "error"]
    assert [(d["line"], d["column"]) for d in errors] == [(6, 39)]
    assert TYPO[errors[0]["start"] : errors[0]["end"]] == "service.cont"

    aetna = (LIBRARY / "aetna-commercial.rules").read_text()
    formatted = await gql(
        app_client,
        "query($t: String!) { formatRulebook(text: $t) { text changed } }",
        {"t": aetna.replace("\n  in policy", "\n    in policy")},
        key,
    )
    assert formatted["data"]["formatRulebook"] == {"text": aetna, "changed": True}

    report = await gql(
        app_client,
        "query($t: String!) { testRulebook(text: $t) { passed results { name passed "
        "fired } coverage { percent uncoveredRules } } }",
        {"t": aetna},
        key,
    )
    assert report["data"]["testRulebook"]["passed"] is True
    assert any("aetna-ak-cap-10" in r["fired"] for r in report["data"]["testRulebook"]["results"])

    encounter = encounter_input()
    encounter["services"].append(
        {"id": "d1", "kind": "destruction", "count": 20, "site": "face", "diagnoses": ["L57.0"]}
    )
    explained = await gql(
        app_client,
        """query($t: String!, $e: EncounterInput!) { explainRulebook(text: $t,
        encounter: $e) { __typename ... on ExplainResult { coding { claimLines { code units reasons { rule {
        ruleId span { line } } } } } trace { rule status line } } } }""",
        {"t": aetna, "e": encounter},
        key,
    )
    result = explained["data"]["explainRulebook"]
    lines = {(line["code"], line["units"]) for line in result["coding"]["claimLines"]}
    assert ("17003", 9) in lines and ("17004", 1) not in lines
    assert any(t["rule"] == "aetna-ak-cap-10" and t["status"] == "fired" for t in result["trace"])

    vocabulary = await gql(app_client, "query { ruleVocabulary }", None, key)
    paths = {field["path"] for field in vocabulary["data"]["ruleVocabulary"]["fields"]}
    assert {"payer", "service.kind", "service.count"} <= paths


async def test_explain_a_stored_encounter_by_id_and_not_anothers(app_client) -> None:
    factory = app_client.app_services.session_factory
    clinic_a = await make_clinic(factory, "a")
    clinic_b = await make_clinic(factory, "b")
    from tests.server.graphql_ops import operation

    coded = await gql(app_client, operation("CodeEncounter"), {"input": encounter_input()}, clinic_a.key)
    encounter_id = coded["data"]["codeEncounter"]["encounter"]["id"]
    aetna = (LIBRARY / "aetna-commercial.rules").read_text()
    query = "query($t: String!, $id: ID!) { explainRulebook(text: $t, encounterId: $id) { __typename } }"
    mine = await gql(app_client, query, {"t": aetna, "id": encounter_id}, clinic_a.key)
    theirs = await gql(app_client, query, {"t": aetna, "id": encounter_id}, clinic_b.key)
    assert mine["data"]["explainRulebook"]["__typename"] == "ExplainResult"
    assert theirs["data"]["explainRulebook"]["__typename"] == "NotFoundError"


async def test_payers_map_ehr_and_clearinghouse_ids(app_client) -> None:
    from tests.server.session_client import as_person, login

    clinic = await make_clinic(app_client.app_services.session_factory, roles=("practice_manager",))
    headers = await login(app_client, *clinic.people["practice_manager"])
    saved = await as_person(
        app_client,
        'mutation { savePayer(code: "HUMANA", name: "Humana", planType: "commercial", '
        'ehrPayerId: "61101", clearinghousePayerId: "HUM77") { __typename } }',
        None,
        headers,
    )
    assert saved["data"]["savePayer"]["__typename"] == "PayerInfo"
    by_ehr = await as_person(
        app_client, 'query { payerByExternalId(system: ehr, externalId: "61101") { code } }', None, headers
    )
    by_ch = await as_person(
        app_client, 'query { payerByExternalId(system: clearinghouse, externalId: "HUM77") { code } }', None, headers
    )
    assert by_ehr["data"]["payerByExternalId"] == by_ch["data"]["payerByExternalId"] == {"code": "HUMANA"}


async def test_validate_sees_the_value_sets_of_the_library_books_a_draft_extends(app_client) -> None:
    key = (await make_clinic(app_client.app_services.session_factory)).key
    query = "query($t: String!) { validateRulebook(text: $t) { line column severity code message } }"
    draft = (
        'rulebook "Clinic Aetna" for payer AETNA\n  extends "National base"\n\n'
        'rule benign-reviewed "Benign removals are reviewed"\n  in policy\n'
        "  when service.diagnoses any in benign_lesions\n  then\n    flag benign_reviewed\n"
    )
    found = await gql(app_client, query, {"t": draft}, key)
    assert [d for d in found["data"]["validateRulebook"] if d["severity"] == "error"] == []
    misspelt = await gql(app_client, query, {"t": draft.replace('"National base"', '"Nationalbase"')}, key)
    errors = [d for d in misspelt["data"]["validateRulebook"] if d["severity"] == "error"]
    assert [(d["line"], d["column"], d["code"]) for d in errors] == [
        (2, 11, "stack.unknown_rulebook"),
        (6, 33, "name.unknown"),
    ]
