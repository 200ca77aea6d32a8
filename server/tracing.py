"""OpenTelemetry traces, exported by OTLP over HTTP when `CUTIS_OTLP_ENDPOINT` is set, and off otherwise.

A server traces each HTTP request (the ASGI middleware), its SQL statements (SQLAlchemy's instrumentation:
the statement text with its placeholders, never the parameters) and the phases of a coding
(`coding.resolve`, `coding.run` in the CPU pool, `coding.store`: server.encounters); a worker traces each job
and the same phases under it. Inside the pool, the phases a coding went through (`coding.stack`,
`coding.notes`, `coding.rules.<phase>`, `coding.shadow`: rulebooks.timings) come back with its result as
timings and become child spans of `coding.run`. Spans carry ids only (job, clinic), never PHI.

The tracer provider is the process's (OpenTelemetry's API keeps one per process): set once, by the first
app or worker of the process that asks for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

tracer = trace.get_tracer("cutis")


def configure_tracing(endpoint: str | None, service: str, processor: SpanProcessor | None = None) -> bool:
    """This process's provider exporting to `endpoint` (or to `processor`); False when tracing stays off."""
    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return True
    if not endpoint and processor is None:
        return False
    if processor is None:
        assert endpoint is not None
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        processor = BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces"))
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    return True


def phase_spans(phases: Iterable[tuple[str, int, int]]) -> None:
    """Child spans of the current span for phases timed in another process (`coding.<name>`, their own times)."""
    if not trace.get_current_span().is_recording():
        return
    for name, started, ended in phases:
        tracer.start_span(f"coding.{name}", start_time=started).end(end_time=ended)


def trace_engine(engine: Any) -> None:
    """Spans for this engine's SQL statements (the text with placeholders, never the parameters).

    The instrumentation's EngineTracer on this one engine: `SQLAlchemyInstrumentor().instrument()` would also wrap
    every `create_engine` of the process, and instruments only the first engine it is given."""
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.metrics import get_meter

    connections = get_meter("cutis").create_up_down_counter("db.client.connections.usage", unit="connections")
    EngineTracer(trace.get_tracer("cutis.sql"), engine.sync_engine, connections, enable_commenter=False)


def traced_requests(app: Any) -> Any:
    """ASGI middleware: a span per HTTP request (the query string and headers are not recorded)."""
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    return OpenTelemetryMiddleware(app, excluded_urls="livez,readyz,healthz,metrics")
