"""People and API keys of a clinic: adding a person (the API's addUser and the CLI's `cutis user add`),
roles, removal, the invitation mail, accepting invitations at login, the caller's own identity, and
the clinic's API keys.

Adding someone reveals nothing about an account they may already have: the clinic sees the name it
typed, the reply is the same as for a new email, no credential of the account is set or handed out,
and the person's other clinics are untouched. The membership is pending (it grants nothing) until the
person logs in; a role that needs a second factor is then enrolled by the person at that login.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db import get_by_id, tenant_session
from server.errors import InputInvalid, NotFound
from server.models import OutboxMessage
from tenants import accounts, audit, auth
from tenants.accounts import Account, Member
from tenants.base import utcnow
from tenants.keys import IssuedKey, issue_api_key
from tenants.lookups import accepted_memberships_of, memberships_of
from tenants.models import ROLES, ApiKey, Membership
from tenants.passwords import WeakPassword
from tenants.roles import ROLES_REQUIRING_TOTP, parse_scopes

MAIL_INVITATION_JOB = "mail.invitation"
INVITATION_LIFETIME = auth.RESET_LIFETIME * 72  # three days to choose a password
MAX_EMAIL_CHARS = 320
NO_SUCH_PERSON = "no such person in your clinic"
NO_SUCH_KEY = "no such API key in your clinic"


async def clinic_people(session: AsyncSession, person: uuid.UUID | None = None) -> list[tuple[Member, Membership]]:
    """The people of the session's clinic with their memberships (or the one person), by email."""
    statement = select(Membership)
    if person is not None:
        statement = statement.where(Membership.user_id == person)
    memberships = {m.user_id: m for m in (await session.execute(statement)).scalars()}
    if not memberships:
        return []
    return [(member, memberships[member.id]) for member in await accounts.members(session, person)]


async def get_person(session: AsyncSession, person: uuid.UUID | None) -> tuple[Member, Membership]:
    """One person of the session's clinic with their membership (`None`: an id that names nobody)."""
    found = await clinic_people(session, person) if person is not None else []
    if not found:
        raise NotFound(NO_SUCH_PERSON)
    return found[0]


def check_role(role: str) -> None:
    if role not in ROLES:
        raise InputInvalid.at("role", f"unknown role; one of {', '.join(ROLES)}")


class AlreadyMember(Exception):
    """The person is already in this clinic (nothing about other clinics is implied)."""


@dataclass(frozen=True)
class AddedMember:
    user_id: uuid.UUID
    membership_id: uuid.UUID
    generated_password: str | None  # only for an account this call created without a password


async def add_member(
    session: AsyncSession, tenant_id: uuid.UUID, email: str, name: str, role: str, password: str | None = None
) -> AddedMember:
    """Add a person to the session's clinic as a pending member; creates the account if the email is new."""
    address = auth.normalise_email(email)
    account = await accounts.account_by_email(session, address)
    generated = None
    if account is None:
        if password is None:
            generated = password = secrets.token_urlsafe(18)
        person = await auth.create_user(session, address, name, password)
    elif (await session.execute(select(Membership.id).where(Membership.user_id == account.id))).first():
        raise AlreadyMember("this person is already in your clinic")
    else:
        person = account.id
    membership = Membership(tenant_id=tenant_id, user_id=person, role=role, invited_name=name, accepted_at=None)
    session.add(membership)
    await session.flush()
    return AddedMember(person, membership.id, generated)


def invitation_outbox(tenant_id: uuid.UUID, membership_id: uuid.UUID) -> OutboxMessage:
    """The invitation mail leaves through the outbox: only once the addition has committed."""
    return OutboxMessage(tenant_id=tenant_id, job=MAIL_INVITATION_JOB, subject_id=membership_id)


@dataclass(frozen=True)
class Invited:
    """A pending member and the outbox row of their invitation mail (relayed after commit)."""

    user_id: uuid.UUID
    email: str
    outbox_id: uuid.UUID


async def invite_member(session: AsyncSession, tenant_id: uuid.UUID, email: str, name: str, role: str) -> Invited:
    """The API's addUser: a pending member and their invitation in the outbox, in the caller's transaction."""
    check_role(role)
    if "@" not in email or len(email) > MAX_EMAIL_CHARS:
        raise InputInvalid.at("email", "not an email address")
    try:
        added = await add_member(session, tenant_id, email, name, role)
    except AlreadyMember as error:
        raise InputInvalid.at("email", str(error)) from None
    message = invitation_outbox(tenant_id, added.membership_id)
    session.add(message)
    await session.flush()
    return Invited(user_id=added.user_id, email=auth.normalise_email(email), outbox_id=message.id)


async def change_role(session: AsyncSession, person: uuid.UUID | None, role: str) -> tuple[Member, Membership]:
    """Give a person of the clinic another role (effective at their next request)."""
    check_role(role)
    member, membership = await get_person(session, person)
    membership.role = role
    return member, membership


async def remove_member(session: AsyncSession, person: uuid.UUID | None) -> uuid.UUID:
    """Take a person out of the clinic; their account stays for their other clinics."""
    statement = select(Membership).where(Membership.user_id == person)
    membership = (await session.execute(statement)).scalar_one_or_none() if person is not None else None
    if membership is None:
        raise NotFound(NO_SUCH_PERSON)
    await session.delete(membership)
    return membership.user_id


@dataclass(frozen=True)
class Outgoing:
    """What jobs that send mail need."""

    mailer: Any
    public_url: str


async def send_invitation(session: AsyncSession, membership_id: uuid.UUID, outgoing: Outgoing | None) -> None:
    """One mail for a new and an existing account alike: log in, or choose a password with the link."""
    if outgoing is None:
        raise RuntimeError("this worker has no mailer")
    membership = await session.get(Membership, membership_id)
    if membership is None:
        raise LookupError("membership of the invitation is gone")
    people = await accounts.members(session, membership.user_id)
    clinics = await accounts.clinics(session, [membership.tenant_id])
    if not people or not clinics or people[0].disabled_at is not None:
        return
    user, clinic = people[0], clinics[0]
    token = await auth.issue_reset_token(session, user.id, INVITATION_LIFETIME)
    await outgoing.mailer.send(
        user.email,
        f"You were added to {clinic.name} on cutis",
        f"{clinic.name} added you on cutis. Log in with your password to accept, or choose a password "
        f"with this link (valid three days):\n{outgoing.public_url}/reset?token={token}\n"
        "If you do not know this clinic, ignore this message: nothing changes until you log in.",
    )


async def accept_invitations(
    factory: async_sessionmaker[AsyncSession], user_id: uuid.UUID, *, second_factor: bool
) -> list[uuid.UUID]:
    """A person who logged in accepts the clinics that added them, each in its own tenant transaction;
    a role that needs a second factor only through a login that gave one."""
    async with factory() as session, session.begin():
        pending = [
            g.tenant_id
            for g in await memberships_of(session, user_id)
            if not g.accepted and (second_factor or g.role not in ROLES_REQUIRING_TOTP)
        ]
    for tenant_id in pending:
        async with tenant_session(factory, tenant_id) as session:
            await session.execute(
                update(Membership)
                .where(Membership.user_id == user_id, Membership.accepted_at.is_(None))
                .values(accepted_at=utcnow())
            )
    return pending


@dataclass(frozen=True)
class Identity:
    """The person behind a browser session, and the clinics that grant them something."""

    account: Account | None
    clinics: list[tuple[uuid.UUID, str, str]]  # (tenant id, clinic name, role)


async def identify(session: AsyncSession, login_token: str, person: uuid.UUID) -> Identity:
    """Who a session cookie belongs to (no account once the session has ended) and their clinics."""
    found = await auth.session_user(session, login_token)
    grants = await accepted_memberships_of(session, person)
    names = {clinic.id: clinic.name for clinic in await accounts.clinics(session, [t for t, _ in grants])}
    return Identity(
        account=found[0] if found else None,
        clinics=[(tenant, names.get(tenant, ""), role) for tenant, role in grants],
    )


async def choose_password(session: AsyncSession, token: str, new_password: str) -> uuid.UUID:
    """Spend a reset token on a new password; the person whose password it was."""
    try:
        return await auth.reset_password(session, token, new_password)
    except auth.ResetRefused as error:
        raise InputInvalid.at("token", str(error)) from None
    except WeakPassword as error:
        raise InputInvalid.at("newPassword", str(error)) from None


async def record_auth_event(
    factory: async_sessionmaker[AsyncSession],
    person: uuid.UUID,
    action: str,
    outcome: str,
    remote_addr: str | None,
) -> None:
    """An auth event goes to every clinic the person belongs to, each in its own tenant transaction
    (run after the operation commits: a refused login still commits its failure count)."""
    async with factory() as session, session.begin():
        tenants = [tenant for tenant, _ in await accepted_memberships_of(session, person)]
    for tenant_id in tenants:
        async with tenant_session(factory, tenant_id) as session:
            audit.record(
                session,
                tenant_id,
                action,
                "auth",
                user_id=person,
                object_type="User",
                object_ids=[person],
                remote_addr=remote_addr,
                outcome=outcome,
            )


async def list_api_keys(session: AsyncSession) -> list[ApiKey]:
    """The clinic's API keys, oldest first (rows hold the secret's digest only)."""
    return list((await session.execute(select(ApiKey).order_by(ApiKey.created_at))).scalars().all())


async def get_api_key(session: AsyncSession, key_id: uuid.UUID | None) -> ApiKey:
    return await get_by_id(session, ApiKey, key_id, NO_SUCH_KEY)


async def create_api_key(
    session: AsyncSession, tenant_id: uuid.UUID, name: str, scopes: list[str] | None, expires_at: dt.datetime | None
) -> IssuedKey:
    """A new key with its secret (shown once); all permissions of a key when no scope is named."""
    try:
        stored_scopes = parse_scopes(scopes or ["*"])
    except ValueError as error:
        raise InputInvalid.at("scopes", str(error)) from None
    if expires_at is not None and expires_at.tzinfo is None:
        raise InputInvalid.at("expiresAt", "give a time zone (for example 2027-01-01T00:00:00Z)")
    return await issue_api_key(session, tenant_id, name, expires_at, stored_scopes)


async def revoke_api_key(session: AsyncSession, key_id: uuid.UUID | None) -> ApiKey:
    """Revoke a key now (a revoked key stays revoked at its first revocation time)."""
    key = await get_api_key(session, key_id)
    if key.revoked_at is None:
        key.revoked_at = dt.datetime.now(dt.UTC)
    return key
