"""People and API keys of the caller's clinic (owners; onboarding staff may manage keys)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from server.api.common import Forbidden, InvalidInput, Node, NotFoundError, RolledBack, allowed, context, require
from server.api.ids import from_global_id, to_global_id
from server.jobs import OutboxRef
from server.people import AlreadyMember, add_member, clinic_people, invitation_outbox
from tenants.accounts import Member
from tenants.auth import normalise_email
from tenants.keys import issue_api_key
from tenants.models import ROLES, ApiKey, Membership
from tenants.roles import Permission, parse_scopes


@strawberry.type
class ClinicUser(Node):
    email: str
    name: str = strawberry.field(description="While pending, the name your clinic typed when adding them.")
    role: str
    second_factor_enrolled: bool = strawberry.field(description="Always false while pending.")
    pending: bool = strawberry.field(description="Added, and not logged in since: the role grants nothing yet.")


@strawberry.type
class ApiKeyInfo(Node):
    name: str
    prefix: str
    scopes: list[str]
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None

    @classmethod
    def from_row(cls, key: ApiKey) -> ApiKeyInfo:
        return cls(
            id=strawberry.ID(to_global_id("ApiKey", key.id)),
            name=key.name,
            prefix=key.prefix,
            scopes=key.scopes.split(),
            created_at=key.created_at,
            expires_at=key.expires_at,
            revoked_at=key.revoked_at,
            last_used_at=key.last_used_at,
        )


@strawberry.type(description="The new key: its secret is shown this once and never again.")
class CreatedApiKey:
    key: ApiKeyInfo
    secret: str


@strawberry.type
class UserAdded:
    user: ClinicUser
    invitation_sent: bool
    totp_provisioning_uri: str | None = strawberry.field(
        description="Always null: a person enrolls their own second factor when they log in.",
        deprecation_reason="People enroll their own second factor at login (LoginResult.totpEnrollmentUri).",
    )


@strawberry.type
class Removed:
    id: strawberry.ID


AddUserResult = Annotated[UserAdded | InvalidInput | Forbidden | RolledBack, strawberry.union("AddUserResult")]
CreateKeyResult = Annotated[
    CreatedApiKey | InvalidInput | Forbidden | RolledBack, strawberry.union("CreateApiKeyResult")
]
RevokeKeyResult = Annotated[ApiKeyInfo | NotFoundError | Forbidden | RolledBack, strawberry.union("RevokeApiKeyResult")]
ChangeRoleResult = Annotated[
    ClinicUser | NotFoundError | InvalidInput | Forbidden | RolledBack, strawberry.union("ChangeRoleResult")
]
RemoveUserResult = Annotated[Removed | NotFoundError | Forbidden | RolledBack, strawberry.union("RemoveUserResult")]


def _user(user: Member, membership: Membership) -> ClinicUser:
    """A person as their clinic sees them: a pending member shows only what the clinic typed."""
    pending = membership.accepted_at is None
    return ClinicUser(
        id=strawberry.ID(to_global_id("User", user.id)),
        email=user.email,
        name=membership.invited_name or user.name if pending else user.name,
        role=membership.role,
        second_factor_enrolled=not pending and user.totp_enrolled_at is not None,
        pending=pending,
    )


@strawberry.type
class AdminQueries:
    @strawberry.field(description="People of your clinic and their roles.")
    async def users(self, info: Info) -> list[ClinicUser]:
        ctx = context(info)
        require(info, Permission.USERS_ADMIN)
        async with ctx.lock:
            rows = await clinic_people(await ctx.session())
        return [_user(user, membership) for user, membership in rows]

    @strawberry.field(description="Your clinic's API keys (never their secrets).")
    async def api_keys(self, info: Info) -> list[ApiKeyInfo]:
        ctx = context(info)
        require(info, Permission.KEYS_ADMIN)
        async with ctx.lock:
            rows = (await (await ctx.session()).execute(select(ApiKey).order_by(ApiKey.created_at))).scalars().all()
        return [ApiKeyInfo.from_row(row) for row in rows]


@strawberry.type
class AdminMutations:
    @strawberry.mutation(
        description="Add a person to your clinic with a role. They are mailed a link; the membership "
        "is pending until they log in (roles that need a second factor enroll one then). The reply is "
        "the same whether or not the email already has an account."
    )
    async def add_user(self, info: Info, email: str, name: str, role: str) -> AddUserResult:
        ctx = context(info)
        principal = allowed(info, Permission.USERS_ADMIN)
        if isinstance(principal, Forbidden):
            return principal
        if role not in ROLES:
            return InvalidInput.single("role", f"unknown role; one of {', '.join(ROLES)}")
        if "@" not in email or len(email) > 320:
            return InvalidInput.single("email", "not an email address")
        async with ctx.lock:
            session = await ctx.session()
            try:
                added = await add_member(session, principal.tenant_id, email, name, role)
            except AlreadyMember as error:
                return InvalidInput.single("email", str(error))
            message = invitation_outbox(principal.tenant_id, added.membership_id)
            session.add(message)
            await session.flush()
            ctx.relay_after_commit.append(OutboxRef(message.id, principal.tenant_id))
            await ctx.audit("user.add", "admin", object_type="User", object_ids=[added.user_id], detail=role)
        invited = ClinicUser(
            id=strawberry.ID(to_global_id("User", added.user_id)),
            email=normalise_email(email),
            name=name,
            role=role,
            second_factor_enrolled=False,
            pending=True,
        )
        return UserAdded(user=invited, invitation_sent=True, totp_provisioning_uri=None)

    @strawberry.mutation(description="Change a person's role in your clinic.")
    async def change_user_role(self, info: Info, id: strawberry.ID, role: str) -> ChangeRoleResult:
        ctx = context(info)
        principal = allowed(info, Permission.USERS_ADMIN)
        if isinstance(principal, Forbidden):
            return principal
        if role not in ROLES:
            return InvalidInput.single("role", f"unknown role; one of {', '.join(ROLES)}")
        user_id = from_global_id(str(id), "User")
        async with ctx.lock:
            session = await ctx.session()
            found = await clinic_people(session, user_id) if user_id else []
            if not found:
                return NotFoundError(message="no such person in your clinic")
            ((user, membership),) = found
            membership.role = role
            await ctx.audit("user.role", "admin", object_type="User", object_ids=[user.id], detail=role)
        return _user(user, membership)

    @strawberry.mutation(description="Remove a person from your clinic (their account stays for other clinics).")
    async def remove_user(self, info: Info, id: strawberry.ID) -> RemoveUserResult:
        ctx = context(info)
        principal = allowed(info, Permission.USERS_ADMIN)
        if isinstance(principal, Forbidden):
            return principal
        user_id = from_global_id(str(id), "User")
        async with ctx.lock:
            session = await ctx.session()
            membership = (
                (await session.execute(select(Membership).where(Membership.user_id == user_id))).scalar_one_or_none()
                if user_id
                else None
            )
            if membership is None:
                return NotFoundError(message="no such person in your clinic")
            await session.delete(membership)
            await ctx.audit("user.remove", "admin", object_type="User", object_ids=[membership.user_id])
        return Removed(id=id)

    @strawberry.mutation(description="Create an API key; its secret is returned once.")
    async def create_api_key(
        self, info: Info, name: str, scopes: list[str] | None = None, expires_at: dt.datetime | None = None
    ) -> CreateKeyResult:
        ctx = context(info)
        principal = allowed(info, Permission.KEYS_ADMIN)
        if isinstance(principal, Forbidden):
            return principal
        try:
            stored_scopes = parse_scopes(scopes or ["*"])
        except ValueError as error:
            return InvalidInput.single("scopes", str(error))
        if expires_at is not None and expires_at.tzinfo is None:
            return InvalidInput.single("expiresAt", "give a time zone (for example 2027-01-01T00:00:00Z)")
        async with ctx.lock:
            issued = await issue_api_key(await ctx.session(), principal.tenant_id, name, expires_at, stored_scopes)
            await ctx.audit("key.create", "admin", object_type="ApiKey", object_ids=[issued.key.id])
        return CreatedApiKey(key=ApiKeyInfo.from_row(issued.key), secret=issued.plaintext)

    @strawberry.mutation(description="Revoke an API key at once.")
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> RevokeKeyResult:
        ctx = context(info)
        principal = allowed(info, Permission.KEYS_ADMIN)
        if isinstance(principal, Forbidden):
            return principal
        key_id = from_global_id(str(id), "ApiKey")
        async with ctx.lock:
            session = await ctx.session()
            key = (
                (await session.execute(select(ApiKey).where(ApiKey.id == key_id))).scalar_one_or_none()
                if key_id
                else None
            )
            if key is None:
                return NotFoundError(message="no such API key in your clinic")
            if key.revoked_at is None:
                key.revoked_at = dt.datetime.now(dt.UTC)
            ctx.services.key_cache.evict_key(key.id)
            await ctx.audit("key.revoke", "admin", object_type="ApiKey", object_ids=[key.id])
        return ApiKeyInfo.from_row(key)
