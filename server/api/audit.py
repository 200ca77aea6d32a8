"""The audit log for compliance reviewers (and owners), filtered and paged."""

from __future__ import annotations

import datetime as dt

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from server.api.common import Connection, Node, connection, context, paged, require
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
        statement = select(AuditEvent)
        if filter is not None:
            if filter.category:
                statement = statement.where(AuditEvent.category == filter.category)
            if filter.action:
                statement = statement.where(AuditEvent.action == filter.action)
            if filter.actor_user_id:
                statement = statement.where(
                    AuditEvent.actor_user_id == from_global_id(str(filter.actor_user_id), "User")
                )
            if filter.since:
                statement = statement.where(AuditEvent.occurred_at >= filter.since)
            if filter.until:
                statement = statement.where(AuditEvent.occurred_at < filter.until)
        statement, limit = paged(statement, first, after, AuditEvent.occurred_at, AuditEvent.id)
        async with ctx.lock:
            rows = list((await (await ctx.session()).execute(statement)).scalars().all())
        return connection(rows, limit, AuditEventInfo.from_row, lambda row: (row.occurred_at, row.id))
