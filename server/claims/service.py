"""The clinic's billing setup in the database: read its latest revision, save the next one whole.

A save is validated first (every problem with its path) and adds a new revision, so no claim is ever
built from half a setup and earlier revisions stay; a save based on an older revision is refused with
`Conflict`.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from rulebooks.engine.context import FeeSchedules
from rulebooks.models import Coding, Encounter
from server.claims.build import as_approved, parse_claim_header, parse_subscriber, patient_control_number
from server.claims.checks import ClaimInvalid, build_checked_837p
from server.claims.setup import BillingSetup, chosen_clearinghouse, parse_billing_setup
from server.cpu import Cpu
from server.db import get_by_id
from server.encounters import get_encounter, latest_codings, load_fee_schedules
from server.errors import Conflict, FieldError, InputInvalid
from server.models import BillingSetupRecord, ClaimRecord, InterchangeCounter
from server.overrides import overrides_of_codings
from tenants.base import utcnow

#: A setup of 200 rendering providers and 10 clearinghouses of 500 payers each is about 400 KB.
MAX_SETUP_BYTES = 512_000


async def billing_setup_of_clinic(session: AsyncSession) -> BillingSetupRecord | None:
    """The latest revision of the session's clinic's setup, or None when it has not saved one."""
    statement = select(BillingSetupRecord).order_by(BillingSetupRecord.revision.desc()).limit(1)
    return (await session.execute(statement)).scalar_one_or_none()


def checked_setup(payload: Any) -> tuple[dict[str, Any] | None, list[tuple[str, str]]]:
    """The validated setup as stored JSON, or the problems (path, message): plain values, for the CPU pool.

    At the size limit a setup takes about 50 ms to validate: run in the pool, not on the event loop.
    """
    try:
        size = len(json.dumps(payload))
    except (TypeError, ValueError):
        return None, [("setup", "not a JSON document")]
    if size > MAX_SETUP_BYTES:
        return None, [("setup", f"a billing setup is at most {MAX_SETUP_BYTES:,} bytes of JSON")]
    try:
        return parse_billing_setup(payload).model_dump(mode="json"), []
    except InputInvalid as error:
        return None, [(field.path, field.message) for field in error.fields]


async def save_billing_setup(
    session: AsyncSession,
    cpu: Cpu,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID | None,
    payload: Any,
    base_revision: int | None,
) -> BillingSetupRecord:
    """Validate and store the setup as the next revision; `base_revision` is the one the caller read
    (None: the caller believes there is none yet)."""
    document, problems = await cpu.run(checked_setup, payload)
    if document is None:
        raise InputInvalid("the billing setup is not valid", [FieldError(path, message) for path, message in problems])
    current = await billing_setup_of_clinic(session)
    current_revision = current.revision if current else 0
    if (base_revision or 0) != current_revision:
        raise _saved_since(current_revision)
    record = BillingSetupRecord(
        tenant_id=tenant_id, revision=current_revision + 1, document=document, created_by=user_id
    )
    try:
        async with session.begin_nested():
            session.add(record)
            await session.flush()
    except IntegrityError:  # another save of the same base revision won the race
        raise _saved_since(current_revision + 1) from None
    return record


def _saved_since(current_revision: int) -> Conflict:
    return Conflict(
        f"the billing setup was saved by someone else (revision {current_revision}); reload it and apply your "
        "change again",
        current_revision,
    )


def setup_of(record: BillingSetupRecord) -> BillingSetup:
    """The stored document as the model (it was validated when saved)."""
    return BillingSetup.model_validate(record.document)


def built_claim_text(
    coding: dict[str, Any],
    encounter: dict[str, Any],
    subscriber: Any,
    setup: dict[str, Any],
    header: dict[str, Any],
    overrides: list[dict[str, Any]] | None = None,
    fees: FeeSchedules | None = None,
) -> tuple[str | None, str | None, list[str], list[tuple[str, str]]]:
    """(837P text, total, ids of the overrides used, []) or (None, None, [], problems as (path, message)):
    plain values, for the CPU pool.

    The claim is built from the coding as the biller approved it (its line `overrides`, priced with `fees`).
    The build, pyx12's walk and the semantic checks take about 5 ms a file: in the pool, never on the loop.
    """
    try:
        stored = Encounter.model_validate(encounter)
        # A stored coding names its encounter version by row id; the row's link is what ties them here.
        of_encounter = Coding.model_validate(coding).model_copy(update={"encounter_id": stored.external_id})
        approved, used = as_approved(of_encounter, overrides or [], fees or FeeSchedules())
        claim = build_checked_837p(
            approved,
            stored,
            parse_subscriber(subscriber),
            BillingSetup.model_validate(setup),
            parse_claim_header(header),
        )
    except InputInvalid as error:
        return None, None, [], [(field.path, field.message) for field in error.fields]
    except ClaimInvalid as error:
        return None, None, [], [(f"claim: {problem.where}", problem.message) for problem in error.problems]
    return claim.text, str(claim.total), used, []


async def build_claim(
    session: AsyncSession,
    cpu: Cpu,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID | None,
    encounter_id: uuid.UUID | None,
    subscriber: Any,
    frequency: str,
    payer_claim_control_number: str | None,
    clearinghouse: str | None,
) -> ClaimRecord:
    """The next claim version of an encounter, from its latest coding as the biller approved it (with
    its line overrides) and the clinic's latest setup; the claim records the coding and overrides used.

    The first claim of an encounter (by external id) is an original (1); each later one replaces (7)
    or voids (8) a claim the payer numbered. Nothing is stored unless the file passed every check.
    """
    record = await get_encounter(session, encounter_id)
    (coding,) = await latest_codings(session, [record.id])
    if coding is None:
        raise InputInvalid.at("encounterId", "this encounter version is not coded yet")
    setup = await billing_setup_of_clinic(session)
    if setup is None:
        raise InputInvalid.at("encounterId", "the clinic has no billing setup yet: save one with saveBillingSetup")
    previous = (
        await session.execute(
            select(ClaimRecord.version)
            .where(ClaimRecord.external_id == record.external_id)
            .order_by(ClaimRecord.version.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    version = (previous or 0) + 1
    if previous is None and frequency != "1":
        raise InputInvalid.at("frequency", "the encounter has no claim yet: its first claim is an original (1)")
    if previous is not None and frequency == "1":
        raise InputInvalid.at(
            "frequency", f"claim {previous} of this encounter exists: send a replacement (7) or a void (8)"
        )
    now = utcnow()
    header = {
        "patient_control_number": patient_control_number(record.external_id, version),
        "frequency": frequency,
        "payer_claim_control_number": payer_claim_control_number,
        "clearinghouse": clearinghouse,
        "interchange_control_number": await next_interchange_number(session, tenant_id, setup.document, clearinghouse),
        "created_at": now.isoformat(),
    }
    (overrides,) = await overrides_of_codings(session, [coding.id])
    replacements = [{"id": str(o.id), "line_index": o.line_index, "replacement": o.replacement} for o in overrides]
    fees = await load_fee_schedules(session) if replacements else FeeSchedules()
    text, total, used, problems = await cpu.run(
        built_claim_text, coding.payload, record.payload, subscriber, setup.document, header, replacements, fees
    )
    if text is None or total is None:
        raise InputInvalid("the claim cannot be built", [FieldError(path, message) for path, message in problems])
    claim = ClaimRecord(
        tenant_id=tenant_id,
        encounter_id=record.id,
        coding_id=coding.id,
        override_ids=used,
        external_id=record.external_id,
        version=version,
        frequency=frequency,
        patient_control_number=header["patient_control_number"],
        payer_claim_control_number=payer_claim_control_number,
        total=Decimal(total),
        setup_revision=setup.revision,
        x12=text,
        created_at=now,
        created_by=user_id,
    )
    try:
        async with session.begin_nested():
            session.add(claim)
            await session.flush()
    except IntegrityError:  # another claim of this encounter was built at the same moment
        raise Conflict(
            f"claim {version} of this encounter was built by someone else; reload its claims", version
        ) from None
    return claim


async def next_interchange_number(
    session: AsyncSession, tenant_id: uuid.UUID, setup: dict[str, Any], clearinghouse: str | None
) -> int:
    """The next interchange control number (ISA13; GS06 and ST02 go with it) of this clinic at the claim's
    clearinghouse: one atomic increment of its counter, whose row stays locked until the build commits or
    rolls back, so two builds at once never share a number and the numbers only go up.

    A clearinghouse the setup does not have takes no number (1): the build refuses it with its path.
    """
    houses = setup.get("clearinghouses", [])
    try:
        code = chosen_clearinghouse(
            [house["code"] for house in houses], clearinghouse, setup.get("default_clearinghouse")
        )
    except KeyError:
        return 1
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(InterchangeCounter)
        .values(id=uuid.uuid4(), tenant_id=tenant_id, clearinghouse=code, last_number=1)
        .on_conflict_do_update(
            index_elements=["tenant_id", "clearinghouse"],
            set_={"last_number": InterchangeCounter.last_number + 1},
        )
        .returning(InterchangeCounter.last_number)
    )
    return int((await session.execute(statement)).scalar_one())


async def claims_of_encounter(session: AsyncSession, encounter_id: uuid.UUID | None) -> list[ClaimRecord]:
    """Every claim version of the encounter (all its versions, by external id), oldest first."""
    record = await get_encounter(session, encounter_id)
    statement = select(ClaimRecord).where(ClaimRecord.external_id == record.external_id).order_by(ClaimRecord.version)
    return list((await session.execute(statement)).scalars().all())


async def get_claim(session: AsyncSession, claim_id: uuid.UUID | None) -> ClaimRecord:
    return await get_by_id(session, ClaimRecord, claim_id, "no such claim in your clinic")
