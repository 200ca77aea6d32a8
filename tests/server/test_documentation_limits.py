"""checkDocumentation answers at most MAX_FINDINGS findings and says how many it left out: an
adversarial note's thousands of findings would stall the event loop while the answer is built."""

from __future__ import annotations

import json

from server.api.documentation import MAX_FINDINGS
from tests.factories import make_clinic
from tests.server.graphql_ops import FIXTURES, camel, gql

CHECK = """query($input: EncounterInput!) { checkDocumentation(encounter: $input) {
  __typename ... on DocumentationCheck { findingsOmitted findings { label start } classifications { serviceId } } } }"""


async def test_a_note_with_thousands_of_findings_answers_the_first_ones_and_the_count_left_out(app_client) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory)
    encounter = camel(json.loads((FIXTURES / "borderline_sk.json").read_text()))
    encounter["note"] = "Lesion 1.2 x 0.8 cm, no bleeding, denies pruritus. " * 900
    body = await gql(app_client, CHECK, {"input": encounter}, clinic.key)
    check = body["data"]["checkDocumentation"]
    assert len(check["findings"]) == MAX_FINDINGS
    assert check["findingsOmitted"] > 0
    starts = [finding["start"] for finding in check["findings"]]
    assert starts == sorted(starts)  # the first ones by position
    assert check["classifications"]  # still weighed over the whole note


async def test_an_ordinary_note_omits_nothing(app_client) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory)
    encounter = camel(json.loads((FIXTURES / "borderline_sk.json").read_text()))
    body = await gql(app_client, CHECK, {"input": encounter}, clinic.key)
    assert body["data"]["checkDocumentation"]["findingsOmitted"] == 0
