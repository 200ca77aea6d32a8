"""Administration used by the CLI: clinics, people, keys (the GraphQL API has its own resolvers)."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db import global_session, tenant_session
from tenants import auth as people
from tenants import totp
from tenants.audit import record
from tenants.keys import issue_api_key
from tenants.models import Membership, Tenant, User
from tenants.roles import ROLES_REQUIRING_TOTP, parse_scopes


async def create_tenant(factory: async_sessionmaker[AsyncSession], slug: str, name: str) -> uuid.UUID:
    async with global_session(factory) as session:
        if (await session.execute(select(Tenant.id).where(Tenant.slug == slug))).first():
            raise ValueError(f"a clinic with slug {slug!r} exists")
        tenant = Tenant(slug=slug, name=name)
        session.add(tenant)
        await session.flush()
        return tenant.id


async def tenant_id_by_slug(factory: async_sessionmaker[AsyncSession], slug: str) -> uuid.UUID:
    async with global_session(factory) as session:
        tenant_id = (await session.execute(select(Tenant.id).where(Tenant.slug == slug))).scalar_one_or_none()
    if tenant_id is None:
        raise ValueError(f"no clinic with slug {slug!r}")
    return tenant_id


@dataclass(frozen=True)
class AddedUser:
    user_id: uuid.UUID
    generated_password: str | None
    totp_uri: str | None


async def add_user(
    factory: async_sessionmaker[AsyncSession],
    tenant_slug: str,
    email: str,
    name: str,
    role: str,
    password: str | None = None,
) -> AddedUser:
    tenant_id = await tenant_id_by_slug(factory, tenant_slug)
    generated = None
    async with tenant_session(factory, tenant_id) as session:
        user = (
            await session.execute(select(User).where(User.email == people.normalise_email(email)))
        ).scalar_one_or_none()
        if user is None:
            if password is None:
                generated = password = secrets.token_urlsafe(18)
            user = await people.create_user(session, email, name, password)
        if (await session.execute(select(Membership.id).where(Membership.user_id == user.id))).first():
            raise ValueError(f"{email} is already in {tenant_slug}")
        uri = None
        if role in ROLES_REQUIRING_TOTP and user.totp_secret is None:
            user.totp_secret = totp.new_secret()
            uri = totp.provisioning_uri(user.totp_secret, user.email)
        session.add(Membership(tenant_id=tenant_id, user_id=user.id, role=role))
        record(session, tenant_id, "user.add", "admin", object_type="User", object_ids=[user.id], detail=role)
        return AddedUser(user.id, generated, uri)


async def create_key(
    factory: async_sessionmaker[AsyncSession],
    tenant_slug: str,
    name: str,
    scopes: list[str],
    expires_in_days: int | None,
) -> str:
    tenant_id = await tenant_id_by_slug(factory, tenant_slug)
    stored = parse_scopes(scopes)
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=expires_in_days) if expires_in_days else None
    async with tenant_session(factory, tenant_id) as session:
        issued = await issue_api_key(session, tenant_id, name, expires, stored)
        record(session, tenant_id, "key.create", "admin", object_type="ApiKey", object_ids=[issued.key.id])
        return issued.plaintext
