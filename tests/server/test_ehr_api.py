"""EHR messages over GraphQL, as a clinic's interface engine calls it: push a FHIR bundle or a batch
of HL7 v2 messages, read the quarantine worklist, retry a message once the clinic fixed its payer."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import update

from server.db import tenant_session
from server.models import Payer
from tests.factories import make_clinic
from tests.server.graphql_ops import gql, operation
from tests.server.session_client import as_person, login

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ehr"
BUNDLE = (FIXTURES / "visit_fhir_bundle.json").read_text()
VISIT_ID = "22222222-2222-4222-8222-222222222222"


async def _map_aetna(factory: Any, tenant_id: uuid.UUID) -> None:
    async with tenant_session(factory, tenant_id) as session:
        await session.execute(update(Payer).where(Payer.code == "AETNA").values(ehr_payer_id="60054"))


async def _push(client: Any, key: str, format_: str, body: str) -> dict[str, Any]:
    answer = await gql(client, operation("ImportEhrMessages"), {"format": format_, "body": body}, key)
    assert "errors" not in answer, answer
    return answer["data"]["importEhrMessages"]  # type: ignore[no-any-return]


async def test_a_quarantined_bundle_is_listed_and_retried(app_client) -> None:  # type: ignore[no-untyped-def]
    factory = app_client.app_services.session_factory
    clinic = await make_clinic(factory)
    pushed = await _push(app_client, clinic.key, "FHIR", BUNDLE)
    assert {k: pushed[k] for k in ("read", "imported", "quarantined", "versions")} == {
        "read": 1,
        "imported": 0,
        "quarantined": 1,
        "versions": 0,
    }
    [message] = pushed["messages"]
    assert (message["status"], message["errorWhere"], message["errorWhy"]) == (
        "QUARANTINED",
        "Bundle.entry[1].resource(Organization).identifier[0].value",
        "the payer id is not mapped to any of the clinic's payers (savePayer ehrPayerId)",
    )
    worklist = await gql(app_client, operation("EhrMessages"), {"status": "QUARANTINED"}, clinic.key)
    assert [node["id"] for node in worklist["data"]["ehrMessages"]["nodes"]] == [message["id"]]

    await _map_aetna(factory, clinic.tenant_id)
    retried = await gql(app_client, operation("RetryEhrMessage"), {"id": message["id"]}, clinic.key)
    assert retried["data"]["retryEhrMessage"] == {
        "__typename": "EhrMessage",
        "id": message["id"],
        "status": "IMPORTED",
        "errorWhere": None,
        "errorWhy": None,
        "attempts": 2,
    }
    found = await gql(
        app_client,
        "query($x: String) { encounters(first: 5, filter: {externalId: $x}) { nodes { version } } }",
        {"x": VISIT_ID},
        clinic.key,
    )
    assert found["data"]["encounters"]["nodes"] == [{"version": 1}]
    again = await _push(app_client, clinic.key, "FHIR", BUNDLE)
    assert (again["already"], again["versions"], again["messages"]) == (1, 0, [])
    empty = await gql(app_client, operation("EhrMessages"), {"status": "QUARANTINED"}, clinic.key)
    assert empty["data"]["ehrMessages"]["nodes"] == []


async def test_a_batch_of_hl7_messages_in_one_push(app_client) -> None:  # type: ignore[no-untyped-def]
    factory = app_client.app_services.session_factory
    clinic = await make_clinic(factory)
    await _map_aetna(factory, clinic.tenant_id)
    batch = "\n".join((FIXTURES / f"visit_hl7v2_{name}.hl7").read_text() for name in ("adt_a04", "dft_p03", "mdm_t02"))
    pushed = await _push(app_client, clinic.key, "HL7V2", batch)
    assert [(m["status"], m["visitKeys"]) for m in pushed["messages"]] == [
        ("WAITING", ["V0001"]),
        ("IMPORTED", ["V0001"]),
        ("IMPORTED", ["V0001"]),
    ]
    assert pushed["versions"] == 2


async def test_an_empty_push_is_refused_and_a_costly_document_never_runs(app_client) -> None:  # type: ignore[no-untyped-def]
    clinic = await make_clinic(app_client.app_services.session_factory)
    empty = await _push(app_client, clinic.key, "FHIR", "  ")
    assert empty == {
        "__typename": "InvalidInput",
        "message": "the body is empty",
        "fields": [{"path": "body", "message": "the body is empty"}],
    }
    aliases = " ".join(f'p{n}: importEhrMessages(format: FHIR, body: "{{}}") {{ __typename }}' for n in range(4))
    costly = await gql(app_client, f"mutation {{ {aliases} }}", None, clinic.key)
    assert costly["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert "data" not in costly or costly["data"] is None


def _pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


CONNECTION = {
    "name": "Nextech",
    "baseUrl": "https://fhir.example.org/r4",
    "tokenUrl": "https://fhir.example.org/token",
    "clientId": "cutis",
    "scope": "system/Encounter.read",
    "keyId": "k1",
}


async def test_a_manager_saves_a_connection_whose_key_never_shows(app_client) -> None:  # type: ignore[no-untyped-def]
    clinic = await make_clinic(app_client.app_services.session_factory, roles=("practice_manager",))
    headers = await login(app_client, *clinic.people["practice_manager"])
    pem = _pem()
    saved = await as_person(app_client, operation("SaveEhrConnection"), {**CONNECTION, "privateKeyPem": pem}, headers)
    answer = saved["data"]["saveEhrConnection"]
    assert answer["__typename"] == "EhrConnection" and answer["name"] == "Nextech" and answer["pulledUntil"] is None
    listed = await as_person(app_client, operation("EhrConnections"), None, headers)
    assert [c["id"] for c in listed["data"]["ehrConnections"]] == [answer["id"]]
    assert "PRIVATE KEY" not in str(listed) and "PRIVATE KEY" not in str(saved)
    bad = await as_person(app_client, operation("SaveEhrConnection"), {**CONNECTION, "privateKeyPem": "x"}, headers)
    assert bad["data"]["saveEhrConnection"]["fields"] == [
        {"path": "privateKeyPem", "message": "a PEM private key (RSA or EC) without a passphrase"}
    ]
    by_key = await gql(app_client, operation("SaveEhrConnection"), {**CONNECTION, "privateKeyPem": pem}, clinic.key)
    assert by_key["data"]["saveEhrConnection"]["__typename"] == "Forbidden"  # a key integrates, never administers


MARKER = "Quixotically-Named-Patient"


async def test_no_phi_in_logs_errors_or_quarantine(app_client, caplog, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """PHI planted in the very fields that fail reaches neither the logs, nor the answer, nor the error."""
    import json
    import logging

    from server.cpu import InlineCpu
    from server.ehr.mllp import import_handler

    factory = app_client.app_services.session_factory
    clinic = await make_clinic(factory)
    await _map_aetna(factory, clinic.tenant_id)
    caplog.set_level(logging.DEBUG)
    bundle = json.loads(BUNDLE)
    bundle["entry"][0]["resource"]["identifier"][0]["value"] = MARKER  # the chart number
    bundle["entry"][4]["resource"]["period"]["start"] = MARKER  # a bad date that holds PHI
    dft = (FIXTURES / "visit_hl7v2_dft_p03.hl7").read_text().replace("D49.2^Neoplasm", f"{MARKER}^Neoplasm")
    answers = [
        await _push(app_client, clinic.key, "FHIR", json.dumps(bundle)),
        await _push(app_client, clinic.key, "HL7V2", dft.replace("DOE^JANE", f"{MARKER}^JANE")),
        await _push(app_client, clinic.key, "FHIR", "{" + MARKER),
    ]
    assert [a["quarantined"] for a in answers] == [1, 1, 1]

    async def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"crash while reading {MARKER}")

    monkeypatch.setattr("server.ehr.mllp.import_messages", explode)
    nak = await import_handler(factory, InlineCpu(), clinic.tenant_id)(dft.replace("\n", "\r"))
    assert "MSA|AR|MSG00002" in nak
    assert MARKER not in caplog.text
    assert MARKER not in str(answers) and MARKER not in nak
