"""People and API keys of the caller's clinic (owners; onboarding staff may manage keys)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry
from strawberry.types import Info

from server import people
from server.api.common import (
    Forbidden,
    InvalidInput,
    Node,
    NotFoundError,
    RolledBack,
    allowed,
    context,
    refused,
    require,
)
from server.api.ids import from_global_id, to_global_id
from server.errors import InputInvalid, NotFound
from server.jobs import OutboxRef
from tenants.accounts import Member
from tenants.models import ApiKey, Membership
from tenants.roles import Permission


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
            rows = await people.clinic_people(await ctx.session())
        return [_user(user, membership) for user, membership in rows]

    @strawberry.field(description="Your clinic's API keys (never their secrets).")
    async def api_keys(self, info: Info) -> list[ApiKeyInfo]:
        ctx = context(info)
        require(info, Permission.KEYS_ADMIN)
        async with ctx.lock:
            rows = await people.list_api_keys(await ctx.session())
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
        async with ctx.lock:
            try:
                invited = await people.invite_member(await ctx.session(), principal.tenant_id, email, name, role)
            except InputInvalid as error:
                return refused(error)
            ctx.relay_after_commit.append(OutboxRef(invited.outbox_id, principal.tenant_id))
            await ctx.audit("user.add", "admin", object_type="User", object_ids=[invited.user_id], detail=role)
        user = ClinicUser(
            id=strawberry.ID(to_global_id("User", invited.user_id)),
            email=invited.email,
            name=name,
            role=role,
            second_factor_enrolled=False,
            pending=True,
        )
        return UserAdded(user=user, invitation_sent=True, totp_provisioning_uri=None)

    @strawberry.mutation(description="Change a person's role in your clinic.")
    async def change_user_role(self, info: Info, id: strawberry.ID, role: str) -> ChangeRoleResult:
        ctx = context(info)
        principal = allowed(info, Permission.USERS_ADMIN)
        if isinstance(principal, Forbidden):
            return principal
        async with ctx.lock:
            try:
                user, membership = await people.change_role(await ctx.session(), from_global_id(str(id), "User"), role)
            except (InputInvalid, NotFound) as error:
                return refused(error)
            await ctx.audit("user.role", "admin", object_type="User", object_ids=[user.id], detail=role)
        return _user(user, membership)

    @strawberry.mutation(description="Remove a person from your clinic (their account stays for other clinics).")
    async def remove_user(self, info: Info, id: strawberry.ID) -> RemoveUserResult:
        ctx = context(info)
        principal = allowed(info, Permission.USERS_ADMIN)
        if isinstance(principal, Forbidden):
            return principal
        async with ctx.lock:
            try:
                user_id = await people.remove_member(await ctx.session(), from_global_id(str(id), "User"))
            except NotFound as error:
                return refused(error)
            await ctx.audit("user.remove", "admin", object_type="User", object_ids=[user_id])
        return Removed(id=id)

    @strawberry.mutation(description="Create an API key; its secret is returned once.")
    async def create_api_key(
        self, info: Info, name: str, scopes: list[str] | None = None, expires_at: dt.datetime | None = None
    ) -> CreateKeyResult:
        ctx = context(info)
        principal = allowed(info, Permission.KEYS_ADMIN)
        if isinstance(principal, Forbidden):
            return principal
        async with ctx.lock:
            try:
                issued = await people.create_api_key(await ctx.session(), principal.tenant_id, name, scopes, expires_at)
            except InputInvalid as error:
                return refused(error)
            await ctx.audit("key.create", "admin", object_type="ApiKey", object_ids=[issued.key.id])
        return CreatedApiKey(key=ApiKeyInfo.from_row(issued.key), secret=issued.plaintext)

    @strawberry.mutation(description="Revoke an API key at once.")
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> RevokeKeyResult:
        ctx = context(info)
        principal = allowed(info, Permission.KEYS_ADMIN)
        if isinstance(principal, Forbidden):
            return principal
        async with ctx.lock:
            try:
                key = await people.revoke_api_key(await ctx.session(), from_global_id(str(id), "ApiKey"))
            except NotFound as error:
                return refused(error)
            ctx.services.key_cache.evict_key(key.id)
            await ctx.audit("key.revoke", "admin", object_type="ApiKey", object_ids=[key.id])
        return ApiKeyInfo.from_row(key)
