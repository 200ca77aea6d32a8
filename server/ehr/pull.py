"""Pulling visits from a clinic's FHIR API: a SMART backend-services token, a search of Encounters
by date with what belongs to them, every page followed, each visit imported as its own bundle.

A busy or failing server is asked again: on 429 or a 5xx (and on a connection error) the request is
retried up to `MAX_TRIES` times, waiting what its Retry-After says (seconds or an HTTP date, at most
`MAX_WAIT_SECONDS`) or else an exponential back-off. A token that expires mid-pull is renewed: a
fresh one is asked for shortly before its `expires_in` runs out, and once more on a 401.

Each visit's bundle holds its Encounter, the resources that point at it, its patient, the
practitioners and coverages (with their payers) it names, and the patient's resources of no visit
(history), so a bad visit is quarantined alone and an unchanged visit pulled again adds nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
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
from server.ehr.profile import GENERIC
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
MAX_TRIES = 5
BACKOFF_SECONDS = 1.0  # the first wait without a Retry-After; doubled each try
MAX_WAIT_SECONDS = 60.0
RETRIED = frozenset({429, 500, 502, 503, 504})
RENEW_BEFORE_SECONDS = 30  # ask for a new token this long before the old one expires
sleep = asyncio.sleep  # tests record the waits instead


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


def retry_wait(response: httpx.Response | None, attempt: int, now: float | None = None) -> float:
    """How long to wait before try `attempt + 1`: the answer's Retry-After (seconds or an HTTP date),
    else `BACKOFF_SECONDS` doubled each try; never more than `MAX_WAIT_SECONDS`.

    >>> retry_wait(httpx.Response(429, headers={"Retry-After": "7"}), 1)
    7.0
    >>> retry_wait(httpx.Response(503), 3)
    4.0
    >>> retry_wait(httpx.Response(503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:10 GMT"}), 1, now=1445412480)
    10.0
    """
    header = response.headers.get("Retry-After", "").strip() if response is not None else ""
    wait = BACKOFF_SECONDS * 2 ** (attempt - 1)
    if header.isdigit():
        wait = float(header)
    elif header:
        try:
            when = email.utils.parsedate_to_datetime(header).timestamp()
        except (TypeError, ValueError):
            pass
        else:
            wait = max(0.0, when - (time.time() if now is None else now))
    return min(wait, MAX_WAIT_SECONDS)


async def _send(step: str, request: Callable[[], Any]) -> httpx.Response:
    """The request's answer, asked again (with waits) while the server is busy or failing."""
    for attempt in range(1, MAX_TRIES + 1):
        response: httpx.Response | None
        try:
            response = await request()
        except httpx.TransportError:
            response = None
        if response is not None and response.status_code not in RETRIED:
            return response
        if attempt == MAX_TRIES:
            answered = f"answered {response.status_code}" if response is not None else "could not be reached"
            raise PullFailed(f"{step} {answered} {MAX_TRIES} times")
        await sleep(retry_wait(response, attempt))
    raise AssertionError("unreachable")


class Token:
    """The access token of a pull, asked for again before it expires or when the server refuses it."""

    def __init__(self, client: httpx.AsyncClient, source: Source) -> None:
        self.client, self.source = client, source
        self.value: str | None = None
        self.expires_at = 0.0
        self.asked = 0

    async def get(self, *, renew: bool = False) -> str:
        if renew or self.value is None or time.monotonic() >= self.expires_at - RENEW_BEFORE_SECONDS:
            self.value, expires_in = await access_token(self.client, self.source)
            self.expires_at = time.monotonic() + expires_in
            self.asked += 1
        return self.value


async def access_token(client: httpx.AsyncClient, source: Source) -> tuple[str, float]:
    """An access token and how many seconds it lasts (an hour when the answer does not say)."""

    def ask() -> Any:
        data = {
            "grant_type": "client_credentials",
            "scope": source.scope,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": client_assertion(source),  # a fresh assertion (jti) each try
        }
        return client.post(source.token_url, data=data)

    response = await _send("the token endpoint", ask)
    if response.status_code != 200:
        raise PullFailed(f"the token endpoint answered {response.status_code}")
    answer = response.json()
    token = answer.get("access_token")
    if not isinstance(token, str) or not token:
        raise PullFailed("the token endpoint gave no access_token")
    expires_in = answer.get("expires_in")
    return token, float(expires_in) if isinstance(expires_in, int | float) and expires_in > 0 else 3600.0


async def pages(
    client: httpx.AsyncClient, source: Source, token: Token, since: dt.date, until: dt.date
) -> AsyncIterator[dict[str, Any]]:
    """Every page of the Encounter search for visits dated from `since` to `until` (inclusive)."""
    url: str | None = f"{source.base_url}/Encounter"
    params: Any = {**SEARCH, "date": [f"ge{since.isoformat()}", f"le{until.isoformat()}"]}
    for number in range(1, MAX_PAGES + 1):
        if url is None:
            return
        step, here = f"page {number} of the Encounter search", url
        renewed = False
        while True:
            headers = {"Authorization": f"Bearer {await token.get()}", "Accept": "application/fhir+json"}
            response = await _send(step, lambda: client.get(here, params=params, headers=headers))  # noqa: B023
            if response.status_code != 401 or renewed:
                break
            await token.get(renew=True)  # expired early, or revoked: one new token, then the answer stands
            renewed = True
        if response.status_code != 200:
            raise PullFailed(f"{step} answered {response.status_code}")
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
    profile: str = GENERIC,
) -> Tally:
    """Pull the visits dated since..until and import them, read with the EHR vendor's `profile`; the
    connection remembers how far it got."""
    async with tenant_session(factory, tenant_id) as session:
        row = await get_connection(session, connection_id)
        source = Source(
            row.base_url, row.token_url, row.client_id, row.scope, box.open(row.private_key_sealed, PURPOSE), row.key_id
        )
    total = Tally()
    async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, transport=transport) as client:
        token = Token(client, source)
        async for page in pages(client, source, token, since, until):
            bundles = await cpu.run(visit_bundles, page)
            done = await import_stream(
                factory, cpu, tenant_id, "pull", [Incoming("fhir", b, profile) for b in bundles], queue=queue
            )
            total.add(done)
            if progress is not None:
                progress(done)
    async with tenant_session(factory, tenant_id) as session:
        row = await get_connection(session, connection_id)
        row.pulled_until = max(until, row.pulled_until or until)
    return total
