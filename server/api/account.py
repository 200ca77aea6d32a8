"""Log in and out, who am I, password reset. The only operations that need no principal."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any

import strawberry
from strawberry.types import Info

from server import people
from server.api.common import InvalidInput, context, refused
from server.api.identity import SESSION_COOKIE
from server.api.ids import to_global_id
from server.errors import InputInvalid
from tenants import auth
from tenants.accounts import Account

CSRF_COOKIE = "cutis_csrf"


@strawberry.type
class ClinicMembership:
    tenant_id: strawberry.ID
    tenant_name: str
    role: str


@strawberry.type
class Me:
    user_id: strawberry.ID | None
    email: str | None
    name: str | None
    memberships: list[ClinicMembership]
    current_tenant_id: strawberry.ID | None
    role: str | None
    permissions: list[str]
    api_key_id: strawberry.ID | None
    second_factor_needed: bool = strawberry.field(
        description="Your role in this clinic needs a session opened with your second factor: log in again."
    )


@strawberry.type
class LoginResult:
    ok: bool
    message: str
    totp_required: bool
    csrf_token: str | None
    totp_enrollment_uri: str | None = strawberry.field(
        description="Your role needs a second factor and none is enrolled: add this otpauth:// key to an "
        "authenticator app and log in again with its code. Given only after the password was right."
    )


@strawberry.type
class ResetRequested:
    message: str


@strawberry.type
class PasswordChanged:
    message: str


async def _audit_auth(info: Info, user_id: uuid.UUID | None, action: str, outcome: str) -> None:
    """Auth events are recorded after the operation commits (a refused login still commits its failure count)."""
    if user_id is None:
        return
    ctx = context(info)
    ctx.after_commit.append(
        partial(people.record_auth_event, ctx.services.session_factory, user_id, action, outcome, ctx.remote_addr)
    )


def _set_cookies(info: Info, token: str, csrf: str) -> None:
    response: Any = context(info).response
    secure = bool(context(info).services.settings.cookie_secure)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        secure=secure,
        samesite="strict",
        path="/",
        max_age=int(auth.SESSION_LIFETIME.total_seconds()),
    )
    # Readable by the page so that it can echo it in X-CSRF-Token (double submit).
    response.set_cookie(
        CSRF_COOKIE,
        csrf,
        httponly=False,
        secure=secure,
        samesite="strict",
        path="/",
        max_age=int(auth.SESSION_LIFETIME.total_seconds()),
    )


@strawberry.type
class AccountQueries:
    @strawberry.field(description="The caller: person or API key, clinics, current clinic and permissions.")
    async def me(self, info: Info) -> Me:
        ctx = context(info)
        principal = ctx.principal
        user: Account | None = None
        memberships: list[ClinicMembership] = []
        if ctx.user_id is not None and ctx.login_token is not None:
            async with ctx.lock:
                identity = await people.identify(await ctx.session(), ctx.login_token, ctx.user_id)
            user = identity.account
            memberships = [
                ClinicMembership(tenant_id=strawberry.ID(to_global_id("Tenant", t)), tenant_name=name, role=role)
                for t, name, role in identity.clinics
            ]
        if user is None and principal is None:
            ctx.require_principal()
        return Me(
            user_id=strawberry.ID(to_global_id("User", user.id)) if user else None,
            email=user.email if user else None,
            name=user.name if user else None,
            memberships=memberships,
            current_tenant_id=strawberry.ID(to_global_id("Tenant", principal.tenant_id)) if principal else None,
            role=principal.role if principal else None,
            permissions=sorted(p.value for p in principal.permissions) if principal else [],
            api_key_id=strawberry.ID(to_global_id("ApiKey", principal.api_key_id))
            if principal and principal.api_key_id
            else None,
            second_factor_needed=bool(principal and principal.second_factor_missing),
        )


@strawberry.type
class AccountMutations:
    @strawberry.mutation(description="Log in with email and password (and a TOTP code for owners and reviewers).")
    async def login(self, info: Info, email: str, password: str, totp_code: str | None = None) -> LoginResult:
        ctx = context(info)
        async with ctx.lock:
            outcome = await auth.login(await ctx.session(), email, password, totp_code, box=ctx.services.secret_box)
        if outcome.ok and outcome.session_token and outcome.csrf_token:
            token, csrf, user_id = outcome.session_token, outcome.csrf_token, outcome.user_id
            second_factor = outcome.second_factor
            assert user_id is not None

            async def start_session() -> None:
                """Only a committed session gets its cookies; then the person accepts pending clinics."""
                _set_cookies(info, token, csrf)
                await people.accept_invitations(ctx.services.session_factory, user_id, second_factor=second_factor)

            ctx.after_commit.append(start_session)
        await _audit_auth(info, outcome.user_id, "login", "ok" if outcome.ok else "refused")
        return LoginResult(
            ok=outcome.ok,
            message=outcome.message,
            totp_required=outcome.totp_required,
            csrf_token=outcome.csrf_token,
            totp_enrollment_uri=outcome.totp_enrollment_uri,
        )

    @strawberry.mutation(description="End this browser session.")
    async def logout(self, info: Info) -> bool:
        ctx = context(info)
        if ctx.login_token is None:
            return False
        async with ctx.lock:
            await auth.logout(await ctx.session(), ctx.login_token)
        response: Any = ctx.response
        response.delete_cookie(SESSION_COOKIE, path="/")
        response.delete_cookie(CSRF_COOKIE, path="/")
        await _audit_auth(info, ctx.user_id, "logout", "ok")
        return True

    @strawberry.mutation(description="Mail a single-use reset link (the answer never says whether the email exists).")
    async def request_password_reset(self, info: Info, email: str) -> ResetRequested:
        ctx = context(info)
        async with ctx.lock:
            message, send = await auth.request_password_reset(
                await ctx.session(), email, ctx.services.mailer.send, ctx.services.settings.public_url + "/reset"
            )
        if send is not None:
            ctx.after_commit.append(send)
        return ResetRequested(message=message)

    @strawberry.mutation(description="Choose a new password with a reset token; ends every session of that person.")
    async def reset_password(self, info: Info, token: str, new_password: str) -> PasswordChanged | InvalidInput:
        ctx = context(info)
        async with ctx.lock:
            try:
                user_id = await people.choose_password(await ctx.session(), token, new_password)
            except InputInvalid as error:
                return refused(error)
        await _audit_auth(info, user_id, "password.reset", "ok")
        return PasswordChanged(message="Your password is changed; log in with it.")
