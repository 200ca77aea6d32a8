"""A biller overrides a claim line: stored beside the immutable coding, audited, shown with the original."""

from __future__ import annotations

import pytest

from server.errors import InputInvalid
from server.overrides import Replacement, check_replacement
from tests.factories import make_clinic
from tests.server.graphql_ops import encounter_input, operation
from tests.server.session_client import as_person, login

OVERRIDE = """mutation($id: ID!, $i: Int!, $line: ReplacementLine!, $reason: String!) {
  overrideLine(codingId: $id, lineIndex: $i, line: $line, reason: $reason) {
    __typename
    ... on LineOverride { lineIndex original replacement reason }
    ... on InvalidInput { fields { path message } }
  }
}"""


async def test_override_keeps_the_original_and_is_audited(app_client) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory, roles=("biller", "owner"))
    biller = await login(app_client, *clinic.people["biller"])
    coded = await as_person(app_client, operation("CodeEncounter"), {"input": encounter_input()}, biller)
    coding = coded["data"]["codeEncounter"]["coding"]
    encounter_id = coded["data"]["codeEncounter"]["encounter"]["id"]
    assert coding["claimLines"][0]["code"] == "11104"
    coding_id = (
        await as_person(
            app_client,
            "query($id: ID!) { encounter(id: $id) { ... on Encounter { coding { id } } } }",
            {"id": encounter_id},
            biller,
        )
    )["data"]["encounter"]["coding"]["id"]
    bad = await as_person(
        app_client,
        OVERRIDE,
        {
            "id": coding_id,
            "i": 0,
            "reason": "pathology says incisional",
            "line": {"code": "11106", "units": 1, "diagnoses": ["C44.319"]},
        },
        biller,
    )
    assert bad["data"]["overrideLine"]["fields"][0]["path"] == "line.diagnoses"
    done = await as_person(
        app_client,
        OVERRIDE,
        {
            "id": coding_id,
            "i": 0,
            "reason": "pathology says incisional",
            "line": {"code": "11106", "units": 1, "diagnoses": ["D48.5"]},
        },
        biller,
    )
    result = done["data"]["overrideLine"]
    assert result["original"]["code"] == "11104"
    assert result["replacement"] == {"code": "11106", "units": 1, "modifiers": [], "diagnoses": ["D48.5"]}
    shown = await as_person(
        app_client,
        "query($id: ID!) { encounter(id: $id) { ... on Encounter { coding { "
        "claimLines { code } overrides { lineIndex reason replacement } } } } }",
        {"id": encounter_id},
        biller,
    )
    coding_now = shown["data"]["encounter"]["coding"]
    assert coding_now["claimLines"][0]["code"] == "11104"  # the engine's coding is unchanged
    assert coding_now["overrides"][0]["replacement"]["code"] == "11106"
    owner = await login(app_client, *clinic.people["owner"])
    audit = await as_person(
        app_client,
        'query { auditEvents(filter: {action: "coding.override"}) { nodes { category objectType detail } } }',
        None,
        owner,
    )
    assert audit["data"]["auditEvents"]["nodes"] == [
        {"category": "phi_write", "objectType": "Coding", "detail": "line 0"}
    ]


async def test_a_practice_manager_cannot_override(app_client) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory, roles=("practice_manager",))
    headers = await login(app_client, *clinic.people["practice_manager"])
    body = await as_person(
        app_client,
        OVERRIDE,
        {"id": "x", "i": 0, "reason": "because I say so", "line": {"code": "11106", "units": 1}},
        headers,
    )
    assert body["data"]["overrideLine"]["__typename"] == "Forbidden"


class TestCheckReplacement:
    """The override checks of server/overrides.py on their own: the first problem, on its field."""

    REASON = "pathology says incisional"

    @pytest.mark.parametrize(
        ("line", "reason", "path"),
        [
            pytest.param(Replacement("1110", 1), REASON, "line.code", id="a code that is no CPT or HCPCS code"),
            pytest.param(Replacement("11106", 0), REASON, "line.units", id="no units"),
            pytest.param(Replacement("11106", 1000), REASON, "line.units", id="a thousand units"),
            pytest.param(Replacement("11106", 1, ["2"]), REASON, "line.modifiers", id="a one-character modifier"),
            pytest.param(
                Replacement("11106", 1, ["25", "59", "XS", "RT", "LT"]), REASON, "line.modifiers", id="five modifiers"
            ),
            pytest.param(
                Replacement("11106", 1, diagnoses=["L57.0"]), REASON, "line.diagnoses", id="a diagnosis not coded"
            ),
            pytest.param(
                Replacement("11106", 1, diagnoses=["C44.319"] * 5), REASON, "line.diagnoses", id="five pointers"
            ),
            pytest.param(Replacement("11106", 1), "  ok  ", "reason", id="a reason of one word"),
        ],
    )
    def test_a_bad_replacement_is_refused_on_its_field(self, line: Replacement, reason: str, path: str) -> None:
        with pytest.raises(InputInvalid) as refused:
            check_replacement(line, ["C44.319"], reason)
        assert [problem.path for problem in refused.value.fields] == [path]

    def test_a_line_the_claim_can_carry_passes(self) -> None:
        check_replacement(Replacement("11106", 1, ["25", "XS"], ["C44.319"]), ["C44.319", "L57.0"], self.REASON)
