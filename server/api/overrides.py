"""Biller overrides: replace one claim line of a stored coding, with a reason, audited.

The coding stays as the engine made it; the override is stored beside it and both are shown.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Annotated, cast

import strawberry
from sqlalchemy import select
from strawberry.dataloader import DataLoader
from strawberry.scalars import JSON
from strawberry.types import Info

from rulebooks.models.encounter import ICD10_FORMAT, PROCEDURE_CODE_FORMAT
from server.api.common import Forbidden, InvalidInput, Node, NotFoundError, RolledBack, allowed, context
from server.api.ids import from_global_id, to_global_id
from server.models import CodingRecord, EncounterRecord
from server.models import LineOverride as LineOverrideRow
from tenants.roles import Permission

MODIFIER = re.compile(r"^[0-9A-Z]{2}$")


@strawberry.type
class LineOverride(Node):
    line_index: int
    original: JSON
    replacement: JSON
    reason: str
    created_at: dt.datetime
    actor_user_id: strawberry.ID | None

    @classmethod
    def from_row(cls, row: LineOverrideRow) -> LineOverride:
        return cls(
            id=strawberry.ID(to_global_id("LineOverride", row.id)),
            line_index=row.line_index,
            original=cast(JSON, row.original),
            replacement=cast(JSON, row.replacement),
            reason=row.reason,
            created_at=row.created_at,
            actor_user_id=strawberry.ID(to_global_id("User", row.actor_user_id)) if row.actor_user_id else None,
        )


def overrides_loader(info: Info) -> DataLoader[uuid.UUID, list[LineOverride]]:
    ctx = context(info)
    if "overrides" not in ctx.loaders:

        async def load(ids: list[uuid.UUID]) -> list[list[LineOverride]]:
            async with ctx.lock:
                rows = (
                    (
                        await (await ctx.session()).execute(
                            select(LineOverrideRow)
                            .where(LineOverrideRow.coding_id.in_(ids))
                            .order_by(LineOverrideRow.created_at)
                        )
                    )
                    .scalars()
                    .all()
                )
            grouped: dict[uuid.UUID, list[LineOverride]] = {i: [] for i in ids}
            for row in rows:
                grouped[row.coding_id].append(LineOverride.from_row(row))
            return [grouped[i] for i in ids]

        ctx.loaders["overrides"] = DataLoader(load_fn=load)
    return ctx.loaders["overrides"]


@strawberry.input
class ReplacementLine:
    code: str
    units: int
    modifiers: list[str] = strawberry.field(default_factory=list)
    diagnoses: list[str] = strawberry.field(default_factory=list)


OverrideLineResult = Annotated[
    LineOverride | InvalidInput | NotFoundError | Forbidden | RolledBack, strawberry.union("OverrideLineResult")
]


def _problems(line: ReplacementLine, known_diagnoses: list[str], reason: str) -> InvalidInput | None:
    if not PROCEDURE_CODE_FORMAT.match(line.code):
        return InvalidInput.single("line.code", "a CPT or HCPCS code such as 17000 or J0585")
    if not 1 <= line.units <= 999:
        return InvalidInput.single("line.units", "units are a whole number from 1 to 999")
    bad = [m for m in line.modifiers if not MODIFIER.match(m)]
    if bad or len(line.modifiers) > 4:
        return InvalidInput.single("line.modifiers", "at most 4 two-character modifiers such as 25 or XS")
    if len(line.diagnoses) > 4:
        return InvalidInput.single("line.diagnoses", "a line points at no more than 4 diagnoses")
    for code in line.diagnoses:
        if not ICD10_FORMAT.match(code) or code not in known_diagnoses:
            return InvalidInput.single("line.diagnoses", f"{code} is not one of the encounter's diagnoses")
    if len(reason.strip()) < 5:
        return InvalidInput.single("reason", "say why (at least a few words): the override is audited")
    return None


@strawberry.type
class OverrideMutations:
    @strawberry.mutation(description="Replace one claim line of a coding, with a reason (the original stays).")
    async def override_line(
        self, info: Info, coding_id: strawberry.ID, line_index: int, line: ReplacementLine, reason: str
    ) -> OverrideLineResult:
        ctx = context(info)
        principal = allowed(info, Permission.CODINGS_OVERRIDE)
        if isinstance(principal, Forbidden):
            return principal
        record_id = from_global_id(str(coding_id), "Coding")
        async with ctx.lock:
            session = await ctx.session()
            found = (
                (
                    await session.execute(
                        select(CodingRecord, EncounterRecord)
                        .join(EncounterRecord, EncounterRecord.id == CodingRecord.encounter_id)
                        .where(CodingRecord.id == record_id)
                    )
                ).first()
                if record_id
                else None
            )
            if found is None:
                return NotFoundError(message="no coding with that id")
            coding, encounter = found
            claim_lines = coding.payload.get("claim_lines", [])
            if not 0 <= line_index < len(claim_lines):
                return InvalidInput.single("lineIndex", f"the coding has {len(claim_lines)} claim lines")
            problem = _problems(line, encounter.payload.get("diagnoses", []), reason)
            if problem is not None:
                return problem
            row = LineOverrideRow(
                tenant_id=principal.tenant_id,
                coding_id=coding.id,
                line_index=line_index,
                original=claim_lines[line_index],
                replacement={
                    "code": line.code,
                    "units": line.units,
                    "modifiers": line.modifiers,
                    "diagnoses": line.diagnoses,
                },
                reason=reason.strip(),
                actor_user_id=principal.user_id,
                actor_api_key_id=principal.api_key_id,
            )
            session.add(row)
            await session.flush()
            await ctx.audit(
                "coding.override",
                "phi_write",
                object_type="Coding",
                object_ids=[coding.id, row.id],
                detail=f"line {line_index}",
            )
        return LineOverride.from_row(row)
