"""The clinic's FHIR connections: where to pull from and how to get a token (SMART backend services).

The private key is sealed at rest with the server's sealing key (`Settings.secret_box`, the purpose
string binds it to this column) and opened only to sign a token request; no answer shows it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import urlparse

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import get_by_id
from server.errors import InputInvalid
from server.models import EhrConnection
from tenants.base import utcnow
from tenants.secrets import SecretBox

PURPOSE = "ehr_connections.private_key"
NO_SUCH_CONNECTION = "no EHR connection with that id"


@dataclass(frozen=True)
class ConnectionFields:
    """What a clinic says about one FHIR API it lets cutis read."""

    name: str
    base_url: str
    token_url: str
    client_id: str
    scope: str
    private_key_pem: str
    key_id: str | None = None


def check_connection(fields: ConnectionFields) -> None:
    """Refuse what could not work: URLs that are not http(s), a key that is not a PEM private key."""
    for path, url in (("baseUrl", fields.base_url), ("tokenUrl", fields.token_url)):
        parsed = urlparse(url)
        if parsed.scheme not in ("https", "http") or not parsed.netloc:
            raise InputInvalid.at(path, "an http(s) URL such as https://fhir.example.org/r4")
    try:
        load_pem_private_key(fields.private_key_pem.encode(), password=None)
    except (ValueError, TypeError):
        raise InputInvalid.at("privateKeyPem", "a PEM private key (RSA or EC) without a passphrase") from None


async def save_connection(
    session: AsyncSession, box: SecretBox, tenant_id: uuid.UUID, fields: ConnectionFields
) -> EhrConnection:
    """Add the connection, or replace the one with the same name (its key sealed anew)."""
    check_connection(fields)
    row = (await session.execute(select(EhrConnection).where(EhrConnection.name == fields.name))).scalar_one_or_none()
    if row is None:
        row = EhrConnection(id=uuid.uuid4(), tenant_id=tenant_id, name=fields.name)
        session.add(row)
    row.base_url, row.token_url = fields.base_url.rstrip("/"), fields.token_url
    row.client_id, row.scope, row.key_id = fields.client_id, fields.scope, fields.key_id
    row.private_key_sealed = box.seal(fields.private_key_pem, PURPOSE)
    row.updated_at = utcnow()
    await session.flush()
    return row


async def list_connections(session: AsyncSession) -> list[EhrConnection]:
    return list((await session.execute(select(EhrConnection).order_by(EhrConnection.name))).scalars().all())


async def get_connection(session: AsyncSession, connection_id: uuid.UUID | None) -> EhrConnection:
    return await get_by_id(session, EhrConnection, connection_id, NO_SUCH_CONNECTION)


async def connection_by_name(session: AsyncSession, name: str) -> EhrConnection | None:
    return (await session.execute(select(EhrConnection).where(EhrConnection.name == name))).scalar_one_or_none()
