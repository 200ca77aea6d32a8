"""Pulling visits from a clinic's FHIR API: a SMART backend-services token, a search of Encounters
by date with what belongs to them, every page followed, each visit imported as its own bundle.

Each visit's bundle holds its Encounter, the resources that point at it, its patient, the
practitioners and coverages (with their payers) it names, and the patient's resources of no visit
(history), so a bad visit is quarantined alone and an unchanged visit pulled again adds nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.cpu import Cpu
from server.db import tenant_session
from server.ehr.connections import PURPOSE, get_connection
from server.ehr.imports import Incoming, Tally, import_stream
from server.jobs import JobQueue
from tenants.secrets import SecretBox

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SEARCH = {
    "_include": ["Encounter:subject", "Encounter:participant"],
    "_revinclude": [
        "Condition:encounter",
        "Procedure:encounter",
        "DocumentReference:encounter",
        "Observation:encounter",
        "MedicationRequest:encounter",
        "ChargeItem:context",
    ],
    "_revinclude:iterate": ["Coverage:beneficiary", "MedicationStatement:subject"],
    "_include:iterate": ["Coverage:payor"],
    "_count": "50",
}
MAX_PAGES = 10_000
TIMEOUT_SECONDS = 30.0


class PullFailed(Exception):
    """The FHIR API or its token endpoint refused or answered nonsense: the step and the status only."""


@dataclass(frozen=True)
class Source:
    base_url: str
    token_url: str
    client_id: str
    scope: str
    private_key_pem: str
    key_id: str | None


def client_assertion(source: Source, now: float | None = None) -> str:
    """The signed JWT that asks the token endpoint for an access token (SMART backend services)."""
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": source.client_id,
        "sub": source.client_id,
        "aud": source.token_url,
        "iat": issued,
        "exp": issued + 300,
        "jti": uuid.uuid4().hex,
    }
    algorithm = "ES384" if "EC PRIVATE KEY" in source.private_key_pem else "RS384"
    headers = {"kid": source.key_id} if source.key_id else None
    return jwt.encode(claims, source.private_key_pem, algorithm=algorithm, headers=headers)


async def access_token(client: httpx.AsyncClient, source: Source) -> str:
    response = await client.post(
        source.token_url,
        data={
            "grant_type": "client_credentials",
            "scope": source.scope,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": client_assertion(source),
        },
    )
    if response.status_code != 200:
        raise PullFailed(f"the token endpoint answered {response.status_code}")
    token = response.json().get("access_token")
    if not isinstance(token, str) or not token:
        raise PullFailed("the token endpoint gave no access_token")
    return token


async def pages(
    client: httpx.AsyncClient, source: Source, token: str, since: dt.date, until: dt.date
) -> AsyncIterator[dict[str, Any]]:
    """Every page of the Encounter search for visits dated from `since` to `until` (inclusive)."""
    url: str | None = f"{source.base_url}/Encounter"
    params: Any = {**SEARCH, "date": [f"ge{since.isoformat()}", f"le{until.isoformat()}"]}
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}
    for number in range(1, MAX_PAGES + 1):
        if url is None:
            return
        response = await client.get(url, params=params, headers=headers)
        if response.status_code != 200:
            raise PullFailed(f"page {number} of the Encounter search answered {response.status_code}")
        page = response.json()
        yield page
        url = next((link.get("url") for link in page.get("link") or [] if link.get("relation") == "next"), None)
        params = None  # the next link carries the search


def visit_bundles(page: dict[str, Any]) -> list[str]:
    """One collection bundle per Encounter of a search page, with what belongs to it."""
    resources = [entry["resource"] for entry in page.get("entry") or [] if isinstance(entry.get("resource"), dict)]
    by_ref = {f"{r.get('resourceType')}/{r.get('id')}": r for r in resources if r.get("id")}

    def ref(value: Any) -> str:
        return value.get("reference", "") if isinstance(value, dict) else ""

    def points_at(resource: dict[str, Any]) -> set[str]:
        found = {ref(resource.get("encounter")), ref(resource.get("context"))}
        found |= (
            {ref(value) for value in (resource.get("context") or {}).get("encounter") or []}
            if isinstance(resource.get("context"), dict)
            else set()
        )
        return found - {""}

    bundles = []
    for visit in (r for r in resources if r.get("resourceType") == "Encounter"):
        key = f"Encounter/{visit.get('id')}"
        patient = ref(visit.get("subject"))
        members = [visit]
        members += [r for r in resources if key in points_at(r)]
        members += [
            by_ref[p]
            for p in [patient, *(ref(x.get("individual")) for x in visit.get("participant") or [])]
            if p in by_ref
        ]
        coverages = [
            r for r in resources if r.get("resourceType") == "Coverage" and ref(r.get("beneficiary")) == patient
        ]
        members += coverages
        members += [
            by_ref[ref(payor)]
            for coverage in coverages
            for payor in coverage.get("payor") or []
            if ref(payor) in by_ref
        ]
        members += [
            r
            for r in resources
            if r.get("resourceType") not in ("Encounter", "Coverage")
            and ref(r.get("subject")) == patient
            and not points_at(r)
        ]
        unique = list({id(member): member for member in members}.values())
        entries = [{"fullUrl": f"{r['resourceType']}/{r['id']}", "resource": r} for r in unique if r.get("id")]
        bundles.append(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}, sort_keys=True))
    return bundles


async def pull(
    factory: async_sessionmaker[AsyncSession],
    cpu: Cpu,
    box: SecretBox,
    tenant_id: uuid.UUID,
    connection_id: uuid.UUID,
    since: dt.date,
    until: dt.date,
    progress: Callable[[Tally], None] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    queue: JobQueue | None = None,
) -> Tally:
    """Pull the visits dated since..until and import them; the connection remembers how far it got."""
    async with tenant_session(factory, tenant_id) as session:
        row = await get_connection(session, connection_id)
        source = Source(
            row.base_url, row.token_url, row.client_id, row.scope, box.open(row.private_key_sealed, PURPOSE), row.key_id
        )
    total = Tally()
    async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, transport=transport) as client:
        token = await access_token(client, source)
        async for page in pages(client, source, token, since, until):
            bundles = await cpu.run(visit_bundles, page)
            done = await import_stream(
                factory, cpu, tenant_id, "pull", [Incoming("fhir", b) for b in bundles], queue=queue
            )
            total.add(done)
            if progress is not None:
                progress(done)
    async with tenant_session(factory, tenant_id) as session:
        row = await get_connection(session, connection_id)
        row.pulled_until = max(until, row.pulled_until or until)
    return total
