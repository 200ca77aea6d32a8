"""The encounters service (server/encounters.py): refusals come before any work, coding holds no session turn
while the pool runs, and a clinic finds only its own encounters."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from server.db import tenant_session
from server.encounters import FeeCache, code_now, get_encounter
from server.errors import InputInvalid, NotFound
from tests.factories import make_clinic
from tests.server.turns import WatchedTurns, WatchingCpu

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "encounters"


def canonical(fixture: str = "biopsy_em") -> dict[str, Any]:
    return json.loads((FIXTURES / f"{fixture}.json").read_text())  # type: ignore[no-any-return]


class TestCodeNow:
    async def test_the_pool_codes_while_no_turn_is_held(self, session_factory) -> None:  # type: ignore[no-untyped-def]
        clinic = await make_clinic(session_factory)
        async with tenant_session(session_factory, clinic.tenant_id) as session:
            turns = WatchedTurns(session)
            cpu = WatchingCpu(turns)
            coded = await code_now(turns, cpu, FeeCache(), clinic.tenant_id, canonical())
        assert cpu.dispatched == [("code_in_worker", False)]
        assert turns.turns == 2  # store the version and read the fees; store the coding
        assert coded.record.status == "coded" and coded.coding_record.encounter_id == coded.record.id
        assert coded.coding.claim_lines

    async def test_an_invalid_encounter_is_refused_before_any_turn_or_work(self, session_factory) -> None:  # type: ignore[no-untyped-def]
        clinic = await make_clinic(session_factory)
        async with tenant_session(session_factory, clinic.tenant_id) as session:
            turns = WatchedTurns(session)
            cpu = WatchingCpu(turns)
            with pytest.raises(InputInvalid) as refused:
                await code_now(turns, cpu, FeeCache(), clinic.tenant_id, {**canonical(), "date_of_service": "soon"})
        assert [problem.path for problem in refused.value.fields] == ["date_of_service"]
        assert turns.turns == 0 and cpu.dispatched == []


class TestGetEncounter:
    async def test_another_clinics_encounter_is_not_found_like_an_id_naming_nothing(self, session_factory) -> None:  # type: ignore[no-untyped-def]
        ours, theirs = await make_clinic(session_factory), await make_clinic(session_factory)
        async with tenant_session(session_factory, theirs.tenant_id) as session:
            turns = WatchedTurns(session)
            coded = await code_now(turns, WatchingCpu(turns), FeeCache(), theirs.tenant_id, canonical())
        async with tenant_session(session_factory, ours.tenant_id) as session:
            for encounter_id in (coded.record.id, None, uuid.uuid4()):
                with pytest.raises(NotFound, match="no encounter with that id"):
                    await get_encounter(session, encounter_id)
