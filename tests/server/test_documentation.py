"""The documentation service (server/documentation.py): the note check runs in the pool, and a provider query is
answered by a new, re-coded version (the pool working while no session turn is held) or withdrawn, once."""

from __future__ import annotations

import uuid

import pytest

from server.db import tenant_session
from server.documentation import QueryFilter, answer_query, check_documentation, provider_queries, withdraw_query
from server.encounters import FeeCache, code_now
from server.errors import InputInvalid, NotFound
from tenants.keys import Principal
from tests.factories import make_clinic
from tests.server.test_encounters import canonical
from tests.server.turns import WatchedTurns, WatchingCpu

SYMPTOM = "The lesion bleeds when it catches on her glasses and is painful."


async def _open_query(session_factory):  # type: ignore[no-untyped-def]
    """A clinic whose borderline encounter was coded, held, and asked about: (principal, the open query's id)."""
    clinic = await make_clinic(session_factory)
    async with tenant_session(session_factory, clinic.tenant_id) as session:
        turns = WatchedTurns(session)
        await code_now(turns, WatchingCpu(turns), FeeCache(), clinic.tenant_id, canonical("borderline_sk"))
        (query,), _ = await provider_queries(session, QueryFilter(status="open"), None, None)
    return Principal(tenant_id=clinic.tenant_id), query.id


class TestCheckDocumentation:
    async def test_the_note_is_analysed_in_the_pool(self) -> None:
        cpu = WatchingCpu()
        result = await check_documentation(cpu, canonical("borderline_sk"))
        assert cpu.dispatched == [("analyse_documentation", False)]
        assert result["classifications"]["sh1"]["category"] == "borderline"

    async def test_an_invalid_encounter_never_reaches_the_pool(self) -> None:
        cpu = WatchingCpu()
        with pytest.raises(InputInvalid):
            await check_documentation(cpu, {"note": "no encounter"})
        assert cpu.dispatched == []


class TestAnswerQuery:
    async def test_the_answer_is_a_new_version_coded_while_no_turn_is_held(self, session_factory) -> None:  # type: ignore[no-untyped-def]
        principal, query_id = await _open_query(session_factory)
        async with tenant_session(session_factory, principal.tenant_id) as session:
            turns = WatchedTurns(session)
            cpu = WatchingCpu(turns)
            answered = await answer_query(turns, cpu, principal, query_id, SYMPTOM)
            assert cpu.dispatched == [("code_in_worker", False)]
            assert (
                answered.query.status == "answered" and answered.query.answered_encounter_id == answered.coded.record.id
            )
            assert answered.coded.record.version == 2 and not answered.coded.coding.held_lines
            with pytest.raises(InputInvalid) as again:
                await answer_query(turns, cpu, principal, query_id, SYMPTOM)
        assert [(f.path, f.message) for f in again.value.fields] == [("id", "this query is already answered")]

    async def test_a_blank_addendum_is_refused_before_any_turn(self, session_factory) -> None:  # type: ignore[no-untyped-def]
        principal, query_id = await _open_query(session_factory)
        async with tenant_session(session_factory, principal.tenant_id) as session:
            turns = WatchedTurns(session)
            with pytest.raises(InputInvalid) as refused:
                await answer_query(turns, WatchingCpu(turns), principal, query_id, "  ")
        assert [f.path for f in refused.value.fields] == ["addendum"] and turns.turns == 0


class TestWithdrawQuery:
    async def test_a_withdrawal_needs_a_reason_and_closes_the_query_once(self, session_factory) -> None:  # type: ignore[no-untyped-def]
        principal, query_id = await _open_query(session_factory)
        async with tenant_session(session_factory, principal.tenant_id) as session:
            with pytest.raises(InputInvalid) as unexplained:
                await withdraw_query(session, principal, query_id, "no")
            assert [f.path for f in unexplained.value.fields] == ["reason"]
            assert (await withdraw_query(session, principal, query_id, "asked in error")).status == "withdrawn"
            with pytest.raises(InputInvalid, match="already withdrawn"):
                await withdraw_query(session, principal, query_id, "asked in error")

    async def test_another_clinics_query_is_not_found(self, session_factory) -> None:  # type: ignore[no-untyped-def]
        _, theirs = await _open_query(session_factory)
        ours = await make_clinic(session_factory)
        async with tenant_session(session_factory, ours.tenant_id) as session:
            for query_id in (theirs, None, uuid.uuid4()):
                with pytest.raises(NotFound, match="no provider query with that id"):
                    await withdraw_query(session, Principal(tenant_id=ours.tenant_id), query_id, "asked in error")
