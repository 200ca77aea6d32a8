"""Reading the audit log (server/audit.py): filters narrow, and an actor id that names nobody finds nothing."""

from __future__ import annotations

import uuid

from server.audit import AuditQuery, audit_events
from server.db import tenant_session
from tenants.audit import record
from tests.factories import make_clinic


async def _events(session_factory, tenant_id: uuid.UUID, query: AuditQuery) -> list[str]:  # type: ignore[no-untyped-def]
    async with tenant_session(session_factory, tenant_id) as session:
        rows, _ = await audit_events(session, query, first=100, after=None)
    return sorted(row.action for row in rows)


class TestAuditEvents:
    async def test_filter_by_actor_finds_only_that_persons_events(self, session_factory) -> None:  # type: ignore[no-untyped-def]
        clinic = await make_clinic(session_factory)
        person = uuid.uuid4()
        async with tenant_session(session_factory, clinic.tenant_id) as session:
            record(session, clinic.tenant_id, "by.person", "admin", user_id=person)
            record(session, clinic.tenant_id, "by.system", "admin")
        assert await _events(session_factory, clinic.tenant_id, AuditQuery(by_actor=True, actor_user_id=person)) == [
            "by.person"
        ]

    async def test_an_actor_id_naming_nobody_finds_no_event_not_the_systems(self, session_factory) -> None:  # type: ignore[no-untyped-def]
        clinic = await make_clinic(session_factory)
        async with tenant_session(session_factory, clinic.tenant_id) as session:
            record(session, clinic.tenant_id, "by.system", "admin")
        assert await _events(session_factory, clinic.tenant_id, AuditQuery(by_actor=True, actor_user_id=None)) == []
        assert "by.system" in await _events(session_factory, clinic.tenant_id, AuditQuery())
