"""The rulebook lifecycle service (server/rulebook_versions.py): what is refused and why, and that
nothing of another clinic is ever seen."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import pytest

from server import rulebook_versions as versions
from server.db import tenant_session
from server.errors import Conflict, Forbidden, InputInvalid, NotFound
from tenants import accounts
from tenants.keys import Principal
from tenants.roles import ROLE_PERMISSIONS
from tenants.secrets import SecretBox
from tests.factories import TOTP_KEY, make_clinic
from tests.server.test_rulebook_lifecycle import AETNA, Clock, raised_threshold
from tests.server.turns import WatchedTurns, WatchingCpu

BOX = SecretBox(TOTP_KEY)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


class People:
    """A clinic with a practice manager, a compliance reviewer and an owner, as principals."""

    def __init__(self, factory: Any) -> None:
        self.factory = factory

    async def make(self) -> People:
        self.clinic = await make_clinic(self.factory, roles=("practice_manager", "compliance_reviewer", "owner"))
        self.principals: dict[str, Principal] = {}
        self.secrets: dict[str, str | None] = {}
        async with tenant_session(self.factory, self.clinic.tenant_id) as session:
            for role, (email, secret) in self.clinic.people.items():
                account = await accounts.account_by_email(session, email)
                assert account is not None
                self.principals[role] = Principal(
                    tenant_id=self.clinic.tenant_id, user_id=account.id, role=role, permissions=ROLE_PERMISSIONS[role]
                )
                self.secrets[role] = secret
        return self

    def session(self) -> Any:
        return tenant_session(self.factory, self.clinic.tenant_id)


@pytest.fixture
async def people(session_factory: Any) -> People:
    return await People(session_factory).make()


async def adopted(people: People, text_change: Any = None) -> tuple[uuid.UUID, int]:
    async with people.session() as session:
        row = await versions.adopt_template(session, people.principals["practice_manager"], AETNA)
        if text_change is not None:
            row.draft_text = text_change(row.draft_text)
            row.draft_revision += 1
        return row.id, row.draft_revision


async def submitted(people: People, rulebook_id: uuid.UUID, revision: int, role: str = "practice_manager") -> Any:
    async with people.session() as session:
        turns = WatchedTurns(session)
        return await versions.submit(turns, WatchingCpu(turns), people.principals[role], rulebook_id, revision)


async def approved(people: People, clock: Clock, version_id: uuid.UUID, role: str = "compliance_reviewer") -> Any:
    async with people.session() as session:
        secret = people.secrets[role]
        assert secret is not None
        return await versions.review(
            session,
            people.principals[role],
            BOX,
            version_id,
            approve=True,
            comment=None,
            totp_code=clock.fresh_code(secret),
        )


async def published(people: People, clock: Clock, version_id: uuid.UUID, role: str = "compliance_reviewer") -> Any:
    async with people.session() as session:
        turns = WatchedTurns(session)
        secret = people.secrets[role]
        assert secret is not None
        return await versions.publish(
            turns, WatchingCpu(turns), people.principals[role], BOX, version_id, clock.fresh_code(secret)
        )


async def test_a_draft_with_errors_cannot_be_submitted(people: People) -> None:
    rulebook_id, revision = await adopted(people, lambda text: text.replace("service.count > 10", "service.cuont > 10"))
    with pytest.raises(InputInvalid) as refused:
        await submitted(people, rulebook_id, revision)
    assert refused.value.message == "a draft with errors cannot be submitted"
    assert [f.path for f in refused.value.fields] == ["text"] and "service.cuont" in refused.value.fields[0].message
    async with people.session() as session:
        assert await versions.versions_of(session, rulebook_id) == []


async def test_a_stale_draft_revision_is_a_conflict(people: People) -> None:
    rulebook_id, revision = await adopted(people)
    with pytest.raises(Conflict):
        await submitted(people, rulebook_id, revision - 1 if revision > 1 else revision + 1)


async def test_a_publish_that_breaks_the_books_tests_is_refused_with_each_failure(people: People, clock: Clock) -> None:
    only_the_rule = lambda text: text.replace("service.count > 10 lesions", "service.count > 14 lesions")  # noqa: E731
    rulebook_id, revision = await adopted(people, only_the_rule)
    version = await submitted(people, rulebook_id, revision)
    await approved(people, clock, version.id)
    with pytest.raises(InputInvalid) as refused:
        await published(people, clock, version.id)
    assert "tests fail" in refused.value.message
    failures = [f.message for f in refused.value.fields]
    assert any("AK cap by lesion count" in message and "example 2" in message for message in failures), failures
    async with people.session() as session:
        assert (await versions.get_version(session, version.id)).status == "approved"
        assert await versions.published_versions(session) == []


async def test_the_author_never_approves_their_own_version(people: People, clock: Clock) -> None:
    rulebook_id, revision = await adopted(people)
    version = await submitted(people, rulebook_id, revision, role="owner")
    with pytest.raises(Forbidden, match="author"):
        await approved(people, clock, version.id, role="owner")
    assert (await approved(people, clock, version.id)).status == "approved"


async def test_approving_without_a_fresh_code_is_refused_and_a_used_code_is_not_fresh(
    people: People, clock: Clock
) -> None:
    rulebook_id, revision = await adopted(people)
    version = await submitted(people, rulebook_id, revision)
    reviewer, secret = people.principals["compliance_reviewer"], people.secrets["compliance_reviewer"]
    assert secret is not None
    code = clock.fresh_code(secret)
    async with people.session() as session:
        for wrong in (None, "000000" if code != "000000" else "111111"):
            with pytest.raises(Forbidden):
                await versions.review(session, reviewer, BOX, version.id, approve=True, comment=None, totp_code=wrong)
    async with people.session() as session:  # the right code approves, and is spent
        await versions.review(session, reviewer, BOX, version.id, approve=True, comment=None, totp_code=code)
    version = await submitted(people, rulebook_id, revision)
    async with people.session() as session:
        with pytest.raises(Forbidden, match="not right or was already used"):
            await versions.review(session, reviewer, BOX, version.id, approve=True, comment=None, totp_code=code)


async def test_requesting_changes_needs_a_comment_and_anchors_line_comments(people: People) -> None:
    rulebook_id, revision = await adopted(people)
    version = await submitted(people, rulebook_id, revision)
    reviewer = people.principals["compliance_reviewer"]
    async with people.session() as session:
        with pytest.raises(InputInvalid, match="say what to change"):
            await versions.review(session, reviewer, BOX, version.id, approve=False, comment=None)
        with pytest.raises(InputInvalid) as past_the_end:
            await versions.review(
                session,
                reviewer,
                BOX,
                version.id,
                approve=False,
                comment=None,
                line_comments=[versions.LineComment(10_000, "here")],
            )
        assert [f.path for f in past_the_end.value.fields] == ["lineComments[0].line"]
        sent_back = await versions.review(
            session,
            reviewer,
            BOX,
            version.id,
            approve=False,
            comment="see line 13",
            line_comments=[versions.LineComment(13, "is 10 our contract's number?")],
        )
        assert sent_back.status == "changes_requested"
        comments = await versions.comments_of(session, [version.id])
    assert [(c.line, c.body, c.decision) for c in comments] == [
        (None, "see line 13", "changes_requested"),
        (13, "is 10 our contract's number?", None),
    ]


async def test_two_reviewers_approving_at_once_one_gets_a_conflict(people: People, clock: Clock) -> None:
    rulebook_id, revision = await adopted(people)
    version = await submitted(people, rulebook_id, revision)
    results = await asyncio.gather(
        approved(people, clock, version.id, role="compliance_reviewer"),
        approved(people, clock, version.id, role="owner"),
        return_exceptions=True,
    )
    assert sorted(type(result).__name__ for result in results) == ["Conflict", "RulebookVersion"], results


async def test_a_new_submission_withdraws_the_one_in_review(people: People, clock: Clock) -> None:
    rulebook_id, revision = await adopted(people)
    first = await submitted(people, rulebook_id, revision)
    second = await submitted(people, rulebook_id, revision)
    with pytest.raises(Conflict, match="withdrawn"):
        await approved(people, clock, first.id)
    assert (second.number, (await approved(people, clock, second.id)).status) == (2, "approved")


async def test_publishing_over_a_newer_version_is_a_conflict_and_rollback_republishes_old_content(
    people: People, clock: Clock
) -> None:
    rulebook_id, revision = await adopted(people)
    first = await submitted(people, rulebook_id, revision)
    await approved(people, clock, first.id)
    await published(people, clock, first.id)
    async with people.session() as session:
        row = await versions.adopt_template(session, people.principals["practice_manager"], AETNA, update=True)
        row.draft_text, row.draft_revision = raised_threshold(row.draft_text), row.draft_revision + 1
        revision = row.draft_revision
    second = await submitted(people, rulebook_id, revision)
    await approved(people, clock, second.id)
    reviewer, secret = people.principals["compliance_reviewer"], people.secrets["compliance_reviewer"]
    assert secret is not None
    async with people.session() as session:  # meanwhile, someone rolls back to version 1
        rolled = await versions.rollback(session, reviewer, BOX, rulebook_id, first.id, clock.fresh_code(secret))
    assert (rolled.number, rolled.content_hash, rolled.rolled_back_from) == (3, first.content_hash, first.id)
    assert rolled.id != first.id
    with pytest.raises(Conflict, match="version 3 of this rulebook was published after version 2"):
        await published(people, clock, second.id)
    async with people.session() as session:
        stack = await versions.resolve(session, dt.date(2026, 3, 2), "AETNA")
    assert [book.version_id for book in stack.books if book.layer == "payer"] == [str(rolled.id)]


async def test_two_books_of_one_payer_in_effect_on_the_same_date_are_refused(people: People, clock: Clock) -> None:
    rulebook_id, revision = await adopted(people)
    first = await submitted(people, rulebook_id, revision)
    await approved(people, clock, first.id)
    await published(people, clock, first.id)
    async with people.session() as session:
        other = await versions.adopt_template(session, people.principals["practice_manager"], AETNA, update=True)
        assert other.id == rulebook_id  # the same rulebook: an update, not a second book
        from server.rulebook_drafts import create_rulebook

        text = other.draft_text.replace('rulebook "Aetna commercial (template)"', 'rulebook "Aetna 2026 contract"')
        second_book = await create_rulebook(
            session, people.principals["practice_manager"], "Aetna 2026", "AETNA", "payer", text
        )
    version = await submitted(people, second_book.id, second_book.draft_revision)
    await approved(people, clock, version.id)
    with pytest.raises(InputInvalid) as refused:
        await published(people, clock, version.id)
    assert [f.path for f in refused.value.fields] == ["effective"]
    assert "two versions of AETNA's payer book cannot be in effect on the same date" in refused.value.message


async def test_nothing_of_another_clinic_is_seen(people: People, clock: Clock, session_factory: Any) -> None:
    rulebook_id, revision = await adopted(people)
    version = await submitted(people, rulebook_id, revision)
    await approved(people, clock, version.id)
    await published(people, clock, version.id)
    theirs = await People(session_factory).make()
    async with theirs.session() as session:
        for lookup in (
            lambda: versions.versions_of(session, rulebook_id),
            lambda: versions.get_version(session, version.id),
        ):
            with pytest.raises(NotFound):
                await lookup()
        assert await versions.published_versions(session) == []
        assert await versions.comments_of(session, [version.id]) == []
        stack = await versions.resolve(session, dt.date(2026, 3, 2), "AETNA")
    assert [book.version_id for book in stack.books] == [None]  # the shipped national base alone
    with pytest.raises(NotFound):
        await approved(theirs, clock, version.id)


async def test_a_cancelled_replay_skips_the_chunks_not_yet_run(people: People) -> None:
    from server import impact_replay
    from server.encounters import FeeCache, code_now
    from tests.server.test_encounters import canonical

    async with people.session() as session:
        turns = WatchedTurns(session)
        for number in range(3):
            payload = {**canonical(), "external_id": f"AK-{number}", "diagnoses": ["L57.0"]}
            payload["services"] = [
                {"id": "d1", "kind": "destruction", "count": 12, "site": "face", "diagnoses": ["L57.0"]}
            ]
            await code_now(turns, WatchingCpu(turns), FeeCache(), people.clinic.tenant_id, payload)
    rulebook_id, _ = await adopted(people)
    async with people.session() as session:
        turns = WatchedTurns(session)
        replay, messages = await impact_replay.start(
            turns, WatchingCpu(turns), people.principals["practice_manager"], rulebook_id, 10
        )
        assert (replay.total, len(messages)) == (3, 1)
        for _ in range(impact_replay.MAX_RUNNING - 1):
            await impact_replay.start(turns, WatchingCpu(turns), people.principals["practice_manager"], rulebook_id, 10)
        with pytest.raises(Conflict, match="replays of your clinic are running"):
            await impact_replay.start(turns, WatchingCpu(turns), people.principals["practice_manager"], rulebook_id, 10)
        await impact_replay.cancel(session, replay.id)
        with pytest.raises(Conflict):
            await impact_replay.cancel(session, replay.id)
        await impact_replay.run_chunk(session, messages[0].subject_id, WatchingCpu(turns))
        found = await impact_replay.progress(session, replay.id)
    assert (found.replay.status, found.done, found.chunks_finished, found.impact.total.counts["encounters"]) == (
        "cancelled",
        0,
        1,
        0,
    )
