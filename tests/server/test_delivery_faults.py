"""Redis delivers work; it is never a dependency of accepting it (the outbox in the database is the truth)."""

from __future__ import annotations

import logging
import time

import pytest
from sqlalchemy import select

from server.db import tenant_session
from server.models import OutboxMessage
from tests.factories import make_clinic
from tests.server.graphql_ops import encounter_input, gql, operation

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
