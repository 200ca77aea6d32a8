"""Claims in the API: the clinic's billing setup, read and saved whole (the same JSON as
docs/examples/billing-setup.json), and the 837P claims built from stored codings, numbered per
encounter. The checks and the SQL are in server/claims/service.py."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import Enum
from typing import Annotated, cast

import strawberry
from strawberry.scalars import JSON
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
    refused,
    require,
)
from server.api.ids import from_global_id, to_global_id
from server.claims import service
from server.errors import Conflict as ConflictError
from server.errors import InputInvalid, NotFound
from server.models import BillingSetupRecord, ClaimRecord
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


@strawberry.enum(description="CLM05-3: 1 an original claim, 7 a replacement of a prior claim, 8 its void.")
class ClaimFrequency(Enum):
    ORIGINAL = "1"
    REPLACEMENT = "7"
    VOID = "8"


@strawberry.type(description="One 837P (005010X222A1) as it passed pyx12 and the semantic checks.")
class Claim(Node):
    version: int = strawberry.field(description="1 for an encounter's first claim; each replacement or void adds one.")
    frequency: ClaimFrequency
    patient_control_number: str
    payer_claim_control_number: str | None
    total: str
    setup_revision: int = strawberry.field(description="The billing setup revision it was built with.")
    encounter_id: strawberry.ID
    coding_id: strawberry.ID = strawberry.field(description="The coding (version) the claim was built from.")
    override_ids: list[strawberry.ID] = strawberry.field(
        description="The biller's line overrides (LineOverride ids) the claim was built with: the coding as approved."
    )
    created_at: dt.datetime
    x12: str

    @classmethod
    def from_row(cls, row: ClaimRecord) -> Claim:
        return cls(
            id=strawberry.ID(to_global_id("Claim", row.id)),
            version=row.version,
            frequency=ClaimFrequency(row.frequency),
            patient_control_number=row.patient_control_number,
            payer_claim_control_number=row.payer_claim_control_number,
            total=str(row.total),
            setup_revision=row.setup_revision,
            encounter_id=strawberry.ID(to_global_id("Encounter", row.encounter_id)),
            coding_id=strawberry.ID(to_global_id("Coding", row.coding_id)),
            override_ids=[strawberry.ID(to_global_id("LineOverride", uuid.UUID(i))) for i in row.override_ids],
            created_at=row.created_at,
            x12=row.x12,
        )


BuildClaimResult = Annotated[
    Claim | InvalidInput | NotFoundError | Conflict | Forbidden | RolledBack, strawberry.union("BuildClaimResult")
]
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

    @strawberry.field(description="Every claim version of an encounter (all its versions), oldest first.")
    async def claims(self, info: Info, encounter_id: strawberry.ID) -> list[Claim] | None:
        ctx = context(info)
        require(info, Permission.ENCOUNTERS_READ)
        async with ctx.lock:
            try:
                rows = await service.claims_of_encounter(
                    await ctx.session(), from_global_id(str(encounter_id), "Encounter")
                )
            except NotFound:
                return None
        return [Claim.from_row(row) for row in rows]


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

    @strawberry.mutation(
        description="Build the encounter's next claim (837P) from its latest coding as the biller approved it (its "
        "line overrides in place) and the clinic's billing setup, "
        "and keep it once pyx12 and the semantic checks pass: the first claim is an original, a later one a "
        "replacement or void naming the payer's claim control number. `subscriber` is the insured "
        "(last_name, first_name, birth_date, sex F|M|U, member_id, group_number, address, and patient when the patient "
        "is someone else: relationship PAT01, names, birth_date, sex, address): the shape of "
        "docs/examples/subscriber.json and subscriber-dependent.json. Every problem comes back located (input path, or "
        "loop, segment, element)."
    )
    async def build_claim(
        self,
        info: Info,
        encounter_id: strawberry.ID,
        subscriber: JSON,
        frequency: ClaimFrequency = ClaimFrequency.ORIGINAL,
        payer_claim_control_number: str | None = None,
        clearinghouse: str | None = None,
    ) -> BuildClaimResult:
        ctx = context(info)
        principal = allowed(info, Permission.ENCOUNTERS_WRITE)
        if isinstance(principal, Forbidden):
            return principal
        async with ctx.lock:
            try:
                row = await service.build_claim(
                    await ctx.session(),
                    ctx.services.cpu,
                    principal.tenant_id,
                    principal.user_id,
                    from_global_id(str(encounter_id), "Encounter"),
                    subscriber,
                    frequency.value,
                    payer_claim_control_number,
                    clearinghouse,
                )
            except (InputInvalid, NotFound, ConflictError) as error:
                return refused(error)
            await ctx.audit(
                "claim.build",
                "phi_write",
                object_type="Claim",
                object_ids=[row.encounter_id, row.id],
                detail=f"version {row.version}, frequency {row.frequency}",
            )
        return Claim.from_row(row)
