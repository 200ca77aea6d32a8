"""The caller's clinic: its payer mix (EHR and clearinghouse payer ids mapped to rulebook payer codes)
and its fee schedules.

Every function takes a session scoped to the clinic; the tenant of a new row is the principal's,
never an argument a client chose. Refusals are `InputInvalid` naming the field, so the API and
the CLI give the same answer.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rulebooks.models.encounter import COSMETIC_ITEM_CODE_FORMAT
from server.db import get_by_id
from server.errors import InputInvalid, NotFound
from server.models import FeeScheduleEntry, Payer
from tenants import accounts
from tenants.accounts import Clinic
from tenants.scoping import session_tenant

PAYER_CODE = re.compile(r"^[A-Z][A-Z0-9_-]{1,31}$")
PROCEDURE_CODE = re.compile(r"^([0-9]{4}[0-9A-Z]|[A-V][0-9]{4})$")
PLAN_TYPES = ("commercial", "medicare_ffs", "medicare_advantage", "medicaid", "self_pay")
FEE_SCHEDULES = ("medical", "cosmetic")
MAX_FEE = Decimal("99999999")  # Numeric(10, 2)
NO_SUCH_PAYER = "no such payer in your clinic"


async def get_clinic(session: AsyncSession, tenant_id: uuid.UUID | None) -> Clinic:
    """The session's own clinic, read through the one door to the shared tenants table; any other
    clinic's id is not found (a clinic sees no other)."""
    if tenant_id is None or tenant_id != session_tenant(session.sync_session):
        raise NotFound("no such clinic")
    found = await accounts.clinics(session, [tenant_id])
    if not found:
        raise NotFound("no such clinic")
    return found[0]


async def list_payers(session: AsyncSession) -> list[Payer]:
    """The clinic's payers, by code."""
    return list((await session.execute(select(Payer).order_by(Payer.code))).scalars().all())


async def get_payer(session: AsyncSession, payer_id: uuid.UUID | None) -> Payer:
    return await get_by_id(session, Payer, payer_id, NO_SUCH_PAYER)


async def payer_by_external_id(session: AsyncSession, external_id: str, *, clearinghouse: bool) -> Payer | None:
    """The payer an EHR (or, with `clearinghouse`, a clearinghouse) knows by this id; adapters map with it."""
    column = Payer.clearinghouse_payer_id if clearinghouse else Payer.ehr_payer_id
    return (await session.execute(select(Payer).where(column == external_id))).scalars().first()


@dataclass(frozen=True)
class PayerFields:
    """What a clinic says about one payer of its mix."""

    code: str
    name: str
    plan_type: str
    ehr_payer_id: str | None = None
    clearinghouse_payer_id: str | None = None


def check_payer(fields: PayerFields) -> None:
    """Refuse a payer code a rulebook could not name, or a plan type the engine does not know."""
    if not PAYER_CODE.match(fields.code):
        raise InputInvalid.at("code", "a payer code is 2-32 capitals, digits, - or _ (e.g. AETNA)")
    if fields.plan_type not in PLAN_TYPES:
        raise InputInvalid.at("planType", f"one of {', '.join(PLAN_TYPES)}")


async def save_payer(session: AsyncSession, tenant_id: uuid.UUID, fields: PayerFields) -> Payer:
    """Add the payer, or update the one with the same code (the code is how rulebooks name it)."""
    check_payer(fields)
    payer = (await session.execute(select(Payer).where(Payer.code == fields.code))).scalar_one_or_none()
    if payer is None:
        payer = Payer(tenant_id=tenant_id, code=fields.code, name=fields.name, plan_type=fields.plan_type)
        session.add(payer)
    payer.name, payer.plan_type = fields.name, fields.plan_type
    payer.ehr_payer_id, payer.clearinghouse_payer_id = fields.ehr_payer_id, fields.clearinghouse_payer_id
    await session.flush()
    return payer


async def fee_schedule(session: AsyncSession, schedule: str) -> list[FeeScheduleEntry]:
    """One schedule's fees, by procedure code."""
    statement = select(FeeScheduleEntry).where(FeeScheduleEntry.schedule == schedule).order_by(FeeScheduleEntry.code)
    return list((await session.execute(statement)).scalars().all())


def parse_fee(text: str) -> Decimal:
    """A fee as typed, in cents; `InputInvalid` on the `fee` field when it is not an amount the schedule holds.

    >>> parse_fee("125")
    Decimal('125.00')
    >>> parse_fee("12.345")  # a half cent rounds to even
    Decimal('12.34')
    """
    try:
        amount = Decimal(text).quantize(Decimal("0.01"))
    except InvalidOperation:
        amount = Decimal(-1)
    if not amount.is_finite() or amount < 0 or amount > MAX_FEE:
        raise InputInvalid.at("fee", "a fee is a non-negative amount such as 125.00")
    return amount


async def set_fee(session: AsyncSession, tenant_id: uuid.UUID, schedule: str, code: str, fee: str) -> FeeScheduleEntry:
    """Set one fee of the medical or cosmetic schedule (added when the code has none yet); the cosmetic
    schedule also prices menu items under the clinic's own item codes."""
    if schedule not in FEE_SCHEDULES:
        raise InputInvalid.at("schedule", f"one of {', '.join(FEE_SCHEDULES)}")
    if schedule == "cosmetic" and not PROCEDURE_CODE.match(code) and not COSMETIC_ITEM_CODE_FORMAT.match(code):
        raise InputInvalid.at(
            "code",
            "a CPT or HCPCS code such as 15788, or the clinic's item code of a cosmetic menu item "
            "(2-8 capitals or digits, such as HYDRAFAC)",
        )
    if schedule != "cosmetic" and not PROCEDURE_CODE.match(code):
        raise InputInvalid.at("code", "a CPT or HCPCS code such as 17000 or J0585")
    amount = parse_fee(fee)
    entry = (
        await session.execute(
            select(FeeScheduleEntry).where(FeeScheduleEntry.schedule == schedule, FeeScheduleEntry.code == code)
        )
    ).scalar_one_or_none()
    if entry is None:
        entry = FeeScheduleEntry(tenant_id=tenant_id, schedule=schedule, code=code, fee=amount)
        session.add(entry)
    entry.fee = amount
    await session.flush()
    return entry
