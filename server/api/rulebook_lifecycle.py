"""A clinic's rules going live: templates, versions, four-eyes review, publish, rollback.

Thin resolvers over `server.rulebook_versions`: each checks the permission, calls the service, maps
its refusal to the typed result, and audits the transition.
"""

from __future__ import annotations

import datetime as dt
import uuid
from enum import Enum
from typing import Annotated

import strawberry
from strawberry.types import Info

from rulebooks.coding_diff import Tally
from server import draft_shadows as shadows
from server import impact_replay as replays
from server import recode
from server import review_delegation as delegation
from server import rulebook_diffs as diffs
from server import rulebook_versions as versions
from server.api.common import (
    Conflict,
    Forbidden,
    InvalidInput,
    Node,
    NotFoundError,
    RolledBack,
    allowed,
    context,
    refused,
    require,
)
from server.api.ids import from_global_id, to_global_id
from server.api.rulebooks import Rulebook
from server.api.types import Coding, coding_type
from server.errors import REFUSALS
from server.jobs import OutboxRef
from server.models import RulebookComment, RulebookVersion
from tenants.roles import Permission


@strawberry.type
class PinnedBook:
    name: str
    version: str
    version_id: strawberry.ID | None


@strawberry.type(name="RulebookComment")
class RulebookCommentInfo:
    line: int | None = strawberry.field(
        description="The line of the version's canonical text, from 1; null: the whole."
    )
    body: str
    decision: str | None = strawberry.field(description="approved or changes_requested for a review's own comment.")
    author_id: strawberry.ID | None
    created_at: dt.datetime


@strawberry.type(name="RulebookVersion")
class RulebookVersionInfo(Node):
    rulebook_id: strawberry.ID
    number: int
    status: str = strawberry.field(description="in_review, changes_requested, approved, published or withdrawn.")
    name: str
    layer: str
    payer: str | None
    content_hash: str = strawberry.field(description="Of its canonical text: a rollback republishes the same hash.")
    canonical_text: str
    extends: list[PinnedBook] = strawberry.field(description="The books its `extends` lines name, as pinned.")
    effective_from: dt.date | None
    effective_until: dt.date | None
    rolled_back_from: strawberry.ID | None
    submitted_by: strawberry.ID | None
    submitted_at: dt.datetime
    reviewed_by: strawberry.ID | None
    reviewed_at: dt.datetime | None
    published_by: strawberry.ID | None
    published_at: dt.datetime | None
    comments: list[RulebookCommentInfo]

    @classmethod
    def from_row(cls, row: RulebookVersion, comments: list[RulebookComment] | None = None) -> RulebookVersionInfo:
        return cls(
            id=strawberry.ID(to_global_id("RulebookVersion", row.id)),
            rulebook_id=strawberry.ID(to_global_id("Rulebook", row.rulebook_id)),
            number=row.number,
            status=row.status,
            name=row.name,
            layer=row.layer,
            payer=row.payer_code,
            content_hash=row.content_hash,
            canonical_text=row.canonical_text,
            extends=[
                PinnedBook(
                    name=pin["name"],
                    version=pin["version"],
                    version_id=_person_or_version("RulebookVersion", pin.get("version_id")),
                )
                for pin in row.extends
            ],
            effective_from=row.effective_from,
            effective_until=row.effective_until,
            rolled_back_from=_person_or_version("RulebookVersion", row.rolled_back_from),
            submitted_by=_person_or_version("User", row.submitted_by),
            submitted_at=row.submitted_at,
            reviewed_by=_person_or_version("User", row.reviewed_by),
            reviewed_at=row.reviewed_at,
            published_by=_person_or_version("User", row.published_by),
            published_at=row.published_at,
            comments=[
                RulebookCommentInfo(
                    line=c.line,
                    body=c.body,
                    decision=c.decision,
                    author_id=_person_or_version("User", c.author_id),
                    created_at=c.created_at,
                )
                for c in comments or []
            ],
        )


def _person_or_version(type_name: str, value: object) -> strawberry.ID | None:
    if value is None:
        return None
    return strawberry.ID(to_global_id(type_name, value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))))


@strawberry.type
class RulebookTemplate:
    name: str
    layer: str
    payer: str | None
    version: str = strawberry.field(description="The content hash of the shipped release.")
    text: str


@strawberry.enum
class ReviewDecision(Enum):
    APPROVE = "approve"
    REQUEST_CHANGES = "request_changes"


@strawberry.input
class LineCommentInput:
    line: int | None = None
    body: str


VersionResult = Annotated[
    RulebookVersionInfo | InvalidInput | NotFoundError | Forbidden | Conflict | RolledBack,
    strawberry.union("RulebookVersionResult"),
]
AdoptResult = Annotated[
    Rulebook | InvalidInput | NotFoundError | Forbidden | Conflict | RolledBack, strawberry.union("AdoptTemplateResult")
]


async def _with_comments(ctx: object, rows: list[RulebookVersion]) -> list[RulebookVersionInfo]:
    session = await ctx.session()  # type: ignore[attr-defined]
    found = await versions.comments_of(session, [row.id for row in rows])
    by_version: dict[object, list[RulebookComment]] = {}
    for comment in found:
        by_version.setdefault(comment.version_id, []).append(comment)
    return [RulebookVersionInfo.from_row(row, by_version.get(row.id, [])) for row in rows]


@strawberry.type
class RulebookLifecycleQueries:
    @strawberry.field(description="The shipped templates a clinic adopts as drafts (adoptTemplate).")
    def rulebook_templates(self, info: Info) -> list[RulebookTemplate]:
        require(info, Permission.RULEBOOKS_READ)
        return [
            RulebookTemplate(name=t.name, layer=t.layer, payer=t.payer, version=t.version, text=t.text)
            for t in versions.templates()
        ]

    @strawberry.field(description="A rulebook's versions, newest first, with their review comments.")
    async def rulebook_versions(self, info: Info, rulebook_id: strawberry.ID) -> list[RulebookVersionInfo] | None:
        ctx = context(info)
        require(info, Permission.RULEBOOKS_READ)
        async with ctx.lock:
            try:
                rows = await versions.versions_of(await ctx.session(), from_global_id(str(rulebook_id), "Rulebook"))
            except REFUSALS:
                return None
            return await _with_comments(ctx, rows)


@strawberry.type(description="A stored coding made again with the rulebook versions it names.")
class RecodeResult:
    identical: bool = strawberry.field(description="Byte for byte the same Coding JSON.")
    original: Coding
    recoded: Coding
    differences: list[str] = strawberry.field(description="The parts of the coding that differ.")
    why: list[str] = strawberry.field(description="What changed since: engine release, vocabulary, code sets, fees.")


RecodeAnswer = Annotated[RecodeResult | NotFoundError | InvalidInput, strawberry.union("RecodeAsOfResult")]


@strawberry.type
class RecodeQueries:
    @strawberry.field(
        description="Code a stored encounter again with exactly the rulebook versions a stored coding names, "
        "at the moment it was coded; nothing is stored."
    )
    async def recode_as_of(self, info: Info, coding_id: strawberry.ID) -> RecodeAnswer:
        ctx = context(info)
        principal = require(info, Permission.ENCOUNTERS_READ)
        require(info, Permission.RULEBOOKS_READ)
        try:  # takes the session in turns: the coding runs in the CPU pool
            found = await recode.recode_as_of(
                ctx,
                ctx.services.cpu,
                ctx.services.fee_cache,
                principal.tenant_id,
                from_global_id(str(coding_id), "Coding"),
            )
        except REFUSALS as error:
            return refused(error)  # type: ignore[return-value]
        async with ctx.lock:
            await ctx.audit("encounter.recode", "phi_read", object_type="Encounter", object_ids=[found.encounter.id])
        encounter_id = to_global_id("Encounter", found.encounter.id)
        return RecodeResult(
            identical=found.identical,
            original=coding_type(found.original, encounter_id, from_global_id(str(coding_id), "Coding")),
            recoded=coding_type(found.recoded, encounter_id),
            differences=found.differences,
            why=found.why,
        )


@strawberry.type
class RulebookLifecycleMutations:
    @strawberry.mutation(
        description="Adopt a shipped template as your clinic's draft (named as the template); with "
        "`update`, take the template's current release as the next draft of the rulebook adopted from it."
    )
    async def adopt_template(self, info: Info, name: str, update: bool = False) -> AdoptResult:
        ctx = context(info)
        principal = allowed(info, Permission.RULEBOOKS_WRITE)
        if isinstance(principal, Forbidden):
            return principal
        async with ctx.lock:
            try:
                row = await versions.adopt_template(await ctx.session(), principal, name, update=update)
            except REFUSALS as error:
                return refused(error)
            await ctx.audit(
                "rulebook.template.adopt",
                "rules",
                object_type="Rulebook",
                object_ids=[row.id],
                detail=f"{name} {row.template_version}" + (" (update)" if update else ""),
            )
        return Rulebook.from_row(row)

    @strawberry.mutation(
        description="Submit the draft at `baseRevision` for review: it becomes a version in review. "
        "A draft with errors is refused with each error."
    )
    async def submit_rulebook_for_review(self, info: Info, id: strawberry.ID, base_revision: int) -> VersionResult:
        ctx = context(info)
        principal = allowed(info, Permission.RULEBOOKS_WRITE)
        if isinstance(principal, Forbidden):
            return principal
        try:  # takes the session in turns: never held while the draft is checked in the CPU pool
            row = await versions.submit(
                ctx, ctx.services.cpu, principal, from_global_id(str(id), "Rulebook"), base_revision
            )
        except REFUSALS as error:
            return refused(error)
        async with ctx.lock:
            await ctx.audit(
                "rulebook.submit",
                "rules",
                object_type="RulebookVersion",
                object_ids=[row.id],
                detail=f"version {row.number}",
            )
        return RulebookVersionInfo.from_row(row)

    @strawberry.mutation(
        description="Approve a version in review (with a fresh `totpCode`), or request changes with a "
        "comment and comments on lines. Its author cannot review it."
    )
    async def review_rulebook(
        self,
        info: Info,
        version_id: strawberry.ID,
        decision: ReviewDecision,
        comment: str | None = None,
        line_comments: list[LineCommentInput] | None = None,
        totp_code: str | None = None,
    ) -> VersionResult:
        ctx = context(info)
        principal = allowed(info, Permission.RULEBOOKS_APPROVE)
        async with ctx.lock:
            delegated = isinstance(principal, Forbidden)
            if isinstance(principal, Forbidden):  # onboarding staff, where the owner lets them review
                person = ctx.require_principal()
                if person.role != "onboarding":
                    return principal
                why = await delegation.delegated_reviewer(await ctx.session(), person)
                if why is not None:
                    return Forbidden(message=why, permission=Permission.RULEBOOKS_APPROVE.value)
                principal = person
            try:
                row = await versions.review(
                    await ctx.session(),
                    principal,
                    ctx.services.secret_box,
                    from_global_id(str(version_id), "RulebookVersion"),
                    approve=decision is ReviewDecision.APPROVE,
                    comment=comment,
                    line_comments=[versions.LineComment(c.line, c.body) for c in line_comments or []],
                    totp_code=totp_code,
                )
            except REFUSALS as error:
                return refused(error)
            await ctx.audit(
                "rulebook.review",
                "rules",
                object_type="RulebookVersion",
                object_ids=[row.id],
                detail=f"version {row.number}: {row.status}" + (" (onboarding staff, delegated)" if delegated else ""),
            )
            return (await _with_comments(ctx, [row]))[0]

    @strawberry.mutation(
        description="Publish an approved version (with a fresh `totpCode`): it codes the encounters of its "
        "dates from now on. Refused when one of its tests fails, each failure listed."
    )
    async def publish_rulebook(
        self, info: Info, version_id: strawberry.ID, totp_code: str | None = None
    ) -> VersionResult:
        ctx = context(info)
        principal = allowed(info, Permission.RULEBOOKS_APPROVE)
        if isinstance(principal, Forbidden):
            return principal
        try:  # takes the session in turns: the tests run in the CPU pool
            row = await versions.publish(
                ctx,
                ctx.services.cpu,
                principal,
                ctx.services.secret_box,
                from_global_id(str(version_id), "RulebookVersion"),
                totp_code,
            )
        except REFUSALS as error:
            return refused(error)
        async with ctx.lock:
            await ctx.audit(
                "rulebook.publish",
                "rules",
                object_type="RulebookVersion",
                object_ids=[row.id],
                detail=f"version {row.number}",
            )
        return RulebookVersionInfo.from_row(row)

    @strawberry.mutation(
        description="Publish an earlier published version's content again as a new version (with a fresh `totpCode`)."
    )
    async def rollback_rulebook(
        self, info: Info, rulebook_id: strawberry.ID, to_version_id: strawberry.ID, totp_code: str | None = None
    ) -> VersionResult:
        ctx = context(info)
        principal = allowed(info, Permission.RULEBOOKS_APPROVE)
        if isinstance(principal, Forbidden):
            return principal
        async with ctx.lock:
            try:
                row = await versions.rollback(
                    await ctx.session(),
                    principal,
                    ctx.services.secret_box,
                    from_global_id(str(rulebook_id), "Rulebook"),
                    from_global_id(str(to_version_id), "RulebookVersion"),
                    totp_code,
                )
            except REFUSALS as error:
                return refused(error)
            await ctx.audit(
                "rulebook.rollback",
                "rules",
                object_type="RulebookVersion",
                object_ids=[row.id],
                detail=f"version {row.number} republishes version of {row.content_hash}",
            )
        return RulebookVersionInfo.from_row(row)


@strawberry.type(description="Counts and money for a group of replayed encounters.")
class ImpactTally:
    encounters: int
    changed: int
    lines_added: int
    lines_removed: int
    lines_changed: int
    flags_changed: int
    holds_changed: int
    charges_up: str = strawberry.field(description="The sum of charge increases, a decimal string.")
    charges_down: str = strawberry.field(description="The sum of charge decreases, a decimal string.")

    @classmethod
    def from_tally(cls, tally: Tally) -> ImpactTally:
        return cls(**tally.counts, charges_up=str(tally.charges_up), charges_down=str(tally.charges_down))


@strawberry.type
class NamedTally:
    name: str
    tally: ImpactTally


def _named(tallies: dict[str, Tally]) -> list[NamedTally]:
    return [NamedTally(name=name, tally=ImpactTally.from_tally(tally)) for name, tally in sorted(tallies.items())]


@strawberry.type(description="One replayed encounter that codes differently under the draft.")
class ImpactExample:
    encounter_id: strawberry.ID
    payer: str
    date_of_service: dt.date
    charge_delta: str
    summary: str


@strawberry.type(name="ImpactReplay")
class ImpactReplayInfo(Node):
    rulebook_id: strawberry.ID
    draft_revision: int
    status: str = strawberry.field(description="running, done or cancelled.")
    requested: int
    total: int = strawberry.field(description="The stored encounters it replays (those of the book's payer).")
    done: int
    chunks: int
    chunks_finished: int
    created_at: dt.datetime
    finished_at: dt.datetime | None
    impact: ImpactTally
    by_payer: list[NamedTally]
    by_family: list[NamedTally]
    examples: list[ImpactExample]

    @classmethod
    def from_progress(cls, found: replays.Progress) -> ImpactReplayInfo:
        replay, impact = found.replay, found.impact
        return cls(
            id=strawberry.ID(to_global_id("ImpactReplay", replay.id)),
            rulebook_id=strawberry.ID(to_global_id("Rulebook", replay.rulebook_id)),
            draft_revision=replay.draft_revision,
            status=replay.status,
            requested=replay.requested,
            total=replay.total,
            done=found.done,
            chunks=found.chunks,
            chunks_finished=found.chunks_finished,
            created_at=replay.created_at,
            finished_at=replay.finished_at,
            impact=ImpactTally.from_tally(impact.total),
            by_payer=_named(impact.payers),
            by_family=_named(impact.families),
            examples=[_example(e) for e in impact.examples],
        )


ReplayResult = Annotated[
    ImpactReplayInfo | InvalidInput | NotFoundError | Forbidden | Conflict | RolledBack,
    strawberry.union("ImpactReplayResult"),
]
ReplayAnswer = Annotated[ImpactReplayInfo | NotFoundError, strawberry.union("ImpactReplayAnswer")]


@strawberry.type
class ImpactReplayQueries:
    @strawberry.field(description="A replay's progress and what it found so far.")
    async def impact_replay(self, info: Info, id: strawberry.ID) -> ReplayAnswer:
        ctx = context(info)
        require(info, Permission.RULEBOOKS_READ)
        async with ctx.lock:
            try:
                found = await replays.progress(await ctx.session(), from_global_id(str(id), "ImpactReplay"))
            except REFUSALS as error:
                return refused(error)  # type: ignore[return-value]
        return ImpactReplayInfo.from_progress(found)


@strawberry.type
class ImpactReplayMutations:
    @strawberry.mutation(
        description="Replay the rulebook's current draft against your last `encounters` stored encounters "
        "(of its payer, for a payer book), in the background; follow it with impactReplay(id)."
    )
    async def start_impact_replay(self, info: Info, rulebook_id: strawberry.ID, encounters: int = 1000) -> ReplayResult:
        ctx = context(info)
        principal = allowed(info, Permission.RULEBOOKS_READ)
        if isinstance(principal, Forbidden):
            return principal
        try:  # takes the session in turns: the draft is checked in the CPU pool
            replay, messages = await replays.start(
                ctx, ctx.services.cpu, principal, from_global_id(str(rulebook_id), "Rulebook"), encounters
            )
        except REFUSALS as error:
            return refused(error)
        ctx.relay_after_commit.extend(OutboxRef(message.id, principal.tenant_id) for message in messages)
        async with ctx.lock:
            await ctx.audit(
                "rulebook.replay.start",
                "rules",
                object_type="ImpactReplay",
                object_ids=[replay.id],
                detail=f"{replay.total} encounters",
            )
            found = await replays.progress(await ctx.session(), replay.id)
        return ImpactReplayInfo.from_progress(found)

    @strawberry.mutation(description="Stop a running replay: chunks not yet run are skipped.")
    async def cancel_impact_replay(self, info: Info, id: strawberry.ID) -> ReplayResult:
        ctx = context(info)
        principal = allowed(info, Permission.RULEBOOKS_READ)
        if isinstance(principal, Forbidden):
            return principal
        async with ctx.lock:
            try:
                replay = await replays.cancel(await ctx.session(), from_global_id(str(id), "ImpactReplay"))
            except REFUSALS as error:
                return refused(error)
            await ctx.audit("rulebook.replay.cancel", "rules", object_type="ImpactReplay", object_ids=[replay.id])
            found = await replays.progress(await ctx.session(), replay.id)
        return ImpactReplayInfo.from_progress(found)


@strawberry.type(description="A rule, table, value set, criteria, disable line, test or the header that differs.")
class RulebookChange:
    kind: str
    id: str
    status: str = strawberry.field(description="added, removed or changed.")
    label: str
    text_diff: str = strawberry.field(description="The unified diff of the item's canonical text.")
    before: str
    after: str


@strawberry.type(description="The inputs whose outcome a change flips, said exactly.")
class ExactRegion:
    rule_id: str
    sentence: str


@strawberry.type(description="An encounter of the sample that codes differently.")
class ImpactedEncounter:
    encounter_id: strawberry.ID
    external_id: str
    payer: str
    charge_delta: str
    summary: str


@strawberry.type(description="A sample of the clinic's stored encounters coded under each side.")
class BehaviourImpact:
    sampled: int
    changed: int
    charge_up: str
    charge_down: str
    tally: ImpactTally
    by_family: list[NamedTally]
    encounters: list[ImpactedEncounter]


@strawberry.type
class RulebookDiff:
    from_label: str
    to_label: str
    from_text: str
    to_text: str
    changes: list[RulebookChange]
    regions: list[ExactRegion]
    impact: BehaviourImpact


DiffAnswer = Annotated[RulebookDiff | NotFoundError | InvalidInput, strawberry.union("RulebookDiffResult")]


def _side(value: strawberry.ID) -> tuple[str, uuid.UUID | None]:
    """A diff side's id: a RulebookVersion, or a Rulebook (its draft)."""
    from server.api.ids import parse_global_id

    parsed = parse_global_id(str(value))
    if parsed is None or parsed[0] not in ("RulebookVersion", "Rulebook"):
        return ("RulebookVersion", None)  # names nothing: not found, as any id that is not the clinic's
    return parsed


@strawberry.type
class RulebookDiffQueries:
    @strawberry.field(
        description="Structural, exact-region and behavioural diffs from `from` (a RulebookVersion, or a Rulebook: "
        "its draft) to `to` (the same kinds) or to `toTemplate` (a shipped template's current release); the "
        "behavioural diff codes your last `sample` stored encounters (of the book's payer) under each side."
    )
    async def diff_rulebooks(
        self,
        info: Info,
        from_: Annotated[strawberry.ID, strawberry.argument(name="from")],
        to: strawberry.ID | None = None,
        to_template: str | None = None,
        sample: int = 200,
    ) -> DiffAnswer:
        ctx = context(info)
        require(info, Permission.RULEBOOKS_READ)
        require(info, Permission.ENCOUNTERS_READ)
        try:  # takes the session in turns: the diffs and the sample run in the CPU pool
            found = await diffs.diff(
                ctx,
                ctx.services.cpu,
                _side(from_),
                _side(to) if to is not None else None,
                to_template,
                sample,
            )
        except REFUSALS as error:
            return refused(error)  # type: ignore[return-value]
        impact = found.impact
        return RulebookDiff(
            from_label=found.before.label,
            to_label=found.after.label,
            from_text=found.before.book.text,
            to_text=found.after.book.text,
            changes=[
                RulebookChange(
                    kind=c.kind,
                    id=c.id,
                    status=c.status,
                    label=c.label,
                    text_diff=c.text_diff,
                    before=c.before,
                    after=c.after,
                )
                for c in found.changes
            ],
            regions=[ExactRegion(rule_id=r.rule_id, sentence=r.sentence) for r in found.regions],
            impact=BehaviourImpact(
                sampled=found.sampled,
                changed=impact.total.counts["changed"],
                charge_up=str(impact.total.charges_up),
                charge_down=str(impact.total.charges_down),
                tally=ImpactTally.from_tally(impact.total),
                by_family=[
                    NamedTally(name=n, tally=ImpactTally.from_tally(t)) for n, t in sorted(impact.families.items())
                ],
                encounters=[
                    ImpactedEncounter(
                        encounter_id=strawberry.ID(to_global_id("Encounter", uuid.UUID(e["encounter_id"]))),
                        external_id=found.external_ids.get(e["encounter_id"], ""),
                        payer=e["payer"],
                        charge_delta=e["charge_delta"],
                        summary=e["summary"],
                    )
                    for e in impact.examples
                ],
            ),
        )


@strawberry.type(name="DraftShadow", description="A draft coding beside the published rules on live traffic.")
class DraftShadowInfo(Node):
    rulebook_id: strawberry.ID
    draft_revision: int
    status: str = strawberry.field(description="running, stopped or ended.")
    starts_at: dt.datetime
    ends_at: dt.datetime
    stopped_at: dt.datetime | None
    seen: int = strawberry.field(description="Live codings the draft coded beside.")
    impact: ImpactTally = strawberry.field(description="Per payer and family tallies count changed encounters.")
    by_payer: list[NamedTally]
    by_family: list[NamedTally]
    differences: list[ImpactExample] = strawberry.field(description="The latest encounters the draft codes otherwise.")

    @classmethod
    def from_observed(cls, found: shadows.Observed) -> DraftShadowInfo:
        shadow, impact = found.shadow, found.impact
        examples = [
            e for observation in found.latest for e in (observation.diff or {}).get("impact", {}).get("examples", [])
        ]
        return cls(
            id=strawberry.ID(to_global_id("DraftShadow", shadow.id)),
            rulebook_id=strawberry.ID(to_global_id("Rulebook", shadow.rulebook_id)),
            draft_revision=shadow.draft_revision,
            status=shadow.status,
            starts_at=shadow.starts_at,
            ends_at=shadow.ends_at,
            stopped_at=shadow.stopped_at,
            seen=found.seen,
            impact=ImpactTally.from_tally(impact.total),
            by_payer=_named(impact.payers),
            by_family=_named(impact.families),
            differences=[_example(e) for e in examples],
        )


def _example(found: dict[str, str]) -> ImpactExample:
    return ImpactExample(
        encounter_id=strawberry.ID(to_global_id("Encounter", uuid.UUID(found["encounter_id"]))),
        payer=found["payer"],
        date_of_service=dt.date.fromisoformat(found["date_of_service"]),
        charge_delta=found["charge_delta"],
        summary=found["summary"],
    )


ShadowResult = Annotated[
    DraftShadowInfo | InvalidInput | NotFoundError | Forbidden | Conflict | RolledBack,
    strawberry.union("DraftShadowResult"),
]
ShadowAnswer = Annotated[DraftShadowInfo | NotFoundError, strawberry.union("DraftShadowAnswer")]


@strawberry.type
class DraftShadowQueries:
    @strawberry.field(description="A draft shadow: how many live codings it saw and what it would change.")
    async def draft_shadow(self, info: Info, id: strawberry.ID) -> ShadowAnswer:
        ctx = context(info)
        require(info, Permission.RULEBOOKS_READ)
        async with ctx.lock:
            try:
                found = await shadows.observed(await ctx.session(), from_global_id(str(id), "DraftShadow"))
            except REFUSALS as error:
                return refused(error)  # type: ignore[return-value]
        return DraftShadowInfo.from_observed(found)


@strawberry.type
class DraftShadowMutations:
    @strawberry.mutation(
        description="Code every live encounter also with the rulebook's current draft for `days` days, and keep "
        "what differs for review; the live coding is unchanged."
    )
    async def start_draft_shadow(self, info: Info, rulebook_id: strawberry.ID, days: int = 14) -> ShadowResult:
        ctx = context(info)
        principal = allowed(info, Permission.RULEBOOKS_WRITE)
        if isinstance(principal, Forbidden):
            return principal
        try:  # takes the session in turns: the draft is checked in the CPU pool
            shadow = await shadows.start(
                ctx, ctx.services.cpu, principal, from_global_id(str(rulebook_id), "Rulebook"), days
            )
        except REFUSALS as error:
            return refused(error)
        async with ctx.lock:
            await ctx.audit("rulebook.shadow.start", "rules", object_type="DraftShadow", object_ids=[shadow.id])
            found = await shadows.observed(await ctx.session(), shadow.id)
        return DraftShadowInfo.from_observed(found)

    @strawberry.mutation(description="Stop a running draft shadow; what it saw stays.")
    async def stop_draft_shadow(self, info: Info, id: strawberry.ID) -> ShadowResult:
        ctx = context(info)
        principal = allowed(info, Permission.RULEBOOKS_WRITE)
        if isinstance(principal, Forbidden):
            return principal
        async with ctx.lock:
            try:
                shadow = await shadows.stop(await ctx.session(), from_global_id(str(id), "DraftShadow"))
            except REFUSALS as error:
                return refused(error)
            await ctx.audit("rulebook.shadow.stop", "rules", object_type="DraftShadow", object_ids=[shadow.id])
            found = await shadows.observed(await ctx.session(), shadow.id)
        return DraftShadowInfo.from_observed(found)
