"""The Litestar app factory: `create_app(settings)`; nothing is created at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, MediaType, Request, Response, get
from litestar.datastructures import State
from litestar.static_files import create_static_files_router
from sqlalchemy import text
from strawberry.litestar import make_graphql_controller

from server.api.context import CutisContext, Services
from server.api.schema import build_schema
from server.db import create_engine, create_session_factory, global_session
from server.jobs import ArqQueue, InProcessQueue, JobQueue
from server.settings import Settings
from tenants.keys import authenticate_api_key


async def _principal(services: Services, request: Request[Any, Any, Any]) -> Any:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    async with services.session_factory() as session:
        principal = await authenticate_api_key(session, token.strip())
        await session.commit()
    return principal


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    engine = create_engine(settings)
    factory = create_session_factory(engine)
    queue: JobQueue = ArqQueue(settings.redis_url) if settings.redis_url else InProcessQueue(factory)
    services = Services(session_factory=factory, queue=queue, settings=settings)

    async def graphql_context(request: Request[Any, Any, Any]) -> CutisContext:
        return CutisContext(services=services, principal=await _principal(services, request))

    graphql_controller = make_graphql_controller(
        build_schema(production=settings.is_production),
        path="/graphql",
        context_getter=graphql_context,
        graphql_ide=None if settings.is_production else "graphiql",
        allow_queries_via_get=False,
    )

    @get("/healthz", media_type=MediaType.JSON)
    async def healthz() -> Response[dict[str, Any]]:
        checks: dict[str, Any] = {}
        try:
            async with global_session(factory) as session:
                await session.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as error:  # report reachability, never the connection string
            checks["database"] = f"unreachable ({type(error).__name__})"
        if settings.redis_url:
            checks["redis"] = await _redis_check(settings.redis_url)
        else:
            checks["redis"] = "not configured (jobs run in-process)"
        healthy = all(v == "ok" or v.startswith("not configured") for v in checks.values())
        return Response({"status": "ok" if healthy else "degraded", **checks}, status_code=200 if healthy else 503)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await queue.close()
            await engine.dispose()

    route_handlers: list[Any] = [graphql_controller, healthz]
    if (settings.web_dist / "index.html").exists():
        route_handlers.append(create_static_files_router(path="/", directories=[settings.web_dist], html_mode=True))
    app = Litestar(route_handlers=route_handlers, lifespan=[lifespan], state=State({"services": services}), debug=False)
    return app


async def _redis_check(redis_url: str) -> str:
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url, socket_connect_timeout=2)
    try:
        await client.ping()
        return "ok"
    except Exception as error:
        return f"unreachable ({type(error).__name__})"
    finally:
        await client.aclose()
