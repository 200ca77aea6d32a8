"""The clinic's billing setup in the database: read its latest revision, save the next one whole.

A save is validated first (every problem with its path) and adds a new revision, so no claim is ever
built from half a setup and earlier revisions stay; a save based on an older revision is refused with
`Conflict`.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.claims.setup import BillingSetup, parse_billing_setup
from server.cpu import Cpu
from server.errors import Conflict, FieldError, InputInvalid
from server.models import BillingSetupRecord

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
