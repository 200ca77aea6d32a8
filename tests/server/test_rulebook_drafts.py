"""The rulebook drafts service (server/rulebook_drafts.py): names, saving with optimistic concurrency, and the
editor's operations in the pool (explain holding no session turn while it runs, and reading only the clinic's own)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from server.db import tenant_session
from server.encounters import FeeCache, code_now
from server.errors import Conflict, InputInvalid, NotFound
from server.rulebook_drafts import (
    StoredEncounter,
    create_rulebook,
    diagnose,
    explain,
    format_text,
    run_tests,
    save_draft,
)
from tenants.keys import Principal
from tests.factories import make_clinic
from tests.server.test_encounters import canonical
from tests.server.test_rules_cli import TYPO
from tests.server.turns import WatchedTurns, WatchingCpu

AETNA = (Path(__file__).resolve().parents[2] / "rulebooks" / "library" / "aetna-commercial.rules").read_text()


class TestCreateRulebook:
    async def test_a_name_is_needed_and_unique_in_the_clinic(self, session_factory) -> None:  # type: ignore[no-untyped-def]
        clinic = await make_clinic(session_factory)
        principal = Principal(tenant_id=clinic.tenant_id)
        async with tenant_session(session_factory, clinic.tenant_id) as session:
            with pytest.raises(InputInvalid) as unnamed:
                await create_rulebook(session, principal, "  ", "AETNA", "payer", "")
            await create_rulebook(session, principal, "Caps", "AETNA", "payer", "")
            with pytest.raises(InputInvalid) as taken:
                await create_rulebook(session, principal, "Caps", None, "clinic", "")
        assert [f.path for f in unnamed.value.fields] == [f.path for f in taken.value.fields] == ["name"]
        assert taken.value.message == "your clinic already has a rulebook with that name"


class TestSaveDraft:
    async def test_a_save_based_on_an_older_revision_overwrites_nothing(self, session_factory) -> None:  # type: ignore[no-untyped-def]
        clinic = await make_clinic(session_factory)
        principal = Principal(tenant_id=clinic.tenant_id)
        async with tenant_session(session_factory, clinic.tenant_id) as session:
            row = await create_rulebook(session, principal, "Caps", "AETNA", "payer", "first")
            assert (await save_draft(session, principal, row.id, "second", 1)).draft_revision == 2
            with pytest.raises(Conflict) as stale:
                await save_draft(session, principal, row.id, "also second", 1)
            assert stale.value.current_revision == 2 and row.draft_text == "second"

    async def test_another_clinics_rulebook_is_not_found(self, session_factory) -> None:  # type: ignore[no-untyped-def]
        ours, theirs = await make_clinic(session_factory), await make_clinic(session_factory)
        async with tenant_session(session_factory, theirs.tenant_id) as session:
            row = await create_rulebook(session, Principal(tenant_id=theirs.tenant_id), "Caps", None, "clinic", "")
        async with tenant_session(session_factory, ours.tenant_id) as session:
            for rulebook_id in (row.id, None, uuid.uuid4()):
                with pytest.raises(NotFound, match="no rulebook with that id"):
                    await save_draft(session, Principal(tenant_id=ours.tenant_id), rulebook_id, "mine now", 1)


class TestTextOperations:
    async def test_each_runs_once_in_the_pool(self) -> None:
        cpu = WatchingCpu()
        assert [d["code"] for d in await diagnose(cpu, TYPO)] == ["name.unknown"]
        assert (await format_text(cpu, AETNA))["changed"] is False
        assert (await run_tests(cpu, AETNA))["passed"] is True
        assert [name for name, _ in cpu.dispatched] == ["check", "format", "run_tests"]


class TestExplain:
    @pytest.mark.parametrize(
        ("inline", "stored"),
        [
            pytest.param(None, None, id="no encounter"),
            pytest.param(canonical(), StoredEncounter(uuid.uuid4()), id="an inline and a stored encounter"),
        ],
    )
    async def test_exactly_one_encounter_or_refused_before_any_turn(self, session_factory, inline, stored) -> None:  # type: ignore[no-untyped-def]
        clinic = await make_clinic(session_factory)
        async with tenant_session(session_factory, clinic.tenant_id) as session:
            turns = WatchedTurns(session)
            cpu = WatchingCpu(turns)
            with pytest.raises(InputInvalid) as refused:
                await explain(turns, cpu, FeeCache(), clinic.tenant_id, AETNA, inline, stored)
        assert [f.path for f in refused.value.fields] == ["encounter"]
        assert turns.turns == 0 and cpu.dispatched == []

    async def test_a_stored_encounter_is_read_and_explained_while_no_turn_is_held(self, session_factory) -> None:  # type: ignore[no-untyped-def]
        clinic = await make_clinic(session_factory)
        async with tenant_session(session_factory, clinic.tenant_id) as session:
            turns = WatchedTurns(session)
            coded = await code_now(turns, WatchingCpu(turns), FeeCache(), clinic.tenant_id, canonical())
            cpu = WatchingCpu(turns)
            stored = StoredEncounter(coded.record.id)
            explained = await explain(turns, cpu, FeeCache(), clinic.tenant_id, AETNA, None, stored)
        assert cpu.dispatched == [("explain", False)]
        assert explained.encounter_read == coded.record.id and explained.coding is not None
        assert explained.external_id == coded.record.external_id

    async def test_another_clinics_encounter_is_not_found(self, session_factory) -> None:  # type: ignore[no-untyped-def]
        ours, theirs = await make_clinic(session_factory), await make_clinic(session_factory)
        async with tenant_session(session_factory, theirs.tenant_id) as session:
            turns = WatchedTurns(session)
            coded = await code_now(turns, WatchingCpu(turns), FeeCache(), theirs.tenant_id, canonical())
        async with tenant_session(session_factory, ours.tenant_id) as session:
            turns = WatchedTurns(session)
            cpu = WatchingCpu(turns)
            with pytest.raises(NotFound, match="no encounter with that id"):
                await explain(turns, cpu, FeeCache(), ours.tenant_id, AETNA, None, StoredEncounter(coded.record.id))
        assert cpu.dispatched == []
