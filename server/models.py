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
    "BillingSetupRecord",
    "ClaimRecord",
    "CodingRecord",
    "DraftShadow",
    "EhrConnection",
    "EhrMessage",
    "EhrVisit",
    "EncounterRecord",
    "FeeScheduleEntry",
    "ImpactReplay",
    "ImpactReplayChunk",
    "LineOverride",
    "LoginSession",
    "Membership",
    "OutboxMessage",
    "PasswordResetToken",
    "Payer",
    "ProviderQueryRecord",
    "ReviewDelegation",
    "RulebookComment",
    "RulebookRecord",
    "RulebookVersion",
    "ShadowObservation",
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
    # what the note analysis decided for this version, stored when it is first coded: a replay of
    # rules reuses it instead of reading the note again (`rulebooks.replay.Analysis`)
    analysis: Mapped[dict[str, Any] | None] = mapped_column(default=None)
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
    was based on, and a stale save is refused rather than overwriting someone else's work. Its
    submitted and published versions are `RulebookVersion`s.
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
    # adopted from a shipped template (`adoptTemplate`): its name and content hash at adoption
    template_name: Mapped[str | None] = mapped_column(String(200), default=None)
    template_version: Mapped[str | None] = mapped_column(String(80), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class RulebookVersion(TenantScoped, Base):
    """A draft as submitted for review, and what became of it: draft -> in_review -> approved ->
    published (or changes_requested). A published version never changes; its canonical text,
    its content hash (an attribute: a rollback republishes old content as a new version with the
    same hash) and the texts of the books it extends are stored with it.

    In effect by date of service from `effective_from` to `effective_until` (both inclusive, from
    its header); among a rulebook's published versions in effect on a date, the newest codes.
    """

    __tablename__ = "rulebook_versions"
    __table_args__ = (
        UniqueConstraint("rulebook_id", "number"),
        Index("ix_rulebook_versions_tenant_status", "tenant_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    rulebook_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rulebooks.id"), index=True)
    number: Mapped[int]
    status: Mapped[str] = mapped_column(String(24), default="in_review")
    name: Mapped[str] = mapped_column(String(200))
    layer: Mapped[str] = mapped_column(String(16))
    payer_code: Mapped[str | None] = mapped_column(String(32), default=None)
    content_hash: Mapped[str] = mapped_column(String(80))
    canonical_text: Mapped[str] = mapped_column(Text)
    # the books its `extends` lines name, as pinned: [{name, version, version_id, text}]
    extends: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    effective_from: Mapped[dt.date | None] = mapped_column(default=None)
    effective_until: Mapped[dt.date | None] = mapped_column(default=None)
    draft_revision: Mapped[int]
    rolled_back_from: Mapped[uuid.UUID | None] = mapped_column(default=None)
    submitted_by: Mapped[uuid.UUID | None] = mapped_column(default=None)
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(default=None)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    published_by: Mapped[uuid.UUID | None] = mapped_column(default=None)
    published_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class ImpactReplay(TenantScoped, Base):
    """A draft replayed against the clinic's last stored encounters, in chunks run by the workers.

    The draft is kept as it was when the replay started; each chunk stores its own summary, and the
    replay's answer merges them (`rulebooks.replay.Impact`)."""

    __tablename__ = "impact_replays"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    rulebook_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rulebooks.id"), index=True)
    draft_revision: Mapped[int]
    draft_text: Mapped[str] = mapped_column(Text)
    layer: Mapped[str] = mapped_column(String(16))
    payer_code: Mapped[str | None] = mapped_column(String(32), default=None)
    requested: Mapped[int]
    total: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="running")
    started_by: Mapped[uuid.UUID | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class ImpactReplayChunk(TenantScoped, Base):
    """One worker's share of a replay: its encounter versions, and what it found."""

    __tablename__ = "impact_replay_chunks"
    __table_args__ = (UniqueConstraint("replay_id", "number"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    replay_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("impact_replays.id"), index=True)
    number: Mapped[int]
    encounter_ids: Mapped[list[str]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    done: Mapped[int] = mapped_column(default=0)
    summary: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class DraftShadow(TenantScoped, Base):
    """A rulebook's draft coding beside the published rules on live traffic for a period: every
    encounter coded meanwhile is also coded with the draft, and what differs is kept for review."""

    __tablename__ = "draft_shadows"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    rulebook_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rulebooks.id"), index=True)
    draft_revision: Mapped[int]
    draft_text: Mapped[str] = mapped_column(Text)
    layer: Mapped[str] = mapped_column(String(16))
    payer_code: Mapped[str | None] = mapped_column(String(32), default=None)
    status: Mapped[str] = mapped_column(String(16), default="running")
    starts_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ends_at: Mapped[dt.datetime]
    started_by: Mapped[uuid.UUID | None] = mapped_column(default=None)
    stopped_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class ShadowObservation(TenantScoped, Base):
    """One live coding seen by a draft shadow: whether the draft codes it differently, and how."""

    __tablename__ = "shadow_observations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    shadow_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("draft_shadows.id"), index=True)
    encounter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("encounters.id"))
    payer_code: Mapped[str] = mapped_column(String(32))
    changed: Mapped[bool] = mapped_column(default=False)
    diff: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class RulebookComment(TenantScoped, Base):
    """A reviewer's comment on a submitted version, anchored to a line of its canonical text."""

    __tablename__ = "rulebook_comments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rulebook_versions.id"), index=True)
    line: Mapped[int | None] = mapped_column(default=None)
    body: Mapped[str] = mapped_column(Text)
    decision: Mapped[str | None] = mapped_column(String(24), default=None)
    author_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
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


class ReviewDelegation(TenantScoped, Base):
    """Whether a clinic with a single qualified approver lets its onboarding staff take the
    reviewer's part (approve a rulebook version or send it back). Each change of the owner's is a
    new row (the latest is the setting; the rows are its history); it grants nothing while the
    clinic has two qualified people."""

    __tablename__ = "review_delegations"
    __table_args__ = (Index("ix_review_delegations_tenant_time", "tenant_id", "changed_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    onboarding_may_review: Mapped[bool] = mapped_column(default=False)
    changed_by: Mapped[uuid.UUID | None] = mapped_column(default=None)
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class EhrMessage(TenantScoped, Base):
    """One message an EHR sent (a FHIR Bundle or resource, an HL7 v2 message), kept once per content
    digest: the same message twice is one row. A message cutis cannot use waits in quarantine with
    where and why, and can be retried (after the clinic maps a payer, say)."""

    __tablename__ = "ehr_messages"
    __table_args__ = (
        UniqueConstraint("tenant_id", "digest"),
        Index("ix_ehr_messages_tenant_status", "tenant_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    digest: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(8))  # fhir | hl7v2
    channel: Mapped[str] = mapped_column(String(16))  # file | mllp
    profile: Mapped[str] = mapped_column(String(32), default="generic", server_default="generic")  # server/ehr/profiles
    status: Mapped[str] = mapped_column(String(16))  # imported | waiting | quarantined
    error_where: Mapped[str | None] = mapped_column(String(200), default=None)
    error_why: Mapped[str | None] = mapped_column(Text, default=None)
    body: Mapped[str] = mapped_column(Text)
    visit_keys: Mapped[list[str]]
    attempts: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class EhrVisit(TenantScoped, Base):
    """A visit as the EHR's messages so far describe it (merged parts, with the patient's history),
    and the digest of the Encounter it last made: a message that changes nothing makes no version."""

    __tablename__ = "ehr_visits"
    __table_args__ = (UniqueConstraint("tenant_id", "visit_key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    visit_key: Mapped[str] = mapped_column(String(128))
    merged: Mapped[dict[str, Any]]
    encounter_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("encounters.id"), default=None)
    encounter_digest: Mapped[str | None] = mapped_column(String(64), default=None)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class EhrConnection(TenantScoped, Base):
    """How cutis pulls from one of the clinic's FHIR APIs: SMART backend services (a client id and a
    private key signing the token request). The private key is sealed at rest (`private_key_sealed`,
    `Settings.secret_box`) and never leaves the server."""

    __tablename__ = "ehr_connections"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(100))
    base_url: Mapped[str] = mapped_column(String(500))
    token_url: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(200))
    key_id: Mapped[str | None] = mapped_column(String(100), default=None)
    scope: Mapped[str] = mapped_column(String(500))
    private_key_sealed: Mapped[str] = mapped_column(Text)
    pulled_until: Mapped[dt.date | None] = mapped_column(default=None)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class BillingSetupRecord(TenantScoped, Base):
    """One revision of the clinic's billing setup (server/claims/setup.py `BillingSetup`, as validated JSON).

    Each save adds the next revision whole and the earlier ones stay, so a claim can name the setup it
    was built from and no claim is ever built from half a setup; a save based on an older revision loses
    the unique (tenant, revision) race and is refused (`Conflict`), never merged.
    """

    __tablename__ = "billing_setups"
    __table_args__ = (UniqueConstraint("tenant_id", "revision"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    revision: Mapped[int]
    document: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[uuid.UUID | None] = mapped_column(default=None)


class ClaimRecord(TenantScoped, Base):
    """One 837P built from an encounter version's coding, as it left the checks: the claim's versions
    for one encounter (external id) are numbered, the first an original (frequency 1), each later one
    a replacement (7) or a void (8) naming the payer's claim control number of what it replaces."""

    __tablename__ = "claims"
    __table_args__ = (UniqueConstraint("tenant_id", "external_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    encounter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("encounters.id"), index=True)
    coding_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("codings.id"))
    #: The biller's line overrides the claim was built with (ids, by line), beside the coding they amend.
    override_ids: Mapped[list[str]] = mapped_column(default=list)
    external_id: Mapped[str] = mapped_column(String(128))
    version: Mapped[int]
    frequency: Mapped[str] = mapped_column(String(1))
    patient_control_number: Mapped[str] = mapped_column(String(20))
    payer_claim_control_number: Mapped[str | None] = mapped_column(String(50), default=None)
    total: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    setup_revision: Mapped[int]
    x12: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[uuid.UUID | None] = mapped_column(default=None)


class InterchangeCounter(TenantScoped, Base):
    """The last interchange control number (ISA13, and GS06/ST02 with it) a clinic sent to one
    clearinghouse: each claim takes the next one in its own transaction, so two builds at once never
    share a number (the row is locked from the increment until the build commits or rolls back)."""

    __tablename__ = "interchange_counters"
    __table_args__ = (UniqueConstraint("tenant_id", "clearinghouse"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    clearinghouse: Mapped[str] = mapped_column(String(64))
    last_number: Mapped[int]
