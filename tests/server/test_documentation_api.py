"""Chart-open documentation checks, the provider query worklist, and answering a query re-codes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.factories import make_clinic
from tests.server.graphql_ops import camel, encounter_input, gql, operation
from tests.server.test_cli import cutis

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "encounters"
CHECK = """query($e: EncounterInput!) { checkDocumentation(encounter: $e) { __typename ... on DocumentationCheck {
  findings { label start end text context }
  classifications { serviceId category reasons { code evidence { start end } } }
  queries { serviceId text } } } }"""
QUERIES = """query($status: QueryStatus) { providerQueries(filter: {status: $status}) { nodes { id status serviceId text
  externalId addendum answeredEncounterId } } }"""
ANSWER = """mutation($id: ID!, $text: String!) { answerProviderQuery(id: $id, addendum: $text) { __typename
  ... on AnsweredQuery { query { status } encounter { version }
                         coding { status claimLines { code } heldLines { code } } }
  ... on InvalidInput { fields { path message } } } }"""


def borderline() -> dict:  # type: ignore[type-arg]
    return camel(json.loads((FIXTURES / "borderline_sk.json").read_text()))


async def test_check_documentation_finds_spans_and_asks_for_what_is_missing(app_client) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory)
    body = await gql(app_client, CHECK, {"e": borderline()}, clinic.key)
    result = body["data"]["checkDocumentation"]
    note = borderline()["note"]
    request = next(f for f in result["findings"] if f["label"] == "patient_request")
    assert note[request["start"] : request["end"]] == request["text"] == "would like it removed"
    (classification,) = result["classifications"]
    assert classification["category"] == "borderline"
    assert result["queries"][0]["text"].startswith("Document a symptom such as bleeding")
    assert "seborrheic keratosis on the left cheek" in result["queries"][0]["text"]


async def test_a_negated_symptom_is_never_an_indication(app_client) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory)
    encounter = borderline()
    encounter["note"] = "SK on the left cheek. No bleeding, denies itching. Patient would like it removed."
    result = (await gql(app_client, CHECK, {"e": encounter}, clinic.key))["data"]["checkDocumentation"]
    negated = {f["label"] for f in result["findings"] if "negated" in f["context"]}
    assert {"bleeding", "itching"} <= negated
    assert result["classifications"][0]["category"] != "medical"


async def test_query_is_opened_held_answered_and_recoded(app_client) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory)
    coded = await gql(app_client, operation("CodeEncounter"), {"input": borderline()}, clinic.key)
    coding = coded["data"]["codeEncounter"]["coding"]
    assert coding["status"] == "held" and coding["claimLines"] == []
    assert [line["code"] for line in coding["heldLines"]] == ["11311"]
    open_queries = (await gql(app_client, QUERIES, {"status": "open"}, clinic.key))["data"]["providerQueries"]["nodes"]
    (query,) = open_queries
    assert query["serviceId"] == "sh1" and query["externalId"] == "DEMO-0002"
    answered = await gql(
        app_client,
        ANSWER,
        {"id": query["id"], "text": "The lesion bleeds when it catches on her glasses and is painful."},
        clinic.key,
    )
    result = answered["data"]["answerProviderQuery"]
    assert result["query"]["status"] == "answered"
    assert result["encounter"]["version"] == 2
    assert result["coding"]["heldLines"] == [] and [line["code"] for line in result["coding"]["claimLines"]] == [
        "11311"
    ]
    assert (await gql(app_client, QUERIES, {"status": "open"}, clinic.key))["data"]["providerQueries"]["nodes"] == []
    again = await gql(app_client, ANSWER, {"id": query["id"], "text": "twice"}, clinic.key)
    assert again["data"]["answerProviderQuery"]["fields"][0]["message"] == "this query is already answered"


async def test_a_cosmetic_answer_routes_to_self_pay(app_client) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory)
    await gql(app_client, operation("CodeEncounter"), {"input": borderline()}, clinic.key)
    (query,) = (await gql(app_client, QUERIES, {"status": "open"}, clinic.key))["data"]["providerQueries"]["nodes"]
    answered = await gql(
        app_client,
        ANSWER,
        {"id": query["id"], "text": "Asymptomatic; removal is for cosmetic reasons at the patient's request."},
        clinic.key,
    )
    coding = answered["data"]["answerProviderQuery"]["coding"]
    assert coding["claimLines"] == [] and coding["heldLines"] == []
    encounter = encounter_input()
    assert encounter  # the medical encounter in the same clinic is untouched by this


async def test_resubmission_withdraws_the_superseded_query(app_client) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory)
    await gql(app_client, operation("CodeEncounter"), {"input": borderline()}, clinic.key)
    await gql(app_client, operation("CodeEncounter"), {"input": borderline()}, clinic.key)
    nodes = (await gql(app_client, QUERIES, None, clinic.key))["data"]["providerQueries"]["nodes"]
    assert sorted(node["status"] for node in nodes) == ["open", "withdrawn"]


def test_check_documentation_cli(tmp_path: Path) -> None:
    result = cutis("check-documentation", str(FIXTURES / "borderline_sk.json"))
    assert "service sh1: borderline" in result.stdout
    assert "QUERY for service sh1: Document a symptom" in result.stdout
    as_json = json.loads(cutis("check-documentation", str(FIXTURES / "borderline_sk.json"), "--format", "json").stdout)
    assert as_json["classifications"]["sh1"]["category"] == "borderline"


def test_check_documentation_cli_refuses_a_note_over_the_limit(tmp_path: Path) -> None:
    encounter = json.loads((FIXTURES / "borderline_sk.json").read_text())
    encounter["note"] = "Pt denies bleeding. " * 5_001  # 100,020 characters
    file = tmp_path / "long.json"
    file.write_text(json.dumps(encounter))
    result = cutis("check-documentation", str(file), check=False)
    assert result.returncode == 1
    assert f"{file}: note: 100,020 characters; a note has at most 100,000 (20 too many" in result.stderr
    assert "denies" not in result.stderr + result.stdout  # lengths only: the note is PHI
