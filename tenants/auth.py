"""People log in: password (Argon2id), lockout, TOTP for owners and reviewers, sessions, resets.

Messages never tell whether an email exists: every failure reads the same, and an unknown
email costs the same Argon2 verification as a wrong password. A person enrolls their own second
factor (never a clinic for them): the first login that needs one hands out a new secret after the
password is right and opens no session until a code from it comes back. A session remembers
whether it was opened with a second factor; roles that need one act only through such a session.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from tenants import accounts, totp
from tenants.accounts import Account, LiveSession
from tenants.base import aware, utcnow
from tenants.keys import Principal, digest
from tenants.lookups import Grant, memberships_of
from tenants.passwords import DUMMY_HASH, hash_password, verify_password
from tenants.roles import ROLE_PERMISSIONS, ROLES_REQUIRING_TOTP
from tenants.secrets import SecretBox

TOTP_PURPOSE = "users.totp_secret"

MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)
SESSION_LIFETIME = dt.timedelta(hours=12)
RESET_LIFETIME = dt.timedelta(hours=1)
LOGIN_FAILED = "The email or password is not right, or the account is locked for a while after repeated failures."
RESET_SENT = "If that email belongs to an account, a reset link is on its way."
ENROLL = (
    "Your role needs a second factor: add this key to your authenticator app, "
    "then log in again with the 6-digit code it shows."
)
INVITATION_NEEDS_SECOND_FACTOR = (
    "a clinic added you with a role that needs a second factor: add this key to your authenticator "
    "app and log in again with its code to accept"
)
ONBOARDING_MAY_ENROLL = (
    "to review rulebooks where a clinic lets onboarding staff, add this key to your authenticator app and log "
    "in again with its code"
)
SECOND_FACTOR_NEEDED = "your role needs a session opened with your second factor: log out and log in with your code"

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
    totp_enrollment_uri: str | None = None
    second_factor: bool = False


async def create_user(
    session: AsyncSession,
    email: str,
    name: str,
    password: str,
    *,
    vendor_staff: bool = False,
    totp_secret: str | None = None,
    box: SecretBox | None = None,
) -> uuid.UUID:
    """A new account's id; `totp_secret` (sealed with `box`) enrolls a second factor at once (tests, seeding)."""
    if totp_secret is not None and box is None:
        raise ValueError("a TOTP secret is stored sealed: give the box")
    return await accounts.create_account(
        session,
        normalise_email(email),
        name,
        hash_password(password),
        vendor_staff=vendor_staff,
        totp_secret=box.seal(totp_secret, TOTP_PURPOSE) if box and totp_secret else None,
        totp_enrolled_at=utcnow() if totp_secret else None,
    )


async def login(
    session: AsyncSession,
    email: str,
    password: str,
    totp_code: str | None = None,
    *,
    box: SecretBox,
    now: dt.datetime | None = None,
) -> LoginOutcome:
    """Check the credentials; a session only for a person with at least one clinic (fail closed)."""
    now = now or utcnow()
    user = await accounts.account_by_email(session, normalise_email(email))
    if user is None:
        verify_password(DUMMY_HASH, password)
        return LoginOutcome(False, LOGIN_FAILED)
    locked = user.locked_until is not None and aware(user.locked_until) > now
    if locked or user.disabled_at is not None or not verify_password(user.password_hash, password):
        if not locked:
            await _count_failure(session, user, now)
        return LoginOutcome(False, LOGIN_FAILED, user_id=user.id)
    grants = await memberships_of(session, user.id)
    if not grants:
        return LoginOutcome(False, LOGIN_FAILED, user_id=user.id)
    second_factor_at, offer, offered_because = None, None, ""
    if totp_code or _second_factor_required(user, grants):
        refused = await _check_second_factor(session, user, totp_code, box, now)
        if refused is not None:
            return refused
        second_factor_at = now
    elif any(g.role in ROLES_REQUIRING_TOTP for g in grants):
        # Another clinic's invitation needs a second factor: offered, not forced (it waits pending).
        offer, offered_because = await _enrollment_uri(session, user, box), INVITATION_NEEDS_SECOND_FACTOR
    elif any(g.role == "onboarding" and g.accepted for g in grants):
        # Onboarding staff review where a clinic lets them, with a fresh code: offered, not forced.
        offer, offered_because = await _enrollment_uri(session, user, box), ONBOARDING_MAY_ENROLL
    user.failed_logins = 0
    user.locked_until = None
    await accounts.save_login_state(session, user)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    await accounts.open_session(session, digest(token), csrf, user.id, now + SESSION_LIFETIME, second_factor_at)
    return LoginOutcome(
        True,
        "logged in" if offer is None else "logged in; " + offered_because,
        user_id=user.id,
        session_token=token,
        csrf_token=csrf,
        totp_enrollment_uri=offer,
        second_factor=second_factor_at is not None,
    )


def _second_factor_required(user: Account, grants: list[Grant]) -> bool:
    """Once enrolled, always; else when a clinic the person works in needs it, or when the only way
    in is an invitation whose role needs it. Another clinic's invitation alone never locks anyone out."""
    if user.totp_enrolled_at is not None:
        return True
    accepted = [g for g in grants if g.accepted]
    considered = accepted or grants
    return any(g.role in ROLES_REQUIRING_TOTP for g in considered)


async def _enrollment_uri(session: AsyncSession, user: Account, box: SecretBox) -> str:
    """A second-factor key in enrollment (made once, kept until confirmed by a first code)."""
    if user.totp_secret is None:
        user.totp_secret = box.seal(totp.new_secret(), TOTP_PURPOSE)
        await accounts.save_login_state(session, user)
    return totp.provisioning_uri(box.open(user.totp_secret, TOTP_PURPOSE), user.email)


async def _check_second_factor(
    session: AsyncSession, user: Account, totp_code: str | None, box: SecretBox, now: dt.datetime
) -> LoginOutcome | None:
    """None when the code is right; else the refusal. Enrolls on the way when none is confirmed yet."""
    enrolling = user.totp_enrolled_at is None
    uri = await _enrollment_uri(session, user, box) if enrolling else None
    assert user.totp_secret is not None
    secret = box.open(user.totp_secret, TOTP_PURPOSE)
    if not totp_code:
        message = ENROLL if enrolling else "Enter the 6-digit code from your authenticator app."
        return LoginOutcome(False, message, user_id=user.id, totp_required=True, totp_enrollment_uri=uri)
    step = totp.verify(secret, totp_code, now=now.timestamp(), last_used_step=user.last_totp_step)
    if step is None:
        await _count_failure(session, user, now)
        return LoginOutcome(
            False,
            "That code is not right or was already used.",
            user_id=user.id,
            totp_required=True,
            totp_enrollment_uri=uri,
        )
    user.last_totp_step = step
    if enrolling:
        user.totp_enrolled_at = now
    if SecretBox.needs_resealing(user.totp_secret):
        user.totp_secret = box.seal(secret, TOTP_PURPOSE)
    return None


STEP_UP_NEEDED = "this step asks for a fresh code from your authenticator app (`totpCode`)"
STEP_UP_WRONG = "that code is not right or was already used"
STEP_UP_NOT_ENROLLED = "this step needs a second factor: enroll one at your next login"


async def confirm_second_factor(
    session: AsyncSession, user_id: uuid.UUID | None, code: str | None, box: SecretBox, now: dt.datetime | None = None
) -> str | None:
    """None when `code` is a fresh, unused code of the person's authenticator; else why not.

    For the steps that ask for a code at that moment (approving and publishing a rulebook), beside
    the session's second factor. A wrong code counts toward the lockout, as at login; a code used
    once (here or at login) is never accepted again."""
    now = now or utcnow()
    if user_id is None:
        return "only a person can take this step, not an API key"
    if not code:
        return STEP_UP_NEEDED
    found = await accounts.members(session, user_id)
    account = await accounts.account_by_email(session, found[0].email) if found else None
    if account is None or account.totp_secret is None or account.totp_enrolled_at is None:
        return STEP_UP_NOT_ENROLLED
    secret = box.open(account.totp_secret, TOTP_PURPOSE)
    step = totp.verify(secret, code, now=now.timestamp(), last_used_step=account.last_totp_step)
    if step is None:
        await _count_failure(session, account, now)
        return STEP_UP_WRONG
    account.last_totp_step = step
    await accounts.save_login_state(session, account)
    return None


async def _count_failure(session: AsyncSession, user: Account, now: dt.datetime) -> None:
    user.failed_logins += 1
    if user.failed_logins >= MAX_FAILED_LOGINS:
        user.locked_until = now + LOCKOUT
        user.failed_logins = 0
        await accounts.end_sessions(session, user.id, now)
    await accounts.save_login_state(session, user)


async def session_user(
    session: AsyncSession, token: str, *, now: dt.datetime | None = None
) -> tuple[Account, LiveSession] | None:
    """The person and their session for a session cookie, while the session lives."""
    now = now or utcnow()
    found = await accounts.session_by_token(session, digest(token))
    if found is None:
        return None
    login_session, user = found
    if login_session.ended_at is not None or aware(login_session.expires_at) <= now or user.disabled_at:
        return None
    return user, login_session


async def logout(session: AsyncSession, token: str) -> None:
    await accounts.end_session(session, digest(token), utcnow())


class NoTenantChosen(Exception):
    """The person belongs to several clinics (or is onboarding staff) and named none."""


class NotGranted(Exception):
    """The named clinic is not one of the person's clinics."""


async def user_principal(
    session: AsyncSession, user: Account, login_session: LiveSession, requested_tenant: uuid.UUID | None
) -> Principal:
    """The principal for a person in one clinic: the one they named (X-Cutis-Tenant) or their only one.

    A role that needs a second factor grants nothing through a session opened without one (a person
    promoted since they logged in with a password alone must log in again with their code).
    """
    memberships = {g.tenant_id: g.role for g in await memberships_of(session, user.id) if g.accepted}
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
    if role in ROLES_REQUIRING_TOTP and login_session.second_factor_at is None:
        return Principal(tenant_id=tenant, user_id=user.id, role=role, second_factor_missing=True)
    return Principal(tenant_id=tenant, user_id=user.id, role=role, permissions=ROLE_PERMISSIONS[role])


async def issue_reset_token(session: AsyncSession, user_id: uuid.UUID, lifetime: dt.timedelta = RESET_LIFETIME) -> str:
    """A single-use, expiring token to choose a password with; only its digest is stored."""
    token = secrets.token_urlsafe(32)
    await accounts.store_reset_token(session, digest(token), user_id, utcnow() + lifetime)
    return token


async def request_password_reset(
    session: AsyncSession, email: str, send_mail: SendMail, reset_url: str
) -> tuple[str, Callable[[], Awaitable[None]] | None]:
    """The answer (the same whether the email is known or not) and, if it is, the mail to send
    once the token has committed (a rolled-back operation mails nothing)."""
    user = await accounts.account_by_email(session, normalise_email(email))
    if user is None or user.disabled_at is not None:
        return RESET_SENT, None
    token = await issue_reset_token(session, user.id)
    address = user.email

    async def send() -> None:
        await send_mail(
            address,
            "Reset your cutis password",
            f"Open this link within an hour to choose a new password:\n{reset_url}?token={token}\n"
            "If you did not ask for this, ignore this message.",
        )

    return RESET_SENT, send


class ResetRefused(Exception):
    pass


async def reset_password(session: AsyncSession, token: str, new_password: str) -> uuid.UUID:
    """Spend a reset token on a new password; ends every session of that person."""
    password_hash = hash_password(new_password)  # a weak password is refused before the token is spent
    person = await accounts.reset_password(session, digest(token), password_hash, utcnow())
    if person is None:
        raise ResetRefused("This reset link is not valid any more; ask for a new one.")
    return person
