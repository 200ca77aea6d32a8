"""People of a clinic: adding a person (the API's addUser and the CLI's `cutis user add`), the
invitation mail, and accepting invitations at login.

Adding someone reveals nothing about an account they may already have: the clinic sees the name it
typed, the reply is the same as for a new email, no credential of the account is set or handed out,
and the person's other clinics are untouched. The membership is pending (it grants nothing) until the
person logs in; a role that needs a second factor is then enrolled by the person at that login.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db import tenant_session
from server.models import OutboxMessage
from tenants import accounts, auth
from tenants.accounts import Member
from tenants.base import utcnow
from tenants.lookups import memberships_of
from tenants.models import Membership
from tenants.roles import ROLES_REQUIRING_TOTP

MAIL_INVITATION_JOB = "mail.invitation"
INVITATION_LIFETIME = auth.RESET_LIFETIME * 72  # three days to choose a password


async def clinic_people(session: AsyncSession, person: uuid.UUID | None = None) -> list[tuple[Member, Membership]]:
    """The people of the session's clinic with their memberships (or the one person), by email."""
    statement = select(Membership)
    if person is not None:
        statement = statement.where(Membership.user_id == person)
    memberships = {m.user_id: m for m in (await session.execute(statement)).scalars()}
    if not memberships:
        return []
    return [(member, memberships[member.id]) for member in await accounts.members(session, person)]


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
