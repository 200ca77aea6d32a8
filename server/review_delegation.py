"""Onboarding staff in the reviewer's part, for a clinic with a single qualified approver.

Four eyes need two qualified people: the author, and an owner or compliance reviewer who approves.
A clinic whose only qualified person is its owner would have nobody to approve what the owner
writes. Its owner may then let the onboarding staff the clinic has granted take the reviewer's part
(approve a version or send it back; publishing stays with the owner). The setting is the owner's
alone, needs a fresh authenticator code, is audited, is refused while the clinic has two qualified
people, and lapses in effect the moment a second one joins: it is checked again at every review.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import Forbidden, InputInvalid
from server.models import ReviewDelegation
from server.people import clinic_people
from tenants.auth import confirm_second_factor
from tenants.base import utcnow
from tenants.keys import Principal

#: The roles that approve rulebook versions (tenants.roles: rulebooks:approve).
QUALIFIED_ROLES = ("owner", "compliance_reviewer")
APPROVE = "rulebooks:approve"
NOT_DELEGATED = "your clinic's owner has not let onboarding staff take the reviewer's part"


async def qualified_approvers(session: AsyncSession) -> int:
    """The people of the session's clinic who may approve: accepted owners and compliance reviewers
    whose account is not disabled."""
    return sum(
        1
        for member, membership in await clinic_people(session)
        if membership.role in QUALIFIED_ROLES and membership.accepted_at is not None and member.disabled_at is None
    )


async def delegation(session: AsyncSession) -> ReviewDelegation | None:
    """The clinic's setting: its latest change (None: never set, so not granted)."""
    latest = select(ReviewDelegation).order_by(ReviewDelegation.changed_at.desc(), ReviewDelegation.id.desc())
    return (await session.execute(latest.limit(1))).scalars().first()


async def set_onboarding_review(
    session: AsyncSession, principal: Principal, box: Any, *, granted: bool, totp_code: str | None
) -> ReviewDelegation:
    """The owner lets onboarding staff review (`granted`), or takes it back. Granting is refused
    unless the clinic has a single qualified approver; both ask for a fresh code."""
    if principal.role != "owner" or principal.user_id is None:
        raise Forbidden("only the clinic's owner decides who may take the reviewer's part", "users:admin")
    if granted:
        count = await qualified_approvers(session)
        if count != 1:
            raise InputInvalid.at(
                "granted",
                f"your clinic has {count} people who may approve (owners and compliance reviewers): onboarding "
                "staff take the reviewer's part only where there is a single one",
            )
    problem = await confirm_second_factor(session, principal.user_id, totp_code, box)
    if problem is not None:
        raise Forbidden(problem, "users:admin")
    row = ReviewDelegation(
        tenant_id=principal.tenant_id, onboarding_may_review=granted, changed_by=principal.user_id, changed_at=utcnow()
    )
    session.add(row)  # a new row per change: the history stays
    await session.flush()
    return row


async def delegated_reviewer(session: AsyncSession, principal: Principal) -> str | None:
    """None when this onboarding principal may take the reviewer's part in its clinic now; else why not."""
    if principal.role != "onboarding" or principal.user_id is None:
        return f"your role or key does not allow {APPROVE}"
    row = await delegation(session)
    if row is None or not row.onboarding_may_review:
        return NOT_DELEGATED
    count = await qualified_approvers(session)
    if count != 1:
        return (
            f"your clinic now has {count} people who may approve: onboarding staff take the reviewer's part only "
            "where there is a single one"
        )
    return None
