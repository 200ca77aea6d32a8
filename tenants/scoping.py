"""Tenant scoping of every ORM query, and the PostgreSQL tenant setting for row-level security.

The tenant lives in `session.info["tenant_id"]`. Two hooks enforce it:
- `do_orm_execute` adds `tenant_id = :tenant` to every ORM SELECT/UPDATE/DELETE of a
  `TenantScoped` entity (STACK-NOTES: Core and text() statements are not covered; keep them
  out of tenant tables);
- `after_begin` runs `set_config('app.tenant_id', :tenant, true)` on PostgreSQL, local to the
  transaction, so row-level security sees the same tenant (a session-level SET would leak to
  the next user of a pooled connection).
A session with no tenant sees no tenant rows at all, unless it is explicitly a system session.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from tenants.base import TenantScoped

TENANT_KEY = "tenant_id"
SYSTEM_KEY = "system"
NO_TENANT = uuid.UUID(int=0)


class TenantMismatchError(Exception):
    """A row of another tenant was about to be written through this session."""


def install_tenant_scoping(session_class: type[Session] = Session) -> None:
    """Attach the hooks to a Session class once per process (idempotent)."""
    if event.contains(session_class, "do_orm_execute", _scope_orm_statement):
        return
    event.listen(session_class, "do_orm_execute", _scope_orm_statement)
    event.listen(session_class, "after_begin", _set_postgres_tenant)
    event.listen(session_class, "before_flush", _check_written_rows)


def session_tenant(session: Session) -> uuid.UUID | None:
    value = session.info.get(TENANT_KEY)
    return value if isinstance(value, uuid.UUID) else None


def _scope_orm_statement(state: ORMExecuteState) -> None:
    if state.session.info.get(SYSTEM_KEY):
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    tenant = session_tenant(state.session) or NO_TENANT
    state.statement = state.statement.options(
        with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id == tenant, include_aliases=True)
    )


def _set_postgres_tenant(session: Session, transaction: Any, connection: Any) -> None:
    if connection.dialect.name != "postgresql":
        return
    tenant = session_tenant(session)
    connection.execute(
        text("SELECT set_config('app.tenant_id', :tenant, true)"),
        {"tenant": str(tenant) if tenant else ""},
    )


def _check_written_rows(session: Session, flush_context: Any, instances: Any) -> None:
    if session.info.get(SYSTEM_KEY):
        return
    tenant = session_tenant(session)
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, TenantScoped):
            if obj.tenant_id is None and tenant is not None:
                obj.tenant_id = tenant
            if obj.tenant_id != tenant:
                raise TenantMismatchError("a row of another tenant cannot be written in this session")
