"""Roles and what each may do; API keys carry scopes drawn from the same permissions.

One table, read by every operation: `require(principal, permission)`.
"""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    ENCOUNTERS_READ = "encounters:read"
    ENCOUNTERS_WRITE = "encounters:write"
    CODINGS_OVERRIDE = "codings:override"
    RULEBOOKS_READ = "rulebooks:read"
    RULEBOOKS_WRITE = "rulebooks:write"
    RULEBOOKS_APPROVE = "rulebooks:approve"
    CLINIC_READ = "clinic:read"
    CLINIC_ADMIN = "clinic:admin"
    USERS_ADMIN = "users:admin"
    KEYS_ADMIN = "keys:admin"
    AUDIT_READ = "audit:read"


P = Permission
READ_ALL = {P.ENCOUNTERS_READ, P.RULEBOOKS_READ, P.CLINIC_READ}

ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "owner": frozenset(Permission),
    "practice_manager": frozenset(READ_ALL | {P.RULEBOOKS_WRITE, P.ENCOUNTERS_WRITE, P.CLINIC_ADMIN}),
    "biller": frozenset(READ_ALL | {P.ENCOUNTERS_WRITE, P.CODINGS_OVERRIDE}),
    "compliance_reviewer": frozenset(READ_ALL | {P.RULEBOOKS_APPROVE, P.AUDIT_READ}),
    "onboarding": frozenset(READ_ALL | {P.ENCOUNTERS_WRITE, P.RULEBOOKS_WRITE, P.CLINIC_ADMIN, P.KEYS_ADMIN}),
    "read_only": frozenset(READ_ALL),
}
# What an API key may ever be granted: a clinic's systems integrate, they do not administer.
API_KEY_PERMISSIONS = frozenset(
    {P.ENCOUNTERS_READ, P.ENCOUNTERS_WRITE, P.RULEBOOKS_READ, P.RULEBOOKS_WRITE, P.CLINIC_READ, P.CODINGS_OVERRIDE}
)
ROLES_REQUIRING_TOTP = frozenset({"owner", "compliance_reviewer"})


def key_permissions(scopes: frozenset[str]) -> frozenset[Permission]:
    """`*` grants every permission a key may hold; unknown scope names grant nothing."""
    if "*" in scopes:
        return API_KEY_PERMISSIONS
    return frozenset(p for p in API_KEY_PERMISSIONS if p.value in scopes)


def parse_scopes(scopes: list[str]) -> str:
    """Validate requested key scopes; returns their stored form."""
    unknown = [s for s in scopes if s != "*" and s not in {p.value for p in API_KEY_PERMISSIONS}]
    if unknown:
        allowed = ", ".join(sorted(p.value for p in API_KEY_PERMISSIONS))
        raise ValueError(f"unknown or not grantable to a key: {', '.join(unknown)} (allowed: *, {allowed})")
    return " ".join(sorted(set(scopes))) or "*"
