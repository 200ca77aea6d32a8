"""The shared tables (people, sessions, reset tokens, clinics) through one narrow door.

On PostgreSQL the app role holds no privilege on `users`, `login_sessions`,
`password_reset_tokens` or `tenants`: each operation below is one SECURITY DEFINER function
(migration 0009) that does one thing by one key (an email, a token's digest, an id), so that no
statement the app can send lists people, sessions or clinics. Reads of people are limited to the
members of the transaction's clinic, except the login lookup by email. On SQLite (the embedded
mode, one process, no roles) each operation is the same ORM statement.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import exists, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenants.base import aware
from tenants.models import LoginSession, Membership, PasswordResetToken, Tenant, User
from tenants.scoping import session_tenant


@dataclass
class Account:
    """What signing in needs of a person; the login state fields are written back with `save_login_state`."""

    id: uuid.UUID
    email: str
    name: str
    password_hash: str
    totp_secret: str | None
    totp_enrolled_at: dt.datetime | None
    failed_logins: int
    locked_until: dt.datetime | None
    last_totp_step: int | None
    is_vendor_staff: bool
    disabled_at: dt.datetime | None


@dataclass(frozen=True)
class Member:
    """A person as their clinic may see them (no credential)."""

    id: uuid.UUID
    email: str
    name: str
    totp_enrolled_at: dt.datetime | None
    disabled_at: dt.datetime | None


@dataclass(frozen=True)
class LiveSession:
    id: uuid.UUID
    user_id: uuid.UUID
    csrf_token: str
    expires_at: dt.datetime
    ended_at: dt.datetime | None
    second_factor_at: dt.datetime | None


@dataclass(frozen=True)
class Clinic:
    id: uuid.UUID
    slug: str
    name: str


def _postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def _call(session: AsyncSession, function: str, **params: Any) -> Sequence[Any]:
    arguments = ", ".join(f":{name}" for name in params)
    return (await session.execute(text(f"SELECT * FROM {function}({arguments})"), params)).all()


def _account(user: User) -> Account:
    return Account(**{f.name: getattr(user, f.name) for f in fields(Account)})


def _member(user: User) -> Member:
    return Member(user.id, user.email, user.name, user.totp_enrolled_at, user.disabled_at)


# People


async def account_by_email(session: AsyncSession, email: str) -> Account | None:
    if _postgres(session):
        rows = await _call(session, "cutis_account_by_email", address=email)
        return Account(*rows[0]) if rows else None
    user = (await session.execute(select(User).where(User.email == email))).scalar_one_or_none()
    return _account(user) if user else None


async def create_account(
    session: AsyncSession,
    email: str,
    name: str,
    password_hash: str,
    *,
    vendor_staff: bool = False,
    totp_secret: str | None = None,
    totp_enrolled_at: dt.datetime | None = None,
) -> uuid.UUID:
    person = uuid.uuid4()
    if _postgres(session):
        await _call(
            session,
            "cutis_create_account",
            person=person,
            address=email,
            display_name=name,
            hash=password_hash,
            vendor_staff=vendor_staff,
            sealed_totp=totp_secret,
            enrolled_at=totp_enrolled_at,
        )
        return person
    session.add(
        User(
            id=person,
            email=email,
            name=name,
            password_hash=password_hash,
            is_vendor_staff=vendor_staff,
            totp_secret=totp_secret,
            totp_enrolled_at=totp_enrolled_at,
        )
    )
    await session.flush()
    return person


async def save_login_state(session: AsyncSession, account: Account) -> None:
    """Write back what a sign-in attempt changed: failures, lockout, the TOTP step, enrollment."""
    values = {
        "failed_logins": account.failed_logins,
        "locked_until": account.locked_until,
        "last_totp_step": account.last_totp_step,
        "totp_secret": account.totp_secret,
        "totp_enrolled_at": account.totp_enrolled_at,
    }
    if _postgres(session):
        await _call(
            session,
            "cutis_save_login_state",
            person=account.id,
            failures=values["failed_logins"],
            locked=values["locked_until"],
            step=values["last_totp_step"],
            sealed_totp=values["totp_secret"],
            enrolled_at=values["totp_enrolled_at"],
        )
        return
    await session.execute(update(User).where(User.id == account.id).values(**values))


async def members(session: AsyncSession, person: uuid.UUID | None = None) -> list[Member]:
    """The people of the session's clinic (pending ones included), or the one with that id."""
    if _postgres(session):
        return [Member(*row) for row in await _call(session, "cutis_members", person=person)]
    tenant = session_tenant(session.sync_session)
    statement = select(User).where(exists().where(Membership.user_id == User.id, Membership.tenant_id == tenant))
    if person is not None:
        statement = statement.where(User.id == person)
    return [_member(user) for user in (await session.execute(statement.order_by(User.email))).scalars()]


# Sessions


async def open_session(
    session: AsyncSession,
    token_sha256: str,
    csrf_token: str,
    person: uuid.UUID,
    expires_at: dt.datetime,
    second_factor_at: dt.datetime | None,
) -> None:
    if _postgres(session):
        await _call(
            session,
            "cutis_open_session",
            token_digest=token_sha256,
            csrf=csrf_token,
            person=person,
            expires=expires_at,
            second_factor=second_factor_at,
        )
        return
    session.add(
        LoginSession(
            token_sha256=token_sha256,
            csrf_token=csrf_token,
            user_id=person,
            expires_at=expires_at,
            second_factor_at=second_factor_at,
        )
    )
    await session.flush()


async def session_by_token(session: AsyncSession, token_sha256: str) -> tuple[LiveSession, Account] | None:
    if _postgres(session):
        rows = await _call(session, "cutis_session_by_token", token_digest=token_sha256)
        if not rows:
            return None
        width = len(fields(LiveSession))
        return LiveSession(*rows[0][:width]), Account(*rows[0][width:])
    found = (
        await session.execute(
            select(LoginSession, User)
            .join(User, User.id == LoginSession.user_id)
            .where(LoginSession.token_sha256 == token_sha256)
        )
    ).first()
    if found is None:
        return None
    login, user = found
    live = LiveSession(
        login.id, login.user_id, login.csrf_token, login.expires_at, login.ended_at, login.second_factor_at
    )
    return live, _account(user)


async def end_session(session: AsyncSession, token_sha256: str, now: dt.datetime) -> None:
    if _postgres(session):
        await _call(session, "cutis_end_session", token_digest=token_sha256, ended=now)
        return
    await session.execute(
        update(LoginSession)
        .where(LoginSession.token_sha256 == token_sha256, LoginSession.ended_at.is_(None))
        .values(ended_at=now)
    )


async def end_sessions(session: AsyncSession, person: uuid.UUID, now: dt.datetime) -> None:
    """End every live session of a person (lockout, password reset)."""
    if _postgres(session):
        await _call(session, "cutis_end_sessions", person=person, ended=now)
        return
    await session.execute(
        update(LoginSession).where(LoginSession.user_id == person, LoginSession.ended_at.is_(None)).values(ended_at=now)
    )


# Password resets


async def store_reset_token(
    session: AsyncSession, token_sha256: str, person: uuid.UUID, expires_at: dt.datetime
) -> None:
    if _postgres(session):
        await _call(session, "cutis_store_reset_token", token_digest=token_sha256, person=person, expires=expires_at)
        return
    session.add(PasswordResetToken(token_sha256=token_sha256, user_id=person, expires_at=expires_at))
    await session.flush()


async def reset_password(
    session: AsyncSession, token_sha256: str, password_hash: str, now: dt.datetime
) -> uuid.UUID | None:
    """Spend a live reset token: the new password, no lockout, every session ended; None if the token is not live."""
    if _postgres(session):
        rows = await _call(session, "cutis_reset_password", token_digest=token_sha256, hash=password_hash, moment=now)
        return rows[0][0] if rows and rows[0][0] is not None else None
    token = (
        await session.execute(select(PasswordResetToken).where(PasswordResetToken.token_sha256 == token_sha256))
    ).scalar_one_or_none()
    if token is None or token.used_at is not None or aware(token.expires_at) <= now:
        return None
    token.used_at = now
    await session.execute(
        update(User)
        .where(User.id == token.user_id)
        .values(password_hash=password_hash, failed_logins=0, locked_until=None)
    )
    await end_sessions(session, token.user_id, now)
    return token.user_id


# Clinics


async def clinics(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[Clinic]:
    if _postgres(session):
        return [Clinic(*row) for row in await _call(session, "cutis_clinics", ids=list(ids))]
    rows = (await session.execute(select(Tenant.id, Tenant.slug, Tenant.name).where(Tenant.id.in_(ids)))).all()
    return [Clinic(*row) for row in rows]


async def clinic_by_slug(session: AsyncSession, slug: str) -> Clinic | None:
    if _postgres(session):
        rows = await _call(session, "cutis_clinic_by_slug", wanted=slug)
        return Clinic(*rows[0]) if rows else None
    row = (await session.execute(select(Tenant.id, Tenant.slug, Tenant.name).where(Tenant.slug == slug))).first()
    return Clinic(*row) if row else None


async def create_clinic(session: AsyncSession, slug: str, name: str) -> uuid.UUID:
    clinic = uuid.uuid4()
    if _postgres(session):
        await _call(session, "cutis_create_clinic", clinic=clinic, wanted=slug, display_name=name)
        return clinic
    session.add(Tenant(id=clinic, slug=slug, name=name))
    await session.flush()
    return clinic
