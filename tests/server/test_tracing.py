"""Traces: off by default; with an OTLP endpoint configured, a codeEncounter request is one trace with its
HTTP span, its SQL statements and its coding phases (resolve, run in the CPU pool, store), and no PHI."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from server.tracing import configure_tracing
from tests.factories import make_clinic
from tests.server import test_worker
from tests.server.graphql_ops import encounter_input, operation

redis_app_client = test_worker.redis_app_client  # the fixture: an app whose queue is Redis
PATIENT_ID = "MRN-TRACE-5521"
NOTE_MARKER = "Marmalade-Traced Patient"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """This process's provider (set once per process, as in production) with an exporter the test reads."""
    exporter = InMemorySpanExporter()
    processor = SimpleSpanProcessor(exporter)
    if not configure_tracing(None, "cutis-api", processor):
        raise AssertionError("tracing did not start")
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    if processor not in provider._active_span_processor._span_processors:  # set earlier in this process
        provider.add_span_processor(processor)
    yield exporter
    exporter.clear()


def test_off_unless_an_endpoint_is_set() -> None:
    assert configure_tracing(None, "cutis-api") is isinstance(trace.get_tracer_provider(), TracerProvider)


async def test_a_coding_request_is_one_trace_with_its_phases(database_url: str, settings_for, spans) -> None:  # type: ignore[no-untyped-def]
    from server.app import create_app

    app = create_app(settings_for(database_url).replace(otlp_endpoint="http://127.0.0.1:9"))
    services = app.state.services
    clinic = await make_clinic(services.session_factory)
    encounter = encounter_input()
    encounter["patient"]["id"] = PATIENT_ID
    encounter["note"] = f"{NOTE_MARKER} {encounter.get('note') or ''}"
    spans.clear()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://cutis.test") as client:
            response = await client.post(
                "/graphql",
                json={"query": operation("CodeEncounter"), "variables": {"input": encounter}},
                headers={"Authorization": f"Bearer {clinic.key}"},
            )
    finally:
        await services.queue.close()
        services.cpu.shutdown()
        await services.session_factory.kw["bind"].dispose()
    assert response.json()["data"]["codeEncounter"]["__typename"] == "CodedEncounter"

    finished = spans.get_finished_spans()
    (request,) = [span for span in finished if span.kind == trace.SpanKind.SERVER]
    assert request.name == "POST /graphql"
    in_trace = [span for span in finished if span.context.trace_id == request.context.trace_id]
    by_id = {span.context.span_id: span for span in in_trace}

    def under_request(span) -> bool:  # type: ignore[no-untyped-def]
        while span.parent is not None:
            if span.parent.span_id == request.context.span_id:
                return True
            span = by_id[span.parent.span_id]
        return False

    (run,) = [span for span in in_trace if span.name == "coding.run"]
    in_pool = _pool_phases(in_trace, run)
    phases = [span.name for span in in_trace if span.name.startswith("coding.") and span not in in_pool]
    assert phases == ["coding.resolve", "coding.run", "coding.store"]
    sql = [span for span in in_trace if span.attributes and "db.statement" in span.attributes]
    assert len(sql) >= 3, [span.name for span in in_trace]
    assert all(under_request(span) for span in in_trace if span is not request)
    assert not any(under_request(span) and span.parent.span_id == run.context.span_id for span in sql)
    recorded = "\n".join(f"{span.name} {dict(span.attributes or {})}" for span in finished)
    assert PATIENT_ID not in recorded and NOTE_MARKER not in recorded and "pigmented lesion" not in recorded


@pytest.mark.redis
async def test_a_worker_job_is_a_span_with_the_coding_phases_under_it(redis_app_client, spans) -> None:  # type: ignore[no-untyped-def]
    clinic = await make_clinic(redis_app_client.app_services.session_factory)
    await redis_app_client.post(
        "/graphql",
        json={"query": operation("SubmitEncounter"), "variables": {"input": encounter_input()}},
        headers={"Authorization": f"Bearer {clinic.key}"},
    )
    spans.clear()
    await test_worker.run_worker_burst(redis_app_client.settings.replace(otlp_endpoint="http://127.0.0.1:9"))

    finished = spans.get_finished_spans()
    (job,) = [span for span in finished if span.name == "job code_encounter"]
    under_job = [span for span in finished if span.parent is not None and span.parent.span_id == job.context.span_id]
    assert [span.name for span in under_job if span.name.startswith("coding.")] == [
        "coding.resolve",
        "coding.run",
        "coding.store",
    ]
    assert any(
        "db.statement" in (span.attributes or {}) for span in finished if span.context.trace_id == job.context.trace_id
    )
    (run,) = [span for span in under_job if span.name == "coding.run"]
    _pool_phases(finished, run)


def _pool_phases(spans, run):  # type: ignore[no-untyped-def]
    """The children `coding.run` got from the CPU pool's timings: the stack, the note analysis, then the rule
    phases in their order, each inside `coding.run`'s time and carrying no attributes (no PHI can ride on them)."""
    in_pool = [span for span in spans if span.parent is not None and span.parent.span_id == run.context.span_id]
    names = [span.name for span in in_pool]
    assert names[:3] == ["coding.stack", "coding.notes", "coding.rules.classify"], names
    rules = [name for name in names if name.startswith("coding.rules.")]
    assert len(rules) >= 4 and len(set(rules)) == len(rules), names
    for span in in_pool:
        assert span.context.trace_id == run.context.trace_id
        assert run.start_time <= span.start_time <= span.end_time <= run.end_time, span.name
        assert not span.attributes
    notes = in_pool[1]
    assert all(notes.end_time <= span.start_time for span in in_pool if span.name.startswith("coding.rules."))
    return in_pool
