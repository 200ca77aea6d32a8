"""The clinic's rulebooks and their drafts, saved with optimistic concurrency."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Annotated

import strawberry
from strawberry.types import Info

from server import rulebook_drafts
from server.api.common import (
    Conflict,
    Forbidden,
    InvalidInput,
    Node,
    NotFoundError,
    RolledBack,
    allowed,
    context,
    refused,
    require,
)
from server.api.ids import from_global_id, to_global_id
from server.errors import Conflict as ConflictError
from server.errors import InputInvalid, NotFound
from server.models import RulebookRecord
from tenants.roles import Permission


@strawberry.enum
class RulebookLayer(Enum):
    base = "base"
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
    status: str = strawberry.field(description="draft: the working text (its versions: rulebookVersions)")
    template_name: str | None = strawberry.field(description="The shipped template it was adopted from, if any.")
    template_version: str | None = strawberry.field(description="That template's release when adopted (or updated).")

    @strawberry.field(
        description="The shipped template has a newer release than the one adopted (adoptTemplate update)."
    )
    def update_available(self) -> bool:
        if self.template_name is None:
            return False
        from server.rulebook_versions import templates

        current = next((t.version for t in templates() if t.name == self.template_name), None)
        return current is not None and current != self.template_version

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
            template_name=row.template_name,
            template_version=row.template_version,
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
        async with ctx.lock:
            rows = await rulebook_drafts.list_rulebooks(await ctx.session(), payer)
        return [Rulebook.from_row(row) for row in rows]

    @strawberry.field
    async def rulebook(self, info: Info, id: strawberry.ID) -> RulebookResult:
        ctx = context(info)
        require(info, Permission.RULEBOOKS_READ)
        async with ctx.lock:
            try:
                row = await rulebook_drafts.get_rulebook(await ctx.session(), from_global_id(str(id), "Rulebook"))
            except NotFound as error:
                return refused(error)
        return Rulebook.from_row(row)


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
        async with ctx.lock:
            try:
                row = await rulebook_drafts.create_rulebook(
                    await ctx.session(), principal, name, payer, layer.value, text
                )
            except InputInvalid as error:
                return refused(error)
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
        async with ctx.lock:
            try:
                row = await rulebook_drafts.save_draft(
                    await ctx.session(), principal, from_global_id(str(id), "Rulebook"), text, base_revision
                )
            except (NotFound, ConflictError) as error:
                return refused(error)
            await ctx.audit(
                "rulebook.draft.save",
                "rules",
                object_type="Rulebook",
                object_ids=[row.id],
                detail=f"revision {row.draft_revision}",
            )
        return Rulebook.from_row(row)
