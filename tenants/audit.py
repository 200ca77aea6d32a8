"""The audit log: who, which clinic, what, when, from where. Ids only, never PHI."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from tenants.keys import Principal
from tenants.models import AuditEvent

CATEGORIES = ("phi_read", "phi_write", "auth", "rules", "admin")


def record(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    action: str,
    category: str,
    *,
    principal: Principal | None = None,
    user_id: uuid.UUID | None = None,
    object_type: str | None = None,
    object_ids: Iterable[uuid.UUID | str] = (),
    remote_addr: str | None = None,
    outcome: str = "ok",
    detail: str | None = None,
) -> AuditEvent:
    """Append one event to the operation's transaction (it commits or rolls back with it)."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown audit category {category!r}")
    event = AuditEvent(
        tenant_id=tenant_id,
        action=action,
        category=category,
        actor_user_id=principal.user_id if principal else user_id,
        actor_api_key_id=principal.api_key_id if principal else None,
        object_type=object_type,
        object_ids=[str(i) for i in object_ids],
        remote_addr=remote_addr,
        outcome=outcome,
        detail=detail,
    )
    session.add(event)
    return event
