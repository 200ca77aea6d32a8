"""The Litestar app factory: `create_app(settings)`; nothing is created at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, MediaType, Request, Response, get, head
from litestar.datastructures import State
from litestar.response import File
from litestar.static_files import create_static_files_router
from sqlalchemy import text
from strawberry.litestar import make_graphql_controller

from server.api.context import CutisContext, Services
from server.api.http import RateLimited, strict_graphql_controller
from server.api.identity import KeyCache, identify
from server.api.schema import build_schema
from server.codesets import load_installed
from server.cpu import CpuPool
from server.db import create_engine, create_session_factory, global_session
from server.encounters import FeeCache
from server.jobs import ArqQueue, InProcessQueue, JobQueue
from server.logs import quiet_parameter_loggers
from server.mail import MailboxMailer
from server.people import Outgoing
from server.ratelimit import MemoryRateLimiter, RedisRateLimiter
from server.settings import Settings


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    quiet_parameter_loggers()
    load_installed(settings.data_dir)
    engine = create_engine(settings)
    factory = create_session_factory(engine)
    mailer = MailboxMailer(settings.data_dir / "mailbox")
    cpu = CpuPool(settings.data_dir, processes=settings.cpu_processes, budget_seconds=settings.cpu_budget_seconds)
    queue: JobQueue = (
        ArqQueue(settings.redis_url)
        if settings.redis_url
        else InProcessQueue(factory, Outgoing(mailer, settings.public_url), cpu)
    )
    limiter = (
        RedisRateLimiter(settings.redis_url, settings.rate_limit_per_minute)
        if settings.redis_url
        else MemoryRateLimiter(settings.rate_limit_per_minute)
    )
    services = Services(
        session_factory=factory,
        queue=queue,
        settings=settings,
        mailer=mailer,
        secret_box=settings.secret_box(),
        rate_limiter=limiter,
        key_cache=KeyCache(),
        fee_cache=FeeCache(),
        cpu=cpu,
    )

    async def graphql_context(request: Request[Any, Any, Any]) -> CutisContext:
        identity = await identify(services, request.headers, request.cookies)
        credential = (
            f"key:{identity.principal.api_key_id}"
            if identity.principal and identity.principal.api_key_id
            else f"user:{identity.user_id}"
            if identity.user_id
            else f"ip:{request.client.host if request.client else 'unknown'}"
        )
        if not await limiter.hit(credential):
            raise RateLimited(retry_after_seconds=await limiter.seconds_until_reset(credential))
        return CutisContext(
            services=services,
            principal=identity.principal,
            user_id=identity.user_id,
            login_token=identity.login_token,
            auth_problem=identity.problem,
            remote_addr=request.client.host if request.client else None,
        )

    graphql_controller = strict_graphql_controller(
        make_graphql_controller(
            build_schema(production=settings.is_production),
            path="/graphql",
            context_getter=graphql_context,
            graphql_ide=None if settings.is_production else "graphiql",
            allow_queries_via_get=False,
        )
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
        await cpu.start()  # ready means ready: the first heavy request does not wait for the workers
        try:
            yield
        finally:
            await queue.close()
            cpu.shutdown()
            await limiter.close()
            await engine.dispose()

    route_handlers: list[Any] = [graphql_controller, healthz]
    if (settings.web_dist / "index.html").exists():
        route_handlers.append(create_static_files_router(path="/", directories=[settings.web_dist], html_mode=True))
        index_html = settings.web_dist / "index.html"

        # The web app's own routes (deep links, reloads) get its page; it routes in the browser.
        web_app_paths = [
            "/login",
            "/rulebooks/{rulebook_id:str}",
            "/rulebooks/{rulebook_id:str}/versions",
            "/rulebooks/{rulebook_id:str}/compare",
            "/rulebooks/{rulebook_id:str}/replay",
            "/encounters",
            "/encounters/{encounter_id:str}",
            "/queries",
        ]

        @get(web_app_paths, media_type=MediaType.HTML, include_in_schema=False)
        async def web_app_page() -> File:
            return File(index_html, content_disposition_type="inline", media_type=MediaType.HTML)

        # HEAD answers where GET does (monitors and load balancers probe `/` with it); the static
        # files router's own HEAD route misses `/` itself.
        @head(["/", *web_app_paths], media_type=MediaType.HTML, include_in_schema=False)
        async def web_app_page_head() -> File:
            return File(index_html, content_disposition_type="inline", media_type=MediaType.HTML)

        route_handlers += [web_app_page, web_app_page_head]
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
