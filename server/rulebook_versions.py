"""A clinic's rules going live: templates adopted as drafts, drafts submitted as versions, four-eyes
review, publish and rollback; and the stack each encounter is coded with (`resolve`).

Lifecycle of a version: in_review -> approved -> published, or in_review -> changes_requested
(the author edits the draft and submits again); a version still in review or approved when the
author submits again is withdrawn. The author never approves their own version;
approving and publishing ask for a fresh authenticator code at that moment. A published version
never changes: a rollback publishes the earlier content as a new version (same content hash,
new id). Every transition is audited by the API that calls it.

Which versions code an encounter (CONTRACTS.md, Where rules run): among the clinic's published
versions, the newest of each rulebook in effect on the date of service; the base layer's (else
the shipped national base), the payer layer's of the encounter's payer, the clinic layer's. Read
from the database for every coding, so a publish is seen by every process at once; the texts of
published versions (immutable) are kept per process by version id.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from rulebooks import publishing
from rulebooks.clinic_stack import LAYERS, BookSource, StackSources, identity_of, layer_of, library_base
from rulebooks.extended import LIBRARY
from server.cpu import Cpu
from server.db import SessionTurns, get_by_id
from server.errors import Conflict, Forbidden, InputInvalid, NotFound
from server.models import RulebookComment, RulebookRecord, RulebookVersion
from tenants.auth import confirm_second_factor
from tenants.base import utcnow
from tenants.keys import Principal

NO_SUCH_RULEBOOK = "no rulebook with that id"
NO_SUCH_VERSION = "no rulebook version with that id"
OPEN = ("in_review", "approved")
MAX_COMMENTS = 200
#: Published texts kept per process, by version id (immutable, so never stale).
MAX_TEXTS = 512


# ---- which versions code an encounter ---------------------------------------------------------


@dataclass(frozen=True)
class Published:
    """A published version as resolution reads it (its text is fetched only when chosen)."""

    id: uuid.UUID
    rulebook_id: uuid.UUID
    number: int
    layer: str
    payer_code: str | None
    name: str
    content_hash: str
    effective_from: dt.date | None
    effective_until: dt.date | None

    def in_effect(self, date_of_service: dt.date) -> bool:
        if self.effective_from is not None and date_of_service < self.effective_from:
            return False
        return self.effective_until is None or date_of_service <= self.effective_until


async def published_versions(session: AsyncSession) -> list[Published]:
    rows = await session.execute(
        select(
            RulebookVersion.id,
            RulebookVersion.rulebook_id,
            RulebookVersion.number,
            RulebookVersion.layer,
            RulebookVersion.payer_code,
            RulebookVersion.name,
            RulebookVersion.content_hash,
            RulebookVersion.effective_from,
            RulebookVersion.effective_until,
        ).where(RulebookVersion.status == "published")
    )
    return [Published(*row) for row in rows]


def chosen(published: Sequence[Published], date_of_service: dt.date, payer: str) -> list[Published]:
    """The versions that code an encounter of `payer` on the date, base first: per rulebook the
    newest in effect; per layer the one of the base, of the payer, of the clinic."""
    newest: dict[uuid.UUID, Published] = {}
    for version in published:
        if version.in_effect(date_of_service):
            kept = newest.get(version.rulebook_id)
            if kept is None or version.number > kept.number:
                newest[version.rulebook_id] = version
    picked: list[Published] = []
    for layer in LAYERS:
        candidates = [
            v
            for v in newest.values()
            if v.layer == layer and (layer != "payer" or (v.payer_code or "").upper() == payer.upper())
        ]
        if candidates:  # publish refuses two of a layer (of a payer) in effect on one date
            picked.append(max(candidates, key=lambda v: (v.effective_from or dt.date.min, v.number)))
    return picked


_texts: OrderedDict[uuid.UUID, tuple[str, tuple[str, ...]]] = OrderedDict()


async def _sources_of(session: AsyncSession, versions: Sequence[Published]) -> list[BookSource]:
    """Each version as a book of a stack (its text read once per process: it never changes)."""
    missing = list({v.id for v in versions if v.id not in _texts})
    if missing:
        rows = await session.execute(
            select(RulebookVersion.id, RulebookVersion.canonical_text, RulebookVersion.extends).where(
                RulebookVersion.id.in_(missing)
            )
        )
        for version_id, text, extends in rows:
            _texts[version_id] = (text, tuple(pin["text"] for pin in extends))
            while len(_texts) > MAX_TEXTS:
                _texts.popitem(last=False)
    sources = []
    for version in dict.fromkeys(versions):
        text, pinned = _texts[version.id]
        sources.append(
            BookSource(
                layer=version.layer,
                name=version.name,
                content_hash=version.content_hash,
                text=text,
                version_id=str(version.id),
                pinned=pinned,
            )
        )
    return sources


async def resolve(session: AsyncSession, date_of_service: dt.date, payer: str) -> StackSources:
    """The stack an encounter of `payer` on the date is coded with, in the session's clinic."""
    return (await resolve_many(session, [(date_of_service, payer)]))[(date_of_service, payer)]


async def resolve_many(
    session: AsyncSession, encounters: Sequence[tuple[dt.date, str]]
) -> dict[tuple[dt.date, str], StackSources]:
    """`resolve` for many (date of service, payer) pairs, reading the published versions once."""
    published = await published_versions(session)
    picked = {key: chosen(published, *key) for key in set(encounters)}
    sources = {book.version_id: book for book in await _sources_of(session, [v for vs in picked.values() for v in vs])}
    stacks = {}
    for key, versions in picked.items():
        books = [sources[str(version.id)] for version in versions]
        if not any(book.layer == "base" for book in books):
            books.insert(0, library_base())
        stacks[key] = StackSources(tuple(books))
    return stacks


# ---- templates ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """A shipped library book a clinic adopts as its draft."""

    name: str
    layer: str
    payer: str | None
    version: str
    text: str


def templates() -> list[Template]:
    """The shipped library's books as templates (read from disk: an updated library counts at once)."""
    return [_template(path.read_text(encoding="utf-8")) for path in sorted(LIBRARY.glob("*.rules"))]


@functools.lru_cache(maxsize=32)
def _template(text: str) -> Template:
    """Parsed once per text: a list of rulebooks asks each whether its template has a newer release."""
    name, payer, version = identity_of(text)
    return Template(name, layer_of(name, payer), payer.upper() if payer else None, version, text)


def template(name: str) -> Template:
    for one in templates():
        if one.name == name:
            return one
    names = ", ".join(repr(one.name) for one in templates())
    raise InputInvalid.at("template", f"no template named {name!r}; the templates are {names}")


async def adopt_template(
    session: AsyncSession, principal: Principal, name: str, *, update: bool = False
) -> RulebookRecord:
    """The template as a new draft of the clinic (named as the template), or, with `update`, the
    template's current release as the next draft of the rulebook adopted from it before."""
    chosen_template = template(name)
    existing = (
        await session.execute(select(RulebookRecord).where(RulebookRecord.template_name == name).with_for_update())
    ).scalar_one_or_none()
    if existing is not None and not update:
        raise Conflict(
            f"your clinic adopted {name!r} already; adopt it with `update: true` to take its current release "
            "as your next draft",
            existing.draft_revision,
        )
    if existing is None and update:
        raise InputInvalid.at("update", f"your clinic has not adopted {name!r} yet: adopt it without `update`")
    if existing is not None:
        existing.draft_text = chosen_template.text
        existing.draft_revision += 1
        existing.draft_updated_at = utcnow()
        existing.draft_updated_by = principal.user_id
        existing.template_version = chosen_template.version
        return existing
    taken = (await session.execute(select(RulebookRecord.id).where(RulebookRecord.name == name))).first()
    if taken:
        raise InputInvalid.at("template", f"your clinic already has a rulebook named {name!r}; rename it first")
    row = RulebookRecord(
        tenant_id=principal.tenant_id,
        name=name,
        payer_code=chosen_template.payer,
        layer=chosen_template.layer,
        draft_text=chosen_template.text,
        draft_updated_by=principal.user_id,
        template_name=name,
        template_version=chosen_template.version,
    )
    session.add(row)
    await session.flush()
    return row


async def seed_template(session: AsyncSession, tenant_id: uuid.UUID, chosen_template: Template) -> None:
    """A template adopted and published as version 1 at once, for a clinic seeded by us (the demo):
    nothing is done when the clinic has the rulebook already, published or not."""
    row = (
        await session.execute(select(RulebookRecord).where(RulebookRecord.name == chosen_template.name))
    ).scalar_one_or_none()
    if row is not None:
        return
    prepared = await asyncio.to_thread(
        publishing.prepare, chosen_template.text, chosen_template.layer, chosen_template.payer, {}
    )
    if prepared.errors:  # pragma: no cover - the library's own tests keep it compiling
        raise ValueError(f"template {chosen_template.name!r} does not compile: {prepared.errors}")
    row = RulebookRecord(
        tenant_id=tenant_id,
        name=chosen_template.name,
        payer_code=chosen_template.payer,
        layer=chosen_template.layer,
        draft_text=chosen_template.text,
        template_name=chosen_template.name,
        template_version=chosen_template.version,
    )
    session.add(row)
    await session.flush()
    now = utcnow()
    session.add(
        RulebookVersion(
            tenant_id=tenant_id,
            rulebook_id=row.id,
            number=1,
            status="published",
            name=prepared.name,
            layer=chosen_template.layer,
            payer_code=prepared.payer,
            content_hash=prepared.content_hash,
            canonical_text=prepared.canonical_text,
            extends=[pin.to_dict() for pin in prepared.extends],
            effective_from=prepared.effective_from,
            effective_until=prepared.effective_until,
            draft_revision=row.draft_revision,
            submitted_at=now,
            published_at=now,
        )
    )
    await session.flush()


# ---- the lifecycle -----------------------------------------------------------------------------


async def versions_of(session: AsyncSession, rulebook_id: uuid.UUID | None) -> list[RulebookVersion]:
    """A rulebook's versions, newest first."""
    await get_by_id(session, RulebookRecord, rulebook_id, NO_SUCH_RULEBOOK)
    rows = await session.execute(
        select(RulebookVersion)
        .where(RulebookVersion.rulebook_id == rulebook_id)
        .order_by(RulebookVersion.number.desc())
    )
    return list(rows.scalars())


async def get_version(
    session: AsyncSession, version_id: uuid.UUID | None, *, for_update: bool = False
) -> RulebookVersion:
    return await get_by_id(session, RulebookVersion, version_id, NO_SUCH_VERSION, for_update=for_update)


async def comments_of(session: AsyncSession, version_ids: Sequence[uuid.UUID]) -> list[RulebookComment]:
    rows = await session.execute(
        select(RulebookComment)
        .where(RulebookComment.version_id.in_(list(version_ids)))
        .order_by(RulebookComment.created_at, RulebookComment.line.asc().nulls_first(), RulebookComment.id)
    )
    return list(rows.scalars())


async def _published_by_name(session: AsyncSession) -> dict[str, tuple[str, str]]:
    """The clinic's newest published version of each rulebook, by header name: what an `extends`
    line of a draft names first (then the shipped library)."""
    newest: dict[str, tuple[int, str, str]] = {}
    rows = await session.execute(
        select(RulebookVersion.name, RulebookVersion.number, RulebookVersion.canonical_text, RulebookVersion.id).where(
            RulebookVersion.status == "published"
        )
    )
    for name, number, text, version_id in rows:
        if name not in newest or number > newest[name][0]:
            newest[name] = (number, text, str(version_id))
    return {name: (text, version_id) for name, (_, text, version_id) in newest.items()}


@dataclass(frozen=True)
class CheckedDraft:
    """A rulebook's draft as a version would freeze it (`publishing.prepare`, run in the pool)."""

    rulebook_id: uuid.UUID
    layer: str
    revision: int
    prepared: publishing.Prepared


async def check_draft(
    turns: SessionTurns, cpu: Cpu, rulebook_id: uuid.UUID | None, refused: str, base_revision: int | None = None
) -> CheckedDraft:
    """The rulebook's current draft checked as a version (its `extends` resolved to the clinic's
    published books first); a draft with errors is refused with `refused` and each error, and one
    saved since `base_revision` (when given) is a Conflict. Submit, replay and shadow all start here."""
    async with turns.turn() as session:
        row = await get_by_id(session, RulebookRecord, rulebook_id, NO_SUCH_RULEBOOK)
        if base_revision is not None and row.draft_revision != base_revision:
            raise Conflict(
                f"the draft was saved since revision {base_revision}; review what changed and submit again",
                row.draft_revision,
            )
        text, layer, payer, revision = row.draft_text, row.layer, row.payer_code, row.draft_revision
        published = await _published_by_name(session)
    prepared: publishing.Prepared = await cpu.run(publishing.prepare, text, layer, payer, published)
    if prepared.errors:
        raise InputInvalid(refused, _problems("text", prepared.errors))
    return CheckedDraft(row.id, layer, revision, prepared)


async def submit(
    turns: SessionTurns, cpu: Cpu, principal: Principal, rulebook_id: uuid.UUID | None, base_revision: int
) -> RulebookVersion:
    """The draft, at `base_revision`, as a version in review (one still in review or approved is
    withdrawn: it is replaced). Refused when it has errors, or when the draft was saved since
    (Conflict)."""
    checked = await check_draft(turns, cpu, rulebook_id, "a draft with errors cannot be submitted", base_revision)
    prepared, layer = checked.prepared, checked.layer
    async with turns.turn() as session:
        row = await get_by_id(session, RulebookRecord, rulebook_id, NO_SUCH_RULEBOOK, for_update=True)
        if row.draft_revision != base_revision:
            raise Conflict(f"the draft was saved since revision {base_revision}", row.draft_revision)
        # A new submission replaces the one still in review (or approved, not yet published): the
        # reviewer reviews what the author means now.
        for pending in (
            await session.execute(
                select(RulebookVersion)
                .where(RulebookVersion.rulebook_id == row.id, RulebookVersion.status.in_(OPEN))
                .with_for_update()
            )
        ).scalars():
            pending.status = "withdrawn"
        version = RulebookVersion(
            tenant_id=principal.tenant_id,
            rulebook_id=row.id,
            number=await _next_number(session, row.id),
            status="in_review",
            name=prepared.name,
            layer=layer,
            payer_code=prepared.payer,
            content_hash=prepared.content_hash,
            canonical_text=prepared.canonical_text,
            extends=[pin.to_dict() for pin in prepared.extends],
            effective_from=prepared.effective_from,
            effective_until=prepared.effective_until,
            draft_revision=base_revision,
            submitted_by=principal.user_id,
        )
        session.add(version)
        await session.flush()
        return version


def _problems(path: str, messages: Sequence[str]) -> list[Any]:
    from server.errors import FieldError

    return [FieldError(path=path, message=message) for message in messages]


async def _next_number(session: AsyncSession, rulebook_id: uuid.UUID) -> int:
    found = await session.execute(
        select(func.max(RulebookVersion.number)).where(RulebookVersion.rulebook_id == rulebook_id)
    )
    return (found.scalar() or 0) + 1


@dataclass(frozen=True)
class LineComment:
    line: int | None
    body: str


async def review(
    session: AsyncSession,
    principal: Principal,
    box: Any,
    version_id: uuid.UUID | None,
    *,
    approve: bool,
    comment: str | None,
    line_comments: Sequence[LineComment] = (),
    totp_code: str | None = None,
) -> RulebookVersion:
    """Approve a version in review, or send it back with what to change. Never by its author;
    approving asks for a fresh authenticator code. A version already reviewed is a Conflict
    (two reviewers at once: the second finds it decided)."""
    version = await get_version(session, version_id, for_update=True)
    if version.status != "in_review":
        raise Conflict(f"version {version.number} is {version.status.replace('_', ' ')}, not in review", version.number)
    if version.submitted_by is not None and version.submitted_by == principal.user_id:
        raise Forbidden("the author of a version cannot review it: another qualified person must", "rulebooks:approve")
    if not approve and not (comment or line_comments):
        raise InputInvalid.at("comment", "say what to change: a comment, or comments on lines")
    if len(line_comments) > MAX_COMMENTS:
        raise InputInvalid.at("lineComments", f"at most {MAX_COMMENTS} comments at once")
    lines = version.canonical_text.count("\n") + 1
    for index, item in enumerate(line_comments):
        if item.line is not None and not 1 <= item.line <= lines:
            raise InputInvalid.at(f"lineComments[{index}].line", f"the version has lines 1 to {lines}")
        if not item.body.strip():
            raise InputInvalid.at(f"lineComments[{index}].body", "a comment says something")
    if approve:
        problem = await confirm_second_factor(session, principal.user_id, totp_code, box)
        if problem is not None:
            raise Forbidden(problem, "rulebooks:approve")
    now = utcnow()
    version.status = "approved" if approve else "changes_requested"
    version.reviewed_by, version.reviewed_at = principal.user_id, now
    decision = version.status
    if comment:
        session.add(_comment(principal, version, None, comment, decision, now))
    for item in line_comments:
        session.add(_comment(principal, version, item.line, item.body, None, now))
    await session.flush()
    return version


def _comment(
    principal: Principal, version: RulebookVersion, line: int | None, body: str, decision: str | None, now: dt.datetime
) -> RulebookComment:
    return RulebookComment(
        tenant_id=principal.tenant_id,
        version_id=version.id,
        line=line,
        body=body.strip(),
        decision=decision,
        author_id=principal.user_id,
        created_at=now,
    )


async def publish(
    turns: SessionTurns, cpu: Cpu, principal: Principal, box: Any, version_id: uuid.UUID | None, totp_code: str | None
) -> RulebookVersion:
    """Publish an approved version: from now on it codes the encounters in its date range.

    Refused when a newer version of the rulebook was published since it was submitted (Conflict),
    when another book of its layer (and payer) would be in effect on the same dates, and when one
    of its own tests fails in the stack it joins (each failure listed)."""
    async with turns.turn() as session:
        version = await get_version(session, version_id)
        if version.status != "approved":
            raise Conflict(
                f"version {version.number} is {version.status.replace('_', ' ')}: "
                "only an approved version is published",
                version.number,
            )
        await _refuse_newer(session, version)
        await _refuse_overlap(session, version)
        sample_date = version.effective_from or dt.date.today()
        around = await resolve(session, sample_date, version.payer_code or "")
        book = book_source(version)
    failures: list[str] = await cpu.run(publishing.test_failures, book, around)
    if failures:
        raise InputInvalid(
            f"{len(failures)} of the rulebook's tests fail in the stack it would join; nothing was published",
            _problems("tests", failures),
        )
    async with turns.turn() as session:
        version = await get_version(session, version_id, for_update=True)
        if version.status != "approved":
            raise Conflict(f"version {version.number} was {version.status} meanwhile", version.number)
        problem = await confirm_second_factor(session, principal.user_id, totp_code, box)
        if problem is not None:
            raise Forbidden(problem, "rulebooks:approve")
        await _refuse_newer(session, version)
        await _refuse_overlap(session, version)
        version.status = "published"
        version.published_by, version.published_at = principal.user_id, utcnow()
        await session.flush()
        return version


def book_source(version: RulebookVersion) -> BookSource:
    """A version as a book of a stack."""
    return BookSource(
        layer=version.layer,
        name=version.name,
        content_hash=version.content_hash,
        text=version.canonical_text,
        version_id=str(version.id),
        pinned=tuple(pin["text"] for pin in version.extends),
    )


async def _refuse_newer(session: AsyncSession, version: RulebookVersion) -> None:
    newer = (
        await session.execute(
            select(RulebookVersion.number).where(
                RulebookVersion.rulebook_id == version.rulebook_id,
                RulebookVersion.status == "published",
                RulebookVersion.number > version.number,
            )
        )
    ).first()
    if newer is not None:
        raise Conflict(
            f"version {newer[0]} of this rulebook was published after version {version.number} was submitted; "
            "submit the draft again on top of it",
            newer[0],
        )


async def _refuse_overlap(session: AsyncSession, version: RulebookVersion) -> None:
    """Two books of one layer (of one payer) in effect on one date are refused: which one codes
    would be a guess. Versions of the same rulebook replace each other, newest first."""
    for other in await published_versions(session):
        same_slot = other.layer == version.layer and (
            version.layer != "payer" or (other.payer_code or "") == (version.payer_code or "")
        )
        if not same_slot or other.rulebook_id == version.rulebook_id:
            continue
        if _overlap(other.effective_from, other.effective_until, version.effective_from, version.effective_until):
            whose = f"{version.payer_code}'s payer book" if version.layer == "payer" else f"the {version.layer} book"
            raise InputInvalid.at(
                "effective",
                f"{whose} {other.name!r} (version {other.number}) is in effect {_range(other)}, which overlaps "
                f"{_range(version)}: two versions of {whose} cannot be in effect on the same date; "
                "give this one dates after it, or end the other first",
            )


def _overlap(a_from: dt.date | None, a_until: dt.date | None, b_from: dt.date | None, b_until: dt.date | None) -> bool:
    starts_before_b_ends = b_until is None or a_from is None or a_from <= b_until
    ends_after_b_starts = a_until is None or b_from is None or a_until >= b_from
    return starts_before_b_ends and ends_after_b_starts


def _range(version: Any) -> str:
    start = version.effective_from.isoformat() if version.effective_from else "from the start"
    end = f"until {version.effective_until.isoformat()}" if version.effective_until else "with no end"
    return f"{start} {end}" if version.effective_from else f"{start}, {end}"


async def rollback(
    session: AsyncSession,
    principal: Principal,
    box: Any,
    rulebook_id: uuid.UUID | None,
    to_version_id: uuid.UUID | None,
    totp_code: str | None,
) -> RulebookVersion:
    """Publish an earlier published version's content again, as a new version (new id, same
    content hash): it codes from now on, and the history keeps every version."""
    row = await get_by_id(session, RulebookRecord, rulebook_id, NO_SUCH_RULEBOOK, for_update=True)
    earlier = await get_version(session, to_version_id)
    if earlier.rulebook_id != row.id:
        raise NotFound(NO_SUCH_VERSION)
    if earlier.published_at is None:
        raise InputInvalid.at("toVersionId", f"version {earlier.number} was never published; roll back to one that was")
    problem = await confirm_second_factor(session, principal.user_id, totp_code, box)
    if problem is not None:
        raise Forbidden(problem, "rulebooks:approve")
    now = utcnow()
    version = RulebookVersion(
        tenant_id=principal.tenant_id,
        rulebook_id=row.id,
        number=await _next_number(session, row.id),
        status="published",
        name=earlier.name,
        layer=earlier.layer,
        payer_code=earlier.payer_code,
        content_hash=earlier.content_hash,
        canonical_text=earlier.canonical_text,
        extends=earlier.extends,
        effective_from=earlier.effective_from,
        effective_until=earlier.effective_until,
        draft_revision=row.draft_revision,
        rolled_back_from=earlier.id,
        submitted_by=principal.user_id,
        submitted_at=now,
        reviewed_by=principal.user_id,
        reviewed_at=now,
        published_by=principal.user_id,
        published_at=now,
    )
    session.add(version)
    await _refuse_overlap(session, version)
    await session.flush()
    return version


__all__ = [
    "LineComment",
    "Published",
    "Template",
    "adopt_template",
    "chosen",
    "comments_of",
    "get_version",
    "publish",
    "resolve",
    "review",
    "rollback",
    "submit",
    "templates",
    "versions_of",
]
