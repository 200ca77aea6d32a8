"""Interchange control numbers (ISA13, with GS06 and ST02's GE02/IEA02) are a sequence per clinic and
clearinghouse: unique, increasing, and never shared by two builds at once (on PostgreSQL the counter's
row is locked from the increment until the build's transaction ends)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from server.claims.service import next_interchange_number
from server.db import create_engine, create_session_factory, tenant_session
from tests.factories import make_clinic
from tests.server.claims.factories import EXAMPLE_SETUP, EXAMPLE_SUBSCRIBER, setup_payload
from tests.server.graphql_ops import encounter_input, gql, operation
from tests.server.session_client import as_person, login

TWO_HOUSES = setup_payload(
    clearinghouses=[
        *json.loads(EXAMPLE_SETUP.read_text())["clearinghouses"],
        {**json.loads(EXAMPLE_SETUP.read_text())["clearinghouses"][0], "code": "SECOND", "submitter_id": "SUB2"},
    ]
)


def _control_numbers(x12: str) -> tuple[str, str, str, str]:
    """ISA13, GS06, GE02 and IEA02 of a file."""
    segments = {line.split("*")[0]: line.rstrip("~").split("*") for line in x12.splitlines()}
    return segments["ISA"][13], segments["GS"][6], segments["GE"][2], segments["IEA"][2]


async def test_each_claim_takes_the_next_number_of_its_clearinghouse(app_client) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory, roles=("practice_manager",))
    other = await make_clinic(app_client.app_services.session_factory, name="other", roles=("practice_manager",))
    manager = await login(app_client, *clinic.people["practice_manager"])
    saved = await as_person(app_client, operation("SaveBillingSetup"), {"setup": TWO_HOUSES}, manager)
    assert saved["data"]["saveBillingSetup"]["revision"] == 1, saved
    subscriber = json.loads(EXAMPLE_SUBSCRIBER.read_text())
    numbers = []
    for index, house in enumerate([None, None, "SECOND", None, "SECOND"]):
        coded = await gql(
            app_client, operation("CodeEncounter"), {"input": encounter_input(external_id=f"ICN-{index}")}, clinic.key
        )
        variables: dict[str, Any] = {"encounterId": coded["data"]["codeEncounter"]["encounter"]["id"]}
        variables["subscriber"] = subscriber
        if house:
            variables["clearinghouse"] = house
        body = await as_person(app_client, operation("BuildClaim"), variables, manager)
        claim = body["data"]["buildClaim"]
        assert claim["__typename"] == "Claim", claim
        isa13, gs06, ge02, iea02 = _control_numbers(claim["x12"])
        assert isa13 == iea02 and gs06 == ge02 and int(isa13) == int(gs06)
        numbers.append((house or "default", int(isa13)))
    assert numbers == [("default", 1), ("default", 2), ("SECOND", 1), ("default", 3), ("SECOND", 2)]

    # Another clinic's sequence is its own, and it never sees this one's counters.
    other_manager = await login(app_client, *other.people["practice_manager"])
    await as_person(app_client, operation("SaveBillingSetup"), {"setup": TWO_HOUSES}, other_manager)
    coded = await gql(app_client, operation("CodeEncounter"), {"input": encounter_input()}, other.key)
    body = await as_person(
        app_client,
        operation("BuildClaim"),
        {"encounterId": coded["data"]["codeEncounter"]["encounter"]["id"], "subscriber": subscriber},
        other_manager,
    )
    assert _control_numbers(body["data"]["buildClaim"]["x12"])[0] == "000000001"


@pytest.mark.postgres
async def test_two_builds_at_once_never_share_a_number(postgres_url: str, settings_for) -> None:  # type: ignore[no-untyped-def]
    engine = create_engine(settings_for(postgres_url))
    factory = create_session_factory(engine)
    try:
        clinic = await make_clinic(factory)
        setup = setup_payload()
        taken: list[int] = []
        first_holds = asyncio.Event()
        first_may_commit = asyncio.Event()

        async def first() -> None:
            async with tenant_session(factory, clinic.tenant_id) as session:
                taken.append(await next_interchange_number(session, clinic.tenant_id, setup, None))
                first_holds.set()
                await first_may_commit.wait()

        async def second() -> None:
            await first_holds.wait()
            async with tenant_session(factory, clinic.tenant_id) as session:
                taken.append(await next_interchange_number(session, clinic.tenant_id, setup, None))

        waiting = asyncio.gather(first(), second())
        await first_holds.wait()
        await asyncio.sleep(0.3)
        assert taken == [1]  # the second build waits on the first's increment: it cannot take 1 too
        first_may_commit.set()
        await waiting
        assert taken == [1, 2]

        # Twenty at once, each in its own transaction: twenty different numbers, 3 to 22.
        async def one() -> int:
            async with tenant_session(factory, clinic.tenant_id) as session:
                return await next_interchange_number(session, clinic.tenant_id, setup, None)

        many = await asyncio.gather(*(one() for _ in range(20)))
        assert sorted(many) == list(range(3, 23))

        # A build that rolls back gives its number back, so the numbers stay a sequence without reuse.
        with pytest.raises(RuntimeError):
            async with tenant_session(factory, clinic.tenant_id) as session:
                assert await next_interchange_number(session, clinic.tenant_id, setup, None) == 23
                raise RuntimeError("the build failed its checks")
        assert await one() == 23
    finally:
        await engine.dispose()
