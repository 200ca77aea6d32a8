"""The caller's clinic: its payer mix (EHR payer ids mapped to rulebook payers) and fee schedules."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Annotated

import strawberry
from strawberry.types import Info

from server import clinic
from server import review_delegation as delegation
from server.api.common import Forbidden, InvalidInput, Node, RolledBack, allowed, context, refused, require
from server.api.ids import to_global_id
from server.errors import Forbidden as Refused
from server.errors import InputInvalid
from server.models import Payer, ReviewDelegation
from tenants import accounts
from tenants.roles import Permission


@strawberry.enum
class FeeScheduleKind(Enum):
    medical = "medical"
    cosmetic = "cosmetic"


@strawberry.type
class PayerInfo(Node):
    code: str
    name: str
    plan_type: str
    ehr_payer_id: str | None
    clearinghouse_payer_id: str | None

    @classmethod
    def from_row(cls, row: Payer) -> PayerInfo:
        return cls(
            id=strawberry.ID(to_global_id("Payer", row.id)),
            code=row.code,
            name=row.name,
            plan_type=row.plan_type,
            ehr_payer_id=row.ehr_payer_id,
            clearinghouse_payer_id=row.clearinghouse_payer_id,
        )


@strawberry.type
class Fee:
    schedule: FeeScheduleKind
    code: str
    fee: str


@strawberry.type(
    description="Whether onboarding staff may take the reviewer's part (approve or send back a rulebook version) "
    "in a clinic whose single qualified approver is its owner."
)
class ReviewDelegationInfo:
    onboarding_may_review: bool = strawberry.field(
        description="Set by the owner; it grants nothing while the clinic has two qualified approvers."
    )
    qualified_approvers: int = strawberry.field(description="Owners and compliance reviewers of the clinic now.")
    in_effect: bool = strawberry.field(description="Set, and the clinic has a single qualified approver.")
    changed_by: strawberry.ID | None
    changed_at: dt.datetime | None

    @classmethod
    def of(cls, row: ReviewDelegation | None, qualified: int) -> ReviewDelegationInfo:
        granted = row is not None and row.onboarding_may_review
        return cls(
            onboarding_may_review=granted,
            qualified_approvers=qualified,
            in_effect=granted and qualified == 1,
            changed_by=strawberry.ID(to_global_id("User", row.changed_by)) if row and row.changed_by else None,
            changed_at=row.changed_at if row else None,
        )


@strawberry.type
class Clinic(Node):
    slug: str
    name: str

    @classmethod
    def from_clinic(cls, clinic: accounts.Clinic) -> Clinic:
        return cls(id=strawberry.ID(to_global_id("Tenant", clinic.id)), slug=clinic.slug, name=clinic.name)

    @strawberry.field
    async def payers(self, info: Info) -> list[PayerInfo]:
        ctx = context(info)
        async with ctx.lock:
            rows = await clinic.list_payers(await ctx.session())
        return [PayerInfo.from_row(row) for row in rows]

    @strawberry.field
    async def fee_schedule(self, info: Info, schedule: FeeScheduleKind) -> list[Fee]:
        ctx = context(info)
        async with ctx.lock:
            rows = await clinic.fee_schedule(await ctx.session(), schedule.value)
        return [Fee(schedule=schedule, code=row.code, fee=str(row.fee)) for row in rows]

    @strawberry.field(description="Whether onboarding staff may take the reviewer's part here.")
    async def review_delegation(self, info: Info) -> ReviewDelegationInfo:
        ctx = context(info)
        async with ctx.lock:
            session = await ctx.session()
            return ReviewDelegationInfo.of(
                await delegation.delegation(session), await delegation.qualified_approvers(session)
            )


SavePayerResult = Annotated[PayerInfo | InvalidInput | Forbidden | RolledBack, strawberry.union("SavePayerResult")]
ReviewDelegationResult = Annotated[
    ReviewDelegationInfo | InvalidInput | Forbidden | RolledBack, strawberry.union("ReviewDelegationResult")
]
SetFeeResult = Annotated[Fee | InvalidInput | Forbidden | RolledBack, strawberry.union("SetFeeResult")]


@strawberry.enum
class PayerIdSystem(Enum):
    ehr = "ehr"
    clearinghouse = "clearinghouse"


@strawberry.type
class ClinicQueries:
    @strawberry.field(description="The clinic's payer for an id its EHR or clearinghouse uses (adapters map with it).")
    async def payer_by_external_id(self, info: Info, system: PayerIdSystem, external_id: str) -> PayerInfo | None:
        ctx = context(info)
        require(info, Permission.CLINIC_READ)
        async with ctx.lock:
            row = await clinic.payer_by_external_id(
                await ctx.session(), external_id, clearinghouse=system is PayerIdSystem.clearinghouse
            )
        return PayerInfo.from_row(row) if row else None

    @strawberry.field(description="Your clinic (from your credentials; never chosen by an argument).")
    async def clinic(self, info: Info) -> Clinic:
        ctx = context(info)
        principal = require(info, Permission.CLINIC_READ)
        async with ctx.lock:
            found = await clinic.get_clinic(await ctx.session(), principal.tenant_id)
        return Clinic.from_clinic(found)


@strawberry.type
class ClinicMutations:
    @strawberry.mutation(description="Add or update a payer of your mix, keyed by its rulebook payer code.")
    async def save_payer(
        self,
        info: Info,
        code: str,
        name: str,
        plan_type: str,
        ehr_payer_id: str | None = None,
        clearinghouse_payer_id: str | None = None,
    ) -> SavePayerResult:
        ctx = context(info)
        principal = allowed(info, Permission.CLINIC_ADMIN)
        if isinstance(principal, Forbidden):
            return principal
        fields = clinic.PayerFields(code, name, plan_type, ehr_payer_id, clearinghouse_payer_id)
        async with ctx.lock:
            try:
                payer = await clinic.save_payer(await ctx.session(), principal.tenant_id, fields)
            except InputInvalid as error:
                return refused(error)
            await ctx.audit("payer.save", "admin", object_type="Payer", object_ids=[payer.id])
        return PayerInfo.from_row(payer)

    @strawberry.mutation(
        description="The owner of a clinic with a single qualified approver lets onboarding staff take the "
        "reviewer's part (approve or send back rulebook versions; publishing stays with the owner), or takes it "
        "back. Asks for a fresh `totpCode`; audited."
    )
    async def set_review_delegation(
        self, info: Info, onboarding_may_review: bool, totp_code: str | None = None
    ) -> ReviewDelegationResult:
        ctx = context(info)
        principal = allowed(info, Permission.USERS_ADMIN)
        if isinstance(principal, Forbidden):
            return principal
        async with ctx.lock:
            session = await ctx.session()
            try:
                row = await delegation.set_onboarding_review(
                    session, principal, ctx.services.secret_box, granted=onboarding_may_review, totp_code=totp_code
                )
            except (InputInvalid, Refused) as error:
                return refused(error)
            await ctx.audit(
                "clinic.review_delegation",
                "admin",
                object_type="Tenant",
                object_ids=[principal.tenant_id],
                detail="onboarding staff may review" if onboarding_may_review else "onboarding staff may not review",
            )
            return ReviewDelegationInfo.of(row, await delegation.qualified_approvers(session))

    @strawberry.mutation(
        description="Set one fee in the medical or cosmetic schedule (cosmetic: a CPT/HCPCS code or the "
        "clinic's item code of a menu item, 2-8 capitals or digits)."
    )
    async def set_fee(self, info: Info, schedule: FeeScheduleKind, code: str, fee: str) -> SetFeeResult:
        ctx = context(info)
        principal = allowed(info, Permission.CLINIC_ADMIN)
        if isinstance(principal, Forbidden):
            return principal
        async with ctx.lock:
            try:
                entry = await clinic.set_fee(await ctx.session(), principal.tenant_id, schedule.value, code, fee)
            except InputInvalid as error:
                return refused(error)
            ctx.services.fee_cache.evict(principal.tenant_id)
            await ctx.audit("fee.set", "admin", object_type="FeeScheduleEntry", object_ids=[entry.id])
        return Fee(schedule=schedule, code=entry.code, fee=str(entry.fee))
