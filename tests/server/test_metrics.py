"""`/metrics` in Prometheus' text format: latency by operation, codings, the deployment's queue and worklist
(counted over every clinic, on PostgreSQL through migration 0012_ops's function), and nothing that names one."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.factories import make_clinic
from tests.server.graphql_ops import encounter_input, gql, operation


async def _scrape(app_client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:  # type: ignore[no-untyped-def]
    response = await app_client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


async def test_metrics_count_operations_codings_and_the_queue_of_every_clinic(app_client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    queue = app_client.app_services.queue
    held: list = []  # type: ignore[type-arg]

    async def hold(ref) -> None:  # type: ignore[no-untyped-def]
        held.append(ref)  # the jobs wait until the first scrape (the embedded queue would start them at once)

    run = queue.enqueue
    monkeypatch.setattr(queue, "enqueue", hold)
    # The suite's database is shared: other tests' rows count too, so the deployment-wide gauges are read as
    # differences from a first scrape (pending rows of earlier tests stay pending: nothing runs them here).
    baseline = await _scrape(app_client)
    first = await make_clinic(app_client.app_services.session_factory, "first")
    second = await make_clinic(app_client.app_services.session_factory, "second")
    coded = await gql(app_client, operation("CodeEncounter"), {"input": encounter_input()}, first.key)
    assert coded["data"]["codeEncounter"]["__typename"] == "CodedEncounter"
    refused = encounter_input()
    refused["diagnoses"] = ["not a code"]
    await gql(app_client, operation("CodeEncounter"), {"input": refused}, first.key)  # InvalidInput: no coding
    for clinic in (first, second):
        await gql(app_client, operation("SubmitEncounter"), {"input": encounter_input()}, clinic.key)
    await app_client.post(
        "/graphql", json={"query": "{ noSuchField }"}, headers={"Authorization": f"Bearer {first.key}"}
    )

    def grew(scrape: dict, name: str) -> float:  # type: ignore[type-arg]
        return scrape[(name, ())] - baseline.get((name, ()), 0)

    before_drain = await _scrape(app_client)
    assert before_drain[("cutis_graphql_request_seconds_count", (("operation", "codeEncounter"),))] == 2
    assert before_drain[("cutis_graphql_request_seconds_count", (("operation", "submitEncounter"),))] == 2
    assert before_drain[("cutis_graphql_request_seconds_count", (("operation", "invalid"),))] == 1
    assert before_drain[("cutis_codings_total", ())] == 1, "the refused coding is not a coding"
    assert grew(before_drain, "cutis_jobs_queued") == 2, "both clinics' submissions wait"
    assert before_drain[("cutis_outbox_oldest_pending_seconds", ())] > 0
    assert before_drain[("cutis_codings_stored_per_second", ())] * 60 >= 1
    assert grew(before_drain, "cutis_jobs_failed") == 0

    for ref in held:
        await run(ref)
    await queue.drain()
    after_drain = await _scrape(app_client)
    assert grew(after_drain, "cutis_jobs_queued") == 0
    if baseline[("cutis_jobs_queued", ())] == 0:
        assert after_drain[("cutis_outbox_oldest_pending_seconds", ())] == 0
    assert after_drain[("cutis_codings_stored_per_second", ())] * 60 >= 3, "the jobs' codings are counted too"

    page = (await app_client.get("/metrics")).text
    for clinic in (first, second):
        assert str(clinic.tenant_id) not in page
    assert "cutis_metrics_scrape_errors_total" not in page or 'source="database"} 0' not in page


async def test_an_unreachable_redis_is_a_scrape_error_not_an_outage(database_url: str, settings_for) -> None:
    import httpx

    from server.app import create_app

    app = create_app(settings_for(database_url, "redis://127.0.0.1:1/0"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://cutis.test") as client:
        response = await client.get("/metrics")
    await app.state.services.queue.close()
    app.state.services.cpu.shutdown()
    await app.state.services.session_factory.kw["bind"].dispose()
    assert response.status_code == 200
    assert 'cutis_metrics_scrape_errors_total{source="redis"} 1.0' in response.text
    assert "127.0.0.1" not in response.text


SCRAPER_TOKEN = "scraper-token-for-the-metrics-test"


@pytest.mark.parametrize(
    ("environment", "token", "authorization", "status"),
    [
        ("production", SCRAPER_TOKEN, f"Bearer {SCRAPER_TOKEN}", 200),
        ("production", SCRAPER_TOKEN, None, 401),
        ("production", SCRAPER_TOKEN, f"Bearer {SCRAPER_TOKEN}x", 401),
        ("production", SCRAPER_TOKEN, f"Basic {SCRAPER_TOKEN}", 401),
        ("development", SCRAPER_TOKEN, None, 401),
        ("production", None, f"Bearer {SCRAPER_TOKEN}", 403),  # no token set: production refuses every scrape
        ("development", None, None, 200),
    ],
)
async def test_metrics_want_the_scrapers_token(  # type: ignore[no-untyped-def]
    database_url: str, settings_for, environment: str, token: str | None, authorization: str | None, status: int
) -> None:
    import httpx

    from server.app import create_app

    app = create_app(settings_for(database_url).replace(environment=environment, metrics_token=token))
    headers = {"Authorization": authorization} if authorization else {}
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://cutis.test") as client:
            response = await client.get("/metrics", headers=headers)
    finally:
        await app.state.services.queue.close()
        app.state.services.cpu.shutdown()
        await app.state.services.session_factory.kw["bind"].dispose()
    assert response.status_code == status, response.text
    if status == 200:
        assert "cutis_graphql_request_seconds" in response.text
    else:
        assert "cutis_" not in response.text.replace("CUTIS_METRICS_TOKEN", "")
        assert SCRAPER_TOKEN not in response.text
        assert "CUTIS_METRICS_TOKEN" in response.text, "the refusal says what to set"


def test_a_worker_metrics_port_taken_is_one_line_and_the_page_wants_the_token() -> None:
    import socket

    import httpx

    from server.metrics import WorkerMetrics, serve_metrics
    from server.settings import Settings, SettingsError

    metrics = WorkerMetrics()
    metrics.observe("code_encounter", "done", 0.2)
    metrics.observe("code_encounter", "retry", 0.1)
    settings = Settings(metrics_token=SCRAPER_TOKEN)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SettingsError) as refused:
            serve_metrics(metrics.registry, settings, port)
        assert (
            str(refused.value)
            == f"CUTIS_WORKER_METRICS_PORT: cannot listen on 127.0.0.1:{port} (Address already in use)"
        )
    stop = serve_metrics(metrics.registry, settings, port)
    try:
        page = f"http://127.0.0.1:{port}/metrics"
        assert httpx.get(page, timeout=5).status_code == 401
        answer = httpx.get(page, headers={"Authorization": f"Bearer {SCRAPER_TOKEN}"}, timeout=5)
    finally:
        stop()
    assert answer.status_code == 200
    assert 'cutis_worker_jobs_total{job="code_encounter",outcome="done"} 1.0' in answer.text
    assert 'cutis_worker_jobs_total{job="code_encounter",outcome="retry"} 1.0' in answer.text
    assert 'cutis_worker_job_seconds_count{job="code_encounter"} 2.0' in answer.text
