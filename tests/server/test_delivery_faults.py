"""Redis delivers work; it is never a dependency of accepting it (the outbox in the database is the truth)."""

from __future__ import annotations

import logging
import time

import pytest
from sqlalchemy import select

from server.db import tenant_session
from server.models import OutboxMessage
from tests.factories import make_clinic
from tests.server import test_worker
from tests.server.graphql_ops import encounter_input, gql, operation

redis_app_client = test_worker.redis_app_client  # the production path's fixture, shared
CLOSED_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture
async def client_without_redis(database_url: str, settings_for):  # type: ignore[no-untyped-def]
    """The app configured for Redis while Redis does not answer (the limiter already counts locally)."""
    import httpx

    from server.app import create_app

    app = create_app(settings_for(database_url, CLOSED_REDIS_URL))
    services = app.state.services
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://cutis.test") as client:
        client.app_services = services  # type: ignore[attr-defined]
        yield client
    await services.queue.close()
    await services.rate_limiter.close()
    await services.session_factory.kw["bind"].dispose()


class TestSubmitWhileRedisIsDown:
    async def test_a_committed_submission_answers_success_and_waits_in_the_outbox(
        self, client_without_redis, caplog: pytest.LogCaptureFixture
    ) -> None:
        client = client_without_redis
        factory = client.app_services.session_factory
        clinic = await make_clinic(factory)
        caplog.set_level(logging.INFO)
        started = time.monotonic()
        response = await client.post(
            "/graphql",
            json={"query": operation("SubmitEncounter"), "variables": {"input": encounter_input()}},
            headers={"Authorization": f"Bearer {clinic.key}"},
        )
        assert time.monotonic() - started < 3  # no waiting out connection retries to a Redis that is down
        assert response.status_code == 200
        body = response.json()
        assert "errors" not in body, body
        submitted = body["data"]["submitEncounter"]
        assert submitted["__typename"] == "SubmittedEncounter"
        assert submitted["encounter"]["id"] and submitted["encounter"]["version"] == 1
        async with tenant_session(factory, clinic.tenant_id) as session:
            message = (
                await session.execute(select(OutboxMessage).where(OutboxMessage.tenant_id == clinic.tenant_id))
            ).scalar_one()
        assert (message.status, message.enqueued_at) == ("pending", None)  # the sweeper sends it later
        logged = "\n".join(record.getMessage() for record in caplog.records)
        assert "127.0.0.1:1" not in logged and "redis://" not in logged  # by error type only
        assert "127.0.0.1:1" not in response.text

    async def test_a_retry_of_a_success_is_not_needed(self, client_without_redis) -> None:
        """The client saw success, so it does not retry: one submission is one version."""
        client = client_without_redis
        factory = client.app_services.session_factory
        clinic = await make_clinic(factory)
        first = await gql(client, operation("SubmitEncounter"), {"input": encounter_input()}, clinic.key)
        second = await gql(
            client, operation("SubmitEncounter"), {"input": encounter_input(external_id="OTHER-1")}, clinic.key
        )
        assert first["data"]["submitEncounter"]["encounter"]["version"] == 1
        assert second["data"]["submitEncounter"]["encounter"]["version"] == 1


async def _only_outbox_row(factory, tenant_id):  # type: ignore[no-untyped-def]
    async with tenant_session(factory, tenant_id) as session:
        return (await session.execute(select(OutboxMessage).where(OutboxMessage.tenant_id == tenant_id))).scalar_one()


async def _age_enqueued_at(factory, tenant_id, seconds: float) -> None:  # type: ignore[no-untyped-def]
    """As if the relay had sent the row `seconds` ago (instead of sleeping in the test)."""
    import datetime as dt

    from tenants.base import utcnow

    async with tenant_session(factory, tenant_id) as session:
        message = (
            await session.execute(select(OutboxMessage).where(OutboxMessage.tenant_id == tenant_id))
        ).scalar_one()
        message.enqueued_at = utcnow() - dt.timedelta(seconds=seconds)


async def _codings(factory, tenant_id) -> int:  # type: ignore[no-untyped-def]
    from sqlalchemy import func

    from server.models import CodingRecord

    async with tenant_session(factory, tenant_id) as session:
        return int((await session.execute(select(func.count()).select_from(CodingRecord))).scalar_one())


@pytest.mark.redis
class TestSweeperResendsWorkRedisLost:
    """Redis keeps nothing on disk here: a restart loses every queued job. The sweeper notices within seconds."""

    async def test_a_job_that_vanished_is_sent_again_and_coded_once(self, redis_app_client) -> None:
        from redis.asyncio import Redis

        from server.jobs import ArqQueue, sweep_stale
        from tenants.base import utcnow
        from tests.server.test_worker import run_worker_burst

        client = redis_app_client
        factory = client.app_services.session_factory
        clinic = await make_clinic(factory)
        await gql(client, operation("SubmitEncounter"), {"input": encounter_input()}, clinic.key)
        outbox_id = (await _only_outbox_row(factory, clinic.tenant_id)).id
        redis = Redis.from_url(client.settings.redis_url)
        await redis.flushdb()  # Redis restarted: the queued job is gone
        await _age_enqueued_at(factory, clinic.tenant_id, seconds=10)
        queue = ArqQueue(client.settings.redis_url)
        try:
            assert await sweep_stale(factory, queue) >= 1  # other tests' rows may wait in the same database
        finally:
            await queue.close()
        assert str(outbox_id).encode() in await redis.zrange("arq:queue", 0, -1)
        await redis.aclose()
        sent_at = (await _only_outbox_row(factory, clinic.tenant_id)).enqueued_at
        assert (utcnow() - sent_at.replace(tzinfo=utcnow().tzinfo)).total_seconds() < 5  # stamped as sent again
        await run_worker_burst(client.settings)
        assert (await _only_outbox_row(factory, clinic.tenant_id)).status == "done"
        assert await _codings(factory, clinic.tenant_id) == 1

    async def test_a_job_still_queued_is_left_alone(self, redis_app_client) -> None:
        from server.jobs import ArqQueue, sweep_stale
        from tenants.base import utcnow

        client = redis_app_client
        factory = client.app_services.session_factory
        clinic = await make_clinic(factory)
        await gql(client, operation("SubmitEncounter"), {"input": encounter_input()}, clinic.key)
        await _age_enqueued_at(factory, clinic.tenant_id, seconds=10)
        queue = ArqQueue(client.settings.redis_url)
        try:
            await sweep_stale(factory, queue)
        finally:
            await queue.close()
        sent_at = (await _only_outbox_row(factory, clinic.tenant_id)).enqueued_at
        assert (utcnow() - sent_at.replace(tzinfo=utcnow().tzinfo)).total_seconds() >= 9  # not sent again

    async def test_a_job_held_by_a_dead_worker_is_freed(self, redis_app_client) -> None:
        """A SIGKILLed worker leaves arq's in-progress key for job_timeout + 10 s; no live worker owns it."""
        from arq.constants import in_progress_key_prefix
        from redis.asyncio import Redis

        from server.jobs import ArqQueue, sweep_stale
        from tests.server.test_worker import run_worker_burst

        client = redis_app_client
        factory = client.app_services.session_factory
        clinic = await make_clinic(factory)
        await gql(client, operation("SubmitEncounter"), {"input": encounter_input()}, clinic.key)
        outbox_id = (await _only_outbox_row(factory, clinic.tenant_id)).id
        redis = Redis.from_url(client.settings.redis_url)
        await redis.psetex(in_progress_key_prefix + str(outbox_id), 130_000, b"1")  # picked, then the worker died
        await _age_enqueued_at(factory, clinic.tenant_id, seconds=10)
        queue = ArqQueue(client.settings.redis_url)
        try:
            await sweep_stale(factory, queue)
        finally:
            await queue.close()
        assert not await redis.exists(in_progress_key_prefix + str(outbox_id))
        await redis.aclose()
        await run_worker_burst(client.settings)
        assert (await _only_outbox_row(factory, clinic.tenant_id)).status == "done"
        assert await _codings(factory, clinic.tenant_id) == 1

    async def test_a_job_delivered_twice_codes_once(self, redis_app_client) -> None:
        """The guarantee is the row lock and the done check in run_outbox_job, not Redis's deduplication."""
        from arq.constants import result_key_prefix
        from redis.asyncio import Redis

        from server.jobs import ArqQueue, OutboxRef
        from tests.server.test_worker import run_worker_burst

        client = redis_app_client
        factory = client.app_services.session_factory
        clinic = await make_clinic(factory)
        await gql(client, operation("SubmitEncounter"), {"input": encounter_input()}, clinic.key)
        outbox_id = (await _only_outbox_row(factory, clinic.tenant_id)).id
        await run_worker_burst(client.settings)
        redis = Redis.from_url(client.settings.redis_url)
        await redis.delete(result_key_prefix + str(outbox_id))  # so that arq accepts the same job id again
        await redis.aclose()
        queue = ArqQueue(client.settings.redis_url)
        try:
            await queue.enqueue(OutboxRef(outbox_id, clinic.tenant_id))
        finally:
            await queue.close()
        await run_worker_burst(client.settings)
        assert await _codings(factory, clinic.tenant_id) == 1

    async def test_a_job_that_failed_in_arq_while_its_row_is_pending_is_sent_again(self, redis_app_client) -> None:
        """arq gave up (say PostgreSQL was down through every try) and keeps a result: that must not block resending."""
        from arq.constants import result_key_prefix
        from redis.asyncio import Redis

        from server.jobs import ArqQueue, sweep_stale

        client = redis_app_client
        factory = client.app_services.session_factory
        clinic = await make_clinic(factory)
        await gql(client, operation("SubmitEncounter"), {"input": encounter_input()}, clinic.key)
        outbox_id = (await _only_outbox_row(factory, clinic.tenant_id)).id
        redis = Redis.from_url(client.settings.redis_url)
        await redis.flushdb()
        await redis.set(result_key_prefix + str(outbox_id), b"failed result", px=3_600_000)
        await _age_enqueued_at(factory, clinic.tenant_id, seconds=10)
        queue = ArqQueue(client.settings.redis_url)
        try:
            assert await sweep_stale(factory, queue) >= 1  # other tests' rows may wait in the same database
        finally:
            await queue.close()
        assert str(outbox_id).encode() in await redis.zrange("arq:queue", 0, -1)
        await redis.aclose()
