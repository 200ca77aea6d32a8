"""The GraphQL endpoint under hostile or broken HTTP: malformed bodies, rate limits, Redis outages, suggestions."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from tests.factories import make_clinic

CLINIC_NAME = b"query { clinic { name } }"


class TestMalformedBodiesAnswer400:
    """Each malformed body gets HTTP 400 and a GraphQL-shaped JSON error saying what is wrong, never a 500."""

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            pytest.param(
                b"42", "the request body must be a JSON object with a `query` string, not a number", id="a number"
            ),
            pytest.param(b"null", "the request body must be a JSON object with a `query` string, not null", id="null"),
            pytest.param(
                b'"x"', "the request body must be a JSON object with a `query` string, not a string", id="a string"
            ),
            pytest.param(
                b"[]", "the request body must be a JSON object with a `query` string, not an array", id="an array"
            ),
            pytest.param(
                b'[{"query": "query { clinic { name } }"}]',
                "the request body must be a JSON object with a `query` string, not an array",
                id="a batch of operations",
            ),
            pytest.param(
                b"true", "the request body must be a JSON object with a `query` string, not a boolean", id="a boolean"
            ),
            pytest.param(
                b"", "the request body is empty: send a JSON object with a `query` string", id="an empty body"
            ),
            pytest.param(
                b'{"query": ',
                "the request body is not valid JSON: line 1, column 11: Expecting value",
                id="truncated JSON",
            ),
            pytest.param(
                b"{query: 1}",
                "the request body is not valid JSON: line 1, column 2: "
                "Expecting property name enclosed in double quotes",
                id="unquoted key",
            ),
            pytest.param(
                b'{"query": "query { cl\xff }"}',
                "the request body is not valid UTF-8: byte 21 (0xff): invalid start byte",
                id="invalid UTF-8 in the query",
            ),
            pytest.param(
                b'{"query": "query($a: String) { clinic { name } }", "variables": {"a": "\xc3("}}',
                "the request body is not valid UTF-8: byte 71 (0xc3): invalid continuation byte",
                id="invalid UTF-8 in a variable value",
            ),
            pytest.param(
                b'{"query": "query { clinic { name } } # \\ud800"}',
                "the request body has a \\u escape of half a UTF-16 surrogate pair (\\ud800 to \\udfff) without its "
                "other half: strings must be Unicode text",
                id="a lone surrogate escape in the document",
            ),
            pytest.param(
                b"{}", "the request body has no `query`: send the GraphQL document as a string", id="no query"
            ),
            pytest.param(
                b'{"query": 5}',
                "`query` must be a string holding the GraphQL document, not a number",
                id="query a number",
            ),
            pytest.param(
                b'{"query": null}', "`query` must be a string holding the GraphQL document, not null", id="query null"
            ),
            pytest.param(
                b'{"query": "query { clinic { name } }", "variables": [1]}',
                "`variables` must be a JSON object (or null), not an array",
                id="variables an array",
            ),
            pytest.param(
                b'{"query": "query { clinic { name } }", "variables": "{}"}',
                "`variables` must be a JSON object (or null), not a string",
                id="variables a string",
            ),
            pytest.param(
                b'{"query": "query { clinic { name } }", "operationName": 5}',
                "`operationName` must be a string (or null), not a number",
                id="operationName a number",
            ),
            pytest.param(
                b'{"query": "query { clinic { name } }", "extensions": 5}',
                "`extensions` must be a JSON object (or null), not a number",
                id="extensions a number",
            ),
            pytest.param(
                b'{"query": "query { clinic { name } }", "variables": {"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}",
                "the request body nests arrays and objects too deeply",
                id="a variable nested 100000 deep",
            ),
        ],
    )
    async def test_answers_400_with_the_reason(self, app_client, body: bytes, message: str) -> None:
        response = await app_client.post("/graphql", content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, response.text
        assert response.headers["content-type"].startswith("application/json")
        assert response.json() == {"errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]}

    async def test_a_body_that_is_not_json_content_is_refused_in_the_same_shape(self, app_client) -> None:
        response = await app_client.post("/graphql", content=CLINIC_NAME, headers={"Content-Type": "text/plain"})
        assert response.status_code == 400, response.text
        error = response.json()["errors"][0]
        assert error["extensions"] == {"code": "BAD_REQUEST"}
        assert "application/json" in error["message"]

    async def test_a_well_formed_body_still_runs(self, app_client) -> None:
        clinic = await make_clinic(app_client.app_services.session_factory)
        response = await app_client.post(
            "/graphql",
            content=b'{"query": "query { clinic { name } }", "variables": null, "operationName": null}',
            headers={"Content-Type": "application/json; charset=utf-8", "Authorization": f"Bearer {clinic.key}"},
        )
        assert response.status_code == 200, response.text
        assert response.json()["data"]["clinic"]["name"]


async def _close(app: Any) -> None:
    services = app.state.services
    await services.rate_limiter.close()
    await services.queue.close()
    await services.session_factory.kw["bind"].dispose()


async def _statuses(app: Any, key: str, count: int) -> list[httpx.Response]:
    responses = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://cutis.test") as client:
        for _ in range(count):
            responses.append(
                await client.post(
                    "/graphql",
                    json={"query": CLINIC_NAME.decode()},
                    headers={"Authorization": f"Bearer {key}"},
                )
            )
    return responses


def _assert_told_when_to_retry(response: httpx.Response) -> None:
    assert response.status_code == 429
    retry_after = response.headers.get("Retry-After")
    assert retry_after is not None and retry_after.isdigit(), retry_after
    assert 1 <= int(retry_after) <= 60
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {
        "errors": [
            {
                "message": f"rate limit exceeded: retry in {retry_after} seconds",
                "extensions": {"code": "RATE_LIMITED", "retryAfterSeconds": int(retry_after)},
            }
        ]
    }


class TestRateLimitReplies:
    async def test_a_429_says_when_to_retry(self, database_url: str, settings_for) -> None:
        from server.app import create_app

        app = create_app(settings_for(database_url).replace(rate_limit_per_minute=2))
        clinic = await make_clinic(app.state.services.session_factory)
        responses = await _statuses(app, clinic.key, 3)
        await _close(app)
        assert [r.status_code for r in responses] == [200, 200, 429]
        _assert_told_when_to_retry(responses[2])

    @pytest.mark.redis
    async def test_a_429_through_redis_says_when_to_retry(
        self, database_url: str, redis_url: str, settings_for
    ) -> None:
        from redis.asyncio import Redis

        from server.app import create_app

        flush = Redis.from_url(redis_url)
        await flush.flushdb()
        await flush.aclose()
        app = create_app(settings_for(database_url, redis_url).replace(rate_limit_per_minute=2))
        clinic = await make_clinic(app.state.services.session_factory)
        responses = await _statuses(app, clinic.key, 3)
        await _close(app)
        assert [r.status_code for r in responses] == [200, 200, 429]
        _assert_told_when_to_retry(responses[2])


@contextmanager
def _ratelimit_records(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Litestar's logging setup (at app creation) replaces the root handlers, so listen on the logger itself."""
    logger = logging.getLogger("server.ratelimit")
    replaced = caplog.handler not in logging.getLogger().handlers
    if replaced:
        logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.WARNING, logger="server.ratelimit"):
            yield
    finally:
        if replaced:
            logger.removeHandler(caplog.handler)


class TestRedisOutage:
    """The limiter guards the API; an unreachable Redis must not take the API down with it."""

    async def test_requests_still_answer_and_the_local_window_still_limits(
        self, database_url: str, settings_for, caplog: pytest.LogCaptureFixture
    ) -> None:
        from server.app import create_app

        closed_port = "redis://127.0.0.1:1/0"
        app = create_app(settings_for(database_url, closed_port).replace(rate_limit_per_minute=3))
        clinic = await make_clinic(app.state.services.session_factory)
        with _ratelimit_records(caplog):
            responses = await _statuses(app, clinic.key, 5)
        await _close(app)
        assert [r.status_code for r in responses] == [200, 200, 200, 429, 429]
        assert responses[0].json()["data"]["clinic"]["name"]
        _assert_told_when_to_retry(responses[3])
        warnings = [r for r in caplog.records if r.name == "server.ratelimit" and r.levelno >= logging.WARNING]
        assert len(warnings) == 1, [r.getMessage() for r in warnings]
        logged = warnings[0].getMessage()
        assert "ConnectionError" in logged
        assert "127.0.0.1" not in logged and "redis://" not in logged and ":1/" not in logged

    @pytest.mark.redis
    async def test_the_limiter_returns_to_redis_when_it_answers_again(
        self, redis_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        from redis.asyncio import Redis
        from redis.exceptions import ConnectionError as RedisConnectionError

        from server.ratelimit import RedisRateLimiter

        flush = Redis.from_url(redis_url)
        await flush.flushdb()
        limiter = RedisRateLimiter(redis_url, per_minute=2, retry_redis_after_seconds=0)
        other_process = RedisRateLimiter(redis_url, per_minute=2, retry_redis_after_seconds=0)
        assert await limiter.hit("key:a")  # one hit recorded in Redis

        async def refuse(*args: Any, **kwargs: Any) -> Any:
            raise RedisConnectionError("Error 111 connecting to redis.internal:6379. Connection refused.")

        storage = limiter._redis_storage  # the test reaches in to simulate an outage of this process's link
        monkeypatch.setattr(storage, "acquire_entry", refuse)
        with _ratelimit_records(caplog):
            assert [await limiter.hit("key:b") for _ in range(3)] == [True, True, False]  # local window limits
        assert await limiter.seconds_until_reset("key:b") >= 1
        monkeypatch.undo()
        # Redis answers again: the shared budget is back (one hit of "key:a" was already spent there)
        assert await limiter.hit("key:a")
        assert not await other_process.hit("key:a")
        warnings = [
            r.getMessage() for r in caplog.records if r.name == "server.ratelimit" and r.levelno >= logging.WARNING
        ]
        assert len(warnings) == 1 and "redis.internal" not in warnings[0], warnings
        await limiter.close()
        await other_process.close()
        await flush.flushdb()
        await flush.aclose()


MISSPELLINGS = [
    pytest.param("query { clinic { nam } }", None, id="a field"),
    pytest.param("query { encounters(frist: 1) { nodes { id } } }", None, id="an argument"),
    pytest.param("query { encounters(filter: {stauts: coded}) { nodes { id } } }", None, id="an input field"),
    pytest.param("query { encounters(filter: {status: code}) { nodes { id } } }", None, id="an enum value"),
    pytest.param("query($f: EncounterFiltr) { encounters(filter: $f) { nodes { id } } }", None, id="a type"),
    pytest.param(
        "query($f: EncounterFilter) { encounters(filter: $f) { nodes { id } } }",
        {"f": {"stauts": "coded"}},
        id="an input field in a variable",
    ),
]


class TestFieldSuggestions:
    @pytest.mark.parametrize(("query", "variables"), MISSPELLINGS)
    async def test_production_does_not_suggest_names(
        self, database_url: str, settings_for, query: str, variables: dict[str, Any] | None
    ) -> None:
        from server.app import create_app

        app = create_app(settings_for(database_url).replace(environment="production"))
        clinic = await make_clinic(app.state.services.session_factory)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://cutis.test") as client:
            response = await client.post(
                "/graphql",
                json={"query": query, "variables": variables},
                headers={"Authorization": f"Bearer {clinic.key}"},
            )
        await _close(app)
        errors = response.json()["errors"]
        assert errors, response.text
        for error in errors:
            assert "did you mean" not in error["message"].lower(), error["message"]
            assert error["message"].strip(), error

    @pytest.mark.parametrize(("query", "variables"), MISSPELLINGS[:1])
    async def test_development_keeps_suggesting(self, app_client, query: str, variables: dict[str, Any] | None) -> None:
        response = await app_client.post("/graphql", json={"query": query, "variables": variables})
        assert "Did you mean 'name'?" in response.json()["errors"][0]["message"]
