"""The audit log as compliance reviewers (and owners) read it: filtered, newest first, paged.

Writing an event is tenants/audit.py `record`; this module only reads the clinic's own events.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import false, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import get_by_id
from server.paging import paged
from tenants.models import AuditEvent

NO_SUCH_EVENT = "no such audit event in your clinic"


@dataclass(frozen=True)
class AuditQuery:
    """Which events: each given criterion narrows the list (none given: every event)."""

    category: str | None = None
    action: str | None = None
    by_actor: bool = False  # when set, only events of `actor_user_id` (None: an id naming nobody, so none)
    actor_user_id: uuid.UUID | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None  # exclusive


async def audit_events(
    session: AsyncSession, query: AuditQuery, first: int | None, after: str | None
) -> tuple[list[AuditEvent], int]:
    """A page of the clinic's events (one more row than the page, to know if another follows) and the page size."""
    statement = select(AuditEvent)
    if query.category:
        statement = statement.where(AuditEvent.category == query.category)
    if query.action:
        statement = statement.where(AuditEvent.action == query.action)
    if query.by_actor:
        # `== None` would be IS NULL: the events of API keys and the system, not "nobody's"
        by_actor = AuditEvent.actor_user_id == query.actor_user_id if query.actor_user_id else false()
        statement = statement.where(by_actor)
    if query.since:
        statement = statement.where(AuditEvent.occurred_at >= query.since)
    if query.until:
        statement = statement.where(AuditEvent.occurred_at < query.until)
    statement, limit = paged(statement, first, after, AuditEvent.occurred_at, AuditEvent.id)
    return list((await session.execute(statement)).scalars().all()), limit


async def get_audit_event(session: AsyncSession, event_id: uuid.UUID | None) -> AuditEvent:
    return await get_by_id(session, AuditEvent, event_id, NO_SUCH_EVENT)
