"""The clinic's rulebooks and their drafts, saved with optimistic concurrency."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Annotated

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from server.api.common import (
    Conflict,
    Forbidden,
    InvalidInput,
    Node,
    NotFoundError,
    RolledBack,
    allowed,
    context,
    require,
)
from server.api.ids import from_global_id, to_global_id
from server.models import RulebookRecord
from tenants.base import utcnow
from tenants.roles import Permission

MAX_RULEBOOK_CHARS = 1_000_000  # enforced for every rulebook text argument by server.api.validation


@strawberry.enum
class RulebookLayer(Enum):
    payer = "payer"
    clinic = "clinic"


@strawberry.type
class Rulebook(Node):
    name: str
    payer: str | None
    layer: RulebookLayer
    draft_text: str
    draft_revision: int
    draft_updated_at: dt.datetime
    status: str = strawberry.field(description="draft (published versions arrive with the rulebook lifecycle)")

    @classmethod
    def from_row(cls, row: RulebookRecord) -> Rulebook:
        return cls(
            id=strawberry.ID(to_global_id("Rulebook", row.id)),
            name=row.name,
            payer=row.payer_code,
            layer=RulebookLayer(row.layer),
            draft_text=row.draft_text,
            draft_revision=row.draft_revision,
            draft_updated_at=row.draft_updated_at,
            status="draft",
        )


RulebookResult = Annotated[Rulebook | NotFoundError, strawberry.union("RulebookResult")]
CreateRulebookResult = Annotated[
    Rulebook | InvalidInput | Forbidden | RolledBack, strawberry.union("CreateRulebookResult")
]
SaveDraftResult = Annotated[
    Rulebook | Conflict | NotFoundError | InvalidInput | Forbidden | RolledBack, strawberry.union("SaveDraftResult")
]


@strawberry.type
class RulebookQueries:
    @strawberry.field(description="Your clinic's rulebooks, optionally for one payer.")
    async def rulebooks(self, info: Info, payer: str | None = None) -> list[Rulebook]:
        ctx = context(info)
        require(info, Permission.RULEBOOKS_READ)
        statement = select(RulebookRecord).order_by(RulebookRecord.payer_code, RulebookRecord.name)
        if payer is not None:
            statement = statement.where(RulebookRecord.payer_code == payer)
        async with ctx.lock:
            rows = (await (await ctx.session()).execute(statement)).scalars().all()
        return [Rulebook.from_row(row) for row in rows]

    @strawberry.field
    async def rulebook(self, info: Info, id: strawberry.ID) -> RulebookResult:
        ctx = context(info)
        require(info, Permission.RULEBOOKS_READ)
        rulebook_id = from_global_id(str(id), "Rulebook")
        async with ctx.lock:
            row = (
                (
                    await (await ctx.session()).execute(select(RulebookRecord).where(RulebookRecord.id == rulebook_id))
                ).scalar_one_or_none()
                if rulebook_id
                else None
            )
        return Rulebook.from_row(row) if row else NotFoundError(message="no rulebook with that id")


@strawberry.type
class RulebookMutations:
    @strawberry.mutation(description="Create a rulebook with a first draft.")
    async def create_rulebook(
        self,
        info: Info,
        name: str,
        payer: str | None = None,
        layer: RulebookLayer = RulebookLayer.payer,
        text: str = "",
    ) -> CreateRulebookResult:
        ctx = context(info)
        principal = allowed(info, Permission.RULEBOOKS_WRITE)
        if isinstance(principal, Forbidden):
            return principal
        if not name.strip():  # its length, NUL and surrogates: server.api.validation (which also trims it)
            return InvalidInput.single("name", "a rulebook needs a name of 1 to 200 characters")
        async with ctx.lock:
            session = await ctx.session()
            taken = (await session.execute(select(RulebookRecord.id).where(RulebookRecord.name == name))).first()
            if taken:
                return InvalidInput.single("name", "your clinic already has a rulebook with that name")
            row = RulebookRecord(
                tenant_id=principal.tenant_id,
                name=name.strip(),
                payer_code=payer,
                layer=layer.value,
                draft_text=text,
                draft_updated_by=principal.user_id,
            )
            session.add(row)
            await session.flush()
            await ctx.audit("rulebook.create", "rules", object_type="Rulebook", object_ids=[row.id])
        return Rulebook.from_row(row)

    @strawberry.mutation(
        description="Save the draft. `baseRevision` is the revision you edited; if someone saved "
        "since, nothing is overwritten and you get a Conflict."
    )
    async def save_rulebook_draft(
        self, info: Info, id: strawberry.ID, text: str, base_revision: int
    ) -> SaveDraftResult:
        ctx = context(info)
        principal = allowed(info, Permission.RULEBOOKS_WRITE)
        if isinstance(principal, Forbidden):
            return principal
        rulebook_id = from_global_id(str(id), "Rulebook")
        async with ctx.lock:
            session = await ctx.session()
            row = (
                (
                    await session.execute(
                        select(RulebookRecord).where(RulebookRecord.id == rulebook_id).with_for_update()
                    )
                ).scalar_one_or_none()
                if rulebook_id
                else None
            )
            if row is None:
                return NotFoundError(message="no rulebook with that id")
            if row.draft_revision != base_revision:
                return Conflict(
                    message=f"this draft was saved by someone else since revision {base_revision}; "
                    "reload it and apply your change again",
                    current_revision=row.draft_revision,
                )
            row.draft_text = text
            row.draft_revision += 1
            row.draft_updated_at = utcnow()
            row.draft_updated_by = principal.user_id
            await ctx.audit(
                "rulebook.draft.save",
                "rules",
                object_type="Rulebook",
                object_ids=[row.id],
                detail=f"revision {row.draft_revision}",
            )
        return Rulebook.from_row(row)
