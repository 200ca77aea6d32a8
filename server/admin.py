"""Administration used by the CLI: clinics, people, keys (the GraphQL API has its own resolvers)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db import global_session, tenant_session
from server.errors import InputInvalid
from server.people import (
    AddedMember,
    AlreadyMember,
    add_member,
    clinic_people,
    create_api_key,
    list_api_keys,
    remove_member,
    revoke_api_key,
)
from tenants import accounts
from tenants.accounts import Member
from tenants.audit import record
from tenants.auth import normalise_email
from tenants.base import utcnow
from tenants.models import ApiKey, Membership, Tenant


async def create_tenant(factory: async_sessionmaker[AsyncSession], slug: str, name: str) -> uuid.UUID:
    async with global_session(factory) as session:
        if await accounts.clinic_by_slug(session, slug):
            raise ValueError(f"a clinic with slug {slug!r} exists")
        return await accounts.create_clinic(session, slug, name)


async def tenant_id_by_slug(factory: async_sessionmaker[AsyncSession], slug: str) -> uuid.UUID:
    async with global_session(factory) as session:
        clinic = await accounts.clinic_by_slug(session, slug)
    if clinic is None:
        raise ValueError(f"no clinic with slug {slug!r}")
    return clinic.id


async def add_user(
    factory: async_sessionmaker[AsyncSession],
    tenant_slug: str,
    email: str,
    name: str,
    role: str,
    password: str | None = None,
) -> AddedMember:
    """The CLI's `cutis user add`: the same rules as the API's addUser (nothing of an existing
    account is read, set or shown; the person enrolls a second factor at their first login)."""
    tenant_id = await tenant_id_by_slug(factory, tenant_slug)
    async with tenant_session(factory, tenant_id) as session:
        try:
            added = await add_member(session, tenant_id, email, name, role, password)
        except AlreadyMember:
            raise ValueError(f"{email} is already in {tenant_slug}") from None
        record(session, tenant_id, "user.add", "admin", object_type="User", object_ids=[added.user_id], detail=role)
        return added


async def create_key(
    factory: async_sessionmaker[AsyncSession],
    tenant_slug: str,
    name: str,
    scopes: list[str],
    expires_in_days: int | None,
) -> str:
    """The CLI's `cutis key create`: the API's createApiKey rules (scopes a key may hold)."""
    tenant_id = await tenant_id_by_slug(factory, tenant_slug)
    expires = utcnow() + dt.timedelta(days=expires_in_days) if expires_in_days else None
    async with tenant_session(factory, tenant_id) as session:
        try:
            issued = await create_api_key(session, tenant_id, name, scopes, expires)
        except InputInvalid as error:
            raise ValueError("; ".join(f.message for f in error.fields) or error.message) from None
        record(session, tenant_id, "key.create", "admin", object_type="ApiKey", object_ids=[issued.key.id])
        return issued.plaintext


async def list_tenants(factory: async_sessionmaker[AsyncSession]) -> list[Tenant]:
    """Every clinic, by slug (the CLI's `cutis tenant list`)."""
    async with global_session(factory) as session:
        return list((await session.execute(select(Tenant).order_by(Tenant.slug))).scalars())


async def list_people(factory: async_sessionmaker[AsyncSession], tenant_slug: str) -> list[tuple[Member, Membership]]:
    """The clinic's people with their roles, by email (the CLI's `cutis user list`)."""
    tenant_id = await tenant_id_by_slug(factory, tenant_slug)
    async with tenant_session(factory, tenant_id) as session:
        return await clinic_people(session)


async def remove_person(factory: async_sessionmaker[AsyncSession], tenant_slug: str, email: str) -> None:
    """The CLI's `cutis user remove`: the person leaves the clinic (the API's removeUser rules:
    their account stays for their other clinics)."""
    tenant_id = await tenant_id_by_slug(factory, tenant_slug)
    async with tenant_session(factory, tenant_id) as session:
        found = [member for member, _ in await clinic_people(session) if member.email == normalise_email(email)]
        if not found:
            raise ValueError(f"{email} is not in {tenant_slug}")
        removed = await remove_member(session, found[0].id)
        record(session, tenant_id, "user.remove", "admin", object_type="User", object_ids=[removed])


async def list_keys(factory: async_sessionmaker[AsyncSession], tenant_slug: str) -> list[ApiKey]:
    """The clinic's API keys, oldest first (the CLI's `cutis key list`; digests only, never a secret)."""
    tenant_id = await tenant_id_by_slug(factory, tenant_slug)
    async with tenant_session(factory, tenant_id) as session:
        return await list_api_keys(session)


async def revoke_key(factory: async_sessionmaker[AsyncSession], tenant_slug: str, prefix: str) -> ApiKey:
    """The CLI's `cutis key revoke`: the key named by its prefix (the part `key list` shows) stops
    working now; revoking a revoked key keeps its first revocation time."""
    tenant_id = await tenant_id_by_slug(factory, tenant_slug)
    async with tenant_session(factory, tenant_id) as session:
        found = [key for key in await list_api_keys(session) if key.prefix == prefix]
        if not found:
            raise ValueError(f"no API key with prefix {prefix!r} in {tenant_slug} (see `cutis key list`)")
        key = await revoke_api_key(session, found[0].id)
        record(session, tenant_id, "key.revoke", "admin", object_type="ApiKey", object_ids=[key.id])
        return key
