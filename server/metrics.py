"""Prometheus metrics of one API process, served at `/metrics` (one registry per app: no module state).

- `cutis_graphql_request_seconds{operation}`: latency of each GraphQL operation, labelled by its first root
  field (a schema field name, so the labels are bounded; `invalid` when the document did not validate).
- `cutis_codings_total`: codeEncounter codings answered by this process; `rate()` is codings per second.
- `cutis_codings_stored_per_second`: codings stored by the whole deployment (workers included), last minute.
- `cutis_jobs_queued`, `cutis_jobs_failed`, `cutis_outbox_oldest_pending_seconds`, `cutis_redis_queue_length`,
  `cutis_provider_queries_open`: the deployment's queue and worklist, read when scraped.

The deployment-wide figures are counts over every clinic, read on PostgreSQL through one SECURITY DEFINER
function (migration 0012_ops) that returns numbers, never rows; no label names a clinic or a person.

A worker (`cutis worker` with `CUTIS_WORKER_METRICS_PORT`) serves its own page: `cutis_worker_jobs_total{job,
outcome}` and `cutis_worker_job_seconds{job}`. Both pages want `Authorization: Bearer $CUTIS_METRICS_TOKEN` when
the token is set (compared in constant time); without one they are open in development and refused in production.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from arq.constants import default_queue_name
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    make_wsgi_app,
)
from prometheus_client.exposition import ThreadingWSGIServer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.extensions import SchemaExtension

from server.db import global_session
from server.settings import Settings, SettingsError

CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
GAUGES_POSTGRES = "SELECT * FROM cutis_operations_gauges()"
# SQLite (one machine, no row-level security): the same five numbers as the PostgreSQL function
GAUGES_SQLITE = """
SELECT (SELECT count(*) FROM outbox WHERE status = 'pending'),
       (SELECT count(*) FROM outbox WHERE status = 'failed'),
       COALESCE((SELECT (julianday('now') - julianday(min(created_at))) * 86400 FROM outbox
                 WHERE status = 'pending'), 0),
       (SELECT count(*) FROM provider_queries WHERE status = 'open'),
       (SELECT count(*) FROM codings WHERE julianday(created_at) > julianday('now') - 60.0 / 86400)
"""


def refusal(authorization: str | None, settings: Settings) -> tuple[int, str] | None:
    """None when this `Authorization` header may read metrics; else the status and a reason (no token echoed)."""
    token = settings.metrics_token
    if token is None:
        if settings.is_production:
            return 403, "metrics are off: set CUTIS_METRICS_TOKEN and scrape with it as a bearer token"
        return None
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return None
    return 401, "metrics want Authorization: Bearer $CUTIS_METRICS_TOKEN"


class Metrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.request_seconds = Histogram(
            "cutis_graphql_request_seconds",
            "GraphQL operations by their first root field, in seconds",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.codings = Counter("cutis_codings", "codeEncounter codings answered by this process", registry=registry)
        self.codings_stored = Gauge(
            "cutis_codings_stored_per_second",
            "codings stored by the deployment (API and workers) per second, over the last minute",
            registry=registry,
        )
        self.jobs_queued = Gauge("cutis_jobs_queued", "outbox jobs not done yet (pending)", registry=registry)
        self.jobs_failed = Gauge(
            "cutis_jobs_failed", "outbox jobs that gave up after their attempts", registry=registry
        )
        self.outbox_age = Gauge(
            "cutis_outbox_oldest_pending_seconds", "age of the oldest pending outbox job", registry=registry
        )
        self.redis_queue = Gauge("cutis_redis_queue_length", "jobs waiting in Redis for a worker", registry=registry)
        self.provider_queries_open = Gauge(
            "cutis_provider_queries_open", "provider queries waiting for a provider's answer", registry=registry
        )
        self.scrape_errors = Counter(
            "cutis_metrics_scrape_errors",
            "scrapes that could not read the database or Redis",
            ["source"],
            registry=registry,
        )

    def observe(self, operation: str, seconds: float, *, coded: bool) -> None:
        self.request_seconds.labels(operation).observe(seconds)
        if coded:
            self.codings.inc()

    async def render(self, factory: async_sessionmaker[AsyncSession], redis_url: str | None, is_sqlite: bool) -> bytes:
        """The text format, with the deployment's gauges read now; a source that does not answer keeps its
        last values and counts a scrape error (the page still answers)."""
        try:
            async with global_session(factory) as session:
                row = (await session.execute(text(GAUGES_SQLITE if is_sqlite else GAUGES_POSTGRES))).one()
            pending, failed, oldest_seconds, open_queries, codings_last_minute = row
            self.jobs_queued.set(pending)
            self.jobs_failed.set(failed)
            self.outbox_age.set(float(oldest_seconds or 0))
            self.provider_queries_open.set(open_queries)
            self.codings_stored.set(codings_last_minute / 60)
        except Exception:
            self.scrape_errors.labels("database").inc()
        if redis_url:
            from redis.asyncio import Redis

            client = Redis.from_url(redis_url, socket_connect_timeout=2)
            try:
                self.redis_queue.set(await client.zcard(default_queue_name))
            except Exception:
                self.scrape_errors.labels("redis").inc()
            finally:
                await client.aclose()
        return generate_latest(self.registry)


def operation_label(execution_context: Any) -> str:
    """The first root field of the operation that ran (bounded by the schema), or `invalid`."""
    document = getattr(execution_context, "graphql_document", None)
    errors = getattr(execution_context, "pre_execution_errors", None)
    if document is None or errors:
        return "invalid"
    for definition in document.definitions:
        selections = getattr(getattr(definition, "selection_set", None), "selections", None)
        if selections and hasattr(selections[0], "name"):
            return str(selections[0].name.value)
    return "invalid"


class OperationMetrics(SchemaExtension):
    """Times each operation for `cutis_graphql_request_seconds`; a codeEncounter without errors is a coding."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context.context
        services = getattr(context, "services", None)
        metrics = getattr(services, "metrics", None)
        if metrics is None:
            return
        label = operation_label(self.execution_context)
        result = self.execution_context.result
        # a typed failure (InvalidInput...) marks the context failed (OperationTransaction): no coding then
        ok = result is not None and not getattr(result, "errors", None) and not getattr(context, "failed", False)
        metrics.observe(label, time.perf_counter() - started, coded=ok and label == "codeEncounter")


class WorkerMetrics:
    """A worker process's jobs: how many ended how, and how long they took, by job name (a function name)."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.jobs = Counter(
            "cutis_worker_jobs",
            "jobs this worker ran, by job name and outcome (done, failed, missing, retry, error)",
            ["job", "outcome"],
            registry=registry,
        )
        self.seconds = Histogram(
            "cutis_worker_job_seconds",
            "seconds a job took in this worker",
            ["job"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )

    def observe(self, job: str, outcome: str, seconds: float) -> None:
        self.jobs.labels(job, outcome).inc()
        self.seconds.labels(job).observe(seconds)


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # the scrapes are not worth a log line each
        pass


def serve_metrics(registry: CollectorRegistry, settings: Settings, port: int) -> Callable[[], None]:
    """The registry's page on `settings.host:port` in a thread (behind the metrics token); returns its stop."""
    page = make_wsgi_app(registry)

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        refused = refusal(environ.get("HTTP_AUTHORIZATION"), settings)
        if refused is not None:
            start_response(
                f"{refused[0]} {'Forbidden' if refused[0] == 403 else 'Unauthorized'}",
                [("Content-Type", "text/plain; charset=utf-8")],
            )
            return [refused[1].encode()]
        return page(environ, start_response)

    try:
        server = make_server(settings.host, port, guarded, ThreadingWSGIServer, handler_class=_Quiet)
    except OSError as error:  # one line for the operator, not a traceback
        raise SettingsError(
            f"CUTIS_WORKER_METRICS_PORT: cannot listen on {settings.host}:{port} ({error.strerror or error})"
        ) from None
    thread = threading.Thread(target=server.serve_forever, name="cutis-worker-metrics", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return stop
