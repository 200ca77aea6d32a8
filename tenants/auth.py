"""People log in: password (Argon2id), lockout, TOTP for owners and reviewers, sessions, resets.

Messages never tell whether an email exists: every failure reads the same, and an unknown
email costs the same Argon2 verification as a wrong password.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenants import totp
from tenants.base import utcnow
from tenants.keys import Principal, digest
from tenants.lookups import memberships_of
from tenants.models import LoginSession, PasswordResetToken, User
from tenants.passwords import DUMMY_HASH, hash_password, verify_password
from tenants.roles import ROLE_PERMISSIONS, ROLES_REQUIRING_TOTP

MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)
SESSION_LIFETIME = dt.timedelta(hours=12)
RESET_LIFETIME = dt.timedelta(hours=1)
LOGIN_FAILED = "The email or password is not right, or the account is locked for a while after repeated failures."
RESET_SENT = "If that email belongs to an account, a reset link is on its way."

SendMail = Callable[[str, str, str], Awaitable[None]]



def normalise_email(email: str) -> str:
    return email.strip().lower()


@dataclass(frozen=True)
class LoginOutcome:
    ok: bool
    message: str
    user_id: uuid.UUID | None = None
    session_token: str | None = None
    csrf_token: str | None = None
    totp_required: bool = False


async def create_user(
    session: AsyncSession, email: str, name: str, password: str, *, vendor_staff: bool = False, with_totp: bool = False
) -> User:
    user = User(
        email=normalise_email(email),
        name=name,
        password_hash=hash_password(password),
        is_vendor_staff=vendor_staff,
        totp_secret=totp.new_secret() if with_totp else None,
    )
    session.add(user)
    await session.flush()
    return user


async def login(
    session: AsyncSession, email: str, password: str, totp_code: str | None = None, *, now: dt.datetime | None = None
) -> LoginOutcome:
    now = now or utcnow()
    user = (await session.execute(select(User).where(User.email == normalise_email(email)))).scalar_one_or_none()
    if user is None:
        verify_password(DUMMY_HASH, password)
        return LoginOutcome(False, LOGIN_FAILED)
    locked = user.locked_until is not None and _aware(user.locked_until) > now
    if locked or user.disabled_at is not None or not verify_password(user.password_hash, password):
        if not locked:
            await _count_failure(session, user, now)
        return LoginOutcome(False, LOGIN_FAILED, user_id=user.id)
    roles = {role for _, role in await memberships_of(session, user.id)}
    if roles & ROLES_REQUIRING_TOTP:
        if user.totp_secret is None:
            return LoginOutcome(
                False,
                "Your role needs a second factor, and none is enrolled: ask an owner to enroll one for you.",
                user_id=user.id,
            )
        if not totp_code:
            return LoginOutcome(
                False, "Enter the 6-digit code from your authenticator app.", user_id=user.id, totp_required=True
            )
        step = totp.verify(user.totp_secret, totp_code, now=now.timestamp(), last_used_step=user.last_totp_step)
        if step is None:
            await _count_failure(session, user, now)
            return LoginOutcome(
                False, "That code is not right or was already used.", user_id=user.id, totp_required=True
            )
        user.last_totp_step = step
    user.failed_logins = 0
    user.locked_until = None
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    session.add(
        LoginSession(token_sha256=digest(token), csrf_token=csrf, user_id=user.id, expires_at=now + SESSION_LIFETIME)
    )
    await session.flush()
    return LoginOutcome(True, "logged in", user_id=user.id, session_token=token, csrf_token=csrf)


async def _count_failure(session: AsyncSession, user: User, now: dt.datetime) -> None:
    user.failed_logins += 1
    if user.failed_logins >= MAX_FAILED_LOGINS:
        user.locked_until = now + LOCKOUT
        user.failed_logins = 0
    await session.flush()


async def session_user(
    session: AsyncSession, token: str, *, now: dt.datetime | None = None
) -> tuple[User, LoginSession] | None:
    now = now or utcnow()
    found = (
        await session.execute(
            select(LoginSession, User)
            .join(User, User.id == LoginSession.user_id)
            .where(LoginSession.token_sha256 == digest(token))
        )
    ).first()
    if found is None:
        return None
    login_session, user = found
    if login_session.ended_at is not None or _aware(login_session.expires_at) <= now or user.disabled_at:
        return None
    return user, login_session


async def logout(session: AsyncSession, token: str) -> None:
    await session.execute(
        update(LoginSession).where(LoginSession.token_sha256 == digest(token)).values(ended_at=utcnow())
    )


class NoTenantChosen(Exception):
    """The person belongs to several clinics (or is onboarding staff) and named none."""


class NotGranted(Exception):
    """The named clinic is not one of the person's clinics."""


async def user_principal(session: AsyncSession, user: User, requested_tenant: uuid.UUID | None) -> Principal:
    """The principal for a person in one clinic: the one they named (X-Cutis-Tenant) or their only one."""
    memberships = dict(await memberships_of(session, user.id))
    if requested_tenant is not None:
        if requested_tenant not in memberships:
            raise NotGranted("no grant for that clinic")
        tenant = requested_tenant
    else:
        candidates = [t for t, role in memberships.items() if role != "onboarding"]
        if len(candidates) != 1 or len(memberships) != 1:
            raise NoTenantChosen("choose a clinic with the X-Cutis-Tenant header")
        tenant = candidates[0]
    role = memberships[tenant]
    return Principal(tenant_id=tenant, user_id=user.id, role=role, permissions=ROLE_PERMISSIONS[role])


async def request_password_reset(session: AsyncSession, email: str, send_mail: SendMail, reset_url: str) -> str:
    """Mail a single-use, expiring reset link if the email is known; the answer is the same either way."""
    user = (await session.execute(select(User).where(User.email == normalise_email(email)))).scalar_one_or_none()
    if user is not None and user.disabled_at is None:
        token = secrets.token_urlsafe(32)
        session.add(
            PasswordResetToken(token_sha256=digest(token), user_id=user.id, expires_at=utcnow() + RESET_LIFETIME)
        )
        await session.flush()
        await send_mail(
            user.email,
            "Reset your cutis password",
            f"Open this link within an hour to choose a new password:\n{reset_url}?token={token}\n"
            "If you did not ask for this, ignore this message.",
        )
    return RESET_SENT


class ResetRefused(Exception):
    pass


async def reset_password(session: AsyncSession, token: str, new_password: str) -> uuid.UUID:
    now = utcnow()
    found = (
        await session.execute(select(PasswordResetToken).where(PasswordResetToken.token_sha256 == digest(token)))
    ).scalar_one_or_none()
    if found is None or found.used_at is not None or _aware(found.expires_at) <= now:
        raise ResetRefused("This reset link is not valid any more; ask for a new one.")
    user = await session.get(User, found.user_id)
    assert user is not None
    user.password_hash = hash_password(new_password)
    user.failed_logins = 0
    user.locked_until = None
    found.used_at = now
    await session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user.id, LoginSession.ended_at.is_(None))
        .values(ended_at=now)
    )
    await session.flush()
    return user.id


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
