"""The caller's clinic: its payer mix (EHR payer ids mapped to rulebook payers) and fee schedules."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Annotated

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from server.api.common import Forbidden, InvalidInput, Node, RolledBack, allowed, context, require
from server.api.ids import to_global_id
from server.models import FeeScheduleEntry, Payer
from tenants import accounts
from tenants.roles import Permission

PAYER_CODE = re.compile(r"^[A-Z][A-Z0-9_-]{1,31}$")
PROCEDURE_CODE = re.compile(r"^([0-9]{4}[0-9A-Z]|[A-V][0-9]{4})$")


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


@strawberry.type
class Clinic(Node):
    slug: str
    name: str

    @strawberry.field
    async def payers(self, info: Info) -> list[PayerInfo]:
        ctx = context(info)
        async with ctx.lock:
            rows = (await (await ctx.session()).execute(select(Payer).order_by(Payer.code))).scalars().all()
        return [PayerInfo.from_row(row) for row in rows]

    @strawberry.field
    async def fee_schedule(self, info: Info, schedule: FeeScheduleKind) -> list[Fee]:
        ctx = context(info)
        async with ctx.lock:
            rows = (
                (
                    await (await ctx.session()).execute(
                        select(FeeScheduleEntry)
                        .where(FeeScheduleEntry.schedule == schedule.value)
                        .order_by(FeeScheduleEntry.code)
                    )
                )
                .scalars()
                .all()
            )
        return [Fee(schedule=schedule, code=row.code, fee=str(row.fee)) for row in rows]


SavePayerResult = Annotated[PayerInfo | InvalidInput | Forbidden | RolledBack, strawberry.union("SavePayerResult")]
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
        column = Payer.ehr_payer_id if system is PayerIdSystem.ehr else Payer.clearinghouse_payer_id
        async with ctx.lock:
            row = (await (await ctx.session()).execute(select(Payer).where(column == external_id))).scalars().first()
        return PayerInfo.from_row(row) if row else None

    @strawberry.field(description="Your clinic (from your credentials; never chosen by an argument).")
    async def clinic(self, info: Info) -> Clinic:
        ctx = context(info)
        principal = require(info, Permission.CLINIC_READ)
        async with ctx.lock:
            (tenant,) = await accounts.clinics(await ctx.session(), [principal.tenant_id])
        return Clinic(id=strawberry.ID(to_global_id("Tenant", tenant.id)), slug=tenant.slug, name=tenant.name)


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
        if not PAYER_CODE.match(code):
            return InvalidInput.single("code", "a payer code is 2-32 capitals, digits, - or _ (e.g. AETNA)")
        if plan_type not in ("commercial", "medicare_ffs", "medicare_advantage", "medicaid", "self_pay"):
            return InvalidInput.single(
                "planType", "one of commercial, medicare_ffs, medicare_advantage, medicaid, self_pay"
            )
        async with ctx.lock:
            session = await ctx.session()
            payer = (await session.execute(select(Payer).where(Payer.code == code))).scalar_one_or_none()
            if payer is None:
                payer = Payer(tenant_id=principal.tenant_id, code=code, name=name, plan_type=plan_type)
                session.add(payer)
            payer.name, payer.plan_type = name, plan_type
            payer.ehr_payer_id, payer.clearinghouse_payer_id = ehr_payer_id, clearinghouse_payer_id
            await session.flush()
            await ctx.audit("payer.save", "admin", object_type="Payer", object_ids=[payer.id])
        return PayerInfo.from_row(payer)

    @strawberry.mutation(description="Set one fee in the medical or cosmetic schedule.")
    async def set_fee(self, info: Info, schedule: FeeScheduleKind, code: str, fee: str) -> SetFeeResult:
        ctx = context(info)
        principal = allowed(info, Permission.CLINIC_ADMIN)
        if isinstance(principal, Forbidden):
            return principal
        if not PROCEDURE_CODE.match(code):
            return InvalidInput.single("code", "a CPT or HCPCS code such as 17000 or J0585")
        try:
            amount = Decimal(fee).quantize(Decimal("0.01"))
        except InvalidOperation:
            amount = Decimal(-1)
        if not amount.is_finite() or amount < 0 or amount > Decimal("99999999"):
            return InvalidInput.single("fee", "a fee is a non-negative amount such as 125.00")
        async with ctx.lock:
            session = await ctx.session()
            entry = (
                await session.execute(
                    select(FeeScheduleEntry).where(
                        FeeScheduleEntry.schedule == schedule.value, FeeScheduleEntry.code == code
                    )
                )
            ).scalar_one_or_none()
            if entry is None:
                entry = FeeScheduleEntry(tenant_id=principal.tenant_id, schedule=schedule.value, code=code, fee=amount)
                session.add(entry)
            entry.fee = amount
            await session.flush()
            ctx.services.fee_cache.evict(principal.tenant_id)
            await ctx.audit("fee.set", "admin", object_type="FeeScheduleEntry", object_ids=[entry.id])
        return Fee(schedule=schedule, code=code, fee=str(amount))
