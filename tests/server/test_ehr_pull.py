"""Pulling from a clinic's FHIR API over a real loopback socket: a simulated FHIR server that checks
the SMART backend-services assertion with the clinic's public key, answers an Encounter search by
date in two pages, and refuses a request without its token. The key is sealed at rest. A busy or
failing server is asked again after its Retry-After, and a token that expires mid-pull is renewed."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select, update

from server.cpu import InlineCpu
from server.db import tenant_session
from server.ehr import pull as pulling
from server.ehr.connections import ConnectionFields, save_connection
from server.ehr.pull import PullFailed, pull
from server.errors import InputInvalid
from server.models import EhrConnection, EhrMessage, EncounterRecord, Payer
from tenants.secrets import SecretBox
from tests.factories import make_clinic

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ehr"
BOX = SecretBox("a sealing key for the pull tests")
TOKEN = "token-for-cutis"


def _private_key() -> tuple[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return pem, key.public_key()


def _visit(number: int) -> list[dict[str, Any]]:
    """The fixture visit as a FHIR server holds it: ids and relative references, visit `number`."""
    bundle = json.loads((FIXTURES / "visit_fhir_bundle.json").read_text())
    text = json.dumps(bundle)
    for entry in bundle["entry"]:
        old = entry["fullUrl"]
        kind = entry["resource"]["resourceType"]
        text = text.replace(f'"{old}"', f'"{kind}/v{number}-{old[-4:]}"')
    resources = [entry["resource"] for entry in json.loads(text)["entry"]]
    for entry, resource in zip(bundle["entry"], resources, strict=True):
        resource["id"] = f"v{number}-{entry['fullUrl'][-4:]}"
        if resource["resourceType"] == "Encounter":
            resource["identifier"] = [{"system": "urn:example:visit", "value": f"PULLED-{number}"}]
    return resources


class FhirServer:
    """A FHIR server on 127.0.0.1: /token and /fhir/Encounter (two pages), recording what it was asked."""

    def __init__(self, public_key: Any) -> None:
        self.public_key = public_key
        self.searches: list[dict[str, list[str]]] = []
        self.assertions: list[dict[str, Any]] = []
        self.failures: list[tuple[int, dict[str, str]]] = []  # the next answers to GETs: (status, headers)
        self.token_failures: list[int] = []  # the next answers to token requests
        self.valid = {TOKEN}
        self.expires_in = 300
        self.expire_tokens_after_page: int | None = None  # every token given so far stops working then
        handler = self._handler()
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.base = f"http://127.0.0.1:{self.http.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                if server.token_failures:
                    self._answer(server.token_failures.pop(0), {"error": "temporarily_unavailable"})
                    return
                try:
                    claims = jwt.decode(
                        form["client_assertion"][0],
                        server.public_key,
                        algorithms=["RS384"],
                        audience=f"{server.base}/token",
                    )
                except (jwt.InvalidTokenError, KeyError):
                    self._answer(401, {"error": "invalid_client"})
                    return
                server.assertions.append({**claims, "scope": form["scope"][0], "grant": form["grant_type"][0]})
                token = TOKEN if len(server.assertions) == 1 else f"{TOKEN}-{len(server.assertions)}"
                server.valid.add(token)
                self._answer(200, {"access_token": token, "token_type": "bearer", "expires_in": server.expires_in})

            def do_GET(self) -> None:
                if server.failures:
                    status, headers = server.failures.pop(0)
                    self._answer(status, {"resourceType": "OperationOutcome"}, headers)
                    return
                if self.headers.get("Authorization", "").removeprefix("Bearer ") not in server.valid:
                    self._answer(401, {"resourceType": "OperationOutcome"})
                    return
                query = parse_qs(urlparse(self.path).query)
                server.searches.append(query)
                page = int(query.get("page", ["1"])[0])
                if page == server.expire_tokens_after_page:
                    server.valid.clear()
                entries = [
                    {"fullUrl": f"{server.base}/fhir/{r['resourceType']}/{r['id']}", "resource": r}
                    for r in _visit(page)
                ]
                links = [{"relation": "next", "url": f"{server.base}/fhir/Encounter?page=2"}] if page == 1 else []
                self._answer(200, {"resourceType": "Bundle", "type": "searchset", "link": links, "entry": entries})

        return Handler

    def __enter__(self) -> FhirServer:
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def keys() -> Iterator[tuple[str, Any]]:
    yield _private_key()


async def test_a_pull_follows_every_page_with_a_smart_token(session_factory, keys) -> None:  # type: ignore[no-untyped-def]
    pem, public = keys
    clinic = await make_clinic(session_factory)
    async with tenant_session(session_factory, clinic.tenant_id) as session:
        await session.execute(update(Payer).where(Payer.code == "AETNA").values(ehr_payer_id="60054"))
    with FhirServer(public) as fhir:
        fields = ConnectionFields(
            name="ModMed",
            base_url=f"{fhir.base}/fhir/",
            token_url=f"{fhir.base}/token",
            client_id="cutis-client",
            scope="system/Encounter.read system/Patient.read",
            private_key_pem=pem,
            key_id="key-1",
        )
        async with tenant_session(session_factory, clinic.tenant_id) as session:
            connection = await save_connection(session, BOX, clinic.tenant_id, fields)
            assert pem not in connection.private_key_sealed
            assert not SecretBox.needs_resealing(connection.private_key_sealed)  # sealed, not plain
            assert BOX.open(connection.private_key_sealed, "ehr_connections.private_key") == pem
            connection_id = connection.id
        shown: list[int] = []
        tally = await pull(
            session_factory,
            InlineCpu(),
            BOX,
            clinic.tenant_id,
            connection_id,
            dt.date(2025, 1, 1),
            dt.date(2025, 1, 31),
            progress=lambda done: shown.append(done.versions),
        )
        again = await pull(
            session_factory,
            InlineCpu(),
            BOX,
            clinic.tenant_id,
            connection_id,
            dt.date(2025, 1, 1),
            dt.date(2025, 1, 31),
        )
    assert (tally.read, tally.imported, tally.quarantined, tally.versions) == (2, 2, 0, 2)
    assert shown == [1, 1]  # one report per page
    assert (again.already, again.versions) == (2, 0)
    first = fhir.searches[0]
    assert first["date"] == ["ge2025-01-01", "le2025-01-31"]
    assert "Condition:encounter" in first["_revinclude"] and first["_include"] == [
        "Encounter:subject",
        "Encounter:participant",
    ]
    assert fhir.searches[1] == {"page": ["2"]}
    assert fhir.assertions[0]["iss"] == fhir.assertions[0]["sub"] == "cutis-client"
    assert fhir.assertions[0]["grant"] == "client_credentials"
    async with tenant_session(session_factory, clinic.tenant_id) as session:
        external_ids = (
            (await session.execute(select(EncounterRecord.external_id).order_by(EncounterRecord.external_id)))
            .scalars()
            .all()
        )
        stored = (await session.execute(select(EhrConnection))).scalar_one()
    assert external_ids == ["PULLED-1", "PULLED-2"]
    assert stored.pulled_until == dt.date(2025, 1, 31)


async def test_a_key_the_server_does_not_know_gets_no_token(session_factory, keys) -> None:  # type: ignore[no-untyped-def]
    pem, _ = keys
    _, someone_elses = _private_key()
    clinic = await make_clinic(session_factory)
    with FhirServer(someone_elses) as fhir:
        fields = ConnectionFields("Epic", f"{fhir.base}/fhir", f"{fhir.base}/token", "cutis", "system/*.read", pem)
        async with tenant_session(session_factory, clinic.tenant_id) as session:
            connection_id = (await save_connection(session, BOX, clinic.tenant_id, fields)).id
        with pytest.raises(PullFailed, match=r"^the token endpoint answered 401$"):
            await pull(
                session_factory,
                InlineCpu(),
                BOX,
                clinic.tenant_id,
                connection_id,
                dt.date(2025, 1, 1),
                dt.date(2025, 1, 2),
            )
    assert fhir.searches == []


@pytest.mark.parametrize(
    ("change", "path"),
    [
        pytest.param({"base_url": "ftp://fhir.example.org"}, "baseUrl", id="not an http URL"),
        pytest.param({"private_key_pem": "not a key"}, "privateKeyPem", id="not a PEM key"),
    ],
)
def test_a_connection_that_could_not_work_is_refused(change: dict[str, str], path: str, keys) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from server.ehr.connections import check_connection

    fields = ConnectionFields("x", "https://fhir.example.org", "https://fhir.example.org/token", "c", "s", keys[0])
    with pytest.raises(InputInvalid) as refused:
        check_connection(replace(fields, **change))
    assert refused.value.fields[0].path == path


async def _connect(session_factory: Any, fhir: FhirServer, pem: str) -> tuple[Any, Any]:
    clinic = await make_clinic(session_factory)
    async with tenant_session(session_factory, clinic.tenant_id) as session:
        await session.execute(update(Payer).where(Payer.code == "AETNA").values(ehr_payer_id="60054"))
        fields = ConnectionFields("EMA", f"{fhir.base}/fhir", f"{fhir.base}/token", "cutis", "system/*.read", pem)
        connection_id = (await save_connection(session, BOX, clinic.tenant_id, fields)).id
    return clinic, connection_id


async def _pull(session_factory: Any, clinic: Any, connection_id: Any) -> Any:
    return await pull(
        session_factory, InlineCpu(), BOX, clinic.tenant_id, connection_id, dt.date(2025, 1, 1), dt.date(2025, 1, 31)
    )


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The back-off waits the pull asked for (recorded, not slept)."""
    asked: list[float] = []

    async def record(seconds: float) -> None:
        asked.append(seconds)

    monkeypatch.setattr(pulling, "sleep", record)
    return asked


async def test_a_busy_server_is_asked_again_after_its_retry_after(session_factory, keys, waits) -> None:  # type: ignore[no-untyped-def]
    pem, public = keys
    with FhirServer(public) as fhir:
        clinic, connection_id = await _connect(session_factory, fhir, pem)
        fhir.token_failures = [500]
        fhir.failures = [(429, {"Retry-After": "3"}), (503, {}), (502, {"Retry-After": "120"})]
        tally = await _pull(session_factory, clinic, connection_id)
    assert (tally.imported, tally.quarantined, tally.versions) == (2, 0, 2)
    # the token: 1 s of back-off; page 1: its Retry-After, then 2 s (doubled), then at most 60 s
    assert waits == [1.0, 3.0, 2.0, 60.0]
    assert len(fhir.searches) == 2  # each page answered once in the end


async def test_a_server_that_stays_down_fails_the_pull_naming_the_step(session_factory, keys, waits) -> None:  # type: ignore[no-untyped-def]
    pem, public = keys
    with FhirServer(public) as fhir:
        clinic, connection_id = await _connect(session_factory, fhir, pem)
        fhir.failures = [(503, {})] * pulling.MAX_TRIES
        with pytest.raises(PullFailed, match=r"^page 1 of the Encounter search answered 503 5 times$"):
            await _pull(session_factory, clinic, connection_id)
    assert waits == [1.0, 2.0, 4.0, 8.0]
    async with tenant_session(session_factory, clinic.tenant_id) as session:
        assert (await session.execute(select(EncounterRecord))).first() is None


async def test_a_token_that_expires_mid_pull_is_renewed(session_factory, keys, waits) -> None:  # type: ignore[no-untyped-def]
    pem, public = keys
    with FhirServer(public) as fhir:
        clinic, connection_id = await _connect(session_factory, fhir, pem)
        fhir.expire_tokens_after_page = 1  # revoked early: page 2 is refused with 401 once
        tally = await _pull(session_factory, clinic, connection_id)
        assert (tally.imported, len(fhir.assertions), len(fhir.searches)) == (2, 2, 2)
        assert fhir.assertions[0]["jti"] != fhir.assertions[1]["jti"]

        fhir.expire_tokens_after_page, fhir.expires_in = None, 10  # shorter than the renewal margin
        fhir.assertions.clear()
        again = await _pull(session_factory, clinic, connection_id)
        assert (again.already, len(fhir.assertions)) == (2, 2)  # renewed before each page, no 401 needed
    assert waits == []


async def test_a_pull_reads_the_visits_with_the_vendors_profile(session_factory, keys) -> None:  # type: ignore[no-untyped-def]
    pem, public = keys
    with FhirServer(public) as fhir:
        clinic, connection_id = await _connect(session_factory, fhir, pem)
        tally = await pull(
            session_factory,
            InlineCpu(),
            BOX,
            clinic.tenant_id,
            connection_id,
            dt.date(2025, 1, 1),
            dt.date(2025, 1, 31),
            profile="epic",
        )
    assert tally.versions == 2
    async with tenant_session(session_factory, clinic.tenant_id) as session:
        records = (await session.execute(select(EncounterRecord).order_by(EncounterRecord.external_id))).scalars().all()
        profiles = set((await session.execute(select(EhrMessage.profile))).scalars())
    # Epic's visit is the Encounter's id (not its first identifier, PULLED-n) and the chart number the
    # MR-typed identifier, else the Patient's id
    assert [(r.external_id, r.payload["patient"]["id"]) for r in records] == [
        ("v1-2222", "v1-1111"),
        ("v2-2222", "v2-1111"),
    ]
    assert profiles == {"epic"}
