"""Biller overrides in the API: replace one claim line of a stored coding, with a reason, audited.

The checks and the SQL are in server/overrides.py.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, cast

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.scalars import JSON
from strawberry.types import Info

from server import overrides
from server.api.common import Forbidden, InvalidInput, Node, NotFoundError, RolledBack, allowed, context, refused
from server.api.ids import from_global_id, to_global_id
from server.errors import InputInvalid, NotFound
from server.models import LineOverride as LineOverrideRow
from tenants.roles import Permission


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
                grouped = await overrides.overrides_of_codings(await ctx.session(), ids)
            return [[LineOverride.from_row(row) for row in rows] for rows in grouped]

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
        replacement = overrides.Replacement(line.code, line.units, line.modifiers, line.diagnoses)
        async with ctx.lock:
            try:
                row = await overrides.override_line(
                    await ctx.session(),
                    principal,
                    from_global_id(str(coding_id), "Coding"),
                    line_index,
                    replacement,
                    reason,
                )
            except (InputInvalid, NotFound) as error:
                return refused(error)
            await ctx.audit(
                "coding.override",
                "phi_write",
                object_type="Coding",
                object_ids=[row.coding_id, row.id],
                detail=f"line {line_index}",
            )
        return LineOverride.from_row(row)
