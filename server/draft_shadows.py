"""Draft shadow: a rulebook's draft codes beside the published rules on live traffic for a period.

While a shadow runs, every encounter the clinic codes (API or worker) is also coded with the
stack it was coded with plus the draft in its layer, from the same note analysis, in the same
call to the CPU pool; the live coding is what is stored and sent, the draft's only observed. What
differs is kept per encounter (`ShadowObservation`) and summed on reading (`rulebooks.coding_diff`).
The rollout's shadow mode (cutis beside the clinic's staff) is the same idea with staff codes on
the other side.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from rulebooks.clinic_stack import BookSource, StackSources
from rulebooks.coding_diff import Impact
from rulebooks.models import Encounter
from server import rulebook_versions
from server.cpu import Cpu
from server.db import SessionTurns, get_by_id
from server.errors import Conflict, InputInvalid
from server.models import DraftShadow, ShadowObservation
from tenants.base import aware, utcnow
from tenants.keys import Principal

NO_SUCH_SHADOW = "no draft shadow with that id"
MAX_DAYS = 90
#: Shadows of one clinic running at once: each codes every encounter of its payer once more.
MAX_RUNNING = 3
#: Differences a reader is shown, newest first (all are counted).
SHOWN = 50


@dataclass(frozen=True)
class Shadowing:
    """A running shadow as a coding needs it: its id, and the stack with the draft in its layer."""

    shadow_id: str
    sources: StackSources


@dataclass(frozen=True)
class Observed:
    """A shadow as its reader sees it."""

    shadow: DraftShadow
    seen: int
    impact: Impact
    latest: list[ShadowObservation]


async def start(
    turns: SessionTurns, cpu: Cpu, principal: Principal, rulebook_id: uuid.UUID | None, days: int
) -> DraftShadow:
    """Shadow the rulebook's current draft for `days` days from now."""
    if not 1 <= days <= MAX_DAYS:
        raise InputInvalid.at("days", f"shadow a draft for 1 to {MAX_DAYS} days")
    checked = await rulebook_versions.check_draft(turns, cpu, rulebook_id, "a draft with errors cannot be shadowed")
    prepared = checked.prepared
    async with turns.turn() as session:
        now = utcnow()
        running = await session.execute(
            select(func.count())
            .select_from(DraftShadow)
            .where(DraftShadow.status == "running", DraftShadow.ends_at > now)
        )
        if running.scalar_one() >= MAX_RUNNING:
            raise Conflict(
                f"{MAX_RUNNING} draft shadows of your clinic are running, each coding every encounter again: "
                "stop one first",
                0,
            )
        shadow = DraftShadow(
            tenant_id=principal.tenant_id,
            rulebook_id=checked.rulebook_id,
            draft_revision=checked.revision,
            draft_text=prepared.canonical_text,
            layer=checked.layer,
            payer_code=prepared.payer,
            starts_at=now,
            ends_at=now + dt.timedelta(days=days),
            started_by=principal.user_id,
        )
        session.add(shadow)
        await session.flush()
        return shadow


async def stop(session: AsyncSession, shadow_id: uuid.UUID | None) -> DraftShadow:
    shadow = await get_by_id(session, DraftShadow, shadow_id, NO_SUCH_SHADOW, for_update=True)
    if shadow.status != "running":
        raise Conflict(f"the shadow is {shadow.status}: only a running shadow is stopped", 0)
    shadow.status, shadow.stopped_at = "stopped", utcnow()
    return shadow


async def shadowing(session: AsyncSession, encounter: Encounter, live: StackSources) -> tuple[Shadowing, ...]:
    """The running shadows an encounter is coded beside: each with `live` plus its draft."""
    now = utcnow()
    rows = (
        await session.execute(select(DraftShadow).where(DraftShadow.status == "running", DraftShadow.ends_at > now))
    ).scalars()
    found = []
    for shadow in rows:
        if shadow.layer == "payer" and (shadow.payer_code or "").upper() != encounter.coverage.payer.upper():
            continue
        draft = BookSource(layer=shadow.layer, name="draft", content_hash=f"shadow:{shadow.id}", text=shadow.draft_text)
        found.append(Shadowing(str(shadow.id), live.with_book(draft)))
    return tuple(found)


def observations(
    record_tenant: uuid.UUID, encounter_id: uuid.UUID, payer: str, shadowed: dict[str, dict[str, object] | None]
) -> list[ShadowObservation]:
    """One row per shadow that saw the coding: `shadowed` is shadow id -> the diff (None: no change)."""
    return [
        ShadowObservation(
            tenant_id=record_tenant,
            shadow_id=uuid.UUID(shadow_id),
            encounter_id=encounter_id,
            payer_code=payer,
            changed=diff is not None,
            diff=diff,
        )
        for shadow_id, diff in shadowed.items()
    ]


async def observed(session: AsyncSession, shadow_id: uuid.UUID | None) -> Observed:
    shadow = await get_by_id(session, DraftShadow, shadow_id, NO_SUCH_SHADOW)
    if shadow.status == "running" and aware(shadow.ends_at) <= utcnow():
        shadow.status = "ended"
    seen = (
        await session.execute(
            select(func.count()).select_from(ShadowObservation).where(ShadowObservation.shadow_id == shadow.id)
        )
    ).scalar_one()
    changed = list(
        (
            await session.execute(
                select(ShadowObservation)
                .where(ShadowObservation.shadow_id == shadow.id, ShadowObservation.changed.is_(True))
                .order_by(ShadowObservation.created_at.desc(), ShadowObservation.id)
            )
        ).scalars()
    )
    impact = Impact()
    for observation in changed:
        assert observation.diff is not None
        impact.merge(Impact.from_dict(observation.diff["impact"]))
    impact.total.counts["encounters"] = seen  # unchanged codings are counted, not stored with a diff
    return Observed(shadow, seen, impact, changed[:SHOWN])
