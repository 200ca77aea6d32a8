"""People and API keys of the caller's clinic (owners; onboarding staff may manage keys)."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Annotated

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from server.api.common import Forbidden, InvalidInput, Node, NotFoundError, allowed, context, require
from server.api.ids import from_global_id, to_global_id
from tenants import auth as people
from tenants import totp
from tenants.keys import issue_api_key
from tenants.models import ROLES, ApiKey, Membership, User
from tenants.roles import ROLES_REQUIRING_TOTP, Permission, parse_scopes


@strawberry.type
class ClinicUser(Node):
    email: str
    name: str
    role: str
    second_factor_enrolled: bool


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
        description="For roles that need a second factor: hand it to the person out of band, once."
    )


@strawberry.type
class Removed:
    id: strawberry.ID


AddUserResult = Annotated[UserAdded | InvalidInput | Forbidden, strawberry.union("AddUserResult")]
CreateKeyResult = Annotated[CreatedApiKey | InvalidInput | Forbidden, strawberry.union("CreateApiKeyResult")]
RevokeKeyResult = Annotated[ApiKeyInfo | NotFoundError | Forbidden, strawberry.union("RevokeApiKeyResult")]
ChangeRoleResult = Annotated[
    ClinicUser | NotFoundError | InvalidInput | Forbidden, strawberry.union("ChangeRoleResult")
]
RemoveUserResult = Annotated[Removed | NotFoundError | Forbidden, strawberry.union("RemoveUserResult")]


def _user(user: User, role: str) -> ClinicUser:
    return ClinicUser(
        id=strawberry.ID(to_global_id("User", user.id)),
        email=user.email,
        name=user.name,
        role=role,
        second_factor_enrolled=user.totp_secret is not None,
    )


@strawberry.type
class AdminQueries:
    @strawberry.field(description="People of your clinic and their roles.")
    async def users(self, info: Info) -> list[ClinicUser]:
        ctx = context(info)
        require(info, Permission.USERS_ADMIN)
        async with ctx.lock:
            rows = (
                await (await ctx.session()).execute(
                    select(User, Membership.role).join(Membership, Membership.user_id == User.id).order_by(User.email)
                )
            ).all()
        return [_user(user, role) for user, role in rows]

    @strawberry.field(description="Your clinic's API keys (never their secrets).")
    async def api_keys(self, info: Info) -> list[ApiKeyInfo]:
        ctx = context(info)
        require(info, Permission.KEYS_ADMIN)
        async with ctx.lock:
            rows = (await (await ctx.session()).execute(select(ApiKey).order_by(ApiKey.created_at))).scalars().all()
        return [ApiKeyInfo.from_row(row) for row in rows]


@strawberry.type
class AdminMutations:
    @strawberry.mutation(description="Add a person to your clinic with a role; a new person gets a set-password mail.")
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
            user = (
                await session.execute(select(User).where(User.email == people.normalise_email(email)))
            ).scalar_one_or_none()
            invited = user is None
            if user is None:
                user = await people.create_user(session, email, name, secrets.token_urlsafe(24))
            existing = (
                await session.execute(select(Membership).where(Membership.user_id == user.id))
            ).scalar_one_or_none()
            if existing is not None:
                return InvalidInput.single("email", "this person is already in your clinic")
            uri = None
            if role in ROLES_REQUIRING_TOTP and user.totp_secret is None:
                user.totp_secret = totp.new_secret()
                uri = totp.provisioning_uri(user.totp_secret, user.email)
            session.add(Membership(tenant_id=principal.tenant_id, user_id=user.id, role=role))
            if invited:
                await people.request_password_reset(
                    session, user.email, ctx.services.mailer.send, ctx.services.settings.public_url + "/reset"
                )
            else:
                await ctx.services.mailer.send(
                    user.email, "You were added to a clinic on cutis", "Log in with your existing password to see it."
                )
            await session.flush()
            await ctx.audit("user.add", "admin", object_type="User", object_ids=[user.id], detail=role)
        # Always "sent": whether the person already had an account elsewhere is not this clinic's business.
        return UserAdded(user=_user(user, role), invitation_sent=True, totp_provisioning_uri=uri)

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
            found = (
                (
                    await session.execute(
                        select(Membership, User)
                        .join(User, User.id == Membership.user_id)
                        .where(Membership.user_id == user_id)
                    )
                ).first()
                if user_id
                else None
            )
            if found is None:
                return NotFoundError(message="no such person in your clinic")
            membership, user = found
            membership.role = role
            await ctx.audit("user.role", "admin", object_type="User", object_ids=[user.id], detail=role)
        return _user(user, role)

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
