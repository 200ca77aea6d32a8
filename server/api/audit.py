"""The audit log for compliance reviewers (and owners), filtered and paged."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.types import Info

from server import audit
from server.api.common import Connection, Node, connection, context, require
from server.api.ids import from_global_id, to_global_id
from tenants.models import AuditEvent
from tenants.roles import Permission


@strawberry.type
class AuditEventInfo(Node):
    occurred_at: dt.datetime
    action: str
    category: str
    actor_user_id: strawberry.ID | None
    actor_api_key_id: strawberry.ID | None
    object_type: str | None
    object_ids: list[str]
    remote_addr: str | None
    outcome: str
    detail: str | None

    @classmethod
    def from_row(cls, row: AuditEvent) -> AuditEventInfo:
        return cls(
            id=strawberry.ID(to_global_id("AuditEvent", row.id)),
            occurred_at=row.occurred_at,
            action=row.action,
            category=row.category,
            actor_user_id=strawberry.ID(to_global_id("User", row.actor_user_id)) if row.actor_user_id else None,
            actor_api_key_id=strawberry.ID(to_global_id("ApiKey", row.actor_api_key_id))
            if row.actor_api_key_id
            else None,
            object_type=row.object_type,
            object_ids=row.object_ids,
            remote_addr=row.remote_addr,
            outcome=row.outcome,
            detail=row.detail,
        )


@strawberry.input
class AuditFilter:
    category: str | None = None
    action: str | None = None
    actor_user_id: strawberry.ID | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


@strawberry.type
class AuditQueries:
    @strawberry.field(description="Your clinic's audit events, newest first.")
    async def audit_events(
        self, info: Info, filter: AuditFilter | None = None, first: int | None = None, after: str | None = None
    ) -> Connection[AuditEventInfo]:
        ctx = context(info)
        require(info, Permission.AUDIT_READ)
        query = audit.AuditQuery()
        if filter is not None:
            query = audit.AuditQuery(
                category=filter.category,
                action=filter.action,
                by_actor=bool(filter.actor_user_id),
                actor_user_id=from_global_id(str(filter.actor_user_id), "User") if filter.actor_user_id else None,
                since=filter.since,
                until=filter.until,
            )
        async with ctx.lock:
            rows, limit = await audit.audit_events(await ctx.session(), query, first, after)
        return connection(rows, limit, AuditEventInfo.from_row, lambda row: (row.occurred_at, row.id))
