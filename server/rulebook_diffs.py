"""The three diffs a compliance reviewer reads between two versions of a rulebook (or a draft and
a version, or a version and a shipped template's current release): structural, exact regions,
and behavioural (a sample of the clinic's stored encounters coded under each side).

Each side is named by id: a RulebookVersion, or a Rulebook for its current draft; or a template
by name (what "update available" shows before a clinic adopts a new release).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rulebooks import rulebook_diff
from rulebooks.clinic_stack import BookSource
from rulebooks.coding_diff import Impact
from server import impact_replay, rulebook_versions
from server.cpu import Cpu
from server.db import SessionTurns, get_by_id
from server.encounters import load_fee_schedules
from server.errors import InputInvalid
from server.models import EncounterRecord, RulebookRecord
from tenants.base import utcnow

MAX_SAMPLE = 2_000


@dataclass(frozen=True)
class Side:
    label: str
    book: BookSource
    payer: str | None


@dataclass(frozen=True)
class RulebookDiff:
    before: Side
    after: Side
    changes: list[rulebook_diff.ItemChange]
    regions: list[rulebook_diff.Region]
    sampled: int
    impact: Impact
    external_ids: dict[str, str]


async def side_of(session: AsyncSession, kind: str, object_id: uuid.UUID | None) -> Side:
    """A version, or a rulebook's current draft, as one side of a diff."""
    if kind == "RulebookVersion":
        version = await rulebook_versions.get_version(session, object_id)
        return Side(f"version {version.number}", rulebook_versions.book_source(version), version.payer_code)
    row = await get_by_id(session, RulebookRecord, object_id, rulebook_versions.NO_SUCH_RULEBOOK)
    book = BookSource(
        layer=row.layer, name=row.name, content_hash=f"draft:{row.id}:{row.draft_revision}", text=row.draft_text
    )
    return Side(f"draft (revision {row.draft_revision})", book, row.payer_code)


def template_side(name: str) -> Side:
    found = rulebook_versions.template(name)
    book = BookSource(layer=found.layer, name=found.name, content_hash=found.version, text=found.text)
    return Side(f"template release {found.version}", book, found.payer)


def _text_diffs(before: str, after: str) -> tuple[list[rulebook_diff.ItemChange], list[rulebook_diff.Region]]:
    """Both text diffs, in the CPU pool (each parses and formats both texts)."""
    return rulebook_diff.structural_diff(before, after), rulebook_diff.exact_regions(before, after)


async def diff(
    turns: SessionTurns,
    cpu: Cpu,
    before: tuple[str, uuid.UUID | None],
    after: tuple[str, uuid.UUID | None] | None,
    template: str | None,
    sample: int,
) -> RulebookDiff:
    """The three diffs from `before` to `after` (or to the template's current release)."""
    if (after is None) == (template is None):
        raise InputInvalid.at("to", "name what to compare with: `to` (a version or a rulebook's draft) or `toTemplate`")
    if not 0 <= sample <= MAX_SAMPLE:
        raise InputInvalid.at("sample", f"sample 0 to {MAX_SAMPLE:,} stored encounters")
    async with turns.turn() as session:
        old = await side_of(session, *before)
        new = await side_of(session, *after) if after is not None else template_side(template or "")
        if old.book.layer != new.book.layer:
            raise InputInvalid.at("to", f"a {old.book.layer} book is compared with another {old.book.layer} book")
        statement = (
            select(EncounterRecord.id, EncounterRecord.external_id)
            .where(EncounterRecord.analysis.is_not(None))
            .order_by(EncounterRecord.created_at.desc(), EncounterRecord.id.desc())
            .limit(sample)
        )
        payer = new.payer or old.payer
        if new.book.layer == "payer" and payer:
            statement = statement.where(EncounterRecord.payer_code == payer)
        found = (await session.execute(statement)).all()
        items, stacks = await impact_replay.replayed(session, [row.id for row in found], old.book, new.book, payer)
        fees = await load_fee_schedules(session)
    try:
        changes, regions = await cpu.run(_text_diffs, old.book.text, new.book.text)
    except ValueError as error:
        raise InputInvalid.at("from", str(error)) from None
    impact = await impact_replay.replay_in_pool(cpu, items, stacks, utcnow(), fees) if items else Impact()
    return RulebookDiff(old, new, changes, regions, len(items), impact, {str(row.id): row.external_id for row in found})
