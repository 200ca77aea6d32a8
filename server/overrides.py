"""Biller overrides: replace one claim line of a stored coding, with a reason.

The coding stays as the engine made it; the override is stored beside it and both are shown.
(The encounters context's other service functions are in server/encounters.py; overrides sit in
their own module because they hold their own checks and never run the engine.)
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rulebooks.models.encounter import ICD10_FORMAT, PROCEDURE_CODE_FORMAT
from server.db import get_by_id
from server.errors import InputInvalid, NotFound
from server.models import CodingRecord, EncounterRecord, LineOverride
from tenants.keys import Principal

MODIFIER = re.compile(r"^[0-9A-Z]{2}$")
MAX_UNITS = 999
MAX_MODIFIERS = 4
MAX_LINE_DIAGNOSES = 4
MIN_REASON_CHARS = 5
NO_SUCH_CODING = "no coding with that id"
NO_SUCH_OVERRIDE = "no such line override in your clinic"


@dataclass(frozen=True)
class Replacement:
    """The claim line a biller puts in place of the engine's."""

    code: str
    units: int
    modifiers: list[str] = field(default_factory=list)
    diagnoses: list[str] = field(default_factory=list)


def check_replacement(line: Replacement, known_diagnoses: Sequence[str], reason: str) -> None:
    """Refuse a line no claim could carry, a diagnosis the encounter does not have, or a missing reason.

    The first problem is named, with its field path (`line.units`, `reason`, ...).
    """
    if not PROCEDURE_CODE_FORMAT.match(line.code):
        raise InputInvalid.at("line.code", "a CPT or HCPCS code such as 17000 or J0585")
    if not 1 <= line.units <= MAX_UNITS:
        raise InputInvalid.at("line.units", f"units are a whole number from 1 to {MAX_UNITS}")
    if any(not MODIFIER.match(m) for m in line.modifiers) or len(line.modifiers) > MAX_MODIFIERS:
        raise InputInvalid.at("line.modifiers", "at most 4 two-character modifiers such as 25 or XS")
    if len(line.diagnoses) > MAX_LINE_DIAGNOSES:
        raise InputInvalid.at("line.diagnoses", "a line points at no more than 4 diagnoses")
    for code in line.diagnoses:
        if not ICD10_FORMAT.match(code) or code not in known_diagnoses:
            raise InputInvalid.at("line.diagnoses", f"{code} is not one of the encounter's diagnoses")
    if len(reason.strip()) < MIN_REASON_CHARS:
        raise InputInvalid.at("reason", "say why (at least a few words): the override is audited")


async def override_line(
    session: AsyncSession,
    principal: Principal,
    coding_id: uuid.UUID | None,
    line_index: int,
    line: Replacement,
    reason: str,
) -> LineOverride:
    """Store the biller's replacement of one claim line, with the original line beside it and who made it."""
    statement = (
        select(CodingRecord, EncounterRecord)
        .join(EncounterRecord, EncounterRecord.id == CodingRecord.encounter_id)
        .where(CodingRecord.id == coding_id)
    )
    found = (await session.execute(statement)).first() if coding_id is not None else None
    if found is None:
        raise NotFound(NO_SUCH_CODING)
    coding, encounter = found
    claim_lines = coding.payload.get("claim_lines", [])
    if not 0 <= line_index < len(claim_lines):
        raise InputInvalid.at("lineIndex", f"the coding has {len(claim_lines)} claim lines")
    check_replacement(line, encounter.payload.get("diagnoses", []), reason)
    row = LineOverride(
        tenant_id=principal.tenant_id,
        coding_id=coding.id,
        line_index=line_index,
        original=claim_lines[line_index],
        replacement={"code": line.code, "units": line.units, "modifiers": line.modifiers, "diagnoses": line.diagnoses},
        reason=reason.strip(),
        actor_user_id=principal.user_id,
        actor_api_key_id=principal.api_key_id,
    )
    session.add(row)
    await session.flush()
    return row


async def overrides_of_codings(session: AsyncSession, coding_ids: Sequence[uuid.UUID]) -> list[list[LineOverride]]:
    """Each coding's overrides, oldest first, in the order of `coding_ids` (one query for a page of codings)."""
    statement = select(LineOverride).where(LineOverride.coding_id.in_(coding_ids)).order_by(LineOverride.created_at)
    grouped: dict[uuid.UUID, list[LineOverride]] = {coding_id: [] for coding_id in coding_ids}
    for row in (await session.execute(statement)).scalars():
        grouped[row.coding_id].append(row)
    return [grouped[coding_id] for coding_id in coding_ids]


async def get_override(session: AsyncSession, override_id: uuid.UUID | None) -> LineOverride:
    return await get_by_id(session, LineOverride, override_id, NO_SUCH_OVERRIDE)
