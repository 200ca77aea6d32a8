"""Query and Mutation; one GraphQL operation is one transaction (see `OperationTransaction`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import strawberry
from strawberry.extensions import MaskErrors, QueryDepthLimiter, SchemaExtension
from strawberry.permission import BasePermission
from strawberry.types import Info

from graphql import GraphQLError
from rulebooks.models import Coding as CodingModel
from server import encounters
from server.api import types
from server.api.context import CutisContext
from server.api.ids import from_global_id, to_global_id
from server.api.inputs import EncounterInput, to_payload
from server.errors import CutisError, InputInvalid, NotFound
from server.jobs import OutboxRef, relay
from server.models import EncounterRecord


def _context(info: Info) -> CutisContext:
    return info.context


class Authenticated(BasePermission):
    """Every clinic operation needs a principal; the tenant comes from it, never from arguments."""

    message = "authentication required: send `Authorization: Bearer <api key>`"
    error_extensions = {"code": "UNAUTHENTICATED"}  # noqa: RUF012 - strawberry reads it

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return _context(info).principal is not None


AUTHENTICATED: list[type[BasePermission]] = [Authenticated]


async def _encounter_type(ctx: CutisContext, record: EncounterRecord) -> types.Encounter:
    coding_record = await encounters.latest_coding(await ctx.session(), record.id)
    global_id = to_global_id("Encounter", record.id)
    coding = types.coding_type(CodingModel.model_validate(coding_record.payload), global_id) if coding_record else None
    return types.Encounter(
        id=strawberry.ID(global_id),
        external_id=record.external_id,
        version=record.version,
        previous_version_id=strawberry.ID(to_global_id("Encounter", record.previous_id))
        if record.previous_id
        else None,
        status=record.status,
        date_of_service=record.date_of_service,
        payer=record.payer_code,
        coding=coding,
    )


@strawberry.type
class Query:
    @strawberry.field(
        permission_classes=AUTHENTICATED,
        description="An encounter version of the caller's clinic, with its latest coding.",
    )
    async def encounter(self, info: Info, id: strawberry.ID) -> types.EncounterResult:
        ctx = _context(info)
        async with ctx.lock:
            encounter_id = from_global_id(str(id), "Encounter")
            try:
                if encounter_id is None:
                    raise NotFound("no encounter with that id")
                record = await encounters.get_encounter(await ctx.session(), encounter_id)
            except NotFound as error:
                return types.NotFoundError(message=error.message)
            return await _encounter_type(ctx, record)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        permission_classes=AUTHENTICATED,
        description="Validate, store and code an encounter now; returns the explained coding.",
    )
    async def code_encounter(self, info: Info, input: EncounterInput) -> types.CodeEncounterResult:
        ctx = _context(info)
        async with ctx.lock:
            principal = ctx.require_principal()
            try:
                encounter = encounters.parse_encounter(to_payload(input))
            except InputInvalid as error:
                ctx.failed = True
                return types.InvalidInput.from_error(error)
            session = await ctx.session()
            record = await encounters.store_encounter(session, principal.tenant_id, encounter)
            coding, _ = await encounters.code_stored_encounter(session, record)
            encounter_type = await _encounter_type(ctx, record)
            return types.CodedEncounter(
                encounter=encounter_type,
                coding=encounter_type.coding or types.coding_type(coding, str(encounter_type.id)),
            )

    @strawberry.mutation(
        permission_classes=AUTHENTICATED, description="Validate and store an encounter, and code it in the background."
    )
    async def submit_encounter(self, info: Info, input: EncounterInput) -> types.SubmitEncounterResult:
        ctx = _context(info)
        async with ctx.lock:
            principal = ctx.require_principal()
            try:
                encounter = encounters.parse_encounter(to_payload(input))
            except InputInvalid as error:
                ctx.failed = True
                return types.InvalidInput.from_error(error)
            session = await ctx.session()
            record = await encounters.store_encounter(session, principal.tenant_id, encounter)
            message = await encounters.enqueue_coding(session, record)
            ctx.relay_after_commit.append(OutboxRef(message.id, principal.tenant_id))
            return types.SubmittedEncounter(encounter=await _encounter_type(ctx, record))


class OperationTransaction(SchemaExtension):
    """Commit when the operation has no errors and no typed failure; otherwise roll back.

    Then relay the committed outbox rows (never before commit: a job must not see a row that
    might still roll back).
    """

    async def on_execute(self) -> AsyncIterator[None]:
        yield
        ctx: CutisContext = self.execution_context.context
        result = self.execution_context.result
        ok = not ctx.failed and not (result is not None and getattr(result, "errors", None))
        await ctx.finish(commit=ok)
        if ok and ctx.relay_after_commit:
            await relay(ctx.services.session_factory, ctx.services.queue, list(ctx.relay_after_commit))


def _should_mask(error: GraphQLError) -> bool:
    original = error.original_error
    if original is None:  # syntax and validation errors: the client needs to see them
        return False
    return not isinstance(original, CutisError | GraphQLError)


def build_schema(*, production: bool = False) -> strawberry.Schema:
    extensions: list[Any] = [
        OperationTransaction,
        lambda: QueryDepthLimiter(max_depth=12),
        lambda: MaskErrors(should_mask_error=_should_mask, error_message="internal error"),
    ]
    return strawberry.Schema(query=Query, mutation=Mutation, extensions=extensions)
