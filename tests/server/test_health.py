"""Liveness, readiness and health over HTTP, and the request id every answer carries."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from server.health import codeset_warnings


@asynccontextmanager
async def _client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://cutis.test") as client:
        yield client
    await app.state.services.queue.close()
    app.state.services.cpu.shutdown()
    await app.state.services.session_factory.kw["bind"].dispose()


async def test_livez_answers_without_touching_anything(app_client) -> None:
    response = await app_client.get("/livez")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_readyz_at_the_migration_head(app_client) -> None:
    response = await app_client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["database"], body["migrations"]) == ("ok", "ok", "ok")
    assert body["redis"].startswith("not configured")


async def test_readyz_refuses_a_database_behind_the_code(
    database_url: str, settings_for, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replica of newer code started before `cutis db upgrade` stays out of the balancer; /healthz is still 200."""
    from server import app as app_module
    from server.health import migration_head

    head = migration_head()
    monkeypatch.setattr(app_module, "migration_head", lambda: "9999_newer")
    async with _client(app_module.create_app(settings_for(database_url))) as client:
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["migrations"] == f"behind: the database is at {head}, this code needs 9999_newer"
        assert (await client.get("/healthz")).status_code == 200


async def test_readyz_reports_redis_down_by_type_only(database_url: str, settings_for) -> None:
    from server.app import create_app

    async with _client(create_app(settings_for(database_url, "redis://127.0.0.1:1/0"))) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["redis"] == "unreachable (ConnectionError)"
    assert "127.0.0.1" not in response.text


def test_code_sets_for_a_year_not_installed_are_a_warning() -> None:
    from rulebooks.dated_codesets import default_codesets

    newest = max(release.fiscal_year for release in default_codesets().icd10cm)
    assert codeset_warnings(dt.date(newest - 1, 12, 1)) == []  # fiscal year N starts on October 1st of N-1
    (warning,) = codeset_warnings(dt.date(newest + 1, 12, 1))
    assert warning.startswith(f"ICD-10-CM FY{newest + 2} is not installed; coding uses FY{newest}")


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        pytest.param("proxy-7f3a-01", True, id="a proxy's plain id is kept"),
        pytest.param("<script>alert(1)</script>", False, id="markup is replaced"),
        pytest.param("x" * 65, False, id="too long is replaced"),
    ],
)
async def test_every_answer_carries_a_request_id(app_client, sent: str, kept: bool) -> None:
    response = await app_client.get("/livez", headers={"X-Request-Id": sent})
    returned = response.headers["x-request-id"]
    assert (returned == sent) is kept
    if not kept:
        assert len(returned) == 32
