"""The production job path: outbox -> relay -> Redis -> a real arq worker (burst) -> coding stored."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from server.db import tenant_session
from server.models import OutboxMessage
from tests.factories import make_clinic
from tests.server.graphql_ops import encounter_input, gql, operation


@pytest.fixture
async def redis_app_client(database_url: str, redis_url: str, settings_for):  # type: ignore[no-untyped-def]
    import httpx
    from redis.asyncio import Redis

    from server.app import create_app

    client = Redis.from_url(redis_url)
    await client.flushdb()
    await client.aclose()
    settings = settings_for(database_url, redis_url)
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://cutis.test") as http:
        http.app_services = app.state.services  # type: ignore[attr-defined]
        http.settings = settings  # type: ignore[attr-defined]
        yield http
    await app.state.services.queue.close()
    await app.state.services.session_factory.kw["bind"].dispose()


async def run_worker_burst(settings) -> None:  # type: ignore[no-untyped-def]
    from arq.worker import Worker

    from server.worker import worker_settings

    options = worker_settings(settings, burst=True)
    options["cron_jobs"] = []  # the sweeper is tested on its own below
    worker = Worker(**options, handle_signals=False, poll_delay=0.05)
    try:
        await worker.async_run()
    finally:
        await worker.close()


@pytest.mark.redis
async def test_submitted_encounter_is_coded_by_the_arq_worker(redis_app_client) -> None:
    client = redis_app_client
    clinic = await make_clinic(client.app_services.session_factory)
    tenant_id = clinic.tenant_id
    key = clinic.key
    submitted = await gql(client, operation("SubmitEncounter"), {"input": encounter_input()}, key)
    encounter_id = submitted["data"]["submitEncounter"]["encounter"]["id"]
    before = (await gql(client, operation("Encounter"), {"id": encounter_id}, key))["data"]["encounter"]
    assert before["status"] == "queued" and before["coding"] is None

    from redis.asyncio import Redis

    redis = Redis.from_url(client.settings.redis_url)
    queued = await redis.zrange("arq:queue", 0, -1)
    await redis.aclose()
    async with tenant_session(client.app_services.session_factory, tenant_id) as session:
        outbox_id = (
            await session.execute(select(OutboxMessage.id).where(OutboxMessage.tenant_id == tenant_id))
        ).scalar_one()
    # the job id IS the outbox id, and the job's arguments are ids only (no PHI in Redis)
    assert [q.decode() for q in queued] == [str(outbox_id)]
    from arq.jobs import Job

    redis = Redis.from_url(client.settings.redis_url)
    job_info = await Job(str(outbox_id), redis).info()
    await redis.aclose()
    assert job_info is not None and job_info.args == (str(outbox_id), str(tenant_id)) and job_info.kwargs == {}

    await run_worker_burst(client.settings)
    after = (await gql(client, operation("Encounter"), {"id": encounter_id}, key))["data"]["encounter"]
    assert after["status"] == "coded"
    assert {line["code"] for line in after["coding"]["claimLines"]} == {"11104", "11103", "99214"}


@pytest.mark.redis
async def test_running_a_job_twice_codes_once(redis_app_client) -> None:
    from server.jobs import run_outbox_job

    client = redis_app_client
    factory = client.app_services.session_factory
    clinic = await make_clinic(factory)
    tenant_id = clinic.tenant_id
    key = clinic.key
    await gql(client, operation("SubmitEncounter"), {"input": encounter_input()}, key)
    async with tenant_session(factory, tenant_id) as session:
        outbox_id = (
            await session.execute(select(OutboxMessage.id).where(OutboxMessage.tenant_id == tenant_id))
        ).scalar_one()
    assert await run_outbox_job(factory, outbox_id, tenant_id) == "done"
    assert await run_outbox_job(factory, outbox_id, tenant_id) == "done"
    await run_worker_burst(client.settings)  # the queued copy finds the row done
    from sqlalchemy import func

    from server.models import CodingRecord

    async with tenant_session(factory, tenant_id) as session:
        assert (await session.execute(select(func.count()).select_from(CodingRecord))).scalar_one() == 1


@pytest.mark.redis
async def test_sweeper_enqueues_rows_the_relay_never_sent(redis_app_client) -> None:
    """A crash between commit and enqueue leaves a pending row; the sweeper sends it."""
    from server.jobs import ArqQueue, sweep_stale

    client = redis_app_client
    factory = client.app_services.session_factory
    clinic = await make_clinic(factory)
    tenant_id = clinic.tenant_id
    key = clinic.key
    await gql(client, operation("SubmitEncounter"), {"input": encounter_input()}, key)
    async with tenant_session(factory, tenant_id) as session:
        message = (
            await session.execute(select(OutboxMessage).where(OutboxMessage.tenant_id == tenant_id))
        ).scalar_one()
        message.enqueued_at = None
        outbox_id: uuid.UUID = message.id
    from redis.asyncio import Redis

    redis = Redis.from_url(client.settings.redis_url)
    await redis.flushdb()  # the enqueued job is lost
    queue = ArqQueue(client.settings.redis_url)
    assert await sweep_stale(factory, queue) >= 1
    await queue.close()
    assert str(outbox_id).encode() in await redis.zrange("arq:queue", 0, -1)
    await redis.aclose()
    await run_worker_burst(client.settings)
    async with tenant_session(factory, tenant_id) as session:
        assert (await session.get(OutboxMessage, outbox_id)).status == "done"  # type: ignore[union-attr]
