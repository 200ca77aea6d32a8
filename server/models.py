"""Tables of the service: payers, fee schedules, encounters (versioned), codings, the outbox.

Encounters and codings are immutable records: a re-submission of the same external id adds
a new encounter version linked to the previous one, and every coding is a new row.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenants.base import Base, TenantScoped, utcnow
from tenants.models import ApiKey, AuditEvent, LoginSession, Membership, PasswordResetToken, Tenant, User

__all__ = [
    "ApiKey",
    "AuditEvent",
    "Base",
    "CodingRecord",
    "EncounterRecord",
    "FeeScheduleEntry",
    "LineOverride",
    "LoginSession",
    "Membership",
    "OutboxMessage",
    "PasswordResetToken",
    "Payer",
    "ProviderQueryRecord",
    "RulebookRecord",
    "Tenant",
    "User",
]


class Payer(TenantScoped, Base):
    """A payer in the clinic's mix, mapped from the EHR's payer id to a rulebook payer code."""

    __tablename__ = "payers"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    plan_type: Mapped[str] = mapped_column(String(32))
    ehr_payer_id: Mapped[str | None] = mapped_column(String(64), default=None)
    clearinghouse_payer_id: Mapped[str | None] = mapped_column(String(64), default=None)


class FeeScheduleEntry(TenantScoped, Base):
    """One fee: schedule `medical` (claim lines) or `cosmetic` (self-pay lines)."""

    __tablename__ = "fee_schedule_entries"
    __table_args__ = (UniqueConstraint("tenant_id", "schedule", "code"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    schedule: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(8))
    fee: Mapped[Decimal] = mapped_column(Numeric(10, 2))


class EncounterRecord(TenantScoped, Base):
    __tablename__ = "encounters"
    __table_args__ = (
        UniqueConstraint("tenant_id", "external_id", "version"),
        Index("ix_encounters_tenant_dos", "tenant_id", "date_of_service"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    external_id: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(default=1)
    previous_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("encounters.id"), default=None)
    payer_code: Mapped[str] = mapped_column(String(32))
    date_of_service: Mapped[dt.date]
    status: Mapped[str] = mapped_column(String(16), default="received")
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CodingRecord(TenantScoped, Base):
    __tablename__ = "codings"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    encounter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("encounters.id"), index=True)
    status: Mapped[str] = mapped_column(String(24))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class OutboxMessage(TenantScoped, Base):
    """A job to run after the domain change that made it commits (transactional outbox).

    The relay enqueues it with its own id as the arq job id; the job takes ids only.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "status", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    job: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[uuid.UUID]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    enqueued_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class RulebookRecord(TenantScoped, Base):
    """A clinic's rulebook (payer rules or clinic overrides) and its working draft.

    The draft is edited with optimistic concurrency: every save names the `draft_revision` it
    was based on, and a stale save is refused rather than overwriting someone else's work.
    Published versions (immutable, by content hash) come with the rulebook lifecycle.
    """

    __tablename__ = "rulebooks"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    payer_code: Mapped[str | None] = mapped_column(String(32), default=None)
    layer: Mapped[str] = mapped_column(String(16), default="payer")
    draft_text: Mapped[str] = mapped_column(Text, default="")
    draft_revision: Mapped[int] = mapped_column(default=1)
    draft_updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    draft_updated_by: Mapped[uuid.UUID | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LineOverride(TenantScoped, Base):
    """A biller's replacement for one claim line of a coding, with the reason; the coding itself
    is never changed, so the engine's original and the override are both always on record."""

    __tablename__ = "line_overrides"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    coding_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("codings.id"), index=True)
    line_index: Mapped[int]
    original: Mapped[dict[str, Any]]
    replacement: Mapped[dict[str, Any]]
    reason: Mapped[str] = mapped_column(Text)
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    actor_api_key_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ProviderQueryRecord(TenantScoped, Base):
    """A question to the provider that holds a service off the claim until it is answered.

    Lifecycle: open -> answered (the addendum is added to the note and the encounter re-coded as
    a new version) or withdrawn (superseded by a newer version, or by a biller).
    """

    __tablename__ = "provider_queries"
    __table_args__ = (Index("ix_provider_queries_tenant_status", "tenant_id", "status", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    encounter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("encounters.id"), index=True)
    external_id: Mapped[str] = mapped_column(String(128))
    service_id: Mapped[str] = mapped_column(String(64))
    topic: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    missing: Mapped[list[str]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16), default="open")
    addendum: Mapped[str | None] = mapped_column(Text, default=None)
    answered_encounter_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(default=None)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
