"""Factories: each test builds the clinics, people and keys it needs (no shared seed data)."""

from __future__ import annotations

import csv
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from server.db import global_session, tenant_session
from server.demo import DATA_DIR, demo_fee_rows
from server.models import FeeScheduleEntry, Payer
from tenants import accounts, totp
from tenants.auth import create_user
from tenants.base import utcnow
from tenants.keys import issue_api_key
from tenants.models import Membership
from tenants.roles import ROLES_REQUIRING_TOTP
from tenants.secrets import SecretBox

PASSWORD = "correct horse battery staple"
TOTP_KEY = "test key that seals second factors"  # the tests' Settings.totp_key (tests/conftest.py)


@dataclass
class Clinic:
    tenant_id: uuid.UUID
    key: str
    people: dict[str, Any] = field(default_factory=dict)  # role -> (email, totp secret or None)


async def make_clinic(
    factory: Any, name: str = "clinic", roles: tuple[str, ...] = (), second_factor: tuple[str, ...] = ()
) -> Clinic:
    """A clinic with the demo payers and fees, an all-scopes API key, and one person per role (with
    an authenticator where the role requires one, or where `second_factor` names the role)."""
    slug = f"{name}-{uuid.uuid4().hex[:8]}"
    async with global_session(factory) as session:
        tenant_id = await accounts.create_clinic(session, slug, name)
    clinic = Clinic(tenant_id=tenant_id, key="")
    async with tenant_session(factory, tenant_id) as session:
        with (DATA_DIR / "payers.csv").open() as handle:
            for row in csv.DictReader(handle):
                session.add(Payer(tenant_id=tenant_id, code=row["code"], name=row["name"], plan_type=row["plan_type"]))
        for row in demo_fee_rows():
            session.add(
                FeeScheduleEntry(
                    tenant_id=tenant_id, schedule=row["schedule"], code=row["code"], fee=Decimal(row["fee"])
                )
            )
        clinic.key = (await issue_api_key(session, tenant_id, "test key")).plaintext
        for role in roles:
            email = f"{role}-{uuid.uuid4().hex[:6]}@{slug}.test"
            secret = totp.new_secret() if role in ROLES_REQUIRING_TOTP or role in second_factor else None
            person = await create_user(
                session, email, role.replace("_", " ").title(), PASSWORD, totp_secret=secret, box=SecretBox(TOTP_KEY)
            )
            session.add(Membership(tenant_id=tenant_id, user_id=person, role=role, accepted_at=utcnow()))
            clinic.people[role] = (email, secret)
    return clinic


def current_code(secret: str) -> str:
    return totp.code_at(secret, totp.current_step())
