"""The Litestar app factory: `create_app(settings)`; nothing is created at import time."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, MediaType, Request, Response, get, head
from litestar.datastructures import State
from litestar.response import File
from litestar.static_files import create_static_files_router
from strawberry.litestar import make_graphql_controller

from server.api.context import CutisContext, Services
from server.api.http import RateLimited, strict_graphql_controller
from server.api.identity import KeyCache, identify
from server.api.schema import build_schema
from server.codesets import load_installed
from server.cpu import CpuPool
from server.db import create_engine, create_session_factory
from server.encounters import FeeCache
from server.health import Report, health, migration_head, readiness
from server.jobs import ArqQueue, InProcessQueue, JobQueue
from server.logs import quiet_parameter_loggers, request_ids
from server.mail import MailboxMailer
from server.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from server.metrics import Metrics
from server.metrics import refusal as metrics_refusal
from server.people import Outgoing
from server.ratelimit import MemoryRateLimiter, RedisRateLimiter
from server.settings import Settings
from server.tracing import configure_tracing, trace_engine, traced_requests


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    quiet_parameter_loggers()
    load_installed(settings.data_dir)
    engine = create_engine(settings)
    tracing = bool(settings.otlp_endpoint) and configure_tracing(settings.otlp_endpoint, "cutis-api")
    if tracing:
        trace_engine(engine)
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
        metrics=Metrics(),
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

    migrations_head = migration_head()

    @get("/healthz", media_type=MediaType.JSON)
    async def healthz() -> Response[dict[str, Any]]:
        return _answer(await health(factory, settings.redis_url))

    @get("/readyz", media_type=MediaType.JSON)
    async def readyz() -> Response[dict[str, Any]]:
        return _answer(await readiness(factory, settings.redis_url, migrations_head, dt.date.today()))

    @get("/metrics", media_type=METRICS_CONTENT_TYPE)
    async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
        """Prometheus text format, behind CUTIS_METRICS_TOKEN; for the scraper on the inside network (the compose
        proxy does not pass it)."""
        refused = metrics_refusal(request.headers.get("authorization"), settings)
        if refused is not None:
            return Response(refused[1].encode(), status_code=refused[0], media_type=MediaType.TEXT)
        page = await services.metrics.render(factory, settings.redis_url, settings.is_sqlite)
        return Response(page, media_type=METRICS_CONTENT_TYPE)

    @get("/livez", media_type=MediaType.JSON)
    async def livez() -> dict[str, str]:
        return {"status": "ok"}

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

    route_handlers: list[Any] = [graphql_controller, healthz, readyz, livez, metrics]
    if (settings.web_dist / "index.html").exists():
        route_handlers.append(create_static_files_router(path="/", directories=[settings.web_dist], html_mode=True))
        index_html = settings.web_dist / "index.html"

        # The web app's own routes (deep links, reloads) get its page; it routes in the browser.
        web_app_paths = [
            "/login",
            "/clinics",
            "/rulebooks/{rulebook_id:str}",
            "/rulebooks/{rulebook_id:str}/versions",
            "/rulebooks/{rulebook_id:str}/compare",
            "/rulebooks/{rulebook_id:str}/replay",
            "/rulebooks/{rulebook_id:str}/shadow",
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
    app = Litestar(
        route_handlers=route_handlers,
        lifespan=[lifespan],
        state=State({"services": services}),
        middleware=[request_ids, *([traced_requests] if tracing else [])],
        logging_config=None,  # the process's logging is set once, by `cutis serve` (server.logs)
        debug=False,
    )
    return app


def _answer(report: Report) -> Response[dict[str, Any]]:
    return Response(report.body(), status_code=200 if report.healthy else 503)
