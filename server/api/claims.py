"""Claims in the API: the clinic's billing setup, read and saved whole (the same JSON as
docs/examples/billing-setup.json). The checks and the SQL are in server/claims/service.py."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from server.api.common import Conflict, Forbidden, InvalidInput, RolledBack, allowed, context, refused, require
from server.claims import service
from server.errors import Conflict as ConflictError
from server.errors import InputInvalid
from server.models import BillingSetupRecord
from tenants.roles import Permission


@strawberry.type(description="The clinic's billing setup at one revision.")
class BillingSetup:
    revision: int
    created_at: dt.datetime
    setup: JSON = strawberry.field(
        description="billing_provider (name, npi, tax_id, taxonomy, address), submitter (name, phone), "
        "rendering_providers (npi, last_name, first_name, taxonomy), clearinghouses (code, name, submitter_id, "
        "receiver_id, usage T|P, payer_ids: payer, payer_id, name) and default_clearinghouse: the shape of "
        "docs/examples/billing-setup.json."
    )

    @classmethod
    def from_row(cls, row: BillingSetupRecord) -> BillingSetup:
        return cls(revision=row.revision, created_at=row.created_at, setup=cast(JSON, row.document))


SaveBillingSetupResult = Annotated[
    BillingSetup | InvalidInput | Conflict | Forbidden | RolledBack, strawberry.union("SaveBillingSetupResult")
]


@strawberry.type
class ClaimsQueries:
    @strawberry.field(description="Your clinic's billing setup; null until one is saved.")
    async def billing_setup(self, info: Info) -> BillingSetup | None:
        ctx = context(info)
        require(info, Permission.CLINIC_READ)
        async with ctx.lock:
            row = await service.billing_setup_of_clinic(await ctx.session())
        return BillingSetup.from_row(row) if row else None


@strawberry.type
class ClaimsMutations:
    @strawberry.mutation(
        description="Save the whole billing setup as its next revision: validated first (each problem with its "
        "path), based on the revision you read (none for the first save), never merged."
    )
    async def save_billing_setup(
        self, info: Info, setup: JSON, base_revision: int | None = None
    ) -> SaveBillingSetupResult:
        ctx = context(info)
        principal = allowed(info, Permission.CLINIC_ADMIN)
        if isinstance(principal, Forbidden):
            return principal
        async with ctx.lock:
            try:
                row = await service.save_billing_setup(
                    await ctx.session(), ctx.services.cpu, principal.tenant_id, principal.user_id, setup, base_revision
                )
            except (InputInvalid, ConflictError) as error:
                return refused(error)
            await ctx.audit(
                "billing_setup.save",
                "admin",
                object_type="BillingSetup",
                object_ids=[row.id],
                detail=f"revision {row.revision}",
            )
        return BillingSetup.from_row(row)
