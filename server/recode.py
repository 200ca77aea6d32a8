"""`recodeAsOf`: code a stored encounter again with exactly the rulebook versions a stored coding
names, at the moment it was coded, and say whether the result is the same, byte for byte.

It is, while the engine release, the vocabulary, the code sets and the clinic's fees are those the
coding used; when one changed, the difference is shown with why (the engine release changed...).
Nothing is stored: a recode is a reading of the record, for a compliance reviewer or an auditor.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

from sqlalchemy import select

from rulebooks.clinic_stack import BookSource, StackSources
from rulebooks.engine.release import ENGINE_RELEASE, vocabulary_version
from rulebooks.models import Coding, Encounter
from server.cpu import Cpu
from server.db import SessionTurns, get_by_id
from server.encounters import FeeCache, code_in_worker
from server.errors import InputInvalid
from server.models import CodingRecord, EncounterRecord, RulebookVersion
from server.rulebook_versions import book_source, templates

NO_SUCH_CODING = "no coding with that id"


@dataclass(frozen=True)
class Recoded:
    """The stored coding, the coding made again, and what differs and why."""

    encounter: EncounterRecord
    original: Coding
    recoded: Coding
    identical: bool
    differences: list[str] = field(default_factory=list)
    why: list[str] = field(default_factory=list)


async def recode_as_of(
    turns: SessionTurns, cpu: Cpu, fee_cache: FeeCache, tenant_id: uuid.UUID, coding_id: uuid.UUID | None
) -> Recoded:
    async with turns.turn() as session:
        stored = await get_by_id(session, CodingRecord, coding_id, NO_SUCH_CODING)
        record = await get_by_id(session, EncounterRecord, stored.encounter_id, NO_SUCH_CODING)
        original = Coding.model_validate(stored.payload)
        ids = [uuid.UUID(ref.version_id) for ref in original.rulebooks if ref.version_id]
        rows = {
            str(row.id): row
            for row in (await session.execute(select(RulebookVersion).where(RulebookVersion.id.in_(ids)))).scalars()
        }
        fees = await fee_cache.get(session, tenant_id)
    why: list[str] = []
    books = []
    shipped = {template.name: template for template in templates()}
    for ref in original.rulebooks:
        if ref.version_id:
            books.append(book_source(rows[ref.version_id]))  # versions are never deleted
            continue
        template = shipped.get(ref.name)
        if template is None:
            raise InputInvalid.at("codingId", f"the coding names the shipped book {ref.name!r}, which is gone")
        if template.version != ref.version:
            why.append(f"the shipped book {ref.name!r} changed since: {ref.version} then, {template.version} now")
        books.append(
            BookSource(layer=template.layer, name=template.name, content_hash=template.version, text=template.text)
        )
    encounter = Encounter.model_validate(record.payload)
    coded = await cpu.run(
        code_in_worker, encounter, original.encounter_id, original.coded_at, fees, StackSources(tuple(books))
    )
    recoded = coded.coding
    before, after = _canonical(original), _canonical(recoded)
    identical = before == after
    if not identical:
        why.extend(_why(original, recoded))
    return Recoded(record, original, recoded, identical, [] if identical else _differences(original, recoded), why)


def _canonical(coding: Coding) -> str:
    return json.dumps(coding.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))


def _why(original: Coding, recoded: Coding) -> list[str]:
    then, now = original.releases, recoded.releases
    if then is None:
        return ["the coding was made before codings named their engine release"]
    reasons = []
    if then.engine != ENGINE_RELEASE:
        reasons.append(f"the engine release changed: {then.engine} then, {ENGINE_RELEASE} now")
    if then.vocabulary != vocabulary_version():
        reasons.append(f"the rule vocabulary changed: {then.vocabulary} then, {vocabulary_version()} now")
    if now is not None and then.code_sets != now.code_sets:
        changed = sorted(k for k in {*then.code_sets, *now.code_sets} if then.code_sets.get(k) != now.code_sets.get(k))
        reasons.append("the code sets changed: " + ", ".join(changed))
    if [line.charge for line in original.claim_lines] != [line.charge for line in recoded.claim_lines] and len(
        original.claim_lines
    ) == len(recoded.claim_lines):
        reasons.append("the charges differ: the clinic's fee schedule changed since")
    return reasons or ["nothing the coding names changed; this is a defect: report it"]


def _differences(original: Coding, recoded: Coding) -> list[str]:
    """The top-level parts of the coding that differ, each with what it was and is."""
    before, after = original.model_dump(mode="json"), recoded.model_dump(mode="json")
    found = []
    for key in before:
        if before[key] != after.get(key):
            if isinstance(before[key], list):
                found.append(f"{key}: {len(before[key])} then, {len(after.get(key) or [])} now, and they differ")
            else:
                found.append(f"{key}: {json.dumps(before[key])} then, {json.dumps(after.get(key))} now")
    return found
