"""The demo tenant: a clinic with a payer mix and both fee schedules, seeded idempotently."""

from __future__ import annotations

import csv
import uuid
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rulebooks.engine import FeeSchedules
from server import rulebook_versions
from server.db import global_session, tenant_session
from server.models import FeeScheduleEntry, Membership, Payer
from tenants import accounts
from tenants.auth import create_user
from tenants.base import utcnow
from tenants.keys import IssuedKey, issue_api_key

DEMO_SLUG = "demo"
DATA_DIR = Path(__file__).resolve().parent / "demo_data"


def demo_payer_rows() -> list[dict[str, str]]:
    """The demo clinic's payer mix (code, name, plan type, EHR and clearinghouse ids)."""
    with (DATA_DIR / "payers.csv").open() as handle:
        return list(csv.DictReader(handle))


def demo_fee_rows() -> list[dict[str, str]]:
    with (DATA_DIR / "fees.csv").open() as handle:
        return list(csv.DictReader(handle))


def demo_fee_schedules() -> FeeSchedules:
    """The demo fees as the engine takes them (used by `cutis code` offline)."""
    fees = FeeSchedules()
    for row in demo_fee_rows():
        target = fees.cosmetic if row["schedule"] == "cosmetic" else fees.medical
        target[row["code"]] = Decimal(row["fee"])
    return fees


async def seed_demo(factory: async_sessionmaker[AsyncSession]) -> uuid.UUID:
    """Create the demo tenant if absent, with payers and fee schedules; returns its id."""
    async with global_session(factory) as session:
        clinic = await accounts.clinic_by_slug(session, DEMO_SLUG)
        tenant_id = clinic.id if clinic else await accounts.create_clinic(session, DEMO_SLUG, "Demo Dermatology Clinic")
    async with tenant_session(factory, tenant_id) as session:
        known_payers = set((await session.execute(select(Payer.code))).scalars())
        for row in demo_payer_rows():
            if row["code"] not in known_payers:
                session.add(
                    Payer(
                        tenant_id=tenant_id,
                        code=row["code"],
                        name=row["name"],
                        plan_type=row["plan_type"],
                        ehr_payer_id=row["ehr_payer_id"] or None,
                        clearinghouse_payer_id=row["clearinghouse_payer_id"] or None,
                    )
                )
        known_fees = {
            (s, c) for s, c in (await session.execute(select(FeeScheduleEntry.schedule, FeeScheduleEntry.code))).all()
        }
        for row in demo_fee_rows():
            if (row["schedule"], row["code"]) not in known_fees:
                session.add(
                    FeeScheduleEntry(
                        tenant_id=tenant_id, schedule=row["schedule"], code=row["code"], fee=Decimal(row["fee"])
                    )
                )
        await _seed_demo_manager(session, tenant_id)
        await _seed_demo_rulebooks(session, tenant_id)
    return tenant_id


async def _seed_demo_rulebooks(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """The demo clinic adopts every shipped template and publishes it as version 1, so the demo codes
    with the national base and its payers' books from the start. A seed, not a person's change: no
    review (a real clinic's first versions go through `submitRulebookForReview`)."""
    for template in rulebook_versions.templates():
        await rulebook_versions.seed_template(session, tenant_id, template)


DEMO_MANAGER_EMAIL = "manager@demo.cutis"
DEMO_MANAGER_PASSWORD = "demo-manager-password"  # the embedded demo only; documented in the README


async def _seed_demo_manager(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    account = await accounts.account_by_email(session, DEMO_MANAGER_EMAIL)
    person = (
        account.id if account else await create_user(session, DEMO_MANAGER_EMAIL, "Pat Manager", DEMO_MANAGER_PASSWORD)
    )
    if (await session.execute(select(Membership.id).where(Membership.user_id == person))).first() is None:
        session.add(Membership(tenant_id=tenant_id, user_id=person, role="practice_manager", accepted_at=utcnow()))


async def issue_demo_key(factory: async_sessionmaker[AsyncSession], name: str = "demo key") -> IssuedKey:
    tenant_id = await seed_demo(factory)
    async with tenant_session(factory, tenant_id) as session:
        return await issue_api_key(session, tenant_id, name)
